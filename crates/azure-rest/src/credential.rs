//! Which identity the client signs in as, and how that becomes an `azure_identity` credential.
//!
//! Every credential that talks HTTP gets the cloud's authority host and the same `ClientOptions` transport as
//! the pipelines, so with a loopback redirect the token requests reach the simulator's token endpoint too.

use crate::{Cloud, Error, error::describe_chain};
use azure_core::{
    cloud::{CloudConfiguration, CustomConfiguration},
    credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions},
    http::ClientOptions,
    time::{Duration as TimeDuration, OffsetDateTime},
};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, AzureDeveloperCliCredential, AzureDeveloperCliCredentialOptions,
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use std::{
    collections::HashMap,
    fmt,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

/// How to sign in to Entra ID.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum CredentialSpec {
    /// The account logged in to the Azure CLI (`az login`), else the Azure Developer CLI (`azd auth login`),
    /// asked for a token in the client's tenant. The default.
    #[default]
    DeveloperTools,
    /// A service principal with a client secret.
    ClientSecret {
        /// Tenant to sign in to.
        tenant_id: String,
        /// Application (client) id.
        client_id: String,
        /// The client secret. Never printed: `Debug` redacts it.
        secret: String,
    },
    /// Entra Workload Identity (a federated Kubernetes service account token in a file). `None` fields fall
    /// back to `AZURE_CLIENT_ID` / `AZURE_FEDERATED_TOKEN_FILE`; the tenant falls back to the client's tenant.
    WorkloadIdentity {
        /// Tenant to sign in to.
        tenant_id: Option<String>,
        /// Application (client) id of the federated identity.
        client_id: Option<String>,
        /// File holding the federated token.
        token_file: Option<PathBuf>,
    },
    /// Managed identity of the App Service or VM the tool runs on: system-assigned, or the user-assigned
    /// identity with this client id.
    ManagedIdentity {
        /// Client id of a user-assigned identity; `None` for the system-assigned one.
        client_id: Option<String>,
    },
    /// Chosen from the usual environment variables, in this order:
    ///
    /// 1. `AZURE_CLIENT_SECRET` set and not empty: [`CredentialSpec::ClientSecret`] with `AZURE_CLIENT_ID`
    ///    (required) and the client's tenant (`AZURE_TENANT_ID` when the client's tenant is empty);
    /// 2. else `AZURE_FEDERATED_TOKEN_FILE` set and not empty: [`CredentialSpec::WorkloadIdentity`] with that
    ///    file, `AZURE_CLIENT_ID` and the same tenant rule;
    /// 3. else [`CredentialSpec::DeveloperTools`].
    ///
    /// The client's tenant wins over `AZURE_TENANT_ID` because a multi-tenant app registration must get its
    /// token from the tenant being collected, not from its home tenant.
    FromEnvironment,
}

impl fmt::Debug for CredentialSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DeveloperTools => f.write_str("DeveloperTools"),
            Self::ClientSecret { tenant_id, client_id, secret: _ } => f
                .debug_struct("ClientSecret")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("secret", &"<redacted>")
                .finish(),
            Self::WorkloadIdentity { tenant_id, client_id, token_file } => f
                .debug_struct("WorkloadIdentity")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("token_file", token_file)
                .finish(),
            Self::ManagedIdentity { client_id } => {
                f.debug_struct("ManagedIdentity").field("client_id", client_id).finish()
            }
            Self::FromEnvironment => f.write_str("FromEnvironment"),
        }
    }
}

const AZURE_TENANT_ID: &str = "AZURE_TENANT_ID";
const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";
const AZURE_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
const AZURE_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";

