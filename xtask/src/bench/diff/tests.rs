//! Checks of the diff bench before any timing: the bench's snapshots give every binding class, and DuckDB running
//! `diff.sql` classifies edge cases (case, nulls, window boundaries, gap matching) as the Differ does.

use evidence::tables::key_versions::KeyVersionRow;
use evidence::{CmkChainRow, Tables};

use super::*;

#[test]
fn every_binding_class_occurs_in_the_bench_snapshots_and_the_sql_is_filled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = prepare(dir.path(), 20_000, 0x0063_6d6b).expect("packages");
    verify(&data.before, &data.trust).expect("before verifies");
    verify(&data.after, &data.trust).expect("after verifies");
    let run = diff_once(&data.before, &data.after, &dir.path().join("diff.parquet")).expect("diff");
    for class in diff::BINDING_CLASSES {
        let n = run.summary.by_class.get(&class).copied().unwrap_or(0);
        assert!(n > 0, "class {class} never occurs: {:?}", run.summary.by_class);
    }
    let unchanged = run.summary.by_class[&diff::Class::Unchanged];
    assert!(unchanged * 2 > run.summary.bindings, "most bindings are unchanged: {:?}", run.summary.by_class);
    assert_eq!(run.rows, run.summary.bindings + run.summary.other_changes.values().sum::<u64>());

    let sql = render_sql(&data.before, &data.after, &dir.path().join("duck.parquet")).expect("sql");
    let placeholder =
        sql.split('@').skip(1).step_by(2).find(|w| w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    assert_eq!(placeholder, None, "a placeholder is left");
    assert!(sql.contains("'/subscriptions/"), "scopes are filled in");
}

const T1: i64 = 1_795_439_700; // after snapshot, seconds
const T0: i64 = T1 - 3 * 3_600; // before snapshot
const DAY: i64 = 86_400;
const VAULT: &str = "https://kv1.vault.azure.net/";

fn ts(seconds: i64) -> Timestamp {
    Timestamp::from_micros(seconds * 1_000_000)
}

/// A complete customer-managed storage account using and following the latest version `v2`.
fn row(sub: &str, name: &str) -> CmkChainRow {
    CmkChainRow {
        tenant_id: "t".into(),
        snapshot_id: "s".into(),
        subscription_id: sub.into(),
        resource_id: format!(
            "/subscriptions/{sub}/resourcegroups/rg/providers/microsoft.storage/storageaccounts/{name}"
        ),
        resource_type: "Microsoft.Storage/storageAccounts".into(),
        resource_name: name.into(),
        location: None,
        encryption_scope: "account".into(),
        key_source: Some("customer_managed".into()),
        key_vault_uri: Some(VAULT.into()),
        vault_kind: Some("key_vault".into()),
        key_vault_resource_id: Some(
            "/subscriptions/s1/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv1".into(),
        ),
        key_via_resource_id: None,
        key_name: Some("cmk".into()),
        configured_key_version: None,
        in_use_key_version: Some("v2".into()),
        latest_key_version: Some("v2".into()),
        in_use_is_latest: Some(true),
        rotation_lag_seconds: Some(0),
        auto_rotation: Some(true),
        key_enabled: Some(true),
        key_expires_at: None,
        key_type: Some("RSA".into()),
        key_size: Some(3072),
        latest_version_created_at: Some(ts(T0 - 30 * DAY)),
        rotation_policy_present: Some(true),
        vault_soft_delete: Some(true),
        vault_soft_delete_retention_days: Some(90),
        vault_purge_protection: Some(true),
        vault_rbac_authorization: Some(true),
        vault_public_network_access: Some("Disabled".into()),
        vault_network_default_action: Some("Deny".into()),
        vault_network_bypass: Some("AzureServices".into()),
        identity_type: Some("system_assigned".into()),
        identity_resource_id: None,
        identity_principal_id: Some("p1".into()),
        identity_client_id: None,
        federated_client_id: None,
        identity_has_crypto_role: Some(true),
        crypto_roles: Some(vec!["Key Vault Crypto Service Encryption User".into()]),
        chain_status: "complete".into(),
        chain_gaps: None,
        raw_response_sha256: "ab".into(),
    }
}

