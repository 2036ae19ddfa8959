//! Rules about a service's own CMK limits: ACR needs Premium (CMK011) and an RSA key (CMK012), SQL managed
//! instances should reach their protector with a user-assigned identity (CMK013), ACI cannot use Managed HSM
//! keys (CMK014), and a disk encryption set that reports an automatic key rotation error (CMK015).

use evidence::vocab::{encryption_scope, identity_type, key_source};
use evidence::{VaultKind, resource_types};

use super::binding::subject;
use super::{CMK011, CMK012, CMK013, CMK014, CMK015, Draft, RuleInfo};
use crate::facts::Facts;
use crate::fix;
use crate::snapshot::Snapshot;

pub(super) fn check(s: &Snapshot<'_>, out: &mut Vec<Draft>) {
    registry_tier(s, out);
    registry_key_type(s, out);
    sql_mi_identity(s, out);
    container_group_hsm(s, out);
    encryption_set_errors(s, out);
}

/// A finding about a whole resource known from a detail table, with the scope of its binding.
#[allow(clippy::too_many_arguments)] // Each argument is a different column.
fn draft(
    rule: &'static RuleInfo,
    resource_id: &str,
    scope: &str,
    resource_type: &str,
    subscription_id: &str,
    title: String,
    facts: Facts,
    fix: String,
) -> Draft {
    Draft {
        rule,
        resource_id: resource_id.to_string(),
        encryption_scope: scope.to_string(),
        resource_type: Some(resource_type.to_string()),
        subscription_id: Some(subscription_id.to_string()),
        title,
        evidence: facts.into_vec(),
        fix,
    }
}

/// CMK011: registry encrypted with a customer-managed key on Basic or Standard.
fn registry_tier(s: &Snapshot<'_>, out: &mut Vec<Draft>) {
    let mut rows: Vec<_> = s.tables.container_registries.iter().collect();
    rows.sort();
    for r in rows {
        let cmk = key_source::from_acr_encryption_status(r.encryption_status.as_deref())
            == Some(key_source::CUSTOMER_MANAGED);
        let Some(sku) = r.sku_name.as_deref() else { continue };
        if !cmk || sku.trim().eq_ignore_ascii_case("Premium") {
            continue;
        }
        let facts = Facts::new()
            .add("container_registries", "sku_name", &r.sku_name)
            .add("container_registries", "encryption_status", &r.encryption_status)
            .add("container_registries", "key_identifier", &r.key_identifier);
        let title = format!("{}: customer-managed key on the {sku} tier; ACR supports CMK on Premium only", r.name);
        out.push(draft(
            &CMK011,
            &r.resource_id,
            encryption_scope::REGISTRY,
            resource_types::CONTAINER_REGISTRY,
            &r.subscription_id,
            title,
            facts,
            fix::acr_premium(&r.resource_id),
        ));
    }
}

/// CMK012: registry key that is neither RSA nor RSA-HSM (elliptic curve, symmetric).
fn registry_key_type(s: &Snapshot<'_>, out: &mut Vec<Draft>) {
    for c in s.cmk.iter().filter(|c| c.resource_type.eq_ignore_ascii_case(resource_types::CONTAINER_REGISTRY)) {
        let Some(kty) = c.key_type.as_deref() else { continue };
        if ["RSA", "RSA-HSM"].iter().any(|ok| kty.trim().eq_ignore_ascii_case(ok)) {
            continue;
        }
        let facts = Facts::new()
            .add("cmk_chain", "key_type", &c.key_type)
            .add("cmk_chain", "key_vault_uri", &c.key_vault_uri)
            .add("cmk_chain", "key_name", &c.key_name);
        let title = format!(
            "{} encrypts with {kty} key {}; ACR supports only RSA or RSA-HSM keys",
            subject(c),
            c.key_name.as_deref().unwrap_or("?")
        );
        out.push(Draft::about_binding(&CMK012, c, title, facts.into_vec(), fix::acr_rsa_key(c)));
    }
}

