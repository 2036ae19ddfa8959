//! Builders for small snapshots: a healthy estate (one storage account on a key in a well-protected vault, its
//! identity holding the crypto role) that no rule fires on, and rows for every table a rule reads.

use evidence::vocab::{encryption_scope, identity_type, key_source};
use evidence::{
    CmkChainRow, ContainerGroupRow, ContainerRegistryRow, CoverageRow, DiskEncryptionSetRow, KeyRow, KeyVaultRow,
    KeyVersionRow, ManagedHsmRow, RoleAssignmentRow, RotationPolicyRow, SqlServerRow, Tables, Timestamp,
    VaultAccessPolicyRow, resource_types,
};

pub(crate) const TENANT: &str = "f6fadfa7-e5c1-4b62-9362-da5cc13da58a";
pub(crate) const SNAPSHOT: &str = "20261123T101500Z";
pub(crate) const SUB: &str = "2c63888f-28f0-4481-be6d-dce7a7ace732";
pub(crate) const VAULT_URI: &str = "https://kv1.vault.azure.net/";
pub(crate) const VAULT_ID: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourcegroups/rg-keys/providers/microsoft.keyvault/vaults/kv1";
pub(crate) const HSM_URI: &str = "https://hsm1.managedhsm.azure.net/";
pub(crate) const HSM_ID: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourcegroups/rg-keys/providers/microsoft.keyvault/managedhsms/hsm1";
pub(crate) const ACCOUNT_ID: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourcegroups/rg-data/providers/microsoft.storage/storageaccounts/st1";
pub(crate) const KEY_ID: &str = "https://kv1.vault.azure.net/keys/cmk";
pub(crate) const PRINCIPAL: &str = "11111111-1111-1111-1111-111111111111";
pub(crate) const ADMIN: &str = "22222222-2222-2222-2222-222222222222";
/// Key Vault Crypto Service Encryption User.
pub(crate) const CSEU: &str = "e147488a-f6f5-4113-8e2d-b22465e65bf6";
/// Key Vault Crypto Officer.
pub(crate) const CRYPTO_OFFICER: &str = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603";
pub(crate) const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
pub(crate) const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";

const DAY: i64 = 86_400 * 1_000_000;

/// The snapshot time: 2026-11-23T10:15:00Z.
pub(crate) fn taken_at() -> Timestamp {
    Timestamp::parse("2026-11-23T10:15:00Z").unwrap_or(Timestamp::from_micros(0))
}

/// `days` days from the snapshot time (negative: before it).
pub(crate) fn days(days: i64) -> Timestamp {
    Timestamp::from_micros(taken_at().micros() + days * DAY)
}

pub(crate) fn resource(provider_type: &str, rg: &str, name: &str) -> String {
    format!("/subscriptions/{SUB}/resourcegroups/{rg}/providers/{}/{name}", provider_type.to_ascii_lowercase())
}

/// A complete, healthy chain: storage account `st1` on `cmk` (latest version `v2`, enabled, expiring in a
/// year) in `kv1` (soft delete, purge protection, RBAC, trusted-services bypass), system-assigned identity with
/// Key Vault Crypto Service Encryption User.
pub(crate) fn chain() -> CmkChainRow {
    CmkChainRow {
        tenant_id: TENANT.into(),
        snapshot_id: SNAPSHOT.into(),
        subscription_id: SUB.into(),
        resource_id: ACCOUNT_ID.into(),
        resource_type: resource_types::STORAGE_ACCOUNT.into(),
        resource_name: "st1".into(),
        location: Some("westeurope".into()),
        encryption_scope: encryption_scope::ACCOUNT.into(),
        key_source: Some(key_source::CUSTOMER_MANAGED.into()),
        key_vault_uri: Some(VAULT_URI.into()),
        vault_kind: Some("key_vault".into()),
        key_vault_resource_id: Some(VAULT_ID.into()),
        key_via_resource_id: None,
        key_name: Some("cmk".into()),
        configured_key_version: None,
        in_use_key_version: Some("v2".into()),
        latest_key_version: Some("v2".into()),
        in_use_is_latest: Some(true),
        rotation_lag_seconds: Some(0),
        auto_rotation: Some(true),
        key_enabled: Some(true),
        key_expires_at: Some(days(365)),
        key_type: Some("RSA-HSM".into()),
        key_size: Some(3072),
        latest_version_created_at: Some(days(-30)),
        rotation_policy_present: Some(true),
        vault_soft_delete: Some(true),
        vault_soft_delete_retention_days: Some(90),
        vault_purge_protection: Some(true),
        vault_rbac_authorization: Some(true),
        vault_public_network_access: Some("Enabled".into()),
        vault_network_default_action: Some("Deny".into()),
        vault_network_bypass: Some("AzureServices".into()),
        identity_type: Some(identity_type::SYSTEM_ASSIGNED.into()),
        identity_resource_id: None,
        identity_principal_id: Some(PRINCIPAL.into()),
        identity_client_id: None,
        federated_client_id: None,
        identity_has_crypto_role: Some(true),
        crypto_roles: Some(vec!["Key Vault Crypto Service Encryption User".into()]),
        chain_status: "complete".into(),
        chain_gaps: None,
        raw_response_sha256: "aa".into(),
    }
}

