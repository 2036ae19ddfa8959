//! Where a collector's subscription-wide lists come from: one ARM list per resource type
//! (`GET /subscriptions/{s}/providers/{type}`), or the rows Azure Resource Graph already returned for that
//! subscription. Graph returns the same resource documents as ARM's list (with `type` in lower case and a few
//! columns of its own), so both feed the same converters; what Graph lacks (SQL encryption protectors and server
//! keys, Container Apps certificates, role assignments, the Key Vault data plane) the collectors still read with
//! ARM and data-plane requests.

use std::collections::HashMap;
use std::sync::Mutex;

use azure_rest::{AzureClient, Fetched};
use evidence::{SnapshotContext, Tables};

use crate::{ListItem, arm_list_items, item_error, parse_json, raw};

/// The source of a collector's subscription-wide lists.
#[derive(Debug, Clone, Copy)]
pub enum Listing<'a> {
    /// One ARM list per resource type, every page followed.
    Arm,
    /// The subscription's rows of a Resource Graph query.
    Graph(&'a GraphListing),
}

/// The Resource Graph rows of one subscription, by lower-case resource type, each as a [`ListItem`] of the page
/// it came from. A type's rows are handed out once, by [`list_in_subscription`].
#[derive(Debug, Default)]
pub struct GraphListing {
    by_type: Mutex<HashMap<String, Vec<ListItem>>>,
    rows: usize,
}

impl GraphListing {
    /// Adds one row; its `type` decides which list it belongs to.
    pub fn push(&mut self, item: ListItem) {
        let resource_type = item.value.get("type").and_then(|t| t.as_str()).unwrap_or_default().to_ascii_lowercase();
        self.by_type.get_mut().unwrap_or_else(|p| p.into_inner()).entry(resource_type).or_default().push(item);
        self.rows += 1;
    }

    /// Rows added.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The rows of `resource_type` (any case), with `type` set back to ARM's spelling `resource_type`, so rows
    /// read through Graph are the same evidence as rows read through ARM. The response body keeps Graph's text.
    fn take(&self, resource_type: &str) -> Vec<ListItem> {
        let mut by_type = self.by_type.lock().unwrap_or_else(|p| p.into_inner());
        let mut items = by_type.remove(&resource_type.to_ascii_lowercase()).unwrap_or_default();
        for item in &mut items {
            if let Some(object) = item.value.as_object_mut() {
                object.insert("type".into(), serde_json::Value::String(resource_type.to_string()));
            }
        }
        items
    }
}

/// Lists the resources of `resource_type` (ARM spelling, e.g. `Microsoft.Storage/storageAccounts`) in
/// `subscription_id`: through ARM (pages to `raw_responses`, a failure to a coverage row, as
/// [`arm_list_items`]) or from the subscription's Resource Graph rows (their pages are recorded where the query
/// ran).
#[allow(clippy::too_many_arguments)] // Each argument names a different part of the request or coverage row.
pub async fn list_in_subscription(
    client: &AzureClient,
    ctx: &SnapshotContext,
    listing: Listing<'_>,
    subscription_id: &str,
    resource_type: &str,
    api_version: &str,
    what: &str,
    tables: &mut Tables,
) -> Vec<ListItem> {
    match listing {
        Listing::Arm => {
            let path = format!("/subscriptions/{subscription_id}/providers/{resource_type}");
            arm_list_items(client, ctx, &path, api_version, resource_type, Some(subscription_id), None, what, tables)
                .await
        }
        Listing::Graph(rows) => rows.take(resource_type),
    }
}

/// Splits a Resource Graph page into its rows: the page goes to `raw_responses`; a page that is not JSON or has
/// no `data` array becomes a coverage row naming `resource_type` (the query's subject) and yields no rows.
pub fn graph_rows(ctx: &SnapshotContext, page: &Fetched, resource_type: &str, tables: &mut Tables) -> Vec<ListItem> {
    tables.raw_responses.push(raw(ctx, page));
    let Some(mut body) = parse_json(ctx, page, resource_type, None, None, tables) else { return Vec::new() };
    let Some(serde_json::Value::Array(data)) = body.get_mut("data").map(serde_json::Value::take) else {
        let reason = format!("Resource Graph page has no `data` array; response sha256 {}", page.sha256);
        tables.coverage.push(item_error(ctx, resource_type, None, None, reason, page.status, &page.url));
        return Vec::new();
    };
    data.into_iter()
        .map(|value| ListItem { value, sha256: page.sha256.clone(), url: page.url.clone(), status: page.status })
        .collect()
}

/// Groups Resource Graph rows that arrive ordered by subscription (the query says `order by subscriptionId`)
/// into one [`GraphListing`] per subscription, handing a subscription's rows over as soon as the next
/// subscription starts — so only one subscription's rows wait in memory, however large the tenant.
#[derive(Debug, Default)]
pub struct SubscriptionGrouper {
    current: Option<(String, GraphListing)>,
}

