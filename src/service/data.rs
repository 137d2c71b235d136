//! Image data: upload (queued -> saving -> active) and download.

use bytes::Bytes;
use futures_util::Stream;

use super::access::load_visible;
use super::images::now;
use super::transfer::{self, holds, receive, record_received, OnAbandon};
use crate::app::AppState;
use crate::db;
use crate::domain::context::RequestContext;
use crate::domain::id::ImageId;
use crate::domain::image::ImageStatus;
use crate::error::{Error, Msg};
use crate::store::StoreError;

/// `declared_size` is the request's `Content-Length`, if any; `store` the named backend the
/// data goes to (multi-store mode's `X-Image-Meta-Store`, checked by the caller), else the
/// default one.
pub async fn upload<S, E>(
    state: &AppState,
    ctx: RequestContext,
    id: ImageId,
    store: Option<String>,
    declared_size: Option<u64>,
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
    let (disk_format, saving) = state
        .write(move |c| {
            let msg = format!("No image found with ID {claim_id}");
            let v = load_visible(c, &st, &claim_ctx, &claim_id, &msg, true)?;
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
            Ok((inspect_as, db::images::get(c, &claim_id)?))
        })
        .await?;
    // Glance: the save to `saving`, then `set_data` announces itself.
    let store = store.or_else(|| state.config.backend_id().map(str::to_owned));
    let backend = store.as_deref();
    let target = state.target_store(backend);
    if let Some(img) = &saving {
        state.notifier.image("image.update", img);
    }
    // Glance checks `image_count_uploading` once the image counts as uploading, and restores it
    // to queued when that is over the limit.
    if let Err(e) = super::quotas::enforce_uploading(state, &ctx).await {
        transfer::requeue(state, &id, ImageStatus::Saving).await;
        return Err(e);
    }
    if let Some(img) = &saving {
        state
            .notifier
            .image_with_import("image.prepare", img, backend);
    }

    // Glance finds a body over `image_size_cap` while reading it, after the save to `saving` and
    // `image.prepare`; glint knows it from `Content-Length` and fails at that same point, with
    // Glance's events, but without reading the body.
    if let Some(e) = transfer::over_cap(state, declared_size) {
        state.notifier.upload_failed(&upload_failure_text(&id, &e));
        transfer::requeue(state, &id, ImageStatus::Saving).await;
        return Err(transfer::store_error(e));
    }

    // Glance's legacy storage quota (`user_storage_quota`), checked by the same `set_data`: a
    // declared size must fit what the caller's project has left (and the body is read no
    // further); a body of unknown size is refused now only when nothing is left, else read
    // whole (up to `image_size_cap`) and checked once its size is known, as Glance does.
    let room = match transfer::storage_room(state, ctx.project(), &id, declared_size).await {
        Ok(Ok(room)) => room,
        Ok(Err(e)) => {
            state.notifier.upload_failed(&upload_failure_text(&id, &e));
            transfer::requeue(state, &id, ImageStatus::Saving).await;
            return Err(transfer::store_error(e));
        }
        Err(e) => {
            transfer::requeue(state, &id, ImageStatus::Saving).await;
            return Err(e);
        }
    };

    // 2. Stream the bytes into the store (temp file, fsync, rename).
    let receiving = crate::metrics::InProgress::start(&crate::metrics::PROCESS.uploads_in_progress);
    let data = receive(
        state,
        target,
        &id,
        body,
        disk_format.as_deref(),
        declared_size,
        ImageStatus::Saving,
        room.filter(|_| declared_size.is_some()),
        on_abandon,
        |e| state.notifier.upload_failed(&upload_failure_text(&id, e)),
    )
    .await?;
    drop(receiving);
    // Once the size is known, the quota again (an unknown size, or another upload took the
    // room meanwhile); refused data is removed before the image goes back to `queued`.
    if room.is_some() {
        let refused = match transfer::storage_room(state, ctx.project(), &id, Some(data.size)).await
        {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => {
                state.notifier.upload_failed(&upload_failure_text(&id, &e));
                Some(transfer::store_error(e))
            }
            Err(e) => Some(e),
        };
        if let Some(e) = refused {
            if let Err(d) = target.delete(&id).await {
                tracing::error!(image_id = %id, error = %d, "data over the storage quota could not be removed");
            }
            transfer::requeue(state, &id, ImageStatus::Saving).await;
            return Err(e);
        }
    }
    crate::metrics::PROCESS
        .bytes_uploaded
        .fetch_add(data.size, std::sync::atomic::Ordering::Relaxed);

    // 3. Record the result, unless the image was deleted (or reset) meanwhile.
    let active = record_received(
        state,
        target,
        &id,
        ImageStatus::Saving,
        Some(store.clone()),
        move |new| holds(new, &data),
        || {
            Error::Gone(Msg::Explanation(format!(
                "Image {id} could not be found after upload. The image may have been deleted during the upload."
            )))
        },
    )
    .await?;
    let n = &state.notifier;
    n.image_with_import("image.upload", &active, None);
    n.image("image.activate", &active);
    n.image("image.update", &active);
    Ok(())
}

