//! Orchestration of one tenant's collection: resolve subscriptions, run the phase-1 collectors per
//! subscription, resolve every distinct key and vault once (phase 2), join the chain, and write the package.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use azure_rest::{AzureClient, ClientConfig, Cloud, CredentialSpec};
use collect_vault::collect::{KeyDemand, Prefetch, Prefetched};
use evidence::vocab::{CoverageStatus, key_source};
use evidence::{KeyReference, SnapshotContext, Tables, Timestamp, resource_types};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{HashMap, HashSet};

use crate::discovery::{self, Discovery};
use crate::package::{self, Signer};
use crate::{CollectArgs, CredentialKind, OutputFormat, exit, summary};

/// Keys and vault role-assignment lists read at once while phase 1 runs (azure-rest's limiter caps each vault and
/// subscription).
const KEY_CONCURRENCY: usize = 64;
/// Subscription list API version.
const SUBSCRIPTIONS_API_VERSION: &str = "2022-12-01";

/// What one tenant's run produced.
pub(crate) struct TenantRun {
    pub tables: Tables,
    pub package_dir: PathBuf,
    pub files: Vec<bundle::WrittenFile>,
    /// What azure-rest's limiter saw (none for `import`).
    pub throttling: Option<azure_rest::ThrottleStats>,
    /// Wall time of the collection (every request answered, the chain joined) and of writing the package.
    pub timings: Option<Timings>,
}

/// Where a run's wall time went.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub(crate) struct Timings {
    /// From the first request to the joined, sorted tables.
    pub collect_seconds: f64,
    /// Findings, tables, reports, manifest, signature, rename.
    pub package_seconds: f64,
}

impl TenantRun {
    /// Coverage rows that record a failure to collect (not `not_supported`/`not_assessed`, which are facts).
    pub fn failure_count(&self) -> usize {
        self.tables
            .coverage
            .iter()
            .filter(|c| {
                !matches!(
                    CoverageStatus::parse(&c.status),
                    Some(CoverageStatus::NotSupported | CoverageStatus::NotAssessed)
                )
            })
            .count()
    }
}

/// Where a tenant's credential comes from: the command line's `--credential`, or one `[[tenants]]` entry.
#[derive(Debug, Clone, Default)]
struct CredentialSource {
    client_id: Option<String>,
    /// Environment variable that holds the client secret (never the secret itself).
    client_secret_env: Option<String>,
    token_file: Option<PathBuf>,
}

