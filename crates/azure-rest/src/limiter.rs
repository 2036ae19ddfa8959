//! Admission control for every request of an [`AzureClient`](crate::AzureClient): a global in-flight cap,
//! an adaptive (AIMD) cap per throttling scope, pauses on `Retry-After`, and waits driven by Azure's quota
//! headers — so many collectors can submit work at once and the client still keeps within Azure's limits.
//!
//! # Scopes
//! Azure throttles per bucket, so the limiter keeps one gate per bucket, named from the request URL
//! ([`Scope::of`]):
//! - ARM `/subscriptions/{id}/…` → the subscription `{id}` (lower-cased): a token bucket of about 250 reads
//!   per subscription, refilled about 25 per second, reported in `x-ms-ratelimit-remaining-subscription-reads`.
//!   The storage provider's ~100 list calls per 5 minutes fall in this scope too (no header; 429 only).
//! - ARM `/providers/Microsoft.ResourceGraph/…` → graph: about 15 queries per 5 s per user, reported in
//!   `x-ms-user-quota-remaining` and `x-ms-user-quota-resets-after` (`hh:mm:ss`).
//! - any other ARM path (`/subscriptions`, `/providers/…`, management groups) → tenant, with
//!   `x-ms-ratelimit-remaining-tenant-reads`.
//! - any other host → that Key Vault or Managed HSM host (4,000 operations per 10 s per vault; 429 only). The
//!   Key Vault and Managed HSM pipelines only ever send to the vault they were built for.
//!
//! Token requests never pass the limiter: credentials use their own pipelines, which have no limiter.
//!
//! # Admission
//! A request waits, in this order, for: a permit of its scope (FIFO); the end of its scope's pause; its
//! quota-header wait; a permit of the global cap (FIFO). Scope first, so a request queued behind a slow or
//! paused scope never holds one of the global permits other scopes need. The permits are held until the
//! answer has been read (the pipeline buffers the body in the transport) and released when the try ends,
//! also when it is cancelled.
//!
//! # Adaptive caps (AIMD)
//! Each scope starts at its maximum ([`LimitConfig`]); a 429 or 503 from the scope halves its cap (never below
//! 1), and after as many successes in a row as the current cap (one "window") the cap grows by one, up to the
//! maximum. Requests already in flight when the cap was halved belong to the same congestion event: their
//! 429s do not halve it again (each admission remembers the scope's decrease epoch), so a burst of 16
//! throttled answers halves 16 → 8 once instead of collapsing to 1. A decrease withdraws free permits at once
//! and the rest as in-flight requests finish.
//!
//! # Quota headers
//! Per scope the limiter remembers the last reported remaining quota and when it was reported.
//! - ARM reads: the estimate is `reported + refill × time since the report − requests admitted since`. While
//!   it is below `RetryConfig::min_remaining_reads`, the scope's requests are released no faster than
//!   [`LimitConfig::arm_reads_per_second`] (one slot every 40 ms by default): consumption then equals the
//!   refill, so the bucket stops draining instead of running into 429s.
//! - Resource Graph: a report of `remaining` leaves a budget of `remaining − graph queries still in flight`
//!   until `resets-after` has elapsed (measured from when the answer arrived, which is never earlier than
//!   Azure's own window end). With no budget left the next query is held until then, so a well-behaved run
//!   is never answered 429 by Resource Graph. Azure sends whole seconds, rounded up (a fraction is read if
//!   present), so every report of a window bounds its end from above; the earliest bound of the window's
//!   reports is used, which waits out far less of the rounding than any one report would.
//!
//! # 429 and 503
//! A 429 or 503 with `Retry-After` (any of the three header spellings, capped by
//! `RetryConfig::retry_after_cap`) pauses the scope until then: every request of that scope waits, the other
//! scopes go on. The retry itself is still [`BoundedRetryPolicy`](crate::policies::BoundedRetryPolicy)'s,
//! with its bounded count, cap and total deadline.
//!
//! # Placement, try timeout and total deadline
//! [`LimitPolicy`] is the last per-try policy before `PerTryTimeoutPolicy` in all three paths (ARM and
//! Resource Graph pipeline, Managed HSM pipeline, every `KeyClient` through `key_client_options`), after the
//! bearer policy: a wait in the limiter is never cut by the per-try timeout, which bounds the transport only,
//! and each try (also each leg of Key Vault's challenge) is admitted on its own. Time spent waiting in the
//! limiter is recorded in the request's [`QueueTime`] (found in the pipeline context) and **excluded** from
//! the total deadline: the deadline bounds time on the wire plus the retry policy's own backoff, so a long
//! but healthy queue never turns into timeouts. Queue waits are still finite: permits are held only by tries
//! that are bounded themselves, pauses are capped, and pacing releases one request per slot.
//!
//! # Statistics
//! [`ThrottleStats`] counts, per scope kind, the 429s and 503s seen, the retries, the time scopes spent
//! paused and the admissions that waited because of quota headers.

use crate::policies::{loggable_url, retry_after};
use azure_core::{
    error::ErrorKind,
    http::{
        Context, Request, StatusCode, Url,
        headers::{HeaderName, Headers},
        policies::{Policy, PolicyResult},
    },
};
use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many requests may be in flight, overall and per throttling scope. Each scope's cap adapts (halved on
/// 429/503, regrown on success) between 1 and the maximum given here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitConfig {
    /// Requests in flight across every scope. Default 64.
    pub max_in_flight: usize,
    /// Most requests in flight per subscription (ARM `/subscriptions/{id}/…`). Default 16.
    pub per_subscription: usize,
    /// Most tenant-level ARM requests in flight (`/subscriptions`, `/providers/…`). Default 8.
    pub per_tenant: usize,
    /// Most requests in flight per Key Vault or Managed HSM host. Default 16.
    pub per_vault: usize,
    /// Most Resource Graph queries in flight. Default 1: paging is sequential anyway, and a second query may
    /// only start while the quota headers say quota remains.
    pub graph: usize,
    /// ARM's read refill rate: while a scope's remaining reads are below `RetryConfig::min_remaining_reads`,
    /// its requests are released no faster than this many per second. Default 25.
    pub arm_reads_per_second: u32,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            max_in_flight: 64,
            per_subscription: 16,
            per_tenant: 8,
            per_vault: 16,
            graph: 1,
            arm_reads_per_second: 25,
        }
    }
}

