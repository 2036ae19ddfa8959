//! `role_assignments`: role assignments that apply to the vaults and keys in use.

use crate::table::evidence_table;

evidence_table! {
    /// One row per role assignment that applies to a vault or key in use: Azure RBAC assignments at the vault,
    /// its ancestors and its keys, and Managed HSM local RBAC assignments.
    table RoleAssignmentRow = "role_assignments", version 1, key(assignment_id, queried_scope) {
        /// Entra tenant the snapshot was taken from.
        tenant_id: String,
        /// Snapshot id (UTC collection time).
        snapshot_id: String,
        /// `azure_rbac` (ARM role assignment) or `managed_hsm_local_rbac` (HSM data plane).
        rbac_system: String,
        /// Role assignment id, normalised.
        assignment_id: String,
        /// Scope the assignment was listed for: a vault resource id, or an HSM URI.
        queried_scope: String,
        /// Scope of the assignment, normalised (a subscription, resource group, vault or key, or `/`, `/keys`, `/keys/{name}` on an HSM).
        scope: String,
        /// Principal (object) id the role is assigned to.
        principal_id: String,
        /// Principal type verbatim (`ServicePrincipal`, `User`, `Group`, ...); null when Azure did not say.
        principal_type: Option<String>,
        /// Role definition id verbatim.
        role_definition_id: String,
        /// Trailing GUID of the role definition id, lower case: compare roles by this.
        role_definition_guid: String,
        /// English name of a well-known role; null for roles this tool does not know.
        role_name: Option<String>,
        /// True when the role grants get/wrapKey/unwrapKey on keys (e.g. Key Vault Crypto Service Encryption User).
        grants_key_use: bool,
        /// True when the role can manage keys or their access (Crypto Officer, Administrator).
        manages_keys: bool,
        /// ABAC condition verbatim, if any.
        condition: Option<String>,
        /// SHA-256 of the raw response this row was read from.
        raw_response_sha256: String,
    }
}
