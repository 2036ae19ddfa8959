//! Findings end to end: every rule fires on the resource of the simulated estate that has its problem, and
//! not on the healthy one beside it. The default estate carries most problems; `FINDINGS_SCENARIO` adds the
//! few it lacks (an expired version in use, a vault without soft delete, a principal holding both Owner and
//! Crypto Officer, a Standard registry on an EC key). Policy-dependent rules are checked by evaluating the
//! same package again with `findings --policy`.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{duckdb, package_dirs, run_binary};

const LIMIT: Duration = Duration::from_secs(240);
const SUB: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-findings/providers";

fn scenario() -> String {
    format!(
        r#"
extends = "default"

[[vaults]]
id = "{SUB}/Microsoft.KeyVault/vaults/kv-findings"
location = "westeurope"
soft_delete = false
purge_protection = false
rbac_authorization = true
public_network_access = "Enabled"

[[keys]]
vault = "kv-findings"
name = "cmk-expired"
kty = "RSA"
size = 2048
[[keys.versions]]
id = "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e01"
created = "2025-01-01T00:00:00Z"
expires = "2026-01-01T00:00:00Z"

[[keys]]
vault = "kv-findings"
name = "cmk-acr-ec"
kty = "EC"
curve = "P-256"
[[keys.versions]]
id = "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e02"
created = "2026-06-01T00:00:00Z"

[[storage_accounts]]
id = "{SUB}/Microsoft.Storage/storageAccounts/stfindexpired"
location = "westeurope"
created = "2025-01-02T00:00:00Z"
identity = {{ type = "SystemAssigned", principal_id = "f1f1f1f1-0000-4000-8000-000000000001" }}

[storage_accounts.encryption]
key_source = "Microsoft.Keyvault"
key_vault_uri = "https://kv-findings.vault.azure.net"
key_name = "cmk-expired"
key_version = "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e01"

[[container_registries]]
id = "{SUB}/Microsoft.ContainerRegistry/registries/acrfindings"
location = "westeurope"
sku = "Standard"
identity = {{ type = "UserAssigned", user_assigned = ["/subscriptions/8a119b9e-16bc-4732-8f7b-7676d015b0dc/resourceGroups/rg-identity-shared/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-acr-prod"] }}
key = {{ vault = "kv-findings", name = "cmk-acr-ec" }}
key_identity = "/subscriptions/8a119b9e-16bc-4732-8f7b-7676d015b0dc/resourceGroups/rg-identity-shared/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-acr-prod"

[[role_assignments]]
# Separation of duties: one principal is Owner of the subscription AND Crypto Officer on the vault.
scope = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732"
role = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
principal_id = "d0d0d0d0-0000-4000-8000-000000000009"
principal_type = "User"

[[role_assignments]]
scope = "{SUB}/Microsoft.KeyVault/vaults/kv-findings"
role = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
principal_id = "d0d0d0d0-0000-4000-8000-000000000009"
principal_type = "User"
"#
    )
}

/// `(rule, resource name)` of every finding in a findings.parquet or a `findings --output json` document.
fn fired_in_table(package: &Path) -> BTreeSet<(String, String)> {
    duckdb(&format!(
        "SELECT rule_id, regexp_extract(rtrim(resource_id, '/'), '[^/]+$') AS name FROM '{}/tables/findings.parquet'",
        package.display()
    ))
    .into_iter()
    .map(|r| (r["rule_id"].as_str().unwrap_or_default().into(), r["name"].as_str().unwrap_or_default().into()))
    .collect()
}

fn fired_in_json(doc: &Value) -> BTreeSet<(String, String)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let id = f["resource_id"].as_str().unwrap_or_default().trim_end_matches('/');
            (f["rule_id"].as_str().unwrap_or_default().into(), id.rsplit('/').next().unwrap_or_default().into())
        })
        .collect()
}

fn check(fired: &BTreeSet<(String, String)>, rule: &str, fires_on: &str, quiet_on: &str) {
    let on = |name: &str| fired.contains(&(rule.to_string(), name.to_string()));
    assert!(on(fires_on), "{rule} must fire on {fires_on}; fired: {fired:#?}");
    assert!(!on(quiet_on), "{rule} must not fire on {quiet_on}");
}

