//! What the diff reads of a binding, whether it comes from a `cmk_chain` row struct, from one row of an Arrow
//! batch (the streaming path: no row is copied), or from the values a vault, key version or role assignment
//! change fills in ([`Fields`]).

use arrow_array::{Array, BooleanArray, Int64Array, ListArray, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::ArrowError;
use evidence::Timestamp;
use evidence::column::downcast;
use evidence::tables::cmk_chain::CmkChainRow;

/// Calls `$m!` with the binding fields grouped by type. Keeping the list in one place keeps the trait, its
/// implementations, the projection and the output columns in step.
macro_rules! binding_fields {
    ($m:ident) => {
        $m! {
            text: subscription_id, resource_id, resource_type, encryption_scope, chain_status;
            opt_text: key_source, key_vault_uri, key_name, configured_key_version, in_use_key_version,
                latest_key_version, identity_type, identity_resource_id, identity_principal_id,
                vault_public_network_access, vault_network_default_action, key_via_resource_id,
                key_vault_resource_id;
            opt_bool: key_enabled, auto_rotation, identity_has_crypto_role, vault_soft_delete,
                vault_purge_protection, vault_rbac_authorization;
            opt_int: vault_soft_delete_retention_days;
            opt_time: latest_version_created_at, key_expires_at;
        }
    };
}

macro_rules! declare_trait {
    (text: $($t:ident),+; opt_text: $($o:ident),+; opt_bool: $($b:ident),+; opt_int: $($i:ident),+;
     opt_time: $($ts:ident),+;) => {
        /// One side of a binding: the `cmk_chain` columns the diff compares (see that table for what each means).
        pub trait Binding {
            $( #[allow(missing_docs)] fn $t(&self) -> &str; )+
            $( #[allow(missing_docs)] fn $o(&self) -> Option<&str>; )+
            $( #[allow(missing_docs)] fn $b(&self) -> Option<bool>; )+
            $( #[allow(missing_docs)] fn $i(&self) -> Option<i64>; )+
            $( #[allow(missing_docs)] fn $ts(&self) -> Option<Timestamp>; )+
            /// The chain's named gaps (empty when complete).
            fn chain_gaps(&self) -> Vec<String>;
        }

        impl Binding for CmkChainRow {
            $( fn $t(&self) -> &str { &self.$t } )+
            $( fn $o(&self) -> Option<&str> { self.$o.as_deref() } )+
            $( fn $b(&self) -> Option<bool> { self.$b } )+
            $( fn $i(&self) -> Option<i64> { self.$i } )+
            $( fn $ts(&self) -> Option<Timestamp> { self.$ts } )+
            fn chain_gaps(&self) -> Vec<String> { self.chain_gaps.clone().unwrap_or_default() }
        }

        /// Owned values for the rows of `diff.parquet` that are not bindings (a vault's protection, a key
        /// version's state, a role assignment's principal): only what applies is set.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub struct Fields {
            $( pub $t: String, )+
            $( pub $o: Option<String>, )+
            $( pub $b: Option<bool>, )+
            $( pub $i: Option<i64>, )+
            $( pub $ts: Option<Timestamp>, )+
        }

        impl Binding for Fields {
            $( fn $t(&self) -> &str { &self.$t } )+
            $( fn $o(&self) -> Option<&str> { self.$o.as_deref() } )+
            $( fn $b(&self) -> Option<bool> { self.$b } )+
            $( fn $i(&self) -> Option<i64> { self.$i } )+
            $( fn $ts(&self) -> Option<Timestamp> { self.$ts } )+
            fn chain_gaps(&self) -> Vec<String> { Vec::new() }
        }

        /// The typed columns of one `cmk_chain` record batch (projected to [`CHAIN_COLUMNS`]).
        #[derive(Debug)]
        pub struct ChainColumns {
            rows: usize,
            batch: RecordBatch,
            $( $t: StringArray, )+
            $( $o: StringArray, )+
            $( $b: BooleanArray, )+
            $( $i: Int64Array, )+
            $( $ts: TimestampMicrosecondArray, )+
            chain_gaps: ListArray,
        }

        /// The `cmk_chain` columns the diff reads; project the Parquet reader to these.
        pub const CHAIN_COLUMNS: &[&str] = &[ $( stringify!($t), )+ $( stringify!($o), )+ $( stringify!($b), )+
            $( stringify!($i), )+ $( stringify!($ts), )+ "chain_gaps" ];

        impl ChainColumns {
            /// Takes the columns out of a batch (by name), failing with the column's name when one is missing
            /// or has another type.
            pub fn new(batch: &RecordBatch) -> Result<Self, ArrowError> {
                fn column<A: Array + Clone + 'static>(batch: &RecordBatch, name: &str, kind: &str) -> Result<A, ArrowError> {
                    let array = batch.column_by_name(name).ok_or_else(|| {
                        ArrowError::SchemaError(format!("cmk_chain has no column {name}"))
                    })?;
                    downcast::<A>(array.as_ref(), kind)
                        .map(Clone::clone)
                        .map_err(|e| ArrowError::SchemaError(format!("cmk_chain column {name}: {e}")))
                }
                let columns = Self {
                    rows: batch.num_rows(),
                    batch: batch.clone(),
                    $( $t: column(batch, stringify!($t), "Utf8")?, )+
                    $( $o: column(batch, stringify!($o), "Utf8")?, )+
                    $( $b: column(batch, stringify!($b), "Boolean")?, )+
                    $( $i: column(batch, stringify!($i), "Int64")?, )+
                    $( $ts: column(batch, stringify!($ts), "Timestamp")?, )+
                    chain_gaps: column(batch, "chain_gaps", "List<Utf8>")?,
                };
                $( if columns.$t.null_count() > 0 {
                    return Err(ArrowError::SchemaError(format!("cmk_chain column {} holds nulls", stringify!($t))));
                } )+
                Ok(columns)
            }

            /// The batch the columns were taken from.
            pub fn batch(&self) -> &RecordBatch {
                &self.batch
            }

            /// Rows in the batch.
            pub fn len(&self) -> usize {
                self.rows
            }

            /// Whether the batch is empty.
            pub fn is_empty(&self) -> bool {
                self.rows == 0
            }

            /// Row `i` as a [`Binding`].
            pub fn row(&self, i: usize) -> RowView<'_> {
                RowView { columns: self, i }
            }
        }

        /// One row of a [`ChainColumns`].
        #[derive(Debug, Clone, Copy)]
        pub struct RowView<'a> {
            columns: &'a ChainColumns,
            i: usize,
        }

        impl Binding for RowView<'_> {
            $( fn $t(&self) -> &str { self.columns.$t.value(self.i) } )+
            $( fn $o(&self) -> Option<&str> { opt_str(&self.columns.$o, self.i) } )+
            $( fn $b(&self) -> Option<bool> {
                let a = &self.columns.$b;
                (!a.is_null(self.i)).then(|| a.value(self.i))
            } )+
            $( fn $i(&self) -> Option<i64> {
                let a = &self.columns.$i;
                (!a.is_null(self.i)).then(|| a.value(self.i))
            } )+
            $( fn $ts(&self) -> Option<Timestamp> {
                let a = &self.columns.$ts;
                (!a.is_null(self.i)).then(|| Timestamp::from_micros(a.value(self.i)))
            } )+
            fn chain_gaps(&self) -> Vec<String> {
                let lists = &self.columns.chain_gaps;
                if lists.is_null(self.i) {
                    return Vec::new();
                }
                let items = lists.value(self.i);
                items
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .map(|s| s.iter().flatten().map(str::to_string).collect())
                    .unwrap_or_default()
            }
        }
    };
}

binding_fields!(declare_trait);

fn opt_str(array: &StringArray, i: usize) -> Option<&str> {
    (!array.is_null(i)).then(|| array.value(i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use evidence::Table;

    #[test]
    fn every_projected_column_exists_in_cmk_chain() {
        let schema = CmkChainRow::schema();
        for name in CHAIN_COLUMNS {
            assert!(schema.field_with_name(name).is_ok(), "cmk_chain has no column {name}");
        }
    }
}
