//! Pure conversion of SQL documents into evidence rows. A server's TDE evidence comes in three documents — the
//! server (or managed instance) itself, its encryption protector and its server keys — so [`Assembler`]
//! collects them by the normalised server id and writes one `sql_servers` row and one `cmk_bindings` row
//! (scope `tde_protector`) per server in [`Assembler::finish`], whichever of the documents were read. No I/O;
//! absent JSON stays null.

use std::collections::{BTreeMap, BTreeSet};

use evidence::identity::{EncryptionIdentity, ManagedIdentity, NamedIdentity, encryption_identity};
use evidence::ids::{normalize_resource_id, resource_group_of, resource_name_of, subscription_of};
use evidence::vocab::{encryption_scope, key_source};
use evidence::wire::{item_label, non_empty};
use evidence::{CmkBinding, KeyReference, SnapshotContext, SqlServerRow, Tables, Timestamp, resource_types};
use serde::Deserialize;
use serde_json::Value;

use crate::ConvertError;
use crate::wire;

/// The `api-version` the collector asks the SQL resource provider for.
pub const SQL_API_VERSION: &str = "2023-08-01";

/// Logical server or managed instance: the two parents of protectors and keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum ServerKind {
    /// `Microsoft.Sql/servers`.
    Server,
    /// `Microsoft.Sql/managedInstances`.
    ManagedInstance,
}

impl ServerKind {
    /// Both kinds, servers first.
    pub(crate) const ALL: [Self; 2] = [Self::Server, Self::ManagedInstance];

    /// ARM type of the server itself.
    pub(crate) const fn resource_type(self) -> &'static str {
        match self {
            Self::Server => resource_types::SQL_SERVER,
            Self::ManagedInstance => resource_types::SQL_MANAGED_INSTANCE,
        }
    }

    /// ARM type of its encryption protector.
    pub(crate) const fn protector_type(self) -> &'static str {
        match self {
            Self::Server => resource_types::SQL_SERVER_PROTECTOR,
            Self::ManagedInstance => resource_types::SQL_MI_PROTECTOR,
        }
    }

    /// ARM type of its keys.
    pub(crate) const fn keys_type(self) -> &'static str {
        match self {
            Self::Server => resource_types::SQL_SERVER_KEYS,
            Self::ManagedInstance => resource_types::SQL_MI_KEYS,
        }
    }
}

/// Which of a server's documents one item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Server,
    Protector,
    Key,
}

/// The kind and piece a lower-case ARM type stands for.
fn classify(lower_type: &str) -> Option<(ServerKind, Piece)> {
    Some(match lower_type {
        "microsoft.sql/servers" => (ServerKind::Server, Piece::Server),
        "microsoft.sql/managedinstances" => (ServerKind::ManagedInstance, Piece::Server),
        "microsoft.sql/servers/encryptionprotector" => (ServerKind::Server, Piece::Protector),
        "microsoft.sql/managedinstances/encryptionprotector" => (ServerKind::ManagedInstance, Piece::Protector),
        "microsoft.sql/servers/keys" => (ServerKind::Server, Piece::Key),
        "microsoft.sql/managedinstances/keys" => (ServerKind::ManagedInstance, Piece::Key),
        _ => return None,
    })
}

/// The part of `id` before its last `/{segment}/` (segment matched case-insensitively), as written.
fn parent_before<'a>(id: &'a str, segment: &str) -> Option<&'a str> {
    let pos = id.to_ascii_lowercase().rfind(&format!("/{segment}/"))?;
    Some(&id[..pos]).filter(|parent| !parent.is_empty())
}

/// A server or managed instance document.
#[derive(Debug, Clone)]
struct ServerDoc {
    id_original: String,
    name: Option<String>,
    location: Option<String>,
    sku_name: Option<String>,
    identity: Option<ManagedIdentity>,
    props: wire::ServerProperties,
    sha: String,
}

/// An encryption protector document.
#[derive(Debug, Clone)]
struct ProtectorDoc {
    location: Option<String>,
    props: wire::ProtectorProperties,
    sha: String,
}

/// A server key document.
#[derive(Debug, Clone)]
struct KeyDoc {
    name: String,
    props: wire::ServerKeyProperties,
    sha: String,
}

/// Everything read about one server, keyed by its normalised id in the [`Assembler`].
#[derive(Debug, Clone)]
struct Entry {
    kind: ServerKind,
    subscription_id: String,
    /// Spellings of the server id read from its protector and keys; the smallest is used when the server
    /// document itself was not read, so the order documents arrive in does not matter.
    child_spellings: BTreeSet<String>,
    server: Option<ServerDoc>,
    protector: Option<ProtectorDoc>,
    /// Keys by normalised key id.
    keys: BTreeMap<String, KeyDoc>,
    /// Whether a key list (or a key) was read: an empty list then means "no keys", not "unknown".
    keys_listed: bool,
    /// SHA-256 of key list pages read, including pages without items.
    key_pages: BTreeSet<String>,
}

/// Keeps `new` in `slot` when the slot is empty or `new` came from a response with a smaller SHA-256: a
/// document read twice (a list item and a GET, two import files) gives the same row whatever the order.
fn keep<T>(slot: &mut Option<T>, new: T, sha: impl Fn(&T) -> &str) {
    if slot.as_ref().is_none_or(|old| sha(&new) < sha(old)) {
        *slot = Some(new);
    }
}

/// Collects SQL documents (servers, managed instances, encryption protectors, server keys) and yields one
/// `sql_servers` row and one `cmk_bindings` row per server. `collect.rs` feeds every item it fetched through
/// it and `import` feeds files through it, so both give identical rows.
#[derive(Debug, Clone)]
pub struct Assembler {
    ctx: SnapshotContext,
    entries: BTreeMap<String, Entry>,
}

impl Assembler {
    /// An empty assembler for one snapshot.
    pub fn new(ctx: &SnapshotContext) -> Self {
        Self { ctx: ctx.clone(), entries: BTreeMap::new() }
    }

