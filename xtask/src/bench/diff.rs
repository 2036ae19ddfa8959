//! Bench 4: the diff of two 1M-binding snapshots. Ours verifies both packages and runs `diff::Differ` over them
//! as the binary does; DuckDB runs the same binding classification as one SQL statement (`diff.sql`). The
//! per-class counts must agree, or the bench fails.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use arrow_array::RecordBatch;
use arrow_schema::ArrowError;
use bundle::{LocalSigningKey, Manifest, TrustAnchors};
use diff::{Differ, Prefetch, Side, SideTables, Snapshot, Summary};
use evidence::Timestamp;
use evidence::tables::coverage::CoverageRow;

use super::snapshots::{self, AFTER_OFFSET_SECONDS};
use crate::counting_alloc::{Usage, Window};

/// The SQL DuckDB runs, with `@name@` placeholders that [`render_sql`] fills.
pub(crate) const DIFF_SQL: &str = include_str!("diff.sql");
/// Where the SQL lives, for the report.
pub(crate) const DIFF_SQL_PATH: &str = "xtask/src/bench/diff.sql";
/// Rows per `cmk_chain` batch read from each package, and batches each side's reader thread keeps ready.
const CHAIN_BATCH_ROWS: usize = 8192;
const PREFETCH_DEPTH: usize = 2;

/// The two packages, written untimed.
#[derive(Debug)]
pub(crate) struct DiffData {
    /// Bindings generated for BEFORE (the bench's `--rows`).
    pub(crate) rows: usize,
    pub(crate) before: PathBuf,
    pub(crate) after: PathBuf,
    pub(crate) rows_before: usize,
    pub(crate) rows_after: usize,
    pub(crate) generate_seconds: f64,
    pub(crate) package_seconds: f64,
    /// Bytes of each side's `tables/cmk_chain.parquet`.
    pub(crate) chain_bytes: (u64, u64),
    trust: TrustAnchors,
}

/// Generates BEFORE and AFTER for `rows` bindings and writes them as signed packages under `dir`.
pub(crate) fn prepare(dir: &Path, rows: usize, seed: u64) -> Result<DiffData> {
    let start = Instant::now();
    let pair = snapshots::generate_pair(rows, seed);
    let generate_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let key = LocalSigningKey::generate();
    let before = snapshots::write_package(dir, &pair.tenant_id, &pair.before, &key)?;
    let after = snapshots::write_package(dir, &pair.tenant_id, &pair.after, &key)?;
    let package_seconds = start.elapsed().as_secs_f64();
    let size = |dir: &Path| -> Result<u64> {
        let path = bundle::table_path(dir, "cmk_chain");
        Ok(std::fs::metadata(&path).with_context(|| format!("reading the size of {}", path.display()))?.len())
    };
    Ok(DiffData {
        rows,
        chain_bytes: (size(&before)?, size(&after)?),
        before,
        after,
        rows_before: pair.before.tables.cmk_chain.len(),
        rows_after: pair.after.tables.cmk_chain.len(),
        generate_seconds,
        package_seconds,
        trust: TrustAnchors { public_keys_pem: vec![key.public_key_pem()?], key_ids: Vec::new() },
    })
}

type ChainBatches = Prefetch<Result<RecordBatch, ArrowError>>;

/// One side as the binary opens it: manifest, the small tables whole, the context, and `cmk_chain` streamed in
/// projected batches decoded on a thread of its own.
fn open_side(dir: &Path) -> Result<Snapshot<ChainBatches>> {
    let (manifest, _) = Manifest::read(dir)?;
    let coverage: Vec<CoverageRow> = bundle::read_table(dir)?;
    let tables = SideTables {
        key_vaults: bundle::read_table(dir)?,
        managed_hsms: bundle::read_table(dir)?,
        keys: bundle::read_table(dir)?,
        key_versions: bundle::read_table(dir)?,
        role_assignments: bundle::read_table(dir)?,
    };
    let taken_at = Timestamp::parse(&manifest.collection.snapshot_time)
        .with_context(|| format!("{}: snapshot_time {:?}", dir.display(), manifest.collection.snapshot_time))?;
    let side = Side::new(&manifest.snapshot_id, taken_at, &manifest.collection.scopes, &coverage, &tables.key_versions);
    let batches = bundle::table_batches(dir, "cmk_chain", diff::CHAIN_COLUMNS, CHAIN_BATCH_ROWS)?;
    Ok(Snapshot { tenant_id: manifest.tenant_id, side, tables, chain: diff::prefetch(batches, PREFETCH_DEPTH) })
}

