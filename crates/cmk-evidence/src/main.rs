//! `cmk-evidence`: collects proof of how Azure data at rest is protected by customer-managed keys into
//! Parquet evidence packages. This file is the command line: parsing, logging, dispatch and exit codes.

mod compare;
mod demo;
mod discovery;
mod import;
mod inventory;
mod package;
mod report;
mod rules;
mod run;
mod summary;
mod verify;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::discovery::Discovery;

/// Exit codes, documented in `--help`.
pub(crate) mod exit {
    /// Package written; every collection request succeeded.
    pub const OK: u8 = 0;
    /// Nothing written: configuration, credential, or I/O error.
    pub const ERROR: u8 = 1;
    /// Package written, but `coverage` records collection failures (denied, not found, throttled, error).
    pub const GAPS: u8 = 3;
    /// `diff`, `findings`: a row at or above `--fail-on` exists.
    pub const GATE_FAIL: u8 = 1;
    /// `diff`, `findings`: the answer could not be given (a package does not verify, cannot be read, a policy
    /// is broken, ...).
    pub const GATE_ERROR: u8 = 2;
}

const AFTER_HELP: &str = "\
Exit codes:
  0  package written, every collection request succeeded
  1  error: nothing was written (configuration, credentials, I/O); the message says what and where
  2  usage error (bad arguments)
  3  package written, but the coverage table records collection failures (denied, not_found, throttled, error)
import: 0 when every file was read, 3 when some file or item could not be (each is named, with the reason).
verify: 0 when every check holds; 1 when any does not (each problem names the file).
diff: 0 when no row is at or above --fail-on; 1 when one is; 2 when the diff could not be made (a package
  does not verify or cannot be read; the message says which and why).
findings: 0 when no finding is at or above --fail-on (or none is given); 1 when one is; 2 on error.

Logs go to stderr: -v for info, -vv for debug, or RUST_LOG (e.g. RUST_LOG=azure_rest=debug).";

