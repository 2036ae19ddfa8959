//! The rows of `diff.parquet`: one per binding (with both sides' values and the class), then one per changed
//! vault, key version and role assignment. Built column by column straight from the inputs, a batch at a time.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Int64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{Array, ArrayRef, RecordBatch, new_null_array};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::binding::Binding;
use crate::class::Severity;

/// Rows per output batch.
pub const OUTPUT_BATCH_ROWS: usize = 8 * 1024;

fn utc() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Utf8, false))
}

macro_rules! pairs {
    ($m:ident) => {
        $m! {
            text: key_source, key_vault_uri, key_name, configured_key_version, in_use_key_version,
                latest_key_version, identity_type, identity_resource_id, identity_principal_id,
                vault_public_network_access, vault_network_default_action, key_via_resource_id;
            flag: key_enabled, auto_rotation, identity_has_crypto_role, vault_soft_delete, vault_purge_protection,
                vault_rbac_authorization;
            int: vault_soft_delete_retention_days;
            time: latest_version_created_at, key_expires_at;
        }
    };
}

macro_rules! declare_output {
    (text: $($t:ident),+; flag: $($f:ident),+; int: $($i:ident),+; time: $($ts:ident),+;) => {
        /// The `cmk_chain` columns written twice (`before_*`, `after_*`), in schema order.
        pub const PAIR_COLUMNS: &[&str] = &["chain_status", $( stringify!($t), )+ $( stringify!($f), )+
            $( stringify!($i), )+ $( stringify!($ts), )+];

        /// The Arrow schema of `diff.parquet`.
        pub fn schema() -> SchemaRef {
            let mut fields = vec![
                Field::new("tenant_id", DataType::Utf8, false),
                Field::new("before_snapshot_id", DataType::Utf8, false),
                Field::new("after_snapshot_id", DataType::Utf8, false),
                Field::new("subject", DataType::Utf8, false),
                Field::new("resource_id", DataType::Utf8, false),
                Field::new("encryption_scope", DataType::Utf8, true),
                Field::new("resource_type", DataType::Utf8, true),
                Field::new("subscription_id", DataType::Utf8, true),
                Field::new("class", DataType::Utf8, false),
                Field::new("severity", DataType::Utf8, false),
                Field::new("changes", DataType::List(item()), false),
                Field::new("adoption_window_seconds", DataType::Int64, true),
                Field::new("new_version_age_seconds", DataType::Int64, true),
                Field::new("before_chain_status", DataType::Utf8, true),
                Field::new("after_chain_status", DataType::Utf8, true),
            ];
            $( fields.push(Field::new(concat!("before_", stringify!($t)), DataType::Utf8, true));
               fields.push(Field::new(concat!("after_", stringify!($t)), DataType::Utf8, true)); )+
            $( fields.push(Field::new(concat!("before_", stringify!($f)), DataType::Boolean, true));
               fields.push(Field::new(concat!("after_", stringify!($f)), DataType::Boolean, true)); )+
            $( fields.push(Field::new(concat!("before_", stringify!($i)), DataType::Int64, true));
               fields.push(Field::new(concat!("after_", stringify!($i)), DataType::Int64, true)); )+
            $( fields.push(Field::new(concat!("before_", stringify!($ts)), utc(), true));
               fields.push(Field::new(concat!("after_", stringify!($ts)), utc(), true)); )+
            Arc::new(Schema::new(fields))
        }

        /// Column builders of one output batch.
        #[derive(Debug)]
        #[allow(non_snake_case)]
        pub struct OutputBuilder {
            tenant_id: String,
            before_snapshot_id: String,
            after_snapshot_id: String,
            rows: usize,
            subject: StringBuilder,
            resource_id: StringBuilder,
            encryption_scope: StringBuilder,
            resource_type: StringBuilder,
            subscription_id: StringBuilder,
            class: StringBuilder,
            severity: StringBuilder,
            changes: ListBuilder<StringBuilder>,
            adoption_window_seconds: Int64Builder,
            new_version_age_seconds: Int64Builder,
            chain_status: [StringBuilder; 2],
            $( $t: [StringBuilder; 2], )+
            $( $f: [BooleanBuilder; 2], )+
            $( $i: [Int64Builder; 2], )+
            $( $ts: [TimestampMicrosecondBuilder; 2], )+
        }

        impl OutputBuilder {
            /// An empty batch for the given tenant and snapshot ids.
            pub fn new(tenant_id: &str, before_snapshot_id: &str, after_snapshot_id: &str) -> Self {
                Self {
                    tenant_id: tenant_id.to_string(),
                    before_snapshot_id: before_snapshot_id.to_string(),
                    after_snapshot_id: after_snapshot_id.to_string(),
                    rows: 0,
                    subject: StringBuilder::new(),
                    resource_id: StringBuilder::new(),
                    encryption_scope: StringBuilder::new(),
                    resource_type: StringBuilder::new(),
                    subscription_id: StringBuilder::new(),
                    class: StringBuilder::new(),
                    severity: StringBuilder::new(),
                    changes: ListBuilder::new(StringBuilder::new()).with_field(item()),
                    adoption_window_seconds: Int64Builder::new(),
                    new_version_age_seconds: Int64Builder::new(),
                    chain_status: Default::default(),
                    $( $t: Default::default(), )+
                    $( $f: Default::default(), )+
                    $( $i: Default::default(), )+
                    $( $ts: [TimestampMicrosecondBuilder::new().with_timezone("UTC"),
                             TimestampMicrosecondBuilder::new().with_timezone("UTC")], )+
                }
            }

            /// Rows appended since the last [`OutputBuilder::finish`].
            pub fn len(&self) -> usize {
                self.rows
            }

            /// Whether no row was appended since the last finish.
            pub fn is_empty(&self) -> bool {
                self.rows == 0
            }

            /// Appends one row.
            pub fn append<B: Binding + ?Sized, A: Binding + ?Sized>(&mut self, row: OutputRow<'_>, before: Option<&B>, after: Option<&A>) {
                self.rows += 1;
                self.subject.append_value(row.subject);
                self.resource_id.append_value(row.resource_id);
                self.encryption_scope.append_option(row.encryption_scope);
                self.resource_type.append_option(row.resource_type);
                self.subscription_id.append_option(row.subscription_id);
                self.class.append_value(row.class);
                self.severity.append_value(row.severity.as_str());
                for change in row.changes {
                    self.changes.values().append_value(change);
                }
                self.changes.append(true);
                self.adoption_window_seconds.append_option(row.adoption_window_seconds);
                self.new_version_age_seconds.append_option(row.new_version_age_seconds);
                self.chain_status[0].append_option(before.map(|b| b.chain_status()).filter(|s| !s.is_empty()));
                self.chain_status[1].append_option(after.map(|a| a.chain_status()).filter(|s| !s.is_empty()));
                $( self.$t[0].append_option(before.and_then(|b| b.$t()));
                   self.$t[1].append_option(after.and_then(|a| a.$t())); )+
                $( self.$f[0].append_option(before.and_then(|b| b.$f()));
                   self.$f[1].append_option(after.and_then(|a| a.$f())); )+
                $( self.$i[0].append_option(before.and_then(|b| b.$i()));
                   self.$i[1].append_option(after.and_then(|a| a.$i())); )+
                $( self.$ts[0].append_option(before.and_then(|b| b.$ts()).map(|t| t.micros()));
                   self.$ts[1].append_option(after.and_then(|a| a.$ts()).map(|t| t.micros())); )+
            }

            /// The rows appended so far as one batch; the builder starts over empty.
            pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
                let n = self.rows;
                self.rows = 0;
                let constant = |v: &str| -> ArrayRef {
                    Arc::new(arrow_array::StringArray::from_iter_values(std::iter::repeat_n(v, n)))
                };
                let mut columns: Vec<ArrayRef> = vec![
                    constant(&self.tenant_id),
                    constant(&self.before_snapshot_id),
                    constant(&self.after_snapshot_id),
                    Arc::new(self.subject.finish()),
                    Arc::new(self.resource_id.finish()),
                    Arc::new(self.encryption_scope.finish()),
                    Arc::new(self.resource_type.finish()),
                    Arc::new(self.subscription_id.finish()),
                    Arc::new(self.class.finish()),
                    Arc::new(self.severity.finish()),
                    Arc::new(self.changes.finish()),
                    Arc::new(self.adoption_window_seconds.finish()),
                    Arc::new(self.new_version_age_seconds.finish()),
                    Arc::new(self.chain_status[0].finish()),
                    Arc::new(self.chain_status[1].finish()),
                ];
                $( columns.push(Arc::new(self.$t[0].finish())); columns.push(Arc::new(self.$t[1].finish())); )+
                $( columns.push(Arc::new(self.$f[0].finish())); columns.push(Arc::new(self.$f[1].finish())); )+
                $( columns.push(Arc::new(self.$i[0].finish())); columns.push(Arc::new(self.$i[1].finish())); )+
                $( columns.push(Arc::new(self.$ts[0].finish())); columns.push(Arc::new(self.$ts[1].finish())); )+
                RecordBatch::try_new(schema(), columns)
            }
        }
    };
}

