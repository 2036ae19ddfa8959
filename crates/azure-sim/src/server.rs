//! The HTTP server: binds loopback, reads each request's forwarded host to decide which Azure surface it is
//! talking to (token endpoint, ARM, Key Vault / Managed HSM data plane), counts everything, and hands the
//! request to that surface. Also the control handle ([`RunningSim`]) tests and the demo use.

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::Error;
use crate::faults::{FaultAction, FaultBook};
use crate::latency::Latency;
use crate::quota::{LimitStats, Limits, ThrottlingFloor};
use crate::scenario::{ContainerKind, DrillStep, Scenario, VaultSetting, vault_host_kind};
use crate::{arm, dataplane, graph, token};

/// Largest request body read (token forms, Resource Graph queries and `sign` bodies are small).
const MAX_BODY: usize = 1 << 20;
/// How long [`RunningSim::shutdown`] waits for in-flight requests before aborting the server task.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Where to listen. Must be a loopback address; port 0 picks a free port. Default `127.0.0.1:0`.
    pub bind: SocketAddr,
    /// Items per page of ARM list responses (followed by `nextLink`). Default 2, so every client exercises
    /// paging even on the small default estate.
    pub page_size: usize,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions { bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), page_size: 2 }
    }
}

/// Counters since start. Cheap to take; a snapshot, not a live view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Every HTTP request received.
    pub requests: u64,
    /// Responses with status 429, from Azure's quotas (see `limits`) or from injected `throttle` faults.
    pub throttled_429: u64,
    /// Fault rules that fired (each firing counts once).
    pub faults_injected: u64,
    /// Requests that reached the token endpoint.
    pub token_requests: u64,
    /// Responses with status 401 (including Key Vault's authentication challenge).
    pub unauthenticated_401: u64,
    /// Requests per route name, e.g. `arm.storageAccounts.list`, `kv.keys.versions`, `graph.resources`, `token`.
    pub by_route: BTreeMap<String, u64>,
    /// Per quota bucket: requests admitted and answered 429 by Azure's throttling rules (ARM reads, storage
    /// lists, Resource Graph, Key Vault, Managed HSM), sorted by kind then key. Injected `throttle` faults are
    /// not counted here.
    pub limits: Vec<LimitStats>,
}

impl SimStats {
    /// The least wall time Azure's quotas allow for the requests the limiters admitted so far: per bucket, token
    /// bucket of capacity C refilled at r per second `max(0, (n - C) / r)`, fixed window of W per T
    /// `((n - 1) / W) * T` (n > 0, integer division); the maximum over all buckets, with the bucket that sets it.
    /// A collection that takes about this long is as fast as Azure lets it be.
    pub fn throttling_floor(&self) -> ThrottlingFloor {
        ThrottlingFloor::over(&self.limits)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    throttled_429: AtomicU64,
    faults_injected: AtomicU64,
    pub(crate) token_requests: AtomicU64,
    unauthenticated_401: AtomicU64,
    by_route: Mutex<BTreeMap<String, u64>>,
}

/// A token the token endpoint issued.
#[derive(Debug, Clone)]
pub(crate) struct IssuedToken {
    /// Lower-case audience without trailing slash, e.g. `https://vault.azure.net`.
    pub(crate) audience: String,
    pub(crate) issued: Instant,
}

/// Shared state of one running simulator.
#[derive(Debug)]
pub(crate) struct Sim {
    /// Read by every request; written only by the run-time controls of [`RunningSim`].
    estate: RwLock<Scenario>,
    pub(crate) tokens: Mutex<HashMap<String, IssuedToken>>,
    pub(crate) limits: Limits,
    pub(crate) faults: FaultBook,
    pub(crate) counters: Counters,
    pub(crate) page_size: usize,
    latency: Latency,
    /// Resource Graph queries already ordered, by query (see [`graph`]).
    pub(crate) graph_cache: graph::QueryCache,
    /// Immutable copies, so hot paths need no lock.
    pub(crate) tenant_id: String,
    pub(crate) authority_host: Option<String>,
    pub(crate) client_id: String,
    pub(crate) object_id: String,
}

impl Sim {
    pub(crate) fn new(mut scenario: Scenario, page_size: usize) -> Sim {
        scenario.build_index();
        Sim {
            tokens: Mutex::new(HashMap::new()),
            limits: Limits::default(),
            faults: FaultBook::new(&scenario.faults),
            counters: Counters::default(),
            page_size: page_size.max(1),
            latency: scenario.latency,
            graph_cache: graph::QueryCache::default(),
            tenant_id: scenario.tenant.id.clone(),
            authority_host: scenario.tenant.authority_host.as_ref().map(|h| h.to_ascii_lowercase()),
            client_id: scenario.credentials.client_id.clone(),
            object_id: scenario.credentials.object_id.clone(),
            estate: RwLock::new(scenario),
        }
    }

