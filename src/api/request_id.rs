//! `x-openstack-request-id` on every response; a client's own id is reused.

use actix_web::http::header::{HeaderName, HeaderValue};

pub const HEADER: &str = "x-openstack-request-id";
const MAX_LEN: usize = 64;

/// Glance reuses a client-sent id up to 64 characters, prefixing `req-` if missing.
pub fn choose(incoming: Option<&HeaderValue>) -> String {
    match incoming.and_then(|v| v.to_str().ok()) {
        Some(id)
            if !id.is_empty()
                && id.len() <= MAX_LEN
                && id.chars().all(|c| c.is_ascii_graphic()) =>
        {
            if id.starts_with("req-") {
                id.to_owned()
            } else {
                format!("req-{id}")
            }
        }
        _ => format!("req-{}", uuid::Uuid::new_v4()),
    }
}

/// The request's id, for handlers that record it (tasks do).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn of(req: &actix_web::HttpRequest) -> Option<String> {
        use actix_web::HttpMessage;
        req.extensions().get::<RequestId>().map(|r| r.0.clone())
    }
}

pub fn header_name() -> HeaderName {
    HeaderName::from_static(HEADER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuse_or_generate() {
        let v = HeaderValue::from_static("abc");
        assert_eq!(choose(Some(&v)), "req-abc");
        let v = HeaderValue::from_static("req-abc");
        assert_eq!(choose(Some(&v)), "req-abc");
        let long = HeaderValue::from_str(&"x".repeat(65)).unwrap();
        assert!(choose(Some(&long)).starts_with("req-") && choose(Some(&long)).len() == 40);
        assert_eq!(choose(None).len(), 40);
    }
}
