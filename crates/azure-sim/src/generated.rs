//! Large generated estates for benchmarks (DESIGN §10: collecting 100k resources / 2k keys under Azure-like
//! latency and throttling). Built directly in memory — no TOML, no validation pass — and deterministic: the same
//! sizes always give the same ids, versions and bindings. The mix follows what a CMK audit meets in practice
//! (see [`Scenario::generated`]); every reference is to something the estate holds.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use crate::material;
use crate::resource_id::{ResourceId, scope_key};
use crate::scenario::{
    AgentPoolSpec, AksCluster, AksSpec, CmkBinding, ContainerGroup, ContainerGroupSpec, ContainerKind,
    ContainerRegistry, DataDiskSpec, Disk, DiskEncryptionSet, DiskEncryptionSetSpec, DiskSpec, DrillStep, Identity,
    IdentitySpec, Key, KeyBinding, KeyRefSpec, KeyVersion, KmsSpec, LifetimeActionSpec, ManagedIdentitySpec,
    RegistrySpec, RoleAssignment, RotationPolicySpec, Scenario, Services, SqlKind, SqlServer, SqlServerSpec,
    StorageAccount, StorageSpec, SubscriptionSpec, Vault, VaultRef, VaultSpec, VirtualMachine, VirtualMachineSpec,
};
use crate::timestamps::{IsoDuration, Timestamp};

/// Keys per generated vault.
const KEYS_PER_VAULT: usize = 100;
/// Storage accounts per generated resource group.
const ACCOUNTS_PER_GROUP: usize = 250;
/// Regions subscriptions are spread over, round robin.
const REGIONS: &[&str] = &["westeurope", "northeurope", "eastus2"];

const CRYPTO_SERVICE_ENCRYPTION_USER: &str = "e147488a-f6f5-4113-8e2d-b22465e65bf6";
const READER: &str = "acdd72a7-3bfe-4c85-af40-d4ef0b5d3b1b";
const KEY_VAULT_READER: &str = "21090545-7ca7-4776-b22c-e363652d74d2";

/// The size of a generated estate, for [`Scenario::generated`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EstateSize {
    /// Resources that get a binding row in `cmk-evidence`: storage accounts, disk encryption sets, managed
    /// disks, VMs, AKS clusters, SQL servers and managed instances, container registries, container groups.
    /// Vaults and user-assigned identities come on top.
    pub resources: usize,
    /// Keys (three versions each), in vaults of 100.
    pub keys: usize,
    /// Subscriptions the resources are spread over evenly.
    pub subscriptions: usize,
}

/// Share of each resource type in percent (storage accounts take the rest, about 55 %).
struct Mix {
    disks: usize,
    vms: usize,
    des: usize,
    aks: usize,
    sql: usize,
    registries: usize,
    groups: usize,
}

const MIX: Mix = Mix { disks: 25, vms: 6, des: 1, aks: 1, sql: 4, registries: 2, groups: 6 };

/// How many of `total` fall to subscription `s` of `subscriptions` (the first `total % subscriptions` get one
/// more).
fn share(total: usize, s: usize, subscriptions: usize) -> usize {
    total / subscriptions + usize::from(s < total % subscriptions)
}

/// Round-robin over the keys, so every key is used about as often.
struct KeyPool {
    keys: Vec<Key>,
    next: usize,
}

impl KeyPool {
    fn take(&mut self) -> usize {
        let i = self.next % self.keys.len();
        self.next += 1;
        i
    }
}

/// What a resource that follows the latest version has adopted: the newest version, unless it is younger than a
/// day — then the one before it, with the newest pending (Azure adopts within 24 hours).
struct Adoption {
    in_use: String,
    last_rotation: Option<OffsetDateTime>,
    pending: Option<(String, OffsetDateTime)>,
    delay: Option<Duration>,
}

