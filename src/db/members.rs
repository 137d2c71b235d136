//! Image member rows. One live row per (image, member) is guaranteed by a
//! partial unique index; quota checks run under the image's row lock.

use chrono::NaiveDateTime;

use super::timestamp::DbTime;
use diesel::dsl::not;
use diesel::prelude::*;

use super::cached::{DeleteMember, ReviveMember, SetMemberStatus};
use super::connection::{on_backend, DbConn};
use super::error::DbError;
use super::models::MemberRow;
use super::schema::image_members as m;
use crate::domain::id::ImageId;
use crate::domain::member::{Member, MemberStatus};

/// Live members of an image, oldest first.
pub fn list(conn: &mut DbConn, image_id: &ImageId) -> Result<Vec<Member>, DbError> {
    let image_id = image_id.as_str();
    // Static queries on the concrete connection: found in the statement cache by type.
    let rows: Vec<MemberRow> = on_backend!(conn, c => m::table
            .filter(m::image_id.eq(image_id))
            .filter(not(m::deleted))
            .order((m::created_at.asc(), m::id.asc()))
            .select(MemberRow::as_select())
        .load(c))?;
    rows.into_iter().map(MemberRow::into_domain).collect()
}

pub fn get(conn: &mut DbConn, image_id: &ImageId, member: &str) -> Result<Option<Member>, DbError> {
    let image_id = image_id.as_str();
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
    image_id: &ImageId,
    member: &str,
    quota: i64,
    now: NaiveDateTime,
) -> Result<AddOutcome, DbError> {
    let image_id = image_id.as_str();
    let count: i64 = on_backend!(conn, c => m::table
            .filter(m::image_id.eq(image_id))
            .filter(not(m::deleted))
            .count()
        .get_result(c))?;
    // Rows made by grants count as one per grant (`db::grants::quota_adjustment`). Only when a
    // quota applies: a grant's own rows are added with none.
    let count = match quota >= 0 {
        true => count + super::grants::quota_adjustment(conn, image_id)?,
        false => count,
    };
    if crate::domain::quota::exceeded(count + 1, quota) {
        return Ok(AddOutcome::QuotaExceeded {
            attempted: count + 1,
        });
    }
    // The live row if there is one, else the newest deleted one (revived below).
    let existing: Option<(i32, bool)> = on_backend!(conn, c => m::table
            .filter(m::image_id.eq(image_id))
            .filter(m::member.eq(member))
            .order((m::deleted.asc(), m::id.desc()))
            .select((m::id, m::deleted))
            .first(c)
        .optional())?;
    let written = match existing {
        Some((_, false)) => return Ok(AddOutcome::Duplicate),
        Some((id, true)) => on_backend!(conn, c => ReviveMember {
            id,
            status: MemberStatus::Pending.as_str(),
            now: DbTime(now),
        }
        .execute(c)),
        None => on_backend!(conn, c => diesel::insert_into(m::table)
            .values((
                m::image_id.eq(image_id),
                m::member.eq(member),
                m::can_share.eq(false),
                m::status.eq(MemberStatus::Pending.as_str()),
                m::created_at.eq(DbTime(now)),
                m::updated_at.eq(DbTime(now)),
                m::deleted.eq(false),
            ))
            .execute(c)),
    };
    match written.map_err(DbError::from) {
        Ok(_) => Ok(AddOutcome::Added(Member {
            image_id: image_id.to_owned(),
            member_id: member.to_owned(),
            status: MemberStatus::Pending,
            created_at: now,
            updated_at: now,
            ext: None,
        })),
        // A concurrent add won the race for the unique index.
        Err(DbError::Duplicate(_)) => Ok(AddOutcome::Duplicate),
        Err(e) => Err(e),
    }
}

