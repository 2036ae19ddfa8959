//! The `fix` column: what to do, with the `az` command that does it, filled in with the names and ids the
//! evidence holds. Where a value is not in the snapshot the command keeps a `<placeholder>`.

use evidence::ids::{resource_group_of, resource_name_of};
use evidence::vocab::identity_type;
use evidence::{CmkChainRow, VaultKind, resource_types};

/// The vault or HSM name: the first label of its host (`kv-contoso-prod` of `https://kv-contoso-prod.vault.azure.net/`).
pub(crate) fn vault_name(uri: &str) -> String {
    let host = uri.trim().trim_start_matches("https://").trim_start_matches("http://");
    host.split(['.', '/', ':']).next().filter(|s| !s.is_empty()).unwrap_or("<vault>").to_string()
}

/// Whether the URI is a Managed HSM's.
pub(crate) fn is_hsm(uri: &str) -> bool {
    let host = uri.trim().trim_start_matches("https://").split('/').next().unwrap_or_default();
    VaultKind::of_host(host) == VaultKind::ManagedHsm
}

/// `--vault-name X` or `--hsm-name X`: how `az keyvault key ...` names where the key lives.
fn key_container(uri: &str) -> String {
    if is_hsm(uri) { format!("--hsm-name {}", vault_name(uri)) } else { format!("--vault-name {}", vault_name(uri)) }
}

fn rg(id: Option<&str>) -> String {
    id.and_then(resource_group_of).unwrap_or_else(|| "<resource-group>".to_string())
}

fn name(id: &str) -> String {
    resource_name_of(id).unwrap_or_else(|| "<name>".to_string())
}

fn or_placeholder(value: Option<&str>, placeholder: &str) -> String {
    value.filter(|v| !v.is_empty()).map_or_else(|| placeholder.to_string(), str::to_string)
}

fn key_uri(c: &CmkChainRow) -> String {
    match (c.key_vault_uri.as_deref(), c.key_name.as_deref()) {
        (Some(uri), Some(key)) => format!("{}keys/{key}", evidence::ids::normalize_vault_uri(uri)),
        _ => "<key id>".to_string(),
    }
}

/// CMK001: give the identity get/wrapKey/unwrapKey on the key.
pub(crate) fn grant_key_use(c: &CmkChainRow) -> String {
    let uri = c.key_vault_uri.as_deref().unwrap_or_default();
    let key = or_placeholder(c.key_name.as_deref(), "<key>");
    let via = c.key_via_resource_id.as_deref().map(|d| format!(" (the identity of {}, which holds the key)", name(d)));
    let via = via.unwrap_or_default();
    if c.identity_type.as_deref() == Some(identity_type::NONE) {
        return format!(
            "Give {} a managed identity{via}, grant it get/wrapKey/unwrapKey on key {key}, then point the encryption \
             settings at it: e.g. `az resource update --ids {} --set identity.type=SystemAssigned`.",
            c.resource_name, c.resource_id
        );
    }
    let principal = or_placeholder(c.identity_principal_id.as_deref(), "<principal id>");
    if is_hsm(uri) {
        return format!(
            "Grant the identity{via} the Managed HSM local role on the key: `az keyvault role assignment create \
             --hsm-name {} --role \"Managed HSM Crypto Service Encryption User\" --assignee-object-id {principal} \
             --assignee-principal-type ServicePrincipal --scope /keys/{key}`.",
            vault_name(uri)
        );
    }
    let rbac = format!(
        "`az role assignment create --role \"Key Vault Crypto Service Encryption User\" --assignee-object-id \
         {principal} --assignee-principal-type ServicePrincipal --scope {}`",
        or_placeholder(c.key_vault_resource_id.as_deref(), "<vault resource id>")
    );
    let policy = format!(
        "`az keyvault set-policy --name {} --object-id {principal} --key-permissions get wrapKey unwrapKey`",
        vault_name(uri)
    );
    match c.vault_rbac_authorization {
        Some(true) => format!("Grant the identity{via} the crypto role on the vault: {rbac}."),
        Some(false) => {
            format!("Give the identity{via} an access policy on the vault (it uses access policies): {policy}.")
        }
        None => format!(
            "Grant the identity{via} key use: {rbac} on an Azure RBAC vault, or {policy} on an access-policy vault."
        ),
    }
}

