//! The classification of one binding: pure, over the two sides' values and their snapshots' context.
//!
//! The first rule that applies gives the class (`cargo xtask bench` runs the same rules as SQL in DuckDB and
//! checks the counts agree):
//!
//! 1. Only after: `not_comparable` when the before snapshot has a gap that could hide the resource (its
//!    subscription was not collected, a read of it or of a child failed, or the list of its type in its
//!    subscription failed), else `added`. Only before: the same with the after snapshot's gaps, else `removed`.
//! 2. Either key source unknown (null): `not_comparable`.
//! 3. Customer-managed before and not after: `cmk_removed`; not before and after: `cmk_enabled`; neither:
//!    `unchanged` when the key source is the same, else `not_comparable`.
//! 4. Both customer-managed, in this order:
//!    - the version in use after is disabled, or expired at the after snapshot: `old_version_disabled_in_use`;
//!    - another vault or key name (both known): `key_changed`;
//!    - another identity type, user-assigned identity or principal (each where both sides know it), or the
//!      identity's crypto role on the key went from true to false or false to true: `identity_changed`;
//!    - the vault's protection loosened (soft delete or purge protection or RBAC true → false, retention days
//!      fewer, public network access `Disabled` → anything else, firewall default action `Deny` → `Allow`):
//!      `protection_weakened`;
//!    - either side's chain is incomplete, or either snapshot has a gap on the resource: `not_comparable`;
//!    - the version in use changed: `rotated` when the new one is newer (creation time in the after
//!      snapshot, else the before one; when neither knows, when the new one is the latest), else `key_changed`;
//!    - the resource follows the latest version (no configured version, auto rotation not false), the latest
//!      version is another one and not disabled: `rotation_pending` while the time from the latest version's
//!      creation to the after snapshot is within the service's adoption window ([`crate::window`]), else
//!      `rotation_stalled`; `not_comparable` when the latest version's creation time is unknown;
//!    - otherwise `unchanged`.
//!
//! Every difference found is listed in `changes`, whatever the class, so nothing hides behind the headline.

use evidence::Timestamp;
use evidence::vocab::key_source;

use crate::binding::Binding;
use crate::class::{Class, Severity};
use crate::side::Side;
use crate::window::{AdoptionWindow, adoption_window};

/// The verdict on one binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The class.
    pub class: Class,
    /// Its severity.
    pub severity: Severity,
    /// Every difference, as `field: before → after`, and the reason for gaps.
    pub changes: Vec<String>,
    /// The adoption window applied (bindings that follow the latest version and have not adopted it).
    pub window: Option<AdoptionWindow>,
    /// Seconds from the latest version's creation to the after snapshot, when that was measured.
    pub new_version_age_seconds: Option<i64>,
}

impl Verdict {
    fn new(class: Class, severity: Severity, changes: Vec<String>) -> Self {
        Self { class, severity, changes, window: None, new_version_age_seconds: None }
    }
}

/// Both snapshots' context.
#[derive(Debug, Clone, Copy)]
pub struct Sides<'a> {
    /// The earlier snapshot.
    pub before: &'a Side,
    /// The later snapshot.
    pub after: &'a Side,
}

fn is_cmk(source: &str) -> bool {
    source == key_source::CUSTOMER_MANAGED
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn show<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "null".to_string(), |v| v.to_string())
}

/// Records `name: before → after` when the two differ (case-insensitively for text).
fn note_text(changes: &mut Vec<String>, name: &str, b: Option<&str>, a: Option<&str>) {
    let differ = match (b, a) {
        (Some(b), Some(a)) => !same(b, a),
        (None, None) => false,
        _ => true,
    };
    if differ {
        changes.push(format!("{name}: {} → {}", show(b), show(a)));
    }
}

fn note<T: PartialEq + std::fmt::Display>(changes: &mut Vec<String>, name: &str, b: Option<T>, a: Option<T>) {
    if b != a {
        changes.push(format!("{name}: {} → {}", show(b), show(a)));
    }
}

