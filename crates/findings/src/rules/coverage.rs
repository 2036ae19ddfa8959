//! CMK018: services that cannot use customer-managed keys at rest, from the `not_supported` rows of the
//! coverage table. Reported as information, citing the coverage reason, never as "missing CMK" (seed 000).

use evidence::CoverageStatus;

use super::{CMK018, Draft};
use crate::facts::Facts;
use crate::fix;
use crate::snapshot::Snapshot;

pub(super) fn check(s: &Snapshot<'_>, out: &mut Vec<Draft>) {
    let mut rows: Vec<_> = s
        .tables
        .coverage
        .iter()
        .filter(|c| CoverageStatus::parse(&c.status) == Some(CoverageStatus::NotSupported))
        .collect();
    rows.sort();
    for c in rows {
        // A row about a whole type in a subscription (no resource id) is reported at that scope.
        let resource_id = c.resource_id.clone().unwrap_or_else(|| match &c.subscription_id {
            Some(sub) => format!("/subscriptions/{sub}/providers/{}", c.resource_type.to_ascii_lowercase()),
            None => format!("/providers/{}", c.resource_type.to_ascii_lowercase()),
        });
        let name = evidence::ids::resource_name_of(&resource_id).unwrap_or_else(|| resource_id.clone());
        let facts = Facts::new()
            .add("coverage", "status", &c.status)
            .add("coverage", "resource_type", &c.resource_type)
            .add("coverage", "reason", &c.reason);
        let title = format!("{name} ({}) cannot use customer-managed keys at rest: {}", c.resource_type, c.reason);
        out.push(Draft {
            rule: &CMK018,
            resource_id,
            encryption_scope: String::new(),
            resource_type: Some(c.resource_type.clone()),
            subscription_id: c.subscription_id.clone(),
            title,
            evidence: facts.into_vec(),
            fix: fix::unsupported(&c.resource_type),
        });
    }
}
