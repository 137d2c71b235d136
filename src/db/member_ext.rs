//! `glint_member_ext`: the sharing extensions' data on member rows (`domain::member_ext`), one row
//! per (image, member) that has any. Written in the member's transaction; removed with the member.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::connection::DbConn;
use super::error::DbError;
use super::timestamp::{DbTime, OptDbTime, OptTs};
use crate::domain::member_ext::{MemberExt, Origin};
use crate::domain::share_policy::Mark;

diesel::table! {
    glint_member_ext (image_id, member) {
        image_id -> Text,
        member -> Text,
        expires_at -> Nullable<Timestamp>,
        note -> Nullable<Text>,
        renewal_requested -> Bool,
        policy -> Nullable<Text>,
        reminded_secs -> Nullable<BigInt>,
        via -> Nullable<Text>,
        last_download_at -> Nullable<Timestamp>,
        grant_id -> Nullable<Text>,
    }
}

/// SQL: the `image_members` row is a pending offer the recipient's trust policy hides.
pub(super) const HIDDEN_OFFER: &str =
    "(image_members.status = 'pending' AND EXISTS (SELECT 1 FROM glint_member_ext h \
     WHERE h.image_id = image_members.image_id AND h.member = image_members.member \
     AND h.policy = 'hidden'))";

/// SQL, completed by a bound time and `)`: the `image_members` row's share expired at or
/// before that time. Shared by the list's shared-with-me stream and the inbox.
pub(super) const EXPIRED_AT_OR_BEFORE: &str =
    "EXISTS (SELECT 1 FROM glint_member_ext x WHERE x.image_id = image_members.image_id \
     AND x.member = image_members.member AND x.expires_at <= ";

#[derive(Queryable, Selectable)]
#[diesel(table_name = glint_member_ext)]
struct ExtRow {
    member: String,
    #[diesel(deserialize_as = OptTs)]
    expires_at: Option<NaiveDateTime>,
    note: Option<String>,
    renewal_requested: bool,
    policy: Option<String>,
    reminded_secs: Option<i64>,
    via: Option<String>,
    #[diesel(deserialize_as = OptTs)]
    last_download_at: Option<NaiveDateTime>,
    grant_id: Option<String>,
}

impl ExtRow {
    fn into_domain(self) -> (String, MemberExt) {
        let ext = MemberExt {
            expires_at: self.expires_at,
            note: self.note,
            renewal_requested: self.renewal_requested,
            // A mark this build does not know (written by a newer one) is not shown.
            policy: self.policy.as_deref().and_then(Mark::parse),
            reminded: self.reminded_secs.and_then(|s| u64::try_from(s).ok()),
            via: Origin::parse(self.via.as_deref()),
            last_download_at: self.last_download_at,
            grant_id: self.grant_id,
        };
        (self.member, ext)
    }
}

