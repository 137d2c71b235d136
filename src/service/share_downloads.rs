//! `os_glint.last_download_at`: when a member project last downloaded a shared image, for the
//! owner deciding whether a share is still used and for the member. A download must not become
//! a write: each share is written at most once a minute per process (`Throttles::downloads`),
//! and the database keeps a second process from writing within the same minute; the write runs
//! after the download was allowed, off the request's path.

use std::time::Duration;

use crate::app::AppState;
use crate::db;
use crate::domain::id::ImageId;

/// Writes of one share's `last_download_at` are at least this far apart.
pub const EVERY: Duration = Duration::from_secs(60);

/// `member` (not the owner) was allowed to download image `image_id`.
pub fn downloaded(state: &AppState, image_id: &str, member: &str) {
    if !state.config.sharing.enabled {
        return;
    }
    let key = format!("{image_id}\n{member}");
    if !state.throttles.downloads.due(&key) {
        return;
    }
    let (st, image, member) = (state.clone(), image_id.to_owned(), member.to_owned());
    actix_web::rt::spawn(async move {
        let at = chrono::Utc::now().naive_utc();
        let since = at - chrono::Duration::from_std(EVERY).unwrap_or_default();
        let (i, m) = (image.clone(), member.clone());
        let written = st
            .write(move |c| {
                // The share may have gone since the download started: nothing to note then.
                if db::members::get(c, &ImageId::from_path(&i), &m)?.is_some() {
                    db::member_ext::downloaded(c, &i, &m, at, since)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = written {
            st.throttles.downloads.forget(&key);
            tracing::warn!(image_id = %image, member = %member, error = %e,
                "cannot record a share's last download");
        }
    });
}
