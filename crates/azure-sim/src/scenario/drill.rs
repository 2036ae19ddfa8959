//! Drills: the changes a scenario's `[[drill]]` lists for `cmk-evidence demo` to apply to a running simulator
//! between its two collections (rotate a key, advance the clock, disable or enable a key version, remove a role
//! assignment, change a vault setting). Checked against the estate when the scenario loads — by rehearsing them
//! on a copy — and applied one at a time at run time, each reporting what happened.

use std::fmt;

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;

use super::validation::{Validator, is_version_id};
use super::*;
use crate::timestamps::parse_iso_duration;

/// One change of a drill: what a `[[drill]]` entry of a scenario file parses into (tagged by `action`, unknown
/// fields refused), and what [`RunningSim::apply_drill_step`](crate::RunningSim::apply_drill_step) applies.
/// A scenario's entries are checked when it loads ([`Scenario::drill`]); a step built in code is checked when
/// applied.
///
/// ```toml
/// [[drill]]
/// action = "rotate_key"
/// vault = "kv-contoso-prod"
/// key = "cmk-storage-prod"
///
/// [[drill]]
/// action = "advance_clock"
/// by = "PT3H"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum DrillStep {
    /// `rotate_key`: create a new version of a key, as
    /// [`RunningSim::rotate_key`](crate::RunningSim::rotate_key) does.
    RotateKey {
        /// Vault or managed HSM name.
        vault: String,
        /// Key name.
        key: String,
    },
    /// `advance_clock`: move the simulator's clock forward; resources adopt rotated versions whose time has come.
    AdvanceClock {
        /// ISO 8601 duration, e.g. `PT3H` (a year counts 365 days, a month 30).
        by: String,
    },
    /// `disable_version`: disable one key version.
    DisableVersion {
        /// Vault or managed HSM name.
        vault: String,
        /// Key name.
        key: String,
        /// A version id (32 hex digits), `#N` (the N-th oldest, 1-based), or `previous`: resolved when the step
        /// is applied, the newest version older than the key's newest (so after a rotation earlier in the drill,
        /// the version the rotation replaced).
        version: String,
    },
    /// `enable_version`: re-enable one key version.
    EnableVersion {
        /// Vault or managed HSM name.
        vault: String,
        /// Key name.
        key: String,
        /// As for [`DrillStep::DisableVersion`].
        version: String,
    },
    /// `remove_role_assignment`: remove role assignments, as
    /// [`RunningSim::remove_role_assignment`](crate::RunningSim::remove_role_assignment) does.
    RemoveRoleAssignment {
        /// Object id of the principal.
        principal_id: String,
        /// An ARM scope, or `hsm:<hsm name>:<local scope>` for Managed HSM local RBAC.
        scope: String,
        /// Role definition GUID; absent = every role of the principal at that scope.
        #[serde(default)]
        role: Option<String>,
    },
    /// `set_vault`: change a protection or network setting of a vault or managed HSM, as
    /// [`RunningSim::set_vault_setting`](crate::RunningSim::set_vault_setting) does.
    SetVault {
        /// Vault or managed HSM name.
        vault: String,
        /// `soft_delete`, `soft_delete_retention_days`, `purge_protection`, `rbac_authorization`,
        /// `public_network_access`, `network_default_action` or `network_bypass`.
        setting: String,
        /// A boolean, integer or string as the setting needs; absent = the property becomes absent.
        #[serde(default)]
        value: Option<SettingValue>,
    },
}

impl DrillStep {
    /// The `action` a scenario file writes for this step, e.g. `rotate_key`.
    pub fn action(&self) -> &'static str {
        match self {
            DrillStep::RotateKey { .. } => "rotate_key",
            DrillStep::AdvanceClock { .. } => "advance_clock",
            DrillStep::DisableVersion { .. } => "disable_version",
            DrillStep::EnableVersion { .. } => "enable_version",
            DrillStep::RemoveRoleAssignment { .. } => "remove_role_assignment",
            DrillStep::SetVault { .. } => "set_vault",
        }
    }
}

/// How a version reference reads in a sentence: `version 9531985d…`, `version #2`, `the previous version`.
fn version_phrase(reference: &str) -> String {
    if reference.eq_ignore_ascii_case("previous") {
        "the previous version".into()
    } else if is_version_id(reference) {
        format!("version {}…", &reference[..8])
    } else {
        format!("version {reference}")
    }
}

impl fmt::Display for DrillStep {
    /// One short line, e.g. `rotate key kv-contoso-prod/cmk-storage-prod`, `advance the clock by PT3H`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DrillStep::RotateKey { vault, key } => write!(f, "rotate key {vault}/{key}"),
            DrillStep::AdvanceClock { by } => write!(f, "advance the clock by {by}"),
            DrillStep::DisableVersion { vault, key, version } => {
                write!(f, "disable {} of {vault}/{key}", version_phrase(version))
            }
            DrillStep::EnableVersion { vault, key, version } => {
                write!(f, "enable {} of {vault}/{key}", version_phrase(version))
            }
            DrillStep::RemoveRoleAssignment { principal_id, scope, role } => {
                write!(f, "remove role assignment of {principal_id} at {scope}")?;
                match role {
                    Some(r) => write!(f, " (role {r})"),
                    None => Ok(()),
                }
            }
            DrillStep::SetVault { vault, setting, value } => match value {
                Some(v) => write!(f, "set {setting} = {v} on {vault}"),
                None => write!(f, "set {setting} = (absent) on {vault}"),
            },
        }
    }
}

/// A `set_vault` drill entry's `value` as written: a boolean, an integer or a string.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SettingValue {
    /// `true` or `false`.
    Bool(bool),
    /// A whole number, e.g. a retention in days.
    Integer(i64),
    /// A string, e.g. `Enabled`.
    Text(String),
}

impl SettingValue {
    fn describe(&self) -> String {
        match self {
            SettingValue::Bool(b) => format!("the boolean {b}"),
            SettingValue::Integer(n) => format!("the integer {n}"),
            SettingValue::Text(s) => format!("the string \"{s}\""),
        }
    }
}

impl fmt::Display for SettingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingValue::Bool(b) => write!(f, "{b}"),
            SettingValue::Integer(n) => write!(f, "{n}"),
            SettingValue::Text(s) => f.write_str(s),
        }
    }
}

