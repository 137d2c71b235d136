//! The v2.17 locations API (`POST` and `GET /v2/images/{id}/locations`) and the
//! `location_import` task it starts.

use serde_json::{json, Value};

use super::access::load_visible;
use super::image_locations::ShownLocation;
use super::images::now;
use super::tasks;
use crate::app::AppState;
use crate::db;
use crate::domain::context::RequestContext;
use crate::domain::id::ImageId;
use crate::domain::image::ImageStatus;
use crate::domain::import::LOCK;
use crate::domain::location_add::{check_hash, AddLocation};
use crate::domain::task::{Task, TaskStatus, LOCATION_IMPORT};
use crate::error::Error;

/// Glance's message for a `location_import` task that failed in its flow.
const TASK_FAILED: &str = "Task failed due to Internal Error";

/// `POST /v2/images/{id}/locations` (v2.17), as Glance's `add_location`: the checks in
/// Glance's order, then a `location_import` task. Glance's task adds the location through its
/// store, which must be able to size the URL; glint has no such store
/// ([`crate::domain::location_patch`]), so the task fails as Glance's does for a store it
/// does not have: `failure`, "Task failed due to Internal Error", the image left `queued`
/// and unlocked. The caller gets Glance's 202 either way.
pub async fn add(
    state: &AppState,
    ctx: RequestContext,
    request_id: Option<String>,
    id: ImageId,
    req: AddLocation,
) -> Result<(), Error> {
    let st = state.clone();
    let (preempted, task) = state
        .write(move |c| {
            let msg = format!("No image found with ID {id}");
            let v = load_visible(c, &st, &ctx, &id, &msg, true)?;
            let img = &v.image;
            if img.status != ImageStatus::Queued {
                return Err(Error::conflict(format!(
                    "It's not allowed to add locations if image status is {}.",
                    img.status
                )));
            }
            st.policy
                .enforce("add_image_location", &ctx, &v.target(&ctx))?;
            // Glance lets other callers add only URLs of an enabled http store; glint has none.
            if !ctx.roles.iter().any(|r| r == "service") {
                return Err(Error::forbidden(
                    "http store must be enabled to use location API by normal user.",
                ));
            }
            check_hash(&req.validation_data, &st.config.hashing_algorithm)?;
            let mut preempted = None;
            if let Some(other) = img.properties.get(LOCK).cloned() {
                let mut new = img.clone();
                preempted = super::import::enforce_import_lock(c, &st, &mut new, &other)?;
                db::images::update(c, img, &new)?;
            }
            let t = Task::new(
                uuid::Uuid::new_v4().to_string(),
                LOCATION_IMPORT,
                ctx.project_id.clone().unwrap_or_default(),
                json!({
                    "image_id": id.to_string(),
                    "loc_url": req.url,
                    "validation_data": req.validation_data,
                }),
                Some(id.to_string()),
                ctx.user_id.clone(),
                request_id,
                now(),
            );
            db::tasks::insert(c, &t)?;
            let processing = tasks::begin(c, &st, &t.id)?;
            let failed =
                tasks::finish(c, &st, &t.id, TaskStatus::Failure, Value::Null, TASK_FAILED)?;
            Ok((preempted, (t, processing, failed)))
        })
        .await?;
    if let Some(old) = &preempted {
        state.notifier.task("task.failure", old);
    }
    let (created, processing, failed) = task;
    state.notifier.task("task.create", &created);
    if let Some(t) = &processing {
        state.notifier.task("task.processing", t);
    }
    if let Some(t) = &failed {
        tracing::warn!(
            image_id = %created.image_id.as_deref().unwrap_or_default(),
            task_id = %t.id,
            "location_import failed: glint has no store that can read the location's URL"
        );
        state.notifier.task("task.failure", t);
    }
    Ok(())
}

/// `GET /v2/images/{id}/locations` (v2.17), as Glance's `get_locations`: the
/// `fetch_image_location` rule (service role), then the image's locations as views show them.
pub async fn list(
    state: &AppState,
    ctx: RequestContext,
    id: ImageId,
) -> Result<Vec<ShownLocation>, Error> {
    let st = state.clone();
    state
        .read(move |c| {
            let msg = format!("No image found with ID {id}");
            let v = load_visible(c, &st, &ctx, &id, &msg, false)?;
            st.policy
                .enforce("fetch_image_location", &ctx, &v.target(&ctx))?;
            // Glance's db layer gives a deactivated image's locations to admins only.
            if v.image.status == ImageStatus::Deactivated && !ctx.is_admin() {
                return Ok(vec![]);
            }
            Ok(db::locations::live_rows(c, &id)?
                .into_iter()
                .map(|r| ShownLocation::from_row(r.value, r.meta_data.as_deref()))
                .collect())
        })
        .await
}
