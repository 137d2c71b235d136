//! `glint_share_events`: the sharing history (`domain::share_event`), append-only. Rows are
//! written in the transaction of the change they record and removed only after
//! `[glint_sharing] history_retention`; no foreign keys, so they outlive members and images.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::connection::DbConn;
use super::error::DbError;
use super::timestamp::{DbTime, Ts};
use crate::domain::share_event::{EventQuery, NewEvent, Reader};

diesel::table! {
    glint_share_events (id) {
        id -> BigInt,
        at -> Timestamp,
        action -> Text,
        via -> Text,
        image_id -> Text,
        owner -> Nullable<Text>,
        member -> Text,
        actor_user -> Nullable<Text>,
        actor_project -> Nullable<Text>,
        request_id -> Nullable<Text>,
        from_state -> Nullable<Text>,
        to_state -> Nullable<Text>,
    }
}

use glint_share_events as e;

/// One recorded event, as read back.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = glint_share_events)]
pub struct Event {
    pub id: i64,
    #[diesel(deserialize_as = Ts)]
    pub at: NaiveDateTime,
    pub action: String,
    pub via: String,
    pub image_id: String,
    pub owner: Option<String>,
    pub member: String,
    pub actor_user: Option<String>,
    pub actor_project: Option<String>,
    pub request_id: Option<String>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
}

impl Event {
    /// The image the event is about; none for a trust-policy change.
    pub fn image(&self) -> Option<&str> {
        Some(self.image_id.as_str()).filter(|i| *i != crate::domain::share_event::NO_IMAGE)
    }
}

pub fn record(conn: &mut DbConn, ev: &NewEvent) -> Result<(), DbError> {
    let text = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
    diesel::insert_into(e::table)
        .values((
            e::at.eq(DbTime(ev.at)),
            e::action.eq(ev.action.as_str()),
            e::via.eq(ev.via.as_str()),
            e::image_id.eq(&ev.image_id),
            e::owner.eq(ev.owner.as_deref()),
            e::member.eq(&ev.member_id),
            e::actor_user.eq(ev.actor_user.as_deref()),
            e::actor_project.eq(ev.actor_project.as_deref()),
            e::request_id.eq(ev.request_id.as_deref()),
            e::from_state.eq(text(&ev.from)),
            e::to_state.eq(text(&ev.to)),
        ))
        .execute(conn)?;
    Ok(())
}

/// One page of the events `reader` may read that match `q`, oldest first, after `q.marker`.
pub fn page(conn: &mut DbConn, reader: &Reader, q: &EventQuery) -> Result<Vec<Event>, DbError> {
    let mut s = e::table.select(Event::as_select()).into_boxed();
    if let Reader::Project(p) = reader {
        s = s.filter(e::owner.eq(p.clone()).or(e::member.eq(p.clone())));
    }
    if let Some(i) = &q.image_id {
        s = s.filter(e::image_id.eq(i.clone()));
    }
    if let Some(m) = &q.member_id {
        s = s.filter(e::member.eq(m.clone()));
    }
    if let Some(since) = q.since {
        s = s.filter(e::at.ge(DbTime(since)));
    }
    if let Some(after) = q.marker {
        s = s.filter(e::id.gt(after));
    }
    Ok(s.order(e::id.asc()).limit(q.limit).load(conn)?)
}

/// Remove events recorded before `cutoff`, at most `limit`; returns how many went.
pub fn purge_before(
    conn: &mut DbConn,
    cutoff: NaiveDateTime,
    limit: i64,
) -> Result<usize, DbError> {
    let ids: Vec<i64> = e::table
        .filter(e::at.lt(DbTime(cutoff)))
        .order(e::id.asc())
        .select(e::id)
        .limit(limit)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(e::table.filter(e::id.eq_any(ids))).execute(conn)?)
}
