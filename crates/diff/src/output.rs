//! The rows of `diff.parquet`: one per binding (with both sides' values and the class), then one per changed
//! vault, key version and role assignment. Built column by column straight from the inputs, a batch at a time.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Int64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
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
