//! Azure's throttling rules, each its own limiter with its own buckets: ARM reads (token bucket of 250 per
//! subscription, and one for tenant-level reads, refilled at 25 per second), the storage resource provider's
//! list operations (100 `storageAccounts` list requests per 5 minutes per subscription, a fixed window that
//! opens with the first request), Resource Graph (15 queries per 5-second window per principal), and the Key
//! Vault / Managed HSM data plane (4,000 operations per 10 seconds per vault; 1,100 per second per managed HSM).
//! Each limiter counts what it admitted and what it throttled per bucket; [`SimStats::throttling_floor`] turns
//! those counts into the least wall time the quotas allow. Limiters run on real time (`Instant`), since the
//! clients they pace wait in real time; the functions take `now` so tests can drive them without waiting.
//!
//! [`SimStats::throttling_floor`]: crate::SimStats::throttling_floor

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which Azure quota a limiter models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LimitKind {
    /// ARM reads: token bucket of 250, refilled at 25 per second, per subscription (tenant-level reads share
    /// one bucket keyed `tenant`).
    ArmReads,
    /// Storage resource provider: 100 `storageAccounts` list requests (every page) per 5 minutes per
    /// subscription, a fixed window.
    StorageList,
    /// Resource Graph: 15 queries (every page) per 5-second fixed window per principal (object id).
    Graph,
    /// Key Vault data plane: 4,000 operations per 10-second fixed window per vault.
    KeyVault,
    /// Managed HSM data plane: 1,100 operations per 1-second fixed window per HSM.
    ManagedHsm,
}

impl LimitKind {
    /// The name used in reports: `arm_reads`, `storage_list`, `graph`, `key_vault`, `managed_hsm`.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::ArmReads => "arm_reads",
            LimitKind::StorageList => "storage_list",
            LimitKind::Graph => "graph",
            LimitKind::KeyVault => "key_vault",
            LimitKind::ManagedHsm => "managed_hsm",
        }
    }

    /// The rule the limiter enforces.
    pub(crate) fn rule(self) -> Rule {
        match self {
            LimitKind::ArmReads => Rule::TokenBucket { capacity: 250, refill_per_second: 25 },
            LimitKind::StorageList => Rule::FixedWindow { limit: 100, window: Duration::from_secs(300) },
            LimitKind::Graph => Rule::FixedWindow { limit: 15, window: Duration::from_secs(5) },
            LimitKind::KeyVault => Rule::FixedWindow { limit: 4_000, window: Duration::from_secs(10) },
            LimitKind::ManagedHsm => Rule::FixedWindow { limit: 1_100, window: Duration::from_secs(1) },
        }
    }
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a limiter decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Holds at most `capacity` requests, refilled continuously at `refill_per_second`.
    TokenBucket { capacity: u64, refill_per_second: u64 },
    /// At most `limit` requests per `window`; a window opens with the first request after the previous one
    /// closed.
    FixedWindow { limit: u64, window: Duration },
}

impl Rule {
    /// The least time `admitted` requests need under this rule: token bucket `max(0, (n - C) / r)`; fixed
    /// window `((n - 1) / W) * T` for `n > 0` (integer division: the n-th request falls in that window).
    pub(crate) fn floor(self, admitted: u64) -> Duration {
        match self {
            Rule::TokenBucket { capacity, refill_per_second } => {
                let over = admitted.saturating_sub(capacity);
                if refill_per_second == 0 {
                    return Duration::ZERO;
                }
                Duration::from_secs_f64(over as f64 / refill_per_second as f64)
            }
            Rule::FixedWindow { limit, window } => match admitted.checked_sub(1) {
                None => Duration::ZERO,
                Some(before) => window.saturating_mul(u32::try_from(before / limit.max(1)).unwrap_or(u32::MAX)),
            },
        }
    }
}

/// One bucket's counts since start: which limiter, which bucket, how many requests it let through and how
/// many it answered 429.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LimitStats {
    /// The quota.
    pub kind: LimitKind,
    /// The bucket: a subscription id (lower case) or `tenant` for ARM reads, a subscription id for storage
    /// lists, the principal's object id for Resource Graph, the vault or managed HSM name for the data plane.
    pub key: String,
    /// Requests the limiter let through.
    pub admitted: u64,
    /// Requests the limiter answered with 429.
    pub throttled: u64,
}

