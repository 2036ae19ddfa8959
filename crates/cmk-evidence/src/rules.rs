//! `findings`: what is wrong in a package, rule by rule, with the evidence and the fix — the `findings` table the
//! package carries, or the rules evaluated again over its tables with another `--policy`; `--fail-on` gates.

use std::path::Path;

use anyhow::{Context, Result};
use bundle::Manifest;
use diff::Severity;
use evidence::{FindingRow, Tables, Timestamp};

use crate::{FindingsArgs, OutputFormat, exit};

/// The policy from `--policy FILE`, or the built-in defaults.
pub(crate) fn policy(path: Option<&Path>) -> Result<findings::Policy> {
    match path {
        Some(path) => findings::Policy::from_path(path).with_context(|| format!("reading --policy {}", path.display())),
        None => Ok(findings::Policy::default()),
    }
}

/// Evaluates the rules over a snapshot's tables and stores the rows (sorted by `evaluate`) in `tables.findings`.
pub(crate) fn evaluate_into(tables: &mut Tables, policy: &findings::Policy, taken_at: Timestamp) {
    tables.findings = findings::evaluate(tables, policy, taken_at);
}

/// Every table of a package but `raw_responses` (the rules never read response bodies).
fn read_tables(dir: &Path) -> Result<Tables> {
    let mut tables = Tables::default();
    macro_rules! read_one {
        ($field:ident, $row:ty) => {
            if <$row as evidence::Table>::NAME != "raw_responses" {
                tables.$field = bundle::read_table::<$row>(dir)?;
            }
        };
    }
    evidence::for_each_table!(read_one);
    Ok(tables)
}

fn severity_of(row: &FindingRow) -> Severity {
    row.severity.parse().unwrap_or(Severity::Info)
}

/// `findings --list`: every rule, with the severity the policy gives it.
fn list_rules(policy_path: Option<&Path>) -> Result<u8> {
    let policy = policy(policy_path)?;
    for rule in findings::RULES {
        let severity =
            if policy.is_enabled(rule.id) { policy.severity(rule.id).unwrap_or(rule.default_severity) } else { "off" };
        println!("{} {:<8} {}\n               source: {}", rule.id, severity, rule.title, rule.source);
    }
    Ok(exit::OK)
}

pub(crate) fn findings_command(args: FindingsArgs) -> Result<u8> {
    let package = match (&args.package, args.list) {
        (_, true) => return list_rules(args.policy.as_deref()),
        (Some(package), false) => package.clone(),
        (None, false) => anyhow::bail!("say which package: cmk-evidence findings <package dir> (or --list)"),
    };
    let anchors = crate::verify::trust_anchors(&args.public_keys, &args.trusted_key_ids)?;
    let trust = crate::compare::trust_for(anchors, &package)?;
    crate::compare::check(&bundle::verify_package(&package, &trust.0), "the", args.allow_unsigned)?;
    let (manifest, _) = Manifest::read(&package)?;
    let mut rows: Vec<FindingRow> = match &args.policy {
        None => bundle::read_table(&package)?,
        Some(path) => {
            let policy = policy(Some(path))?;
            let mut tables = read_tables(&package)?;
            let taken_at = Timestamp::parse(&manifest.collection.snapshot_time)
                .with_context(|| format!("the manifest's snapshot_time {:?}", manifest.collection.snapshot_time))?;
            evaluate_into(&mut tables, &policy, taken_at);
            tables.findings
        }
    };
    // Highest severity first, then by rule and resource.
    rows.sort_by(|a, b| severity_of(b).cmp(&severity_of(a)).then_with(|| a.cmp(b)));
    let failing = args.fail_on.map(|t| rows.iter().filter(|r| severity_of(r) >= t).count()).unwrap_or(0);
    if args.output == OutputFormat::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "package": package,
                "tenant_id": manifest.tenant_id,
                "snapshot_id": manifest.snapshot_id,
                "policy": args.policy,
                "findings": rows,
            }))?
        );
    } else {
        print_text(&manifest, &rows, args.policy.as_deref());
        if let Some(threshold) = args.fail_on {
            if failing > 0 {
                println!("\nGate --fail-on {threshold}: FAIL ({failing} findings at {threshold} or above).");
            } else {
                println!("\nGate --fail-on {threshold}: pass.");
            }
        }
    }
    Ok(if failing > 0 { exit::GATE_FAIL } else { exit::OK })
}

fn print_text(manifest: &Manifest, rows: &[FindingRow], policy: Option<&Path>) {
    println!(
        "Findings of tenant {} at {} ({}):",
        manifest.tenant_id,
        manifest.snapshot_id,
        policy.map_or_else(|| "as recorded in the package".to_string(), |p| format!("policy {}", p.display()))
    );
    let mut counts: Vec<String> = Vec::new();
    for s in Severity::ALL.iter().rev() {
        let n = rows.iter().filter(|r| severity_of(r) == *s).count();
        if n > 0 {
            counts.push(format!("{s} {n}"));
        }
    }
    println!(
        "  {} findings{}\n",
        rows.len(),
        if counts.is_empty() { String::new() } else { format!(": {}", counts.join(", ")) }
    );
    for r in rows {
        let scope = if r.encryption_scope.is_empty() { String::new() } else { format!(" [{}]", r.encryption_scope) };
        println!("{:<8} {} {}{scope}", r.severity.to_uppercase(), r.rule_id, r.resource_id);
        println!("         {}", r.title);
        for e in &r.evidence {
            println!("         evidence: {e}");
        }
        println!("         source:   {}", r.source);
        println!("         fix:      {}\n", r.fix);
    }
}
