//! Serde mirrors of the storage resource provider's JSON (`Microsoft.Storage/storageAccounts`, api 2017-10-01
//! to 2025-06-01) and of `az storage account show/list` output. Every field is optional and unknown fields are
//! ignored: what Azure leaves out stays `None`, and the converter decides what that means.

use std::collections::BTreeMap;

use serde::Deserialize;

pub use evidence::wire::Page;

/// A storage account as ARM returns it (`GET .../storageAccounts/{name}` or one item of a list).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageAccount {
    /// ARM resource id, as Azure wrote it.
    pub id: Option<String>,
    /// Account name.
    pub name: Option<String>,
    /// ARM resource type (`Microsoft.Storage/storageAccounts`).
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    /// Azure region.
    pub location: Option<String>,
    /// Account kind (`Storage`, `StorageV2`, `BlobStorage`, ...).
    pub kind: Option<String>,
    /// SKU.
    pub sku: Option<Sku>,
    /// Managed identities attached to the account.
    pub identity: Option<ManagedIdentity>,
    /// The account's properties (ARM shape).
    pub properties: Option<StorageAccountProperties>,
    /// The same properties when they sit at the top level: `az storage account show` flattens `properties`
    /// into the resource. Only read when `properties` is absent.
    #[serde(flatten)]
    pub flattened_properties: StorageAccountProperties,
}

/// `sku` of a storage account.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sku {
    /// `Standard_LRS`, `Standard_GRS`, `Premium_LRS`, ...
    pub name: Option<String>,
    /// `Standard` or `Premium`.
    pub tier: Option<String>,
}

pub use evidence::identity::{ManagedIdentity, UserAssignedIdentity};

/// `properties` of a storage account: only what the evidence needs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageAccountProperties {
    /// Encryption at rest settings.
    pub encryption: Option<Encryption>,
    /// Firewall. `az` calls it `networkRuleSet`.
    #[serde(alias = "networkRuleSet")]
    pub network_acls: Option<NetworkAcls>,
    /// `Enabled`, `Disabled` or `SecuredByPerimeter`.
    pub public_network_access: Option<String>,
    /// `Succeeded`, `Creating`, `ResolvingDNS`, ...
    pub provisioning_state: Option<String>,
}

/// `properties.encryption`. Azure mixes casings here: `keySource` is camelCase but `keyvaultproperties` is
/// lower case on the wire; `az` and some api-versions write `keyVaultProperties`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Encryption {
    /// `Microsoft.Storage` (platform keys) or `Microsoft.Keyvault` (customer-managed key).
    pub key_source: Option<String>,
    /// A second, infrastructure-level layer of platform encryption.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub require_infrastructure_encryption: Option<bool>,
    /// Per-service encryption state (`blob`, `file`, `queue`, `table`).
    pub services: Option<BTreeMap<String, Option<EncryptionService>>>,
    /// Where the customer-managed key lives.
    #[serde(rename = "keyvaultproperties", alias = "keyVaultProperties")]
    pub key_vault_properties: Option<KeyVaultProperties>,
    /// The identity used to reach the key. `az` calls it `encryptionIdentity`.
    #[serde(alias = "encryptionIdentity")]
    pub identity: Option<EncryptionIdentity>,
}

/// One service under `encryption.services`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionService {
    /// Whether the service encrypts data at rest (always true on current accounts).
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub enabled: Option<bool>,
    /// `Account` (the account's key) or `Service` (a service-scoped key).
    pub key_type: Option<String>,
    /// When encryption was last enabled for the service.
    pub last_enabled_time: Option<String>,
}

/// `encryption.keyvaultproperties`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyVaultProperties {
    /// Vault or Managed HSM URI.
    #[serde(rename = "keyvaulturi", alias = "keyVaultUri")]
    pub key_vault_uri: Option<String>,
    /// Key name.
    #[serde(rename = "keyname", alias = "keyName")]
    pub key_name: Option<String>,
    /// Pinned version; empty or absent means "follow the latest version".
    #[serde(rename = "keyversion", alias = "keyVersion")]
    pub key_version: Option<String>,
    /// Versioned key id the account currently uses.
    pub current_versioned_key_identifier: Option<String>,
    /// When the account last switched key version.
    pub last_key_rotation_timestamp: Option<String>,
    /// Expiry of the key version in use.
    pub current_versioned_key_expiration_timestamp: Option<String>,
}

/// `encryption.identity`: which identity reaches the key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionIdentity {
    /// Resource id of the user-assigned identity; absent means the system-assigned identity.
    #[serde(alias = "encryptionUserAssignedIdentity")]
    pub user_assigned_identity: Option<String>,
    /// Client id of a multi-tenant application, for a key in another tenant.
    #[serde(alias = "encryptionFederatedIdentityClientId")]
    pub federated_identity_client_id: Option<String>,
}

/// `properties.networkAcls`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkAcls {
    /// `AzureServices`, `Logging, Metrics`, `None`, ...
    pub bypass: Option<String>,
    /// `Allow` or `Deny`.
    pub default_action: Option<String>,
}
