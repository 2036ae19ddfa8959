//! `managed_hsms`: protection of every Managed HSM that holds a key in use.

use crate::table::evidence_table;

evidence_table! {
    /// One row per Managed HSM referenced by a binding or found in a collected subscription.
    table ManagedHsmRow = "managed_hsms", version 1, key(hsm_uri) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Subscription holding the HSM (lower case).
        subscription_id: String,
        /// ARM resource id, normalised for joins.
        resource_id: String,
        /// ARM resource id exactly as Azure returned it.
        resource_id_original: String,
        /// HSM name.
        name: String,
        /// Azure region.
        location: Option<String>,
        /// HSM base URI, normalised `https://{host}/`.
        hsm_uri: String,
        /// SKU name (`Standard_B1`, `Custom_B32`, ...).
        sku_name: Option<String>,
        /// `enableSoftDelete`; null when Azure did not say.
        soft_delete_enabled: Option<bool>,
        /// `softDeleteRetentionInDays`; null when Azure did not say.
        soft_delete_retention_days: Option<i64>,
        /// `enablePurgeProtection`; null when Azure did not say.
        purge_protection_enabled: Option<bool>,
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
