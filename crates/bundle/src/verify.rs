//! Offline verification of a package, and of the hash chain of a tenant's packages. Every failure is a
//! [`Problem`] naming the file and what is wrong; nothing here needs Azure.
//!
//! A package holds when: `manifest.json` parses; every file it lists exists with the recorded size and
//! SHA-256; no other file is present; `SHA256SUMS` agrees with the manifest; every table has exactly the schema
//! its name declares and the recorded row count; and `manifest.sig` is a valid signature over `manifest.json`
//! by a trusted key (a public key or key id the verifier passes in).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};

use crate::manifest::{
    MANIFEST_FILE, Manifest, SIGNATURE_FILE, SIGNATURE_INFO_FILE, SUMS_FILE, sha256_hex, sha256sums, snapshot_dirs,
};
use crate::signature::{SignatureInfo, key_id_of_public_pem, pem_body, verify_signature};

/// What the verifier trusts to have signed packages.
#[derive(Debug, Clone, Default)]
pub struct TrustAnchors {
    /// Public keys (SPKI PEM) whose signatures are trusted.
    pub public_keys_pem: Vec<String>,
    /// Key ids (`ed25519:…`, or a Key Vault key id with or without version) whose signatures are trusted.
    pub key_ids: Vec<String>,
}

impl TrustAnchors {
    fn trusts(&self, info: &SignatureInfo) -> bool {
        let body = pem_body(&info.public_key_pem);
        if self.public_keys_pem.iter().any(|k| pem_body(k) == body) {
            return true;
        }
        let ids: Vec<String> = std::iter::once(info.key_id.to_ascii_lowercase())
            .chain(key_id_of_public_pem(&info.public_key_pem).map(|id| id.to_ascii_lowercase()))
            .collect();
        self.key_ids.iter().map(|k| k.trim().trim_end_matches('/').to_ascii_lowercase()).any(|trusted| {
            ids.iter().any(|id| {
                *id == trusted
                    // A Key Vault key id without version trusts every version of that key.
                    || (trusted.starts_with("https://") && id.starts_with(&format!("{trusted}/")))
            })
        })
    }

    /// Whether any anchor was given.
    pub fn is_empty(&self) -> bool {
        self.public_keys_pem.is_empty() && self.key_ids.is_empty()
    }
}

/// One thing that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The file concerned, relative to the package (or the package directory for chain problems).
    pub file: String,
    /// What is wrong.
    pub what: String,
    /// Which kind of problem it is, for callers that may accept some (not part of the printed report).
    #[serde(skip)]
    pub kind: ProblemKind,
}

/// Kinds of [`Problem`] a caller may tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProblemKind {
    /// The content does not hold, or the signature is invalid or by a key that is not trusted.
    #[default]
    Other,
    /// The package carries no signature at all.
    Unsigned,
    /// The signature is valid, but the verifier was given no key to trust.
    NoTrustAnchor,
}

/// The result of verifying one package.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyReport {
    /// The package directory.
    pub package: PathBuf,
    /// Tenant id from the manifest, when it could be read.
    pub tenant_id: Option<String>,
    /// Snapshot id from the manifest, when it could be read.
    pub snapshot_id: Option<String>,
    /// Files whose hash, size and (for tables) schema were checked.
    pub files_checked: usize,
    /// Key id that signed the manifest, when a signature is present and valid.
    pub signer: Option<String>,
    /// Every problem found.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// True when nothing is wrong.
    pub fn holds(&self) -> bool {
        self.problems.is_empty()
    }

    /// The problems that remain when an unsigned package is accepted: every one but "not signed" and "valid
    /// signature, but no key to trust was given".
    pub fn problems_if_unsigned_accepted(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.kind == ProblemKind::Other)
    }
}

fn problem(file: impl Into<String>, what: impl Into<String>) -> Problem {
    Problem { file: file.into(), what: what.into(), kind: ProblemKind::Other }
}

fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}

fn all_files(dir: &Path, base: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            all_files(&path, base, out);
        } else if let Ok(rel) = path.strip_prefix(base) {
            out.push(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
        }
    }
}

