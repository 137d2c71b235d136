//! Where the page is, as the browser sees it: its origin (what a POST's `Origin` must be, and
//! whether the cookie is `Secure`) and its base path.

use actix_web::HttpRequest;

use crate::api::external_url;
use crate::app::AppState;

/// `scheme://host[:port]` of the page as the browser sees it: `public_endpoint`'s, else the
/// request's (through the proxy headers only when `enable_proxy_headers_parsing` trusts them).
pub fn origin(req: &HttpRequest, state: &AppState) -> String {
    if let Some(p) = &state.config.public_endpoint {
        if let Some((scheme, rest)) = p.split_once("://") {
            let host = rest.split('/').next().unwrap_or(rest);
            return format!("{}://{host}", scheme.to_ascii_lowercase());
        }
    }
    let u = external_url::of(req, state.config.enable_proxy_headers_parsing);
    format!("{}://{}", u.scheme, u.host)
}

/// The page's path: the path of `public_endpoint` (`https://cloud.example.com/image`), else a
/// trusted proxy's `X-Forwarded-Prefix`, then `/glint/ui`.
pub fn base(req: &HttpRequest, state: &AppState) -> String {
    let prefix = match &state.config.public_endpoint {
        Some(p) => endpoint_path(p).to_owned(),
        None => external_url::of(req, state.config.enable_proxy_headers_parsing).prefix,
    };
    format!("{prefix}{}", super::BASE)
}

/// `https://host/image/` -> `/image`; `https://host` -> "".
fn endpoint_path(endpoint: &str) -> &str {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    rest.find('/')
        .map_or("", |i| &rest[i..])
        .trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::endpoint_path;

    #[test]
    fn endpoint_paths() {
        for (e, want) in [
            ("https://cloud.example.com/image", "/image"),
            ("https://cloud.example.com/image/", "/image"),
            ("https://cloud.example.com:8443", ""),
            ("https://cloud.example.com/", ""),
            ("http://h/a/b", "/a/b"),
        ] {
            assert_eq!(endpoint_path(e), want, "{e}");
        }
    }
}
