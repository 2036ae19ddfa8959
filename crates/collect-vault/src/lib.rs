//! The vault phase: turns Key Vaults, Managed HSMs, keys, key versions, rotation policies and role assignments
//! into evidence rows. `wire` mirrors Azure's JSON (ARM and the Key Vault data plane); `convert` is the pure
//! mapping to rows.

pub mod collect;
pub mod convert;
pub mod wire;

/// Why one vault, HSM, key, policy or role assignment could not be turned into an evidence row. The I/O layer
/// turns it into a coverage row for that item; the rest of the response is unaffected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The JSON is not shaped like the expected object (a value of the wrong JSON type).
    #[error("{what} {resource}: response does not have the expected shape: {reason}")]
    Shape {
        /// What was being read (`key vault`, `key bundle`, `role assignment`, ...).
        what: &'static str,
        /// Resource id, key id or URL of the item, as far as it could be read.
        resource: String,
        /// What serde found wrong.
        reason: String,
    },
    /// A field without which no row can be written is missing or empty.
    #[error("{what} {resource}: required field `{field}` is missing or empty")]
    MissingField {
        /// What was being read.
        what: &'static str,
        /// Resource id, key id or URL of the item, as far as it could be read.
        resource: String,
        /// JSON path of the field.
        field: &'static str,
    },
    /// A field is present but its value cannot be used.
    #[error("{what} {resource}: field `{field}` is invalid: {reason}")]
    InvalidField {
        /// What was being read.
        what: &'static str,
        /// Resource id, key id or URL of the item.
        resource: String,
        /// JSON path of the field.
        field: &'static str,
        /// What is wrong with the value.
        reason: String,
    },
}
