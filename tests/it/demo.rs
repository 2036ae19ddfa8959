//! The demo end to end: the default scenario collected through the real SDK stack, its `cmk_chain` read back by
//! DuckDB with the facts each scenario account exists to show, every table read by pyarrow, raw evidence
//! traceable and free of secrets, and the same snapshot giving byte-identical files.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{SIM_SECRET, duckdb, package_dir, pyarrow_shape, python, run_binary};

const LIMIT: Duration = Duration::from_secs(180);
/// Tables of schema v1 (`cmk-evidence schema` lists them).
pub const TABLE_COUNT: usize = 21;
/// Documents every package carries beside its tables (listed in the manifest, so signed).
pub const DOCUMENTS: [&str; 2] = ["REPORT.md", "report.html"];

fn demo_json(out: &std::path::Path) -> Value {
    let out_str = out.to_str().expect("utf-8 temp path");
    let output = run_binary(&["demo", "--out", out_str, "--output", "json"], LIMIT);
    assert!(output.status.success(), "demo failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("demo --output json prints JSON")
}

/// `cmk_chain` keyed by resource name (storage accounts) or `"{name} {scope}"` (every other scope).
fn chain_by_name(package: &std::path::Path) -> BTreeMap<String, Value> {
    let sql = format!(
        "SELECT resource_name, resource_type, encryption_scope, key_via_resource_id, identity_principal_id, \
                identity_client_id, key_source, vault_kind, key_vault_uri, key_name, configured_key_version, \
                in_use_key_version, latest_key_version, in_use_is_latest, identity_type, federated_client_id, \
                identity_has_crypto_role, vault_soft_delete, vault_purge_protection, vault_rbac_authorization, \
                rotation_policy_present, key_enabled, chain_status, chain_gaps \
         FROM '{}/tables/cmk_chain.parquet'",
        package.display()
    );
    let key = |row: &Value| match row["encryption_scope"].as_str().unwrap_or_default() {
        "account" => row["resource_name"].as_str().unwrap_or_default().to_string(),
        scope => format!("{} {scope}", row["resource_name"].as_str().unwrap_or_default()),
    };
    duckdb(&sql).into_iter().map(|row| (key(&row), row)).collect()
}

#[test]
fn demo_chain_shows_every_link_for_every_scenario_account() {
    let out = tempfile::tempdir().expect("temp dir");
    let summary = demo_json(out.path());
    let package = package_dir(out.path());
    let chain = chain_by_name(&package);
    let names: Vec<&String> = chain.keys().collect();
    let storage = chain.values().filter(|r| r["resource_type"] == "Microsoft.Storage/storageAccounts").count();
    assert_eq!(storage, 10, "one chain row per storage account the reader can see: {names:?}");
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

    // Each distinct key is read once per collection however many accounts use it (two accounts share
    // cmk-storage-prod); the simulator counts both of the demo's collections (before and after its drill).
    let routes = &summary["demo"]["simulator"]["by_route"];
    let keys_read: u64 = crate::harness::package_dirs(out.path())
        .iter()
        .map(|p| {
            duckdb(&format!("SELECT count(*) AS n FROM '{}/tables/keys.parquet'", p.display()))[0]["n"]
                .as_u64()
                .unwrap_or(0)
        })
        .sum();
    let policy_reads = routes.as_object().map_or(0, |m| {
        m.iter().filter(|(k, _)| k.contains("rotation")).map(|(_, v)| v.as_u64().unwrap_or(0)).sum::<u64>()
    });
    assert!(keys_read >= 6, "keys read: {keys_read}");
    assert_eq!(policy_reads, keys_read, "one rotation-policy read per distinct key: {routes}");
}

/// Disks through their encryption set, VMs, AKS (node disks and etcd), SQL servers and managed instances, ACR
/// and ACI: each with the fact its scenario entry exists to show. Container Apps and App Service are
/// `not_supported`, never "missing CMK".
#[test]
fn demo_chain_covers_every_service_through_the_whole_chain() {
    let out = tempfile::tempdir().expect("temp dir");
    let summary = demo_json(out.path());
    let package = package_dir(out.path());
    let chain = chain_by_name(&package);
    let names: Vec<&String> = chain.keys().collect();
    let row = |name: &str| chain.get(name).unwrap_or_else(|| panic!("no cmk_chain row for {name}: {names:?}"));
    let cmk = |r: &Value, key: &str| {
        assert_eq!(r["key_source"], "customer_managed", "{r}");
        assert_eq!(r["key_name"], key, "{r}");
        assert_eq!(r["chain_status"], "complete", "{r}");
    };

    // A disk encryption set that follows the latest version, its identity holding the crypto role.
    let des = row("des-contoso-prod encryption_set");
    cmk(des, "cmk-disk-prod");
    assert!(des["configured_key_version"].is_null(), "{des}");
    assert_eq!(des["in_use_key_version"], "f5d3d9972d09123a0310dcbfbd3915df");
    assert_eq!(des["in_use_is_latest"], true);
    assert_eq!((&des["identity_type"], &des["identity_has_crypto_role"]), (&"system_assigned".into(), &true.into()));
    // Disks, the VM's disks and the AKS node disks take the set's key and identity.
    let des_id = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourcegroups/rg-compute-prod/providers/microsoft.compute/diskencryptionsets/des-contoso-prod";
    for name in [
        "vm-contoso-app01-osdisk disk",
        "vm-contoso-app01-data01 disk",
        "vm-contoso-app01 os_disk",
        "vm-contoso-app01 data_disk/lun=0",
        "aks-contoso-prod node_disks",
    ] {
        let r = row(name);
        cmk(r, "cmk-disk-prod");
        assert_eq!(r["key_via_resource_id"], des_id, "{name}: {r}");
        assert_eq!(r["identity_principal_id"], des["identity_principal_id"], "{name}");
        assert_eq!(r["identity_has_crypto_role"], true, "{name}");
    }
    // The pinned set whose user-assigned identity lacks the role, and its disk: the gap is visible on both.
    for name in ["des-contoso-legacy encryption_set", "disk-contoso-legacy-data01 disk"] {
        let r = row(name);
        cmk(r, "cmk-disk-legacy");
        assert_eq!(r["configured_key_version"], "77531d2938f63f3811cba370eda8deaf", "{name}");
        assert_eq!(r["in_use_is_latest"], false, "{name}");
        assert_eq!((&r["identity_type"], &r["identity_has_crypto_role"]), (&"user_assigned".into(), &false.into()));
    }
    // Azure Disk Encryption is not a customer-managed key at rest.
    assert_eq!(row("disk-contoso-legacy-ade01 disk")["key_source"], "microsoft_managed");
    assert_eq!(row("disk-contoso-scratch01 disk")["key_source"], "microsoft_managed");

    // AKS etcd secrets: KMS with a pinned version and the control-plane identity.
    let etcd = row("aks-contoso-prod etcd_secrets");
    cmk(etcd, "kms-aks-prod");
    assert_eq!(etcd["configured_key_version"], "309c663be79336a5c76d4b7d0ed95215");
    assert_eq!((&etcd["identity_type"], &etcd["identity_has_crypto_role"]), (&"user_assigned".into(), &true.into()));

    // SQL: a managed instance with a user-assigned identity that follows the latest version (role at key
    // scope), one with a system-assigned identity pinned behind the latest, and service-managed TDE.
    let mi = row("sqlmi-contoso-prod tde_protector");
    cmk(mi, "tde-sqlmi-prod");
    assert!(mi["configured_key_version"].is_null(), "{mi}");
    assert_eq!(mi["in_use_key_version"], "1ea14c3faabf146f7e3633c50e858f6a");
    assert_eq!((&mi["identity_type"], &mi["identity_has_crypto_role"]), (&"user_assigned".into(), &true.into()));
    let legacy = row("sqlmi-contoso-legacy tde_protector");
    cmk(legacy, "tde-sqlmi-legacy");
    assert_eq!(legacy["configured_key_version"], "6651076d782f2415b751571c71445410");
    assert_eq!((&legacy["identity_type"], &legacy["in_use_is_latest"]), (&"system_assigned".into(), &false.into()));
    let reporting = row("sql-contoso-reporting tde_protector");
    assert_eq!(
        (&reporting["key_source"], &reporting["chain_status"]),
        (&"microsoft_managed".into(), &"microsoft_managed".into())
    );

    // ACR: Premium with a versionless key (follows latest), identity named by client id; Basic on platform keys.
    let acr = row("acrcontosoprod registry");
    cmk(acr, "cmk-acr-prod");
    assert!(acr["configured_key_version"].is_null(), "{acr}");
    assert_eq!(acr["in_use_key_version"], "39c0f1e55923c7a6a0c53d0bbb9bc03a");
    assert_eq!(acr["identity_client_id"], "b8098bd0-c213-4193-b572-fa846dc6a35d");
    assert_eq!(acr["identity_has_crypto_role"], true);
    assert_eq!(row("acrcontosodev registry")["key_source"], "microsoft_managed");

    // ACI: a pinned Key Vault key, and a key in a Managed HSM (recorded as such; the findings issue flags it).
    let aci = row("aci-contoso-batch container_group");
    cmk(aci, "cmk-aci-batch");
    assert_eq!(aci["configured_key_version"], "9389f81084d963df46ea52965cb95975");
    assert_eq!(aci["identity_has_crypto_role"], true);
    let hsm = row("aci-contoso-hsm container_group");
    cmk(hsm, "cmk-hsm-aci");
    assert_eq!(hsm["vault_kind"], "managed_hsm");

    // Services without CMK at rest are facts, not gaps; everything else listed is `not_assessed`.
    let coverage = summary["coverage"].as_array().expect("coverage");
    let with = |status: &str, ty: &str| -> Vec<&str> {
        coverage
            .iter()
            .filter(|c| c["status"] == status && c["resource_type"] == ty)
            .filter_map(|c| c["resource_id"].as_str())
            .collect()
    };
    let environments = with("not_supported", "Microsoft.App/managedEnvironments");
    assert_eq!(environments.len(), 1, "{environments:?}");
    assert!(environments[0].ends_with("/cae-contoso-prod"));
    let sites = with("not_supported", "Microsoft.Web/sites");
    assert!(
        sites.iter().any(|s| s.ends_with("/app-contoso-portal"))
            && sites.iter().any(|s| s.ends_with("/func-contoso-jobs"))
    );
    assert!(!with("not_assessed", "Microsoft.Web/serverFarms").is_empty());
    assert!(coverage.iter().all(|c| !c["reason"].as_str().unwrap_or_default().contains("missing CMK")));

    // The set's rotation error and the Key Vault references are in their tables.
    let error = duckdb(&format!(
        "SELECT rotation_error FROM '{}/tables/cmk_bindings.parquet' WHERE resource_name = 'des-contoso-legacy'",
        package.display()
    ));
    assert!(error[0]["rotation_error"].as_str().unwrap_or_default().starts_with("ManagedServiceIdentityNotFound: "));
    let references = duckdb(&format!(
        "SELECT reference_kind, reference_name FROM '{}/tables/key_vault_references.parquet' ORDER BY 1, 2",
        package.display()
    ));
    let references: Vec<String> = references
        .iter()
        .map(|r| {
            format!("{} {}", r["reference_kind"].as_str().unwrap_or(""), r["reference_name"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(references, ["certificate portal-contoso-com", "secret secret/db-connection"]);
}

#[test]
fn every_table_reads_in_pyarrow_and_raw_evidence_is_traceable_and_secret_free() {
    let out = tempfile::tempdir().expect("temp dir");
    let summary = demo_json(out.path());
    let package = package_dir(out.path());
    let files = summary["files"].as_array().expect("files");
    assert_eq!(files.len(), TABLE_COUNT + DOCUMENTS.len(), "every table is written, empty or not, and the report");
    let tables = files.iter().filter(|f| f["table"].as_str().is_some_and(|t| !t.is_empty())).count();
    assert_eq!(tables, TABLE_COUNT);
    assert_eq!(
        summary["demo"]["verify"]["problems"].as_array().map(Vec::len),
        Some(0),
        "{}",
        summary["demo"]["verify"]
    );
    for file in files.iter().filter(|f| f["table"].as_str().is_some_and(|t| !t.is_empty())) {
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
