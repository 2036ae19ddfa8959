//! Pure conversion of container documents into evidence rows, through one [`Assembler`] that both the I/O
//! layer and `import` feed: container groups become a `container_groups` row and a `cmk_bindings` row; Container
//! Apps environments and App Service sites a `not_supported` coverage row (they have no customer-managed key at
//! rest: seeds 000 and 001), never a "missing CMK"; environment certificates and app secrets that live in Key
//! Vault a `key_vault_references` row. No I/O; absent JSON stays null.

use std::collections::BTreeMap;

use evidence::identity::{EncryptionIdentity, ManagedIdentity, NamedIdentity, encryption_identity};
use evidence::ids::{normalize_resource_id, normalize_vault_uri, resource_group_of, resource_name_of, subscription_of};
use evidence::vocab::{CoverageStatus, encryption_scope, identity_type, key_source};
use evidence::wire::{item_label, non_empty};
use evidence::{
    CmkBinding, ContainerGroupRow, CoverageRow, KeyReference, KeyVaultReferenceRow, SnapshotContext, Tables, VaultKind,
    resource_types,
};
use serde::Deserialize;

use crate::{ConvertError, wire};

/// `reference_kind` of an environment certificate imported from Key Vault.
pub const REFERENCE_CERTIFICATE: &str = "certificate";
/// `reference_kind` of a container app secret held in Key Vault.
pub const REFERENCE_SECRET: &str = "secret";

const CONTAINER_GROUP: &str = "microsoft.containerinstance/containergroups";
const CONTAINER_GROUP_PROFILE: &str = "microsoft.containerinstance/containergroupprofiles";
const ENVIRONMENT: &str = "microsoft.app/managedenvironments";
const CERTIFICATE: &str = "microsoft.app/managedenvironments/certificates";
const CONTAINER_APP: &str = "microsoft.app/containerapps";
const SITE: &str = "microsoft.web/sites";

/// Why a Container Apps environment has no binding (seed 000), and where its Key Vault use is recorded.
pub const ENVIRONMENT_REASON: &str = "Container Apps environments do not support customer-managed keys for data \
     at rest (seed 000: not documented as supported on Microsoft Learn; platform-managed keys only); Key Vault \
     references of its certificates and apps are in key_vault_references";

/// Why an App Service app has no binding (seed 001).
pub const WEB_APP_REASON: &str = "App Service apps have no service-level customer-managed key setting for data at \
     rest (seed 001: App Service is a notable exception; application content and diagnostics persist through \
     platform-managed storage, and CMK posture depends on the integrated services)";

/// Why a Function app has no binding (seed 001).
pub const FUNCTION_APP_REASON: &str = "Function apps have no service-level customer-managed key setting for data \
     at rest (seed 001: Azure Functions is a notable exception; state, logs and artifacts persist through Storage \
     and Application Insights, where CMK is applied)";

/// Accumulates converted documents of this crate's types and yields rows. The I/O layer feeds every item it
/// fetched through it and `import` feeds files through it, so both give identical rows.
///
/// Documents are kept per resource id: a later document of the same resource replaces an earlier one (the I/O
/// layer adds a container group's `GET` body after its list item). Certificates are resolved against the
/// environment's `identity` block in [`Assembler::finish`], whatever order the documents came in.
#[derive(Debug, Clone)]
pub struct Assembler {
    ctx: SnapshotContext,
    container_groups: BTreeMap<String, (ContainerGroupRow, CmkBinding)>,
    /// Environment id (normalised) → its `identity` block.
    environments: BTreeMap<String, ManagedIdentity>,
    /// Holding resource id (normalised) → its references (replaced as a whole when the resource is re-added).
    references: BTreeMap<String, Vec<PendingReference>>,
    /// Resource id (normalised) → coverage row the document itself implies.
    coverage: BTreeMap<String, CoverageRow>,
}

/// A reference whose identity is resolved in `finish` (certificates need their environment's identity block).
#[derive(Debug, Clone)]
struct PendingReference {
    row: KeyVaultReferenceRow,
    /// Resolve the principal against this environment's identity block (certificates only).
    via_environment: bool,
}

impl Assembler {
    /// An empty assembler for one snapshot.
    pub fn new(ctx: &SnapshotContext) -> Self {
        Self {
            ctx: ctx.clone(),
            container_groups: BTreeMap::new(),
            environments: BTreeMap::new(),
            references: BTreeMap::new(),
            coverage: BTreeMap::new(),
        }
    }

    /// Converts one document whose `type` (case-insensitive) is in [`HANDLES`](crate::HANDLES). `raw_sha256` is the SHA-256 of
    /// the response (or file) it came from. Err when it cannot be read (shape, missing id, unknown type); the
    /// assembler is then unchanged.
    pub fn add(&mut self, item: &serde_json::Value, raw_sha256: &str) -> Result<(), ConvertError> {
        let label = item_label(item, "id");
        let header = wire::ResourceHeader::deserialize(item).map_err(|e| ConvertError::Shape {
            kind: "resource",
            resource: label.clone(),
            reason: e.to_string(),
        })?;
        let resource_type = header.resource_type.as_deref().map(str::trim).unwrap_or_default().to_ascii_lowercase();
        match resource_type.as_str() {
            CONTAINER_GROUP => {
                let (group, binding) = container_group(&self.ctx, item, raw_sha256)?;
                self.container_groups.insert(group.resource_id.clone(), (group, binding));
            }
            // A profile is a template for groups, not a running group: it encrypts nothing by itself. The groups
            // created from it are listed and converted on their own.
            CONTAINER_GROUP_PROFILE => {}
            ENVIRONMENT => {
                let (id, identity, row) = managed_environment(&self.ctx, item)?;
                self.environments.insert(id.clone(), identity);
                self.coverage.insert(id, row);
            }
            CERTIFICATE => {
                let (id, reference) = environment_certificate(&self.ctx, item, raw_sha256)?;
                let pending = reference.map(|row| PendingReference { row, via_environment: true });
                self.references.insert(id, pending.into_iter().collect());
            }
            CONTAINER_APP => {
                let (id, rows) = container_app(&self.ctx, item, raw_sha256)?;
                let pending = rows.into_iter().map(|row| PendingReference { row, via_environment: false });
                self.references.insert(id, pending.collect());
            }
            SITE => {
                let row = web_site(&self.ctx, item)?;
                self.coverage.insert(row.resource_id.clone().unwrap_or_default(), row);
            }
            _ => {
                return Err(ConvertError::UnsupportedType {
                    resource: label,
                    resource_type: header.resource_type.unwrap_or_default(),
                });
            }
        }
        Ok(())
    }

