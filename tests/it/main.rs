//! The integration-test binary: runs the real `cmk-evidence` binary against the built-in simulator (real
//! azure_core pipeline, bearer policy, credential and Key Vault client on loopback) and reads what it wrote
//! with the tools users have (DuckDB, pyarrow).

// Test code: a failed expectation is a failed test, with the message saying which.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod demo;
mod diff;
mod discovery;
mod faults;
mod findings;
mod import;
mod package;
mod report;
