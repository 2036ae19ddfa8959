//! End-to-end checks of the simulator over real HTTP: a plain reqwest client talks to `http://127.0.0.1:<port>`
//! and names the Azure host it means in `x-forwarded-host`, as the azure-rest test transport does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::net::SocketAddr;

use azure_sim::{DrillStep, RunningSim, Scenario, SettingValue, SimOptions, VaultSetting};
use serde_json::Value;

const ARM: &str = "management.azure.com";
const LOGIN: &str = "login.microsoftonline.com";
const KV_PROD: &str = "kv-contoso-prod.vault.azure.net";
const KV_LEGACY: &str = "kv-contoso-legacy.vault.azure.net";
const KV_SHARED: &str = "kv-contoso-shared.vault.azure.net";
const EC_SIGNING_VERSION: &str = "c6f877186d76b07e881ed162ae2eb154";
const HSM: &str = "mhsm-contoso-prod.managedhsm.azure.net";
const SUB_PROD: &str = "2c63888f-28f0-4481-be6d-dce7a7ace732";
const SUB_SHARED: &str = "8a119b9e-16bc-4732-8f7b-7676d015b0dc";
const SUB_SANDBOX: &str = "bc67ba94-637d-4efa-a09e-467ada679f81";
const VAULT_PROD_ID: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-keys-prod/providers/Microsoft.KeyVault/vaults/kv-contoso-prod";
const CRYPTO_USER: &str = "e147488a-f6f5-4113-8e2d-b22465e65bf6";

/// A response, reduced.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_string()
    }
}

struct Client {
    http: reqwest::Client,
    addr: SocketAddr,
}

impl Client {
    fn new(sim: &RunningSim) -> Client {
        Client { http: reqwest::Client::new(), addr: sim.addr() }
    }

    async fn get(&self, host: &str, path_and_query: &str, token: Option<&str>) -> Answer {
        let mut request =
            self.http.get(format!("http://{}{}", self.addr, path_and_query)).header("x-forwarded-host", host);
        if let Some(t) = token {
            request = request.header("authorization", format!("Bearer {t}"));
        }
        let response = request.send().await.expect("request reaches the simulator");
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.expect("body"),
        }
    }

    async fn post_json(&self, host: &str, path_and_query: &str, token: Option<&str>, body: &Value) -> Answer {
        let mut request = self
            .http
            .post(format!("http://{}{}", self.addr, path_and_query))
            .header("x-forwarded-host", host)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = token {
            request = request.header("authorization", format!("Bearer {t}"));
        }
        let response = request.send().await.expect("request reaches the simulator");
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.expect("body"),
        }
    }

    /// Follow an absolute `nextLink` the way the test transport would: same path and query, host forwarded.
    async fn follow(&self, link: &str, token: &str) -> Answer {
        let url = url::Url::parse(link).expect("nextLink is an absolute URL");
        assert_eq!(url.scheme(), "https", "nextLink keeps the https scheme: {link}");
        let host = url.host_str().expect("host").to_string();
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        self.get(&host, &path, Some(token)).await
    }

    async fn post_token(&self, host: &str, tenant: &str, form: &[(&str, &str)]) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let response = self
            .http
            .post(format!("http://{}/{tenant}/oauth2/v2.0/token", self.addr))
            .header("x-forwarded-host", host)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("token request reaches the simulator");
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.expect("body"),
        }
    }

    /// A token for `resource` (e.g. `https://management.azure.com`) with the scenario's credentials.
    async fn token(&self, scenario: &Scenario, resource: &str) -> String {
        let (client_id, secret) = scenario.client_credentials();
        let scope = format!("{resource}/.default");
        let answer = self
            .post_token(
                LOGIN,
                scenario.tenant_id(),
                &[
                    ("client_id", client_id.as_str()),
                    ("client_secret", secret.as_str()),
                    ("grant_type", "client_credentials"),
                    ("scope", scope.as_str()),
                ],
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let body = answer.json();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3599);
        body["access_token"].as_str().expect("access_token").to_string()
    }

    /// All items of an ARM list, following `nextLink`; returns the items and the number of pages.
    async fn list_all(&self, path_and_query: &str, token: &str) -> (Vec<Value>, usize) {
        let mut answer = self.get(ARM, path_and_query, Some(token)).await;
        let mut items = Vec::new();
        let mut pages = 0;
        loop {
            assert_eq!(answer.status, 200, "{path_and_query}: {}", answer.text);
            pages += 1;
            assert!(pages < 50, "paging does not end");
            let body = answer.json();
            items.extend(body["value"].as_array().cloned().unwrap_or_default());
            match body["nextLink"].as_str() {
                Some(link) => answer = self.follow(link, token).await,
                None => break,
            }
        }
        (items, pages)
    }
}

async fn start(scenario: Scenario) -> (RunningSim, Client, Scenario) {
    let sim = azure_sim::start(scenario.clone(), SimOptions::default()).await.expect("simulator starts");
    let client = Client::new(&sim);
    (sim, client, scenario)
}

fn example(path: &str) -> Value {
    let full = format!("{}/../../testdata/arm-examples/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full)
        .unwrap_or_else(|e| panic!("reference example {full} is needed by this test: {e}"));
    serde_json::from_str(&text).expect("example is JSON")
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

#[tokio::test]
async fn token_then_paged_storage_lists_reach_every_account() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let token = client.token(&scenario, "https://management.azure.com").await;

    let (subs, sub_pages) = client.list_all("/subscriptions?api-version=2022-12-01", &token).await;
    assert_eq!(subs.len(), 3);
    assert_eq!(sub_pages, 2, "page size 2 splits three subscriptions");
    for s in &subs {
        assert_eq!(s["tenantId"], scenario.tenant_id());
        for field in ["subscriptionId", "displayName", "state"] {
            assert!(s[field].is_string(), "{field} in {s}");
        }
    }

    let first = client
        .get(
            ARM,
            &format!("/subscriptions/{SUB_PROD}/providers/Microsoft.Storage/storageAccounts?api-version=2025-06-01"),
            Some(&token),
        )
        .await;
    assert_eq!(first.header("x-ms-ratelimit-remaining-subscription-reads"), Some("249"));
    assert!(first.header("x-ms-request-id").is_some());
    assert!(first.header("x-ms-correlation-request-id").is_some());
    let link = first.json()["nextLink"].as_str().unwrap_or_default().to_string();
    assert!(
        link.starts_with(&format!(
            "https://{ARM}/subscriptions/{SUB_PROD}/providers/Microsoft.Storage/storageAccounts?"
        )),
        "{link}"
    );
    assert!(link.contains("$skipToken="), "{link}");

    let mut names = BTreeSet::new();
    for sub in [SUB_PROD, SUB_SHARED] {
        let (accounts, pages) = client
            .list_all(
                &format!("/subscriptions/{sub}/providers/Microsoft.Storage/storageAccounts?api-version=2025-06-01"),
                &token,
            )
            .await;
        assert!(pages >= 2, "{sub}: paging exercised");
        for a in accounts {
            assert_eq!(a["type"], "Microsoft.Storage/storageAccounts");
            names.insert(a["name"].as_str().unwrap_or_default().to_string());
        }
    }
    let expected: BTreeSet<String> = [
        "stcontosoprod01",
        "stcontosoprod02",
        "stcontosofinance01",
        "stcontosoreports",
        "stcontosodatalake",
        "stcontosolegacy",
        "stcontosologs",
        "stcontosopayments",
        "stsaasfabrikam01",
        "stshareddiag01",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    assert_eq!(names, expected);

    let later = client
        .get(
            ARM,
            &format!("/subscriptions/{SUB_PROD}/providers/Microsoft.KeyVault/vaults?api-version=2025-05-01"),
            Some(&token),
        )
        .await;
    let remaining: u64 =
        later.header("x-ms-ratelimit-remaining-subscription-reads").and_then(|v| v.parse().ok()).unwrap_or(999);
    assert!(remaining < 249, "quota counts down per subscription: {remaining}");

    let stats = sim.stats();
    assert_eq!(stats.token_requests, 1);
    assert!(stats.by_route.get("arm.storageAccounts.list").copied().unwrap_or(0) >= 4);
    sim.shutdown().await;
}

#[tokio::test]
async fn arm_refuses_missing_foreign_and_wrong_audience_tokens() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let path = format!("/subscriptions/{SUB_PROD}/providers/Microsoft.Storage/storageAccounts?api-version=2025-06-01");

    let none = client.get(ARM, &path, None).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.error_code(), "AuthenticationFailed");
    assert!(none.header("www-authenticate").is_some());
    assert!(none.header("x-ms-ratelimit-remaining-subscription-reads").is_some());

    let forged = client.get(ARM, &path, Some("not-a-token-we-issued")).await;
    assert_eq!(forged.status, 401);
    assert_eq!(forged.error_code(), "InvalidAuthenticationToken");

    let vault_token = client.token(&scenario, "https://vault.azure.net").await;
    let wrong = client.get(ARM, &path, Some(&vault_token)).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.error_code(), "InvalidAuthenticationTokenAudience");

    // the older ARM audience works too
    let classic = client.token(&scenario, "https://management.core.windows.net/").await;
    assert_eq!(client.get(ARM, &path, Some(&classic)).await.status, 200);

    assert_eq!(sim.stats().unauthenticated_401, 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_answers_like_entra_id() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let (client_id, secret) = scenario.client_credentials();
    let scope = "https://management.azure.com/.default";
    let base = [("client_id", client_id.as_str()), ("grant_type", "client_credentials"), ("scope", scope)];

    let mut wrong_secret = base.to_vec();
    wrong_secret.push(("client_secret", "nope"));
    let a = client.post_token(LOGIN, scenario.tenant_id(), &wrong_secret).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.json()["error"], "invalid_client");
    assert!(a.json()["error_description"].as_str().unwrap_or_default().starts_with("AADSTS7000215:"));
    assert_eq!(a.json()["error_codes"][0], 7000215);

    let mut good = base.to_vec();
    good.push(("client_secret", secret.as_str()));
    let a = client.post_token(LOGIN, "00000000-0000-0000-0000-000000000000", &good).await;
    assert_eq!(a.status, 400);
    assert!(a.json()["error_description"].as_str().unwrap_or_default().starts_with("AADSTS90002:"));

    // the default domain is accepted as the tenant; so is a China-cloud authority host
    let a = client.post_token("login.chinacloudapi.cn", "contoso.onmicrosoft.com", &good).await;
    assert_eq!(a.status, 200, "{}", a.text);

    let mut assertion = base.to_vec();
    assertion.push(("client_assertion", "eyJhbGciOi.fake.jwt"));
    assertion.push(("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"));
    assert_eq!(client.post_token(LOGIN, scenario.tenant_id(), &assertion).await.status, 200);

    let bad_scope = [
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
        ("grant_type", "client_credentials"),
        ("scope", "https://management.azure.com/user_impersonation"),
    ];
    let a = client.post_token(LOGIN, scenario.tenant_id(), &bad_scope).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["error"], "invalid_scope");
    assert_eq!(sim.stats().token_requests, 5);
    sim.shutdown().await;
}

#[tokio::test]
async fn optional_vault_properties_are_absent_not_false() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let token = client.token(&scenario, "https://management.azure.com").await;
    let legacy = client
        .get(
            ARM,
            &format!(
                "/subscriptions/{SUB_PROD}/resourceGroups/rg-legacy/providers/Microsoft.KeyVault/vaults/kv-contoso-legacy?api-version=2025-05-01"
            ),
            Some(&token),
        )
        .await;
    assert_eq!(legacy.status, 200, "{}", legacy.text);
    assert!(!legacy.text.contains("enablePurgeProtection"), "{}", legacy.text);
    let props = &legacy.json()["properties"];
    assert_eq!(props["enableSoftDelete"], true);
    assert_eq!(props["softDeleteRetentionInDays"], 30);
    assert_eq!(props["enableRbacAuthorization"], false);
    assert_eq!(props["vaultUri"], "https://kv-contoso-legacy.vault.azure.net/");
    let policies = props["accessPolicies"].as_array().cloned().unwrap_or_default();
    let storage_policy = policies
        .iter()
        .find(|p| p["objectId"] == "dd2ee150-d284-4277-b89c-1af40ce8fcc9")
        .expect("policy for stcontosolegacy's identity");
    assert_eq!(storage_policy["permissions"]["keys"], serde_json::json!(["get", "wrapKey", "unwrapKey"]));

    let prod = client.get(ARM, &format!("{VAULT_PROD_ID}?api-version=2025-05-01"), Some(&token)).await;
    let props = &prod.json()["properties"];
    assert_eq!(props["enablePurgeProtection"], true);
    assert_eq!(props["enableRbacAuthorization"], true);
    assert_eq!(props["sku"], serde_json::json!({ "family": "A", "name": "premium" }));
    assert_eq!(props["networkAcls"]["defaultAction"], "Deny");
    assert_eq!(props["networkAcls"]["ipRules"][0]["value"], "203.0.113.0/24");

    let hsm = client
        .get(
            ARM,
            &format!(
                "/subscriptions/{SUB_SHARED}/resourceGroups/rg-hsm-shared/providers/Microsoft.KeyVault/managedHSMs/mhsm-contoso-prod?api-version=2025-05-01"
            ),
            Some(&token),
        )
        .await;
    let body = hsm.json();
    assert_eq!(body["sku"]["family"], "B");
    assert_eq!(body["properties"]["hsmUri"], "https://mhsm-contoso-prod.managedhsm.azure.net/");
    assert_eq!(body["properties"]["enablePurgeProtection"], true);
    sim.shutdown().await;
}

#[tokio::test]
async fn arm_errors_use_arm_codes() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let token = client.token(&scenario, "https://management.azure.com").await;
    let no_version = client
        .get(ARM, &format!("/subscriptions/{SUB_PROD}/providers/Microsoft.Storage/storageAccounts"), Some(&token))
        .await;
    assert_eq!(no_version.status, 400);
    assert_eq!(no_version.error_code(), "MissingApiVersionParameter");

    let missing = client
        .get(
            ARM,
            &format!(
                "/subscriptions/{SUB_PROD}/resourceGroups/rg-data-prod/providers/Microsoft.Storage/storageAccounts/stnothere?api-version=2025-06-01"
            ),
            Some(&token),
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), "ResourceNotFound");
    assert!(
        missing.json()["error"]["message"].as_str().unwrap_or_default().contains("under resource group 'rg-data-prod'")
    );

    let no_group = client
        .get(
            ARM,
            &format!(
                "/subscriptions/{SUB_PROD}/resourceGroups/rg-nope/providers/Microsoft.Storage/storageAccounts/x?api-version=2025-06-01"
            ),
            Some(&token),
        )
        .await;
    assert_eq!(no_group.error_code(), "ResourceGroupNotFound");

    let no_sub = client
        .get(
            ARM,
            "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Storage/storageAccounts?api-version=2025-06-01",
            Some(&token),
        )
        .await;
    assert_eq!(no_sub.status, 404);
    assert_eq!(no_sub.error_code(), "SubscriptionNotFound");

    // Lists of types nobody modelled are empty, not errors.
    let hubs = client
        .get(
            ARM,
            &format!("/subscriptions/{SUB_PROD}/providers/Microsoft.EventHub/namespaces?api-version=2024-01-01"),
            Some(&token),
        )
        .await;
    assert_eq!(hubs.status, 200);
    assert_eq!(hubs.json()["value"], serde_json::json!([]));
    sim.shutdown().await;
}

