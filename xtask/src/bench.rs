//! `cargo xtask bench`: the performance targets of DESIGN §10, measured side by side with the peer tool in one
//! run on this machine and reported as ratios (never in timed tests): hashing against openssl, writing
//! `cmk_chain` against pyarrow, the diff of two snapshots against DuckDB, and collecting a generated estate
//! against the simulator's throttling floor. `bench` checks the tools, prepares the Python venv, builds xtask and
//! the collector in release and runs `bench-run`, which measures, prints the table and rewrites BENCHMARKS.md.

// The measuring half needs the workspace's crates and is built only into the release xtask `bench` runs
// (feature `measure`), so the `cargo xtask` everyone builds in debug stays small.
#[cfg(feature = "measure")]
mod chain_rows;
#[cfg(feature = "measure")]
mod collection;
#[cfg(feature = "measure")]
mod diff;
#[cfg(feature = "measure")]
mod hashing;
#[cfg(feature = "measure")]
mod machine;
#[cfg(feature = "measure")]
mod parquet_write;
#[cfg(feature = "measure")]
mod report;
#[cfg(feature = "measure")]
mod snapshots;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{cargo, root, run};

/// Seed of every pseudo-random byte and row the bench makes.
#[cfg(feature = "measure")]
const SEED: u64 = 0x0063_6d6b_2d65_7669; // "cmk-evi"

/// Sizes of one bench run. The defaults are DESIGN §10's; smaller ones are for trying the bench out and never
/// overwrite BENCHMARKS.md.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sizes {
    rows: usize,
    hash_mib: u64,
    rounds: usize,
    /// The generated estate of the collection benchmark.
    resources: usize,
    keys: usize,
    subscriptions: usize,
}

const DESIGN_SIZES: Sizes =
    Sizes { rows: 1_000_000, hash_mib: 512, rounds: 3, resources: 100_000, keys: 2_000, subscriptions: 200 };

#[cfg(feature = "measure")]
impl Sizes {
    fn estate(&self) -> azure_sim::EstateSize {
        azure_sim::EstateSize { resources: self.resources, keys: self.keys, subscriptions: self.subscriptions }
    }
}

pub(crate) const USAGE: &str = "bench  [--rows N] [--hash-mib N] [--rounds N] [--resources N --keys N --subscriptions N] \
                                [--only collection]\n         DESIGN §10 targets against openssl, pyarrow, DuckDB and \
                                the simulator's throttling floor, in release; rewrites BENCHMARKS.md (only at the \
                                default sizes, with every section)";

/// What one bench run measures and at which sizes.
#[derive(Debug)]
struct Options {
    // `bench` only checks the sizes; `bench-run` (feature `measure`) uses them.
    #[cfg_attr(not(feature = "measure"), allow(dead_code))]
    sizes: Sizes,
    /// `--only collection`: section 6 alone (a trial: BENCHMARKS.md is not written).
    only_collection: bool,
}

/// Parses `--rows`, `--hash-mib`, `--rounds`, `--resources`, `--keys`, `--subscriptions`, `--only` and the given
/// extra flags (returned by name).
fn parse_args(args: &[String], extra: &[&str]) -> Result<(Options, Vec<(String, String)>)> {
    let mut sizes = DESIGN_SIZES;
    let mut only_collection = false;
    let mut extras = Vec::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        let number = || value.parse::<u64>().with_context(|| format!("{flag} {value:?} is not a number"));
        let positive = || -> Result<usize> {
            let n = usize::try_from(number()?)?;
            if n == 0 {
                bail!("{flag} must be at least 1");
            }
            Ok(n)
        };
        match flag.as_str() {
            "--rows" => sizes.rows = usize::try_from(number()?)?,
            "--hash-mib" => sizes.hash_mib = number()?,
            "--rounds" => sizes.rounds = usize::try_from(number()?)?.max(1),
            "--resources" => sizes.resources = positive()?,
            "--keys" => sizes.keys = positive()?,
            "--subscriptions" => sizes.subscriptions = positive()?,
            "--only" if value == "collection" => only_collection = true,
            "--only" => bail!("--only {value:?}: the only section that runs alone is `collection`\n{USAGE}"),
            f if extra.contains(&f) => extras.push((f.to_string(), value.clone())),
            f => bail!("unknown bench option {f:?}\n{USAGE}"),
        }
    }
    Ok((Options { sizes, only_collection }, extras))
}

/// GNU time: runs the collector and writes its peak RSS and CPU times (`-f '%M %U %S' -o <file>`).
pub(crate) const GNU_TIME: &str = "/usr/bin/time";

