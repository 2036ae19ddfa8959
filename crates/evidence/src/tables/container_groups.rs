//! `container_groups`: CMK settings of Azure Container Instances.

use crate::table::evidence_table;

evidence_table! {
    /// One row per container group (`Microsoft.ContainerInstance/containerGroups`): `encryptionProperties`
    /// (vault, key, version, identity). Managed HSM keys are not supported by ACI (seed 001).
    table ContainerGroupRow = "container_groups", version 1, key(resource_id) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Subscription holding the group (lower case).
        subscription_id: String,
        /// ARM resource id, normalised for joins.
        resource_id: String,
        /// ARM resource id exactly as Azure returned it.
        resource_id_original: String,
        /// Group name.
        name: String,
        /// Resource group as written in the id.
        resource_group: Option<String>,
        /// Azure region.
        location: Option<String>,
        /// `sku` (`Standard`, `Dedicated`, `Confidential`).
        sku: Option<String>,
        /// `osType`.
        os_type: Option<String>,
        /// `encryptionProperties.vaultBaseUrl` verbatim.
        vault_base_url: Option<String>,
        /// `encryptionProperties.keyName`.
        key_name: Option<String>,
        /// `encryptionProperties.keyVersion` (ACI requires one: no automatic version updates).
        key_version: Option<String>,
        /// `encryptionProperties.identity`: resource id of the user-assigned identity, normalised.
        key_identity_resource_id: Option<String>,
        /// Top-level identity type verbatim.
        identity_type_raw: Option<String>,
        /// Principal id of the system-assigned identity.
        system_assigned_principal_id: Option<String>,
        /// Resource ids of the user-assigned identities, normalised.
        user_assigned_identity_ids: Option<Vec<String>>,
        /// `provisioningState` verbatim.
        provisioning_state: Option<String>,
        /// SHA-256 of the raw response this row was read from.
        raw_response_sha256: String,
    }
}
