//! Benches 2 and 3: writing a 1M-row `cmk_chain` with `bundle::write_table` against pyarrow's
//! `pq.write_table` on the same rows, and the writer's memory beyond the rows (counting global allocator).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use evidence::{CmkChainRow, Table};

use super::chain_rows::generate_cmk_chain;
use crate::counting_alloc::{Usage, Window};

/// Rows per `to_batch` call, as `bundle::write_table` hands them to the writer.
const BUNDLE_BATCH_ROWS: usize = bundle::BATCH_ROWS;

/// What the write bench measured on our side.
#[derive(Debug)]
pub(crate) struct OurWrite {
    pub(crate) rows: usize,
    pub(crate) generate_seconds: f64,
    pub(crate) sort_seconds: f64,
    /// Heap bytes the sorted rows hold (what "beyond the data" is measured against).
    pub(crate) rows_bytes: i64,
    /// Row → Arrow conversion alone (`Table::to_batch` over all rows), one run: part of every write.
    pub(crate) to_batch_seconds: f64,
    /// Seconds per timed write (create file, `write_table` into a `BufWriter`, flush; no fsync).
    pub(crate) seconds: Vec<f64>,
    pub(crate) file: PathBuf,
    pub(crate) bytes: u64,
    pub(crate) sha256: String,
    /// Whether every run (timed and counted) wrote byte-identical files.
    pub(crate) identical_runs: bool,
    /// Allocations during one more, untimed, write.
    pub(crate) memory: Usage,
    /// Allocations of building one Arrow batch of the first `BUNDLE_BATCH_ROWS` rows alone: the part of the
    /// writer's memory that is the batch rather than the Parquet encoder.
    pub(crate) batch_memory: Usage,
}

/// What pyarrow reported from inside its own process.
#[derive(Debug)]
pub(crate) struct PyarrowWrite {
    pub(crate) version: String,
    /// Rows pyarrow read back from our file.
    pub(crate) rows_read: u64,
    pub(crate) columns: u64,
    pub(crate) seconds: Vec<f64>,
    pub(crate) bytes: u64,
    /// Whether pyarrow's own file reads back equal to the table it was written from.
    pub(crate) round_trip_equal: bool,
    pub(crate) row_groups_ours: u64,
    pub(crate) row_groups_pyarrow: u64,
    pub(crate) command: String,
}

fn write_once(rows: &[CmkChainRow], path: &Path) -> Result<(String, u64)> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let (buffered, sha256, bytes) = bundle::write_table(rows, BufWriter::new(file), path)?;
    buffered.into_inner().map_err(|e| e.into_error()).with_context(|| format!("flushing {}", path.display()))?;
    Ok((sha256, bytes))
}

/// Generates and sorts `rows` rows, then writes them `rounds` times (timed) and once more with the allocation
/// counter on. The file of the last run is kept at `dir/cmk_chain.parquet` for pyarrow.
pub(crate) fn measure_ours(dir: &Path, rows: usize, seed: u64, rounds: usize) -> Result<OurWrite> {
    let window = Window::open();
    let start = Instant::now();
    let mut data = generate_cmk_chain(rows, seed);
    let generate_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    CmkChainRow::sort(&mut data);
    let sort_seconds = start.elapsed().as_secs_f64();
    let rows_bytes = window.close().retained_bytes;

    let window = Window::open();
    let first = CmkChainRow::to_batch(&data[..data.len().min(BUNDLE_BATCH_ROWS)]).context("building a batch")?;
    let batch_memory = window.close();
    drop(first);

    let start = Instant::now();
    for chunk in data.chunks(BUNDLE_BATCH_ROWS) {
        let batch = CmkChainRow::to_batch(chunk).context("building a cmk_chain record batch")?;
        std::hint::black_box(batch);
    }
    let to_batch_seconds = start.elapsed().as_secs_f64();

    let file = dir.join("cmk_chain.parquet");
    let mut seconds = Vec::new();
    let mut hashes = Vec::new();
    let mut bytes = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        let (sha256, n) = write_once(&data, &file)?;
        seconds.push(start.elapsed().as_secs_f64());
        hashes.push(sha256);
        bytes = n;
    }

    let window = Window::open();
    let (sha256, _) = write_once(&data, &file)?;
    let memory = window.close();
    let identical_runs = hashes.iter().all(|h| *h == sha256);
    Ok(OurWrite {
        rows: data.len(),
        generate_seconds,
        sort_seconds,
        rows_bytes,
        to_batch_seconds,
        seconds,
        file,
        bytes,
        sha256,
        identical_runs,
        memory,
        batch_memory,
    })
}

