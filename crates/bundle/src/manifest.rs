//! `manifest.json`: what a package contains and where it came from — format and tool version, tenant, cloud,
//! scopes, API versions used, collection times, every file with its SHA-256, size, rows and schema version, the
//! coverage summary, and the SHA-256 of the previous package's manifest for the same tenant (the hash chain).
//! `SHA256SUMS` lists the tables in `sha256sum -c` format; the manifest itself is covered by `manifest.sig`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, WrittenFile};

/// Value of `format` in every manifest.
pub const MANIFEST_FORMAT: &str = "cmk-evidence-package";
/// Version of the package layout; bumped when the layout or the manifest's meaning changes.
pub const FORMAT_VERSION: u32 = 1;
/// File names at the package root.
pub const MANIFEST_FILE: &str = "manifest.json";
/// `sha256sum -c` list of the tables.
pub const SUMS_FILE: &str = "SHA256SUMS";
/// Raw signature bytes over `manifest.json`.
pub const SIGNATURE_FILE: &str = "manifest.sig";
/// Who signed and how.
pub const SIGNATURE_INFO_FILE: &str = "manifest.sig.json";

/// The tool that wrote a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// Always `cmk-evidence`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The link to the previous package of the same tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousPackage {
    /// Snapshot id of the previous package.
    pub snapshot_id: String,
    /// SHA-256 of its `manifest.json`.
    pub manifest_sha256: String,
}

/// One file of the package, as recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Path relative to the package root (`tables/cmk_chain.parquet`).
    pub path: String,
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Rows in the table.
    pub rows: u64,
    /// Table name.
    pub table: String,
    /// Schema version of the table.
    pub schema_version: u32,
}

impl From<&WrittenFile> for ManifestFile {
    fn from(f: &WrittenFile) -> Self {
        Self {
            path: f.path.clone(),
            sha256: f.sha256.clone(),
            bytes: f.bytes,
            rows: f.rows,
            table: f.table.to_string(),
            schema_version: f.schema_version,
        }
    }
}

/// What the collection was about and when it ran; given by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionInfo {
    /// Cloud name (`AzureCloud`, `AzureChinaCloud`, ...).
    pub cloud: String,
    /// Scopes collected (`/subscriptions/{id}`), sorted.
    pub scopes: Vec<String>,
    /// API versions used, per resource provider or data plane, sorted.
    pub api_versions: BTreeMap<String, Vec<String>>,
    /// Snapshot time (RFC 3339, UTC) — the time the snapshot id names.
    pub snapshot_time: String,
    /// Wall-clock start of the collection (RFC 3339, UTC).
    pub started_at: String,
    /// Wall-clock end of the collection (RFC 3339, UTC).
    pub finished_at: String,
    /// Coverage rows per status.
    pub coverage_summary: BTreeMap<String, u64>,
}

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// The writing tool.
    pub tool: ToolInfo,
    /// Entra tenant id.
    pub tenant_id: String,
    /// Snapshot id (directory name).
    pub snapshot_id: String,
    /// Collection facts.
    pub collection: CollectionInfo,
    /// Every table file.
    pub files: Vec<ManifestFile>,
    /// The previous package of this tenant, if there was one in the same archive.
    pub previous: Option<PreviousPackage>,
}

impl Manifest {
    /// The canonical bytes written to `manifest.json` (pretty JSON, trailing newline).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| Error::Manifest {
            path: MANIFEST_FILE.into(),
            reason: format!("cannot serialise the manifest: {e}"),
        })?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Reads and parses `manifest.json` of the package at `dir`.
    pub fn read(dir: &Path) -> Result<(Self, Vec<u8>), Error> {
        let path = dir.join(MANIFEST_FILE);
        let bytes =
            std::fs::read(&path).map_err(|source| Error::Io { action: "reading", path: path.clone(), source })?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Manifest { path: path.clone(), reason: format!("not a valid manifest: {e}") })?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(Error::Manifest {
                path,
                reason: format!("format is {:?}, expected {MANIFEST_FORMAT:?}", manifest.format),
            });
        }
        if manifest.format_version > FORMAT_VERSION {
            return Err(Error::Manifest {
                path,
                reason: format!(
                    "format version {} is newer than this tool understands ({FORMAT_VERSION}); upgrade cmk-evidence",
                    manifest.format_version
                ),
            });
        }
        Ok((manifest, bytes))
    }
}

/// `SHA256SUMS` in the format `sha256sum -c` reads: `<hex>  <path>` per line, sorted by path.
pub fn sha256sums(files: &[ManifestFile]) -> Vec<u8> {
    let mut lines: Vec<String> = files.iter().map(|f| format!("{}  {}\n", f.sha256, f.path)).collect();
    lines.sort_by(|a, b| a[66..].cmp(&b[66..]));
    lines.concat().into_bytes()
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The latest package of a tenant directory whose snapshot id sorts before `snapshot_id` (hidden staging
/// directories are ignored), with the SHA-256 of its manifest.
pub fn previous_package(tenant_dir: &Path, snapshot_id: &str) -> Result<Option<PreviousPackage>, Error> {
    let Some(previous) = snapshot_dirs(tenant_dir)?.into_iter().rfind(|id| id.as_str() < snapshot_id) else {
        return Ok(None);
    };
    let path = tenant_dir.join(&previous).join(MANIFEST_FILE);
    let bytes = std::fs::read(&path).map_err(|source| Error::Io { action: "reading", path, source })?;
    Ok(Some(PreviousPackage { snapshot_id: previous, manifest_sha256: sha256_hex(&bytes) }))
}

/// Snapshot directory names under a tenant directory, sorted (snapshot ids sort by time).
pub fn snapshot_dirs(tenant_dir: &Path) -> Result<Vec<String>, Error> {
    let mut ids = Vec::new();
    let entries = match std::fs::read_dir(tenant_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ids),
        Err(source) => return Err(Error::Io { action: "listing", path: tenant_dir.to_path_buf(), source }),
    };
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io { action: "listing", path: tenant_dir.to_path_buf(), source })?;
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with('.') && entry.path().is_dir() {
            ids.push(name);
        }
    }
    ids.sort();
    Ok(ids)
}