/// Both known and different.
fn known_differ(b: Option<&str>, a: Option<&str>) -> bool {
    matches!((b, a), (Some(b), Some(a)) if !same(b, a))
}

/// The vault protection settings that loosened, as change lines (empty when none did).
pub fn weakened_protection<B: Binding + ?Sized, A: Binding + ?Sized>(b: &B, a: &A) -> Vec<String> {
    let mut out = Vec::new();
    let mut flag = |name: &str, before: Option<bool>, after: Option<bool>| {
        if before == Some(true) && after == Some(false) {
            out.push(format!("{name}: true → false"));
        }
    };
    flag("vault_soft_delete", b.vault_soft_delete(), a.vault_soft_delete());
    flag("vault_purge_protection", b.vault_purge_protection(), a.vault_purge_protection());
    flag("vault_rbac_authorization", b.vault_rbac_authorization(), a.vault_rbac_authorization());
    if let (Some(before), Some(after)) = (b.vault_soft_delete_retention_days(), a.vault_soft_delete_retention_days())
        && after < before
    {
        out.push(format!("vault_soft_delete_retention_days: {before} → {after}"));
    }
    if let (Some(before), Some(after)) = (b.vault_public_network_access(), a.vault_public_network_access())
        && same(before, "Disabled")
        && !same(after, "Disabled")
    {
        out.push(format!("vault_public_network_access: {before} → {after}"));
    }
    if let (Some(before), Some(after)) = (b.vault_network_default_action(), a.vault_network_default_action())
        && same(before, "Deny")
        && same(after, "Allow")
    {
        out.push(format!("vault_network_default_action: {before} → {after}"));
    }
    out
}

/// Every difference between the two sides of a binding present in both.
fn all_changes<B: Binding + ?Sized, A: Binding + ?Sized>(b: &B, a: &A) -> Vec<String> {
    let mut c = Vec::new();
    note_text(&mut c, "key_source", b.key_source(), a.key_source());
    note_text(&mut c, "key_vault_uri", b.key_vault_uri(), a.key_vault_uri());
    note_text(&mut c, "key_name", b.key_name(), a.key_name());
    note_text(&mut c, "configured_key_version", b.configured_key_version(), a.configured_key_version());
    note_text(&mut c, "in_use_key_version", b.in_use_key_version(), a.in_use_key_version());
    note_text(&mut c, "latest_key_version", b.latest_key_version(), a.latest_key_version());
    note(&mut c, "key_enabled", b.key_enabled(), a.key_enabled());
    note(&mut c, "auto_rotation", b.auto_rotation(), a.auto_rotation());
    note_text(&mut c, "identity_type", b.identity_type(), a.identity_type());
    note_text(&mut c, "identity_resource_id", b.identity_resource_id(), a.identity_resource_id());
    note_text(&mut c, "identity_principal_id", b.identity_principal_id(), a.identity_principal_id());
    note(&mut c, "identity_has_crypto_role", b.identity_has_crypto_role(), a.identity_has_crypto_role());
    note(&mut c, "vault_soft_delete", b.vault_soft_delete(), a.vault_soft_delete());
    note(
        &mut c,
        "vault_soft_delete_retention_days",
        b.vault_soft_delete_retention_days(),
        a.vault_soft_delete_retention_days(),
    );
    note(&mut c, "vault_purge_protection", b.vault_purge_protection(), a.vault_purge_protection());
    note(&mut c, "vault_rbac_authorization", b.vault_rbac_authorization(), a.vault_rbac_authorization());
    note_text(&mut c, "vault_public_network_access", b.vault_public_network_access(), a.vault_public_network_access());
    note_text(
        &mut c,
        "vault_network_default_action",
        b.vault_network_default_action(),
        a.vault_network_default_action(),
    );
    if b.chain_status() != a.chain_status() {
        c.push(format!("chain_status: {} → {}", b.chain_status(), a.chain_status()));
    }
    c
}

