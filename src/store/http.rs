//! glance_store's read-only `http` store: image data that lives at an `http://` or
//! `https://` URL, sized with a `HEAD` and read with a streamed `GET`, never written or
//! deleted (a removed location's data stays where it is, as in glance_store).
//!
//! As glance_store's driver: redirects are followed by hand, only 301 and 302, and at most
//! [`MAX_REQUESTS`] requests per operation; the size is the final response's
//! `Content-Length` (0 when absent, which makes the URL unusable as a new location); a 404
//! is "not found", any other status from 400 up a bad URL, a connection failure "remote
//! server unavailable". `https_insecure`, `https_ca_certificates_file` and
//! `http_proxy_information` are honoured.
//!
//! glint adds (differences from Glance): timeouts, and no connection to an internal address
//! (loopback, private, link-local, ...) unless `[glint_http_store] allow_internal_addresses`.
//! A name is checked by the resolver the connection itself uses, so the address connected to
//! is the address checked; a literal address is checked before the request. Through a proxy
//! the target's name is resolved and checked here, then again by the proxy.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, LOCATION, RANGE};
use reqwest::{Method, StatusCode, Url};

use super::{DataStream, StoreError};
use crate::config::http_store::HttpConfig;
use crate::domain::address;

/// glance_store's `MAX_REDIRECTS`: the number of requests one operation may make, so at most
/// four redirects are followed.
pub const MAX_REQUESTS: usize = 5;

/// Why the http store could not size or read a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// Not an `http(s)` URL glance_store would parse (`BadStoreUri`).
    #[error("invalid HTTP URL: {0}")]
    BadUri(String),
    /// The target is an internal address and `allow_internal_addresses` is off.
    #[error("refused: {0}")]
    Refused(String),
    /// The server answered 404.
    #[error("HTTP datastore could not find image at URI.")]
    NotFound,
    /// Another error status, or a redirect glance_store does not follow.
    #[error("HTTP URL {url} returned a {status} status code.")]
    Status { url: String, status: u16 },
    /// Still redirected after [`MAX_REQUESTS`] requests.
    #[error("The HTTP URL exceeded {} maximum redirects.", MAX_REQUESTS)]
    TooManyRedirects,
    /// No connection, or the server went silent (glance_store's `RemoteServiceUnavailable`).
    #[error("Remote server where the image is present is unavailable: {0}")]
    Unavailable(String),
}

impl From<HttpError> for StoreError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::NotFound => StoreError::NotFound,
            HttpError::Unavailable(_) => StoreError::Unavailable(e.to_string()),
            other => StoreError::Io(std::io::Error::other(other.to_string())),
        }
    }
}

/// The http store: one client (TLS, proxies, timeouts and the address rule built in).
#[derive(Clone)]
pub struct HttpStore {
    client: reqwest::Client,
    cfg: Arc<HttpConfig>,
}

impl std::fmt::Debug for HttpStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpStore").field("cfg", &self.cfg).finish()
    }
}

/// The address rule, as a resolver: a name resolves to its addresses only when none of them
/// is internal (or internal addresses are allowed); proxies named by the operator are exempt.
struct CheckedResolver {
    allow_internal: bool,
    exempt: Vec<String>,
}

/// The resolver's refusal, found again in reqwest's error chain.
#[derive(Debug)]
struct Refusal(String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// Every address `host` resolves to, refused when one of them is internal.
async fn resolve_checked(host: &str, allow_internal: bool) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| format!("{host} does not resolve: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} does not resolve"));
    }
    if !allow_internal {
        check_addrs(addrs.iter().map(SocketAddr::ip))?;
    }
    Ok(addrs)
}

fn check_addrs(ips: impl IntoIterator<Item = IpAddr>) -> Result<(), String> {
    for ip in ips {
        if let Some(kind) = address::internal_kind(ip) {
            return Err(format!("{ip} is a {kind} address"));
        }
    }
    Ok(())
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let allow = self.allow_internal || self.exempt.contains(&host);
        Box::pin(async move {
            match resolve_checked(&host, allow).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                Err(why) => Err(Box::new(Refusal(why)) as Box<dyn std::error::Error + Send + Sync>),
            }
        })
    }
}

