//! Rules about a Key Vault or Managed HSM, from `key_vaults` / `managed_hsms`: purge protection (CMK005), soft
//! delete (CMK006), separation of duties between key administrators and the owners of the resources the keys
//! protect (CMK009), and a closed network without the trusted-services bypass while CMK bindings use it
//! (CMK010). Findings use the vault's ARM id and an empty encryption scope.

use std::collections::BTreeMap;

use evidence::ids::{normalize_resource_id, normalize_vault_uri, scope_covers};
use evidence::{CmkChainRow, RoleAssignmentRow, resource_types};

use super::{CMK005, CMK006, CMK009, CMK010, Draft, RuleInfo};
use crate::facts::Facts;
use crate::fix::{self, VaultTarget};
use crate::snapshot::Snapshot;

/// Owner.
const OWNER_GUID: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
/// Contributor.
const CONTRIBUTOR_GUID: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";

/// The columns the vault rules read, the same for a Key Vault and a Managed HSM.
struct Vault<'a> {
    table: &'static str,
    uri_column: &'static str,
    resource_type: &'static str,
    uri: &'a str,
    resource_id: &'a str,
    name: &'a str,
    subscription_id: &'a str,
    soft_delete: Option<bool>,
    purge_protection: Option<bool>,
    public_network_access: Option<&'a str>,
    network_default_action: Option<&'a str>,
    network_bypass: Option<&'a str>,
}

impl Vault<'_> {
    fn target(&self) -> VaultTarget<'_> {
        VaultTarget { name: self.name, resource_id: self.resource_id, hsm: self.table == "managed_hsms" }
    }

    fn facts(&self) -> Facts {
        Facts::new().add(self.table, self.uri_column, self.uri)
    }

    fn draft(&self, rule: &'static RuleInfo, title: String, facts: Facts, fix: String) -> Draft {
        Draft {
            rule,
            resource_id: self.resource_id.to_string(),
            encryption_scope: String::new(),
            resource_type: Some(self.resource_type.to_string()),
            subscription_id: Some(self.subscription_id.to_string()),
            title,
            evidence: facts.into_vec(),
            fix,
        }
    }
}

pub(super) fn check(s: &Snapshot<'_>, out: &mut Vec<Draft>) {
    let mut vaults: Vec<Vault<'_>> = s
        .tables
        .key_vaults
        .iter()
        .map(|v| Vault {
            table: "key_vaults",
            uri_column: "vault_uri",
            resource_type: resource_types::KEY_VAULT,
            uri: &v.vault_uri,
            resource_id: &v.resource_id,
            name: &v.name,
            subscription_id: &v.subscription_id,
            soft_delete: v.soft_delete_enabled,
            purge_protection: v.purge_protection_enabled,
            public_network_access: v.public_network_access.as_deref(),
            network_default_action: v.network_default_action.as_deref(),
            network_bypass: v.network_bypass.as_deref(),
        })
        .chain(s.tables.managed_hsms.iter().map(|h| Vault {
            table: "managed_hsms",
            uri_column: "hsm_uri",
            resource_type: resource_types::MANAGED_HSM,
            uri: &h.hsm_uri,
            resource_id: &h.resource_id,
            name: &h.name,
            subscription_id: &h.subscription_id,
            soft_delete: h.soft_delete_enabled,
            purge_protection: h.purge_protection_enabled,
            public_network_access: h.public_network_access.as_deref(),
            network_default_action: h.network_default_action.as_deref(),
            network_bypass: h.network_bypass.as_deref(),
        }))
        .collect();
    vaults.sort_by(|a, b| (a.resource_id, a.uri).cmp(&(b.resource_id, b.uri)));
    vaults.dedup_by(|a, b| a.resource_id == b.resource_id);
    let broad = broad_assignments(s);
    for v in &vaults {
        let users = s.bindings_of_vault(v.uri);
        deletion_protection(v, users, out);
        closed_network(v, users, out);
        separation_of_duties(s, v, users, &broad, out);
    }
}