/// Classifies one binding. At least one side is `Some`.
pub fn classify<B: Binding + ?Sized, A: Binding + ?Sized>(
    before: Option<&B>,
    after: Option<&A>,
    sides: Sides<'_>,
) -> Verdict {
    match (before, after) {
        (None, None) => Verdict::new(Class::NotComparable, Severity::Medium, vec!["neither snapshot has it".into()]),
        (None, Some(a)) => match sides.before.gap_for(a.subscription_id(), a.resource_type(), a.resource_id()) {
            Some(why) => Verdict::new(Class::NotComparable, Severity::Medium, vec![format!("before: {why}")]),
            None => Verdict::new(Class::Added, Severity::Info, Vec::new()),
        },
        (Some(b), None) => match sides.after.gap_for(b.subscription_id(), b.resource_type(), b.resource_id()) {
            Some(why) => Verdict::new(Class::NotComparable, Severity::Medium, vec![format!("after: {why}")]),
            None => Verdict::new(Class::Removed, Severity::Low, Vec::new()),
        },
        (Some(b), Some(a)) => classify_both(b, a, sides),
    }
}

fn classify_both<B: Binding + ?Sized, A: Binding + ?Sized>(b: &B, a: &A, sides: Sides<'_>) -> Verdict {
    let mut changes = all_changes(b, a);
    let (Some(source_b), Some(source_a)) = (b.key_source(), a.key_source()) else {
        changes.push("key source unknown on one side".into());
        return Verdict::new(Class::NotComparable, Severity::Medium, changes);
    };
    match (is_cmk(source_b), is_cmk(source_a)) {
        (true, false) => return Verdict::new(Class::CmkRemoved, Severity::High, changes),
        (false, true) => return Verdict::new(Class::CmkEnabled, Severity::Info, changes),
        (false, false) if source_b == source_a => return Verdict::new(Class::Unchanged, Severity::Info, changes),
        (false, false) => return Verdict::new(Class::NotComparable, Severity::Medium, changes),
        (true, true) => {}
    }

    // The version in use after is disabled or expired: data access is at risk now.
    let expired = a.key_expires_at().is_some_and(|exp| exp <= sides.after.taken_at);
    if a.key_enabled() == Some(false) || expired {
        changes.push(format!(
            "version {} in use is {}",
            show(a.in_use_key_version()),
            if a.key_enabled() == Some(false) { "disabled" } else { "expired" }
        ));
        return Verdict::new(Class::OldVersionDisabledInUse, Severity::Critical, changes);
    }
    if known_differ(b.key_vault_uri(), a.key_vault_uri()) || known_differ(b.key_name(), a.key_name()) {
        return Verdict::new(Class::KeyChanged, Severity::Medium, changes);
    }
    let identity_differs = known_differ(b.identity_type(), a.identity_type())
        || known_differ(b.identity_resource_id(), a.identity_resource_id())
        || known_differ(b.identity_principal_id(), a.identity_principal_id());
    let (role_b, role_a) = (b.identity_has_crypto_role(), a.identity_has_crypto_role());
    let role_lost = role_b == Some(true) && role_a == Some(false);
    let role_gained = role_b == Some(false) && role_a == Some(true);
    if identity_differs || role_lost || role_gained {
        let severity = if role_lost {
            Severity::Critical
        } else if identity_differs && role_a == Some(false) {
            Severity::High
        } else if identity_differs {
            Severity::Medium
        } else {
            Severity::Info
        };
        return Verdict::new(Class::IdentityChanged, severity, changes);
    }
    if !weakened_protection(b, a).is_empty() {
        return Verdict::new(Class::ProtectionWeakened, Severity::High, changes);
    }
    let incomplete = |x: &dyn Fn() -> Vec<String>, status: &str, side: &str, changes: &mut Vec<String>| {
        if status != evidence::chain::status::COMPLETE {
            changes.push(format!("{side}: chain {status} ({})", x().join(", ")));
            true
        } else {
            false
        }
    };
    let mut gap = incomplete(&|| b.chain_gaps(), b.chain_status(), "before", &mut changes);
    gap |= incomplete(&|| a.chain_gaps(), a.chain_status(), "after", &mut changes);
    for (name, side) in [("before", sides.before), ("after", sides.after)] {
        if let Some(why) = side.gap_for(a.subscription_id(), a.resource_type(), a.resource_id()) {
            changes.push(format!("{name}: {why}"));
            gap = true;
        }
    }
    if gap {
        return Verdict::new(Class::NotComparable, Severity::Medium, changes);
    }

    let (Some(in_use_b), Some(in_use_a)) = (b.in_use_key_version(), a.in_use_key_version()) else {
        changes.push("version in use unknown".into());
        return Verdict::new(Class::NotComparable, Severity::Medium, changes);
    };
    if !same(in_use_b, in_use_a) {
        return if is_newer(in_use_b, a, sides) {
            Verdict::new(Class::Rotated, Severity::Info, changes)
        } else {
            changes.push(format!("version in use went back from {in_use_b} to {in_use_a}"));
            Verdict::new(Class::KeyChanged, Severity::Medium, changes)
        };
    }

    let follows_latest = a.configured_key_version().is_none() && a.auto_rotation() != Some(false);
    let latest = a.latest_key_version().filter(|latest| !same(latest, in_use_a));
    let (Some(latest), Some(uri), Some(key)) = (latest, a.key_vault_uri(), a.key_name()) else {
        return Verdict::new(Class::Unchanged, Severity::Info, changes);
    };
    let latest_enabled = sides.after.version(uri, key, latest).and_then(|v| v.enabled) != Some(false);
    if !follows_latest || !latest_enabled {
        changes.push(format!(
            "version {in_use_a} in use; newer version {latest} {}",
            if follows_latest { "is disabled" } else { "exists, but the resource is pinned" }
        ));
        return Verdict::new(Class::Unchanged, Severity::Info, changes);
    }
    let window = adoption_window(a.resource_type(), a.key_via_resource_id());
    let Some(created) = a.latest_version_created_at() else {
        changes.push(format!("newer version {latest} exists; its creation time is unknown"));
        let mut v = Verdict::new(Class::NotComparable, Severity::Medium, changes);
        v.window = Some(window);
        return v;
    };
    let age = seconds_between(created, sides.after.taken_at);
    let stalled = age > window.seconds;
    changes.push(format!(
        "newer version {latest} created {} before the after snapshot; {} window {}",
        duration_text(age),
        if stalled { "past the" } else { "within the" },
        duration_text(window.seconds)
    ));
    let (class, severity) =
        if stalled { (Class::RotationStalled, Severity::High) } else { (Class::RotationPending, Severity::Low) };
    Verdict { class, severity, changes, window: Some(window), new_version_age_seconds: Some(age) }
}

