//! `/v2/glint/grants`: an owner's images granted to a Keystone domain or a project subtree
//! (`service::grants`). With the sharing extensions off every route answers as an unknown path.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::glint_ctx::GlintCall;
use crate::api::json;
use crate::domain::grant::{Decision, NewGrant};
use crate::error::Error;
use crate::service::grants;

/// `POST /v2/glint/grants` with `{"images": [ids] | "tag": t, "target": {"domain": id} |
/// {"project": id}}`: 201 with the grant and how many member rows it made.
pub async fn create(call: GlintCall, payload: web::Payload) -> Result<HttpResponse, Error> {
    call.state.policy.enforce(
        "glint:create_grant",
        &call.ctx,
        &crate::policy::project_target(&call.ctx),
    )?;
    let body = call.json_body(payload).await?;
    let g = NewGrant::parse(&body)?;
    let v = grants::create(&call.state, call.ctx, g).await?;
    Ok(json::respond(
        HttpResponse::Created(),
        &json!({ "grant": v.to_json() }),
    ))
}

/// `GET /v2/glint/grants`: the caller's project's grants, oldest first.
pub async fn list(call: GlintCall) -> Result<HttpResponse, Error> {
    call.no_body()?;
    let all = grants::list(&call.state, call.ctx).await?;
    let items: Vec<Value> = all.iter().map(grants::View::to_json).collect();
    Ok(json::respond(
        HttpResponse::Ok(),
        &json!({ "grants": items }),
    ))
}

/// `GET /v2/glint/grants/{id}`.
pub async fn show(call: GlintCall, path: web::Path<String>) -> Result<HttpResponse, Error> {
    call.no_body()?;
    let v = grants::get(&call.state, call.ctx, path.into_inner()).await?;
    Ok(json::respond(
        HttpResponse::Ok(),
        &json!({ "grant": v.to_json() }),
    ))
}

/// `DELETE /v2/glint/grants/{id}`: revoke, removing every share it made.
pub async fn delete(call: GlintCall, path: web::Path<String>) -> Result<HttpResponse, Error> {
    call.no_body()?;
    grants::delete(&call.state, call.ctx, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /v2/glint/grants/{id}/decision` with `{"status": "accepted" | "rejected"}`.
pub async fn decide(
    call: GlintCall,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    let body = call.json_body(payload).await?;
    let d = Decision::parse(&body)?;
    let (v, changed) = grants::decide(&call.state, call.ctx, path.into_inner(), d).await?;
    Ok(json::respond(
        HttpResponse::Ok(),
        &json!({ "grant": v.to_json(), "members_changed": changed }),
    ))
}
