//! The I/O room of the container collector: lists container groups, Container Apps environments (and each
//! environment's certificates, 4 environments at once), container apps and App Service sites of a subscription
//! through `azure-rest`, and feeds every document into one [`Assembler`]. ACI's list is known to return partial
//! container groups (azure-powershell#16139, azure-sdk-for-python#2662), so a group whose list item names no
//! `encryptionProperties` is read with a `GET` before it is recorded as using Microsoft-managed keys. A page or
//! item that cannot be read becomes a coverage row; everything already read is kept.

use azure_rest::AzureClient;
use collect_common::{ListItem, Listing, arm_get_json, arm_list_items, item_error, list_in_subscription};
use evidence::vocab::CoverageStatus;
use evidence::{SnapshotContext, Tables, resource_types};
use futures::StreamExt;

use crate::convert::{Assembler, names_encryption};

/// `api-version` for `Microsoft.ContainerInstance/containerGroups`.
pub const CONTAINER_INSTANCE_API_VERSION: &str = "2025-09-01";
/// `api-version` for `Microsoft.App` (environments, certificates, container apps).
pub const CONTAINER_APPS_API_VERSION: &str = "2025-07-01";
/// `api-version` for `Microsoft.Web/sites`.
pub const WEB_API_VERSION: &str = "2024-04-01";

/// Per-resource reads (certificate lists, container group `GET`s) in flight at once for one subscription;
/// azure-rest's limiter keeps the subscription within ARM's read quota.
const CONCURRENCY: usize = 16;

/// Resource types this collector lists per subscription (ARM spelling).
pub const LISTED: &[&str] = &[
    resource_types::CONTAINER_GROUP,
    resource_types::CONTAINER_APPS_ENVIRONMENT,
    resource_types::CONTAINER_APP,
    resource_types::WEB_SITE,
];

/// Collects container groups, Container Apps environments, their certificates, container apps and App Service
/// sites of `subscription_id`
/// (listed through `listing`; certificates are always listed with ARM, per environment).
pub async fn collect_subscription(
    client: &AzureClient,
    ctx: &SnapshotContext,
    listing: Listing<'_>,
    subscription_id: &str,
) -> Tables {
    let mut tables = Tables::default();
    let mut assembler = Assembler::new(ctx);
    let sub = Some(subscription_id);
    let list = async |resource_type: &str, api_version: &str, what: &str, tables: &mut Tables| {
        list_in_subscription(client, ctx, listing, subscription_id, resource_type, api_version, what, tables).await
    };

    // Container Instances.
    let what = format!("listing container groups of subscription {subscription_id}");
    let groups = list(resource_types::CONTAINER_GROUP, CONTAINER_INSTANCE_API_VERSION, &what, &mut tables).await;
    let (complete, partial): (Vec<ListItem>, Vec<ListItem>) =
        groups.into_iter().partition(|item| names_encryption(&item.value) || item.id().is_none());
    add_items(&mut assembler, &mut tables, ctx, &complete, resource_types::CONTAINER_GROUP, subscription_id);
    let reads: Vec<(Option<(serde_json::Value, String)>, Tables)> = futures::stream::iter(&partial)
        .map(|item| async move {
            let mut read = Tables::default();
            let id = item.id().unwrap_or_default();
            let what = format!("reading container group {id} (its list item names no encryptionProperties)");
            let body = arm_get_json(
                client,
                ctx,
                id,
                CONTAINER_INSTANCE_API_VERSION,
                resource_types::CONTAINER_GROUP,
                Some(subscription_id),
                Some(id),
                &what,
                &mut read,
            )
            .await;
            (body, read)
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    // A group whose GET failed is a coverage row only: a list item that may omit the key cannot say
    // "Microsoft-managed".
    for ((body, read), item) in reads.into_iter().zip(&partial) {
        tables.append(read);
        let Some((value, sha256)) = body else { continue };
        if let Err(e) = assembler.add(&value, &sha256) {
            let reason = format!("container group could not be read: {e}; response sha256 {sha256}");
            let row = ctx.coverage(CoverageStatus::Error, resource_types::CONTAINER_GROUP, sub, item.id(), reason);
            tables.coverage.push(row.with_http(None, None, item.id()));
        }
    }

    // Container Apps environments, then the certificates of each.
    let what = format!("listing Container Apps environments of subscription {subscription_id}");
    let environments =
        list(resource_types::CONTAINER_APPS_ENVIRONMENT, CONTAINER_APPS_API_VERSION, &what, &mut tables).await;
    add_items(
        &mut assembler,
        &mut tables,
        ctx,
        &environments,
        resource_types::CONTAINER_APPS_ENVIRONMENT,
        subscription_id,
    );
    let certificate_lists: Vec<(Vec<ListItem>, Tables)> =
        futures::stream::iter(environments.iter().filter_map(ListItem::id))
            .map(|environment_id| async move {
                let mut listed = Tables::default();
                let what = format!("listing certificates of Container Apps environment {environment_id}");
                let items = arm_list_items(
                    client,
                    ctx,
                    &format!("{}/certificates", environment_id.trim_end_matches('/')),
                    CONTAINER_APPS_API_VERSION,
                    resource_types::CONTAINER_APPS_CERTIFICATE,
                    Some(subscription_id),
                    Some(environment_id),
                    &what,
                    &mut listed,
                )
                .await;
                (items, listed)
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
    for (items, listed) in certificate_lists {
        tables.append(listed);
        add_items(
            &mut assembler,
            &mut tables,
            ctx,
            &items,
            resource_types::CONTAINER_APPS_CERTIFICATE,
            subscription_id,
        );
    }

    // Container apps and App Service sites.
    for (resource_type, api_version, noun) in [
        (resource_types::CONTAINER_APP, CONTAINER_APPS_API_VERSION, "container apps"),
        (resource_types::WEB_SITE, WEB_API_VERSION, "App Service and Function apps"),
    ] {
        let what = format!("listing {noun} of subscription {subscription_id}");
        let items = list(resource_type, api_version, &what, &mut tables).await;
        add_items(&mut assembler, &mut tables, ctx, &items, resource_type, subscription_id);
    }

    let mut out = assembler.finish();
    out.append(tables);
    out
}

/// Feeds list items into the assembler; an item it cannot read becomes a coverage row naming it.
fn add_items(
    assembler: &mut Assembler,
    tables: &mut Tables,
    ctx: &SnapshotContext,
    items: &[ListItem],
    resource_type: &str,
    subscription_id: &str,
) {
    for (index, item) in items.iter().enumerate() {
        if let Err(e) = assembler.add(&item.value, &item.sha256) {
            tables.coverage.push(item_error(
                ctx,
                resource_type,
                Some(subscription_id),
                item.id(),
                format!("item {index} of a {resource_type} list could not be read: {e}"),
                item.status,
                &item.url,
            ));
        }
    }
}
