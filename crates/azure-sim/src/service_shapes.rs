//! JSON bodies of the compute, SQL, container and web resources, shaped like Microsoft's examples in
//! `testdata/arm-examples` (compute DiskRP 2025-01-02, ComputeRP 2025-04-01, AKS 2025-10-01, SQL 2023-08-01,
//! ACR 2025-04-01, ACI 2025-09-01, Container Apps 2025-07-01, App Service 2024-04-01): property names, casing and
//! nesting as Azure writes them — including its quirks (ACI and Container Apps write identity ids with a
//! lower-case `resourcegroups`; certificate ids and types say `ManagedEnvironments/Certificates`) — and optional
//! properties absent, not `false`, when the scenario leaves them unset.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::arm_shapes::{Cloud, insert_opt, managed_identity};
use crate::material;
use crate::resource_id::ResourceId;
use crate::scenario::{
    AksCluster, ContainerApp, ContainerGroup, ContainerKind, ContainerRegistry, Disk, DiskEncryptionSet,
    EnvCertificateSpec, KeyBinding, ManagedEnvironment, Scenario, SqlKind, SqlServer, VaultItemRef, VaultRef,
    VirtualMachine, WebApp,
};
use crate::timestamps;

impl VaultRef {
    /// The vault's base URL for the cloud asked, without a trailing slash.
    pub(crate) fn base(&self, cloud: Cloud) -> String {
        match &self.external_uri {
            Some(uri) => uri.clone(),
            None => cloud.vault_base(self.kind, &self.container),
        }
    }
}

impl KeyBinding {
    /// `{vault}/keys/{name}/{version in use}`.
    pub(crate) fn versioned_url(&self, cloud: Cloud) -> String {
        format!("{}/keys/{}/{}", self.vault.base(cloud), self.key_name, self.in_use_version)
    }

    /// `{vault}/keys/{name}`.
    pub(crate) fn versionless_url(&self, cloud: Cloud) -> String {
        format!("{}/keys/{}", self.vault.base(cloud), self.key_name)
    }

    /// The ARM id of the vault holding the key, when it is a vault of the scenario.
    fn vault_id<'a>(&self, estate: &'a Scenario) -> Option<&'a str> {
        match (self.vault.kind, &self.vault.external_uri) {
            (ContainerKind::Vault, None) => estate.vault(&self.vault.container).map(|v| v.id.raw.as_str()),
            _ => None,
        }
    }
}

/// The storage RP, ACI and Container Apps write user-assigned identity ids with `resourcegroups` in lower case.
fn lowercase_rg(id: &str) -> String {
    ResourceId::parse(id).map_or_else(|| id.to_string(), |r| r.with_lowercase_rg_segment())
}

fn base(id: &ResourceId, resource_type: &str, location: &str, tags: &impl serde::Serialize) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("id".into(), json!(id.raw));
    out.insert("name".into(), json!(id.name));
    out.insert("type".into(), json!(resource_type));
    out.insert("location".into(), json!(location));
    out.insert("tags".into(), json!(tags));
    out
}

/// `Microsoft.Compute/diskEncryptionSets`, 2025-01-02 shape.
pub(crate) fn disk_encryption_set(estate: &Scenario, d: &DiskEncryptionSet, cloud: Cloud) -> Value {
    let s = &d.spec;
    let mut active = Map::new();
    if let Some(vault_id) = d.key.vault_id(estate) {
        active.insert("sourceVault".into(), json!({ "id": vault_id }));
    }
    active.insert("keyUrl".into(), json!(d.key.versioned_url(cloud)));
    let mut props = Map::new();
    props.insert("activeKey".into(), Value::Object(active));
    props.insert("encryptionType".into(), json!(s.encryption_type));
    props.insert("previousKeys".into(), json!([]));
    insert_opt(&mut props, "rotationToLatestKeyVersionEnabled", d.rotation_to_latest);
    insert_opt(&mut props, "lastKeyRotationTimestamp", d.key.last_key_rotation.map(timestamps::arm));
    if let Some(e) = &s.auto_key_rotation_error {
        props.insert("autoKeyRotationError".into(), json!({ "code": e.code, "message": e.message }));
    }
    insert_opt(&mut props, "federatedClientId", s.federated_client_id.as_ref());
    props.insert("provisioningState".into(), json!("Succeeded"));

    let mut out = base(&d.id, "Microsoft.Compute/diskEncryptionSets", &s.location, &s.tags);
    out.insert("identity".into(), managed_identity(estate, &s.identity));
    out.insert("properties".into(), Value::Object(props));
    Value::Object(out)
}

