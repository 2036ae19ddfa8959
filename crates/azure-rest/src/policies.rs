//! Pipeline policies the SDK lacks: a retry with a capped `Retry-After` and a total deadline, and a per-try
//! timeout. Admission control and quota pacing live in [`crate::limiter`].
//!
//! Why our own retry instead of `azure_core`'s `ExponentialRetryOptions`: the SDK's retry loop
//! (typespec_client_core 1.1 `http/policies/retry/mod.rs`, `impl Policy for T: RetryPolicy`) waits
//! `max(Retry-After, backoff)` with no upper bound, checks its time budget *before* that sleep (so a
//! `Retry-After: 600` sleeps ten minutes past any budget), and keeps its attempt count to itself. Clamping
//! the headers in a per-try policy would fix the first point only, and would rewrite what Azure said.
//! [`BoundedRetryPolicy`] replaces it (the pipelines are built with `RetryOptions::none()`): it sits in
//! `per_call`, so every try runs the bearer policy, the limiter, the per-try timeout and the transport again.

use crate::{
    error::{DeadlineExceeded, TryTimedOut},
    limiter::{LimitConfig, Limiter, QueueTime},
};
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

/// Retry, timeout, pacing and concurrency settings of an [`AzureClient`](crate::AzureClient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first try (so at most `max_retries + 1` tries). Default 6.
    pub max_retries: u32,
    /// Backoff before the first retry; doubles per retry, with jitter. Default 200 ms.
    pub initial_delay: Duration,
    /// Largest backoff between two tries. Default 30 s.
    pub max_delay: Duration,
    /// Largest `Retry-After` honoured on 429/503 (by the retry and by the pause of the throttled scope);
    /// longer asks are cut to this. Default 30 s.
    pub retry_after_cap: Duration,
    /// Time one try may take on the wire, answer body included (waiting for the limiter is not part of
    /// it). Default 30 s.
    pub per_try_timeout: Duration,
    /// Time the whole request may take, tries and the waits between them included, but not the time spent
    /// queued in the limiter (for a permit, a paused scope or a quota wait): a long but healthy queue is not
    /// a failure. Default 120 s.
    pub total_deadline: Duration,
    /// When ARM says fewer reads than this remain for a subscription (or for the tenant), that scope's
    /// requests are released no faster than [`LimitConfig::arm_reads_per_second`]. Default 20.
    pub min_remaining_reads: u32,
    /// Concurrency caps, global and per throttling scope ([`LimitConfig`]).
    pub limits: LimitConfig,
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
            limits: LimitConfig::default(),
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
///
/// The deadline counts time on the wire and the waits between tries, not time queued in the limiter: the
/// policy puts a fresh [`QueueTime`] in the context of every request, the limiter records its waits there,
/// and the budget used is `elapsed − queued`.
#[derive(Debug)]
pub(crate) struct BoundedRetryPolicy {
    config: RetryConfig,
    /// Whether to fill the [`CallRecord`] in the context. Off for credential pipelines, which receive the
    /// context of the request they authorize.
    records_calls: bool,
    /// Where retries are counted ([`Limiter::note_retry`]); `None` for credential pipelines.
    limiter: Option<Arc<Limiter>>,
}

impl BoundedRetryPolicy {
    pub(crate) fn new(config: RetryConfig, records_calls: bool, limiter: Option<Arc<Limiter>>) -> Self {
        Self { config, records_calls, limiter }
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

/// The part of a request's time that counts against its total deadline.
#[derive(Debug)]
struct Budget {
    started: Instant,
    deadline: Duration,
    queue: Arc<QueueTime>,
}

/// While a limiter wait goes on the budget does not shrink; the watcher then looks again at most this often.
const WATCH_WHILE_QUEUED: Duration = Duration::from_millis(50);

impl Budget {
    /// Budget used so far and whether the request is queued in the limiter right now.
    fn used(&self) -> (Duration, bool) {
        let now = Instant::now();
        let (queued, waiting) = self.queue.queued(now);
        (now.saturating_duration_since(self.started).saturating_sub(queued), waiting)
    }

    fn left(&self) -> Duration {
        self.deadline.saturating_sub(self.used().0)
    }

    /// Completes when the budget is spent; never while the request only waits in the limiter.
    async fn spent(&self) {
        loop {
            let (used, waiting) = self.used();
            let left = self.deadline.saturating_sub(used);
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(if waiting { left.max(WATCH_WHILE_QUEUED) } else { left }).await;
        }
    }
}

#[async_trait::async_trait]
impl Policy for BoundedRetryPolicy {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        let budget = Budget {
            started: Instant::now(),
            deadline: self.config.total_deadline,
            queue: Arc::new(QueueTime::default()),
        };
        let deadline = budget.deadline;
        let record = if self.records_calls { ctx.value::<Arc<CallRecord>>().cloned() } else { None };
        if let Some(record) = &record {
            record.start(request.url());
        }
        let ctx = ctx.clone().with_value(budget.queue.clone());
        let method = request.method();
        let url = loggable_url(request.url());
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            if attempt > 1 {
                request.body_mut().reset().await?;
            }
            if budget.left().is_zero() {
                return Err(deadline_error(deadline));
            }
            if let Some(record) = &record {
                record.count_attempt();
            }
            let try_started = Instant::now();
            let outcome = tokio::select! {
                biased;
                result = next[0].send(&ctx, request, &next[1..]) => Some(result),
                () = budget.spent() => None,
            };
            let elapsed_ms = try_started.elapsed().as_millis();
            let Some(result) = outcome else {
                tracing::debug!(%method, %url, attempt, elapsed_ms, "total deadline passed");
                return Err(deadline_error(deadline));
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
            if wait >= budget.left() {
                tracing::debug!(%method, %url, attempt, wait_ms = wait.as_millis(), "giving up: the wait would pass the total deadline");
                return result;
            }
            tracing::debug!(%method, %url, attempt, wait_ms = wait.as_millis(), "retrying");
            if let Some(limiter) = &self.limiter {
                limiter.note_retry(request.url());
            }
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let policy = BoundedRetryPolicy::new(RetryConfig::default(), false, None);
        for retry in 1..=40 {
            let wait = policy.backoff(retry);
            let base = Duration::from_millis(200).saturating_mul(1 << (retry - 1).min(20)).min(Duration::from_secs(30));
            assert!(wait >= base / 2 && wait <= base, "retry {retry}: {wait:?}");
        }
    }
}