fn adoption(key: &Key, now: OffsetDateTime) -> Adoption {
    let n = key.versions.len();
    match (key.versions.last(), n.checked_sub(2).and_then(|i| key.versions.get(i))) {
        (Some(newest), Some(before)) if newest.created > now - Duration::days(1) => Adoption {
            in_use: before.id.clone(),
            last_rotation: Some(before.created),
            pending: Some((newest.id.clone(), newest.created + Duration::hours(24))),
            delay: Some(Duration::hours(24)),
        },
        (Some(newest), _) => {
            Adoption { in_use: newest.id.clone(), last_rotation: Some(newest.created), pending: None, delay: None }
        }
        (None, _) => Adoption { in_use: String::new(), last_rotation: None, pending: None, delay: None },
    }
}

/// A service resource's binding to `key`: following the latest version, or pinned to the newest one.
fn key_binding(key: &Key, pinned: bool, now: OffsetDateTime) -> (KeyBinding, KeyRefSpec) {
    let newest = key.versions.last().map(|v| v.id.clone()).unwrap_or_default();
    let a = adoption(key, now);
    let (in_use, last, pending, delay) =
        if pinned { (newest.clone(), None, None, None) } else { (a.in_use, a.last_rotation, a.pending, a.delay) };
    let spec = KeyRefSpec {
        vault: key.container.clone(),
        name: key.name.clone(),
        version: pinned.then(|| newest.clone()),
        in_use_version: (!pinned).then(|| in_use.clone()),
        last_key_rotation: last.map(Timestamp),
        auto_adopt: true,
        adoption_delay: delay.map(|d| IsoDuration { text: "PT24H".into(), approx: d }),
        external_key: None,
    };
    let binding = KeyBinding {
        vault: VaultRef { container: key.container.clone(), kind: ContainerKind::Vault, external_uri: None },
        key_name: key.name.clone(),
        follows_latest: !pinned,
        in_use_version: in_use,
        last_key_rotation: last,
        auto_adopt: true,
        adoption_delay: delay,
        external: None,
        pending,
        earlier_versions: Vec::new(),
    };
    (binding, spec)
}

fn system_identity(principal: &str) -> ManagedIdentitySpec {
    ManagedIdentitySpec {
        kind: "SystemAssigned".into(),
        principal_id: Some(principal.to_string()),
        user_assigned: Vec::new(),
    }
}

fn user_identity(id: &str) -> ManagedIdentitySpec {
    ManagedIdentitySpec { kind: "UserAssigned".into(), principal_id: None, user_assigned: vec![id.to_string()] }
}

/// Everything the generator accumulates besides the resources themselves.
struct Builder {
    now: OffsetDateTime,
    pool: KeyPool,
    vault_ids: BTreeMap<String, String>,
    role_assignments: Vec<RoleAssignment>,
    identities: Vec<Identity>,
    /// Identities that reach a key so far; every 50th gets no crypto role.
    cmk_identities: usize,
}

impl Builder {
    fn assign(&mut self, scope: String, role: &str, principal: &str) {
        self.role_assignments.push(RoleAssignment {
            scope_key: scope_key(&scope),
            name: material::guid(&format!("generated/ra/{scope}/{role}/{principal}")),
            scope,
            role: role.into(),
            principal_id: principal.into(),
            principal_type: "ServicePrincipal".into(),
            created: self.now - Duration::days(400),
            created_by: None,
            description: None,
        });
    }

    /// The crypto role an identity needs on the vault of `key` — missing for every 50th identity.
    fn grant_crypto(&mut self, key: usize, principal: &str) {
        self.cmk_identities += 1;
        if self.cmk_identities.is_multiple_of(50) {
            return;
        }
        let container = &self.pool.keys[key].container;
        if let Some(vault) = self.vault_ids.get(container).cloned() {
            self.assign(vault, CRYPTO_SERVICE_ENCRYPTION_USER, principal);
        }
    }

    /// A user-assigned identity in the subscription's identity group.
    fn user_assigned(&mut self, sub: &str, name: &str, location: &str) -> (String, String) {
        let raw = format!(
            "/subscriptions/{sub}/resourceGroups/rg-identity/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
        );
        let principal = material::guid(&format!("generated/principal/{raw}"));
        if let Some(id) = ResourceId::parse(&raw) {
            self.identities.push(Identity {
                id,
                spec: IdentitySpec {
                    id: raw.clone(),
                    principal_id: principal.clone(),
                    client_id: material::guid(&format!("generated/client/{raw}")),
                    location: Some(location.to_string()),
                },
            });
        }
        (raw, principal)
    }
}

