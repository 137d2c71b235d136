//! JSON as Glance's Python `json.dumps` writes it: `", "` and `": "`
//! separators, non-ASCII characters raw.

use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde::Serialize;

pub fn to_string<T: Serialize>(value: &T) -> String {
    // Only non-string map keys can fail, and glint builds none.
    crate::domain::pyjson::dumps(value, false).unwrap_or_else(|| "null".to_owned())
}

/// A JSON response with Glance's `Content-Type: application/json` (no charset).
pub fn respond<T: Serialize>(mut builder: HttpResponseBuilder, value: &T) -> HttpResponse {
    builder
        .insert_header(ContentType::json())
        .body(to_string(value))
}

#[cfg(test)]
mod tests {
    #[test]
    fn python_separators() {
        let v = serde_json::json!({"a": [1, 2], "b": "é"});
        assert_eq!(super::to_string(&v), r#"{"a": [1, 2], "b": "é"}"#);
    }
}
