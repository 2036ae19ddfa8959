//! The report an auditor opens, rendered by a real browser: the demo's packages hold `REPORT.md` and
//! `report.html`; headless Chromium (Debian's `chromium`) renders the HTML with no network, the rendered DOM
//! has every table with one row per row of the package's own tables (counted by DuckDB), and a screenshot of
//! it is a real, non-blank picture of the size asked for.
//!
//! These tests need `chromium` on PATH and fail (never skip) without it: `.ci/run` installs it.

use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{duckdb, package_dirs, run_binary};

const DEMO_LIMIT: Duration = Duration::from_secs(180);
/// One browser run; a hang is a failure, not a wait.
const BROWSER_LIMIT: Duration = Duration::from_secs(60);
const WIDTH: u32 = 1400;
const HEIGHT: u32 = 2200;
/// A blank 1400×2200 page is about 14 KB as PNG, Chromium's "file not found" page about 27 KB, a page with one
/// heading and a line of text about 18 KB (measured with Chromium 148); the top of a report, with its tables,
/// is several hundred KB.
const NOT_BLANK_BYTES: u64 = 100 * 1024;
/// What the rotation section says in a tenant's first package.
const NO_PREVIOUS: &str = "no previous package of this tenant in this archive";

/// The `chromium` on PATH; fails saying how to get it.
fn chromium() -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`chromium` is not on PATH: the report tests render report.html in a real headless browser. \
                 Install it (Debian: apt-get install chromium); .ci/run does it"
            )
        })
}

