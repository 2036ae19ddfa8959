//! Table-driven tests of the classification and the streaming merge, one case per class and per rule.

use arrow_array::RecordBatch;
use arrow_schema::ArrowError;
use evidence::tables::cmk_chain::CmkChainRow;
use evidence::tables::coverage::CoverageRow;
use evidence::tables::key_versions::KeyVersionRow;
use evidence::tables::keys::KeyRow;
use evidence::tables::role_assignments::RoleAssignmentRow;
use evidence::{Table, Timestamp};

use crate::class::{Class, Severity};
use crate::classify::{Sides, classify};
use crate::others::SideTables;
use crate::side::Side;
use crate::{Differ, Snapshot};

const HOUR: i64 = 3_600;
const T0: i64 = 1_790_000_000; // before snapshot (seconds)
const T1: i64 = T0 + 3 * HOUR; // after snapshot
const VAULT: &str = "https://kv1.vault.azure.net/";
const VAULT_ID: &str = "/subscriptions/s1/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv1";
const SA: &str = "/subscriptions/s1/resourcegroups/rg/providers/microsoft.storage/storageaccounts/sa1";
const ACR: &str = "/subscriptions/s1/resourcegroups/rg/providers/microsoft.containerregistry/registries/acr1";
const PRINCIPAL: &str = "11111111-1111-1111-1111-111111111111";

fn ts(seconds: i64) -> Timestamp {
    Timestamp::from_micros(seconds * 1_000_000)
}

/// A complete, customer-managed chain following the latest version `v2`, which it uses.
fn row(id: &str, resource_type: &str) -> CmkChainRow {
    CmkChainRow {
        tenant_id: "t".into(),
        snapshot_id: "s".into(),
        subscription_id: "s1".into(),
        resource_id: id.into(),
        resource_type: resource_type.into(),
        resource_name: "n".into(),
        location: None,
        encryption_scope: "account".into(),
        key_source: Some("customer_managed".into()),
        key_vault_uri: Some(VAULT.into()),
        vault_kind: Some("key_vault".into()),
        key_vault_resource_id: Some(VAULT_ID.into()),
        key_via_resource_id: None,
        key_name: Some("cmk".into()),
        configured_key_version: None,
        in_use_key_version: Some("v2".into()),
        latest_key_version: Some("v2".into()),
        in_use_is_latest: Some(true),
        rotation_lag_seconds: Some(0),
        auto_rotation: Some(true),
        key_enabled: Some(true),
        key_expires_at: Some(ts(T1 + 365 * 24 * HOUR)),
        key_type: Some("RSA".into()),
        key_size: Some(3072),
        latest_version_created_at: Some(ts(T0 - 30 * 24 * HOUR)),
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
        identity_principal_id: Some(PRINCIPAL.into()),
        identity_client_id: None,
        federated_client_id: None,
        identity_has_crypto_role: Some(true),
        crypto_roles: Some(vec!["Key Vault Crypto Service Encryption User".into()]),
        chain_status: "complete".into(),
        chain_gaps: None,
        raw_response_sha256: "ab".into(),
    }
}

fn version(v: &str, created: i64, enabled: bool) -> KeyVersionRow {
    KeyVersionRow {
        tenant_id: "t".into(),
        snapshot_id: "s".into(),
        key_vault_uri: VAULT.into(),
        key_name: "cmk".into(),
        key_id: format!("{VAULT}keys/cmk"),
        version: v.into(),
        enabled: Some(enabled),
        created_at: Some(ts(created)),
        updated_at: None,
        not_before: None,
        expires_at: None,
        recovery_level: None,
        is_latest: false,
        raw_response_sha256: "cd".into(),
    }
}

/// Versions: v1 (60 days old), v2 (30 days), v3 created 2 h before the after snapshot.
fn versions() -> Vec<KeyVersionRow> {
    vec![
        version("v1", T0 - 60 * 24 * HOUR, true),
        version("v2", T0 - 30 * 24 * HOUR, true),
        version("v3", T1 - 2 * HOUR, true),
    ]
}

