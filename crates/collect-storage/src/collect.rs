//! The I/O room of the storage collector: lists every storage account of a subscription through
//! `azure-rest` (one paged list per subscription; the list already carries the full encryption settings, and
//! the storage resource provider allows only ~100 list calls per 5 minutes) and converts each item. A page or
//! item that cannot be read becomes a coverage row; everything already read is kept.

use azure_rest::{AzureClient, Fetched};
use evidence::vocab::CoverageStatus;
use evidence::{SnapshotContext, Tables, resource_types};

use crate::convert::{STORAGE_API_VERSION, storage_account};
use crate::wire::Page;

/// Collects every storage account of `subscription_id`.
pub async fn collect_subscription(client: &AzureClient, ctx: &SnapshotContext, subscription_id: &str) -> Tables {
    let path = format!("/subscriptions/{subscription_id}/providers/Microsoft.Storage/storageAccounts");
    let (pages, failure) = match client.arm_list(&path, STORAGE_API_VERSION).await {
        Ok(pages) => (pages, None),
        Err(list_error) => (list_error.pages_so_far, Some(list_error.error)),
    };
    let mut tables = Tables::default();
    for page in &pages {
        convert_page(ctx, subscription_id, page, &mut tables);
    }
    if let Some(error) = failure {
        let status = CoverageStatus::parse(error.coverage_status()).unwrap_or(CoverageStatus::Error);
        let reason = format!(
            "listing storage accounts of subscription {subscription_id} failed after {} page(s): {error}",
            pages.len()
        );
        tables.coverage.push(
            ctx.coverage(status, resource_types::STORAGE_ACCOUNT, Some(subscription_id), None, reason).with_http(
                error.http_status(),
                error.error_code(),
                Some(&path),
            ),
        );
    }
    tables
}

/// Converts one list page; items that do not convert become coverage rows naming the item.
fn convert_page(ctx: &SnapshotContext, subscription_id: &str, page: &Fetched, tables: &mut Tables) {
    tables.raw_responses.push(ctx.raw_response(
        page.method,
        &page.url,
        page.api_version.as_deref(),
        page.status,
        &page.body,
        &page.sha256,
    ));
    let parsed: Page = match serde_json::from_slice(&page.body) {
        Ok(parsed) => parsed,
        Err(e) => {
            tables.coverage.push(
                ctx.coverage(
                    CoverageStatus::Error,
                    resource_types::STORAGE_ACCOUNT,
                    Some(subscription_id),
                    None,
                    format!("storage account list page is not valid JSON ({e}); response sha256 {}", page.sha256),
                )
                .with_http(Some(page.status), None, Some(&page.url)),
            );
            return;
        }
    };
    for (index, item) in parsed.value.unwrap_or_default().iter().enumerate() {
        match storage_account(ctx, item, &page.sha256) {
            Ok(evidence) => {
                tables.storage_accounts.push(evidence.account);
                tables.cmk_bindings.push(evidence.binding);
            }
            Err(e) => {
                let id = item.get("id").and_then(|v| v.as_str());
                tables.coverage.push(
                    ctx.coverage(
                        CoverageStatus::Error,
                        resource_types::STORAGE_ACCOUNT,
                        Some(subscription_id),
                        id,
                        format!("item {index} of a storage account list page could not be read: {e}"),
                    )
                    .with_http(Some(page.status), None, Some(&page.url)),
                );
            }
        }
    }
}
