//! `key_vaults`: protection of every Key Vault that holds a key in use.

use crate::table::evidence_table;

evidence_table! {
    /// One row per Key Vault referenced by a binding or found in a collected subscription: its deletion
    /// protection, authorisation model and network exposure.
    table KeyVaultRow = "key_vaults", version 1, key(vault_uri) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Subscription holding the vault (lower case).
        subscription_id: String,
        /// ARM resource id, normalised for joins.
        resource_id: String,
        /// ARM resource id exactly as Azure returned it.
        resource_id_original: String,
        /// Vault name.
        name: String,
        /// Azure region.
        location: Option<String>,
        /// Vault base URI, normalised `https://{host}/`.
        vault_uri: String,
        /// SKU name (`standard`, `premium`).
        sku_name: Option<String>,
        /// `enableSoftDelete`; null when Azure did not say (absent is not false).
        soft_delete_enabled: Option<bool>,
        /// `softDeleteRetentionInDays`; null when Azure did not say.
        soft_delete_retention_days: Option<i64>,
        /// `enablePurgeProtection`; null when Azure did not say — Azure omits it until it is turned on.
        purge_protection_enabled: Option<bool>,
        /// `enableRbacAuthorization`: true = Azure RBAC, false = access policies; null when Azure did not say.
        rbac_authorization_enabled: Option<bool>,
        /// `publicNetworkAccess` verbatim (`Enabled`, `Disabled`).
        public_network_access: Option<String>,
        /// `networkAcls.defaultAction` verbatim (`Allow`, `Deny`).
        network_default_action: Option<String>,
        /// `networkAcls.bypass` verbatim (`AzureServices`, `None`): whether trusted Azure services pass the firewall.
        network_bypass: Option<String>,
        /// Number of IP rules in the firewall.
        network_ip_rule_count: Option<i64>,
        /// Number of virtual-network rules in the firewall.
        network_vnet_rule_count: Option<i64>,
        /// Number of access policies (meaningful when RBAC authorisation is off).
        access_policy_count: Option<i64>,
        /// Number of private endpoint connections.
        private_endpoint_count: Option<i64>,
        /// SHA-256 of the raw response this row was read from.
        raw_response_sha256: String,
    }
}
