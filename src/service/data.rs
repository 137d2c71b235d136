//! Image data: upload (queued -> saving -> active) and download.

use bytes::Bytes;
use futures_util::Stream;

use super::access::load_visible;
use super::images::now;
use crate::app::AppState;
use crate::db;
use crate::domain::context::RequestContext;
use crate::domain::image::{Image, ImageStatus};
use crate::error::{Error, Msg};
use crate::store::{FsStore, StoreError, StoredData};

/// What to do once a transfer abandoned mid-body (its future dropped) has been cleaned up: e.g.
/// answer the client on its raw connection (`api::body::late_answer`).
pub type OnAbandon =
    Box<dyn FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send>;

pub async fn upload<S, E>(
    state: &AppState,
    ctx: RequestContext,
    id: String,
    body: S,
    on_abandon: Option<OnAbandon>,
) -> Result<(), Error>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    // 1. Claim the image: queued -> saving, atomically, so two uploads cannot interleave.
    let st = state.clone();
    let (claim_ctx, claim_id) = (ctx.clone(), id.clone());
    let disk_format = state
        .write(move |c| {
            let msg = format!("No image found with ID {claim_id}");
            let v = load_visible(c, &st.policy, &claim_ctx, &claim_id, &msg, true)?;
            st.policy
                .enforce("upload_image", &claim_ctx, &v.target(&claim_ctx))?;
            let img = v.image;
            let missing: Vec<&str> = [
                ("disk_format", img.disk_format.is_none()),
                ("container_format", img.container_format.is_none()),
            ]
            .iter()
            .filter(|(_, m)| *m)
            .map(|(n, _)| *n)
            .collect();
            match missing.as_slice() {
                [] => {}
                [one] => {
                    return Err(Error::bad_request(format!(
                        "Property {one} must be set prior to saving data."
                    )))
                }
                many => {
                    return Err(Error::bad_request(format!(
                        "Properties {} must be set prior to saving data.",
                        many.join(", ")
                    )))
                }
            }
            img.status.transition(ImageStatus::Saving)?;
            db::images::compare_and_set_status(
                c,
                &claim_id,
                &[img.status],
                ImageStatus::Saving,
                now(),
            )?;
            // Glance inspects the bytes only for bare containers.
            let inspect_as = match img.container_format.as_deref() {
                Some("bare") => img.disk_format,
                _ => None,
            };
            Ok(inspect_as)
        })
        .await?;

    // 2. Stream the bytes into the store (temp file, fsync, rename).
    let data = receive(
        state,
        &state.store,
        &id,
        body,
        disk_format.as_deref(),
        ImageStatus::Saving,
        on_abandon,
    )
    .await?;

    // 3. Record the result, unless the image was deleted (or reset) meanwhile.
    record_received(
        state,
        &state.store,
        &id,
        ImageStatus::Saving,
        move |new| holds(new, &data),
        || {
            Error::Gone(Msg::Explanation(format!(
                "Image {id} could not be found after upload. The image may have been deleted during the upload."
            )))
        },
    )
    .await
}

/// The image now holds `data`: its size, checksums and hash, and `active`.
pub(crate) fn holds(image: &mut Image, data: &StoredData) {
    image.size = Some(data.size as i64);
    image.virtual_size = data.virtual_size.map(|v| v as i64);
    image.checksum = Some(data.checksum.clone());
    image.os_hash_algo = Some(data.hash_algo.clone());
    image.os_hash_value = Some(data.hash_value.clone());
    image.status = ImageStatus::Active;
}

