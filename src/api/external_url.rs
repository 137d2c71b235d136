//! The scheme, host and path prefix a client used to reach glint: the one place the links
//! glint builds (`Location` headers, the versions document) take their origin from.
//!
//! `[DEFAULT] public_endpoint` wins when set. Otherwise the request's own `Host` and the
//! scheme of the connection glint accepted, unless `[oslo_middleware]
//! enable_proxy_headers_parsing` is on: then, as oslo.middleware's `HTTPProxyToWSGI` does,
//! the first element of `Forwarded` gives `proto` and `host`, or without `Forwarded`,
//! `X-Forwarded-Proto` and `X-Forwarded-Host` do; `X-Forwarded-Prefix` goes before the
//! path. actix's `connection_info()` reads those headers unconditionally, so it must not
//! be used for links.

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::app::AppState;

/// Where the client believes it is talking to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalUrl {
    pub scheme: String,
    pub host: String,
    /// The path a proxy mounts glint under (`X-Forwarded-Prefix`), "" when none.
    pub prefix: String,
}

fn header_str<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A `Forwarded` parameter value without RFC 7239's optional quotes.
fn unquote(v: &str) -> &str {
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(v)
}

/// `proto` and `host` of the first element of a `Forwarded` header (the proxy nearest
/// the client), as oslo.middleware reads it.
fn forwarded(value: &str) -> (Option<&str>, Option<&str>) {
    let first = value.split(',').next().unwrap_or("");
    let (mut proto, mut host) = (None, None);
    for pair in first.split(';') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = unquote(v);
        if v.is_empty() {
            continue;
        }
        match k.trim().to_ascii_lowercase().as_str() {
            "proto" => proto = Some(v),
            "host" => host = Some(v),
            _ => {}
        }
    }
    (proto, host)
}

/// The request's external origin and prefix; the forwarding headers count only when
/// `trust_proxy_headers` is set.
pub fn of(req: &HttpRequest, trust_proxy_headers: bool) -> ExternalUrl {
    let scheme = if req.app_config().secure() {
        "https"
    } else {
        "http"
    };
    let host = header_str(req, header::HOST.as_str())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_else(|| req.app_config().host().to_owned());
    let mut url = ExternalUrl {
        scheme: scheme.to_owned(),
        host,
        prefix: String::new(),
    };
    if !trust_proxy_headers {
        return url;
    }
    let (proto, host) = match header_str(req, "forwarded") {
        Some(f) => forwarded(f),
        None => (
            header_str(req, "x-forwarded-proto"),
            header_str(req, "x-forwarded-host"),
        ),
    };
    if let Some(p) = proto {
        url.scheme = p.to_owned();
    }
    if let Some(h) = host {
        url.host = h.to_owned();
    }
    if let Some(p) = header_str(req, "x-forwarded-prefix") {
        url.prefix = p.trim_end_matches('/').to_owned();
    }
    url
}

/// The base of `Location` headers: `public_endpoint`, else the external scheme and host.
/// (Glance sets a path-absolute `Location` that WebOb completes with the request's scheme
/// and host only, so no prefix.)
pub fn location_base(state: &AppState, req: &HttpRequest) -> String {
    match &state.config.public_endpoint {
        Some(p) => p.clone(),
        None => {
            let u = of(req, state.config.enable_proxy_headers_parsing);
            format!("{}://{}", u.scheme, u.host)
        }
    }
}

/// The application's URL for the versions document: `public_endpoint`, else the external
/// scheme, host and prefix (WebOb's `application_url`).
pub fn application_url(state: &AppState, req: &HttpRequest) -> String {
    match &state.config.public_endpoint {
        Some(p) => p.clone(),
        None => {
            let u = of(req, state.config.enable_proxy_headers_parsing);
            format!("{}://{}{}", u.scheme, u.host, u.prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn url(headers: &[(&str, &str)], trust: bool) -> ExternalUrl {
        let mut r = TestRequest::default().insert_header(("host", "glint.example:9292"));
        for h in headers {
            r = r.insert_header(*h);
        }
        of(&r.to_http_request(), trust)
    }

    fn e(scheme: &str, host: &str, prefix: &str) -> ExternalUrl {
        ExternalUrl {
            scheme: scheme.into(),
            host: host.into(),
            prefix: prefix.into(),
        }
    }

    #[test]
    fn forwarding_headers_count_only_when_trusted() {
        let all: &[(&str, &str)] = &[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-prefix", "/image"),
        ];
        type Case<'a> = (Vec<(&'a str, &'a str)>, bool, ExternalUrl);
        let cases: Vec<Case> = vec![
            (vec![], false, e("http", "glint.example:9292", "")),
            (all.to_vec(), false, e("http", "glint.example:9292", "")),
            (
                vec![("forwarded", "proto=https;host=evil.example")],
                false,
                e("http", "glint.example:9292", ""),
            ),
            (all.to_vec(), true, e("https", "evil.example", "/image")),
            // Forwarded wins over the X- headers; its first element is the one read.
            (
                vec![
                    (
                        "forwarded",
                        "for=1.2.3.4;proto=https;host=\"a.example\", host=b.example",
                    ),
                    ("x-forwarded-host", "c.example"),
                ],
                true,
                e("https", "a.example", ""),
            ),
            (
                vec![("forwarded", "for=1.2.3.4")],
                true,
                e("http", "glint.example:9292", ""),
            ),
        ];
        for (headers, trust, want) in cases {
            assert_eq!(url(&headers, trust), want, "{headers:?} {trust}");
        }
    }
}
