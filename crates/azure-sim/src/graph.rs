//! Azure Resource Graph: `POST {arm}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01` with
//! `{"subscriptions", "query", "options": {"resultFormat", "$top", "$skip", "$skipToken"}}`, answered as
//! `{"totalRecords", "count", "data", "facets": [], "resultTruncated": "false", "$skipToken"?}` — same ARM
//! bearer token and faults as the other ARM routes, its own quota (15 queries per 5-second window per principal,
//! every page a query, `x-ms-user-quota-remaining` / `x-ms-user-quota-resets-after` on every answer).
//!
//! The query language is exactly this subset of KQL; anything else is answered 400 `BadRequest` with an
//! `InvalidQuery` detail naming the part not understood, so a client bug is never silently answered:
//! - a table: `resources` or `resourcecontainers`;
//! - `| where type in~ ('a', 'b', ...)`, `| where type !in~ ('a', ...)` or `| where type =~ 'a'` (case-insensitive
//!   type match);
//! - `| project col1, col2, ...` (keep only those top-level columns);
//! - `| order by col [asc|desc] (, col [asc|desc])*` on string columns (`id`, `name`, `type`, `tenantId`,
//!   `kind`, `location`, `resourceGroup`, `subscriptionId`, `managedBy`), compared case-insensitively, ties by
//!   id.
//!
//! Keywords, table names and `asc`/`desc` are case-insensitive; column names are Graph's, case-sensitive; strings
//! take single or double quotes without escapes; whitespace and newlines are free. Stages apply in order: a column
//! a `project` dropped cannot be filtered or ordered on afterwards. Without `order by`, rows come in id order.
//!
//! A `resources` row is the document ARM's `GET` of the resource answers (the same shape functions), plus
//! Graph's columns `tenantId`, `subscriptionId` and `resourceGroup` (lower case), with `type` in lower case (`id`
//! keeps ARM's casing). Every top-level resource the ARM lists of the subscription return is a row; child
//! resources (SQL encryption protectors and server keys, Container Apps certificates, role assignments) and the
//! Key Vault data plane are not — Graph does not hold them. A `resourcecontainers` row is one subscription:
//! `{id, name (display name), type: "microsoft.resources/subscriptions", subscriptionId, tenantId,
//! properties: {state}}`. Like Azure, Graph silently leaves out what the principal cannot read: subscriptions
//! not in the tenant, denied subscriptions, resource types denied in a subscription. Without `subscriptions`, the
//! query covers every subscription the principal can read; more than 1,000 is refused.
//!
//! Pages hold `min($top, 1000)` rows (default 1,000), starting at `$skip`; `$skipToken` is base64url of the
//! offset and a fingerprint of the query and subscriptions, so a token of another query is refused with 400. The
//! ordered row list of a query is kept between its pages: nothing a running simulator does adds, removes or
//! reorders resources.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::arm::{self, arm_error};
use crate::arm_shapes::Cloud;
use crate::faults::FaultAction;
use crate::listing::{EstateIndex, Slot};
use crate::material;
use crate::quota::{Take, hh_mm_ss, whole_seconds_up};
use crate::resource_id::segments;
use crate::scenario::{Scenario, SubscriptionSpec};
use crate::server::{Incoming, Reply, Sim};
use crate::timestamps;

const QUOTA_REMAINING: &str = "x-ms-user-quota-remaining";
const QUOTA_RESETS_AFTER: &str = "x-ms-user-quota-resets-after";
/// Rows per page at most (the service maximum).
const MAX_ROWS: u64 = 1_000;
/// Subscriptions one query may name.
const MAX_SUBSCRIPTIONS: usize = 1_000;
/// Ordered queries kept for their next pages; more distinct queries than this start the cache afresh.
const CACHED_QUERIES: usize = 64;

/// Columns of Graph's `resources` and `resourcecontainers` tables.
const COLUMNS: &[&str] = &[
    "id",
    "name",
    "type",
    "tenantId",
    "kind",
    "location",
    "resourceGroup",
    "subscriptionId",
    "managedBy",
    "sku",
    "plan",
    "properties",
    "tags",
    "identity",
    "zones",
    "extendedLocation",
];

