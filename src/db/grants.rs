//! `glint_grants`, `glint_grant_images`, `glint_grant_projects`: grants of the sharing extensions
//! (`domain::grant`), the images each covers and the recipient projects it has reached. The
//! access itself is in ordinary member rows (`glint_member_ext.via = 'grant'`, `grant_id`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::connection::DbConn;
use super::error::DbError;
use super::member_ext::glint_member_ext as x;
use super::schema::image_members as m;
use super::timestamp::{DbTime, OptDbTime, OptTs, Ts};

diesel::table! {
    glint_grants (id) {
        id -> Text,
        owner -> Text,
        owner_domain_id -> Nullable<Text>,
        target_kind -> Text,
        target_id -> Text,
        target_domain_id -> Text,
        tag -> Nullable<Text>,
        decision -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    glint_grant_images (grant_id, image_id) {
        grant_id -> Text,
        image_id -> Text,
    }
}

diesel::table! {
    glint_grant_projects (grant_id, project_id) {
        grant_id -> Text,
        project_id -> Text,
    }
}

// The quota count joins a member's extension row to its live member row.
use super::member_ext::glint_member_ext;
use super::schema::image_members;
diesel::allow_tables_to_appear_in_same_query!(glint_member_ext, image_members);
// A grant's images and projects are read as subqueries of the grant.
diesel::allow_tables_to_appear_in_same_query!(
    glint_grants,
    glint_grant_images,
    glint_grant_projects
);

use glint_grant_images as gi;
use glint_grant_projects as gp;
use glint_grants as g;

/// A grant as stored. `tag` is `None` for a grant of images named by id.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = glint_grants)]
pub struct Grant {
    pub id: String,
    pub owner: String,
    pub owner_domain_id: Option<String>,
    pub target_kind: String,
    pub target_id: String,
    pub target_domain_id: String,
    pub tag: Option<String>,
    pub decision: Option<String>,
    pub decided_by: Option<String>,
    #[diesel(deserialize_as = OptTs)]
    pub decided_at: Option<NaiveDateTime>,
    pub created_by: Option<String>,
    #[diesel(deserialize_as = Ts)]
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, r: &Grant) -> Result<(), DbError> {
    diesel::insert_into(g::table)
        .values((
            g::id.eq(&r.id),
            g::owner.eq(&r.owner),
            g::owner_domain_id.eq(r.owner_domain_id.as_deref()),
            g::target_kind.eq(&r.target_kind),
            g::target_id.eq(&r.target_id),
            g::target_domain_id.eq(&r.target_domain_id),
            g::tag.eq(r.tag.as_deref()),
            g::decision.eq(r.decision.as_deref()),
            g::decided_by.eq(r.decided_by.as_deref()),
            g::decided_at.eq(OptDbTime(r.decided_at)),
            g::created_by.eq(r.created_by.as_deref()),
            g::created_at.eq(DbTime(r.created_at)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<Grant>, DbError> {
    Ok(g::table
        .filter(g::id.eq(id))
        .select(Grant::as_select())
        .first(conn)
        .optional()?)
}

/// The grants of `owner` (every grant with `None`), oldest first.
pub fn list(conn: &mut DbConn, owner: Option<&str>, limit: i64) -> Result<Vec<Grant>, DbError> {
    let mut q = g::table
        .order((g::created_at.asc(), g::id.asc()))
        .select(Grant::as_select())
        .limit(limit)
        .into_boxed();
    if let Some(o) = owner {
        q = q.filter(g::owner.eq(o));
    }
    Ok(q.load(conn)?)
}

/// The grants that have reached `project`, oldest first, at most `limit` (the recipient's view).
pub fn reaching(conn: &mut DbConn, project: &str, limit: i64) -> Result<Vec<Grant>, DbError> {
    let ids: Vec<String> = gp::table
        .filter(gp::project_id.eq(project))
        .select(gp::grant_id)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(g::table
        .filter(g::id.eq_any(&ids))
        .order((g::created_at.asc(), g::id.asc()))
        .select(Grant::as_select())
        .limit(limit)
        .load(conn)?)
}

/// The grants whose target is one of `targets` (a project's domain and ancestors): indexed.
pub fn targeting(conn: &mut DbConn, targets: &[&str]) -> Result<Vec<Grant>, DbError> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    Ok(g::table
        .filter(g::target_id.eq_any(targets))
        .order(g::id.asc())
        .select(Grant::as_select())
        .load(conn)?)
}

/// Whether any grant targets a project subtree (else no ancestors need asking).
pub fn any_subtree(conn: &mut DbConn) -> Result<bool, DbError> {
    let n: i64 = g::table
        .filter(g::target_kind.eq("subtree"))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Every grant's id, oldest first (the sweep's list).
pub fn all_ids(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    Ok(g::table
        .order((g::created_at.asc(), g::id.asc()))
        .select(g::id)
        .load(conn)?)
}

/// The tag grants of `owner` naming one of `tags`.
pub fn by_tags(conn: &mut DbConn, owner: &str, tags: &[&str]) -> Result<Vec<Grant>, DbError> {
    if tags.is_empty() {
        return Ok(Vec::new());
    }
    Ok(g::table
        .filter(g::owner.eq(owner))
        .filter(g::tag.eq_any(tags))
        .order(g::id.asc())
        .select(Grant::as_select())
        .load(conn)?)
}

pub fn set_decision(
    conn: &mut DbConn,
    id: &str,
    decision: &str,
    by: Option<&str>,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::update(g::table.filter(g::id.eq(id)))
        .set((
            g::decision.eq(decision),
            g::decided_by.eq(by),
            g::decided_at.eq(OptDbTime(Some(at))),
        ))
        .execute(conn)?;
    Ok(())
}

/// Remove the grant and what it covers (its member rows are removed before, one by one).
pub fn delete(conn: &mut DbConn, id: &str) -> Result<bool, DbError> {
    diesel::delete(gi::table.filter(gi::grant_id.eq(id))).execute(conn)?;
    diesel::delete(gp::table.filter(gp::grant_id.eq(id))).execute(conn)?;
    Ok(diesel::delete(g::table.filter(g::id.eq(id))).execute(conn)? > 0)
}

/// The images the grant covers, in id order.
pub fn images(conn: &mut DbConn, id: &str) -> Result<Vec<String>, DbError> {
    Ok(gi::table
        .filter(gi::grant_id.eq(id))
        .order(gi::image_id.asc())
        .select(gi::image_id)
        .load(conn)?)
}

/// The projects the grant has reached, in id order.
pub fn projects(conn: &mut DbConn, id: &str) -> Result<Vec<String>, DbError> {
    Ok(gp::table
        .filter(gp::grant_id.eq(id))
        .order(gp::project_id.asc())
        .select(gp::project_id)
        .load(conn)?)
}

/// Record that the grant covers `image` (false if it did already).
pub fn add_image(conn: &mut DbConn, id: &str, image: &str) -> Result<bool, DbError> {
    let n: i64 = gi::table
        .filter(gi::grant_id.eq(id))
        .filter(gi::image_id.eq(image))
        .count()
        .get_result(conn)?;
    if n > 0 {
        return Ok(false);
    }
    diesel::insert_into(gi::table)
        .values((gi::grant_id.eq(id), gi::image_id.eq(image)))
        .execute(conn)?;
    Ok(true)
}

/// The grants covering `image`, oldest first.
pub fn covering(conn: &mut DbConn, image: &str) -> Result<Vec<Grant>, DbError> {
    Ok(g::table
        .filter(
            g::id.eq_any(
                gi::table
                    .filter(gi::image_id.eq(image))
                    .select(gi::grant_id),
            ),
        )
        .order((g::created_at.asc(), g::id.asc()))
        .select(Grant::as_select())
        .load(conn)?)
}

/// The oldest grant other than `except` that covers `image` and has reached `project`: the one
/// a row is handed to when `except` lets go of it.
pub fn successor(
    conn: &mut DbConn,
    image: &str,
    project: &str,
    except: &str,
) -> Result<Option<String>, DbError> {
    Ok(g::table
        .filter(g::id.ne(except))
        .filter(
            g::id.eq_any(
                gi::table
                    .filter(gi::image_id.eq(image))
                    .select(gi::grant_id),
            ),
        )
        .filter(
            g::id.eq_any(
                gp::table
                    .filter(gp::project_id.eq(project))
                    .select(gp::grant_id),
            ),
        )
        .order((g::created_at.asc(), g::id.asc()))
        .select(g::id)
        .first(conn)
        .optional()?)
}

/// The grant no longer covers `image` (a tag grant's image lost the tag).
pub fn forget_image(conn: &mut DbConn, id: &str, image: &str) -> Result<(), DbError> {
    diesel::delete(
        gi::table
            .filter(gi::grant_id.eq(id))
            .filter(gi::image_id.eq(image)),
    )
    .execute(conn)?;
    Ok(())
}

/// The grant covers no image any more (it is being revoked): no row is handed to it meanwhile.
pub fn forget_images(conn: &mut DbConn, id: &str) -> Result<(), DbError> {
    diesel::delete(gi::table.filter(gi::grant_id.eq(id))).execute(conn)?;
    Ok(())
}

/// Members of `image` whose rows were made by (or handed to) the grant `id`.
pub fn members_of_image(conn: &mut DbConn, id: &str, image: &str) -> Result<Vec<String>, DbError> {
    Ok(x::table
        .filter(x::grant_id.eq(id))
        .filter(x::image_id.eq(image))
        .order(x::member.asc())
        .select(x::member)
        .load(conn)?)
}

/// Forget an image the grant covered (it was deleted).
pub fn remove_image(conn: &mut DbConn, image: &str) -> Result<(), DbError> {
    diesel::delete(gi::table.filter(gi::image_id.eq(image))).execute(conn)?;
    Ok(())
}

/// Record that the grant has reached `projects`; returns those it had not reached before.
pub fn add_projects(
    conn: &mut DbConn,
    id: &str,
    projects: &[String],
) -> Result<Vec<String>, DbError> {
    let mut new = Vec::new();
    for chunk in projects.chunks(500) {
        let known: std::collections::HashSet<String> = gp::table
            .filter(gp::grant_id.eq(id))
            .filter(gp::project_id.eq_any(chunk))
            .select(gp::project_id)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        let fresh: Vec<&String> = chunk.iter().filter(|p| !known.contains(*p)).collect();
        if fresh.is_empty() {
            continue;
        }
        // One statement per row: the multi-backend connection has no portable batch insert.
        for p in &fresh {
            diesel::insert_into(gp::table)
                .values((gp::grant_id.eq(id), gp::project_id.eq(p.as_str())))
                .execute(conn)?;
        }
        new.extend(fresh.into_iter().cloned());
    }
    Ok(new)
}

/// How many grants cover the image: each counts once against `image_member_quota`.
pub fn count_for_image(conn: &mut DbConn, image: &str) -> Result<i64, DbError> {
    Ok(gi::table
        .filter(gi::image_id.eq(image))
        .count()
        .get_result(conn)?)
}

/// The image's live member rows made by grants (not counted one by one against the quota).
pub fn member_rows_for_image(conn: &mut DbConn, image: &str) -> Result<i64, DbError> {
    Ok(x::table
        .inner_join(
            m::table.on(m::image_id
                .eq(x::image_id)
                .and(m::member.eq(x::member))
                .and(m::deleted.eq(false))),
        )
        .filter(x::image_id.eq(image))
        .filter(x::grant_id.is_not_null())
        .count()
        .get_result(conn)?)
}

/// The image's members as `image_member_quota` counts them: each live row made otherwise than
/// by a grant, and each grant covering the image once, however many projects it reached.
pub fn quota_adjustment(conn: &mut DbConn, image: &str) -> Result<i64, DbError> {
    Ok(count_for_image(conn, image)? - member_rows_for_image(conn, image)?)
}

/// (image, member) of the live rows materialised from the grant, at most `limit`.
pub fn member_rows(
    conn: &mut DbConn,
    id: &str,
    limit: i64,
) -> Result<Vec<(String, String)>, DbError> {
    Ok(x::table
        .filter(x::grant_id.eq(id))
        .order((x::image_id.asc(), x::member.asc()))
        .select((x::image_id, x::member))
        .limit(limit)
        .load(conn)?)
}

/// (image, member) of the grant's rows whose member is `project`.
pub fn member_rows_of(
    conn: &mut DbConn,
    id: &str,
    project: &str,
) -> Result<Vec<(String, String)>, DbError> {
    Ok(x::table
        .filter(x::grant_id.eq(id))
        .filter(x::member.eq(project))
        .select((x::image_id, x::member))
        .load(conn)?)
}

/// Up to `limit` ids of `owner`'s live shared images carrying `tag`, in id order.
pub fn tagged_images(
    conn: &mut DbConn,
    owner: &str,
    tag: &str,
    limit: i64,
) -> Result<Vec<String>, DbError> {
    use super::schema::{image_tags as t, images as i};
    Ok(i::table
        .inner_join(t::table)
        .filter(i::owner.eq(owner))
        .filter(i::visibility.eq("shared"))
        .filter(i::deleted.eq(false))
        .filter(t::deleted.eq(false))
        .filter(t::value.eq(tag))
        .order(i::id.asc())
        .select(i::id)
        .distinct()
        .limit(limit)
        .load(conn)?)
}
