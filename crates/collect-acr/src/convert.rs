//! Pure conversion of one container registry (ARM JSON or `az acr show` output) into evidence rows: the
//! registry's own facts and its encryption binding (key source, key reference, version in use, identity).
//! No I/O; absent JSON stays null.

use std::collections::BTreeMap;

use evidence::identity::{EncryptionIdentity, NamedIdentity, encryption_identity};
use evidence::ids::{normalize_resource_id, resource_group_of, resource_name_of, subscription_of};
use evidence::vocab::{encryption_scope, key_source};
use evidence::wire::{item_label, non_empty};
use evidence::{CmkBinding, ContainerRegistryRow, KeyReference, SnapshotContext, Tables, Timestamp, resource_types};
use serde::Deserialize;
use serde_json::Value;

use crate::ConvertError;
use crate::wire;

/// The `api-version` the collector asks the container registry resource provider for.
pub const ACR_API_VERSION: &str = "2025-04-01";

/// Everything one registry yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegistryEvidence {
    /// The `container_registries` row.
    pub registry: ContainerRegistryRow,
    /// The `cmk_bindings` row for encryption scope `registry`.
    pub binding: CmkBinding,
}

/// Whether the SKU is one that cannot hold a customer-managed key (only Premium can).
fn sku_without_cmk(sku_name: Option<&str>) -> bool {
    sku_name.is_some_and(|s| matches!(s.trim().to_ascii_lowercase().as_str(), "basic" | "standard"))
}