/// The Differ on a thread of its own; when it is exhausted its summary goes back through `summary`.
struct DifferThread {
    differ: Option<Differ<ChainBatches, ChainBatches>>,
    summary: mpsc::Sender<Summary>,
}

impl Iterator for DifferThread {
    type Item = Result<RecordBatch, diff::Error>;
    fn next(&mut self) -> Option<Self::Item> {
        let next = self.differ.as_mut()?.next();
        if next.is_none()
            && let Some(differ) = self.differ.take()
        {
            // The receiver is gone only if the writer already failed; its error is reported instead.
            let _ = self.summary.send(differ.into_summary());
        }
        next
    }
}

/// What one diff produced.
#[derive(Debug)]
struct DiffRun {
    summary: Summary,
    sha256: String,
    bytes: u64,
    rows: u64,
}

/// One diff of the two packages into `out`: both sides opened, the Differ on its own thread fed by the two
/// reader threads, `bundle::write_batches` on the calling thread.
fn diff_once(before: &Path, after: &Path, out: &Path) -> Result<DiffRun> {
    let differ = Differ::new(open_side(before)?, open_side(after)?);
    let (sender, receiver) = mpsc::channel();
    let batches = diff::prefetch(DifferThread { differ: Some(differ), summary: sender }, PREFETCH_DEPTH);
    let file = File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let (buffered, sha256, bytes, rows) =
        bundle::write_batches("diff", diff::output::schema(), batches, BufWriter::new(file), out)?;
    buffered.into_inner().map_err(|e| e.into_error()).with_context(|| format!("flushing {}", out.display()))?;
    let summary = receiver.recv().context("the diff thread ended without a summary")?;
    Ok(DiffRun { summary, sha256, bytes, rows })
}

/// Where the time of one diff goes, each part measured alone on one thread in one more untimed run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Phases {
    /// Reading both sides' manifests and small tables and building the two `Side`s.
    pub(crate) open_seconds: f64,
    /// Decoding both `cmk_chain` files (projected to `diff::CHAIN_COLUMNS`, 8 Ki-row batches) into memory.
    pub(crate) decode_seconds: f64,
    /// The Differ over those decoded batches, its output batches kept in memory: merge, classification, output
    /// columns, summary.
    pub(crate) differ_seconds: f64,
    /// `bundle::write_batches` of that output alone.
    pub(crate) write_seconds: f64,
}

fn decoded(dir: &Path) -> Result<Vec<Result<RecordBatch, ArrowError>>> {
    Ok(bundle::table_batches(dir, "cmk_chain", diff::CHAIN_COLUMNS, CHAIN_BATCH_ROWS)?.collect())
}

fn measure_phases(data: &DiffData, scratch: &Path) -> Result<Phases> {
    let start = Instant::now();
    let (before, after) = (open_side(&data.before)?, open_side(&data.after)?);
    let open_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let (before_batches, after_batches) = (decoded(&data.before)?, decoded(&data.after)?);
    let decode_seconds = start.elapsed().as_secs_f64();
    let in_memory = |s: Snapshot<ChainBatches>, batches: Vec<Result<RecordBatch, ArrowError>>| Snapshot {
        tenant_id: s.tenant_id,
        side: s.side,
        tables: s.tables,
        chain: batches.into_iter(),
    };
    let (before, after) = (in_memory(before, before_batches), in_memory(after, after_batches));
    let start = Instant::now();
    let output = Differ::new(before, after).collect::<Result<Vec<RecordBatch>, diff::Error>>()?;
    let differ_seconds = start.elapsed().as_secs_f64();
    let path = scratch.join("diff.phase.parquet");
    let start = Instant::now();
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let batches = output.into_iter().map(Ok::<_, ArrowError>);
    let (buffered, ..) = bundle::write_batches("diff", diff::output::schema(), batches, BufWriter::new(file), &path)?;
    buffered.into_inner().map_err(|e| e.into_error()).with_context(|| format!("flushing {}", path.display()))?;
    let write_seconds = start.elapsed().as_secs_f64();
    std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    Ok(Phases { open_seconds, decode_seconds, differ_seconds, write_seconds })
}

