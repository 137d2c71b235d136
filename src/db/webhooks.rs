//! `glint_webhooks` and `glint_webhook_deliveries`: the sharing extensions' webhook
//! subscriptions (`domain::webhook`) and the log of each delivery attempt, removed with the
//! webhook.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::connection::DbConn;
use super::error::DbError;
use super::timestamp::{DbTime, Ts};

diesel::table! {
    glint_webhooks (id) {
        id -> Text,
        project_id -> Text,
        url -> Text,
        secret -> Text,
        events -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    glint_webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> Text,
        event_id -> Text,
        event_type -> Text,
        attempt -> Integer,
        at -> Timestamp,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        delivered -> Bool,
    }
}

use glint_webhook_deliveries as d;
use glint_webhooks as w;

/// A subscription. `events` is the comma-separated list of event names.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = glint_webhooks)]
pub struct Webhook {
    pub id: String,
    pub project_id: String,
    pub url: String,
    pub secret: String,
    pub events: String,
    #[diesel(deserialize_as = Ts)]
    pub created_at: NaiveDateTime,
}

/// One delivery attempt.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = glint_webhook_deliveries)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    pub attempt: i32,
    #[diesel(deserialize_as = Ts)]
    pub at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub delivered: bool,
}

pub fn insert(conn: &mut DbConn, h: &Webhook) -> Result<(), DbError> {
    diesel::insert_into(w::table)
        .values((
            w::id.eq(&h.id),
            w::project_id.eq(&h.project_id),
            w::url.eq(&h.url),
            w::secret.eq(&h.secret),
            w::events.eq(&h.events),
            w::created_at.eq(DbTime(h.created_at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The webhooks of `projects`, oldest first.
pub fn of_projects(conn: &mut DbConn, projects: &[&str]) -> Result<Vec<Webhook>, DbError> {
    let order = (w::created_at.asc(), w::id.asc());
    // One change's event names one or two projects (owner, member): for them, statements of a
    // fixed shape, which the connection prepares once. `IN` with a list is prepared anew each
    // time (it is not cacheable), and this lookup runs after every share change.
    Ok(match projects {
        [] => Vec::new(),
        [p] => w::table
            .filter(w::project_id.eq(*p))
            .order(order)
            .select(Webhook::as_select())
            .load(conn)?,
        [a, b] => w::table
            .filter(w::project_id.eq(*a).or(w::project_id.eq(*b)))
            .order(order)
            .select(Webhook::as_select())
            .load(conn)?,
        more => w::table
            .filter(w::project_id.eq_any(more))
            .order(order)
            .select(Webhook::as_select())
            .load(conn)?,
    })
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<Webhook>, DbError> {
    Ok(w::table
        .filter(w::id.eq(id))
        .select(Webhook::as_select())
        .first(conn)
        .optional()?)
}

/// Remove the webhook and its delivery log; false if there was none.
pub fn delete(conn: &mut DbConn, id: &str) -> Result<bool, DbError> {
    diesel::delete(d::table.filter(d::webhook_id.eq(id))).execute(conn)?;
    Ok(diesel::delete(w::table.filter(w::id.eq(id))).execute(conn)? > 0)
}

pub fn record(conn: &mut DbConn, r: &Delivery) -> Result<(), DbError> {
    diesel::insert_into(d::table)
        .values((
            d::webhook_id.eq(&r.webhook_id),
            d::event_id.eq(&r.event_id),
            d::event_type.eq(&r.event_type),
            d::attempt.eq(r.attempt),
            d::at.eq(DbTime(r.at)),
            d::status_code.eq(r.status_code),
            d::error.eq(r.error.as_deref()),
            d::delivered.eq(r.delivered),
        ))
        .execute(conn)?;
    Ok(())
}

/// Remove delivery attempts made before `cutoff`, among the `limit` oldest rows (by id, which
/// grows with time): each sweep's work is bounded by the primary key, not the log's size.
pub fn purge_before(
    conn: &mut DbConn,
    cutoff: NaiveDateTime,
    limit: i64,
) -> Result<usize, DbError> {
    let oldest: Vec<i64> = d::table
        .order(d::id.asc())
        .select(d::id)
        .limit(limit)
        .load(conn)?;
    let Some(last) = oldest.last() else {
        return Ok(0);
    };
    Ok(diesel::delete(
        d::table
            .filter(d::id.le(last))
            .filter(d::at.lt(DbTime(cutoff))),
    )
    .execute(conn)?)
}

/// The newest `limit` attempts of one webhook, oldest first.
pub fn deliveries(
    conn: &mut DbConn,
    webhook_id: &str,
    limit: i64,
) -> Result<Vec<Delivery>, DbError> {
    let mut rows: Vec<Delivery> = d::table
        .filter(d::webhook_id.eq(webhook_id))
        .order(d::id.desc())
        .limit(limit)
        .select(Delivery::as_select())
        .load(conn)?;
    rows.reverse();
    Ok(rows)
}
