//! What the user reads after a run: the package location, row counts, the CMK chain of every resource in a
//! compact table, and the coverage gaps; or the same as one JSON document. Also the schema reference.

use anyhow::Result;
use evidence::CmkChainRow;

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

/// Prints the result of one tenant's run.
/// `extra` is merged into the JSON document (the demo adds the simulator's request counts).
pub(crate) fn print_run(run: &TenantRun, json: bool, extra: Option<(&str, serde_json::Value)>) -> Result<()> {
    let t = &run.tables;
    if json {
        let mut doc = serde_json::json!({
            "package": run.package_dir,
            "files": run.files,
            "cmk_chain": t.cmk_chain,
            "coverage": t.coverage,
            "collection_failures": run.failure_count(),
        });
        if let (Some((key, value)), Some(map)) = (extra, doc.as_object_mut()) {
            map.insert(key.to_string(), value);
        }
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!("Evidence package: {}", run.package_dir.display());
    let counts: Vec<String> = t.row_counts().iter().map(|(name, n)| format!("{name} {n}")).collect();
    println!("Rows: {}\n", counts.join(", "));
    println!(
        "{:<24} {:<10} {:<16} {:<14} {:<10} {:<10} {:<10} {:<5} {:<5} {:<5} CHAIN",
        "RESOURCE", "KEYS", "VAULT", "KEY", "CONFIGURED", "IN USE", "LATEST", "ROLE", "SOFTD", "PURGE"
    );
    for c in &t.cmk_chain {
        let keys = match c.key_source.as_deref() {
            Some("customer_managed") => "CMK",
            Some("microsoft_managed") => "platform",
            Some(other) => other,
            None => "?",
        };
        let configured = match (&c.key_source, &c.configured_key_version) {
            (Some(s), None) if s == "customer_managed" => "latest".to_string(),
            (_, v) => short(v.as_deref(), 10),
        };
        let chain = match &c.chain_gaps {
            Some(gaps) if !gaps.is_empty() => format!("{}: {}", c.chain_status, gaps.join(", ")),
            _ => c.chain_status.clone(),
        };
        let cmk = c.key_source.as_deref() == Some("customer_managed");
        let flag = |v: Option<bool>| if cmk { yes_no(v) } else { "-" };
        println!(
            "{:<24} {:<10} {:<16} {:<14} {:<10} {:<10} {:<10} {:<5} {:<5} {:<5} {}",
            short(Some(&c.resource_name), 24),
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
    if t.coverage.is_empty() {
        println!("\nCoverage: complete — every request succeeded.");
    } else {
        println!("\nCoverage gaps ({}):", t.coverage.len());
        for c in &t.coverage {
            let target = c.resource_id.as_deref().or(c.subscription_id.as_deref()).unwrap_or("-");
            println!("  {:<13} {:<40} {}", c.status, short(Some(&c.resource_type), 40), target);
            // The full reason (Azure's whole message) is in the coverage table; its first line is enough here.
            println!("                {}", c.reason.lines().next().unwrap_or_default());
        }
    }
    println!(
        "\nROLE = identity holds a crypto role or access policy on the key; ? = could not be established (see CHAIN)."
    );
    Ok(())
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
