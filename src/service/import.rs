//! Interoperable image import (`glance/api/v2/images.py` import,
//! `image_data.py` stage, `glance/async_/flows/api_image_import.py`), as a
//! single-store Glance does it:
//!
//! * `stage`: queued -> uploading, the data goes to the staging area
//!   (`node_staging_uri`, a second [`FsStore`]), the image's `size` is set.
//! * `import`: checks, then a `api_image_import` task is created and the image
//!   locked for it (`os_glance_import_task`); 202. The work runs on a
//!   background task: image `importing`, data (staged, or downloaded for
//!   `web-download`) copied into the image store exactly as an upload
//!   (checksums, hash, virtual size), image `active`, task `success`, lock
//!   dropped, staging file removed. Any failure: image back to `queued`, task
//!   `failure` with the reason, lock dropped, staging file removed.
//! * Glance's per-store bookkeeping (`os_glance_importing_to_stores`,
//!   `os_glance_failed_import`) names stores; with one unnamed store it is
//!   set to the empty string when an import starts and stays so.
//! * A running import refreshes the image's and the task's `updated_at`; the
//!   periodic recovery sweep of every process (`service::recovery`) ends
//!   imports whose heartbeat stopped (their process died) the same way as a failure.
//!
//! The rules (request checks, target checks, store lists, the lock) are `domain::import`.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::{json, Value};

use super::access::load_visible;
use super::images::now;
use super::quotas;
use super::tasks;
use super::transfer::{
    self, add_location, heartbeat, holds, receive, record_received, store_error, OnAbandon,
};
use crate::app::AppState;
use crate::config::Config;
use crate::db::{self, DbConn};
use crate::domain::context::RequestContext;
use crate::domain::id::ImageId;
use crate::domain::image::{Image, ImageStatus};
use crate::domain::import::{
    self as import_domain, drop_lock, import_stores, merge_store_list, ImportRequest,
    FAILED_IMPORT, IMPORTING_TO_STORES, INTERNAL_ERROR, LOCK, STAGE_HOST,
};
use crate::domain::task::{self as task_domain, Task, TaskStatus};
use crate::error::{Error, Msg};
use crate::store::{FsStore, HashAlgo, Store, StoreError};

/// Opens (creating) the staging directory; leftovers of a crash are swept by recovery.
pub fn open_staging(config: &Config, algo: HashAlgo) -> Result<FsStore, String> {
    let dir = &config.import.staging_dir;
    FsStore::open(dir.clone(), algo)
        .map(|s| s.with_format_match(false))
        .map_err(|e| format!("cannot open staging area {}: {e}", dir.display()))
}

fn not_found(id: &ImageId) -> String {
    format!("No image found with ID {id}")
}

/// `PUT /v2/images/{id}/stage`.
pub async fn stage<S, E>(
    state: &AppState,
    ctx: RequestContext,
    id: ImageId,
    body: S,
    on_abandon: Option<OnAbandon>,
) -> Result<(), Error>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let st = state.clone();
    let cid = id.clone();
    let quota_ctx = ctx.clone();
    let uploading = state
        .write(move |c| {
            let v = load_visible(c, &st, &ctx, &cid, &not_found(&cid), true)?;
            st.policy.enforce("modify_image", &ctx, &v.target(&ctx))?;
            v.image.status.transition(ImageStatus::Uploading)?;
            db::images::compare_and_set_status(
                c,
                &cid,
                &[v.image.status],
                ImageStatus::Uploading,
                now(),
            )?;
            Ok(db::images::get(c, &cid)?)
        })
        .await?;
    if let Some(img) = &uploading {
        state.notifier.image("image.update", img);
    }
    // As Glance: once the image counts as uploading; over the limit it is unstaged (queued).
    if let Err(e) = super::quotas::enforce_uploading(state, &quota_ctx).await {
        super::transfer::requeue(state, &id, ImageStatus::Uploading).await;
        return Err(e);
    }

    // `_unstage` on failure: back to queued; the staging area keeps nothing.
    let receiving = crate::metrics::InProgress::start(&crate::metrics::PROCESS.uploads_in_progress);
    let staging = Store::File((*state.staging).clone());
    let data = receive(
        state,
        &staging,
        &id,
        body,
        None,
        None,
        ImageStatus::Uploading,
        None, // Glance applies `user_storage_quota` to the import, not to the stage.
        on_abandon,
        |_| {},
    )
    .await?;
    drop(receiving);
    crate::metrics::PROCESS
        .bytes_uploaded
        .fetch_add(data.size, std::sync::atomic::Ordering::Relaxed);

    let stage_host = import_domain::stage_host(
        state.config.worker_self_reference_url.as_deref(),
        state.config.public_endpoint.as_deref(),
    );
    let staged = record_received(
        state,
        &staging,
        &id,
        ImageStatus::Uploading,
        false,
        move |new| {
            new.size = Some(data.size as i64);
            // Where the staged data lives, for the other workers (Glance's `stage`).
            if let Some(url) = stage_host {
                new.properties.insert(STAGE_HOST.into(), url);
            }
        },
        || Error::not_found(not_found(&id)),
    )
    .await?;
    state.notifier.image("image.update", &staged);
    Ok(())
}