/// Replace the row of (image, member) with `ext` (none when it is empty).
pub fn put(
    conn: &mut DbConn,
    image_id: &str,
    member: &str,
    ext: &MemberExt,
) -> Result<(), DbError> {
    remove(conn, image_id, member)?;
    if ext.is_empty() {
        return Ok(());
    }
    diesel::insert_into(glint_member_ext::table)
        .values((
            glint_member_ext::image_id.eq(image_id),
            glint_member_ext::member.eq(member),
            glint_member_ext::expires_at.eq(OptDbTime(ext.expires_at)),
            glint_member_ext::note.eq(ext.note.as_deref()),
            glint_member_ext::renewal_requested.eq(ext.renewal_requested),
            glint_member_ext::policy.eq(ext.policy.map(Mark::as_str)),
            glint_member_ext::reminded_secs.eq(ext.reminded.and_then(|s| i64::try_from(s).ok())),
            glint_member_ext::via.eq((ext.via != Origin::Direct).then(|| ext.via.as_str())),
            glint_member_ext::last_download_at.eq(OptDbTime(ext.last_download_at)),
            glint_member_ext::grant_id.eq(ext.grant_id.as_deref()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The member downloaded the image at `at`: recorded unless a download at or after `since` is
/// already (another process wrote it). The share's row is made if it had none.
pub fn downloaded(
    conn: &mut DbConn,
    image_id: &str,
    member: &str,
    at: NaiveDateTime,
    since: NaiveDateTime,
) -> Result<(), DbError> {
    let row = glint_member_ext::table
        .filter(glint_member_ext::image_id.eq(image_id))
        .filter(glint_member_ext::member.eq(member));
    let changed = diesel::update(
        row.filter(
            glint_member_ext::last_download_at
                .is_null()
                .or(glint_member_ext::last_download_at.lt(DbTime(since))),
        ),
    )
    .set(glint_member_ext::last_download_at.eq(DbTime(at)))
    .execute(conn)?;
    if changed > 0 || row.count().get_result::<i64>(conn)? > 0 {
        return Ok(());
    }
    let inserted = diesel::insert_into(glint_member_ext::table)
        .values((
            glint_member_ext::image_id.eq(image_id),
            glint_member_ext::member.eq(member),
            glint_member_ext::renewal_requested.eq(false),
            glint_member_ext::last_download_at.eq(DbTime(at)),
        ))
        .execute(conn);
    match inserted.map_err(DbError::from) {
        Ok(_) | Err(DbError::Duplicate(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

pub fn remove(conn: &mut DbConn, image_id: &str, member: &str) -> Result<(), DbError> {
    diesel::delete(
        glint_member_ext::table
            .filter(glint_member_ext::image_id.eq(image_id))
            .filter(glint_member_ext::member.eq(member)),
    )
    .execute(conn)?;
    Ok(())
}

/// Every row of a deleted image: its members went with it.
pub fn remove_image(conn: &mut DbConn, image_id: &str) -> Result<(), DbError> {
    diesel::delete(glint_member_ext::table.filter(glint_member_ext::image_id.eq(image_id)))
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConn, image_id: &str, member: &str) -> Result<Option<MemberExt>, DbError> {
    let row: Option<ExtRow> = glint_member_ext::table
        .filter(glint_member_ext::image_id.eq(image_id))
        .filter(glint_member_ext::member.eq(member))
        .select(ExtRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(|r| r.into_domain().1))
}

/// Every row of one image, by member.
pub fn of_image(
    conn: &mut DbConn,
    image_id: &str,
) -> Result<std::collections::HashMap<String, MemberExt>, DbError> {
    let rows: Vec<ExtRow> = glint_member_ext::table
        .filter(glint_member_ext::image_id.eq(image_id))
        .select(ExtRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(ExtRow::into_domain).collect())
}

/// The rows of one member on these images, by image id.
pub fn of_member(
    conn: &mut DbConn,
    member: &str,
    image_ids: &[&str],
) -> Result<std::collections::HashMap<String, MemberExt>, DbError> {
    if image_ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(String, ExtRow)> = glint_member_ext::table
        .filter(glint_member_ext::member.eq(member))
        .filter(glint_member_ext::image_id.eq_any(image_ids))
        .select((glint_member_ext::image_id, ExtRow::as_select()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(image_id, r)| (image_id, r.into_domain().1))
        .collect())
}

/// Whether `member`'s access to the image ended at or before `now`.
pub fn expired(
    conn: &mut DbConn,
    image_id: &str,
    member: &str,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    let n: i64 = glint_member_ext::table
        .filter(glint_member_ext::image_id.eq(image_id))
        .filter(glint_member_ext::member.eq(member))
        .filter(glint_member_ext::expires_at.le(DbTime(now)))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// (image, member) of shares that expired at or before `cutoff`, oldest first, at most `limit`.
pub fn expired_before(
    conn: &mut DbConn,
    cutoff: NaiveDateTime,
    limit: i64,
) -> Result<Vec<(String, String)>, DbError> {
    Ok(glint_member_ext::table
        .filter(glint_member_ext::expires_at.le(DbTime(cutoff)))
        .order(glint_member_ext::expires_at.asc())
        .select((glint_member_ext::image_id, glint_member_ext::member))
        .limit(limit)
        .load(conn)?)
}

/// A share about to expire: image, member, its expiry and the reminder already sent (seconds).
pub type Expiring = (String, String, NaiveDateTime, Option<u64>);

/// The shares expiring after `now` and at or before `until` (the reminders' horizon), soonest
/// first, at most `limit`.
pub fn expiring_between(
    conn: &mut DbConn,
    now: NaiveDateTime,
    until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<Expiring>, DbError> {
    let rows: Vec<(String, ExtRow)> = glint_member_ext::table
        .filter(glint_member_ext::expires_at.gt(DbTime(now)))
        .filter(glint_member_ext::expires_at.le(DbTime(until)))
        .order(glint_member_ext::expires_at.asc())
        .select((glint_member_ext::image_id, ExtRow::as_select()))
        .limit(limit)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(image_id, r)| {
            let (member, ext) = r.into_domain();
            ext.expires_at
                .map(|at| (image_id, member, at, ext.reminded))
        })
        .collect())
}
