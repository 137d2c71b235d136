//! `GET|PUT /v2/glint/domains/{domain_id}/guardrails`: what a domain's admin forbids the
//! domain's projects on top of the operator's guardrails (`service::domain_guardrails`).

use actix_web::{web, HttpRequest, HttpResponse};

use super::glint_ctx::GlintCtx;
use crate::api::body::{forbid_body, require_json};
use crate::api::json;
use crate::app::AppState;
use crate::error::Error;
use crate::service::domain_guardrails;

/// `GET`: the domain's guardrails (`[]` when it set none) beside the operator's.
pub async fn get(
    state: web::Data<AppState>,
    GlintCtx(ctx): GlintCtx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let view = domain_guardrails::get(&state, ctx, path.into_inner()).await?;
    Ok(json::respond(HttpResponse::Ok(), &view.to_json()))
}

/// `PUT` with `{"guardrails": [...]}`: replaces the domain's guardrails.
pub async fn put(
    state: web::Data<AppState>,
    GlintCtx(ctx): GlintCtx,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    let body = require_json(&req, payload).await?;
    let view = domain_guardrails::put(&state, ctx, path.into_inner(), body).await?;
    Ok(json::respond(HttpResponse::Ok(), &view.to_json()))
}
