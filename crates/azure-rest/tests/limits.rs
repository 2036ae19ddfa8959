//! The limiter through the real client against a fake Azure on 127.0.0.1: a throttled scope pauses alone,
//! quota headers keep counting fakes from ever refusing, caps hold per scope, and queueing is neither a
//! failed try nor a spent deadline. Assertions are on arrival order and counts, never on durations.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use azure_rest::{AzureClient, LimitConfig, RetryConfig};
use futures::future::join_all;
use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use support::{FakeAzure, Reply, Seen, bounded, fast_retry};

const ARM_HOST: &str = "management.azure.com";
const API: &str = "2025-06-01";

fn path_of(subscription: &str, n: usize) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a{n}")
}

fn subscription_of(seen: &Seen) -> Option<&str> {
    (seen.host == ARM_HOST).then(|| seen.path.split('/').nth(2)).flatten()
}

fn with_limits(limits: LimitConfig) -> RetryConfig {
    RetryConfig { limits, ..fast_retry() }
}

/// Gets `count` resources of `subscription` at once; every answer must be a success.
async fn get_many(client: &AzureClient, subscription: &str, count: usize) {
    let calls = (0..count).map(|n| {
        let client = client.clone();
        let path = path_of(subscription, n);
        async move { client.arm_get(&path, API).await }
    });
    for result in bounded(join_all(calls)).await {
        result.unwrap();
    }
}

