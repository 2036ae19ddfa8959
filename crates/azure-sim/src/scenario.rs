//! Scenarios: the estate the simulator pretends to be (tenant, subscriptions, storage accounts, vaults, managed
//! HSMs, keys, identities, role assignments, the compute, SQL, container and web resources of `services`, raw
//! documents, faults) and the drill of changes to apply at run time (`drill`), read from TOML data files and
//! checked for consistency before anything is served. The format is documented in the crate docs and at the top
//! of `scenarios/default.toml`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use time::OffsetDateTime;

use crate::error::Error;
use crate::latency::Latency;
use crate::listing::{self, EstateIndex};
use crate::material;
use crate::resource_id::{ResourceId, scope_key};
use crate::timestamps::{IsoDuration, Timestamp};

mod drill;
mod raw;
mod service_validation;
mod services;
mod validation;

pub use drill::{DrillStep, SettingValue, VaultSetting};
pub(crate) use raw::RawResource;
pub(crate) use services::*;
use validation::Validator;

/// Scenarios compiled into the crate, by name.
const BUILTINS: &[(&str, &str)] =
    &[("default", include_str!("../scenarios/default.toml")), ("faults", include_str!("../scenarios/faults.toml"))];

/// Names of [`BUILTINS`], for [`Scenario::builtin_names`].
const BUILTIN_NAMES: &[&str] = &["default", "faults"];

/// How deep `extends` chains may go (built-ins only, so this only guards against a cycle).
const MAX_EXTENDS_DEPTH: usize = 4;

