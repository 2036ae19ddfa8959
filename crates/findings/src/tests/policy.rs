//! Policy file tests: defaults, overrides, disabled rules, and errors that name the origin and the line.

use super::fixtures::*;
use crate::{Error, Policy, evaluate};

fn policy_error(text: &str) -> (Option<usize>, String, String) {
    match Policy::from_toml_str(text, "tenants/contoso/policy.toml") {
        Ok(p) => panic!("expected an error for {text:?}, got {p:?}"),
        Err(e @ Error::Policy { .. }) => {
            let shown = e.to_string();
            let Error::Policy { line, message, .. } = e else { unreachable!("matched above") };
            (line, message, shown)
        }
        Err(e) => panic!("expected a policy error, got {e}"),
    }
}

#[test]
fn defaults_are_the_built_in_policy() {
    let p = Policy::default();
    assert_eq!(p.require_cmk(), &[] as &[String]);
    assert_eq!((p.max_key_age_days(), p.expiry_warning_days()), (365, 30));
    assert!(crate::RULES.iter().all(|r| p.is_enabled(r.id)));
    assert!(crate::RULES.iter().all(|r| p.severity(r.id) == Some(r.default_severity)));
    assert_eq!(p.severity("CMK999"), None);
    let empty = Policy::from_toml_str("# nothing set\n", "empty").expect("empty policy");
    assert_eq!(format!("{empty:?}"), format!("{p:?}"));
}

#[test]
fn overrides_change_thresholds_and_severities() {
    let p = Policy::from_toml_str(
        "require_cmk = [\"Microsoft.Storage/storageAccounts\", \"Microsoft.Sql/servers\"]\n\
         max_key_age_days = 180\nexpiry_warning_days = 60\n[severity]\nCMK004 = \"high\"\ncmk016 = \"info\"\n",
        "test",
    )
    .expect("valid policy");
    assert_eq!(p.require_cmk().len(), 2);
    assert_eq!((p.max_key_age_days(), p.expiry_warning_days()), (180, 60));
    assert_eq!(p.severity("CMK004"), Some("high"));
    assert_eq!(p.severity("CMK016"), Some("info"));
    assert_eq!(p.severity("CMK001"), Some("high"));
    let mut t = healthy();
    t.cmk_chain[0].key_expires_at = Some(days(50));
    let rows = evaluate(&t, &p, taken_at());
    let f = rows.iter().find(|r| r.rule_id == "CMK004").expect("CMK004 inside 60 days");
    assert_eq!(f.severity, "high");
}

#[test]
fn disabled_rules_produce_nothing() {
    let mut t = healthy();
    t.key_vaults[0].purge_protection_enabled = None;
    t.key_vaults[0].soft_delete_enabled = Some(false);
    let p = Policy::from_toml_str("disabled_rules = [\"CMK005\"]", "test").expect("valid policy");
    assert!(!p.is_enabled("CMK005") && p.is_enabled("CMK006"));
    let rules: Vec<String> = evaluate(&t, &p, taken_at()).into_iter().map(|r| r.rule_id).collect();
    assert_eq!(rules, vec!["CMK006".to_string()]);
}

#[test]
fn unknown_key_is_an_error_with_its_line() {
    let (line, message, shown) = policy_error("max_key_age_days = 90\n\nrequire_cmk_types = []\n");
    assert_eq!(line, Some(3));
    assert!(message.contains("require_cmk_types"), "{message}");
    assert!(shown.starts_with("tenants/contoso/policy.toml:3: "), "{shown}");
    let (line, message, _) = policy_error("[severity]\nCMK004 = \"high\"\n[thresholds]\nx = 1\n");
    assert_eq!(line, Some(3), "{message}");
}

#[test]
fn bad_severity_is_an_error_with_its_line() {
    let (line, message, _) = policy_error("max_key_age_days = 90\n[severity]\nCMK004 = \"urgent\"\n");
    assert_eq!(line, Some(3));
    assert!(message.contains("\"urgent\"") && message.contains("info, low, medium, high, critical"), "{message}");
    let (line, message, _) = policy_error("[severity]\nCMK004 = 3\n");
    assert_eq!(line, Some(2), "{message}");
}

#[test]
fn unknown_rule_ids_are_errors_with_their_line() {
    let (line, message, _) = policy_error("disabled_rules = [\n  \"CMK005\",\n  \"CMK099\",\n]\n");
    assert_eq!(line, Some(3));
    assert!(message.contains("CMK099") && message.contains("CMK001"), "{message}");
    let (line, message, _) = policy_error("\n[severity]\nCMK404 = \"low\"\n");
    assert_eq!(line, Some(3));
    assert!(message.contains("CMK404"), "{message}");
}

#[test]
fn values_out_of_range_or_malformed_are_errors() {
    let cases = [
        ("max_key_age_days = 0", 1, "max_key_age_days"),
        ("expiry_warning_days = -1", 1, "expiry_warning_days"),
        ("\nmax_key_age_days = \"a year\"", 2, ""),
        ("require_cmk = [\"storageAccounts\"]", 1, "Namespace/type"),
        ("require_cmk = \"Microsoft.Storage/storageAccounts\"", 1, ""),
        ("max_key_age_days = ", 1, ""),
    ];
    for (text, expected_line, needle) in cases {
        let (line, message, _) = policy_error(text);
        assert_eq!(line, Some(expected_line), "{text}: {message}");
        assert!(message.contains(needle), "{text}: {message}");
    }
}

#[test]
fn the_example_file_is_valid_and_documents_the_defaults() {
    let text = include_str!("../../policy.example.toml");
    let p = Policy::from_toml_str(text, "policy.example.toml").expect("the example parses");
    assert_eq!(p.require_cmk(), ["Microsoft.Storage/storageAccounts".to_string(), "Microsoft.Sql/servers".to_string()]);
    assert_eq!((p.max_key_age_days(), p.expiry_warning_days()), (365, 30));
    assert!(!p.is_enabled("CMK018"));
    assert_eq!(p.severity("CMK004"), Some("high"));
}

#[test]
fn from_path_names_the_file() {
    let missing = std::path::Path::new("/nonexistent/cmk-evidence/policy.toml");
    let err = Policy::from_path(missing).expect_err("missing file");
    assert!(matches!(err, Error::Read { .. }));
    assert!(err.to_string().contains("/nonexistent/cmk-evidence/policy.toml"), "{err}");
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policy.example.toml");
    assert!(Policy::from_path(&example).is_ok());
}
