//! Running the binary with a time limit, finding its package, and asking DuckDB / pyarrow about it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `cmk-evidence` with `args`, killing it if it runs longer than `limit` (a hang is a failure, not a wait).
pub fn run_binary(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cmk-evidence"))
        .args(args)
        .env("RUST_LOG", "warn")
        // The tests decide every credential; nothing from the developer's shell may leak in.
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("AZURE_FEDERATED_TOKEN_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting cmk-evidence");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("polling cmk-evidence").is_some() {
            return child.wait_with_output().expect("collecting output");
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collecting output");
            panic!(
                "cmk-evidence {args:?} did not finish within {limit:?}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The only package directory under `out` (`<out>/<tenant>/<snapshot>`).
pub fn package_dir(out: &Path) -> PathBuf {
    let mut found = Vec::new();
    for tenant in std::fs::read_dir(out).expect("reading out dir") {
        let tenant = tenant.expect("dir entry").path();
        for snap in std::fs::read_dir(&tenant).expect("reading tenant dir") {
            found.push(snap.expect("dir entry").path());
        }
    }
    assert_eq!(found.len(), 1, "expected exactly one package under {}: {found:?}", out.display());
    found.remove(0)
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
