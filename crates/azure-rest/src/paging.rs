//! Following `nextLink` through list pages: api-version repair, loop detection, a page cap, and a host check
//! so a `nextLink` can never carry our bearer token to another host.

use crate::{AzureClient, Error, Fetched, ListError};
use azure_core::http::{Pipeline, Url};
use serde::Deserialize;
use std::collections::HashSet;

/// Most pages one list may have; a service that keeps inventing new links is stopped here.
pub(crate) const MAX_PAGES: usize = 10_000;

/// The parts of a list page paging needs. `value` is checked to be an array without building its items.
#[derive(Deserialize)]
struct ListPage {
    #[allow(dead_code, reason = "deserialized only to check that `value` is an array")]
    value: Vec<serde::de::IgnoredAny>,
    #[serde(rename = "nextLink")]
    next_link: Option<String>,
}

/// The `nextLink` of a list page (`None` when absent, null or empty), or why the page is unusable.
pub(crate) fn next_link_of(body: &[u8]) -> Result<Option<String>, String> {
    let page: ListPage = serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            format!("not a list page (needs a `value` array and a string `nextLink`): {e}")
        } else {
            format!("not valid JSON: {e}")
        }
    })?;
    Ok(page.next_link.filter(|link| !link.trim().is_empty()))
}

/// An api-version is something like `2025-06-01`, `2024-04-01-preview` or `7.6`.
pub(crate) fn validate_api_version(api_version: &str) -> Result<(), Error> {
    let valid =
        !api_version.is_empty() && api_version.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if valid { Ok(()) } else { Err(Error::Config { detail: format!("api-version '{api_version}' is not valid") }) }
}

/// Replaces every `api-version` in the query (missing, duplicated or malformed, as some `nextLink`s are)
/// with `api_version`. The other query parameters keep their exact encoding, so opaque skip tokens survive.
pub(crate) fn force_api_version(url: &mut Url, api_version: &str) {
    let is_api_version = |pair: &&str| {
        let key = pair.split('=').next().unwrap_or_default();
        url::form_urlencoded::parse(key.as_bytes())
            .next()
            .is_some_and(|(key, _)| key.trim().eq_ignore_ascii_case("api-version"))
    };
    let mut query: Vec<String> = url
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| !is_api_version(pair))
        .map(str::to_owned)
        .collect();
    let encoded: String = url::form_urlencoded::byte_serialize(api_version.as_bytes()).collect();
    query.push(format!("api-version={encoded}"));
    url.set_query(Some(&query.join("&")));
}

/// Where a `nextLink` leads, as it will be requested: resolved against the page URL, on the same origin,
/// with our api-version.
pub(crate) fn next_url(page_url: &Url, next_link: &str, api_version: &str) -> Result<Url, String> {
    let mut next = page_url.join(next_link.trim()).map_err(|e| format!("nextLink '{next_link}' is not a URL: {e}"))?;
    if next.origin() != page_url.origin() {
        return Err(format!(
            "nextLink '{next_link}' leaves {}; not followed so no token goes to another host",
            page_url.origin().ascii_serialization()
        ));
    }
    force_api_version(&mut next, api_version);
    Ok(next)
}

/// Remembers every URL a list has requested, to stop on a repeat or after [`MAX_PAGES`].
pub(crate) struct PageTrail {
    seen: HashSet<String>,
}

impl PageTrail {
    pub(crate) fn starting_at(first: &Url) -> Self {
        Self { seen: HashSet::from([first.to_string()]) }
    }

    /// Checks that `next` may be requested after `pages` pages, the last one from `page_url`.
    pub(crate) fn admit(&mut self, next: &Url, raw_next_link: &str, page_url: &str, pages: usize) -> Result<(), Error> {
        if !self.seen.insert(next.to_string()) {
            return Err(Error::PagingLoop { url: page_url.to_owned(), next_link: raw_next_link.to_owned() });
        }
        if pages >= MAX_PAGES {
            return Err(Error::Malformed {
                url: page_url.to_owned(),
                detail: format!("more than {MAX_PAGES} pages; paging stopped"),
            });
        }
        Ok(())
    }
}