impl LimitConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        let caps = [
            ("max_in_flight", self.max_in_flight),
            ("per_subscription", self.per_subscription),
            ("per_tenant", self.per_tenant),
            ("per_vault", self.per_vault),
            ("graph", self.graph),
        ];
        for (name, cap) in caps {
            if cap == 0 || cap > Semaphore::MAX_PERMITS {
                return Err(format!("limits.{name} must be from 1 to {}, not {cap}", Semaphore::MAX_PERMITS));
            }
        }
        if self.arm_reads_per_second == 0 {
            return Err("limits.arm_reads_per_second must be at least 1".into());
        }
        Ok(())
    }

    fn max_for(&self, kind: ScopeKind) -> usize {
        match kind {
            ScopeKind::Subscription => self.per_subscription,
            ScopeKind::Tenant => self.per_tenant,
            ScopeKind::Graph => self.graph,
            ScopeKind::Vault => self.per_vault,
        }
    }
}

/// What the limiter saw for one kind of scope ([`ThrottleStats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScopeStats {
    /// Answers with HTTP 429.
    pub throttled_429: u64,
    /// Answers with HTTP 503.
    pub unavailable_503: u64,
    /// Tries repeated by the retry policy (any retryable status or I/O error).
    pub retries: u64,
    /// Total time scopes of this kind were paused by `Retry-After` (overlapping pauses of one scope counted
    /// once; pauses of different scopes added up).
    pub paused: Duration,
    /// Admissions that waited because a quota header said the quota was low or spent (ARM remaining reads,
    /// Resource Graph user quota).
    pub quota_waits: u64,
}

impl ScopeStats {
    fn is_quiet(&self) -> bool {
        *self == Self::default()
    }

    fn add(&mut self, other: &ScopeStats) {
        self.throttled_429 += other.throttled_429;
        self.unavailable_503 += other.unavailable_503;
        self.retries += other.retries;
        self.paused += other.paused;
        self.quota_waits += other.quota_waits;
    }
}

/// Throttling seen by one [`AzureClient`](crate::AzureClient) so far, per scope kind
/// ([`AzureClient::throttle_stats`](crate::AzureClient::throttle_stats)).
///
/// ```
/// let stats = azure_rest::ThrottleStats::default();
/// assert_eq!(stats.total().throttled_429, 0);
/// assert_eq!(stats.to_string(), "no throttling");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThrottleStats {
    /// ARM requests under `/subscriptions/{id}/`.
    pub subscription: ScopeStats,
    /// Tenant-level ARM requests.
    pub tenant: ScopeStats,
    /// Resource Graph queries.
    pub graph: ScopeStats,
    /// Key Vault and Managed HSM data plane requests.
    pub vault: ScopeStats,
}

impl ThrottleStats {
    /// Every kind with its name (`subscription`, `tenant`, `graph`, `vault`), in that order.
    pub fn kinds(&self) -> [(&'static str, ScopeStats); 4] {
        [("subscription", self.subscription), ("tenant", self.tenant), ("graph", self.graph), ("vault", self.vault)]
    }

    /// The four kinds added up.
    pub fn total(&self) -> ScopeStats {
        let mut total = ScopeStats::default();
        for (_, stats) in self.kinds() {
            total.add(&stats);
        }
        total
    }

    fn of_kind(&mut self, kind: ScopeKind) -> &mut ScopeStats {
        match kind {
            ScopeKind::Subscription => &mut self.subscription,
            ScopeKind::Tenant => &mut self.tenant,
            ScopeKind::Graph => &mut self.graph,
            ScopeKind::Vault => &mut self.vault,
        }
    }
}

/// One line per kind that saw anything, e.g. `subscription: 3 x 429, 0 x 503, 3 retries, paused 2.0s, 5 quota
/// waits`; `no throttling` when nothing happened.
impl fmt::Display for ThrottleStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut any = false;
        for (name, stats) in self.kinds() {
            if stats.is_quiet() {
                continue;
            }
            if any {
                writeln!(f)?;
            }
            any = true;
            write!(
                f,
                "{name}: {} x 429, {} x 503, {} retries, paused {:.1}s, {} quota waits",
                stats.throttled_429,
                stats.unavailable_503,
                stats.retries,
                stats.paused.as_secs_f64(),
                stats.quota_waits
            )?;
        }
        if !any {
            f.write_str("no throttling")?;
        }
        Ok(())
    }
}

/// The bucket Azure counts a request against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Scope {
    /// ARM under `/subscriptions/{id}/`, the id lower-cased.
    Subscription(String),
    /// ARM outside any subscription.
    Tenant,
    /// Resource Graph (`/providers/Microsoft.ResourceGraph/…`).
    Graph,
    /// A Key Vault or Managed HSM host (`host[:port]`, lower-case).
    Vault(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScopeKind {
    Subscription,
    Tenant,
    Graph,
    Vault,
}

impl Scope {
    /// The scope of a request to `url`, given the cloud's ARM endpoint; `None` for a URL without a host.
    pub(crate) fn of(url: &Url, arm_endpoint: &Url) -> Option<Scope> {
        let host = url.host_str().filter(|host| !host.is_empty())?;
        if url.origin() != arm_endpoint.origin() {
            let host = host.to_ascii_lowercase();
            return Some(Scope::Vault(match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }));
        }
        let prefix = arm_endpoint.path().trim_end_matches('/');
        let path = url.path();
        let path = path.strip_prefix(prefix).filter(|rest| rest.is_empty() || rest.starts_with('/')).unwrap_or(path);
        let mut segments = path.split('/').filter(|segment| !segment.is_empty());
        let scope = match (segments.next(), segments.next()) {
            (Some(first), Some(id)) if first.eq_ignore_ascii_case("subscriptions") => {
                Scope::Subscription(id.to_ascii_lowercase())
            }
            (Some(first), Some(provider))
                if first.eq_ignore_ascii_case("providers")
                    && provider.eq_ignore_ascii_case("Microsoft.ResourceGraph") =>
            {
                Scope::Graph
            }
            _ => Scope::Tenant,
        };
        Some(scope)
    }

    fn kind(&self) -> ScopeKind {
        match self {
            Scope::Subscription(_) => ScopeKind::Subscription,
            Scope::Tenant => ScopeKind::Tenant,
            Scope::Graph => ScopeKind::Graph,
            Scope::Vault(_) => ScopeKind::Vault,
        }
    }
}

