//! The machine facts a benchmark report needs to be read (cores, CPU, memory, tool versions), and how busy the
//! machine was with other work while the bench ran, from /proc, so a skewed run says so.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::Result;

/// Linux reports CPU time in /proc in USER_HZ ticks, 100 per second on every architecture Rust targets.
const TICKS_PER_SECOND: f64 = 100.0;

/// Facts about the machine and the tools, for the report.
#[derive(Debug)]
pub(crate) struct Machine {
    pub(crate) cores: usize,
    pub(crate) cpu_model: String,
    pub(crate) memory_gib: f64,
    pub(crate) kernel: String,
    pub(crate) rustc: String,
    pub(crate) openssl: String,
    pub(crate) python: String,
    pub(crate) pyarrow: String,
    pub(crate) load_start: String,
    pub(crate) load_end: String,
    /// Compiler processes (`rustc`) running when the bench started: a background build skews the numbers.
    pub(crate) compilers_at_start: usize,
    /// Share of the machine's CPU that other processes used over the whole run.
    pub(crate) others_share: f64,
    /// Our process's peak RSS (VmHWM) at the end, KiB.
    pub(crate) peak_rss_kib: Option<u64>,
}

fn first_line(cmd: &mut Command) -> String {
    cmd.output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            let text = if o.stdout.is_empty() { o.stderr } else { o.stdout };
            String::from_utf8_lossy(&text).lines().next().unwrap_or_default().trim().to_string()
        })
        .unwrap_or_else(|| "unknown".to_string())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

fn processes_named(name: &str) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .count()
}

impl Machine {
    /// Reads what can be known before the run.
    pub(crate) fn collect(python: &Path, openssl: String) -> Result<Self> {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|(_, m)| m.trim().to_string()))
            .unwrap_or_else(|| "unknown".to_string());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        Ok(Self {
            cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            cpu_model,
            memory_gib: mem_kib / (1024.0 * 1024.0),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|k| k.trim().to_string())
                .unwrap_or_else(|_| "unknown".to_string()),
            rustc: first_line(Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into())).arg("-V")),
            openssl,
            python: first_line(Command::new(python).arg("--version")),
            pyarrow: String::new(),
            load_start: load_average(),
            load_end: String::new(),
            compilers_at_start: processes_named("rustc"),
            others_share: 0.0,
            peak_rss_kib: None,
        })
    }

    /// Records what can only be known after the run.
    pub(crate) fn finish(&mut self, started: &CpuSample, pyarrow: String) {
        self.pyarrow = pyarrow;
        self.load_end = load_average();
        self.others_share = started.others_share();
        self.peak_rss_kib = super::parquet_write::proc_status_kib("VmHWM");
    }
}

/// CPU time of the whole machine and of this process (with its finished children) at one instant.
#[derive(Debug)]
pub(crate) struct CpuSample {
    at: Instant,
    machine_busy: u64,
    ours: u64,
}

fn machine_busy_ticks() -> u64 {
    // First line of /proc/stat: `cpu user nice system idle iowait irq softirq steal guest guest_nice`.
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> =
        stat.lines().next().unwrap_or_default().split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| fields.get(i)).sum()
}

fn own_ticks() -> u64 {
    // /proc/self/stat: after the `(comm)` field, utime stime cutime cstime are the 12th to 15th.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_comm = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    after_comm.split_whitespace().skip(11).take(4).filter_map(|f| f.parse::<u64>().ok()).sum()
}

impl CpuSample {
    /// Samples now.
    pub(crate) fn now() -> Self {
        Self { at: Instant::now(), machine_busy: machine_busy_ticks(), ours: own_ticks() }
    }

    /// The share of the machine's CPU capacity (all cores) used since this sample by processes other than this
    /// one and the children it waited for (openssl, python).
    pub(crate) fn others_share(&self) -> f64 {
        let capacity = self.at.elapsed().as_secs_f64()
            * TICKS_PER_SECOND
            * std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
        let busy = machine_busy_ticks().saturating_sub(self.machine_busy);
        let ours = own_ticks().saturating_sub(self.ours);
        if capacity <= 0.0 { 0.0 } else { (busy.saturating_sub(ours) as f64 / capacity).clamp(0.0, 1.0) }
    }
}
