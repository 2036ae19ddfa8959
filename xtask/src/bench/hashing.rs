//! Bench 1: hashing a package. Our SHA-256 path (the `sha2` crate over 1 MiB buffered reads, the way a verifier
//! reads each file of a package) against `openssl dgst -sha256` over the same files, which must agree.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use sha2::{Digest, Sha256};

/// Read size of our hashing loop.
const READ_BUFFER: usize = 1 << 20;
const MIB: u64 = 1 << 20;

/// The package-like files: names of real tables, sizes in sixteenths of the total (6:4:3:2:1).
const FILES: [(&str, u64); 5] = [
    ("tables/raw_responses.parquet", 6),
    ("tables/cmk_chain.parquet", 4),
    ("tables/key_versions.parquet", 3),
    ("tables/storage_accounts.parquet", 2),
    ("tables/role_assignments.parquet", 1),
];

/// Timings (seconds, one per round) of each hashing path over the same files.
#[derive(Debug)]
pub(crate) struct HashTimings {
    pub(crate) files: usize,
    pub(crate) bytes: u64,
    /// `sha2` over 1 MiB reads.
    pub(crate) ours: Vec<f64>,
    /// The same reads pushed through `bundle::HashingWriter` into `io::sink()` (what the writer side does).
    pub(crate) hashing_writer: Vec<f64>,
    /// Wall time of the `openssl dgst -sha256 <files…>` process.
    pub(crate) openssl: Vec<f64>,
    /// The command run, for the report.
    pub(crate) openssl_command: String,
}

/// Creates the package-like directory under `dir`: `total_mib` MiB of pseudo-random bytes (seeded, so the same
/// every run) in five table-sized files. Not timed.
pub(crate) fn create_package(dir: &Path, total_mib: u64, seed: u64) -> Result<Vec<PathBuf>> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut buffer = vec![0u8; MIB as usize];
    let mut paths = Vec::new();
    for (name, sixteenths) in FILES {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let mut file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        // Sizes are whole MiB plus an odd tail, as real files are.
        let bytes = (total_mib * MIB * sixteenths / 16).saturating_sub(4093);
        let mut left = bytes;
        while left > 0 {
            let n = left.min(MIB) as usize;
            rng.fill(&mut buffer[..n]);
            file.write_all(&buffer[..n]).with_context(|| format!("writing {}", path.display()))?;
            left -= n as u64;
        }
        file.sync_all().with_context(|| format!("syncing {}", path.display()))?;
        paths.push(path);
    }
    Ok(paths)
}

/// Our path: `sha2::Sha256` fed from `File::read` into one reused 1 MiB buffer.
fn hash_ours(files: &[PathBuf], buffer: &mut [u8]) -> Result<Vec<String>> {
    files
        .iter()
        .map(|path| {
            let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
            let mut hasher = Sha256::new();
            loop {
                let n = file.read(buffer).with_context(|| format!("reading {}", path.display()))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
            }
            Ok(hex::encode(hasher.finalize()))
        })
        .collect()
}

/// The same reads written through `bundle::HashingWriter` (the type the Parquet writer hashes with).
fn hash_with_hashing_writer(files: &[PathBuf], buffer: &mut [u8]) -> Result<Vec<String>> {
    files
        .iter()
        .map(|path| {
            let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
            let mut writer = bundle::HashingWriter::new(std::io::sink());
            loop {
                let n = file.read(buffer).with_context(|| format!("reading {}", path.display()))?;
                if n == 0 {
                    break;
                }
                writer.write_all(&buffer[..n])?;
            }
            let (_, sha256, _) = writer.finish();
            Ok(sha256)
        })
        .collect()
}

fn openssl_command(files: &[PathBuf]) -> Command {
    let mut cmd = Command::new("openssl");
    cmd.args(["dgst", "-sha256"]).args(files);
    cmd
}

/// Runs `openssl dgst -sha256 <files…>` and returns its digests in argument order, and its wall time.
fn hash_openssl(files: &[PathBuf]) -> Result<(Vec<String>, f64)> {
    let mut cmd = openssl_command(files);
    let start = Instant::now();
    let out = cmd.output().context("running openssl dgst -sha256")?;
    let seconds = start.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("openssl dgst -sha256 failed with {}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    // OpenSSL 3 prints `SHA2-256(<path>)= <hex>`, 1.1 prints `SHA256(<path>)= <hex>`, one line per file.
    let text = String::from_utf8_lossy(&out.stdout);
    let digests: Vec<String> = text
        .lines()
        .filter_map(|line| line.rsplit_once("= ").map(|(_, hex)| hex.trim().to_ascii_lowercase()))
        .collect();
    ensure!(
        digests.len() == files.len(),
        "openssl printed {} digests for {} files:\n{text}",
        digests.len(),
        files.len()
    );
    Ok((digests, seconds))
}

/// Hashes `files` `rounds` times by each path, interleaved (ours, HashingWriter, openssl, ours, ...) so that
/// background load falls on all of them alike. Fails if any path disagrees on any digest.
pub(crate) fn measure(files: &[PathBuf], rounds: usize) -> Result<HashTimings> {
    let bytes = files.iter().map(|f| std::fs::metadata(f).map(|m| m.len())).sum::<std::io::Result<u64>>()?;
    let mut buffer = vec![0u8; READ_BUFFER];
    // One untimed pass so that every path reads from the page cache.
    let reference = hash_ours(files, &mut buffer)?;
    let mut timings = HashTimings {
        files: files.len(),
        bytes,
        ours: Vec::new(),
        hashing_writer: Vec::new(),
        openssl: Vec::new(),
        // The scratch directory's name is random; the report names the files as the package does.
        openssl_command: format!(
            "openssl dgst -sha256 {}",
            FILES.iter().map(|(name, _)| format!("<scratch>/package/{name}")).collect::<Vec<_>>().join(" ")
        ),
    };
    for _ in 0..rounds {
        let start = Instant::now();
        let ours = hash_ours(files, &mut buffer)?;
        timings.ours.push(start.elapsed().as_secs_f64());
        ensure!(ours == reference, "our SHA-256 of the same files changed between rounds");

        let start = Instant::now();
        let via_writer = hash_with_hashing_writer(files, &mut buffer)?;
        timings.hashing_writer.push(start.elapsed().as_secs_f64());
        ensure!(via_writer == reference, "bundle::HashingWriter disagrees with sha2: {via_writer:?} vs {reference:?}");

        let (openssl, seconds) = hash_openssl(files)?;
        timings.openssl.push(seconds);
        if openssl != reference {
            bail!("openssl dgst -sha256 disagrees with our SHA-256:\n  openssl {openssl:?}\n  ours    {reference:?}");
        }
    }
    Ok(timings)
}
