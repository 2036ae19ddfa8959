//! The data contract of cmk-evidence: the Arrow schema of every evidence table (one module per table, one
//! description per column), the row types collectors fill, identifier and timestamp normalisation, the
//! normalised vocabularies, and the join that turns bindings, vaults, keys and role assignments into the
//! `cmk_chain` table.
//!
//! Conventions (DESIGN §4): `None`/null means "Azure did not say", never "false"; ARM ids are normalised for
//! joins with the original kept; key identifiers are parsed; timestamps are UTC microseconds; Azure's enum
//! strings are kept verbatim beside a normalised column; every table carries `tenant_id` and `snapshot_id`.

pub mod chain;
pub mod column;
pub mod identity;
pub mod ids;
pub(crate) mod table;
pub mod tables;
mod timestamp;
pub mod vocab;
pub mod wire;

pub use ids::{KeyReference, VaultKind};
pub use table::Table;
pub use tables::aks_clusters::AksClusterRow;
pub use tables::cmk_bindings::CmkBinding;
pub use tables::cmk_chain::CmkChainRow;
pub use tables::container_groups::ContainerGroupRow;
pub use tables::container_registries::ContainerRegistryRow;
pub use tables::coverage::CoverageRow;
pub use tables::disk_encryption_sets::DiskEncryptionSetRow;
pub use tables::findings::FindingRow;
pub use tables::key_vault_references::KeyVaultReferenceRow;
pub use tables::key_vaults::KeyVaultRow;
pub use tables::key_versions::KeyVersionRow;
pub use tables::keys::KeyRow;
pub use tables::managed_disks::ManagedDiskRow;
pub use tables::managed_hsms::ManagedHsmRow;
pub use tables::raw_responses::RawResponseRow;
pub use tables::role_assignments::RoleAssignmentRow;
pub use tables::rotation_policies::RotationPolicyRow;
pub use tables::sql_servers::SqlServerRow;
pub use tables::storage_accounts::StorageAccountRow;
pub use tables::vault_access_policies::VaultAccessPolicyRow;
pub use tables::virtual_machines::VirtualMachineRow;
pub use timestamp::Timestamp;
pub use vocab::CoverageStatus;

/// Errors of the evidence crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A key identifier or vault URI that is not of the form `https://{vault}/keys/{name}[/{version}]`.
    #[error("invalid key identifier {key_id:?}: {reason}")]
    KeyId {
        /// The identifier as given.
        key_id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Building an Arrow batch failed (a bug: the schema and the builders disagree).
    #[error("building table {table}: {source}")]
    Arrow {
        /// Table name.
        table: &'static str,
        /// Arrow's error.
        #[source]
        source: arrow_schema::ArrowError,
    },
}

/// ARM resource types that coverage rows and the chain refer to, spelt once.
pub mod resource_types {
    /// Storage accounts.
    pub const STORAGE_ACCOUNT: &str = "Microsoft.Storage/storageAccounts";
    /// Key vaults.
    pub const KEY_VAULT: &str = "Microsoft.KeyVault/vaults";
    /// Managed HSMs.
    pub const MANAGED_HSM: &str = "Microsoft.KeyVault/managedHSMs";
    /// Keys in a vault or HSM (data plane).
    pub const KEY: &str = "Microsoft.KeyVault/vaults/keys";
    /// Key versions (data plane listing).
    pub const KEY_VERSIONS: &str = "Microsoft.KeyVault/vaults/keys/versions";
    /// Key rotation policies (data plane).
    pub const ROTATION_POLICY: &str = "Microsoft.KeyVault/vaults/keys/rotationpolicy";
    /// Role assignments (ARM, or Managed HSM local RBAC).
    pub const ROLE_ASSIGNMENTS: &str = "Microsoft.Authorization/roleAssignments";
    /// Subscriptions.
    pub const SUBSCRIPTION: &str = "Microsoft.Resources/subscriptions";
    /// Generic resource listing of a subscription.
    pub const RESOURCES: &str = "Microsoft.Resources/resources";
    /// Disk encryption sets.
    pub const DISK_ENCRYPTION_SET: &str = "Microsoft.Compute/diskEncryptionSets";
    /// Managed disks.
    pub const DISK: &str = "Microsoft.Compute/disks";
    /// Virtual machines.
    pub const VIRTUAL_MACHINE: &str = "Microsoft.Compute/virtualMachines";
    /// AKS clusters.
    pub const AKS_CLUSTER: &str = "Microsoft.ContainerService/managedClusters";
    /// SQL logical servers.
    pub const SQL_SERVER: &str = "Microsoft.Sql/servers";
    /// SQL managed instances.
    pub const SQL_MANAGED_INSTANCE: &str = "Microsoft.Sql/managedInstances";
    /// Encryption protector of a SQL server (`.../encryptionProtector/current`).
    pub const SQL_SERVER_PROTECTOR: &str = "Microsoft.Sql/servers/encryptionProtector";
    /// Encryption protector of a SQL managed instance.
    pub const SQL_MI_PROTECTOR: &str = "Microsoft.Sql/managedInstances/encryptionProtector";
    /// Server keys of a SQL server.
    pub const SQL_SERVER_KEYS: &str = "Microsoft.Sql/servers/keys";
    /// Keys of a SQL managed instance.
    pub const SQL_MI_KEYS: &str = "Microsoft.Sql/managedInstances/keys";
    /// Container registries.
    pub const CONTAINER_REGISTRY: &str = "Microsoft.ContainerRegistry/registries";
    /// Container instance groups.
    pub const CONTAINER_GROUP: &str = "Microsoft.ContainerInstance/containerGroups";
    /// Container Apps environments (no CMK at rest: seed 000).
    pub const CONTAINER_APPS_ENVIRONMENT: &str = "Microsoft.App/managedEnvironments";
    /// Container Apps environment certificates.
    pub const CONTAINER_APPS_CERTIFICATE: &str = "Microsoft.App/managedEnvironments/certificates";
    /// Container apps.
    pub const CONTAINER_APP: &str = "Microsoft.App/containerApps";
    /// App Service apps and Function apps (no CMK at rest: seed 001).
    pub const WEB_SITE: &str = "Microsoft.Web/sites";
}

