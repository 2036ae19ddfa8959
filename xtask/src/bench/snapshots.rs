//! The two snapshots the diff bench compares. BEFORE is `chain_rows`' estate and rows, with the `keys`,
//! `key_versions`, `key_vaults`, `managed_hsms` and `coverage` rows that agree with them. AFTER, three hours
//! later, is derived from BEFORE by deterministic changes, so that every binding class of the `diff` crate occurs
//! with a realistic share: keys rotated (adopted by some resources, pending for others), stalled resources that
//! finally adopt, old versions disabled, keys changed, CMK removed and enabled, crypto roles lost and gained, two
//! vaults' firewalls opened, accounts removed and added, one subscription's storage list denied, accounts that
//! could not be read, key rotation policies that could not be read. Both are written as signed packages with
//! `bundle::PackageWriter`, as `cmk-evidence collect` writes them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use bundle::{CollectionInfo, LocalSigningKey, PackageWriter};
use evidence::tables::coverage::CoverageRow;
use evidence::tables::key_vaults::KeyVaultRow;
use evidence::tables::key_versions::KeyVersionRow;
use evidence::tables::keys::KeyRow;
use evidence::tables::managed_hsms::ManagedHsmRow;
use evidence::{CmkChainRow, Table, Tables, Timestamp};
use sha2::{Digest, Sha256};

use super::chain_rows::{
    self, Estate, SNAPSHOT_ID, TAKEN_AT_SECONDS, Vault, at, chain_row, customer_managed, guid, hex32, recompute_gaps,
    usual_crypto_role, version_enabled,
};

/// AFTER is taken this long after BEFORE.
pub(crate) const AFTER_OFFSET_SECONDS: i64 = 3 * 3_600;
const HOUR: i64 = 3_600;
const CUSTOMER_MANAGED: &str = "customer_managed";
const STORAGE_TYPE: &str = "Microsoft.Storage/storageAccounts";

/// One snapshot: its id, time, collected subscriptions and sorted tables.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) snapshot_id: String,
    pub(crate) taken_at: Timestamp,
    pub(crate) subscriptions: Vec<String>,
    pub(crate) tables: Tables,
}

/// BEFORE and AFTER of one tenant.
#[derive(Debug)]
pub(crate) struct Pair {
    pub(crate) tenant_id: String,
    pub(crate) before: Snapshot,
    pub(crate) after: Snapshot,
}

/// One key's versions and attributes in one snapshot.
#[derive(Debug, Clone)]
struct KeyState {
    /// Oldest first; the last is the latest.
    versions: Vec<String>,
    created: Vec<Timestamp>,
    enabled: Vec<Option<bool>>,
    expires_at: Option<Timestamp>,
    rotation_policy: Option<bool>,
}

impl KeyState {
    fn latest(&self) -> usize {
        self.versions.len() - 1
    }

    fn position(&self, version: &str) -> Option<usize> {
        self.versions.iter().position(|v| v == version)
    }
}

/// The estate plus the state of every key and vault in one snapshot.
#[derive(Debug)]
struct World<'e> {
    estate: &'e Estate,
    keys: Vec<KeyState>,
    vaults: Vec<Vault>,
    /// (vault URI, key name) → key index.
    key_index: HashMap<(String, String), usize>,
    /// Vault URI → vault index.
    vault_index: HashMap<String, usize>,
}

