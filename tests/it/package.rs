//! Evidence packages with the tools an auditor has: `sha256sum -c`, `openssl` signature verification, DuckDB;
//! tamper detection naming the file; identical SHA256SUMS for the same snapshot; the per-tenant hash chain;
//! many tenants from one config file where one failing does not stop the others.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::{
    SIM_CLIENT_ID, SIM_SECRET, SIM_TENANT, StandaloneSim, collect_from, package_dir, run_binary, run_binary_env, tool,
};

const LIMIT: Duration = Duration::from_secs(180);

/// Runs the demo into a fresh directory; returns (temp dir, package dir, public key file).
fn demo_package() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let out = tempfile::tempdir().expect("temp dir");
    let o = run_binary(&["demo", "--out", out.path().to_str().expect("utf-8")], LIMIT);
    assert!(o.status.success(), "demo failed: {}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("OK "), "demo prints its own verification: {stdout}");
    // `package_dir` expects only packages: the demo key lives beside the tenant directories.
    let public = out.path().join("demo-signing-key.pub.pem");
    let tenant = out.path().join(SIM_TENANT);
    let package = package_dir_in(&tenant);
    (out, package, public)
}

fn package_dir_in(tenant: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(tenant)
        .expect("tenant dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    dirs.sort();
    dirs.pop().expect("a package")
}

fn verify(package: &Path, public: &Path) -> (bool, String) {
    let o = run_binary(
        &["verify", package.to_str().expect("utf-8"), "--public-key", public.to_str().expect("utf-8")],
        LIMIT,
    );
    (o.status.success(), String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).expect("read");
    let i = at.min(bytes.len() - 1);
    bytes[i] ^= 0x01;
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn outside_tools_check_the_package() {
    let (_out, package, public) = demo_package();
    let sums = tool("sha256sum", &["-c", "SHA256SUMS"], &package);
    assert!(sums.status.success(), "sha256sum -c: {}", String::from_utf8_lossy(&sums.stdout));
    let listed = String::from_utf8_lossy(&sums.stdout).lines().filter(|l| l.ends_with(": OK")).count();
    assert_eq!(
        listed,
        crate::demo::TABLE_COUNT + crate::demo::DOCUMENTS.len(),
        "every table and the report are in SHA256SUMS"
    );
    let openssl = tool(
        "openssl",
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            public.to_str().expect("utf-8"),
            "-rawin",
            "-in",
            "manifest.json",
            "-sigfile",
            "manifest.sig",
        ],
        &package,
    );
    assert!(
        openssl.status.success(),
        "openssl rejected the signature: {}{}",
        String::from_utf8_lossy(&openssl.stdout),
        String::from_utf8_lossy(&openssl.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(package.join("manifest.json")).expect("manifest")).expect("JSON");
    assert_eq!(manifest["tenant_id"], SIM_TENANT);
    assert_eq!(manifest["collection"]["cloud"], "AzureCloud");
    // Resources were found with Resource Graph; SQL encryption protectors (which Graph lacks) were read with ARM.
    assert_eq!(manifest["collection"]["api_versions"]["Microsoft.ResourceGraph/resources"][0], "2024-04-01");
    assert_eq!(manifest["collection"]["api_versions"]["Microsoft.Sql/servers"][0], "2023-08-01");
    assert!(manifest["collection"]["coverage_summary"]["denied"].as_u64().unwrap_or(0) >= 1);
    assert_eq!(
        manifest["files"].as_array().map(Vec::len),
        Some(crate::demo::TABLE_COUNT + crate::demo::DOCUMENTS.len())
    );
    let (ok, text) = verify(&package, &public);
    assert!(ok, "{text}");
}

#[test]
fn same_snapshot_gives_identical_sha256sums() {
    let (_a, pa, _) = demo_package();
    let (_b, pb, _) = demo_package();
    assert_eq!(std::fs::read(pa.join("SHA256SUMS")).expect("a"), std::fs::read(pb.join("SHA256SUMS")).expect("b"));
}

#[test]
fn every_tampering_is_caught_and_names_the_file() {
    let (out, package, public) = demo_package();
    let work = out.path().join("work");
    let fresh = |name: &str| -> PathBuf {
        let dir = work.join(name);
        copy_dir(&package, &dir);
        dir
    };
    let expect_failure = |dir: &Path, file: &str| {
        let (ok, text) = verify(dir, &public);
        assert!(!ok, "tampering with {file} was not detected:\n{text}");
        assert!(text.contains(file), "the report does not name {file}:\n{text}");
    };

    for entry in std::fs::read_dir(package.join("tables")).expect("tables") {
        let name = entry.expect("entry").file_name().to_string_lossy().to_string();
        let dir = fresh(&format!("flip-{name}"));
        flip_byte(&dir.join("tables").join(&name), 200);
        expect_failure(&dir, &format!("tables/{name}"));
    }
    let dir = fresh("flip-manifest");
    flip_byte(&dir.join("manifest.json"), 40);
    expect_failure(&dir, "manifest.json");
    let dir = fresh("flip-signature");
    flip_byte(&dir.join("manifest.sig"), 10);
    expect_failure(&dir, "manifest.sig");
    let dir = fresh("delete");
    std::fs::remove_file(dir.join("tables/key_vaults.parquet")).expect("rm");
    expect_failure(&dir, "tables/key_vaults.parquet");
    let dir = fresh("add");
    std::fs::write(dir.join("tables/extra.parquet"), b"PAR1").expect("write");
    expect_failure(&dir, "tables/extra.parquet");
    let dir = fresh("swap-within");
    std::fs::copy(package.join("tables/coverage.parquet"), dir.join("tables/cmk_chain.parquet")).expect("copy");
    expect_failure(&dir, "tables/cmk_chain.parquet");

    // The wrong key, and no key at all.
    let other = out.path().join("other");
    let k = run_binary(&["keygen", "--out", other.to_str().expect("utf-8")], LIMIT);
    assert!(k.status.success());
    let o = run_binary(
        &[
            "verify",
            package.to_str().expect("utf-8"),
            "--public-key",
            other.with_extension("pub.pem").to_str().expect("utf-8"),
        ],
        LIMIT,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("manifest.sig"));
    let o = run_binary(&["verify", package.to_str().expect("utf-8")], LIMIT);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no trusted key"));
}

#[test]
fn packages_of_a_tenant_form_a_verifiable_hash_chain() {
    let sim = StandaloneSim::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("signing");
    assert!(run_binary(&["keygen", "--out", key.to_str().expect("utf-8")], LIMIT).status.success());
    let (private, public) = (key.with_extension("pem"), key.with_extension("pub.pem"));
    let out = dir.path().join("evidence");
    for time in ["2026-11-23T10:15:00Z", "2026-11-23T11:15:00Z", "2026-11-23T12:15:00Z"] {
        let o = collect_from(&sim, &out, time, Some(&private));
        // The scenario has a subscription the reader may not see: the package is written, exit code 3 says so.
        assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let tenant = out.join(SIM_TENANT);
    let ids = ["20261123T101500Z", "20261123T111500Z", "20261123T121500Z"];
    let m2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tenant.join(ids[1]).join("manifest.json")).expect("m2")).expect("JSON");
    assert_eq!(m2["previous"]["snapshot_id"], ids[0]);
    let chain = |t: &Path| {
        let o = run_binary(
            &["verify", "--chain", t.to_str().expect("utf-8"), "--public-key", public.to_str().expect("utf-8")],
            LIMIT,
        );
        (o.status.code(), String::from_utf8_lossy(&o.stdout).to_string())
    };
    let (code, text) = chain(&tenant);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("CHAIN OK: 3 package(s)"), "{text}");

    // Re-signing a rewritten history does not help: the next package recorded the old manifest's hash.
    let forged = dir.path().join("forged");
    copy_dir(&tenant, &forged);
    let manifest = forged.join(ids[0]).join("manifest.json");
    let text0 = std::fs::read_to_string(&manifest)
        .expect("m1")
        .replace("\"cloud\": \"AzureCloud\"", "\"cloud\": \"AzureCloud \"");
    std::fs::write(&manifest, text0).expect("write");
    let (code, text) = chain(&forged);
    assert_eq!(code, Some(1));
    assert!(text.contains(&format!("CHAIN BROKEN at {}/manifest.json", ids[1])), "{text}");
}

