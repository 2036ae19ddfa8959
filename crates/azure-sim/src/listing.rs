//! What ARM can list: every top-level resource of the estate as an [`Item`] (rendered only when it is served),
//! gathered per subscription, resource group and type — and the [`EstateIndex`] a running simulator builds once
//! so that a list, a `GET`, a resource group lookup or a key/identity/disk lookup costs what it returns rather
//! than a scan of the whole estate. The index holds positions into the scenario's lists; it stays valid because
//! nothing a running simulator does adds or removes resources, keys, identities, vaults or subscriptions
//! (run-time controls change versions, bindings, settings, role assignments and the clock only).

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde_json::Value;

use crate::arm_shapes::{self, Cloud};
use crate::resource_id::ResourceId;
use crate::scenario::{
    AksCluster, ContainerApp, ContainerGroup, ContainerRegistry, Disk, DiskEncryptionSet, Identity, ManagedEnvironment,
    ManagedHsm, OtherResource, RawResource, Scenario, SqlServer, StorageAccount, Vault, VirtualMachine, WebApp,
};
use crate::service_shapes;

/// Resource types the scenario models in full (lower case), in the order `GET .../resources` gathers them.
pub(crate) const TYPED: &[&str] = &[
    "microsoft.storage/storageaccounts",
    "microsoft.keyvault/vaults",
    "microsoft.keyvault/managedhsms",
    "microsoft.managedidentity/userassignedidentities",
    "microsoft.compute/diskencryptionsets",
    "microsoft.compute/disks",
    "microsoft.compute/virtualmachines",
    "microsoft.containerservice/managedclusters",
    "microsoft.sql/servers",
    "microsoft.sql/managedinstances",
    "microsoft.containerregistry/registries",
    "microsoft.containerinstance/containergroups",
    "microsoft.app/managedenvironments",
    "microsoft.app/containerapps",
    "microsoft.web/sites",
];

