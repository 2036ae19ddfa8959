//! Turning one tenant's collected tables into a package: the manifest's collection facts (scopes, API
//! versions, times, coverage summary), and the signature — Ed25519 with a local key file, or a Key Vault /
//! Managed HSM key through Azure's `sign` operation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use azure_rest::AzureClient;
use bundle::{CollectionInfo, LocalSigningKey, ManifestSignature, PackageWriter, RawSpool, WrittenFile};
use evidence::{KeyReference, SnapshotContext, Tables, Timestamp};

/// How packages are signed.
#[derive(Debug)]
pub(crate) enum Signer {
    /// Not signed: `verify` will say so.
    Unsigned,
    /// Ed25519 with a local key file.
    Local(LocalSigningKey),
    /// A Key Vault or Managed HSM key, through the collecting tenant's credential.
    KeyVault { key_id: String, algorithm: String },
}

impl Signer {
    /// From the command-line options (at most one of them).
    pub(crate) fn from_options(key_file: Option<&Path>, key_vault_key: Option<&str>, algorithm: &str) -> Result<Self> {
        match (key_file, key_vault_key) {
            (Some(_), Some(_)) => bail!("--signing-key and --sign-with-key-vault are exclusive: choose one signer"),
            (Some(path), None) => Ok(Self::Local(
                LocalSigningKey::read(path).with_context(|| format!("reading signing key {}", path.display()))?,
            )),
            (None, Some(key_id)) => {
                if !bundle::signature::KEY_VAULT_ALGORITHMS.contains(&algorithm) {
                    bail!("--sign-algorithm {algorithm} is not one of ES256, RS256, PS256");
                }
                KeyReference::parse_key_id(key_id).with_context(|| format!("--sign-with-key-vault {key_id}"))?;
                Ok(Self::KeyVault { key_id: key_id.to_string(), algorithm: algorithm.to_string() })
            }
            (None, None) => Ok(Self::Unsigned),
        }
    }

    async fn sign(&self, client: Option<&AzureClient>, manifest: &[u8]) -> Result<Option<ManifestSignature>> {
        match self {
            Self::Unsigned => Ok(None),
            Self::Local(key) => Ok(Some(key.sign(manifest)?)),
            Self::KeyVault { key_id, algorithm } => {
                let Some(client) = client else {
                    bail!("signing with {key_id} needs an Azure connection; sign with a local key instead")
                };
                use sha2::Digest as _;
                let digest = sha2::Sha256::digest(manifest).to_vec();
                let signed = client
                    .kv_sign(key_id, algorithm, &digest)
                    .await
                    .with_context(|| format!("signing the manifest with {key_id} ({algorithm})"))?;
                // Record the public key of exactly the version that signed, read back from the vault.
                let key = KeyReference::parse_key_id(&signed.kid)
                    .with_context(|| format!("the vault answered with key id {}", signed.kid))?;
                let fetched = client
                    .kv_get_key(&key.vault_uri, &key.key_name, key.version.as_deref())
                    .await
                    .with_context(|| format!("reading the public key of {}", signed.kid))?;
                let bundle_json: serde_json::Value =
                    serde_json::from_slice(&fetched.body).context("the signing key's bundle is not JSON")?;
                let pem = bundle::public_key_pem_from_jwk(&bundle_json["key"])
                    .map_err(|e| anyhow::anyhow!("public key of {}: {e}", signed.kid))?;
                Ok(Some(ManifestSignature::external(algorithm, &signed.kid, &pem, manifest, signed.signature)))
            }
        }
    }
}

/// API versions used, per resource provider (ARM) or `keyvault-dataplane`, read off the raw responses.
fn api_versions(raw: &RawSpool) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for raw in raw.metadata() {
        let Some(version) = &raw.api_version else { continue };
        if raw.method == crate::import::FILE_METHOD {
            continue;
        }
        let path = raw.url.split('?').next().unwrap_or_default();
        let area = match path.rfind("/providers/") {
            Some(i) => path[i + 11..].split('/').take(2).collect::<Vec<_>>().join("/"),
            None if path.contains("/keys/") => "keyvault-dataplane".to_string(),
            None => "Microsoft.Resources".to_string(),
        };
        map.entry(area).or_default().insert(version.clone());
    }
    map.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect()
}

fn rfc3339(t: Timestamp) -> String {
    t.to_string()
}

/// The manifest's `cloud` for a package built by `import` from saved files.
pub(crate) const IMPORTED_CLOUD: &str = "imported";

