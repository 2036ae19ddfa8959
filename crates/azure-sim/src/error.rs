//! The crate's one error type: loading and validating scenarios, starting the server, and driving a running
//! simulator (rotating keys, disabling versions, removing role assignments, changing vault settings, drills).

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can go wrong outside a request. Request-level problems are answered over HTTP the way Azure
/// answers them, never returned here.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A scenario file could not be read from disk.
    #[error("cannot read scenario file {path}: {source}")]
    ReadScenario {
        /// The file that was asked for.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// A scenario is not valid TOML or does not match the scenario format (the message names line and field).
    #[error("scenario {origin}: {message}")]
    ParseScenario {
        /// File path or `builtin:<name>`.
        origin: String,
        /// The TOML parser's message, with line, column and the offending field.
        message: String,
    },
    /// A scenario parsed but is inconsistent (dangling reference, duplicate, bad GUID, ...).
    #[error("scenario {origin}{}: {what}: {problem}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    InvalidScenario {
        /// File path or `builtin:<name>`.
        origin: String,
        /// Line of the offending entry when it can be located in the source text.
        line: Option<usize>,
        /// The entry and field, e.g. `storage_accounts[2] 'stcontosoprod01' encryption.key_name`.
        what: String,
        /// What is wrong and, where possible, how to fix it.
        problem: String,
    },
    /// A document given to `Scenario::add_raw_resource` cannot be served (no string `id` or `type`, an id that
    /// is not an ARM resource id, or an id already served).
    #[error("raw resource {what}: {problem}")]
    RawResource {
        /// The document's id, or what is known of it.
        what: String,
        /// What is wrong.
        problem: String,
    },
    /// `Scenario::builtin` was given a name that is not embedded.
    #[error("unknown built-in scenario '{name}' (built-in scenarios: {known})")]
    UnknownBuiltin {
        /// The name asked for.
        name: String,
        /// Comma-separated list of embedded scenario names.
        known: String,
    },
    /// The simulator only ever listens on loopback: it accepts any client that knows the scenario's secret.
    #[error("refusing to bind the simulator to {addr}: only loopback addresses (127.0.0.0/8, ::1) are allowed")]
    NonLoopbackBind {
        /// The address that was refused.
        addr: SocketAddr,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A vault, managed HSM or key named in a control call does not exist in the running scenario.
    #[error("no key '{key}' in vault or managed HSM '{vault}' of the running scenario")]
    UnknownKey {
        /// Vault or managed HSM name (first DNS label).
        vault: String,
        /// Key name.
        key: String,
    },
    /// A key version named in a control call does not exist.
    #[error("key '{key}' in '{vault}' has no version '{version}'")]
    UnknownKeyVersion {
        /// Vault or managed HSM name.
        vault: String,
        /// Key name.
        key: String,
        /// The version asked for.
        version: String,
    },
    /// A vault or managed HSM named in a control call does not exist in the running scenario.
    #[error("no vault or managed HSM '{vault}' in the running scenario")]
    UnknownVault {
        /// The name asked for.
        vault: String,
    },
    /// `RunningSim::remove_role_assignment` matched no assignment.
    #[error(
        "no role assignment of principal '{principal_id}' at scope '{scope}'{}",
        role.as_ref().map(|r| format!(" with role '{r}'")).unwrap_or_default()
    )]
    NoRoleAssignment {
        /// The principal (object id) asked for.
        principal_id: String,
        /// The scope asked for (an ARM scope or `hsm:<hsm name>:<local scope>`).
        scope: String,
        /// The role definition GUID asked for, if any.
        role: Option<String>,
    },
    /// `RunningSim::set_vault_setting` was given a setting the vault or managed HSM cannot take.
    #[error("cannot set {setting} on '{vault}': {problem}")]
    VaultSetting {
        /// Vault or managed HSM name.
        vault: String,
        /// The setting, e.g. `rbac_authorization = true`.
        setting: String,
        /// What is wrong.
        problem: String,
    },
    /// A drill step built in code cannot be applied (a scenario's `[[drill]]` is checked when it loads).
    #[error("drill step '{step}': {problem}")]
    DrillStep {
        /// The step, as `DrillStep`'s `Display` writes it.
        step: String,
        /// What is wrong.
        problem: String,
    },
}