pairs!(declare_output);

/// The shared columns of one output row.
#[derive(Debug, Clone, Copy)]
pub struct OutputRow<'a> {
    /// `binding`, `vault`, `key_version` or `role_assignment`.
    pub subject: &'a str,
    /// The binding's resource id, the vault's resource id, the key version's id or the role assignment's id.
    pub resource_id: &'a str,
    /// The binding's encryption scope (null for other subjects).
    pub encryption_scope: Option<&'a str>,
    /// ARM resource type.
    pub resource_type: Option<&'a str>,
    /// Subscription.
    pub subscription_id: Option<&'a str>,
    /// The class.
    pub class: &'a str,
    /// Its severity.
    pub severity: Severity,
    /// What changed.
    pub changes: &'a [String],
    /// Adoption window applied.
    pub adoption_window_seconds: Option<i64>,
    /// Age of the newer version.
    pub new_version_age_seconds: Option<i64>,
}

/// Where one side of a binding row comes from: the batch (by its sequence number on that side) and the row.
#[derive(Debug, Clone, Copy)]
pub struct SourceRow<'a> {
    /// Sequence number of the batch on its side (batches are numbered as they are read).
    pub seq: u64,
    /// The batch.
    pub batch: &'a RecordBatch,
    /// The row in it.
    pub row: usize,
}

