//! Rust field types that can be a column of an evidence table, and how each becomes an Arrow array.
//!
//! The set is deliberately small: strings, booleans, integers, UTC timestamps, binary blobs and string lists,
//! each with an `Option` form where Azure may not say. `None` always becomes a null, never a default value.

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, BinaryArray, BooleanArray, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, TimeUnit};

use crate::Timestamp;

/// A Rust type that maps to one Arrow column.
pub trait Column {
    /// The Arrow type of the column.
    fn data_type() -> DataType;
    /// Whether the column may hold nulls (only `Option` types do).
    fn nullable() -> bool;
    /// Builds the column from the values of every row, in row order.
    fn build<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef
    where
        Self: 'a;
}

fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

macro_rules! primitive_column {
    ($rust:ty, $dt:expr, $array:ty, |$v:ident| $conv:expr) => {
        impl Column for $rust {
            fn data_type() -> DataType {
                $dt
            }
            fn nullable() -> bool {
                false
            }
            fn build<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef {
                Arc::new(<$array>::from_iter_values(values.map(|$v| $conv)))
            }
        }
        impl Column for Option<$rust> {
            fn data_type() -> DataType {
                $dt
            }
            fn nullable() -> bool {
                true
            }
            fn build<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef {
                Arc::new(values.map(|o| o.as_ref().map(|$v| $conv)).collect::<$array>())
            }
        }
    };
}

primitive_column!(String, DataType::Utf8, StringArray, |v| v.as_str());
primitive_column!(i64, DataType::Int64, Int64Array, |v| *v);
primitive_column!(Vec<u8>, DataType::Binary, BinaryArray, |v| v.as_slice());

impl Column for bool {
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef {
        Arc::new(values.map(|v| Some(*v)).collect::<BooleanArray>())
    }
}

impl Column for Option<bool> {
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn nullable() -> bool {
        true
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef {
        Arc::new(values.copied().collect::<BooleanArray>())
    }
}

impl Column for Timestamp {
    fn data_type() -> DataType {
        utc_micros()
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from_iter_values(values.map(|t| t.micros())).with_timezone("UTC"))
    }
}

impl Column for Option<Timestamp> {
    fn data_type() -> DataType {
        utc_micros()
    }
    fn nullable() -> bool {
        true
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef {
        Arc::new(values.map(|o| o.map(|t| t.micros())).collect::<TimestampMicrosecondArray>().with_timezone("UTC"))
    }
}

/// A list of strings; an empty list means "Azure sent an empty list", `None` means "Azure did not say".
impl Column for Option<Vec<String>> {
    fn data_type() -> DataType {
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, false)))
    }
    fn nullable() -> bool {
        true
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef {
        let mut builder =
            ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new("item", DataType::Utf8, false)));
        for value in values {
            match value {
                Some(items) => {
                    for item in items {
                        builder.values().append_value(item);
                    }
                    builder.append(true);
                }
                None => builder.append(false),
            }
        }
        Arc::new(builder.finish())
    }
}