/// The AIMD arithmetic of one scope's cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AdaptiveCap {
    cap: usize,
    max: usize,
    /// Successes since the last change.
    successes: usize,
    /// Bumped on every decrease; requests admitted before it belong to the event already reacted to.
    epoch: u64,
}

impl AdaptiveCap {
    pub(crate) fn new(max: usize) -> Self {
        let max = max.max(1);
        Self { cap: max, max, successes: 0, epoch: 0 }
    }

    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// A 429/503 for a request admitted in `admitted_epoch`: halves the cap (min 1) once per congestion
    /// event. Returns the new cap when it changed.
    pub(crate) fn on_throttled(&mut self, admitted_epoch: u64) -> Option<usize> {
        self.successes = 0;
        if admitted_epoch != self.epoch {
            return None;
        }
        self.epoch += 1;
        let halved = (self.cap / 2).max(1);
        if halved == self.cap {
            return None;
        }
        self.cap = halved;
        Some(halved)
    }

    /// Any other answer: after `cap` successes in a row the cap grows by one, up to the maximum. Returns
    /// whether it grew.
    pub(crate) fn on_success(&mut self) -> bool {
        if self.cap >= self.max {
            self.successes = 0;
            return false;
        }
        self.successes += 1;
        if self.successes < self.cap {
            return false;
        }
        self.successes = 0;
        self.cap += 1;
        true
    }
}

const SUBSCRIPTION_READS: HeaderName = HeaderName::from_static("x-ms-ratelimit-remaining-subscription-reads");
const TENANT_READS: HeaderName = HeaderName::from_static("x-ms-ratelimit-remaining-tenant-reads");
const GRAPH_REMAINING: HeaderName = HeaderName::from_static("x-ms-user-quota-remaining");
const GRAPH_RESETS_AFTER: HeaderName = HeaderName::from_static("x-ms-user-quota-resets-after");
/// Resource Graph's documented window, used when a report names the remaining quota but not the reset.
const GRAPH_DEFAULT_WINDOW: Duration = Duration::from_secs(5);

/// The last ARM read quota reported for a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ReadsReport {
    remaining: u32,
    at: Instant,
    /// Requests admitted since the report (each will cost one read).
    admitted_since: u64,
}

/// The Resource Graph budget until the quota window resets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GraphWindow {
    budget: u32,
    resets_at: Instant,
    /// The remaining quota last reported, to tell a report of the same window (less or equal) from a new one.
    reported: u32,
}

/// What a quota header says about the next admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuotaDecision {
    /// Go now (a slot is taken).
    Go,
    /// A paced slot was taken: go at this instant.
    GoAt(Instant),
    /// Nothing taken: wait until this instant, then decide again.
    HoldUntil(Instant),
}

/// The per-scope state behind a gate's lock.
#[derive(Debug)]
pub(crate) struct GateState {
    kind: ScopeKind,
    cap: AdaptiveCap,
    /// Permits still to withdraw after a decrease; taken from requests as they finish.
    debt: usize,
    in_flight: usize,
    paused_until: Option<Instant>,
    reads: Option<ReadsReport>,
    next_paced_slot: Option<Instant>,
    graph: Option<GraphWindow>,
}

/// The rules quota decisions need from the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QuotaRules {
    pub(crate) min_remaining_reads: u32,
    pub(crate) reads_per_second: u32,
}

impl GateState {
    pub(crate) fn new(kind: ScopeKind, max: usize) -> Self {
        Self {
            kind,
            cap: AdaptiveCap::new(max),
            debt: 0,
            in_flight: 0,
            paused_until: None,
            reads: None,
            next_paced_slot: None,
            graph: None,
        }
    }

    /// The end of the scope's pause, if it is still paused at `now`.
    fn paused_at(&mut self, now: Instant) -> Option<Instant> {
        match self.paused_until {
            Some(until) if until > now => Some(until),
            _ => {
                self.paused_until = None;
                None
            }
        }
    }

    /// Pauses the scope until `now + wait` (an existing later pause stays). Returns the paused time added.
    pub(crate) fn pause(&mut self, now: Instant, wait: Duration) -> Duration {
        let until = now + wait;
        let added = match self.paused_at(now) {
            Some(current) => until.saturating_duration_since(current),
            None => wait,
        };
        if self.paused_until.is_none_or(|current| until > current) {
            self.paused_until = Some(until);
        }
        added
    }

    /// ARM reads this scope probably has left now, if ARM ever reported them.
    fn estimated_reads(&self, now: Instant, rules: QuotaRules) -> Option<u64> {
        let report = self.reads.as_ref()?;
        let elapsed_ms = now.saturating_duration_since(report.at).as_millis();
        let refilled =
            u64::try_from(elapsed_ms.saturating_mul(u128::from(rules.reads_per_second)) / 1000).unwrap_or(u64::MAX);
        Some(u64::from(report.remaining).saturating_add(refilled).saturating_sub(report.admitted_since))
    }

