//! `cargo xtask bench`: the performance targets of DESIGN §10, measured side by side with the peer tool in one
//! run on this machine and reported as ratios (never in timed tests): hashing against openssl, writing
//! `cmk_chain` against pyarrow, the diff of two snapshots against DuckDB. `bench` checks the tools, prepares the
//! Python venv and re-runs xtask in release as `bench-run`, which measures, prints the table and rewrites
//! BENCHMARKS.md.

mod chain_rows;
mod diff;
mod hashing;
mod machine;
mod parquet_write;
mod report;
mod snapshots;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{cargo, root, run};

/// Seed of every pseudo-random byte and row the bench makes.
const SEED: u64 = 0x0063_6d6b_2d65_7669; // "cmk-evi"

/// Sizes of one bench run. The defaults are DESIGN §10's; smaller ones are for trying the bench out and never
/// overwrite BENCHMARKS.md.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sizes {
    rows: usize,
    hash_mib: u64,
    rounds: usize,
}

const DESIGN_SIZES: Sizes = Sizes { rows: 1_000_000, hash_mib: 512, rounds: 3 };

pub(crate) const USAGE: &str = "bench  [--rows N] [--hash-mib N] [--rounds N]  DESIGN §10 targets against openssl, \
                                pyarrow and DuckDB, in release; rewrites BENCHMARKS.md (default sizes only)";

/// Parses `--rows`, `--hash-mib`, `--rounds` and the given extra flags (returned by name).
fn parse_args(args: &[String], extra: &[&str]) -> Result<(Sizes, Vec<(String, String)>)> {
    let mut sizes = DESIGN_SIZES;
    let mut extras = Vec::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        let number = || value.parse::<u64>().with_context(|| format!("{flag} {value:?} is not a number"));
        match flag.as_str() {
            "--rows" => sizes.rows = usize::try_from(number()?)?,
            "--hash-mib" => sizes.hash_mib = number()?,
            "--rounds" => sizes.rounds = usize::try_from(number()?)?.max(1),
            f if extra.contains(&f) => extras.push((f.to_string(), value.clone())),
            f => bail!("unknown bench option {f:?}\n{USAGE}"),
        }
    }
    Ok((sizes, extras))
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

/// `cargo xtask bench`: preconditions, then `bench-run` in release.
pub(crate) fn bench(args: &[String]) -> Result<()> {
    parse_args(args, &[])?;
    require_openssl()?;
    let python = crate::pyenv()?;
    let commit = command_text(Command::new("git").args(["rev-parse", "--short", "HEAD"]))?;
    let dirty = !command_text(Command::new("git").args(["status", "--porcelain", "--untracked-files=no"]))?.is_empty();
    let date = command_text(Command::new("date").args(["-u", "+%Y-%m-%d"]))?;
    let commit = if dirty { format!("{commit} (with uncommitted changes)") } else { commit };
    run(cargo()
        .args(["run", "--release", "--locked", "--quiet", "--package", "xtask", "--", "bench-run"])
        .args(args)
        .arg("--python")
        .arg(&python)
        .args(["--commit", &commit, "--date", &date]))
}

/// `bench-run` (started by `bench`): measures, prints the result table and writes the report.
pub(crate) fn bench_run(args: &[String]) -> Result<()> {
    if cfg!(debug_assertions) {
        bail!("bench-run measures optimised code: run it through `cargo xtask bench`, which builds it in release");
    }
    let (sizes, extras) = parse_args(args, &["--python", "--commit", "--date"])?;
    let extra = |name: &str| extras.iter().find(|(f, _)| f == name).map(|(_, v)| v.clone());
    let python = PathBuf::from(extra("--python").context("bench-run needs --python (run `cargo xtask bench`)")?);
    let openssl_version = require_openssl()?;
    let started = machine::CpuSample::now();
    let mut machine = machine::Machine::collect(&python, openssl_version)?;

    let target_dir = root().join("target");
    std::fs::create_dir_all(&target_dir).with_context(|| format!("creating {}", target_dir.display()))?;
    let scratch = tempfile::Builder::new()
        .prefix("xtask-bench-")
        .tempdir_in(&target_dir)
        .with_context(|| format!("creating a scratch directory in {}", target_dir.display()))?;

    eprintln!(
        "xtask bench: 1/5 hashing {} MiB, ours vs openssl dgst -sha256, best of {}",
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
        "xtask bench: 2/5 generating, sorting and writing {} cmk_chain rows, best of {}",
        sizes.rows, sizes.rounds
    );
    let cpu = machine::CpuSample::now();
    let ours = parquet_write::measure_ours(scratch.path(), sizes.rows, SEED, sizes.rounds)?;
    let ours_others = cpu.others_share();

    eprintln!("xtask bench: 3/5 pyarrow pq.write_table on the same rows, best of {}", sizes.rounds);
    let cpu = machine::CpuSample::now();
    let pyarrow = parquet_write::measure_pyarrow(&python, &ours.file, sizes.rows, sizes.rounds)?;
    let pyarrow_others = cpu.others_share();

    eprintln!(
        "xtask bench: 4/5 two snapshots of {} bindings as signed packages (untimed), then verify and diff them, best of {}",
        sizes.rows, sizes.rounds
    );
    let diff_data = diff::prepare(&scratch.path().join("packages"), sizes.rows, SEED)?;
    let cpu = machine::CpuSample::now();
    let diff_ours = diff::measure_ours(&diff_data, scratch.path(), sizes.rounds)?;
    let diff_ours_others = cpu.others_share();

    eprintln!("xtask bench: 5/5 DuckDB: the same classification as one SQL statement, best of {}", sizes.rounds);
    let cpu = machine::CpuSample::now();
    let diff_duck = diff::measure_duckdb(&python, &diff_data, scratch.path(), sizes.rounds)?;
    let diff_duck_others = cpu.others_share();
    // Counts that disagree fail the run, as digests that disagree do; the error shows both.
    diff::check_counts(&diff_ours, &diff_duck)?;

    machine.finish(&started, pyarrow.version.clone());
    let report = report::Report {
        date: extra("--date").unwrap_or_else(|| "unknown date".into()),
        commit: extra("--commit").unwrap_or_else(|| "unknown commit".into()),
        design_sizes: sizes == DESIGN_SIZES,
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
    };
    println!("{}", report.text_table());
    let path =
        if report.design_sizes { root().join("BENCHMARKS.md") } else { target_dir.join("bench").join("BENCHMARKS.md") };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&path, report.markdown()).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("xtask bench: report written to {}", path.display());
    for missed in report.missed() {
        eprintln!("xtask bench: target missed: {missed}");
    }
    Ok(())
}
