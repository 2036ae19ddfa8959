//! `keys`: the current (latest) version of every key in use, from the vault's data plane.

use crate::Timestamp;
use crate::table::evidence_table;

evidence_table! {
    /// One row per key referenced by a binding, read from the vault's data plane: type, size, operations and
    /// the attributes of its latest version.
    table KeyRow = "keys", version 1, key(key_id) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Vault or HSM base URI, normalised `https://{host}/`.
        key_vault_uri: String,
        /// `key_vault` or `managed_hsm`.
        vault_kind: String,
        /// Key name as the vault returned it.
        key_name: String,
        /// Key identifier without version, `https://{host}/keys/{name}`.
        key_id: String,
        /// Latest version (the one `GET /keys/{name}` returns).
        latest_version: String,
        /// Key type verbatim (`RSA`, `RSA-HSM`, `EC`, `EC-HSM`, `oct-HSM`).
        key_type: Option<String>,
        /// Key size in bits (RSA modulus length); null for EC keys and when the modulus is absent.
        key_size: Option<i64>,
        /// Elliptic curve (`P-256`, ...), for EC keys.
        curve: Option<String>,
        /// Permitted operations verbatim (`wrapKey`, `unwrapKey`, ...).
        key_ops: Option<Vec<String>>,
        /// Whether the latest version is enabled.
        enabled: Option<bool>,
        /// Creation time of the latest version.
        created_at: Option<Timestamp>,
        /// Last update of the latest version.
        updated_at: Option<Timestamp>,
        /// Not-before time of the latest version.
        not_before: Option<Timestamp>,
        /// Expiry of the latest version.
        expires_at: Option<Timestamp>,
        /// Deletion recovery level verbatim (`Recoverable+Purgeable`, `CustomizedRecoverable+ProtectedSubscription`, ...).
        recovery_level: Option<String>,
        /// Days a deleted key stays recoverable.
        recoverable_days: Option<i64>,
        /// True when the key is managed by Key Vault itself (backs a certificate).
        managed: Option<bool>,
        /// SHA-256 of the raw response this row was read from.
        raw_response_sha256: String,
    }
}
