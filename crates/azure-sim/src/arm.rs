//! Azure Resource Manager: bearer-token check (ARM audience), fault rules, the per-subscription read quota,
//! then the reads the collectors make — subscriptions, resource groups, generic resources, storage accounts,
//! vaults, managed HSMs, user-assigned identities (list with `nextLink` paging, and get), and role assignments
//! at any scope. Errors carry ARM's codes: `AuthenticationFailed`, `InvalidAuthenticationToken`,
//! `MissingApiVersionParameter`, `SubscriptionNotFound`, `ResourceGroupNotFound`, `ResourceNotFound`,
//! `AuthorizationFailed`, `SubscriptionRequestsThrottled`.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::arm_shapes::{self, Cloud};
use crate::faults::FaultAction;
use crate::material;
use crate::quota::Take;
use crate::resource_id::{ResourceId, segments};
use crate::scenario::{Access, FaultKind, Identity, ManagedHsm, OtherResource, Scenario, StorageAccount, Vault};
use crate::server::{Incoming, Reply, Sim};
use crate::timestamps;
use crate::token::{self, TokenCheck};

const SUBSCRIPTION_READS: &str = "x-ms-ratelimit-remaining-subscription-reads";
const TENANT_READS: &str = "x-ms-ratelimit-remaining-tenant-reads";

/// The route name `SimStats::by_route` counts an ARM request under.
pub(crate) fn route_name(request: &Incoming) -> &'static str {
    let lower: Vec<String> = segments(&request.path).into_iter().map(|s| s.to_ascii_lowercase()).collect();
    let n = lower.len();
    if n >= 3 && lower[n - 3..] == ["providers", "microsoft.authorization", "roleassignments"] {
        return "arm.roleAssignments.list";
    }
    let providers = lower.iter().rposition(|s| s == "providers");
    if let Some(i) = providers {
        let ty = lower.get(i + 2).map(String::as_str).unwrap_or_default();
        let is_get = n == i + 4;
        let is_list = n == i + 3;
        return match (ty, is_list, is_get) {
            ("storageaccounts", true, _) => "arm.storageAccounts.list",
            ("storageaccounts", _, true) => "arm.storageAccounts.get",
            ("vaults", true, _) => "arm.vaults.list",
            ("vaults", _, true) => "arm.vaults.get",
            ("managedhsms", true, _) => "arm.managedHSMs.list",
            ("managedhsms", _, true) => "arm.managedHSMs.get",
            ("userassignedidentities", true, _) => "arm.userAssignedIdentities.list",
            ("userassignedidentities", _, true) => "arm.userAssignedIdentities.get",
            (_, true, _) => "arm.other.list",
            (_, _, true) => "arm.other.get",
            _ => "arm.other",
        };
    }
    match lower.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["tenants"] => "arm.tenants.list",
        ["subscriptions"] => "arm.subscriptions.list",
        ["subscriptions", _] => "arm.subscriptions.get",
        ["subscriptions", _, "resources"] => "arm.resources.list",
        ["subscriptions", _, "resourcegroups"] => "arm.resourceGroups.list",
        ["subscriptions", _, "resourcegroups", _] => "arm.resourceGroups.get",
        _ => "arm.other",
    }
}

/// Answer one ARM request. Every response carries `x-ms-request-id`, `x-ms-correlation-request-id` and the
/// remaining-reads header of its subscription (or tenant).
pub(crate) async fn answer(sim: &Sim, request: &Incoming) -> Reply {
    let segs = segments(&request.path);
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let (quota_key, quota_header) = match lower.as_slice() {
        [first, sub, ..] if first == "subscriptions" => (format!("sub/{sub}"), SUBSCRIPTION_READS),
        _ => ("tenant".to_string(), TENANT_READS),
    };
    let correlation =
        request.header("x-ms-correlation-request-id").map(str::to_string).unwrap_or_else(material::random_guid);
    let reply = match authenticate(sim, request) {
        Some(refused) => refused.header(quota_header, sim.quota.remaining(&quota_key).to_string()),
        None => serve(sim, request, &segs, &lower, &quota_key, quota_header).await,
    };
    reply.header("x-ms-request-id", material::random_guid()).header("x-ms-correlation-request-id", correlation)
}