fn credential_spec(kind: CredentialKind, tenant: &str, source: &CredentialSource) -> Result<CredentialSpec> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let client_id = || source.client_id.clone().or_else(|| env("AZURE_CLIENT_ID"));
    Ok(match kind {
        CredentialKind::Auto => CredentialSpec::FromEnvironment,
        CredentialKind::DeveloperTools => CredentialSpec::DeveloperTools,
        CredentialKind::ClientSecret => {
            let secret_var = source.client_secret_env.as_deref().unwrap_or("AZURE_CLIENT_SECRET");
            CredentialSpec::ClientSecret {
                tenant_id: tenant.to_string(),
                client_id: client_id().context("the client-secret credential needs a client id (AZURE_CLIENT_ID)")?,
                secret: env(secret_var).with_context(|| {
                    format!(
                        "the client-secret credential needs {secret_var} in the environment (never on the command line)"
                    )
                })?,
            }
        }
        CredentialKind::WorkloadIdentity => CredentialSpec::WorkloadIdentity {
            tenant_id: Some(tenant.to_string()),
            client_id: client_id(),
            token_file: source.token_file.clone().or_else(|| env("AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from)),
        },
        CredentialKind::ManagedIdentity => CredentialSpec::ManagedIdentity { client_id: client_id() },
    })
}

/// One tenant to collect, from the command line or a `[[tenants]]` entry of `--config`.
#[derive(Debug, Clone)]
struct TenantJob {
    tenant_id: String,
    label: String,
    cloud: String,
    subscriptions: Vec<String>,
    credential: CredentialKind,
    source: CredentialSource,
    simulator: Option<std::net::SocketAddr>,
}

/// The `--config` file: many tenants, each with its cloud, subscriptions and credential.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// Directory packages are written under (overridden by `--out`).
    out: Option<PathBuf>,
    #[serde(default)]
    signing: SigningConfig,
    tenants: Vec<TenantConfig>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SigningConfig {
    key_file: Option<PathBuf>,
    key_vault_key: Option<String>,
    algorithm: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantConfig {
    id: String,
    name: Option<String>,
    #[serde(default = "default_cloud")]
    cloud: String,
    #[serde(default)]
    subscriptions: Vec<String>,
    #[serde(default = "default_credential")]
    credential: String,
    client_id: Option<String>,
    client_secret_env: Option<String>,
    token_file: Option<PathBuf>,
    simulator: Option<std::net::SocketAddr>,
}

fn default_cloud() -> String {
    "public".into()
}

fn default_credential() -> String {
    "auto".into()
}

fn read_config(path: &Path) -> Result<(ConfigFile, Vec<TenantJob>)> {
    use clap::ValueEnum;
    let text = std::fs::read_to_string(path).with_context(|| format!("reading --config {}", path.display()))?;
    let config: ConfigFile = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if config.tenants.is_empty() {
        bail!("{}: no [[tenants]] entries", path.display());
    }
    let mut jobs = Vec::new();
    for (i, t) in config.tenants.iter().enumerate() {
        let credential = CredentialKind::from_str(&t.credential, true).map_err(|_| {
            anyhow::anyhow!(
                "{}: tenants[{i}] ({}): credential {:?} is not one of auto, developer-tools, client-secret, workload-identity, managed-identity",
                path.display(),
                t.id,
                t.credential
            )
        })?;
        jobs.push(TenantJob {
            tenant_id: t.id.trim().to_ascii_lowercase(),
            label: t.name.clone().unwrap_or_else(|| t.id.clone()),
            cloud: t.cloud.clone(),
            subscriptions: t.subscriptions.clone(),
            credential,
            source: CredentialSource {
                client_id: t.client_id.clone(),
                client_secret_env: t.client_secret_env.clone(),
                token_file: t.token_file.clone(),
            },
            simulator: t.simulator,
        });
    }
    Ok((config, jobs))
}

/// The outcome of one tenant in a multi-tenant run.
enum TenantOutcome {
    Written(Box<TenantRun>),
    Failed(anyhow::Error),
}

async fn run_job(
    job: &TenantJob,
    args: &CollectArgs,
    taken_at: Timestamp,
    out: &Path,
    signer: &Signer,
    policy: &findings::Policy,
) -> Result<TenantRun> {
    let config = ClientConfig {
        tenant_id: job.tenant_id.clone(),
        cloud: Cloud::by_name(&job.cloud).with_context(|| format!("cloud {:?}", job.cloud))?,
        credential: credential_spec(job.credential, &job.tenant_id, &job.source)?,
        retry: args.retry.config(None),
        redirect_to_loopback: job.simulator,
    };
    let client = AzureClient::new(config).context("building the Azure client")?;
    let ctx = SnapshotContext { tenant_id: job.tenant_id.clone(), taken_at };
    collect_and_package(&client, &ctx, &job.subscriptions, args.discovery, out, signer, policy).await
}

pub(crate) async fn collect_command(args: CollectArgs) -> Result<u8> {
    let taken_at = match &args.snapshot_time {
        Some(text) => {
            Timestamp::parse(text).with_context(|| format!("--snapshot-time {text:?} is not an RFC 3339 time"))?
        }
        None => Timestamp::from_datetime(time::OffsetDateTime::now_utc()),
    };
    let (jobs, config_out, config_signing) = match (&args.config, &args.tenant) {
        (Some(path), None) => {
            let (config, jobs) = read_config(path)?;
            (jobs, config.out, config.signing)
        }
        (None, Some(tenant)) => {
            let job = TenantJob {
                tenant_id: tenant.trim().to_ascii_lowercase(),
                label: tenant.clone(),
                cloud: args.cloud.clone(),
                subscriptions: args.subscriptions.iter().map(|s| s.trim().to_ascii_lowercase()).collect(),
                credential: args.credential,
                source: CredentialSource::default(),
                simulator: args.simulator,
            };
            (vec![job], None, SigningConfig::default())
        }
        (Some(_), Some(_)) => bail!("--tenant and --config are exclusive: put every tenant in the config file"),
        (None, None) => {
            bail!("say which tenant to collect: --tenant <id> (or AZURE_TENANT_ID), or --config tenants.toml")
        }
    };
    let out = args.out.clone().or(config_out).unwrap_or_else(|| PathBuf::from("cmk-evidence-out"));
    let signer = Signer::from_options(
        args.signing.signing_key.as_deref().or(config_signing.key_file.as_deref()),
        args.signing.sign_with_key_vault.as_deref().or(config_signing.key_vault_key.as_deref()),
        args.signing.sign_algorithm.as_deref().or(config_signing.algorithm.as_deref()).unwrap_or("ES256"),
    )?;
    if matches!(signer, Signer::Unsigned) {
        eprintln!("warning: no --signing-key or --sign-with-key-vault: the package will not be signed");
    }
    let policy = crate::rules::policy(args.policy.as_deref())?;

    if jobs.len() == 1 && args.config.is_none() {
        let run = run_job(&jobs[0], &args, taken_at, &out, &signer, &policy).await?;
        summary::print_run(&run, args.output == OutputFormat::Json, None)?;
        return Ok(if run.failure_count() > 0 { exit::GAPS } else { exit::OK });
    }

    // Many tenants: one failing does not stop the others.
    let mut outcomes = Vec::new();
    for job in &jobs {
        tracing::info!(tenant = %job.tenant_id, "collecting tenant {}", job.label);
        let outcome = match run_job(job, &args, taken_at, &out, &signer, &policy).await {
            Ok(run) => TenantOutcome::Written(Box::new(run)),
            Err(e) => TenantOutcome::Failed(e),
        };
        outcomes.push((job, outcome));
    }
    let mut code = exit::OK;
    let mut json_rows = Vec::new();
    for (job, outcome) in &outcomes {
        match outcome {
            TenantOutcome::Written(run) => {
                let gaps = run.failure_count();
                if gaps > 0 && code == exit::OK {
                    code = exit::GAPS;
                }
                json_rows.push(serde_json::json!({
                    "tenant_id": job.tenant_id, "name": job.label, "status": if gaps > 0 { "gaps" } else { "ok" },
                    "package": run.package_dir, "collection_failures": gaps, "chain_rows": run.tables.cmk_chain.len(),
                }));
            }
            TenantOutcome::Failed(e) => {
                code = exit::ERROR;
                let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
                json_rows.push(serde_json::json!({
                    "tenant_id": job.tenant_id, "name": job.label, "status": "failed", "error": chain.join(": "),
                }));
            }
        }
    }
    if args.output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "tenants": json_rows }))?);
    } else {
        println!("{:<38} {:<8} PACKAGE OR ERROR", "TENANT", "STATUS");
        for row in &json_rows {
            let detail = row
                .get("package")
                .or_else(|| row.get("error"))
                .map(|v| v.as_str().map(String::from).unwrap_or_else(|| v.to_string()))
                .unwrap_or_default();
            println!(
                "{:<38} {:<8} {}",
                row["name"].as_str().unwrap_or_default(),
                row["status"].as_str().unwrap_or_default(),
                detail
            );
        }
    }
    Ok(code)
}