/// Who and when: the identity of one snapshot, stamped on every row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotContext {
    /// Entra tenant id.
    pub tenant_id: String,
    /// Collection time; the snapshot id is derived from it.
    pub taken_at: Timestamp,
}

impl SnapshotContext {
    /// The snapshot id, `20261123T101500Z`.
    pub fn snapshot_id(&self) -> String {
        self.taken_at.snapshot_id()
    }

    /// A coverage row for this snapshot.
    pub fn coverage(
        &self,
        status: CoverageStatus,
        resource_type: &str,
        subscription_id: Option<&str>,
        resource_id: Option<&str>,
        reason: impl Into<String>,
    ) -> CoverageRow {
        CoverageRow {
            tenant_id: self.tenant_id.clone(),
            snapshot_id: self.snapshot_id(),
            subscription_id: subscription_id.map(str::to_ascii_lowercase),
            resource_type: resource_type.to_string(),
            resource_id: resource_id.map(ids::normalize_resource_id),
            status: status.as_str().to_string(),
            reason: reason.into(),
            http_status: None,
            error_code: None,
            request_url: None,
        }
    }

    /// A `raw_responses` row for a body Azure returned.
    pub fn raw_response(
        &self,
        method: &str,
        url: &str,
        api_version: Option<&str>,
        http_status: u16,
        body: &[u8],
        sha256: &str,
    ) -> RawResponseRow {
        RawResponseRow {
            tenant_id: self.tenant_id.clone(),
            snapshot_id: self.snapshot_id(),
            sha256: sha256.to_string(),
            method: method.to_string(),
            url: url.to_string(),
            api_version: api_version.map(str::to_string),
            http_status: i64::from(http_status),
            body: body.to_vec(),
        }
    }
}

impl CoverageRow {
    /// Adds what Azure answered: HTTP status, error code, and the request that failed.
    pub fn with_http(mut self, http_status: Option<u16>, error_code: Option<&str>, request_url: Option<&str>) -> Self {
        self.http_status = http_status.map(i64::from);
        self.error_code = error_code.map(str::to_string);
        self.request_url = request_url.map(str::to_string);
        self
    }
}

