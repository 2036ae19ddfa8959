//! `findings`: rules over one snapshot. Each rule reads the evidence tables (`cmk_chain` first, then the vault,
//! key, role and service tables) and emits one `findings` row per thing it finds wrong, with the facts that prove
//! it (`table.column=value`), where the rule comes from (the seed documents, Microsoft's service limits) and the
//! `az` command that fixes it. Rules never guess: a null ("Azure did not say", or a link of the chain that could
//! not be read) produces no finding, except where a rule says that absence itself is the problem (purge
//! protection, soft delete).
//!
//! ```
//! let tables = evidence::Tables::default();
//! let policy = findings::Policy::from_toml_str("max_key_age_days = 180", "example")?;
//! let taken_at = evidence::Timestamp::from_micros(0);
//! assert!(findings::evaluate(&tables, &policy, taken_at).is_empty());
//! assert_eq!(findings::RULES.first().map(|r| r.id), Some("CMK001"));
//! # Ok::<(), findings::Error>(())
//! ```
//!
//! # The rules
//!
//! [`RULES`] lists every rule in id order with its title, default severity and source:
//! CMK001–CMK004 judge each binding's key (identity access, version disabled, expired, expiring), CMK005,
//! CMK006, CMK009 and CMK010 each vault or Managed HSM (purge protection, soft delete, separation of duties,
//! closed network without the trusted-services bypass), CMK007 and CMK008 each key in use (rotation policy,
//! age), CMK011–CMK015 service limits (ACR SKU and key type, SQL MI identity, ACI with Managed HSM, disk
//! encryption set rotation errors), CMK016 versions pinned behind the latest enabled one, CMK017 resources on
//! Microsoft-managed keys where the policy requires CMK, and CMK018 services that cannot use CMK at rest.
//!
//! Where a finding is about a binding, `resource_id` and `encryption_scope` are the binding's; vault findings
//! use the vault's (or HSM's) ARM id and key findings the key identifier `https://{vault}/keys/{name}`, both
//! with an empty `encryption_scope`.
//!
//! # The policy file
//!
//! A per-tenant `policy.toml` tunes the rules; every key is optional and [`Policy::default`] is what an empty
//! file gives. Unknown keys, unknown rule ids and bad values are errors naming the file and the line.
//!
//! ```toml
//! # ARM types that must use customer-managed keys (CMK017); compared case-insensitively. Default: none.
//! require_cmk = ["Microsoft.Storage/storageAccounts", "Microsoft.Sql/servers"]
//! # CMK008: a key whose latest version is older than this many days. Default 365.
//! max_key_age_days = 365
//! # CMK004: a version in use that expires within this many days (0 turns the warning off). Default 30.
//! expiry_warning_days = 30
//! # Rules that produce no findings. Default: none.
//! disabled_rules = ["CMK018"]
//! # Severity per rule id: info, low, medium, high or critical. Default: each rule's own.
//! [severity]
//! CMK004 = "high"
//! ```
//!
//! `crates/findings/policy.example.toml` is the same file with every key explained.

mod facts;
mod fix;
mod policy;
mod rules;
mod severity;
mod snapshot;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use evidence::{FindingRow, Table, Tables, Timestamp};

pub use policy::Policy;
pub use rules::{RULES, RuleInfo};

use crate::rules::Draft;
use crate::snapshot::Snapshot;

/// Errors of the findings crate: a policy file that cannot be read or is not valid.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The policy file could not be read.
    #[error("reading policy file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The policy is not valid TOML, has an unknown key, or a value the rules cannot use.
    #[error("{origin}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Policy {
        /// Where the policy came from (a path, or what the caller named it).
        origin: String,
        /// 1-based line of the offending key or value, when known.
        line: Option<usize>,
        /// What is wrong and what is allowed instead.
        message: String,
    },
}

/// Runs every enabled rule of `policy` over the snapshot in `tables`, taken at `taken_at`, and returns the
/// findings sorted by the `findings` table's primary key. The result depends only on the arguments (not on the
/// order of the rows in `tables`). Tenant and snapshot ids come from the snapshot's rows; a snapshot without
/// rows gives no findings.
pub fn evaluate(tables: &Tables, policy: &Policy, taken_at: Timestamp) -> Vec<FindingRow> {
    let Some((tenant_id, snapshot_id)) = snapshot_identity(tables) else {
        return Vec::new();
    };
    let snapshot = Snapshot::index(tables, policy, taken_at);
    let mut drafts: Vec<Draft> = Vec::new();
    rules::run_all(&snapshot, &mut drafts);
    let mut rows: Vec<FindingRow> = drafts
        .into_iter()
        .filter(|d| policy.is_enabled(d.rule.id))
        .map(|d| FindingRow {
            tenant_id: tenant_id.clone(),
            snapshot_id: snapshot_id.clone(),
            rule_id: d.rule.id.to_string(),
            severity: policy.severity_of(d.rule).as_str().to_string(),
            resource_id: d.resource_id,
            encryption_scope: d.encryption_scope,
            resource_type: d.resource_type,
            subscription_id: d.subscription_id,
            title: d.title,
            evidence: d.evidence,
            source: d.rule.source.to_string(),
            fix: d.fix,
        })
        .collect();
    FindingRow::sort(&mut rows);
    rows.dedup();
    rows
}

/// Tenant and snapshot id of the snapshot: from `cmk_chain`, else `coverage`, else any vault-side or service
/// table. The smallest pair is taken so that row order does not matter (a snapshot has one of each).
fn snapshot_identity(t: &Tables) -> Option<(String, String)> {
    fn min_of<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>) -> Option<(String, String)> {
        pairs.min().map(|(t, s)| (t.clone(), s.clone()))
    }
    min_of(t.cmk_chain.iter().map(|r| (&r.tenant_id, &r.snapshot_id)))
        .or_else(|| min_of(t.coverage.iter().map(|r| (&r.tenant_id, &r.snapshot_id))))
        .or_else(|| min_of(t.key_vaults.iter().map(|r| (&r.tenant_id, &r.snapshot_id))))
        .or_else(|| min_of(t.managed_hsms.iter().map(|r| (&r.tenant_id, &r.snapshot_id))))
        .or_else(|| min_of(t.container_registries.iter().map(|r| (&r.tenant_id, &r.snapshot_id))))
        .or_else(|| min_of(t.container_groups.iter().map(|r| (&r.tenant_id, &r.snapshot_id))))
        .or_else(|| min_of(t.disk_encryption_sets.iter().map(|r| (&r.tenant_id, &r.snapshot_id))))
}
