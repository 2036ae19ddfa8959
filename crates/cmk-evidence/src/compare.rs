//! `diff`: verify two packages of one tenant, compare them binding by binding (streaming, bounded memory), write
//! `diff.parquet` and `diff-summary.json`, print what needs attention, and gate on `--fail-on`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use bundle::{Manifest, TrustAnchors, VerifyReport};
use diff::{Severity, Summary};
use evidence::Timestamp;
use evidence::tables::coverage::CoverageRow;

use crate::{DiffArgs, OutputFormat, exit};

/// Batches read ahead per side while the previous ones are classified.
const READ_AHEAD: usize = 2;
/// Rows per batch read from `cmk_chain`.
const READ_BATCH_ROWS: usize = 8 * 1024;

/// A diff that was run: its summary, the verification of both packages, and what was written.
#[derive(Debug, serde::Serialize)]
pub(crate) struct DiffRun {
    /// Counts and the rows that need attention.
    pub summary: Summary,
    /// Verification of the earlier package.
    pub before: VerifyReport,
    /// Verification of the later package.
    pub after: VerifyReport,
    /// How the signatures were trusted.
    pub trust: String,
    /// `diff.parquet`, when written.
    pub diff_parquet: Option<PathBuf>,
    /// Rows written to `diff.parquet`.
    pub rows: u64,
}

/// Trust for a diff (or a findings read): the keys given, else the key that signed `before` (so a second package
/// must be signed by the same key).
pub(crate) fn trust_for(anchors: TrustAnchors, before: &Path) -> Result<(TrustAnchors, String)> {
    if !anchors.is_empty() {
        let ids: Vec<String> = anchors
            .public_keys_pem
            .iter()
            .map(|pem| bundle::signature::key_id_of_public_pem(pem).unwrap_or_else(|| "a public key".into()))
            .chain(anchors.key_ids.iter().cloned())
            .collect();
        return Ok((anchors, format!("the keys given: {}", ids.join(", "))));
    }
    let path = before.join(bundle::manifest::SIGNATURE_INFO_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let info: bundle::SignatureInfo =
                serde_json::from_slice(&bytes).with_context(|| format!("{} is not valid", path.display()))?;
            let what = format!(
                "the key that signed BEFORE ({}), for both packages; pass --public-key or --trusted-key-id to pin the key",
                info.key_id
            );
            Ok((TrustAnchors { public_keys_pem: vec![info.public_key_pem], key_ids: Vec::new() }, what))
        }
        // Unsigned: verification reports it; --allow-unsigned decides.
        Err(_) => Ok((TrustAnchors::default(), "none: BEFORE is not signed".into())),
    }
}

/// Fails, listing every problem, unless the package verifies (an unsigned one passes with `allow_unsigned`).
pub(crate) fn check(report: &VerifyReport, which: &str, allow_unsigned: bool) -> Result<()> {
    let remaining: Vec<&bundle::Problem> = if allow_unsigned {
        report.problems_if_unsigned_accepted().collect()
    } else {
        report.problems.iter().collect()
    };
    let problems: Vec<String> = remaining.iter().map(|p| format!("  {}: {}", p.file, p.what)).collect();
    if !problems.is_empty() {
        bail!(
            "{which} package {} does not verify, so it is not compared:\n{}",
            report.package.display(),
            problems.join("\n")
        );
    }
    Ok(())
}

fn taken_at(manifest: &Manifest, dir: &Path) -> Result<Timestamp> {
    Timestamp::parse(&manifest.collection.snapshot_time).with_context(|| {
        format!("{}: snapshot_time {:?} is not a time", dir.display(), manifest.collection.snapshot_time)
    })
}

/// Opens one verified package as a diff snapshot: small tables whole, `cmk_chain` as a read-ahead stream.
fn open(
    dir: &Path,
    manifest: &Manifest,
) -> Result<
    diff::Snapshot<impl Iterator<Item = Result<arrow_array::RecordBatch, arrow_schema::ArrowError>> + Send + 'static>,
