//! Writes a snapshot's tables as deterministic Parquet files into a package directory
//! `<out>/<tenant-id>/<snapshot-id>/tables/<table>.parquet`, atomically: the package is built in a hidden
//! temporary directory beside its target, fsynced, and renamed into place; an existing package is never
//! overwritten. Files are hashed while they are written.

mod package;
mod parquet_writer;

pub use package::{PackageWriter, WrittenFile, WrittenPackage};
pub use parquet_writer::{HashingWriter, write_table};

use std::path::PathBuf;

/// Errors of the bundle crate; each names the file or directory concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`creating`, `writing`, `renaming`, ...).
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Writing Parquet failed.
    #[error("writing table {table} to {path}: {source}")]
    Parquet {
        /// Table name.
        table: &'static str,
        /// The file being written.
        path: PathBuf,
        /// Parquet's error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Building the Arrow batch failed.
    #[error(transparent)]
    Evidence(#[from] evidence::Error),
    /// The package directory already exists; packages are immutable.
    #[error("package {0} already exists; packages are never overwritten (choose another --out or snapshot time)")]
    Exists(PathBuf),
    /// A tenant id or snapshot id that cannot be a directory name.
    #[error("invalid {what} {value:?} for a package path")]
    InvalidName {
        /// `tenant id` or `snapshot id`.
        what: &'static str,
        /// The value.
        value: String,
    },
}
