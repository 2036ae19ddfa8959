//! The Key Vault / Managed HSM data plane, one per vault host: the authentication challenge (401 with
//! `WWW-Authenticate`) that Key Vault clients expect first, the service's throttling (4,000 operations per 10
//! seconds per vault, 1,100 per second per managed HSM: 429 `Throttled` with `Retry-After`), keys (latest, by
//! version, list), key versions with Key Vault's 25-per-page `nextLink` paging, rotation policies, the `sign`
//! operation (with real keys, see [`crate::signing`]), and Managed HSM local RBAC role assignments. Bodies follow
//! `testdata/arm-examples/keyvault-dataplane` (epoch-second timestamps, JWK fields, camelCase attributes).

use axum::http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::arm::RoleFilter;
use crate::faults::FaultAction;
use crate::material;
use crate::quota::Take;
use crate::resource_id::{scope_key, segments};
use crate::scenario::{Access, ContainerKind, FaultKind, Key, KeyVersion, Protection, Scenario};
use crate::server::{Incoming, Reply, Sim};
use crate::signing::{self, Algorithm, KeySpec, SignError};
use crate::timestamps;
use crate::token::{self, TokenCheck};

/// Key Vault never returns more than 25 items per page.
const MAX_PAGE: usize = 25;

/// Azure RBAC roles whose data actions include `Microsoft.KeyVault/vaults/keys/sign/action`: Key Vault Crypto
/// User, Key Vault Crypto Officer, Key Vault Administrator. (Crypto Service Encryption User and Reader do not.)
const VAULT_SIGN_ROLES: [&str; 3] = [
    "12338af0-0e69-4776-bea7-57ae8d297424",
    "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483",
];

/// Managed HSM local roles that may sign: Managed HSM Crypto User.
const HSM_SIGN_ROLES: [&str; 1] = ["21dbd100-6940-42c2-9190-5d6cb909625b"];

/// The route name `SimStats::by_route` counts a data-plane request under.
pub(crate) fn route_name(kind: ContainerKind, request: &Incoming) -> &'static str {
    let lower: Vec<String> = segments(&request.path).into_iter().map(|s| s.to_ascii_lowercase()).collect();
    let n = lower.len();
    let route = if n >= 3 && lower[n - 3..] == ["providers", "microsoft.authorization", "roleassignments"] {
        "roleAssignments.list"
    } else {
        match lower.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["keys"] => "keys.list",
            ["keys", _] => "keys.get",
            ["keys", _, "versions"] => "keys.versions",
            ["keys", _, "rotationpolicy"] => "keys.rotationpolicy",
            ["keys", _, "sign"] | ["keys", _, _, "sign"] if request.method == Method::POST => "keys.sign",
            ["keys", _, _] => "keys.getVersion",
            _ => "other",
        }
    };
    match (kind, route) {
        (ContainerKind::Vault, "keys.list") => "kv.keys.list",
        (ContainerKind::Vault, "keys.get") => "kv.keys.get",
        (ContainerKind::Vault, "keys.versions") => "kv.keys.versions",
        (ContainerKind::Vault, "keys.rotationpolicy") => "kv.keys.rotationpolicy",
        (ContainerKind::Vault, "keys.getVersion") => "kv.keys.getVersion",
        (ContainerKind::Vault, "keys.sign") => "kv.keys.sign",
        (ContainerKind::Vault, _) => "kv.other",
        (ContainerKind::ManagedHsm, "keys.list") => "hsm.keys.list",
        (ContainerKind::ManagedHsm, "keys.get") => "hsm.keys.get",
        (ContainerKind::ManagedHsm, "keys.versions") => "hsm.keys.versions",
        (ContainerKind::ManagedHsm, "keys.rotationpolicy") => "hsm.keys.rotationpolicy",
        (ContainerKind::ManagedHsm, "keys.getVersion") => "hsm.keys.getVersion",
        (ContainerKind::ManagedHsm, "keys.sign") => "hsm.keys.sign",
        (ContainerKind::ManagedHsm, "roleAssignments.list") => "hsm.roleAssignments.list",
        (ContainerKind::ManagedHsm, _) => "hsm.other",
    }
}

fn kv_error(status: StatusCode, code: &str, message: &str, inner: Option<&str>) -> Reply {
    let mut error = Map::new();
    error.insert("code".into(), json!(code));
    error.insert("message".into(), json!(message));
    if let Some(inner) = inner {
        error.insert("innererror".into(), json!({ "code": inner }));
    }
    Reply::json(status, &json!({ "error": error }))
}

