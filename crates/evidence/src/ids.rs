//! Identifiers: ARM resource ids (compared case-insensitively, original kept) and Key Vault / Managed HSM key
//! identifiers parsed into vault, key name and version.

use url::Url;

use crate::Error;

/// The form of an ARM resource id used for joins: trimmed, lower case, no trailing slash. ARM ids are
/// case-insensitive and different resource providers return them in different cases.
pub fn normalize_resource_id(id: &str) -> String {
    id.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// The value that follows `/{segment}/` in an ARM id (case-insensitive match on the segment name).
fn segment_after<'a>(id: &'a str, segment: &str) -> Option<&'a str> {
    let mut parts = id.split('/').filter(|p| !p.is_empty());
    while let Some(part) = parts.next() {
        if part.eq_ignore_ascii_case(segment) {
            return parts.next();
        }
    }
    None
}

/// The subscription id in an ARM id, lower case.
pub fn subscription_of(id: &str) -> Option<String> {
    segment_after(id, "subscriptions").map(str::to_ascii_lowercase)
}

/// The resource group name in an ARM id, as written.
pub fn resource_group_of(id: &str) -> Option<String> {
    segment_after(id, "resourceGroups").map(str::to_string)
}

/// The last segment of an ARM id: the resource's own name.
pub fn resource_name_of(id: &str) -> Option<String> {
    id.trim_end_matches('/').rsplit('/').next().filter(|s| !s.is_empty()).map(str::to_string)
}

/// The ARM type an id implies, as written: `{namespace}/{type}[/{child type}...]` after the last `providers`
/// segment (`.../providers/Microsoft.Sql/servers/s1/keys/k1` → `Microsoft.Sql/servers/keys`). For documents
/// that leave out `type` (some `az` output and Microsoft's create examples).
pub fn resource_type_of(id: &str) -> Option<String> {
    let segments: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    let providers = segments.iter().rposition(|s| s.eq_ignore_ascii_case("providers"))?;
    let (namespace, rest) = segments.get(providers + 1..)?.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let types: Vec<&str> = rest.iter().step_by(2).copied().collect();
    Some(format!("{namespace}/{}", types.join("/")))
}

/// The trailing GUID of a role definition id (`/subscriptions/../roleDefinitions/{guid}` or, on Managed HSM,
/// `Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{guid}`), lower case.
pub fn role_definition_guid(role_definition_id: &str) -> String {
    resource_name_of(role_definition_id).unwrap_or_default().to_ascii_lowercase()
}

/// Whether `scope` is `target` or one of its ancestors (subscription, resource group, ...): an assignment at
/// `scope` then applies to `target`. Both are compared in normalised form.
pub fn scope_covers(scope: &str, target: &str) -> bool {
    let scope = normalize_resource_id(scope);
    let target = normalize_resource_id(target);
    if scope.is_empty() {
        // The root scope "/" covers everything.
        return true;
    }
    target == scope || target.starts_with(&format!("{scope}/"))
}

/// Which service holds a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VaultKind {
    /// An Azure Key Vault (standard or premium).
    KeyVault,
    /// An Azure Key Vault Managed HSM.
    ManagedHsm,
}

impl VaultKind {
    /// The value written to `vault_kind` columns.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::KeyVault => "key_vault",
            Self::ManagedHsm => "managed_hsm",
        }
    }

    /// Managed HSM hosts carry a `managedhsm` DNS label in every cloud (`managedhsm.azure.net`,
    /// `managedhsm.azure.cn`, `managedhsm.usgovcloudapi.net`).
    pub fn of_host(host: &str) -> Self {
        if host.split('.').any(|label| label.eq_ignore_ascii_case("managedhsm")) {
            Self::ManagedHsm
        } else {
            Self::KeyVault
        }
    }
}

/// A reference to a key: which vault, which key, and optionally which version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyReference {
    /// The vault's base URI, normalised: `https://{host}/` with the host in lower case and no default port.
    pub vault_uri: String,
    /// The vault's host name, lower case.
    pub vault_host: String,
    /// Key Vault or Managed HSM.
    pub vault_kind: VaultKind,
    /// The key's name as Azure wrote it (Key Vault treats names case-insensitively; see [`KeyReference::key_join`]).
    pub key_name: String,
    /// The version, when the reference names one.
    pub version: Option<String>,
}

impl KeyReference {
    /// Parses a key identifier: `https://{vault}/keys/{name}` or `https://{vault}/keys/{name}/{version}`,
    /// with or without `:443` and a trailing slash.
    pub fn parse_key_id(key_id: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::KeyId { key_id: key_id.to_string(), reason: why.to_string() };
        let url = Url::parse(key_id.trim()).map_err(|e| bad(&e.to_string()))?;
        let vault_uri = vault_base(&url).ok_or_else(|| bad("no host"))?;
        let mut segments = url.path_segments().ok_or_else(|| bad("no path"))?.filter(|s| !s.is_empty());
        match segments.next() {
            Some(kind) if kind.eq_ignore_ascii_case("keys") => {}
            _ => return Err(bad("path does not start with /keys/")),
        }
        let key_name = segments.next().ok_or_else(|| bad("no key name"))?.to_string();
        let version = segments.next().map(str::to_string);
        if segments.next().is_some() {
            return Err(bad("unexpected path segments after the version"));
        }
        Self::from_parts(&vault_uri, &key_name, version.as_deref())
    }

