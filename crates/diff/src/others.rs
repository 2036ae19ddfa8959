//! Changes that are not bindings: a vault's or managed HSM's protection, a key version's state, a role
//! assignment added or removed. They are compared before the bindings are streamed; what makes one of them
//! critical — a disabled or expired version still in use, a crypto role removed from an identity that still
//! uses the key — is learned while the after snapshot's bindings stream past ([`Watches`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use evidence::tables::key_vaults::KeyVaultRow;
use evidence::tables::key_versions::KeyVersionRow;
use evidence::tables::keys::KeyRow;
use evidence::tables::managed_hsms::ManagedHsmRow;
use evidence::tables::role_assignments::RoleAssignmentRow;
use evidence::vocab::key_source;

use crate::binding::{Binding, Fields};
use crate::class::{ChangeKind, Severity, subject};
use crate::classify::weakened_protection;
use crate::side::{Side, version_key};

/// The tables of one snapshot the non-binding comparison reads.
#[derive(Debug, Clone, Default)]
pub struct SideTables {
    /// `key_vaults`.
    pub key_vaults: Vec<KeyVaultRow>,
    /// `managed_hsms`.
    pub managed_hsms: Vec<ManagedHsmRow>,
    /// `keys`.
    pub keys: Vec<KeyRow>,
    /// `key_versions`.
    pub key_versions: Vec<KeyVersionRow>,
    /// `role_assignments`.
    pub role_assignments: Vec<RoleAssignmentRow>,
}

/// One change of a vault, key version or role assignment.
#[derive(Debug, Clone)]
pub struct OtherChange {
    /// [`subject`] constant.
    pub subject: &'static str,
    /// Vault resource id (or URI), key version id, role assignment id.
    pub resource_id: String,
    /// ARM type.
    pub resource_type: String,
    /// Subscription, when known.
    pub subscription_id: Option<String>,
    /// What happened.
    pub kind: ChangeKind,
    /// How much it matters (raised by watches).
    pub severity: Severity,
    /// What changed, in words.
    pub changes: Vec<String>,
    /// Values before.
    pub before: Option<Fields>,
    /// Values after.
    pub after: Option<Fields>,
    watch: Option<Watch>,
}

#[derive(Debug, Clone)]
enum Watch {
    /// Critical if an after binding still uses this version (a [`version_key`]).
    VersionInUse(String),
    /// Critical if an after binding's identity is this principal and its key is under the assignment's scope.
    PrincipalUsesKey { principal: String, rbac_system: String, queried_scope: String, scope: String },
}

/// What the after snapshot's bindings are checked against while they stream.
#[derive(Debug, Default)]
pub struct Watches {
    versions: HashMap<String, Vec<usize>>,
    /// The version part of every watched version, lower case: most bindings are ruled out by this alone.
    version_ids: HashSet<String>,
    principals: HashMap<String, Vec<usize>>,
    /// Per change index: resources found still depending on it (at most a few named).
    hits: BTreeMap<usize, (usize, Vec<String>)>,
}

const NAMED_HITS: usize = 3;

impl Watches {
    /// Looks at one after binding.
    pub fn observe<A: Binding + ?Sized>(&mut self, changes: &[OtherChange], a: &A) {
        if self.versions.is_empty() && self.principals.is_empty() {
            return;
        }
        if a.key_source() != Some(key_source::CUSTOMER_MANAGED) {
            return;
        }
        let (Some(uri), Some(key)) = (a.key_vault_uri(), a.key_name()) else { return };
        let hit = |index: usize, hits: &mut BTreeMap<usize, (usize, Vec<String>)>| {
            let entry = hits.entry(index).or_default();
            entry.0 += 1;
            if entry.1.len() < NAMED_HITS {
                entry.1.push(format!("{} [{}]", a.resource_id(), a.encryption_scope()));
            }
        };
        if !self.versions.is_empty()
            && let Some(version) = a.in_use_key_version()
            && self.version_ids.contains(version.to_ascii_lowercase().as_str())
            && let Some(indices) = self.versions.get(&version_key(uri, key, version))
        {
            for &i in indices {
                hit(i, &mut self.hits);
            }
        }
        if !self.principals.is_empty()
            && let Some(principal) = a.identity_principal_id()
            && let Some(indices) = self.principals.get(&principal.to_ascii_lowercase())
        {
            for &i in indices {
                if let Some(Watch::PrincipalUsesKey { rbac_system, queried_scope, scope, .. }) = &changes[i].watch
                    && assignment_covers(rbac_system, queried_scope, scope, a)
                {
                    hit(i, &mut self.hits);
                }
            }
        }
    }
}

