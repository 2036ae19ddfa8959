//! Pure conversion of disk encryption sets, managed disks, virtual machines, AKS clusters and AKS agent pools
//! (ARM JSON or `az` output) into evidence rows. A disk encryption set names its key; everything else names a
//! set, so its binding carries `key_via_resource_id` and leaves the key columns to [`crate::link`]. No I/O;
//! absent JSON stays null.

use evidence::identity::{EncryptionIdentity, NamedIdentity, encryption_identity};
use evidence::ids::{normalize_resource_id, resource_group_of, resource_name_of, subscription_of};
use evidence::vocab::{encryption_scope, key_source};
use evidence::wire::{item_label, non_empty};
use evidence::{
    AksClusterRow, CmkBinding, DiskEncryptionSetRow, KeyReference, ManagedDiskRow, SnapshotContext, Timestamp,
    VirtualMachineRow, resource_types,
};
use serde::de::DeserializeOwned;

use crate::ConvertError;
use crate::wire::{self, SubResource};

/// The `api-version` the collector asks for disk encryption sets and managed disks.
pub const DISK_API_VERSION: &str = "2025-01-02";
/// The `api-version` the collector asks for virtual machines.
pub const VM_API_VERSION: &str = "2025-04-01";
/// The `api-version` the collector asks for AKS clusters.
pub const AKS_API_VERSION: &str = "2025-10-01";

const DES_KIND: &str = "disk encryption set";
const DISK_KIND: &str = "managed disk";
const VM_KIND: &str = "virtual machine";
const AKS_KIND: &str = "AKS cluster";
const POOL_KIND: &str = "AKS agent pool";

/// Which converter a document goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocumentKind {
    DiskEncryptionSet,
    Disk,
    VirtualMachine,
    ManagedCluster,
    AgentPool,
}

/// Recognises a document by its `type`, or by the type its ARM id implies when `type` is absent (some of
/// Microsoft's examples, e.g. a disk create response, leave it out).
pub(crate) fn document_kind(item: &serde_json::Value) -> Result<DocumentKind, ConvertError> {
    let label = item_label(item, "id");
    let Some(object) = item.as_object() else {
        return Err(ConvertError::Shape {
            kind: "document",
            resource: label,
            reason: "expected a JSON object".to_string(),
        });
    };
    let text = |key: &str| object.get(key).and_then(|v| v.as_str()).filter(|s| !s.trim().is_empty());
    let resource_type = match (text("type"), text("id")) {
        (Some(t), _) => t.trim().to_ascii_lowercase(),
        (None, Some(id)) => evidence::ids::resource_type_of(id).map(|t| t.to_ascii_lowercase()).ok_or_else(|| {
            ConvertError::UnsupportedType {
                resource: label.clone(),
                resource_type: "(no `type`, and the id names no provider type)".to_string(),
            }
        })?,
        (None, None) => return Err(ConvertError::MissingField { kind: "document", resource: label, field: "type" }),
    };
    Ok(match resource_type.as_str() {
        "microsoft.compute/diskencryptionsets" | "microsoft.compute/diskencryptionset" => {
            DocumentKind::DiskEncryptionSet
        }
        "microsoft.compute/disks" => DocumentKind::Disk,
        "microsoft.compute/virtualmachines" => DocumentKind::VirtualMachine,
        "microsoft.containerservice/managedclusters" => DocumentKind::ManagedCluster,
        "microsoft.containerservice/managedclusters/agentpools" => DocumentKind::AgentPool,
        _ => return Err(ConvertError::UnsupportedType { resource: label, resource_type }),
    })
}

/// Everything one disk encryption set yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskEncryptionSetEvidence {
    /// The `disk_encryption_sets` row.
    pub set: DiskEncryptionSetRow,
    /// The `cmk_bindings` row for scope `encryption_set`: the key every disk pointing at the set inherits.
    pub binding: CmkBinding,
}

/// Everything one managed disk yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedDiskEvidence {
    /// The `managed_disks` row.
    pub disk: ManagedDiskRow,
    /// The `cmk_bindings` row for scope `disk`; key columns null until linked.
    pub binding: CmkBinding,
}

/// Everything one virtual machine yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualMachineEvidence {
    /// The `virtual_machines` row.
    pub vm: VirtualMachineRow,
    /// One binding for the OS disk (`os_disk`) and one per data disk (`data_disk/lun=N`), in LUN order.
    pub bindings: Vec<CmkBinding>,
}

/// Everything one AKS cluster yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AksClusterEvidence {
    /// The `aks_clusters` row.
    pub cluster: AksClusterRow,
    /// The `node_disks` and `etcd_secrets` bindings.
    pub bindings: Vec<CmkBinding>,
}

/// What an agent pool document adds to its cluster's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPoolEvidence {
    /// The cluster's normalised resource id.
    pub cluster_id: String,
    /// Pool name.
    pub name: String,
    /// `enableEncryptionAtHost`; `None` when the pool did not say.
    pub encryption_at_host: Option<bool>,
}

/// The identity of a row: ids, subscription, name.
struct Header {
    original_id: String,
    resource_id: String,
    subscription_id: String,
    name: String,
}

fn parse<T: DeserializeOwned>(kind: &'static str, item: &serde_json::Value) -> Result<T, ConvertError> {
    T::deserialize(item).map_err(|e| ConvertError::Shape {
        kind,
        resource: item_label(item, "id"),
        reason: e.to_string(),
    })
}

fn header(
    kind: &'static str,
    item: &serde_json::Value,
    id: Option<&str>,
    name: Option<&str>,
) -> Result<Header, ConvertError> {
    let original_id = non_empty(id)
        .ok_or_else(|| ConvertError::MissingField { kind, resource: item_label(item, "id"), field: "id" })?
        .to_string();
    let subscription_id = subscription_of(&original_id).ok_or_else(|| ConvertError::InvalidId {
        kind,
        resource: original_id.clone(),
        reason: "no /subscriptions/{id} segment",
    })?;
    let name = non_empty(name)
        .map(str::to_string)
        .or_else(|| resource_name_of(&original_id))
        .ok_or_else(|| ConvertError::MissingField { kind, resource: original_id.clone(), field: "name" })?;
    Ok(Header { resource_id: normalize_resource_id(&original_id), original_id, subscription_id, name })
}

/// A binding with every encryption column null.
fn bare_binding(
    ctx: &SnapshotContext,
    h: &Header,
    resource_type: &str,
    location: Option<&String>,
    scope: String,
    raw_sha256: &str,
) -> CmkBinding {
    CmkBinding {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        subscription_id: h.subscription_id.clone(),
        resource_id: h.resource_id.clone(),
        resource_id_original: h.original_id.clone(),
        resource_type: resource_type.to_string(),
        resource_name: h.name.clone(),
        location: location.cloned(),
        encryption_scope: scope,
        key_source: None,
        key_source_raw: None,
        key_vault_uri: None,
        key_via_resource_id: None,
        key_name: None,
        configured_key_version: None,
        in_use_key_version: None,
        in_use_key_id: None,
        auto_rotation: None,
        identity_type: None,
        identity_resource_id: None,
        identity_principal_id: None,
        identity_client_id: None,
        federated_client_id: None,
        last_key_rotation_at: None,
        in_use_key_expires_at: None,
        rotation_error: None,
        raw_response_sha256: raw_sha256.to_string(),
    }
}

fn set_identity(binding: &mut CmkBinding, identity: EncryptionIdentity) {
    binding.identity_type = identity.identity_type.map(str::to_string);
    binding.identity_resource_id = identity.resource_id;
    binding.identity_principal_id = identity.principal_id;
    binding.identity_client_id = identity.client_id;
    binding.federated_client_id = identity.federated_client_id;
}

fn normalized_id(id: Option<&str>) -> Option<String> {
    non_empty(id).map(normalize_resource_id)
}

fn sub_id(sub: Option<&SubResource>) -> Option<String> {
    normalized_id(sub.and_then(|s| s.id.as_deref()))
}

fn parse_time(text: Option<&str>) -> Option<Timestamp> {
    text.and_then(Timestamp::parse)
}

/// A key identifier's parts for a binding. Key Vault names are `[0-9A-Za-z-]`, but Microsoft's examples use
/// placeholders such as `{key}` that a URL parser percent-encodes: decode them back so the row says what Azure
/// said.
fn parse_key_url(url: &str) -> Option<KeyReference> {
    let mut key = KeyReference::parse_key_id(url).ok()?;
    key.key_name = percent_decode(&key.key_name);
    key.version = key.version.map(|v| percent_decode(&v));
    Some(key)
}

fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                // Two hex digits are below 256 by construction.
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// Fills the key columns of a binding from a key identifier Azure sent: vault, name, and — when the
/// identifier is versioned — the version in use and the identifier itself.
fn set_key(binding: &mut CmkBinding, key_url: &str) -> Option<String> {
    let key = parse_key_url(key_url)?;
    binding.key_vault_uri = Some(key.vault_uri.clone());
    binding.key_name = Some(key.key_name.clone());
    binding.in_use_key_version = key.version.clone();
    binding.in_use_key_id = key.version.is_some().then(|| key_url.trim().to_string());
    key.version
}