fn authenticate(sim: &Sim, request: &Incoming) -> Option<Reply> {
    let check = token::check(sim, request, |aud| aud.starts_with("management.") || aud == request.host);
    let (code, message, description) = match check {
        TokenCheck::Valid => return None,
        TokenCheck::Missing => (
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.".to_string(),
            "The authentication failed because of missing 'Authorization' header.",
        ),
        TokenCheck::Unknown => {
            ("InvalidAuthenticationToken", "The access token is invalid.".to_string(), "The access token is invalid.")
        }
        TokenCheck::Expired => (
            "ExpiredAuthenticationToken",
            "The access token has expired. Get a new access token and try again.".to_string(),
            "The access token has expired.",
        ),
        TokenCheck::WrongAudience(aud) => (
            "InvalidAuthenticationTokenAudience",
            format!(
                "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly \
                 match with one of the allowed audiences 'https://management.core.windows.net/',\
                 'https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."
            ),
            "The access token has been obtained for wrong audience or resource.",
        ),
    };
    Some(arm_error(StatusCode::UNAUTHORIZED, code, &message).header(
        "www-authenticate",
        format!(
            "Bearer authorization_uri=\"https://login.windows.net/\", error=\"invalid_token\", \
             error_description=\"{description}\""
        ),
    ))
}

async fn serve(
    sim: &Sim,
    request: &Incoming,
    segs: &[String],
    lower: &[String],
    quota_key: &str,
    quota_header: &'static str,
) -> Reply {
    let mut truncate = false;
    match sim.fire_fault(request) {
        Some(FaultAction::Respond { kind, retry_after }) => {
            let reply = fault(sim, segs, lower, kind);
            let reply = match retry_after {
                Some(s) => reply.header("retry-after", s.to_string()),
                None => reply,
            };
            return reply.header(quota_header, sim.quota.remaining(quota_key).to_string());
        }
        Some(FaultAction::Delay(d)) => tokio::time::sleep(d).await,
        Some(FaultAction::Truncate) => truncate = true,
        None => {}
    }
    let remaining = match sim.quota.take(quota_key) {
        Take::Granted { remaining } => remaining,
        Take::Throttled { retry_after } => {
            let who = quota_key.strip_prefix("sub/").unwrap_or("tenant");
            return arm_error(
                StatusCode::TOO_MANY_REQUESTS,
                "SubscriptionRequestsThrottled",
                &format!(
                    "Number of 'read' requests for subscription '{who}' actor '{}' exceeded. Please try again after \
                     '{retry_after}' seconds after the time the last request was made.",
                    sim.object_id
                ),
            )
            .header("retry-after", retry_after.to_string())
            .header(quota_header, "0");
        }
    };
    let mut reply = route(sim, request, segs, lower);
    if truncate {
        reply.truncate();
    }
    reply.header(quota_header, remaining.to_string())
}

pub(crate) fn arm_error(status: StatusCode, code: &str, message: &str) -> Reply {
    Reply::json(status, &json!({ "error": { "code": code, "message": message } }))
}

/// ARM api-versions look like `2025-06-01` or `2024-04-01-preview`.
fn valid_api_version(v: &str) -> bool {
    let bytes = v.as_bytes();
    let date_ok = bytes.len() >= 10
        && bytes[..10].iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() });
    date_ok
        && (bytes.len() == 10
            || (bytes[10] == b'-' && bytes[11..].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'.')))
}

