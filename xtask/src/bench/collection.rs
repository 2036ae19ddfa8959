//! Bench 6: collecting a generated estate (DESIGN §10: 100k resources / 2k keys) with Azure-like latency and
//! throttling. The simulator serves in this process; the release `cmk-evidence collect` runs as a process of its
//! own (so its peak RSS is the collector's alone), timed against the throttling floor the simulator's quotas allow
//! for the requests it made. Then the package is read back and compared, type by type, with what the estate's
//! ARM lists hold: a resource that is neither a row nor an explained coverage row is lost.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use azure_sim::{EstateSize, Latency, LimitKind, Scenario, SimOptions, SimStats, ThrottlingFloor};
use evidence::{CoverageRow, Timestamp};

use super::GNU_TIME;
use super::machine::CpuSample;

/// What GNU time writes: peak resident set size in KiB, user and system CPU seconds.
const TIME_FORMAT: &str = "%M %U %S";
/// Items per page of the simulator's ARM lists: Azure's usual 1,000 (what `cmk-evidence sim` uses for generated
/// estates).
pub(crate) const PAGE_SIZE: usize = 1000;
/// Coverage statuses that say a request failed (as opposed to `not_assessed` / `not_supported`, which explain a
/// resource the tool saw and deliberately did not assess).
pub(crate) const FAILURE_STATUSES: &[&str] = &["denied", "not_found", "throttled", "error"];
/// Coverage statuses that account for a listed resource without a table row.
const EXPLAINED_STATUSES: &[&str] = &["not_assessed", "not_supported"];
/// The package tables that hold one row per collected resource, each with its normalised ARM id in `resource_id`.
pub(crate) const RESOURCE_TABLES: &[&str] = &[
    "storage_accounts",
    "managed_disks",
    "virtual_machines",
    "disk_encryption_sets",
    "aks_clusters",
    "sql_servers",
    "container_registries",
    "container_groups",
    "key_vaults",
    "managed_hsms",
];
/// Rows per batch when a table's ids are read back.
const READ_BATCH_ROWS: usize = 64 * 1024;
/// Lines of the collector's stderr kept for the report (its warnings) and shown when it fails.
const STDERR_LINES: usize = 8;
/// Linux reports CPU time in /proc in USER_HZ ticks, 100 per second on every architecture Rust targets.
const TICKS_PER_SECOND: f64 = 100.0;

/// How `cmk-evidence collect` finds the resources (`--discovery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Discovery {
    /// Resource Graph, ARM only for what Graph lacks.
    Graph,
    /// One ARM list per resource type and subscription.
    Arm,
}

impl Discovery {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Discovery::Graph => "graph",
            Discovery::Arm => "arm",
        }
    }
}

/// One resource type: how many the estate's ARM lists return and how many the package accounts for.
#[derive(Debug, Clone)]
pub(crate) struct TypeCount {
    /// Lower-case ARM type.
    pub(crate) resource_type: String,
    /// What `Scenario::resource_counts` says the ARM lists return.
    pub(crate) expected: usize,
    /// Distinct resource ids of this type in the resource tables or in `not_assessed` / `not_supported` coverage.
    pub(crate) found: usize,
    /// Distinct resource ids of this type in `cmk_bindings`.
    pub(crate) with_bindings: usize,
    /// Where they were found: table names, `coverage (<status>)`.
    pub(crate) held_in: BTreeSet<String>,
}

impl TypeCount {
    pub(crate) fn lost(&self) -> usize {
        self.expected.saturating_sub(self.found)
    }
}

