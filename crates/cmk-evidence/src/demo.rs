//! `demo` and `sim`: the built-in Azure simulator, in-process for the demo (the real azure_core pipeline,
//! credential and Key Vault client talk to it on loopback) or standalone for `collect --simulator`.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use anyhow::{Context, Result};
use azure_rest::{AzureClient, ClientConfig, Cloud, CredentialSpec, RetryConfig};
use azure_sim::{Scenario, SimOptions};
use evidence::{SnapshotContext, Timestamp};

use crate::package::Signer;
use crate::{DemoArgs, EstateArgs, OutputFormat, SimArgs, exit, run, summary};

/// Items per page of the simulator's ARM lists: small for the hand-written scenarios, so paging is exercised;
/// Azure's usual 1,000 for generated estates.
fn page_size(estate: &EstateArgs) -> usize {
    match estate.resources {
        Some(_) => 1000,
        None => SimOptions::default().page_size,
    }
}

/// The generated estate `estate` asks for, else the scenario `name_or_path`; with Azure-like latency if asked.
fn load_estate(name_or_path: &str, estate: &EstateArgs) -> Result<Scenario> {
    let scenario = match estate.resources {
        Some(resources) => Scenario::generated(azure_sim::EstateSize {
            resources,
            keys: estate.keys,
            subscriptions: estate.subscriptions,
        }),
        None => load_scenario(name_or_path)?,
    };
    Ok(match estate.azure_latency {
        true => scenario.with_latency(azure_sim::Latency::azure_like()),
        false => scenario,
    })
}

fn load_scenario(name_or_path: &str) -> Result<Scenario> {
    let path = Path::new(name_or_path);
    if path.extension().is_some_and(|e| e == "toml") || path.is_file() {
        return Scenario::from_path(path).with_context(|| format!("loading scenario file {}", path.display()));
    }
    Scenario::builtin(name_or_path).with_context(|| {
        format!("unknown scenario {name_or_path:?}; built-in: {}", Scenario::builtin_names().join(", "))
    })
}

/// Client settings that reach the simulator at `addr` with the scenario's service principal.
pub(crate) fn simulator_client_config(scenario: &Scenario, addr: SocketAddr, retry: RetryConfig) -> ClientConfig {
    let (client_id, secret) = scenario.client_credentials();
    ClientConfig {
        tenant_id: scenario.tenant_id().to_string(),
        cloud: Cloud::public(),
        credential: CredentialSpec::ClientSecret { tenant_id: scenario.tenant_id().to_string(), client_id, secret },
        retry,
        redirect_to_loopback: Some(addr),
    }
}

