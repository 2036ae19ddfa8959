//! Phase 1 of a collection: find every covered resource of every subscription and turn it into rows. Two ways:
//! - **Resource Graph** (default): one query per batch of up to 1,000 subscriptions returns every covered resource
//!   with its properties, 1,000 rows a page, ordered by subscription; as soon as a subscription's rows are complete
//!   its collectors run on them (SQL protectors and keys, container group reads, Container Apps certificates are
//!   still ARM requests: Graph lacks them), while the next pages are read. A second query lists what no collector
//!   covers, for `not_assessed` coverage rows. A subscription Graph cannot see, or whose rows a failed query
//!   left incomplete, is collected through ARM instead — Graph omits what a principal cannot read without saying
//!   so, so only ARM can tell "denied" from "empty".
//! - **ARM**: every collector lists its types per subscription, and `/subscriptions/{s}/resources` is listed for
//!   the inventory.
//!
//! Either way the raw responses leave through `on_rows` as soon as a subscription is done, so they never pile up
//! in memory.

use std::collections::BTreeSet;

use anyhow::Result;
use azure_rest::{AzureClient, Fetched, GraphPaging};
use collect_common::{GraphListing, Listing, SubscriptionGrouper, graph_rows};
use evidence::vocab::CoverageStatus;
use evidence::{SnapshotContext, Tables};
use futures::{SinkExt, StreamExt};

use crate::inventory;

/// Subscriptions collected at once. azure-rest's limiter keeps every subscription, vault and Graph within Azure's
/// quotas, so this only bounds memory and open work.
const SUBSCRIPTION_CONCURRENCY: usize = 16;
/// Subscriptions one Resource Graph query may name.
const GRAPH_BATCH: usize = 1000;
/// The resource type coverage rows about a Resource Graph query name.
const GRAPH_RESOURCE_TYPE: &str = "Microsoft.ResourceGraph/resources";

/// How phase 1 finds the resources of each subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum Discovery {
    /// Azure Resource Graph: one query per 1,000 subscriptions, ARM only for what Graph lacks.
    #[default]
    Graph,
    /// One ARM list per resource type and subscription.
    Arm,
}

/// Every resource type the collectors list per subscription (ARM spelling): the Graph query asks for these.
fn listed_types() -> Vec<&'static str> {
    [
        collect_storage::collect::LISTED,
        collect_disk::collect::LISTED,
        collect_sql::collect::LISTED,
        collect_acr::collect::LISTED,
        collect_containers::collect::LISTED,
        collect_vault::collect::LISTED,
    ]
    .concat()
}

/// One piece of phase-1 work, handed from the Graph reader to the collectors.
enum Work {
    /// Collect this subscription from its Graph rows.
    Listed(String, GraphListing),
    /// Collect this subscription with ARM lists (and its inventory).
    ArmFallback(String),
    /// Rows already made (Graph pages as raw responses, coverage, `not_assessed` rows).
    Rows(Box<Tables>),
}

/// Runs every collector of one subscription on `listing`; with `inventory`, also lists the subscription's
/// resources with ARM for `not_assessed` rows.
async fn collect_subscription(
    client: &AzureClient,
    ctx: &SnapshotContext,
    listing: Listing<'_>,
    subscription_id: &str,
    with_inventory: bool,
) -> Tables {
    let s = subscription_id;
    let inventory = async {
        match with_inventory {
            true => inventory::collect_subscription(client, ctx, s).await,
            false => Tables::default(),
        }
    };
    let (storage, disk, sql, acr, containers, vaults, inventory) = futures::join!(
        collect_storage::collect::collect_subscription(client, ctx, listing, s),
        collect_disk::collect::collect_subscription(client, ctx, listing, s),
        collect_sql::collect::collect_subscription(client, ctx, listing, s),
        collect_acr::collect::collect_subscription(client, ctx, listing, s),
        collect_containers::collect::collect_subscription(client, ctx, listing, s),
        collect_vault::collect::collect_subscription(client, ctx, listing, s),
        inventory,
    );
    let mut tables = storage;
    for more in [disk, sql, acr, containers, vaults, inventory] {
        tables.append(more);
    }
    tables
}