impl CredentialSpec {
    /// Resolves [`CredentialSpec::FromEnvironment`] against `lookup` (the process environment in
    /// production); other specs are returned as they are.
    pub(crate) fn resolve(
        &self,
        client_tenant: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<CredentialSpec, Error> {
        if *self != CredentialSpec::FromEnvironment {
            return Ok(self.clone());
        }
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let tenant =
            if client_tenant.trim().is_empty() { var(AZURE_TENANT_ID) } else { Some(client_tenant.to_owned()) };
        if let Some(secret) = var(AZURE_CLIENT_SECRET) {
            let client_id = var(AZURE_CLIENT_ID).ok_or_else(|| Error::Config {
                detail: format!("{AZURE_CLIENT_SECRET} is set but {AZURE_CLIENT_ID} is not"),
            })?;
            let tenant_id = tenant.ok_or_else(|| Error::Config {
                detail: format!(
                    "{AZURE_CLIENT_SECRET} is set but no tenant is configured and {AZURE_TENANT_ID} is not set"
                ),
            })?;
            return Ok(CredentialSpec::ClientSecret { tenant_id, client_id, secret });
        }
        if let Some(token_file) = var(AZURE_FEDERATED_TOKEN_FILE) {
            return Ok(CredentialSpec::WorkloadIdentity {
                tenant_id: tenant,
                client_id: var(AZURE_CLIENT_ID),
                token_file: Some(PathBuf::from(token_file)),
            });
        }
        Ok(CredentialSpec::DeveloperTools)
    }

    /// Short description for logs, never containing a secret.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::DeveloperTools => "developer tools (az/azd)",
            Self::ClientSecret { .. } => "client secret",
            Self::WorkloadIdentity { .. } => "workload identity",
            Self::ManagedIdentity { .. } => "managed identity",
            Self::FromEnvironment => "from environment",
        }
    }
}

/// `client_options` with the cloud's authority host set, as `azure_identity` reads it
/// (`CloudConfiguration::Custom`; the enum and its struct are `#[non_exhaustive]`, hence the mutation).
fn with_authority(client_options: &ClientOptions, cloud: &Cloud) -> ClientOptions {
    let mut custom = CustomConfiguration::default();
    custom.authority_host = cloud.authority_host.as_str().trim_end_matches('/').to_owned();
    let mut options = client_options.clone();
    options.cloud = Some(Arc::new(CloudConfiguration::Custom(custom)));
    options
}

fn credential_error(what: &str, error: azure_core::Error) -> Error {
    Error::Credential { detail: format!("cannot set up the {what} credential: {}", describe_chain(&error)) }
}

/// Builds the credential for a resolved spec (never [`CredentialSpec::FromEnvironment`]).
pub(crate) fn build_credential(
    spec: &CredentialSpec,
    client_tenant: &str,
    cloud: &Cloud,
    client_options: &ClientOptions,
) -> Result<Arc<dyn TokenCredential>, Error> {
    let options = with_authority(client_options, cloud);
    let tenant = (!client_tenant.trim().is_empty()).then(|| client_tenant.to_owned());
    let credential: Arc<dyn TokenCredential> = match spec {
        CredentialSpec::DeveloperTools => DeveloperLogin::new(tenant)?,
        CredentialSpec::ClientSecret { tenant_id, client_id, secret } => ClientSecretCredential::new(
            tenant_id,
            client_id.clone(),
            Secret::new(secret.clone()),
            Some(ClientSecretCredentialOptions { client_options: options }),
        )
        .map_err(|e| credential_error(spec.kind(), e))?,
        CredentialSpec::WorkloadIdentity { tenant_id, client_id, token_file } => {
            WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                credential_options: ClientAssertionCredentialOptions { client_options: options },
                client_id: client_id.clone(),
                tenant_id: tenant_id.clone().or(tenant),
                token_file_path: token_file.clone(),
            }))
            .map_err(|e| credential_error(spec.kind(), e))?
        }
        CredentialSpec::ManagedIdentity { client_id } => {
            // IMDS brings its own retry tuned to Azure's guidance (azure_identity 1.0.0
            // `virtual_machine_managed_identity_credential.rs:38-68`); ours on top would multiply the tries.
            let mut options = options;
            options.per_call_policies.clear();
            ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                user_assigned_id: client_id.clone().map(UserAssignedId::ClientId),
                client_options: options,
            }))
            .map_err(|e| credential_error(spec.kind(), e))?
        }
        CredentialSpec::FromEnvironment => {
            return Err(Error::Config {
                detail: "FromEnvironment must be resolved before building a credential".into(),
            });
        }
    };
    Ok(credential)
}

/// Azure CLI, then Azure Developer CLI, asked for a token in a given tenant.
///
/// `azure_identity::DeveloperToolsCredential` tries the same two tools but has no tenant option
/// (`DeveloperToolsCredentialOptions` only holds an executor, azure_identity 1.0.0
/// `developer_tools_credential.rs:22-29`), so a multi-tenant run would get tokens for the CLI's default
/// tenant. Neither CLI credential caches tokens ("every call invokes the CLI", `azure_cli_credential.rs:139`),
/// and each Key Vault client has its own bearer policy, so tokens are cached here per scope set.
#[derive(Debug)]
struct DeveloperLogin {
    sources: Vec<Arc<dyn TokenCredential>>,
    /// Index of the tool that answered first; `usize::MAX` until one did.
    chosen: AtomicUsize,
    cache: tokio::sync::Mutex<HashMap<Vec<String>, AccessToken>>,
}