    /// The estate, for reading. A panic while holding the lock cannot leave it half-written in a way that
    /// matters for a simulator, so a poisoned lock is simply taken over.
    pub(crate) fn estate(&self) -> RwLockReadGuard<'_, Scenario> {
        self.estate.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The estate, for the run-time controls that change it.
    fn estate_mut(&self) -> RwLockWriteGuard<'_, Scenario> {
        self.estate.write().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn token(&self, bearer: &str) -> Option<IssuedToken> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).get(bearer).cloned()
    }

    /// Run the fault rules for `request`, counting a firing.
    pub(crate) fn fire_fault(&self, request: &Incoming) -> Option<FaultAction> {
        let action = self.faults.fire(request);
        if action.is_some() {
            self.counters.faults_injected.fetch_add(1, Ordering::Relaxed);
        }
        action
    }

    fn stats(&self) -> SimStats {
        let c = &self.counters;
        SimStats {
            requests: c.requests.load(Ordering::Relaxed),
            throttled_429: c.throttled_429.load(Ordering::Relaxed),
            faults_injected: c.faults_injected.load(Ordering::Relaxed),
            token_requests: c.token_requests.load(Ordering::Relaxed),
            unauthenticated_401: c.unauthenticated_401.load(Ordering::Relaxed),
            by_route: c.by_route.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            limits: self.limits.stats(),
        }
    }

    fn count_route(&self, route: &str) {
        let mut map = self.counters.by_route.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(route.to_string()).or_default() += 1;
    }
}

/// One request, reduced to what the surfaces need.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) method: Method,
    /// Host the client meant (`x-forwarded-host`, else `Host`), lower case, without port.
    pub(crate) host: String,
    /// Scheme, host and port for links the simulator writes back (`nextLink`): `https://<host>` when the
    /// request was forwarded by a test transport, otherwise `http://<Host header>` so plain clients can follow.
    pub(crate) link_base: String,
    pub(crate) forwarded: bool,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Incoming {
    async fn read(request: Request) -> Result<Incoming, Reply> {
        let (parts, body) = request.into_parts();
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(|s| s.trim().to_string());
        let forwarded_host = header("x-forwarded-host");
        let host_header = header(HOST.as_str());
        let forwarded = forwarded_host.is_some();
        let with_port =
            forwarded_host.or(host_header).or_else(|| parts.uri.authority().map(|a| a.to_string())).unwrap_or_default();
        let host = strip_port(&with_port).to_ascii_lowercase();
        let link_base = if forwarded { format!("https://{host}") } else { format!("http://{with_port}") };
        let query = parts
            .uri
            .query()
            .map(|q| url::form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
            .unwrap_or_default();
        let body = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|_| Reply::text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"))?;
        Ok(Incoming {
            method: parts.method,
            host,
            link_base,
            forwarded,
            path: parts.uri.path().to_string(),
            query,
            headers: parts.headers,
            body,
        })
    }

    /// A query parameter by name, case-insensitively (`$skipToken` and `$skiptoken` both occur).
    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The bearer token of the `Authorization` header, if any.
    pub(crate) fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?.trim();
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty())
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map_or(host, |(h, _)| h.trim_start_matches('['));
    }
    host.rsplit_once(':').filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit())).map_or(host, |(h, _)| h)
}

/// A response being built.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
    content_type: &'static str,
}

impl Reply {
    pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: serde_json::to_vec(value).unwrap_or_default(),
            content_type: "application/json; charset=utf-8",
        }
    }

    pub(crate) fn text(status: StatusCode, text: &str) -> Reply {
        Reply { status, headers: Vec::new(), body: text.as_bytes().to_vec(), content_type: "text/plain; charset=utf-8" }
    }

    /// Add a header; `name` must be lower case.
    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    /// Cut the body in half: a response that starts like JSON and ends mid-value.
    pub(crate) fn truncate(&mut self) {
        let keep = (self.body.len() / 2).max(1).min(self.body.len());
        self.body.truncate(keep);
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        headers.insert("cache-control", HeaderValue::from_static("no-cache"));
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(HeaderName::from_static(name), value);
            }
        }
        response
    }
}