    /// Decides, from the quota headers seen, when the next request of this scope may go.
    pub(crate) fn decide_quota(&mut self, now: Instant, rules: QuotaRules) -> QuotaDecision {
        match self.kind {
            ScopeKind::Subscription | ScopeKind::Tenant => {
                let low =
                    self.estimated_reads(now, rules).is_some_and(|left| left < u64::from(rules.min_remaining_reads));
                if let Some(report) = &mut self.reads {
                    report.admitted_since += 1;
                }
                if !low {
                    return QuotaDecision::Go;
                }
                let interval = Duration::from_secs(1) / rules.reads_per_second.max(1);
                let slot = self.next_paced_slot.filter(|slot| *slot > now).unwrap_or(now);
                self.next_paced_slot = Some(slot + interval);
                if slot > now { QuotaDecision::GoAt(slot) } else { QuotaDecision::Go }
            }
            ScopeKind::Graph => match &mut self.graph {
                Some(window) if window.resets_at > now => {
                    if window.budget > 0 {
                        window.budget -= 1;
                        QuotaDecision::Go
                    } else {
                        QuotaDecision::HoldUntil(window.resets_at)
                    }
                }
                _ => {
                    self.graph = None;
                    QuotaDecision::Go
                }
            },
            ScopeKind::Vault => QuotaDecision::Go,
        }
    }

    /// Remembers the quota a response of this scope reports. `in_flight_others` is the number of requests of
    /// the scope still in flight besides the one answered.
    pub(crate) fn observe_quota(&mut self, now: Instant, headers: &Headers, in_flight_others: usize) {
        let number = |name: &HeaderName| headers.get_optional_str(name).and_then(|v| v.trim().parse::<u32>().ok());
        match self.kind {
            ScopeKind::Subscription | ScopeKind::Tenant => {
                let header = if self.kind == ScopeKind::Tenant { &TENANT_READS } else { &SUBSCRIPTION_READS };
                if let Some(remaining) = number(header) {
                    self.reads = Some(ReadsReport { remaining, at: now, admitted_since: 0 });
                }
            }
            ScopeKind::Graph => {
                if let Some(remaining) = number(&GRAPH_REMAINING) {
                    let resets_after = headers
                        .get_optional_str(&GRAPH_RESETS_AFTER)
                        .and_then(parse_resets_after)
                        .unwrap_or(GRAPH_DEFAULT_WINDOW);
                    let in_flight = u32::try_from(in_flight_others).unwrap_or(u32::MAX);
                    // Azure writes whole seconds, rounded up, so each report only bounds the reset from above.
                    // Reports of the same window (remaining did not go up) each give such a bound; the earliest
                    // is still never before the real reset, and is much closer to it than any one report.
                    let mut resets_at = now + resets_after;
                    if let Some(previous) = &self.graph
                        && previous.resets_at > now
                        && remaining <= previous.reported
                    {
                        resets_at = resets_at.min(previous.resets_at);
                    }
                    self.graph = Some(GraphWindow {
                        budget: remaining.saturating_sub(in_flight),
                        resets_at,
                        reported: remaining,
                    });
                }
            }
            ScopeKind::Vault => {}
        }
    }
}

/// `x-ms-user-quota-resets-after`: `hh:mm:ss`, seconds possibly with a fraction.
pub(crate) fn parse_resets_after(value: &str) -> Option<Duration> {
    let mut parts = value.trim().split(':');
    let (hours, minutes, seconds) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let hours: u64 = hours.parse().ok()?;
    let minutes: u64 = minutes.parse().ok()?;
    let seconds: f64 = seconds.parse().ok()?;
    if minutes >= 60 || !(0.0..60.0).contains(&seconds) {
        return None;
    }
    Some(Duration::from_secs(hours * 3600 + minutes * 60) + Duration::from_secs_f64(seconds))
}

/// One scope's permits and state.
#[derive(Debug)]
struct ScopeGate {
    kind: ScopeKind,
    permits: Arc<Semaphore>,
    state: Mutex<GateState>,
}

impl ScopeGate {
    fn new(kind: ScopeKind, max: usize) -> Self {
        Self { kind, permits: Arc::new(Semaphore::new(max)), state: Mutex::new(GateState::new(kind, max)) }
    }

    fn state(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Time one logical request spent waiting in the limiter, shared through the pipeline context between
/// [`BoundedRetryPolicy`](crate::policies::BoundedRetryPolicy), which puts it there and leaves it out of the
/// total deadline, and [`LimitPolicy`], which fills it.
#[derive(Debug, Default)]
pub(crate) struct QueueTime {
    state: Mutex<QueueState>,
}

#[derive(Debug, Default)]
struct QueueState {
    total: Duration,
    waiting_since: Option<Instant>,
}

impl QueueTime {
    /// Time queued so far (a wait still going on included), and whether a wait is going on.
    pub(crate) fn queued(&self, now: Instant) -> (Duration, bool) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match state.waiting_since {
            Some(since) => (state.total + now.saturating_duration_since(since), true),
            None => (state.total, false),
        }
    }

    fn begin(self: &Arc<Self>) -> QueueWait {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.waiting_since.is_none() {
            state.waiting_since = Some(Instant::now());
        }
        QueueWait { queue: self.clone() }
    }
}

/// Ends a wait recorded in a [`QueueTime`] when dropped (also when the waiting future is cancelled).
struct QueueWait {
    queue: Arc<QueueTime>,
}

impl Drop for QueueWait {
    fn drop(&mut self) {
        let mut state = self.queue.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(since) = state.waiting_since.take() {
            state.total += since.elapsed();
        }
    }
}

/// The limiter state of one client: the global cap, one gate per scope seen, and the statistics.
#[derive(Debug)]
pub(crate) struct Limiter {
    config: LimitConfig,
    rules: QuotaRules,
    retry_after_cap: Duration,
    arm_endpoint: Url,
    global: Arc<Semaphore>,
    gates: Mutex<HashMap<Scope, Arc<ScopeGate>>>,
    stats: Mutex<ThrottleStats>,
}

/// A request let through: holds a permit of its scope and one of the global cap until dropped.
#[derive(Debug)]
pub(crate) struct Admission {
    gate: Arc<ScopeGate>,
    /// The scope's decrease epoch when admitted.
    epoch: u64,
    scope_permit: Option<OwnedSemaphorePermit>,
    _global_permit: OwnedSemaphorePermit,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut state = self.gate.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.debt > 0 {
            state.debt -= 1;
            if let Some(permit) = self.scope_permit.take() {
                permit.forget();
            }
        }
    }
}

