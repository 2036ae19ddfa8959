//! Raw resources: verbatim ARM documents (a saved `GET` body, an `az ... show` output, one of Microsoft's
//! examples) served as they are, at `GET {id}`, in the list of their type, in their parent's child list and
//! in `GET .../resources`. They let a test feed the same document to the simulator and to `import` and compare.

use std::path::Path;

use serde_json::Value;

use super::{Access, Scenario, SubscriptionSpec};
use crate::error::Error;
use crate::resource_id::segments;

/// One verbatim document and where it is served.
#[derive(Debug, Clone)]
pub(crate) struct RawResource {
    /// `/subscriptions/.../{name}` lower case, empty segments removed: the lookup key of `GET {id}`.
    pub(crate) key: String,
    /// Subscription id as written in the document's id.
    pub(crate) subscription: String,
    /// Resource group as written, when the id has one.
    pub(crate) resource_group: Option<String>,
    /// `namespace/type` in lower case for a top-level resource (listed by type and in `.../resources`);
    /// `None` for a child resource.
    pub(crate) list_type: Option<String>,
    /// Lower-case key of the child collection a child resource is listed in (`{parent id}/{childType}`).
    pub(crate) collection_key: Option<String>,
    /// The document exactly as given.
    pub(crate) doc: Value,
}

impl RawResource {
    /// Check a document (string `id`, a string `type` if any, an id under `/subscriptions/{s}/.../providers/...`) and work
    /// out where it is served.
    pub(crate) fn parse(doc: Value) -> Result<RawResource, Error> {
        let fail = |what: String, problem: &str| Error::RawResource { what, problem: problem.to_string() };
        let Some(id) = doc.get("id").and_then(Value::as_str).map(str::to_string) else {
            return Err(fail(describe(&doc), "a raw resource needs a string 'id'"));
        };
        // `type` may be absent (Microsoft's create examples, some `az` output): where it is served follows the id.
        if doc.get("type").is_some_and(|t| !t.is_string()) {
            return Err(fail(id, "a raw resource's 'type' must be a string"));
        }
        let segs = segments(&id);
        let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
        let shape = "the id must look like /subscriptions/{s}[/resourceGroups/{rg}]/providers/{namespace}/{type}/\
                     {name}[/{childType}/{childName}...]";
        if lower.first().map(String::as_str) != Some("subscriptions") || segs.len() < 2 {
            return Err(fail(id, shape));
        }
        let (resource_group, providers) = match lower.get(2).map(String::as_str) {
            Some("resourcegroups") => (segs.get(3).cloned(), 4),
            Some("providers") => (None, 2),
            _ => return Err(fail(id, shape)),
        };
        let n = segs.len();
        if lower.get(providers).map(String::as_str) != Some("providers") || n < providers + 4 {
            return Err(fail(id, shape));
        }
        if !(n - (providers + 4)).is_multiple_of(2) {
            return Err(fail(id, shape));
        }
        let key = format!("/{}", lower.join("/"));
        let top_level = n == providers + 4;
        let list_type = top_level.then(|| format!("{}/{}", lower[providers + 1], lower[providers + 2]));
        let collection_key = (!top_level).then(|| format!("/{}", lower[..n - 1].join("/")));
        Ok(RawResource { key, subscription: segs[1].clone(), resource_group, list_type, collection_key, doc })
    }

    /// The name (last segment of the id) for lookups by name.
    pub(crate) fn name(&self) -> &str {
        self.key.rsplit('/').next().unwrap_or_default()
    }

    /// `location` of the document, if it has one.
    pub(crate) fn location(&self) -> Option<&str> {
        self.doc.get("location").and_then(Value::as_str)
    }
}

fn describe(doc: &Value) -> String {
    match doc.get("name").and_then(Value::as_str) {
        Some(name) => format!("document '{name}'"),
        None => "document".to_string(),
    }
}

/// The resource documents in a JSON file: one document, a list page (`{"value": [...]}`), or one of
/// Microsoft's example files (`{"responses": {"200": {"body": ...}}}`, whose body is either of those).
pub(crate) fn documents_in(value: Value) -> Vec<Value> {
    let body = match value.pointer("/responses/200/body") {
        Some(body) => body.clone(),
        None => value,
    };
    match body.get("value").and_then(Value::as_array) {
        Some(items) if body.get("id").is_none() => items.clone(),
        _ => vec![body],
    }
}

/// Read `path` and return its documents (see [`documents_in`]).
pub(crate) fn read_documents(path: &Path) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    Ok(documents_in(value))
}

