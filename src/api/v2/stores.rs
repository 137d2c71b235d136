//! `/v2/stores/{store_id}/{image_id}`: multi-store mode's delete from one store.

use actix_web::{web, HttpRequest, HttpResponse};

use super::images::no_content;
use crate::api::body::forbid_body;
use crate::api::context::Ctx;
use crate::app::AppState;
use crate::domain::id::ImageId;
use crate::error::Error;
use crate::service::store_delete;

/// `DELETE /v2/stores/{store_id}/{image_id}`: 204.
pub async fn delete_from_store(
    state: web::Data<AppState>,
    Ctx(ctx): Ctx,
    req: HttpRequest,
    path: web::Path<(String, ImageId)>,
) -> Result<HttpResponse, Error> {
    forbid_body(&req)?;
    let (store_id, image_id) = path.into_inner();
    store_delete::delete_from_store(&state, ctx, store_id, image_id).await?;
    Ok(no_content())
}