fn disk_tier(sku: &str) -> &'static str {
    if sku.starts_with("Premium") {
        "Premium"
    } else if sku.starts_with("UltraSSD") {
        "Ultra"
    } else {
        "Standard"
    }
}

/// `Microsoft.Compute/disks`, 2025-01-02 shape. `managedBy` and `diskState` follow the VMs that attach it.
pub(crate) fn disk(estate: &Scenario, d: &Disk, cloud: Cloud) -> Value {
    let s = &d.spec;
    let owner = estate.disk_owner(&d.id);
    let created = s.created.map_or(estate.start - time::Duration::days(200), |t| t.0);

    let mut encryption = Map::new();
    encryption.insert("type".into(), json!(d.encryption_type));
    insert_opt(&mut encryption, "diskEncryptionSetId", s.disk_encryption_set.as_ref());

    let mut props = Map::new();
    insert_opt(&mut props, "osType", s.os_type.as_ref());
    if s.os_type.is_some() {
        props.insert("hyperVGeneration".into(), json!("V2"));
    }
    let create_option = if s.os_type.is_some() { "FromImage" } else { "Empty" };
    props.insert("creationData".into(), json!({ "createOption": create_option }));
    props.insert("diskSizeGB".into(), json!(s.size_gb));
    props.insert("diskSizeBytes".into(), json!(u64::from(s.size_gb) << 30));
    props.insert("uniqueId".into(), json!(material::guid(&format!("disk/{}", d.id.key()))));
    if let Some(ade) = &d.ade {
        let vault_base = cloud.vault_base(ContainerKind::Vault, &ade.vault_name);
        let mut setting = Map::new();
        setting.insert(
            "diskEncryptionKey".into(),
            json!({
                "sourceVault": { "id": ade.vault_id },
                "secretUrl": format!("{vault_base}/secrets/{}/{}", ade.secret, ade.secret_version),
            }),
        );
        if let Some((key, version)) = &ade.key {
            setting.insert(
                "keyEncryptionKey".into(),
                json!({
                    "sourceVault": { "id": ade.vault_id },
                    "keyUrl": format!("{vault_base}/keys/{key}/{version}"),
                }),
            );
        }
        props.insert(
            "encryptionSettingsCollection".into(),
            json!({
                "enabled": true,
                "encryptionSettings": [Value::Object(setting)],
                "encryptionSettingsVersion": "1.1",
            }),
        );
    }
    props.insert("encryption".into(), Value::Object(encryption));
    props.insert("networkAccessPolicy".into(), json!("AllowAll"));
    props.insert("publicNetworkAccess".into(), json!("Enabled"));
    props.insert("timeCreated".into(), json!(timestamps::arm(created)));
    props.insert("provisioningState".into(), json!("Succeeded"));
    props.insert("diskState".into(), json!(if owner.is_some() { "Attached" } else { "Unattached" }));

    let mut out = base(&d.id, "Microsoft.Compute/disks", &s.location, &s.tags);
    if let Some(vm) = owner {
        out.insert("managedBy".into(), json!(vm.id.raw));
    }
    out.insert("sku".into(), json!({ "name": s.sku, "tier": disk_tier(&s.sku) }));
    out.insert("properties".into(), Value::Object(props));
    Value::Object(out)
}

/// `managedDisk` of a VM's OS or data disk: the disk's id and its disk encryption set.
fn managed_disk(estate: &Scenario, disk_id: &str) -> Value {
    let disk = estate.disk(disk_id);
    let mut md = Map::new();
    md.insert("storageAccountType".into(), json!(disk.map_or("Premium_LRS", |d| d.spec.sku.as_str())));
    md.insert("id".into(), json!(disk.map_or(disk_id, |d| d.id.raw.as_str())));
    if let Some(des) = disk.and_then(|d| d.spec.disk_encryption_set.as_ref()) {
        md.insert("diskEncryptionSet".into(), json!({ "id": des }));
    }
    Value::Object(md)
}

