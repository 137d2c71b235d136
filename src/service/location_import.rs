//! The v2.17 locations API (`POST` and `GET /v2/images/{id}/locations`) and the
//! `location_import` task it starts, which runs as Glance's flow
//! (`glance/async_/flows/location_import.py`): the location is added through the store of its
//! URL (glint: the http store, which must size it), then, with `do_secure_hash`, the data is
//! read to compute `checksum` and `os_hash_value` and checked against `validation_data`.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use md5::{Digest, Md5};
use serde_json::{json, Value};

use super::access::load_visible;
use super::image_locations::ShownLocation;
use super::images::now;
use super::tasks;
use crate::app::AppState;
use crate::db;
use crate::domain::context::RequestContext;
use crate::domain::id::ImageId;
use crate::domain::image::{Image, ImageStatus};
use crate::domain::import::{drop_lock, LOCK};
use crate::domain::location_add::{check_hash, AddLocation};
use crate::domain::task::{Task, TaskStatus, LOCATION_IMPORT};
use crate::error::Error;
use crate::store::{HashAlgo, Hasher};

/// Glance's message for a `location_import` task that failed in its flow.
const TASK_FAILED: &str = "Task failed due to Internal Error";

/// How often a running hash calculation checks that its image is still there and still its own.
const CANCEL_CHECK: Duration = Duration::from_secs(1);

/// `POST /v2/images/{id}/locations` (v2.17), as Glance's `add_location`: the checks in
/// Glance's order, the image locked for a `location_import` task (202), and the task run
/// after the response.
pub async fn add(
    state: &AppState,
    ctx: RequestContext,
    request_id: Option<String>,
    id: ImageId,
    req: AddLocation,
) -> Result<(), Error> {
    let st = state.clone();
    let http_enabled = state.store.http().is_some();
    let image_id = id.clone();
    let (preempted, created) = state
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
            // Glance's `is_http_store_configured`: other callers than the service may add only
            // URLs of an enabled http store.
            let service = ctx.roles.iter().any(|r| r == "service");
            if !(service || http_enabled && req.url.starts_with("http")) {
                return Err(Error::forbidden(
                    "http store must be enabled to use location API by normal user.",
                ));
            }
            check_hash(&req.validation_data, &st.config.hashing_algorithm)?;
            let mut new = img.clone();
            let mut preempted = None;
            if let Some(other) = img.properties.get(LOCK).cloned() {
                preempted = super::import::enforce_import_lock(c, &st, &mut new, &other)?;
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
            new.properties.insert(LOCK.to_owned(), t.id.clone());
            new.updated_at = now();
            db::images::update(c, img, &new)?;
            db::tasks::insert(c, &t)?;
            Ok((preempted, t))
        })
        .await?;
    if let Some(old) = &preempted {
        state.notifier.task("task.failure", old);
    }
    state.notifier.task("task.create", &created);
    let st = state.clone();
    actix_web::rt::spawn(tracing::Instrument::in_current_span(async move {
        run(st, created, image_id).await
    }));
    Ok(())
}

/// What the task was asked to do.
struct Job {
    task_id: String,
    image_id: ImageId,
    url: String,
    /// `validation_data`, when given (`os_hash_algo` and `os_hash_value`).
    expected: Option<(String, String)>,
    /// The algorithm of `os_hash_value`: `validation_data`'s, else `hashing_algorithm`.
    algo: String,
}

/// How the task ended: success, or failure with the image put back as `revert` says.
enum Outcome {
    Success,
    Failure,
}

