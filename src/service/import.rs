//! Interoperable image import (`glance/api/v2/images.py` import,
//! `image_data.py` stage, `glance/async_/flows/api_image_import.py`), as
//! Glance does it:
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
//! * Multi-store mode: the data goes to each target store in turn (`stores`,
//!   `all_stores`, `X-Image-Meta-Store`), with Glance's per-store bookkeeping
//!   (`os_glance_importing_to_stores`, `os_glance_failed_import`) and
//!   `all_stores_must_succeed`; `copy-image` copies an active image's data to
//!   more stores through the staging area. With one unnamed store the lists
//!   are set to the empty string when an import starts and stay so.
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
        None,
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
) -> Result<Option<String>, Error> {
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
    let started = state
        .write(move |c| {
            let v = admission(c, &st, &ctx, &tid, &r.method, true)?;
            let img = &v.image;
            let method = r.method.as_str();
            let mut new = img.clone();
            let mut preempted = None;
            if let Some(other) = img.properties.get(LOCK).cloned() {
                preempted = enforce_import_lock(c, &st, &mut new, &other)?;
            }
            let enabled: Vec<&str> = st.store.backends().iter().map(|n| n.id.as_str()).collect();
            let mut stores = import_stores(&enabled, st.config.backend_id(), &r)?;
            if method == "copy-image" {
                if st.config.backend.is_none() {
                    return Err(Error::bad_request(
                        "copy-image needs several stores ([DEFAULT] enabled_backends)",
                    ));
                }
                let existing: Vec<String> = db::locations::live(c, &tid)?
                    .into_iter()
                    .filter_map(|l| l.store)
                    .collect();
                let all = r.body.get("all_stores") == Some(&Value::Bool(true));
                stores = import_domain::copy_targets(stores, &existing, all)?;
                if stores.is_empty() {
                    // Already in every store: Glance answers 202 and starts nothing.
                    if preempted.is_some() {
                        db::images::update(c, img, &new)?;
                    }
                    return Ok(None);
                }
            }
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
            Ok(Some((t.id.clone(), t, preempted, stores)))
        })
        .await?;
    let Some((task_id, created, preempted, stores)) = started else {
        return Ok(None);
    };
    if let Some(old) = &preempted {
        state.notifier.task("task.failure", old);
    }
    state.notifier.task("task.create", &created);
    let st = state.clone();
    let plan = Plan {
        method: req.method.clone(),
        uri: req.uri.clone(),
        // The single unnamed store is the one target `None`.
        stores: match stores.is_empty() {
            true => vec![None],
            false => stores.into_iter().map(Some).collect(),
        },
        must_succeed: req.all_stores_must_succeed,
    };
    // The import runs on after the 202; its lines keep the request id of the call that began it.
    actix_web::rt::spawn(tracing::Instrument::in_current_span(async move {
        run(st, created, id, plan).await
    }));
    Ok(Some(task_id))
}

/// What an import was asked to do, for its background half.
struct Plan {
    method: String,
    uri: Option<String>,
    /// The target stores in order (`[None]`: the single unnamed store).
    stores: Vec<Option<String>>,
    /// `all_stores_must_succeed`.
    must_succeed: bool,
}

impl Plan {
    fn copy(&self) -> bool {
        self.method == "copy-image"
    }

    /// The named target stores (Glance's per-store bookkeeping lists).
    fn named(&self) -> Vec<&str> {
        self.stores.iter().flatten().map(String::as_str).collect()
    }
}

/// The import's checks on the image and the caller, in Glance's order: the
/// image is visible, its status and formats allow the method, the caller may
/// modify it (only the owner, or an admin, imports data into an image), or copy it.
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
    // copy-image is a policy of its own (admins by default): the data is not the caller's to
    // change, only to copy; every other method needs the right to modify the image.
    let rule = match method {
        "copy-image" => "copy_image",
        _ => "modify_image",
    };
    st.policy.enforce(rule, ctx, &v.target(ctx))?;
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
    /// Success. `Some`: the data of the last target store (the image becomes active with it
    /// and gets its location); `None`: every store's result is recorded already and the image
    /// is active (a copy, or a store that activated it earlier).
    Done(Option<(crate::store::StoredData, Option<String>)>),
    Failed(Failure),
}

/// Why an import failed and what it leaves behind.
struct Failure {
    why: String,
    /// Stores that go into `os_glance_failed_import`.
    failed: Vec<String>,
    /// Stores this import wrote to before it failed: their locations and data are removed
    /// (`all_stores_must_succeed`: Glance reverts them).
    rollback: Vec<String>,
}