> {
    let read = |e: bundle::Error| anyhow::Error::new(e);
    let coverage: Vec<CoverageRow> = bundle::read_table(dir).map_err(read)?;
    let tables = diff::SideTables {
        key_vaults: bundle::read_table(dir).map_err(read)?,
        managed_hsms: bundle::read_table(dir).map_err(read)?,
        keys: bundle::read_table(dir).map_err(read)?,
        key_versions: bundle::read_table(dir).map_err(read)?,
        role_assignments: bundle::read_table(dir).map_err(read)?,
    };
    let side = diff::Side::new(
        &manifest.snapshot_id,
        taken_at(manifest, dir)?,
        &manifest.collection.scopes,
        &coverage,
        &tables.key_versions,
    );
    let chain = bundle::table_batches(dir, "cmk_chain", diff::CHAIN_COLUMNS, READ_BATCH_ROWS).map_err(read)?;
    Ok(diff::Snapshot { tenant_id: manifest.tenant_id.clone(), side, tables, chain: diff::prefetch(chain, READ_AHEAD) })
}

/// The diff of a snapshot not yet written (`current`, sorted) against the package before it, for the report.
/// The previous package must verify against its own signer (or be unsigned); otherwise it is not compared and
/// the error says why.
pub(crate) fn summary_against_previous(
    previous: &Path,
    current: &evidence::Tables,
    tenant_id: &str,
    snapshot_id: &str,
    taken_at: Timestamp,
    scopes: &[String],
) -> Result<Summary> {
    let (trust, _) = trust_for(TrustAnchors::default(), previous)?;
    check(&bundle::verify_package(previous, &trust), "the previous", true)?;
    let (manifest, _) = Manifest::read(previous)?;
    let before = open(previous, &manifest)?;
    let chain: Vec<_> =
        current.cmk_chain.chunks(READ_BATCH_ROWS).map(<evidence::CmkChainRow as evidence::Table>::to_batch).collect();
    let after = diff::Snapshot {
        tenant_id: tenant_id.to_string(),
        side: diff::Side::new(snapshot_id, taken_at, scopes, &current.coverage, &current.key_versions),
        tables: diff::SideTables {
            key_vaults: current.key_vaults.clone(),
            managed_hsms: current.managed_hsms.clone(),
            keys: current.keys.clone(),
            key_versions: current.key_versions.clone(),
            role_assignments: current.role_assignments.clone(),
        },
        chain: chain.into_iter(),
    };
    let mut differ = diff::Differ::new(before, after);
    for batch in differ.by_ref() {
        batch?;
    }
    Ok(differ.into_summary())
}

