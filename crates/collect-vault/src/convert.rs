//! Pure conversion of vault-side responses into evidence rows: Key Vaults and their access policies, Managed
//! HSMs, key bundles and key version listings, rotation policies, and role assignments (Azure RBAC and Managed
//! HSM local RBAC). No I/O; absent JSON stays null, never false.

use base64::Engine as _;
use evidence::ids::{
    normalize_resource_id, normalize_vault_uri, resource_name_of, role_definition_guid, subscription_of,
};
use evidence::vocab::roles;
use evidence::wire::{item_label, non_empty};
use evidence::{
    KeyReference, KeyRow, KeyVaultRow, KeyVersionRow, ManagedHsmRow, RoleAssignmentRow, RotationPolicyRow,
    SnapshotContext, Timestamp, VaultAccessPolicyRow,
};
use serde::Deserialize;

use crate::ConvertError;
use crate::wire;

/// The `api-version` for ARM `Microsoft.KeyVault/vaults` and `Microsoft.KeyVault/managedHSMs`.
pub const VAULT_API_VERSION: &str = "2025-05-01";

/// The `api-version` for ARM `Microsoft.Authorization/roleAssignments`.
pub const ROLE_ASSIGNMENT_API_VERSION: &str = "2022-04-01";

/// `role_assignments.rbac_system` of an ARM role assignment.
pub const AZURE_RBAC: &str = "azure_rbac";

/// `role_assignments.rbac_system` of a Managed HSM local RBAC assignment.
pub const MANAGED_HSM_LOCAL_RBAC: &str = "managed_hsm_local_rbac";

/// Access-policy key permissions that let a principal manage keys or their lifecycle (separation of duties).
const KEY_MANAGEMENT_PERMISSIONS: [&str; 10] =
    ["create", "delete", "purge", "update", "import", "recover", "restore", "setrotationpolicy", "rotate", "all"];

/// Converts one Key Vault (a `GET` body or one item of a list) into its `key_vaults` row and one
/// `vault_access_policies` row per access policy entry.
pub fn key_vault(
    ctx: &SnapshotContext,
    item: &serde_json::Value,
    raw_sha256: &str,
) -> Result<(KeyVaultRow, Vec<VaultAccessPolicyRow>), ConvertError> {
    const WHAT: &str = "key vault";
    let label = item_label(item, "id");
    let vault: wire::Vault = read(WHAT, &label, item)?;
    let arm = ArmIdentity::of(WHAT, &label, vault.id.as_deref(), vault.name.as_deref())?;
    let props = vault.properties.unwrap_or_default();
    let vault_uri = non_empty(props.vault_uri.as_deref())
        .map(normalize_vault_uri)
        .ok_or_else(|| arm.missing(WHAT, "properties.vaultUri"))?;
    let network = props.network_acls.as_ref();

    let mut policies = Vec::new();
    for entry in props.access_policies.iter().flatten() {
        let object_id = non_empty(entry.object_id.as_deref())
            .ok_or_else(|| arm.missing(WHAT, "properties.accessPolicies[].objectId"))?;
        let key_permissions = entry.permissions.as_ref().and_then(|p| p.keys.clone());
        let perms = key_permissions.as_deref().unwrap_or_default();
        policies.push(VaultAccessPolicyRow {
            tenant_id: ctx.tenant_id.clone(),
            snapshot_id: ctx.snapshot_id(),
            vault_uri: vault_uri.clone(),
            vault_resource_id: arm.normalized.clone(),
            policy_tenant_id: non_empty(entry.tenant_id.as_deref()).map(str::to_string),
            object_id: object_id.to_string(),
            application_id: non_empty(entry.application_id.as_deref()).map(str::to_string),
            grants_key_use: grants_key_use(perms),
            manages_keys: perms.iter().any(|p| has_permission(&KEY_MANAGEMENT_PERMISSIONS, p)),
            key_permissions,
            raw_response_sha256: raw_sha256.to_string(),
        });
    }

    let row = KeyVaultRow {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        subscription_id: arm.subscription_id,
        resource_id: arm.normalized,
        resource_id_original: arm.original,
        name: arm.name,
        location: vault.location,
        vault_uri,
        sku_name: props.sku.and_then(|s| s.name),
        soft_delete_enabled: props.enable_soft_delete,
        soft_delete_retention_days: props.soft_delete_retention_in_days,
        purge_protection_enabled: props.enable_purge_protection,
        rbac_authorization_enabled: props.enable_rbac_authorization,
        public_network_access: props.public_network_access,
        network_default_action: network.and_then(|n| n.default_action.clone()),
        network_bypass: network.and_then(|n| n.bypass.clone()),
        network_ip_rule_count: network.and_then(|n| count(n.ip_rules.as_deref())),
        network_vnet_rule_count: network.and_then(|n| count(n.virtual_network_rules.as_deref())),
        access_policy_count: count(props.access_policies.as_deref()),
        private_endpoint_count: count(props.private_endpoint_connections.as_deref()),
        raw_response_sha256: raw_sha256.to_string(),
    };
    Ok((row, policies))
}

/// Converts one Managed HSM (a `GET` body or one item of a list) into its `managed_hsms` row.
pub fn managed_hsm(
    ctx: &SnapshotContext,
    item: &serde_json::Value,
    raw_sha256: &str,
) -> Result<ManagedHsmRow, ConvertError> {
    const WHAT: &str = "managed HSM";
    let label = item_label(item, "id");
    let hsm: wire::ManagedHsm = read(WHAT, &label, item)?;
    let arm = ArmIdentity::of(WHAT, &label, hsm.id.as_deref(), hsm.name.as_deref())?;
    let props = hsm.properties.unwrap_or_default();
    let hsm_uri = non_empty(props.hsm_uri.as_deref())
        .map(normalize_vault_uri)
        .ok_or_else(|| arm.missing(WHAT, "properties.hsmUri"))?;
    let network = props.network_acls.as_ref();
    Ok(ManagedHsmRow {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        subscription_id: arm.subscription_id,
        resource_id: arm.normalized,
        resource_id_original: arm.original,
        name: arm.name,
        location: hsm.location,
        hsm_uri,
        sku_name: hsm.sku.and_then(|s| s.name),
        soft_delete_enabled: props.enable_soft_delete,
        soft_delete_retention_days: props.soft_delete_retention_in_days,
        purge_protection_enabled: props.enable_purge_protection,
        public_network_access: props.public_network_access,
        network_default_action: network.and_then(|n| n.default_action.clone()),
        network_bypass: network.and_then(|n| n.bypass.clone()),
        provisioning_state: props.provisioning_state,
        raw_response_sha256: raw_sha256.to_string(),
    })
}

/// A key bundle from `GET /keys/{name}[/{version}]`. Returns the `keys` row (meaningful when this bundle is the
/// latest version: its `latest_version` is the bundle's own version) and the `key_versions` row for the
/// bundle's own version, flagged `is_latest` as the caller says.
pub fn key_bundle(
    ctx: &SnapshotContext,
    body: &serde_json::Value,
    is_latest: bool,
    raw_sha256: &str,
) -> Result<(KeyRow, KeyVersionRow), ConvertError> {
    const WHAT: &str = "key bundle";
    let label = body.pointer("/key/kid").and_then(|v| v.as_str()).unwrap_or("(no key.kid)").to_string();
    let bundle: wire::KeyBundle = read(WHAT, &label, body)?;
    let jwk = bundle.key.unwrap_or_default();
    let (key, version) = versioned_key(WHAT, &label, jwk.kid.as_deref(), "key.kid")?;
    let key_size = match jwk.n.as_deref() {
        Some(n) => Some(rsa_modulus_bits(n).map_err(|reason| ConvertError::InvalidField {
            what: WHAT,
            resource: label.clone(),
            field: "key.n",
            reason,
        })?),
        None => None,
    };
    let facts = KeyFacts { key_type: jwk.kty, key_size, curve: jwk.crv, key_ops: jwk.key_ops, managed: bundle.managed };
    let attributes = bundle.attributes.unwrap_or_default();
    Ok(key_rows(ctx, &key, &version, facts, &attributes, is_latest, raw_sha256))
}