fn progress(len: u64, what: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg:<28} [{bar:30}] {pos}/{len} {elapsed}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}

/// Lists the enabled subscriptions the credential can see in the tenant. A failure here is fatal: nothing
/// else could be collected either.
async fn discover_subscriptions(
    client: &AzureClient,
    ctx: &SnapshotContext,
    tables: &mut Tables,
) -> Result<Vec<String>> {
    let pages = client
        .arm_list("/subscriptions", SUBSCRIPTIONS_API_VERSION)
        .await
        .map_err(|e| anyhow::anyhow!("listing subscriptions of tenant {}: {}", ctx.tenant_id, e.error))?;
    let mut subscriptions = Vec::new();
    for page in &pages {
        tables.raw_responses.push(ctx.raw_response(
            page.method,
            &page.url,
            page.api_version.as_deref(),
            page.status,
            &page.body,
            &page.sha256,
        ));
        let value: serde_json::Value = serde_json::from_slice(&page.body)
            .with_context(|| format!("subscription list page from {} is not JSON", page.url))?;
        for item in value.get("value").and_then(|v| v.as_array()).into_iter().flatten() {
            let Some(id) = item.get("subscriptionId").and_then(|v| v.as_str()) else { continue };
            let state = item.get("state").and_then(|v| v.as_str()).unwrap_or("Enabled");
            if state.eq_ignore_ascii_case("Enabled")
                || state.eq_ignore_ascii_case("PastDue")
                || state.eq_ignore_ascii_case("Warned")
            {
                subscriptions.push(id.to_ascii_lowercase());
            } else {
                tables.coverage.push(ctx.coverage(
                    CoverageStatus::NotAssessed,
                    resource_types::SUBSCRIPTION,
                    Some(id),
                    None,
                    format!("subscription is {state}; only enabled subscriptions are collected"),
                ));
            }
        }
    }
    if subscriptions.is_empty() {
        bail!(
            "the credential sees no enabled subscription in tenant {}; pass --subscription or grant Reader",
            ctx.tenant_id
        );
    }
    Ok(subscriptions)
}

