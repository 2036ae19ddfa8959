//! Package directories: built in a hidden temporary directory beside the target, every file fsynced, then
//! renamed into place in one step, so an interrupted run never leaves something that looks like a package.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use evidence::{RawResponseRow, Table, Tables};

use crate::manifest::{
    CollectionInfo, FORMAT_VERSION, MANIFEST_FILE, MANIFEST_FORMAT, Manifest, ManifestFile, PreviousPackage,
    SIGNATURE_FILE, SIGNATURE_INFO_FILE, SUMS_FILE, ToolInfo, previous_package, sha256sums,
};
use crate::signature::ManifestSignature;
use crate::spool::{RawSpool, WrittenParquet, write_raw_rows};
use crate::{Error, write_table};

/// One file written into a package.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WrittenFile {
    /// Path relative to the package root, with `/` separators (`tables/cmk_chain.parquet`).
    pub path: String,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Rows in the table.
    pub rows: u64,
    /// Table name.
    pub table: &'static str,
    /// Schema version of the table.
    pub schema_version: u32,
}

/// A package that was written and renamed into place.
#[derive(Debug, Clone)]
pub struct WrittenPackage {
    /// The package directory, `<out>/<tenant-id>/<snapshot-id>`.
    pub dir: PathBuf,
    /// Every file written, in table order.
    pub files: Vec<WrittenFile>,
}

/// Builds one package: `PackageWriter::create`, then `write_tables` (or `write_tables_spooled`), then `commit`.
#[derive(Debug)]
pub struct PackageWriter {
    staging: PathBuf,
    target: PathBuf,
    tenant_id: String,
    snapshot_id: String,
    previous: Option<PreviousPackage>,
    files: Vec<WrittenFile>,
    committed: bool,
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io { action, path: path.to_path_buf(), source }
}

fn check_name(what: &'static str, value: &str) -> Result<(), Error> {
    let ok = !value.is_empty()
        && value != "."
        && value != ".."
        && !value.starts_with('.')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok { Ok(()) } else { Err(Error::InvalidName { what, value: value.to_string() }) }
}

