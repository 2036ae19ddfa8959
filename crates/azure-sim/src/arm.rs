//! Azure Resource Manager: bearer-token check (ARM audience), fault rules, the per-subscription read quota (and
//! the storage resource provider's list quota), then the reads the collectors make — subscriptions, resource
//! groups, generic resources, storage accounts, vaults, managed HSMs, user-assigned identities, disk encryption
//! sets, disks, VMs, AKS clusters, SQL servers and managed instances (with their encryption protector and keys),
//! container registries, container groups, Container Apps environments (with certificates) and apps, App Service
//! sites, raw documents (list with `nextLink` paging, and get), and role assignments at any scope. Resource
//! Graph, also on the ARM host, is handed to [`crate::graph`]. Errors carry ARM's codes: `AuthenticationFailed`,
//! `InvalidAuthenticationToken`, `MissingApiVersionParameter`, `SubscriptionNotFound`, `ResourceGroupNotFound`,
//! `ResourceNotFound`, `AuthorizationFailed` (also for `denied_types`), `SubscriptionRequestsThrottled`,
//! `TooManyRequests` (storage lists).

use axum::http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::arm_shapes::{self, Cloud};
use crate::faults::FaultAction;
use crate::listing::{self, Item};
use crate::quota::Take;
use crate::resource_id::segments;
use crate::scenario::{Access, FaultKind, Scenario};
use crate::server::{Incoming, Reply, Sim};
use crate::token::{self, TokenCheck};
use crate::{graph, material, timestamps};

const SUBSCRIPTION_READS: &str = "x-ms-ratelimit-remaining-subscription-reads";
const TENANT_READS: &str = "x-ms-ratelimit-remaining-tenant-reads";

/// Route names of resource types: `(namespace/type, list route, get route)`.
const TYPE_ROUTES: &[(&str, &str, &str)] = &[
    ("microsoft.storage/storageaccounts", "arm.storageAccounts.list", "arm.storageAccounts.get"),
    ("microsoft.keyvault/vaults", "arm.vaults.list", "arm.vaults.get"),
    ("microsoft.keyvault/managedhsms", "arm.managedHSMs.list", "arm.managedHSMs.get"),
    (
        "microsoft.managedidentity/userassignedidentities",
        "arm.userAssignedIdentities.list",
        "arm.userAssignedIdentities.get",
    ),
    ("microsoft.compute/diskencryptionsets", "arm.diskEncryptionSets.list", "arm.diskEncryptionSets.get"),
    ("microsoft.compute/disks", "arm.disks.list", "arm.disks.get"),
    ("microsoft.compute/virtualmachines", "arm.virtualMachines.list", "arm.virtualMachines.get"),
    ("microsoft.containerservice/managedclusters", "arm.managedClusters.list", "arm.managedClusters.get"),
    ("microsoft.sql/servers", "arm.sqlServers.list", "arm.sqlServers.get"),
    ("microsoft.sql/managedinstances", "arm.managedInstances.list", "arm.managedInstances.get"),
    ("microsoft.containerregistry/registries", "arm.registries.list", "arm.registries.get"),
    ("microsoft.containerinstance/containergroups", "arm.containerGroups.list", "arm.containerGroups.get"),
    ("microsoft.app/managedenvironments", "arm.managedEnvironments.list", "arm.managedEnvironments.get"),
    ("microsoft.app/containerapps", "arm.containerApps.list", "arm.containerApps.get"),
    ("microsoft.web/sites", "arm.sites.list", "arm.sites.get"),
];

/// Route names of child collections: `(child type, list route, get route)`.
const CHILD_ROUTES: &[(&str, &str, &str)] = &[
    ("encryptionprotector", "arm.encryptionProtector.list", "arm.encryptionProtector.get"),
    ("keys", "arm.serverKeys.list", "arm.serverKeys.get"),
    ("certificates", "arm.certificates.list", "arm.certificates.get"),
];

