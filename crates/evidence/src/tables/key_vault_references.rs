//! `key_vault_references`: secrets and certificates a resource pulls from Key Vault (Container Apps).

use crate::table::evidence_table;

evidence_table! {
    /// One row per Key Vault reference a resource holds instead of a stored secret: Container Apps environment
    /// certificates (`certificateKeyVaultProperties`) and app secrets with `keyVaultUrl`. These are secrets in a
    /// vault, not a customer-managed key at rest; they show which identity reads which vault.
    table KeyVaultReferenceRow = "key_vault_references", version 1, key(resource_id, reference_name) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Subscription holding the resource (lower case).
        subscription_id: String,
        /// ARM id of the resource holding the reference (certificate or container app), normalised.
        resource_id: String,
        /// ARM resource type of that resource.
        resource_type: String,
        /// Certificate name, or `secret/<name>` for an app secret.
        reference_name: String,
        /// `certificate` or `secret`.
        reference_kind: String,
        /// Secret or certificate URL in the vault, verbatim.
        key_vault_url: Option<String>,
        /// Vault base URI, normalised `https://{host}/`.
        key_vault_uri: Option<String>,
        /// Identity that reads the vault verbatim: a user-assigned identity resource id, or `system`.
        identity: Option<String>,
        /// Environment the certificate or app belongs to, normalised.
        managed_environment_id: Option<String>,
        /// SHA-256 of the raw response this row was read from.
        raw_response_sha256: String,
    }
}
