//! Key Vault and Managed HSM data plane: keys, key versions, rotation policies and the `sign` operation through
//! the SDK's `KeyClient` (challenge-based auth), and Managed HSM local RBAC role assignments through a bearer
//! pipeline.

use crate::{
    AzureClient, Error, Fetched, ListError,
    error::{FailureContext, from_sdk},
    paging::{self, PageTrail},
    policies::CallRecord,
};
use azure_core::http::RequestContent;
use azure_core::http::{ClientMethodOptions, Context, Response, Url, UrlExt as _, pager::PagerOptions};
use azure_security_keyvault_keys::{
    KeyClient, KeyClientOptions,
    models::{
        KeyClientGetKeyOptions, KeyClientGetKeyRotationPolicyOptions, KeyClientListKeyPropertiesVersionsOptions,
        KeyClientSignOptions, SignParameters, SignatureAlgorithm,
    },
};
use futures::TryStreamExt as _;
use std::sync::Arc;

/// Key Vault data-plane api-version (the `KeyClient` 1.0 default, stated here so `Fetched` can record it).
pub(crate) const KEY_VAULT_API_VERSION: &str = "2025-07-01";
/// Managed HSM local RBAC api-version.
pub(crate) const HSM_RBAC_API_VERSION: &str = "7.6";

/// A signature made by a Key Vault or Managed HSM key ([`AzureClient::kv_sign`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvSignature {
    /// The versioned key id that signed (`https://{vault}/keys/{name}/{version}`), exactly as the vault returned
    /// it. Record it: after a rotation only this version verifies the signature.
    pub kid: String,
    /// The algorithm that was asked for: `"ES256"`, `"RS256"` or `"PS256"`.
    pub algorithm: String,
    /// The signature, base64url-decoded: ES256 is `r || s` (64 bytes, not DER); RS256 and PS256 are as long
    /// as the RSA modulus.
    pub signature: Vec<u8>,
    /// The sign answer as received (`POST`, the URL without secrets, the JSON body and its SHA-256).
    pub raw: Fetched,
}

impl AzureClient {
    /// GET a key (`{vault}/keys/{name}/{version}`; without a version the SDK requests `/keys/{name}/`, the
    /// latest version). `vault_url` is the vault or Managed HSM URI, e.g. `https://myvault.vault.azure.net/`.
    pub async fn kv_get_key(&self, vault_url: &str, name: &str, version: Option<&str>) -> Result<Fetched, Error> {
        validate_segment("key name", name)?;
        if let Some(version) = version {
            validate_segment("key version", version)?;
        }
        let (client, endpoint) = self.key_client(vault_url)?;
        let expected = data_plane_url(&endpoint, &format!("/keys/{name}/{}", version.unwrap_or_default()));
        let record = CallRecord::new_shared();
        let options = KeyClientGetKeyOptions {
            key_version: version.map(str::to_owned),
            method_options: ClientMethodOptions { context: Context::new().with_value(record.clone()) },
        };
        let result = client.get_key(name, Some(options)).await;
        into_fetched("GET", result, &record, expected)
    }

