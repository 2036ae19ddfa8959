//! The managed identity a resource uses to reach its key. Every service names it differently — storage and
//! ACI by the user-assigned identity's resource id, ACR by its client id, SQL by `primaryUserAssignedIdentityId`,
//! disk encryption sets and AKS by simply having one — but all of them carry the same top-level `identity`
//! object. [`ManagedIdentity`] mirrors that object; [`encryption_identity`] picks the identity the binding
//! records, so every collector resolves it the same way.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::ids::normalize_resource_id;
use crate::vocab::identity_type;
use crate::wire::non_empty;

/// Top-level `identity` of an ARM resource.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedIdentity {
    /// `SystemAssigned`, `UserAssigned`, `SystemAssigned,UserAssigned` (also with a space) or `None`.
    #[serde(rename = "type")]
    pub identity_type: Option<String>,
    /// Object id of the system-assigned identity.
    pub principal_id: Option<String>,
    /// Tenant of the system-assigned identity.
    pub tenant_id: Option<String>,
    /// User-assigned identities keyed by resource id. Ids here and in a resource's encryption settings may
    /// differ in case (`resourcegroups` vs `resourceGroups` in Azure's own examples): compare normalised.
    /// `az` writes this as `userAssignedIdentities` too.
    pub user_assigned_identities: Option<BTreeMap<String, Option<UserAssignedIdentity>>>,
}

/// One entry of `identity.userAssignedIdentities`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAssignedIdentity {
    /// Object (principal) id of the identity.
    pub principal_id: Option<String>,
    /// Client (application) id of the identity.
    pub client_id: Option<String>,
}

impl ManagedIdentity {
    /// Whether the type includes a system-assigned identity.
    pub fn has_system_assigned(&self) -> bool {
        self.identity_type.as_deref().is_some_and(|t| t.to_ascii_lowercase().contains("systemassigned"))
    }

    /// Normalised resource ids of every user-assigned identity, sorted; `None` when the map is absent.
    pub fn user_assigned_ids(&self) -> Option<Vec<String>> {
        self.user_assigned_identities.as_ref().map(|m| {
            let mut ids: Vec<String> = m.keys().map(|k| normalize_resource_id(k)).collect();
            ids.sort();
            ids.dedup();
            ids
        })
    }

    fn user_assigned(&self) -> impl Iterator<Item = (&String, UserAssignedIdentity)> {
        self.user_assigned_identities.iter().flatten().map(|(id, details)| (id, details.clone().unwrap_or_default()))
    }
}

/// How a resource's encryption settings name the identity that reaches the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedIdentity<'a> {
    /// By the user-assigned identity's ARM resource id (storage, ACI, SQL `primaryUserAssignedIdentityId`).
    ResourceId(&'a str),
    /// By the user-assigned identity's client id (ACR `keyVaultProperties.identity`).
    ClientId(&'a str),
    /// Not named: the service uses the resource's system-assigned identity.
    SystemAssigned,
    /// Not named: the service uses the system-assigned identity if there is one, else the resource's only
    /// user-assigned identity (disk encryption sets, AKS).
    SystemOrSoleUserAssigned,
}

/// The identity a binding records: type, user-assigned resource id, principal and client id, federated id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptionIdentity {
    /// `system_assigned`, `user_assigned` or `none`; `None` when not applicable (no customer-managed key).
    pub identity_type: Option<&'static str>,
    /// Normalised resource id of the user-assigned identity.
    pub resource_id: Option<String>,
    /// Object (principal) id.
    pub principal_id: Option<String>,
    /// Client id.
    pub client_id: Option<String>,
    /// Multi-tenant application client id for cross-tenant keys.
    pub federated_client_id: Option<String>,
}

