//! A deterministic synthetic estate for the bench: `cmk_chain` rows shaped like the demo's output (storage
//! accounts in 10 subscriptions, ~2,000 keys in ~200 vaults and HSMs, 32-hex versions, nulls where Azure is
//! silent, broken links named in `chain_gaps`), as many as asked for, the same for the same seed. The estate
//! behind the rows (vaults, keys with every version's creation time and state, identities) is exposed too, so the
//! diff bench can write the `keys`, `key_versions` and vault tables that agree with the rows and derive a later
//! snapshot from them (`snapshots.rs`).

use evidence::{CmkChainRow, Timestamp};

/// The snapshot the rows claim to come from: 2026-11-23T10:15:00Z.
pub(crate) const TAKEN_AT_SECONDS: i64 = 1_795_428_900;
pub(crate) const SNAPSHOT_ID: &str = "20261123T101500Z";
const SUBSCRIPTIONS: usize = 10;
const VAULTS: usize = 200;
const MANAGED_HSMS: usize = 8;
const KEYS_PER_VAULT: usize = 10;
const USER_ASSIGNED_IDENTITIES: usize = 60;

const APPS: [&str; 16] = [
    "billing", "payments", "crm", "ledger", "reports", "datalake", "orders", "hr", "audit", "iot", "search", "media",
    "backup", "logs", "ml", "web",
];
const ENVS: [&str; 4] = ["prod", "dev", "test", "stage"];
const LOCATIONS: [&str; 8] =
    ["westeurope", "northeurope", "eastus", "eastus2", "westus2", "uksouth", "germanywestcentral", "swedencentral"];

const SECONDS_PER_DAY: i64 = 86_400;

#[derive(Debug, Clone)]
pub(crate) struct Vault {
    pub(crate) uri: String,
    pub(crate) kind: &'static str,
    /// `None` when the vault is outside the collected subscriptions (`vault_not_collected`).
    pub(crate) resource_id: Option<String>,
    pub(crate) soft_delete: Option<bool>,
    pub(crate) soft_delete_retention_days: Option<i64>,
    pub(crate) purge_protection: Option<bool>,
    pub(crate) rbac_authorization: Option<bool>,
    pub(crate) public_network_access: Option<String>,
    pub(crate) network_default_action: Option<String>,
    pub(crate) network_bypass: Option<String>,
    /// Whether its role assignments could be read (`role_assignments_not_read` otherwise).
    pub(crate) roles_read: bool,
}

#[derive(Debug)]
pub(crate) struct Key {
    pub(crate) vault: usize,
    pub(crate) name: String,
    /// Oldest first; the last is the latest.
    pub(crate) versions: Vec<String>,
    pub(crate) latest_created_at: Timestamp,
    pub(crate) key_type: &'static str,
    pub(crate) key_size: Option<i64>,
    pub(crate) expires_at: Option<Timestamp>,
    /// `None` when the rotation policy could not be read.
    pub(crate) rotation_policy: Option<bool>,
    /// Whether the data plane could be read at all (`key_not_read` otherwise).
    pub(crate) read: bool,
}

#[derive(Debug)]
pub(crate) struct UserAssignedIdentity {
    pub(crate) resource_id: String,
    pub(crate) principal_id: String,
    pub(crate) client_id: String,
}

#[derive(Debug)]
pub(crate) struct Estate {
    pub(crate) tenant_id: String,
    pub(crate) subscriptions: Vec<String>,
    pub(crate) vaults: Vec<Vault>,
    pub(crate) keys: Vec<Key>,
    pub(crate) identities: Vec<UserAssignedIdentity>,
}

impl Key {
    /// Creation time of version `i` (oldest first): the latest at `latest_created_at`, each older one 30 to 120
    /// days (fixed per vault) before the next, so an older version is always older.
    pub(crate) fn created_at(&self, i: usize) -> Timestamp {
        let newer = i64::try_from(self.versions.len().saturating_sub(1 + i)).unwrap_or(0);
        let spacing_days = 30 + (i64::try_from(self.vault).unwrap_or(0) * 13) % 91;
        at(self.latest_created_at.seconds() - newer * spacing_days * SECONDS_PER_DAY)
    }

