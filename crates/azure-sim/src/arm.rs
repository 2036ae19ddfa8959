//! Azure Resource Manager: bearer-token check (ARM audience), fault rules, the per-subscription read quota,
//! then the reads the collectors make — subscriptions, resource groups, generic resources, storage accounts,
//! vaults, managed HSMs, user-assigned identities, disk encryption sets, disks, VMs, AKS clusters, SQL servers and
//! managed instances (with their encryption protector and keys), container registries, container groups,
//! Container Apps environments (with certificates) and apps, App Service sites, raw documents (list with
//! `nextLink` paging, and get), and role assignments at any scope. Errors carry ARM's codes: `AuthenticationFailed`, `InvalidAuthenticationToken`,
//! `MissingApiVersionParameter`, `SubscriptionNotFound`, `ResourceGroupNotFound`, `ResourceNotFound`,
//! `AuthorizationFailed`, `SubscriptionRequestsThrottled`.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::arm_shapes::{self, Cloud};
use crate::faults::FaultAction;
use crate::material;
use crate::quota::Take;
use crate::resource_id::{ResourceId, segments};
use crate::scenario::{
    Access, AksCluster, ContainerApp, ContainerGroup, ContainerRegistry, Disk, DiskEncryptionSet, FaultKind, Identity,
    ManagedEnvironment, ManagedHsm, OtherResource, RawResource, Scenario, SqlServer, StorageAccount, Vault,
    VirtualMachine, WebApp,
};
use crate::server::{Incoming, Reply, Sim};
use crate::service_shapes;
use crate::timestamps;
use crate::token::{self, TokenCheck};

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
    Des(&'a DiskEncryptionSet),
    Disk(&'a Disk),
    Vm(&'a VirtualMachine),
    Aks(&'a AksCluster),
    Sql(&'a SqlServer),
    Registry(&'a ContainerRegistry),
    Group(&'a ContainerGroup),
    Environment(&'a ManagedEnvironment),
    App(&'a ContainerApp),
    Web(&'a WebApp),
    Raw(&'a RawResource),
}

impl<'a> Item<'a> {
    /// The parsed id of a typed resource (raw documents have none).
    fn typed_id(self) -> Option<&'a ResourceId> {
        Some(match self {
            Item::Storage(a) => &a.id,
            Item::Vault(v) => &v.id,
            Item::Hsm(h) => &h.id,
            Item::Identity(i) => &i.id,
            Item::Other(r) => &r.id,
            Item::Des(r) => &r.id,
            Item::Disk(r) => &r.id,
            Item::Vm(r) => &r.id,
            Item::Aks(r) => &r.id,
            Item::Sql(r) => &r.id,
            Item::Registry(r) => &r.id,
            Item::Group(r) => &r.id,
            Item::Environment(r) => &r.id,
            Item::App(r) => &r.id,
            Item::Web(r) => &r.id,
            Item::Raw(_) => return None,
        })
    }

    /// Lower-case id: the sort and lookup key.
    fn key(self) -> String {
        match self {
            Item::Raw(r) => r.key.clone(),
            _ => self.typed_id().map(ResourceId::key).unwrap_or_default(),
        }
    }

    fn name(self) -> &'a str {
        match self {
            Item::Raw(r) => r.name(),
            _ => self.typed_id().map_or("", |id| id.name.as_str()),
        }
    }

    fn resource_group(self) -> Option<&'a str> {
        match self {
            Item::Raw(r) => r.resource_group.as_deref(),
            _ => self.typed_id().map(|id| id.resource_group.as_str()),
        }
    }

    fn location(self) -> &'a str {
        match self {
            Item::Storage(a) => &a.spec.location,
            Item::Vault(v) => &v.spec.location,
            Item::Hsm(h) => &h.spec.location,
            Item::Identity(i) => i.spec.location.as_deref().unwrap_or("westeurope"),
            Item::Other(r) => &r.spec.location,
            Item::Des(r) => &r.spec.location,
            Item::Disk(r) => &r.spec.location,
            Item::Vm(r) => &r.spec.location,
            Item::Aks(r) => &r.spec.location,
            Item::Sql(r) => &r.spec.location,
            Item::Registry(r) => &r.spec.location,
            Item::Group(r) => &r.spec.location,
            Item::Environment(r) => &r.spec.location,
            Item::App(r) => &r.spec.location,
            Item::Web(r) => &r.spec.location,
            Item::Raw(r) => r.location().unwrap_or("global"),
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
            Item::Des(r) => service_shapes::disk_encryption_set(estate, r, cloud),
            Item::Disk(r) => service_shapes::disk(estate, r, cloud),
            Item::Vm(r) => service_shapes::virtual_machine(estate, r),
            Item::Aks(r) => service_shapes::managed_cluster(estate, r, cloud),
            Item::Sql(r) => service_shapes::sql_server(estate, r, cloud),
            Item::Registry(r) => service_shapes::container_registry(estate, r, cloud),
            Item::Group(r) => service_shapes::container_group(estate, r, cloud),
            Item::Environment(r) => service_shapes::managed_environment(estate, r),
            Item::App(r) => service_shapes::container_app(estate, r, cloud),
            Item::Web(r) => service_shapes::web_app(estate, r, cloud),
            Item::Raw(r) => r.doc.clone(),
        }
    }

    /// The simulated child collection `child` (lower case) of this resource, as `(name, body)`; `None` when the
    /// resource has no such collection simulated.
    fn children(self, estate: &Scenario, cloud: Cloud, child: &str) -> Option<Vec<(String, Value)>> {
        let named = |v: Value| (v["name"].as_str().unwrap_or_default().to_string(), v);
        match (self, child) {
            (Item::Sql(s), "encryptionprotector") => Some(vec![named(service_shapes::sql_protector(s, cloud))]),
            (Item::Sql(s), "keys") => Some(service_shapes::sql_keys(estate, s, cloud).into_iter().map(named).collect()),
            (Item::Environment(e), "certificates") => Some(
                e.spec
                    .certificates
                    .iter()
                    .zip(&e.certificate_refs)
                    .map(|(c, r)| named(service_shapes::environment_certificate(estate, e, c, r.as_ref(), cloud)))
                    .collect(),
            ),
            _ => None,
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
                .find(|item| item.name().eq_ignore_ascii_case(name));
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

/// Resource types the scenario models in full (lower case), in the order `GET .../resources` gathers them.
const TYPED: &[&str] = &[
    "microsoft.storage/storageaccounts",
    "microsoft.keyvault/vaults",
    "microsoft.keyvault/managedhsms",
    "microsoft.managedidentity/userassignedidentities",
    "microsoft.compute/diskencryptionsets",
    "microsoft.compute/disks",
    "microsoft.compute/virtualmachines",
    "microsoft.containerservice/managedclusters",
    "microsoft.sql/servers",
    "microsoft.sql/managedinstances",
    "microsoft.containerregistry/registries",
    "microsoft.containerinstance/containergroups",
    "microsoft.app/managedenvironments",
    "microsoft.app/containerapps",
    "microsoft.web/sites",
];

/// Every resource of the subscription (optionally one resource group): typed, other and raw top-level ones.
fn all_resources<'a>(estate: &'a Scenario, sub: &str, rg: Option<&str>) -> Vec<Item<'a>> {
    let mut out = Vec::new();
    for ty in TYPED {
        out.extend(typed_of_type(estate, sub, rg, ty));
    }
    let known = |id: &ResourceId| TYPED.iter().any(|t| id.is_type(t));
    out.extend(estate.other_resources.iter().filter(|r| !known(&r.id) && in_scope(&r.id, sub, rg)).map(Item::Other));
    out.extend(
        estate.raw_resources.iter().filter(|r| r.list_type.is_some() && raw_in_scope(r, sub, rg)).map(Item::Raw),
    );
    out
}

fn in_scope(id: &ResourceId, sub: &str, rg: Option<&str>) -> bool {
    id.subscription.eq_ignore_ascii_case(sub) && rg.is_none_or(|rg| id.resource_group.eq_ignore_ascii_case(rg))
}

fn raw_in_scope(r: &RawResource, sub: &str, rg: Option<&str>) -> bool {
    r.subscription.eq_ignore_ascii_case(sub)
        && rg.is_none_or(|rg| r.resource_group.as_deref().is_some_and(|g| g.eq_ignore_ascii_case(rg)))
}

/// Typed resources of one type (`namespace/type`, lower case) in the subscription or resource group.
fn typed_of_type<'a>(estate: &'a Scenario, sub: &str, rg: Option<&str>, ty: &str) -> Vec<Item<'a>> {
    fn pick<'a, T>(
        list: &'a [T],
        id: impl Fn(&T) -> &ResourceId,
        item: impl Fn(&'a T) -> Item<'a>,
        sub: &str,
        rg: Option<&str>,
    ) -> Vec<Item<'a>> {
        list.iter().filter(|r| in_scope(id(r), sub, rg)).map(item).collect()
    }
    let s = &estate.services;
    match ty {
        "microsoft.storage/storageaccounts" => pick(&estate.storage_accounts, |r| &r.id, Item::Storage, sub, rg),
        "microsoft.keyvault/vaults" => pick(&estate.vaults, |r| &r.id, Item::Vault, sub, rg),
        "microsoft.keyvault/managedhsms" => pick(&estate.managed_hsms, |r| &r.id, Item::Hsm, sub, rg),
        "microsoft.managedidentity/userassignedidentities" => {
            pick(&estate.identities, |r| &r.id, Item::Identity, sub, rg)
        }
        "microsoft.compute/diskencryptionsets" => pick(&s.disk_encryption_sets, |r| &r.id, Item::Des, sub, rg),
        "microsoft.compute/disks" => pick(&s.disks, |r| &r.id, Item::Disk, sub, rg),
        "microsoft.compute/virtualmachines" => pick(&s.virtual_machines, |r| &r.id, Item::Vm, sub, rg),
        "microsoft.containerservice/managedclusters" => pick(&s.aks_clusters, |r| &r.id, Item::Aks, sub, rg),
        "microsoft.sql/servers" | "microsoft.sql/managedinstances" => {
            s.sql_servers.iter().filter(|r| r.id.is_type(ty) && in_scope(&r.id, sub, rg)).map(Item::Sql).collect()
        }
        "microsoft.containerregistry/registries" => pick(&s.container_registries, |r| &r.id, Item::Registry, sub, rg),
        "microsoft.containerinstance/containergroups" => pick(&s.container_groups, |r| &r.id, Item::Group, sub, rg),
        "microsoft.app/managedenvironments" => pick(&s.managed_environments, |r| &r.id, Item::Environment, sub, rg),
        "microsoft.app/containerapps" => pick(&s.container_apps, |r| &r.id, Item::App, sub, rg),
        "microsoft.web/sites" => pick(&s.web_apps, |r| &r.id, Item::Web, sub, rg),
        _ => Vec::new(),
    }
}

/// Resources of one type (`namespace/type`, any case) in the subscription or resource group: typed ones,
/// `[[other_resources]]` and raw documents.
fn of_type<'a>(estate: &'a Scenario, sub: &str, rg: Option<&str>, ty: &str) -> Vec<Item<'a>> {
    let ty = ty.to_ascii_lowercase();
    let mut out = typed_of_type(estate, sub, rg, &ty);
    if !TYPED.contains(&ty.as_str()) {
        out.extend(
            estate.other_resources.iter().filter(|r| r.id.is_type(&ty) && in_scope(&r.id, sub, rg)).map(Item::Other),
        );
    }
    out.extend(
        estate
            .raw_resources
            .iter()
            .filter(|r| r.list_type.as_deref() == Some(ty.as_str()) && raw_in_scope(r, sub, rg))
            .map(Item::Raw),
    );
    out
}

/// Resource groups implied by resource ids: `(name as first written, location of its first resource)`.
fn resource_groups(estate: &Scenario, sub: &str) -> Vec<(String, String)> {
    let mut groups: Vec<(String, String)> = Vec::new();
    for item in all_resources(estate, sub, None) {
        let Some(group) = item.resource_group() else { continue };
        if !groups.iter().any(|(g, _)| g.eq_ignore_ascii_case(group)) {
            groups.push((group.to_string(), item.location().to_string()));
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
