//! [`AzureClient`]: the pipelines (ARM, Managed HSM, Key Vault clients) built from a [`ClientConfig`], and
//! the ARM calls. Every answer that can become evidence is returned as a [`Fetched`]: the exact bytes Azure
//! sent and their SHA-256.

use crate::{
    Cloud, CredentialSpec, Error, ListError, RetryConfig,
    credential::build_credential,
    error::{FailureContext, from_sdk, from_status},
    limiter::{LimitPolicy, Limiter, ThrottleStats},
    paging,
    policies::{BoundedRetryPolicy, CallRecord, PerTryTimeoutPolicy},
    transport::LoopbackRedirect,
};
use azure_core::{
    credentials::TokenCredential,
    http::{
        ClientOptions, Context, HttpClient, Method, Pipeline, PipelineSendOptions, Request, RetryOptions, Transport,
        Url, policies::Policy, policies::auth::BearerTokenAuthorizationPolicy,
    },
};
use azure_security_keyvault_keys::KeyClient;
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    fmt,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

/// Everything needed to build an [`AzureClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The tenant (directory) to collect; tokens are requested in this tenant.
    pub tenant_id: String,
    /// The cloud to talk to.
    pub cloud: Cloud,
    /// How to sign in.
    pub credential: CredentialSpec,
    /// Retry, timeout, pacing and concurrency settings (`retry.limits`).
    pub retry: RetryConfig,
    /// Send every request (token requests included) to this loopback address instead of Azure, with the
    /// original host in `x-forwarded-host`: how the demo and the tests reach `azure-sim`.
    pub redirect_to_loopback: Option<SocketAddr>,
}

/// One answer from Azure, kept byte for byte.
#[derive(Clone, PartialEq, Eq)]
pub struct Fetched {
    /// HTTP method, e.g. `"GET"`.
    pub method: &'static str,
    /// The URL as requested (the real Azure URL, also when redirected to a loopback simulator). Never holds
    /// a secret.
    pub url: String,
    /// HTTP status (2xx).
    pub status: u16,
    /// The `api-version` the request used.
    pub api_version: Option<String>,
    /// The exact body bytes Azure sent (after transfer decoding).
    pub body: Vec<u8>,
    /// Lowercase hex SHA-256 of `body`.
    pub sha256: String,
}

impl Fetched {
    pub(crate) fn new(
        method: &'static str,
        url: String,
        status: u16,
        api_version: Option<String>,
        body: Vec<u8>,
    ) -> Self {
        let sha256 = hex::encode(Sha256::digest(&body));
        Self { method, url, status, api_version, body, sha256 }
    }

    /// Deserializes the body; a body that does not fit `T` is [`Error::Malformed`] naming this URL.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Malformed {
            url: self.url.clone(),
            detail: format!("body does not have the expected shape: {e}"),
        })
    }
}

impl fmt::Debug for Fetched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetched")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("status", &self.status)
            .field("api_version", &self.api_version)
            .field("body_len", &self.body.len())
            .field("sha256", &self.sha256)
            .finish()
    }
}

/// The one way this project talks to Azure. Cheap to clone (an `Arc` inside); share one per tenant.
///
/// ```no_run
/// # async fn example() -> Result<(), azure_rest::Error> {
/// use azure_rest::{AzureClient, ClientConfig, Cloud, CredentialSpec, RetryConfig};
///
/// let client = AzureClient::new(ClientConfig {
///     tenant_id: "00000000-0000-0000-0000-000000000000".into(),
///     cloud: Cloud::public(),
///     credential: CredentialSpec::DeveloperTools,
///     retry: RetryConfig::default(),
///     redirect_to_loopback: None,
/// })?;
/// let pages = client
///     .arm_list("/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Storage/storageAccounts", "2025-06-01")
///     .await
///     .map_err(|e| e.error)?;
/// for page in &pages {
///     println!("{} {} bytes sha256={}", page.url, page.body.len(), page.sha256);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AzureClient {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) cloud: Cloud,
    pub(crate) tenant_id: String,
    pub(crate) credential: Arc<dyn TokenCredential>,
    /// ARM and Resource Graph: bounded retry, bearer token for the cloud's ARM scope, limiter, per-try
    /// timeout.
    pub(crate) arm: Pipeline,
    /// Managed HSM data plane (local RBAC): like ARM with the Managed HSM scope.
    pub(crate) hsm: Pipeline,
    /// Options every `KeyClient` is built with (transport, bounded retry, limiter, per-try timeout; the
    /// client puts its challenge-auth policy in front of our per-try policies).
    pub(crate) key_client_options: ClientOptions,
    /// Admission control shared by the three paths (and by every clone of the client).
    pub(crate) limiter: Arc<Limiter>,
    /// One `KeyClient` per vault, so the challenge and the token are done once per vault.
    pub(crate) key_clients: Mutex<HashMap<String, Arc<KeyClient>>>,
}