/// Whether a role assignment at `scope` applies to the binding's key.
fn assignment_covers<A: Binding + ?Sized>(rbac_system: &str, queried_scope: &str, scope: &str, a: &A) -> bool {
    let key = a.key_name().unwrap_or_default().to_ascii_lowercase();
    let scope = scope.trim_end_matches('/').to_ascii_lowercase();
    if rbac_system == "managed_hsm_local_rbac" {
        let same_hsm = a
            .key_vault_uri()
            .is_some_and(|uri| uri.trim_end_matches('/').eq_ignore_ascii_case(queried_scope.trim_end_matches('/')));
        return same_hsm && (scope.is_empty() || scope == "/keys" || scope == format!("/keys/{key}"));
    }
    let Some(vault) = a.key_vault_resource_id() else { return false };
    let vault = vault.trim_end_matches('/').to_ascii_lowercase();
    vault == scope || vault.starts_with(&format!("{scope}/")) || scope == format!("{vault}/keys/{key}")
}

fn vault_fields(uri: &str, p: &VaultProtection) -> Fields {
    Fields {
        key_vault_uri: Some(uri.to_string()),
        key_vault_resource_id: Some(p.resource_id.clone()),
        vault_soft_delete: p.soft_delete,
        vault_soft_delete_retention_days: p.retention_days,
        vault_purge_protection: p.purge_protection,
        vault_rbac_authorization: p.rbac,
        vault_public_network_access: p.public_network_access.clone(),
        vault_network_default_action: p.default_action.clone(),
        ..Fields::default()
    }
}

#[derive(Debug, Clone)]
struct VaultProtection {
    resource_id: String,
    resource_type: &'static str,
    subscription_id: String,
    soft_delete: Option<bool>,
    retention_days: Option<i64>,
    purge_protection: Option<bool>,
    rbac: Option<bool>,
    public_network_access: Option<String>,
    default_action: Option<String>,
    bypass: Option<String>,
}

fn protections(t: &SideTables) -> BTreeMap<String, VaultProtection> {
    let mut out = BTreeMap::new();
    for v in &t.key_vaults {
        out.insert(
            v.vault_uri.to_ascii_lowercase(),
            VaultProtection {
                resource_id: v.resource_id.clone(),
                resource_type: "Microsoft.KeyVault/vaults",
                subscription_id: v.subscription_id.clone(),
                soft_delete: v.soft_delete_enabled,
                retention_days: v.soft_delete_retention_days,
                purge_protection: v.purge_protection_enabled,
                rbac: v.rbac_authorization_enabled,
                public_network_access: v.public_network_access.clone(),
                default_action: v.network_default_action.clone(),
                bypass: v.network_bypass.clone(),
            },
        );
    }
    for h in &t.managed_hsms {
        out.insert(
            h.hsm_uri.to_ascii_lowercase(),
            VaultProtection {
                resource_id: h.resource_id.clone(),
                resource_type: "Microsoft.KeyVault/managedHSMs",
                subscription_id: h.subscription_id.clone(),
                soft_delete: h.soft_delete_enabled,
                retention_days: h.soft_delete_retention_days,
                purge_protection: h.purge_protection_enabled,
                rbac: Some(true),
                public_network_access: h.public_network_access.clone(),
                default_action: h.network_default_action.clone(),
                bypass: h.network_bypass.clone(),
            },
        );
    }
    out
}

