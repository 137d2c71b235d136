//! The recovery sweep every glint process runs at start and each heartbeat period: transfers
//! whose process died (their heartbeat stopped for `upload_stale_timeout`) are ended. Uploads
//! and stages put their image back to `queued`; imports fail their task and drop their lock;
//! temporary and orphaned staging files are removed. Safe to run from every process of a
//! deployment at any time.

use std::time::Duration;

use serde_json::Value;

use super::images::now;
use super::tasks;
use super::transfer::stale_after;
use crate::app::AppState;
use crate::db;
use crate::domain::id::ImageId;
use crate::domain::image::ImageStatus;
use crate::domain::import::drop_lock;
use crate::domain::task::{self as task_domain, TaskStatus};
use crate::error::Error;

/// Recover from uploads whose process died: images back to `queued`, temp files removed.
/// Safe to run from every process of a deployment at any time.
pub async fn recover_stale_uploads(state: &AppState) -> Result<Vec<String>, Error> {
    let stale = stale_after(&state.config);
    // Copies first: their images are `saving` too, and are removed rather than requeued.
    if let Err(e) = super::image_copy::recover(state).await {
        tracing::warn!(error = %e, "copy recovery sweep failed");
    }
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
    // Only the file store writes temporary files; S3 aborts its own multipart uploads.
    if let Some(store) = state.store.file().cloned() {
        match actix_web::web::block(move || store.sweep_temp_files(stale)).await {
            Ok(Ok(n)) if n > 0 => {
                tracing::warn!(removed = n, "stale temporary upload files removed")
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot sweep temporary upload files"),
            _ => {}
        }
    }
    // Imports and stages (the interoperable import) recover the same way.
    if let Err(e) = recover_imports(state).await {
        tracing::warn!(error = %e, "import recovery sweep failed");
    }
    Ok(reset)
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
pub async fn recover_imports(state: &AppState) -> Result<Recovered, Error> {
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
                    if let Some(old) =
                        db::images::get_for_update(c, &ImageId::from_stored(iid.as_str()))?
                    {
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
                        &ImageId::from_stored(id.as_str()),
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
        let iid = ImageId::from_stored(name.as_str());
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
