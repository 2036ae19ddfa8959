//! Scenario validation: turns a parsed scenario file into the model the server reads, resolving every
//! reference (vault, key, version, identity, subscription) and failing with the file, entry, field and — where
//! it can be found — the line of the first inconsistency. Dangling key references are accepted only when the
//! account says why (`external_key`).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use time::OffsetDateTime;

use super::*;

/// The scenario table that simulates `resource_type` in full, if any (so `[[other_resources]]` must not).
fn typed_table(resource_type: &str) -> Option<&'static str> {
    const TYPED: &[(&str, &str)] = &[
        ("Microsoft.Storage/storageAccounts", "storage_accounts"),
        ("Microsoft.KeyVault/vaults", "vaults"),
        ("Microsoft.KeyVault/managedHSMs", "managed_hsms"),
        ("Microsoft.ManagedIdentity/userAssignedIdentities", "identities"),
        ("Microsoft.Compute/diskEncryptionSets", "disk_encryption_sets"),
        ("Microsoft.Compute/disks", "disks"),
        ("Microsoft.Compute/virtualMachines", "virtual_machines"),
        ("Microsoft.ContainerService/managedClusters", "aks_clusters"),
        ("Microsoft.Sql/servers", "sql_servers"),
        ("Microsoft.Sql/managedInstances", "sql_servers"),
        ("Microsoft.ContainerRegistry/registries", "container_registries"),
        ("Microsoft.ContainerInstance/containerGroups", "container_groups"),
        ("Microsoft.App/managedEnvironments", "container_apps_environments"),
        ("Microsoft.App/containerApps", "container_apps"),
        ("Microsoft.Web/sites", "web_apps"),
    ];
    TYPED.iter().find(|(t, _)| t.eq_ignore_ascii_case(resource_type)).map(|(_, table)| *table)
}

fn is_guid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(len, p)| p.len() == *len && p.chars().all(|c| c.is_ascii_hexdigit()))
}

pub(super) fn is_version_id(text: &str) -> bool {
    text.len() == 32 && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// Vault and managed HSM names are DNS labels: 3–24 characters, letters, digits and hyphens, starting
/// with a letter.
fn is_vault_name(text: &str) -> bool {
    (3..=24).contains(&text.len())
        && text.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !text.ends_with('-')
}

/// Builds the validated [`Scenario`] from a parsed file, naming the file, the entry and (where it can be
/// found in the text) the line of anything inconsistent.
pub(super) struct Validator<'a> {
    pub(super) origin: &'a str,
    pub(super) source: &'a str,
    /// Entries per table that came from the `extends` base, ahead of this file's own.
    pub(super) inherited: BTreeMap<String, usize>,
    /// Directory `[[raw_resources]]` paths are relative to (none for built-ins and text).
    pub(super) dir: Option<&'a Path>,
}

