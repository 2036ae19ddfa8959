//! Serde mirrors of the container registry resource provider's JSON (`Microsoft.ContainerRegistry/registries`,
//! api 2019-05-01 to 2025-04-01) and of `az acr show/list` output, which flattens `properties` into the
//! resource. Every field is optional and unknown fields are ignored: what Azure leaves out stays `None`, and
//! the converter decides what that means.

use serde::Deserialize;

pub use evidence::identity::{ManagedIdentity, UserAssignedIdentity};
pub use evidence::wire::Page;

/// A container registry as ARM returns it (`GET .../registries/{name}` or one item of a list).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registry {
    /// ARM resource id, as Azure wrote it.
    pub id: Option<String>,
    /// Registry name.
    pub name: Option<String>,
    /// ARM resource type (`Microsoft.ContainerRegistry/registries`).
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    /// Azure region.
    pub location: Option<String>,
    /// SKU: customer-managed keys need `Premium`.
    pub sku: Option<Sku>,
    /// Managed identities attached to the registry.
    pub identity: Option<ManagedIdentity>,
    /// The registry's properties (ARM shape).
    pub properties: Option<RegistryProperties>,
    /// The same properties when they sit at the top level, as `az acr show` writes them. Only read when
    /// `properties` is absent.
    #[serde(flatten)]
    pub flattened_properties: RegistryProperties,
}

/// `sku` of a registry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sku {
    /// `Basic`, `Standard`, `Premium` (or the retired `Classic`).
    pub name: Option<String>,
    /// Same values as `name`.
    pub tier: Option<String>,
}

/// `properties` of a registry: only what the evidence needs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryProperties {
    /// Encryption at rest settings.
    pub encryption: Option<Encryption>,
    /// `Enabled` or `Disabled`.
    pub public_network_access: Option<String>,
    /// Whether the admin user (a shared secret) is enabled.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub admin_user_enabled: Option<bool>,
    /// `Succeeded`, `Creating`, ...
    pub provisioning_state: Option<String>,
}

/// `properties.encryption`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Encryption {
    /// `enabled` (customer-managed key) or `disabled`.
    pub status: Option<String>,
    /// Where the customer-managed key lives.
    pub key_vault_properties: Option<KeyVaultProperties>,
}

/// `encryption.keyVaultProperties`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyVaultProperties {
    /// Key identifier as configured: versionless when the registry follows the latest version.
    pub key_identifier: Option<String>,
    /// Versioned key identifier the registry currently uses.
    pub versioned_key_identifier: Option<String>,
    /// Client id of the identity that reaches the key.
    pub identity: Option<String>,
    /// Whether the registry adopts new key versions by itself.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub key_rotation_enabled: Option<bool>,
    /// When the registry last switched key version.
    pub last_key_rotation_timestamp: Option<String>,
}
