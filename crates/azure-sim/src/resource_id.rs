//! ARM resource ids as the simulator needs them: parsed once at scenario load, compared case-insensitively
//! (ARM ids are case-insensitive and Azure itself returns them in varying case), printed as written.

/// `/subscriptions/{s}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResourceId {
    /// The id exactly as the scenario wrote it.
    pub(crate) raw: String,
    pub(crate) subscription: String,
    pub(crate) resource_group: String,
    /// `Microsoft.Storage/storageAccounts`, as written.
    pub(crate) resource_type: String,
    pub(crate) name: String,
}

impl ResourceId {
    /// Parse a top-level resource id; `None` if it is not one.
    pub(crate) fn parse(raw: &str) -> Option<ResourceId> {
        let segments: Vec<&str> = raw.split('/').collect();
        // ["", "subscriptions", s, "resourceGroups", rg, "providers", ns, type, name]
        if segments.len() != 9 || !segments[0].is_empty() {
            return None;
        }
        if !segments[1].eq_ignore_ascii_case("subscriptions")
            || !segments[3].eq_ignore_ascii_case("resourceGroups")
            || !segments[5].eq_ignore_ascii_case("providers")
        {
            return None;
        }
        if segments.iter().skip(1).any(|s| s.is_empty()) {
            return None;
        }
        Some(ResourceId {
            raw: raw.to_string(),
            subscription: segments[2].to_string(),
            resource_group: segments[4].to_string(),
            resource_type: format!("{}/{}", segments[6], segments[7]),
            name: segments[8].to_string(),
        })
    }

    /// Lower-case form for lookups and joins.
    pub(crate) fn key(&self) -> String {
        self.raw.to_ascii_lowercase()
    }

    /// True when this resource is of `resource_type` (case-insensitive).
    pub(crate) fn is_type(&self, resource_type: &str) -> bool {
        self.resource_type.eq_ignore_ascii_case(resource_type)
    }

    /// The id with its `resourceGroups` segment lower-cased, as the storage resource provider writes
    /// `encryption.identity.userAssignedIdentity` (see the 2025-06-01 federated-identity example).
    pub(crate) fn with_lowercase_rg_segment(&self) -> String {
        format!(
            "/subscriptions/{}/resourcegroups/{}/providers/{}/{}",
            self.subscription, self.resource_group, self.resource_type, self.name
        )
    }
}

/// Split a path or scope into its non-empty segments (`//` collapses, as ARM and Key Vault tolerate).
pub(crate) fn segments(path: &str) -> Vec<String> {
    path.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect()
}

/// Lower-cased, segment-normalised form of a scope for case-insensitive prefix comparisons.
pub(crate) fn scope_key(scope: &str) -> Vec<String> {
    segments(scope).into_iter().map(|s| s.to_ascii_lowercase()).collect()
}

/// Percent-decode one path segment; invalid escapes are kept verbatim.
pub(crate) fn percent_decode(segment: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| segment.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let id =
            ResourceId::parse("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct");
        let id = id.unwrap_or_else(|| panic!("should parse"));
        assert_eq!(id.subscription, "s1");
        assert!(id.is_type("microsoft.storage/STORAGEACCOUNTS"));
        assert!(ResourceId::parse("/subscriptions/s1/resourceGroups/rg").is_none());
        assert!(ResourceId::parse("subscriptions/s1/resourceGroups/rg/providers/a/b/c").is_none());
    }

    #[test]
    fn segments_collapse_and_decode() {
        assert_eq!(segments("///providers//x%20y/"), vec!["providers", "x y"]);
        assert_eq!(scope_key("/Subscriptions/ABC/"), vec!["subscriptions", "abc"]);
    }
}
