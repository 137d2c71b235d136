//! Which URLs `web-download` may fetch: Glance's `[import_filtering_opts]` and
//! `glance.common.utils.validate_import_uri`, applied to the URL a client gives
//! and to every redirect target.
//!
//! The URL is split the way Python's `urlparse` does (not by a WHATWG parser,
//! which would silently turn `http://2130706433/` into `127.0.0.1`), and hosts
//! are normalised as Glance does: literal IPv4/IPv6 addresses in standard form
//! only, all-numeric or dotted-numeric spellings refused, names only if they
//! resolve (the caller supplies the resolver, so this module stays pure).

use std::net::{Ipv4Addr, Ipv6Addr};

/// `[import_filtering_opts]` with Glance's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportFilter {
    pub allowed_schemes: Vec<String>,
    pub disallowed_schemes: Vec<String>,
    pub allowed_hosts: Vec<String>,
    pub disallowed_hosts: Vec<String>,
    pub allowed_ports: Vec<u16>,
    pub disallowed_ports: Vec<u16>,
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
            None => (v6, None),
        }
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

/// Glance's `normalize_hostname`: the standard text of a literal address, the
/// name itself if `resolves` says it resolves, else `None`.
pub fn normalize_host(host: &str, resolves: &dyn Fn(&str) -> bool) -> Option<String> {
    if let Ok(v4) = host.parse::<Ipv4Addr>() {
        return Some(v4.to_string());
    }
    if let Ok(v6) = host.parse::<Ipv6Addr>() {
        return Some(v6.to_string());
    }
    // Numeric spellings the resolver might still accept (2130706433, 127.1, 0x7f...):
    // refused outright, the others must be real names.
    if host.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    resolves(host).then(|| host.to_owned())
}

/// `validate_import_uri`: may `uri` be fetched? When an allow list and a deny
/// list are both configured, only the allow list counts (as in Glance).
pub fn allowed(uri: &str, f: &ImportFilter, resolves: &dyn Fn(&str) -> bool) -> bool {
    if uri.is_empty() {
        return false;
    }
    let Some(parts) = split(uri) else {
        return false;
    };
    let scheme_ok = if f.allowed_schemes.is_empty() {
        !f.disallowed_schemes.contains(&parts.scheme)
    } else {
        f.allowed_schemes.contains(&parts.scheme)
    };
    if parts.scheme.is_empty() || !scheme_ok {
        return false;
    }
    let Some(host) = parts
        .host
        .as_deref()
        .and_then(|h| normalize_host(h, resolves))
    else {
        return false;
    };
    let host_ok = if f.allowed_hosts.is_empty() {
        !f.disallowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host))
    } else {
        f.allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host))
    };
    if !host_ok {
        return false;
    }
    match parts.port {
        // Port 0 is falsy in Python: not checked.
        None | Some(0) => true,
        Some(p) if !f.allowed_ports.is_empty() => f.allowed_ports.contains(&p),
        Some(p) => !f.disallowed_ports.contains(&p),
    }
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
}
