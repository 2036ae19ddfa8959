//! Evidence packages: a snapshot's tables as deterministic Parquet files in
//! `<out>/<tenant-id>/<snapshot-id>/tables/<table>.parquet`, with `manifest.json` (what, where from, every file's
//! SHA-256, the previous package's manifest hash), `SHA256SUMS`, and `manifest.sig` + `manifest.sig.json`.
//! Packages are built in a hidden temporary directory beside their target, fsynced, and renamed into place; an
//! existing package is never overwritten. Files are hashed while written. Response bodies can wait in a
//! [`RawSpool`] on disk instead of memory until `raw_responses` is written. [`verify_package`] and
//! [`verify_chain`] check packages offline.

mod jws;
pub mod manifest;
mod package;
mod parquet_writer;
mod read;
pub mod signature;
mod spool;
mod verify;

pub use jws::public_key_pem_from_jwk;
pub use manifest::{CollectionInfo, Manifest, ManifestFile, PreviousPackage};
pub use package::{PackageWriter, WrittenFile, WrittenPackage, add_signature};
pub use parquet_writer::{BATCH_ROWS, HashingWriter, write_batches, write_table};
pub use read::{read_table, table_batches, table_path};
pub use signature::{LocalSigningKey, ManifestSignature, SignatureInfo};
pub use spool::{RAW_BATCH_BYTES, RAW_BATCH_ROWS, RawResponseMeta, RawSpool};
pub use verify::{ChainReport, Problem, ProblemKind, TrustAnchors, VerifyReport, verify_chain, verify_package};

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
    /// A manifest that cannot be read or written.
    #[error("{path}: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A key file that cannot be read, parsed or written.
    #[error("key file {path}: {reason}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A table that cannot be read back.
    #[error("reading table {table} from {path}: {reason}")]
    Read {
        /// Table name.
        table: String,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A signature that cannot be made.
    #[error("signing {file}: {reason}")]
    Signature {
        /// What was being signed.
        file: String,
        /// What went wrong.
        reason: String,
    },
}