/// The route name `SimStats::by_route` counts an ARM request under.
pub(crate) fn route_name(request: &Incoming) -> &'static str {
    if graph::is_graph_path(&request.path) {
        return "graph.resources";
    }
    let lower: Vec<String> = segments(&request.path).into_iter().map(|s| s.to_ascii_lowercase()).collect();
    let n = lower.len();
    if n >= 3 && lower[n - 3..] == ["providers", "microsoft.authorization", "roleassignments"] {
        return "arm.roleAssignments.list";
    }
    let providers = lower.iter().rposition(|s| s == "providers");
    if let Some(i) = providers {
        let ty = match (lower.get(i + 1), lower.get(i + 2)) {
            (Some(ns), Some(ty)) => format!("{ns}/{ty}"),
            _ => return "arm.other",
        };
        let typed = TYPE_ROUTES.iter().find(|(t, _, _)| *t == ty);
        let child = lower.get(i + 4).and_then(|c| CHILD_ROUTES.iter().find(|(t, _, _)| t == c));
        return match (n - i, typed, child) {
            (3, Some((_, list, _)), _) => list,
            (4, Some((_, _, get)), _) => get,
            (5, Some(_), Some((_, list, _))) => list,
            (6, Some(_), Some((_, _, get))) => get,
            (3, None, _) => "arm.other.list",
            (4, None, _) => "arm.other.get",
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
    let correlation =
        request.header("x-ms-correlation-request-id").map(str::to_string).unwrap_or_else(material::random_guid);
    let reply = if graph::is_graph_path(&request.path) {
        graph::answer(sim, request).await
    } else {
        let segs = segments(&request.path);
        let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
        // The read bucket: the subscription's (lower case, as requests spell it any way) or the tenant's.
        let (quota_key, quota_header) = match lower.as_slice() {
            [first, sub, ..] if first == "subscriptions" => (sub.clone(), SUBSCRIPTION_READS),
            _ => ("tenant".to_string(), TENANT_READS),
        };
        match authenticate(sim, request) {
            Some(refused) => refused.header(quota_header, sim.limits.arm_reads.peek(&quota_key).0.to_string()),
            None => serve(sim, request, &segs, &lower, &quota_key, quota_header).await,
        }
    };
    reply.header("x-ms-request-id", material::random_guid()).header("x-ms-correlation-request-id", correlation)
}

pub(crate) fn authenticate(sim: &Sim, request: &Incoming) -> Option<Reply> {
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
            return reply.header(quota_header, sim.limits.arm_reads.peek(quota_key).0.to_string());
        }
        Some(FaultAction::Delay(d)) => tokio::time::sleep(d).await,
        Some(FaultAction::Truncate) => truncate = true,
        None => {}
    }
    let remaining = match sim.limits.arm_reads.take(quota_key) {
        Take::Granted { remaining, .. } => remaining,
        Take::Throttled { retry_after, .. } => {
            return arm_error(
                StatusCode::TOO_MANY_REQUESTS,
                "SubscriptionRequestsThrottled",
                &format!(
                    "Number of 'read' requests for subscription '{quota_key}' actor '{}' exceeded. Please try again \
                     after '{retry_after}' seconds after the time the last request was made.",
                    sim.object_id
                ),
            )
            .header("retry-after", retry_after.to_string())
            .header(quota_header, "0");
        }
    };
    // Past ARM, the storage resource provider counts its own list operations (every page) per subscription.
    if quota_header == SUBSCRIPTION_READS
        && request.method == Method::GET
        && route_name(request) == "arm.storageAccounts.list"
        && let Take::Throttled { retry_after, .. } = sim.limits.storage_list.take(quota_key)
    {
        return storage_list_throttled()
            .header("retry-after", retry_after.to_string())
            .header(quota_header, remaining.to_string());
    }
    let mut reply = route(sim, request, segs, lower);
    if truncate {
        reply.truncate();
    }
    reply.header(quota_header, remaining.to_string())
}

pub(crate) fn arm_error(status: StatusCode, code: &str, message: &str) -> Reply {
    Reply::json(status, &json!({ "error": { "code": code, "message": message } }))
}

