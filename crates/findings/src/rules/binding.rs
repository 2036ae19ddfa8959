//! Rules about one binding's key, read from its `cmk_chain` row: the identity's access (CMK001), the state of
//! the version in use (CMK002 disabled, CMK003 expired, CMK004 expiring), a pinned version behind the latest
//! enabled one (CMK016), and Microsoft-managed keys where the policy requires CMK (CMK017).

use evidence::vocab::{identity_type, key_source};
use evidence::{CmkChainRow, Timestamp};

use super::{CMK001, CMK002, CMK003, CMK004, CMK016, CMK017, Draft};
use crate::facts::Facts;
use crate::fix;
use crate::snapshot::{Snapshot, key_join};

const DAY_MICROS: i64 = 86_400 * 1_000_000;

pub(super) fn check(s: &Snapshot<'_>, out: &mut Vec<Draft>) {
    for c in &s.cmk {
        identity_access(c, out);
        version_state(s, c, out);
        pinned_behind(s, c, out);
    }
    required_cmk(s, out);
}

/// `stcontosoreports (account)`.
pub(super) fn subject(c: &CmkChainRow) -> String {
    format!("{} ({})", c.resource_name, c.encryption_scope)
}

/// `key cmk-reports in kv-contoso-prod`, and the set that holds it for disks.
fn key_label(c: &CmkChainRow) -> String {
    let vault = c.key_vault_uri.as_deref().map_or_else(|| "an unknown vault".to_string(), fix::vault_name);
    let via = c
        .key_via_resource_id
        .as_deref()
        .and_then(evidence::ids::resource_name_of)
        .map(|d| format!(" through disk encryption set {d}"))
        .unwrap_or_default();
    format!("key {} in {vault}{via}", c.key_name.as_deref().unwrap_or("?"))
}

/// The facts that name the key a binding uses.
fn key_facts(facts: Facts, c: &CmkChainRow) -> Facts {
    let facts = facts.add("cmk_chain", "key_vault_uri", &c.key_vault_uri).add("cmk_chain", "key_name", &c.key_name);
    match &c.key_via_resource_id {
        Some(via) => facts.add("cmk_chain", "key_via_resource_id", via),
        None => facts,
    }
}

pub(super) fn date(t: Timestamp) -> String {
    t.to_datetime().date().to_string()
}

/// CMK001: the chain established that the identity holds nothing that lets it use the key.
fn identity_access(c: &CmkChainRow, out: &mut Vec<Draft>) {
    if c.identity_has_crypto_role != Some(false) {
        return;
    }
    let who = match c.identity_type.as_deref() {
        Some(identity_type::NONE) => "but has no managed identity that could reach it".to_string(),
        kind => format!(
            "but its {} identity {} holds no crypto role or get/wrapKey/unwrapKey access policy on it",
            kind.unwrap_or("managed").replace('_', "-"),
            c.identity_principal_id.as_deref().unwrap_or("?")
        ),
    };
    let facts = Facts::new()
        .add("cmk_chain", "identity_has_crypto_role", c.identity_has_crypto_role)
        .add("cmk_chain", "identity_type", &c.identity_type)
        .add("cmk_chain", "identity_principal_id", &c.identity_principal_id)
        .add("cmk_chain", "crypto_roles", &c.crypto_roles)
        .add("cmk_chain", "vault_rbac_authorization", c.vault_rbac_authorization);
    let facts = key_facts(facts, c);
    let title = format!("{} uses {} {who}", subject(c), key_label(c));
    out.push(Draft::about_binding(&CMK001, c, title, facts.into_vec(), fix::grant_key_use(c)));
}