fn gap(sub: &str, resource_type: &str, id: Option<&str>) -> CoverageRow {
    CoverageRow {
        tenant_id: "t".into(),
        snapshot_id: "s".into(),
        subscription_id: Some(sub.into()),
        resource_type: resource_type.into(),
        resource_id: id.map(str::to_string),
        status: "denied".into(),
        reason: "403".into(),
        http_status: Some(403),
        error_code: Some("AuthorizationFailed".into()),
        request_url: None,
    }
}

fn sides(before_cov: &[CoverageRow], after_cov: &[CoverageRow]) -> (Side, Side) {
    let scopes = vec!["/subscriptions/s1".to_string()];
    (
        Side::new("before", ts(T0), &scopes, before_cov, &versions()),
        Side::new("after", ts(T1), &scopes, after_cov, &versions()),
    )
}

/// Rotated to v3 two hours ago, not adopted.
fn pending(mut r: CmkChainRow) -> CmkChainRow {
    r.latest_key_version = Some("v3".into());
    r.latest_version_created_at = Some(ts(T1 - 2 * HOUR));
    r.in_use_is_latest = Some(false);
    r
}

fn check(
    name: &str,
    before: Option<CmkChainRow>,
    after: Option<CmkChainRow>,
    cov: (&[CoverageRow], &[CoverageRow]),
    want: Class,
    severity: Severity,
) {
    let (b, a) = sides(cov.0, cov.1);
    let v = classify(before.as_ref(), after.as_ref(), Sides { before: &b, after: &a });
    assert_eq!((v.class, v.severity), (want, severity), "{name}: changes {:?}", v.changes);
}