/// Checks the table's Parquet schema and row count against the evidence schema its name declares.
fn check_table(path: &Path, table: &str, schema_version: u32, rows: u64) -> Result<(), String> {
    let Some((_, version, _, expected)) = evidence::all_schemas().into_iter().find(|(name, ..)| *name == table) else {
        return Err(format!("declares table {table:?}, which is not an evidence table"));
    };
    if version != schema_version {
        return Err(format!("declares schema version {schema_version} of {table}; this tool knows version {version}"));
    }
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| format!("not a readable Parquet file: {e}"))?;
    let actual = builder.schema();
    let describe = |s: &arrow_schema::Schema| -> Vec<String> {
        s.fields()
            .iter()
            .map(|f| format!("{} {} {}", f.name(), f.data_type(), if f.is_nullable() { "null" } else { "not null" }))
            .collect()
    };
    let (want, got) = (describe(&expected), describe(actual));
    if want != got {
        let missing: Vec<&String> = want.iter().filter(|c| !got.contains(c)).collect();
        let extra: Vec<&String> = got.iter().filter(|c| !want.contains(c)).collect();
        return Err(format!(
            "schema differs from {table} v{version}: expected but absent {missing:?}; present but not expected {extra:?}"
        ));
    }
    let actual_rows = builder.metadata().file_metadata().num_rows();
    if u64::try_from(actual_rows).ok() != Some(rows) {
        return Err(format!("has {actual_rows} rows; the manifest records {rows}"));
    }
    Ok(())
}

/// Verifies the package at `dir`.
pub fn verify_package(dir: &Path, trust: &TrustAnchors) -> VerifyReport {
    let mut report = VerifyReport {
        package: dir.to_path_buf(),
        tenant_id: None,
        snapshot_id: None,
        files_checked: 0,
        signer: None,
        problems: Vec::new(),
    };
    let (manifest, manifest_bytes) = match Manifest::read(dir) {
        Ok(m) => m,
        Err(e) => {
            report.problems.push(problem(MANIFEST_FILE, e.to_string()));
            return report;
        }
    };
    report.tenant_id = Some(manifest.tenant_id.clone());
    report.snapshot_id = Some(manifest.snapshot_id.clone());

    // Listed files: present, right size, right hash, right schema.
    let mut listed = BTreeSet::new();
    for f in &manifest.files {
        listed.insert(f.path.clone());
        let path = dir.join(&f.path);
        if f.path.contains("..") || Path::new(&f.path).is_absolute() {
            report.problems.push(problem(&f.path, "path leaves the package"));
            continue;
        }
        match hash_file(&path) {
            Err(e) => report.problems.push(problem(&f.path, format!("listed in the manifest but cannot be read: {e}"))),
            Ok((sha, bytes)) => {
                report.files_checked += 1;
                if bytes != f.bytes {
                    report
                        .problems
                        .push(problem(&f.path, format!("is {bytes} bytes; the manifest records {}", f.bytes)));
                }
                if sha != f.sha256 {
                    report
                        .problems
                        .push(problem(&f.path, format!("SHA-256 is {sha}; the manifest records {}", f.sha256)));
                } else if f.table.is_empty() {
                    // A document (REPORT.md, report.html): its hash and size are all there is to check.
                } else if let Err(what) = check_table(&path, &f.table, f.schema_version, f.rows) {
                    report.problems.push(problem(&f.path, what));
                }
            }
        }
    }

    // Nothing else in the package.
    let known: BTreeSet<&str> = [MANIFEST_FILE, SUMS_FILE, SIGNATURE_FILE, SIGNATURE_INFO_FILE].into();
    let mut present = Vec::new();
    all_files(dir, dir, &mut present);
    for file in present {
        if !listed.contains(&file) && !known.contains(file.as_str()) {
            report.problems.push(problem(&file, "is not listed in the manifest (added after the package was made)"));
        }
    }

    // SHA256SUMS agrees with the manifest.
    match std::fs::read(dir.join(SUMS_FILE)) {
        Ok(sums) if sums == sha256sums(&manifest.files) => {}
        Ok(_) => report.problems.push(problem(SUMS_FILE, "does not match the files recorded in the manifest")),
        Err(e) => report.problems.push(problem(SUMS_FILE, format!("cannot be read: {e}"))),
    }

    // Signature.
    check_signature(dir, &manifest_bytes, trust, &mut report);
    report
}