fn version(uri: &str, key: &str, v: &str, created: Option<i64>, enabled: Option<bool>) -> KeyVersionRow {
    KeyVersionRow {
        tenant_id: "t".into(),
        snapshot_id: "s".into(),
        key_vault_uri: uri.into(),
        key_name: key.into(),
        key_id: format!("{uri}keys/{key}"),
        version: v.into(),
        enabled,
        created_at: created.map(ts),
        updated_at: None,
        not_before: None,
        expires_at: None,
        recovery_level: None,
        is_latest: false,
        raw_response_sha256: "cd".into(),
    }
}

fn gap(sub: Option<&str>, resource_type: &str, id: Option<&str>, status: &str) -> CoverageRow {
    CoverageRow {
        tenant_id: "t".into(),
        snapshot_id: "s".into(),
        subscription_id: sub.map(str::to_string),
        resource_type: resource_type.into(),
        resource_id: id.map(str::to_string),
        status: status.into(),
        reason: "r".into(),
        http_status: None,
        error_code: None,
        request_url: None,
    }
}

fn account(name: &str) -> String {
    format!("/subscriptions/s1/resourcegroups/rg/providers/microsoft.storage/storageaccounts/{name}")
}

type Change = fn(&mut CmkChainRow, &mut CmkChainRow);

/// Newer version `v3` created `micros` before the after snapshot, not adopted.
fn pending(a: &mut CmkChainRow, micros: i64) {
    a.latest_key_version = Some("v3".into());
    a.latest_version_created_at = Some(Timestamp::from_micros(T1 * 1_000_000 - micros));
}

