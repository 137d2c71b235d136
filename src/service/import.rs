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
//!   periodic recovery sweep of every process ends imports whose heartbeat
//!   stopped (their process died) the same way as a failure.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::{json, Value};

use super::access::load_visible;
use super::data::{heartbeat, holds, receive, record_received, stale_after, store_error};
use super::images::now;
use super::tasks;
use crate::app::AppState;
use crate::config::{Backend, Config};
use crate::db::{self, DbConn};
use crate::domain::context::RequestContext;
use crate::domain::image::{Image, ImageStatus};
use crate::domain::task::{self as task_domain, Task, TaskStatus};
use crate::error::{Error, Msg};
use crate::store::{FsStore, HashAlgo, StoreError};

/// The image property holding the import lock: the id of the task that owns the image.
pub const LOCK: &str = "os_glance_import_task";
pub const IMPORTING_TO_STORES: &str = "os_glance_importing_to_stores";
pub const FAILED_IMPORT: &str = "os_glance_failed_import";
pub const STAGE_HOST: &str = "os_glance_stage_host";

/// Opens (creating) the staging directory; leftovers of a crash are swept by recovery.
pub fn open_staging(config: &Config, algo: HashAlgo) -> Result<FsStore, String> {
    let dir = &config.import.staging_dir;
    FsStore::open(dir.clone(), algo)
        .map(|s| s.with_format_match(false))
        .map_err(|e| format!("cannot open staging area {}: {e}", dir.display()))
}

/// Glance's hostname check: the name (with a trailing dot, so no search
/// domain or numeric fallback applies) must resolve. Blocking.
pub fn resolves(host: &str) -> bool {
    use std::net::ToSocketAddrs;
    let name = if host.ends_with('.') {
        host.to_owned()
    } else {
        format!("{host}.")
    };
    (name.as_str(), 80)
        .to_socket_addrs()
        .is_ok_and(|mut a| a.next().is_some())
}

fn not_found(id: &str) -> String {
    format!("No image found with ID {id}")
}

/// `PUT /v2/images/{id}/stage`.
pub async fn stage<S, E>(
    state: &AppState,
    ctx: RequestContext,
    id: String,
    body: S,
    on_abandon: Option<super::data::OnAbandon>,
) -> Result<(), Error>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let st = state.clone();
    let cid = id.clone();
    state
        .write(move |c| {
            let v = load_visible(c, &st.policy, &ctx, &cid, &not_found(&cid), true)?;
            st.policy.enforce("modify_image", &ctx, &v.target(&ctx))?;
            v.image.status.transition(ImageStatus::Uploading)?;
            db::images::compare_and_set_status(
                c,
                &cid,
                &[v.image.status],
                ImageStatus::Uploading,
                now(),
            )?;
            Ok(())
        })
        .await?;

    // `_unstage` on failure: back to queued; the staging area keeps nothing.
    let data = receive(
        state,
        &state.staging,
        &id,
        body,
        None,
        ImageStatus::Uploading,
        on_abandon,
    )
    .await?;

    record_received(
        state,
        &state.staging,
        &id,
        ImageStatus::Uploading,
        move |new| new.size = Some(data.size as i64),
        || Error::not_found(not_found(&id)),
    )
    .await
}

/// What `POST /v2/images/{id}/import` was asked to do.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub method: String,
    pub uri: Option<String>,
    pub all_stores_must_succeed: bool,
    /// The `X-Image-Meta-Store` header.
    pub header_store: Option<String>,
    /// The request body as sent; recorded as the task's `import_req`.
    pub body: Value,
}

impl ImportRequest {
    /// The request deserializer's checks (`_validate_import_body`), in its order.
    pub fn parse(body: Value, enabled: &[String]) -> Result<ImportRequest, Error> {
        let method = body
            .get("method")
            .ok_or_else(|| Error::bad_request("Import request requires a 'method' field."))?;
        let name = method
            .get("name")
            .ok_or_else(|| Error::bad_request("Import request requires a 'name' field."))?;
        let name_text = match name {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !enabled.contains(&name_text) || !name.is_string() {
            return Err(Error::bad_request(format!(
                "Unknown import method name '{name_text}'."
            )));
        }
        let must = body
            .get("all_stores_must_succeed")
            .unwrap_or(&Value::Bool(true));
        let Value::Bool(must) = *must else {
            return Err(Error::bad_request(
                "'all_stores_must_succeed' must be boolean value only",
            ));
        };
        if !body
            .get("all_stores")
            .unwrap_or(&Value::Bool(false))
            .is_boolean()
        {
            return Err(Error::bad_request(
                "'all_stores' must be boolean value only",
            ));
        }
        let uri = match method.get("uri") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        };
        Ok(ImportRequest {
            method: name_text,
            uri,
            all_stores_must_succeed: must,
            header_store: None,
            body,
        })
    }
}