/// Which Azure surface a host belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Surface {
    Login,
    Arm,
    DataPlane { kind: ContainerKind, name: String },
}

impl Surface {
    fn of(host: &str, authority_host: Option<&str>) -> Surface {
        if host.starts_with("login.") || authority_host.is_some_and(|a| strip_port(a).eq_ignore_ascii_case(host)) {
            return Surface::Login;
        }
        match vault_host_kind(host) {
            Some((kind, name)) => Surface::DataPlane { kind, name },
            None => Surface::Arm,
        }
    }
}

async fn dispatch(State(sim): State<Arc<Sim>>, request: Request) -> Response {
    sim.counters.requests.fetch_add(1, Ordering::Relaxed);
    let incoming = match Incoming::read(request).await {
        Ok(i) => i,
        Err(reply) => return reply.into_response(),
    };
    let surface = Surface::of(&incoming.host, sim.authority_host.as_deref());
    let delay = match &surface {
        Surface::Login => sim.latency.token,
        Surface::Arm if graph::is_graph_path(&incoming.path) => sim.latency.graph,
        Surface::Arm => sim.latency.arm,
        Surface::DataPlane { .. } => sim.latency.key_vault,
    };
    // In this request's own task and before any lock is taken, so concurrent requests wait side by side.
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let reply = match &surface {
        Surface::Login => {
            sim.count_route("token");
            sim.counters.token_requests.fetch_add(1, Ordering::Relaxed);
            token::answer(&sim, &incoming).await
        }
        Surface::Arm => {
            sim.count_route(arm::route_name(&incoming));
            arm::answer(&sim, &incoming).await
        }
        Surface::DataPlane { kind, name } => {
            sim.count_route(dataplane::route_name(*kind, &incoming));
            dataplane::answer(&sim, &incoming, *kind, name).await
        }
    };
    match reply.status {
        StatusCode::UNAUTHORIZED => {
            sim.counters.unauthenticated_401.fetch_add(1, Ordering::Relaxed);
        }
        StatusCode::TOO_MANY_REQUESTS => {
            sim.counters.throttled_429.fetch_add(1, Ordering::Relaxed);
        }
        _ => {}
    }
    tracing::debug!(method = %incoming.method, host = %incoming.host, path = %incoming.path, status = reply.status.as_u16(), "azure-sim");
    reply.into_response()
}

