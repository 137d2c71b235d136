//! Which URLs `web-download` may fetch: Glance's `[import_filtering_opts]` and
//! `glance.common.utils.validate_import_uri`, applied to the URL a client gives
//! and to every redirect target.
//!
//! The URL is split the way Python's `urlparse` does (not by a WHATWG parser,
//! which would silently turn `http://2130706433/` into `127.0.0.1`), and hosts
//! are normalised as Glance does: literal IPv4/IPv6 addresses in standard form
//! only, all-numeric or dotted-numeric spellings refused, names only if they
//! resolve (the caller supplies the resolver, so this module stays pure).
//!
//! glint adds (differences from Glance): hosts are compared with the host
//! lists as addresses, not strings, and internal addresses are refused
//! unless the operator allows them ([`address_refusal`]).

use std::net::IpAddr;

use super::address;

/// `[import_filtering_opts]` with Glance's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportFilter {
    pub allowed_schemes: Vec<String>,
    pub disallowed_schemes: Vec<String>,
    pub allowed_hosts: Vec<String>,
    pub disallowed_hosts: Vec<String>,
    pub allowed_ports: Vec<u16>,
    pub disallowed_ports: Vec<u16>,
    /// glint's own: fetch from internal addresses without naming them in
    /// `allowed_hosts` (default false; see [`address_refusal`]).
    pub allow_internal_addresses: bool,
}

impl Default for ImportFilter {
    fn default() -> Self {
        ImportFilter {
            allowed_schemes: vec!["http".into(), "https".into()],
            disallowed_schemes: vec![],
            allowed_hosts: vec![],
            disallowed_hosts: vec![],
            allowed_ports: vec![80, 443],
            disallowed_ports: vec![],
            allow_internal_addresses: false,
        }
    }
}

/// The parts of a URL the filter looks at, as `urlparse` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts {
    pub scheme: String,
    /// Lower-cased, without brackets or credentials; `None` when absent.
    pub host: Option<String>,
    pub port: Option<u16>,
}

/// Split `uri` like `urllib.parse.urlparse`; `None` when the port is not a
/// number in 0..=65535 (Python raises there, which Glance turns into a refusal).
pub fn split(uri: &str) -> Option<UrlParts> {
    let (scheme, rest) = match uri.split_once(':') {
        Some((s, r))
            if !s.is_empty()
                && s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            (s.to_ascii_lowercase(), r)
        }
        _ => (String::new(), uri),
    };
    let Some(after) = rest.strip_prefix("//") else {
        return Some(UrlParts {
            scheme,
            host: None,
            port: None,
        });
    };
    let netloc = &after[..after.find(['/', '?', '#']).unwrap_or(after.len())];
    let hostport = netloc.rsplit_once('@').map_or(netloc, |(_, h)| h);
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, tail)) => (h, tail.strip_prefix(':')),
            // urlparse: "Invalid IPv6 URL".
            None => return None,
        }
    } else if hostport.contains(']') {
        return None;
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) if p.chars().all(|c| c.is_ascii_digit()) => Some(p.parse::<u16>().ok()?),
        Some(_) => return None,
    };
    Some(UrlParts {
        scheme,
        host: (!host.is_empty()).then(|| host.to_ascii_lowercase()),
        port,
    })
}

/// A URL's host as the filter compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A literal address, canonical (see [`address::canonical`]).
    Ip(IpAddr),
    /// A name, lower-cased, without a trailing dot.
    Name(String),
}

/// What passed the filter: the scheme, the host, the port given in the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: String,
    pub host: Host,
    pub port: Option<u16>,
}