    /// Converts one document whose `type` (case-insensitive; derived from the id when absent) is in
    /// [`crate::HANDLES`]. `raw_sha256` is the SHA-256 of the response (or file) it came from. Err when it
    /// cannot be read: not an object of the expected shape, no usable `id`, or a type this crate does not read.
    pub fn add(&mut self, item: &Value, raw_sha256: &str) -> Result<(), ConvertError> {
        let label = item_label(item, "id");
        let shape = |reason: String| ConvertError::Shape { resource: label.clone(), reason };
        let object = item.as_object().ok_or_else(|| shape("not a JSON object".to_string()))?;
        let id = match object.get("id") {
            Some(Value::String(id)) if non_empty(Some(id)).is_some() => id.clone(),
            None | Some(Value::Null | Value::String(_)) => {
                return Err(ConvertError::MissingField { resource: label.clone(), field: "id" });
            }
            Some(_) => return Err(shape("`id` is not a string".to_string())),
        };
        let declared = match object.get("type") {
            Some(Value::String(t)) => non_empty(Some(t)).map(|t| t.trim().to_ascii_lowercase()),
            None | Some(Value::Null) => None,
            Some(_) => return Err(shape("`type` is not a string".to_string())),
        };
        let resource_type = declared
            .or_else(|| evidence::ids::resource_type_of(&id).map(|t| t.to_ascii_lowercase()))
            .unwrap_or_default();
        let Some((kind, piece)) = classify(&resource_type) else {
            return Err(ConvertError::UnsupportedType { resource: id, resource_type });
        };
        let shape_err = |e: serde_json::Error| ConvertError::Shape { resource: id.clone(), reason: e.to_string() };
        match piece {
            Piece::Server => {
                let doc = wire::Server::deserialize(item).map_err(shape_err)?;
                let entry = self.entry(kind, &id)?;
                // The server's own document decides its kind.
                entry.kind = kind;
                let new = ServerDoc {
                    id_original: id.clone(),
                    name: doc.name,
                    location: doc.location,
                    sku_name: doc.sku.and_then(|s| s.name),
                    identity: doc.identity,
                    props: doc.properties.unwrap_or(doc.flattened_properties),
                    sha: raw_sha256.to_string(),
                };
                keep(&mut entry.server, new, |d| &d.sha);
            }
            Piece::Protector => {
                let doc = wire::Protector::deserialize(item).map_err(shape_err)?;
                let parent = parent_before(&id, "encryptionprotector").ok_or_else(|| ConvertError::InvalidId {
                    resource: id.clone(),
                    reason: "an encryption protector id has no /encryptionProtector/ segment",
                })?;
                let entry = self.child_entry(kind, parent)?;
                let new = ProtectorDoc {
                    location: doc.location,
                    props: doc.properties.unwrap_or(doc.flattened_properties),
                    sha: raw_sha256.to_string(),
                };
                keep(&mut entry.protector, new, |d| &d.sha);
            }
            Piece::Key => {
                let doc = wire::ServerKey::deserialize(item).map_err(shape_err)?;
                let parent = parent_before(&id, "keys").ok_or_else(|| ConvertError::InvalidId {
                    resource: id.clone(),
                    reason: "a server key id has no /keys/ segment",
                })?;
                let name = non_empty(doc.name.as_deref())
                    .map(str::to_string)
                    .or_else(|| resource_name_of(&id))
                    .ok_or_else(|| ConvertError::MissingField { resource: id.clone(), field: "name" })?;
                let entry = self.child_entry(kind, parent)?;
                entry.keys_listed = true;
                let new = KeyDoc {
                    name,
                    props: doc.properties.unwrap_or(doc.flattened_properties),
                    sha: raw_sha256.to_string(),
                };
                let mut slot = entry.keys.remove(&normalize_resource_id(&id));
                keep(&mut slot, new, |d| &d.sha);
                if let Some(kept) = slot {
                    entry.keys.insert(normalize_resource_id(&id), kept);
                }
            }
        }
        Ok(())
    }

    /// Records that the key list of `server_id` was read in the pages with these SHA-256s, also when it held
    /// no keys (no item then reaches [`Assembler::add`]). Ignored for a server that was never added.
    pub(crate) fn note_key_list(&mut self, server_id: &str, page_sha256s: impl IntoIterator<Item = String>) {
        if let Some(entry) = self.entries.get_mut(&normalize_resource_id(server_id)) {
            entry.keys_listed = true;
            entry.key_pages.extend(page_sha256s);
        }
    }

    /// The entry of the server `server_id`, created when new.
    fn entry(&mut self, kind: ServerKind, server_id: &str) -> Result<&mut Entry, ConvertError> {
        let subscription_id = subscription_of(server_id).ok_or_else(|| ConvertError::InvalidId {
            resource: server_id.to_string(),
            reason: "no /subscriptions/{id} segment",
        })?;
        Ok(self.entries.entry(normalize_resource_id(server_id)).or_insert_with(|| Entry {
            kind,
            subscription_id,
            child_spellings: BTreeSet::new(),
            server: None,
            protector: None,
            keys: BTreeMap::new(),
            keys_listed: false,
            key_pages: BTreeSet::new(),
        }))
    }

    /// The entry of the parent server of a protector or key.
    fn child_entry(&mut self, kind: ServerKind, parent_id: &str) -> Result<&mut Entry, ConvertError> {
        let entry = self.entry(kind, parent_id)?;
        entry.child_spellings.insert(parent_id.to_string());
        Ok(entry)
    }

    /// All rows: one `sql_servers` and one `cmk_bindings` row per server seen in any document.
    pub fn finish(self) -> Tables {
        let mut tables = Tables::default();
        for (resource_id, entry) in self.entries {
            let (server, binding) = assemble(&self.ctx, resource_id, entry);
            tables.sql_servers.push(server);
            tables.cmk_bindings.push(binding);
        }
        tables
    }
}

/// The key reference a binding records.
#[derive(Debug, Clone, Default)]
struct KeyFacts {
    vault_uri: Option<String>,
    key_name: Option<String>,
    configured_version: Option<String>,
    in_use_version: Option<String>,
    in_use_key_id: Option<String>,
    auto_rotation: Option<bool>,
    /// Whether the document named a key at all (even one that does not parse).
    named: bool,
}

impl KeyFacts {
    /// From a customer-managed protector: `uri` is the versioned key in use. With `autoRotationEnabled`
    /// true the server follows the latest version (nothing pinned); otherwise the version in `uri` is the one
    /// configured.
    fn from_protector(props: &wire::ProtectorProperties) -> Self {
        let uri = non_empty(props.uri.as_deref());
        let parsed = uri.and_then(|u| KeyReference::parse_key_id(u).ok());
        let version = parsed.as_ref().and_then(|k| k.version.clone());
        Self {
            vault_uri: parsed.as_ref().map(|k| k.vault_uri.clone()),
            key_name: parsed.as_ref().map(|k| k.key_name.clone()),
            configured_version: if props.auto_rotation_enabled == Some(true) { None } else { version.clone() },
            in_use_version: version,
            in_use_key_id: uri.map(str::to_string),
            auto_rotation: props.auto_rotation_enabled,
            named: uri.is_some(),
        }
    }