/// Runs headless Chromium with `args` and its own profile, without network (every host name resolves to
/// nothing), killing its whole process group if it runs longer than [`BROWSER_LIMIT`].
fn run_chromium(args: &[String]) -> Output {
    let profile = tempfile::tempdir().expect("temp profile dir");
    let mut cmd = Command::new(chromium());
    cmd.args(["--headless", "--no-sandbox", "--disable-gpu"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args([
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a hung browser is killed with its renderer and zygote.
        .process_group(0);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("starting chromium ({e}); .ci/run installs it"));
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let group = format!("-{}", child.id());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("polling chromium") {
            break status;
        }
        if started.elapsed() > BROWSER_LIMIT {
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            let stderr = stderr.join().unwrap_or_default();
            panic!("chromium {args:?} did not finish within {BROWSER_LIMIT:?}\n{}", String::from_utf8_lossy(&stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Helpers it left behind, if any, go with it.
    let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
    let output =
        Output { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() };
    assert!(output.status.success(), "chromium {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    output
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().expect("absolute path").display())
}

/// The demo's two packages (before and after the drill) and the demo's output folder.
fn demo() -> (tempfile::TempDir, Vec<PathBuf>) {
    let out = tempfile::tempdir().expect("temp dir");
    let output = run_binary(&["demo", "--out", out.path().to_str().expect("utf-8 temp path")], DEMO_LIMIT);
    assert!(output.status.success(), "demo failed: {}", String::from_utf8_lossy(&output.stderr));
    let packages = package_dirs(out.path());
    assert_eq!(packages.len(), 2, "the demo writes a package before and one after its drill: {packages:?}");
    (out, packages)
}

/// WIRING (package.rs): every package holds `REPORT.md` and `report.html`, listed in `SHA256SUMS` and in the
/// manifest, so the signature covers them. Until package.rs writes them, the report tests fail here.
fn report_of(package: &Path) -> PathBuf {
    let html = package.join("report.html");
    let md = package.join("REPORT.md");
    assert!(
        html.is_file() && md.is_file(),
        "WIRING: {} has no report.html / REPORT.md: package.rs must write report::html and report::markdown \
         into every package",
        package.display()
    );
    let sums = std::fs::read_to_string(package.join("SHA256SUMS")).expect("SHA256SUMS");
    let manifest = std::fs::read_to_string(package.join("manifest.json")).expect("manifest.json");
    for name in ["REPORT.md", "report.html"] {
        assert!(sums.lines().any(|l| l.ends_with(&format!("  {name}"))), "WIRING: SHA256SUMS does not list {name}");
        assert!(manifest.contains(&format!("\"{name}\"")), "WIRING: manifest.json does not list {name}");
    }
    html
}

/// `<tr>` elements of the rendered table with `id` (header row included); `None` when there is no such table.
fn table_rows(dom: &str, id: &str) -> Option<usize> {
    let start = dom.find(&format!("<table id=\"{id}\""))?;
    let end = start + dom[start..].find("</table>").expect("a closed table");
    Some(dom[start..end].matches("<tr").count())
}

/// One number from DuckDB.
fn count(sql: &str) -> usize {
    let rows = duckdb(sql);
    rows[0]["n"].as_u64().unwrap_or_else(|| panic!("no count from {sql}: {rows:?}")) as usize
}

/// The rendered table's expected `<tr>` count: header + one per row, and no table at all without rows.
fn expected(rows: usize) -> Option<usize> {
    (rows > 0).then_some(rows + 1)
}

/// Body rows of the first Markdown table after the `heading` line.
fn md_table_rows(markdown: &str, heading: &str) -> usize {
    let at = markdown.find(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("REPORT.md has no {heading:?}"));
    let table = markdown[at..].lines().skip_while(|l| !l.starts_with('|')).take_while(|l| l.starts_with('|'));
    table.count().checked_sub(2).expect("a header and a delimiter row")
}

/// The DOM Chromium built from the report.
fn render_dom(html: &Path) -> String {
    let output = run_chromium(&["--dump-dom".to_string(), file_url(html)]);
    let dom = String::from_utf8(output.stdout).expect("the DOM is UTF-8");
    assert!(dom.contains("</html>"), "chromium printed no DOM: {}", String::from_utf8_lossy(&output.stderr));
    dom
}

/// Checks the tables of a rendered report against the package's own tables.
fn assert_tables_match(dom: &str, package: &Path) {
    let table = |name: &str| format!("'{}/tables/{name}.parquet'", package.display());
    let (chain, findings, coverage) = (table("cmk_chain"), table("findings"), table("coverage"));
    let want = [
        (
            "t-services",
            count(&format!(
                "SELECT count(DISTINCT t) AS n FROM (SELECT resource_type AS t FROM {chain} \
                 UNION ALL SELECT coalesce(resource_type, chr(0)) FROM {findings})"
            )),
        ),
        ("t-findings", count(&format!("SELECT count(*) AS n FROM {findings}"))),
        ("t-chain", count(&format!("SELECT count(*) AS n FROM {chain}"))),
        (
            "t-gaps",
            count(&format!(
                "SELECT count(*) AS n FROM {coverage} WHERE status NOT IN ('not_supported', 'not_assessed')"
            )),
        ),
        ("t-not-supported", count(&format!("SELECT count(*) AS n FROM {coverage} WHERE status = 'not_supported'"))),
        (
            "t-not-assessed",
            count(&format!("SELECT count(DISTINCT resource_type) AS n FROM {coverage} WHERE status = 'not_assessed'")),
        ),
    ];
    for (id, rows) in want {
        assert_eq!(table_rows(dom, id), expected(rows), "rendered table {id}: header + {rows} rows");
    }
    // The demo's data, as the page shows it.
    assert!(count(&format!("SELECT count(*) AS n FROM {chain}")) > 20, "the demo has a real chain");
    assert!(!dom.contains("<script"), "no script element in the rendered page");
    let legacy_start = dom.find("<strong>stcontosolegacy</strong>").expect("stcontosolegacy has a chain row");
    let legacy_row = &dom[legacy_start..legacy_start + dom[legacy_start..].find("</tr>").expect("row end")];
    assert!(
        legacy_row.contains("not reported"),
        "stcontosolegacy's vault omits purge protection, shown as not reported: {legacy_row}"
    );
}

/// Width, height and the size in bytes of a PNG file, from its signature and IHDR chunk.
fn png_shape(path: &Path) -> (u32, u32, u64) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert!(bytes.len() > 24, "{} is too short for a PNG", path.display());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature of {}", path.display());
    assert_eq!(&bytes[12..16], b"IHDR", "the first chunk of a PNG is IHDR");
    let be = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    assert_eq!(be(8), 13, "IHDR is 13 bytes");
    (be(16), be(20), bytes.len() as u64)
}

#[test]
fn report_html_renders_in_a_real_browser_with_a_row_per_row() {
    let (_out, packages) = demo();
    let first = &packages[0];
    let html = report_of(first);
    let dom = render_dom(&html);
    assert!(dom.contains("<title>CMK evidence report — tenant f6fadfa7-e5c1-4b62-9362-da5cc13da58a"), "title");
    assert_tables_match(&dom, first);
    assert!(dom.to_lowercase().contains(NO_PREVIOUS), "the first package of the tenant has nothing to compare with");
    assert_eq!(table_rows(&dom, "t-rotation-classes"), None);

    let markdown = std::fs::read_to_string(first.join("REPORT.md")).expect("REPORT.md");
    assert!(markdown.starts_with("# CMK evidence report"), "{}", &markdown[..200.min(markdown.len())]);
    let chain_rows = count(&format!("SELECT count(*) AS n FROM '{}/tables/cmk_chain.parquet'", first.display()));
    assert_eq!(md_table_rows(&markdown, "## 3. CMK chain per resource"), chain_rows, "REPORT.md: a row per chain row");

    // The screenshot: the asked-for size, and a picture rather than an empty page.
    let shots = tempfile::tempdir().expect("temp dir");
    let png = shots.path().join("report.png");
    run_chromium(&[
        "--hide-scrollbars".to_string(),
        format!("--window-size={WIDTH},{HEIGHT}"),
        format!("--screenshot={}", png.display()),
        file_url(&html),
    ]);
    let (width, height, bytes) = png_shape(&png);
    assert_eq!((width, height), (WIDTH, HEIGHT), "screenshot size");
    assert!(bytes > NOT_BLANK_BYTES, "the screenshot is {bytes} bytes: a blank page is about 14 KB");
}

#[test]
fn second_package_report_shows_the_rotation_since_the_first() {
    let (out, packages) = demo();
    let second = &packages[1];
    let html = report_of(second);
    let dom = render_dom(&html);
    assert_tables_match(&dom, second);
    // The demo's own diff of the same two packages says what the rotation section must show.
    let diff_dir = std::fs::read_dir(out.path())
        .expect("demo output")
        .map(|e| e.expect("entry").path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("diff-")))
        .expect("the demo's diff folder");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(diff_dir.join("diff-summary.json")).expect("diff-summary.json"))
            .expect("diff-summary.json is JSON");
    let summary = summary.get("summary").unwrap_or(&summary);
    let attention = summary["attention"].as_array().expect("attention rows").len();
    assert!(!dom.to_lowercase().contains(NO_PREVIOUS), "the second package has a previous one");
    assert_eq!(table_rows(&dom, "t-rotation-classes"), Some(1 + 13), "one row per diff class");
    assert_eq!(table_rows(&dom, "t-rotation-attention"), expected(attention), "the attention rows of the diff");
    assert!(dom.contains("old_version_disabled_in_use"), "the drill's disabled version is named");
}
