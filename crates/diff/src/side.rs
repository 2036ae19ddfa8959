//! What the diff knows about one snapshot besides its `cmk_chain` rows: when it was taken, which subscriptions
//! it covered, what it could not collect (coverage gaps), and the state of every key version it read.

use std::collections::{HashMap, HashSet};

use evidence::Timestamp;
use evidence::tables::coverage::CoverageRow;
use evidence::tables::key_versions::KeyVersionRow;
use evidence::vocab::CoverageStatus;

/// Whether a coverage status means "something may be missing here": `denied`, `not_found`, `throttled`,
/// `error`, and any status this version does not know. `not_supported` and `not_assessed` name what the tool
/// does not read at all; they hide no binding.
pub fn is_gap(status: &str) -> bool {
    !matches!(CoverageStatus::parse(status), Some(CoverageStatus::NotSupported | CoverageStatus::NotAssessed))
}

/// State of one key version in one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionFacts {
    /// `attributes.enabled`.
    pub enabled: Option<bool>,
    /// `attributes.created`.
    pub created_at: Option<Timestamp>,
    /// `attributes.exp`.
    pub expires_at: Option<Timestamp>,
}

/// One snapshot's context.
#[derive(Debug, Clone)]
pub struct Side {
    /// Snapshot id.
    pub snapshot_id: String,
    /// Snapshot time.
    pub taken_at: Timestamp,
    /// Subscriptions the snapshot covered (lower case); `None` when the manifest does not say.
    scopes: Option<HashSet<String>>,
    /// Resource ids (lower case) with a gap.
    gap_ids: HashSet<String>,
    /// Every ancestor path of a gap id: a binding whose id is one of these has a gap on a child.
    gap_ancestors: HashSet<String>,
    /// Whole lists that failed: (subscription, lower-case resource type).
    gap_lists: Vec<(Option<String>, String)>,
    /// Key versions by [`version_key`].
    versions: HashMap<String, VersionFacts>,
}

/// Join key of a key version: vault URI without trailing slash, key name, version; lower case.
pub fn version_key(vault_uri: &str, key_name: &str, version: &str) -> String {
    let mut key = String::with_capacity(vault_uri.len() + key_name.len() + version.len() + 2);
    key.push_str(vault_uri.trim_end_matches('/'));
    key.push('|');
    key.push_str(key_name);
    key.push('|');
    key.push_str(version);
    key.make_ascii_lowercase();
    key
}

impl Side {
    /// Builds a side. `scopes` are the manifest's collected scopes (`/subscriptions/{id}`); empty = unknown.
    pub fn new(
        snapshot_id: &str,
        taken_at: Timestamp,
        scopes: &[String],
        coverage: &[CoverageRow],
        key_versions: &[KeyVersionRow],
    ) -> Self {
        // Subscription scopes only: a scope of another kind (a management group, the tenant root) could cover
        // any subscription, so the scopes then say nothing about what was left out.
        let subscriptions: Option<HashSet<String>> = scopes
            .iter()
            .map(|s| {
                let s = s.trim().trim_end_matches('/').to_ascii_lowercase();
                s.strip_prefix("/subscriptions/").map(|id| id.split('/').next().unwrap_or(id).to_string())
            })
            .collect();
        let scopes = subscriptions.filter(|s| !s.is_empty());
        let mut side = Side {
            snapshot_id: snapshot_id.to_string(),
            taken_at,
            scopes,
            gap_ids: HashSet::new(),
            gap_ancestors: HashSet::new(),
            gap_lists: Vec::new(),
            versions: HashMap::new(),
        };
        for row in coverage.iter().filter(|r| is_gap(&r.status)) {
            match &row.resource_id {
                Some(id) if id.starts_with('/') => {
                    let id = id.trim_end_matches('/').to_ascii_lowercase();
                    let mut at = id.len();
                    while let Some(slash) = id[..at].rfind('/') {
                        if slash == 0 {
                            break;
                        }
                        side.gap_ancestors.insert(id[..slash].to_string());
                        at = slash;
                    }
                    side.gap_ids.insert(id);
                }
                // A gap on a key or vault URI is a chain link, reported by the chain itself.
                Some(_) => {}
                None => side.gap_lists.push((
                    row.subscription_id.as_ref().map(|s| s.to_ascii_lowercase()),
                    row.resource_type.to_ascii_lowercase(),
                )),
            }
        }
        for v in key_versions {
            side.versions.insert(
                version_key(&v.key_vault_uri, &v.key_name, &v.version),
                VersionFacts { enabled: v.enabled, created_at: v.created_at, expires_at: v.expires_at },
            );
        }
        side
    }