/// Columns of type string, the ones `order by` takes.
const STRING_COLUMNS: &[&str] =
    &["id", "name", "type", "tenantId", "kind", "location", "resourceGroup", "subscriptionId", "managedBy"];

/// Whether `path` is the Resource Graph query endpoint.
pub(crate) fn is_graph_path(path: &str) -> bool {
    let lower: Vec<String> = segments(path).into_iter().map(|s| s.to_ascii_lowercase()).collect();
    lower == ["providers", "microsoft.resourcegraph", "resources"]
}

/// Ordered rows of `resources` queries, by fingerprint, so that page n of a large query does not sort again.
#[derive(Debug, Default)]
pub(crate) struct QueryCache {
    rows: Mutex<HashMap<String, Arc<Vec<Slot>>>>,
}

impl QueryCache {
    fn get(&self, fingerprint: &str) -> Option<Arc<Vec<Slot>>> {
        self.rows.lock().unwrap_or_else(|p| p.into_inner()).get(fingerprint).cloned()
    }

    fn put(&self, fingerprint: String, rows: Arc<Vec<Slot>>) {
        let mut cache = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHED_QUERIES {
            cache.clear();
        }
        cache.insert(fingerprint, rows);
    }
}

// -------------------------------------------------------------------------------------------------------------
// The query language.
// -------------------------------------------------------------------------------------------------------------

/// A table Graph queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Resources,
    ResourceContainers,
}

/// One `| ...` stage.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// `where type in~ (...)` / `where type =~ '...'`: lower-case types.
    WhereType(Vec<String>),
    /// `where type !in~ (...)`: lower-case types a row must not have.
    WhereTypeNot(Vec<String>),
    /// `project a, b`.
    Project(Vec<String>),
    /// `order by a asc, b desc`: `(column, descending)`.
    OrderBy(Vec<(String, bool)>),
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Query {
    table: Table,
    stages: Vec<Stage>,
}

impl Query {
    /// Whether a row of lower-case type `ty` passes every `where type` stage.
    fn type_matches(&self, ty: &str) -> bool {
        self.stages.iter().all(|stage| match stage {
            Stage::WhereType(types) => types.iter().any(|t| t == ty),
            Stage::WhereTypeNot(types) => !types.iter().any(|t| t == ty),
            _ => true,
        })
    }

    /// The last `order by`, which decides the final order.
    fn order(&self) -> Option<&[(String, bool)]> {
        self.stages.iter().rev().find_map(|s| match s {
            Stage::OrderBy(keys) => Some(keys.as_slice()),
            _ => None,
        })
    }

    /// The last `project`, which decides the columns of the answer.
    fn projection(&self) -> Option<&[String]> {
        self.stages.iter().rev().find_map(|s| match s {
            Stage::Project(columns) => Some(columns.as_slice()),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Text(String),
    Pipe,
    Comma,
    Open,
    Close,
    /// `in~`
    InCi,
    /// `!in~`
    NotInCi,
    /// `=~`
    EqCi,
    /// A character outside the subset (kept so the parser can say where it stopped understanding).
    Other(char),
}

impl Token {
    fn show(&self) -> String {
        match self {
            Token::Word(w) => format!("'{w}'"),
            Token::Text(t) => format!("the string '{t}'"),
            Token::Pipe => "'|'".into(),
            Token::Comma => "','".into(),
            Token::Open => "'('".into(),
            Token::Close => "')'".into(),
            Token::InCi => "'in~'".into(),
            Token::NotInCi => "'!in~'".into(),
            Token::EqCi => "'=~'".into(),
            Token::Other(c) => format!("'{c}'"),
        }
    }
}

fn lex(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '|' => {
                out.push(Token::Pipe);
                i += 1;
            }
            ',' => {
                out.push(Token::Comma);
                i += 1;
            }
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '!' if chars.get(i + 1..i + 4) == Some(&['i', 'n', '~'][..]) => {
                out.push(Token::NotInCi);
                i += 4;
            }
            '=' if chars.get(i + 1) == Some(&'~') => {
                out.push(Token::EqCi);
                i += 2;
            }
            '\'' | '"' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&x| x == c)
                    .ok_or_else(|| format!("the string starting at character {} is not closed", i + 1))?;
                let literal: String = chars[i + 1..i + 1 + end].iter().collect();
                if literal.contains('\\') {
                    return Err(format!("the escape sequence in the string '{literal}'"));
                }
                out.push(Token::Text(literal));
                i += end + 2;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if word.eq_ignore_ascii_case("in") && chars.get(i) == Some(&'~') {
                    out.push(Token::InCi);
                    i += 1;
                } else {
                    out.push(Token::Word(word));
                }
            }
            other => {
                out.push(Token::Other(other));
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Reads tokens for [`parse`].
struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn unexpected(&self, wanted: &str) -> String {
        match self.tokens.get(self.at.saturating_sub(1)) {
            Some(t) => format!("{} where {wanted} was expected", t.show()),
            None => format!("the end of the query where {wanted} was expected"),
        }
    }

    fn word(&mut self, wanted: &str) -> Result<String, String> {
        match self.next() {
            Some(Token::Word(w)) => Ok(w),
            _ => Err(self.unexpected(wanted)),
        }
    }

    fn keyword(&mut self, keyword: &str) -> Result<(), String> {
        match self.next() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword) => Ok(()),
            _ => Err(self.unexpected(&format!("'{keyword}'"))),
        }
    }

