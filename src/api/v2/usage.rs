//! `GET /v2/info/usage`: the caller's project's quota usage and limits (Glance's discovery API;
//! no policy rule guards it in Glance, nor is a body refused). Empty (`{"usage": {}}`) without
//! `use_keystone_limits`.

use actix_web::{web, HttpResponse};

use crate::api::context::Ctx;
use crate::api::json;
use crate::app::AppState;
use crate::error::Error;
use crate::service::quotas;

pub async fn info_usage(state: web::Data<AppState>, Ctx(ctx): Ctx) -> Result<HttpResponse, Error> {
    let doc = quotas::usage(&state, &ctx).await?;
    Ok(json::respond(HttpResponse::Ok(), &doc))
}