#[test]
fn every_class_from_its_own_case() {
    let sa = || row(SA, "Microsoft.Storage/storageAccounts");
    let none: &[CoverageRow] = &[];
    check("unchanged", Some(sa()), Some(sa()), (none, none), Class::Unchanged, Severity::Info);
    check("added", None, Some(sa()), (none, none), Class::Added, Severity::Info);
    check("removed", Some(sa()), None, (none, none), Class::Removed, Severity::Low);
    let list_denied = [gap("s1", "Microsoft.Storage/storageAccounts", None)];
    check("gap hides removal", Some(sa()), None, (none, &list_denied), Class::NotComparable, Severity::Medium);
    check("gap hides addition", None, Some(sa()), (&list_denied, none), Class::NotComparable, Severity::Medium);
    let resource_denied = [gap("s1", "Microsoft.Storage/storageAccounts", Some(SA))];
    check("resource gap", Some(sa()), None, (none, &resource_denied), Class::NotComparable, Severity::Medium);

    let mut rotated = sa();
    rotated.in_use_key_version = Some("v3".into());
    rotated.latest_key_version = Some("v3".into());
    check("rotated", Some(sa()), Some(rotated), (none, none), Class::Rotated, Severity::Info);
    let mut back = sa();
    back.in_use_key_version = Some("v1".into());
    check("went back", Some(sa()), Some(back), (none, none), Class::KeyChanged, Severity::Medium);

    check(
        "storage pending (2 h < 24 h)",
        Some(sa()),
        Some(pending(sa())),
        (none, none),
        Class::RotationPending,
        Severity::Low,
    );
    let acr = || row(ACR, "Microsoft.ContainerRegistry/registries");
    check(
        "acr stalled (2 h > 1 h)",
        Some(acr()),
        Some(pending(acr())),
        (none, none),
        Class::RotationStalled,
        Severity::High,
    );
    let mut pinned = pending(sa());
    pinned.configured_key_version = Some("v2".into());
    pinned.auto_rotation = Some(false);
    let mut pinned_before = sa();
    pinned_before.configured_key_version = Some("v2".into());
    pinned_before.auto_rotation = Some(false);
    check("pinned stays", Some(pinned_before), Some(pinned), (none, none), Class::Unchanged, Severity::Info);

    let mut other_key = sa();
    other_key.key_name = Some("cmk2".into());
    check("key changed", Some(sa()), Some(other_key), (none, none), Class::KeyChanged, Severity::Medium);
    let mut mmk = sa();
    mmk.key_source = Some("microsoft_managed".into());
    check("cmk removed", Some(sa()), Some(mmk.clone()), (none, none), Class::CmkRemoved, Severity::High);
    check("cmk enabled", Some(mmk.clone()), Some(sa()), (none, none), Class::CmkEnabled, Severity::Info);
    check("platform both", Some(mmk.clone()), Some(mmk), (none, none), Class::Unchanged, Severity::Info);
    let mut unknown = sa();
    unknown.key_source = None;
    check("source unknown", Some(sa()), Some(unknown), (none, none), Class::NotComparable, Severity::Medium);

    let mut lost = sa();
    lost.identity_has_crypto_role = Some(false);
    check("role lost", Some(sa()), Some(lost), (none, none), Class::IdentityChanged, Severity::Critical);
    let mut moved = sa();
    moved.identity_principal_id = Some("22222222-2222-2222-2222-222222222222".into());
    check("identity changed", Some(sa()), Some(moved.clone()), (none, none), Class::IdentityChanged, Severity::Medium);
    moved.identity_has_crypto_role = Some(false);
    check(
        "identity changed, no role",
        Some(sa()),
        Some(moved),
        (none, none),
        Class::IdentityChanged,
        Severity::Critical,
    );

    for (field, weaken) in [
        ("purge", (|r: &mut CmkChainRow| r.vault_purge_protection = Some(false)) as fn(&mut CmkChainRow)),
        ("soft delete", |r| r.vault_soft_delete = Some(false)),
        ("retention", |r| r.vault_soft_delete_retention_days = Some(7)),
        ("rbac", |r| r.vault_rbac_authorization = Some(false)),
        ("public", |r| r.vault_public_network_access = Some("Enabled".into())),
        ("firewall", |r| r.vault_network_default_action = Some("Allow".into())),
    ] {
        let mut w = sa();
        weaken(&mut w);
        check(field, Some(sa()), Some(w), (none, none), Class::ProtectionWeakened, Severity::High);
    }
    let mut unknown_purge = sa();
    unknown_purge.vault_purge_protection = None;
    check("null is not weakening", Some(sa()), Some(unknown_purge), (none, none), Class::Unchanged, Severity::Info);

    // Seed 003: the old version disabled before the resource adopted the new one.
    let mut disabled = pending(sa());
    disabled.key_enabled = Some(false);
    check(
        "disabled in use",
        Some(pending(sa())),
        Some(disabled),
        (none, none),
        Class::OldVersionDisabledInUse,
        Severity::Critical,
    );
    let mut expired = sa();
    expired.key_expires_at = Some(ts(T1 - 1));
    check(
        "expired in use",
        Some(sa()),
        Some(expired),
        (none, none),
        Class::OldVersionDisabledInUse,
        Severity::Critical,
    );

    let mut broken = sa();
    broken.chain_status = "incomplete".into();
    broken.chain_gaps = Some(vec!["key_not_read".into()]);
    broken.key_enabled = None;
    check("broken chain", Some(sa()), Some(broken), (none, none), Class::NotComparable, Severity::Medium);
    let child_gap =
        [gap("s1", "Microsoft.Storage/storageAccounts/blobServices", Some(&format!("{SA}/blobservices/default")))];
    check("child gap", Some(sa()), Some(sa()), (none, &child_gap), Class::NotComparable, Severity::Medium);
}

#[test]
fn disk_bindings_take_the_window_of_their_encryption_set() {
    let vm = "/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1";
    let des = "/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/diskencryptionsets/des1";
    let mut r = row(vm, "Microsoft.Compute/virtualMachines");
    r.key_via_resource_id = Some(des.into());
    let none: &[CoverageRow] = &[];
    check(
        "vm disk via DES: 2 h > 1 h",
        Some(r.clone()),
        Some(pending(r)),
        (none, none),
        Class::RotationStalled,
        Severity::High,
    );
}

// ----- streaming -----

fn batches(mut rows: Vec<CmkChainRow>, sort: bool, size: usize) -> std::vec::IntoIter<Result<RecordBatch, ArrowError>> {
    if sort {
        CmkChainRow::sort(&mut rows);
    }
    rows.chunks(size.max(1)).map(CmkChainRow::to_batch).collect::<Vec<_>>().into_iter()
}