impl PackageWriter {
    /// Starts a package for `tenant_id` / `snapshot_id` under `out`. Fails if the package already exists.
    pub fn create(out: &Path, tenant_id: &str, snapshot_id: &str) -> Result<Self, Error> {
        check_name("tenant id", tenant_id)?;
        check_name("snapshot id", snapshot_id)?;
        let tenant_dir = out.join(tenant_id);
        let target = tenant_dir.join(snapshot_id);
        if target.exists() {
            return Err(Error::Exists(target));
        }
        fs::create_dir_all(&tenant_dir).map_err(io_err("creating", &tenant_dir))?;
        let staging = tenant_dir.join(format!(".{snapshot_id}.partial-{}", std::process::id()));
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io_err("removing stale", &staging))?;
        }
        let tables = staging.join("tables");
        fs::create_dir_all(&tables).map_err(io_err("creating", &tables))?;
        let previous = previous_package(&tenant_dir, snapshot_id)?;
        Ok(Self {
            staging,
            target,
            tenant_id: tenant_id.to_string(),
            snapshot_id: snapshot_id.to_string(),
            previous,
            files: Vec::new(),
            committed: false,
        })
    }

    /// Writes `tables/<T::NAME>.parquet` with `write` (which returns the writer, SHA-256, bytes and rows),
    /// fsyncs it and records it.
    fn write_table_file<T: Table>(
        &mut self,
        write: impl FnOnce(BufWriter<File>, &Path) -> Result<WrittenParquet<BufWriter<File>>, Error>,
    ) -> Result<(), Error> {
        let rel = format!("tables/{}.parquet", T::NAME);
        let path = self.staging.join(&rel);
        let file = File::create(&path).map_err(io_err("creating", &path))?;
        let written = write(BufWriter::new(file), &path)?;
        let file = written.out.into_inner().map_err(|e| Error::Io {
            action: "writing",
            path: path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(io_err("syncing", &path))?;
        self.files.push(WrittenFile {
            path: rel,
            sha256: written.sha256,
            bytes: written.bytes,
            rows: written.rows,
            table: T::NAME,
            schema_version: T::SCHEMA_VERSION,
        });
        Ok(())
    }

    /// Writes one table (rows must already be sorted; see [`Tables::sort_and_dedup`]). Not for
    /// `raw_responses`, which has its own byte-bounded writer.
    pub(crate) fn write<T: Table>(&mut self, rows: &[T]) -> Result<(), Error> {
        debug_assert_ne!(T::NAME, RawResponseRow::NAME, "raw_responses is written in byte-bounded batches");
        self.write_table_file::<T>(|out, path| {
            let (out, sha256, bytes) = write_table(rows, out, path)?;
            Ok(WrittenParquet { out, sha256, bytes, rows: rows.len() as u64, batches: Vec::new() })
        })
    }

    /// Writes `raw_responses` from a spool, in primary-key order, reading the bodies back in batches of at most
    /// [`crate::RAW_BATCH_BYTES`] / [`crate::RAW_BATCH_ROWS`], so the bodies are never all in memory. The same
    /// rows give the same bytes as [`PackageWriter::write_tables`] writing them from `Tables::raw_responses`.
    /// The spool stays usable.
    pub fn write_raw_responses(&mut self, spool: &mut RawSpool) -> Result<(), Error> {
        self.write_table_file::<RawResponseRow>(|out, path| spool.write_parquet(out, path))
    }

    /// Writes every table of `tables`, in the order of [`evidence::for_each_table`]. `raw_responses` goes
    /// through the same byte-bounded writer as a spool's ([`PackageWriter::write_raw_responses`]), one row per
    /// primary key.
    pub fn write_tables(&mut self, tables: &Tables) -> Result<(), Error> {
        self.write_all(tables, None)
    }

    /// Writes every table of `tables`, in the order of [`evidence::for_each_table`], with `raw_responses` from
    /// `spool`. Rows still in `tables.raw_responses` are copied into the spool first (move them there
    /// yourself to avoid the copy).
    pub fn write_tables_spooled(&mut self, tables: &Tables, spool: &mut RawSpool) -> Result<(), Error> {
        spool.extend(tables.raw_responses.iter().cloned())?;
        self.write_all(tables, Some(spool))
    }

    fn write_all(&mut self, tables: &Tables, mut spool: Option<&mut RawSpool>) -> Result<(), Error> {
        macro_rules! write_one {
            ($field:ident, $row:ty) => {
                if <$row as Table>::NAME == RawResponseRow::NAME {
                    match spool.as_deref_mut() {
                        Some(spool) => self.write_raw_responses(spool)?,
                        None => self.write_table_file::<RawResponseRow>(|out, path| {
                            write_raw_rows(&tables.raw_responses, out, path)
                        })?,
                    }
                } else {
                    self.write::<$row>(&tables.$field)?;
                }
            };
        }
        evidence::for_each_table!(write_one);
        Ok(())
    }

    /// Writes a document (a report) into the package root and lists it in the manifest and `SHA256SUMS`, so
    /// the signature covers it; it has no table, rows or schema (`table` is empty). Call before
    /// [`PackageWriter::write_manifest`].
    pub fn write_document(&mut self, name: &str, contents: &[u8]) -> Result<(), Error> {
        check_name("document name", name)?;
        self.write_file(name, contents)?;
        self.files.push(WrittenFile {
            path: name.to_string(),
            sha256: crate::manifest::sha256_hex(contents),
            bytes: contents.len() as u64,
            rows: 0,
            table: "",
            schema_version: 0,
        });
        Ok(())
    }

    /// The previous package of this tenant in the same archive (the one the hash chain links to), if any.
    pub fn previous_dir(&self) -> Option<PathBuf> {
        let previous = self.previous.as_ref()?;
        self.target.parent().map(|tenant| tenant.join(&previous.snapshot_id))
    }

    /// Writes an extra file (e.g. a manifest) into the package root.
    pub fn write_file(&mut self, name: &str, contents: &[u8]) -> Result<(), Error> {
        let path = self.staging.join(name);
        fs::write(&path, contents).map_err(io_err("writing", &path))?;
        File::open(&path).and_then(|f| f.sync_all()).map_err(io_err("syncing", &path))?;
        Ok(())
    }

    /// Writes `manifest.json` and `SHA256SUMS` for the tables written so far; returns the manifest's exact bytes,
    /// which are what a signature covers.
    pub fn write_manifest(&mut self, collection: CollectionInfo) -> Result<Vec<u8>, Error> {
        let files: Vec<ManifestFile> = self.files.iter().map(ManifestFile::from).collect();
        let manifest = Manifest {
            format: MANIFEST_FORMAT.into(),
            format_version: FORMAT_VERSION,
            tool: ToolInfo { name: "cmk-evidence".into(), version: env!("CARGO_PKG_VERSION").into() },
            tenant_id: self.tenant_id.clone(),
            snapshot_id: self.snapshot_id.clone(),
            collection,
            files,
            previous: self.previous.clone(),
        };
        let bytes = manifest.to_bytes()?;
        self.write_file(MANIFEST_FILE, &bytes)?;
        self.write_file(SUMS_FILE, &sha256sums(&manifest.files))?;
        Ok(bytes)
    }

    /// Writes `manifest.sig` and `manifest.sig.json`.
    pub fn write_signature(&mut self, signature: &ManifestSignature) -> Result<(), Error> {
        let mut info = serde_json::to_vec_pretty(&signature.info)
            .map_err(|e| Error::Signature { file: SIGNATURE_INFO_FILE.into(), reason: e.to_string() })?;
        info.push(b'\n');
        self.write_file(SIGNATURE_FILE, &signature.bytes)?;
        self.write_file(SIGNATURE_INFO_FILE, &info)
    }

    /// The previous package of this tenant that the manifest will link to.
    pub fn previous(&self) -> Option<&PreviousPackage> {
        self.previous.as_ref()
    }

    /// Files written so far.
    pub fn files(&self) -> &[WrittenFile] {
        &self.files
    }

    /// Fsyncs the staging directory and renames it into place. Fails, leaving the staging directory removed,
    /// if a package appeared at the target meanwhile.
    pub fn commit(mut self) -> Result<WrittenPackage, Error> {
        for dir in [self.staging.join("tables"), self.staging.clone()] {
            File::open(&dir).and_then(|d| d.sync_all()).map_err(io_err("syncing", &dir))?;
        }
        if self.target.exists() {
            return Err(Error::Exists(self.target.clone()));
        }
        fs::rename(&self.staging, &self.target).map_err(io_err("renaming into place", &self.target))?;
        if let Some(parent) = self.target.parent() {
            File::open(parent).and_then(|d| d.sync_all()).map_err(io_err("syncing", parent))?;
        }
        self.committed = true;
        Ok(WrittenPackage { dir: self.target.clone(), files: std::mem::take(&mut self.files) })
    }
}

/// Adds `manifest.sig` and `manifest.sig.json` to a committed package that has none (collected unsigned,
/// signed later). The caller checks the package's integrity first; this refuses to replace a signature.
pub fn add_signature(dir: &Path, signature: &ManifestSignature) -> Result<(), Error> {
    for name in [SIGNATURE_FILE, SIGNATURE_INFO_FILE] {
        let path = dir.join(name);
        if path.exists() {
            return Err(Error::Signature {
                file: path.display().to_string(),
                reason: "the package is already signed; a signature is never replaced".into(),
            });
        }
    }
    let mut info = serde_json::to_vec_pretty(&signature.info)
        .map_err(|e| Error::Signature { file: SIGNATURE_INFO_FILE.into(), reason: e.to_string() })?;
    info.push(b'\n');
    // Each file appears complete or not at all: written beside, fsynced, renamed. The info file goes last, so a
    // package with manifest.sig.json always has its manifest.sig.
    for (name, bytes) in [(SIGNATURE_FILE, &signature.bytes), (SIGNATURE_INFO_FILE, &info)] {
        let tmp = dir.join(format!(".{name}.partial"));
        let target = dir.join(name);
        fs::write(&tmp, bytes).map_err(io_err("writing", &tmp))?;
        File::open(&tmp).and_then(|f| f.sync_all()).map_err(io_err("syncing", &tmp))?;
        fs::rename(&tmp, &target).map_err(io_err("renaming into place", &target))?;
    }
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err("syncing", dir))?;
    Ok(())
}

