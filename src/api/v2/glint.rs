//! `/v2/glint`: what this deployment's sharing extensions offer (`../shared/design/sharing-extensions.md`).
//! With them off it answers as Glance answers any unknown `/v2` path (404), so a client can probe.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::views;
use crate::api::body::{forbid_body, require_json};
use crate::api::context::Ctx;
use crate::api::json;
use crate::app::AppState;
use crate::domain::id::ImageId;
use crate::domain::member_ext::NOTE_MAX_CHARS;
use crate::error::{Error, Msg};
use crate::policy::project_target;
use crate::service::members;

/// The extensions this build serves when `[glint_sharing] enabled`.
pub const EXTENSIONS: &[&str] = &["member-expiry", "member-note", "member-renewal-request"];

/// `PUT /v2/glint/images/{id}/members/{member_id}` with `{"os_glint": {...}}`: the owner changes
/// the share's expiry and note, the member asks for a renewal. Answers the member object.
pub async fn change_member_ext(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<(ImageId, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, Error> {
    if !state.config.sharing.enabled {
        return Err(Error::NotFound(Msg::Default));
    }
    let (id, member) = path.into_inner();
    members::authorize_change_ext(&state, &ctx, &id, &member).await?;
    let body = require_json(&req, payload).await?;
    let m = members::change_ext(&state, ctx, id, member, body).await?;
    Ok(json::respond(HttpResponse::Ok(), &views::member(&m)))
}

pub async fn discovery(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
) -> Result<HttpResponse, Error> {
    if !state.config.sharing.enabled {
        return Err(Error::NotFound(Msg::Default));
    }
    forbid_body(&req)?;
    state
        .policy
        .enforce("glint:discover", &ctx, &project_target(&ctx))?;
    Ok(json::respond(
        HttpResponse::Ok(),
        &json!({
            "extensions": EXTENSIONS,
            "limits": {"note_max_chars": NOTE_MAX_CHARS},
        }),
    ))
}
