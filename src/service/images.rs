//! Image use cases: each one is a transaction with its policy checks.

use serde_json::{Map, Value};

use super::access::{live_membership, load_visible, visible, Visible};
use super::image_locations;
use super::property_protection as protection;
use crate::app::AppState;
use crate::db::{self, DbError};
use crate::domain::context::RequestContext;
use crate::domain::delete_protection;
use crate::domain::id::{ImageId, UUID_PATTERN};
use crate::domain::image::{Image, ImageStatus, Visibility};
use crate::domain::list_query::ListQuery;
use crate::domain::patch::{self, LocationEdit, Op, Operation, PatchLimits, PatchMediaType};
use crate::domain::quota;
use crate::error::{Error, Msg};
use crate::notify::{payload, Priority};
use crate::policy::{new_image_target, project_target};

/// Whole-second UTC now: Glance shows seconds only, and storing what is shown
/// keeps `created_at` filters and markers consistent with what clients saw.
pub use super::clock::now;

fn limits(state: &AppState) -> PatchLimits {
    PatchLimits {
        property_quota: state.config.image_property_quota,
        tag_quota: state.config.image_tag_quota,
        schema: state.image_schema.clone(),
    }
}

/// Visibility changes need their own rules beyond `modify_image` (the guardrails, the
/// operator's and the caller's domain's, are checked before this by the caller).
fn check_visibility_policy(
    state: &AppState,
    ctx: &RequestContext,
    before: Option<Visibility>,
    after: Visibility,
    owner: Option<&str>,
) -> Result<(), Error> {
    if before == Some(after) {
        return Ok(());
    }
    let target = new_image_target(owner);
    match after {
        Visibility::Public => state.policy.enforce("publicize_image", ctx, &target),
        Visibility::Community => state.policy.enforce("communitize_image", ctx, &target),
        _ => Ok(()),
    }
}

pub async fn create(state: &AppState, ctx: RequestContext, body: Value) -> Result<Image, Error> {
    let Value::Object(mut fields) = body else {
        return Err(Error::bad_request(
            "Provided object does not match schema 'image': the body must be a JSON object",
        ));
    };
    patch::validate_create_body(&fields, &state.image_schema)?;
    let id = match fields.remove("id") {
        None | Some(Value::Null) => ImageId::generate(),
        Some(other) => match other.as_str().and_then(ImageId::from_create_body) {
            Some(id) => id,
            None => {
                return Err(Error::bad_request(format!(
                    "Provided object does not match schema 'image': {other} does not match \
                     '{UUID_PATTERN}'"
                )))
            }
        },
    };
    let requested_owner = match fields.remove("owner") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(o)) => {
            if o.chars().count() > 255 {
                return Err(Error::bad_request(
                    "Provided object does not match schema 'image': owner is too long",
                ));
            }
            Some(Some(o))
        }
        Some(other) => {
            return Err(Error::bad_request(format!(
                "Provided object does not match schema 'image': {other} is not of type 'null', 'string'"
            )))
        }
    };
    let owner = crate::domain::image::new_image_owner(requested_owner, ctx.project());
    let locations = fields.remove("locations");
    protection::check_create(state, &ctx, &fields)?;
    let ops = create_ops(fields);
    let now = now();
    let base = Image::new(id.into_string(), owner, now);
    let image = patch::apply(&base, &ops, PatchMediaType::V2_1, true, &limits(state))?;
    state
        .policy
        .enforce("add_image", &ctx, &new_image_target(image.owner.as_deref()))
        .map_err(|denied| {
            crate::domain::image::add_image_denied(image.owner.as_deref(), ctx.project(), denied)
        })?;
    super::domain_guardrails::check_visibility(state, &ctx, image.visibility).await?;
    check_visibility_policy(state, &ctx, None, image.visibility, image.owner.as_deref())?;
    super::quotas::enforce(
        state,
        &ctx,
        crate::domain::unified_limits::IMAGE_COUNT_TOTAL,
        1,
    )
    .await?;
    if let Some(locations) = &locations {
        crate::domain::location_patch::on_create(locations, state.config.image_location_quota)?;
    }
    let stored = image.clone();
    state
        .write(move |c| {
            db::images::insert(c, &stored).map_err(|e| match e {
                DbError::Duplicate(_) => {
                    Error::conflict(format!("Image ID {} already exists!", stored.id))
                }
                other => other.into(),
            })
        })
        .await?;
    let image = protection::readable(state, &ctx, image);
    state.notifier.image("image.create", &image);
    // A shared image created with a granted tag is granted from now on.
    super::grants::image_changed(state, &image, Some(&ctx)).await;
    Ok(image)
}