fn id(raw: &str) -> Option<ResourceId> {
    ResourceId::parse(raw)
}

impl Scenario {
    /// A generated estate with the default scenario's tenant, credentials and clock, built in memory and the same
    /// for the same sizes. `sizes.resources` resources are spread evenly over `sizes.subscriptions`
    /// subscriptions (three regions, round robin), in this mix: 25 % managed disks (OS and data disks of the VMs,
    /// the rest unattached; about 80 % on a disk encryption set of their subscription), 6 % VMs (an OS and two
    /// data disks each), 1 % disk encryption sets, 1 % AKS clusters (node disks on a set, every other one with a
    /// KMS key), 4 % SQL (every 10th a managed instance with a user-assigned identity), 2 % Premium container
    /// registries, 6 % container groups (every 5th with a key), and the rest — about 55 % — storage accounts.
    /// About 80 % of storage accounts, SQL servers and registries use a customer-managed key, across
    /// `sizes.keys` keys (three versions each) in vaults of 100: every 10th vault without purge protection (the
    /// property absent), every 20th key with a newest version 3 hours old that the resources following it have
    /// not adopted yet, half the keys with a rotation policy. Most resources follow the latest version, some pin
    /// one; every 50th identity that reaches a key lacks its crypto role assignment; the rest of the resources
    /// use Microsoft-managed keys. Vaults and user-assigned identities are extra (see
    /// [`Scenario::resource_counts`]).
    ///
    /// Its drill ([`Scenario::drill`]) rotates about 5 % of the keys and advances the clock 3 hours, so that
    /// `cmk-evidence demo` on it shows a real diff. Pair it with [`Scenario::with_latency`] for Azure-like
    /// timing.
    pub fn generated(sizes: EstateSize) -> Scenario {
        let base = Scenario::default_scenario();
        let now = base.now;
        let subscription_count = sizes.subscriptions.max(1);
        let key_count = sizes.keys.max(1);
        let vault_count = key_count.div_ceil(KEYS_PER_VAULT);

        let subscriptions: Vec<SubscriptionSpec> = (0..subscription_count)
            .map(|i| SubscriptionSpec {
                id: material::guid(&format!("generated/subscription/{i}")),
                display_name: format!("Contoso Generated {i:04}"),
                state: "Enabled".into(),
                access: Default::default(),
                listed: true,
                quota_id: None,
                tags: BTreeMap::new(),
                denied_types: Vec::new(),
            })
            .collect();
        let region = |s: usize| REGIONS[s % REGIONS.len()];

        let vaults: Vec<Vault> = (0..vault_count)
            .filter_map(|v| {
                let s = v % subscription_count;
                let sub = &subscriptions[s].id;
                let raw = format!(
                    "/subscriptions/{sub}/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kv-gen-{v:05}"
                );
                Some(Vault {
                    id: id(&raw)?,
                    spec: VaultSpec {
                        id: raw,
                        location: region(s).into(),
                        sku: "premium".into(),
                        tenant_id: None,
                        soft_delete: Some(true),
                        soft_delete_retention_days: Some(90),
                        // Every 10th vault never had purge protection set: the property is absent.
                        purge_protection: (v % 10 != 0).then_some(true),
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
            expiry_time: Some(IsoDuration { text: "P1Y".into(), approx: Duration::days(365) }),
            created: Some(Timestamp(now - Duration::days(300))),
            updated: None,
            lifetime_actions: vec![
                LifetimeActionSpec {
                    action: "Rotate".into(),
                    time_after_create: Some(IsoDuration { text: "P90D".into(), approx: Duration::days(90) }),
                    time_before_expiry: None,
                },
                LifetimeActionSpec {
                    action: "Notify".into(),
                    time_after_create: None,
                    time_before_expiry: Some(IsoDuration { text: "P30D".into(), approx: Duration::days(30) }),
                },
            ],
        };
        let keys: Vec<Key> = (0..key_count)
            .map(|j| {
                let container = format!("kv-gen-{:05}", j % vault_count);
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
                            id: material::version_id(&format!("generated/{container}/{name}/{n}")),
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

        let mut b = Builder {
            now,
            pool: KeyPool { keys, next: 0 },
            vault_ids: vaults.iter().map(|v| (v.id.name.clone(), v.id.raw.clone())).collect(),
            role_assignments: Vec::new(),
            identities: Vec::new(),
            cmk_identities: 0,
        };
        for s in &subscriptions {
            for role in [READER, KEY_VAULT_READER] {
                b.assign(format!("/subscriptions/{}", s.id), role, &base.credentials.object_id);
            }
        }

        // Per-type totals; storage accounts take what the percentages leave.
        let n = sizes.resources;
        let of = |pct: usize| n * pct / 100;
        let totals = Mix {
            disks: of(MIX.disks),
            vms: of(MIX.vms),
            des: of(MIX.des),
            aks: of(MIX.aks),
            sql: of(MIX.sql),
            registries: of(MIX.registries),
            groups: of(MIX.groups),
        };
        let storage_total =
            n - totals.disks - totals.vms - totals.des - totals.aks - totals.sql - totals.registries - totals.groups;

        let mut storage_accounts = Vec::with_capacity(storage_total);
        let mut services = Services::default();
        for (s, subscription) in subscriptions.iter().enumerate() {
            let sub = subscription.id.as_str();
            let location = region(s);
            let count = |total: usize| share(total, s, subscription_count);

            for a in 0..count(storage_total) {
                let raw = format!(
                    "/subscriptions/{sub}/resourceGroups/rg-data-{:03}/providers/Microsoft.Storage/storageAccounts/st{s:04}n{a:06}",
                    a / ACCOUNTS_PER_GROUP
                );
                let Some(rid) = id(&raw) else { continue };
                let principal = material::guid(&format!("generated/principal/{raw}"));
                let cmk = (a % 5 != 4).then(|| {
                    let k = b.pool.take();
                    let key = &b.pool.keys[k];
                    let pinned = (a % 10 == 3).then(|| key.versions.first().map(|v| v.id.clone()).unwrap_or_default());
                    let follow = adoption(key, now);
                    let binding = CmkBinding {
                        vault_uri: format!("https://{}.vault.azure.net", key.container),
                        container: key.container.clone(),
                        key_name: key.name.clone(),
                        in_use_version: pinned.clone().unwrap_or(follow.in_use),
                        last_key_rotation: if pinned.is_some() { None } else { follow.last_rotation },
                        pending: if pinned.is_some() { None } else { follow.pending },
                        adoption_delay: if pinned.is_some() { None } else { follow.delay },
                        pinned_version: pinned,
                        user_assigned_identity: None,
                        federated_client_id: None,
                        auto_adopt: true,
                        external: None,
                    };
                    (k, binding)
                });
                let cmk = cmk.map(|(k, binding)| {
                    b.grant_crypto(k, &principal);
                    binding
                });
                storage_accounts.push(StorageAccount {
                    spec: StorageSpec {
                        id: raw,
                        location: location.into(),
                        kind: "StorageV2".into(),
                        sku: "Standard_ZRS".into(),
                        access_tier: None,
                        created: Timestamp(now - Duration::days(500)),
                        tags: BTreeMap::new(),
                        identity: Some(system_identity(&principal)),
                        network_default_action: "Allow".into(),
                        public_network_access: None,
                        is_hns_enabled: None,
                        encryption: Default::default(),
                    },
                    id: rid,
                    key_source: if cmk.is_some() { "Microsoft.Keyvault" } else { "Microsoft.Storage" }.into(),
                    require_infrastructure_encryption: None,
                    cmk,
                });
            }

            // Disk encryption sets first: disks and clusters name them.
            let des_here: Vec<String> = (0..count(totals.des))
                .filter_map(|d| {
                    let raw = format!(
                        "/subscriptions/{sub}/resourceGroups/rg-compute/providers/Microsoft.Compute/diskEncryptionSets/des-{s:04}-{d:04}"
                    );
                    let rid = id(&raw)?;
                    let principal = material::guid(&format!("generated/principal/{raw}"));
                    let k = b.pool.take();
                    let pinned = d % 5 == 4;
                    let (key, key_spec) = key_binding(&b.pool.keys[k], pinned, now);
                    b.grant_crypto(k, &principal);
                    services.disk_encryption_sets.push(DiskEncryptionSet {
                        id: rid,
                        spec: DiskEncryptionSetSpec {
                            id: raw.clone(),
                            location: location.into(),
                            tags: BTreeMap::new(),
                            identity: system_identity(&principal),
                            key: key_spec,
                            encryption_type: "EncryptionAtRestWithCustomerKey".into(),
                            rotation_to_latest: (!pinned).then_some(true),
                            federated_client_id: None,
                            auto_key_rotation_error: None,
                        },
                        key,
                        rotation_to_latest: (!pinned).then_some(true),
                    });
                    Some(raw)
                })
                .collect();

            let vms_here = count(totals.vms);
            let disks_here = count(totals.disks);
            let disk_id = |k: usize| {
                format!(
                    "/subscriptions/{sub}/resourceGroups/rg-compute/providers/Microsoft.Compute/disks/disk-{s:04}-{k:05}"
                )
            };
            for k in 0..disks_here {
                let raw = disk_id(k);
                let Some(rid) = id(&raw) else { continue };
                // The first disks are the VMs' OS disks, then two data disks per VM, then unattached ones.
                let os = k < vms_here;
                let des = (!des_here.is_empty() && k % 5 != 4).then(|| des_here[k % des_here.len()].clone());
                let encryption_type =
                    if des.is_some() { "EncryptionAtRestWithCustomerKey" } else { "EncryptionAtRestWithPlatformKey" };
                services.disks.push(Disk {
                    id: rid,
                    spec: DiskSpec {
                        id: raw,
                        location: location.into(),
                        tags: BTreeMap::new(),
                        sku: "Premium_LRS".into(),
                        size_gb: if os { 128 } else { 256 },
                        os_type: os.then(|| "Linux".to_string()),
                        created: Some(Timestamp(now - Duration::days(200))),
                        disk_encryption_set: des,
                        encryption_type: None,
                        azure_disk_encryption: None,
                    },
                    encryption_type: encryption_type.into(),
                    ade: None,
                });
            }
            for v in 0..vms_here {
                let raw = format!(
                    "/subscriptions/{sub}/resourceGroups/rg-compute/providers/Microsoft.Compute/virtualMachines/vm-{s:04}-{v:04}"
                );
                let Some(rid) = id(&raw) else { continue };
                let data_disks = (0..2u32)
                    .map(|lun| (lun, vms_here + 2 * v + lun as usize))
                    .filter(|(_, k)| *k < disks_here)
                    .map(|(lun, k)| DataDiskSpec { lun, disk: disk_id(k) })
                    .collect();
                services.virtual_machines.push(VirtualMachine {
                    id: rid,
                    spec: VirtualMachineSpec {
                        id: raw,
                        location: location.into(),
                        tags: BTreeMap::new(),
                        vm_size: "Standard_D2s_v5".into(),
                        encryption_at_host: None,
                        security_type: None,
                        identity: None,
                        os_disk: disk_id(v),
                        data_disks,
                    },
                });
            }

            for c in 0..count(totals.aks) {
                let raw = format!(
                    "/subscriptions/{sub}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks-{s:04}-{c:03}"
                );
                let Some(rid) = id(&raw) else { continue };
                let principal = material::guid(&format!("generated/principal/{raw}"));
                // AKS KMS always names a version: the newest.
                let kms = (c % 2 == 0).then(|| {
                    let k = b.pool.take();
                    let (binding, spec) = key_binding(&b.pool.keys[k], true, now);
                    (k, binding, spec)
                });
                let (kms_binding, kms_spec) = match kms {
                    Some((k, binding, spec)) => {
                        b.grant_crypto(k, &principal);
                        let kms = KmsSpec {
                            vault: spec.vault,
                            name: spec.name,
                            version: spec.version,
                            network_access: "Public".into(),
                            enabled: true,
                            external_key: None,
                        };
                        (Some(binding), Some(kms))
                    }
                    None => (None, None),
                };
                services.aks_clusters.push(AksCluster {
                    id: rid,
                    spec: AksSpec {
                        id: raw,
                        location: location.into(),
                        tags: BTreeMap::new(),
                        kubernetes_version: "1.33.3".into(),
                        identity: system_identity(&principal),
                        disk_encryption_set: (!des_here.is_empty()).then(|| des_here[c % des_here.len()].clone()),
                        agent_pools: vec![AgentPoolSpec {
                            name: "system".into(),
                            count: 3,
                            vm_size: "Standard_D4s_v5".into(),
                            mode: None,
                            encryption_at_host: None,
                        }],
                        kms: kms_spec,
                    },
                    kms: kms_binding,
                });
            }

            for q in 0..count(totals.sql) {
                let managed_instance = q % 10 == 9;
                let (kind, resource_type, name) = if managed_instance {
                    (SqlKind::ManagedInstance, "managedInstances", format!("sqlmi-{s:04}-{q:04}"))
                } else {
                    (SqlKind::Server, "servers", format!("sql-{s:04}-{q:04}"))
                };
                let raw = format!(
                    "/subscriptions/{sub}/resourceGroups/rg-sql/providers/Microsoft.Sql/{resource_type}/{name}"
                );
                let Some(rid) = id(&raw) else { continue };
                let (identity, primary, principal) = if managed_instance {
                    let (ua, principal) = b.user_assigned(sub, &format!("id-{name}"), location);
                    (user_identity(&ua), Some(ua), principal)
                } else {
                    let principal = material::guid(&format!("generated/principal/{raw}"));
                    (system_identity(&principal), None, principal)
                };
                let protector = (q % 5 != 4).then(|| {
                    let k = b.pool.take();
                    let (binding, spec) = key_binding(&b.pool.keys[k], q % 10 == 3, now);
                    (k, binding, spec)
                });
                let (protector, protector_spec) = match protector {
                    Some((k, binding, spec)) => {
                        b.grant_crypto(k, &principal);
                        (Some(binding), Some(spec))
                    }
                    None => (None, None),
                };
                let created = now - Duration::days(400);
                services.sql_servers.push(SqlServer {
                    id: rid,
                    spec: SqlServerSpec {
                        id: raw,
                        kind,
                        location: location.into(),
                        tags: BTreeMap::new(),
                        identity: Some(identity),
                        primary_user_assigned_identity: primary,
                        protector: protector_spec,
                        public_network_access: None,
                        sku: managed_instance.then(|| "GP_Gen5".to_string()),
                        created: Some(Timestamp(created)),
                    },
                    protector,
                    created,
                });
            }

            for r in 0..count(totals.registries) {
                let name = format!("acr{s:04}n{r:04}");
                let raw = format!(
                    "/subscriptions/{sub}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/{name}"
                );
                let Some(rid) = id(&raw) else { continue };
                // A registry reaches its key with a user-assigned identity, shown as its client id.
                let cmk = (r % 5 != 4).then(|| {
                    let (ua, principal) = b.user_assigned(sub, &format!("id-{name}"), location);
                    let k = b.pool.take();
                    let (binding, spec) = key_binding(&b.pool.keys[k], false, now);
                    b.grant_crypto(k, &principal);
                    (ua, binding, spec)
                });
                let (identity, key_identity, key, key_spec) = match cmk {
                    Some((ua, binding, spec)) => (Some(user_identity(&ua)), Some(ua), Some(binding), Some(spec)),
                    None => (None, None, None, None),
                };
                services.container_registries.push(ContainerRegistry {
                    id: rid,
                    spec: RegistrySpec {
                        id: raw,
                        location: location.into(),
                        tags: BTreeMap::new(),
                        sku: "Premium".into(),
                        identity,
                        key: key_spec,
                        key_identity,
                        admin_user_enabled: Some(false),
                        public_network_access: None,
                        created: Some(Timestamp(now - Duration::days(300))),
                    },
                    key,
                });
            }

            for g in 0..count(totals.groups) {
                let raw = format!(
                    "/subscriptions/{sub}/resourceGroups/rg-aci/providers/Microsoft.ContainerInstance/containerGroups/aci-{s:04}-{g:04}"
                );
                let Some(rid) = id(&raw) else { continue };
                let principal = material::guid(&format!("generated/principal/{raw}"));
                // ACI always names a key version.
                let cmk = (g % 5 == 0).then(|| {
                    let k = b.pool.take();
                    let (binding, spec) = key_binding(&b.pool.keys[k], true, now);
                    (k, binding, spec)
                });
                let (key, key_spec) = match cmk {
                    Some((k, binding, spec)) => {
                        b.grant_crypto(k, &principal);
                        (Some(binding), Some(spec))
                    }
                    None => (None, None),
                };
                services.container_groups.push(ContainerGroup {
                    id: rid,
                    spec: ContainerGroupSpec {
                        id: raw,
                        location: location.into(),
                        tags: BTreeMap::new(),
                        os_type: "Linux".into(),
                        sku: "Standard".into(),
                        identity: Some(system_identity(&principal)),
                        key: key_spec,
                        key_identity: None,
                        containers: Vec::new(),
                    },
                    key,
                });
            }
        }

        // The drill: rotate every 20th key (offset from the ones already waiting for adoption), then let 3 hours
        // pass so that resources following the latest version adopt the new versions.
        let keys = b.pool.keys;
        let mut drill: Vec<DrillStep> = keys
            .iter()
            .enumerate()
            .filter(|(j, _)| j % 20 == 10)
            .map(|(_, k)| DrillStep::RotateKey { vault: k.container.clone(), key: k.name.clone() })
            .collect();
        if drill.is_empty()
            && let Some(k) = keys.first()
        {
            drill.push(DrillStep::RotateKey { vault: k.container.clone(), key: k.name.clone() });
        }
        drill.push(DrillStep::AdvanceClock { by: "PT3H".into() });

        Scenario {
            origin: format!("generated:{}x{}x{}", sizes.resources, key_count, subscription_count),
            description: Some(format!(
                "Generated estate: {} resources, {key_count} keys in {vault_count} vaults, {subscription_count} \
                 subscriptions",
                sizes.resources
            )),
            // Resources adopt a rotated version within the hour (the pending ones above wait their own 24 h).
            adoption_delay: Duration::hours(1),
            subscriptions,
            identities: b.identities,
            vaults,
            managed_hsms: Vec::new(),
            keys,
            storage_accounts,
            role_assignments: b.role_assignments,
            hsm_role_assignments: Vec::new(),
            other_resources: Vec::new(),
            services,
            raw_resources: Vec::new(),
            faults: Vec::new(),
            drill,
            rotations: 0,
            index: None,
            ..base
        }
    }

    /// The generated estate as the earlier benchmark API asked for it: [`Scenario::generated`] with
    /// `storage_accounts` resources (now the whole mix, not storage accounts only), `keys` keys and one
    /// subscription per 5,000 resources.
    pub fn synthetic(storage_accounts: usize, keys: usize) -> Scenario {
        Scenario::generated(EstateSize {
            resources: storage_accounts,
            keys,
            subscriptions: storage_accounts.div_ceil(5_000).max(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_spread_evenly_and_add_up() {
        let total: usize = (0..7).map(|s| share(100, s, 7)).sum();
        assert_eq!(total, 100);
        assert_eq!((share(100, 0, 7), share(100, 1, 7), share(100, 2, 7)), (15, 15, 14));
    }

    #[test]
    fn same_sizes_same_estate() {
        let sizes = EstateSize { resources: 3_000, keys: 250, subscriptions: 7 };
        let a = Scenario::generated(sizes);
        let b = Scenario::generated(sizes);
        assert_eq!(a.storage_accounts[777].id, b.storage_accounts[777].id);
        assert_eq!(a.keys[5].versions[2].id, b.keys[5].versions[2].id);
        assert_eq!(
            a.services.sql_servers[9].protector.as_ref().map(|p| p.in_use_version.clone()),
            b.services.sql_servers[9].protector.as_ref().map(|p| p.in_use_version.clone())
        );
        assert_eq!(a.vaults.len(), 3);
        assert_eq!(a.subscriptions.len(), 7);
        assert_eq!(a.drill.len(), 250 / 20 + 1);
    }

    #[test]
    fn every_binding_names_an_existing_key_version_and_identities_exist() {
        let s = Scenario::generated(EstateSize { resources: 20_000, keys: 400, subscriptions: 40 });
        let exists = |container: &str, key: &str, version: &str| {
            s.key(container, key).and_then(|k| k.version(version)).is_some()
        };
        let mut bindings = 0;
        for account in &s.storage_accounts {
            if let Some(c) = &account.cmk {
                bindings += 1;
                assert!(exists(&c.container, &c.key_name, &c.in_use_version), "{}", account.id.raw);
                if let Some((pending, _)) = &c.pending {
                    assert!(exists(&c.container, &c.key_name, pending));
                }
            }
        }
        for (id, b) in s.services.key_bindings() {
            bindings += 1;
            assert!(exists(&b.vault.container, &b.key_name, &b.in_use_version), "{}", id.raw);
        }
        assert!(bindings > 9_000, "{bindings}");
        for sql in &s.services.sql_servers {
            if let Some(primary) = &sql.spec.primary_user_assigned_identity {
                assert!(s.identity(primary).is_some(), "{primary}");
            }
        }
        for registry in &s.services.container_registries {
            if let Some(ua) = &registry.spec.key_identity {
                assert!(s.identity(ua).is_some(), "{ua}");
            }
        }
        for disk in &s.services.disks {
            if let Some(des) = &disk.spec.disk_encryption_set {
                assert!(s.services.disk_encryption_set(des).is_some(), "{des}");
            }
        }
        // Every 50th identity that reaches a key lacks its crypto role: about 2 %.
        let crypto = s.role_assignments.iter().filter(|r| r.role == CRYPTO_SERVICE_ENCRYPTION_USER).count();
        assert_eq!(crypto, bindings - bindings / 50);
        // The drill rehearses on a copy: every step applies.
        let mut rehearsal = s.clone();
        for step in s.drill() {
            assert!(rehearsal.apply_drill_step(step).is_ok(), "{step}");
        }
        assert_eq!(s.drill().len(), 400 / 20 + 1);
        // ... and changes what resources use: the followers of the rotated keys adopt within the 3 hours.
        let in_use = |s: &Scenario| -> Vec<String> {
            s.storage_accounts
                .iter()
                .filter_map(|a| a.cmk.as_ref().map(|c| c.in_use_version.clone()))
                .chain(s.services.key_bindings().map(|(_, b)| b.in_use_version.clone()))
                .collect()
        };
        let (before, after) = (in_use(&s), in_use(&rehearsal));
        let moved = before.iter().zip(&after).filter(|(a, b)| a != b).count();
        assert!(moved > bindings / 40, "{moved} of {bindings} bindings moved");
    }

    #[test]
    fn tiny_estates_are_consistent() {
        for resources in [0, 1, 7, 40, 101] {
            let s = Scenario::generated(EstateSize { resources, keys: 3, subscriptions: 40 });
            let counted: usize = s
                .resource_counts()
                .iter()
                .filter(|(t, _)| !t.starts_with("microsoft.keyvault/") && !t.starts_with("microsoft.managedidentity/"))
                .map(|(_, n)| n)
                .sum();
            assert_eq!(counted, resources);
            for vm in &s.services.virtual_machines {
                assert!(s.services.disk(&vm.spec.os_disk).is_some_and(|d| d.spec.os_type.is_some()));
            }
        }
    }
}