/// The healthy chain for another resource of the estate.
pub(crate) fn chain_of(resource_type: &str, rg: &str, name: &str, scope: &str) -> CmkChainRow {
    CmkChainRow {
        resource_id: resource(resource_type, rg, name),
        resource_type: resource_type.into(),
        resource_name: name.into(),
        encryption_scope: scope.into(),
        ..chain()
    }
}

pub(crate) fn vault() -> KeyVaultRow {
    KeyVaultRow {
        tenant_id: TENANT.into(),
        snapshot_id: SNAPSHOT.into(),
        subscription_id: SUB.into(),
        resource_id: VAULT_ID.into(),
        resource_id_original: VAULT_ID.into(),
        name: "kv1".into(),
        location: Some("westeurope".into()),
        vault_uri: VAULT_URI.into(),
        sku_name: Some("premium".into()),
        soft_delete_enabled: Some(true),
        soft_delete_retention_days: Some(90),
        purge_protection_enabled: Some(true),
        rbac_authorization_enabled: Some(true),
        public_network_access: Some("Enabled".into()),
        network_default_action: Some("Deny".into()),
        network_bypass: Some("AzureServices".into()),
        network_ip_rule_count: Some(1),
        network_vnet_rule_count: Some(0),
        access_policy_count: Some(0),
        private_endpoint_count: None,
        raw_response_sha256: "bb".into(),
    }
}

pub(crate) fn hsm() -> ManagedHsmRow {
    ManagedHsmRow {
        tenant_id: TENANT.into(),
        snapshot_id: SNAPSHOT.into(),
        subscription_id: SUB.into(),
        resource_id: HSM_ID.into(),
        resource_id_original: HSM_ID.into(),
        name: "hsm1".into(),
        location: Some("westeurope".into()),
        hsm_uri: HSM_URI.into(),
        sku_name: Some("Standard_B1".into()),
        soft_delete_enabled: Some(true),
        soft_delete_retention_days: Some(90),
        purge_protection_enabled: Some(true),
        public_network_access: Some("Disabled".into()),
        network_default_action: Some("Deny".into()),
        network_bypass: Some("AzureServices".into()),
        provisioning_state: Some("Succeeded".into()),
        raw_response_sha256: "cc".into(),
    }
}

/// Key `name` in `vault_uri`, latest version `latest` created `created`.
pub(crate) fn key(vault_uri: &str, name: &str, latest: &str, created: Option<Timestamp>) -> KeyRow {
    KeyRow {
        tenant_id: TENANT.into(),
        snapshot_id: SNAPSHOT.into(),
        key_vault_uri: vault_uri.into(),
        vault_kind: if vault_uri.contains("managedhsm") { "managed_hsm" } else { "key_vault" }.into(),
        key_name: name.into(),
        key_id: format!("{vault_uri}keys/{name}"),
        latest_version: latest.into(),
        key_type: Some("RSA-HSM".into()),
        key_size: Some(3072),
        curve: None,
        key_ops: Some(vec!["wrapKey".into(), "unwrapKey".into()]),
        enabled: Some(true),
        created_at: created,
        updated_at: created,
        not_before: None,
        expires_at: None,
        recovery_level: Some("Recoverable".into()),
        recoverable_days: Some(90),
        managed: None,
        raw_response_sha256: "dd".into(),
    }
}

pub(crate) fn version(
    vault_uri: &str,
    name: &str,
    v: &str,
    created: Timestamp,
    enabled: Option<bool>,
) -> KeyVersionRow {
    KeyVersionRow {
        tenant_id: TENANT.into(),
        snapshot_id: SNAPSHOT.into(),
        key_vault_uri: vault_uri.into(),
        key_name: name.into(),
        key_id: format!("{vault_uri}keys/{name}"),
        version: v.into(),
        enabled,
        created_at: Some(created),
        updated_at: None,
        not_before: None,
        expires_at: Some(Timestamp::from_micros(created.micros() + 365 * DAY)),
        recovery_level: None,
        is_latest: false,
        raw_response_sha256: "ee".into(),
    }
}

