//! The normalised vocabularies written next to Azure's raw strings: key source, identity type, coverage status,
//! and the role definitions that let an identity use a key. Azure's own text is always kept verbatim in a
//! `*_raw` column; the normalised column says `unrecognized` for a value this version does not know.

/// Normalised key source of an encryption setting.
pub mod key_source {
    /// The platform's own keys (storage `Microsoft.Storage`, SQL `ServiceManaged`, disks `EncryptionAtRestWithPlatformKey`).
    pub const MICROSOFT_MANAGED: &str = "microsoft_managed";
    /// A key in Azure Key Vault or Managed HSM (storage `Microsoft.Keyvault`, SQL `AzureKeyVault`, ...).
    pub const CUSTOMER_MANAGED: &str = "customer_managed";
    /// Azure sent a value this version does not know; the raw value is in `key_source_raw`.
    pub const UNRECOGNIZED: &str = "unrecognized";

    /// Normalises a storage account's `encryption.keySource`. `None` when Azure did not say.
    pub fn from_storage(raw: Option<&str>) -> Option<&'static str> {
        raw.map(|raw| match raw.trim().to_ascii_lowercase().as_str() {
            "microsoft.storage" => MICROSOFT_MANAGED,
            "microsoft.keyvault" => CUSTOMER_MANAGED,
            _ => UNRECOGNIZED,
        })
    }

    /// Normalises a disk encryption set's `encryptionType` or a managed disk's `encryption.type`.
    pub fn from_disk_encryption_type(raw: Option<&str>) -> Option<&'static str> {
        raw.map(|raw| match raw.trim().to_ascii_lowercase().as_str() {
            "encryptionatrestwithplatformkey" => MICROSOFT_MANAGED,
            "encryptionatrestwithcustomerkey"
            | "encryptionatrestwithplatformandcustomerkeys"
            | "confidentialvmencryptedwithcustomerkey" => CUSTOMER_MANAGED,
            _ => UNRECOGNIZED,
        })
    }

    /// Normalises a SQL encryption protector's `serverKeyType` (`ServiceManaged`, `AzureKeyVault`).
    pub fn from_sql_server_key_type(raw: Option<&str>) -> Option<&'static str> {
        raw.map(|raw| match raw.trim().to_ascii_lowercase().as_str() {
            "servicemanaged" => MICROSOFT_MANAGED,
            "azurekeyvault" => CUSTOMER_MANAGED,
            _ => UNRECOGNIZED,
        })
    }

    /// Normalises a container registry's `encryption.status` (`enabled`, `disabled`).
    pub fn from_acr_encryption_status(raw: Option<&str>) -> Option<&'static str> {
        raw.map(|raw| match raw.trim().to_ascii_lowercase().as_str() {
            "disabled" => MICROSOFT_MANAGED,
            "enabled" => CUSTOMER_MANAGED,
            _ => UNRECOGNIZED,
        })
    }
}

/// Values of `encryption_scope`: what the key protects inside the resource.
pub mod encryption_scope {
    /// A whole storage account.
    pub const ACCOUNT: &str = "account";
    /// A managed disk (through its disk encryption set).
    pub const DISK: &str = "disk";
    /// A disk encryption set's own key reference: what every disk that points at it inherits.
    pub const ENCRYPTION_SET: &str = "encryption_set";
    /// A VM's OS disk (through the disk encryption set the VM names).
    pub const OS_DISK: &str = "os_disk";
    /// Node OS and data disks of an AKS cluster (through its disk encryption set).
    pub const NODE_DISKS: &str = "node_disks";
    /// Kubernetes secrets in etcd of an AKS cluster (KMS with a Key Vault key).
    pub const ETCD_SECRETS: &str = "etcd_secrets";
    /// Transparent data encryption protector of a SQL server or managed instance.
    pub const TDE_PROTECTOR: &str = "tde_protector";
    /// A whole container registry.
    pub const REGISTRY: &str = "registry";
    /// A whole container group (ACI).
    pub const CONTAINER_GROUP: &str = "container_group";

    /// A VM data disk: `data_disk/lun=<n>`.
    pub fn data_disk(lun: i64) -> String {
        format!("data_disk/lun={lun}")
    }
}

/// Normalised type of the identity a resource uses to reach its key.
pub mod identity_type {
    /// The resource's system-assigned managed identity.
    pub const SYSTEM_ASSIGNED: &str = "system_assigned";
    /// A user-assigned managed identity named in the encryption settings.
    pub const USER_ASSIGNED: &str = "user_assigned";
    /// The resource has no managed identity that could reach the key.
    pub const NONE: &str = "none";
}

/// Why something is in the `coverage` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CoverageStatus {
    /// Azure answered 401/403: the caller may not read it.
    Denied,
    /// Azure answered 404, or a referenced vault/key is not in any collected subscription.
    NotFound,
    /// The service does not support customer-managed keys for data at rest.
    NotSupported,
    /// The resource was seen but this tool does not assess its type.
    NotAssessed,
    /// Azure kept answering 429 until the retry budget was spent.
    Throttled,
    /// Anything else: 5xx, timeouts, malformed answers, transport errors.
    Error,
}

