//! `/v2/images/{id}/file`: upload and download.

use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::TryStreamExt;

use super::images::no_content;
use crate::api::body::{content_length, forbid_body, late_answer};
use crate::api::context::Ctx;
use crate::app::AppState;
use crate::domain::id::ImageId;
use crate::error::{Error, Msg};
use crate::service::data::{self, Download};
use crate::service::quotas;
use crate::service::transfer::{self, OnAbandon};

pub async fn upload(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<ImageId>,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    require_octet_stream(&req)?;
    // Glance's first check: the declared size against `image_size_total`.
    quotas::enforce_size_total(&state, &ctx, content_length(&req).unwrap_or(0)).await?;
    // Multi-store mode: the target store (header, else the default) must be enabled.
    let mut store = None;
    if state.config.backend.is_some() {
        if let Some(h) = req.headers().get("x-image-meta-store") {
            let named = String::from_utf8_lossy(h.as_bytes()).into_owned();
            if state.store.named(&named).is_none() {
                return Err(Error::bad_request(format!(
                    "Unknown scheme '{named}' found in URI"
                )));
            }
            store = Some(named);
        }
    }
    let id = path.into_inner();
    // Who may upload and a place among the project's uploads: before any data. A declared size
    // over the cap is refused by the upload itself, after the events Glance sends first.
    let _slot = transfer::admit_transfer(&state, &ctx, &id, "upload_image", None).await?;
    let declared = content_length(&req);
    let body = payload.map_err(body_error);
    data::upload(
        &state,
        ctx,
        id,
        store,
        declared,
        body,
        abandoned_answer(&req),
    )
    .await?;
    Ok(no_content())
}

/// How a failed request body reads in Glance's `image.upload` error: a body that ends before
/// its declared end is gunicorn's `NoMoreData` under Glance, whose text is this.
fn body_error(e: PayloadError) -> String {
    match e {
        PayloadError::Incomplete(_) => "No more data after: None".to_owned(),
        other => other.to_string(),
    }
}

/// actix drops an upload or stage mid-body on a malformed chunked body, with no answer: the
/// answer glint writes all the same, once the image is `queued` again.
pub fn abandoned_answer(req: &HttpRequest) -> Option<OnAbandon> {
    late_answer(
        req,
        Error::bad_request(
            "Error reading image data: the request body ended abnormally \
             (malformed chunked encoding or a connection error).",
        ),
    )
}

/// Data bodies must be `application/octet-stream` (Glance's deserializer; 415 otherwise).
pub fn require_octet_stream(req: &HttpRequest) -> Result<(), Error> {
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if ct.as_deref() != Some("application/octet-stream") {
        return Err(Error::UnsupportedMediaType(Msg::Explanation(format!(
            "The request media type {} is not supported by this server.",
            ct.unwrap_or_default()
        ))));
    }
    Ok(())
}

pub async fn download(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<ImageId>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let range = req
        .headers()
        .get("range")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    match data::download(&state, ctx, path.into_inner(), range).await? {
        Download::NoData => Ok(HttpResponse::NoContent().finish()),
        Download::Data {
            total,
            range,
            checksum,
            body,
        } => {
            let mut b = match range {
                Some((s, e)) => {
                    let mut b = HttpResponse::build(StatusCode::PARTIAL_CONTENT);
                    b.insert_header(("Content-Range", format!("bytes {s}-{e}/{total}")));
                    b
                }
                None => HttpResponse::Ok(),
            };
            if let Some(c) = checksum {
                b.insert_header(("Content-MD5", c));
            }
            let len = match range {
                Some((s, e)) => e - s + 1,
                None => total,
            };
            b.insert_header(("Content-Type", "application/octet-stream"));
            b.no_chunking(len);
            Ok(b.streaming(body))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_off_body_reads_as_under_glance() {
        assert_eq!(
            body_error(PayloadError::Incomplete(None)),
            "No more data after: None"
        );
        assert_eq!(
            body_error(PayloadError::Overflow),
            PayloadError::Overflow.to_string()
        );
    }
}