/// `POST /v2/images/{id}/import`: checks, task and lock in one transaction,
/// then the work on a background task. Returns the task id.
pub async fn import(
    state: &AppState,
    ctx: RequestContext,
    request_id: Option<String>,
    id: ImageId,
    req: ImportRequest,
) -> Result<String, Error> {
    // Glance checks the image and the caller's right to import into it before
    // the URI: for web-download a read-only pass of those checks comes first,
    // so that nobody learns what a name resolves to (or makes glint look it
    // up) for an image they may not import into. The URL filter may resolve
    // names: done before the transaction holds any lock, which repeats the checks.
    let uri_ok = match (&req.method[..], &req.uri) {
        ("web-download", Some(u)) => {
            let st = state.clone();
            let (ctx, tid, method) = (ctx.clone(), id.clone(), req.method.clone());
            state
                .read(move |conn| admission(conn, &st, &ctx, &tid, &method, false).map(|_| ()))
                .await?;
            super::web_download::passes_filter(state, u).await
        }
        _ => false,
    };
    let st = state.clone();
    let (tid, r) = (id.clone(), req.clone());
    let (task_id, created, preempted) = state
        .write(move |c| {
            let v = admission(c, &st, &ctx, &tid, &r.method, true)?;
            let img = &v.image;
            let method = r.method.as_str();
            let mut new = img.clone();
            let mut preempted = None;
            if let Some(other) = img.properties.get(LOCK).cloned() {
                preempted = enforce_import_lock(c, &st, &mut new, &other)?;
            }
            let stores = import_stores(st.config.backend_id(), &r)?;
            if !r.all_stores_must_succeed && st.config.backend.is_none() {
                return Err(Error::bad_request(format!(
                    "All_stores_must_succeed can only be set with enabled_backends {}",
                    r.uri.as_deref().unwrap_or("None")
                )));
            }
            if method == "web-download" && !uri_ok {
                return Err(Error::bad_request(format!(
                    "URI for web-download does not pass filtering: {}",
                    r.uri.as_deref().unwrap_or("None")
                )));
            }
            let t = Task::new(
                uuid::Uuid::new_v4().to_string(),
                task_domain::API_IMAGE_IMPORT,
                ctx.project_id.clone().unwrap_or_default(),
                json!({
                    "image_id": tid,
                    "import_req": r.body,
                    "backend": if stores.is_empty() { json!([null]) } else { json!(stores) },
                }),
                Some(tid.to_string()),
                ctx.user_id.clone(),
                request_id.clone(),
                now(),
            );
            new.properties.insert(LOCK.to_owned(), t.id.clone());
            new.updated_at = now();
            db::images::update(c, img, &new)?;
            db::tasks::insert(c, &t)?;
            Ok((t.id.clone(), t, preempted))
        })
        .await?;
    if let Some(old) = &preempted {
        state.notifier.task("task.failure", old);
    }
    state.notifier.task("task.create", &created);
    let st = state.clone();
    let (method, uri) = (req.method.clone(), req.uri.clone());
    // The import runs on after the 202; its lines keep the request id of the call that began it.
    actix_web::rt::spawn(tracing::Instrument::in_current_span(async move {
        run(st, created, id, method, uri).await
    }));
    Ok(task_id)
}

/// The import's checks on the image and the caller, in Glance's order: the
/// image is visible, its status and formats allow the method, the caller may
/// modify it (only the owner, or an admin, imports data into an image).
/// `lock`: the image row is locked (inside the import's transaction).
fn admission(
    c: &mut DbConn,
    st: &AppState,
    ctx: &RequestContext,
    id: &ImageId,
    method: &str,
    lock: bool,
) -> Result<super::access::Visible, Error> {
    let v = load_visible(c, st, ctx, id, &not_found(id), lock)?;
    import_domain::check_target(&v.image, method)?;
    st.policy.enforce("modify_image", ctx, &v.target(ctx))?;
    Ok(v)
}