/// Compares vaults, key versions and role assignments. Returns the changes (sorted by subject, then id) and
/// the watches to feed the after snapshot's bindings to.
pub fn compare(before: &SideTables, after: &SideTables, sides: (&Side, &Side)) -> (Vec<OtherChange>, Watches) {
    let mut changes = Vec::new();
    compare_vaults(before, after, sides.1, &mut changes);
    compare_versions(before, after, sides, &mut changes);
    compare_roles(before, after, &mut changes);
    changes.sort_by(|a, b| (a.subject, &a.resource_id).cmp(&(b.subject, &b.resource_id)));
    let mut watches = Watches::default();
    for (i, c) in changes.iter().enumerate() {
        match &c.watch {
            Some(Watch::VersionInUse(key)) => {
                watches.versions.entry(key.clone()).or_default().push(i);
                watches.version_ids.insert(key.rsplit('|').next().unwrap_or_default().to_string());
            }
            Some(Watch::PrincipalUsesKey { principal, .. }) => {
                watches.principals.entry(principal.clone()).or_default().push(i)
            }
            None => {}
        }
    }
    (changes, watches)
}

/// Raises the severity of changes something still depends on, naming what.
pub fn settle(changes: &mut [OtherChange], watches: Watches) {
    for (i, (count, named)) in watches.hits {
        let c = &mut changes[i];
        c.severity = Severity::Critical;
        let more = if count > named.len() { format!(" and {} more", count - named.len()) } else { String::new() };
        let what = match c.watch {
            Some(Watch::VersionInUse(_)) => "still in use by",
            _ => "the identity still uses the key for",
        };
        c.changes.push(format!("{what} {}{more}", named.join(", ")));
    }
}

fn compare_vaults(before: &SideTables, after: &SideTables, after_side: &Side, out: &mut Vec<OtherChange>) {
    let (b, a) = (protections(before), protections(after));
    let uris: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    for uri in uris {
        let change = match (b.get(uri), a.get(uri)) {
            (Some(pb), Some(pa)) => {
                let (fb, fa) = (vault_fields(uri, pb), vault_fields(uri, pa));
                let weakened = weakened_protection(&fb, &fa);
                let strengthened = weakened_protection(&fa, &fb);
                let mut lines: Vec<String> = Vec::new();
                let bypass_closed = pb.bypass.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("AzureServices"))
                    && pa.bypass.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("None"));
                if pb.bypass != pa.bypass {
                    lines.push(format!(
                        "vault_network_bypass: {} → {}",
                        pb.bypass.as_deref().unwrap_or("null"),
                        pa.bypass.as_deref().unwrap_or("null")
                    ));
                }
                let (kind, severity) = if !weakened.is_empty() {
                    (ChangeKind::ProtectionWeakened, Severity::High)
                } else if bypass_closed {
                    // Seed 004: a closed firewall without the trusted-services bypass locks CMK services out.
                    (ChangeKind::Changed, Severity::Medium)
                } else if !strengthened.is_empty() {
                    (ChangeKind::ProtectionStrengthened, Severity::Info)
                } else if !lines.is_empty() || fb != fa {
                    (ChangeKind::Changed, Severity::Info)
                } else {
                    continue;
                };
                let mut all = weakened;
                // weakened_protection(after, before) speaks of the after side first: turn each line round.
                all.extend(strengthened.iter().map(|line| reverse_line(line)));
                all.extend(lines);
                vault_change(pa, kind, severity, all, Some(fb), Some(fa))
            }
            (None, Some(pa)) => {
                vault_change(pa, ChangeKind::Added, Severity::Info, Vec::new(), None, Some(vault_fields(uri, pa)))
            }
            (Some(pb), None) => match after_side.gap_for(&pb.subscription_id, pb.resource_type, &pb.resource_id) {
                Some(why) => vault_change(
                    pb,
                    ChangeKind::NotComparable,
                    Severity::Medium,
                    vec![format!("after: {why}")],
                    Some(vault_fields(uri, pb)),
                    None,
                ),
                None => vault_change(
                    pb,
                    ChangeKind::Removed,
                    Severity::Medium,
                    Vec::new(),
                    Some(vault_fields(uri, pb)),
                    None,
                ),
            },
            (None, None) => continue,
        };
        out.push(change);
    }
}