impl LimitStats {
    /// The least wall time this bucket's rule allows for its admitted requests (see [`ThrottlingFloor`]).
    pub fn floor(&self) -> Duration {
        self.kind.rule().floor(self.admitted)
    }
}

/// The least wall time Azure's quotas allow for the requests a run made: the maximum, over every bucket, of
/// that bucket's floor — token bucket of capacity C refilled at r per second: `max(0, (n - C) / r)` seconds;
/// fixed window of W requests per T: `((n - 1) / W) * T` for n > 0 (integer division).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottlingFloor {
    /// The floor; zero when no bucket admitted anything beyond its burst.
    pub wall_time: Duration,
    /// The bucket that sets it (kind, key and admitted count); `None` when no request reached a limiter.
    pub set_by: Option<LimitStats>,
}

impl ThrottlingFloor {
    /// The floor over `buckets` (the one with the largest floor; ties go to the first in order).
    pub(crate) fn over(buckets: &[LimitStats]) -> ThrottlingFloor {
        let mut best: Option<(&LimitStats, Duration)> = None;
        for bucket in buckets {
            let floor = bucket.floor();
            if best.is_none_or(|(_, f)| floor > f) {
                best = Some((bucket, floor));
            }
        }
        match best {
            Some((bucket, wall_time)) => ThrottlingFloor { wall_time, set_by: Some(bucket.clone()) },
            None => ThrottlingFloor { wall_time: Duration::ZERO, set_by: None },
        }
    }
}

/// What a limiter answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Take {
    /// Served; this many requests remain (token bucket: whole tokens; window: requests left in it), and the
    /// window resets after this long (token bucket: until full).
    Granted { remaining: u64, resets_after: Duration },
    /// Throttled: retry after this many whole seconds (at least 1); the window resets after `resets_after`.
    Throttled { retry_after: u64, resets_after: Duration },
}

#[derive(Debug)]
enum State {
    Tokens { tokens: f64, at: Instant },
    Window { opened: Instant, used: u64 },
}

#[derive(Debug)]
struct Bucket {
    state: State,
    admitted: u64,
    throttled: u64,
}