/// Converts one disk encryption set. Its binding (scope `encryption_set`) carries the key every disk, VM disk
/// and AKS node pool that names the set inherits through linking.
///
/// `encryptionType` gives the key source. Sets read at old api-versions (Microsoft's 2019-07-01 example) carry
/// no `encryptionType`; every type a set can have is a customer key, so a set that names an active key is then
/// `customer_managed` (with `key_source_raw` null: Azure did not say).
pub fn disk_encryption_set(
    ctx: &SnapshotContext,
    item: &serde_json::Value,
    raw_sha256: &str,
) -> Result<DiskEncryptionSetEvidence, ConvertError> {
    let set: wire::DiskEncryptionSet = parse(DES_KIND, item)?;
    let h = header(DES_KIND, item, set.id.as_deref(), set.name.as_deref())?;
    let wire::DiskEncryptionSet { location, identity, properties, flattened_properties, .. } = set;
    let props = properties.unwrap_or(flattened_properties);
    let active = props.active_key.clone().unwrap_or_default();
    let active_url = non_empty(active.key_url.as_deref());

    let encryption_type = props.encryption_type.clone();
    let key_source = key_source::from_disk_encryption_type(encryption_type.as_deref())
        .or_else(|| active_url.map(|_| key_source::CUSTOMER_MANAGED));
    let is_cmk = key_source == Some(key_source::CUSTOMER_MANAGED);
    let follows_latest = props.rotation_to_latest_key_version_enabled;

    let mut binding = bare_binding(
        ctx,
        &h,
        resource_types::DISK_ENCRYPTION_SET,
        location.as_ref(),
        encryption_scope::ENCRYPTION_SET.to_string(),
        raw_sha256,
    );
    binding.key_source = key_source.map(str::to_string);
    binding.key_source_raw = encryption_type.clone();
    let error = props.auto_key_rotation_error.clone().unwrap_or_default();
    let error_code = non_empty(error.code.as_deref()).map(str::to_string);
    let error_message = non_empty(error.message.as_deref()).map(str::to_string);
    // A set of platform keys does not exist; should Azure ever say so, a left-over key is not a key in use.
    if key_source != Some(key_source::MICROSOFT_MANAGED) {
        let version = active_url.and_then(|url| set_key(&mut binding, url));
        binding.configured_key_version = if follows_latest == Some(true) { None } else { version.clone() };
        binding.auto_rotation = follows_latest.or_else(|| version.as_ref().map(|_| false));
        binding.last_key_rotation_at = parse_time(props.last_key_rotation_timestamp.as_deref());
        binding.rotation_error = match (&error_code, &error_message) {
            (Some(code), Some(message)) => Some(format!("{code}: {message}")),
            (Some(one), None) | (None, Some(one)) => Some(one.clone()),
            (None, None) => None,
        };
        if key_source.is_some() {
            // The set reaches its key with its system-assigned identity, or its only user-assigned one.
            set_identity(
                &mut binding,
                encryption_identity(
                    identity.as_ref(),
                    NamedIdentity::SystemOrSoleUserAssigned,
                    props.federated_client_id.as_deref(),
                    is_cmk,
                ),
            );
        }
    }

    let identity = identity.unwrap_or_default();
    let row = DiskEncryptionSetRow {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        subscription_id: h.subscription_id.clone(),
        resource_id: h.resource_id.clone(),
        resource_id_original: h.original_id.clone(),
        name: h.name.clone(),
        resource_group: resource_group_of(&h.original_id),
        location,
        encryption_type,
        active_key_url: active_url.map(str::to_string),
        active_key_source_vault_id: sub_id(active.source_vault.as_ref()),
        previous_key_urls: props
            .previous_keys
            .as_ref()
            .map(|keys| keys.iter().filter_map(|k| non_empty(k.key_url.as_deref())).map(str::to_string).collect()),
        rotation_to_latest_key_version_enabled: follows_latest,
        last_key_rotation_at: parse_time(props.last_key_rotation_timestamp.as_deref()),
        auto_key_rotation_error_code: error_code,
        auto_key_rotation_error_message: error_message,
        federated_client_id: non_empty(props.federated_client_id.as_deref()).map(str::to_string),
        identity_type_raw: identity.identity_type.clone(),
        system_assigned_principal_id: non_empty(identity.principal_id.as_deref()).map(str::to_string),
        user_assigned_identity_ids: identity.user_assigned_ids(),
        provisioning_state: props.provisioning_state,
        raw_response_sha256: raw_sha256.to_string(),
    };
    Ok(DiskEncryptionSetEvidence { set: row, binding })
}

/// Converts one managed disk. The binding (scope `disk`) records the key source the disk states
/// (`encryption.type`; `customer_managed` when the type is absent but a set is named) and the disk encryption
/// set it names (`encryption.diskEncryptionSetId`, else a confidential disk's
/// `securityProfile.secureVMDiskEncryptionSetId`); the key itself comes from linking. Azure Disk Encryption
/// (`encryptionSettingsCollection`) is guest-level BitLocker / dm-crypt: it goes to the `ade_*` columns only
/// and never makes the disk customer-managed.
pub fn managed_disk(
    ctx: &SnapshotContext,
    item: &serde_json::Value,
    raw_sha256: &str,
) -> Result<ManagedDiskEvidence, ConvertError> {
    let disk: wire::Disk = parse(DISK_KIND, item)?;
    let h = header(DISK_KIND, item, disk.id.as_deref(), disk.name.as_deref())?;
    let wire::Disk { location, managed_by, sku, properties, flattened_properties, .. } = disk;
    let props = properties.unwrap_or(flattened_properties);
    let encryption = props.encryption.clone().unwrap_or_default();
    let security = props.security_profile.clone().unwrap_or_default();
    let set_id = normalized_id(encryption.disk_encryption_set_id.as_deref());
    let secure_vm_set_id = normalized_id(security.secure_vm_disk_encryption_set_id.as_deref());

    let mut binding =
        bare_binding(ctx, &h, resource_types::DISK, location.as_ref(), encryption_scope::DISK.to_string(), raw_sha256);
    binding.key_via_resource_id = set_id.clone().or_else(|| secure_vm_set_id.clone());
    // Every set holds a customer key, so a disk that names one without saying its type uses a customer key.
    binding.key_source = key_source::from_disk_encryption_type(encryption.encryption_type.as_deref())
        .or_else(|| binding.key_via_resource_id.as_ref().map(|_| key_source::CUSTOMER_MANAGED))
        .map(str::to_string);
    binding.key_source_raw = encryption.encryption_type.clone();

    let ade = props.encryption_settings_collection.as_ref();
    let ade_urls = |pick: fn(&wire::EncryptionSettingsElement) -> Option<&str>| {
        ade.and_then(|a| a.encryption_settings.as_ref())
            .map(|settings| settings.iter().filter_map(|s| non_empty(pick(s))).map(str::to_string).collect())
    };
    let row = ManagedDiskRow {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        subscription_id: h.subscription_id.clone(),
        resource_id: h.resource_id.clone(),
        resource_id_original: h.original_id.clone(),
        name: h.name.clone(),
        resource_group: resource_group_of(&h.original_id),
        location,
        sku_name: sku.and_then(|s| s.name),
        disk_size_gb: props.disk_size_gb,
        os_type: props.os_type,
        disk_state: props.disk_state,
        managed_by: normalized_id(managed_by.as_deref()),
        encryption_type: encryption.encryption_type,
        disk_encryption_set_id: set_id,
        security_type: security.security_type,
        secure_vm_disk_encryption_set_id: secure_vm_set_id,
        ade_enabled: ade.and_then(|a| a.enabled),
        ade_settings_version: ade.and_then(|a| a.encryption_settings_version.clone()),
        ade_secret_urls: ade_urls(|s| s.disk_encryption_key.as_ref().and_then(|k| k.secret_url.as_deref())),
        ade_key_urls: ade_urls(|s| s.key_encryption_key.as_ref().and_then(|k| k.key_url.as_deref())),
        network_access_policy: props.network_access_policy,
        public_network_access: props.public_network_access,
        raw_response_sha256: raw_sha256.to_string(),
    };
    Ok(ManagedDiskEvidence { disk: row, binding })
}

/// One data disk of a VM, as the VM describes it.
struct VmDataDisk {
    lun: i64,
    /// `managedDisk.id`, normalised.
    disk_id: Option<String>,
    /// The disk encryption set the VM names for it, normalised.
    set: Option<String>,
}

/// The disk encryption set a VM disk names: `managedDisk.diskEncryptionSet.id`, or for a confidential VM disk
/// `managedDisk.securityProfile.diskEncryptionSet.id`.
fn vm_disk_set(disk: Option<&wire::ManagedDiskParameters>) -> Option<String> {
    let disk = disk?;
    sub_id(disk.disk_encryption_set.as_ref())
        .or_else(|| sub_id(disk.security_profile.as_ref().and_then(|s| s.disk_encryption_set.as_ref())))
}

