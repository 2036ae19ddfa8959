//! Container registry collector: reads `Microsoft.ContainerRegistry/registries` and turns each registry into
//! a `container_registries` row and a `cmk_bindings` row (scope `registry`). `wire` mirrors Azure's JSON;
//! `convert` is the pure mapping to rows; `collect` does the request.

pub mod collect;
pub mod convert;
pub mod wire;

pub use convert::Assembler;

/// Lower-case ARM types whose documents this crate converts (GET bodies, list items, `az acr show` output).
pub const HANDLES: &[&str] = &["microsoft.containerregistry/registries"];

/// Why one registry document could not be turned into evidence rows. The I/O layer turns it into a coverage
/// row for that registry; the other registries of the page are unaffected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The JSON is not shaped like a container registry (a value of the wrong JSON type).
    #[error("container registry {resource}: response does not have the expected shape: {reason}")]
    Shape {
        /// Resource id, or the name when the id is missing.
        resource: String,
        /// What serde found wrong.
        reason: String,
    },
    /// A field without which no row can be written is missing or empty.
    #[error("container registry {resource}: required field `{field}` is missing or empty")]
    MissingField {
        /// Resource id, or the name when the id is missing.
        resource: String,
        /// JSON path of the field.
        field: &'static str,
    },
    /// The resource id is not an ARM id (no `/subscriptions/{id}` segment).
    #[error("container registry {resource}: `id` is not an ARM resource id: {reason}")]
    InvalidId {
        /// The id as Azure sent it.
        resource: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The document's `type` is not a container registry.
    #[error("document {resource}: type `{resource_type}` is not a container registry")]
    UnsupportedType {
        /// Resource id, or the name when the id is missing.
        resource: String,
        /// The type as found.
        resource_type: String,
    },
}
