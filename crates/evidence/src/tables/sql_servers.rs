//! `sql_servers`: TDE protectors of SQL logical servers and managed instances.

use crate::Timestamp;
use crate::table::evidence_table;

evidence_table! {
    /// One row per SQL logical server or managed instance: its transparent data encryption protector
    /// (service-managed or a Key Vault key), the server keys registered, and the identity used to reach the key.
    /// The server, its protector and its key list are three responses; a row exists when any of them was read,
    /// and the columns of a response that was not read are null.
    table SqlServerRow = "sql_servers", version 1, key(resource_id) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Subscription holding the server (lower case).
        subscription_id: String,
        /// ARM resource id of the server or instance, normalised for joins.
        resource_id: String,
        /// ARM resource id exactly as Azure returned it (for a server known only from its protector or keys, the
        /// parent part of their id).
        resource_id_original: String,
        /// `Microsoft.Sql/servers` or `Microsoft.Sql/managedInstances`.
        resource_type: String,
        /// Server or instance name.
        name: String,
        /// Resource group as written in the id.
        resource_group: Option<String>,
        /// Azure region of the server.
        location: Option<String>,
        /// `properties.version` (servers, `12.0`) or `sku.name` (managed instances, `GP_Gen5`).
        version_or_sku: Option<String>,
        /// Server `keyId`: the customer-managed TDE key as the server reports it.
        server_key_id: Option<String>,
        /// `primaryUserAssignedIdentityId`, normalised: the identity the server uses to reach its key.
        primary_user_assigned_identity_id: Option<String>,
        /// Server `federatedClientId`: multi-tenant application client id for a key in another tenant.
        federated_client_id: Option<String>,
        /// Encryption protector `serverKeyType` verbatim (`ServiceManaged`, `AzureKeyVault`).
        protector_server_key_type: Option<String>,
        /// Encryption protector `serverKeyName` (`{vault}_{key}_{version}`, or `ServiceManaged`).
        protector_server_key_name: Option<String>,
        /// Encryption protector `uri`: the versioned key identifier of the protector.
        protector_uri: Option<String>,
        /// Encryption protector `autoRotationEnabled`: the server adopts new key versions by itself.
        protector_auto_rotation_enabled: Option<bool>,
        /// Encryption protector `thumbprint`.
        protector_thumbprint: Option<String>,
        /// Names of every server key registered on the server (`{vault}_{key}_{version}`, `ServiceManaged`),
        /// sorted; null when the key list was not read.
        server_key_names: Option<Vec<String>>,
        /// Key identifiers (`uri`) of the server keys that report one, sorted; null when the key list was not read.
        /// Azure marks `uri` write-only on server keys, so this is often empty.
        server_key_uris: Option<Vec<String>>,
        /// `creationDate` of the server key the protector names (matched by name or `uri`), when reported.
        protector_key_created_at: Option<Timestamp>,
        /// Top-level `identity.type` verbatim.
        identity_type_raw: Option<String>,
        /// Principal id of the system-assigned identity.
        system_assigned_principal_id: Option<String>,
        /// Resource ids of the user-assigned identities, normalised, sorted.
        user_assigned_identity_ids: Option<Vec<String>>,
        /// `publicNetworkAccess` verbatim (servers; managed instances do not report it).
        public_network_access: Option<String>,
        /// `state` verbatim, else `provisioningState`.
        state: Option<String>,
        /// SHA-256 of the raw response the server itself was read from; null when only its protector or keys were read.
        raw_response_sha256: Option<String>,
        /// SHA-256 of the raw encryption protector response; null when it was not read.
        protector_raw_response_sha256: Option<String>,
        /// SHA-256 of the raw responses the server keys were read from, sorted; null when the key list was not read.
        keys_raw_response_sha256: Option<Vec<String>>,
    }
}