/// Converts one virtual machine: one binding for the OS disk (`os_disk`) and one per data disk
/// (`data_disk/lun=N`). A disk that names a disk encryption set is `customer_managed` through it; one that
/// names none gets a null key source here (the VM does not say what the disk uses) and linking copies it from
/// the managed disk's own binding when that disk was collected.
pub fn virtual_machine(
    ctx: &SnapshotContext,
    item: &serde_json::Value,
    raw_sha256: &str,
) -> Result<VirtualMachineEvidence, ConvertError> {
    let vm: wire::VirtualMachine = parse(VM_KIND, item)?;
    let h = header(VM_KIND, item, vm.id.as_deref(), vm.name.as_deref())?;
    let wire::VirtualMachine { location, properties, flattened_properties, .. } = vm;
    let props = properties.unwrap_or(flattened_properties);
    let storage = props.storage_profile.unwrap_or_default();
    let security = props.security_profile.unwrap_or_default();

    let disk_binding = |scope: String, set: &Option<String>| {
        let mut b = bare_binding(ctx, &h, resource_types::VIRTUAL_MACHINE, location.as_ref(), scope, raw_sha256);
        b.key_via_resource_id = set.clone();
        b.key_source = set.as_ref().map(|_| key_source::CUSTOMER_MANAGED.to_string());
        b
    };

    let mut bindings = Vec::new();
    let os_disk = storage.os_disk.as_ref();
    let os_managed = os_disk.and_then(|d| d.managed_disk.as_ref());
    let os_disk_id = normalized_id(os_managed.and_then(|m| m.id.as_deref()));
    let os_disk_set = vm_disk_set(os_managed);
    if os_disk.is_some() {
        bindings.push(disk_binding(encryption_scope::OS_DISK.to_string(), &os_disk_set));
    }

    let mut data_disks = Vec::new();
    for disk in storage.data_disks.iter().flatten() {
        let lun = disk.lun.ok_or_else(|| ConvertError::MissingField {
            kind: VM_KIND,
            resource: h.original_id.clone(),
            field: "storageProfile.dataDisks[].lun",
        })?;
        let managed = disk.managed_disk.as_ref();
        data_disks.push(VmDataDisk {
            lun,
            disk_id: normalized_id(managed.and_then(|m| m.id.as_deref())),
            set: vm_disk_set(managed),
        });
    }
    data_disks.sort_by_key(|d| d.lun);
    for d in &data_disks {
        bindings.push(disk_binding(encryption_scope::data_disk(d.lun), &d.set));
    }

    let listed = storage.data_disks.is_some();
    let column = |pick: fn(&VmDataDisk) -> String| listed.then(|| data_disks.iter().map(pick).collect::<Vec<_>>());
    let row = VirtualMachineRow {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        subscription_id: h.subscription_id.clone(),
        resource_id: h.resource_id.clone(),
        resource_id_original: h.original_id.clone(),
        name: h.name.clone(),
        resource_group: resource_group_of(&h.original_id),
        location: location.clone(),
        vm_size: props.hardware_profile.and_then(|p| p.vm_size),
        encryption_at_host: security.encryption_at_host,
        security_type: security.security_type,
        os_disk_id,
        os_disk_encryption_set_id: os_disk_set,
        os_disk_ade_enabled: os_disk.and_then(|d| d.encryption_settings.as_ref()).and_then(|s| s.enabled),
        data_disk_luns: column(|d| format!("lun={}", d.lun)),
        data_disk_ids: column(|d| d.disk_id.clone().unwrap_or_default()),
        data_disk_encryption_set_ids: column(|d| d.set.clone().unwrap_or_default()),
        provisioning_state: props.provisioning_state,
        raw_response_sha256: raw_sha256.to_string(),
    };
    Ok(VirtualMachineEvidence { vm: row, bindings })
}

/// Converts one AKS cluster. Scope `node_disks`: `customer_managed` through `diskEncryptionSetID` when set,
/// else `microsoft_managed` (node disks use platform keys unless a set is named). Scope `etcd_secrets`:
/// `customer_managed` with the KMS key (`securityProfile.azureKeyVaultKms.keyId`, a versioned id that does not
/// rotate by itself) reached with the cluster identity when KMS is enabled, else `microsoft_managed` (KMS is
/// off by default).
pub fn aks_cluster(
    ctx: &SnapshotContext,
    item: &serde_json::Value,
    raw_sha256: &str,
) -> Result<AksClusterEvidence, ConvertError> {
    let cluster: wire::ManagedCluster = parse(AKS_KIND, item)?;
    let h = header(AKS_KIND, item, cluster.id.as_deref(), cluster.name.as_deref())?;
    let wire::ManagedCluster { location, identity, properties, flattened_properties, .. } = cluster;
    let props = properties.unwrap_or(flattened_properties);
    let set_id = normalized_id(props.disk_encryption_set_id.as_deref());
    let kms = props.security_profile.as_ref().and_then(|s| s.azure_key_vault_kms.clone()).unwrap_or_default();
    let kms_enabled = kms.enabled == Some(true);

    let mut node = bare_binding(
        ctx,
        &h,
        resource_types::AKS_CLUSTER,
        location.as_ref(),
        encryption_scope::NODE_DISKS.to_string(),
        raw_sha256,
    );
    let node_source = if set_id.is_some() { key_source::CUSTOMER_MANAGED } else { key_source::MICROSOFT_MANAGED };
    node.key_source = Some(node_source.to_string());
    node.key_via_resource_id = set_id.clone();

    let mut etcd = bare_binding(
        ctx,
        &h,
        resource_types::AKS_CLUSTER,
        location.as_ref(),
        encryption_scope::ETCD_SECRETS.to_string(),
        raw_sha256,
    );
    if kms_enabled {
        etcd.key_source = Some(key_source::CUSTOMER_MANAGED.to_string());
        if let Some(key_id) = non_empty(kms.key_id.as_deref()) {
            etcd.configured_key_version = set_key(&mut etcd, key_id);
        }
        etcd.auto_rotation = Some(false);
        set_identity(
            &mut etcd,
            encryption_identity(identity.as_ref(), NamedIdentity::SystemOrSoleUserAssigned, None, true),
        );
    } else {
        etcd.key_source = Some(key_source::MICROSOFT_MANAGED.to_string());
    }

    let pools = props.agent_pool_profiles.as_ref();
    let mut names = Vec::new();
    let (mut at_host, mut without) = (Vec::new(), Vec::new());
    for pool in pools.into_iter().flatten() {
        let name = non_empty(pool.name.as_deref())
            .ok_or_else(|| ConvertError::MissingField {
                kind: AKS_KIND,
                resource: h.original_id.clone(),
                field: "agentPoolProfiles[].name",
            })?
            .to_string();
        match pool.enable_encryption_at_host {
            Some(true) => at_host.push(name.clone()),
            Some(false) => without.push(name.clone()),
            None => {}
        }
        names.push(name);
    }
    for list in [&mut names, &mut at_host, &mut without] {
        list.sort();
        list.dedup();
    }
    let listed = pools.is_some();
    let identity = identity.unwrap_or_default();
    let row = AksClusterRow {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        subscription_id: h.subscription_id.clone(),
        resource_id: h.resource_id.clone(),
        resource_id_original: h.original_id.clone(),
        name: h.name.clone(),
        resource_group: resource_group_of(&h.original_id),
        location,
        kubernetes_version: props.kubernetes_version,
        disk_encryption_set_id: set_id,
        agent_pools: listed.then_some(names),
        agent_pools_encryption_at_host: listed.then_some(at_host),
        agent_pools_without_encryption_at_host: listed.then_some(without),
        kms_enabled: kms.enabled,
        kms_key_id: non_empty(kms.key_id.as_deref()).map(str::to_string),
        kms_key_vault_network_access: kms.key_vault_network_access,
        kms_key_vault_resource_id: normalized_id(kms.key_vault_resource_id.as_deref()),
        identity_type_raw: identity.identity_type.clone(),
        system_assigned_principal_id: non_empty(identity.principal_id.as_deref()).map(str::to_string),
        user_assigned_identity_ids: identity.user_assigned_ids(),
        provisioning_state: props.provisioning_state,
        raw_response_sha256: raw_sha256.to_string(),
    };
    Ok(AksClusterEvidence { cluster: row, bindings: vec![node, etcd] })
}

/// Reads one AKS agent pool document (`.../managedClusters/{c}/agentPools/{p}`): which cluster, which pool,
/// and whether it encrypts at host.
pub fn agent_pool(item: &serde_json::Value) -> Result<AgentPoolEvidence, ConvertError> {
    let pool: wire::AgentPool = parse(POOL_KIND, item)?;
    let id = non_empty(pool.id.as_deref()).ok_or_else(|| ConvertError::MissingField {
        kind: POOL_KIND,
        resource: item_label(item, "id"),
        field: "id",
    })?;
    let normalized = normalize_resource_id(id);
    let cluster_id = normalized
        .rfind("/agentpools/")
        .map(|at| normalized[..at].to_string())
        .filter(|c| c.contains("/managedclusters/"))
        .ok_or_else(|| ConvertError::InvalidId {
            kind: POOL_KIND,
            resource: id.to_string(),
            reason: "no .../managedClusters/{cluster}/agentPools/{pool} segments",
        })?;
    let name = non_empty(pool.name.as_deref())
        .map(str::to_string)
        .or_else(|| resource_name_of(id))
        .ok_or_else(|| ConvertError::MissingField { kind: POOL_KIND, resource: id.to_string(), field: "name" })?;
    let props = pool.properties.unwrap_or(pool.flattened_properties);
    Ok(AgentPoolEvidence { cluster_id, name, encryption_at_host: props.enable_encryption_at_host })
}

