//! The I/O room of the SQL collector: lists the logical servers and managed instances of a subscription, then
//! for each of them (four at once) GETs its encryption protector and lists its server keys. Every document
//! goes through one [`Assembler`], so a server whose protector or keys could not be read still gets its rows;
//! each failed request is a coverage row for that server only.

use azure_rest::AzureClient;
use collect_common::{ListItem, Listing, arm_get_json, arm_list_items, item_error, list_in_subscription};
use evidence::{SnapshotContext, Tables};
use futures::StreamExt;

use crate::convert::{Assembler, SQL_API_VERSION, ServerKind};

/// Servers whose protector and keys are read at the same time (per subscription; azure-rest's limiter keeps the
/// subscription within ARM's read quota).
const CONCURRENCY: usize = 16;

/// Resource types this collector lists per subscription (ARM spelling); protectors and keys are read per server.
pub const LISTED: &[&str] = &[evidence::resource_types::SQL_SERVER, evidence::resource_types::SQL_MANAGED_INSTANCE];

/// Collects every SQL logical server and managed instance of `subscription_id` (listed through `listing`), with
/// their encryption protectors and server keys (always read with ARM: Resource Graph has neither).
pub async fn collect_subscription(
    client: &AzureClient,
    ctx: &SnapshotContext,
    listing: Listing<'_>,
    subscription_id: &str,
) -> Tables {
    let mut tables = Tables::default();
    let mut assembler = Assembler::new(ctx);
    let mut servers = Vec::new();
    for kind in ServerKind::ALL {
        let what = format!("listing {} of subscription {subscription_id}", kind.resource_type());
        let items = list_in_subscription(
            client,
            ctx,
            listing,
            subscription_id,
            kind.resource_type(),
            SQL_API_VERSION,
            &what,
            &mut tables,
        )
        .await;
        for (index, item) in items.iter().enumerate() {
            match assembler.add(&item.value, &item.sha256) {
                // `add` accepted it, so it has a string id.
                Ok(()) => servers.extend(item.id().map(|id| (id.to_string(), kind))),
                Err(e) => tables.coverage.push(item_error(
                    ctx,
                    kind.resource_type(),
                    Some(subscription_id),
                    item.id(),
                    format!("item {index} of a {} list could not be read: {e}", kind.resource_type()),
                    item.status,
                    &item.url,
                )),
            }
        }
    }

    let children: Vec<Children> = futures::stream::iter(servers)
        .map(|(server_id, kind)| read_children(client, ctx, subscription_id, server_id, kind))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for child in children {
        let Children { server_id, kind, tables: mut child_tables, protector, keys, key_pages } = child;
        if let Some(doc) = protector {
            add_or_cover(
                &mut assembler,
                &mut child_tables,
                ctx,
                subscription_id,
                &server_id,
                kind.protector_type(),
                &doc,
            );
        }
        for doc in &keys {
            add_or_cover(&mut assembler, &mut child_tables, ctx, subscription_id, &server_id, kind.keys_type(), doc);
        }
        if let Some(pages) = key_pages {
            assembler.note_key_list(&server_id, pages);
        }
        tables.append(child_tables);
    }
    tables.append(assembler.finish());
    tables
}

/// What was read for one server besides the server itself.
struct Children {
    server_id: String,
    kind: ServerKind,
    /// Raw responses and coverage rows of these requests.
    tables: Tables,
    protector: Option<ListItem>,
    keys: Vec<ListItem>,
    /// SHA-256 of every key list page read; `None` when not even the first page was.
    key_pages: Option<Vec<String>>,
}

/// GETs the encryption protector and lists the keys of one server.
async fn read_children(
    client: &AzureClient,
    ctx: &SnapshotContext,
    subscription_id: &str,
    server_id: String,
    kind: ServerKind,
) -> Children {
    let mut tables = Tables::default();
    let protector_path = format!("{server_id}/encryptionProtector/current");
    let what = format!("reading the encryption protector of {server_id}");
    let protector = arm_get_json(
        client,
        ctx,
        &protector_path,
        SQL_API_VERSION,
        kind.protector_type(),
        Some(subscription_id),
        Some(&server_id),
        &what,
        &mut tables,
    )
    .await
    .map(|(value, sha256)| {
        // `arm_get_json` recorded the response; its row has the URL and status the item came with.
        let raw = tables.raw_responses.iter().rev().find(|r| r.sha256 == sha256);
        ListItem {
            value,
            url: raw.map_or_else(|| protector_path.clone(), |r| r.url.clone()),
            status: raw.and_then(|r| u16::try_from(r.http_status).ok()).unwrap_or(200),
            sha256,
        }
    });

    let mut key_tables = Tables::default();
    let what = format!("listing the server keys of {server_id}");
    let keys = arm_list_items(
        client,
        ctx,
        &format!("{server_id}/keys"),
        SQL_API_VERSION,
        kind.keys_type(),
        Some(subscription_id),
        Some(&server_id),
        &what,
        &mut key_tables,
    )
    .await;
    let pages: Vec<String> = key_tables.raw_responses.iter().map(|r| r.sha256.clone()).collect();
    let key_pages = (!pages.is_empty()).then_some(pages);
    tables.append(key_tables);
    Children { server_id, kind, tables, protector, keys, key_pages }
}

/// Feeds one protector or key document to the assembler; one it cannot read becomes a coverage row for the
/// server it belongs to.
fn add_or_cover(
    assembler: &mut Assembler,
    tables: &mut Tables,
    ctx: &SnapshotContext,
    subscription_id: &str,
    server_id: &str,
    resource_type: &str,
    doc: &ListItem,
) {
    if let Err(e) = assembler.add(&doc.value, &doc.sha256) {
        tables.coverage.push(item_error(
            ctx,
            resource_type,
            Some(subscription_id),
            Some(server_id),
            format!("{resource_type} document of {server_id} could not be read: {e}"),
            doc.status,
            &doc.url,
        ));
    }
}
