//! `/v2/images/{id}/file`: upload and download.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::images::no_content;
use crate::api::body::forbid_body;
use crate::api::context::Ctx;
use crate::app::AppState;
use crate::error::{Error, Msg};
use crate::service::data::{self, ByteRange, Download};

pub async fn upload(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
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
    data::upload(&state, ctx, path.into_inner(), payload).await?;
    Ok(no_content())
}

/// Parse `Range`: one `bytes=` range; several are a 400, other units a 416.
fn parse_range(req: &HttpRequest) -> Result<Option<ByteRange>, Error> {
    let Some(raw) = req.headers().get("range") else {
        return Ok(None);
    };
    let raw = raw
        .to_str()
        .map_err(|_| Error::bad_request("Invalid Range header."))?
        .trim();
    let Some(spec) = raw.strip_prefix("bytes=") else {
        return Err(Error::RangeNotSatisfiable(0));
    };
    if spec.contains(',') {
        return Err(Error::bad_request("Multiple ranges are not supported."));
    }
    let (a, b) = spec.split_once('-').ok_or(Error::RangeNotSatisfiable(0))?;
    let num = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| Error::RangeNotSatisfiable(0))
    };
    Ok(Some(match (a.trim(), b.trim()) {
        ("", "") => return Err(Error::RangeNotSatisfiable(0)),
        ("", n) => ByteRange::Suffix(num(n)?),
        (s, "") => ByteRange::From(num(s)?, None),
        (s, e) => ByteRange::From(num(s)?, Some(num(e)?)),
    }))
}

pub async fn download(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let range = parse_range(&req)?;
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
                None => {
                    let mut b = HttpResponse::Ok();
                    if let Some(c) = checksum {
                        b.insert_header(("Content-MD5", c));
                    }
                    b
                }
            };
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
