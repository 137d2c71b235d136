//! Task rows (`tasks`) and their info (`task_info`), Glance's tables.
//!
//! Tasks live for `task_time_to_live` hours after they end, so the table stays
//! small: listing filters in SQL and sorts/pages in memory, which gives both
//! backends the same order (NULLs first ascending) without per-backend SQL.

use chrono::NaiveDateTime;

use super::timestamp::{DbTime, OptDbTime};
use diesel::prelude::*;
use serde_json::Value;

use super::connection::DbConn;
use super::error::DbError;
use crate::domain::id::ImageId;
use crate::domain::task::{Task, TaskStatus};

diesel::table! {
    tasks (id) {
        id -> Text,
        #[sql_name = "type"]
        task_type -> Text,
        status -> Text,
        owner -> Text,
        expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        deleted -> Bool,
        image_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
    }
}

diesel::table! {
    task_info (task_id) {
        task_id -> Text,
        input -> Nullable<Text>,
        result -> Nullable<Text>,
        message -> Nullable<Text>,
    }
}

diesel::joinable!(task_info -> tasks (task_id));
diesel::allow_tables_to_appear_in_same_query!(tasks, task_info);

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tasks)]
struct TaskRow {
    id: String,
    task_type: String,
    status: String,
    owner: String,
    #[diesel(serialize_as = OptDbTime)]
    expires_at: Option<NaiveDateTime>,
    #[diesel(serialize_as = DbTime)]
    created_at: NaiveDateTime,
    #[diesel(serialize_as = OptDbTime)]
    updated_at: Option<NaiveDateTime>,
    #[diesel(serialize_as = OptDbTime)]
    deleted_at: Option<NaiveDateTime>,
    deleted: bool,
    image_id: Option<String>,
    request_id: Option<String>,
    user_id: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = task_info)]
struct InfoRow {
    task_id: String,
    input: Option<String>,
    result: Option<String>,
    message: Option<String>,
}

/// Glance's JSONEncodedDict: JSON text, SQL NULL for None.
fn encode(v: &Value) -> Option<String> {
    (!v.is_null()).then(|| v.to_string())
}

fn decode(s: Option<String>) -> Value {
    s.and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}

fn to_domain(row: TaskRow, info: Option<InfoRow>) -> Result<Task, DbError> {
    let status: TaskStatus = row.status.parse().map_err(|()| {
        DbError::Other(format!("task {} has unknown status {}", row.id, row.status))
    })?;
    let (input, result, message) = match info {
        Some(i) => (
            decode(i.input),
            decode(i.result),
            i.message.unwrap_or_default(),
        ),
        None => (Value::Null, Value::Null, String::new()),
    };
    Ok(Task {
        updated_at: row.updated_at.unwrap_or(row.created_at),
        id: row.id,
        task_type: row.task_type,
        status,
        owner: row.owner,
        expires_at: row.expires_at,
        created_at: row.created_at,
        deleted_at: row.deleted_at,
        deleted: row.deleted,
        image_id: row.image_id,
        request_id: row.request_id,
        user_id: row.user_id,
        input,
        result,
        message,
    })
}

pub fn insert(conn: &mut DbConn, t: &Task) -> Result<(), DbError> {
    diesel::insert_into(tasks::table)
        .values(TaskRow {
            id: t.id.clone(),
            task_type: t.task_type.clone(),
            status: t.status.as_str().to_owned(),
            owner: t.owner.clone(),
            expires_at: t.expires_at,
            created_at: t.created_at,
            updated_at: Some(t.updated_at),
            deleted_at: t.deleted_at,
            deleted: t.deleted,
            image_id: t.image_id.clone(),
            request_id: t.request_id.clone(),
            user_id: t.user_id.clone(),
        })
        .execute(conn)?;
    diesel::insert_into(task_info::table)
        .values(InfoRow {
            task_id: t.id.clone(),
            input: encode(&t.input),
            result: encode(&t.result),
            message: Some(t.message.clone()),
        })
        .execute(conn)?;
    Ok(())
}

/// One task with its info; deleted (expired) ones only with `include_deleted`.
pub fn get(conn: &mut DbConn, id: &str, include_deleted: bool) -> Result<Option<Task>, DbError> {
    let mut q = tasks::table
        .left_join(task_info::table)
        .filter(tasks::id.eq(id))
        .select((TaskRow::as_select(), Option::<InfoRow>::as_select()))
        .into_boxed();
    if !include_deleted {
        q = q.filter(tasks::deleted.eq(false));
    }
    let row: Option<(TaskRow, Option<InfoRow>)> = q.first(conn).optional()?;
    row.map(|(t, i)| to_domain(t, i)).transpose()
}