/// CMK002, CMK003, CMK004: the version in use is disabled, expired or about to expire.
fn version_state(s: &Snapshot<'_>, c: &CmkChainRow, out: &mut Vec<Draft>) {
    let version = c.in_use_key_version.as_deref().unwrap_or("?");
    if c.key_enabled == Some(false) {
        let facts = Facts::new()
            .add("cmk_chain", "key_enabled", c.key_enabled)
            .add("cmk_chain", "in_use_key_version", &c.in_use_key_version)
            .add("cmk_chain", "latest_key_version", &c.latest_key_version);
        let title = format!(
            "{} uses version {version} of {}, which is disabled: the service cannot unwrap its data key",
            subject(c),
            key_label(c)
        );
        out.push(Draft::about_binding(&CMK002, c, title, key_facts(facts, c).into_vec(), fix::reenable_version(c)));
    }
    let Some(expires) = c.key_expires_at else { return };
    let facts = || {
        let facts = Facts::new().add("cmk_chain", "key_expires_at", c.key_expires_at).add(
            "cmk_chain",
            "in_use_key_version",
            &c.in_use_key_version,
        );
        key_facts(facts, c).into_vec()
    };
    if expires <= s.taken_at {
        let title =
            format!("{} uses version {version} of {}, which expired on {}", subject(c), key_label(c), date(expires));
        out.push(Draft::about_binding(&CMK003, c, title, facts(), fix::renew_version(c, true)));
        return;
    }
    let warning = i64::from(s.policy.expiry_warning_days()) * DAY_MICROS;
    let left = expires.micros() - s.taken_at.micros();
    if left <= warning {
        let days = (left + DAY_MICROS - 1) / DAY_MICROS;
        let title = format!(
            "{} uses version {version} of {}, which expires on {} (in {days} day{})",
            subject(c),
            key_label(c),
            date(expires),
            if days == 1 { "" } else { "s" }
        );
        out.push(Draft::about_binding(&CMK004, c, title, facts(), fix::renew_version(c, false)));
    }
}

/// CMK016: a pinned version older than the newest enabled version of the key.
fn pinned_behind(s: &Snapshot<'_>, c: &CmkChainRow, out: &mut Vec<Draft>) {
    if c.configured_key_version.is_none() {
        return;
    }
    let (Some(uri), Some(name), Some(in_use)) =
        (c.key_vault_uri.as_deref(), c.key_name.as_deref(), c.in_use_key_version.as_deref())
    else {
        return;
    };
    let Some(versions) = key_join(uri, name).and_then(|join| s.versions_by_key.get(&join)) else { return };
    let Some(current) = versions.iter().find(|v| v.version.eq_ignore_ascii_case(in_use)) else { return };
    let Some(current_created) = current.created_at else { return };
    let newest = versions
        .iter()
        .filter(|v| v.enabled == Some(true))
        .filter_map(|v| v.created_at.map(|t| (t, v.version.to_ascii_lowercase(), *v)))
        .max_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let Some((newest_created, _, newest)) = newest else { return };
    if newest_created <= current_created || newest.version.eq_ignore_ascii_case(in_use) {
        return;
    }
    let facts = Facts::new()
        .add("cmk_chain", "configured_key_version", &c.configured_key_version)
        .add("cmk_chain", "in_use_key_version", &c.in_use_key_version)
        .add("key_versions", "version", &current.version)
        .add("key_versions", "created_at", current.created_at)
        .add("key_versions", "version", &newest.version)
        .add("key_versions", "enabled", newest.enabled)
        .add("key_versions", "created_at", newest.created_at);
    let title = format!(
        "{} is pinned to version {in_use} of {} (created {}); the latest enabled version {} was created {}",
        subject(c),
        key_label(c),
        date(current_created),
        newest.version,
        date(newest_created)
    );
    let fix = format!("Move to the latest enabled version: {}.", fix::point_at_version(c, &newest.version));
    out.push(Draft::about_binding(&CMK016, c, title, key_facts(facts, c).into_vec(), fix));
}

/// CMK017: bindings on Microsoft-managed keys whose resource type the policy lists in `require_cmk`.
fn required_cmk(s: &Snapshot<'_>, out: &mut Vec<Draft>) {
    if s.policy.require_cmk().is_empty() {
        return;
    }
    let mut rows: Vec<&CmkChainRow> = s
        .tables
        .cmk_chain
        .iter()
        .filter(|c| c.key_source.as_deref() == Some(key_source::MICROSOFT_MANAGED))
        .filter(|c| s.policy.requires_cmk(&c.resource_type))
        .collect();
    rows.sort();
    for c in rows {
        let facts = Facts::new()
            .add("cmk_chain", "key_source", &c.key_source)
            .add("cmk_chain", "resource_type", &c.resource_type)
            .add("cmk_chain", "chain_status", &c.chain_status);
        let title = format!(
            "{} uses Microsoft-managed keys; the policy requires customer-managed keys for {}",
            subject(c),
            c.resource_type
        );
        out.push(Draft::about_binding(
            &CMK017,
            c,
            title,
            facts.into_vec(),
            fix::adopt_cmk(&c.resource_type, &c.resource_id),
        ));
    }
}
