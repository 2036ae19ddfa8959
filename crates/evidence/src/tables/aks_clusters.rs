//! `aks_clusters`: node disk encryption, encryption at host and KMS etcd encryption of AKS clusters.

use crate::table::evidence_table;

evidence_table! {
    /// One row per AKS cluster (`Microsoft.ContainerService/managedClusters`): the disk encryption set of the
    /// node OS disks, which agent pools encrypt at host, and the Key Vault key that encrypts etcd secrets (KMS).
    table AksClusterRow = "aks_clusters", version 1, key(resource_id) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// Subscription holding the cluster (lower case).
        subscription_id: String,
        /// ARM resource id, normalised for joins.
        resource_id: String,
        /// ARM resource id exactly as Azure returned it.
        resource_id_original: String,
        /// Cluster name.
        name: String,
        /// Resource group as written in the id.
        resource_group: Option<String>,
        /// Azure region.
        location: Option<String>,
        /// `kubernetesVersion`.
        kubernetes_version: Option<String>,
        /// `diskEncryptionSetID`, normalised: the key holder of node OS and data disks.
        disk_encryption_set_id: Option<String>,
        /// Agent pool names, sorted: `agentPoolProfiles[].name`, plus pools read as separate agent pool documents.
        agent_pools: Option<Vec<String>>,
        /// Agent pools with `enableEncryptionAtHost` true, sorted. Null when `agent_pools` is null.
        agent_pools_encryption_at_host: Option<Vec<String>>,
        /// Agent pools with `enableEncryptionAtHost` false, sorted. A pool in neither list did not say (absent is
        /// not false). Null when `agent_pools` is null.
        agent_pools_without_encryption_at_host: Option<Vec<String>>,
        /// `securityProfile.azureKeyVaultKms.enabled`: etcd secrets encrypted with a Key Vault key.
        kms_enabled: Option<bool>,
        /// `securityProfile.azureKeyVaultKms.keyId` verbatim.
        kms_key_id: Option<String>,
        /// `securityProfile.azureKeyVaultKms.keyVaultNetworkAccess` (`Public`, `Private`).
        kms_key_vault_network_access: Option<String>,
        /// `securityProfile.azureKeyVaultKms.keyVaultResourceId`, normalised (private vaults).
        kms_key_vault_resource_id: Option<String>,
        /// Top-level identity type verbatim.
        identity_type_raw: Option<String>,
        /// Principal id of the system-assigned identity.
        system_assigned_principal_id: Option<String>,
        /// Resource ids of the user-assigned (control plane) identities, normalised.
        user_assigned_identity_ids: Option<Vec<String>>,
        /// `provisioningState` verbatim.
        provisioning_state: Option<String>,
        /// SHA-256 of the raw response this row was read from.
        raw_response_sha256: String,
    }
}