impl Limiter {
    pub(crate) fn new(
        config: LimitConfig,
        min_remaining_reads: u32,
        retry_after_cap: Duration,
        arm_endpoint: Url,
    ) -> Self {
        let rules = QuotaRules { min_remaining_reads, reads_per_second: config.arm_reads_per_second };
        Self {
            global: Arc::new(Semaphore::new(config.max_in_flight)),
            config,
            rules,
            retry_after_cap,
            arm_endpoint,
            gates: Mutex::new(HashMap::new()),
            stats: Mutex::new(ThrottleStats::default()),
        }
    }

    pub(crate) fn scope_of(&self, url: &Url) -> Option<Scope> {
        Scope::of(url, &self.arm_endpoint)
    }

    pub(crate) fn stats(&self) -> ThrottleStats {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn count(&self, kind: ScopeKind, update: impl FnOnce(&mut ScopeStats)) {
        let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        update(stats.of_kind(kind));
    }

    /// Counts a retry of a request to `url` (called by the retry policy).
    pub(crate) fn note_retry(&self, url: &Url) {
        if let Some(scope) = self.scope_of(url) {
            self.count(scope.kind(), |stats| stats.retries += 1);
        }
    }

    fn gate(&self, scope: &Scope) -> Arc<ScopeGate> {
        let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        gates
            .entry(scope.clone())
            .or_insert_with(|| {
                let kind = scope.kind();
                Arc::new(ScopeGate::new(kind, self.config.max_for(kind)))
            })
            .clone()
    }

    /// Waits until a request of `scope` may go (see the module documentation for the order), recording
    /// the wait in `queue`.
    pub(crate) async fn admit(&self, scope: &Scope, queue: Option<&Arc<QueueTime>>) -> azure_core::Result<Admission> {
        let gate = self.gate(scope);
        let _wait = queue.map(QueueTime::begin);
        let scope_permit = gate.permits.clone().acquire_owned().await.map_err(closed)?;
        let mut quota_counted = false;
        let mut slot_taken = false;
        loop {
            let paused = gate.state().paused_at(Instant::now());
            if let Some(until) = paused {
                tokio::time::sleep_until(until.into()).await;
                continue;
            }
            if !slot_taken {
                let decision = gate.state().decide_quota(Instant::now(), self.rules);
                let wait_until = match decision {
                    QuotaDecision::Go => {
                        slot_taken = true;
                        None
                    }
                    QuotaDecision::GoAt(at) => {
                        slot_taken = true;
                        Some(at)
                    }
                    QuotaDecision::HoldUntil(at) => Some(at),
                };
                if let Some(at) = wait_until {
                    if !quota_counted {
                        quota_counted = true;
                        self.count(gate.kind, |stats| stats.quota_waits += 1);
                        tracing::debug!(
                            ?scope,
                            wait_ms = at.saturating_duration_since(Instant::now()).as_millis(),
                            "quota low: waiting"
                        );
                    }
                    tokio::time::sleep_until(at.into()).await;
                    continue;
                }
            }
            let global_permit = self.global.clone().acquire_owned().await.map_err(closed)?;
            let mut state = gate.state();
            // A 429 of another request may have paused the scope while this one waited for the global cap.
            if state.paused_at(Instant::now()).is_some() {
                drop(state);
                drop(global_permit);
                continue;
            }
            state.in_flight += 1;
            let epoch = state.cap.epoch();
            drop(state);
            return Ok(Admission {
                gate: gate.clone(),
                epoch,
                scope_permit: Some(scope_permit),
                _global_permit: global_permit,
            });
        }
    }

    /// Learns from an answer: AIMD on the scope's cap, a pause on `Retry-After`, the quota headers.
    pub(crate) fn observe(&self, admission: &Admission, status: StatusCode, headers: &Headers, url: &Url) {
        let gate = &admission.gate;
        let now = Instant::now();
        let status = u16::from(status);
        let mut state = gate.state();
        let others = state.in_flight.saturating_sub(1);
        state.observe_quota(now, headers, others);
        if !matches!(status, 429 | 503) {
            if state.cap.on_success() {
                if state.debt > 0 {
                    state.debt -= 1;
                } else {
                    gate.permits.add_permits(1);
                }
            }
            return;
        }
        let before = state.cap.cap();
        if let Some(after) = state.cap.on_throttled(admission.epoch) {
            let withdraw = before - after;
            let withdrawn = gate.permits.forget_permits(withdraw);
            state.debt += withdraw - withdrawn;
            tracing::debug!(url = %loggable_url(url), status, cap = after, "throttled: scope concurrency halved");
        }
        let pause = retry_after(headers).map(|asked| asked.min(self.retry_after_cap));
        let paused = pause.map(|wait| state.pause(now, wait)).unwrap_or_default();
        drop(state);
        if let Some(wait) = pause {
            tracing::debug!(url = %loggable_url(url), status, wait_ms = wait.as_millis(), "throttled: scope paused");
        }
        self.count(gate.kind, |stats| {
            if status == 429 {
                stats.throttled_429 += 1;
            } else {
                stats.unavailable_503 += 1;
            }
            stats.paused += paused;
        });
    }
}

fn closed(_: tokio::sync::AcquireError) -> azure_core::Error {
    azure_core::Error::with_message(ErrorKind::Other, "the request limiter was closed")
}

/// The pipeline policy in front of the transport: admits each try through the [`Limiter`] and shows it the
/// answer. Placed last among the per-try policies before `PerTryTimeoutPolicy`.
#[derive(Debug)]
pub(crate) struct LimitPolicy {
    limiter: Arc<Limiter>,
}

impl LimitPolicy {
    pub(crate) fn new(limiter: Arc<Limiter>) -> Self {
        Self { limiter }
    }
}

#[async_trait::async_trait]
impl Policy for LimitPolicy {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        let Some(scope) = self.limiter.scope_of(request.url()) else {
            return next[0].send(ctx, request, &next[1..]).await;
        };
        let admission = self.limiter.admit(&scope, ctx.value::<Arc<QueueTime>>()).await?;
        let result = next[0].send(ctx, request, &next[1..]).await;
        if let Ok(response) = &result {
            self.limiter.observe(&admission, response.status(), response.headers(), request.url());
        }
        drop(admission);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cloud;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn scope(cloud: &Cloud, text: &str) -> Option<Scope> {
        Scope::of(&url(text), &cloud.arm_endpoint)
    }