/// The create body as v2.1 `add` operations, so create and PATCH share every rule.
fn create_ops(fields: Map<String, Value>) -> Vec<Operation> {
    fields
        .into_iter()
        .map(|(k, v)| Operation {
            op: Op::Add,
            path: vec![k],
            value: Some(v),
        })
        .collect()
}

pub async fn show(state: &AppState, ctx: RequestContext, id: ImageId) -> Result<Image, Error> {
    let st = state.clone();
    state
        .read(move |conn| {
            let msg = format!("No image found with ID {id}");
            let image = load_visible(conn, &st, &ctx, &id, &msg, false)?.image;
            Ok(protection::readable(&st, &ctx, image))
        })
        .await
}

pub async fn list(
    state: &AppState,
    ctx: RequestContext,
    q: ListQuery,
) -> Result<Vec<Image>, Error> {
    state
        .policy
        .enforce("get_images", &ctx, &project_target(&ctx))?;
    let mut q = q;
    if state.config.sharing.enabled {
        let exp = super::share_expiry::expiry(state);
        q.shares_expired_at = Some(exp.now);
        q.pending_offered_before = exp.pending_before;
    }
    let st = state.clone();
    state
        .read(move |conn| {
            let marker = match &q.marker {
                None => None,
                Some(m) => {
                    // Glance answers a missing marker 400 and one the caller may not see 403,
                    // which tells whether an image exists; here both are the missing answer.
                    let missing = || Error::bad_request(missing_marker(m));
                    let Some((image, membership)) = db::images::get_with_membership(
                        conn,
                        &ImageId::from_path(m.as_str()),
                        ctx.project(),
                        db::images::Depth::Full,
                    )?
                    else {
                        return Err(missing());
                    };
                    let membership = live_membership(conn, &st, &ctx, &image, membership)?;
                    match visible(&st.policy, &ctx, image, membership, "") {
                        Ok(v) => Some(v.image),
                        Err(Error::NotFound(_)) => return Err(missing()),
                        Err(e) => return Err(e),
                    }
                }
            };
            let images = db::images::list(conn, &ctx, &q, marker.as_ref())?;
            Ok(protection::readable_all(&st, &ctx, images))
        })
        .await
}

/// Glance's text for a list marker naming no image (`_image_get`; an id longer than the
/// column is refused before the lookup, with the exception's unformatted default text).
fn missing_marker(m: &str) -> String {
    if m.chars().count() > 36 {
        "Image with the given id %(image_id)s was not found".to_owned()
    } else {
        format!("No image found with ID {m}")
    }
}

/// Load for a mutation: visible (404) and `rule` allowed (403), under the row lock.
fn load_for_change(
    conn: &mut db::DbConn,
    state: &AppState,
    ctx: &RequestContext,
    id: &ImageId,
    not_found: &str,
    rule: &str,
) -> Result<Visible, Error> {
    let v = load_visible(conn, state, ctx, id, not_found, true)?;
    state.policy.enforce(rule, ctx, &v.target(ctx))?;
    Ok(v)
}

