//! The I/O room of the storage collector: lists every storage account of a subscription through
//! `azure-rest` (one paged list per subscription; the list already carries the full encryption settings, and
//! the storage resource provider allows only ~100 list calls per 5 minutes) and converts each item. A page or
//! item that cannot be read becomes a coverage row; everything already read is kept.

use azure_rest::AzureClient;
use collect_common::{Listing, item_error, list_in_subscription};
use evidence::{SnapshotContext, Tables, resource_types};

use crate::convert::{STORAGE_API_VERSION, storage_account};

/// Resource types this collector lists per subscription (ARM spelling).
pub const LISTED: &[&str] = &[resource_types::STORAGE_ACCOUNT];

/// Collects every storage account of `subscription_id`, listed through `listing`.
pub async fn collect_subscription(
    client: &AzureClient,
    ctx: &SnapshotContext,
    listing: Listing<'_>,
    subscription_id: &str,
) -> Tables {
    let mut tables = Tables::default();
    let what = format!("listing storage accounts of subscription {subscription_id}");
    let items = list_in_subscription(
        client,
        ctx,
        listing,
        subscription_id,
        resource_types::STORAGE_ACCOUNT,
        STORAGE_API_VERSION,
        &what,
        &mut tables,
    )
    .await;
    for (index, item) in items.iter().enumerate() {
        match storage_account(ctx, &item.value, &item.sha256) {
            Ok(evidence) => {
                tables.storage_accounts.push(evidence.account);
                tables.cmk_bindings.push(evidence.binding);
            }
            Err(e) => tables.coverage.push(item_error(
                ctx,
                resource_types::STORAGE_ACCOUNT,
                Some(subscription_id),
                item.id(),
                format!("item {index} of a storage account list could not be read: {e}"),
                item.status,
                &item.url,
            )),
        }
    }
    tables
}
