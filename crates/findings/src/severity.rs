//! The five severities a finding can have, in increasing order, spelt as the `findings.severity` column and the
//! policy file spell them.

use serde::Deserialize;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    /// Worth knowing; nothing to fix.
    Info,
    /// Hygiene.
    Low,
    /// A control is weaker than it should be.
    Medium,
    /// A control is missing or an outage is likely.
    High,
    /// Data is unreadable now or at the next key operation.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub(crate) const ALL: [Severity; 5] =
        [Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    /// The value of the `severity` column.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a severity as written in the policy file or a rule's default.
    pub(crate) fn parse(text: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == text)
    }
}
