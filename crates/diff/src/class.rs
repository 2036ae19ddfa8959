//! The vocabulary of a diff: the class every row gets and its severity.

use std::fmt;

/// What happened to one binding (resource × encryption scope) between two snapshots. Every binding gets
/// exactly one; the first that applies, in the order of [`crate::classify`]'s documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Nothing that matters changed.
    Unchanged,
    /// Only in the after snapshot, and the before snapshot had no gap that could have hidden it.
    Added,
    /// Only in the before snapshot, and the after snapshot had no gap that could have hidden it.
    Removed,
    /// Same key, a newer version now in use.
    Rotated,
    /// A newer enabled version exists, the resource follows the latest version, and the service's adoption
    /// window (measured from the new version's creation) has not passed yet.
    RotationPending,
    /// As pending, but the adoption window has passed.
    RotationStalled,
    /// Another vault or key (or an older version of the same key) is now in use.
    KeyChanged,
    /// Microsoft-managed (or platform) keys before, a customer-managed key after.
    CmkEnabled,
    /// A customer-managed key before, none after.
    CmkRemoved,
    /// The identity that reaches the key changed, or it lost (or gained) its crypto role on the key.
    IdentityChanged,
    /// The key's vault lost protection: purge protection or soft delete off, shorter retention, RBAC off,
    /// public network access opened, firewall default action Allow.
    ProtectionWeakened,
    /// The version the resource uses is disabled or expired (seed 003: an old version retired before the
    /// resource adopted the new one).
    OldVersionDisabledInUse,
    /// One side could not be collected completely (a coverage gap or a broken chain link): never reported as
    /// removed, added or unchanged.
    NotComparable,
}

/// Every binding class, in documentation order.
pub const BINDING_CLASSES: [Class; 13] = [
    Class::Unchanged,
    Class::Added,
    Class::Removed,
    Class::Rotated,
    Class::RotationPending,
    Class::RotationStalled,
    Class::KeyChanged,
    Class::CmkEnabled,
    Class::CmkRemoved,
    Class::IdentityChanged,
    Class::ProtectionWeakened,
    Class::OldVersionDisabledInUse,
    Class::NotComparable,
];

impl Class {
    /// The name written to `diff.parquet` and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Unchanged => "unchanged",
            Class::Added => "added",
            Class::Removed => "removed",
            Class::Rotated => "rotated",
            Class::RotationPending => "rotation_pending",
            Class::RotationStalled => "rotation_stalled",
            Class::KeyChanged => "key_changed",
            Class::CmkEnabled => "cmk_enabled",
            Class::CmkRemoved => "cmk_removed",
            Class::IdentityChanged => "identity_changed",
            Class::ProtectionWeakened => "protection_weakened",
            Class::OldVersionDisabledInUse => "old_version_disabled_in_use",
            Class::NotComparable => "not_comparable",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a change of a vault, key version or role assignment was (the rows of `diff.parquet` whose `subject`
/// is not `binding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Present only after.
    Added,
    /// Present only before (and the after snapshot read the thing that held it).
    Removed,
    /// A vault's protection loosened.
    ProtectionWeakened,
    /// A vault's protection tightened.
    ProtectionStrengthened,
    /// Another property changed.
    Changed,
    /// A key version was disabled.
    VersionDisabled,
    /// A key version was enabled again.
    VersionEnabled,
    /// A key version's expiry passed between the snapshots.
    VersionExpired,
    /// A role assignment was removed.
    RoleRemoved,
    /// A role assignment was added.
    RoleAdded,
    /// The after snapshot could not read it.
    NotComparable,
}

impl ChangeKind {
    /// The name written to `diff.parquet`'s `class` column.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::ProtectionWeakened => "protection_weakened",
            ChangeKind::ProtectionStrengthened => "protection_strengthened",
            ChangeKind::Changed => "changed",
            ChangeKind::VersionDisabled => "version_disabled",
            ChangeKind::VersionEnabled => "version_enabled",
            ChangeKind::VersionExpired => "version_expired",
            ChangeKind::RoleRemoved => "role_removed",
            ChangeKind::RoleAdded => "role_added",
            ChangeKind::NotComparable => "not_comparable",
        }
    }
}

pub use evidence::vocab::Severity;

/// The subject of a row of `diff.parquet`.
pub mod subject {
    /// A resource × encryption scope (a `cmk_chain` row).
    pub const BINDING: &str = "binding";
    /// A key vault or managed HSM.
    pub const VAULT: &str = "vault";
    /// A key version.
    pub const KEY_VERSION: &str = "key_version";
    /// A role assignment (ARM or Managed HSM local RBAC).
    pub const ROLE_ASSIGNMENT: &str = "role_assignment";
}
