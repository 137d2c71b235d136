//! What every data transfer into a store shares (an upload into the image store, a stage into
//! the staging area, an import's copy): receiving the body with a stall timeout while a heartbeat
//! keeps the image alive, putting the image back to `queued` when the transfer fails or is
//! abandoned, recording the received data, and Glance's answers for store failures.

use bytes::Bytes;
use futures_util::Stream;

use super::access::authorize_on_image;
use super::images::now;
use super::upload_slots::UploadSlot;
use crate::app::AppState;
use crate::db::{self, DbConn};
use crate::domain::context::RequestContext;
use crate::domain::id::ImageId;
use crate::domain::image::{Image, ImageStatus};
use crate::error::{Error, Msg};
use crate::store::{Store, StoreError, StoredData};

/// What to do once a transfer abandoned mid-body (its future dropped) has been cleaned up: e.g.
/// answer the client on its raw connection (`api::body::late_answer`).
pub type OnAbandon =
    Box<dyn FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send>;

/// The image now holds `data`: its size, checksums and hash, and `active`.
pub(crate) fn holds(image: &mut Image, data: &StoredData) {
    image.size = Some(data.size as i64);
    image.virtual_size = data.virtual_size.map(|v| v as i64);
    image.checksum = Some(data.checksum.clone());
    image.os_hash_algo = Some(data.hash_algo.clone());
    image.os_hash_value = Some(data.hash_value.clone());
    image.status = ImageStatus::Active;
}

/// Records, in the transaction that activates the image, where its data now is: the location
/// row of `store` (a named backend in multi-store mode, `None` for the single store) as Glance
/// writes it (`db::locations`), so that Glance can serve it.
pub(crate) fn add_location(
    conn: &mut DbConn,
    state: &AppState,
    id: &ImageId,
    store: Option<&str>,
    at: chrono::NaiveDateTime,
) -> Result<(), Error> {
    let target = state.target_store(store);
    db::locations::add(conn, id, &target.location(id), store, at)?;
    Ok(())
}

/// After `receive` (upload or stage): applies `change` to the image in one write transaction if
/// it is still in `expected`; with `located` (the data went to the image store: `Some(store id)`,
/// the id `None` for the single store) the image's location row is written in the same
/// transaction. If it is gone or has moved on (`gone`
/// gives the error), or the write fails, the received data is removed from `store`: nothing
/// unacknowledged stays behind.
pub(crate) async fn record_received(
    state: &AppState,
    store: &Store,
    id: &ImageId,
    expected: ImageStatus,
    located: Option<Option<String>>,
    change: impl FnOnce(&mut Image) + Send + 'static,
    gone: impl FnOnce() -> Error,
) -> Result<Image, Error> {
    let rid = id.to_owned();
    let st = state.clone();
    let recorded = state
        .write(move |c| {
            let Some(old) = db::images::get_for_update(c, &rid)? else {
                return Ok(None);
            };
            if old.status != expected {
                return Ok(None);
            }
            let mut new = old.clone();
            change(&mut new);
            new.updated_at = now();
            db::images::update(c, &old, &new)?;
            if let Some(target) = located {
                add_location(c, &st, &rid, target.as_deref(), new.updated_at)?;
            }
            Ok(Some(new))
        })
        .await;
    match recorded {
        Ok(Some(new)) => Ok(new),
        Ok(None) => {
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
/// returns the image from `status` to `queued`, then runs `on_abandon`. `on_failure` sees a
/// store failure before the image is requeued (an upload's `image.upload` error comes first).
/// `declared_size` (the `Content-Length`) is passed on to the store (see `Store::put`).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn receive<S, E>(
    state: &AppState,
    store: &Store,
    id: &ImageId,
    body: S,
    inspect_as: Option<&str>,
    declared_size: Option<u64>,
    status: ImageStatus,
    room: Option<u64>,
    on_abandon: Option<OnAbandon>,
    on_failure: impl FnOnce(&StoreError),
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
    let put = store.put(id, body, data_cap(state, room), inspect_as, declared_size);
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
            let e = over_room(state, room, e);
            on_failure(&e);
            requeue(state, id, status).await;
            guard.disarm();
            Err(store_error(e))
        }
    }
}

/// The image back from `status` (a transfer that failed) to `queued`, with Glance's
/// `image.update` for that save (`_restore`, `_unstage`).
pub(crate) async fn requeue(state: &AppState, id: &ImageId, status: ImageStatus) {
    let reset = set_status(state, id, status, ImageStatus::Queued).await;
    match reset {
        Ok(Some(img)) => state.notifier.image("image.update", &img),
        Ok(None) => {}
        Err(re) => {
            tracing::error!(image_id = %id, error = %re, "could not return image to queued after a failed transfer")
        }
    }
}