/// CMK002: re-enable the version in use, then move the resource off it before disabling it again.
pub(crate) fn reenable_version(c: &CmkChainRow) -> String {
    let uri = c.key_vault_uri.as_deref().unwrap_or_default();
    format!(
        "Re-enable the version at once: `az keyvault key set-attributes {} --name {} --version {} --enabled true`; \
         disable an old version only after every resource has moved to a newer one (seed 003).",
        key_container(uri),
        or_placeholder(c.key_name.as_deref(), "<key>"),
        or_placeholder(c.in_use_key_version.as_deref(), "<version>")
    )
}

/// CMK003 and CMK004: make a new version and move the resource to it (or extend the expiry of the version).
pub(crate) fn renew_version(c: &CmkChainRow, expired: bool) -> String {
    let uri = c.key_vault_uri.as_deref().unwrap_or_default();
    let key = or_placeholder(c.key_name.as_deref(), "<key>");
    let version = or_placeholder(c.in_use_key_version.as_deref(), "<version>");
    let first =
        if expired { "Extend the expiry of the version in use now" } else { "Before it expires, either extend it" };
    format!(
        "{first}: `az keyvault key set-attributes {container} --name {key} --version {version} --expires \
         <YYYY-MM-DDTHH:MM:SSZ>`; or rotate: `az keyvault key rotate {container} --name {key}` and {move_on}.",
        container = key_container(uri),
        move_on = move_on_clause(c)
    )
}

fn move_on_clause(c: &CmkChainRow) -> String {
    if c.configured_key_version.is_none() && c.auto_rotation == Some(true) {
        "let the resource adopt the new version (it follows the latest)".to_string()
    } else {
        format!("point the resource at the new version: {}", point_at_version(c, "<new version>"))
    }
}

/// The command that makes a resource use `version` of its key (or the key's holder, for disks behind a set).
pub(crate) fn point_at_version(c: &CmkChainRow, version: &str) -> String {
    let key_uri = key_uri(c);
    let versioned = format!("{key_uri}/{version}");
    let holder = c.key_via_resource_id.as_deref().unwrap_or(&c.resource_id);
    let ty =
        if c.key_via_resource_id.is_some() { resource_types::DISK_ENCRYPTION_SET } else { c.resource_type.as_str() };
    let (n, g) = (name(holder), rg(Some(holder)));
    let uri =
        c.key_vault_uri.as_deref().map(evidence::ids::normalize_vault_uri).unwrap_or_else(|| "<vault uri>".into());
    let key = or_placeholder(c.key_name.as_deref(), "<key>");
    match ty {
        t if t.eq_ignore_ascii_case(resource_types::STORAGE_ACCOUNT) => format!(
            "`az storage account update --name {n} --resource-group {g} --encryption-key-source Microsoft.Keyvault \
             --encryption-key-vault {uri} --encryption-key-name {key} --encryption-key-version {version}` (or \
             --encryption-key-version \"\" to follow the latest version)"
        ),
        t if t.eq_ignore_ascii_case(resource_types::DISK_ENCRYPTION_SET) => format!(
            "`az disk-encryption-set update --name {n} --resource-group {g} --key-url {versioned} --source-vault \
             {}` (or add --enable-auto-key-rotation true with a versionless --key-url)",
            or_placeholder(c.key_vault_resource_id.as_deref(), "<vault resource id>")
        ),
        t if t.eq_ignore_ascii_case(resource_types::SQL_MANAGED_INSTANCE) => format!(
            "`az sql mi key create --managed-instance {n} --resource-group {g} --kid {versioned}` then `az sql mi \
             tde-key set --managed-instance {n} --resource-group {g} --server-key-type AzureKeyVault --kid {versioned}`"
        ),
        t if t.eq_ignore_ascii_case(resource_types::SQL_SERVER) => format!(
            "`az sql server key create --server {n} --resource-group {g} --kid {versioned}` then `az sql server \
             tde-key set --server {n} --resource-group {g} --server-key-type AzureKeyVault --kid {versioned}`"
        ),
        t if t.eq_ignore_ascii_case(resource_types::CONTAINER_REGISTRY) => format!(
            "`az acr encryption rotate-key --name {n} --resource-group {g} --key-encryption-key {versioned} \
             --identity {}`",
            or_placeholder(c.identity_client_id.as_deref(), "<identity client id>")
        ),
        t if t.eq_ignore_ascii_case(resource_types::AKS_CLUSTER) => format!(
            "`az aks update --name {n} --resource-group {g} --enable-azure-keyvault-kms \
             --azure-keyvault-kms-key-id {versioned}`"
        ),
        t if t.eq_ignore_ascii_case(resource_types::CONTAINER_GROUP) => format!(
            "redeploy the container group with properties.encryptionProperties.keyVersion = {version}: `az deployment \
             group create --resource-group {g} --template-file <container group template>`"
        ),
        _ => format!("update the encryption settings of {n} to key {versioned}"),
    }
}