/// After `receive` (upload or stage): applies `change` to the image in one write transaction if
/// it is still in `expected`. If it is gone or has moved on (`gone` gives the error), or the
/// write fails, the received data is removed from `store`: nothing unacknowledged stays behind.
pub(crate) async fn record_received(
    state: &AppState,
    store: &FsStore,
    id: &str,
    expected: ImageStatus,
    change: impl FnOnce(&mut Image) + Send + 'static,
    gone: impl FnOnce() -> Error,
) -> Result<(), Error> {
    let rid = id.to_owned();
    let recorded = state
        .write(move |c| {
            let Some(old) = db::images::get_for_update(c, &rid)? else {
                return Ok(false);
            };
            if old.status != expected {
                return Ok(false);
            }
            let mut new = old.clone();
            change(&mut new);
            new.updated_at = now();
            db::images::update(c, &old, &new)?;
            Ok(true)
        })
        .await;
    match recorded {
        Ok(true) => Ok(()),
        Ok(false) => {
            let _ = store.delete(id).await;
            Err(gone())
        }
        Err(e) => {
            let _ = store.delete(id).await;
            Err(e)
        }
    }
}

/// Streams a request body into `store` (upload: the image store; stage: the staging area) while
/// the heartbeat keeps the image, in `status`, alive for the recovery sweep of every process. On
/// failure (bad framing, client gone, size cap, stall, store error) the image goes back to
/// `queued` before the error is returned (the store leaves nothing behind) and the store's error
/// becomes Glance's answer. If this future is dropped instead (the connection went away and took
/// the request with it), the image is returned to `queued` at once all the same.
/// Receives a transfer's data into `store`; a transfer abandoned mid-body (its future dropped)
/// returns the image from `status` to `queued`, then runs `on_abandon`.
pub(crate) async fn receive<S, E>(
    state: &AppState,
    store: &FsStore,
    id: &str,
    body: S,
    inspect_as: Option<&str>,
    status: ImageStatus,
    on_abandon: Option<OnAbandon>,
) -> Result<StoredData, Error>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut guard = RequeueOnDrop {
        state: Some(state.clone()),
        id: id.to_owned(),
        status,
        then: on_abandon,
    };
    let body = with_stall_timeout(body, state.config.transport.upload_stall_timeout);
    let put = store.put(id, body, state.config.image_size_cap, inspect_as);
    let stored = tokio::select! {
        r = put => r,
        () = heartbeat(state, id, status, None) => unreachable!("heartbeat never ends"),
    };
    match stored {
        Ok(data) => {
            guard.disarm();
            Ok(data)
        }
        Err(e) => {
            requeue(state, id, status).await;
            guard.disarm();
            Err(store_error(e))
        }
    }
}

/// The image back from `status` (a transfer that failed) to `queued`.
async fn requeue(state: &AppState, id: &str, status: ImageStatus) {
    let rid = id.to_owned();
    let reset = state
        .write(move |conn| {
            Ok(db::images::compare_and_set_status(
                conn,
                &rid,
                &[status],
                ImageStatus::Queued,
                now(),
            )?)
        })
        .await;
    if let Err(re) = reset {
        tracing::error!(image_id = %id, error = %re, "could not return image to queued after a failed transfer");
    }
}

/// Returns the image to `queued` if the transfer is abandoned (its future dropped) before it
/// finished; `disarm` once the transfer has an outcome of its own.
struct RequeueOnDrop {
    state: Option<AppState>,
    id: String,
    status: ImageStatus,
    /// Run after the image is `queued` again.
    then: Option<OnAbandon>,
}

impl RequeueOnDrop {
    fn disarm(&mut self) {
        self.state = None;
        self.then = None;
    }
}

impl Drop for RequeueOnDrop {
    fn drop(&mut self) {
        let Some(state) = self.state.take() else {
            return;
        };
        let (id, status, then) = (std::mem::take(&mut self.id), self.status, self.then.take());
        tracing::warn!(image_id = %id, "transfer abandoned mid-body (connection error or malformed framing): image returned to 'queued'");
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    requeue(&state, &id, status).await;
                    if let Some(then) = then {
                        then().await;
                    }
                });
            }
            // No runtime (shutting down): the recovery sweep of the next start takes over.
            Err(_) => tracing::warn!(image_id = %id, "no runtime to requeue the image"),
        }
    }
}

