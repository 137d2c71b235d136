//! The sharing extensions' inbox: a project's shares across images (`GET /v2/glint/inbox`), one
//! page at a time in the order they were offered (newest first), with counts per state.

use chrono::NaiveDateTime;
use diesel::dsl::{not, sql};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Timestamp};

use super::connection::{DbConn, MultiBackend};
use super::error::DbError;
use super::models::{ImageRow, MemberRow};
use super::schema::{image_members as m, images};
use super::timestamp::DbTime;
use crate::domain::image::Image;
use crate::domain::member::Member;

/// Which shares: by Glance's status (and not expired), or the expired ones, or all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Status(crate::domain::member::MemberStatus),
    /// Every status, not expired.
    Live,
    Expired,
    All,
    /// The pending offers the trust policy hides, not expired (left out of every other filter).
    Hidden,
}

/// When shares end: their own expiry before `now`, and pending offers made before
/// `pending_before` (`pending_ttl`).
#[derive(Debug, Clone, Copy)]
pub struct Expiry {
    pub now: NaiveDateTime,
    pub pending_before: Option<NaiveDateTime>,
}

/// The keyset position after a share: its offer time and image id.
#[derive(Debug, Clone)]
pub struct After {
    pub offered_at: NaiveDateTime,
    pub image_id: String,
}

/// The project's live member rows on live shared images of other owners (the inbox's base):
/// with `Filter::Hidden` only the pending offers its trust policy hides, else all but those.
fn base<'a>(
    project: &'a str,
    owner: Option<&'a str>,
    filter: Filter,
) -> diesel::dsl::IntoBoxed<'a, diesel::dsl::InnerJoin<m::table, images::table>, MultiBackend> {
    let hidden = match filter {
        Filter::Hidden => "",
        _ => "NOT ",
    };
    let mut q = m::table
        .inner_join(images::table)
        .filter(m::member.eq(project))
        .filter(not(m::deleted))
        .filter(not(images::deleted))
        .filter(images::visibility.eq("shared"))
        .filter(images::owner.ne(project).or(images::owner.is_null()))
        .filter(sql::<Bool>(hidden).sql(super::member_ext::HIDDEN_OFFER))
        .into_boxed();
    if let Some(owner) = owner {
        q = q.filter(images::owner.eq(owner));
    }
    q
}

type Query<'a> =
    diesel::dsl::IntoBoxed<'a, diesel::dsl::InnerJoin<m::table, images::table>, MultiBackend>;

/// `q` narrowed to `filter` at `exp`.
fn narrowed<'a>(mut q: Query<'a>, filter: Filter, exp: Expiry) -> Query<'a> {
    let own_expiry = super::member_ext::EXPIRED_AT_OR_BEFORE;
    let stale = "(image_members.status = 'pending' AND image_members.created_at <= ";
    match filter {
        Filter::All => q,
        Filter::Expired => match exp.pending_before {
            None => q.filter(
                sql::<Bool>(own_expiry)
                    .bind::<Timestamp, _>(DbTime(exp.now))
                    .sql(")"),
            ),
            Some(before) => q.filter(
                sql::<Bool>("(")
                    .sql(own_expiry)
                    .bind::<Timestamp, _>(DbTime(exp.now))
                    .sql(") OR ")
                    .sql(stale)
                    .bind::<Timestamp, _>(DbTime(before))
                    .sql("))"),
            ),
        },
        Filter::Live | Filter::Hidden | Filter::Status(_) => {
            if let Filter::Status(s) = filter {
                q = q.filter(m::status.eq(s.as_str()));
            }
            q = q.filter(
                sql::<Bool>("NOT ")
                    .sql(own_expiry)
                    .bind::<Timestamp, _>(DbTime(exp.now))
                    .sql(")"),
            );
            if let Some(before) = exp.pending_before {
                q = q.filter(
                    sql::<Bool>("NOT ")
                        .sql(stale)
                        .bind::<Timestamp, _>(DbTime(before))
                        .sql(")"),
                );
            }
            q
        }
    }
}

/// One page of the project's shares matching `filter`, newest offer first, after `after`.
pub fn page(
    conn: &mut DbConn,
    project: &str,
    owner: Option<&str>,
    filter: Filter,
    exp: Expiry,
    after: Option<&After>,
    limit: i64,
) -> Result<Vec<(Member, Image)>, DbError> {
    let mut q = narrowed(base(project, owner, filter), filter, exp);
    if let Some(a) = after {
        let t = DbTime(a.offered_at);
        q = q.filter(
            m::created_at
                .lt(t)
                .or(m::created_at.eq(t).and(m::image_id.lt(a.image_id.clone()))),
        );
    }
    let rows: Vec<(MemberRow, ImageRow)> = q
        .order((m::created_at.desc(), m::image_id.desc()))
        .limit(limit)
        .select((MemberRow::as_select(), ImageRow::as_select()))
        .load(conn)?;
    rows.into_iter()
        .map(|(mr, ir)| Ok((mr.into_domain()?, ir.into_domain()?)))
        .collect()
}

/// How many of the project's shares match `filter`.
pub fn count(
    conn: &mut DbConn,
    project: &str,
    owner: Option<&str>,
    filter: Filter,
    exp: Expiry,
) -> Result<i64, DbError> {
    Ok(narrowed(base(project, owner, filter), filter, exp)
        .count()
        .get_result(conn)?)
}

/// The offer time of the project's live member row on `image_id` (an inbox marker).
pub fn offered_at(
    conn: &mut DbConn,
    project: &str,
    image_id: &str,
) -> Result<Option<NaiveDateTime>, DbError> {
    let row: Option<MemberRow> = m::table
        .filter(m::image_id.eq(image_id))
        .filter(m::member.eq(project))
        .filter(not(m::deleted))
        .select(MemberRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(|r| r.created_at))
}
