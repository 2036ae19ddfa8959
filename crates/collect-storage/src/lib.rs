//! Storage account collector: reads `Microsoft.Storage/storageAccounts` and turns each account into a
//! `storage_accounts` row, a `cmk_bindings` row (scope `account`) and, for a customer-managed key, the key
//! reference the vault phase resolves. `wire` mirrors Azure's JSON; `convert` is the pure mapping to rows.

pub mod collect;
pub mod convert;
pub mod wire;

/// Why one storage account could not be turned into evidence rows. The I/O layer turns it into a coverage row
/// for that account; the other accounts of the page are unaffected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The JSON is not shaped like a storage account (a value of the wrong JSON type).
    #[error("storage account {resource}: response does not have the expected shape: {reason}")]
    Shape {
        /// Resource id, or the name when the id is missing.
        resource: String,
        /// What serde found wrong.
        reason: String,
    },
    /// A field without which no row can be written is missing or empty.
    #[error("storage account {resource}: required field `{field}` is missing or empty")]
    MissingField {
        /// Resource id, or the name when the id is missing.
        resource: String,
        /// JSON path of the field.
        field: &'static str,
    },
    /// The resource id is not an ARM id (no `/subscriptions/{id}` segment).
    #[error("storage account {resource}: `id` is not an ARM resource id: {reason}")]
    InvalidId {
        /// The id as Azure sent it.
        resource: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}