/// Phase 1 over `subscriptions`: resource rows, bindings, vault lists and coverage go into `tables`. Each piece is
/// first shown to `on_rows`, which takes what should not stay in memory (the raw responses, to the spool) and may
/// start work on what it sees (key reads); an error there ends the run. `on_subscription` is called once per
/// subscription collected.
pub(crate) async fn phase_one(
    client: &AzureClient,
    ctx: &SnapshotContext,
    subscriptions: &[String],
    discovery: Discovery,
    tables: &mut Tables,
    on_rows: &mut (dyn FnMut(&mut Tables) -> Result<()> + Send),
    on_subscription: &(dyn Fn() + Sync),
) -> Result<()> {
    let mut keep = |mut t: Tables| -> Result<()> {
        on_rows(&mut t)?;
        tables.append(t);
        Ok(())
    };
    match discovery {
        Discovery::Arm => {
            let mut results = futures::stream::iter(subscriptions)
                .map(|s| async move {
                    let t = collect_subscription(client, ctx, Listing::Arm, s, true).await;
                    on_subscription();
                    t
                })
                .buffer_unordered(SUBSCRIPTION_CONCURRENCY);
            while let Some(t) = results.next().await {
                keep(t)?;
            }
            Ok(())
        }
        Discovery::Graph => {
            let (tx, rx) = futures::channel::mpsc::channel::<Work>(SUBSCRIPTION_CONCURRENCY);
            let reader = read_graph(client, ctx, subscriptions, tx);
            let collectors = async {
                let mut results = rx
                    .map(|work| async move {
                        match work {
                            Work::Listed(s, listing) => {
                                let t = collect_subscription(client, ctx, Listing::Graph(&listing), &s, false).await;
                                on_subscription();
                                t
                            }
                            Work::ArmFallback(s) => {
                                let t = collect_subscription(client, ctx, Listing::Arm, &s, true).await;
                                on_subscription();
                                t
                            }
                            Work::Rows(t) => *t,
                        }
                    })
                    .buffer_unordered(SUBSCRIPTION_CONCURRENCY);
                while let Some(t) = results.next().await {
                    keep(t)?;
                }
                Ok::<(), anyhow::Error>(())
            };
            // The reader ends when every batch is read (or the collectors stopped taking work).
            let ((), collected) = futures::join!(reader, collectors);
            collected
        }
    }
}

/// Reads Resource Graph batch by batch and hands out [`Work`]: per batch, which subscriptions Graph sees (the others
/// go to ARM), every covered resource grouped per subscription, and the `not_assessed` inventory.
async fn read_graph(
    client: &AzureClient,
    ctx: &SnapshotContext,
    subscriptions: &[String],
    mut tx: futures::channel::mpsc::Sender<Work>,
) {
    let types = listed_types();
    let resources_query = collect_common::resources_query(&types);
    let assessed: Vec<&str> = inventory::assessed_types().collect();
    let inventory_query = collect_common::inventory_query(&assessed);
    for batch in subscriptions.chunks(GRAPH_BATCH) {
        // A send fails only when the collectors stopped (their error ends the run); stop reading too.
        let visible = visible_subscriptions(client, ctx, batch, &mut tx).await.unwrap_or_default();
        let hidden: Vec<&String> = batch.iter().filter(|s| !visible.contains(*s)).collect();
        for s in hidden {
            tracing::warn!(subscription = %s, "Resource Graph does not show subscription {s}; it is listed with ARM");
            if tx.send(Work::ArmFallback(s.clone())).await.is_err() {
                return;
            }
        }
        let visible: Vec<String> = visible.into_iter().collect();
        if visible.is_empty() {
            continue;
        }
        if !read_resources(client, ctx, &visible, &resources_query, &mut tx).await {
            return;
        }
        if !read_inventory(client, ctx, &visible, &inventory_query, &mut tx).await {
            return;
        }
    }
}

/// The subscriptions of `batch` Resource Graph can read (`resourcecontainers`); `None` when the query failed (all
/// of them then go to ARM; the failure is a coverage-free warning, since ARM will collect them).
async fn visible_subscriptions(
    client: &AzureClient,
    ctx: &SnapshotContext,
    batch: &[String],
    tx: &mut futures::channel::mpsc::Sender<Work>,
) -> Option<BTreeSet<String>> {
    let mut paging = GraphPaging::new(batch, collect_common::SUBSCRIPTIONS_QUERY);
    let mut visible = BTreeSet::new();
    loop {
        match paging.next_page(client).await {
            Ok(Some(page)) => {
                let mut t = Tables::default();
                for row in graph_rows(ctx, &page, GRAPH_RESOURCE_TYPE, &mut t) {
                    if let Some(s) = row.value.get("subscriptionId").and_then(|v| v.as_str()) {
                        visible.insert(s.to_ascii_lowercase());
                    }
                }
                tx.send(Work::Rows(Box::new(t))).await.ok()?;
            }
            Ok(None) => return Some(visible.into_iter().filter(|s| batch.contains(s)).collect()),
            Err(e) => {
                tracing::warn!("Resource Graph could not list the subscriptions it sees ({e}); using ARM for them");
                return None;
            }
        }
    }
}