#[test]
fn every_rule_fires_on_its_problem_and_not_beside_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario_path = dir.path().join("findings.toml");
    std::fs::write(&scenario_path, scenario()).expect("scenario");
    let out = dir.path().join("out");
    let o = run_binary(
        &["demo", "--out", out.to_str().expect("utf-8"), "--scenario", scenario_path.to_str().expect("utf-8")],
        LIMIT,
    );
    assert!(o.status.success(), "demo failed: {}", String::from_utf8_lossy(&o.stderr));
    let packages = package_dirs(&out);
    let (first, second) = (&packages[0], &packages[1]);
    let fired = fired_in_table(first);

    check(&fired, "CMK001", "stcontosoreports", "stcontosoprod01");
    // The drill disables the version stcontosoprod02 uses: the second package says so, the first does not.
    check(&fired_in_table(second), "CMK002", "stcontosoprod02", "stcontosoprod01");
    assert!(!fired.contains(&("CMK002".into(), "stcontosoprod02".into())));
    check(&fired, "CMK003", "stfindexpired", "stcontosofinance01");
    check(&fired, "CMK005", "kv-contoso-legacy", "kv-contoso-prod");
    check(&fired, "CMK006", "kv-findings", "kv-contoso-prod");
    check(&fired, "CMK007", "cmk-legacy-app", "cmk-storage-prod");
    check(&fired, "CMK008", "cmk-legacy-app", "cmk-storage-prod");
    check(&fired, "CMK009", "kv-findings", "kv-contoso-prod");
    check(&fired, "CMK010", "kv-contoso-apps", "kv-contoso-prod");
    check(&fired, "CMK011", "acrfindings", "acrcontosoprod");
    check(&fired, "CMK012", "acrfindings", "acrcontosoprod");
    check(&fired, "CMK013", "sqlmi-contoso-legacy", "sqlmi-contoso-prod");
    check(&fired, "CMK014", "aci-contoso-hsm", "aci-contoso-batch");
    check(&fired, "CMK015", "des-contoso-legacy", "des-contoso-prod");
    check(&fired, "CMK016", "stcontosofinance01", "stcontosoprod01");
    check(&fired, "CMK018", "cae-contoso-prod", "stcontosoprod01");
    // Policy-dependent rules are off with the defaults ...
    assert!(!fired.iter().any(|(rule, _)| rule == "CMK017"), "no policy requires CMK by default");
    assert!(!fired.contains(&("CMK004".into(), "stcontosofinance01".into())), "38 days left is beyond 30");

    // ... and on when a policy asks: the same package, evaluated again.
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "require_cmk = [\"Microsoft.Storage/storageAccounts\"]\nexpiry_warning_days = 45\n[severity]\nCMK017 = \"critical\"\n",
    )
    .expect("policy");
    let pkg = first.to_str().expect("utf-8");
    let o = run_binary(
        &["findings", pkg, "--policy", policy.to_str().expect("utf-8"), "--output", "json", "--fail-on", "critical"],
        LIMIT,
    );
    assert_eq!(o.status.code(), Some(1), "a critical finding fails the gate: {}", String::from_utf8_lossy(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("json");
    let strict = fired_in_json(&doc);
    check(&strict, "CMK017", "stcontosologs", "stcontosoprod01");
    check(&strict, "CMK004", "stcontosofinance01", "stcontosoprod01");
    let severity = doc["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["rule_id"] == "CMK017"))
        .map(|f| f["severity"].clone());
    assert_eq!(severity, Some(Value::from("critical")), "the policy sets the severity");

    // Text output names the fix; without --fail-on the exit code is 0.
    let o = run_binary(&["findings", pkg], LIMIT);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("az role assignment create") && text.contains("CMK001"), "{text}");
    // A broken policy is an error that names the file and line.
    std::fs::write(&policy, "require_cmk = []\nmax_key_age = 3\n").expect("policy");
    let o = run_binary(&["findings", pkg, "--policy", policy.to_str().expect("utf-8")], LIMIT);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("policy.toml") && stderr.contains(":2"), "{stderr}");
}