/// One item of `GET /keys/{name}/versions` (`kid` + `attributes`). `latest_version` is the version
/// `GET /keys/{name}` returned, when known; the row is flagged `is_latest` when it matches.
pub fn key_version_item(
    ctx: &SnapshotContext,
    item: &serde_json::Value,
    latest_version: Option<&str>,
    raw_sha256: &str,
) -> Result<KeyVersionRow, ConvertError> {
    const WHAT: &str = "key version";
    let label = item_label(item, "kid");
    let listed: wire::KeyItem = read(WHAT, &label, item)?;
    let (key, version) = versioned_key(WHAT, &label, listed.kid.as_deref(), "kid")?;
    let is_latest = latest_version.is_some_and(|latest| latest.trim().eq_ignore_ascii_case(&version));
    let attributes = listed.attributes.unwrap_or_default();
    Ok(version_row(ctx, &key, &version, &attributes, is_latest, raw_sha256))
}

/// The rotation policy of `key` (`GET /keys/{name}/rotationpolicy`). A policy without lifetime actions (or
/// with an empty list) does not rotate: `rotates_automatically` false, count 0.
pub fn rotation_policy(
    ctx: &SnapshotContext,
    key: &KeyReference,
    body: &serde_json::Value,
    raw_sha256: &str,
) -> Result<RotationPolicyRow, ConvertError> {
    const WHAT: &str = "rotation policy";
    let key = key.unversioned();
    let label = match body.get("id").and_then(|v| v.as_str()) {
        Some(id) if !id.trim().is_empty() => id.to_string(),
        _ => key.key_id(),
    };
    let policy: wire::RotationPolicy = read(WHAT, &label, body)?;
    let actions = policy.lifetime_actions.unwrap_or_default();
    let find = |kind: &str| {
        actions.iter().find(|a| {
            a.action
                .as_ref()
                .and_then(|t| t.action_type.as_deref())
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(kind))
        })
    };
    let rotate = find("Rotate");
    let notify = find("Notify");
    let trigger = |a: Option<&wire::LifetimeAction>| a.and_then(|a| a.trigger.clone()).unwrap_or_default();
    let attributes = policy.attributes.unwrap_or_default();
    Ok(RotationPolicyRow {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        key_vault_uri: key.vault_uri.clone(),
        key_name: key.key_name.clone(),
        key_id: key.key_id(),
        rotates_automatically: rotate.is_some(),
        rotate_after_create: trigger(rotate).time_after_create,
        rotate_before_expiry: trigger(rotate).time_before_expiry,
        notify_before_expiry: trigger(notify).time_before_expiry,
        expiry_time: attributes.expiry_time,
        lifetime_action_count: i64::try_from(actions.len()).unwrap_or(i64::MAX),
        created_at: epoch(attributes.created),
        updated_at: epoch(attributes.updated),
        raw_response_sha256: raw_sha256.to_string(),
    })
}

/// ARM role assignment (api 2022-04-01 or 2015-07-01 shape); `queried_scope` = the normalised vault resource id
/// it was listed for.
pub fn role_assignment(
    ctx: &SnapshotContext,
    queried_scope: &str,
    item: &serde_json::Value,
    raw_sha256: &str,
) -> Result<RoleAssignmentRow, ConvertError> {
    assignment_row(ctx, "role assignment", AZURE_RBAC, normalize_resource_id(queried_scope), item, raw_sha256)
}

/// Managed HSM local RBAC assignment (data plane: `properties.scope` like `/`, `/keys` or `/keys/{name}`,
/// `roleDefinitionId` `Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{guid}`);
/// `queried_scope` = the HSM base URI `https://{host}/`.
pub fn hsm_role_assignment(
    ctx: &SnapshotContext,
    queried_scope: &str,
    item: &serde_json::Value,
    raw_sha256: &str,
) -> Result<RoleAssignmentRow, ConvertError> {
    assignment_row(
        ctx,
        "managed HSM role assignment",
        MANAGED_HSM_LOCAL_RBAC,
        normalize_vault_uri(queried_scope),
        item,
        raw_sha256,
    )
}

/// A key as ARM shows it (`GET .../vaults/{vault}/keys/{name}`, `Microsoft.KeyVault/vaults/keys`): the same
/// `keys` row and latest `key_versions` row as [`key_bundle`] would give, without the data plane. ARM states
/// the key size itself (`keySize`) instead of the modulus. For vaults whose firewall keeps the collector out
/// of the data plane.
pub fn arm_key(
    ctx: &SnapshotContext,
    item: &serde_json::Value,
    raw_sha256: &str,
) -> Result<(KeyRow, KeyVersionRow), ConvertError> {
    const WHAT: &str = "ARM key";
    let label = item_label(item, "id");
    let arm_key: wire::ArmKey = read(WHAT, &label, item)?;
    let props = arm_key.properties.unwrap_or_default();
    let (key, version) =
        versioned_key(WHAT, &label, props.key_uri_with_version.as_deref(), "properties.keyUriWithVersion")?;
    let facts = KeyFacts {
        key_type: props.kty,
        key_size: props.key_size,
        curve: props.curve_name,
        key_ops: props.key_ops,
        managed: None,
    };
    let attributes = props.attributes.unwrap_or_default();
    Ok(key_rows(ctx, &key, &version, facts, &attributes, true, raw_sha256))
}

/// Type facts of a key that the `keys` row records beside the attributes.
struct KeyFacts {
    key_type: Option<String>,
    key_size: Option<i64>,
    curve: Option<String>,
    key_ops: Option<Vec<String>>,
    managed: Option<bool>,
}

fn key_rows(
    ctx: &SnapshotContext,
    key: &KeyReference,
    version: &str,
    facts: KeyFacts,
    attributes: &wire::KeyAttributes,
    is_latest: bool,
    raw_sha256: &str,
) -> (KeyRow, KeyVersionRow) {
    let key_row = KeyRow {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        key_vault_uri: key.vault_uri.clone(),
        vault_kind: key.vault_kind.as_str().to_string(),
        key_name: key.key_name.clone(),
        key_id: key.key_id(),
        latest_version: version.to_string(),
        key_type: facts.key_type,
        key_size: facts.key_size,
        curve: facts.curve,
        key_ops: facts.key_ops,
        enabled: attributes.enabled,
        created_at: epoch(attributes.created),
        updated_at: epoch(attributes.updated),
        not_before: epoch(attributes.nbf),
        expires_at: epoch(attributes.exp),
        recovery_level: attributes.recovery_level.clone(),
        recoverable_days: attributes.recoverable_days,
        managed: facts.managed,
        raw_response_sha256: raw_sha256.to_string(),
    };
    let version_row = version_row(ctx, key, version, attributes, is_latest, raw_sha256);
    (key_row, version_row)
}

