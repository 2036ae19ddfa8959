//! Shared fixtures for the integration tests live in `it/`.