fn key_row() -> KeyRow {
    KeyRow {
        tenant_id: "t".into(),
        snapshot_id: "s".into(),
        key_vault_uri: VAULT.into(),
        vault_kind: "key_vault".into(),
        key_name: "cmk".into(),
        key_id: format!("{VAULT}keys/cmk"),
        latest_version: "v3".into(),
        key_type: None,
        key_size: None,
        curve: None,
        key_ops: None,
        enabled: Some(true),
        created_at: None,
        updated_at: None,
        not_before: None,
        expires_at: None,
        recovery_level: None,
        recoverable_days: None,
        managed: None,
        raw_response_sha256: "ef".into(),
    }
}

fn assignment(id: &str) -> RoleAssignmentRow {
    RoleAssignmentRow {
        tenant_id: "t".into(),
        snapshot_id: "s".into(),
        rbac_system: "azure_rbac".into(),
        assignment_id: id.into(),
        queried_scope: VAULT_ID.into(),
        scope: VAULT_ID.into(),
        principal_id: PRINCIPAL.into(),
        principal_type: Some("ServicePrincipal".into()),
        role_definition_id: "/providers/Microsoft.Authorization/roleDefinitions/e147488a-f6f5-4113-8e2d-b22465e65bf6"
            .into(),
        role_definition_guid: "e147488a-f6f5-4113-8e2d-b22465e65bf6".into(),
        role_name: Some("Key Vault Crypto Service Encryption User".into()),
        grants_key_use: true,
        manages_keys: false,
        condition: None,
        raw_response_sha256: "01".into(),
    }
}

type Batches = std::vec::IntoIter<Result<RecordBatch, ArrowError>>;

fn snapshot(name: &str, at: i64, chain: Batches, tables: SideTables) -> Snapshot<Batches> {
    Snapshot {
        tenant_id: "t".into(),
        side: Side::new(name, ts(at), &["/subscriptions/s1".into()], &[], &tables.key_versions),
        tables,
        chain,
    }
}

