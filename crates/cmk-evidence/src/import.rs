//! `import`: builds a package from saved JSON instead of live Azure — the files auditors are usually handed.
//! Accepted per file: one ARM resource (a `GET` body), an ARM list page (`{"value": [...]}`), `az ... show`
//! output (properties flattened to the top level), `az ... list` output (a JSON array), Key Vault data-plane
//! bodies (`az keyvault key show`, a key's version list, `az keyvault key rotation-policy show`), and Microsoft's
//! REST example files (`{"parameters": ..., "responses": {"200": {"body": ...}}}`). Each document's kind is
//! detected from its content (`type`, `kid`, `lifetimeActions`), never from the file name.
//!
//! The documents go through the same converters (and the same assemblers) as `collect`, so the rows are the
//! same as collecting those resources live. Every file is a `raw_responses` row (method `FILE`, url
//! `file:<relative path>`); rows point at the file they came from. A file or item that cannot be read is
//! reported by name and reason and becomes a coverage row; the rest still import.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use evidence::ids::{normalize_resource_id, scope_covers};
use evidence::vocab::CoverageStatus;
use evidence::{KeyReference, KeyVersionRow, SnapshotContext, Tables, Timestamp};
use sha2::Digest as _;

/// Method recorded in `raw_responses` for an imported file.
pub(crate) const FILE_METHOD: &str = "FILE";

/// Resource type recorded in `coverage` for a file or document that could not be read.
const IMPORT_TYPE: &str = "import/file";

/// One JSON document found in a file (a file holds one, or a list of them).
#[derive(Debug, Clone)]
struct Document {
    value: serde_json::Value,
    /// Relative path of the file, and the index of the item for list files.
    origin: String,
    /// SHA-256 of the file.
    sha256: String,
}

/// What a document is, decided from its content. The order is the conversion order: resources first, then
/// the vault side (role assignments need the vaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Storage,
    Disk,
    Sql,
    Acr,
    Containers,
    Vault,
    ManagedHsm,
    ArmKey,
    RoleAssignment,
    KeyBundle,
    KeyVersionItem,
    RotationPolicy,
    /// An ARM resource of a type no collector assesses.
    OtherResource,
}

fn classify(doc: &serde_json::Value) -> Result<Kind, String> {
    let Some(object) = doc.as_object() else {
        return Err(format!("a JSON {} is not a resource document", json_kind(doc)));
    };
    // Some documents leave out `type` (Microsoft's create examples, some `az` output): the ARM id implies it.
    let implied = object
        .get("id")
        .and_then(|v| v.as_str())
        .filter(|id| id.to_ascii_lowercase().starts_with("/subscriptions/"))
        .and_then(evidence::ids::resource_type_of);
    let declared = object.get("type").and_then(|v| v.as_str()).map(str::to_string);
    if let Some(resource_type) = declared.or(implied).as_deref() {
        let t = resource_type.trim().to_ascii_lowercase();
        let kind = match t.as_str() {
            "microsoft.storage/storageaccounts" => Kind::Storage,
            "microsoft.keyvault/vaults" => Kind::Vault,
            "microsoft.keyvault/managedhsms" => Kind::ManagedHsm,
            "microsoft.keyvault/vaults/keys" => Kind::ArmKey,
            "microsoft.authorization/roleassignments" => Kind::RoleAssignment,
            t if collect_disk::HANDLES.contains(&t) => Kind::Disk,
            t if collect_sql::HANDLES.contains(&t) => Kind::Sql,
            t if collect_acr::HANDLES.contains(&t) => Kind::Acr,
            t if collect_containers::HANDLES.contains(&t) => Kind::Containers,
            _ if object.get("id").and_then(|v| v.as_str()).is_some_and(|id| id.starts_with('/')) => Kind::OtherResource,
            _ => return Err(format!("`type` {resource_type:?} without an ARM `id`: not an ARM resource")),
        };
        return Ok(kind);
    }
    if object.get("key").and_then(|k| k.get("kid")).is_some() {
        return Ok(Kind::KeyBundle);
    }
    if object.contains_key("kid") {
        return Ok(Kind::KeyVersionItem);
    }
    let is_policy_id = object
        .get("id")
        .and_then(|v| v.as_str())
        .is_some_and(|id| id.trim_end_matches('/').ends_with("/rotationpolicy"));
    if object.contains_key("lifetimeActions") || is_policy_id {
        return Ok(Kind::RotationPolicy);
    }
    Err("no `type`, `kid` or `lifetimeActions`: neither an ARM resource nor a Key Vault key document".to_string())
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// A file or document that could not be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unread {
    /// Relative path (and item index).
    pub origin: String,
    /// Why.
    pub reason: String,
}