#[tokio::test]
async fn denied_subscription_answers_403_on_every_list() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let token = client.token(&scenario, "https://management.azure.com").await;
    for path in [
        format!("/subscriptions/{SUB_SANDBOX}/providers/Microsoft.Storage/storageAccounts?api-version=2025-06-01"),
        format!("/subscriptions/{SUB_SANDBOX}/providers/Microsoft.KeyVault/vaults?api-version=2025-05-01"),
        format!("/subscriptions/{SUB_SANDBOX}/providers/Microsoft.KeyVault/managedHSMs?api-version=2025-05-01"),
        format!("/subscriptions/{SUB_SANDBOX}/resources?api-version=2021-04-01"),
        format!(
            "/subscriptions/{SUB_SANDBOX}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01"
        ),
    ] {
        let a = client.get(ARM, &path, Some(&token)).await;
        assert_eq!(a.status, 403, "{path}");
        assert_eq!(a.error_code(), "AuthorizationFailed");
        let message = a.json()["error"]["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains(&scenario.client_credentials().0), "{message}");
        assert!(message.contains(&format!("over scope '/subscriptions/{SUB_SANDBOX}'")), "{message}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn storage_bodies_match_the_reference_examples() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let token = client.token(&scenario, "https://management.azure.com").await;
    let get = |rg: &str, name: &str, sub: &str| {
        format!(
            "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}?api-version=2025-06-01"
        )
    };
    let body = |path: String| {
        let client = &client;
        let token = &token;
        async move {
            let a = client.get(ARM, &path, Some(token)).await;
            assert_eq!(a.status, 200, "{path}: {}", a.text);
            a.json()
        }
    };

    // System-assigned CMK following the latest version.
    let reference = &example("storage/2025-06-01/StorageAccountGetPropertiesCMKVersionExpirationTime.json")["responses"]
        ["200"]["body"];
    let ours = body(get("rg-data-prod", "stcontosoprod01", SUB_PROD)).await;
    let mut enc = keys(&ours["properties"]["encryption"]);
    assert!(enc.remove("requireInfrastructureEncryption"));
    assert_eq!(enc, keys(&reference["properties"]["encryption"]));
    assert_eq!(
        keys(&ours["properties"]["encryption"]["keyvaultproperties"]),
        keys(&reference["properties"]["encryption"]["keyvaultproperties"])
    );
    assert_eq!(
        keys(&ours["properties"]["encryption"]["services"]["blob"]),
        keys(&reference["properties"]["encryption"]["services"]["blob"])
    );
    assert_eq!(keys(&ours["identity"]), keys(&reference["identity"]));
    for field in keys(reference).into_iter().filter(|f| f != "tags") {
        assert!(ours.get(&field).is_some(), "top-level {field} missing");
    }
    let kv = &ours["properties"]["encryption"]["keyvaultproperties"];
    assert_eq!(kv["keyversion"], "");
    assert_eq!(
        kv["currentVersionedKeyIdentifier"],
        "https://kv-contoso-prod.vault.azure.net/keys/cmk-storage-prod/36f675cc81e74ef5e8e25d940ed90475"
    );
    assert_eq!(kv["currentVersionedKeyExpirationTimestamp"], "2027-11-23T05:02:44.0000000Z");
    assert_eq!(ours["properties"]["encryption"]["keySource"], "Microsoft.Keyvault");

    // Pinned account: keyversion is the pinned (old) version.
    let pinned = body(get("rg-finance", "stcontosofinance01", SUB_PROD)).await;
    assert_eq!(
        pinned["properties"]["encryption"]["keyvaultproperties"]["keyversion"],
        "6b0d549b6f03675a1600a35a099950d8"
    );

    // User-assigned identity with a federated client id (cross-tenant).
    let reference = &example(
        "storage/2025-06-01/StorageAccountCreateUserAssignedIdentityWithFederatedIdentityClientId.json",
    )["responses"]["200"]["body"];
    let ours = body(get("rg-saas-tenants", "stsaasfabrikam01", SUB_SHARED)).await;
    assert_eq!(keys(&ours["properties"]["encryption"]), keys(&reference["properties"]["encryption"]));
    assert_eq!(
        keys(&ours["properties"]["encryption"]["identity"]),
        keys(&reference["properties"]["encryption"]["identity"])
    );
    assert_eq!(
        keys(&ours["properties"]["encryption"]["keyvaultproperties"]),
        keys(&reference["properties"]["encryption"]["keyvaultproperties"])
    );
    assert_eq!(keys(&ours["identity"]), keys(&reference["identity"]));
    let ua = ours["identity"]["userAssignedIdentities"].as_object().cloned().unwrap_or_default();
    let (_, entry) = ua.iter().next().expect("one user-assigned identity");
    assert_eq!(keys(entry), BTreeSet::from(["clientId".to_string(), "principalId".to_string()]));
    assert_eq!(
        ours["properties"]["encryption"]["identity"]["federatedIdentityClientId"],
        "0c28cec1-b947-42af-a4b9-36976b4b76b0"
    );

    // Microsoft-managed keys.
    let reference = &example("storage/2025-06-01/StorageAccountGetProperties.json")["responses"]["200"]["body"];
    let ours = body(get("rg-platform-logs", "stcontosologs", SUB_PROD)).await;
    assert_eq!(keys(&ours["properties"]["encryption"]), keys(&reference["properties"]["encryption"]));
    assert_eq!(ours["properties"]["encryption"]["keySource"], "Microsoft.Storage");
    assert!(ours.get("identity").is_none());

    // Managed HSM key URI.
    let ours = body(get("rg-payments", "stcontosopayments", SUB_SHARED)).await;
    assert_eq!(
        ours["properties"]["encryption"]["keyvaultproperties"]["keyvaulturi"],
        "https://mhsm-contoso-prod.managedhsm.azure.net"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn role_assignments_at_above_and_below_a_vault() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let token = client.token(&scenario, "https://management.azure.com").await;
    let list = |filter: Option<&str>, scope: &str| {
        let mut path = format!("{scope}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01");
        if let Some(f) = filter {
            path.push_str("&$filter=");
            path.push_str(&url::form_urlencoded::byte_serialize(f.as_bytes()).collect::<String>());
        }
        let client = &client;
        let token = &token;
        async move {
            let a = client.get(ARM, &path, Some(token)).await;
            assert_eq!(a.status, 200, "{path}: {}", a.text);
            a.json()["value"].as_array().cloned().unwrap_or_default()
        }
    };
    let principals = |items: &[Value]| -> BTreeSet<String> {
        items.iter().map(|i| i["properties"]["principalId"].as_str().unwrap_or_default().to_string()).collect()
    };

    let all = list(None, VAULT_PROD_ID).await;
    let p = principals(&all);
    assert!(p.contains("ac8efe12-1c59-49f1-ba2d-de83458bfed0"), "at vault scope (stcontosoprod01)");
    assert!(p.contains("3c3ae353-fb14-428e-90b4-01a6c1cc0aff"), "above: resource group (id-datalake-cmk)");
    assert!(p.contains("a712755f-6cac-44d5-99d5-269512e74f7b"), "above: subscription (collector)");
    assert!(p.contains("5796a670-482c-490e-8d97-82bfcdc83011"), "below: key scope (stcontosoprod02)");
    assert!(
        !p.contains("45ac16b9-c20d-4c21-8f8a-7abff2e91ac7") || {
            // stcontosoreports holds only Key Vault Reader, never the crypto role
            all.iter()
                .filter(|i| i["properties"]["principalId"] == "45ac16b9-c20d-4c21-8f8a-7abff2e91ac7")
                .all(|i| !i["properties"]["roleDefinitionId"].as_str().unwrap_or_default().ends_with(CRYPTO_USER))
        }
    );

    let reference =
        &example("authorization/2022-04-01/RoleAssignments_ListForScope.json")["responses"]["200"]["body"]["value"][0];
    let item = &all[0];
    assert!(keys(reference).is_subset(&keys(item)), "{item}");
    assert!(keys(&reference["properties"]).is_subset(&keys(&item["properties"])), "{item}");
    assert_eq!(item["type"], "Microsoft.Authorization/roleAssignments");
    let crypto = all
        .iter()
        .find(|i| i["properties"]["principalId"] == "ac8efe12-1c59-49f1-ba2d-de83458bfed0")
        .expect("prod01 assignment");
    assert_eq!(
        crypto["properties"]["roleDefinitionId"],
        format!("/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/roleDefinitions/{CRYPTO_USER}")
    );
    assert_eq!(crypto["properties"]["principalType"], "ServicePrincipal");
    assert_eq!(
        crypto["id"],
        format!(
            "{VAULT_PROD_ID}/providers/Microsoft.Authorization/roleAssignments/e5a9f6b1-a297-49bf-adf4-38f7b27c1c74"
        )
    );

    let at_scope = principals(&list(Some("atScope()"), VAULT_PROD_ID).await);
    assert!(!at_scope.contains("5796a670-482c-490e-8d97-82bfcdc83011"), "atScope() drops assignments below");
    assert!(at_scope.contains("3c3ae353-fb14-428e-90b4-01a6c1cc0aff"), "atScope() keeps assignments above");

    let one = list(Some("principalId eq '5796a670-482c-490e-8d97-82bfcdc83011'"), VAULT_PROD_ID).await;
    assert_eq!(one.len(), 1);
    assert!(one[0]["properties"]["scope"].as_str().unwrap_or_default().ends_with("/keys/cmk-storage-prod"));

    // Ids are case-insensitive; key scope sees the vault's and its own assignments.
    let key_scope = format!("{}/keys/cmk-storage-prod", VAULT_PROD_ID.to_ascii_lowercase());
    let p = principals(&list(None, &key_scope).await);
    assert!(p.contains("5796a670-482c-490e-8d97-82bfcdc83011"));
    assert!(p.contains("ac8efe12-1c59-49f1-ba2d-de83458bfed0"));
    sim.shutdown().await;
}

#[tokio::test]
async fn data_plane_challenges_then_serves_keys() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let challenge = client.get(KV_PROD, "/keys/cmk-storage-prod/?api-version=7.6", None).await;
    assert_eq!(challenge.status, 401);
    assert_eq!(
        challenge.header("www-authenticate"),
        Some(
            format!(
                "Bearer authorization=\"https://login.microsoftonline.com/{}\", resource=\"https://vault.azure.net\"",
                scenario.tenant_id()
            )
            .as_str()
        )
    );
    let arm_token = client.token(&scenario, "https://management.azure.com").await;
    let wrong = client.get(KV_PROD, "/keys/cmk-storage-prod/?api-version=7.6", Some(&arm_token)).await;
    assert_eq!(wrong.status, 401, "an ARM token is refused by the vault");
    assert!(wrong.header("www-authenticate").is_some());

    let token = client.token(&scenario, "https://vault.azure.net").await;
    let latest = client.get(KV_PROD, "/keys/cmk-storage-prod/?api-version=7.6", Some(&token)).await;
    assert_eq!(latest.status, 200, "{}", latest.text);
    let body = latest.json();
    assert_eq!(
        body["key"]["kid"],
        "https://kv-contoso-prod.vault.azure.net/keys/cmk-storage-prod/36f675cc81e74ef5e8e25d940ed90475"
    );
    assert_eq!(body["key"]["kty"], "RSA-HSM");
    assert_eq!(body["key"]["e"], "AQAB");
    let n = body["key"]["n"].as_str().unwrap_or_default();
    assert!(!n.contains('=') && !n.contains('+') && !n.contains('/'), "base64url without padding");
    assert_eq!(n.len(), 512, "3072-bit modulus = 384 bytes = 512 base64url characters");
    let reference = &example("keyvault-dataplane/7.5/GetKey-example.json")["responses"]["200"]["body"];
    assert!(keys(&reference["key"]).is_subset(&keys(&body["key"])));
    assert!(keys(&reference["attributes"]).is_subset(&keys(&body["attributes"])));
    assert_eq!(body["attributes"]["recoveryLevel"], "Recoverable");
    assert_eq!(body["attributes"]["recoverableDays"], 90);
    assert_eq!(body["attributes"]["exp"], 1_826_946_164_i64);
    assert!(body["attributes"]["created"].is_i64());

    let same = client.get(KV_PROD, "/keys/cmk-storage-prod?api-version=2025-07-01", Some(&token)).await;
    assert_eq!(same.json()["key"]["kid"], body["key"]["kid"]);

    let old = client
        .get(KV_PROD, "/keys/cmk-storage-prod/6513270e269e0d37f2a74de452e6b438?api-version=7.6", Some(&token))
        .await;
    assert_eq!(old.status, 200);

    let disabled = client
        .get(KV_LEGACY, "/keys/cmk-legacy-app/0cb1e29c658cda1495e60af593bd04cf?api-version=7.6", Some(&token))
        .await;
    assert_eq!(disabled.status, 403);
    assert_eq!(disabled.json()["error"]["innererror"]["code"], "KeyDisabled");
    let legacy = client.get(KV_LEGACY, "/keys/cmk-legacy-app?api-version=7.6", Some(&token)).await;
    assert_eq!(legacy.json()["attributes"]["recoveryLevel"], "CustomizedRecoverable+Purgeable");
    assert_eq!(legacy.json()["attributes"]["recoverableDays"], 30);

    let unknown = client.get(KV_PROD, "/keys/no-such-key?api-version=7.6", Some(&token)).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.error_code(), "KeyNotFound");
    assert!(unknown.text.contains("A key with (name/id) no-such-key was not found"));

    let no_version = client.get(KV_PROD, "/keys/cmk-storage-prod", Some(&token)).await;
    assert_eq!(no_version.status, 400);

    let outside =
        client.get("kv-fabrikam-byok.vault.azure.net", "/keys/cmk-contoso-archive?api-version=7.6", Some(&token)).await;
    assert_eq!(outside.status, 403);
    assert_eq!(outside.json()["error"]["innererror"]["code"], "ForbiddenByRbac");

    assert_eq!(sim.stats().unauthenticated_401, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn key_versions_page_by_25_with_a_round_trippable_next_link() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let token = client.token(&scenario, "https://vault.azure.net").await;
    let first = client.get(KV_PROD, "/keys/cmk-datalake/versions?api-version=7.6", Some(&token)).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let body = first.json();
    let page1 = body["value"].as_array().cloned().unwrap_or_default();
    assert_eq!(page1.len(), 25);
    let link = body["nextLink"].as_str().expect("nextLink on a full page").to_string();
    assert!(
        link.starts_with(
            "https://kv-contoso-prod.vault.azure.net:443/keys/cmk-datalake/versions?api-version=7.6&$skiptoken="
        ),
        "{link}"
    );
    assert!(link.ends_with("&maxresults=25"), "{link}");
    let reference = &example("keyvault-dataplane/7.6/GetKeyVersions-example.json")["responses"]["200"]["body"];
    assert_eq!(keys(reference), keys(&body));
    assert!(keys(&reference["value"][0]["attributes"]).is_subset(&keys(&page1[0]["attributes"])));

    // What the Key Vault client does: parameters reordered, token percent-encoded.
    let url = url::Url::parse(&link).expect("absolute nextLink");
    let token_value =
        url.query_pairs().find(|(k, _)| k == "$skiptoken").map(|(_, v)| v.into_owned()).expect("skiptoken");
    let encoded: String = url::form_urlencoded::byte_serialize(token_value.as_bytes()).collect();
    let second = client
        .get(
            KV_PROD,
            &format!("/keys/cmk-datalake/versions?maxresults=25&%24skiptoken={encoded}&api-version=7.6"),
            Some(&token),
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.text);
    let body2 = second.json();
    let page2 = body2["value"].as_array().cloned().unwrap_or_default();
    assert_eq!(page2.len(), 5);
    assert!(body2["nextLink"].is_null());
    let kids: BTreeSet<String> =
        page1.iter().chain(&page2).map(|v| v["kid"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(kids.len(), 30, "every version exactly once");
    let disabled = page1.iter().chain(&page2).filter(|v| v["attributes"]["enabled"] == false).count();
    assert!(disabled > 0 && disabled < 30, "old versions disabled by the clean-up job");

    // Following the link as written works too, and a smaller maxresults gives smaller pages.
    assert_eq!(client.follow(&link, &token).await.status, 200);
    let small =
        client.get(KV_PROD, "/keys/cmk-datalake/versions?api-version=7.6&maxresults=10", Some(&token)).await.json();
    assert_eq!(small["value"].as_array().map(Vec::len), Some(10));
    assert!(small["nextLink"].as_str().unwrap_or_default().ends_with("&maxresults=10"));
    sim.shutdown().await;
}

#[tokio::test]
async fn rotation_policies_configured_and_default() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let token = client.token(&scenario, "https://vault.azure.net").await;
    let policy =
        client.get(KV_PROD, "/keys/cmk-storage-prod/rotationpolicy?api-version=7.6", Some(&token)).await.json();
    let reference = &example("keyvault-dataplane/7.6/GetKeyRotationPolicy-example.json")["responses"]["200"]["body"];
    assert_eq!(keys(&policy), keys(reference));
    assert_eq!(keys(&policy["attributes"]), keys(&reference["attributes"]));
    assert_eq!(policy["id"], "https://kv-contoso-prod.vault.azure.net/keys/cmk-storage-prod/rotationpolicy");
    assert_eq!(policy["lifetimeActions"][0]["trigger"]["timeAfterCreate"], "P90D");
    assert_eq!(policy["lifetimeActions"][0]["action"]["type"], "Rotate");
    assert_eq!(policy["lifetimeActions"][1]["trigger"]["timeBeforeExpiry"], "P30D");
    assert_eq!(policy["attributes"]["expiryTime"], "P1Y");
    assert!(policy["attributes"]["created"].is_i64());

    let none = client.get(KV_LEGACY, "/keys/cmk-legacy-app/rotationpolicy?api-version=7.6", Some(&token)).await;
    assert_eq!(none.status, 200);
    let none = none.json();
    assert!(none.get("id").is_none(), "a never-configured policy has no id");
    assert_eq!(none["attributes"], serde_json::json!({}));
    assert_eq!(none["lifetimeActions"][0]["action"]["type"], "Notify");
    sim.shutdown().await;
}

#[tokio::test]
async fn managed_hsm_local_rbac_and_challenge() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let challenge = client.get(HSM, "/providers/Microsoft.Authorization/roleAssignments?api-version=7.6", None).await;
    assert_eq!(challenge.status, 401);
    assert!(
        challenge.header("www-authenticate").unwrap_or_default().ends_with("resource=\"https://managedhsm.azure.net\"")
    );

    let vault_token = client.token(&scenario, "https://vault.azure.net").await;
    let wrong = client.get(HSM, "/keys/cmk-hsm-storage?api-version=7.6", Some(&vault_token)).await;
    assert_eq!(wrong.status, 401, "a vault token is refused by a managed HSM");

    let token = client.token(&scenario, "https://managedhsm.azure.net").await;
    let get = |path: String| {
        let client = &client;
        let token = &token;
        async move {
            let a = client.get(HSM, &path, Some(token)).await;
            assert_eq!(a.status, 200, "{path}: {}", a.text);
            a.json()
        }
    };
    let all = get("///providers/Microsoft.Authorization/roleAssignments?api-version=7.6".into()).await;
    assert_eq!(all["value"].as_array().map(Vec::len), Some(4), "storage, ACI, admin and collector assignments");
    let root_only =
        get("/providers/Microsoft.Authorization/roleAssignments?api-version=7.6&$filter=atScope()".into()).await;
    assert_eq!(root_only["value"].as_array().map(Vec::len), Some(1));

    let key_scope =
        get("/keys/cmk-hsm-storage/providers/Microsoft.Authorization/roleAssignments?api-version=7.6".into()).await;
    let items = key_scope["value"].as_array().cloned().unwrap_or_default();
    let encryption_user = items
        .iter()
        .find(|i| i["properties"]["principalId"] == "bbeeb636-1d33-4c6d-96f0-da847a2a3b87")
        .expect("id-payments-cmk holds a role at the key");
    assert_eq!(
        encryption_user["properties"]["roleDefinitionId"],
        "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/33413926-3206-4cdd-b39a-83574fe37a17"
    );
    assert_eq!(encryption_user["properties"]["scope"], "/keys/cmk-hsm-storage");
    assert_eq!(encryption_user["type"], "Microsoft.Authorization/roleAssignments");
    assert!(
        encryption_user["id"]
            .as_str()
            .unwrap_or_default()
            .starts_with("/providers/Microsoft.Authorization/roleAssignments/")
    );
    assert_eq!(items.len(), 3, "plus the assignments at / and /keys above it");

    let key = get("/keys/cmk-hsm-storage?api-version=7.6".into()).await;
    assert_eq!(
        key["key"]["kid"],
        "https://mhsm-contoso-prod.managedhsm.azure.net/keys/cmk-hsm-storage/ae97ba94d0eda82f8f6d05584ef8aa38"
    );
    assert_eq!(key["attributes"]["exportable"], false);
    sim.shutdown().await;
}

/// The default estate plus one cheap rule per fault kind.
fn fault_scenario() -> Scenario {
    let text = r#"
extends = "default"

[[faults]]
name = "throttle"
kind = "throttle"
path_contains = "/providers/Microsoft.Storage/storageAccounts"
retry_after_seconds = 600
times = 2

[[faults]]
name = "unavailable"
kind = "unavailable"
path_contains = "/providers/Microsoft.KeyVault/vaults"
times = 2

[[faults]]
name = "slow"
kind = "slow"
path_contains = "/providers/Microsoft.KeyVault/managedHSMs"
delay_ms = 20
times = 1

[[faults]]
name = "malformed"
kind = "malformed"
host = "kv-contoso-prod.vault.azure.net"
path_contains = "/keys/cmk-datalake/versions"
times = 1

[[faults]]
name = "forbidden"
kind = "forbidden"
path_contains = "/subscriptions/8a119b9e-16bc-4732-8f7b-7676d015b0dc/resources"

[[faults]]
name = "server-error"
kind = "server_error"
host = "kv-contoso-legacy"
path_contains = "/rotationpolicy"
"#;
    Scenario::from_toml_str(text, "faults-test.toml").expect("test scenario loads")
}

#[tokio::test]
async fn each_fault_fires_its_times_then_clears() {
    let (sim, client, scenario) = start(fault_scenario()).await;
    let token = client.token(&scenario, "https://management.azure.com").await;
    let storage =
        format!("/subscriptions/{SUB_PROD}/providers/Microsoft.Storage/storageAccounts?api-version=2025-06-01");
    for _ in 0..2 {
        let a = client.get(ARM, &storage, Some(&token)).await;
        assert_eq!(a.status, 429);
        assert_eq!(a.header("retry-after"), Some("600"));
        assert!(a.header("x-ms-ratelimit-remaining-subscription-reads").is_some());
    }
    assert_eq!(client.get(ARM, &storage, Some(&token)).await.status, 200);

    let vaults = format!("/subscriptions/{SUB_PROD}/providers/Microsoft.KeyVault/vaults?api-version=2025-05-01");
    for _ in 0..2 {
        let a = client.get(ARM, &vaults, Some(&token)).await;
        assert_eq!(a.status, 503);
        assert_eq!(a.error_code(), "ServiceUnavailable");
    }
    assert_eq!(client.get(ARM, &vaults, Some(&token)).await.status, 200);

    let hsms = format!("/subscriptions/{SUB_SHARED}/providers/Microsoft.KeyVault/managedHSMs?api-version=2025-05-01");
    for _ in 0..2 {
        let a = client.get(ARM, &hsms, Some(&token)).await;
        assert_eq!(a.status, 200, "a slow answer is still the right answer");
        assert_eq!(a.json()["value"].as_array().map(Vec::len), Some(1));
    }

    let resources = format!("/subscriptions/{SUB_SHARED}/resources?api-version=2021-04-01");
    for _ in 0..3 {
        let a = client.get(ARM, &resources, Some(&token)).await;
        assert_eq!(a.status, 403, "a forbidden rule without times fires every time");
        assert_eq!(a.error_code(), "AuthorizationFailed");
    }

    let kv = client.token(&scenario, "https://vault.azure.net").await;
    let truncated = client.get(KV_PROD, "/keys/cmk-datalake/versions?api-version=7.6", Some(&kv)).await;
    assert_eq!(truncated.status, 200);
    assert!(serde_json::from_str::<Value>(&truncated.text).is_err(), "malformed body is not JSON");
    let whole = client.get(KV_PROD, "/keys/cmk-datalake/versions?api-version=7.6", Some(&kv)).await;
    assert_eq!(whole.json()["value"].as_array().map(Vec::len), Some(25));

    for _ in 0..2 {
        let a = client.get(KV_LEGACY, "/keys/cmk-legacy-app/rotationpolicy?api-version=7.6", Some(&kv)).await;
        assert_eq!(a.status, 500);
    }

    let stats = sim.stats();
    assert_eq!(stats.faults_injected, 2 + 2 + 1 + 3 + 1 + 2);
    assert_eq!(stats.throttled_429, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn builtin_faults_scenario_starts_with_a_token_hiccup() {
    let scenario = Scenario::builtin("faults").expect("faults scenario");
    let (sim, client, scenario) = start(scenario).await;
    let (client_id, secret) = scenario.client_credentials();
    let form = [
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
        ("grant_type", "client_credentials"),
        ("scope", "https://management.azure.com/.default"),
    ];
    let first = client.post_token(LOGIN, scenario.tenant_id(), &form).await;
    assert_eq!(first.status, 503);
    assert_eq!(first.header("retry-after"), Some("1"));
    let token = client.token(&scenario, "https://management.azure.com").await;
    let storage =
        format!("/subscriptions/{SUB_PROD}/providers/Microsoft.Storage/storageAccounts?api-version=2025-06-01");
    assert_eq!(client.get(ARM, &storage, Some(&token)).await.status, 429);
    assert_eq!(client.get(ARM, &storage, Some(&token)).await.status, 429);
    assert_eq!(client.get(ARM, &storage, Some(&token)).await.status, 200);
    assert_eq!(sim.stats().faults_injected, 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn rotation_and_disabling_change_what_is_served() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let new_version = sim.rotate_key("kv-contoso-prod", "cmk-storage-prod").expect("key exists");
    assert!(sim.rotate_key("kv-contoso-prod", "no-such-key").is_err());

    let token = client.token(&scenario, "https://management.azure.com").await;
    let account = client
        .get(
            ARM,
            &format!(
                "/subscriptions/{SUB_PROD}/resourceGroups/rg-data-prod/providers/Microsoft.Storage/storageAccounts/stcontosoprod01?api-version=2025-06-01"
            ),
            Some(&token),
        )
        .await
        .json();
    let kv = &account["properties"]["encryption"]["keyvaultproperties"];
    assert!(
        kv["currentVersionedKeyIdentifier"].as_str().unwrap_or_default().ends_with(&new_version),
        "follow-latest account (no adoption delay of its own) adopted the rotated version: {kv}"
    );

    let kv_token = client.token(&scenario, "https://vault.azure.net").await;
    let versions = client.get(KV_PROD, "/keys/cmk-storage-prod/versions?api-version=7.6", Some(&kv_token)).await.json();
    assert_eq!(versions["value"].as_array().map(Vec::len), Some(5));

    sim.disable_key_version("kv-contoso-prod", "cmk-storage-prod", &new_version).expect("version exists");
    let latest = client.get(KV_PROD, "/keys/cmk-storage-prod/?api-version=7.6", Some(&kv_token)).await;
    assert_eq!(latest.status, 403);
    assert_eq!(latest.json()["error"]["innererror"]["code"], "KeyDisabled");
    assert_eq!(sim.clock(), scenario.clock());
    sim.advance_clock(time::Duration::hours(1));
    assert!(sim.clock() > scenario.clock());
    sim.shutdown().await;
}

#[tokio::test]
async fn only_loopback_binds_are_accepted() {
    let options = SimOptions { bind: "0.0.0.0:0".parse().expect("address"), page_size: 2 };
    let err = azure_sim::start(Scenario::default_scenario(), options).await.expect_err("non-loopback bind is refused");
    assert!(err.to_string().contains("loopback"), "{err}");
}

#[test]
fn scenario_api_and_errors() {
    let s = Scenario::default_scenario();
    assert_eq!(s.tenant_id(), "f6fadfa7-e5c1-4b62-9362-da5cc13da58a");
    assert_eq!(s.subscription_ids(), vec![SUB_PROD, SUB_SHARED, SUB_SANDBOX]);
    assert_eq!(s.client_credentials().0, "fab36728-a78b-4b7e-8787-c0de2f960063");
    assert_eq!(s.clock(), time::macros::datetime!(2026-11-23 10:15:00 UTC));
    assert!(Scenario::builtin_names().contains(&"faults"));
    let err = Scenario::builtin("nope").expect_err("unknown builtin").to_string();
    assert!(err.contains("default") && err.contains("faults"), "{err}");

    let dir = std::env::temp_dir().join(format!("azure-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("broken.toml");
    std::fs::write(
        &path,
        "extends = \"default\"\n\n[[faults]]\nname = \"x\"\nkind = \"explode\"\npath_contains = \"/\"\n",
    )
    .expect("write");
    let err = Scenario::from_path(&path).expect_err("bad fault kind").to_string();
    assert!(err.contains("broken.toml"), "{err}");
    assert!(err.contains("line 5"), "{err}");
    assert!(err.contains("explode"), "{err}");
    let missing = Scenario::from_path(&dir.join("absent.toml")).expect_err("missing file").to_string();
    assert!(missing.contains("absent.toml"), "{missing}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn forwarded_host_may_carry_a_port_and_direct_requests_get_followable_links() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let token = client.token(&scenario, "https://management.azure.com").await;
    let with_port = client.get("management.azure.com:443", "/subscriptions?api-version=2022-12-01", Some(&token)).await;
    assert_eq!(with_port.status, 200);
    assert!(with_port.header("x-ms-ratelimit-remaining-tenant-reads").is_some());
    let link = with_port.json()["nextLink"].as_str().unwrap_or_default().to_string();
    assert!(link.starts_with("https://management.azure.com/subscriptions?"), "{link}");

    // Without x-forwarded-host the request is ARM and links point back at the simulator itself.
    let direct = reqwest::Client::new()
        .get(format!("http://{}/subscriptions?api-version=2022-12-01", sim.addr()))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("direct request");
    assert_eq!(direct.status().as_u16(), 200);
    let body: Value = serde_json::from_str(&direct.text().await.expect("body")).expect("JSON");
    let link = body["nextLink"].as_str().unwrap_or_default();
    assert!(link.starts_with(&format!("http://{}/subscriptions?", sim.addr())), "{link}");
    sim.shutdown().await;
}

// ---- sign ----

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn b64url_decode(value: &Value) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value.as_str().expect("base64url string"))
        .expect("base64url")
}

fn sign_body(alg: &str, digest: &[u8]) -> Value {
    serde_json::json!({ "alg": alg, "value": b64url(digest) })
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).to_vec()
}

/// The public key of a JWK served in a key bundle, as a verifier would build it.
fn ec_verifying_key(jwk: &Value) -> p256::ecdsa::VerifyingKey {
    assert_eq!(jwk["crv"], "P-256");
    let (x, y) = (b64url_decode(&jwk["x"]), b64url_decode(&jwk["y"]));
    let point = p256::EncodedPoint::from_affine_coordinates(x.as_slice().into(), y.as_slice().into(), false);
    p256::ecdsa::VerifyingKey::from_encoded_point(&point).expect("the JWK is a point on P-256")
}

fn rsa_public_key(jwk: &Value) -> rsa::RsaPublicKey {
    let n = rsa::BigUint::from_bytes_be(&b64url_decode(&jwk["n"]));
    let e = rsa::BigUint::from_bytes_be(&b64url_decode(&jwk["e"]));
    rsa::RsaPublicKey::new(n, e).expect("a valid RSA public key")
}

#[tokio::test]
async fn sign_es256_rs256_ps256_verify_against_the_served_public_key() {
    use p256::ecdsa::signature::hazmat::PrehashVerifier as _;

    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let challenge = client
        .post_json(KV_SHARED, "/keys/evidence-signing/sign?api-version=7.6", None, &sign_body("ES256", &[0; 32]))
        .await;
    assert_eq!(challenge.status, 401, "sign goes through the challenge like every data-plane call");
    let token = client.token(&scenario, "https://vault.azure.net").await;
    let digest = sha256(b"{\"manifest\":\"evidence\"}");

    // ES256 with the version in the path: raw r || s, verified with the JWK of GET key.
    let bundle = client.get(KV_SHARED, "/keys/evidence-signing/?api-version=7.6", Some(&token)).await;
    assert_eq!(bundle.status, 200, "{}", bundle.text);
    let jwk = bundle.json()["key"].clone();
    let kid = format!("https://{KV_SHARED}/keys/evidence-signing/{EC_SIGNING_VERSION}");
    assert_eq!(jwk["kid"], kid.as_str());
    let es256 = client
        .post_json(
            KV_SHARED,
            &format!("/keys/evidence-signing/{EC_SIGNING_VERSION}/sign?api-version=2025-07-01"),
            Some(&token),
            &sign_body("ES256", &digest),
        )
        .await;
    assert_eq!(es256.status, 200, "{}", es256.text);
    let body = es256.json();
    assert_eq!(keys(&body), BTreeSet::from(["kid".to_string(), "value".to_string()]));
    assert_eq!(body["kid"], kid.as_str());
    let raw = b64url_decode(&body["value"]);
    assert_eq!(raw.len(), 64, "JWS form r || s, not DER");
    let signature = p256::ecdsa::Signature::from_slice(&raw).expect("r || s");
    ec_verifying_key(&jwk).verify_prehash(&digest, &signature).expect("ES256 verifies with the served key");

    // Without a version (what KeyClient::sign sends: `/keys/{name}//sign`): the latest version signs and the
    // answer names it.
    let latest = client
        .post_json(
            KV_SHARED,
            "/keys/evidence-signing//sign?api-version=2025-07-01",
            Some(&token),
            &sign_body("ES256", &digest),
        )
        .await;
    assert_eq!(latest.status, 200, "{}", latest.text);
    assert_eq!(latest.json()["kid"], kid.as_str());

    // RS256 and PS256 with the RSA key.
    let bundle = client.get(KV_SHARED, "/keys/evidence-signing-rsa?api-version=7.6", Some(&token)).await.json();
    let rsa_jwk = &bundle["key"];
    assert_eq!(rsa_jwk["kty"], "RSA");
    assert_eq!(rsa_jwk["key_ops"], serde_json::json!(["sign", "verify"]));
    let public = rsa_public_key(rsa_jwk);
    assert_eq!(rsa::traits::PublicKeyParts::size(&public), 256, "RSA 2048");
    for alg in ["RS256", "PS256"] {
        let answer = client
            .post_json(
                KV_SHARED,
                "/keys/evidence-signing-rsa/sign?api-version=7.6",
                Some(&token),
                &sign_body(alg, &digest),
            )
            .await;
        assert_eq!(answer.status, 200, "{alg}: {}", answer.text);
        let answer = answer.json();
        assert_eq!(answer["kid"], rsa_jwk["kid"]);
        let signature = b64url_decode(&answer["value"]);
        assert_eq!(signature.len(), 256);
        let verified = if alg == "RS256" {
            public.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, &signature)
        } else {
            // Strict salt length 32 (= SHA-256 output), as Key Vault signs PS256.
            public.verify(rsa::Pss::new::<sha2::Sha256>(), &digest, &signature)
        };
        verified.unwrap_or_else(|e| panic!("{alg} verifies with the served key: {e}"));
    }

    // Algorithm and digest must fit the key.
    let cases = [
        ("/keys/evidence-signing-rsa/sign", sign_body("ES256", &digest)),
        ("/keys/evidence-signing/sign", sign_body("PS256", &digest)),
        ("/keys/evidence-signing/sign", sign_body("ES256", &digest[..20])),
        ("/keys/evidence-signing/sign", sign_body("ES999", &digest)),
        ("/keys/evidence-signing/sign", serde_json::json!({ "alg": "ES256" })),
    ];
    for (path, body) in &cases {
        let answer = client.post_json(KV_SHARED, &format!("{path}?api-version=7.6"), Some(&token), body).await;
        assert_eq!(answer.status, 400, "{path} {body}: {}", answer.text);
        assert_eq!(answer.error_code(), "BadParameter");
    }
    let wrap = client
        .post_json(
            KV_SHARED,
            "/keys/evidence-signing-rsa/wrapKey?api-version=7.6",
            Some(&token),
            &sign_body("RSA-OAEP", &digest),
        )
        .await;
    assert_eq!(wrap.status, 501, "only sign is simulated");

    let stats = sim.stats();
    assert_eq!(stats.by_route.get("kv.keys.sign"), Some(&(1 + 2 + 2 + cases.len() as u64)), "{:?}", stats.by_route);
    sim.shutdown().await;
}

#[tokio::test]
async fn signing_keys_are_the_same_in_every_run_and_differ_per_tenant() {
    let jwk_of = |scenario: Scenario, key: &'static str| async move {
        let (sim, client, scenario) = start(scenario).await;
        let token = client.token(&scenario, "https://vault.azure.net").await;
        let answer = client.get(KV_SHARED, &format!("/keys/{key}?api-version=7.6"), Some(&token)).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        sim.shutdown().await;
        answer.json()["key"].clone()
    };
    let first = jwk_of(Scenario::default_scenario(), "evidence-signing").await;
    let second = jwk_of(Scenario::default_scenario(), "evidence-signing").await;
    assert_eq!(first, second);
    // Pinned: the key is derived from tenant / vault / key / version only, so every process (and every machine)
    // serves this point. A change here changes every signed demo package.
    assert_eq!(first["x"], "ZpykonpYmV_duJjinSxA9Q2XGeGfC-mQ15-kQHxFvaQ");
    ec_verifying_key(&first);
    let rsa_first = jwk_of(Scenario::default_scenario(), "evidence-signing-rsa").await;
    let rsa_second = jwk_of(Scenario::default_scenario(), "evidence-signing-rsa").await;
    assert_eq!(rsa_first["n"], rsa_second["n"]);

    let other_tenant = Scenario::from_toml_str(
        r#"
extends = "default"

[tenant]
id = "0d5c0c53-5b8e-4d32-9b52-2c0e1a3a7f11"
display_name = "Fabrikam"
default_domain = "fabrikam.onmicrosoft.com"
"#,
        "other-tenant.toml",
    )
    .expect("scenario loads");
    let elsewhere = jwk_of(other_tenant, "evidence-signing").await;
    assert_ne!(elsewhere["x"], first["x"], "the tenant is part of the seed");
}

#[tokio::test]
async fn sign_is_refused_for_disabled_versions_missing_permissions_and_key_ops() {
    let scenario = Scenario::from_toml_str(
        r#"
extends = "default"

[[keys]]
vault = "kv-contoso-shared"
name = "verify-only"
kty = "EC"
curve = "P-256"
key_ops = ["verify"]

[[keys.versions]]
created = "2026-01-05T10:00:00Z"

[[keys]]
vault = "kv-contoso-shared"
name = "expired-signing"
kty = "EC"
curve = "P-256"
key_ops = ["sign", "verify"]

[[keys.versions]]
created = "2025-01-05T10:00:00Z"
expires = "2026-01-05T10:00:00Z"
"#,
        "refusals.toml",
    )
    .expect("scenario loads");
    let (sim, client, scenario) = start(scenario).await;
    let token = client.token(&scenario, "https://vault.azure.net").await;
    let digest = sha256(b"manifest");
    let sign = |host: &'static str, path: String| {
        let client = &client;
        let token = &token;
        let body = sign_body("RS256", &digest);
        async move { client.post_json(host, &format!("{path}?api-version=7.6"), Some(token), &body).await }
    };
    let es = |host: &'static str, path: String| {
        let client = &client;
        let token = &token;
        let body = sign_body("ES256", &digest);
        async move { client.post_json(host, &format!("{path}?api-version=7.6"), Some(token), &body).await }
    };
    let inner = |a: &Answer| a.json()["error"]["innererror"]["code"].as_str().unwrap_or_default().to_string();

    // A disabled version refuses to sign, addressed by version or as the latest.
    sim.disable_key_version("kv-contoso-shared", "evidence-signing", EC_SIGNING_VERSION).expect("version exists");
    for path in [format!("/keys/evidence-signing/{EC_SIGNING_VERSION}/sign"), "/keys/evidence-signing/sign".into()] {
        let refused = es(KV_SHARED, path.clone()).await;
        assert_eq!(refused.status, 403, "{path}: {}", refused.text);
        assert_eq!(inner(&refused), "KeyDisabled");
    }
    sim.enable_key_version("kv-contoso-shared", "evidence-signing", EC_SIGNING_VERSION).expect("version exists");
    assert_eq!(es(KV_SHARED, "/keys/evidence-signing/sign".into()).await.status, 200);

    // key_ops without sign, and an expired version.
    let verify_only = es(KV_SHARED, "/keys/verify-only/sign".into()).await;
    assert_eq!(verify_only.status, 403, "{}", verify_only.text);
    assert_eq!(inner(&verify_only), "KeyOperationForbidden");
    let expired = es(KV_SHARED, "/keys/expired-signing/sign".into()).await;
    assert_eq!(expired.status, 403, "{}", expired.text);
    assert_eq!(inner(&expired), "KeyExpired");
    let missing = es(KV_SHARED, "/keys/no-such-key/sign".into()).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), "KeyNotFound");

    // The collector holds Reader and Key Vault Reader on kv-contoso-prod (RBAC): no sign permission, even for a
    // key whose key_ops allow signing (cmk-finance has Key Vault's default operations).
    let rbac = sign(KV_PROD, "/keys/cmk-finance/sign".into()).await;
    assert_eq!(rbac.status, 403, "{}", rbac.text);
    assert_eq!(inner(&rbac), "ForbiddenByRbac");
    assert!(rbac.text.contains("Microsoft.KeyVault/vaults/keys/sign/action"), "{}", rbac.text);
    // kv-contoso-legacy uses access policies; the collector's policy grants get and list only.
    let policy = sign(KV_LEGACY, "/keys/cmk-legacy-app/sign".into()).await;
    assert_eq!(policy.status, 403, "{}", policy.text);
    assert_eq!(inner(&policy), "AccessDenied");
    assert!(policy.text.contains("does not have keys sign permission"), "{}", policy.text);
    sim.shutdown().await;
}