    /// GET every page of a key's versions (`{vault}/keys/{name}/versions`, 25 per page, no `maxresults`),
    /// one [`Fetched`] per page. The SDK pager follows `nextLink`; this adds loop detection, the page cap
    /// and a same-host check before each next page.
    pub async fn kv_list_key_versions(&self, vault_url: &str, name: &str) -> Result<Vec<Fetched>, ListError> {
        let no_pages = |error| ListError::new(Vec::new(), error);
        validate_segment("key name", name).map_err(no_pages)?;
        let (client, endpoint) = self.key_client(vault_url).map_err(no_pages)?;
        let first = data_plane_url(&endpoint, &format!("/keys/{name}/versions"));
        let record = CallRecord::new_shared();
        let options = KeyClientListKeyPropertiesVersionsOptions {
            maxresults: None,
            method_options: PagerOptions { context: Context::new().with_value(record.clone()), continuation: None },
        };
        let mut pager = client
            .list_key_properties_versions(name, Some(options))
            .map_err(|e| no_pages(from_sdk(e, &FailureContext { url: first.as_str(), attempts: 0 })))?
            .into_pages();
        let mut trail = PageTrail::starting_at(&first);
        let mut pages: Vec<Fetched> = Vec::new();
        let mut requested = first;
        loop {
            let page = match pager.try_next().await {
                Ok(Some(page)) => page,
                Ok(None) => return Ok(pages),
                Err(error) => {
                    let url = record.url().unwrap_or_else(|| requested.to_string());
                    let failure = FailureContext { url: &url, attempts: record.attempts() };
                    return Err(ListError::new(pages, from_sdk(error, &failure)));
                }
            };
            let url = record.url().unwrap_or_else(|| requested.to_string());
            let (status, _headers, body) = page.deconstruct();
            pages.push(Fetched::new(
                "GET",
                url.clone(),
                u16::from(status),
                Some(KEY_VAULT_API_VERSION.to_owned()),
                body.to_vec(),
            ));
            let Some(continuation) = pager.continuation() else {
                return Ok(pages);
            };
            let raw_next = continuation.to_string();
            // What the SDK will request next: the joined link with its api-version set
            // (generated/clients/key_client.rs:811-816; the link is joined at :845).
            let next = match Url::parse(&raw_next) {
                Ok(mut next) => {
                    set_api_version(&mut next);
                    next
                }
                Err(e) => {
                    let error = Error::Malformed { url, detail: format!("nextLink '{raw_next}' is not a URL: {e}") };
                    return Err(ListError::new(pages, error));
                }
            };
            if next.origin() != endpoint.origin() {
                let error = Error::Malformed {
                    url,
                    detail: format!(
                        "nextLink '{raw_next}' leaves {}; not followed so no token goes to another host",
                        endpoint.origin().ascii_serialization()
                    ),
                };
                return Err(ListError::new(pages, error));
            }
            if let Err(error) = trail.admit(&next, &raw_next, &url, pages.len()) {
                return Err(ListError::new(pages, error));
            }
            requested = next;
        }
    }

    /// GET a key's rotation policy (`{vault}/keys/{name}/rotationpolicy`).
    pub async fn kv_get_rotation_policy(&self, vault_url: &str, name: &str) -> Result<Fetched, Error> {
        validate_segment("key name", name)?;
        let (client, endpoint) = self.key_client(vault_url)?;
        let expected = data_plane_url(&endpoint, &format!("/keys/{name}/rotationpolicy"));
        let record = CallRecord::new_shared();
        let options = KeyClientGetKeyRotationPolicyOptions {
            method_options: ClientMethodOptions { context: Context::new().with_value(record.clone()) },
        };
        let result = client.get_key_rotation_policy(name, Some(options)).await;
        into_fetched("GET", result, &record, expected)
    }

