//! `sql_servers`: TDE protectors of SQL logical servers and managed instances.

use crate::Timestamp;
use crate::table::evidence_table;

evidence_table! {
    /// One row per SQL logical server or managed instance: its transparent data encryption protector
    /// (service-managed or a Key Vault key), the server keys registered, and the identity used to reach the key.
    table SqlServerRow = "sql_servers", version 1, key(resource_id) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Subscription holding the server (lower case).
        subscription_id: String,
        /// ARM resource id, normalised for joins.
        resource_id: String,
        /// ARM resource id exactly as Azure returned it.
        resource_id_original: String,
        /// `Microsoft.Sql/servers` or `Microsoft.Sql/managedInstances`.
        resource_type: String,
        /// Server or instance name.
        name: String,
        /// Resource group as written in the id.
        resource_group: Option<String>,
        /// Azure region.
        location: Option<String>,
        /// `version` (servers) or SKU name (managed instances).
        version_or_sku: Option<String>,
        /// Server `keyId`: the customer-managed TDE key as the server reports it.
        server_key_id: Option<String>,
        /// `primaryUserAssignedIdentityId`, normalised.
        primary_user_assigned_identity_id: Option<String>,
        /// Encryption protector `serverKeyType` verbatim (`ServiceManaged`, `AzureKeyVault`).
        protector_server_key_type: Option<String>,
        /// Encryption protector `serverKeyName` (`{vault}_{key}_{version}`, or `ServiceManaged`).
        protector_server_key_name: Option<String>,
        /// Encryption protector `uri`: the versioned key identifier.
        protector_uri: Option<String>,
        /// Encryption protector `autoRotationEnabled`.
        protector_auto_rotation_enabled: Option<bool>,
        /// Encryption protector `thumbprint`.
        protector_thumbprint: Option<String>,
        /// Key identifiers (`uri`) of every server key registered on the server, sorted.
        server_key_uris: Option<Vec<String>>,
        /// Latest `creationDate` among the server keys of the protector's key, when reported.
        protector_key_created_at: Option<Timestamp>,
        /// Top-level identity type verbatim.
        identity_type_raw: Option<String>,
        /// Principal id of the system-assigned identity.
        system_assigned_principal_id: Option<String>,
        /// Resource ids of the user-assigned identities, normalised.
        user_assigned_identity_ids: Option<Vec<String>>,
        /// `publicNetworkAccess` verbatim.
        public_network_access: Option<String>,
        /// `state` or `provisioningState` verbatim.
        state: Option<String>,
        /// SHA-256 of the raw response of the server itself.
        raw_response_sha256: String,
        /// SHA-256 of the raw encryption protector response; null when it could not be read.
        protector_raw_response_sha256: Option<String>,
    }
}