/// `Microsoft.Compute/virtualMachines`, 2025-04-01 shape: OS and data disks name the disk encryption set of
/// the disk they attach.
pub(crate) fn virtual_machine(estate: &Scenario, vm: &VirtualMachine) -> Value {
    let s = &vm.spec;
    let os = estate.disk(&s.os_disk);
    let os_managed = managed_disk(estate, &s.os_disk);
    let mut os_disk = Map::new();
    insert_opt(&mut os_disk, "osType", os.and_then(|d| d.spec.os_type.as_ref()));
    os_disk.insert("name".into(), json!(os.map_or("osdisk", |d| d.id.name.as_str())));
    os_disk.insert("createOption".into(), json!("FromImage"));
    os_disk.insert("caching".into(), json!("ReadWrite"));
    insert_opt(&mut os_disk, "diskSizeGB", os.map(|d| d.spec.size_gb));
    os_disk.insert("managedDisk".into(), os_managed);
    os_disk.insert("deleteOption".into(), json!("Detach"));

    let data: Vec<Value> = s
        .data_disks
        .iter()
        .map(|dd| {
            let disk = estate.disk(&dd.disk);
            let managed = managed_disk(estate, &dd.disk);
            let mut entry = Map::new();
            entry.insert("lun".into(), json!(dd.lun));
            entry.insert("name".into(), json!(disk.map_or("datadisk", |d| d.id.name.as_str())));
            entry.insert("createOption".into(), json!("Attach"));
            entry.insert("caching".into(), json!("ReadOnly"));
            insert_opt(&mut entry, "diskSizeGB", disk.map(|d| d.spec.size_gb));
            entry.insert("managedDisk".into(), managed);
            entry.insert("deleteOption".into(), json!("Detach"));
            entry.insert("toBeDetached".into(), json!(false));
            Value::Object(entry)
        })
        .collect();

    let mut props = Map::new();
    props.insert("vmId".into(), json!(material::guid(&format!("vm/{}", vm.id.key()))));
    props.insert("hardwareProfile".into(), json!({ "vmSize": s.vm_size }));
    if s.encryption_at_host.is_some() || s.security_type.is_some() {
        let mut security = Map::new();
        insert_opt(&mut security, "encryptionAtHost", s.encryption_at_host);
        insert_opt(&mut security, "securityType", s.security_type.as_ref());
        props.insert("securityProfile".into(), Value::Object(security));
    }
    props.insert(
        "storageProfile".into(),
        json!({
            "imageReference": {
                "publisher": "Canonical",
                "offer": "ubuntu-24_04-lts",
                "sku": "server",
                "version": "latest",
            },
            "osDisk": Value::Object(os_disk),
            "dataDisks": data,
        }),
    );
    props.insert("provisioningState".into(), json!("Succeeded"));

    let mut out = base(&vm.id, "Microsoft.Compute/virtualMachines", &s.location, &s.tags);
    if let Some(identity) = &s.identity {
        out.insert("identity".into(), managed_identity(estate, identity));
    }
    out.insert("properties".into(), Value::Object(props));
    Value::Object(out)
}