    /// Signs a SHA-256 `digest` (32 bytes) with a Key Vault or Managed HSM key through `KeyClient::sign`
    /// (`POST {vault}/keys/{name}/{version}/sign`, body `{"alg","value"}` with the digest base64url, answer
    /// `{"kid","value"}`). `key_id` is `https://{vault}/keys/{name}` (the latest version signs; the SDK requests
    /// `/keys/{name}//sign`) or `https://{vault}/keys/{name}/{version}`. `algorithm` is `"ES256"`, `"RS256"` or
    /// `"PS256"`; anything else, a digest of another length or a malformed key id is [`Error::Config`] before
    /// any request. An answer without a versioned `kid` of the same vault and key, or without a base64url
    /// signature, is [`Error::Malformed`]; HTTP failures map as for the other Key Vault calls (403 = denied).
    pub async fn kv_sign(&self, key_id: &str, algorithm: &str, digest: &[u8]) -> Result<KvSignature, Error> {
        let sdk_algorithm = match algorithm {
            "ES256" => SignatureAlgorithm::Es256,
            "RS256" => SignatureAlgorithm::Rs256,
            "PS256" => SignatureAlgorithm::Ps256,
            other => {
                return Err(Error::Config {
                    detail: format!("signature algorithm '{other}' is not supported; use ES256, RS256 or PS256"),
                });
            }
        };
        if digest.len() != 32 {
            return Err(Error::Config {
                detail: format!("{algorithm} signs a 32-byte SHA-256 digest, not {} bytes", digest.len()),
            });
        }
        let key = KeyId::parse(key_id)?;
        let (client, endpoint) = self.key_client(&key.vault_url)?;
        let path = format!("/keys/{}/{}/sign", key.name, key.version.as_deref().unwrap_or_default());
        let expected = data_plane_url(&endpoint, &path);
        let parameters = SignParameters { algorithm: Some(sdk_algorithm), value: Some(digest.to_vec()) };
        let body: RequestContent<SignParameters> = parameters.try_into().map_err(|e: azure_core::Error| {
            Error::Config { detail: format!("cannot encode the sign request: {}", crate::error::describe_chain(&e)) }
        })?;
        let record = CallRecord::new_shared();
        let options = KeyClientSignOptions {
            key_version: key.version.clone(),
            method_options: ClientMethodOptions { context: Context::new().with_value(record.clone()) },
        };
        let result = client.sign(&key.name, body, Some(options)).await;
        let raw = into_fetched("POST", result, &record, expected)?;
        let answer: SignAnswer = raw.json()?;
        let malformed = |detail: String| Error::Malformed { url: raw.url.clone(), detail };
        let kid = answer.kid.ok_or_else(|| malformed("the sign answer has no 'kid'".into()))?;
        let signed_by =
            KeyId::parse(&kid).map_err(|_| malformed(format!("the sign answer's kid '{kid}' is not a key id")))?;
        let same_key = signed_by.vault_url.eq_ignore_ascii_case(&key.vault_url)
            && signed_by.name.eq_ignore_ascii_case(&key.name)
            && signed_by.version.is_some()
            && key
                .version
                .as_ref()
                .is_none_or(|v| signed_by.version.as_ref().is_some_and(|s| s.eq_ignore_ascii_case(v)));
        if !same_key {
            return Err(malformed(format!("the sign answer's kid '{kid}' is not a version of {key_id}")));
        }
        let value = answer.value.ok_or_else(|| malformed("the sign answer has no 'value'".into()))?;
        let signature = azure_core::base64::decode_url_safe(&value)
            .map_err(|e| malformed(format!("the signature is not base64url: {e}")))?;
        if signature.is_empty() {
            return Err(malformed("the signature is empty".into()));
        }
        Ok(KvSignature { kid, algorithm: algorithm.to_owned(), signature, raw })
    }

    /// Managed HSM local RBAC: GET `{hsm_url}{scope}/providers/Microsoft.Authorization/roleAssignments`
    /// (api-version 7.6) and every `nextLink` page. `scope` is `/`, `/keys` or `/keys/{name}`. The token is
    /// for the cloud's Managed HSM audience, so `hsm_url` must be on the cloud's Managed HSM DNS suffix.
    pub async fn hsm_list_role_assignments(&self, hsm_url: &str, scope: &str) -> Result<Vec<Fetched>, ListError> {
        let no_pages = |error| ListError::new(Vec::new(), error);
        let endpoint = data_plane_endpoint(hsm_url).map_err(no_pages)?;
        let suffix = &self.inner().cloud.managed_hsm_dns_suffix;
        let host = endpoint.host_str().unwrap_or_default();
        if !host.ends_with(&format!(".{suffix}")) {
            return Err(no_pages(Error::Config {
                detail: format!(
                    "'{hsm_url}' is not a Managed HSM of this cloud (*.{suffix}); refusing to send it a token"
                ),
            }));
        }
        let scope_path = rbac_scope_path(scope).map_err(no_pages)?;
        let path = format!("{scope_path}/providers/Microsoft.Authorization/roleAssignments");
        let mut first = data_plane_url(&endpoint, &path);
        paging::force_api_version(&mut first, HSM_RBAC_API_VERSION);
        paging::follow_next_links(self, &self.inner().hsm, first, HSM_RBAC_API_VERSION).await
    }