#[tokio::test]
async fn a_429_pauses_its_subscription_while_the_others_go_on() {
    let azure = FakeAzure::start(|seen, index| match (subscription_of(seen), index) {
        (Some("sub-a"), 0) => {
            Reply::json(429, r#"{"error":{"code":"TooManyRequests"}}"#).with_header("retry-after", "2")
        }
        _ => Reply::json(200, "{}"),
    })
    .await;
    let retry = RetryConfig { retry_after_cap: Duration::from_secs(10), ..fast_retry() };
    let client = azure.client(retry);
    let first = tokio::spawn({
        let client = client.clone();
        async move { client.arm_get(&path_of("sub-a", 0), API).await }
    });
    // Wait until the client has seen the 429 (not merely the server sent it).
    bounded(async {
        while client.throttle_stats().subscription.throttled_429 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    // Another request of the paused subscription, then five of another subscription.
    let second = tokio::spawn({
        let client = client.clone();
        async move { client.arm_get(&path_of("sub-a", 1), API).await }
    });
    get_many(&client, "sub-b", 5).await;
    bounded(first).await.unwrap().unwrap();
    bounded(second).await.unwrap().unwrap();

    let seen = azure.seen();
    let order: Vec<&str> = seen.iter().filter_map(subscription_of).collect();
    assert_eq!(order.len(), 8, "{order:?}");
    assert_eq!(order[0], "sub-a");
    assert_eq!(&order[1..6], ["sub-b"; 5], "sub-b went first while sub-a was paused: {order:?}");
    assert_eq!(&order[6..], ["sub-a", "sub-a"], "the retry and the other sub-a request waited: {order:?}");
    let stats = client.throttle_stats();
    assert_eq!(stats.subscription.throttled_429, 1);
    assert_eq!(stats.subscription.retries, 1);
    assert_eq!(stats.subscription.paused, Duration::from_secs(2), "the pause Azure asked for");
    assert_eq!(stats.tenant, Default::default());
    assert_eq!(stats.vault, Default::default());
}

/// Resource Graph's user quota, as a fake that answers honestly in the headers and refuses (429) whoever
/// sends more than the headers allowed.
#[derive(Debug)]
struct GraphQuota {
    per_window: u32,
    window: Duration,
    started: Option<Instant>,
    used: u32,
    refused: u32,
}

impl GraphQuota {
    fn answer(&mut self) -> Reply {
        let now = Instant::now();
        let start = match self.started {
            Some(start) if now < start + self.window => start,
            _ => {
                self.started = Some(now);
                self.used = 0;
                now
            }
        };
        if self.used >= self.per_window {
            self.refused += 1;
            return Reply::json(429, r#"{"error":{"code":"RateLimiting"}}"#).with_header("retry-after", "1");
        }
        self.used += 1;
        // Whole seconds, rounded up: waiting that long is always enough.
        let left = (start + self.window).saturating_duration_since(now);
        let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Reply::json(200, r#"{"totalRecords":0,"count":0,"data":[]}"#)
            .with_header("x-ms-user-quota-remaining", &(self.per_window - self.used).to_string())
            .with_header("x-ms-user-quota-resets-after", &format!("00:00:{seconds:02}"))
    }
}

#[tokio::test]
async fn graph_queries_wait_for_the_quota_the_headers_announce_and_are_never_refused() {
    let quota = Arc::new(Mutex::new(GraphQuota {
        per_window: 3,
        window: Duration::from_secs(1),
        started: None,
        used: 0,
        refused: 0,
    }));
    let served = quota.clone();
    let azure = FakeAzure::start(move |seen, _| {
        assert_eq!(seen.path, "/providers/Microsoft.ResourceGraph/resources");
        served.lock().unwrap().answer()
    })
    .await;
    let client = azure.client(fast_retry());
    let subscriptions = ["sub-1".to_owned()];
    let queries = (0..7).map(|n| {
        let client = client.clone();
        let subscriptions = subscriptions.clone();
        async move { client.resource_graph_query(&subscriptions, &format!("resources | take {n}")).await }
    });
    for result in bounded(join_all(queries)).await {
        assert_eq!(result.unwrap().len(), 1);
    }
    assert_eq!(quota.lock().unwrap().refused, 0, "the client sent a query the headers had not allowed");
    assert_eq!(azure.seen().len(), 7);
    let stats = client.throttle_stats();
    assert_eq!(stats.graph.throttled_429, 0);
    assert!(stats.graph.quota_waits >= 1, "{stats:?}");
}

/// ARM's read bucket per subscription: refilled continuously, reported in
/// `x-ms-ratelimit-remaining-subscription-reads`, refusing when empty.
#[derive(Debug)]
struct ReadBucket {
    tokens: f64,
    capacity: f64,
    per_second: f64,
    at: Instant,
    refused: u32,
}

impl ReadBucket {
    fn answer(&mut self) -> Reply {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * self.per_second).min(self.capacity);
        self.at = now;
        if self.tokens < 1.0 {
            self.refused += 1;
            return Reply::json(429, r#"{"error":{"code":"TooManyRequests"}}"#).with_header("retry-after", "1");
        }
        self.tokens -= 1.0;
        Reply::json(200, "{}")
            .with_header("x-ms-ratelimit-remaining-subscription-reads", &(self.tokens as u32).to_string())
    }
}

#[tokio::test]
async fn low_remaining_reads_slow_a_subscription_to_the_refill_rate() {
    let bucket = Arc::new(Mutex::new(ReadBucket {
        tokens: 30.0,
        capacity: 30.0,
        per_second: 25.0,
        at: Instant::now(),
        refused: 0,
    }));
    let served = bucket.clone();
    let azure = FakeAzure::start(move |_, _| served.lock().unwrap().answer()).await;
    let client = azure.client(fast_retry());
    get_many(&client, "sub-1", 60).await;
    assert_eq!(bucket.lock().unwrap().refused, 0, "the subscription's read bucket ran dry");
    assert_eq!(azure.seen().len(), 60);
    let stats = client.throttle_stats();
    assert!(stats.subscription.quota_waits > 0, "{stats:?}");
    assert_eq!(stats.subscription.throttled_429, 0);
}

#[tokio::test]
async fn each_subscription_keeps_within_its_cap_and_all_within_the_global_cap() {
    let azure = FakeAzure::start(|_, _| Reply::json(200, "{}").after(Duration::from_millis(100))).await;
    let limits = LimitConfig { max_in_flight: 5, per_subscription: 3, ..LimitConfig::default() };
    let client = azure.client(with_limits(limits));
    bounded(futures::future::join(get_many(&client, "sub-a", 12), get_many(&client, "sub-b", 12))).await;
    for subscription in ["sub-a", "sub-b"] {
        let max = azure.max_concurrent(|seen| subscription_of(seen) == Some(subscription));
        assert!((2..=3).contains(&max), "{subscription}: {max} at once");
    }
    let overall = azure.max_concurrent(|_| true);
    assert!((4..=5).contains(&overall), "{overall} at once over both subscriptions");
    assert_eq!(azure.seen().len(), 24);
}

const KEY_BUNDLE: &str = r#"{"key":{"kid":"https://kv-1.vault.azure.net/keys/cmk/0123456789abcdef0123456789abcdef","kty":"RSA","n":"AQAB","e":"AQAB"},"attributes":{"enabled":true}}"#;

/// Answers like Key Vault: a challenge to requests without a token, the key bundle otherwise.
fn key_vault(seen: &Seen) -> Reply {
    let reply = match &seen.authorization {
        None => Reply::json(401, r#"{"error":{"code":"Unauthorized"}}"#).with_header(
            "www-authenticate",
            r#"Bearer authorization="https://login.microsoftonline.com/tenant-1", resource="https://vault.azure.net""#,
        ),
        Some(_) => Reply::json(200, KEY_BUNDLE),
    };
    reply.after(Duration::from_millis(100))
}

#[tokio::test]
async fn key_vault_reads_keep_within_the_cap_of_their_vault() {
    let azure = FakeAzure::start(|seen, _| key_vault(seen)).await;
    let limits = LimitConfig { per_vault: 2, ..LimitConfig::default() };
    let client = azure.client(with_limits(limits));
    let reads = ["kv-1", "kv-2"]
        .into_iter()
        .flat_map(|vault| (0..6).map(move |n| (format!("https://{vault}.vault.azure.net/"), format!("key-{n}"))));
    let calls = reads.map(|(vault, key)| {
        let client = client.clone();
        async move { client.kv_get_key(&vault, &key, None).await }
    });
    for result in bounded(join_all(calls)).await {
        result.unwrap();
    }
    for vault in ["kv-1.vault.azure.net", "kv-2.vault.azure.net"] {
        let max = azure.max_concurrent(|seen| seen.host == vault);
        assert_eq!(max, 2, "{vault}: {max} at once");
    }
    assert!(azure.max_concurrent(|_| true) > 2, "two vaults are two scopes");
}

#[tokio::test]
async fn a_long_queue_is_neither_a_failed_try_nor_a_spent_deadline() {
    // One at a time, 100 ms each: the last of 16 requests waits far longer than the per-try timeout and the
    // total deadline, yet each is sent once and succeeds.
    let azure = FakeAzure::start(|_, _| Reply::json(200, "{}").after(Duration::from_millis(100))).await;
    let retry = RetryConfig {
        per_try_timeout: Duration::from_millis(600),
        total_deadline: Duration::from_secs(1),
        limits: LimitConfig { per_subscription: 1, ..LimitConfig::default() },
        ..fast_retry()
    };
    let client = azure.client(retry);
    get_many(&client, "sub-1", 16).await;
    assert_eq!(azure.seen().len(), 16, "no request was tried twice");
    assert_eq!(azure.max_concurrent(|_| true), 1);
    assert_eq!(client.throttle_stats(), Default::default());
}
