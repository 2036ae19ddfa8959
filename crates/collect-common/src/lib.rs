//! The glue every collector shares between `azure-rest` (what Azure answered) and `evidence` (rows): a fetched
//! response becomes a `raw_responses` row, a failed request a `coverage` row naming the request and Azure's
//! error code, a list page its items (a page that is not JSON costs that page only, never what was read before).
//! `azure-rest` and `evidence` may not see each other, so this crate is where they meet for the collectors.

mod listing;

pub use listing::{
    GraphListing, Listing, SUBSCRIPTIONS_QUERY, SubscriptionGrouper, graph_rows, inventory_query, list_in_subscription,
    resources_query,
};

use azure_rest::{AzureClient, Error as RestError, Fetched, ListError};
use evidence::vocab::CoverageStatus;
use evidence::wire::Page;
use evidence::{CoverageRow, RawResponseRow, SnapshotContext, Tables};

/// One item of a list page, with the SHA-256 of the page it came from (the rows' `raw_response_sha256`) and
/// the page URL (for coverage rows about the item).
#[derive(Debug, Clone)]
pub struct ListItem {
    /// The item, raw.
    pub value: serde_json::Value,
    /// SHA-256 of the page.
    pub sha256: String,
    /// URL of the page.
    pub url: String,
    /// HTTP status of the page.
    pub status: u16,
}

impl ListItem {
    /// The item's `id`, when it has a string one.
    pub fn id(&self) -> Option<&str> {
        self.value.get("id").and_then(|v| v.as_str())
    }
}

/// The coverage row for a request that failed: status from the error kind (`denied`, `not_found`,
/// `throttled`, `error`), reason `"{what}: {error}"`, HTTP status, Azure error code and the request URL.
pub fn failure_row(
    ctx: &SnapshotContext,
    error: &RestError,
    resource_type: &str,
    subscription_id: Option<&str>,
    resource_id: Option<&str>,
    what: &str,
    url: &str,
) -> CoverageRow {
    let status = CoverageStatus::parse(error.coverage_status()).unwrap_or(CoverageStatus::Error);
    ctx.coverage(status, resource_type, subscription_id, resource_id, format!("{what}: {error}")).with_http(
        error.http_status(),
        error.error_code(),
        Some(url),
    )
}

/// The `raw_responses` row of a fetched response.
pub fn raw(ctx: &SnapshotContext, f: &Fetched) -> RawResponseRow {
    ctx.raw_response(f.method, &f.url, f.api_version.as_deref(), f.status, &f.body, &f.sha256)
}

/// The coverage row for one item (of a list page or a GET body) that could not be turned into rows.
pub fn item_error(
    ctx: &SnapshotContext,
    resource_type: &str,
    subscription_id: Option<&str>,
    resource_id: Option<&str>,
    reason: String,
    status: u16,
    url: &str,
) -> CoverageRow {
    ctx.coverage(CoverageStatus::Error, resource_type, subscription_id, resource_id, reason).with_http(
        Some(status),
        None,
        Some(url),
    )
}

/// Parses a fetched body as JSON; a body that is not JSON becomes a coverage row and `None`.
pub fn parse_json(
    ctx: &SnapshotContext,
    f: &Fetched,
    resource_type: &str,
    subscription_id: Option<&str>,
    resource_id: Option<&str>,
    tables: &mut Tables,
) -> Option<serde_json::Value> {
    match serde_json::from_slice(&f.body) {
        Ok(value) => Some(value),
        Err(e) => {
            let reason = format!("response is not valid JSON ({e}); response sha256 {}", f.sha256);
            tables.coverage.push(item_error(
                ctx,
                resource_type,
                subscription_id,
                resource_id,
                reason,
                f.status,
                &f.url,
            ));
            None
        }
    }
}

/// Items of every page, in order; each page is recorded in `raw_responses`. A page that is not JSON or has
/// no readable `value` array becomes a coverage row.
pub fn page_items(
    ctx: &SnapshotContext,
    pages: &[Fetched],
    resource_type: &str,
    subscription_id: Option<&str>,
    resource_id: Option<&str>,
    tables: &mut Tables,
) -> Vec<ListItem> {
    let mut items = Vec::new();
    for page in pages {
        tables.raw_responses.push(raw(ctx, page));
        let Some(value) = parse_json(ctx, page, resource_type, subscription_id, resource_id, tables) else { continue };
        match serde_json::from_value::<Page>(value) {
            Ok(parsed) => items.extend(parsed.value.unwrap_or_default().into_iter().map(|value| ListItem {
                value,
                sha256: page.sha256.clone(),
                url: page.url.clone(),
                status: page.status,
            })),
            Err(e) => tables.coverage.push(item_error(
                ctx,
                resource_type,
                subscription_id,
                resource_id,
                format!("list page has no readable `value` array ({e})"),
                page.status,
                &page.url,
            )),
        }
    }
    items
}

