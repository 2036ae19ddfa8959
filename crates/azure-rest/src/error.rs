//! The crate's one error type, [`Error`], and how `azure_core` errors and raw non-2xx answers become it.
//!
//! Every variant that concerns a request names its URL, so a failure can become a coverage row that says
//! exactly what was not collected. No variant ever carries a token, a secret or an `Authorization` header.

use crate::client::Fetched;
use azure_core::error::ErrorKind;
use std::{error::Error as StdError, time::Duration};

/// What went wrong talking to Azure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Azure answered with a non-2xx status (after retries, for the retryable ones).
    #[error("{url} answered HTTP {status}{}", code_and_message(.code.as_deref(), .message.as_deref()))]
    Http {
        /// The URL that was requested.
        url: String,
        /// The HTTP status Azure answered with.
        status: u16,
        /// `error.code` from the body, when the body was the usual Azure error JSON.
        code: Option<String>,
        /// `error.message` from the body, when the body was the usual Azure error JSON.
        message: Option<String>,
    },
    /// Still answered 429 after every retry the budget allowed.
    #[error(
        "{url} was still throttled (HTTP 429) after {attempts} attempt(s){}; lower the concurrency or try again later",
        retry_after_hint(.retry_after)
    )]
    Throttled {
        /// The URL that was requested.
        url: String,
        /// How many times the request was sent.
        attempts: u32,
        /// The wait Azure asked for in its last answer, uncapped, when it said one.
        retry_after: Option<Duration>,
    },
    /// The per-try timeout hit on the last try, or the total deadline of the request passed.
    #[error("{url} did not answer within {after:?}")]
    Timeout {
        /// The URL that was requested.
        url: String,
        /// The timeout or deadline that was hit.
        after: Duration,
    },
    /// The request could not be sent or its answer not read (connection refused, reset, TLS, ...).
    #[error("request to {url} failed: {detail}")]
    Transport {
        /// The URL that was requested.
        url: String,
        /// Every layer of the underlying error, outermost first.
        detail: String,
    },
    /// No access token could be acquired.
    #[error(
        "could not get an access token: {detail} (check `az login`, the service principal or the workload identity)"
    )]
    Credential {
        /// Every layer of the underlying error, outermost first. Never contains a secret.
        detail: String,
    },
    /// Azure answered 2xx but the body is not what the call needs (a list page that is not JSON, has no
    /// `value` array, or points its `nextLink` at another host).
    #[error("{url} answered with a body that cannot be used: {detail}")]
    Malformed {
        /// The URL that was requested.
        url: String,
        /// What is wrong with the body.
        detail: String,
    },
    /// A `nextLink` pointed at a page that was already fetched.
    #[error(
        "{url} returned a nextLink that was already followed ({next_link}); paging stopped to avoid an endless loop"
    )]
    PagingLoop {
        /// The page whose `nextLink` repeats.
        url: String,
        /// The repeated `nextLink` as Azure sent it (for Resource Graph: `$skipToken=<token>`).
        next_link: String,
    },
    /// The client configuration is unusable.
    #[error("invalid Azure client configuration: {detail}")]
    Config {
        /// What is wrong.
        detail: String,
    },
}

impl Error {
    /// The HTTP status behind this error: the status of [`Error::Http`], 429 for [`Error::Throttled`].
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Http { status, .. } => Some(*status),
            Error::Throttled { .. } => Some(429),
            _ => None,
        }
    }

    /// Azure's error code (`error.code`), when it sent one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Error::Http { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The `coverage.status` this failure becomes: `"denied"` (401/403), `"not_found"` (404), `"throttled"`
    /// (429 or [`Error::Throttled`]) or `"error"` (everything else).
    pub fn coverage_status(&self) -> &'static str {
        match self {
            Error::Http { status: 401 | 403, .. } => "denied",
            Error::Http { status: 404, .. } => "not_found",
            Error::Http { status: 429, .. } | Error::Throttled { .. } => "throttled",
            _ => "error",
        }
    }
}

/// A list that failed part way: the pages fetched before the failure are kept, so nothing already collected
/// is lost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error} ({} page(s) fetched before the failure are kept)", .pages_so_far.len())]
pub struct ListError {
    /// Every page fetched before the failure, in order.
    pub pages_so_far: Vec<Fetched>,
    /// Why paging stopped.
    pub error: Error,
}

impl ListError {
    pub(crate) fn new(pages_so_far: Vec<Fetched>, error: Error) -> Self {
        Self { pages_so_far, error }
    }
}

/// Marker put in the source chain of an `azure_core::Error` when one try hit the per-try timeout.
#[derive(Debug, thiserror::Error)]
#[error("no answer within the per-try timeout of {0:?}")]
pub(crate) struct TryTimedOut(pub(crate) Duration);

/// Marker put in the source chain of an `azure_core::Error` when the total deadline of a request passed.
#[derive(Debug, thiserror::Error)]
#[error("the total deadline of {0:?} for this request passed")]
pub(crate) struct DeadlineExceeded(pub(crate) Duration);

fn code_and_message(code: Option<&str>, message: Option<&str>) -> String {
    match (code, message) {
        (Some(code), Some(message)) => format!(" {code}: {message}"),
        (Some(code), None) => format!(" {code}"),
        (None, Some(message)) => format!(": {message}"),
        (None, None) => String::new(),
    }
}

fn retry_after_hint(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(wait) => format!(" (Azure last asked to wait {wait:?})"),
        None => String::new(),
    }
}