/// Where a vault or HSM fix applies.
pub(crate) struct VaultTarget<'a> {
    pub(crate) name: &'a str,
    pub(crate) resource_id: &'a str,
    pub(crate) hsm: bool,
}

impl VaultTarget<'_> {
    fn update(&self) -> String {
        if self.hsm {
            format!("az keyvault update-hsm --hsm-name {} --resource-group {}", self.name, rg(Some(self.resource_id)))
        } else {
            format!("az keyvault update --name {} --resource-group {}", self.name, rg(Some(self.resource_id)))
        }
    }
}

/// CMK005.
pub(crate) fn purge_protection(v: &VaultTarget<'_>) -> String {
    format!(
        "Turn purge protection on (it cannot be turned off again): `{} --enable-purge-protection true`.",
        v.update()
    )
}

/// CMK006.
pub(crate) fn soft_delete(v: &VaultTarget<'_>) -> String {
    if v.hsm {
        return "Managed HSM soft delete cannot be switched off or on by a setting; recreate the HSM if it reports \
                soft delete off, and turn purge protection on."
            .to_string();
    }
    format!(
        "Turn soft delete on (it cannot be turned off again): `{} --enable-soft-delete true --retention-days 90`.",
        v.update()
    )
}

/// CMK007.
pub(crate) fn rotation_policy(vault_uri: &str, key: &str) -> String {
    format!(
        "Give the key a rotation policy that rotates it: `az keyvault key rotation-policy update {} --name {key} \
         --value '{{\"lifetimeActions\":[{{\"trigger\":{{\"timeAfterCreate\":\"P90D\"}},\"action\":{{\"type\":\"Rotate\"}}}},\
         {{\"trigger\":{{\"timeBeforeExpiry\":\"P30D\"}},\"action\":{{\"type\":\"Notify\"}}}}],\"attributes\":\
         {{\"expiryTime\":\"P1Y\"}}}}'`; resources that pin a version must then be moved to each new one.",
        key_container(vault_uri)
    )
}

/// CMK008.
pub(crate) fn rotate_key(vault_uri: &str, key: &str) -> String {
    format!(
        "Rotate the key: `az keyvault key rotate {} --name {key}`; resources that follow the latest version adopt \
         it, pinned ones must be pointed at it; give the key a rotation policy so that it does not age again.",
        key_container(vault_uri)
    )
}

/// CMK009.
pub(crate) fn separate_duties(principal: &str, broad_role: &str, broad_scope: &str) -> String {
    format!(
        "Separate key administration from resource administration (seed 003): remove one of the two, e.g. `az role \
         assignment delete --assignee {principal} --role {broad_role} --scope {broad_scope}`, or remove the \
         key-management role or access policy on the vault and give it to a different group."
    )
}

/// CMK010.
pub(crate) fn trusted_bypass(v: &VaultTarget<'_>) -> String {
    format!(
        "Let trusted Azure services through the firewall so that CMK services can reach the key (seed 004): `{} \
         --bypass AzureServices`; or give each service a private endpoint path to the vault.",
        v.update()
    )
}

/// CMK011.
pub(crate) fn acr_premium(registry_id: &str) -> String {
    format!(
        "Customer-managed keys need the Premium tier (seed 002): `az acr update --name {} --resource-group {} --sku \
         Premium`.",
        name(registry_id),
        rg(Some(registry_id))
    )
}

/// CMK012.
pub(crate) fn acr_rsa_key(c: &CmkChainRow) -> String {
    let uri = c.key_vault_uri.as_deref().unwrap_or_default();
    format!(
        "ACR supports only RSA or RSA-HSM keys (seed 002): create one and rotate the registry to it: `az keyvault key \
         create {} --name <rsa key> --kty RSA --size 3072` then `az acr encryption rotate-key --name {} \
         --resource-group {} --key-encryption-key {}keys/<rsa key> --identity {}`.",
        key_container(uri),
        name(&c.resource_id),
        rg(Some(&c.resource_id)),
        evidence::ids::normalize_vault_uri(uri),
        or_placeholder(c.identity_client_id.as_deref(), "<identity client id>")
    )
}