/// One quota: its rule and a bucket per key.
#[derive(Debug)]
pub(crate) struct Limiter {
    kind: LimitKind,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Limiter {
    pub(crate) fn new(kind: LimitKind) -> Limiter {
        Limiter { kind, buckets: Mutex::new(HashMap::new()) }
    }

    /// Spend one request from `key`'s bucket, counting it as admitted or throttled.
    pub(crate) fn take(&self, key: &str) -> Take {
        self.take_at(key, Instant::now())
    }

    pub(crate) fn take_at(&self, key: &str, now: Instant) -> Take {
        let rule = self.kind.rule();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(key.to_string()).or_insert_with(|| Bucket {
            state: fresh(rule, now),
            admitted: 0,
            throttled: 0,
        });
        let take = spend(rule, &mut bucket.state, now);
        match take {
            Take::Granted { .. } => bucket.admitted += 1,
            Take::Throttled { .. } => bucket.throttled += 1,
        }
        take
    }

    /// What `key`'s bucket has left now, without spending: `(remaining, resets_after)`.
    pub(crate) fn peek(&self, key: &str) -> (u64, Duration) {
        let now = Instant::now();
        let rule = self.kind.rule();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        match buckets.get_mut(key) {
            Some(bucket) => {
                catch_up(rule, &mut bucket.state, now);
                left(rule, &bucket.state, now)
            }
            None => left(rule, &fresh(rule, now), now),
        }
    }

    /// Counts per bucket, sorted by key.
    pub(crate) fn stats(&self) -> Vec<LimitStats> {
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<LimitStats> = buckets
            .iter()
            .map(|(key, b)| LimitStats {
                kind: self.kind,
                key: key.clone(),
                admitted: b.admitted,
                throttled: b.throttled,
            })
            .collect();
        out.sort();
        out
    }
}

fn fresh(rule: Rule, now: Instant) -> State {
    match rule {
        Rule::TokenBucket { capacity, .. } => State::Tokens { tokens: capacity as f64, at: now },
        Rule::FixedWindow { .. } => State::Window { opened: now, used: 0 },
    }
}

/// Refill a token bucket, or open a new window once the old one has closed.
fn catch_up(rule: Rule, state: &mut State, now: Instant) {
    match (rule, state) {
        (Rule::TokenBucket { capacity, refill_per_second }, State::Tokens { tokens, at }) => {
            let elapsed = now.saturating_duration_since(*at).as_secs_f64();
            *tokens = (*tokens + elapsed * refill_per_second as f64).min(capacity as f64);
            *at = now;
        }
        (Rule::FixedWindow { window, .. }, State::Window { opened, used })
            if now.saturating_duration_since(*opened) >= window =>
        {
            *opened = now;
            *used = 0;
        }
        // A bucket is always created with its rule's state; nothing to do otherwise.
        _ => {}
    }
}

fn left(rule: Rule, state: &State, now: Instant) -> (u64, Duration) {
    match (rule, state) {
        (Rule::TokenBucket { capacity, refill_per_second }, State::Tokens { tokens, .. }) => {
            let missing = (capacity as f64 - tokens).max(0.0);
            let to_full = if refill_per_second == 0 { 0.0 } else { missing / refill_per_second as f64 };
            (whole(*tokens), Duration::from_secs_f64(to_full))
        }
        (Rule::FixedWindow { limit, window }, State::Window { opened, used }) => {
            (limit.saturating_sub(*used), (*opened + window).saturating_duration_since(now))
        }
        _ => (0, Duration::ZERO),
    }
}

fn spend(rule: Rule, state: &mut State, now: Instant) -> Take {
    catch_up(rule, state, now);
    let admitted = match state {
        State::Tokens { tokens, .. } if *tokens >= 1.0 => {
            *tokens -= 1.0;
            true
        }
        State::Window { used, .. } if matches!(rule, Rule::FixedWindow { limit, .. } if *used < limit) => {
            *used += 1;
            true
        }
        _ => false,
    };
    let (remaining, resets_after) = left(rule, state, now);
    if admitted {
        return Take::Granted { remaining, resets_after };
    }
    let wait = match (rule, &*state) {
        (Rule::TokenBucket { refill_per_second, .. }, State::Tokens { tokens, .. }) if refill_per_second > 0 => {
            Duration::from_secs_f64((1.0 - tokens).max(0.0) / refill_per_second as f64)
        }
        _ => resets_after,
    };
    Take::Throttled { retry_after: whole_seconds_up(wait).max(1), resets_after }
}

fn whole(x: f64) -> u64 {
    if x.is_finite() && x > 0.0 {
        // Bounded by a rule's capacity, so the conversion cannot overflow.
        x.floor() as u64
    } else {
        0
    }
}

/// Seconds, rounded up: a client told to wait 4 s for a window that frees in 4.2 s would come back too early.
pub(crate) fn whole_seconds_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// `hh:mm:ss`, as Resource Graph writes `x-ms-user-quota-resets-after`.
pub(crate) fn hh_mm_ss(d: Duration) -> String {
    let s = whole_seconds_up(d);
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// Every limiter of one running simulator.
#[derive(Debug)]
pub(crate) struct Limits {
    pub(crate) arm_reads: Limiter,
    pub(crate) storage_list: Limiter,
    pub(crate) graph: Limiter,
    pub(crate) key_vault: Limiter,
    pub(crate) managed_hsm: Limiter,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            arm_reads: Limiter::new(LimitKind::ArmReads),
            storage_list: Limiter::new(LimitKind::StorageList),
            graph: Limiter::new(LimitKind::Graph),
            key_vault: Limiter::new(LimitKind::KeyVault),
            managed_hsm: Limiter::new(LimitKind::ManagedHsm),
        }
    }
}

