//! `import`: Microsoft's example responses, saved as files the way an auditor receives them, give the same rows
//! as collecting the same resources from the simulator (which serves those very documents); example files
//! with their request wrappers, a broken file and a stray text file import with each failure named.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::harness::{SIM_CLIENT_ID, SIM_SECRET, StandaloneSim, duckdb, package_dir, run_binary, run_binary_env};

const LIMIT: Duration = Duration::from_secs(180);
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/arm-examples");
/// Example folders of the services the collectors read.
const SERVICES: &[&str] = &[
    "app",
    "compute-diskrp",
    "compute-vm",
    "containerinstance",
    "containerregistry",
    "containerservice",
    "keyvault-mgmt",
    "sql",
    "storage",
];
/// The tenant and subscription the examples are moved into (their own ids are placeholders such as
/// `{subscription-id}`, which no URL can carry).
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const SUBSCRIPTION: &str = "5e1ec7ed-0000-4000-8000-00000000e1a1";
const SNAPSHOT: &str = "2026-11-23T10:15:00Z";
/// Types the collectors list or GET from ARM. Other example documents (agent pools, which `collect` reads from
/// the cluster's `agentPoolProfiles`; container group profiles; the 2019 singular DES type) are documents that
/// `collect` never asks for, so they cannot be part of the comparison.
const COLLECTED_TYPES: &[&str] = &[
    "microsoft.storage/storageaccounts",
    "microsoft.keyvault/vaults",
    "microsoft.compute/diskencryptionsets",
    "microsoft.compute/disks",
    "microsoft.compute/virtualmachines",
    "microsoft.containerservice/managedclusters",
    "microsoft.sql/servers",
    "microsoft.sql/managedinstances",
    "microsoft.sql/servers/encryptionprotector",
    "microsoft.sql/managedinstances/encryptionprotector",
    "microsoft.sql/servers/keys",
    "microsoft.sql/managedinstances/keys",
    "microsoft.containerregistry/registries",
    "microsoft.containerinstance/containergroups",
    "microsoft.app/managedenvironments",
    "microsoft.app/managedenvironments/certificates",
    "microsoft.app/containerapps",
];
/// Tables both sides must agree on, row for row.
const TABLES: &[&str] = &[
    "cmk_bindings",
    "storage_accounts",
    "key_vaults",
    "vault_access_policies",
    "disk_encryption_sets",
    "managed_disks",
    "virtual_machines",
    "aks_clusters",
    "sql_servers",
    "container_registries",
    "container_groups",
    "key_vault_references",
];

fn example_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for service in SERVICES {
        for version in std::fs::read_dir(Path::new(EXAMPLES).join(service)).expect("example folder") {
            for file in std::fs::read_dir(version.expect("entry").path()).expect("version folder") {
                let path = file.expect("entry").path();
                if path.extension().is_some_and(|e| e == "json") {
                    files.push(path);
                }
            }
        }
    }
    files.sort();
    files
}

/// The 200 (else 201) body of an example file: the request wrapper stripped.
fn body_of(example: &Value) -> Option<Value> {
    let responses = example.get("responses")?;
    ["200", "201"].iter().find_map(|code| responses.get(*code)?.get("body").cloned())
}

/// Moves a document into the test subscription and drops `{` `}` from placeholders, in every string.
fn relocate(value: &mut Value) {
    match value {
        Value::String(text) => {
            let mut parts: Vec<String> = text.split('/').map(str::to_string).collect();
            for i in 1..parts.len() {
                if parts[i - 1].eq_ignore_ascii_case("subscriptions") {
                    parts[i] = SUBSCRIPTION.to_string();
                }
            }
            *text = parts.join("/").replace(['{', '}'], "");
        }
        Value::Array(items) => items.iter_mut().for_each(relocate),
        Value::Object(map) => map.values_mut().for_each(relocate),
        _ => {}
    }
}

/// The document's `type`, else the one its id implies, lower case.
fn type_of(doc: &Value) -> Option<String> {
    let declared = doc.get("type").and_then(|t| t.as_str()).map(str::to_string);
    declared.or_else(|| evidence::ids::resource_type_of(doc.get("id")?.as_str()?)).map(|t| t.to_ascii_lowercase())
}

