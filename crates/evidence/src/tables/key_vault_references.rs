//! `key_vault_references`: secrets and certificates a resource pulls from Key Vault (Container Apps).

use crate::table::evidence_table;

evidence_table! {
    /// One row per Key Vault reference a resource holds instead of a stored secret: Container Apps environment
    /// certificates (`properties.certificateKeyVaultProperties`) and container app secrets with `keyVaultUrl`.
    /// These are secrets in a vault, not a customer-managed key at rest (seed 000); they show which identity
    /// reads which vault. Secret values are never read or recorded, only the names of Key Vault secrets.
    table KeyVaultReferenceRow = "key_vault_references", version 1, key(resource_id, reference_name) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Subscription holding the resource (lower case).
        subscription_id: String,
        /// ARM id of the resource holding the reference (certificate or container app), normalised.
        resource_id: String,
        /// That ARM id exactly as Azure returned it.
        resource_id_original: String,
        /// ARM resource type of that resource (`Microsoft.App/managedEnvironments/certificates`,
        /// `Microsoft.App/containerApps`).
        resource_type: String,
        /// Certificate name, or `secret/<name>` for an app secret.
        reference_name: String,
        /// `certificate` or `secret`.
        reference_kind: String,
        /// Secret or certificate URL in the vault, verbatim (`keyVaultUrl`).
        key_vault_url: Option<String>,
        /// Vault base URI from the URL's host, normalised `https://{host}/`.
        key_vault_uri: Option<String>,
        /// Name of the secret or certificate in the vault (the path segment after `/secrets/` or
        /// `/certificates/`); null when the URL has no such path.
        vault_object_name: Option<String>,
        /// Version pinned in the URL; null means the resource follows the latest version (seed 000: secrets
        /// within 30 minutes, certificates within 12 hours).
        vault_object_version: Option<String>,
        /// Identity that reads the vault, verbatim: a user-assigned identity resource id, or `system`.
        identity: Option<String>,
        /// `system_assigned` or `user_assigned`, as the reference names it; null when it names none.
        identity_type: Option<String>,
        /// Resource id of the user-assigned identity, normalised.
        identity_resource_id: Option<String>,
        /// Entra object (principal) id of that identity, from the `identity` block of the app, or of the
        /// environment for a certificate; null when that block was not collected or does not hold the identity.
        identity_principal_id: Option<String>,
        /// Client id of the user-assigned identity, from the same `identity` block.
        identity_client_id: Option<String>,
        /// Environment the certificate or app belongs to, normalised.
        managed_environment_id: Option<String>,
        /// SHA-256 of the raw response this row was read from.
        raw_response_sha256: String,
    }
}