    fn text(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Text(t)) => Ok(t),
            _ => Err(self.unexpected("a quoted string")),
        }
    }

    /// A column that exists at this point of the query.
    fn column(&mut self, available: &[String]) -> Result<String, String> {
        let name = self.word("a column name")?;
        if available.contains(&name) {
            Ok(name)
        } else {
            Err(format!("the column '{name}' (columns here: {})", available.join(", ")))
        }
    }

    fn at_stage_end(&self) -> bool {
        matches!(self.peek(), None | Some(Token::Pipe))
    }
}

/// Parse the supported KQL subset; `Err` names the part not understood.
fn parse(text: &str) -> Result<Query, String> {
    let mut p = Parser { tokens: lex(text)?, at: 0 };
    let table = match p.next() {
        Some(Token::Word(w)) if w.eq_ignore_ascii_case("resources") => Table::Resources,
        Some(Token::Word(w)) if w.eq_ignore_ascii_case("resourcecontainers") => Table::ResourceContainers,
        Some(t) => return Err(format!("the table {} (tables: resources, resourcecontainers)", t.show())),
        None => return Err("an empty query".into()),
    };
    let mut available: Vec<String> = COLUMNS.iter().map(|c| (*c).to_string()).collect();
    let mut stages = Vec::new();
    while let Some(token) = p.next() {
        if token != Token::Pipe {
            return Err(format!("{} where '|' or the end of the query was expected", token.show()));
        }
        let operator = p.word("an operator (where, project, order by)")?;
        let stage = match operator.to_ascii_lowercase().as_str() {
            "where" => {
                let column = p.word("'type'")?;
                if column != "type" {
                    return Err(format!("'where {column}' (only 'where type in~ (...)' and 'where type =~ ...')"));
                }
                if !available.iter().any(|c| c == "type") {
                    return Err("the column 'type', which an earlier project dropped".into());
                }
                let (types, negated) = match p.next() {
                    Some(Token::EqCi) => (vec![p.text()?], false),
                    Some(list @ (Token::InCi | Token::NotInCi)) => {
                        match p.next() {
                            Some(Token::Open) => {}
                            _ => return Err(p.unexpected("'('")),
                        }
                        let mut types = vec![p.text()?];
                        loop {
                            match p.next() {
                                Some(Token::Comma) => types.push(p.text()?),
                                Some(Token::Close) => break,
                                _ => return Err(p.unexpected("',' or ')'")),
                            }
                        }
                        (types, list == Token::NotInCi)
                    }
                    _ => return Err(p.unexpected("'in~', '!in~' or '=~' (other comparisons are not simulated)")),
                };
                let types = types.iter().map(|t| t.to_ascii_lowercase()).collect();
                match negated {
                    true => Stage::WhereTypeNot(types),
                    false => Stage::WhereType(types),
                }
            }
            "project" => {
                let mut columns = vec![p.column(&available)?];
                while p.peek() == Some(&Token::Comma) {
                    p.next();
                    columns.push(p.column(&available)?);
                }
                available = columns.clone();
                Stage::Project(columns)
            }
            "order" => {
                p.keyword("by")?;
                let mut keys = Vec::new();
                loop {
                    let column = p.column(&available)?;
                    if !STRING_COLUMNS.contains(&column.as_str()) {
                        return Err(format!(
                            "'order by {column}': only string columns are ordered ({})",
                            STRING_COLUMNS.join(", ")
                        ));
                    }
                    let descending = match p.peek() {
                        Some(Token::Word(w)) if w.eq_ignore_ascii_case("desc") => {
                            p.next();
                            true
                        }
                        Some(Token::Word(w)) if w.eq_ignore_ascii_case("asc") => {
                            p.next();
                            false
                        }
                        _ => false,
                    };
                    keys.push((column, descending));
                    if p.peek() == Some(&Token::Comma) {
                        p.next();
                    } else {
                        break;
                    }
                }
                Stage::OrderBy(keys)
            }
            _ => return Err(format!("the operator '{operator}' (operators: where, project, order by)")),
        };
        if !p.at_stage_end() {
            let stray = p.next().map(|t| t.show()).unwrap_or_default();
            return Err(format!("{stray} after '{operator}'"));
        }
        stages.push(stage);
    }
    Ok(Query { table, stages })
}

