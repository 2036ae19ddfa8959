//! Turning one tenant's collected tables into a package: the manifest's collection facts (scopes, API
//! versions, times, coverage summary), and the signature — Ed25519 with a local key file, or a Key Vault /
//! Managed HSM key through Azure's `sign` operation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use azure_rest::AzureClient;
use bundle::{CollectionInfo, LocalSigningKey, ManifestSignature, PackageWriter, WrittenFile};
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
fn api_versions(tables: &Tables) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for raw in &tables.raw_responses {
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

/// Writes `tables` as a package under `out`, with manifest and signature, and renames it into place. `client`
/// is needed only to sign with a Key Vault key (`None` for `import`).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_package(
    client: Option<&AzureClient>,
    ctx: &SnapshotContext,
    cloud: &str,
    subscriptions: &[String],
    started_at: Timestamp,
    tables: &Tables,
    out: &Path,
    signer: &Signer,
) -> Result<(PathBuf, Vec<WrittenFile>)> {
    let mut writer = PackageWriter::create(out, &ctx.tenant_id, &ctx.snapshot_id())
        .with_context(|| format!("creating the package under {}", out.display()))?;
    writer.write_tables(tables).context("writing tables")?;
    let mut coverage_summary = BTreeMap::new();
    for row in &tables.coverage {
        *coverage_summary.entry(row.status.clone()).or_insert(0u64) += 1;
    }
    let mut scopes: Vec<String> = subscriptions.iter().map(|s| format!("/subscriptions/{s}")).collect();
    scopes.sort();
    let info = CollectionInfo {
        cloud: cloud.to_string(),
        scopes,
        api_versions: api_versions(tables),
        snapshot_time: rfc3339(ctx.taken_at),
        started_at: rfc3339(started_at),
        finished_at: rfc3339(Timestamp::from_datetime(time::OffsetDateTime::now_utc())),
        coverage_summary,
    };
    let manifest = writer.write_manifest(info).context("writing the manifest")?;
    if let Some(signature) = signer.sign(client, &manifest).await? {
        writer.write_signature(&signature).context("writing the signature")?;
    }
    let written = writer.commit().context("committing the package")?;
    Ok((written.dir, written.files))
}