    /// All rows: `container_groups`, `cmk_bindings`, `key_vault_references` and the `not_supported` coverage
    /// rows of environments and sites.
    pub fn finish(self) -> Tables {
        let mut tables = Tables::default();
        for (group, binding) in self.container_groups.into_values() {
            tables.container_groups.push(group);
            tables.cmk_bindings.push(binding);
        }
        for pending in self.references.into_values().flatten() {
            let mut row = pending.row;
            if pending.via_environment {
                let environment = row.managed_environment_id.as_ref().and_then(|id| self.environments.get(id));
                resolve_identity(&mut row, environment);
            }
            tables.key_vault_references.push(row);
        }
        tables.coverage.extend(self.coverage.into_values());
        tables
    }
}

/// Whether a container group document names a customer-managed key (`encryptionProperties`, under
/// `properties` or flattened by `az`). The I/O layer reads a group whose list item does not, because ACI's list
/// is known to return partial resources.
pub(crate) fn names_encryption(item: &serde_json::Value) -> bool {
    let present = |v: Option<&serde_json::Value>| v.is_some_and(|v| !v.is_null());
    present(item.get("properties").and_then(|p| p.get("encryptionProperties")))
        || present(item.get("encryptionProperties"))
}

/// The id, subscription and name every row needs, or the error naming what is missing.
struct Identified {
    original_id: String,
    resource_id: String,
    subscription_id: String,
    name: String,
}

fn identify(kind: &'static str, label: &str, id: Option<&str>, name: Option<&str>) -> Result<Identified, ConvertError> {
    let original_id = non_empty(id)
        .ok_or_else(|| ConvertError::MissingField { kind, resource: label.to_string(), field: "id" })?
        .to_string();
    let subscription_id = subscription_of(&original_id).ok_or_else(|| ConvertError::InvalidId {
        kind,
        resource: original_id.clone(),
        reason: "no /subscriptions/{id} segment",
    })?;
    let name = non_empty(name)
        .map(str::to_string)
        .or_else(|| resource_name_of(&original_id))
        .ok_or_else(|| ConvertError::MissingField { kind, resource: original_id.clone(), field: "name" })?;
    Ok(Identified { resource_id: normalize_resource_id(&original_id), original_id, subscription_id, name })
}

fn parse<T: serde::de::DeserializeOwned>(kind: &'static str, item: &serde_json::Value) -> Result<T, ConvertError> {
    T::deserialize(item).map_err(|e| ConvertError::Shape {
        kind,
        resource: item_label(item, "id"),
        reason: e.to_string(),
    })
}

/// One container group → its `container_groups` row and its `cmk_bindings` row (scope `container_group`).
/// With `encryptionProperties` the key is customer-managed: vault, key and the one version ACI encrypts with
/// (configured = in use; it does not follow newer versions, so `auto_rotation` is false when a version is set),
/// reached by the named user-assigned identity or else the system-assigned one. Without it the group uses
/// Microsoft-managed keys.
pub(crate) fn container_group(
    ctx: &SnapshotContext,
    item: &serde_json::Value,
    raw_sha256: &str,
) -> Result<(ContainerGroupRow, CmkBinding), ConvertError> {
    const KIND: &str = "container group";
    let group: wire::ContainerGroup = parse(KIND, item)?;
    let id = identify(KIND, &item_label(item, "id"), group.id.as_deref(), group.name.as_deref())?;
    let wire::ContainerGroup { location, identity, properties, flattened_properties, .. } = group;
    let properties = properties.unwrap_or(flattened_properties);
    let identity = identity.unwrap_or_default();

    let encryption = properties.encryption_properties;
    let is_cmk = encryption.is_some();
    let encryption = encryption.unwrap_or_default();
    let vault_base_url = non_empty(encryption.vault_base_url.as_deref());
    let key_name = non_empty(encryption.key_name.as_deref());
    let key_version = non_empty(encryption.key_version.as_deref());
    let key_identity = non_empty(encryption.identity.as_deref());
    let key = match (vault_base_url, key_name) {
        (Some(vault), Some(name)) => KeyReference::from_parts(vault, name, key_version).ok(),
        _ => None,
    };
    // A vault URL that is not a URL is kept as sent; its kind is then unknown.
    let vault_kind = match (&key, vault_base_url) {
        (Some(key), _) => Some(key.vault_kind),
        (None, Some(url)) => vault_host(url).map(|host| VaultKind::of_host(&host)),
        (None, None) => None,
    };

    let used_identity = if is_cmk {
        let named = match key_identity {
            Some(resource_id) => NamedIdentity::ResourceId(resource_id),
            None => NamedIdentity::SystemAssigned,
        };
        encryption_identity(Some(&identity), named, None, true)
    } else {
        EncryptionIdentity::default()
    };

    let binding = CmkBinding {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        subscription_id: id.subscription_id.clone(),
        resource_id: id.resource_id.clone(),
        resource_id_original: id.original_id.clone(),
        resource_type: resource_types::CONTAINER_GROUP.to_string(),
        resource_name: id.name.clone(),
        location: location.clone(),
        encryption_scope: encryption_scope::CONTAINER_GROUP.to_string(),
        key_source: Some(if is_cmk { key_source::CUSTOMER_MANAGED } else { key_source::MICROSOFT_MANAGED }.to_string()),
        // ACI has no key-source field: the presence of `encryptionProperties` is the statement.
        key_source_raw: None,
        key_vault_uri: key.as_ref().map(|k| k.vault_uri.clone()).or_else(|| vault_base_url.map(normalize_vault_uri)),
        key_via_resource_id: None,
        key_name: key_name.map(str::to_string),
        configured_key_version: key_version.map(str::to_string),
        in_use_key_version: key_version.map(str::to_string),
        // ACI reports the parts, not a key identifier.
        in_use_key_id: None,
        auto_rotation: key_version.map(|_| false),
        identity_type: used_identity.identity_type.map(str::to_string),
        identity_resource_id: used_identity.resource_id,
        identity_principal_id: used_identity.principal_id,
        identity_client_id: used_identity.client_id,
        federated_client_id: used_identity.federated_client_id,
        last_key_rotation_at: None,
        in_use_key_expires_at: None,
        rotation_error: None,
        raw_response_sha256: raw_sha256.to_string(),
    };

    let row = ContainerGroupRow {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        subscription_id: id.subscription_id,
        resource_group: resource_group_of(&id.original_id),
        resource_id: id.resource_id,
        resource_id_original: id.original_id,
        name: id.name,
        location,
        sku: properties.sku,
        os_type: properties.os_type,
        vault_base_url: vault_base_url.map(str::to_string),
        vault_kind: vault_kind.map(|k| k.as_str().to_string()),
        key_name: key_name.map(str::to_string),
        key_version: key_version.map(str::to_string),
        key_identity_resource_id: key_identity.map(normalize_resource_id),
        identity_type_raw: identity.identity_type.clone(),
        system_assigned_principal_id: non_empty(identity.principal_id.as_deref()).map(str::to_string),
        user_assigned_identity_ids: identity.user_assigned_ids(),
        provisioning_state: properties.provisioning_state,
        raw_response_sha256: raw_sha256.to_string(),
    };
    Ok((row, binding))
}

