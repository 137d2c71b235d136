//! Fetching image data for `web-download` under Glance's rules: every URL,
//! redirect targets included, must pass `[import_filtering_opts]`; a body
//! larger than `image_size_cap` or shorter than its `Content-Length` fails;
//! a server that stays silent for `web_download_timeout` fails.
//!
//! glint adds (differences from Glance): internal addresses are refused unless
//! the operator allows them, hosts are compared as addresses, and a name is
//! resolved once per URL: the connection goes to the addresses that were
//! checked, never to what a second lookup might answer.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::app::AppState;
use crate::domain::address;
use crate::domain::uri_filter::{self, Host, ImportFilter};

/// Redirects followed at most (urllib's limit).
const MAX_REDIRECTS: usize = 10;

/// Every address a name resolves to. Blocking.
pub type Lookup = Arc<dyn Fn(&str) -> std::io::Result<Vec<IpAddr>> + Send + Sync>;

/// The system resolver, asked for the name with a trailing dot (so no search
/// domain applies), as Glance's hostname check does.
pub fn system_lookup() -> Lookup {
    Arc::new(|host: &str| {
        use std::net::ToSocketAddrs;
        let name = if host.ends_with('.') {
            host.to_owned()
        } else {
            format!("{host}.")
        };
        Ok((name.as_str(), 0)
            .to_socket_addrs()?
            .map(|a| a.ip())
            .collect())
    })
}

/// A URL that passed every rule, with the only addresses its connection may use.
#[derive(Debug, Clone)]
pub struct Checked {
    pub url: reqwest::Url,
    /// The URL's literal address, or what its name resolved to when checked.
    pub addrs: Vec<IpAddr>,
}

/// Every rule for one URL (the client's or a redirect target), blocking when
/// the host is a name; `Err` says why not (for the log, not for the client).
///
/// 1. Glance's URL rules ([`uri_filter::target`]), on the URL as Python's
///    `urlparse` splits it.
/// 2. The URL as reqwest reads it (WHATWG) must have the same scheme, host and
///    port, so that the host that was checked is the host connected to.
/// 3. A name is resolved once, here; each address must pass
///    [`uri_filter::address_refusal`] (one refused address refuses the URL).
///    The connection then goes to these addresses only ([`Fetch::client`]).
pub fn check(uri: &str, filter: &ImportFilter, lookup: &Lookup) -> Result<Checked, String> {
    let t = uri_filter::target(uri, filter).ok_or("refused by the URL rules")?;
    let url = reqwest::Url::parse(uri).map_err(|e| format!("not a URL: {e}"))?;
    let url_host = url.host_str().map(|h| {
        address::parse_literal(h)
            .map(Host::Ip)
            .unwrap_or_else(|| Host::Name(h.trim_end_matches('.').to_ascii_lowercase()))
    });
    let default_port = match t.scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    if url.scheme() != t.scheme
        || url_host.as_ref() != Some(&t.host)
        || url.port_or_known_default() != t.port.or(default_port)
    {
        return Err(format!(
            "URL parsers disagree on its host ({:?} or {:?})",
            t.host,
            url.host_str()
        ));
    }
    let addrs = match &t.host {
        Host::Ip(ip) => vec![*ip],
        Host::Name(name) => {
            let addrs = lookup(name).map_err(|e| format!("{name} does not resolve: {e}"))?;
            if addrs.is_empty() {
                return Err(format!("{name} does not resolve"));
            }
            addrs
        }
    };
    for ip in &addrs {
        if let Some(why) = uri_filter::address_refusal(filter, *ip) {
            return Err(why);
        }
    }
    Ok(Checked { url, addrs })
}

/// What a download needs: the rules, the limits, the resolver.
#[derive(Clone)]
pub struct Fetch {
    pub filter: ImportFilter,
    pub timeout: Duration,
    pub size_cap: u64,
    pub lookup: Lookup,
}

impl Fetch {
    pub fn new(state: &AppState) -> Fetch {
        Fetch {
            filter: state.config.import.filter.clone(),
            timeout: Duration::from_secs(state.config.import.web_download_timeout),
            size_cap: state.config.image_size_cap,
            lookup: system_lookup(),
        }
    }

    /// [`check`] on the blocking pool.
    pub async fn check(&self, uri: &str) -> Result<Checked, String> {
        let (uri, filter, lookup) = (uri.to_owned(), self.filter.clone(), self.lookup.clone());
        let r = tokio::task::spawn_blocking(move || check(&uri, &filter, &lookup))
            .await
            .unwrap_or_else(|e| Err(format!("check failed: {e}")));
        if let Err(why) = &r {
            tracing::info!(why = %why, "web-download URL refused");
        }
        r
    }

