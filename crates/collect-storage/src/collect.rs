//! The I/O room of the storage collector: lists every storage account of a subscription through
//! `azure-rest` (one paged list per subscription; the list already carries the full encryption settings, and
//! the storage resource provider allows only ~100 list calls per 5 minutes) and converts each item. A page or
//! item that cannot be read becomes a coverage row; everything already read is kept.

use azure_rest::AzureClient;
use collect_common::{arm_list_items, item_error};
use evidence::{SnapshotContext, Tables, resource_types};

use crate::convert::{STORAGE_API_VERSION, storage_account};

/// Collects every storage account of `subscription_id`.
pub async fn collect_subscription(client: &AzureClient, ctx: &SnapshotContext, subscription_id: &str) -> Tables {
    let path = format!("/subscriptions/{subscription_id}/providers/Microsoft.Storage/storageAccounts");
    let mut tables = Tables::default();
    let what = format!("listing storage accounts of subscription {subscription_id}");
    let items = arm_list_items(
        client,
        ctx,
        &path,
        STORAGE_API_VERSION,
        resource_types::STORAGE_ACCOUNT,
        Some(subscription_id),
        None,
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