/// One collection: the collector's time, memory and exit, the simulator's counters, and what the package holds.
#[derive(Debug)]
pub(crate) struct CollectionRun {
    pub(crate) discovery: Discovery,
    pub(crate) size: EstateSize,
    /// Wall time of the collector process, from spawn to exit.
    pub(crate) seconds: f64,
    /// The collector's own split (its `Timing:` line): collecting (every request answered, the chain joined) and
    /// writing the package.
    pub(crate) collect_seconds: Option<f64>,
    pub(crate) package_seconds: Option<f64>,
    /// The collector's exit code: 0 complete, 3 written with coverage gaps.
    pub(crate) exit_code: i32,
    /// The collector's peak RSS (GNU time `%M`), KiB.
    pub(crate) peak_rss_kib: u64,
    /// The collector's user and system CPU seconds (GNU time `%U`, `%S`).
    pub(crate) user_seconds: f64,
    pub(crate) system_seconds: f64,
    /// CPU seconds this process (the simulator) used while the collector ran.
    pub(crate) simulator_cpu_seconds: f64,
    /// Share of the machine's CPU used by processes other than the simulator and the collector meanwhile.
    pub(crate) others_share: f64,
    /// The simulator's counters after the run.
    pub(crate) stats: SimStats,
    /// `stats.throttling_floor()`.
    pub(crate) floor: ThrottlingFloor,
    /// Per resource type, expected against found (every type either side has).
    pub(crate) types: Vec<TypeCount>,
    /// Coverage rows per status.
    pub(crate) coverage_by_status: BTreeMap<String, usize>,
    /// Coverage rows whose status is a failure (`denied`, `not_found`, `throttled`, `error`).
    pub(crate) failures: Vec<CoverageRow>,
    /// Bytes of the package's files, and of `raw_responses.parquet` alone.
    pub(crate) package_bytes: u64,
    pub(crate) raw_responses_bytes: u64,
    /// Lines the collector wrote on stderr (`RUST_LOG=warn`), and the first few of them.
    pub(crate) stderr_line_count: usize,
    pub(crate) stderr_head: Vec<String>,
}

impl CollectionRun {
    pub(crate) fn floor_seconds(&self) -> f64 {
        self.floor.wall_time.as_secs_f64()
    }

    /// Wall time over the floor; `None` when the floor is under a second (no bucket made anyone wait, so the
    /// ratio says nothing about pacing).
    pub(crate) fn ratio(&self) -> Option<f64> {
        (self.floor_seconds() >= 1.0).then(|| self.seconds / self.floor_seconds())
    }

    /// Share of all requests answered 429.
    pub(crate) fn share_429(&self) -> f64 {
        if self.stats.requests == 0 { 0.0 } else { self.stats.throttled_429 as f64 / self.stats.requests as f64 }
    }

    pub(crate) fn expected_total(&self) -> usize {
        self.types.iter().map(|t| t.expected).sum()
    }

    pub(crate) fn lost_total(&self) -> usize {
        self.types.iter().map(TypeCount::lost).sum()
    }

    /// `<kind> <key>: N requests` for the bucket that sets the floor.
    pub(crate) fn floor_bucket(&self) -> String {
        match &self.floor.set_by {
            Some(b) if !self.floor.wall_time.is_zero() => format!("{} {}: {} requests", b.kind, b.key, b.admitted),
            Some(_) => "no bucket: none admitted more than its burst".to_string(),
            None => "no bucket: no request reached a limiter".to_string(),
        }
    }

    /// Requests per route group, in a fixed order (groups without requests left out).
    pub(crate) fn route_groups(&self) -> Vec<(&'static str, u64)> {
        let mut groups: Vec<(&'static str, u64)> = ROUTE_GROUPS.iter().map(|g| (*g, 0)).collect();
        for (route, n) in &self.stats.by_route {
            let group = route_group(route);
            if let Some(slot) = groups.iter_mut().find(|(g, _)| *g == group) {
                slot.1 += n;
            }
        }
        groups.retain(|(_, n)| *n > 0);
        groups
    }

    /// Per limit kind: buckets, requests admitted, requests answered 429.
    pub(crate) fn limits_by_kind(&self) -> BTreeMap<LimitKind, (usize, u64, u64)> {
        let mut out: BTreeMap<LimitKind, (usize, u64, u64)> = BTreeMap::new();
        for b in &self.stats.limits {
            let e = out.entry(b.kind).or_default();
            e.0 += 1;
            e.1 += b.admitted;
            e.2 += b.throttled;
        }
        out
    }
}

/// The route groups of the report, in its order.
pub(crate) const ROUTE_GROUPS: &[&str] =
    &["Resource Graph", "ARM lists", "ARM GETs", "Key Vault / Managed HSM", "token", "other"];

/// The group of a route name of `SimStats::by_route` (`graph.resources`, `arm.disks.list`, `kv.keys.get`, ...).
fn route_group(route: &str) -> &'static str {
    if route == "token" {
        "token"
    } else if route.starts_with("graph.") {
        "Resource Graph"
    } else if route.starts_with("kv.") || route.starts_with("hsm.") {
        "Key Vault / Managed HSM"
    } else if route.starts_with("arm.") && route.ends_with(".list") {
        "ARM lists"
    } else if route.starts_with("arm.") && route.ends_with(".get") {
        "ARM GETs"
    } else {
        "other"
    }
}

