//! `/v2/glint/grants`: an owner's images granted to a Keystone domain or a project subtree
//! (`service::grants`). With the sharing extensions off every route answers as an unknown path.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::glint_ctx::GlintCtx;
use crate::api::body::{forbid_body, require_json};
use crate::api::json;
use crate::app::AppState;
use crate::domain::grant::{Decision, NewGrant};
use crate::error::Error;
use crate::service::grants;

/// `POST /v2/glint/grants` with `{"images": [ids] | "tag": t, "target": {"domain": id} |
/// {"project": id}}`: 201 with the grant and how many member rows it made.
pub async fn create(
    state: web::Data<AppState>,
    GlintCtx(ctx): GlintCtx,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    state.policy.enforce(
        "glint:create_grant",
        &ctx,
        &crate::policy::project_target(&ctx),
    )?;
    let body = require_json(&req, payload).await?;
    let g = NewGrant::parse(&body)?;
    let v = grants::create(&state, ctx, g).await?;
    Ok(json::respond(
        HttpResponse::Created(),
        &json!({ "grant": v.to_json() }),
    ))
}

/// `GET /v2/glint/grants`: the caller's project's grants, oldest first.
pub async fn list(
    state: web::Data<AppState>,
    GlintCtx(ctx): GlintCtx,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let all = grants::list(&state, ctx).await?;
    let items: Vec<Value> = all.iter().map(grants::View::to_json).collect();
    Ok(json::respond(
        HttpResponse::Ok(),
        &json!({ "grants": items }),
    ))
}

/// `GET /v2/glint/grants/{id}`.
pub async fn show(
    state: web::Data<AppState>,
    GlintCtx(ctx): GlintCtx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let v = grants::get(&state, ctx, path.into_inner()).await?;
    Ok(json::respond(
        HttpResponse::Ok(),
        &json!({ "grant": v.to_json() }),
    ))
}

/// `DELETE /v2/glint/grants/{id}`: revoke, removing every share it made.
pub async fn delete(
    state: web::Data<AppState>,
    GlintCtx(ctx): GlintCtx,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    grants::delete(&state, ctx, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /v2/glint/grants/{id}/decision` with `{"status": "accepted" | "rejected"}`.
pub async fn decide(
    state: web::Data<AppState>,
    GlintCtx(ctx): GlintCtx,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    let body = require_json(&req, payload).await?;
    let d = Decision::parse(&body)?;
    let (v, changed) = grants::decide(&state, ctx, path.into_inner(), d).await?;
    Ok(json::respond(
        HttpResponse::Ok(),
        &json!({ "grant": v.to_json(), "members_changed": changed }),
    ))
}