/// Bindings present on both sides, each changed by its function, named by what it tries.
const CASES: &[(&str, Change)] = &[
    ("vault_uri_case", |_, a| a.key_vault_uri = Some(VAULT.to_uppercase())),
    ("key_source_case", |_, a| a.key_source = Some("Customer_Managed".into())),
    ("chain_status_case", |_, a| a.chain_status = "Complete".into()),
    ("in_use_case", |_, a| a.in_use_key_version = Some("V2".into())),
    ("window_exact", |_, a| pending(a, DAY * 1_000_000)),
    ("window_half_second_over", |_, a| pending(a, DAY * 1_000_000 + 500_000)),
    ("window_one_second_over", |_, a| pending(a, (DAY + 1) * 1_000_000)),
    ("created_after_snapshot", |_, a| pending(a, -5_500_000)),
    ("expires_at_snapshot", |_, a| a.key_expires_at = Some(ts(T1))),
    ("expires_after_snapshot", |_, a| a.key_expires_at = Some(Timestamp::from_micros(T1 * 1_000_000 + 1))),
    ("unknown_times_new_is_latest", |_, a| {
        a.in_use_key_version = Some("vx".into());
        a.latest_key_version = Some("VX".into());
    }),
    ("unknown_times_new_not_latest", |_, a| {
        a.in_use_key_version = Some("vy".into());
        a.latest_key_version = Some("vz".into());
    }),
    ("older_version_now", |_, a| a.in_use_key_version = Some("v1".into())),
    ("newer_version_now", |b, _| b.in_use_key_version = Some("v1".into())),
    ("creation_time_from_before", |b, a| {
        b.in_use_key_version = Some("vb1".into());
        a.in_use_key_version = Some("vb2".into());
        a.latest_key_version = Some("other".into());
    }),
    ("auto_rotation_unknown", |_, a| {
        a.auto_rotation = None;
        pending(a, 3_600_000_000);
    }),
    ("auto_rotation_off", |_, a| a.auto_rotation = Some(false)),
    ("pinned", |_, a| {
        a.configured_key_version = Some("v2".into());
        pending(a, 3_600_000_000);
    }),
    ("latest_disabled", |_, a| {
        a.latest_key_version = Some("vd".into());
        a.latest_version_created_at = Some(ts(T1 - 3_600));
    }),
    ("latest_created_unknown", |_, a| {
        pending(a, 0);
        a.latest_version_created_at = None;
    }),
    ("disk_encryption_set_window", |_, a| {
        a.key_via_resource_id =
            Some("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/des1".into());
        pending(a, 7_200_000_000);
    }),
    ("registry_window", |_, a| {
        a.resource_type = "Microsoft.ContainerRegistry/registries".into();
        pending(a, 7_200_000_000);
    }),
    ("principal_case", |_, a| a.identity_principal_id = Some("P1".into())),
    ("principal_changed", |_, a| a.identity_principal_id = Some("p2".into())),
    ("principal_unknown", |_, a| a.identity_principal_id = None),
    ("identity_none", |_, a| {
        a.identity_type = Some("none".into());
        a.identity_principal_id = None;
        a.identity_has_crypto_role = Some(false);
    }),
    ("role_unknown", |_, a| a.identity_has_crypto_role = None),
    ("public_access_case", |b, a| {
        b.vault_public_network_access = Some("DISABLED".into());
        a.vault_public_network_access = Some("enabled".into());
    }),
    ("public_access_was_unknown", |b, a| {
        b.vault_public_network_access = None;
        a.vault_public_network_access = Some("Enabled".into());
    }),
    ("public_access_now_unknown", |_, a| a.vault_public_network_access = None),
    ("default_action_case", |b, a| {
        b.vault_network_default_action = Some("deny".into());
        a.vault_network_default_action = Some("ALLOW".into());
    }),
    ("retention_shorter", |_, a| a.vault_soft_delete_retention_days = Some(7)),
    ("soft_delete_unknown", |_, a| a.vault_soft_delete = None),
    ("key_source_unknown", |_, a| a.key_source = None),
    ("platform_both", |b, a| {
        b.key_source = Some("platform".into());
        a.key_source = Some("platform".into());
    }),
    ("platform_to_microsoft", |b, a| {
        b.key_source = Some("platform".into());
        a.key_source = Some("microsoft_managed".into());
    }),
    ("microsoft_case", |b, a| {
        b.key_source = Some("microsoft_managed".into());
        a.key_source = Some("Microsoft_Managed".into());
    }),
    ("key_name_unknown", |_, a| a.key_name = None),
    ("vault_unknown_before", |b, _| b.key_vault_uri = None),
    ("in_use_unknown", |_, a| a.in_use_key_version = None),
    ("disabled_and_incomplete", |_, a| {
        a.key_enabled = Some(false);
        a.chain_status = "incomplete".into();
    }),
    ("child_gap_after", |_, _| {}),
    ("ancestor_gap_after", |_, _| {}),
    ("child_gap_before", |_, _| {}),
];

