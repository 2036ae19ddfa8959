//! One module per evidence table; each declares its row type, Arrow schema and primary key.

pub mod aks_clusters;
pub mod cmk_bindings;
pub mod cmk_chain;
pub mod container_groups;
pub mod container_registries;
pub mod coverage;
pub mod disk_encryption_sets;
pub mod findings;
pub mod key_vault_references;
pub mod key_vaults;
pub mod key_versions;
pub mod keys;
pub mod managed_disks;
pub mod managed_hsms;
pub mod raw_responses;
pub mod role_assignments;
pub mod rotation_policies;
pub mod sql_servers;
pub mod storage_accounts;
pub mod vault_access_policies;
pub mod virtual_machines;
