//! Serde mirrors of the JSON of disk encryption sets and managed disks (`Microsoft.Compute`, DiskRP
//! 2019-07-01 to 2025-01-02), virtual machines (ComputeRP 2025-04-01), AKS clusters and agent pools
//! (`Microsoft.ContainerService`, 2020-06-01 to 2025-10-01), and of the matching `az ... show/list` output,
//! which flattens `properties` into the resource and spells a few names differently. Every field is optional
//! and unknown fields are ignored: what Azure leaves out stays `None`, and the converter decides what it means.

use serde::Deserialize;

pub use evidence::identity::{ManagedIdentity, UserAssignedIdentity};
pub use evidence::wire::Page;

/// A reference to another ARM resource: `{"id": "..."}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SubResource {
    /// ARM resource id, as Azure wrote it.
    pub id: Option<String>,
}

/// An error object Azure embeds in a resource (`autoKeyRotationError`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApiError {
    /// Error code (`ManagedServiceIdentityNotFound`, ...).
    pub code: Option<String>,
    /// Message, verbatim.
    pub message: Option<String>,
}

/// `sku` of a managed disk.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Sku {
    /// `Standard_LRS`, `Premium_LRS`, `UltraSSD_LRS`, ...
    pub name: Option<String>,
}

// ---------------------------------------------------------------------------------------------------------
// Disk encryption sets

/// A disk encryption set (`GET .../diskEncryptionSets/{name}` or one item of a list).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskEncryptionSet {
    /// ARM resource id, as Azure wrote it.
    pub id: Option<String>,
    /// Set name.
    pub name: Option<String>,
    /// ARM resource type.
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    /// Azure region.
    pub location: Option<String>,
    /// The identity the set reaches its key with.
    pub identity: Option<ManagedIdentity>,
    /// The set's properties (ARM shape).
    pub properties: Option<DiskEncryptionSetProperties>,
    /// The same properties at the top level (`az disk-encryption-set show`); read only when `properties` is
    /// absent.
    #[serde(flatten)]
    pub flattened_properties: DiskEncryptionSetProperties,
}

/// `properties` of a disk encryption set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskEncryptionSetProperties {
    /// `EncryptionAtRestWithCustomerKey`, `EncryptionAtRestWithPlatformAndCustomerKeys`,
    /// `ConfidentialVmEncryptedWithCustomerKey`; absent in old api-versions (2019-07-01).
    pub encryption_type: Option<String>,
    /// The key the set uses now.
    pub active_key: Option<KeyForDiskEncryptionSet>,
    /// Keys the set is still moving disks away from.
    pub previous_keys: Option<Vec<KeyForDiskEncryptionSet>>,
    /// The set adopts new key versions by itself.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub rotation_to_latest_key_version_enabled: Option<bool>,
    /// When the set last switched key version.
    pub last_key_rotation_timestamp: Option<String>,
    /// Why automatic key rotation stopped.
    pub auto_key_rotation_error: Option<ApiError>,
    /// Multi-tenant application used to reach a key in another tenant.
    pub federated_client_id: Option<String>,
    /// `Succeeded`, `Updating`, ...
    pub provisioning_state: Option<String>,
}

/// `activeKey` / one of `previousKeys`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyForDiskEncryptionSet {
    /// The vault holding the key; absent for a key in another tenant.
    pub source_vault: Option<SubResource>,
    /// Key identifier, versioned or (when the set follows the latest version) versionless.
    pub key_url: Option<String>,
}

// ---------------------------------------------------------------------------------------------------------
// Managed disks

/// A managed disk (`GET .../disks/{name}` or one item of a list).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disk {
    /// ARM resource id, as Azure wrote it.
    pub id: Option<String>,
    /// Disk name.
    pub name: Option<String>,
    /// ARM resource type.
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    /// Azure region.
    pub location: Option<String>,
    /// The VM the disk is attached to.
    pub managed_by: Option<String>,
    /// SKU.
    pub sku: Option<Sku>,
    /// The disk's properties (ARM shape).
    pub properties: Option<DiskProperties>,
    /// The same properties at the top level (`az disk show`); read only when `properties` is absent.
    #[serde(flatten)]
    pub flattened_properties: DiskProperties,
}

