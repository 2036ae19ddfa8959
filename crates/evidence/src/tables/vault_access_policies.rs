//! `vault_access_policies`: access policies of Key Vaults that use the access-policy model.

use crate::table::evidence_table;

evidence_table! {
    /// One row per access policy entry of every collected Key Vault. Access policies authorise the data
    /// plane when `enableRbacAuthorization` is off.
    table VaultAccessPolicyRow = "vault_access_policies", version 1, key(vault_uri, object_id, application_id) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Vault base URI, normalised `https://{host}/`.
        vault_uri: String,
        /// Vault ARM resource id, normalised.
        vault_resource_id: String,
        /// Tenant of the principal the policy names.
        policy_tenant_id: Option<String>,
        /// Object (principal) id the policy grants to.
        object_id: String,
        /// Application id for compound identities; null for plain ones.
        application_id: Option<String>,
        /// Key permissions verbatim (`get`, `wrapKey`, `unwrapKey`, `all`, ...).
        key_permissions: Option<Vec<String>>,
        /// True when the key permissions include get, wrapKey and unwrapKey (or `all`).
        grants_key_use: bool,
        /// True when the key permissions include key or policy management (create, delete, purge, update, import, ...).
        manages_keys: bool,
        /// SHA-256 of the raw response this row was read from.
        raw_response_sha256: String,
    }
}