/// CMK013: SQL managed instance whose TDE protector is reached with its system-assigned identity.
fn sql_mi_identity(s: &Snapshot<'_>, out: &mut Vec<Draft>) {
    for c in s.cmk.iter().filter(|c| c.resource_type.eq_ignore_ascii_case(resource_types::SQL_MANAGED_INSTANCE)) {
        if c.identity_type.as_deref() != Some(identity_type::SYSTEM_ASSIGNED) {
            continue;
        }
        let mut facts = Facts::new().add("cmk_chain", "identity_type", &c.identity_type).add(
            "cmk_chain",
            "identity_principal_id",
            &c.identity_principal_id,
        );
        if let Some(server) = s.tables.sql_servers.iter().filter(|r| r.resource_id == c.resource_id).min() {
            facts = facts.add("sql_servers", "identity_type_raw", &server.identity_type_raw).add(
                "sql_servers",
                "primary_user_assigned_identity_id",
                &server.primary_user_assigned_identity_id,
            );
        }
        let title = format!(
            "{} reaches its TDE protector key {} with its system-assigned identity; SQL managed instance CMK needs a \
             user-assigned identity",
            subject(c),
            c.key_name.as_deref().unwrap_or("?")
        );
        out.push(Draft::about_binding(&CMK013, c, title, facts.into_vec(), fix::sql_mi_user_assigned(&c.resource_id)));
    }
}

/// CMK014: container group whose key is in a Managed HSM.
fn container_group_hsm(s: &Snapshot<'_>, out: &mut Vec<Draft>) {
    let mut rows: Vec<_> = s
        .tables
        .container_groups
        .iter()
        .filter(|g| g.vault_kind.as_deref() == Some(VaultKind::ManagedHsm.as_str()))
        .collect();
    rows.sort();
    for g in rows {
        let facts = Facts::new()
            .add("container_groups", "vault_kind", &g.vault_kind)
            .add("container_groups", "vault_base_url", &g.vault_base_url)
            .add("container_groups", "key_name", &g.key_name);
        let hsm = g.vault_base_url.as_deref().map_or_else(|| "a Managed HSM".to_string(), fix::vault_name);
        let title = format!(
            "{}: key {} is in Managed HSM {hsm}; Azure Container Instances supports only Key Vault keys",
            g.name,
            g.key_name.as_deref().unwrap_or("?")
        );
        out.push(draft(
            &CMK014,
            &g.resource_id,
            encryption_scope::CONTAINER_GROUP,
            resource_types::CONTAINER_GROUP,
            &g.subscription_id,
            title,
            facts,
            fix::aci_key_vault(&g.resource_id),
        ));
    }
}

/// CMK015: disk encryption set with `autoKeyRotationError`.
fn encryption_set_errors(s: &Snapshot<'_>, out: &mut Vec<Draft>) {
    let mut rows: Vec<_> = s
        .tables
        .disk_encryption_sets
        .iter()
        .filter(|d| d.auto_key_rotation_error_code.is_some() || d.auto_key_rotation_error_message.is_some())
        .collect();
    rows.sort();
    for d in rows {
        let facts = Facts::new()
            .add("disk_encryption_sets", "auto_key_rotation_error_code", &d.auto_key_rotation_error_code)
            .add("disk_encryption_sets", "auto_key_rotation_error_message", &d.auto_key_rotation_error_message)
            .add(
                "disk_encryption_sets",
                "rotation_to_latest_key_version_enabled",
                d.rotation_to_latest_key_version_enabled,
            )
            .add("disk_encryption_sets", "active_key_url", &d.active_key_url);
        let title = format!(
            "{}: automatic key rotation stopped with {}; its disks stay on the current key version",
            d.name,
            d.auto_key_rotation_error_code.as_deref().unwrap_or("an error")
        );
        out.push(draft(
            &CMK015,
            &d.resource_id,
            encryption_scope::ENCRYPTION_SET,
            resource_types::DISK_ENCRYPTION_SET,
            &d.subscription_id,
            title,
            facts,
            fix::des_rotation_error(&d.resource_id),
        ));
    }
}