/// A protection or network setting of a vault or managed HSM, for
/// [`RunningSim::set_vault_setting`](crate::RunningSim::set_vault_setting). `None` makes the property ABSENT
/// from what ARM serves (absent is not false), as leaving it out of the scenario file does.
///
/// Real Azure refuses some of these changes: purge protection cannot be turned off once on, and soft delete
/// cannot be turned off on current vaults (it is always on since 2020; `enableSoftDelete: false` is rejected).
/// The simulator allows them anyway, so that a drill can model an estate where they are off — a vault recreated
/// without purge protection, or an old vault that never had soft delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultSetting {
    /// `enableSoftDelete` (`soft_delete`).
    SoftDelete(Option<bool>),
    /// `softDeleteRetentionInDays` (`soft_delete_retention_days`), 7 to 90.
    SoftDeleteRetentionDays(Option<u32>),
    /// `enablePurgeProtection` (`purge_protection`).
    PurgeProtection(Option<bool>),
    /// `enableRbacAuthorization` (`rbac_authorization`); vaults only (a managed HSM always uses local RBAC).
    RbacAuthorization(Option<bool>),
    /// `publicNetworkAccess` (`public_network_access`), e.g. `Enabled`, `Disabled`.
    PublicNetworkAccess(Option<String>),
    /// `networkAcls.defaultAction` (`network_default_action`): `Allow` or `Deny`.
    NetworkDefaultAction(Option<String>),
    /// `networkAcls.bypass` (`network_bypass`): `AzureServices` or `None`.
    NetworkBypass(Option<String>),
}

/// Every setting name `set_vault` accepts, in the order of [`VaultSetting`]'s variants.
const SETTING_NAMES: &[&str] = &[
    "soft_delete",
    "soft_delete_retention_days",
    "purge_protection",
    "rbac_authorization",
    "public_network_access",
    "network_default_action",
    "network_bypass",
];

impl VaultSetting {
    /// The name a scenario file's `set_vault` uses for this setting, e.g. `public_network_access`.
    pub fn name(&self) -> &'static str {
        match self {
            VaultSetting::SoftDelete(_) => "soft_delete",
            VaultSetting::SoftDeleteRetentionDays(_) => "soft_delete_retention_days",
            VaultSetting::PurgeProtection(_) => "purge_protection",
            VaultSetting::RbacAuthorization(_) => "rbac_authorization",
            VaultSetting::PublicNetworkAccess(_) => "public_network_access",
            VaultSetting::NetworkDefaultAction(_) => "network_default_action",
            VaultSetting::NetworkBypass(_) => "network_bypass",
        }
    }

    /// The setting a `set_vault` entry names, with its value checked for type. `Err` says what is wrong.
    pub(crate) fn from_drill(setting: &str, value: Option<&SettingValue>) -> Result<VaultSetting, String> {
        let wrong = |wanted: &str, got: &SettingValue| {
            format!("{setting} takes {wanted}, not {} (leave value out to make the property absent)", got.describe())
        };
        let boolean = || match value {
            None => Ok(None),
            Some(SettingValue::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(wrong("true or false", other)),
        };
        let text = || match value {
            None => Ok(None),
            Some(SettingValue::Text(s)) => Ok(Some(s.clone())),
            Some(other) => Err(wrong("a string", other)),
        };
        Ok(match setting {
            "soft_delete" => VaultSetting::SoftDelete(boolean()?),
            "soft_delete_retention_days" => VaultSetting::SoftDeleteRetentionDays(match value {
                None => None,
                Some(SettingValue::Integer(n)) => {
                    Some(u32::try_from(*n).map_err(|_| format!("{n} is outside Azure's range 7..=90"))?)
                }
                Some(other) => return Err(wrong("a number of days", other)),
            }),
            "purge_protection" => VaultSetting::PurgeProtection(boolean()?),
            "rbac_authorization" => VaultSetting::RbacAuthorization(boolean()?),
            "public_network_access" => VaultSetting::PublicNetworkAccess(text()?),
            "network_default_action" => VaultSetting::NetworkDefaultAction(text()?),
            "network_bypass" => VaultSetting::NetworkBypass(text()?),
            other => {
                return Err(format!("unknown setting '{other}' (settings: {})", SETTING_NAMES.join(", ")));
            }
        })
    }

    /// Whether a vault (or managed HSM) can take this setting. `Err` says why not.
    fn check(&self, kind: ContainerKind) -> Result<(), String> {
        match self {
            VaultSetting::SoftDeleteRetentionDays(Some(d)) if !(7..=90).contains(d) => {
                Err(format!("{d} is outside Azure's range 7..=90"))
            }
            VaultSetting::RbacAuthorization(_) if kind == ContainerKind::ManagedHsm => {
                Err("a managed HSM always uses its local RBAC; rbac_authorization applies to vaults only".into())
            }
            VaultSetting::PublicNetworkAccess(Some(s))
            | VaultSetting::NetworkDefaultAction(Some(s))
            | VaultSetting::NetworkBypass(Some(s))
                if s.trim().is_empty() =>
            {
                Err("an empty string is not a value (leave value out to make the property absent)".into())
            }
            _ => Ok(()),
        }
    }

    /// The value as a drill line writes it: `true`, `90`, `Enabled` or `(absent)`.
    fn value_text(&self) -> String {
        let shown = match self {
            VaultSetting::SoftDelete(v) | VaultSetting::PurgeProtection(v) | VaultSetting::RbacAuthorization(v) => {
                v.map(|b| b.to_string())
            }
            VaultSetting::SoftDeleteRetentionDays(v) => v.map(|d| d.to_string()),
            VaultSetting::PublicNetworkAccess(v)
            | VaultSetting::NetworkDefaultAction(v)
            | VaultSetting::NetworkBypass(v) => v.clone(),
        };
        shown.unwrap_or_else(|| "(absent)".into())
    }
}

impl fmt::Display for VaultSetting {
    /// `name = value`, e.g. `public_network_access = Enabled`, `purge_protection = (absent)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}", self.name(), self.value_text())
    }
}

/// The protection and network fields a vault and a managed HSM share (RBAC mode: vaults only).
struct SettingFields<'a> {
    soft_delete: &'a mut Option<bool>,
    retention_days: &'a mut Option<u32>,
    purge_protection: &'a mut Option<bool>,
    rbac_authorization: Option<&'a mut Option<bool>>,
    public_network_access: &'a mut Option<String>,
    network_acls: &'a mut Option<NetworkAclsSpec>,
}

#[derive(Clone, Copy)]
enum AclField {
    DefaultAction,
    Bypass,
}