/// Drop the lock of `task` (if it holds it): Glance's `delete_property_atomic`.
fn drop_lock(img: &mut Image, task_id: &str) -> bool {
    if img.properties.get(LOCK).map(String::as_str) == Some(task_id) {
        img.properties.remove(LOCK);
        true
    } else {
        false
    }
}

/// The flow's `merge_store_list`: add (or with `subtract`, remove) `stores`
/// to the comma-separated list under `key`, written back sorted. With the
/// single unnamed store `stores` is empty and the list only gets normalised.
fn merge_store_list(img: &mut Image, key: &str, stores: &[&str], subtract: bool) {
    let mut current: BTreeSet<String> = img
        .properties
        .get(key)
        .map(|v| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    for s in stores {
        if subtract {
            current.remove(*s);
        } else {
            current.insert((*s).to_owned());
        }
    }
    img.properties.insert(
        key.to_owned(),
        current.into_iter().collect::<Vec<_>>().join(","),
    );
}

/// The stores an import targets (`get_stores_from_request`): none with the
/// single unnamed store; else `stores`, `all_stores` or the
/// `X-Image-Meta-Store` header (default: the default backend), each of
/// which must be the enabled backend (409 otherwise, as Glance).
fn import_stores(backend: Option<&Backend>, r: &ImportRequest) -> Result<Vec<String>, Error> {
    let Some(b) = backend else {
        return Ok(Vec::new());
    };
    let all = r.body.get("all_stores") == Some(&Value::Bool(true));
    let listed = r.body.get("stores");
    let stores: Vec<Value> = if all {
        if listed.is_some() || r.header_store.is_some() {
            return Err(Error::bad_request(
                "All_stores parameter can't be used with x-image-meta-store header or stores parameter",
            ));
        }
        vec![Value::String(b.id.clone())]
    } else if let Some(listed) = listed {
        if r.header_store.is_some() {
            return Err(Error::bad_request(
                "Stores parameter and x-image-meta-store header can't be both specified",
            ));
        }
        match listed {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        }
    } else {
        vec![Value::String(
            r.header_store.clone().unwrap_or_else(|| b.id.clone()),
        )]
    };
    stores
        .into_iter()
        .map(|v| match v {
            Value::String(s) if s == b.id => Ok(s),
            Value::String(s) => Err(unknown_store(&s)),
            other => Err(unknown_store(&other.to_string())),
        })
        .collect()
}

/// glance_store's `UnknownScheme` for a store id that is not enabled.
pub fn unknown_store(id: &str) -> Error {
    Error::conflict(format!("Unknown scheme '{id}' found in URI"))
}

/// `POST /v2/images/{id}/import`: checks, task and lock in one transaction,
/// then the work on a background task. Returns the task id.
pub async fn import(
    state: &AppState,
    ctx: RequestContext,
    request_id: Option<String>,
    id: String,
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
    let task_id = state
        .write(move |c| {
            let v = admission(c, &st, &ctx, &tid, &r.method, true)?;
            let img = &v.image;
            let method = r.method.as_str();
            let mut new = img.clone();
            if let Some(other) = img.properties.get(LOCK).cloned() {
                enforce_import_lock(c, &st, &mut new, &other)?;
            }
            let stores = import_stores(st.config.backend.as_ref(), &r)?;
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
                Some(tid.clone()),
                ctx.user_id.clone(),
                request_id.clone(),
                now(),
            );
            new.properties.insert(LOCK.to_owned(), t.id.clone());
            new.updated_at = now();
            db::images::update(c, img, &new)?;
            db::tasks::insert(c, &t)?;
            Ok(t.id)
        })
        .await?;
    let st = state.clone();
    let (tid, method, uri) = (task_id.clone(), req.method.clone(), req.uri.clone());
    actix_web::rt::spawn(async move { run(st, tid, id, method, uri).await });
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
    id: &str,
    method: &str,
    lock: bool,
) -> Result<super::access::Visible, Error> {
    let v = load_visible(c, &st.policy, ctx, id, &not_found(id), lock)?;
    let img = &v.image;
    if img.status == ImageStatus::Active {
        return Err(conflict(
            "Image with status active cannot be target for import",
        ));
    }
    if img.status != ImageStatus::Queued && method == "web-download" {
        return Err(conflict(&format!(
            "Image needs to be in 'queued' state to use '{method}' method"
        )));
    }
    if img.status != ImageStatus::Uploading && method == "glance-direct" {
        return Err(conflict(
            "Image needs to be staged before 'glance-direct' method can be used",
        ));
    }
    if img.container_format.is_none() {
        return Err(conflict("'container_format' needs to be set before import"));
    }
    if img.disk_format.is_none() {
        return Err(conflict("'disk_format' needs to be set before import"));
    }
    st.policy.enforce("modify_image", ctx, &v.target(ctx))?;
    Ok(v)
}

