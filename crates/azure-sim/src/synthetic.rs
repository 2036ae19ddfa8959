//! Large generated estates for benchmarks (DESIGN §10: collecting 100k resources / 2k keys under Azure-like
//! latency and throttling). Built directly in memory — no TOML — and deterministic: the same sizes always give
//! the same ids, versions and bindings.

use std::collections::BTreeMap;

use time::Duration;

use crate::material;
use crate::resource_id::{ResourceId, scope_key};
use crate::scenario::{
    CmkBinding, Key, KeyVersion, LifetimeActionSpec, ManagedIdentitySpec, RoleAssignment, RotationPolicySpec, Scenario,
    StorageAccount, StorageSpec, SubscriptionSpec, Vault, VaultSpec,
};
use crate::timestamps::{IsoDuration, Timestamp};

/// Storage accounts per generated subscription.
const ACCOUNTS_PER_SUBSCRIPTION: usize = 5_000;
/// Keys per generated vault.
const KEYS_PER_VAULT: usize = 100;
/// Storage accounts per generated resource group.
const ACCOUNTS_PER_GROUP: usize = 250;

const CRYPTO_SERVICE_ENCRYPTION_USER: &str = "e147488a-f6f5-4113-8e2d-b22465e65bf6";
const READER: &str = "acdd72a7-3bfe-4c85-af40-d4ef0b5d3b1b";
const KEY_VAULT_READER: &str = "21090545-7ca7-4776-b22c-e363652d74d2";

