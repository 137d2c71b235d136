//! The sharing history (`GET /v2/glint/share-events`): recording an event in the transaction of
//! the change, reading the events a caller may read, and the retention sweep.

use super::images::now;
use crate::app::AppState;
use crate::db::{self, share_events::Event, DbConn};
use crate::domain::context::RequestContext;
use crate::domain::share_event::{EventQuery, NewEvent, Reader};
use crate::error::Error;
use crate::policy::project_target;

/// Record `event` when the sharing extensions are on (off, nothing new is written).
pub(crate) fn record(
    conn: &mut DbConn,
    state: &AppState,
    event: impl FnOnce() -> NewEvent,
) -> Result<(), Error> {
    if state.config.sharing.enabled {
        db::share_events::record(conn, &event())?;
    }
    Ok(())
}

/// One page of the events the caller may read, and the next page's link.
pub async fn list(
    state: &AppState,
    ctx: RequestContext,
    q: EventQuery,
) -> Result<(Vec<Event>, Option<String>), Error> {
    state
        .policy
        .enforce("glint:get_share_events", &ctx, &project_target(&ctx))?;
    let Some(reader) = Reader::of(&ctx) else {
        return Err(Error::forbidden(
            "The sharing history is read per project: use a project-scoped token",
        ));
    };
    state
        .read(move |c| {
            let events = db::share_events::page(c, &reader, &q)?;
            let full = q.limit > 0 && events.len() as i64 == q.limit;
            let next = full
                .then(|| events.last().map(|e| q.next_link(e.id)))
                .flatten();
            Ok((events, next))
        })
        .await
}

/// Events removed per sweep.
const BATCH: i64 = 1000;

/// Remove events older than `[glint_sharing] history_retention`; returns how many went.
pub async fn purge(state: &AppState) -> Result<usize, Error> {
    let cfg = &state.config.sharing;
    let Some(keep) = cfg.history_retention.filter(|_| cfg.enabled) else {
        return Ok(0);
    };
    let Some(cutoff) = chrono::Duration::from_std(keep)
        .ok()
        .and_then(|k| now().checked_sub_signed(k))
    else {
        return Ok(0);
    };
    state
        .write(move |c| Ok(db::share_events::purge_before(c, cutoff, BATCH)?))
        .await
}