/// `_enforce_import_lock`: a lock whose task is gone or has outlived its
/// expiry is taken over (the old task fails as "Expired lock preempted");
/// a live one is a 409. Returns the failed task, for its `task.failure`.
pub(super) fn enforce_import_lock(
    c: &mut DbConn,
    state: &AppState,
    img: &mut Image,
    other: &str,
) -> Result<Option<Task>, Error> {
    let task = db::tasks::get(c, other, true)?;
    let stale = match &task {
        None => true,
        Some(t) => now() - t.updated_at >= task_domain::import_lock_expiry(t.status),
    };
    if !stale {
        return Err(Error::conflict("Image has active task"));
    }
    let failed = match task {
        Some(_) => tasks::finish(
            c,
            state,
            other,
            TaskStatus::Failure,
            Value::Null,
            "Expired lock preempted",
        )?,
        None => None,
    };
    tracing::warn!(image_id = %img.id, task_id = other, "stale import lock removed");
    drop_lock(img, other);
    Ok(failed)
}

/// Where a finished or failed import leaves the image and its task.
enum Outcome {
    Done(crate::store::StoredData),
    Failed(String),
}

/// How the set-up of an import went.
enum Started {
    /// Go on; for glance-direct, the size recorded when the data was staged; the task as
    /// processing and the image as importing.
    Go(Option<i64>, Box<(Task, Image)>),
    /// The task is no longer pending (taken over, or ended): nothing to do.
    Skip,
    /// The reason, and the task as processing if it got that far.
    Fail(String, Option<Box<Task>>),
}

/// What the end of an import saved, for its notifications.
struct Finished {
    /// The image as `set_data` left it (active, the import bookkeeping not yet updated).
    activated: Option<Image>,
    /// The image as the flow last saved it.
    saved: Option<Image>,
    /// The task as it ended.
    task: Option<Task>,
}

/// The background half of an import. Its notifications follow Glance's flow: `task.processing`,
/// the image's `image.update` to importing, `image.prepare` before the copy, then
/// `image.upload` and `image.activate` (or the `image.upload` error), the image's last
/// `image.update` (twice after a success, as Glance), `task.success` (or `task.failure`), and, after a
/// success only, `task.run` last, with the task as the request created it.
async fn run(
    state: AppState,
    created: Task,
    image_id: ImageId,
    method: String,
    uri: Option<String>,
) {
    let _running = crate::metrics::InProgress::start(&crate::metrics::PROCESS.imports_in_progress);
    let task_id = created.id.clone();
    let n = state.notifier.clone();
    let outcome = match start(&state, &task_id, &image_id).await {
        Started::Skip => return,
        Started::Fail(msg, begun) => {
            if let Some(t) = &begun {
                n.task("task.processing", t);
            }
            Outcome::Failed(msg)
        }
        Started::Go(staged_size, started) => {
            let (begun, importing) = *started;
            n.task("task.processing", &begun);
            n.image("image.update", &importing);
            // Glance's quota checks once the image is importing: over a limit, the import
            // fails with the 413's text before any data moves.
            let owner = Some(created.owner.clone()).filter(|o| !o.is_empty());
            match quotas::enforce_import(&state, owner.clone(), &method, importing.size).await {
                Err(e) => Outcome::Failed(quota_failure(e)),
                Ok(()) => {
                    n.image_with_import("image.prepare", &importing, state.config.backend_id());
                    let work = copy_data(
                        &state,
                        &image_id,
                        owner.as_deref(),
                        &method,
                        uri.as_deref(),
                        staged_size,
                    );
                    tokio::select! {
                        r = work => match r {
                            Ok(d) => Outcome::Done(d),
                            Err(m) => {
                                n.upload_failed(&format!(
                                    "Failed to upload image data for image {image_id} due to internal error: {m}"
                                ));
                                Outcome::Failed(m)
                            }
                        },
                        () = heartbeat(&state, &image_id, ImageStatus::Importing, Some(&task_id)) => unreachable!("heartbeat never ends"),
                    }
                }
            }
        }
    };
    match finish(&state, &task_id, &image_id, outcome).await {
        Ok(f) => {
            if let Some(img) = &f.activated {
                n.image_with_import("image.upload", img, None);
                n.image("image.activate", img);
            }
            if let Some(img) = &f.saved {
                n.image("image.update", img);
                if f.activated.is_some() {
                    // Glance's flow saves the image once more, unchanged, when it checks
                    // that the import left it active (`_VerifyImageState`).
                    n.image("image.update", img);
                }
            }
            if let Some(t) = &f.task {
                let event = match t.status {
                    TaskStatus::Success => "task.success",
                    _ => "task.failure",
                };
                n.task(event, t);
            }
            // Glance sends task.run once the flow returns; a flow that failed raises out of
            // it instead, and no task.run goes out.
            if f.activated.is_some() {
                n.task("task.run", &created);
            }
        }
        Err(e) => {
            tracing::error!(image_id = %image_id, task_id, error = %e, "cannot record the end of an import")
        }
    }
}