pub async fn update(
    state: &AppState,
    ctx: RequestContext,
    id: ImageId,
    mt: PatchMediaType,
    ops: Vec<Operation>,
) -> Result<Image, Error> {
    let sizes = image_locations::size_new_urls(state, &ctx, &id, &ops).await?;
    let st = state.clone();
    let actor = ctx.clone();
    let saved = !ops.is_empty(); // Glance saves (and notifies) for any non-empty patch
    let (image, data_to_delete) = state
        .write(move |c| {
            let msg = format!("No image found with ID {id}");
            let v = load_for_change(c, &st, &ctx, &id, &msg, "modify_image")?;
            let old = v.image;
            let mut locs = if ops.iter().any(|o| o.root() == "locations") {
                image_locations::edit_for(c, &st, &ctx, &old, sizes)?
            } else {
                LocationEdit::hidden(ctx.is_admin())
            };
            let mut new =
                protection::apply_patch(&st, &ctx, &old, &ops, mt, &limits(&st), &mut locs)?;
            let at = now();
            let data_to_delete = image_locations::save_edit(c, &id, &locs, at)?;
            if new == old {
                // Glance saves any non-empty patch, and its save always sets updated_at.
                if saved {
                    new.updated_at = at;
                    db::images::update(c, &old, &new)?;
                }
                return Ok((protection::readable(&st, &ctx, new), data_to_delete));
            }
            if old.visibility != new.visibility {
                super::domain_guardrails::check_visibility_in(c, &st, &ctx, new.visibility)?;
            }
            check_visibility_policy(
                &st,
                &ctx,
                Some(old.visibility),
                new.visibility,
                old.owner.as_deref(),
            )?;
            new.updated_at = at;
            db::images::update(c, &old, &new)?;
            Ok((protection::readable(&st, &ctx, new), data_to_delete))
        })
        .await?;
    if saved {
        state.notifier.image("image.update", &image);
        // A granted tag added or removed, the image made shared or not: grants follow.
        super::grants::image_changed(state, &image, Some(&actor)).await;
    }
    image_locations::delete_data(state, &image.id, &data_to_delete).await;
    Ok(image)
}

/// Sent to each member of an image when the image is deleted (sharing extensions).
pub const MEMBER_IMAGE_DELETED: &str = "image.member.image_deleted";

pub async fn delete(state: &AppState, ctx: RequestContext, id: ImageId) -> Result<(), Error> {
    let st = state.clone();
    let image_id = id.clone();
    let locations = state
        .write(move |c| {
            let msg = format!("Failed to find image {id} to delete");
            let v = load_for_change(c, &st, &ctx, &id, &msg, "delete_image")?;
            if v.image.protected {
                return Err(Error::forbidden(format!(
                    "Image {id} is protected and cannot be deleted."
                )));
            }
            // Deletion protection while shared (sharing extensions, opt-in): after Glance's own
            // `protected`, so that refusal keeps winning.
            let sharing = &st.config.sharing;
            if sharing.enabled
                && delete_protection::protected(sharing.protect_shared_images, &v.image.properties)
            {
                let accepted = super::share_events::accepted_members(c, &id, now())?;
                if let Some(why) = delete_protection::refusal(id.as_str(), true, accepted) {
                    return Err(Error::conflict(why));
                }
            }
            let at = now();
            // Its shares end with it: recorded in the sharing history first.
            let members = super::share_events::image_deleted(c, &st, &ctx, &v.image, at)?;
            db::images::soft_delete(c, &id, at)?;
            // Its location rows go with it, marked as Glance marks them.
            let locations = db::locations::recorded(c, &id)?;
            db::locations::delete_all(c, &id, at)?;
            Ok((v.image, at, locations, members))
        })
        .await
        .map(|(image, at, locations, members)| {
            state.notifier.image_deleted(&image, at);
            // Each recipient is told, under a name of glint's own (Glance sends nothing per member).
            let events = match state.webhooks.is_running() {
                true => members.as_slice(),
                false => &[],
            };
            let events = events
                .iter()
                .map(|m| {
                    super::webhooks::event(
                        crate::domain::webhook::EventType::ImageDeleted,
                        m,
                        image.owner.as_deref(),
                        serde_json::json!({ "image_deleted_at": payload::isotime(at) }),
                    )
                })
                .collect();
            super::webhooks::publish_all(state, events);
            if state.notifier.wants(MEMBER_IMAGE_DELETED) {
                for m in &members {
                    let mut p = payload::member(m);
                    p["image_deleted_at"] = serde_json::json!(payload::isotime(at));
                    state.notifier.emit(MEMBER_IMAGE_DELETED, Priority::Info, p);
                }
            }
            locations
        })?;
    // The row is gone for every reader; now the bytes can go too: at each of its locations
    // (inside the configured store directories), or by id for an image without location rows.
    let removed = if let Some(locations) = locations {
        let mut r = Ok(());
        for loc in &locations {
            if let Err(e) = state.store.delete_at(loc.store.as_deref(), &loc.url).await {
                r = Err(e);
            }
        }
        r
    } else {
        state.store.delete(&image_id).await
    };
    if let Err(e) = removed {
        tracing::error!(image_id = %image_id, error = %e, "image deleted but its data could not be removed");
    }
    // Data staged for an import goes with the image (Glance deletes it from staging too).
    if let Err(e) = state.staging.delete(&image_id).await {
        tracing::error!(image_id = %image_id, error = %e, "image deleted but its staged data could not be removed");
    }
    Ok(())
}