impl<'e> World<'e> {
    fn new(estate: &'e Estate) -> Self {
        let keys = estate
            .keys
            .iter()
            .map(|k| KeyState {
                versions: k.versions.clone(),
                created: (0..k.versions.len()).map(|i| k.created_at(i)).collect(),
                enabled: k.versions.iter().map(|v| version_enabled(v)).collect(),
                expires_at: k.expires_at,
                rotation_policy: k.rotation_policy,
            })
            .collect();
        let key_index = estate
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| ((estate.vaults[k.vault].uri.clone(), k.name.clone()), i))
            .collect();
        let vault_index = estate.vaults.iter().enumerate().map(|(i, v)| (v.uri.clone(), i)).collect();
        Self { estate, keys, vaults: estate.vaults.clone(), key_index, vault_index }
    }

    fn key_of(&self, row: &CmkChainRow) -> Option<usize> {
        if row.key_source.as_deref() != Some(CUSTOMER_MANAGED) {
            return None;
        }
        let (uri, name) = (row.key_vault_uri.as_ref()?, row.key_name.as_ref()?);
        self.key_index.get(&(uri.clone(), name.clone())).copied()
    }

    /// Keys and vaults the rows name.
    fn named(&self, rows: &[CmkChainRow]) -> (BTreeSet<usize>, BTreeSet<usize>) {
        let keys: BTreeSet<usize> = rows.iter().filter_map(|r| self.key_of(r)).collect();
        let vaults = keys.iter().map(|&k| self.estate.keys[k].vault).collect();
        (keys, vaults)
    }
}

fn sha(parts: &[&str]) -> String {
    hex::encode(Sha256::digest(parts.join("|").as_bytes()))
}

/// The subscription id of an ARM id (`/subscriptions/{id}/...`).
fn subscription_of(resource_id: &str) -> String {
    resource_id.split('/').nth(2).unwrap_or_default().to_string()
}

struct CoverageFacts<'a> {
    subscription_id: Option<&'a str>,
    resource_type: &'a str,
    resource_id: Option<String>,
    status: &'a str,
    http_status: i64,
    error_code: &'a str,
    reason: String,
}

fn coverage(tenant_id: &str, snapshot_id: &str, f: CoverageFacts<'_>) -> CoverageRow {
    CoverageRow {
        tenant_id: tenant_id.to_string(),
        snapshot_id: snapshot_id.to_string(),
        subscription_id: f.subscription_id.map(str::to_string),
        resource_type: f.resource_type.to_string(),
        request_url: f
            .resource_id
            .as_ref()
            .map(|id| if id.starts_with('/') { format!("https://management.azure.com{id}") } else { id.clone() }),
        resource_id: f.resource_id,
        status: f.status.to_string(),
        reason: f.reason,
        http_status: Some(f.http_status),
        error_code: Some(f.error_code.to_string()),
    }
}

