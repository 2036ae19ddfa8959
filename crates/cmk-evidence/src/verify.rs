//! `verify` and `keygen`: offline checks of a package (or a tenant's whole chain of packages) against trusted
//! keys, and making the Ed25519 key pair that signs packages.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use bundle::{ChainReport, LocalSigningKey, TrustAnchors, VerifyReport, verify_chain, verify_package};

use crate::{BundleArgs, KeygenArgs, OutputFormat, VerifyArgs, exit};

/// Trust anchors from `--public-key` files and `--trusted-key-id` values.
pub(crate) fn trust_anchors(public_keys: &[PathBuf], key_ids: &[String]) -> Result<TrustAnchors> {
    let mut anchors = TrustAnchors { key_ids: key_ids.to_vec(), ..TrustAnchors::default() };
    for path in public_keys {
        anchors
            .public_keys_pem
            .push(std::fs::read_to_string(path).with_context(|| format!("reading --public-key {}", path.display()))?);
    }
    Ok(anchors)
}

fn print_report(report: &VerifyReport) {
    let name = report.package.display();
    if report.holds() {
        println!(
            "OK      {name}: {} files match the manifest, schemas match, signed by {}",
            report.files_checked,
            report.signer.as_deref().unwrap_or("-")
        );
    } else {
        println!("FAILED  {name}");
        for p in &report.problems {
            println!("        {}: {}", p.file, p.what);
        }
    }
}

/// Prints a one-package report and says whether it holds.
pub(crate) fn report_package(dir: &Path, trust: &TrustAnchors, json: bool) -> Result<bool> {
    let report = verify_package(dir, trust);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(report.holds())
}

fn print_chain(report: &ChainReport) {
    for p in &report.packages {
        print_report(p);
    }
    match &report.first_broken_link {
        Some(link) => println!("CHAIN BROKEN at {}: {}", link.file, link.what),
        None if report.packages.is_empty() => println!("no packages under {}", report.tenant_dir.display()),
        None => println!("CHAIN OK: {} package(s), each links to the one before", report.packages.len()),
    }
}

pub(crate) fn verify_command(args: VerifyArgs) -> Result<u8> {
    let trust = trust_anchors(&args.public_keys, &args.trusted_key_ids)?;
    let json = args.output == OutputFormat::Json;
    let holds = if args.chain {
        let report = verify_chain(&args.path, &trust);
        if json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_chain(&report);
        }
        report.holds()
    } else {
        report_package(&args.path, &trust, json)?
    };
    Ok(if holds { exit::OK } else { exit::ERROR })
}

pub(crate) fn keygen_command(args: KeygenArgs) -> Result<u8> {
    let private = args.out.with_extension("pem");
    let public = PathBuf::from(format!("{}.pub.pem", args.out.display()));
    let key = LocalSigningKey::generate();
    key.write(&private, &public)?;
    println!("private key: {} (keep it secret; mode 0600)", private.display());
    println!("public key:  {}", public.display());
    println!("key id:      {}", key.key_id());
    println!("\nSign:   cmk-evidence collect ... --signing-key {}", private.display());
    println!("Verify: cmk-evidence verify <package> --public-key {}", public.display());
    println!(
        "   or:  openssl pkeyutl -verify -pubin -inkey {} -rawin -in <package>/manifest.json -sigfile <package>/manifest.sig",
        public.display()
    );
    Ok(exit::OK)
}

/// `bundle`: signs a package that was collected unsigned, after checking every file against its manifest.
pub(crate) fn bundle_command(args: BundleArgs) -> Result<u8> {
    let key = LocalSigningKey::read(&args.signing_key)?;
    let report = verify_package(&args.package, &TrustAnchors::default());
    let signature_files = [bundle::manifest::SIGNATURE_FILE, bundle::manifest::SIGNATURE_INFO_FILE];
    let broken: Vec<_> = report.problems.iter().filter(|p| !signature_files.contains(&p.file.as_str())).collect();
    if !broken.is_empty() {
        print_report(&report);
        anyhow::bail!("{} does not match its manifest; refusing to sign it", args.package.display());
    }
    let (_, manifest) = bundle::Manifest::read(&args.package)?;
    bundle::add_signature(&args.package, &key.sign(&manifest)?)?;
    println!("signed {} with {}", args.package.display(), key.key_id());
    Ok(exit::OK)
}
