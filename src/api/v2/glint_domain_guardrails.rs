//! `GET|PUT /v2/glint/domains/{domain_id}/guardrails`: what a domain's admin forbids the
//! domain's projects on top of the operator's guardrails (`service::domain_guardrails`).

use actix_web::{web, HttpResponse};

use super::glint_ctx::GlintCall;
use crate::api::json;
use crate::error::Error;
use crate::service::domain_guardrails;

/// `GET`: the domain's guardrails (`[]` when it set none) beside the operator's.
pub async fn get(call: GlintCall, path: web::Path<String>) -> Result<HttpResponse, Error> {
    call.no_body()?;
    let view = domain_guardrails::get(&call.state, call.ctx, path.into_inner()).await?;
    Ok(json::respond(HttpResponse::Ok(), &view.to_json()))
}

/// `PUT` with `{"guardrails": [...]}`: replaces the domain's guardrails.
pub async fn put(
    call: GlintCall,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    let body = call.json_body(payload).await?;
    let view = domain_guardrails::put(&call.state, call.ctx, path.into_inner(), body).await?;
    Ok(json::respond(HttpResponse::Ok(), &view.to_json()))
}