/// Fails with what to do when GNU time is missing: the collection benchmark reads the collector's peak RSS with it.
fn require_gnu_time() -> Result<()> {
    let out = Command::new(GNU_TIME).args(["-f", "%M", "true"]).output();
    match out {
        Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stderr).trim().parse::<u64>().is_ok() => Ok(()),
        _ => bail!(
            "`{GNU_TIME}` (GNU time) is missing or does not take `-f %M`. The collection benchmark reads the \
             collector's peak RSS through it; install it (Debian/Ubuntu: apt-get install time) and run \
             `cargo xtask bench` again"
        ),
    }
}

/// Fails with what to do when `openssl` is not on PATH: the hashing target is relative to it.
fn require_openssl() -> Result<String> {
    let out = Command::new("openssl").arg("version").output();
    match out {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        _ => bail!(
            "`openssl` is not on PATH (or `openssl version` failed). The hashing target of DESIGN §10 is measured \
             against `openssl dgst -sha256`; install it (Debian/Ubuntu: apt-get install openssl) and run \
             `cargo xtask bench` again"
        ),
    }
}

fn command_text(cmd: &mut Command) -> Result<String> {
    let out = cmd.current_dir(root()).output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed with {}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The directory cargo puts release binaries in (`<target-dir>/release`, wherever the target dir is configured).
fn release_dir() -> Result<PathBuf> {
    let metadata = command_text(cargo().args(["metadata", "--format-version", "1", "--no-deps", "--offline"]))?;
    let metadata: serde_json::Value = serde_json::from_str(&metadata).context("parsing cargo metadata")?;
    let target = metadata["target_directory"].as_str().context("cargo metadata names no target_directory")?;
    Ok(Path::new(target).join("release"))
}

fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

/// `cargo xtask bench`: preconditions, then xtask and the collector built in release, then `bench-run`.
pub(crate) fn bench(args: &[String]) -> Result<()> {
    let (options, _) = parse_args(args, &[])?;
    require_gnu_time()?;
    let python = if options.only_collection {
        None
    } else {
        require_openssl()?;
        Some(crate::pyenv()?)
    };
    let commit = command_text(Command::new("git").args(["rev-parse", "--short", "HEAD"]))?;
    let dirty = !command_text(Command::new("git").args(["status", "--porcelain", "--untracked-files=no"]))?.is_empty();
    let date = command_text(Command::new("date").args(["-u", "+%Y-%m-%d"]))?;
    let commit = if dirty { format!("{commit} (with uncommitted changes)") } else { commit };
    // One cargo invocation for both binaries, so the dependencies they share are built once, with one feature set,
    // in the release profile; the collection benchmark runs the collector binary built here.
    run(cargo().args([
        "build",
        "--release",
        "--locked",
        "--quiet",
        "--package",
        "xtask",
        "--features",
        "xtask/measure",
        "--package",
        "cmk-evidence",
    ]))?;
    let mut bench_run = Command::new(release_dir()?.join(exe("xtask")));
    bench_run.arg("bench-run").args(args);
    if let Some(python) = &python {
        bench_run.arg("--python").arg(python);
    }
    run(bench_run.args(["--commit", &commit, "--date", &date]))
}

/// The scratch directory of one run, under `target/` (removed when dropped).
#[cfg(feature = "measure")]
fn scratch_dir() -> Result<tempfile::TempDir> {
    let target_dir = root().join("target");
    std::fs::create_dir_all(&target_dir).with_context(|| format!("creating {}", target_dir.display()))?;
    tempfile::Builder::new()
        .prefix("xtask-bench-")
        .tempdir_in(&target_dir)
        .with_context(|| format!("creating a scratch directory in {}", target_dir.display()))
}

/// The collector `bench` built beside this binary.
#[cfg(feature = "measure")]
fn collector_binary() -> Result<PathBuf> {
    let me = std::env::current_exe().context("finding the running xtask binary")?;
    Ok(me.with_file_name(exe("cmk-evidence")))
}

#[cfg(feature = "measure")]
fn write_report(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("xtask bench: report written to {}", path.display());
    Ok(())
}

/// `bench-run` without the measuring half: says how to get it.
#[cfg(not(feature = "measure"))]
pub(crate) fn bench_run(_args: &[String]) -> Result<()> {
    bail!(
        "this xtask was built without its `measure` feature: run `cargo xtask bench`, which builds the one that has it"
    )
}

/// `bench-run` (started by `bench`): measures, prints the result table and writes the report.
#[cfg(feature = "measure")]
pub(crate) fn bench_run(args: &[String]) -> Result<()> {
    if cfg!(debug_assertions) {
        bail!("bench-run measures optimised code: run it through `cargo xtask bench`, which builds it in release");
    }
    let (options, extras) = parse_args(args, &["--python", "--commit", "--date"])?;
    let sizes = &options.sizes;
    let extra = |name: &str| extras.iter().find(|(f, _)| f == name).map(|(_, v)| v.clone());
    let date = extra("--date").unwrap_or_else(|| "unknown date".into());
    let commit = extra("--commit").unwrap_or_else(|| "unknown commit".into());
    require_gnu_time()?;
    let collector = collector_binary()?;
    if options.only_collection {
        let scratch = scratch_dir()?;
        let collection = collection::measure(scratch.path(), &collector, sizes.estate())?;
        let (text, markdown, missed) = report::collection_only(&collection, &date, &commit);
        println!("{text}");
        write_report(&root().join("target").join("bench").join("COLLECTION.md"), &markdown)?;
        for missed in missed {
            eprintln!("xtask bench: target missed: {missed}");
        }
        return Ok(());
    }
    let python = PathBuf::from(extra("--python").context("bench-run needs --python (run `cargo xtask bench`)")?);
    let openssl_version = require_openssl()?;
    let started = machine::CpuSample::now();
    let mut machine = machine::Machine::collect(&python, openssl_version)?;
    let scratch = scratch_dir()?;

    eprintln!(
        "xtask bench: 1/6 hashing {} MiB, ours vs openssl dgst -sha256, best of {}",
        sizes.hash_mib, sizes.rounds
    );
    let files = hashing::create_package(&scratch.path().join("package"), sizes.hash_mib, SEED)?;
    let cpu = machine::CpuSample::now();
    let hash = hashing::measure(&files, sizes.rounds)?;
    let hash_others = cpu.others_share();
    for f in &files {
        std::fs::remove_file(f).with_context(|| format!("removing {}", f.display()))?;
    }

    eprintln!(
        "xtask bench: 2/6 generating, sorting and writing {} cmk_chain rows, best of {}",
        sizes.rows, sizes.rounds
    );
    let cpu = machine::CpuSample::now();
    let ours = parquet_write::measure_ours(scratch.path(), sizes.rows, SEED, sizes.rounds)?;
    let ours_others = cpu.others_share();

    eprintln!("xtask bench: 3/6 pyarrow pq.write_table on the same rows, best of {}", sizes.rounds);
    let cpu = machine::CpuSample::now();
    let pyarrow = parquet_write::measure_pyarrow(&python, &ours.file, sizes.rows, sizes.rounds)?;
    let pyarrow_others = cpu.others_share();

    eprintln!(
        "xtask bench: 4/6 two snapshots of {} bindings as signed packages (untimed), then verify and diff them, best of {}",
        sizes.rows, sizes.rounds
    );
    let diff_data = diff::prepare(&scratch.path().join("packages"), sizes.rows, SEED)?;
    let cpu = machine::CpuSample::now();
    let diff_ours = diff::measure_ours(&diff_data, scratch.path(), sizes.rounds)?;
    let diff_ours_others = cpu.others_share();

    eprintln!("xtask bench: 5/6 DuckDB: the same classification as one SQL statement, best of {}", sizes.rounds);
    let cpu = machine::CpuSample::now();
    let diff_duck = diff::measure_duckdb(&python, &diff_data, scratch.path(), sizes.rounds)?;
    let diff_duck_others = cpu.others_share();
    // Counts that disagree fail the run, as digests that disagree do; the error shows both.
    diff::check_counts(&diff_ours, &diff_duck)?;

    // Section 6 prints its own progress lines (one per collection).
    let collection = collection::measure(scratch.path(), &collector, sizes.estate())?;

    machine.finish(&started, pyarrow.version.clone());
    let report = report::Report {
        date,
        commit,
        design_sizes: *sizes == DESIGN_SIZES,
        rounds: sizes.rounds,
        machine,
        hash,
        hash_others,
        ours,
        ours_others,
        pyarrow,
        pyarrow_others,
        diff_data,
        diff_ours,
        diff_ours_others,
        diff_duck,
        diff_duck_others,
        collection,
    };
    println!("{}", report.text_table());
    let path = if report.design_sizes {
        root().join("BENCHMARKS.md")
    } else {
        root().join("target").join("bench").join("BENCHMARKS.md")
    };
    write_report(&path, &report.markdown())?;
    for missed in report.missed() {
        eprintln!("xtask bench: target missed: {missed}");
    }
    Ok(())
}
