//! Linking through disk encryption sets: a managed disk, a VM disk or an AKS node pool names a disk encryption
//! set, and the set names the key. This copies the set's key reference, rotation state and identity onto every
//! binding that names it, and gives a VM disk that names no set the key source of the managed disk behind it.
//! Pure and idempotent: `Assembler::finish` runs it on one subscription's rows, the binary again on the whole
//! tenant's (a set may live in another subscription than its disks).

use std::collections::HashMap;

use evidence::vocab::{encryption_scope, key_source};
use evidence::{CmkBinding, Tables, resource_types};

/// Links every binding that holds its key through a disk encryption set.
///
/// 1. A VM disk binding with a null key source takes `key_source`, `key_source_raw` and
///    `key_via_resource_id` from the binding of the managed disk it uses (matched by normalised disk id through
///    the `virtual_machines` rows), when that disk was collected. A set the VM names itself is kept.
/// 2. Every binding whose `key_via_resource_id` names a collected set takes from the set's binding the vault,
///    key name, configured and in-use version and key id, auto-rotation, identity columns, federated client id,
///    last rotation time, in-use expiry and rotation error; its key source becomes `customer_managed` when the
///    set's is and the binding did not state a different one itself.
///
/// A set that was not collected leaves the key columns null: the chain then reports
/// `encryption_set_not_collected`.
pub fn link_through_encryption_sets(tables: &mut Tables) {
    adopt_managed_disk_key_source(tables);
    copy_encryption_set_keys(&mut tables.cmk_bindings);
}

/// Step 1: VM disks that name no set get what the managed disk says.
fn adopt_managed_disk_key_source(tables: &mut Tables) {
    let mut disk_of_vm_scope: HashMap<(String, String), String> = HashMap::new();
    for vm in &tables.virtual_machines {
        if let Some(os_disk) = vm.os_disk_id.as_ref().filter(|id| !id.is_empty()) {
            disk_of_vm_scope.insert((vm.resource_id.clone(), encryption_scope::OS_DISK.to_string()), os_disk.clone());
        }
        let luns = vm.data_disk_luns.iter().flatten();
        let ids = vm.data_disk_ids.iter().flatten();
        for (lun, id) in luns.zip(ids).filter(|(_, id)| !id.is_empty()) {
            disk_of_vm_scope.insert((vm.resource_id.clone(), format!("data_disk/{lun}")), id.clone());
        }
    }
    if disk_of_vm_scope.is_empty() {
        return;
    }
    let disks: HashMap<String, CmkBinding> = tables
        .cmk_bindings
        .iter()
        .filter(|b| b.resource_type == resource_types::DISK && b.encryption_scope == encryption_scope::DISK)
        .map(|b| (b.resource_id.clone(), b.clone()))
        .collect();
    for b in tables.cmk_bindings.iter_mut() {
        if b.resource_type != resource_types::VIRTUAL_MACHINE || b.key_source.is_some() {
            continue;
        }
        let scope = (b.resource_id.clone(), b.encryption_scope.clone());
        let Some(disk) = disk_of_vm_scope.get(&scope).and_then(|disk| disks.get(disk)) else { continue };
        b.key_source.clone_from(&disk.key_source);
        b.key_source_raw.clone_from(&disk.key_source_raw);
        if b.key_via_resource_id.is_none() {
            b.key_via_resource_id.clone_from(&disk.key_via_resource_id);
        }
    }
}

