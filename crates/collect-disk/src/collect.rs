//! The I/O room of the disk collector: lists the disk encryption sets, managed disks, virtual machines and AKS
//! clusters of a subscription through `azure-rest` (four paged lists, run at once; list items carry every
//! field the evidence needs, AKS items their `agentPoolProfiles` too) and feeds every item through the
//! [`Assembler`], which links disks to their sets. A page or item that cannot be read becomes a coverage row;
//! everything already read is kept.

use azure_rest::AzureClient;
use collect_common::{Listing, item_error, list_in_subscription};
use evidence::{SnapshotContext, Tables, resource_types};

use crate::Assembler;
use crate::convert::{AKS_API_VERSION, DISK_API_VERSION, VM_API_VERSION};

/// One list call: resource type (ARM spelling, also the provider path), api-version, words for coverage rows.
struct ListCall {
    api_version: &'static str,
    resource_type: &'static str,
    what: &'static str,
}

const LISTS: [ListCall; 4] = [
    ListCall {
        api_version: DISK_API_VERSION,
        resource_type: resource_types::DISK_ENCRYPTION_SET,
        what: "disk encryption set",
    },
    ListCall { api_version: DISK_API_VERSION, resource_type: resource_types::DISK, what: "managed disk" },
    ListCall { api_version: VM_API_VERSION, resource_type: resource_types::VIRTUAL_MACHINE, what: "virtual machine" },
    ListCall { api_version: AKS_API_VERSION, resource_type: resource_types::AKS_CLUSTER, what: "AKS cluster" },
];

/// Resource types this collector lists per subscription (ARM spelling).
pub const LISTED: &[&str] = &[
    resource_types::DISK_ENCRYPTION_SET,
    resource_types::DISK,
    resource_types::VIRTUAL_MACHINE,
    resource_types::AKS_CLUSTER,
];

/// Collects every disk encryption set, managed disk, virtual machine and AKS cluster of `subscription_id`
/// (listed through `listing`), with each disk, VM disk and node pool binding linked to its set when the set is in
/// this subscription.
pub async fn collect_subscription(
    client: &AzureClient,
    ctx: &SnapshotContext,
    listing: Listing<'_>,
    subscription_id: &str,
) -> Tables {
    let lists = LISTS.iter().map(|call| async move {
        let mut tables = Tables::default();
        let what = format!("listing {}s of subscription {subscription_id}", call.what);
        let items = list_in_subscription(
            client,
            ctx,
            listing,
            subscription_id,
            call.resource_type,
            call.api_version,
            &what,
            &mut tables,
        )
        .await;
        (call, items, tables)
    });
    let results = futures::future::join_all(lists).await;

    let mut tables = Tables::default();
    let mut assembler = Assembler::new(ctx);
    for (call, items, list_tables) in results {
        tables.append(list_tables);
        for (index, item) in items.iter().enumerate() {
            if let Err(e) = assembler.add(&item.value, &item.sha256) {
                tables.coverage.push(item_error(
                    ctx,
                    call.resource_type,
                    Some(subscription_id),
                    item.id(),
                    format!("item {index} of a {} list could not be read: {e}", call.what),
                    item.status,
                    &item.url,
                ));
            }
        }
    }
    tables.append(assembler.finish());
    tables
}