/// The result of reading a folder.
#[derive(Debug, Default)]
pub(crate) struct Imported {
    /// Every table, with the chain built and rows sorted.
    pub tables: Tables,
    /// Files read (JSON files, whether or not every document in them converted).
    pub files_read: usize,
    /// Documents converted, per kind.
    pub converted: BTreeMap<&'static str, usize>,
    /// What could not be read.
    pub unread: Vec<Unread>,
    /// Subscriptions the imported resources belong to.
    pub subscriptions: Vec<String>,
}

/// Every `.json` file under `dir`, sorted by relative path; other files are reported, not read.
fn json_files(dir: &Path, unread: &mut Vec<Unread>) -> Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let entries =
            std::fs::read_dir(&current).with_context(|| format!("reading directory {}", current.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("reading directory {}", current.display()))?;
            let path = entry.path();
            let rel = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            let file_type = entry.file_type().with_context(|| format!("reading {}", path.display()))?;
            if file_type.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
                files.push((rel, path));
            } else {
                unread.push(Unread { origin: rel, reason: "not a .json file; skipped".to_string() });
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The documents of one parsed file: a list file's items, an ARM page's `value`, an example file's response body.
fn documents_of(value: serde_json::Value, rel: &str, sha256: &str) -> Vec<Document> {
    let doc = |value, origin: String| Document { value, origin, sha256: sha256.to_string() };
    let items = |list: Vec<serde_json::Value>| -> Vec<Document> {
        list.into_iter().enumerate().map(|(i, v)| doc(v, format!("{rel} item {i}"))).collect()
    };
    match value {
        serde_json::Value::Array(list) => items(list),
        serde_json::Value::Object(mut object) => {
            // Microsoft's example files: the response body of the first 2xx response.
            if object.contains_key("responses") && object.contains_key("parameters") {
                let mut responses = object.remove("responses").unwrap_or_default();
                let body = ["200", "201"]
                    .iter()
                    .find_map(|code| responses.get(*code).and_then(|r| r.get("body")).map(|_| *code))
                    .and_then(|code| responses.get_mut(code))
                    .and_then(|r| r.get_mut("body"))
                    .map(serde_json::Value::take);
                return match body {
                    Some(body) => documents_of(body, rel, sha256),
                    None => Vec::new(),
                };
            }
            let is_page = object.get("value").is_some_and(|v| v.is_array()) && !object.contains_key("type");
            if is_page && let Some(serde_json::Value::Array(list)) = object.remove("value") {
                return items(list);
            }
            vec![doc(serde_json::Value::Object(object), rel.to_string())]
        }
        other => vec![doc(other, rel.to_string())],
    }
}

/// The `api-version` an example file was recorded with, when it says.
fn example_api_version(value: &serde_json::Value) -> Option<String> {
    value.get("parameters")?.get("api-version")?.as_str().map(str::to_string)
}

/// One JSON file read from the folder.
#[derive(Debug)]
struct SavedFile {
    rel: String,
    bytes: Vec<u8>,
    sha256: String,
    api_version: Option<String>,
}

/// A folder read once: its files, the documents they hold, what could not be read, and when the newest file
/// was written. Tenant, snapshot time and rows are all derived from this.
#[derive(Debug, Default)]
pub(crate) struct Folder {
    files: Vec<SavedFile>,
    documents: Vec<Document>,
    unread: Vec<Unread>,
    newest: Option<std::time::SystemTime>,
}

/// Reads and parses every JSON file under `dir` (once).
pub(crate) fn read_folder(dir: &Path) -> Result<Folder> {
    let mut folder = Folder::default();
    for (rel, path) in json_files(dir, &mut folder.unread)? {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        folder.newest = folder.newest.max(modified);
        let sha256 = hex_sha256(&bytes);
        let parsed: serde_json::Value = match serde_json::from_slice(&bytes) {
            Ok(value) => value,
            Err(e) => {
                folder.unread.push(Unread { origin: rel, reason: format!("not valid JSON: {e}") });
                continue;
            }
        };
        let api_version = example_api_version(&parsed);
        let docs = documents_of(parsed, &rel, &sha256);
        if docs.is_empty() {
            folder.unread.push(Unread {
                origin: rel.clone(),
                reason: "holds no document (an empty list or no 2xx body)".into(),
            });
        }
        folder.documents.extend(docs);
        folder.files.push(SavedFile { rel, bytes, sha256, api_version });
    }
    Ok(folder)
}

/// Turns a folder into tables for `ctx`.
pub(crate) fn import_folder(folder: Folder, ctx: &SnapshotContext) -> Imported {
    let Folder { files, documents, unread, .. } = folder;
    let mut out = Imported { files_read: files.len(), unread, ..Imported::default() };
    let mut tables = Tables::default();
    for file in &files {
        tables.raw_responses.push(ctx.raw_response(
            FILE_METHOD,
            &format!("file:{}", file.rel),
            file.api_version.as_deref(),
            200,
            &file.bytes,
            &file.sha256,
        ));
    }
    drop(files);

    let mut sorted: BTreeMap<Kind, Vec<Document>> = BTreeMap::new();
    for doc in documents {
        match classify(&doc.value) {
            Ok(kind) => sorted.entry(kind).or_default().push(doc),
            Err(reason) => out.unread.push(Unread { origin: doc.origin, reason }),
        }
    }
    let mut converter = Converter { ctx, tables, out: &mut out };
    converter.resources(&sorted);
    converter.vault_side(&sorted);
    let mut tables = std::mem::take(&mut converter.tables);

    out.unread.sort_by(|a, b| a.origin.cmp(&b.origin));
    for unread in &out.unread {
        tables.coverage.push(
            ctx.coverage(
                CoverageStatus::Error,
                IMPORT_TYPE,
                None,
                None,
                format!("{}: {}", unread.origin, unread.reason),
            )
            .with_http(None, None, Some(&format!("file:{}", unread.origin))),
        );
    }
    let subscriptions: BTreeSet<String> = tables
        .cmk_bindings
        .iter()
        .map(|b| b.subscription_id.clone())
        .chain(tables.key_vaults.iter().map(|v| v.subscription_id.clone()))
        .collect();
    out.subscriptions = subscriptions.into_iter().collect();
    tables.cmk_chain = evidence::chain::build_chain(&tables, ctx.taken_at);
    let missing = missing_from_files(ctx, &tables.cmk_chain);
    tables.coverage.extend(missing);
    tables.sort_and_dedup();
    out.tables = tables;
    out
}

/// Coverage rows for what the chain needed but no imported file held (a key, its versions or rotation policy, a
/// vault, its role assignments): a package only claims completeness when nothing is missing, and `collect`
/// records the same gaps when a read fails.
fn missing_from_files(ctx: &SnapshotContext, chain: &[evidence::CmkChainRow]) -> Vec<evidence::CoverageRow> {
    use evidence::chain::gaps;
    use evidence::resource_types as types;
    let mut missing: BTreeSet<(&'static str, String, &'static str)> = BTreeSet::new();
    for row in chain {
        let (Some(vault), Some(gaps_of_row)) = (row.key_vault_uri.as_deref(), row.chain_gaps.as_ref()) else {
            continue;
        };
        let key = row.key_name.as_deref().map(|k| format!("{}keys/{k}", evidence::ids::normalize_vault_uri(vault)));
        for gap in gaps_of_row {
            let entry = match gap.as_str() {
                gaps::VAULT_NOT_COLLECTED => Some((types::KEY_VAULT, vault.to_string(), "the vault's document")),
                gaps::KEY_NOT_READ => {
                    key.clone().map(|k| (types::KEY, k, "the key's document (`az keyvault key show`)"))
                }
                gaps::IN_USE_VERSION_NOT_FOUND => key
                    .clone()
                    .map(|k| (types::KEY_VERSIONS, k, "the version in use (`az keyvault key list-versions`)")),
                gaps::ROTATION_POLICY_NOT_READ => key.clone().map(|k| {
                    (types::ROTATION_POLICY, k, "the key's rotation policy (`az keyvault key rotation-policy show`)")
                }),
                gaps::ROLE_ASSIGNMENTS_NOT_READ => row.key_vault_resource_id.clone().map(|id| {
                    (types::ROLE_ASSIGNMENTS, id, "the vault's role assignments (`az role assignment list --scope`)")
                }),
                _ => None,
            };
            if let Some(entry) = entry {
                missing.insert(entry);
            }
        }
    }
    missing
        .into_iter()
        .map(|(resource_type, id, what)| {
            let reason = format!("not among the imported files: {what} for {id}");
            ctx.coverage(CoverageStatus::NotFound, resource_type, None, Some(&id), reason)
        })
        .collect()
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

struct Converter<'a> {
    ctx: &'a SnapshotContext,
    tables: Tables,
    out: &'a mut Imported,
}

impl Converter<'_> {
    fn docs(sorted: &BTreeMap<Kind, Vec<Document>>, kind: Kind) -> &[Document] {
        sorted.get(&kind).map(Vec::as_slice).unwrap_or_default()
    }

    fn count(&mut self, what: &'static str) {
        *self.out.converted.entry(what).or_default() += 1;
    }

    fn fail(&mut self, doc: &Document, reason: impl std::fmt::Display) {
        self.out.unread.push(Unread { origin: doc.origin.clone(), reason: reason.to_string() });
    }

    /// Phase-1 resources: storage directly, the other services through their assemblers.
    fn resources(&mut self, sorted: &BTreeMap<Kind, Vec<Document>>) {
        for doc in Self::docs(sorted, Kind::Storage) {
            match collect_storage::convert::storage_account(self.ctx, &doc.value, &doc.sha256) {
                Ok(evidence) => {
                    self.tables.storage_accounts.push(evidence.account);
                    self.tables.cmk_bindings.push(evidence.binding);
                    self.count("storage account");
                }
                Err(e) => self.fail(doc, e),
            }
        }
        macro_rules! assemble {
            ($kind:expr, $krate:ident, $what:literal) => {{
                let mut assembler = $krate::Assembler::new(self.ctx);
                for doc in Self::docs(sorted, $kind) {
                    match assembler.add(&doc.value, &doc.sha256) {
                        Ok(()) => self.count($what),
                        Err(e) => self.fail(doc, e),
                    }
                }
                self.tables.append(assembler.finish());
            }};
        }
        assemble!(Kind::Disk, collect_disk, "compute resource");
        assemble!(Kind::Sql, collect_sql, "SQL resource");
        assemble!(Kind::Acr, collect_acr, "container registry");
        assemble!(Kind::Containers, collect_containers, "container or app service resource");
        collect_disk::link::link_through_encryption_sets(&mut self.tables);

        for doc in Self::docs(sorted, Kind::OtherResource) {
            let subscription = doc.value.get("id").and_then(|v| v.as_str()).and_then(evidence::ids::subscription_of);
            let rows = crate::inventory::not_assessed_rows(
                self.ctx,
                subscription.as_deref(),
                std::slice::from_ref(&doc.value),
            );
            self.tables.append(rows);
            self.count("resource not assessed");
        }
    }

    /// Vaults, HSMs, keys, versions, rotation policies and role assignments.
    fn vault_side(&mut self, sorted: &BTreeMap<Kind, Vec<Document>>) {
        for doc in Self::docs(sorted, Kind::Vault) {
            match collect_vault::convert::key_vault(self.ctx, &doc.value, &doc.sha256) {
                Ok((vault, policies)) => {
                    self.tables.key_vaults.push(vault);
                    self.tables.vault_access_policies.extend(policies);
                    self.count("key vault");
                }
                Err(e) => self.fail(doc, e),
            }
        }
        for doc in Self::docs(sorted, Kind::ManagedHsm) {
            match collect_vault::convert::managed_hsm(self.ctx, &doc.value, &doc.sha256) {
                Ok(hsm) => {
                    self.tables.managed_hsms.push(hsm);
                    self.count("managed HSM");
                }
                Err(e) => self.fail(doc, e),
            }
        }
        self.keys(sorted);
        self.role_assignments(Self::docs(sorted, Kind::RoleAssignment));
    }

    /// Keys: the newest bundle of each key (by creation time) is its latest version, as `GET /keys/{name}`
    /// would say; listed versions win over bundles for the same version, as in `collect`.
    fn keys(&mut self, sorted: &BTreeMap<Kind, Vec<Document>>) {
        let mut bundles: BTreeMap<(String, String), Vec<(&Document, KeyVersionRow)>> = BTreeMap::new();
        for doc in Self::docs(sorted, Kind::KeyBundle) {
            match collect_vault::convert::key_bundle(self.ctx, &doc.value, false, &doc.sha256) {
                Ok((_, version)) => match KeyReference::from_parts(&version.key_vault_uri, &version.key_name, None) {
                    Ok(key) => bundles.entry(key.key_join()).or_default().push((doc, version)),
                    Err(e) => self.fail(doc, e),
                },
                Err(e) => self.fail(doc, e),
            }
        }
        for doc in Self::docs(sorted, Kind::ArmKey) {
            match collect_vault::convert::arm_key(self.ctx, &doc.value, &doc.sha256) {
                Ok((key, version)) => {
                    self.tables.keys.push(key);
                    self.tables.key_versions.push(version);
                    self.count("key (ARM)");
                }
                Err(e) => self.fail(doc, e),
            }
        }
        let mut latest: BTreeMap<(String, String), String> = BTreeMap::new();
        let mut versions: BTreeMap<(String, String, String), KeyVersionRow> = BTreeMap::new();
        for (join, mut found) in bundles {
            found.sort_by(|a, b| a.1.created_at.cmp(&b.1.created_at).then_with(|| a.1.version.cmp(&b.1.version)));
            let Some((newest, _)) = found.last() else { continue };
            match collect_vault::convert::key_bundle(self.ctx, &newest.value, true, &newest.sha256) {
                Ok((key, version)) => {
                    latest.insert(join.clone(), version.version.clone());
                    self.tables.keys.push(key);
                    versions.insert((join.0.clone(), join.1.clone(), version.version.to_ascii_lowercase()), version);
                }
                Err(e) => self.fail(newest, e),
            }
            for (_, version) in found.iter().rev().skip(1) {
                versions
                    .entry((join.0.clone(), join.1.clone(), version.version.to_ascii_lowercase()))
                    .or_insert_with(|| version.clone());
            }
            self.out.converted.entry("key version (bundle)").and_modify(|n| *n += found.len()).or_insert(found.len());
        }
        for doc in Self::docs(sorted, Kind::KeyVersionItem) {
            let join = doc
                .value
                .get("kid")
                .and_then(|v| v.as_str())
                .and_then(|kid| KeyReference::parse_key_id(kid).ok())
                .map(|k| k.key_join());
            let latest_version = join.as_ref().and_then(|j| latest.get(j)).map(String::as_str);
            match collect_vault::convert::key_version_item(self.ctx, &doc.value, latest_version, &doc.sha256) {
                Ok(row) => {
                    let key = KeyReference::from_parts(&row.key_vault_uri, &row.key_name, None).map(|k| k.key_join());
                    if let Ok((host, name)) = key {
                        versions.insert((host, name, row.version.to_ascii_lowercase()), row);
                    }
                    self.count("key version (list)");
                }
                Err(e) => self.fail(doc, e),
            }
        }
        self.tables.key_versions.extend(versions.into_values());
        for doc in Self::docs(sorted, Kind::RotationPolicy) {
            let key = doc
                .value
                .get("id")
                .and_then(|v| v.as_str())
                .map(|id| id.trim_end_matches('/').trim_end_matches("/rotationpolicy").to_string())
                .ok_or_else(|| "a rotation policy without `id` does not say which key it belongs to".to_string())
                .and_then(|kid| KeyReference::parse_key_id(&kid).map_err(|e| e.to_string()));
            let row = key.and_then(|key| {
                collect_vault::convert::rotation_policy(self.ctx, &key, &doc.value, &doc.sha256)
                    .map_err(|e| e.to_string())
            });
            match row {
                Ok(row) => {
                    self.tables.rotation_policies.push(row);
                    self.count("rotation policy");
                }
                Err(e) => self.fail(doc, e),
            }
        }
    }

    /// Role assignments: ARM ones are attributed to every imported vault they apply to (at, above or below the
    /// vault), as listing them at the vault would; Managed HSM local ones to the one imported HSM.
    fn role_assignments(&mut self, docs: &[Document]) {
        let vaults: Vec<String> = self.tables.key_vaults.iter().map(|v| v.resource_id.clone()).collect();
        let hsms: Vec<String> = self.tables.managed_hsms.iter().map(|h| h.hsm_uri.clone()).collect();
        for doc in docs {
            let scope = doc
                .value
                .pointer("/properties/scope")
                .or_else(|| doc.value.get("scope"))
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            let is_arm = scope.to_ascii_lowercase().starts_with("/subscriptions")
                || scope.to_ascii_lowercase().starts_with("/providers/microsoft.management");
            if is_arm {
                let scope_norm = normalize_resource_id(&scope);
                let mut targets: Vec<String> = vaults
                    .iter()
                    .filter(|v| scope_covers(&scope_norm, v) || scope_covers(v, &scope_norm))
                    .cloned()
                    .collect();
                if targets.is_empty() {
                    targets.push(scope_norm);
                }
                for target in targets {
                    match collect_vault::convert::role_assignment(self.ctx, &target, &doc.value, &doc.sha256) {
                        Ok(row) => self.tables.role_assignments.push(row),
                        Err(e) => {
                            self.fail(doc, e);
                            break;
                        }
                    }
                }
                self.count("role assignment");
            } else if let [hsm] = hsms.as_slice() {
                match collect_vault::convert::hsm_role_assignment(self.ctx, hsm, &doc.value, &doc.sha256) {
                    Ok(row) => {
                        self.tables.role_assignments.push(row);
                        self.count("managed HSM role assignment");
                    }
                    Err(e) => self.fail(doc, e),
                }
            } else {
                let why = format!(
                    "a Managed HSM local role assignment (scope {scope:?}) names no HSM, and the folder holds {} \
                     Managed HSM documents: import one HSM per folder",
                    hsms.len()
                );
                self.fail(doc, why);
            }
        }
    }
}

