//! Container collector: Azure Container Instances (`Microsoft.ContainerInstance/containerGroups`, a
//! `container_groups` row and a `cmk_bindings` row of scope `container_group`), and the posture of the services
//! that have no customer-managed key at rest: Container Apps environments (a `not_supported` coverage row; the
//! Key Vault references of their certificates and apps in `key_vault_references`) and App Service / Function
//! apps (`Microsoft.Web/sites`, a `not_supported` coverage row each). `wire` mirrors Azure's JSON, `convert`
//! is the pure mapping to rows ([`Assembler`]), `collect` the list/get calls.

pub mod collect;
pub mod convert;
pub mod wire;

pub use collect::collect_subscription;
pub use convert::Assembler;

/// Lower-case ARM types whose documents this crate converts (GET bodies, list items, `az ... show` output).
/// Container group profiles are templates, not running groups: they are accepted and yield no row.
pub const HANDLES: &[&str] = &[
    "microsoft.containerinstance/containergroups",
    "microsoft.containerinstance/containergroupprofiles",
    "microsoft.app/managedenvironments",
    "microsoft.app/managedenvironments/certificates",
    "microsoft.app/containerapps",
    "microsoft.web/sites",
];

/// Why one document could not be turned into evidence rows. The I/O layer turns it into a coverage row for that
/// item; the other items of the page are unaffected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The JSON is not shaped like the resource (a value of the wrong JSON type).
    #[error("{kind} {resource}: response does not have the expected shape: {reason}")]
    Shape {
        /// What the document was read as (`container group`, `container app`, ...).
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
    /// The resource id is not an ARM id (no `/subscriptions/{id}` segment).
    #[error("{kind} {resource}: `id` is not an ARM resource id: {reason}")]
    InvalidId {
        /// What the document was read as.
        kind: &'static str,
        /// The id as Azure sent it.
        resource: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The document's `type` is missing or not one of [`HANDLES`].
    #[error(
        "{resource}: resource type {resource_type:?} is not one this collector converts (expected one of {HANDLES:?})"
    )]
    UnsupportedType {
        /// Resource id, or the name when the id is missing.
        resource: String,
        /// The `type` as given; empty when the document has none.
        resource_type: String,
    },
}
