//! Running the binary with a time limit, finding its package, and asking DuckDB / pyarrow about it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `cmk-evidence` with `args`, killing it if it runs longer than `limit` (a hang is a failure, not a wait).
/// No `AZURE_*` variable from the developer's shell leaks in.
pub fn run_binary(args: &[&str], limit: Duration) -> Output {
    run_binary_env(args, &[], limit)
}

fn visible_dirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("reading a directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect()
}

/// Every package directory under `out` (`<out>/<tenant>/<snapshot>`), oldest snapshot first; key files and
/// diff folders (`<out>/diff-*`, which hold files only) are not packages.
pub fn package_dirs(out: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for tenant in visible_dirs(out) {
        found.extend(visible_dirs(&tenant));
    }
    found.sort_by_key(|p| p.file_name().map(|n| n.to_os_string()));
    found
}

/// The first package under `out`: the only one of a `collect`, the first collection of a `demo` (whose drill
/// writes a second).
pub fn package_dir(out: &Path) -> PathBuf {
    let found = package_dirs(out);
    assert!(!found.is_empty() && found.len() <= 2, "expected one or two packages under {}: {found:?}", out.display());
    found[0].clone()
}

/// The Python with duckdb and pyarrow that `cargo xtask ci` prepares. Tests that need it fail (never skip)
/// when it is missing, saying how to get it.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("CMK_EVIDENCE_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/python");
    assert!(
        venv.exists(),
        "no Python with duckdb/pyarrow: run the tests with `cargo xtask ci` (or `cargo xtask pyenv` once), \
         or set CMK_EVIDENCE_PYTHON"
    );
    venv
}

/// Runs `sql` in DuckDB (the real `duckdb` Python package) and returns the rows as JSON objects.
pub fn duckdb(sql: &str) -> Vec<serde_json::Value> {
    let script = r#"
import duckdb, json, sys
con = duckdb.connect()
cur = con.execute(sys.argv[1])
cols = [d[0] for d in cur.description]
rows = [dict(zip(cols, r)) for r in cur.fetchall()]
print(json.dumps(rows, default=str))
"#;
    let out = Command::new(python()).arg("-c").arg(script).arg(sql).output().expect("running python");
    assert!(out.status.success(), "duckdb query failed: {sql}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("duckdb output is JSON")
}

/// Reads a Parquet file with pyarrow and returns (row count, column names).
pub fn pyarrow_shape(path: &Path) -> (u64, Vec<String>) {
    let script = r#"
import pyarrow.parquet as pq, json, sys
t = pq.read_table(sys.argv[1])
print(json.dumps([t.num_rows, t.column_names]))
"#;
    let out = Command::new(python()).arg("-c").arg(script).arg(path).output().expect("running python");
    assert!(out.status.success(), "pyarrow failed on {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("pyarrow output is JSON")
}

/// A standalone `cmk-evidence sim` on loopback, killed when dropped.
pub struct StandaloneSim {
    child: std::process::Child,
    /// The address it listens on.
    pub addr: String,
}

impl StandaloneSim {
    /// Starts `cmk-evidence sim` with the default scenario and waits for its address.
    pub fn start() -> Self {
        Self::start_with("default")
    }

    /// Starts `cmk-evidence sim --scenario <scenario>` (a built-in name or a TOML file) and waits for its address.
    pub fn start_with(scenario: &str) -> Self {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new(env!("CARGO_BIN_EXE_cmk-evidence"))
            .args(["sim", "--port", "0", "--scenario", scenario])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting cmk-evidence sim");
        let mut stderr = child.stderr.take().expect("sim stderr");
        let stdout = child.stdout.take().expect("sim stdout");
        let mut reader = BufReader::new(stdout);
        let mut first = String::new();
        reader.read_line(&mut first).expect("reading the sim's first line");
        // Keep reading what it prints, so it never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let Some(addr) = first.split_whitespace().find(|w| w.starts_with("127.0.0.1:")).map(str::to_string) else {
            let mut message = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut message);
            panic!("sim did not print its address: {first:?}\n{message}");
        };
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Self { child, addr }
    }
}

impl Drop for StandaloneSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The default scenario's tenant and service principal (simulator-only test data).
pub const SIM_TENANT: &str = "f6fadfa7-e5c1-4b62-9362-da5cc13da58a";
/// Client id the simulator accepts.
pub const SIM_CLIENT_ID: &str = "fab36728-a78b-4b7e-8787-c0de2f960063";
/// Secret the simulator accepts.
pub const SIM_SECRET: &str = "Kq8~sim.contoso-evidence-collector.loopback-only";

/// Runs `cmk-evidence` with extra environment variables.
pub fn run_binary_env(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cmk-evidence"));
    cmd.args(args)
        .env("RUST_LOG", "warn")
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("AZURE_FEDERATED_TOKEN_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("starting cmk-evidence");
    // Drain both pipes while waiting: a child whose output outgrows the pipe buffer would otherwise block.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("polling cmk-evidence") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = stderr.join().unwrap_or_default();
            panic!("cmk-evidence {args:?} did not finish within {limit:?}\n{}", String::from_utf8_lossy(&stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() }
}

/// Runs an outside tool (sha256sum, openssl) in `dir`; fails the test if the tool is missing.
pub fn tool(program: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed by this test and could not be run ({e}); .ci/run installs it"))
}

/// `cmk-evidence collect` from a standalone simulator at the fixed snapshot `time`, signed with `key` if given.
pub fn collect_from(sim: &StandaloneSim, out: &Path, time: &str, key: Option<&Path>) -> Output {
    collect_with(sim, out, time, key, "graph")
}

/// [`collect_from`] with `--discovery graph|arm`.
pub fn collect_with(sim: &StandaloneSim, out: &Path, time: &str, key: Option<&Path>, discovery: &str) -> Output {
    let out = out.to_str().expect("utf-8");
    let mut args = vec!["collect", "--tenant", SIM_TENANT, "--credential", "client-secret", "--simulator", &sim.addr];
    args.extend(["--snapshot-time", time, "--max-retry-after", "2", "--out", out, "--discovery", discovery]);
    if let Some(key) = key {
        args.extend(["--signing-key", key.to_str().expect("utf-8")]);
    }
    run_binary_env(&args, &[("AZURE_CLIENT_ID", SIM_CLIENT_ID), ("AZURE_CLIENT_SECRET", SIM_SECRET)], COLLECT_LIMIT)
}

/// Time limit of one collection from the simulator.
const COLLECT_LIMIT: Duration = Duration::from_secs(120);