/// `properties` of a managed disk.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskProperties {
    /// `Windows` or `Linux` for an OS disk.
    pub os_type: Option<String>,
    /// Size in GiB. `az` writes `diskSizeGb`.
    #[serde(rename = "diskSizeGB", alias = "diskSizeGb", default, deserialize_with = "evidence::wire::opt_i64")]
    pub disk_size_gb: Option<i64>,
    /// `Attached`, `Unattached`, `Reserved`, ...
    pub disk_state: Option<String>,
    /// Server-side encryption at rest.
    pub encryption: Option<DiskEncryption>,
    /// Azure Disk Encryption (guest BitLocker / dm-crypt), not a customer-managed key at rest.
    pub encryption_settings_collection: Option<EncryptionSettingsCollection>,
    /// Security profile (trusted launch, confidential VM).
    pub security_profile: Option<DiskSecurityProfile>,
    /// `AllowAll`, `AllowPrivate`, `DenyAll`.
    pub network_access_policy: Option<String>,
    /// `Enabled` or `Disabled`.
    pub public_network_access: Option<String>,
}

/// `properties.encryption` of a managed disk.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskEncryption {
    /// `EncryptionAtRestWithPlatformKey`, `EncryptionAtRestWithCustomerKey`,
    /// `EncryptionAtRestWithPlatformAndCustomerKeys`.
    #[serde(rename = "type")]
    pub encryption_type: Option<String>,
    /// The disk encryption set holding the customer-managed key.
    pub disk_encryption_set_id: Option<String>,
}

/// `properties.encryptionSettingsCollection`: Azure Disk Encryption.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionSettingsCollection {
    /// Whether ADE is on.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub enabled: Option<bool>,
    /// One entry per volume.
    pub encryption_settings: Option<Vec<EncryptionSettingsElement>>,
    /// `1.0` (with AAD) or `1.1`.
    pub encryption_settings_version: Option<String>,
}

/// One entry of `encryptionSettingsCollection.encryptionSettings`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionSettingsElement {
    /// The BitLocker / dm-crypt secret in Key Vault.
    pub disk_encryption_key: Option<SecretReference>,
    /// The key wrapping that secret, when used.
    pub key_encryption_key: Option<KeyReferenceWire>,
}

/// A Key Vault secret reference (`diskEncryptionKey`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretReference {
    /// The vault.
    pub source_vault: Option<SubResource>,
    /// Secret identifier.
    pub secret_url: Option<String>,
}

/// A Key Vault key reference (`keyEncryptionKey`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyReferenceWire {
    /// The vault.
    pub source_vault: Option<SubResource>,
    /// Key identifier.
    pub key_url: Option<String>,
}

/// `properties.securityProfile` of a managed disk.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskSecurityProfile {
    /// `TrustedLaunch`, `ConfidentialVM_DiskEncryptedWithCustomerKey`, ...
    pub security_type: Option<String>,
    /// The disk encryption set of a confidential VM disk. `az` writes `secureVmDiskEncryptionSetId`.
    #[serde(rename = "secureVMDiskEncryptionSetId", alias = "secureVmDiskEncryptionSetId")]
    pub secure_vm_disk_encryption_set_id: Option<String>,
}

// ---------------------------------------------------------------------------------------------------------
// Virtual machines

/// A virtual machine (`GET .../virtualMachines/{name}` or one item of a list).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachine {
    /// ARM resource id, as Azure wrote it.
    pub id: Option<String>,
    /// VM name.
    pub name: Option<String>,
    /// ARM resource type.
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    /// Azure region.
    pub location: Option<String>,
    /// The VM's properties (ARM shape).
    pub properties: Option<VirtualMachineProperties>,
    /// The same properties at the top level (`az vm show`); read only when `properties` is absent.
    #[serde(flatten)]
    pub flattened_properties: VirtualMachineProperties,
}

/// `properties` of a virtual machine.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachineProperties {
    /// Size.
    pub hardware_profile: Option<HardwareProfile>,
    /// OS and data disks.
    pub storage_profile: Option<StorageProfile>,
    /// Encryption at host, security type.
    pub security_profile: Option<VmSecurityProfile>,
    /// `Succeeded`, `Creating`, ...
    pub provisioning_state: Option<String>,
}

/// `hardwareProfile`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HardwareProfile {
    /// `Standard_D2s_v5`, ...
    pub vm_size: Option<String>,
}

/// `securityProfile` of a VM.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmSecurityProfile {
    /// Temp disk and disk caches encrypted on the host.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub encryption_at_host: Option<bool>,
    /// `TrustedLaunch` or `ConfidentialVM`.
    pub security_type: Option<String>,
}

/// `storageProfile`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageProfile {
    /// The OS disk.
    pub os_disk: Option<OsDisk>,
    /// Data disks.
    pub data_disks: Option<Vec<DataDisk>>,
}

/// `storageProfile.osDisk`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OsDisk {
    /// Disk name.
    pub name: Option<String>,
    /// The managed disk behind it (absent for an unmanaged VHD).
    pub managed_disk: Option<ManagedDiskParameters>,
    /// Azure Disk Encryption settings of the OS disk.
    pub encryption_settings: Option<OsDiskEncryptionSettings>,
}