/// Write the mutable parts of a task: status, expiry, result, message, updated_at.
/// Only if it is still in `from` (so two writers cannot both end a task); false otherwise.
pub fn save(conn: &mut DbConn, t: &Task, from: TaskStatus) -> Result<bool, DbError> {
    let n = diesel::update(
        tasks::table
            .filter(tasks::id.eq(&t.id))
            .filter(tasks::status.eq(from.as_str())),
    )
    .set((
        tasks::status.eq(t.status.as_str()),
        tasks::expires_at.eq(OptDbTime(t.expires_at)),
        tasks::updated_at.eq(DbTime(t.updated_at)),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    diesel::update(task_info::table.filter(task_info::task_id.eq(&t.id)))
        .set((
            task_info::result.eq(encode(&t.result)),
            task_info::message.eq(Some(t.message.clone())),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Heartbeat of a running task.
pub fn touch(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> Result<(), DbError> {
    diesel::update(tasks::table.filter(tasks::id.eq(id)))
        .set(tasks::updated_at.eq(DbTime(now)))
        .execute(conn)?;
    Ok(())
}

/// Glance's `_task_soft_delete`: the caller's tasks past `expires_at` are marked deleted.
pub fn soft_delete_expired(
    conn: &mut DbConn,
    owner: Option<&str>,
    now: NaiveDateTime,
) -> Result<usize, DbError> {
    // `owner = NULL` matches nothing in SQL, as in Glance when the caller has no project.
    let Some(owner) = owner else { return Ok(0) };
    Ok(diesel::update(
        tasks::table
            .filter(tasks::owner.eq(owner))
            .filter(tasks::deleted.eq(false))
            .filter(tasks::expires_at.le(DbTime(now))),
    )
    .set((tasks::deleted.eq(true), tasks::deleted_at.eq(DbTime(now))))
    .execute(conn)?)
}

/// The columns a task list may be filtered on by equality (any column of `tasks`).
pub const COLUMNS: &[&str] = &[
    "id",
    "type",
    "status",
    "owner",
    "expires_at",
    "created_at",
    "updated_at",
    "deleted_at",
    "deleted",
    "image_id",
    "request_id",
    "user_id",
];

/// A column's value as sortable text (timestamps in ISO order); `None` for NULL.
pub fn column_text(t: &Task, col: &str) -> Option<String> {
    let ts = |d: &NaiveDateTime| d.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    match col {
        "id" => Some(t.id.clone()),
        "type" => Some(t.task_type.clone()),
        "status" => Some(t.status.as_str().to_owned()),
        "owner" => Some(t.owner.clone()),
        "expires_at" => t.expires_at.as_ref().map(ts),
        "created_at" => Some(ts(&t.created_at)),
        "updated_at" => Some(ts(&t.updated_at)),
        "deleted_at" => t.deleted_at.as_ref().map(ts),
        "deleted" => Some(if t.deleted { "1" } else { "0" }.to_owned()),
        "image_id" => t.image_id.clone(),
        "request_id" => t.request_id.clone(),
        "user_id" => t.user_id.clone(),
        _ => None,
    }
}

/// Every task without its info, optionally only one owner's, only live ones.
pub fn all_live(conn: &mut DbConn, owner: Option<&str>) -> Result<Vec<Task>, DbError> {
    let mut q = tasks::table
        .filter(tasks::deleted.eq(false))
        .select(TaskRow::as_select())
        .into_boxed();
    if let Some(o) = owner {
        q = q.filter(tasks::owner.eq(o.to_owned()));
    }
    let rows: Vec<TaskRow> = q.load(conn)?;
    rows.into_iter().map(|r| to_domain(r, None)).collect()
}

/// Tasks of one image with their info, not yet expired (`tasks_get_by_image`).
pub fn by_image(
    conn: &mut DbConn,
    image_id: &ImageId,
    include_deleted: bool,
    now: NaiveDateTime,
) -> Result<Vec<Task>, DbError> {
    let image_id = image_id.as_str();
    let mut q = tasks::table
        .left_join(task_info::table)
        .filter(tasks::image_id.eq(image_id))
        .filter(
            tasks::expires_at
                .is_null()
                .or(tasks::expires_at.ge(DbTime(now))),
        )
        .select((TaskRow::as_select(), Option::<InfoRow>::as_select()))
        .order((tasks::created_at.asc(), tasks::id.asc()))
        .into_boxed();
    if !include_deleted {
        q = q.filter(tasks::deleted.eq(false));
    }
    let rows: Vec<(TaskRow, Option<InfoRow>)> = q.load(conn)?;
    rows.into_iter().map(|(t, i)| to_domain(t, i)).collect()
}

/// Running tasks (`processing`) of `task_type` whose heartbeat stopped before `stale_before`.
pub fn stale_running(
    conn: &mut DbConn,
    task_type: &str,
    stale_before: NaiveDateTime,
) -> Result<Vec<Task>, DbError> {
    let rows: Vec<(TaskRow, Option<InfoRow>)> = tasks::table
        .left_join(task_info::table)
        .filter(tasks::task_type.eq(task_type))
        .filter(tasks::status.eq_any([
            TaskStatus::Pending.as_str(),
            TaskStatus::Processing.as_str(),
        ]))
        .filter(tasks::updated_at.lt(DbTime(stale_before)))
        .select((TaskRow::as_select(), Option::<InfoRow>::as_select()))
        .load(conn)?;
    rows.into_iter().map(|(t, i)| to_domain(t, i)).collect()
}

/// Live images in `status` not updated since `before` (for the recovery sweep).
pub fn image_ids_in_status(
    conn: &mut DbConn,
    status: crate::domain::image::ImageStatus,
    before: NaiveDateTime,
) -> Result<Vec<String>, DbError> {
    use super::schema::images;
    Ok(images::table
        .filter(images::deleted.eq(false))
        .filter(images::status.eq(status.as_str()))
        .filter(images::updated_at.lt(DbTime(before)))
        .select(images::id)
        .load(conn)?)
}
