//! Pure conversion of one storage account (ARM JSON) into evidence rows: the account's own facts, its
//! encryption binding (key source, key reference, version in use, identity) and the key reference the vault
//! phase must resolve. No I/O; absent JSON stays null.

use evidence::identity::{EncryptionIdentity, NamedIdentity, encryption_identity};
use evidence::ids::{normalize_resource_id, normalize_vault_uri, resource_group_of, resource_name_of, subscription_of};
use evidence::vocab::key_source;
use evidence::wire::{item_label, non_empty};
use evidence::{CmkBinding, KeyReference, SnapshotContext, StorageAccountRow, Timestamp, resource_types};
use serde::Deserialize;

use crate::ConvertError;
use crate::wire;

/// The `api-version` the collector asks the storage resource provider for.
pub const STORAGE_API_VERSION: &str = "2025-06-01";

/// Encryption scope of a storage account's binding: the key protects the whole account.
pub const ACCOUNT_SCOPE: &str = "account";

/// Everything one storage account yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageEvidence {
    /// The `storage_accounts` row.
    pub account: StorageAccountRow,
    /// The `cmk_bindings` row for encryption scope `account`.
    pub binding: CmkBinding,
    /// The key the vault phase must read: present when the account uses a customer-managed key and names a
    /// valid vault URI and key name. The version is the pinned one, `None` when the account follows the latest.
    pub key: Option<KeyReference>,
}

/// Converts one storage account (a `GET` body or one item of a list page). `raw_sha256` is the SHA-256 of
/// the response the item came from.
///
/// Fails only when no row can be written at all: the item is not an object of the expected shape, or it has
/// no usable `id`. The caller then writes a coverage row for it.
pub fn storage_account(
    ctx: &SnapshotContext,
    item: &serde_json::Value,
    raw_sha256: &str,
) -> Result<StorageEvidence, ConvertError> {
    let label = item_label(item, "id");
    let account = wire::StorageAccount::deserialize(item)
        .map_err(|e| ConvertError::Shape { resource: label.clone(), reason: e.to_string() })?;
    let original_id = non_empty(account.id.as_deref())
        .ok_or(ConvertError::MissingField { resource: label, field: "id" })?
        .to_string();
    let subscription_id = subscription_of(&original_id).ok_or_else(|| ConvertError::InvalidId {
        resource: original_id.clone(),
        reason: "no /subscriptions/{id} segment",
    })?;
    let resource_id = normalize_resource_id(&original_id);
    let name = non_empty(account.name.as_deref())
        .map(str::to_string)
        .or_else(|| resource_name_of(&original_id))
        .ok_or_else(|| ConvertError::MissingField { resource: original_id.clone(), field: "name" })?;

    let wire::StorageAccount { location, kind, sku, identity, properties, flattened_properties, .. } = account;
    let properties = properties.unwrap_or(flattened_properties);
    let identity = identity.unwrap_or_default();
    let encryption = properties.encryption.unwrap_or_default();
    let network = properties.network_acls.unwrap_or_default();
    let vault_props = encryption.key_vault_properties.clone().unwrap_or_default();
    let encryption_settings_identity = encryption.identity.clone().unwrap_or_default();

    let key_source_raw = encryption.key_source.clone();
    let key_source = key_source::from_storage(key_source_raw.as_deref());
    let is_cmk = key_source == Some(key_source::CUSTOMER_MANAGED);

    // The key reference: only a customer-managed key has one. An empty `keyversion` is Azure's way of saying
    // "follow the latest version".
    let vault_uri_raw = non_empty(vault_props.key_vault_uri.as_deref()).filter(|_| is_cmk);
    let key_name = non_empty(vault_props.key_name.as_deref()).filter(|_| is_cmk);
    let configured_key_version = non_empty(vault_props.key_version.as_deref()).filter(|_| is_cmk);
    let in_use_key_id =
        non_empty(vault_props.current_versioned_key_identifier.as_deref()).filter(|_| is_cmk).map(str::to_string);
    let in_use_key_version =
        in_use_key_id.as_deref().and_then(|id| KeyReference::parse_key_id(id).ok()).and_then(|k| k.version);
    let key = match (vault_uri_raw, key_name) {
        (Some(uri), Some(name)) => KeyReference::from_parts(uri, name, configured_key_version).ok(),
        _ => None,
    };
    let (last_key_rotation_at, in_use_key_expires_at) = if is_cmk {
        (
            parse_time(vault_props.last_key_rotation_timestamp.as_deref()),
            parse_time(vault_props.current_versioned_key_expiration_timestamp.as_deref()),
        )
    } else {
        (None, None)
    };

    let encryption_identity_used = match key_source {
        // Storage names a user-assigned identity in `encryption.identity`; otherwise it uses the system-assigned one.
        Some(key_source::CUSTOMER_MANAGED | key_source::UNRECOGNIZED) => {
            let named = match non_empty(encryption_settings_identity.user_assigned_identity.as_deref()) {
                Some(id) => NamedIdentity::ResourceId(id),
                None => NamedIdentity::SystemAssigned,
            };
            encryption_identity(
                Some(&identity),
                named,
                encryption_settings_identity.federated_identity_client_id.as_deref(),
                is_cmk,
            )
        }
        // Platform keys need no identity; without a key source nothing is known about one.
        _ => EncryptionIdentity::default(),
    };

    let binding = CmkBinding {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        subscription_id: subscription_id.clone(),
        resource_id: resource_id.clone(),
        resource_id_original: original_id.clone(),
        resource_type: resource_types::STORAGE_ACCOUNT.to_string(),
        resource_name: name.clone(),
        location: location.clone(),
        encryption_scope: ACCOUNT_SCOPE.to_string(),
        key_source: key_source.map(str::to_string),
        key_source_raw: key_source_raw.clone(),
        key_vault_uri: vault_uri_raw.map(normalize_vault_uri),
        key_via_resource_id: None,
        key_name: key_name.map(str::to_string),
        configured_key_version: configured_key_version.map(str::to_string),
        in_use_key_version,
        in_use_key_id,
        auto_rotation: is_cmk.then_some(configured_key_version.is_none()),
        identity_type: encryption_identity_used.identity_type.map(str::to_string),
        identity_resource_id: encryption_identity_used.resource_id,
        identity_principal_id: encryption_identity_used.principal_id,
        identity_client_id: encryption_identity_used.client_id,
        federated_client_id: encryption_identity_used.federated_client_id,
        last_key_rotation_at,
        in_use_key_expires_at,
        // Storage does not report automatic key-version update failures in the account resource.
        rotation_error: None,
        raw_response_sha256: raw_sha256.to_string(),
    };

    let services = encryption.services.as_ref();
    let account_row = StorageAccountRow {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        subscription_id,
        resource_group: resource_group_of(&original_id),
        resource_id,
        resource_id_original: original_id,
        name,
        location,
        kind,
        sku_name: sku.and_then(|s| s.name),
        key_source_raw,
        require_infrastructure_encryption: encryption.require_infrastructure_encryption,
        encrypted_services: services.map(|s| services_where(s, |svc| svc.enabled == Some(true))),
        account_key_type_services: services.map(|s| {
            services_where(s, |svc| svc.key_type.as_deref().is_some_and(|t| t.trim().eq_ignore_ascii_case("Account")))
        }),
        identity_type_raw: identity.identity_type.clone(),
        system_assigned_principal_id: identity.principal_id.clone(),
        user_assigned_identity_ids: identity.user_assigned_ids(),
        public_network_access: properties.public_network_access,
        network_default_action: network.default_action,
        network_bypass: network.bypass,
        provisioning_state: properties.provisioning_state,
        raw_response_sha256: raw_sha256.to_string(),
    };

    Ok(StorageEvidence { account: account_row, binding, key })
}