/// ` — N CMK bindings use its keys`.
fn usage(users: &[&CmkChainRow]) -> String {
    match users.len() {
        0 => String::new(),
        1 => " — 1 CMK binding uses its keys".to_string(),
        n => format!(" — {n} CMK bindings use its keys"),
    }
}

fn with_users(facts: Facts, users: &[&CmkChainRow]) -> Facts {
    facts.add_list("cmk_chain", "resource_id", users.iter().map(|c| c.resource_id.as_str()))
}

/// How a protection flag reads in a title: off, or absent (which for these properties means never enabled).
fn state(value: Option<bool>) -> &'static str {
    match value {
        Some(false) => "off",
        _ => "not enabled (Azure omits the property when it was never enabled)",
    }
}

/// CMK005 and CMK006.
fn deletion_protection(v: &Vault<'_>, users: &[&CmkChainRow], out: &mut Vec<Draft>) {
    if v.purge_protection != Some(true) {
        let facts = v.facts().add(v.table, "purge_protection_enabled", v.purge_protection);
        let title = format!(
            "{}: purge protection {}: a deleted key can be purged before its retention ends{}",
            v.name,
            state(v.purge_protection),
            usage(users)
        );
        out.push(v.draft(&CMK005, title, with_users(facts, users), fix::purge_protection(&v.target())));
    }
    if v.soft_delete != Some(true) {
        let facts = v.facts().add(v.table, "soft_delete_enabled", v.soft_delete);
        let title =
            format!("{}: soft delete {}: a deleted key is gone at once{}", v.name, state(v.soft_delete), usage(users));
        out.push(v.draft(&CMK006, title, with_users(facts, users), fix::soft_delete(&v.target())));
    }
}

/// CMK010: the firewall shuts out public traffic and does not let trusted Azure services through.
fn closed_network(v: &Vault<'_>, users: &[&CmkChainRow], out: &mut Vec<Draft>) {
    if users.is_empty() {
        return;
    }
    let deny = v.network_default_action.is_some_and(|a| a.trim().eq_ignore_ascii_case("Deny"));
    let disabled = v.public_network_access.is_some_and(|a| a.trim().eq_ignore_ascii_case("Disabled"));
    // A bypass Azure did not report is unknown, not "None": no finding.
    let Some(bypass) = v.network_bypass else { return };
    let trusted = bypass.split(',').any(|p| p.trim().eq_ignore_ascii_case("AzureServices"));
    if !(deny || disabled) || trusted {
        return;
    }
    let facts = v
        .facts()
        .add(v.table, "public_network_access", v.public_network_access)
        .add(v.table, "network_default_action", v.network_default_action)
        .add(v.table, "network_bypass", v.network_bypass);
    let closed = match (disabled, deny) {
        (true, true) => "public network access Disabled and firewall default action Deny",
        (true, false) => "public network access Disabled",
        _ => "firewall default action Deny",
    };
    let title = format!(
        "{}: {closed} without the trusted-services bypass (bypass {bypass}); CMK services may be unable to reach \
         the key{}",
        v.name,
        usage(users)
    );
    out.push(v.draft(&CMK010, title, with_users(facts, users), fix::trusted_bypass(&v.target())));
}

/// Owner and Contributor assignments (Azure RBAC) of the snapshot, once each, in id order.
fn broad_assignments<'a>(s: &Snapshot<'a>) -> Vec<&'a RoleAssignmentRow> {
    let mut by_id: BTreeMap<&str, &RoleAssignmentRow> = BTreeMap::new();
    for r in &s.tables.role_assignments {
        let guid = r.role_definition_guid.trim();
        if guid.eq_ignore_ascii_case(OWNER_GUID) || guid.eq_ignore_ascii_case(CONTRIBUTOR_GUID) {
            by_id.entry(r.assignment_id.as_str()).or_insert(r);
        }
    }
    by_id.into_values().collect()
}

fn broad_role_name(r: &RoleAssignmentRow) -> &'static str {
    if r.role_definition_guid.trim().eq_ignore_ascii_case(OWNER_GUID) { "Owner" } else { "Contributor" }
}

