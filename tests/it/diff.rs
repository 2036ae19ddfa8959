//! `diff` end to end: two packages of the simulated estate, taken before and after a change, compared by the
//! binary; the classes are read back from `diff.parquet` with DuckDB. Every binding class has a scenario here:
//! the default drill (rotations, a pinned resource, the seed 003 mistake), a drill of access and protection
//! changes, and two different estates collected one after the other (added, removed, key, identity and key
//! source changes, and a list denied in the second collection).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::harness::{StandaloneSim, collect_from, collect_with, duckdb, package_dirs, pyarrow_shape, run_binary};

const LIMIT: Duration = Duration::from_secs(240);

/// Runs the demo (its drill gives two packages and their diff); returns the JSON summary.
fn demo(out: &Path, scenario: Option<&Path>) -> Value {
    let mut args = vec!["demo", "--out", out.to_str().expect("utf-8"), "--output", "json"];
    if let Some(s) = scenario {
        args.extend(["--scenario", s.to_str().expect("utf-8")]);
    }
    let o = run_binary(&args, LIMIT);
    assert!(o.status.success(), "demo failed: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("demo prints JSON")
}

/// `resource name [scope]` → class, for the binding rows of a diff.parquet.
fn classes(diff: &Path) -> BTreeMap<String, String> {
    duckdb(&format!(
        "SELECT regexp_extract(resource_id, '[^/]+$') || ' [' || encryption_scope || ']' AS k, class \
         FROM '{}' WHERE subject = 'binding'",
        diff.display()
    ))
    .into_iter()
    .map(|r| (r["k"].as_str().unwrap_or_default().to_string(), r["class"].as_str().unwrap_or_default().to_string()))
    .collect()
}

fn diff_parquet(summary: &Value) -> PathBuf {
    PathBuf::from(summary["demo"]["diff"]["diff_parquet"].as_str().expect("the demo wrote a diff"))
}

fn expect(classes: &BTreeMap<String, String>, key: &str, class: &str) {
    assert_eq!(classes.get(key).map(String::as_str), Some(class), "{key}; all: {classes:#?}");
}

#[test]
fn the_default_drill_shows_rotations_a_pinned_resource_and_the_seed_003_mistake() {
    let out = tempfile::tempdir().expect("temp dir");
    let summary = demo(out.path(), None);
    let diff = diff_parquet(&summary);
    let c = classes(&diff);
    expect(&c, "stcontosoprod01 [account]", "rotated");
    expect(&c, "des-contoso-prod [encryption_set]", "rotated");
    expect(&c, "vm-contoso-app01 [os_disk]", "rotated");
    expect(&c, "aks-contoso-prod [node_disks]", "rotated");
    expect(&c, "sqlmi-contoso-prod [tde_protector]", "rotated");
    // Inside Azure Storage's 24 h window, 3 h after the new version: pending, not stalled.
    expect(&c, "stcontosodatalake [account]", "rotation_pending");
    // ACR documents 1 h (seed 002): 3 h later it is stalled.
    expect(&c, "acrcontosoprod [registry]", "rotation_stalled");
    // Seed 003: the version stcontosoprod02 still uses was disabled before it adopted the new one.
    expect(&c, "stcontosoprod02 [account]", "old_version_disabled_in_use");
    // Pinned: its key was rotated, it stays on its version, and the diff says so.
    expect(&c, "stcontosofinance01 [account]", "unchanged");
    let pinned = duckdb(&format!(
        "SELECT before_in_use_key_version = after_in_use_key_version AS same, \
         array_to_string(changes, ' | ') LIKE '%pinned%' AS says \
         FROM '{}' WHERE resource_id LIKE '%/stcontosofinance01'",
        diff.display()
    ));
    assert_eq!((pinned[0]["same"].as_bool(), pinned[0]["says"].as_bool()), (Some(true), Some(true)), "{pinned:?}");
    // Cross-tenant key: nothing to compare on either side, never "unchanged".
    expect(&c, "stsaasfabrikam01 [account]", "not_comparable");

    // The disabled version is critical because a resource still uses it; the severity says so.
    let rows = duckdb(&format!(
        "SELECT subject, class, severity FROM '{}' WHERE severity = 'critical' ORDER BY subject",
        diff.display()
    ));
    let critical: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r["subject"].as_str().unwrap_or_default().into(), r["class"].as_str().unwrap_or_default().into()))
        .collect();
    assert_eq!(
        critical,
        [("binding".into(), "old_version_disabled_in_use".into()), ("key_version".into(), "version_disabled".into())]
    );
    let by_class = &summary["demo"]["diff"]["summary"]["by_class"];
    assert_eq!(by_class["rotated"], 8, "{by_class}");
    assert_eq!(summary["demo"]["diff"]["summary"]["bindings"], c.len());
    // pyarrow reads it too, every row.
    let (rows, columns) = pyarrow_shape(&diff);
    assert_eq!(rows, summary["demo"]["diff"]["rows"].as_u64().expect("rows"));
    assert!(columns.contains(&"before_in_use_key_version".to_string()) && columns.contains(&"class".to_string()));
    // The second package links to the first: the tenant's chain verifies.
    let packages = package_dirs(out.path());
    assert_eq!(packages.len(), 2);
    let public = out.path().join("demo-signing-key.pub.pem");
    let tenant = packages[0].parent().expect("tenant dir");
    let v = run_binary(
        &["verify", "--chain", tenant.to_str().expect("utf-8"), "--public-key", public.to_str().expect("utf-8")],
        LIMIT,
    );
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
}