impl HttpStore {
    /// Builds the client; a CA file that cannot be read or parsed, or a proxy URL reqwest
    /// does not take, is an error at start.
    pub fn new(cfg: HttpConfig) -> Result<Self, String> {
        let timeout = Duration::from_secs(cfg.timeout);
        let mut exempt = Vec::new();
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .no_proxy();
        for (scheme, url) in &cfg.proxies {
            let proxy = match scheme.as_str() {
                "https" => reqwest::Proxy::https(url),
                _ => reqwest::Proxy::http(url),
            }
            .map_err(|e| format!("invalid http_proxy_information proxy '{url}': {e}"))?;
            if let Some(h) = Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
            {
                exempt.push(h);
            }
            b = b.proxy(proxy);
        }
        b = b.dns_resolver(Arc::new(CheckedResolver {
            allow_internal: cfg.allow_internal_addresses,
            exempt,
        }));
        if let Some(path) = &cfg.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                format!(
                    "cannot read https_ca_certificates_file {}: {e}",
                    path.display()
                )
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                format!("invalid https_ca_certificates_file {}: {e}", path.display())
            })?;
            if certs.is_empty() {
                return Err(format!(
                    "https_ca_certificates_file {} holds no certificate",
                    path.display()
                ));
            }
            for c in certs {
                b = b.add_root_certificate(c);
            }
        } else if cfg.insecure {
            b = b.danger_accept_invalid_certs(true);
        }
        let client = b
            .build()
            .map_err(|e| format!("cannot build the http store's client: {e}"))?;
        Ok(HttpStore {
            client,
            cfg: Arc::new(cfg),
        })
    }

    /// The URL's data length, from a `HEAD` (glance_store's `get_size`): 0 when the server
    /// does not say.
    pub async fn size(&self, url: &str) -> Result<u64, HttpError> {
        let resp = self.query(url, Method::HEAD, None).await?;
        Ok(content_length(&resp))
    }

    /// The data, or the inclusive byte range `[start, end]` of it, with the total length.
    /// A server that ignores `Range` answers the whole; the range is then cut out here.
    pub async fn get(
        &self,
        url: &str,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, DataStream), StoreError> {
        let resp = self.query(url, Method::GET, range).await?;
        let partial = resp.status() == StatusCode::PARTIAL_CONTENT;
        let total = if partial {
            content_range_total(&resp).unwrap_or(0)
        } else {
            content_length(&resp)
        };
        let body = resp.bytes_stream().map_err(|e| {
            std::io::Error::other(format!("reading the HTTP location: {}", error_chain(&e)))
        });
        let body: DataStream = match range {
            Some((start, end)) if !partial => slice(body, start, end - start + 1).boxed(),
            _ => body.boxed(),
        };
        Ok((total, body))
    }

    /// The whole data and its announced length (`None` without `Content-Length`).
    pub async fn open(&self, url: &str) -> Result<(Option<u64>, DataStream), HttpError> {
        let resp = self.query(url, Method::GET, None).await?;
        let len = resp.content_length();
        let body = resp.bytes_stream().map_err(|e| {
            std::io::Error::other(format!("reading the HTTP location: {}", error_chain(&e)))
        });
        Ok((len, body.boxed()))
    }

    /// glance_store's `_query`: the request, following 301 and 302 by hand.
    async fn query(
        &self,
        url: &str,
        method: Method,
        range: Option<(u64, u64)>,
    ) -> Result<reqwest::Response, HttpError> {
        let mut url = parse(url)?;
        for _ in 0..MAX_REQUESTS {
            self.check_target(&url).await?;
            let mut req = self.client.request(method.clone(), url.clone());
            if let Some((start, end)) = range {
                req = req.header(RANGE, format!("bytes={start}-{end}"));
            }
            let resp = req.send().await.map_err(|e| match refusal(&e) {
                Some(why) => HttpError::Refused(why),
                None => HttpError::Unavailable(error_chain(&e)),
            })?;
            let status = resp.status();
            if status.as_u16() < 300 {
                return Ok(resp);
            }
            if status == StatusCode::NOT_FOUND {
                return Err(HttpError::NotFound);
            }
            let target = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok());
            let (301 | 302, Some(target)) = (status.as_u16(), target) else {
                return Err(HttpError::Status {
                    url: url.path().to_owned(),
                    status: status.as_u16(),
                });
            };
            url = url
                .join(target)
                .map_err(|e| HttpError::BadUri(format!("redirect to '{target}': {e}")))
                .and_then(|u| parse(u.as_str()))?;
        }
        Err(HttpError::TooManyRedirects)
    }

    /// The address rule for what the resolver does not see: a literal address, and a name
    /// that a proxy will resolve.
    async fn check_target(&self, url: &Url) -> Result<(), HttpError> {
        if self.cfg.allow_internal_addresses {
            return Ok(());
        }
        let host = url.host_str().unwrap_or_default();
        match host.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(ip) => check_addrs([ip]),
            Err(_) if !self.cfg.proxies.is_empty() => {
                resolve_checked(host, false).await.map(|_| ())
            }
            Err(_) => Ok(()),
        }
        .map_err(HttpError::Refused)
    }
}