/// A task's failure message for a failed quota check: Glance's 413 text (`str(e)`), or what
/// stopped the check.
fn quota_failure(e: Error) -> String {
    match e {
        Error::PayloadTooLarge(Msg::Explanation(m)) => m,
        other => other.to_string(),
    }
}

/// Task processing, image importing with Glance's store bookkeeping (the flow's set-up).
async fn start(state: &AppState, task_id: &str, image_id: &ImageId) -> Started {
    let st = state.clone();
    let (tid, iid) = (task_id.to_owned(), image_id.clone());
    let r = state
        .write(move |c| {
            let Some(begun) = tasks::begin(c, &st, &tid)? else {
                return Ok(Started::Skip);
            };
            let Some(old) = db::images::get_for_update(c, &iid)? else {
                return Ok(Started::Fail(
                    "Image has been deleted, aborting import.".to_owned(),
                    Some(Box::new(begun)),
                ));
            };
            if old.properties.get(LOCK) != Some(&tid) {
                return Ok(Started::Fail(
                    INTERNAL_ERROR.to_owned(),
                    Some(Box::new(begun)),
                ));
            }
            if let Err(e) = old.status.transition(ImageStatus::Importing) {
                return Ok(Started::Fail(e.to_string(), Some(Box::new(begun))));
            }
            let mut new = old.clone();
            new.status = ImageStatus::Importing;
            let stores: Vec<&str> = st.config.backend_id().into_iter().collect();
            merge_store_list(&mut new, IMPORTING_TO_STORES, &stores, false);
            merge_store_list(&mut new, FAILED_IMPORT, &stores, true);
            new.properties.remove(STAGE_HOST);
            new.updated_at = now();
            db::images::update(c, &old, &new)?;
            Ok(Started::Go(old.size, Box::new((begun, new))))
        })
        .await;
    r.unwrap_or_else(|e| Started::Fail(e.to_string(), None))
}

/// Bring the data into the image store: download it into staging first for
/// web-download, then copy from staging as an upload would.
async fn copy_data(
    state: &AppState,
    id: &ImageId,
    owner: Option<&str>,
    method: &str,
    uri: Option<&str>,
    staged_size: Option<i64>,
) -> Result<crate::store::StoredData, String> {
    let describe = |e: StoreError| match store_error(e) {
        Error::UnsupportedMediaType(Msg::Detail(d)) => d,
        other => other.to_string(),
    };
    if method == "web-download" {
        let uri = uri.ok_or("URI for web-download does not pass filtering: None")?;
        let (len, body) = super::web_download::open(state, uri).await?;
        let got = state
            .staging
            .put(id, body, state.config.image_size_cap, None)
            .await
            .map_err(describe)?;
        if let Some(m) = import_domain::downloaded_size_mismatch(len, got.size) {
            return Err(m);
        }
    }
    let (size, data) = state.staging.get(id, None).await.map_err(|e| match e {
        StoreError::NotFound => format!("No staged data found for image {id}"),
        other => other.to_string(),
    })?;
    if method == "glance-direct" {
        if let Some(m) = import_domain::staged_size_mismatch(staged_size, size) {
            return Err(m);
        }
    }
    let img = {
        let iid = id.to_owned();
        state
            .read(move |conn| Ok(db::images::get(conn, &iid)?))
            .await
            .map_err(|e| e.to_string())?
            .ok_or("Image has been deleted, aborting import.")?
    };
    // Glance inspects the bytes only for bare containers (as on upload).
    let inspect_as = match img.container_format.as_deref() {
        Some("bare") => img.disk_format.clone(),
        _ => None,
    };
    // Glance's legacy storage quota, as on upload of a body of unknown size (the flow passes
    // none): refused before the copy only when nothing is left, else checked once the size is
    // known.
    let room = transfer::storage_room(state, owner, id, None)
        .await
        .map_err(|e| e.to_string())?
        .map_err(describe)?;
    let body = data.map(|r| r.map_err(|e| e.to_string()));
    let stored = state
        .store
        .default_store()
        .put(
            id,
            body,
            state.config.image_size_cap,
            inspect_as.as_deref(),
            Some(size),
        )
        .await
        .map_err(describe)?;
    if room.is_some() {
        let after = transfer::storage_room(state, owner, id, Some(stored.size))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(describe));
        if let Err(m) = after {
            if let Err(d) = state.store.delete(id).await {
                tracing::error!(image_id = %id, error = %d, "data over the storage quota could not be removed");
            }
            return Err(m);
        }
    }
    Ok(stored)
}