// ---- compute, SQL, containers, apps ----

const KV_APPS_ID: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-apps-prod/providers/Microsoft.KeyVault/vaults/kv-contoso-apps";
const RG_COMPUTE: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-compute-prod";
const DES_PROD_ID: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-compute-prod/providers/Microsoft.Compute/diskEncryptionSets/des-contoso-prod";
const DES_LEGACY_ID: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-legacy/providers/Microsoft.Compute/diskEncryptionSets/des-contoso-legacy";
const SQLMI_PROD_ID: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-sql-prod/providers/Microsoft.Sql/managedInstances/sqlmi-contoso-prod";
const SQLMI_LEGACY_ID: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-legacy/providers/Microsoft.Sql/managedInstances/sqlmi-contoso-legacy";
const SQL_REPORTING_ID: &str = "/subscriptions/8a119b9e-16bc-4732-8f7b-7676d015b0dc/resourceGroups/rg-reporting/providers/Microsoft.Sql/servers/sql-contoso-reporting";
const ACR_PROD_ID: &str = "/subscriptions/8a119b9e-16bc-4732-8f7b-7676d015b0dc/resourceGroups/rg-registry-shared/providers/Microsoft.ContainerRegistry/registries/acrcontosoprod";
const ACI_BATCH_ID: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-batch-prod/providers/Microsoft.ContainerInstance/containerGroups/aci-contoso-batch";
const CAE_ID: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-apps-prod/providers/Microsoft.App/managedEnvironments/cae-contoso-prod";
const ID_SQLMI_PROD: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-identity-prod/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-sqlmi-prod";

