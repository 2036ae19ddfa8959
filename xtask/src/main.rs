//! Project automation in Rust (`cargo xtask <task>`): `ci` runs exactly what CI runs; `arch` and `tidy` are
//! the checks that keep the architecture and conventions true; `pyenv` prepares the Python tools the
//! interoperability tests read our Parquet with; `bench` measures DESIGN §10's targets (bench.rs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

mod bench;
// Its counting windows are opened only by the measuring half of the bench (feature `measure`).
#[cfg_attr(not(feature = "measure"), allow(dead_code))]
mod counting_alloc;

/// Counts allocations only while the bench opens a window on it; otherwise the system allocator.
#[global_allocator]
static ALLOCATOR: counting_alloc::CountingAlloc = counting_alloc::CountingAlloc;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    match task {
        "ci" => ci(),
        "arch" => arch(),
        "tidy" => tidy(),
        "pyenv" => pyenv().map(|p| println!("{}", p.display())),
        "bench" => bench::bench(&args[1..]),
        "bench-run" => bench::bench_run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n\
                 tasks:\n  \
                 ci     fmt --check, clippy -D warnings, arch, tidy, then every test (prepares the Python venv first)\n  \
                 arch   check the crate dependency-direction rules of DESIGN §2\n  \
                 tidy   check file conventions (//! headers, no stubs)\n  \
                 pyenv  create target/pyenv with duckdb and pyarrow; print its python\n  \
                 {}",
                bench::USAGE
            );
            if task == "help" { Ok(()) } else { bail!("unknown task {task:?}") }
        }
    }
}

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd.current_dir(root()).status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn ci() -> Result<()> {
    run(cargo().args(["fmt", "--all", "--check"]))?;
    arch()?;
    tidy()?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    let python = pyenv()?;
    require_chromium()?;
    let (passed, failed) = run_tests(
        cargo().args(["test", "--workspace", "--all-features", "--locked"]).env("CMK_EVIDENCE_PYTHON", &python),
    )?;
    eprintln!("xtask: ci passed");
    // One closing line for the whole suite: cargo's own last line is a doc-test binary's, often "0 passed".
    println!("tests: {passed} passed, {failed} failed");
    Ok(())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// The report tests render `report.html` in a real headless browser. When `chromium` is missing and this is a
/// Debian-like machine where packages can be installed without a prompt (root, or password-less sudo), it is
/// installed; otherwise the run stops here saying how to get it (the tests would fail without it, never skip).
fn require_chromium() -> Result<()> {
    if on_path("chromium") {
        return Ok(());
    }
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let sudo =
        !root && on_path("sudo") && Command::new("sudo").args(["-n", "true"]).status().is_ok_and(|s| s.success());
    if on_path("apt-get") && (root || sudo) {
        eprintln!("xtask: chromium is missing; installing the Debian package (the report tests need a real browser)");
        let apt = |args: &[&str]| {
            let mut cmd = if root { Command::new("apt-get") } else { Command::new("sudo") };
            if !root {
                cmd.args(["-n", "apt-get"]);
            }
            cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
            run(&mut cmd)
        };
        apt(&["update", "-qq"])?;
        apt(&["install", "-y", "-qq", "chromium"])?;
    }
    if !on_path("chromium") {
        bail!("chromium is not on PATH: install chromium (Debian: apt-get install chromium; .ci/run does it)");
    }
    Ok(())
}

/// Runs a `cargo test` command, echoing its output, and adds up the `test result:` lines of every test binary.
fn run_tests(cmd: &mut Command) -> Result<(u64, u64)> {
    use std::io::{BufRead, BufReader};
    eprintln!("xtask: running {cmd:?}");
    let mut child = cmd
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {cmd:?}"))?;
    let (mut passed, mut failed) = (0u64, 0u64);
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.context("reading cargo test output")?;
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                passed += count_before(rest, " passed");
                failed += count_before(rest, " failed");
            }
        }
    }
    let status = child.wait().context("waiting for cargo test")?;
    if !status.success() {
        println!("tests: {passed} passed, {failed} failed");
        bail!("{cmd:?} failed with {status}");
    }
    Ok((passed, failed))
}

