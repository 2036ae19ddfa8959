//! Pipeline policies the SDK lacks: a retry with a capped `Retry-After` and a total deadline, a per-try
//! timeout, and pacing on ARM's remaining-reads quota.
//!
//! Why our own retry instead of `azure_core`'s `ExponentialRetryOptions`: the SDK's retry loop
//! (typespec_client_core 1.1 `http/policies/retry/mod.rs`, `impl Policy for T: RetryPolicy`) waits
//! `max(Retry-After, backoff)` with no upper bound, checks its time budget *before* that sleep (so a
//! `Retry-After: 600` sleeps ten minutes past any budget), and keeps its attempt count to itself. Clamping
//! the headers in a per-try policy would fix the first point only, and would rewrite what Azure said.
//! [`BoundedRetryPolicy`] replaces it (the pipelines are built with `RetryOptions::none()`): it sits in
//! `per_call`, so every try runs the bearer policy, the per-try timeout and the transport again.

use crate::error::{DeadlineExceeded, TryTimedOut};
use azure_core::{
    error::ErrorKind,
    http::{
        Context, Request, Sanitizer as _, StatusCode,
        headers::{HeaderName, Headers, RETRY_AFTER, RETRY_AFTER_MS, X_MS_RETRY_AFTER_MS},
        policies::{Policy, PolicyResult},
    },
};
use std::{
    borrow::Cow,
    collections::HashSet,
    sync::{
        Arc, LazyLock, Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

/// Retry, timeout and pacing settings of an [`AzureClient`](crate::AzureClient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first try (so at most `max_retries + 1` tries). Default 6.
    pub max_retries: u32,
    /// Backoff before the first retry; doubles per retry, with jitter. Default 200 ms.
    pub initial_delay: Duration,
    /// Largest backoff between two tries. Default 30 s.
    pub max_delay: Duration,
    /// Largest `Retry-After` honoured on 429/503; longer asks are cut to this. Default 30 s.
    pub retry_after_cap: Duration,
    /// Time one try may take, answer body included. Default 30 s.
    pub per_try_timeout: Duration,
    /// Time the whole request may take, retries and waits included. Default 120 s.
    pub total_deadline: Duration,
    /// When ARM says fewer reads than this remain, requests are slowed down. Default 20.
    pub min_remaining_reads: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 6,
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
            retry_after_cap: Duration::from_secs(30),
            per_try_timeout: Duration::from_secs(30),
            total_deadline: Duration::from_secs(120),
            min_remaining_reads: 20,
        }
    }
}

/// Headers that carry a server-requested wait, in the order the SDK reads them.
const RETRY_AFTER_HEADERS: [HeaderName; 3] = [X_MS_RETRY_AFTER_MS, RETRY_AFTER_MS, RETRY_AFTER];