    /// Builds a reference from a vault URI, a key name and an optional version. An empty version means
    /// "no version" (Azure's way of saying "follow the latest").
    pub fn from_parts(vault_uri: &str, key_name: &str, version: Option<&str>) -> Result<Self, Error> {
        let bad = |why: &str| Error::KeyId { key_id: format!("{vault_uri} {key_name}"), reason: why.to_string() };
        let url = Url::parse(vault_uri.trim()).map_err(|e| bad(&e.to_string()))?;
        if url.scheme() != "https" {
            return Err(bad("vault URI is not https"));
        }
        let vault_uri = vault_base(&url).ok_or_else(|| bad("no host"))?;
        let vault_host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let key_name = key_name.trim();
        if key_name.is_empty() {
            return Err(bad("empty key name"));
        }
        let version = version.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        Ok(Self {
            vault_kind: VaultKind::of_host(&vault_host),
            vault_uri,
            vault_host,
            key_name: key_name.to_string(),
            version,
        })
    }

    /// The key identifier without version: `https://{host}/keys/{name}`.
    pub fn key_id(&self) -> String {
        format!("{}keys/{}", self.vault_uri, self.key_name)
    }

    /// The key identifier with `version`: `https://{host}/keys/{name}/{version}`.
    pub fn versioned_key_id(&self, version: &str) -> String {
        format!("{}keys/{}/{}", self.vault_uri, self.key_name, version)
    }

    /// Join key for "the same key": vault host and key name, both lower case.
    pub fn key_join(&self) -> (String, String) {
        (self.vault_host.clone(), self.key_name.to_ascii_lowercase())
    }

    /// This reference without its version.
    pub fn unversioned(&self) -> Self {
        Self { version: None, ..self.clone() }
    }
}

/// Normalised vault base URI: `https://{host}/`, lower-case host, default port dropped.
fn vault_base(url: &Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) if port != 443 => format!("https://{host}:{port}/"),
        _ => format!("https://{host}/"),
    })
}

/// Normalises a vault URI as it appears in ARM (`https://myvault.vault.azure.net`, sometimes with `:443` or a
/// trailing slash) to the form used in every table. Returns the input trimmed when it is not a URL.
pub fn normalize_vault_uri(uri: &str) -> String {
    Url::parse(uri.trim()).ok().and_then(|u| vault_base(&u)).unwrap_or_else(|| uri.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_join_case_insensitively() {
        let a = "/subscriptions/ABC/resourceGroups/RG/providers/Microsoft.Storage/storageAccounts/sto1/";
        let b = "/subscriptions/abc/resourcegroups/rg/providers/microsoft.storage/storageaccounts/STO1";
        assert_eq!(normalize_resource_id(a), normalize_resource_id(b));
        assert_eq!(subscription_of(a).as_deref(), Some("abc"));
        assert_eq!(resource_group_of(b).as_deref(), Some("rg"));
        assert_eq!(resource_name_of(a).as_deref(), Some("sto1"));
    }

    #[test]
    fn scopes_cover_descendants_only() {
        let vault = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv";
        assert!(scope_covers("/subscriptions/S", vault));
        assert!(scope_covers(vault, &format!("{vault}/keys/k1")));
        assert!(!scope_covers(&format!("{vault}/keys/k1"), vault));
        assert!(!scope_covers("/subscriptions/s/resourceGroups/rg2", vault));
        assert!(!scope_covers("/subscriptions/s/resourceGroups/r", vault));
        assert!(scope_covers("/", vault));
    }

    #[test]
    fn parses_key_ids_with_and_without_version() {
        let k = KeyReference::parse_key_id(
            "https://MyVault.vault.azure.net:443/keys/wrappingKey/0682afdd9c104f4285df20107e956cad",
        )
        .unwrap();
        assert_eq!(k.vault_uri, "https://myvault.vault.azure.net/");
        assert_eq!(k.vault_host, "myvault.vault.azure.net");
        assert_eq!(k.key_name, "wrappingKey");
        assert_eq!(k.version.as_deref(), Some("0682afdd9c104f4285df20107e956cad"));
        assert_eq!(k.vault_kind, VaultKind::KeyVault);
        let u = KeyReference::parse_key_id("https://hsm1.managedhsm.azure.net/keys/k/").unwrap();
        assert_eq!(u.version, None);
        assert_eq!(u.vault_kind, VaultKind::ManagedHsm);
        assert_eq!(u.key_id(), "https://hsm1.managedhsm.azure.net/keys/k");
        assert!(KeyReference::parse_key_id("https://v.vault.azure.net/secrets/x").is_err());
        assert!(KeyReference::parse_key_id("not a url").is_err());
        assert!(KeyReference::from_parts("http://v.vault.azure.net", "k", None).is_err());
        let empty = KeyReference::from_parts("https://v.vault.azure.net", "k", Some("")).unwrap();
        assert_eq!(empty.version, None);
    }
}
