//! The versions document (outside auth) and the health check.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::json;
use crate::app::AppState;

/// Glance's default list (no image cache, no multi-store), in Glance's order.
const VERSIONS: &[(&str, &str)] = &[
    ("v2.15", "SUPPORTED"),
    ("v2.9", "SUPPORTED"),
    ("v2.17", "CURRENT"),
    ("v2.7", "SUPPORTED"),
    ("v2.6", "SUPPORTED"),
    ("v2.5", "SUPPORTED"),
    ("v2.4", "SUPPORTED"),
    ("v2.3", "SUPPORTED"),
    ("v2.2", "SUPPORTED"),
    ("v2.1", "SUPPORTED"),
    ("v2.0", "SUPPORTED"),
];

/// Path prefixes that reach the v2 API (rewritten to `/v2`).
pub fn is_v2_alias(segment: &str) -> bool {
    segment == "v2"
        || segment
            .strip_prefix("v2.")
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| n <= 17 && !segment[3..].starts_with('0') || segment == "v2.0")
}

/// What multi-store mode (`enabled_backends`) lists in place of v2.9, in Glance's order.
const MULTI_STORE: &[(&str, &str)] = &[
    ("v2.13", "SUPPORTED"),
    ("v2.12", "SUPPORTED"),
    ("v2.11", "SUPPORTED"),
    ("v2.10", "SUPPORTED"),
    ("v2.9", "SUPPORTED"),
    ("v2.8", "SUPPORTED"),
];

fn document(state: &AppState, req: &HttpRequest) -> serde_json::Value {
    let base = super::external_url::application_url(state, req);
    let href = format!("{base}/v2/");
    let mut versions: Vec<(&str, &str)> = VERSIONS.to_vec();
    if state.config.backend.is_some() {
        versions.splice(1..2, MULTI_STORE.iter().copied());
    }
    json!({
        "versions": versions.iter().map(|(id, status)| json!({
            "id": id,
            "status": status,
            "links": [{"rel": "self", "href": href}],
        })).collect::<Vec<_>>()
    })
}

/// `GET /` and any unknown version: 300 Multiple Choices.
pub async fn multiple_choices(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    json::respond(
        HttpResponse::build(StatusCode::MULTIPLE_CHOICES),
        &document(&state, &req),
    )
}

/// `/versions`: 200.
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    json::respond(HttpResponse::Ok(), &document(&state, &req))
}

#[cfg(test)]
mod tests {
    use super::is_v2_alias;

    #[test]
    fn aliases() {
        for ok in ["v2", "v2.0", "v2.1", "v2.9", "v2.17"] {
            assert!(is_v2_alias(ok), "{ok}");
        }
        for bad in ["v2.18", "v2.99", "v1", "v3", "v2.01", "v2.", "v20"] {
            assert!(!is_v2_alias(bad), "{bad}");
        }
    }
}