/// How a principal manages the keys of a vault: a role assignment listed for the vault, or an access policy.
enum KeyManagement<'a> {
    Role(&'a RoleAssignmentRow),
    AccessPolicy(&'a evidence::VaultAccessPolicyRow),
}

/// CMK009: a principal that manages the vault's keys also holds Owner or Contributor at a scope containing a
/// resource that uses one of them.
fn separation_of_duties(
    s: &Snapshot<'_>,
    v: &Vault<'_>,
    users: &[&CmkChainRow],
    broad: &[&RoleAssignmentRow],
    out: &mut Vec<Draft>,
) {
    if users.is_empty() || broad.is_empty() {
        return;
    }
    let vault_uri = normalize_vault_uri(v.uri);
    // Principal (lower case) → how it manages the keys, first in a stable order.
    let mut managers: BTreeMap<String, KeyManagement<'_>> = BTreeMap::new();
    let mut roles: Vec<&RoleAssignmentRow> = s
        .tables
        .role_assignments
        .iter()
        .filter(|r| r.manages_keys)
        .filter(|r| {
            normalize_resource_id(&r.queried_scope) == v.resource_id
                || normalize_vault_uri(&r.queried_scope) == vault_uri
        })
        .collect();
    roles.sort_by(|a, b| (&a.assignment_id, &a.queried_scope).cmp(&(&b.assignment_id, &b.queried_scope)));
    for r in roles {
        managers.entry(r.principal_id.to_ascii_lowercase()).or_insert(KeyManagement::Role(r));
    }
    let mut policies: Vec<&evidence::VaultAccessPolicyRow> =
        s.tables.vault_access_policies.iter().filter(|p| p.manages_keys && p.vault_uri == vault_uri).collect();
    policies.sort();
    for p in policies {
        managers.entry(p.object_id.to_ascii_lowercase()).or_insert(KeyManagement::AccessPolicy(p));
    }

    let mut facts = v.facts();
    let mut affected: Vec<&str> = Vec::new();
    let mut first_fix: Option<String> = None;
    let mut principals = 0usize;
    for (principal, management) in &managers {
        let mut offending = false;
        for b in broad.iter().filter(|b| b.principal_id.eq_ignore_ascii_case(principal)) {
            let covered: Vec<&str> = users
                .iter()
                .filter(|c| scope_covers(&b.scope, &c.resource_id))
                .map(|c| c.resource_id.as_str())
                .collect();
            if covered.is_empty() {
                continue;
            }
            if !offending {
                offending = true;
                principals += 1;
                facts = match management {
                    KeyManagement::Role(r) => facts
                        .add("role_assignments", "principal_id", &r.principal_id)
                        .add("role_assignments", "manages_keys", r.manages_keys)
                        .add("role_assignments", "role_name", r.role_name.as_deref().unwrap_or(&r.role_definition_guid))
                        .add("role_assignments", "scope", &r.scope),
                    KeyManagement::AccessPolicy(p) => facts
                        .add("vault_access_policies", "object_id", &p.object_id)
                        .add("vault_access_policies", "manages_keys", p.manages_keys)
                        .add("vault_access_policies", "key_permissions", &p.key_permissions),
                };
            }
            facts = facts
                .add("role_assignments", "principal_id", &b.principal_id)
                .add("role_assignments", "role_definition_guid", &b.role_definition_guid)
                .add("role_assignments", "scope", &b.scope);
            first_fix.get_or_insert_with(|| fix::separate_duties(&b.principal_id, broad_role_name(b), &b.scope));
            affected.extend(covered);
        }
    }
    let Some(fix) = first_fix else { return };
    affected.sort_unstable();
    affected.dedup();
    let n = affected.len();
    let title = format!(
        "{}: {principals} principal{} that can manage its keys also hold{} Owner or Contributor over {n} resource{} \
         encrypted with them",
        v.name,
        if principals == 1 { "" } else { "s" },
        if principals == 1 { "s" } else { "" },
        if n == 1 { "" } else { "s" }
    );
    let facts = facts.add_list("cmk_chain", "resource_id", affected);
    out.push(v.draft(&CMK009, title, facts, fix));
}