#[test]
fn a_drill_of_access_and_protection_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("access.toml");
    std::fs::write(
        &scenario,
        r#"
extends = "default"

[[drill]]
# stcontosoprod01's identity loses Key Vault Crypto Service Encryption User on kv-contoso-prod.
action = "remove_role_assignment"
principal_id = "ac8efe12-1c59-49f1-ba2d-de83458bfed0"
scope = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-keys-prod/providers/Microsoft.KeyVault/vaults/kv-contoso-prod"
role = "e147488a-f6f5-4113-8e2d-b22465e65bf6"

[[drill]]
action = "set_vault"
vault = "kv-contoso-apps"
setting = "public_network_access"
value = "Enabled"

[[drill]]
action = "advance_clock"
by = "PT1H"
"#,
    )
    .expect("scenario");
    let out = dir.path().join("out");
    let summary = demo(&out, Some(&scenario));
    let diff = diff_parquet(&summary);
    let c = classes(&diff);
    expect(&c, "stcontosoprod01 [account]", "identity_changed");
    expect(&c, "acrcontosoprod [registry]", "protection_weakened");
    expect(&c, "aci-contoso-batch [container_group]", "protection_weakened");
    expect(&c, "stcontosoprod02 [account]", "rotation_pending");
    expect(&c, "stcontosologs [account]", "unchanged");
    let rows = duckdb(&format!(
        "SELECT subject, class, severity, array_to_string(changes, ' | ') AS changes FROM '{}' \
         WHERE subject <> 'binding' OR resource_id LIKE '%/stcontosoprod01' ORDER BY subject, class",
        diff.display()
    ));
    let find = |subject: &str, class: &str| {
        rows.iter()
            .find(|r| r["subject"] == subject && r["class"] == class)
            .unwrap_or_else(|| panic!("no {subject} {class} row in {rows:#?}"))
    };
    // A crypto role removed from an identity that still uses the key: critical, on both rows.
    assert_eq!(find("binding", "identity_changed")["severity"], "critical");
    let removed = find("role_assignment", "role_removed");
    assert_eq!(removed["severity"], "critical");
    assert!(removed["changes"].as_str().unwrap_or_default().contains("stcontosoprod01"), "{removed}");
    let vault = find("vault", "protection_weakened");
    assert_eq!(vault["severity"], "high");
    assert!(vault["changes"].as_str().unwrap_or_default().contains("vault_public_network_access: Disabled → Enabled"));

    // The gate: a critical row fails --fail-on critical (exit 1); JSON for machines.
    let packages = package_dirs(&out);
    let (before, after) = (packages[0].to_str().expect("utf-8"), packages[1].to_str().expect("utf-8"));
    let public = out.join("demo-signing-key.pub.pem");
    let gate = run_binary(
        &[
            "diff",
            before,
            after,
            "--fail-on",
            "critical",
            "--public-key",
            public.to_str().expect("utf-8"),
            "--output",
            "json",
        ],
        LIMIT,
    );
    assert_eq!(gate.status.code(), Some(1), "{}", String::from_utf8_lossy(&gate.stderr));
    let json: Value = serde_json::from_slice(&gate.stdout).expect("json");
    assert_eq!(json["summary"]["highest_severity"], "critical");
    assert!(json["diff_parquet"].is_null(), "no --out, no file");
}

/// A storage account of the second subscription-group `rg-diff`, with or without a customer-managed key.
fn account(name: &str, principal: &str, key: Option<&str>) -> String {
    let encryption = key.map_or_else(String::new, |key| {
        format!(
            "\n[storage_accounts.encryption]\nkey_source = \"Microsoft.Keyvault\"\n\
             key_vault_uri = \"https://kv-contoso-prod.vault.azure.net\"\nkey_name = \"{key}\"\n"
        )
    });
    format!(
        "\n[[storage_accounts]]\nid = \"/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-diff/providers/Microsoft.Storage/storageAccounts/{name}\"\n\
         location = \"westeurope\"\ncreated = \"2026-01-01T00:00:00Z\"\n\
         identity = {{ type = \"SystemAssigned\", principal_id = \"{principal}\" }}\n{encryption}"
    )
}

const P1: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const P2: &str = "aaaaaaaa-0000-4000-8000-000000000002";