    /// Key identifier without version, `https://{host}/keys/{name}`.
    pub(crate) fn key_id(&self, estate: &Estate) -> String {
        format!("{}keys/{}", estate.vaults[self.vault].uri, self.name)
    }
}

/// Whether a version is enabled (`attributes.enabled`), a property of the version itself, so every row using it
/// agrees: 0.5 % disabled, 0.5 % not said, from the version's own digits (no random draw).
pub(crate) fn version_enabled(version: &str) -> Option<bool> {
    match u32::from_str_radix(version.get(..8).unwrap_or("0"), 16).unwrap_or(0) % 1000 {
        0..=4 => Some(false),
        5..=9 => None,
        _ => Some(true),
    }
}

pub(crate) fn guid(rng: &mut fastrand::Rng) -> String {
    let h = format!("{:032x}", rng.u128(..));
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

pub(crate) fn hex32(rng: &mut fastrand::Rng) -> String {
    format!("{:032x}", rng.u128(..))
}

fn hex64(rng: &mut fastrand::Rng) -> String {
    format!("{:032x}{:032x}", rng.u128(..), rng.u128(..))
}

pub(crate) fn at(seconds: i64) -> Timestamp {
    Timestamp::from_micros(seconds * 1_000_000)
}

/// Picks `Some(value)` with probability `p` (in thousandths), `None` otherwise.
fn sometimes<T>(rng: &mut fastrand::Rng, per_mille: u32, value: T) -> Option<T> {
    (rng.u32(..1000) < per_mille).then_some(value)
}

fn estate(rng: &mut fastrand::Rng) -> Estate {
    let tenant_id = guid(rng);
    let subscriptions: Vec<String> = (0..SUBSCRIPTIONS).map(|_| guid(rng)).collect();
    let vaults = (0..VAULTS)
        .map(|i| {
            let sub = &subscriptions[i % SUBSCRIPTIONS];
            let app = APPS[i % APPS.len()];
            let env = ENVS[(i / APPS.len()) % ENVS.len()];
            let hsm = i < MANAGED_HSMS;
            let (uri, kind, provider) = if hsm {
                (format!("https://mhsm-{app}-{env}-{i:03}.managedhsm.azure.net/"), "managed_hsm", "managedhsms")
            } else {
                (format!("https://kv-{app}-{env}-{i:03}.vault.azure.net/"), "key_vault", "vaults")
            };
            let name = uri.trim_start_matches("https://").split('.').next().unwrap_or_default().to_string();
            Vault {
                resource_id: sometimes(
                    rng,
                    970,
                    format!("/subscriptions/{sub}/resourcegroups/rg-keys-{env}/providers/microsoft.keyvault/{provider}/{name}"),
                ),
                uri,
                kind,
                soft_delete: sometimes(rng, 950, true),
                soft_delete_retention_days: Some(if rng.u32(..4) == 0 { rng.i64(7..90) } else { 90 }),
                purge_protection: if rng.u32(..10) < 7 { Some(true) } else { sometimes(rng, 300, false) },
                rbac_authorization: if hsm { Some(true) } else { Some(rng.u32(..5) != 0) },
                public_network_access: {
                    let access = if rng.bool() { "Enabled" } else { "Disabled" };
                    sometimes(rng, 800, access.to_string())
                },
                network_default_action: Some(if rng.u32(..3) == 0 { "Allow" } else { "Deny" }.to_string()),
                network_bypass: Some(if rng.u32(..6) == 0 { "None" } else { "AzureServices" }.to_string()),
                roles_read: rng.u32(..100) < 97,
            }
        })
        .collect::<Vec<_>>();
    let taken_at = TAKEN_AT_SECONDS;
    let keys = (0..VAULTS * KEYS_PER_VAULT)
        .map(|k| {
            let vault = k / KEYS_PER_VAULT;
            let hsm = vault < MANAGED_HSMS;
            let version_count = 1 + rng.usize(..6);
            let (key_type, key_size) = match (hsm, rng.u32(..10)) {
                (true, 0..=7) => ("RSA-HSM", Some(3072)),
                (true, _) => ("EC-HSM", None),
                (false, 0..=5) => ("RSA", Some([2048, 3072, 4096][rng.usize(..3)])),
                (false, 6..=8) => ("RSA-HSM", Some(2048)),
                (false, _) => ("EC", None),
            };
            let latest_created = taken_at - rng.i64(3600..400 * SECONDS_PER_DAY);
            Key {
                vault,
                name: format!("cmk-{}-{:02}", APPS[k % APPS.len()], k % KEYS_PER_VAULT),
                versions: (0..version_count).map(|_| hex32(rng)).collect(),
                latest_created_at: at(latest_created),
                key_type,
                key_size,
                expires_at: sometimes(rng, 500, at(latest_created + 730 * SECONDS_PER_DAY)),
                rotation_policy: {
                    let rotates = rng.u32(..10) < 6;
                    sometimes(rng, 980, rotates)
                },
                read: rng.u32(..1000) < 985,
            }
        })
        .collect();
    let identities = (0..USER_ASSIGNED_IDENTITIES)
        .map(|i| {
            let sub = &subscriptions[i % SUBSCRIPTIONS];
            UserAssignedIdentity {
                resource_id: format!(
                    "/subscriptions/{sub}/resourcegroups/rg-identity/providers/microsoft.managedidentity/userassignedidentities/id-cmk-{}-{i:02}",
                    APPS[i % APPS.len()]
                ),
                principal_id: guid(rng),
                client_id: guid(rng),
            }
        })
        .collect();
    Estate { tenant_id, subscriptions, vaults, keys, identities }
}

/// `rows` `cmk_chain` rows of one synthetic snapshot, deterministic in `seed`, in generation (not sorted) order.
/// About 60 % customer-managed (of which ~8 % incomplete, with the gap named), 38 % Microsoft-managed, 2 % with
/// an unknown key source.
pub(crate) fn generate_cmk_chain(rows: usize, seed: u64) -> Vec<CmkChainRow> {
    generate(rows, seed).1
}

/// The estate and [`generate_cmk_chain`]'s rows.
pub(crate) fn generate(rows: usize, seed: u64) -> (Estate, Vec<CmkChainRow>) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let estate = estate(&mut rng);
    let mut out = Vec::with_capacity(rows);
    for i in 0..rows {
        out.push(chain_row(&estate, &mut rng, i));
    }
    // Collectors emit accounts in listing order, not key order: shuffle so that the sort has real work to do.
    rng.shuffle(&mut out);
    (estate, out)
}

