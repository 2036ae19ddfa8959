//! The only crate of cmk-evidence that calls Azure.
//!
//! Everything goes through `azure_core` 1.x pipelines with `BearerTokenAuthorizationPolicy` and
//! `azure_identity` credentials; Key Vault keys go through `azure_security_keyvault_keys::KeyClient`. On top
//! of the SDK this crate adds what collecting evidence needs: a retry with a capped `Retry-After` and a total
//! deadline, a per-try timeout, `nextLink` paging with loop detection, and every answer kept as raw bytes with
//! its SHA-256 ([`Fetched`]). Failures are one typed [`Error`] that maps to a coverage status, never a panic.
//!
//! Callers may submit as much work at once as they like: every request passes one limiter per client (shared
//! by its clones and by the ARM, Resource Graph, Managed HSM and Key Vault paths). It caps requests in flight
//! globally and per throttling scope — a subscription, the tenant, Resource Graph, a vault — halves a scope's
//! cap on 429/503 and regrows it on success, pauses only the throttled scope for its `Retry-After`, and
//! follows Azure's quota headers (ARM remaining reads, Resource Graph user quota) so that quota runs low
//! rather than out. Time queued there is not a failed try and does not count against the total deadline.
//! The caps are [`LimitConfig`] (in [`RetryConfig::limits`]); what throttling was met is
//! [`AzureClient::throttle_stats`].
//!
//! ```no_run
//! # async fn example() -> Result<(), azure_rest::Error> {
//! use azure_rest::{AzureClient, ClientConfig, Cloud, CredentialSpec, RetryConfig};
//!
//! let client = AzureClient::new(ClientConfig {
//!     tenant_id: "00000000-0000-0000-0000-000000000000".into(),
//!     cloud: Cloud::by_name("public")?,
//!     credential: CredentialSpec::FromEnvironment,
//!     retry: RetryConfig::default(),
//!     redirect_to_loopback: None,
//! })?;
//! match client.kv_get_key("https://myvault.vault.azure.net/", "cmk", None).await {
//!     Ok(key) => println!("{} sha256={}", key.url, key.sha256),
//!     Err(e) => println!("coverage row: {} ({e})", e.coverage_status()),
//! }
//! # Ok(()) }
//! ```
//!
//! One call is not a read: [`AzureClient::kv_sign`] signs a SHA-256 digest with a Key Vault or Managed HSM key
//! (ES256, RS256, PS256) and returns the versioned `kid` that signed ([`KvSignature`]), for signing evidence.
//!
//! Tests and the demo set [`ClientConfig::redirect_to_loopback`]: the real stack (credential, bearer
//! policy, Key Vault challenge, retry) then talks to a loopback simulator, routed by `x-forwarded-host`.

mod client;
mod cloud;
mod credential;
mod error;
mod keyvault;
mod limiter;
mod paging;
mod policies;
mod resource_graph;
mod transport;

pub use client::{AzureClient, ClientConfig, Fetched};
pub use cloud::Cloud;
pub use credential::CredentialSpec;
pub use error::{Error, ListError};
pub use keyvault::KvSignature;
pub use limiter::{LimitConfig, ScopeStats, ThrottleStats};
pub use policies::RetryConfig;
pub use resource_graph::GraphPaging;
pub use url::Url;