// ---------------------------------------------------------------------------------------------------------------
// The file format (serde). Every table denies unknown fields so a typo fails with its line number.
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    extends: Option<String>,
    description: Option<String>,
    tenant: Option<TenantSpec>,
    credentials: Option<CredentialsSpec>,
    simulation: Option<SimulationSpec>,
    #[serde(default)]
    subscriptions: Vec<SubscriptionSpec>,
    #[serde(default)]
    identities: Vec<IdentitySpec>,
    #[serde(default)]
    vaults: Vec<VaultSpec>,
    #[serde(default)]
    managed_hsms: Vec<HsmSpec>,
    #[serde(default)]
    keys: Vec<KeySpec>,
    #[serde(default)]
    storage_accounts: Vec<StorageSpec>,
    #[serde(default)]
    role_assignments: Vec<RoleAssignmentSpec>,
    #[serde(default)]
    hsm_role_assignments: Vec<HsmRoleAssignmentSpec>,
    #[serde(default)]
    other_resources: Vec<OtherResourceSpec>,
    #[serde(default)]
    disk_encryption_sets: Vec<DiskEncryptionSetSpec>,
    #[serde(default)]
    disks: Vec<DiskSpec>,
    #[serde(default)]
    virtual_machines: Vec<VirtualMachineSpec>,
    #[serde(default)]
    aks_clusters: Vec<AksSpec>,
    #[serde(default)]
    sql_servers: Vec<SqlServerSpec>,
    #[serde(default)]
    container_registries: Vec<RegistrySpec>,
    #[serde(default)]
    container_groups: Vec<ContainerGroupSpec>,
    #[serde(default)]
    container_apps_environments: Vec<ManagedEnvironmentSpec>,
    #[serde(default)]
    container_apps: Vec<ContainerAppSpec>,
    #[serde(default)]
    web_apps: Vec<WebAppSpec>,
    #[serde(default)]
    raw_resources: Vec<RawResourceSpec>,
    #[serde(default)]
    faults: Vec<FaultSpec>,
    /// The changes `cmk-evidence demo` applies between its two collections (replaces the base's through
    /// `extends` when present).
    #[serde(default)]
    drill: Vec<DrillStep>,
    /// Entries per table inherited through `extends` (they precede this file's own entries).
    #[serde(skip)]
    inherited: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TenantSpec {
    pub(crate) id: String,
    pub(crate) display_name: String,
    pub(crate) default_domain: String,
    #[serde(default)]
    pub(crate) country_code: Option<String>,
    /// Extra authority host (beyond `login.*`) routed to the token endpoint, e.g. for a custom cloud.
    #[serde(default)]
    pub(crate) authority_host: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CredentialsSpec {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    /// Object id of the service principal: what role assignments and 403 messages name.
    pub(crate) object_id: String,
    /// Accept any non-empty `client_assertion` (workload identity, certificate) for `client_id`.
    #[serde(default = "yes")]
    pub(crate) accept_client_assertion: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SimulationSpec {
    /// The scenario's fixed "now".
    pub(crate) now: Timestamp,
    /// How long storage accounts that follow the latest key version take to adopt a version created by
    /// `RunningSim::rotate_key` (Azure Storage: within 24 hours).
    #[serde(default)]
    pub(crate) adoption_delay: Option<IsoDuration>,
    /// Added to every response (every surface alike), to model network and service latency.
    #[serde(default)]
    pub(crate) latency_ms: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Access {
    /// The caller can read.
    #[default]
    Reader,
    /// The caller holds no role: every request answers 403.
    Denied,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubscriptionSpec {
    pub(crate) id: String,
    pub(crate) display_name: String,
    #[serde(default = "enabled_state")]
    pub(crate) state: String,
    #[serde(default)]
    pub(crate) access: Access,
    /// Whether `GET /subscriptions` shows it (a denied subscription usually still shows when the caller holds
    /// some unrelated role in it).
    #[serde(default = "yes")]
    pub(crate) listed: bool,
    #[serde(default)]
    pub(crate) quota_id: Option<String>,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    /// Resource types (`Namespace/type`) the caller may not read in this subscription although it may read the
    /// subscription: ARM answers 403 for their lists and gets, and leaves them out of `GET .../resources` and
    /// Resource Graph.
    #[serde(default)]
    pub(crate) denied_types: Vec<String>,
}

impl SubscriptionSpec {
    /// Whether the caller holds a role in the subscription at all.
    pub(crate) fn readable(&self) -> bool {
        self.access == Access::Reader
    }

    /// Whether the caller can read resources of `resource_type` (`namespace/type`, any case) here.
    pub(crate) fn can_read(&self, resource_type: &str) -> bool {
        self.readable() && !self.denied_types.iter().any(|t| t.eq_ignore_ascii_case(resource_type))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IdentitySpec {
    pub(crate) id: String,
    pub(crate) principal_id: String,
    pub(crate) client_id: String,
    #[serde(default)]
    pub(crate) location: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NetworkAclsSpec {
    /// Always set from a scenario file (default `AzureServices`); a drill may make it absent.
    #[serde(default = "some_azure_services")]
    pub(crate) bypass: Option<String>,
    /// Always set from a scenario file (default `Allow`); a drill may make it absent.
    #[serde(default = "some_allow")]
    pub(crate) default_action: Option<String>,
    #[serde(default)]
    pub(crate) ip_rules: Vec<String>,
    #[serde(default)]
    pub(crate) virtual_network_rules: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccessPolicySpec {
    pub(crate) object_id: String,
    #[serde(default)]
    pub(crate) tenant_id: Option<String>,
    #[serde(default)]
    pub(crate) application_id: Option<String>,
    #[serde(default)]
    pub(crate) keys: Vec<String>,
    #[serde(default)]
    pub(crate) secrets: Vec<String>,
    #[serde(default)]
    pub(crate) certificates: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VaultSpec {
    pub(crate) id: String,
    pub(crate) location: String,
    #[serde(default = "standard")]
    pub(crate) sku: String,
    #[serde(default)]
    pub(crate) tenant_id: Option<String>,
    /// Each of these is emitted only when set: absent in the scenario means absent in the JSON.
    #[serde(default)]
    pub(crate) soft_delete: Option<bool>,
    #[serde(default)]
    pub(crate) soft_delete_retention_days: Option<u32>,
    #[serde(default)]
    pub(crate) purge_protection: Option<bool>,
    #[serde(default)]
    pub(crate) rbac_authorization: Option<bool>,
    #[serde(default)]
    pub(crate) public_network_access: Option<String>,
    #[serde(default)]
    pub(crate) enabled_for_deployment: Option<bool>,
    #[serde(default)]
    pub(crate) enabled_for_disk_encryption: Option<bool>,
    #[serde(default)]
    pub(crate) enabled_for_template_deployment: Option<bool>,
    #[serde(default)]
    pub(crate) network_acls: Option<NetworkAclsSpec>,
    #[serde(default)]
    pub(crate) access_policies: Vec<AccessPolicySpec>,
    #[serde(default)]
    pub(crate) created: Option<Timestamp>,
    #[serde(default)]
    pub(crate) created_by: Option<String>,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    /// Whether the caller may read keys through the data plane (denied: 403 after authentication).
    #[serde(default)]
    pub(crate) data_plane_access: Access,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HsmSpec {
    pub(crate) id: String,
    pub(crate) location: String,
    #[serde(default = "standard_b1")]
    pub(crate) sku: String,
    #[serde(default)]
    pub(crate) tenant_id: Option<String>,
    #[serde(default)]
    pub(crate) soft_delete: Option<bool>,
    #[serde(default)]
    pub(crate) soft_delete_retention_days: Option<u32>,
    #[serde(default)]
    pub(crate) purge_protection: Option<bool>,
    #[serde(default)]
    pub(crate) public_network_access: Option<String>,
    #[serde(default)]
    pub(crate) network_acls: Option<NetworkAclsSpec>,
    #[serde(default)]
    pub(crate) initial_admin_object_ids: Vec<String>,
    #[serde(default)]
    pub(crate) created: Option<Timestamp>,
    #[serde(default)]
    pub(crate) created_by: Option<String>,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) data_plane_access: Access,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeySpec {
    /// Name of a vault or managed HSM of this scenario.
    vault: String,
    name: String,
    kty: String,
    #[serde(default)]
    size: Option<u32>,
    #[serde(default)]
    curve: Option<String>,
    #[serde(default)]
    key_ops: Option<Vec<String>>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    versions: Vec<KeyVersionSpec>,
    #[serde(default)]
    version_series: Option<VersionSeriesSpec>,
    #[serde(default)]
    rotation_policy: Option<RotationPolicySpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyVersionSpec {
    #[serde(default)]
    id: Option<String>,
    created: Timestamp,
    #[serde(default)]
    updated: Option<Timestamp>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    not_before: Option<Timestamp>,
    #[serde(default)]
    expires: Option<Timestamp>,
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionSeriesSpec {
    count: u32,
    first_created: Timestamp,
    interval: IsoDuration,
    #[serde(default)]
    expires_after: Option<IsoDuration>,
    #[serde(default)]
    disabled_before: Option<Timestamp>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotationPolicySpec {
    #[serde(default)]
    pub(crate) expiry_time: Option<IsoDuration>,
    #[serde(default)]
    pub(crate) created: Option<Timestamp>,
    #[serde(default)]
    pub(crate) updated: Option<Timestamp>,
    #[serde(default)]
    pub(crate) lifetime_actions: Vec<LifetimeActionSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LifetimeActionSpec {
    /// `Rotate` or `Notify`.
    pub(crate) action: String,
    #[serde(default)]
    pub(crate) time_after_create: Option<IsoDuration>,
    #[serde(default)]
    pub(crate) time_before_expiry: Option<IsoDuration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ManagedIdentitySpec {
    /// `SystemAssigned`, `UserAssigned`, `SystemAssigned,UserAssigned` or `None`.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) principal_id: Option<String>,
    #[serde(default)]
    pub(crate) user_assigned: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EncryptionSpec {
    #[serde(default = "microsoft_storage")]
    key_source: String,
    #[serde(default)]
    require_infrastructure_encryption: Option<bool>,
    #[serde(default)]
    key_vault_uri: Option<String>,
    #[serde(default)]
    key_name: Option<String>,
    /// A version id, `#N` (N-th version by creation time), or absent / `""` to follow the latest version.
    #[serde(default)]
    key_version: Option<String>,
    /// For accounts that follow the latest version: the version the account has adopted (id or `#N`);
    /// default: the latest version.
    #[serde(default)]
    in_use_version: Option<String>,
    #[serde(default)]
    user_assigned_identity: Option<String>,
    #[serde(default)]
    federated_identity_client_id: Option<String>,
    #[serde(default)]
    last_key_rotation: Option<Timestamp>,
    #[serde(default = "yes")]
    auto_adopt: bool,
    /// Overrides `[simulation] adoption_delay` for this account.
    #[serde(default)]
    adoption_delay: Option<IsoDuration>,
    /// Marks a deliberate dangling reference (the vault is outside this scenario); the text says why.
    #[serde(default)]
    external_key: Option<String>,
}

impl Default for EncryptionSpec {
    fn default() -> Self {
        EncryptionSpec {
            key_source: microsoft_storage(),
            require_infrastructure_encryption: None,
            key_vault_uri: None,
            key_name: None,
            key_version: None,
            in_use_version: None,
            user_assigned_identity: None,
            federated_identity_client_id: None,
            last_key_rotation: None,
            auto_adopt: true,
            adoption_delay: None,
            external_key: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StorageSpec {
    pub(crate) id: String,
    pub(crate) location: String,
    #[serde(default = "storage_v2")]
    pub(crate) kind: String,
    #[serde(default = "standard_lrs")]
    pub(crate) sku: String,
    #[serde(default)]
    pub(crate) access_tier: Option<String>,
    pub(crate) created: Timestamp,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) identity: Option<ManagedIdentitySpec>,
    #[serde(default = "allow")]
    pub(crate) network_default_action: String,
    #[serde(default)]
    pub(crate) public_network_access: Option<String>,
    #[serde(default)]
    pub(crate) is_hns_enabled: Option<bool>,
    #[serde(default)]
    pub(crate) encryption: EncryptionSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleAssignmentSpec {
    scope: String,
    role: String,
    principal_id: String,
    #[serde(default = "service_principal")]
    principal_type: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    created: Option<Timestamp>,
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct HsmRoleAssignmentSpec {
    hsm: String,
    #[serde(default = "root_scope")]
    scope: String,
    role: String,
    principal_id: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OtherResourceSpec {
    pub(crate) id: String,
    pub(crate) location: String,
    #[serde(default)]
    pub(crate) kind: Option<String>,
    #[serde(default)]
    pub(crate) sku: Option<String>,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
}

/// What an injected fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FaultKind {
    /// 429 with `Retry-After`.
    Throttle,
    /// 503, optionally with `Retry-After`.
    Unavailable,
    /// The normal answer, after `delay_ms`.
    Slow,
    /// The normal status and headers with the body cut in half (invalid JSON).
    Malformed,
    /// 403 `AuthorizationFailed` (ARM) / `Forbidden` (Key Vault).
    Forbidden,
    /// 500 `InternalServerError`.
    ServerError,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultSpec {
    pub(crate) name: String,
    pub(crate) kind: FaultKind,
    #[serde(default)]
    pub(crate) method: Option<String>,
    /// Substring of the (forwarded) host, case-insensitive.
    #[serde(default)]
    pub(crate) host: Option<String>,
    /// Substring of the request path, case-insensitive.
    pub(crate) path_contains: String,
    /// How many times the rule fires; absent = every time.
    #[serde(default)]
    pub(crate) times: Option<u64>,
    #[serde(default)]
    pub(crate) retry_after_seconds: Option<u64>,
    #[serde(default)]
    pub(crate) delay_ms: Option<u64>,
}

fn yes() -> bool {
    true
}
fn enabled_state() -> String {
    "Enabled".into()
}
fn some_azure_services() -> Option<String> {
    Some("AzureServices".into())
}
fn some_allow() -> Option<String> {
    Some("Allow".into())
}
fn allow() -> String {
    "Allow".into()
}
fn standard() -> String {
    "standard".into()
}
fn standard_b1() -> String {
    "Standard_B1".into()
}
fn storage_v2() -> String {
    "StorageV2".into()
}
fn standard_lrs() -> String {
    "Standard_LRS".into()
}
fn microsoft_storage() -> String {
    "Microsoft.Storage".into()
}
fn service_principal() -> String {
    "ServicePrincipal".into()
}
fn root_scope() -> String {
    "/".into()
}

// ---------------------------------------------------------------------------------------------------------------
// The validated model the server reads.
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub(crate) id: ResourceId,
    pub(crate) spec: IdentitySpec,
}

#[derive(Debug, Clone)]
pub(crate) struct Vault {
    pub(crate) id: ResourceId,
    pub(crate) spec: VaultSpec,
}

#[derive(Debug, Clone)]
pub(crate) struct ManagedHsm {
    pub(crate) id: ResourceId,
    pub(crate) spec: HsmSpec,
}

/// Where a key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContainerKind {
    Vault,
    ManagedHsm,
}

/// Protection settings shared by vaults and managed HSMs, as the data plane needs them.
#[derive(Debug, Clone)]
pub(crate) struct Protection {
    pub(crate) soft_delete: Option<bool>,
    pub(crate) retention_days: Option<u32>,
    pub(crate) purge_protection: Option<bool>,
}

#[derive(Debug, Clone)]
pub(crate) struct KeyVersion {
    pub(crate) id: String,
    pub(crate) created: OffsetDateTime,
    pub(crate) updated: OffsetDateTime,
    pub(crate) enabled: bool,
    pub(crate) not_before: Option<OffsetDateTime>,
    pub(crate) expires: Option<OffsetDateTime>,
    pub(crate) tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Key {
    /// Lower-case vault or managed HSM name.
    pub(crate) container: String,
    pub(crate) name: String,
    pub(crate) kty: String,
    pub(crate) size: Option<u32>,
    pub(crate) curve: Option<String>,
    pub(crate) key_ops: Vec<String>,
    pub(crate) tags: BTreeMap<String, String>,
    /// Sorted by creation time.
    pub(crate) versions: Vec<KeyVersion>,
    pub(crate) rotation_policy: Option<RotationPolicySpec>,
}

impl Key {
    /// The current version: the most recently created one.
    pub(crate) fn latest(&self) -> Option<&KeyVersion> {
        self.versions.last()
    }

    pub(crate) fn version(&self, id: &str) -> Option<&KeyVersion> {
        self.versions.iter().find(|v| v.id.eq_ignore_ascii_case(id))
    }

    /// Resolve `#N` or a version id to the canonical id.
    fn resolve(&self, reference: &str) -> Option<String> {
        if let Some(n) = reference.strip_prefix('#') {
            let n: usize = n.parse().ok()?;
            return self.versions.get(n.checked_sub(1)?).map(|v| v.id.clone());
        }
        self.version(reference).map(|v| v.id.clone())
    }
}

/// A storage account's customer-managed key binding, with every reference resolved.
#[derive(Debug, Clone)]
pub(crate) struct CmkBinding {
    /// `keyvaulturi` exactly as the scenario wrote it.
    pub(crate) vault_uri: String,
    /// Lower-case first DNS label of the vault URI.
    pub(crate) container: String,
    pub(crate) key_name: String,
    /// `None` = follows the latest version (`keyversion` is `""`).
    pub(crate) pinned_version: Option<String>,
    pub(crate) in_use_version: String,
    pub(crate) user_assigned_identity: Option<ResourceId>,
    pub(crate) federated_client_id: Option<String>,
    pub(crate) last_key_rotation: Option<OffsetDateTime>,
    pub(crate) auto_adopt: bool,
    /// Overrides the scenario's adoption delay.
    pub(crate) adoption_delay: Option<time::Duration>,
    /// Set when the vault is deliberately outside the scenario.
    pub(crate) external: Option<String>,
    /// A version created by a rotation, adopted when the clock reaches the time.
    pub(crate) pending: Option<(String, OffsetDateTime)>,
}

#[derive(Debug, Clone)]
pub(crate) struct StorageAccount {
    pub(crate) id: ResourceId,
    pub(crate) spec: StorageSpec,
    pub(crate) key_source: String,
    pub(crate) require_infrastructure_encryption: Option<bool>,
    pub(crate) cmk: Option<CmkBinding>,
}

#[derive(Debug, Clone)]
pub(crate) struct RoleAssignment {
    pub(crate) scope: String,
    pub(crate) scope_key: Vec<String>,
    pub(crate) role: String,
    pub(crate) principal_id: String,
    pub(crate) principal_type: String,
    pub(crate) name: String,
    pub(crate) created: OffsetDateTime,
    pub(crate) created_by: Option<String>,
    pub(crate) description: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct HsmRoleAssignment {
    /// Lower-case managed HSM name.
    pub(crate) hsm: String,
    pub(crate) scope: String,
    pub(crate) scope_key: Vec<String>,
    pub(crate) role: String,
    pub(crate) principal_id: String,
    pub(crate) name: String,
}

#[derive(Debug, Clone)]
pub(crate) struct OtherResource {
    pub(crate) id: ResourceId,
    pub(crate) spec: OtherResourceSpec,
}

/// A simulated Azure estate: one tenant, its subscriptions and resources, the credentials the simulator
/// accepts, a fixed clock, and optional fault rules. Load one with [`Scenario::builtin`],
/// [`Scenario::from_path`] or [`Scenario::from_toml_str`]; every reference is checked at load time.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub(crate) origin: String,
    pub(crate) description: Option<String>,
    pub(crate) tenant: TenantSpec,
    pub(crate) credentials: CredentialsSpec,
    pub(crate) start: OffsetDateTime,
    pub(crate) now: OffsetDateTime,
    pub(crate) adoption_delay: time::Duration,
    pub(crate) latency: Latency,
    pub(crate) subscriptions: Vec<SubscriptionSpec>,
    pub(crate) identities: Vec<Identity>,
    pub(crate) vaults: Vec<Vault>,
    pub(crate) managed_hsms: Vec<ManagedHsm>,
    pub(crate) keys: Vec<Key>,
    pub(crate) storage_accounts: Vec<StorageAccount>,
    pub(crate) role_assignments: Vec<RoleAssignment>,
    pub(crate) hsm_role_assignments: Vec<HsmRoleAssignment>,
    pub(crate) other_resources: Vec<OtherResource>,
    /// Disk encryption sets, disks, VMs, AKS, SQL, registries, container groups, Container Apps, web apps.
    pub(crate) services: Services,
    /// Verbatim documents ([`Scenario::add_raw_resource`], `[[raw_resources]]`).
    pub(crate) raw_resources: Vec<RawResource>,
    pub(crate) faults: Vec<FaultSpec>,
    /// The scenario's `[[drill]]`, checked against the estate at load time.
    pub(crate) drill: Vec<DrillStep>,
    /// Rotations performed at run time, to derive fresh version ids.
    pub(crate) rotations: u64,
    /// Lookups by id, name, subscription and type, built when a simulator starts serving the scenario (see
    /// [`EstateIndex`]); `None` while the scenario is being built or changed, when lookups scan the lists.
    pub(crate) index: Option<Arc<EstateIndex>>,
}

impl Scenario {
    /// The embedded default estate (`scenarios/default.toml`): a Contoso tenant with three subscriptions that
    /// exercises every link of the CMK chain, including the broken ones.
    pub fn default_scenario() -> Scenario {
        match Scenario::builtin("default") {
            Ok(s) => s,
            // The embedded file is validated by this crate's tests; reaching this is a build defect.
            Err(e) => panic!("embedded default scenario is invalid: {e}"),
        }
    }

    /// An embedded scenario by name (see [`Scenario::builtin_names`]).
    pub fn builtin(name: &str) -> Result<Scenario, Error> {
        let text = builtin_text(name)?;
        Scenario::from_toml_str(text, &format!("builtin:{name}"))
    }

    /// Names accepted by [`Scenario::builtin`].
    pub fn builtin_names() -> &'static [&'static str] {
        BUILTIN_NAMES
    }

    /// Load a scenario file. Errors name the file and the line or entry at fault.
    /// `[[raw_resources]]` paths are relative to the file's directory.
    pub fn from_path(path: &Path) -> Result<Scenario, Error> {
        let text =
            std::fs::read_to_string(path).map_err(|source| Error::ReadScenario { path: path.to_path_buf(), source })?;
        let dir = path.parent().map(|d| if d.as_os_str().is_empty() { Path::new(".") } else { d });
        Scenario::load(&text, &path.display().to_string(), dir)
    }

    /// Load a scenario from TOML text; `origin` names it in errors (a path or `builtin:<name>`). Text has no
    /// directory, so `[[raw_resources]]` paths must be absolute here.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Scenario, Error> {
        Scenario::load(text, origin, None)
    }

    fn load(text: &str, origin: &str, dir: Option<&Path>) -> Result<Scenario, Error> {
        let file = parse_file(text, origin)?;
        let file = resolve_extends(file, origin, 0)?;
        Validator { origin, source: text, inherited: file.inherited.clone(), dir }.build(file)
    }

    /// The tenant id (directory id).
    pub fn tenant_id(&self) -> &str {
        &self.tenant.id
    }

    /// Every subscription id of the scenario, including denied ones, in file order.
    pub fn subscription_ids(&self) -> Vec<String> {
        self.subscriptions.iter().map(|s| s.id.clone()).collect()
    }

    /// The service principal the simulator accepts: `(client_id, client_secret)`.
    pub fn client_credentials(&self) -> (String, String) {
        (self.credentials.client_id.clone(), self.credentials.client_secret.clone())
    }

    /// The scenario's fixed "now" (UTC).
    pub fn clock(&self) -> OffsetDateTime {
        self.start
    }

    /// Where the scenario came from: a path or `builtin:<name>`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The scenario's own one-line description, if it has one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The scenario's `[[drill]]`: the changes `cmk-evidence demo` applies between its two collections, in
    /// order, each checked against the estate when the scenario loaded. Apply them with
    /// [`RunningSim::apply_drill_step`](crate::RunningSim::apply_drill_step).
    pub fn drill(&self) -> &[DrillStep] {
        &self.drill
    }

    /// The same scenario with `latency` added to each surface's responses (see [`Latency::azure_like`]).
    pub fn with_latency(mut self, latency: Latency) -> Scenario {
        self.latency = latency;
        self
    }

    /// The same scenario with `ms` milliseconds added to every response of every surface (network plus
    /// service time), as `[simulation] latency_ms` does.
    pub fn with_latency_ms(self, ms: u64) -> Scenario {
        self.with_latency(Latency::uniform(std::time::Duration::from_millis(ms)))
    }

    /// How many resources the ARM lists of all subscriptions return to the scenario's principal, per resource
    /// type in lower case (`microsoft.storage/storageaccounts` → 55000): every top-level resource — vaults,
    /// managed HSMs and user-assigned identities included — of a subscription the principal can read, except
    /// types denied to it there. A benchmark compares what it collected against this to show no resource was
    /// lost.
    pub fn resource_counts(&self) -> BTreeMap<String, usize> {
        let readable: std::collections::HashMap<String, &SubscriptionSpec> =
            self.subscriptions.iter().map(|s| (s.id.to_ascii_lowercase(), s)).collect();
        let mut counts = BTreeMap::new();
        for item in listing::every_item(self) {
            let ty = item.resource_type();
            let visible = readable.get(&item.subscription().to_ascii_lowercase()).is_some_and(|s| s.can_read(&ty));
            if visible {
                *counts.entry(ty).or_insert(0) += 1;
            }
        }
        counts
    }

    /// Build the lookups a serving simulator uses. Called once the estate's lists are final.
    pub(crate) fn build_index(&mut self) {
        self.index = None;
        self.index = Some(Arc::new(EstateIndex::build(self)));
    }

    // ----- lookups used by the server -----

    pub(crate) fn subscription(&self, id: &str) -> Option<&SubscriptionSpec> {
        match &self.index {
            Some(index) => index.subscriptions.get(&id.to_ascii_lowercase()).and_then(|&i| self.subscriptions.get(i)),
            None => self.subscriptions.iter().find(|s| s.id.eq_ignore_ascii_case(id)),
        }
    }

    pub(crate) fn vault(&self, name: &str) -> Option<&Vault> {
        match &self.index {
            Some(index) => index.vaults.get(&name.to_ascii_lowercase()).and_then(|&i| self.vaults.get(i)),
            None => self.vaults.iter().find(|v| v.id.name.eq_ignore_ascii_case(name)),
        }
    }

    pub(crate) fn managed_hsm(&self, name: &str) -> Option<&ManagedHsm> {
        match &self.index {
            Some(index) => index.managed_hsms.get(&name.to_ascii_lowercase()).and_then(|&i| self.managed_hsms.get(i)),
            None => self.managed_hsms.iter().find(|h| h.id.name.eq_ignore_ascii_case(name)),
        }
    }

    pub(crate) fn identity(&self, id: &str) -> Option<&Identity> {
        match &self.index {
            Some(index) => index.identities.get(&id.to_ascii_lowercase()).and_then(|&i| self.identities.get(i)),
            None => self.identities.iter().find(|i| i.id.raw.eq_ignore_ascii_case(id)),
        }
    }

    pub(crate) fn key(&self, container: &str, name: &str) -> Option<&Key> {
        match &self.index {
            Some(index) => index
                .keys
                .get(&(container.to_ascii_lowercase(), name.to_ascii_lowercase()))
                .and_then(|&i| self.keys.get(i)),
            None => self
                .keys
                .iter()
                .find(|k| k.container.eq_ignore_ascii_case(container) && k.name.eq_ignore_ascii_case(name)),
        }
    }

    pub(crate) fn disk(&self, id: &str) -> Option<&Disk> {
        match &self.index {
            Some(index) => index.disks.get(&id.to_ascii_lowercase()).and_then(|&i| self.services.disks.get(i)),
            None => self.services.disk(id),
        }
    }

    /// The VM a disk is attached to.
    pub(crate) fn disk_owner(&self, disk: &ResourceId) -> Option<&VirtualMachine> {
        match &self.index {
            Some(index) => index.disk_owners.get(&disk.key()).and_then(|&i| self.services.virtual_machines.get(i)),
            None => self.services.disk_owner(disk),
        }
    }

    pub(crate) fn managed_environment(&self, id: &str) -> Option<&ManagedEnvironment> {
        match &self.index {
            Some(index) => index
                .managed_environments
                .get(&id.to_ascii_lowercase())
                .and_then(|&i| self.services.managed_environments.get(i)),
            None => self.services.managed_environment(id),
        }
    }

    /// Kind and protection of the vault or managed HSM called `name`.
    pub(crate) fn container(&self, name: &str) -> Option<(ContainerKind, Protection)> {
        if let Some(v) = self.vault(name) {
            return Some((
                ContainerKind::Vault,
                Protection {
                    soft_delete: v.spec.soft_delete,
                    retention_days: v.spec.soft_delete_retention_days,
                    purge_protection: v.spec.purge_protection,
                },
            ));
        }
        self.managed_hsm(name).map(|h| {
            (
                ContainerKind::ManagedHsm,
                Protection {
                    soft_delete: h.spec.soft_delete,
                    retention_days: h.spec.soft_delete_retention_days,
                    purge_protection: h.spec.purge_protection,
                },
            )
        })
    }

    // ----- run-time changes (driven through RunningSim) -----

    /// Create a new version of a key, as Key Vault's rotate operation does; storage accounts, disk encryption
    /// sets, registries and SQL protectors that follow the latest version adopt it after their adoption delay
    /// (pinned ones never do). Returns the new version id.
    pub(crate) fn rotate_key(&mut self, container: &str, key_name: &str) -> Result<String, Error> {
        let now = self.now;
        self.rotations += 1;
        let seed = format!("{}/{}/{}/rotation/{}", self.origin, container, key_name, self.rotations);
        let key = self
            .keys
            .iter_mut()
            .find(|k| k.container.eq_ignore_ascii_case(container) && k.name.eq_ignore_ascii_case(key_name))
            .ok_or_else(|| Error::UnknownKey { vault: container.to_string(), key: key_name.to_string() })?;
        let expires = key.rotation_policy.as_ref().and_then(|p| p.expiry_time.as_ref()).map(|d| now + d.approx);
        let id = material::version_id(&seed);
        key.versions.push(KeyVersion {
            id: id.clone(),
            created: now,
            updated: now,
            enabled: true,
            not_before: None,
            expires,
            tags: None,
        });
        let container_key = key.container.clone();
        let name = key.name.clone();
        let delay = self.adoption_delay;
        for account in &mut self.storage_accounts {
            if let Some(cmk) = account.cmk.as_mut()
                && cmk.container == container_key
                && cmk.key_name.eq_ignore_ascii_case(&name)
                && cmk.pinned_version.is_none()
                && cmk.auto_adopt
                && cmk.external.is_none()
            {
                cmk.pending = Some((id.clone(), now + cmk.adoption_delay.unwrap_or(delay)));
            }
        }
        for (_, binding) in self.services.key_bindings_mut() {
            if binding.adopts(&container_key, &name) {
                binding.pending = Some((id.clone(), now + binding.adoption_delay.unwrap_or(delay)));
            }
        }
        self.apply_due_adoptions();
        Ok(id)
    }

    /// Disable (or re-enable) one key version.
    pub(crate) fn set_version_enabled(
        &mut self,
        container: &str,
        key_name: &str,
        version: &str,
        enabled: bool,
    ) -> Result<(), Error> {
        let now = self.now;
        let key = self
            .keys
            .iter_mut()
            .find(|k| k.container.eq_ignore_ascii_case(container) && k.name.eq_ignore_ascii_case(key_name))
            .ok_or_else(|| Error::UnknownKey { vault: container.to_string(), key: key_name.to_string() })?;
        let v = key.versions.iter_mut().find(|v| v.id.eq_ignore_ascii_case(version)).ok_or_else(|| {
            Error::UnknownKeyVersion {
                vault: container.to_string(),
                key: key_name.to_string(),
                version: version.to_string(),
            }
        })?;
        v.enabled = enabled;
        v.updated = now;
        Ok(())
    }

    /// Move the clock forward and let resources adopt versions whose adoption time has come. Returns what was
    /// adopted, as `(resource name, version id)`.
    pub(crate) fn advance_clock(&mut self, by: time::Duration) -> Vec<(String, String)> {
        self.now += by;
        self.apply_due_adoptions()
    }

    /// Adopt every pending version whose time has come; returns `(resource name, version id)` of each adoption.
    fn apply_due_adoptions(&mut self) -> Vec<(String, String)> {
        let now = self.now;
        let mut adopted = Vec::new();
        for account in &mut self.storage_accounts {
            if let Some(cmk) = account.cmk.as_mut()
                && let Some((version, due)) = cmk.pending.clone()
                && due <= now
            {
                adopted.push((account.id.name.clone(), version.clone()));
                cmk.in_use_version = version;
                cmk.last_key_rotation = Some(due);
                cmk.pending = None;
            }
        }
        for (id, binding) in self.services.key_bindings_mut() {
            if binding.apply_due(now) {
                adopted.push((id.name.clone(), binding.in_use_version.clone()));
            }
        }
        adopted
    }
}

fn builtin_text(name: &str) -> Result<&'static str, Error> {
    BUILTINS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, text)| *text)
        .ok_or_else(|| Error::UnknownBuiltin { name: name.to_string(), known: BUILTIN_NAMES.join(", ") })
}

fn parse_file(text: &str, origin: &str) -> Result<ScenarioFile, Error> {
    toml::from_str(text)
        .map_err(|e| Error::ParseScenario { origin: origin.to_string(), message: e.to_string().trim_end().to_string() })
}

/// Apply `extends = "<builtin>"`: the base's lists come first, this file's entries are appended, and this
/// file's `[tenant]`, `[credentials]`, `[simulation]`, `description` and `[[drill]]` replace the base's when
/// present.
fn resolve_extends(file: ScenarioFile, origin: &str, depth: usize) -> Result<ScenarioFile, Error> {
    let Some(base_name) = file.extends.clone() else {
        return Ok(file);
    };
    if depth >= MAX_EXTENDS_DEPTH {
        return Err(Error::InvalidScenario {
            origin: origin.to_string(),
            line: None,
            what: "extends".into(),
            problem: format!("chain of 'extends' deeper than {MAX_EXTENDS_DEPTH} (a cycle?)"),
        });
    }
    let base_text = builtin_text(&base_name).map_err(|e| Error::InvalidScenario {
        origin: origin.to_string(),
        line: None,
        what: "extends".into(),
        problem: e.to_string(),
    })?;
    let base_origin = format!("builtin:{base_name}");
    let base = resolve_extends(parse_file(base_text, &base_origin)?, &base_origin, depth + 1)?;
    let mut merged = base;
    merged.extends = None;
    merged.inherited = BTreeMap::from([
        ("subscriptions".to_string(), merged.subscriptions.len()),
        ("identities".to_string(), merged.identities.len()),
        ("vaults".to_string(), merged.vaults.len()),
        ("managed_hsms".to_string(), merged.managed_hsms.len()),
        ("keys".to_string(), merged.keys.len()),
        ("storage_accounts".to_string(), merged.storage_accounts.len()),
        ("role_assignments".to_string(), merged.role_assignments.len()),
        ("hsm_role_assignments".to_string(), merged.hsm_role_assignments.len()),
        ("other_resources".to_string(), merged.other_resources.len()),
        ("disk_encryption_sets".to_string(), merged.disk_encryption_sets.len()),
        ("disks".to_string(), merged.disks.len()),
        ("virtual_machines".to_string(), merged.virtual_machines.len()),
        ("aks_clusters".to_string(), merged.aks_clusters.len()),
        ("sql_servers".to_string(), merged.sql_servers.len()),
        ("container_registries".to_string(), merged.container_registries.len()),
        ("container_groups".to_string(), merged.container_groups.len()),
        ("container_apps_environments".to_string(), merged.container_apps_environments.len()),
        ("container_apps".to_string(), merged.container_apps.len()),
        ("web_apps".to_string(), merged.web_apps.len()),
        ("raw_resources".to_string(), merged.raw_resources.len()),
        ("faults".to_string(), merged.faults.len()),
        // A file's own drill replaces the base's, so its entries are then counted from this file's first.
        ("drill".to_string(), if file.drill.is_empty() { merged.drill.len() } else { 0 }),
    ]);
    if file.description.is_some() {
        merged.description = file.description;
    }
    if file.tenant.is_some() {
        merged.tenant = file.tenant;
    }
    if file.credentials.is_some() {
        merged.credentials = file.credentials;
    }
    if file.simulation.is_some() {
        merged.simulation = file.simulation;
    }
    merged.subscriptions.extend(file.subscriptions);
    merged.identities.extend(file.identities);
    merged.vaults.extend(file.vaults);
    merged.managed_hsms.extend(file.managed_hsms);
    merged.keys.extend(file.keys);
    merged.storage_accounts.extend(file.storage_accounts);
    merged.role_assignments.extend(file.role_assignments);
    merged.hsm_role_assignments.extend(file.hsm_role_assignments);
    merged.other_resources.extend(file.other_resources);
    merged.disk_encryption_sets.extend(file.disk_encryption_sets);
    merged.disks.extend(file.disks);
    merged.virtual_machines.extend(file.virtual_machines);
    merged.aks_clusters.extend(file.aks_clusters);
    merged.sql_servers.extend(file.sql_servers);
    merged.container_registries.extend(file.container_registries);
    merged.container_groups.extend(file.container_groups);
    merged.container_apps_environments.extend(file.container_apps_environments);
    merged.container_apps.extend(file.container_apps);
    merged.web_apps.extend(file.web_apps);
    merged.raw_resources.extend(file.raw_resources);
    merged.faults.extend(file.faults);
    if !file.drill.is_empty() {
        merged.drill = file.drill;
    }
    Ok(merged)
}

/// Which kind of data-plane host a vault URI names, and the vault's name (first DNS label, lower case).
pub(crate) fn vault_host_kind(host: &str) -> Option<(ContainerKind, String)> {
    let host = host.to_ascii_lowercase();
    let (name, rest) = host.split_once('.')?;
    let kind = if rest.starts_with("managedhsm.") || rest.contains(".managedhsm.") {
        ContainerKind::ManagedHsm
    } else if rest.starts_with("vault.") || rest.contains(".vault.") {
        ContainerKind::Vault
    } else {
        return None;
    };
    Some((kind, name.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn builtins_load() {
        for name in Scenario::builtin_names() {
            let s = Scenario::builtin(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!s.subscription_ids().is_empty());
        }
    }

    #[test]
    fn unknown_field_names_line() {
        let text = BUILTINS[0].1;
        let broken = text.replacen("display_name = \"Contoso Ltd\"", "display_nme = \"Contoso Ltd\"", 1);
        let err = Scenario::from_toml_str(&broken, "test.toml").unwrap_err().to_string();
        assert!(err.contains("test.toml"), "{err}");
        assert!(err.contains("line"), "{err}");
        assert!(err.contains("display_nme"), "{err}");
    }

    #[test]
    fn dangling_vault_is_rejected_unless_marked() {
        let text = r#"
[tenant]
id = "f6fadfa7-e5c1-4b62-9362-da5cc13da58a"
display_name = "T"
default_domain = "t.onmicrosoft.com"
[credentials]
client_id = "fab36728-a78b-4b7e-8787-c0de2f960063"
client_secret = "s"
object_id = "a712755f-6cac-44d5-99d5-269512e74f7b"
[simulation]
now = "2026-11-23T10:15:00Z"
[[subscriptions]]
id = "2c63888f-28f0-4481-be6d-dce7a7ace732"
display_name = "S"
[[storage_accounts]]
id = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stdangling"
location = "westeurope"
created = "2024-01-01T00:00:00Z"
identity = { type = "SystemAssigned", principal_id = "ac8efe12-1c59-49f1-ba2d-de83458bfed0" }
[storage_accounts.encryption]
key_source = "Microsoft.Keyvault"
key_vault_uri = "https://kv-nowhere.vault.azure.net/"
key_name = "k"
"#;
        let err = Scenario::from_toml_str(text, "dangling.toml").unwrap_err().to_string();
        assert!(err.contains("dangling.toml"), "{err}");
        assert!(err.contains("stdangling"), "{err}");
        assert!(err.contains("kv-nowhere"), "{err}");
        assert!(err.contains("line 15"), "{err}");

        let marked = text.replace(
            "key_name = \"k\"",
            "key_name = \"k\"\nexternal_key = \"vault in another tenant\"\nin_use_version = \"923a736994e3bf911a61dbe22e44158b\"",
        );
        let s = Scenario::from_toml_str(&marked, "dangling.toml").unwrap();
        assert_eq!(s.storage_accounts.len(), 1);
    }

    #[test]
    fn rotation_is_adopted_after_the_delay() {
        let mut s = Scenario::default_scenario();
        s.adoption_delay = time::Duration::hours(2);
        let new = s.rotate_key("kv-contoso-prod", "cmk-storage-prod").unwrap();
        let account = |s: &Scenario| {
            s.storage_accounts.iter().find(|a| a.id.name == "stcontosoprod01").and_then(|a| a.cmk.clone()).unwrap()
        };
        assert_ne!(account(&s).in_use_version, new);
        s.advance_clock(time::Duration::hours(3));
        assert_eq!(account(&s).in_use_version, new);
    }

    const SUB: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732";

    /// The default estate plus `extra` TOML (so references to its vaults, keys and identities resolve).
    fn with(extra: &str) -> Result<Scenario, String> {
        let text = format!("extends = \"default\"\n{extra}");
        Scenario::from_toml_str(&text, "extra.toml").map_err(|e| e.to_string())
    }

    fn expect_error(extra: &str, needles: &[&str]) {
        let err = with(extra).expect_err("should be refused");
        for n in needles {
            assert!(err.contains(n), "'{n}' not in: {err}");
        }
    }

    #[test]
    fn service_tables_reject_unknown_fields_with_their_line() {
        let extra = format!(
            "\n[[disk_encryption_sets]]\nid = \"{SUB}/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/d\"\n\
             location = \"westeurope\"\nrotation_to_lates = true\n"
        );
        expect_error(&extra, &["extra.toml", "line 6", "rotation_to_lates"]);
        let extra = format!(
            "\n[[web_apps]]\nid = \"{SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/w\"\nlocation = \"x\"\n\
             identity = {{ type = \"SystemAssigned\", principal = \"x\" }}\n"
        );
        expect_error(&extra, &["line 6", "principal"]);
    }

    #[test]
    fn dangling_service_references_are_rejected_with_the_entry_and_line() {
        let des = |key: &str| {
            format!(
                "\n[[disk_encryption_sets]]\nid = \"{SUB}/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/d\"\n\
                 location = \"westeurope\"\nidentity = {{ type = \"SystemAssigned\", principal_id = \"{}\" }}\nkey = {key}\n",
                "0b2b3a35-8b44-4a8c-93b3-7f1c1a3b9d11"
            )
        };
        expect_error(
            &des("{ vault = \"kv-contoso-prod\", name = \"nope\" }"),
            &["disk_encryption_sets[2] 'd'", "line 3", "key 'nope' is not in 'kv-contoso-prod'"],
        );
        expect_error(&des("{ vault = \"kv-nowhere\", name = \"k\" }"), &["no vault or managed HSM named 'kv-nowhere'"]);
        expect_error(&des("{ vault = \"https://kv-contoso-prod.vault.azure.net\", name = \"k\" }"), &["external_key"]);
        expect_error(
            &des("{ vault = \"kv-contoso-prod\", name = \"cmk-disk-prod\", version = \"#9\" }"),
            &["has no version '#9'"],
        );
        // A vault outside the scenario is accepted when marked, with the version in use.
        let external = des(
            "{ vault = \"https://kv-fabrikam.vault.azure.net\", name = \"k\", in_use_version = \"923a736994e3bf911a61dbe22e44158b\", external_key = \"customer vault\" }",
        );
        let s = with(&external).unwrap();
        assert_eq!(s.services.disk_encryption_sets.len(), 3);

        let disk = format!(
            "\n[[disks]]\nid = \"{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/x\"\nlocation = \"westeurope\"\n\
             size_gb = 4\ndisk_encryption_set = \"{SUB}/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/gone\"\n"
        );
        expect_error(&disk, &["disks[5] 'x'", "line 3", "not declared under [[disk_encryption_sets]]"]);

        let vm = format!(
            "\n[[virtual_machines]]\nid = \"{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v\"\n\
             location = \"westeurope\"\nos_disk = \"{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/none\"\n"
        );
        expect_error(&vm, &["virtual_machines[1] 'v'", "os_disk", "not declared under [[disks]]"]);

        let aks = format!(
            "\n[[aks_clusters]]\nid = \"{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/a\"\n\
             location = \"westeurope\"\nidentity = {{ type = \"SystemAssigned\", principal_id = \"0b2b3a35-8b44-4a8c-93b3-7f1c1a3b9d11\" }}\n\
             agent_pools = [{{ name = \"p\" }}]\nkms = {{ vault = \"kv-contoso-prod\", name = \"kms-aks-prod\" }}\n"
        );
        expect_error(&aks, &["aks_clusters[1] 'a'.kms.version", "AKS KMS always names a key version"]);
        let aks_des = aks.replace(
            "kms = { vault = \"kv-contoso-prod\", name = \"kms-aks-prod\" }",
            &format!(
                "disk_encryption_set = \"{SUB}/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/gone\""
            ),
        );
        expect_error(&aks_des, &["aks_clusters[1] 'a'.disk_encryption_set", "not declared"]);

        let aci = format!(
            "\n[[container_groups]]\nid = \"{SUB}/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/c\"\n\
             location = \"westeurope\"\nidentity = {{ type = \"SystemAssigned\", principal_id = \"0b2b3a35-8b44-4a8c-93b3-7f1c1a3b9d11\" }}\n\
             key = {{ vault = \"kv-contoso-apps\", name = \"cmk-aci-batch\" }}\n"
        );
        expect_error(&aci, &["Container Instances always names a key version"]);

        let acr = format!(
            "\n[[container_registries]]\nid = \"{SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r\"\n\
             location = \"westeurope\"\nsku = \"Premium\"\nkey = {{ vault = \"kv-contoso-apps\", name = \"cmk-acr-prod\" }}\n"
        );
        expect_error(&acr, &["key_identity", "user-assigned identity"]);

        let sql = format!(
            "\n[[sql_servers]]\nid = \"{SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/s\"\nkind = \"managed_instance\"\n\
             location = \"westeurope\"\n"
        );
        expect_error(&sql, &["resource type is Microsoft.Sql/servers, expected Microsoft.Sql/managedInstances"]);

        let app = format!(
            "\n[[container_apps]]\nid = \"{SUB}/resourceGroups/rg/providers/Microsoft.App/containerApps/a\"\n\
             location = \"westeurope\"\nenvironment = \"{SUB}/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/none\"\n"
        );
        expect_error(
            &app,
            &["container_apps[1] 'a'.environment", "not declared under [[container_apps_environments]]"],
        );

        let other = format!(
            "\n[[other_resources]]\nid = \"{SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/w\"\nlocation = \"westeurope\"\n"
        );
        expect_error(&other, &["declare it under [[web_apps]]"]);

        let twice = format!(
            "\n[[web_apps]]\nid = \"{SUB}/resourceGroups/rg-web-prod/providers/Microsoft.Web/sites/APP-contoso-portal\"\n\
             location = \"westeurope\"\n"
        );
        expect_error(&twice, &["line 4", "app-contoso-portal' is declared twice"]);
    }

    fn des_key(s: &Scenario, name: &str) -> KeyBinding {
        s.services.disk_encryption_sets.iter().find(|d| d.id.name == name).map(|d| d.key.clone()).unwrap()
    }

    fn sql_key(s: &Scenario, name: &str) -> KeyBinding {
        s.services.sql_servers.iter().find(|d| d.id.name == name).and_then(|d| d.protector.clone()).unwrap()
    }

    fn acr_key(s: &Scenario, name: &str) -> KeyBinding {
        s.services.container_registries.iter().find(|d| d.id.name == name).and_then(|d| d.key.clone()).unwrap()
    }

    #[test]
    fn rotation_moves_follow_latest_services_after_the_delay_and_never_pinned_ones() {
        let mut s = Scenario::default_scenario();
        s.adoption_delay = time::Duration::hours(2);
        let before = s.clone();
        let mut rotated = BTreeMap::new();
        for (vault, key) in [
            ("kv-contoso-prod", "cmk-disk-prod"),
            ("kv-contoso-prod", "cmk-disk-legacy"),
            ("kv-contoso-prod", "tde-sqlmi-prod"),
            ("kv-contoso-prod", "tde-sqlmi-legacy"),
            ("kv-contoso-prod", "kms-aks-prod"),
            ("kv-contoso-apps", "cmk-acr-prod"),
            ("kv-contoso-apps", "cmk-aci-batch"),
        ] {
            rotated.insert(key, s.rotate_key(vault, key).unwrap());
        }
        assert_eq!(des_key(&s, "des-contoso-prod").in_use_version, des_key(&before, "des-contoso-prod").in_use_version);
        assert_eq!(
            sql_key(&s, "sqlmi-contoso-prod").in_use_version,
            sql_key(&before, "sqlmi-contoso-prod").in_use_version
        );

        s.advance_clock(time::Duration::hours(3));
        let due = before.now + time::Duration::hours(2);
        let des = des_key(&s, "des-contoso-prod");
        assert_eq!(des.in_use_version, rotated["cmk-disk-prod"]);
        assert_eq!(des.last_key_rotation, Some(due));
        assert_eq!(des.earlier_versions, vec!["f5d3d9972d09123a0310dcbfbd3915df".to_string()]);
        let sql = sql_key(&s, "sqlmi-contoso-prod");
        assert_eq!(sql.in_use_version, rotated["tde-sqlmi-prod"]);
        // The registry has its own adoption delay (6 h, for the drill): not yet, then after it.
        assert_ne!(acr_key(&s, "acrcontosoprod").in_use_version, rotated["cmk-acr-prod"]);
        s.advance_clock(time::Duration::hours(4));
        assert_eq!(acr_key(&s, "acrcontosoprod").in_use_version, rotated["cmk-acr-prod"]);
        assert_eq!(acr_key(&s, "acrcontosoprod").last_key_rotation, Some(before.now + time::Duration::hours(6)));

        // Pinned: the legacy DES and MI, every container group, the AKS KMS key.
        for (a, b) in [
            (des_key(&s, "des-contoso-legacy"), des_key(&before, "des-contoso-legacy")),
            (sql_key(&s, "sqlmi-contoso-legacy"), sql_key(&before, "sqlmi-contoso-legacy")),
        ] {
            assert_eq!(a.in_use_version, b.in_use_version);
            assert!(a.pending.is_none());
        }
        let group = s.services.container_groups.iter().find(|g| g.id.name == "aci-contoso-batch").unwrap();
        assert_eq!(group.key.as_ref().unwrap().in_use_version, "9389f81084d963df46ea52965cb95975");
        let aks = s.services.aks_clusters[0].kms.as_ref().unwrap();
        assert_eq!(aks.in_use_version, "309c663be79336a5c76d4b7d0ed95215");
    }

    #[test]
    fn a_resource_may_override_the_adoption_delay() {
        // The default registry waits 6 h (for the drill); an hour here.
        let text = BUILTINS[0].1.replace(
            "name = \"cmk-acr-prod\", last_key_rotation = \"2026-08-09T07:41:03.0012345Z\", adoption_delay = \"PT6H\"",
            "name = \"cmk-acr-prod\", last_key_rotation = \"2026-08-09T07:41:03.0012345Z\", adoption_delay = \"PT1H\"",
        );
        assert_ne!(text, BUILTINS[0].1, "the registry's key line changed: update this test");
        let mut s = Scenario::from_toml_str(&text, "delay.toml").unwrap();
        s.adoption_delay = time::Duration::hours(24);
        let acr = s.rotate_key("kv-contoso-apps", "cmk-acr-prod").unwrap();
        let des = s.rotate_key("kv-contoso-prod", "cmk-disk-prod").unwrap();
        s.advance_clock(time::Duration::minutes(90));
        assert_eq!(acr_key(&s, "acrcontosoprod").in_use_version, acr, "ACR adopts within its own hour");
        assert_ne!(des_key(&s, "des-contoso-prod").in_use_version, des, "the DES waits for the scenario's day");
        s.advance_clock(time::Duration::hours(23));
        assert_eq!(des_key(&s, "des-contoso-prod").in_use_version, des);
    }
}