impl DeveloperLogin {
    fn new(tenant_id: Option<String>) -> Result<Arc<Self>, Error> {
        let cli = AzureCliCredential::new(Some(AzureCliCredentialOptions {
            tenant_id: tenant_id.clone(),
            ..Default::default()
        }))
        .map_err(|e| credential_error("Azure CLI", e))?;
        let azd = AzureDeveloperCliCredential::new(Some(AzureDeveloperCliCredentialOptions {
            tenant_id,
            ..Default::default()
        }))
        .map_err(|e| credential_error("Azure Developer CLI", e))?;
        Ok(Arc::new(Self {
            sources: vec![cli, azd],
            chosen: AtomicUsize::new(usize::MAX),
            cache: tokio::sync::Mutex::new(HashMap::new()),
        }))
    }

    async fn fetch(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let chosen = self.chosen.load(Ordering::Relaxed);
        if let Some(source) = self.sources.get(chosen) {
            return source.get_token(scopes, options).await;
        }
        let mut failures = Vec::new();
        for (index, source) in self.sources.iter().enumerate() {
            match source.get_token(scopes, options.clone()).await {
                Ok(token) => {
                    self.chosen.store(index, Ordering::Relaxed);
                    return Ok(token);
                }
                Err(error) => failures.push(describe_chain(&error)),
            }
        }
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            format!(
                "neither the Azure CLI nor the Azure Developer CLI gave a token (run `az login` or \
                 `azd auth login`): {}",
                failures.join(" | ")
            ),
        ))
    }
}

#[async_trait::async_trait]
impl TokenCredential for DeveloperLogin {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let key: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let mut cache = self.cache.lock().await;
        let fresh_until = OffsetDateTime::now_utc() + TimeDuration::minutes(5);
        if let Some(token) = cache.get(&key).filter(|t| t.expires_on > fresh_until) {
            return Ok(token.clone());
        }
        let token = self.fetch(scopes, options).await?;
        cache.insert(key, token.clone());
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn from_environment_prefers_secret_then_token_file_then_developer_tools() {
        let spec = CredentialSpec::FromEnvironment;
        let secret = spec.resolve(
            "t-config",
            env(&[
                (AZURE_TENANT_ID, "t-env"),
                (AZURE_CLIENT_ID, "app"),
                (AZURE_CLIENT_SECRET, "s3cr3t"),
                (AZURE_FEDERATED_TOKEN_FILE, "/var/run/token"),
            ]),
        );
        assert_eq!(
            secret.ok(),
            Some(CredentialSpec::ClientSecret {
                tenant_id: "t-config".into(),
                client_id: "app".into(),
                secret: "s3cr3t".into()
            })
        );
        let federated = spec.resolve(
            "",
            env(&[
                (AZURE_TENANT_ID, "t-env"),
                (AZURE_CLIENT_ID, "app"),
                (AZURE_CLIENT_SECRET, ""),
                (AZURE_FEDERATED_TOKEN_FILE, "/var/run/token"),
            ]),
        );
        assert_eq!(
            federated.ok(),
            Some(CredentialSpec::WorkloadIdentity {
                tenant_id: Some("t-env".into()),
                client_id: Some("app".into()),
                token_file: Some(PathBuf::from("/var/run/token")),
            })
        );
        let developer = spec.resolve("t", env(&[(AZURE_CLIENT_ID, "app")]));
        assert_eq!(developer.ok(), Some(CredentialSpec::DeveloperTools));
        let missing_client = spec.resolve("t", env(&[(AZURE_CLIENT_SECRET, "s3cr3t")]));
        match missing_client {
            Err(Error::Config { detail }) => assert!(!detail.contains("s3cr3t")),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let spec = CredentialSpec::ClientSecret {
            tenant_id: "tenant".into(),
            client_id: "app".into(),
            secret: "s3cr3t-value".into(),
        };
        let shown = format!("{spec:?} {spec:#?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("app"));
    }
}