/// Record the outcome: image active (or back to queued), task success (or
/// failure), lock dropped, staging file removed.
async fn finish(
    state: &AppState,
    task_id: &str,
    image_id: &ImageId,
    outcome: Outcome,
) -> Result<Finished, Error> {
    let st = state.clone();
    let (tid, iid) = (task_id.to_owned(), image_id.to_owned());
    let failed = matches!(outcome, Outcome::Failed(_));
    let kept = state
        .write(move |c| {
            let old = db::images::get_for_update(c, &iid)?;
            let owns = old.as_ref().is_some_and(|i| {
                i.properties.get(LOCK) == Some(&tid) && i.status == ImageStatus::Importing
            });
            match (&outcome, old) {
                (Outcome::Done(data), Some(old)) if owns => {
                    let mut activated = old.clone();
                    holds(&mut activated, data);
                    let mut new = activated.clone();
                    drop_lock(&mut new, &tid);
                    let stores: Vec<&str> = st.config.backend_id().into_iter().collect();
                    merge_store_list(&mut new, IMPORTING_TO_STORES, &stores, true);
                    new.updated_at = now();
                    db::images::update(c, &old, &new)?;
                    add_location(c, &st, &iid, new.updated_at)?;
                    let task = tasks::finish(
                        c,
                        &st,
                        &tid,
                        TaskStatus::Success,
                        json!({"image_id": iid}),
                        "",
                    )?;
                    // Glance saves the image before `_CompleteTask` drops the lock (which
                    // sends nothing): its `image.update` still carries the lock.
                    let mut saved = new;
                    saved.properties.insert(LOCK.to_owned(), tid.clone());
                    Ok((
                        true,
                        Finished {
                            activated: Some(activated),
                            saved: Some(saved),
                            task,
                        },
                    ))
                }
                (outcome, old) => {
                    let why = match outcome {
                        Outcome::Failed(m) => m.clone(),
                        Outcome::Done(_) => "Image has been deleted, aborting import.".to_owned(),
                    };
                    let mut saved = None;
                    if let Some(old) = old {
                        let mut new = old.clone();
                        let mine = drop_lock(&mut new, &tid);
                        if mine && new.status == ImageStatus::Importing {
                            new.status = ImageStatus::Queued;
                        }
                        if mine {
                            // The store failed: out of the importing list, into the failed one.
                            if let Some(b) = st.config.backend_id() {
                                merge_store_list(&mut new, IMPORTING_TO_STORES, &[b], true);
                                merge_store_list(&mut new, FAILED_IMPORT, &[b], false);
                            }
                            new.updated_at = now();
                            db::images::update(c, &old, &new)?;
                            saved = Some(new);
                        }
                    }
                    let task = tasks::finish(c, &st, &tid, TaskStatus::Failure, Value::Null, &why)?;
                    Ok((
                        false,
                        Finished {
                            activated: None,
                            saved,
                            task,
                        },
                    ))
                }
            }
        })
        .await;
    // Staged data is used once: imported, or discarded with the failed import.
    if let Err(e) = state.staging.delete(image_id).await {
        tracing::warn!(image_id = %image_id, error = %e, "cannot remove staged data");
    }
    match kept {
        Ok((true, f)) => Ok(f),
        Ok((false, f)) => {
            if !failed {
                // The image went away (or was taken over) while its data was written.
                let _ = state.store.delete(image_id).await;
            }
            Ok(f)
        }
        Err(e) => {
            if !failed {
                let _ = state.store.delete(image_id).await;
            }
            Err(e)
        }
    }
}