/// Answer one request to the vault or managed HSM called `name`.
pub(crate) async fn answer(sim: &Sim, request: &Incoming, kind: ContainerKind, name: &str) -> Reply {
    let (reply, location) = answer_inner(sim, request, kind, name).await;
    reply
        .header("x-ms-request-id", material::random_guid())
        .header("x-ms-keyvault-region", location)
        .header("x-ms-keyvault-service-version", "1.9.2840.1")
        .header("x-ms-keyvault-network-info", "conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;")
}

async fn answer_inner(sim: &Sim, request: &Incoming, kind: ContainerKind, name: &str) -> (Reply, String) {
    let resource_host = request.host.split_once('.').map(|(_, rest)| rest.to_string()).unwrap_or_default();
    let location = {
        let estate = sim.estate();
        estate
            .vault(name)
            .map(|v| v.spec.location.clone())
            .or_else(|| estate.managed_hsm(name).map(|h| h.spec.location.clone()))
            .unwrap_or_else(|| "westeurope".into())
    };
    let check = token::check(sim, request, |aud| request.host.ends_with(&format!(".{aud}")));
    if check != TokenCheck::Valid {
        return (challenge(sim, &resource_host, check), location);
    }
    let mut truncate = false;
    match sim.fire_fault(request) {
        Some(FaultAction::Respond { kind: fault_kind, retry_after }) => {
            let reply = fault(fault_kind);
            let reply = match retry_after {
                Some(s) => reply.header("retry-after", s.to_string()),
                None => reply,
            };
            return (reply, location);
        }
        Some(FaultAction::Delay(d)) => tokio::time::sleep(d).await,
        Some(FaultAction::Truncate) => truncate = true,
        None => {}
    }
    // Key Vault counts operations per vault (the challenge above does not count); a managed HSM per HSM.
    let limiter = match kind {
        ContainerKind::Vault => &sim.limits.key_vault,
        ContainerKind::ManagedHsm => &sim.limits.managed_hsm,
    };
    if let Take::Throttled { retry_after, .. } = limiter.take(&name.to_ascii_lowercase()) {
        return (fault(FaultKind::Throttle).header("retry-after", retry_after.to_string()), location);
    }
    prepare_key_material(sim, request, kind, name).await;
    let mut reply = serve(sim, request, kind, name);
    if truncate {
        reply.truncate();
    }
    (reply, location)
}

/// The 401 Key Vault sends before any token (and for a token it cannot use); clients read the
/// `WWW-Authenticate` header to learn which authority and resource to ask for a token.
fn challenge(sim: &Sim, resource_host: &str, check: TokenCheck) -> Reply {
    let authority = if resource_host.ends_with("azure.cn") {
        "https://login.chinacloudapi.cn".to_string()
    } else if resource_host.contains("usgovcloudapi") {
        "https://login.microsoftonline.us".to_string()
    } else {
        match &sim.authority_host {
            Some(h) => format!("https://{h}"),
            None => "https://login.microsoftonline.com".to_string(),
        }
    };
    let message = match check {
        TokenCheck::Missing | TokenCheck::Valid => "AKV10000: Request is missing a Bearer or PoP token.".to_string(),
        TokenCheck::Unknown => "The access token is not valid for this vault.".to_string(),
        TokenCheck::Expired => "The access token has expired.".to_string(),
        TokenCheck::WrongAudience(aud) => {
            format!("AKV10022: Invalid audience. Expected https://{resource_host}, found: {aud}.")
        }
    };
    kv_error(StatusCode::UNAUTHORIZED, "Unauthorized", &message, None).header(
        "www-authenticate",
        format!("Bearer authorization=\"{authority}/{}\", resource=\"https://{resource_host}\"", sim.tenant_id),
    )
}

fn fault(kind: FaultKind) -> Reply {
    match kind {
        FaultKind::Throttle => kv_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Throttled",
            "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
            None,
        ),
        FaultKind::Unavailable => kv_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The service is temporarily unavailable. Please retry.",
            None,
        ),
        FaultKind::Forbidden => kv_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Caller is not authorized to perform action on resource.",
            Some("ForbiddenByRbac"),
        ),
        FaultKind::ServerError | FaultKind::Slow | FaultKind::Malformed => kv_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "An unexpected error occurred while processing the request.",
            None,
        ),
    }
}

/// Generates, off the async threads, the real private key a request will need (reading a version of a key
/// that may sign, or signing), so that `serve` finds it made. RSA key generation takes a while in debug builds.
async fn prepare_key_material(sim: &Sim, request: &Incoming, kind: ContainerKind, container: &str) {
    let spec = {
        let estate = sim.estate();
        key_spec_for(sim, &estate, request, kind, container)
    };
    if let Some(spec) = spec {
        // A failure is reported by `serve`, which asks again.
        let _ = signing::private_key_async(spec).await;
    }
}