/// The tenant of the imported documents: `--tenant`, else the one tenant their vaults and HSMs name.
pub(crate) fn tenant_of(dir: &Path, folder: &Folder, explicit: Option<&str>) -> Result<String> {
    if let Some(t) = explicit {
        return Ok(t.trim().to_ascii_lowercase());
    }
    let mut tenants = BTreeSet::new();
    for doc in &folder.documents {
        let is_vault = doc.value.get("type").and_then(|v| v.as_str()).is_some_and(|t| {
            t.eq_ignore_ascii_case("Microsoft.KeyVault/vaults")
                || t.eq_ignore_ascii_case("Microsoft.KeyVault/managedHSMs")
        });
        let tenant = doc.value.pointer("/properties/tenantId").or_else(|| doc.value.get("tenantId"));
        if let (true, Some(t)) = (is_vault, tenant.and_then(|t| t.as_str())) {
            tenants.insert(t.trim().to_ascii_lowercase());
        }
    }
    match tenants.len() {
        1 => Ok(tenants.into_iter().next().unwrap_or_default()),
        0 => bail!("cannot tell the tenant: no key vault in {} names one; pass --tenant <id>", dir.display()),
        _ => bail!(
            "the key vaults in {} name {} tenants ({}); pass --tenant <id>",
            dir.display(),
            tenants.len(),
            tenants.into_iter().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The snapshot time of an import: `--snapshot-time`, else the newest modification time of the JSON files
/// (the closest the files come to saying when they were exported).
pub(crate) fn snapshot_time_of(dir: &Path, folder: &Folder, explicit: Option<&str>) -> Result<Timestamp> {
    if let Some(text) = explicit {
        return Timestamp::parse(text).with_context(|| format!("--snapshot-time {text:?} is not an RFC 3339 time"));
    }
    let newest = folder.newest.with_context(|| format!("{} holds no .json file", dir.display()))?;
    Ok(Timestamp::from_datetime(time::OffsetDateTime::from(newest)))
}

/// `cmk-evidence import --from DIR --out DIR2`.
pub(crate) async fn import_command(args: crate::ImportArgs) -> Result<u8> {
    if !args.from.is_dir() {
        bail!("--from {}: not a directory", args.from.display());
    }
    let started_at = Timestamp::from_datetime(time::OffsetDateTime::now_utc());
    let folder = read_folder(&args.from)?;
    let tenant_id = tenant_of(&args.from, &folder, args.tenant.as_deref())?;
    let taken_at = snapshot_time_of(&args.from, &folder, args.snapshot_time.as_deref())?;
    let ctx = SnapshotContext { tenant_id, taken_at };
    let imported = import_folder(folder, &ctx);
    for unread in &imported.unread {
        eprintln!("not imported: {}: {}", unread.origin, unread.reason);
    }
    let signer = crate::package::Signer::from_options(args.signing_key.as_deref(), None, "ES256")?;
    let policy = crate::rules::policy(args.policy.as_deref())?;
    if matches!(signer, crate::package::Signer::Unsigned) {
        eprintln!("warning: no --signing-key: the package will not be signed");
    }
    let mut tables = imported.tables;
    // An import reads few files: its raw rows stay in `tables` until write_package moves them into the spool.
    let raw = bundle::RawSpool::create(&args.out)
        .with_context(|| format!("creating the raw-response spool in {}", args.out.display()))?;
    let target = crate::package::Target { out: &args.out, signer: &signer, policy: &policy };
    let (package_dir, files) = crate::package::write_package(
        None,
        &ctx,
        crate::package::IMPORTED_CLOUD,
        &imported.subscriptions,
        started_at,
        &mut tables,
        raw,
        &target,
    )
    .await?;
    let converted: serde_json::Map<String, serde_json::Value> =
        imported.converted.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect();
    let run = crate::run::TenantRun { tables, package_dir, files, throttling: None, timings: None };
    let extra = serde_json::json!({
        "from": args.from, "files_read": imported.files_read, "converted": converted,
        "not_imported": imported.unread.iter().map(|u| serde_json::json!({"origin": u.origin, "reason": u.reason})).collect::<Vec<_>>(),
    });
    crate::summary::print_run(&run, args.output == crate::OutputFormat::Json, Some(("import", extra)))?;
    Ok(if imported.unread.is_empty() { crate::exit::OK } else { crate::exit::GAPS })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ctx() -> SnapshotContext {
        SnapshotContext { tenant_id: "t1".into(), taken_at: Timestamp::parse("2026-11-23T10:15:00Z").unwrap() }
    }

    #[test]
    fn documents_are_classified_by_content() {
        let cases = [
            (
                json!({"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/a", "type": "Microsoft.Storage/storageAccounts"}),
                Ok(Kind::Storage),
            ),
            (json!({"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/disks/d"}), Ok(Kind::Disk)),
            (
                json!({"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Sql/managedInstances/m/encryptionProtector/current", "type": "Microsoft.Sql/managedInstances/encryptionProtector"}),
                Ok(Kind::Sql),
            ),
            (
                json!({"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v", "type": "Microsoft.Network/virtualNetworks"}),
                Ok(Kind::OtherResource),
            ),
            (json!({"key": {"kid": "https://v.vault.azure.net/keys/k/1"}, "attributes": {}}), Ok(Kind::KeyBundle)),
            (json!({"kid": "https://v.vault.azure.net/keys/k/1", "attributes": {}}), Ok(Kind::KeyVersionItem)),
            (
                json!({"id": "https://v.vault.azure.net/keys/k/rotationpolicy", "lifetimeActions": []}),
                Ok(Kind::RotationPolicy),
            ),
        ];
        for (doc, expected) in cases {
            assert_eq!(classify(&doc), expected, "{doc}");
        }
        assert!(classify(&json!({"hello": 1})).unwrap_err().contains("neither an ARM resource"));
        assert!(classify(&json!("text")).unwrap_err().contains("string"));
        assert!(classify(&json!({"type": "Microsoft.Foo/bars"})).unwrap_err().contains("without an ARM `id`"));
    }

    #[test]
    fn files_hold_one_document_a_list_a_page_or_an_example() {
        let one = documents_of(json!({"id": "/x", "type": "T"}), "a.json", "h");
        assert_eq!((one.len(), one[0].origin.as_str()), (1, "a.json"));
        let list = documents_of(json!([{"id": "/x"}, {"id": "/y"}]), "l.json", "h");
        assert_eq!(list.iter().map(|d| d.origin.as_str()).collect::<Vec<_>>(), ["l.json item 0", "l.json item 1"]);
        let page = documents_of(json!({"value": [{"id": "/x"}], "nextLink": null}), "p.json", "h");
        assert_eq!(page.len(), 1);
        let example = json!({"parameters": {"api-version": "2025-01-02"}, "responses": {"200": {"body": {"value": [{"id": "/x"}, {"id": "/y"}]}}}});
        assert_eq!(example_api_version(&example).as_deref(), Some("2025-01-02"));
        assert_eq!(documents_of(example, "e.json", "h").len(), 2);
        let no_body = json!({"parameters": {}, "responses": {"202": {}}});
        assert!(documents_of(no_body, "n.json", "h").is_empty());
    }

    #[test]
    fn what_the_chain_needed_and_no_file_held_is_a_coverage_row() {
        let dir = tempfile::tempdir().unwrap();
        let account = json!({
            "id": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1",
            "name": "st1", "type": "Microsoft.Storage/storageAccounts", "location": "westeurope",
            "identity": {"type": "SystemAssigned", "principalId": "11111111-1111-1111-1111-111111111111"},
            "properties": {"encryption": {"keySource": "Microsoft.Keyvault", "keyvaultproperties": {
                "keyvaulturi": "https://kv1.vault.azure.net/", "keyname": "k",
                "currentVersionedKeyIdentifier": "https://kv1.vault.azure.net/keys/k/aaa"}}}
        });
        std::fs::write(dir.path().join("st1.json"), account.to_string()).unwrap();
        let key = json!({"key": {"kid": "https://kv1.vault.azure.net/keys/k/aaa", "kty": "RSA"},
                         "attributes": {"enabled": true, "created": 1_700_000_000, "updated": 1_700_000_000}});
        std::fs::write(dir.path().join("key.json"), key.to_string()).unwrap();
        let imported = import_folder(read_folder(dir.path()).unwrap(), &ctx());
        let missing: Vec<(&str, &str)> = imported
            .tables
            .coverage
            .iter()
            .filter(|c| c.reason.starts_with("not among the imported files"))
            .map(|c| (c.resource_type.as_str(), c.status.as_str()))
            .collect();
        // The vault document and the rotation policy were not given; the key was.
        assert!(missing.contains(&(evidence::resource_types::KEY_VAULT, "not_found")), "{missing:?}");
        assert!(missing.contains(&(evidence::resource_types::ROTATION_POLICY, "not_found")), "{missing:?}");
        assert!(!missing.iter().any(|(t, _)| *t == evidence::resource_types::KEY), "{missing:?}");
    }

    #[test]
    fn unreadable_files_are_named_and_the_rest_imports() {
        let dir = tempfile::tempdir().unwrap();
        let account = json!({
            "id": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1",
            "name": "st1", "type": "Microsoft.Storage/storageAccounts", "location": "westeurope",
            "properties": {"encryption": {"keySource": "Microsoft.Storage"}}
        });
        std::fs::write(dir.path().join("good.json"), account.to_string()).unwrap();
        std::fs::write(dir.path().join("broken.json"), "{\"id\": ").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/odd.json"), "[{\"x\": 1}]").unwrap();
        let imported = import_folder(read_folder(dir.path()).unwrap(), &ctx());
        assert_eq!(imported.files_read, 2);
        assert_eq!(imported.tables.cmk_bindings.len(), 1);
        assert_eq!(imported.tables.raw_responses.len(), 2);
        assert_eq!(imported.tables.raw_responses[0].method, FILE_METHOD);
        let unread: Vec<&str> = imported.unread.iter().map(|u| u.origin.as_str()).collect();
        assert_eq!(unread, ["broken.json", "notes.txt", "sub/odd.json item 0"]);
        assert!(imported.unread[0].reason.contains("not valid JSON"));
        assert_eq!(imported.tables.coverage.len(), 3);
        assert!(imported.tables.coverage.iter().all(|c| c.status == "error" && c.request_url.is_some()));
        assert_eq!(imported.subscriptions, ["00000000-0000-0000-0000-000000000001"]);
    }

    #[test]
    fn the_newest_key_bundle_is_the_latest_version_and_listed_versions_win() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = |version: &str, created: i64| {
            json!({"key": {"kid": format!("https://kv1.vault.azure.net/keys/k/{version}"), "kty": "RSA"},
                   "attributes": {"enabled": true, "created": created, "updated": created}})
        };
        std::fs::write(dir.path().join("old.json"), bundle("aaa", 1_700_000_000).to_string()).unwrap();
        std::fs::write(dir.path().join("new.json"), bundle("bbb", 1_760_000_000).to_string()).unwrap();
        let listed = json!({"value": [{"kid": "https://kv1.vault.azure.net/keys/k/aaa", "attributes": {"enabled": false, "created": 1_700_000_000}}]});
        std::fs::write(dir.path().join("versions.json"), listed.to_string()).unwrap();
        let imported = import_folder(read_folder(dir.path()).unwrap(), &ctx());
        assert!(imported.unread.is_empty(), "{:?}", imported.unread);
        let t = &imported.tables;
        assert_eq!(t.keys.len(), 1);
        assert_eq!(t.keys[0].latest_version, "bbb");
        let versions: Vec<(&str, bool, Option<bool>)> =
            t.key_versions.iter().map(|v| (v.version.as_str(), v.is_latest, v.enabled)).collect();
        assert_eq!(versions, [("aaa", false, Some(false)), ("bbb", true, Some(true))]);
    }

    #[test]
    fn the_tenant_comes_from_the_vaults_or_must_be_given() {
        let dir = tempfile::tempdir().unwrap();
        let tenant = |explicit| tenant_of(dir.path(), &read_folder(dir.path()).unwrap(), explicit);
        assert!(tenant(None).unwrap_err().to_string().contains("--tenant"));
        let vault = json!({"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.KeyVault/vaults/v",
                           "type": "Microsoft.KeyVault/vaults", "properties": {"tenantId": "ABC"}});
        std::fs::write(dir.path().join("v.json"), vault.to_string()).unwrap();
        assert_eq!(tenant(None).unwrap(), "abc");
        assert_eq!(tenant(Some(" XYZ ")).unwrap(), "xyz");
    }
}