impl SettingFields<'_> {
    fn read(&self, like: &VaultSetting) -> VaultSetting {
        let acl = |field: AclField| {
            self.network_acls.as_ref().and_then(|a| match field {
                AclField::DefaultAction => a.default_action.clone(),
                AclField::Bypass => a.bypass.clone(),
            })
        };
        match like {
            VaultSetting::SoftDelete(_) => VaultSetting::SoftDelete(*self.soft_delete),
            VaultSetting::SoftDeleteRetentionDays(_) => VaultSetting::SoftDeleteRetentionDays(*self.retention_days),
            VaultSetting::PurgeProtection(_) => VaultSetting::PurgeProtection(*self.purge_protection),
            VaultSetting::RbacAuthorization(_) => {
                VaultSetting::RbacAuthorization(self.rbac_authorization.as_ref().and_then(|r| **r))
            }
            VaultSetting::PublicNetworkAccess(_) => {
                VaultSetting::PublicNetworkAccess(self.public_network_access.clone())
            }
            VaultSetting::NetworkDefaultAction(_) => VaultSetting::NetworkDefaultAction(acl(AclField::DefaultAction)),
            VaultSetting::NetworkBypass(_) => VaultSetting::NetworkBypass(acl(AclField::Bypass)),
        }
    }

    fn write(self, setting: VaultSetting) {
        match setting {
            VaultSetting::SoftDelete(v) => *self.soft_delete = v,
            VaultSetting::SoftDeleteRetentionDays(v) => *self.retention_days = v,
            VaultSetting::PurgeProtection(v) => *self.purge_protection = v,
            VaultSetting::RbacAuthorization(v) => {
                if let Some(r) = self.rbac_authorization {
                    *r = v;
                }
            }
            VaultSetting::PublicNetworkAccess(v) => *self.public_network_access = v,
            VaultSetting::NetworkDefaultAction(v) => set_acl(self.network_acls, AclField::DefaultAction, v),
            VaultSetting::NetworkBypass(v) => set_acl(self.network_acls, AclField::Bypass, v),
        }
    }
}

/// Set one field of `networkAcls`. A vault without `networkAcls` gets one with the other fields at Azure's
/// defaults (bypass `AzureServices`, default action `Allow`, no rules); making a field absent where there is no
/// `networkAcls` at all leaves it absent.
fn set_acl(acls: &mut Option<NetworkAclsSpec>, field: AclField, value: Option<String>) {
    if acls.is_none() && value.is_none() {
        return;
    }
    let acls = acls.get_or_insert_with(|| NetworkAclsSpec {
        bypass: some_azure_services(),
        default_action: some_allow(),
        ip_rules: Vec::new(),
        virtual_network_rules: Vec::new(),
    });
    match field {
        AclField::DefaultAction => acls.default_action = value,
        AclField::Bypass => acls.bypass = value,
    }
}

/// Where a role assignment to remove lives: an ARM scope, or a Managed HSM's local scope.
enum RoleScope {
    /// Lower-case segments of the ARM scope.
    Arm(Vec<String>),
    /// Lower-case HSM name and segments of its local scope (`/` = none).
    Hsm { hsm: String, scope: Vec<String> },
}

impl RoleScope {
    /// `/subscriptions/...` or `hsm:<hsm name>:<local scope>`; `Err` says what a scope looks like.
    fn parse(scope: &str) -> Result<RoleScope, String> {
        if scope.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("hsm:")) {
            let (hsm, local) =
                scope[4..].split_once(':').filter(|(h, l)| !h.is_empty() && l.starts_with('/')).ok_or_else(|| {
                    format!(
                        "'{scope}' is not hsm:<hsm name>:<local scope>, e.g. hsm:mhsm-contoso-prod:/keys/cmk-hsm-aci"
                    )
                })?;
            return Ok(RoleScope::Hsm { hsm: hsm.to_ascii_lowercase(), scope: scope_key(local) });
        }
        if !scope.starts_with('/') {
            return Err(format!(
                "'{scope}' is neither an ARM scope (/subscriptions/...) nor a Managed HSM scope \
                 (hsm:<hsm name>:<local scope>)"
            ));
        }
        Ok(RoleScope::Arm(scope_key(scope)))
    }
}

/// The GUID of a role given as a GUID or as a role definition id.
fn role_guid(role: &str) -> String {
    role.rsplit('/').next().unwrap_or(role).to_ascii_lowercase()
}

/// RFC 3339 without fractions, for drill lines.
fn when(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| crate::timestamps::arm(t))
}

/// A resource bound to a key of the scenario.
struct KeyUser<'a> {
    name: &'a str,
    in_use: &'a str,
    pending: Option<&'a (String, OffsetDateTime)>,
}

impl Scenario {
    /// Remove the ARM role assignments (or, for an `hsm:<name>:<scope>` scope, Managed HSM local ones) of
    /// `principal_id` at exactly `scope` (case-insensitive, trailing `/` ignored), of `role` when given.
    /// Returns how many were removed; none is an error.
    pub(crate) fn remove_role_assignment(
        &mut self,
        principal_id: &str,
        scope: &str,
        role: Option<&str>,
    ) -> Result<usize, Error> {
        let none = || Error::NoRoleAssignment {
            principal_id: principal_id.to_string(),
            scope: scope.to_string(),
            role: role.map(str::to_string),
        };
        let target = RoleScope::parse(scope).map_err(|_| none())?;
        let role = role.map(role_guid);
        let matches = |principal: &str, assigned_role: &str| {
            principal.eq_ignore_ascii_case(principal_id)
                && role.as_deref().is_none_or(|r| role_guid(assigned_role) == r)
        };
        let removed = match target {
            RoleScope::Arm(key) => {
                let before = self.role_assignments.len();
                self.role_assignments.retain(|r| !(r.scope_key == key && matches(&r.principal_id, &r.role)));
                before - self.role_assignments.len()
            }
            RoleScope::Hsm { hsm, scope } => {
                let before = self.hsm_role_assignments.len();
                self.hsm_role_assignments
                    .retain(|r| !(r.hsm == hsm && r.scope_key == scope && matches(&r.principal_id, &r.role)));
                before - self.hsm_role_assignments.len()
            }
        };
        if removed == 0 { Err(none()) } else { Ok(removed) }
    }

