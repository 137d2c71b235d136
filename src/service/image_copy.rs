//! `POST /v2/glint/images/{id}/copy`: an image the caller may copy (`domain::image_copy`)
//! becomes a new image of the caller's project, its data copied inside the store.
//!
//! [`start`] makes every check (visibility 404, policy and share state 403, quotas 413) before
//! anything is written, then creates the copy in `saving` with its row in
//! `glint_image_copies`, in one transaction. [`run`] copies the data (server-side where the
//! store can: a file copy, S3 `CopyObject`/`UploadPartCopy`, Swift `X-Copy-From` per segment;
//! else streamed and checked against the source's checksum) while a heartbeat refreshes the row,
//! then activates the copy and removes its row in one transaction, if the source is still there
//! and still the caller's to copy. A copy that fails is removed, data first. A copy whose
//! process died leaves a row whose heartbeat stopped: [`recover`] (the recovery sweep) removes
//! its data and image. So a copy is active with all its data, or gone; never half-written.

use std::time::Instant;

use serde_json::json;

use super::access::load_visible;
use super::images::now;
use super::share_events::record;
use super::transfer::{heartbeat_period, stale_after, storage_room, store_error, upload_slot};
use super::upload_slots::UploadSlot;
use crate::app::AppState;
use crate::db::{self, copies::Copy, DbConn};
use crate::domain::context::RequestContext;
use crate::domain::id::ImageId;
use crate::domain::image::{Image, ImageStatus, Visibility};
use crate::domain::image_copy::{copied_image, may_copy, CopyFacts, CopyRequest};
use crate::domain::member::Member;
use crate::domain::share_event::{Action, NewEvent, Via};
use crate::domain::unified_limits::IMAGE_COUNT_TOTAL;
use crate::error::Error;
use crate::notify::{payload, Priority};
use crate::policy::new_image_target;
use crate::store::StoreError;

/// The notification sent when a copy ends, with `outcome` `active` or `failed` (a new name;
/// the copy's own life also gets Glance's `image.create`, `image.activate`, `image.delete`).
pub const EVENT: &str = "image.copy";

/// A copy created by [`start`], whose data [`run`] copies.
pub struct CopyJob {
    /// The new image, in `saving`.
    pub image: Image,
    pub source: Image,
    /// Where the source's data is (`None`: in the default store under its id).
    source_url: Option<String>,
    /// The caller's membership of the source, for its webhook event (`None`: owner or admin).
    member: Option<Member>,
    ctx: RequestContext,
    /// The caller's project's upload place, held until the copy ends.
    _slot: UploadSlot,
}

/// How the data moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Inside the store, without passing through glint.
    ServerSide,
    /// Read from the source's location and written to the default store.
    Streamed,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::ServerSide => "server_side",
            Method::Streamed => "streamed",
        }
    }
}

