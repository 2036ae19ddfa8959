//! The `Table` trait every evidence table implements, and the `evidence_table!` macro that declares a table's
//! row type, Arrow schema (with one description per column) and primary key in one place.

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, SchemaRef};

/// One evidence table: a row type with a fixed Arrow schema.
pub trait Table: Sized + Ord + Send + Sync {
    /// File stem of the table inside a package (`tables/<NAME>.parquet`).
    const NAME: &'static str;
    /// Bumped on every change of the table's schema; written to the package manifest.
    const SCHEMA_VERSION: u32;
    /// One sentence on what the table holds, for docs and the manifest.
    fn description() -> &'static str;
    /// The Arrow schema; each field carries its description in the `description` metadata key.
    fn schema() -> SchemaRef;
    /// Builds one record batch from rows, in the given order.
    fn to_batch(rows: &[Self]) -> Result<RecordBatch, ArrowError>;
    /// Sorts rows by primary key, then by every other column, so that output is deterministic whatever order
    /// the collectors produced the rows in.
    fn sort(rows: &mut [Self]);
    /// Reads rows back from a record batch with this table's columns (found by name; extra columns are
    /// ignored). Fails, naming the column, when one is missing or has another type.
    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, ArrowError>;
}

/// Declares an evidence table. Doc comments on the struct and on each field become the table and column
/// descriptions stored in the Arrow schema.
macro_rules! evidence_table {
    (
        $(#[doc = $tdoc:literal])*
        table $row:ident = $name:literal, version $ver:literal, key($($key:ident),+) {
            $( $(#[doc = $cdoc:literal])+ $field:ident : $ty:ty, )+
        }
    ) => {
        $(#[doc = $tdoc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
        pub struct $row {
            $( $(#[doc = $cdoc])+ pub $field: $ty, )+
        }

        impl $crate::Table for $row {
            const NAME: &'static str = $name;
            const SCHEMA_VERSION: u32 = $ver;

            fn description() -> &'static str {
                concat!($($tdoc),*).trim_start()
            }

            fn schema() -> arrow_schema::SchemaRef {
                static SCHEMA: std::sync::OnceLock<arrow_schema::SchemaRef> = std::sync::OnceLock::new();
                SCHEMA
                    .get_or_init(|| {
                        let fields = vec![$(
                            arrow_schema::Field::new(
                                stringify!($field),
                                <$ty as $crate::column::Column>::data_type(),
                                <$ty as $crate::column::Column>::nullable(),
                            )
                            .with_metadata(std::collections::HashMap::from([(
                                "description".to_string(),
                                $crate::table::join_doc(&[$($cdoc),+]),
                            )])),
                        )+];
                        let metadata = std::collections::HashMap::from([
                            ("table".to_string(), $name.to_string()),
                            ("schema_version".to_string(), $ver.to_string()),
                        ]);
                        std::sync::Arc::new(arrow_schema::Schema::new_with_metadata(fields, metadata))
                    })
                    .clone()
            }

            fn to_batch(rows: &[Self]) -> Result<arrow_array::RecordBatch, arrow_schema::ArrowError> {
                arrow_array::RecordBatch::try_new(
                    <Self as $crate::Table>::schema(),
                    vec![$( <$ty as $crate::column::Column>::build(rows.iter().map(|r| &r.$field)), )+],
                )
            }

            fn sort(rows: &mut [Self]) {
                rows.sort_unstable_by(|a, b| ($(&a.$key,)+).cmp(&($(&b.$key,)+)).then_with(|| a.cmp(b)));
            }

            fn from_batch(batch: &arrow_array::RecordBatch) -> Result<Vec<Self>, arrow_schema::ArrowError> {
                $(
                    let $field: Vec<$ty> = {
                        let column = batch.column_by_name(stringify!($field)).ok_or_else(|| {
                            arrow_schema::ArrowError::SchemaError(format!(
                                "table {}: column {} is missing", $name, stringify!($field)
                            ))
                        })?;
                        <$ty as $crate::column::Column>::read(column.as_ref()).map_err(|e| {
                            arrow_schema::ArrowError::SchemaError(format!(
                                "table {}: column {}: {e}", $name, stringify!($field)
                            ))
                        })?
                    };
                    let mut $field = $field.into_iter();
                )+
                let mut rows = Vec::with_capacity(batch.num_rows());
                for _ in 0..batch.num_rows() {
                    rows.push(Self { $( $field: $field.next().ok_or_else(|| {
                        arrow_schema::ArrowError::SchemaError(format!("table {}: short column", $name))
                    })?, )+ });
                }
                Ok(rows)
            }
        }
    };
}
pub(crate) use evidence_table;

/// Joins the lines of a doc comment into one description string.
#[doc(hidden)]
pub fn join_doc(lines: &[&str]) -> String {
    lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ").trim().to_string()
}
