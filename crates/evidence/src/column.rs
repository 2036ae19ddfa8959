//! Rust field types that can be a column of an evidence table, and how each becomes an Arrow array.
//!
//! The set is deliberately small: strings, booleans, integers, UTC timestamps, binary blobs and string lists,
//! each with an `Option` form where Azure may not say. `None` always becomes a null, never a default value.

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Int64Array, ListArray, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{ArrowError, DataType, Field, TimeUnit};

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
    /// Reads every value of a column back (the inverse of [`Column::build`]). Fails when the array has another
    /// type, or holds a null where the column may not.
    fn read(array: &dyn Array) -> Result<Vec<Self>, ArrowError>
    where
        Self: Sized;
}

/// The array as its concrete type, or an error naming both types.
pub fn downcast<'a, A: Array + 'static>(array: &'a dyn Array, expected: &str) -> Result<&'a A, ArrowError> {
    array
        .as_any()
        .downcast_ref::<A>()
        .ok_or_else(|| ArrowError::SchemaError(format!("expected a {expected} column, found {}", array.data_type())))
}

fn required<T>(values: Vec<Option<T>>) -> Result<Vec<T>, ArrowError> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            v.ok_or_else(|| ArrowError::InvalidArgumentError(format!("null in a non-null column at row {i}")))
        })
        .collect()
}

fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

macro_rules! primitive_column {
    ($rust:ty, $dt:expr, $array:ty, |$v:ident| $conv:expr, |$r:ident| $back:expr) => {
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
            fn read(array: &dyn Array) -> Result<Vec<Self>, ArrowError> {
                required(<Option<$rust> as Column>::read(array)?)
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
            fn read(array: &dyn Array) -> Result<Vec<Self>, ArrowError> {
                let typed = downcast::<$array>(array, stringify!($array))?;
                Ok(typed.iter().map(|o| o.map(|$r| $back)).collect())
            }
        }
    };
}

primitive_column!(String, DataType::Utf8, StringArray, |v| v.as_str(), |r| r.to_string());
primitive_column!(i64, DataType::Int64, Int64Array, |v| *v, |r| r);
primitive_column!(Vec<u8>, DataType::Binary, BinaryArray, |v| v.as_slice(), |r| r.to_vec());

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
    fn read(array: &dyn Array) -> Result<Vec<Self>, ArrowError> {
        required(<Option<bool> as Column>::read(array)?)
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
    fn read(array: &dyn Array) -> Result<Vec<Self>, ArrowError> {
        Ok(downcast::<BooleanArray>(array, "Boolean")?.iter().collect())
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
    fn read(array: &dyn Array) -> Result<Vec<Self>, ArrowError> {
        required(<Option<Timestamp> as Column>::read(array)?)
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
    fn read(array: &dyn Array) -> Result<Vec<Self>, ArrowError> {
        let typed = downcast::<TimestampMicrosecondArray>(array, "Timestamp(µs, UTC)")?;
        Ok(typed.iter().map(|o| o.map(Timestamp::from_micros)).collect())
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
    fn read(array: &dyn Array) -> Result<Vec<Self>, ArrowError> {
        let lists = downcast::<ListArray>(array, "List<Utf8>")?;
        let mut out = Vec::with_capacity(lists.len());
        for i in 0..lists.len() {
            if lists.is_null(i) {
                out.push(None);
                continue;
            }
            let items = lists.value(i);
            let strings = downcast::<StringArray>(items.as_ref(), "Utf8 list item")?;
            out.push(Some(required(strings.iter().map(|s| s.map(str::to_string)).collect())?));
        }
        Ok(out)
    }
}

/// A list of strings that is always present (possibly empty).
impl Column for Vec<String> {
    fn data_type() -> DataType {
        <Option<Vec<String>> as Column>::data_type()
    }
    fn nullable() -> bool {
        false
    }
    fn build<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef {
        let mut builder =
            ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new("item", DataType::Utf8, false)));
        for items in values {
            for item in items {
                builder.values().append_value(item);
            }
            builder.append(true);
        }
        Arc::new(builder.finish())
    }
    fn read(array: &dyn Array) -> Result<Vec<Self>, ArrowError> {
        required(<Option<Vec<String>> as Column>::read(array)?)
    }
}
