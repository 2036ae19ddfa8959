//! The real client (client-secret credential, bearer policy, Key Vault challenge, bounded retry, loopback
//! redirect) against a small fake Azure on 127.0.0.1. Every test is bounded by request counts and short
//! timeouts; none asserts on elapsed time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use azure_rest::{AzureClient, ClientConfig, Cloud, CredentialSpec, Error, RetryConfig};
use std::time::Duration;

use support::{FakeAzure, Reply, Seen, bounded, fast_retry, sha256_hex};

const ARM_HOST: &str = "management.azure.com";
const VAULT_HOST: &str = "myvault.vault.azure.net";
const HSM_HOST: &str = "myhsm.managedhsm.azure.net";
const ACCOUNTS: &str = "/subscriptions/sub-1/providers/Microsoft.Storage/storageAccounts";
const STORAGE_API: &str = "2025-06-01";

fn arm_requests(seen: &[Seen]) -> Vec<&Seen> {
    seen.iter().filter(|s| s.host == ARM_HOST).collect()
}

fn ok_page(items: &str, next_link: Option<&str>) -> Vec<u8> {
    match next_link {
        Some(link) => format!(r#"{{"value":[{items}],"nextLink":"{link}"}}"#).into_bytes(),
        None => format!(r#"{{"value":[{items}]}}"#).into_bytes(),
    }
}

#[tokio::test]
async fn token_is_acquired_once_and_reused_and_requests_keep_their_https_url() {
    let azure = FakeAzure::start(|seen, _| {
        assert_eq!(seen.authorization.as_deref(), Some("Bearer tok-1"));
        // A low read quota only slows the client down (pacing); it must not change the answers.
        Reply::json(200, r#"{"id":"x"}"#).with_header("x-ms-ratelimit-remaining-subscription-reads", "18")
    })
    .await;
    let client = azure.client(fast_retry());
    for _ in 0..3 {
        let fetched = bounded(client.arm_get("/subscriptions/sub-1", "2022-12-01")).await.unwrap();
        assert_eq!(fetched.url, "https://management.azure.com/subscriptions/sub-1?api-version=2022-12-01");
        assert_eq!(fetched.method, "GET");
        assert_eq!(fetched.status, 200);
        assert_eq!(fetched.api_version.as_deref(), Some("2022-12-01"));
        assert_eq!(fetched.body, br#"{"id":"x"}"#);
    }
    assert_eq!(azure.token_requests(), 1);
    assert_eq!(azure.token_scopes(), ["https://management.azure.com/.default"]);
    assert_eq!(azure.token_paths(), ["login.microsoftonline.com/tenant-1/oauth2/v2.0/token"]);
    let seen = azure.seen();
    assert_eq!(arm_requests(&seen).len(), 3);
    assert!(seen.iter().all(|s| s.method == "GET"));
    assert_eq!(seen[0].path, "/subscriptions/sub-1");
    assert_eq!(seen[0].query_param("api-version").as_deref(), Some("2022-12-01"));
}

/// Collects everything logged at debug level, to check what the logs may contain.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn debug_logs_name_requests_but_never_tokens_or_secrets() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let azure = FakeAzure::start(|seen, index| match (seen.host.as_str(), index) {
        (ARM_HOST, 0) => Reply::json(429, "{}").with_header("retry-after", "0"),
        (ARM_HOST, _) => Reply::json(200, r#"{"value":[]}"#),
        _ => vault(seen, |_| Reply::json(200, KEY_BUNDLE)),
    })
    .await;
    let client = azure.client(fast_retry());
    bounded(client.arm_get(ACCOUNTS, STORAGE_API)).await.unwrap();
    bounded(client.kv_get_key("https://myvault.vault.azure.net/", "cmk", None)).await.unwrap();
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("azure request"), "{text}");
    assert!(text.contains("status=429"), "{text}");
    assert!(text.contains("attempt=2"), "{text}");
    for forbidden in ["tok-1", support::SECRET, "Bearer tok"] {
        assert!(!text.contains(forbidden), "logs contain {forbidden}:\n{text}");
    }
}

#[tokio::test]
async fn another_cloud_uses_its_own_authority_arm_host_and_scope() {
    let azure = FakeAzure::start(|seen, _| {
        assert_eq!(seen.host, "management.chinacloudapi.cn");
        Reply::json(200, "{}")
    })
    .await;
    let mut config = azure.config(fast_retry());
    config.cloud = Cloud::by_name("china").unwrap();
    let client = AzureClient::new(config).unwrap();
    let fetched = bounded(client.arm_get("/subscriptions", "2022-12-01")).await.unwrap();
    assert_eq!(fetched.url, "https://management.chinacloudapi.cn/subscriptions?api-version=2022-12-01");
    assert_eq!(azure.token_paths(), ["login.chinacloudapi.cn/tenant-1/oauth2/v2.0/token"]);
    assert_eq!(azure.token_scopes(), ["https://management.chinacloudapi.cn/.default"]);
}

#[tokio::test]
async fn retry_after_600_is_capped_so_the_retry_happens() {
    let azure = FakeAzure::start(|_, index| match index {
        0 => Reply::json(429, r#"{"error":{"code":"TooManyRequests","message":"slow down"}}"#)
            .with_header("retry-after", "600"),
        _ => Reply::json(200, r#"{"value":[]}"#),
    })
    .await;
    let client = azure.client(fast_retry());
    let fetched = bounded(client.arm_get(ACCOUNTS, STORAGE_API)).await.unwrap();
    assert_eq!(fetched.status, 200);
    assert_eq!(arm_requests(&azure.seen()).len(), 2);
}

#[tokio::test]
async fn still_throttled_after_every_retry_is_a_throttled_error() {
    let azure = FakeAzure::start(|_, _| {
        Reply::json(429, r#"{"error":{"code":"TooManyRequests"}}"#).with_header("retry-after", "1")
    })
    .await;
    let retry = RetryConfig { max_retries: 2, retry_after_cap: Duration::from_millis(20), ..fast_retry() };
    let error = bounded(azure.client(retry).arm_get(ACCOUNTS, STORAGE_API)).await.unwrap_err();
    assert_eq!(
        error,
        Error::Throttled {
            url: format!("https://management.azure.com{ACCOUNTS}?api-version={STORAGE_API}"),
            attempts: 3,
            retry_after: Some(Duration::from_secs(1)),
        }
    );
    assert_eq!(error.coverage_status(), "throttled");
    assert_eq!(error.http_status(), Some(429));
    assert_eq!(arm_requests(&azure.seen()).len(), 3);
}

#[tokio::test]
async fn two_503_then_200_succeeds() {
    let azure = FakeAzure::start(|_, index| match index {
        0 | 1 => Reply::json(503, "<html>busy</html>").with_header("retry-after", "0"),
        _ => Reply::json(200, r#"{"value":[]}"#),
    })
    .await;
    let fetched = bounded(azure.client(fast_retry()).arm_get(ACCOUNTS, STORAGE_API)).await.unwrap();
    assert_eq!(fetched.body, br#"{"value":[]}"#);
    assert_eq!(arm_requests(&azure.seen()).len(), 3);
}

#[tokio::test]
async fn persistent_500_gives_up_after_max_retries_with_the_azure_error() {
    let azure =
        FakeAzure::start(|_, _| Reply::json(500, r#"{"error":{"code":"InternalServerError","message":"oops"}}"#)).await;
    let error = bounded(azure.client(fast_retry()).arm_get(ACCOUNTS, STORAGE_API)).await.unwrap_err();
    assert_eq!(error.http_status(), Some(500));
    assert_eq!(error.error_code(), Some("InternalServerError"));
    assert_eq!(error.coverage_status(), "error");
    assert_eq!(arm_requests(&azure.seen()).len(), 4, "1 try + max_retries (3)");
}

#[tokio::test]
async fn a_route_that_never_answers_times_out() {
    let azure = FakeAzure::start(|_, _| Reply::Hang).await;
    let retry = RetryConfig {
        max_retries: 2,
        per_try_timeout: Duration::from_millis(200),
        total_deadline: Duration::from_secs(2),
        ..fast_retry()
    };
    let error = bounded(azure.client(retry).arm_get(ACCOUNTS, STORAGE_API)).await.unwrap_err();
    match &error {
        Error::Timeout { url, after } => {
            assert!(url.starts_with("https://management.azure.com/subscriptions/sub-1/"));
            assert!(*after == Duration::from_millis(200) || *after == Duration::from_secs(2), "{after:?}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(error.coverage_status(), "error");
    let tries = arm_requests(&azure.seen()).len();
    assert!((1..=3).contains(&tries), "{tries} tries");
}

#[tokio::test]
async fn the_total_deadline_bounds_a_slow_try() {
    let azure = FakeAzure::start(|_, _| Reply::Hang).await;
    let retry = RetryConfig {
        per_try_timeout: Duration::from_secs(20),
        total_deadline: Duration::from_millis(300),
        ..fast_retry()
    };
    let error = bounded(azure.client(retry).arm_get(ACCOUNTS, STORAGE_API)).await.unwrap_err();
    assert!(matches!(error, Error::Timeout { after, .. } if after == Duration::from_millis(300)), "{error:?}");
    assert_eq!(arm_requests(&azure.seen()).len(), 1);
}

#[tokio::test]
async fn forbidden_is_denied_with_the_azure_code_and_not_retried() {
    let azure = FakeAzure::start(|seen, _| {
        if seen.path.ends_with("/missing") {
            Reply::json(404, r#"{"error":{"code":"ResourceNotFound","message":"not here"}}"#)
        } else {
            Reply::json(
                403,
                r#"{"error":{"code":"AuthorizationFailed","message":"The client does not have authorization"}}"#,
            )
        }
    })
    .await;
    let client = azure.client(fast_retry());
    let error = bounded(client.arm_get(ACCOUNTS, STORAGE_API)).await.unwrap_err();
    assert_eq!(
        error,
        Error::Http {
            url: format!("https://management.azure.com{ACCOUNTS}?api-version={STORAGE_API}"),
            status: 403,
            code: Some("AuthorizationFailed".into()),
            message: Some("The client does not have authorization".into()),
        }
    );
    assert_eq!(error.coverage_status(), "denied");
    assert!(error.to_string().contains("AuthorizationFailed"));
    let missing = bounded(client.arm_get("/subscriptions/sub-1/missing", "2022-12-01")).await.unwrap_err();
    assert_eq!(missing.coverage_status(), "not_found");
    assert_eq!(missing.error_code(), Some("ResourceNotFound"));
    assert_eq!(arm_requests(&azure.seen()).len(), 2);
}

#[tokio::test]
async fn three_pages_with_a_broken_api_version_in_the_next_link() {
    let pages: Vec<Vec<u8>> = vec![
        ok_page(
            r#"{"id":"a1"}"#,
            Some(&format!("https://management.azure.com{ACCOUNTS}?api-version=2025-06-01)&%24skipToken=p2%3D%3D")),
        ),
        ok_page(r#"{"id":"a2"}"#, Some(&format!("https://management.azure.com{ACCOUNTS}?$skipToken=p3"))),
        ok_page(r#"{"id":"a3"}"#, None),
    ];
    let served = pages.clone();
    let azure = FakeAzure::start(move |seen, _| {
        if seen.query_param("api-version").as_deref() != Some(STORAGE_API) {
            return Reply::json(400, r#"{"error":{"code":"InvalidApiVersionParameter"}}"#);
        }
        match seen.query_param("$skipToken").as_deref() {
            None => Reply::json(200, served[0].clone()),
            Some("p2==") => Reply::json(200, served[1].clone()),
            Some("p3") => Reply::json(200, served[2].clone()),
            Some(_) => Reply::json(404, "{}"),
        }
    })
    .await;
    let fetched = bounded(azure.client(fast_retry()).arm_list(ACCOUNTS, STORAGE_API)).await.unwrap();
    assert_eq!(fetched.len(), 3);
    for (page, body) in fetched.iter().zip(&pages) {
        assert_eq!(&page.body, body);
        assert_eq!(page.sha256, sha256_hex(body));
        assert_eq!(page.api_version.as_deref(), Some(STORAGE_API));
    }
    assert_eq!(
        fetched[1].url,
        format!("https://management.azure.com{ACCOUNTS}?%24skipToken=p2%3D%3D&api-version={STORAGE_API}")
    );
    assert_eq!(azure.token_requests(), 1);
}

#[tokio::test]
async fn a_next_link_loop_stops_with_the_pages_so_far() {
    let link = format!("https://management.azure.com{ACCOUNTS}?$skipToken=again&api-version={STORAGE_API}");
    let azure = FakeAzure::start(move |_, index| match index {
        0 => Reply::json(200, ok_page(r#"{"id":"a1"}"#, Some(&link))),
        _ => Reply::json(200, ok_page(r#"{"id":"a2"}"#, Some(&link))),
    })
    .await;
    let error = bounded(azure.client(fast_retry()).arm_list(ACCOUNTS, STORAGE_API)).await.unwrap_err();
    assert_eq!(error.pages_so_far.len(), 2);
    assert!(
        matches!(&error.error, Error::PagingLoop { next_link, .. } if next_link.contains("again")),
        "{:?}",
        error.error
    );
    assert_eq!(arm_requests(&azure.seen()).len(), 2);
}

#[tokio::test]
async fn a_malformed_page_keeps_the_pages_before_it() {
    let azure = FakeAzure::start(|seen, _| match seen.query_param("$skipToken") {
        None => Reply::json(
            200,
            ok_page(r#"{"id":"a1"}"#, Some(&format!("https://management.azure.com{ACCOUNTS}?$skipToken=2"))),
        ),
        Some(_) => Reply::json(200, r#"{"value":[{"id":"a2"},"#),
    })
    .await;
    let error = bounded(azure.client(fast_retry()).arm_list(ACCOUNTS, STORAGE_API)).await.unwrap_err();
    assert_eq!(error.pages_so_far.len(), 1);
    match &error.error {
        Error::Malformed { url, .. } => assert!(url.contains("skipToken=2"), "{url}"),
        other => panic!("expected Malformed, got {other:?}"),
    }
    assert_eq!(error.error.coverage_status(), "error");
}

#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed() {
    let azure =
        FakeAzure::start(|_, _| Reply::json(200, ok_page("", Some("https://collector.example/steal?api-version=1"))))
            .await;
    let error = bounded(azure.client(fast_retry()).arm_list(ACCOUNTS, STORAGE_API)).await.unwrap_err();
    assert_eq!(error.pages_so_far.len(), 1);
    assert!(matches!(error.error, Error::Malformed { .. }), "{:?}", error.error);
    assert!(azure.seen().iter().all(|s| s.host == ARM_HOST));
}

#[tokio::test]
async fn an_absolute_url_off_the_arm_host_is_refused_before_sending() {
    let azure = FakeAzure::start(|_, _| Reply::json(200, "{}")).await;
    let client = azure.client(fast_retry());
    let error = bounded(client.arm_get("https://collector.example/subscriptions", "2022-12-01")).await.unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
    let ok = bounded(client.arm_get("https://management.azure.com/subscriptions?api-version=broken", "2022-12-01"))
        .await
        .unwrap();
    assert_eq!(ok.url, "https://management.azure.com/subscriptions?api-version=2022-12-01");
    assert_eq!(azure.seen().len(), 1);
}

#[tokio::test]
async fn a_wrong_secret_is_a_credential_error_without_the_secret() {
    let azure = FakeAzure::start(|_, _| Reply::json(200, "{}")).await;
    let mut config = azure.config(fast_retry());
    config.credential = CredentialSpec::ClientSecret {
        tenant_id: support::TENANT.into(),
        client_id: support::CLIENT_ID.into(),
        secret: "wrong-secret-value".into(),
    };
    let client = AzureClient::new(config).unwrap();
    let error = bounded(client.arm_get(ACCOUNTS, STORAGE_API)).await.unwrap_err();
    match &error {
        Error::Credential { detail } => {
            assert!(detail.contains("AADSTS7000215"), "{detail}");
            assert!(!detail.contains("wrong-secret-value"), "{detail}");
        }
        other => panic!("expected a credential error, got {other:?}"),
    }
    assert!(!format!("{error} {error:?}").contains("wrong-secret-value"));
    assert!(azure.seen().is_empty(), "no ARM request without a token");
}

#[test]
fn the_redirect_refuses_a_non_loopback_address() {
    let config = ClientConfig {
        tenant_id: support::TENANT.into(),
        cloud: Cloud::public(),
        credential: CredentialSpec::DeveloperTools,
        retry: RetryConfig::default(),
        redirect_to_loopback: Some("10.1.2.3:8443".parse().unwrap()),
    };
    let error = AzureClient::new(config).unwrap_err();
    assert!(matches!(error, Error::Config { .. }), "{error:?}");
}

#[test]
fn debug_of_a_client_secret_config_does_not_show_the_secret() {
    let config = ClientConfig {
        tenant_id: support::TENANT.into(),
        cloud: Cloud::public(),
        credential: CredentialSpec::ClientSecret {
            tenant_id: support::TENANT.into(),
            client_id: support::CLIENT_ID.into(),
            secret: support::SECRET.into(),
        },
        retry: RetryConfig::default(),
        redirect_to_loopback: None,
    };
    let shown = format!("{config:?} {:?}", config.credential);
    assert!(!shown.contains(support::SECRET), "{shown}");
    assert!(shown.contains(support::CLIENT_ID));
}

#[tokio::test]
async fn resource_graph_queries_follow_the_skip_token() {
    let page1 = r#"{"totalRecords":2,"count":1,"resultTruncated":"false","$skipToken":"ew0KICAi","data":[{"id":"/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a"}]}"#;
    let page2 = r#"{"totalRecords":2,"count":1,"resultTruncated":"false","data":[{"id":"/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/b"}]}"#;
    let azure = FakeAzure::start(move |seen, _| {
        assert_eq!(seen.method, "POST");
        assert_eq!(seen.path, "/providers/Microsoft.ResourceGraph/resources");
        assert_eq!(seen.query_param("api-version").as_deref(), Some("2024-04-01"));
        let request: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
        assert_eq!(request["subscriptions"], serde_json::json!(["sub-1"]));
        assert_eq!(request["options"]["resultFormat"], "objectArray");
        match request["options"]["$skipToken"].as_str() {
            None => Reply::json(200, page1),
            Some("ew0KICAi") => Reply::json(200, page2),
            Some(other) => panic!("unexpected skip token {other}"),
        }
    })
    .await;
    let pages =
        bounded(azure.client(fast_retry()).resource_graph_query(
            &["sub-1".to_owned()],
            "resources | where type =~ 'microsoft.storage/storageaccounts'",
        ))
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].method, "POST");
    assert_eq!(pages[1].body, page2.as_bytes());
    assert_eq!(
        pages[0].url,
        "https://management.azure.com/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01"
    );
}

// ---- Key Vault and Managed HSM data plane ----

const KEY_BUNDLE: &str = r#"{"key":{"kid":"https://myvault.vault.azure.net/keys/cmk/0123456789abcdef0123456789abcdef","kty":"RSA","key_ops":["wrapKey","unwrapKey"],"n":"AQAB","e":"AQAB"},"attributes":{"enabled":true,"created":1700000000,"updated":1700000000,"recoveryLevel":"Recoverable","recoverableDays":90},"tags":{}}"#;

/// Answers like Key Vault: 401 with a challenge to unauthenticated requests.
fn vault(seen: &Seen, answer: impl FnOnce(&Seen) -> Reply) -> Reply {
    match &seen.authorization {
        None => Reply::json(
            401,
            r#"{"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token."}}"#,
        )
        .with_header(
            "www-authenticate",
            &format!(
                r#"Bearer authorization="https://login.microsoftonline.com/{}", resource="https://vault.azure.net""#,
                support::TENANT
            ),
        ),
        Some(token) if token.starts_with("Bearer tok-") => answer(seen),
        Some(_) => Reply::json(401, r#"{"error":{"code":"Unauthorized"}}"#),
    }
}

#[tokio::test]
async fn get_key_goes_through_the_key_vault_challenge() {
    let azure = FakeAzure::start(|seen, _| {
        vault(seen, |seen| {
            assert_eq!(seen.host, VAULT_HOST);
            match seen.path.as_str() {
                "/keys/cmk/" => Reply::json(200, KEY_BUNDLE),
                "/keys/cmk/rotationpolicy" => Reply::json(
                    200,
                    r#"{"id":"https://myvault.vault.azure.net/keys/cmk/rotationpolicy","lifetimeActions":[],"attributes":{"expiryTime":"P2Y"}}"#,
                ),
                _ => Reply::json(404, r#"{"error":{"code":"KeyNotFound","message":"no"}}"#),
            }
        })
    })
    .await;
    let client = azure.client(fast_retry());
    let key = bounded(client.kv_get_key("https://myvault.vault.azure.net/", "cmk", None)).await.unwrap();
    assert_eq!(key.body, KEY_BUNDLE.as_bytes());
    assert_eq!(key.sha256, sha256_hex(KEY_BUNDLE.as_bytes()));
    assert_eq!(key.url, "https://myvault.vault.azure.net/keys/cmk/?api-version=2025-07-01");
    assert_eq!(key.api_version.as_deref(), Some("2025-07-01"));
    let seen = azure.seen();
    assert_eq!(seen.len(), 2, "challenge then authorized retry");
    assert_eq!(seen[0].authorization, None);
    assert_eq!(seen[1].authorization.as_deref(), Some("Bearer tok-1"));
    assert_eq!(seen[1].query_param("api-version").as_deref(), Some("2025-07-01"));
    assert_eq!(azure.token_scopes(), ["https://vault.azure.net/.default"]);

    // The challenge and the token are reused for the same vault.
    let policy = bounded(client.kv_get_rotation_policy("https://myvault.vault.azure.net", "cmk")).await.unwrap();
    assert!(policy.url.ends_with("/keys/cmk/rotationpolicy?api-version=2025-07-01"));
    assert_eq!(azure.seen().len(), 3);
    assert_eq!(azure.token_requests(), 1);

    let missing = bounded(client.kv_get_key(
        "https://myvault.vault.azure.net/",
        "gone",
        Some("0123456789abcdef0123456789abcdef"),
    ))
    .await
    .unwrap_err();
    assert_eq!(
        missing,
        Error::Http {
            url: "https://myvault.vault.azure.net/keys/gone/0123456789abcdef0123456789abcdef?api-version=2025-07-01"
                .into(),
            status: 404,
            code: Some("KeyNotFound".into()),
            message: Some("no".into()),
        }
    );
    assert_eq!(missing.coverage_status(), "not_found");
}

#[tokio::test]
async fn key_vault_forbidden_is_denied() {
    let azure = FakeAzure::start(|seen, _| {
        vault(seen, |_| {
            Reply::json(
                403,
                r#"{"error":{"code":"Forbidden","message":"Caller is not authorized","innererror":{"code":"ForbiddenByRbac"}}}"#,
            )
        })
    })
    .await;
    let error = bounded(azure.client(fast_retry()).kv_get_key("https://myvault.vault.azure.net/", "cmk", None))
        .await
        .unwrap_err();
    assert_eq!(error.http_status(), Some(403));
    assert_eq!(error.error_code(), Some("Forbidden"));
    assert_eq!(error.coverage_status(), "denied");
}

#[tokio::test]
async fn key_versions_are_paged_with_next_link() {
    let page1 = r#"{"value":[{"kid":"https://myvault.vault.azure.net/keys/cmk/v1","attributes":{"enabled":true}}],"nextLink":"https://myvault.vault.azure.net/keys/cmk/versions?api-version=2025-07-01&$skiptoken=eyJOZXh0IjoyfQ%3D%3D&maxresults=25"}"#;
    let page2 = r#"{"value":[{"kid":"https://myvault.vault.azure.net/keys/cmk/v2","attributes":{"enabled":false}}],"nextLink":null}"#;
    let azure = FakeAzure::start(move |seen, _| {
        vault(seen, |seen| {
            assert_eq!(seen.path, "/keys/cmk/versions");
            assert_eq!(seen.query_param("api-version").as_deref(), Some("2025-07-01"));
            match seen.query_param("$skiptoken").as_deref() {
                None => Reply::json(200, page1),
                Some("eyJOZXh0IjoyfQ==") => Reply::json(200, page2),
                Some(other) => panic!("unexpected skip token {other}"),
            }
        })
    })
    .await;
    let pages = bounded(azure.client(fast_retry()).kv_list_key_versions("https://myvault.vault.azure.net/", "cmk"))
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].body, page1.as_bytes());
    assert_eq!(pages[1].body, page2.as_bytes());
    assert_eq!(pages[1].sha256, sha256_hex(page2.as_bytes()));
    assert_eq!(pages[0].url, "https://myvault.vault.azure.net/keys/cmk/versions?api-version=2025-07-01");
    assert!(pages[1].url.contains("skiptoken"), "{}", pages[1].url);
    assert_eq!(azure.seen().len(), 3, "one challenge, two pages");
}

#[tokio::test]
async fn a_key_version_loop_stops_with_the_pages_so_far() {
    let page = r#"{"value":[],"nextLink":"https://myvault.vault.azure.net/keys/cmk/versions?$skiptoken=same"}"#;
    let azure = FakeAzure::start(move |seen, _| vault(seen, |_| Reply::json(200, page))).await;
    let error = bounded(azure.client(fast_retry()).kv_list_key_versions("https://myvault.vault.azure.net/", "cmk"))
        .await
        .unwrap_err();
    assert_eq!(error.pages_so_far.len(), 2);
    assert!(matches!(error.error, Error::PagingLoop { .. }), "{:?}", error.error);
}

#[tokio::test]
async fn managed_hsm_role_assignments_use_the_hsm_audience() {
    let page = r#"{"value":[{"id":"/keys/cmk/providers/Microsoft.Authorization/roleAssignments/ra-1","properties":{"scope":"/keys/cmk","roleDefinitionId":"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/33413926-3206-4cdd-b39a-83574fe37a17","principalId":"p-1"}}],"nextLink":null}"#;
    let azure = FakeAzure::start(move |seen, _| {
        assert_eq!(seen.host, HSM_HOST);
        assert_eq!(seen.authorization.as_deref(), Some("Bearer tok-1"));
        assert_eq!(seen.path, "/keys/cmk/providers/Microsoft.Authorization/roleAssignments");
        assert_eq!(seen.query_param("api-version").as_deref(), Some("7.6"));
        Reply::json(200, page)
    })
    .await;
    let client = azure.client(fast_retry());
    let pages =
        bounded(client.hsm_list_role_assignments("https://myhsm.managedhsm.azure.net/", "/keys/cmk")).await.unwrap();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].body, page.as_bytes());
    assert_eq!(azure.token_scopes(), ["https://managedhsm.azure.net/.default"]);

    let refused = bounded(client.hsm_list_role_assignments("https://collector.example/", "/")).await.unwrap_err();
    assert!(matches!(refused.error, Error::Config { .. }), "{:?}", refused.error);
    assert_eq!(azure.seen().len(), 1);
}

const SIGN_VERSION: &str = "0123456789abcdef0123456789abcdef";

fn b64url(bytes: &[u8]) -> String {
    azure_core::base64::encode_url_safe(bytes)
}

#[tokio::test]
async fn sign_goes_through_the_challenge_with_the_key_vault_body() {
    let digest = [0x5a_u8; 32];
    let signature = [0xa5_u8; 64];
    let azure = FakeAzure::start(move |seen, _| {
        vault(seen, |seen| {
            assert_eq!(seen.method, "POST");
            assert_eq!(seen.host, VAULT_HOST);
            assert_eq!(seen.query_param("api-version").as_deref(), Some("2025-07-01"));
            let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
            assert_eq!(body, serde_json::json!({ "alg": "ES256", "value": b64url(&digest) }));
            match seen.path.as_str() {
                // Without a version the SDK leaves the version segment empty; Key Vault signs with the latest.
                "/keys/sign-key//sign" | "/keys/sign-key/0123456789abcdef0123456789abcdef/sign" => Reply::json(
                    200,
                    format!(
                        r#"{{"kid":"https://{VAULT_HOST}/keys/sign-key/{SIGN_VERSION}","value":"{}"}}"#,
                        b64url(&signature)
                    ),
                ),
                other => panic!("unexpected path {other}"),
            }
        })
    })
    .await;
    let client = azure.client(fast_retry());
    let signed =
        bounded(client.kv_sign("https://myvault.vault.azure.net/keys/sign-key", "ES256", &digest)).await.unwrap();
    assert_eq!(signed.kid, format!("https://{VAULT_HOST}/keys/sign-key/{SIGN_VERSION}"));
    assert_eq!(signed.algorithm, "ES256");
    assert_eq!(signed.signature, signature);
    assert_eq!(signed.raw.method, "POST");
    assert_eq!(signed.raw.status, 200);
    assert_eq!(signed.raw.url, "https://myvault.vault.azure.net/keys/sign-key//sign?api-version=2025-07-01");
    assert_eq!(signed.raw.sha256, sha256_hex(&signed.raw.body));
    let seen = azure.seen();
    assert_eq!(seen.len(), 2, "challenge then authorized retry");
    assert_eq!(seen[0].authorization, None);
    assert!(seen[0].body.is_empty(), "the challenge request goes without the body");
    assert_eq!(seen[1].authorization.as_deref(), Some("Bearer tok-1"));
    assert_eq!(azure.token_scopes(), ["https://vault.azure.net/.default"]);

    let versioned = bounded(client.kv_sign(
        &format!("https://myvault.vault.azure.net/keys/sign-key/{SIGN_VERSION}"),
        "ES256",
        &digest,
    ))
    .await
    .unwrap();
    assert_eq!(
        versioned.raw.url,
        format!("https://{VAULT_HOST}/keys/sign-key/{SIGN_VERSION}/sign?api-version=2025-07-01")
    );
    assert_eq!(azure.seen().len(), 3, "the vault's challenge is reused");
    assert_eq!(azure.token_requests(), 1);
}

#[tokio::test]
async fn sign_refuses_bad_arguments_before_sending() {
    let azure = FakeAzure::start(|_, _| panic!("nothing may be sent")).await;
    let client = azure.client(fast_retry());
    let key = "https://myvault.vault.azure.net/keys/sign-key";
    let cases = [
        (key, "ES384", 32),
        (key, "es256", 32),
        (key, "RS256", 48),
        (key, "PS256", 0),
        ("https://myvault.vault.azure.net/secrets/sign-key", "ES256", 32),
        ("http://myvault.vault.azure.net/keys/sign-key", "ES256", 32),
        ("https://myvault.vault.azure.net/keys/sign-key/v1/extra", "ES256", 32),
    ];
    for (key_id, algorithm, digest_len) in cases {
        let error = bounded(client.kv_sign(key_id, algorithm, &vec![1; digest_len])).await.unwrap_err();
        assert!(matches!(error, Error::Config { .. }), "{key_id} {algorithm} {digest_len}: {error:?}");
    }
    assert!(azure.seen().is_empty());
}

#[tokio::test]
async fn sign_failures_and_odd_answers_are_typed_errors() {
    let azure = FakeAzure::start(|seen, _| {
        vault(seen, |seen| match seen.path.as_str() {
            "/keys/denied//sign" => Reply::json(
                403,
                r#"{"error":{"code":"Forbidden","message":"Caller is not authorized","innererror":{"code":"ForbiddenByRbac"}}}"#,
            ),
            "/keys/disabled//sign" => Reply::json(
                403,
                r#"{"error":{"code":"Forbidden","message":"Operation sign is not allowed on a disabled key.","innererror":{"code":"KeyDisabled"}}}"#,
            ),
            "/keys/other-key//sign" => Reply::json(
                200,
                r#"{"kid":"https://myvault.vault.azure.net/keys/someone-else/0123456789abcdef0123456789abcdef","value":"AAAA"}"#,
            ),
            "/keys/no-version//sign" => {
                Reply::json(200, r#"{"kid":"https://myvault.vault.azure.net/keys/no-version","value":"AAAA"}"#)
            }
            "/keys/no-value//sign" => Reply::json(
                200,
                r#"{"kid":"https://myvault.vault.azure.net/keys/no-value/0123456789abcdef0123456789abcdef"}"#,
            ),
            "/keys/not-base64//sign" => Reply::json(
                200,
                r#"{"kid":"https://myvault.vault.azure.net/keys/not-base64/0123456789abcdef0123456789abcdef","value":"%%%"}"#,
            ),
            other => panic!("unexpected path {other}"),
        })
    })
    .await;
    let client = azure.client(fast_retry());
    let sign = |name: &str| {
        let key_id = format!("https://myvault.vault.azure.net/keys/{name}");
        let client = client.clone();
        async move { client.kv_sign(&key_id, "ES256", &[1; 32]).await }
    };
    let denied = bounded(sign("denied")).await.unwrap_err();
    assert_eq!(denied.coverage_status(), "denied");
    assert_eq!(denied.error_code(), Some("Forbidden"));
    let disabled = bounded(sign("disabled")).await.unwrap_err();
    assert!(disabled.to_string().contains("disabled key"), "{disabled}");
    for name in ["other-key", "no-version", "no-value", "not-base64"] {
        let error = bounded(sign(name)).await.unwrap_err();
        assert!(matches!(error, Error::Malformed { .. }), "{name}: {error:?}");
    }
}

/// Collectors run calls concurrently with `tokio::spawn`: the client and every call's future must be `Send`.
#[test]
fn the_client_and_its_futures_can_cross_threads() {
    fn assert_send<T: Send>(_: &T) {}
    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>(_: &T) {}
    let client = AzureClient::new(ClientConfig {
        tenant_id: support::TENANT.into(),
        cloud: Cloud::public(),
        credential: CredentialSpec::ClientSecret {
            tenant_id: support::TENANT.into(),
            client_id: support::CLIENT_ID.into(),
            secret: support::SECRET.into(),
        },
        retry: RetryConfig::default(),
        redirect_to_loopback: Some("127.0.0.1:9".parse().unwrap()),
    })
    .unwrap();
    assert_send_sync_clone(&client);
    let vault = "https://myvault.vault.azure.net/";
    assert_send(&client.arm_get(ACCOUNTS, STORAGE_API));
    assert_send(&client.arm_list(ACCOUNTS, STORAGE_API));
    assert_send(&client.resource_graph_query(&[], "resources"));
    assert_send(&client.kv_get_key(vault, "cmk", None));
    assert_send(&client.kv_list_key_versions(vault, "cmk"));
    assert_send(&client.kv_get_rotation_policy(vault, "cmk"));
    assert_send(&client.hsm_list_role_assignments("https://h.managedhsm.azure.net/", "/"));
    assert_send(&client.kv_sign("https://myvault.vault.azure.net/keys/k", "ES256", &[0; 32]));
}