    /// Why a binding of this resource may be missing from or incomplete in this snapshot, if it may be.
    pub fn gap_for(&self, subscription_id: &str, resource_type: &str, resource_id: &str) -> Option<String> {
        if let Some(scopes) = &self.scopes
            && !scopes.contains(lower(subscription_id).as_ref())
        {
            return Some(format!("subscription {subscription_id} was not collected in snapshot {}", self.snapshot_id));
        }
        if !self.gap_ids.is_empty() && self.gap_ids.len() <= LINEAR_GAPS {
            // A few gaps (the usual case): compare each, without hashing every parent path of the id.
            let id = resource_id.trim_end_matches('/');
            for gap in &self.gap_ids {
                if related_ids(gap, id) {
                    return Some(if gap.len() > id.len() {
                        format!("part of the resource could not be read in snapshot {}", self.snapshot_id)
                    } else {
                        format!("{gap} could not be read in snapshot {}", self.snapshot_id)
                    });
                }
            }
        } else if !self.gap_ids.is_empty() {
            // Ids in cmk_chain are already lower case: copy only when one is not.
            let id = lower(resource_id.trim_end_matches('/'));
            if self.gap_ancestors.contains(id.as_ref()) {
                return Some(format!("part of the resource could not be read in snapshot {}", self.snapshot_id));
            }
            let mut prefix: &str = &id;
            loop {
                if self.gap_ids.contains(prefix) {
                    return Some(format!("{prefix} could not be read in snapshot {}", self.snapshot_id));
                }
                match prefix.rfind('/') {
                    Some(slash) if slash > 0 => prefix = &prefix[..slash],
                    _ => break,
                }
            }
        }
        if self.gap_lists.is_empty() {
            return None;
        }
        for (sub, list_type) in &self.gap_lists {
            let sub_matches = sub.as_deref().is_none_or(|s| s.eq_ignore_ascii_case(subscription_id));
            if sub_matches && types_related(list_type, resource_type) {
                return Some(format!(
                    "the {list_type} list of subscription {} failed in snapshot {}",
                    sub.as_deref().unwrap_or("(any)"),
                    self.snapshot_id
                ));
            }
        }
        None
    }

    /// State of a key version in this snapshot.
    pub fn version(&self, vault_uri: &str, key_name: &str, version: &str) -> Option<VersionFacts> {
        self.versions.get(&version_key(vault_uri, key_name, version)).copied()
    }
}

