//! The rule catalogue ([`RULES`]) and the rules themselves, grouped by what they judge: a binding's key
//! ([`binding`]), a vault or HSM ([`vault`]), a key ([`key`]), a service's own limits ([`service`]) and what the
//! coverage table says cannot use CMK ([`coverage`]).

mod binding;
mod coverage;
mod key;
mod service;
mod vault;

use crate::snapshot::Snapshot;

/// One rule: a stable id, what it finds, its default severity and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable id, `CMK001` ….
    pub id: &'static str,
    /// What the rule finds, in one line.
    pub title: &'static str,
    /// `info`, `low`, `medium`, `high` or `critical`; a policy may change it.
    pub default_severity: &'static str,
    /// The seed document or Microsoft documentation the rule comes from.
    pub source: &'static str,
}

pub(crate) const CMK001: RuleInfo = RuleInfo {
    id: "CMK001",
    title: "CMK configured but the identity lacks a crypto role or get/wrapKey/unwrapKey access policy",
    default_severity: "high",
    source: concat!(
        "seed 003 (Storage customer-managed key, common mistakes): \"Configuring CMK before the storage account ",
        "identity has permission to use the Key Vault key\"; seed 001: \"Grant that identity access to Get, Wrap Key, ",
        "and Unwrap Key on the key\""
    ),
};
pub(crate) const CMK002: RuleInfo = RuleInfo {
    id: "CMK002",
    title: "Key version in use is disabled",
    default_severity: "critical",
    source: concat!(
        "seed 003 (Storage customer-managed key, common mistakes): \"Disabling or deleting an old key version before ",
        "confirming the storage account has moved to the new version\""
    ),
};
pub(crate) const CMK003: RuleInfo = RuleInfo {
    id: "CMK003",
    title: "Key version in use has expired",
    default_severity: "critical",
    source: concat!(
        "seed 004: \"If the Customer Managed Key is disabled or deleted then it is no longer possible to decrypt that ",
        "data\"; Key Vault refuses wrapKey/unwrapKey with an expired version"
    ),
};
pub(crate) const CMK004: RuleInfo = RuleInfo {
    id: "CMK004",
    title: "Key version in use expires soon (policy expiry_warning_days)",
    default_severity: "medium",
    source: "seed 003 (Storage customer-managed key): rotation is to be planned so that it does not become an incident",
};
pub(crate) const CMK005: RuleInfo = RuleInfo {
    id: "CMK005",
    title: "Key vault or Managed HSM without purge protection",
    default_severity: "high",
    source: concat!(
        "seed 004: \"enabling soft delete and purge protection on your Key Vault to prevent accidental deletion is ",
        "essential\"; seed 003: \"Forgetting Key Vault purge protection\""
    ),
};
pub(crate) const CMK006: RuleInfo = RuleInfo {
    id: "CMK006",
    title: "Key vault or Managed HSM without soft delete",
    default_severity: "high",
    source: concat!(
        "seed 004: \"enabling soft delete and purge protection on your Key Vault to prevent accidental deletion is ",
        "essential\"; seed 003: \"Ensure Key Vault soft delete and purge protection are enabled\""
    ),
};
pub(crate) const CMK007: RuleInfo = RuleInfo {
    id: "CMK007",
    title: "Key in use without a rotation policy that rotates it",
    default_severity: "medium",
    source: concat!(
        "seed 003: \"The design must include ... key rotation policy\", \"Treating CMK as a one-time setup\"; ",
        "seed 002: \"frequently update (rotate) the key versions\""
    ),
};
pub(crate) const CMK008: RuleInfo = RuleInfo {
    id: "CMK008",
    title: "Key not rotated for longer than the policy allows (max_key_age_days)",
    default_severity: "medium",
    source: concat!(
        "seed 002: \"It's an important security consideration ... to frequently update (rotate) the key versions\"; ",
        "seed 003: \"Treating CMK as a one-time setup\""
    ),
};
pub(crate) const CMK009: RuleInfo = RuleInfo {
    id: "CMK009",
    title: "Separation of duties: key administrators also own or contribute to the resources the keys protect",
    default_severity: "medium",
    source: concat!(
        "seed 003 (Storage customer-managed key, common mistakes): \"Using broad Key Vault permissions for operators ",
        "instead of separating key administration from storage administration\""
    ),
};
pub(crate) const CMK010: RuleInfo = RuleInfo {
    id: "CMK010",
    title: "Vault network closed without the trusted-services bypass while CMK bindings use it",
    default_severity: "high",
    source: concat!(
        "seed 004: \"Ensure that the Azure service has network access to your Key Vault - either through allowing ",
        "Trusted Azure Services access, or allowing the Subnet ID of the service\""
    ),
};
pub(crate) const CMK011: RuleInfo = RuleInfo {
    id: "CMK011",
    title: "Container registry with CMK on a tier other than Premium",
    default_severity: "high",
    source: "seed 002: \"This feature is available in the Premium service tier for a container registry\"",
};
pub(crate) const CMK012: RuleInfo = RuleInfo {
    id: "CMK012",
    title: "Container registry CMK with a key that is not RSA or RSA-HSM",
    default_severity: "high",
    source: "seed 002: \"Azure Container Registry supports only RSA or RSA-HSM keys. Elliptic-curve keys aren't currently supported\"",
};
pub(crate) const CMK013: RuleInfo = RuleInfo {
    id: "CMK013",
    title: "SQL managed instance reaches its TDE protector with a system-assigned identity",
    default_severity: "medium",
    source: concat!(
        "seed 001 (Azure SQL Managed Instance): \"SQL MI requires a user-assigned managed identity (not ",
        "system-assigned) for both Key Vault and Managed HSM CMK configurations\""
    ),
};
pub(crate) const CMK014: RuleInfo = RuleInfo {
    id: "CMK014",
    title: "Container group (ACI) with its key in a Managed HSM, which ACI does not support",
    default_severity: "high",
    source: "seed 001 (Azure Container Instances): \"the key must come from a standard Key Vault - Managed HSM is not yet supported for ACI\"",
};
pub(crate) const CMK015: RuleInfo = RuleInfo {
    id: "CMK015",
    title: "Disk encryption set reports an automatic key rotation error",
    default_severity: "high",
    source: concat!(
        "seed 001 (Managed Disks and Disk Encryption Sets): \"The DES has its own managed identity, which needs ",
        "permission to use the key\"; Azure's autoKeyRotationError"
    ),
};
pub(crate) const CMK016: RuleInfo = RuleInfo {
    id: "CMK016",
    title: "Resource pinned to a key version older than the latest enabled version",
    default_severity: "low",
    source: concat!(
        "seed 003: \"Decide whether automatic key version updates or manual key-version pinning matches the ",
        "compliance policy\"; seed 002: manually pinned versions are used \"until you manually rotate\""
    ),
};
pub(crate) const CMK017: RuleInfo = RuleInfo {
    id: "CMK017",
    title: "Resource on Microsoft-managed keys where the policy requires customer-managed keys (require_cmk)",
    default_severity: "high",
    source: concat!(
        "tenant policy require_cmk; seed 004: \"By default, most Azure services use Microsoft-managed encryption ",
        "keys\""
    ),
};
pub(crate) const CMK018: RuleInfo = RuleInfo {
    id: "CMK018",
    title: "Service that cannot use customer-managed keys at rest",
    default_severity: "info",
    source: concat!(
        "seed 000: Container Apps environment CMK is not documented as supported; seed 001 (Notable exceptions): ",
        "Container Apps, App Service, Functions"
    ),
};

