//! Serde mirrors of the JSON the vault phase reads: ARM `Microsoft.KeyVault/vaults` and `managedHSMs`
//! (api 2019-09-01 to 2025-05-01) and the ARM key resource, the Key Vault / Managed HSM data plane (key
//! bundles, key version listings, rotation policies; api 7.x and 2025-07-01), and role assignments (ARM
//! 2015-07-01 and 2022-04-01, and Managed HSM local RBAC). Every field is optional and unknown fields are
//! ignored; absent stays `None`.

use serde::Deserialize;

pub use evidence::wire::Page;

/// `sku` of a vault or Managed HSM.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sku {
    /// `A` (vaults) or `B` (HSMs).
    pub family: Option<String>,
    /// `standard`, `premium`, `Standard_B1`, `Custom_B32`, ...
    pub name: Option<String>,
}

/// A Key Vault as ARM returns it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vault {
    /// ARM resource id, as Azure wrote it.
    pub id: Option<String>,
    /// Vault name.
    pub name: Option<String>,
    /// `Microsoft.KeyVault/vaults`.
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    /// Azure region.
    pub location: Option<String>,
    /// The vault's properties.
    pub properties: Option<VaultProperties>,
}

/// `properties` of a Key Vault.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultProperties {
    /// Tenant that authorises requests to the vault.
    pub tenant_id: Option<String>,
    /// SKU (inside `properties` for vaults, unlike most resources).
    pub sku: Option<Sku>,
    /// Data-plane URI, `https://{name}.vault.azure.net` (with or without a trailing slash).
    pub vault_uri: Option<String>,
    /// Access policies (authorise the data plane when RBAC authorisation is off).
    pub access_policies: Option<Vec<AccessPolicyEntry>>,
    /// Soft delete. Older vaults and older api-versions leave it out: absent is not false.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub enable_soft_delete: Option<bool>,
    /// Days a deleted vault or key stays recoverable.
    #[serde(default, deserialize_with = "evidence::wire::opt_i64")]
    pub soft_delete_retention_in_days: Option<i64>,
    /// Purge protection. Azure omits it until it has been turned on.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub enable_purge_protection: Option<bool>,
    /// Azure RBAC (true) or access policies (false) for the data plane.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub enable_rbac_authorization: Option<bool>,
    /// `Enabled` or `Disabled`.
    pub public_network_access: Option<String>,
    /// Firewall.
    pub network_acls: Option<NetworkRuleSet>,
    /// Private endpoint connections; only counted.
    pub private_endpoint_connections: Option<Vec<serde_json::Value>>,
    /// `Succeeded`, `RegisteringDns`, ...
    pub provisioning_state: Option<String>,
}

/// One entry of `properties.accessPolicies`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicyEntry {
    /// Tenant of the principal.
    pub tenant_id: Option<String>,
    /// Object (principal) id the policy grants to.
    pub object_id: Option<String>,
    /// Application id of a compound identity.
    pub application_id: Option<String>,
    /// Granted permissions.
    pub permissions: Option<Permissions>,
}

/// `permissions` of an access policy entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permissions {
    /// Key permissions (`get`, `wrapKey`, `unwrapKey`, `all`, ...), in whatever case Azure stored them.
    pub keys: Option<Vec<String>>,
    /// Secret permissions.
    pub secrets: Option<Vec<String>>,
    /// Certificate permissions.
    pub certificates: Option<Vec<String>>,
}

/// `properties.networkAcls` of a vault or Managed HSM.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkRuleSet {
    /// `AzureServices` or `None`.
    pub bypass: Option<String>,
    /// `Allow` or `Deny`.
    pub default_action: Option<String>,
    /// IP rules; only counted.
    pub ip_rules: Option<Vec<serde_json::Value>>,
    /// Virtual-network rules; only counted.
    pub virtual_network_rules: Option<Vec<serde_json::Value>>,
}

/// A Managed HSM as ARM returns it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedHsm {
    /// ARM resource id, as Azure wrote it.
    pub id: Option<String>,
    /// HSM name.
    pub name: Option<String>,
    /// `Microsoft.KeyVault/managedHSMs`.
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    /// Azure region.
    pub location: Option<String>,
    /// SKU (top level for HSMs).
    pub sku: Option<Sku>,
    /// The HSM's properties.
    pub properties: Option<ManagedHsmProperties>,
}

/// `properties` of a Managed HSM.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedHsmProperties {
    /// Tenant that authorises requests to the HSM.
    pub tenant_id: Option<String>,
    /// Data-plane URI.
    pub hsm_uri: Option<String>,
    /// Soft delete.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub enable_soft_delete: Option<bool>,
    /// Days a deleted HSM or key stays recoverable.
    #[serde(default, deserialize_with = "evidence::wire::opt_i64")]
    pub soft_delete_retention_in_days: Option<i64>,
    /// Purge protection.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub enable_purge_protection: Option<bool>,
    /// `Enabled` or `Disabled`.
    pub public_network_access: Option<String>,
    /// Firewall.
    pub network_acls: Option<NetworkRuleSet>,
    /// `Succeeded`, `Provisioning`, `Activated`, `SecurityDomainRestore`, ...
    pub provisioning_state: Option<String>,
    /// Human-readable status.
    pub status_message: Option<String>,
}

/// A key bundle from the data plane, `GET /keys/{name}[/{version}]`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeyBundle {
    /// The public part of the key.
    pub key: Option<JsonWebKey>,
    /// Attributes of this version.
    pub attributes: Option<KeyAttributes>,
    /// True when Key Vault manages the key itself (it backs a certificate).
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub managed: Option<bool>,
}