fn version_row(
    ctx: &SnapshotContext,
    key: &KeyReference,
    version: &str,
    attributes: &wire::KeyAttributes,
    is_latest: bool,
    raw_sha256: &str,
) -> KeyVersionRow {
    KeyVersionRow {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        key_vault_uri: key.vault_uri.clone(),
        key_name: key.key_name.clone(),
        key_id: key.key_id(),
        version: version.to_string(),
        enabled: attributes.enabled,
        created_at: epoch(attributes.created),
        updated_at: epoch(attributes.updated),
        not_before: epoch(attributes.nbf),
        expires_at: epoch(attributes.exp),
        recovery_level: attributes.recovery_level.clone(),
        is_latest,
        raw_response_sha256: raw_sha256.to_string(),
    }
}

fn assignment_row(
    ctx: &SnapshotContext,
    what: &'static str,
    rbac_system: &str,
    queried_scope: String,
    item: &serde_json::Value,
    raw_sha256: &str,
) -> Result<RoleAssignmentRow, ConvertError> {
    let label = item_label(item, "id");
    let assignment: wire::RoleAssignment = read(what, &label, item)?;
    let missing = |field| ConvertError::MissingField { what, resource: label.clone(), field };
    let id = non_empty(assignment.id.as_deref()).ok_or_else(|| missing("id"))?;
    let props = assignment.properties.unwrap_or_default();
    let principal_id = non_empty(props.principal_id.as_deref()).ok_or_else(|| missing("properties.principalId"))?;
    let role_definition_id =
        non_empty(props.role_definition_id.as_deref()).ok_or_else(|| missing("properties.roleDefinitionId"))?;
    // The assignment id is `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}` by construction,
    // so a missing `properties.scope` can be read from it without guessing.
    let scope = non_empty(props.scope.as_deref())
        .map(str::to_string)
        .or_else(|| scope_of_assignment_id(id))
        .ok_or_else(|| missing("properties.scope"))?;
    let guid = role_definition_guid(role_definition_id);
    if guid.is_empty() {
        return Err(ConvertError::InvalidField {
            what,
            resource: label,
            field: "properties.roleDefinitionId",
            reason: format!("{role_definition_id:?} has no trailing role definition GUID"),
        });
    }
    let known = roles::by_guid(&guid);
    Ok(RoleAssignmentRow {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        rbac_system: rbac_system.to_string(),
        assignment_id: normalize_resource_id(id),
        queried_scope,
        scope: normalize_scope(&scope),
        principal_id: principal_id.trim().to_string(),
        principal_type: non_empty(props.principal_type.as_deref()).map(str::to_string),
        role_definition_id: role_definition_id.to_string(),
        role_definition_guid: guid,
        role_name: known.map(|r| r.name.to_string()),
        grants_key_use: known.is_some_and(|r| r.grants_key_use),
        manages_keys: known.is_some_and(|r| r.manages_keys),
        condition: non_empty(props.condition.as_deref()).map(str::to_string),
        raw_response_sha256: raw_sha256.to_string(),
    })
}

/// Normalised scope; the root scope `/` stays `/` rather than becoming empty.
fn normalize_scope(scope: &str) -> String {
    let normalized = normalize_resource_id(scope);
    if normalized.is_empty() { "/".to_string() } else { normalized }
}

/// `{scope}` of `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
fn scope_of_assignment_id(id: &str) -> Option<String> {
    const MARKER: &str = "/providers/microsoft.authorization/roleassignments/";
    let at = id.to_ascii_lowercase().rfind(MARKER)?;
    // Lower-casing ASCII keeps byte offsets, so `at` indexes the original too.
    let scope = id.get(..at)?;
    Some(if scope.is_empty() { "/".to_string() } else { scope.to_string() })
}

/// Parses a versioned key identifier; a missing, malformed or unversioned identifier is an error.
fn versioned_key(
    what: &'static str,
    label: &str,
    kid: Option<&str>,
    field: &'static str,
) -> Result<(KeyReference, String), ConvertError> {
    let kid = non_empty(kid).ok_or_else(|| ConvertError::MissingField { what, resource: label.to_string(), field })?;
    let invalid = |reason: String| ConvertError::InvalidField { what, resource: kid.to_string(), field, reason };
    let key = KeyReference::parse_key_id(kid).map_err(|e| invalid(e.to_string()))?;
    let version = key.version.clone().ok_or_else(|| invalid("the identifier names no version".to_string()))?;
    Ok((key.unversioned(), version))
}

/// Exact bit length of an RSA modulus given as base64url (RFC 7518 §6.3.1.1): leading zero bytes do not count.
/// Standard base64 and padding are accepted too, as some tools re-encode keys that way.
fn rsa_modulus_bits(n: &str) -> Result<i64, String> {
    let text: String = n
        .trim()
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            other => other,
        })
        .collect();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.as_bytes())
        .map_err(|e| format!("the RSA modulus is not base64url: {e}"))?;
    let Some(first) = bytes.iter().position(|b| *b != 0) else {
        return Err("the RSA modulus is zero".to_string());
    };
    let significant = &bytes[first..];
    let top_bits = 8 - significant[0].leading_zeros() as usize;
    i64::try_from((significant.len() - 1) * 8 + top_bits).map_err(|e| e.to_string())
}

/// True when the permissions include get, wrapKey and unwrapKey, or `all` (case-insensitive).
fn grants_key_use(permissions: &[String]) -> bool {
    permissions.iter().any(|p| p.trim().eq_ignore_ascii_case("all"))
        || roles::REQUIRED_KEY_PERMISSIONS
            .iter()
            .all(|needed| permissions.iter().any(|p| p.trim().eq_ignore_ascii_case(needed)))
}

fn has_permission(set: &[&str], permission: &str) -> bool {
    set.iter().any(|s| permission.trim().eq_ignore_ascii_case(s))
}

/// The parts of an ARM id every vault-side ARM row carries.
struct ArmIdentity {
    original: String,
    normalized: String,
    subscription_id: String,
    name: String,
}

impl ArmIdentity {
    fn of(what: &'static str, label: &str, id: Option<&str>, name: Option<&str>) -> Result<Self, ConvertError> {
        let original = non_empty(id)
            .ok_or_else(|| ConvertError::MissingField { what, resource: label.to_string(), field: "id" })?
            .to_string();
        let subscription_id = subscription_of(&original).ok_or_else(|| ConvertError::InvalidField {
            what,
            resource: original.clone(),
            field: "id",
            reason: "not an ARM resource id: no /subscriptions/{id} segment".to_string(),
        })?;
        let name = non_empty(name)
            .map(str::to_string)
            .or_else(|| resource_name_of(&original))
            .ok_or_else(|| ConvertError::MissingField { what, resource: original.clone(), field: "name" })?;
        Ok(Self { normalized: normalize_resource_id(&original), original, subscription_id, name })
    }

    fn missing(&self, what: &'static str, field: &'static str) -> ConvertError {
        ConvertError::MissingField { what, resource: self.original.clone(), field }
    }
}

/// Deserializes the wire struct, naming the item in the error.
fn read<'a, T: Deserialize<'a>>(
    what: &'static str,
    label: &str,
    item: &'a serde_json::Value,
) -> Result<T, ConvertError> {
    T::deserialize(item).map_err(|e| ConvertError::Shape { what, resource: label.to_string(), reason: e.to_string() })
}

/// Length of an array Azure sent; `None` when it sent none.
fn count<T>(items: Option<&[T]>) -> Option<i64> {
    items.map(|i| i64::try_from(i.len()).unwrap_or(i64::MAX))
}

