//! `cmk_bindings`: one row per resource × encryption scope, as the resource itself describes its encryption.

use crate::Timestamp;
use crate::table::evidence_table;

evidence_table! {
    /// One row per resource and encryption scope: the encryption setting exactly as the resource reports it —
    /// key source, key reference, version in use and identity — before any lookup in the vault.
    table CmkBinding = "cmk_bindings", version 1, key(resource_id, encryption_scope) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time, `20261123T101500Z`).
        snapshot_id: String,
        /// Subscription holding the resource (lower case).
        subscription_id: String,
        /// ARM resource id, normalised for joins (lower case, no trailing slash).
        resource_id: String,
        /// ARM resource id exactly as Azure returned it.
        resource_id_original: String,
        /// ARM resource type, e.g. `Microsoft.Storage/storageAccounts`.
        resource_type: String,
        /// Resource name.
        resource_name: String,
        /// Azure region as Azure wrote it; null when Azure did not say.
        location: Option<String>,
        /// What the key protects inside the resource (`evidence::vocab::encryption_scope`): `account`, `disk`,
        /// `encryption_set`, `os_disk`, `data_disk/lun=N`, `node_disks`, `etcd_secrets`, `tde_protector`, `registry`,
        /// `container_group`.
        encryption_scope: String,
        /// Normalised key source: `microsoft_managed`, `customer_managed` or `unrecognized`; null when Azure did not say.
        key_source: Option<String>,
        /// Key source exactly as Azure sent it (`Microsoft.Storage`, `Microsoft.Keyvault`, ...).
        key_source_raw: Option<String>,
        /// Vault or Managed HSM base URI, normalised `https://{host}/`; null without a customer-managed key.
        key_vault_uri: Option<String>,
        /// Resource that holds the key reference on this resource's behalf, normalised: the disk encryption set
        /// of a disk, VM disk or AKS node pool. Null when the resource names the key itself.
        key_via_resource_id: Option<String>,
        /// Key name as configured on the resource.
        key_name: Option<String>,
        /// Version configured on the resource; null means the resource follows the latest version.
        configured_key_version: Option<String>,
        /// Version the resource reports it is actually using (e.g. storage `currentVersionedKeyIdentifier`).
        in_use_key_version: Option<String>,
        /// Full versioned key identifier in use, as the resource reported it.
        in_use_key_id: Option<String>,
        /// True when the resource follows the latest key version by itself (no version pinned); null without CMK.
        auto_rotation: Option<bool>,
        /// `system_assigned`, `user_assigned` or `none`: the identity the resource uses to reach the key.
        identity_type: Option<String>,
        /// Resource id of the user-assigned identity used for encryption, normalised.
        identity_resource_id: Option<String>,
        /// Entra object (principal) id of the identity used for encryption.
        identity_principal_id: Option<String>,
        /// Client (application) id of the identity used for encryption.
        identity_client_id: Option<String>,
        /// Multi-tenant application client id used for cross-tenant CMK (storage `federatedIdentityClientId`).
        federated_client_id: Option<String>,
        /// When the resource last switched key version, as the resource reports it.
        last_key_rotation_at: Option<Timestamp>,
        /// Expiry of the key version in use, as the resource reports it.
        in_use_key_expires_at: Option<Timestamp>,
        /// Automatic key rotation error the resource reports, verbatim.
        rotation_error: Option<String>,
        /// SHA-256 of the raw response this row was read from (join to `raw_responses.sha256`).
        raw_response_sha256: String,
    }
}