// -------------------------------------------------------------------------------------------------------------
// The endpoint.
// -------------------------------------------------------------------------------------------------------------

/// What the request body asks, checked.
#[derive(Debug)]
struct GraphRequest {
    /// Lower-case subscription ids asked for; `None` = every readable one.
    subscriptions: Option<Vec<String>>,
    query_text: String,
    query: Query,
    top: u64,
    skip: u64,
    skip_token: Option<String>,
}

/// 400 as Graph writes it: a `BadRequest` with one detail.
fn bad_request(sim: &Sim, detail_code: &str, detail: &str) -> Reply {
    let now = timestamps::arm(sim.estate().now);
    Reply::json(
        StatusCode::BAD_REQUEST,
        &json!({
            "error": {
                "code": "BadRequest",
                "message": format!(
                    "Please provide below info when asking for support: timestamp = {now}, correlationId = {}.",
                    material::random_guid()
                ),
                "details": [{ "code": detail_code, "message": detail }],
            }
        }),
    )
}

fn invalid_query(sim: &Sim, part: &str) -> Reply {
    bad_request(
        sim,
        "InvalidQuery",
        &format!(
            "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the \
             error before retrying. azure-sim understands resources | resourcecontainers with where type in~ \
             (...) / where type =~ '...', project and order by; it did not understand {part}."
        ),
    )
}

fn read_request(sim: &Sim, body: &[u8]) -> Result<GraphRequest, Reply> {
    let invalid = |what: &str| bad_request(sim, "InvalidRequestContent", what);
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| invalid(&format!("The request content is not a valid JSON object: {e}.")))?;
    let Some(object) = value.as_object() else {
        return Err(invalid("The request content must be a JSON object with 'query'."));
    };
    let query_text = match object.get("query") {
        Some(Value::String(q)) => q.clone(),
        _ => return Err(invalid("The request content needs a string 'query'.")),
    };
    let subscriptions = match object.get("subscriptions") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let mut subs = Vec::with_capacity(items.len());
            for item in items {
                match item.as_str() {
                    Some(s) => subs.push(s.to_ascii_lowercase()),
                    None => return Err(invalid("'subscriptions' must be an array of subscription ids.")),
                }
            }
            if subs.len() > MAX_SUBSCRIPTIONS {
                return Err(invalid(&format!(
                    "A query may name at most {MAX_SUBSCRIPTIONS} subscriptions, not {}.",
                    subs.len()
                )));
            }
            Some(subs)
        }
        Some(_) => return Err(invalid("'subscriptions' must be an array of subscription ids.")),
    };
    let options = match object.get("options") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(o)) => o.clone(),
        Some(_) => return Err(invalid("'options' must be an object.")),
    };
    match options.get("resultFormat").and_then(Value::as_str) {
        None => {}
        Some(f) if f.eq_ignore_ascii_case("objectArray") => {}
        Some(f) => {
            return Err(invalid(&format!("resultFormat '{f}' is not simulated: azure-sim answers objectArray only.")));
        }
    }
    let number = |name: &str, default: u64| -> Result<u64, Reply> {
        match options.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v.as_u64().ok_or_else(|| invalid(&format!("'{name}' must be a whole number of rows."))),
        }
    };
    let top = number("$top", MAX_ROWS)?;
    if top == 0 {
        return Err(invalid("'$top' must be at least 1."));
    }
    let skip = number("$skip", 0)?;
    let skip_token = match options.get("$skipToken") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => return Err(invalid("'$skipToken' must be a string.")),
    };
    let query = parse(&query_text).map_err(|part| invalid_query(sim, &part))?;
    Ok(GraphRequest { subscriptions, query_text, query, top: top.min(MAX_ROWS), skip, skip_token })
}

