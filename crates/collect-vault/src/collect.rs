//! The I/O room of the vault phase. Given the keys that phase-1 collectors found in use, it lists the vaults
//! and Managed HSMs of the collected subscriptions, then reads each distinct vault's role assignments and each
//! distinct key's latest version, version list, missing in-use versions and rotation policy exactly once,
//! however many resources use them. Every failed read becomes a coverage row naming the request; nothing
//! already read is dropped.

use std::collections::{BTreeMap, BTreeSet};

use azure_rest::AzureClient;
use collect_common::{ListItem, Listing, failure_row, list_in_subscription, page_items, parse_json, raw, split};
use evidence::ids::normalize_resource_id;
use evidence::vocab::CoverageStatus;
use evidence::{KeyReference, KeyVersionRow, SnapshotContext, Tables, VaultKind, resource_types};
use futures::StreamExt;

use crate::convert::{
    ROLE_ASSIGNMENT_API_VERSION, VAULT_API_VERSION, hsm_role_assignment, key_bundle, key_vault, key_version_item,
    managed_hsm, role_assignment, rotation_policy,
};

/// How many keys (and vaults) are read at once, across all vaults; azure-rest's limiter caps each vault (16 by
/// default) and keeps it within Key Vault's quota.
const CONCURRENCY: usize = 64;

/// The keys phase 1 found in use, deduplicated: one entry per vault host and key name (case-insensitive).
#[derive(Debug, Default, Clone)]
pub struct KeyDemand {
    keys: BTreeMap<(String, String), (KeyReference, BTreeSet<String>)>,
}

impl KeyDemand {
    /// Records that some resource uses `key` (its version, if any, is a version in use).
    pub fn add(&mut self, key: &KeyReference) {
        let entry = self.keys.entry(key.key_join()).or_insert_with(|| (key.unversioned(), BTreeSet::new()));
        if let Some(version) = &key.version {
            entry.1.insert(version.to_ascii_lowercase());
        }
    }

