//! The I/O room of the container registry collector: lists every registry of a subscription through
//! `azure-rest` (the list carries the full encryption settings) and feeds each item through the
//! [`Assembler`]. A page or item that cannot be read becomes a coverage row; everything already read is kept.

use azure_rest::AzureClient;
use collect_common::{Listing, item_error, list_in_subscription};
use evidence::{SnapshotContext, Tables, resource_types};

use crate::convert::{ACR_API_VERSION, Assembler};

/// Resource types this collector lists per subscription (ARM spelling).
pub const LISTED: &[&str] = &[resource_types::CONTAINER_REGISTRY];

/// Collects every container registry of `subscription_id`, listed through `listing`.
pub async fn collect_subscription(
    client: &AzureClient,
    ctx: &SnapshotContext,
    listing: Listing<'_>,
    subscription_id: &str,
) -> Tables {
    let mut tables = Tables::default();
    let what = format!("listing container registries of subscription {subscription_id}");
    let items = list_in_subscription(
        client,
        ctx,
        listing,
        subscription_id,
        resource_types::CONTAINER_REGISTRY,
        ACR_API_VERSION,
        &what,
        &mut tables,
    )
    .await;
    let mut assembler = Assembler::new(ctx);
    for (index, item) in items.iter().enumerate() {
        if let Err(e) = assembler.add(&item.value, &item.sha256) {
            tables.coverage.push(item_error(
                ctx,
                resource_types::CONTAINER_REGISTRY,
                Some(subscription_id),
                item.id(),
                format!("item {index} of a container registry list could not be read: {e}"),
                item.status,
                &item.url,
            ));
        }
    }
    tables.append(assembler.finish());
    tables
}
