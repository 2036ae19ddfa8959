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
    /// [`Error::PagingLoop`]; an answer without a `data` array is [`Error::Malformed`]. Holds every page: for
    /// large answers, page with [`GraphPaging`] instead.
    pub async fn resource_graph_query(&self, subscriptions: &[String], query: &str) -> Result<Vec<Fetched>, ListError> {
        let mut paging = GraphPaging::new(subscriptions, query);
        let mut pages: Vec<Fetched> = Vec::new();
        loop {
            match paging.next_page(self).await {
                Ok(Some(page)) => pages.push(page),
                Ok(None) => return Ok(pages),
                Err(error) => return Err(ListError::new(pages, error)),
            }
        }
    }
}

/// One Resource Graph query, page by page, so a caller can turn each page into rows before asking for the next
/// (a 100k-resource tenant is 100 pages of 1,000 rows): `while let Some(page) = paging.next_page(&client).await?`.
#[derive(Debug)]
pub struct GraphPaging {
    subscriptions: Vec<String>,
    query: String,
    skip_token: Option<String>,
    seen_tokens: HashSet<String>,
    pages: usize,
    done: bool,
}

impl GraphPaging {
    /// A query over `subscriptions` (1 to 1,000; checked by the first [`GraphPaging::next_page`]).
    pub fn new(subscriptions: &[String], query: &str) -> Self {
        Self {
            subscriptions: subscriptions.to_vec(),
            query: query.to_string(),
            skip_token: None,
            seen_tokens: HashSet::new(),
            pages: 0,
            done: false,
        }
    }

    /// Pages read so far.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// The next page, or `None` after the last. A repeated `$skipToken` is [`Error::PagingLoop`]; an answer
    /// without a `data` array is [`Error::Malformed`]; after an error the paging is over.
    pub async fn next_page(&mut self, client: &AzureClient) -> Result<Option<Fetched>, Error> {
        if self.done {
            return Ok(None);
        }
        // Whatever happens below, a failed page ends the paging.
        self.done = true;
        if self.subscriptions.is_empty() || self.subscriptions.len() > MAX_SUBSCRIPTIONS {
            return Err(Error::Config {
                detail: format!(
                    "a Resource Graph query needs 1 to {MAX_SUBSCRIPTIONS} subscriptions, not {}",
                    self.subscriptions.len()
                ),
            });
        }
        let url = client.arm_url(RESOURCE_GRAPH_PATH, RESOURCE_GRAPH_API_VERSION)?;
        let mut options = serde_json::json!({ "resultFormat": "objectArray", "$top": PAGE_ROWS });
        if let Some(token) = &self.skip_token {
            options["$skipToken"] = serde_json::Value::String(token.clone());
        }
        let body = serde_json::json!({
            "subscriptions": self.subscriptions,
            "query": self.query,
            "options": options,
        });
        let body = serde_json::to_vec(&body)
            .map_err(|e| Error::Config { detail: format!("cannot encode the Resource Graph request: {e}") })?;
        let page = client.send(&client.inner().arm, Verb::Post, url, RESOURCE_GRAPH_API_VERSION, Some(body)).await?;
        let next = match serde_json::from_slice::<GraphPage>(&page.body) {
            Ok(parsed) => parsed.skip_token.filter(|t| !t.trim().is_empty()),
            Err(e) => {
                return Err(Error::Malformed {
                    url: page.url,
                    detail: format!("not a Resource Graph answer (needs a `data` array): {e}"),
                });
            }
        };
        self.pages += 1;
        if let Some(next) = next {
            if !self.seen_tokens.insert(next.clone()) {
                return Err(Error::PagingLoop { url: page.url, next_link: format!("$skipToken={next}") });
            }
            if self.pages >= MAX_PAGES {
                return Err(Error::Malformed {
                    url: page.url,
                    detail: format!("more than {MAX_PAGES} pages; paging stopped"),
                });
            }
            self.skip_token = Some(next);
            self.done = false;
        }
        Ok(Some(page))
    }
}