/// The `i`-th storage account of the estate (its name carries `i`, so ids are unique).
pub(crate) fn chain_row(estate: &Estate, rng: &mut fastrand::Rng, i: usize) -> CmkChainRow {
    let sub = &estate.subscriptions[rng.usize(..SUBSCRIPTIONS)];
    let app = APPS[rng.usize(..APPS.len())];
    let env = ENVS[rng.usize(..ENVS.len())];
    let name = format!("st{}{}{i:07}", &app[..app.len().min(8)], &env[..1]);
    let mut row = CmkChainRow {
        tenant_id: estate.tenant_id.clone(),
        snapshot_id: SNAPSHOT_ID.to_string(),
        subscription_id: sub.clone(),
        resource_id: format!(
            "/subscriptions/{sub}/resourcegroups/rg-{app}-{env}-{:02}/providers/microsoft.storage/storageaccounts/{name}",
            rng.u32(..20)
        ),
        resource_type: "Microsoft.Storage/storageAccounts".to_string(),
        resource_name: name,
        location: {
            let location = LOCATIONS[rng.usize(..LOCATIONS.len())];
            sometimes(rng, 999, location.to_string())
        },
        encryption_scope: "account".to_string(),
        key_source: None,
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
        chain_status: "complete".to_string(),
        chain_gaps: None,
        raw_response_sha256: hex64(rng),
    };
    match rng.u32(..1000) {
        0..=599 => customer_managed(estate, rng, &mut row),
        600..=979 => {
            row.key_source = Some("microsoft_managed".to_string());
            row.chain_status = "microsoft_managed".to_string();
        }
        source => {
            row.key_source = (source < 990).then(|| "unrecognized".to_string());
            row.chain_status = "incomplete".to_string();
            row.chain_gaps = Some(vec!["key_source_unknown".to_string()]);
        }
    }
    row
}