/// `Microsoft.ContainerService/managedClusters`, 2025-10-01 shape.
pub(crate) fn managed_cluster(estate: &Scenario, a: &AksCluster, cloud: Cloud) -> Value {
    let s = &a.spec;
    let pools: Vec<Value> = s
        .agent_pools
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut pool = Map::new();
            pool.insert("name".into(), json!(p.name));
            pool.insert("count".into(), json!(p.count));
            pool.insert("vmSize".into(), json!(p.vm_size));
            pool.insert("osDiskSizeGB".into(), json!(128));
            pool.insert("osDiskType".into(), json!("Managed"));
            pool.insert("osType".into(), json!("Linux"));
            pool.insert("type".into(), json!("VirtualMachineScaleSets"));
            let mode = p.mode.clone().unwrap_or_else(|| if i == 0 { "System".into() } else { "User".into() });
            pool.insert("mode".into(), json!(mode));
            pool.insert("orchestratorVersion".into(), json!(s.kubernetes_version));
            pool.insert("currentOrchestratorVersion".into(), json!(s.kubernetes_version));
            insert_opt(&mut pool, "enableEncryptionAtHost", p.encryption_at_host);
            pool.insert("provisioningState".into(), json!("Succeeded"));
            pool.insert("powerState".into(), json!({ "code": "Running" }));
            Value::Object(pool)
        })
        .collect();

    let mut props = Map::new();
    props.insert("provisioningState".into(), json!("Succeeded"));
    props.insert("powerState".into(), json!({ "code": "Running" }));
    props.insert("kubernetesVersion".into(), json!(s.kubernetes_version));
    props.insert("currentKubernetesVersion".into(), json!(s.kubernetes_version));
    props.insert("dnsPrefix".into(), json!(a.id.name));
    props.insert(
        "fqdn".into(),
        json!(format!("{}-{}.hcp.{}.azmk8s.io", a.id.name, &material::version_id(&a.id.key())[..8], s.location)),
    );
    props.insert("agentPoolProfiles".into(), json!(pools));
    props.insert("nodeResourceGroup".into(), json!(format!("MC_{}_{}_{}", a.id.resource_group, a.id.name, s.location)));
    props.insert("enableRBAC".into(), json!(true));
    insert_opt(&mut props, "diskEncryptionSetID", s.disk_encryption_set.as_ref());
    if let (Some(kms), Some(spec)) = (&a.kms, &s.kms) {
        let mut k = Map::new();
        k.insert("enabled".into(), json!(spec.enabled));
        k.insert("keyId".into(), json!(kms.versioned_url(cloud)));
        k.insert("keyVaultNetworkAccess".into(), json!(spec.network_access));
        if spec.network_access == "Private"
            && let Some(vault_id) = kms.vault_id(estate)
        {
            k.insert("keyVaultResourceId".into(), json!(vault_id));
        }
        props.insert("securityProfile".into(), json!({ "azureKeyVaultKms": Value::Object(k) }));
    }

    let mut out = base(&a.id, "Microsoft.ContainerService/managedClusters", &s.location, &s.tags);
    out.insert("sku".into(), json!({ "name": "Base", "tier": "Standard" }));
    out.insert("identity".into(), managed_identity(estate, &s.identity));
    out.insert("properties".into(), Value::Object(props));
    Value::Object(out)
}

fn sql_type(s: &SqlServer) -> &'static str {
    match s.spec.kind {
        SqlKind::Server => "Microsoft.Sql/servers",
        SqlKind::ManagedInstance => "Microsoft.Sql/managedInstances",
    }
}

/// `{vault}_{key}_{version}`: how SQL names a Key Vault server key.
fn server_key_name(key: &KeyBinding, version: &str) -> String {
    format!("{}_{}_{}", key.vault.container, key.key_name, version)
}

/// `Microsoft.Sql/servers` or `Microsoft.Sql/managedInstances`, 2023-08-01 shape.
pub(crate) fn sql_server(estate: &Scenario, s: &SqlServer, cloud: Cloud) -> Value {
    let spec = &s.spec;
    let name = &s.id.name;
    let mut props = Map::new();
    props.insert("administratorLogin".into(), json!("sqladmin"));
    match spec.kind {
        SqlKind::Server => {
            props.insert("version".into(), json!("12.0"));
            props.insert("state".into(), json!("Ready"));
            props.insert("fullyQualifiedDomainName".into(), json!(format!("{name}.{}", cloud.sql)));
            props.insert("privateEndpointConnections".into(), json!([]));
            props.insert("minimalTlsVersion".into(), json!("1.2"));
        }
        SqlKind::ManagedInstance => {
            let zone = &material::version_id(&format!("dnszone/{}", s.id.key()))[..13];
            props.insert("provisioningState".into(), json!("Succeeded"));
            props.insert("fullyQualifiedDomainName".into(), json!(format!("{name}.{zone}.{}", cloud.sql)));
            props.insert(
                "subnetId".into(),
                json!(format!(
                    "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/virtualNetworks/vnet-{name}/subnets/snet-sqlmi",
                    s.id.subscription, s.id.resource_group
                )),
            );
            props.insert("state".into(), json!("Ready"));
            props.insert("vCores".into(), json!(8));
            props.insert("storageSizeInGB".into(), json!(256));
            props.insert("licenseType".into(), json!("LicenseIncluded"));
            props.insert("collation".into(), json!("SQL_Latin1_General_CP1_CI_AS"));
            props.insert("dnsZone".into(), json!(zone));
            props.insert("publicDataEndpointEnabled".into(), json!(false));
            props.insert("minimalTlsVersion".into(), json!("1.2"));
        }
    }
    insert_opt(&mut props, "publicNetworkAccess", spec.public_network_access.as_ref());
    insert_opt(&mut props, "primaryUserAssignedIdentityId", spec.primary_user_assigned_identity.as_ref());
    if let Some(key) = &s.protector {
        props.insert("keyId".into(), json!(key.versioned_url(cloud)));
    }

    let mut out = base(&s.id, sql_type(s), &spec.location, &spec.tags);
    match spec.kind {
        SqlKind::Server => {
            out.insert("kind".into(), json!("v12.0"));
        }
        SqlKind::ManagedInstance => {
            let sku = spec.sku.clone().unwrap_or_else(|| "GP_Gen5".into());
            let tier = if sku.starts_with("BC") { "BusinessCritical" } else { "GeneralPurpose" };
            out.insert("sku".into(), json!({ "name": sku, "tier": tier, "family": "Gen5", "capacity": 8 }));
        }
    }
    if let Some(identity) = &spec.identity {
        out.insert("identity".into(), managed_identity(estate, identity));
    }
    out.insert("properties".into(), Value::Object(props));
    Value::Object(out)
}