/// Everything section 6 measured.
#[derive(Debug)]
pub(crate) struct Collection {
    /// The design-size collection with Resource Graph discovery (the target).
    pub(crate) graph: CollectionRun,
    /// The same estate with ARM discovery, on a fresh simulator (informational).
    pub(crate) arm: CollectionRun,
    /// A quarter of the estate with Resource Graph discovery, for memory growth.
    pub(crate) quarter: CollectionRun,
    pub(crate) latency: Latency,
    /// The estate's tenant and fixed clock (the collector's `--tenant` and `--snapshot-time`).
    pub(crate) tenant: String,
    pub(crate) snapshot_time: String,
    /// Cores the simulator and the collector shared.
    pub(crate) cores: usize,
    /// Seconds to generate the full estate in memory (untimed for the collection).
    pub(crate) generate_seconds: f64,
    /// Wall time of the whole section.
    pub(crate) seconds: f64,
}

impl Collection {
    /// Bytes of peak RSS per resource between the quarter and the full estate; `None` if the sizes are equal.
    pub(crate) fn rss_bytes_per_resource(&self) -> Option<f64> {
        let resources = self.graph.size.resources.checked_sub(self.quarter.size.resources).filter(|&n| n > 0)?;
        let kib = self.graph.peak_rss_kib as f64 - self.quarter.peak_rss_kib as f64;
        Some(kib * 1024.0 / resources as f64)
    }
}

/// A quarter of `size` in every dimension (at least one of each): DESIGN's 100k / 2k / 200 gives 25k / 500 / 50.
pub(crate) fn quarter(size: EstateSize) -> EstateSize {
    EstateSize {
        resources: (size.resources / 4).max(1),
        keys: (size.keys / 4).max(1),
        subscriptions: (size.subscriptions / 4).max(1),
    }
}