fn route(sim: &Sim, request: &Incoming, segs: &[String], lower: &[String]) -> Reply {
    if request.method != Method::GET {
        return arm_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!("azure-sim serves reads only; {} is not supported here.", request.method),
        );
    }
    match request.query("api-version") {
        None | Some("") => {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            );
        }
        Some(v) if !valid_api_version(v) => {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidApiVersionParameter",
                &format!("The api-version '{v}' is invalid. The supported versions are dates like '2025-06-01'."),
            );
        }
        Some(_) => {}
    }
    let estate = sim.estate();
    let cloud = Cloud::of_arm_host(&request.host);
    let n = lower.len();
    if n >= 3 && lower[n - 3..] == ["providers", "microsoft.authorization", "roleassignments"] {
        return role_assignments(sim, &estate, request, &segs[..n - 3], &lower[..n - 3]);
    }
    match lower {
        [first] if first == "tenants" => {
            let t = &estate.tenant;
            let tenant = json!({
                "id": format!("/tenants/{}", t.id),
                "tenantId": t.id,
                "countryCode": t.country_code,
                "displayName": t.display_name,
                "domains": [t.default_domain],
                "tenantCategory": "Home",
                "defaultDomain": t.default_domain,
                "tenantType": "AAD",
            });
            Reply::json(StatusCode::OK, &json!({ "value": [tenant] }))
        }
        [first] if first == "subscriptions" => {
            let items =
                estate.subscriptions.iter().filter(|s| s.listed).map(|s| (s.id.to_ascii_lowercase(), s)).collect();
            page(sim, request, items, |s| arm_shapes::subscription(&estate.tenant.id, s))
        }
        [first, sub, rest @ ..] if first == "subscriptions" => {
            if let Some(refused) = subscription_gate(sim, &estate, segs, lower) {
                return refused;
            }
            subscription_routes(sim, &estate, request, cloud, sub, &segs[2..], rest)
        }
        _ => not_handled(request),
    }
}

fn not_handled(request: &Incoming) -> Reply {
    arm_error(
        StatusCode::NOT_FOUND,
        "InvalidResourceType",
        &format!("The resource type could not be found for path '{}' (not simulated by azure-sim).", request.path),
    )
}

/// 404 for an unknown subscription, 403 for one the caller holds no role in.
fn subscription_gate(sim: &Sim, estate: &Scenario, segs: &[String], lower: &[String]) -> Option<Reply> {
    let sub = segs.get(1)?;
    match estate.subscription(sub) {
        None => Some(arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            &format!("The subscription '{sub}' could not be found."),
        )),
        Some(s) if s.access == Access::Denied => Some(authorization_failed(sim, segs, lower)),
        Some(_) => None,
    }
}

/// The action and scope an ARM read needs, for `AuthorizationFailed` messages.
fn action_and_scope(segs: &[String], lower: &[String]) -> (String, String) {
    let full = format!("/{}", segs.join("/"));
    let n = lower.len();
    if n >= 3 && lower[n - 3..] == ["providers", "microsoft.authorization", "roleassignments"] {
        return ("Microsoft.Authorization/roleAssignments/read".into(), format!("/{}", segs[..n - 3].join("/")));
    }
    if let Some(i) = lower.iter().rposition(|s| s == "providers")
        && let (Some(ns), Some(ty)) = (segs.get(i + 1), segs.get(i + 2))
    {
        let scope = if n == i + 3 { format!("/{}", segs[..i].join("/")) } else { full };
        return (format!("{ns}/{ty}/read"), scope);
    }
    let action = match lower.get(2).map(String::as_str) {
        Some("resources") => "Microsoft.Resources/subscriptions/resources/read",
        Some("resourcegroups") => "Microsoft.Resources/subscriptions/resourceGroups/read",
        _ => "Microsoft.Resources/subscriptions/read",
    };
    let scope = format!("/{}", segs.iter().take(2).cloned().collect::<Vec<_>>().join("/"));
    (action.into(), scope)
}