/// The task, from `pending` to its end. Every step that writes rechecks that the image still
/// holds this task's lock (a deleted image, or a lock taken over, ends the task).
async fn run(state: AppState, task: Task, image_id: ImageId) {
    let input = &task.input;
    let expected = match (
        input["validation_data"]["os_hash_algo"].as_str(),
        input["validation_data"]["os_hash_value"].as_str(),
    ) {
        (Some(a), Some(v)) => Some((a.to_owned(), v.to_owned())),
        _ => None,
    };
    let job = Job {
        task_id: task.id.clone(),
        image_id,
        url: input["loc_url"].as_str().unwrap_or_default().to_owned(),
        algo: expected
            .as_ref()
            .map_or(state.config.hashing_algorithm.clone(), |(a, _)| a.clone()),
        expected,
    };
    let st = state.clone();
    let tid = job.task_id.clone();
    match state.write(move |c| tasks::begin(c, &st, &tid)).await {
        Ok(Some(t)) => state.notifier.task("task.processing", &t),
        Ok(None) => return,
        Err(e) => {
            tracing::error!(task_id = %job.task_id, error = %e, "location_import could not start");
            return;
        }
    }
    let outcome = match steps(&state, &job).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(task_id = %job.task_id, image_id = %job.image_id, url = %job.url, error = %e, "location_import failed");
            Outcome::Failure
        }
    };
    let st = state.clone();
    let (tid, iid) = (job.task_id.clone(), job.image_id.clone());
    let ended = state
        .write(move |c| {
            if let Some(old) = db::images::get_for_update(c, &iid)? {
                let mut new = old.clone();
                if drop_lock(&mut new, &tid) {
                    new.updated_at = now();
                    db::images::update(c, &old, &new)?;
                }
            }
            match outcome {
                Outcome::Success => tasks::finish(
                    c,
                    &st,
                    &tid,
                    TaskStatus::Success,
                    json!({ "image_id": iid.to_string() }),
                    "",
                ),
                Outcome::Failure => {
                    tasks::finish(c, &st, &tid, TaskStatus::Failure, Value::Null, TASK_FAILED)
                }
            }
        })
        .await;
    match ended {
        Ok(Some(t)) => {
            let event = match t.status {
                TaskStatus::Success => "task.success",
                _ => "task.failure",
            };
            state.notifier.task(event, &t);
        }
        Ok(None) => {}
        Err(e) => {
            tracing::error!(task_id = %job.task_id, error = %e, "location_import could not end")
        }
    }
}

/// The flow's tasks in Glance's order for the options in force.
async fn steps(state: &AppState, job: &Job) -> Result<Outcome, String> {
    let Some(http) = state.store.http() else {
        return Err("no enabled store reads this location".into());
    };
    if !crate::store::http::is_http(&job.url) {
        return Err("no enabled store reads this location".into());
    }
    // _UpdateLocationTask: the URL must size as more than 0 bytes.
    let size = http.size(&job.url).await.map_err(|e| e.to_string())?;
    if size == 0 {
        return Err("Invalid location: the server gives no size".into());
    }
    let secure = state.config.do_secure_hash;
    let (job2, store_id) = (
        (job.url.clone(), job.expected.clone(), job.algo.clone()),
        state.config.stores.http_backend.clone(),
    );
    let added = update(state, job, move |c, img| {
        let (url, expected, algo) = &job2;
        let meta = match &store_id {
            Some(id) => json!({ "store": id }),
            None => json!({}),
        };
        let meta = crate::domain::pyjson::dumps(&meta, true).unwrap_or_else(|| "{}".into());
        let live = db::locations::live_rows(c, &img.id)?;
        if live
            .iter()
            .any(|l| &l.value == url && l.meta_data.as_deref() == Some(meta.as_str()))
        {
            return Ok(false);
        }
        db::locations::add_with_meta(c, &img.id, url, &meta, now())?;
        if img.size.is_none_or(|s| s == 0) {
            img.size = i64::try_from(size).ok();
        }
        match (secure, expected) {
            (true, Some(_)) => {
                img.status = ImageStatus::Importing;
                img.os_hash_algo = Some(algo.clone());
            }
            (true, None) => {
                img.status = ImageStatus::Active;
                img.os_hash_algo = Some(algo.clone());
            }
            (false, Some((a, v))) => {
                img.os_hash_algo = Some(a.clone());
                img.os_hash_value = Some(v.clone());
                img.status = ImageStatus::Active;
            }
            (false, None) => img.status = ImageStatus::Active,
        }
        Ok(true)
    })
    .await?;
    if added != Some(true) {
        return Err("the location could not be added".into());
    }
    if !secure {
        return Ok(Outcome::Success);
    }
    let hashed = hash(state, job, http).await;
    if let Err(e) = &hashed {
        tracing::warn!(image_id = %job.image_id, url = %job.url, error = %e, "hash calculation failed for the location's data");
    }
    let expected = job.expected.clone();
    let done = update(state, job, move |_, img| {
        match (&hashed, &expected) {
            (Ok((checksum, value)), Some((_, want))) if value == want => {
                img.checksum = Some(checksum.clone());
                img.os_hash_value = Some(value.clone());
                img.status = ImageStatus::Active;
                Ok(Outcome::Success)
            }
            // _VerifyValidationData or _CalculateHash failed on an importing image: back to
            // queued without hashes; the http location stays (glance_store cannot delete it).
            (_, Some(_)) => {
                img.status = ImageStatus::Queued;
                img.checksum = None;
                img.os_hash_algo = None;
                img.os_hash_value = None;
                Ok(Outcome::Failure)
            }
            (Ok((checksum, value)), None) => {
                img.checksum = Some(checksum.clone());
                img.os_hash_value = Some(value.clone());
                Ok(Outcome::Success)
            }
            // The image is active already: Glance only logs a warning.
            (Err(_), None) => Ok(Outcome::Success),
        }
    })
    .await?;
    done.ok_or_else(|| "the image was deleted or its lock taken".to_owned())
}