    fn sub(id: &str) -> Option<Scope> {
        Some(Scope::Subscription(id.into()))
    }

    fn vault(host: &str) -> Option<Scope> {
        Some(Scope::Vault(host.into()))
    }

    #[test]
    fn arm_paths_name_a_subscription_the_tenant_or_graph() {
        let public = Cloud::public();
        let arm = "https://management.azure.com";
        for (path, expected) in [
            ("/subscriptions/0000-AAAA/providers/Microsoft.Storage/storageAccounts", sub("0000-aaaa")),
            ("/subscriptions/sub-1?api-version=2022-12-01", sub("sub-1")),
            ("/SUBSCRIPTIONS/Sub-1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v", sub("sub-1")),
            (
                "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v/providers/Microsoft.Authorization/roleAssignments",
                sub("sub-1"),
            ),
            // A saved Resource Graph query is an ordinary ARM resource of the subscription.
            ("/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.ResourceGraph/queries/q", sub("sub-1")),
            ("/subscriptions?api-version=2022-12-01", Some(Scope::Tenant)),
            ("/subscriptions/", Some(Scope::Tenant)),
            ("/", Some(Scope::Tenant)),
            ("/providers/Microsoft.Management/managementGroups/mg", Some(Scope::Tenant)),
            ("/providers/Microsoft.Authorization/roleDefinitions", Some(Scope::Tenant)),
            ("/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01", Some(Scope::Graph)),
            ("/providers/microsoft.resourcegraph/resources", Some(Scope::Graph)),
        ] {
            assert_eq!(scope(&public, &format!("{arm}{path}")), expected, "{path}");
        }
    }

    #[test]
    fn every_cloud_keeps_its_arm_host_apart_from_vault_hosts() {
        for cloud in [Cloud::public(), Cloud::china(), Cloud::us_government()] {
            let arm = cloud.arm_endpoint.as_str().trim_end_matches('/');
            assert_eq!(scope(&cloud, &format!("{arm}/subscriptions/S-1/providers/x")), sub("s-1"), "{}", cloud.name);
            assert_eq!(
                scope(&cloud, &format!("{arm}/providers/Microsoft.ResourceGraph/resources")),
                Some(Scope::Graph)
            );
            assert_eq!(scope(&cloud, &format!("{arm}/subscriptions")), Some(Scope::Tenant));
            let kv = format!("kv-1.{}", cloud.key_vault_dns_suffix);
            let hsm = format!("hsm-1.{}", cloud.managed_hsm_dns_suffix);
            assert_eq!(scope(&cloud, &format!("https://KV-1.{}/keys/k/", cloud.key_vault_dns_suffix)), vault(&kv));
            assert_eq!(
                scope(&cloud, &format!("https://{hsm}/providers/Microsoft.Authorization/roleAssignments")),
                vault(&hsm)
            );
        }
        // Another cloud's ARM host is not this cloud's ARM.
        assert_eq!(
            scope(&Cloud::china(), "https://management.azure.com/subscriptions/s"),
            vault("management.azure.com")
        );
        assert_eq!(scope(&Cloud::public(), "https://kv.vault.azure.net:8443/keys/k"), vault("kv.vault.azure.net:8443"));
    }