/// What identifies a query's rows: its text and the subscriptions it covers.
fn fingerprint(request: &GraphRequest) -> String {
    let mut subs = request.subscriptions.clone().unwrap_or_else(|| vec!["*".into()]);
    subs.sort();
    subs.dedup();
    let digest = Sha256::digest(format!("{}\n{}", request.query_text, subs.join(",")).as_bytes());
    hex::encode(&digest[..12])
}

fn encode_skip(offset: u64, fingerprint: &str) -> String {
    material::base64url(json!({ "offset": offset, "query": fingerprint }).to_string().as_bytes())
}

/// The offset a `$skipToken` carries, if it was issued for this query.
fn decode_skip(token: &str, fingerprint: &str) -> Option<u64> {
    let bytes = material::base64url_decode(token)?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    (value.get("query")?.as_str()? == fingerprint).then_some(())?;
    value.get("offset")?.as_u64()
}

/// Answer one Resource Graph request.
pub(crate) async fn answer(sim: &Sim, request: &Incoming) -> Reply {
    if let Some(refused) = arm::authenticate(sim, request) {
        return refused;
    }
    let principal = sim.object_id.clone();
    let quota_headers = |reply: Reply, remaining: u64, resets_after: std::time::Duration| {
        reply.header(QUOTA_REMAINING, remaining.to_string()).header(QUOTA_RESETS_AFTER, hh_mm_ss(resets_after))
    };
    let mut truncate = false;
    match sim.fire_fault(request) {
        Some(FaultAction::Respond { kind, retry_after }) => {
            let segs = segments(&request.path);
            let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
            let reply = arm::fault(sim, &segs, &lower, kind);
            let reply = match retry_after {
                Some(s) => reply.header("retry-after", s.to_string()),
                None => reply,
            };
            let (remaining, resets_after) = sim.limits.graph.peek(&principal);
            return quota_headers(reply, remaining, resets_after);
        }
        Some(FaultAction::Delay(d)) => tokio::time::sleep(d).await,
        Some(FaultAction::Truncate) => truncate = true,
        None => {}
    }
    let (remaining, resets_after) = match sim.limits.graph.take(&principal) {
        Take::Granted { remaining, resets_after } => (remaining, resets_after),
        Take::Throttled { retry_after, resets_after } => {
            let now = timestamps::arm(sim.estate().now);
            let reply = arm_error(
                StatusCode::TOO_MANY_REQUESTS,
                "RateLimiting",
                &format!(
                    "Please provide below info when asking for support: timestamp = {now}, correlationId = {}. \
                     Client application has been throttled and should not attempt to repeat the request until an \
                     amount of time has elapsed. Please see https://aka.ms/resourcegraph-throttling for help.",
                    material::random_guid()
                ),
            )
            .header("retry-after", whole_seconds_up(resets_after).max(retry_after).to_string());
            return quota_headers(reply, 0, resets_after);
        }
    };
    let mut reply = serve(sim, request);
    if truncate {
        reply.truncate();
    }
    quota_headers(reply, remaining, resets_after)
}

