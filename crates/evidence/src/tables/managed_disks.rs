//! `managed_disks`: encryption of every managed disk, with Azure Disk Encryption kept apart from CMK.

use crate::table::evidence_table;

evidence_table! {
    /// One row per managed disk (`Microsoft.Compute/disks`): server-side encryption (platform key, or a
    /// customer-managed key through a disk encryption set) and, separately, Azure Disk Encryption (BitLocker /
    /// dm-crypt inside the guest, `encryptionSettingsCollection`), which is not a customer-managed key at rest.
    table ManagedDiskRow = "managed_disks", version 1, key(resource_id) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Subscription holding the disk (lower case).
        subscription_id: String,
        /// ARM resource id, normalised for joins.
        resource_id: String,
        /// ARM resource id exactly as Azure returned it.
        resource_id_original: String,
        /// Disk name.
        name: String,
        /// Resource group as written in the id.
        resource_group: Option<String>,
        /// Azure region.
        location: Option<String>,
        /// SKU name (`Premium_LRS`, ...).
        sku_name: Option<String>,
        /// `diskSizeGB`.
        disk_size_gb: Option<i64>,
        /// `osType` (`Windows`, `Linux`); null for a data disk.
        os_type: Option<String>,
        /// `diskState` verbatim (`Attached`, `Unattached`, `Reserved`, ...).
        disk_state: Option<String>,
        /// `managedBy`: the VM the disk is attached to, normalised.
        managed_by: Option<String>,
        /// `encryption.type` verbatim (`EncryptionAtRestWithPlatformKey`, `EncryptionAtRestWithCustomerKey`, ...).
        encryption_type: Option<String>,
        /// `encryption.diskEncryptionSetId`, normalised.
        disk_encryption_set_id: Option<String>,
        /// `securityProfile.securityType` (`ConfidentialVM_DiskEncryptedWithCustomerKey`, ...).
        security_type: Option<String>,
        /// `securityProfile.secureVMDiskEncryptionSetId`, normalised (confidential VM disks).
        secure_vm_disk_encryption_set_id: Option<String>,
        /// Azure Disk Encryption: `encryptionSettingsCollection.enabled`. Guest-level encryption, not CMK at rest.
        ade_enabled: Option<bool>,
        /// `encryptionSettingsCollection.encryptionSettingsVersion` (`1.0`, `1.1`).
        ade_settings_version: Option<String>,
        /// ADE `diskEncryptionKey.secretUrl`s (BitLocker / dm-crypt secrets in Key Vault).
        ade_secret_urls: Option<Vec<String>>,
        /// ADE `keyEncryptionKey.keyUrl`s (key wrapping the secret), when used.
        ade_key_urls: Option<Vec<String>>,
        /// `networkAccessPolicy` verbatim.
        network_access_policy: Option<String>,
        /// `publicNetworkAccess` verbatim.
        public_network_access: Option<String>,
        /// SHA-256 of the raw response this row was read from.
        raw_response_sha256: String,
    }
}