/// Checks and creates the copy; see the module comment.
pub async fn start(
    state: &AppState,
    ctx: RequestContext,
    source_id: ImageId,
    req: CopyRequest,
) -> Result<CopyJob, Error> {
    let (st, c2, sid) = (state.clone(), ctx.clone(), source_id.clone());
    let (source, member, source_url) = state
        .read(move |c| {
            let not_found = format!("No image found with ID {sid}");
            let v = load_visible(c, &st, &c2, &sid, &not_found, false)?;
            let target = v.target(&c2);
            st.policy.enforce("glint:copy_image", &c2, &target)?;
            st.policy.enforce("download_image", &c2, &target)?;
            let owner = v.image.owner.is_some() && v.image.owner.as_deref() == c2.project();
            let member = match (v.caller_is_member(&c2), c2.project()) {
                (true, Some(p)) => db::members::get(c, &sid, p)?,
                _ => None,
            };
            may_copy(CopyFacts {
                status: v.image.status,
                visibility: v.image.visibility,
                owner,
                admin: c2.is_admin(),
                membership: v.membership.filter(|_| !owner),
            })
            .map_err(|r| r.into_error(sid.as_str()))?;
            let url = db::locations::recorded(c, sid.as_str())?
                .and_then(|l| l.into_iter().next())
                .map(|l| l.url);
            Ok((v.image, member, url))
        })
        .await?;
    let owner = ctx.project().map(str::to_owned);
    state
        .policy
        .enforce("add_image", &ctx, &new_image_target(owner.as_deref()))?;
    let target = new_image_target(owner.as_deref());
    super::domain_guardrails::check_visibility(state, &ctx, req.visibility).await?;
    match req.visibility {
        Visibility::Public => state.policy.enforce("publicize_image", &ctx, &target)?,
        Visibility::Community => state.policy.enforce("communitize_image", &ctx, &target)?,
        _ => {}
    }
    let id = ImageId::generate();
    let size = source.size.unwrap_or(0).max(0) as u64;
    // Quotas before any data moves: images and bytes under Keystone's limits, the legacy
    // per-owner storage quota, and the size cap.
    super::quotas::enforce(state, &ctx, IMAGE_COUNT_TOTAL, 1).await?;
    super::quotas::enforce_size_total(state, &ctx, size).await?;
    if let Err(full) = storage_room(state, owner.as_deref(), &id, Some(size)).await? {
        return Err(store_error(full));
    }
    if let Some(e) = super::transfer::over_cap(state, Some(size)) {
        return Err(store_error(e));
    }
    let slot = upload_slot(state, &ctx)?;
    let at = now();
    let keep = super::property_protection::copyable(state, &ctx, source.properties.clone());
    let image = copied_image(&source, id.into_string(), owner.clone(), &req, at, keep);
    let (st, c2, new, src) = (state.clone(), ctx.clone(), image.clone(), source.clone());
    state
        .write(move |c| {
            // The source may have gone since it was read: nothing is created then.
            let sid = ImageId::from_path(src.id.as_str());
            match db::images::get(c, &sid)? {
                Some(s) if s.status == ImageStatus::Active => {}
                _ => return Err(Error::not_found(format!("No image found with ID {sid}"))),
            }
            db::images::insert(c, &new)?;
            db::copies::insert(
                c,
                &Copy {
                    image_id: new.id.clone(),
                    source_id: src.id.clone(),
                    source_owner: src.owner.clone(),
                    project_id: new.owner.clone().unwrap_or_default(),
                    created_at: at,
                    updated_at: at,
                },
            )?;
            history(
                c,
                &st,
                Some(&c2),
                Action::CopyStart,
                Via::Direct,
                &src,
                &new,
                at,
            )
        })
        .await?;
    state.notifier.image("image.create", &image);
    Ok(CopyJob {
        image,
        source,
        source_url,
        member,
        ctx,
        _slot: slot,
    })
}

/// The copy's event in the sharing history: on the source (its owner reads it) naming the
/// caller's project as member (it reads it too), with the copy's id and status.
#[allow(clippy::too_many_arguments)]
fn history(
    c: &mut DbConn,
    state: &AppState,
    ctx: Option<&RequestContext>,
    action: Action,
    via: Via,
    source: &Image,
    copy: &Image,
    at: chrono::NaiveDateTime,
) -> Result<(), Error> {
    let status = match action {
        Action::CopyFinish => "active",
        Action::CopyFail => "deleted",
        _ => "saving",
    };
    record(c, state, || {
        NewEvent::new(
            ctx,
            at,
            action,
            via,
            source.id.as_str(),
            source.owner.as_deref(),
            copy.owner.as_deref().unwrap_or_default(),
            None,
            Some(json!({"copy": {"image_id": copy.id, "status": status}})),
        )
    })
}

/// Copies the data and activates the copy, or removes it; see the module comment. Run it in
/// the background after [`start`]: a dropped run leaves the copy to the recovery sweep.
pub async fn run(state: &AppState, job: CopyJob) -> Result<Image, Error> {
    let started = Instant::now();
    let copied = tokio::select! {
        r = copy_data(state, &job) => r,
        () = keep_alive(state, &job.image.id) => unreachable!("the heartbeat never ends"),
    };
    let outcome = match copied {
        Ok(method) => finish(state, &job).await.map(|img| (img, method)),
        Err(e) => Err(e),
    };
    match outcome {
        Ok((image, method)) => {
            let secs = started.elapsed().as_secs_f64();
            tracing::info!(image_id = %image.id, source = %job.source.id, method = method.as_str(), size = ?image.size, secs, "image copied");
            state.notifier.image("image.activate", &image);
            notify(state, &job, "active", Some(method), None, secs);
            if let (Some(m), true) = (&job.member, state.webhooks.is_running()) {
                super::webhooks::publish(
                    state,
                    crate::domain::webhook::EventType::Copied,
                    m,
                    job.source.owner.as_deref(),
                    json!({"copy_id": image.id, "size": image.size}),
                );
            }
            Ok(image)
        }
        Err(e) => {
            tracing::warn!(image_id = %job.image.id, source = %job.source.id, error = %e, "image copy failed: the copy is removed");
            remove(state, &job.image.id, Some(&job.ctx), Via::Direct).await;
            notify(
                state,
                &job,
                "failed",
                None,
                Some(e.to_string()),
                started.elapsed().as_secs_f64(),
            );
            Err(e)
        }
    }
}