/// GETs `first` through `pipeline` and every page its `nextLink`s lead to.
pub(crate) async fn follow_next_links(
    client: &AzureClient,
    pipeline: &Pipeline,
    first: Url,
    api_version: &str,
) -> Result<Vec<Fetched>, ListError> {
    let mut trail = PageTrail::starting_at(&first);
    let mut pages: Vec<Fetched> = Vec::new();
    let mut url = first;
    loop {
        let page = match client.get(pipeline, url.clone(), api_version).await {
            Ok(page) => page,
            Err(error) => return Err(ListError::new(pages, error)),
        };
        let next_link = match next_link_of(&page.body) {
            Ok(next_link) => next_link,
            Err(detail) => {
                let error = Error::Malformed { url: page.url, detail };
                return Err(ListError::new(pages, error));
            }
        };
        let page_url = page.url.clone();
        pages.push(page);
        let Some(next_link) = next_link else {
            return Ok(pages);
        };
        let next = match next_url(&url, &next_link, api_version) {
            Ok(next) => next,
            Err(detail) => {
                let error = Error::Malformed { url: page_url, detail };
                return Err(ListError::new(pages, error));
            }
        };
        if let Err(error) = trail.admit(&next, &next_link, &page_url, pages.len()) {
            return Err(ListError::new(pages, error));
        }
        url = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn api_version_is_forced_and_other_parameters_kept_verbatim() {
        for (input, expected) in [
            (
                "https://management.azure.com/x?api-version=2025-06-01)&%24skipToken=a%2Bb%3D",
                "https://management.azure.com/x?%24skipToken=a%2Bb%3D&api-version=2025-06-01",
            ),
            (
                "https://management.azure.com/x?$skipToken=abc",
                "https://management.azure.com/x?$skipToken=abc&api-version=2025-06-01",
            ),
            (
                "https://management.azure.com/x?API-VERSION=1&api-version=&api%2Dversion=2",
                "https://management.azure.com/x?api-version=2025-06-01",
            ),
            ("https://management.azure.com/x", "https://management.azure.com/x?api-version=2025-06-01"),
        ] {
            let mut u = url(input);
            force_api_version(&mut u, "2025-06-01");
            assert_eq!(u.as_str(), expected, "{input}");
        }
    }

    #[test]
    fn next_link_must_stay_on_the_page_origin() {
        let page = url("https://management.azure.com/subscriptions/s/resources?api-version=1");
        let next = next_url(&page, "/subscriptions/s/resources?$skipToken=2", "1");
        assert_eq!(
            next.map(|u| u.to_string()),
            Ok("https://management.azure.com/subscriptions/s/resources?$skipToken=2&api-version=1".into())
        );
        assert!(next_url(&page, "https://evil.example/steal", "1").is_err());
        assert!(next_url(&page, "http://management.azure.com/x", "1").is_err());
    }

    #[test]
    fn list_page_shapes() {
        assert_eq!(next_link_of(br#"{"value":[]}"#), Ok(None));
        assert_eq!(next_link_of(br#"{"value":[1,{"a":2}],"nextLink":null}"#), Ok(None));
        assert_eq!(next_link_of(br#"{"value":[],"nextLink":""}"#), Ok(None));
        assert_eq!(next_link_of(br#"{"value":[],"nextLink":"https://x/y"}"#), Ok(Some("https://x/y".into())));
        assert!(next_link_of(br#"{"data":[]}"#).is_err());
        assert!(next_link_of(br#"{"value":{}}"#).is_err());
        assert!(next_link_of(br#"{"value":[1,2"#).is_err());
        assert!(next_link_of(b"<html>").is_err());
    }

    #[test]
    fn api_versions() {
        for ok in ["2025-06-01", "2024-04-01-preview", "7.6"] {
            assert!(validate_api_version(ok).is_ok(), "{ok}");
        }
        for bad in ["", "2025-06-01&x=1", "1 2", "2025/01"] {
            assert!(validate_api_version(bad).is_err(), "{bad}");
        }
    }
}
