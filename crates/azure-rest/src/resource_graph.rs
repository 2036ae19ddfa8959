//! Azure Resource Graph queries: a read sent as `POST`, paged by `$skipToken` in the request body rather
//! than by `nextLink`.

use crate::{AzureClient, Error, Fetched, ListError, client::Verb, paging::MAX_PAGES};
use serde::Deserialize;
use std::collections::HashSet;

/// Resource Graph api-version (answers `{totalRecords, count, resultTruncated, $skipToken, data}`).
pub(crate) const RESOURCE_GRAPH_API_VERSION: &str = "2024-04-01";
const RESOURCE_GRAPH_PATH: &str = "/providers/Microsoft.ResourceGraph/resources";
/// Rows per page; the service maximum.
const PAGE_ROWS: u32 = 1000;
/// Subscriptions one query may name.
const MAX_SUBSCRIPTIONS: usize = 1000;

/// The parts of a Resource Graph answer paging needs.
#[derive(Deserialize)]
struct GraphPage {
    #[allow(dead_code, reason = "deserialized only to check that `data` is an array")]
    data: Vec<serde::de::IgnoredAny>,
    #[serde(rename = "$skipToken")]
    skip_token: Option<String>,
}

impl AzureClient {
    /// Runs a Resource Graph query over `subscriptions` (at most 1,000): `POST
    /// {arm}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01` with `resultFormat`
    /// `objectArray` and 1,000 rows per page, repeating the query with each `$skipToken` until there is none.
    /// One [`Fetched`] per page (all with the same URL; the pages differ by body). A repeated `$skipToken` is
    /// [`Error::PagingLoop`]; an answer without a `data` array is [`Error::Malformed`].
    pub async fn resource_graph_query(&self, subscriptions: &[String], query: &str) -> Result<Vec<Fetched>, ListError> {
        let no_pages = |error| ListError::new(Vec::new(), error);
        if subscriptions.is_empty() || subscriptions.len() > MAX_SUBSCRIPTIONS {
            return Err(no_pages(Error::Config {
                detail: format!(
                    "a Resource Graph query needs 1 to {MAX_SUBSCRIPTIONS} subscriptions, not {}",
                    subscriptions.len()
                ),
            }));
        }
        let url = self.arm_url(RESOURCE_GRAPH_PATH, RESOURCE_GRAPH_API_VERSION).map_err(no_pages)?;
        let mut pages: Vec<Fetched> = Vec::new();
        let mut seen_tokens: HashSet<String> = HashSet::new();
        let mut skip_token: Option<String> = None;
        loop {
            let mut options = serde_json::json!({ "resultFormat": "objectArray", "$top": PAGE_ROWS });
            if let Some(token) = &skip_token {
                options["$skipToken"] = serde_json::Value::String(token.clone());
            }
            let body = serde_json::json!({
                "subscriptions": subscriptions,
                "query": query,
                "options": options,
            });
            let body = serde_json::to_vec(&body).map_err(|e| {
                ListError::new(
                    Vec::new(),
                    Error::Config { detail: format!("cannot encode the Resource Graph request: {e}") },
                )
            })?;
            let page = match self
                .send(&self.inner().arm, Verb::Post, url.clone(), RESOURCE_GRAPH_API_VERSION, Some(body))
                .await
            {
                Ok(page) => page,
                Err(error) => return Err(ListError::new(pages, error)),
            };
            let next = match serde_json::from_slice::<GraphPage>(&page.body) {
                Ok(parsed) => parsed.skip_token.filter(|t| !t.trim().is_empty()),
                Err(e) => {
                    let error = Error::Malformed {
                        url: page.url,
                        detail: format!("not a Resource Graph answer (needs a `data` array): {e}"),
                    };
                    return Err(ListError::new(pages, error));
                }
            };
            let page_url = page.url.clone();
            pages.push(page);
            let Some(next) = next else {
                return Ok(pages);
            };
            if !seen_tokens.insert(next.clone()) {
                let error = Error::PagingLoop { url: page_url, next_link: format!("$skipToken={next}") };
                return Err(ListError::new(pages, error));
            }
            if pages.len() >= MAX_PAGES {
                let error =
                    Error::Malformed { url: page_url, detail: format!("more than {MAX_PAGES} pages; paging stopped") };
                return Err(ListError::new(pages, error));
            }
            skip_token = Some(next);
        }
    }
}