/// Every layer of an error chain, outermost first, with repeated layers dropped (`azure_core` often wraps
/// an error in a message equal to the inner error's own text).
pub(crate) fn describe_chain(error: &(dyn StdError + 'static)) -> String {
    let mut layers: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(layer) = current {
        let text = layer.to_string();
        let text = text.trim();
        if !text.is_empty() && layers.last().is_none_or(|last| last != text) {
            layers.push(text.to_owned());
        }
        current = layer.source();
    }
    layers.join(": ")
}

fn find_in_chain<'a, T: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(layer) = current {
        if let Some(found) = layer.downcast_ref::<T>() {
            return Some(found);
        }
        current = layer.source();
    }
    None
}

/// `error.code` and `error.message` of an Azure error body. Tolerates bodies that are not JSON, the flat
/// `{"code","message"}` shape some providers use, and Entra ID's `{"error","error_description"}`.
pub(crate) fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (None, None);
    };
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
    match value.get("error") {
        Some(inner @ serde_json::Value::Object(_)) => (text(inner.get("code")), text(inner.get("message"))),
        Some(serde_json::Value::String(code)) => (Some(code.clone()), text(value.get("error_description"))),
        _ => (text(value.get("code")), text(value.get("message"))),
    }
}

/// What the client knows about a request when it maps a failure.
pub(crate) struct FailureContext<'a> {
    pub(crate) url: &'a str,
    pub(crate) attempts: u32,
}

/// Maps an error returned by an `azure_core` pipeline or an SDK client to [`Error`].
pub(crate) fn from_sdk(error: azure_core::Error, context: &FailureContext<'_>) -> Error {
    let url = context.url.to_owned();
    if matches!(error.kind(), ErrorKind::Credential) {
        return Error::Credential { detail: describe_chain(&error) };
    }
    if let Some(DeadlineExceeded(after)) = find_in_chain(&error) {
        return Error::Timeout { url, after: *after };
    }
    if let Some(TryTimedOut(after)) = find_in_chain(&error) {
        return Error::Timeout { url, after: *after };
    }
    match error.kind() {
        ErrorKind::HttpResponse { status, error_code, raw_response } => {
            let status = u16::from(*status);
            if status == 429 {
                return Error::Throttled {
                    url,
                    attempts: context.attempts.max(1),
                    retry_after: raw_response.as_ref().and_then(|raw| crate::policies::retry_after(raw.headers())),
                };
            }
            let (code, message) = raw_response.as_ref().map(|raw| parse_error_body(raw.body())).unwrap_or((None, None));
            Error::Http { url, status, code: code.or_else(|| error_code.clone()), message }
        }
        ErrorKind::DataConversion => Error::Malformed { url, detail: describe_chain(&error) },
        _ => Error::Transport { url, detail: describe_chain(&error) },
    }
}

/// Maps a non-2xx answer seen with `skip_checks` to [`Error`].
pub(crate) fn from_status(
    status: u16,
    headers: &azure_core::http::headers::Headers,
    body: &[u8],
    context: &FailureContext<'_>,
) -> Error {
    let url = context.url.to_owned();
    if status == 429 {
        return Error::Throttled {
            url,
            attempts: context.attempts.max(1),
            retry_after: crate::policies::retry_after(headers),
        };
    }
    let (code, message) = parse_error_body(body);
    let code = code.or_else(|| headers.get_optional_str(&azure_core::http::headers::ERROR_CODE).map(str::to_owned));
    Error::Http { url, status, code, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_shapes() {
        assert_eq!(
            parse_error_body(br#"{"error":{"code":"AuthorizationFailed","message":"no"}}"#),
            (Some("AuthorizationFailed".into()), Some("no".into()))
        );
        assert_eq!(
            parse_error_body(br#"{"code":"NotFound","message":"gone"}"#),
            (Some("NotFound".into()), Some("gone".into()))
        );
        assert_eq!(
            parse_error_body(br#"{"error":"invalid_client","error_description":"bad"}"#),
            (Some("invalid_client".into()), Some("bad".into()))
        );
        assert_eq!(parse_error_body(b"<html>502</html>"), (None, None));
        assert_eq!(parse_error_body(b""), (None, None));
    }

    #[test]
    fn coverage_status_by_status() {
        let http = |status| Error::Http { url: "u".into(), status, code: None, message: None };
        assert_eq!(http(401).coverage_status(), "denied");
        assert_eq!(http(403).coverage_status(), "denied");
        assert_eq!(http(404).coverage_status(), "not_found");
        assert_eq!(http(429).coverage_status(), "throttled");
        assert_eq!(http(500).coverage_status(), "error");
        let throttled = Error::Throttled { url: "u".into(), attempts: 3, retry_after: None };
        assert_eq!(throttled.coverage_status(), "throttled");
        assert_eq!(throttled.http_status(), Some(429));
        let timeout = Error::Timeout { url: "u".into(), after: Duration::from_secs(1) };
        assert_eq!(timeout.coverage_status(), "error");
        assert_eq!(timeout.http_status(), None);
    }

    #[test]
    fn chain_is_walked_and_deduplicated() {
        let inner = azure_core::Error::with_error(
            ErrorKind::Io,
            TryTimedOut(Duration::from_millis(5)),
            "no answer within the per-try timeout of 5ms",
        );
        let outer = inner.with_context("request failed");
        let text = describe_chain(&outer);
        assert_eq!(text, "request failed: no answer within the per-try timeout of 5ms");
        let mapped = from_sdk(outer, &FailureContext { url: "https://x/", attempts: 1 });
        assert_eq!(mapped, Error::Timeout { url: "https://x/".into(), after: Duration::from_millis(5) });
    }
}
