//! Serde mirrors of the SQL resource provider's JSON (api 2021-11-01 to 2023-08-01): servers, managed
//! instances, their encryption protectors and their keys, and of `az sql server/mi ... show/list` output,
//! which flattens `properties` into the resource. Every field is optional and unknown fields are ignored: what
//! Azure leaves out stays `None`, and the converter decides what that means.

use serde::Deserialize;

pub use evidence::identity::{ManagedIdentity, UserAssignedIdentity};
pub use evidence::wire::Page;

/// One SQL resource as ARM returns it (a `GET` body or one item of a list), generic over its `properties`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqlResource<P> {
    /// ARM resource id, as Azure wrote it.
    pub id: Option<String>,
    /// Resource name (`current` for a protector, `{vault}_{key}_{version}` for a key).
    pub name: Option<String>,
    /// ARM resource type.
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    /// Azure region (servers and managed instances; protectors and keys of servers repeat it in display form).
    pub location: Option<String>,
    /// `v12.0` (servers), `azurekeyvault` / `servicemanaged` (protectors and keys).
    pub kind: Option<String>,
    /// SKU (managed instances).
    pub sku: Option<Sku>,
    /// Managed identities attached to the server or instance.
    pub identity: Option<ManagedIdentity>,
    /// The resource's properties (ARM shape).
    pub properties: Option<P>,
    /// The same properties when they sit at the top level, as `az` writes them. Only read when `properties`
    /// is absent.
    #[serde(flatten)]
    pub flattened_properties: P,
}

/// `sku` of a managed instance.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sku {
    /// `GP_Gen5`, `BC_Gen5`, ...
    pub name: Option<String>,
    /// `GeneralPurpose`, `BusinessCritical`.
    pub tier: Option<String>,
}

/// `properties` of a server or managed instance: only what the evidence needs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerProperties {
    /// Server version (`12.0`); managed instances have none.
    pub version: Option<String>,
    /// "A CMK URI of the key to use for encryption".
    pub key_id: Option<String>,
    /// Resource id of the user-assigned identity used by default (also to reach the TDE key).
    pub primary_user_assigned_identity_id: Option<String>,
    /// Client id of a multi-tenant application, for a key in another tenant (servers).
    pub federated_client_id: Option<String>,
    /// `Enabled`, `Disabled`, `SecuredByPerimeter` (servers).
    pub public_network_access: Option<String>,
    /// `Ready`, `Disabled`, ...
    pub state: Option<String>,
    /// `Succeeded`, `Creating`, ... (managed instances).
    pub provisioning_state: Option<String>,
}

/// `properties` of an encryption protector (`.../encryptionProtector/current`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtectorProperties {
    /// `ServiceManaged` or `AzureKeyVault`.
    pub server_key_type: Option<String>,
    /// Name of the server key that is the protector (`{vault}_{key}_{version}` or `ServiceManaged`).
    pub server_key_name: Option<String>,
    /// Versioned key identifier of the protector.
    pub uri: Option<String>,
    /// Thumbprint of the server key.
    pub thumbprint: Option<String>,
    /// Whether the server adopts new versions of the key by itself.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub auto_rotation_enabled: Option<bool>,
}

/// `properties` of a server key (`.../keys/{name}`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerKeyProperties {
    /// `ServiceManaged` or `AzureKeyVault` (write-only in the API: usually absent).
    pub server_key_type: Option<String>,
    /// Key identifier (write-only in the API: usually absent).
    pub uri: Option<String>,
    /// Thumbprint of the key.
    pub thumbprint: Option<String>,
    /// When the key was added to the server.
    pub creation_date: Option<String>,
    /// Whether the key rotates automatically.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub auto_rotation_enabled: Option<bool>,
}

/// A server or managed instance.
pub type Server = SqlResource<ServerProperties>;
/// An encryption protector.
pub type Protector = SqlResource<ProtectorProperties>;
/// A server key.
pub type ServerKey = SqlResource<ServerKeyProperties>;
