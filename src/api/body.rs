//! Request bodies with Glance's checks and messages.

use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use serde_json::Value;

use crate::error::Error;

pub use crate::domain::limits::MAX_JSON_BODY;

/// Glance's rule for "a body is present": a positive Content-Length, or a transfer-encoding.
pub fn has_body(req: &HttpRequest) -> bool {
    let len = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if len > 0 {
        return true;
    }
    // Like Glance: a transfer-encoding means a body only on methods that take one.
    let takes_body = matches!(req.method().as_str(), "POST" | "PUT" | "PATCH");
    takes_body
        && req
            .headers()
            .get("transfer-encoding")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|te| {
                te.split(',').any(|t| {
                    matches!(
                        t.trim().to_ascii_lowercase().as_str(),
                        "chunked" | "compress" | "deflate" | "gzip" | "identity"
                    )
                })
            })
}

/// GET and DELETE on most routes refuse a body.
pub fn forbid_body(req: &HttpRequest) -> Result<(), Error> {
    if has_body(req) {
        Err(Error::bad_request(
            "A body is not expected with this request.",
        ))
    } else {
        Ok(())
    }
}

/// Read and parse a JSON body; `None` when no body was sent.
pub async fn read_json(
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<Option<Value>, Error> {
    if !has_body(req) {
        return Ok(None);
    }
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| Error::bad_request(format!("Error reading request body: {e}")))?;
        if buf.len() + chunk.len() > MAX_JSON_BODY {
            return Err(Error::too_large("Request is too large."));
        }
        buf.extend_from_slice(&chunk);
    }
    if buf.is_empty() {
        return Ok(None);
    }
    decode_json(&buf).map(Some)
}

/// The checks on a received, non-empty JSON body: well-formed, no NUL, a list or a dict.
pub fn decode_json(buf: &[u8]) -> Result<Value, Error> {
    let value: Value = serde_json::from_slice(buf)
        .map_err(|_| Error::bad_request("Malformed JSON in request body."))?;
    if has_nul(&value) {
        return Err(Error::bad_request(
            "NUL characters are not allowed in request bodies.",
        ));
    }
    match value {
        Value::Object(_) | Value::Array(_) => Ok(value),
        _ => Err(Error::bad_request(
            "Unexpected body type. Expected list/dict.",
        )),
    }
}

/// Strings with NUL cannot be stored (PostgreSQL text) and have no use in image metadata.
fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// A body is required.
pub async fn require_json(req: &HttpRequest, payload: web::Payload) -> Result<Value, Error> {
    read_json(req, payload)
        .await?
        .ok_or_else(|| Error::bad_request("Body expected in request."))
}
