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

/// The page's path: a trusted proxy's prefix, then `/glint/ui`.
pub fn base(req: &HttpRequest, state: &AppState) -> String {
    let u = external_url::of(req, state.config.enable_proxy_headers_parsing);
    format!("{}{}", u.prefix, super::BASE)
}
