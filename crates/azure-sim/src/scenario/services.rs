//! The resource types beyond storage that the collectors read — disk encryption sets, managed disks, virtual
//! machines, AKS clusters, SQL servers and managed instances, container registries, container groups, Container
//! Apps environments and apps, App Service sites: their scenario tables (serde), the validated model the server
//! renders, and the key bindings that move to a rotated key version after the adoption delay.

use std::collections::BTreeMap;

use serde::Deserialize;
use time::OffsetDateTime;

use super::{ContainerKind, ManagedIdentitySpec, yes};
use crate::resource_id::ResourceId;
use crate::timestamps::{IsoDuration, Timestamp};

// ---------------------------------------------------------------------------------------------------------------
// The file format (serde). Every table denies unknown fields so a typo fails with its line number.
// ---------------------------------------------------------------------------------------------------------------

/// A key a resource uses: `{ vault, name, version?, in_use_version?, last_key_rotation?, auto_adopt?,
/// adoption_delay?, external_key? }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyRefSpec {
    /// Name of a vault or managed HSM of this scenario; with `external_key`, the https URL of a vault outside it.
    pub(crate) vault: String,
    /// Key name.
    pub(crate) name: String,
    /// A version id or `#N` (N-th oldest); absent = follow the latest version, where the service can.
    #[serde(default)]
    pub(crate) version: Option<String>,
    /// Follow-latest only: the version adopted so far (id or `#N`); default the latest.
    #[serde(default)]
    pub(crate) in_use_version: Option<String>,
    #[serde(default)]
    pub(crate) last_key_rotation: Option<Timestamp>,
    /// Whether a rotated version is adopted at all (false: the resource is stuck on `in_use_version`).
    #[serde(default = "yes")]
    pub(crate) auto_adopt: bool,
    /// Overrides `[simulation] adoption_delay` for this resource.
    #[serde(default)]
    pub(crate) adoption_delay: Option<IsoDuration>,
    /// Marks a deliberate reference to a vault outside this scenario; the text says why.
    #[serde(default)]
    pub(crate) external_key: Option<String>,
}

/// ARM's `{code, message}` error object.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ErrorSpec {
    pub(crate) code: String,
    pub(crate) message: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DiskEncryptionSetSpec {
    pub(crate) id: String,
    pub(crate) location: String,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) identity: ManagedIdentitySpec,
    pub(crate) key: KeyRefSpec,
    #[serde(default = "customer_key")]
    pub(crate) encryption_type: String,
    /// `rotationToLatestKeyVersionEnabled`; absent: true when the key follows the latest version, otherwise
    /// left out of the JSON.
    #[serde(default)]
    pub(crate) rotation_to_latest: Option<bool>,
    #[serde(default)]
    pub(crate) federated_client_id: Option<String>,
    #[serde(default)]
    pub(crate) auto_key_rotation_error: Option<ErrorSpec>,
}