/// Applies `f` to the image under its row lock and saves it, if it still holds the task's
/// lock; `None` when it does not (deleted, or the lock taken over).
async fn update<T, F>(state: &AppState, job: &Job, f: F) -> Result<Option<T>, String>
where
    T: Send + 'static,
    F: FnOnce(&mut db::DbConn, &mut Image) -> Result<T, Error> + Send + 'static,
{
    let (iid, tid) = (job.image_id.clone(), job.task_id.clone());
    state
        .write(move |c| {
            let Some(old) = db::images::get_for_update(c, &iid)? else {
                return Ok(None);
            };
            if old.properties.get(LOCK) != Some(&tid) {
                return Ok(None);
            }
            let mut new = old.clone();
            let r = f(c, &mut new)?;
            if new != old {
                new.updated_at = now();
                db::images::update(c, &old, &new)?;
            }
            Ok(Some(r))
        })
        .await
        .map_err(|e| e.to_string())
}

/// _CalculateHash: MD5 and the algorithm's digest of the data at the URL, tried
/// `http_retries` times; stops when the image is deleted or its lock is gone.
async fn hash(
    state: &AppState,
    job: &Job,
    http: &crate::store::HttpStore,
) -> Result<(String, String), String> {
    let mut last = String::new();
    for attempt in 1..=state.config.http_retries.max(1) {
        match hash_once(state, job, http).await {
            Ok(r) => return Ok(r),
            Err(HashError::Canceled) => return Err("canceled".into()),
            Err(HashError::Failed(e)) => {
                tracing::debug!(attempt, error = %e, "hash calculation failed");
                last = e;
            }
        }
    }
    Err(last)
}

enum HashError {
    Canceled,
    Failed(String),
}

/// The digests of one algorithm name (`validation_data`'s: md5, sha1, sha256, sha512; or
/// `hashing_algorithm`'s).
enum LocHasher {
    Md5(Md5),
    Sha2(Hasher),
}

impl LocHasher {
    fn new(algo: &str) -> Result<Self, String> {
        if algo == "md5" {
            return Ok(LocHasher::Md5(Md5::new()));
        }
        algo.parse::<HashAlgo>()
            .map(|a| LocHasher::Sha2(Hasher::new(a)))
            .map_err(|e| e.to_string())
    }

    fn update(&mut self, b: &[u8]) {
        match self {
            LocHasher::Md5(h) => h.update(b),
            LocHasher::Sha2(h) => h.update(b),
        }
    }

    fn finish_hex(self) -> String {
        match self {
            LocHasher::Md5(h) => hex::encode(h.finalize()),
            LocHasher::Sha2(h) => h.finish_hex(),
        }
    }
}

async fn hash_once(
    state: &AppState,
    job: &Job,
    http: &crate::store::HttpStore,
) -> Result<(String, String), HashError> {
    let mut hasher = LocHasher::new(&job.algo).map_err(HashError::Failed)?;
    let mut md5 = Md5::new();
    let (_, mut body) = http
        .open(&job.url)
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?;
    let mut checked = Instant::now();
    let cap = state.config.image_size_cap;
    let mut read = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| HashError::Failed(e.to_string()))?;
        read = read.saturating_add(chunk.len() as u64);
        if read > cap {
            return Err(HashError::Failed(format!(
                "the data is larger than image_size_cap ({cap})"
            )));
        }
        md5.update(&chunk);
        hasher.update(&chunk);
        if checked.elapsed() >= CANCEL_CHECK {
            checked = Instant::now();
            if !still_ours(state, job).await {
                return Err(HashError::Canceled);
            }
        }
    }
    Ok((hex::encode(md5.finalize()), hasher.finish_hex()))
}

/// Whether the image still exists and holds the task's lock (Glance's cancellation tracker:
/// deleting the image cancels its hash calculation).
async fn still_ours(state: &AppState, job: &Job) -> bool {
    let (iid, tid) = (job.image_id.clone(), job.task_id.clone());
    state
        .read(move |c| {
            Ok(db::images::get(c, &iid)?.is_some_and(|i| i.properties.get(LOCK) == Some(&tid)))
        })
        .await
        .unwrap_or(true)
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