    /// A client that connects to `c`'s checked addresses only: a name is not
    /// looked up again (it could answer differently), redirects are not
    /// followed by the client (each target is checked first).
    fn client(&self, c: &Checked) -> Result<reqwest::Client, String> {
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.timeout)
            .read_timeout(self.timeout);
        if let Some(host) = c.url.domain() {
            let port = c.url.port_or_known_default().unwrap_or(80);
            let addrs: Vec<SocketAddr> = c
                .addrs
                .iter()
                .map(|ip| SocketAddr::new(*ip, port))
                .collect();
            b = b.resolve_to_addrs(host, &addrs);
        }
        b.build()
            .map_err(|e| format!("cannot build HTTP client: {e}"))
    }

    /// The response body of `uri`, after following allowed redirects, with its
    /// announced length. Errors are the text a failed task records.
    pub async fn open(
        &self,
        uri: &str,
    ) -> Result<
        (
            Option<u64>,
            impl Stream<Item = Result<Bytes, String>> + Unpin + Send + 'static,
        ),
        String,
    > {
        let mut hop = self
            .check(uri)
            .await
            .map_err(|_| format!("URI for web-download does not pass filtering: {uri}"))?;
        for _ in 0..=MAX_REDIRECTS {
            let url = hop.url.clone();
            let resp = self
                .client(&hop)?
                .get(url.clone())
                .send()
                .await
                .map_err(|e| format!("Failed to download {url}: {}", error_chain(&e)))?;
            let status = resp.status();
            if status.is_redirection() {
                let Some(loc) = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                else {
                    return Err(format!(
                        "HTTP Error {}: redirect without Location",
                        status.as_u16()
                    ));
                };
                let next = url
                    .join(loc)
                    .map_err(|e| format!("Invalid redirect target {loc}: {e}"))?;
                hop = self
                    .check(next.as_str())
                    .await
                    .map_err(|_| format!("Redirect to disallowed URL: {next}"))?;
                continue;
            }
            if !status.is_success() {
                return Err(format!(
                    "HTTP Error {}: {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("")
                ));
            }
            let len = resp.content_length();
            let cap = self.size_cap;
            if len.is_some_and(|l| l > cap) {
                return Err(format!(
                    "The incoming image is too large: the remote size {} exceeds image_size_cap {cap}",
                    len.unwrap_or_default()
                ));
            }
            let body = resp
                .bytes_stream()
                .map(|r| r.map_err(|e| format!("download interrupted: {}", error_chain(&e))));
            return Ok((len, body));
        }
        Err(format!("Too many redirects (more than {MAX_REDIRECTS})"))
    }
}

/// Glance's hostname check: the name (with a trailing dot, so no search
/// domain or numeric fallback applies) must resolve. Blocking.
pub fn resolves(host: &str) -> bool {
    use std::net::ToSocketAddrs;
    let name = if host.ends_with('.') {
        host.to_owned()
    } else {
        format!("{host}.")
    };
    (name.as_str(), 80)
        .to_socket_addrs()
        .is_ok_and(|mut a| a.next().is_some())
}

/// Whether `uri` passes every rule (the import request's check; the download
/// checks again, and connects to what it checked).
pub async fn passes_filter(state: &AppState, uri: &str) -> bool {
    Fetch::new(state).check(uri).await.is_ok()
}

/// [`Fetch::open`] with the service's configuration and the system resolver.
pub async fn open(
    state: &AppState,
    uri: &str,
) -> Result<
    (
        Option<u64>,
        impl Stream<Item = Result<Bytes, String>> + Unpin + Send + 'static,
    ),
    String,