impl fmt::Debug for AzureClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureClient")
            .field("cloud", &self.inner.cloud.name)
            .field("tenant_id", &self.inner.tenant_id)
            .finish_non_exhaustive()
    }
}

const CRATE_NAME: Option<&str> = option_env!("CARGO_PKG_NAME");
const CRATE_VERSION: Option<&str> = option_env!("CARGO_PKG_VERSION");

impl AzureClient {
    /// Builds the credential and the pipelines. Does no I/O: a wrong credential shows up as
    /// [`Error::Credential`] on the first call.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        validate_tenant(&config.tenant_id)?;
        validate_retry(&config.retry)?;
        // One HTTP client (one connection pool) for every pipeline, Key Vault client and credential.
        let http: Arc<dyn HttpClient> = match config.redirect_to_loopback {
            Some(addr) => Arc::new(LoopbackRedirect::new(addr)?),
            None => azure_core::http::new_http_client(None),
        };
        let transport = Some(Transport::new(http));
        // The SDK's own retry is switched off everywhere; `BoundedRetryPolicy` replaces it (see policies.rs).
        let base = ClientOptions { transport, retry: RetryOptions::none(), ..Default::default() };
        let per_try_timeout: Arc<dyn Policy> = Arc::new(PerTryTimeoutPolicy::new(config.retry.per_try_timeout));
        // Token requests go through these options: retry and per-try timeout, but no limiter.
        let mut credential_options = base.clone();
        credential_options.per_call_policies =
            vec![Arc::new(BoundedRetryPolicy::new(config.retry.clone(), false, None))];
        credential_options.per_try_policies = vec![per_try_timeout.clone()];

        let spec = config.credential.resolve(&config.tenant_id, |name| std::env::var(name).ok())?;
        let credential = build_credential(&spec, &config.tenant_id, &config.cloud, &credential_options)?;
        tracing::debug!(
            credential = spec.kind(),
            cloud = %config.cloud.name,
            "Azure client configured"
        );

