//! The v2.17 locations API: `POST` and `GET /v2/images/{id}/locations`.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::body::{forbid_body, require_json};
use crate::api::context::Ctx;
use crate::api::json;
use crate::api::request_id::RequestId;
use crate::app::AppState;
use crate::domain::id::ImageId;
use crate::domain::location_add;
use crate::error::Error;
use crate::service::location_import as svc;

/// `POST /v2/images/{id}/locations`: 202 with no body. Glance checks the body before it
/// looks the image up.
pub async fn add(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<ImageId>,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    let body = require_json(&req, payload).await?;
    let add = location_add::parse(&body)?;
    svc::add(&state, ctx, RequestId::of(&req), path.into_inner(), add).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// `GET /v2/images/{id}/locations`: the image's locations (`url`, `metadata`).
pub async fn list(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<ImageId>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let locations = svc::list(&state, ctx, path.into_inner()).await?;
    Ok(json::respond(HttpResponse::Ok(), &locations))
}