/// One Container Apps environment → (normalised id, its identity block, its `not_supported` coverage row).
fn managed_environment(
    ctx: &SnapshotContext,
    item: &serde_json::Value,
) -> Result<(String, ManagedIdentity, CoverageRow), ConvertError> {
    const KIND: &str = "Container Apps environment";
    let environment: wire::ManagedEnvironment = parse(KIND, item)?;
    let id = identify(KIND, &item_label(item, "id"), environment.id.as_deref(), environment.name.as_deref())?;
    let row = ctx.coverage(
        CoverageStatus::NotSupported,
        resource_types::CONTAINER_APPS_ENVIRONMENT,
        Some(&id.subscription_id),
        Some(&id.original_id),
        ENVIRONMENT_REASON,
    );
    Ok((id.resource_id, environment.identity.unwrap_or_default(), row))
}

/// One environment certificate → (normalised id, its reference when it is imported from Key Vault). An
/// uploaded certificate has no reference.
fn environment_certificate(
    ctx: &SnapshotContext,
    item: &serde_json::Value,
    raw_sha256: &str,
) -> Result<(String, Option<KeyVaultReferenceRow>), ConvertError> {
    const KIND: &str = "Container Apps certificate";
    let certificate: wire::EnvironmentCertificate = parse(KIND, item)?;
    let id = identify(KIND, &item_label(item, "id"), certificate.id.as_deref(), certificate.name.as_deref())?;
    let properties = certificate.properties.unwrap_or(certificate.flattened_properties);
    let row = properties
        .certificate_key_vault_properties
        .filter(|r| non_empty(r.key_vault_url.as_deref()).is_some())
        .map(|reference| {
            let environment = parent_before(&id.original_id, "certificates").map(|e| normalize_resource_id(&e));
            reference_row(
                ctx,
                &id,
                resource_types::CONTAINER_APPS_CERTIFICATE,
                id.name.clone(),
                REFERENCE_CERTIFICATE,
                &reference,
                environment,
                raw_sha256,
            )
        });
    Ok((id.resource_id, row))
}

/// One container app → (normalised id, one reference per secret held in Key Vault). Secrets stored in the app
/// are not recorded at all, not even by name.
fn container_app(
    ctx: &SnapshotContext,
    item: &serde_json::Value,
    raw_sha256: &str,
) -> Result<(String, Vec<KeyVaultReferenceRow>), ConvertError> {
    const KIND: &str = "container app";
    let app: wire::ContainerApp = parse(KIND, item)?;
    let id = identify(KIND, &item_label(item, "id"), app.id.as_deref(), app.name.as_deref())?;
    let identity = app.identity.unwrap_or_default();
    let properties = app.properties.unwrap_or(app.flattened_properties);
    let environment = non_empty(properties.managed_environment_id.as_deref())
        .or(non_empty(properties.environment_id.as_deref()))
        .map(normalize_resource_id);
    let secrets = properties.configuration.and_then(|c| c.secrets).unwrap_or_default();
    let mut rows = Vec::new();
    for (index, secret) in secrets.iter().enumerate() {
        if non_empty(secret.key_vault_url.as_deref()).is_none() {
            continue;
        }
        let name = non_empty(secret.name.as_deref()).ok_or_else(|| ConvertError::MissingField {
            kind: KIND,
            resource: format!("{} (secret {index})", id.original_id),
            field: "properties.configuration.secrets[].name",
        })?;
        let reference =
            wire::KeyVaultReference { key_vault_url: secret.key_vault_url.clone(), identity: secret.identity.clone() };
        let mut row = reference_row(
            ctx,
            &id,
            resource_types::CONTAINER_APP,
            format!("secret/{name}"),
            REFERENCE_SECRET,
            &reference,
            environment.clone(),
            raw_sha256,
        );
        resolve_identity(&mut row, Some(&identity));
        rows.push(row);
    }
    Ok((id.resource_id, rows))
}

/// One App Service or Function app → its `not_supported` coverage row.
fn web_site(ctx: &SnapshotContext, item: &serde_json::Value) -> Result<CoverageRow, ConvertError> {
    const KIND: &str = "App Service site";
    let site: wire::Site = parse(KIND, item)?;
    let id = identify(KIND, &item_label(item, "id"), site.id.as_deref(), site.name.as_deref())?;
    let is_function_app = site.kind.as_deref().is_some_and(|k| k.to_ascii_lowercase().contains("functionapp"));
    let reason = if is_function_app { FUNCTION_APP_REASON } else { WEB_APP_REASON };
    Ok(ctx.coverage(
        CoverageStatus::NotSupported,
        resource_types::WEB_SITE,
        Some(&id.subscription_id),
        Some(&id.original_id),
        reason,
    ))
}