impl Failure {
    /// A failure before any store was written: every target store failed.
    fn before_stores(why: String, plan: &Plan) -> Outcome {
        Outcome::Failed(Failure {
            why,
            failed: plan.named().into_iter().map(str::to_owned).collect(),
            rollback: Vec::new(),
        })
    }
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
    /// The import succeeded (Glance's `task.run` follows).
    succeeded: bool,
}

/// The background half of an import. Its notifications follow Glance's flow: `task.processing`,
/// the image's `image.update` to importing, `image.prepare` before the copy, then
/// `image.upload` and `image.activate` (or the `image.upload` error), the image's last
/// `image.update` (twice after a success, as Glance), `task.success` (or `task.failure`), and, after a
/// success only, `task.run` last, with the task as the request created it.
async fn run(state: AppState, created: Task, image_id: ImageId, plan: Plan) {
    let _running = crate::metrics::InProgress::start(&crate::metrics::PROCESS.imports_in_progress);
    let task_id = created.id.clone();
    let n = state.notifier.clone();
    let outcome = match start(&state, &task_id, &image_id, &plan).await {
        Started::Skip => return,
        Started::Fail(msg, begun) => {
            if let Some(t) = &begun {
                n.task("task.processing", t);
            }
            Failure::before_stores(msg, &plan)
        }
        Started::Go(staged_size, started) => {
            let (begun, importing) = *started;
            n.task("task.processing", &begun);
            if !plan.copy() {
                n.image("image.update", &importing);
            }
            // Glance's quota checks once the image is importing: over a limit, the import
            // fails with the 413's text before any data moves.
            let owner = Some(created.owner.clone()).filter(|o| !o.is_empty());
            match quotas::enforce_import(&state, owner.clone(), &plan.method, importing.size).await
            {
                Err(e) => Failure::before_stores(quota_failure(e), &plan),
                Ok(()) => {
                    let first = plan.stores.first().cloned().flatten();
                    n.image_with_import("image.prepare", &importing, first.as_deref());
                    let work = import_all(
                        &state,
                        &task_id,
                        &image_id,
                        owner.as_deref(),
                        &plan,
                        staged_size,
                    );
                    tokio::select! {
                        o = work => o,
                        () = heartbeat(&state, &image_id, importing.status, Some(&task_id)) => unreachable!("heartbeat never ends"),
                    }
                }
            }
        }
    };
    match finish(&state, &task_id, &image_id, &plan, outcome).await {
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
            if f.succeeded {
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

/// Task processing, image importing (a copy leaves the image active) with Glance's store
/// bookkeeping (the flow's set-up).
async fn start(state: &AppState, task_id: &str, image_id: &ImageId, plan: &Plan) -> Started {
    let st = state.clone();
    let (tid, iid) = (task_id.to_owned(), image_id.clone());
    let stores: Vec<String> = plan.named().into_iter().map(str::to_owned).collect();
    let copy = plan.copy();
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
            let mut new = old.clone();
            if !copy {
                if let Err(e) = old.status.transition(ImageStatus::Importing) {
                    return Ok(Started::Fail(e.to_string(), Some(Box::new(begun))));
                }
                new.status = ImageStatus::Importing;
            }
            let stores: Vec<&str> = stores.iter().map(String::as_str).collect();
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

/// A store's failure as a task message (a 415's detail as it is).
fn describe(e: StoreError) -> String {
    match store_error(e) {
        Error::UnsupportedMediaType(Msg::Detail(d)) => d,
        other => other.to_string(),
    }
}

/// The import's data work: the data into staging (downloaded for web-download, copied from a
/// store the image is in for copy-image), then into each target store in turn, as Glance's
/// serial `_ImportToStore` tasks do. With `all_stores_must_succeed` the first failing store
/// fails the import (the stores written before it are rolled back by `finish`); without it a
/// failing store goes into `os_glance_failed_import` and the others go on, and the first
/// store written activates the image.
async fn import_all(
    state: &AppState,
    task_id: &str,
    id: &ImageId,
    owner: Option<&str>,
    plan: &Plan,
    staged_size: Option<i64>,
) -> Outcome {
    let fail = |m: String| {
        state.notifier.upload_failed(&format!(
            "Failed to upload image data for image {id} due to internal error: {m}"
        ));
        m
    };
    if let Err(m) = prepare_staging(state, id, plan, staged_size).await {
        return Failure::before_stores(fail(m), plan);
    }
    let img = {
        let iid = id.to_owned();
        match state
            .read(move |conn| Ok(db::images::get(conn, &iid)?))
            .await
        {
            Ok(Some(img)) => img,
            Ok(None) => {
                return Failure::before_stores(
                    "Image has been deleted, aborting import.".to_owned(),
                    plan,
                )
            }
            Err(e) => return Failure::before_stores(e.to_string(), plan),
        }
    };
    // Glance inspects the bytes only for bare containers (as on upload).
    let inspect_as = match img.container_format.as_deref() {
        Some("bare") => img.disk_format.clone(),
        _ => None,
    };
    let copy = plan.copy();
    // What every store's copy must match: the image's data for a copy, else the first store's.
    let mut reference = copy.then(|| img.clone());
    let mut written: Vec<String> = Vec::new();
    let mut active = copy;
    for (i, store) in plan.stores.iter().enumerate() {
        let last = i + 1 == plan.stores.len();
        let put = put_one(state, id, owner, store.as_deref(), inspect_as.as_deref()).await;
        let checked = put.and_then(|data| match &reference {
            Some(r) => {
                import_domain::verify_same_data(r, data.size, &data.hash_value, &data.checksum)
                    .map(|()| data)
            }
            None => Ok(data),
        });
        let recorded = match checked {
            Ok(data) if last && !active => return Outcome::Done(Some((data, store.clone()))),
            Ok(data) => {
                let activate = !plan.must_succeed && !copy;
                let r = record_store(state, task_id, id, store.as_deref(), &data, activate).await;
                if r.is_ok() {
                    active |= activate;
                    if reference.is_none() {
                        let mut with = img.clone();
                        holds(&mut with, &data);
                        reference = Some(with);
                    }
                }
                r
            }
            Err(m) => Err(m),
        };
        match recorded {
            Ok(()) => written.extend(store.clone()),
            Err(m) => {
                // Nothing of this store's copy stays (a put that failed left nothing).
                if let Err(e) = state.target_store(store.as_deref()).delete(id).await {
                    tracing::warn!(image_id = %id, error = %e, "cannot remove a failed store's data");
                }
                let m = fail(m);
                if plan.must_succeed {
                    return Outcome::Failed(Failure {
                        why: m,
                        failed: store.iter().cloned().collect(),
                        rollback: written,
                    });
                }
                tracing::warn!(image_id = %id, store = store.as_deref().unwrap_or("-"), error = %m, "import to a store failed; all_stores_must_succeed is false: going on");
                mark_failed(state, task_id, id, store.as_deref()).await;
            }
        }
    }
    if active {
        Outcome::Done(None)
    } else {
        // Glance's `_VerifyImageState`.
        Outcome::Failed(Failure {
            why: "None of the uploads finished!".to_owned(),
            failed: Vec::new(),
            rollback: Vec::new(),
        })
    }
}

/// The data in the staging area: downloaded for web-download, copied out of a store the image
/// is in for copy-image (data already staged with the image's size is used as it is), staged
/// by the client for glance-direct (still as long as it was).
async fn prepare_staging(
    state: &AppState,
    id: &ImageId,
    plan: &Plan,
    staged_size: Option<i64>,
) -> Result<(), String> {
    match plan.method.as_str() {
        "web-download" => {
            let uri = plan
                .uri
                .as_deref()
                .ok_or("URI for web-download does not pass filtering: None")?;
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
        "copy-image" => copy_to_staging(state, id, staged_size).await?,
        _ => {}
    }
    let (size, _) = state.staging.get(id, None).await.map_err(|e| match e {
        StoreError::NotFound => format!("No staged data found for image {id}"),
        other => other.to_string(),
    })?;
    if plan.method == "glance-direct" {
        if let Some(m) = import_domain::staged_size_mismatch(staged_size, size) {
            return Err(m);
        }
    }
    Ok(())
}

/// copy-image's `_CopyImage`: the image's data into staging, from its location in the default
/// backend first, else from the first other enabled store that has it.
async fn copy_to_staging(state: &AppState, id: &ImageId, size: Option<i64>) -> Result<(), String> {
    if let Ok((staged, _)) = state.staging.get(id, None).await {
        if size == Some(staged as i64) {
            return Ok(());
        }
        let _ = state.staging.delete(id).await;
    }
    let iid = id.to_owned();
    let mut locations = state
        .read(move |c| Ok(db::locations::live(c, &iid)?))
        .await
        .map_err(|e| e.to_string())?;
    let default = state.config.backend_id();
    // A stable sort: the default backend's locations first, then the others in row order.
    locations.sort_by_key(|l| l.store.as_deref() != default);
    for loc in &locations {
        let Some(store) = loc.store.as_deref().and_then(|s| state.store.named(s)) else {
            continue;
        };
        match store.get_url(&loc.url, None).await {
            Ok((_, body)) => {
                state
                    .staging
                    .put(id, body, state.config.image_size_cap, None)
                    .await
                    .map_err(describe)?;
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(image_id = %id, location = %loc.url, error = %e, "image not readable in this store")
            }
        }
    }
    Err("Image not found in any configured store".to_owned())
}

/// The staged data written to one store, as an upload writes it (checksums, hash, format
/// inspection), within the owner's legacy storage quota.
async fn put_one(
    state: &AppState,
    id: &ImageId,
    owner: Option<&str>,
    store: Option<&str>,
    inspect_as: Option<&str>,
) -> Result<crate::store::StoredData, String> {
    let (size, data) = state.staging.get(id, None).await.map_err(|e| match e {
        StoreError::NotFound => format!("No staged data found for image {id}"),
        other => other.to_string(),
    })?;
    // Glance's legacy storage quota, as on upload of a body of unknown size (the flow passes
    // none): refused before the copy only when nothing is left, else checked once the size is
    // known.
    let room = transfer::storage_room(state, owner, id, None)
        .await
        .map_err(|e| e.to_string())?
        .map_err(describe)?;
    let target = state.target_store(store);
    let body = data.map(|r| r.map_err(|e| e.to_string()));
    let stored = target
        .put(
            id,
            body,
            state.config.image_size_cap,
            inspect_as,
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
            if let Err(d) = target.delete(id).await {
                tracing::error!(image_id = %id, error = %d, "data over the storage quota could not be removed");
            }
            return Err(m);
        }
    }
    Ok(stored)
}

/// One store's data recorded while the import goes on (Glance's `set_data` with
/// `set_active` false, or true for the first store without `all_stores_must_succeed`): the
/// location, the data's size and hashes, the store out of the importing list.
async fn record_store(
    state: &AppState,
    task_id: &str,
    id: &ImageId,
    store: Option<&str>,
    data: &crate::store::StoredData,
    activate: bool,
) -> Result<(), String> {
    let st = state.clone();
    let (tid, iid, data) = (task_id.to_owned(), id.clone(), data.clone());
    let store = store.map(str::to_owned);
    let saved = state
        .write(move |c| {
            let Some(old) = db::images::get_for_update(c, &iid)? else {
                return Ok(None);
            };
            let ours = old.properties.get(LOCK) == Some(&tid)
                && matches!(old.status, ImageStatus::Importing | ImageStatus::Active);
            if !ours {
                return Ok(None);
            }
            let mut new = old.clone();
            let status = new.status;
            holds(&mut new, &data);
            if !activate {
                new.status = status;
            }
            if let Some(s) = &store {
                merge_store_list(&mut new, IMPORTING_TO_STORES, &[s], true);
            }
            new.updated_at = now();
            db::images::update(c, &old, &new)?;
            add_location(c, &st, &iid, store.as_deref(), new.updated_at)?;
            Ok(Some(new))
        })
        .await
        .map_err(|e| e.to_string())?;
    match saved {
        Some(img) => {
            state.notifier.image("image.update", &img);
            Ok(())
        }
        None => Err("Image has been deleted, aborting import.".to_owned()),
    }
}

/// A store that failed without failing the import: out of the importing list, into the
/// failed one.
async fn mark_failed(state: &AppState, task_id: &str, id: &ImageId, store: Option<&str>) {
    let Some(store) = store.map(str::to_owned) else {
        return;
    };
    let (tid, iid) = (task_id.to_owned(), id.clone());
    let r = state
        .write(move |c| {
            let Some(old) = db::images::get_for_update(c, &iid)? else {
                return Ok(());
            };
            if old.properties.get(LOCK) != Some(&tid) {
                return Ok(());
            }
            let mut new = old.clone();
            merge_store_list(&mut new, IMPORTING_TO_STORES, &[&store], true);
            merge_store_list(&mut new, FAILED_IMPORT, &[&store], false);
            new.updated_at = now();
            db::images::update(c, &old, &new)?;
            Ok(())
        })
        .await;
    if let Err(e) = r {
        tracing::warn!(image_id = %id, error = %e, "cannot record a failed store");
    }
}

/// Record the outcome: image active (or back to queued; a copy's stays active), task success
/// (or failure), lock dropped, staging file removed; a failure rolls back the stores this
/// import wrote.
async fn finish(
    state: &AppState,
    task_id: &str,
    image_id: &ImageId,
    plan: &Plan,
    outcome: Outcome,
) -> Result<Finished, Error> {
    let st = state.clone();
    let (tid, iid) = (task_id.to_owned(), image_id.to_owned());
    let failed = matches!(outcome, Outcome::Failed(_));
    // Where the last store's data went, to remove it if the image went away meanwhile.
    let last_store = match &outcome {
        Outcome::Done(Some((_, s))) => Some(s.clone()),
        _ => None,
    };
    let targets: Vec<String> = plan.named().into_iter().map(str::to_owned).collect();
    let kept = state
        .write(move |c| {
            let old = db::images::get_for_update(c, &iid)?;
            let owns = old.as_ref().is_some_and(|i| {
                i.properties.get(LOCK) == Some(&tid)
                    && matches!(i.status, ImageStatus::Importing | ImageStatus::Active)
            });
            match (&outcome, old) {
                (Outcome::Done(last), Some(old)) if owns => {
                    let mut new = old.clone();
                    let mut activated = None;
                    if let Some((data, store)) = last {
                        holds(&mut new, data);
                        activated = Some(new.clone());
                        if let Some(s) = store {
                            merge_store_list(&mut new, IMPORTING_TO_STORES, &[s], true);
                        } else {
                            merge_store_list(&mut new, IMPORTING_TO_STORES, &[], true);
                        }
                    }
                    drop_lock(&mut new, &tid);
                    new.updated_at = now();
                    db::images::update(c, &old, &new)?;
                    if let Some((_, store)) = last {
                        add_location(c, &st, &iid, store.as_deref(), new.updated_at)?;
                    }
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
                            activated,
                            saved: Some(saved),
                            task,
                            succeeded: true,
                        },
                        Vec::new(),
                    ))
                }
                (outcome, old) => {
                    let (why, failure) = match outcome {
                        Outcome::Failed(f) => (f.why.clone(), Some(f)),
                        Outcome::Done(_) => {
                            ("Image has been deleted, aborting import.".to_owned(), None)
                        }
                    };
                    let mut saved = None;
                    let mut removed = Vec::new();
                    if let Some(old) = old {
                        let mut new = old.clone();
                        let mine = drop_lock(&mut new, &tid);
                        if mine && new.status == ImageStatus::Importing {
                            new.status = ImageStatus::Queued;
                        }
                        if mine {
                            let at = now();
                            if let Some(f) = failure {
                                // The stores written before the failure are reverted.
                                for row in db::locations::live_rows(c, &iid)? {
                                    let store = db::locations::store_of(row.meta_data.as_deref());
                                    if store.as_ref().is_some_and(|s| f.rollback.contains(s)) {
                                        db::locations::delete_one(c, &iid, row.id, at)?;
                                        removed.push((store, row.value));
                                    }
                                }
                                if !removed.is_empty() && db::locations::live(c, &iid)?.is_empty() {
                                    new.checksum = None;
                                    new.os_hash_algo = None;
                                    new.os_hash_value = None;
                                    new.size = None;
                                }
                                // The import's stores leave the importing list; the failed
                                // ones go into the failed list.
                                let all: Vec<&str> = targets.iter().map(String::as_str).collect();
                                merge_store_list(&mut new, IMPORTING_TO_STORES, &all, true);
                                let failed: Vec<&str> =
                                    f.failed.iter().map(String::as_str).collect();
                                merge_store_list(&mut new, FAILED_IMPORT, &failed, false);
                            }
                            new.updated_at = at;
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
                            succeeded: false,
                        },
                        removed,
                    ))
                }
            }
        })
        .await;
    // Staged data is used once: imported, or discarded with the failed import.
    if let Err(e) = state.staging.delete(image_id).await {
        tracing::warn!(image_id = %image_id, error = %e, "cannot remove staged data");
    }
    let lost = |st: &AppState| {
        let store = last_store.clone().flatten();
        let st = st.clone();
        let id = image_id.clone();
        async move {
            let _ = st.target_store(store.as_deref()).delete(&id).await;
        }
    };
    match kept {
        Ok((true, f, _)) => Ok(f),
        Ok((false, f, removed)) => {
            for (store, url) in removed {
                if let Err(e) = state.store.delete_at(store.as_deref(), &url).await {
                    tracing::warn!(image_id = %image_id, error = %e, "cannot remove a reverted store's data");
                }
            }
            if !failed {
                // The image went away (or was taken over) while its data was written.
                lost(state).await;
            }
            Ok(f)
        }
        Err(e) => {
            if !failed {
                lost(state).await;
            }
            Err(e)
        }
    }
}