/// The batches one side's rows come from, and each output row's (source, row) on that side.
#[derive(Debug, Default)]
struct SideRows {
    sources: Vec<RecordBatch>,
    last_seq: Option<u64>,
    rows: Vec<Option<(usize, usize)>>,
}

impl SideRows {
    fn push(&mut self, from: Option<SourceRow<'_>>) {
        let Some(from) = from else {
            self.rows.push(None);
            return;
        };
        if self.last_seq != Some(from.seq) {
            self.sources.push(from.batch.clone());
            self.last_seq = Some(from.seq);
        }
        self.rows.push(Some((self.sources.len() - 1, from.row)));
    }

    /// Column `name` of every output row: copied from the source batches in bulk, null where this side has no
    /// row.
    fn column(&self, name: &str, data_type: &DataType) -> Result<ArrayRef, ArrowError> {
        let missing = || ArrowError::SchemaError(format!("cmk_chain batch without column {name}"));
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.sources.len() + 1);
        for batch in &self.sources {
            arrays.push(batch.column_by_name(name).ok_or_else(missing)?.clone());
        }
        let null = arrays.len();
        arrays.push(new_null_array(data_type, 1));
        let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
        let indices: Vec<(usize, usize)> = self.rows.iter().map(|r| r.unwrap_or((null, 0))).collect();
        arrow_select::interleave::interleave(&refs, &indices)
    }

    fn clear(&mut self) {
        self.rows.clear();
        // The last source stays: the next output rows most likely come from it too.
        let last = self.sources.pop();
        self.sources.clear();
        if let Some(last) = last {
            self.sources.push(last);
        } else {
            self.last_seq = None;
        }
    }
}