/// `{server}/encryptionProtector/current`.
pub(crate) fn sql_protector(s: &SqlServer, cloud: Cloud) -> Value {
    let mut props = Map::new();
    let kind = match &s.protector {
        Some(key) => {
            props.insert("serverKeyName".into(), json!(server_key_name(key, &key.in_use_version)));
            props.insert("serverKeyType".into(), json!("AzureKeyVault"));
            props.insert("uri".into(), json!(key.versioned_url(cloud)));
            props.insert("thumbprint".into(), json!(material::thumbprint(&key.versioned_url(cloud))));
            props.insert("autoRotationEnabled".into(), json!(key.follows_latest));
            "azurekeyvault"
        }
        None => {
            props.insert("serverKeyName".into(), json!("ServiceManaged"));
            props.insert("serverKeyType".into(), json!("ServiceManaged"));
            props.insert("autoRotationEnabled".into(), json!(false));
            "servicemanaged"
        }
    };
    let mut out = Map::new();
    out.insert("id".into(), json!(format!("{}/encryptionProtector/current", s.id.raw)));
    out.insert("name".into(), json!("current"));
    out.insert("type".into(), json!(format!("{}/encryptionProtector", sql_type(s))));
    if s.spec.kind == SqlKind::Server {
        out.insert("location".into(), json!(s.spec.location));
    }
    out.insert("kind".into(), json!(kind));
    out.insert("properties".into(), Value::Object(props));
    Value::Object(out)
}

/// `{server}/keys`: the service-managed key, then every Key Vault key version the protector has used.
pub(crate) fn sql_keys(estate: &Scenario, s: &SqlServer, cloud: Cloud) -> Vec<Value> {
    let entry = |name: String, kind: &str, props: Value| {
        let mut out = Map::new();
        out.insert("id".into(), json!(format!("{}/keys/{name}", s.id.raw)));
        out.insert("name".into(), json!(name));
        out.insert("type".into(), json!(format!("{}/keys", sql_type(s))));
        if s.spec.kind == SqlKind::Server {
            out.insert("location".into(), json!(s.spec.location));
        }
        out.insert("kind".into(), json!(kind));
        out.insert("properties".into(), props);
        Value::Object(out)
    };
    let mut out = vec![entry("ServiceManaged".into(), "servicemanaged", json!({}))];
    if let Some(key) = &s.protector {
        for version in key.earlier_versions.iter().chain(std::iter::once(&key.in_use_version)) {
            let uri = format!("{}/keys/{}/{version}", key.vault.base(cloud), key.key_name);
            let created = estate
                .key(&key.vault.container, &key.key_name)
                .and_then(|k| k.version(version))
                .map_or(s.created, |v| v.created.max(s.created));
            out.push(entry(
                server_key_name(key, version),
                "azurekeyvault",
                json!({
                    "serverKeyType": "AzureKeyVault",
                    "uri": uri,
                    "thumbprint": material::thumbprint(&uri),
                    "creationDate": timestamps::arm(created),
                    "autoRotationEnabled": key.follows_latest,
                }),
            ));
        }
    }
    out
}