/// The number just before `label` in a `test result:` line (`ok. 12 passed; 0 failed; ...`).
fn count_before(text: &str, label: &str) -> u64 {
    text.find(label)
        .and_then(|end| text[..end].rsplit(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Creates (once) a virtual environment under `target/pyenv` with duckdb and pyarrow, the tools users read
/// our Parquet with. Returns the path of its python.
pub(crate) fn pyenv() -> Result<PathBuf> {
    let dir = root().join("target").join("pyenv");
    let python = dir.join("bin").join("python");
    let ready = dir.join(".ready");
    if ready.exists() && python.exists() {
        return Ok(python);
    }
    let system_python = ["python3", "python"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success()))
        .context("no python3 found: the interoperability tests need it to run DuckDB and pyarrow")?;
    if !python.exists() {
        run(Command::new(system_python).args(["-m", "venv"]).arg(&dir))?;
    }
    run(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "duckdb",
        "pyarrow",
    ]))?;
    std::fs::write(&ready, b"duckdb pyarrow\n").with_context(|| format!("writing {}", ready.display()))?;
    Ok(python)
}

/// DESIGN §2: which workspace crates each crate may depend on (normal and build dependencies).
fn allowed_deps(package: &str) -> Option<&'static [&'static str]> {
    Some(match package {
        "evidence" | "azure-rest" | "azure-sim" => &[],
        // The shared collector glue is where the two meet; collectors may use it, never each other.
        "collect-common" => &["evidence", "azure-rest"],
        p if p.starts_with("collect-") => &["evidence", "azure-rest", "collect-common"],
        "bundle" | "diff" | "findings" => &["evidence"],
        "cmk-evidence" | "xtask" => return None,
        _ => &[],
    })
}

fn arch() -> Result<()> {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root())
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).context("parsing cargo metadata")?;
    let packages = meta["packages"].as_array().context("cargo metadata has no packages")?;
    let members: Vec<String> = packages.iter().filter_map(|p| p["name"].as_str().map(String::from)).collect();
    let mut violations = Vec::new();
    let mut graph: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in packages {
        let name = p["name"].as_str().unwrap_or_default().to_string();
        let deps = p["dependencies"].as_array().cloned().unwrap_or_default();
        for d in deps {
            let dep = d["name"].as_str().unwrap_or_default().to_string();
            let kind = d["kind"].as_str().unwrap_or("normal");
            if !members.contains(&dep) || kind == "dev" {
                continue;
            }
            graph.entry(name.clone()).or_default().push(dep.clone());
            if let Some(allowed) = allowed_deps(&name)
                && !allowed.contains(&dep.as_str())
            {
                violations.push(format!("{name} depends on {dep}; allowed: {allowed:?}"));
            }
        }
    }
    for (name, deps) in &graph {
        eprintln!("xtask arch: {name} -> {}", deps.join(", "));
    }
    if !violations.is_empty() {
        bail!("dependency-direction rule of DESIGN §2 broken:\n  {}", violations.join("\n  "));
    }
    // Library crates must not use anyhow (DESIGN §2: one thiserror enum per library crate).
    for p in packages {
        let name = p["name"].as_str().unwrap_or_default();
        if allowed_deps(name).is_some()
            && p["dependencies"].as_array().into_iter().flatten().any(|d| d["name"] == "anyhow" && d["kind"].is_null())
        {
            violations.push(format!("library crate {name} depends on anyhow"));
        }
    }
    if !violations.is_empty() {
        bail!("{}", violations.join("\n"));
    }
    eprintln!("xtask arch: ok");
    Ok(())
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out)?;
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

fn tidy() -> Result<()> {
    let mut files = Vec::new();
    for dir in ["crates", "xtask", "tests"] {
        rust_files(&root().join(dir), &mut files)?;
    }
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let rel = file.strip_prefix(root()).unwrap_or(file).display().to_string();
        if !text.trim_start().starts_with("//!") {
            problems.push(format!("{rel}: does not start with a //! doc comment saying what it is for"));
        }
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for stub in [concat!("todo", "!("), concat!("unimplemented", "!(")] {
                if code.contains(stub) {
                    problems.push(format!("{rel}:{}: stub {stub}", i + 1));
                }
            }
        }
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        if ["utils", "helpers", "common", "manager"].contains(&stem) {
            problems.push(format!("{rel}: module names like `{stem}` say nothing (STYLE rule 3)"));
        }
    }
    if !problems.is_empty() {
        bail!("tidy found {} problem(s):\n  {}", problems.len(), problems.join("\n  "));
    }
    eprintln!("xtask tidy: {} files ok", files.len());
    Ok(())
}