fn lower(text: &str) -> std::borrow::Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(text.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Gap counts up to which [`Side::gap_for`] compares ids one by one instead of hashing every parent path.
const LINEAR_GAPS: usize = 32;

/// Equal ignoring ASCII case, or one is a `/`-child of the other (`microsoft.sql/servers` and
/// `Microsoft.Sql/servers/keys`; a resource id and the id of one of its children).
fn related_paths(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    long.as_bytes()[..short.len()].eq_ignore_ascii_case(short.as_bytes())
        && (long.len() == short.len() || long.as_bytes()[short.len()] == b'/')
}

/// See [`related_paths`]; a gap on "/" would relate to everything, so an empty id relates to nothing.
fn related_ids(gap: &str, id: &str) -> bool {
    !gap.is_empty() && !id.is_empty() && related_paths(gap, id)
}

fn types_related(a: &str, b: &str) -> bool {
    related_paths(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(sub: Option<&str>, t: &str, id: Option<&str>, status: &str) -> CoverageRow {
        CoverageRow {
            tenant_id: "t".into(),
            snapshot_id: "s".into(),
            subscription_id: sub.map(str::to_string),
            resource_type: t.into(),
            resource_id: id.map(str::to_string),
            status: status.into(),
            reason: "r".into(),
            http_status: None,
            error_code: None,
            request_url: None,
        }
    }

    const SA: &str = "/subscriptions/s1/resourcegroups/rg/providers/microsoft.storage/storageaccounts/sa1";
    const SQL: &str = "/subscriptions/s1/resourcegroups/rg/providers/microsoft.sql/servers/sql1";

    #[test]
    fn gaps_match_the_resource_its_children_its_list_and_its_subscription() {
        // The same answers whether the ids are compared one by one (few gaps) or through their parent paths.
        for padding in [0, 2 * LINEAR_GAPS] {
            let mut coverage = vec![
                gap(
                    Some("s1"),
                    "Microsoft.Sql/servers/encryptionProtector",
                    Some(&format!("{SQL}/encryptionProtector/current")),
                    "error",
                ),
                gap(Some("s2"), "Microsoft.Storage/storageAccounts", None, "denied"),
                gap(Some("s1"), "Microsoft.Web/sites", None, "not_supported"),
                gap(None, "Microsoft.KeyVault/vaults/keys", Some("https://kv.vault.azure.net/keys/k"), "not_found"),
                gap(Some("s1"), "Microsoft.Compute/disks", Some("/subscriptions/s1/resourceGroups/RG2"), "denied"),
            ];
            for i in 0..padding {
                let id =
                    format!("/subscriptions/s9/resourcegroups/rg/providers/microsoft.storage/storageaccounts/p{i}");
                coverage.push(gap(Some("s9"), "Microsoft.Storage/storageAccounts", Some(&id), "error"));
            }
            let scopes = ["/subscriptions/s1".to_string(), "/subscriptions/S2".into(), "/subscriptions/s9".into()];
            let side = Side::new("snap", Timestamp::from_micros(0), &scopes, &coverage, &[]);
            assert!(side.gap_for("s1", "microsoft.sql/servers", SQL).is_some(), "a child read failed ({padding})");
            assert!(side.gap_for("s1", "microsoft.storage/storageaccounts", SA).is_none(), "({padding})");
            let other = SA.replace("/s1/", "/s2/");
            assert!(side.gap_for("s2", "microsoft.storage/storageaccounts", &other).is_some(), "list denied");
            assert!(side.gap_for("s3", "microsoft.storage/storageaccounts", SA).is_some(), "not in scope");
            let in_rg2 = "/subscriptions/s1/resourcegroups/rg2/providers/microsoft.compute/disks/d1";
            assert!(
                side.gap_for("s1", "microsoft.compute/disks", in_rg2).is_some(),
                "a parent read failed ({padding})"
            );
            let rg20 = "/subscriptions/s1/resourcegroups/rg20/providers/microsoft.compute/disks/d1";
            assert!(side.gap_for("s1", "microsoft.compute/disks", rg20).is_none(), "rg20 is not under rg2 ({padding})");
            assert!(
                side.gap_for("s1", "microsoft.web/sites", "/subscriptions/s1/x").is_none(),
                "not_supported hides nothing"
            );
        }
        // A management-group scope covers any subscription: the scopes then rule nothing out.
        let side = Side::new(
            "snap",
            Timestamp::from_micros(0),
            &["/providers/Microsoft.Management/managementGroups/mg".into()],
            &[],
            &[],
        );
        assert!(side.gap_for("s3", "microsoft.storage/storageaccounts", SA).is_none());
    }
}