/// Fills the chain of a customer-managed account the way `evidence::chain` would have found it.
pub(crate) fn customer_managed(estate: &Estate, rng: &mut fastrand::Rng, row: &mut CmkChainRow) {
    let mut gaps: Vec<&str> = Vec::new();
    let key = &estate.keys[rng.usize(..estate.keys.len())];
    let vault = &estate.vaults[key.vault];
    row.key_source = Some("customer_managed".to_string());
    row.key_vault_uri = Some(vault.uri.clone());
    row.vault_kind = Some(vault.kind.to_string());
    row.key_name = Some(key.name.clone());

    // Configured version (pinned) or follow the latest; the version in use.
    let latest = key.versions.len() - 1;
    let pinned = rng.u32(..4) == 0;
    let in_use = if pinned {
        let v = if rng.u32(..10) < 6 { latest } else { rng.usize(..=latest) };
        row.configured_key_version = Some(key.versions[v].clone());
        Some(v)
    } else {
        match rng.u32(..100) {
            0..=1 => None,
            2..=11 if latest > 0 => Some(latest - 1),
            _ => Some(latest),
        }
    };
    row.in_use_key_version = in_use.map(|v| key.versions[v].clone());
    row.auto_rotation = Some(!pinned);

    match &vault.resource_id {
        Some(id) => {
            row.key_vault_resource_id = Some(id.clone());
            row.vault_soft_delete = vault.soft_delete;
            row.vault_soft_delete_retention_days = vault.soft_delete_retention_days;
            row.vault_purge_protection = vault.purge_protection;
            row.vault_rbac_authorization = vault.rbac_authorization;
            row.vault_public_network_access = vault.public_network_access.clone();
            row.vault_network_default_action = vault.network_default_action.clone();
            row.vault_network_bypass = vault.network_bypass.clone();
        }
        None => gaps.push("vault_not_collected"),
    }

    if key.read {
        row.key_type = Some(key.key_type.to_string());
        row.key_size = key.key_size;
        row.latest_key_version = Some(key.versions[latest].clone());
        row.latest_version_created_at = Some(key.latest_created_at);
        match in_use {
            Some(v) => {
                row.in_use_is_latest = Some(v == latest);
                row.rotation_lag_seconds =
                    Some(if v == latest { 0 } else { TAKEN_AT_SECONDS - key.latest_created_at.seconds() });
                row.key_enabled = version_enabled(&key.versions[v]);
                row.key_expires_at = key.expires_at;
            }
            None => gaps.push("in_use_version_unknown"),
        }
        match key.rotation_policy {
            Some(rotates) => row.rotation_policy_present = Some(rotates),
            None => gaps.push("rotation_policy_not_read"),
        }
    } else {
        gaps.push("key_not_read");
        // The account itself reports the expiry of the version it uses.
        row.key_expires_at = key.expires_at;
    }

    // Identity and its crypto role.
    match rng.u32(..100) {
        0..=64 => {
            row.identity_type = Some("system_assigned".to_string());
            row.identity_principal_id = Some(guid(rng));
        }
        65..=97 => {
            let uai = &estate.identities[rng.usize(..estate.identities.len())];
            row.identity_type = Some("user_assigned".to_string());
            row.identity_resource_id = Some(uai.resource_id.clone());
            row.identity_principal_id = Some(uai.principal_id.clone());
            row.identity_client_id = Some(uai.client_id.clone());
        }
        _ => {
            let uai = &estate.identities[rng.usize(..estate.identities.len())];
            row.identity_type = Some("user_assigned".to_string());
            row.identity_resource_id = Some(uai.resource_id.clone());
            row.identity_client_id = Some(uai.client_id.clone());
            row.federated_client_id = Some(guid(rng));
        }
    }
    if row.federated_client_id.is_some() {
        gaps.push("cross_tenant_identity");
    } else if (vault.resource_id.is_none() && vault.kind == "key_vault") || !vault.roles_read {
        gaps.push("role_assignments_not_read");
    } else {
        let roles: Vec<String> = match (vault.kind, vault.rbac_authorization, rng.u32(..100)) {
            (_, _, 0..=4) => Vec::new(),
            ("managed_hsm", _, _) => vec!["Managed HSM Crypto Service Encryption User".to_string()],
            (_, Some(false), _) => vec!["access policy: get, wrapKey, unwrapKey".to_string()],
            (_, _, 5..=9) => {
                vec!["Key Vault Crypto Officer".to_string(), "Key Vault Crypto Service Encryption User".to_string()]
            }
            _ => vec!["Key Vault Crypto Service Encryption User".to_string()],
        };
        row.identity_has_crypto_role = Some(!roles.is_empty());
        row.crypto_roles = Some(roles);
    }

    if !gaps.is_empty() {
        row.chain_status = "incomplete".to_string();
        row.chain_gaps = Some(gaps.iter().map(|g| g.to_string()).collect());
    }
}