/// Where and how a package is written.
#[derive(Debug)]
pub(crate) struct Target<'a> {
    /// The archive directory (`<out>/<tenant>/<snapshot>`).
    pub out: &'a Path,
    /// Who signs the manifest.
    pub signer: &'a Signer,
    /// The findings policy.
    pub policy: &'a findings::Policy,
}

/// Evaluates the findings into `tables`, then writes them as a package under `target.out` with the report
/// (REPORT.md, report.html — with the rotation diff against the tenant's previous package when there is one),
/// manifest and signature, and renames it into place. `raw_responses` is written from `raw`, after the rows
/// still in `tables.raw_responses` are moved into it; the spool file is removed when `raw` is dropped here.
/// `client` is needed only to sign with a Key Vault key (`None` for `import`).
#[expect(clippy::too_many_arguments, reason = "the raw-response spool travels beside the tables it was split from")]
pub(crate) async fn write_package(
    client: Option<&AzureClient>,
    ctx: &SnapshotContext,
    cloud: &str,
    subscriptions: &[String],
    started_at: Timestamp,
    tables: &mut Tables,
    mut raw: RawSpool,
    target: &Target<'_>,
) -> Result<(PathBuf, Vec<WrittenFile>)> {
    raw.extend(std::mem::take(&mut tables.raw_responses)).context("spooling raw responses")?;
    crate::rules::evaluate_into(tables, target.policy, ctx.taken_at);
    tracing::info!(findings = tables.findings.len(), "findings evaluated");
    let tables = &*tables;
    let out = target.out;
    let mut writer = PackageWriter::create(out, &ctx.tenant_id, &ctx.snapshot_id())
        .with_context(|| format!("creating the package under {}", out.display()))?;
    writer.write_tables_spooled(tables, &mut raw).context("writing tables")?;
    tracing::info!(raw_responses = raw.len(), "tables written");
    let mut coverage_summary = BTreeMap::new();
    for row in &tables.coverage {
        *coverage_summary.entry(row.status.clone()).or_insert(0u64) += 1;
    }
    let mut scopes: Vec<String> = subscriptions.iter().map(|s| format!("/subscriptions/{s}")).collect();
    scopes.sort();
    write_reports(&mut writer, ctx, cloud, &scopes, tables)?;
    tracing::info!("reports written");
    let info = CollectionInfo {
        cloud: cloud.to_string(),
        scopes,
        api_versions: api_versions(&raw),
        snapshot_time: rfc3339(ctx.taken_at),
        started_at: rfc3339(started_at),
        finished_at: rfc3339(Timestamp::from_datetime(time::OffsetDateTime::now_utc())),
        coverage_summary,
    };
    let manifest = writer.write_manifest(info).context("writing the manifest")?;
    if let Some(signature) = target.signer.sign(client, &manifest).await? {
        writer.write_signature(&signature).context("writing the signature")?;
    }
    let written = writer.commit().context("committing the package")?;
    Ok((written.dir, written.files))
}

/// `REPORT.md` and `report.html`, with the rotation diff against the tenant's previous package in this archive
/// when there is one (a previous package that does not verify is named in the report, not compared).
fn write_reports(
    writer: &mut PackageWriter,
    ctx: &SnapshotContext,
    cloud: &str,
    scopes: &[String],
    tables: &Tables,
) -> Result<()> {
    let previous = writer.previous_dir().map(|dir| {
        crate::compare::summary_against_previous(&dir, tables, &ctx.tenant_id, &ctx.snapshot_id(), ctx.taken_at, scopes)
            .map_err(|e| format!("{}: {e:#}", dir.display()))
    });
    if let Some(Err(why)) = &previous {
        tracing::warn!("the previous package is not compared in the report: {why}");
    }
    let snapshot_time = rfc3339(ctx.taken_at);
    let snapshot_id = ctx.snapshot_id();
    let input = crate::report::ReportInput {
        tables,
        tenant_id: &ctx.tenant_id,
        snapshot_id: &snapshot_id,
        snapshot_time: &snapshot_time,
        cloud,
        scopes,
        previous: previous.as_ref().and_then(|p| p.as_ref().ok()),
        previous_error: previous.as_ref().and_then(|p| p.as_ref().err()).map(String::as_str),
    };
    writer.write_document("REPORT.md", crate::report::markdown(&input).as_bytes()).context("writing REPORT.md")?;
    writer.write_document("report.html", crate::report::html(&input).as_bytes()).context("writing report.html")?;
    Ok(())
}
