-- The binding classification of crates/diff (the rules at the top of classify.rs, gap matching of side.rs,
-- adoption windows of window.rs) as ONE DuckDB statement, run by `cargo xtask bench` (xtask/src/bench/diff.rs
-- fills in the placeholders, the names between two at signs: file paths and the manifests' scopes as SQL
-- literals, the after snapshot's time in microseconds since the epoch). Only bindings (cmk_chain rows) are classified: the vault, key-version and role-assignment rows
-- of diff.parquet are not part of this comparison. Rust's `eq_ignore_ascii_case` is `lower(x) = lower(y)` here
-- (the data is ASCII); exact Rust comparisons (`==`) stay exact. A NULL condition in a WHEN is false, which is
-- what Rust's `Some(..) == ..` and `is_some_and` give for an absent value.
COPY (
WITH
b AS (SELECT * FROM read_parquet(@before_chain@)),
a AS (SELECT * FROM read_parquet(@after_chain@)),
-- Side::new, per side, as one row of small lists: the manifest's scopes as lower-case subscription ids (no scope
-- at all = unknown: nothing is missing); coverage gaps (side::is_gap: every status but not_supported and
-- not_assessed) on an ARM id, lower case without trailing '/', with every ancestor of such an id at a '/' after
-- the first character (a key or vault URI is a chain link, left to the chain); whole lists that failed.
scopes AS (
    SELECT side,
           len(raw) > 0 AS known,
           list_filter(
               list_transform(raw, lambda s: CASE WHEN starts_with(lower(rtrim(trim(s), '/')), '/subscriptions/')
                                             THEN split_part(substr(lower(rtrim(trim(s), '/')), 16), '/', 1) END),
               lambda x: x IS NOT NULL) AS subs
    FROM (VALUES ('before', @before_scopes@), ('after', @after_scopes@)) AS t(side, raw)
),
cov AS (
    SELECT 'before' AS side, subscription_id, resource_type, resource_id
    FROM read_parquet(@before_coverage@) WHERE status NOT IN ('not_supported', 'not_assessed')
    UNION ALL
    SELECT 'after', subscription_id, resource_type, resource_id
    FROM read_parquet(@after_coverage@) WHERE status NOT IN ('not_supported', 'not_assessed')
),
gap_ids AS (SELECT DISTINCT side, lower(rtrim(resource_id, '/')) AS g FROM cov WHERE starts_with(resource_id, '/')),
gap_ancestors AS (
    SELECT DISTINCT side, array_to_string(parts[1:n], '/') AS ancestor
    FROM (SELECT side, string_split(g, '/') AS parts FROM gap_ids)
    CROSS JOIN LATERAL (SELECT unnest(range(2, len(parts))) AS n)
),
gap_lists AS (
    SELECT DISTINCT side, lower(subscription_id) AS s, lower(resource_type) AS t FROM cov WHERE resource_id IS NULL
),
ctx AS (
    SELECT
        (SELECT known FROM scopes WHERE side = 'before') AS b_known,
        (SELECT subs FROM scopes WHERE side = 'before') AS b_subs,
        (SELECT known FROM scopes WHERE side = 'after') AS a_known,
        (SELECT subs FROM scopes WHERE side = 'after') AS a_subs,
        (SELECT coalesce(list(g), []) FROM gap_ids WHERE side = 'before') AS b_ids,
        (SELECT coalesce(list(g), []) FROM gap_ids WHERE side = 'after') AS a_ids,
        (SELECT coalesce(list(ancestor), []) FROM gap_ancestors WHERE side = 'before') AS b_ancestors,
        (SELECT coalesce(list(ancestor), []) FROM gap_ancestors WHERE side = 'after') AS a_ancestors,
        (SELECT coalesce(list({'s': s, 't': t}), []) FROM gap_lists WHERE side = 'before') AS b_lists,
        (SELECT coalesce(list({'s': s, 't': t}), []) FROM gap_lists WHERE side = 'after') AS a_lists
),
-- Side::version: key versions by lower(uri without trailing '/' | key | version), both sides' facts in one row;
-- the last row of a key wins, as a HashMap insert does.
ver_rows AS (
    SELECT 'before' AS side, lower(rtrim(key_vault_uri, '/') || '|' || key_name || '|' || version) AS k,
           enabled, created_at, file_row_number AS n
    FROM read_parquet(@before_versions@, file_row_number = true)
    UNION ALL
    SELECT 'after', lower(rtrim(key_vault_uri, '/') || '|' || key_name || '|' || version),
           enabled, created_at, file_row_number
    FROM read_parquet(@after_versions@, file_row_number = true)
),
ver_last AS (SELECT * FROM ver_rows QUALIFY row_number() OVER (PARTITION BY side, k ORDER BY n DESC) = 1),
ver AS (
    SELECT coalesce(vb.k, va.k) AS k, vb.created_at AS b_created, va.created_at AS a_created, va.enabled AS a_enabled
    FROM (SELECT * FROM ver_last WHERE side = 'before') AS vb
    FULL OUTER JOIN (SELECT * FROM ver_last WHERE side = 'after') AS va ON vb.k = va.k
),
-- The merge on the primary key; x_* are the values gap_for is asked about (the after row's when there is one).
j AS (
    SELECT b.resource_id AS b_id, b.encryption_scope AS b_scope, a.resource_id AS a_id, a.encryption_scope AS a_scope,
           b.key_source AS b_source, a.key_source AS a_source,
           b.key_vault_uri AS b_uri, a.key_vault_uri AS a_uri, b.key_name AS b_key, a.key_name AS a_key,
           b.in_use_key_version AS b_in_use, a.in_use_key_version AS a_in_use,
           a.latest_key_version AS a_latest, a.configured_key_version AS a_configured, a.auto_rotation AS a_auto,
           a.key_enabled AS a_enabled, a.key_expires_at AS a_expires, a.latest_version_created_at AS a_latest_created,
           b.identity_type AS b_id_type, a.identity_type AS a_id_type,
           b.identity_resource_id AS b_id_res, a.identity_resource_id AS a_id_res,
           b.identity_principal_id AS b_id_pr, a.identity_principal_id AS a_id_pr,
           b.identity_has_crypto_role AS b_role, a.identity_has_crypto_role AS a_role,
           b.vault_soft_delete AS b_sd, a.vault_soft_delete AS a_sd,
           b.vault_purge_protection AS b_pp, a.vault_purge_protection AS a_pp,
           b.vault_rbac_authorization AS b_rbac, a.vault_rbac_authorization AS a_rbac,
           b.vault_soft_delete_retention_days AS b_days, a.vault_soft_delete_retention_days AS a_days,
           b.vault_public_network_access AS b_pna, a.vault_public_network_access AS a_pna,
           b.vault_network_default_action AS b_nda, a.vault_network_default_action AS a_nda,
           b.chain_status AS b_status, a.chain_status AS a_status,
           a.key_via_resource_id AS a_via, a.resource_type AS a_type,
           lower(coalesce(a.subscription_id, b.subscription_id)) AS x_sub,
           lower(coalesce(a.resource_type, b.resource_type)) AS x_type,
           lower(rtrim(coalesce(a.resource_id, b.resource_id), '/')) AS x_id,
           lower(rtrim(a.key_vault_uri, '/') || '|' || a.key_name || '|') AS a_key_prefix,
           -- Both sides' values, as diff.parquet has them (the same information our output carries).
           coalesce(a.resource_type, b.resource_type) AS resource_type,
           coalesce(a.subscription_id, b.subscription_id) AS subscription_id,
           b.chain_status AS before_chain_status, a.chain_status AS after_chain_status,
           b.key_source AS before_key_source, a.key_source AS after_key_source,
           b.key_vault_uri AS before_key_vault_uri, a.key_vault_uri AS after_key_vault_uri,
           b.key_name AS before_key_name, a.key_name AS after_key_name,
           b.configured_key_version AS before_configured_key_version, a.configured_key_version AS after_configured_key_version,
           b.in_use_key_version AS before_in_use_key_version, a.in_use_key_version AS after_in_use_key_version,
           b.latest_key_version AS before_latest_key_version, a.latest_key_version AS after_latest_key_version,
           b.identity_type AS before_identity_type, a.identity_type AS after_identity_type,
           b.identity_resource_id AS before_identity_resource_id, a.identity_resource_id AS after_identity_resource_id,
           b.identity_principal_id AS before_identity_principal_id, a.identity_principal_id AS after_identity_principal_id,
           b.vault_public_network_access AS before_vault_public_network_access, a.vault_public_network_access AS after_vault_public_network_access,
           b.vault_network_default_action AS before_vault_network_default_action, a.vault_network_default_action AS after_vault_network_default_action,
           b.key_via_resource_id AS before_key_via_resource_id, a.key_via_resource_id AS after_key_via_resource_id,
           b.key_enabled AS before_key_enabled, a.key_enabled AS after_key_enabled,
           b.auto_rotation AS before_auto_rotation, a.auto_rotation AS after_auto_rotation,
           b.identity_has_crypto_role AS before_identity_has_crypto_role, a.identity_has_crypto_role AS after_identity_has_crypto_role,
           b.vault_soft_delete AS before_vault_soft_delete, a.vault_soft_delete AS after_vault_soft_delete,
           b.vault_purge_protection AS before_vault_purge_protection, a.vault_purge_protection AS after_vault_purge_protection,
           b.vault_rbac_authorization AS before_vault_rbac_authorization, a.vault_rbac_authorization AS after_vault_rbac_authorization,
           b.vault_soft_delete_retention_days AS before_vault_soft_delete_retention_days, a.vault_soft_delete_retention_days AS after_vault_soft_delete_retention_days,
           b.latest_version_created_at AS before_latest_version_created_at, a.latest_version_created_at AS after_latest_version_created_at,
           b.key_expires_at AS before_key_expires_at, a.key_expires_at AS after_key_expires_at
    FROM b FULL OUTER JOIN a ON b.resource_id = a.resource_id AND b.encryption_scope = a.encryption_scope
),
-- Side::gap_for on both sides: subscription not collected; a gap on the resource, on a child (the resource is an
-- ancestor of a gap) or on an ancestor; a failed list of its subscription (or of any) for its type, a parent or
-- a child type.
g AS (
    SELECT j.*,
        (b_known AND NOT list_contains(b_subs, x_sub))
        OR list_contains(b_ids, x_id) OR list_contains(b_ancestors, x_id)
        OR coalesce(list_bool_or(list_transform(b_ids, lambda gap: gap <> '' AND starts_with(x_id, gap || '/'))), false)
        OR coalesce(list_bool_or(list_transform(b_lists, lambda l: (l.s IS NULL OR l.s = x_sub)
               AND (l.t = x_type OR starts_with(l.t, x_type || '/') OR starts_with(x_type, l.t || '/')))), false)
        AS gap_before,
        (a_known AND NOT list_contains(a_subs, x_sub))
        OR list_contains(a_ids, x_id) OR list_contains(a_ancestors, x_id)
        OR coalesce(list_bool_or(list_transform(a_ids, lambda gap: gap <> '' AND starts_with(x_id, gap || '/'))), false)
        OR coalesce(list_bool_or(list_transform(a_lists, lambda l: (l.s IS NULL OR l.s = x_sub)
               AND (l.t = x_type OR starts_with(l.t, x_type || '/') OR starts_with(x_type, l.t || '/')))), false)
        AS gap_after
    FROM j CROSS JOIN ctx
),
-- Creation times for is_newer (after snapshot's, else before's) and the latest version's state for pending.
v AS (
    SELECT g.*,
           coalesce(v_old.a_created, v_old.b_created) AS old_created,
           coalesce(v_new.a_created, v_new.b_created) AS new_created,
           v_latest.a_enabled AS latest_enabled
    FROM g
    LEFT JOIN ver AS v_old ON v_old.k = g.a_key_prefix || lower(g.b_in_use)
    LEFT JOIN ver AS v_new ON v_new.k = g.a_key_prefix || lower(g.a_in_use)
    LEFT JOIN ver AS v_latest ON v_latest.k = g.a_key_prefix || lower(g.a_latest)
)
SELECT b_id AS before_resource_id, b_scope AS before_encryption_scope,
       a_id AS after_resource_id, a_scope AS after_encryption_scope,
       CASE
           -- 1. Only on one side.
           WHEN b_id IS NULL THEN CASE WHEN gap_before THEN 'not_comparable' ELSE 'added' END
           WHEN a_id IS NULL THEN CASE WHEN gap_after THEN 'not_comparable' ELSE 'removed' END
           -- 2. Key source unknown.
           WHEN b_source IS NULL OR a_source IS NULL THEN 'not_comparable'
           -- 3. Customer-managed on one side only, or on neither.
           WHEN b_source = 'customer_managed' AND a_source <> 'customer_managed' THEN 'cmk_removed'
           WHEN b_source <> 'customer_managed' AND a_source = 'customer_managed' THEN 'cmk_enabled'
           WHEN b_source <> 'customer_managed' THEN CASE WHEN b_source = a_source THEN 'unchanged' ELSE 'not_comparable' END
           -- 4. Both customer-managed, in classify_both's order.
           WHEN a_enabled = false OR epoch_us(a_expires) <= @after_taken_at_us@ THEN 'old_version_disabled_in_use'
           WHEN lower(b_uri) <> lower(a_uri) OR lower(b_key) <> lower(a_key) THEN 'key_changed'
           WHEN lower(b_id_type) <> lower(a_id_type) OR lower(b_id_res) <> lower(a_id_res)
                OR lower(b_id_pr) <> lower(a_id_pr)
                OR (b_role = true AND a_role = false) OR (b_role = false AND a_role = true) THEN 'identity_changed'
           WHEN (b_sd = true AND a_sd = false) OR (b_pp = true AND a_pp = false) OR (b_rbac = true AND a_rbac = false)
                OR a_days < b_days
                OR (lower(b_pna) = 'disabled' AND lower(a_pna) <> 'disabled')
                OR (lower(b_nda) = 'deny' AND lower(a_nda) = 'allow') THEN 'protection_weakened'
           WHEN b_status <> 'complete' OR a_status <> 'complete' OR gap_before OR gap_after THEN 'not_comparable'
           WHEN b_in_use IS NULL OR a_in_use IS NULL THEN 'not_comparable'
           WHEN lower(b_in_use) <> lower(a_in_use) THEN
               CASE WHEN a_uri IS NOT NULL AND a_key IS NOT NULL
                         AND CASE WHEN old_created IS NOT NULL AND new_created IS NOT NULL THEN new_created > old_created
                                  ELSE coalesce(lower(a_latest) = lower(a_in_use), false) END
                    THEN 'rotated' ELSE 'key_changed' END
           -- The same version in use: is a newer one waiting?
           WHEN a_latest IS NULL OR lower(a_latest) = lower(a_in_use) OR a_uri IS NULL OR a_key IS NULL THEN 'unchanged'
           WHEN a_configured IS NOT NULL OR a_auto IS NOT DISTINCT FROM false OR latest_enabled = false THEN 'unchanged'
           WHEN a_latest_created IS NULL THEN 'not_comparable'
           -- window.rs: by the disk encryption set holding the key, else by type; age in whole seconds > window.
           WHEN @after_taken_at_us@ - epoch_us(a_latest_created) >= 1000000::BIGINT * (1 +
                CASE WHEN contains(lower(a_via), '/providers/microsoft.compute/diskencryptionsets/') THEN 3600
                     WHEN lower(a_type) = 'microsoft.storage/storageaccounts' THEN 86400
                     WHEN lower(a_type) = 'microsoft.containerregistry/registries' THEN 3600
                     WHEN lower(a_type) = 'microsoft.compute/diskencryptionsets' THEN 3600
                     WHEN lower(a_type) IN ('microsoft.sql/servers', 'microsoft.sql/managedinstances') THEN 86400
                     ELSE 86400 END) THEN 'rotation_stalled'
           ELSE 'rotation_pending'
       END AS class,
       resource_type, subscription_id,
       before_chain_status, after_chain_status,
       before_key_source, after_key_source,
       before_key_vault_uri, after_key_vault_uri,
       before_key_name, after_key_name,
       before_configured_key_version, after_configured_key_version,
       before_in_use_key_version, after_in_use_key_version,
       before_latest_key_version, after_latest_key_version,
       before_identity_type, after_identity_type,
       before_identity_resource_id, after_identity_resource_id,
       before_identity_principal_id, after_identity_principal_id,
       before_vault_public_network_access, after_vault_public_network_access,
       before_vault_network_default_action, after_vault_network_default_action,
       before_key_via_resource_id, after_key_via_resource_id,
       before_key_enabled, after_key_enabled,
       before_auto_rotation, after_auto_rotation,
       before_identity_has_crypto_role, after_identity_has_crypto_role,
       before_vault_soft_delete, after_vault_soft_delete,
       before_vault_purge_protection, after_vault_purge_protection,
       before_vault_rbac_authorization, after_vault_rbac_authorization,
       before_vault_soft_delete_retention_days, after_vault_soft_delete_retention_days,
       before_latest_version_created_at, after_latest_version_created_at,
       before_key_expires_at, after_key_expires_at
FROM v
) TO @out@ (FORMAT parquet, COMPRESSION zstd)