/// Resolves the identity a resource uses to reach its customer-managed key. Call it only where a key could be
/// in play (a customer-managed or unrecognised key source). With `is_cmk` true and no usable identity the type
/// is `none` (nothing can reach the key on the resource's behalf); with `is_cmk` false it stays `None`.
pub fn encryption_identity(
    identity: Option<&ManagedIdentity>,
    named: NamedIdentity<'_>,
    federated_client_id: Option<&str>,
    is_cmk: bool,
) -> EncryptionIdentity {
    let empty = ManagedIdentity::default();
    let identity = identity.unwrap_or(&empty);
    let federated_client_id = non_empty(federated_client_id).map(str::to_string);
    let user_assigned = |resource_id: Option<String>, details: UserAssignedIdentity| EncryptionIdentity {
        identity_type: Some(identity_type::USER_ASSIGNED),
        resource_id,
        principal_id: non_empty(details.principal_id.as_deref()).map(str::to_string),
        client_id: non_empty(details.client_id.as_deref()).map(str::to_string),
        federated_client_id: federated_client_id.clone(),
    };
    let system_assigned = || EncryptionIdentity {
        identity_type: Some(identity_type::SYSTEM_ASSIGNED),
        principal_id: non_empty(identity.principal_id.as_deref()).map(str::to_string),
        federated_client_id: federated_client_id.clone(),
        ..EncryptionIdentity::default()
    };
    match named {
        NamedIdentity::ResourceId(id) if non_empty(Some(id)).is_some() => {
            let wanted = normalize_resource_id(id);
            let details = identity
                .user_assigned()
                .find(|(key, _)| normalize_resource_id(key) == wanted)
                .map(|(_, d)| d)
                .unwrap_or_default();
            return user_assigned(Some(wanted), details);
        }
        NamedIdentity::ClientId(client_id) if non_empty(Some(client_id)).is_some() => {
            let wanted = client_id.trim();
            let found = identity
                .user_assigned()
                .find(|(_, d)| d.client_id.as_deref().is_some_and(|c| c.trim().eq_ignore_ascii_case(wanted)));
            return match found {
                Some((key, details)) => user_assigned(Some(normalize_resource_id(key)), details),
                // Named but not attached: keep the client id so the gap is visible.
                None => user_assigned(
                    None,
                    UserAssignedIdentity { principal_id: None, client_id: Some(wanted.to_string()) },
                ),
            };
        }
        NamedIdentity::SystemOrSoleUserAssigned if !identity.has_system_assigned() => {
            let mut all = identity.user_assigned();
            if let (Some((key, details)), None) = (all.next(), all.next()) {
                return user_assigned(Some(normalize_resource_id(key)), details);
            }
        }
        _ => {}
    }
    if identity.has_system_assigned() {
        return system_assigned();
    }
    EncryptionIdentity {
        identity_type: is_cmk.then_some(identity_type::NONE),
        federated_client_id,
        ..EncryptionIdentity::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    const UAI: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1";

    fn identity(value: serde_json::Value) -> ManagedIdentity {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn named_resource_id_matches_case_insensitively() {
        let i = identity(json!({"type": "SystemAssigned, UserAssigned", "principalId": "sys",
            "userAssignedIdentities": {UAI: {"principalId": "p1", "clientId": "c1"}}}));
        let got = encryption_identity(Some(&i), NamedIdentity::ResourceId(&UAI.to_lowercase()), None, true);
        assert_eq!(got.identity_type, Some(identity_type::USER_ASSIGNED));
        assert_eq!(got.resource_id.as_deref(), Some(UAI.to_lowercase().as_str()));
        assert_eq!((got.principal_id.as_deref(), got.client_id.as_deref()), (Some("p1"), Some("c1")));
    }

    #[test]
    fn client_id_resolves_to_the_attached_identity_or_keeps_the_client_id() {
        let i = identity(json!({"type": "UserAssigned",
            "userAssignedIdentities": {UAI: {"principalId": "p1", "clientId": "C1"}}}));
        let got = encryption_identity(Some(&i), NamedIdentity::ClientId("c1"), None, true);
        assert_eq!(got.resource_id, Some(normalize_resource_id(UAI)));
        assert_eq!(got.principal_id.as_deref(), Some("p1"));
        let missing = encryption_identity(Some(&i), NamedIdentity::ClientId("other"), None, true);
        assert_eq!((missing.identity_type, missing.resource_id), (Some(identity_type::USER_ASSIGNED), None));
        assert_eq!(missing.client_id.as_deref(), Some("other"));
    }

    #[test]
    fn system_or_sole_user_assigned() {
        let only_uai =
            identity(json!({"type": "UserAssigned", "userAssignedIdentities": {UAI: {"principalId": "p1"}}}));
        let got = encryption_identity(Some(&only_uai), NamedIdentity::SystemOrSoleUserAssigned, None, true);
        assert_eq!(got.principal_id.as_deref(), Some("p1"));
        // Storage semantics: an unnamed identity means the system-assigned one, which this resource lacks.
        let got = encryption_identity(Some(&only_uai), NamedIdentity::SystemAssigned, None, true);
        assert_eq!(got.identity_type, Some(identity_type::NONE));
        let sys = identity(json!({"type": "SystemAssigned", "principalId": "sys"}));
        let got = encryption_identity(Some(&sys), NamedIdentity::SystemOrSoleUserAssigned, Some("fed"), true);
        assert_eq!(got.identity_type, Some(identity_type::SYSTEM_ASSIGNED));
        assert_eq!((got.principal_id.as_deref(), got.federated_client_id.as_deref()), (Some("sys"), Some("fed")));
    }

    #[test]
    fn no_cmk_no_identity_no_claim() {
        let got = encryption_identity(None, NamedIdentity::SystemAssigned, None, false);
        assert_eq!(got, EncryptionIdentity::default());
        let got = encryption_identity(None, NamedIdentity::SystemOrSoleUserAssigned, None, false);
        assert_eq!(got, EncryptionIdentity::default());
        let got = encryption_identity(None, NamedIdentity::SystemAssigned, None, true);
        assert_eq!(got.identity_type, Some(identity_type::NONE));
    }
}