/// The keys the phase-1 bindings use (with their versions in use), deduplicated.
fn key_demand(tables: &Tables) -> KeyDemand {
    let mut demand = KeyDemand::default();
    for b in &tables.cmk_bindings {
        if b.key_source.as_deref() != Some(key_source::CUSTOMER_MANAGED) {
            continue;
        }
        let (Some(vault), Some(name)) = (&b.key_vault_uri, &b.key_name) else { continue };
        for version in [b.in_use_key_version.as_deref(), b.configured_key_version.as_deref(), None] {
            if let Ok(key) = KeyReference::from_parts(vault, name, version) {
                demand.add(&key);
            }
        }
    }
    demand
}

/// Collects one tenant: phase 1 (through `discovery`), phase 2, the chain. Raw responses go to `on_raw` as they
/// are read (so they need not stay in memory); returns the sorted tables and the subscriptions collected.
pub(crate) async fn collect_tenant_with(
    client: &AzureClient,
    ctx: &SnapshotContext,
    subscriptions: &[String],
    discovery: Discovery,
    on_raw: &mut (dyn FnMut(Vec<evidence::RawResponseRow>) -> Result<()> + Send),
) -> Result<(Tables, Vec<String>)> {
    let mut tables = Tables::default();
    let subscriptions: Vec<String> = if subscriptions.is_empty() {
        discover_subscriptions(client, ctx, &mut tables).await?
    } else {
        subscriptions.iter().map(|s| s.trim().to_ascii_lowercase()).collect()
    };
    on_raw(std::mem::take(&mut tables.raw_responses))?;
    tracing::info!(tenant = %ctx.tenant_id, subscriptions = subscriptions.len(), ?discovery, "collecting");

    // Phase 1: resources and vault lists, per subscription. Phase-2 work starts as soon as what it needs is known,
    // while other subscriptions are still being collected: every key a subscription's bindings name (latest
    // version, versions, rotation policy), and the role assignments of a vault once it is both listed and in use.
    let bar = progress(subscriptions.len() as u64, "resources");
    let on_subscription = || bar.inc(1);
    let (work_tx, work_rx) = futures::channel::mpsc::unbounded::<Prefetch>();
    let prefetched = work_rx
        .map(|work| collect_vault::collect::prefetch(client, ctx, work))
        .buffer_unordered(KEY_CONCURRENCY)
        .collect::<Vec<_>>();
    let spool_now = &mut *on_raw;
    let phase_one = async {
        let mut keys_started: HashSet<(String, String)> = HashSet::new();
        let mut listed_vaults: HashMap<String, String> = HashMap::new();
        let mut vaults_in_use: HashSet<String> = HashSet::new();
        let mut vaults_started: HashSet<String> = HashSet::new();
        let mut on_rows = move |t: &mut Tables| -> Result<()> {
            spool_now(std::mem::take(&mut t.raw_responses))?;
            // The receiver lives until every sender is gone; a send cannot fail before that.
            for key in key_demand(t).keys() {
                if keys_started.insert(key.key_join()) {
                    vaults_in_use.insert(key.vault_uri.clone());
                    let _ = work_tx.unbounded_send(Prefetch::Key(key.clone()));
                }
            }
            for v in &t.key_vaults {
                listed_vaults.insert(v.vault_uri.clone(), v.resource_id_original.clone());
            }
            for (vault_uri, resource_id_original) in &listed_vaults {
                if vaults_in_use.contains(vault_uri) && vaults_started.insert(vault_uri.clone()) {
                    let work = Prefetch::VaultAssignments {
                        vault_uri: vault_uri.clone(),
                        resource_id_original: resource_id_original.clone(),
                    };
                    let _ = work_tx.unbounded_send(work);
                }
            }
            Ok(())
        };
        // `on_rows` (and the sender in it) is dropped when this block ends, which ends the prefetching.
        discovery::phase_one(client, ctx, &subscriptions, discovery, &mut tables, &mut on_rows, &on_subscription).await
    };
    let (collected, early_reads) = futures::join!(phase_one, prefetched);
    collected?;
    bar.finish_and_clear();
    tracing::info!(bindings = tables.cmk_bindings.len(), prefetched = early_reads.len(), "phase 1 done");
    // Disks, VM disks and AKS node pools hold no key of their own: they take it from their encryption set,
    // joined over the whole tenant's rows.
    collect_disk::link::link_through_encryption_sets(&mut tables);

    // Phase 2: role assignments of every vault in use, keys not read yet, versions in use no list showed.
    let demand = key_demand(&tables);
    let early_keys = early_reads.iter().filter(|r| matches!(r, Prefetched::Key(_))).count();
    let bar = progress(demand.len().saturating_sub(early_keys) as u64, "keys and vaults");
    let on_key_done = || bar.inc(1);
    let mut vault_side =
        collect_vault::collect::collect(client, ctx, &tables, &demand, early_reads, &on_key_done).await;
    bar.finish_and_clear();
    on_raw(std::mem::take(&mut vault_side.raw_responses))?;
    tables.append(vault_side);
    tracing::info!(keys = demand.len(), "vault phase done");

    tables.cmk_chain = evidence::chain::build_chain(&tables, ctx.taken_at);
    tracing::info!("chain joined");
    tables.sort_and_dedup();
    tracing::info!(chain = tables.cmk_chain.len(), "chain built");
    Ok((tables, subscriptions))
}

