//! JSON bodies of ARM resources, shaped like Microsoft's examples in `testdata/arm-examples` (storage 2025-06-01,
//! Key Vault 2025-05-01, authorization 2022-04-01): property names and casing exactly as Azure writes them,
//! and optional properties absent — not `false` — when the scenario leaves them unset.

use serde_json::{Map, Value, json};

use crate::resource_id::ResourceId;
use crate::scenario::{
    ContainerKind, ManagedHsm, ManagedIdentitySpec, NetworkAclsSpec, OtherResource, RoleAssignment, Scenario,
    StorageAccount, SubscriptionSpec, Vault,
};
use crate::timestamps;

/// DNS suffixes of the cloud an ARM request came to, so vault URIs and endpoints match the cloud.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cloud {
    vault: &'static str,
    hsm: &'static str,
    storage: &'static str,
    /// Container registry login servers.
    pub(crate) acr: &'static str,
    /// SQL server host names.
    pub(crate) sql: &'static str,
    /// App Service host names.
    pub(crate) web: &'static str,
}

impl Cloud {
    pub(crate) fn of_arm_host(host: &str) -> Cloud {
        if host.ends_with("chinacloudapi.cn") {
            Cloud {
                vault: "vault.azure.cn",
                hsm: "managedhsm.azure.cn",
                storage: "core.chinacloudapi.cn",
                acr: "azurecr.cn",
                sql: "database.chinacloudapi.cn",
                web: "chinacloudsites.cn",
            }
        } else if host.ends_with("usgovcloudapi.net") {
            Cloud {
                vault: "vault.usgovcloudapi.net",
                hsm: "managedhsm.usgovcloudapi.net",
                storage: "core.usgovcloudapi.net",
                acr: "azurecr.us",
                sql: "database.usgovcloudapi.net",
                web: "azurewebsites.us",
            }
        } else {
            Cloud {
                vault: "vault.azure.net",
                hsm: "managedhsm.azure.net",
                storage: "core.windows.net",
                acr: "azurecr.io",
                sql: "database.windows.net",
                web: "azurewebsites.net",
            }
        }
    }

    /// `https://{name}.vault...` or `https://{name}.managedhsm...`, without a trailing slash.
    pub(crate) fn vault_base(&self, kind: ContainerKind, name: &str) -> String {
        match kind {
            ContainerKind::Vault => format!("https://{name}.{}", self.vault),
            ContainerKind::ManagedHsm => format!("https://{name}.{}", self.hsm),
        }
    }
}

/// One entry of `GET /subscriptions`.
pub(crate) fn subscription(tenant_id: &str, s: &SubscriptionSpec) -> Value {
    json!({
        "id": format!("/subscriptions/{}", s.id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "tags": s.tags,
        "subscriptionId": s.id,
        "tenantId": tenant_id,
        "displayName": s.display_name,
        "state": s.state,
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": s.quota_id.clone().unwrap_or_else(|| "EnterpriseAgreement_2014-09-01".into()),
            "spendingLimit": "Off",
        },
    })
}

/// A resource group implied by the ids of the resources in it.
pub(crate) fn resource_group(subscription: &str, name: &str, location: &str) -> Value {
    json!({
        "id": format!("/subscriptions/{subscription}/resourceGroups/{name}"),
        "name": name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": location,
        "properties": { "provisioningState": "Succeeded" },
    })
}

fn sku_tier(sku: &str) -> &'static str {
    if sku.starts_with("Premium") { "Premium" } else { "Standard" }
}

/// The paired region Azure replicates geo-redundant storage to.
fn paired_region(location: &str) -> Option<&'static str> {
    Some(match location.to_ascii_lowercase().as_str() {
        "westeurope" => "northeurope",
        "northeurope" => "westeurope",
        "eastus" => "westus",
        "westus" => "eastus",
        "eastus2" => "centralus",
        "centralus" => "eastus2",
        "uksouth" => "ukwest",
        "ukwest" => "uksouth",
        "germanywestcentral" => "germanynorth",
        "swedencentral" => "swedensouth",
        _ => return None,
    })
}

pub(crate) fn managed_identity(estate: &Scenario, spec: &ManagedIdentitySpec) -> Value {
    let mut out = Map::new();
    if spec.kind.contains("SystemAssigned") {
        out.insert("principalId".into(), json!(spec.principal_id));
        out.insert("tenantId".into(), json!(estate.tenant.id));
    }
    if spec.kind.contains("UserAssigned") {
        let mut map = Map::new();
        for id in &spec.user_assigned {
            let (principal, client) = estate
                .identity(id)
                .map(|i| (i.spec.principal_id.clone(), i.spec.client_id.clone()))
                .unwrap_or_default();
            map.insert(id.clone(), json!({ "principalId": principal, "clientId": client }));
        }
        out.insert("userAssignedIdentities".into(), Value::Object(map));
    }
    out.insert("type".into(), json!(spec.kind));
    Value::Object(out)
}