pub(crate) fn rotation_policy(vault_uri: &str, name: &str, rotates: bool) -> RotationPolicyRow {
    RotationPolicyRow {
        tenant_id: TENANT.into(),
        snapshot_id: SNAPSHOT.into(),
        key_vault_uri: vault_uri.into(),
        key_name: name.into(),
        key_id: format!("{vault_uri}keys/{name}"),
        rotates_automatically: rotates,
        rotate_after_create: rotates.then(|| "P90D".into()),
        rotate_before_expiry: None,
        notify_before_expiry: Some("P30D".into()),
        expiry_time: Some("P1Y".into()),
        lifetime_action_count: if rotates { 2 } else { 1 },
        created_at: None,
        updated_at: None,
        raw_response_sha256: "ff".into(),
    }
}

/// An Azure RBAC assignment of role `guid` to `principal` at `scope`, listed for the vault.
pub(crate) fn assignment(scope: &str, principal: &str, guid: &str) -> RoleAssignmentRow {
    let known = evidence::vocab::roles::by_guid(guid);
    RoleAssignmentRow {
        tenant_id: TENANT.into(),
        snapshot_id: SNAPSHOT.into(),
        rbac_system: "azure_rbac".into(),
        assignment_id: format!("{scope}/providers/microsoft.authorization/roleassignments/{principal}-{guid}"),
        queried_scope: VAULT_ID.into(),
        scope: scope.into(),
        principal_id: principal.into(),
        principal_type: Some("Group".into()),
        role_definition_id: format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
        role_definition_guid: guid.into(),
        role_name: known.map(|r| r.name.to_string()),
        grants_key_use: known.is_some_and(|r| r.grants_key_use),
        manages_keys: known.is_some_and(|r| r.manages_keys),
        condition: None,
        raw_response_sha256: "11".into(),
    }
}

pub(crate) fn access_policy(object_id: &str, permissions: &[&str], manages_keys: bool) -> VaultAccessPolicyRow {
    VaultAccessPolicyRow {
        tenant_id: TENANT.into(),
        snapshot_id: SNAPSHOT.into(),
        vault_uri: VAULT_URI.into(),
        vault_resource_id: VAULT_ID.into(),
        policy_tenant_id: Some(TENANT.into()),
        object_id: object_id.into(),
        application_id: None,
        key_permissions: Some(permissions.iter().map(|p| p.to_string()).collect()),
        grants_key_use: ["get", "wrapKey", "unwrapKey"].iter().all(|p| permissions.contains(p)),
        manages_keys,
        raw_response_sha256: "22".into(),
    }
}

pub(crate) fn registry(name: &str, sku: Option<&str>, status: Option<&str>) -> ContainerRegistryRow {
    let id = resource(resource_types::CONTAINER_REGISTRY, "rg-apps", name);
    ContainerRegistryRow {
        tenant_id: TENANT.into(),
        snapshot_id: SNAPSHOT.into(),
        subscription_id: SUB.into(),
        resource_id: id.clone(),
        resource_id_original: id,
        name: name.into(),
        resource_group: Some("rg-apps".into()),
        location: Some("westeurope".into()),
        sku_name: sku.map(Into::into),
        encryption_status: status.map(Into::into),
        key_identifier: status.map(|_| format!("{VAULT_URI}keys/cmk")),
        versioned_key_identifier: None,
        key_identity_client_id: None,
        key_rotation_enabled: None,
        last_key_rotation_at: None,
        identity_type_raw: Some("UserAssigned".into()),
        system_assigned_principal_id: None,
        user_assigned_identity_ids: None,
        public_network_access: None,
        admin_user_enabled: Some(false),
        provisioning_state: Some("Succeeded".into()),
        raw_response_sha256: "33".into(),
    }
}

pub(crate) fn container_group(name: &str, vault_base_url: &str, vault_kind: &str) -> ContainerGroupRow {
    let id = resource(resource_types::CONTAINER_GROUP, "rg-batch", name);
    ContainerGroupRow {
        tenant_id: TENANT.into(),
        snapshot_id: SNAPSHOT.into(),
        subscription_id: SUB.into(),
        resource_id: id.clone(),
        resource_id_original: id,
        name: name.into(),
        resource_group: Some("rg-batch".into()),
        location: Some("westeurope".into()),
        sku: Some("Standard".into()),
        os_type: Some("Linux".into()),
        vault_base_url: Some(vault_base_url.into()),
        vault_kind: Some(vault_kind.into()),
        key_name: Some("cmk-aci".into()),
        key_version: Some("v1".into()),
        key_identity_resource_id: None,
        identity_type_raw: Some("UserAssigned".into()),
        system_assigned_principal_id: None,
        user_assigned_identity_ids: None,
        provisioning_state: Some("Succeeded".into()),
        raw_response_sha256: "44".into(),
    }
}