/// The text of Glance's `image.upload` error for a store failure (`ImageProxy.set_data`: one
/// wording per kind of failure, anything else "due to internal error").
pub fn upload_failure_text(id: &ImageId, e: &StoreError) -> String {
    match e {
        StoreError::StorageFull => format!("Image storage media is full: {e}"),
        StoreError::WriteDenied => {
            format!("Insufficient permissions on image storage media: {e}")
        }
        _ => format!("Failed to upload image data for image {id} due to internal error: {e}"),
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
    id: ImageId,
    range: Option<String>,
) -> Result<Download, Error> {
    let st = state.clone();
    let rid = id.clone();
    let receiver = (ctx.project_id.clone(), ctx.user_id.clone());
    let (image, locations, as_member) = state
        .read(move |conn| {
            let msg = format!("No image found with ID {rid}");
            let v = load_visible(conn, &st, &ctx, &rid, &msg, false)?;
            st.policy.enforce("download_image", &ctx, &v.target(&ctx))?;
            if v.image.status == ImageStatus::Deactivated && !ctx.is_admin() {
                return Err(Error::forbidden(
                    "The requested image has been deactivated. Image data download is forbidden.",
                ));
            }
            let locations = db::locations::recorded(conn, &rid)?;
            let as_member = v.caller_is_member(&ctx);
            Ok((v.image, locations, as_member))
        })
        .await?;
    // An http location added without hashes (`do_secure_hash` off, or still computing) has
    // data all the same: Glance reads any image with locations.
    let located = locations.as_ref().is_some_and(|l| !l.is_empty());
    if !(image.has_data() || located)
        || image.status != ImageStatus::Active && image.status != ImageStatus::Deactivated
    {
        return Ok(Download::NoData);
    }
    let total = image.size.unwrap_or(0).max(0) as u64;
    // The range is judged only once the caller may read the data (Glance's serializer does it last).
    let range = range.map(|r| parse_range(&r, total)).transpose()?;
    let body = match read_data(state, &id, &locations, range).await {
        Ok(body) => body,
        // Glance answers 204 when no location can be read (`glance_store.NotFound`).
        Err(StoreError::NotFound) => {
            tracing::warn!(image_id = %id, "no readable location for the image's data");
            return Ok(Download::NoData);
        }
        Err(StoreError::RangeNotSatisfiable { size }) => return Err(invalid_range(size)),
        // The http store's server is down (glance_store's `RemoteServiceUnavailable`).
        Err(StoreError::Unavailable(m)) => {
            tracing::warn!(image_id = %id, error = %m, "image data unavailable");
            return Err(Error::Unavailable(
                "Remote server where the image is present is unavailable.".into(),
            ));
        }
        Err(other) => return Err(Error::internal(format!("image store failure: {other}"))),
    };
    if let (true, Some(member)) = (as_member, &receiver.0) {
        super::share_downloads::downloaded(state, &image.id, member);
    }
    let expected = range.map_or(total, |(s, e)| e - s + 1);
    let checksum = image.checksum.clone();
    let body = announce_send(state.notifier.clone(), image, expected, receiver, body);
    Ok(Download::Data {
        total,
        range,
        checksum,
        body: Box::pin(body),
    })
}

/// The image's data, from the first of its live `locations` this process can read (Glance's
/// `ImageProxy.get_data`: each in turn, heaviest store first in multi-store mode, the last
/// failure if none; none at all is "not found"); an image without location rows (`None`:
/// stored by an older glint) is read from the image store by its id. A location naming a
/// backend is read by that backend; in multi-store mode one naming a store this process does
/// not have is skipped.
async fn read_data(
    state: &AppState,
    id: &ImageId,
    locations: &Option<Vec<db::locations::Location>>,
    range: Option<(u64, u64)>,
) -> Result<crate::store::DataStream, StoreError> {
    let Some(locations) = locations else {
        let (_, body) = state.store.get(id, range).await?;
        return Ok(body);
    };
    let mut ordered: Vec<&db::locations::Location> = locations.iter().collect();
    state.store.by_weight(&mut ordered, |l| l.store.as_deref());
    let multi = state.config.backend.is_some();
    let mut last = StoreError::NotFound;
    for loc in ordered {
        let theirs = loc.store.as_deref();
        let http = state.config.stores.http_backend.as_deref();
        if let Some(theirs) =
            theirs.filter(|t| multi && state.store.named(t).is_none() && http != Some(*t))
        {
            tracing::warn!(image_id = %id, store = theirs, "image location in a store glint does not have");
            continue;
        }
        match state.store.get_at(theirs, &loc.url, range).await {
            Ok((_, body)) => return Ok(body),
            Err(e @ StoreError::RangeNotSatisfiable { .. }) => return Err(e),
            Err(e) => {
                tracing::warn!(image_id = %id, location = %loc.url, error = %e, "cannot read image location");
                last = e;
            }
        }
    }
    Err(last)
}

/// `body`, followed by Glance's `image.send` once its last byte has gone out (a download cut
/// short by the client sends nothing, as Glance's generator is closed before its end).
fn announce_send(
    notifier: crate::notify::Notifier,
    image: crate::domain::image::Image,
    expected: u64,
    receiver: (Option<String>, Option<String>),
    body: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + Unpin + 'static,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    use futures_util::StreamExt;
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = sent.clone();
    let body = body.inspect(move |chunk| {
        if let Ok(b) = chunk {
            let n = b.len() as u64;
            counted.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            crate::metrics::PROCESS
                .bytes_downloaded
                .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let done = futures_util::stream::once(async move {
        let bytes = sent.load(std::sync::atomic::Ordering::Relaxed);
        let (project, user) = receiver;
        notifier.image_send(&image, bytes, expected, project.as_deref(), user.as_deref());
        None
    });
    body.map(Some).chain(done).filter_map(std::future::ready)
}

#[cfg(test)]
mod tests {
    use super::*;

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
