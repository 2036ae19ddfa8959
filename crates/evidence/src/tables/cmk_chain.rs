//! `cmk_chain`: the whole customer-managed-key chain of every resource, one row per binding.

use crate::Timestamp;
use crate::table::evidence_table;

evidence_table! {
    /// One row per resource × encryption scope: resource → key source → vault and key → configured version or
    /// "latest" → version in use → latest version and its attributes → rotation policy → vault protection →
    /// identity → that identity's crypto role. A link that could not be established is null and named in
    /// `chain_gaps`; it is never filled in with a guess.
    table CmkChainRow = "cmk_chain", version 1, key(resource_id, encryption_scope) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Subscription holding the resource (lower case).
        subscription_id: String,
        /// ARM resource id, normalised for joins.
        resource_id: String,
        /// ARM resource type.
        resource_type: String,
        /// Resource name.
        resource_name: String,
        /// Azure region.
        location: Option<String>,
        /// What the key protects inside the resource (`account` for a storage account).
        encryption_scope: String,
        /// `microsoft_managed`, `customer_managed` or `unrecognized`; null when Azure did not say.
        key_source: Option<String>,
        /// Vault or HSM base URI, normalised `https://{host}/`.
        key_vault_uri: Option<String>,
        /// `key_vault` or `managed_hsm`.
        vault_kind: Option<String>,
        /// ARM id of the vault or HSM, when it was found in a collected subscription.
        key_vault_resource_id: Option<String>,
        /// Resource that holds the key reference on this resource's behalf, normalised: the disk encryption set
        /// of a disk, VM disk or AKS node pool. Null when the resource names the key itself.
        key_via_resource_id: Option<String>,
        /// Key name.
        key_name: Option<String>,
        /// Version configured on the resource; null means it follows the latest version.
        configured_key_version: Option<String>,
        /// Version the resource is using (reported by the resource, or the configured version when pinned).
        in_use_key_version: Option<String>,
        /// Latest version in the vault.
        latest_key_version: Option<String>,
        /// Whether the version in use is the vault's latest.
        in_use_is_latest: Option<bool>,
        /// Seconds since the latest version was created while the resource still uses an older one; 0 when on the latest.
        rotation_lag_seconds: Option<i64>,
        /// True when the resource follows the latest version by itself.
        auto_rotation: Option<bool>,
        /// Whether the version in use is enabled in the vault.
        key_enabled: Option<bool>,
        /// Expiry of the version in use.
        key_expires_at: Option<Timestamp>,
        /// Key type (`RSA`, `RSA-HSM`, `EC`, ...).
        key_type: Option<String>,
        /// Key size in bits.
        key_size: Option<i64>,
        /// Creation time of the latest version.
        latest_version_created_at: Option<Timestamp>,
        /// Whether the key has a rotation policy that rotates it automatically; null when the policy could not be read.
        rotation_policy_present: Option<bool>,
        /// Vault `enableSoftDelete`; null when Azure did not say or the vault was not read.
        vault_soft_delete: Option<bool>,
        /// Vault soft-delete retention in days.
        vault_soft_delete_retention_days: Option<i64>,
        /// Vault `enablePurgeProtection`; null when Azure did not say or the vault was not read.
        vault_purge_protection: Option<bool>,
        /// Vault `enableRbacAuthorization` (always true for Managed HSM local RBAC).
        vault_rbac_authorization: Option<bool>,
        /// Vault `publicNetworkAccess` verbatim.
        vault_public_network_access: Option<String>,
        /// Vault firewall default action verbatim.
        vault_network_default_action: Option<String>,
        /// Vault firewall bypass verbatim (`AzureServices`, `None`).
        vault_network_bypass: Option<String>,
        /// `system_assigned`, `user_assigned` or `none`.
        identity_type: Option<String>,
        /// Resource id of the user-assigned identity, normalised.
        identity_resource_id: Option<String>,
        /// Principal (object) id of the identity.
        identity_principal_id: Option<String>,
        /// Client id of the identity.
        identity_client_id: Option<String>,
        /// Federated (multi-tenant app) client id for cross-tenant CMK.
        federated_client_id: Option<String>,
        /// Whether the identity holds a role or access policy that grants get/wrapKey/unwrapKey on the key;
        /// null when role assignments could not be read or the identity is in another tenant.
        identity_has_crypto_role: Option<bool>,
        /// Names (or GUIDs) of the roles and access policies that grant the identity key use.
        crypto_roles: Option<Vec<String>>,
        /// `complete`, `microsoft_managed` (no chain to follow) or `incomplete` (see `chain_gaps`).
        chain_status: String,
        /// The links that could not be established, e.g. `vault_not_collected`, `key_not_read`, `role_assignments_not_read`.
        chain_gaps: Option<Vec<String>>,
        /// SHA-256 of the resource's raw response.
        raw_response_sha256: String,
    }
}