/// Pages the covered resources of `visible` and hands each subscription over as soon as its rows are complete. A
/// failed page sends every subscription not yet complete to ARM. Returns false when the collectors stopped. The
/// next page is asked for while the last one is still being split into rows: a query's pages come one after
/// another, so any work between them would stretch the whole query.
async fn read_resources(
    client: &AzureClient,
    ctx: &SnapshotContext,
    visible: &[String],
    query: &str,
    tx: &mut futures::channel::mpsc::Sender<Work>,
) -> bool {
    let (mut page_tx, mut page_rx) = futures::channel::mpsc::channel::<Result<Fetched, azure_rest::Error>>(2);
    let fetch = async move {
        let mut paging = GraphPaging::new(visible, query);
        loop {
            let next = match paging.next_page(client).await {
                Ok(Some(page)) => Ok(page),
                Ok(None) => return,
                Err(e) => Err(e),
            };
            let failed = next.is_err();
            // The receiver is gone only when the collectors stopped.
            if page_tx.send(next).await.is_err() || failed {
                return;
            }
        }
    };
    let split = async {
        let mut grouper = SubscriptionGrouper::default();
        let mut complete: BTreeSet<String> = BTreeSet::new();
        let mut pages = 0usize;
        while let Some(next) = page_rx.next().await {
            let page = match next {
                Ok(page) => page,
                Err(e) => {
                    // The rows of the subscription being read, and every later one, are incomplete: ARM reads them.
                    let incomplete: Vec<&String> = visible.iter().filter(|s| !complete.contains(*s)).collect();
                    tracing::warn!(
                        "Resource Graph stopped after {pages} page(s) ({e}); {} subscription(s) are listed with ARM \
                         instead",
                        incomplete.len()
                    );
                    for s in incomplete {
                        if tx.send(Work::ArmFallback(s.clone())).await.is_err() {
                            return false;
                        }
                    }
                    return true;
                }
            };
            pages += 1;
            let mut t = Tables::default();
            let rows = graph_rows(ctx, &page, GRAPH_RESOURCE_TYPE, &mut t);
            let mut finished = Vec::new();
            for row in rows {
                match grouper.push(row) {
                    Ok(Some(done)) => finished.push(done),
                    Ok(None) => {}
                    Err(row) => t.coverage.push(collect_common::item_error(
                        ctx,
                        GRAPH_RESOURCE_TYPE,
                        None,
                        row.id(),
                        "a Resource Graph row names no subscription (neither subscriptionId nor an ARM id)".into(),
                        row.status,
                        &row.url,
                    )),
                }
            }
            if tx.send(Work::Rows(Box::new(t))).await.is_err() {
                return false;
            }
            for (s, listing) in finished {
                complete.insert(s.clone());
                if tx.send(Work::Listed(s, listing)).await.is_err() {
                    return false;
                }
            }
        }
        tracing::info!(pages, "Resource Graph: covered resources read");
        match grouper.finish() {
            Some((s, listing)) => tx.send(Work::Listed(s, listing)).await.is_ok(),
            None => true,
        }
    };
    let ((), read) = futures::join!(fetch, split);
    read
}

/// Pages every resource of `visible` no collector covers into `not_assessed` coverage rows. When the query fails,
/// one coverage row per subscription says that its inventory is incomplete. Returns false when the collectors
/// stopped.
async fn read_inventory(
    client: &AzureClient,
    ctx: &SnapshotContext,
    visible: &[String],
    query: &str,
    tx: &mut futures::channel::mpsc::Sender<Work>,
) -> bool {
    let mut paging = GraphPaging::new(visible, query);
    loop {
        let mut t = Tables::default();
        let more = match paging.next_page(client).await {
            Ok(Some(page)) => {
                for mut row in graph_rows(ctx, &page, GRAPH_RESOURCE_TYPE, &mut t) {
                    let subscription = row.value.get("subscriptionId").and_then(|v| v.as_str()).map(str::to_string);
                    with_arm_type_spelling(&mut row.value);
                    t.append(inventory::not_assessed_rows(ctx, subscription.as_deref(), &[row.value]));
                }
                true
            }
            Ok(None) => {
                tracing::info!(pages = paging.pages(), "Resource Graph: inventory read");
                false
            }
            Err(e) => {
                for s in visible {
                    let reason = format!(
                        "the Resource Graph inventory of resources no collector covers stopped after {} page(s): \
                         {e}; resources of other types in this subscription may be missing from not_assessed rows",
                        paging.pages()
                    );
                    let row = ctx.coverage(CoverageStatus::Error, GRAPH_RESOURCE_TYPE, Some(s), None, reason);
                    t.coverage.push(row.with_http(e.http_status(), e.error_code(), None));
                }
                false
            }
        };
        if tx.send(Work::Rows(Box::new(t))).await.is_err() {
            return false;
        }
        if !more {
            return true;
        }
    }
}

/// Graph lower-cases `type`; ARM's spelling is still in the row's `id` (which Graph keeps as ARM wrote it), so a
/// `type` the id implies takes the id's spelling — coverage rows then read the same whichever way was used.
fn with_arm_type_spelling(row: &mut serde_json::Value) {
    let Some(id) = row.get("id").and_then(|v| v.as_str()) else { return };
    let Some(spelled) = evidence::ids::resource_type_of(id) else { return };
    if let Some(ty) = row.get_mut("type")
        && ty.as_str().is_some_and(|t| t.eq_ignore_ascii_case(&spelled))
    {
        *ty = serde_json::Value::String(spelled);
    }
}