#[test]
fn the_stream_merges_in_key_order_and_raises_what_is_still_in_use() {
    // 3,000 storage accounts in batches of 256: sa0000..sa2999; the after side lost sa0000, gained sa3000,
    // and sa0001 (still on v2) now has v2 disabled and its identity's role removed.
    let id =
        |i: usize| format!("/subscriptions/s1/resourcegroups/rg/providers/microsoft.storage/storageaccounts/sa{i:04}");
    let before: Vec<CmkChainRow> = (0..3000).map(|i| row(&id(i), "Microsoft.Storage/storageAccounts")).collect();
    let mut after: Vec<CmkChainRow> =
        (1..3001).map(|i| pending(row(&id(i), "Microsoft.Storage/storageAccounts"))).collect();
    after[0].key_enabled = Some(false);
    let mut before_tables = SideTables { keys: vec![key_row()], key_versions: versions(), ..SideTables::default() };
    before_tables.role_assignments = vec![assignment("/ra/1")];
    let mut after_versions = versions();
    after_versions[1].enabled = Some(false);
    // The after snapshot listed the vault's assignments too (another one is there): a removal is evidence.
    let mut other = assignment("/ra/2");
    other.principal_id = "33333333-3333-3333-3333-333333333333".into();
    let after_tables = SideTables {
        keys: vec![key_row()],
        key_versions: after_versions,
        role_assignments: vec![other],
        ..SideTables::default()
    };

    // What the binding rows must be: each pair classified and appended row by row (the straightforward path).
    let expected = {
        let (sb, sa) = (
            Side::new("before", ts(T0), &["/subscriptions/s1".into()], &[], &before_tables.key_versions),
            Side::new("after", ts(T1), &["/subscriptions/s1".into()], &[], &after_tables.key_versions),
        );
        let mut keys: std::collections::BTreeMap<String, (Option<&CmkChainRow>, Option<&CmkChainRow>)> =
            Default::default();
        for r in &before {
            keys.entry(r.resource_id.clone()).or_default().0 = Some(r);
        }
        for r in &after {
            keys.entry(r.resource_id.clone()).or_default().1 = Some(r);
        }
        let mut builder = crate::output::OutputBuilder::new("t", "before", "after");
        for (b, a) in keys.values() {
            let key = a.or(*b).expect("a side");
            let v = classify(*b, *a, Sides { before: &sb, after: &sa });
            let row = crate::output::OutputRow {
                subject: "binding",
                resource_id: &key.resource_id,
                encryption_scope: Some(&key.encryption_scope),
                resource_type: Some(&key.resource_type),
                subscription_id: Some(&key.subscription_id),
                class: v.class.as_str(),
                severity: v.severity,
                changes: &v.changes,
                adoption_window_seconds: v.window.map(|w| w.seconds),
                new_version_age_seconds: v.new_version_age_seconds,
            };
            builder.append(row, *b, *a);
        }
        builder.finish().expect("expected batch")
    };

    let mut differ = Differ::new(
        snapshot("before", T0, batches(before, true, 256), before_tables),
        snapshot("after", T1, batches(after, true, 256), after_tables),
    );
    let mut rows = 0;
    let mut out = Vec::new();
    for batch in differ.by_ref() {
        let batch = batch.expect("batch");
        rows += batch.num_rows();
        out.push(batch);
    }
    let summary = differ.into_summary();
    assert_eq!(summary.bindings, 3001);
    assert_eq!(summary.by_class[&Class::Removed], 1);
    assert_eq!(summary.by_class[&Class::Added], 1);
    assert_eq!(summary.by_class[&Class::OldVersionDisabledInUse], 1);
    assert_eq!(summary.by_class[&Class::RotationPending], 2998);
    assert_eq!(summary.other_changes.get("key_version/version_disabled"), Some(&1));
    assert_eq!(summary.other_changes.get("role_assignment/role_removed"), Some(&1));
    assert_eq!(summary.other_changes.get("role_assignment/role_added"), Some(&1));
    assert_eq!(rows, 3004);
    assert_eq!(summary.highest_severity, Some(Severity::Critical));
    let critical: Vec<_> = summary.attention.iter().filter(|r| r.severity == Severity::Critical).collect();
    assert_eq!(critical.len(), 3, "{critical:#?}");
    assert!(critical.iter().any(|r| r.subject == "role_assignment" && r.changes.iter().any(|c| c.contains("sa0001"))));
    assert!(
        critical.iter().any(|r| r.subject == "key_version" && r.changes.iter().any(|c| c.contains("still in use by")))
    );
    // 3 critical, then 1,000 of the 2,998 pending (low) and the removed one: the list is capped.
    assert_eq!(summary.attention.len(), crate::summary::ATTENTION_LIMIT);
    assert_eq!(summary.attention_omitted, 3 + 2998 + 1 - 1000);
    // Binding rows come first, in key order, gathered from the input batches exactly as the row-by-row path
    // builds them; the schema is the declared one.
    assert_eq!(out[0].schema(), crate::output::schema());
    let all = arrow_select::concat::concat_batches(&crate::output::schema(), &out).expect("concat");
    assert_eq!(all.slice(0, expected.num_rows()), expected);
}

#[test]
fn unsorted_and_duplicate_rows_are_refused_by_name() {
    let a = row(SA, "Microsoft.Storage/storageAccounts");
    let mut b = row(ACR, "Microsoft.ContainerRegistry/registries");
    b.resource_id = "/subscriptions/s1/a".into();
    let run = |rows: Vec<CmkChainRow>| {
        let differ = Differ::new(
            snapshot("before", T0, batches(Vec::new(), false, 1), SideTables::default()),
            snapshot("after", T1, batches(rows, false, 1), SideTables::default()),
        );
        differ.collect::<Result<Vec<_>, _>>().expect_err("must fail").to_string()
    };
    let err = run(vec![a.clone(), b]);
    assert!(err.contains("not sorted") && err.contains("/subscriptions/s1/a"), "{err}");
    let err = run(vec![a.clone(), a]);
    assert!(err.contains("two rows") && err.contains(SA), "{err}");
}
