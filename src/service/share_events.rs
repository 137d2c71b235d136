//! The sharing history (`GET /v2/glint/share-events`): recording an event in the transaction of
//! the change, reading the events a caller may read, and the retention sweep.

use crate::app::AppState;
use crate::db::{self, share_events::Event, DbConn};
use crate::domain::context::RequestContext;
use crate::domain::id::ImageId;
use crate::domain::image::Image;
use crate::domain::member::{Member, MemberStatus};
use crate::domain::share_event::{self, Action, EventQuery, NewEvent, Reader, Via};
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

/// The image is being deleted by `ctx` at `at`, its member rows with it: one `member.delete`
/// event per live member (`via: image_delete`), in the delete's transaction. Returns those
/// members (none with the extensions off), each told after the commit
/// (`image.member.image_deleted`).
pub(crate) fn image_deleted(
    conn: &mut DbConn,
    state: &AppState,
    ctx: &RequestContext,
    image: &Image,
    at: chrono::NaiveDateTime,
) -> Result<Vec<Member>, Error> {
    if !state.config.sharing.enabled {
        return Ok(Vec::new());
    }
    let id = ImageId::from_path(image.id.as_str());
    let members = db::members::list(conn, &id)?;
    if members.is_empty() {
        return Ok(members);
    }
    let mut ext = db::member_ext::of_image(conn, id.as_str())?;
    for m in &members {
        let e = ext.remove(&m.member_id).unwrap_or_default();
        db::share_events::record(
            conn,
            &NewEvent::new(
                Some(ctx),
                at,
                Action::Delete,
                Via::ImageDelete,
                id.as_str(),
                image.owner.as_deref(),
                &m.member_id,
                Some(share_event::state(m.status, &e)),
                None,
            ),
        )?;
    }
    Ok(members)
}

/// How many live members of the image accepted it and still have access at `now` (not
/// expired): what
/// deletion protection counts.
pub(crate) fn accepted_members(
    conn: &mut DbConn,
    id: &ImageId,
    now: chrono::NaiveDateTime,
) -> Result<usize, Error> {
    let members = db::members::list(conn, id)?;
    let ext = db::member_ext::of_image(conn, id.as_str())?;
    Ok(members
        .iter()
        .filter(|m| m.status == MemberStatus::Accepted)
        .filter(|m| !ext.get(&m.member_id).is_some_and(|e| e.expired(now)))
        .count())
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
        .and_then(|k| chrono::Utc::now().naive_utc().checked_sub_signed(k))
    else {
        return Ok(0);
    };
    state
        .write(move |c| Ok(db::share_events::purge_before(c, cutoff, BATCH)?))
        .await
}