/// A simulator serving on loopback. Dropping it stops the server too; [`RunningSim::shutdown`] waits for it.
#[derive(Debug)]
pub struct RunningSim {
    addr: SocketAddr,
    sim: Arc<Sim>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// Start serving `scenario` on `options.bind` (loopback only).
pub async fn start(scenario: Scenario, options: SimOptions) -> Result<RunningSim, Error> {
    if !options.bind.ip().is_loopback() {
        return Err(Error::NonLoopbackBind { addr: options.bind });
    }
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .map_err(|source| Error::Bind { addr: options.bind, source })?;
    let addr = listener.local_addr().map_err(|source| Error::Bind { addr: options.bind, source })?;
    let sim = Arc::new(Sim::new(scenario, options.page_size));
    let app = Router::new().fallback(dispatch).with_state(Arc::clone(&sim));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(RunningSim { addr, sim, stop: Some(stop), task: Some(task) })
}

/// Run `scenario` until Ctrl-C, for the standalone `cmk-evidence sim` command. `on_ready` receives the bound
/// address once the simulator accepts connections (the caller prints it; this function prints nothing).
pub async fn serve_forever(
    scenario: Scenario,
    options: SimOptions,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<(), Error> {
    let running = start(scenario, options).await?;
    on_ready(running.addr());
    // If the signal handler cannot be installed there is no way to stop cleanly anyway: stop now.
    let _ = tokio::signal::ctrl_c().await;
    running.shutdown().await;
    Ok(())
}

impl RunningSim {
    /// The address the simulator listens on (send requests to `http://<addr>` with `x-forwarded-host`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Counters since start.
    pub fn stats(&self) -> SimStats {
        self.sim.stats()
    }

    /// Stop accepting connections, let in-flight requests finish (at most a few seconds), then return.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }

    /// The simulator's current clock (the scenario's "now", moved by [`RunningSim::advance_clock`]).
    pub fn clock(&self) -> OffsetDateTime {
        self.sim.estate().now
    }

    /// Move the clock forward; resources waiting to adopt a rotated key version adopt it when its time comes.
    pub fn advance_clock(&self, by: time::Duration) {
        self.sim.estate_mut().advance_clock(by);
    }

    /// Rotate a key as Key Vault does: a new enabled version created "now" (expiry from the rotation policy's
    /// `expiryTime`). Storage accounts, disk encryption sets (`keyUrl`), container registries
    /// (`versionedKeyIdentifier`) and SQL protectors (`uri`, `serverKeyName`, a new server key) that follow the
    /// latest version adopt it after their adoption delay, updating their last rotation time; pinned ones, container
    /// groups and AKS KMS keys never do. `vault` is the vault or managed HSM name. Returns the new version id.
    pub fn rotate_key(&self, vault: &str, key: &str) -> Result<String, Error> {
        self.sim.estate_mut().rotate_key(vault, key)
    }

    /// Disable one key version (as `az keyvault key set-attributes --enabled false` would).
    pub fn disable_key_version(&self, vault: &str, key: &str, version: &str) -> Result<(), Error> {
        self.sim.estate_mut().set_version_enabled(vault, key, version, false)
    }

    /// Re-enable one key version.
    pub fn enable_key_version(&self, vault: &str, key: &str, version: &str) -> Result<(), Error> {
        self.sim.estate_mut().set_version_enabled(vault, key, version, true)
    }

    /// Remove role assignments of `principal_id` (case-insensitive) at exactly `scope`, and of `role` (a role
    /// definition GUID) when given. `scope` is an ARM scope, compared case-insensitively with a trailing `/`
    /// ignored, or `hsm:<hsm name>:<local scope>` (e.g. `hsm:mhsm-contoso-prod:/keys/cmk-hsm-aci`) for Managed
    /// HSM local RBAC. Removed assignments leave the role assignment lists (ARM and Managed HSM) and no longer
    /// grant `sign`. Returns how many were removed; none matching is [`Error::NoRoleAssignment`].
    pub fn remove_role_assignment(&self, principal_id: &str, scope: &str, role: Option<&str>) -> Result<usize, Error> {
        self.sim.estate_mut().remove_role_assignment(principal_id, scope, role)
    }

    /// Change a protection or network setting of a vault or managed HSM (`vault_or_hsm` is its name): what ARM
    /// serves for it (GET and lists) and the `recoveryLevel` / `recoverableDays` its keys report. `None` makes
    /// the property absent. Network settings on a vault without `networkAcls` create one with Azure's defaults
    /// for the other fields. [`VaultSetting::RbacAuthorization`] on a managed HSM and a retention outside 7..=90
    /// days are [`Error::VaultSetting`]; see [`VaultSetting`] for what real Azure would refuse.
    pub fn set_vault_setting(&self, vault_or_hsm: &str, setting: VaultSetting) -> Result<(), Error> {
        self.sim.estate_mut().set_vault_setting(vault_or_hsm, setting).map(|_| ())
    }

    /// Apply one step of a drill ([`Scenario::drill`]) and return one line saying what happened, with what is
    /// only known at run time: the new version id of a rotation and which resources adopted it, which version
    /// `previous` or `#N` resolved to and who uses it, how many role assignments were removed, the new clock and
    /// the adoptions it let happen, a setting's previous value.
    pub fn apply_drill_step(&self, step: &DrillStep) -> Result<String, Error> {
        self.sim.estate_mut().apply_drill_step(step)
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_map_to_surfaces() {
        assert_eq!(Surface::of("login.microsoftonline.com", None), Surface::Login);
        assert_eq!(Surface::of("login.chinacloudapi.cn", None), Surface::Login);
        assert_eq!(Surface::of("sts.contoso.test", Some("sts.contoso.test:443")), Surface::Login);
        assert_eq!(Surface::of("management.azure.com", None), Surface::Arm);
        assert_eq!(
            Surface::of("kv-contoso-prod.vault.azure.net", None),
            Surface::DataPlane { kind: ContainerKind::Vault, name: "kv-contoso-prod".into() }
        );
        assert_eq!(
            Surface::of("kv-x.vault.azure.cn", None),
            Surface::DataPlane { kind: ContainerKind::Vault, name: "kv-x".into() }
        );
        assert_eq!(
            Surface::of("mhsm-x.managedhsm.azure.net", None),
            Surface::DataPlane { kind: ContainerKind::ManagedHsm, name: "mhsm-x".into() }
        );
    }

    #[test]
    fn ports_are_stripped() {
        assert_eq!(strip_port("management.azure.com:443"), "management.azure.com");
        assert_eq!(strip_port("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("host"), "host");
    }
}
