//! Validation of the service tables (disk encryption sets, disks, VMs, AKS, SQL, registries, container groups,
//! Container Apps, web apps): every key reference resolves to a vault or HSM, key and version of the scenario
//! (unless marked `external_key`), every identity used to reach a key is one the resource has, and every disk
//! encryption set, disk and environment a resource names exists. Errors name the file, entry, field and line.

use std::collections::HashSet;

use super::validation::{Validator, is_version_id};
use super::*;

/// Whether a service can follow the latest key version by itself.
#[derive(Debug, Clone, Copy)]
enum Follow {
    Allowed,
    /// The service always names a version; the text names the service for the error.
    Never(&'static str),
}

/// A resource's identities: whether it has a system-assigned one, and its user-assigned ids.
struct Identities {
    system: bool,
    user_assigned: Vec<String>,
}

impl Identities {
    fn has_user_assigned(&self, id: &str) -> bool {
        self.user_assigned.iter().any(|x| x.eq_ignore_ascii_case(id))
    }
}

/// The tables already validated that the services refer to.
pub(super) struct Known<'a> {
    pub(super) sub_known: &'a dyn Fn(&str) -> bool,
    pub(super) identities: &'a [Identity],
    pub(super) vaults: &'a [Vault],
    pub(super) keys: &'a [Key],
    pub(super) container_kind: &'a dyn Fn(&str) -> Option<ContainerKind>,
}