/// Adds an agent pool document's facts to its cluster's row: the pool joins `agent_pools`, and its
/// `enableEncryptionAtHost`, when said, decides which of the two encryption-at-host lists holds it.
pub(crate) fn fold_agent_pool(cluster: &mut AksClusterRow, pool: &AgentPoolEvidence) {
    fn insert(list: &mut Option<Vec<String>>, name: &str) {
        let list = list.get_or_insert_with(Vec::new);
        if !list.iter().any(|n| n == name) {
            list.push(name.to_string());
            list.sort();
        }
    }
    fn remove(list: &mut Option<Vec<String>>, name: &str) {
        list.get_or_insert_with(Vec::new).retain(|n| n != name);
    }
    insert(&mut cluster.agent_pools, &pool.name);
    match pool.encryption_at_host {
        Some(true) => {
            insert(&mut cluster.agent_pools_encryption_at_host, &pool.name);
            remove(&mut cluster.agent_pools_without_encryption_at_host, &pool.name);
        }
        Some(false) => {
            insert(&mut cluster.agent_pools_without_encryption_at_host, &pool.name);
            remove(&mut cluster.agent_pools_encryption_at_host, &pool.name);
        }
        None => {
            // The lists describe the pools in `agent_pools`: once it is known, they are too.
            cluster.agent_pools_encryption_at_host.get_or_insert_with(Vec::new);
            cluster.agent_pools_without_encryption_at_host.get_or_insert_with(Vec::new);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on bad data: that is the failure.
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Value, json};

    use super::*;
    use crate::{Assembler, HANDLES};

    pub(crate) const HASH: &str = "3b1f0c0ffee0000000000000000000000000000000000000000000000000000a";

    pub(crate) fn ctx() -> SnapshotContext {
        SnapshotContext {
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".to_string(),
            taken_at: Timestamp::parse("2026-01-15T10:00:00Z").unwrap(),
        }
    }

    pub(crate) use collect_common::examples::body;

    /// A document of an example: the body, or item `item` of a list body.
    pub(crate) fn example(rel: &str, status: &str, item: Option<usize>) -> Value {
        let body = body(rel, status);
        match item {
            None => body,
            Some(i) => {
                let page: wire::Page = serde_json::from_value(body).unwrap();
                page.value.unwrap()[i].clone()
            }
        }
    }

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn strings(list: Option<&[&str]>) -> Option<Vec<String>> {
        list.map(|l| l.iter().map(|s| s.to_string()).collect())
    }

    /// Asserts the columns every binding and row of a document share.
    fn assert_identity_of(b: &CmkBinding, doc: &Value, name: &str, resource_type: &str, at: &str) {
        let id = doc["id"].as_str().unwrap();
        assert_eq!(b.resource_id_original, id, "{at}");
        assert_eq!(b.resource_id, id.to_ascii_lowercase(), "{at}");
        assert_eq!(b.subscription_id, subscription_of(id).unwrap(), "{at}");
        assert_eq!(b.resource_name, name, "{at}");
        assert_eq!(b.resource_type, resource_type, "{at}");
        assert_eq!(b.location.as_deref(), doc["location"].as_str(), "{at}");
        assert_eq!(b.raw_response_sha256, HASH, "{at}");
        assert_eq!(b.tenant_id, ctx().tenant_id, "{at}");
        assert_eq!(b.snapshot_id, "20260115T100000Z", "{at}");
    }

    // -----------------------------------------------------------------------------------------------------
    // Disk encryption sets

    const DES_2019: &str = "compute-diskrp/2019-07-01/GetInformationAboutADiskEncryptionSet.json";
    const DES_CROSS_TENANT: &str =
        "compute-diskrp/2025-01-02/DiskEncryptionSet_Create_WithKeyVaultFromADifferentTenant.json";
    const DES_GET: &str = "compute-diskrp/2025-01-02/DiskEncryptionSet_Get.json";
    const DES_ROTATION_ERROR: &str = "compute-diskrp/2025-01-02/DiskEncryptionSet_Get_WithAutoKeyRotationError.json";
    const DES_LIST: &str = "compute-diskrp/2025-01-02/DiskEncryptionSet_ListBySubscription.json";
    const DES_ROTATION: &str =
        "compute-diskrp/2025-01-02/DiskEncryptionSet_Update_WithRotationToLatestKeyVersionEnabled.json";

    const VM_VAULT: &str = "https://myvmvault.vault-int.azure-int.net/";
    const VM_VAULT_ID: &str =
        "/subscriptions/{subscriptionid}/resourcegroups/myresourcegroup/providers/microsoft.keyvault/vaults/myvmvault";
    const CMK: &str = "EncryptionAtRestWithCustomerKey";
    const ROTATION_MESSAGE: &str = "Auto-key rotation was disabled as managed service identity associated with DiskEncryptionSet 'myDiskEncryptionSet' was not found. Please update the resource with correct identity to re-enable auto-key rotation.";
    const CROSS_TENANT_UAI: &str = "/subscriptions/{subscriptionid}/resourcegroups/{resourcegroupname}/providers/microsoft.managedidentity/userassignedidentities/{identityname}";

    /// What one disk encryption set example must convert to.
    #[derive(Clone, Copy)]
    struct DesCase {
        file: &'static str,
        status: &'static str,
        item: Option<usize>,
        name: &'static str,
        resource_group: &'static str,
        encryption_type: Option<&'static str>,
        key_source: Option<&'static str>,
        vault: Option<&'static str>,
        key_name: Option<&'static str>,
        configured: Option<&'static str>,
        in_use_version: Option<&'static str>,
        in_use_key_id: Option<&'static str>,
        auto_rotation: Option<bool>,
        rotation_flag: Option<bool>,
        source_vault: Option<&'static str>,
        previous_keys: Option<&'static [&'static str]>,
        identity_type: Option<&'static str>,
        identity_resource_id: Option<&'static str>,
        identity_type_raw: Option<&'static str>,
        federated: Option<&'static str>,
        last_rotation: Option<&'static str>,
        error: Option<(&'static str, &'static str)>,
        provisioning: Option<&'static str>,
    }

    /// `DiskEncryptionSet_Get`: a versionless key (follows the latest version by Azure's choice of keyUrl)
    /// reached with the system-assigned identity.
    const DES_BASE: DesCase = DesCase {
        file: DES_GET,
        status: "200",
        item: None,
        name: "myDiskEncryptionSet",
        resource_group: "myResourceGroup",
        encryption_type: Some(CMK),
        key_source: Some("customer_managed"),
        vault: Some(VM_VAULT),
        key_name: Some("{key}"),
        configured: None,
        in_use_version: None,
        in_use_key_id: None,
        // Versionless keyUrl and no rotation flag: Azure did not say whether the set rotates.
        auto_rotation: None,
        rotation_flag: None,
        source_vault: Some(VM_VAULT_ID),
        previous_keys: Some(&[]),
        identity_type: Some("system_assigned"),
        identity_resource_id: None,
        identity_type_raw: Some("SystemAssigned"),
        federated: None,
        last_rotation: None,
        error: None,
        provisioning: Some("Succeeded"),
    };

    const CROSS_TENANT: DesCase = DesCase {
        file: DES_CROSS_TENANT,
        vault: Some("https://myvaultdifferenttenant.vault-int.azure-int.net/"),
        source_vault: None,
        identity_type: Some("user_assigned"),
        identity_resource_id: Some(CROSS_TENANT_UAI),
        identity_type_raw: Some("UserAssigned"),
        federated: Some("00000000-0000-0000-0000-000000000000"),
        provisioning: None,
        ..DES_BASE
    };

    fn des_cases() -> Vec<DesCase> {
        vec![
            // Before encryptionType existed: a set naming a key is customer-managed, the raw value stays null.
            DesCase { file: DES_2019, encryption_type: None, ..DES_BASE },
            CROSS_TENANT,
            DesCase { status: "202", ..CROSS_TENANT },
            DES_BASE,
            DesCase {
                file: DES_ROTATION_ERROR,
                auto_rotation: Some(true),
                rotation_flag: Some(true),
                error: Some(("ManagedServiceIdentityNotFound", ROTATION_MESSAGE)),
                ..DES_BASE
            },
            DesCase { file: DES_LIST, item: Some(0), ..DES_BASE },
            DesCase {
                file: DES_LIST,
                item: Some(1),
                name: "myDiskEncryptionSet2",
                resource_group: "mySecondResourceGroup",
                source_vault: Some(
                    "/subscriptions/{subscriptionid}/resourcegroups/mysecondresourcegroup/providers/microsoft.keyvault/vaults/myvmvault2",
                ),
                ..DES_BASE
            },
            // Follows the latest version: nothing pinned, the keyUrl is the version in use.
            DesCase {
                file: DES_ROTATION,
                vault: Some("https://myvaultdifferentsub.vault-int.azure-int.net/"),
                key_name: Some("keyName"),
                configured: None,
                in_use_version: Some("KeyVersion2"),
                in_use_key_id: Some("https://myvaultdifferentsub.vault-int.azure-int.net/keys/keyName/KeyVersion2"),
                auto_rotation: Some(true),
                rotation_flag: Some(true),
                source_vault: None,
                previous_keys: None,
                last_rotation: Some("2021-04-01T04:41:35.079872Z"),
                ..DES_BASE
            },
            // Versioned keyUrl without the flag: pinned, not rotating.
            DesCase {
                file: DES_ROTATION,
                status: "202",
                vault: Some("https://myvaultdifferentsub.vault-int.azure-int.net/"),
                key_name: Some("keyName"),
                configured: Some("keyVersion1"),
                in_use_version: Some("keyVersion1"),
                in_use_key_id: Some("https://myvaultdifferentsub.vault-int.azure-int.net/keys/keyName/keyVersion1"),
                auto_rotation: Some(false),
                source_vault: None,
                provisioning: None,
                ..DES_BASE
            },
        ]
    }

    #[test]
    fn every_disk_encryption_set_example_converts_to_the_expected_evidence() {
        for case in des_cases() {
            let at = format!("{} {} item {:?}", case.file, case.status, case.item);
            let doc = example(case.file, case.status, case.item);
            let ev = disk_encryption_set(&ctx(), &doc, HASH).unwrap_or_else(|e| panic!("{at}: {e}"));
            let (b, s) = (&ev.binding, &ev.set);
            assert_identity_of(b, &doc, case.name, "Microsoft.Compute/diskEncryptionSets", &at);
            assert_eq!(b.encryption_scope, "encryption_set", "{at}");
            assert_eq!(b.key_source.as_deref(), case.key_source, "{at}: key_source");
            assert_eq!(b.key_source_raw.as_deref(), case.encryption_type, "{at}: key_source_raw");
            assert_eq!(b.key_via_resource_id, None, "{at}: a set names its key itself");
            assert_eq!(b.key_vault_uri.as_deref(), case.vault, "{at}: vault");
            assert_eq!(b.key_name.as_deref(), case.key_name, "{at}: key name");
            assert_eq!(b.configured_key_version.as_deref(), case.configured, "{at}: configured version");
            assert_eq!(b.in_use_key_version.as_deref(), case.in_use_version, "{at}: version in use");
            assert_eq!(b.in_use_key_id.as_deref(), case.in_use_key_id, "{at}: key id in use");
            assert_eq!(b.auto_rotation, case.auto_rotation, "{at}: auto rotation");
            assert_eq!(b.identity_type.as_deref(), case.identity_type, "{at}: identity type");
            assert_eq!(b.identity_resource_id.as_deref(), case.identity_resource_id, "{at}: identity id");
            // No example lists principal or client ids of the set's identity.
            assert_eq!(b.identity_principal_id, None, "{at}");
            assert_eq!(b.identity_client_id, None, "{at}");
            assert_eq!(b.federated_client_id.as_deref(), case.federated, "{at}: federated client id");
            assert_eq!(b.last_key_rotation_at, case.last_rotation.map(ts), "{at}: last rotation");
            assert_eq!(b.in_use_key_expires_at, None, "{at}: a set does not report the expiry");
            assert_eq!(b.rotation_error, case.error.map(|(c, m)| format!("{c}: {m}")), "{at}: rotation error");

            assert_eq!(s.resource_id, b.resource_id, "{at}");
            assert_eq!(s.name, case.name, "{at}");
            assert_eq!(s.resource_group.as_deref(), Some(case.resource_group), "{at}");
            assert_eq!(s.location.as_deref(), doc["location"].as_str(), "{at}");
            assert_eq!(s.encryption_type.as_deref(), case.encryption_type, "{at}");
            let url = doc["properties"]["activeKey"]["keyUrl"].as_str();
            assert_eq!(s.active_key_url.as_deref(), url, "{at}: keyUrl verbatim");
            assert_eq!(s.active_key_source_vault_id.as_deref(), case.source_vault, "{at}: source vault");
            assert_eq!(s.previous_key_urls, strings(case.previous_keys), "{at}: previous keys");
            assert_eq!(s.rotation_to_latest_key_version_enabled, case.rotation_flag, "{at}: rotation flag");
            assert_eq!(s.last_key_rotation_at, case.last_rotation.map(ts), "{at}");
            assert_eq!(s.auto_key_rotation_error_code.as_deref(), case.error.map(|e| e.0), "{at}");
            assert_eq!(s.auto_key_rotation_error_message.as_deref(), case.error.map(|e| e.1), "{at}");
            assert_eq!(s.federated_client_id.as_deref(), case.federated, "{at}");
            assert_eq!(s.identity_type_raw.as_deref(), case.identity_type_raw, "{at}");
            assert_eq!(s.system_assigned_principal_id, None, "{at}");
            let uai = case.identity_resource_id.map(|id| vec![id.to_string()]);
            assert_eq!(s.user_assigned_identity_ids, uai, "{at}: user-assigned ids");
            assert_eq!(s.provisioning_state.as_deref(), case.provisioning, "{at}: provisioning state");
            assert_eq!(s.raw_response_sha256, HASH, "{at}");
        }
    }

    #[test]
    fn an_unreadable_key_url_is_kept_in_the_set_row_only() {
        let doc = json!({
            "id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/broken",
            "type": "Microsoft.Compute/diskEncryptionSets",
            "properties": {"encryptionType": "EncryptionAtRestWithCustomerKey", "activeKey": {"keyUrl": "kv/keys/k/v1"},
                           "autoKeyRotationError": {"code": "KeyNotFound"}}
        });
        let ev = disk_encryption_set(&ctx(), &doc, HASH).unwrap();
        let b = &ev.binding;
        assert_eq!(b.key_source.as_deref(), Some("customer_managed"));
        assert_eq!((b.key_vault_uri.as_deref(), b.key_name.as_deref(), b.in_use_key_id.as_deref()), (None, None, None));
        assert_eq!(b.auto_rotation, None, "no version known, no flag: not said");
        assert_eq!(b.rotation_error.as_deref(), Some("KeyNotFound"));
        assert_eq!(b.identity_type.as_deref(), Some("none"), "a customer key and no identity to reach it");
        assert_eq!(ev.set.active_key_url.as_deref(), Some("kv/keys/k/v1"));
        assert_eq!(ev.set.identity_type_raw, None);
    }

    // -----------------------------------------------------------------------------------------------------
    // Managed disks

    const DISK_2019: &str = "compute-diskrp/2019-07-01/GetInformationAboutAManagedDisk.json";
    const DISK_CREATE: &str = "compute-diskrp/2025-01-02/Disk_Create_WithDiskEncryptionSet.json";
    const DISK_GET: &str = "compute-diskrp/2025-01-02/Disk_Get.json";
    const DISK_LIST: &str = "compute-diskrp/2025-01-02/Disk_ListBySubscription.json";
    const PLATFORM: &str = "EncryptionAtRestWithPlatformKey";
    const EXISTING_DES: &str = "/subscriptions/{subscription-id}/resourcegroups/myresourcegroup/providers/microsoft.compute/diskencryptionsets/{existing-diskencryptionset-name}";
    const TEST_VM: &str = "/subscriptions/123caaa-123v-v211-a49f-f88ccac5bf88/resourcegroups/resourcegroupname/providers/microsoft.compute/virtualmachines/testvm414689371c88843d65ec";
    const ADE_SECRETS: &[&str] = &["https://myvmvault.vault-int.azure-int.net/secrets/{secret}"];
    const ADE_KEYS: &[&str] = &["https://myvmvault.vault-int.azure-int.net/keys/{key}"];

    /// What one managed disk example must convert to.
    #[derive(Clone, Copy)]
    struct DiskCase {
        file: &'static str,
        status: &'static str,
        item: Option<usize>,
        name: &'static str,
        encryption_type: Option<&'static str>,
        key_source: Option<&'static str>,
        set: Option<&'static str>,
        size: Option<i64>,
        sku: Option<&'static str>,
        os_type: Option<&'static str>,
        managed_by: Option<&'static str>,
        security_type: Option<&'static str>,
        ade: bool,
    }

    /// A Windows disk with platform keys and Azure Disk Encryption (BitLocker) on top.
    const ADE_DISK: DiskCase = DiskCase {
        file: DISK_GET,
        status: "200",
        item: None,
        name: "myManagedDisk",
        encryption_type: Some(PLATFORM),
        key_source: Some("microsoft_managed"),
        set: None,
        size: Some(10),
        sku: Some("Standard_LRS"),
        os_type: Some("Windows"),
        managed_by: Some(TEST_VM),
        security_type: Some("TrustedLaunch"),
        ade: true,
    };

    /// The create example: names a set but no `type` at all (neither resource type nor encryption type). A set
    /// only ever holds a customer key.
    const DES_DISK: DiskCase = DiskCase {
        file: DISK_CREATE,
        name: "myDisk",
        encryption_type: None,
        key_source: Some("customer_managed"),
        set: Some(EXISTING_DES),
        size: Some(200),
        sku: None,
        os_type: None,
        managed_by: None,
        security_type: None,
        ade: false,
        ..ADE_DISK
    };

    const LISTED: DiskCase = DiskCase { file: DISK_LIST, managed_by: None, sku: None, security_type: None, ..ADE_DISK };

    fn disk_cases() -> Vec<DiskCase> {
        vec![
            DiskCase { file: DISK_2019, security_type: None, ..ADE_DISK },
            DES_DISK,
            DiskCase { status: "202", set: None, key_source: None, ..DES_DISK },
            ADE_DISK,
            DiskCase { item: Some(0), name: "myManagedDisk1", size: Some(200), ..LISTED },
            DiskCase { item: Some(1), name: "myManagedDisk2", ade: false, ..LISTED },
            DiskCase { item: Some(2), name: "myManagedDisk3", size: Some(200), ..LISTED },
        ]
    }

    #[test]
    fn every_managed_disk_example_converts_to_the_expected_evidence() {
        for case in disk_cases() {
            let at = format!("{} {} item {:?}", case.file, case.status, case.item);
            let doc = example(case.file, case.status, case.item);
            let ev = managed_disk(&ctx(), &doc, HASH).unwrap_or_else(|e| panic!("{at}: {e}"));
            let (b, d) = (&ev.binding, &ev.disk);
            assert_identity_of(b, &doc, case.name, "Microsoft.Compute/disks", &at);
            assert_eq!(b.encryption_scope, "disk", "{at}");
            assert_eq!(b.key_source.as_deref(), case.key_source, "{at}: key_source");
            assert_eq!(b.key_source_raw.as_deref(), case.encryption_type, "{at}: key_source_raw");
            assert_eq!(b.key_via_resource_id.as_deref(), case.set, "{at}: set");
            // The key is the set's: nothing of it is known before linking. ADE's keyEncryptionKey is not it.
            for (column, value) in [
                ("key_vault_uri", &b.key_vault_uri),
                ("key_name", &b.key_name),
                ("configured_key_version", &b.configured_key_version),
                ("in_use_key_version", &b.in_use_key_version),
                ("identity_type", &b.identity_type),
                ("identity_principal_id", &b.identity_principal_id),
            ] {
                assert_eq!(value, &None, "{at}: {column}");
            }
            assert_eq!(b.auto_rotation, None, "{at}");

            assert_eq!(d.resource_id, b.resource_id, "{at}");
            assert_eq!(d.name, case.name, "{at}");
            assert_eq!(d.resource_group.as_deref(), Some("myResourceGroup"), "{at}");
            assert_eq!(d.sku_name.as_deref(), case.sku, "{at}: sku");
            assert_eq!(d.disk_size_gb, case.size, "{at}: size");
            assert_eq!(d.os_type.as_deref(), case.os_type, "{at}: os type");
            assert_eq!(d.disk_state, None, "{at}: no example says");
            assert_eq!(d.managed_by.as_deref(), case.managed_by, "{at}: managed by");
            assert_eq!(d.encryption_type.as_deref(), case.encryption_type, "{at}");
            assert_eq!(d.disk_encryption_set_id.as_deref(), case.set, "{at}");
            assert_eq!(d.security_type.as_deref(), case.security_type, "{at}: security type");
            assert_eq!(d.secure_vm_disk_encryption_set_id, None, "{at}");
            assert_eq!(d.ade_enabled, case.ade.then_some(true), "{at}: ADE enabled");
            assert_eq!(d.ade_settings_version, None, "{at}: no example says");
            assert_eq!(d.ade_secret_urls, strings(case.ade.then_some(ADE_SECRETS)), "{at}: ADE secrets");
            assert_eq!(d.ade_key_urls, strings(case.ade.then_some(ADE_KEYS)), "{at}: ADE KEKs");
            assert_eq!((d.network_access_policy.as_deref(), d.public_network_access.as_deref()), (None, None), "{at}");
            assert_eq!(d.raw_response_sha256, HASH, "{at}");
        }
    }

    /// Azure Disk Encryption names a Key Vault key (the KEK), but it is guest-level encryption: the disk's
    /// key source stays what `encryption.type` says, and linking never makes it customer-managed.
    #[test]
    fn azure_disk_encryption_never_makes_a_disk_customer_managed() {
        for (file, item) in [(DISK_GET, None), (DISK_2019, None), (DISK_LIST, Some(0)), (DISK_LIST, Some(2))] {
            let doc = example(file, "200", item);
            let mut assembler = Assembler::new(&ctx());
            assembler.add(&doc, HASH).unwrap();
            let tables = assembler.finish();
            let b = &tables.cmk_bindings[0];
            assert_eq!(b.key_source.as_deref(), Some("microsoft_managed"), "{file}");
            assert_eq!((b.key_vault_uri.as_deref(), b.key_name.as_deref()), (None, None), "{file}");
            assert_eq!(tables.managed_disks[0].ade_enabled, Some(true), "{file}");
            assert_eq!(tables.managed_disks[0].ade_key_urls, strings(Some(ADE_KEYS)), "{file}");
        }
        // ADE with no encryption type at all: the key source is unknown, not customer-managed.
        let doc = json!({
            "id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/disks/ade-only",
            "properties": {"encryptionSettingsCollection": {"enabled": true, "encryptionSettingsVersion": "1.1",
                "encryptionSettings": [{"keyEncryptionKey": {"keyUrl": "https://kv.vault.azure.net/keys/kek/v1"}}]}}
        });
        let ev = managed_disk(&ctx(), &doc, HASH).unwrap();
        assert_eq!(ev.binding.key_source, None);
        assert_eq!(ev.binding.key_vault_uri, None);
        assert_eq!(ev.disk.ade_settings_version.as_deref(), Some("1.1"));
        assert_eq!(ev.disk.ade_secret_urls, Some(Vec::new()), "settings listed, no secret named");
        assert_eq!(ev.disk.ade_key_urls, strings(Some(&["https://kv.vault.azure.net/keys/kek/v1"])));
    }

    // -----------------------------------------------------------------------------------------------------
    // Virtual machines

    const VM_CREATE: &str = "compute-vm/2025-04-01/VirtualMachine_Create_WithDiskEncryptionSetResource.json";
    const VM_DISK: &str = "/subscriptions/{subscription-id}/resourcegroups/myresourcegroup/providers/microsoft.compute/disks/{existing-managed-disk-name}";

    #[test]
    fn every_virtual_machine_example_converts_to_the_expected_evidence() {
        // (status, set named by the OS disk)
        for (status, os_set) in [("200", Some(EXISTING_DES)), ("201", None)] {
            let at = format!("{VM_CREATE} {status}");
            let doc = example(VM_CREATE, status, None);
            let ev = virtual_machine(&ctx(), &doc, HASH).unwrap_or_else(|e| panic!("{at}: {e}"));
            let scopes: Vec<&str> = ev.bindings.iter().map(|b| b.encryption_scope.as_str()).collect();
            assert_eq!(scopes, ["os_disk", "data_disk/lun=0", "data_disk/lun=1"], "{at}");
            for b in &ev.bindings {
                let at = format!("{at} {}", b.encryption_scope);
                assert_identity_of(b, &doc, "myVM", "Microsoft.Compute/virtualMachines", &at);
                let set = if b.encryption_scope == "os_disk" { os_set } else { Some(EXISTING_DES) };
                assert_eq!(b.key_via_resource_id.as_deref(), set, "{at}: set");
                // A named set means a customer key; without one the VM does not say (null, not platform).
                assert_eq!(b.key_source.as_deref(), set.map(|_| "customer_managed"), "{at}: key source");
                assert_eq!(b.key_source_raw, None, "{at}");
                assert_eq!((b.key_vault_uri.as_deref(), b.key_name.as_deref()), (None, None), "{at}");
                assert_eq!(b.identity_type, None, "{at}");
            }
            let vm = &ev.vm;
            assert_eq!(vm.name, "myVM", "{at}");
            assert_eq!(vm.resource_group.as_deref(), Some("myResourceGroup"), "{at}");
            assert_eq!(vm.location.as_deref(), Some("westus"), "{at}");
            assert_eq!(vm.vm_size.as_deref(), Some("Standard_D1_v2"), "{at}");
            assert_eq!((vm.encryption_at_host, vm.security_type.as_deref()), (None, None), "{at}: not said");
            assert_eq!(vm.os_disk_id, None, "{at}: a create response names no OS disk id");
            assert_eq!(vm.os_disk_encryption_set_id.as_deref(), os_set, "{at}");
            assert_eq!(vm.os_disk_ade_enabled, None, "{at}");
            assert_eq!(vm.data_disk_luns, strings(Some(&["lun=0", "lun=1"])), "{at}");
            assert_eq!(vm.data_disk_ids, strings(Some(&["", VM_DISK])), "{at}: lun 0 is created empty");
            assert_eq!(vm.data_disk_encryption_set_ids, strings(Some(&[EXISTING_DES, EXISTING_DES])), "{at}");
            assert_eq!(vm.provisioning_state.as_deref(), Some("Creating"), "{at}");
            assert_eq!(vm.raw_response_sha256, HASH, "{at}");
        }
    }

    #[test]
    fn data_disks_come_out_in_lun_order_and_a_missing_lun_is_an_error() {
        let id = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1";
        let doc = json!({"id": id, "properties": {"storageProfile": {"dataDisks": [
            {"lun": 3, "managedDisk": {"id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/disks/D3"}},
            {"lun": "1"}
        ]}}});
        let ev = virtual_machine(&ctx(), &doc, HASH).unwrap();
        let scopes: Vec<&str> = ev.bindings.iter().map(|b| b.encryption_scope.as_str()).collect();
        assert_eq!(scopes, ["data_disk/lun=1", "data_disk/lun=3"], "no OS disk in the document, no os_disk binding");
        assert_eq!(
            ev.vm.data_disk_ids.as_ref().unwrap()[1],
            "/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/disks/d3"
        );
        assert_eq!(ev.vm.data_disk_luns, strings(Some(&["lun=1", "lun=3"])));
        let no_lun = json!({"id": id, "properties": {"storageProfile": {"dataDisks": [{"name": "x"}]}}});
        assert_eq!(
            virtual_machine(&ctx(), &no_lun, HASH),
            Err(ConvertError::MissingField {
                kind: "virtual machine",
                resource: id.to_string(),
                field: "storageProfile.dataDisks[].lun"
            })
        );
    }

    // -----------------------------------------------------------------------------------------------------
    // AKS

    const AKS_2020: &str = "containerservice/2020-06-01/ManagedClustersGet.json";
    const AKS_SNAPSHOT: &str = "containerservice/2025-10-01/ManagedClustersCreate_Snapshot.json";
    const AKS_GET: &str = "containerservice/2025-10-01/ManagedClustersGet.json";
    pub(crate) const AGENT_POOL: &str = "containerservice/2025-10-01/AgentPoolsCreate_EnableEncryptionAtHost.json";

    #[test]
    fn every_aks_cluster_example_converts_to_the_expected_evidence() {
        let des_2020 = "/subscriptions/subid1/resourcegroups/rg1/providers/microsoft.compute/diskencryptionsets/des";
        let des_2025 = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg1/providers/microsoft.compute/diskencryptionsets/des";
        // (file, status, set, provisioning state)
        for (file, status, set, provisioning) in [
            (AKS_2020, "200", des_2020, "Succeeded"),
            (AKS_SNAPSHOT, "200", des_2025, "Succeeded"),
            (AKS_SNAPSHOT, "201", des_2025, "Creating"),
            (AKS_GET, "200", des_2025, "Succeeded"),
        ] {
            let at = format!("{file} {status}");
            let doc = example(file, status, None);
            let ev = aks_cluster(&ctx(), &doc, HASH).unwrap_or_else(|e| panic!("{at}: {e}"));
            let [node, etcd] = ev.bindings.as_slice() else { panic!("{at}: two bindings expected") };
            for b in [node, etcd] {
                assert_identity_of(b, &doc, "clustername1", "Microsoft.ContainerService/managedClusters", &at);
            }
            assert_eq!(node.encryption_scope, "node_disks", "{at}");
            assert_eq!(node.key_source.as_deref(), Some("customer_managed"), "{at}: node disks through a set");
            assert_eq!(node.key_via_resource_id.as_deref(), Some(set), "{at}");
            assert_eq!(node.key_vault_uri, None, "{at}: the key is the set's");
            assert_eq!(etcd.encryption_scope, "etcd_secrets", "{at}");
            assert_eq!(etcd.key_source.as_deref(), Some("microsoft_managed"), "{at}: no KMS in any example");
            assert_eq!((etcd.key_vault_uri.as_deref(), etcd.identity_type.as_deref()), (None, None), "{at}");

            let c = &ev.cluster;
            assert_eq!(c.name, "clustername1", "{at}");
            assert_eq!(c.resource_group.as_deref(), doc["id"].as_str().and_then(resource_group_of).as_deref());
            assert_eq!(c.location.as_deref(), Some("location1"), "{at}");
            assert_eq!(c.kubernetes_version.as_deref(), Some("1.9.6"), "{at}");
            assert_eq!(c.disk_encryption_set_id.as_deref(), Some(set), "{at}");
            assert_eq!(c.agent_pools, strings(Some(&["nodepool1"])), "{at}");
            assert_eq!(c.agent_pools_encryption_at_host, Some(Vec::new()), "{at}");
            assert_eq!(c.agent_pools_without_encryption_at_host, Some(Vec::new()), "{at}: absent is not false");
            assert_eq!((c.kms_enabled, c.kms_key_id.as_deref()), (None, None), "{at}");
            assert_eq!((c.identity_type_raw.as_deref(), c.user_assigned_identity_ids.as_ref()), (None, None), "{at}");
            assert_eq!(c.provisioning_state.as_deref(), Some(provisioning), "{at}");
            assert_eq!(c.raw_response_sha256, HASH, "{at}");
        }
    }

    #[test]
    fn agent_pool_documents_fold_into_their_cluster() {
        for status in ["200", "201"] {
            let pool = example(AGENT_POOL, status, None);
            let read = agent_pool(&pool).unwrap();
            assert_eq!(
                read,
                AgentPoolEvidence {
                    cluster_id: "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg1/providers/microsoft.containerservice/managedclusters/clustername1".to_string(),
                    name: "agentpool1".to_string(),
                    encryption_at_host: Some(true),
                }
            );
            // The pool's id writes `resourcegroups`, the cluster's `resourceGroups`: they still meet. Order of
            // arrival does not matter.
            let mut assembler = Assembler::new(&ctx());
            assembler.add(&pool, HASH).unwrap();
            assembler.add(&example(AKS_GET, "200", None), HASH).unwrap();
            let tables = assembler.finish();
            let c = &tables.aks_clusters[0];
            assert_eq!(c.agent_pools, strings(Some(&["agentpool1", "nodepool1"])));
            assert_eq!(c.agent_pools_encryption_at_host, strings(Some(&["agentpool1"])));
            assert_eq!(c.agent_pools_without_encryption_at_host, Some(Vec::new()));
            assert_eq!(tables.cmk_bindings.len(), 2, "a pool adds no binding");
            // Alone, the pool is ignored without error.
            let mut alone = Assembler::new(&ctx());
            assert_eq!(alone.add(&pool, HASH), Ok(()));
            let tables = alone.finish();
            assert!(tables.aks_clusters.is_empty() && tables.cmk_bindings.is_empty() && tables.coverage.is_empty());
        }
        // A pool that says false moves out of the encryption-at-host list.
        let mut cluster = aks_cluster(&ctx(), &example(AKS_GET, "200", None), HASH).unwrap().cluster;
        let cluster_id = cluster.resource_id.clone();
        let pool = |flag| AgentPoolEvidence {
            cluster_id: cluster_id.clone(),
            name: "nodepool1".to_string(),
            encryption_at_host: flag,
        };
        fold_agent_pool(&mut cluster, &pool(Some(true)));
        assert_eq!(cluster.agent_pools_encryption_at_host, strings(Some(&["nodepool1"])));
        fold_agent_pool(&mut cluster, &pool(Some(false)));
        assert_eq!(cluster.agent_pools_encryption_at_host, Some(Vec::new()));
        assert_eq!(cluster.agent_pools_without_encryption_at_host, strings(Some(&["nodepool1"])));
        fold_agent_pool(&mut cluster, &pool(None));
        assert_eq!(cluster.agent_pools, strings(Some(&["nodepool1"])), "no duplicate");
        assert_eq!(
            cluster.agent_pools_without_encryption_at_host,
            strings(Some(&["nodepool1"])),
            "unsaid changes nothing"
        );
    }

    const KMS_CLUSTER: &str =
        "/subscriptions/S1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/kms1";
    const CONTROL_PLANE_UAI: &str =
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks-cp";

    fn kms_cluster(kms: Value, identity: Value) -> Value {
        json!({
            "id": KMS_CLUSTER,
            "type": "Microsoft.ContainerService/managedClusters",
            "location": "westeurope",
            "identity": identity,
            "properties": {
                "agentPoolProfiles": [
                    {"name": "system", "enableEncryptionAtHost": true},
                    {"name": "user", "enableEncryptionAtHost": false},
                    {"name": "legacy"}
                ],
                "securityProfile": {"azureKeyVaultKms": kms}
            }
        })
    }

    #[test]
    fn kms_encrypts_etcd_secrets_with_a_pinned_key_through_the_cluster_identity() {
        let doc = kms_cluster(
            json!({"enabled": true, "keyId": "https://aks-kv.vault.azure.net/keys/etcd/0123abcd", "keyVaultNetworkAccess": "Private",
                   "keyVaultResourceId": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/AKS-KV"}),
            json!({"type": "UserAssigned", "userAssignedIdentities": {CONTROL_PLANE_UAI: {"principalId": "cp-principal", "clientId": "cp-client"}}}),
        );
        let ev = aks_cluster(&ctx(), &doc, HASH).unwrap();
        let node = &ev.bindings[0];
        assert_eq!(node.key_source.as_deref(), Some("microsoft_managed"), "no set named: platform keys");
        assert_eq!(node.key_via_resource_id, None);
        let etcd = &ev.bindings[1];
        assert_eq!(etcd.key_source.as_deref(), Some("customer_managed"));
        assert_eq!(etcd.key_vault_uri.as_deref(), Some("https://aks-kv.vault.azure.net/"));
        assert_eq!(etcd.key_name.as_deref(), Some("etcd"));
        assert_eq!(etcd.configured_key_version.as_deref(), Some("0123abcd"));
        assert_eq!(etcd.in_use_key_version.as_deref(), Some("0123abcd"));
        assert_eq!(etcd.in_use_key_id.as_deref(), Some("https://aks-kv.vault.azure.net/keys/etcd/0123abcd"));
        assert_eq!(etcd.auto_rotation, Some(false), "KMS keys do not follow the latest version");
        assert_eq!(etcd.identity_type.as_deref(), Some("user_assigned"));
        assert_eq!(etcd.identity_resource_id, Some(CONTROL_PLANE_UAI.to_ascii_lowercase()));
        assert_eq!(etcd.identity_principal_id.as_deref(), Some("cp-principal"));
        assert_eq!(etcd.identity_client_id.as_deref(), Some("cp-client"));
        assert_eq!(etcd.subscription_id, "s1");
        let c = &ev.cluster;
        assert_eq!(c.kms_enabled, Some(true));
        assert_eq!(c.kms_key_vault_network_access.as_deref(), Some("Private"));
        assert_eq!(
            c.kms_key_vault_resource_id.as_deref(),
            Some("/subscriptions/s1/resourcegroups/rg/providers/microsoft.keyvault/vaults/aks-kv")
        );
        assert_eq!(c.agent_pools, strings(Some(&["legacy", "system", "user"])));
        assert_eq!(c.agent_pools_encryption_at_host, strings(Some(&["system"])));
        assert_eq!(c.agent_pools_without_encryption_at_host, strings(Some(&["user"])), "`legacy` did not say");
        assert_eq!(c.identity_type_raw.as_deref(), Some("UserAssigned"));
        assert_eq!(c.user_assigned_identity_ids, Some(vec![CONTROL_PLANE_UAI.to_ascii_lowercase()]));

        // System-assigned cluster identity.
        let doc = kms_cluster(
            json!({"enabled": "true", "keyId": "https://aks-kv.vault.azure.net/keys/etcd/0123abcd"}),
            json!({"type": "SystemAssigned", "principalId": "sys"}),
        );
        let etcd = &aks_cluster(&ctx(), &doc, HASH).unwrap().bindings[1];
        assert_eq!(
            (etcd.identity_type.as_deref(), etcd.identity_principal_id.as_deref()),
            (Some("system_assigned"), Some("sys"))
        );
    }

    #[test]
    fn kms_disabled_or_absent_is_platform_encryption_of_etcd() {
        for kms in
            [json!({"enabled": false, "keyId": "https://aks-kv.vault.azure.net/keys/etcd/old"}), json!({}), Value::Null]
        {
            let doc = kms_cluster(kms.clone(), json!({"type": "SystemAssigned", "principalId": "sys"}));
            let ev = aks_cluster(&ctx(), &doc, HASH).unwrap();
            let etcd = &ev.bindings[1];
            assert_eq!(etcd.key_source.as_deref(), Some("microsoft_managed"), "{kms}");
            assert_eq!((etcd.key_vault_uri.as_deref(), etcd.identity_type.as_deref()), (None, None), "{kms}");
            assert_eq!(ev.cluster.kms_enabled, kms.get("enabled").and_then(Value::as_bool), "{kms}: verbatim");
        }
    }

    // -----------------------------------------------------------------------------------------------------
    // az CLI output, malformed input, type recognition

    /// `az disk-encryption-set show`, `az disk show`, `az vm show` and `az aks show` flatten `properties`.
    #[test]
    fn az_cli_output_is_understood() {
        let des = json!({
            "id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/des1",
            "name": "des1", "type": "Microsoft.Compute/diskEncryptionSets", "location": "westeurope",
            "identity": {"type": "SystemAssigned", "principalId": "des-principal", "tenantId": "t", "userAssignedIdentities": null},
            "activeKey": {"keyUrl": "https://kv1.vault.azure.net/keys/disk-key/v7", "sourceVault": {"id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1"}},
            "encryptionType": "EncryptionAtRestWithPlatformAndCustomerKeys",
            "rotationToLatestKeyVersionEnabled": false,
            "previousKeys": [{"keyUrl": "https://kv1.vault.azure.net/keys/disk-key/v6"}],
            "provisioningState": "Succeeded"
        });
        let ev = disk_encryption_set(&ctx(), &des, HASH).unwrap();
        assert_eq!(ev.binding.key_source.as_deref(), Some("customer_managed"));
        assert_eq!(ev.binding.configured_key_version.as_deref(), Some("v7"));
        assert_eq!(ev.binding.auto_rotation, Some(false));
        assert_eq!(ev.binding.identity_principal_id.as_deref(), Some("des-principal"));
        assert_eq!(ev.set.previous_key_urls, strings(Some(&["https://kv1.vault.azure.net/keys/disk-key/v6"])));
        assert_eq!(ev.set.system_assigned_principal_id.as_deref(), Some("des-principal"));

        let disk = json!({
            "id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/disks/cvm-os",
            "name": "cvm-os", "type": "Microsoft.Compute/disks", "managedBy": null,
            "diskSizeGb": 64, "diskState": "Unattached", "osType": "Linux",
            "encryption": {"type": "EncryptionAtRestWithPlatformKey", "diskEncryptionSetId": null},
            "securityProfile": {"securityType": "ConfidentialVM_DiskEncryptedWithCustomerKey",
                "secureVmDiskEncryptionSetId": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/CVM-DES"},
            "networkAccessPolicy": "DenyAll", "publicNetworkAccess": "Disabled"
        });
        let ev = managed_disk(&ctx(), &disk, HASH).unwrap();
        let cvm_des = "/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/diskencryptionsets/cvm-des";
        assert_eq!(ev.binding.key_via_resource_id.as_deref(), Some(cvm_des), "confidential disk set");
        assert_eq!(ev.binding.key_source.as_deref(), Some("microsoft_managed"), "what encryption.type says");
        assert_eq!(ev.disk.disk_size_gb, Some(64));
        assert_eq!(ev.disk.disk_state.as_deref(), Some("Unattached"));
        assert_eq!(ev.disk.secure_vm_disk_encryption_set_id.as_deref(), Some(cvm_des));
        assert_eq!(ev.disk.disk_encryption_set_id, None);
        assert_eq!(ev.disk.network_access_policy.as_deref(), Some("DenyAll"));
        assert_eq!(ev.disk.public_network_access.as_deref(), Some("Disabled"));

        let vm = json!({
            "id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/cvm",
            "name": "cvm", "type": "Microsoft.Compute/virtualMachines",
            "hardwareProfile": {"vmSize": "Standard_DC2as_v5"},
            "securityProfile": {"encryptionAtHost": true, "securityType": "ConfidentialVM"},
            "storageProfile": {"osDisk": {"managedDisk": {
                "id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/disks/cvm-os",
                "securityProfile": {"securityEncryptionType": "DiskWithVMGuestState",
                    "diskEncryptionSet": {"id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/CVM-DES"}}},
                "encryptionSettings": {"enabled": false}}, "dataDisks": []}
        });
        let ev = virtual_machine(&ctx(), &vm, HASH).unwrap();
        assert_eq!(ev.bindings.len(), 1);
        assert_eq!(ev.bindings[0].key_via_resource_id.as_deref(), Some(cvm_des));
        assert_eq!(ev.vm.encryption_at_host, Some(true));
        assert_eq!(ev.vm.security_type.as_deref(), Some("ConfidentialVM"));
        assert_eq!(ev.vm.os_disk_ade_enabled, Some(false));
        assert_eq!(ev.vm.vm_size.as_deref(), Some("Standard_DC2as_v5"));
        assert_eq!(ev.vm.data_disk_luns, Some(Vec::new()), "an empty list is not an absent one");

        let aks = json!({
            "id": "/subscriptions/s1/resourcegroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1",
            "name": "aks1", "type": "Microsoft.ContainerService/ManagedClusters",
            "diskEncryptionSetId": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/des1",
            "agentPoolProfiles": [{"name": "np1", "enableEncryptionAtHost": true}],
            "kubernetesVersion": "1.31.2"
        });
        let ev = aks_cluster(&ctx(), &aks, HASH).unwrap();
        assert_eq!(
            ev.bindings[0].key_via_resource_id.as_deref(),
            Some("/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/diskencryptionsets/des1")
        );
        assert_eq!(ev.cluster.agent_pools_encryption_at_host, strings(Some(&["np1"])));
        let pool = json!({"id": "/subscriptions/s1/resourcegroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1/agentPools/np2",
            "name": "np2", "type": "Microsoft.ContainerService/managedClusters/agentPools", "enableEncryptionAtHost": false});
        assert_eq!(agent_pool(&pool).unwrap().encryption_at_host, Some(false));
    }

    #[test]
    fn malformed_documents_are_errors_that_name_the_item() {
        let mut assembler = Assembler::new(&ctx());
        assert!(matches!(assembler.add(&json!([1, 2]), HASH), Err(ConvertError::Shape { .. })));
        assert_eq!(
            assembler.add(&json!({"name": "orphan", "type": "Microsoft.Compute/disks"}), HASH),
            Err(ConvertError::MissingField {
                kind: "managed disk",
                resource: "named \"orphan\" (no id)".to_string(),
                field: "id"
            })
        );
        assert_eq!(
            assembler.add(&json!({"name": "nothing"}), HASH),
            Err(ConvertError::MissingField {
                kind: "document",
                resource: "named \"nothing\" (no id)".to_string(),
                field: "type"
            })
        );
        let vault = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv";
        assert_eq!(
            assembler.add(&json!({"id": vault, "type": "Microsoft.KeyVault/vaults"}), HASH),
            Err(ConvertError::UnsupportedType {
                resource: vault.to_string(),
                resource_type: "microsoft.keyvault/vaults".to_string()
            })
        );
        assert!(matches!(assembler.add(&json!({"id": vault}), HASH), Err(ConvertError::UnsupportedType { .. })));
        let des = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/d";
        let err =
            assembler.add(&json!({"id": des, "properties": {"activeKey": "https://kv/keys/k"}}), HASH).unwrap_err();
        match &err {
            ConvertError::Shape { kind, resource, .. } => {
                assert_eq!((*kind, resource.as_str()), ("disk encryption set", des))
            }
            other => panic!("expected a shape error, got {other:?}"),
        }
        assert!(err.to_string().contains(des), "{err}");
        assert!(matches!(
            assembler.add(&json!({"id": "des1", "type": "Microsoft.Compute/diskEncryptionSets"}), HASH),
            Err(ConvertError::InvalidId { .. })
        ));
        let vm = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v";
        assert!(matches!(
            assembler.add(&json!({"id": vm, "properties": {"securityProfile": {"encryptionAtHost": "maybe"}}}), HASH),
            Err(ConvertError::Shape { kind: "virtual machine", .. })
        ));
        let aks = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c";
        assert_eq!(
            assembler.add(&json!({"id": aks, "properties": {"agentPoolProfiles": [{"count": 3}]}}), HASH),
            Err(ConvertError::MissingField {
                kind: "AKS cluster",
                resource: aks.to_string(),
                field: "agentPoolProfiles[].name"
            })
        );
        assert!(matches!(
            agent_pool(&json!({"id": "/subscriptions/s1/agentPools/p"})),
            Err(ConvertError::InvalidId { kind: "AKS agent pool", .. })
        ));
        // Nothing of the failed documents was kept.
        let tables = assembler.finish();
        assert!(tables.cmk_bindings.is_empty() && tables.managed_disks.is_empty() && tables.aks_clusters.is_empty());
    }

    #[test]
    fn documents_are_recognised_by_type_or_else_by_id() {
        for handled in HANDLES {
            let doc = json!({"id": "/subscriptions/s/x", "type": handled.to_ascii_uppercase()});
            assert!(document_kind(&doc).is_ok(), "{handled}");
        }
        let by_id = |id: &str| document_kind(&json!({ "id": id }));
        assert_eq!(
            by_id("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d1"),
            Ok(DocumentKind::Disk)
        );
        assert_eq!(
            by_id(
                "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ContainerService/managedClusters/c/agentPools/p"
            ),
            Ok(DocumentKind::AgentPool)
        );
        assert_eq!(evidence::ids::resource_type_of("/subscriptions/s/resourceGroups/rg"), None);
        assert_eq!(
            evidence::ids::resource_type_of(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/providers/Microsoft.Foo/bars/b"
            ),
            Some("Microsoft.Foo/bars".to_string())
        );
        assert_eq!(percent_decode("%7Bkey%7D-%zz%4"), "{key}-%zz%4");
    }

    // -----------------------------------------------------------------------------------------------------
    // Every example file is used

    /// Every file under the folders this crate reads is a case of some test, so a new example cannot be
    /// forgotten.
    #[test]
    fn every_disk_vm_and_aks_example_file_is_used() {
        let found = collect_common::examples::files_under(&["compute-diskrp", "compute-vm", "containerservice"]);
        let mut used: BTreeSet<String> = BTreeSet::new();
        used.extend(des_cases().iter().map(|c| c.file.to_string()));
        used.extend(disk_cases().iter().map(|c| c.file.to_string()));
        used.extend([VM_CREATE, AKS_2020, AKS_SNAPSHOT, AKS_GET, AGENT_POOL].map(str::to_string));
        assert_eq!(found, used);
    }

    #[test]
    fn every_item_of_the_list_examples_is_a_case() {
        for (file, cases) in [
            (DES_LIST, des_cases().iter().filter(|c| c.file == DES_LIST).count()),
            (DISK_LIST, disk_cases().iter().filter(|c| c.file == DISK_LIST).count()),
        ] {
            let page: wire::Page = serde_json::from_value(body(file, "200")).unwrap();
            assert_eq!(page.value.map(|v| v.len()), Some(cases), "{file}");
        }
    }
}