    /// The settings of vault or managed HSM `name`, for reading and writing.
    fn setting_fields(&mut self, name: &str) -> Option<SettingFields<'_>> {
        if let Some(v) = self.vaults.iter_mut().find(|v| v.id.name.eq_ignore_ascii_case(name)) {
            let s = &mut v.spec;
            return Some(SettingFields {
                soft_delete: &mut s.soft_delete,
                retention_days: &mut s.soft_delete_retention_days,
                purge_protection: &mut s.purge_protection,
                rbac_authorization: Some(&mut s.rbac_authorization),
                public_network_access: &mut s.public_network_access,
                network_acls: &mut s.network_acls,
            });
        }
        let h = self.managed_hsms.iter_mut().find(|h| h.id.name.eq_ignore_ascii_case(name))?;
        let s = &mut h.spec;
        Some(SettingFields {
            soft_delete: &mut s.soft_delete,
            retention_days: &mut s.soft_delete_retention_days,
            purge_protection: &mut s.purge_protection,
            rbac_authorization: None,
            public_network_access: &mut s.public_network_access,
            network_acls: &mut s.network_acls,
        })
    }

    /// Change one setting of a vault or managed HSM; ARM serves it from then on, and the data plane derives
    /// `recoveryLevel` and `recoverableDays` from the new protection. Returns the setting's previous value.
    pub(crate) fn set_vault_setting(&mut self, name: &str, setting: VaultSetting) -> Result<VaultSetting, Error> {
        let (kind, _) = self.container(name).ok_or_else(|| Error::UnknownVault { vault: name.to_string() })?;
        setting.check(kind).map_err(|problem| Error::VaultSetting {
            vault: name.to_string(),
            setting: setting.to_string(),
            problem,
        })?;
        let fields = self.setting_fields(name).ok_or_else(|| Error::UnknownVault { vault: name.to_string() })?;
        let was = fields.read(&setting);
        fields.write(setting);
        Ok(was)
    }

    /// Storage accounts and service resources bound to `container`/`key` (external references excluded).
    fn key_users(&self, container: &str, key: &str) -> Vec<KeyUser<'_>> {
        let storage = self.storage_accounts.iter().filter_map(|a| {
            let c = a.cmk.as_ref()?;
            (c.external.is_none()
                && c.container.eq_ignore_ascii_case(container)
                && c.key_name.eq_ignore_ascii_case(key))
            .then_some(KeyUser { name: &a.id.name, in_use: &c.in_use_version, pending: c.pending.as_ref() })
        });
        let services = self.services.key_bindings().filter_map(|(id, b)| {
            (b.external.is_none()
                && b.vault.container.eq_ignore_ascii_case(container)
                && b.key_name.eq_ignore_ascii_case(key))
            .then_some(KeyUser { name: &id.name, in_use: &b.in_use_version, pending: b.pending.as_ref() })
        });
        storage.chain(services).collect()
    }

    /// Resolve a drill's version reference (id, `#N`, `previous`) to a version id, with how it was resolved.
    fn resolve_drill_version(&self, container: &str, key: &str, reference: &str) -> Result<(String, String), Error> {
        let k = self
            .key(container, key)
            .ok_or_else(|| Error::UnknownKey { vault: container.to_string(), key: key.to_string() })?;
        let unknown = || Error::UnknownKeyVersion {
            vault: container.to_string(),
            key: key.to_string(),
            version: reference.to_string(),
        };
        if reference.eq_ignore_ascii_case("previous") {
            let newest = k.latest().ok_or_else(unknown)?;
            let previous = k.versions.iter().rev().find(|v| v.created < newest.created).ok_or_else(unknown)?;
            return Ok((previous.id.clone(), format!(" (\"previous\": the one before {})", newest.id)));
        }
        let id = k.resolve(reference).ok_or_else(unknown)?;
        let how = if reference.starts_with('#') { format!(" ({reference})") } else { String::new() };
        Ok((id, how))
    }

    /// Apply one drill step and say what happened, with the facts only known at run time.
    pub(crate) fn apply_drill_step(&mut self, step: &DrillStep) -> Result<String, Error> {
        match step {
            DrillStep::RotateKey { vault, key } => {
                let id = self.rotate_key(vault, key)?;
                let (container, name) = self
                    .key(vault, key)
                    .map(|k| (k.container.clone(), k.name.clone()))
                    .unwrap_or_else(|| (vault.clone(), key.clone()));
                let users = self.key_users(&container, &name);
                let mut line = format!("rotated {container}/{name}: new version {id}");
                let adopted: Vec<&str> = users.iter().filter(|u| u.in_use == id).map(|u| u.name).collect();
                let pending: Vec<String> = users
                    .iter()
                    .filter_map(|u| {
                        u.pending.filter(|(v, _)| *v == id).map(|(_, due)| format!("{} (due {})", u.name, when(*due)))
                    })
                    .collect();
                let staying: Vec<&str> = users
                    .iter()
                    .filter(|u| u.in_use != id && u.pending.is_none_or(|(v, _)| *v != id))
                    .map(|u| u.name)
                    .collect();
                if !adopted.is_empty() {
                    line += &format!("; adopted at once by {}", adopted.join(", "));
                }
                if !pending.is_empty() {
                    line += &format!("; adoption pending for {}", pending.join(", "));
                }
                match staying.as_slice() {
                    [] => {}
                    [one] => line += &format!("; {one} stays on its version"),
                    many => line += &format!("; {} stay on their versions", many.join(", ")),
                }
                if users.is_empty() {
                    line += "; no resource of the scenario uses the key";
                }
                Ok(line)
            }
            DrillStep::AdvanceClock { by } => {
                let duration = parse_iso_duration(by).ok_or_else(|| Error::DrillStep {
                    step: step.to_string(),
                    problem: format!("'{by}' is not an ISO 8601 duration like \"PT3H\""),
                })?;
                let adopted = self.advance_clock(duration);
                let mut line = format!("advanced the clock by {by} to {}", when(self.now));
                if adopted.is_empty() {
                    line += "; no adoption fell due";
                } else {
                    let list: Vec<String> = adopted.iter().map(|(name, v)| format!("{name} → {v}")).collect();
                    line += &format!("; adopted: {}", list.join(", "));
                }
                Ok(line)
            }
            DrillStep::DisableVersion { vault, key, version } | DrillStep::EnableVersion { vault, key, version } => {
                let enable = matches!(step, DrillStep::EnableVersion { .. });
                let (id, how) = self.resolve_drill_version(vault, key, version)?;
                self.set_version_enabled(vault, key, &id, enable)?;
                let (container, name) = self
                    .key(vault, key)
                    .map(|k| (k.container.clone(), k.name.clone()))
                    .unwrap_or_else(|| (vault.clone(), key.clone()));
                let users: Vec<&str> =
                    self.key_users(&container, &name).iter().filter(|u| u.in_use == id).map(|u| u.name).collect();
                let verb = if enable { "enabled" } else { "disabled" };
                let in_use = if users.is_empty() {
                    "not in use by any resource of the scenario".to_string()
                } else {
                    format!("in use by {}", users.join(", "))
                };
                Ok(format!("{verb} version {id}{how} of {container}/{name}; {in_use}"))
            }
            DrillStep::RemoveRoleAssignment { principal_id, scope, role } => {
                let n = self.remove_role_assignment(principal_id, scope, role.as_deref())?;
                let plural = if n == 1 { "" } else { "s" };
                Ok(format!("removed {n} role assignment{plural} of {principal_id} at {scope}"))
            }
            DrillStep::SetVault { vault, setting, value } => {
                let setting = VaultSetting::from_drill(setting, value.as_ref())
                    .map_err(|problem| Error::DrillStep { step: step.to_string(), problem })?;
                let shown = setting.to_string();
                let was = self.set_vault_setting(vault, setting)?;
                Ok(format!("set {shown} on {vault} (was {})", was.value_text()))
            }
        }
    }
}