/// Verifies both packages, compares them, and writes `diff.parquet` + `diff-summary.json` under `out` if given.
pub(crate) fn run_diff(
    before: &Path,
    after: &Path,
    anchors: TrustAnchors,
    allow_unsigned: bool,
    out: Option<&Path>,
) -> Result<DiffRun> {
    let (trust, trust_text) = trust_for(anchors, before)?;
    let (before_report, after_report) = (bundle::verify_package(before, &trust), bundle::verify_package(after, &trust));
    check(&before_report, "BEFORE", allow_unsigned)?;
    check(&after_report, "AFTER", allow_unsigned)?;
    let (mb, _) = Manifest::read(before)?;
    let (ma, _) = Manifest::read(after)?;
    if !mb.tenant_id.eq_ignore_ascii_case(&ma.tenant_id) {
        bail!(
            "BEFORE is tenant {} and AFTER is tenant {}: a diff compares two snapshots of one tenant",
            mb.tenant_id,
            ma.tenant_id
        );
    }
    let (tb, ta) = (taken_at(&mb, before)?, taken_at(&ma, after)?);
    if tb > ta {
        bail!(
            "BEFORE ({}) was taken after AFTER ({}): swap the two packages",
            mb.collection.snapshot_time,
            ma.collection.snapshot_time
        );
    }
    let differ = diff::Differ::new(open(before, &mb)?, open(after, &ma)?);

    // Classification runs on its own thread; Parquet encoding on this one.
    let (sender, batches) = std::sync::mpsc::sync_channel(READ_AHEAD);
    let worker = std::thread::spawn(move || {
        let mut differ = differ;
        for batch in differ.by_ref() {
            if sender.send(batch).is_err() {
                break;
            }
        }
        differ.into_summary()
    });
    let (diff_parquet, rows) = match out {
        Some(out) => {
            std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
            let path = out.join("diff.parquet");
            let partial = out.join(".diff.parquet.partial");
            let file = std::fs::File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
            let (file, _sha, _bytes, rows) = bundle::write_batches(
                "diff",
                diff::output::schema(),
                batches.iter(),
                std::io::BufWriter::new(file),
                &path,
            )?;
            let file = file.into_inner().map_err(|e| anyhow::anyhow!("writing {}: {}", path.display(), e.error()))?;
            file.sync_all().with_context(|| format!("syncing {}", partial.display()))?;
            std::fs::rename(&partial, &path).with_context(|| format!("renaming to {}", path.display()))?;
            (Some(path), rows)
        }
        None => {
            let mut rows = 0u64;
            for batch in batches.iter() {
                rows += batch?.num_rows() as u64;
            }
            (None, rows)
        }
    };
    let summary = worker.join().map_err(|_| anyhow::anyhow!("the diff thread panicked"))?;
    let run = DiffRun { summary, before: before_report, after: after_report, trust: trust_text, diff_parquet, rows };
    if let Some(out) = out {
        let path = out.join("diff-summary.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&run)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(run)
}

/// Prints a diff for people.
pub(crate) fn print_text(run: &DiffRun, fail_on: Option<Severity>) {
    let s = &run.summary;
    println!("Diff of tenant {}: {} → {}", s.tenant_id, s.before_snapshot_id, s.after_snapshot_id);
    for (which, r) in [("before", &run.before), ("after ", &run.after)] {
        println!(
            "  {which} {}  verified ({} files), signed by {}",
            r.package.display(),
            r.files_checked,
            r.signer.as_deref().unwrap_or("nobody (unsigned)")
        );
    }
    println!("  trusted: {}", run.trust);
    let classes: Vec<String> = s.by_class.iter().filter(|(_, n)| **n > 0).map(|(c, n)| format!("{c} {n}")).collect();
    println!("\n{} bindings: {}", s.bindings, classes.join(", "));
    if !s.other_changes.is_empty() {
        let others: Vec<String> = s.other_changes.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!("Other changes: {}", others.join(", "));
    }
    if s.attention.is_empty() {
        println!("\nNothing needs attention (no row at severity low or above).");
    } else {
        println!(
            "\nNeeds attention ({} rows at low or above, highest first):",
            s.attention.len() as u64 + s.attention_omitted
        );
        for r in &s.attention {
            let scope = r.encryption_scope.as_deref().map(|s| format!(" [{s}]")).unwrap_or_default();
            println!("  {:<8} {:<28} {}{scope}", r.severity.as_str().to_uppercase(), r.class, r.resource_id);
            for c in &r.changes {
                println!("  {:<8} {:<28}   {c}", "", "");
            }
        }
        if s.attention_omitted > 0 {
            println!("  … and {} more rows (all are in diff.parquet)", s.attention_omitted);
        }
    }
    match &run.diff_parquet {
        Some(p) => println!("\nWrote {} ({} rows) and diff-summary.json beside it.", p.display(), run.rows),
        None => println!("\n{} rows compared; pass --out DIR to write diff.parquet.", run.rows),
    }
    if let Some(threshold) = fail_on {
        let failing: u64 = s.by_severity.iter().filter(|(sev, _)| **sev >= threshold).map(|(_, n)| n).sum();
        if failing > 0 {
            println!("Gate --fail-on {threshold}: FAIL ({failing} rows at {threshold} or above).");
        } else {
            println!("Gate --fail-on {threshold}: pass.");
        }
    }
}

pub(crate) fn diff_command(args: DiffArgs) -> Result<u8> {
    let anchors = crate::verify::trust_anchors(&args.public_keys, &args.trusted_key_ids)?;
    let run = run_diff(&args.before, &args.after, anchors, args.allow_unsigned, args.out.as_deref())?;
    if args.output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&run)?);
    } else {
        print_text(&run, Some(args.fail_on));
    }
    Ok(if run.summary.fails(args.fail_on) { exit::GATE_FAIL } else { exit::OK })
}