/// Moves the image from `from` to `to` in one write transaction; the image as saved, or
/// `None` when it was not in `from`.
pub(crate) async fn set_status(
    state: &AppState,
    id: &ImageId,
    from: ImageStatus,
    to: ImageStatus,
) -> Result<Option<Image>, Error> {
    let rid = id.to_owned();
    state
        .write(move |conn| {
            if !db::images::compare_and_set_status(conn, &rid, &[from], to, now())? {
                return Ok(None);
            }
            Ok(db::images::get(conn, &rid)?)
        })
        .await
}

/// Returns the image to `queued` if the transfer is abandoned (its future dropped) before it
/// finished; `disarm` once the transfer has an outcome of its own.
struct RequeueOnDrop {
    state: Option<AppState>,
    id: ImageId,
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
        let (id, status, then) = (self.id.clone(), self.status, self.then.take());
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
                    Err(crate::domain::limits::stalled(
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

/// Before the data of an upload (`rule` = `upload_image`) or a stage (`modify_image`) is read:
/// the caller sees the image (404) and may act on it (403), the declared size fits
/// `image_size_cap` (413) and the caller's project has a free upload place (413). The place is
/// held until the returned slot is dropped.
pub async fn admit_transfer(
    state: &AppState,
    ctx: &RequestContext,
    id: &ImageId,
    rule: &'static str,
    declared_size: Option<u64>,
) -> Result<UploadSlot, Error> {
    let not_found = format!("No image found with ID {id}");
    authorize_on_image(state, ctx, id, not_found, Some(rule)).await?;
    check_declared_size(state, declared_size)?;
    upload_slot(state, ctx)
}

/// A declared `Content-Length` over `image_size_cap` is refused (413) before a byte is read.
pub fn check_declared_size(state: &AppState, declared: Option<u64>) -> Result<(), Error> {
    over_cap(state, declared).map_or(Ok(()), |e| Err(store_error(e)))
}

/// The store's failure for a declared size over `image_size_cap`, if it is.
pub(crate) fn over_cap(state: &AppState, declared: Option<u64>) -> Option<StoreError> {
    let cap = state.config.image_size_cap;
    declared
        .filter(|n| *n > cap)
        .map(|_| StoreError::TooLarge { cap })
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
    id: &ImageId,
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

/// Glance's legacy per-owner storage quota (`user_storage_quota`; `api.common.check_quota`), the
/// one place it is decided: for data of `size` bytes (`None`: not known yet) written to image
/// `id` by `owner` (the caller's project), `Ok(None)` without a quota, `Ok(Some(room))` with
/// the bytes the data may take, `Err` when it does not fit. Called before the data is read and
/// again once its size is known. (With Keystone unified limits Glance skips it.)
pub(crate) async fn storage_room(
    state: &AppState,
    owner: Option<&str>,
    id: &ImageId,
    size: Option<u64>,
) -> Result<Result<Option<u64>, StoreError>, Error> {
    // As in Glance, Keystone's limits take precedence: with them the legacy quota is a no-op.
    let quota = match state.config.data_rules.user_storage_quota {
        Some(q) if state.config.keystone_limits.is_none() => q,
        _ => return Ok(Ok(None)),
    };
    let (owner, except) = (owner.map(str::to_owned), id.to_string());
    let usage = state
        .read(move |c| Ok(db::locations::owner_usage(c, owner.as_deref(), &except)?))
        .await?;
    Ok(
        match crate::domain::quota::check_storage(quota, usage, size) {
            Ok(room) => Ok(Some(room)),
            Err(full) => {
                tracing::warn!(image_id = %id, error = %full, "data refused: it exceeds the storage quota");
                Err(StoreError::QuotaFull(full))
            }
        },
    )
}

/// The most bytes a transfer may bring: `image_size_cap`, or less when the storage quota
/// leaves less `room`.
pub(crate) fn data_cap(state: &AppState, room: Option<u64>) -> u64 {
    let cap = state.config.image_size_cap;
    room.map_or(cap, |r| r.min(cap))
}

/// A store's `TooLarge` for a transfer capped by [`data_cap`]: the quota's refusal when the
/// quota was the tighter limit (Glance's quota reader sits inside the size-cap reader, so it
/// fires first), raised while reading, hence unformatted. Only a body longer than its declared
/// size could meet it: the room caps only transfers of declared size.
pub(crate) fn over_room(state: &AppState, room: Option<u64>, e: StoreError) -> StoreError {
    match e {
        StoreError::TooLarge { .. } if room.is_some_and(|r| r <= state.config.image_size_cap) => {
            StoreError::QuotaFull(crate::domain::quota::StorageQuotaFull {
                size: None,
                remaining: None,
            })
        }
        other => other,
    }
}

/// Glance's answers for store failures during upload.
pub(crate) fn store_error(e: StoreError) -> Error {
    match e {
        StoreError::TooLarge { .. } => {
            Error::too_large(format!("The incoming image is too large: {e}"))
        }
        StoreError::QuotaFull(full) => {
            Error::too_large(format!("Image exceeds the storage quota: {full}"))
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