/// A `key_vault_references` row, identity named but not yet resolved to a principal.
#[allow(clippy::too_many_arguments)] // Each argument is a different column.
fn reference_row(
    ctx: &SnapshotContext,
    holder: &Identified,
    resource_type: &str,
    reference_name: String,
    reference_kind: &str,
    reference: &wire::KeyVaultReference,
    managed_environment_id: Option<String>,
    raw_sha256: &str,
) -> KeyVaultReferenceRow {
    let url = non_empty(reference.key_vault_url.as_deref()).map(str::to_string);
    let object = url.as_deref().map(vault_object).unwrap_or_default();
    let identity = non_empty(reference.identity.as_deref()).map(str::to_string);
    let (identity_type, identity_resource_id) = match identity.as_deref() {
        Some(text) if text.trim().eq_ignore_ascii_case("system") => (Some(identity_type::SYSTEM_ASSIGNED), None),
        Some(text) => (Some(identity_type::USER_ASSIGNED), Some(normalize_resource_id(text))),
        None => (None, None),
    };
    KeyVaultReferenceRow {
        tenant_id: ctx.tenant_id.clone(),
        snapshot_id: ctx.snapshot_id(),
        subscription_id: holder.subscription_id.clone(),
        resource_id: holder.resource_id.clone(),
        resource_id_original: holder.original_id.clone(),
        resource_type: resource_type.to_string(),
        reference_name,
        reference_kind: reference_kind.to_string(),
        key_vault_uri: url.as_deref().filter(|u| vault_host(u).is_some()).map(normalize_vault_uri),
        key_vault_url: url,
        vault_object_name: object.0,
        vault_object_version: object.1,
        identity,
        identity_type: identity_type.map(str::to_string),
        identity_resource_id,
        identity_principal_id: None,
        identity_client_id: None,
        managed_environment_id,
        raw_response_sha256: raw_sha256.to_string(),
    }
}

/// Fills principal and client id from the holder's `identity` block, when it holds the identity the reference
/// names. The type stays what the reference names, even when the block lacks that identity.
fn resolve_identity(row: &mut KeyVaultReferenceRow, holder_identity: Option<&ManagedIdentity>) {
    let Some(holder_identity) = holder_identity else { return };
    let named = match (row.identity_type.as_deref(), row.identity.as_deref()) {
        (Some(identity_type::SYSTEM_ASSIGNED), _) => NamedIdentity::SystemAssigned,
        (Some(identity_type::USER_ASSIGNED), Some(id)) => NamedIdentity::ResourceId(id),
        _ => return,
    };
    let resolved = encryption_identity(Some(holder_identity), named, None, true);
    if resolved.identity_type == row.identity_type.as_deref() {
        row.identity_principal_id = resolved.principal_id;
        row.identity_client_id = resolved.client_id;
    }
}