/// `body`, ended by an error when no byte arrives for `stall` (`upload_stall_timeout`).
pub(crate) fn with_stall_timeout<S, E>(
    body: S,
    stall: std::time::Duration,
) -> impl Stream<Item = Result<Bytes, String>> + Unpin
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    use futures_util::StreamExt;
    Box::pin(futures_util::stream::unfold(
        Some(body),
        move |body| async move {
            let mut body = body?;
            match tokio::time::timeout(stall, body.next()).await {
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(body))),
                Ok(Some(Err(e))) => Some((Err(e.to_string()), None)),
                Ok(None) => None,
                Err(_) => Some((
                    Err(crate::api::body::stalled(
                        "Image data",
                        stall,
                        "upload_stall_timeout",
                    )),
                    None,
                )),
            }
        },
    ))
}

/// The data uploads and stages in progress, per project, in this process
/// (`max_concurrent_uploads_per_project`).
#[derive(Debug)]
pub struct UploadSlots {
    limit: usize,
    in_progress: std::sync::Mutex<std::collections::HashMap<String, usize>>,
}

/// One upload's place in [`UploadSlots`]; dropping it frees the place.
#[derive(Debug)]
pub struct UploadSlot {
    slots: std::sync::Arc<UploadSlots>,
    project: String,
}

impl UploadSlots {
    pub fn new(limit: usize) -> Self {
        UploadSlots {
            limit,
            in_progress: Default::default(),
        }
    }

    /// A place for one more upload of `project`, or 413 naming the limit.
    pub fn acquire(self: &std::sync::Arc<Self>, project: &str) -> Result<UploadSlot, Error> {
        let mut map = self
            .in_progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = map.entry(project.to_owned()).or_insert(0);
        if *n >= self.limit {
            return Err(Error::too_large(format!(
                "Project {project} already has {n} image uploads in progress: \
                 max_concurrent_uploads_per_project is {}. Retry when one has finished.",
                self.limit
            )));
        }
        *n += 1;
        Ok(UploadSlot {
            slots: self.clone(),
            project: project.to_owned(),
        })
    }

    /// Uploads of `project` in progress.
    pub fn in_progress(&self, project: &str) -> usize {
        self.in_progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(project)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut map = self
            .slots
            .in_progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.project) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.project);
            }
        }
    }
}

/// Before the data of an upload (`rule` = `upload_image`) or a stage (`modify_image`) is read:
/// the caller sees the image (404) and may act on it (403), the declared size fits
/// `image_size_cap` (413) and the caller's project has a free upload place (413). The place is
/// held until the returned slot is dropped.
pub async fn admit_transfer(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
    rule: &'static str,
    declared_size: Option<u64>,
) -> Result<UploadSlot, Error> {
    let not_found = format!("No image found with ID {id}");
    super::access::authorize_on_image(state, ctx, id, not_found, Some(rule)).await?;
    check_declared_size(state, declared_size)?;
    upload_slot(state, ctx)
}

/// A declared `Content-Length` over `image_size_cap` is refused (413) before a byte is read.
pub fn check_declared_size(state: &AppState, declared: Option<u64>) -> Result<(), Error> {
    let cap = state.config.image_size_cap;
    match declared {
        Some(n) if n > cap => Err(store_error(StoreError::TooLarge { cap })),
        _ => Ok(()),
    }
}

/// A place for one more data transfer (upload or stage) of the caller's project.
pub fn upload_slot(state: &AppState, ctx: &RequestContext) -> Result<UploadSlot, Error> {
    state
        .uploads
        .acquire(ctx.project_id.as_deref().unwrap_or_default())
}