/// Binding rows of `diff.parquet`: both sides' values are not copied row by row but gathered per column from the
/// input batches with Arrow's `interleave` kernel when the batch is finished; only what the diff computes (class,
/// severity, changes, window, age) is built row by row.
#[derive(Debug)]
pub struct BindingRows {
    tenant_id: String,
    before_snapshot_id: String,
    after_snapshot_id: String,
    before: SideRows,
    after: SideRows,
    class: StringBuilder,
    severity: StringBuilder,
    changes: ListBuilder<StringBuilder>,
    adoption_window_seconds: Int64Builder,
    new_version_age_seconds: Int64Builder,
}

impl BindingRows {
    /// No rows yet, for the given tenant and snapshots.
    pub fn new(tenant_id: &str, before_snapshot_id: &str, after_snapshot_id: &str) -> Self {
        Self {
            tenant_id: tenant_id.to_string(),
            before_snapshot_id: before_snapshot_id.to_string(),
            after_snapshot_id: after_snapshot_id.to_string(),
            before: SideRows::default(),
            after: SideRows::default(),
            class: StringBuilder::new(),
            severity: StringBuilder::new(),
            changes: ListBuilder::new(StringBuilder::new()).with_field(item()),
            adoption_window_seconds: Int64Builder::new(),
            new_version_age_seconds: Int64Builder::new(),
        }
    }

    /// Rows since the last finish.
    pub fn len(&self) -> usize {
        self.before.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.before.rows.is_empty()
    }

    /// Appends one binding: where each side's values are (at least one side is present), and the verdict.
    pub fn push(
        &mut self,
        before: Option<SourceRow<'_>>,
        after: Option<SourceRow<'_>>,
        verdict: &crate::classify::Verdict,
    ) {
        self.before.push(before);
        self.after.push(after);
        self.class.append_value(verdict.class.as_str());
        self.severity.append_value(verdict.severity.as_str());
        for change in &verdict.changes {
            self.changes.values().append_value(change);
        }
        self.changes.append(true);
        self.adoption_window_seconds.append_option(verdict.window.map(|w| w.seconds));
        self.new_version_age_seconds.append_option(verdict.new_version_age_seconds);
    }

    /// The rows so far as one batch of [`schema`]; the builder starts over empty.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let schema = schema();
        let n = self.len();
        let constant =
            |v: &str| -> ArrayRef { Arc::new(arrow_array::StringArray::from_iter_values(std::iter::repeat_n(v, n))) };
        // Key columns: the after side's row when there is one, else the before side's.
        let key = |name: &str| -> Result<ArrayRef, ArrowError> {
            let missing = || ArrowError::SchemaError(format!("cmk_chain batch without column {name}"));
            let mut arrays: Vec<ArrayRef> = Vec::new();
            for batch in self.before.sources.iter().chain(&self.after.sources) {
                arrays.push(batch.column_by_name(name).ok_or_else(missing)?.clone());
            }
            let offset = self.before.sources.len();
            let indices: Vec<(usize, usize)> = self
                .before
                .rows
                .iter()
                .zip(&self.after.rows)
                .map(|(b, a)| match (a, b) {
                    (Some((s, r)), _) => (offset + s, *r),
                    (None, Some((s, r))) => (*s, *r),
                    (None, None) => (0, 0),
                })
                .collect();
            let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
            arrow_select::interleave::interleave(&refs, &indices)
        };
        let mut columns: Vec<ArrayRef> = vec![
            constant(&self.tenant_id),
            constant(&self.before_snapshot_id),
            constant(&self.after_snapshot_id),
            constant(crate::class::subject::BINDING),
            key("resource_id")?,
            key("encryption_scope")?,
            key("resource_type")?,
            key("subscription_id")?,
            Arc::new(self.class.finish()),
            Arc::new(self.severity.finish()),
            Arc::new(self.changes.finish()),
            Arc::new(self.adoption_window_seconds.finish()),
            Arc::new(self.new_version_age_seconds.finish()),
        ];
        for name in PAIR_COLUMNS {
            let data_type = schema.field_with_name(&format!("before_{name}"))?.data_type().clone();
            columns.push(self.before.column(name, &data_type)?);
            columns.push(self.after.column(name, &data_type)?);
        }
        self.before.clear();
        self.after.clear();
        // The key columns are not null in cmk_chain, but the output schema lets other subjects leave some null.
        RecordBatch::try_new(schema, columns)
    }
}