/// `Microsoft.ContainerRegistry/registries`, 2025-04-01 shape.
pub(crate) fn container_registry(estate: &Scenario, r: &ContainerRegistry, cloud: Cloud) -> Value {
    let s = &r.spec;
    let created = s.created.map_or(estate.start - time::Duration::days(300), |t| t.0);
    let encryption = match &r.key {
        None => json!({ "status": "disabled" }),
        Some(key) => {
            let client_id =
                s.key_identity.as_deref().and_then(|ua| estate.identity(ua)).map(|i| i.spec.client_id.clone());
            let mut kv = Map::new();
            let identifier = if key.follows_latest { key.versionless_url(cloud) } else { key.versioned_url(cloud) };
            kv.insert("keyIdentifier".into(), json!(identifier));
            kv.insert("versionedKeyIdentifier".into(), json!(key.versioned_url(cloud)));
            insert_opt(&mut kv, "identity", client_id);
            kv.insert("keyRotationEnabled".into(), json!(key.follows_latest));
            insert_opt(&mut kv, "lastKeyRotationTimestamp", key.last_key_rotation.map(timestamps::arm));
            json!({ "status": "enabled", "keyVaultProperties": Value::Object(kv) })
        }
    };
    let mut props = Map::new();
    props.insert("loginServer".into(), json!(format!("{}.{}", r.id.name.to_ascii_lowercase(), cloud.acr)));
    props.insert("creationDate".into(), json!(timestamps::arm(created)));
    props.insert("provisioningState".into(), json!("Succeeded"));
    props.insert("adminUserEnabled".into(), json!(s.admin_user_enabled.unwrap_or(false)));
    if s.sku == "Premium" {
        props.insert("networkRuleSet".into(), json!({ "defaultAction": "Allow", "ipRules": [] }));
    }
    props.insert(
        "policies".into(),
        json!({
            "quarantinePolicy": { "status": "disabled" },
            "trustPolicy": { "type": "Notary", "status": "disabled" },
            "retentionPolicy": { "days": 7, "status": "disabled" },
            "exportPolicy": { "status": "enabled" },
        }),
    );
    props.insert("encryption".into(), encryption);
    props.insert("dataEndpointEnabled".into(), json!(false));
    props.insert("dataEndpointHostNames".into(), json!([]));
    props.insert("privateEndpointConnections".into(), json!([]));
    props.insert("publicNetworkAccess".into(), json!(s.public_network_access.as_deref().unwrap_or("Enabled")));
    props.insert("networkRuleBypassOptions".into(), json!("AzureServices"));
    props.insert("zoneRedundancy".into(), json!("Disabled"));

    let mut out = base(&r.id, "Microsoft.ContainerRegistry/registries", &s.location, &s.tags);
    out.insert("sku".into(), json!({ "name": s.sku, "tier": s.sku }));
    if let Some(identity) = &s.identity {
        out.insert("identity".into(), managed_identity(estate, identity));
    }
    out.insert("properties".into(), Value::Object(props));
    Value::Object(out)
}

/// `Microsoft.ContainerInstance/containerGroups`, 2025-09-01 shape.
pub(crate) fn container_group(estate: &Scenario, g: &ContainerGroup, cloud: Cloud) -> Value {
    let s = &g.spec;
    let names: Vec<String> = if s.containers.is_empty() {
        vec![g.id.name.clone()]
    } else {
        s.containers.iter().map(|c| c.name.clone()).collect()
    };
    let containers: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let image =
                s.containers.get(i).map_or("mcr.microsoft.com/azuredocs/aci-helloworld:latest", |c| c.image.as_str());
            json!({
                "name": name,
                "properties": {
                    "image": image,
                    "command": [],
                    "ports": [{ "port": 80 }],
                    "environmentVariables": [],
                    "resources": { "requests": { "memoryInGB": 1.5, "cpu": 1.0 } },
                },
            })
        })
        .collect();
    let mut props = Map::new();
    props.insert("sku".into(), json!(s.sku));
    if let Some(key) = &g.key {
        let mut enc = Map::new();
        enc.insert("vaultBaseUrl".into(), json!(format!("{}/", key.vault.base(cloud))));
        enc.insert("keyName".into(), json!(key.key_name));
        enc.insert("keyVersion".into(), json!(key.in_use_version));
        insert_opt(&mut enc, "identity", s.key_identity.as_deref().map(lowercase_rg));
        props.insert("encryptionProperties".into(), Value::Object(enc));
    }
    props.insert("provisioningState".into(), json!("Succeeded"));
    props.insert("containers".into(), json!(containers));
    props.insert("initContainers".into(), json!([]));
    props.insert("imageRegistryCredentials".into(), json!([]));
    props.insert("restartPolicy".into(), json!("OnFailure"));
    props.insert("ipAddress".into(), json!({ "ports": [{ "protocol": "TCP", "port": 80 }], "type": "Private" }));
    props.insert("osType".into(), json!(s.os_type));
    props.insert("instanceView".into(), json!({ "events": [], "state": "Running" }));

    let mut out = base(&g.id, "Microsoft.ContainerInstance/containerGroups", &s.location, &s.tags);
    if let Some(identity) = &s.identity {
        // ACI writes the tenant id even for user-assigned identities only (2022-09-01 example).
        let mut identity = managed_identity(estate, identity);
        if let Some(map) = identity.as_object_mut() {
            map.entry("tenantId").or_insert_with(|| json!(estate.tenant.id));
        }
        out.insert("identity".into(), identity);
    }
    out.insert("properties".into(), Value::Object(props));
    Value::Object(out)
}

