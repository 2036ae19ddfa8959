//! What the user reads after a run: the package location, row counts, the CMK chain of every resource in a
//! compact table, and the coverage gaps; or the same as one JSON document. Also the schema reference.

use anyhow::Result;
use std::collections::BTreeMap;

use evidence::CmkChainRow;
use evidence::vocab::CoverageStatus;

use crate::run::TenantRun;

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "?",
    }
}

fn short(s: Option<&str>, max: usize) -> String {
    let s = s.unwrap_or("-");
    if s.chars().count() <= max { s.to_string() } else { format!("{}…", s.chars().take(max - 1).collect::<String>()) }
}

fn vault_name(c: &CmkChainRow) -> Option<String> {
    c.key_vault_uri.as_deref().map(|u| u.trim_start_matches("https://").split('.').next().unwrap_or(u).to_string())
}

/// Chain rows the text summary shows; the rest are in the package (`cmk_chain.parquet`, the report).
const CHAIN_ROWS_SHOWN: usize = 200;

/// The JSON document of a run, serialised straight from the rows (a 100k-binding run would need gigabytes as a
/// `serde_json::Value` tree).
#[derive(serde::Serialize)]
struct RunDocument<'a> {
    package: &'a std::path::Path,
    files: &'a [bundle::WrittenFile],
    cmk_chain: &'a [CmkChainRow],
    coverage: &'a [evidence::CoverageRow],
    collection_failures: usize,
    /// What azure-rest's limiter saw: 429s, 503s, retries, pauses and quota waits per scope kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    throttling: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timings: Option<crate::run::Timings>,
    #[serde(flatten)]
    extra: BTreeMap<&'a str, serde_json::Value>,
}

/// Prints the result of one tenant's run.
/// `extra` is merged into the JSON document (the demo adds the simulator's request counts).
pub(crate) fn print_run(run: &TenantRun, json: bool, extra: Option<(&str, serde_json::Value)>) -> Result<()> {
    let t = &run.tables;
    let throttling = run.throttling.as_ref().map(ToString::to_string);
    if json {
        let doc = RunDocument {
            package: &run.package_dir,
            files: &run.files,
            cmk_chain: &t.cmk_chain,
            coverage: &t.coverage,
            collection_failures: run.failure_count(),
            throttling,
            timings: run.timings,
            extra: extra.into_iter().collect(),
        };
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        serde_json::to_writer_pretty(&mut out, &doc)?;
        std::io::Write::write_all(&mut out, b"\n")?;
        std::io::Write::flush(&mut out)?;
        return Ok(());
    }
    println!("Evidence package: {}", run.package_dir.display());
    // Counted as written: raw responses never stay in memory (they are spooled to disk while collecting).
    let counts: Vec<String> =
        run.files.iter().filter(|f| !f.table.is_empty()).map(|f| format!("{} {}", f.table, f.rows)).collect();
    println!("Rows: {}\n", counts.join(", "));
    if let Some(throttling) = &throttling {
        println!("Throttling: {}", throttling.replace('\n', "; "));
    }
    if let Some(t) = &run.timings {
        println!("Timing: collected in {:.1} s, package written in {:.1} s", t.collect_seconds, t.package_seconds);
    }
    println!();
    println!(
        "{:<24} {:<14} {:<10} {:<16} {:<14} {:<10} {:<10} {:<10} {:<5} {:<5} {:<5} CHAIN",
        "RESOURCE", "SCOPE", "KEYS", "VAULT", "KEY", "CONFIGURED", "IN USE", "LATEST", "ROLE", "SOFTD", "PURGE"
    );
    for c in t.cmk_chain.iter().take(CHAIN_ROWS_SHOWN) {
        let keys = match c.key_source.as_deref() {
            Some("customer_managed") => "CMK",
            Some("microsoft_managed") => "platform",
            Some(other) => other,
            None => "?",
        };
        let configured = match (&c.key_source, &c.configured_key_version) {
            (Some(s), None) if s == "customer_managed" && c.key_name.is_some() => "latest".to_string(),
            (_, v) => short(v.as_deref(), 10),
        };
        let chain = match &c.chain_gaps {
            Some(gaps) if !gaps.is_empty() => format!("{}: {}", c.chain_status, gaps.join(", ")),
            _ => c.chain_status.clone(),
        };
        let cmk = c.key_source.as_deref() == Some("customer_managed");
        let flag = |v: Option<bool>| if cmk { yes_no(v) } else { "-" };
        println!(
            "{:<24} {:<14} {:<10} {:<16} {:<14} {:<10} {:<10} {:<10} {:<5} {:<5} {:<5} {}",
            short(Some(&c.resource_name), 24),
            short(Some(&c.encryption_scope), 14),
            keys,
            short(vault_name(c).as_deref(), 16),
            short(c.key_name.as_deref(), 14),
            configured,
            short(c.in_use_key_version.as_deref(), 10),
            short(c.latest_key_version.as_deref(), 10),
            flag(c.identity_has_crypto_role),
            flag(c.vault_soft_delete),
            flag(c.vault_purge_protection),
            chain
        );
    }
    if t.cmk_chain.len() > CHAIN_ROWS_SHOWN {
        println!(
            "… and {} more bindings: every one is in tables/cmk_chain.parquet and report.html of the package.",
            t.cmk_chain.len() - CHAIN_ROWS_SHOWN
        );
    }
    print_coverage(&t.coverage);
    print_findings(&t.findings, &run.package_dir);
    println!(
        "\nROLE = identity holds a crypto role or access policy on the key; ? = could not be established (see CHAIN)."
    );
    Ok(())
}

