//! The five severities a finding can have: the workspace's one vocabulary (`evidence::vocab::Severity`), spelt
//! as the `findings.severity` column and the policy file spell them.

pub(crate) use evidence::vocab::Severity;