fn conflict(msg: &str) -> Error {
    Error::conflict(msg)
}

/// `_enforce_import_lock`: a lock whose task is gone or has outlived its
/// expiry is taken over (the old task fails as "Expired lock preempted");
/// a live one is a 409.
fn enforce_import_lock(
    c: &mut DbConn,
    state: &AppState,
    img: &mut Image,
    other: &str,
) -> Result<(), Error> {
    let task = db::tasks::get(c, other, true)?;
    let stale = match &task {
        None => true,
        Some(t) => now() - t.updated_at >= task_domain::import_lock_expiry(t.status),
    };
    if !stale {
        return Err(conflict("Image has active task"));
    }
    if task.is_some() {
        tasks::finish(
            c,
            state,
            other,
            TaskStatus::Failure,
            Value::Null,
            "Expired lock preempted",
        )?;
    }
    tracing::warn!(image_id = %img.id, task_id = other, "stale import lock removed");
    drop_lock(img, other);
    Ok(())
}

/// Where a finished or failed import leaves the image and its task.
enum Outcome {
    Done(crate::store::StoredData),
    Failed(String),
}

/// How the set-up of an import went.
enum Started {
    /// Go on; for glance-direct, the size recorded when the data was staged.
    Go(Option<i64>),
    /// The task is no longer pending (taken over, or ended): nothing to do.
    Skip,
    Fail(String),
}

/// The background half of an import.
async fn run(
    state: AppState,
    task_id: String,
    image_id: String,
    method: String,
    uri: Option<String>,
) {
    let outcome = match start(&state, &task_id, &image_id).await {
        Started::Skip => return,
        Started::Fail(msg) => Outcome::Failed(msg),
        Started::Go(staged_size) => {
            let work = copy_data(&state, &image_id, &method, uri.as_deref(), staged_size);
            tokio::select! {
                r = work => match r {
                    Ok(d) => Outcome::Done(d),
                    Err(m) => Outcome::Failed(m),
                },
                () = heartbeat(&state, &image_id, ImageStatus::Importing, Some(&task_id)) => unreachable!("heartbeat never ends"),
            }
        }
    };
    if let Err(e) = finish(&state, &task_id, &image_id, outcome).await {
        tracing::error!(image_id, task_id, error = %e, "cannot record the end of an import");
    }
}

/// Task processing, image importing with Glance's store bookkeeping (the flow's set-up).
async fn start(state: &AppState, task_id: &str, image_id: &str) -> Started {
    let st = state.clone();
    let (tid, iid) = (task_id.to_owned(), image_id.to_owned());
    let r = state
        .write(move |c| {
            if !tasks::begin(c, &st, &tid)? {
                return Ok(Started::Skip);
            }
            let Some(old) = db::images::get_for_update(c, &iid)? else {
                return Ok(Started::Fail(
                    "Image has been deleted, aborting import.".to_owned(),
                ));
            };
            if old.properties.get(LOCK) != Some(&tid) {
                return Ok(Started::Fail(tasks::INTERNAL_ERROR.to_owned()));
            }
            if let Err(e) = old.status.transition(ImageStatus::Importing) {
                return Ok(Started::Fail(e.to_string()));
            }
            let mut new = old.clone();
            new.status = ImageStatus::Importing;
            let stores: Vec<&str> = st.config.backend_id().into_iter().collect();
            merge_store_list(&mut new, IMPORTING_TO_STORES, &stores, false);
            merge_store_list(&mut new, FAILED_IMPORT, &stores, true);
            new.properties.remove(STAGE_HOST);
            new.updated_at = now();
            db::images::update(c, &old, &new)?;
            Ok(Started::Go(old.size))
        })
        .await;
    r.unwrap_or_else(|e| Started::Fail(e.to_string()))
}