/// The `keys`, `key_versions`, `key_vaults`, `managed_hsms` rows and the coverage rows of what could not be read,
/// for what `rows` name.
fn key_and_vault_tables(world: &World<'_>, rows: &[CmkChainRow], snapshot_id: &str, tables: &mut Tables) {
    let estate = world.estate;
    let tenant = &estate.tenant_id;
    let (keys, vaults) = world.named(rows);
    for &k in &keys {
        let key = &estate.keys[k];
        let vault = &world.vaults[key.vault];
        let key_id = key.key_id(estate);
        if !key.read {
            tables.coverage.push(coverage(
                tenant,
                snapshot_id,
                CoverageFacts {
                    subscription_id: None,
                    resource_type: "Microsoft.KeyVault/vaults/keys",
                    resource_id: Some(key_id.clone()),
                    status: "denied",
                    http_status: 403,
                    error_code: "Forbidden",
                    reason: format!("GET {key_id} answered 403: the caller may not read the key"),
                },
            ));
            continue;
        }
        let state = &world.keys[k];
        let latest = state.latest();
        if state.rotation_policy.is_none() {
            tables.coverage.push(coverage(
                tenant,
                snapshot_id,
                CoverageFacts {
                    subscription_id: None,
                    resource_type: "Microsoft.KeyVault/vaults/keys/rotationpolicy",
                    resource_id: Some(format!("{key_id}/rotationpolicy")),
                    status: "throttled",
                    http_status: 429,
                    error_code: "Throttled",
                    reason: format!("GET {key_id}/rotationpolicy answered 429 after 5 tries"),
                },
            ));
        }
        let recovery_level = if vault.purge_protection == Some(true) {
            "CustomizedRecoverable+Purgeable"
        } else {
            "Recoverable+Purgeable"
        };
        tables.keys.push(KeyRow {
            tenant_id: tenant.clone(),
            snapshot_id: snapshot_id.to_string(),
            key_vault_uri: vault.uri.clone(),
            vault_kind: vault.kind.to_string(),
            key_name: key.name.clone(),
            key_id: key_id.clone(),
            latest_version: state.versions[latest].clone(),
            key_type: Some(key.key_type.to_string()),
            key_size: key.key_size,
            curve: key.key_type.starts_with("EC").then(|| "P-256".to_string()),
            key_ops: Some(vec!["wrapKey".to_string(), "unwrapKey".to_string()]),
            enabled: state.enabled[latest],
            created_at: Some(state.created[latest]),
            updated_at: Some(state.created[latest]),
            not_before: None,
            expires_at: state.expires_at,
            recovery_level: Some(recovery_level.to_string()),
            recoverable_days: vault.soft_delete_retention_days,
            managed: None,
            raw_response_sha256: sha(&[snapshot_id, &key_id]),
        });
        for (i, version) in state.versions.iter().enumerate() {
            tables.key_versions.push(KeyVersionRow {
                tenant_id: tenant.clone(),
                snapshot_id: snapshot_id.to_string(),
                key_vault_uri: vault.uri.clone(),
                key_name: key.name.clone(),
                key_id: key_id.clone(),
                version: version.clone(),
                enabled: state.enabled[i],
                created_at: Some(state.created[i]),
                updated_at: Some(state.created[i]),
                not_before: None,
                expires_at: state.expires_at,
                recovery_level: Some(recovery_level.to_string()),
                is_latest: i == latest,
                raw_response_sha256: sha(&[snapshot_id, &key_id, "versions"]),
            });
        }
    }
    for &v in &vaults {
        let vault = &world.vaults[v];
        let Some(resource_id) = &vault.resource_id else { continue };
        let subscription_id = subscription_of(resource_id);
        let name = resource_id.rsplit('/').next().unwrap_or_default().to_string();
        if !vault.roles_read {
            tables.coverage.push(coverage(
                tenant,
                snapshot_id,
                CoverageFacts {
                    subscription_id: Some(&subscription_id),
                    resource_type: "Microsoft.Authorization/roleAssignments",
                    resource_id: Some(resource_id.clone()),
                    status: "denied",
                    http_status: 403,
                    error_code: "AuthorizationFailed",
                    reason: format!("listing role assignments at {resource_id} answered 403"),
                },
            ));
        }
        let raw = sha(&[snapshot_id, resource_id]);
        if vault.kind == "managed_hsm" {
            tables.managed_hsms.push(ManagedHsmRow {
                tenant_id: tenant.clone(),
                snapshot_id: snapshot_id.to_string(),
                subscription_id,
                resource_id: resource_id.clone(),
                resource_id_original: resource_id.clone(),
                name,
                location: Some("westeurope".to_string()),
                hsm_uri: vault.uri.clone(),
                sku_name: Some("Standard_B1".to_string()),
                soft_delete_enabled: vault.soft_delete,
                soft_delete_retention_days: vault.soft_delete_retention_days,
                purge_protection_enabled: vault.purge_protection,
                public_network_access: vault.public_network_access.clone(),
                network_default_action: vault.network_default_action.clone(),
                network_bypass: vault.network_bypass.clone(),
                provisioning_state: Some("Succeeded".to_string()),
                raw_response_sha256: raw,
            });
        } else {
            tables.key_vaults.push(KeyVaultRow {
                tenant_id: tenant.clone(),
                snapshot_id: snapshot_id.to_string(),
                subscription_id,
                resource_id: resource_id.clone(),
                resource_id_original: resource_id.clone(),
                name,
                location: Some("westeurope".to_string()),
                vault_uri: vault.uri.clone(),
                sku_name: Some("premium".to_string()),
                soft_delete_enabled: vault.soft_delete,
                soft_delete_retention_days: vault.soft_delete_retention_days,
                purge_protection_enabled: vault.purge_protection,
                rbac_authorization_enabled: vault.rbac_authorization,
                public_network_access: vault.public_network_access.clone(),
                network_default_action: vault.network_default_action.clone(),
                network_bypass: vault.network_bypass.clone(),
                network_ip_rule_count: Some(0),
                network_vnet_rule_count: Some(0),
                access_policy_count: Some(if vault.rbac_authorization == Some(false) { 3 } else { 0 }),
                private_endpoint_count: Some(0),
                raw_response_sha256: raw,
            });
        }
    }
}

