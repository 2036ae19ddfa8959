//! The join that turns what each resource says (`cmk_bindings`) and what the vaults say (`key_vaults`,
//! `managed_hsms`, `keys`, `key_versions`, `rotation_policies`, `role_assignments`, `vault_access_policies`)
//! into one `cmk_chain` row per binding. Every link that cannot be established is named in `chain_gaps`;
//! nothing is guessed.

use std::collections::{BTreeSet, HashMap};

use crate::ids::{normalize_resource_id, scope_covers};
use crate::vocab::key_source;
use crate::{
    CmkBinding, CmkChainRow, KeyReference, KeyRow, KeyVaultRow, KeyVersionRow, ManagedHsmRow, RoleAssignmentRow,
    RotationPolicyRow, Tables, Timestamp, VaultAccessPolicyRow, VaultKind, resource_types,
};

/// Names of the gaps a chain can have (values of `cmk_chain.chain_gaps`).
pub mod gaps {
    /// The resource did not say which key source it uses, or said something unknown.
    pub const KEY_SOURCE_UNKNOWN: &str = "key_source_unknown";
    /// CMK is configured but the vault URI or key name is missing or malformed.
    pub const KEY_REFERENCE_INVALID: &str = "key_reference_invalid";
    /// The vault or HSM is not in any collected subscription, or could not be read.
    pub const VAULT_NOT_COLLECTED: &str = "vault_not_collected";
    /// The key could not be read from the vault's data plane.
    pub const KEY_NOT_READ: &str = "key_not_read";
    /// The resource follows the latest version but did not say which version it has adopted.
    pub const IN_USE_VERSION_UNKNOWN: &str = "in_use_version_unknown";
    /// The version in use is not among the versions the vault listed.
    pub const IN_USE_VERSION_NOT_FOUND: &str = "in_use_version_not_found";
    /// The key's rotation policy could not be read.
    pub const ROTATION_POLICY_NOT_READ: &str = "rotation_policy_not_read";
    /// The resource names no identity principal, so its access cannot be checked.
    pub const IDENTITY_PRINCIPAL_UNKNOWN: &str = "identity_principal_unknown";
    /// The key is reached through a multi-tenant application in another tenant; its principal there is unknown.
    pub const CROSS_TENANT_IDENTITY: &str = "cross_tenant_identity";
    /// The role assignments (or HSM local RBAC) of the vault could not be read.
    pub const ROLE_ASSIGNMENTS_NOT_READ: &str = "role_assignments_not_read";
    /// The resource names a disk encryption set that was not collected, so its key is unknown.
    pub const ENCRYPTION_SET_NOT_COLLECTED: &str = "encryption_set_not_collected";
}

/// `cmk_chain.chain_status` values.
pub mod status {
    /// Every link was established.
    pub const COMPLETE: &str = "complete";
    /// The resource uses platform keys: there is no chain to follow.
    pub const MICROSOFT_MANAGED: &str = "microsoft_managed";
    /// At least one link is missing; `chain_gaps` says which.
    pub const INCOMPLETE: &str = "incomplete";
}

/// Indexes of the vault-side tables, keyed for the joins.
struct VaultSide<'a> {
    vaults: HashMap<String, &'a KeyVaultRow>,
    hsms: HashMap<String, &'a ManagedHsmRow>,
    keys: HashMap<(String, String), &'a KeyRow>,
    versions: HashMap<(String, String, String), &'a KeyVersionRow>,
    policies: HashMap<(String, String), &'a RotationPolicyRow>,
    assignments: HashMap<(String, String), Vec<&'a RoleAssignmentRow>>,
    access_policies: HashMap<String, Vec<&'a VaultAccessPolicyRow>>,
    /// Scopes (vault resource ids, HSM URIs) whose role assignments could not be read.
    unread_assignment_scopes: BTreeSet<String>,
}

fn key_join_of(key_vault_uri: &str, key_name: &str) -> Option<(String, String)> {
    KeyReference::from_parts(key_vault_uri, key_name, None).ok().map(|k| k.key_join())
}