/// `storageProfile.osDisk.encryptionSettings` (Azure Disk Encryption).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OsDiskEncryptionSettings {
    /// Whether ADE is on for the OS disk.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub enabled: Option<bool>,
}

/// One of `storageProfile.dataDisks`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataDisk {
    /// Logical unit number: identifies the data disk within the VM.
    #[serde(default, deserialize_with = "evidence::wire::opt_i64")]
    pub lun: Option<i64>,
    /// Disk name.
    pub name: Option<String>,
    /// The managed disk behind it.
    pub managed_disk: Option<ManagedDiskParameters>,
}

/// `managedDisk` of a VM disk.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedDiskParameters {
    /// ARM id of the managed disk.
    pub id: Option<String>,
    /// The disk encryption set the disk uses.
    pub disk_encryption_set: Option<SubResource>,
    /// Confidential VM disk settings.
    pub security_profile: Option<VmDiskSecurityProfile>,
}

/// `managedDisk.securityProfile` of a VM disk (confidential VMs).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmDiskSecurityProfile {
    /// `DiskWithVMGuestState`, `VMGuestStateOnly`, `NonPersistedTPM`.
    pub security_encryption_type: Option<String>,
    /// The disk encryption set used for confidential disk encryption.
    pub disk_encryption_set: Option<SubResource>,
}

// ---------------------------------------------------------------------------------------------------------
// AKS

/// An AKS cluster (`GET .../managedClusters/{name}` or one item of a list).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedCluster {
    /// ARM resource id, as Azure wrote it.
    pub id: Option<String>,
    /// Cluster name.
    pub name: Option<String>,
    /// ARM resource type.
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    /// Azure region.
    pub location: Option<String>,
    /// The cluster (control plane) identity; KMS reaches its key with it.
    pub identity: Option<ManagedIdentity>,
    /// The cluster's properties (ARM shape).
    pub properties: Option<ManagedClusterProperties>,
    /// The same properties at the top level (`az aks show`); read only when `properties` is absent.
    #[serde(flatten)]
    pub flattened_properties: ManagedClusterProperties,
}

/// `properties` of an AKS cluster.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedClusterProperties {
    /// Requested Kubernetes version.
    pub kubernetes_version: Option<String>,
    /// The disk encryption set of node OS and data disks. `az` writes `diskEncryptionSetId`.
    #[serde(rename = "diskEncryptionSetID", alias = "diskEncryptionSetId")]
    pub disk_encryption_set_id: Option<String>,
    /// Agent pools (list items carry them too).
    pub agent_pool_profiles: Option<Vec<AgentPoolProfile>>,
    /// KMS and other security settings.
    pub security_profile: Option<ClusterSecurityProfile>,
    /// `Succeeded`, `Creating`, ...
    pub provisioning_state: Option<String>,
}

/// One of `agentPoolProfiles`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentPoolProfile {
    /// Pool name.
    pub name: Option<String>,
    /// Host-based encryption of the nodes' temp disks and caches.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub enable_encryption_at_host: Option<bool>,
}

/// `properties.securityProfile` of an AKS cluster.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSecurityProfile {
    /// Encryption of Kubernetes secrets in etcd with a Key Vault key.
    pub azure_key_vault_kms: Option<AzureKeyVaultKms>,
}

/// `securityProfile.azureKeyVaultKms`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureKeyVaultKms {
    /// Whether KMS is on (Azure's default is off).
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub enabled: Option<bool>,
    /// Versioned key identifier.
    pub key_id: Option<String>,
    /// `Public` or `Private`.
    pub key_vault_network_access: Option<String>,
    /// ARM id of the vault, for a private vault.
    pub key_vault_resource_id: Option<String>,
}

/// An AKS agent pool document (`GET .../managedClusters/{c}/agentPools/{p}`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentPool {
    /// ARM resource id, as Azure wrote it.
    pub id: Option<String>,
    /// Pool name.
    pub name: Option<String>,
    /// The pool's properties (ARM shape).
    pub properties: Option<AgentPoolProperties>,
    /// The same properties at the top level (`az aks nodepool show`); read only when `properties` is absent.
    #[serde(flatten)]
    pub flattened_properties: AgentPoolProperties,
}

/// `properties` of an agent pool.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentPoolProperties {
    /// Host-based encryption of the nodes' temp disks and caches.
    #[serde(default, deserialize_with = "evidence::wire::opt_bool")]
    pub enable_encryption_at_host: Option<bool>,
}