/// The wait a response asks for (`x-ms-retry-after-ms`, `retry-after-ms`, `retry-after` as seconds or an
/// HTTP date), uncapped. Parsing is the SDK's own `get_retry_after`.
pub(crate) fn retry_after(headers: &Headers) -> Option<Duration> {
    azure_core::http::policies::get_retry_after(
        headers,
        azure_core::time::OffsetDateTime::now_utc,
        &RETRY_AFTER_HEADERS,
    )
    .map(|wait| Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// Query parameters that may appear in logs; everything else is redacted by the SDK's sanitizer.
static LOGGED_QUERY_PARAMETERS: LazyLock<HashSet<Cow<'static, str>>> =
    LazyLock::new(|| ["api-version", "$top", "maxresults"].into_iter().map(Cow::Borrowed).collect());

/// A URL as it may be logged: query values other than the api-version redacted, never any header.
pub(crate) fn loggable_url(url: &azure_core::http::Url) -> String {
    url.sanitize(&LOGGED_QUERY_PARAMETERS)
}

/// What one logical request went through, shared between the caller and [`BoundedRetryPolicy`] through
/// the request [`Context`]. Token requests made on behalf of the request do not touch it (their pipelines
/// use a non-recording retry policy).
#[derive(Debug, Default)]
pub(crate) struct CallRecord {
    attempts: AtomicU32,
    url: Mutex<Option<String>>,
}

impl CallRecord {
    pub(crate) fn new_shared() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Tries made for the latest request sent with this record.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts.load(Ordering::Relaxed)
    }

    /// URL of the latest request sent with this record, as requested (before any loopback redirect).
    pub(crate) fn url(&self) -> Option<String> {
        self.url.lock().ok().and_then(|url| url.clone())
    }

    fn start(&self, url: &azure_core::http::Url) {
        self.attempts.store(0, Ordering::Relaxed);
        if let Ok(mut slot) = self.url.lock() {
            *slot = Some(url.to_string());
        }
    }

    fn count_attempt(&self) {
        self.attempts.fetch_add(1, Ordering::Relaxed);
    }
}

/// Retries 408/429/500/502/503/504 and I/O errors (a per-try timeout is one) with exponential backoff and
/// jitter, honours `Retry-After` on 429/503 up to `retry_after_cap`, and bounds the whole request by
/// `total_deadline`: it gives up (returning the last answer or error) rather than start a wait that would
/// end past the deadline, and a try still running at the deadline fails with [`DeadlineExceeded`].
#[derive(Debug)]
pub(crate) struct BoundedRetryPolicy {
    config: RetryConfig,
    /// Whether to fill the [`CallRecord`] in the context. Off for credential pipelines, which receive the
    /// context of the request they authorize.
    records_calls: bool,
}

impl BoundedRetryPolicy {
    pub(crate) fn new(config: RetryConfig, records_calls: bool) -> Self {
        Self { config, records_calls }
    }

    /// Exponential backoff before retry number `retry` (1-based), with "equal jitter": half fixed, half
    /// random, so concurrent clients do not retry in lockstep.
    fn backoff(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(20);
        let base = self.config.initial_delay.saturating_mul(1u32 << exponent).min(self.config.max_delay);
        let half = base / 2;
        let jitter_ms = fastrand::u64(0..=u64::try_from(half.as_millis()).unwrap_or(u64::MAX));
        half + Duration::from_millis(jitter_ms)
    }
}

fn is_retryable_status(status: StatusCode) -> bool {
    matches!(u16::from(status), 408 | 429 | 500 | 502 | 503 | 504)
}

fn is_retryable_error(error: &azure_core::Error) -> bool {
    matches!(error.kind(), ErrorKind::Io | ErrorKind::Connection)
}

#[async_trait::async_trait]
impl Policy for BoundedRetryPolicy {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        let started = Instant::now();
        let deadline = self.config.total_deadline;
        let record = if self.records_calls { ctx.value::<Arc<CallRecord>>().cloned() } else { None };
        if let Some(record) = &record {
            record.start(request.url());
        }
        let method = request.method();
        let url = loggable_url(request.url());
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            if attempt > 1 {
                request.body_mut().reset().await?;
            }
            let remaining = deadline.saturating_sub(started.elapsed());
            if remaining.is_zero() {
                return Err(deadline_error(deadline));
            }
            if let Some(record) = &record {
                record.count_attempt();
            }
            let try_started = Instant::now();
            let outcome = tokio::time::timeout(remaining, next[0].send(ctx, request, &next[1..])).await;
            let elapsed_ms = try_started.elapsed().as_millis();
            let result = match outcome {
                Ok(result) => result,
                Err(_) => {
                    tracing::debug!(%method, %url, attempt, elapsed_ms, "total deadline passed");
                    return Err(deadline_error(deadline));
                }
            };
            let wait = match &result {
                Ok(response) => {
                    let status = response.status();
                    tracing::debug!(
                        %method,
                        %url,
                        status = u16::from(status),
                        attempt,
                        elapsed_ms,
                        "azure request"
                    );
                    if !is_retryable_status(status) {
                        return result;
                    }
                    let asked = match u16::from(status) {
                        429 | 503 => retry_after(response.headers()),
                        _ => None,
                    };
                    let backoff = self.backoff(attempt);
                    asked.map_or(backoff, |asked| asked.min(self.config.retry_after_cap).max(backoff))
                }
                Err(error) => {
                    tracing::debug!(
                        %method,
                        %url,
                        attempt,
                        elapsed_ms,
                        error = %error,
                        "azure request failed"
                    );
                    if !is_retryable_error(error) {
                        return result;
                    }
                    self.backoff(attempt)
                }
            };
            if attempt > self.config.max_retries {
                tracing::debug!(%method, %url, attempt, "giving up: no retries left");
                return result;
            }
            if started.elapsed() + wait >= deadline {
                tracing::debug!(%method, %url, attempt, wait_ms = wait.as_millis(), "giving up: the wait would pass the total deadline");
                return result;
            }
            tracing::debug!(%method, %url, attempt, wait_ms = wait.as_millis(), "retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

fn deadline_error(deadline: Duration) -> azure_core::Error {
    azure_core::Error::with_error(
        ErrorKind::Io,
        DeadlineExceeded(deadline),
        format!("the total deadline of {deadline:?} for this request passed"),
    )
}

/// Bounds one try (the rest of the pipeline after this policy, answer body included because
/// `Pipeline::send` buffers it in the transport policy) by a timeout. A try that times out fails with an
/// I/O error carrying [`TryTimedOut`], so [`BoundedRetryPolicy`] retries it like a dropped connection.
#[derive(Debug)]
pub(crate) struct PerTryTimeoutPolicy {
    timeout: Duration,
}

impl PerTryTimeoutPolicy {
    pub(crate) fn new(timeout: Duration) -> Self {
        Self { timeout }
    }
}

#[async_trait::async_trait]
impl Policy for PerTryTimeoutPolicy {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        match tokio::time::timeout(self.timeout, next[0].send(ctx, request, &next[1..])).await {
            Ok(result) => result,
            Err(_) => Err(azure_core::Error::with_error(
                ErrorKind::Io,
                TryTimedOut(self.timeout),
                format!("no answer within the per-try timeout of {:?}", self.timeout),
            )),
        }
    }
}

const SUBSCRIPTION_READS: HeaderName = HeaderName::from_static("x-ms-ratelimit-remaining-subscription-reads");
const TENANT_READS: HeaderName = HeaderName::from_static("x-ms-ratelimit-remaining-tenant-reads");

/// Extra delay per read below the threshold.
const PACING_STEP: Duration = Duration::from_millis(40);
/// Longest pacing delay before one request.
const PACING_MAX: Duration = Duration::from_secs(2);

/// ARM's remaining read quota, as last reported, shared by every request of one client.
#[derive(Debug)]
pub(crate) struct ReadQuota {
    /// `u32::MAX` until ARM reports a value.
    remaining: AtomicU32,
}

impl Default for ReadQuota {
    fn default() -> Self {
        Self { remaining: AtomicU32::new(u32::MAX) }
    }
}

impl ReadQuota {
    /// Remembers the lower of the subscription and tenant read quotas of a response, if it reports any.
    fn observe(&self, headers: &Headers) {
        let reported = [SUBSCRIPTION_READS, TENANT_READS]
            .iter()
            .filter_map(|name| headers.get_optional_str(name))
            .filter_map(|value| value.trim().parse::<u32>().ok())
            .min();
        if let Some(remaining) = reported {
            self.remaining.store(remaining, Ordering::Relaxed);
        }
    }

    fn remaining(&self) -> u32 {
        self.remaining.load(Ordering::Relaxed)
    }
}

/// The delay before the next ARM request: `(threshold - remaining) * 40 ms`, at most 2 s.
pub(crate) fn pacing_delay(remaining: u32, threshold: u32) -> Duration {
    if remaining >= threshold {
        return Duration::ZERO;
    }
    PACING_STEP.saturating_mul(threshold - remaining).min(PACING_MAX)
}

/// Slows ARM requests down before ARM throttles: reads `x-ms-ratelimit-remaining-{subscription,tenant}-reads`
/// on every answer and, while the quota is below the threshold, waits [`pacing_delay`] before sending.
/// Placed first in `per_try`, so retries are paced too.
#[derive(Debug)]
pub(crate) struct ThrottlePacingPolicy {
    quota: Arc<ReadQuota>,
    threshold: u32,
}

impl ThrottlePacingPolicy {
    pub(crate) fn new(quota: Arc<ReadQuota>, threshold: u32) -> Self {
        Self { quota, threshold }
    }
}

#[async_trait::async_trait]
impl Policy for ThrottlePacingPolicy {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        let remaining = self.quota.remaining();
        let delay = pacing_delay(remaining, self.threshold);
        if !delay.is_zero() {
            tracing::debug!(
                remaining_reads = remaining,
                delay_ms = delay.as_millis(),
                url = %loggable_url(request.url()),
                "ARM read quota low: pacing"
            );
            tokio::time::sleep(delay).await;
        }
        let result = next[0].send(ctx, request, &next[1..]).await;
        if let Ok(response) = &result {
            self.quota.observe(response.headers());
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_grows_with_the_shortfall_and_is_capped() {
        assert_eq!(pacing_delay(u32::MAX, 20), Duration::ZERO);
        assert_eq!(pacing_delay(20, 20), Duration::ZERO);
        assert_eq!(pacing_delay(19, 20), Duration::from_millis(40));
        assert_eq!(pacing_delay(10, 20), Duration::from_millis(400));
        assert_eq!(pacing_delay(0, 1000), Duration::from_secs(2));
    }

    #[test]
    fn quota_takes_the_lower_of_subscription_and_tenant() {
        let quota = ReadQuota::default();
        let mut headers = Headers::new();
        headers.insert(SUBSCRIPTION_READS, "11999");
        headers.insert(TENANT_READS, "7");
        quota.observe(&headers);
        assert_eq!(quota.remaining(), 7);
        quota.observe(&Headers::new());
        assert_eq!(quota.remaining(), 7, "a response without the headers keeps the last value");
    }

    #[test]
    fn retry_after_reads_every_header_family() {
        let mut headers = Headers::new();
        headers.insert(RETRY_AFTER, "600");
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(600)));
        let mut headers = Headers::new();
        headers.insert(X_MS_RETRY_AFTER_MS, "1500");
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
        let mut headers = Headers::new();
        headers.insert(RETRY_AFTER_MS, "250");
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(250)));
        let mut headers = Headers::new();
        headers.insert(RETRY_AFTER, "-5");
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        assert_eq!(retry_after(&Headers::new()), None);
    }

    #[test]
    fn backoff_doubles_within_bounds() {
        let policy = BoundedRetryPolicy::new(RetryConfig::default(), false);
        for retry in 1..=40 {
            let wait = policy.backoff(retry);
            let base = Duration::from_millis(200).saturating_mul(1 << (retry - 1).min(20)).min(Duration::from_secs(30));
            assert!(wait >= base / 2 && wait <= base, "retry {retry}: {wait:?}");
        }
    }
}
