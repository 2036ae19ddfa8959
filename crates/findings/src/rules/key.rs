//! Rules about a key in use, from `keys` and `rotation_policies`: no rotation policy that rotates it (CMK007),
//! and a latest version older than the policy's `max_key_age_days` (CMK008). Findings use the key identifier
//! `https://{vault}/keys/{name}` and an empty encryption scope, and list the bindings that use the key.

use std::collections::HashMap;

use evidence::{CmkChainRow, KeyRow, VaultKind, resource_types};

use super::{CMK007, CMK008, Draft, RuleInfo};
use crate::facts::Facts;
use crate::fix;
use crate::snapshot::{KeyJoin, Snapshot, key_join};

const DAY_MICROS: i64 = 86_400 * 1_000_000;

pub(super) fn check(s: &Snapshot<'_>, out: &mut Vec<Draft>) {
    let mut keys: HashMap<KeyJoin, &KeyRow> = HashMap::new();
    for k in &s.tables.keys {
        if let Some(join) = key_join(&k.key_vault_uri, &k.key_name) {
            // Two rows for one key would be a collector bug; keep the smallest so the result is stable.
            keys.entry(join).and_modify(|kept| *kept = (*kept).min(k)).or_insert(k);
        }
    }
    for (join, users) in &s.bindings_by_key {
        let Some(key) = keys.get(join) else { continue };
        rotation_policy(s, join, key, users, out);
        key_age(s, key, users, out);
    }
}

#[allow(clippy::too_many_arguments)] // Each argument is a different part of the finding.
fn draft(
    s: &Snapshot<'_>,
    rule: &'static RuleInfo,
    key: &KeyRow,
    users: &[&CmkChainRow],
    title: String,
    facts: Facts,
    fix: String,
) -> Draft {
    let resource_type = if key.vault_kind == VaultKind::ManagedHsm.as_str() {
        "Microsoft.KeyVault/managedHSMs/keys"
    } else {
        resource_types::KEY
    };
    Draft {
        rule,
        resource_id: key.key_id.clone(),
        encryption_scope: String::new(),
        resource_type: Some(resource_type.to_string()),
        subscription_id: s.vault_subscription(&key.key_vault_uri).map(str::to_string),
        title,
        evidence: facts.add_list("cmk_chain", "resource_id", users.iter().map(|c| c.resource_id.as_str())).into_vec(),
        fix,
    }
}

fn label(key: &KeyRow) -> String {
    format!("key {} in {}", key.key_name, fix::vault_name(&key.key_vault_uri))
}

fn used_by(users: &[&CmkChainRow]) -> String {
    match users.len() {
        1 => format!("used by {}", users[0].resource_name),
        n => format!("used by {n} bindings"),
    }
}

/// CMK007: the policy that was read does not rotate the key (Key Vault's implicit policy included).
fn rotation_policy(s: &Snapshot<'_>, join: &KeyJoin, key: &KeyRow, users: &[&CmkChainRow], out: &mut Vec<Draft>) {
    let facts = Facts::new().add("keys", "key_id", &key.key_id);
    let (facts, why) = match s.policy_by_key.get(join) {
        Some(p) if p.rotates_automatically => return,
        Some(p) => (
            facts
                .add("rotation_policies", "rotates_automatically", p.rotates_automatically)
                .add("rotation_policies", "lifetime_action_count", p.lifetime_action_count)
                .add("rotation_policies", "created_at", p.created_at),
            // Key Vault answers for a key never given a policy with an implicit one: no creation or update
            // time, a Notify action at most.
            if p.created_at.is_none() && p.updated_at.is_none() {
                "has no rotation policy of its own (only Key Vault's implicit one, which does not rotate)"
            } else {
                "has a rotation policy without a Rotate action"
            },
        ),
        // Key Vault answers every readable key with a policy (an implicit one when none was set), so no row
        // means the policy was not read (collect: a coverage row; import: no file given). Unknown is not "none":
        // the chain names the gap (`rotation_policy_not_read`) and no finding is made up from it.
        None => return,
    };
    let title = format!("{} ({}) {why}: nothing rotates it", label(key), used_by(users));
    out.push(draft(s, &CMK007, key, users, title, facts, fix::rotation_policy(&key.key_vault_uri, &key.key_name)));
}

/// CMK008: the latest version is older than `max_key_age_days`.
fn key_age(s: &Snapshot<'_>, key: &KeyRow, users: &[&CmkChainRow], out: &mut Vec<Draft>) {
    let Some(created) = key.created_at else { return };
    let max_days = i64::from(s.policy.max_key_age_days());
    let age = s.taken_at.micros() - created.micros();
    if age <= max_days * DAY_MICROS {
        return;
    }
    let facts = Facts::new().add("keys", "key_id", &key.key_id).add("keys", "latest_version", &key.latest_version).add(
        "keys",
        "created_at",
        key.created_at,
    );
    let title = format!(
        "{} ({}): latest version {} was created {} days ago ({}), more than the {max_days} days the policy allows",
        label(key),
        used_by(users),
        key.latest_version,
        age / DAY_MICROS,
        super::binding::date(created)
    );
    out.push(draft(s, &CMK008, key, users, title, facts, fix::rotate_key(&key.key_vault_uri, &key.key_name)));
}