#[test]
fn many_tenants_from_one_config_and_one_failing_does_not_stop_the_others() {
    let sim = StandaloneSim::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("tenants.toml");
    std::fs::write(
        &config,
        format!(
            r#"
out = "{out}"

[[tenants]]
id = "{SIM_TENANT}"
name = "Contoso"
credential = "client-secret"
client_id = "{SIM_CLIENT_ID}"
client_secret_env = "CONTOSO_SECRET"
simulator = "{addr}"

[[tenants]]
id = "0badc0de-0000-4000-8000-000000000000"
name = "Fabrikam"
credential = "client-secret"
client_id = "{SIM_CLIENT_ID}"
client_secret_env = "FABRIKAM_SECRET"
simulator = "{addr}"
"#,
            out = dir.path().join("evidence").display(),
            addr = sim.addr
        ),
    )
    .expect("config");
    let o = run_binary_env(
        &["collect", "--config", config.to_str().expect("utf-8"), "--output", "json", "--max-retry-after", "1"],
        &[("CONTOSO_SECRET", SIM_SECRET), ("FABRIKAM_SECRET", "wrong")],
        LIMIT,
    );
    assert_eq!(o.status.code(), Some(1), "a tenant failed: exit 1\n{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let tenants = summary["tenants"].as_array().expect("tenants");
    assert_eq!(tenants.len(), 2);
    assert_eq!(tenants[0]["status"], "gaps");
    assert_eq!(tenants[1]["status"], "failed");
    assert!(tenants[1]["error"].as_str().unwrap_or_default().contains("0badc0de"), "{}", tenants[1]);
    package_dir(&dir.path().join("evidence"));

    // A broken config names the file and the problem.
    std::fs::write(&config, "[[tenants]]\nid = \"x\"\ncredentail = \"auto\"\n").expect("config");
    let o = run_binary(&["collect", "--config", config.to_str().expect("utf-8")], LIMIT);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("tenants.toml") && stderr.contains("credentail"), "{stderr}");
}