/// The real key `request` reads or signs with, if any and if the request will get that far (a refused request
/// must not cost a key generation).
fn key_spec_for(
    sim: &Sim,
    estate: &Scenario,
    request: &Incoming,
    kind: ContainerKind,
    container: &str,
) -> Option<KeySpec> {
    let segs = segments(&request.path);
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let (name, version) = match (&request.method, lower.as_slice()) {
        (&Method::GET, ["keys", _]) | (&Method::POST, ["keys", _, "sign"]) => (&segs[1], None),
        (&Method::GET, ["keys", _, "versions" | "rotationpolicy"]) => return None,
        (&Method::GET, ["keys", _, _]) | (&Method::POST, ["keys", _, _, "sign"]) => (&segs[1], Some(&segs[2])),
        _ => return None,
    };
    let access = match kind {
        ContainerKind::Vault => estate.vault(container).map(|v| v.spec.data_plane_access),
        ContainerKind::ManagedHsm => estate.managed_hsm(container).map(|h| h.spec.data_plane_access),
    };
    if access != Some(Access::Reader) {
        return None;
    }
    if request.method == Method::POST && sign_denial(sim, estate, kind, container, name).is_some() {
        return None;
    }
    let key = estate.key(container, name)?;
    let v = match version {
        None => key.latest()?,
        Some(id) => key.version(id)?,
    };
    if !v.enabled {
        return None;
    }
    KeySpec::of(&sim.tenant_id, key, &v.id)
}

/// Key Vault's data-plane api-versions: `7.x` or a date.
fn valid_api_version(v: &str) -> bool {
    let numeric = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    match v.split_once('.') {
        Some((major, rest)) => numeric(major) && numeric(rest.split_once('-').map_or(rest, |(minor, _)| minor)),
        None => v.len() >= 10 && v.as_bytes()[4] == b'-' && v.as_bytes()[7] == b'-',
    }
}

fn serve(sim: &Sim, request: &Incoming, kind: ContainerKind, name: &str) -> Reply {
    let api = match request.query("api-version") {
        None | Some("") => {
            return kv_error(
                StatusCode::BAD_REQUEST,
                "BadParameter",
                "The 'api-version' query parameter is missing.",
                None,
            );
        }
        Some(v) if !valid_api_version(v) => {
            return kv_error(
                StatusCode::BAD_REQUEST,
                "BadParameter",
                &format!(
                    "The specified version ({v}) is not recognized. Consider using the latest supported version (7.6)."
                ),
                None,
            );
        }
        Some(v) => v.to_string(),
    };
    let estate = sim.estate();
    let Some((actual_kind, protection)) = estate.container(name).filter(|(k, _)| *k == kind) else {
        return outside_scenario(sim, request, name);
    };
    let denied = match kind {
        ContainerKind::Vault => estate.vault(name).map(|v| v.spec.data_plane_access),
        ContainerKind::ManagedHsm => estate.managed_hsm(name).map(|h| h.spec.data_plane_access),
    };
    if denied == Some(Access::Denied) {
        return data_access_denied(sim, &estate, request, name);
    }
    let segs = segments(&request.path);
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let n = lower.len();
    if n >= 3 && lower[n - 3..] == ["providers", "microsoft.authorization", "roleassignments"] {
        if actual_kind != ContainerKind::ManagedHsm || request.method != Method::GET {
            return not_found(request);
        }
        return hsm_role_assignments(&estate, request, name, &lower[..n - 3]);
    }
    let ctx = KeyContext { sim, estate: &estate, request, kind, protection, container: name, api: &api };
    let lower_str: Vec<&str> = lower.iter().map(String::as_str).collect();
    match (request.method.clone(), lower_str.as_slice()) {
        (Method::GET, ["keys"]) => ctx.list_keys(),
        (Method::GET, ["keys", _]) => ctx.with_key(&segs[1], |k| ctx.bundle(k, None)),
        (Method::GET, ["keys", _, "versions"]) => ctx.with_key(&segs[1], |k| ctx.versions(k)),
        (Method::GET, ["keys", _, "rotationpolicy"]) => ctx.with_key(&segs[1], |k| ctx.rotation_policy(k)),
        (Method::GET, ["keys", _, _]) => ctx.with_key(&segs[1], |k| ctx.bundle(k, Some(&segs[2]))),
        // `KeyClient::sign` without a version requests `/keys/{name}//sign`; the empty segment is dropped.
        (Method::POST, ["keys", _, "sign"]) => ctx.sign(&segs[1], None),
        (Method::POST, ["keys", _, _, "sign"]) => ctx.sign(&segs[1], Some(&segs[2])),
        (Method::POST, ["keys", _, _, _]) | (Method::POST, ["keys", _, _]) => kv_error(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "azure-sim performs only the sign operation (not encrypt, decrypt, wrapKey, unwrapKey, verify, ...).",
            None,
        ),
        _ => not_found(request),
    }
}