/// What the diff bench measured on our side.
#[derive(Debug)]
pub(crate) struct OurDiff {
    /// `bundle::verify_package` of (before, after), seconds per round.
    pub(crate) verify_seconds: Vec<(f64, f64)>,
    /// The diff, seconds per round.
    pub(crate) seconds: Vec<f64>,
    pub(crate) phases: Phases,
    /// Allocations during one more, untimed, diff.
    pub(crate) memory: Usage,
    /// Bindings per class, in `diff::BINDING_CLASSES` order.
    pub(crate) counts: Vec<(&'static str, u64)>,
    /// Vault, key-version and role-assignment rows per `subject/class`.
    pub(crate) other_changes: BTreeMap<String, u64>,
    pub(crate) output_rows: u64,
    pub(crate) output_bytes: u64,
    pub(crate) sha256: String,
    /// Whether every run wrote the same bytes.
    pub(crate) identical_runs: bool,
}

fn verify(dir: &Path, trust: &TrustAnchors) -> Result<()> {
    let report = bundle::verify_package(dir, trust);
    if !report.holds() {
        let problems: Vec<String> = report.problems.iter().map(|p| format!("{}: {}", p.file, p.what)).collect();
        bail!("package {} does not verify:\n  {}", dir.display(), problems.join("\n  "));
    }
    Ok(())
}

/// Verifies and diffs the two packages `rounds` times (timed), then once more with the allocation counter on.
pub(crate) fn measure_ours(data: &DiffData, scratch: &Path, rounds: usize) -> Result<OurDiff> {
    let file = scratch.join("diff.parquet");
    let mut verify_seconds = Vec::new();
    let mut seconds = Vec::new();
    let mut hashes = Vec::new();
    let mut last = None;
    for _ in 0..rounds {
        let start = Instant::now();
        verify(&data.before, &data.trust)?;
        let before = start.elapsed().as_secs_f64();
        let start = Instant::now();
        verify(&data.after, &data.trust)?;
        verify_seconds.push((before, start.elapsed().as_secs_f64()));

        let start = Instant::now();
        let run = diff_once(&data.before, &data.after, &file)?;
        seconds.push(start.elapsed().as_secs_f64());
        hashes.push(run.sha256.clone());
        last = Some(run);
    }
    let phases = measure_phases(data, scratch)?;
    let window = Window::open();
    let counted = diff_once(&data.before, &data.after, &file)?;
    let memory = window.close();
    hashes.push(counted.sha256.clone());
    let run = last.unwrap_or(counted);
    let identical_runs = hashes.iter().all(|h| *h == run.sha256);
    let counts =
        diff::BINDING_CLASSES.iter().map(|c| (c.as_str(), run.summary.by_class.get(c).copied().unwrap_or(0))).collect();
    Ok(OurDiff {
        verify_seconds,
        seconds,
        phases,
        memory,
        counts,
        other_changes: run.summary.other_changes.clone(),
        output_rows: run.rows,
        output_bytes: run.bytes,
        sha256: run.sha256,
        identical_runs,
    })
}

fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn sql_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| sql_string(s)).collect();
    format!("[{}]::VARCHAR[]", items.join(", "))
}

/// `diff.sql` with the placeholders filled for the two packages; DuckDB's output goes to `out`.
pub(crate) fn render_sql(before: &Path, after: &Path, out: &Path) -> Result<String> {
    let (before_manifest, _) = Manifest::read(before)?;
    let (after_manifest, _) = Manifest::read(after)?;
    let after_taken_at = Timestamp::parse(&after_manifest.collection.snapshot_time)
        .with_context(|| format!("{}: snapshot_time", after.display()))?;
    let table = |dir: &Path, name: &str| sql_string(&bundle::table_path(dir, name).display().to_string());
    let fills = [
        ("@before_chain@", table(before, "cmk_chain")),
        ("@after_chain@", table(after, "cmk_chain")),
        ("@before_versions@", table(before, "key_versions")),
        ("@after_versions@", table(after, "key_versions")),
        ("@before_coverage@", table(before, "coverage")),
        ("@after_coverage@", table(after, "coverage")),
        ("@before_scopes@", sql_list(&before_manifest.collection.scopes)),
        ("@after_scopes@", sql_list(&after_manifest.collection.scopes)),
        ("@after_taken_at_us@", after_taken_at.micros().to_string()),
        ("@out@", sql_string(&out.display().to_string())),
    ];
    let mut sql = DIFF_SQL.to_string();
    for (placeholder, value) in fills {
        ensure!(sql.contains(placeholder), "{DIFF_SQL_PATH} lacks the placeholder {placeholder}");
        sql = sql.replace(placeholder, &value);
    }
    Ok(sql)
}