/// Step 2: bindings that name a collected set take its key.
fn copy_encryption_set_keys(bindings: &mut [CmkBinding]) {
    let sets: HashMap<String, CmkBinding> = bindings
        .iter()
        .filter(|b| b.encryption_scope == encryption_scope::ENCRYPTION_SET)
        .map(|b| (b.resource_id.clone(), b.clone()))
        .collect();
    if sets.is_empty() {
        return;
    }
    for b in bindings.iter_mut().filter(|b| b.encryption_scope != encryption_scope::ENCRYPTION_SET) {
        let Some(set) = b.key_via_resource_id.as_ref().and_then(|id| sets.get(id)) else { continue };
        b.key_vault_uri.clone_from(&set.key_vault_uri);
        b.key_name.clone_from(&set.key_name);
        b.configured_key_version.clone_from(&set.configured_key_version);
        b.in_use_key_version.clone_from(&set.in_use_key_version);
        b.in_use_key_id.clone_from(&set.in_use_key_id);
        b.auto_rotation = set.auto_rotation;
        b.identity_type.clone_from(&set.identity_type);
        b.identity_resource_id.clone_from(&set.identity_resource_id);
        b.identity_principal_id.clone_from(&set.identity_principal_id);
        b.identity_client_id.clone_from(&set.identity_client_id);
        b.federated_client_id.clone_from(&set.federated_client_id);
        b.last_key_rotation_at = set.last_key_rotation_at;
        b.in_use_key_expires_at = set.in_use_key_expires_at;
        b.rotation_error.clone_from(&set.rotation_error);
        // What the binding states itself wins (a platform-key disk that also names a set is a contradiction the
        // raw columns keep visible); otherwise the set's customer key is the binding's.
        let set_is_cmk = set.key_source.as_deref() == Some(key_source::CUSTOMER_MANAGED);
        if set_is_cmk && b.key_source.is_none() {
            b.key_source = Some(key_source::CUSTOMER_MANAGED.to_string());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on bad data: that is the failure.
mod tests {
    use evidence::chain::{build_chain, gaps};
    use evidence::{SnapshotContext, Timestamp};
    use serde_json::{Value, json};

    use super::*;
    use collect_common::examples::body;

    use crate::Assembler;

    const HASH: &str = "3b1f0c0ffee0000000000000000000000000000000000000000000000000000a";

    fn ctx() -> SnapshotContext {
        SnapshotContext {
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".to_string(),
            taken_at: Timestamp::parse("2026-01-15T10:00:00Z").unwrap(),
        }
    }

    fn assemble(docs: &[Value]) -> Tables {
        let mut assembler = Assembler::new(&ctx());
        for doc in docs {
            assembler.add(doc, HASH).unwrap();
        }
        assembler.finish()
    }

    fn binding<'a>(tables: &'a Tables, resource_id: &str, scope: &str) -> &'a CmkBinding {
        let id = resource_id.to_ascii_lowercase();
        tables
            .cmk_bindings
            .iter()
            .find(|b| b.resource_id == id && b.encryption_scope == scope)
            .unwrap_or_else(|| panic!("no binding {resource_id} {scope}"))
    }

    const SUB: &str = "/subscriptions/11111111-0000-0000-0000-000000000001/resourceGroups/rg";
    const OTHER_SUB: &str = "/subscriptions/22222222-0000-0000-0000-000000000002/resourceGroups/shared";

    fn des_id() -> String {
        format!("{OTHER_SUB}/providers/Microsoft.Compute/diskEncryptionSets/Prod-DES")
    }
    fn disk_id(name: &str) -> String {
        format!("{SUB}/providers/Microsoft.Compute/disks/{name}")
    }
    const VM: &str = "/subscriptions/11111111-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/app1";
    const AKS: &str = "/subscriptions/11111111-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1";

    /// A customer-key set that pins a version, reached through its only user-assigned identity, whose automatic
    /// rotation failed.
    fn des() -> Value {
        json!({
            "id": des_id(),
            "type": "Microsoft.Compute/diskEncryptionSets",
            "location": "westeurope",
            "identity": {"type": "UserAssigned", "userAssignedIdentities": {
                format!("{OTHER_SUB}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/des-id"): {"principalId": "des-principal", "clientId": "des-client"}}},
            "properties": {
                "encryptionType": "EncryptionAtRestWithCustomerKey",
                "activeKey": {"keyUrl": "https://prod-kv.vault.azure.net/keys/disks/v42"},
                "lastKeyRotationTimestamp": "2026-01-01T00:00:00Z",
                "federatedClientId": "fed-app",
                "autoKeyRotationError": {"code": "KeyVaultAccessForbidden", "message": "no access"}
            }
        })
    }

    fn disk(name: &str, encryption: Value) -> Value {
        json!({"id": disk_id(name), "type": "Microsoft.Compute/disks", "location": "westeurope",
               "properties": {"encryption": encryption}})
    }

    fn vm() -> Value {
        let set = |id: &str| json!({"id": id.to_ascii_uppercase()});
        json!({
            "id": VM, "type": "Microsoft.Compute/virtualMachines", "location": "westeurope",
            "properties": {"storageProfile": {
                // The VM names the set for its OS disk itself.
                "osDisk": {"managedDisk": {"id": disk_id("app1-os"), "diskEncryptionSet": set(&des_id())}},
                "dataDisks": [
                    // Names no set; its disk uses platform keys.
                    {"lun": 0, "managedDisk": {"id": disk_id("app1-data0").to_ascii_uppercase()}},
                    // Names no set; its disk names the set.
                    {"lun": 1, "managedDisk": {"id": disk_id("app1-data1")}},
                    // Names no set; its disk was not collected.
                    {"lun": 2, "managedDisk": {"id": disk_id("elsewhere")}},
                    // Names a set that was not collected.
                    {"lun": 3, "managedDisk": {"id": disk_id("app1-data3"),
                        "diskEncryptionSet": set(&format!("{SUB}/providers/Microsoft.Compute/diskEncryptionSets/gone"))}}
                ]
            }}
        })
    }

    fn estate() -> Vec<Value> {
        vec![
            vm(),
            disk("app1-os", json!({"type": "EncryptionAtRestWithCustomerKey", "diskEncryptionSetId": des_id()})),
            disk("app1-data0", json!({"type": "EncryptionAtRestWithPlatformKey"})),
            disk(
                "app1-data1",
                json!({"type": "EncryptionAtRestWithCustomerKey", "diskEncryptionSetId": des_id().to_ascii_uppercase()}),
            ),
            json!({"id": AKS, "type": "Microsoft.ContainerService/managedClusters",
                   "properties": {"diskEncryptionSetID": des_id(), "agentPoolProfiles": []}}),
            des(),
        ]
    }

    /// Asserts that `b` carries exactly the key, rotation and identity columns of the set's binding.
    fn assert_has_the_set_key(b: &CmkBinding, set: &CmkBinding) {
        let at = format!("{} {}", b.resource_id, b.encryption_scope);
        assert_eq!(b.key_source.as_deref(), Some("customer_managed"), "{at}");
        assert_eq!(b.key_via_resource_id.as_deref(), Some(set.resource_id.as_str()), "{at}");
        let copied = |x: &CmkBinding| {
            (
                (
                    x.key_vault_uri.clone(),
                    x.key_name.clone(),
                    x.configured_key_version.clone(),
                    x.in_use_key_version.clone(),
                    x.in_use_key_id.clone(),
                    x.auto_rotation,
                    x.rotation_error.clone(),
                ),
                (
                    x.identity_type.clone(),
                    x.identity_resource_id.clone(),
                    x.identity_principal_id.clone(),
                    x.identity_client_id.clone(),
                    x.federated_client_id.clone(),
                    x.last_key_rotation_at,
                    x.in_use_key_expires_at,
                ),
            )
        };
        assert_eq!(copied(b), copied(set), "{at}");
    }

    #[test]
    fn bindings_take_the_key_of_the_set_they_name() {
        let tables = assemble(&estate());
        let set = binding(&tables, &des_id(), "encryption_set");
        // The set's own binding, as a reference for what is copied.
        assert_eq!(set.key_vault_uri.as_deref(), Some("https://prod-kv.vault.azure.net/"));
        assert_eq!(set.key_name.as_deref(), Some("disks"));
        assert_eq!(set.configured_key_version.as_deref(), Some("v42"));
        assert_eq!(set.auto_rotation, Some(false));
        assert_eq!(set.identity_principal_id.as_deref(), Some("des-principal"));
        assert_eq!(set.federated_client_id.as_deref(), Some("fed-app"));
        assert_eq!(set.rotation_error.as_deref(), Some("KeyVaultAccessForbidden: no access"));

        assert_has_the_set_key(binding(&tables, &disk_id("app1-os"), "disk"), set);
        assert_has_the_set_key(binding(&tables, &disk_id("app1-data1"), "disk"), set);
        assert_has_the_set_key(binding(&tables, VM, "os_disk"), set);
        assert_has_the_set_key(binding(&tables, AKS, "node_disks"), set);
        // A VM disk that names no set takes the key source and the set of its managed disk, then the key.
        let data1 = binding(&tables, VM, "data_disk/lun=1");
        assert_has_the_set_key(data1, set);
        assert_eq!(data1.key_source_raw.as_deref(), Some("EncryptionAtRestWithCustomerKey"));
        assert_eq!(data1.resource_type, "Microsoft.Compute/virtualMachines");
        assert_eq!(data1.raw_response_sha256, HASH, "the VM's response, not the disk's");
    }

    #[test]
    fn a_vm_disk_on_a_platform_key_disk_is_microsoft_managed() {
        let tables = assemble(&estate());
        let data0 = binding(&tables, VM, "data_disk/lun=0");
        assert_eq!(data0.key_source.as_deref(), Some("microsoft_managed"));
        assert_eq!(data0.key_source_raw.as_deref(), Some("EncryptionAtRestWithPlatformKey"));
        assert_eq!((data0.key_via_resource_id.as_deref(), data0.key_vault_uri.as_deref()), (None, None));
        assert_eq!(data0.identity_type, None);
        // Its disk was not collected: the VM still does not say.
        let data2 = binding(&tables, VM, "data_disk/lun=2");
        assert_eq!((data2.key_source.as_deref(), data2.key_via_resource_id.as_deref()), (None, None));
    }

    #[test]
    fn a_set_that_was_not_collected_leaves_the_key_unknown_and_the_chain_names_it() {
        let mut tables = assemble(&estate());
        let data3 = binding(&tables, VM, "data_disk/lun=3");
        assert_eq!(data3.key_source.as_deref(), Some("customer_managed"));
        assert!(data3.key_via_resource_id.as_deref().unwrap().ends_with("/diskencryptionsets/gone"));
        assert_eq!(
            (data3.key_vault_uri.as_deref(), data3.key_name.as_deref(), data3.identity_type.as_deref()),
            (None, None, None)
        );

        tables.cmk_chain = build_chain(&tables, ctx().taken_at);
        let gaps_of = |id: &str, scope: &str| {
            let id = id.to_ascii_lowercase();
            let row = tables.cmk_chain.iter().find(|r| r.resource_id == id && r.encryption_scope == scope).unwrap();
            row.chain_gaps.clone().unwrap_or_default()
        };
        assert_eq!(gaps_of(VM, "data_disk/lun=3"), [gaps::ENCRYPTION_SET_NOT_COLLECTED]);
        // A linked disk has a key reference; only the vault side is missing in this test.
        let linked = gaps_of(VM, "os_disk");
        assert!(!linked.iter().any(|g| g == gaps::ENCRYPTION_SET_NOT_COLLECTED), "{linked:?}");
        assert!(linked.iter().any(|g| g == gaps::VAULT_NOT_COLLECTED), "{linked:?}");
    }

    /// Microsoft's examples: the create example's disk names `{existing-diskEncryptionSet-name}`, which none of
    /// the set examples is.
    #[test]
    fn the_example_disk_names_a_set_the_examples_do_not_hold() {
        let tables = assemble(&[
            body("compute-diskrp/2025-01-02/Disk_Create_WithDiskEncryptionSet.json", "200"),
            body("compute-diskrp/2025-01-02/DiskEncryptionSet_Get.json", "200"),
            body("compute-vm/2025-04-01/VirtualMachine_Create_WithDiskEncryptionSetResource.json", "200"),
        ]);
        assert_eq!(tables.cmk_bindings.len(), 1 + 1 + 3);
        for b in tables.cmk_bindings.iter().filter(|b| b.encryption_scope != "encryption_set") {
            assert_eq!(b.key_source.as_deref(), Some("customer_managed"), "{}", b.encryption_scope);
            assert!(b.key_via_resource_id.is_some(), "{}", b.encryption_scope);
            assert_eq!(b.key_vault_uri, None, "{}: set not collected", b.encryption_scope);
        }
    }

    #[test]
    fn linking_is_idempotent_and_works_across_subscriptions() {
        // The set and its disks arrive from different subscriptions' collections; run.rs links the merged
        // tables again.
        let docs = estate();
        let (set_docs, resource_docs): (Vec<Value>, Vec<Value>) =
            docs.into_iter().partition(|d| d["type"] == "Microsoft.Compute/diskEncryptionSets");
        let mut merged = assemble(&resource_docs);
        assert_eq!(binding(&merged, &disk_id("app1-os"), "disk").key_vault_uri, None, "set not in this subscription");
        merged.append(assemble(&set_docs));
        link_through_encryption_sets(&mut merged);
        let once = merged.cmk_bindings.clone();
        let all_at_once = assemble(&estate());
        let mut expected = all_at_once.cmk_bindings;
        let mut got = once.clone();
        expected.sort();
        got.sort();
        assert_eq!(got, expected, "same rows whether linked per subscription or tenant-wide");
        link_through_encryption_sets(&mut merged);
        assert_eq!(merged.cmk_bindings, once, "a second pass changes nothing");
    }

    #[test]
    fn a_key_source_the_binding_states_is_not_overridden() {
        // A platform-key disk that also names a set: the contradiction stays visible.
        let tables = assemble(&[
            disk("odd", json!({"type": "EncryptionAtRestWithPlatformKey", "diskEncryptionSetId": des_id()})),
            des(),
        ]);
        let odd = binding(&tables, &disk_id("odd"), "disk");
        assert_eq!(odd.key_source.as_deref(), Some("microsoft_managed"));
        assert_eq!(odd.key_source_raw.as_deref(), Some("EncryptionAtRestWithPlatformKey"));
        assert_eq!(odd.key_name.as_deref(), Some("disks"), "what the named set holds is still recorded");
    }
}
