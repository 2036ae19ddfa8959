//! Response latency per Azure surface (ARM, Resource Graph, Key Vault / Managed HSM data plane, token
//! endpoint), so a benchmark against the simulator sees Azure's shape of time rather than loopback's. The delay
//! is a `tokio` sleep in the request's own task, taken before any lock: requests overlap as they would on the
//! wire.

use std::time::Duration;

/// How long each surface takes to answer, added to every response of that surface.
///
/// ```
/// use azure_sim::{Latency, Scenario};
///
/// let scenario = Scenario::default_scenario().with_latency(Latency::azure_like());
/// # let _ = scenario;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    /// Azure Resource Manager (lists, gets, role assignments).
    pub arm: Duration,
    /// One Resource Graph query (one page).
    pub graph: Duration,
    /// Key Vault and Managed HSM data plane operations.
    pub key_vault: Duration,
    /// The Entra ID token endpoint.
    pub token: Duration,
}

impl Latency {
    /// The same delay for every surface (what `[simulation] latency_ms` and [`Scenario::with_latency_ms`]
    /// set).
    ///
    /// [`Scenario::with_latency_ms`]: crate::Scenario::with_latency_ms
    pub fn uniform(delay: Duration) -> Latency {
        Latency { arm: delay, graph: delay, key_vault: delay, token: delay }
    }

    /// A profile shaped like Azure seen from a client in the same geography: ARM reads 60 ms, a Resource Graph
    /// page 250 ms, a Key Vault operation 20 ms, a token 50 ms. These are typical medians as commonly observed,
    /// not measurements of any particular tenant or region; real latency varies with region, load, page size
    /// and the resource provider behind ARM.
    pub fn azure_like() -> Latency {
        Latency {
            arm: Duration::from_millis(60),
            graph: Duration::from_millis(250),
            key_vault: Duration::from_millis(20),
            token: Duration::from_millis(50),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;

    #[test]
    fn latency_ms_sets_every_surface() {
        let s = Scenario::default_scenario().with_latency_ms(7);
        assert_eq!(s.latency, Latency::uniform(Duration::from_millis(7)));
        assert_eq!(s.latency.graph, Duration::from_millis(7));
        let azure = Scenario::default_scenario().with_latency(Latency::azure_like());
        assert_eq!(azure.latency.arm, Duration::from_millis(60));
        assert_eq!(azure.latency.graph, Duration::from_millis(250));
        assert_eq!(azure.latency.key_vault, Duration::from_millis(20));
        assert_eq!(azure.latency.token, Duration::from_millis(50));
    }
}