    /// The `KeyClient` of a vault, built once per vault so its challenge and token are reused.
    fn key_client(&self, vault_url: &str) -> Result<(Arc<KeyClient>, Url), Error> {
        let endpoint = data_plane_endpoint(vault_url)?;
        let key = endpoint.to_string();
        let inner = self.inner();
        let mut clients = inner
            .key_clients
            .lock()
            .map_err(|_| Error::Config { detail: "the Key Vault client cache was poisoned by a panic".into() })?;
        if let Some(client) = clients.get(&key) {
            return Ok((client.clone(), endpoint));
        }
        let options = KeyClientOptions {
            api_version: KEY_VAULT_API_VERSION.to_owned(),
            client_options: inner.key_client_options.clone(),
            // The challenge's resource must be a parent domain of the vault host; this keeps a rogue
            // endpoint from obtaining a token for another audience.
            verify_challenge_resource: Some(true),
        };
        let client = KeyClient::new(&key, inner.credential.clone(), Some(options)).map_err(|e| Error::Config {
            detail: format!("cannot build a Key Vault client for {key}: {}", crate::error::describe_chain(&e)),
        })?;
        let client = Arc::new(client);
        clients.insert(key, client.clone());
        Ok((client, endpoint))
    }
}

/// The body of a sign answer (`KeyOperationResult`), read from the raw bytes so a missing field is named.
#[derive(serde::Deserialize)]
struct SignAnswer {
    kid: Option<String>,
    value: Option<String>,
}

/// A key identifier `https://{vault}/keys/{name}[/{version}]`, split.
#[derive(Debug, PartialEq, Eq)]
struct KeyId {
    /// `https://host[:port]/`.
    vault_url: String,
    name: String,
    version: Option<String>,
}

impl KeyId {
    fn parse(key_id: &str) -> Result<KeyId, Error> {
        let invalid = || Error::Config {
            detail: format!("'{key_id}' is not a key id (https://<vault>/keys/<name> or .../keys/<name>/<version>)"),
        };
        let url = Url::parse(key_id.trim()).map_err(|_| invalid())?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid());
        }
        let endpoint = data_plane_endpoint(key_id)?;
        let segments: Vec<&str> = url.path().trim_end_matches('/').split('/').skip(1).collect();
        let (name, version) = match segments.as_slice() {
            ["keys", name] => (*name, None),
            ["keys", name, version] => (*name, Some(*version)),
            _ => return Err(invalid()),
        };
        validate_segment("key name", name)?;
        if let Some(version) = version {
            validate_segment("key version", version)?;
        }
        Ok(KeyId { vault_url: endpoint.to_string(), name: name.to_owned(), version: version.map(str::to_owned) })
    }
}

/// `https://host[:port]/` of a vault or Managed HSM URI (path, query and fragment dropped).
fn data_plane_endpoint(vault_url: &str) -> Result<Url, Error> {
    let url = Url::parse(vault_url.trim())
        .map_err(|e| Error::Config { detail: format!("vault URL '{vault_url}' is not a URL: {e}") })?;
    if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
        return Err(Error::Config { detail: format!("vault URL '{vault_url}' must be an https URL with a host") });
    }
    let origin = url.origin().ascii_serialization();
    Url::parse(&format!("{origin}/"))
        .map_err(|e| Error::Config { detail: format!("vault URL '{vault_url}' has no usable origin: {e}") })
}

/// The URL the data plane is asked for: `endpoint` + `path` + `?api-version=`, built like the SDK builds
/// it (`UrlExt::append_path`, `query_builder`), so errors and `Fetched.url` name what was requested.
fn data_plane_url(endpoint: &Url, path: &str) -> Url {
    let mut url = endpoint.clone();
    url.append_path(path);
    set_api_version(&mut url);
    url
}

/// Sets the api-version the way the SDK does (`QueryBuilder`, which re-sorts and re-encodes the query).
fn set_api_version(url: &mut Url) {
    let mut query = url.query_builder();
    query.set_pair("api-version", KEY_VAULT_API_VERSION);
    query.build();
}

