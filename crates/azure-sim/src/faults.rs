//! Fault injection: the scenario's `[[faults]]` rules, matched in order against each authenticated request
//! (method, host substring, path substring), each firing at most `times` times. What a fault looks like on the
//! wire depends on the surface, so this module decides *whether* a fault fires and the surfaces shape it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::scenario::{FaultKind, FaultSpec};
use crate::server::Incoming;

/// A rule and how often it has fired.
#[derive(Debug)]
struct Rule {
    spec: FaultSpec,
    fired: AtomicU64,
}

/// All rules of the running scenario.
#[derive(Debug)]
pub(crate) struct FaultBook {
    rules: Vec<Rule>,
}

/// What the surface should do about a request a rule matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FaultAction {
    /// Answer with an error of this kind instead of the real response.
    Respond { kind: FaultKind, retry_after: Option<u64> },
    /// Wait, then answer normally.
    Delay(Duration),
    /// Answer normally but with the body cut short.
    Truncate,
}

impl FaultBook {
    pub(crate) fn new(specs: &[FaultSpec]) -> FaultBook {
        FaultBook { rules: specs.iter().map(|spec| Rule { spec: spec.clone(), fired: AtomicU64::new(0) }).collect() }
    }

    /// The first matching rule with firings left, counted as fired.
    pub(crate) fn fire(&self, request: &Incoming) -> Option<FaultAction> {
        let path = request.path.to_ascii_lowercase();
        for rule in &self.rules {
            let spec = &rule.spec;
            if spec.method.as_deref().is_some_and(|m| !m.eq_ignore_ascii_case(request.method.as_str())) {
                continue;
            }
            if spec.host.as_deref().is_some_and(|h| !request.host.contains(&h.to_ascii_lowercase())) {
                continue;
            }
            if !path.contains(&spec.path_contains.to_ascii_lowercase()) {
                continue;
            }
            let took = match spec.times {
                None => {
                    rule.fired.fetch_add(1, Ordering::Relaxed);
                    true
                }
                Some(limit) => rule
                    .fired
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n < limit).then_some(n + 1))
                    .is_ok(),
            };
            if !took {
                continue;
            }
            tracing::debug!(rule = %spec.name, path = %request.path, "azure-sim fault fired");
            return Some(match spec.kind {
                FaultKind::Slow => FaultAction::Delay(Duration::from_millis(spec.delay_ms.unwrap_or(0))),
                FaultKind::Malformed => FaultAction::Truncate,
                kind => FaultAction::Respond {
                    kind,
                    retry_after: spec.retry_after_seconds.or(match kind {
                        FaultKind::Throttle => Some(10),
                        _ => None,
                    }),
                },
            });
        }
        None
    }
}
