//! `virtual_machines`: which disk encryption set each VM disk names, and encryption at host.

use crate::table::evidence_table;

evidence_table! {
    /// One row per virtual machine (`Microsoft.Compute/virtualMachines`): the OS and data disks with the disk
    /// encryption set each names, and host-level encryption of temp disks and caches.
    table VirtualMachineRow = "virtual_machines", version 1, key(resource_id) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Subscription holding the VM (lower case).
        subscription_id: String,
        /// ARM resource id, normalised for joins.
        resource_id: String,
        /// ARM resource id exactly as Azure returned it.
        resource_id_original: String,
        /// VM name.
        name: String,
        /// Resource group as written in the id.
        resource_group: Option<String>,
        /// Azure region.
        location: Option<String>,
        /// `hardwareProfile.vmSize`.
        vm_size: Option<String>,
        /// `securityProfile.encryptionAtHost`: temp disk and disk caches encrypted on the host.
        encryption_at_host: Option<bool>,
        /// `securityProfile.securityType` (`TrustedLaunch`, `ConfidentialVM`).
        security_type: Option<String>,
        /// `storageProfile.osDisk.managedDisk.id`, normalised.
        os_disk_id: Option<String>,
        /// `storageProfile.osDisk.managedDisk.diskEncryptionSet.id` (for a confidential VM without one,
        /// `managedDisk.securityProfile.diskEncryptionSet.id`), normalised.
        os_disk_encryption_set_id: Option<String>,
        /// `storageProfile.osDisk.encryptionSettings.enabled`: Azure Disk Encryption on the OS disk (not CMK).
        os_disk_ade_enabled: Option<bool>,
        /// Data disks as `lun=<n>` in LUN order; null when `storageProfile.dataDisks` is absent.
        data_disk_luns: Option<Vec<String>>,
        /// Managed disk ids (`managedDisk.id`) of the data disks, normalised, aligned with `data_disk_luns`
        /// (empty string: the VM did not name one).
        data_disk_ids: Option<Vec<String>>,
        /// Data disk encryption set ids (`managedDisk.diskEncryptionSet.id`, else
        /// `managedDisk.securityProfile.diskEncryptionSet.id`), normalised, aligned with `data_disk_luns` (empty
        /// string: none named).
        data_disk_encryption_set_ids: Option<Vec<String>>,
        /// `provisioningState` verbatim.
        provisioning_state: Option<String>,
        /// SHA-256 of the raw response this row was read from.
        raw_response_sha256: String,
    }
}