/// Makes a customer-managed row Microsoft-managed, as the collector records it.
fn make_microsoft_managed(row: &mut CmkChainRow) {
    let kept = CmkChainRow {
        key_source: Some("microsoft_managed".to_string()),
        chain_status: "microsoft_managed".to_string(),
        chain_gaps: None,
        key_vault_uri: None,
        vault_kind: None,
        key_vault_resource_id: None,
        key_via_resource_id: None,
        key_name: None,
        configured_key_version: None,
        in_use_key_version: None,
        latest_key_version: None,
        in_use_is_latest: None,
        rotation_lag_seconds: None,
        auto_rotation: None,
        key_enabled: None,
        key_expires_at: None,
        key_type: None,
        key_size: None,
        latest_version_created_at: None,
        rotation_policy_present: None,
        vault_soft_delete: None,
        vault_soft_delete_retention_days: None,
        vault_purge_protection: None,
        vault_rbac_authorization: None,
        vault_public_network_access: None,
        vault_network_default_action: None,
        vault_network_bypass: None,
        identity_type: None,
        identity_resource_id: None,
        identity_principal_id: None,
        identity_client_id: None,
        federated_client_id: None,
        identity_has_crypto_role: None,
        crypto_roles: None,
        ..row.clone()
    };
    *row = kept;
}

/// Copies a vault's protection into a row that names it (and was able to read it).
fn set_vault(row: &mut CmkChainRow, vault: &Vault) {
    row.key_vault_uri = Some(vault.uri.clone());
    row.vault_kind = Some(vault.kind.to_string());
    row.key_vault_resource_id = vault.resource_id.clone();
    let collected = vault.resource_id.is_some();
    row.vault_soft_delete = vault.soft_delete.filter(|_| collected);
    row.vault_soft_delete_retention_days = vault.soft_delete_retention_days.filter(|_| collected);
    row.vault_purge_protection = vault.purge_protection.filter(|_| collected);
    row.vault_rbac_authorization = vault.rbac_authorization.filter(|_| collected);
    row.vault_public_network_access = vault.public_network_access.clone().filter(|_| collected);
    row.vault_network_default_action = vault.network_default_action.clone().filter(|_| collected);
    row.vault_network_bypass = vault.network_bypass.clone().filter(|_| collected);
}

/// Points a customer-managed row at another readable key (of a collected vault whose roles were read), using
/// its latest version, pinned if the row was pinned.
fn change_key(row: &mut CmkChainRow, world: &World<'_>, rng: &mut fastrand::Rng) {
    let estate = world.estate;
    let current = world.key_of(row);
    let k = loop {
        let k = rng.usize(..estate.keys.len());
        let key = &estate.keys[k];
        let vault = &world.vaults[key.vault];
        if Some(k) != current && key.read && vault.resource_id.is_some() && vault.roles_read {
            break k;
        }
    };
    let key = &estate.keys[k];
    let vault = &world.vaults[key.vault];
    let state = &world.keys[k];
    let latest = state.versions[state.latest()].clone();
    set_vault(row, vault);
    row.key_name = Some(key.name.clone());
    if row.configured_key_version.is_some() {
        row.configured_key_version = Some(latest.clone());
    }
    row.in_use_key_version = Some(latest.clone());
    row.latest_key_version = Some(latest);
    row.key_type = Some(key.key_type.to_string());
    row.key_size = key.key_size;
    if row.federated_client_id.is_none() {
        row.identity_has_crypto_role = Some(true);
        row.crypto_roles = Some(vec![usual_crypto_role(vault).to_string()]);
    }
}