/// `Microsoft.Storage/storageAccounts`, 2025-06-01 shape.
pub(crate) fn storage_account(estate: &Scenario, a: &StorageAccount, cloud: Cloud) -> Value {
    let s = &a.spec;
    let name = &a.id.name;
    let created = timestamps::arm(s.created.0);

    let mut encryption = Map::new();
    encryption.insert(
        "services".into(),
        json!({
            "file": { "keyType": "Account", "enabled": true, "lastEnabledTime": created },
            "blob": { "keyType": "Account", "enabled": true, "lastEnabledTime": created },
        }),
    );
    encryption.insert("keySource".into(), json!(a.key_source));
    if let Some(r) = a.require_infrastructure_encryption {
        encryption.insert("requireInfrastructureEncryption".into(), json!(r));
    }
    if let Some(cmk) = &a.cmk {
        let mut kv = Map::new();
        kv.insert("keyvaulturi".into(), json!(cmk.vault_uri));
        kv.insert("keyname".into(), json!(cmk.key_name));
        kv.insert("keyversion".into(), json!(cmk.pinned_version.clone().unwrap_or_default()));
        kv.insert(
            "currentVersionedKeyIdentifier".into(),
            json!(format!("{}/keys/{}/{}", cmk.vault_uri.trim_end_matches('/'), cmk.key_name, cmk.in_use_version)),
        );
        if let Some(t) = cmk.last_key_rotation {
            kv.insert("lastKeyRotationTimestamp".into(), json!(timestamps::arm(t)));
        }
        let expires = estate
            .key(&cmk.container, &cmk.key_name)
            .and_then(|k| k.version(&cmk.in_use_version))
            .and_then(|v| v.expires);
        if let Some(t) = expires {
            kv.insert("currentVersionedKeyExpirationTimestamp".into(), json!(timestamps::arm(t)));
        }
        encryption.insert("keyvaultproperties".into(), Value::Object(kv));
        if let Some(ua) = &cmk.user_assigned_identity {
            let mut identity = Map::new();
            // The storage RP writes this id with a lower-case `resourcegroups` segment (see the 2025-06-01
            // federated-identity example): kept, so consumers must compare ids case-insensitively.
            identity.insert("userAssignedIdentity".into(), json!(ua.with_lowercase_rg_segment()));
            if let Some(f) = &cmk.federated_client_id {
                identity.insert("federatedIdentityClientId".into(), json!(f));
            }
            encryption.insert("identity".into(), Value::Object(identity));
        }
    }

    let mut props = Map::new();
    props.insert("keyCreationTime".into(), json!({ "key1": created, "key2": created }));
    props.insert("privateEndpointConnections".into(), json!([]));
    props.insert("minimumTlsVersion".into(), json!("TLS1_2"));
    props.insert("allowBlobPublicAccess".into(), json!(false));
    if let Some(h) = s.is_hns_enabled {
        props.insert("isHnsEnabled".into(), json!(h));
    }
    if let Some(p) = &s.public_network_access {
        props.insert("publicNetworkAccess".into(), json!(p));
    }
    props.insert(
        "networkAcls".into(),
        json!({
            "bypass": "AzureServices",
            "virtualNetworkRules": [],
            "ipRules": [],
            "defaultAction": s.network_default_action,
        }),
    );
    props.insert("supportsHttpsTrafficOnly".into(), json!(true));
    props.insert("encryption".into(), Value::Object(encryption));
    let tier = s
        .access_tier
        .clone()
        .or_else(|| matches!(s.kind.as_str(), "StorageV2" | "BlobStorage").then(|| "Hot".to_string()));
    if let Some(tier) = tier {
        props.insert("accessTier".into(), json!(tier));
    }
    props.insert("provisioningState".into(), json!("Succeeded"));
    props.insert("creationTime".into(), json!(created));
    let endpoint = |service: &str| format!("https://{name}.{service}.{}/", cloud.storage);
    props.insert(
        "primaryEndpoints".into(),
        json!({
            "web": endpoint("web"),
            "dfs": endpoint("dfs"),
            "blob": endpoint("blob"),
            "file": endpoint("file"),
            "queue": endpoint("queue"),
            "table": endpoint("table"),
        }),
    );
    props.insert("primaryLocation".into(), json!(s.location));
    props.insert("statusOfPrimary".into(), json!("available"));
    let geo = ["GRS", "GZRS"].iter().any(|g| s.sku.ends_with(g));
    if let (true, Some(secondary)) = (geo, paired_region(&s.location)) {
        props.insert("secondaryLocation".into(), json!(secondary));
        props.insert("statusOfSecondary".into(), json!("available"));
    }

    let mut out = Map::new();
    out.insert("sku".into(), json!({ "name": s.sku, "tier": sku_tier(&s.sku) }));
    out.insert("kind".into(), json!(s.kind));
    out.insert("id".into(), json!(a.id.raw));
    out.insert("name".into(), json!(name));
    out.insert("type".into(), json!("Microsoft.Storage/storageAccounts"));
    out.insert("location".into(), json!(s.location));
    out.insert("tags".into(), json!(s.tags));
    if let Some(identity) = &s.identity {
        out.insert("identity".into(), managed_identity(estate, identity));
    }
    out.insert("properties".into(), Value::Object(props));
    Value::Object(out)
}

