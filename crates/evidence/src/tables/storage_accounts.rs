//! `storage_accounts`: storage-specific detail beyond the binding.

use crate::table::evidence_table;

evidence_table! {
    /// One row per storage account: the account's own encryption, identity and network facts.
    table StorageAccountRow = "storage_accounts", version 1, key(resource_id) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Subscription holding the account (lower case).
        subscription_id: String,
        /// ARM resource id, normalised for joins.
        resource_id: String,
        /// ARM resource id exactly as Azure returned it.
        resource_id_original: String,
        /// Account name.
        name: String,
        /// Resource group as written in the id.
        resource_group: Option<String>,
        /// Azure region.
        location: Option<String>,
        /// Account kind (`StorageV2`, `BlobStorage`, ...).
        kind: Option<String>,
        /// SKU name (`Standard_LRS`, ...).
        sku_name: Option<String>,
        /// `encryption.keySource` verbatim.
        key_source_raw: Option<String>,
        /// `encryption.requireInfrastructureEncryption`: a second layer of platform encryption; null when Azure did not say.
        require_infrastructure_encryption: Option<bool>,
        /// Services whose encryption is reported enabled (`blob`, `file`, `queue`, `table`).
        encrypted_services: Option<Vec<String>>,
        /// Services that use the account key (`Account`) rather than a service key.
        account_key_type_services: Option<Vec<String>>,
        /// Top-level managed identity type verbatim (`SystemAssigned`, `UserAssigned`, `SystemAssigned,UserAssigned`, `None`).
        identity_type_raw: Option<String>,
        /// Principal id of the system-assigned identity.
        system_assigned_principal_id: Option<String>,
        /// Resource ids of all user-assigned identities attached to the account, normalised.
        user_assigned_identity_ids: Option<Vec<String>>,
        /// `publicNetworkAccess` verbatim.
        public_network_access: Option<String>,
        /// `networkAcls.defaultAction` verbatim.
        network_default_action: Option<String>,
        /// `networkAcls.bypass` verbatim.
        network_bypass: Option<String>,
        /// `provisioningState` verbatim.
        provisioning_state: Option<String>,
        /// SHA-256 of the raw response this row was read from.
        raw_response_sha256: String,
    }
}