pub(crate) async fn demo_command(args: DemoArgs) -> Result<u8> {
    let scenario = load_estate(&args.scenario, &args.estate)?;
    let ctx_at = |at: time::OffsetDateTime| SnapshotContext {
        tenant_id: scenario.tenant_id().to_ascii_lowercase(),
        taken_at: Timestamp::from_datetime(at),
    };
    let options = SimOptions { page_size: page_size(&args.estate), ..SimOptions::default() };
    let sim = azure_sim::start(scenario.clone(), options).await.context("starting the simulator")?;
    let client = AzureClient::new(simulator_client_config(&scenario, sim.addr(), args.retry.config(Some(2))))
        .context("building the Azure client")?;
    let signer = demo_signer(&args)?;
    let policy = crate::rules::policy(args.policy.as_deref())?;
    let first =
        run::collect_and_package(&client, &ctx_at(sim.clock()), &[], args.discovery, &args.out, &signer.0, &policy)
            .await;
    // The drill: the scenario's changes, then a second collection of the changed estate.
    let mut drill = Vec::new();
    let mut second = None;
    if first.is_ok() && !scenario.drill().is_empty() {
        let started = sim.clock();
        let mut applied = Ok(());
        for (i, step) in scenario.drill().iter().enumerate() {
            match sim.apply_drill_step(step) {
                Ok(line) => drill.push(line),
                Err(e) => {
                    applied =
                        Err(anyhow::anyhow!("drill step {} ({step}) of scenario {}: {e}", i + 1, scenario.origin()));
                    break;
                }
            }
        }
        if applied.is_ok() && sim.clock() == started {
            sim.advance_clock(time::Duration::minutes(1));
            drill.push("advanced the clock by 1 minute, so that the two snapshots have different ids".into());
        }
        second = Some(match applied {
            Ok(()) => {
                run::collect_and_package(
                    &client,
                    &ctx_at(sim.clock()),
                    &[],
                    args.discovery,
                    &args.out,
                    &signer.0,
                    &policy,
                )
                .await
            }
            Err(e) => Err(e),
        });
    }
    let stats = sim.stats();
    sim.shutdown().await;
    let first = first?;
    let second = second.transpose()?;

    // Verify what was just written, offline, against the key that signed it — as an auditor would.
    let trust = match &signer.1 {
        Some(public) => crate::verify::trust_anchors(std::slice::from_ref(public), &[])?,
        None => {
            crate::verify::trust_anchors(&[], &args.signing.sign_with_key_vault.iter().cloned().collect::<Vec<_>>())?
        }
    };
    let json = args.output == OutputFormat::Json;
    let verify = bundle::verify_package(&first.package_dir, &trust);
    let verify_after = second.as_ref().map(|r| bundle::verify_package(&r.package_dir, &trust));
    let compared = match &second {
        Some(after) => {
            let dir = args.out.join(format!("diff-{}-to-{}", snapshot_name(&first), snapshot_name(after)));
            Some(crate::compare::run_diff(&first.package_dir, &after.package_dir, trust.clone(), false, Some(&dir))?)
        }
        None => None,
    };
    let sim_stats = serde_json::json!({
        "requests": stats.requests,
        "token_requests": stats.token_requests,
        "unauthenticated_401": stats.unauthenticated_401,
        "throttled_429": stats.throttled_429,
        "faults_injected": stats.faults_injected,
        "by_route": stats.by_route,
    });
    let after_json = second.as_ref().map(|r| {
        serde_json::json!({
            "package": r.package_dir,
            "files": r.files,
            "cmk_chain_rows": r.tables.cmk_chain.len(),
            "collection_failures": r.failure_count(),
        })
    });
    let extra = serde_json::json!({
        "simulator": sim_stats,
        "verify": verify,
        "drill": drill,
        "after": after_json,
        "verify_after": verify_after,
        "diff": compared,
    });
    summary::print_run(&first, json, Some(("demo", extra)))?;
    if !json {
        print_drill(&drill, second.as_ref(), compared.as_ref());
        println!();
        match &signer.1 {
            Some(public) => {
                println!("Signed with the demo key {} (public key {}).", signer.2, public.display());
                println!(
                    "Check it yourself: (cd {p} && sha256sum -c SHA256SUMS) && openssl pkeyutl -verify -pubin -inkey {k} -rawin -in {p}/manifest.json -sigfile {p}/manifest.sig",
                    p = first.package_dir.display(),
                    k = public.display()
                );
            }
            None => println!("Signed with Key Vault key {}.", signer.2),
        }
        crate::verify::report_package(&first.package_dir, &trust, false)?;
        if let Some(after) = &second {
            crate::verify::report_package(&after.package_dir, &trust, false)?;
        }
        println!(
            "\nSimulator: {} requests ({} token, {} answered 401 for challenge or auth, {} faults injected, {} throttled).",
            stats.requests, stats.token_requests, stats.unauthenticated_401, stats.faults_injected, stats.throttled_429
        );
        println!("Query it:  duckdb -c \"SELECT * FROM '{}/tables/cmk_chain.parquet'\"", first.package_dir.display());
        if let Some(path) = compared.as_ref().and_then(|c| c.diff_parquet.as_ref()) {
            println!(
                "           duckdb -c \"SELECT class, count(*) FROM '{}' WHERE subject = 'binding' GROUP BY 1\"",
                path.display()
            );
        }
    }
    // The demo's scenario includes deliberate gaps (a subscription without read access) and the drill its
    // deliberate mistakes; they are shown, not an error of the demo. A package that does not verify is.
    if !verify.holds() {
        anyhow::bail!("the package just written does not verify: {:?}", verify.problems);
    }
    if let Some(v) = verify_after.filter(|v| !v.holds()) {
        anyhow::bail!("the second package does not verify: {:?}", v.problems);
    }
    Ok(exit::OK)
}

