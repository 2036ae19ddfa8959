//! One snapshot indexed for the rules: the customer-managed bindings in key order, grouped by vault and by key,
//! and the vault-side rows keyed the way `cmk_chain` joins them (vault URI; vault host + lower-case key name).

use std::collections::{BTreeMap, HashMap};

use evidence::vocab::key_source;
use evidence::{
    CmkChainRow, KeyReference, KeyVaultRow, KeyVersionRow, ManagedHsmRow, RotationPolicyRow, Tables, Timestamp,
};

use crate::Policy;

/// Vault host and lower-case key name: "the same key" as `cmk_chain` joins it.
pub(crate) type KeyJoin = (String, String);

/// The join key of a key given by vault URI and name; `None` when they do not form a key identifier.
pub(crate) fn key_join(vault_uri: &str, key_name: &str) -> Option<KeyJoin> {
    KeyReference::from_parts(vault_uri, key_name, None).ok().map(|k| k.key_join())
}

/// What the rules read, indexed once.
pub(crate) struct Snapshot<'a> {
    pub(crate) tables: &'a Tables,
    pub(crate) policy: &'a Policy,
    pub(crate) taken_at: Timestamp,
    /// `cmk_chain` rows with a customer-managed key, sorted by (resource id, encryption scope).
    pub(crate) cmk: Vec<&'a CmkChainRow>,
    /// Customer-managed bindings per normalised vault URI, in key order.
    pub(crate) bindings_by_vault: BTreeMap<String, Vec<&'a CmkChainRow>>,
    /// Customer-managed bindings per key, in key order.
    pub(crate) bindings_by_key: BTreeMap<KeyJoin, Vec<&'a CmkChainRow>>,
    /// Every listed version of every key read.
    pub(crate) versions_by_key: HashMap<KeyJoin, Vec<&'a KeyVersionRow>>,
    /// The rotation policy row of every key whose policy was read.
    pub(crate) policy_by_key: HashMap<KeyJoin, &'a RotationPolicyRow>,
    /// Key vaults by normalised URI.
    pub(crate) vault_by_uri: HashMap<&'a str, &'a KeyVaultRow>,
    /// Managed HSMs by normalised URI.
    pub(crate) hsm_by_uri: HashMap<&'a str, &'a ManagedHsmRow>,
}

impl<'a> Snapshot<'a> {
    pub(crate) fn index(tables: &'a Tables, policy: &'a Policy, taken_at: Timestamp) -> Self {
        let mut cmk: Vec<&CmkChainRow> =
            tables.cmk_chain.iter().filter(|c| c.key_source.as_deref() == Some(key_source::CUSTOMER_MANAGED)).collect();
        cmk.sort_by(|a, b| (&a.resource_id, &a.encryption_scope, *a).cmp(&(&b.resource_id, &b.encryption_scope, *b)));
        let mut bindings_by_vault: BTreeMap<String, Vec<&CmkChainRow>> = BTreeMap::new();
        let mut bindings_by_key: BTreeMap<KeyJoin, Vec<&CmkChainRow>> = BTreeMap::new();
        for c in &cmk {
            let Some(uri) = c.key_vault_uri.as_deref() else { continue };
            bindings_by_vault.entry(evidence::ids::normalize_vault_uri(uri)).or_default().push(c);
            if let Some(join) = c.key_name.as_deref().and_then(|name| key_join(uri, name)) {
                bindings_by_key.entry(join).or_default().push(c);
            }
        }
        let mut versions_by_key: HashMap<KeyJoin, Vec<&KeyVersionRow>> = HashMap::new();
        for v in &tables.key_versions {
            if let Some(join) = key_join(&v.key_vault_uri, &v.key_name) {
                versions_by_key.entry(join).or_default().push(v);
            }
        }
        let policy_by_key = tables
            .rotation_policies
            .iter()
            .filter_map(|p| Some((key_join(&p.key_vault_uri, &p.key_name)?, p)))
            .collect();
        Snapshot {
            tables,
            policy,
            taken_at,
            cmk,
            bindings_by_vault,
            bindings_by_key,
            versions_by_key,
            policy_by_key,
            vault_by_uri: tables.key_vaults.iter().map(|v| (v.vault_uri.as_str(), v)).collect(),
            hsm_by_uri: tables.managed_hsms.iter().map(|h| (h.hsm_uri.as_str(), h)).collect(),
        }
    }

    /// The customer-managed bindings that use a key of the vault or HSM at `uri`.
    pub(crate) fn bindings_of_vault(&self, uri: &str) -> &[&'a CmkChainRow] {
        self.bindings_by_vault.get(&evidence::ids::normalize_vault_uri(uri)).map_or(&[], Vec::as_slice)
    }

    /// The subscription of the vault or HSM at `uri`, when it was collected.
    pub(crate) fn vault_subscription(&self, uri: &str) -> Option<&'a str> {
        let uri = evidence::ids::normalize_vault_uri(uri);
        self.vault_by_uri
            .get(uri.as_str())
            .map(|v| v.subscription_id.as_str())
            .or_else(|| self.hsm_by_uri.get(uri.as_str()).map(|h| h.subscription_id.as_str()))
    }
}
