//! `--discovery graph` (the default) against `--discovery arm` on the same simulated estate: every evidence table
//! must hold the same rows either way, except where a row points at the response it was read from (Graph pages are
//! other responses than ARM list pages). Also: Graph really is used, and when Graph fails the subscriptions fall
//! back to ARM without losing a row.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::{SIM_CLIENT_ID, SIM_SECRET, SIM_TENANT, StandaloneSim, duckdb, package_dir, run_binary_env};

const TIME: &str = "2026-11-23T10:15:00Z";

/// Columns that name the response a row was read from, or the request that failed: they differ by discovery.
const SOURCE_COLUMNS: &[&str] = &["raw_response_sha256", "request_url"];

fn collect(sim: &StandaloneSim, out: &Path, discovery: &str) -> PathBuf {
    let out_text = out.to_str().expect("utf-8");
    let args = [
        "collect",
        "--tenant",
        SIM_TENANT,
        "--credential",
        "client-secret",
        "--simulator",
        &sim.addr,
        "--snapshot-time",
        TIME,
        "--max-retry-after",
        "2",
        "--discovery",
        discovery,
        "--out",
        out_text,
    ];
    let env = [("AZURE_CLIENT_ID", SIM_CLIENT_ID), ("AZURE_CLIENT_SECRET", SIM_SECRET)];
    let o = run_binary_env(&args, &env, Duration::from_secs(120));
    // 0 = complete, 3 = written with coverage gaps (the default estate has some on purpose).
    assert!(
        matches!(o.status.code(), Some(0 | 3)),
        "collect --discovery {discovery} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    package_dir(out)
}

/// Table files of a package, but `raw_responses` (its rows are the responses, which differ by design).
fn evidence_tables(package: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(package.join("tables"))
        .expect("tables dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".parquet") && n != "raw_responses.parquet")
        .collect();
    names.sort();
    names
}

/// Rows of `table` in `a` that `b` lacks (multiset difference), with the source columns left out.
fn rows_only_in(a: &Path, b: &Path, table: &str) -> Vec<serde_json::Value> {
    let columns = duckdb(&format!("DESCRIBE SELECT * FROM '{}'", a.join("tables").join(table).display()));
    let excluded: Vec<&str> = SOURCE_COLUMNS
        .iter()
        .copied()
        .filter(|c| columns.iter().any(|col| col["column_name"].as_str() == Some(c)))
        .collect();
    let select = |p: &Path| {
        let from = p.join("tables").join(table);
        match excluded.is_empty() {
            true => format!("SELECT * FROM '{}'", from.display()),
            false => format!("SELECT * EXCLUDE ({}) FROM '{}'", excluded.join(", "), from.display()),
        }
    };
    duckdb(&format!("{} EXCEPT ALL {}", select(a), select(b)))
}

fn assert_same_evidence(arm: &Path, graph: &Path) {
    let tables = evidence_tables(arm);
    assert_eq!(tables, evidence_tables(graph), "both packages have the same tables");
    assert!(tables.len() > 15, "{tables:?}");
    for table in &tables {
        let only_arm = rows_only_in(arm, graph, table);
        let only_graph = rows_only_in(graph, arm, table);
        assert!(
            only_arm.is_empty() && only_graph.is_empty(),
            "{table}: rows only through ARM: {only_arm:#?}\nrows only through Graph: {only_graph:#?}"
        );
    }
    let chain = duckdb(&format!("SELECT count(*) AS n FROM '{}/tables/cmk_chain.parquet'", graph.display()));
    assert!(chain[0]["n"].as_i64().unwrap_or_default() > 20, "{chain:?}");
}

/// Raw responses of a package whose URL contains `needle`.
fn responses_to(package: &Path, needle: &str) -> i64 {
    let rows = duckdb(&format!(
        "SELECT count(*) AS n FROM '{}/tables/raw_responses.parquet' WHERE url ILIKE '%{needle}%'",
        package.display()
    ));
    rows[0]["n"].as_i64().unwrap_or_default()
}

#[test]
fn graph_and_arm_discovery_collect_the_same_evidence() {
    let sim = StandaloneSim::start();
    let (arm_out, graph_out) = (tempfile::tempdir().expect("temp"), tempfile::tempdir().expect("temp"));
    let arm = collect(&sim, arm_out.path(), "arm");
    let graph = collect(&sim, graph_out.path(), "graph");
    assert_same_evidence(&arm, &graph);

    // Graph was used: its pages are evidence, and no storage account list was needed.
    assert!(responses_to(&graph, "Microsoft.ResourceGraph/resources") >= 3, "subscriptions, resources, inventory");
    assert_eq!(responses_to(&graph, "providers/Microsoft.Storage/storageAccounts?"), 0);
    assert_eq!(responses_to(&arm, "Microsoft.ResourceGraph"), 0);
    // What Graph lacks is still read with ARM: SQL protectors and the key data plane.
    assert!(responses_to(&graph, "encryptionProtector") > 0);
    assert!(responses_to(&graph, "/keys/") > 0);
}

#[test]
fn when_resource_graph_fails_every_subscription_is_collected_with_arm() {
    let dir = tempfile::tempdir().expect("temp");
    let scenario = dir.path().join("graph-down.toml");
    std::fs::write(
        &scenario,
        "extends = \"default\"\n\n[[faults]]\nname = \"graph-down\"\nkind = \"unavailable\"\n\
         path_contains = \"/providers/Microsoft.ResourceGraph\"\n",
    )
    .expect("write scenario");
    let sim = StandaloneSim::start_with(scenario.to_str().expect("utf-8"));
    let (arm_out, graph_out) = (tempfile::tempdir().expect("temp"), tempfile::tempdir().expect("temp"));
    let arm = collect(&sim, arm_out.path(), "arm");
    let graph = collect(&sim, graph_out.path(), "graph");
    assert_same_evidence(&arm, &graph);
    assert_eq!(responses_to(&graph, "Microsoft.ResourceGraph"), 0, "no Graph page was answered");
}