impl<'a> VaultSide<'a> {
    fn index(t: &'a Tables) -> Self {
        let vaults = t.key_vaults.iter().map(|v| (v.vault_uri.clone(), v)).collect();
        let hsms = t.managed_hsms.iter().map(|h| (h.hsm_uri.clone(), h)).collect();
        let keys = t.keys.iter().filter_map(|k| Some((key_join_of(&k.key_vault_uri, &k.key_name)?, k))).collect();
        let versions = t
            .key_versions
            .iter()
            .filter_map(|v| {
                let (host, name) = key_join_of(&v.key_vault_uri, &v.key_name)?;
                Some(((host, name, v.version.to_ascii_lowercase()), v))
            })
            .collect();
        let policies =
            t.rotation_policies.iter().filter_map(|p| Some((key_join_of(&p.key_vault_uri, &p.key_name)?, p))).collect();
        // By queried scope and lower-case principal: a vault holds thousands of assignments, each binding needs
        // only its identity's.
        let mut assignments: HashMap<(String, String), Vec<&RoleAssignmentRow>> = HashMap::new();
        for a in &t.role_assignments {
            assignments.entry((a.queried_scope.clone(), a.principal_id.to_ascii_lowercase())).or_default().push(a);
        }
        let mut access_policies: HashMap<String, Vec<&VaultAccessPolicyRow>> = HashMap::new();
        for p in &t.vault_access_policies {
            access_policies.entry(p.vault_uri.clone()).or_default().push(p);
        }
        Self {
            vaults,
            hsms,
            keys,
            versions,
            policies,
            assignments,
            access_policies,
            unread_assignment_scopes: t
                .coverage
                .iter()
                .filter(|c| c.resource_type == resource_types::ROLE_ASSIGNMENTS)
                .filter_map(|c| c.resource_id.clone())
                .collect(),
        }
    }
}

/// Builds one `cmk_chain` row per binding. `taken_at` is the snapshot time, used for the rotation lag.
pub fn build_chain(tables: &Tables, taken_at: Timestamp) -> Vec<CmkChainRow> {
    let side = VaultSide::index(tables);
    tables.cmk_bindings.iter().map(|b| chain_row(b, &side, taken_at)).collect()
}