impl Drop for PackageWriter {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: an abandoned package must not linger as a half-written directory.
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use evidence::{CoverageRow, SnapshotContext, Timestamp, vocab::CoverageStatus};

    fn tables() -> Tables {
        let ctx = SnapshotContext { tenant_id: "t1".into(), taken_at: Timestamp::from_micros(1_700_000_000_000_000) };
        let mut t = Tables::default();
        t.coverage.push(ctx.coverage(
            CoverageStatus::Denied,
            "Microsoft.Storage/storageAccounts",
            Some("S2"),
            None,
            "403",
        ));
        t.coverage.push(ctx.coverage(
            CoverageStatus::Error,
            "Microsoft.Storage/storageAccounts",
            Some("s1"),
            None,
            "500",
        ));
        t.sort_and_dedup();
        t
    }

    #[test]
    fn same_rows_give_byte_identical_files_and_packages_are_immutable() {
        let dir = tempfile::tempdir().unwrap();
        let mut hashes = Vec::new();
        for (i, out) in [dir.path().join("a"), dir.path().join("b")].iter().enumerate() {
            let mut w = PackageWriter::create(out, "t1", "20231114T221320Z").unwrap();
            w.write_tables(&tables()).unwrap();
            let pkg = w.commit().unwrap();
            assert!(pkg.dir.join("tables/coverage.parquet").is_file(), "run {i}");
            hashes.push(pkg.files.iter().map(|f| (f.path.clone(), f.sha256.clone())).collect::<Vec<_>>());
            let on_disk = fs::read(pkg.dir.join("tables/coverage.parquet")).unwrap();
            let cov = pkg.files.iter().find(|f| f.table == "coverage").unwrap();
            assert_eq!(on_disk.len() as u64, cov.bytes);
            use sha2::Digest;
            assert_eq!(hex::encode(sha2::Sha256::digest(&on_disk)), cov.sha256);
            assert_eq!(cov.rows, 2);
        }
        assert_eq!(hashes[0], hashes[1]);
        let again = PackageWriter::create(&dir.path().join("a"), "t1", "20231114T221320Z");
        assert!(matches!(again, Err(Error::Exists(_))));
    }

