//! Image member rows. One live row per (image, member) is guaranteed by a
//! partial unique index; quota checks run under the image's row lock.

use chrono::NaiveDateTime;
use diesel::dsl::not;
use diesel::prelude::*;

use super::connection::{on_backend, DbConn};
use super::error::DbError;
use super::models::MemberRow;
use super::schema::image_members as m;
use crate::domain::member::{Member, MemberStatus};

fn live(image_id: &str) -> m::BoxedQuery<'static, super::connection::MultiBackend> {
    m::table
        .filter(m::image_id.eq(image_id.to_owned()))
        .filter(not(m::deleted))
        .into_boxed()
}

/// Live members of an image, oldest first.
pub fn list(conn: &mut DbConn, image_id: &str) -> Result<Vec<Member>, DbError> {
    // Static queries on the concrete connection: found in the statement cache by type.
    let rows: Vec<MemberRow> = on_backend!(conn, c => m::table
            .filter(m::image_id.eq(image_id))
            .filter(not(m::deleted))
            .order((m::created_at.asc(), m::id.asc()))
            .select(MemberRow::as_select())
        .load(c))?;
    rows.into_iter().map(MemberRow::into_domain).collect()
}

pub fn get(conn: &mut DbConn, image_id: &str, member: &str) -> Result<Option<Member>, DbError> {
    let row: Option<MemberRow> = on_backend!(conn, c => m::table
            .filter(m::image_id.eq(image_id))
            .filter(m::member.eq(member))
            .filter(not(m::deleted))
            .select(MemberRow::as_select())
        .first(c).optional())?;
    row.map(MemberRow::into_domain).transpose()
}

pub enum AddOutcome {
    Added(Member),
    /// The add would make `attempted` members, over the quota.
    QuotaExceeded {
        attempted: i64,
    },
    Duplicate,
}

/// Add (or revive a deleted) member row as `pending`. Call inside `write_tx`
/// after locking the image row, so concurrent adds count one after another.
pub fn add(
    conn: &mut DbConn,
    image_id: &str,
    member: &str,
    quota: i64,
    now: NaiveDateTime,
) -> Result<AddOutcome, DbError> {
    let count: i64 = live(image_id).count().get_result(conn)?;
    if quota >= 0 && count + 1 > quota {
        return Ok(AddOutcome::QuotaExceeded {
            attempted: count + 1,
        });
    }
    if get(conn, image_id, member)?.is_some() {
        return Ok(AddOutcome::Duplicate);
    }
    let dead: Option<i32> = m::table
        .filter(m::image_id.eq(image_id))
        .filter(m::member.eq(member))
        .filter(m::deleted)
        .order(m::id.desc())
        .select(m::id)
        .first(conn)
        .optional()?;
    let written = match dead {
        Some(id) => diesel::update(m::table.filter(m::id.eq(id)))
            .set((
                m::deleted.eq(false),
                m::deleted_at.eq(None::<NaiveDateTime>),
                m::status.eq(MemberStatus::Pending.as_str()),
                m::created_at.eq(now),
                m::updated_at.eq(now),
            ))
            .execute(conn),
        None => diesel::insert_into(m::table)
            .values((
                m::image_id.eq(image_id),
                m::member.eq(member),
                m::can_share.eq(false),
                m::status.eq(MemberStatus::Pending.as_str()),
                m::created_at.eq(now),
                m::updated_at.eq(now),
                m::deleted.eq(false),
            ))
            .execute(conn),
    };
    match written.map_err(DbError::from) {
        Ok(_) => Ok(AddOutcome::Added(Member {
            image_id: image_id.to_owned(),
            member_id: member.to_owned(),
            status: MemberStatus::Pending,
            created_at: now,
            updated_at: now,
        })),
        // A concurrent add won the race for the unique index.
        Err(DbError::Duplicate(_)) => Ok(AddOutcome::Duplicate),
        Err(e) => Err(e),
    }
}

/// Set a live row's status; `None` if there is no live row (deleted meanwhile).
pub fn set_status(
    conn: &mut DbConn,
    image_id: &str,
    member: &str,
    status: MemberStatus,
    now: NaiveDateTime,
) -> Result<Option<Member>, DbError> {
    let n = diesel::update(
        m::table
            .filter(m::image_id.eq(image_id))
            .filter(m::member.eq(member))
            .filter(not(m::deleted)),
    )
    .set((m::status.eq(status.as_str()), m::updated_at.eq(now)))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    get(conn, image_id, member)
}

/// Soft-delete a live row; false if there was none.
pub fn delete(
    conn: &mut DbConn,
    image_id: &str,
    member: &str,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    let n = diesel::update(
        m::table
            .filter(m::image_id.eq(image_id))
            .filter(m::member.eq(member))
            .filter(not(m::deleted)),
    )
    .set((
        m::deleted.eq(true),
        m::deleted_at.eq(now),
        m::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n > 0)
}