/// Measures section 6: `size` with Resource Graph, the same with ARM discovery, a quarter of it with Resource
/// Graph; each on a fresh simulator, each collected by `collector` into `scratch`.
pub(crate) fn measure(scratch: &Path, collector: &Path, size: EstateSize) -> Result<Collection> {
    let started = Instant::now();
    ensure!(
        collector.is_file(),
        "{} is not built; `cargo xtask bench` builds it (`cargo build --release -p xtask -p cmk-evidence`)",
        collector.display()
    );
    // Multi-threaded, so the simulator keeps serving on its workers while this thread waits for the collector.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting a tokio runtime for the simulator")?;
    let latency = Latency::azure_like();
    let t = Instant::now();
    let scenario = Scenario::generated(size).with_latency(latency);
    let generate_seconds = t.elapsed().as_secs_f64();
    let tenant = scenario.tenant_id().to_ascii_lowercase();
    let snapshot_time = Timestamp::from_datetime(scenario.clock()).to_string();

    let graph = collect_once(&runtime, scenario.clone(), size, Discovery::Graph, collector, scratch)?;
    let arm = collect_once(&runtime, scenario, size, Discovery::Arm, collector, scratch)?;
    let small = quarter(size);
    let quarter_scenario = Scenario::generated(small).with_latency(latency);
    let quarter = collect_once(&runtime, quarter_scenario, small, Discovery::Graph, collector, scratch)?;
    Ok(Collection {
        graph,
        arm,
        quarter,
        latency,
        tenant,
        snapshot_time,
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        generate_seconds,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// This process's own CPU time (utime + stime, children excluded) in ticks.
fn own_cpu_ticks() -> u64 {
    // /proc/self/stat: after the `(comm)` field, utime and stime are the 12th and 13th.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_comm = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    after_comm.split_whitespace().skip(11).take(2).filter_map(|f| f.parse::<u64>().ok()).sum()
}

fn label(size: EstateSize, discovery: Discovery) -> String {
    format!("collect-{}-{}", discovery.as_str(), size.resources)
}

/// Serves `scenario` on a fresh simulator and runs the collector against it once.
fn collect_once(
    runtime: &tokio::runtime::Runtime,
    scenario: Scenario,
    size: EstateSize,
    discovery: Discovery,
    collector: &Path,
    scratch: &Path,
) -> Result<CollectionRun> {
    eprintln!(
        "xtask bench: 6/6 collecting {} resources / {} keys / {} subscriptions with --discovery {} (one run)",
        size.resources,
        size.keys,
        size.subscriptions,
        discovery.as_str()
    );
    let expected = scenario.resource_counts();
    let tenant = scenario.tenant_id().to_ascii_lowercase();
    let (client_id, secret) = scenario.client_credentials();
    let snapshot_time = Timestamp::from_datetime(scenario.clock()).to_string();
    let name = label(size, discovery);
    let out = scratch.join(&name);
    let time_file = scratch.join(format!("{name}.time"));
    let stdout_file = scratch.join(format!("{name}.stdout"));
    let stderr_file = scratch.join(format!("{name}.stderr"));
    let create = |p: &Path| File::create(p).with_context(|| format!("creating {}", p.display()));

    let sim = runtime
        .block_on(azure_sim::start(scenario, SimOptions { page_size: PAGE_SIZE, ..SimOptions::default() }))
        .context("starting the simulator")?;
    let mut cmd = Command::new(GNU_TIME);
    cmd.args(["-f", TIME_FORMAT, "-o"])
        .arg(&time_file)
        .arg(collector)
        .args(["collect", "--tenant", &tenant, "--credential", "client-secret", "--simulator"])
        .arg(sim.addr().to_string())
        .args(["--snapshot-time", &snapshot_time, "--out"])
        .arg(&out)
        .args(["--discovery", discovery.as_str()]);
    // Only the service principal: a stray AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, ... would change the run.
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("AZURE_") {
            cmd.env_remove(var);
        }
    }
    cmd.env("AZURE_CLIENT_ID", &client_id)
        .env("AZURE_CLIENT_SECRET", &secret)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(create(&stdout_file)?)
        .stderr(create(&stderr_file)?);

    let own_before = own_cpu_ticks();
    let cpu = CpuSample::now();
    let start = Instant::now();
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"));
    let seconds = start.elapsed().as_secs_f64();
    let others_share = cpu.others_share();
    let simulator_cpu_seconds = own_cpu_ticks().saturating_sub(own_before) as f64 / TICKS_PER_SECOND;
    let stats = sim.stats();
    runtime.block_on(sim.shutdown());
    let status = status?;

    let stderr = std::fs::read_to_string(&stderr_file).unwrap_or_default();
    let stderr_lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let exit_code = status.code().unwrap_or(-1);
    if exit_code != 0 && exit_code != 3 {
        let tail = stderr_lines[stderr_lines.len().saturating_sub(STDERR_LINES * 4)..].join("\n");
        bail!(
            "`cmk-evidence collect --discovery {}` of the generated estate ({} resources) failed with {status}; \
             the end of its stderr ({}):\n{tail}",
            discovery.as_str(),
            size.resources,
            stderr_file.display()
        );
    }
    let (peak_rss_kib, user_seconds, system_seconds) = read_time_file(&time_file)?;
    let stdout = std::fs::read_to_string(&stdout_file).unwrap_or_default();
    let (collect_seconds, package_seconds) = timing_line(&stdout).unzip();
    let package = find_package(&out.join(&tenant))?;
    let read = read_package(&package)?;
    let floor = stats.throttling_floor();
    Ok(CollectionRun {
        discovery,
        size,
        seconds,
        collect_seconds,
        package_seconds,
        exit_code,
        peak_rss_kib,
        user_seconds,
        system_seconds,
        simulator_cpu_seconds,
        others_share,
        floor,
        stats,
        types: compare_types(&expected, &read),
        coverage_by_status: read.coverage_by_status,
        failures: read.failures,
        package_bytes: dir_bytes(&package)?,
        raw_responses_bytes: std::fs::metadata(bundle::table_path(&package, "raw_responses")).map_or(0, |m| m.len()),
        stderr_line_count: stderr_lines.len(),
        stderr_head: stderr_lines.iter().take(STDERR_LINES).map(|l| l.to_string()).collect(),
    })
}

/// The collector's `Timing: collected in X s, package written in Y s` line, as `(X, Y)`.
fn timing_line(stdout: &str) -> Option<(f64, f64)> {
    let line = stdout.lines().find_map(|l| l.strip_prefix("Timing: collected in "))?;
    let (collect, rest) = line.split_once(" s, package written in ")?;
    Some((collect.trim().parse().ok()?, rest.trim_end_matches(" s").trim().parse().ok()?))
}

/// GNU time's output: `%M %U %S` on the last line (earlier lines say how a failing command exited).
fn read_time_file(path: &Path) -> Result<(u64, f64, f64)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let line = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let fields: Vec<&str> = line.split_whitespace().collect();
    let parse = || -> Option<(u64, f64, f64)> {
        match fields.as_slice() {
            [m, u, s] => Some((m.parse().ok()?, u.parse().ok()?, s.parse().ok()?)),
            _ => None,
        }
    };
    parse().with_context(|| format!("{} does not end with `{TIME_FORMAT}` values: {text:?}", path.display()))
}

/// The one package under `<out>/<tenant>` (the collector writes `<snapshot-id>/`; hidden directories are its
/// staging area).
fn find_package(tenant_dir: &Path) -> Result<PathBuf> {
    let mut packages = Vec::new();
    for entry in std::fs::read_dir(tenant_dir).with_context(|| format!("reading {}", tenant_dir.display()))? {
        let path = entry?.path();
        let hidden = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if path.is_dir() && !hidden && path.join("manifest.json").is_file() {
            packages.push(path);
        }
    }
    match packages.as_slice() {
        [one] => Ok(one.clone()),
        _ => bail!("expected one package under {}, found {}", tenant_dir.display(), packages.len()),
    }
}

fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() { dir_bytes(&entry.path())? } else { meta.len() };
    }
    Ok(total)
}