/// Writes one file per collectable example document (first of each id) into `dir`; returns how many. A child
/// document (SQL protector or key, environment certificate) is kept only with its parent: `collect` finds
/// children through their parent, while `import` also takes a lone `az sql mi tde-key show`.
fn write_documents(dir: &Path) -> usize {
    let mut docs: Vec<(String, Value)> = Vec::new();
    for path in example_files() {
        let example: Value = serde_json::from_slice(&std::fs::read(&path).expect("example")).expect("JSON");
        let Some(body) = body_of(&example) else { continue };
        let items = match body.get("value").and_then(|v| v.as_array()) {
            Some(items) => items.clone(),
            None => vec![body],
        };
        for mut doc in items {
            relocate(&mut doc);
            let Some(id) = doc.get("id").and_then(|v| v.as_str()).map(str::to_ascii_lowercase) else { continue };
            let collected = type_of(&doc).is_some_and(|t| COLLECTED_TYPES.contains(&t.as_str()));
            if collected && !docs.iter().any(|(seen, _)| *seen == id) {
                docs.push((id, doc));
            }
        }
    }
    let ids: BTreeSet<String> = docs.iter().map(|(id, _)| id.clone()).collect();
    let has_parent = |id: &str| {
        let segments: Vec<&str> = id.split('/').collect();
        let providers = segments.iter().rposition(|s| *s == "providers").unwrap_or(0);
        let top_level = segments.len() == providers + 4;
        top_level || ids.contains(&segments[..providers + 4].join("/"))
    };
    let mut written = 0;
    for (_, doc) in docs.iter().filter(|(id, _)| has_parent(id)) {
        written += 1;
        std::fs::write(dir.join(format!("{written:03}.json")), serde_json::to_vec_pretty(doc).expect("JSON"))
            .expect("write");
    }
    written
}

/// Rows of `table` in package `a` that package `b` lacks, compared on every column except the hashes of the
/// responses they were read from (a list page's bytes differ from a file's).
/// One difference is by design: `collect` reads a server's key list even when it is empty (`[]`), while an
/// empty list saved to a file names no server, so `import` cannot tell (null).
fn rows_missing(a: &Path, b: &Path, table: &str) -> Vec<Value> {
    let (a, b) = (a.join(format!("tables/{table}.parquet")), b.join(format!("tables/{table}.parquet")));
    let select = |path: &Path| {
        let source = if table == "sql_servers" {
            format!(
                "(SELECT * REPLACE (nullif(server_key_names, []) AS server_key_names, \
                 nullif(server_key_uris, []) AS server_key_uris) FROM '{}')",
                path.display()
            )
        } else {
            format!("'{}'", path.display())
        };
        format!("SELECT COLUMNS(lambda c: c NOT LIKE '%sha256') FROM {source}")
    };
    duckdb(&format!("{} EXCEPT ALL {}", select(&a), select(&b)))
}

#[test]
fn import_of_microsoft_examples_gives_the_rows_collect_reads_from_the_simulator() {
    let dir = tempfile::tempdir().expect("temp dir");
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).expect("mkdir");
    let written = write_documents(&docs);
    assert!(written >= 25, "only {written} example documents");

    // The simulator serves exactly those files.
    let mut scenario = format!(
        "[tenant]\nid = \"{TENANT}\"\ndisplay_name = \"Examples\"\ndefault_domain = \"examples.onmicrosoft.com\"\n\n\
         [credentials]\nclient_id = \"{SIM_CLIENT_ID}\"\nclient_secret = \"{SIM_SECRET}\"\n\
         object_id = \"a712755f-6cac-44d5-99d5-269512e74f7b\"\n\n[simulation]\nnow = \"{SNAPSHOT}\"\n\n\
         [[subscriptions]]\nid = \"{SUBSCRIPTION}\"\ndisplay_name = \"Examples\"\n"
    );
    for i in 1..=written {
        scenario.push_str(&format!("\n[[raw_resources]]\npath = \"docs/{i:03}.json\"\n"));
    }
    let scenario_file = dir.path().join("examples.toml");
    std::fs::write(&scenario_file, scenario).expect("scenario");
    let sim = StandaloneSim::start_with(scenario_file.to_str().expect("utf-8"));

    let collected_out = dir.path().join("collected");
    let args = [
        "collect",
        "--tenant",
        TENANT,
        "--credential",
        "client-secret",
        "--simulator",
        &sim.addr,
        "--snapshot-time",
        SNAPSHOT,
        "--max-retry-after",
        "1",
        // Microsoft's example files reuse resource ids (several `myDisk`s): ARM lists every document the simulator
        // holds, Resource Graph one row per id, as Azure would. Import reads every file, so compare with ARM.
        "--discovery",
        "arm",
        "--out",
        collected_out.to_str().expect("utf-8"),
    ];
    let o = run_binary_env(&args, &[("AZURE_CLIENT_ID", SIM_CLIENT_ID), ("AZURE_CLIENT_SECRET", SIM_SECRET)], LIMIT);
    // The examples' vaults are not in the simulator's data plane: collect records those gaps (exit 3).
    assert!(matches!(o.status.code(), Some(0 | 3)), "collect failed: {}", String::from_utf8_lossy(&o.stderr));

    let imported_out = dir.path().join("imported");
    let o = run_binary(
        &[
            "import",
            "--from",
            docs.to_str().expect("utf-8"),
            "--out",
            imported_out.to_str().expect("utf-8"),
            "--tenant",
            TENANT,
            "--snapshot-time",
            SNAPSHOT,
        ],
        LIMIT,
    );
    assert_eq!(o.status.code(), Some(0), "every file imports: {}", String::from_utf8_lossy(&o.stderr));

    let (collected, imported) = (package_dir(&collected_out), package_dir(&imported_out));
    for table in TABLES {
        let only_collected = rows_missing(&collected, &imported, table);
        let only_imported = rows_missing(&imported, &collected, table);
        assert!(
            only_collected.is_empty() && only_imported.is_empty(),
            "{table} differs\nonly collected: {only_collected:#?}\nonly imported: {only_imported:#?}"
        );
    }
    // The comparison is about something: every service is there.
    let by_type = duckdb(&format!(
        "SELECT resource_type, count(*) AS n FROM '{}' GROUP BY 1 ORDER BY 1",
        imported.join("tables/cmk_bindings.parquet").display()
    ));
    let types: Vec<&str> = by_type.iter().filter_map(|r| r["resource_type"].as_str()).collect();
    for expected in [
        "Microsoft.Compute/diskEncryptionSets",
        "Microsoft.Compute/disks",
        "Microsoft.Compute/virtualMachines",
        "Microsoft.ContainerInstance/containerGroups",
        "Microsoft.ContainerRegistry/registries",
        "Microsoft.ContainerService/managedClusters",
        "Microsoft.Sql/managedInstances",
        "Microsoft.Sql/servers",
        "Microsoft.Storage/storageAccounts",
    ] {
        assert!(types.contains(&expected), "no {expected} binding: {by_type:?}");
    }
    let not_supported = duckdb(&format!(
        "SELECT count(*) AS n FROM '{}' WHERE status = 'not_supported' AND resource_type = 'Microsoft.App/managedEnvironments'",
        imported.join("tables/coverage.parquet").display()
    ));
    assert_eq!(not_supported[0]["n"], 1, "the Container Apps environment is not_supported");
}

