//! `container_groups`: CMK settings of Azure Container Instances.

use crate::table::evidence_table;

evidence_table! {
    /// One row per container group (`Microsoft.ContainerInstance/containerGroups`): `encryptionProperties`
    /// (vault, key, version, identity) exactly as the group reports them. The group's binding is in
    /// `cmk_bindings` with scope `container_group`. Managed HSM keys are not supported by ACI (seed 001): a
    /// `vault_kind` of `managed_hsm` is recorded as Azure reported it, for the rules to judge.
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
        /// Azure region as Azure wrote it.
        location: Option<String>,
        /// `properties.sku` verbatim (`Standard`, `Dedicated`, `Confidential`).
        sku: Option<String>,
        /// `properties.osType` verbatim (`Linux`, `Windows`).
        os_type: Option<String>,
        /// `properties.encryptionProperties.vaultBaseUrl` verbatim; null when the group names no key (Microsoft-managed
        /// keys).
        vault_base_url: Option<String>,
        /// `key_vault` or `managed_hsm`, from the host of `vault_base_url`; null when there is no usable URL.
        vault_kind: Option<String>,
        /// `properties.encryptionProperties.keyName`.
        key_name: Option<String>,
        /// `properties.encryptionProperties.keyVersion`: the version the group encrypts with (ACI does not follow
        /// newer versions by itself).
        key_version: Option<String>,
        /// `properties.encryptionProperties.identity`: resource id of the user-assigned identity that reaches the
        /// key, normalised; null when the group names none (its system-assigned identity is used).
        key_identity_resource_id: Option<String>,
        /// Top-level `identity.type` verbatim.
        identity_type_raw: Option<String>,
        /// Principal id of the system-assigned identity.
        system_assigned_principal_id: Option<String>,
        /// Resource ids of the user-assigned identities, normalised and sorted.
        user_assigned_identity_ids: Option<Vec<String>>,
        /// `properties.provisioningState` verbatim.
        provisioning_state: Option<String>,
        /// SHA-256 of the raw response this row was read from.
        raw_response_sha256: String,
    }
}