/// `deactivate` and `reactivate`: idempotent; other statuses are refused.
pub async fn set_active(
    state: &AppState,
    ctx: RequestContext,
    id: ImageId,
    active: bool,
) -> Result<(), Error> {
    let (rule, from, to) = if active {
        ("reactivate", ImageStatus::Deactivated, ImageStatus::Active)
    } else {
        ("deactivate", ImageStatus::Active, ImageStatus::Deactivated)
    };
    let st = state.clone();
    state
        .write(move |c| {
            let msg = format!("No image found with ID {id}");
            let v = load_for_change(c, &st, &ctx, &id, &msg, rule)?;
            let status = v.image.status;
            if status == to {
                return Ok(None);
            }
            if status != from {
                return Err(Error::forbidden(format!(
                    "Not allowed to {rule} image in status '{status}'"
                )));
            }
            let at = now();
            db::images::compare_and_set_status(c, &id, &[from], to, at)?;
            Ok(Some(Image {
                status: to,
                updated_at: at,
                ..v.image
            }))
        })
        .await
        .map(|saved| {
            saved
                .iter()
                .for_each(|i| state.notifier.image("image.update", i))
        })
}

pub async fn add_tag(
    state: &AppState,
    ctx: RequestContext,
    id: ImageId,
    tag: String,
) -> Result<(), Error> {
    if tag.chars().count() > 255 {
        return Err(Error::bad_request(format!(
            "Provided object does not match schema 'image': '{tag}' is too long"
        )));
    }
    let st = state.clone();
    let actor = ctx.clone();
    let image = state
        .write(move |c| {
            let msg = format!("Image {id} not found.");
            let v = load_for_change(c, &st, &ctx, &id, &msg, "modify_image")?;
            let old = v.image;
            if old.tags.contains(&tag) {
                return Ok(old);
            }
            let quota = st.config.image_tag_quota;
            let attempted = quota::count(old.tags.len()).saturating_add(1);
            if quota::exceeded(attempted, quota) {
                return Err(Error::PayloadTooLarge(Msg::Explanation(format!(
                    "Maximum number of tags exceeded: {}",
                    quota::limit_text("image tags", attempted, quota)
                ))));
            }
            let mut new = old.clone();
            new.tags.insert(tag.clone());
            new.updated_at = now();
            db::images::update(c, &old, &new)?;
            Ok(new)
        })
        .await?;
    state.notifier.image("image.update", &image);
    // The tag may be one a grant of the owner names (images tagged later are granted).
    super::grants::image_changed(state, &image, Some(&actor)).await;
    Ok(())
}

pub async fn delete_tag(
    state: &AppState,
    ctx: RequestContext,
    id: ImageId,
    tag: String,
) -> Result<(), Error> {
    let st = state.clone();
    let actor = ctx.clone();
    let image = state
        .write(move |c| {
            let msg = format!("Image {id} not found.");
            let v = load_for_change(c, &st, &ctx, &id, &msg, "modify_image")?;
            let old = v.image;
            if !old.tags.contains(&tag) {
                return Err(Error::not_found(format!("Tag {tag} not found")));
            }
            let mut new = old.clone();
            new.tags.remove(&tag);
            new.updated_at = now();
            db::images::update(c, &old, &new)?;
            Ok(new)
        })
        .await?;
    state.notifier.image("image.update", &image);
    // A tag grant naming the removed tag withdraws the image from its projects.
    super::grants::image_changed(state, &image, Some(&actor)).await;
    Ok(())
}
