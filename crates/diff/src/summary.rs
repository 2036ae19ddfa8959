//! The readable result of a diff: counts per class and severity, and the rows that need attention with what
//! changed. Held in bounded memory whatever the size of the snapshots (at most [`ATTENTION_LIMIT`] rows named).

use std::collections::BTreeMap;

use crate::class::{BINDING_CLASSES, Class, Severity};

/// Rows named in the summary at most; the rest are counted.
pub const ATTENTION_LIMIT: usize = 1_000;

/// One row that needs attention (severity low or above).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AttentionRow {
    /// `binding`, `vault`, `key_version`, `role_assignment`.
    pub subject: String,
    /// Resource, vault, key version or role assignment id.
    pub resource_id: String,
    /// Encryption scope of a binding.
    pub encryption_scope: Option<String>,
    /// The class.
    pub class: String,
    /// Its severity.
    pub severity: Severity,
    /// What changed.
    pub changes: Vec<String>,
}

/// Counts and the rows to look at.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    /// Tenant.
    pub tenant_id: String,
    /// Earlier snapshot.
    pub before_snapshot_id: String,
    /// Later snapshot.
    pub after_snapshot_id: String,
    /// Bindings compared (rows of `diff.parquet` with subject `binding`).
    pub bindings: u64,
    /// Bindings per class; every class is present, zero or not.
    pub by_class: BTreeMap<Class, u64>,
    /// Rows (all subjects) per severity; every severity is present.
    pub by_severity: BTreeMap<Severity, u64>,
    /// Other changes per `subject/class` (vaults, key versions, role assignments).
    pub other_changes: BTreeMap<String, u64>,
    /// The highest severity of any row.
    pub highest_severity: Option<Severity>,
    /// Rows of severity low or above, highest first (at most [`ATTENTION_LIMIT`]).
    pub attention: Vec<AttentionRow>,
    /// Rows of severity low or above not named in `attention`.
    pub attention_omitted: u64,
    #[serde(skip)]
    buckets: BTreeMap<Severity, Vec<AttentionRow>>,
    #[serde(skip)]
    attention_total: u64,
}

impl Summary {
    /// An empty summary.
    pub fn new(tenant_id: &str, before_snapshot_id: &str, after_snapshot_id: &str) -> Self {
        Self {
            tenant_id: tenant_id.to_string(),
            before_snapshot_id: before_snapshot_id.to_string(),
            after_snapshot_id: after_snapshot_id.to_string(),
            bindings: 0,
            by_class: BINDING_CLASSES.iter().map(|c| (*c, 0)).collect(),
            by_severity: Severity::ALL.iter().map(|s| (*s, 0)).collect(),
            other_changes: BTreeMap::new(),
            highest_severity: None,
            attention: Vec::new(),
            attention_omitted: 0,
            buckets: BTreeMap::new(),
            attention_total: 0,
        }
    }

    /// Counts a binding row; `describe` is called only when the row is named.
    pub fn binding(&mut self, class: Class, severity: Severity, describe: impl FnOnce() -> AttentionRow) {
        self.bindings += 1;
        *self.by_class.entry(class).or_default() += 1;
        self.row(severity, describe);
    }

    /// Counts a non-binding change.
    pub fn other(&mut self, subject: &str, class: &str, severity: Severity, describe: impl FnOnce() -> AttentionRow) {
        *self.other_changes.entry(format!("{subject}/{class}")).or_default() += 1;
        self.row(severity, describe);
    }

    fn row(&mut self, severity: Severity, describe: impl FnOnce() -> AttentionRow) {
        *self.by_severity.entry(severity).or_default() += 1;
        self.highest_severity = self.highest_severity.max(Some(severity));
        if severity < Severity::Low {
            return;
        }
        self.attention_total += 1;
        let bucket = self.buckets.entry(severity).or_default();
        if bucket.len() < ATTENTION_LIMIT {
            bucket.push(describe());
        }
    }

    /// Orders the named rows, highest severity first, keeping at most [`ATTENTION_LIMIT`].
    pub fn finish(&mut self) {
        let mut rows = Vec::new();
        for (_, bucket) in std::mem::take(&mut self.buckets).into_iter().rev() {
            rows.extend(bucket);
        }
        rows.truncate(ATTENTION_LIMIT);
        self.attention_omitted = self.attention_total - rows.len() as u64;
        self.attention = rows;
    }

    /// Whether a row at or above `threshold` exists.
    pub fn fails(&self, threshold: Severity) -> bool {
        self.highest_severity.is_some_and(|s| s >= threshold)
    }
}
