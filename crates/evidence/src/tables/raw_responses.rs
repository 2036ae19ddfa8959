//! `raw_responses`: the exact bytes Azure returned, so every row can be traced back to what Azure said.

use crate::table::evidence_table;

evidence_table! {
    /// One row per distinct response body that evidence was read from. Rows elsewhere point here through
    /// `raw_response_sha256`. Bodies are kept verbatim; request headers and tokens are never recorded.
    table RawResponseRow = "raw_responses", version 1, key(sha256, url) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// SHA-256 of `body`, lower-case hex.
        sha256: String,
        /// HTTP method.
        method: String,
        /// Request URL.
        url: String,
        /// `api-version` asked for.
        api_version: Option<String>,
        /// HTTP status of the response.
        http_status: i64,
        /// Response body, byte for byte.
        body: Vec<u8>,
    }
}