impl Validator<'_> {
    pub(super) fn fail(&self, what: impl Into<String>, at: Option<usize>, problem: impl Into<String>) -> Error {
        Error::InvalidScenario { origin: self.origin.to_string(), line: at, what: what.into(), problem: problem.into() }
    }

    /// 1-based line of the first occurrence of `needle` in this file.
    fn line_of(&self, needle: &str) -> Option<usize> {
        self.source.find(needle).map(|at| self.source[..at].matches('\n').count() + 1)
    }

    /// 1-based line of the `[[table]]` header of entry `index` (counted over the merged scenario, so entries
    /// inherited through `extends` have no line in this file).
    pub(super) fn entry_line(&self, table: &str, index: usize) -> Option<usize> {
        let local = index.checked_sub(self.inherited.get(table).copied().unwrap_or(0))?;
        let header = format!("[[{table}]]");
        self.source.lines().enumerate().filter(|(_, l)| l.trim() == header).nth(local).map(|(n, _)| n + 1)
    }

    pub(super) fn guid(&self, what: &str, at: Option<usize>, value: &str) -> Result<(), Error> {
        if is_guid(value) {
            Ok(())
        } else {
            Err(self.fail(what, at, format!("'{value}' is not a GUID like 00000000-0000-0000-0000-000000000000")))
        }
    }

    pub(super) fn resource_id(
        &self,
        what: &str,
        at: Option<usize>,
        raw: &str,
        expected_type: &str,
    ) -> Result<ResourceId, Error> {
        let id = ResourceId::parse(raw).ok_or_else(|| {
            self.fail(
                what,
                at,
                format!(
                    "'{raw}' is not a resource id like \
                     /subscriptions/<guid>/resourceGroups/<rg>/providers/{expected_type}/<name>"
                ),
            )
        })?;
        if !expected_type.is_empty() && !id.is_type(expected_type) {
            return Err(self.fail(
                what,
                at,
                format!("resource type is {}, expected {expected_type}", id.resource_type),
            ));
        }
        Ok(id)
    }

    pub(super) fn build(&self, file: ScenarioFile) -> Result<Scenario, Error> {
        let tenant = file
            .tenant
            .clone()
            .ok_or_else(|| self.fail("[tenant]", None, "missing table: id, display_name, default_domain"))?;
        self.guid("tenant.id", self.line_of("[tenant]"), &tenant.id)?;
        let credentials = file
            .credentials
            .clone()
            .ok_or_else(|| self.fail("[credentials]", None, "missing table: client_id, client_secret, object_id"))?;
        self.guid("credentials.client_id", self.line_of("[credentials]"), &credentials.client_id)?;
        self.guid("credentials.object_id", self.line_of("[credentials]"), &credentials.object_id)?;
        if credentials.client_secret.is_empty() {
            return Err(self.fail("credentials.client_secret", self.line_of("[credentials]"), "must not be empty"));
        }
        let simulation = file
            .simulation
            .clone()
            .ok_or_else(|| self.fail("[simulation]", None, "missing table: now = \"<RFC 3339 timestamp>\""))?;

        let subscriptions = self.subscriptions(&file)?;
        let sub_known = |s: &str| subscriptions.iter().any(|x| x.id.eq_ignore_ascii_case(s));

        let mut identities = Vec::new();
        for (i, spec) in file.identities.iter().enumerate() {
            let what = format!("identities[{i}]");
            let at = self.entry_line("identities", i);
            let id = self.resource_id(&what, at, &spec.id, "Microsoft.ManagedIdentity/userAssignedIdentities")?;
            self.known_sub(&what, at, &id, &sub_known)?;
            self.guid(&format!("{what}.principal_id"), at, &spec.principal_id)?;
            self.guid(&format!("{what}.client_id"), at, &spec.client_id)?;
            if identities.iter().any(|x: &Identity| x.id.key() == id.key()) {
                return Err(self.fail(&what, at, "duplicate identity id"));
            }
            identities.push(Identity { id, spec: spec.clone() });
        }

        let mut names: HashSet<String> = HashSet::new();
        let mut vaults = Vec::new();
        for (i, spec) in file.vaults.iter().enumerate() {
            let what = format!("vaults[{i}]");
            let at = self.entry_line("vaults", i);
            let id = self.resource_id(&what, at, &spec.id, "Microsoft.KeyVault/vaults")?;
            self.known_sub(&what, at, &id, &sub_known)?;
            self.container_name(&what, at, &id.name, &mut names)?;
            if !["standard", "premium"].contains(&spec.sku.to_ascii_lowercase().as_str()) {
                return Err(self.fail(
                    format!("{what}.sku"),
                    at,
                    format!("'{}' is not a vault SKU (standard or premium)", spec.sku),
                ));
            }
            self.retention(&what, at, spec.soft_delete_retention_days)?;
            for (j, p) in spec.access_policies.iter().enumerate() {
                self.guid(&format!("{what}.access_policies[{j}].object_id"), at, &p.object_id)?;
            }
            vaults.push(Vault { id, spec: spec.clone() });
        }

        let mut managed_hsms = Vec::new();
        for (i, spec) in file.managed_hsms.iter().enumerate() {
            let what = format!("managed_hsms[{i}]");
            let at = self.entry_line("managed_hsms", i);
            let id = self.resource_id(&what, at, &spec.id, "Microsoft.KeyVault/managedHSMs")?;
            self.known_sub(&what, at, &id, &sub_known)?;
            self.container_name(&what, at, &id.name, &mut names)?;
            self.retention(&what, at, spec.soft_delete_retention_days)?;
            managed_hsms.push(ManagedHsm { id, spec: spec.clone() });
        }

        let container_kind = |name: &str| -> Option<ContainerKind> {
            if vaults.iter().any(|v: &Vault| v.id.name.eq_ignore_ascii_case(name)) {
                Some(ContainerKind::Vault)
            } else if managed_hsms.iter().any(|h: &ManagedHsm| h.id.name.eq_ignore_ascii_case(name)) {
                Some(ContainerKind::ManagedHsm)
            } else {
                None
            }
        };

        let mut keys: Vec<Key> = Vec::new();
        for (i, spec) in file.keys.iter().enumerate() {
            let key = self.key(i, spec, &container_kind)?;
            if keys.iter().any(|k| k.container == key.container && k.name.eq_ignore_ascii_case(&key.name)) {
                return Err(self.fail(
                    format!("keys[{i}] '{}'", spec.name),
                    self.entry_line("keys", i),
                    format!("duplicate key name in '{}'", spec.vault),
                ));
            }
            keys.push(key);
        }

        let mut storage_accounts = Vec::new();
        for (i, spec) in file.storage_accounts.iter().enumerate() {
            let account = self.storage(i, spec, &sub_known, &identities, &keys, &container_kind)?;
            if storage_accounts.iter().any(|a: &StorageAccount| a.id.name.eq_ignore_ascii_case(&account.id.name)) {
                return Err(self.fail(
                    format!("storage_accounts[{i}]"),
                    self.entry_line("storage_accounts", i),
                    "duplicate storage account name (names are globally unique)",
                ));
            }
            storage_accounts.push(account);
        }

        let known = service_validation::Known {
            sub_known: &sub_known,
            identities: &identities,
            vaults: &vaults,
            keys: &keys,
            container_kind: &container_kind,
        };
        let services = self.services(&file, &known)?;

        let role_assignments = self.role_assignments(&file, &sub_known, simulation.now.0)?;
        let hsm_role_assignments = self.hsm_role_assignments(&file, &managed_hsms)?;

        let mut other_resources = Vec::new();
        for (i, spec) in file.other_resources.iter().enumerate() {
            let what = format!("other_resources[{i}]");
            let at = self.entry_line("other_resources", i);
            let id = self.resource_id(&what, at, &spec.id, "")?;
            self.known_sub(&what, at, &id, &sub_known)?;
            if let Some(table) = typed_table(&id.resource_type) {
                return Err(self.fail(
                    &what,
                    at,
                    format!("{} is simulated in full: declare it under [[{table}]] instead", id.resource_type),
                ));
            }
            other_resources.push(OtherResource { id, spec: spec.clone() });
        }

        let mut fault_names = HashSet::new();
        for (i, f) in file.faults.iter().enumerate() {
            let what = format!("faults[{i}] '{}'", f.name);
            let at = self.entry_line("faults", i);
            if !fault_names.insert(f.name.to_ascii_lowercase()) {
                return Err(self.fail(&what, at, "duplicate fault name"));
            }
            if f.path_contains.is_empty() {
                return Err(self.fail(&what, at, "path_contains must not be empty"));
            }
            if f.kind == FaultKind::Slow && f.delay_ms.is_none() {
                return Err(self.fail(&what, at, "a 'slow' fault needs delay_ms"));
            }
            if f.times == Some(0) {
                return Err(self.fail(&what, at, "times = 0 never fires; remove the rule instead"));
            }
        }

        let now = simulation.now.0;
        let mut scenario = Scenario {
            origin: self.origin.to_string(),
            description: file.description.clone(),
            tenant,
            credentials,
            start: now,
            now,
            adoption_delay: simulation.adoption_delay.as_ref().map(|d| d.approx).unwrap_or_default(),
            latency: Latency::uniform(std::time::Duration::from_millis(simulation.latency_ms)),
            subscriptions,
            identities,
            vaults,
            managed_hsms,
            keys,
            storage_accounts,
            role_assignments,
            hsm_role_assignments,
            other_resources,
            services,
            raw_resources: Vec::new(),
            faults: file.faults.clone(),
            drill: Vec::new(),
            rotations: 0,
            index: None,
        };
        let mut seen = HashSet::new();
        if let Some(dup) = scenario.resource_keys().find(|k| !seen.insert(k.clone())) {
            // The last occurrence in this file, found case-insensitively (ARM ids are case-insensitive).
            let lower = self.source.to_ascii_lowercase();
            let line = lower.match_indices(dup.as_str()).last().map(|(at, _)| lower[..at].matches('\n').count() + 1);
            return Err(self.fail("resource ids", line, format!("'{dup}' is declared twice")));
        }
        self.raw_resources(&file, &mut scenario)?;
        scenario.drill = self.drill(&file.drill, &scenario)?;
        Ok(scenario)
    }

    /// Load `[[raw_resources]]` files into the built scenario.
    fn raw_resources(&self, file: &ScenarioFile, scenario: &mut Scenario) -> Result<(), Error> {
        for (i, spec) in file.raw_resources.iter().enumerate() {
            let what = format!("raw_resources[{i}] '{}'", spec.path);
            let at = self.entry_line("raw_resources", i);
            let given = Path::new(&spec.path);
            let path = if given.is_absolute() {
                given.to_path_buf()
            } else {
                match self.dir {
                    Some(dir) => dir.join(given),
                    None => {
                        return Err(self.fail(
                            &what,
                            at,
                            "a relative path needs a scenario file on disk to be resolved against; a built-in \
                             scenario or TOML text has no directory (load the scenario with Scenario::from_path, \
                             or give an absolute path)",
                        ));
                    }
                }
            };
            let documents = raw::read_documents(&path).map_err(|problem| self.fail(&what, at, problem))?;
            if documents.is_empty() {
                return Err(self.fail(&what, at, "the file holds no resource document"));
            }
            for doc in documents {
                scenario.add_raw_resource(doc).map_err(|e| self.fail(&what, at, e.to_string()))?;
            }
        }
        Ok(())
    }

    fn subscriptions(&self, file: &ScenarioFile) -> Result<Vec<SubscriptionSpec>, Error> {
        let mut seen = HashSet::new();
        for (i, s) in file.subscriptions.iter().enumerate() {
            let what = format!("subscriptions[{i}] '{}'", s.display_name);
            let at = self.entry_line("subscriptions", i);
            self.guid(&format!("{what}.id"), at, &s.id)?;
            if !seen.insert(s.id.to_ascii_lowercase()) {
                return Err(self.fail(&what, at, "duplicate subscription id"));
            }
            for (j, t) in s.denied_types.iter().enumerate() {
                let parts: Vec<&str> = t.split('/').collect();
                if parts.len() != 2 || parts.iter().any(|p| p.trim().is_empty()) {
                    return Err(self.fail(
                        format!("{what}.denied_types[{j}]"),
                        at,
                        format!("'{t}' is not a resource type like \"Microsoft.Sql/servers\""),
                    ));
                }
            }
        }
        if file.subscriptions.is_empty() {
            return Err(self.fail("[[subscriptions]]", None, "a scenario needs at least one subscription"));
        }
        Ok(file.subscriptions.clone())
    }

    pub(super) fn known_sub(
        &self,
        what: &str,
        at: Option<usize>,
        id: &ResourceId,
        sub_known: &dyn Fn(&str) -> bool,
    ) -> Result<(), Error> {
        if sub_known(&id.subscription) {
            Ok(())
        } else {
            Err(self.fail(
                what,
                at,
                format!("subscription '{}' is not declared under [[subscriptions]]", id.subscription),
            ))
        }
    }

    fn container_name(
        &self,
        what: &str,
        at: Option<usize>,
        name: &str,
        names: &mut HashSet<String>,
    ) -> Result<(), Error> {
        if !is_vault_name(name) {
            return Err(self.fail(
                what,
                at,
                format!("'{name}' is not a valid vault/HSM name (3-24 letters, digits, hyphens)"),
            ));
        }
        if !names.insert(name.to_ascii_lowercase()) {
            return Err(self.fail(
                what,
                at,
                format!("'{name}' is used twice: vault and managed HSM names share one DNS namespace"),
            ));
        }
        Ok(())
    }

    fn retention(&self, what: &str, at: Option<usize>, days: Option<u32>) -> Result<(), Error> {
        match days {
            Some(d) if !(7..=90).contains(&d) => Err(self.fail(
                format!("{what}.soft_delete_retention_days"),
                at,
                format!("{d} is outside Azure's range 7..=90"),
            )),
            _ => Ok(()),
        }
    }

    fn key(
        &self,
        i: usize,
        spec: &KeySpec,
        container_kind: &dyn Fn(&str) -> Option<ContainerKind>,
    ) -> Result<Key, Error> {
        let what = format!("keys[{i}] '{}'", spec.name);
        let at = self.entry_line("keys", i);
        let kind = container_kind(&spec.vault).ok_or_else(|| {
            self.fail(
                format!("{what}.vault"),
                at,
                format!("no vault or managed HSM named '{}' in this scenario", spec.vault),
            )
        })?;
        let kty = spec.kty.as_str();
        match kty {
            "RSA" | "RSA-HSM" => match spec.size {
                Some(2048 | 3072 | 4096) => {}
                other => {
                    return Err(self.fail(
                        format!("{what}.size"),
                        at,
                        format!(
                            "{}: RSA keys need size = 2048, 3072 or 4096",
                            other.map_or("missing".to_string(), |n| n.to_string())
                        ),
                    ));
                }
            },
            "EC" | "EC-HSM" => match spec.curve.as_deref() {
                Some("P-256" | "P-384" | "P-521" | "P-256K") => {}
                other => {
                    return Err(self.fail(
                        format!("{what}.curve"),
                        at,
                        format!("{}: EC keys need curve = P-256, P-384, P-521 or P-256K", other.unwrap_or("missing")),
                    ));
                }
            },
            "oct-HSM" => {}
            other => {
                return Err(self.fail(
                    format!("{what}.kty"),
                    at,
                    format!("'{other}' is not a key type (RSA, RSA-HSM, EC, EC-HSM, oct-HSM)"),
                ));
            }
        }
        if kind == ContainerKind::ManagedHsm && !kty.ends_with("-HSM") {
            return Err(self.fail(
                format!("{what}.kty"),
                at,
                format!("managed HSM '{}' only holds HSM keys (RSA-HSM, EC-HSM, oct-HSM)", spec.vault),
            ));
        }
        if kind == ContainerKind::Vault && kty == "oct-HSM" {
            return Err(self.fail(format!("{what}.kty"), at, "oct-HSM keys exist only in managed HSMs"));
        }

        let container = spec.vault.to_ascii_lowercase();
        let mut versions = Vec::new();
        for (j, v) in spec.versions.iter().enumerate() {
            let id = match &v.id {
                Some(id) if is_version_id(id) => id.to_ascii_lowercase(),
                Some(id) => {
                    return Err(self.fail(
                        format!("{what}.versions[{j}].id"),
                        self.line_of(id).or(at),
                        format!("'{id}' is not a key version id (32 hex digits)"),
                    ));
                }
                None => material::version_id(&format!("{container}/{}/explicit/{j}", spec.name)),
            };
            versions.push(KeyVersion {
                id,
                created: v.created.0,
                updated: v.updated.map_or(v.created.0, |u| u.0),
                enabled: v.enabled,
                not_before: v.not_before.map(|t| t.0),
                expires: v.expires.map(|t| t.0),
                tags: v.tags.clone(),
            });
        }
        if let Some(series) = &spec.version_series {
            if series.count == 0 {
                return Err(self.fail(format!("{what}.version_series.count"), at, "count must be at least 1"));
            }
            for n in 0..series.count {
                let created = series.first_created.0 + series.interval.approx * n;
                versions.push(KeyVersion {
                    id: material::version_id(&format!("{container}/{}/series/{n}", spec.name)),
                    created,
                    updated: created,
                    enabled: series.disabled_before.is_none_or(|cut| created >= cut.0),
                    not_before: None,
                    expires: series.expires_after.as_ref().map(|d| created + d.approx),
                    tags: None,
                });
            }
        }
        if versions.is_empty() {
            return Err(self.fail(
                &what,
                at,
                "a key needs at least one version ([[keys.versions]] or [keys.version_series])",
            ));
        }
        let mut seen = HashSet::new();
        for v in &versions {
            if !seen.insert(v.id.clone()) {
                return Err(self.fail(&what, at, format!("duplicate version id '{}'", v.id)));
            }
        }
        versions.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));

        if let Some(policy) = &spec.rotation_policy {
            for (j, a) in policy.lifetime_actions.iter().enumerate() {
                let field = format!("{what}.rotation_policy.lifetime_actions[{j}]");
                if !["Rotate", "Notify"].contains(&a.action.as_str()) {
                    return Err(self.fail(&field, at, format!("action '{}' is not Rotate or Notify", a.action)));
                }
                if a.time_after_create.is_some() == a.time_before_expiry.is_some() {
                    return Err(self.fail(&field, at, "set exactly one of time_after_create, time_before_expiry"));
                }
            }
        }

        let key_ops = spec.key_ops.clone().unwrap_or_else(|| {
            if kty.starts_with("EC") {
                vec!["sign".into(), "verify".into()]
            } else if kty == "oct-HSM" {
                vec!["encrypt".into(), "decrypt".into(), "wrapKey".into(), "unwrapKey".into()]
            } else {
                ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]
                    .iter()
                    .map(|s| (*s).to_string())
                    .collect()
            }
        });

        Ok(Key {
            container,
            name: spec.name.clone(),
            kty: spec.kty.clone(),
            size: spec.size,
            curve: spec.curve.clone(),
            key_ops,
            tags: spec.tags.clone(),
            versions,
            rotation_policy: spec.rotation_policy.clone(),
        })
    }

    fn storage(
        &self,
        i: usize,
        spec: &StorageSpec,
        sub_known: &dyn Fn(&str) -> bool,
        identities: &[Identity],
        keys: &[Key],
        container_kind: &dyn Fn(&str) -> Option<ContainerKind>,
    ) -> Result<StorageAccount, Error> {
        let what0 = format!("storage_accounts[{i}]");
        let at = self.entry_line("storage_accounts", i);
        let id = self.resource_id(&what0, at, &spec.id, "Microsoft.Storage/storageAccounts")?;
        let what = format!("{what0} '{}'", id.name);
        self.known_sub(&what, at, &id, sub_known)?;

        let (has_system, user_assigned) = self.managed_identity(&what, at, spec.identity.as_ref(), identities)?;

        let e = &spec.encryption;
        let cmk = match e.key_source.as_str() {
            "Microsoft.Storage" => {
                if e.key_vault_uri.is_some() || e.key_name.is_some() || e.key_version.is_some() {
                    return Err(self.fail(
                        format!("{what}.encryption"),
                        at,
                        "key_vault_uri/key_name/key_version are set but key_source is Microsoft.Storage \
                         (use key_source = \"Microsoft.Keyvault\" for a customer-managed key)",
                    ));
                }
                None
            }
            "Microsoft.Keyvault" => {
                Some(self.cmk_binding(&what, at, e, has_system, &user_assigned, keys, container_kind)?)
            }
            other => {
                return Err(self.fail(
                    format!("{what}.encryption.key_source"),
                    at,
                    format!("'{other}' is not Microsoft.Storage or Microsoft.Keyvault"),
                ));
            }
        };

        Ok(StorageAccount {
            id,
            spec: spec.clone(),
            key_source: e.key_source.clone(),
            require_infrastructure_encryption: e.require_infrastructure_encryption,
            cmk,
        })
    }

    /// Check a resource's `identity` table: its type, the system principal id, and that every user-assigned
    /// identity is declared. Returns whether it has a system-assigned identity and the user-assigned ids.
    pub(super) fn managed_identity(
        &self,
        what: &str,
        at: Option<usize>,
        identity: Option<&ManagedIdentitySpec>,
        identities: &[Identity],
    ) -> Result<(bool, Vec<String>), Error> {
        let mut has_system = false;
        let mut user_assigned: Vec<String> = Vec::new();
        if let Some(identity) = identity {
            match identity.kind.as_str() {
                "SystemAssigned" => has_system = true,
                "UserAssigned" => {}
                "SystemAssigned,UserAssigned" => has_system = true,
                "None" => {}
                other => {
                    return Err(self.fail(
                        format!("{what}.identity.type"),
                        at,
                        format!("'{other}' is not SystemAssigned, UserAssigned, 'SystemAssigned,UserAssigned' or None"),
                    ));
                }
            }
            if has_system {
                match &identity.principal_id {
                    Some(p) => self.guid(&format!("{what}.identity.principal_id"), at, p)?,
                    None => {
                        return Err(self.fail(
                            format!("{what}.identity.principal_id"),
                            at,
                            "a system-assigned identity needs principal_id",
                        ));
                    }
                }
            }
            if identity.kind.contains("UserAssigned") && identity.user_assigned.is_empty() {
                return Err(self.fail(
                    format!("{what}.identity.user_assigned"),
                    at,
                    "a user-assigned identity type needs at least one identity id",
                ));
            }
            for ua in &identity.user_assigned {
                if !identities.iter().any(|x| x.id.raw.eq_ignore_ascii_case(ua)) {
                    return Err(self.fail(
                        format!("{what}.identity.user_assigned"),
                        at,
                        format!("'{ua}' is not declared under [[identities]]"),
                    ));
                }
                user_assigned.push(ua.clone());
            }
        }

        Ok((has_system, user_assigned))
    }

    #[allow(clippy::too_many_arguments)]
    fn cmk_binding(
        &self,
        what: &str,
        at: Option<usize>,
        e: &EncryptionSpec,
        has_system: bool,
        user_assigned: &[String],
        keys: &[Key],
        container_kind: &dyn Fn(&str) -> Option<ContainerKind>,
    ) -> Result<CmkBinding, Error> {
        let vault_uri = e.key_vault_uri.clone().ok_or_else(|| {
            self.fail(format!("{what}.encryption.key_vault_uri"), at, "a customer-managed key needs key_vault_uri")
        })?;
        let key_name = e.key_name.clone().ok_or_else(|| {
            self.fail(format!("{what}.encryption.key_name"), at, "a customer-managed key needs key_name")
        })?;
        let host =
            url::Url::parse(&vault_uri).ok().and_then(|u| u.host_str().map(str::to_string)).ok_or_else(|| {
                self.fail(
                    format!("{what}.encryption.key_vault_uri"),
                    at,
                    format!("'{vault_uri}' is not a URL like https://<vault>.vault.azure.net/"),
                )
            })?;
        let (uri_kind, container) = vault_host_kind(&host).ok_or_else(|| {
            self.fail(
                format!("{what}.encryption.key_vault_uri"),
                at,
                format!("'{host}' is neither a Key Vault (*.vault.*) nor a managed HSM (*.managedhsm.*) host"),
            )
        })?;

        let user_assigned_identity = match &e.user_assigned_identity {
            Some(ua) => {
                if !user_assigned.iter().any(|x| x.eq_ignore_ascii_case(ua)) {
                    return Err(self.fail(
                        format!("{what}.encryption.user_assigned_identity"),
                        at,
                        format!("'{ua}' is not among the account's identity.user_assigned"),
                    ));
                }
                ResourceId::parse(ua)
            }
            None => {
                if !has_system {
                    return Err(self.fail(
                        format!("{what}.encryption"),
                        at,
                        "a customer-managed key needs an identity: give the account a system-assigned identity \
                         or set encryption.user_assigned_identity",
                    ));
                }
                None
            }
        };
        if let Some(f) = &e.federated_identity_client_id {
            self.guid(&format!("{what}.encryption.federated_identity_client_id"), at, f)?;
            if user_assigned_identity.is_none() {
                return Err(self.fail(
                    format!("{what}.encryption.federated_identity_client_id"),
                    at,
                    "a federated client id is only used with a user-assigned identity",
                ));
            }
        }
        let pinned_ref = e.key_version.clone().filter(|v| !v.is_empty());

        let (pinned_version, in_use_version) = if let Some(reason) = &e.external_key {
            if reason.trim().is_empty() {
                return Err(self.fail(
                    format!("{what}.encryption.external_key"),
                    at,
                    "say why the key is outside the scenario, e.g. \"customer vault in the Fabrikam tenant\"",
                ));
            }
            let in_use = match (&pinned_ref, &e.in_use_version) {
                (Some(p), _) => p.clone(),
                (None, Some(u)) => u.clone(),
                (None, None) => {
                    return Err(self.fail(
                        format!("{what}.encryption.in_use_version"),
                        at,
                        "an external key that follows the latest version needs in_use_version (the version id \
                         the account reports as currentVersionedKeyIdentifier)",
                    ));
                }
            };
            (pinned_ref.clone(), in_use)
        } else {
            let kind = container_kind(&container).ok_or_else(|| {
                self.fail(
                    format!("{what}.encryption.key_vault_uri"),
                    at,
                    format!(
                        "vault '{container}' is not in this scenario; add it, or mark the account with \
                         external_key = \"<why>\" if the vault is deliberately out of sight"
                    ),
                )
            })?;
            if kind != uri_kind {
                return Err(self.fail(
                    format!("{what}.encryption.key_vault_uri"),
                    at,
                    format!("'{host}' names a {uri_kind:?} host but '{container}' is a {kind:?}"),
                ));
            }
            let key = keys
                .iter()
                .find(|k| k.container == container && k.name.eq_ignore_ascii_case(&key_name))
                .ok_or_else(|| {
                    self.fail(
                        format!("{what}.encryption.key_name"),
                        at,
                        format!("key '{key_name}' is not in '{container}' (add it under [[keys]])"),
                    )
                })?;
            let pinned = match &pinned_ref {
                Some(p) => Some(key.resolve(p).ok_or_else(|| {
                    self.fail(
                        format!("{what}.encryption.key_version"),
                        at,
                        format!("key '{key_name}' in '{container}' has no version '{p}'"),
                    )
                })?),
                None => None,
            };
            let in_use = match (&pinned, &e.in_use_version) {
                (Some(p), None) => p.clone(),
                (Some(p), Some(u)) => {
                    let u = key.resolve(u).unwrap_or_else(|| u.clone());
                    if !u.eq_ignore_ascii_case(p) {
                        return Err(self.fail(
                            format!("{what}.encryption.in_use_version"),
                            at,
                            "a pinned account always uses its pinned version; drop in_use_version",
                        ));
                    }
                    p.clone()
                }
                (None, Some(u)) => key.resolve(u).ok_or_else(|| {
                    self.fail(
                        format!("{what}.encryption.in_use_version"),
                        at,
                        format!("key '{key_name}' in '{container}' has no version '{u}'"),
                    )
                })?,
                (None, None) => key.latest().map(|v| v.id.clone()).unwrap_or_default(),
            };
            (pinned, in_use)
        };

        Ok(CmkBinding {
            vault_uri,
            container,
            key_name,
            pinned_version,
            in_use_version,
            user_assigned_identity,
            federated_client_id: e.federated_identity_client_id.clone(),
            last_key_rotation: e.last_key_rotation.map(|t| t.0),
            auto_adopt: e.auto_adopt,
            adoption_delay: e.adoption_delay.as_ref().map(|d| d.approx),
            external: e.external_key.clone(),
            pending: None,
        })
    }

    fn role_assignments(
        &self,
        file: &ScenarioFile,
        sub_known: &dyn Fn(&str) -> bool,
        now: OffsetDateTime,
    ) -> Result<Vec<RoleAssignment>, Error> {
        let mut out: Vec<RoleAssignment> = Vec::new();
        for (i, spec) in file.role_assignments.iter().enumerate() {
            let what = format!("role_assignments[{i}]");
            let at = self.entry_line("role_assignments", i);
            let key = scope_key(&spec.scope);
            let sub_ok = key.first().is_some_and(|s| s == "subscriptions") && key.get(1).is_some_and(|s| sub_known(s));
            if !spec.scope.starts_with('/') || !sub_ok {
                return Err(self.fail(
                    format!("{what}.scope"),
                    at,
                    format!("'{}' must start with /subscriptions/<declared subscription>", spec.scope),
                ));
            }
            self.guid(&format!("{what}.role"), at, &spec.role)?;
            self.guid(&format!("{what}.principal_id"), at, &spec.principal_id)?;
            if !["User", "Group", "ServicePrincipal", "ForeignGroup", "Device"].contains(&spec.principal_type.as_str())
            {
                return Err(self.fail(
                    format!("{what}.principal_type"),
                    at,
                    format!("'{}' is not User, Group, ServicePrincipal, ForeignGroup or Device", spec.principal_type),
                ));
            }
            let name = match &spec.name {
                Some(n) => {
                    self.guid(&format!("{what}.name"), at, n)?;
                    n.clone()
                }
                None => material::guid(&format!(
                    "ra/{}/{}/{}",
                    spec.scope.to_ascii_lowercase(),
                    spec.role.to_ascii_lowercase(),
                    spec.principal_id.to_ascii_lowercase()
                )),
            };
            if out.iter().any(|r| r.name.eq_ignore_ascii_case(&name)) {
                return Err(self.fail(&what, at, format!("duplicate role assignment name '{name}'")));
            }
            out.push(RoleAssignment {
                scope: spec.scope.trim_end_matches('/').to_string(),
                scope_key: key,
                role: spec.role.to_ascii_lowercase(),
                principal_id: spec.principal_id.clone(),
                principal_type: spec.principal_type.clone(),
                name,
                created: spec.created.map_or(now - time::Duration::days(120), |t| t.0),
                created_by: spec.created_by.clone(),
                description: spec.description.clone(),
            });
        }
        Ok(out)
    }

    fn hsm_role_assignments(&self, file: &ScenarioFile, hsms: &[ManagedHsm]) -> Result<Vec<HsmRoleAssignment>, Error> {
        let mut out: Vec<HsmRoleAssignment> = Vec::new();
        for (i, spec) in file.hsm_role_assignments.iter().enumerate() {
            let what = format!("hsm_role_assignments[{i}]");
            let at = self.entry_line("hsm_role_assignments", i);
            if !hsms.iter().any(|h| h.id.name.eq_ignore_ascii_case(&spec.hsm)) {
                return Err(self.fail(
                    format!("{what}.hsm"),
                    at,
                    format!("no managed HSM named '{}' in this scenario", spec.hsm),
                ));
            }
            let key = scope_key(&spec.scope);
            let valid = match key.as_slice() {
                [] => true,
                [k] => k == "keys",
                [k, _] => k == "keys",
                _ => false,
            };
            if !valid || !spec.scope.starts_with('/') {
                return Err(self.fail(
                    format!("{what}.scope"),
                    at,
                    format!("'{}' is not a managed HSM scope (/, /keys or /keys/<name>)", spec.scope),
                ));
            }
            self.guid(&format!("{what}.role"), at, &spec.role)?;
            self.guid(&format!("{what}.principal_id"), at, &spec.principal_id)?;
            let name = match &spec.name {
                Some(n) => n.clone(),
                None => material::guid(&format!(
                    "hsmra/{}/{}/{}/{}",
                    spec.hsm.to_ascii_lowercase(),
                    spec.scope.to_ascii_lowercase(),
                    spec.role.to_ascii_lowercase(),
                    spec.principal_id.to_ascii_lowercase()
                )),
            };
            if out.iter().any(|r| r.name.eq_ignore_ascii_case(&name)) {
                return Err(self.fail(&what, at, format!("duplicate role assignment name '{name}'")));
            }
            out.push(HsmRoleAssignment {
                hsm: spec.hsm.to_ascii_lowercase(),
                scope: spec.scope.clone(),
                scope_key: key,
                role: spec.role.to_ascii_lowercase(),
                principal_id: spec.principal_id.clone(),
                name,
            });
        }
        Ok(out)
    }
}
