//! A transport that sends every request to a loopback address (the simulator) instead of Azure.
//!
//! The pipeline, the bearer policy and the credentials keep seeing the real `https://` Azure URLs (the bearer
//! policy refuses plain HTTP); only at the very end, in the transport, a copy of the request is rewritten to
//! `http://<loopback addr>` with the original host in `x-forwarded-host`. That is how the demo and the tests
//! exercise the real SDK stack, token requests included, against `azure-sim`.

use crate::Error;
use azure_core::http::{AsyncRawResponse, HttpClient, Request, headers::HeaderName};
use std::{net::SocketAddr, sync::Arc};

const FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// An [`HttpClient`] that redirects every request to one loopback socket address.
#[derive(Debug)]
pub(crate) struct LoopbackRedirect {
    target: SocketAddr,
    inner: Arc<dyn HttpClient>,
}

impl LoopbackRedirect {
    /// Refuses anything but a loopback address: this transport must never send Azure requests (and their
    /// bearer tokens) to another machine over plain HTTP.
    pub(crate) fn new(target: SocketAddr) -> Result<Self, Error> {
        if !target.ip().is_loopback() {
            return Err(Error::Config {
                detail: format!("redirect_to_loopback must be a loopback address (127.0.0.0/8 or ::1), not {target}"),
            });
        }
        Ok(Self { target, inner: azure_core::http::new_http_client(None) })
    }
}

#[async_trait::async_trait]
impl HttpClient for LoopbackRedirect {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let mut redirected = request.clone();
        let original = request.url();
        let host = original.host_str().unwrap_or_default();
        let forwarded_host = match original.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        redirected.insert_header(FORWARDED_HOST, forwarded_host);
        redirected.insert_header(FORWARDED_PROTO, original.scheme().to_owned());
        let url = redirected.url_mut();
        let rewritten = url
            .set_scheme("http")
            .and_then(|()| url.set_ip_host(self.target.ip()))
            .and_then(|()| url.set_port(Some(self.target.port())));
        if rewritten.is_err() {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Other,
                format!("cannot redirect {} to {}", crate::policies::loggable_url(original), self.target),
            ));
        }
        self.inner.execute_request(&redirected).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets_are_accepted() {
        for ok in ["127.0.0.1:8080", "127.3.4.5:1", "[::1]:443"] {
            let addr: SocketAddr = ok.parse().unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(LoopbackRedirect::new(addr).is_ok(), "{ok}");
        }
        for refused in ["10.0.0.1:80", "0.0.0.0:80", "[::]:80", "192.168.1.2:443"] {
            let addr: SocketAddr = refused.parse().unwrap_or_else(|e| panic!("{refused}: {e}"));
            assert!(matches!(LoopbackRedirect::new(addr), Err(Error::Config { .. })), "{refused}");
        }
    }
}