/// The crypto role an identity holds on a key of `vault` when it holds the usual one.
pub(crate) fn usual_crypto_role(vault: &Vault) -> &'static str {
    match (vault.kind, vault.rbac_authorization) {
        ("managed_hsm", _) => "Managed HSM Crypto Service Encryption User",
        (_, Some(false)) => "access policy: get, wrapKey, unwrapKey",
        _ => "Key Vault Crypto Service Encryption User",
    }
}

/// Names the gaps of a customer-managed row again from its values, in [`customer_managed`]'s order, after a
/// change to the row: a null link is a named gap, never a guess.
pub(crate) fn recompute_gaps(row: &mut CmkChainRow) {
    let mut gaps: Vec<&str> = Vec::new();
    if row.key_vault_resource_id.is_none() {
        gaps.push("vault_not_collected");
    }
    if row.latest_key_version.is_some() {
        if row.in_use_key_version.is_none() {
            gaps.push("in_use_version_unknown");
        }
        if row.rotation_policy_present.is_none() {
            gaps.push("rotation_policy_not_read");
        }
    } else {
        gaps.push("key_not_read");
    }
    if row.federated_client_id.is_some() {
        gaps.push("cross_tenant_identity");
    } else if row.crypto_roles.is_none() {
        gaps.push("role_assignments_not_read");
    }
    if gaps.is_empty() {
        row.chain_status = "complete".to_string();
        row.chain_gaps = None;
    } else {
        row.chain_status = "incomplete".to_string();
        row.chain_gaps = Some(gaps.iter().map(|g| g.to_string()).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_rows_and_the_mix_is_realistic() {
        let a = generate_cmk_chain(5_000, 7);
        assert_eq!(a, generate_cmk_chain(5_000, 7));
        let count = |status: &str| a.iter().filter(|r| r.chain_status == status).count();
        assert!(count("complete") > 2_000, "mostly complete CMK chains");
        assert!(count("microsoft_managed") > 1_500);
        assert!(count("incomplete") > 100, "some broken links, each named");
        assert!(a.iter().filter(|r| r.chain_status == "incomplete").all(|r| r.chain_gaps.is_some()));
        let versions = a.iter().filter_map(|r| r.latest_key_version.as_deref());
        assert!(versions.clone().all(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit())));
        let ids: std::collections::BTreeSet<_> = a.iter().map(|r| &r.resource_id).collect();
        assert_eq!(ids.len(), a.len(), "primary key is unique");
        for row in a.iter().filter(|r| r.key_source.as_deref() == Some("customer_managed")) {
            let mut again = row.clone();
            recompute_gaps(&mut again);
            assert_eq!(&again, row, "the gaps follow from the values");
        }
    }
}