fn serve(sim: &Sim, request: &Incoming) -> Reply {
    if request.method != Method::POST {
        return arm_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!("Resource Graph queries are sent with POST, not {}.", request.method),
        );
    }
    if let Some(refused) = arm::refuse_api_version(request, "2024-04-01") {
        return refused;
    }
    let asked = match read_request(sim, &request.body) {
        Ok(asked) => asked,
        Err(reply) => return reply,
    };
    let fingerprint = fingerprint(&asked);
    let offset = match &asked.skip_token {
        None => asked.skip,
        Some(token) => match decode_skip(token, &fingerprint) {
            Some(offset) => offset,
            None => {
                return bad_request(
                    sim,
                    "InvalidSkipToken",
                    "The $skipToken is not valid for this query: send it with the same query and subscriptions \
                     that returned it.",
                );
            }
        },
    };
    let estate = sim.estate();
    let cloud = Cloud::of_arm_host(&request.host);
    let readable: Vec<&SubscriptionSpec> = match &asked.subscriptions {
        None => estate.subscriptions.iter().filter(|s| s.readable()).collect(),
        Some(asked) => {
            let asked: HashSet<&str> = asked.iter().map(String::as_str).collect();
            estate
                .subscriptions
                .iter()
                .filter(|s| s.readable() && asked.contains(s.id.to_ascii_lowercase().as_str()))
                .collect()
        }
    };
    let (total, data) = match asked.query.table {
        Table::Resources => {
            let rows = match sim.graph_cache.get(&fingerprint) {
                Some(rows) => rows,
                None => {
                    let rows = Arc::new(resource_rows(&estate, &readable, &asked.query));
                    sim.graph_cache.put(fingerprint.clone(), Arc::clone(&rows));
                    rows
                }
            };
            let page = page_of(&rows, offset, asked.top);
            let data: Vec<Value> = page
                .iter()
                .filter_map(|slot| slot.item(&estate))
                .map(|item| {
                    let row = graph_row(
                        item.render(&estate, cloud),
                        &estate.tenant.id,
                        item.subscription(),
                        item.resource_group(),
                    );
                    project(row, asked.query.projection())
                })
                .collect();
            (rows.len(), data)
        }
        Table::ResourceContainers => {
            let rows = container_rows(&estate, &readable, &asked.query);
            let data = page_of(&rows, offset, asked.top)
                .iter()
                .map(|row| project(row.clone(), asked.query.projection()))
                .collect();
            (rows.len(), data)
        }
    };
    let count = data.len();
    let next = offset.saturating_add(count as u64);
    // Built by moving the rows in: `json!` would copy every document once more.
    let mut body = Map::new();
    body.insert("totalRecords".into(), json!(total));
    body.insert("count".into(), json!(count));
    body.insert("data".into(), Value::Array(data));
    body.insert("facets".into(), json!([]));
    body.insert("resultTruncated".into(), json!("false"));
    if count > 0 && next < total as u64 {
        body.insert("$skipToken".into(), json!(encode_skip(next, &fingerprint)));
    }
    Reply::json(StatusCode::OK, &Value::Object(body))
}

fn page_of<T>(rows: &[T], offset: u64, top: u64) -> &[T] {
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(rows.len());
    let end = start.saturating_add(usize::try_from(top).unwrap_or(usize::MAX)).min(rows.len());
    &rows[start..end]
}

