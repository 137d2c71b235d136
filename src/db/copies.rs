//! `glint_image_copies`: the copies of images in progress (`service::image_copy`). A row lives
//! from the copy's start to the transaction that activates it; its `updated_at` is the copy's
//! heartbeat, so a row left by a dead process is found by age and cleaned up by the sweep.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::connection::DbConn;
use super::error::DbError;
use super::timestamp::{DbTime, Ts};

diesel::table! {
    glint_image_copies (image_id) {
        image_id -> Text,
        source_id -> Text,
        source_owner -> Nullable<Text>,
        project_id -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

use glint_image_copies as c;

/// A copy in progress: the new image, the image it copies, the project that asked.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = glint_image_copies)]
pub struct Copy {
    pub image_id: String,
    pub source_id: String,
    /// The source's owner (its history names it, even after the source is deleted).
    pub source_owner: Option<String>,
    pub project_id: String,
    #[diesel(deserialize_as = Ts)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = Ts)]
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, row: &Copy) -> Result<(), DbError> {
    diesel::insert_into(c::table)
        .values((
            c::image_id.eq(&row.image_id),
            c::source_id.eq(&row.source_id),
            c::source_owner.eq(row.source_owner.as_deref()),
            c::project_id.eq(&row.project_id),
            c::created_at.eq(DbTime(row.created_at)),
            c::updated_at.eq(DbTime(row.updated_at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The heartbeat of a copy still running; false when its row is gone (finished or swept).
pub fn touch(conn: &mut DbConn, image_id: &str, at: NaiveDateTime) -> Result<bool, DbError> {
    Ok(diesel::update(c::table.filter(c::image_id.eq(image_id)))
        .set(c::updated_at.eq(DbTime(at)))
        .execute(conn)?
        > 0)
}

/// Ends a copy's row; false when there was none (another process swept it).
pub fn remove(conn: &mut DbConn, image_id: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(c::table.filter(c::image_id.eq(image_id))).execute(conn)? > 0)
}

pub fn get(conn: &mut DbConn, image_id: &str) -> Result<Option<Copy>, DbError> {
    Ok(c::table
        .filter(c::image_id.eq(image_id))
        .select(Copy::as_select())
        .first(conn)
        .optional()?)
}

/// Copies whose heartbeat stopped before `before`, oldest first, at most `limit`.
pub fn stale(conn: &mut DbConn, before: NaiveDateTime, limit: i64) -> Result<Vec<Copy>, DbError> {
    Ok(c::table
        .filter(c::updated_at.lt(DbTime(before)))
        .order(c::updated_at.asc())
        .limit(limit)
        .select(Copy::as_select())
        .load(conn)?)
}
