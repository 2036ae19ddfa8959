//! Reading a package's tables back: a whole small table as rows ([`read_table`]), or a large one as a stream
//! of record batches with only the columns asked for ([`table_batches`]), so that memory stays bounded by the
//! batch size rather than the table size. Read a package only after [`crate::verify_package`] holds.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use evidence::Table;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::Error;

/// `<package>/tables/<table>.parquet`.
pub fn table_path(package: &Path, table: &str) -> PathBuf {
    package.join("tables").join(format!("{table}.parquet"))
}

fn read_err(table: &str, path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Read { table: table.to_string(), path: path.to_path_buf(), reason: reason.to_string() }
}

/// A stream of record batches of `table` holding only `columns` (every column when empty), `batch_rows` rows
/// at a time, in file order (which is primary-key order for tables this crate wrote). Fails, naming the file,
/// when it is missing, is not Parquet, or lacks one of the columns.
pub fn table_batches(
    package: &Path,
    table: &str,
    columns: &[&str],
    batch_rows: usize,
) -> Result<ParquetRecordBatchReader, Error> {
    let path = table_path(package, table);
    let file = File::open(&path).map_err(|e| read_err(table, &path, format!("cannot open: {e}")))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| read_err(table, &path, format!("not a readable Parquet file: {e}")))?;
    let builder = if columns.is_empty() {
        builder
    } else {
        let schema = builder.parquet_schema();
        let mut indices = Vec::with_capacity(columns.len());
        for name in columns {
            let index = builder
                .schema()
                .fields()
                .iter()
                .position(|f| f.name() == name)
                .ok_or_else(|| read_err(table, &path, format!("has no column {name:?}")))?;
            indices.push(index);
        }
        let mask = ProjectionMask::roots(schema, indices);
        builder.with_projection(mask)
    };
    builder.with_batch_size(batch_rows.max(1)).build().map_err(|e| read_err(table, &path, e))
}

/// Every row of table `T` of the package. For small tables (vaults, keys, versions, role assignments,
/// coverage); stream large ones with [`table_batches`].
pub fn read_table<T: Table>(package: &Path) -> Result<Vec<T>, Error> {
    let path = table_path(package, T::NAME);
    let mut rows = Vec::new();
    for batch in table_batches(package, T::NAME, &[], crate::BATCH_ROWS)? {
        let batch: RecordBatch = batch.map_err(|e| read_err(T::NAME, &path, e))?;
        rows.extend(T::from_batch(&batch).map_err(|e| read_err(T::NAME, &path, e))?);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use evidence::tables::coverage::CoverageRow;

    fn coverage(i: usize) -> CoverageRow {
        CoverageRow {
            tenant_id: "t".into(),
            snapshot_id: "s".into(),
            subscription_id: i.is_multiple_of(2).then(|| format!("sub{i}")),
            resource_type: "Microsoft.Storage/storageAccounts".into(),
            resource_id: None,
            status: "denied".into(),
            reason: format!("reason {i}"),
            http_status: Some(403),
            error_code: None,
            request_url: None,
        }
    }

    #[test]
    fn a_written_table_reads_back_whole_and_projected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let package = dir.path();
        std::fs::create_dir_all(package.join("tables")).expect("mkdir");
        let mut rows: Vec<CoverageRow> = (0..20_000).map(coverage).collect();
        CoverageRow::sort(&mut rows);
        let path = table_path(package, "coverage");
        let file = File::create(&path).expect("create");
        crate::write_table(&rows, file, &path).expect("write");
        assert_eq!(read_table::<CoverageRow>(package).expect("read"), rows);

        let mut seen = 0;
        for batch in table_batches(package, "coverage", &["reason", "status"], 4096).expect("batches") {
            let batch = batch.expect("batch");
            assert_eq!(batch.num_columns(), 2);
            assert!(batch.num_rows() <= 4096);
            seen += batch.num_rows();
        }
        assert_eq!(seen, rows.len());

        let err = table_batches(package, "coverage", &["nope"], 10).expect_err("missing column");
        assert!(err.to_string().contains("nope") && err.to_string().contains("coverage.parquet"), "{err}");
        let err = read_table::<evidence::tables::keys::KeyRow>(package).expect_err("missing table");
        assert!(err.to_string().contains("keys.parquet"), "{err}");
    }
}