/// The resources a query returns, in its order (id order unless it says `order by`).
fn resource_rows(estate: &Scenario, readable: &[&SubscriptionSpec], query: &Query) -> Vec<Slot> {
    let built;
    let index = match &estate.index {
        Some(index) => index.as_ref(),
        None => {
            built = EstateIndex::build(estate);
            &built
        }
    };
    let subscriptions: HashMap<String, &SubscriptionSpec> =
        readable.iter().map(|s| (s.id.to_ascii_lowercase(), *s)).collect();
    // Sorted by lower-case id already: the default order and every tie-break.
    let rows: Vec<&(String, String, String, Slot)> = index
        .sorted()
        .iter()
        .filter(|(_, sub, ty, _)| query.type_matches(ty) && subscriptions.get(sub).is_some_and(|s| s.can_read(ty)))
        .collect();
    let Some(order) = query.order() else {
        return rows.into_iter().map(|(_, _, _, slot)| *slot).collect();
    };
    let mut keyed: Vec<(Vec<String>, Slot)> = rows
        .into_iter()
        .filter_map(|(key, sub, ty, slot)| {
            let item = slot.item(estate)?;
            let mut rendered: Option<Value> = None;
            let values = order
                .iter()
                .map(|(column, _)| match column.as_str() {
                    "id" => key.clone(),
                    "name" => item.name().to_ascii_lowercase(),
                    "type" => ty.clone(),
                    "location" => item.location().to_ascii_lowercase(),
                    "resourceGroup" => item.resource_group().unwrap_or_default().to_ascii_lowercase(),
                    "subscriptionId" => sub.clone(),
                    "tenantId" => estate.tenant.id.to_ascii_lowercase(),
                    // kind, managedBy: only the rendered document knows.
                    other => {
                        let doc = rendered.get_or_insert_with(|| item.render(estate, Cloud::of_arm_host("")));
                        column_text(doc, other)
                    }
                })
                .collect();
            Some((values, *slot))
        })
        .collect();
    // A stable sort over rows in id order: ties keep id order.
    keyed.sort_by(|(a, _), (b, _)| compare(a, b, order));
    keyed.into_iter().map(|(_, slot)| slot).collect()
}

/// The subscriptions a `resourcecontainers` query returns, in its order.
fn container_rows(estate: &Scenario, readable: &[&SubscriptionSpec], query: &Query) -> Vec<Value> {
    let mut rows: Vec<Value> = readable
        .iter()
        .map(|s| {
            json!({
                "id": format!("/subscriptions/{}", s.id),
                "name": s.display_name,
                "type": "microsoft.resources/subscriptions",
                "subscriptionId": s.id,
                "tenantId": estate.tenant.id,
                "properties": { "state": s.state },
            })
        })
        .filter(|row| query.type_matches(&column_text(row, "type")))
        .collect();
    rows.sort_by_key(|row| column_text(row, "id"));
    if let Some(order) = query.order() {
        let values = |row: &Value| order.iter().map(|(c, _)| column_text(row, c)).collect::<Vec<_>>();
        rows.sort_by(|a, b| compare(&values(a), &values(b), order));
    }
    rows
}

/// A string column of a row, lower case for case-insensitive ordering ("" when absent or not a string).
fn column_text(row: &Value, column: &str) -> String {
    row.get(column).and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase()
}

