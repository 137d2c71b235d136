//! When shares end now (sharing extensions): their own `expires_at`, and `pending_ttl` for offers
//! never answered. One computation for the image list, the inbox and its decisions.

use chrono::Timelike;

use crate::app::AppState;
use crate::db::inbox::Expiry;

/// The instant shares end now (`pending_ttl` included), in whole seconds as glint writes times.
pub(crate) fn expiry(state: &AppState) -> Expiry {
    let now = chrono::Utc::now().naive_utc();
    let now = now.with_nanosecond(0).unwrap_or(now);
    let pending_before = state
        .config
        .sharing
        .pending_ttl
        .and_then(|t| chrono::Duration::from_std(t).ok())
        .and_then(|t| now.checked_sub_signed(t));
    Expiry {
        now,
        pending_before,
    }
}