/// `start`, then `run` in the background: the caller gets the copy's id at once.
pub async fn copy(
    state: &AppState,
    ctx: RequestContext,
    source: ImageId,
    req: CopyRequest,
) -> Result<String, Error> {
    let job = start(state, ctx, source, req).await?;
    let id = job.image.id.clone();
    let st = state.clone();
    actix_web::rt::spawn(async move {
        let _ = run(&st, job).await;
    });
    Ok(id)
}

/// The data of the source under the copy's id in the default store.
async fn copy_data(state: &AppState, job: &CopyJob) -> Result<Method, Error> {
    let store = state.store.default_store();
    let (src, dst) = (job.source.id.as_str(), job.image.id.as_str());
    let size = job.source.size.unwrap_or(0).max(0) as u64;
    let gone = |e: StoreError| match e {
        StoreError::NotFound => Error::Conflict(crate::error::Msg::Explanation(format!(
            "The data of image {src} went away during the copy (the image was deleted?)"
        ))),
        other => store_error(other),
    };
    let in_default = job
        .source_url
        .as_deref()
        .is_none_or(|u| u == store.location(src));
    if in_default {
        if let Some(n) = store.copy(src, dst).await.map_err(gone)? {
            if n != size {
                let _ = store.delete(dst).await;
                return Err(Error::internal(format!(
                    "the copy of image {src} holds {n} bytes, the source {size}"
                )));
            }
            return Ok(Method::ServerSide);
        }
    }
    let (total, stream) = match &job.source_url {
        Some(url) => state.store.get_location(url, None).await,
        None => state.store.get(src, None).await,
    }
    .map_err(gone)?;
    let data = store
        .put(dst, stream, state.config.image_size_cap, None, Some(total))
        .await
        .map_err(gone)?;
    let same_hash = job.source.os_hash_algo.as_deref() != Some(data.hash_algo.as_str())
        || job.source.os_hash_value.as_deref() == Some(data.hash_value.as_str());
    if data.size != size || job.source.checksum.as_deref() != Some(&data.checksum) || !same_hash {
        let _ = store.delete(dst).await;
        return Err(Error::Conflict(crate::error::Msg::Explanation(format!(
            "The data read from image {src} does not match its checksum: the copy is abandoned"
        ))));
    }
    Ok(Method::Streamed)
}

/// The copy's heartbeat: its row and its image refreshed, forever (see `transfer::heartbeat`).
async fn keep_alive(state: &AppState, id: &str) {
    let period = heartbeat_period(&state.config);
    loop {
        tokio::time::sleep(period).await;
        let id = id.to_owned();
        let r = state
            .write(move |c| {
                let at = now();
                db::copies::touch(c, &id, at)?;
                let iid = ImageId::from_stored(id.as_str());
                db::images::compare_and_set_status(
                    c,
                    &iid,
                    &[ImageStatus::Saving],
                    ImageStatus::Saving,
                    at,
                )?;
                Ok(())
            })
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "copy heartbeat failed");
        }
    }
}

/// Activates the copy, in one transaction with its location row and the end of its row, if the
/// copy is still the caller's to finish (its row not swept) and the source is still there and
/// still visible to the caller (a source deleted, or a share revoked, mid-copy fails the copy).
async fn finish(state: &AppState, job: &CopyJob) -> Result<Image, Error> {
    let (st, ctx, copy, source) = (
        state.clone(),
        job.ctx.clone(),
        job.image.clone(),
        job.source.clone(),
    );
    state
        .write(move |c| {
            let sid = ImageId::from_path(source.id.as_str());
            let msg = format!(
                "Image {sid} was deleted or is no longer shared with you: the copy is abandoned"
            );
            match load_visible(c, &st, &ctx, &sid, "", true) {
                Ok(v) if v.image.status == ImageStatus::Active => {}
                Ok(_) | Err(Error::NotFound(_)) => return Err(Error::conflict(msg)),
                Err(e) => return Err(e),
            }
            let id = ImageId::from_path(copy.id.as_str());
            let Some(old) = db::images::get_for_update(c, &id)? else {
                return Err(Error::conflict(format!(
                    "The copy {id} was deleted meanwhile"
                )));
            };
            if old.status != ImageStatus::Saving || !db::copies::remove(c, id.as_str())? {
                return Err(Error::conflict(format!(
                    "The copy {id} was deleted meanwhile"
                )));
            }
            let mut new = old.clone();
            new.status = ImageStatus::Active;
            new.updated_at = now();
            db::images::update(c, &old, &new)?;
            super::transfer::add_location(c, &st, &id, st.config.backend_id(), new.updated_at)?;
            history(
                c,
                &st,
                Some(&ctx),
                Action::CopyFinish,
                Via::Direct,
                &source,
                &new,
                new.updated_at,
            )?;
            Ok(new)
        })
        .await
}