/// Whether the after side's version in use is newer than `before_version`.
fn is_newer<A: Binding + ?Sized>(before_version: &str, a: &A, sides: Sides<'_>) -> bool {
    let (Some(uri), Some(key), Some(after_version)) = (a.key_vault_uri(), a.key_name(), a.in_use_key_version()) else {
        return false;
    };
    let created = |version: &str| {
        sides
            .after
            .version(uri, key, version)
            .and_then(|v| v.created_at)
            .or_else(|| sides.before.version(uri, key, version).and_then(|v| v.created_at))
    };
    match (created(before_version), created(after_version)) {
        (Some(old), Some(new)) => new > old,
        _ => a.latest_key_version().is_some_and(|latest| same(latest, after_version)),
    }
}

fn seconds_between(from: Timestamp, to: Timestamp) -> i64 {
    (to.micros() - from.micros()).div_euclid(1_000_000)
}

/// `3h05m`, `2d04h`, `45m`, `30s`.
pub fn duration_text(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3_600, (s % 3_600) / 60);
    if d > 0 {
        format!("{sign}{d}d{h:02}h")
    } else if h > 0 {
        format!("{sign}{h}h{m:02}m")
    } else if m > 0 {
        format!("{sign}{m}m")
    } else {
        format!("{sign}{s}s")
    }
}
