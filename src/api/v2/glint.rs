//! `/v2/glint`: what this deployment's sharing extensions offer (`../shared/design/sharing-extensions.md`).
//! With them off it answers as Glance answers any unknown `/v2` path (404), so a client can probe.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::api::body::forbid_body;
use crate::api::context::Ctx;
use crate::api::json;
use crate::app::AppState;
use crate::domain::member_ext::NOTE_MAX_CHARS;
use crate::error::{Error, Msg};
use crate::policy::project_target;

/// The extensions this build serves when `[glint_sharing] enabled`.
pub const EXTENSIONS: &[&str] = &["member-expiry", "member-note"];

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
