//! The Entra ID token endpoint (`POST /{tenant}/oauth2/v2.0/token`, client-credentials grant): checks tenant,
//! client id and secret (or any client assertion, when the scenario allows it), issues opaque bearer tokens and
//! remembers each token's audience so ARM and Key Vault can refuse tokens meant for someone else. Errors are
//! shaped like Entra ID's (`error`, `error_description` with an `AADSTS` code, `error_codes`).

use std::time::Instant;

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::faults::FaultAction;
use crate::material;
use crate::resource_id::segments;
use crate::scenario::FaultKind;
use crate::server::{Incoming, IssuedToken, Reply, Sim};
use crate::timestamps;

/// Lifetime Entra ID gives app tokens; at least 300 so azure_identity caches them.
pub(crate) const TOKEN_LIFETIME_SECONDS: u64 = 3599;

pub(crate) async fn answer(sim: &Sim, request: &Incoming) -> Reply {
    let mut truncate = false;
    match sim.fire_fault(request) {
        Some(FaultAction::Respond { kind, retry_after }) => return fault(sim, kind, retry_after),
        Some(FaultAction::Delay(d)) => tokio::time::sleep(d).await,
        Some(FaultAction::Truncate) => truncate = true,
        None => {}
    }
    let mut reply = issue(sim, request);
    if truncate {
        reply.truncate();
    }
    reply.header("x-ms-request-id", material::random_guid())
}

fn issue(sim: &Sim, request: &Incoming) -> Reply {
    let segs = segments(&request.path);
    let is_token_path = segs.len() == 4
        && segs[1].eq_ignore_ascii_case("oauth2")
        && segs[2].eq_ignore_ascii_case("v2.0")
        && segs[3].eq_ignore_ascii_case("token");
    if !is_token_path {
        return entra_error(
            sim,
            StatusCode::NOT_FOUND,
            "invalid_request",
            90027,
            "The simulator's token endpoint is POST /{tenant}/oauth2/v2.0/token.",
        );
    }
    if request.method != Method::POST {
        return entra_error(
            sim,
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            900561,
            &format!("The endpoint only accepts POST requests. Received a {} request.", request.method),
        );
    }
    let tenant = &segs[0];
    let (tenant_ok, directory, accept_assertion, secret) = {
        let estate = sim.estate();
        (
            tenant.eq_ignore_ascii_case(&estate.tenant.id)
                || tenant.eq_ignore_ascii_case(&estate.tenant.default_domain),
            estate.tenant.display_name.clone(),
            estate.credentials.accept_client_assertion,
            estate.credentials.client_secret.clone(),
        )
    };
    if !tenant_ok {
        return entra_error(
            sim,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing \
                 into the correct cloud."
            ),
        );
    }
    let form: Vec<(String, String)> =
        url::form_urlencoded::parse(&request.body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());

    let grant = field("grant_type").unwrap_or_default();
    if grant != "client_credentials" {
        return entra_error(
            sim,
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{grant}'."),
        );
    }
    let Some(client_id) = field("client_id") else {
        return missing_parameter(sim, "client_id");
    };
    if !client_id.eq_ignore_ascii_case(&sim.client_id) {
        return entra_error(
            sim,
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{directory}'. This can \
                 happen if the application has not been installed by the administrator of the tenant or consented \
                 to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        );
    }
    let Some(scope) = field("scope") else {
        return missing_parameter(sim, "scope");
    };
    let Some(audience) = scope
        .split_whitespace()
        .find_map(|s| s.strip_suffix("/.default"))
        .map(|a| a.trim_end_matches('/').to_ascii_lowercase())
    else {
        return entra_error(
            sim,
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value \
                 with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    };
    match (field("client_secret"), field("client_assertion")) {
        (Some(given), _) if given == secret => {}
        (Some(_), _) => {
            return entra_error(
                sim,
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                &format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client \
                     secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            );
        }
        (None, Some(assertion)) if accept_assertion && !assertion.is_empty() => {}
        (None, Some(_)) => {
            return entra_error(
                sim,
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                700027,
                "Client assertion failed signature validation.",
            );
        }
        (None, None) => {
            return entra_error(
                sim,
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
            );
        }
    }

    let token = material::access_token();
    sim.tokens
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(token.clone(), IssuedToken { audience, issued: Instant::now() });
    Reply::json(
        StatusCode::OK,
        &json!({
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "ext_expires_in": TOKEN_LIFETIME_SECONDS,
            "access_token": token,
        }),
    )
}

fn missing_parameter(sim: &Sim, name: &str) -> Reply {
    entra_error(
        sim,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{name}'."),
    )
}

fn fault(sim: &Sim, kind: FaultKind, retry_after: Option<u64>) -> Reply {
    let (status, error, code, text) = match kind {
        FaultKind::Throttle => (
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            50196,
            "The server terminated an operation because it encountered a client request loop.",
        ),
        FaultKind::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            90033,
            "A transient error has occurred. Please try again.",
        ),
        FaultKind::Forbidden => {
            (StatusCode::FORBIDDEN, "access_denied", 53003, "Access has been blocked by Conditional Access policies.")
        }
        FaultKind::ServerError | FaultKind::Slow | FaultKind::Malformed => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            90033,
            "A transient error has occurred. Please try again.",
        ),
    };
    let reply = entra_error(sim, status, error, code, text);
    match retry_after {
        Some(s) => reply.header("retry-after", s.to_string()),
        None => reply,
    }
}

/// An Entra ID error body. The description stays on one line: azure_identity 1.0 borrows
/// `error_description` as `&str`, which fails on the `\r\n` escapes real Entra ID puts there.
fn entra_error(sim: &Sim, status: StatusCode, error: &str, code: u32, text: &str) -> Reply {
    let trace = material::random_guid();
    let correlation = material::random_guid();
    let now = timestamps::entra(sim.estate().now);
    Reply::json(
        status,
        &json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {now}"
            ),
            "error_codes": [code],
            "timestamp": now,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

/// How a request's bearer token relates to what the surface accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    /// No `Authorization: Bearer` header.
    Missing,
    /// Not a token this simulator issued.
    Unknown,
    /// Issued more than an hour ago.
    Expired,
    /// Issued for another audience (the audience is kept for the error message).
    WrongAudience(String),
    /// Good for this surface.
    Valid,
}

/// Check the request's bearer token; `accepts` is given the audience host, e.g. `vault.azure.net`.
pub(crate) fn check(sim: &Sim, request: &Incoming, accepts: impl Fn(&str) -> bool) -> TokenCheck {
    let Some(bearer) = request.bearer() else {
        return TokenCheck::Missing;
    };
    let Some(token) = sim.token(bearer) else {
        return TokenCheck::Unknown;
    };
    if token.issued.elapsed().as_secs() >= TOKEN_LIFETIME_SECONDS {
        return TokenCheck::Expired;
    }
    let host = url::Url::parse(&token.audience)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    if accepts(&host) { TokenCheck::Valid } else { TokenCheck::WrongAudience(token.audience) }
}