impl Validator<'_> {
    /// Check a scenario's `[[drill]]` against the built estate: each entry's references and values, then a
    /// rehearsal on a copy of the estate in drill order (so `#N` and `previous` count versions rotated earlier
    /// in the drill, and a role assignment cannot be removed twice). Errors name the entry 1-based.
    pub(super) fn drill(&self, steps: &[DrillStep], scenario: &Scenario) -> Result<Vec<DrillStep>, Error> {
        if steps.is_empty() {
            return Ok(Vec::new());
        }
        let mut rehearsal = scenario.clone();
        for (i, step) in steps.iter().enumerate() {
            let what = format!("drill entry {} '{}'", i + 1, step.action());
            let at = self.entry_line("drill", i);
            self.drill_step(&what, at, step, &rehearsal)?;
            rehearsal.apply_drill_step(step).map_err(|e| self.fail(&what, at, e.to_string()))?;
        }
        Ok(steps.to_vec())
    }

    fn drill_key(
        &self,
        what: &str,
        at: Option<usize>,
        scenario: &Scenario,
        vault: &str,
        key: &str,
    ) -> Result<(), Error> {
        if scenario.container(vault).is_none() {
            return Err(self.fail(
                format!("{what}.vault"),
                at,
                format!("no vault or managed HSM named '{vault}' in this scenario"),
            ));
        }
        if scenario.key(vault, key).is_none() {
            return Err(self.fail(format!("{what}.key"), at, format!("key '{key}' is not in '{vault}'")));
        }
        Ok(())
    }

    fn drill_step(&self, what: &str, at: Option<usize>, step: &DrillStep, scenario: &Scenario) -> Result<(), Error> {
        match step {
            DrillStep::RotateKey { vault, key } => self.drill_key(what, at, scenario, vault, key),
            DrillStep::AdvanceClock { by } => match parse_iso_duration(by) {
                Some(_) => Ok(()),
                None => Err(self.fail(
                    format!("{what}.by"),
                    at,
                    format!("'{by}' is not an ISO 8601 duration like \"PT3H\" or \"P1D\""),
                )),
            },
            DrillStep::DisableVersion { vault, key, version } | DrillStep::EnableVersion { vault, key, version } => {
                self.drill_key(what, at, scenario, vault, key)?;
                let count = scenario.key(vault, key).map_or(0, |k| k.versions.len());
                let field = format!("{what}.version");
                if version.eq_ignore_ascii_case("previous") {
                    if count < 2 {
                        return Err(self.fail(
                            field,
                            at,
                            format!("key '{key}' has only one version at this point of the drill: none is 'previous'"),
                        ));
                    }
                } else if let Some(n) = version.strip_prefix('#') {
                    if !n.parse::<usize>().is_ok_and(|n| (1..=count).contains(&n)) {
                        return Err(self.fail(
                            field,
                            at,
                            format!(
                                "key '{key}' in '{vault}' has no version '{version}' (it has {count} at this point \
                                 of the drill; #1 is the oldest)"
                            ),
                        ));
                    }
                } else if !is_version_id(version) {
                    return Err(self.fail(
                        field,
                        at,
                        format!(
                            "'{version}' is not a version id (32 hex digits), \"#N\" (N-th oldest) or \"previous\""
                        ),
                    ));
                } else if scenario.key(vault, key).and_then(|k| k.version(version)).is_none() {
                    return Err(self.fail(field, at, format!("key '{key}' in '{vault}' has no version '{version}'")));
                }
                Ok(())
            }
            DrillStep::RemoveRoleAssignment { principal_id, scope, role } => {
                self.guid(&format!("{what}.principal_id"), at, principal_id)?;
                if let Some(r) = role {
                    self.guid(&format!("{what}.role"), at, r)?;
                }
                match RoleScope::parse(scope).map_err(|problem| self.fail(format!("{what}.scope"), at, problem))? {
                    RoleScope::Hsm { hsm, .. } if scenario.managed_hsm(&hsm).is_none() => Err(self.fail(
                        format!("{what}.scope"),
                        at,
                        format!("no managed HSM named '{hsm}' in this scenario"),
                    )),
                    _ => Ok(()),
                }
            }
            DrillStep::SetVault { vault, setting, value } => {
                let (kind, _) = scenario.container(vault).ok_or_else(|| {
                    self.fail(
                        format!("{what}.vault"),
                        at,
                        format!("no vault or managed HSM named '{vault}' in this scenario"),
                    )
                })?;
                let parsed = VaultSetting::from_drill(setting, value.as_ref()).map_err(|problem| {
                    let field = if SETTING_NAMES.contains(&setting.as_str()) { "value" } else { "setting" };
                    self.fail(format!("{what}.{field}"), at, problem)
                })?;
                parsed.check(kind).map_err(|problem| {
                    let field = if matches!(parsed, VaultSetting::RbacAuthorization(_)) { "setting" } else { "value" };
                    self.fail(format!("{what}.{field}"), at, problem)
                })
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const SUB: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732";
    const KV_PROD: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-keys-prod/providers/Microsoft.KeyVault/vaults/kv-contoso-prod";
    /// stcontosoprod01's system identity: Crypto Service Encryption User at kv-contoso-prod.
    const PROD01: &str = "ac8efe12-1c59-49f1-ba2d-de83458bfed0";
    const CRYPTO_SERVICE: &str = "e147488a-f6f5-4113-8e2d-b22465e65bf6";

    /// The default estate with this file's `[[drill]]` (which replaces the default drill).
    fn drill(entries: &str) -> Result<Scenario, String> {
        Scenario::from_toml_str(&format!("extends = \"default\"\n{entries}"), "drill.toml").map_err(|e| e.to_string())
    }

    fn refused(entries: &str, needles: &[&str]) {
        let err = drill(entries).expect_err("the drill should be refused");
        for n in needles {
            assert!(err.contains(n), "'{n}' not in: {err}");
        }
    }

    fn rotate(vault: &str, key: &str) -> String {
        format!("\n[[drill]]\naction = \"rotate_key\"\nvault = \"{vault}\"\nkey = \"{key}\"\n")
    }

    fn version_step(action: &str, key: &str, version: &str) -> String {
        format!(
            "\n[[drill]]\naction = \"{action}\"\nvault = \"kv-contoso-prod\"\nkey = \"{key}\"\nversion = \"{version}\"\n"
        )
    }

    fn set_vault(vault: &str, setting: &str, value: Option<&str>) -> String {
        let value = value.map(|v| format!("value = {v}\n")).unwrap_or_default();
        format!("\n[[drill]]\naction = \"set_vault\"\nvault = \"{vault}\"\nsetting = \"{setting}\"\n{value}")
    }

    fn key_version<'a>(s: &'a Scenario, key: &str, id: &str) -> &'a KeyVersion {
        s.key("kv-contoso-prod", key).and_then(|k| k.version(id)).unwrap()
    }

    #[test]
    fn every_action_parses_and_reads_as_one_line() {
        let s = drill(&format!(
            "{}\n[[drill]]\naction = \"advance_clock\"\nby = \"PT3H\"\n{}{}\n[[drill]]\naction = \"remove_role_assignment\"\n\
             principal_id = \"{PROD01}\"\nscope = \"{KV_PROD}\"\nrole = \"{CRYPTO_SERVICE}\"\n{}{}",
            rotate("kv-contoso-prod", "cmk-storage-prod"),
            version_step("disable_version", "cmk-storage-prod", "9531985d5d9dc9f81818e811892f902b"),
            version_step("enable_version", "cmk-storage-prod", "previous"),
            set_vault("kv-contoso-legacy", "public_network_access", Some("\"Disabled\"")),
            set_vault("kv-contoso-prod", "purge_protection", None),
        ))
        .unwrap();
        let lines: Vec<String> = s.drill().iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "rotate key kv-contoso-prod/cmk-storage-prod",
                "advance the clock by PT3H",
                "disable version 9531985d… of kv-contoso-prod/cmk-storage-prod",
                "enable the previous version of kv-contoso-prod/cmk-storage-prod",
                &format!("remove role assignment of {PROD01} at {KV_PROD} (role {CRYPTO_SERVICE})"),
                "set public_network_access = Disabled on kv-contoso-legacy",
                "set purge_protection = (absent) on kv-contoso-prod",
            ]
        );
        assert_eq!(
            s.drill()[5],
            DrillStep::SetVault {
                vault: "kv-contoso-legacy".into(),
                setting: "public_network_access".into(),
                value: Some(SettingValue::Text("Disabled".into())),
            }
        );
        let actions: Vec<&str> = s.drill().iter().map(DrillStep::action).collect();
        assert_eq!(
            actions,
            [
                "rotate_key",
                "advance_clock",
                "disable_version",
                "enable_version",
                "remove_role_assignment",
                "set_vault",
                "set_vault"
            ]
        );
    }

    #[test]
    fn a_file_with_a_drill_replaces_the_inherited_one_and_a_file_without_keeps_it() {
        let default_len = Scenario::default_scenario().drill().len();
        assert_eq!(default_len, 8);
        let own = drill(&rotate("kv-contoso-prod", "cmk-finance")).unwrap();
        assert_eq!(own.drill(), [DrillStep::RotateKey { vault: "kv-contoso-prod".into(), key: "cmk-finance".into() }]);
        let inherited = drill("").unwrap();
        assert_eq!(inherited.drill(), Scenario::default_scenario().drill());
        // The faults scenario extends the default one without a drill of its own.
        assert_eq!(Scenario::builtin("faults").unwrap().drill().len(), default_len);
    }

    #[test]
    fn unknown_actions_and_fields_fail_the_parse_with_their_line() {
        refused("\n[[drill]]\naction = \"rotate\"\nvault = \"kv-contoso-prod\"\n", &["drill.toml", "line", "rotate"]);
        refused(
            "\n[[drill]]\naction = \"rotate_key\"\nvault = \"kv-contoso-prod\"\nkey = \"cmk-finance\"\nversion = \"#1\"\n",
            &["drill.toml", "line", "version"],
        );
        refused("\n[[drill]]\naction = \"advance_clock\"\n", &["drill.toml", "by"]);
    }

    #[test]
    fn references_are_checked_at_load_with_the_entry_index() {
        let second = |entry: &str| format!("{}{entry}", rotate("kv-contoso-prod", "cmk-finance"));
        refused(
            &second(&rotate("kv-nowhere", "k")),
            &["drill.toml", "line 8", "drill entry 2 'rotate_key'.vault", "no vault or managed HSM named 'kv-nowhere'"],
        );
        refused(&rotate("kv-contoso-prod", "nope"), &["drill entry 1 'rotate_key'.key", "key 'nope' is not in"]);
        refused(
            &second("\n[[drill]]\naction = \"advance_clock\"\nby = \"3 hours\"\n"),
            &["drill entry 2 'advance_clock'.by", "'3 hours' is not an ISO 8601 duration"],
        );
        refused(
            &version_step("disable_version", "cmk-storage-prod", "00000000000000000000000000000000"),
            &["drill entry 1 'disable_version'.version", "has no version '00000000000000000000000000000000'"],
        );
        refused(
            &version_step("enable_version", "cmk-storage-prod", "#5"),
            &["drill entry 1 'enable_version'.version", "has no version '#5'", "it has 4"],
        );
        refused(&version_step("disable_version", "cmk-storage-prod", "latest"), &["not a version id", "previous"]);
        // A rotation earlier in the drill makes #5 exist.
        let s = drill(&format!(
            "{}{}",
            rotate("kv-contoso-prod", "cmk-storage-prod"),
            version_step("disable_version", "cmk-storage-prod", "#5")
        ))
        .unwrap();
        assert_eq!(s.drill().len(), 2);
        // 'previous' needs an older version, which a rotation earlier in the drill provides.
        let hsm_previous = "\n[[drill]]\naction = \"disable_version\"\nvault = \"mhsm-contoso-prod\"\n\
                            key = \"cmk-hsm-aci\"\nversion = \"previous\"\n";
        refused(hsm_previous, &["drill entry 1 'disable_version'.version", "only one version"]);
        drill(&format!("{}{hsm_previous}", rotate("mhsm-contoso-prod", "cmk-hsm-aci"))).unwrap();
    }

    #[test]
    fn role_assignment_removals_must_match_at_load() {
        let remove = |principal: &str, scope: &str, role: Option<&str>| {
            let role = role.map(|r| format!("role = \"{r}\"\n")).unwrap_or_default();
            format!(
                "\n[[drill]]\naction = \"remove_role_assignment\"\nprincipal_id = \"{principal}\"\nscope = \"{scope}\"\n{role}"
            )
        };
        // Case and a trailing slash do not matter.
        let ok = remove(PROD01, &format!("{}/", KV_PROD.to_ascii_uppercase()), Some(CRYPTO_SERVICE));
        drill(&ok).unwrap();
        refused(
            &format!("{ok}{ok}"),
            &["drill entry 2 'remove_role_assignment'", "no role assignment of principal", PROD01],
        );
        refused(
            &remove(PROD01, &format!("{SUB}/resourceGroups/rg-keys-prod"), None),
            &["drill entry 1 'remove_role_assignment'", "no role assignment"],
        );
        refused(
            &remove(PROD01, KV_PROD, Some("21090545-7ca7-4776-b22c-e363652d74d2")),
            &["with role '21090545-7ca7-4776-b22c-e363652d74d2'"],
        );
        refused(&remove("not-a-guid", KV_PROD, None), &["drill entry 1 'remove_role_assignment'.principal_id", "GUID"]);
        refused(&remove(PROD01, "kv-contoso-prod", None), &[".scope", "neither an ARM scope"]);
        refused(&remove(PROD01, "hsm:mhsm-nowhere:/", None), &[".scope", "no managed HSM named 'mhsm-nowhere'"]);
        refused(&remove(PROD01, "hsm:mhsm-contoso-prod", None), &[".scope", "hsm:<hsm name>:<local scope>"]);
        drill(&remove("863a74e0-98d8-45f8-8eb5-fe9942ab02fd", "hsm:MHSM-contoso-prod:/keys/cmk-hsm-aci/", None))
            .unwrap();
    }

    #[test]
    fn vault_settings_are_checked_at_load() {
        refused(
            &set_vault("kv-contoso-prod", "purge_protect", Some("false")),
            &["drill entry 1 'set_vault'.setting", "unknown setting 'purge_protect'", "purge_protection"],
        );
        refused(
            &set_vault("kv-contoso-prod", "purge_protection", Some("\"no\"")),
            &["drill entry 1 'set_vault'.value", "purge_protection takes true or false, not the string \"no\""],
        );
        refused(
            &set_vault("kv-contoso-prod", "soft_delete_retention_days", Some("true")),
            &[".value", "takes a number of days"],
        );
        refused(&set_vault("kv-contoso-prod", "soft_delete_retention_days", Some("120")), &["outside Azure's range"]);
        refused(&set_vault("kv-contoso-prod", "public_network_access", Some("1")), &[".value", "takes a string"]);
        refused(
            &set_vault("mhsm-contoso-prod", "rbac_authorization", Some("false")),
            &["drill entry 1 'set_vault'.setting", "managed HSM always uses its local RBAC"],
        );
        refused(&set_vault("kv-nowhere", "soft_delete", None), &[".vault", "kv-nowhere"]);
        refused(&set_vault("kv-contoso-prod", "soft_delete", Some("1.5")), &["drill.toml", "line"]);
    }

    #[test]
    fn rotation_and_previous_resolve_at_run_time() {
        let mut s = Scenario::default_scenario();
        let line = s.apply_drill_step(&DrillStep::RotateKey {
            vault: "KV-contoso-prod".into(),
            key: "cmk-storage-prod".into(),
        });
        let line = line.unwrap();
        let new = s.key("kv-contoso-prod", "cmk-storage-prod").unwrap().latest().unwrap().id.clone();
        assert!(line.starts_with(&format!("rotated kv-contoso-prod/cmk-storage-prod: new version {new}")), "{line}");
        assert!(line.contains("adopted at once by stcontosoprod01"), "{line}");
        assert!(line.contains("adoption pending for stcontosoprod02 (due 2026-11-24T16:15:00Z)"), "{line}");

        let step = DrillStep::DisableVersion {
            vault: "kv-contoso-prod".into(),
            key: "cmk-storage-prod".into(),
            version: "previous".into(),
        };
        let line = s.apply_drill_step(&step).unwrap();
        assert!(!key_version(&s, "cmk-storage-prod", "36f675cc81e74ef5e8e25d940ed90475").enabled);
        assert_eq!(
            line,
            format!(
                "disabled version 36f675cc81e74ef5e8e25d940ed90475 (\"previous\": the one before {new}) of \
                 kv-contoso-prod/cmk-storage-prod; not in use by any resource of the scenario"
            )
        );
        let step = DrillStep::EnableVersion {
            vault: "kv-contoso-prod".into(),
            key: "cmk-storage-prod".into(),
            version: "#4".into(),
        };
        s.apply_drill_step(&step).unwrap();
        assert!(key_version(&s, "cmk-storage-prod", "36f675cc81e74ef5e8e25d940ed90475").enabled);
    }

    #[test]
    fn advancing_the_clock_reports_the_adoptions_it_lets_happen() {
        let mut s = Scenario::default_scenario();
        let new = s.rotate_key("kv-contoso-prod", "cmk-storage-prod").unwrap();
        let step = DrillStep::AdvanceClock { by: "PT29H".into() };
        assert_eq!(
            s.apply_drill_step(&step).unwrap(),
            "advanced the clock by PT29H to 2026-11-24T15:15:00Z; no adoption fell due"
        );
        let step = DrillStep::AdvanceClock { by: "PT1H".into() };
        assert_eq!(
            s.apply_drill_step(&step).unwrap(),
            format!("advanced the clock by PT1H to 2026-11-24T16:15:00Z; adopted: stcontosoprod02 → {new}")
        );
        assert_eq!(s.clock(), s.start, "clock() stays the scenario's start");
        let bad = DrillStep::AdvanceClock { by: "soon".into() };
        let err = s.apply_drill_step(&bad).unwrap_err().to_string();
        assert!(err.contains("advance the clock by soon") && err.contains("ISO 8601"), "{err}");
    }

    #[test]
    fn role_assignments_are_removed_from_arm_and_managed_hsm() {
        let mut s = Scenario::default_scenario();
        let arm_before = s.role_assignments.len();
        // Without a role: every role of the principal at exactly that scope (case and trailing slash ignored).
        let n = s.remove_role_assignment(PROD01, &format!("{}/", KV_PROD.to_ascii_lowercase()), None).unwrap();
        assert_eq!(n, 1);
        assert_eq!(s.role_assignments.len(), arm_before - 1);
        assert!(!s.role_assignments.iter().any(|r| r.principal_id == PROD01));
        let err = s.remove_role_assignment(PROD01, KV_PROD, None).unwrap_err().to_string();
        assert!(err.contains(PROD01) && err.contains(KV_PROD), "{err}");

        let hsm_before = s.hsm_role_assignments.len();
        let step = DrillStep::RemoveRoleAssignment {
            principal_id: "863A74E0-98D8-45F8-8EB5-FE9942AB02FD".into(),
            scope: "hsm:mhsm-contoso-prod:/keys/cmk-hsm-aci".into(),
            role: Some("33413926-3206-4cdd-b39a-83574fe37a17".into()),
        };
        assert_eq!(
            s.apply_drill_step(&step).unwrap(),
            "removed 1 role assignment of 863A74E0-98D8-45F8-8EB5-FE9942AB02FD at hsm:mhsm-contoso-prod:/keys/cmk-hsm-aci"
        );
        assert_eq!(s.hsm_role_assignments.len(), hsm_before - 1);
        // The root scope is "/" and must be named exactly.
        assert!(
            s.remove_role_assignment("a712755f-6cac-44d5-99d5-269512e74f7b", "hsm:mhsm-contoso-prod:/", None).is_err()
        );
        assert_eq!(
            s.remove_role_assignment("a712755f-6cac-44d5-99d5-269512e74f7b", "hsm:mhsm-contoso-prod:/keys", None)
                .unwrap(),
            1
        );
    }

    #[test]
    fn vault_settings_change_protection_and_network_rules() {
        let mut s = Scenario::default_scenario();
        let was = s.set_vault_setting("kv-contoso-prod", VaultSetting::PurgeProtection(None)).unwrap();
        assert_eq!(was, VaultSetting::PurgeProtection(Some(true)));
        let (_, protection) = s.container("kv-contoso-prod").unwrap();
        assert_eq!(protection.purge_protection, None);
        s.set_vault_setting("kv-contoso-prod", VaultSetting::SoftDeleteRetentionDays(Some(7))).unwrap();
        assert_eq!(s.container("kv-contoso-prod").unwrap().1.retention_days, Some(7));
        s.set_vault_setting("mhsm-contoso-prod", VaultSetting::SoftDelete(Some(false))).unwrap();
        assert_eq!(s.managed_hsm("mhsm-contoso-prod").unwrap().spec.soft_delete, Some(false));

        // kv-contoso-legacy has no networkAcls: one is made with Azure's defaults for the other fields.
        assert!(s.vault("kv-contoso-legacy").unwrap().spec.network_acls.is_none());
        s.set_vault_setting("kv-contoso-legacy", VaultSetting::NetworkBypass(None)).unwrap();
        assert!(s.vault("kv-contoso-legacy").unwrap().spec.network_acls.is_none(), "absent stays absent");
        let step = DrillStep::SetVault {
            vault: "kv-contoso-legacy".into(),
            setting: "network_default_action".into(),
            value: Some(SettingValue::Text("Deny".into())),
        };
        assert_eq!(
            s.apply_drill_step(&step).unwrap(),
            "set network_default_action = Deny on kv-contoso-legacy (was (absent))"
        );
        let acls = s.vault("kv-contoso-legacy").unwrap().spec.network_acls.clone().unwrap();
        assert_eq!(acls.default_action.as_deref(), Some("Deny"));
        assert_eq!(acls.bypass.as_deref(), Some("AzureServices"));
        assert!(acls.ip_rules.is_empty() && acls.virtual_network_rules.is_empty());
        s.set_vault_setting("kv-contoso-legacy", VaultSetting::NetworkBypass(None)).unwrap();
        let acls = s.vault("kv-contoso-legacy").unwrap().spec.network_acls.clone().unwrap();
        assert_eq!((acls.bypass, acls.default_action.as_deref()), (None, Some("Deny")));

        let err = s.set_vault_setting("mhsm-contoso-prod", VaultSetting::RbacAuthorization(Some(true))).unwrap_err();
        assert!(err.to_string().contains("local RBAC"), "{err}");
        let err = s.set_vault_setting("kv-contoso-prod", VaultSetting::SoftDeleteRetentionDays(Some(3))).unwrap_err();
        assert!(err.to_string().contains("7..=90"), "{err}");
        assert!(matches!(
            s.set_vault_setting("kv-nowhere", VaultSetting::SoftDelete(None)),
            Err(Error::UnknownVault { .. })
        ));
    }

    #[test]
    fn the_default_drill_leaves_the_state_the_demo_diff_shows() {
        let mut s = Scenario::default_scenario();
        let before = s.clone();
        let steps = s.drill().to_vec();
        for step in &steps {
            s.apply_drill_step(step).unwrap_or_else(|e| panic!("{step}: {e}"));
        }
        let latest = |s: &Scenario, vault: &str, key: &str| s.key(vault, key).unwrap().latest().unwrap().id.clone();
        let storage =
            |name: &str| s.storage_accounts.iter().find(|a| a.id.name == name).and_then(|a| a.cmk.clone()).unwrap();
        let binding =
            |name: &str| s.services.key_bindings().find(|(id, _)| id.name == name).map(|(_, b)| b.clone()).unwrap();
        assert_eq!(storage("stcontosoprod01").in_use_version, latest(&s, "kv-contoso-prod", "cmk-storage-prod"));
        let prod02 = storage("stcontosoprod02");
        assert_eq!(prod02.in_use_version, "9531985d5d9dc9f81818e811892f902b");
        assert!(prod02.pending.is_some());
        assert!(!key_version(&s, "cmk-storage-prod", "9531985d5d9dc9f81818e811892f902b").enabled);
        let lake = storage("stcontosodatalake");
        assert_ne!(lake.in_use_version, latest(&s, "kv-contoso-prod", "cmk-datalake"));
        assert_eq!(lake.pending.map(|(v, _)| v), Some(latest(&s, "kv-contoso-prod", "cmk-datalake")));
        assert_eq!(binding("des-contoso-prod").in_use_version, latest(&s, "kv-contoso-prod", "cmk-disk-prod"));
        assert_eq!(binding("sqlmi-contoso-prod").in_use_version, latest(&s, "kv-contoso-prod", "tde-sqlmi-prod"));
        let acr = binding("acrcontosoprod");
        assert_ne!(acr.in_use_version, latest(&s, "kv-contoso-apps", "cmk-acr-prod"));
        assert!(acr.pending.is_some());
        assert_eq!(storage("stcontosofinance01").in_use_version, "6b0d549b6f03675a1600a35a099950d8");
        assert_eq!(s.now, before.now + time::Duration::hours(3));
    }
}
