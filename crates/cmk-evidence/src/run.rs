//! Orchestration of one tenant's collection: resolve subscriptions, run the phase-1 collectors per
//! subscription, resolve every distinct key and vault once (phase 2), join the chain, and write the package.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use azure_rest::{AzureClient, ClientConfig, Cloud, CredentialSpec};
use collect_vault::collect::KeyDemand;
use evidence::vocab::{CoverageStatus, key_source};
use evidence::{KeyReference, SnapshotContext, Tables, Timestamp, resource_types};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use crate::{CollectArgs, CredentialKind, OutputFormat, exit, summary};

/// Subscriptions collected at once in phase 1.
const SUBSCRIPTION_CONCURRENCY: usize = 4;
/// Subscription list API version.
const SUBSCRIPTIONS_API_VERSION: &str = "2022-12-01";

/// What one tenant's run produced.
pub(crate) struct TenantRun {
    pub tables: Tables,
    pub package_dir: PathBuf,
    pub files: Vec<bundle::WrittenFile>,
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

fn credential_spec(kind: CredentialKind, tenant: &str) -> Result<CredentialSpec> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Ok(match kind {
        CredentialKind::Auto => CredentialSpec::FromEnvironment,
        CredentialKind::DeveloperTools => CredentialSpec::DeveloperTools,
        CredentialKind::ClientSecret => CredentialSpec::ClientSecret {
            tenant_id: tenant.to_string(),
            client_id: env("AZURE_CLIENT_ID").context("--credential client-secret needs AZURE_CLIENT_ID")?,
            secret: env("AZURE_CLIENT_SECRET").context(
                "--credential client-secret needs AZURE_CLIENT_SECRET in the environment (never on the command line)",
            )?,
        },
        CredentialKind::WorkloadIdentity => CredentialSpec::WorkloadIdentity {
            tenant_id: Some(tenant.to_string()),
            client_id: env("AZURE_CLIENT_ID"),
            token_file: env("AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from),
        },
        CredentialKind::ManagedIdentity => CredentialSpec::ManagedIdentity { client_id: env("AZURE_CLIENT_ID") },
    })
}

pub(crate) async fn collect_command(args: CollectArgs) -> Result<u8> {
    let cloud = Cloud::by_name(&args.cloud).with_context(|| format!("--cloud {}", args.cloud))?;
    let taken_at = match &args.snapshot_time {
        Some(text) => {
            Timestamp::parse(text).with_context(|| format!("--snapshot-time {text:?} is not an RFC 3339 time"))?
        }
        None => Timestamp::from_datetime(time::OffsetDateTime::now_utc()),
    };
    let config = ClientConfig {
        tenant_id: args.tenant.clone(),
        cloud,
        credential: credential_spec(args.credential, &args.tenant)?,
        retry: args.retry.config(None),
        redirect_to_loopback: args.simulator,
    };
    let client = AzureClient::new(config).context("building the Azure client")?;
    let ctx = SnapshotContext { tenant_id: args.tenant.to_ascii_lowercase(), taken_at };
    let run = collect_tenant(&client, &ctx, &args.subscriptions, &args.out).await?;
    summary::print_run(&run, args.output == OutputFormat::Json, None)?;
    Ok(if run.failure_count() > 0 { exit::GAPS } else { exit::OK })
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

/// Collects one tenant and writes its package under `out`.
pub(crate) async fn collect_tenant(
    client: &AzureClient,
    ctx: &SnapshotContext,
    subscriptions: &[String],
    out: &Path,
) -> Result<TenantRun> {
    let mut tables = Tables::default();
    let subscriptions: Vec<String> = if subscriptions.is_empty() {
        discover_subscriptions(client, ctx, &mut tables).await?
    } else {
        subscriptions.iter().map(|s| s.trim().to_ascii_lowercase()).collect()
    };
    tracing::info!(tenant = %ctx.tenant_id, subscriptions = subscriptions.len(), "collecting");

    // Phase 1: resources, per subscription.
    let bar = progress(subscriptions.len() as u64, "storage accounts");
    let phase1: Vec<Tables> = futures::stream::iter(&subscriptions)
        .map(|s| {
            let bar = bar.clone();
            async move {
                let t = collect_storage::collect::collect_subscription(client, ctx, s).await;
                bar.inc(1);
                t
            }
        })
        .buffer_unordered(SUBSCRIPTION_CONCURRENCY)
        .collect()
        .await;
    bar.finish_and_clear();
    for t in phase1 {
        tables.append(t);
    }

    // Phase 2: every distinct vault and key, once.
    let demand = key_demand(&tables);
    let bar = progress(demand.len() as u64, "keys and vaults");
    let done = AtomicU64::new(0);
    let on_key_done = || {
        done.fetch_add(1, Ordering::Relaxed);
        bar.inc(1);
    };
    let vault_side = collect_vault::collect::collect(client, ctx, &subscriptions, &demand, &on_key_done).await;
    bar.finish_and_clear();
    tables.append(vault_side);
    tracing::info!(keys = done.load(Ordering::Relaxed), "vault phase done");

    tables.cmk_chain = evidence::chain::build_chain(&tables, ctx.taken_at);
    tables.sort_and_dedup();

    let mut writer = bundle::PackageWriter::create(out, &ctx.tenant_id, &ctx.snapshot_id())
        .with_context(|| format!("creating the package under {}", out.display()))?;
    writer.write_tables(&tables).context("writing tables")?;
    let written = writer.commit().context("committing the package")?;
    Ok(TenantRun { tables, package_dir: written.dir, files: written.files })
}