/// Marks a transfer in progress as alive: refreshes `updated_at` of the image (while it is still in
/// `status`) and of its task, every heartbeat period, forever. Run it beside the transfer with
/// `select!`; the recovery sweep takes an image silent for `upload_stale_timeout` as dead.
pub(crate) async fn heartbeat(
    state: &AppState,
    id: &str,
    status: ImageStatus,
    task_id: Option<&str>,
) {
    let period = heartbeat_period(&state.config);
    loop {
        tokio::time::sleep(period).await;
        let (id, task_id) = (id.to_owned(), task_id.map(str::to_owned));
        let r = state
            .write(move |conn| {
                db::images::compare_and_set_status(conn, &id, &[status], status, now())?;
                if let Some(t) = task_id {
                    db::tasks::touch(conn, &t, now())?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "heartbeat failed");
        }
    }
}

/// An upload silent for `upload_stale_timeout` is taken as dead by the recovery sweep.
pub fn stale_after(config: &crate::config::Config) -> std::time::Duration {
    std::time::Duration::from_secs(config.upload_stale_timeout)
}

/// How often an upload in progress marks its image as alive, and how often every process
/// sweeps: five times per staleness window, at most once a minute.
pub fn heartbeat_period(config: &crate::config::Config) -> std::time::Duration {
    (stale_after(config) / 5).clamp(
        std::time::Duration::from_millis(400),
        std::time::Duration::from_secs(60),
    )
}

/// Recover from uploads whose process died: images back to `queued`, temp files removed.
/// Safe to run from every process of a deployment at any time.
pub async fn recover_stale_uploads(state: &AppState) -> Result<Vec<String>, Error> {
    let stale = stale_after(&state.config);
    let reset = state
        .write(move |conn| {
            let now = now();
            let stale_before = now - chrono::Duration::from_std(stale).unwrap_or_default();
            Ok(db::images::reset_stale_saving(conn, stale_before, now)?)
        })
        .await?;
    if !reset.is_empty() {
        tracing::warn!(
            ?reset,
            "uploads interrupted by a dead process: images returned to 'queued'"
        );
    }
    let store = state.store.clone();
    match actix_web::web::block(move || store.sweep_temp_files(stale)).await {
        Ok(Ok(n)) if n > 0 => tracing::warn!(removed = n, "stale temporary upload files removed"),
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot sweep temporary upload files"),
        _ => {}
    }
    // Imports and stages (the interoperable import) recover the same way.
    if let Err(e) = super::import::recover(state).await {
        tracing::warn!(error = %e, "import recovery sweep failed");
    }
    Ok(reset)
}

/// Glance's answers for store failures during upload.
pub(crate) fn store_error(e: StoreError) -> Error {
    match e {
        StoreError::TooLarge { .. } => {
            Error::too_large(format!("The incoming image is too large: {e}"))
        }
        StoreError::StorageFull => Error::too_large(
            "Image storage media is full: There is not enough disk space on the image storage media.",
        ),
        StoreError::WriteDenied => Error::Unavailable(
            "Insufficient permissions on image storage media: Permission to write image storage media denied."
                .into(),
        ),
        StoreError::InvalidImageData(d) => Error::UnsupportedMediaType(Msg::Detail(d)),
        StoreError::Client(m) => Error::bad_request(format!("Error reading image data: {m}")),
        other => Error::internal(format!("image store failure: {other}")),
    }
}

/// What a download answers.
pub enum Download {
    /// The image never received data: 204.
    NoData,
    Data {
        total: u64,
        range: Option<(u64, u64)>,
        checksum: Option<String>,
        body: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>,
    },
}

fn invalid_range(total: u64) -> Error {
    Error::RangeNotSatisfiable(total, Msg::Detail("Invalid Range header.".into()))
}

/// Glance's reading of a `Range` header against the data length: one
/// `bytes=a-b`, `bytes=a-` or `bytes=-n` range; the end is clamped. Several
/// ranges are a 400; anything else unusable is a 416 with Glance's detail.
pub fn parse_range(raw: &str, total: u64) -> Result<(u64, u64), Error> {
    let spec = raw
        .trim()
        .strip_prefix("bytes=")
        .ok_or_else(|| invalid_range(total))?;
    if spec.contains(',') {
        return Err(Error::bad_request(
            "Requests with multiple ranges are not supported in Glance. You may make multiple \
             single-range requests instead.",
        ));
    }
    let (a, b) = spec.split_once('-').ok_or_else(|| invalid_range(total))?;
    let num = |s: &str| s.trim().parse::<u64>().map_err(|_| invalid_range(total));
    let (start, end) = match (a.trim(), b.trim()) {
        ("", "") => return Err(invalid_range(total)),
        ("", n) => (total.saturating_sub(num(n)?), u64::MAX),
        (s, "") => (num(s)?, u64::MAX),
        (s, e) => (num(s)?, num(e)?),
    };
    if end < start {
        return Err(invalid_range(total));
    }
    if start >= total {
        return Err(Error::RangeNotSatisfiable(
            total,
            Msg::Detail(format!(
                "Invalid start position in Range header. Start position MUST be in the \
                 inclusive range [0, {}].",
                total.saturating_sub(1)
            )),
        ));
    }
    Ok((start, end.min(total - 1)))
}

pub async fn download(
    state: &AppState,
    ctx: RequestContext,
    id: String,
    range: Option<String>,
) -> Result<Download, Error> {
    let st = state.clone();
    let rid = id.clone();
    let image = state
        .read(move |conn| {
            let msg = format!("No image found with ID {rid}");
            let v = load_visible(conn, &st.policy, &ctx, &rid, &msg, false)?;
            st.policy.enforce("download_image", &ctx, &v.target(&ctx))?;
            if v.image.status == ImageStatus::Deactivated && !ctx.is_admin() {
                return Err(Error::forbidden(
                    "The requested image has been deactivated. Image data download is forbidden.",
                ));
            }
            Ok(v.image)
        })
        .await?;
    if !image.has_data()
        || image.status != ImageStatus::Active && image.status != ImageStatus::Deactivated
    {
        return Ok(Download::NoData);
    }
    let total = image.size.unwrap_or(0).max(0) as u64;
    // The range is judged only once the caller may read the data (Glance's serializer does it last).
    let range = range.map(|r| parse_range(&r, total)).transpose()?;
    let (_, body) = state.store.get(&id, range).await.map_err(|e| match e {
        StoreError::NotFound => Error::not_found(format!("Image {id} data not found")),
        StoreError::RangeNotSatisfiable { size } => invalid_range(size),
        other => Error::internal(format!("image store failure: {other}")),
    })?;
    Ok(Download::Data {
        total,
        range,
        checksum: image.checksum,
        body: Box::pin(body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_slots_bound_each_project() {
        let slots = std::sync::Arc::new(UploadSlots::new(2));
        let a1 = slots.acquire("a").expect("first");
        let a2 = slots.acquire("a").expect("second");
        let refused = slots.acquire("a").expect_err("third");
        assert!(
            matches!(&refused, Error::PayloadTooLarge(Msg::Explanation(m))
                if m.contains("max_concurrent_uploads_per_project is 2")),
            "{refused:?}"
        );
        // Another project has its own places.
        let b = slots.acquire("b").expect("other project");
        assert_eq!((slots.in_progress("a"), slots.in_progress("b")), (2, 1));
        drop(a1);
        assert_eq!(slots.in_progress("a"), 1);
        let a3 = slots.acquire("a").expect("a place was freed");
        drop((a2, a3, b));
        assert_eq!((slots.in_progress("a"), slots.in_progress("b")), (0, 0));
        assert!(slots.in_progress.lock().expect("lock").is_empty());
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=10-19", 1024), Ok((10, 19)));
        assert_eq!(parse_range("bytes=1023-2000", 1024), Ok((1023, 1023)));
        assert_eq!(parse_range("bytes=-4", 1024), Ok((1020, 1023)));
        assert_eq!(parse_range("bytes=5-", 10), Ok((5, 9)));
        for bad in [
            "bytes=abc",
            "items=0-1",
            "bytes=20-10",
            "bytes=-",
            "bytes=1",
        ] {
            assert_eq!(parse_range(bad, 1024), Err(invalid_range(1024)), "{bad}");
        }
        assert!(matches!(
            parse_range("bytes=0-1,3-4", 1024),
            Err(Error::BadRequest(_))
        ));
        assert!(matches!(
            parse_range("bytes=2000-3000", 1024),
            Err(Error::RangeNotSatisfiable(1024, Msg::Detail(d))) if d.ends_with("[0, 1023].")
        ));
    }
}
