//! SQL collector: reads `Microsoft.Sql/servers` and `Microsoft.Sql/managedInstances`, each server's
//! encryption protector (`.../encryptionProtector/current`) and its server keys (`.../keys`), and assembles
//! them into one `sql_servers` row and one `cmk_bindings` row (scope `tde_protector`) per server. `wire`
//! mirrors Azure's JSON; `convert` is the pure mapping to rows; `collect` does the requests.

pub mod collect;
pub mod convert;
pub mod wire;

pub use convert::Assembler;

/// Lower-case ARM types whose documents this crate converts (GET bodies, list items, `az sql ... show` output).
pub const HANDLES: &[&str] = &[
    "microsoft.sql/servers",
    "microsoft.sql/managedinstances",
    "microsoft.sql/servers/encryptionprotector",
    "microsoft.sql/managedinstances/encryptionprotector",
    "microsoft.sql/servers/keys",
    "microsoft.sql/managedinstances/keys",
];

/// Why one SQL document (server, managed instance, encryption protector or server key) could not be turned
/// into evidence. The I/O layer turns it into a coverage row for that document; the others are unaffected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The JSON is not shaped like a SQL resource (a value of the wrong JSON type).
    #[error("SQL document {resource}: response does not have the expected shape: {reason}")]
    Shape {
        /// Resource id, or the name when the id is missing.
        resource: String,
        /// What serde found wrong.
        reason: String,
    },
    /// A field without which no row can be written is missing or empty.
    #[error("SQL document {resource}: required field `{field}` is missing or empty")]
    MissingField {
        /// Resource id, or the name when the id is missing.
        resource: String,
        /// JSON path of the field.
        field: &'static str,
    },
    /// The resource id is not an ARM id of the expected form.
    #[error("SQL document {resource}: `id` is not a usable ARM resource id: {reason}")]
    InvalidId {
        /// The id as Azure sent it.
        resource: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The document's `type` (or, without one, the type its id implies) is not one this crate converts.
    #[error("SQL document {resource}: type `{resource_type}` is not one of the SQL types this collector reads")]
    UnsupportedType {
        /// Resource id.
        resource: String,
        /// The type as found.
        resource_type: String,
    },
}
