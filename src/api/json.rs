//! JSON as Glance's Python `json.dumps` writes it: `", "` and `": "`
//! separators, non-ASCII characters raw.

use std::io;

use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde::Serialize;
use serde_json::ser::Formatter;

struct PyFormatter;

impl Formatter for PyFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

pub fn to_string<T: Serialize>(value: &T) -> String {
    let mut out = Vec::with_capacity(512);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PyFormatter);
    if value.serialize(&mut ser).is_err() {
        // Only non-string map keys can fail, and glint builds none.
        return "null".to_owned();
    }
    String::from_utf8(out).unwrap_or_default()
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