fn epoch(seconds: Option<f64>) -> Option<Timestamp> {
    seconds.and_then(Timestamp::from_epoch_seconds)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on bad data: that is the failure.
mod tests {
    use std::collections::BTreeSet;

    use evidence::VaultKind;
    use serde_json::{Value, json};

    use super::*;
    use collect_common::examples::body;

    const HASH: &str = "5e1ec7ed00000000000000000000000000000000000000000000000000000001";
    const ZERO: &str = "00000000-0000-0000-0000-000000000000";
    const VAULT_ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/sample-resource-group/providers/microsoft.keyvault/vaults/sample-vault";

    fn ctx() -> SnapshotContext {
        SnapshotContext {
            tenant_id: "tenant-a".to_string(),
            taken_at: Timestamp::parse("2026-01-15T10:00:00Z").unwrap(),
        }
    }

    /// The items of a list example, checked against the expected count and next link.
    fn items(rel: &str, expected: usize, next_link: bool) -> Vec<Value> {
        let page: wire::Page = serde_json::from_value(body(rel, "200")).unwrap();
        assert_eq!(page.next_link.is_some(), next_link, "{rel}: nextLink");
        let items = page.value.unwrap();
        assert_eq!(items.len(), expected, "{rel}: item count");
        items
    }

    fn secs(s: f64) -> Option<Timestamp> {
        Timestamp::from_epoch_seconds(s)
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    const FULL_KEY_PERMISSIONS: [&str; 16] = [
        "encrypt",
        "decrypt",
        "wrapKey",
        "unwrapKey",
        "sign",
        "verify",
        "get",
        "list",
        "create",
        "update",
        "import",
        "delete",
        "backup",
        "restore",
        "recover",
        "purge",
    ];

    /// What one vault example must convert to.
    struct VaultCase {
        file: &'static str,
        item: Option<(usize, usize)>,
        resource_group: &'static str,
        sku: &'static str,
        soft_delete: Option<bool>,
        public_network_access: Option<&'static str>,
        network: Option<(&'static str, &'static str, i64, i64)>,
        access_policies: Option<i64>,
    }

    #[test]
    fn every_vault_example_converts_with_absent_flags_left_null() {
        let cases = [
            VaultCase {
                file: "keyvault-mgmt/2019-09-01/getVault.json",
                item: None,
                resource_group: "sample-resource-group",
                sku: "standard",
                soft_delete: None,
                public_network_access: None,
                network: None,
                access_policies: Some(1),
            },
            VaultCase {
                file: "keyvault-mgmt/2025-05-01/getVault.json",
                item: None,
                resource_group: "sample-resource-group",
                sku: "standard",
                soft_delete: None,
                public_network_access: Some("Enabled"),
                network: None,
                access_policies: Some(1),
            },
            VaultCase {
                file: "keyvault-mgmt/2025-05-01/createVaultWithNetworkAcls.json",
                item: None,
                resource_group: "sample-resource-group",
                sku: "standard",
                soft_delete: None,
                public_network_access: None,
                network: Some(("Deny", "AzureServices", 2, 1)),
                access_policies: None,
            },
            VaultCase {
                file: "keyvault-mgmt/2025-05-01/listVaultBySubscription.json",
                item: Some((0, 1)),
                resource_group: "sample-group",
                sku: "premium",
                soft_delete: Some(true),
                public_network_access: None,
                network: None,
                access_policies: Some(1),
            },
        ];
        for case in cases {
            let at = case.file;
            let item = match case.item {
                None => body(case.file, "200"),
                // The example's nextLink carries the malformed `api-version=22025-05-01`.
                Some((i, n)) => items(case.file, n, true)[i].clone(),
            };
            let (v, policies) = key_vault(&ctx(), &item, HASH).unwrap_or_else(|e| panic!("{at}: {e}"));
            let id = item["id"].as_str().unwrap();
            assert_eq!(v.resource_id_original, id, "{at}");
            assert_eq!(v.resource_id, id.to_ascii_lowercase(), "{at}");
            assert!(v.resource_id.contains(&format!("/resourcegroups/{}/", case.resource_group)), "{at}");
            assert_eq!(v.subscription_id, ZERO, "{at}");
            assert_eq!(v.name, "sample-vault", "{at}");
            assert_eq!(v.location.as_deref(), Some("westus"), "{at}");
            assert_eq!(v.vault_uri, "https://sample-vault.vault.azure.net/", "{at}: normalised URI");
            assert_eq!(v.sku_name.as_deref(), Some(case.sku), "{at}");
            // Absent is not false: none of these examples says purge protection, RBAC or retention.
            assert_eq!(v.soft_delete_enabled, case.soft_delete, "{at}: soft delete");
            assert_eq!(v.purge_protection_enabled, None, "{at}: purge protection absent");
            assert_eq!(v.rbac_authorization_enabled, None, "{at}: RBAC absent");
            assert_eq!(v.soft_delete_retention_days, None, "{at}: retention absent");
            assert_eq!(v.public_network_access.as_deref(), case.public_network_access, "{at}");
            assert_eq!(v.network_default_action.as_deref(), case.network.map(|n| n.0), "{at}");
            assert_eq!(v.network_bypass.as_deref(), case.network.map(|n| n.1), "{at}");
            assert_eq!(v.network_ip_rule_count, case.network.map(|n| n.2), "{at}: ip rules");
            assert_eq!(v.network_vnet_rule_count, case.network.map(|n| n.3), "{at}: vnet rules");
            assert_eq!(v.access_policy_count, case.access_policies, "{at}: access policies");
            assert_eq!(v.private_endpoint_count, None, "{at}: no privateEndpointConnections array");
            assert_eq!(v.raw_response_sha256, HASH, "{at}");
            assert_eq!(policies.len() as i64, case.access_policies.unwrap_or(0), "{at}");
            for p in &policies {
                assert_eq!(p.vault_uri, v.vault_uri, "{at}");
                assert_eq!(p.vault_resource_id, v.resource_id, "{at}");
                assert_eq!(p.object_id, ZERO, "{at}");
                assert_eq!(p.policy_tenant_id.as_deref(), Some(ZERO), "{at}");
                assert_eq!(p.application_id, None, "{at}");
                assert_eq!(p.key_permissions, Some(strings(&FULL_KEY_PERMISSIONS)), "{at}: verbatim");
                assert!(p.grants_key_use, "{at}: get + wrapKey + unwrapKey");
                assert!(p.manages_keys, "{at}: create/delete/purge/...");
            }
        }
    }

    #[test]
    fn get_vault_2025_pins_every_vault_column() {
        let (v, _) = key_vault(&ctx(), &body("keyvault-mgmt/2025-05-01/getVault.json", "200"), HASH).unwrap();
        let expected = KeyVaultRow {
            tenant_id: "tenant-a".to_string(),
            snapshot_id: "20260115T100000Z".to_string(),
            subscription_id: ZERO.to_string(),
            resource_id: VAULT_ID.to_string(),
            resource_id_original: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sample-resource-group/providers/Microsoft.KeyVault/vaults/sample-vault".to_string(),
            name: "sample-vault".to_string(),
            location: Some("westus".to_string()),
            vault_uri: "https://sample-vault.vault.azure.net/".to_string(),
            sku_name: Some("standard".to_string()),
            soft_delete_enabled: None,
            soft_delete_retention_days: None,
            purge_protection_enabled: None,
            rbac_authorization_enabled: None,
            public_network_access: Some("Enabled".to_string()),
            network_default_action: None,
            network_bypass: None,
            network_ip_rule_count: None,
            network_vnet_rule_count: None,
            access_policy_count: Some(1),
            private_endpoint_count: None,
            raw_response_sha256: HASH.to_string(),
        };
        assert_eq!(v, expected);
    }

    #[test]
    fn every_managed_hsm_example_converts() {
        let mut hsms = vec![(body("keyvault-mgmt/2025-05-01/ManagedHsm_Get.json", "200"), "hsm1")];
        let listed = items("keyvault-mgmt/2025-05-01/ManagedHsm_ListBySubscription.json", 2, true);
        hsms.push((listed[0].clone(), "hsm1"));
        hsms.push((listed[1].clone(), "hsm2"));
        for (item, name) in hsms {
            let h = managed_hsm(&ctx(), &item, HASH).unwrap();
            assert_eq!(h.name, name);
            assert_eq!(
                h.resource_id,
                format!(
                    "/subscriptions/{ZERO}/resourcegroups/hsm-group/providers/microsoft.keyvault/managedhsms/{name}"
                )
            );
            assert_eq!(h.subscription_id, ZERO);
            assert_eq!(h.hsm_uri, format!("https://westus.{name}.managedhsm.azure.net/"));
            assert_eq!(h.sku_name.as_deref(), Some("Standard_B1"));
            assert_eq!(h.location.as_deref(), Some("westus"));
            assert_eq!(h.soft_delete_enabled, Some(true));
            assert_eq!(h.soft_delete_retention_days, Some(90));
            assert_eq!(h.purge_protection_enabled, Some(false), "explicit false is kept as false");
            assert_eq!(h.public_network_access, None);
            assert_eq!(h.network_default_action, None);
            assert_eq!(h.network_bypass, None);
            assert_eq!(h.provisioning_state.as_deref(), Some("Succeeded"));
            assert_eq!(h.raw_response_sha256, HASH);
        }
    }

    #[test]
    fn get_key_bundle_gives_an_rsa_2048_key() {
        let body = body("keyvault-dataplane/7.5/GetKey-example.json", "200");
        let (k, v) = key_bundle(&ctx(), &body, true, HASH).unwrap();
        let version = "78deebed173b48e48f55abf87ed4cf71";
        let expected = KeyRow {
            tenant_id: "tenant-a".to_string(),
            snapshot_id: "20260115T100000Z".to_string(),
            key_vault_uri: "https://myvault.vault.azure.net/".to_string(),
            vault_kind: "key_vault".to_string(),
            key_name: "CreateSoftKeyTest".to_string(),
            key_id: "https://myvault.vault.azure.net/keys/CreateSoftKeyTest".to_string(),
            latest_version: version.to_string(),
            key_type: Some("RSA".to_string()),
            key_size: Some(2048),
            curve: None,
            key_ops: Some(strings(&["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"])),
            enabled: Some(true),
            created_at: secs(1_493_942_451.0),
            updated_at: secs(1_493_942_451.0),
            not_before: None,
            expires_at: None,
            recovery_level: Some("Recoverable+Purgeable".to_string()),
            recoverable_days: None,
            managed: None,
            raw_response_sha256: HASH.to_string(),
        };
        assert_eq!(k, expected);
        assert_eq!(v.key_id, k.key_id);
        assert_eq!(v.version, version);
        assert!(v.is_latest);
        assert_eq!(v.enabled, Some(true));
        assert_eq!(v.created_at, secs(1_493_942_451.0));
        assert_eq!(v.expires_at, None);
        assert_eq!(v.recovery_level.as_deref(), Some("Recoverable+Purgeable"));
        // The same bundle read as an older version: the version row says so.
        let (_, older) = key_bundle(&ctx(), &body, false, HASH).unwrap();
        assert!(!older.is_latest);
    }

    #[test]
    fn key_versions_listing_keeps_fractional_epochs() {
        let listed = items("keyvault-dataplane/7.6/GetKeyVersions-example.json", 1, true);
        // The example's version contains a dot (`7c9dc67.6d0e...`): kept verbatim, not rejected.
        let version = "7c9dc67.6d0e4177827c4f98f482fc12";
        for latest in [Some(version), Some("7C9DC67.6D0E4177827C4F98F482FC12"), Some("other"), None] {
            let v = key_version_item(&ctx(), &listed[0], latest, HASH).unwrap();
            assert_eq!(v.key_vault_uri, "https://myvault.vault.azure.net/");
            assert_eq!(v.key_name, "listkeyversionstest");
            assert_eq!(v.key_id, "https://myvault.vault.azure.net/keys/listkeyversionstest");
            assert_eq!(v.version, version);
            assert_eq!(v.enabled, Some(true));
            assert_eq!(v.created_at.map(Timestamp::micros), Some(1_493_937_610_000));
            assert_eq!(v.updated_at.map(Timestamp::micros), Some(1_493_937_610_000));
            assert_eq!(v.not_before, None);
            assert_eq!(v.expires_at, None);
            assert_eq!(v.recovery_level.as_deref(), Some("Recoverable+Purgeable"));
            assert_eq!(v.is_latest, latest.is_some_and(|l| l != "other"), "latest = {latest:?}");
        }
    }

    #[test]
    fn rotation_policy_examples_rotate_every_90_days() {
        let key = KeyReference::parse_key_id("https://myvault.vault.azure.net/keys/key01/somever").unwrap();
        for file in [
            "keyvault-dataplane/7.5/GetKeyRotationPolicy-example.json",
            "keyvault-dataplane/7.6/GetKeyRotationPolicy-example.json",
        ] {
            let p = rotation_policy(&ctx(), &key, &body(file, "200"), HASH).unwrap();
            let expected = RotationPolicyRow {
                tenant_id: "tenant-a".to_string(),
                snapshot_id: "20260115T100000Z".to_string(),
                key_vault_uri: "https://myvault.vault.azure.net/".to_string(),
                key_name: "key01".to_string(),
                key_id: "https://myvault.vault.azure.net/keys/key01".to_string(),
                rotates_automatically: true,
                rotate_after_create: Some("P90D".to_string()),
                rotate_before_expiry: None,
                notify_before_expiry: Some("P30D".to_string()),
                expiry_time: Some("P2Y".to_string()),
                lifetime_action_count: 2,
                created_at: secs(1_482_188_947.0),
                updated_at: secs(1_482_188_948.0),
                raw_response_sha256: HASH.to_string(),
            };
            assert_eq!(p, expected, "{file}");
        }
    }

    /// `getKey.json` is the ARM view of a key (`Microsoft.KeyVault/vaults/keys`): it applies through
    /// [`arm_key`], the route around a vault firewall that closes the data plane.
    #[test]
    fn arm_key_example_gives_the_same_rows_as_the_data_plane() {
        let (k, v) = arm_key(&ctx(), &body("keyvault-mgmt/2025-05-01/getKey.json", "200"), HASH).unwrap();
        assert_eq!(k.key_vault_uri, "https://sample-vault-name.vault.azure.net/", ":443 dropped");
        assert_eq!(k.vault_kind, "key_vault");
        assert_eq!(k.key_name, "sample-key-name");
        assert_eq!(k.key_id, "https://sample-vault-name.vault.azure.net/keys/sample-key-name");
        assert_eq!(k.latest_version, "fd618d9519b74f9aae94ade66b876acc");
        assert_eq!(k.key_type.as_deref(), Some("RSA"));
        assert_eq!(k.key_size, Some(2048));
        assert_eq!(k.curve, None);
        assert_eq!(k.key_ops, Some(strings(&["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"])));
        assert_eq!(k.enabled, Some(true));
        assert_eq!(k.created_at, secs(1_598_533_051.0));
        assert_eq!(k.updated_at, secs(1_598_533_051.0));
        assert_eq!(k.expires_at, None);
        assert_eq!(k.recovery_level.as_deref(), Some("Purgeable"));
        assert_eq!(k.recoverable_days, None);
        assert_eq!(k.managed, None);
        assert_eq!(v.version, k.latest_version);
        assert!(v.is_latest);
        assert_eq!(v.key_id, k.key_id);
    }

    /// What one role assignment example must convert to.
    struct AssignmentCase {
        file: &'static str,
        list: bool,
        assignment_id: &'static str,
        scope: &'static str,
        principal_id: &'static str,
        principal_type: Option<&'static str>,
        guid: &'static str,
    }

    #[test]
    fn every_role_assignment_example_converts() {
        let sub_assignment = AssignmentCase {
            file: "authorization/2022-04-01/RoleAssignments_Get.json",
            list: false,
            assignment_id: "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/providers/microsoft.authorization/roleassignments/b0f43c54-e787-4862-89b1-a653fa9cf747",
            scope: "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2",
            principal_id: "ce2ce14e-85d7-4629-bdbc-454d0519d987",
            principal_type: Some("User"),
            guid: "0b5fe924-9a61-425c-96af-cfe6e287ca2d",
        };
        let cases = [
            AssignmentCase {
                file: "authorization/2022-04-01/RoleAssignments_ListForScope.json",
                list: true,
                ..sub_assignment
            },
            AssignmentCase {
                file: "authorization/2015-07-01/GetRoleAssignmentByScope.json",
                list: true,
                assignment_id: "/subscriptions/subid/resourcegroups/rgname/providers/microsoft.authorization/roleassignments/roleassignmentid",
                scope: "/subscriptions/subid/resourcegroups/rgname",
                principal_id: "Pid",
                principal_type: None,
                guid: "roledefinitionid",
            },
            AssignmentCase { ..sub_assignment },
        ];
        // Listed for a vault id spelt in mixed case: the queried scope is normalised for the chain's join.
        let queried = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sample-resource-group/providers/Microsoft.KeyVault/vaults/sample-vault/";
        for case in cases {
            let at = case.file;
            let item = if case.list { items(case.file, 1, false)[0].clone() } else { body(case.file, "200") };
            let a = role_assignment(&ctx(), queried, &item, HASH).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(a.rbac_system, "azure_rbac", "{at}");
            assert_eq!(a.queried_scope, VAULT_ID, "{at}");
            assert_eq!(a.assignment_id, case.assignment_id, "{at}");
            assert_eq!(a.scope, case.scope, "{at}");
            assert_eq!(a.principal_id, case.principal_id, "{at}");
            assert_eq!(a.principal_type.as_deref(), case.principal_type, "{at}");
            assert_eq!(a.role_definition_id, item["properties"]["roleDefinitionId"].as_str().unwrap(), "{at}");
            assert_eq!(a.role_definition_guid, case.guid, "{at}");
            // Neither example role is a Key Vault crypto role.
            assert_eq!(a.role_name, None, "{at}");
            assert!(!a.grants_key_use && !a.manages_keys, "{at}");
            assert_eq!(a.condition, None, "{at}");
            assert_eq!(a.raw_response_sha256, HASH, "{at}");
        }
    }

    /// Role definitions are not assignments: the table keys roles by GUID through `evidence::vocab::roles`,
    /// so these files feed no converter. Handing one to `role_assignment` by mistake is an error, not a row.
    #[test]
    fn role_definition_examples_are_not_assignments() {
        for file in [
            "authorization/2015-07-01/GetRoleDefinitionById.json",
            "authorization/2022-04-01/GetRoleDefinitionById.json",
        ] {
            let err = role_assignment(&ctx(), VAULT_ID, &body(file, "200"), HASH).unwrap_err();
            assert!(matches!(err, ConvertError::MissingField { field: "properties.principalId", .. }), "{file}: {err}");
        }
    }

    /// Every file under the vault-side example folders is used by a test above or set aside here with a reason.
    #[test]
    fn every_vault_side_example_file_is_used() {
        let found = collect_common::examples::files_under(&["keyvault-mgmt", "keyvault-dataplane", "authorization"]);
        let used: BTreeSet<String> = [
            "authorization/2015-07-01/GetRoleAssignmentByScope.json",
            "authorization/2015-07-01/GetRoleDefinitionById.json",
            "authorization/2022-04-01/GetRoleDefinitionById.json",
            "authorization/2022-04-01/RoleAssignments_Get.json",
            "authorization/2022-04-01/RoleAssignments_ListForScope.json",
            "keyvault-dataplane/7.5/GetKey-example.json",
            "keyvault-dataplane/7.5/GetKeyRotationPolicy-example.json",
            "keyvault-dataplane/7.6/GetKeyRotationPolicy-example.json",
            "keyvault-dataplane/7.6/GetKeyVersions-example.json",
            "keyvault-mgmt/2019-09-01/getVault.json",
            "keyvault-mgmt/2025-05-01/ManagedHsm_Get.json",
            "keyvault-mgmt/2025-05-01/ManagedHsm_ListBySubscription.json",
            "keyvault-mgmt/2025-05-01/createVaultWithNetworkAcls.json",
            "keyvault-mgmt/2025-05-01/getKey.json",
            "keyvault-mgmt/2025-05-01/getVault.json",
            "keyvault-mgmt/2025-05-01/listVaultBySubscription.json",
        ]
        .into_iter()
        .map(str::to_string)
        .collect();
        assert_eq!(found, used);
    }

    const HSM_CRYPTO_SERVICE_ENCRYPTION_USER: &str = "33413926-3206-4cdd-b39a-83574fe37a17";

    #[test]
    fn hsm_local_rbac_assignments() {
        let item = json!({
            "id": "/providers/Microsoft.Authorization/roleAssignments/9C5A2F1E-0000-4000-8000-000000000001",
            "name": "9C5A2F1E-0000-4000-8000-000000000001",
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "scope": "/keys/StorageKey",
                "roleDefinitionId": format!("Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{HSM_CRYPTO_SERVICE_ENCRYPTION_USER}"),
                "principalId": "5d1a2b3c-0000-4000-8000-00000000beef"
            }
        });
        let a = hsm_role_assignment(&ctx(), "https://HSM1.managedhsm.azure.net", &item, HASH).unwrap();
        assert_eq!(a.rbac_system, "managed_hsm_local_rbac");
        assert_eq!(
            a.queried_scope, "https://hsm1.managedhsm.azure.net/",
            "the HSM base URI, as KeyReference writes it"
        );
        assert_eq!(
            a.assignment_id,
            "/providers/microsoft.authorization/roleassignments/9c5a2f1e-0000-4000-8000-000000000001"
        );
        assert_eq!(a.scope, "/keys/storagekey");
        assert_eq!(a.principal_id, "5d1a2b3c-0000-4000-8000-00000000beef");
        assert_eq!(a.principal_type, None, "the HSM data plane does not say");
        assert_eq!(a.role_definition_guid, HSM_CRYPTO_SERVICE_ENCRYPTION_USER);
        assert_eq!(a.role_name.as_deref(), Some("Managed HSM Crypto Service Encryption User"));
        assert!(a.grants_key_use);
        assert!(!a.manages_keys);
        // The whole HSM: scope `/` stays `/`, and covers every key.
        let mut root = item.clone();
        root["properties"]["scope"] = json!("/");
        let a = hsm_role_assignment(&ctx(), "https://hsm1.managedhsm.azure.net/", &root, HASH).unwrap();
        assert_eq!(a.scope, "/");
        assert!(evidence::ids::scope_covers(&a.scope, "/keys/storagekey"));
    }

    #[test]
    fn known_and_unknown_role_guids() {
        let assignment = |guid: &str| {
            json!({
                "id": format!("{VAULT_ID}/providers/Microsoft.Authorization/roleAssignments/a1"),
                "properties": {
                    "roleDefinitionId": format!("/subscriptions/{ZERO}/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
                    "principalId": "p1",
                    "principalType": "ServicePrincipal",
                    "condition": "@Resource[Microsoft.KeyVault/vaults/keys:name] StringEquals 'k1'"
                }
            })
        };
        let table = [
            ("E147488A-F6F5-4113-8E2D-B22465E65BF6", Some("Key Vault Crypto Service Encryption User"), true, false),
            ("00482a5a-887f-4fb3-b363-3b7fe8e74483", Some("Key Vault Administrator"), true, true),
            ("acdd72a7-3385-48ef-bd42-f606fba81ae7", None, false, false), // Reader: unknown here
        ];
        for (guid, name, use_, manage) in table {
            let a = role_assignment(&ctx(), VAULT_ID, &assignment(guid), HASH).unwrap();
            assert_eq!(a.role_definition_guid, guid.to_ascii_lowercase());
            assert_eq!(a.role_name.as_deref(), name, "{guid}");
            assert_eq!((a.grants_key_use, a.manages_keys), (use_, manage), "{guid}");
            assert_eq!(a.principal_type.as_deref(), Some("ServicePrincipal"));
            assert_eq!(
                a.condition.as_deref(),
                Some("@Resource[Microsoft.KeyVault/vaults/keys:name] StringEquals 'k1'")
            );
            // No properties.scope: read from the assignment id.
            assert_eq!(a.scope, VAULT_ID);
        }
    }

    #[test]
    fn role_assignments_without_principal_or_role_are_errors() {
        let base = json!({
            "id": "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a1",
            "properties": {"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/r", "principalId": "p", "scope": "/subscriptions/s"}
        });
        let without = |path: &str| {
            let mut item = base.clone();
            item["properties"].as_object_mut().unwrap().remove(path);
            item
        };
        assert_eq!(
            role_assignment(&ctx(), VAULT_ID, &without("principalId"), HASH),
            Err(ConvertError::MissingField {
                what: "role assignment",
                resource: "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a1".to_string(),
                field: "properties.principalId",
            })
        );
        assert!(matches!(
            role_assignment(&ctx(), VAULT_ID, &without("roleDefinitionId"), HASH),
            Err(ConvertError::MissingField { field: "properties.roleDefinitionId", .. })
        ));
        let mut no_id = base.clone();
        no_id.as_object_mut().unwrap().remove("id");
        assert!(matches!(
            hsm_role_assignment(&ctx(), "https://h.managedhsm.azure.net/", &no_id, HASH),
            Err(ConvertError::MissingField { field: "id", .. })
        ));
        let mut bad = base.clone();
        bad["properties"]["principalId"] = json!(42);
        assert!(matches!(role_assignment(&ctx(), VAULT_ID, &bad, HASH), Err(ConvertError::Shape { .. })));
    }

    #[test]
    fn ec_key_has_a_curve_and_no_size() {
        let body = json!({
            "key": {
                "kid": "https://ec.managedhsm.azure.net/keys/sign-key/1f2e3d",
                "kty": "EC-HSM",
                "crv": "P-384",
                "key_ops": ["sign", "verify"],
                "x": "AAAA",
                "y": "BBBB"
            },
            "attributes": {"enabled": false, "exp": "1767225600", "nbf": 1700000000, "recoverableDays": "7"},
            "managed": true
        });
        let (k, v) = key_bundle(&ctx(), &body, true, HASH).unwrap();
        assert_eq!(k.vault_kind, "managed_hsm");
        assert_eq!(k.key_type.as_deref(), Some("EC-HSM"));
        assert_eq!(k.curve.as_deref(), Some("P-384"));
        assert_eq!(k.key_size, None);
        assert_eq!(k.key_ops, Some(strings(&["sign", "verify"])));
        assert_eq!(k.enabled, Some(false), "explicit false is kept as false");
        assert_eq!(k.expires_at, secs(1_767_225_600.0), "epoch sent as a string");
        assert_eq!(k.not_before, secs(1_700_000_000.0));
        assert_eq!(k.recoverable_days, Some(7));
        assert_eq!(k.managed, Some(true));
        assert_eq!(k.recovery_level, None);
        assert_eq!(v.expires_at, k.expires_at);
        assert_eq!(v.enabled, Some(false));
    }

    #[test]
    fn rsa_sizes_are_exact_bit_lengths() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let modulus = |len: usize, first: u8| {
            let mut bytes = vec![0xA5u8; len];
            bytes[0] = first;
            bytes
        };
        // 3072-bit modulus, with a leading zero byte as some encoders add.
        let mut padded = vec![0u8];
        padded.extend(modulus(384, 0xC1));
        assert_eq!(rsa_modulus_bits(&URL_SAFE_NO_PAD.encode(&padded)), Ok(3072));
        // Top bit clear: 4095 bits, not 4096.
        assert_eq!(rsa_modulus_bits(&URL_SAFE_NO_PAD.encode(modulus(512, 0x7F))), Ok(4095));
        // Standard alphabet with padding is accepted.
        assert_eq!(rsa_modulus_bits(&STANDARD.encode(modulus(256, 0xFF))), Ok(2048));
        assert!(rsa_modulus_bits("AAAA").is_err(), "a zero modulus is not a size");
        let body = json!({"key": {"kid": "https://v.vault.azure.net/keys/k/1", "kty": "RSA", "n": "not*base64"}});
        assert!(matches!(
            key_bundle(&ctx(), &body, true, HASH),
            Err(ConvertError::InvalidField { field: "key.n", .. })
        ));
    }

    #[test]
    fn malformed_key_identifiers_are_errors() {
        let bundle = |kid: Value| json!({"key": {"kid": kid, "kty": "RSA"}, "attributes": {"enabled": true}});
        for (kid, expect_missing) in [
            (json!("https://v.vault.azure.net/secrets/s/1"), false),
            (json!("not a url"), false),
            (json!("https://v.vault.azure.net/keys/k"), false), // no version
            (json!("https://v.vault.azure.net/keys/k/1/extra"), false),
            (json!(""), true),
            (Value::Null, true),
        ] {
            let err = key_bundle(&ctx(), &bundle(kid.clone()), true, HASH).unwrap_err();
            match err {
                ConvertError::MissingField { field, .. } => {
                    assert!(expect_missing && field == "key.kid", "{kid}")
                }
                ConvertError::InvalidField { field, ref resource, .. } => {
                    assert!(!expect_missing && field == "key.kid", "{kid}");
                    assert_eq!(resource, kid.as_str().unwrap(), "the error names the identifier");
                }
                other => panic!("{kid}: unexpected {other:?}"),
            }
            let item = json!({"kid": kid, "attributes": {}});
            assert!(key_version_item(&ctx(), &item, None, HASH).is_err(), "{kid}");
        }
        assert!(matches!(key_bundle(&ctx(), &json!({"key": "x"}), true, HASH), Err(ConvertError::Shape { .. })));
    }

    fn hand_vault(properties: Value) -> Value {
        json!({
            "id": "/subscriptions/S1/resourceGroups/RG/providers/Microsoft.KeyVault/vaults/hand-kv",
            "name": "hand-kv",
            "location": "northeurope",
            "properties": properties
        })
    }

    #[test]
    fn vault_flags_are_read_leniently_and_never_defaulted() {
        let item = hand_vault(json!({
            "vaultUri": "https://Hand-KV.vault.azure.net:443/",
            "enableSoftDelete": "true",
            "softDeleteRetentionInDays": "90",
            "enablePurgeProtection": true,
            "enableRbacAuthorization": false,
            "networkAcls": {"defaultAction": "Deny", "bypass": "None"},
            "privateEndpointConnections": [{"id": "pe1"}, {"id": "pe2"}],
            "accessPolicies": []
        }));
        let (v, policies) = key_vault(&ctx(), &item, HASH).unwrap();
        assert_eq!(v.vault_uri, "https://hand-kv.vault.azure.net/");
        assert_eq!(v.subscription_id, "s1");
        assert_eq!(v.soft_delete_enabled, Some(true));
        assert_eq!(v.soft_delete_retention_days, Some(90));
        assert_eq!(v.purge_protection_enabled, Some(true));
        assert_eq!(v.rbac_authorization_enabled, Some(false));
        assert_eq!(v.network_default_action.as_deref(), Some("Deny"));
        assert_eq!(v.network_bypass.as_deref(), Some("None"));
        assert_eq!(v.network_ip_rule_count, None, "networkAcls without ipRules: not said");
        assert_eq!(v.network_vnet_rule_count, None);
        assert_eq!(v.private_endpoint_count, Some(2));
        assert_eq!(v.access_policy_count, Some(0), "an empty array is a count of zero");
        assert_eq!(v.sku_name, None);
        assert!(policies.is_empty());

        let bad = hand_vault(json!({"vaultUri": "https://x.vault.azure.net", "enablePurgeProtection": "maybe"}));
        match key_vault(&ctx(), &bad, HASH) {
            Err(ConvertError::Shape { what: "key vault", resource, .. }) => assert!(resource.ends_with("hand-kv")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            key_vault(&ctx(), &hand_vault(json!({})), HASH),
            Err(ConvertError::MissingField { field: "properties.vaultUri", .. })
        ));
        assert!(matches!(
            key_vault(&ctx(), &json!({"name": "x", "properties": {"vaultUri": "https://x.vault.azure.net"}}), HASH),
            Err(ConvertError::MissingField { field: "id", .. })
        ));
        assert!(matches!(
            managed_hsm(
                &ctx(),
                &json!({"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.KeyVault/managedHSMs/h", "properties": {}}),
                HASH
            ),
            Err(ConvertError::MissingField { field: "properties.hsmUri", .. })
        ));
    }

    #[test]
    fn access_policy_permissions_decide_key_use_and_management() {
        let table: [(Value, Option<Vec<String>>, bool, bool); 6] = [
            (
                json!({"keys": ["Get", "WrapKey", "UnwrapKey"]}),
                Some(strings(&["Get", "WrapKey", "UnwrapKey"])),
                true,
                false,
            ),
            (json!({"keys": ["all"]}), Some(strings(&["all"])), true, true),
            (json!({"keys": ["get", "wrapKey"]}), Some(strings(&["get", "wrapKey"])), false, false),
            (json!({"keys": ["list", "Rotate"]}), Some(strings(&["list", "Rotate"])), false, true),
            (
                json!({"keys": ["get", "unwrapKey", "wrapKey", "SetRotationPolicy"]}),
                Some(strings(&["get", "unwrapKey", "wrapKey", "SetRotationPolicy"])),
                true,
                true,
            ),
            (json!({"secrets": ["get"]}), None, false, false),
        ];
        for (permissions, keys, use_, manage) in table {
            let item = hand_vault(json!({
                "vaultUri": "https://hand-kv.vault.azure.net",
                "accessPolicies": [{"tenantId": "t", "objectId": "o1", "applicationId": "app", "permissions": permissions}]
            }));
            let (_, policies) = key_vault(&ctx(), &item, HASH).unwrap();
            let p = &policies[0];
            assert_eq!(p.key_permissions, keys);
            assert_eq!((p.grants_key_use, p.manages_keys), (use_, manage), "{permissions}");
            assert_eq!(p.application_id.as_deref(), Some("app"));
            assert_eq!(
                p.vault_resource_id,
                "/subscriptions/s1/resourcegroups/rg/providers/microsoft.keyvault/vaults/hand-kv"
            );
        }
        let no_object =
            hand_vault(json!({"vaultUri": "https://hand-kv.vault.azure.net", "accessPolicies": [{"tenantId": "t"}]}));
        assert!(matches!(
            key_vault(&ctx(), &no_object, HASH),
            Err(ConvertError::MissingField { field: "properties.accessPolicies[].objectId", .. })
        ));
    }

    #[test]
    fn rotation_policies_without_a_rotate_action_do_not_rotate() {
        let key = KeyReference::parse_key_id("https://kv.vault.azure.net/keys/k1").unwrap();
        let table = [
            (json!({"lifetimeActions": [], "attributes": {"expiryTime": "P1Y"}}), false, 0, None, None),
            (json!({"id": "https://kv.vault.azure.net/keys/k1/rotationpolicy"}), false, 0, None, None),
            // What Key Vault returns for a key nobody set a policy on: notify only.
            (
                json!({"lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}]}),
                false,
                1,
                None,
                Some("P30D"),
            ),
            (
                json!({"lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P7D"}, "action": {"type": "rotate"}}]}),
                true,
                1,
                Some("P7D"),
                None,
            ),
        ];
        for (body, rotates, count, before_expiry, notify) in table {
            let p = rotation_policy(&ctx(), &key, &body, HASH).unwrap();
            assert_eq!(p.rotates_automatically, rotates, "{body}");
            assert_eq!(p.lifetime_action_count, count, "{body}");
            assert_eq!(p.rotate_before_expiry.as_deref(), before_expiry, "{body}");
            assert_eq!(p.rotate_after_create, None, "{body}");
            assert_eq!(p.notify_before_expiry.as_deref(), notify, "{body}");
            assert_eq!(p.key_id, "https://kv.vault.azure.net/keys/k1");
            assert_eq!(p.created_at, None);
        }
        assert!(matches!(
            rotation_policy(&ctx(), &key, &json!({"lifetimeActions": {"a": 1}}), HASH),
            Err(ConvertError::Shape { what: "rotation policy", .. })
        ));
    }

    #[test]
    fn hsm_keys_in_lists_are_managed_hsm_keys() {
        let item = json!({"kid": "https://hsm1.managedhsm.azure.net/keys/k/abc", "attributes": {"enabled": true, "exp": 1.8e9}});
        let v = key_version_item(&ctx(), &item, Some("ABC"), HASH).unwrap();
        assert_eq!(v.key_vault_uri, "https://hsm1.managedhsm.azure.net/");
        assert!(v.is_latest);
        assert_eq!(v.expires_at, secs(1.8e9));
        assert_eq!(
            KeyReference::from_parts(&v.key_vault_uri, &v.key_name, None).unwrap().vault_kind,
            VaultKind::ManagedHsm
        );
    }
}
