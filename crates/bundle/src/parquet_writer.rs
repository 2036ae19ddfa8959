//! Deterministic Parquet: fixed writer properties, no wall-clock or host names in the file, rows already sorted
//! by the caller; the bytes are hashed as they are written, so a table is never read back to be hashed.

use std::io::{self, Write};
use std::path::Path;

use evidence::Table;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use sha2::{Digest, Sha256};

use crate::Error;

/// Rows per row group: large enough for good compression, small enough that a reader can skip.
const ROW_GROUP_ROWS: usize = 128 * 1024;
/// Rows turned into one Arrow batch at a time. Small enough that the batches in flight (one being encoded, one
/// built ahead) stay a few MiB each; large enough that per-batch overhead does not show. Measured in
/// `cargo xtask bench` (see BENCHMARKS.md).
pub const BATCH_ROWS: usize = 8 * 1024;

/// The writer properties every table is written with. Changing them changes every file's bytes, so they are
/// fixed here and nowhere else.
pub(crate) fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_2_0)
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("cmk-evidence bundle {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// A `Write` that counts and hashes every byte on its way to the inner writer.
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self { inner, hasher: Sha256::new(), bytes: 0 }
    }

    /// The inner writer, the lower-case hex SHA-256 and the byte count of everything written.
    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `rows` (already sorted) as one Parquet file to `out`. Returns the writer, SHA-256 and byte count.
///
/// Turning row structs into Arrow batches costs about as much as encoding them, so for tables of more than one
/// batch the next batch is built on another thread while the current one is encoded; a rendezvous channel
/// keeps at most one finished batch waiting, which bounds memory.
pub fn write_table<T: Table, W: Write + Send>(
    rows: &[T],
    out: W,
    path_for_errors: &Path,
) -> Result<(W, String, u64), Error> {
    let parquet_err = |source| Error::Parquet { table: T::NAME, path: path_for_errors.to_path_buf(), source };
    let batch_err = |source| Error::Evidence(evidence::Error::Arrow { table: T::NAME, source });
    let mut writer =
        ArrowWriter::try_new(HashingWriter::new(out), T::schema(), Some(writer_properties())).map_err(parquet_err)?;
    if rows.len() <= BATCH_ROWS {
        writer.write(&T::to_batch(rows).map_err(batch_err)?).map_err(parquet_err)?;
    } else {
        std::thread::scope(|scope| -> Result<(), Error> {
            let (batches, received) = std::sync::mpsc::sync_channel(0);
            scope.spawn(move || {
                for chunk in rows.chunks(BATCH_ROWS) {
                    // A closed channel means the writer failed and stopped listening: stop building.
                    if batches.send(T::to_batch(chunk)).is_err() {
                        break;
                    }
                }
            });
            for batch in received {
                writer.write(&batch.map_err(batch_err)?).map_err(parquet_err)?;
            }
            Ok(())
        })?;
    }
    let hashing = writer.into_inner().map_err(parquet_err)?;
    Ok(hashing.finish())
}

/// Writes record batches of any schema (for example a diff, which is not an evidence table) with the same fixed
/// properties as [`write_table`], so the same batches always give the same bytes. The batches come from an
/// iterator, so a caller can stream them without holding the table. Returns the writer, SHA-256, byte count and
/// row count.
pub fn write_batches<W: Write + Send, E: std::fmt::Display>(
    name: &'static str,
    schema: arrow_schema::SchemaRef,
    batches: impl IntoIterator<Item = Result<arrow_array::RecordBatch, E>>,
    out: W,
    path_for_errors: &Path,
) -> Result<(W, String, u64, u64), Error> {
    let parquet_err = |source| Error::Parquet { table: name, path: path_for_errors.to_path_buf(), source };
    let mut writer =
        ArrowWriter::try_new(HashingWriter::new(out), schema, Some(writer_properties())).map_err(parquet_err)?;
    let mut rows = 0u64;
    for batch in batches {
        let batch = batch.map_err(|e| Error::Read {
            table: name.to_string(),
            path: path_for_errors.to_path_buf(),
            reason: format!("producing the rows failed: {e}"),
        })?;
        rows += batch.num_rows() as u64;
        writer.write(&batch).map_err(parquet_err)?;
    }
    let hashing = writer.into_inner().map_err(parquet_err)?;
    let (out, sha, bytes) = hashing.finish();
    Ok((out, sha, bytes, rows))
}