/// A resource the simulator can list, rendered only when it lands on the page being served.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Item<'a> {
    Storage(&'a StorageAccount),
    Vault(&'a Vault),
    Hsm(&'a ManagedHsm),
    Identity(&'a Identity),
    Other(&'a OtherResource),
    Des(&'a DiskEncryptionSet),
    Disk(&'a Disk),
    Vm(&'a VirtualMachine),
    Aks(&'a AksCluster),
    Sql(&'a SqlServer),
    Registry(&'a ContainerRegistry),
    Group(&'a ContainerGroup),
    Environment(&'a ManagedEnvironment),
    App(&'a ContainerApp),
    Web(&'a WebApp),
    Raw(&'a RawResource),
}

impl<'a> Item<'a> {
    /// The parsed id of a typed resource (raw documents have none).
    fn typed_id(self) -> Option<&'a ResourceId> {
        Some(match self {
            Item::Storage(a) => &a.id,
            Item::Vault(v) => &v.id,
            Item::Hsm(h) => &h.id,
            Item::Identity(i) => &i.id,
            Item::Other(r) => &r.id,
            Item::Des(r) => &r.id,
            Item::Disk(r) => &r.id,
            Item::Vm(r) => &r.id,
            Item::Aks(r) => &r.id,
            Item::Sql(r) => &r.id,
            Item::Registry(r) => &r.id,
            Item::Group(r) => &r.id,
            Item::Environment(r) => &r.id,
            Item::App(r) => &r.id,
            Item::Web(r) => &r.id,
            Item::Raw(_) => return None,
        })
    }

    /// Lower-case id: the sort and lookup key.
    pub(crate) fn key(self) -> String {
        match self {
            Item::Raw(r) => r.key.clone(),
            _ => self.typed_id().map(ResourceId::key).unwrap_or_default(),
        }
    }

    pub(crate) fn name(self) -> &'a str {
        match self {
            Item::Raw(r) => r.name(),
            _ => self.typed_id().map_or("", |id| id.name.as_str()),
        }
    }

    /// The subscription id as the resource's id writes it.
    pub(crate) fn subscription(self) -> &'a str {
        match self {
            Item::Raw(r) => &r.subscription,
            _ => self.typed_id().map_or("", |id| id.subscription.as_str()),
        }
    }

    /// `namespace/type` in lower case (raw child documents, never listed at the top, have none).
    pub(crate) fn resource_type(self) -> String {
        match self {
            Item::Raw(r) => r.list_type.clone().unwrap_or_default(),
            _ => self.typed_id().map(|id| id.resource_type.to_ascii_lowercase()).unwrap_or_default(),
        }
    }

    pub(crate) fn resource_group(self) -> Option<&'a str> {
        match self {
            Item::Raw(r) => r.resource_group.as_deref(),
            _ => self.typed_id().map(|id| id.resource_group.as_str()),
        }
    }

    pub(crate) fn location(self) -> &'a str {
        match self {
            Item::Storage(a) => &a.spec.location,
            Item::Vault(v) => &v.spec.location,
            Item::Hsm(h) => &h.spec.location,
            Item::Identity(i) => i.spec.location.as_deref().unwrap_or("westeurope"),
            Item::Other(r) => &r.spec.location,
            Item::Des(r) => &r.spec.location,
            Item::Disk(r) => &r.spec.location,
            Item::Vm(r) => &r.spec.location,
            Item::Aks(r) => &r.spec.location,
            Item::Sql(r) => &r.spec.location,
            Item::Registry(r) => &r.spec.location,
            Item::Group(r) => &r.spec.location,
            Item::Environment(r) => &r.spec.location,
            Item::App(r) => &r.spec.location,
            Item::Web(r) => &r.spec.location,
            Item::Raw(r) => r.location().unwrap_or("global"),
        }
    }

    /// The document ARM's `GET` of this resource answers (lists carry the same documents).
    pub(crate) fn render(self, estate: &Scenario, cloud: Cloud) -> Value {
        match self {
            Item::Storage(a) => arm_shapes::storage_account(estate, a, cloud),
            Item::Vault(v) => arm_shapes::vault(estate, v, cloud),
            Item::Hsm(h) => arm_shapes::managed_hsm(estate, h, cloud),
            Item::Identity(i) => arm_shapes::user_assigned_identity(
                estate,
                &i.id,
                &i.spec.principal_id,
                &i.spec.client_id,
                self.location(),
            ),
            Item::Other(r) => arm_shapes::other_resource(r),
            Item::Des(r) => service_shapes::disk_encryption_set(estate, r, cloud),
            Item::Disk(r) => service_shapes::disk(estate, r, cloud),
            Item::Vm(r) => service_shapes::virtual_machine(estate, r),
            Item::Aks(r) => service_shapes::managed_cluster(estate, r, cloud),
            Item::Sql(r) => service_shapes::sql_server(estate, r, cloud),
            Item::Registry(r) => service_shapes::container_registry(estate, r, cloud),
            Item::Group(r) => service_shapes::container_group(estate, r, cloud),
            Item::Environment(r) => service_shapes::managed_environment(estate, r),
            Item::App(r) => service_shapes::container_app(estate, r, cloud),
            Item::Web(r) => service_shapes::web_app(estate, r, cloud),
            Item::Raw(r) => r.doc.clone(),
        }
    }

    /// The simulated child collection `child` (lower case) of this resource, as `(name, body)`; `None` when the
    /// resource has no such collection simulated.
    pub(crate) fn children(self, estate: &Scenario, cloud: Cloud, child: &str) -> Option<Vec<(String, Value)>> {
        let named = |v: Value| (v["name"].as_str().unwrap_or_default().to_string(), v);
        match (self, child) {
            (Item::Sql(s), "encryptionprotector") => Some(vec![named(service_shapes::sql_protector(s, cloud))]),
            (Item::Sql(s), "keys") => Some(service_shapes::sql_keys(estate, s, cloud).into_iter().map(named).collect()),
            (Item::Environment(e), "certificates") => Some(
                e.spec
                    .certificates
                    .iter()
                    .zip(&e.certificate_refs)
                    .map(|(c, r)| named(service_shapes::environment_certificate(estate, e, c, r.as_ref(), cloud)))
                    .collect(),
            ),
            _ => None,
        }
    }
}

/// Where a listable resource is in the estate: which list, which position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Storage(usize),
    Vault(usize),
    Hsm(usize),
    Identity(usize),
    Other(usize),
    Des(usize),
    Disk(usize),
    Vm(usize),
    Aks(usize),
    Sql(usize),
    Registry(usize),
    Group(usize),
    Environment(usize),
    App(usize),
    Web(usize),
    Raw(usize),
}

impl Slot {
    /// The resource at this slot (`None` only if the estate's lists changed since the index was built, which a
    /// running simulator never does).
    pub(crate) fn item(self, estate: &Scenario) -> Option<Item<'_>> {
        let s = &estate.services;
        Some(match self {
            Slot::Storage(i) => Item::Storage(estate.storage_accounts.get(i)?),
            Slot::Vault(i) => Item::Vault(estate.vaults.get(i)?),
            Slot::Hsm(i) => Item::Hsm(estate.managed_hsms.get(i)?),
            Slot::Identity(i) => Item::Identity(estate.identities.get(i)?),
            Slot::Other(i) => Item::Other(estate.other_resources.get(i)?),
            Slot::Des(i) => Item::Des(s.disk_encryption_sets.get(i)?),
            Slot::Disk(i) => Item::Disk(s.disks.get(i)?),
            Slot::Vm(i) => Item::Vm(s.virtual_machines.get(i)?),
            Slot::Aks(i) => Item::Aks(s.aks_clusters.get(i)?),
            Slot::Sql(i) => Item::Sql(s.sql_servers.get(i)?),
            Slot::Registry(i) => Item::Registry(s.container_registries.get(i)?),
            Slot::Group(i) => Item::Group(s.container_groups.get(i)?),
            Slot::Environment(i) => Item::Environment(s.managed_environments.get(i)?),
            Slot::App(i) => Item::App(s.container_apps.get(i)?),
            Slot::Web(i) => Item::Web(s.web_apps.get(i)?),
            Slot::Raw(i) => Item::Raw(estate.raw_resources.get(i)?),
        })
    }
}

/// Every top-level resource ARM lists, with its slot, in the order `GET .../resources` gathers them: typed
/// ones by [`TYPED`] order, then `[[other_resources]]`, then top-level raw documents.
fn every_slot(estate: &Scenario) -> Vec<(Slot, Item<'_>)> {
    fn each<'a, T>(
        list: &'a [T],
        slot: fn(usize) -> Slot,
        item: fn(&'a T) -> Item<'a>,
    ) -> impl Iterator<Item = (Slot, Item<'a>)> {
        list.iter().enumerate().map(move |(i, r)| (slot(i), item(r)))
    }
    let s = &estate.services;
    let mut out = Vec::new();
    for ty in TYPED {
        match *ty {
            "microsoft.storage/storageaccounts" => {
                out.extend(each(&estate.storage_accounts, Slot::Storage, Item::Storage))
            }
            "microsoft.keyvault/vaults" => out.extend(each(&estate.vaults, Slot::Vault, Item::Vault)),
            "microsoft.keyvault/managedhsms" => out.extend(each(&estate.managed_hsms, Slot::Hsm, Item::Hsm)),
            "microsoft.managedidentity/userassignedidentities" => {
                out.extend(each(&estate.identities, Slot::Identity, Item::Identity))
            }
            "microsoft.compute/diskencryptionsets" => out.extend(each(&s.disk_encryption_sets, Slot::Des, Item::Des)),
            "microsoft.compute/disks" => out.extend(each(&s.disks, Slot::Disk, Item::Disk)),
            "microsoft.compute/virtualmachines" => out.extend(each(&s.virtual_machines, Slot::Vm, Item::Vm)),
            "microsoft.containerservice/managedclusters" => out.extend(each(&s.aks_clusters, Slot::Aks, Item::Aks)),
            "microsoft.sql/servers" | "microsoft.sql/managedinstances" => {
                out.extend(each(&s.sql_servers, Slot::Sql, Item::Sql).filter(|(_, item)| item.resource_type() == *ty))
            }
            "microsoft.containerregistry/registries" => {
                out.extend(each(&s.container_registries, Slot::Registry, Item::Registry))
            }
            "microsoft.containerinstance/containergroups" => {
                out.extend(each(&s.container_groups, Slot::Group, Item::Group))
            }
            "microsoft.app/managedenvironments" => {
                out.extend(each(&s.managed_environments, Slot::Environment, Item::Environment))
            }
            "microsoft.app/containerapps" => out.extend(each(&s.container_apps, Slot::App, Item::App)),
            "microsoft.web/sites" => out.extend(each(&s.web_apps, Slot::Web, Item::Web)),
            _ => {}
        }
    }
    let known = |id: &ResourceId| TYPED.iter().any(|t| id.is_type(t));
    out.extend(each(&estate.other_resources, Slot::Other, Item::Other).filter(|(_, item)| match item {
        Item::Other(r) => !known(&r.id),
        _ => false,
    }));
    out.extend(
        each(&estate.raw_resources, Slot::Raw, Item::Raw)
            .filter(|(_, item)| matches!(item, Item::Raw(r) if r.list_type.is_some())),
    );
    out
}

/// Every top-level resource ARM lists, in the order `GET .../resources` gathers them.
pub(crate) fn every_item(estate: &Scenario) -> impl Iterator<Item = Item<'_>> {
    every_slot(estate).into_iter().map(|(_, item)| item)
}

/// Lookups a running simulator answers from, built once at start (see the module docs for why it stays valid).
pub(crate) struct EstateIndex {
    /// `(subscription, namespace/type)`, lower case → resources in `every_slot` order.
    by_type: HashMap<(String, String), Vec<Slot>>,
    /// Subscription, lower case → every resource in `every_slot` order.
    by_subscription: HashMap<String, Vec<Slot>>,
    /// Lower-case id → resource.
    by_id: HashMap<String, Slot>,
    /// Subscription, lower case → resource groups implied by ids: `(name as first written, location of its first
    /// resource)`, in `every_slot` order.
    groups: HashMap<String, Vec<(String, String)>>,
    /// Every resource, sorted by lower-case id: `(key, subscription lower, type lower, slot)`.
    sorted: Vec<(String, String, String, Slot)>,
    pub(crate) subscriptions: HashMap<String, usize>,
    pub(crate) keys: HashMap<(String, String), usize>,
    pub(crate) vaults: HashMap<String, usize>,
    pub(crate) managed_hsms: HashMap<String, usize>,
    pub(crate) identities: HashMap<String, usize>,
    pub(crate) disks: HashMap<String, usize>,
    pub(crate) managed_environments: HashMap<String, usize>,
    /// Lower-case disk id → the VM attaching it.
    pub(crate) disk_owners: HashMap<String, usize>,
}

impl fmt::Debug for EstateIndex {
    /// Sizes only: the index of a large estate would drown any debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EstateIndex")
            .field("resources", &self.by_id.len())
            .field("subscriptions", &self.subscriptions.len())
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// First position of each lower-cased name, as a linear `find` would return it.
fn positions<'a>(names: impl Iterator<Item = &'a str>) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for (i, name) in names.enumerate() {
        out.entry(name.to_ascii_lowercase()).or_insert(i);
    }
    out
}

impl EstateIndex {
    pub(crate) fn build(estate: &Scenario) -> EstateIndex {
        let mut by_type: HashMap<(String, String), Vec<Slot>> = HashMap::new();
        let mut by_subscription: HashMap<String, Vec<Slot>> = HashMap::new();
        let mut by_id = HashMap::new();
        let mut groups: HashMap<String, Vec<(String, String)>> = HashMap::new();
        let mut group_seen: HashSet<String> = HashSet::new();
        let mut sorted = Vec::new();
        for (slot, item) in every_slot(estate) {
            let sub = item.subscription().to_ascii_lowercase();
            let ty = item.resource_type();
            let key = item.key();
            by_type.entry((sub.clone(), ty.clone())).or_default().push(slot);
            by_subscription.entry(sub.clone()).or_default().push(slot);
            by_id.entry(key.clone()).or_insert(slot);
            if let Some(group) = item.resource_group() {
                let seen = format!("{sub}/{}", group.to_ascii_lowercase());
                if group_seen.insert(seen) {
                    groups.entry(sub.clone()).or_default().push((group.to_string(), item.location().to_string()));
                }
            }
            sorted.push((key, sub, ty, slot));
        }
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let s = &estate.services;
        let mut disk_owners = HashMap::new();
        for (i, vm) in s.virtual_machines.iter().enumerate() {
            for disk in std::iter::once(&vm.spec.os_disk).chain(vm.spec.data_disks.iter().map(|d| &d.disk)) {
                disk_owners.entry(disk.to_ascii_lowercase()).or_insert(i);
            }
        }
        let mut keys = HashMap::new();
        for (i, k) in estate.keys.iter().enumerate() {
            keys.entry((k.container.to_ascii_lowercase(), k.name.to_ascii_lowercase())).or_insert(i);
        }
        EstateIndex {
            by_type,
            by_subscription,
            by_id,
            groups,
            sorted,
            subscriptions: positions(estate.subscriptions.iter().map(|x| x.id.as_str())),
            keys,
            vaults: positions(estate.vaults.iter().map(|v| v.id.name.as_str())),
            managed_hsms: positions(estate.managed_hsms.iter().map(|h| h.id.name.as_str())),
            identities: positions(estate.identities.iter().map(|x| x.id.raw.as_str())),
            disks: positions(s.disks.iter().map(|d| d.id.raw.as_str())),
            managed_environments: positions(s.managed_environments.iter().map(|e| e.id.raw.as_str())),
            disk_owners,
        }
    }

    /// Every resource, sorted by lower-case id: `(key, subscription lower, type lower, slot)`.
    pub(crate) fn sorted(&self) -> &[(String, String, String, Slot)] {
        &self.sorted
    }
}

fn in_scope(item: Item<'_>, sub: &str, rg: Option<&str>) -> bool {
    item.subscription().eq_ignore_ascii_case(sub)
        && rg.is_none_or(|rg| item.resource_group().is_some_and(|g| g.eq_ignore_ascii_case(rg)))
}

fn resolve<'a>(estate: &'a Scenario, slots: Option<&Vec<Slot>>) -> impl Iterator<Item = Item<'a>> {
    slots.into_iter().flatten().filter_map(|slot| slot.item(estate))
}

/// Every resource of the subscription (optionally one resource group): typed, other and raw top-level ones.
pub(crate) fn all_resources<'a>(estate: &'a Scenario, sub: &str, rg: Option<&str>) -> Vec<Item<'a>> {
    match &estate.index {
        Some(index) => resolve(estate, index.by_subscription.get(&sub.to_ascii_lowercase()))
            .filter(|item| in_scope(*item, sub, rg))
            .collect(),
        None => every_item(estate).filter(|item| in_scope(*item, sub, rg)).collect(),
    }
}

/// Resources of one type (`namespace/type`, any case) in the subscription or resource group: typed ones,
/// `[[other_resources]]` and raw documents.
pub(crate) fn of_type<'a>(estate: &'a Scenario, sub: &str, rg: Option<&str>, ty: &str) -> Vec<Item<'a>> {
    let ty = ty.to_ascii_lowercase();
    match &estate.index {
        Some(index) => resolve(estate, index.by_type.get(&(sub.to_ascii_lowercase(), ty)))
            .filter(|item| in_scope(*item, sub, rg))
            .collect(),
        None => every_item(estate).filter(|item| item.resource_type() == ty && in_scope(*item, sub, rg)).collect(),
    }
}