/// Azure Disk Encryption (BitLocker / dm-crypt in the guest): the secret, and optionally the key wrapping it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdeSpec {
    /// Vault name (of this scenario).
    pub(crate) vault: String,
    /// Secret name holding the disk encryption key.
    pub(crate) secret: String,
    /// Key encryption key: a key of the same vault (its latest version is used).
    #[serde(default)]
    pub(crate) key: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DiskSpec {
    pub(crate) id: String,
    pub(crate) location: String,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    #[serde(default = "premium_lrs")]
    pub(crate) sku: String,
    pub(crate) size_gb: u32,
    /// `Windows` or `Linux` for an OS disk; absent for a data disk.
    #[serde(default)]
    pub(crate) os_type: Option<String>,
    #[serde(default)]
    pub(crate) created: Option<Timestamp>,
    /// Id of a `[[disk_encryption_sets]]` entry.
    #[serde(default)]
    pub(crate) disk_encryption_set: Option<String>,
    /// `encryption.type`; default `EncryptionAtRestWithCustomerKey` with a set, else
    /// `EncryptionAtRestWithPlatformKey`.
    #[serde(default)]
    pub(crate) encryption_type: Option<String>,
    #[serde(default)]
    pub(crate) azure_disk_encryption: Option<AdeSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DataDiskSpec {
    pub(crate) lun: u32,
    /// Id of a `[[disks]]` entry.
    pub(crate) disk: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VirtualMachineSpec {
    pub(crate) id: String,
    pub(crate) location: String,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    #[serde(default = "vm_size")]
    pub(crate) vm_size: String,
    #[serde(default)]
    pub(crate) encryption_at_host: Option<bool>,
    #[serde(default)]
    pub(crate) security_type: Option<String>,
    #[serde(default)]
    pub(crate) identity: Option<ManagedIdentitySpec>,
    /// Id of a `[[disks]]` entry with `os_type`.
    pub(crate) os_disk: String,
    #[serde(default)]
    pub(crate) data_disks: Vec<DataDiskSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgentPoolSpec {
    pub(crate) name: String,
    #[serde(default = "three")]
    pub(crate) count: u32,
    #[serde(default = "aks_vm_size")]
    pub(crate) vm_size: String,
    /// `System` or `User`; default `System` for the first pool, `User` for the others.
    #[serde(default)]
    pub(crate) mode: Option<String>,
    #[serde(default)]
    pub(crate) encryption_at_host: Option<bool>,
}

/// AKS KMS etcd encryption: always a versioned key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KmsSpec {
    pub(crate) vault: String,
    pub(crate) name: String,
    pub(crate) version: Option<String>,
    /// `keyVaultNetworkAccess`: `Public` or `Private`.
    #[serde(default = "public")]
    pub(crate) network_access: String,
    #[serde(default = "yes")]
    pub(crate) enabled: bool,
    #[serde(default)]
    pub(crate) external_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AksSpec {
    pub(crate) id: String,
    pub(crate) location: String,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    #[serde(default = "kubernetes_version")]
    pub(crate) kubernetes_version: String,
    pub(crate) identity: ManagedIdentitySpec,
    /// Id of a `[[disk_encryption_sets]]` entry (`diskEncryptionSetID`).
    #[serde(default)]
    pub(crate) disk_encryption_set: Option<String>,
    pub(crate) agent_pools: Vec<AgentPoolSpec>,
    #[serde(default)]
    pub(crate) kms: Option<KmsSpec>,
}

/// `server` (`Microsoft.Sql/servers`) or `managed_instance` (`Microsoft.Sql/managedInstances`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SqlKind {
    Server,
    ManagedInstance,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SqlServerSpec {
    pub(crate) id: String,
    pub(crate) kind: SqlKind,
    pub(crate) location: String,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) identity: Option<ManagedIdentitySpec>,
    /// `primaryUserAssignedIdentityId`: one of `identity.user_assigned`.
    #[serde(default)]
    pub(crate) primary_user_assigned_identity: Option<String>,
    /// The TDE protector's key; absent = `ServiceManaged`. Following the latest version = `autoRotationEnabled`.
    #[serde(default)]
    pub(crate) protector: Option<KeyRefSpec>,
    #[serde(default)]
    pub(crate) public_network_access: Option<String>,
    /// Managed instances: SKU name (default `GP_Gen5`).
    #[serde(default)]
    pub(crate) sku: Option<String>,
    #[serde(default)]
    pub(crate) created: Option<Timestamp>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegistrySpec {
    pub(crate) id: String,
    pub(crate) location: String,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    #[serde(default = "standard_sku")]
    pub(crate) sku: String,
    #[serde(default)]
    pub(crate) identity: Option<ManagedIdentitySpec>,
    /// Customer-managed key; version absent = versionless `keyIdentifier` (follows the latest version).
    #[serde(default)]
    pub(crate) key: Option<KeyRefSpec>,
    /// The user-assigned identity (resource id, among `identity.user_assigned`) that reaches the key; rendered
    /// as its client id, as ACR does.
    #[serde(default)]
    pub(crate) key_identity: Option<String>,
    #[serde(default)]
    pub(crate) admin_user_enabled: Option<bool>,
    #[serde(default)]
    pub(crate) public_network_access: Option<String>,
    #[serde(default)]
    pub(crate) created: Option<Timestamp>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContainerSpec {
    pub(crate) name: String,
    #[serde(default = "aci_image")]
    pub(crate) image: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContainerGroupSpec {
    pub(crate) id: String,
    pub(crate) location: String,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    #[serde(default = "linux")]
    pub(crate) os_type: String,
    #[serde(default = "standard_sku")]
    pub(crate) sku: String,
    #[serde(default)]
    pub(crate) identity: Option<ManagedIdentitySpec>,
    /// Customer-managed key; ACI always names a version.
    #[serde(default)]
    pub(crate) key: Option<KeyRefSpec>,
    /// `encryptionProperties.identity`: a user-assigned identity id among `identity.user_assigned`; absent =
    /// the system-assigned identity.
    #[serde(default)]
    pub(crate) key_identity: Option<String>,
    /// Default: one container named like the group.
    #[serde(default)]
    pub(crate) containers: Vec<ContainerSpec>,
}

/// A Key Vault reference held by a Container Apps certificate or secret.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvCertificateSpec {
    pub(crate) name: String,
    /// Vault name (of this scenario, or with `external_key` an https URL); absent = an uploaded certificate.
    #[serde(default)]
    pub(crate) vault: Option<String>,
    /// Certificate name in the vault; default `name`.
    #[serde(default)]
    pub(crate) certificate: Option<String>,
    /// `system` or a user-assigned identity id of the environment.
    #[serde(default)]
    pub(crate) identity: Option<String>,
    #[serde(default)]
    pub(crate) subject_name: Option<String>,
    #[serde(default)]
    pub(crate) expires: Option<Timestamp>,
    #[serde(default)]
    pub(crate) external_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ManagedEnvironmentSpec {
    pub(crate) id: String,
    pub(crate) location: String,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) identity: Option<ManagedIdentitySpec>,
    #[serde(default)]
    pub(crate) certificates: Vec<EnvCertificateSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppSecretSpec {
    pub(crate) name: String,
    /// Vault name (or with `external_key` an https URL); absent = a plain secret (its value is never served).
    #[serde(default)]
    pub(crate) vault: Option<String>,
    /// Secret name in the vault; default `name`.
    #[serde(default)]
    pub(crate) secret: Option<String>,
    /// `system` or a user-assigned identity id of the app.
    #[serde(default)]
    pub(crate) identity: Option<String>,
    #[serde(default)]
    pub(crate) external_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContainerAppSpec {
    pub(crate) id: String,
    pub(crate) location: String,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    /// Id of a `[[container_apps_environments]]` entry.
    pub(crate) environment: String,
    #[serde(default)]
    pub(crate) identity: Option<ManagedIdentitySpec>,
    #[serde(default)]
    pub(crate) secrets: Vec<AppSecretSpec>,
    #[serde(default = "aci_image")]
    pub(crate) image: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebAppSpec {
    pub(crate) id: String,
    pub(crate) location: String,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    /// `app`, `app,linux`, `functionapp,linux`, ...
    #[serde(default = "app_kind")]
    pub(crate) kind: String,
    /// `Running` or `Stopped`.
    #[serde(default = "running")]
    pub(crate) state: String,
    #[serde(default)]
    pub(crate) identity: Option<ManagedIdentitySpec>,
    #[serde(default)]
    pub(crate) https_only: Option<bool>,
    /// App Service plan id (not checked: plans are listed through `[[other_resources]]`).
    #[serde(default)]
    pub(crate) server_farm: Option<String>,
}

/// `[[raw_resources]]`: verbatim ARM documents read from a JSON file next to the scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawResourceSpec {
    pub(crate) path: String,
}

fn customer_key() -> String {
    "EncryptionAtRestWithCustomerKey".into()
}
fn premium_lrs() -> String {
    "Premium_LRS".into()
}
fn vm_size() -> String {
    "Standard_D2s_v5".into()
}
fn aks_vm_size() -> String {
    "Standard_D4s_v5".into()
}
fn three() -> u32 {
    3
}
fn public() -> String {
    "Public".into()
}
fn kubernetes_version() -> String {
    "1.33.3".into()
}
fn standard_sku() -> String {
    "Standard".into()
}
fn linux() -> String {
    "Linux".into()
}
fn aci_image() -> String {
    "mcr.microsoft.com/azuredocs/aci-helloworld:latest".into()
}
fn app_kind() -> String {
    "app".into()
}
fn running() -> String {
    "Running".into()
}

// ---------------------------------------------------------------------------------------------------------------
// The validated model.
// ---------------------------------------------------------------------------------------------------------------

/// Where a referenced vault is: one of the scenario's (URL built for the cloud asked), or outside it.
#[derive(Debug, Clone)]
pub(crate) struct VaultRef {
    /// Lower-case vault or managed HSM name (first DNS label).
    pub(crate) container: String,
    pub(crate) kind: ContainerKind,
    /// The URL as written, without a trailing slash, for a vault outside the scenario.
    pub(crate) external_uri: Option<String>,
}

/// A resource's binding to a key, with every reference resolved; rotation moves it when it follows the latest
/// version.
#[derive(Debug, Clone)]
pub(crate) struct KeyBinding {
    pub(crate) vault: VaultRef,
    pub(crate) key_name: String,
    /// True when the resource adopts new versions by itself (DES rotation to latest, ACR versionless key, SQL
    /// auto rotation).
    pub(crate) follows_latest: bool,
    pub(crate) in_use_version: String,
    pub(crate) last_key_rotation: Option<OffsetDateTime>,
    pub(crate) auto_adopt: bool,
    pub(crate) adoption_delay: Option<time::Duration>,
    /// Set when the vault is deliberately outside the scenario.
    pub(crate) external: Option<String>,
    /// A version created by a rotation, adopted when the clock reaches the time.
    pub(crate) pending: Option<(String, OffsetDateTime)>,
    /// Versions in use before the current one, oldest first.
    pub(crate) earlier_versions: Vec<String>,
}

impl KeyBinding {
    /// Whether a new version of `container`/`key_name` is adopted by this binding.
    pub(crate) fn adopts(&self, container: &str, key_name: &str) -> bool {
        self.follows_latest
            && self.auto_adopt
            && self.external.is_none()
            && self.vault.container == container
            && self.key_name.eq_ignore_ascii_case(key_name)
    }

    /// Adopt the pending version if its time has come; true when it did.
    pub(crate) fn apply_due(&mut self, now: OffsetDateTime) -> bool {
        if let Some((version, due)) = self.pending.clone()
            && due <= now
        {
            let old = std::mem::replace(&mut self.in_use_version, version);
            self.earlier_versions.push(old);
            self.last_key_rotation = Some(due);
            self.pending = None;
            return true;
        }
        false
    }
}

#[derive(Debug, Clone)]
pub(crate) struct DiskEncryptionSet {
    pub(crate) id: ResourceId,
    pub(crate) spec: DiskEncryptionSetSpec,
    pub(crate) key: KeyBinding,
    pub(crate) rotation_to_latest: Option<bool>,
}

/// Azure Disk Encryption settings with the references resolved.
#[derive(Debug, Clone)]
pub(crate) struct AdeSettings {
    pub(crate) vault_id: String,
    pub(crate) vault_name: String,
    pub(crate) secret: String,
    pub(crate) secret_version: String,
    /// Key name and its latest version.
    pub(crate) key: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub(crate) struct Disk {
    pub(crate) id: ResourceId,
    pub(crate) spec: DiskSpec,
    pub(crate) encryption_type: String,
    pub(crate) ade: Option<AdeSettings>,
}

#[derive(Debug, Clone)]
pub(crate) struct VirtualMachine {
    pub(crate) id: ResourceId,
    pub(crate) spec: VirtualMachineSpec,
}

impl VirtualMachine {
    /// Whether the VM's OS or data disks include `disk_key` (lower-case id).
    pub(crate) fn uses_disk(&self, disk_key: &str) -> bool {
        self.spec.os_disk.eq_ignore_ascii_case(disk_key)
            || self.spec.data_disks.iter().any(|d| d.disk.eq_ignore_ascii_case(disk_key))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct AksCluster {
    pub(crate) id: ResourceId,
    pub(crate) spec: AksSpec,
    pub(crate) kms: Option<KeyBinding>,
}

#[derive(Debug, Clone)]
pub(crate) struct SqlServer {
    pub(crate) id: ResourceId,
    pub(crate) spec: SqlServerSpec,
    pub(crate) protector: Option<KeyBinding>,
    pub(crate) created: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub(crate) struct ContainerRegistry {
    pub(crate) id: ResourceId,
    pub(crate) spec: RegistrySpec,
    pub(crate) key: Option<KeyBinding>,
}

#[derive(Debug, Clone)]
pub(crate) struct ContainerGroup {
    pub(crate) id: ResourceId,
    pub(crate) spec: ContainerGroupSpec,
    pub(crate) key: Option<KeyBinding>,
}

/// A Key Vault reference (certificate or secret) with its vault resolved.
#[derive(Debug, Clone)]
pub(crate) struct VaultItemRef {
    pub(crate) vault: VaultRef,
    /// Certificate or secret name in the vault.
    pub(crate) item: String,
    /// `system` or a user-assigned identity id.
    pub(crate) identity: String,
}

#[derive(Debug, Clone)]
pub(crate) struct ManagedEnvironment {
    pub(crate) id: ResourceId,
    pub(crate) spec: ManagedEnvironmentSpec,
    /// Per certificate (same order as `spec.certificates`): its Key Vault reference, if any.
    pub(crate) certificate_refs: Vec<Option<VaultItemRef>>,
}

#[derive(Debug, Clone)]
pub(crate) struct ContainerApp {
    pub(crate) id: ResourceId,
    pub(crate) spec: ContainerAppSpec,
    /// Per secret (same order as `spec.secrets`): its Key Vault reference, if any.
    pub(crate) secret_refs: Vec<Option<VaultItemRef>>,
}

#[derive(Debug, Clone)]
pub(crate) struct WebApp {
    pub(crate) id: ResourceId,
    pub(crate) spec: WebAppSpec,
}

/// Every resource of the services above, validated.
#[derive(Debug, Clone, Default)]
pub(crate) struct Services {
    pub(crate) disk_encryption_sets: Vec<DiskEncryptionSet>,
    pub(crate) disks: Vec<Disk>,
    pub(crate) virtual_machines: Vec<VirtualMachine>,
    pub(crate) aks_clusters: Vec<AksCluster>,
    pub(crate) sql_servers: Vec<SqlServer>,
    pub(crate) container_registries: Vec<ContainerRegistry>,
    pub(crate) container_groups: Vec<ContainerGroup>,
    pub(crate) managed_environments: Vec<ManagedEnvironment>,
    pub(crate) container_apps: Vec<ContainerApp>,
    pub(crate) web_apps: Vec<WebApp>,
}

impl Services {
    /// Every key binding with the resource that holds it (pinned ones included; [`KeyBinding::adopts`] tells
    /// which follow the latest version).
    pub(crate) fn key_bindings_mut(&mut self) -> impl Iterator<Item = (&ResourceId, &mut KeyBinding)> {
        self.disk_encryption_sets
            .iter_mut()
            .map(|d| (&d.id, &mut d.key))
            .chain(self.container_registries.iter_mut().filter_map(|r| Some((&r.id, r.key.as_mut()?))))
            .chain(self.sql_servers.iter_mut().filter_map(|s| Some((&s.id, s.protector.as_mut()?))))
            .chain(self.container_groups.iter_mut().filter_map(|g| Some((&g.id, g.key.as_mut()?))))
            .chain(self.aks_clusters.iter_mut().filter_map(|a| Some((&a.id, a.kms.as_mut()?))))
    }

    /// Every key binding with the resource that holds it, read-only (same order as
    /// [`Services::key_bindings_mut`]).
    pub(crate) fn key_bindings(&self) -> impl Iterator<Item = (&ResourceId, &KeyBinding)> {
        self.disk_encryption_sets
            .iter()
            .map(|d| (&d.id, &d.key))
            .chain(self.container_registries.iter().filter_map(|r| Some((&r.id, r.key.as_ref()?))))
            .chain(self.sql_servers.iter().filter_map(|s| Some((&s.id, s.protector.as_ref()?))))
            .chain(self.container_groups.iter().filter_map(|g| Some((&g.id, g.key.as_ref()?))))
            .chain(self.aks_clusters.iter().filter_map(|a| Some((&a.id, a.kms.as_ref()?))))
    }

    pub(crate) fn disk_encryption_set(&self, id: &str) -> Option<&DiskEncryptionSet> {
        self.disk_encryption_sets.iter().find(|d| d.id.raw.eq_ignore_ascii_case(id))
    }

    pub(crate) fn disk(&self, id: &str) -> Option<&Disk> {
        self.disks.iter().find(|d| d.id.raw.eq_ignore_ascii_case(id))
    }

    /// The VM a disk is attached to.
    pub(crate) fn disk_owner(&self, disk: &ResourceId) -> Option<&VirtualMachine> {
        self.virtual_machines.iter().find(|vm| vm.uses_disk(&disk.raw))
    }

    pub(crate) fn managed_environment(&self, id: &str) -> Option<&ManagedEnvironment> {
        self.managed_environments.iter().find(|e| e.id.raw.eq_ignore_ascii_case(id))
    }
}