/// Removes a failed copy, safe to repeat and to race with the copy's own process: first the
/// copy is claimed (its image `killed`, so `finish` can no longer activate it; its row stays),
/// then its data is removed, then its row and image go, with Glance's `image.delete`. A process
/// dying between two steps leaves the row, and the next sweep resumes.
async fn remove(state: &AppState, id: &str, ctx: Option<&RequestContext>, via: Via) {
    let iid = id.to_owned();
    let claimed = state
        .write(move |c| {
            let Some(row) = db::copies::get(c, &iid)? else {
                return Ok(None);
            };
            let img = ImageId::from_stored(iid.as_str());
            let from = [
                ImageStatus::Saving,
                ImageStatus::Queued,
                ImageStatus::Killed,
            ];
            db::images::compare_and_set_status(c, &img, &from, ImageStatus::Killed, now())?;
            Ok(Some(row))
        })
        .await;
    let row = match claimed {
        Ok(Some(row)) => row,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(image_id = %id, error = %e, "cannot claim a failed copy");
            return;
        }
    };
    if let Err(e) = state.store.delete(id).await {
        tracing::error!(image_id = %id, error = %e, "cannot remove the data of a failed copy; the sweep will retry");
        return;
    }
    let (st, ctx) = (state.clone(), ctx.cloned());
    let removed = state
        .write(move |c| {
            db::copies::remove(c, &row.image_id)?;
            let id = ImageId::from_stored(row.image_id.as_str());
            let Some(image) = db::images::get_for_update(c, &id)? else {
                return Ok(None);
            };
            if image.status != ImageStatus::Killed {
                return Ok(None);
            }
            let at = now();
            db::images::soft_delete(c, &id, at)?;
            db::locations::delete_all(c, id.as_str(), at)?;
            let mut source = Image::new(row.source_id.clone(), row.source_owner.clone(), at);
            source.owner = row.source_owner.clone();
            history(
                c,
                &st,
                ctx.as_ref(),
                Action::CopyFail,
                via,
                &source,
                &image,
                at,
            )?;
            Ok::<_, Error>(Some((image, at)))
        })
        .await;
    match removed {
        Ok(Some((image, at))) => state.notifier.image_deleted(&image, at),
        Ok(None) => {}
        Err(e) => tracing::error!(image_id = %id, error = %e, "cannot remove a failed copy"),
    }
}

/// `image.copy`: the copy's end, for the operator (who copied what, how, how fast).
fn notify(
    state: &AppState,
    job: &CopyJob,
    outcome: &str,
    method: Option<Method>,
    error: Option<String>,
    secs: f64,
) {
    if !state.notifier.wants(EVENT) {
        return;
    }
    state.notifier.emit(
        EVENT,
        if error.is_some() {
            Priority::Error
        } else {
            Priority::Info
        },
        json!({
            "image_id": job.image.id,
            "source_id": job.source.id,
            "owner": job.image.owner,
            "source_owner": job.source.owner,
            "size": job.image.size,
            "outcome": outcome,
            "method": method.map(Method::as_str),
            "error": error,
            "seconds": secs,
            "user_id": job.ctx.user_id,
            "request_id": job.ctx.request_id,
            "created_at": payload::isotime(job.image.created_at),
        }),
    );
}

/// Copies at most this many per sweep.
const SWEEP_BATCH: i64 = 100;

/// Part of every process's recovery sweep: copies whose heartbeat stopped for
/// `upload_stale_timeout` (their process died) are removed, data and image. Returns their ids.
pub async fn recover(state: &AppState) -> Result<Vec<String>, Error> {
    let stale = stale_after(&state.config);
    let rows = state
        .read(move |c| {
            let before = now() - chrono::Duration::from_std(stale).unwrap_or_default();
            Ok(db::copies::stale(c, before, SWEEP_BATCH)?)
        })
        .await?;
    let mut removed = Vec::new();
    for row in rows {
        remove(state, &row.image_id, None, Via::Recovery).await;
        removed.push(row.image_id);
    }
    if !removed.is_empty() {
        tracing::warn!(?removed, "copies interrupted by a dead process removed");
    }
    Ok(removed)
}