fn network_acls(n: &NetworkAclsSpec) -> Value {
    let mut acls = Map::new();
    insert_opt(&mut acls, "bypass", n.bypass.as_ref());
    insert_opt(&mut acls, "defaultAction", n.default_action.as_ref());
    acls.insert("ipRules".into(), json!(n.ip_rules.iter().map(|r| json!({ "value": r })).collect::<Vec<_>>()));
    acls.insert(
        "virtualNetworkRules".into(),
        json!(
            n.virtual_network_rules
                .iter()
                .map(|id| json!({ "id": id.to_ascii_lowercase(), "ignoreMissingVnetServiceEndpoint": false }))
                .collect::<Vec<_>>()
        ),
    );
    Value::Object(acls)
}

fn system_data(created: Option<time::OffsetDateTime>, created_by: Option<&str>) -> Option<Value> {
    let at = timestamps::arm(created?);
    let by = created_by.unwrap_or("keyvault-admin@contoso.com");
    Some(json!({
        "createdBy": by,
        "createdByType": "User",
        "createdAt": at,
        "lastModifiedBy": by,
        "lastModifiedByType": "User",
        "lastModifiedAt": at,
    }))
}

pub(crate) fn insert_opt<T: serde::Serialize>(map: &mut Map<String, Value>, name: &str, value: Option<T>) {
    if let Some(v) = value {
        map.insert(name.into(), json!(v));
    }
}

/// `Microsoft.KeyVault/vaults`, 2025-05-01 shape.
pub(crate) fn vault(estate: &Scenario, v: &Vault, cloud: Cloud) -> Value {
    let s = &v.spec;
    let tenant = s.tenant_id.clone().unwrap_or_else(|| estate.tenant.id.clone());
    let mut props = Map::new();
    props.insert("sku".into(), json!({ "family": "A", "name": s.sku.to_ascii_lowercase() }));
    props.insert("tenantId".into(), json!(tenant));
    let policies: Vec<Value> = s
        .access_policies
        .iter()
        .map(|p| {
            let mut policy = Map::new();
            policy.insert("tenantId".into(), json!(p.tenant_id.clone().unwrap_or_else(|| tenant.clone())));
            policy.insert("objectId".into(), json!(p.object_id));
            insert_opt(&mut policy, "applicationId", p.application_id.as_ref());
            policy.insert(
                "permissions".into(),
                json!({ "keys": p.keys, "secrets": p.secrets, "certificates": p.certificates }),
            );
            Value::Object(policy)
        })
        .collect();
    props.insert("accessPolicies".into(), json!(policies));
    insert_opt(&mut props, "enabledForDeployment", s.enabled_for_deployment);
    insert_opt(&mut props, "enabledForDiskEncryption", s.enabled_for_disk_encryption);
    insert_opt(&mut props, "enabledForTemplateDeployment", s.enabled_for_template_deployment);
    insert_opt(&mut props, "enableSoftDelete", s.soft_delete);
    insert_opt(&mut props, "softDeleteRetentionInDays", s.soft_delete_retention_days);
    insert_opt(&mut props, "enableRbacAuthorization", s.rbac_authorization);
    insert_opt(&mut props, "enablePurgeProtection", s.purge_protection);
    if let Some(n) = &s.network_acls {
        props.insert("networkAcls".into(), network_acls(n));
    }
    props.insert("vaultUri".into(), json!(format!("https://{}.{}/", v.id.name, cloud.vault)));
    props.insert("provisioningState".into(), json!("Succeeded"));
    insert_opt(&mut props, "publicNetworkAccess", s.public_network_access.as_ref());

    let mut out = Map::new();
    out.insert("id".into(), json!(v.id.raw));
    out.insert("name".into(), json!(v.id.name));
    out.insert("type".into(), json!("Microsoft.KeyVault/vaults"));
    out.insert("location".into(), json!(s.location));
    out.insert("tags".into(), json!(s.tags));
    insert_opt(&mut out, "systemData", system_data(s.created.map(|t| t.0), s.created_by.as_deref()));
    out.insert("properties".into(), Value::Object(props));
    Value::Object(out)
}