        let limiter = Arc::new(Limiter::new(
            config.retry.limits.clone(),
            config.retry.min_remaining_reads,
            config.retry.retry_after_cap,
            config.cloud.arm_endpoint.clone(),
        ));
        let limit: Arc<dyn Policy> = Arc::new(LimitPolicy::new(limiter.clone()));
        let retry: Arc<dyn Policy> =
            Arc::new(BoundedRetryPolicy::new(config.retry.clone(), true, Some(limiter.clone())));
        let bearer = |scope: String| -> Arc<dyn Policy> {
            Arc::new(BearerTokenAuthorizationPolicy::new(credential.clone(), [scope]))
        };
        // The limiter sits right before the per-try timeout, which then bounds the transport only: a wait
        // for a permit, a paused scope or a quota slot is never cut short as a failed try.
        let arm = Pipeline::new(
            CRATE_NAME,
            CRATE_VERSION,
            base.clone(),
            vec![retry.clone()],
            vec![bearer(config.cloud.arm_scope.clone()), limit.clone(), per_try_timeout.clone()],
            None,
        );
        let hsm = Pipeline::new(
            CRATE_NAME,
            CRATE_VERSION,
            base.clone(),
            vec![retry.clone()],
            vec![bearer(config.cloud.managed_hsm_scope()), limit.clone(), per_try_timeout.clone()],
            None,
        );
        let mut key_client_options = base;
        key_client_options.per_call_policies = vec![retry];
        key_client_options.per_try_policies = vec![limit, per_try_timeout];
        Ok(Self {
            inner: Arc::new(Inner {
                cloud: config.cloud,
                tenant_id: config.tenant_id,
                credential: credential.clone(),
                arm,
                hsm,
                key_client_options,
                limiter,
                key_clients: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Throttling this client (and its clones) has met so far, per scope kind: 429s and 503s seen, retries,
    /// time scopes spent paused by `Retry-After`, and waits caused by quota headers.
    pub fn throttle_stats(&self) -> ThrottleStats {
        self.inner.limiter.stats()
    }

    /// The cloud this client talks to.
    pub fn cloud(&self) -> &Cloud {
        &self.inner.cloud
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// GET `{arm_endpoint}{path}?api-version={api_version}`. `path` starts with `/` and may already hold a
    /// query (an `api-version` in it is replaced); an absolute `https` URL on the ARM host is accepted too.
    pub async fn arm_get(&self, path: &str, api_version: &str) -> Result<Fetched, Error> {
        let url = self.arm_url(path, api_version)?;
        self.get(&self.inner.arm, url, api_version).await
    }

    /// Follows `nextLink` through every page of an ARM list (any `{"value": [...], "nextLink": ...}` shape)
    /// and returns one [`Fetched`] per page, in order. A `nextLink` with a missing or malformed api-version
    /// gets `api_version`; one that repeats ends with [`Error::PagingLoop`]; one on another host, a page that
    /// is not JSON or has no `value` array end with [`Error::Malformed`]. Pages fetched before a failure are
    /// in [`ListError::pages_so_far`].
    pub async fn arm_list(&self, path: &str, api_version: &str) -> Result<Vec<Fetched>, ListError> {
        let url = self.arm_url(path, api_version).map_err(|e| ListError::new(Vec::new(), e))?;
        paging::follow_next_links(self, &self.inner.arm, url, api_version).await
    }

    pub(crate) fn arm_url(&self, path: &str, api_version: &str) -> Result<Url, Error> {
        paging::validate_api_version(api_version)?;
        let arm = &self.inner.cloud.arm_endpoint;
        let mut url = if path.starts_with('/') {
            let joined = format!("{}{}", arm.as_str().trim_end_matches('/'), path);
            Url::parse(&joined)
                .map_err(|e| Error::Config { detail: format!("ARM path '{path}' does not make a URL: {e}") })?
        } else {
            let url = Url::parse(path).map_err(|_| Error::Config {
                detail: format!(
                    "ARM path '{path}' must start with '/' or be an https URL on {}",
                    arm.host_str().unwrap_or_default()
                ),
            })?;
            if url.origin() != arm.origin() {
                return Err(Error::Config {
                    detail: format!(
                        "refusing to send an ARM token to {}: only {} is allowed",
                        url.origin().ascii_serialization(),
                        arm.origin().ascii_serialization()
                    ),
                });
            }
            url
        };
        paging::force_api_version(&mut url, api_version);
        Ok(url)
    }

    /// Sends one GET through `pipeline` and keeps the answer; non-2xx becomes an [`Error`].
    pub(crate) async fn get(&self, pipeline: &Pipeline, url: Url, api_version: &str) -> Result<Fetched, Error> {
        self.send(pipeline, Verb::Get, url, api_version, None).await
    }

    /// Sends one request through `pipeline` (a JSON `body` for POST) and keeps the answer; non-2xx becomes
    /// an [`Error`]. `skip_checks` so the raw status and body are seen here, not parsed by the SDK.
    pub(crate) async fn send(
        &self,
        pipeline: &Pipeline,
        verb: Verb,
        url: Url,
        api_version: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Fetched, Error> {
        let record = CallRecord::new_shared();
        let ctx = Context::new().with_value(record.clone());
        let url_text = url.to_string();
        let mut request = Request::new(url, verb.method());
        request.insert_header("accept", "application/json");
        if let Some(body) = body {
            request.insert_header("content-type", "application/json");
            request.set_body(body);
        }
        let sent = pipeline
            .send(&ctx, &mut request, Some(PipelineSendOptions { skip_checks: true, ..Default::default() }))
            .await;
        let failure = FailureContext { url: &url_text, attempts: record.attempts() };
        match sent {
            Ok(response) => {
                let (status, headers, body) = response.deconstruct();
                let status = u16::from(status);
                if (200..300).contains(&status) {
                    Ok(Fetched::new(verb.name(), url_text, status, Some(api_version.to_owned()), body.to_vec()))
                } else {
                    Err(from_status(status, &headers, &body, &failure))
                }
            }
            Err(error) => Err(from_sdk(error, &failure)),
        }
    }
}

/// The methods this crate sends: reads only (a Resource Graph query is a read sent as POST).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Verb {
    Get,
    Post,
}

impl Verb {
    fn method(self) -> Method {
        match self {
            Verb::Get => Method::Get,
            Verb::Post => Method::Post,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
        }
    }
}

fn validate_tenant(tenant_id: &str) -> Result<(), Error> {
    let valid = tenant_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(Error::Config {
            detail: format!("tenant id '{tenant_id}' may only hold letters, digits, '.' and '-' (a GUID or a domain)"),
        })
    }
}

fn validate_retry(retry: &RetryConfig) -> Result<(), Error> {
    if retry.per_try_timeout.is_zero() || retry.total_deadline.is_zero() {
        return Err(Error::Config { detail: "per_try_timeout and total_deadline must be longer than zero".into() });
    }
    retry.limits.validate().map_err(|detail| Error::Config { detail })
}