/// Names of the services under `encryption.services` that satisfy `pred`, in name order.
fn services_where(
    services: &std::collections::BTreeMap<String, Option<wire::EncryptionService>>,
    pred: impl Fn(&wire::EncryptionService) -> bool,
) -> Vec<String> {
    services.iter().filter(|(_, svc)| svc.as_ref().is_some_and(&pred)).map(|(name, _)| name.clone()).collect()
}

fn parse_time(text: Option<&str>) -> Option<Timestamp> {
    text.and_then(Timestamp::parse)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on bad data: that is the failure.
mod tests {
    use std::collections::BTreeSet;

    use evidence::VaultKind;
    use serde_json::{Value, json};

    use super::*;
    use collect_common::examples::body;

    const HASH: &str = "3b1f0c0ffee0000000000000000000000000000000000000000000000000000a";

    const VAULT: &str = "https://myvault8569.vault.azure.net/";
    const KEY: &str = "wrappingKey";
    const VERSION: &str = "0682afdd9c104f4285df20107e956cad";
    const KID: &str = "https://myvault8569.vault.azure.net/keys/wrappingKey/0682afdd9c104f4285df20107e956cad";
    const ROTATED: &str = "2019-12-13T20:36:23.7023290Z";
    const UAI: &str = "/subscriptions/{subscription-id}/resourcegroups/res9101/providers/microsoft.managedidentity/userassignedidentities/{managed-identity-name}";
    const SYSTEM_PRINCIPAL: &str = "911871cc-ffd1-4fc4-ac11-7a316433ea66";

    fn ctx() -> SnapshotContext {
        SnapshotContext {
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".to_string(),
            taken_at: Timestamp::parse("2026-01-15T10:00:00Z").unwrap(),
        }
    }

    fn ts(text: &str) -> Option<Timestamp> {
        Some(Timestamp::parse(text).unwrap())
    }

    /// What one example item must convert to.
    #[derive(Clone, Copy)]
    struct Case {
        file: &'static str,
        /// Index into `value` for list responses.
        item: Option<usize>,
        name: &'static str,
        resource_group: &'static str,
        key_source: Option<&'static str>,
        key_source_raw: Option<&'static str>,
        vault: Option<&'static str>,
        key_name: Option<&'static str>,
        configured: Option<&'static str>,
        auto_rotation: Option<bool>,
        in_use_version: Option<&'static str>,
        in_use_key_id: Option<&'static str>,
        identity_type: Option<&'static str>,
        identity_resource_id: Option<&'static str>,
        principal_id: Option<&'static str>,
        client_id: Option<&'static str>,
        federated_client_id: Option<&'static str>,
        last_rotation: Option<&'static str>,
        expires: Option<&'static str>,
        /// (vault, key, pinned version) of the reference handed to the vault phase.
        key: Option<(&'static str, &'static str, Option<&'static str>)>,
        encrypted_services: Option<&'static [&'static str]>,
        account_key_type_services: Option<&'static [&'static str]>,
        identity_type_raw: Option<&'static str>,
        system_principal: Option<&'static str>,
        user_assigned_ids: Option<&'static [&'static str]>,
        kind: &'static str,
        sku: &'static str,
        location: &'static str,
        network: Option<(&'static str, &'static str)>,
    }

    const NO_ENCRYPTION: Case = Case {
        file: "",
        item: None,
        name: "",
        resource_group: "",
        key_source: None,
        key_source_raw: None,
        vault: None,
        key_name: None,
        configured: None,
        auto_rotation: None,
        in_use_version: None,
        in_use_key_id: None,
        identity_type: None,
        identity_resource_id: None,
        principal_id: None,
        client_id: None,
        federated_client_id: None,
        last_rotation: None,
        expires: None,
        key: None,
        encrypted_services: None,
        account_key_type_services: None,
        identity_type_raw: None,
        system_principal: None,
        user_assigned_ids: None,
        kind: "Storage",
        sku: "Standard_GRS",
        location: "eastus",
        network: None,
    };

    const MICROSOFT_MANAGED: Case = Case {
        key_source: Some("microsoft_managed"),
        key_source_raw: Some("Microsoft.Storage"),
        encrypted_services: Some(&["blob", "file"]),
        account_key_type_services: Some(&["blob", "file"]),
        ..NO_ENCRYPTION
    };

    /// CMK following the latest version, reached through the system-assigned identity.
    const CMK_SYSTEM: Case = Case {
        name: "sto8596",
        resource_group: "res9407",
        key_source: Some("customer_managed"),
        key_source_raw: Some("Microsoft.Keyvault"),
        vault: Some(VAULT),
        key_name: Some(KEY),
        configured: None,
        auto_rotation: Some(true),
        in_use_version: Some(VERSION),
        in_use_key_id: Some(KID),
        identity_type: Some("system_assigned"),
        principal_id: Some(SYSTEM_PRINCIPAL),
        last_rotation: Some(ROTATED),
        key: Some((VAULT, KEY, None)),
        encrypted_services: Some(&["blob", "file"]),
        account_key_type_services: Some(&["blob", "file"]),
        identity_type_raw: Some("SystemAssigned"),
        system_principal: Some(SYSTEM_PRINCIPAL),
        location: "eastus2(stage)",
        network: Some(("Allow", "AzureServices")),
        ..NO_ENCRYPTION
    };

    /// CMK following the latest version, reached through a user-assigned identity (create examples).
    const CMK_USER_ASSIGNED: Case = Case {
        name: "sto4445",
        resource_group: "res9101",
        identity_type: Some("user_assigned"),
        identity_resource_id: Some(UAI),
        principal_id: Some("8d823284-1060-42a5-9ec4-ed3d831e24d7"),
        client_id: Some("fbaa6278-1ecc-415c-819f-6e2058d3acb5"),
        identity_type_raw: Some("UserAssigned"),
        system_principal: None,
        user_assigned_ids: Some(&[UAI]),
        kind: "StorageV2",
        sku: "Standard_LRS",
        location: "eastus",
        ..CMK_SYSTEM
    };

    const LIST: &str = "storage/2025-06-01/StorageAccountList.json";

    fn cases() -> Vec<Case> {
        vec![
            Case {
                file: "storage/2017-10-01/StorageAccountGetProperties.json",
                name: "sto8596",
                resource_group: "res9407",
                location: "eastus2(stage)",
                network: Some(("Allow", "AzureServices")),
                ..NO_ENCRYPTION
            },
            Case { file: "storage/2019-06-01/StorageAccountGetPropertiesCMKEnabled.json", ..CMK_SYSTEM },
            Case {
                file: "storage/2025-06-01/StorageAccountCreateUserAssignedEncryptionIdentityWithCMK.json",
                ..CMK_USER_ASSIGNED
            },
            Case {
                file: "storage/2025-06-01/StorageAccountCreateUserAssignedIdentityWithFederatedIdentityClientId.json",
                federated_client_id: Some("f83c6b1b-4d34-47e4-bb34-9d83df58b540"),
                ..CMK_USER_ASSIGNED
            },
            Case {
                file: "storage/2025-06-01/StorageAccountGetProperties.json",
                name: "sto8596",
                resource_group: "res9407",
                location: "eastus2(stage)",
                network: Some(("Allow", "AzureServices")),
                ..MICROSOFT_MANAGED
            },
            Case { file: "storage/2025-06-01/StorageAccountGetPropertiesCMKEnabled.json", ..CMK_SYSTEM },
            Case {
                file: "storage/2025-06-01/StorageAccountGetPropertiesCMKVersionExpirationTime.json",
                expires: Some(ROTATED),
                ..CMK_SYSTEM
            },
            Case { file: LIST, item: Some(0), name: "sto1125", resource_group: "res2627", ..MICROSOFT_MANAGED },
            Case {
                file: LIST,
                item: Some(1),
                name: "sto3699",
                resource_group: "testcmk3",
                identity_type_raw: Some("SystemAssigned"),
                system_principal: Some("356d057d-cba5-44dd-8a30-b2e547bc416b"),
                ..NO_ENCRYPTION
            },
            Case { file: LIST, item: Some(2), ..CMK_SYSTEM },
            Case {
                file: LIST,
                item: Some(3),
                name: "sto6637",
                resource_group: "testcmk3",
                identity_type_raw: Some("SystemAssigned"),
                system_principal: Some(SYSTEM_PRINCIPAL),
                ..NO_ENCRYPTION
            },
            Case { file: LIST, item: Some(4), name: "sto834", resource_group: "res8186", ..NO_ENCRYPTION },
            Case {
                file: LIST,
                item: Some(5),
                name: "sto9174",
                resource_group: "testcmk3",
                identity_type_raw: Some("SystemAssigned"),
                system_principal: Some("933e3ddf-1802-4a51-9469-18a33b576f88"),
                ..NO_ENCRYPTION
            },
        ]
    }

    fn strings(list: Option<&[&str]>) -> Option<Vec<String>> {
        list.map(|l| l.iter().map(|s| s.to_string()).collect())
    }

    fn item_of(case: &Case) -> Value {
        let body = body(case.file, "200");
        match case.item {
            None => body,
            Some(i) => {
                let page: wire::Page = serde_json::from_value(body).unwrap();
                page.value.unwrap()[i].clone()
            }
        }
    }

    #[test]
    fn every_storage_example_converts_to_the_expected_evidence() {
        for case in cases() {
            let at = format!("{} item {:?}", case.file, case.item);
            let item = item_of(&case);
            let ev = storage_account(&ctx(), &item, HASH).unwrap_or_else(|e| panic!("{at}: {e}"));
            let (b, a) = (&ev.binding, &ev.account);

            // Identity of the row.
            let id = item["id"].as_str().unwrap();
            assert_eq!(b.resource_id_original, id, "{at}");
            assert_eq!(b.resource_id, id.to_ascii_lowercase(), "{at}");
            assert_eq!(b.subscription_id, subscription_of(id).unwrap(), "{at}");
            assert_eq!(b.resource_name, case.name, "{at}");
            assert_eq!(b.resource_type, "Microsoft.Storage/storageAccounts", "{at}");
            assert_eq!(b.encryption_scope, "account", "{at}");
            assert_eq!(b.location.as_deref(), Some(case.location), "{at}");
            assert_eq!(b.raw_response_sha256, HASH, "{at}");
            assert_eq!(b.tenant_id, ctx().tenant_id, "{at}");
            assert_eq!(b.snapshot_id, "20260115T100000Z", "{at}");

            // The chain as the account describes it.
            assert_eq!(b.key_source.as_deref(), case.key_source, "{at}: key_source");
            assert_eq!(b.key_source_raw.as_deref(), case.key_source_raw, "{at}: key_source_raw");
            assert_eq!(b.key_vault_uri.as_deref(), case.vault, "{at}: vault");
            assert_eq!(b.key_name.as_deref(), case.key_name, "{at}: key name");
            assert_eq!(b.configured_key_version.as_deref(), case.configured, "{at}: configured version");
            assert_eq!(b.auto_rotation, case.auto_rotation, "{at}: auto rotation (follows latest)");
            assert_eq!(b.in_use_key_version.as_deref(), case.in_use_version, "{at}: version in use");
            assert_eq!(b.in_use_key_id.as_deref(), case.in_use_key_id, "{at}: key id in use");
            assert_eq!(b.identity_type.as_deref(), case.identity_type, "{at}: identity type");
            assert_eq!(b.identity_resource_id.as_deref(), case.identity_resource_id, "{at}: identity id");
            assert_eq!(b.identity_principal_id.as_deref(), case.principal_id, "{at}: principal");
            assert_eq!(b.identity_client_id.as_deref(), case.client_id, "{at}: client id");
            assert_eq!(b.federated_client_id.as_deref(), case.federated_client_id, "{at}: federated");
            assert_eq!(b.last_key_rotation_at, case.last_rotation.and_then(ts), "{at}: last rotation");
            assert_eq!(b.in_use_key_expires_at, case.expires.and_then(ts), "{at}: in-use expiry");
            assert_eq!(b.rotation_error, None, "{at}");
            let key = ev.key.as_ref().map(|k| (k.vault_uri.as_str(), k.key_name.as_str(), k.version.as_deref()));
            assert_eq!(key, case.key, "{at}: key reference");

            // The account row.
            assert_eq!(a.resource_id, b.resource_id, "{at}");
            assert_eq!(a.subscription_id, b.subscription_id, "{at}");
            assert_eq!(a.name, case.name, "{at}");
            assert_eq!(a.resource_group.as_deref(), Some(case.resource_group), "{at}");
            assert_eq!(a.kind.as_deref(), Some(case.kind), "{at}: kind");
            assert_eq!(a.sku_name.as_deref(), Some(case.sku), "{at}: sku");
            assert_eq!(a.location.as_deref(), Some(case.location), "{at}");
            assert_eq!(a.key_source_raw.as_deref(), case.key_source_raw, "{at}");
            assert_eq!(a.require_infrastructure_encryption, None, "{at}: not in any example, so null");
            assert_eq!(a.encrypted_services, strings(case.encrypted_services), "{at}: encrypted services");
            assert_eq!(a.account_key_type_services, strings(case.account_key_type_services), "{at}: key type");
            assert_eq!(a.identity_type_raw.as_deref(), case.identity_type_raw, "{at}: identity type raw");
            assert_eq!(a.system_assigned_principal_id.as_deref(), case.system_principal, "{at}");
            assert_eq!(a.user_assigned_identity_ids, strings(case.user_assigned_ids), "{at}: uai ids");
            assert_eq!(a.network_default_action.as_deref(), case.network.map(|n| n.0), "{at}: default action");
            assert_eq!(a.network_bypass.as_deref(), case.network.map(|n| n.1), "{at}: bypass");
            assert_eq!(a.public_network_access, None, "{at}: no example says it");
            assert_eq!(a.provisioning_state.as_deref(), Some("Succeeded"), "{at}");
            assert_eq!(a.raw_response_sha256, HASH, "{at}");
        }
    }

    #[test]
    fn the_list_example_is_one_page_of_six_accounts() {
        let page: wire::Page = serde_json::from_value(body(LIST, "200")).unwrap();
        assert_eq!(page.value.as_ref().map(Vec::len), Some(6));
        assert_eq!(page.next_link, None);
        let listed = cases().iter().filter(|c| c.file == LIST).count();
        assert_eq!(listed, 6, "every item of the list is a case");
    }

    /// Every file under `storage/` is either a case or explicitly set aside, so a new example cannot be
    /// forgotten.
    #[test]
    fn every_storage_example_file_is_used() {
        let found = collect_common::examples::files_under(&["storage"]);
        let used: BTreeSet<String> = cases().iter().map(|c| c.file.to_string()).collect();
        assert_eq!(found, used);
    }

    /// The federated (cross-tenant) create example, every binding column pinned.
    #[test]
    fn federated_binding_has_every_column() {
        let item = body(
            "storage/2025-06-01/StorageAccountCreateUserAssignedIdentityWithFederatedIdentityClientId.json",
            "200",
        );
        let id = "/subscriptions/{subscription-id}/resourceGroups/res9101/providers/Microsoft.Storage/storageAccounts/sto4445";
        let expected = CmkBinding {
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".to_string(),
            snapshot_id: "20260115T100000Z".to_string(),
            subscription_id: "{subscription-id}".to_string(),
            resource_id: id.to_ascii_lowercase(),
            resource_id_original: id.to_string(),
            resource_type: "Microsoft.Storage/storageAccounts".to_string(),
            resource_name: "sto4445".to_string(),
            location: Some("eastus".to_string()),
            encryption_scope: "account".to_string(),
            key_source: Some("customer_managed".to_string()),
            key_source_raw: Some("Microsoft.Keyvault".to_string()),
            key_vault_uri: Some(VAULT.to_string()),
            key_via_resource_id: None,
            key_name: Some(KEY.to_string()),
            configured_key_version: None,
            in_use_key_version: Some(VERSION.to_string()),
            in_use_key_id: Some(KID.to_string()),
            auto_rotation: Some(true),
            identity_type: Some("user_assigned".to_string()),
            identity_resource_id: Some(UAI.to_string()),
            identity_principal_id: Some("8d823284-1060-42a5-9ec4-ed3d831e24d7".to_string()),
            identity_client_id: Some("fbaa6278-1ecc-415c-819f-6e2058d3acb5".to_string()),
            federated_client_id: Some("f83c6b1b-4d34-47e4-bb34-9d83df58b540".to_string()),
            last_key_rotation_at: Some(Timestamp::from_micros(1_576_269_383_702_329)),
            in_use_key_expires_at: None,
            rotation_error: None,
            raw_response_sha256: HASH.to_string(),
        };
        assert_eq!(storage_account(&ctx(), &item, HASH).unwrap().binding, expected);
    }

    const HAND_ID: &str = "/subscriptions/1111AAAA-0000-0000-0000-000000000000/resourceGroups/RG-One/providers/Microsoft.Storage/storageAccounts/handmade";

    fn hand(properties: Value, identity: Value) -> Value {
        let mut item = json!({
            "id": HAND_ID,
            "name": "handmade",
            "type": "Microsoft.Storage/storageAccounts",
            "location": "westeurope",
            "kind": "StorageV2",
            "sku": {"name": "Standard_ZRS"},
            "properties": properties,
        });
        if !identity.is_null() {
            item["identity"] = identity;
        }
        item
    }

    #[test]
    fn unknown_key_source_is_unrecognized_with_the_raw_value_kept() {
        let item = hand(
            json!({"encryption": {"keySource": "Contoso.Quantum", "keyvaultproperties": {"keyvaulturi": "https://kv.vault.azure.net", "keyname": "k"}}}),
            json!({"type": "SystemAssigned", "principalId": "p-1"}),
        );
        let ev = storage_account(&ctx(), &item, HASH).unwrap();
        assert_eq!(ev.binding.key_source.as_deref(), Some("unrecognized"));
        assert_eq!(ev.binding.key_source_raw.as_deref(), Some("Contoso.Quantum"));
        assert_eq!(ev.account.key_source_raw.as_deref(), Some("Contoso.Quantum"));
        // Not a customer-managed key as far as this version knows: no key reference, no auto-rotation claim.
        assert_eq!(ev.binding.key_vault_uri, None);
        assert_eq!(ev.binding.auto_rotation, None);
        assert_eq!(ev.key, None);
        // The identity is still recorded: whatever the key source is, this is what would reach a key.
        assert_eq!(ev.binding.identity_type.as_deref(), Some("system_assigned"));
        assert_eq!(ev.binding.identity_principal_id.as_deref(), Some("p-1"));
    }

    #[test]
    fn absent_encryption_leaves_every_encryption_column_null() {
        let item = json!({"id": HAND_ID});
        let ev = storage_account(&ctx(), &item, HASH).unwrap();
        assert_eq!(ev.binding.key_source, None);
        assert_eq!(ev.binding.key_source_raw, None);
        assert_eq!(ev.binding.identity_type, None);
        assert_eq!(ev.binding.auto_rotation, None);
        assert_eq!(ev.binding.resource_name, "handmade", "name taken from the id");
        assert_eq!(ev.binding.location, None);
        assert_eq!(ev.binding.subscription_id, "1111aaaa-0000-0000-0000-000000000000");
        assert_eq!(ev.account.resource_group.as_deref(), Some("RG-One"));
        assert_eq!(ev.account.encrypted_services, None);
        assert_eq!(ev.account.account_key_type_services, None);
        assert_eq!(ev.account.require_infrastructure_encryption, None);
        assert_eq!(ev.account.user_assigned_identity_ids, None);
        assert_eq!(ev.account.kind, None);
        assert_eq!(ev.account.sku_name, None);
        assert_eq!(ev.key, None);
    }

    #[test]
    fn malformed_items_are_errors_that_name_the_item() {
        let no_id = json!({"name": "orphan", "properties": {}});
        assert_eq!(
            storage_account(&ctx(), &no_id, HASH),
            Err(ConvertError::MissingField { resource: "named \"orphan\" (no id)".to_string(), field: "id" })
        );
        let empty_id = json!({"id": "  ", "properties": {}});
        assert!(matches!(
            storage_account(&ctx(), &empty_id, HASH),
            Err(ConvertError::MissingField { field: "id", .. })
        ));
        let not_arm = json!({"id": "sto1"});
        assert!(matches!(storage_account(&ctx(), &not_arm, HASH), Err(ConvertError::InvalidId { .. })));
        let wrong_type = hand(json!({"encryption": "yes please"}), Value::Null);
        match storage_account(&ctx(), &wrong_type, HASH) {
            Err(ConvertError::Shape { resource, .. }) => assert_eq!(resource, HAND_ID),
            other => panic!("expected a shape error, got {other:?}"),
        }
        assert!(matches!(storage_account(&ctx(), &json!([1, 2]), HASH), Err(ConvertError::Shape { .. })));
        let err = storage_account(&ctx(), &no_id, HASH).unwrap_err().to_string();
        assert!(err.contains("orphan") && err.contains("`id`"), "{err}");
    }

    #[test]
    fn camel_case_key_vault_properties_with_a_pinned_version() {
        let item = hand(
            json!({"encryption": {
                "keySource": "Microsoft.Keyvault",
                "requireInfrastructureEncryption": true,
                "keyVaultProperties": {
                    "keyVaultUri": "https://Pinned-KV.vault.azure.net:443/",
                    "keyName": "cmk",
                    "keyVersion": "abc123"
                },
                "services": {"blob": {"enabled": true, "keyType": "Account"}, "queue": {"enabled": false, "keyType": "Service"}, "table": null}
            }}),
            json!({"type": "None"}),
        );
        let ev = storage_account(&ctx(), &item, HASH).unwrap();
        let b = &ev.binding;
        assert_eq!(b.key_source.as_deref(), Some("customer_managed"));
        assert_eq!(b.key_vault_uri.as_deref(), Some("https://pinned-kv.vault.azure.net/"));
        assert_eq!(b.key_name.as_deref(), Some("cmk"));
        assert_eq!(b.configured_key_version.as_deref(), Some("abc123"));
        assert_eq!(b.auto_rotation, Some(false), "a pinned version does not follow the latest");
        // Pinned and no currentVersionedKeyIdentifier: the chain fills the in-use version from the pin.
        assert_eq!(b.in_use_key_version, None);
        assert_eq!(b.in_use_key_id, None);
        assert_eq!(b.identity_type.as_deref(), Some("none"), "CMK without any managed identity");
        assert_eq!(b.identity_principal_id, None);
        let key = ev.key.unwrap();
        assert_eq!(key.vault_uri, "https://pinned-kv.vault.azure.net/");
        assert_eq!(key.version.as_deref(), Some("abc123"));
        assert_eq!(key.vault_kind, VaultKind::KeyVault);
        assert_eq!(ev.account.require_infrastructure_encryption, Some(true));
        assert_eq!(ev.account.encrypted_services, Some(vec!["blob".to_string()]));
        assert_eq!(ev.account.account_key_type_services, Some(vec!["blob".to_string()]));
        assert_eq!(ev.account.identity_type_raw.as_deref(), Some("None"));
    }

    /// `az storage account show -o json` flattens `properties` and renames a few fields.
    #[test]
    fn az_cli_output_is_understood() {
        let item = json!({
            "id": HAND_ID,
            "name": "handmade",
            "location": "westeurope",
            "identity": {
                "type": "SystemAssigned,UserAssigned",
                "principalId": "sys-principal",
                "userAssignedIdentities": {
                    "/subscriptions/1111aaaa-0000-0000-0000-000000000000/resourceGroups/rg-one/providers/Microsoft.ManagedIdentity/userAssignedIdentities/UAI-B": {"principalId": "b-principal", "clientId": "b-client"},
                    "/subscriptions/1111aaaa-0000-0000-0000-000000000000/resourceGroups/rg-one/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uai-a": {"principalId": "a-principal", "clientId": "a-client"}
                }
            },
            "encryption": {
                "keySource": "Microsoft.Keyvault",
                "requireInfrastructureEncryption": "false",
                "keyVaultProperties": {
                    "keyVaultUri": "https://hsm1.managedhsm.azure.net/",
                    "keyName": "storage-key",
                    "keyVersion": null,
                    "currentVersionedKeyIdentifier": "https://hsm1.managedhsm.azure.net/keys/storage-key/v2",
                    "lastKeyRotationTimestamp": "2025-03-01T08:00:00+01:00"
                },
                "encryptionIdentity": {
                    "encryptionUserAssignedIdentity": "/subscriptions/1111AAAA-0000-0000-0000-000000000000/resourcegroups/RG-ONE/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uai-b",
                    "encryptionFederatedIdentityClientId": null
                }
            },
            "networkRuleSet": {"defaultAction": "Deny", "bypass": "AzureServices"},
            "publicNetworkAccess": "Disabled",
            "provisioningState": "Succeeded"
        });
        let ev = storage_account(&ctx(), &item, HASH).unwrap();
        let b = &ev.binding;
        assert_eq!(b.key_source.as_deref(), Some("customer_managed"));
        assert_eq!(b.key_vault_uri.as_deref(), Some("https://hsm1.managedhsm.azure.net/"));
        assert_eq!(b.in_use_key_version.as_deref(), Some("v2"));
        assert_eq!(b.auto_rotation, Some(true));
        assert_eq!(b.last_key_rotation_at, ts("2025-03-01T07:00:00Z"));
        assert_eq!(b.identity_type.as_deref(), Some("user_assigned"), "the encryption identity wins over system");
        assert_eq!(
            b.identity_resource_id.as_deref(),
            Some(
                "/subscriptions/1111aaaa-0000-0000-0000-000000000000/resourcegroups/rg-one/providers/microsoft.managedidentity/userassignedidentities/uai-b"
            )
        );
        assert_eq!(b.identity_principal_id.as_deref(), Some("b-principal"), "found case-insensitively");
        assert_eq!(b.identity_client_id.as_deref(), Some("b-client"));
        assert_eq!(b.federated_client_id, None);
        assert_eq!(ev.key.unwrap().vault_kind, VaultKind::ManagedHsm);
        let a = &ev.account;
        assert_eq!(a.require_infrastructure_encryption, Some(false));
        assert_eq!(a.network_default_action.as_deref(), Some("Deny"));
        assert_eq!(a.network_bypass.as_deref(), Some("AzureServices"));
        assert_eq!(a.public_network_access.as_deref(), Some("Disabled"));
        assert_eq!(a.system_assigned_principal_id.as_deref(), Some("sys-principal"));
        let ids = a.user_assigned_identity_ids.as_ref().unwrap();
        assert_eq!(ids.len(), 2);
        assert!(ids[0] < ids[1] && ids[0].ends_with("uai-a") && ids[1].ends_with("uai-b"), "{ids:?}");
    }

    #[test]
    fn odd_key_references_keep_what_azure_said() {
        let item = hand(
            json!({"encryption": {
                "keySource": "Microsoft.Keyvault",
                "keyvaultproperties": {
                    "keyvaulturi": "not a uri",
                    "keyname": "k1",
                    "keyversion": "",
                    "currentVersionedKeyIdentifier": "https://kv.vault.azure.net/secrets/k1/v1"
                },
                "identity": {"userAssignedIdentity": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gone"}
            }}),
            json!({"type": "UserAssigned", "userAssignedIdentities": {}}),
        );
        let ev = storage_account(&ctx(), &item, HASH).unwrap();
        let b = &ev.binding;
        // An invalid vault URI gives no key reference, but the binding is still written.
        assert_eq!(ev.key, None);
        assert_eq!(b.key_vault_uri.as_deref(), Some("not a uri"));
        assert_eq!(b.key_name.as_deref(), Some("k1"));
        // An in-use id that is not a key id is kept verbatim; no version is made up.
        assert_eq!(b.in_use_key_id.as_deref(), Some("https://kv.vault.azure.net/secrets/k1/v1"));
        assert_eq!(b.in_use_key_version, None);
        // The encryption identity is not attached to the account: known by id, principal unknown.
        assert_eq!(b.identity_type.as_deref(), Some("user_assigned"));
        assert!(b.identity_resource_id.as_deref().unwrap().ends_with("/gone"));
        assert_eq!(b.identity_principal_id, None);
        assert_eq!(b.identity_client_id, None);
        assert_eq!(ev.account.user_assigned_identity_ids, Some(Vec::new()));
    }

    #[test]
    fn microsoft_managed_keys_carry_no_identity_or_key() {
        let item = hand(
            json!({"encryption": {
                "keySource": "Microsoft.Storage",
                "keyvaultproperties": {"keyvaulturi": "https://stale.vault.azure.net", "keyname": "old"},
                "identity": {"userAssignedIdentity": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u"}
            }}),
            json!({"type": "SystemAssigned", "principalId": "p"}),
        );
        let ev = storage_account(&ctx(), &item, HASH).unwrap();
        assert_eq!(ev.binding.key_source.as_deref(), Some("microsoft_managed"));
        assert_eq!(ev.binding.key_vault_uri, None, "left-over vault settings are not a key in use");
        assert_eq!(ev.binding.identity_type, None);
        assert_eq!(ev.binding.auto_rotation, None);
        assert_eq!(ev.key, None);
        assert_eq!(ev.account.system_assigned_principal_id.as_deref(), Some("p"));
    }
}