/// Brings a customer-managed row whose key was read up to date with the key's state in `world` at `taken_at`
/// (seconds): the latest version and its time, whether the version in use is enabled, expiry, rotation policy. A
/// resource that follows the latest version and has not adopted an enabled newer one adopts it with
/// probability `adopt_per_cent`.
fn apply_key_state(
    row: &mut CmkChainRow,
    state: &KeyState,
    taken_at: i64,
    adopt_per_cent: u32,
    rng: &mut fastrand::Rng,
) {
    if row.latest_key_version.is_none() {
        return; // The key could not be read: nothing of its state is known.
    }
    let latest = state.latest();
    let follows = row.configured_key_version.is_none() && row.auto_rotation != Some(false);
    if let Some(in_use) = &row.in_use_key_version
        && *in_use != state.versions[latest]
        && follows
        && state.enabled[latest] != Some(false)
        && rng.u32(..100) < adopt_per_cent
    {
        row.in_use_key_version = Some(state.versions[latest].clone());
    }
    row.latest_key_version = Some(state.versions[latest].clone());
    row.latest_version_created_at = Some(state.created[latest]);
    row.rotation_policy_present = state.rotation_policy;
    match row.in_use_key_version.as_deref().and_then(|v| state.position(v)) {
        Some(v) => {
            row.in_use_is_latest = Some(v == latest);
            row.rotation_lag_seconds = Some(if v == latest { 0 } else { taken_at - state.created[latest].seconds() });
            row.key_enabled = state.enabled[v];
            row.key_expires_at = state.expires_at;
        }
        None => {
            row.in_use_is_latest = None;
            row.rotation_lag_seconds = None;
            row.key_enabled = None;
        }
    }
}

/// Rows of `rows` picked at `count` evenly spaced positions, skipping those `skip` rejects.
fn spaced_picks(rows: &[CmkChainRow], count: usize, skip: impl Fn(&CmkChainRow) -> bool) -> BTreeSet<usize> {
    let mut picks = BTreeSet::new();
    for p in 1..=count {
        let mut i = rows.len() * p / (count + 1);
        while i < rows.len() && (skip(&rows[i]) || picks.contains(&i)) {
            i += 1;
        }
        if i < rows.len() {
            picks.insert(i);
        }
    }
    picks
}

fn finish(mut tables: Tables) -> Tables {
    tables.sort_and_dedup();
    tables
}

