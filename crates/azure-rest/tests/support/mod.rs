//! A tiny loopback stand-in for Azure used by the tests: an Entra ID token endpoint and a scripted
//! responder for everything else, routed on `x-forwarded-host` like `azure-sim`.

#![allow(dead_code, reason = "each test binary uses part of the support")]

use axum::{
    Router,
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::Response,
};
use azure_rest::{AzureClient, ClientConfig, Cloud, CredentialSpec, LimitConfig, RetryConfig};
use sha2::{Digest, Sha256};
use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

pub const TENANT: &str = "tenant-1";
pub const CLIENT_ID: &str = "app-1";
pub const SECRET: &str = "s3cr3t-test-value";

/// One request the fake Azure saw (token requests excluded).
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub host: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub body: Vec<u8>,
}

impl Seen {
    /// Value of a query parameter, percent-decoded, if present exactly once.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let values: Vec<String> = url::form_urlencoded::parse(self.query.as_bytes())
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .collect();
        (values.len() == 1).then(|| values[0].clone())
    }
}

/// What the fake Azure answers.
#[derive(Debug, Clone)]
pub enum Reply {
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Never answer (well, not within any test).
    Hang,
    /// Answer after a delay, so that requests overlap at the server.
    Later(Duration, Box<Reply>),
}

impl Reply {
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Reply::Answer { status, headers: vec![("content-type".into(), "application/json".into())], body: body.into() }
    }

    pub fn with_header(self, name: &str, value: &str) -> Self {
        match self {
            Reply::Answer { status, mut headers, body } => {
                headers.push((name.into(), value.into()));
                Reply::Answer { status, headers, body }
            }
            Reply::Hang => Reply::Hang,
            Reply::Later(delay, reply) => Reply::Later(delay, Box::new(reply.with_header(name, value))),
        }
    }

    /// This reply, sent `delay` after the request arrived.
    pub fn after(self, delay: Duration) -> Self {
        Reply::Later(delay, Box::new(self))
    }
}

type Responder = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

pub struct FakeAzure {
    pub addr: SocketAddr,
    state: Arc<SimState>,
}

struct SimState {
    token_requests: AtomicUsize,
    token_scopes: Mutex<Vec<String>>,
    token_paths: Mutex<Vec<String>>,
    seen: Mutex<Vec<Seen>>,
    /// Arrivals and answers, in order, by index into `seen`.
    events: Mutex<Vec<Event>>,
    responder: Box<Responder>,
}

#[derive(Debug, Clone, Copy)]
enum Event {
    Arrived(usize),
    Answered(usize),
}

impl FakeAzure {
    /// Starts the server; `responder` gets each non-token request and its 0-based index.
    pub async fn start(responder: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Self {
        let state = Arc::new(SimState {
            token_requests: AtomicUsize::new(0),
            token_scopes: Mutex::new(Vec::new()),
            token_paths: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
            events: Mutex::new(Vec::new()),
            responder: Box::new(responder),
        });
        let app = Router::new().fallback(handle).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, state }
    }

    pub fn token_requests(&self) -> usize {
        self.state.token_requests.load(Ordering::SeqCst)
    }

    pub fn token_scopes(&self) -> Vec<String> {
        self.state.token_scopes.lock().unwrap().clone()
    }

    /// `host/path` of every token request.
    pub fn token_paths(&self) -> Vec<String> {
        self.state.token_paths.lock().unwrap().clone()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// The most requests matching `counted` that were at the server at the same time (arrived, not yet
    /// answered), from the order of arrivals and answers.
    pub fn max_concurrent(&self, counted: impl Fn(&Seen) -> bool) -> usize {
        let seen = self.seen();
        let events = self.state.events.lock().unwrap().clone();
        let (mut now, mut max) = (0usize, 0usize);
        for event in events {
            match event {
                Event::Arrived(index) if counted(&seen[index]) => {
                    now += 1;
                    max = max.max(now);
                }
                Event::Answered(index) if counted(&seen[index]) => now -= 1,
                _ => {}
            }
        }
        max
    }

    /// A client with a client-secret credential whose every request comes here.
    pub fn client(&self, retry: RetryConfig) -> AzureClient {
        AzureClient::new(self.config(retry)).unwrap()
    }

    pub fn config(&self, retry: RetryConfig) -> ClientConfig {
        ClientConfig {
            tenant_id: TENANT.into(),
            cloud: Cloud::public(),
            credential: CredentialSpec::ClientSecret {
                tenant_id: TENANT.into(),
                client_id: CLIENT_ID.into(),
                secret: SECRET.into(),
            },
            retry,
            redirect_to_loopback: Some(self.addr),
        }
    }
}

/// Short delays so retry tests finish quickly; every bound is still finite.
pub fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_retries: 3,
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        retry_after_cap: Duration::from_millis(300),
        per_try_timeout: Duration::from_secs(5),
        total_deadline: Duration::from_secs(20),
        min_remaining_reads: 20,
        limits: LimitConfig::default(),
    }
}

/// Fails the test instead of hanging if the client under test does not respect its bounds.
pub async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), future).await.expect("the client did not finish within 30 s")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn handle(
    State(state): State<Arc<SimState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let host = header("x-forwarded-host").unwrap_or_default();
    let path = uri.path().to_owned();
    if method == Method::POST && path.ends_with("/oauth2/v2.0/token") {
        return token(&state, &format!("{host}{path}"), &body);
    }
    let seen = Seen {
        method: method.to_string(),
        host,
        path,
        query: uri.query().unwrap_or_default().to_owned(),
        authorization: header("authorization"),
        body: body.to_vec(),
    };
    let index = {
        let mut all = state.seen.lock().unwrap();
        all.push(seen.clone());
        let index = all.len() - 1;
        state.events.lock().unwrap().push(Event::Arrived(index));
        index
    };
    let mut reply = (state.responder)(&seen, index);
    loop {
        match reply {
            Reply::Later(delay, later) => {
                tokio::time::sleep(delay).await;
                reply = *later;
            }
            Reply::Answer { status, headers, body } => {
                // Noted before the answer leaves, so nothing the client sends in reaction to it comes first.
                state.events.lock().unwrap().push(Event::Answered(index));
                let mut response = Response::builder().status(StatusCode::from_u16(status).unwrap());
                for (name, value) in headers {
                    response = response.header(name, value);
                }
                return response.body(Body::from(body)).unwrap();
            }
            Reply::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return Response::builder().status(StatusCode::GATEWAY_TIMEOUT).body(Body::empty()).unwrap();
            }
        }
    }
}

/// `POST /{tenant}/oauth2/v2.0/token` with a client-credentials form, like Entra ID.
fn token(state: &SimState, path: &str, body: &[u8]) -> Response {
    let form: Vec<(String, String)> =
        url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    state.token_paths.lock().unwrap().push(path.to_owned());
    let respond = |status: u16, json: String| {
        Response::builder().status(status).header("content-type", "application/json").body(Body::from(json)).unwrap()
    };
    if field("grant_type") != "client_credentials" || field("client_id") != CLIENT_ID {
        return respond(
            400,
            r#"{"error":"invalid_request","error_description":"AADSTS900144: bad form","error_codes":[900144]}"#.into(),
        );
    }
    if field("client_secret") != SECRET {
        return respond(401, r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}"#.into());
    }
    let n = state.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
    state.token_scopes.lock().unwrap().push(field("scope"));
    respond(
        200,
        format!(r#"{{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"tok-{n}"}}"#),
    )
}
