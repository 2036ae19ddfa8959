//! Table-driven rule tests: for every rule a snapshot where it fires (rule, resource, scope, severity, and the
//! evidence naming the deciding column) and close snapshots where it must not (the control present, or null
//! where the rule must not guess).

use evidence::vocab::{encryption_scope, identity_type, key_source};
use evidence::{FindingRow, Table, Tables, resource_types};

use super::fixtures::*;
use crate::{Policy, RULES, evaluate};

fn run(tables: &Tables, policy: &str) -> Vec<FindingRow> {
    let policy = match Policy::from_toml_str(policy, "test policy") {
        Ok(p) => p,
        Err(e) => panic!("test policy does not parse: {e}"),
    };
    evaluate(tables, &policy, taken_at())
}

/// A snapshot where `rule` must fire exactly once on `resource` / `scope`.
struct Fires {
    case: &'static str,
    policy: &'static str,
    build: fn() -> Tables,
    rule: &'static str,
    resource: fn() -> String,
    scope: &'static str,
    severity: &'static str,
    /// Prefix of the evidence entry that decided the finding, `table.column=value`.
    deciding: &'static str,
}

/// A snapshot close to a firing one where `rule` must not fire.
struct Quiet {
    case: &'static str,
    policy: &'static str,
    build: fn() -> Tables,
    rule: &'static str,
}

fn account() -> String {
    ACCOUNT_ID.to_string()
}
fn vault_id() -> String {
    VAULT_ID.to_string()
}
fn hsm_id() -> String {
    HSM_ID.to_string()
}
fn key_id() -> String {
    KEY_ID.to_string()
}
fn acr1() -> String {
    resource(resource_types::CONTAINER_REGISTRY, "rg-apps", "acr1")
}
fn mi1() -> String {
    resource(resource_types::SQL_MANAGED_INSTANCE, "rg-sql", "mi1")
}
fn aci1() -> String {
    resource(resource_types::CONTAINER_GROUP, "rg-batch", "aci1")
}
fn des1() -> String {
    resource(resource_types::DISK_ENCRYPTION_SET, "rg-compute", "des1")
}
fn stlogs() -> String {
    resource(resource_types::STORAGE_ACCOUNT, "rg-logs", "stlogs")
}
fn site1() -> String {
    resource(resource_types::WEB_SITE, "rg-web", "app1")
}

fn with(change: impl FnOnce(&mut Tables)) -> Tables {
    let mut t = healthy();
    change(&mut t);
    t
}

fn microsoft_managed_logs() -> Tables {
    with(|t| {
        let mut c = chain_of(resource_types::STORAGE_ACCOUNT, "rg-logs", "stlogs", encryption_scope::ACCOUNT);
        c.key_source = Some(key_source::MICROSOFT_MANAGED.into());
        c.chain_status = "microsoft_managed".into();
        (c.key_vault_uri, c.key_vault_resource_id, c.key_name, c.in_use_key_version) = (None, None, None, None);
        (c.identity_has_crypto_role, c.crypto_roles, c.key_enabled, c.key_expires_at) = (None, None, None, None);
        t.cmk_chain.push(c);
    })
}

fn registry_chain(key_type: Option<&str>) -> Tables {
    with(|t| {
        let mut c = chain_of(resource_types::CONTAINER_REGISTRY, "rg-apps", "acr1", encryption_scope::REGISTRY);
        c.key_type = key_type.map(Into::into);
        t.cmk_chain.push(c);
        t.container_registries.push(registry("acr1", Some("Premium"), Some("enabled")));
    })
}

fn managed_instance(system_assigned: bool) -> Tables {
    with(|t| {
        let mut c = chain_of(resource_types::SQL_MANAGED_INSTANCE, "rg-sql", "mi1", encryption_scope::TDE_PROTECTOR);
        if !system_assigned {
            c.identity_type = Some(identity_type::USER_ASSIGNED.into());
            c.identity_resource_id = Some("/subscriptions/s/resourcegroups/rg-id/providers/x/id-mi1".into());
        }
        t.cmk_chain.push(c);
        let (raw, primary) = if system_assigned { ("SystemAssigned", None) } else { ("UserAssigned", Some("id-mi1")) };
        t.sql_servers.push(sql_managed_instance("mi1", raw, primary));
    })
}