/// `Microsoft.KeyVault/managedHSMs`, 2025-05-01 shape.
pub(crate) fn managed_hsm(estate: &Scenario, h: &ManagedHsm, cloud: Cloud) -> Value {
    let s = &h.spec;
    let mut props = Map::new();
    props.insert("tenantId".into(), json!(s.tenant_id.clone().unwrap_or_else(|| estate.tenant.id.clone())));
    props.insert("initialAdminObjectIds".into(), json!(s.initial_admin_object_ids));
    insert_opt(&mut props, "enableSoftDelete", s.soft_delete);
    insert_opt(&mut props, "softDeleteRetentionInDays", s.soft_delete_retention_days);
    insert_opt(&mut props, "enablePurgeProtection", s.purge_protection);
    props.insert("hsmUri".into(), json!(format!("https://{}.{}/", h.id.name, cloud.hsm)));
    props.insert("provisioningState".into(), json!("Succeeded"));
    props.insert("statusMessage".into(), json!("The Managed HSM is provisioned and ready to use."));
    insert_opt(&mut props, "publicNetworkAccess", s.public_network_access.as_ref());
    if let Some(n) = &s.network_acls {
        props.insert("networkAcls".into(), network_acls(n));
    }
    props.insert(
        "securityDomainProperties".into(),
        json!({
            "activationStatus": "Active",
            "activationStatusMessage": "Your HSM has been activated and can be used for cryptographic operations.",
        }),
    );

    let mut out = Map::new();
    out.insert("properties".into(), Value::Object(props));
    out.insert("id".into(), json!(h.id.raw));
    out.insert("name".into(), json!(h.id.name));
    out.insert("type".into(), json!("Microsoft.KeyVault/managedHSMs"));
    out.insert("location".into(), json!(s.location));
    out.insert("sku".into(), json!({ "family": "B", "name": s.sku }));
    out.insert("tags".into(), json!(s.tags));
    insert_opt(&mut out, "systemData", system_data(s.created.map(|t| t.0), s.created_by.as_deref()));
    Value::Object(out)
}

/// `Microsoft.ManagedIdentity/userAssignedIdentities`.
pub(crate) fn user_assigned_identity(
    estate: &Scenario,
    id: &ResourceId,
    principal: &str,
    client: &str,
    location: &str,
) -> Value {
    json!({
        "id": id.raw,
        "name": id.name,
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "location": location,
        "tags": {},
        "properties": {
            "tenantId": estate.tenant.id,
            "principalId": principal,
            "clientId": client,
        },
    })
}

/// A resource the simulator knows only generically (`[[other_resources]]`), as `GET .../resources` lists it.
pub(crate) fn other_resource(r: &OtherResource) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(r.id.raw));
    out.insert("name".into(), json!(r.id.name));
    out.insert("type".into(), json!(r.id.resource_type));
    out.insert("location".into(), json!(r.spec.location));
    insert_opt(&mut out, "kind", r.spec.kind.as_ref());
    if let Some(sku) = &r.spec.sku {
        out.insert("sku".into(), json!({ "name": sku }));
    }
    out.insert("tags".into(), json!(r.spec.tags));
    Value::Object(out)
}

/// The generic `GET .../resources` form of any resource: id, name, type, location (and kind, sku, managedBy,
/// identity).
pub(crate) fn generic(full: &Value) -> Value {
    let mut out = Map::new();
    for field in ["id", "name", "type", "sku", "kind", "managedBy", "location", "identity", "tags"] {
        if let Some(v) = full.get(field) {
            out.insert(field.into(), v.clone());
        }
    }
    Value::Object(out)
}

/// `Microsoft.Authorization/roleAssignments`, 2022-04-01 shape.
pub(crate) fn role_assignment(r: &RoleAssignment) -> Value {
    let subscription = (r.scope_key.first().map(String::as_str) == Some("subscriptions"))
        .then(|| crate::resource_id::segments(&r.scope).get(1).cloned())
        .flatten();
    let definition = match subscription {
        Some(s) => format!("/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{}", r.role),
        None => format!("/providers/Microsoft.Authorization/roleDefinitions/{}", r.role),
    };
    let created = timestamps::arm(r.created);
    json!({
        "properties": {
            "roleDefinitionId": definition,
            "principalId": r.principal_id,
            "principalType": r.principal_type,
            "scope": r.scope,
            "condition": null,
            "conditionVersion": null,
            "createdOn": created,
            "updatedOn": created,
            "createdBy": r.created_by,
            "updatedBy": r.created_by,
            "delegatedManagedIdentityResourceId": null,
            "description": r.description,
        },
        "id": format!("{}/providers/Microsoft.Authorization/roleAssignments/{}", r.scope, r.name),
        "type": "Microsoft.Authorization/roleAssignments",
        "name": r.name,
    })
}