/// Collects one tenant and writes its signed package under `out`.
pub(crate) async fn collect_and_package(
    client: &AzureClient,
    ctx: &SnapshotContext,
    subscriptions: &[String],
    discovery: Discovery,
    out: &Path,
    signer: &Signer,
    policy: &findings::Policy,
) -> Result<TenantRun> {
    let started_at = Timestamp::from_datetime(time::OffsetDateTime::now_utc());
    // Response bodies go to a spool file in `out` as they are read, not into memory (unlinked at once on Unix,
    // removed on drop elsewhere, also when the run fails).
    let mut raw = bundle::RawSpool::create(out)
        .with_context(|| format!("creating the raw-response spool in {}", out.display()))?;
    let mut spool =
        |rows: Vec<evidence::RawResponseRow>| -> Result<()> { raw.extend(rows).context("spooling raw responses") };
    let clock = std::time::Instant::now();
    let (mut tables, subscriptions) = collect_tenant_with(client, ctx, subscriptions, discovery, &mut spool).await?;
    let collect_seconds = clock.elapsed().as_secs_f64();
    let cloud = client.cloud().name.clone();
    let target = package::Target { out, signer, policy };
    let (package_dir, files) =
        package::write_package(Some(client), ctx, &cloud, &subscriptions, started_at, &mut tables, raw, &target)
            .await?;
    let timings = Timings { collect_seconds, package_seconds: clock.elapsed().as_secs_f64() - collect_seconds };
    Ok(TenantRun { tables, package_dir, files, throttling: Some(client.throttle_stats()), timings: Some(timings) })
}