fn separation(manager_scope_rg: &str) -> Tables {
    with(|t| {
        t.role_assignments.push(assignment(VAULT_ID, ADMIN, CRYPTO_OFFICER));
        let scope = format!("/subscriptions/{SUB}/resourcegroups/{manager_scope_rg}");
        t.role_assignments.push(assignment(&scope, ADMIN, OWNER));
    })
}

fn closed_vault(bypass: Option<&str>) -> Tables {
    with(|t| {
        t.key_vaults[0].public_network_access = Some("Disabled".into());
        t.key_vaults[0].network_bypass = bypass.map(Into::into);
    })
}

const FIRES: &[Fires] = &[
    Fires {
        case: "identity without a crypto role",
        policy: "",
        build: || {
            with(|t| {
                t.cmk_chain[0].identity_has_crypto_role = Some(false);
                t.cmk_chain[0].crypto_roles = Some(Vec::new());
            })
        },
        rule: "CMK001",
        resource: account,
        scope: "account",
        severity: "high",
        deciding: "cmk_chain.identity_has_crypto_role=false",
    },
    Fires {
        case: "no managed identity at all",
        policy: "",
        build: || {
            with(|t| {
                let c = &mut t.cmk_chain[0];
                c.identity_type = Some(identity_type::NONE.into());
                (c.identity_principal_id, c.identity_has_crypto_role, c.crypto_roles) =
                    (None, Some(false), Some(vec![]));
            })
        },
        rule: "CMK001",
        resource: account,
        scope: "account",
        severity: "high",
        deciding: "cmk_chain.identity_type=none",
    },
    Fires {
        case: "version in use disabled",
        policy: "",
        build: || with(|t| t.cmk_chain[0].key_enabled = Some(false)),
        rule: "CMK002",
        resource: account,
        scope: "account",
        severity: "critical",
        deciding: "cmk_chain.key_enabled=false",
    },
    Fires {
        case: "version in use expired yesterday",
        policy: "",
        build: || with(|t| t.cmk_chain[0].key_expires_at = Some(days(-1))),
        rule: "CMK003",
        resource: account,
        scope: "account",
        severity: "critical",
        deciding: "cmk_chain.key_expires_at=2026-11-22T10:15:00Z",
    },
    Fires {
        case: "version in use expires at the snapshot time",
        policy: "",
        build: || with(|t| t.cmk_chain[0].key_expires_at = Some(taken_at())),
        rule: "CMK003",
        resource: account,
        scope: "account",
        severity: "critical",
        deciding: "cmk_chain.key_expires_at=",
    },
    Fires {
        case: "version in use expires in 10 days",
        policy: "",
        build: || with(|t| t.cmk_chain[0].key_expires_at = Some(days(10))),
        rule: "CMK004",
        resource: account,
        scope: "account",
        severity: "medium",
        deciding: "cmk_chain.key_expires_at=2026-12-03T10:15:00Z",
    },
    Fires {
        case: "expiry inside a wider policy window",
        policy: "expiry_warning_days = 45",
        build: || with(|t| t.cmk_chain[0].key_expires_at = Some(days(40))),
        rule: "CMK004",
        resource: account,
        scope: "account",
        severity: "medium",
        deciding: "cmk_chain.key_expires_at=",
    },
    Fires {
        case: "purge protection absent",
        policy: "",
        build: || with(|t| t.key_vaults[0].purge_protection_enabled = None),
        rule: "CMK005",
        resource: vault_id,
        scope: "",
        severity: "high",
        deciding: "key_vaults.purge_protection_enabled=null",
    },
    Fires {
        case: "HSM purge protection off",
        policy: "",
        build: || {
            with(|t| {
                let mut h = hsm();
                h.purge_protection_enabled = Some(false);
                t.managed_hsms.push(h);
            })
        },
        rule: "CMK005",
        resource: hsm_id,
        scope: "",
        severity: "high",
        deciding: "managed_hsms.purge_protection_enabled=false",
    },
    Fires {
        case: "soft delete off",
        policy: "",
        build: || with(|t| t.key_vaults[0].soft_delete_enabled = Some(false)),
        rule: "CMK006",
        resource: vault_id,
        scope: "",
        severity: "high",
        deciding: "key_vaults.soft_delete_enabled=false",
    },
    Fires {
        case: "soft delete absent",
        policy: "",
        build: || with(|t| t.key_vaults[0].soft_delete_enabled = None),
        rule: "CMK006",
        resource: vault_id,
        scope: "",
        severity: "high",
        deciding: "key_vaults.soft_delete_enabled=null",
    },
    Fires {
        case: "rotation policy without a Rotate action",
        policy: "",
        build: || with(|t| t.rotation_policies[0] = rotation_policy(VAULT_URI, "cmk", false)),
        rule: "CMK007",
        resource: key_id,
        scope: "",
        severity: "medium",
        deciding: "rotation_policies.rotates_automatically=false",
    },
    Fires {
        case: "latest version 400 days old",
        policy: "",
        build: || with(|t| t.keys[0].created_at = Some(days(-400))),
        rule: "CMK008",
        resource: key_id,
        scope: "",
        severity: "medium",
        deciding: "keys.created_at=2025-10-19T10:15:00Z",
    },
    Fires {
        case: "key older than a stricter policy",
        policy: "max_key_age_days = 20",
        build: healthy,
        rule: "CMK008",
        resource: key_id,
        scope: "",
        severity: "medium",
        deciding: "keys.created_at=",
    },
    Fires {
        case: "crypto officer owns the subscription of the account",
        policy: "",
        build: || {
            with(|t| {
                t.role_assignments.push(assignment(VAULT_ID, ADMIN, CRYPTO_OFFICER));
                t.role_assignments.push(assignment(&format!("/subscriptions/{SUB}"), ADMIN, OWNER));
            })
        },
        rule: "CMK009",
        resource: vault_id,
        scope: "",
        severity: "medium",
        deciding: "role_assignments.role_definition_guid=8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    },
    Fires {
        case: "crypto officer owns the account's resource group",
        policy: "",
        build: || separation("rg-data"),
        rule: "CMK009",
        resource: vault_id,
        scope: "",
        severity: "medium",
        deciding: "role_assignments.manages_keys=true",
    },
    Fires {
        case: "access policy that manages keys plus Contributor",
        policy: "",
        build: || {
            with(|t| {
                t.key_vaults[0].rbac_authorization_enabled = Some(false);
                t.vault_access_policies.push(access_policy(ADMIN, &["get", "create", "delete", "update"], true));
                t.role_assignments.push(assignment(&format!("/subscriptions/{SUB}"), ADMIN, CONTRIBUTOR));
            })
        },
        rule: "CMK009",
        resource: vault_id,
        scope: "",
        severity: "medium",
        deciding: "vault_access_policies.manages_keys=true",
    },
    Fires {
        case: "public access disabled, bypass None",
        policy: "",
        build: || closed_vault(Some("None")),
        rule: "CMK010",
        resource: vault_id,
        scope: "",
        severity: "high",
        deciding: "key_vaults.network_bypass=None",
    },
    Fires {
        case: "registry with CMK on Standard",
        policy: "",
        build: || with(|t| t.container_registries.push(registry("acr1", Some("Standard"), Some("enabled")))),
        rule: "CMK011",
        resource: acr1,
        scope: "registry",
        severity: "high",
        deciding: "container_registries.sku_name=Standard",
    },
    Fires {
        case: "registry with an EC key",
        policy: "",
        build: || registry_chain(Some("EC")),
        rule: "CMK012",
        resource: acr1,
        scope: "registry",
        severity: "high",
        deciding: "cmk_chain.key_type=EC",
    },
    Fires {
        case: "managed instance with a system-assigned identity",
        policy: "",
        build: || managed_instance(true),
        rule: "CMK013",
        resource: mi1,
        scope: "tde_protector",
        severity: "medium",
        deciding: "cmk_chain.identity_type=system_assigned",
    },
    Fires {
        case: "container group key in a Managed HSM",
        policy: "",
        build: || with(|t| t.container_groups.push(container_group("aci1", HSM_URI, "managed_hsm"))),
        rule: "CMK014",
        resource: aci1,
        scope: "container_group",
        severity: "high",
        deciding: "container_groups.vault_kind=managed_hsm",
    },
    Fires {
        case: "disk encryption set with autoKeyRotationError",
        policy: "",
        build: || with(|t| t.disk_encryption_sets.push(encryption_set("des1", Some("ManagedServiceIdentityNotFound")))),
        rule: "CMK015",
        resource: des1,
        scope: "encryption_set",
        severity: "high",
        deciding: "disk_encryption_sets.auto_key_rotation_error_code=ManagedServiceIdentityNotFound",
    },
    Fires {
        case: "pinned to the older of two enabled versions",
        policy: "",
        build: || {
            with(|t| {
                let c = &mut t.cmk_chain[0];
                (c.configured_key_version, c.in_use_key_version) = (Some("v1".into()), Some("v1".into()));
                (c.in_use_is_latest, c.auto_rotation) = (Some(false), Some(false));
            })
        },
        rule: "CMK016",
        resource: account,
        scope: "account",
        severity: "low",
        deciding: "cmk_chain.configured_key_version=v1",
    },
    Fires {
        case: "Microsoft-managed storage where the policy requires CMK",
        policy: "require_cmk = [\"microsoft.storage/STORAGEACCOUNTS\"]",
        build: microsoft_managed_logs,
        rule: "CMK017",
        resource: stlogs,
        scope: "account",
        severity: "high",
        deciding: "cmk_chain.key_source=microsoft_managed",
    },
    Fires {
        case: "App Service site",
        policy: "",
        build: || {
            with(|t| {
                let id = site1();
                t.coverage.push(coverage(
                    "not_supported",
                    resource_types::WEB_SITE,
                    Some(&id),
                    "no CMK at rest (seed 001)",
                ));
            })
        },
        rule: "CMK018",
        resource: site1,
        scope: "",
        severity: "info",
        deciding: "coverage.status=not_supported",
    },
];

const QUIET: &[Quiet] = &[
    Quiet { case: "crypto role present", policy: "", build: healthy, rule: "CMK001" },
    Quiet {
        case: "role assignments not read: unknown, not false",
        policy: "",
        build: || {
            with(|t| {
                let c = &mut t.cmk_chain[0];
                (c.identity_has_crypto_role, c.crypto_roles) = (None, None);
                c.chain_status = "incomplete".into();
                c.chain_gaps = Some(vec!["role_assignments_not_read".into()]);
            })
        },
        rule: "CMK001",
    },
    Quiet {
        case: "Microsoft-managed binding is not judged for access",
        policy: "",
        build: || {
            let mut t = microsoft_managed_logs();
            t.cmk_chain[1].identity_has_crypto_role = Some(false);
            t
        },
        rule: "CMK001",
    },
    Quiet { case: "version enabled", policy: "", build: healthy, rule: "CMK002" },
    Quiet {
        case: "enabled state unknown",
        policy: "",
        build: || with(|t| t.cmk_chain[0].key_enabled = None),
        rule: "CMK002",
    },
    Quiet {
        case: "expiry unknown",
        policy: "",
        build: || with(|t| t.cmk_chain[0].key_expires_at = None),
        rule: "CMK003",
    },
    Quiet {
        case: "expires tomorrow is not expired",
        policy: "",
        build: || with(|t| t.cmk_chain[0].key_expires_at = Some(days(1))),
        rule: "CMK003",
    },
    Quiet {
        case: "expires in 40 days, outside the default window",
        policy: "",
        build: || with(|t| t.cmk_chain[0].key_expires_at = Some(days(40))),
        rule: "CMK004",
    },
    Quiet {
        case: "window 0 turns the warning off",
        policy: "expiry_warning_days = 0",
        build: || with(|t| t.cmk_chain[0].key_expires_at = Some(days(1))),
        rule: "CMK004",
    },
    Quiet {
        case: "already expired is CMK003, not CMK004",
        policy: "",
        build: || with(|t| t.cmk_chain[0].key_expires_at = Some(days(-1))),
        rule: "CMK004",
    },
    Quiet { case: "purge protection on", policy: "", build: healthy, rule: "CMK005" },
    Quiet { case: "soft delete on", policy: "", build: healthy, rule: "CMK006" },
    Quiet { case: "policy rotates", policy: "", build: healthy, rule: "CMK007" },
    Quiet {
        // Key Vault answers every readable key with a policy: no row means not read (or, for import, not given).
        case: "no policy row: unknown, not none",
        policy: "",
        build: || with(|t| t.rotation_policies.clear()),
        rule: "CMK007",
    },
    Quiet {
        case: "policy read failed: unknown",
        policy: "",
        build: || {
            with(|t| {
                t.rotation_policies.clear();
                t.coverage.push(coverage(
                    "denied",
                    resource_types::ROTATION_POLICY,
                    Some(KEY_ID),
                    "403 reading the policy",
                ));
            })
        },
        rule: "CMK007",
    },
    Quiet {
        case: "key not read",
        policy: "",
        build: || {
            with(|t| {
                t.keys.clear();
                t.rotation_policies.clear();
            })
        },
        rule: "CMK007",
    },
    Quiet { case: "key 30 days old", policy: "", build: healthy, rule: "CMK008" },
    Quiet {
        case: "creation time unknown",
        policy: "max_key_age_days = 1",
        build: || with(|t| t.keys[0].created_at = None),
        rule: "CMK008",
    },
    Quiet {
        case: "Owner scope does not contain the account",
        policy: "",
        build: || separation("rg-other"),
        rule: "CMK009",
    },
    Quiet {
        case: "Owner without a key-management role",
        policy: "",
        build: || with(|t| t.role_assignments.push(assignment(&format!("/subscriptions/{SUB}"), PRINCIPAL, OWNER))),
        rule: "CMK009",
    },
    Quiet {
        case: "crypto officer without Owner or Contributor",
        policy: "",
        build: || with(|t| t.role_assignments.push(assignment(VAULT_ID, ADMIN, CRYPTO_OFFICER))),
        rule: "CMK009",
    },
    Quiet {
        case: "closed with the trusted-services bypass",
        policy: "",
        build: || closed_vault(Some("AzureServices")),
        rule: "CMK010",
    },
    Quiet { case: "bypass unknown", policy: "", build: || closed_vault(None), rule: "CMK010" },
    Quiet {
        case: "closed vault no binding uses",
        policy: "",
        build: || {
            let mut t = closed_vault(Some("None"));
            t.cmk_chain.clear();
            t
        },
        rule: "CMK010",
    },
    Quiet {
        case: "open vault without bypass",
        policy: "",
        build: || {
            with(|t| {
                t.key_vaults[0].network_default_action = Some("Allow".into());
                t.key_vaults[0].network_bypass = Some("None".into());
            })
        },
        rule: "CMK010",
    },
    Quiet {
        case: "Premium registry",
        policy: "",
        build: || with(|t| t.container_registries.push(registry("acr1", Some("Premium"), Some("enabled")))),
        rule: "CMK011",
    },
    Quiet {
        case: "Basic registry without CMK",
        policy: "",
        build: || with(|t| t.container_registries.push(registry("acr1", Some("Basic"), Some("disabled")))),
        rule: "CMK011",
    },
    Quiet {
        case: "SKU unknown",
        policy: "",
        build: || with(|t| t.container_registries.push(registry("acr1", None, Some("enabled")))),
        rule: "CMK011",
    },
    Quiet { case: "RSA-HSM registry key", policy: "", build: || registry_chain(Some("RSA-HSM")), rule: "CMK012" },
    Quiet { case: "registry key type unknown", policy: "", build: || registry_chain(None), rule: "CMK012" },
    Quiet {
        case: "EC key on a storage account",
        policy: "",
        build: || with(|t| t.cmk_chain[0].key_type = Some("EC".into())),
        rule: "CMK012",
    },
    Quiet { case: "user-assigned identity", policy: "", build: || managed_instance(false), rule: "CMK013" },
    Quiet {
        case: "system-assigned on a logical server",
        policy: "",
        build: || {
            with(|t| {
                t.cmk_chain.push(chain_of(
                    resource_types::SQL_SERVER,
                    "rg-sql",
                    "sql1",
                    encryption_scope::TDE_PROTECTOR,
                ))
            })
        },
        rule: "CMK013",
    },
    Quiet {
        case: "container group key in Key Vault",
        policy: "",
        build: || with(|t| t.container_groups.push(container_group("aci1", VAULT_URI, "key_vault"))),
        rule: "CMK014",
    },
    Quiet {
        case: "disk encryption set without error",
        policy: "",
        build: || with(|t| t.disk_encryption_sets.push(encryption_set("des1", None))),
        rule: "CMK015",
    },
    Quiet {
        case: "pinned to the latest version",
        policy: "",
        build: || with(|t| t.cmk_chain[0].configured_key_version = Some("v2".into())),
        rule: "CMK016",
    },
    Quiet {
        case: "pinned to the newest enabled version (the latest is disabled)",
        policy: "",
        build: || {
            with(|t| {
                t.key_versions[1].enabled = Some(false);
                let c = &mut t.cmk_chain[0];
                (c.configured_key_version, c.in_use_key_version) = (Some("v1".into()), Some("v1".into()));
            })
        },
        rule: "CMK016",
    },
    Quiet {
        case: "follows the latest version, adoption pending",
        policy: "",
        build: || with(|t| t.cmk_chain[0].in_use_key_version = Some("v1".into())),
        rule: "CMK016",
    },
    Quiet {
        case: "pinned version not listed",
        policy: "",
        build: || {
            with(|t| {
                let c = &mut t.cmk_chain[0];
                (c.configured_key_version, c.in_use_key_version) = (Some("v0".into()), Some("v0".into()));
            })
        },
        rule: "CMK016",
    },
    Quiet { case: "no type required by default", policy: "", build: microsoft_managed_logs, rule: "CMK017" },
    Quiet {
        case: "required type on CMK",
        policy: "require_cmk = [\"Microsoft.Storage/storageAccounts\"]",
        build: healthy,
        rule: "CMK017",
    },
    Quiet {
        case: "other type required",
        policy: "require_cmk = [\"Microsoft.Sql/servers\"]",
        build: microsoft_managed_logs,
        rule: "CMK017",
    },
    Quiet {
        case: "not_assessed is not not_supported",
        policy: "",
        build: || {
            with(|t| {
                t.coverage.push(coverage("not_assessed", "Microsoft.Web/serverFarms", Some("/x/asp1"), "no collector"))
            })
        },
        rule: "CMK018",
    },
];

#[test]
fn every_rule_fires_where_it_should() {
    for case in FIRES {
        let at = format!("{} ({})", case.rule, case.case);
        let rows = run(&(case.build)(), case.policy);
        let hits: Vec<&FindingRow> = rows.iter().filter(|r| r.rule_id == case.rule).collect();
        assert_eq!(hits.len(), 1, "{at}: expected one finding, got {rows:#?}");
        let f = hits[0];
        assert_eq!(f.resource_id, (case.resource)(), "{at}: resource");
        assert_eq!(f.encryption_scope, case.scope, "{at}: scope");
        assert_eq!(f.severity, case.severity, "{at}: severity");
        assert!(f.evidence.iter().any(|e| e.starts_with(case.deciding)), "{at}: evidence {:?}", f.evidence);
        assert!(f.evidence.iter().all(|e| e.split_once('=').is_some_and(|(col, _)| col.contains('.'))), "{at}");
        assert_eq!((f.tenant_id.as_str(), f.snapshot_id.as_str()), (TENANT, SNAPSHOT), "{at}");
        let rule = RULES.iter().find(|r| r.id == case.rule).expect("rule in catalogue");
        assert_eq!(f.source, rule.source, "{at}");
        assert!(!f.title.is_empty() && !f.title.contains('\n'), "{at}: title {:?}", f.title);
        assert!(f.fix.contains("`az "), "{at}: fix without an az command: {}", f.fix);
        assert!(f.subscription_id.is_some() && f.resource_type.is_some(), "{at}");
    }
}

#[test]
fn rules_stay_quiet_where_they_should() {
    for case in QUIET {
        let rows = run(&(case.build)(), case.policy);
        let hits: Vec<&FindingRow> = rows.iter().filter(|r| r.rule_id == case.rule).collect();
        assert!(hits.is_empty(), "{} ({}): unexpected {hits:#?}", case.rule, case.case);
    }
}

#[test]
fn every_rule_has_a_firing_and_a_quiet_case() {
    for rule in RULES {
        assert!(FIRES.iter().any(|c| c.rule == rule.id), "{}: no firing case", rule.id);
        assert!(QUIET.iter().any(|c| c.rule == rule.id), "{}: no quiet case", rule.id);
    }
}

#[test]
fn the_healthy_estate_has_no_findings() {
    assert_eq!(run(&healthy(), ""), Vec::new());
    let strict = "require_cmk = [\"Microsoft.Storage/storageAccounts\"]\nmax_key_age_days = 31";
    assert_eq!(run(&healthy(), strict), Vec::new());
}

#[test]
fn an_empty_snapshot_has_no_findings() {
    assert!(run(&Tables::default(), "require_cmk = [\"Microsoft.Storage/storageAccounts\"]").is_empty());
}

#[test]
fn catalogue_is_in_id_order_with_valid_severities() {
    let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    let expected: Vec<String> = (1..=18).map(|n| format!("CMK{n:03}")).collect();
    assert_eq!(ids, expected);
    for r in RULES {
        assert!(crate::severity::Severity::parse(r.default_severity).is_some(), "{}", r.id);
        assert!(r.source.contains("seed") && !r.title.is_empty(), "{}", r.id);
    }
}

#[test]
fn identity_fix_follows_the_authorisation_model() {
    let fix_of = |t: Tables| run(&t, "").into_iter().find(|r| r.rule_id == "CMK001").map(|r| r.fix).unwrap_or_default();
    let lacking = |t: &mut Tables| {
        t.cmk_chain[0].identity_has_crypto_role = Some(false);
        t.cmk_chain[0].crypto_roles = Some(Vec::new());
    };
    let rbac = fix_of(with(lacking));
    assert!(rbac.contains("az role assignment create --role \"Key Vault Crypto Service Encryption User\""), "{rbac}");
    assert!(
        rbac.contains(&format!("--assignee-object-id {PRINCIPAL}")) && rbac.contains(&format!("--scope {VAULT_ID}"))
    );
    let policy = fix_of(with(|t| {
        lacking(t);
        t.cmk_chain[0].vault_rbac_authorization = Some(false);
    }));
    assert!(
        policy.contains(&format!(
            "az keyvault set-policy --name kv1 --object-id {PRINCIPAL} --key-permissions get wrapKey unwrapKey"
        )),
        "{policy}"
    );
    let hsm = fix_of(with(|t| {
        lacking(t);
        t.cmk_chain[0].key_vault_uri = Some(HSM_URI.into());
        t.cmk_chain[0].vault_kind = Some("managed_hsm".into());
    }));
    assert!(hsm.contains("az keyvault role assignment create --hsm-name hsm1"), "{hsm}");
    assert!(hsm.contains("--scope /keys/cmk"), "{hsm}");
}

#[test]
fn absent_purge_protection_is_explained() {
    let rows = run(&with(|t| t.key_vaults[0].purge_protection_enabled = None), "");
    let f = rows.iter().find(|r| r.rule_id == "CMK005").expect("CMK005");
    assert!(f.title.contains("not enabled (Azure omits the property when it was never enabled)"), "{}", f.title);
    assert!(f.evidence.contains(&format!("cmk_chain.resource_id={ACCOUNT_ID}")), "{:?}", f.evidence);
    assert!(f.fix.contains("az keyvault update --name kv1 --resource-group rg-keys --enable-purge-protection true"));
    let off = run(&with(|t| t.key_vaults[0].purge_protection_enabled = Some(false)), "");
    let f = off.iter().find(|r| r.rule_id == "CMK005").expect("CMK005");
    assert!(f.title.contains("purge protection off"), "{}", f.title);
}

#[test]
fn bindings_behind_a_disk_encryption_set_name_it() {
    let t = with(|t| {
        let mut disk = chain_of(resource_types::DISK, "rg-compute", "disk1", encryption_scope::DISK);
        disk.key_via_resource_id = Some(des1());
        (disk.identity_has_crypto_role, disk.crypto_roles) = (Some(false), Some(vec![]));
        t.cmk_chain.push(disk);
    });
    let rows = run(&t, "");
    let f = rows.iter().find(|r| r.rule_id == "CMK001").expect("CMK001 on the disk");
    assert_eq!(f.encryption_scope, "disk");
    assert!(f.evidence.contains(&format!("cmk_chain.key_via_resource_id={}", des1())), "{:?}", f.evidence);
    assert!(f.title.contains("through disk encryption set des1"), "{}", f.title);
}

#[test]
fn vault_findings_list_at_most_ten_bindings() {
    let t = with(|t| {
        t.key_vaults[0].purge_protection_enabled = None;
        for n in 0..12 {
            t.cmk_chain.push(chain_of(resource_types::STORAGE_ACCOUNT, "rg-more", &format!("st{n:02}"), "account"));
        }
    });
    let rows = run(&t, "");
    let f = rows.iter().find(|r| r.rule_id == "CMK005").expect("CMK005");
    let listed = f.evidence.iter().filter(|e| e.starts_with("cmk_chain.resource_id=/")).count();
    assert_eq!(listed, 10);
    assert!(f.evidence.contains(&"cmk_chain.resource_id=… and 3 more".to_string()), "{:?}", f.evidence);
    assert!(f.title.contains("13 CMK bindings use its keys"), "{}", f.title);
}

/// Many rules at once, for the determinism tests.
fn broken_estate() -> Tables {
    let mut t = with(|t| {
        t.key_vaults[0].purge_protection_enabled = None;
        t.key_vaults[0].public_network_access = Some("Disabled".into());
        t.key_vaults[0].network_bypass = Some("None".into());
        t.rotation_policies[0] = rotation_policy(VAULT_URI, "cmk", false);
        t.keys[0].created_at = Some(days(-500));
        t.cmk_chain[0].key_enabled = Some(false);
        t.cmk_chain[0].identity_has_crypto_role = Some(false);
        t.role_assignments.push(assignment(VAULT_ID, ADMIN, CRYPTO_OFFICER));
        t.role_assignments.push(assignment(&format!("/subscriptions/{SUB}"), ADMIN, OWNER));
        t.container_groups.push(container_group("aci1", HSM_URI, "managed_hsm"));
        t.disk_encryption_sets.push(encryption_set("des1", Some("ManagedServiceIdentityNotFound")));
        t.coverage.push(coverage("not_supported", resource_types::WEB_SITE, Some(&site1()), "no CMK"));
    });
    // Only the rows these builders add to the healthy estate.
    t.cmk_chain.extend(microsoft_managed_logs().cmk_chain.into_iter().skip(1));
    let mi = managed_instance(true);
    t.cmk_chain.extend(mi.cmk_chain.into_iter().skip(1));
    t.sql_servers.extend(mi.sql_servers);
    t
}

#[test]
fn evaluation_is_deterministic_and_independent_of_row_order() {
    let policy = "require_cmk = [\"Microsoft.Storage/storageAccounts\"]";
    let t = broken_estate();
    let first = run(&t, policy);
    assert!(first.len() >= 12, "{first:#?}");
    assert_eq!(first, run(&t, policy));
    let mut reversed = t.clone();
    macro_rules! reverse {
        ($field:ident, $row:ty) => {
            reversed.$field.reverse();
        };
    }
    evidence::for_each_table!(reverse);
    assert_eq!(first, run(&reversed, policy));
    let mut sorted = first.clone();
    FindingRow::sort(&mut sorted);
    assert_eq!(first, sorted, "output is sorted by the findings table's key");
    let mut keys: Vec<_> = first.iter().map(|r| (&r.rule_id, &r.resource_id, &r.encryption_scope)).collect();
    keys.dedup();
    assert_eq!(keys.len(), first.len(), "one finding per rule × resource × scope");
}

#[test]
fn implicit_and_explicit_rotation_policies_are_told_apart() {
    let title_of = |t: Tables| run(&t, "").into_iter().find(|r| r.rule_id == "CMK007").map(|r| r.title);
    let implicit = title_of(with(|t| t.rotation_policies[0] = rotation_policy(VAULT_URI, "cmk", false)));
    assert!(implicit.is_some_and(|t| t.contains("no rotation policy of its own")));
    let explicit = title_of(with(|t| {
        t.rotation_policies[0] = rotation_policy(VAULT_URI, "cmk", false);
        t.rotation_policies[0].created_at = Some(days(-10));
    }));
    assert!(explicit.is_some_and(|t| t.contains("a rotation policy without a Rotate action")));
}