/// A `kB` line of /proc/self/status (`VmRSS`, `VmHWM`), in KiB.
pub(crate) fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Reads our file into a pyarrow Table (untimed), then times `pq.write_table` with the settings DESIGN §10
/// compares against, inside the one Python process; prints one JSON object.
const PYARROW_SCRIPT: &str = r#"
import json, os, sys, time
import pyarrow as pa
import pyarrow.parquet as pq

ours, out, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
table = pq.read_table(ours)
seconds = []
for _ in range(rounds):
    start = time.perf_counter()
    pq.write_table(table, out, compression="zstd", compression_level=3, use_dictionary=True, row_group_size=131072)
    seconds.append(time.perf_counter() - start)
back = pq.read_table(out)
print(json.dumps({
    "version": pa.__version__,
    "rows_read": table.num_rows,
    "columns": table.num_columns,
    "seconds": seconds,
    "bytes": os.path.getsize(out),
    "round_trip_equal": back.equals(table),
    "row_groups_ours": pq.ParquetFile(ours).metadata.num_row_groups,
    "row_groups_pyarrow": pq.ParquetFile(out).metadata.num_row_groups,
}))
"#;

/// Runs the pyarrow side on the file our writer produced; fails unless pyarrow read every row.
pub(crate) fn measure_pyarrow(python: &Path, ours: &Path, rows: usize, rounds: usize) -> Result<PyarrowWrite> {
    let out = ours.with_file_name("cmk_chain.pyarrow.parquet");
    let output = Command::new(python)
        .args(["-c", PYARROW_SCRIPT])
        .arg(ours)
        .arg(&out)
        .arg(rounds.to_string())
        .output()
        .with_context(|| format!("starting {}", python.display()))?;
    if !output.status.success() {
        bail!("the pyarrow bench failed with {}: {}", output.status, String::from_utf8_lossy(&output.stderr));
    }
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("parsing the pyarrow bench output: {}", String::from_utf8_lossy(&output.stdout)))?;
    let number = |key: &str| json[key].as_u64().with_context(|| format!("pyarrow bench output lacks {key}"));
    let result = PyarrowWrite {
        version: json["version"].as_str().unwrap_or("?").to_string(),
        rows_read: number("rows_read")?,
        columns: number("columns")?,
        seconds: json["seconds"].as_array().into_iter().flatten().filter_map(serde_json::Value::as_f64).collect(),
        bytes: number("bytes")?,
        round_trip_equal: json["round_trip_equal"].as_bool().unwrap_or(false),
        row_groups_ours: number("row_groups_ours")?,
        row_groups_pyarrow: number("row_groups_pyarrow")?,
        command: "pq.write_table(table, path, compression=\"zstd\", compression_level=3, use_dictionary=True, \
                  row_group_size=131072)"
            .to_string(),
    };
    ensure!(
        result.rows_read == rows as u64,
        "pyarrow read {} rows back from our {}, expected {rows}",
        result.rows_read,
        ours.display()
    );
    ensure!(result.seconds.len() == rounds, "pyarrow reported {} timings, expected {rounds}", result.seconds.len());
    Ok(result)
}