/// CMK013.
pub(crate) fn sql_mi_user_assigned(instance_id: &str) -> String {
    let (n, g) = (name(instance_id), rg(Some(instance_id)));
    format!(
        "Give the instance a user-assigned identity with the crypto role on the key and make it primary (seed 001): \
         `az sql mi update --name {n} --resource-group {g} --identity-type UserAssigned --user-assigned-identity-id \
         <identity id> --primary-user-assigned-identity-id <identity id>`."
    )
}

/// CMK014.
pub(crate) fn aci_key_vault(group_id: &str) -> String {
    format!(
        "ACI cannot use Managed HSM keys (seed 001): put the key in a Key Vault and redeploy the group with \
         properties.encryptionProperties.vaultBaseUrl = https://<vault>.vault.azure.net: `az deployment group create \
         --resource-group {} --template-file <container group template>` (encryption is set at deployment only).",
        rg(Some(group_id))
    )
}

/// CMK015.
pub(crate) fn des_rotation_error(set_id: &str) -> String {
    let (n, g) = (name(set_id), rg(Some(set_id)));
    format!(
        "Repair what the error names (usually the identity: `az disk-encryption-set identity assign --name {n} \
         --resource-group {g} --user-assigned <identity id>` and grant it the crypto role on the vault), then \
         re-enable rotation: `az disk-encryption-set update --name {n} --resource-group {g} \
         --enable-auto-key-rotation true`."
    )
}

/// CMK017: put the resource on a customer-managed key.
pub(crate) fn adopt_cmk(resource_type: &str, resource_id: &str) -> String {
    let (n, g) = (name(resource_id), rg(Some(resource_id)));
    match resource_type {
        t if t.eq_ignore_ascii_case(resource_types::STORAGE_ACCOUNT) => format!(
            "`az storage account update --name {n} --resource-group {g} --assign-identity` and grant that identity the \
             crypto role on the vault, then `az storage account update --name {n} --resource-group {g} \
             --encryption-key-source Microsoft.Keyvault --encryption-key-vault <vault uri> --encryption-key-name \
             <key>`."
        ),
        t if t.eq_ignore_ascii_case(resource_types::SQL_SERVER) => format!(
            "`az sql server key create --server {n} --resource-group {g} --kid <key id>` then `az sql server tde-key \
             set --server {n} --resource-group {g} --server-key-type AzureKeyVault --kid <key id> \
             --auto-rotation-enabled true` (the server's identity needs the crypto role on the vault)."
        ),
        t if t.eq_ignore_ascii_case(resource_types::SQL_MANAGED_INSTANCE) => format!(
            "`az sql mi key create --managed-instance {n} --resource-group {g} --kid <key id>` then `az sql mi tde-key \
             set --managed-instance {n} --resource-group {g} --server-key-type AzureKeyVault --kid <key id> \
             --auto-rotation-enabled true` (with a user-assigned identity holding the crypto role)."
        ),
        t if t.eq_ignore_ascii_case(resource_types::DISK) => format!(
            "`az disk update --name {n} --resource-group {g} --encryption-type EncryptionAtRestWithCustomerKey \
             --disk-encryption-set <disk encryption set id>`."
        ),
        t if t.eq_ignore_ascii_case(resource_types::CONTAINER_REGISTRY) => format!(
            "Registry CMK can only be set when the registry is created (seed 002): create a Premium registry with \
             `az acr create --name <new registry> --resource-group {g} --sku Premium --key-encryption-key <key id> \
             --identity <identity id>` and move the images of {n} to it (`az acr import`)."
        ),
        _ => format!("Configure customer-managed-key encryption on {n} with a key in Key Vault or Managed HSM."),
    }
}

/// CMK018: nothing to change on the resource itself; where the data can be protected instead.
pub(crate) fn unsupported(resource_type: &str) -> String {
    if resource_type.to_ascii_lowercase().starts_with("microsoft.app/") {
        return "Nothing to set on the environment (seed 000): keep secrets in Key Vault (`az containerapp secret set \
                --name <app> --resource-group <resource-group> --secrets <name>=keyvaultref:<secret uri>,identityref:\
                <identity id>`) and keep data in services that support CMK."
            .to_string();
    }
    if resource_type.eq_ignore_ascii_case(resource_types::WEB_SITE) {
        return "Nothing to set on the app (seed 001): put its data in CMK-encrypted Storage and its secrets in Key \
                Vault references (`az webapp config appsettings set --name <app> --resource-group <resource-group> \
                --settings <NAME>=@Microsoft.KeyVault(SecretUri=<secret uri>)`)."
            .to_string();
    }
    "Nothing to set on the resource: protect its data through services that support customer-managed keys.".to_string()
}