/// The lower-case ARM type an ARM id names: `{namespace}/{type}` after its last `providers`, with child types
/// appended (`microsoft.sql/servers`, `microsoft.sql/servers/databases`).
pub(crate) fn arm_type(id: &str) -> Option<String> {
    evidence::ids::resource_type_of(id).map(|t| t.to_ascii_lowercase())
}

/// What one package holds, by resource type.
#[derive(Debug, Default)]
struct PackageContents {
    /// Distinct resource ids per type, from the resource tables and explained coverage rows.
    resources: BTreeMap<String, HashSet<String>>,
    held_in: BTreeMap<String, BTreeSet<String>>,
    bindings: BTreeMap<String, HashSet<String>>,
    coverage_by_status: BTreeMap<String, usize>,
    failures: Vec<CoverageRow>,
}

/// Each value of a string column of `table`, batch by batch.
fn each_string(package: &Path, table: &str, columns: &[&str], mut f: impl FnMut(&[Option<&str>])) -> Result<()> {
    let path = bundle::table_path(package, table);
    for batch in bundle::table_batches(package, table, columns, READ_BATCH_ROWS)? {
        let batch: RecordBatch = batch.with_context(|| format!("reading {}", path.display()))?;
        let arrays = columns
            .iter()
            .map(|c| {
                batch
                    .column_by_name(c)
                    .and_then(|a| a.as_string_opt::<i32>())
                    .with_context(|| format!("{}: column {c} is not a string column", path.display()))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut values = Vec::with_capacity(columns.len());
        for row in 0..batch.num_rows() {
            values.clear();
            values.extend(arrays.iter().map(|a| a.is_valid(row).then(|| a.value(row))));
            f(&values);
        }
    }
    Ok(())
}

fn read_package(package: &Path) -> Result<PackageContents> {
    let mut c = PackageContents::default();
    for &table in RESOURCE_TABLES {
        if !bundle::table_path(package, table).is_file() {
            continue;
        }
        each_string(package, table, &["resource_id"], |v| {
            if let Some(id) = v[0] {
                let ty = arm_type(id).unwrap_or_else(|| "(not an ARM id)".to_string());
                c.held_in.entry(ty.clone()).or_default().insert(table.to_string());
                c.resources.entry(ty).or_default().insert(id.to_ascii_lowercase());
            }
        })?;
    }
    each_string(package, "cmk_bindings", &["resource_id", "resource_type"], |v| {
        if let (Some(id), Some(ty)) = (v[0], v[1]) {
            c.bindings.entry(ty.to_ascii_lowercase()).or_default().insert(id.to_ascii_lowercase());
        }
    })?;
    for row in bundle::read_table::<CoverageRow>(package)? {
        *c.coverage_by_status.entry(row.status.clone()).or_default() += 1;
        if FAILURE_STATUSES.contains(&row.status.as_str()) {
            c.failures.push(row);
        } else if EXPLAINED_STATUSES.contains(&row.status.as_str())
            && let Some(id) = &row.resource_id
        {
            let ty = arm_type(id).unwrap_or_else(|| row.resource_type.to_ascii_lowercase());
            c.held_in.entry(ty.clone()).or_default().insert(format!("coverage ({})", row.status));
            c.resources.entry(ty).or_default().insert(id.to_ascii_lowercase());
        }
    }
    Ok(c)
}

/// Every type the estate lists or the package holds, expected against found.
fn compare_types(expected: &BTreeMap<String, usize>, read: &PackageContents) -> Vec<TypeCount> {
    let types: BTreeSet<&String> = expected.keys().chain(read.resources.keys()).collect();
    types
        .into_iter()
        .map(|ty| TypeCount {
            resource_type: ty.clone(),
            expected: expected.get(ty).copied().unwrap_or(0),
            found: read.resources.get(ty).map_or(0, HashSet::len),
            with_bindings: read.bindings.get(ty).map_or(0, HashSet::len),
            held_in: read.held_in.get(ty).cloned().unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_types_of_ids() {
        let sql = "/subscriptions/s/resourcegroups/rg/providers/microsoft.sql/servers/a";
        assert_eq!(arm_type(sql).as_deref(), Some("microsoft.sql/servers"));
        assert_eq!(arm_type(&format!("{sql}/databases/db")).as_deref(), Some("microsoft.sql/servers/databases"));
        let vault = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.KeyVault/vaults/kv-1";
        assert_eq!(arm_type(vault).as_deref(), Some("microsoft.keyvault/vaults"));
        assert_eq!(arm_type("https://kv-1.vault.azure.net/keys/k"), None);
    }

    #[test]
    fn the_collectors_timing_line_is_read() {
        let out =
            "Rows: cmk_bindings 3\nThrottling: no throttling\nTiming: collected in 37.2 s, package written in 4.1 s\n";
        assert_eq!(timing_line(out), Some((37.2, 4.1)));
        assert_eq!(timing_line("nothing"), None);
    }

    #[test]
    fn routes_fall_into_groups() {
        assert_eq!(route_group("graph.resources"), "Resource Graph");
        assert_eq!(route_group("arm.disks.list"), "ARM lists");
        assert_eq!(route_group("arm.roleAssignments.list"), "ARM lists");
        assert_eq!(route_group("arm.encryptionProtector.get"), "ARM GETs");
        assert_eq!(route_group("kv.keys.versions"), "Key Vault / Managed HSM");
        assert_eq!(route_group("hsm.roleAssignments.list"), "Key Vault / Managed HSM");
        assert_eq!(route_group("token"), "token");
        assert_eq!(route_group("arm.other"), "other");
    }

    #[test]
    fn a_quarter_of_design_sizes() {
        let q = quarter(EstateSize { resources: 100_000, keys: 2_000, subscriptions: 200 });
        assert_eq!(q, EstateSize { resources: 25_000, keys: 500, subscriptions: 50 });
    }
}
