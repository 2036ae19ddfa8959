//! How long each service takes to adopt a new key version by itself, as Microsoft documents it. A resource
//! that follows the latest version and has not adopted a newer enabled one is `rotation_pending` within its
//! window and `rotation_stalled` after it, counted from the new version's creation time.

/// One documented adoption window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct AdoptionWindow {
    /// The window in seconds.
    pub seconds: i64,
    /// Where the number comes from.
    pub source: &'static str,
}

const HOUR: i64 = 3_600;
const DAY: i64 = 24 * HOUR;

/// Storage accounts check the vault for a new version once a day.
pub const STORAGE: AdoptionWindow = AdoptionWindow {
    seconds: DAY,
    source: "Azure Storage: automatic key version update checks the key vault daily (seed 003; Microsoft Learn, \
             customer-managed keys for Azure Storage)",
};
/// Container registries within one hour (seed 002).
pub const REGISTRY: AdoptionWindow = AdoptionWindow {
    seconds: HOUR,
    source: "Azure Container Registry: a non-versioned key is updated within one hour (seed 002)",
};
/// Disk encryption sets, and the disks, VM disks and AKS node disks that use them, within one hour.
pub const DISK_ENCRYPTION_SET: AdoptionWindow = AdoptionWindow {
    seconds: HOUR,
    source: "Disk encryption sets with automatic key rotation update their disks within one hour (Microsoft \
             Learn, DiskEncryptionSet rotationToLatestKeyVersionEnabled)",
};
/// SQL servers and managed instances with TDE protector auto rotation within 24 hours.
pub const SQL: AdoptionWindow = AdoptionWindow {
    seconds: DAY,
    source: "Azure SQL TDE protector auto rotation picks up a new key version within 24 hours (Microsoft Learn, \
             rotate the TDE protector)",
};
/// Any other service that follows the latest version: Microsoft documents no window; one day is assumed.
pub const UNDOCUMENTED: AdoptionWindow =
    AdoptionWindow { seconds: DAY, source: "no window documented for this service; 24 hours assumed" };

/// The window of a binding: by the resource that holds the key reference (a disk encryption set for disks,
/// VM disks and AKS node disks), else by the resource's own type.
pub fn adoption_window(resource_type: &str, key_via_resource_id: Option<&str>) -> AdoptionWindow {
    if key_via_resource_id
        .is_some_and(|via| via.to_ascii_lowercase().contains("/providers/microsoft.compute/diskencryptionsets/"))
    {
        return DISK_ENCRYPTION_SET;
    }
    let t = resource_type.to_ascii_lowercase();
    match t.as_str() {
        "microsoft.storage/storageaccounts" => STORAGE,
        "microsoft.containerregistry/registries" => REGISTRY,
        "microsoft.compute/diskencryptionsets" => DISK_ENCRYPTION_SET,
        "microsoft.sql/servers" | "microsoft.sql/managedinstances" => SQL,
        _ => UNDOCUMENTED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_the_resource_holding_the_key() {
        assert_eq!(adoption_window("Microsoft.Storage/storageAccounts", None).seconds, DAY);
        assert_eq!(adoption_window("microsoft.containerregistry/registries", None).seconds, HOUR);
        assert_eq!(adoption_window("microsoft.sql/managedinstances", None).seconds, DAY);
        let des = "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/diskencryptionsets/des1";
        assert_eq!(adoption_window("microsoft.compute/virtualmachines", Some(des)), DISK_ENCRYPTION_SET);
        assert_eq!(adoption_window("microsoft.containerservice/managedclusters", Some(des)), DISK_ENCRYPTION_SET);
        assert_eq!(adoption_window("microsoft.example/things", None), UNDOCUMENTED);
    }
}
