//! The http store's options: glance_store's three (`https_insecure`,
//! `https_ca_certificates_file`, `http_proxy_information`, read from `[glance_store]` or the
//! http backend's own section) and glint's `[glint_http_store]` ones, which say which hosts
//! it may reach and for how long it waits.

use std::path::PathBuf;

use super::RawConfig;

/// glint's own section for the http store.
pub const SECTION: &str = "glint_http_store";

/// Options glint reads for the http store.
pub(super) const KNOWN: &[(&str, &[&str])] = &[
    (
        "glance_store",
        &[
            "https_insecure",
            "https_ca_certificates_file",
            "http_proxy_information",
        ],
    ),
    (SECTION, &["allow_internal_addresses", "timeout"]),
];

/// Keys of glance_store's http driver, also read from a backend's own section.
pub(super) const BACKEND_KEYS: &[&str] = &[
    "https_insecure",
    "https_ca_certificates_file",
    "http_proxy_information",
];

/// The read-only http store (glance_store's `http` driver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// `https_insecure` (glance_store's default: true, the server certificate is not checked).
    pub insecure: bool,
    /// `https_ca_certificates_file`: a PEM bundle to check servers with; when set,
    /// `https_insecure` is ignored, as in glance_store.
    pub ca_file: Option<PathBuf>,
    /// `http_proxy_information`: `scheme -> proxy URL` (`http:10.0.0.1:3128`).
    pub proxies: Vec<(String, String)>,
    /// `[glint_http_store] allow_internal_addresses` (default false): whether the store may
    /// connect to loopback, private, link-local and other internal addresses. Glance does no
    /// such check; glint refuses them by default because a location URL is fetched by the
    /// server on behalf of whoever adds it (api-ref/differences.md).
    pub allow_internal_addresses: bool,
    /// `[glint_http_store] timeout`, seconds (default 60): to connect, and between two reads.
    pub timeout: u64,
}

impl HttpConfig {
    /// Reads glance_store's options from `section` (`glance_store` or the backend's id) and
    /// glint's from `[glint_http_store]`.
    pub fn from_raw(raw: &RawConfig, section: &str) -> Result<Self, String> {
        let proxies = match raw.get(section, "http_proxy_information") {
            None => vec![],
            Some(v) => parse_proxies(v).map_err(|e| {
                format!("invalid value '{v}' for [{section}] http_proxy_information: {e}")
            })?,
        };
        let timeout: u64 = raw.parse(SECTION, "timeout", 60)?;
        if timeout == 0 {
            return Err(format!("[{SECTION}] timeout must be at least 1"));
        }
        Ok(HttpConfig {
            insecure: raw.parse_bool(section, "https_insecure", true)?,
            ca_file: raw
                .get(section, "https_ca_certificates_file")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            proxies,
            allow_internal_addresses: raw.parse_bool(SECTION, "allow_internal_addresses", false)?,
            timeout,
        })
    }
}

/// oslo.config's DictOpt as glance_store uses it: `scheme:proxy` pairs separated by commas;
/// a proxy without a scheme is `http://` (as requests reads it).
fn parse_proxies(v: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (scheme, proxy) = pair
            .split_once(':')
            .map(|(s, p)| (s.trim().to_ascii_lowercase(), p.trim()))
            .ok_or_else(|| format!("'{pair}' is not scheme:proxy"))?;
        if !matches!(scheme.as_str(), "http" | "https") || proxy.is_empty() {
            return Err(format!("'{pair}' is not http:<proxy> or https:<proxy>"));
        }
        let proxy = if proxy.contains("://") {
            proxy.to_owned()
        } else {
            format!("http://{proxy}")
        };
        out.push((scheme, proxy));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> RawConfig {
        RawConfig::from_text(text).expect("config text")
    }

    #[test]
    fn defaults_are_glance_stores() {
        let c = HttpConfig::from_raw(&raw(""), "glance_store").expect("defaults");
        assert!(c.insecure);
        assert_eq!(c.ca_file, None);
        assert!(c.proxies.is_empty());
        assert!(!c.allow_internal_addresses);
        assert_eq!(c.timeout, 60);
    }

    #[test]
    fn options_are_read_from_the_section() {
        let c = HttpConfig::from_raw(
            &raw(
                "[web]\nhttps_insecure = false\nhttps_ca_certificates_file = /etc/ca.pem\n\
                  http_proxy_information = http:10.0.0.1:3128, https:https://p:1080\n\
                  [glint_http_store]\nallow_internal_addresses = true\ntimeout = 5\n",
            ),
            "web",
        )
        .expect("valid");
        assert!(!c.insecure && c.allow_internal_addresses);
        assert_eq!(c.ca_file, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(
            c.proxies,
            vec![
                ("http".into(), "http://10.0.0.1:3128".into()),
                ("https".into(), "https://p:1080".into())
            ]
        );
        assert_eq!(c.timeout, 5);
        for bad in [
            "[glance_store]\nhttp_proxy_information = ftp:x:1\n",
            "[glance_store]\nhttp_proxy_information = nocolon\n",
            "[glance_store]\nhttps_insecure = maybe\n",
            "[glint_http_store]\ntimeout = 0\n",
        ] {
            assert!(
                HttpConfig::from_raw(&raw(bad), "glance_store").is_err(),
                "{bad}"
            );
        }
    }
}