/// The pages of a list, and the error that ended it early (pages read before it are kept).
pub fn split(result: Result<Vec<Fetched>, ListError>) -> (Vec<Fetched>, Option<RestError>) {
    match result {
        Ok(pages) => (pages, None),
        Err(e) => (e.pages_so_far, Some(e.error)),
    }
}

/// Lists an ARM collection (`path` under the ARM endpoint) through every page: pages go to `raw_responses`,
/// a failure part-way to a coverage row saying how many pages were read. Returns the items read.
#[allow(clippy::too_many_arguments)] // Each argument names a different part of the coverage row.
pub async fn arm_list_items(
    client: &AzureClient,
    ctx: &SnapshotContext,
    path: &str,
    api_version: &str,
    resource_type: &str,
    subscription_id: Option<&str>,
    resource_id: Option<&str>,
    what: &str,
    tables: &mut Tables,
) -> Vec<ListItem> {
    let (pages, failure) = split(client.arm_list(path, api_version).await);
    let items = page_items(ctx, &pages, resource_type, subscription_id, resource_id, tables);
    if let Some(error) = failure {
        let what = format!("{what} failed after {} page(s)", pages.len());
        tables.coverage.push(failure_row(ctx, &error, resource_type, subscription_id, resource_id, &what, path));
    }
    items
}

/// GETs one ARM resource: the body goes to `raw_responses` and is returned parsed, with its SHA-256; a failed
/// request or a body that is not JSON becomes a coverage row and `None`.
#[allow(clippy::too_many_arguments)] // Each argument names a different part of the coverage row.
pub async fn arm_get_json(
    client: &AzureClient,
    ctx: &SnapshotContext,
    path: &str,
    api_version: &str,
    resource_type: &str,
    subscription_id: Option<&str>,
    resource_id: Option<&str>,
    what: &str,
    tables: &mut Tables,
) -> Option<(serde_json::Value, String)> {
    match client.arm_get(path, api_version).await {
        Ok(fetched) => {
            tables.raw_responses.push(raw(ctx, &fetched));
            let value = parse_json(ctx, &fetched, resource_type, subscription_id, resource_id, tables)?;
            Some((value, fetched.sha256))
        }
        Err(error) => {
            tables.coverage.push(failure_row(ctx, &error, resource_type, subscription_id, resource_id, what, path));
            None
        }
    }
}

/// Microsoft's example responses in `testdata/arm-examples/`, for the converters' table-driven tests: every
/// collector proves it reads every example file of its service.
pub mod examples {
    use std::collections::BTreeSet;
    use std::path::Path;

    /// The folder of example files (the project's copy; tests never read `../shared`).
    pub const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/arm-examples");

    /// The body of response `status` (`"200"`, `"201"`, ...) of an example file (`storage/2025-06-01/X.json`).
    /// Panics (fails the calling test) when the file is missing or has no such body.
    pub fn body(rel: &str, status: &str) -> serde_json::Value {
        let path = Path::new(DIR).join(rel);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("example file {} is missing: {e}", path.display()));
        let doc: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("example file {} is not JSON: {e}", path.display()));
        let body = doc["responses"][status]["body"].clone();
        assert!(body.is_object(), "{rel} has no {status} body");
        body
    }

    /// Paths relative to [`DIR`] (`storage/2025-06-01/X.json`) of every file under the given folders, sorted.
    /// Panics (fails the calling test) when a folder cannot be read.
    pub fn files_under(folders: &[&str]) -> BTreeSet<String> {
        fn walk(dir: &Path, out: &mut BTreeSet<String>) {
            let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("example folder {}: {e}", dir.display()));
            for entry in entries {
                let path = entry.unwrap_or_else(|e| panic!("example folder {}: {e}", dir.display())).path();
                if path.is_dir() {
                    walk(&path, out);
                } else if let Ok(rel) = path.strip_prefix(DIR) {
                    out.insert(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        let mut found = BTreeSet::new();
        for folder in folders {
            walk(&Path::new(DIR).join(folder), &mut found);
        }
        found
    }
}