/// A JSON Web Key (RFC 7517 names, not camelCase).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct JsonWebKey {
    /// Versioned key identifier.
    pub kid: Option<String>,
    /// `RSA`, `RSA-HSM`, `EC`, `EC-HSM`, `oct`, `oct-HSM`.
    pub kty: Option<String>,
    /// Permitted operations.
    pub key_ops: Option<Vec<String>>,
    /// RSA modulus, base64url without padding.
    pub n: Option<String>,
    /// RSA public exponent.
    pub e: Option<String>,
    /// Elliptic curve name.
    pub crv: Option<String>,
}

/// Attributes of a key version (data plane). Times are epoch seconds, sometimes with a fraction.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyAttributes {
    /// Whether the version can be used.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub enabled: Option<bool>,
    /// Not before.
    #[serde(default, deserialize_with = "evidence::wire::opt_f64")]
    pub nbf: Option<f64>,
    /// Expiry.
    #[serde(default, deserialize_with = "evidence::wire::opt_f64")]
    pub exp: Option<f64>,
    /// Creation time.
    #[serde(default, deserialize_with = "evidence::wire::opt_f64")]
    pub created: Option<f64>,
    /// Last update.
    #[serde(default, deserialize_with = "evidence::wire::opt_f64")]
    pub updated: Option<f64>,
    /// `Purgeable`, `Recoverable+Purgeable`, `CustomizedRecoverable+ProtectedSubscription`, ...
    pub recovery_level: Option<String>,
    /// Days a deleted key stays recoverable.
    #[serde(default, deserialize_with = "evidence::wire::opt_i64")]
    pub recoverable_days: Option<i64>,
}

/// One item of `GET /keys/{name}/versions`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeyItem {
    /// Versioned key identifier.
    pub kid: Option<String>,
    /// Attributes of the version.
    pub attributes: Option<KeyAttributes>,
    /// True when Key Vault manages the key itself.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub managed: Option<bool>,
}

/// `GET /keys/{name}/rotationpolicy`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationPolicy {
    /// `https://{vault}/keys/{name}/rotationpolicy`.
    pub id: Option<String>,
    /// What the vault does, and when.
    pub lifetime_actions: Option<Vec<LifetimeAction>>,
    /// Policy attributes.
    pub attributes: Option<RotationPolicyAttributes>,
}

/// One lifetime action of a rotation policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifetimeAction {
    /// When.
    pub trigger: Option<LifetimeTrigger>,
    /// What.
    pub action: Option<LifetimeActionType>,
}

/// `trigger` of a lifetime action: ISO 8601 durations.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifetimeTrigger {
    /// Duration after the version's creation.
    pub time_after_create: Option<String>,
    /// Duration before the version's expiry.
    pub time_before_expiry: Option<String>,
}

/// `action` of a lifetime action.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LifetimeActionType {
    /// `Rotate` or `Notify` (case varies between clients).
    #[serde(rename = "type")]
    pub action_type: Option<String>,
}

/// `attributes` of a rotation policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationPolicyAttributes {
    /// Expiry given to new versions, an ISO 8601 duration (`P2Y`).
    pub expiry_time: Option<String>,
    /// Creation time, epoch seconds.
    #[serde(default, deserialize_with = "evidence::wire::opt_f64")]
    pub created: Option<f64>,
    /// Last update, epoch seconds.
    #[serde(default, deserialize_with = "evidence::wire::opt_f64")]
    pub updated: Option<f64>,
}

/// A role assignment: ARM (`Microsoft.Authorization/roleAssignments`, 2015-07-01 and 2022-04-01 shapes) or a
/// Managed HSM local RBAC assignment (data plane, same shape, HSM-relative scope).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    /// Assignment id (`{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`).
    pub id: Option<String>,
    /// Assignment name (a GUID).
    pub name: Option<String>,
    /// `Microsoft.Authorization/roleAssignments`.
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    /// The assignment.
    pub properties: Option<RoleAssignmentProperties>,
}

/// `properties` of a role assignment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentProperties {
    /// Where the assignment applies.
    pub scope: Option<String>,
    /// Role definition id; compare by its trailing GUID.
    pub role_definition_id: Option<String>,
    /// Principal (object) id.
    pub principal_id: Option<String>,
    /// `User`, `Group`, `ServicePrincipal`, `ForeignGroup`, `Device` (2022-04-01 only).
    pub principal_type: Option<String>,
    /// ABAC condition.
    pub condition: Option<String>,
    /// ABAC condition language version.
    pub condition_version: Option<String>,
}

/// A key as the ARM management plane shows it (`Microsoft.KeyVault/vaults/keys`): the latest version's
/// public facts, readable even when the vault's firewall closes the data plane to the collector.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmKey {
    /// ARM resource id of the key.
    pub id: Option<String>,
    /// Key name.
    pub name: Option<String>,
    /// The key's properties.
    pub properties: Option<ArmKeyProperties>,
}

/// `properties` of an ARM key resource.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmKeyProperties {
    /// Attributes of the latest version (epoch seconds, like the data plane).
    pub attributes: Option<KeyAttributes>,
    /// Key type.
    pub kty: Option<String>,
    /// Permitted operations.
    pub key_ops: Option<Vec<String>>,
    /// Key size in bits (RSA).
    #[serde(default, deserialize_with = "evidence::wire::opt_i64")]
    pub key_size: Option<i64>,
    /// Elliptic curve name.
    pub curve_name: Option<String>,
    /// Unversioned key URI (may carry `:443`).
    pub key_uri: Option<String>,
    /// Versioned key URI of the latest version.
    pub key_uri_with_version: Option<String>,
}
