//! Azure clouds: where ARM, Entra ID, Key Vault and Managed HSM live in each of them.
//!
//! These constructors are the only place in the crate that names a public Azure host; everything else
//! derives its URLs and token scopes from a [`Cloud`].

use crate::Error;
use url::Url;

/// The endpoints of one Azure cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloud {
    /// Name of the cloud as the Azure CLI spells it (`AzureCloud`, `AzureChinaCloud`, ...), or the custom name.
    pub name: String,
    /// Azure Resource Manager, e.g. `https://management.azure.com/`.
    pub arm_endpoint: Url,
    /// Entra ID authority host, e.g. `https://login.microsoftonline.com/`.
    pub authority_host: Url,
    /// Token scope for ARM, e.g. `https://management.azure.com/.default`.
    pub arm_scope: String,
    /// DNS suffix of Key Vault, e.g. `vault.azure.net`.
    pub key_vault_dns_suffix: String,
    /// DNS suffix of Managed HSM, e.g. `managedhsm.azure.net`.
    pub managed_hsm_dns_suffix: String,
}

impl Cloud {
    /// Azure public cloud (`AzureCloud`).
    pub fn public() -> Self {
        Self::known(
            "AzureCloud",
            "https://management.azure.com/",
            "https://login.microsoftonline.com/",
            "vault.azure.net",
            "managedhsm.azure.net",
        )
    }

    /// Azure operated by 21Vianet in China (`AzureChinaCloud`).
    pub fn china() -> Self {
        Self::known(
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn/",
            "https://login.chinacloudapi.cn/",
            "vault.azure.cn",
            "managedhsm.azure.cn",
        )
    }

    /// Azure US Government (`AzureUSGovernment`).
    pub fn us_government() -> Self {
        Self::known(
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net/",
            "https://login.microsoftonline.us/",
            "vault.usgovcloudapi.net",
            "managedhsm.usgovcloudapi.net",
        )
    }

    /// A well-known cloud by name, case-insensitive: `public`/`AzureCloud`, `china`/`AzureChinaCloud`,
    /// `usgov`/`AzureUSGovernment`.
    pub fn by_name(name: &str) -> Result<Self, Error> {
        match name.trim().to_ascii_lowercase().as_str() {
            "public" | "azurecloud" => Ok(Self::public()),
            "china" | "azurechinacloud" => Ok(Self::china()),
            "usgov" | "azureusgovernment" => Ok(Self::us_government()),
            _ => Err(Error::Config {
                detail: format!(
                    "unknown cloud '{name}'; use public (AzureCloud), china (AzureChinaCloud), usgov \
                     (AzureUSGovernment) or describe a custom cloud"
                ),
            }),
        }
    }

    /// A custom cloud (Azure Stack Hub, a sovereign cloud not listed here, ...). Both URLs must be `https`
    /// (the SDK refuses to send tokens or credentials over plain HTTP); the suffixes are bare DNS names.
    pub fn custom(
        name: &str,
        arm_endpoint: &str,
        authority_host: &str,
        arm_scope: &str,
        key_vault_dns_suffix: &str,
        managed_hsm_dns_suffix: &str,
    ) -> Result<Self, Error> {
        let arm_endpoint = parse_https("ARM endpoint", arm_endpoint)?;
        let authority_host = parse_https("authority host", authority_host)?;
        if arm_scope.trim().is_empty() {
            return Err(Error::Config { detail: format!("custom cloud '{name}' needs an ARM token scope") });
        }
        let key_vault_dns_suffix = dns_suffix("Key Vault DNS suffix", key_vault_dns_suffix)?;
        let managed_hsm_dns_suffix = dns_suffix("Managed HSM DNS suffix", managed_hsm_dns_suffix)?;
        Ok(Self {
            name: name.to_owned(),
            arm_endpoint,
            authority_host,
            arm_scope: arm_scope.trim().to_owned(),
            key_vault_dns_suffix,
            managed_hsm_dns_suffix,
        })
    }

    /// The token scope of the Managed HSM data plane, e.g. `https://managedhsm.azure.net/.default`.
    pub(crate) fn managed_hsm_scope(&self) -> String {
        format!("https://{}/.default", self.managed_hsm_dns_suffix)
    }

    fn known(name: &str, arm: &'static str, authority: &'static str, kv: &str, hsm: &str) -> Self {
        let arm_endpoint = constant_url(arm);
        let arm_scope = format!("{}.default", arm_endpoint.as_str());
        Self {
            name: name.to_owned(),
            arm_endpoint,
            authority_host: constant_url(authority),
            arm_scope,
            key_vault_dns_suffix: kv.to_owned(),
            managed_hsm_dns_suffix: hsm.to_owned(),
        }
    }
}

impl Default for Cloud {
    fn default() -> Self {
        Self::public()
    }
}

fn parse_https(what: &str, value: &str) -> Result<Url, Error> {
    let url = Url::parse(value.trim())
        .map_err(|e| Error::Config { detail: format!("{what} '{value}' is not a URL: {e}") })?;
    if url.scheme() != "https" || url.host_str().is_none() {
        return Err(Error::Config { detail: format!("{what} '{value}' must be an https URL with a host") });
    }
    Ok(url)
}

fn dns_suffix(what: &str, value: &str) -> Result<String, Error> {
    let value = value.trim().trim_start_matches('.').to_ascii_lowercase();
    let valid = !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if valid {
        Ok(value)
    } else {
        Err(Error::Config { detail: format!("{what} '{value}' must be a bare DNS name such as vault.azure.net") })
    }
}

/// Parses one of the constant URLs of this file.
#[allow(clippy::expect_used, reason = "only called with the constants above; the tests build every known cloud")]
fn constant_url(url: &'static str) -> Url {
    Url::parse(url).expect("constant cloud URL parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_clouds_by_name() {
        for (name, arm, kv) in [
            ("public", "https://management.azure.com/", "vault.azure.net"),
            ("AzureCloud", "https://management.azure.com/", "vault.azure.net"),
            ("CHINA", "https://management.chinacloudapi.cn/", "vault.azure.cn"),
            ("AzureChinaCloud", "https://management.chinacloudapi.cn/", "vault.azure.cn"),
            ("usgov", "https://management.usgovcloudapi.net/", "vault.usgovcloudapi.net"),
            ("azureusgovernment", "https://management.usgovcloudapi.net/", "vault.usgovcloudapi.net"),
        ] {
            let cloud = Cloud::by_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(cloud.arm_endpoint.as_str(), arm);
            assert_eq!(cloud.arm_scope, format!("{arm}.default"));
            assert_eq!(cloud.key_vault_dns_suffix, kv);
            assert_eq!(cloud.authority_host.scheme(), "https");
        }
        assert!(matches!(Cloud::by_name("mars"), Err(Error::Config { .. })));
    }

    #[test]
    fn custom_cloud_is_validated() {
        let cloud = Cloud::custom(
            "stack",
            "https://management.local.azurestack.external/",
            "https://login.local/",
            "https://management.local.azurestack.external/.default",
            "vault.local.azurestack.external",
            ".managedhsm.local",
        );
        let cloud = cloud.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cloud.managed_hsm_dns_suffix, "managedhsm.local");
        assert_eq!(cloud.managed_hsm_scope(), "https://managedhsm.local/.default");
        assert!(Cloud::custom("x", "http://arm.local/", "https://login/", "s", "v", "h").is_err());
        assert!(Cloud::custom("x", "https://arm.local/", "https://login/", " ", "v", "h").is_err());
        assert!(Cloud::custom("x", "https://arm.local/", "https://login/", "s", "https://v", "h").is_err());
    }
}