fn authorization_failed(sim: &Sim, segs: &[String], lower: &[String]) -> Reply {
    let (action, scope) = action_and_scope(segs, lower);
    arm_error(
        StatusCode::FORBIDDEN,
        "AuthorizationFailed",
        &format!(
            "The client '{}' with object id '{}' does not have authorization to perform action '{action}' over \
             scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your \
             credentials.",
            sim.client_id, sim.object_id
        ),
    )
}

fn fault(sim: &Sim, segs: &[String], lower: &[String], kind: FaultKind) -> Reply {
    match kind {
        FaultKind::Throttle => arm_error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "The request is being throttled as the limit has been reached for operation type - \
             Read_ObservationWindow_00:05:00. For more information, see - https://aka.ms/srpthrottlinglimits",
        ),
        FaultKind::Unavailable => arm_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The server is currently unable to handle the request due to a temporary overload or maintenance.",
        ),
        FaultKind::Forbidden => authorization_failed(sim, segs, lower),
        FaultKind::ServerError | FaultKind::Slow | FaultKind::Malformed => {
            let sub = segs.get(1).map(String::as_str).unwrap_or_default();
            arm_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                &format!(
                    "Encountered internal server error. Diagnostic information: timestamp '{}', subscription id \
                     '{sub}', tracking id '{}', request correlation id '{}'.",
                    timestamps::arm(sim.estate().now),
                    material::random_guid(),
                    material::random_guid()
                ),
            )
        }
    }
}