fn not_found(request: &Incoming) -> Reply {
    kv_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("The requested path {} is not served by azure-sim.", request.path),
        None,
    )
}

/// A vault host the scenario does not contain (e.g. a customer's vault in another tenant): the caller can
/// authenticate but is not authorised.
fn outside_scenario(sim: &Sim, request: &Incoming, name: &str) -> Reply {
    kv_error(
        StatusCode::FORBIDDEN,
        "Forbidden",
        &format!(
            "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or \
             role definitions were changed recently, please observe propagation time.\r\nCaller: appid={};oid={};\
             iss=https://sts.windows.net/{}/\r\nAction: 'Microsoft.KeyVault/vaults/keys/read'\r\nResource: '{}'\r\n\
             Assignment: (not found)\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: {name};location=unknown\r\n",
            sim.client_id, sim.object_id, sim.tenant_id, request.host
        ),
        Some("ForbiddenByRbac"),
    )
}

fn data_access_denied(sim: &Sim, estate: &Scenario, request: &Incoming, name: &str) -> Reply {
    if let Some(v) = estate.vault(name) {
        if v.spec.rbac_authorization != Some(true) {
            return kv_error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                &format!(
                    "The user, group or application 'appid={};oid={};iss=https://sts.windows.net/{}/' does not have \
                     keys get permission on key vault '{};location={}'. For help resolving this issue, please see \
                     https://go.microsoft.com/fwlink/?linkid=2125287",
                    sim.client_id, sim.object_id, sim.tenant_id, v.id.name, v.spec.location
                ),
                Some("AccessDenied"),
            );
        }
        return forbidden_by_rbac(
            sim,
            "Microsoft.KeyVault/vaults/keys/read",
            &v.id.raw.to_ascii_lowercase(),
            &v.id.name,
            &v.spec.location,
        );
    }
    let _ = request;
    kv_error(
        StatusCode::FORBIDDEN,
        "Forbidden",
        "Operation is not allowed: the caller holds no local role granting keys/read on this managed HSM.",
        Some("AccessDenied"),
    )
}

/// Key Vault's deletion recovery level for a vault's protection settings. Soft delete is on unless the scenario
/// says `false` (it cannot be turned off on vaults created since 2020), retention defaults to 90 days.
fn recovery(protection: &Protection) -> (&'static str, Option<u32>) {
    if protection.soft_delete == Some(false) {
        return ("Purgeable", None);
    }
    let days = protection.retention_days.unwrap_or(90);
    let purge = protection.purge_protection == Some(true);
    let level = match (purge, days >= 90) {
        (true, true) => "Recoverable",
        (true, false) => "CustomizedRecoverable",
        (false, true) => "Recoverable+Purgeable",
        (false, false) => "CustomizedRecoverable+Purgeable",
    };
    (level, Some(days))
}

fn encode_skip(offset: usize, marker: &str) -> String {
    let next = format!("2!{offset}!{}", material::base64url(marker.to_ascii_uppercase().as_bytes()));
    material::base64url(json!({ "NextMarker": next, "TargetLocation": 0 }).to_string().as_bytes())
}

fn decode_skip(token: &str) -> Option<usize> {
    let bytes = material::base64url_decode(token)?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    let marker = value.get("NextMarker")?.as_str()?;
    marker.split('!').nth(1)?.parse().ok()
}

/// What every key route needs.
struct KeyContext<'a> {
    sim: &'a Sim,
    estate: &'a Scenario,
    request: &'a Incoming,
    kind: ContainerKind,
    protection: Protection,
    container: &'a str,
    api: &'a str,
}