/// glance_store's `StoreLocation.parse_uri`: `http` or `https`, a host, a numeric port,
/// credentials as `user:password`.
pub fn parse(uri: &str) -> Result<Url, HttpError> {
    let bad = |why: &str| HttpError::BadUri(format!("{uri}: {why}"));
    if !(uri.starts_with("http://") || uri.starts_with("https://")) {
        return Err(bad("not http:// or https://"));
    }
    // Python's urlparse: the netloc ends at the first `/`, `?` or `#` (WHATWG would skip
    // extra slashes and take the path for the host).
    let rest = uri.split_once("://").map_or("", |(_, r)| r);
    if rest.starts_with(['/', '?', '#']) || rest.is_empty() {
        return Err(bad("no address"));
    }
    let url = Url::parse(uri).map_err(|e| bad(&e.to_string()))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no address"));
    }
    if !url.username().is_empty() && url.password().is_none() {
        return Err(bad("Credentials are not well-formatted."));
    }
    Ok(url)
}

/// Whether a URL belongs to the http store (glance_store's schemes).
pub fn is_http(uri: &str) -> bool {
    uri.starts_with("http://") || uri.starts_with("https://")
}

fn content_length(resp: &reqwest::Response) -> u64 {
    resp.headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// The total of `Content-Range: bytes a-b/total`.
fn content_range_total(resp: &reqwest::Response) -> Option<u64> {
    let v = resp.headers().get(CONTENT_RANGE)?.to_str().ok()?;
    v.rsplit_once('/')?.1.trim().parse().ok()
}

/// `len` bytes of `body` from `skip` on.
fn slice(
    body: impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    skip: u64,
    len: u64,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let mut pos = 0u64;
    let end = skip.saturating_add(len);
    body.take_while(move |_| std::future::ready(pos < end))
        .filter_map(move |chunk| {
            let out = chunk.map(|b| {
                let (from, to) = (pos, pos + b.len() as u64);
                pos = to;
                let a = skip.clamp(from, to) - from;
                let z = end.clamp(from, to) - from;
                b.slice(a as usize..z as usize)
            });
            std::future::ready(match out {
                Ok(b) if b.is_empty() => None,
                other => Some(other),
            })
        })
}

/// The resolver's refusal, when that is why the request failed.
fn refusal(e: &reqwest::Error) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(r) = c.downcast_ref::<Refusal>() {
            return Some(r.0.clone());
        }
        cur = c.source();
    }
    None
}

/// reqwest hides the cause (connection refused, timeout) in its source chain.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_as_glance_store_parses_them() {
        for ok in [
            "http://h/x",
            "https://h:8443/a?b=c",
            "http://u:p@h/x",
            "http://[::1]:80/x",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://h/x",
            "http:///x",
            "http://h:port/x",
            "http://user@h/x",
            "gopher://info.cern.ch",
            "file:///etc/passwd",
        ] {
            assert!(matches!(parse(bad), Err(HttpError::BadUri(_))), "{bad}");
        }
        assert!(is_http("https://h/x") && !is_http("swift://h/x"));
    }

    #[tokio::test]
    async fn slices_cut_across_chunks() {
        for (skip, len, want) in [
            (0, 10, &b"0123456789"[..]),
            (2, 4, b"2345"),
            (4, 4, b"4567"),
            (9, 5, b"9"),
            (3, 1, b"3"),
        ] {
            let chunks: Vec<std::io::Result<Bytes>> = vec![
                Ok(Bytes::from_static(b"0123")),
                Ok(Bytes::from_static(b"4567")),
                Ok(Bytes::from_static(b"89")),
            ];
            let got: Vec<Bytes> = slice(futures_util::stream::iter(chunks), skip, len)
                .try_collect()
                .await
                .unwrap();
            let got = got.concat();
            assert_eq!(&got[..], want, "{skip} {len}");
        }
    }

    #[tokio::test]
    async fn internal_addresses_are_refused_unless_allowed() {
        let cfg = |allow| HttpConfig {
            insecure: true,
            ca_file: None,
            proxies: vec![],
            allow_internal_addresses: allow,
            timeout: 2,
        };
        let store = HttpStore::new(cfg(false)).unwrap();
        for url in [
            "http://127.0.0.1:1/x",
            "http://localhost:1/x",
            "http://[::1]:1/x",
            "http://10.1.2.3:1/x",
        ] {
            assert!(
                matches!(store.size(url).await, Err(HttpError::Refused(_))),
                "{url}"
            );
        }
        // Allowed: the port is closed, so the server is unavailable.
        let store = HttpStore::new(cfg(true)).unwrap();
        assert!(matches!(
            store.size("http://127.0.0.1:1/x").await,
            Err(HttpError::Unavailable(_))
        ));
    }
}
