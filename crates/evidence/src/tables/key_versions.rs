//! `key_versions`: every version of every key in use.

use crate::Timestamp;
use crate::table::evidence_table;

evidence_table! {
    /// One row per version of every key referenced by a binding, from the vault's version listing (and, for a
    /// version in use that is not listed, from a direct read).
    table KeyVersionRow = "key_versions", version 1, key(key_id, version) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Vault or HSM base URI, normalised `https://{host}/`.
        key_vault_uri: String,
        /// Key name as the vault returned it.
        key_name: String,
        /// Key identifier without version.
        key_id: String,
        /// The version.
        version: String,
        /// Whether this version is enabled; null when the vault did not say.
        enabled: Option<bool>,
        /// Creation time of the version.
        created_at: Option<Timestamp>,
        /// Last update of the version.
        updated_at: Option<Timestamp>,
        /// Not-before time.
        not_before: Option<Timestamp>,
        /// Expiry time.
        expires_at: Option<Timestamp>,
        /// Deletion recovery level verbatim.
        recovery_level: Option<String>,
        /// True for the version `GET /keys/{name}` returns.
        is_latest: bool,
        /// SHA-256 of the raw response (list page or key read) this row was read from.
        raw_response_sha256: String,
    }
}