impl SubscriptionGrouper {
    /// Adds a row; returns the previous subscription's rows when this row starts another subscription. A row
    /// without `subscriptionId` takes it from its `id`; one with neither is returned as `Err` (the caller makes a
    /// coverage row of it).
    pub fn push(&mut self, item: ListItem) -> Result<Option<(String, GraphListing)>, ListItem> {
        let Some(subscription) = row_subscription(&item.value) else { return Err(item) };
        let finished = match &self.current {
            Some((current, _)) if *current == subscription => None,
            _ => self.current.replace((subscription, GraphListing::default())),
        };
        if let Some((_, listing)) = &mut self.current {
            listing.push(item);
        }
        Ok(finished)
    }

    /// The last subscription's rows, at the end of the query.
    pub fn finish(&mut self) -> Option<(String, GraphListing)> {
        self.current.take()
    }
}

/// The lower-case subscription id of a Graph row: its `subscriptionId`, else the one in its `id`.
fn row_subscription(row: &serde_json::Value) -> Option<String> {
    if let Some(s) = row.get("subscriptionId").and_then(|v| v.as_str()).filter(|s| !s.is_empty()) {
        return Some(s.to_ascii_lowercase());
    }
    let id = row.get("id").and_then(|v| v.as_str())?;
    let mut parts = id.split('/').filter(|p| !p.is_empty());
    match (parts.next(), parts.next()) {
        (Some(head), Some(sub)) if head.eq_ignore_ascii_case("subscriptions") => Some(sub.to_ascii_lowercase()),
        _ => None,
    }
}

/// The Resource Graph query for the resources of `types` (ARM spelling; matched case-insensitively), every column,
/// ordered by subscription then id so rows can be grouped per subscription as they arrive.
pub fn resources_query(types: &[&str]) -> String {
    format!("resources | where type in~ ({}) | order by subscriptionId asc, id asc", quoted(types))
}

/// The Resource Graph query for every resource NOT of `types`, with only the columns a `not_assessed` coverage row
/// needs.
pub fn inventory_query(types: &[&str]) -> String {
    format!("resources | where type !in~ ({}) | project id, type, subscriptionId | order by id asc", quoted(types))
}

/// The Resource Graph query for the subscriptions the credential can read through Graph.
pub const SUBSCRIPTIONS_QUERY: &str =
    "resourcecontainers | where type =~ 'microsoft.resources/subscriptions' | project subscriptionId";

fn quoted(types: &[&str]) -> String {
    types.iter().map(|t| format!("'{}'", t.to_ascii_lowercase().replace('\'', ""))).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(value: serde_json::Value) -> ListItem {
        ListItem { value, sha256: "h".into(), url: "u".into(), status: 200 }
    }

    #[test]
    fn rows_are_grouped_per_subscription_as_they_arrive() {
        let mut grouper = SubscriptionGrouper::default();
        let row = |sub: &str, ty: &str, name: &str| {
            item(
                json!({"id": format!("/subscriptions/{sub}/resourceGroups/rg/providers/{ty}/{name}"), "type": ty.to_ascii_lowercase(), "subscriptionId": sub}),
            )
        };
        assert!(grouper.push(row("a", "Microsoft.Storage/storageAccounts", "s1")).unwrap().is_none());
        assert!(grouper.push(row("a", "Microsoft.Compute/disks", "d1")).unwrap().is_none());
        let (sub, listing) = grouper.push(row("B", "Microsoft.Compute/disks", "d2")).unwrap().unwrap();
        assert_eq!(sub, "a");
        assert_eq!(listing.len(), 2);
        let storage = listing.take("Microsoft.Storage/storageAccounts");
        assert_eq!(storage.len(), 1);
        assert_eq!(storage[0].value["type"], "Microsoft.Storage/storageAccounts", "ARM's spelling is restored");
        assert!(listing.take("Microsoft.Storage/storageAccounts").is_empty(), "handed out once");
        // Without subscriptionId the id says it; with neither the row is refused.
        let no_sub = item(json!({"id": "/subscriptions/B/resourceGroups/rg/providers/X/y/z", "type": "x/y"}));
        assert!(grouper.push(no_sub).unwrap().is_none());
        assert!(grouper.push(item(json!({"type": "x/y"}))).is_err());
        let (sub, listing) = grouper.finish().unwrap();
        assert_eq!((sub.as_str(), listing.len()), ("b", 2));
        assert!(grouper.finish().is_none());
    }

    #[test]
    fn queries_name_the_types_in_lower_case() {
        let q = resources_query(&["Microsoft.Storage/storageAccounts", "Microsoft.Compute/disks"]);
        assert_eq!(
            q,
            "resources | where type in~ ('microsoft.storage/storageaccounts', 'microsoft.compute/disks') | order by subscriptionId asc, id asc"
        );
        assert!(inventory_query(&["a/b"]).starts_with("resources | where type !in~ ('a/b') | project id, type"));
    }
}