fn chain_row(b: &CmkBinding, side: &VaultSide<'_>, taken_at: Timestamp) -> CmkChainRow {
    let mut row = CmkChainRow {
        tenant_id: b.tenant_id.clone(),
        snapshot_id: b.snapshot_id.clone(),
        subscription_id: b.subscription_id.clone(),
        resource_id: b.resource_id.clone(),
        resource_type: b.resource_type.clone(),
        resource_name: b.resource_name.clone(),
        location: b.location.clone(),
        encryption_scope: b.encryption_scope.clone(),
        key_source: b.key_source.clone(),
        key_vault_uri: b.key_vault_uri.clone(),
        vault_kind: None,
        key_vault_resource_id: None,
        key_via_resource_id: b.key_via_resource_id.clone(),
        key_name: b.key_name.clone(),
        configured_key_version: b.configured_key_version.clone(),
        in_use_key_version: b.in_use_key_version.clone().or_else(|| b.configured_key_version.clone()),
        latest_key_version: None,
        in_use_is_latest: None,
        rotation_lag_seconds: None,
        auto_rotation: b.auto_rotation,
        key_enabled: None,
        key_expires_at: b.in_use_key_expires_at,
        key_type: None,
        key_size: None,
        latest_version_created_at: None,
        rotation_policy_present: None,
        vault_soft_delete: None,
        vault_soft_delete_retention_days: None,
        vault_purge_protection: None,
        vault_rbac_authorization: None,
        vault_public_network_access: None,
        vault_network_default_action: None,
        vault_network_bypass: None,
        identity_type: b.identity_type.clone(),
        identity_resource_id: b.identity_resource_id.clone(),
        identity_principal_id: b.identity_principal_id.clone(),
        identity_client_id: b.identity_client_id.clone(),
        federated_client_id: b.federated_client_id.clone(),
        identity_has_crypto_role: None,
        crypto_roles: None,
        chain_status: status::COMPLETE.to_string(),
        chain_gaps: None,
        raw_response_sha256: b.raw_response_sha256.clone(),
    };
    let mut gaps: Vec<&'static str> = Vec::new();

    match b.key_source.as_deref() {
        Some(key_source::MICROSOFT_MANAGED) => {
            row.chain_status = status::MICROSOFT_MANAGED.to_string();
            return row;
        }
        Some(key_source::CUSTOMER_MANAGED) => {}
        _ => {
            row.chain_status = status::INCOMPLETE.to_string();
            row.chain_gaps = Some(vec![gaps::KEY_SOURCE_UNKNOWN.to_string()]);
            return row;
        }
    }

    let key = match (b.key_vault_uri.as_deref(), b.key_name.as_deref()) {
        (Some(uri), Some(name)) => KeyReference::from_parts(uri, name, None).ok(),
        _ => None,
    };
    let Some(key) = key else {
        row.chain_status = status::INCOMPLETE.to_string();
        // A disk that names a disk encryption set has no key of its own: the set was not collected.
        let gap = if b.key_via_resource_id.is_some() && b.key_vault_uri.is_none() {
            gaps::ENCRYPTION_SET_NOT_COLLECTED
        } else {
            gaps::KEY_REFERENCE_INVALID
        };
        row.chain_gaps = Some(vec![gap.to_string()]);
        return row;
    };
    row.vault_kind = Some(key.vault_kind.as_str().to_string());
    let join = key.key_join();

    // Vault protection.
    let vault_resource_id = match key.vault_kind {
        VaultKind::KeyVault => side.vaults.get(&key.vault_uri).map(|v| {
            row.vault_soft_delete = v.soft_delete_enabled;
            row.vault_soft_delete_retention_days = v.soft_delete_retention_days;
            row.vault_purge_protection = v.purge_protection_enabled;
            row.vault_rbac_authorization = v.rbac_authorization_enabled;
            row.vault_public_network_access = v.public_network_access.clone();
            row.vault_network_default_action = v.network_default_action.clone();
            row.vault_network_bypass = v.network_bypass.clone();
            v.resource_id.clone()
        }),
        VaultKind::ManagedHsm => side.hsms.get(&key.vault_uri).map(|h| {
            row.vault_soft_delete = h.soft_delete_enabled;
            row.vault_soft_delete_retention_days = h.soft_delete_retention_days;
            row.vault_purge_protection = h.purge_protection_enabled;
            // Managed HSM data plane is always authorised by its local RBAC.
            row.vault_rbac_authorization = Some(true);
            row.vault_public_network_access = h.public_network_access.clone();
            row.vault_network_default_action = h.network_default_action.clone();
            row.vault_network_bypass = h.network_bypass.clone();
            h.resource_id.clone()
        }),
    };
    if vault_resource_id.is_none() {
        gaps.push(gaps::VAULT_NOT_COLLECTED);
    }
    row.key_vault_resource_id = vault_resource_id.clone();

    // Key, latest version, version in use.
    match side.keys.get(&join) {
        Some(k) => {
            row.key_type = k.key_type.clone();
            row.key_size = k.key_size;
            row.latest_key_version = Some(k.latest_version.clone());
            row.latest_version_created_at = k.created_at;
            match row.in_use_key_version.clone() {
                Some(in_use) => {
                    let is_latest = in_use.eq_ignore_ascii_case(&k.latest_version);
                    row.in_use_is_latest = Some(is_latest);
                    row.rotation_lag_seconds = if is_latest {
                        Some(0)
                    } else {
                        k.created_at.map(|created| ((taken_at.micros() - created.micros()) / 1_000_000).max(0))
                    };
                    let version_key = (join.0.clone(), join.1.clone(), in_use.to_ascii_lowercase());
                    match side.versions.get(&version_key) {
                        Some(v) => {
                            row.key_enabled = v.enabled;
                            row.key_expires_at = v.expires_at.or(row.key_expires_at);
                        }
                        None => gaps.push(gaps::IN_USE_VERSION_NOT_FOUND),
                    }
                }
                None => gaps.push(gaps::IN_USE_VERSION_UNKNOWN),
            }
            match side.policies.get(&join) {
                Some(p) => row.rotation_policy_present = Some(p.rotates_automatically),
                // The collector asks for the policy of every key it reads; no row means the read failed.
                None => gaps.push(gaps::ROTATION_POLICY_NOT_READ),
            }
        }
        None => gaps.push(gaps::KEY_NOT_READ),
    }

    // Identity and its right to use the key.
    if row.federated_client_id.is_some() {
        gaps.push(gaps::CROSS_TENANT_IDENTITY);
    } else if let Some(principal) = row.identity_principal_id.clone() {
        match crypto_access(&key, vault_resource_id.as_deref(), row.vault_rbac_authorization, &principal, side) {
            Some(roles) => {
                row.identity_has_crypto_role = Some(!roles.is_empty());
                row.crypto_roles = Some(roles);
            }
            None => gaps.push(gaps::ROLE_ASSIGNMENTS_NOT_READ),
        }
    } else if row.identity_type.as_deref() == Some(crate::vocab::identity_type::NONE) {
        // No identity at all: nothing can reach the key on the resource's behalf.
        row.identity_has_crypto_role = Some(false);
        row.crypto_roles = Some(Vec::new());
    } else {
        gaps.push(gaps::IDENTITY_PRINCIPAL_UNKNOWN);
    }

    if !gaps.is_empty() {
        row.chain_status = status::INCOMPLETE.to_string();
        row.chain_gaps = Some(gaps.iter().map(|g| g.to_string()).collect());
    }
    row
}

