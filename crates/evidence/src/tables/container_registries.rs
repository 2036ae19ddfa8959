//! `container_registries`: CMK settings of Azure Container Registry.

use crate::Timestamp;
use crate::table::evidence_table;

evidence_table! {
    /// One row per container registry (`Microsoft.ContainerRegistry/registries`): SKU (CMK needs Premium),
    /// encryption status, the configured and the versioned key identifier, and the identity by client id.
    table ContainerRegistryRow = "container_registries", version 1, key(resource_id) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Subscription holding the registry (lower case).
        subscription_id: String,
        /// ARM resource id, normalised for joins.
        resource_id: String,
        /// ARM resource id exactly as Azure returned it.
        resource_id_original: String,
        /// Registry name.
        name: String,
        /// Resource group as written in the id.
        resource_group: Option<String>,
        /// Azure region.
        location: Option<String>,
        /// `sku.name` (`Basic`, `Standard`, `Premium`).
        sku_name: Option<String>,
        /// `encryption.status` verbatim (`enabled`, `disabled`).
        encryption_status: Option<String>,
        /// `keyVaultProperties.keyIdentifier`: versionless when the registry follows the latest version.
        key_identifier: Option<String>,
        /// `keyVaultProperties.versionedKeyIdentifier`: the version in use.
        versioned_key_identifier: Option<String>,
        /// `keyVaultProperties.identity`: client id of the identity that reaches the key.
        key_identity_client_id: Option<String>,
        /// `keyVaultProperties.keyRotationEnabled`.
        key_rotation_enabled: Option<bool>,
        /// `keyVaultProperties.lastKeyRotationTimestamp`.
        last_key_rotation_at: Option<Timestamp>,
        /// Top-level identity type verbatim.
        identity_type_raw: Option<String>,
        /// Principal id of the system-assigned identity.
        system_assigned_principal_id: Option<String>,
        /// Resource ids of the user-assigned identities, normalised.
        user_assigned_identity_ids: Option<Vec<String>>,
        /// `publicNetworkAccess` verbatim.
        public_network_access: Option<String>,
        /// `adminUserEnabled`.
        admin_user_enabled: Option<bool>,
        /// `provisioningState` verbatim.
        provisioning_state: Option<String>,
        /// SHA-256 of the raw response this row was read from.
        raw_response_sha256: String,
    }
}
