//! Resilience against the `faults` scenario: throttling with `Retry-After: 600`, 503s, a response slower than
//! the per-try timeout, truncated JSON, 403 and 500 answers. Each ends in a retry that succeeds or a coverage
//! row naming the request — never a panic, a hang, or a silently missing resource.

use std::time::Duration;

use serde_json::Value;

use crate::harness::{package_dir, run_binary};

fn coverage_rows<'a>(summary: &'a Value, resource_type: &str) -> Vec<&'a Value> {
    summary["coverage"]
        .as_array()
        .map(|rows| rows.iter().filter(|r| r["resource_type"] == resource_type).collect())
        .unwrap_or_default()
}

#[test]
fn every_fault_ends_in_a_successful_retry_or_a_coverage_row() {
    let out = tempfile::tempdir().expect("temp dir");
    // The scenario answers 429 with Retry-After: 600 twice: with the cap (2 s in the demo) this finishes in
    // seconds; without it, it would sleep 20 minutes and the time limit below would fail the test.
    let output = run_binary(
        &[
            "demo",
            "--scenario",
            "faults",
            "--per-try-timeout",
            "2",
            // The scenario's faults sit on ARM list paths; Resource Graph failures are tested in discovery.rs.
            "--discovery",
            "arm",
            "--out",
            out.path().to_str().expect("utf-8"),
            "--output",
            "json",
        ],
        Duration::from_secs(240),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "demo --scenario faults failed: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let summary: Value = serde_json::from_slice(&output.stdout).expect("JSON summary");
    package_dir(out.path());

    let sim = &summary["demo"]["simulator"];
    assert!(sim["throttled_429"].as_u64().unwrap_or(0) >= 2, "the throttle fault fired: {sim}");
    assert!(sim["faults_injected"].as_u64().unwrap_or(0) >= 8, "{sim}");

    // Throttled twice, 503 twice, slow once: all recovered by retrying, so no storage account is missing.
    let chain = summary["cmk_chain"].as_array().expect("cmk_chain");
    let storage = chain.iter().filter(|r| r["resource_type"] == "Microsoft.Storage/storageAccounts").count();
    assert_eq!(storage, 10, "no storage account lost to transient faults");
    assert!(coverage_rows(&summary, "Microsoft.Storage/storageAccounts").iter().all(|r| r["status"] == "denied"));

    // 403 on one subscription's vault list: a denied row with Azure's code, not "no vaults".
    let vault_rows = coverage_rows(&summary, "Microsoft.KeyVault/vaults");
    assert!(
        vault_rows.iter().any(|r| r["status"] == "denied"
            && r["http_status"] == 403
            && r["error_code"] == "AuthorizationFailed"
            && r["subscription_id"] == "8a119b9e-16bc-4732-8f7b-7676d015b0dc"),
        "{vault_rows:?}"
    );

    // 500 on the legacy key's rotation policy: an error row naming the request; the chain names the gap.
    let policy_rows = coverage_rows(&summary, "Microsoft.KeyVault/vaults/keys/rotationpolicy");
    assert!(
        policy_rows.iter().any(|r| r["status"] == "error"
            && r["http_status"] == 500
            && r["request_url"].as_str().is_some_and(|u| u.ends_with("/rotationpolicy"))),
        "{policy_rows:?}"
    );
    let legacy = chain.iter().find(|r| r["resource_name"] == "stcontosolegacy").expect("legacy row");
    assert!(legacy["rotation_policy_present"].is_null());
    assert!(legacy["chain_gaps"].to_string().contains("rotation_policy_not_read"), "{legacy}");

    // Truncated JSON in the data-lake key's version list: an error row, and the version in use is still
    // read directly, so the chain keeps its enabled state.
    let version_rows = coverage_rows(&summary, "Microsoft.KeyVault/vaults/keys/versions");
    assert!(version_rows.iter().any(|r| r["status"] == "error"), "{version_rows:?}");
    let datalake = chain.iter().find(|r| r["resource_name"] == "stcontosodatalake").expect("datalake row");
    assert_eq!(datalake["key_enabled"], true, "{datalake}");
}

#[test]
fn collect_without_credentials_fails_with_a_clear_error_and_writes_nothing() {
    let out = tempfile::tempdir().expect("temp dir");
    let output = run_binary(
        &[
            "collect",
            "--tenant",
            "00000000-0000-0000-0000-000000000000",
            "--credential",
            "client-secret",
            "--out",
            out.path().to_str().expect("utf-8"),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("AZURE_CLIENT_ID") || stderr.contains("AZURE_CLIENT_SECRET"), "{stderr}");
    assert_eq!(std::fs::read_dir(out.path()).expect("out dir").count(), 0);
}