    #[test]
    fn abandoned_package_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut w = PackageWriter::create(dir.path(), "t1", "20231114T221320Z").unwrap();
            w.write::<CoverageRow>(&tables().coverage).unwrap();
        }
        let left: Vec<_> = fs::read_dir(dir.path().join("t1")).unwrap().collect();
        assert!(left.is_empty(), "staging directory left behind: {left:?}");
    }

    #[test]
    fn refuses_path_tricks_in_names() {
        let dir = tempfile::tempdir().unwrap();
        assert!(PackageWriter::create(dir.path(), "../x", "s").is_err());
        assert!(PackageWriter::create(dir.path(), "t", ".hidden").is_err());
    }

    #[test]
    fn a_document_is_listed_hashed_and_checked_but_has_no_schema() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = PackageWriter::create(dir.path(), "t1", "20231114T221320Z").unwrap();
        w.write_tables(&tables()).unwrap();
        w.write_document("REPORT.md", b"# Report\n").unwrap();
        assert!(w.write_document("../escape.md", b"x").is_err(), "a document name cannot leave the package");
        let key = crate::LocalSigningKey::generate();
        let info = CollectionInfo {
            cloud: "AzureCloud".into(),
            scopes: Vec::new(),
            api_versions: Default::default(),
            snapshot_time: "2023-11-14T22:13:20Z".into(),
            started_at: "2023-11-14T22:13:20Z".into(),
            finished_at: "2023-11-14T22:13:21Z".into(),
            coverage_summary: Default::default(),
        };
        let manifest = w.write_manifest(info).unwrap();
        w.write_signature(&key.sign(&manifest).unwrap()).unwrap();
        let pkg = w.commit().unwrap();
        let sums = fs::read_to_string(pkg.dir.join(SUMS_FILE)).unwrap();
        assert!(sums.contains("  REPORT.md\n"), "{sums}");
        let trust = crate::TrustAnchors { public_keys_pem: vec![key.public_key_pem().unwrap()], key_ids: Vec::new() };
        let report = crate::verify_package(&pkg.dir, &trust);
        assert!(report.holds(), "{:?}", report.problems);
        fs::write(pkg.dir.join("REPORT.md"), b"# Edited\n").unwrap();
        let report = crate::verify_package(&pkg.dir, &trust);
        assert!(report.problems.iter().any(|p| p.file == "REPORT.md"), "{:?}", report.problems);
    }
}