impl KeyContext<'_> {
    /// `https://<host>` as the client addressed the vault, for `kid`s.
    fn base(&self) -> String {
        self.request.link_base.clone()
    }

    /// Key Vault writes `nextLink` with an explicit `:443`.
    fn link_base(&self) -> String {
        if self.request.forwarded {
            format!("https://{}:443", self.request.host)
        } else {
            self.request.link_base.clone()
        }
    }

    fn with_key(&self, name: &str, f: impl FnOnce(&Key) -> Reply) -> Reply {
        match self.estate.key(self.container, name) {
            Some(key) => f(key),
            None => key_not_found(name),
        }
    }

    fn attributes(&self, v: &KeyVersion) -> Value {
        let mut a = Map::new();
        a.insert("enabled".into(), json!(v.enabled));
        if let Some(t) = v.not_before {
            a.insert("nbf".into(), json!(timestamps::epoch(t)));
        }
        if let Some(t) = v.expires {
            a.insert("exp".into(), json!(timestamps::epoch(t)));
        }
        a.insert("created".into(), json!(timestamps::epoch(v.created)));
        a.insert("updated".into(), json!(timestamps::epoch(v.updated)));
        let (level, days) = recovery(&self.protection);
        a.insert("recoveryLevel".into(), json!(level));
        if let Some(d) = days {
            a.insert("recoverableDays".into(), json!(d));
        }
        if self.kind == ContainerKind::ManagedHsm {
            a.insert("exportable".into(), json!(false));
        }
        Value::Object(a)
    }

    fn tags<'k>(&self, key: &'k Key, v: &'k KeyVersion) -> Option<&'k std::collections::BTreeMap<String, String>> {
        let tags = v.tags.as_ref().unwrap_or(&key.tags);
        (!tags.is_empty()).then_some(tags)
    }

    /// `GET /keys/{name}[/{version}]`: the key bundle, or 403 `KeyDisabled` for a disabled version.
    fn bundle(&self, key: &Key, version: Option<&str>) -> Reply {
        let v = match version {
            None => key.latest(),
            Some(id) => key.version(id),
        };
        let Some(v) = v else {
            return key_not_found(&format!("{}/{}", key.name, version.unwrap_or_default()));
        };
        if !v.enabled {
            return kv_error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Operation get is not allowed on a disabled key.",
                Some("KeyDisabled"),
            );
        }
        let kid = format!("{}/keys/{}/{}", self.base(), key.name, v.id);
        let seed = format!("{}/{}/{}", self.container.to_ascii_lowercase(), key.name.to_ascii_lowercase(), v.id);
        let mut jwk = Map::new();
        jwk.insert("kid".into(), json!(kid));
        jwk.insert("kty".into(), json!(key.kty));
        jwk.insert("key_ops".into(), json!(key.key_ops));
        if let Some(spec) = KeySpec::of(&self.sim.tenant_id, key, &v.id) {
            // A key that may sign carries its real public key, so signatures verify against this JWK.
            match signing::private_key(&spec) {
                Ok(private) => {
                    for (member, value) in private.public_jwk_members() {
                        jwk.insert(member.into(), json!(value));
                    }
                }
                Err(e) => return internal_error(&e),
            }
        } else if key.kty.starts_with("RSA") {
            jwk.insert("n".into(), json!(material::rsa_modulus(&seed, key.size.unwrap_or(2048))));
            jwk.insert("e".into(), json!("AQAB"));
        } else if key.kty.starts_with("EC") {
            let curve = key.curve.clone().unwrap_or_else(|| "P-256".into());
            let (x, y) = material::ec_point(&seed, &curve);
            jwk.insert("crv".into(), json!(curve));
            jwk.insert("x".into(), json!(x));
            jwk.insert("y".into(), json!(y));
        }
        let mut body = Map::new();
        body.insert("key".into(), Value::Object(jwk));
        body.insert("attributes".into(), self.attributes(v));
        if let Some(tags) = self.tags(key, v) {
            body.insert("tags".into(), json!(tags));
        }
        Reply::json(StatusCode::OK, &Value::Object(body))
    }

    fn page_size(&self) -> usize {
        self.request
            .query("maxresults")
            .and_then(|m| m.trim().parse::<usize>().ok())
            .map_or(MAX_PAGE, |m| m.clamp(1, MAX_PAGE))
    }

    fn offset(&self) -> Result<usize, Reply> {
        match self.request.query("$skiptoken") {
            None => Ok(0),
            Some(t) => decode_skip(t).ok_or_else(|| {
                kv_error(
                    StatusCode::BAD_REQUEST,
                    "BadParameter",
                    "The continuation token ($skiptoken) is invalid.",
                    None,
                )
            }),
        }
    }

    /// `GET /keys/{name}/versions`: ordered by version id, as Key Vault lists them (not by age).
    fn versions(&self, key: &Key) -> Reply {
        let mut versions: Vec<&KeyVersion> = key.versions.iter().collect();
        versions.sort_by(|a, b| a.id.cmp(&b.id));
        let size = self.page_size();
        let offset = match self.offset() {
            Ok(o) => o.min(versions.len()),
            Err(reply) => return reply,
        };
        let end = (offset + size).min(versions.len());
        let value: Vec<Value> = versions[offset..end]
            .iter()
            .map(|v| {
                let mut item = Map::new();
                item.insert("kid".into(), json!(format!("{}/keys/{}/{}", self.base(), key.name, v.id)));
                item.insert("attributes".into(), self.attributes(v));
                if let Some(tags) = self.tags(key, v) {
                    item.insert("tags".into(), json!(tags));
                }
                Value::Object(item)
            })
            .collect();
        let next = (end < versions.len()).then(|| {
            format!(
                "{}/keys/{}/versions?api-version={}&$skiptoken={}&maxresults={size}",
                self.link_base(),
                key.name,
                self.api,
                encode_skip(end, &format!("key/{}/{}", key.name, versions[end].id))
            )
        });
        Reply::json(StatusCode::OK, &json!({ "value": value, "nextLink": next }))
    }

    /// `GET /keys`: one entry per key with the current version's attributes.
    fn list_keys(&self) -> Reply {
        let mut keys: Vec<&Key> =
            self.estate.keys.iter().filter(|k| k.container.eq_ignore_ascii_case(self.container)).collect();
        keys.sort_by_key(|k| k.name.to_ascii_lowercase());
        let size = self.page_size();
        let offset = match self.offset() {
            Ok(o) => o.min(keys.len()),
            Err(reply) => return reply,
        };
        let end = (offset + size).min(keys.len());
        let value: Vec<Value> = keys[offset..end]
            .iter()
            .filter_map(|k| {
                let v = k.latest()?;
                let mut item = Map::new();
                item.insert("kid".into(), json!(format!("{}/keys/{}", self.base(), k.name)));
                item.insert("attributes".into(), self.attributes(v));
                if let Some(tags) = self.tags(k, v) {
                    item.insert("tags".into(), json!(tags));
                }
                Some(Value::Object(item))
            })
            .collect();
        let next = (end < keys.len()).then(|| {
            format!(
                "{}/keys?api-version={}&$skiptoken={}&maxresults={size}",
                self.link_base(),
                self.api,
                encode_skip(end, &format!("key/{}", keys[end].name))
            )
        });
        Reply::json(StatusCode::OK, &json!({ "value": value, "nextLink": next }))
    }

    /// `GET /keys/{name}/rotationpolicy`. A key never given a policy answers 200 with Key Vault's implicit
    /// default — one `Notify` action 30 days before expiry, empty attributes, no `id` — as the service does
    /// (see `Get-AzKeyVaultKeyRotationPolicy` on a fresh key: Id, CreatedOn, UpdatedOn empty). A configured
    /// policy always has `id` and `attributes.created`.
    fn rotation_policy(&self, key: &Key) -> Reply {
        let Some(policy) = &key.rotation_policy else {
            return Reply::json(
                StatusCode::OK,
                &json!({
                    "lifetimeActions": [
                        { "trigger": { "timeBeforeExpiry": "P30D" }, "action": { "type": "Notify" } }
                    ],
                    "attributes": {},
                }),
            );
        };
        let actions: Vec<Value> = policy
            .lifetime_actions
            .iter()
            .map(|a| {
                let trigger = match (&a.time_after_create, &a.time_before_expiry) {
                    (Some(d), _) => json!({ "timeAfterCreate": d.text }),
                    (None, Some(d)) => json!({ "timeBeforeExpiry": d.text }),
                    (None, None) => json!({}),
                };
                json!({ "trigger": trigger, "action": { "type": a.action } })
            })
            .collect();
        let created =
            policy.created.map(|t| t.0).or_else(|| key.versions.first().map(|v| v.created)).unwrap_or(self.estate.now);
        let updated = policy.updated.map_or(created, |t| t.0);
        let mut attributes = Map::new();
        if let Some(e) = &policy.expiry_time {
            attributes.insert("expiryTime".into(), json!(e.text));
        }
        attributes.insert("created".into(), json!(timestamps::epoch(created)));
        attributes.insert("updated".into(), json!(timestamps::epoch(updated)));
        Reply::json(
            StatusCode::OK,
            &json!({
                "id": format!("{}/keys/{}/rotationpolicy", self.base(), key.name),
                "lifetimeActions": actions,
                "attributes": attributes,
            }),
        )
    }
}