/// Bring the data into the image store: download it into staging first for
/// web-download, then copy from staging as an upload would.
async fn copy_data(
    state: &AppState,
    id: &str,
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
        if let Some(l) = len {
            if l != got.size && l != 0 {
                return Err(format!(
                    "downloaded data size {} is different from expected {l}",
                    got.size
                ));
            }
        }
    }
    let (size, data) = state.staging.get(id, None).await.map_err(|e| match e {
        StoreError::NotFound => format!("No staged data found for image {id}"),
        other => other.to_string(),
    })?;
    if method == "glance-direct" {
        if let Some(expected) = staged_size {
            if expected != size as i64 {
                return Err(format!(
                    "Image size mismatch. Expected {expected} but got {size}"
                ));
            }
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
    let body = data.map(|r| r.map_err(|e| e.to_string()));
    state
        .store
        .put(id, body, state.config.image_size_cap, inspect_as.as_deref())
        .await
        .map_err(describe)
}

/// Record the outcome: image active (or back to queued), task success (or
/// failure), lock dropped, staging file removed.
async fn finish(
    state: &AppState,
    task_id: &str,
    image_id: &str,
    outcome: Outcome,
) -> Result<(), Error> {
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
                    let mut new = old.clone();
                    holds(&mut new, data);
                    drop_lock(&mut new, &tid);
                    let stores: Vec<&str> = st.config.backend_id().into_iter().collect();
                    merge_store_list(&mut new, IMPORTING_TO_STORES, &stores, true);
                    new.updated_at = now();
                    db::images::update(c, &old, &new)?;
                    tasks::finish(
                        c,
                        &st,
                        &tid,
                        TaskStatus::Success,
                        json!({"image_id": iid}),
                        "",
                    )?;
                    Ok(true)
                }
                (outcome, old) => {
                    let why = match outcome {
                        Outcome::Failed(m) => m.clone(),
                        Outcome::Done(_) => "Image has been deleted, aborting import.".to_owned(),
                    };
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
                        }
                    }
                    tasks::finish(c, &st, &tid, TaskStatus::Failure, Value::Null, &why)?;
                    Ok(false)
                }
            }
        })
        .await;
    // Staged data is used once: imported, or discarded with the failed import.
    if let Err(e) = state.staging.delete(image_id).await {
        tracing::warn!(image_id, error = %e, "cannot remove staged data");
    }
    match kept {
        Ok(true) => Ok(()),
        Ok(false) => {
            if !failed {
                // The image went away (or was taken over) while its data was written.
                let _ = state.store.delete(image_id).await;
            }
            Ok(())
        }
        Err(e) => {
            if !failed {
                let _ = state.store.delete(image_id).await;
            }
            Err(e)
        }
    }
}

/// What the recovery sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Images whose import died with its process: back to `queued`.
    pub imports: Vec<String>,
    /// Images whose staging died with its process: back to `queued`.
    pub stages: Vec<String>,
    /// Staged files removed (of images no longer waiting for an import).
    pub files: usize,
}