/// Glance's `normalize_hostname` without the lookup: a literal address in
/// standard notation; a name; `None` for the numeric spellings a URL parser
/// would still read as an IPv4 address (`2130706433`, `127.1`, `0x7f.1`,
/// `0177.0.0.1`, `127.0.0.1.`), which Glance refuses too (those of digits and
/// dots) and glint refuses all of, and for anything else that is no name.
pub fn normalize_host(host: &str) -> Option<Host> {
    if let Some(ip) = address::parse_literal(host) {
        // The brackets belong to the URL, not to the host.
        return (!host.starts_with('[')).then_some(Host::Ip(ip));
    }
    if host.is_empty() || address::looks_numeric(host) || host.contains([':', '[', ']', '%']) {
        return None;
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    (!name.is_empty()).then(|| Host::Name(name.to_ascii_lowercase()))
}

/// Whether `host` is one of `entries` (Glance's host lists): addresses are
/// compared as addresses (every spelling of one address is that address),
/// names case-insensitively and without a trailing dot.
pub fn listed(entries: &[String], host: &Host) -> bool {
    entries.iter().any(|e| {
        let e = e.trim();
        match (address::parse_literal(e), host) {
            (Some(a), Host::Ip(ip)) => a == *ip,
            (None, Host::Name(n)) => e.strip_suffix('.').unwrap_or(e).eq_ignore_ascii_case(n),
            _ => false,
        }
    })
}

/// `validate_import_uri` without the name lookup: the scheme, host and port
/// rules. When an allow list and a deny list are both configured, only the
/// allow list counts (as in Glance).
pub fn target(uri: &str, f: &ImportFilter) -> Option<Target> {
    if uri.is_empty() {
        return None;
    }
    let parts = split(uri)?;
    let scheme_ok = if f.allowed_schemes.is_empty() {
        !f.disallowed_schemes.contains(&parts.scheme)
    } else {
        f.allowed_schemes.contains(&parts.scheme)
    };
    if parts.scheme.is_empty() || !scheme_ok {
        return None;
    }
    let host = normalize_host(parts.host.as_deref()?)?;
    let host_ok = if f.allowed_hosts.is_empty() {
        !listed(&f.disallowed_hosts, &host)
    } else {
        listed(&f.allowed_hosts, &host)
    };
    if !host_ok {
        return None;
    }
    let port_ok = match parts.port {
        // Port 0 is falsy in Python: not checked.
        None | Some(0) => true,
        Some(p) if !f.allowed_ports.is_empty() => f.allowed_ports.contains(&p),
        Some(p) => !f.disallowed_ports.contains(&p),
    };
    port_ok.then_some(Target {
        scheme: parts.scheme,
        host,
        port: parts.port,
    })
}

/// `validate_import_uri`: may `uri` be fetched by Glance's rules? A name must
/// resolve (`resolves` is the lookup, so this module stays pure). The
/// address rule ([`address_refusal`]) is applied by whoever connects.
pub fn allowed(uri: &str, f: &ImportFilter, resolves: &dyn Fn(&str) -> bool) -> bool {
    match target(uri, f) {
        None => false,
        Some(Target {
            host: Host::Name(n),
            ..
        }) => resolves(&n),
        Some(_) => true,
    }
}

/// Why glint will not connect to `ip`, the address of a URL that passed
/// [`target`] (its literal host, or an address its name resolved to); `None`
/// when it may. Refused: an address in `disallowed_hosts` (when that list
/// counts), and, a difference from Glance, any internal address (loopback,
/// link-local and the metadata address, private, unique-local, unspecified,
/// multicast, reserved; in any IPv6 form carrying such an IPv4 address)
/// unless the operator allows it: `allow_internal_addresses = true`, or an
/// `allowed_hosts` list (which the URL's host then matched: the operator
/// named it).
pub fn address_refusal(f: &ImportFilter, ip: IpAddr) -> Option<String> {
    let ip = address::canonical(ip);
    if f.allowed_hosts.is_empty() && listed(&f.disallowed_hosts, &Host::Ip(ip)) {
        return Some(format!("{ip} is in disallowed_hosts"));
    }
    if f.allow_internal_addresses || !f.allowed_hosts.is_empty() {
        return None;
    }
    address::internal_kind(ip).map(|kind| format!("{ip} is a {kind} address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(h: &str) -> bool {
        matches!(h, "example.com" | "images.example.org" | "localhost")
    }

    #[test]
    fn splits_like_urlparse() {
        let p = split("HTTP://User:pw@Example.COM:8080/a?b#c").unwrap();
        assert_eq!(
            p,
            UrlParts {
                scheme: "http".into(),
                host: Some("example.com".into()),
                port: Some(8080)
            }
        );
        let p = split("https://[::1]:443/x").unwrap();
        assert_eq!((p.host.as_deref(), p.port), (Some("::1"), Some(443)));
        assert_eq!(split("http://h:99999/").map(|p| p.port), None);
        assert_eq!(split("http://h:abc/"), None);
        assert_eq!(split("file:///etc/passwd").unwrap().host, None);
        assert_eq!(split("no-scheme").unwrap().scheme, "");
    }

    #[test]
    fn glance_defaults() {
        let f = ImportFilter::default();
        assert!(allowed("http://example.com/img.qcow2", &f, &known));
        assert!(allowed("https://example.com:443/img", &f, &known));
        assert!(allowed("http://127.0.0.1/img", &f, &known));
        // Default ports are 80 and 443 only.
        assert!(!allowed("http://example.com:8080/img", &f, &known));
        // Schemes other than http(s).
        assert!(!allowed("ftp://example.com/img", &f, &known));
        assert!(!allowed("file:///etc/passwd", &f, &known));
        assert!(!allowed("", &f, &known));
        // Names that do not resolve, and numeric spellings of addresses.
        assert!(!allowed(
            "http://does-not.exist/no/possible/way",
            &f,
            &known
        ));
        assert!(!allowed("http://2130706433/", &f, &known));
        assert!(!allowed("http://127.1/", &f, &known));
        assert!(!allowed("http://0x7f000001/", &f, &known));
    }

    #[test]
    fn lists_and_precedence() {
        let f = ImportFilter {
            disallowed_hosts: vec!["127.0.0.1".into(), "localhost".into()],
            allowed_ports: vec![],
            disallowed_ports: vec![22],
            ..ImportFilter::default()
        };
        assert!(!allowed("http://127.0.0.1/x", &f, &known));
        assert!(!allowed("http://LOCALHOST/x", &f, &known));
        assert!(!allowed("http://example.com:22/x", &f, &known));
        assert!(allowed("http://example.com:8080/x", &f, &known));
        // An allow list wins over a deny list.
        let f = ImportFilter {
            allowed_hosts: vec!["images.example.org".into()],
            disallowed_hosts: vec!["images.example.org".into()],
            allowed_schemes: vec![],
            disallowed_schemes: vec!["https".into()],
            ..ImportFilter::default()
        };
        assert!(allowed("http://images.example.org/x", &f, &known));
        assert!(!allowed("http://example.com/x", &f, &known));
        assert!(!allowed("https://images.example.org/x", &f, &known));
        assert!(allowed("gopher://images.example.org/x", &f, &known));
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Every spelling of loopback, link-local/metadata, private, unique-local
    /// and unspecified addresses in a URL.
    const INTERNAL_URLS: &[(&str, &str)] = &[
        ("http://127.0.0.1/x", "127.0.0.1"),
        ("http://127.0.0.53/x", "127.0.0.53"),
        ("http://[::1]/x", "::1"),
        ("http://[::ffff:127.0.0.1]/x", "127.0.0.1"),
        ("http://[::ffff:7f00:1]/x", "127.0.0.1"),
        ("http://[0:0:0:0:0:ffff:7f00:1]:80/x", "127.0.0.1"),
        ("http://[::127.0.0.1]/x", "::7f00:1"),
        ("http://[64:ff9b::7f00:1]/x", "64:ff9b::7f00:1"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254",
        ),
        ("http://[::ffff:169.254.169.254]/x", "169.254.169.254"),
        ("http://[::ffff:a9fe:a9fe]/x", "169.254.169.254"),
        ("http://[fe80::1]/x", "fe80::1"),
        ("http://[fd00:ec2::254]/x", "fd00:ec2::254"),
        ("http://10.0.0.1/x", "10.0.0.1"),
        ("http://172.16.5.4/x", "172.16.5.4"),
        ("http://192.168.0.1/x", "192.168.0.1"),
        ("http://[::ffff:192.168.0.1]/x", "192.168.0.1"),
        ("http://100.64.0.1/x", "100.64.0.1"),
        ("http://0.0.0.0/x", "0.0.0.0"),
        ("http://[::]/x", "::"),
        ("http://[::ffff:0.0.0.0]/x", "0.0.0.0"),
        ("http://224.0.0.1/x", "224.0.0.1"),
        ("http://255.255.255.255/x", "255.255.255.255"),
    ];

    /// The address rule on top of the URL rules (what the service applies).
    fn fetchable(uri: &str, f: &ImportFilter) -> bool {
        match target(uri, f) {
            Some(Target {
                host: Host::Ip(ip), ..
            }) => address_refusal(f, ip).is_none(),
            _ => false,
        }
    }

    #[test]
    fn internal_addresses_refused_by_default() {
        let f = ImportFilter::default();
        for (uri, addr) in INTERNAL_URLS {
            let t = target(uri, &f).unwrap_or_else(|| panic!("{uri}"));
            assert_eq!(t.host, Host::Ip(ip(addr)), "{uri}");
            let why = address_refusal(&f, ip(addr)).unwrap_or_default();
            assert!(why.starts_with(&format!("{addr} is a ")), "{uri}: {why}");
            assert!(!fetchable(uri, &f), "{uri}");
        }
        // Public addresses are fine.
        for uri in [
            "http://93.184.216.34/x",
            "https://8.8.8.8/x",
            "http://[2606:4700:4700::1111]/x",
            "http://[::ffff:8.8.8.8]/x",
        ] {
            assert!(fetchable(uri, &f), "{uri}");
        }
    }

    #[test]
    fn internal_addresses_allowed_by_the_operator() {
        let blanket = ImportFilter {
            allow_internal_addresses: true,
            ..ImportFilter::default()
        };
        for (uri, _) in INTERNAL_URLS {
            assert!(fetchable(uri, &blanket), "{uri}");
        }
        // Naming the address in allowed_hosts, in any spelling, allows exactly it.
        for entry in ["127.0.0.1", "::ffff:127.0.0.1", "[::ffff:7f00:1]"] {
            let f = ImportFilter {
                allowed_hosts: vec![entry.into()],
                ..ImportFilter::default()
            };
            for uri in [
                "http://127.0.0.1/x",
                "http://[::ffff:127.0.0.1]/x",
                "http://[::ffff:7f00:1]/x",
            ] {
                assert!(fetchable(uri, &f), "{entry}: {uri}");
            }
            for uri in [
                "http://127.0.0.2/x",
                "http://[::1]/x",
                "http://169.254.169.254/x",
            ] {
                assert!(!fetchable(uri, &f), "{entry}: {uri}");
            }
        }
    }

    #[test]
    fn host_lists_compare_addresses() {
        // Denying 127.0.0.1 and ::1 denies every spelling of them.
        let f = ImportFilter {
            disallowed_hosts: vec!["127.0.0.1".into(), "::1".into(), "Localhost.".into()],
            allow_internal_addresses: true,
            ..ImportFilter::default()
        };
        for uri in [
            "http://127.0.0.1/x",
            "http://[::ffff:127.0.0.1]/x",
            "http://[::ffff:7f00:1]/x",
            "http://[0::1]/x",
            "http://[0:0:0:0:0:0:0:1]/x",
            "http://localhost/x",
            "http://LOCALHOST./x",
        ] {
            assert_eq!(target(uri, &f), None, "{uri}");
        }
        assert!(fetchable("http://127.0.0.2/x", &f));
        // A denied address is refused when a name resolves to it, too.
        assert_eq!(
            address_refusal(&f, ip("::ffff:127.0.0.1")).as_deref(),
            Some("127.0.0.1 is in disallowed_hosts")
        );
        assert_eq!(address_refusal(&f, ip("127.0.0.2")), None);
        assert!(listed(
            &["EXAMPLE.com".into()],
            &Host::Name("example.com".into())
        ));
        assert!(!listed(
            &["127.0.0.1".into()],
            &Host::Name("127.0.0.1x".into())
        ));
        assert!(!listed(&["example.com".into()], &Host::Ip(ip("127.0.0.1"))));
    }

    #[test]
    fn numeric_spellings_refused() {
        // A WHATWG parser (reqwest's) reads each of these as 127.0.0.1 (see
        // service::web_download's tests); glint refuses them whatever the lists say.
        let open = ImportFilter {
            allowed_hosts: vec!["127.0.0.1".into()],
            allowed_ports: vec![],
            ..ImportFilter::default()
        };
        for host in [
            "2130706433",
            "127.1",
            "0177.0.0.1",
            "0x7f.1",
            "0x7f000001",
            "0X7F.0.0.1",
            "127.0.0.1.",
            "017700000001",
        ] {
            let uri = format!("http://{host}/x");
            assert_eq!(target(&uri, &open), None, "{uri}");
            assert!(!allowed(&uri, &ImportFilter::default(), &|_| true), "{uri}");
        }
        assert_eq!(split("http://[127.0.0.1/x"), None);
        assert_eq!(split("http://127.0.0.1]/x"), None);
        for host in ["[fe80::1%25eth0]", "[127.0.0.1", "127.0.0.1]", "[::1]x"] {
            let uri = format!("http://{host}/x");
            assert!(!fetchable(&uri, &open), "{uri}");
        }
    }
}