/// What DuckDB reported from inside its own process.
#[derive(Debug)]
pub(crate) struct DuckDiff {
    pub(crate) version: String,
    pub(crate) threads: String,
    pub(crate) seconds: Vec<f64>,
    /// Rows per class of its output.
    pub(crate) counts: BTreeMap<String, u64>,
    pub(crate) rows: u64,
    pub(crate) bytes: u64,
}

/// Times the statement inside one Python process, then counts its output per class (untimed).
const DUCKDB_SCRIPT: &str = r#"
import json, os, sys, time
import duckdb

sql_path, out, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(sql_path) as f:
    sql = f.read()
con = duckdb.connect()
# Its progress bar would print to stdout on long statements.
con.execute("SET enable_progress_bar = false")
seconds = []
for _ in range(rounds):
    start = time.perf_counter()
    con.execute(sql)
    seconds.append(time.perf_counter() - start)
counts = dict(con.execute("SELECT class, count(*) FROM read_parquet($1) GROUP BY class", [out]).fetchall())
print(json.dumps({
    "version": duckdb.__version__,
    "threads": str(con.execute("SELECT current_setting('threads')").fetchone()[0]),
    "seconds": seconds,
    "counts": counts,
    "rows": sum(counts.values()),
    "bytes": os.path.getsize(out),
}))
"#;

/// Runs the DuckDB side on the same two packages.
pub(crate) fn measure_duckdb(python: &Path, data: &DiffData, scratch: &Path, rounds: usize) -> Result<DuckDiff> {
    let out = scratch.join("duck.parquet");
    let sql_file = scratch.join("diff.rendered.sql");
    let sql = render_sql(&data.before, &data.after, &out)?;
    std::fs::write(&sql_file, sql).with_context(|| format!("writing {}", sql_file.display()))?;
    let output = Command::new(python)
        .args(["-c", DUCKDB_SCRIPT])
        .arg(&sql_file)
        .arg(&out)
        .arg(rounds.to_string())
        .output()
        .with_context(|| format!("starting {}", python.display()))?;
    if !output.status.success() {
        bail!(
            "the DuckDB diff ({}) failed with {}: {}",
            sql_file.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("parsing the DuckDB bench output: {}", String::from_utf8_lossy(&output.stdout)))?;
    let number = |key: &str| json[key].as_u64().with_context(|| format!("DuckDB bench output lacks {key}"));
    let counts = json["counts"]
        .as_object()
        .context("DuckDB bench output lacks counts")?
        .iter()
        .map(|(class, n)| Ok((class.clone(), n.as_u64().with_context(|| format!("count of {class}"))?)))
        .collect::<Result<BTreeMap<_, _>>>()?;
    let result = DuckDiff {
        version: json["version"].as_str().unwrap_or("?").to_string(),
        threads: json["threads"].as_str().unwrap_or("?").to_string(),
        seconds: json["seconds"].as_array().into_iter().flatten().filter_map(serde_json::Value::as_f64).collect(),
        counts,
        rows: number("rows")?,
        bytes: number("bytes")?,
    };
    ensure!(result.seconds.len() == rounds, "DuckDB reported {} timings, expected {rounds}", result.seconds.len());
    Ok(result)
}

/// Fails, printing both, when DuckDB's per-class counts differ from ours.
pub(crate) fn check_counts(ours: &OurDiff, duck: &DuckDiff) -> Result<()> {
    let mut lines = vec![format!("{:<28} {:>10} {:>10}", "class", "ours", "duckdb")];
    let mut differ = false;
    for (class, n) in &ours.counts {
        let d = duck.counts.get(*class).copied().unwrap_or(0);
        differ |= d != *n;
        lines.push(format!("{class:<28} {n:>10} {d:>10}{}", if d == *n { "" } else { "   <- differs" }));
    }
    for (class, d) in duck.counts.iter().filter(|(c, _)| !ours.counts.iter().any(|(o, _)| o == c)) {
        differ = true;
        lines.push(format!("{class:<28} {:>10} {d:>10}   <- not a binding class", 0));
    }
    if differ {
        bail!("the diff's per-class counts differ between ours and DuckDB ({}):\n{}", DIFF_SQL_PATH, lines.join("\n"));
    }
    Ok(())
}

/// Hours between the two snapshots, for the report.
pub(crate) fn hours_apart() -> i64 {
    AFTER_OFFSET_SECONDS / 3_600
}

#[cfg(test)]
mod tests;