/// The roles and access policies that let `principal` use `key`; `None` when the authorisation data needed
/// to decide was not collected.
fn crypto_access(
    key: &KeyReference,
    vault_resource_id: Option<&str>,
    rbac: Option<bool>,
    principal: &str,
    side: &VaultSide<'_>,
) -> Option<Vec<String>> {
    let principal = principal.to_ascii_lowercase();
    match key.vault_kind {
        VaultKind::ManagedHsm => {
            let scope = key.vault_uri.clone();
            if side.unread_assignment_scopes.contains(&normalize_resource_id(&scope)) {
                return None;
            }
            let target = format!("/keys/{}", key.key_name);
            Some(matching_roles(side.assignments.get(&(scope, principal.clone())), &principal, &target))
        }
        VaultKind::KeyVault => {
            let vault_id = vault_resource_id?;
            let mut roles = Vec::new();
            let rbac_read = !side.unread_assignment_scopes.contains(vault_id);
            // Azure RBAC applies when enableRbacAuthorization is on; when Azure did not say, look at both models.
            if rbac != Some(false) {
                if !rbac_read {
                    return None;
                }
                let target = format!("{vault_id}/keys/{}", key.key_name);
                let of_principal = side.assignments.get(&(vault_id.to_string(), principal.clone()));
                roles.extend(matching_roles(of_principal, &principal, &target));
            }
            if rbac != Some(true) {
                for p in side.access_policies.get(&key.vault_uri).into_iter().flatten() {
                    if p.object_id.eq_ignore_ascii_case(&principal) && p.grants_key_use {
                        roles.push("access policy: get, wrapKey, unwrapKey".to_string());
                    }
                }
            }
            roles.sort();
            roles.dedup();
            Some(roles)
        }
    }
}