fn check_signature(dir: &Path, manifest_bytes: &[u8], trust: &TrustAnchors, report: &mut VerifyReport) {
    let info: SignatureInfo = match std::fs::read(dir.join(SIGNATURE_INFO_FILE)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            report.problems.push(Problem {
                kind: ProblemKind::Unsigned,
                ..problem(SIGNATURE_INFO_FILE, "missing: the package is not signed")
            });
            return;
        }
        Err(e) => {
            report.problems.push(problem(SIGNATURE_INFO_FILE, format!("cannot be read: {e}")));
            return;
        }
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(info) => info,
            Err(e) => {
                report.problems.push(problem(SIGNATURE_INFO_FILE, format!("is not valid: {e}")));
                return;
            }
        },
    };
    if info.signed_sha256 != sha256_hex(manifest_bytes) {
        report.problems.push(problem(MANIFEST_FILE, "differs from the manifest that was signed (SHA-256 mismatch)"));
    }
    let signature = match std::fs::read(dir.join(SIGNATURE_FILE)) {
        Ok(s) => s,
        Err(e) => {
            report.problems.push(problem(SIGNATURE_FILE, format!("cannot be read: {e}")));
            return;
        }
    };
    match verify_signature(&info, manifest_bytes, &signature) {
        Err(what) => report.problems.push(problem(SIGNATURE_FILE, what)),
        Ok(()) => {
            report.signer = Some(info.key_id.clone());
            if trust.is_empty() {
                report.problems.push(Problem {
                    kind: ProblemKind::NoTrustAnchor,
                    ..problem(
                        SIGNATURE_FILE,
                        format!(
                            "is a valid {} signature by {}, but no trusted key was given: pass --public-key or --trusted-key-id",
                            info.algorithm, info.key_id
                        ),
                    )
                });
            } else if !trust.trusts(&info) {
                report.problems.push(problem(
                    SIGNATURE_FILE,
                    format!("is signed by {}, which is not one of the trusted keys", info.key_id),
                ));
            }
        }
    }
}

/// The result of verifying every package of one tenant and the links between them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChainReport {
    /// The tenant directory.
    pub tenant_dir: PathBuf,
    /// Every package, oldest first.
    pub packages: Vec<VerifyReport>,
    /// The first link that does not hold: the later package names a previous manifest that is not there.
    pub first_broken_link: Option<Problem>,
}

impl ChainReport {
    /// True when every package holds and every link holds.
    pub fn holds(&self) -> bool {
        self.first_broken_link.is_none() && self.packages.iter().all(VerifyReport::holds) && !self.packages.is_empty()
    }
}

/// Verifies every package under `tenant_dir` and the hash chain between consecutive packages.
pub fn verify_chain(tenant_dir: &Path, trust: &TrustAnchors) -> ChainReport {
    let ids = snapshot_dirs(tenant_dir).unwrap_or_default();
    let mut report =
        ChainReport { tenant_dir: tenant_dir.to_path_buf(), packages: Vec::new(), first_broken_link: None };
    let mut previous: Option<(String, String)> = None;
    for id in ids {
        let dir = tenant_dir.join(&id);
        report.packages.push(verify_package(&dir, trust));
        let manifest = Manifest::read(&dir).ok();
        let this_hash = std::fs::read(dir.join(MANIFEST_FILE)).ok().map(|b| sha256_hex(&b));
        if report.first_broken_link.is_none() {
            let recorded = manifest.as_ref().and_then(|(m, _)| m.previous.clone());
            let broken = match (&previous, recorded) {
                (None, None) => None,
                (None, Some(p)) => {
                    Some(format!("names previous package {} but it is not in {}", p.snapshot_id, tenant_dir.display()))
                }
                (Some((prev_id, _)), None) => {
                    Some(format!("does not name a previous package, but {prev_id} precedes it"))
                }
                (Some((prev_id, prev_hash)), Some(p)) => {
                    if p.snapshot_id != *prev_id {
                        Some(format!(
                            "names previous package {}, but the package before it is {prev_id}",
                            p.snapshot_id
                        ))
                    } else if p.manifest_sha256 != *prev_hash {
                        Some(format!(
                            "records SHA-256 {} for {prev_id}/manifest.json, which now hashes to {prev_hash}",
                            p.manifest_sha256
                        ))
                    } else {
                        None
                    }
                }
            };
            if let Some(what) = broken {
                report.first_broken_link = Some(problem(format!("{id}/{MANIFEST_FILE}"), what));
            }
        }
        previous = this_hash.map(|h| (id, h));
    }
    report
}