impl KeyContext<'_> {
    /// `POST /keys/{name}[/{version}]/sign` with `{"alg", "value"}` (value: the base64url digest); answers
    /// `{"kid", "value"}` with the versioned key id and the base64url signature. Checked in Key Vault's order:
    /// permission (RBAC role, access policy or HSM local role of the caller), key and version, body, enabled,
    /// activation and expiry, `key_ops`, algorithm.
    fn sign(&self, name: &str, version: Option<&str>) -> Reply {
        if let Some(denied) = sign_denial(self.sim, self.estate, self.kind, self.container, name) {
            return denied;
        }
        let Some(key) = self.estate.key(self.container, name) else {
            return key_not_found(name);
        };
        let v = match version {
            None => key.latest(),
            Some(id) => key.version(id),
        };
        let Some(v) = v else {
            return key_not_found(&format!("{}/{}", key.name, version.unwrap_or_default()));
        };
        let body: Value = match serde_json::from_slice(&self.request.body) {
            Ok(body) => body,
            Err(_) => return bad_parameter("The request body is not a valid JSON object with 'alg' and 'value'."),
        };
        let Some(alg) = body.get("alg").and_then(Value::as_str) else {
            return bad_parameter("The parameter 'alg' is missing.");
        };
        let Some(digest) = body.get("value").and_then(Value::as_str).and_then(material::base64url_decode) else {
            return bad_parameter("The parameter 'value' is missing or is not base64url.");
        };
        if !v.enabled {
            return kv_error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Operation sign is not allowed on a disabled key.",
                Some("KeyDisabled"),
            );
        }
        let now = self.estate.now;
        if v.not_before.is_some_and(|nbf| now < nbf) {
            return kv_error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Operation sign is not allowed on a key that is not yet valid.",
                Some("KeyNotYetValid"),
            );
        }
        if v.expires.is_some_and(|exp| now >= exp) {
            return kv_error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Operation sign is not allowed on an expired key.",
                Some("KeyExpired"),
            );
        }
        if !key.key_ops.iter().any(|op| op.eq_ignore_ascii_case("sign")) {
            return kv_error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Operation sign is not permitted on this key.",
                Some("KeyOperationForbidden"),
            );
        }
        let Some(algorithm) = Algorithm::parse(alg) else {
            return bad_parameter(&format!(
                "Invalid algorithm '{alg}' for this key; azure-sim signs with ES256 (EC P-256), RS256 and PS256 (RSA)."
            ));
        };
        let Some(spec) = KeySpec::of(&self.sim.tenant_id, key, &v.id) else {
            return kv_error(
                StatusCode::NOT_IMPLEMENTED,
                "NotImplemented",
                &format!("azure-sim signs only with RSA and EC P-256 keys, not {} {:?}.", key.kty, key.curve),
                None,
            );
        };
        let private = match signing::private_key(&spec) {
            Ok(private) => private,
            Err(e) => return internal_error(&e),
        };
        match private.sign(algorithm, &digest) {
            Ok(signature) => Reply::json(
                StatusCode::OK,
                &json!({
                    "kid": format!("{}/keys/{}/{}", self.base(), key.name, v.id),
                    "value": material::base64url(&signature),
                }),
            ),
            Err(SignError::Incompatible) => {
                bad_parameter(&format!("Key and signing algorithm are incompatible: {alg} with a {} key.", key.kty))
            }
            Err(SignError::DigestLength(n)) => {
                bad_parameter(&format!("The digest for {alg} must be 32 bytes (SHA-256), not {n}."))
            }
            Err(SignError::Failed(e)) => internal_error(&e),
        }
    }
}