    /// Every distinct key (without version).
    pub fn keys(&self) -> impl Iterator<Item = &KeyReference> {
        self.keys.values().map(|(key, _)| key)
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is in use.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn vault_hosts(&self) -> BTreeMap<String, (VaultKind, String, usize)> {
        let mut hosts: BTreeMap<String, (VaultKind, String, usize)> = BTreeMap::new();
        for (key, _) in self.keys.values() {
            hosts.entry(key.vault_host.clone()).or_insert((key.vault_kind, key.vault_uri.clone(), 0)).2 += 1;
        }
        hosts
    }
}

/// Resource types this collector lists per subscription (ARM spelling).
pub const LISTED: &[&str] = &[resource_types::KEY_VAULT, resource_types::MANAGED_HSM];

/// Lists the vaults and Managed HSMs of one subscription (through `listing`), so the vault phase knows each vault's
/// protection and resource id.
pub async fn collect_subscription(
    client: &AzureClient,
    ctx: &SnapshotContext,
    listing: Listing<'_>,
    subscription_id: &str,
) -> Tables {
    let mut tables = Tables::default();
    for resource_type in LISTED {
        let what = format!("listing {resource_type} of subscription {subscription_id}");
        let items = list_in_subscription(
            client,
            ctx,
            listing,
            subscription_id,
            resource_type,
            VAULT_API_VERSION,
            &what,
            &mut tables,
        )
        .await;
        for ListItem { value: item, sha256: sha, .. } in items {
            let converted = if *resource_type == resource_types::KEY_VAULT {
                key_vault(ctx, &item, &sha).map(|(vault, policies)| {
                    tables.key_vaults.push(vault);
                    tables.vault_access_policies.extend(policies);
                })
            } else {
                managed_hsm(ctx, &item, &sha).map(|hsm| tables.managed_hsms.push(hsm))
            };
            if let Err(e) = converted {
                let id = item.get("id").and_then(|v| v.as_str());
                tables.coverage.push(ctx.coverage(
                    CoverageStatus::Error,
                    resource_type,
                    Some(subscription_id),
                    id,
                    format!("a {resource_type} list item could not be read: {e}"),
                ));
            }
        }
    }
    tables
}

/// Role assignments that apply to one vault (ARM: at, above and below the vault) or HSM (local RBAC).
async fn list_assignments(client: &AzureClient, ctx: &SnapshotContext, target: AssignmentTarget) -> Tables {
    let mut tables = Tables::default();
    let (scope_id, results, url) = match &target {
        AssignmentTarget::Vault { resource_id_original } => {
            let path = format!("{resource_id_original}/providers/Microsoft.Authorization/roleAssignments");
            (
                normalize_resource_id(resource_id_original),
                vec![client.arm_list(&path, ROLE_ASSIGNMENT_API_VERSION).await],
                path,
            )
        }
        AssignmentTarget::Hsm { hsm_uri } => {
            let mut results = Vec::new();
            for scope in ["/", "/keys"] {
                results.push(client.hsm_list_role_assignments(hsm_uri, scope).await);
            }
            (hsm_uri.clone(), results, format!("{hsm_uri}providers/Microsoft.Authorization/roleAssignments"))
        }
    };
    let coverage_id = normalize_resource_id(&scope_id);
    let mut seen = BTreeSet::new();
    for result in results {
        let (pages, failure) = split(result);
        for ListItem { value: item, sha256: sha, .. } in
            page_items(ctx, &pages, resource_types::ROLE_ASSIGNMENTS, None, Some(&coverage_id), &mut tables)
        {
            let row = match &target {
                AssignmentTarget::Vault { .. } => role_assignment(ctx, &scope_id, &item, &sha),
                AssignmentTarget::Hsm { .. } => hsm_role_assignment(ctx, &scope_id, &item, &sha),
            };
            match row {
                Ok(row) => {
                    if seen.insert(row.assignment_id.clone()) {
                        tables.role_assignments.push(row);
                    }
                }
                Err(e) => tables.coverage.push(ctx.coverage(
                    CoverageStatus::Error,
                    resource_types::ROLE_ASSIGNMENTS,
                    None,
                    Some(&coverage_id),
                    format!("a role assignment of {scope_id} could not be read: {e}"),
                )),
            }
        }
        if let Some(error) = failure {
            let what = format!("listing role assignments that apply to {scope_id}");
            tables.coverage.push(failure_row(
                ctx,
                &error,
                resource_types::ROLE_ASSIGNMENTS,
                None,
                Some(&coverage_id),
                &what,
                &url,
            ));
        }
    }
    tables
}

enum AssignmentTarget {
    Vault { resource_id_original: String },
    Hsm { hsm_uri: String },
}

/// What [`read_key`] read of one key.
#[derive(Debug)]
pub struct KeyRead {
    /// The key, without version.
    pub key: KeyReference,
    /// Its rows: `keys`, `key_versions`, `rotation_policies`, coverage and raw responses.
    pub tables: Tables,
    /// Lower-case versions it has rows for.
    pub versions: BTreeSet<String>,
    /// Whether the key itself could be read; without it nothing more is asked of the vault.
    pub reachable: bool,
}

/// Latest version, every version and the rotation policy of one key: what needs no other context, so it can
/// start as soon as the first resource naming the key is found. The versions resources use but the list lacks
/// are read afterwards ([`read_versions_in_use`]).
pub async fn read_key(client: &AzureClient, ctx: &SnapshotContext, key: KeyReference) -> KeyRead {
    let mut tables = Tables::default();
    let key_id = key.key_id();
    let coverage_id = key_id.to_ascii_lowercase();
    let latest = match client.kv_get_key(&key.vault_uri, &key.key_name, None).await {
        Ok(f) => {
            tables.raw_responses.push(raw(ctx, &f));
            let converted = parse_json(ctx, &f, resource_types::KEY, None, Some(&coverage_id), &mut tables)
                .map(|body| key_bundle(ctx, &body, true, &f.sha256));
            match converted {
                Some(Ok((key_row, version_row))) => {
                    tables.keys.push(key_row);
                    Some(version_row)
                }
                Some(Err(e)) => {
                    tables.coverage.push(ctx.coverage(
                        CoverageStatus::Error,
                        resource_types::KEY,
                        None,
                        Some(&coverage_id),
                        format!("key {key_id} could not be read from the vault's answer: {e}"),
                    ));
                    None
                }
                None => None,
            }
        }
        Err(error) => {
            let what = format!("reading key {key_id}");
            tables.coverage.push(failure_row(
                ctx,
                &error,
                resource_types::KEY,
                None,
                Some(&coverage_id),
                &what,
                &key_id,
            ));
            // Without the key itself the rest of its chain cannot be read either; don't spend quota on it.
            return KeyRead { key, tables, versions: BTreeSet::new(), reachable: false };
        }
    };
    let latest_version = latest.as_ref().map(|v| v.version.clone());

    // Every version.
    let (pages, failure) = split(client.kv_list_key_versions(&key.vault_uri, &key.key_name).await);
    let mut versions: BTreeMap<String, KeyVersionRow> = BTreeMap::new();
    for ListItem { value: item, sha256: sha, .. } in
        page_items(ctx, &pages, resource_types::KEY_VERSIONS, None, Some(&coverage_id), &mut tables)
    {
        match key_version_item(ctx, &item, latest_version.as_deref(), &sha) {
            Ok(row) => {
                versions.insert(row.version.to_ascii_lowercase(), row);
            }
            Err(e) => tables.coverage.push(ctx.coverage(
                CoverageStatus::Error,
                resource_types::KEY_VERSIONS,
                None,
                Some(&coverage_id),
                format!("a version item of {key_id} could not be read: {e}"),
            )),
        }
    }
    if let Some(error) = failure {
        let what = format!("listing versions of {key_id}");
        let url = format!("{key_id}/versions");
        tables.coverage.push(failure_row(
            ctx,
            &error,
            resource_types::KEY_VERSIONS,
            None,
            Some(&coverage_id),
            &what,
            &url,
        ));
    }
    if let Some(latest) = latest {
        versions.entry(latest.version.to_ascii_lowercase()).or_insert(latest);
    }

    let seen: BTreeSet<String> = versions.keys().cloned().collect();
    tables.key_versions.extend(versions.into_values());

    // Rotation policy.
    match client.kv_get_rotation_policy(&key.vault_uri, &key.key_name).await {
        Ok(f) => {
            tables.raw_responses.push(raw(ctx, &f));
            if let Some(body) =
                parse_json(ctx, &f, resource_types::ROTATION_POLICY, None, Some(&coverage_id), &mut tables)
            {
                match rotation_policy(ctx, &key, &body, &f.sha256) {
                    Ok(row) => tables.rotation_policies.push(row),
                    Err(e) => tables.coverage.push(ctx.coverage(
                        CoverageStatus::Error,
                        resource_types::ROTATION_POLICY,
                        None,
                        Some(&coverage_id),
                        format!("rotation policy of {key_id} could not be read from the vault's answer: {e}"),
                    )),
                }
            }
        }
        Err(error) => {
            let what = format!("reading the rotation policy of {key_id}");
            let url = format!("{key_id}/rotationpolicy");
            tables.coverage.push(failure_row(
                ctx,
                &error,
                resource_types::ROTATION_POLICY,
                None,
                Some(&coverage_id),
                &what,
                &url,
            ));
        }
    }
    KeyRead { key, tables, versions: seen, reachable: true }
}

/// Reads, one by one, the versions of `key` that resources use (`in_use`, lower case) but its version list did
/// not show (the list failed, or the version is gone): each is a `key_versions` row or a coverage row.
pub async fn read_versions_in_use(
    client: &AzureClient,
    ctx: &SnapshotContext,
    key: &KeyReference,
    missing: &[String],
) -> Tables {
    let mut tables = Tables::default();
    let key_id = key.key_id();
    let coverage_id = key_id.to_ascii_lowercase();
    for version in missing {
        let versioned = key.versioned_key_id(version);
        match client.kv_get_key(&key.vault_uri, &key.key_name, Some(version)).await {
            Ok(f) => {
                tables.raw_responses.push(raw(ctx, &f));
                if let Some(body) =
                    parse_json(ctx, &f, resource_types::KEY_VERSIONS, None, Some(&coverage_id), &mut tables)
                {
                    match key_bundle(ctx, &body, false, &f.sha256) {
                        Ok((_, row)) => tables.key_versions.push(row),
                        Err(e) => tables.coverage.push(ctx.coverage(
                            CoverageStatus::Error,
                            resource_types::KEY_VERSIONS,
                            None,
                            Some(&versioned.to_ascii_lowercase()),
                            format!("key version {versioned} could not be read from the vault's answer: {e}"),
                        )),
                    }
                }
            }
            Err(error) => {
                let what = format!("reading key version {versioned}, which a resource uses");
                let id = versioned.to_ascii_lowercase();
                tables.coverage.push(failure_row(
                    ctx,
                    &error,
                    resource_types::KEY_VERSIONS,
                    None,
                    Some(&id),
                    &what,
                    &versioned,
                ));
            }
        }
    }
    tables
}

/// Vault-phase work that can start before phase 1 has ended, as soon as what it needs is known.
#[derive(Debug, Clone)]
pub enum Prefetch {
    /// A key some resource uses: [`read_key`].
    Key(KeyReference),
    /// The role assignments of a Key Vault in use whose ARM resource was listed.
    VaultAssignments {
        /// The vault URI as [`KeyReference::vault_uri`] spells it.
        vault_uri: String,
        /// The vault's ARM id as listed.
        resource_id_original: String,
    },
}

/// What a [`Prefetch`] read.
#[derive(Debug)]
pub enum Prefetched {
    /// A key's reads.
    Key(KeyRead),
    /// A vault's role assignments (rows, coverage, raw responses).
    VaultAssignments {
        /// The vault URI.
        vault_uri: String,
        /// What was read.
        tables: Tables,
    },
}

/// Runs one [`Prefetch`].
pub async fn prefetch(client: &AzureClient, ctx: &SnapshotContext, work: Prefetch) -> Prefetched {
    match work {
        Prefetch::Key(key) => Prefetched::Key(read_key(client, ctx, key).await),
        Prefetch::VaultAssignments { vault_uri, resource_id_original } => {
            let tables = list_assignments(client, ctx, AssignmentTarget::Vault { resource_id_original }).await;
            Prefetched::VaultAssignments { vault_uri, tables }
        }
    }
}

/// Finishes the vault phase: role assignments of every vault in use not among `prefetched`; every key of
/// `demand` that is not among `prefetched` (the work done while phase 1 was still running) read now; then, for every reachable key, the versions
/// resources use that its version list did not show. `listed` holds the vaults and HSMs [`collect_subscription`]
/// found (its `key_vaults` and `managed_hsms`); a vault in use that is not among them gets a `not_found` coverage
/// row. `on_key_done` is called after each key read here (for progress). Returns the rows of `read` and its own.
pub async fn collect(
    client: &AzureClient,
    ctx: &SnapshotContext,
    listed: &Tables,
    demand: &KeyDemand,
    prefetched: Vec<Prefetched>,
    on_key_done: &(dyn Fn() + Sync),
) -> Tables {
    let mut tables = Tables::default();
    let mut read = Vec::new();
    let mut vaults_read = BTreeSet::new();
    for done in prefetched {
        match done {
            Prefetched::Key(r) => read.push(r),
            Prefetched::VaultAssignments { vault_uri, tables: t } => {
                vaults_read.insert(vault_uri);
                tables.append(t);
            }
        }
    }

    // Vaults in use: found in the lists, or named as missing.
    let mut targets = Vec::new();
    for (host, (kind, vault_uri, key_count)) in demand.vault_hosts() {
        if vaults_read.contains(&vault_uri) {
            continue;
        }
        let found = match kind {
            VaultKind::KeyVault => listed
                .key_vaults
                .iter()
                .find(|v| v.vault_uri == vault_uri)
                .map(|v| AssignmentTarget::Vault { resource_id_original: v.resource_id_original.clone() }),
            VaultKind::ManagedHsm => listed
                .managed_hsms
                .iter()
                .any(|h| h.hsm_uri == vault_uri)
                .then(|| AssignmentTarget::Hsm { hsm_uri: vault_uri.clone() }),
        };
        match found {
            Some(target) => targets.push(target),
            None => {
                let resource_type =
                    if kind == VaultKind::KeyVault { resource_types::KEY_VAULT } else { resource_types::MANAGED_HSM };
                tables.coverage.push(ctx.coverage(
                    CoverageStatus::NotFound,
                    resource_type,
                    None,
                    Some(&vault_uri),
                    format!(
                        "{host} holds {key_count} key(s) in use but is not in any collected subscription \
                         (or its subscription's vault list failed): its protection and role assignments are unknown"
                    ),
                ));
                if kind == VaultKind::ManagedHsm {
                    // HSM local RBAC lives in the data plane and can be read without the ARM resource.
                    targets.push(AssignmentTarget::Hsm { hsm_uri: vault_uri.clone() });
                }
            }
        }
    }
    let assignments = futures::stream::iter(targets)
        .map(|t| list_assignments(client, ctx, t))
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<Tables>>();

    // Keys nobody started yet.
    let started: BTreeSet<(String, String)> = read.iter().map(|r| r.key.key_join()).collect();
    let unread: Vec<KeyReference> =
        demand.keys.iter().filter(|(join, _)| !started.contains(*join)).map(|(_, (key, _))| key.clone()).collect();
    let late = futures::stream::iter(unread)
        .map(|key| async move {
            let r = read_key(client, ctx, key).await;
            on_key_done();
            r
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<KeyRead>>();
    let (assignments, late) = futures::join!(assignments, late);
    for t in assignments {
        tables.append(t);
    }

    // Versions in use that no version list showed.
    let mut gaps = Vec::new();
    for r in read.into_iter().chain(late) {
        let in_use = demand.keys.get(&r.key.key_join()).map(|(_, v)| v);
        let missing: Vec<String> =
            in_use.into_iter().flatten().filter(|v| r.reachable && !r.versions.contains(*v)).cloned().collect();
        if !missing.is_empty() {
            gaps.push((r.key.clone(), missing));
        }
        tables.append(r.tables);
    }
    let versions: Vec<Tables> = futures::stream::iter(&gaps)
        .map(|(key, missing)| read_versions_in_use(client, ctx, key, missing))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for t in versions {
        tables.append(t);
    }
    tables
}