impl Scenario {
    /// Serve a verbatim ARM document (it must have a string `id`; `type`, when present, a string) as Azure would: at `GET {id}` (any
    /// api-version), in the subscription- and resource-group-level list of its type, in its parent's child list
    /// when its id is `{parent}/{childType}/{name}` (e.g. `.../servers/s1/encryptionProtector/current` in
    /// `GET .../servers/s1/encryptionProtector`), and — top-level resources only, as ARM does — in
    /// `GET /subscriptions/{s}/resources`. The document is served unchanged (as a JSON value). A subscription the
    /// scenario lacks is added (the caller may read it). An id already served (by the scenario or an earlier
    /// raw resource) is refused.
    pub fn add_raw_resource(&mut self, doc: Value) -> Result<(), Error> {
        let raw = RawResource::parse(doc)?;
        // The lists change: lookups scan them until a simulator indexes the final estate.
        self.index = None;
        let key = raw.key.clone();
        if self.resource_keys().any(|k| k == key) {
            return Err(Error::RawResource {
                what: key,
                problem: "a resource with this id is already served by the scenario".to_string(),
            });
        }
        if self.subscription(&raw.subscription).is_none() {
            self.subscriptions.push(SubscriptionSpec {
                id: raw.subscription.clone(),
                display_name: format!("Subscription {}", raw.subscription),
                state: "Enabled".to_string(),
                access: Access::Reader,
                listed: true,
                quota_id: None,
                tags: Default::default(),
                denied_types: Vec::new(),
            });
        }
        self.raw_resources.push(raw);
        Ok(())
    }

    /// Lower-case ids of every resource the scenario serves, typed or raw.
    pub(crate) fn resource_keys(&self) -> impl Iterator<Item = String> + '_ {
        let s = &self.services;
        self.storage_accounts
            .iter()
            .map(|a| a.id.key())
            .chain(self.vaults.iter().map(|v| v.id.key()))
            .chain(self.managed_hsms.iter().map(|h| h.id.key()))
            .chain(self.identities.iter().map(|i| i.id.key()))
            .chain(self.other_resources.iter().map(|r| r.id.key()))
            .chain(s.disk_encryption_sets.iter().map(|r| r.id.key()))
            .chain(s.disks.iter().map(|r| r.id.key()))
            .chain(s.virtual_machines.iter().map(|r| r.id.key()))
            .chain(s.aks_clusters.iter().map(|r| r.id.key()))
            .chain(s.sql_servers.iter().map(|r| r.id.key()))
            .chain(s.container_registries.iter().map(|r| r.id.key()))
            .chain(s.container_groups.iter().map(|r| r.id.key()))
            .chain(s.managed_environments.iter().map(|r| r.id.key()))
            .chain(s.container_apps.iter().map(|r| r.id.key()))
            .chain(s.web_apps.iter().map(|r| r.id.key()))
            .chain(self.raw_resources.iter().map(|r| r.key.clone()))
    }

    /// The raw resource served at `key` (lower-case, normalised path).
    pub(crate) fn raw_resource(&self, key: &str) -> Option<&RawResource> {
        self.raw_resources.iter().find(|r| r.key == key)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ids_decide_where_a_document_is_served() {
        let top = RawResource::parse(json!({
            "id": "/subscriptions/S1/resourceGroups/RG/providers/Microsoft.Compute/diskEncryptionSets/des1",
            "type": "Microsoft.Compute/diskEncryptionSets",
        }))
        .unwrap();
        assert_eq!(top.key, "/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/diskencryptionsets/des1");
        assert_eq!(top.list_type.as_deref(), Some("microsoft.compute/diskencryptionsets"));
        assert_eq!(top.resource_group.as_deref(), Some("RG"));
        assert_eq!(top.name(), "des1");
        assert!(top.collection_key.is_none());

        let child = RawResource::parse(json!({
            "id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/servers/s/encryptionProtector/current",
            "type": "Microsoft.Sql/servers/encryptionProtector",
        }))
        .unwrap();
        assert!(child.list_type.is_none());
        assert_eq!(
            child.collection_key.as_deref(),
            Some("/subscriptions/s1/resourcegroups/rg/providers/microsoft.sql/servers/s/encryptionprotector")
        );

        for bad in [
            json!({ "type": "x" }),
            json!({ "id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/servers/s", "type": 5 }),
            json!({ "id": "/subscriptions/s1/resourceGroups/rg", "type": "x" }),
            json!({ "id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/servers/s/keys", "type": "x" }),
            json!({ "id": 5, "type": "x" }),
        ] {
            assert!(RawResource::parse(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn files_hold_documents_pages_or_examples() {
        let doc = json!({ "id": "/x", "type": "t" });
        assert_eq!(documents_in(doc.clone()), vec![doc.clone()]);
        assert_eq!(documents_in(json!({ "value": [doc.clone(), doc.clone()], "nextLink": "x" })).len(), 2);
        assert_eq!(
            documents_in(json!({ "parameters": {}, "responses": { "200": { "body": doc.clone() } } })),
            vec![doc.clone()]
        );
        assert_eq!(documents_in(json!({ "responses": { "200": { "body": { "value": [doc.clone()] } } } })), vec![doc]);
    }
}