pub(crate) fn encryption_set(name: &str, error_code: Option<&str>) -> DiskEncryptionSetRow {
    let id = resource(resource_types::DISK_ENCRYPTION_SET, "rg-compute", name);
    DiskEncryptionSetRow {
        tenant_id: TENANT.into(),
        snapshot_id: SNAPSHOT.into(),
        subscription_id: SUB.into(),
        resource_id: id.clone(),
        resource_id_original: id,
        name: name.into(),
        resource_group: Some("rg-compute".into()),
        location: Some("westeurope".into()),
        encryption_type: Some("EncryptionAtRestWithCustomerKey".into()),
        active_key_url: Some(format!("{VAULT_URI}keys/cmk/v1")),
        active_key_source_vault_id: Some(VAULT_ID.into()),
        previous_key_urls: None,
        rotation_to_latest_key_version_enabled: Some(error_code.is_none()),
        last_key_rotation_at: None,
        auto_key_rotation_error_code: error_code.map(Into::into),
        auto_key_rotation_error_message: error_code.map(|c| format!("Auto-key rotation was disabled: {c}")),
        federated_client_id: None,
        identity_type_raw: Some("UserAssigned".into()),
        system_assigned_principal_id: None,
        user_assigned_identity_ids: None,
        provisioning_state: Some("Succeeded".into()),
        raw_response_sha256: "55".into(),
    }
}

pub(crate) fn sql_managed_instance(name: &str, identity_type_raw: &str, primary: Option<&str>) -> SqlServerRow {
    let id = resource(resource_types::SQL_MANAGED_INSTANCE, "rg-sql", name);
    SqlServerRow {
        tenant_id: TENANT.into(),
        snapshot_id: SNAPSHOT.into(),
        subscription_id: SUB.into(),
        resource_id: id.clone(),
        resource_id_original: id,
        resource_type: resource_types::SQL_MANAGED_INSTANCE.into(),
        name: name.into(),
        resource_group: Some("rg-sql".into()),
        location: Some("westeurope".into()),
        version_or_sku: Some("GP_Gen5".into()),
        server_key_id: None,
        primary_user_assigned_identity_id: primary.map(Into::into),
        federated_client_id: None,
        protector_server_key_type: Some("AzureKeyVault".into()),
        protector_server_key_name: Some("kv1_cmk_v2".into()),
        protector_uri: Some(format!("{VAULT_URI}keys/cmk/v2")),
        protector_auto_rotation_enabled: Some(true),
        protector_thumbprint: None,
        server_key_names: None,
        server_key_uris: None,
        protector_key_created_at: None,
        identity_type_raw: Some(identity_type_raw.into()),
        system_assigned_principal_id: Some(PRINCIPAL.into()),
        user_assigned_identity_ids: None,
        public_network_access: None,
        state: Some("Ready".into()),
        raw_response_sha256: Some("66".into()),
        protector_raw_response_sha256: None,
        keys_raw_response_sha256: None,
    }
}

pub(crate) fn coverage(status: &str, resource_type: &str, resource_id: Option<&str>, reason: &str) -> CoverageRow {
    CoverageRow {
        tenant_id: TENANT.into(),
        snapshot_id: SNAPSHOT.into(),
        subscription_id: Some(SUB.into()),
        resource_type: resource_type.into(),
        resource_id: resource_id.map(Into::into),
        status: status.into(),
        reason: reason.into(),
        http_status: None,
        error_code: None,
        request_url: None,
    }
}

/// The healthy estate: no rule fires on it with the default policy.
pub(crate) fn healthy() -> Tables {
    let mut t = Tables::default();
    t.key_vaults.push(vault());
    t.keys.push(key(VAULT_URI, "cmk", "v2", Some(days(-30))));
    t.key_versions.push(version(VAULT_URI, "cmk", "v1", days(-120), Some(true)));
    t.key_versions.push(version(VAULT_URI, "cmk", "v2", days(-30), Some(true)));
    t.rotation_policies.push(rotation_policy(VAULT_URI, "cmk", true));
    t.role_assignments.push(assignment(VAULT_ID, PRINCIPAL, CSEU));
    t.cmk_chain.push(chain());
    t
}