impl Scenario {
    /// A generated estate with the default scenario's tenant, credentials and clock: `storage_accounts`
    /// accounts spread over subscriptions of 5,000, and `keys` keys (three versions each) in vaults of 100.
    /// About 80 % of accounts use a customer-managed key (most follow the latest version, some pin an older
    /// one, a few still lag behind the newest), the rest Microsoft-managed keys; every 50th CMK identity lacks
    /// its crypto role. Pair it with [`Scenario::with_latency_ms`] for Azure-like timing.
    pub fn synthetic(storage_accounts: usize, keys: usize) -> Scenario {
        let base = Scenario::default_scenario();
        let now = base.now;
        let keys = keys.max(1);
        let subscription_count = storage_accounts.div_ceil(ACCOUNTS_PER_SUBSCRIPTION).max(1);
        let vault_count = keys.div_ceil(KEYS_PER_VAULT);

        let subscriptions: Vec<SubscriptionSpec> = (0..subscription_count)
            .map(|i| SubscriptionSpec {
                id: material::guid(&format!("synthetic/subscription/{i}")),
                display_name: format!("Contoso Synthetic {i:03}"),
                state: "Enabled".into(),
                access: Default::default(),
                listed: true,
                quota_id: None,
                tags: BTreeMap::new(),
            })
            .collect();

        let vaults: Vec<Vault> = (0..vault_count)
            .filter_map(|i| {
                let sub = &subscriptions[i % subscription_count].id;
                let raw = format!(
                    "/subscriptions/{sub}/resourceGroups/rg-keys-{:03}/providers/Microsoft.KeyVault/vaults/kv-syn-{i:05}",
                    i % 100
                );
                let id = ResourceId::parse(&raw)?;
                Some(Vault {
                    id,
                    spec: VaultSpec {
                        id: raw,
                        location: "westeurope".into(),
                        sku: "premium".into(),
                        tenant_id: None,
                        soft_delete: Some(true),
                        soft_delete_retention_days: Some(90),
                        // Every 10th vault never had purge protection set: the property is absent.
                        purge_protection: (i % 10 != 0).then_some(true),
                        rbac_authorization: Some(true),
                        public_network_access: Some("Enabled".into()),
                        enabled_for_deployment: None,
                        enabled_for_disk_encryption: None,
                        enabled_for_template_deployment: None,
                        network_acls: None,
                        access_policies: Vec::new(),
                        created: Some(Timestamp(now - Duration::days(800))),
                        created_by: None,
                        tags: BTreeMap::new(),
                        data_plane_access: Default::default(),
                    },
                })
            })
            .collect();

        let policy = RotationPolicySpec {
            expiry_time: Some(iso("P1Y", Duration::days(365))),
            created: Some(Timestamp(now - Duration::days(300))),
            updated: None,
            lifetime_actions: vec![
                LifetimeActionSpec {
                    action: "Rotate".into(),
                    time_after_create: Some(iso("P90D", Duration::days(90))),
                    time_before_expiry: None,
                },
                LifetimeActionSpec {
                    action: "Notify".into(),
                    time_after_create: None,
                    time_before_expiry: Some(iso("P30D", Duration::days(30))),
                },
            ],
        };
        let key_list: Vec<Key> = (0..keys)
            .map(|j| {
                let container = format!("kv-syn-{:05}", j % vault_count.max(1));
                let name = format!("cmk-{j:05}");
                let versions = (0..3i64)
                    .map(|n| {
                        // The newest version of every 20th key is only hours old: adoption still pending.
                        let created = if n == 2 && j % 20 == 0 {
                            now - Duration::hours(3)
                        } else {
                            now - Duration::days(90 * (3 - n))
                        };
                        KeyVersion {
                            id: material::version_id(&format!("synthetic/{container}/{name}/{n}")),
                            created,
                            updated: created,
                            enabled: true,
                            not_before: None,
                            expires: Some(created + Duration::days(365)),
                            tags: None,
                        }
                    })
                    .collect();
                Key {
                    container,
                    name,
                    kty: "RSA-HSM".into(),
                    size: Some(2048),
                    curve: None,
                    key_ops: vec!["wrapKey".into(), "unwrapKey".into()],
                    tags: BTreeMap::new(),
                    versions,
                    rotation_policy: (j % 2 == 0).then(|| policy.clone()),
                }
            })
            .collect();

        let mut role_assignments: Vec<RoleAssignment> = Vec::new();
        let assign = |scope: String, role: &str, principal: &str, out: &mut Vec<RoleAssignment>| {
            out.push(RoleAssignment {
                scope_key: scope_key(&scope),
                name: material::guid(&format!("synthetic/ra/{scope}/{role}/{principal}")),
                scope,
                role: role.into(),
                principal_id: principal.into(),
                principal_type: "ServicePrincipal".into(),
                created: now - Duration::days(400),
                created_by: None,
                description: None,
            });
        };
        for s in &subscriptions {
            for role in [READER, KEY_VAULT_READER] {
                assign(format!("/subscriptions/{}", s.id), role, &base.credentials.object_id, &mut role_assignments);
            }
        }

        let mut accounts = Vec::with_capacity(storage_accounts);
        for i in 0..storage_accounts {
            let sub = &subscriptions[(i / ACCOUNTS_PER_SUBSCRIPTION) % subscription_count].id;
            let raw = format!(
                "/subscriptions/{sub}/resourceGroups/rg-data-{:04}/providers/Microsoft.Storage/storageAccounts/stsyn{i:07}",
                i / ACCOUNTS_PER_GROUP
            );
            let Some(id) = ResourceId::parse(&raw) else {
                continue;
            };
            let principal = material::guid(&format!("synthetic/principal/{i}"));
            let created = now - Duration::days(500);
            let cmk = (i % 5 != 4).then(|| {
                let key = &key_list[i % key_list.len()];
                let pinned = (i % 10 == 3).then(|| key.versions[0].id.clone());
                // Accounts on a key whose newest version is hours old have not adopted it yet.
                let in_use = match (&pinned, key.versions.last()) {
                    (Some(p), _) => p.clone(),
                    (None, Some(latest)) if latest.created > now - Duration::days(1) => key.versions[1].id.clone(),
                    (None, Some(latest)) => latest.id.clone(),
                    (None, None) => String::new(),
                };
                CmkBinding {
                    vault_uri: format!("https://{}.vault.azure.net", key.container),
                    container: key.container.clone(),
                    key_name: key.name.clone(),
                    pinned_version: pinned,
                    in_use_version: in_use,
                    user_assigned_identity: None,
                    federated_client_id: None,
                    last_key_rotation: Some(now - Duration::days(30)),
                    auto_adopt: true,
                    adoption_delay: None,
                    external: None,
                    pending: None,
                }
            });
            if let Some(binding) = &cmk
                && i % 50 != 0
                && let Some(vault) = vaults.iter().find(|v| v.id.name == binding.container)
            {
                assign(vault.id.raw.clone(), CRYPTO_SERVICE_ENCRYPTION_USER, &principal, &mut role_assignments);
            }
            let key_source = if cmk.is_some() { "Microsoft.Keyvault" } else { "Microsoft.Storage" };
            accounts.push(StorageAccount {
                spec: StorageSpec {
                    id: raw,
                    location: "westeurope".into(),
                    kind: "StorageV2".into(),
                    sku: "Standard_ZRS".into(),
                    access_tier: None,
                    created: Timestamp(created),
                    tags: BTreeMap::new(),
                    identity: Some(ManagedIdentitySpec {
                        kind: "SystemAssigned".into(),
                        principal_id: Some(principal),
                        user_assigned: Vec::new(),
                    }),
                    network_default_action: "Allow".into(),
                    public_network_access: None,
                    is_hns_enabled: None,
                    encryption: Default::default(),
                },
                id,
                key_source: key_source.into(),
                require_infrastructure_encryption: None,
                cmk,
            });
        }

        Scenario {
            origin: format!("synthetic:{storage_accounts}x{keys}"),
            description: Some(format!(
                "Generated estate: {storage_accounts} storage accounts, {keys} keys in {vault_count} vaults, \
                 {subscription_count} subscriptions"
            )),
            subscriptions,
            identities: Vec::new(),
            vaults,
            managed_hsms: Vec::new(),
            keys: key_list,
            storage_accounts: accounts,
            role_assignments,
            hsm_role_assignments: Vec::new(),
            other_resources: Vec::new(),
            services: Default::default(),
            raw_resources: Vec::new(),
            faults: Vec::new(),
            drill: Vec::new(),
            ..base
        }
    }

    /// The same scenario with `ms` milliseconds added to every response (network plus service time).
    pub fn with_latency_ms(mut self, ms: u64) -> Scenario {
        self.latency_ms = ms;
        self
    }
}

fn iso(text: &str, approx: Duration) -> IsoDuration {
    IsoDuration { text: text.into(), approx }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_determinism() {
        let a = Scenario::synthetic(12_000, 250);
        assert_eq!(a.storage_accounts.len(), 12_000);
        assert_eq!(a.keys.len(), 250);
        assert_eq!(a.vaults.len(), 3);
        assert_eq!(a.subscriptions.len(), 3);
        let b = Scenario::synthetic(12_000, 250);
        assert_eq!(a.storage_accounts[777].id, b.storage_accounts[777].id);
        assert_eq!(a.keys[5].versions[2].id, b.keys[5].versions[2].id);
        let cmk = a.storage_accounts.iter().filter(|s| s.cmk.is_some()).count();
        assert!(cmk > 9_000 && cmk < 10_000, "{cmk}");
        for account in a.storage_accounts.iter().filter_map(|s| s.cmk.as_ref()) {
            let key = a.key(&account.container, &account.key_name);
            assert!(key.and_then(|k| k.version(&account.in_use_version)).is_some());
        }
    }
}
