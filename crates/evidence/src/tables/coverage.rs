//! `coverage`: what was not fully collected, and why.

use crate::table::evidence_table;

evidence_table! {
    /// One row per scope, resource type or resource that was not fully collected. A package without coverage
    /// rows claims completeness for everything it collected.
    table CoverageRow = "coverage", version 1, key(resource_type, subscription_id, resource_id, status) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Subscription concerned (lower case); null when the gap is not tied to one (e.g. a vault outside every collected subscription).
        subscription_id: Option<String>,
        /// Resource type concerned (`Microsoft.Storage/storageAccounts`, `Microsoft.KeyVault/vaults/keys`, ...).
        resource_type: String,
        /// Resource concerned, normalised (ARM id or key/vault URI); null when a whole list failed.
        resource_id: Option<String>,
        /// `denied`, `not_found`, `not_supported`, `not_assessed`, `throttled` or `error`.
        status: String,
        /// What happened, in words, naming the request.
        reason: String,
        /// HTTP status Azure answered with, when there was one.
        http_status: Option<i64>,
        /// Azure error code (`AuthorizationFailed`, `KeyNotFound`, ...), when Azure gave one.
        error_code: Option<String>,
        /// The request that failed (no secrets are ever in URLs this tool builds).
        request_url: Option<String>,
    }
}