#[derive(Debug, Parser)]
#[command(name = "cmk-evidence", version, about, after_help = AFTER_HELP, propagate_version = true)]
struct Cli {
    /// More logging on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Collect the CMK evidence of one tenant from Azure and write a package.
    Collect(CollectArgs),
    /// Run the whole job against the built-in Azure simulator (no Azure account needed).
    Demo(DemoArgs),
    /// Build a package from saved JSON (`az ... show/list` output, ARM or Key Vault response bodies).
    Import(ImportArgs),
    /// Verify a package (hashes, sizes, schemas, signature) or, with --chain, every package of a tenant.
    Verify(VerifyArgs),
    /// Compare two packages of one tenant (before and after a key rotation or change window).
    Diff(DiffArgs),
    /// Print what is wrong in a package, rule by rule, with the evidence and the `az` command that fixes it.
    Findings(FindingsArgs),
    /// Create an Ed25519 key pair for signing packages.
    Keygen(KeygenArgs),
    /// Sign a package that was collected unsigned, after checking every file against its manifest.
    Bundle(BundleArgs),
    /// Run the Azure simulator standalone on loopback, for trying `collect --simulator`.
    Sim(SimArgs),
    /// Print the schema of every evidence table, with what each column proves.
    Schema(SchemaArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// Readable summary.
    Text,
    /// One JSON document on stdout, for machines.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CredentialKind {
    /// AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE from the environment if set, else `az`/`azd` login.
    Auto,
    /// Azure CLI or Azure Developer CLI login (`az login`).
    DeveloperTools,
    /// Service principal: AZURE_CLIENT_ID + AZURE_CLIENT_SECRET (secret only from the environment).
    ClientSecret,
    /// Workload identity federation: AZURE_CLIENT_ID + AZURE_FEDERATED_TOKEN_FILE.
    WorkloadIdentity,
    /// Managed identity of the machine (AZURE_CLIENT_ID selects a user-assigned one).
    ManagedIdentity,
}

/// Retry bounds shared by `collect` and `demo`.
#[derive(Debug, Clone, Args)]
struct RetryArgs {
    /// Longest `Retry-After` honoured, in seconds (Azure may ask for more; waiting longer stalls the run).
    #[arg(long, value_name = "SECONDS")]
    max_retry_after: Option<u64>,
    /// Time limit of one try of one request, in seconds; a try that takes longer is abandoned and retried.
    #[arg(long, value_name = "SECONDS")]
    per_try_timeout: Option<u64>,
}

impl RetryArgs {
    /// The retry configuration: azure-rest's defaults, with `default_cap` unless `--max-retry-after` is given.
    fn config(&self, default_cap: Option<u64>) -> azure_rest::RetryConfig {
        let mut retry = azure_rest::RetryConfig::default();
        if let Some(cap) = self.max_retry_after.or(default_cap) {
            retry.retry_after_cap = std::time::Duration::from_secs(cap);
        }
        if let Some(t) = self.per_try_timeout {
            retry.per_try_timeout = std::time::Duration::from_secs(t.max(1));
        }
        retry
    }
}

/// How a package is signed (at most one).
#[derive(Debug, Clone, Args)]
struct SigningArgs {
    /// Sign the manifest with this Ed25519 private key (PKCS#8 PEM from `cmk-evidence keygen`).
    #[arg(long, value_name = "KEY.pem")]
    signing_key: Option<PathBuf>,
    /// Sign the manifest with this Key Vault or Managed HSM key (`https://{vault}/keys/{name}[/{version}]`),
    /// through the collecting tenant's credential (needs the `sign` permission on the key).
    #[arg(long, value_name = "KEY_ID")]
    sign_with_key_vault: Option<String>,
    /// Algorithm for --sign-with-key-vault: ES256 (EC P-256 keys), RS256 or PS256 (RSA keys). Default ES256.
    #[arg(long, value_name = "ALG")]
    sign_algorithm: Option<String>,
}

#[derive(Debug, Args)]
struct CollectArgs {
    /// Entra tenant id to collect (or use --config for many tenants).
    #[arg(long, env = "AZURE_TENANT_ID")]
    tenant: Option<String>,
    /// TOML file listing many tenants, each with its cloud, subscriptions and credential; one package per tenant.
    #[arg(long, value_name = "tenants.toml")]
    config: Option<PathBuf>,
    /// Subscription to collect (repeatable). Default: every enabled subscription the credential can see.
    #[arg(long = "subscription", value_name = "ID")]
    subscriptions: Vec<String>,
    /// Directory packages are written under (`<out>/<tenant-id>/<snapshot-id>/`); default `cmk-evidence-out`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Azure cloud: public, china, usgov.
    #[arg(long, default_value = "public")]
    cloud: String,
    /// How to authenticate.
    #[arg(long, value_enum, default_value_t = CredentialKind::Auto)]
    credential: CredentialKind,
    /// Snapshot time (RFC 3339) instead of now; for reproducible runs against a fixed-clock simulator.
    #[arg(long, value_name = "RFC3339")]
    snapshot_time: Option<String>,
    /// Send every request to a local simulator (`cmk-evidence sim`) at this loopback address.
    #[arg(long, value_name = "127.0.0.1:PORT")]
    simulator: Option<SocketAddr>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
    /// Findings policy (which services require CMK, key age, expiry warning, severities); default built in.
    #[arg(long, value_name = "policy.toml")]
    policy: Option<PathBuf>,
    /// How resources are found: `graph` (Azure Resource Graph, one query per 1,000 subscriptions; ARM only for
    /// what Graph lacks) or `arm` (one ARM list per resource type and subscription).
    #[arg(long, value_enum, default_value_t = Discovery::Graph)]
    discovery: Discovery,
    #[command(flatten)]
    retry: RetryArgs,
    #[command(flatten)]
    signing: SigningArgs,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// Folder of saved JSON files (searched recursively; each file's kind is detected from its content).
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
    /// Directory the package is written under (`<out>/<tenant-id>/<snapshot-id>/`).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Entra tenant the files belong to. Default: the tenant their key vaults name.
    #[arg(long)]
    tenant: Option<String>,
    /// Snapshot time (RFC 3339). Default: the newest modification time of the JSON files.
    #[arg(long, value_name = "RFC3339")]
    snapshot_time: Option<String>,
    /// Sign the manifest with this Ed25519 private key (PKCS#8 PEM from `cmk-evidence keygen`).
    #[arg(long, value_name = "KEY.pem")]
    signing_key: Option<PathBuf>,
    /// Findings policy (which services require CMK, key age, expiry warning, severities); default built in.
    #[arg(long, value_name = "policy.toml")]
    policy: Option<PathBuf>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Directory the demo package is written under.
    #[arg(long, default_value = "cmk-evidence-demo")]
    out: PathBuf,
    /// Simulator scenario: a built-in name (`default`, `faults`) or a TOML file.
    #[arg(long, default_value = "default")]
    scenario: String,
    #[command(flatten)]
    estate: EstateArgs,
    /// Findings policy (which services require CMK, key age, expiry warning, severities); default built in.
    #[arg(long, value_name = "policy.toml")]
    policy: Option<PathBuf>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
    /// How resources are found: `graph` (Azure Resource Graph) or `arm` (one ARM list per type and subscription).
    #[arg(long, value_enum, default_value_t = Discovery::Graph)]
    discovery: Discovery,
    /// Retry bounds (the demo caps Retry-After at 2 s unless told otherwise: the simulator is local).
    #[command(flatten)]
    retry: RetryArgs,
    /// Signing (default: a demo Ed25519 key kept in the output directory, made on first use).
    #[command(flatten)]
    signing: SigningArgs,
}

/// A generated estate instead of a scenario file, at the size asked (`--resources` switches it on).
#[derive(Debug, Clone, Args)]
struct EstateArgs {
    /// Generate an estate of this many resources (storage, disks, VMs, DES, AKS, SQL, registries, container
    /// groups) instead of using --scenario, e.g. `--resources 100000 --keys 2000 --subscriptions 200`.
    #[arg(long, value_name = "N")]
    resources: Option<usize>,
    /// Keys of the generated estate (three versions each, in vaults of 100).
    #[arg(long, value_name = "N", default_value_t = 2000, requires = "resources")]
    keys: usize,
    /// Subscriptions of the generated estate.
    #[arg(long, value_name = "N", default_value_t = 200, requires = "resources")]
    subscriptions: usize,
    /// Answer with Azure-like latency (ARM 60 ms, Resource Graph 250 ms, Key Vault 20 ms, token 50 ms) instead of
    /// none.
    #[arg(long)]
    azure_latency: bool,
}

#[derive(Debug, Args)]
struct SimArgs {
    /// Scenario: a built-in name (`default`, `faults`) or a TOML file.
    #[arg(long, default_value = "default")]
    scenario: String,
    #[command(flatten)]
    estate: EstateArgs,
    /// Loopback port to listen on (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The package directory (`<out>/<tenant-id>/<snapshot-id>`), or with --chain the tenant directory.
    path: PathBuf,
    /// Trust signatures by this public key (SPKI PEM; repeatable).
    #[arg(long = "public-key", value_name = "PUB.pem")]
    public_keys: Vec<PathBuf>,
    /// Trust signatures by this key id (`ed25519:…`, or a Key Vault key id, with or without version; repeatable).
    #[arg(long = "trusted-key-id", value_name = "ID")]
    trusted_key_ids: Vec<String>,
    /// Verify every package under the tenant directory and the hash chain linking them.
    #[arg(long)]
    chain: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

#[derive(Debug, Args)]
struct DiffArgs {
    /// The earlier package (`<out>/<tenant-id>/<snapshot-id>`).
    before: PathBuf,
    /// The later package of the same tenant.
    after: PathBuf,
    /// Exit 1 when a row has this severity or higher: info, low, medium, high, critical.
    #[arg(long, value_name = "SEVERITY", default_value = "high", value_parser = parse_severity)]
    fail_on: diff::Severity,
    /// Write `diff.parquet` (every binding with both sides' values and its class) and `diff-summary.json` here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Trust signatures by this public key (SPKI PEM; repeatable). Default: the key that signed BEFORE.
    #[arg(long = "public-key", value_name = "PUB.pem")]
    public_keys: Vec<PathBuf>,
    /// Trust signatures by this key id (`ed25519:…` or a Key Vault key id; repeatable).
    #[arg(long = "trusted-key-id", value_name = "ID")]
    trusted_key_ids: Vec<String>,
    /// Compare packages that were collected without a signing key (every other check still applies).
    #[arg(long)]
    allow_unsigned: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

#[derive(Debug, Args)]
struct FindingsArgs {
    /// The package directory (`<out>/<tenant-id>/<snapshot-id>`).
    #[arg(required_unless_present = "list")]
    package: Option<PathBuf>,
    /// List every rule with its id, severity (under --policy, if given), title and source, and exit.
    #[arg(long)]
    list: bool,
    /// Evaluate the rules again under this policy (which services require CMK, key age, expiry warning,
    /// severities) instead of printing the findings recorded in the package.
    #[arg(long, value_name = "policy.toml")]
    policy: Option<PathBuf>,
    /// Exit 1 when a finding has this severity or higher: info, low, medium, high, critical.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    fail_on: Option<diff::Severity>,
    /// Trust signatures by this public key (SPKI PEM; repeatable). Default: the key that signed the package.
    #[arg(long = "public-key", value_name = "PUB.pem")]
    public_keys: Vec<PathBuf>,
    /// Trust signatures by this key id (repeatable).
    #[arg(long = "trusted-key-id", value_name = "ID")]
    trusted_key_ids: Vec<String>,
    /// Read a package collected without a signing key.
    #[arg(long)]
    allow_unsigned: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

fn parse_severity(text: &str) -> Result<diff::Severity, String> {
    text.parse()
}

#[derive(Debug, Args)]
struct BundleArgs {
    /// The package directory (`<out>/<tenant-id>/<snapshot-id>`), collected without a signing key.
    package: PathBuf,
    /// Ed25519 private key (PKCS#8 PEM from `cmk-evidence keygen`).
    #[arg(long, value_name = "KEY.pem")]
    signing_key: PathBuf,
}

#[derive(Debug, Args)]
struct KeygenArgs {
    /// Path prefix: writes `<out>.pem` (private, PKCS#8) and `<out>.pub.pem` (public, SPKI). Never overwrites.
    #[arg(long, default_value = "evidence-signing")]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct SchemaArgs {
    /// Print Markdown (for docs) instead of plain text.
    #[arg(long)]
    markdown: bool,
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(true).try_init();
}

/// `cmk-evidence … | head` closes stdout early; `println!` then panics. End quietly instead, with the status a
/// shell gives a process killed by SIGPIPE (128 + 13), as other command-line tools do.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Collect(args) => run::collect_command(args).await,
            Command::Demo(args) => demo::demo_command(args).await,
            Command::Import(args) => import::import_command(args).await,
            Command::Sim(args) => demo::sim_command(args).await,
            Command::Verify(args) => verify::verify_command(args),
            // A gate that cannot be decided exits 2, so that CI can tell "could not check" from "found something".
            Command::Diff(args) => Ok(compare::diff_command(args).unwrap_or_else(|e| {
                report_error(&e);
                exit::GATE_ERROR
            })),
            Command::Findings(args) => Ok(rules::findings_command(args).unwrap_or_else(|e| {
                report_error(&e);
                exit::GATE_ERROR
            })),
            Command::Keygen(args) => verify::keygen_command(args),
            Command::Bundle(args) => verify::bundle_command(args),
            Command::Schema(args) => {
                summary::print_schema(args.markdown);
                Ok(exit::OK)
            }
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            report_error(&e);
            ExitCode::from(exit::ERROR)
        }
    }
}

fn report_error(e: &anyhow::Error) {
    eprintln!("error: {e}");
    for cause in e.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}