/// Every rule, in id order.
pub const RULES: &[RuleInfo] = &[
    CMK001, CMK002, CMK003, CMK004, CMK005, CMK006, CMK007, CMK008, CMK009, CMK010, CMK011, CMK012, CMK013, CMK014,
    CMK015, CMK016, CMK017, CMK018,
];

/// A finding before the snapshot's tenant, snapshot id and the policy's severity are stamped on it.
#[derive(Debug)]
pub(crate) struct Draft {
    pub(crate) rule: &'static RuleInfo,
    pub(crate) resource_id: String,
    pub(crate) encryption_scope: String,
    pub(crate) resource_type: Option<String>,
    pub(crate) subscription_id: Option<String>,
    pub(crate) title: String,
    pub(crate) evidence: Vec<String>,
    pub(crate) fix: String,
}

impl Draft {
    /// A finding about one binding: its resource, scope, type and subscription.
    pub(crate) fn about_binding(
        rule: &'static RuleInfo,
        c: &evidence::CmkChainRow,
        title: String,
        evidence: Vec<String>,
        fix: String,
    ) -> Self {
        Draft {
            rule,
            resource_id: c.resource_id.clone(),
            encryption_scope: c.encryption_scope.clone(),
            resource_type: Some(c.resource_type.clone()),
            subscription_id: Some(c.subscription_id.clone()),
            title,
            evidence,
            fix,
        }
    }
}

/// Runs every rule; the caller drops the findings of disabled rules.
pub(crate) fn run_all(s: &Snapshot<'_>, out: &mut Vec<Draft>) {
    binding::check(s, out);
    vault::check(s, out);
    key::check(s, out);
    service::check(s, out);
    coverage::check(s, out);
}