fn matching_roles(assignments: Option<&Vec<&RoleAssignmentRow>>, principal: &str, target: &str) -> Vec<String> {
    let mut roles: Vec<String> = assignments
        .into_iter()
        .flatten()
        .filter(|a| {
            a.principal_id.eq_ignore_ascii_case(principal) && a.grants_key_use && scope_covers(&a.scope, target)
        })
        .map(|a| a.role_name.clone().unwrap_or_else(|| a.role_definition_guid.clone()))
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{CoverageStatus, identity_type};
    use crate::{CoverageRow, SnapshotContext};

    const VAULT_ID: &str = "/subscriptions/s1/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv1";
    const VAULT: &str = "https://kv1.vault.azure.net/";
    const HSM: &str = "https://hsm1.managedhsm.azure.net/";
    const PRINCIPAL: &str = "11111111-1111-1111-1111-111111111111";

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_micros(s * 1_000_000)
    }

    fn binding(name: &str, vault: &str, configured: Option<&str>, in_use: Option<&str>) -> CmkBinding {
        CmkBinding {
            tenant_id: "t".into(),
            snapshot_id: "s".into(),
            subscription_id: "s1".into(),
            resource_id: format!(
                "/subscriptions/s1/resourcegroups/rg/providers/microsoft.storage/storageaccounts/{name}"
            ),
            resource_id_original: name.into(),
            resource_type: resource_types::STORAGE_ACCOUNT.into(),
            resource_name: name.into(),
            location: Some("westeurope".into()),
            encryption_scope: "account".into(),
            key_source: Some(key_source::CUSTOMER_MANAGED.into()),
            key_source_raw: Some("Microsoft.Keyvault".into()),
            key_vault_uri: Some(vault.into()),
            key_via_resource_id: None,
            key_name: Some("cmk".into()),
            configured_key_version: configured.map(Into::into),
            in_use_key_version: in_use.map(Into::into),
            in_use_key_id: None,
            auto_rotation: Some(configured.is_none()),
            identity_type: Some(identity_type::SYSTEM_ASSIGNED.into()),
            identity_resource_id: None,
            identity_principal_id: Some(PRINCIPAL.into()),
            identity_client_id: None,
            federated_client_id: None,
            last_key_rotation_at: None,
            in_use_key_expires_at: None,
            rotation_error: None,
            raw_response_sha256: "ab".into(),
        }
    }

    fn vault(rbac: Option<bool>, purge: Option<bool>) -> KeyVaultRow {
        KeyVaultRow {
            tenant_id: "t".into(),
            snapshot_id: "s".into(),
            subscription_id: "s1".into(),
            resource_id: VAULT_ID.into(),
            resource_id_original: VAULT_ID.into(),
            name: "kv1".into(),
            location: None,
            vault_uri: VAULT.into(),
            sku_name: Some("premium".into()),
            soft_delete_enabled: Some(true),
            soft_delete_retention_days: Some(90),
            purge_protection_enabled: purge,
            rbac_authorization_enabled: rbac,
            public_network_access: Some("Enabled".into()),
            network_default_action: Some("Deny".into()),
            network_bypass: Some("AzureServices".into()),
            network_ip_rule_count: Some(0),
            network_vnet_rule_count: Some(0),
            access_policy_count: Some(0),
            private_endpoint_count: None,
            raw_response_sha256: "cd".into(),
        }
    }

    fn key(vault: &str, latest: &str, created: i64) -> KeyRow {
        KeyRow {
            tenant_id: "t".into(),
            snapshot_id: "s".into(),
            key_vault_uri: vault.into(),
            vault_kind: VaultKind::of_host(vault).as_str().into(),
            key_name: "CMK".into(),
            key_id: format!("{vault}keys/CMK"),
            latest_version: latest.into(),
            key_type: Some("RSA".into()),
            key_size: Some(3072),
            curve: None,
            key_ops: None,
            enabled: Some(true),
            created_at: Some(ts(created)),
            updated_at: None,
            not_before: None,
            expires_at: None,
            recovery_level: None,
            recoverable_days: None,
            managed: None,
            raw_response_sha256: "ef".into(),
        }
    }

    fn version(vault: &str, v: &str, enabled: bool) -> KeyVersionRow {
        KeyVersionRow {
            tenant_id: "t".into(),
            snapshot_id: "s".into(),
            key_vault_uri: vault.into(),
            key_name: "cmk".into(),
            key_id: format!("{vault}keys/cmk"),
            version: v.into(),
            enabled: Some(enabled),
            created_at: None,
            updated_at: None,
            not_before: None,
            expires_at: Some(ts(2_000_000_000)),
            recovery_level: None,
            is_latest: false,
            raw_response_sha256: "01".into(),
        }
    }

    fn policy(vault: &str, rotates: bool) -> RotationPolicyRow {
        RotationPolicyRow {
            tenant_id: "t".into(),
            snapshot_id: "s".into(),
            key_vault_uri: vault.into(),
            key_name: "cmk".into(),
            key_id: format!("{vault}keys/cmk"),
            rotates_automatically: rotates,
            rotate_after_create: None,
            rotate_before_expiry: None,
            notify_before_expiry: None,
            expiry_time: None,
            lifetime_action_count: 1,
            created_at: None,
            updated_at: None,
            raw_response_sha256: "02".into(),
        }
    }

    fn assignment(queried: &str, scope: &str, principal: &str, guid: &str) -> RoleAssignmentRow {
        let role = crate::vocab::roles::by_guid(guid);
        RoleAssignmentRow {
            tenant_id: "t".into(),
            snapshot_id: "s".into(),
            rbac_system: "azure_rbac".into(),
            assignment_id: format!("{scope}/providers/microsoft.authorization/roleassignments/{guid}"),
            queried_scope: queried.into(),
            scope: scope.into(),
            principal_id: principal.into(),
            principal_type: Some("ServicePrincipal".into()),
            role_definition_id: format!("/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
            role_definition_guid: guid.into(),
            role_name: role.map(|r| r.name.to_string()),
            grants_key_use: role.is_some_and(|r| r.grants_key_use),
            manages_keys: role.is_some_and(|r| r.manages_keys),
            condition: None,
            raw_response_sha256: "03".into(),
        }
    }

    const CSEU: &str = "e147488a-f6f5-4113-8e2d-b22465e65bf6";

    fn estate() -> Tables {
        let mut t = Tables::default();
        t.key_vaults.push(vault(Some(true), None));
        t.keys.push(key(VAULT, "v3", 1_000));
        t.key_versions.extend([version(VAULT, "v1", true), version(VAULT, "v2", false), version(VAULT, "V3", true)]);
        t.rotation_policies.push(policy(VAULT, true));
        t.role_assignments.push(assignment(VAULT_ID, "/subscriptions/s1/resourcegroups/rg", PRINCIPAL, CSEU));
        t
    }

    fn chain_of(t: &Tables) -> CmkChainRow {
        build_chain(t, ts(4_600)).remove(0)
    }

    #[test]
    fn follows_latest_with_inherited_role_is_complete() {
        let mut t = estate();
        t.cmk_bindings.push(binding("a", VAULT, None, Some("v3")));
        let c = chain_of(&t);
        assert_eq!(c.chain_status, status::COMPLETE, "gaps: {:?}", c.chain_gaps);
        assert_eq!(c.in_use_is_latest, Some(true));
        assert_eq!(c.rotation_lag_seconds, Some(0));
        assert_eq!(c.key_enabled, Some(true));
        assert_eq!(c.identity_has_crypto_role, Some(true));
        assert_eq!(c.crypto_roles, Some(vec!["Key Vault Crypto Service Encryption User".to_string()]));
        assert_eq!(c.vault_purge_protection, None, "absent purge protection must stay null");
        assert_eq!(c.vault_soft_delete, Some(true));
        assert_eq!(c.rotation_policy_present, Some(true));
        assert_eq!(c.key_vault_resource_id.as_deref(), Some(VAULT_ID));
    }

    #[test]
    fn pinned_old_version_reports_lag_and_the_disabled_state_of_that_version() {
        let mut t = estate();
        t.cmk_bindings.push(binding("b", VAULT, Some("v2"), None));
        let c = chain_of(&t);
        assert_eq!(c.in_use_key_version.as_deref(), Some("v2"));
        assert_eq!(c.latest_key_version.as_deref(), Some("v3"));
        assert_eq!(c.in_use_is_latest, Some(false));
        assert_eq!(c.rotation_lag_seconds, Some(3_600));
        assert_eq!(c.key_enabled, Some(false));
        assert_eq!(c.auto_rotation, Some(false));
    }

    #[test]
    fn identity_without_role_is_false_not_null() {
        let mut t = estate();
        t.role_assignments[0].principal_id = "someone-else".into();
        t.cmk_bindings.push(binding("c", VAULT, None, Some("v3")));
        let c = chain_of(&t);
        assert_eq!(c.identity_has_crypto_role, Some(false));
        assert_eq!(c.chain_status, status::COMPLETE);
    }

    #[test]
    fn a_role_on_another_key_does_not_count() {
        let mut t = estate();
        t.role_assignments[0].scope = format!("{VAULT_ID}/keys/other");
        t.cmk_bindings.push(binding("c", VAULT, None, Some("v3")));
        assert_eq!(chain_of(&t).identity_has_crypto_role, Some(false));
        t.role_assignments[0].scope = format!("{VAULT_ID}/keys/CMK");
        assert_eq!(chain_of(&t).identity_has_crypto_role, Some(true));
    }

    #[test]
    fn unread_role_assignments_are_a_gap_not_false() {
        let mut t = estate();
        t.role_assignments.clear();
        let ctx = SnapshotContext { tenant_id: "t".into(), taken_at: ts(0) };
        let gap: CoverageRow =
            ctx.coverage(CoverageStatus::Denied, resource_types::ROLE_ASSIGNMENTS, Some("s1"), Some(VAULT_ID), "403");
        t.coverage.push(gap);
        t.cmk_bindings.push(binding("d", VAULT, None, Some("v3")));
        let c = chain_of(&t);
        assert_eq!(c.identity_has_crypto_role, None);
        assert_eq!(c.chain_status, status::INCOMPLETE);
        assert_eq!(c.chain_gaps, Some(vec![gaps::ROLE_ASSIGNMENTS_NOT_READ.to_string()]));
    }

    #[test]
    fn vault_outside_the_collection_is_named() {
        let mut t = Tables::default();
        t.cmk_bindings.push(binding("e", "https://elsewhere.vault.azure.net", None, Some("v1")));
        let c = chain_of(&t);
        assert_eq!(c.chain_status, status::INCOMPLETE);
        let g = c.chain_gaps.unwrap();
        assert!(g.contains(&gaps::VAULT_NOT_COLLECTED.to_string()));
        assert!(g.contains(&gaps::KEY_NOT_READ.to_string()));
        assert_eq!(c.vault_soft_delete, None);
    }

    #[test]
    fn access_policy_vault_grants_through_policy() {
        let mut t = estate();
        t.key_vaults[0].rbac_authorization_enabled = Some(false);
        t.role_assignments.clear();
        t.vault_access_policies.push(VaultAccessPolicyRow {
            tenant_id: "t".into(),
            snapshot_id: "s".into(),
            vault_uri: VAULT.into(),
            vault_resource_id: VAULT_ID.into(),
            policy_tenant_id: None,
            object_id: PRINCIPAL.to_uppercase(),
            application_id: None,
            key_permissions: Some(vec!["get".into(), "wrapKey".into(), "unwrapKey".into()]),
            grants_key_use: true,
            manages_keys: false,
            raw_response_sha256: "04".into(),
        });
        t.cmk_bindings.push(binding("f", VAULT, None, Some("v3")));
        let c = chain_of(&t);
        assert_eq!(c.identity_has_crypto_role, Some(true));
        assert_eq!(c.vault_rbac_authorization, Some(false));
    }

    #[test]
    fn managed_hsm_uses_local_rbac_scopes() {
        let mut t = Tables::default();
        t.managed_hsms.push(ManagedHsmRow {
            tenant_id: "t".into(),
            snapshot_id: "s".into(),
            subscription_id: "s1".into(),
            resource_id: "/subscriptions/s1/x/managedhsms/hsm1".into(),
            resource_id_original: "x".into(),
            name: "hsm1".into(),
            location: None,
            hsm_uri: HSM.into(),
            sku_name: None,
            soft_delete_enabled: Some(true),
            soft_delete_retention_days: Some(90),
            purge_protection_enabled: Some(true),
            public_network_access: None,
            network_default_action: None,
            network_bypass: None,
            provisioning_state: None,
            raw_response_sha256: "05".into(),
        });
        t.keys.push(key(HSM, "h1", 0));
        t.key_versions.push(version(HSM, "h1", true));
        t.rotation_policies.push(policy(HSM, false));
        let mut a = assignment(HSM, "/keys", PRINCIPAL, "33413926-3206-4cdd-b39a-83574fe37a17");
        a.rbac_system = "managed_hsm_local_rbac".into();
        t.role_assignments.push(a);
        t.cmk_bindings.push(binding("g", HSM, None, Some("h1")));
        let c = chain_of(&t);
        assert_eq!(c.chain_status, status::COMPLETE, "gaps: {:?}", c.chain_gaps);
        assert_eq!(c.vault_kind.as_deref(), Some("managed_hsm"));
        assert_eq!(c.identity_has_crypto_role, Some(true));
        assert_eq!(c.vault_rbac_authorization, Some(true));
        assert_eq!(c.rotation_policy_present, Some(false));
    }

    #[test]
    fn cross_tenant_and_platform_keys() {
        let mut t = estate();
        let mut b = binding("h", VAULT, None, Some("v3"));
        b.federated_client_id = Some("f83c6b1b-4d34-47e4-bb34-9d83df58b540".into());
        t.cmk_bindings.push(b);
        let mut m = binding("i", VAULT, None, None);
        m.key_source = Some(key_source::MICROSOFT_MANAGED.into());
        t.cmk_bindings.push(m);
        let rows = build_chain(&t, ts(0));
        assert_eq!(rows[0].identity_has_crypto_role, None);
        assert_eq!(rows[0].chain_gaps, Some(vec![gaps::CROSS_TENANT_IDENTITY.to_string()]));
        assert_eq!(rows[1].chain_status, status::MICROSOFT_MANAGED);
        assert_eq!(rows[1].latest_key_version, None);
    }

    #[test]
    fn follow_latest_without_reported_version_is_unknown_not_latest() {
        let mut t = estate();
        t.cmk_bindings.push(binding("j", VAULT, None, None));
        let c = chain_of(&t);
        assert_eq!(c.in_use_is_latest, None);
        assert!(c.chain_gaps.unwrap().contains(&gaps::IN_USE_VERSION_UNKNOWN.to_string()));
    }

    #[test]
    fn every_row_type_reads_back_from_its_batch() {
        use crate::Table;
        fn round_trip<T: Table + std::fmt::Debug>(rows: &[T]) {
            let batch = T::to_batch(rows).expect("to_batch");
            assert_eq!(T::from_batch(&batch).expect("from_batch"), rows, "table {}", T::NAME);
        }
        let mut t = estate();
        t.cmk_bindings.push(binding("a", VAULT, None, Some("v3")));
        t.cmk_bindings.push(binding("b", VAULT, Some("v2"), None));
        let mut h = binding("h", VAULT, None, None);
        h.federated_client_id = Some("f".into());
        t.cmk_bindings.push(h);
        let chain = build_chain(&t, ts(4_600));
        assert!(chain.iter().any(|c| c.chain_gaps.is_some()) && chain.iter().any(|c| c.crypto_roles.is_some()));
        round_trip(&chain);
        round_trip(&t.cmk_bindings);
        round_trip(&t.key_vaults);
        round_trip(&t.keys);
        round_trip(&t.key_versions);
        round_trip(&t.role_assignments);
        round_trip(&t.rotation_policies);
        // A batch of another table is refused, naming the missing column.
        let other = KeyVaultRow::to_batch(&t.key_vaults).expect("batch");
        let err = CmkChainRow::from_batch(&other).expect_err("wrong table");
        assert!(err.to_string().contains("cmk_chain: column"), "{err}");
    }
}