/// One resource by subscription, group, type and name.
pub(crate) fn find<'a>(estate: &'a Scenario, sub: &str, rg: &str, ty: &str, name: &str) -> Option<Item<'a>> {
    match &estate.index {
        Some(index) => {
            let key = format!("/subscriptions/{sub}/resourcegroups/{rg}/providers/{ty}/{name}").to_ascii_lowercase();
            index.by_id.get(&key).and_then(|slot| slot.item(estate))
        }
        None => of_type(estate, sub, Some(rg), ty).into_iter().find(|item| item.name().eq_ignore_ascii_case(name)),
    }
}

/// Resource groups implied by resource ids: `(name as first written, location of its first resource)`.
pub(crate) fn resource_groups(estate: &Scenario, sub: &str) -> Vec<(String, String)> {
    if let Some(index) = &estate.index {
        return index.groups.get(&sub.to_ascii_lowercase()).cloned().unwrap_or_default();
    }
    let mut groups: Vec<(String, String)> = Vec::new();
    for item in all_resources(estate, sub, None) {
        let Some(group) = item.resource_group() else { continue };
        if !groups.iter().any(|(g, _)| g.eq_ignore_ascii_case(group)) {
            groups.push((group.to_string(), item.location().to_string()));
        }
    }
    groups
}

pub(crate) fn find_group(estate: &Scenario, sub: &str, rg: &str) -> Option<(String, String)> {
    if let Some(index) = &estate.index {
        return index.groups.get(&sub.to_ascii_lowercase())?.iter().find(|(g, _)| g.eq_ignore_ascii_case(rg)).cloned();
    }
    resource_groups(estate, sub).into_iter().find(|(g, _)| g.eq_ignore_ascii_case(rg))
}