/// `Some(403)` unless the caller (the scenario's service principal) may sign with key `name` of `container`: on
/// an RBAC vault a sign-capable role at the key, the vault or a scope above it; on an access-policy vault a
/// policy with the `sign` (or `all`) key permission; on a managed HSM a local Crypto User role at `/`, `/keys` or
/// the key.
fn sign_denial(sim: &Sim, estate: &Scenario, kind: ContainerKind, container: &str, name: &str) -> Option<Reply> {
    let caller = &sim.object_id;
    let key_name = name.to_ascii_lowercase();
    match kind {
        ContainerKind::Vault => {
            let vault = estate.vault(container)?;
            if vault.spec.rbac_authorization == Some(true) {
                let mut target = scope_key(&vault.id.raw);
                target.extend(["keys".to_string(), key_name.clone()]);
                let allowed = estate.role_assignments.iter().any(|r| {
                    r.principal_id.eq_ignore_ascii_case(caller)
                        && VAULT_SIGN_ROLES.contains(&r.role.rsplit('/').next().unwrap_or_default())
                        && target.starts_with(&r.scope_key)
                });
                return (!allowed).then(|| {
                    forbidden_by_rbac(
                        sim,
                        "Microsoft.KeyVault/vaults/keys/sign/action",
                        &format!("{}/keys/{key_name}", vault.id.raw.to_ascii_lowercase()),
                        &vault.id.name,
                        &vault.spec.location,
                    )
                });
            }
            let allowed = vault.spec.access_policies.iter().any(|p| {
                p.object_id.eq_ignore_ascii_case(caller)
                    && p.keys.iter().any(|k| k.eq_ignore_ascii_case("sign") || k.eq_ignore_ascii_case("all"))
            });
            (!allowed).then(|| {
                kv_error(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    &format!(
                        "The user, group or application 'appid={};oid={caller};iss=https://sts.windows.net/{}/' does \
                         not have keys sign permission on key vault '{};location={}'. For help resolving this issue, \
                         please see https://go.microsoft.com/fwlink/?linkid=2125287",
                        sim.client_id, sim.tenant_id, vault.id.name, vault.spec.location
                    ),
                    Some("AccessDenied"),
                )
            })
        }
        ContainerKind::ManagedHsm => {
            let target = ["keys".to_string(), key_name];
            let allowed = estate.hsm_role_assignments.iter().any(|r| {
                r.hsm.eq_ignore_ascii_case(container)
                    && r.principal_id.eq_ignore_ascii_case(caller)
                    && HSM_SIGN_ROLES.contains(&r.role.rsplit('/').next().unwrap_or_default())
                    && target.starts_with(&r.scope_key)
            });
            (!allowed).then(|| {
                kv_error(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "Operation is not allowed: the caller holds no local role granting keys/sign on this key.",
                    Some("AccessDenied"),
                )
            })
        }
    }
}

