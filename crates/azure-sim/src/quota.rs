//! ARM's read quota, simply modelled: a token bucket of 250 reads per subscription (and one for tenant-level
//! reads), refilled at 25 per second of real time. Each ARM read reports what is left in
//! `x-ms-ratelimit-remaining-subscription-reads`; an empty bucket answers 429 with `Retry-After`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

const CAPACITY: f64 = 250.0;
const REFILL_PER_SECOND: f64 = 25.0;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * REFILL_PER_SECOND).min(CAPACITY);
        self.at = now;
    }
}

/// What a read costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Take {
    /// Served; this many reads remain.
    Granted { remaining: u64 },
    /// Throttled; retry after this many seconds.
    Throttled { retry_after: u64 },
}

/// Read buckets keyed by `sub/<id>` or `tenant`.
#[derive(Debug, Default)]
pub(crate) struct ReadQuota {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl ReadQuota {
    /// Spend one read from `key`'s bucket.
    pub(crate) fn take(&self, key: &str) -> Take {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket { tokens: CAPACITY, at: now });
        bucket.refill(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Take::Granted { remaining: floor_u64(bucket.tokens) }
        } else {
            let wait = ((1.0 - bucket.tokens) / REFILL_PER_SECOND).ceil();
            Take::Throttled { retry_after: floor_u64(wait).max(1) }
        }
    }

    /// Reads left in `key`'s bucket, without spending one.
    pub(crate) fn remaining(&self, key: &str) -> u64 {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        match buckets.get_mut(key) {
            Some(bucket) => {
                bucket.refill(now);
                floor_u64(bucket.tokens)
            }
            None => floor_u64(CAPACITY),
        }
    }
}

fn floor_u64(x: f64) -> u64 {
    if x.is_finite() && x > 0.0 {
        // Bounded by CAPACITY, so the conversion cannot overflow.
        x.floor() as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_from_249_and_throttles_when_empty() {
        let q = ReadQuota::default();
        assert_eq!(q.take("sub/a"), Take::Granted { remaining: 249 });
        assert_eq!(q.take("sub/a"), Take::Granted { remaining: 248 });
        assert_eq!(q.take("sub/b"), Take::Granted { remaining: 249 });
        let mut throttled = false;
        for _ in 0..400 {
            if let Take::Throttled { retry_after } = q.take("sub/a") {
                assert!(retry_after >= 1);
                throttled = true;
                break;
            }
        }
        assert!(throttled, "an empty bucket throttles");
    }
}
