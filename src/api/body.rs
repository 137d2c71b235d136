//! Request bodies with Glance's checks and messages.

use std::time::Duration;

use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use serde_json::Value;

use crate::app::AppState;
use crate::domain::limits::{stalled, JSON_BODY_TIMEOUTS};
use crate::error::Error;

pub use crate::domain::limits::MAX_JSON_BODY;

/// Glance's rule for "a body is present": a positive Content-Length, or a transfer-encoding.
pub fn has_body(req: &HttpRequest) -> bool {
    let len = content_length(req).unwrap_or(0);
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

/// The request's `Content-Length`, when it sent a valid one.
pub fn content_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// Read and parse a JSON body; `None` when no body was sent.
///
/// A `Content-Length` over [`MAX_JSON_BODY`] is refused (413) before a byte is read; a body that
/// goes silent for `client_socket_timeout` ends the request (400) and frees what was buffered.
pub async fn read_json(
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<Option<Value>, Error> {
    if !has_body(req) {
        return Ok(None);
    }
    if content_length(req).is_some_and(|n| n > MAX_JSON_BODY as u64) {
        return Err(too_large());
    }
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Err(Error::internal("no application state"));
    };
    let idle = state.config.transport.client_socket_timeout;
    let deadline = tokio::time::Instant::now() + idle * JSON_BODY_TIMEOUTS;
    let mut buf = web::BytesMut::new();
    // The KiB of the shared budget this body holds, released when it is parsed or refused.
    let mut held: Option<tokio::sync::OwnedSemaphorePermit> = None;
    loop {
        let wait = idle.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        let chunk = match tokio::time::timeout(wait, payload.next()).await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(_) if tokio::time::Instant::now() >= deadline => {
                return Err(Error::bad_request(format!(
                    "Request body not received in time: it must arrive within {} seconds \
                     (client_socket_timeout x {JSON_BODY_TIMEOUTS}).",
                    (idle * JSON_BODY_TIMEOUTS).as_secs()
                )))
            }
            Err(_) => {
                return Err(Error::bad_request(stalled(
                    "Request body",
                    idle,
                    "client_socket_timeout",
                )))
            }
        };
        let chunk =
            chunk.map_err(|e| Error::bad_request(format!("Error reading request body: {e}")))?;
        if buf.len() + chunk.len() > MAX_JSON_BODY {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
        // What the buffer has allocated (it grows by doubling), not only what it holds.
        let held_kib = held.as_ref().map_or(0, |p| p.num_permits());
        let more = buf.capacity().div_ceil(1024).saturating_sub(held_kib);
        if more > 0 {
            let permit = state
                .json_bodies
                .clone()
                .try_acquire_many_owned(u32::try_from(more).unwrap_or(u32::MAX))
                .map_err(|_| {
                    Error::Unavailable(
                        "The server is receiving too many request bodies at once; retry later."
                            .into(),
                    )
                })?;
            match held.as_mut() {
                Some(h) => h.merge(permit),
                None => held = Some(permit),
            }
        }
    }
    if buf.is_empty() {
        return Ok(None);
    }
    decode_json(&buf).map(Some)
}

fn too_large() -> Error {
    Error::too_large("Request is too large.")
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

/// A second handle on the client's TCP connection, taken when it was accepted
/// (`server::serve`), for [`late_answer`].
#[derive(Debug, Clone)]
pub struct RawConnection(pub std::sync::Arc<std::net::TcpStream>);

/// How long a late answer may take to write, and how long the client's unread data is drained
/// after it (so that closing does not reset the connection before the answer is read).
const LATE_ANSWER_LINGER: Duration = Duration::from_secs(1);

/// An answer for a request that actix abandons: actix-http takes a malformed chunked body for an
/// I/O error and drops the connection, and the request's handler with it, without a response.
/// The returned callback (run once the request's clean-up is done) renders `err` as the request
/// asked and writes it on the raw connection, then closes it. `None` when the connection is not
/// a plain TCP one.
pub fn late_answer(req: &HttpRequest, err: Error) -> Option<crate::service::transfer::OnAbandon> {
    use actix_web::body::MessageBody;
    let conn = req.conn_data::<RawConnection>()?.0.clone();
    let res = crate::api::error::render(&err, crate::api::error::accept_value(req).as_deref());
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    let body = res.into_body().try_into_bytes().ok()?;
    let request_id = crate::api::request_id::RequestId::of(req)
        .map(|id| format!("{}: {id}\r\n", crate::api::request_id::HEADER))
        .unwrap_or_default();
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         {request_id}Connection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    );
    Some(Box::new(move || {
        Box::pin(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            // A handle of our own, registered with this thread's reactor; the socket stays
            // non-blocking, so nothing changes for actix's handle should it still be open.
            let Ok(mut s) = conn.try_clone().and_then(tokio::net::TcpStream::from_std) else {
                return;
            };
            let answered = tokio::time::timeout(LATE_ANSWER_LINGER, async {
                s.write_all(head.as_bytes()).await?;
                s.write_all(&body).await?;
                s.shutdown().await
            })
            .await;
            if !matches!(answered, Ok(Ok(()))) {
                return;
            }
            // Drain what the client still sends, briefly, so that closing does not reset the
            // connection before the client has read the answer.
            let _ = tokio::time::timeout(LATE_ANSWER_LINGER, async {
                let mut buf = [0u8; 16 * 1024];
                let mut drained = 0usize;
                while drained < 4 * 1024 * 1024 {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => drained += n,
                    }
                }
            })
            .await;
        })
    }))
}