impl CoverageStatus {
    /// The value of the `status` column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Denied => "denied",
            Self::NotFound => "not_found",
            Self::NotSupported => "not_supported",
            Self::NotAssessed => "not_assessed",
            Self::Throttled => "throttled",
            Self::Error => "error",
        }
    }

    /// Parses a `status` column value (as written by [`CoverageStatus::as_str`]).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "denied" => Self::Denied,
            "not_found" => Self::NotFound,
            "not_supported" => Self::NotSupported,
            "not_assessed" => Self::NotAssessed,
            "throttled" => Self::Throttled,
            "error" => Self::Error,
            _ => return None,
        })
    }
}

/// Built-in role definitions relevant to CMK, by their trailing GUID (role names differ per language and
/// cloud; GUIDs do not).
pub mod roles {
    /// A built-in role this tool knows by GUID.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct KnownRole {
        /// Lower-case GUID, the last segment of the role definition id.
        pub guid: &'static str,
        /// English display name.
        pub name: &'static str,
        /// Whether the role grants get + wrapKey + unwrapKey on keys, which every CMK service needs.
        pub grants_key_use: bool,
        /// Whether the role can manage keys or their access (separation-of-duties interest).
        pub manages_keys: bool,
    }

    /// Azure RBAC roles on Key Vault (management plane RBAC applied to the data plane).
    pub const KEY_VAULT: &[KnownRole] = &[
        KnownRole {
            guid: "e147488a-f6f5-4113-8e2d-b22465e65bf6",
            name: "Key Vault Crypto Service Encryption User",
            grants_key_use: true,
            manages_keys: false,
        },
        KnownRole {
            guid: "12338af0-0e69-4776-bea7-57ae8d297424",
            name: "Key Vault Crypto User",
            grants_key_use: true,
            manages_keys: false,
        },
        KnownRole {
            guid: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
            name: "Key Vault Crypto Officer",
            grants_key_use: true,
            manages_keys: true,
        },
        KnownRole {
            guid: "00482a5a-887f-4fb3-b363-3b7fe8e74483",
            name: "Key Vault Administrator",
            grants_key_use: true,
            manages_keys: true,
        },
    ];

    /// Managed HSM local RBAC roles (assigned in the HSM's data plane).
    pub const MANAGED_HSM: &[KnownRole] = &[
        KnownRole {
            guid: "33413926-3206-4cdd-b39a-83574fe37a17",
            name: "Managed HSM Crypto Service Encryption User",
            grants_key_use: true,
            manages_keys: false,
        },
        KnownRole {
            guid: "21dbd100-6940-42c2-9190-5d6cb909625b",
            name: "Managed HSM Crypto User",
            grants_key_use: true,
            manages_keys: true,
        },
        KnownRole {
            guid: "515eb02d-2335-4d2d-92f2-b1cbdf9c3778",
            name: "Managed HSM Crypto Officer",
            grants_key_use: false,
            manages_keys: true,
        },
        KnownRole {
            guid: "a290e904-7015-4bba-90c8-60543313cdb4",
            name: "Managed HSM Administrator",
            grants_key_use: false,
            manages_keys: true,
        },
    ];

    /// Looks a role up by GUID in both lists.
    pub fn by_guid(guid: &str) -> Option<&'static KnownRole> {
        let guid = guid.trim().to_ascii_lowercase();
        KEY_VAULT.iter().chain(MANAGED_HSM).find(|r| r.guid == guid)
    }

    /// Access-policy key permissions every CMK service needs (non-RBAC vaults).
    pub const REQUIRED_KEY_PERMISSIONS: [&str; 3] = ["get", "wrapkey", "unwrapkey"];
}

/// How much a finding or a diff row needs attention; ordered `Info < Low < Medium < High < Critical`, so a gate
/// (`--fail-on high`) fails on `high` and `critical`. Spelt in lower case in tables, policy files and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Recorded for completeness; nothing to fix.
    Info,
    /// Hygiene; worth a look.
    Low,
    /// A control is weaker than it should be; needs an owner.
    Medium,
    /// A control is missing or an outage is likely; act before the change window closes.
    High,
    /// Data access is at risk now or at the next key operation.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] =
        [Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    /// The lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses the lower-case name (surrounding spaces and case are forgiven).
    pub fn parse(text: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::parse(s)
            .ok_or_else(|| format!("unknown severity {s:?}; one of {}", Severity::ALL.map(Severity::as_str).join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_sources_keep_unknowns_distinct_from_absent() {
        assert_eq!(key_source::from_storage(Some("Microsoft.Keyvault")), Some(key_source::CUSTOMER_MANAGED));
        assert_eq!(key_source::from_storage(Some("Microsoft.Storage")), Some(key_source::MICROSOFT_MANAGED));
        assert_eq!(key_source::from_storage(Some("Contoso.Quantum")), Some(key_source::UNRECOGNIZED));
        assert_eq!(key_source::from_storage(None), None);
    }

    #[test]
    fn coverage_status_round_trips() {
        for s in [
            CoverageStatus::Denied,
            CoverageStatus::NotFound,
            CoverageStatus::NotSupported,
            CoverageStatus::NotAssessed,
            CoverageStatus::Throttled,
            CoverageStatus::Error,
        ] {
            assert_eq!(CoverageStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn roles_are_found_by_guid_in_any_case() {
        let r = roles::by_guid("E147488A-F6F5-4113-8E2D-B22465E65BF6").unwrap();
        assert!(r.grants_key_use);
        assert!(!roles::by_guid("a290e904-7015-4bba-90c8-60543313cdb4").unwrap().grants_key_use);
        assert!(roles::by_guid("acdd72a7-3385-48ef-bd42-f606fba81ae7").is_none());
    }
}