/// Set a live row's status; false if there is no live row (deleted meanwhile).
pub fn set_status(
    conn: &mut DbConn,
    image_id: &ImageId,
    member: &str,
    status: MemberStatus,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    let image_id = image_id.as_str();
    let n = on_backend!(conn, c => SetMemberStatus {
        image_id,
        member,
        status: status.as_str(),
        now: DbTime(now),
    }
    .execute(c))?;
    Ok(n > 0)
}

/// Soft-delete a live row; false if there was none.
pub fn delete(
    conn: &mut DbConn,
    image_id: &ImageId,
    member: &str,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    let image_id = image_id.as_str();
    drop_duplicate_live_rows(conn, image_id, Some(member), now)?;
    let soft_delete = |conn: &mut DbConn| -> Result<usize, DbError> {
        Ok(on_backend!(conn, c => DeleteMember {
            image_id,
            member,
            now: DbTime(now),
        }
        .execute(c))?)
    };
    let n = match soft_delete(conn) {
        // Glance added a row between the clean-up and the update (it takes no lock): MySQL
        // refused only the statement, so clean up again and repeat it once.
        Err(DbError::Duplicate(_)) if matches!(conn, DbConn::Mysql(_)) => {
            drop_duplicate_live_rows(conn, image_id, Some(member), now)?;
            soft_delete(conn)?
        }
        r => r?,
    };
    Ok(n > 0)
}

/// Clears the way for soft-deleting the live member rows of an image (`member`: that member's
/// only; `None`: all) at `now`, on MySQL, where Glance's unique key (image_id, member,
/// deleted_at) has whole-second times and Glance, writing beside another server, can leave rows
/// that would collide with the soft delete (a 500 otherwise):
/// - two live rows for one member (Glance adds without a lock, and MySQL has no partial unique
///   index to refuse the second): the extra rows, all but the oldest, are removed, so one
///   membership is what both servers show afterwards;
/// - a row of the same member already deleted in this same second (deleted, added again and
///   deleted within one second): that history row is removed.
///
/// A no-op on SQLite and PostgreSQL, whose partial unique index refuses the first, and whose
/// timestamps keep sub-seconds.
pub fn drop_duplicate_live_rows(
    conn: &mut DbConn,
    image_id: &str,
    member: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    if !matches!(conn, DbConn::Mysql(_)) {
        return Ok(());
    }
    let mut q = m::table
        .filter(m::image_id.eq(image_id))
        .filter(not(m::deleted))
        .select((m::id, m::member))
        .order(m::id.asc())
        .into_boxed();
    if let Some(member) = member {
        q = q.filter(m::member.eq(member));
    }
    let rows: Vec<(i32, String)> = q.load(conn)?;
    let mut seen = std::collections::HashSet::new();
    let extra: Vec<i32> = rows
        .iter()
        .filter(|(_, member)| !seen.insert(member.clone()))
        .map(|(id, _)| *id)
        .collect();
    if !extra.is_empty() {
        tracing::warn!(
            image_id,
            rows = extra.len(),
            "removing duplicate live member rows (two servers added one member at once)"
        );
        diesel::delete(m::table.filter(m::id.eq_any(extra))).execute(conn)?;
    }
    let live: Vec<String> = seen.into_iter().collect();
    if !live.is_empty() {
        diesel::delete(
            m::table
                .filter(m::image_id.eq(image_id))
                .filter(m::deleted)
                .filter(m::deleted_at.eq(DbTime(now)))
                .filter(m::member.eq_any(live)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// (image, member) of live pending offers made at or before `before`, oldest first, at most
/// `limit` (the sharing extensions' `pending_ttl`).
pub fn pending_offered_before(
    conn: &mut DbConn,
    before: NaiveDateTime,
    limit: i64,
) -> Result<Vec<(String, String)>, DbError> {
    Ok(m::table
        .filter(not(m::deleted))
        .filter(m::status.eq(MemberStatus::Pending.as_str()))
        .filter(m::created_at.le(DbTime(before)))
        .order(m::created_at.asc())
        .select((m::image_id, m::member))
        .limit(limit)
        .load(conn)?)
}