impl Validator<'_> {
    /// Validate every service table, in dependency order (sets before disks before VMs; environments before
    /// apps).
    pub(super) fn services(&self, file: &ScenarioFile, known: &Known<'_>) -> Result<Services, Error> {
        let mut out = Services::default();
        for (i, spec) in file.disk_encryption_sets.iter().enumerate() {
            out.disk_encryption_sets.push(self.disk_encryption_set(i, spec, known)?);
        }
        for (i, spec) in file.disks.iter().enumerate() {
            let disk = self.disk(i, spec, known, &out)?;
            out.disks.push(disk);
        }
        let mut used_disks: HashSet<String> = HashSet::new();
        for (i, spec) in file.virtual_machines.iter().enumerate() {
            let vm = self.virtual_machine(i, spec, known, &out, &mut used_disks)?;
            out.virtual_machines.push(vm);
        }
        for (i, spec) in file.aks_clusters.iter().enumerate() {
            let aks = self.aks_cluster(i, spec, known, &out)?;
            out.aks_clusters.push(aks);
        }
        for (i, spec) in file.sql_servers.iter().enumerate() {
            out.sql_servers.push(self.sql_server(i, spec, known)?);
        }
        for (i, spec) in file.container_registries.iter().enumerate() {
            out.container_registries.push(self.container_registry(i, spec, known)?);
        }
        for (i, spec) in file.container_groups.iter().enumerate() {
            out.container_groups.push(self.container_group(i, spec, known)?);
        }
        for (i, spec) in file.container_apps_environments.iter().enumerate() {
            out.managed_environments.push(self.managed_environment(i, spec, known)?);
        }
        for (i, spec) in file.container_apps.iter().enumerate() {
            let app = self.container_app(i, spec, known, &out)?;
            out.container_apps.push(app);
        }
        for (i, spec) in file.web_apps.iter().enumerate() {
            let what0 = format!("web_apps[{i}]");
            let at = self.entry_line("web_apps", i);
            let id = self.resource_id(&what0, at, &spec.id, "Microsoft.Web/sites")?;
            let what = format!("{what0} '{}'", id.name);
            self.known_sub(&what, at, &id, known.sub_known)?;
            self.identities(&what, at, spec.identity.as_ref(), known)?;
            out.web_apps.push(WebApp { id, spec: spec.clone() });
        }
        Ok(out)
    }

    fn identities(
        &self,
        what: &str,
        at: Option<usize>,
        identity: Option<&ManagedIdentitySpec>,
        known: &Known<'_>,
    ) -> Result<Identities, Error> {
        let (system, user_assigned) = self.managed_identity(what, at, identity, known.identities)?;
        Ok(Identities { system, user_assigned })
    }

    /// Header checks shared by every table: id of the right type in a declared subscription.
    fn entry(
        &self,
        table: &str,
        i: usize,
        raw_id: &str,
        resource_type: &str,
        known: &Known<'_>,
    ) -> Result<(ResourceId, String, Option<usize>), Error> {
        let what0 = format!("{table}[{i}]");
        let at = self.entry_line(table, i);
        let id = self.resource_id(&what0, at, raw_id, resource_type)?;
        let what = format!("{what0} '{}'", id.name);
        self.known_sub(&what, at, &id, known.sub_known)?;
        Ok((id, what, at))
    }

    fn disk_encryption_set(
        &self,
        i: usize,
        spec: &DiskEncryptionSetSpec,
        known: &Known<'_>,
    ) -> Result<DiskEncryptionSet, Error> {
        let (id, what, at) =
            self.entry("disk_encryption_sets", i, &spec.id, "Microsoft.Compute/diskEncryptionSets", known)?;
        let ids = self.identities(&what, at, Some(&spec.identity), known)?;
        if !ids.system && ids.user_assigned.is_empty() {
            return Err(self.fail(
                format!("{what}.identity"),
                at,
                "a disk encryption set reaches its key with its managed identity: give it a system-assigned or a \
                 user-assigned one",
            ));
        }
        if let Some(f) = &spec.federated_client_id {
            self.guid(&format!("{what}.federated_client_id"), at, f)?;
        }
        let key = self.key_binding(&format!("{what}.key"), at, &spec.key, known, Follow::Allowed)?;
        let rotation_to_latest = match (spec.rotation_to_latest, key.follows_latest) {
            (None, true) | (Some(true), true) => Some(true),
            (None, false) => None,
            (Some(false), false) => Some(false),
            (Some(true), false) => {
                return Err(self.fail(
                    format!("{what}.rotation_to_latest"),
                    at,
                    "a set that rotates to the latest version does not pin key.version: remove key.version (use \
                     key.in_use_version for the version adopted so far)",
                ));
            }
            (Some(false), true) => {
                return Err(self.fail(
                    format!("{what}.key.version"),
                    at,
                    "without rotation_to_latest the set uses one fixed version: set key.version (id or \"#N\")",
                ));
            }
        };
        Ok(DiskEncryptionSet { id, spec: spec.clone(), key, rotation_to_latest })
    }

    fn disk(&self, i: usize, spec: &DiskSpec, known: &Known<'_>, so_far: &Services) -> Result<Disk, Error> {
        let (id, what, at) = self.entry("disks", i, &spec.id, "Microsoft.Compute/disks", known)?;
        if let Some(des) = &spec.disk_encryption_set
            && so_far.disk_encryption_set(des).is_none()
        {
            return Err(self.fail(
                format!("{what}.disk_encryption_set"),
                at,
                format!("'{des}' is not declared under [[disk_encryption_sets]]"),
            ));
        }
        let encryption_type = match (&spec.encryption_type, &spec.disk_encryption_set) {
            (Some(t), des) => {
                if t.contains("CustomerKey") && des.is_none() {
                    return Err(self.fail(
                        format!("{what}.encryption_type"),
                        at,
                        format!("'{t}' needs a disk_encryption_set holding the customer-managed key"),
                    ));
                }
                t.clone()
            }
            (None, Some(_)) => "EncryptionAtRestWithCustomerKey".to_string(),
            (None, None) => "EncryptionAtRestWithPlatformKey".to_string(),
        };
        let ade = match &spec.azure_disk_encryption {
            None => None,
            Some(a) => {
                let vault =
                    known.vaults.iter().find(|v| v.id.name.eq_ignore_ascii_case(&a.vault)).ok_or_else(|| {
                        self.fail(
                            format!("{what}.azure_disk_encryption.vault"),
                            at,
                            format!(
                                "no vault named '{}' in this scenario (Azure Disk Encryption needs a key vault)",
                                a.vault
                            ),
                        )
                    })?;
                let container = vault.id.name.to_ascii_lowercase();
                let key = match &a.key {
                    None => None,
                    Some(name) => {
                        let key = known
                            .keys
                            .iter()
                            .find(|k| k.container == container && k.name.eq_ignore_ascii_case(name))
                            .ok_or_else(|| {
                                self.fail(
                                    format!("{what}.azure_disk_encryption.key"),
                                    at,
                                    format!("key '{name}' is not in '{}' (add it under [[keys]])", a.vault),
                                )
                            })?;
                        Some((key.name.clone(), key.latest().map(|v| v.id.clone()).unwrap_or_default()))
                    }
                };
                Some(AdeSettings {
                    vault_id: vault.id.raw.clone(),
                    vault_name: vault.id.name.clone(),
                    secret: a.secret.clone(),
                    secret_version: material::version_id(&format!("ade/{}/{}", id.key(), a.secret)),
                    key,
                })
            }
        };
        if let Some(os) = &spec.os_type
            && !["Windows", "Linux"].contains(&os.as_str())
        {
            return Err(self.fail(format!("{what}.os_type"), at, format!("'{os}' is not Windows or Linux")));
        }
        Ok(Disk { id, spec: spec.clone(), encryption_type, ade })
    }

    fn virtual_machine(
        &self,
        i: usize,
        spec: &VirtualMachineSpec,
        known: &Known<'_>,
        so_far: &Services,
        used_disks: &mut HashSet<String>,
    ) -> Result<VirtualMachine, Error> {
        let (id, what, at) = self.entry("virtual_machines", i, &spec.id, "Microsoft.Compute/virtualMachines", known)?;
        self.identities(&what, at, spec.identity.as_ref(), known)?;
        let mut use_disk = |field: String, disk_id: &str| -> Result<(), Error> {
            if so_far.disk(disk_id).is_none() {
                return Err(self.fail(field, at, format!("'{disk_id}' is not declared under [[disks]]")));
            }
            if !used_disks.insert(disk_id.to_ascii_lowercase()) {
                return Err(self.fail(field, at, format!("'{disk_id}' is already attached to a VM")));
            }
            Ok(())
        };
        use_disk(format!("{what}.os_disk"), &spec.os_disk)?;
        if so_far.disk(&spec.os_disk).is_some_and(|d| d.spec.os_type.is_none()) {
            return Err(self.fail(
                format!("{what}.os_disk"),
                at,
                format!("'{}' has no os_type: an OS disk needs os_type = \"Linux\" or \"Windows\"", spec.os_disk),
            ));
        }
        let mut luns = HashSet::new();
        for (j, d) in spec.data_disks.iter().enumerate() {
            use_disk(format!("{what}.data_disks[{j}].disk"), &d.disk)?;
            if !luns.insert(d.lun) {
                return Err(self.fail(
                    format!("{what}.data_disks[{j}].lun"),
                    at,
                    format!("LUN {} is used twice", d.lun),
                ));
            }
        }
        Ok(VirtualMachine { id, spec: spec.clone() })
    }

    fn aks_cluster(&self, i: usize, spec: &AksSpec, known: &Known<'_>, so_far: &Services) -> Result<AksCluster, Error> {
        let (id, what, at) =
            self.entry("aks_clusters", i, &spec.id, "Microsoft.ContainerService/managedClusters", known)?;
        let ids = self.identities(&what, at, Some(&spec.identity), known)?;
        if !ids.system && ids.user_assigned.is_empty() {
            return Err(self.fail(format!("{what}.identity"), at, "an AKS cluster needs a managed identity"));
        }
        if let Some(des) = &spec.disk_encryption_set
            && so_far.disk_encryption_set(des).is_none()
        {
            return Err(self.fail(
                format!("{what}.disk_encryption_set"),
                at,
                format!("'{des}' is not declared under [[disk_encryption_sets]]"),
            ));
        }
        if spec.agent_pools.is_empty() {
            return Err(self.fail(format!("{what}.agent_pools"), at, "a cluster needs at least one agent pool"));
        }
        let mut names = HashSet::new();
        for (j, p) in spec.agent_pools.iter().enumerate() {
            if !names.insert(p.name.to_ascii_lowercase()) {
                return Err(self.fail(format!("{what}.agent_pools[{j}]"), at, format!("pool '{}' twice", p.name)));
            }
        }
        if spec.kms.as_ref().is_some_and(|k| !["Public", "Private"].contains(&k.network_access.as_str())) {
            return Err(self.fail(format!("{what}.kms.network_access"), at, "must be Public or Private"));
        }
        let kms = match &spec.kms {
            None => None,
            Some(k) => {
                let as_ref = KeyRefSpec {
                    vault: k.vault.clone(),
                    name: k.name.clone(),
                    version: k.version.clone(),
                    in_use_version: None,
                    last_key_rotation: None,
                    auto_adopt: true,
                    adoption_delay: None,
                    external_key: k.external_key.clone(),
                };
                Some(self.key_binding(&format!("{what}.kms"), at, &as_ref, known, Follow::Never("AKS KMS"))?)
            }
        };
        Ok(AksCluster { id, spec: spec.clone(), kms })
    }

    fn sql_server(&self, i: usize, spec: &SqlServerSpec, known: &Known<'_>) -> Result<SqlServer, Error> {
        let expected = match spec.kind {
            SqlKind::Server => "Microsoft.Sql/servers",
            SqlKind::ManagedInstance => "Microsoft.Sql/managedInstances",
        };
        let (id, what, at) = self.entry("sql_servers", i, &spec.id, expected, known)?;
        let ids = self.identities(&what, at, spec.identity.as_ref(), known)?;
        if let Some(primary) = &spec.primary_user_assigned_identity
            && !ids.has_user_assigned(primary)
        {
            return Err(self.fail(
                format!("{what}.primary_user_assigned_identity"),
                at,
                format!("'{primary}' is not among identity.user_assigned"),
            ));
        }
        let protector = match &spec.protector {
            None => None,
            Some(p) => {
                if spec.primary_user_assigned_identity.is_none() && !ids.system {
                    return Err(self.fail(
                        format!("{what}.protector"),
                        at,
                        "a Key Vault protector is reached with the primary user-assigned identity or the \
                         system-assigned one: set primary_user_assigned_identity or a system-assigned identity",
                    ));
                }
                Some(self.key_binding(&format!("{what}.protector"), at, p, known, Follow::Allowed)?)
            }
        };
        let created = spec.created.map_or(DEFAULT_SQL_CREATED, |t| t.0);
        Ok(SqlServer { id, spec: spec.clone(), protector, created })
    }

    fn container_registry(&self, i: usize, spec: &RegistrySpec, known: &Known<'_>) -> Result<ContainerRegistry, Error> {
        let (id, what, at) =
            self.entry("container_registries", i, &spec.id, "Microsoft.ContainerRegistry/registries", known)?;
        let ids = self.identities(&what, at, spec.identity.as_ref(), known)?;
        if !["Basic", "Standard", "Premium"].contains(&spec.sku.as_str()) {
            return Err(self.fail(
                format!("{what}.sku"),
                at,
                format!("'{}' is not Basic, Standard or Premium", spec.sku),
            ));
        }
        let key = match &spec.key {
            None => {
                if spec.key_identity.is_some() {
                    return Err(self.fail(format!("{what}.key_identity"), at, "key_identity without a key"));
                }
                None
            }
            Some(k) => {
                match &spec.key_identity {
                    Some(ua) if ids.has_user_assigned(ua) => {}
                    Some(ua) => {
                        return Err(self.fail(
                            format!("{what}.key_identity"),
                            at,
                            format!("'{ua}' is not among identity.user_assigned"),
                        ));
                    }
                    None => {
                        return Err(self.fail(
                            format!("{what}.key_identity"),
                            at,
                            "a registry reaches its key with a user-assigned identity: set key_identity",
                        ));
                    }
                }
                Some(self.key_binding(&format!("{what}.key"), at, k, known, Follow::Allowed)?)
            }
        };
        Ok(ContainerRegistry { id, spec: spec.clone(), key })
    }

    fn container_group(&self, i: usize, spec: &ContainerGroupSpec, known: &Known<'_>) -> Result<ContainerGroup, Error> {
        let (id, what, at) =
            self.entry("container_groups", i, &spec.id, "Microsoft.ContainerInstance/containerGroups", known)?;
        let ids = self.identities(&what, at, spec.identity.as_ref(), known)?;
        let key = match &spec.key {
            None => None,
            Some(k) => {
                match &spec.key_identity {
                    Some(ua) if !ids.has_user_assigned(ua) => {
                        return Err(self.fail(
                            format!("{what}.key_identity"),
                            at,
                            format!("'{ua}' is not among identity.user_assigned"),
                        ));
                    }
                    None if !ids.system => {
                        return Err(self.fail(
                            format!("{what}.key_identity"),
                            at,
                            "set key_identity (a user-assigned identity of the group) or give the group a \
                             system-assigned identity",
                        ));
                    }
                    _ => {}
                }
                Some(self.key_binding(&format!("{what}.key"), at, k, known, Follow::Never("Container Instances"))?)
            }
        };
        Ok(ContainerGroup { id, spec: spec.clone(), key })
    }

    fn managed_environment(
        &self,
        i: usize,
        spec: &ManagedEnvironmentSpec,
        known: &Known<'_>,
    ) -> Result<ManagedEnvironment, Error> {
        let (id, what, at) =
            self.entry("container_apps_environments", i, &spec.id, "Microsoft.App/managedEnvironments", known)?;
        let ids = self.identities(&what, at, spec.identity.as_ref(), known)?;
        let mut names = HashSet::new();
        let mut certificate_refs = Vec::new();
        for (j, c) in spec.certificates.iter().enumerate() {
            let field = format!("{what}.certificates[{j}]");
            if !names.insert(c.name.to_ascii_lowercase()) {
                return Err(self.fail(&field, at, format!("certificate '{}' twice", c.name)));
            }
            let reference = self.vault_item(
                &field,
                at,
                c.vault.as_deref(),
                c.certificate.as_deref().unwrap_or(&c.name),
                c.identity.as_deref(),
                c.external_key.as_deref(),
                &ids,
                known,
            )?;
            certificate_refs.push(reference);
        }
        Ok(ManagedEnvironment { id, spec: spec.clone(), certificate_refs })
    }

    fn container_app(
        &self,
        i: usize,
        spec: &ContainerAppSpec,
        known: &Known<'_>,
        so_far: &Services,
    ) -> Result<ContainerApp, Error> {
        let (id, what, at) = self.entry("container_apps", i, &spec.id, "Microsoft.App/containerApps", known)?;
        let ids = self.identities(&what, at, spec.identity.as_ref(), known)?;
        if so_far.managed_environment(&spec.environment).is_none() {
            return Err(self.fail(
                format!("{what}.environment"),
                at,
                format!("'{}' is not declared under [[container_apps_environments]]", spec.environment),
            ));
        }
        let mut names = HashSet::new();
        let mut secret_refs = Vec::new();
        for (j, s) in spec.secrets.iter().enumerate() {
            let field = format!("{what}.secrets[{j}]");
            if !names.insert(s.name.to_ascii_lowercase()) {
                return Err(self.fail(&field, at, format!("secret '{}' twice", s.name)));
            }
            let reference = self.vault_item(
                &field,
                at,
                s.vault.as_deref(),
                s.secret.as_deref().unwrap_or(&s.name),
                s.identity.as_deref(),
                s.external_key.as_deref(),
                &ids,
                known,
            )?;
            secret_refs.push(reference);
        }
        Ok(ContainerApp { id, spec: spec.clone(), secret_refs })
    }

    /// A certificate or secret reference: the vault exists (or is marked external) and the identity is the
    /// resource's.
    #[allow(clippy::too_many_arguments)]
    fn vault_item(
        &self,
        field: &str,
        at: Option<usize>,
        vault: Option<&str>,
        item: &str,
        identity: Option<&str>,
        external: Option<&str>,
        ids: &Identities,
        known: &Known<'_>,
    ) -> Result<Option<VaultItemRef>, Error> {
        let Some(vault) = vault else {
            if identity.is_some() || external.is_some() {
                return Err(self.fail(field, at, "identity/external_key without a vault"));
            }
            return Ok(None);
        };
        let vault = self.vault_ref(field, at, vault, external, known)?;
        if vault.kind == ContainerKind::ManagedHsm {
            return Err(self.fail(field, at, "certificates and secrets live in a key vault, not a managed HSM"));
        }
        let identity = match identity {
            Some(i) if i.eq_ignore_ascii_case("system") => {
                if !ids.system {
                    return Err(self.fail(
                        format!("{field}.identity"),
                        at,
                        "'system' needs a system-assigned identity on the resource",
                    ));
                }
                "system".to_string()
            }
            Some(ua) if ids.has_user_assigned(ua) => ua.to_string(),
            Some(ua) => {
                return Err(self.fail(
                    format!("{field}.identity"),
                    at,
                    format!("'{ua}' is not among the resource's identity.user_assigned"),
                ));
            }
            None => {
                return Err(self.fail(
                    format!("{field}.identity"),
                    at,
                    "a Key Vault reference names the identity that reads it: \"system\" or a user-assigned id",
                ));
            }
        };
        Ok(Some(VaultItemRef { vault, item: item.to_string(), identity }))
    }

    /// A vault named in a key or item reference: a vault or managed HSM of the scenario, or — with
    /// `external_key` — the https URL of one outside it.
    fn vault_ref(
        &self,
        field: &str,
        at: Option<usize>,
        vault: &str,
        external: Option<&str>,
        known: &Known<'_>,
    ) -> Result<VaultRef, Error> {
        if let Some(reason) = external {
            if reason.trim().is_empty() {
                return Err(self.fail(
                    format!("{field}.external_key"),
                    at,
                    "say why the vault is outside the scenario, e.g. \"customer vault in the Fabrikam tenant\"",
                ));
            }
            let host = url::Url::parse(vault).ok().and_then(|u| u.host_str().map(str::to_string));
            let parsed = host.as_deref().and_then(vault_host_kind);
            let Some((kind, container)) = parsed else {
                return Err(self.fail(
                    format!("{field}.vault"),
                    at,
                    format!("'{vault}': an external vault is written as its URL, e.g. https://kv-x.vault.azure.net"),
                ));
            };
            return Ok(VaultRef { container, kind, external_uri: Some(vault.trim_end_matches('/').to_string()) });
        }
        if vault.contains("://") {
            return Err(self.fail(
                format!("{field}.vault"),
                at,
                format!(
                    "'{vault}': name a vault or managed HSM of this scenario (e.g. \"kv-contoso-prod\"); a vault \
                     outside it needs external_key = \"<why>\""
                ),
            ));
        }
        let kind = (known.container_kind)(vault).ok_or_else(|| {
            self.fail(
                format!("{field}.vault"),
                at,
                format!(
                    "no vault or managed HSM named '{vault}' in this scenario; add it, or give its URL and \
                     external_key = \"<why>\" if it is deliberately out of sight"
                ),
            )
        })?;
        Ok(VaultRef { container: vault.to_ascii_lowercase(), kind, external_uri: None })
    }

    /// Resolve a key reference: vault, key and version exist (unless external); a version is named where the
    /// service cannot follow the latest one.
    fn key_binding(
        &self,
        field: &str,
        at: Option<usize>,
        spec: &KeyRefSpec,
        known: &Known<'_>,
        follow: Follow,
    ) -> Result<KeyBinding, Error> {
        let vault = self.vault_ref(field, at, &spec.vault, spec.external_key.as_deref(), known)?;
        let pinned_ref = spec.version.clone().filter(|v| !v.is_empty());
        if let (None, Follow::Never(service)) = (&pinned_ref, follow) {
            return Err(self.fail(
                format!("{field}.version"),
                at,
                format!("{service} always names a key version: set version (a version id or \"#N\")"),
            ));
        }
        let (pinned, in_use) = if spec.external_key.is_some() {
            let in_use = match (&pinned_ref, &spec.in_use_version) {
                (Some(p), _) => p.clone(),
                (None, Some(u)) => u.clone(),
                (None, None) => {
                    return Err(self.fail(
                        format!("{field}.in_use_version"),
                        at,
                        "an external key that follows the latest version needs in_use_version (the version id in use)",
                    ));
                }
            };
            if !is_version_id(&in_use) {
                return Err(self.fail(
                    format!("{field}.version"),
                    at,
                    format!("'{in_use}' is not a key version id (32 hex digits)"),
                ));
            }
            (pinned_ref.clone(), in_use.to_ascii_lowercase())
        } else {
            let key = known
                .keys
                .iter()
                .find(|k| k.container == vault.container && k.name.eq_ignore_ascii_case(&spec.name))
                .ok_or_else(|| {
                    self.fail(
                        format!("{field}.name"),
                        at,
                        format!("key '{}' is not in '{}' (add it under [[keys]])", spec.name, spec.vault),
                    )
                })?;
            let pinned = match &pinned_ref {
                Some(p) => Some(key.resolve(p).ok_or_else(|| {
                    self.fail(
                        format!("{field}.version"),
                        at,
                        format!("key '{}' in '{}' has no version '{p}'", spec.name, spec.vault),
                    )
                })?),
                None => None,
            };
            let in_use = match (&pinned, &spec.in_use_version) {
                (Some(p), None) => p.clone(),
                (Some(_), Some(_)) => {
                    return Err(self.fail(
                        format!("{field}.in_use_version"),
                        at,
                        "a pinned key is always used at its pinned version; drop in_use_version",
                    ));
                }
                (None, Some(u)) => key.resolve(u).ok_or_else(|| {
                    self.fail(
                        format!("{field}.in_use_version"),
                        at,
                        format!("key '{}' in '{}' has no version '{u}'", spec.name, spec.vault),
                    )
                })?,
                (None, None) => key.latest().map(|v| v.id.clone()).unwrap_or_default(),
            };
            (pinned, in_use)
        };
        if !spec.auto_adopt && pinned.is_some() {
            return Err(self.fail(
                format!("{field}.auto_adopt"),
                at,
                "auto_adopt only applies to a key that follows the latest version",
            ));
        }
        Ok(KeyBinding {
            vault,
            key_name: spec.name.clone(),
            follows_latest: pinned.is_none(),
            in_use_version: in_use,
            last_key_rotation: spec.last_key_rotation.map(|t| t.0),
            auto_adopt: spec.auto_adopt,
            adoption_delay: spec.adoption_delay.as_ref().map(|d| d.approx),
            external: spec.external_key.clone(),
            pending: None,
            earlier_versions: Vec::new(),
        })
    }
}

/// Creation time of a SQL server whose scenario entry has none (2024-01-01T00:00:00Z): fixed, so output is
/// deterministic.
const DEFAULT_SQL_CREATED: OffsetDateTime = match OffsetDateTime::from_unix_timestamp(1_704_067_200) {
    Ok(t) => t,
    Err(_) => OffsetDateTime::UNIX_EPOCH,
};
