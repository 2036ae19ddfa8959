//! `disk_encryption_sets`: the key holders of managed disks, VMs and AKS node disks.

use crate::Timestamp;
use crate::table::evidence_table;

evidence_table! {
    /// One row per disk encryption set (`Microsoft.Compute/diskEncryptionSets`): the key it holds for the disks
    /// that point at it, its rotation state and the identity it reaches the key with.
    table DiskEncryptionSetRow = "disk_encryption_sets", version 1, key(resource_id) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Subscription holding the set (lower case).
        subscription_id: String,
        /// ARM resource id, normalised for joins.
        resource_id: String,
        /// ARM resource id exactly as Azure returned it.
        resource_id_original: String,
        /// Set name.
        name: String,
        /// Resource group as written in the id.
        resource_group: Option<String>,
        /// Azure region.
        location: Option<String>,
        /// `encryptionType` verbatim (`EncryptionAtRestWithCustomerKey`, `EncryptionAtRestWithPlatformAndCustomerKeys`, `ConfidentialVmEncryptedWithCustomerKey`).
        encryption_type: Option<String>,
        /// `activeKey.keyUrl` verbatim: versioned, or versionless when the set follows the latest version.
        active_key_url: Option<String>,
        /// `activeKey.sourceVault.id`, normalised; absent for a key in another tenant or a Managed HSM.
        active_key_source_vault_id: Option<String>,
        /// `keyUrl`s of `previousKeys`: keys the set is still moving disks away from.
        previous_key_urls: Option<Vec<String>>,
        /// `rotationToLatestKeyVersionEnabled`: the set follows the latest key version by itself.
        rotation_to_latest_key_version_enabled: Option<bool>,
        /// `lastKeyRotationTimestamp`.
        last_key_rotation_at: Option<Timestamp>,
        /// `autoKeyRotationError.code`: why automatic rotation stopped.
        auto_key_rotation_error_code: Option<String>,
        /// `autoKeyRotationError.message` verbatim.
        auto_key_rotation_error_message: Option<String>,
        /// `federatedClientId` for a key in another tenant.
        federated_client_id: Option<String>,
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