#[test]
fn two_estates_collected_one_after_the_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let before = format!(
        "extends = \"default\"\n{}{}{}{}{}",
        account("stxremoved", P1, None),
        account("stxcmkon", P1, None),
        account("stxcmkoff", P1, Some("cmk-reports")),
        account("stxkey", P1, Some("cmk-reports")),
        account("stxident", P1, Some("cmk-reports")),
    );
    // Three hours later: other accounts, and the storage list of Contoso Shared Services denied.
    let after = format!(
        "extends = \"default\"\n[simulation]\nnow = \"2026-11-23T13:15:00Z\"\nadoption_delay = \"PT0S\"\n\
         [[faults]]\nname = \"shared-storage-denied\"\nkind = \"forbidden\"\nmethod = \"GET\"\n\
         path_contains = \"/subscriptions/8a119b9e-16bc-4732-8f7b-7676d015b0dc/providers/Microsoft.Storage/storageAccounts\"\n\
         {}{}{}{}{}",
        account("stxadded", P1, None),
        account("stxcmkon", P1, Some("cmk-reports")),
        account("stxcmkoff", P1, None),
        account("stxkey", P1, Some("cmk-finance")),
        account("stxident", P2, Some("cmk-reports")),
    );
    let (a, b) = (dir.path().join("before.toml"), dir.path().join("after.toml"));
    std::fs::write(&a, before).expect("before.toml");
    std::fs::write(&b, after).expect("after.toml");
    let out = dir.path().join("out");
    {
        let sim = StandaloneSim::start_with(a.to_str().expect("utf-8"));
        let o = collect_from(&sim, &out, "2026-11-23T10:15:00Z", None);
        assert!(matches!(o.status.code(), Some(0 | 3)), "{}", String::from_utf8_lossy(&o.stderr));
    }
    {
        // ARM discovery: the denial is a fault on the storage list, which Resource Graph does not go through (and
        // Graph would leave a denied type out silently; see ARCHITECTURE.md).
        let sim = StandaloneSim::start_with(b.to_str().expect("utf-8"));
        let o = collect_with(&sim, &out, "2026-11-23T13:15:00Z", None, "arm");
        assert_eq!(o.status.code(), Some(3), "the denied list is a gap: {}", String::from_utf8_lossy(&o.stderr));
    }
    let packages = package_dirs(&out);
    let (before, after) = (packages[0].to_str().expect("utf-8"), packages[1].to_str().expect("utf-8"));
    let diff_dir = dir.path().join("diff");
    let args = ["diff", before, after, "--out", diff_dir.to_str().expect("utf-8")];
    // Unsigned packages are refused by name unless asked for.
    let refused = run_binary(&args, LIMIT);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not signed"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let o = run_binary(&[&args[..], &["--allow-unsigned"]].concat(), LIMIT);
    let stdout = String::from_utf8_lossy(&o.stdout);
    // cmk_removed is high: the default --fail-on high fails.
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("Gate --fail-on high: FAIL"), "{stdout}");
    let c = classes(&diff_dir.join("diff.parquet"));
    expect(&c, "stxadded [account]", "added");
    expect(&c, "stxremoved [account]", "removed");
    expect(&c, "stxcmkon [account]", "cmk_enabled");
    expect(&c, "stxcmkoff [account]", "cmk_removed");
    expect(&c, "stxkey [account]", "key_changed");
    expect(&c, "stxident [account]", "identity_changed");
    // The denied list hides the shared subscription's accounts: not comparable, never removed.
    expect(&c, "stshareddiag01 [account]", "not_comparable");
    expect(&c, "stsaasfabrikam01 [account]", "not_comparable");
    let removed: Vec<&String> = c.iter().filter(|(_, v)| *v == "removed").map(|(k, _)| k).collect();
    assert_eq!(removed, ["stxremoved [account]"]);
    let summary: Value =
        serde_json::from_slice(&std::fs::read(diff_dir.join("diff-summary.json")).expect("summary")).expect("json");
    assert_eq!(summary["summary"]["by_class"]["added"], 1);
}

#[test]
fn a_tampered_or_misordered_package_is_not_compared() {
    let out = tempfile::tempdir().expect("temp dir");
    demo(out.path(), None);
    let packages = package_dirs(out.path());
    let (before, after) = (packages[0].to_str().expect("utf-8"), packages[1].to_str().expect("utf-8"));
    // The same package on both sides: nothing at high or above, exit 0.
    let same = run_binary(&["diff", before, before], LIMIT);
    assert_eq!(same.status.code(), Some(0), "{}", String::from_utf8_lossy(&same.stdout));
    let swapped = run_binary(&["diff", after, before], LIMIT);
    assert_eq!(swapped.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&swapped.stderr).contains("swap"), "{}", String::from_utf8_lossy(&swapped.stderr));
    // One byte of the after package's chain changed: it does not verify, and the error names the file.
    let chain = packages[1].join("tables/cmk_chain.parquet");
    let mut bytes = std::fs::read(&chain).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&chain, bytes).expect("write");
    let tampered = run_binary(&["diff", before, after], LIMIT);
    assert_eq!(tampered.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&tampered.stderr);
    assert!(stderr.contains("AFTER") && stderr.contains("tables/cmk_chain.parquet"), "{stderr}");
}