/// BEFORE and AFTER for `rows` bindings, deterministic in `seed`.
pub(crate) fn generate_pair(rows: usize, seed: u64) -> Pair {
    let (estate, mut chain) = chain_rows::generate(rows, seed);
    let tenant = estate.tenant_id.clone();
    let before_at = TAKEN_AT_SECONDS;
    let after_at = TAKEN_AT_SECONDS + AFTER_OFFSET_SECONDS;
    let after_id = at(after_at).snapshot_id();
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x0061_6674_6572); // "after"

    // BEFORE. Two keys expire an hour after BEFORE (so they have expired by AFTER): the only change to the
    // generated rows besides sorting.
    let mut before = World::new(&estate);
    let expiring: Vec<usize> = (0..estate.keys.len())
        .filter(|&k| estate.keys[k].read && estate.keys[k].expires_at.is_some())
        .take(2)
        .collect();
    for &k in &expiring {
        before.keys[k].expires_at = Some(at(before_at + HOUR));
    }
    for row in chain.iter_mut() {
        if let Some(k) = before.key_of(row)
            && expiring.contains(&k)
            && row.key_expires_at.is_some()
        {
            row.key_expires_at = before.keys[k].expires_at;
        }
    }
    CmkChainRow::sort(&mut chain);
    let mut before_tables = Tables::default();
    // A child of three accounts (their blob service) could not be read in BEFORE.
    for i in spaced_picks(&chain, 3, |_| false) {
        let row = &chain[i];
        before_tables.coverage.push(coverage(
            &tenant,
            SNAPSHOT_ID,
            CoverageFacts {
                subscription_id: Some(&row.subscription_id),
                resource_type: "Microsoft.Storage/storageAccounts/blobServices",
                resource_id: Some(format!("{}/blobservices/default", row.resource_id)),
                status: "error",
                http_status: 500,
                error_code: "InternalServerError",
                reason: "GET of the blob service answered 500 after 5 tries".to_string(),
            },
        ));
    }
    key_and_vault_tables(&before, &chain, SNAPSHOT_ID, &mut before_tables);

    // AFTER: the estate three hours on.
    let mut after = World::new(&estate);
    after.keys = before.keys.clone();
    for state in after.keys.iter_mut().zip(&estate.keys).filter(|(_, k)| k.read).map(|(s, _)| s) {
        match rng.u32(..1000) {
            // A new version, created two hours before AFTER.
            0..=139 => {
                state.versions.push(hex32(&mut rng));
                state.created.push(at(after_at - 2 * HOUR));
                state.enabled.push(Some(true));
            }
            // Its rotation policy could not be read this time.
            140..=154 => state.rotation_policy = None,
            _ => {}
        }
        // Old versions retired (disabled), whether or not a resource still uses them.
        let latest = state.latest();
        for enabled in &mut state.enabled[..latest] {
            if rng.u32(..100) < 5 {
                *enabled = Some(false);
            }
        }
    }
    // Two vaults' firewalls opened.
    let opened = |v: &Vault, field: &Option<String>, closed: &str| {
        v.kind == "key_vault" && v.resource_id.is_some() && field.as_deref() == Some(closed)
    };
    if let Some(v) = after.vaults.iter().position(|v| opened(v, &v.network_default_action, "Deny")) {
        after.vaults[v].network_default_action = Some("Allow".to_string());
    }
    if let Some(v) = after.vaults.iter().position(|v| opened(v, &v.public_network_access, "Disabled")) {
        after.vaults[v].public_network_access = Some("Enabled".to_string());
    }

    let denied_subscription = estate.subscriptions[3].clone();
    let new_subscription = guid(&mut rng);
    let mut after_tables = Tables::default();
    let unreadable = spaced_picks(&chain, 3, |r| r.subscription_id == denied_subscription);
    let mut after_chain = Vec::with_capacity(chain.len() + chain.len() / 150);
    for (i, before_row) in chain.iter().enumerate() {
        if before_row.subscription_id == denied_subscription {
            continue; // Its storage list was denied.
        }
        if unreadable.contains(&i) {
            after_tables.coverage.push(coverage(
                &tenant,
                &after_id,
                CoverageFacts {
                    subscription_id: Some(&before_row.subscription_id),
                    resource_type: STORAGE_TYPE,
                    resource_id: Some(before_row.resource_id.clone()),
                    status: "error",
                    http_status: 503,
                    error_code: "ServiceUnavailable",
                    reason: "GET of the storage account answered 503 after 5 tries".to_string(),
                },
            ));
            continue;
        }
        let mut row = before_row.clone();
        row.snapshot_id = after_id.clone();
        let draw = rng.u32(..10_000);
        if draw < 50 {
            continue; // Deleted.
        }
        match row.key_source.as_deref() {
            Some(CUSTOMER_MANAGED) => match draw {
                50..=132 => make_microsoft_managed(&mut row),
                133..=215 => change_key(&mut row, &after, &mut rng),
                216..=299 => match row.identity_has_crypto_role {
                    Some(true) => {
                        row.identity_has_crypto_role = Some(false);
                        row.crypto_roles = Some(Vec::new());
                    }
                    Some(false) => {
                        let vault = row.key_vault_uri.as_ref().and_then(|u| after.vault_index.get(u));
                        if let Some(&v) = vault {
                            row.identity_has_crypto_role = Some(true);
                            row.crypto_roles = Some(vec![usual_crypto_role(&after.vaults[v]).to_string()]);
                        }
                    }
                    None => {}
                },
                _ => {}
            },
            Some("microsoft_managed") if (50..182).contains(&draw) => {
                row.chain_status = "complete".to_string();
                customer_managed(&estate, &mut rng, &mut row);
            }
            _ => {}
        }
        after_chain.push(row);
    }
    // New accounts: 0.5 % in the collected subscriptions, 0.1 % in a subscription BEFORE did not collect.
    let added = rows / 200;
    for j in 0..added + rows / 1000 {
        let mut row = chain_row(&estate, &mut rng, rows + j);
        if j >= added {
            row.resource_id = row.resource_id.replacen(&row.subscription_id, &new_subscription, 1);
            row.subscription_id = new_subscription.clone();
        } else if row.subscription_id == denied_subscription {
            continue;
        }
        row.snapshot_id = after_id.clone();
        after_chain.push(row);
    }
    // The keys' and vaults' state of AFTER, in every row that names them.
    for row in after_chain.iter_mut() {
        if let Some(k) = after.key_of(row) {
            apply_key_state(row, &after.keys[k], after_at, 55, &mut rng);
        }
        if row.key_source.as_deref() == Some(CUSTOMER_MANAGED) {
            if row.key_vault_resource_id.is_some()
                && let Some(&v) = row.key_vault_uri.as_ref().and_then(|u| after.vault_index.get(u))
            {
                set_vault(row, &after.vaults[v]);
            }
            recompute_gaps(row);
        }
    }
    CmkChainRow::sort(&mut after_chain);
    after_tables.coverage.push(coverage(
        &tenant,
        &after_id,
        CoverageFacts {
            subscription_id: Some(&denied_subscription),
            resource_type: STORAGE_TYPE,
            resource_id: None,
            status: "denied",
            http_status: 403,
            error_code: "AuthorizationFailed",
            reason: format!("listing storage accounts of subscription {denied_subscription} answered 403"),
        },
    ));
    // Two list gaps that hide no storage account: another type, and a type the tool does not read.
    for (sub, resource_type, status, http, code) in [
        (&estate.subscriptions[1], "Microsoft.Sql/servers", "denied", 403, "AuthorizationFailed"),
        (&estate.subscriptions[0], "Microsoft.Web/sites", "not_supported", 200, "NotSupported"),
    ] {
        after_tables.coverage.push(coverage(
            &tenant,
            &after_id,
            CoverageFacts {
                subscription_id: Some(sub),
                resource_type,
                resource_id: None,
                status,
                http_status: http,
                error_code: code,
                reason: format!("{resource_type} of subscription {sub}: {status}"),
            },
        ));
    }
    key_and_vault_tables(&after, &after_chain, &after_id, &mut after_tables);

    before_tables.cmk_chain = chain;
    after_tables.cmk_chain = after_chain;
    let mut after_subscriptions = estate.subscriptions.clone();
    after_subscriptions.push(new_subscription);
    Pair {
        tenant_id: tenant,
        before: Snapshot {
            snapshot_id: SNAPSHOT_ID.to_string(),
            taken_at: at(before_at),
            subscriptions: estate.subscriptions.clone(),
            tables: finish(before_tables),
        },
        after: Snapshot {
            snapshot_id: after_id,
            taken_at: at(after_at),
            subscriptions: after_subscriptions,
            tables: finish(after_tables),
        },
    }
}