/// A resource the simulator can list, rendered only when it lands on the page being served.
#[derive(Debug, Clone, Copy)]
enum Item<'a> {
    Storage(&'a StorageAccount),
    Vault(&'a Vault),
    Hsm(&'a ManagedHsm),
    Identity(&'a Identity),
    Other(&'a OtherResource),
}

impl<'a> Item<'a> {
    fn id(self) -> &'a ResourceId {
        match self {
            Item::Storage(a) => &a.id,
            Item::Vault(v) => &v.id,
            Item::Hsm(h) => &h.id,
            Item::Identity(i) => &i.id,
            Item::Other(r) => &r.id,
        }
    }

    fn location(self) -> &'a str {
        match self {
            Item::Storage(a) => &a.spec.location,
            Item::Vault(v) => &v.spec.location,
            Item::Hsm(h) => &h.spec.location,
            Item::Identity(i) => i.spec.location.as_deref().unwrap_or("westeurope"),
            Item::Other(r) => &r.spec.location,
        }
    }

    fn render(self, estate: &Scenario, cloud: Cloud) -> Value {
        match self {
            Item::Storage(a) => arm_shapes::storage_account(estate, a, cloud),
            Item::Vault(v) => arm_shapes::vault(estate, v, cloud),
            Item::Hsm(h) => arm_shapes::managed_hsm(estate, h, cloud),
            Item::Identity(i) => arm_shapes::user_assigned_identity(
                estate,
                &i.id,
                &i.spec.principal_id,
                &i.spec.client_id,
                self.location(),
            ),
            Item::Other(r) => arm_shapes::other_resource(r),
        }
    }
}

/// Everything readable under one subscription.
fn subscription_routes(
    sim: &Sim,
    estate: &Scenario,
    request: &Incoming,
    cloud: Cloud,
    sub: &str,
    segs: &[String],
    rest: &[String],
) -> Reply {
    let rest_str: Vec<&str> = rest.iter().map(String::as_str).collect();
    // The subscription id as the scenario spells it (requests may use any case).
    let sub_id = estate.subscription(sub).map_or_else(|| sub.to_string(), |s| s.id.clone());
    let render = |item: &Item<'_>| item.render(estate, cloud);
    match rest_str.as_slice() {
        [] => match estate.subscription(sub) {
            Some(s) => Reply::json(StatusCode::OK, &arm_shapes::subscription(&estate.tenant.id, s)),
            None => not_handled(request),
        },
        ["resources"] => page(sim, request, keyed(all_resources(estate, sub, None)), |item| {
            arm_shapes::generic(&item.render(estate, cloud))
        }),
        ["resourcegroups"] => {
            let items = resource_groups(estate, sub)
                .into_iter()
                .map(|(name, location)| (name.to_ascii_lowercase(), (name, location)))
                .collect();
            page(sim, request, items, |(name, location)| arm_shapes::resource_group(&sub_id, name, location))
        }
        ["resourcegroups", rg] => match find_group(estate, sub, rg) {
            Some((name, location)) => {
                Reply::json(StatusCode::OK, &arm_shapes::resource_group(&sub_id, &name, &location))
            }
            None => group_not_found(&segs[1]),
        },
        ["providers", ns, ty] => page(sim, request, keyed(of_type(estate, sub, None, &format!("{ns}/{ty}"))), render),
        ["resourcegroups", rg, "providers", ns, ty] => {
            if find_group(estate, sub, rg).is_none() {
                return group_not_found(&segs[1]);
            }
            let items = keyed(of_type(estate, sub, Some(rg), &format!("{ns}/{ty}")));
            page(sim, request, items, render)
        }
        ["resourcegroups", rg, "providers", ns, ty, name, child @ ..] => {
            let found = of_type(estate, sub, Some(rg), &format!("{ns}/{ty}"))
                .into_iter()
                .find(|item| item.id().name.eq_ignore_ascii_case(name));
            match (found, child.len()) {
                (Some(item), 0) => Reply::json(StatusCode::OK, &item.render(estate, cloud)),
                // A child collection of an existing resource (e.g. encryptionScopes): none are simulated.
                (Some(_), 1) => Reply::json(StatusCode::OK, &json!({ "value": [] })),
                (Some(_), _) => not_handled(request),
                (None, _) => {
                    if find_group(estate, sub, rg).is_none() {
                        group_not_found(&segs[1])
                    } else {
                        arm_error(
                            StatusCode::NOT_FOUND,
                            "ResourceNotFound",
                            &format!(
                                "The Resource '{}/{}/{}' under resource group '{}' was not found. For more \
                                 details please go to https://aka.ms/ARMResourceNotFoundFix",
                                segs[3], segs[4], segs[5], segs[1]
                            ),
                        )
                    }
                }
            }
        }
        _ => not_handled(request),
    }
}

fn group_not_found(rg: &str) -> Reply {
    arm_error(StatusCode::NOT_FOUND, "ResourceGroupNotFound", &format!("Resource group '{rg}' could not be found."))
}

fn keyed(items: Vec<Item<'_>>) -> Vec<(String, Item<'_>)> {
    items.into_iter().map(|i| (i.id().key(), i)).collect()
}

/// Every resource of the subscription (optionally one resource group).
fn all_resources<'a>(estate: &'a Scenario, sub: &str, rg: Option<&str>) -> Vec<Item<'a>> {
    let mut out = Vec::new();
    for ty in [
        "microsoft.storage/storageaccounts",
        "microsoft.keyvault/vaults",
        "microsoft.keyvault/managedhsms",
        "microsoft.managedidentity/userassignedidentities",
    ] {
        out.extend(of_type(estate, sub, rg, ty));
    }
    let known = |id: &ResourceId| {
        [
            "Microsoft.Storage/storageAccounts",
            "Microsoft.KeyVault/vaults",
            "Microsoft.KeyVault/managedHSMs",
            "Microsoft.ManagedIdentity/userAssignedIdentities",
        ]
        .iter()
        .any(|t| id.is_type(t))
    };
    out.extend(estate.other_resources.iter().filter(|r| !known(&r.id) && in_scope(&r.id, sub, rg)).map(Item::Other));
    out
}

fn in_scope(id: &ResourceId, sub: &str, rg: Option<&str>) -> bool {
    id.subscription.eq_ignore_ascii_case(sub) && rg.is_none_or(|rg| id.resource_group.eq_ignore_ascii_case(rg))
}