/// `Microsoft.App/managedEnvironments`, 2025-07-01 shape. No customer-managed key: Container Apps does not
/// offer one for the environment.
pub(crate) fn managed_environment(estate: &Scenario, e: &ManagedEnvironment) -> Value {
    let s = &e.spec;
    let suffix = &material::version_id(&format!("cae/{}", e.id.key()))[..10];
    let ip = material::version_id(&format!("cae-ip/{}", e.id.key()));
    let octet = |i: usize| u8::from_str_radix(&ip[i * 2..i * 2 + 2], 16).unwrap_or(1);
    let mut props = Map::new();
    props.insert("provisioningState".into(), json!("Succeeded"));
    props.insert("defaultDomain".into(), json!(format!("{suffix}.{}.azurecontainerapps.io", s.location)));
    props.insert("staticIp".into(), json!(format!("20.{}.{}.{}", octet(0), octet(1), octet(2))));
    props.insert("zoneRedundant".into(), json!(false));
    props.insert("workloadProfiles".into(), json!([{ "name": "Consumption", "workloadProfileType": "Consumption" }]));
    props.insert("peerAuthentication".into(), json!({ "mtls": { "enabled": false } }));
    props.insert("peerTrafficConfiguration".into(), json!({ "encryption": { "enabled": false } }));
    props.insert(
        "infrastructureResourceGroup".into(),
        json!(format!("ME_{}_{}_{}", e.id.name, e.id.resource_group, s.location)),
    );

    let mut out = base(&e.id, "Microsoft.App/managedEnvironments", &s.location, &s.tags);
    if let Some(identity) = &s.identity {
        out.insert("identity".into(), managed_identity(estate, identity));
    }
    out.insert("properties".into(), Value::Object(props));
    Value::Object(out)
}

/// How Container Apps writes the identity of a Key Vault reference: `system`, or the identity id in lower case
/// (as in the certificate example).
fn reference_identity(r: &VaultItemRef) -> String {
    if r.identity == "system" { "system".to_string() } else { r.identity.to_ascii_lowercase() }
}

/// `{environment}/certificates/{name}`, 2025-07-01 shape (id segment and type spelled `Certificates` as the
/// service writes them).
pub(crate) fn environment_certificate(
    estate: &Scenario,
    e: &ManagedEnvironment,
    c: &EnvCertificateSpec,
    reference: Option<&VaultItemRef>,
    cloud: Cloud,
) -> Value {
    let expires: OffsetDateTime = c.expires.map_or(estate.start + time::Duration::days(200), |t| t.0);
    let issued = expires - time::Duration::days(365);
    let subject = c.subject_name.clone().unwrap_or_else(|| format!("{}.contoso.com", c.name));
    let mut props = Map::new();
    props.insert("provisioningState".into(), json!("Succeeded"));
    props.insert("subjectName".into(), json!(format!("CN={subject}")));
    props.insert("subjectAlternativeNames".into(), json!([subject]));
    if let Some(r) = reference {
        props.insert(
            "certificateKeyVaultProperties".into(),
            json!({
                "identity": reference_identity(r),
                "keyVaultUrl": format!("{}/certificates/{}", r.vault.base(cloud), r.item),
            }),
        );
    }
    props.insert("issuer".into(), json!("CN=Contoso Issuing CA 01"));
    props.insert("issueDate".into(), json!(timestamps::arm(issued)));
    props.insert("expirationDate".into(), json!(timestamps::arm(expires)));
    props.insert("thumbprint".into(), json!(material::thumbprint(&format!("cert/{}/{}", e.id.key(), c.name))));
    props.insert("valid".into(), json!(expires > estate.now));

    let mut out = Map::new();
    out.insert("id".into(), json!(format!("{}/Certificates/{}", e.id.raw, c.name)));
    out.insert("name".into(), json!(c.name));
    out.insert("type".into(), json!("Microsoft.App/ManagedEnvironments/Certificates"));
    out.insert("location".into(), json!(e.spec.location));
    out.insert("properties".into(), Value::Object(props));
    Value::Object(out)
}