/// What the storage resource provider answers past its list quota (and what a `throttle` fault looks like).
fn storage_list_throttled() -> Reply {
    arm_error(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        "The request is being throttled as the limit has been reached for operation type - \
         Read_ObservationWindow_00:05:00. For more information, see - https://aka.ms/srpthrottlinglimits",
    )
}

/// ARM api-versions look like `2025-06-01` or `2024-04-01-preview`.
pub(crate) fn valid_api_version(v: &str) -> bool {
    let bytes = v.as_bytes();
    let date_ok = bytes.len() >= 10
        && bytes[..10].iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() });
    date_ok
        && (bytes.len() == 10
            || (bytes[10] == b'-' && bytes[11..].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'.')))
}

/// ARM's answer to a request without a usable `api-version` (`example`: a version to name in the message), or
/// `None` when it has one.
pub(crate) fn refuse_api_version(request: &Incoming, example: &str) -> Option<Reply> {
    match request.query("api-version") {
        None | Some("") => Some(arm_error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )),
        Some(v) if !valid_api_version(v) => Some(arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            &format!("The api-version '{v}' is invalid. The supported versions are dates like '{example}'."),
        )),
        Some(_) => None,
    }
}

fn route(sim: &Sim, request: &Incoming, segs: &[String], lower: &[String]) -> Reply {
    if request.method != Method::GET {
        return arm_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!("azure-sim serves reads only; {} is not supported here.", request.method),
        );
    }
    if let Some(refused) = refuse_api_version(request, "2025-06-01") {
        return refused;
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

/// 404 for an unknown subscription, 403 for one the caller holds no role in or for a resource type it may not
/// read there (`denied_types`).
fn subscription_gate(sim: &Sim, estate: &Scenario, segs: &[String], lower: &[String]) -> Option<Reply> {
    let sub = segs.get(1)?;
    // Role assignments are read with their own permission, whatever scope they are listed at.
    let role_assignments =
        lower.ends_with(&["providers".into(), "microsoft.authorization".into(), "roleassignments".into()]);
    let resource_type = lower
        .iter()
        .position(|s| s == "providers")
        .filter(|_| !role_assignments)
        .and_then(|i| Some(format!("{}/{}", lower.get(i + 1)?, lower.get(i + 2)?)));
    match estate.subscription(sub) {
        None => Some(arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            &format!("The subscription '{sub}' could not be found."),
        )),
        Some(s) if s.access == Access::Denied => Some(authorization_failed(sim, segs, lower)),
        Some(s) if resource_type.is_some_and(|t| !s.can_read(&t)) => Some(authorization_failed(sim, segs, lower)),
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

pub(crate) fn fault(sim: &Sim, segs: &[String], lower: &[String], kind: FaultKind) -> Reply {
    match kind {
        FaultKind::Throttle => storage_list_throttled(),
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
    let path_key = format!("/subscriptions/{}/{}", sub.to_ascii_lowercase(), rest.join("/"));
    if let Some(raw) = estate.raw_resource(path_key.trim_end_matches('/')) {
        return Reply::json(StatusCode::OK, &raw.doc);
    }
    let raw_children: Vec<(String, Value)> = estate
        .raw_resources
        .iter()
        .filter(|r| r.collection_key.as_deref() == Some(path_key.as_str()))
        .map(|r| (r.key.clone(), r.doc.clone()))
        .collect();
    match rest_str.as_slice() {
        [] => match estate.subscription(sub) {
            Some(s) => Reply::json(StatusCode::OK, &arm_shapes::subscription(&estate.tenant.id, s)),
            None => not_handled(request),
        },
        ["resources"] => {
            // Like ARM, the generic list leaves out what the caller may not read.
            let readable =
                |item: &Item<'_>| estate.subscription(sub).is_some_and(|s| s.can_read(&item.resource_type()));
            let items = listing::all_resources(estate, sub, None).into_iter().filter(readable).collect();
            page(sim, request, keyed(items), |item| arm_shapes::generic(&item.render(estate, cloud)))
        }
        ["resourcegroups"] => {
            let items = listing::resource_groups(estate, sub)
                .into_iter()
                .map(|(name, location)| (name.to_ascii_lowercase(), (name, location)))
                .collect();
            page(sim, request, items, |(name, location)| arm_shapes::resource_group(&sub_id, name, location))
        }
        ["resourcegroups", rg] => match listing::find_group(estate, sub, rg) {
            Some((name, location)) => {
                Reply::json(StatusCode::OK, &arm_shapes::resource_group(&sub_id, &name, &location))
            }
            None => group_not_found(&segs[1]),
        },
        ["providers", ns, ty] => {
            page(sim, request, keyed(listing::of_type(estate, sub, None, &format!("{ns}/{ty}"))), render)
        }
        ["resourcegroups", rg, "providers", ns, ty] => {
            if listing::find_group(estate, sub, rg).is_none() {
                return group_not_found(&segs[1]);
            }
            let items = keyed(listing::of_type(estate, sub, Some(rg), &format!("{ns}/{ty}")));
            page(sim, request, items, render)
        }
        ["resourcegroups", rg, "providers", ns, ty, name, child @ ..] => {
            let found = listing::find(estate, sub, rg, &format!("{ns}/{ty}"), name);
            match (found, child) {
                (Some(item), []) => Reply::json(StatusCode::OK, &item.render(estate, cloud)),
                // A child collection: simulated ones (SQL protector and keys, environment certificates), raw
                // documents under it, or an empty list (e.g. a storage account's encryptionScopes).
                (Some(item), [collection]) => {
                    let mut items: Vec<(String, Value)> = item
                        .children(estate, cloud, &collection.to_ascii_lowercase())
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(_, v)| (v["id"].as_str().unwrap_or_default().to_ascii_lowercase(), v))
                        .collect();
                    items.extend(raw_children);
                    page(sim, request, items, Value::clone)
                }
                (Some(item), [collection, child_name]) => {
                    let child = item
                        .children(estate, cloud, &collection.to_ascii_lowercase())
                        .unwrap_or_default()
                        .into_iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(child_name));
                    match child {
                        Some((_, body)) => Reply::json(StatusCode::OK, &body),
                        None => arm_error(
                            StatusCode::NOT_FOUND,
                            "ResourceNotFound",
                            &format!(
                                "The Resource '{}/{}/{}/{}/{}' under resource group '{}' was not found. For more \
                                 details please go to https://aka.ms/ARMResourceNotFoundFix",
                                segs[3], segs[4], segs[5], segs[6], segs[7], segs[1]
                            ),
                        ),
                    }
                }
                (None, [_]) if !raw_children.is_empty() => page(sim, request, raw_children, Value::clone),
                (Some(_), _) => not_handled(request),
                (None, _) => {
                    if listing::find_group(estate, sub, rg).is_none() {
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
        _ if !raw_children.is_empty() => page(sim, request, raw_children, Value::clone),
        _ => not_handled(request),
    }
}

fn group_not_found(rg: &str) -> Reply {
    arm_error(StatusCode::NOT_FOUND, "ResourceGroupNotFound", &format!("Resource group '{rg}' could not be found."))
}

fn keyed(items: Vec<Item<'_>>) -> Vec<(String, Item<'_>)> {
    items.into_iter().map(|i| (i.key(), i)).collect()
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
    // Built by moving the rendered items in: `json!` would copy every document once more.
    let mut body = Map::new();
    body.insert("value".into(), Value::Array(value));
    if end < items.len() {
        let api = request.query("api-version").unwrap_or_default();
        body.insert(
            "nextLink".into(),
            json!(format!("{}{}?api-version={api}&$skipToken={}", request.link_base, request.path, encode_skip(end))),
        );
    }
    Reply::json(StatusCode::OK, &Value::Object(body))
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
    let mut body = Map::new();
    body.insert("value".into(), Value::Array(value));
    Reply::json(StatusCode::OK, &Value::Object(body))
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