/// The findings per severity and per rule, and where the details are.
fn print_findings(findings: &[evidence::FindingRow], package: &std::path::Path) {
    let mut by_severity: BTreeMap<diff::Severity, usize> = BTreeMap::new();
    let mut by_rule: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for f in findings {
        *by_severity.entry(f.severity.parse().unwrap_or(diff::Severity::Info)).or_default() += 1;
        *by_rule.entry((f.rule_id.as_str(), f.severity.as_str())).or_default() += 1;
    }
    let counts: Vec<String> = by_severity.iter().rev().map(|(s, n)| format!("{s} {n}")).collect();
    println!("\nFindings ({}): {}", findings.len(), if counts.is_empty() { "none".into() } else { counts.join(", ") });
    for ((rule, severity), n) in &by_rule {
        let title = findings::RULES.iter().find(|r| r.id == *rule).map_or("", |r| r.title);
        println!("  {rule} {severity:<8} ×{n:<3} {title}");
    }
    println!(
        "Details and fixes: cmk-evidence findings {p}   Report: {p}/report.html (and REPORT.md)",
        p = package.display()
    );
}

/// Coverage in three parts: services without CMK at rest (each named: an auditor asks about them), resources
/// of types this version does not assess (counted per type), and collection failures (each with its reason).
fn print_coverage(coverage: &[evidence::CoverageRow]) {
    let is = |c: &&evidence::CoverageRow, status: CoverageStatus| CoverageStatus::parse(&c.status) == Some(status);
    let line = |c: &evidence::CoverageRow| {
        let target = c.resource_id.as_deref().or(c.subscription_id.as_deref()).unwrap_or("-");
        println!("  {:<13} {:<40} {}", c.status, short(Some(&c.resource_type), 40), target);
        // The full reason (Azure's whole message) is in the coverage table; its first line is enough here.
        println!("                {}", c.reason.lines().next().unwrap_or_default());
    };
    let unsupported: Vec<_> = coverage.iter().filter(|c| is(c, CoverageStatus::NotSupported)).collect();
    if !unsupported.is_empty() {
        println!("\nNo customer-managed key possible ({}):", unsupported.len());
        unsupported.into_iter().for_each(line);
    }
    let mut not_assessed: BTreeMap<&str, usize> = BTreeMap::new();
    for c in coverage.iter().filter(|c| is(c, CoverageStatus::NotAssessed)) {
        *not_assessed.entry(c.resource_type.as_str()).or_default() += 1;
    }
    if !not_assessed.is_empty() {
        let types: Vec<String> = not_assessed.iter().map(|(t, n)| format!("{t} ×{n}")).collect();
        println!("\nNot assessed ({} resources): {}", not_assessed.values().sum::<usize>(), types.join(", "));
    }
    let failures: Vec<_> = coverage
        .iter()
        .filter(|c| !is(c, CoverageStatus::NotSupported) && !is(c, CoverageStatus::NotAssessed))
        .collect();
    if failures.is_empty() {
        println!("\nCollection: complete — every request succeeded.");
        return;
    }
    println!("\nCollection gaps ({}):", failures.len());
    // A subscription the reader may not see fails every list the same way: one line says it.
    let mut whole_subscription: BTreeMap<(&str, &str, Option<&str>), Vec<&str>> = BTreeMap::new();
    for c in &failures {
        if let (None, Some(sub)) = (&c.resource_id, &c.subscription_id) {
            let key = (c.status.as_str(), sub.as_str(), c.error_code.as_deref());
            whole_subscription.entry(key).or_default().push(c.resource_type.as_str());
        }
    }
    whole_subscription.retain(|_, types| types.len() > 1);
    for ((status, sub, code), types) in &whole_subscription {
        println!(
            "  {status:<13} subscription {sub}: {} lists failed ({})",
            types.len(),
            code.unwrap_or("no error code")
        );
        println!("                {}", types.join(", "));
    }
    let grouped = |c: &evidence::CoverageRow| {
        c.resource_id.is_none()
            && c.subscription_id
                .as_deref()
                .is_some_and(|sub| whole_subscription.contains_key(&(c.status.as_str(), sub, c.error_code.as_deref())))
    };
    failures.into_iter().filter(|c| !grouped(c)).for_each(line);
}

/// Prints every table's columns and what each proves.
pub(crate) fn print_schema(markdown: bool) {
    for (name, version, description, schema) in evidence::all_schemas() {
        if markdown {
            println!(
                "### `{name}` (schema v{version})\n\n{description}\n\n| column | type | nullable | meaning |\n|---|---|---|---|"
            );
        } else {
            println!("{name} (schema v{version}): {description}");
        }
        for field in schema.fields() {
            let doc = field.metadata().get("description").map(String::as_str).unwrap_or("");
            if markdown {
                println!(
                    "| `{}` | {} | {} | {} |",
                    field.name(),
                    field.data_type(),
                    if field.is_nullable() { "yes" } else { "no" },
                    doc
                );
            } else {
                println!("  {:<34} {:<28} {}", field.name(), field.data_type().to_string(), doc);
            }
        }
        println!();
    }
}