/// `Microsoft.App/containerApps`, 2025-07-01 shape. Secrets carry their name and, for Key Vault references,
/// `keyVaultUrl` and `identity` — never a value (a `GET` never returns one).
pub(crate) fn container_app(estate: &Scenario, a: &ContainerApp, cloud: Cloud) -> Value {
    let s = &a.spec;
    let env = estate.managed_environment(&s.environment);
    let env_id = env.map_or(s.environment.as_str(), |e| e.id.raw.as_str());
    let domain = env.map_or_else(String::new, |e| {
        format!(
            "{}.{}.azurecontainerapps.io",
            &material::version_id(&format!("cae/{}", e.id.key()))[..10],
            e.spec.location
        )
    });
    let secrets: Vec<Value> = s
        .secrets
        .iter()
        .zip(&a.secret_refs)
        .map(|(secret, reference)| match reference {
            None => json!({ "name": secret.name }),
            Some(r) => json!({
                "name": secret.name,
                "keyVaultUrl": format!("{}/secrets/{}", r.vault.base(cloud), r.item),
                "identity": if r.identity == "system" { "system".to_string() } else { lowercase_rg(&r.identity) },
            }),
        })
        .collect();
    let revision = format!("{}--{}", a.id.name, &material::version_id(&format!("rev/{}", a.id.key()))[..7]);
    let mut props = Map::new();
    props.insert("provisioningState".into(), json!("Succeeded"));
    props.insert("runningStatus".into(), json!("Running"));
    props.insert("managedEnvironmentId".into(), json!(env_id));
    props.insert("environmentId".into(), json!(env_id));
    props.insert("workloadProfileName".into(), json!("Consumption"));
    props.insert("latestRevisionName".into(), json!(revision));
    props.insert("latestReadyRevisionName".into(), json!(revision));
    props.insert("latestRevisionFqdn".into(), json!(format!("{revision}.{domain}")));
    props.insert(
        "configuration".into(),
        json!({
            "secrets": secrets,
            "activeRevisionsMode": "Single",
            "ingress": {
                "fqdn": format!("{}.{domain}", a.id.name),
                "external": true,
                "targetPort": 80,
                "transport": "Auto",
            },
            "maxInactiveRevisions": 100,
        }),
    );
    props.insert(
        "template".into(),
        json!({
            "containers": [{
                "image": s.image,
                "name": a.id.name,
                "resources": { "cpu": 0.5, "memory": "1Gi" },
            }],
            "scale": { "minReplicas": 1, "maxReplicas": 3 },
        }),
    );

    let mut out = base(&a.id, "Microsoft.App/containerApps", &s.location, &s.tags);
    if let Some(identity) = &s.identity {
        out.insert("identity".into(), managed_identity(estate, identity));
    }
    out.insert("properties".into(), Value::Object(props));
    Value::Object(out)
}

/// `Microsoft.Web/sites`, 2024-04-01 shape (no customer-managed key at rest: App Service is a notable
/// exception).
pub(crate) fn web_app(estate: &Scenario, w: &WebApp, cloud: Cloud) -> Value {
    let s = &w.spec;
    let host = format!("{}.{}", w.id.name.to_ascii_lowercase(), cloud.web);
    let mut props = Map::new();
    props.insert("name".into(), json!(w.id.name));
    props.insert("state".into(), json!(s.state));
    props.insert("hostNames".into(), json!([host]));
    props.insert("enabled".into(), json!(true));
    props.insert("defaultHostName".into(), json!(host));
    insert_opt(&mut props, "serverFarmId", s.server_farm.as_ref());
    props.insert("reserved".into(), json!(s.kind.contains("linux")));
    insert_opt(&mut props, "httpsOnly", s.https_only);
    props.insert("clientCertEnabled".into(), json!(false));
    props.insert("usageState".into(), json!("Normal"));
    props.insert("availabilityState".into(), json!("Normal"));

    let mut out = base(&w.id, "Microsoft.Web/sites", &s.location, &s.tags);
    out.insert("kind".into(), json!(s.kind));
    if let Some(identity) = &s.identity {
        out.insert("identity".into(), managed_identity(estate, identity));
    }
    out.insert("properties".into(), Value::Object(props));
    Value::Object(out)
}