fn example_body(path: &str) -> Value {
    example(path)["responses"]["200"]["body"].clone()
}

fn names(items: &[Value]) -> BTreeSet<String> {
    items.iter().map(|i| i["name"].as_str().unwrap_or_default().to_string()).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

/// `ours` has every key `reference` has (except those listed).
fn has_keys_of(ours: &Value, reference: &Value, except: &[&str], what: &str) {
    let missing: Vec<String> =
        keys(reference).difference(&keys(ours)).filter(|k| !except.contains(&k.as_str())).cloned().collect();
    assert!(missing.is_empty(), "{what}: missing {missing:?} in {ours}");
}

struct Arm<'a> {
    client: &'a Client,
    token: String,
}

impl Arm<'_> {
    async fn get(&self, path: &str, api: &str) -> Value {
        let sep = if path.contains('?') { '&' } else { '?' };
        let a = self.client.get(ARM, &format!("{path}{sep}api-version={api}"), Some(&self.token)).await;
        assert_eq!(a.status, 200, "{path}: {}", a.text);
        a.json()
    }

    async fn list(&self, path: &str, api: &str) -> Vec<Value> {
        self.client.list_all(&format!("{path}?api-version={api}"), &self.token).await.0
    }
}

async fn arm<'a>(client: &'a Client, scenario: &Scenario) -> Arm<'a> {
    Arm { client, token: client.token(scenario, "https://management.azure.com").await }
}

