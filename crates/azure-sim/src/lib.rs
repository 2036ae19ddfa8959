//! `azure-sim`: a loopback Azure for `cmk-evidence` — Entra ID token endpoint, Azure Resource Manager and the
//! Key Vault / Managed HSM data plane, answering like Azure does for the reads the collectors make, from a
//! scenario data file. It is the estate `cmk-evidence demo` runs against and the test double of every
//! end-to-end test. It depends on no other workspace crate.
//!
//! # Use
//!
//! ```no_run
//! # async fn demo() -> Result<(), azure_sim::Error> {
//! use azure_sim::{Scenario, SimOptions};
//!
//! let scenario = Scenario::default_scenario();
//! let (client_id, secret) = scenario.client_credentials();
//! let sim = azure_sim::start(scenario, SimOptions::default()).await?;
//! // Point an HTTP client at http://{sim.addr()}, keeping the original https URL's path and query and
//! // sending the original host in `x-forwarded-host` (what the test transport of azure-rest does).
//! println!("listening on {} for client {client_id}", sim.addr());
//! let _ = secret;
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Routing
//!
//! Each request is routed on `x-forwarded-host` (falling back to `Host`):
//! - `login.*` or the scenario's `authority_host` → token endpoint `POST /{tenant}/oauth2/v2.0/token`;
//! - `{name}.vault.*` → Key Vault data plane of vault `{name}`; `{name}.managedhsm.*` → Managed HSM `{name}`;
//! - anything else → Azure Resource Manager.
//!
//! # Routes served (GET unless noted; any api-version of the right form is accepted, none → 400)
//!
//! - Token: `POST /{tenant id or default domain}/oauth2/v2.0/token` (client credentials; secret or assertion).
//! - ARM (bearer token for a `management.*` audience): `/tenants`, `/subscriptions` (paged),
//!   `/subscriptions/{s}`, `/subscriptions/{s}/resources` (paged, generic shape), `/subscriptions/{s}/resourcegroups`
//!   (paged) and `/resourcegroups/{rg}`; lists by type at subscription or resource-group scope,
//!   `.../providers/{namespace}/{type}` (paged: `Microsoft.Storage/storageAccounts`, `Microsoft.KeyVault/vaults`,
//!   `Microsoft.KeyVault/managedHSMs`, `Microsoft.ManagedIdentity/userAssignedIdentities`,
//!   `Microsoft.Compute/diskEncryptionSets` (2025-01-02 shape), `Microsoft.Compute/disks` (2025-01-02),
//!   `Microsoft.Compute/virtualMachines` (2025-04-01), `Microsoft.ContainerService/managedClusters` (2025-10-01),
//!   `Microsoft.Sql/servers` and `Microsoft.Sql/managedInstances` (2023-08-01),
//!   `Microsoft.ContainerRegistry/registries` (2025-04-01), `Microsoft.ContainerInstance/containerGroups`
//!   (2025-09-01), `Microsoft.App/managedEnvironments` and `Microsoft.App/containerApps` (2025-07-01),
//!   `Microsoft.Web/sites` (2024-04-01), any `[[other_resources]]` or raw type, anything else empty); `GET` of one
//!   resource by id; child collections (paged) and their items: SQL `{id}/encryptionProtector` and
//!   `{id}/encryptionProtector/current`, `{id}/keys` and `{id}/keys/{name}`, Container Apps
//!   `{environment id}/certificates` and `.../certificates/{name}`, raw documents under their parent; other child
//!   collections of an existing resource answer an empty list;
//!   `{scope}/providers/Microsoft.Authorization/roleAssignments` at any scope, with `$filter=atScope()`,
//!   `principalId eq '…'`, `assignedTo('…')`. Route names in [`SimStats::by_route`] follow the type:
//!   `arm.diskEncryptionSets.list`, `arm.disks.get`, `arm.virtualMachines.list`, `arm.managedClusters.list`,
//!   `arm.sqlServers.list`, `arm.managedInstances.get`, `arm.encryptionProtector.get`, `arm.serverKeys.list`,
//!   `arm.registries.list`, `arm.containerGroups.list`, `arm.managedEnvironments.list`, `arm.certificates.list`,
//!   `arm.containerApps.list`, `arm.sites.list`, ...
//! - Resource Graph (ARM host and token): `POST /providers/Microsoft.ResourceGraph/resources` with
//!   `{"subscriptions", "query", "options": {"resultFormat": "objectArray", "$top", "$skip", "$skipToken"}}` →
//!   `{"totalRecords", "count", "data", "facets", "resultTruncated", "$skipToken"?}`; route `graph.resources`.
//!   The query language is exactly this subset of KQL, anything else is 400 `BadRequest` / `InvalidQuery` naming
//!   the part not understood: a table `resources` or `resourcecontainers`; `| where type in~ ('a', ...)`,
//!   `| where type =~ 'a'`; `| project col, ...`; `| order by col [asc|desc], ...` on string columns
//!   (case-insensitive, ties by id). A `resources` row is the document ARM's `GET` answers plus `tenantId`,
//!   `subscriptionId`, `resourceGroup` (lower case), with `type` in lower case; child resources (SQL protectors
//!   and keys, certificates, role assignments) and the Key Vault data plane are not rows. A `resourcecontainers`
//!   row is a subscription. What the principal cannot read (denied subscriptions, `denied_types`, subscriptions
//!   not in the tenant) is silently left out. Pages of `min($top, 1000)` rows; a `$skipToken` is refused (400) by
//!   any other query. Details in the module docs of `graph.rs`.
//! - Key Vault / Managed HSM (bearer token for the host's audience, after a 401 challenge): `/keys` (paged),
//!   `/keys/{name}` and `/keys/{name}/`, `/keys/{name}/{version}`, `/keys/{name}/versions` (paged),
//!   `/keys/{name}/rotationpolicy`; `POST /keys/{name}/{version}/sign` and `POST /keys/{name}/sign` (also
//!   `/keys/{name}//sign`, what `KeyClient::sign` sends without a version: the latest version) with
//!   `{"alg","value"}` → `{"kid","value"}` (base64url); Managed HSM only: `{/ | /keys | /keys/{name}}/providers/
//!   Microsoft.Authorization/roleAssignments`.
//!
//! # Scenario format (TOML)
//!
//! A full, commented example is `scenarios/default.toml`. Tables and fields (`?` = optional; every table rejects
//! unknown fields, so a typo fails with its line number):
//!
//! - `extends?` — name of a built-in scenario whose entries come first (this file's lists are appended; its
//!   `[tenant]`, `[credentials]`, `[simulation]` and `[[drill]]` replace the base's when present).
//!   `description?`.
//! - `[tenant]` `id`, `display_name`, `default_domain`, `country_code?`, `authority_host?`.
//! - `[credentials]` the service principal the simulator accepts: `client_id`, `client_secret`, `object_id`,
//!   `accept_client_assertion?` (default true: any non-empty assertion for `client_id`).
//! - `[simulation]` `now` (RFC 3339, the fixed clock), `adoption_delay?` (ISO 8601 duration before resources
//!   that follow the latest version adopt a rotated one; default 0), `latency_ms?` (added to every response of
//!   every surface; see [`Latency`] for one per surface).
//! - `[[subscriptions]]` `id`, `display_name`, `state?` (`Enabled`), `access?` (`reader` | `denied`: every
//!   request in a denied subscription answers 403 `AuthorizationFailed`), `denied_types?` (resource types such
//!   as `"Microsoft.Sql/servers"` the caller may not read there: their lists and gets answer 403, `GET
//!   .../resources` and Resource Graph leave them out), `listed?` (shown by
//!   `GET /subscriptions`, default true), `quota_id?`, `tags?`.
//! - `[[identities]]` user-assigned identities: `id`, `principal_id`, `client_id`, `location?`.
//! - `[[vaults]]` `id`, `location`, `sku?` (`standard`), `tenant_id?`, and — each emitted only when set, absent
//!   otherwise — `soft_delete?`, `soft_delete_retention_days?`, `purge_protection?`, `rbac_authorization?`,
//!   `public_network_access?`, `enabled_for_deployment?`, `enabled_for_disk_encryption?`,
//!   `enabled_for_template_deployment?`, `network_acls?` {`bypass`, `default_action`, `ip_rules`,
//!   `virtual_network_rules`}; `[[vaults.access_policies]]` {`object_id`, `tenant_id?`, `application_id?`,
//!   `keys`, `secrets`, `certificates`}; `created?`, `created_by?`, `tags?`; `data_plane_access?` (`reader` |
//!   `denied`: keys answer 403 to the caller).
//! - `[[managed_hsms]]` `id`, `location`, `sku?` (`Standard_B1`), `soft_delete?`, `soft_delete_retention_days?`,
//!   `purge_protection?`, `public_network_access?`, `network_acls?`, `initial_admin_object_ids?`, `created?`,
//!   `tags?`, `data_plane_access?`.
//! - `[[keys]]` `vault` (vault or HSM name), `name`, `kty` (`RSA`, `RSA-HSM`, `EC`, `EC-HSM`, `oct-HSM`),
//!   `size` (RSA: 2048/3072/4096) or `curve` (EC), `key_ops?` (default: every operation of the key type, as Key
//!   Vault does; see "Signing" below), `tags?`; versions as `[[keys.versions]]`
//!   {`id?` (32 hex; derived if absent), `created`, `updated?`, `enabled?` (true), `not_before?`, `expires?`,
//!   `tags?`} and/or `[keys.version_series]` {`count`, `first_created`, `interval`, `expires_after?`,
//!   `disabled_before?`} for many versions; `[keys.rotation_policy]` {`expiry_time?`, `created?`, `updated?`,
//!   `lifetime_actions` = [{`action` = `Rotate`|`Notify`, `time_after_create` | `time_before_expiry`}]}.
//! - `[[storage_accounts]]` `id`, `location`, `created`, `kind?` (`StorageV2`), `sku?` (`Standard_LRS`),
//!   `access_tier?`, `tags?`, `network_default_action?`, `public_network_access?`, `is_hns_enabled?`,
//!   `identity?` {`type` = `SystemAssigned` | `UserAssigned` | `SystemAssigned,UserAssigned` | `None`,
//!   `principal_id?`, `user_assigned?` = [identity ids]}; `[storage_accounts.encryption]` {`key_source`
//!   (`Microsoft.Storage` | `Microsoft.Keyvault`), `require_infrastructure_encryption?`, `key_vault_uri`,
//!   `key_name`, `key_version?` (version id or `#N` = N-th oldest; absent/`""` = follow latest),
//!   `in_use_version?` (follow-latest only: the version the account has adopted; default the latest),
//!   `user_assigned_identity?` (absent = system-assigned), `federated_identity_client_id?`,
//!   `last_key_rotation?`, `auto_adopt?` (true), `adoption_delay?`, `external_key?` (a reason: the vault is
//!   deliberately outside the scenario; without it a reference to an unknown vault, key or version fails the
//!   load)}.
//! - `[[role_assignments]]` ARM RBAC: `scope` (subscription, resource group, resource or
//!   `{vault id}/keys/{name}`), `role` (role definition GUID), `principal_id`, `principal_type?`
//!   (`ServicePrincipal`), `name?`, `created?`, `created_by?`, `description?`.
//! - `[[hsm_role_assignments]]` Managed HSM local RBAC: `hsm`, `scope` (`/`, `/keys`, `/keys/{name}`), `role`,
//!   `principal_id`, `name?`.
//! - `[[other_resources]]` resources only listed generically (`GET .../resources`, list by type): `id`,
//!   `location`, `kind?`, `sku?`, `tags?` — not of a type a table below simulates in full.
//! - Key references of the service tables: `key = { vault, name, version?, in_use_version?, last_key_rotation?,
//!   auto_adopt?, adoption_delay?, external_key? }` — `vault` names a vault or managed HSM of the scenario (with
//!   `external_key` = a reason, the https URL of one outside it); `version` (id or `#N`) pins; absent follows the
//!   latest version where the service can (DES rotation to latest, ACR versionless key, SQL auto rotation; ACI
//!   and AKS KMS always pin); `adoption_delay` overrides `[simulation]`'s. All tables take `tags?` and, where
//!   the resource has one, `identity?` as for storage accounts.
//! - `[[disk_encryption_sets]]` `id`, `location`, `identity`, `key`, `encryption_type?`, `rotation_to_latest?`,
//!   `federated_client_id?`, `auto_key_rotation_error?` {`code`, `message`}.
//! - `[[disks]]` `id`, `location`, `sku?`, `size_gb`, `os_type?`, `created?`, `disk_encryption_set?` (a DES id),
//!   `encryption_type?`, `azure_disk_encryption?` {`vault`, `secret`, `key?`}; `managedBy` and `diskState` follow
//!   the VM attaching the disk.
//! - `[[virtual_machines]]` `id`, `location`, `vm_size?`, `encryption_at_host?`, `security_type?`, `os_disk` (a
//!   disk id), `data_disks?` = [{`lun`, `disk`}].
//! - `[[aks_clusters]]` `id`, `location`, `kubernetes_version?`, `identity`, `disk_encryption_set?`,
//!   `agent_pools` = [{`name`, `count?`, `vm_size?`, `mode?`, `encryption_at_host?`}], `kms?` {`vault`, `name`,
//!   `version`, `network_access?`, `enabled?`, `external_key?`}.
//! - `[[sql_servers]]` `id`, `kind` (`server` | `managed_instance`), `location`, `primary_user_assigned_identity?`,
//!   `protector?` (a key; absent = `ServiceManaged`), `public_network_access?`, `sku?`, `created?`.
//! - `[[container_registries]]` `id`, `location`, `sku?`, `key?`, `key_identity?` (user-assigned id, served as
//!   its client id), `admin_user_enabled?`, `public_network_access?`, `created?`.
//! - `[[container_groups]]` `id`, `location`, `os_type?`, `sku?`, `key?`, `key_identity?`, `containers?`.
//! - `[[container_apps_environments]]` `id`, `location`, `certificates?` = [{`name`, `vault?`, `certificate?`,
//!   `identity?` (`system` or a user-assigned id), `subject_name?`, `expires?`, `external_key?`}].
//! - `[[container_apps]]` `id`, `location`, `environment`, `image?`, `secrets?` = [{`name`, `vault?`, `secret?`,
//!   `identity?`, `external_key?`}] (a plain secret's value is never served).
//! - `[[web_apps]]` `id`, `location`, `kind?`, `state?`, `https_only?`, `server_farm?`.
//! - `[[raw_resources]]` `path`: a JSON file (one ARM document, a `{"value": [...]}` page or one of Microsoft's
//!   example files) relative to the scenario file; see [`Scenario::add_raw_resource`]. Built-in scenarios and
//!   [`Scenario::from_toml_str`] have no directory, so only absolute paths work there.
//! - `[[faults]]` `name`, `kind` (`throttle` 429 + `Retry-After` | `unavailable` 503 | `slow` | `malformed`
//!   truncated body | `forbidden` 403 | `server_error` 500), `path_contains`, `method?`, `host?`, `times?`
//!   (absent = always), `retry_after_seconds?` (throttle default 10), `delay_ms` (slow).
//! - `[[drill]]` the changes `cmk-evidence demo` applies between its two collections ([`DrillStep`], see
//!   "Drills" below), one `action` each: `rotate_key` {`vault`, `key`}; `advance_clock` {`by`};
//!   `disable_version` / `enable_version` {`vault`, `key`, `version`}; `remove_role_assignment` {`principal_id`,
//!   `scope`, `role?`}; `set_vault` {`vault`, `setting`, `value?`}. Unlike the other lists, a file's own
//!   `[[drill]]` REPLACES the one it `extends`.
//!
//! # Modelling choices worth knowing
//!
//! - ARM lists page at [`SimOptions::page_size`] with an absolute `nextLink` (`$skipToken`); Key Vault lists page
//!   at 25 (or `maxresults`) with `nextLink` on `https://{host}:443` (`$skiptoken`), `null` on the last page.
//! - Reading a disabled key version answers 403 `KeyDisabled` (as Key Vault does); its attributes are still in
//!   the versions list. Versions are listed in version-id order, not by age.
//! - A key without a configured rotation policy answers 200 with Key Vault's implicit default (one `Notify`
//!   30 days before expiry, `attributes: {}`, no `id`).
//! - A vault host that is not in the scenario challenges, then answers 403 `ForbiddenByRbac` — what a caller
//!   sees for a customer's vault in another tenant or subscription.
//! - Managed HSM role assignment ids are `/providers/Microsoft.Authorization/roleAssignments/{name}` whatever the
//!   scope, as the service writes them.
//! - Only `sign` is simulated among the key operations; `encrypt`, `wrapKey`, `verify`, ... answer 501.
//! - A disk encryption set's `activeKey.keyUrl`, a SQL protector's `uri` and an ACR `versionedKeyIdentifier` always
//!   name the version in use; following the latest version shows as `rotationToLatestKeyVersionEnabled`,
//!   `autoRotationEnabled` and a versionless `keyIdentifier` with `keyRotationEnabled`. SQL names a Key Vault
//!   server key `{vault}_{key}_{version}`; its key list is `ServiceManaged` plus every version the protector used.
//! - Azure's own spellings are kept where they differ: ACI and Container Apps write user-assigned identity ids
//!   with `resourcegroups` in lower case (Container Apps certificates: the whole id), certificate ids and types say
//!   `ManagedEnvironments/Certificates`, ACI writes `tenantId` for user-assigned identities too.
//! - Raw documents are served as the same JSON value (object keys may come back in another order) and are listed
//!   in `GET .../resources` only when top-level, as ARM does.
//!
//! # Run-time controls and drills
//!
//! A [`RunningSim`] can be changed while it serves, to model what happens to an estate between two
//! collections: [`RunningSim::rotate_key`], [`RunningSim::disable_key_version`] /
//! [`RunningSim::enable_key_version`], [`RunningSim::advance_clock`] (resources that follow the latest version
//! adopt a rotated one after their adoption delay), [`RunningSim::remove_role_assignment`] (ARM, or Managed HSM
//! local RBAC with a scope `hsm:<hsm name>:<local scope>`) and [`RunningSim::set_vault_setting`] (a
//! [`VaultSetting`]: soft delete, retention, purge protection, RBAC mode, public network access, network default
//! action and bypass; `None` makes the property absent). Nothing reads the wall clock: the simulator's clock
//! starts at the scenario's `now` ([`Scenario::clock`]) and moves only when told.
//!
//! A scenario's `[[drill]]` ([`Scenario::drill`]) writes such changes as data, in order. Each entry is checked
//! when the scenario loads — unknown vault, HSM, key or version (`#N` counted with the rotations earlier in the
//! drill), a duration that is not ISO 8601, an unknown setting or a value of the wrong type, a role assignment
//! that matches nothing — by rehearsing the whole drill on a copy of the estate; errors name the file, the line
//! and the entry (1-based). A version written `previous` is resolved when applied: the newest version older
//! than the key's newest. [`RunningSim::apply_drill_step`] applies one step and returns a line with what only
//! the run knows (the new version id and who adopted it, what `previous` resolved to and who uses it, how many
//! role assignments went, the new clock); a step reads as one line through `Display`.
//!
//! ```no_run
//! # async fn drill() -> Result<(), azure_sim::Error> {
//! use azure_sim::{Scenario, SimOptions};
//!
//! let scenario = Scenario::default_scenario();
//! let steps = scenario.drill().to_vec();
//! let sim = azure_sim::start(scenario, SimOptions::default()).await?;
//! // ... first collection ...
//! for step in &steps {
//!     println!("{step}: {}", sim.apply_drill_step(step)?);
//! }
//! // ... second collection ...
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Signing
//!
//! A key version whose `key_ops` include `sign` has real key material: an RSA key of the key's size or an EC
//! P-256 key, derived deterministically from tenant id, vault, key name and version id (the same scenario serves
//! the same public key in every run). Its key bundle carries the real public key (`n`, `e`; `crv`, `x`, `y`), so
//! a signature verifies against the JWK from `GET /keys/{name}/{version}`. Other keys (and EC keys on other
//! curves) keep cheap fake material. RSA keys are generated on first use and kept for the life of the process;
//! generation takes a second or more in a debug build, longer for 3072 and 4096 bits.
//!
//! `sign` implements ES256 (raw `r || s`, 64 bytes, as Key Vault returns it — not DER), RS256 (PKCS#1 v1.5
//! over the given digest) and PS256 (RSASSA-PSS, MGF1-SHA-256, salt length 32 = the hash length, RFC 7518
//! §3.5); the `value` is the SHA-256 digest, never the message. Checks, in order: the caller may sign (RBAC
//! vault: Key Vault Crypto User, Crypto Officer or Administrator at the key, the vault or above, for the
//! scenario's service principal; access-policy vault: a policy with the `sign` key permission; managed HSM: local
//! Managed HSM Crypto User) else 403 `ForbiddenByRbac` / `AccessDenied`; key and version exist (404
//! `KeyNotFound`); the version is enabled (403 `KeyDisabled`), active (`nbf`) and unexpired (403
//! `KeyNotYetValid` / `KeyExpired`); `key_ops` holds `sign` (403 `KeyOperationForbidden`); algorithm and digest
//! fit the key (400 `BadParameter`). Reads are not checked against role assignments: `data_plane_access` alone
//! decides them. Sign requests count as `kv.keys.sign` / `hsm.keys.sign` in [`SimStats::by_route`].
//!
//! # Azure's quotas (always on)
//!
//! Each is its own limiter, counted per bucket in [`SimStats::limits`] (requests admitted, 429s answered):
//! - ARM reads (`arm_reads`): token bucket of 250 refilled at 25 per second, per subscription (tenant-level
//!   reads share one bucket, `tenant`); every ARM answer carries `x-ms-ratelimit-remaining-subscription-reads`
//!   (or `-tenant-reads`); empty → 429 `SubscriptionRequestsThrottled` with `Retry-After`.
//! - Storage lists (`storage_list`): 100 `storageAccounts` list requests (every page) per 5 minutes per
//!   subscription, a fixed window opened by the first request; past it 429 `TooManyRequests` with `Retry-After`
//!   = seconds until the window closes. They count against ARM reads too, as in Azure.
//! - Resource Graph (`graph`): 15 queries (every page) per 5-second fixed window per principal (the token's
//!   object id); every Graph answer carries `x-ms-user-quota-remaining` and `x-ms-user-quota-resets-after`
//!   (`hh:mm:ss`); past it 429 `RateLimiting` with `Retry-After`. Graph does not spend ARM reads.
//! - Key Vault (`key_vault`): 4,000 operations per 10-second fixed window per vault; Managed HSM
//!   (`managed_hsm`): 1,100 per second per HSM; past it 429 `Throttled` with `Retry-After`. The 401 challenge
//!   does not count.
//!
//! [`SimStats::throttling_floor`] is the least wall time these quotas allow for what they admitted: per bucket,
//! token bucket `max(0, (n - C) / r)`, fixed window `((n - 1) / W) * T`; the slowest bucket sets it. Injected
//! `throttle` faults are separate: they answer 429 without touching the limiters.
//!
//! # Benchmarks
//!
//! [`Scenario::generated`] builds a large deterministic estate in memory ([`EstateSize`]: e.g. 100,000
//! resources, 2,000 keys, 200 subscriptions — the mix is in its docs), with a drill that rotates about 5 % of
//! the keys; [`Scenario::resource_counts`] says how many resources of each type the ARM lists return, so a
//! benchmark can show none was lost. [`Scenario::with_latency`] adds per-surface latency ([`Latency::azure_like`]:
//! ARM 60 ms, a Graph page 250 ms, Key Vault 20 ms, a token 50 ms), slept in each request's own task so requests
//! overlap. A running simulator indexes the estate once (by subscription and type, by id, keys, identities,
//! disks), so a list or get costs what it returns, not a scan of the estate.

mod arm;
mod arm_shapes;
mod dataplane;
mod error;
mod faults;
mod generated;
mod graph;
mod latency;
mod listing;
mod material;
mod quota;
mod resource_id;
mod scenario;
mod server;
mod service_shapes;
mod signing;
mod timestamps;
mod token;

pub use error::Error;
pub use generated::EstateSize;
pub use latency::Latency;
pub use quota::{LimitKind, LimitStats, ThrottlingFloor};
pub use scenario::{DrillStep, Scenario, SettingValue, VaultSetting};
pub use server::{RunningSim, SimOptions, SimStats, serve_forever, start};