fn compare(a: &[String], b: &[String], order: &[(String, bool)]) -> std::cmp::Ordering {
    for ((x, y), (_, descending)) in a.iter().zip(b).zip(order) {
        let o = if *descending { y.cmp(x) } else { x.cmp(y) };
        if o.is_ne() {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

/// ARM's document of a resource with Graph's columns: `tenantId`, `subscriptionId`, `resourceGroup` (lower
/// case) and `type` in lower case.
fn graph_row(doc: Value, tenant: &str, subscription: &str, resource_group: Option<&str>) -> Value {
    let Value::Object(mut row) = doc else {
        return doc;
    };
    if let Some(ty) = row.get("type").and_then(Value::as_str).map(str::to_ascii_lowercase) {
        row.insert("type".into(), json!(ty));
    }
    row.insert("tenantId".into(), json!(tenant));
    row.insert("subscriptionId".into(), json!(subscription));
    row.insert("resourceGroup".into(), json!(resource_group.unwrap_or_default().to_ascii_lowercase()));
    Value::Object(row)
}

/// Keep only `columns` of a row (a column the row lacks stays absent).
fn project(row: Value, columns: Option<&[String]>) -> Value {
    match (columns, row) {
        (Some(columns), Value::Object(mut all)) => {
            let mut out = Map::new();
            for column in columns {
                if let Some(v) = all.remove(column) {
                    out.insert(column.clone(), v);
                }
            }
            Value::Object(out)
        }
        (_, row) => row,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Query {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn refused(text: &str, needle: &str) {
        match parse(text) {
            Ok(q) => panic!("{text} parsed as {q:?}"),
            Err(e) => assert!(e.contains(needle), "{text}: '{needle}' not in: {e}"),
        }
    }

    #[test]
    fn the_subset_parses() {
        let q = ok("Resources\n| where type in~ ('Microsoft.Storage/storageAccounts', \"microsoft.compute/disks\")\n\
                    | project id, name, type, properties\n| ORDER BY name desc, id asc");
        assert_eq!(q.table, Table::Resources);
        assert_eq!(
            q.stages,
            vec![
                Stage::WhereType(vec!["microsoft.storage/storageaccounts".into(), "microsoft.compute/disks".into()]),
                Stage::Project(vec!["id".into(), "name".into(), "type".into(), "properties".into()]),
                Stage::OrderBy(vec![("name".into(), true), ("id".into(), false)]),
            ]
        );
        let q = ok("resourcecontainers|where type=~'microsoft.resources/subscriptions'");
        assert_eq!(q.table, Table::ResourceContainers);
        assert!(q.type_matches("microsoft.resources/subscriptions") && !q.type_matches("microsoft.compute/disks"));
        let q = ok("resources | where type !in~ ('Microsoft.Compute/disks', 'a/b') | project id, type");
        assert_eq!(q.stages[0], Stage::WhereTypeNot(vec!["microsoft.compute/disks".into(), "a/b".into()]));
        assert!(!q.type_matches("microsoft.compute/disks") && q.type_matches("microsoft.storage/storageaccounts"));
        assert_eq!(ok("resources").stages, vec![]);
    }

    #[test]
    fn anything_else_is_refused_naming_the_part() {
        refused("securityresources", "the table 'securityresources'");
        refused("resources | where name =~ 'x'", "'where name'");
        refused("resources | where type == 'x'", "'=' where 'in~', '!in~' or '=~'");
        refused("resources | where type has 'x'", "'in~', '!in~' or '=~'");
        refused("resources | where type in ('x')", "'in'");
        refused("resources | extend a = 1", "the operator 'extend'");
        refused("resources | project id | where type =~ 'x'", "an earlier project dropped");
        refused("resources | project id | order by name", "the column 'name'");
        refused("resources | order by properties", "only string columns");
        refused("resources | project ID", "the column 'ID'");
        refused("resources | where type =~ 'x' and type =~ 'y'", "'and' after 'where'");
        refused("resources | limit 5", "the operator 'limit'");
        refused("resources | where type in~ ('a' 'b')", "',' or ')'");
        refused("resources | where type =~ 'a", "not closed");
        refused("resources | where type =~ 'a\\'b'", "escape");
        refused("resources | take 1 | ", "the operator 'take'");
        refused("resources | ", "an operator");
        refused("", "an empty query");
        refused("resources | summarize count()", "the operator 'summarize'");
    }

    #[test]
    fn skip_tokens_belong_to_their_query() {
        let token = encode_skip(2_000, "abc");
        assert_eq!(decode_skip(&token, "abc"), Some(2_000));
        assert_eq!(decode_skip(&token, "abd"), None);
        assert_eq!(decode_skip("garbage!", "abc"), None);
    }

    #[test]
    fn rows_get_graph_columns_and_projection_keeps_only_what_was_asked() {
        let doc = json!({ "id": "/subscriptions/S/resourceGroups/RG-A/providers/Microsoft.Storage/storageAccounts/x",
                          "type": "Microsoft.Storage/storageAccounts", "properties": { "a": 1 } });
        let row = graph_row(doc, "t", "S", Some("RG-A"));
        assert_eq!(row["type"], "microsoft.storage/storageaccounts");
        assert_eq!(row["resourceGroup"], "rg-a");
        assert_eq!(row["subscriptionId"], "S");
        assert_eq!(row["tenantId"], "t");
        assert!(row["id"].as_str().unwrap_or_default().contains("resourceGroups/RG-A"), "id keeps ARM's casing");
        let projected = project(row, Some(&["id".to_string(), "kind".to_string()]));
        assert_eq!(projected.as_object().map(|o| o.len()), Some(1));
    }
}