impl Limits {
    /// Every bucket of every limiter, sorted by kind then key.
    pub(crate) fn stats(&self) -> Vec<LimitStats> {
        let mut out = Vec::new();
        for limiter in [&self.arm_reads, &self.storage_list, &self.graph, &self.key_vault, &self.managed_hsm] {
            out.extend(limiter.stats());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(kind: LimitKind, key: &str, admitted: u64) -> LimitStats {
        LimitStats { kind, key: key.into(), admitted, throttled: 0 }
    }

    #[test]
    fn token_bucket_counts_down_from_249_and_throttles_when_empty() {
        let q = Limiter::new(LimitKind::ArmReads);
        let t0 = Instant::now();
        assert!(matches!(q.take_at("a", t0), Take::Granted { remaining: 249, .. }));
        assert!(matches!(q.take_at("a", t0), Take::Granted { remaining: 248, .. }));
        assert!(matches!(q.take_at("b", t0), Take::Granted { remaining: 249, .. }));
        for _ in 0..248 {
            assert!(matches!(q.take_at("a", t0), Take::Granted { .. }));
        }
        assert_eq!(q.take_at("a", t0), Take::Throttled { retry_after: 1, resets_after: Duration::from_secs(10) });
        // 25 per second: after 1 s, 25 more.
        let t1 = t0 + Duration::from_secs(1);
        for _ in 0..25 {
            assert!(matches!(q.take_at("a", t1), Take::Granted { .. }));
        }
        assert!(matches!(q.take_at("a", t1), Take::Throttled { .. }));
        let a = q.stats().into_iter().find(|s| s.key == "a").unwrap_or_else(|| stats(LimitKind::ArmReads, "", 0));
        assert_eq!((a.admitted, a.throttled), (275, 2));
    }

    #[test]
    fn fixed_window_admits_its_limit_then_reopens() {
        let g = Limiter::new(LimitKind::Graph);
        let t0 = Instant::now();
        for left in (0..15).rev() {
            assert_eq!(g.take_at("p", t0), Take::Granted { remaining: left, resets_after: Duration::from_secs(5) });
        }
        let t1 = t0 + Duration::from_millis(3_200);
        assert_eq!(
            g.take_at("p", t1),
            Take::Throttled { retry_after: 2, resets_after: Duration::from_millis(1_800) },
            "retry when the window frees, rounded up"
        );
        assert!(matches!(g.take_at("q", t1), Take::Granted { remaining: 14, .. }), "other principals unaffected");
        let t2 = t0 + Duration::from_secs(5);
        assert!(matches!(g.take_at("p", t2), Take::Granted { remaining: 14, .. }), "a new window");
    }

    #[test]
    fn floor_formulas() {
        let bucket = LimitKind::ArmReads.rule();
        assert_eq!(bucket.floor(0), Duration::ZERO);
        assert_eq!(bucket.floor(250), Duration::ZERO);
        assert_eq!(bucket.floor(300), Duration::from_secs(2));
        assert_eq!(bucket.floor(1_250), Duration::from_secs(40));
        let graph = LimitKind::Graph.rule();
        assert_eq!(graph.floor(0), Duration::ZERO);
        assert_eq!(graph.floor(1), Duration::ZERO);
        assert_eq!(graph.floor(15), Duration::ZERO);
        assert_eq!(graph.floor(16), Duration::from_secs(5));
        assert_eq!(graph.floor(101), Duration::from_secs(30));
        let storage = LimitKind::StorageList.rule();
        assert_eq!(storage.floor(100), Duration::ZERO);
        assert_eq!(storage.floor(201), Duration::from_secs(600));
        assert_eq!(LimitKind::KeyVault.rule().floor(8_001), Duration::from_secs(20));
        assert_eq!(LimitKind::ManagedHsm.rule().floor(2_200), Duration::from_secs(1));
    }

    #[test]
    fn the_floor_is_the_slowest_bucket() {
        assert_eq!(ThrottlingFloor::over(&[]), ThrottlingFloor { wall_time: Duration::ZERO, set_by: None });
        let buckets = [
            stats(LimitKind::ArmReads, "sub-a", 500),   // 10 s
            stats(LimitKind::Graph, "principal", 46),   // 15 s
            stats(LimitKind::KeyVault, "kv-a", 4_000),  // 0 s
            stats(LimitKind::StorageList, "sub-a", 99), // 0 s
        ];
        let floor = ThrottlingFloor::over(&buckets);
        assert_eq!(floor.wall_time, Duration::from_secs(15));
        assert_eq!(floor.set_by, Some(buckets[1].clone()));
    }

    #[test]
    fn hh_mm_ss_rounds_up() {
        assert_eq!(hh_mm_ss(Duration::from_millis(4_100)), "00:00:05");
        assert_eq!(hh_mm_ss(Duration::from_secs(3_725)), "01:02:05");
        assert_eq!(hh_mm_ss(Duration::ZERO), "00:00:00");
    }
}