/// Writes `snapshot` as a signed package under `out` (`<out>/<tenant>/<snapshot id>`), as the binary does: every
/// table, the manifest with the collected subscriptions as scopes, the signature. Returns the package directory.
pub(crate) fn write_package(
    out: &Path,
    tenant_id: &str,
    snapshot: &Snapshot,
    key: &LocalSigningKey,
) -> Result<PathBuf> {
    let mut writer = PackageWriter::create(out, tenant_id, &snapshot.snapshot_id)
        .with_context(|| format!("creating the package of {} under {}", snapshot.snapshot_id, out.display()))?;
    writer.write_tables(&snapshot.tables).context("writing the tables")?;
    let mut coverage_summary = BTreeMap::new();
    for row in &snapshot.tables.coverage {
        *coverage_summary.entry(row.status.clone()).or_insert(0u64) += 1;
    }
    let mut scopes: Vec<String> = snapshot.subscriptions.iter().map(|s| format!("/subscriptions/{s}")).collect();
    scopes.sort();
    let time = snapshot.taken_at.to_string();
    let info = CollectionInfo {
        cloud: "AzureCloud".to_string(),
        scopes,
        api_versions: BTreeMap::new(),
        snapshot_time: time.clone(),
        started_at: time.clone(),
        finished_at: time,
        coverage_summary,
    };
    let manifest = writer.write_manifest(info).context("writing the manifest")?;
    writer.write_signature(&key.sign(&manifest).context("signing the manifest")?).context("writing the signature")?;
    Ok(writer.commit().context("committing the package")?.dir)
}
