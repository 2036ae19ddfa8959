//! `diff`: compares two snapshots of one tenant and gives every CMK binding (resource × encryption scope)
//! exactly one class — `unchanged`, `added`, `removed`, `rotated`, `rotation_pending`, `rotation_stalled`,
//! `key_changed`, `cmk_enabled`, `cmk_removed`, `identity_changed`, `protection_weakened`,
//! `old_version_disabled_in_use`, `not_comparable` — with a severity and every difference found. It also
//! reports changed vaults, key versions and role assignments, and raises to critical a version disabled or a
//! crypto role removed while a resource still depends on it.
//!
//! The comparison streams: [`Differ`] merges the two `cmk_chain` tables batch by batch in primary-key order
//! and yields `diff.parquet` batches ([`output::schema`]); only the small tables (vaults, keys, versions, role
//! assignments, coverage) are held whole. The rules are in [`classify`]; the adoption windows in [`window`].
//! This crate reads and writes no files: the caller verifies the packages and moves the batches.

pub mod binding;
pub mod class;
pub mod classify;
pub mod others;
pub mod output;
mod prefetch;
pub mod side;
mod stream;
pub mod summary;
pub mod window;

pub use binding::{Binding, CHAIN_COLUMNS, Fields};
pub use class::{BINDING_CLASSES, ChangeKind, Class, Severity};
pub use others::SideTables;
pub use prefetch::{Prefetch, prefetch};
pub use side::Side;
pub use stream::{Differ, Snapshot};
pub use summary::{AttentionRow, Summary};

/// Errors of a diff; each names the side and the row concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `cmk_chain` batch could not be read or lacks a column.
    #[error("reading the {side} snapshot's cmk_chain: {source}")]
    Read {
        /// `before` or `after`.
        side: &'static str,
        /// Arrow's error.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// Rows out of primary-key order: the table was not written by this tool, or was altered.
    #[error(
        "the {side} snapshot's cmk_chain is not sorted by (resource_id, encryption_scope) at {resource_id} [{scope}]: \
         it was not written by cmk-evidence or was altered"
    )]
    NotSorted {
        /// `before` or `after`.
        side: &'static str,
        /// The row found out of order.
        resource_id: String,
        /// Its encryption scope.
        scope: String,
    },
    /// Two rows with the same primary key.
    #[error("the {side} snapshot's cmk_chain has two rows for {resource_id} [{scope}]")]
    Duplicate {
        /// `before` or `after`.
        side: &'static str,
        /// The repeated resource id.
        resource_id: String,
        /// Its encryption scope.
        scope: String,
    },
    /// Building an output batch failed.
    #[error("building a diff batch: {source}")]
    Output {
        /// Arrow's error.
        #[source]
        source: arrow_schema::ArrowError,
    },
}

#[cfg(test)]
mod tests;
