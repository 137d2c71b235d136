//! `DELETE /v2/stores/{store_id}/{image_id}` (Glance's `delete_from_store`): an active image's
//! data removed from one of the stores holding it, never from the last one.

use super::access::load_visible;
use super::images::now;
use crate::app::AppState;
use crate::db;
use crate::domain::context::RequestContext;
use crate::domain::id::ImageId;
use crate::domain::image::ImageStatus;
use crate::error::{Error, Msg};

/// Glance's checks, in its order: multi-store mode (404), the store is enabled here (409),
/// the image is visible (404), the caller may read and delete its locations (403), it is
/// active (409), it is in more than one store (403) and in this one (404). The first location
/// in `store_id` is marked deleted and, once that is committed, its data removed.
pub async fn delete_from_store(
    state: &AppState,
    ctx: RequestContext,
    store_id: String,
    id: ImageId,
) -> Result<(), Error> {
    if state.config.backend.is_none() {
        return Err(Error::NotFound(Msg::Default));
    }
    if state.store.named(&store_id).is_none() {
        return Err(Error::conflict(format!(
            "The selected store {store_id} is not available on this node."
        )));
    }
    let st = state.clone();
    let sid = store_id.clone();
    let (url, saved) = state
        .write(move |c| {
            let msg = format!("Failed to find image {id}");
            let v = load_visible(c, &st, &ctx, &id, &msg, true)?;
            let target = v.target(&ctx);
            st.policy.enforce("get_image_location", &ctx, &target)?;
            st.policy.enforce("delete_image_location", &ctx, &target)?;
            if v.image.status != ImageStatus::Active {
                return Err(Error::conflict(
                    "It's not allowed to remove image data from store if image status is not 'active'",
                ));
            }
            let rows = db::locations::live_rows(c, &id)?;
            if rows.len() == 1 {
                return Err(Error::forbidden(
                    "Cannot delete image data from the only store containing it. Consider deleting the image instead.",
                ));
            }
            let Some(row) = rows
                .into_iter()
                .find(|r| db::locations::store_of(r.meta_data.as_deref()).as_deref() == Some(&sid))
            else {
                return Err(Error::not_found(format!(
                    "Image {id} is not stored in store {sid}."
                )));
            };
            let at = now();
            db::locations::delete_one(c, &id, row.id, at)?;
            let mut new = v.image.clone();
            new.updated_at = at;
            db::images::update(c, &v.image, &new)?;
            Ok((row.value, new))
        })
        .await?;
    state.notifier.image("image.update", &saved);
    if let Err(e) = state.store.delete_at(Some(&store_id), &url).await {
        tracing::warn!(image_id = %saved.id, store = %store_id, error = %e, "location removed but its data could not be deleted");
    }
    Ok(())
}
