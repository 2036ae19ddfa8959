//! `findings`: what is wrong with the snapshot, rule by rule, with the evidence that proves it and the fix.

use crate::table::evidence_table;

evidence_table! {
    /// One row per rule × resource it fires on: a stable rule id, its severity, the resource, a title, the
    /// evidence columns (as `column=value` pairs from the tables named), where the rule comes from, and the `az`
    /// command that fixes it.
    table FindingRow = "findings", version 1, key(rule_id, resource_id, encryption_scope) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Stable rule id, e.g. `CMK001`.
        rule_id: String,
        /// `info`, `low`, `medium`, `high` or `critical` (the policy may change a rule's severity).
        severity: String,
        /// The resource the finding is about (normalised ARM id, or a vault or key URI).
        resource_id: String,
        /// Encryption scope of the binding concerned; empty when the finding is about the whole resource.
        encryption_scope: String,
        /// ARM resource type.
        resource_type: Option<String>,
        /// Subscription (lower case), when known.
        subscription_id: Option<String>,
        /// One line saying what is wrong.
        title: String,
        /// The facts that prove it, as `table.column=value` pairs.
        evidence: Vec<String>,
        /// Where the rule comes from (a seed document or Microsoft's documentation).
        source: String,
        /// What to do, with the `az` command that does it.
        fix: String,
    }
}