/// Converts one container registry (a `GET` body, one item of a list page, or `az acr show` output).
/// `raw_sha256` is the SHA-256 of the response the item came from.
///
/// Key source: `encryption.status` (`enabled` = customer-managed key, `disabled` = Microsoft-managed). A
/// Basic or Standard registry that does not report a status uses Microsoft-managed keys, because only
/// Premium registries can hold a customer-managed key (the raw column stays null: Azure did not say it).
/// Key: `keyIdentifier` (versionless = follows the latest version, so no configured version), in use:
/// `versionedKeyIdentifier`. Auto-rotation: `keyRotationEnabled` when present, else whether `keyIdentifier`
/// is versionless. Identity: `keyVaultProperties.identity` is the client id of a user-assigned identity,
/// resolved against the attached ones; a value equal to the system-assigned principal id, or no value at
/// all, means the system-assigned identity.
///
/// Fails only when no row can be written: the item is not a registry object of the expected shape, or it
/// has no usable `id`.
pub(crate) fn registry(
    ctx: &SnapshotContext,
    item: &Value,
    raw_sha256: &str,
) -> Result<RegistryEvidence, ConvertError> {
    let label = item_label(item, "id");
    let doc = wire::Registry::deserialize(item)
        .map_err(|e| ConvertError::Shape { resource: label.clone(), reason: e.to_string() })?;
    let original_id = non_empty(doc.id.as_deref())
        .ok_or_else(|| ConvertError::MissingField { resource: label.clone(), field: "id" })?
        .to_string();
    check_type(doc.resource_type.as_deref(), &original_id)?;
    let subscription_id = subscription_of(&original_id).ok_or_else(|| ConvertError::InvalidId {
        resource: original_id.clone(),
        reason: "no /subscriptions/{id} segment",
    })?;
    let resource_id = normalize_resource_id(&original_id);
    let name = non_empty(doc.name.as_deref())
        .map(str::to_string)
        .or_else(|| resource_name_of(&original_id))
        .ok_or_else(|| ConvertError::MissingField { resource: original_id.clone(), field: "name" })?;

    let wire::Registry { location, sku, identity, properties, flattened_properties, .. } = doc;
    let properties = properties.unwrap_or(flattened_properties);
    let sku_name = sku.and_then(|s| s.name);
    let encryption = properties.encryption.unwrap_or_default();
    let vault_props = encryption.key_vault_properties.unwrap_or_default();

    let status_raw = encryption.status;
    let key_source = key_source::from_acr_encryption_status(status_raw.as_deref())
        .or_else(|| sku_without_cmk(sku_name.as_deref()).then_some(key_source::MICROSOFT_MANAGED));
    let is_cmk = key_source == Some(key_source::CUSTOMER_MANAGED);

    let key_identifier = non_empty(vault_props.key_identifier.as_deref()).filter(|_| is_cmk);
    let key = key_identifier.and_then(|id| KeyReference::parse_key_id(id).ok());
    let in_use_key_id = non_empty(vault_props.versioned_key_identifier.as_deref()).filter(|_| is_cmk);
    let in_use_key_version = in_use_key_id.and_then(|id| KeyReference::parse_key_id(id).ok()).and_then(|k| k.version);
    let auto_rotation = if is_cmk {
        vault_props.key_rotation_enabled.or_else(|| key.as_ref().map(|k| k.version.is_none()))
    } else {
        None
    };
    let last_key_rotation_at =
        vault_props.last_key_rotation_timestamp.as_deref().filter(|_| is_cmk).and_then(Timestamp::parse);

    let identity = identity.unwrap_or_default();
    let key_identity = non_empty(vault_props.identity.as_deref());
    let encryption_identity_used = match key_source {
        Some(key_source::CUSTOMER_MANAGED | key_source::UNRECOGNIZED) => {
            let system_principal = non_empty(identity.principal_id.as_deref());
            let named = match key_identity {
                Some(id) if system_principal.is_some_and(|p| p.trim().eq_ignore_ascii_case(id.trim())) => {
                    NamedIdentity::SystemAssigned
                }
                Some(client_id) => NamedIdentity::ClientId(client_id),
                None => NamedIdentity::SystemAssigned,
            };
            encryption_identity(Some(&identity), named, None, is_cmk)
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
        resource_type: resource_types::CONTAINER_REGISTRY.to_string(),
        resource_name: name.clone(),
        location: location.clone(),
        encryption_scope: encryption_scope::REGISTRY.to_string(),
        key_source: key_source.map(str::to_string),
        key_source_raw: status_raw.clone(),
        key_vault_uri: key.as_ref().map(|k| k.vault_uri.clone()),
        key_via_resource_id: None,
        key_name: key.as_ref().map(|k| k.key_name.clone()),
        configured_key_version: key.as_ref().and_then(|k| k.version.clone()),
        in_use_key_version,
        in_use_key_id: in_use_key_id.map(str::to_string),
        auto_rotation,
        identity_type: encryption_identity_used.identity_type.map(str::to_string),
        identity_resource_id: encryption_identity_used.resource_id,
        identity_principal_id: encryption_identity_used.principal_id,
        identity_client_id: encryption_identity_used.client_id,
        federated_client_id: encryption_identity_used.federated_client_id,
        last_key_rotation_at,
        // The registry does not report the expiry of the version in use, nor rotation errors.
        in_use_key_expires_at: None,
        rotation_error: None,
        raw_response_sha256: raw_sha256.to_string(),
    };

    let registry = ContainerRegistryRow {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        subscription_id,
        resource_id,
        resource_group: resource_group_of(&original_id),
        resource_id_original: original_id,
        name,
        location,
        sku_name,
        encryption_status: status_raw,
        key_identifier: vault_props.key_identifier,
        versioned_key_identifier: vault_props.versioned_key_identifier,
        key_identity_client_id: vault_props.identity,
        key_rotation_enabled: vault_props.key_rotation_enabled,
        last_key_rotation_at: vault_props.last_key_rotation_timestamp.as_deref().and_then(Timestamp::parse),
        identity_type_raw: identity.identity_type.clone(),
        system_assigned_principal_id: identity.principal_id.clone(),
        user_assigned_identity_ids: identity.user_assigned_ids(),
        public_network_access: properties.public_network_access,
        admin_user_enabled: properties.admin_user_enabled,
        provisioning_state: properties.provisioning_state,
        raw_response_sha256: raw_sha256.to_string(),
    };
    Ok(RegistryEvidence { registry, binding })
}

/// A document is a registry when its `type` says so or, without a `type`, when its id does.
fn check_type(declared: Option<&str>, id: &str) -> Result<(), ConvertError> {
    let wanted = resource_types::CONTAINER_REGISTRY;
    let ok = match non_empty(declared) {
        Some(t) => t.trim().eq_ignore_ascii_case(wanted),
        None => {
            let lower = id.to_ascii_lowercase();
            let marker = format!("/providers/{}/", wanted.to_ascii_lowercase());
            // `.../providers/Microsoft.ContainerRegistry/registries/{name}` and nothing below it.
            lower.rfind(&marker).is_some_and(|at| !lower[at + marker.len()..].trim_end_matches('/').contains('/'))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(ConvertError::UnsupportedType {
            resource: id.to_string(),
            resource_type: declared.unwrap_or("(none)").to_string(),
        })
    }
}

/// Accumulates container registry documents and yields their rows. `collect.rs` feeds every item it fetched
/// through it and `import` feeds files through it, so both give identical rows. A registry read twice keeps
/// the document from the response with the smaller SHA-256, so the order documents arrive in does not matter.
#[derive(Debug, Clone)]
pub struct Assembler {
    ctx: SnapshotContext,
    registries: BTreeMap<String, RegistryEvidence>,
}

impl Assembler {
    /// An empty assembler for one snapshot.
    pub fn new(ctx: &SnapshotContext) -> Self {
        Self { ctx: ctx.clone(), registries: BTreeMap::new() }
    }

    /// Converts one document whose `type` (case-insensitive) is in [`crate::HANDLES`]. `raw_sha256` is the
    /// SHA-256 of the response (or file) it came from. Err when it cannot be read (shape, missing id, other type).
    pub fn add(&mut self, item: &Value, raw_sha256: &str) -> Result<(), ConvertError> {
        let evidence = registry(&self.ctx, item, raw_sha256)?;
        let slot = self.registries.entry(evidence.registry.resource_id.clone());
        match slot {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(evidence);
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                if evidence.registry.raw_response_sha256 < o.get().registry.raw_response_sha256 {
                    o.insert(evidence);
                }
            }
        }
        Ok(())
    }

    /// All rows: one `container_registries` and one `cmk_bindings` row per registry.
    pub fn finish(self) -> Tables {
        let mut tables = Tables::default();
        for (_, evidence) in self.registries {
            tables.container_registries.push(evidence.registry);
            tables.cmk_bindings.push(evidence.binding);
        }
        tables
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on bad data: that is the failure.
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;
    use collect_common::examples::body;

    const HASH: &str = "5e1f0c0ffee0000000000000000000000000000000000000000000000000000b";
    const EXAMPLE_ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers/Microsoft.ContainerRegistry/registries/myRegistry";

    fn ctx() -> SnapshotContext {
        SnapshotContext {
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".to_string(),
            taken_at: Timestamp::parse("2026-01-15T10:00:00Z").unwrap(),
        }
    }

    /// What one example registry must convert to.
    struct Case {
        file: &'static str,
        key_source_raw: Option<&'static str>,
        admin_user_enabled: Option<bool>,
        public_network_access: Option<&'static str>,
    }

    fn cases() -> Vec<Case> {
        vec![
            // 2019-05-01 has no `encryption` at all: a Standard registry cannot hold a customer-managed key.
            Case {
                file: "containerregistry/2019-05-01/RegistryGet.json",
                key_source_raw: None,
                admin_user_enabled: Some(true),
                public_network_access: None,
            },
            Case {
                file: "containerregistry/2025-04-01/RegistryGet.json",
                key_source_raw: Some("disabled"),
                admin_user_enabled: Some(false),
                public_network_access: Some("Enabled"),
            },
        ]
    }

    #[test]
    fn every_registry_example_converts_to_the_expected_evidence() {
        for case in cases() {
            let at = case.file;
            let mut assembler = Assembler::new(&ctx());
            assembler.add(&body(case.file, "200"), HASH).unwrap_or_else(|e| panic!("{at}: {e}"));
            let tables = assembler.finish();
            assert_eq!((tables.container_registries.len(), tables.cmk_bindings.len()), (1, 1), "{at}");
            assert!(tables.coverage.is_empty(), "{at}");
            let (r, b) = (&tables.container_registries[0], &tables.cmk_bindings[0]);

            assert_eq!(b.resource_id_original, EXAMPLE_ID, "{at}");
            assert_eq!(b.resource_id, EXAMPLE_ID.to_ascii_lowercase(), "{at}");
            assert_eq!(b.subscription_id, "00000000-0000-0000-0000-000000000000", "{at}");
            assert_eq!(b.resource_type, "Microsoft.ContainerRegistry/registries", "{at}");
            assert_eq!(b.resource_name, "myRegistry", "{at}");
            assert_eq!(b.location.as_deref(), Some("westus"), "{at}");
            assert_eq!(b.encryption_scope, "registry", "{at}");
            assert_eq!(
                b.key_source.as_deref(),
                Some("microsoft_managed"),
                "{at}: Standard registries use platform keys"
            );
            assert_eq!(b.key_source_raw.as_deref(), case.key_source_raw, "{at}: raw status as sent, or null");
            assert_eq!((b.key_vault_uri.as_deref(), b.key_name.as_deref()), (None, None), "{at}");
            assert_eq!((b.configured_key_version.as_deref(), b.in_use_key_version.as_deref()), (None, None), "{at}");
            assert_eq!(b.in_use_key_id, None, "{at}");
            assert_eq!(b.auto_rotation, None, "{at}: no customer-managed key, no rotation claim");
            assert_eq!(b.identity_type, None, "{at}: platform keys need no identity");
            assert_eq!(b.identity_resource_id, None, "{at}");
            assert_eq!(b.last_key_rotation_at, None, "{at}");
            assert_eq!(b.raw_response_sha256, HASH, "{at}");
            assert_eq!(b.snapshot_id, "20260115T100000Z", "{at}");

            assert_eq!(r.resource_id, b.resource_id, "{at}");
            assert_eq!(r.name, "myRegistry", "{at}");
            assert_eq!(r.resource_group.as_deref(), Some("myResourceGroup"), "{at}");
            assert_eq!(r.location.as_deref(), Some("westus"), "{at}");
            assert_eq!(r.sku_name.as_deref(), Some("Standard"), "{at}");
            assert_eq!(r.encryption_status.as_deref(), case.key_source_raw, "{at}");
            assert_eq!(r.key_identifier, None, "{at}");
            assert_eq!(r.versioned_key_identifier, None, "{at}");
            assert_eq!(r.key_identity_client_id, None, "{at}");
            assert_eq!(r.key_rotation_enabled, None, "{at}");
            assert_eq!(r.identity_type_raw, None, "{at}");
            assert_eq!(r.user_assigned_identity_ids, None, "{at}");
            assert_eq!(r.admin_user_enabled, case.admin_user_enabled, "{at}");
            assert_eq!(r.public_network_access.as_deref(), case.public_network_access, "{at}");
            assert_eq!(r.provisioning_state.as_deref(), Some("Succeeded"), "{at}");
            assert_eq!(r.raw_response_sha256, HASH, "{at}");
        }
    }

    /// Every file under `containerregistry/` is a case, so a new example cannot be forgotten.
    #[test]
    fn every_registry_example_file_is_used() {
        let found = collect_common::examples::files_under(&["containerregistry"]);
        let used: BTreeSet<String> = cases().iter().map(|c| c.file.to_string()).collect();
        assert_eq!(found, used);
    }

    const ID: &str = "/subscriptions/2222BBBB-0000-0000-0000-000000000000/resourceGroups/RG-Images/providers/Microsoft.ContainerRegistry/registries/cmkregistry";
    const UAI_A: &str = "/subscriptions/2222bbbb-0000-0000-0000-000000000000/resourceGroups/rg-id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/acr-pull";
    const UAI_B: &str = "/subscriptions/2222bbbb-0000-0000-0000-000000000000/resourceGroups/rg-id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/acr-cmk";

    /// A Premium registry encrypted with a versionless key, reached through the second of two attached
    /// user-assigned identities (named by client id, in another case than Azure lists it).
    fn premium(key_vault_properties: Value) -> Value {
        json!({
            "id": ID,
            "name": "cmkregistry",
            "type": "Microsoft.ContainerRegistry/registries",
            "location": "northeurope",
            "sku": {"name": "Premium", "tier": "Premium"},
            "identity": {
                "type": "SystemAssigned, UserAssigned",
                "principalId": "registry-system-principal",
                "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
                "userAssignedIdentities": {
                    UAI_A: {"principalId": "pull-principal", "clientId": "11111111-aaaa-0000-0000-000000000001"},
                    UAI_B: {"principalId": "cmk-principal", "clientId": "22222222-BBBB-0000-0000-000000000002"}
                }
            },
            "properties": {
                "loginServer": "cmkregistry.azurecr.io",
                "provisioningState": "Succeeded",
                "adminUserEnabled": false,
                "publicNetworkAccess": "Disabled",
                "encryption": {"status": "enabled", "keyVaultProperties": key_vault_properties}
            }
        })
    }

    fn versionless() -> Value {
        json!({
            "keyIdentifier": "https://Images-KV.vault.azure.net/keys/acr-key",
            "versionedKeyIdentifier": "https://images-kv.vault.azure.net/keys/acr-key/4d1e0c5a9b",
            "identity": "22222222-bbbb-0000-0000-000000000002",
            "lastKeyRotationTimestamp": "2025-11-02T09:30:00Z"
        })
    }

    fn convert(item: &Value) -> RegistryEvidence {
        registry(&ctx(), item, HASH).unwrap()
    }

    #[test]
    fn premium_registry_with_a_versionless_key_and_a_client_id_identity() {
        let ev = convert(&premium(versionless()));
        let expected = CmkBinding {
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".to_string(),
            snapshot_id: "20260115T100000Z".to_string(),
            subscription_id: "2222bbbb-0000-0000-0000-000000000000".to_string(),
            resource_id: ID.to_ascii_lowercase(),
            resource_id_original: ID.to_string(),
            resource_type: "Microsoft.ContainerRegistry/registries".to_string(),
            resource_name: "cmkregistry".to_string(),
            location: Some("northeurope".to_string()),
            encryption_scope: "registry".to_string(),
            key_source: Some("customer_managed".to_string()),
            key_source_raw: Some("enabled".to_string()),
            key_vault_uri: Some("https://images-kv.vault.azure.net/".to_string()),
            key_via_resource_id: None,
            key_name: Some("acr-key".to_string()),
            configured_key_version: None,
            in_use_key_version: Some("4d1e0c5a9b".to_string()),
            in_use_key_id: Some("https://images-kv.vault.azure.net/keys/acr-key/4d1e0c5a9b".to_string()),
            auto_rotation: Some(true),
            identity_type: Some("user_assigned".to_string()),
            identity_resource_id: Some(normalize_resource_id(UAI_B)),
            identity_principal_id: Some("cmk-principal".to_string()),
            identity_client_id: Some("22222222-BBBB-0000-0000-000000000002".to_string()),
            federated_client_id: None,
            last_key_rotation_at: Some(Timestamp::parse("2025-11-02T09:30:00Z").unwrap()),
            in_use_key_expires_at: None,
            rotation_error: None,
            raw_response_sha256: HASH.to_string(),
        };
        assert_eq!(ev.binding, expected);
        let r = &ev.registry;
        assert_eq!(r.sku_name.as_deref(), Some("Premium"));
        assert_eq!(r.encryption_status.as_deref(), Some("enabled"));
        assert_eq!(r.key_identifier.as_deref(), Some("https://Images-KV.vault.azure.net/keys/acr-key"), "verbatim");
        assert_eq!(r.key_identity_client_id.as_deref(), Some("22222222-bbbb-0000-0000-000000000002"));
        assert_eq!(r.key_rotation_enabled, None, "not sent, so null here; the binding derives it");
        assert_eq!(r.system_assigned_principal_id.as_deref(), Some("registry-system-principal"));
        let mut ids = vec![normalize_resource_id(UAI_A), normalize_resource_id(UAI_B)];
        ids.sort();
        assert_eq!(r.user_assigned_identity_ids, Some(ids));
        assert_eq!(r.public_network_access.as_deref(), Some("Disabled"));
        assert_eq!(r.admin_user_enabled, Some(false));
        assert_eq!(r.resource_group.as_deref(), Some("RG-Images"));
    }

    #[test]
    fn key_rotation_enabled_wins_over_the_shape_of_the_key_identifier() {
        let mut kvp = versionless();
        kvp["keyRotationEnabled"] = json!(false);
        let b = convert(&premium(kvp)).binding;
        assert_eq!(b.auto_rotation, Some(false));
        assert_eq!(b.configured_key_version, None);

        let pinned = json!({
            "keyIdentifier": "https://images-kv.vault.azure.net/keys/acr-key/0aa1",
            "versionedKeyIdentifier": "https://images-kv.vault.azure.net/keys/acr-key/0aa1",
            "identity": "11111111-aaaa-0000-0000-000000000001"
        });
        let b = convert(&premium(pinned)).binding;
        assert_eq!(b.configured_key_version.as_deref(), Some("0aa1"));
        assert_eq!(b.auto_rotation, Some(false), "a versioned key is rotated by hand");
        assert_eq!(b.identity_principal_id.as_deref(), Some("pull-principal"), "the identity the client id names");
    }

    #[test]
    fn identities_that_are_not_attached_or_are_the_system_one() {
        let mut kvp = versionless();
        kvp["identity"] = json!("99999999-0000-0000-0000-000000000009");
        let b = convert(&premium(kvp)).binding;
        assert_eq!(b.identity_type.as_deref(), Some("user_assigned"));
        assert_eq!(b.identity_resource_id, None, "not attached: resource unknown");
        assert_eq!(b.identity_client_id.as_deref(), Some("99999999-0000-0000-0000-000000000009"), "kept visible");
        assert_eq!(b.identity_principal_id, None);

        let mut kvp = versionless();
        kvp["identity"] = json!("REGISTRY-system-principal");
        let b = convert(&premium(kvp)).binding;
        assert_eq!(b.identity_type.as_deref(), Some("system_assigned"));
        assert_eq!(b.identity_principal_id.as_deref(), Some("registry-system-principal"));

        let mut item = premium(json!({"keyIdentifier": "https://images-kv.vault.azure.net/keys/acr-key"}));
        item["identity"] = json!({"type": "None"});
        let b = convert(&item).binding;
        assert_eq!(b.identity_type.as_deref(), Some("none"), "a customer-managed key nothing can reach");
        assert_eq!(b.auto_rotation, Some(true));
        assert_eq!(b.in_use_key_version, None);
    }

    #[test]
    fn premium_without_encryption_settings_says_nothing() {
        let mut item = premium(Value::Null);
        item["properties"]["encryption"] = Value::Null;
        let b = convert(&item).binding;
        assert_eq!(b.key_source, None, "a Premium registry could hold a CMK: absent is not disabled");
        assert_eq!(b.identity_type, None);
        let mut basic = item.clone();
        basic["sku"] = json!({"name": "Basic"});
        assert_eq!(convert(&basic).binding.key_source.as_deref(), Some("microsoft_managed"));
    }

    #[test]
    fn disabled_encryption_ignores_left_over_key_settings() {
        let mut item = premium(versionless());
        item["properties"]["encryption"]["status"] = json!("disabled");
        let ev = convert(&item);
        assert_eq!(ev.binding.key_source.as_deref(), Some("microsoft_managed"));
        assert_eq!((ev.binding.key_vault_uri.as_deref(), ev.binding.in_use_key_id.as_deref()), (None, None));
        assert_eq!((ev.binding.auto_rotation, ev.binding.last_key_rotation_at), (None, None));
        assert_eq!(ev.binding.identity_type, None);
        assert!(ev.registry.key_identifier.is_some(), "the registry row keeps what Azure sent");
    }

    /// `az acr show -o json` flattens `properties` into the registry.
    #[test]
    fn az_cli_output_is_understood() {
        let mut item = premium(Value::Null);
        let properties = item.as_object_mut().unwrap().remove("properties").unwrap();
        for (k, v) in properties.as_object().unwrap() {
            item[k] = v.clone();
        }
        item["encryption"]["keyVaultProperties"] = versionless();
        item["encryption"]["keyVaultProperties"]["keyRotationEnabled"] = json!("true");
        item["resourceGroup"] = json!("RG-Images");
        let ev = convert(&item);
        assert_eq!(ev.binding.key_source.as_deref(), Some("customer_managed"));
        assert_eq!(ev.binding.key_name.as_deref(), Some("acr-key"));
        assert_eq!(ev.binding.identity_resource_id, Some(normalize_resource_id(UAI_B)));
        assert_eq!(ev.registry.key_rotation_enabled, Some(true));
        assert_eq!(ev.registry.public_network_access.as_deref(), Some("Disabled"));
    }

    #[test]
    fn unknown_status_is_unrecognized_and_malformed_items_are_errors() {
        let mut item = premium(versionless());
        item["properties"]["encryption"]["status"] = json!("rotating");
        let b = convert(&item).binding;
        assert_eq!((b.key_source.as_deref(), b.key_source_raw.as_deref()), (Some("unrecognized"), Some("rotating")));
        assert_eq!(b.key_vault_uri, None);
        assert_eq!(b.identity_type.as_deref(), Some("user_assigned"));

        let mut assembler = Assembler::new(&ctx());
        assert_eq!(
            assembler.add(&json!({"name": "lost"}), HASH),
            Err(ConvertError::MissingField { resource: "named \"lost\" (no id)".to_string(), field: "id" })
        );
        let storage = json!({"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/x", "type": "Microsoft.Storage/storageAccounts"});
        assert!(matches!(assembler.add(&storage, HASH), Err(ConvertError::UnsupportedType { .. })));
        let untyped_child = json!({"id": format!("{ID}/replications/westus")});
        assert!(matches!(assembler.add(&untyped_child, HASH), Err(ConvertError::UnsupportedType { .. })));
        let mut bad = premium(versionless());
        bad["properties"]["encryption"] = json!("on");
        match assembler.add(&bad, HASH) {
            Err(ConvertError::Shape { resource, .. }) => assert_eq!(resource, ID),
            got => panic!("expected a shape error, got {got:?}"),
        }
        assert!(matches!(
            assembler.add(&json!({"id": "cmkregistry", "type": "Microsoft.ContainerRegistry/registries"}), HASH),
            Err(ConvertError::InvalidId { .. })
        ));
        let untyped = json!({"id": ID});
        assembler.add(&untyped, HASH).unwrap();
        let tables = assembler.finish();
        assert_eq!(tables.container_registries.len(), 1, "only the readable document");
        assert_eq!(tables.cmk_bindings[0].key_source, None, "no SKU, no status: nothing known");
    }

    #[test]
    fn a_registry_read_twice_gives_one_row_whatever_the_order() {
        let older = premium(versionless());
        let mut newer = older.clone();
        newer["properties"]["encryption"]["keyVaultProperties"]["versionedKeyIdentifier"] =
            json!("https://images-kv.vault.azure.net/keys/acr-key/5e2f");
        let run = |first: (&Value, &str), second: (&Value, &str)| {
            let mut a = Assembler::new(&ctx());
            a.add(first.0, first.1).unwrap();
            a.add(second.0, second.1).unwrap();
            a.finish()
        };
        let ab = run((&older, "aaa"), (&newer, "bbb"));
        let ba = run((&newer, "bbb"), (&older, "aaa"));
        assert_eq!(ab.cmk_bindings, ba.cmk_bindings);
        assert_eq!(ab.container_registries, ba.container_registries);
        assert_eq!(ab.cmk_bindings.len(), 1);
        assert_eq!(ab.cmk_bindings[0].raw_response_sha256, "aaa");
    }
}