/// Part of every process's periodic recovery: imports and stages whose
/// heartbeat stopped are ended as failures, orphaned staging files removed.
pub async fn recover(state: &AppState) -> Result<Recovered, Error> {
    let stale = stale_after(&state.config);
    let st = state.clone();
    let staging = state.staging.clone();
    let mut rec = state
        .write(move |c| {
            let stale_before = now() - chrono::Duration::from_std(stale).unwrap_or_default();
            let mut rec = Recovered::default();
            let msg = "Import interrupted: the glint process running it stopped";
            for t in db::tasks::stale_running(c, task_domain::API_IMAGE_IMPORT, stale_before)? {
                if let Some(iid) = &t.image_id {
                    if let Some(old) = db::images::get_for_update(c, iid)? {
                        let mut new = old.clone();
                        if drop_lock(&mut new, &t.id) {
                            if new.status == ImageStatus::Importing {
                                new.status = ImageStatus::Queued;
                                rec.imports.push(iid.clone());
                            }
                            new.updated_at = now();
                            db::images::update(c, &old, &new)?;
                        }
                    }
                }
                tasks::finish(c, &st, &t.id, TaskStatus::Failure, Value::Null, msg)?;
            }
            for id in db::tasks::image_ids_in_status(c, ImageStatus::Uploading, stale_before)? {
                // A staged image waits for its import as long as it likes; only one
                // whose data never arrived (the staging process died) is reset.
                if !staging.path_of(&id).exists()
                    && db::images::compare_and_set_status(
                        c,
                        &id,
                        &[ImageStatus::Uploading],
                        ImageStatus::Queued,
                        now(),
                    )?
                {
                    rec.stages.push(id);
                }
            }
            Ok(rec)
        })
        .await?;
    rec.files = sweep_staging(state, stale).await?;
    if rec != Recovered::default() {
        tracing::warn!(?rec, "imports and stages of dead processes recovered");
    }
    Ok(rec)
}

/// Remove stale temporary files, and staged files whose image no longer waits for them.
async fn sweep_staging(state: &AppState, stale: Duration) -> Result<usize, Error> {
    let staging = state.staging.clone();
    let (mut removed, names) = actix_web::web::block(move || {
        let n = staging.sweep_temp_files(stale).unwrap_or(0);
        let mut old = Vec::new();
        if let Ok(rd) = std::fs::read_dir(staging.root()) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let age = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .unwrap_or_default();
                if !name.starts_with('.') && age >= stale {
                    old.push(name);
                }
            }
        }
        (n, old)
    })
    .await
    .map_err(|e| Error::internal(format!("staging sweep failed: {e}")))?;
    for name in names {
        let iid = name.clone();
        let waiting = state
            .read(move |conn| {
                Ok(db::images::get(conn, &iid)?.is_some_and(|i| {
                    matches!(i.status, ImageStatus::Uploading | ImageStatus::Importing)
                }))
            })
            .await?;
        if !waiting && state.staging.delete(&name).await.is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_body_checks() {
        let enabled = vec!["glance-direct".to_owned(), "web-download".to_owned()];
        let ok = ImportRequest::parse(
            json!({"method": {"name": "web-download", "uri": "http://x/y"}}),
            &enabled,
        )
        .unwrap();
        assert_eq!(
            (ok.method.as_str(), ok.uri.as_deref()),
            ("web-download", Some("http://x/y"))
        );
        assert!(ok.all_stores_must_succeed);
        for (body, msg) in [
            (json!({}), "Import request requires a 'method' field."),
            (
                json!({"method": {}}),
                "Import request requires a 'name' field.",
            ),
            (
                json!({"method": {"name": "copy-image"}}),
                "Unknown import method name 'copy-image'.",
            ),
            (
                json!({"method": {"name": "glance-direct"}, "all_stores_must_succeed": "no"}),
                "'all_stores_must_succeed' must be boolean value only",
            ),
            (
                json!({"method": {"name": "glance-direct"}, "all_stores": 1}),
                "'all_stores' must be boolean value only",
            ),
        ] {
            assert_eq!(
                ImportRequest::parse(body.clone(), &enabled).unwrap_err(),
                Error::bad_request(msg),
                "{body}"
            );
        }
    }

    #[test]
    fn store_lists_and_lock() {
        let mut img = Image::new("i".into(), None, now());
        merge_store_list(&mut img, IMPORTING_TO_STORES, &[], false);
        assert_eq!(img.properties[IMPORTING_TO_STORES], "");
        img.properties.insert(FAILED_IMPORT.into(), "b,a,".into());
        merge_store_list(&mut img, FAILED_IMPORT, &[], false);
        assert_eq!(img.properties[FAILED_IMPORT], "a,b");
        img.properties.insert(LOCK.into(), "t1".into());
        assert!(!drop_lock(&mut img, "t2"));
        assert!(drop_lock(&mut img, "t1"));
        assert!(!img.properties.contains_key(LOCK));
    }
}
