//! The subscription's inventory: every resource listed once (`GET /subscriptions/{s}/resources`), so the package
//! states exactly what was and was not examined. A resource whose type no collector assesses gets a
//! `not_assessed` coverage row naming its type; the collectors' own types are left to them (they write rows,
//! or `not_supported` coverage for services without CMK at rest).

use azure_rest::AzureClient;
use evidence::vocab::CoverageStatus;
use evidence::{SnapshotContext, Tables, resource_types};

/// `api-version` of the generic resource list.
pub(crate) const RESOURCES_API_VERSION: &str = "2021-04-01";

/// Lower-case ARM types the storage and vault collectors read (the other collectors export `HANDLES`).
const OWN_TYPES: &[&str] =
    &["microsoft.storage/storageaccounts", "microsoft.keyvault/vaults", "microsoft.keyvault/managedhsms"];

/// Every lower-case ARM type some collector of this build examines.
pub(crate) fn assessed_types() -> impl Iterator<Item = &'static str> {
    [OWN_TYPES, collect_disk::HANDLES, collect_sql::HANDLES, collect_acr::HANDLES, collect_containers::HANDLES]
        .into_iter()
        .flatten()
        .copied()
}

/// Whether some collector of this build examines resources of `resource_type`.
pub(crate) fn is_assessed(resource_type: &str) -> bool {
    let t = resource_type.trim().to_ascii_lowercase();
    assessed_types().any(|handled| handled == t)
}

/// Why a type is not assessed: a specific reason where the type sits next to an assessed one, else the general one.
fn reason(resource_type: &str) -> String {
    match resource_type.to_ascii_lowercase().as_str() {
        "microsoft.sql/servers/databases" | "microsoft.sql/managedinstances/databases" => {
            "database-level TDE keys are not assessed; the server's TDE protector (which databases use unless \
             they set their own key) is in sql_servers and cmk_chain"
                .to_string()
        }
        "microsoft.documentdb/databaseaccounts" => {
            "Cosmos DB accounts are not assessed by this version (keyVaultKeyUri is not read)".to_string()
        }
        _ => format!("resources of type {resource_type} are not assessed by this version of cmk-evidence"),
    }
}

/// `not_assessed` rows for the items of a resource list whose type no collector reads.
pub(crate) fn not_assessed_rows(
    ctx: &SnapshotContext,
    subscription_id: Option<&str>,
    items: &[serde_json::Value],
) -> Tables {
    let mut tables = Tables::default();
    for item in items {
        let resource_type = item.get("type").and_then(|v| v.as_str()).unwrap_or("(no type)");
        if is_assessed(resource_type) {
            continue;
        }
        let id = item.get("id").and_then(|v| v.as_str());
        tables.coverage.push(ctx.coverage(
            CoverageStatus::NotAssessed,
            resource_type,
            subscription_id,
            id,
            reason(resource_type),
        ));
    }
    tables
}

/// Lists every resource of the subscription and returns the `not_assessed` rows (plus the raw list pages, and a
/// coverage row if the list failed part-way).
pub(crate) async fn collect_subscription(client: &AzureClient, ctx: &SnapshotContext, subscription_id: &str) -> Tables {
    let mut tables = Tables::default();
    let path = format!("/subscriptions/{subscription_id}/resources");
    let what = format!("listing the resources of subscription {subscription_id}");
    let items = collect_common::arm_list_items(
        client,
        ctx,
        &path,
        RESOURCES_API_VERSION,
        resource_types::RESOURCES,
        Some(subscription_id),
        None,
        &what,
        &mut tables,
    )
    .await;
    let values: Vec<serde_json::Value> = items.into_iter().map(|i| i.value).collect();
    tables.append(not_assessed_rows(ctx, Some(subscription_id), &values));
    tables
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn assessed_types_are_left_to_their_collectors() {
        assert!(is_assessed("Microsoft.Storage/storageAccounts"));
        assert!(is_assessed("Microsoft.Compute/diskEncryptionSets"));
        assert!(is_assessed("Microsoft.Web/sites"));
        assert!(!is_assessed("Microsoft.Network/virtualNetworks"));
        let ctx = SnapshotContext {
            tenant_id: "t".into(),
            taken_at: evidence::Timestamp::parse("2026-11-23T10:15:00Z").unwrap(),
        };
        let items = vec![
            serde_json::json!({"id": "/subscriptions/S/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v", "type": "Microsoft.Network/virtualNetworks"}),
            serde_json::json!({"id": "/subscriptions/S/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a", "type": "Microsoft.Storage/storageAccounts"}),
            serde_json::json!({"id": "/subscriptions/S/resourceGroups/rg/providers/Microsoft.Sql/servers/s/databases/d", "type": "Microsoft.Sql/servers/databases"}),
        ];
        let rows = not_assessed_rows(&ctx, Some("s"), &items).coverage;
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.status == "not_assessed"));
        assert!(rows[1].reason.contains("TDE protector"));
    }
}