/// `name: x → y` → `name: y → x`.
fn reverse_line(line: &str) -> String {
    match line.split_once(": ").and_then(|(name, rest)| rest.split_once(" → ").map(|(x, y)| (name, x, y))) {
        Some((name, x, y)) => format!("{name}: {y} → {x}"),
        None => line.to_string(),
    }
}

fn vault_change(
    p: &VaultProtection,
    kind: ChangeKind,
    severity: Severity,
    changes: Vec<String>,
    before: Option<Fields>,
    after: Option<Fields>,
) -> OtherChange {
    OtherChange {
        subject: subject::VAULT,
        resource_id: p.resource_id.clone(),
        resource_type: p.resource_type.to_string(),
        subscription_id: Some(p.subscription_id.clone()),
        kind,
        severity,
        changes,
        before,
        after,
        watch: None,
    }
}

fn version_fields(v: &KeyVersionRow) -> Fields {
    Fields {
        key_vault_uri: Some(v.key_vault_uri.clone()),
        key_name: Some(v.key_name.clone()),
        key_enabled: v.enabled,
        key_expires_at: v.expires_at,
        ..Fields::default()
    }
}

fn compare_versions(before: &SideTables, after: &SideTables, sides: (&Side, &Side), out: &mut Vec<OtherChange>) {
    // Only keys read in both snapshots: a key no resource uses any more is not read, which removes nothing.
    let keys_a: HashSet<String> = after.keys.iter().map(|k| k.key_id.to_ascii_lowercase()).collect();
    let both: HashSet<String> =
        before.keys.iter().map(|k| k.key_id.to_ascii_lowercase()).filter(|k| keys_a.contains(k)).collect();
    fn index<'t>(t: &'t SideTables, both: &HashSet<String>) -> BTreeMap<String, &'t KeyVersionRow> {
        t.key_versions
            .iter()
            .filter(|v| both.contains(&v.key_id.to_ascii_lowercase()))
            .map(|v| (version_key(&v.key_vault_uri, &v.key_name, &v.version), v))
            .collect()
    }
    let (b, a) = (index(before, &both), index(after, &both));
    let ids: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    let (before_side, after_side) = sides;
    for id in ids {
        let (vb, va) = (b.get(id).copied(), a.get(id).copied());
        let Some(any) = va.or(vb) else { continue };
        let resource_id = format!("{}/{}", any.key_id.trim_end_matches('/'), any.version);
        let mut lines = Vec::new();
        let (kind, severity, watch) = match (vb, va) {
            (Some(vb), Some(va)) => {
                let expired_now = |v: &KeyVersionRow, side: &Side| v.expires_at.is_some_and(|e| e <= side.taken_at);
                if vb.enabled == Some(true) && va.enabled == Some(false) {
                    lines.push("enabled: true → false".to_string());
                    (ChangeKind::VersionDisabled, Severity::Info, Some(Watch::VersionInUse(id.clone())))
                } else if !expired_now(vb, before_side) && expired_now(va, after_side) {
                    lines.push(format!("expired at {}", va.expires_at.map(|t| t.to_string()).unwrap_or_default()));
                    (ChangeKind::VersionExpired, Severity::Low, Some(Watch::VersionInUse(id.clone())))
                } else if vb.enabled == Some(false) && va.enabled == Some(true) {
                    lines.push("enabled: false → true".to_string());
                    (ChangeKind::VersionEnabled, Severity::Info, None)
                } else if vb.expires_at != va.expires_at {
                    lines.push(format!(
                        "expires_at: {} → {}",
                        vb.expires_at.map(|t| t.to_string()).unwrap_or_else(|| "null".into()),
                        va.expires_at.map(|t| t.to_string()).unwrap_or_else(|| "null".into())
                    ));
                    (ChangeKind::Changed, Severity::Info, None)
                } else {
                    continue;
                }
            }
            (None, Some(_)) => (ChangeKind::Added, Severity::Info, None),
            (Some(_), None) => {
                lines.push("Key Vault does not delete single versions: the version list may be incomplete".into());
                (ChangeKind::Removed, Severity::Medium, Some(Watch::VersionInUse(id.clone())))
            }
            (None, None) => continue,
        };
        out.push(OtherChange {
            subject: subject::KEY_VERSION,
            resource_id,
            resource_type: "Microsoft.KeyVault/vaults/keys/versions".into(),
            subscription_id: None,
            kind,
            severity,
            changes: lines,
            before: vb.map(version_fields),
            after: va.map(version_fields),
            watch,
        });
    }
}

