//! The per-tenant policy (`policy.toml`): which ARM types must use CMK, the age and expiry thresholds, rules
//! turned off and severities changed. Parsing keeps the span of every value so that an error names the line.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::Error;
use crate::rules::{RULES, RuleInfo};
use crate::severity::Severity;

/// Thresholds and switches of the rules. [`Policy::default`] is the built-in policy: no type requires CMK,
/// keys older than 365 days and versions expiring within 30 days are reported, every rule is on at its own
/// severity.
#[derive(Debug, Clone)]
pub struct Policy {
    require_cmk: Vec<String>,
    max_key_age_days: u32,
    expiry_warning_days: u32,
    disabled_rules: BTreeSet<&'static str>,
    severity: BTreeMap<&'static str, Severity>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            require_cmk: Vec::new(),
            max_key_age_days: 365,
            expiry_warning_days: 30,
            disabled_rules: BTreeSet::new(),
            severity: BTreeMap::new(),
        }
    }
}

/// The file as written; every value keeps its span for error messages.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    require_cmk: Option<Vec<Spanned<String>>>,
    max_key_age_days: Option<Spanned<i64>>,
    expiry_warning_days: Option<Spanned<i64>>,
    disabled_rules: Option<Vec<Spanned<String>>>,
    severity: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
}

impl Policy {
    /// Parses a policy from TOML text. `origin` names where the text came from (a path) in errors, which also
    /// give the line of the offending key or value.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Policy, Error> {
        let at = |span: Option<Range<usize>>, message: String| Error::Policy {
            origin: origin.to_string(),
            line: span.map(|s| line_of(text, s.start)),
            message,
        };
        let file: PolicyFile = toml::from_str(text).map_err(|e| at(e.span(), e.message().trim().to_string()))?;
        let mut policy = Policy::default();

        for entry in file.require_cmk.unwrap_or_default() {
            let ty = entry.get_ref().trim();
            let mut parts = ty.split('/');
            let valid = parts.next().is_some_and(|ns| ns.contains('.')) && parts.all(|p| !p.is_empty());
            if !valid || !ty.contains('/') {
                return Err(at(
                    Some(entry.span()),
                    format!(
                        "require_cmk: {ty:?} is not an ARM resource type; write it as \"Namespace/type\", e.g. \
                         \"Microsoft.Storage/storageAccounts\""
                    ),
                ));
            }
            if !policy.require_cmk.iter().any(|t| t.eq_ignore_ascii_case(ty)) {
                policy.require_cmk.push(ty.to_string());
            }
        }
        if let Some(days) = file.max_key_age_days {
            policy.max_key_age_days = days_in(&days, 1, 36_500)
                .ok_or_else(|| at(Some(days.span()), range_message("max_key_age_days", *days.get_ref(), 1, 36_500)))?;
        }
        if let Some(days) = file.expiry_warning_days {
            policy.expiry_warning_days = days_in(&days, 0, 3_650).ok_or_else(|| {
                at(Some(days.span()), range_message("expiry_warning_days", *days.get_ref(), 0, 3_650))
            })?;
        }
        for entry in file.disabled_rules.unwrap_or_default() {
            let rule = rule_named(entry.get_ref())
                .ok_or_else(|| at(Some(entry.span()), unknown_rule("disabled_rules", entry.get_ref())))?;
            policy.disabled_rules.insert(rule.id);
        }
        for (key, value) in file.severity.unwrap_or_default() {
            let rule = rule_named(key.get_ref())
                .ok_or_else(|| at(Some(key.span()), unknown_rule("[severity]", key.get_ref())))?;
            let severity = Severity::parse(value.get_ref().trim()).ok_or_else(|| {
                at(
                    Some(value.span()),
                    format!(
                        "[severity] {}: {:?} is not a severity; use one of {}",
                        rule.id,
                        value.get_ref(),
                        Severity::ALL.map(Severity::as_str).join(", ")
                    ),
                )
            })?;
            policy.severity.insert(rule.id, severity);
        }
        Ok(policy)
    }

    /// Reads and parses a policy file; errors name the path and the line.
    pub fn from_path(path: &Path) -> Result<Policy, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
        Policy::from_toml_str(&text, &path.display().to_string())
    }

    /// ARM types that must use customer-managed keys (CMK017), as written in the policy.
    pub fn require_cmk(&self) -> &[String] {
        &self.require_cmk
    }

    /// CMK008 reports keys whose latest version is older than this many days.
    pub fn max_key_age_days(&self) -> u32 {
        self.max_key_age_days
    }

    /// CMK004 reports versions in use that expire within this many days (0: never).
    pub fn expiry_warning_days(&self) -> u32 {
        self.expiry_warning_days
    }

    /// Whether the rule with this id produces findings.
    pub fn is_enabled(&self, rule_id: &str) -> bool {
        !self.disabled_rules.contains(rule_id)
    }

    /// The severity findings of the rule with this id get (the policy's, else the rule's default); `None` for
    /// an id no rule has.
    pub fn severity(&self, rule_id: &str) -> Option<&'static str> {
        RULES.iter().find(|r| r.id == rule_id).map(|r| self.severity_of(r).as_str())
    }

    /// Whether `resource_type` is one the policy requires CMK for.
    pub(crate) fn requires_cmk(&self, resource_type: &str) -> bool {
        self.require_cmk.iter().any(|t| t.eq_ignore_ascii_case(resource_type))
    }

    pub(crate) fn severity_of(&self, rule: &RuleInfo) -> Severity {
        self.severity
            .get(rule.id)
            .copied()
            .or_else(|| Severity::parse(rule.default_severity))
            // Every default is a valid severity (a test checks); high keeps a typo visible rather than hidden.
            .unwrap_or(Severity::High)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

fn days_in(value: &Spanned<i64>, min: i64, max: i64) -> Option<u32> {
    let v = *value.get_ref();
    if (min..=max).contains(&v) { u32::try_from(v).ok() } else { None }
}

fn range_message(key: &str, value: i64, min: i64, max: i64) -> String {
    format!("{key} = {value} is out of range; use a whole number of days from {min} to {max}")
}

fn rule_named(text: &str) -> Option<&'static RuleInfo> {
    let id = text.trim();
    RULES.iter().find(|r| r.id.eq_ignore_ascii_case(id))
}

fn unknown_rule(key: &str, text: &str) -> String {
    let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    format!("{key}: {text:?} is not a rule id; the rules are {}", ids.join(", "))
}
