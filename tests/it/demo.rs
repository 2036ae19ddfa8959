//! The demo end to end: the default scenario collected through the real SDK stack, its `cmk_chain` read back by
//! DuckDB with the facts each scenario account exists to show, every table read by pyarrow, raw evidence
//! traceable and free of secrets, and the same snapshot giving byte-identical files.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{SIM_SECRET, duckdb, package_dir, pyarrow_shape, python, run_binary};

const LIMIT: Duration = Duration::from_secs(180);

fn demo_json(out: &std::path::Path) -> Value {
    let out_str = out.to_str().expect("utf-8 temp path");
    let output = run_binary(&["demo", "--out", out_str, "--output", "json"], LIMIT);
    assert!(output.status.success(), "demo failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("demo --output json prints JSON")
}

fn chain_by_name(package: &std::path::Path) -> BTreeMap<String, Value> {
    let sql = format!(
        "SELECT resource_name, key_source, vault_kind, key_vault_uri, key_name, configured_key_version, \
                in_use_key_version, latest_key_version, in_use_is_latest, identity_type, federated_client_id, \
                identity_has_crypto_role, vault_soft_delete, vault_purge_protection, vault_rbac_authorization, \
                rotation_policy_present, key_enabled, chain_status, chain_gaps \
         FROM '{}/tables/cmk_chain.parquet'",
        package.display()
    );
    duckdb(&sql).into_iter().map(|row| (row["resource_name"].as_str().unwrap_or_default().to_string(), row)).collect()
}

#[test]
fn demo_chain_shows_every_link_for_every_scenario_account() {
    let out = tempfile::tempdir().expect("temp dir");
    let summary = demo_json(out.path());
    let package = package_dir(out.path());
    let chain = chain_by_name(&package);
    let names: Vec<&String> = chain.keys().collect();
    assert_eq!(chain.len(), 10, "one chain row per storage account the reader can see: {names:?}");
    let row = |name: &str| chain.get(name).unwrap_or_else(|| panic!("no cmk_chain row for {name}: {names:?}"));

    // Follows the latest version, already on it, crypto role at vault scope, vault fully protected.
    let prod01 = row("stcontosoprod01");
    assert_eq!(prod01["key_source"], "customer_managed");
    assert_eq!(prod01["key_vault_uri"], "https://kv-contoso-prod.vault.azure.net/");
    assert_eq!(prod01["key_name"], "cmk-storage-prod");
    assert!(prod01["configured_key_version"].is_null(), "follows latest: {prod01}");
    assert_eq!(prod01["in_use_key_version"], prod01["latest_key_version"]);
    assert_eq!(prod01["in_use_is_latest"], true);
    assert_eq!(prod01["identity_type"], "system_assigned");
    assert_eq!(prod01["identity_has_crypto_role"], true);
    assert_eq!(prod01["vault_soft_delete"], true);
    assert_eq!(prod01["vault_purge_protection"], true);
    assert_eq!(prod01["rotation_policy_present"], true);
    assert_eq!(prod01["chain_status"], "complete");

    // Same key, not yet on the newest version; role granted at key scope.
    let prod02 = row("stcontosoprod02");
    assert!(prod02["configured_key_version"].is_null());
    assert_eq!(prod02["in_use_is_latest"], false);
    assert_ne!(prod02["in_use_key_version"], prod02["latest_key_version"]);
    assert_eq!(prod02["identity_has_crypto_role"], true);

    // Pinned to an old version.
    let finance = row("stcontosofinance01");
    assert!(finance["configured_key_version"].is_string(), "pinned: {finance}");
    assert_eq!(finance["in_use_key_version"], finance["configured_key_version"]);
    assert_eq!(finance["in_use_is_latest"], false);
    assert_eq!(finance["key_enabled"], true);

    // CMK configured, identity without any crypto role: false, not unknown.
    let reports = row("stcontosoreports");
    assert_eq!(reports["identity_has_crypto_role"], false);
    assert_eq!(reports["chain_status"], "complete");

    // User-assigned identity.
    assert_eq!(row("stcontosodatalake")["identity_type"], "user_assigned");
    assert_eq!(row("stcontosodatalake")["identity_has_crypto_role"], true);

    // Vault without purge protection: Azure omits the property, so it is null — never false.
    let legacy = row("stcontosolegacy");
    assert!(legacy["vault_purge_protection"].is_null(), "absent must stay null: {legacy}");
    assert_eq!(legacy["vault_rbac_authorization"], false);
    assert_eq!(legacy["identity_has_crypto_role"], true, "granted by access policy");

    // Microsoft-managed keys.
    assert_eq!(row("stcontosologs")["key_source"], "microsoft_managed");
    assert_eq!(row("stcontosologs")["chain_status"], "microsoft_managed");

    // Managed HSM key with local RBAC.
    let payments = row("stcontosopayments");
    assert_eq!(payments["vault_kind"], "managed_hsm");
    assert_eq!(payments["identity_has_crypto_role"], true);
    assert_eq!(payments["chain_status"], "complete");

    // Cross-tenant: federated client id kept, vault outside the tenant named as a gap.
    let saas = row("stsaasfabrikam01");
    assert_eq!(saas["federated_client_id"].as_str().map(str::len), Some(36));
    assert_eq!(saas["chain_status"], "incomplete");
    let gaps = saas["chain_gaps"].to_string();
    assert!(gaps.contains("cross_tenant_identity") && gaps.contains("vault_not_collected"), "{gaps}");

    // The sandbox subscription the reader may not see is a denied coverage row, not an empty subscription.
    let denied = duckdb(&format!(
        "SELECT count(*) AS n FROM '{}/tables/coverage.parquet' \
         WHERE status = 'denied' AND resource_type = 'Microsoft.Storage/storageAccounts' \
           AND http_status = 403 AND error_code = 'AuthorizationFailed'",
        package.display()
    ));
    assert_eq!(denied[0]["n"], 1);

    // Paging: the data-lake key has 30 versions, more than one Key Vault page of 25.
    let versions = duckdb(&format!(
        "SELECT count(*) AS n FROM '{}/tables/key_versions.parquet' WHERE key_name = 'cmk-datalake'",
        package.display()
    ));
    assert_eq!(versions[0]["n"], 30);

    // Each distinct key is read once however many accounts use it (two accounts share cmk-storage-prod).
    let routes = &summary["demo"]["simulator"]["by_route"];
    let keys_read = duckdb(&format!("SELECT count(*) AS n FROM '{}/tables/keys.parquet'", package.display()))[0]["n"]
        .as_u64()
        .unwrap_or(0);
    let policy_reads = routes.as_object().map_or(0, |m| {
        m.iter().filter(|(k, _)| k.contains("rotation")).map(|(_, v)| v.as_u64().unwrap_or(0)).sum::<u64>()
    });
    assert!(keys_read >= 6, "keys read: {keys_read}");
    assert_eq!(policy_reads, keys_read, "one rotation-policy read per distinct key: {routes}");
}

#[test]
fn every_table_reads_in_pyarrow_and_raw_evidence_is_traceable_and_secret_free() {
    let out = tempfile::tempdir().expect("temp dir");
    let summary = demo_json(out.path());
    let package = package_dir(out.path());
    let files = summary["files"].as_array().expect("files");
    assert_eq!(files.len(), 12, "every table is written, empty or not");
    assert_eq!(
        summary["demo"]["verify"]["problems"].as_array().map(Vec::len),
        Some(0),
        "{}",
        summary["demo"]["verify"]
    );
    for file in files {
        let path = package.join(file["path"].as_str().expect("path"));
        let (rows, columns) = pyarrow_shape(&path);
        assert_eq!(rows, file["rows"].as_u64().expect("rows"), "{}", path.display());
        assert!(columns.iter().any(|c| c == "tenant_id") && columns.iter().any(|c| c == "snapshot_id"));
        let bytes = std::fs::read(&path).expect("reading table");
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(SIM_SECRET), "{} contains the client secret", path.display());
        assert!(!text.contains("access_token"), "{} contains a token response", path.display());
    }

    // Every row points at a raw response that exists, and every raw body hashes to its recorded SHA-256.
    let dangling = duckdb(&format!(
        "SELECT count(*) AS n FROM '{p}/tables/cmk_chain.parquet' c \
         WHERE c.raw_response_sha256 NOT IN (SELECT sha256 FROM '{p}/tables/raw_responses.parquet')",
        p = package.display()
    ));
    assert_eq!(dangling[0]["n"], 0);
    let script = r#"
import pyarrow.parquet as pq, hashlib, sys
t = pq.read_table(sys.argv[1]).to_pylist()
bad = [r["url"] for r in t if hashlib.sha256(r["body"]).hexdigest() != r["sha256"]]
print(len(t), len(bad))
"#;
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(package.join("tables/raw_responses.parquet"))
        .output()
        .expect("python");
    let text = String::from_utf8_lossy(&out.stdout);
    let counts: Vec<u64> = text.split_whitespace().filter_map(|s| s.parse().ok()).collect();
    assert_eq!(counts.len(), 2, "python said: {text} {}", String::from_utf8_lossy(&out.stderr));
    assert!(counts[0] > 20, "raw responses recorded: {}", counts[0]);
    assert_eq!(counts[1], 0, "raw bodies whose SHA-256 does not match");
}

#[test]
fn the_same_snapshot_gives_byte_identical_tables() {
    let a = tempfile::tempdir().expect("temp dir");
    let b = tempfile::tempdir().expect("temp dir");
    let hashes = |summary: Value| -> Vec<(String, String)> {
        summary["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| (f["path"].as_str().unwrap_or_default().into(), f["sha256"].as_str().unwrap_or_default().into()))
            .collect()
    };
    assert_eq!(hashes(demo_json(a.path())), hashes(demo_json(b.path())));
}

#[test]
fn an_existing_package_is_never_overwritten() {
    let out = tempfile::tempdir().expect("temp dir");
    demo_json(out.path());
    let again = run_binary(&["demo", "--out", out.path().to_str().expect("utf-8")], LIMIT);
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already exists"), "{stderr}");
}