fn role_fields(r: &RoleAssignmentRow) -> Fields {
    Fields {
        identity_principal_id: Some(r.principal_id.clone()),
        identity_has_crypto_role: Some(r.grants_key_use),
        ..Fields::default()
    }
}

fn compare_roles(before: &SideTables, after: &SideTables, out: &mut Vec<OtherChange>) {
    // Compare only at scopes both snapshots listed: a vault read once is not evidence of removal.
    let queried = |t: &SideTables| -> HashSet<String> {
        t.role_assignments.iter().map(|r| r.queried_scope.to_ascii_lowercase()).collect()
    };
    let (qb, qa) = (queried(before), queried(after));
    fn index<'t>(t: &'t SideTables, other: &HashSet<String>) -> BTreeMap<String, &'t RoleAssignmentRow> {
        t.role_assignments
            .iter()
            .filter(|r| other.contains(&r.queried_scope.to_ascii_lowercase()))
            .map(|r| (r.assignment_id.to_ascii_lowercase(), r))
            .collect()
    }
    let (b, a) = (index(before, &qa), index(after, &qb));
    let ids: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    for id in ids {
        let (rb, ra) = (b.get(id).copied(), a.get(id).copied());
        let (kind, severity, watch, r) = match (rb, ra) {
            (Some(r), None) => {
                let watch = r.grants_key_use.then(|| Watch::PrincipalUsesKey {
                    principal: r.principal_id.to_ascii_lowercase(),
                    rbac_system: r.rbac_system.clone(),
                    queried_scope: r.queried_scope.clone(),
                    scope: r.scope.clone(),
                });
                let severity = if r.grants_key_use { Severity::Medium } else { Severity::Info };
                (ChangeKind::RoleRemoved, severity, watch, r)
            }
            (None, Some(r)) => {
                // A broad key-management role newly granted: separation of duties needs a look.
                let severity = if r.manages_keys { Severity::Medium } else { Severity::Info };
                (ChangeKind::RoleAdded, severity, None, r)
            }
            _ => continue,
        };
        out.push(OtherChange {
            subject: subject::ROLE_ASSIGNMENT,
            resource_id: r.assignment_id.clone(),
            resource_type: if r.rbac_system == "managed_hsm_local_rbac" {
                "Microsoft.KeyVault/managedHSMs/roleAssignments".into()
            } else {
                "Microsoft.Authorization/roleAssignments".into()
            },
            subscription_id: None,
            kind,
            severity,
            changes: vec![format!(
                "{} ({}) at {} for principal {}{}",
                r.role_name.as_deref().unwrap_or("role"),
                r.role_definition_guid,
                r.scope,
                r.principal_id,
                if r.grants_key_use {
                    "; grants key use"
                } else if r.manages_keys {
                    "; manages keys"
                } else {
                    ""
                }
            )],
            before: rb.map(role_fields),
            after: ra.map(role_fields),
            watch,
        });
    }
}