/// Key names are 1-127 of `[0-9a-zA-Z-]`, versions 32 hex digits; anything else would change the path.
fn validate_segment(what: &str, value: &str) -> Result<(), Error> {
    let valid = !value.is_empty() && value.len() <= 127 && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(Error::Config { detail: format!("{what} '{value}' may only hold letters, digits and '-'") })
    }
}

/// `""` for the HSM root scope `/`, else the scope without a trailing `/` (`/keys`, `/keys/{name}`).
fn rbac_scope_path(scope: &str) -> Result<String, Error> {
    let trimmed = scope.trim().trim_end_matches('/');
    let valid = scope.trim().starts_with('/')
        && trimmed.split('/').skip(1).all(|segment| validate_segment("scope segment", segment).is_ok());
    if valid {
        Ok(trimmed.to_owned())
    } else {
        Err(Error::Config { detail: format!("Managed HSM scope '{scope}' must be '/', '/keys' or '/keys/<name>'") })
    }
}

/// A `KeyClient` answer as a [`Fetched`] with the raw body, or its error mapped to [`Error`].
fn into_fetched<T>(
    method: &'static str,
    result: azure_core::Result<Response<T>>,
    record: &CallRecord,
    expected: Url,
) -> Result<Fetched, Error> {
    let url = record.url().unwrap_or_else(|| expected.to_string());
    match result {
        Ok(response) => {
            let (status, _headers, body) = response.deconstruct();
            Ok(Fetched::new(method, url, u16::from(status), Some(KEY_VAULT_API_VERSION.to_owned()), body.to_vec()))
        }
        Err(error) => Err(from_sdk(error, &FailureContext { url: &url, attempts: record.attempts() })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_plane_urls_match_the_sdk() {
        let endpoint =
            data_plane_endpoint("https://MyVault.vault.azure.net/some/path?x=1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(endpoint.as_str(), "https://myvault.vault.azure.net/");
        assert_eq!(
            data_plane_url(&endpoint, "/keys/k1/").as_str(),
            "https://myvault.vault.azure.net/keys/k1/?api-version=2025-07-01"
        );
        assert!(data_plane_endpoint("http://myvault.vault.azure.net/").is_err());
        assert!(data_plane_endpoint("myvault").is_err());
    }

    #[test]
    fn key_ids_are_split_and_checked() {
        let versioned = KeyId::parse("https://MyVault.vault.azure.net/keys/sign-key/0123456789abcdef0123456789abcdef");
        assert_eq!(
            versioned,
            Ok(KeyId {
                vault_url: "https://myvault.vault.azure.net/".into(),
                name: "sign-key".into(),
                version: Some("0123456789abcdef0123456789abcdef".into()),
            })
        );
        let latest =
            KeyId::parse("https://myhsm.managedhsm.azure.net/keys/sign-key/").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((latest.name.as_str(), latest.version), ("sign-key", None));
        for bad in [
            "http://myvault.vault.azure.net/keys/k",
            "https://myvault.vault.azure.net/secrets/k",
            "https://myvault.vault.azure.net/keys",
            "https://myvault.vault.azure.net/keys/k/v/extra",
            "https://myvault.vault.azure.net/keys/k?api-version=7.6",
            "https://myvault.vault.azure.net/keys/a%2Fb",
            "myvault/keys/k",
        ] {
            assert!(matches!(KeyId::parse(bad), Err(Error::Config { .. })), "{bad}");
        }
    }

    #[test]
    fn scopes_and_names_are_checked() {
        assert_eq!(rbac_scope_path("/").ok(), Some(String::new()));
        assert_eq!(rbac_scope_path("/keys").ok(), Some("/keys".into()));
        assert_eq!(rbac_scope_path("/keys/k-1/").ok(), Some("/keys/k-1".into()));
        assert!(rbac_scope_path("keys").is_err());
        assert!(rbac_scope_path("/keys/../x").is_err());
        assert!(rbac_scope_path("/keys/a?b").is_err());
        assert!(validate_segment("key name", "cmk-2024").is_ok());
        assert!(validate_segment("key name", "a/b").is_err());
        assert!(validate_segment("key name", "").is_err());
    }
}
