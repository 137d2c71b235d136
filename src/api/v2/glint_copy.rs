//! `POST /v2/glint/images/{id}/copy` with `{"name", "visibility"}`: copy an image the caller may
//! copy (an accepted share, its own, a public or community image) as an image of its own
//! project. 202 with `{"image_id"}` once the copy exists in `saving`; the data is copied in the
//! background (`service::image_copy`) and the copy becomes `active`, or is removed on failure.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::glint_ctx::GlintCall;
use crate::api::body::read_json;
use crate::api::json;
use crate::domain::id::ImageId;
use crate::domain::image_copy::CopyRequest;
use crate::error::Error;

pub async fn copy_image(
    call: GlintCall,
    path: web::Path<ImageId>,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    // No body asks for the defaults (the source's name, private).
    let body = read_json(&call.req, payload)
        .await?
        .unwrap_or_else(|| Value::Object(Default::default()));
    let r = CopyRequest::parse(&body)?;
    let id = crate::service::image_copy::copy(&call.state, call.ctx, path.into_inner(), r).await?;
    Ok(json::respond(
        HttpResponse::Accepted(),
        &json!({ "image_id": id }),
    ))
}