/// Runs the Differ and DuckDB on two small packages of edge cases; returns (binding, ours, DuckDB's) per binding.
fn both_classifications() -> Vec<(String, String, String)> {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for (name, change) in CASES {
        let (mut b, mut a) = (row("s1", name), row("s1", name));
        change(&mut b, &mut a);
        before.push(b);
        after.push(a);
    }
    // A second encryption scope of one account, its key name in another case.
    let mut scope = row("s1", "vault_uri_case");
    scope.encryption_scope = "scope2".into();
    before.push(scope.clone());
    scope.key_name = Some("CMK".into());
    after.push(scope);
    for name in ["unreadable_after", "only_not_supported_gap", "removed"] {
        before.push(row("s1", name));
    }
    before.push(row("s2", "removed_in_resource_group_scope"));
    for (sub, name) in [("s3", "added"), ("s4", "added_outside_before_scopes"), ("S5", "added_upper_case_subscription")]
    {
        after.push(row(sub, name));
    }
    let mut sql = row("s1", "sql1");
    sql.resource_type = "Microsoft.Sql/servers".into();
    sql.resource_id = "/subscriptions/s1/resourcegroups/rg/providers/microsoft.sql/servers/sql1".into();
    before.push(sql.clone());
    sql.snapshot_id = "after".into();
    after.push(sql);

    let versions = vec![
        version(VAULT, "cmk", "v1", Some(T0 - 60 * DAY), Some(true)),
        version("https://KV1.vault.azure.net", "CMK", "V2", Some(T0 - 30 * DAY), Some(true)),
        version(VAULT, "cmk", "vd", Some(T1 - 3_600), Some(false)),
        version(VAULT, "cmk", "vb1", Some(T0 - 100), None),
    ];
    let mut before_versions = versions.clone();
    before_versions.push(version(VAULT, "cmk", "vb2", Some(T0 - 50), None));
    let mut after_versions = versions;
    after_versions.push(version(VAULT, "cmk", "vb2", None, None));
    let upper = account("unreadable_after").replace("/subscriptions/s1", "/SUBSCRIPTIONS/S1");
    let after_gaps = vec![
        gap(Some("s1"), "Microsoft.Storage/storageAccounts", Some(&format!("{upper}/")), "error"),
        gap(Some("s1"), "x", Some(&format!("{}/BLOBSERVICES/default", account("child_gap_after"))), "throttled"),
        gap(Some("s1"), "x", Some(&format!("{}/a/b", account("ancestor_gap_after"))), "denied"),
        gap(Some("s1"), "x", Some(&account("only_not_supported_gap")), "not_supported"),
        gap(Some("s1"), "x", Some(&account("pinned")), "not_assessed"),
        gap(None, "x", Some("/"), "error"),
        // Ids that share a prefix with a binding's but not at a '/': no gap for it.
        gap(Some("s1"), "x", Some(&account("auto_rotation_o")), "error"),
        gap(Some("s1"), "x", Some(&format!("{}_x/y", account("retention_shorter"))), "error"),
        gap(None, "Microsoft.KeyVault/vaults/keys", Some("https://kv1.vault.azure.net/keys/cmk"), "denied"),
        gap(Some("S1"), "Microsoft.Sql/servers/encryptionProtector", None, "denied"),
        gap(Some("s1"), "Microsoft.Storage/storageAccountsX", None, "denied"),
    ];
    let before_gaps =
        vec![gap(Some("s1"), "x", Some(&format!("{}/fileservices/x", account("child_gap_before"))), "error")];

    let snapshot = |at: i64, subscriptions: &[&str], cmk_chain, coverage, key_versions| {
        let mut tables = Tables { cmk_chain, coverage, key_versions, ..Tables::default() };
        tables.sort_and_dedup();
        snapshots::Snapshot {
            snapshot_id: ts(at).snapshot_id(),
            taken_at: ts(at),
            subscriptions: subscriptions.iter().map(|s| s.to_string()).collect(),
            tables,
        }
    };
    // Scopes as the manifest writes them (`/subscriptions/{id}`), some spelled oddly.
    let before = snapshot(T0, &["S1/", "s2/resourceGroups/x", "s3", "s5"], before, before_gaps, before_versions);
    let after = snapshot(T1, &["s1", "s2", "s3", "S5"], after, after_gaps, after_versions);
    let dir = tempfile::tempdir().expect("tempdir");
    let key = LocalSigningKey::generate();
    let before = snapshots::write_package(dir.path(), "t", &before, &key).expect("before package");
    let after = snapshots::write_package(dir.path(), "t", &after, &key).expect("after package");

    let ours = dir.path().join("diff.parquet");
    diff_once(&before, &after, &ours).expect("diff");
    let duck = dir.path().join("duck.parquet");
    let sql = dir.path().join("diff.sql");
    std::fs::write(&sql, render_sql(&before, &after, &duck).expect("sql")).expect("writing the sql");
    let script = r#"
import json, sys
import duckdb
sql, ours, duck = sys.argv[1:4]
con = duckdb.connect()
con.execute(open(sql).read())
rows = con.execute("""
    SELECT coalesce(o.id, d.id) || ' [' || coalesce(o.scope, d.scope) || ']', o.class, d.class
    FROM (SELECT resource_id AS id, encryption_scope AS scope, class FROM read_parquet($1) WHERE subject = 'binding') o
    FULL OUTER JOIN (SELECT coalesce(after_resource_id, before_resource_id) AS id,
                            coalesce(after_encryption_scope, before_encryption_scope) AS scope, class
                     FROM read_parquet($2)) d USING (id, scope)
    ORDER BY 1""", [ours, duck]).fetchall()
print(json.dumps(rows))
"#;
    let python = std::env::var_os("CMK_EVIDENCE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::root().join("target/pyenv/bin/python"));
    assert!(
        python.exists(),
        "no Python with duckdb: run the tests with `cargo xtask ci` (or `cargo xtask pyenv` once), or set \
         CMK_EVIDENCE_PYTHON"
    );
    let out = Command::new(&python).args(["-c", script]).args([&sql, &ours, &duck]).output().expect("running python");
    assert!(out.status.success(), "duckdb failed: {}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<(String, Option<String>, Option<String>)> = serde_json::from_slice(&out.stdout).expect("json");
    rows.into_iter().map(|(id, o, d)| (id, o.unwrap_or_default(), d.unwrap_or_default())).collect()
}

#[test]
fn duckdb_running_diff_sql_classifies_edge_cases_as_the_differ_does() {
    let rows = both_classifications();
    assert_eq!(rows.len(), CASES.len() + 9, "every binding is in both outputs: {rows:#?}");
    let differ: Vec<&(String, String, String)> = rows.iter().filter(|(_, o, d)| o != d).collect();
    assert!(differ.is_empty(), "ours and diff.sql disagree on (binding, ours, DuckDB): {differ:#?}");
    // The cases reach the classes they were written for, so the comparison above means something.
    let class_of = |name: &str| {
        rows.iter().find(|(id, ..)| id.contains(&format!("/{name} ["))).map(|(_, o, _)| o.as_str()).unwrap_or("")
    };
    for (name, class) in [
        ("vault_uri_case", "unchanged"),
        ("key_source_case", "cmk_removed"),
        ("chain_status_case", "not_comparable"),
        ("window_exact", "rotation_pending"),
        ("window_half_second_over", "rotation_pending"),
        ("window_one_second_over", "rotation_stalled"),
        ("expires_at_snapshot", "old_version_disabled_in_use"),
        ("unknown_times_new_is_latest", "rotated"),
        ("unknown_times_new_not_latest", "key_changed"),
        ("older_version_now", "key_changed"),
        ("creation_time_from_before", "rotated"),
        ("latest_disabled", "unchanged"),
        ("disk_encryption_set_window", "rotation_stalled"),
        ("identity_none", "identity_changed"),
        ("public_access_case", "protection_weakened"),
        ("child_gap_after", "not_comparable"),
        ("ancestor_gap_after", "not_comparable"),
        ("child_gap_before", "not_comparable"),
        ("unreadable_after", "not_comparable"),
        ("only_not_supported_gap", "removed"),
        ("added", "added"),
        ("added_outside_before_scopes", "not_comparable"),
        ("added_upper_case_subscription", "added"),
        ("removed_in_resource_group_scope", "removed"),
        ("sql1", "not_comparable"),
        ("auto_rotation_off", "unchanged"),
        ("retention_shorter", "protection_weakened"),
    ] {
        assert_eq!(class_of(name), class, "{name}");
    }
}