    /// From the server's `keyId` when no protector was read: the key configured, not proof of what is in use,
    /// and nothing said about rotation.
    fn from_server_key_id(key_id: &str) -> Self {
        let parsed = KeyReference::parse_key_id(key_id).ok();
        Self {
            vault_uri: parsed.as_ref().map(|k| k.vault_uri.clone()),
            key_name: parsed.as_ref().map(|k| k.key_name.clone()),
            configured_version: parsed.and_then(|k| k.version),
            named: true,
            ..Self::default()
        }
    }
}

/// Builds the two rows of one server.
///
/// The binding's key source comes from the protector's `serverKeyType` (`ServiceManaged` is
/// `microsoft_managed`: service-managed TDE, recorded as such). Without a protector the key source is null
/// (the protector is what says it) and the server's `keyId`, when present, gives the key reference. The
/// identity comes from the server document (`primaryUserAssignedIdentityId`, else the system-assigned
/// identity) and is null when only the protector or keys were read.
fn assemble(ctx: &SnapshotContext, resource_id: String, entry: Entry) -> (SqlServerRow, CmkBinding) {
    let Entry { kind, subscription_id, child_spellings, server, protector, keys, keys_listed, key_pages } = entry;
    let original_id = server
        .as_ref()
        .map(|s| s.id_original.clone())
        .or_else(|| child_spellings.first().cloned())
        .unwrap_or_else(|| resource_id.clone());
    let name = server
        .as_ref()
        .and_then(|s| non_empty(s.name.as_deref()))
        .map(str::to_string)
        .or_else(|| resource_name_of(&original_id))
        .unwrap_or_default();
    let location = server.as_ref().and_then(|s| s.location.clone());

    let key_source_raw = protector.as_ref().and_then(|p| p.props.server_key_type.clone());
    let key_source = key_source::from_sql_server_key_type(key_source_raw.as_deref());
    let is_cmk = key_source == Some(key_source::CUSTOMER_MANAGED);
    let key = match (&protector, &server) {
        (Some(p), _) if is_cmk => KeyFacts::from_protector(&p.props),
        (Some(_), _) => KeyFacts::default(),
        (None, Some(s)) => non_empty(s.props.key_id.as_deref()).map(KeyFacts::from_server_key_id).unwrap_or_default(),
        (None, None) => KeyFacts::default(),
    };

    // A key may be in play: a customer-managed or unknown protector, or (without a protector) a named key.
    let key_in_play = is_cmk || key_source == Some(key_source::UNRECOGNIZED) || (protector.is_none() && key.named);
    let identity = match &server {
        Some(s) if key_in_play => {
            let named = match non_empty(s.props.primary_user_assigned_identity_id.as_deref()) {
                Some(id) => NamedIdentity::ResourceId(id),
                None => NamedIdentity::SystemAssigned,
            };
            let cmk = is_cmk || (protector.is_none() && key.named);
            encryption_identity(s.identity.as_ref(), named, s.props.federated_client_id.as_deref(), cmk)
        }
        _ => EncryptionIdentity::default(),
    };

    let mut key_shas: BTreeSet<String> = key_pages;
    key_shas.extend(keys.values().map(|k| k.sha.clone()));
    let binding_sha = protector
        .as_ref()
        .map(|p| p.sha.clone())
        .or_else(|| server.as_ref().map(|s| s.sha.clone()))
        .or_else(|| key_shas.first().cloned())
        .unwrap_or_default();

    let binding = CmkBinding {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        subscription_id: subscription_id.clone(),
        resource_id: resource_id.clone(),
        resource_id_original: original_id.clone(),
        resource_type: kind.resource_type().to_string(),
        resource_name: name.clone(),
        location: location.clone().or_else(|| protector.as_ref().and_then(|p| p.location.clone())),
        encryption_scope: encryption_scope::TDE_PROTECTOR.to_string(),
        key_source: key_source.map(str::to_string),
        key_source_raw: key_source_raw.clone(),
        key_vault_uri: key.vault_uri,
        key_via_resource_id: None,
        key_name: key.key_name,
        configured_key_version: key.configured_version,
        in_use_key_version: key.in_use_version,
        in_use_key_id: key.in_use_key_id,
        auto_rotation: key.auto_rotation,
        identity_type: identity.identity_type.map(str::to_string),
        identity_resource_id: identity.resource_id,
        identity_principal_id: identity.principal_id,
        identity_client_id: identity.client_id,
        federated_client_id: identity.federated_client_id,
        // SQL reports neither when it last switched key version nor the expiry of the version in use.
        last_key_rotation_at: None,
        in_use_key_expires_at: None,
        rotation_error: None,
        raw_response_sha256: binding_sha,
    };

    let protector_props = protector.as_ref().map(|p| &p.props);
    let protector_key_created_at = protector_props.and_then(|p| {
        let wanted_name = non_empty(p.server_key_name.as_deref());
        let wanted_uri = non_empty(p.uri.as_deref());
        keys.values()
            .filter(|k| {
                wanted_name.is_some_and(|n| k.name.trim().eq_ignore_ascii_case(n.trim()))
                    || wanted_uri.is_some_and(|u| {
                        non_empty(k.props.uri.as_deref()).is_some_and(|ku| ku.trim().eq_ignore_ascii_case(u.trim()))
                    })
            })
            .filter_map(|k| k.props.creation_date.as_deref().and_then(Timestamp::parse))
            .max()
    });
    let sorted = |values: BTreeSet<String>| values.into_iter().collect::<Vec<_>>();
    let server_props = server.as_ref().map(|s| &s.props);
    let identity_doc = server.as_ref().and_then(|s| s.identity.as_ref());
    let row = SqlServerRow {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        subscription_id,
        resource_id,
        resource_group: resource_group_of(&original_id),
        resource_id_original: original_id,
        resource_type: kind.resource_type().to_string(),
        name,
        location,
        version_or_sku: server
            .as_ref()
            .and_then(|s| non_empty(s.props.version.as_deref()).map(str::to_string).or_else(|| s.sku_name.clone())),
        server_key_id: server_props.and_then(|p| p.key_id.clone()),
        primary_user_assigned_identity_id: server_props
            .and_then(|p| non_empty(p.primary_user_assigned_identity_id.as_deref()))
            .map(normalize_resource_id),
        federated_client_id: server_props.and_then(|p| non_empty(p.federated_client_id.as_deref())).map(str::to_string),
        protector_server_key_type: key_source_raw,
        protector_server_key_name: protector_props.and_then(|p| p.server_key_name.clone()),
        protector_uri: protector_props.and_then(|p| p.uri.clone()),
        protector_auto_rotation_enabled: protector_props.and_then(|p| p.auto_rotation_enabled),
        protector_thumbprint: protector_props.and_then(|p| p.thumbprint.clone()),
        server_key_names: keys_listed.then(|| sorted(keys.values().map(|k| k.name.clone()).collect())),
        server_key_uris: keys_listed.then(|| {
            sorted(keys.values().filter_map(|k| non_empty(k.props.uri.as_deref())).map(str::to_string).collect())
        }),
        protector_key_created_at,
        identity_type_raw: identity_doc.and_then(|i| i.identity_type.clone()),
        system_assigned_principal_id: identity_doc.and_then(|i| i.principal_id.clone()),
        user_assigned_identity_ids: identity_doc.and_then(ManagedIdentity::user_assigned_ids),
        public_network_access: server_props.and_then(|p| p.public_network_access.clone()),
        state: server_props.and_then(|p| p.state.clone().or_else(|| p.provisioning_state.clone())),
        raw_response_sha256: server.as_ref().map(|s| s.sha.clone()),
        protector_raw_response_sha256: protector.as_ref().map(|p| p.sha.clone()),
        keys_raw_response_sha256: keys_listed.then(|| sorted(key_shas)),
    };
    (row, binding)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on bad data: that is the failure.
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;

    const SERVER_GET: &str = "sql/2023-08-01/ServerGet.json";
    const PROTECTOR_GET: &str = "sql/2023-08-01/EncryptionProtectorGet.json";
    const PROTECTOR_LIST: &str = "sql/2023-08-01/EncryptionProtectorList.json";
    const SERVER_KEYS: &str = "sql/2023-08-01/ServerKeyList.json";
    const MI_GET: &str = "sql/2023-08-01/ManagedInstanceGet.json";
    const MI_PROTECTOR_GET: &str = "sql/2023-08-01/ManagedInstanceEncryptionProtectorGet.json";
    const MI_PROTECTOR_LIST: &str = "sql/2023-08-01/ManagedInstanceEncryptionProtectorList.json";
    const MI_PROTECTOR_2021: &str = "sql/2021-11-01/ManagedInstanceEncryptionProtectorGet.json";
    const MI_KEYS: &str = "sql/2023-08-01/ManagedInstanceKeyList.json";

    const SERVER_ID: &str = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/sqlcrudtest-7398/providers/Microsoft.Sql/servers/sqlcrudtest-4645";
    const MI_ID: &str = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/sqlcrudtest-7398/providers/Microsoft.Sql/managedInstances/sqlcrudtest-4645";
    const TESTINSTANCE_ID: &str = "/subscriptions/20d7082a-0fc7-4468-82bd-542694d5042b/resourceGroups/testrg/providers/Microsoft.Sql/managedInstances/testinstance";
    const VAULT: &str = "https://somevault.vault.azure.net/";
    const VERSION: &str = "01234567890123456789012345678901";
    const URI: &str = "https://someVault.vault.azure.net/keys/someKey/01234567890123456789012345678901";
    const KEY_NAME: &str = "someVault_someKey_01234567890123456789012345678901";
    const KEY_NAMES: &[&str] = &["ServiceManaged", "myVault_myKey_11111111111111111111111111111111", KEY_NAME];

    fn ctx() -> SnapshotContext {
        SnapshotContext {
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".to_string(),
            taken_at: Timestamp::parse("2026-01-15T10:00:00Z").unwrap(),
        }
    }

    /// A stand-in SHA-256 per example file, so tests see which response a column was read from.
    fn sha_of(file: &str) -> String {
        format!("sha256-of-{file}")
    }

    /// The documents of an example file: the `200` body, or every item of a list body.
    fn documents(rel: &str) -> Vec<Value> {
        let body = collect_common::examples::body(rel, "200");
        match body.get("value") {
            Some(Value::Array(items)) => items.clone(),
            _ => vec![body],
        }
    }

    fn assemble_files(files: &[&str]) -> Tables {
        let mut assembler = Assembler::new(&ctx());
        for file in files {
            for item in documents(file) {
                assembler.add(&item, &sha_of(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            }
        }
        assembler.finish()
    }

    fn one(tables: &Tables) -> (&SqlServerRow, &CmkBinding) {
        assert_eq!(tables.sql_servers.len(), 1, "one server row");
        assert_eq!(tables.cmk_bindings.len(), 1, "one binding");
        assert!(tables.coverage.is_empty());
        (&tables.sql_servers[0], &tables.cmk_bindings[0])
    }

    /// What a set of example files must assemble into (one server each).
    #[derive(Clone, Copy)]
    struct Case {
        files: &'static [&'static str],
        id: &'static str,
        resource_type: &'static str,
        name: &'static str,
        location: Option<&'static str>,
        binding_location: Option<&'static str>,
        key_source: Option<&'static str>,
        key_source_raw: Option<&'static str>,
        vault: Option<&'static str>,
        key_name: Option<&'static str>,
        configured: Option<&'static str>,
        in_use_version: Option<&'static str>,
        in_use_key_id: Option<&'static str>,
        auto_rotation: Option<bool>,
        identity_type: Option<&'static str>,
        binding_sha_file: &'static str,
        version_or_sku: Option<&'static str>,
        state: Option<&'static str>,
        public_network_access: Option<&'static str>,
        protector_key_name: Option<&'static str>,
        protector_uri: Option<&'static str>,
        key_names: Option<&'static [&'static str]>,
        key_created: Option<&'static str>,
        server_sha_file: Option<&'static str>,
        protector_sha_file: Option<&'static str>,
        keys_sha_file: Option<&'static str>,
    }

    /// A server known only from a customer-managed protector whose rotation flag is absent (pinned version).
    const CMK_PROTECTOR_ONLY: Case = Case {
        files: &[],
        id: SERVER_ID,
        resource_type: "Microsoft.Sql/servers",
        name: "sqlcrudtest-4645",
        location: None,
        binding_location: Some("Japan East"),
        key_source: Some("customer_managed"),
        key_source_raw: Some("AzureKeyVault"),
        vault: Some(VAULT),
        key_name: Some("someKey"),
        configured: Some(VERSION),
        in_use_version: Some(VERSION),
        in_use_key_id: Some(URI),
        auto_rotation: None,
        // No server document: which identity reaches the key is unknown, not "none".
        identity_type: None,
        binding_sha_file: "",
        version_or_sku: None,
        state: None,
        public_network_access: None,
        protector_key_name: Some(KEY_NAME),
        protector_uri: Some(URI),
        key_names: None,
        key_created: None,
        server_sha_file: None,
        protector_sha_file: None,
        keys_sha_file: None,
    };

    const NOTHING_SAID: Case = Case {
        binding_location: None,
        key_source: None,
        key_source_raw: None,
        vault: None,
        key_name: None,
        configured: None,
        in_use_version: None,
        in_use_key_id: None,
        protector_key_name: None,
        protector_uri: None,
        ..CMK_PROTECTOR_ONLY
    };

    fn cases() -> Vec<Case> {
        vec![
            Case {
                files: &[SERVER_GET],
                location: Some("japaneast"),
                binding_location: Some("japaneast"),
                binding_sha_file: SERVER_GET,
                version_or_sku: Some("12.0"),
                state: Some("Ready"),
                public_network_access: Some("Enabled"),
                server_sha_file: Some(SERVER_GET),
                ..NOTHING_SAID
            },
            Case {
                files: &[PROTECTOR_GET],
                auto_rotation: Some(false),
                binding_sha_file: PROTECTOR_GET,
                protector_sha_file: Some(PROTECTOR_GET),
                ..CMK_PROTECTOR_ONLY
            },
            Case {
                files: &[PROTECTOR_LIST],
                binding_sha_file: PROTECTOR_LIST,
                protector_sha_file: Some(PROTECTOR_LIST),
                ..CMK_PROTECTOR_ONLY
            },
            Case {
                files: &[SERVER_KEYS],
                binding_sha_file: SERVER_KEYS,
                key_names: Some(KEY_NAMES),
                keys_sha_file: Some(SERVER_KEYS),
                ..NOTHING_SAID
            },
            // All three documents of one server: the server says nothing of an identity, so the CMK binding
            // records that no identity can reach the key.
            Case {
                files: &[SERVER_GET, PROTECTOR_GET, SERVER_KEYS],
                location: Some("japaneast"),
                binding_location: Some("japaneast"),
                auto_rotation: Some(false),
                identity_type: Some("none"),
                binding_sha_file: PROTECTOR_GET,
                version_or_sku: Some("12.0"),
                state: Some("Ready"),
                public_network_access: Some("Enabled"),
                key_names: Some(KEY_NAMES),
                key_created: Some("2020-11-15T00:00:00Z"),
                server_sha_file: Some(SERVER_GET),
                protector_sha_file: Some(PROTECTOR_GET),
                keys_sha_file: Some(SERVER_KEYS),
                ..CMK_PROTECTOR_ONLY
            },
            Case {
                files: &[MI_GET],
                id: TESTINSTANCE_ID,
                resource_type: "Microsoft.Sql/managedInstances",
                name: "testinstance",
                location: Some("japaneast"),
                binding_location: Some("japaneast"),
                binding_sha_file: MI_GET,
                version_or_sku: Some("GP_Gen4"),
                state: Some("Ready"),
                server_sha_file: Some(MI_GET),
                ..NOTHING_SAID
            },
            Case {
                files: &[MI_PROTECTOR_GET],
                id: MI_ID,
                resource_type: "Microsoft.Sql/managedInstances",
                binding_location: None,
                auto_rotation: Some(false),
                binding_sha_file: MI_PROTECTOR_GET,
                protector_sha_file: Some(MI_PROTECTOR_GET),
                ..CMK_PROTECTOR_ONLY
            },
            Case {
                files: &[MI_PROTECTOR_LIST],
                id: MI_ID,
                resource_type: "Microsoft.Sql/managedInstances",
                binding_location: None,
                binding_sha_file: MI_PROTECTOR_LIST,
                protector_sha_file: Some(MI_PROTECTOR_LIST),
                ..CMK_PROTECTOR_ONLY
            },
            // api 2021-11-01 has no `autoRotationEnabled`: the rotation flag stays null, the version pinned.
            Case {
                files: &[MI_PROTECTOR_2021],
                id: MI_ID,
                resource_type: "Microsoft.Sql/managedInstances",
                binding_location: None,
                binding_sha_file: MI_PROTECTOR_2021,
                protector_sha_file: Some(MI_PROTECTOR_2021),
                ..CMK_PROTECTOR_ONLY
            },
            Case {
                files: &[MI_KEYS],
                id: MI_ID,
                resource_type: "Microsoft.Sql/managedInstances",
                binding_sha_file: MI_KEYS,
                key_names: Some(KEY_NAMES),
                keys_sha_file: Some(MI_KEYS),
                ..NOTHING_SAID
            },
            Case {
                files: &[MI_PROTECTOR_GET, MI_KEYS],
                id: MI_ID,
                resource_type: "Microsoft.Sql/managedInstances",
                binding_location: None,
                auto_rotation: Some(false),
                binding_sha_file: MI_PROTECTOR_GET,
                key_names: Some(KEY_NAMES),
                key_created: Some("2020-11-15T00:00:00Z"),
                protector_sha_file: Some(MI_PROTECTOR_GET),
                keys_sha_file: Some(MI_KEYS),
                ..CMK_PROTECTOR_ONLY
            },
        ]
    }

    #[test]
    fn every_sql_example_assembles_into_the_expected_evidence() {
        for case in cases() {
            let at = format!("{:?}", case.files);
            let tables = assemble_files(case.files);
            let (row, b) = one(&tables);
            let sha = |file: Option<&str>| file.map(sha_of);

            // Identity of the server.
            assert_eq!(b.resource_id, case.id.to_ascii_lowercase(), "{at}");
            assert_eq!(b.resource_id_original, case.id, "{at}");
            assert_eq!(b.subscription_id, subscription_of(case.id).unwrap(), "{at}");
            assert_eq!(b.resource_type, case.resource_type, "{at}");
            assert_eq!(b.resource_name, case.name, "{at}");
            assert_eq!(b.encryption_scope, "tde_protector", "{at}");
            assert_eq!(b.location.as_deref(), case.binding_location, "{at}: location");
            assert_eq!(b.tenant_id, ctx().tenant_id, "{at}");
            assert_eq!(b.snapshot_id, "20260115T100000Z", "{at}");
            assert_eq!(b.raw_response_sha256, sha_of(case.binding_sha_file), "{at}: binding raw response");

            // The chain as the server describes it.
            assert_eq!(b.key_source.as_deref(), case.key_source, "{at}: key_source");
            assert_eq!(b.key_source_raw.as_deref(), case.key_source_raw, "{at}: key_source_raw");
            assert_eq!(b.key_vault_uri.as_deref(), case.vault, "{at}: vault");
            assert_eq!(b.key_name.as_deref(), case.key_name, "{at}: key name");
            assert_eq!(b.configured_key_version.as_deref(), case.configured, "{at}: configured version");
            assert_eq!(b.in_use_key_version.as_deref(), case.in_use_version, "{at}: version in use");
            assert_eq!(b.in_use_key_id.as_deref(), case.in_use_key_id, "{at}: key id in use");
            assert_eq!(b.auto_rotation, case.auto_rotation, "{at}: auto rotation");
            assert_eq!(b.key_via_resource_id, None, "{at}");
            assert_eq!(b.identity_type.as_deref(), case.identity_type, "{at}: identity type");
            assert_eq!(b.identity_resource_id, None, "{at}: no example names a user-assigned identity");
            assert_eq!(b.identity_principal_id, None, "{at}");
            assert_eq!(b.identity_client_id, None, "{at}");
            assert_eq!(b.federated_client_id, None, "{at}");
            assert_eq!((b.last_key_rotation_at, b.in_use_key_expires_at), (None, None), "{at}: SQL reports neither");
            assert_eq!(b.rotation_error, None, "{at}");

            // The server row.
            assert_eq!(row.resource_id, b.resource_id, "{at}");
            assert_eq!(row.resource_id_original, case.id, "{at}");
            assert_eq!(row.resource_type, case.resource_type, "{at}");
            assert_eq!(row.subscription_id, b.subscription_id, "{at}");
            assert_eq!(row.name, case.name, "{at}");
            assert_eq!(row.resource_group, resource_group_of(case.id), "{at}");
            assert_eq!(row.location.as_deref(), case.location, "{at}: row location is the server's");
            assert_eq!(row.version_or_sku.as_deref(), case.version_or_sku, "{at}: version or sku");
            assert_eq!(row.state.as_deref(), case.state, "{at}: state");
            assert_eq!(row.public_network_access.as_deref(), case.public_network_access, "{at}");
            assert_eq!(row.server_key_id, None, "{at}: no example server has keyId");
            assert_eq!(row.primary_user_assigned_identity_id, None, "{at}");
            assert_eq!(row.federated_client_id, None, "{at}");
            assert_eq!(row.protector_server_key_type.as_deref(), case.key_source_raw, "{at}");
            assert_eq!(row.protector_server_key_name.as_deref(), case.protector_key_name, "{at}");
            assert_eq!(row.protector_uri.as_deref(), case.protector_uri, "{at}");
            assert_eq!(row.protector_auto_rotation_enabled, case.auto_rotation, "{at}");
            assert_eq!(row.protector_thumbprint, None, "{at}: no example protector has one");
            let names = case.key_names.map(|n| {
                let mut v: Vec<String> = n.iter().map(|s| s.to_string()).collect();
                v.sort();
                v
            });
            assert_eq!(row.server_key_names, names, "{at}: key names");
            assert_eq!(row.server_key_uris, case.key_names.map(|_| Vec::new()), "{at}: `uri` is write-only");
            assert_eq!(
                row.protector_key_created_at,
                case.key_created.map(|t| Timestamp::parse(t).unwrap()),
                "{at}: creation of the protector's key"
            );
            assert_eq!((&row.identity_type_raw, &row.system_assigned_principal_id), (&None, &None), "{at}");
            assert_eq!(row.user_assigned_identity_ids, None, "{at}");
            assert_eq!(row.raw_response_sha256, sha(case.server_sha_file), "{at}: server raw");
            assert_eq!(row.protector_raw_response_sha256, sha(case.protector_sha_file), "{at}: protector raw");
            assert_eq!(row.keys_raw_response_sha256, sha(case.keys_sha_file).map(|s| vec![s]), "{at}: keys raw");
        }
    }

    /// Every file under `sql/` is used by a case, so a new example cannot be forgotten.
    #[test]
    fn every_sql_example_file_is_used() {
        let found = collect_common::examples::files_under(&["sql"]);
        let used: BTreeSet<String> = cases().iter().flat_map(|c| c.files.iter().map(|f| f.to_string())).collect();
        assert_eq!(found, used);
        // Every item of every list is fed (assemble_files adds all of them); the key lists hold three each.
        assert_eq!(documents(SERVER_KEYS).len(), 3);
        assert_eq!(documents(MI_KEYS).len(), 3);
        assert_eq!(documents(PROTECTOR_LIST).len(), 1);
        assert_eq!(documents(MI_PROTECTOR_LIST).len(), 1);
    }

    #[test]
    fn the_order_documents_arrive_in_does_not_matter() {
        let forward = assemble_files(&[SERVER_GET, PROTECTOR_GET, PROTECTOR_LIST, SERVER_KEYS]);
        let backward = assemble_files(&[SERVER_KEYS, PROTECTOR_LIST, PROTECTOR_GET, SERVER_GET]);
        assert_eq!(forward.sql_servers, backward.sql_servers);
        assert_eq!(forward.cmk_bindings, backward.cmk_bindings);
        // The same protector read twice: one row, from the response with the smaller SHA-256.
        let (row, _) = one(&forward);
        let kept = sha_of(PROTECTOR_GET).min(sha_of(PROTECTOR_LIST));
        assert_eq!(row.protector_raw_response_sha256.as_deref(), Some(kept.as_str()));
    }

    #[test]
    fn servers_and_instances_of_one_snapshot_stay_apart() {
        let tables = assemble_files(&[SERVER_GET, PROTECTOR_GET, MI_GET, MI_PROTECTOR_GET, MI_KEYS, SERVER_KEYS]);
        let ids: Vec<&str> = tables.cmk_bindings.iter().map(|b| b.resource_id_original.as_str()).collect();
        assert_eq!(ids.len(), 3);
        assert!(ids.contains(&SERVER_ID) && ids.contains(&MI_ID) && ids.contains(&TESTINSTANCE_ID), "{ids:?}");
        assert_eq!(tables.sql_servers.len(), 3);
    }

    const MI: &str = "/subscriptions/1111AAAA-0000-0000-0000-000000000000/resourceGroups/RG-Data/providers/Microsoft.Sql/managedInstances/mi-one";
    const UAI: &str = "/subscriptions/1111aaaa-0000-0000-0000-000000000000/resourceGroups/rg-id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/tde-uai";

    /// `az sql mi show -o json`: `properties` flattened into the resource.
    fn az_mi_show() -> Value {
        json!({
            "id": MI,
            "name": "mi-one",
            "type": "Microsoft.Sql/managedInstances",
            "location": "westeurope",
            "resourceGroup": "RG-Data",
            "sku": {"name": "GP_Gen5", "tier": "GeneralPurpose"},
            "identity": {
                "type": "SystemAssigned,UserAssigned",
                "principalId": "mi-system-principal",
                "userAssignedIdentities": {UAI: {"principalId": "uai-principal", "clientId": "uai-client"}}
            },
            "keyId": "https://kv-data.vault.azure.net/keys/tde/abc123",
            "primaryUserAssignedIdentityId": UAI.to_ascii_uppercase(),
            "provisioningState": "Succeeded",
            "state": "Ready"
        })
    }

    /// `az sql mi tde-key show -o json`.
    fn az_tde_key_show(auto_rotation: Value) -> Value {
        json!({
            "autoRotationEnabled": auto_rotation,
            "id": format!("{MI}/encryptionProtector/current"),
            "kind": "azurekeyvault",
            "name": "current",
            "resourceGroup": "RG-Data",
            "serverKeyName": "kv-data_tde_abc123",
            "serverKeyType": "AzureKeyVault",
            "thumbprint": "ABCDEF",
            "type": "Microsoft.Sql/managedInstances/encryptionProtector",
            "uri": "https://kv-data.vault.azure.net/keys/tde/abc123"
        })
    }

    #[test]
    fn az_cli_output_with_auto_rotation_and_a_user_assigned_identity() {
        let mut assembler = Assembler::new(&ctx());
        assembler.add(&az_mi_show(), "h-mi").unwrap();
        assembler.add(&az_tde_key_show(json!(true)), "h-tde").unwrap();
        let tables = assembler.finish();
        let (row, b) = one(&tables);
        assert_eq!(b.resource_type, "Microsoft.Sql/managedInstances");
        assert_eq!(b.key_source.as_deref(), Some("customer_managed"));
        assert_eq!(b.key_vault_uri.as_deref(), Some("https://kv-data.vault.azure.net/"));
        assert_eq!(b.key_name.as_deref(), Some("tde"));
        assert_eq!(b.configured_key_version, None, "auto-rotation: the server follows the latest version");
        assert_eq!(b.in_use_key_version.as_deref(), Some("abc123"));
        assert_eq!(b.auto_rotation, Some(true));
        assert_eq!(b.identity_type.as_deref(), Some("user_assigned"));
        assert_eq!(b.identity_resource_id, Some(normalize_resource_id(UAI)), "matched case-insensitively");
        assert_eq!(b.identity_principal_id.as_deref(), Some("uai-principal"));
        assert_eq!(b.identity_client_id.as_deref(), Some("uai-client"));
        assert_eq!(b.raw_response_sha256, "h-tde");
        assert_eq!(b.location.as_deref(), Some("westeurope"));
        assert_eq!(row.version_or_sku.as_deref(), Some("GP_Gen5"));
        assert_eq!(row.server_key_id.as_deref(), Some("https://kv-data.vault.azure.net/keys/tde/abc123"));
        assert_eq!(row.primary_user_assigned_identity_id, Some(normalize_resource_id(UAI)));
        assert_eq!(row.protector_thumbprint.as_deref(), Some("ABCDEF"));
        assert_eq!(row.protector_auto_rotation_enabled, Some(true));
        assert_eq!(row.identity_type_raw.as_deref(), Some("SystemAssigned,UserAssigned"));
        assert_eq!(row.system_assigned_principal_id.as_deref(), Some("mi-system-principal"));
        assert_eq!(row.user_assigned_identity_ids, Some(vec![normalize_resource_id(UAI)]));
        assert_eq!(row.state.as_deref(), Some("Ready"));
        assert_eq!(row.server_key_names, None, "no key list read");
        assert_eq!(row.raw_response_sha256.as_deref(), Some("h-mi"));
        assert_eq!(row.protector_raw_response_sha256.as_deref(), Some("h-tde"));
        assert_eq!(row.keys_raw_response_sha256, None);
    }

    /// An import folder holding only `az sql mi tde-key show`: the binding exists, named after the parent.
    #[test]
    fn a_protector_alone_gives_a_binding_for_its_server() {
        let mut assembler = Assembler::new(&ctx());
        assembler.add(&az_tde_key_show(json!("false")), "h-tde").unwrap();
        let tables = assembler.finish();
        let (row, b) = one(&tables);
        assert_eq!(b.resource_id_original, MI);
        assert_eq!(b.resource_id, MI.to_ascii_lowercase());
        assert_eq!(b.subscription_id, "1111aaaa-0000-0000-0000-000000000000");
        assert_eq!(b.resource_type, "Microsoft.Sql/managedInstances");
        assert_eq!(b.resource_name, "mi-one");
        assert_eq!(b.configured_key_version.as_deref(), Some("abc123"), "no auto-rotation: pinned");
        assert_eq!(b.auto_rotation, Some(false));
        assert_eq!(b.identity_type, None, "identity unknown without the instance document");
        assert_eq!(row.name, "mi-one");
        assert_eq!(row.resource_group.as_deref(), Some("RG-Data"));
        assert_eq!((row.location.as_deref(), row.version_or_sku.as_deref(), row.state.as_deref()), (None, None, None));
        assert_eq!(row.raw_response_sha256, None);
    }

    #[test]
    fn service_managed_tde_is_recorded_as_microsoft_managed() {
        let mut server = az_mi_show();
        server["identity"] = json!({"type": "SystemAssigned", "principalId": "p"});
        let protector = json!({
            "id": format!("{MI}/encryptionProtector/current"),
            "type": "Microsoft.Sql/managedInstances/encryptionProtector",
            "kind": "servicemanaged",
            "properties": {"serverKeyName": "ServiceManaged", "serverKeyType": "ServiceManaged"}
        });
        let mut assembler = Assembler::new(&ctx());
        assembler.add(&server, "h-mi").unwrap();
        assembler.add(&protector, "h-p").unwrap();
        let tables = assembler.finish();
        let (row, b) = one(&tables);
        assert_eq!(b.key_source.as_deref(), Some("microsoft_managed"));
        assert_eq!(b.key_source_raw.as_deref(), Some("ServiceManaged"));
        assert_eq!((b.key_vault_uri.as_deref(), b.key_name.as_deref()), (None, None), "stale keyId is not in use");
        assert_eq!(b.auto_rotation, None);
        assert_eq!(b.identity_type, None, "service-managed keys need no identity");
        assert_eq!(row.server_key_id.as_deref(), Some("https://kv-data.vault.azure.net/keys/tde/abc123"));
        assert_eq!(row.protector_server_key_name.as_deref(), Some("ServiceManaged"));
    }

    /// Without a protector the key source is unknown; the server's `keyId` still names the key.
    #[test]
    fn without_a_protector_the_server_key_id_is_the_key_reference() {
        let server = json!({
            "id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/servers/srv",
            "type": "Microsoft.Sql/servers",
            "identity": {"type": "SystemAssigned", "principalId": "srv-principal"},
            "properties": {
                "keyId": "https://kv.vault.azure.net/keys/tde-key/v7",
                "federatedClientId": "fed-app"
            }
        });
        let mut assembler = Assembler::new(&ctx());
        assembler.add(&server, "h").unwrap();
        let tables = assembler.finish();
        let (row, b) = one(&tables);
        assert_eq!(b.key_source, None);
        assert_eq!(b.key_vault_uri.as_deref(), Some("https://kv.vault.azure.net/"));
        assert_eq!(b.key_name.as_deref(), Some("tde-key"));
        assert_eq!(b.configured_key_version.as_deref(), Some("v7"));
        assert_eq!((b.in_use_key_version.as_deref(), b.in_use_key_id.as_deref()), (None, None));
        assert_eq!(b.auto_rotation, None);
        assert_eq!(b.identity_type.as_deref(), Some("system_assigned"));
        assert_eq!(b.identity_principal_id.as_deref(), Some("srv-principal"));
        assert_eq!(b.federated_client_id.as_deref(), Some("fed-app"));
        assert_eq!(row.federated_client_id.as_deref(), Some("fed-app"));
    }

    #[test]
    fn a_key_list_read_empty_is_an_empty_list_not_null() {
        let mut assembler = Assembler::new(&ctx());
        assembler.add(&az_mi_show(), "h-mi").unwrap();
        assembler.note_key_list(&MI.to_ascii_lowercase(), vec!["h-page".to_string()]);
        assembler
            .note_key_list("/subscriptions/s/resourceGroups/r/providers/Microsoft.Sql/servers/never-added", vec![]);
        let tables = assembler.finish();
        let (row, _) = one(&tables);
        assert_eq!(row.server_key_names, Some(Vec::new()));
        assert_eq!(row.server_key_uris, Some(Vec::new()));
        assert_eq!(row.keys_raw_response_sha256, Some(vec!["h-page".to_string()]));
    }

    #[test]
    fn unknown_protector_types_keep_the_raw_value_and_no_key() {
        let mut assembler = Assembler::new(&ctx());
        assembler.add(&az_mi_show(), "h-mi").unwrap();
        let mut protector = az_tde_key_show(Value::Null);
        protector["serverKeyType"] = json!("QuantumVault");
        assembler.add(&protector, "h-p").unwrap();
        let tables = assembler.finish();
        let (_, b) = one(&tables);
        assert_eq!(b.key_source.as_deref(), Some("unrecognized"));
        assert_eq!(b.key_source_raw.as_deref(), Some("QuantumVault"));
        assert_eq!(b.key_vault_uri, None);
        assert_eq!(b.identity_type.as_deref(), Some("user_assigned"), "whatever the key is, this reaches it");
    }

    #[test]
    fn a_missing_type_is_read_from_the_id() {
        let key = json!({"id": format!("{MI}/keys/kv_k_v1"), "properties": {"creationDate": "2024-01-01T00:00:00Z"}});
        let mut assembler = Assembler::new(&ctx());
        assembler.add(&key, "h").unwrap();
        let tables = assembler.finish();
        let (row, b) = one(&tables);
        assert_eq!(b.resource_type, "Microsoft.Sql/managedInstances");
        assert_eq!(row.server_key_names, Some(vec!["kv_k_v1".to_string()]), "name from the id");
    }

    #[test]
    fn malformed_documents_are_errors_that_name_them() {
        let mut assembler = Assembler::new(&ctx());
        let no_id = json!({"name": "orphan", "type": "Microsoft.Sql/servers"});
        assert_eq!(
            assembler.add(&no_id, "h"),
            Err(ConvertError::MissingField { resource: "named \"orphan\" (no id)".to_string(), field: "id" })
        );
        assert!(matches!(assembler.add(&json!({"id": 7}), "h"), Err(ConvertError::Shape { .. })));
        assert!(matches!(assembler.add(&json!([1]), "h"), Err(ConvertError::Shape { .. })));
        let other = json!({"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Sql/servers/s1/databases/db", "type": "Microsoft.Sql/servers/databases"});
        match assembler.add(&other, "h") {
            Err(ConvertError::UnsupportedType { resource_type, .. }) => {
                assert_eq!(resource_type, "microsoft.sql/servers/databases");
            }
            got => panic!("expected an unsupported type, got {got:?}"),
        }
        let odd_protector = json!({"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Sql/servers/s1", "type": "Microsoft.Sql/servers/encryptionProtector"});
        assert!(matches!(assembler.add(&odd_protector, "h"), Err(ConvertError::InvalidId { .. })));
        let not_arm = json!({"id": "srv", "type": "Microsoft.Sql/servers"});
        assert!(matches!(assembler.add(&not_arm, "h"), Err(ConvertError::InvalidId { .. })));
        let wrong_shape = json!({"id": SERVER_ID, "type": "Microsoft.Sql/servers", "properties": {"keyId": 5}});
        match assembler.add(&wrong_shape, "h") {
            Err(ConvertError::Shape { resource, .. }) => assert_eq!(resource, SERVER_ID),
            got => panic!("expected a shape error, got {got:?}"),
        }
        let err = assembler.add(&no_id, "h").unwrap_err().to_string();
        assert!(err.contains("orphan") && err.contains("`id`"), "{err}");
        assert!(assembler.finish().sql_servers.is_empty(), "nothing half-read is written");
    }

    #[test]
    fn handles_lists_every_type_the_assembler_reads() {
        for t in crate::HANDLES {
            assert!(classify(t).is_some(), "{t}");
        }
        assert_eq!(
            evidence::ids::resource_type_of(&format!("{SERVER_ID}/encryptionProtector/current")).as_deref(),
            Some("Microsoft.Sql/servers/encryptionProtector")
        );
    }
}