/// The lower-case host of an `https://` URL, when there is one.
fn vault_host(url: &str) -> Option<String> {
    let url = url.trim();
    let rest = url.get(..8).filter(|scheme| scheme.eq_ignore_ascii_case("https://")).and(url.get(8..))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// (object name, version) of a Key Vault secret or certificate URL: `https://{vault}/{secrets|certificates}/
/// {name}[/{version}]`. `(None, None)` for any other shape.
fn vault_object(url: &str) -> (Option<String>, Option<String>) {
    let Some(rest) = url.trim().split_once("://").map(|(_, rest)| rest) else { return (None, None) };
    let path = rest.split(['?', '#']).next().unwrap_or_default();
    let mut segments = path.split('/').skip(1).filter(|s| !s.is_empty());
    match segments.next() {
        Some(collection) if ["secrets", "certificates"].iter().any(|c| collection.eq_ignore_ascii_case(c)) => {}
        _ => return (None, None),
    }
    let name = segments.next().map(str::to_string);
    let version = segments.next().map(str::to_string);
    (name, version)
}

/// The part of an ARM id before `/{segment}/...` (case-insensitive), e.g. a certificate's environment.
fn parent_before(id: &str, segment: &str) -> Option<String> {
    let parts: Vec<&str> = id.trim_end_matches('/').split('/').collect();
    let at = parts.iter().rposition(|p| p.eq_ignore_ascii_case(segment))?;
    (at > 1).then(|| parts[..at].join("/"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on bad data: that is the failure.
mod tests {
    use std::collections::BTreeSet;

    use evidence::Timestamp;
    use serde_json::{Value, json};

    use super::*;
    use crate::HANDLES;
    use collect_common::examples::body;

    const HASH: &str = "5c1f0c0ffee0000000000000000000000000000000000000000000000000000b";

    const ACI_2022: &str = "containerinstance/2022-09-01/ContainerGroupEncryptionProperties.json";
    const ACI_PROFILE: &str =
        "containerinstance/2025-09-01/ContainerGroupProfileCreateOrUpdate_EncryptionProperties.json";
    const ENV_2022: &str = "app/2022-03-01/ManagedEnvironments_Get.json";
    const ENV_2025: &str = "app/2025-07-01/ManagedEnvironments_Get.json";
    const CERTIFICATE: &str = "app/2025-07-01/Certificate_CreateOrUpdate_FromKeyVault.json";
    const APP: &str = "app/2025-07-01/ContainerApps_Get.json";

    const GROUP_ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/test-rg/providers/Microsoft.ContainerInstance/containerGroups/test-container-encryption";
    const GROUP_UAI: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/test-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/container-group-identity";
    const ENV_ID: &str = "/subscriptions/8efdecc5-919e-44eb-b179-915dca89ebf9/resourceGroups/examplerg/providers/Microsoft.App/managedEnvironments/jlaw-demo1";
    const CERT_ID: &str = "/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourceGroups/examplerg/providers/Microsoft.App/managedEnvironments/testcontainerenv/Certificates/certificate-firendly-name";
    const CERT_ENV: &str = "/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourcegroups/examplerg/providers/microsoft.app/managedenvironments/testcontainerenv";
    const CERT_UAI: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/test-rg/providers/microsoft.managedidentity/userassignedidentities/test-user-mi";
    const APP_ID: &str = "/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourceGroups/rg/providers/Microsoft.App/containerApps/testcontainerapp0";
    const APP_UAI: &str = "/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/myidentity";
    const SITE_ID: &str = "/subscriptions/1111AAAA-0000-0000-0000-000000000000/resourceGroups/Web-RG/providers/Microsoft.Web/sites/contoso";

    fn ctx() -> SnapshotContext {
        SnapshotContext {
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".to_string(),
            taken_at: Timestamp::parse("2026-01-15T10:00:00Z").unwrap(),
        }
    }

    /// The rows one document yields on its own.
    fn rows_of(item: &Value) -> Tables {
        let mut assembler = Assembler::new(&ctx());
        assembler.add(item, HASH).unwrap_or_else(|e| panic!("{e}"));
        assembler.finish()
    }

    fn is_empty(t: &Tables) -> bool {
        t.row_counts().iter().all(|(_, n)| *n == 0)
    }

    /// What an ACI example must convert to.
    struct GroupCase {
        file: &'static str,
        status: &'static str,
        key_version: &'static str,
        provisioning_state: &'static str,
    }

    #[test]
    fn every_container_group_example_is_a_cmk_binding_with_its_user_assigned_identity() {
        let cases = [
            GroupCase { file: ACI_2022, status: "200", key_version: "<key version>", provisioning_state: "Pending" },
            GroupCase { file: ACI_2022, status: "201", key_version: "key version", provisioning_state: "Running" },
        ];
        for case in cases {
            let at = format!("{} {}", case.file, case.status);
            let item = body(case.file, case.status);
            assert!(names_encryption(&item), "{at}");
            let t = rows_of(&item);
            assert_eq!((t.container_groups.len(), t.cmk_bindings.len()), (1, 1), "{at}");
            assert!(t.coverage.is_empty() && t.key_vault_references.is_empty(), "{at}");
            let (g, b) = (&t.container_groups[0], &t.cmk_bindings[0]);

            assert_eq!(b.resource_id_original, GROUP_ID, "{at}");
            assert_eq!(b.resource_id, GROUP_ID.to_ascii_lowercase(), "{at}");
            assert_eq!(b.subscription_id, "00000000-0000-0000-0000-000000000000", "{at}");
            assert_eq!(b.resource_type, "Microsoft.ContainerInstance/containerGroups", "{at}");
            assert_eq!(b.resource_name, "test-container-encryption", "{at}");
            assert_eq!(b.location.as_deref(), Some("eastus2"), "{at}");
            assert_eq!(b.encryption_scope, "container_group", "{at}");
            assert_eq!(b.key_source.as_deref(), Some("customer_managed"), "{at}");
            assert_eq!(b.key_source_raw, None, "{at}: ACI has no key-source field");
            assert_eq!(b.key_vault_uri.as_deref(), Some("https://testkeyvault.vault.azure.net/"), "{at}");
            assert_eq!(b.key_via_resource_id, None, "{at}");
            assert_eq!(b.key_name.as_deref(), Some("test-key"), "{at}");
            assert_eq!(b.configured_key_version.as_deref(), Some(case.key_version), "{at}");
            assert_eq!(b.in_use_key_version.as_deref(), Some(case.key_version), "{at}: ACI uses the pinned version");
            assert_eq!(b.in_use_key_id, None, "{at}: ACI reports no key identifier");
            assert_eq!(b.auto_rotation, Some(false), "{at}: a pinned version is not followed to newer ones");
            assert_eq!(b.identity_type.as_deref(), Some("user_assigned"), "{at}");
            assert_eq!(b.identity_resource_id, Some(GROUP_UAI.to_ascii_lowercase()), "{at}");
            assert_eq!(b.identity_principal_id.as_deref(), Some("<principal id>"), "{at}");
            assert_eq!(b.identity_client_id.as_deref(), Some("<client id>"), "{at}");
            assert_eq!(b.federated_client_id, None, "{at}");
            assert_eq!((b.last_key_rotation_at, b.in_use_key_expires_at), (None, None), "{at}");
            assert_eq!(b.rotation_error, None, "{at}");
            assert_eq!(b.raw_response_sha256, HASH, "{at}");
            assert_eq!((b.tenant_id.as_str(), b.snapshot_id.as_str()), (ctx().tenant_id.as_str(), "20260115T100000Z"));

            assert_eq!(g.resource_id, b.resource_id, "{at}");
            assert_eq!(g.resource_id_original, GROUP_ID, "{at}");
            assert_eq!(g.subscription_id, b.subscription_id, "{at}");
            assert_eq!(g.name, "test-container-encryption", "{at}");
            assert_eq!(g.resource_group.as_deref(), Some("test-rg"), "{at}");
            assert_eq!(g.location.as_deref(), Some("eastus2"), "{at}");
            assert_eq!(g.sku.as_deref(), Some("Standard"), "{at}");
            assert_eq!(g.os_type.as_deref(), Some("Linux"), "{at}");
            assert_eq!(g.vault_base_url.as_deref(), Some("https://testkeyvault.vault.azure.net/"), "{at}: verbatim");
            assert_eq!(g.vault_kind.as_deref(), Some("key_vault"), "{at}");
            assert_eq!(g.key_name.as_deref(), Some("test-key"), "{at}");
            assert_eq!(g.key_version.as_deref(), Some(case.key_version), "{at}");
            assert_eq!(g.key_identity_resource_id, Some(GROUP_UAI.to_ascii_lowercase()), "{at}");
            assert_eq!(g.identity_type_raw.as_deref(), Some("UserAssigned"), "{at}");
            assert_eq!(g.system_assigned_principal_id, None, "{at}");
            assert_eq!(g.user_assigned_identity_ids, Some(vec![GROUP_UAI.to_ascii_lowercase()]), "{at}");
            assert_eq!(g.provisioning_state.as_deref(), Some(case.provisioning_state), "{at}");
            assert_eq!(g.raw_response_sha256, HASH, "{at}");
        }
    }

    /// A profile is a template: accepted, no row. Its `properties` have the 2025-09-01 container group shape,
    /// which the group converter reads the same way.
    #[test]
    fn container_group_profiles_are_templates_and_yield_no_rows() {
        for status in ["200", "201"] {
            let profile = body(ACI_PROFILE, status);
            assert_eq!(profile["type"], "Microsoft.ContainerInstance/containerGroupProfiles");
            assert!(is_empty(&rows_of(&profile)), "{status}: a template encrypts nothing");

            let mut as_group = profile.clone();
            as_group["type"] = json!("Microsoft.ContainerInstance/containerGroups");
            let t = rows_of(&as_group);
            let b = &t.cmk_bindings[0];
            assert_eq!(b.key_source.as_deref(), Some("customer_managed"), "{status}");
            assert_eq!(b.key_vault_uri.as_deref(), Some("https://testkeyvault.vault.azure.net/"), "{status}");
            assert_eq!(b.key_name.as_deref(), Some("test-key"), "{status}");
            // No top-level identity in the profile: the named identity is known by id only.
            assert_eq!(b.identity_type.as_deref(), Some("user_assigned"), "{status}");
            assert_eq!(b.identity_resource_id, Some(GROUP_UAI.to_ascii_lowercase()), "{status}");
            assert_eq!(b.identity_principal_id, None, "{status}");
            assert_eq!(t.container_groups[0].identity_type_raw, None, "{status}");
            assert_eq!(t.container_groups[0].user_assigned_identity_ids, None, "{status}");
        }
    }

    #[test]
    fn environments_are_not_supported_never_missing_cmk() {
        for file in [ENV_2022, ENV_2025] {
            let t = rows_of(&body(file, "200"));
            assert!(t.cmk_bindings.is_empty(), "{file}: no binding for a service without CMK at rest");
            assert!(t.key_vault_references.is_empty() && t.container_groups.is_empty(), "{file}");
            assert_eq!(t.coverage.len(), 1, "{file}");
            let c = &t.coverage[0];
            assert_eq!(c.status, "not_supported", "{file}");
            assert_eq!(c.resource_type, "Microsoft.App/managedEnvironments", "{file}");
            assert_eq!(c.resource_id, Some(ENV_ID.to_ascii_lowercase()), "{file}");
            assert_eq!(c.subscription_id.as_deref(), Some("8efdecc5-919e-44eb-b179-915dca89ebf9"), "{file}");
            assert!(c.reason.contains("seed 000") && c.reason.contains("key_vault_references"), "{file}");
            assert!(!c.reason.to_ascii_lowercase().contains("missing"), "{file}: {}", c.reason);
            assert_eq!((c.http_status, c.error_code.as_deref(), c.request_url.as_deref()), (None, None, None));
        }
    }

    #[test]
    fn key_vault_certificate_is_a_reference_with_its_environment() {
        let t = rows_of(&body(CERTIFICATE, "200"));
        assert!(t.cmk_bindings.is_empty() && t.coverage.is_empty(), "a certificate is not a key at rest");
        assert_eq!(t.key_vault_references.len(), 1);
        let r = &t.key_vault_references[0];
        assert_eq!(r.resource_id, CERT_ID.to_ascii_lowercase());
        assert_eq!(r.resource_id_original, CERT_ID);
        assert_eq!(r.subscription_id, "34adfa4f-cedf-4dc0-ba29-b6d1a69ab345");
        assert_eq!(r.resource_type, "Microsoft.App/managedEnvironments/certificates");
        assert_eq!(r.reference_name, "certificate-firendly-name", "the example has no `name`: taken from the id");
        assert_eq!(r.reference_kind, "certificate");
        assert_eq!(r.key_vault_url.as_deref(), Some("https://xxxxxxxx.vault.azure.net/certificates/certName"));
        assert_eq!(r.key_vault_uri.as_deref(), Some("https://xxxxxxxx.vault.azure.net/"));
        assert_eq!(r.vault_object_name.as_deref(), Some("certName"));
        assert_eq!(r.vault_object_version, None, "no version pinned: follows the latest");
        assert_eq!(r.identity.as_deref(), Some(CERT_UAI));
        assert_eq!(r.identity_type.as_deref(), Some("user_assigned"));
        assert_eq!(r.identity_resource_id.as_deref(), Some(CERT_UAI));
        assert_eq!((r.identity_principal_id.as_deref(), r.identity_client_id.as_deref()), (None, None));
        assert_eq!(r.managed_environment_id.as_deref(), Some(CERT_ENV));
        assert_eq!(r.raw_response_sha256, HASH);
    }

    /// The environment's identity block resolves the certificate's identity, whichever document came first.
    #[test]
    fn certificate_identity_is_resolved_from_its_environment_in_any_order() {
        let environment = json!({
            "id": CERT_ENV.replace("managedenvironments", "managedEnvironments"),
            "name": "testcontainerenv",
            "type": "Microsoft.App/managedEnvironments",
            "identity": {
                "type": "SystemAssigned, UserAssigned",
                "principalId": "env-system",
                "userAssignedIdentities": {
                    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/test-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/test-user-mi":
                        {"principalId": "mi-principal", "clientId": "mi-client"}
                }
            },
            "properties": {}
        });
        let certificate = body(CERTIFICATE, "200");
        let mut system = certificate.clone();
        system["id"] = json!(format!("{CERT_ENV}/certificates/system-cert"));
        system["properties"]["certificateKeyVaultProperties"]["identity"] = json!("System");
        system["properties"]["certificateKeyVaultProperties"]["keyVaultUrl"] =
            json!("https://Other.vault.azure.net:443/certificates/wild/0123abcd");
        for order in [[&certificate, &environment, &system], [&environment, &system, &certificate]] {
            let mut assembler = Assembler::new(&ctx());
            for doc in order {
                assembler.add(doc, HASH).unwrap();
            }
            let t = assembler.finish();
            assert_eq!(t.coverage.len(), 1, "the environment's not_supported row");
            let by_name = |n: &str| t.key_vault_references.iter().find(|r| r.reference_name == n).unwrap();
            let r = by_name("certificate-firendly-name");
            assert_eq!(r.identity_principal_id.as_deref(), Some("mi-principal"));
            assert_eq!(r.identity_client_id.as_deref(), Some("mi-client"));
            let s = by_name("system-cert");
            assert_eq!(s.identity.as_deref(), Some("System"), "verbatim");
            assert_eq!(s.identity_type.as_deref(), Some("system_assigned"));
            assert_eq!(s.identity_resource_id, None);
            assert_eq!(s.identity_principal_id.as_deref(), Some("env-system"));
            assert_eq!(s.key_vault_uri.as_deref(), Some("https://other.vault.azure.net/"));
            assert_eq!(s.vault_object_name.as_deref(), Some("wild"));
            assert_eq!(s.vault_object_version.as_deref(), Some("0123abcd"));
        }
    }

    #[test]
    fn uploaded_certificates_yield_no_reference() {
        let mut certificate = body(CERTIFICATE, "200");
        certificate["properties"].as_object_mut().unwrap().remove("certificateKeyVaultProperties");
        assert!(is_empty(&rows_of(&certificate)));
    }

    #[test]
    fn container_app_without_key_vault_secrets_yields_no_rows() {
        let app = body(APP, "200");
        assert!(app["properties"]["configuration"].get("secrets").is_none(), "the example has no secrets");
        assert!(is_empty(&rows_of(&app)), "an app is not a CMK resource; no Key Vault secret, no reference");
    }

    /// Azure's example app with secrets added: one stored in the app, two in Key Vault.
    #[test]
    fn container_app_key_vault_secrets_are_references_and_values_are_never_kept() {
        let mut app = body(APP, "200");
        app["properties"]["configuration"]["secrets"] = json!([
            {"name": "plain", "value": "s3cr3t-value"},
            {"name": "db-password", "keyVaultUrl": "https://MyVault.vault.azure.net/secrets/db-password", "identity": APP_UAI},
            {"name": "api-key", "keyVaultUrl": "https://myvault.vault.azure.net/secrets/api-key/7f3e", "identity": "system"}
        ]);
        let t = rows_of(&app);
        assert!(!format!("{t:?}").contains("s3cr3t-value"), "a secret value is never held in a row");
        assert!(t.cmk_bindings.is_empty() && t.coverage.is_empty());
        let names: Vec<&str> = t.key_vault_references.iter().map(|r| r.reference_name.as_str()).collect();
        assert_eq!(
            names,
            ["secret/db-password", "secret/api-key"],
            "the stored secret is not recorded, not even by name"
        );
        let environment = "/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourcegroups/rg/providers/microsoft.app/managedenvironments/demokube";
        for r in &t.key_vault_references {
            assert_eq!(r.resource_id, APP_ID.to_ascii_lowercase());
            assert_eq!(r.resource_id_original, APP_ID);
            assert_eq!(r.resource_type, "Microsoft.App/containerApps");
            assert_eq!(r.reference_kind, "secret");
            assert_eq!(r.key_vault_uri.as_deref(), Some("https://myvault.vault.azure.net/"));
            assert_eq!(r.managed_environment_id.as_deref(), Some(environment));
        }
        let (user, system) = (&t.key_vault_references[0], &t.key_vault_references[1]);
        assert_eq!(user.key_vault_url.as_deref(), Some("https://MyVault.vault.azure.net/secrets/db-password"));
        assert_eq!(
            (user.vault_object_name.as_deref(), user.vault_object_version.as_deref()),
            (Some("db-password"), None)
        );
        assert_eq!(user.identity_type.as_deref(), Some("user_assigned"));
        assert_eq!(user.identity_resource_id, Some(APP_UAI.to_ascii_lowercase()));
        assert_eq!(user.identity_principal_id.as_deref(), Some("74adfa4f-dedf-8dc0-ca29-b6d1a69ab312"));
        assert_eq!(user.identity_client_id.as_deref(), Some("14adfa4f-eedf-1dc0-ba29-a6d1a69ab3df"));
        assert_eq!(system.vault_object_version.as_deref(), Some("7f3e"), "a pinned version");
        assert_eq!(system.identity_type.as_deref(), Some("system_assigned"));
        assert_eq!(system.identity_principal_id.as_deref(), Some("24adfa4f-dedf-8dc0-ca29-b6d1a69ab319"));
        assert_eq!(system.identity_client_id, None);
    }

    #[test]
    fn web_sites_and_function_apps_are_not_supported_with_the_seed_cited() {
        let site = |kind: Value| json!({"id": SITE_ID, "name": "contoso", "type": "Microsoft.Web/sites", "kind": kind, "properties": {"state": "Running"}});
        for (kind, function) in [
            (json!("app"), false),
            (json!("app,linux,container"), false),
            (json!("functionapp,linux"), true),
            (json!("FunctionApp"), true),
            (Value::Null, false),
        ] {
            let t = rows_of(&site(kind.clone()));
            assert!(t.cmk_bindings.is_empty(), "{kind}");
            assert_eq!(t.coverage.len(), 1, "{kind}");
            let c = &t.coverage[0];
            assert_eq!(c.status, "not_supported", "{kind}");
            assert_eq!(c.resource_type, "Microsoft.Web/sites", "{kind}");
            assert_eq!(c.resource_id, Some(SITE_ID.to_ascii_lowercase()), "{kind}");
            assert_eq!(c.subscription_id.as_deref(), Some("1111aaaa-0000-0000-0000-000000000000"), "{kind}");
            assert!(c.reason.contains("seed 001"), "{kind}");
            assert_eq!(c.reason.starts_with("Function app"), function, "{kind}: {}", c.reason);
        }
    }

    #[test]
    fn a_group_without_encryption_properties_uses_microsoft_managed_keys() {
        let mut item = body(ACI_2022, "200");
        item["properties"].as_object_mut().unwrap().remove("encryptionProperties");
        assert!(!names_encryption(&item));
        let t = rows_of(&item);
        let (g, b) = (&t.container_groups[0], &t.cmk_bindings[0]);
        assert_eq!(b.key_source.as_deref(), Some("microsoft_managed"), "the chain records the resource");
        assert_eq!((b.key_vault_uri.as_deref(), b.key_name.as_deref()), (None, None));
        assert_eq!((b.configured_key_version.as_deref(), b.in_use_key_version.as_deref()), (None, None));
        assert_eq!(b.auto_rotation, None, "no key, no rotation claim");
        assert_eq!(b.identity_type, None, "no key, no identity reaching it");
        assert_eq!(
            (g.vault_base_url.as_deref(), g.vault_kind.as_deref(), g.key_identity_resource_id.as_deref()),
            (None, None, None)
        );
        assert_eq!(g.identity_type_raw.as_deref(), Some("UserAssigned"), "the identity block is still recorded");
    }

    /// `az container show` flattens `properties`; here with a Managed HSM key (which ACI does not support: the
    /// row records it for the rules) and no identity named (the system-assigned one is used).
    #[test]
    fn az_cli_output_with_a_managed_hsm_key() {
        let item = json!({
            "id": GROUP_ID,
            "name": "test-container-encryption",
            "type": "Microsoft.ContainerInstance/containerGroups",
            "location": "westeurope",
            "identity": {"type": "SystemAssigned", "principalId": "sys-principal", "tenantId": "t"},
            "sku": "Confidential",
            "osType": "Linux",
            "provisioningState": "Succeeded",
            "encryptionProperties": {
                "vaultBaseUrl": "https://Contoso-HSM.managedhsm.azure.net",
                "keyName": "aci-key",
                "keyVersion": "v7",
                "identity": null
            }
        });
        assert!(names_encryption(&item));
        let t = rows_of(&item);
        let (g, b) = (&t.container_groups[0], &t.cmk_bindings[0]);
        assert_eq!(b.key_vault_uri.as_deref(), Some("https://contoso-hsm.managedhsm.azure.net/"));
        assert_eq!(g.vault_kind.as_deref(), Some("managed_hsm"));
        assert_eq!(g.vault_base_url.as_deref(), Some("https://Contoso-HSM.managedhsm.azure.net"), "verbatim");
        assert_eq!(b.identity_type.as_deref(), Some("system_assigned"));
        assert_eq!(b.identity_principal_id.as_deref(), Some("sys-principal"));
        assert_eq!(b.identity_resource_id, None);
        assert_eq!((g.sku.as_deref(), g.provisioning_state.as_deref()), (Some("Confidential"), Some("Succeeded")));
        assert_eq!(g.system_assigned_principal_id.as_deref(), Some("sys-principal"));
    }

    #[test]
    fn odd_encryption_properties_keep_what_azure_said() {
        let mut item = body(ACI_2022, "200");
        item["properties"]["encryptionProperties"] =
            json!({"vaultBaseUrl": "not a url", "keyName": "k", "keyVersion": ""});
        item.as_object_mut().unwrap().remove("identity");
        let t = rows_of(&item);
        let (g, b) = (&t.container_groups[0], &t.cmk_bindings[0]);
        assert_eq!(b.key_source.as_deref(), Some("customer_managed"));
        assert_eq!(b.key_vault_uri.as_deref(), Some("not a url"), "kept as sent");
        assert_eq!(g.vault_kind, None, "not a URL: kind unknown");
        assert_eq!(b.configured_key_version, None, "an empty version is no version");
        assert_eq!(b.auto_rotation, None, "ACI did not say which version it follows");
        assert_eq!(b.identity_type.as_deref(), Some("none"), "CMK without any managed identity");
    }

    /// The I/O layer adds a group's GET body after its partial list item: the later document wins.
    #[test]
    fn a_later_document_of_the_same_resource_replaces_the_earlier_one() {
        let full = body(ACI_2022, "200");
        let mut partial = full.clone();
        partial["properties"].as_object_mut().unwrap().remove("encryptionProperties");
        partial["id"] = json!(GROUP_ID.to_ascii_uppercase().replace("/SUBSCRIPTIONS/", "/subscriptions/"));
        let mut assembler = Assembler::new(&ctx());
        assembler.add(&partial, "list-page-sha").unwrap();
        assembler.add(&full, HASH).unwrap();
        let t = assembler.finish();
        assert_eq!((t.container_groups.len(), t.cmk_bindings.len()), (1, 1));
        assert_eq!(t.cmk_bindings[0].key_source.as_deref(), Some("customer_managed"));
        assert_eq!(t.cmk_bindings[0].raw_response_sha256, HASH);
    }

    #[test]
    fn every_handled_type_is_accepted_in_any_case_and_nothing_else() {
        for handled in HANDLES {
            let id = format!("/subscriptions/s1/resourceGroups/rg/providers/{handled}/x");
            let doc = json!({"id": id, "type": handled.to_ascii_uppercase()});
            Assembler::new(&ctx()).add(&doc, HASH).unwrap_or_else(|e| panic!("{handled}: {e}"));
        }
        let other = json!({"id": "/subscriptions/s1/providers/Microsoft.Storage/storageAccounts/x", "type": "Microsoft.Storage/storageAccounts"});
        let err = Assembler::new(&ctx()).add(&other, HASH).unwrap_err();
        assert_eq!(
            err,
            ConvertError::UnsupportedType {
                resource: "/subscriptions/s1/providers/Microsoft.Storage/storageAccounts/x".to_string(),
                resource_type: "Microsoft.Storage/storageAccounts".to_string(),
            }
        );
        let untyped = json!({"id": "/subscriptions/s1/x"});
        assert!(matches!(Assembler::new(&ctx()).add(&untyped, HASH), Err(ConvertError::UnsupportedType { .. })));
    }

    #[test]
    fn malformed_documents_are_errors_that_name_the_resource_and_field() {
        let mut assembler = Assembler::new(&ctx());
        let no_id = json!({"name": "orphan", "type": "Microsoft.ContainerInstance/containerGroups"});
        assert_eq!(
            assembler.add(&no_id, HASH),
            Err(ConvertError::MissingField {
                kind: "container group",
                resource: "named \"orphan\" (no id)".to_string(),
                field: "id"
            })
        );
        let not_arm = json!({"id": "site1", "type": "Microsoft.Web/sites"});
        assert!(matches!(assembler.add(&not_arm, HASH), Err(ConvertError::InvalidId { kind: "App Service site", .. })));
        let mut wrong = body(ACI_2022, "200");
        wrong["properties"]["encryptionProperties"] = json!("yes please");
        match assembler.add(&wrong, HASH) {
            Err(ConvertError::Shape { kind, resource, .. }) => {
                assert_eq!((kind, resource.as_str()), ("container group", GROUP_ID))
            }
            other => panic!("expected a shape error, got {other:?}"),
        }
        let mut secrets = body(APP, "200");
        secrets["properties"]["configuration"]["secrets"] = json!({"not": "a list"});
        assert!(matches!(assembler.add(&secrets, HASH), Err(ConvertError::Shape { kind: "container app", .. })));
        let mut nameless = body(APP, "200");
        nameless["properties"]["configuration"]["secrets"] =
            json!([{"keyVaultUrl": "https://v.vault.azure.net/secrets/s"}]);
        let err = assembler.add(&nameless, HASH).unwrap_err();
        assert!(
            matches!(err, ConvertError::MissingField { field: "properties.configuration.secrets[].name", .. }),
            "{err}"
        );
        assert!(err.to_string().contains(APP_ID), "{err}");
        assert!(matches!(assembler.add(&json!([1]), HASH), Err(ConvertError::Shape { .. })));
        assert!(is_empty(&assembler.finish()), "failed documents leave nothing behind");
    }

    #[test]
    fn vault_urls_are_split_into_vault_object_and_version() {
        assert_eq!(vault_object("https://v.vault.azure.net/secrets/a/b"), (Some("a".into()), Some("b".into())));
        assert_eq!(vault_object("https://v.vault.azure.net/Certificates/c?x=1"), (Some("c".into()), None));
        assert_eq!(vault_object("https://v.vault.azure.net/keys/k"), (None, None));
        assert_eq!(vault_object("nonsense"), (None, None));
        assert_eq!(vault_host("HTTPS://V.vault.azure.net:443/x").as_deref(), Some("v.vault.azure.net"));
        assert_eq!(vault_host("http://v.vault.azure.net"), None);
        assert_eq!(parent_before(CERT_ID, "certificates").unwrap().to_ascii_lowercase(), CERT_ENV);
        assert_eq!(parent_before("/certificates/x", "certificates"), None);
    }

    /// Every file under `containerinstance/` and `app/` is used by a test above, so a new example cannot be
    /// forgotten.
    #[test]
    fn every_container_example_file_is_used() {
        let found = collect_common::examples::files_under(&["containerinstance", "app"]);
        let used: BTreeSet<String> =
            [ACI_2022, ACI_PROFILE, ENV_2022, ENV_2025, CERTIFICATE, APP].iter().map(|s| s.to_string()).collect();
        assert_eq!(found, used);
    }
}