#[test]
fn example_files_import_with_wrappers_and_unreadable_files_are_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let from = dir.path().join("from");
    std::fs::create_dir(&from).expect("mkdir");
    for (i, path) in example_files().iter().enumerate() {
        let name = format!("{i:03}-{}", path.file_name().expect("name").to_string_lossy());
        std::fs::copy(path, from.join(name)).expect("copy");
    }
    std::fs::write(from.join("truncated.json"), "{\"id\": \"/subscriptions/").expect("write");
    std::fs::write(from.join("README.txt"), "exported with az").expect("write");
    let out = dir.path().join("out");
    let o = run_binary(
        &["import", "--from", from.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8"), "--tenant", TENANT],
        LIMIT,
    );
    assert_eq!(o.status.code(), Some(3), "written, with files it could not read: exit 3");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("truncated.json: not valid JSON"), "{stderr}");
    assert!(stderr.contains("README.txt: not a .json file"), "{stderr}");
    let package = package_dir(&out);
    let chain = duckdb(&format!(
        "SELECT resource_type, encryption_scope, count(*) AS n FROM '{}' GROUP BY ALL ORDER BY ALL",
        package.join("tables/cmk_chain.parquet").display()
    ));
    let scopes: BTreeSet<String> = chain
        .iter()
        .map(|r| {
            format!("{} {}", r["resource_type"].as_str().unwrap_or(""), r["encryption_scope"].as_str().unwrap_or(""))
        })
        .collect();
    for expected in [
        "Microsoft.Compute/diskEncryptionSets encryption_set",
        "Microsoft.Compute/disks disk",
        "Microsoft.Compute/virtualMachines os_disk",
        "Microsoft.ContainerService/managedClusters node_disks",
        "Microsoft.ContainerService/managedClusters etcd_secrets",
        "Microsoft.Sql/servers tde_protector",
        "Microsoft.Sql/managedInstances tde_protector",
        "Microsoft.ContainerRegistry/registries registry",
        "Microsoft.ContainerInstance/containerGroups container_group",
        "Microsoft.Storage/storageAccounts account",
    ] {
        assert!(scopes.contains(expected), "no {expected} row in cmk_chain: {scopes:?}");
    }
    // The two unreadable files are coverage rows; the raw bytes of every file read are kept.
    let coverage = duckdb(&format!(
        "SELECT request_url FROM '{}' WHERE resource_type = 'import/file' ORDER BY 1",
        package.join("tables/coverage.parquet").display()
    ));
    let urls: Vec<&str> = coverage.iter().filter_map(|r| r["request_url"].as_str()).collect();
    assert_eq!(urls, ["file:README.txt", "file:truncated.json"]);
    let raw = duckdb(&format!(
        "SELECT count(*) AS n FROM '{}' WHERE method = 'FILE'",
        package.join("tables/raw_responses.parquet").display()
    ));
    assert_eq!(raw[0]["n"], example_files().len());
}