#[test]
fn a_package_signed_by_a_key_vault_key_verifies_against_that_key_id() {
    let out = tempfile::tempdir().expect("temp dir");
    let key = "https://kv-contoso-shared.vault.azure.net/keys/evidence-signing-rsa";
    let o = run_binary(
        &[
            "demo",
            "--out",
            out.path().to_str().expect("utf-8"),
            "--sign-with-key-vault",
            key,
            "--sign-algorithm",
            "RS256",
        ],
        LIMIT,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let package = package_dir_in(&out.path().join(SIM_TENANT));
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(package.join("manifest.sig.json")).expect("sig info")).expect("JSON");
    assert_eq!(info["algorithm"], "RS256");
    assert!(info["key_id"].as_str().unwrap_or_default().starts_with(&format!("{key}/")), "{info}");

    // Trusting the key (any version) verifies; trusting another key does not.
    let v = |trusted: &str| {
        run_binary(&["verify", package.to_str().expect("utf-8"), "--trusted-key-id", trusted], LIMIT).status.code()
    };
    assert_eq!(v(key), Some(0));
    assert_eq!(v("https://kv-contoso-shared.vault.azure.net/keys/evidence-signing"), Some(1));

    // openssl checks the RS256 signature with the public key the package records.
    std::fs::write(out.path().join("signer.pem"), info["public_key_pem"].as_str().expect("pem")).expect("pem");
    let digest = tool("openssl", &["dgst", "-sha256", "-binary", "-out", "manifest.sha256", "manifest.json"], &package);
    assert!(digest.status.success());
    let ok = tool(
        "openssl",
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            out.path().join("signer.pem").to_str().expect("utf-8"),
            "-in",
            "manifest.sha256",
            "-sigfile",
            "manifest.sig",
            "-pkeyopt",
            "digest:sha256",
        ],
        &package,
    );
    assert!(ok.status.success(), "{}{}", String::from_utf8_lossy(&ok.stdout), String::from_utf8_lossy(&ok.stderr));
}

#[test]
fn an_unsigned_package_is_signed_later_and_a_table_from_another_package_is_caught() {
    let sim = StandaloneSim::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("signing");
    assert!(run_binary(&["keygen", "--out", key.to_str().expect("utf-8")], LIMIT).status.success());
    let (private, public) = (key.with_extension("pem"), key.with_extension("pub.pem"));
    let out = dir.path().join("evidence");
    for time in ["2026-11-23T10:15:00Z", "2026-11-23T11:15:00Z"] {
        let o = collect_from(&sim, &out, time, None);
        assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).contains("will not be signed"));
    }
    let tenant = out.join(SIM_TENANT);
    let (first, second) = (tenant.join("20261123T101500Z"), tenant.join("20261123T111500Z"));
    let (ok, text) = verify(&first, &public);
    assert!(!ok && text.contains("not signed"), "{text}");

    // A table taken from the other package: caught, and `bundle` refuses to sign the result.
    let swapped = dir.path().join("swapped");
    copy_dir(&first, &swapped);
    std::fs::copy(second.join("tables/coverage.parquet"), swapped.join("tables/coverage.parquet")).expect("copy");
    let bundle = |pkg: &Path| {
        run_binary(&["bundle", pkg.to_str().expect("utf-8"), "--signing-key", private.to_str().expect("utf-8")], LIMIT)
    };
    let o = bundle(&swapped);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("tables/coverage.parquet"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // The intact package is signed once, verifies, and is never re-signed.
    assert!(bundle(&first).status.success());
    let (ok, text) = verify(&first, &public);
    assert!(ok, "{text}");
    let again = bundle(&first);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already signed"));
}