fn snapshot_name(run: &run::TenantRun) -> String {
    run.package_dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
}

/// The drill, the second collection and the diff, for people.
fn print_drill(drill: &[String], second: Option<&run::TenantRun>, compared: Option<&crate::compare::DiffRun>) {
    let (Some(after), Some(compared)) = (second, compared) else { return };
    println!("\nDrill: the scenario's changes, applied to the simulator after the first collection:");
    for (i, line) in drill.iter().enumerate() {
        println!("  {}. {line}", i + 1);
    }
    println!(
        "\nSecond collection: {} ({} chain rows, {} collection failures).\n",
        after.package_dir.display(),
        after.tables.cmk_chain.len(),
        after.failure_count()
    );
    crate::compare::print_text(compared, None);
}

/// The demo signs with a Key Vault key of the simulator when asked, else with a local demo key kept beside the
/// packages (`<out>/demo-signing-key.pem`), made on first use. Returns the signer, the public key file (local
/// keys) and the key id.
fn demo_signer(args: &DemoArgs) -> Result<(Signer, Option<std::path::PathBuf>, String)> {
    if let Some(key_id) = &args.signing.sign_with_key_vault {
        let alg = args.signing.sign_algorithm.as_deref().unwrap_or("ES256");
        return Ok((Signer::from_options(None, Some(key_id), alg)?, None, key_id.clone()));
    }
    if let Some(path) = &args.signing.signing_key {
        let key = bundle::LocalSigningKey::read(path)?;
        let public = std::path::PathBuf::from(format!("{}.pub.pem", path.with_extension("").display()));
        let id = key.key_id();
        return Ok((Signer::Local(key), public.exists().then_some(public), id));
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let private = args.out.join("demo-signing-key.pem");
    let public = args.out.join("demo-signing-key.pub.pem");
    if !private.exists() {
        bundle::LocalSigningKey::generate().write(&private, &public)?;
    }
    let key = bundle::LocalSigningKey::read(&private)?;
    let id = key.key_id();
    Ok((Signer::Local(key), Some(public), id))
}

pub(crate) async fn sim_command(args: SimArgs) -> Result<u8> {
    let scenario = load_estate(&args.scenario, &args.estate)?;
    let options =
        SimOptions { bind: SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)), page_size: page_size(&args.estate) };
    let sim = azure_sim::start(scenario.clone(), options).await.context("starting the simulator")?;
    // The scenario's service principal is simulator-only test data, so printing its secret leaks nothing.
    let (client_id, secret) = scenario.client_credentials();
    println!(
        "Azure simulator listening on {} (scenario {:?}, tenant {}).",
        sim.addr(),
        scenario.origin(),
        scenario.tenant_id()
    );
    println!("Collect from it in another shell:\n");
    println!(
        "  export AZURE_TENANT_ID={} AZURE_CLIENT_ID={client_id} AZURE_CLIENT_SECRET={secret}",
        scenario.tenant_id()
    );
    println!(
        "  cmk-evidence collect --credential client-secret --simulator {} --snapshot-time {} --out out\n",
        sim.addr(),
        Timestamp::from_datetime(scenario.clock())
    );
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    let stats = sim.stats();
    sim.shutdown().await;
    println!(
        "Served {} requests ({} answered 429, {} faults).",
        stats.requests, stats.throttled_429, stats.faults_injected
    );
    let floor = stats.throttling_floor();
    if let Some(set_by) = &floor.set_by {
        println!(
            "Throttling floor (the least time Azure's quotas allow for what was served): {:.1} s, set by {} {} \
             ({} requests admitted, {} answered 429).",
            floor.wall_time.as_secs_f64(),
            set_by.kind.as_str(),
            set_by.key,
            set_by.admitted,
            set_by.throttled
        );
    }
    Ok(exit::OK)
}