/// Every table of one snapshot, as plain rows. Collectors return one; the binary merges them, builds the
/// chain, and hands the result to `bundle`.
#[derive(Debug, Default, Clone)]
pub struct Tables {
    /// `cmk_bindings` rows.
    pub cmk_bindings: Vec<CmkBinding>,
    /// `storage_accounts` rows.
    pub storage_accounts: Vec<StorageAccountRow>,
    /// `key_vaults` rows.
    pub key_vaults: Vec<KeyVaultRow>,
    /// `vault_access_policies` rows.
    pub vault_access_policies: Vec<VaultAccessPolicyRow>,
    /// `managed_hsms` rows.
    pub managed_hsms: Vec<ManagedHsmRow>,
    /// `keys` rows.
    pub keys: Vec<KeyRow>,
    /// `key_versions` rows.
    pub key_versions: Vec<KeyVersionRow>,
    /// `rotation_policies` rows.
    pub rotation_policies: Vec<RotationPolicyRow>,
    /// `role_assignments` rows.
    pub role_assignments: Vec<RoleAssignmentRow>,
    /// `disk_encryption_sets` rows.
    pub disk_encryption_sets: Vec<DiskEncryptionSetRow>,
    /// `managed_disks` rows.
    pub managed_disks: Vec<ManagedDiskRow>,
    /// `virtual_machines` rows.
    pub virtual_machines: Vec<VirtualMachineRow>,
    /// `aks_clusters` rows.
    pub aks_clusters: Vec<AksClusterRow>,
    /// `sql_servers` rows.
    pub sql_servers: Vec<SqlServerRow>,
    /// `container_registries` rows.
    pub container_registries: Vec<ContainerRegistryRow>,
    /// `container_groups` rows.
    pub container_groups: Vec<ContainerGroupRow>,
    /// `key_vault_references` rows.
    pub key_vault_references: Vec<KeyVaultReferenceRow>,
    /// `cmk_chain` rows (built by [`chain::build_chain`]).
    pub cmk_chain: Vec<CmkChainRow>,
    /// `coverage` rows.
    pub coverage: Vec<CoverageRow>,
    /// `findings` rows (rules over the rest of the snapshot; see the `findings` crate).
    pub findings: Vec<FindingRow>,
    /// `raw_responses` rows.
    pub raw_responses: Vec<RawResponseRow>,
}

/// Calls `$m!(field, RowType)` for every table, so code that must touch all tables lists them once.
#[macro_export]
macro_rules! for_each_table {
    ($m:ident) => {
        $m!(cmk_bindings, $crate::CmkBinding);
        $m!(storage_accounts, $crate::StorageAccountRow);
        $m!(key_vaults, $crate::KeyVaultRow);
        $m!(vault_access_policies, $crate::VaultAccessPolicyRow);
        $m!(managed_hsms, $crate::ManagedHsmRow);
        $m!(keys, $crate::KeyRow);
        $m!(key_versions, $crate::KeyVersionRow);
        $m!(rotation_policies, $crate::RotationPolicyRow);
        $m!(role_assignments, $crate::RoleAssignmentRow);
        $m!(disk_encryption_sets, $crate::DiskEncryptionSetRow);
        $m!(managed_disks, $crate::ManagedDiskRow);
        $m!(virtual_machines, $crate::VirtualMachineRow);
        $m!(aks_clusters, $crate::AksClusterRow);
        $m!(sql_servers, $crate::SqlServerRow);
        $m!(container_registries, $crate::ContainerRegistryRow);
        $m!(container_groups, $crate::ContainerGroupRow);
        $m!(key_vault_references, $crate::KeyVaultReferenceRow);
        $m!(cmk_chain, $crate::CmkChainRow);
        $m!(coverage, $crate::CoverageRow);
        $m!(findings, $crate::FindingRow);
        $m!(raw_responses, $crate::RawResponseRow);
    };
}

impl Tables {
    /// Moves every row of `other` into `self`.
    pub fn append(&mut self, mut other: Tables) {
        macro_rules! move_rows {
            ($field:ident, $row:ty) => {
                self.$field.append(&mut other.$field);
            };
        }
        for_each_table!(move_rows);
    }

    /// Sorts every table by its primary key and drops exact duplicate rows (the same response read twice, the
    /// same role assignment listed for two keys of one vault). Output no longer depends on collection order.
    pub fn sort_and_dedup(&mut self) {
        macro_rules! sort_rows {
            ($field:ident, $row:ty) => {
                <$row as Table>::sort(&mut self.$field);
                self.$field.dedup();
            };
        }
        for_each_table!(sort_rows);
    }

    /// Row count per table name, in table order.
    pub fn row_counts(&self) -> Vec<(&'static str, usize)> {
        let mut counts = Vec::new();
        macro_rules! count_rows {
            ($field:ident, $row:ty) => {
                counts.push((<$row as Table>::NAME, self.$field.len()));
            };
        }
        for_each_table!(count_rows);
        counts
    }
}

/// Table names, descriptions and schemas of every table, in package order: for docs and `verify`.
pub fn all_schemas() -> Vec<(&'static str, u32, &'static str, arrow_schema::SchemaRef)> {
    let mut out = Vec::new();
    macro_rules! describe {
        ($field:ident, $row:ty) => {
            out.push((
                <$row as Table>::NAME,
                <$row as Table>::SCHEMA_VERSION,
                <$row as Table>::description(),
                <$row as Table>::schema(),
            ));
        };
    }
    for_each_table!(describe);
    out
}