/// 403 `ForbiddenByRbac` in the shape Key Vault writes it (caller, action, resource, decision reason).
fn forbidden_by_rbac(sim: &Sim, action: &str, resource: &str, vault: &str, location: &str) -> Reply {
    kv_error(
        StatusCode::FORBIDDEN,
        "Forbidden",
        &format!(
            "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or \
             role definitions were changed recently, please observe propagation time.\r\nCaller: appid={};oid={};\
             iss=https://sts.windows.net/{}/\r\nAction: '{action}'\r\nResource: '{resource}'\r\n\
             Assignment: (not found)\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: {vault};location={location}\r\n",
            sim.client_id, sim.object_id, sim.tenant_id
        ),
        Some("ForbiddenByRbac"),
    )
}

fn bad_parameter(message: &str) -> Reply {
    kv_error(StatusCode::BAD_REQUEST, "BadParameter", message, None)
}

fn internal_error(detail: &str) -> Reply {
    kv_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalServerError",
        &format!("azure-sim could not make the key material: {detail}"),
        None,
    )
}

fn key_not_found(name: &str) -> Reply {
    kv_error(
        StatusCode::NOT_FOUND,
        "KeyNotFound",
        &format!(
            "A key with (name/id) {name} was not found in this key vault. If you recently deleted this key you may \
             be able to recover it using the correct recovery command. For help resolving this issue, please see \
             https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
        None,
    )
}

/// Managed HSM local RBAC: `GET {scope}/providers/Microsoft.Authorization/roleAssignments`.
fn hsm_role_assignments(estate: &Scenario, request: &Incoming, hsm: &str, scope: &[String]) -> Reply {
    let filter = match RoleFilter::parse(request.query("$filter")) {
        Ok(f) => f,
        Err(text) => {
            return kv_error(
                StatusCode::BAD_REQUEST,
                "BadParameter",
                &format!("The filter '{text}' is not supported."),
                None,
            );
        }
    };
    let value: Vec<Value> = estate
        .hsm_role_assignments
        .iter()
        .filter(|r| r.hsm.eq_ignore_ascii_case(hsm) && filter.admits(&r.scope_key, scope, &r.principal_id))
        .map(|r| {
            json!({
                "id": format!("/providers/Microsoft.Authorization/roleAssignments/{}", r.name),
                "name": r.name,
                "type": "Microsoft.Authorization/roleAssignments",
                "properties": {
                    "scope": r.scope,
                    "roleDefinitionId": format!("Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{}", r.role),
                    "principalId": r.principal_id,
                },
            })
        })
        .collect();
    Reply::json(StatusCode::OK, &json!({ "value": value }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions() {
        assert!(valid_api_version("7.6"));
        assert!(valid_api_version("7.5-preview.1"));
        assert!(valid_api_version("2025-07-01"));
        assert!(!valid_api_version("latest"));
    }

    #[test]
    fn recovery_levels() {
        let p = |soft, days, purge| Protection { soft_delete: soft, retention_days: days, purge_protection: purge };
        assert_eq!(recovery(&p(Some(true), Some(90), Some(true))), ("Recoverable", Some(90)));
        assert_eq!(recovery(&p(None, None, None)), ("Recoverable+Purgeable", Some(90)));
        assert_eq!(recovery(&p(Some(true), Some(30), None)), ("CustomizedRecoverable+Purgeable", Some(30)));
        assert_eq!(recovery(&p(Some(false), None, None)), ("Purgeable", None));
    }

    #[test]
    fn skip_tokens_round_trip() {
        assert_eq!(decode_skip(&encode_skip(25, "key/a/b")), Some(25));
    }
}
