//! Disk collector: reads disk encryption sets, managed disks, virtual machines and AKS clusters
//! (`Microsoft.Compute`, `Microsoft.ContainerService`) and turns each into its detail row and `cmk_bindings`
//! rows. Disks, VM disks and AKS node disks hold no key of their own: they name a disk encryption set, and
//! [`link::link_through_encryption_sets`] copies the set's key, rotation state and identity onto them.
//! `wire` mirrors Azure's JSON, `convert` is the pure mapping to rows, `collect` the list calls.
//!
//! ```no_run
//! # fn demo(ctx: &evidence::SnapshotContext, docs: &[(serde_json::Value, String)]) {
//! let mut assembler = collect_disk::Assembler::new(ctx);
//! for (doc, sha256) in docs {
//!     if let Err(e) = assembler.add(doc, sha256) {
//!         eprintln!("{e}");
//!     }
//! }
//! let tables = assembler.finish(); // detail rows + linked cmk_bindings
//! # let _ = tables;
//! # }
//! ```

pub mod collect;
pub mod convert;
pub mod link;
pub mod wire;

use evidence::{SnapshotContext, Tables};

use crate::convert::{AgentPoolEvidence, DocumentKind};

/// Lower-case ARM types whose documents this crate converts (GET bodies, list items, `az ... show` output).
pub const HANDLES: &[&str] = &[
    "microsoft.compute/diskencryptionsets",
    // Microsoft's api-version 2019-07-01 example of a disk encryption set spells the type in the singular.
    "microsoft.compute/diskencryptionset",
    "microsoft.compute/disks",
    "microsoft.compute/virtualmachines",
    "microsoft.containerservice/managedclusters",
    "microsoft.containerservice/managedclusters/agentpools",
];

/// Why one document could not be turned into evidence rows. The I/O layer turns it into a coverage row for
/// that item; the other items of the page are unaffected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The JSON is not shaped like the resource (a value of the wrong JSON type).
    #[error("{kind} {resource}: response does not have the expected shape: {reason}")]
    Shape {
        /// What the document was read as (`disk encryption set`, `managed disk`, ...).
        kind: &'static str,
        /// Resource id, or the name when the id is missing.
        resource: String,
        /// What serde found wrong.
        reason: String,
    },
    /// A field without which no row can be written is missing or empty.
    #[error("{kind} {resource}: required field `{field}` is missing or empty")]
    MissingField {
        /// What the document was read as.
        kind: &'static str,
        /// Resource id, or the name when the id is missing.
        resource: String,
        /// JSON path of the field.
        field: &'static str,
    },
    /// The resource id is not an ARM id of the expected form.
    #[error("{kind} {resource}: `id` is not an ARM resource id: {reason}")]
    InvalidId {
        /// What the document was read as.
        kind: &'static str,
        /// The id as Azure sent it.
        resource: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The document's `type` (or, without one, the type its id implies) is not one of [`HANDLES`].
    #[error("{resource}: resource type {resource_type:?} is not one the disk collector converts")]
    UnsupportedType {
        /// Resource id, or the name when the id is missing.
        resource: String,
        /// The type as found.
        resource_type: String,
    },
}

/// Accumulates converted documents of this crate's types and yields rows. `collect.rs` feeds every item it
/// fetched through it, and `import` feeds files through it, so both give identical rows.
#[derive(Debug)]
pub struct Assembler {
    ctx: SnapshotContext,
    tables: Tables,
    agent_pools: Vec<AgentPoolEvidence>,
}

impl Assembler {
    /// An empty assembler for one snapshot.
    pub fn new(ctx: &SnapshotContext) -> Self {
        Self { ctx: ctx.clone(), tables: Tables::default(), agent_pools: Vec::new() }
    }

    /// Converts one document whose `type` (case-insensitive) is in [`HANDLES`]; a document without `type`
    /// is recognised by its id. `raw_sha256` is the SHA-256 of the response (or file) it came from. Err when
    /// it cannot be read (shape, missing id, unknown type); nothing is added then.
    pub fn add(&mut self, item: &serde_json::Value, raw_sha256: &str) -> Result<(), ConvertError> {
        let t = &mut self.tables;
        match convert::document_kind(item)? {
            DocumentKind::DiskEncryptionSet => {
                let ev = convert::disk_encryption_set(&self.ctx, item, raw_sha256)?;
                t.disk_encryption_sets.push(ev.set);
                t.cmk_bindings.push(ev.binding);
            }
            DocumentKind::Disk => {
                let ev = convert::managed_disk(&self.ctx, item, raw_sha256)?;
                t.managed_disks.push(ev.disk);
                t.cmk_bindings.push(ev.binding);
            }
            DocumentKind::VirtualMachine => {
                let ev = convert::virtual_machine(&self.ctx, item, raw_sha256)?;
                t.virtual_machines.push(ev.vm);
                t.cmk_bindings.extend(ev.bindings);
            }
            DocumentKind::ManagedCluster => {
                let ev = convert::aks_cluster(&self.ctx, item, raw_sha256)?;
                t.aks_clusters.push(ev.cluster);
                t.cmk_bindings.extend(ev.bindings);
            }
            DocumentKind::AgentPool => self.agent_pools.push(convert::agent_pool(item)?),
        }
        Ok(())
    }

    /// All rows: detail tables and `cmk_bindings`, with agent pool documents folded into their clusters' rows
    /// (a pool whose cluster was not added is dropped: the cluster's own row would carry it) and every
    /// binding linked through its disk encryption set.
    pub fn finish(self) -> Tables {
        let Self { mut tables, agent_pools, .. } = self;
        for pool in &agent_pools {
            for cluster in tables.aks_clusters.iter_mut().filter(|c| c.resource_id == pool.cluster_id) {
                convert::fold_agent_pool(cluster, pool);
            }
        }
        link::link_through_encryption_sets(&mut tables);
        tables
    }
}