/// Resources of one type (`namespace/type`, any case) in the subscription or resource group.
fn of_type<'a>(estate: &'a Scenario, sub: &str, rg: Option<&str>, ty: &str) -> Vec<Item<'a>> {
    let ty = ty.to_ascii_lowercase();
    match ty.as_str() {
        "microsoft.storage/storageaccounts" => {
            estate.storage_accounts.iter().filter(|a| in_scope(&a.id, sub, rg)).map(Item::Storage).collect()
        }
        "microsoft.keyvault/vaults" => {
            estate.vaults.iter().filter(|v| in_scope(&v.id, sub, rg)).map(Item::Vault).collect()
        }
        "microsoft.keyvault/managedhsms" => {
            estate.managed_hsms.iter().filter(|h| in_scope(&h.id, sub, rg)).map(Item::Hsm).collect()
        }
        "microsoft.managedidentity/userassignedidentities" => {
            estate.identities.iter().filter(|i| in_scope(&i.id, sub, rg)).map(Item::Identity).collect()
        }
        _ => estate
            .other_resources
            .iter()
            .filter(|r| r.id.is_type(&ty) && in_scope(&r.id, sub, rg))
            .map(Item::Other)
            .collect(),
    }
}

/// Resource groups implied by resource ids: `(name as first written, location of its first resource)`.
fn resource_groups(estate: &Scenario, sub: &str) -> Vec<(String, String)> {
    let mut groups: Vec<(String, String)> = Vec::new();
    for item in all_resources(estate, sub, None) {
        let id = item.id();
        if !groups.iter().any(|(g, _)| g.eq_ignore_ascii_case(&id.resource_group)) {
            groups.push((id.resource_group.clone(), item.location().to_string()));
        }
    }
    groups
}

fn find_group(estate: &Scenario, sub: &str, rg: &str) -> Option<(String, String)> {
    resource_groups(estate, sub).into_iter().find(|(g, _)| g.eq_ignore_ascii_case(rg))
}

fn encode_skip(offset: usize) -> String {
    material::base64url(format!("{{\"skip\":{offset}}}").as_bytes())
}

fn decode_skip(token: &str) -> Option<usize> {
    let bytes = material::base64url_decode(token)?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    usize::try_from(value.get("skip")?.as_u64()?).ok()
}

/// One page of an ARM list, ordered by lower-case id: `value` plus an absolute `nextLink` carrying
/// `$skipToken` while more remain. Only the page's items are rendered.
fn page<T>(sim: &Sim, request: &Incoming, mut items: Vec<(String, T)>, render: impl Fn(&T) -> Value) -> Reply {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let offset = match request.query("$skipToken") {
        None => 0,
        Some(t) => match decode_skip(t) {
            Some(o) => o,
            None => {
                return arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidSkipToken",
                    &format!("The skip token '{t}' is not valid."),
                );
            }
        },
    };
    let start = offset.min(items.len());
    let end = (start + sim.page_size).min(items.len());
    let value: Vec<Value> = items[start..end].iter().map(|(_, v)| render(v)).collect();
    let mut body = json!({ "value": value });
    if end < items.len() {
        let api = request.query("api-version").unwrap_or_default();
        body["nextLink"] =
            json!(format!("{}{}?api-version={api}&$skipToken={}", request.link_base, request.path, encode_skip(end)));
    }
    Reply::json(StatusCode::OK, &body)
}

/// Role-assignment filters ARM and Managed HSM accept.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RoleFilter {
    /// `atScope()`: only assignments at or above the scope.
    pub(crate) at_scope: bool,
    /// `principalId eq '…'` or `assignedTo('…')`.
    pub(crate) principal: Option<String>,
}