    #[test]
    fn custom_clouds_with_and_without_a_path_prefix() {
        let stack = Cloud::custom(
            "stack",
            "https://management.local.azurestack.external/",
            "https://login.local/",
            "https://management.local.azurestack.external/.default",
            "vault.local.azurestack.external",
            "managedhsm.local",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(scope(&stack, "https://management.local.azurestack.external/subscriptions/X/y"), sub("x"));
        assert_eq!(
            scope(&stack, "https://kv.vault.local.azurestack.external/keys/k"),
            vault("kv.vault.local.azurestack.external")
        );
        assert_eq!(scope(&stack, "https://h.managedhsm.local/"), vault("h.managedhsm.local"));
        let prefixed =
            Cloud::custom("p", "https://arm.example/azure/", "https://login/", "s", "vault.example", "hsm.example")
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(scope(&prefixed, "https://arm.example/azure/subscriptions/S/x"), sub("s"));
        assert_eq!(
            scope(&prefixed, "https://arm.example/azure/providers/Microsoft.ResourceGraph/resources"),
            Some(Scope::Graph)
        );
        assert_eq!(scope(&prefixed, "https://arm.example/azure"), Some(Scope::Tenant));
    }

    #[test]
    fn the_cap_halves_once_per_congestion_event_and_never_below_one() {
        let mut cap = AdaptiveCap::new(16);
        assert_eq!(cap.cap(), 16);
        let first = cap.epoch();
        assert_eq!(cap.on_throttled(first), Some(8));
        // Fifteen more 429s from requests sent before the decrease: the same event.
        for _ in 0..15 {
            assert_eq!(cap.on_throttled(first), None);
        }
        assert_eq!(cap.cap(), 8);
        for expected in [4, 2, 1] {
            assert_eq!(cap.on_throttled(cap.epoch()), Some(expected));
        }
        assert_eq!(cap.on_throttled(cap.epoch()), None, "1 is the floor");
        assert_eq!(cap.cap(), 1);
        assert_eq!(AdaptiveCap::new(0).cap(), 1);
    }

    #[test]
    fn the_cap_grows_by_one_per_window_of_successes_up_to_the_maximum() {
        let mut cap = AdaptiveCap::new(4);
        assert_eq!(cap.on_throttled(0), Some(2));
        assert!(!cap.on_success());
        assert!(cap.on_success(), "two successes at cap 2 grow it");
        assert_eq!(cap.cap(), 3);
        assert!(!cap.on_success());
        assert!(!cap.on_success());
        // A 429 in the middle of a run starts the run again.
        assert_eq!(cap.on_throttled(cap.epoch()), Some(1));
        assert!(cap.on_success());
        assert_eq!(cap.cap(), 2);
        for _ in 0..100 {
            cap.on_success();
        }
        assert_eq!(cap.cap(), 4, "never above the maximum");
        assert!(!cap.on_success());
    }

    const RULES: QuotaRules = QuotaRules { min_remaining_reads: 20, reads_per_second: 25 };

    fn headers(pairs: &[(&'static str, &str)]) -> Headers {
        let mut headers = Headers::new();
        for (name, value) in pairs {
            headers.insert(HeaderName::from_static(name), value.to_string());
        }
        headers
    }

    #[test]
    fn low_arm_reads_release_one_request_per_refill_interval() {
        let mut gate = GateState::new(ScopeKind::Subscription, 16);
        let t0 = Instant::now();
        assert_eq!(gate.decide_quota(t0, RULES), QuotaDecision::Go, "nothing reported yet");
        gate.observe_quota(t0, &headers(&[("x-ms-ratelimit-remaining-subscription-reads", "200")]), 0);
        assert_eq!(gate.decide_quota(t0, RULES), QuotaDecision::Go);
        gate.observe_quota(t0, &headers(&[("x-ms-ratelimit-remaining-subscription-reads", "5")]), 0);
        let step = Duration::from_millis(40);
        assert_eq!(gate.decide_quota(t0, RULES), QuotaDecision::Go, "the first paced request goes at once");
        assert_eq!(gate.decide_quota(t0, RULES), QuotaDecision::GoAt(t0 + step));
        assert_eq!(gate.decide_quota(t0, RULES), QuotaDecision::GoAt(t0 + step * 2));
        // The tenant header says nothing about a subscription.
        let mut tenant_only = GateState::new(ScopeKind::Subscription, 16);
        tenant_only.observe_quota(t0, &headers(&[("x-ms-ratelimit-remaining-tenant-reads", "1")]), 0);
        assert_eq!(tenant_only.decide_quota(t0, RULES), QuotaDecision::Go);
        assert_eq!(tenant_only.decide_quota(t0, RULES), QuotaDecision::Go);
    }

    #[test]
    fn the_read_estimate_counts_refill_and_admissions_since_the_report() {
        let mut gate = GateState::new(ScopeKind::Tenant, 8);
        let t0 = Instant::now();
        gate.observe_quota(t0, &headers(&[("x-ms-ratelimit-remaining-tenant-reads", "22")]), 0);
        assert_eq!(gate.decide_quota(t0, RULES), QuotaDecision::Go);
        assert_eq!(gate.decide_quota(t0, RULES), QuotaDecision::Go);
        assert_eq!(gate.estimated_reads(t0, RULES), Some(20));
        assert_eq!(gate.decide_quota(t0, RULES), QuotaDecision::Go, "20 left: not yet low");
        assert_eq!(gate.estimated_reads(t0, RULES), Some(19));
        assert_eq!(gate.decide_quota(t0, RULES), QuotaDecision::Go, "first paced slot is now");
        assert!(matches!(gate.decide_quota(t0, RULES), QuotaDecision::GoAt(_)));
        // One second later the bucket has refilled by 25: no pacing.
        let later = t0 + Duration::from_secs(1);
        assert_eq!(gate.estimated_reads(later, RULES), Some(22 + 25 - 5));
        let mut fresh = GateState::new(ScopeKind::Tenant, 8);
        fresh.observe_quota(t0, &headers(&[("x-ms-ratelimit-remaining-tenant-reads", "0")]), 0);
        assert_eq!(fresh.decide_quota(later, RULES), QuotaDecision::Go);
    }

    #[test]
    fn graph_holds_when_the_budget_is_spent_until_the_reset() {
        let mut gate = GateState::new(ScopeKind::Graph, 1);
        let t0 = Instant::now();
        let report = |remaining: &str| {
            headers(&[("x-ms-user-quota-remaining", remaining), ("x-ms-user-quota-resets-after", "00:00:03")])
        };
        gate.observe_quota(t0, &report("2"), 0);
        assert_eq!(gate.decide_quota(t0, RULES), QuotaDecision::Go);
        assert_eq!(gate.decide_quota(t0, RULES), QuotaDecision::Go);
        let reset = t0 + Duration::from_secs(3);
        assert_eq!(gate.decide_quota(t0, RULES), QuotaDecision::HoldUntil(reset));
        assert_eq!(gate.decide_quota(t0, RULES), QuotaDecision::HoldUntil(reset), "a hold takes nothing");
        assert_eq!(gate.decide_quota(reset, RULES), QuotaDecision::Go, "the window reset");
        // Queries still in flight will each use one of the remaining quota.
        gate.observe_quota(t0, &report("3"), 3);
        assert_eq!(gate.decide_quota(t0, RULES), QuotaDecision::HoldUntil(reset));
        gate.observe_quota(t0, &report("0"), 0);
        assert_eq!(gate.decide_quota(t0, RULES), QuotaDecision::HoldUntil(reset));
        // Remaining without a reset, in a new window (remaining went up): Resource Graph's 5 s window.
        gate.observe_quota(t0, &headers(&[("x-ms-user-quota-remaining", "14")]), 0);
        gate.observe_quota(t0, &headers(&[("x-ms-user-quota-remaining", "0")]), 0);
        assert_eq!(gate.decide_quota(t0, RULES), QuotaDecision::HoldUntil(t0 + GRAPH_DEFAULT_WINDOW));
        // A vault has no quota headers.
        let mut vault = GateState::new(ScopeKind::Vault, 16);
        vault.observe_quota(t0, &report("0"), 0);
        assert_eq!(vault.decide_quota(t0, RULES), QuotaDecision::Go);
    }

    #[test]
    fn reports_of_one_window_narrow_its_reset() {
        let mut gate = GateState::new(ScopeKind::Graph, 1);
        let t0 = Instant::now();
        let report = |remaining: &str, resets: &str| {
            headers(&[("x-ms-user-quota-remaining", remaining), ("x-ms-user-quota-resets-after", resets)])
        };
        // A window of 5 s opened just before t0: 4.8 s left rounds up to 5, then 0.7 s later 4.1 s left → 5.
        gate.observe_quota(t0, &report("14", "00:00:05"), 0);
        gate.observe_quota(t0 + Duration::from_millis(700), &report("13", "00:00:05"), 0);
        // 1.1 s after t0, 3.7 s left → 4: the reset is at most t0 + 5.1 s, earlier than the first report said.
        gate.observe_quota(t0 + Duration::from_millis(1100), &report("0", "00:00:04"), 0);
        let bound = t0 + Duration::from_millis(5000);
        assert_eq!(gate.decide_quota(t0 + Duration::from_millis(1100), RULES), QuotaDecision::HoldUntil(bound));
        // A later report with more remaining is a new window: its own bound, not the old one.
        gate.observe_quota(bound, &report("14", "00:00:05"), 0);
        assert_eq!(gate.graph.as_ref().map(|w| w.resets_at), Some(bound + Duration::from_secs(5)));
    }

    #[test]
    fn resets_after_is_hh_mm_ss() {
        assert_eq!(parse_resets_after("00:00:01"), Some(Duration::from_secs(1)));
        assert_eq!(parse_resets_after(" 01:02:03 "), Some(Duration::from_secs(3723)));
        assert_eq!(parse_resets_after("00:00:04.5"), Some(Duration::from_millis(4500)));
        for bad in ["", "5", "00:05", "00:60:00", "00:00:60", "a:b:c", "00:00:01:00", "-1:00:00"] {
            assert_eq!(parse_resets_after(bad), None, "{bad}");
        }
    }

    #[test]
    fn overlapping_pauses_are_counted_once() {
        let mut gate = GateState::new(ScopeKind::Vault, 16);
        let t0 = Instant::now();
        assert_eq!(gate.pause(t0, Duration::from_secs(2)), Duration::from_secs(2));
        assert_eq!(gate.pause(t0 + Duration::from_secs(1), Duration::from_secs(3)), Duration::from_secs(2));
        assert_eq!(gate.pause(t0, Duration::from_secs(1)), Duration::ZERO, "a shorter pause changes nothing");
        assert_eq!(gate.paused_at(t0), Some(t0 + Duration::from_secs(4)));
        assert_eq!(gate.paused_at(t0 + Duration::from_secs(4)), None);
        assert_eq!(gate.pause(t0 + Duration::from_secs(10), Duration::from_secs(1)), Duration::from_secs(1));
    }

    fn limiter(config: LimitConfig) -> Limiter {
        Limiter::new(config, 20, Duration::from_secs(30), Cloud::public().arm_endpoint)
    }

    #[tokio::test]
    async fn a_decrease_withdraws_free_permits_now_and_busy_ones_as_they_finish() {
        let limiter = limiter(LimitConfig { per_vault: 4, ..LimitConfig::default() });
        let scope = Scope::Vault("kv.vault.azure.net".into());
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(limiter.admit(&scope, None).await.unwrap_or_else(|e| panic!("{e}")));
        }
        let gate = limiter.gate(&scope);
        assert_eq!(gate.permits.available_permits(), 1);
        let any = url("https://kv.vault.azure.net/keys/k");
        limiter.observe(&held[0], StatusCode::TooManyRequests, &Headers::new(), &any);
        // 4 → 2: the free permit is withdrawn now, one more when a busy request finishes.
        assert_eq!(gate.permits.available_permits(), 0);
        for admission in &held[1..] {
            limiter.observe(admission, StatusCode::TooManyRequests, &Headers::new(), &any);
        }
        assert_eq!(gate.state().cap.cap(), 2, "the other 429s were the same event");
        held.clear();
        assert_eq!(gate.permits.available_permits(), 2);
        let stats = limiter.stats();
        assert_eq!(stats.vault.throttled_429, 3);
        assert_eq!(stats.vault.paused, Duration::ZERO, "no Retry-After, no pause");
        assert_eq!(stats.total().throttled_429, 3);
        // Two successes at cap 2 grow it back to 3.
        for _ in 0..2 {
            let admission = limiter.admit(&scope, None).await.unwrap_or_else(|e| panic!("{e}"));
            limiter.observe(&admission, StatusCode::Ok, &Headers::new(), &any);
        }
        assert_eq!(gate.state().cap.cap(), 3);
        assert_eq!(gate.permits.available_permits(), 3);
    }

    #[tokio::test]
    async fn a_retry_after_pauses_only_its_scope_and_is_counted() {
        let limiter = limiter(LimitConfig::default());
        let throttled = Scope::Subscription("a".into());
        let admission = limiter.admit(&throttled, None).await.unwrap_or_else(|e| panic!("{e}"));
        let any = url("https://management.azure.com/subscriptions/a");
        limiter.observe(&admission, StatusCode::ServiceUnavailable, &headers(&[("retry-after", "600")]), &any);
        drop(admission);
        assert!(limiter.gate(&throttled).state().paused_at(Instant::now()).is_some());
        let stats = limiter.stats();
        assert_eq!(stats.subscription.unavailable_503, 1);
        assert_eq!(stats.subscription.paused, Duration::from_secs(30), "600 s asked, capped at 30 s");
        // Another subscription is admitted while `a` is paused.
        let other = limiter.admit(&Scope::Subscription("b".into()), None).await;
        assert!(other.is_ok());
        limiter.note_retry(&any);
        assert_eq!(limiter.stats().subscription.retries, 1);
        let shown = limiter.stats().to_string();
        assert_eq!(shown, "subscription: 0 x 429, 1 x 503, 1 retries, paused 30.0s, 0 quota waits");
    }

    #[test]
    fn limits_are_validated() {
        assert!(LimitConfig::default().validate().is_ok());
        assert!(LimitConfig { graph: 0, ..LimitConfig::default() }.validate().is_err());
        assert!(LimitConfig { max_in_flight: 0, ..LimitConfig::default() }.validate().is_err());
        assert!(LimitConfig { arm_reads_per_second: 0, ..LimitConfig::default() }.validate().is_err());
    }
}
