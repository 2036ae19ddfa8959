//! `rotation_policies`: the automatic rotation policy of every key in use.

use crate::Timestamp;
use crate::table::evidence_table;

evidence_table! {
    /// One row per key referenced by a binding whose rotation policy could be read.
    table RotationPolicyRow = "rotation_policies", version 1, key(key_id) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Vault or HSM base URI, normalised `https://{host}/`.
        key_vault_uri: String,
        /// Key name.
        key_name: String,
        /// Key identifier without version.
        key_id: String,
        /// True when the policy has a `Rotate` lifetime action: the vault rotates the key by itself.
        rotates_automatically: bool,
        /// ISO 8601 duration after creation at which the vault rotates (`P90D`), verbatim.
        rotate_after_create: Option<String>,
        /// ISO 8601 duration before expiry at which the vault rotates, verbatim.
        rotate_before_expiry: Option<String>,
        /// ISO 8601 duration before expiry at which the vault notifies, verbatim.
        notify_before_expiry: Option<String>,
        /// Expiry given to new versions (`attributes.expiryTime`, e.g. `P2Y`), verbatim.
        expiry_time: Option<String>,
        /// Number of lifetime actions in the policy.
        lifetime_action_count: i64,
        /// When the policy was created.
        created_at: Option<Timestamp>,
        /// When the policy was last updated.
        updated_at: Option<Timestamp>,
        /// SHA-256 of the raw response this row was read from.
        raw_response_sha256: String,
    }
}