impl RoleFilter {
    /// Parse `$filter`; `Err` carries the unsupported text.
    pub(crate) fn parse(filter: Option<&str>) -> Result<RoleFilter, String> {
        let mut out = RoleFilter::default();
        let Some(filter) = filter.map(str::trim).filter(|f| !f.is_empty()) else {
            return Ok(out);
        };
        let lower = filter.to_ascii_lowercase();
        let mut rest = filter;
        let mut rest_lower = lower.as_str();
        loop {
            let (term, term_lower, next, next_lower) = match rest_lower.find(" and ") {
                Some(i) => (&rest[..i], &rest_lower[..i], &rest[i + 5..], &rest_lower[i + 5..]),
                None => (rest, rest_lower, "", ""),
            };
            let term = term.trim();
            let term_lower = term_lower.trim();
            if term_lower == "atscope()" {
                out.at_scope = true;
            } else if let Some(v) =
                term_lower.strip_prefix("principalid eq ").map(|_| term["principalId eq ".len()..].trim())
            {
                out.principal = Some(v.trim_matches('\'').to_string());
            } else if term_lower.starts_with("assignedto(") && term_lower.ends_with(')') {
                out.principal = Some(term["assignedTo(".len()..term.len() - 1].trim_matches('\'').to_string());
            } else {
                return Err(filter.to_string());
            }
            if next.is_empty() {
                break;
            }
            rest = next;
            rest_lower = next_lower;
        }
        Ok(out)
    }

    /// Whether an assignment at `assignment` (lower-case segments) is returned for a query at `query`.
    pub(crate) fn admits(&self, assignment: &[String], query: &[String], principal: &str) -> bool {
        let at_or_above = assignment.len() <= query.len() && query.starts_with(assignment);
        let below = assignment.len() > query.len() && assignment.starts_with(query);
        let related = at_or_above || (!self.at_scope && below);
        related && self.principal.as_deref().is_none_or(|p| p.eq_ignore_ascii_case(principal))
    }
}

fn role_assignments(sim: &Sim, estate: &Scenario, request: &Incoming, scope: &[String], lower: &[String]) -> Reply {
    if lower.first().is_some_and(|s| s == "subscriptions") && lower.len() >= 2 {
        let mut full: Vec<String> = scope.to_vec();
        full.extend(["providers".into(), "Microsoft.Authorization".into(), "roleAssignments".into()]);
        let full_lower: Vec<String> = full.iter().map(|s| s.to_ascii_lowercase()).collect();
        if let Some(refused) = subscription_gate(sim, estate, &full, &full_lower) {
            return refused;
        }
    }
    let filter = match RoleFilter::parse(request.query("$filter")) {
        Ok(f) => f,
        Err(text) => {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "UnsupportedQuery",
                &format!(
                    "The filter '{text}' is not supported. Supported filters are either 'atScope()' or \
                     'principalId eq '{{value}}' or assignedTo('{{value}}')'."
                ),
            );
        }
    };
    let value: Vec<Value> = estate
        .role_assignments
        .iter()
        .filter(|r| filter.admits(&r.scope_key, lower, &r.principal_id))
        .map(arm_shapes::role_assignment)
        .collect();
    Reply::json(StatusCode::OK, &json!({ "value": value }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions() {
        assert!(valid_api_version("2025-06-01"));
        assert!(valid_api_version("2024-04-01-preview"));
        assert!(!valid_api_version("7.6"));
        assert!(!valid_api_version("2025-6-01"));
    }

    #[test]
    fn filters_parse() {
        assert_eq!(RoleFilter::parse(None), Ok(RoleFilter::default()));
        let f = RoleFilter::parse(Some("atScope() and principalId eq 'AbC'")).unwrap_or_default();
        assert!(f.at_scope);
        assert_eq!(f.principal.as_deref(), Some("AbC"));
        let f = RoleFilter::parse(Some("assignedTo('x-1')")).unwrap_or_default();
        assert_eq!(f.principal.as_deref(), Some("x-1"));
        assert!(RoleFilter::parse(Some("roleDefinitionId eq 'x'")).is_err());
    }

    #[test]
    fn skip_tokens_round_trip() {
        assert_eq!(decode_skip(&encode_skip(42)), Some(42));
        assert_eq!(decode_skip("garbage!"), None);
    }
}