#[tokio::test]
async fn disk_encryption_sets_disks_and_vms_match_the_reference_examples() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let arm = arm(&client, &scenario).await;

    let sets = arm
        .list(&format!("/subscriptions/{SUB_PROD}/providers/Microsoft.Compute/diskEncryptionSets"), "2025-01-02")
        .await;
    assert_eq!(names(&sets), set(&["des-contoso-prod", "des-contoso-legacy"]));

    let reference = example_body("compute-diskrp/2025-01-02/DiskEncryptionSet_Get.json");
    let prod = arm.get(DES_PROD_ID, "2025-01-02").await;
    assert_eq!(keys(&prod), keys(&reference));
    has_keys_of(&prod["properties"], &reference["properties"], &[], "DES properties");
    assert_eq!(keys(&prod["properties"]["activeKey"]), keys(&reference["properties"]["activeKey"]));
    let p = &prod["properties"];
    assert_eq!(p["activeKey"]["sourceVault"]["id"], VAULT_PROD_ID);
    assert_eq!(
        p["activeKey"]["keyUrl"],
        "https://kv-contoso-prod.vault.azure.net/keys/cmk-disk-prod/f5d3d9972d09123a0310dcbfbd3915df"
    );
    assert_eq!(p["encryptionType"], "EncryptionAtRestWithCustomerKey");
    assert_eq!(p["rotationToLatestKeyVersionEnabled"], true);
    assert_eq!(p["lastKeyRotationTimestamp"], "2026-08-29T06:41:12.5530021Z");
    assert_eq!(p["previousKeys"], serde_json::json!([]));
    assert!(p.get("autoKeyRotationError").is_none());
    assert_eq!(prod["identity"]["type"], "SystemAssigned");
    assert_eq!(prod["identity"]["principalId"], "bc5e4788-989b-40f6-9704-a802dec8938b");

    let reference = example_body("compute-diskrp/2025-01-02/DiskEncryptionSet_Get_WithAutoKeyRotationError.json");
    let legacy = arm.get(DES_LEGACY_ID, "2025-01-02").await;
    assert_eq!(keys(&legacy["properties"]), keys(&reference["properties"]), "same properties as Microsoft's example");
    let p = &legacy["properties"];
    assert!(p["activeKey"]["keyUrl"].as_str().unwrap().ends_with("/cmk-disk-legacy/77531d2938f63f3811cba370eda8deaf"));
    assert_eq!(p["rotationToLatestKeyVersionEnabled"], false);
    assert_eq!(p["autoKeyRotationError"]["code"], "ManagedServiceIdentityNotFound");
    assert!(p["autoKeyRotationError"]["message"].as_str().unwrap().contains("'des-contoso-legacy' was not found"));
    assert_eq!(legacy["identity"]["type"], "UserAssigned");
    let ua = legacy["identity"]["userAssignedIdentities"].as_object().cloned().unwrap_or_default();
    let (id, entry) = ua.iter().next().expect("one identity");
    assert!(id.ends_with("/id-des-legacy"));
    assert_eq!(entry["clientId"], "ae4407f3-d7cf-4fc3-a040-6bcae31c69d5");

    let disks = arm.list(&format!("/subscriptions/{SUB_PROD}/providers/Microsoft.Compute/disks"), "2025-01-02").await;
    assert_eq!(
        names(&disks),
        set(&[
            "vm-contoso-app01-osdisk",
            "vm-contoso-app01-data01",
            "disk-contoso-scratch01",
            "disk-contoso-legacy-ade01",
            "disk-contoso-legacy-data01",
        ])
    );
    let by_name = |name: &str| disks.iter().find(|d| d["name"] == name).cloned().expect(name);
    let reference = example_body("compute-diskrp/2025-01-02/Disk_Get.json");
    let os = by_name("vm-contoso-app01-osdisk");
    has_keys_of(&os, &reference, &[], "attached disk");
    assert_eq!(os["properties"]["encryption"]["type"], "EncryptionAtRestWithCustomerKey");
    assert_eq!(os["properties"]["encryption"]["diskEncryptionSetId"], DES_PROD_ID);
    assert_eq!(os["managedBy"], format!("{RG_COMPUTE}/providers/Microsoft.Compute/virtualMachines/vm-contoso-app01"));
    assert_eq!(os["properties"]["diskState"], "Attached");
    assert_eq!(os["properties"]["osType"], "Linux");
    assert_eq!(os["properties"]["diskSizeGB"], 64);
    assert_eq!(os["sku"]["name"], "Premium_LRS");
    let scratch = by_name("disk-contoso-scratch01");
    assert_eq!(scratch["properties"]["encryption"], serde_json::json!({ "type": "EncryptionAtRestWithPlatformKey" }));
    assert_eq!(scratch["properties"]["diskState"], "Unattached");
    assert!(scratch.get("managedBy").is_none());
    assert!(scratch["properties"].get("encryptionSettingsCollection").is_none());
    let ade = by_name("disk-contoso-legacy-ade01");
    assert_eq!(ade["properties"]["encryption"]["type"], "EncryptionAtRestWithPlatformKey");
    let esc = &ade["properties"]["encryptionSettingsCollection"];
    let reference_esc = &reference["properties"]["encryptionSettingsCollection"];
    assert_eq!(esc["enabled"], true);
    assert_eq!(keys(&esc["encryptionSettings"][0]), keys(&reference_esc["encryptionSettings"][0]));
    let setting = &esc["encryptionSettings"][0];
    assert!(
        setting["diskEncryptionKey"]["secretUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://kv-contoso-legacy.vault.azure.net/secrets/bek-legacy-ade01/")
    );
    assert_eq!(
        setting["keyEncryptionKey"]["keyUrl"],
        "https://kv-contoso-legacy.vault.azure.net/keys/ade-kek-legacy/075b0340ec406f72fe7e55f7d05b3871"
    );
    assert!(setting["keyEncryptionKey"]["sourceVault"]["id"].as_str().unwrap().ends_with("/vaults/kv-contoso-legacy"));
    assert_eq!(by_name("disk-contoso-legacy-data01")["properties"]["encryption"]["diskEncryptionSetId"], DES_LEGACY_ID);

    let vms =
        arm.list(&format!("/subscriptions/{SUB_PROD}/providers/Microsoft.Compute/virtualMachines"), "2025-04-01").await;
    assert_eq!(names(&vms), set(&["vm-contoso-app01"]));
    let vm = arm
        .get(&format!("{RG_COMPUTE}/providers/Microsoft.Compute/virtualMachines/vm-contoso-app01"), "2025-04-01")
        .await;
    let reference = example_body("compute-vm/2025-04-01/VirtualMachine_Create_WithDiskEncryptionSetResource.json");
    let storage = &vm["properties"]["storageProfile"];
    let reference_storage = &reference["properties"]["storageProfile"];
    assert_eq!(keys(&storage["dataDisks"][0]["managedDisk"]), keys(&reference_storage["dataDisks"][1]["managedDisk"]));
    has_keys_of(&storage["osDisk"], &reference_storage["osDisk"], &[], "osDisk");
    assert_eq!(storage["osDisk"]["managedDisk"]["diskEncryptionSet"]["id"], DES_PROD_ID);
    assert!(storage["osDisk"]["managedDisk"]["id"].as_str().unwrap().ends_with("/disks/vm-contoso-app01-osdisk"));
    assert_eq!(storage["dataDisks"][0]["lun"], 0);
    assert_eq!(storage["dataDisks"][0]["managedDisk"]["diskEncryptionSet"]["id"], DES_PROD_ID);
    assert!(storage["dataDisks"][0]["managedDisk"]["id"].as_str().unwrap().ends_with("/disks/vm-contoso-app01-data01"));
    assert_eq!(vm["properties"]["securityProfile"]["encryptionAtHost"], true);
    assert_eq!(vm["properties"]["hardwareProfile"]["vmSize"], "Standard_D4s_v5");

    let stats = sim.stats();
    for route in
        ["arm.diskEncryptionSets.list", "arm.diskEncryptionSets.get", "arm.disks.list", "arm.virtualMachines.get"]
    {
        assert!(stats.by_route.contains_key(route), "{route}: {:?}", stats.by_route);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn aks_and_sql_match_the_reference_examples() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let arm = arm(&client, &scenario).await;

    let clusters = arm
        .list(&format!("/subscriptions/{SUB_PROD}/providers/Microsoft.ContainerService/managedClusters"), "2025-10-01")
        .await;
    assert_eq!(names(&clusters), set(&["aks-contoso-prod"]));
    let aks = &clusters[0];
    let reference = example_body("containerservice/2025-10-01/ManagedClustersGet.json");
    has_keys_of(
        &aks["properties"],
        &reference["properties"],
        &[
            "azurePortalFQDN",
            "linuxProfile",
            "maxAgentPools",
            "networkProfile",
            "servicePrincipalProfile",
            "upgradeSettings",
        ],
        "AKS properties",
    );
    let p = &aks["properties"];
    assert_eq!(p["diskEncryptionSetID"], DES_PROD_ID);
    assert_eq!(p["kubernetesVersion"], "1.33.3");
    let pools = p["agentPoolProfiles"].as_array().cloned().unwrap_or_default();
    assert_eq!(names(&pools), set(&["system", "user"]));
    let pool = |n: &str| pools.iter().find(|x| x["name"] == n).cloned().unwrap();
    assert!(pool("system").get("enableEncryptionAtHost").is_none(), "absent, not false");
    assert_eq!(pool("user")["enableEncryptionAtHost"], true);
    let kms = &p["securityProfile"]["azureKeyVaultKms"];
    assert_eq!(kms["enabled"], true);
    assert_eq!(
        kms["keyId"],
        "https://kv-contoso-prod.vault.azure.net/keys/kms-aks-prod/309c663be79336a5c76d4b7d0ed95215"
    );
    assert_eq!(kms["keyVaultNetworkAccess"], "Public");
    assert_eq!(aks["identity"]["type"], "UserAssigned");
    assert!(keys(&aks["identity"]["userAssignedIdentities"]).iter().any(|k| k.ends_with("/id-aks-prod-control")));
    let got = arm.get(aks["id"].as_str().unwrap(), "2025-10-01").await;
    assert_eq!(&got, aks);

    // SQL: managed instances and servers.
    let instances =
        arm.list(&format!("/subscriptions/{SUB_PROD}/providers/Microsoft.Sql/managedInstances"), "2023-08-01").await;
    assert_eq!(names(&instances), set(&["sqlmi-contoso-prod", "sqlmi-contoso-legacy"]));
    let servers = arm.list(&format!("/subscriptions/{SUB_SHARED}/providers/Microsoft.Sql/servers"), "2023-08-01").await;
    assert_eq!(names(&servers), set(&["sql-contoso-reporting"]));

    let mi = arm.get(SQLMI_PROD_ID, "2023-08-01").await;
    has_keys_of(&mi, &example_body("sql/2023-08-01/ManagedInstanceGet.json"), &[], "MI");
    assert_eq!(mi["properties"]["primaryUserAssignedIdentityId"], ID_SQLMI_PROD);
    assert_eq!(
        mi["properties"]["keyId"],
        "https://kv-contoso-prod.vault.azure.net/keys/tde-sqlmi-prod/1ea14c3faabf146f7e3633c50e858f6a"
    );
    assert_eq!(mi["identity"]["type"], "UserAssigned");

    let reference = example_body("sql/2023-08-01/ManagedInstanceEncryptionProtectorGet.json");
    let protector = arm.get(&format!("{SQLMI_PROD_ID}/encryptionProtector/current"), "2023-08-01").await;
    assert_eq!(keys(&protector), keys(&reference));
    has_keys_of(&protector["properties"], &reference["properties"], &[], "protector");
    assert_eq!(protector["type"], "Microsoft.Sql/managedInstances/encryptionProtector");
    assert_eq!(protector["kind"], "azurekeyvault");
    let pp = &protector["properties"];
    assert_eq!(pp["serverKeyType"], "AzureKeyVault");
    assert_eq!(pp["serverKeyName"], "kv-contoso-prod_tde-sqlmi-prod_1ea14c3faabf146f7e3633c50e858f6a");
    assert_eq!(pp["uri"], mi["properties"]["keyId"]);
    assert_eq!(pp["autoRotationEnabled"], true);
    assert_eq!(pp["thumbprint"].as_str().map(str::len), Some(40));
    let listed = arm.list(&format!("{SQLMI_PROD_ID}/encryptionProtector"), "2023-08-01").await;
    assert_eq!(listed, vec![protector.clone()]);
    let server_keys = arm.list(&format!("{SQLMI_PROD_ID}/keys"), "2023-08-01").await;
    assert_eq!(
        names(&server_keys),
        set(&["ServiceManaged", "kv-contoso-prod_tde-sqlmi-prod_1ea14c3faabf146f7e3633c50e858f6a"])
    );
    let reference_keys = example_body("sql/2023-08-01/ManagedInstanceKeyList.json");
    for key in &server_keys {
        let kind = key["kind"].as_str().unwrap();
        let reference = reference_keys["value"].as_array().unwrap().iter().find(|k| k["kind"] == kind).unwrap();
        assert_eq!(keys(key), keys(reference), "{key}");
        has_keys_of(&key["properties"], &reference["properties"], &[], "server key");
    }

    let legacy = arm.get(&format!("{SQLMI_LEGACY_ID}/encryptionProtector/current"), "2023-08-01").await;
    assert_eq!(legacy["properties"]["autoRotationEnabled"], false);
    assert!(
        legacy["properties"]["uri"].as_str().unwrap().ends_with("/tde-sqlmi-legacy/6651076d782f2415b751571c71445410")
    );
    let legacy_mi = arm.get(SQLMI_LEGACY_ID, "2023-08-01").await;
    assert_eq!(legacy_mi["identity"]["type"], "SystemAssigned");
    assert_eq!(legacy_mi["identity"]["principalId"], "edb0d921-003a-441d-b746-c5ecc9766e4b");
    assert!(legacy_mi["properties"].get("primaryUserAssignedIdentityId").is_none());

    let server = arm.get(SQL_REPORTING_ID, "2023-08-01").await;
    assert_eq!(keys(&server), keys(&example_body("sql/2023-08-01/ServerGet.json")));
    assert!(server["properties"].get("keyId").is_none());
    let sm = arm.get(&format!("{SQL_REPORTING_ID}/encryptionProtector/current"), "2023-08-01").await;
    assert_eq!(keys(&sm), keys(&example_body("sql/2023-08-01/EncryptionProtectorGet.json")));
    assert_eq!(sm["kind"], "servicemanaged");
    assert_eq!(sm["properties"]["serverKeyType"], "ServiceManaged");
    assert_eq!(sm["properties"]["serverKeyName"], "ServiceManaged");
    assert!(sm["properties"].get("uri").is_none());
    let missing = client
        .get(ARM, &format!("{SQL_REPORTING_ID}/encryptionProtector/other?api-version=2023-08-01"), Some(&arm.token))
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), "ResourceNotFound");

    let stats = sim.stats();
    for route in [
        "arm.managedClusters.list",
        "arm.managedClusters.get",
        "arm.managedInstances.list",
        "arm.sqlServers.list",
        "arm.encryptionProtector.get",
        "arm.encryptionProtector.list",
        "arm.serverKeys.list",
    ] {
        assert!(stats.by_route.contains_key(route), "{route}: {:?}", stats.by_route);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn registries_container_groups_container_apps_and_sites_match_the_reference_examples() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let arm = arm(&client, &scenario).await;

    let reference = example_body("containerregistry/2025-04-01/RegistryGet.json");
    let acr = arm.get(ACR_PROD_ID, "2025-04-01").await;
    has_keys_of(&acr, &reference, &[], "registry");
    has_keys_of(&acr["properties"], &reference["properties"], &["status"], "registry properties");
    assert_eq!(acr["sku"], serde_json::json!({ "name": "Premium", "tier": "Premium" }));
    let enc = &acr["properties"]["encryption"];
    assert_eq!(enc["status"], "enabled");
    let kv = &enc["keyVaultProperties"];
    assert_eq!(kv["keyIdentifier"], "https://kv-contoso-apps.vault.azure.net/keys/cmk-acr-prod");
    assert_eq!(
        kv["versionedKeyIdentifier"],
        "https://kv-contoso-apps.vault.azure.net/keys/cmk-acr-prod/39c0f1e55923c7a6a0c53d0bbb9bc03a"
    );
    assert_eq!(kv["identity"], "b8098bd0-c213-4193-b572-fa846dc6a35d", "ACR names the identity by client id");
    assert_eq!(kv["keyRotationEnabled"], true);
    assert_eq!(kv["lastKeyRotationTimestamp"], "2026-08-09T07:41:03.0012345Z");
    let dev = arm
        .list(&format!("/subscriptions/{SUB_PROD}/providers/Microsoft.ContainerRegistry/registries"), "2025-04-01")
        .await;
    assert_eq!(names(&dev), set(&["acrcontosodev"]));
    assert_eq!(dev[0]["properties"]["encryption"], reference["properties"]["encryption"]);
    assert_eq!(dev[0]["sku"]["name"], "Basic");
    assert!(dev[0].get("identity").is_none());

    let groups = arm
        .list(&format!("/subscriptions/{SUB_PROD}/providers/Microsoft.ContainerInstance/containerGroups"), "2025-09-01")
        .await;
    assert_eq!(names(&groups), set(&["aci-contoso-batch", "aci-contoso-hsm"]));
    let reference = example_body("containerinstance/2022-09-01/ContainerGroupEncryptionProperties.json");
    let batch = arm.get(ACI_BATCH_ID, "2025-09-01").await;
    assert_eq!(keys(&batch), keys(&reference).union(&set(&["tags"])).cloned().collect());
    assert_eq!(keys(&batch["identity"]), keys(&reference["identity"]));
    has_keys_of(&batch["properties"], &reference["properties"], &[], "container group properties");
    let ep = &batch["properties"]["encryptionProperties"];
    assert_eq!(keys(ep), keys(&reference["properties"]["encryptionProperties"]));
    assert_eq!(ep["vaultBaseUrl"], "https://kv-contoso-apps.vault.azure.net/");
    assert_eq!(ep["keyName"], "cmk-aci-batch");
    assert_eq!(ep["keyVersion"], "9389f81084d963df46ea52965cb95975");
    assert_eq!(
        ep["identity"],
        "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourcegroups/rg-identity-prod/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-aci-batch"
    );
    assert_eq!(batch["properties"]["sku"], "Standard");
    assert_eq!(batch["properties"]["osType"], "Linux");
    let hsm = groups.iter().find(|g| g["name"] == "aci-contoso-hsm").unwrap();
    assert_eq!(
        hsm["properties"]["encryptionProperties"]["vaultBaseUrl"],
        "https://mhsm-contoso-prod.managedhsm.azure.net/"
    );
    assert_eq!(hsm["properties"]["encryptionProperties"]["keyVersion"], "4266896fc057d989a01633988acd4a1d");

    let envs =
        arm.list(&format!("/subscriptions/{SUB_PROD}/providers/Microsoft.App/managedEnvironments"), "2025-07-01").await;
    assert_eq!(names(&envs), set(&["cae-contoso-prod"]));
    has_keys_of(&envs[0], &example_body("app/2025-07-01/ManagedEnvironments_Get.json"), &[], "environment");
    let certs = arm.list(&format!("{CAE_ID}/certificates"), "2025-07-01").await;
    assert_eq!(names(&certs), set(&["portal-contoso-com", "legacy-upload"]));
    let reference = example_body("app/2025-07-01/Certificate_CreateOrUpdate_FromKeyVault.json");
    let portal = certs.iter().find(|c| c["name"] == "portal-contoso-com").unwrap();
    has_keys_of(portal, &reference, &[], "certificate");
    has_keys_of(&portal["properties"], &reference["properties"], &[], "certificate properties");
    assert_eq!(portal["type"], reference["type"]);
    let kvp = &portal["properties"]["certificateKeyVaultProperties"];
    assert_eq!(kvp["keyVaultUrl"], "https://kv-contoso-apps.vault.azure.net/certificates/portal-contoso-com");
    assert_eq!(
        kvp["identity"],
        "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourcegroups/rg-identity-prod/providers/microsoft.managedidentity/userassignedidentities/id-cae-prod"
    );
    let upload = certs.iter().find(|c| c["name"] == "legacy-upload").unwrap();
    assert!(upload["properties"].get("certificateKeyVaultProperties").is_none());
    let one = arm.get(&format!("{CAE_ID}/certificates/portal-contoso-com"), "2025-07-01").await;
    assert_eq!(&one, portal);

    let apps =
        arm.list(&format!("/subscriptions/{SUB_PROD}/providers/Microsoft.App/containerApps"), "2025-07-01").await;
    assert_eq!(names(&apps), set(&["ca-contoso-api"]));
    let app = &apps[0];
    has_keys_of(app, &example_body("app/2025-07-01/ContainerApps_Get.json"), &[], "container app");
    assert_eq!(app["properties"]["managedEnvironmentId"], CAE_ID);
    assert_eq!(
        app["properties"]["configuration"]["secrets"],
        serde_json::json!([
            {
                "name": "db-connection",
                "keyVaultUrl": "https://kv-contoso-apps.vault.azure.net/secrets/api-db-connection",
                "identity": "system",
            },
            { "name": "feature-flags" },
        ])
    );
    assert!(!serde_json::to_string(app).unwrap().contains("\"value\""), "no secret value is ever served");

    let sites = arm.list(&format!("/subscriptions/{SUB_PROD}/providers/Microsoft.Web/sites"), "2024-04-01").await;
    assert_eq!(names(&sites), set(&["app-contoso-portal", "func-contoso-jobs"]));
    let func = sites.iter().find(|s| s["name"] == "func-contoso-jobs").unwrap();
    assert_eq!(func["kind"], "functionapp,linux");
    assert_eq!(func["properties"]["state"], "Running");

    // The identities reaching kv-contoso-apps keys hold the crypto role (at the vault, or below it at the key).
    let assignments =
        arm.get(&format!("{KV_APPS_ID}/providers/Microsoft.Authorization/roleAssignments"), "2022-04-01").await;
    let crypto: BTreeSet<String> = assignments["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["properties"]["roleDefinitionId"].as_str().unwrap().ends_with(CRYPTO_USER))
        .map(|a| a["properties"]["principalId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(crypto, set(&["1dd4030d-715b-4899-99e5-398c485d8f54", "5cecbc65-90cf-4d61-9e29-c9be39bf2b6d"]));
    let stats = sim.stats();
    for route in [
        "arm.registries.get",
        "arm.registries.list",
        "arm.containerGroups.list",
        "arm.containerGroups.get",
        "arm.managedEnvironments.list",
        "arm.certificates.list",
        "arm.certificates.get",
        "arm.containerApps.list",
        "arm.sites.list",
    ] {
        assert!(stats.by_route.contains_key(route), "{route}: {:?}", stats.by_route);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn generic_resource_list_includes_every_service_resource() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let arm = arm(&client, &scenario).await;
    let mut all = arm.list(&format!("/subscriptions/{SUB_PROD}/resources"), "2021-04-01").await;
    all.extend(arm.list(&format!("/subscriptions/{SUB_SHARED}/resources"), "2021-04-01").await);
    let by_type = |ty: &str| -> BTreeSet<String> {
        all.iter()
            .filter(|r| r["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(ty)))
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(by_type("Microsoft.Compute/diskEncryptionSets"), set(&["des-contoso-prod", "des-contoso-legacy"]));
    assert_eq!(by_type("Microsoft.Compute/disks").len(), 5);
    assert_eq!(by_type("Microsoft.Compute/virtualMachines"), set(&["vm-contoso-app01"]));
    assert_eq!(by_type("Microsoft.ContainerService/managedClusters"), set(&["aks-contoso-prod"]));
    assert_eq!(by_type("Microsoft.Sql/managedInstances"), set(&["sqlmi-contoso-prod", "sqlmi-contoso-legacy"]));
    assert_eq!(by_type("Microsoft.Sql/servers"), set(&["sql-contoso-reporting"]));
    assert_eq!(by_type("Microsoft.ContainerRegistry/registries"), set(&["acrcontosoprod", "acrcontosodev"]));
    assert_eq!(by_type("Microsoft.ContainerInstance/containerGroups"), set(&["aci-contoso-batch", "aci-contoso-hsm"]));
    assert_eq!(by_type("Microsoft.App/managedEnvironments"), set(&["cae-contoso-prod"]));
    assert_eq!(by_type("Microsoft.App/containerApps"), set(&["ca-contoso-api"]));
    assert_eq!(by_type("Microsoft.Web/sites"), set(&["app-contoso-portal", "func-contoso-jobs"]));
    assert_eq!(by_type("Microsoft.Web/serverFarms"), set(&["asp-contoso-portal"]));
    let ids: BTreeSet<String> = all.iter().map(|r| r["id"].as_str().unwrap().to_ascii_lowercase()).collect();
    assert_eq!(ids.len(), all.len(), "no resource listed twice");
    for r in &all {
        for field in ["id", "name", "type", "location"] {
            assert!(r[field].is_string(), "{field} in {r}");
        }
        assert!(r.get("properties").is_none(), "generic form only: {r}");
    }
    let acr = all.iter().find(|r| r["name"] == "acrcontosoprod").unwrap();
    assert_eq!(acr["sku"]["name"], "Premium");
    let site = all.iter().find(|r| r["name"] == "app-contoso-portal").unwrap();
    assert_eq!(site["kind"], "app,linux");
    let os = all.iter().find(|r| r["name"] == "vm-contoso-app01-osdisk").unwrap();
    assert!(os["managedBy"].as_str().unwrap().ends_with("/vm-contoso-app01"));

    // Resource groups implied by the new resources exist.
    let group = client.get(ARM, &format!("{RG_COMPUTE}?api-version=2021-04-01"), Some(&arm.token)).await;
    assert_eq!(group.status, 200, "{}", group.text);
    sim.shutdown().await;
}

#[tokio::test]
async fn denied_subscription_answers_403_for_every_service_list() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let token = client.token(&scenario, "https://management.azure.com").await;
    for ty in [
        "Microsoft.Compute/diskEncryptionSets",
        "Microsoft.Compute/disks",
        "Microsoft.Compute/virtualMachines",
        "Microsoft.ContainerService/managedClusters",
        "Microsoft.Sql/servers",
        "Microsoft.Sql/managedInstances",
        "Microsoft.ContainerRegistry/registries",
        "Microsoft.ContainerInstance/containerGroups",
        "Microsoft.App/managedEnvironments",
        "Microsoft.App/containerApps",
        "Microsoft.Web/sites",
    ] {
        let a = client
            .get(ARM, &format!("/subscriptions/{SUB_SANDBOX}/providers/{ty}?api-version=2025-01-01"), Some(&token))
            .await;
        assert_eq!(a.status, 403, "{ty}");
        assert_eq!(a.error_code(), "AuthorizationFailed");
        assert!(a.json()["error"]["message"].as_str().unwrap().contains(&format!("'{ty}/read'")), "{}", a.text);
    }
    let no_version = client.get(ARM, DES_PROD_ID, Some(&token)).await;
    assert_eq!(no_version.status, 400);
    assert_eq!(no_version.error_code(), "MissingApiVersionParameter");
    sim.shutdown().await;
}

#[tokio::test]
async fn rotation_moves_follow_latest_des_acr_and_sql_but_not_pinned_resources() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let arm = arm(&client, &scenario).await;
    let rotated = |key: &str| {
        sim.rotate_key(
            if key.starts_with("cmk-acr") || key.starts_with("cmk-aci") {
                "kv-contoso-apps"
            } else {
                "kv-contoso-prod"
            },
            key,
        )
        .unwrap()
    };
    // The default scenario adopts at once (adoption_delay = PT0S).
    let disk = rotated("cmk-disk-prod");
    let disk_legacy = rotated("cmk-disk-legacy");
    let tde = rotated("tde-sqlmi-prod");
    let tde_legacy = rotated("tde-sqlmi-legacy");
    let acr_key = rotated("cmk-acr-prod");
    let aci_key = rotated("cmk-aci-batch");
    let kms = rotated("kms-aks-prod");

    let des = arm.get(DES_PROD_ID, "2025-01-02").await;
    assert!(des["properties"]["activeKey"]["keyUrl"].as_str().unwrap().ends_with(&format!("/cmk-disk-prod/{disk}")));
    assert_eq!(des["properties"]["lastKeyRotationTimestamp"], "2026-11-23T10:15:00.0000000Z");
    let legacy = arm.get(DES_LEGACY_ID, "2025-01-02").await;
    assert!(!legacy["properties"]["activeKey"]["keyUrl"].as_str().unwrap().ends_with(&disk_legacy));

    let protector = arm.get(&format!("{SQLMI_PROD_ID}/encryptionProtector/current"), "2023-08-01").await;
    assert!(protector["properties"]["uri"].as_str().unwrap().ends_with(&format!("/tde-sqlmi-prod/{tde}")));
    assert_eq!(protector["properties"]["serverKeyName"], format!("kv-contoso-prod_tde-sqlmi-prod_{tde}"));
    let server_keys = arm.list(&format!("{SQLMI_PROD_ID}/keys"), "2023-08-01").await;
    assert_eq!(server_keys.len(), 3, "service-managed, the previous and the new key");
    let legacy_protector = arm.get(&format!("{SQLMI_LEGACY_ID}/encryptionProtector/current"), "2023-08-01").await;
    assert!(!legacy_protector["properties"]["uri"].as_str().unwrap().ends_with(&tde_legacy));

    // The registry's key has its own adoption delay (PT6H, for the drill).
    let acr = arm.get(ACR_PROD_ID, "2025-04-01").await;
    let kv = &acr["properties"]["encryption"]["keyVaultProperties"];
    assert!(!kv["versionedKeyIdentifier"].as_str().unwrap().ends_with(&acr_key));
    sim.advance_clock(time::Duration::hours(6));
    let acr = arm.get(ACR_PROD_ID, "2025-04-01").await;
    let kv = &acr["properties"]["encryption"]["keyVaultProperties"];
    assert!(kv["versionedKeyIdentifier"].as_str().unwrap().ends_with(&acr_key));
    assert_eq!(kv["keyIdentifier"], "https://kv-contoso-apps.vault.azure.net/keys/cmk-acr-prod");

    let aci = arm.get(ACI_BATCH_ID, "2025-09-01").await;
    assert_ne!(aci["properties"]["encryptionProperties"]["keyVersion"], aci_key.as_str());
    let aks = arm
        .list(&format!("/subscriptions/{SUB_PROD}/providers/Microsoft.ContainerService/managedClusters"), "2025-10-01")
        .await;
    assert!(!aks[0]["properties"]["securityProfile"]["azureKeyVaultKms"]["keyId"].as_str().unwrap().ends_with(&kms));
    sim.shutdown().await;
}

// ---- raw resources ----

#[tokio::test]
async fn raw_resources_are_served_verbatim_at_get_in_lists_child_lists_and_resources() {
    let mut scenario = Scenario::default_scenario();
    let server = example_body("sql/2023-08-01/ServerGet.json");
    let protector = example_body("sql/2023-08-01/EncryptionProtectorGet.json");
    let keys_page = example_body("sql/2023-08-01/ServerKeyList.json");
    let des = example_body("compute-diskrp/2025-01-02/DiskEncryptionSet_Get.json");
    scenario.add_raw_resource(server.clone()).unwrap();
    scenario.add_raw_resource(protector.clone()).unwrap();
    for key in keys_page["value"].as_array().unwrap() {
        scenario.add_raw_resource(key.clone()).unwrap();
    }
    scenario.add_raw_resource(des.clone()).unwrap();
    let again = scenario.add_raw_resource(server.clone()).unwrap_err().to_string();
    assert!(again.contains("already served"), "{again}");
    let typed_twice = scenario
        .add_raw_resource(serde_json::json!({ "id": DES_PROD_ID, "type": "Microsoft.Compute/diskEncryptionSets" }))
        .unwrap_err()
        .to_string();
    assert!(typed_twice.contains("already served"), "{typed_twice}");
    // Without `type` (Microsoft's create examples) the id says where it is served; a non-string type is refused.
    let untyped =
        scenario.add_raw_resource(serde_json::json!({ "id": "/subscriptions/x/resourceGroups/r/providers/A.B/c/d" }));
    assert!(untyped.is_ok(), "{untyped:?}");
    let odd_type = scenario.add_raw_resource(
        serde_json::json!({ "id": "/subscriptions/x/resourceGroups/r/providers/A.B/c/e", "type": 7 }),
    );
    assert!(odd_type.unwrap_err().to_string().contains("'type'"));
    let no_id = scenario.add_raw_resource(serde_json::json!({ "name": "n", "type": "A.B/c" }));
    assert!(no_id.unwrap_err().to_string().contains("'id'"));
    assert!(scenario.subscription_ids().contains(&"00000000-1111-2222-3333-444444444444".to_string()));

    let (sim, client, scenario) = start(scenario).await;
    let arm = arm(&client, &scenario).await;
    let server_id = server["id"].as_str().unwrap();
    assert_eq!(arm.get(server_id, "2023-08-01").await, server);
    assert_eq!(
        arm.get(&server_id.to_ascii_uppercase().replace("SUBSCRIPTIONS", "subscriptions"), "2099-01-01").await,
        server,
        "any case, any api-version"
    );
    assert_eq!(arm.get(protector["id"].as_str().unwrap(), "2023-08-01").await, protector);
    assert_eq!(
        arm.list("/subscriptions/00000000-1111-2222-3333-444444444444/providers/Microsoft.Sql/servers", "2023-08-01")
            .await,
        vec![server.clone()]
    );
    assert_eq!(
        arm.list("/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/sqlcrudtest-7398/providers/Microsoft.Sql/servers", "2023-08-01").await,
        vec![server.clone()]
    );
    assert_eq!(arm.list(&format!("{server_id}/encryptionProtector"), "2023-08-01").await, vec![protector.clone()]);
    let listed_keys = arm.list(&format!("{server_id}/keys"), "2023-08-01").await;
    assert_eq!(listed_keys.len(), 3);
    for key in keys_page["value"].as_array().unwrap() {
        assert!(listed_keys.contains(key), "{key}");
    }
    let resources = arm.list("/subscriptions/00000000-1111-2222-3333-444444444444/resources", "2021-04-01").await;
    assert_eq!(resources.len(), 1, "child resources are not in the generic list: {resources:?}");
    assert_eq!(resources[0]["id"], server["id"]);
    assert_eq!(resources[0]["kind"], "v12.0");
    assert!(resources[0].get("properties").is_none());

    // A document whose id keeps Microsoft's {subscriptionId} placeholder is still served.
    let des_id = des["id"].as_str().unwrap();
    assert_eq!(arm.get(des_id, "2025-01-02").await, des);
    let des_list =
        arm.list("/subscriptions/{subscriptionId}/providers/Microsoft.Compute/diskEncryptionSets", "2025-01-02").await;
    assert_eq!(des_list, vec![des.clone()]);
    let subs = arm.list("/subscriptions", "2022-12-01").await;
    assert!(subs.iter().any(|s| s["subscriptionId"] == "00000000-1111-2222-3333-444444444444"));
    sim.shutdown().await;
}

#[test]
fn raw_resource_files_load_relative_to_the_scenario_file_and_not_in_builtins() {
    let dir = std::env::temp_dir().join(format!("azure-sim-raw-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("docs")).expect("temp dir");
    let example_path = format!(
        "{}/../../testdata/arm-examples/compute-diskrp/2025-01-02/DiskEncryptionSet_ListBySubscription.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::copy(&example_path, dir.join("docs/des.json")).expect("copy example");
    let text = "extends = \"default\"\n\n[[raw_resources]]\npath = \"docs/des.json\"\n";
    let path = dir.join("raw.toml");
    std::fs::write(&path, text).expect("write");
    let s = Scenario::from_path(&path).unwrap();
    assert!(s.subscription_ids().contains(&"{subscriptionId}".to_string()));

    let err = Scenario::from_toml_str(text, "inline.toml").unwrap_err().to_string();
    assert!(err.contains("inline.toml") && err.contains("line 3") && err.contains("relative path"), "{err}");
    let missing = text.replace("docs/des.json", "docs/absent.json");
    std::fs::write(&path, &missing).expect("write");
    let err = Scenario::from_path(&path).unwrap_err().to_string();
    assert!(err.contains("absent.json"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- drills ----

const ST_PROD01_ID: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-data-prod/providers/Microsoft.Storage/storageAccounts/stcontosoprod01";
const ST_PROD02_ID: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-data-prod/providers/Microsoft.Storage/storageAccounts/stcontosoprod02";
const ST_DATALAKE_ID: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-analytics/providers/Microsoft.Storage/storageAccounts/stcontosodatalake";
const VAULT_LEGACY_ID: &str = "/subscriptions/2c63888f-28f0-4481-be6d-dce7a7ace732/resourceGroups/rg-legacy/providers/Microsoft.KeyVault/vaults/kv-contoso-legacy";

/// The version id at the end of a key URL.
fn version_of(url: &Value) -> String {
    url.as_str().and_then(|u| u.rsplit('/').next()).unwrap_or_default().to_string()
}

#[tokio::test]
async fn the_default_drill_changes_what_is_served() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let arm = arm(&client, &scenario).await;
    let storage_version = |account: Value| {
        version_of(&account["properties"]["encryption"]["keyvaultproperties"]["currentVersionedKeyIdentifier"])
    };
    let datalake_before = storage_version(arm.get(ST_DATALAKE_ID, "2025-06-01").await);
    let acr_before = version_of(
        &arm.get(ACR_PROD_ID, "2025-04-01").await["properties"]["encryption"]["keyVaultProperties"]["versionedKeyIdentifier"],
    );

    let mut lines = Vec::new();
    for step in scenario.drill() {
        let line = sim.apply_drill_step(step).unwrap_or_else(|e| panic!("{step}: {e}"));
        println!("{step}\n  -> {line}");
        lines.push(line);
    }
    assert_eq!(lines.len(), 8);
    let new_version = |line: &str| line.split("new version ").nth(1).unwrap()[..32].to_string();
    let storage_key = new_version(&lines[0]);
    let datalake_key = new_version(&lines[1]);
    let disk_key = new_version(&lines[2]);
    let tde_key = new_version(&lines[3]);
    let acr_key = new_version(&lines[4]);
    assert!(lines[0].contains("adopted at once by stcontosoprod01"), "{}", lines[0]);
    assert!(lines[5].ends_with("; stcontosofinance01 stays on its version"), "{}", lines[5]);
    assert!(lines[6].contains("to 2026-11-23T13:15:00Z"), "{}", lines[6]);
    assert!(lines[7].contains("in use by stcontosoprod02"), "{}", lines[7]);

    assert_eq!(storage_version(arm.get(ST_PROD01_ID, "2025-06-01").await), storage_key);
    assert_eq!(storage_version(arm.get(ST_PROD02_ID, "2025-06-01").await), "9531985d5d9dc9f81818e811892f902b");
    assert_eq!(storage_version(arm.get(ST_DATALAKE_ID, "2025-06-01").await), datalake_before);
    assert_ne!(datalake_before, datalake_key);
    let des = arm.get(DES_PROD_ID, "2025-01-02").await;
    assert_eq!(version_of(&des["properties"]["activeKey"]["keyUrl"]), disk_key);
    let protector = arm.get(&format!("{SQLMI_PROD_ID}/encryptionProtector/current"), "2023-08-01").await;
    assert_eq!(version_of(&protector["properties"]["uri"]), tde_key);
    let acr = arm.get(ACR_PROD_ID, "2025-04-01").await;
    assert_eq!(
        version_of(&acr["properties"]["encryption"]["keyVaultProperties"]["versionedKeyIdentifier"]),
        acr_before
    );
    assert_ne!(acr_before, acr_key);

    let kv_token = client.token(&scenario, "https://vault.azure.net").await;
    let disabled = client
        .get(KV_PROD, "/keys/cmk-storage-prod/9531985d5d9dc9f81818e811892f902b?api-version=7.6", Some(&kv_token))
        .await;
    assert_eq!(disabled.status, 403);
    assert_eq!(disabled.json()["error"]["innererror"]["code"], "KeyDisabled");
    assert_eq!(sim.clock(), scenario.clock() + time::Duration::hours(3));
    sim.shutdown().await;
}

#[tokio::test]
async fn removed_role_assignments_leave_the_served_lists() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let arm = arm(&client, &scenario).await;
    let principals = |items: &Value| -> BTreeSet<String> {
        items["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["properties"]["principalId"].as_str().unwrap().to_string())
            .collect()
    };
    let at_vault = format!("{VAULT_PROD_ID}/providers/Microsoft.Authorization/roleAssignments");
    let prod01 = "ac8efe12-1c59-49f1-ba2d-de83458bfed0";
    assert!(principals(&arm.get(&at_vault, "2022-04-01").await).contains(prod01));
    let removed = sim.remove_role_assignment(prod01, &format!("{}/", VAULT_PROD_ID.to_uppercase()), Some(CRYPTO_USER));
    assert_eq!(removed.unwrap(), 1);
    assert!(!principals(&arm.get(&at_vault, "2022-04-01").await).contains(prod01));
    let again = sim.remove_role_assignment(prod01, VAULT_PROD_ID, None).unwrap_err().to_string();
    assert!(again.contains(prod01) && again.contains(VAULT_PROD_ID), "{again}");

    let id_aci_hsm = "863a74e0-98d8-45f8-8eb5-fe9942ab02fd";
    let hsm_token = client.token(&scenario, "https://managedhsm.azure.net").await;
    let hsm_list = "/keys/cmk-hsm-aci/providers/Microsoft.Authorization/roleAssignments?api-version=7.6";
    assert!(principals(&client.get(HSM, hsm_list, Some(&hsm_token)).await.json()).contains(id_aci_hsm));
    let step = DrillStep::RemoveRoleAssignment {
        principal_id: id_aci_hsm.into(),
        scope: "hsm:mhsm-contoso-prod:/keys/cmk-hsm-aci".into(),
        role: None,
    };
    let line = sim.apply_drill_step(&step).unwrap();
    assert_eq!(line, format!("removed 1 role assignment of {id_aci_hsm} at hsm:mhsm-contoso-prod:/keys/cmk-hsm-aci"));
    assert!(!principals(&client.get(HSM, hsm_list, Some(&hsm_token)).await.json()).contains(id_aci_hsm));
    sim.shutdown().await;
}

#[tokio::test]
async fn vault_settings_change_what_arm_and_the_data_plane_serve() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let arm = arm(&client, &scenario).await;
    let kv_token = client.token(&scenario, "https://vault.azure.net").await;
    let attributes = || async {
        let key = client.get(KV_PROD, "/keys/cmk-storage-prod?api-version=7.6", Some(&kv_token)).await;
        assert_eq!(key.status, 200, "{}", key.text);
        key.json()["attributes"].clone()
    };
    assert_eq!(attributes().await["recoveryLevel"], "Recoverable");
    assert_eq!(arm.get(VAULT_PROD_ID, "2025-05-01").await["properties"]["enablePurgeProtection"], true);

    sim.set_vault_setting("kv-contoso-prod", VaultSetting::PurgeProtection(None)).unwrap();
    let vault = arm.get(VAULT_PROD_ID, "2025-05-01").await;
    assert!(vault["properties"].get("enablePurgeProtection").is_none(), "absent, not false: {}", vault["properties"]);
    assert_eq!(attributes().await["recoveryLevel"], "Recoverable+Purgeable");
    let listed =
        arm.list(&format!("/subscriptions/{SUB_PROD}/providers/Microsoft.KeyVault/vaults"), "2025-05-01").await;
    let prod = listed.iter().find(|v| v["name"] == "kv-contoso-prod").unwrap();
    assert!(prod["properties"].get("enablePurgeProtection").is_none(), "the list agrees with GET");

    // Network rules on a vault that had none: created with Azure's defaults for the other fields.
    let step = DrillStep::SetVault {
        vault: "kv-contoso-legacy".into(),
        setting: "network_default_action".into(),
        value: Some(SettingValue::Text("Deny".into())),
    };
    assert_eq!(
        sim.apply_drill_step(&step).unwrap(),
        "set network_default_action = Deny on kv-contoso-legacy (was (absent))"
    );
    sim.set_vault_setting("kv-contoso-legacy", VaultSetting::PublicNetworkAccess(Some("Disabled".into()))).unwrap();
    let legacy = arm.get(VAULT_LEGACY_ID, "2025-05-01").await;
    assert_eq!(
        legacy["properties"]["networkAcls"],
        serde_json::json!({ "bypass": "AzureServices", "defaultAction": "Deny", "ipRules": [], "virtualNetworkRules": [] })
    );
    assert_eq!(legacy["properties"]["publicNetworkAccess"], "Disabled");

    let refused = sim.set_vault_setting("mhsm-contoso-prod", VaultSetting::RbacAuthorization(Some(false)));
    assert!(matches!(refused, Err(azure_sim::Error::VaultSetting { .. })), "{refused:?}");
    sim.shutdown().await;
}

// ---- Resource Graph, Azure's quotas, the generated estate ----

const GRAPH: &str = "/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01";

/// A Resource Graph request body over `subscriptions`.
fn graph_body(subscriptions: &[String], query: &str, options: Value) -> Value {
    serde_json::json!({ "subscriptions": subscriptions, "query": query, "options": options })
}

impl Client {
    /// One Resource Graph query. The per-principal quota is tested on its own: here a 429 is waited out (its
    /// `Retry-After`) and the query sent again, so the other assertions do not depend on how fast the test runs.
    async fn graph(&self, token: &str, body: &Value) -> Answer {
        loop {
            let answer = self.post_json(ARM, GRAPH, Some(token), body).await;
            if answer.status != 429 {
                return answer;
            }
            assert_eq!(answer.error_code(), "RateLimiting", "{}", answer.text);
            let wait: u64 = answer.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After");
            tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
        }
    }

    /// Every row of a Graph query, following `$skipToken`; returns the rows and the 429s waited out.
    async fn graph_all(&self, token: &str, subscriptions: &[String], query: &str) -> (Vec<Value>, usize) {
        let mut rows = Vec::new();
        let mut throttled = 0;
        let mut options = serde_json::json!({ "resultFormat": "objectArray", "$top": 1000 });
        loop {
            let body = graph_body(subscriptions, query, options.clone());
            let answer = self.post_json(ARM, GRAPH, Some(token), &body).await;
            if answer.status == 429 {
                throttled += 1;
                assert_eq!(answer.error_code(), "RateLimiting");
                assert_eq!(answer.header("x-ms-user-quota-remaining"), Some("0"));
                let wait: u64 = answer.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After");
                assert!((1..=5).contains(&wait), "{wait}");
                tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
                continue;
            }
            assert_eq!(answer.status, 200, "{}", answer.text);
            let page = answer.json();
            let data = page["data"].as_array().cloned().unwrap_or_default();
            assert_eq!(page["count"].as_u64(), Some(data.len() as u64));
            assert!(data.len() <= 1000);
            rows.extend(data);
            match page["$skipToken"].as_str() {
                Some(token) => options["$skipToken"] = Value::String(token.to_string()),
                None => {
                    assert_eq!(page["totalRecords"].as_u64(), Some(rows.len() as u64));
                    return (rows, throttled);
                }
            }
        }
    }
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_ascii_lowercase()
}

/// `(vault host, key name, version)` of a `https://{host}/keys/{name}/{version}` URL.
fn key_version_of(url: &str) -> Option<(String, String, String)> {
    let url = url::Url::parse(url).ok()?;
    let segs: Vec<&str> = url.path_segments()?.collect();
    match segs.as_slice() {
        ["keys", name, version] => Some((url.host_str()?.to_string(), (*name).to_string(), (*version).to_string())),
        _ => None,
    }
}

/// Every key version a Graph row's document says the resource uses.
fn key_versions_in(row: &Value) -> Vec<(String, String, String)> {
    let p = &row["properties"];
    let mut urls: Vec<&Value> = vec![
        &p["encryption"]["keyvaultproperties"]["currentVersionedKeyIdentifier"],
        &p["activeKey"]["keyUrl"],
        &p["encryption"]["keyVaultProperties"]["versionedKeyIdentifier"],
        &p["securityProfile"]["azureKeyVaultKms"]["keyId"],
    ];
    urls.retain(|u| u.is_string());
    let mut out: Vec<(String, String, String)> = urls.iter().filter_map(|u| key_version_of(u.as_str()?)).collect();
    let aci = &p["encryptionProperties"];
    if let (Some(base), Some(name), Some(version)) =
        (aci["vaultBaseUrl"].as_str(), aci["keyName"].as_str(), aci["keyVersion"].as_str())
        && let Some(found) = key_version_of(&format!("{}/keys/{name}/{version}", base.trim_end_matches('/')))
    {
        out.push(found);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn generated_estate_has_its_counts_and_graph_returns_what_the_arm_lists_return() {
    let sizes = azure_sim::EstateSize { resources: 20_000, keys: 400, subscriptions: 40 };
    let scenario = Scenario::generated(sizes);
    let counts = scenario.resource_counts();
    let extra = ["microsoft.keyvault/vaults", "microsoft.managedidentity/userassignedidentities"];
    let bound: usize = counts.iter().filter(|(t, _)| !extra.contains(&t.as_str())).map(|(_, n)| n).sum();
    assert_eq!(bound, 20_000, "{counts:?}");
    assert_eq!(counts.get("microsoft.keyvault/vaults"), Some(&4));
    assert_eq!(counts.get("microsoft.storage/storageaccounts"), Some(&11_000));
    assert_eq!(counts.get("microsoft.compute/disks"), Some(&5_000));
    assert_eq!(scenario.subscription_ids().len(), 40);

    let options = SimOptions { page_size: 1_000, ..SimOptions::default() };
    let sim = azure_sim::start(scenario.clone(), options).await.expect("starts");
    let client = Client::new(&sim);
    let token = client.token(&scenario, "https://management.azure.com").await;

    // What the per-subscription ARM lists return, per type.
    let mut listed: std::collections::BTreeMap<String, Value> = std::collections::BTreeMap::new();
    let mut per_type: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for sub in scenario.subscription_ids() {
        for ty in counts.keys() {
            let (items, _) =
                client.list_all(&format!("/subscriptions/{sub}/providers/{ty}?api-version=2025-01-01"), &token).await;
            *per_type.entry(ty.clone()).or_default() += items.len();
            for item in items {
                assert!(listed.insert(id_of(&item), item).is_none(), "listed twice");
            }
        }
    }
    assert_eq!(per_type, counts, "the ARM lists return what resource_counts says");

    // One Graph query over all 40 subscriptions, 1,000-row pages followed by $skipToken.
    let (rows, throttled) = client.graph_all(&token, &scenario.subscription_ids(), "resources").await;
    assert_eq!(rows.len(), listed.len());
    let mut graph_ids = BTreeSet::new();
    for row in &rows {
        let id = id_of(row);
        let arm = listed.get(&id).unwrap_or_else(|| panic!("{id} is a Graph row but no ARM list returned it"));
        assert_eq!(row["properties"], arm["properties"], "{id}");
        assert_eq!(row["id"], arm["id"], "Graph keeps ARM's id");
        assert_eq!(row["type"], arm["type"].as_str().unwrap_or_default().to_ascii_lowercase());
        assert_eq!(row["tenantId"], scenario.tenant_id());
        assert!(graph_ids.insert(id), "a row twice");
    }

    // 21 pages are more than the 15 queries a window allows: the limiter answered 429 at least once, or — had
    // the pages been slow enough for the window to turn — does so for a burst now.
    if throttled == 0 {
        let small = graph_body(&scenario.subscription_ids(), "resourcecontainers", serde_json::json!({ "$top": 1 }));
        let mut statuses = Vec::new();
        for _ in 0..16 {
            statuses.push(client.post_json(ARM, GRAPH, Some(&token), &small).await.status);
        }
        assert!(statuses.contains(&429), "{statuses:?}");
    }
    let stats = sim.stats();
    let graph = stats.limits.iter().find(|l| l.kind == azure_sim::LimitKind::Graph).expect("graph bucket");
    assert!(graph.throttled >= 1, "{graph:?}");

    // Every key version a resource names exists in its vault.
    let kv = client.token(&scenario, "https://vault.azure.net").await;
    let mut versions: std::collections::BTreeMap<(String, String), BTreeSet<String>> = Default::default();
    let mut used = 0;
    for (host, key, version) in rows.iter().flat_map(key_versions_in) {
        used += 1;
        let known = match versions.get(&(host.clone(), key.clone())) {
            Some(known) => known,
            None => {
                let answer = client.get(&host, &format!("/keys/{key}/versions?api-version=7.6"), Some(&kv)).await;
                assert_eq!(answer.status, 200, "{host}/{key}: {}", answer.text);
                let ids: BTreeSet<String> = answer.json()["value"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v["kid"].as_str().and_then(key_version_of).map(|(_, _, v)| v))
                    .collect();
                versions.entry((host.clone(), key.clone())).or_insert(ids)
            }
        };
        assert!(known.contains(&version), "{host}/{key} has no version {version}");
    }
    assert!(used > 9_000, "most resources name a key version: {used}");
    sim.shutdown().await;
}

/// The default estate plus a subscription where the caller may not read web apps, and a one-time fault on
/// Resource Graph.
fn graph_scenario() -> Scenario {
    let text = r#"
extends = "default"

[[subscriptions]]
id = "5f1a1c2e-3a43-4a8e-9a44-0c1d8e6f7a21"
display_name = "Contoso Web"
denied_types = ["Microsoft.Web/sites"]

[[web_apps]]
id = "/subscriptions/5f1a1c2e-3a43-4a8e-9a44-0c1d8e6f7a21/resourceGroups/rg-web/providers/Microsoft.Web/sites/app-hidden"
location = "westeurope"

[[other_resources]]
id = "/subscriptions/5f1a1c2e-3a43-4a8e-9a44-0c1d8e6f7a21/resourceGroups/rg-web/providers/Microsoft.Web/serverfarms/plan-web"
location = "westeurope"

[[faults]]
name = "graph-hiccup"
kind = "unavailable"
path_contains = "/providers/Microsoft.ResourceGraph"
times = 1
"#;
    Scenario::from_toml_str(text, "graph-test.toml").expect("test scenario loads")
}

const SUB_WEB: &str = "5f1a1c2e-3a43-4a8e-9a44-0c1d8e6f7a21";

#[tokio::test]
async fn graph_answers_the_kql_subset_and_refuses_the_rest() {
    let (sim, client, scenario) = start(graph_scenario()).await;
    let token = client.token(&scenario, "https://management.azure.com").await;
    let all: Vec<String> = [SUB_PROD, SUB_SHARED, SUB_SANDBOX, SUB_WEB, "00000000-0000-0000-0000-00000000dead"]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
    let query = |q: &str| graph_body(&all, q, serde_json::json!({}));

    // Faults apply to Graph as to every ARM route.
    let hiccup = client.post_json(ARM, GRAPH, Some(&token), &query("resources")).await;
    assert_eq!(hiccup.status, 503);
    assert!(hiccup.header("x-ms-user-quota-remaining").is_some());

    // Vaults through Graph = vaults through ARM, without the denied sandbox.
    let vaults = client
        .graph(&token, &query("Resources | where type =~ 'Microsoft.KeyVault/vaults' | project id, name, type"))
        .await;
    assert_eq!(vaults.status, 200, "{}", vaults.text);
    assert!(vaults.header("x-ms-user-quota-remaining").is_some());
    assert!(vaults.header("x-ms-user-quota-resets-after").is_some_and(|v| v.len() == 8 && v.starts_with("00:00:0")));
    let body = vaults.json();
    assert_eq!(body["resultTruncated"], "false");
    assert_eq!(body["facets"], serde_json::json!([]));
    let rows = body["data"].as_array().cloned().unwrap_or_default();
    let mut arm_vaults = BTreeSet::new();
    for sub in [SUB_PROD, SUB_SHARED] {
        let (items, _) = client
            .list_all(
                &format!("/subscriptions/{sub}/providers/Microsoft.KeyVault/vaults?api-version=2025-05-01"),
                &token,
            )
            .await;
        arm_vaults.extend(items.iter().map(id_of));
    }
    assert_eq!(rows.iter().map(id_of).collect::<BTreeSet<_>>(), arm_vaults);
    for row in &rows {
        assert_eq!(keys(row), set(&["id", "name", "type"]), "project keeps only what it names");
        assert_eq!(row["type"], "microsoft.keyvault/vaults");
    }

    // Graph columns, lower-case type and group; no child resources; nothing of the sandbox or the denied type.
    let (everything, _) = client.graph_all(&token, &all, "resources").await;
    assert!(!everything.is_empty());
    for row in &everything {
        assert_eq!(row["tenantId"], scenario.tenant_id());
        let ty = row["type"].as_str().unwrap_or_default();
        assert_eq!(ty, ty.to_ascii_lowercase());
        let group = row["resourceGroup"].as_str().unwrap_or_default();
        assert_eq!(group, group.to_ascii_lowercase());
        assert!(!group.is_empty());
        assert_ne!(row["subscriptionId"], SUB_SANDBOX);
        assert!(!(ty == "microsoft.web/sites" && row["subscriptionId"] == SUB_WEB), "a denied type: {row}");
        assert!(ty.split('/').count() == 2, "only top-level resources: {ty}");
    }
    assert!(everything.iter().any(|r| r["subscriptionId"] == SUB_WEB), "the plan in the web subscription is there");
    let counted: usize = scenario.resource_counts().values().sum();
    assert_eq!(everything.len(), counted, "Graph rows = what resource_counts says the ARM lists return");
    let sites = |s: &Scenario| s.resource_counts().get("microsoft.web/sites").copied();
    assert_eq!(sites(&scenario), sites(&Scenario::default_scenario()), "the app of the denied type is not counted");

    // The denied type is refused by ARM and left out of the generic list.
    let sites = client
        .get(
            ARM,
            &format!("/subscriptions/{SUB_WEB}/providers/Microsoft.Web/sites?api-version=2024-04-01"),
            Some(&token),
        )
        .await;
    assert_eq!(sites.status, 403);
    assert_eq!(sites.error_code(), "AuthorizationFailed");
    let (generic, _) =
        client.list_all(&format!("/subscriptions/{SUB_WEB}/resources?api-version=2021-04-01"), &token).await;
    assert_eq!(generic.iter().map(|r| r["name"].as_str().unwrap_or_default()).collect::<Vec<_>>(), ["plan-web"]);

    // order by, case-insensitively, ties by id.
    let ordered = client
        .graph(
            &token,
            &query("resources | where type in~ ('microsoft.storage/storageaccounts', 'MICROSOFT.KEYVAULT/VAULTS') | order by name desc | project name"),
        )
        .await;
    let names: Vec<String> = ordered.json()["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["name"].as_str().unwrap_or_default().to_ascii_lowercase())
        .collect();
    assert!(names.len() > 5);
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(names, sorted);

    // $top pages with a $skipToken that only its own query accepts.
    let q = "resources | where type =~ 'microsoft.storage/storageaccounts'";
    let first = client.graph(&token, &graph_body(&all, q, serde_json::json!({ "$top": 3 }))).await.json();
    assert_eq!(first["count"], 3);
    let total = first["totalRecords"].as_u64().unwrap_or_default();
    assert!(total > 3);
    let skip = first["$skipToken"].as_str().expect("more rows follow").to_string();
    let second =
        client.graph(&token, &graph_body(&all, q, serde_json::json!({ "$top": 3, "$skipToken": skip }))).await.json();
    assert_eq!(second["totalRecords"].as_u64(), Some(total));
    let ids = |page: &Value| page["data"].as_array().into_iter().flatten().map(id_of).collect::<BTreeSet<_>>();
    assert!(ids(&first).is_disjoint(&ids(&second)));
    let other = client
        .graph(&token, &graph_body(&all, "resources", serde_json::json!({ "$top": 3, "$skipToken": skip })))
        .await;
    assert_eq!(other.status, 400);
    assert_eq!(other.json()["error"]["details"][0]["code"], "InvalidSkipToken");

    // resourcecontainers: the readable subscriptions asked for, nothing else.
    let containers = client.graph(&token, &query("resourcecontainers | order by name asc")).await.json();
    let subs: Vec<&str> =
        containers["data"].as_array().into_iter().flatten().filter_map(|r| r["subscriptionId"].as_str()).collect();
    assert_eq!(subs, [SUB_PROD, SUB_SHARED, SUB_WEB]);
    assert_eq!(containers["data"][0]["type"], "microsoft.resources/subscriptions");
    assert_eq!(containers["data"][0]["name"], "Contoso Production");
    assert_eq!(containers["data"][0]["properties"]["state"], "Enabled");

    // Anything outside the subset is a 400 naming what was not understood.
    for (q, part) in [
        ("resources | where type =~ 'x' | summarize count() by type", "summarize"),
        ("resources | where name == 'x'", "where name"),
        ("resources | project id | order by name", "'name'"),
    ] {
        let a = client.graph(&token, &query(q)).await;
        assert_eq!(a.status, 400, "{q}");
        let error = &a.json()["error"];
        assert_eq!(error["code"], "BadRequest");
        assert_eq!(error["details"][0]["code"], "InvalidQuery");
        let message = error["details"][0]["message"].as_str().unwrap_or_default().to_string();
        assert!(message.starts_with("Query is invalid"), "{message}");
        assert!(message.contains(part), "{q}: {message}");
    }
    assert!(sim.stats().by_route.get("graph.resources").copied().unwrap_or(0) >= 10);
    sim.shutdown().await;
}

/// `n` GETs of `path` on `host` at once (in waves), stopping once one answers 429; returns every status.
async fn burst(client: &Client, host: &str, path: &str, token: &str, max: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    while statuses.len() < max && !statuses.contains(&429) {
        let mut wave = tokio::task::JoinSet::new();
        for _ in 0..64 {
            let (http, addr) = (client.http.clone(), client.addr);
            let (host, path, token) = (host.to_string(), path.to_string(), token.to_string());
            wave.spawn(async move {
                http.get(format!("http://{addr}{path}"))
                    .header("x-forwarded-host", host)
                    .header("authorization", format!("Bearer {token}"))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            });
        }
        while let Some(status) = wave.join_next().await {
            statuses.push(status.unwrap_or(0));
        }
    }
    statuses
}

fn limit<'a>(stats: &'a azure_sim::SimStats, kind: azure_sim::LimitKind, key: &str) -> &'a azure_sim::LimitStats {
    stats.limits.iter().find(|l| l.kind == kind && l.key == key).unwrap_or_else(|| panic!("no {kind} bucket {key}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn arm_read_quota_throttles_one_subscription_and_not_the_others() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let token = client.token(&scenario, "https://management.azure.com").await;
    let path = format!("/subscriptions/{SUB_PROD}/resourcegroups?api-version=2021-04-01");
    let statuses = burst(&client, ARM, &path, &token, 5_000).await;
    assert!(statuses.contains(&429), "250 reads plus 25/s cannot absorb {} at once", statuses.len());
    assert!(statuses.iter().filter(|s| **s == 200).count() >= 250);
    let refused = client.get(ARM, &path, Some(&token)).await;
    if refused.status == 429 {
        assert_eq!(refused.error_code(), "SubscriptionRequestsThrottled");
        assert!(refused.header("retry-after").and_then(|v| v.parse::<u64>().ok()).is_some_and(|s| s >= 1));
        assert_eq!(refused.header("x-ms-ratelimit-remaining-subscription-reads"), Some("0"));
    }
    let other = client
        .get(ARM, &format!("/subscriptions/{SUB_SHARED}/resourcegroups?api-version=2021-04-01"), Some(&token))
        .await;
    assert_eq!(other.status, 200, "another subscription has its own bucket");
    assert_eq!(other.header("x-ms-ratelimit-remaining-subscription-reads"), Some("249"));
    let stats = sim.stats();
    let prod = limit(&stats, azure_sim::LimitKind::ArmReads, SUB_PROD);
    assert!(prod.throttled >= 1 && prod.admitted >= 250, "{prod:?}");
    assert_eq!(limit(&stats, azure_sim::LimitKind::ArmReads, SUB_SHARED).throttled, 0);
    assert!(stats.throttled_429 >= prod.throttled);
    sim.shutdown().await;
}

#[tokio::test]
async fn storage_list_quota_counts_every_page_per_subscription() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let token = client.token(&scenario, "https://management.azure.com").await;
    let list =
        |sub: &str| format!("/subscriptions/{sub}/providers/Microsoft.Storage/storageAccounts?api-version=2025-06-01");
    // Page size 2: following nextLink spends one list operation per page.
    let (_, pages) = client.list_all(&list(SUB_PROD), &token).await;
    assert!(pages >= 2);
    for i in pages..100 {
        let a = client.get(ARM, &list(SUB_PROD), Some(&token)).await;
        assert_eq!(a.status, 200, "list {i}");
    }
    let refused = client.get(ARM, &list(SUB_PROD), Some(&token)).await;
    assert_eq!(refused.status, 429, "the 101st list operation in 5 minutes");
    assert_eq!(refused.error_code(), "TooManyRequests");
    let wait: u64 = refused.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After");
    assert!((1..=300).contains(&wait), "{wait}");
    assert!(refused.header("x-ms-ratelimit-remaining-subscription-reads").is_some());

    assert_eq!(client.get(ARM, &list(SUB_SHARED), Some(&token)).await.status, 200, "per subscription");
    let vaults = format!("/subscriptions/{SUB_PROD}/providers/Microsoft.KeyVault/vaults?api-version=2025-05-01");
    assert_eq!(client.get(ARM, &vaults, Some(&token)).await.status, 200, "other resource providers unaffected");
    let stats = sim.stats();
    let prod = limit(&stats, azure_sim::LimitKind::StorageList, SUB_PROD);
    assert_eq!((prod.admitted, prod.throttled), (100, 1));
    assert_eq!(limit(&stats, azure_sim::LimitKind::StorageList, SUB_SHARED).admitted, 1);
    // 100 admitted fit one window: the floor they set is zero.
    assert!(stats.throttling_floor().wall_time < std::time::Duration::from_secs(300));
    sim.shutdown().await;
}

#[tokio::test]
async fn graph_quota_allows_15_queries_per_window_per_principal() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    let token = client.token(&scenario, "https://management.azure.com").await;
    let body = graph_body(&[SUB_PROD.to_string()], "resourcecontainers", serde_json::json!({}));
    let mut remaining = Vec::new();
    let refused = loop {
        let a = client.post_json(ARM, GRAPH, Some(&token), &body).await;
        if a.status == 429 {
            break a;
        }
        assert_eq!(a.status, 200, "{}", a.text);
        remaining.push(a.header("x-ms-user-quota-remaining").and_then(|v| v.parse::<u64>().ok()).expect("quota"));
        assert!(remaining.len() < 200, "the limiter never answered 429");
    };
    assert_eq!(remaining[..3], [14, 13, 12], "every query counts");
    assert!(remaining.len() >= 15, "15 queries fit a window: {remaining:?}");
    assert_eq!(refused.error_code(), "RateLimiting");
    assert_eq!(refused.header("x-ms-user-quota-remaining"), Some("0"));
    let resets = refused.header("x-ms-user-quota-resets-after").expect("resets-after").to_string();
    assert!(resets.len() == 8 && resets.starts_with("00:00:0"), "{resets}");
    let wait: u64 = refused.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After");
    assert!((1..=5).contains(&wait), "{wait}");
    let arm = client.get(ARM, "/subscriptions?api-version=2022-12-01", Some(&token)).await;
    assert_eq!(arm.status, 200, "ARM reads have their own quota");
    let stats = sim.stats();
    let graph = stats.limits.iter().find(|l| l.kind == azure_sim::LimitKind::Graph).expect("graph bucket");
    assert_eq!(graph.throttled, 1);
    assert_eq!(graph.admitted, remaining.len() as u64);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn key_vault_quota_is_per_vault_and_the_challenge_does_not_count() {
    let (sim, client, scenario) = start(Scenario::default_scenario()).await;
    for _ in 0..3 {
        assert_eq!(client.get(KV_PROD, "/keys?api-version=7.6", None).await.status, 401);
    }
    let kv = client.token(&scenario, "https://vault.azure.net").await;
    let path = "/keys/cmk-storage-prod/rotationpolicy?api-version=7.6";
    let statuses = burst(&client, KV_PROD, path, &kv, 40_000).await;
    assert!(statuses.contains(&429), "4,000 operations per 10 s: {} sent", statuses.len());
    assert!(!statuses.contains(&0), "every request answered");
    let served = statuses.iter().filter(|s| **s == 200).count() as u64;
    assert!(served >= 4_000);
    // Past the burst, until the limiter refuses again (the window may have turned meanwhile).
    let mut served_after = 0;
    let refused = loop {
        let a = client.get(KV_PROD, path, Some(&kv)).await;
        if a.status == 429 {
            break a;
        }
        served_after += 1;
    };
    assert_eq!(refused.error_code(), "Throttled");
    let wait: u64 = refused.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After");
    assert!((1..=10).contains(&wait), "{wait}");
    let apps = client.get("kv-contoso-apps.vault.azure.net", "/keys/cmk-acr-prod?api-version=7.6", Some(&kv)).await;
    assert_eq!(apps.status, 200, "another vault has its own quota");
    let stats = sim.stats();
    let prod = limit(&stats, azure_sim::LimitKind::KeyVault, "kv-contoso-prod");
    assert_eq!(prod.admitted, served + served_after, "exactly the authenticated requests: {prod:?}");
    assert!(prod.throttled >= 2);
    assert_eq!(limit(&stats, azure_sim::LimitKind::KeyVault, "kv-contoso-apps").admitted, 1);
    assert!(stats.unauthenticated_401 >= 3);
    sim.shutdown().await;
}
