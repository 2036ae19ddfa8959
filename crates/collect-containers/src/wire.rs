//! Serde mirrors of the JSON this collector reads: container groups (`Microsoft.ContainerInstance`, api
//! 2022-09-01 to 2025-09-01), Container Apps environments, their certificates and container apps
//! (`Microsoft.App`, api 2022-03-01 to 2025-07-01), and App Service sites (`Microsoft.Web/sites`, 2024-04-01),
//! plus the `az ... show` output of each, which flattens `properties` into the top level. Every field is
//! optional and unknown fields are ignored: what Azure leaves out stays `None`, and the converter decides what
//! that means. Secret values are deliberately not mirrored, so they are never even held.

use serde::Deserialize;

pub use evidence::identity::{ManagedIdentity, UserAssignedIdentity};
pub use evidence::wire::Page;

/// The fields every ARM resource document carries at the top level.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResourceHeader {
    /// ARM resource id, as Azure wrote it.
    pub id: Option<String>,
    /// Resource name.
    pub name: Option<String>,
    /// ARM resource type.
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
}

/// A container group as ARM returns it (`GET .../containerGroups/{name}` or one item of a list).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerGroup {
    /// ARM resource id.
    pub id: Option<String>,
    /// Group name.
    pub name: Option<String>,
    /// Azure region.
    pub location: Option<String>,
    /// Managed identities attached to the group.
    pub identity: Option<ManagedIdentity>,
    /// The group's properties (ARM shape).
    pub properties: Option<ContainerGroupProperties>,
    /// The same properties at the top level (`az container show`); read only when `properties` is absent.
    #[serde(flatten)]
    pub flattened_properties: ContainerGroupProperties,
}

/// `properties` of a container group: only what the evidence needs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerGroupProperties {
    /// `Standard`, `Dedicated` or `Confidential`.
    pub sku: Option<String>,
    /// `Linux` or `Windows`.
    pub os_type: Option<String>,
    /// The customer-managed key; absent when the group uses Microsoft-managed keys.
    pub encryption_properties: Option<EncryptionProperties>,
    /// `Succeeded`, `Pending`, `Failed`, ...
    pub provisioning_state: Option<String>,
}

/// `properties.encryptionProperties` of a container group.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionProperties {
    /// Vault base URL (`https://{vault}.vault.azure.net/`).
    pub vault_base_url: Option<String>,
    /// Key name.
    pub key_name: Option<String>,
    /// Key version the group encrypts with.
    pub key_version: Option<String>,
    /// Resource id of the user-assigned identity that reaches the key; absent means the system-assigned one.
    pub identity: Option<String>,
}

/// A Container Apps environment (`Microsoft.App/managedEnvironments`). Its properties say nothing about
/// encryption at rest; only the identity matters here (it reads Key Vault certificates).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ManagedEnvironment {
    /// ARM resource id.
    pub id: Option<String>,
    /// Environment name.
    pub name: Option<String>,
    /// Managed identities attached to the environment (api 2024-03-01 and later).
    pub identity: Option<ManagedIdentity>,
}

/// A certificate of a Container Apps environment (`.../managedEnvironments/{env}/certificates/{name}`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EnvironmentCertificate {
    /// ARM resource id.
    pub id: Option<String>,
    /// Certificate name (Azure's own example omits it; the id's last segment is used then).
    pub name: Option<String>,
    /// The certificate's properties (ARM shape).
    pub properties: Option<CertificateProperties>,
    /// The same properties at the top level (`az` output); read only when `properties` is absent.
    #[serde(flatten)]
    pub flattened_properties: CertificateProperties,
}

/// `properties` of an environment certificate.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateProperties {
    /// Where the certificate is imported from; absent for an uploaded certificate.
    pub certificate_key_vault_properties: Option<KeyVaultReference>,
}

/// A Key Vault reference: `certificateKeyVaultProperties` of a certificate, or one app secret.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyVaultReference {
    /// Secret or certificate URL in the vault.
    pub key_vault_url: Option<String>,
    /// Resource id of a user-assigned identity, or `system`.
    pub identity: Option<String>,
}

/// A container app (`Microsoft.App/containerApps`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContainerApp {
    /// ARM resource id.
    pub id: Option<String>,
    /// App name.
    pub name: Option<String>,
    /// Managed identities attached to the app.
    pub identity: Option<ManagedIdentity>,
    /// The app's properties (ARM shape).
    pub properties: Option<ContainerAppProperties>,
    /// The same properties at the top level (`az` output); read only when `properties` is absent.
    #[serde(flatten)]
    pub flattened_properties: ContainerAppProperties,
}

/// `properties` of a container app: only what the evidence needs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerAppProperties {
    /// Environment the app runs in.
    pub managed_environment_id: Option<String>,
    /// The same, under its newer name (api 2023-05-01 and later write both).
    pub environment_id: Option<String>,
    /// Revision-independent configuration.
    pub configuration: Option<ContainerAppConfiguration>,
}

/// `properties.configuration` of a container app.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContainerAppConfiguration {
    /// The app's secrets (names and Key Vault references; ARM never returns values on GET).
    pub secrets: Option<Vec<AppSecret>>,
}

/// One entry of `configuration.secrets`. `value` is deliberately not mirrored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppSecret {
    /// Secret name inside the app.
    pub name: Option<String>,
    /// Key Vault secret URL; absent for a secret stored in the app.
    pub key_vault_url: Option<String>,
    /// Resource id of a user-assigned identity, or `system`.
    pub identity: Option<String>,
}

/// An App Service or Function app (`Microsoft.Web/sites`): only what names it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Site {
    /// ARM resource id.
    pub id: Option<String>,
    /// Site name.
    pub name: Option<String>,
    /// `app`, `app,linux`, `functionapp`, `functionapp,linux`, `functionapp,workflowapp`, ...
    pub kind: Option<String>,
}