> {
    Fetch::new(state).open(uri).await
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
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A resolver answering `answers[n]` to its n-th lookup (the last one after
    /// that), counting its lookups.
    fn changing(answers: &[&str]) -> (Lookup, Arc<AtomicUsize>) {
        let answers: Vec<IpAddr> = answers.iter().map(|a| ip(a)).collect();
        let calls = Arc::new(AtomicUsize::new(0));
        let n = calls.clone();
        let lookup: Lookup = Arc::new(move |_: &str| {
            let i = n.fetch_add(1, Ordering::SeqCst);
            Ok(vec![answers[i.min(answers.len() - 1)]])
        });
        (lookup, calls)
    }

    fn no_lookup() -> Lookup {
        Arc::new(|h: &str| panic!("unexpected lookup of {h}"))
    }

    #[test]
    fn numeric_spellings_reqwest_reads_as_loopback_are_refused() {
        let allow = ImportFilter {
            allowed_hosts: vec!["127.0.0.1".into()],
            ..ImportFilter::default()
        };
        for uri in [
            "http://2130706433/x",
            "http://127.1/x",
            "http://0177.0.0.1/x",
            "http://0x7f.1/x",
            "http://0x7f000001/x",
            "http://127.0.0.1./x",
        ] {
            // What reqwest would connect to...
            let url = reqwest::Url::parse(uri).unwrap();
            assert_eq!(url.host_str(), Some("127.0.0.1"), "{uri}");
            // ...is never reached through such a spelling.
            assert!(check(uri, &allow, &no_lookup()).is_err(), "{uri}");
            assert!(
                check(uri, &ImportFilter::default(), &no_lookup()).is_err(),
                "{uri}"
            );
        }
        // The standard spellings are the allowed address.
        for uri in [
            "http://127.0.0.1/x",
            "http://[::ffff:127.0.0.1]/x",
            "http://[::ffff:7f00:1]:80/x",
        ] {
            let c = check(uri, &allow, &no_lookup()).unwrap();
            assert_eq!(
                c.addrs
                    .iter()
                    .map(|a| address::canonical(*a))
                    .collect::<Vec<_>>(),
                [ip("127.0.0.1")]
            );
            let why = check(uri, &ImportFilter::default(), &no_lookup()).unwrap_err();
            assert_eq!(why, "127.0.0.1 is a loopback address", "{uri}");
        }
        assert_eq!(
            check(
                "http://169.254.169.254/latest/meta-data/",
                &ImportFilter::default(),
                &no_lookup()
            )
            .unwrap_err(),
            "169.254.169.254 is a link-local (cloud metadata) address"
        );
    }

    #[test]
    fn parsers_must_agree_on_the_host() {
        let (lookup, _) = changing(&["93.184.216.34"]);
        let allow = ImportFilter {
            allowed_hosts: vec!["127.0.0.1".into(), "example.com".into()],
            ..ImportFilter::default()
        };
        // urlparse sees example.com, reqwest 127.0.0.1 (and the reverse).
        for uri in [
            "http://127.0.0.1\\@example.com/x",
            "http://example.com\\@127.0.0.1/x",
        ] {
            let why = check(uri, &ImportFilter::default(), &lookup).unwrap_err();
            assert!(
                why.contains("disagree") || why.contains("loopback"),
                "{uri}: {why}"
            );
            let why = check(uri, &allow, &lookup).unwrap_err();
            assert!(why.contains("disagree"), "{uri}: {why}");
        }
        assert!(check("http://example.com/x", &ImportFilter::default(), &lookup).is_ok());
    }

    #[test]
    fn a_name_is_resolved_once_and_every_address_checked() {
        let f = ImportFilter::default();
        // Public first, loopback on a second lookup: the public one is what is connected to.
        let (lookup, calls) = changing(&["93.184.216.34", "127.0.0.1"]);
        let c = check("http://rebind.example/x", &f, &lookup).unwrap();
        assert_eq!(c.addrs, [ip("93.184.216.34")]);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Loopback first: refused.
        let (lookup, calls) = changing(&["127.0.0.1", "93.184.216.34"]);
        assert_eq!(
            check("http://rebind.example/x", &f, &lookup).unwrap_err(),
            "127.0.0.1 is a loopback address"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // One internal address among public ones refuses the name.
        let mixed: Lookup =
            Arc::new(|_: &str| Ok(vec![ip("93.184.216.34"), ip("::ffff:10.0.0.1")]));
        assert_eq!(
            check("http://mixed.example/x", &f, &mixed).unwrap_err(),
            "10.0.0.1 is a private address"
        );
        // A denied address is refused behind a name too.
        let deny = ImportFilter {
            disallowed_hosts: vec!["93.184.216.34".into()],
            ..ImportFilter::default()
        };
        let (lookup, _) = changing(&["93.184.216.34"]);
        assert!(check("http://rebind.example/x", &deny, &lookup).is_err());
        let none: Lookup = Arc::new(|_: &str| Ok(vec![]));
        assert!(check("http://gone.example/x", &f, &none).is_err());
    }

    /// Serves `body` on 127.0.0.1 (not on 127.0.0.2) to every request.
    fn server(body: &'static [u8]) -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut conn in l.incoming().flatten() {
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                while r.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                    line.clear();
                }
                let _ = conn.write_all(
                    format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
                );
                let _ = conn.write_all(body);
            }
        });
        port
    }

    #[tokio::test]
    async fn the_connection_goes_to_the_checked_address() {
        let port = server(b"from the checked address");
        // The operator named the host, so its loopback address may be used; a
        // second lookup would answer 127.0.0.2, where nothing listens.
        let (lookup, calls) = changing(&["127.0.0.1", "127.0.0.2"]);
        let fetch = Fetch {
            filter: ImportFilter {
                allowed_hosts: vec!["rebind.test".into()],
                allowed_ports: vec![],
                ..ImportFilter::default()
            },
            timeout: Duration::from_secs(10),
            size_cap: 1 << 20,
            lookup,
        };
        let (len, body) = fetch
            .open(&format!("http://rebind.test:{port}/image"))
            .await
            .unwrap();
        let got: Vec<Bytes> = body.map(Result::unwrap).collect().await;
        assert_eq!(got.concat(), b"from the checked address");
        assert_eq!(len, Some(24));
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        // Without the operator's allowance the same name is refused before any connection.
        let (lookup, calls) = changing(&["127.0.0.1"]);
        let fetch = Fetch {
            filter: ImportFilter {
                allowed_ports: vec![],
                ..ImportFilter::default()
            },
            lookup,
            ..fetch
        };
        let uri = format!("http://rebind.test:{port}/image");
        let e = fetch.open(&uri).await.map(|_| ()).unwrap_err();
        assert_eq!(
            e,
            format!("URI for web-download does not pass filtering: {uri}")
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
