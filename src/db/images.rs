//! Image rows, their properties and tags.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::dsl::exists;
use diesel::dsl::not;
use diesel::prelude::*;

use super::children::ChildrenJson;
use super::connection::{on_backend, DbConn, MultiBackend};
use super::error::DbError;
use super::models::ImageRow;
use super::schema::{image_members, image_properties, image_tags, images};
use crate::domain::context::RequestContext;
use crate::domain::id::ImageId;
use crate::domain::image::{Image, ImageStatus, Visibility};
use crate::domain::list_query::{
    CmpOp, IntColumn, IntFilter, IntOp, ListQuery, SortDir, SortKey, StrFilter,
};
use crate::domain::member::MemberStatus;
use crate::domain::visibility::{MemberStatusFilter, VisibilityFilter};

/// Insert a new image with its properties and tags. A taken id is `Duplicate`.
pub fn insert(conn: &mut DbConn, img: &Image) -> Result<(), DbError> {
    diesel::insert_into(images::table)
        .values(ImageRow::from_domain(img))
        .execute(conn)?;
    insert_properties(conn, &img.id, img.properties.iter(), img.updated_at)?;
    insert_tags(conn, &img.id, img.tags.iter(), img.updated_at)?;
    Ok(())
}

fn insert_properties<'a>(
    conn: &mut DbConn,
    image_id: &str,
    props: impl Iterator<Item = (&'a String, &'a String)>,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    for (k, v) in props {
        diesel::insert_into(image_properties::table)
            .values((
                image_properties::image_id.eq(image_id),
                image_properties::name.eq(k),
                image_properties::value.eq(v),
                image_properties::created_at.eq(now),
                image_properties::updated_at.eq(now),
                image_properties::deleted.eq(false),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn insert_tags<'a>(
    conn: &mut DbConn,
    image_id: &str,
    tags: impl Iterator<Item = &'a String>,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    for t in tags {
        diesel::insert_into(image_tags::table)
            .values((
                image_tags::image_id.eq(image_id),
                image_tags::value.eq(t),
                image_tags::created_at.eq(now),
                image_tags::updated_at.eq(now),
                image_tags::deleted.eq(false),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A live (not deleted) image with tags and properties.
pub fn get(conn: &mut DbConn, id: &ImageId) -> Result<Option<Image>, DbError> {
    let id = id.as_str();
    let row: Option<(ImageRow, Option<String>)> = on_backend!(conn, c => images::table
        .filter(images::id.eq(id))
        .filter(not(images::deleted))
        .select((ImageRow::as_select(), ChildrenJson))
        .first(c)
        .optional())?;
    let Some((row, children)) = row else {
        return Ok(None);
    };
    let mut img = row.into_domain()?;
    (img.properties, img.tags) = super::children::parse(&img.id, children.as_deref())?;
    Ok(Some(img))
}

/// Same as `get`, but takes the row lock first (PostgreSQL `FOR UPDATE`; SQLite's
/// write transaction already holds the database lock). Use inside `write_tx`.
pub fn get_for_update(conn: &mut DbConn, id: &ImageId) -> Result<Option<Image>, DbError> {
    if let DbConn::Pg(pg) = conn {
        let found: Option<String> = images::table
            .filter(images::id.eq(id.as_str()))
            .filter(not(images::deleted))
            .select(images::id)
            .for_update()
            .first(pg)
            .optional()?;
        if found.is_none() {
            return Ok(None);
        }
    }
    get(conn, id)
}

/// Attach tags and properties to rows with one query (properties UNION ALL
/// tags), whatever the page size.
fn hydrate(conn: &mut DbConn, rows: Vec<ImageRow>) -> Result<Vec<Image>, DbError> {
    use diesel::sql_types::{Bool, Nullable, Text};
    // The same query for one image (`= id`) or a page (`IN (ids)`). diesel never caches a
    // statement with an `IN` list on SQLite, and re-preparing the union was 30% of an image
    // show: one id, the common case, gets the cacheable form.
    macro_rules! children {
        ($op:ident, $ids:expr) => {{
            let props = image_properties::table
                .filter(image_properties::image_id.$op($ids))
                .filter(not(image_properties::deleted))
                .select((
                    image_properties::image_id,
                    image_properties::name,
                    image_properties::value,
                    false.into_sql::<Bool>(),
                ));
            let tags = image_tags::table
                .filter(image_tags::image_id.$op($ids))
                .filter(not(image_tags::deleted))
                .select((
                    image_tags::image_id,
                    image_tags::value,
                    None::<String>.into_sql::<Nullable<Text>>(),
                    true.into_sql::<Bool>(),
                ));
            props.union_all(tags)
        }};
    }
    type Child = (String, String, Option<String>, bool);
    let children: Vec<Child> = match rows.as_slice() {
        [] => return Ok(Vec::new()),
        [one] => on_backend!(conn, c => children!(eq, &one.id).load(c))?,
        many => {
            let ids: Vec<&str> = many.iter().map(|r| r.id.as_str()).collect();
            on_backend!(conn, c => children!(eq_any, &ids).load(c))?
        }
    };
    let mut props: HashMap<String, BTreeMap<String, String>> = HashMap::new();
    let mut tags: HashMap<String, BTreeSet<String>> = HashMap::new();
    for (img, name, value, is_tag) in children {
        if is_tag {
            tags.entry(img).or_default().insert(name);
        } else {
            props
                .entry(img)
                .or_default()
                .insert(name, value.unwrap_or_default());
        }
    }
    rows.into_iter()
        .map(|row| {
            let mut img = row.into_domain()?;
            img.properties = props.remove(&img.id).unwrap_or_default();
            img.tags = tags.remove(&img.id).unwrap_or_default();
            Ok(img)
        })
        .collect()
}

/// How much of an image a by-id load reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The row with its tags and properties.
    Full,
    /// The row alone, tags and properties left empty: one statement fewer, for callers that
    /// decide on the row's own columns (the members API: owner and visibility).
    Row,
}

/// A live image, and the caller project's live member row status on it, in one statement:
/// the row joined to the member row and (`Depth::Full`) the tags and properties.
pub fn get_with_membership(
    conn: &mut DbConn,
    id: &ImageId,
    project: Option<&str>,
    depth: Depth,
) -> Result<Option<(Image, Option<MemberStatus>)>, DbError> {
    let Some(project) = project else {
        if depth == Depth::Full {
            return Ok(get(conn, id)?.map(|img| (img, None)));
        }
        let row: Option<ImageRow> = on_backend!(conn, c => images::table
            .filter(images::id.eq(id.as_str()))
            .filter(not(images::deleted))
            .select(ImageRow::as_select())
            .first(c)
            .optional())?;
        return row.map(|r| Ok((r.into_domain()?, None))).transpose();
    };
    macro_rules! joined {
        () => {
            images::table
                .left_join(
                    image_members::table.on(image_members::image_id
                        .eq(images::id)
                        .and(image_members::member.eq(project))
                        .and(not(image_members::deleted))),
                )
                .filter(images::id.eq(id.as_str()))
                .filter(not(images::deleted))
        };
    }
    let (image, status) = match depth {
        Depth::Full => {
            // One statement: the row, the caller's member row and the children as JSON.
            let row: Option<(ImageRow, Option<String>, Option<String>)> = on_backend!(conn, c => joined!()
                .select((ImageRow::as_select(), image_members::status.nullable(), ChildrenJson))
                .first(c)
                .optional())?;
            let Some((row, status, children)) = row else {
                return Ok(None);
            };
            let mut img = row.into_domain()?;
            (img.properties, img.tags) = super::children::parse(&img.id, children.as_deref())?;
            (img, status)
        }
        Depth::Row => {
            let row: Option<(ImageRow, Option<String>)> = on_backend!(conn, c => joined!()
                .select((ImageRow::as_select(), image_members::status.nullable()))
                .first(c)
                .optional())?;
            let Some((row, status)) = row else {
                return Ok(None);
            };
            (row.into_domain()?, status)
        }
    };
    Ok(Some((image, status.and_then(|s| s.parse().ok()))))
}

/// Take the row lock on a live image (PostgreSQL `FOR UPDATE`; SQLite's write
/// transaction already holds the database lock); false if there is none.
pub fn lock(conn: &mut DbConn, id: &ImageId) -> Result<bool, DbError> {
    let id = id.as_str();
    if let DbConn::Pg(pg) = conn {
        let found: Option<String> = images::table
            .filter(images::id.eq(id))
            .filter(not(images::deleted))
            .select(images::id)
            .for_update()
            .first(pg)
            .optional()?;
        return Ok(found.is_some());
    }
    Ok(true)
}

/// Write every attribute of `new` over the stored image, syncing tags and properties with `old`.
pub fn update(conn: &mut DbConn, old: &Image, new: &Image) -> Result<(), DbError> {
    diesel::update(images::table.filter(images::id.eq(&new.id)))
        .set(ImageRow::from_domain(new))
        .execute(conn)?;
    let now = new.updated_at;
    let gone: Vec<&String> = old
        .properties
        .keys()
        .filter(|k| !new.properties.contains_key(*k))
        .collect();
    if !gone.is_empty() {
        diesel::delete(
            image_properties::table
                .filter(image_properties::image_id.eq(&new.id))
                .filter(image_properties::name.eq_any(gone)),
        )
        .execute(conn)?;
    }
    for (k, v) in &new.properties {
        match old.properties.get(k) {
            Some(ov) if ov == v => {}
            Some(_) => {
                diesel::update(
                    image_properties::table
                        .filter(image_properties::image_id.eq(&new.id))
                        .filter(image_properties::name.eq(k)),
                )
                .set((
                    image_properties::value.eq(v),
                    image_properties::updated_at.eq(now),
                ))
                .execute(conn)?;
            }
            None => insert_properties(conn, &new.id, std::iter::once((k, v)), now)?,
        }
    }
    let removed: Vec<&String> = old.tags.difference(&new.tags).collect();
    if !removed.is_empty() {
        diesel::delete(
            image_tags::table
                .filter(image_tags::image_id.eq(&new.id))
                .filter(image_tags::value.eq_any(removed)),
        )
        .execute(conn)?;
    }
    insert_tags(conn, &new.id, new.tags.difference(&old.tags), now)?;
    Ok(())
}

/// Atomically move an image from one status to another; false if it was not in `from`.
pub fn compare_and_set_status(
    conn: &mut DbConn,
    id: &ImageId,
    from: &[ImageStatus],
    to: ImageStatus,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    let id = id.as_str();
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let n = diesel::update(
        images::table
            .filter(images::id.eq(id))
            .filter(not(images::deleted))
            .filter(images::status.eq_any(from)),
    )
    .set((images::status.eq(to.as_str()), images::updated_at.eq(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Glance's soft delete: the image row and its children are marked deleted.
pub fn soft_delete(conn: &mut DbConn, id: &ImageId, now: NaiveDateTime) -> Result<bool, DbError> {
    let id = id.as_str();
    let n = diesel::update(
        images::table
            .filter(images::id.eq(id))
            .filter(not(images::deleted)),
    )
    .set((
        images::deleted.eq(true),
        images::deleted_at.eq(now),
        images::updated_at.eq(now),
        images::status.eq(ImageStatus::Deleted.as_str()),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    diesel::update(image_properties::table.filter(image_properties::image_id.eq(id)))
        .set((
            image_properties::deleted.eq(true),
            image_properties::deleted_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(image_tags::table.filter(image_tags::image_id.eq(id)))
        .set((image_tags::deleted.eq(true), image_tags::deleted_at.eq(now)))
        .execute(conn)?;
    diesel::update(
        image_members::table
            .filter(image_members::image_id.eq(id))
            .filter(not(image_members::deleted)),
    )
    .set((
        image_members::deleted.eq(true),
        image_members::deleted_at.eq(now),
    ))
    .execute(conn)?;
    Ok(true)
}

/// Images in `saving` whose upload stopped sending heartbeats before `stale_before`
/// (the uploading process died): back to `queued`. Returns their ids.
pub fn reset_stale_saving(
    conn: &mut DbConn,
    stale_before: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<Vec<String>, DbError> {
    let stale = images::table
        .filter(not(images::deleted))
        .filter(images::status.eq(ImageStatus::Saving.as_str()))
        .filter(images::updated_at.lt(stale_before));
    let ids: Vec<String> = stale.select(images::id).load(conn)?;
    if !ids.is_empty() {
        // Re-check the status and age in the UPDATE itself: an upload may finish meanwhile.
        diesel::update(stale.filter(images::id.eq_any(&ids)))
            .set((
                images::status.eq(ImageStatus::Queued.as_str()),
                images::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(ids)
}

type BoxedCond = Box<
    dyn BoxableExpression<
        images::table,
        MultiBackend,
        SqlType = diesel::sql_types::Nullable<diesel::sql_types::Bool>,
    >,
>;

fn always(b: bool) -> BoxedCond {
    Box::new(diesel::dsl::sql::<
        diesel::sql_types::Nullable<diesel::sql_types::Bool>,
    >(if b { "1 = 1" } else { "1 = 0" }))
}

/// `images.id` is among the images the project has a live member row on
/// (with `status`, if given). PostgreSQL gets `= ANY(ARRAY(subquery))`: the
/// subquery runs once and the result is an index condition on the primary key,
/// so it can sit inside an OR that PostgreSQL answers with a BitmapOr of index
/// scans (a plain `IN (subquery)` inside an OR becomes a per-row filter, i.e. a
/// scan of every image). SQLite answers `IN (subquery)` inside an OR from the
/// primary key on its own.
fn member_image_ids(project: &str, status: Option<MemberStatus>, pg: bool) -> BoxedCond {
    use diesel::sql_types::{Nullable, Text};
    let head = if pg {
        "images.id = ANY(ARRAY(SELECT image_members.image_id FROM image_members \
         WHERE image_members.member = "
    } else {
        "images.id IN (SELECT image_members.image_id FROM image_members \
         WHERE image_members.member = "
    };
    let q = diesel::dsl::sql::<Nullable<diesel::sql_types::Bool>>(head)
        .bind::<Text, _>(project.to_owned())
        .sql(" AND NOT image_members.deleted");
    let close = if pg { "))" } else { ")" };
    match status {
        None => Box::new(q.sql(close)),
        Some(s) => Box::new(
            q.sql(" AND image_members.status = ")
                .bind::<Text, _>(s.as_str().to_owned())
                .sql(close),
        ),
    }
}

/// The SQL twin of `domain::visibility::listed` (candidate set and visibility
/// filter together).
///
/// For a project-scoped caller it is written as a disjunction of candidate sets
/// that each have an index (as Glance's UNION of "images" and "member rows"):
/// open images (`visibility`), the project's own (`owner`), and images shared
/// with it (its member rows -> primary key). The `visibility=` filter is folded
/// into the sets, so the cost of a list follows what the caller may see, never
/// the number of images it cannot.
fn visibility_condition(
    ctx: &RequestContext,
    vis: VisibilityFilter,
    ms: MemberStatusFilter,
    pg: bool,
) -> BoxedCond {
    let v = |x: Visibility| images::visibility.eq(x.as_str().to_owned()).nullable();
    if ctx.is_admin() {
        return match vis {
            VisibilityFilter::All => always(true),
            VisibilityFilter::Only(x) => Box::new(v(x)),
            // An admin has no "own" images beyond its project's: community ones
            // are hidden by default unless the admin's project owns them.
            VisibilityFilter::Default => match ctx.project() {
                Some(p) => Box::new(
                    images::visibility
                        .ne(Visibility::Community.as_str().to_owned())
                        .nullable()
                        .or(images::owner.eq(p.to_owned())),
                ),
                None => Box::new(
                    images::visibility
                        .ne(Visibility::Community.as_str().to_owned())
                        .nullable(),
                ),
            },
        };
    }
    let Some(p) = ctx.project() else {
        // No project: only public images are candidates.
        return match vis {
            VisibilityFilter::Only(x) if x != Visibility::Public => always(false),
            _ => Box::new(v(Visibility::Public)),
        };
    };
    // Open images any project may list, as the filter allows them. Others'
    // community images are hidden by default; the caller's own come from `owned`.
    let open: Vec<String> = match vis {
        VisibilityFilter::Default => vec![Visibility::Public],
        VisibilityFilter::All => vec![Visibility::Public, Visibility::Community],
        VisibilityFilter::Only(x @ (Visibility::Public | Visibility::Community)) => vec![x],
        VisibilityFilter::Only(_) => vec![],
    }
    .into_iter()
    .map(|x| x.as_str().to_owned())
    .collect();
    // Open images and the caller's own, as the filter allows them.
    let base = || -> BoxedCond {
        let owned: BoxedCond = match vis {
            VisibilityFilter::Only(x) => Box::new(images::owner.eq(p.to_owned()).and(v(x))),
            _ => Box::new(images::owner.eq(p.to_owned()).nullable()),
        };
        if open.is_empty() {
            owned
        } else {
            Box::new(images::visibility.eq_any(open.clone()).nullable().or(owned))
        }
    };
    if !matches!(
        vis,
        VisibilityFilter::Default
            | VisibilityFilter::All
            | VisibilityFilter::Only(Visibility::Shared)
    ) {
        return base();
    }
    let status = match ms {
        MemberStatusFilter::All => None,
        MemberStatusFilter::Only(s) => Some(s),
    };
    // base OR (shared AND member), written as (base OR member) AND (base OR
    // shared): the first conjunct is the index arms alone, so the planner does
    // not intersect the member ids with the large `visibility = shared` set.
    Box::new(
        base()
            .or(member_image_ids(p, status, pg))
            .and(base().or(v(Visibility::Shared))),
    )
}

macro_rules! str_filter {
    ($conds:ident, $col:expr, $f:expr) => {
        if let Some(f) = $f {
            $conds.push(match f {
                StrFilter::Eq(v) => Box::new($col.eq(v.clone()).nullable()) as BoxedCond,
                StrFilter::In(vs) => Box::new($col.eq_any(vs.clone()).nullable()),
            });
        }
    };
}

macro_rules! cmp_filter {
    ($conds:ident, $col:expr, $f:expr) => {
        if let Some(f) = $f {
            let at = f.at;
            $conds.push(match f.op {
                CmpOp::Gt => Box::new($col.gt(at).nullable()) as BoxedCond,
                CmpOp::Gte => Box::new($col.ge(at).nullable()),
                CmpOp::Eq => Box::new($col.eq(at).nullable()),
                CmpOp::Neq => Box::new($col.ne(at).nullable()),
                CmpOp::Lt => Box::new($col.lt(at).nullable()),
                CmpOp::Lte => Box::new($col.le(at).nullable()),
            });
        }
    };
}

/// "After the marker" for one nullable sort column, NULL sorting lowest.
macro_rules! key_conditions {
    ($col:expr, $val:expr, $dir:expr) => {{
        let val = $val;
        let eq: BoxedCond = match &val {
            None => Box::new($col.is_null().nullable()),
            Some(v) => Box::new($col.eq(v.clone()).nullable()),
        };
        let after: BoxedCond = match (&val, $dir) {
            (None, SortDir::Asc) => Box::new($col.is_not_null().nullable()),
            (None, SortDir::Desc) => always(false),
            (Some(v), SortDir::Asc) => Box::new($col.gt(v.clone()).nullable()),
            (Some(v), SortDir::Desc) => {
                Box::new($col.lt(v.clone()).nullable().or($col.is_null().nullable()))
            }
        };
        (eq, after)
    }};
}

/// The SQL for a sort column the planner must not take from an index (`fenced_sort`):
/// `created_at` and `id` as expressions no index provides, the same on both backends' values.
fn fenced(key: SortKey, pg: bool) -> Option<&'static str> {
    match (key, pg) {
        (SortKey::CreatedAt, true) => Some("(images.created_at + INTERVAL '0 seconds')"),
        (SortKey::CreatedAt, false) => Some("+images.created_at"),
        (SortKey::Id, true) => Some("(images.id || '')"),
        (SortKey::Id, false) => Some("+images.id"),
        _ => None,
    }
}

/// `fence`: `Some(pg)` when the plan must start from the caller's candidate sets; the
/// marker's comparisons then use the fenced expressions too, or PostgreSQL would AND the
/// sets with an index range of every image older than the marker, which dominated deep pages
/// at 1M images (bench/RESULTS.md, "Figures behind the code").
fn key_condition(
    key: SortKey,
    dir: SortDir,
    m: &Image,
    fence: Option<bool>,
) -> (BoxedCond, BoxedCond) {
    use diesel::sql_types::{Nullable, Text, Timestamp};
    let fenced_sql = fence.and_then(|pg| fenced(key, pg));
    match key {
        SortKey::Name => key_conditions!(images::name, m.name.clone(), dir),
        SortKey::Status => {
            key_conditions!(
                images::status.nullable(),
                Some(m.status.as_str().to_owned()),
                dir
            )
        }
        SortKey::ContainerFormat => {
            key_conditions!(images::container_format, m.container_format.clone(), dir)
        }
        SortKey::DiskFormat => key_conditions!(images::disk_format, m.disk_format.clone(), dir),
        SortKey::Size => key_conditions!(images::size, m.size, dir),
        SortKey::Id => match fenced_sql {
            Some(e) => key_conditions!(
                diesel::dsl::sql::<Nullable<Text>>(e),
                Some(m.id.clone()),
                dir
            ),
            None => key_conditions!(images::id.nullable(), Some(m.id.clone()), dir),
        },
        SortKey::CreatedAt => match fenced_sql {
            Some(e) => key_conditions!(
                diesel::dsl::sql::<Nullable<Timestamp>>(e),
                Some(m.created_at),
                dir
            ),
            None => key_conditions!(images::created_at.nullable(), Some(m.created_at), dir),
        },
        SortKey::UpdatedAt => key_conditions!(images::updated_at, Some(m.updated_at), dir),
    }
}

/// Rows strictly after the marker in the sort order: for some key i, every
/// earlier key equals the marker's value and key i comes after it. Written flat (an OR of
/// ANDs, [`Flat`]); `sort` holds each column once (`list_query` drops repeats), so this is at
/// most 8 terms of at most 8 comparisons.
/// `fence` as for `key_condition`; without one, the first key also gets an index range.
fn marker_condition(sort: &[(SortKey, SortDir)], m: &Image, fence: Option<bool>) -> BoxedCond {
    let terms: Vec<BoxedCond> = (0..sort.len())
        .map(|i| {
            let (key, dir) = sort[i];
            let mut term = vec![key_condition(key, dir, m, fence).1];
            term.extend(
                sort[..i]
                    .iter()
                    .map(|(k, d)| key_condition(*k, *d, m, fence).0),
            );
            Box::new(Flat::all(term)) as BoxedCond
        })
        .collect();
    let result: BoxedCond = Box::new(Flat::any(terms));
    if fence.is_some() {
        return result;
    }
    match sort.first() {
        Some((key, dir)) => match first_key_bound(*key, *dir, m) {
            Some(bound) => Box::new(Flat::all(vec![bound, result])),
            None => result,
        },
        None => result,
    }
}

/// A range on the first sort key implied by `marker_condition` (it adds no
/// rows and removes none), written so an index on that column can start at the
/// marker instead of walking past every earlier page (used where the plan walks
/// the sort index: admins). Only for NOT NULL columns:
/// a nullable key sorts NULLs apart and has no single range.
fn first_key_bound(key: SortKey, dir: SortDir, m: &Image) -> Option<BoxedCond> {
    macro_rules! bound {
        ($col:expr, $v:expr) => {
            Some(match dir {
                SortDir::Asc => Box::new($col.ge($v).nullable()) as BoxedCond,
                SortDir::Desc => Box::new($col.le($v).nullable()),
            })
        };
    }
    match key {
        SortKey::CreatedAt => bound!(images::created_at, m.created_at),
        SortKey::Id => bound!(images::id, m.id.clone()),
        SortKey::Status => bound!(images::status, m.status.as_str().to_owned()),
        _ => None,
    }
}

fn int_condition(f: &IntFilter) -> BoxedCond {
    macro_rules! cmp {
        ($col:expr, $v:expr) => {
            match f.op {
                IntOp::Eq => Box::new($col.eq($v).nullable()) as BoxedCond,
                IntOp::Gte => Box::new($col.ge($v).nullable()),
                IntOp::Lte => Box::new($col.le($v).nullable()),
            }
        };
    }
    // min_ram and min_disk are 32-bit columns: a value outside that range matches nothing.
    let small = i32::try_from(f.value);
    match (f.column, small) {
        (IntColumn::Size, _) => cmp!(images::size, f.value),
        (IntColumn::VirtualSize, _) => cmp!(images::virtual_size, f.value),
        (IntColumn::MinRam, Ok(v)) => cmp!(images::min_ram, v),
        (IntColumn::MinDisk, Ok(v)) => cmp!(images::min_disk, v),
        (IntColumn::MinRam | IntColumn::MinDisk, Err(_)) => match f.op {
            IntOp::Gte => always(f.value < 0),
            IntOp::Lte => always(f.value > 0),
            IntOp::Eq => always(false),
        },
    }
}

/// Conditions joined by one operator at a single level of parentheses: `((a) AND (b) AND (c))`.
/// diesel's `and`/`or` (and each `filter` on a boxed query) nest one pair per call, so n
/// conditions came out n parentheses deep: SQLite's parser stops near 100 ("parser stack
/// overflow") and every pass over the tree walks it whole. Here depth is constant and the SQL
/// grows by the size of each condition. No conditions: `empty` (`1 = 1` for AND, `1 = 0` for OR).
struct Flat<QS> {
    op: &'static str,
    empty: &'static str,
    items: Vec<Cond<QS>>,
}

type Cond<QS> = Box<
    dyn BoxableExpression<
        QS,
        MultiBackend,
        SqlType = diesel::sql_types::Nullable<diesel::sql_types::Bool>,
    >,
>;

impl<QS> Flat<QS> {
    fn all(items: Vec<Cond<QS>>) -> Self {
        Flat {
            op: " AND ",
            empty: "1 = 1",
            items,
        }
    }

    fn any(items: Vec<Cond<QS>>) -> Self {
        Flat {
            op: " OR ",
            empty: "1 = 0",
            items,
        }
    }
}

impl<QS> Expression for Flat<QS> {
    type SqlType = diesel::sql_types::Nullable<diesel::sql_types::Bool>;
}

// Every item was boxed for `QS`; a correlated subquery checks its WHERE against the join of
// its table with the outer one, which the items satisfy as well.
impl<QS, T> AppearsOnTable<T> for Flat<QS> {}

impl<QS, T> SelectableExpression<T> for Flat<QS> {}

impl<QS> diesel::expression::ValidGrouping<()> for Flat<QS> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl<QS> diesel::query_builder::QueryId for Flat<QS> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<QS> diesel::query_builder::QueryFragment<MultiBackend> for Flat<QS> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, MultiBackend>,
    ) -> QueryResult<()> {
        if self.items.is_empty() {
            out.push_sql(self.empty);
            return Ok(());
        }
        out.push_sql("(");
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                out.push_sql(self.op);
            }
            out.push_sql("(");
            item.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        out.push_sql(")");
        Ok(())
    }
}

/// A whole ORDER BY list as one fragment. diesel's `then_order_by` on a boxed query pairs the
/// old clause with the new term, and rendering a pair asks each side whether it is empty by
/// walking it whole: two walks per level, 2^n for n terms (a query with 20 sort keys never
/// finished rendering). The terms are fixed column SQL, so the list is a string.
struct OrderList(String);

impl Expression for OrderList {
    type SqlType = diesel::sql_types::Text;
}

impl AppearsOnTable<images::table> for OrderList {}

impl diesel::query_builder::QueryId for OrderList {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::QueryFragment<MultiBackend> for OrderList {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, MultiBackend>,
    ) -> QueryResult<()> {
        out.push_sql(&self.0);
        Ok(())
    }
}

/// `(name, value) IN (VALUES (k1, v1), (k2, v2), ...)` on `image_properties`: a list, where
/// an OR of pairs would be an expression tree as deep as it is long (SQLite refuses one deeper
/// than 1,000).
struct PropertyPairs(Vec<(String, String)>);

impl Expression for PropertyPairs {
    type SqlType = diesel::sql_types::Bool;
}

impl<T> AppearsOnTable<T> for PropertyPairs {}

impl<T> SelectableExpression<T> for PropertyPairs {}

impl diesel::expression::ValidGrouping<()> for PropertyPairs {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl diesel::query_builder::QueryId for PropertyPairs {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::QueryFragment<MultiBackend> for PropertyPairs {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, MultiBackend>,
    ) -> QueryResult<()> {
        use diesel::sql_types::Text;
        // One statement per list length would fill the statement cache (diesel treats its
        // own `IN` lists the same way).
        out.unsafe_to_cache_prepared();
        if self.0.is_empty() {
            out.push_sql("1 = 0");
            return Ok(());
        }
        out.push_sql("(\"image_properties\".\"name\", \"image_properties\".\"value\") IN (VALUES ");
        for (i, (k, v)) in self.0.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<Text, String>(k)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, String>(v)?;
            out.push_sql(")");
        }
        out.push_sql(")");
        Ok(())
    }
}

/// Tag and property filters written as one `EXISTS` each (what both planners handle best:
/// PostgreSQL may start from a rare property's rows) up to this many of each kind; the rest
/// go into one counting subquery per kind. PostgreSQL turns every `EXISTS` into a semi-join,
/// and planning n of them grows much faster than n, while the counting subqueries plan in
/// constant time (bench/RESULTS.md, "Figures behind the code").
const EXISTS_FILTERS: usize = 2;

/// The image carries every tag in `tags` (distinct values).
fn tag_conditions(tags: &[String], conds: &mut Vec<BoxedCond>) {
    let (each, rest) = tags.split_at(tags.len().min(EXISTS_FILTERS));
    for tag in each {
        conds.push(Box::new(
            exists(
                image_tags::table
                    .filter(image_tags::image_id.eq(images::id))
                    .filter(image_tags::value.eq(tag.clone()))
                    .filter(not(image_tags::deleted)),
            )
            .nullable(),
        ));
    }
    if rest.is_empty() {
        return;
    }
    // Live tags are unique per image (`ux_image_tags_live`): all are there when the image's
    // live tags among them number as many as there are.
    let wanted = i64::try_from(rest.len()).unwrap_or(i64::MAX);
    conds.push(Box::new(
        image_tags::table
            .filter(image_tags::image_id.eq(images::id))
            .filter(not(image_tags::deleted))
            .filter(image_tags::value.eq_any(rest.to_vec()))
            .select(diesel::dsl::count(image_tags::value).aggregate_distinct())
            .single_value()
            .eq(wanted),
    ));
}

/// The image has every `key = value` property in `props` (one per key).
fn property_conditions(props: &[(String, String)], conds: &mut Vec<BoxedCond>) {
    let (each, rest) = props.split_at(props.len().min(EXISTS_FILTERS));
    for (k, v) in each {
        conds.push(Box::new(
            exists(
                image_properties::table
                    .filter(image_properties::image_id.eq(images::id))
                    .filter(image_properties::name.eq(k.clone()))
                    .filter(image_properties::value.eq(v.clone()))
                    .filter(not(image_properties::deleted)),
            )
            .nullable(),
        ));
    }
    if rest.is_empty() {
        return;
    }
    // A name appears once per image (`ix_image_properties_image_id_name`): the image matches
    // when as many of its properties match one of the pairs as there are pairs.
    let wanted = i64::try_from(rest.len()).unwrap_or(i64::MAX);
    conds.push(Box::new(
        image_properties::table
            .filter(image_properties::image_id.eq(images::id))
            .filter(not(image_properties::deleted))
            .filter(PropertyPairs(rest.to_vec()))
            .select(diesel::dsl::count(image_properties::name).aggregate_distinct())
            .single_value()
            .eq(wanted),
    ));
}

/// The list query: visibility, filters, sort and keyset paging, all in SQL. Its size is
/// linear in the query's (each filter, `in:` value and sort key adds a bounded piece) and its
/// nesting depth is constant; `list_query` bounds the filters (`domain::limits`).
pub fn list(
    conn: &mut DbConn,
    ctx: &RequestContext,
    q: &ListQuery,
    marker: Option<&Image>,
) -> Result<Vec<Image>, DbError> {
    if q.matches_nothing {
        return Ok(Vec::new());
    }
    let pg = matches!(conn, DbConn::Pg(_));
    let rows: Vec<ImageRow> = list_query(ctx, q, marker, pg).load(conn)?;
    hydrate(conn, rows)
}

fn list_query<'a>(
    ctx: &RequestContext,
    q: &ListQuery,
    marker: Option<&Image>,
    pg: bool,
) -> BoxedQuery<'a> {
    let mut conds: Vec<BoxedCond> = vec![
        Box::new(not(images::deleted).nullable()),
        Box::new(images::status.ne(ImageStatus::Killed.as_str()).nullable()),
        visibility_condition(ctx, q.visibility, q.member_status, pg),
    ];
    if let Some(owner) = &q.owner {
        conds.push(Box::new(images::owner.eq(owner.clone())));
    }
    str_filter!(conds, images::name, &q.name);
    str_filter!(conds, images::id, &q.id);
    str_filter!(conds, images::status, &q.status);
    str_filter!(conds, images::container_format, &q.container_format);
    str_filter!(conds, images::disk_format, &q.disk_format);
    if let Some(c) = &q.checksum {
        conds.push(Box::new(images::checksum.eq(c.clone())));
    }
    if let Some(h) = &q.os_hash_value {
        conds.push(Box::new(images::os_hash_value.eq(h.clone())));
    }
    if let Some(a) = &q.os_hash_algo {
        conds.push(Box::new(images::os_hash_algo.eq(a.clone())));
    }
    conds.extend(q.int_filters.iter().map(int_condition));
    if let Some(n) = q.size_min {
        conds.push(Box::new(images::size.ge(n)));
    }
    if let Some(n) = q.size_max {
        conds.push(Box::new(images::size.le(n)));
    }
    cmp_filter!(conds, images::created_at, &q.created_at);
    cmp_filter!(conds, images::updated_at, &q.updated_at);
    conds.push(Box::new(images::os_hidden.eq(q.os_hidden).nullable()));
    if let Some(p) = q.protected {
        conds.push(Box::new(images::protected.eq(p).nullable()));
    }
    tag_conditions(&q.tags, &mut conds);
    property_conditions(&q.properties, &mut conds);
    // Both planners would otherwise often walk the created_at index newest first
    // and test every image on the way (cost: the images the caller cannot see;
    // 0.35 s at 1M images on PostgreSQL). For a project-scoped caller the
    // candidate sets are the bounded side, so the sort keys are given as
    // expressions no index provides and the marker gets no index range: the plan
    // starts from the sets (PostgreSQL's BitmapOr, SQLite's MULTI-INDEX OR) and
    // sorts only what the caller may see.
    let fence = !ctx.is_admin() && ctx.project().is_some();
    if let Some(m) = marker {
        conds.push(marker_condition(&q.sort, m, fence.then_some(pg)));
    }
    let order: Vec<String> = q
        .sort
        .iter()
        .map(|(key, dir)| order_term(*key, *dir, if fence { fenced(*key, pg) } else { None }))
        .collect();
    images::table
        .select(ImageRow::as_select())
        .into_boxed::<MultiBackend>()
        .filter(Flat::all(conds))
        .order_by(OrderList(order.join(", ")))
        .limit(q.limit)
}

type BoxedQuery<'a> =
    images::BoxedQuery<'a, MultiBackend, diesel::dsl::AsSelect<ImageRow, MultiBackend>>;

/// One key of the ORDER BY; NULL sorts lowest on both backends (PostgreSQL's default is
/// highest). `fenced`: the expression that replaces the column (see `fenced`), which sorts as
/// the column does.
fn order_term(key: SortKey, dir: SortDir, fenced: Option<&str>) -> String {
    let dir_sql = match dir {
        SortDir::Asc => "ASC",
        SortDir::Desc => "DESC",
    };
    if let Some(e) = fenced {
        return format!("{e} {dir_sql}");
    }
    let (column, nullable) = match key {
        SortKey::Name => ("\"images\".\"name\"", true),
        SortKey::Status => ("\"images\".\"status\"", false),
        SortKey::ContainerFormat => ("\"images\".\"container_format\"", true),
        SortKey::DiskFormat => ("\"images\".\"disk_format\"", true),
        SortKey::Size => ("\"images\".\"size\"", true),
        SortKey::Id => ("\"images\".\"id\"", false),
        SortKey::CreatedAt => ("\"images\".\"created_at\"", false),
        SortKey::UpdatedAt => ("\"images\".\"updated_at\"", true),
    };
    if !nullable {
        return format!("{column} {dir_sql}");
    }
    // NULLs first ascending, last descending.
    let nulls = match dir {
        SortDir::Asc => "DESC",
        SortDir::Desc => "ASC",
    };
    format!("{column} IS NULL {nulls}, {column} {dir_sql}")
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use chrono::NaiveDate;
    use diesel::connection::InstrumentationEvent;
    use diesel::sqlite::SqliteConnection;
    use diesel::Connection;
    use diesel_migrations::MigrationHarness;

    use super::*;
    use crate::domain::list_query::{parse, ListDefaults};

    type Log = Arc<Mutex<Vec<String>>>;

    /// A migrated in-memory SQLite database whose statements' SQL is recorded.
    fn conn() -> (DbConn, Log) {
        let mut c = match SqliteConnection::establish(":memory:") {
            Ok(c) => c,
            Err(e) => panic!("sqlite: {e}"),
        };
        let log: Log = Arc::default();
        let sink = log.clone();
        c.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                let sql = query.to_string();
                let sql = sql
                    .split(" -- binds:")
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(sql);
            }
        });
        let mut conn = DbConn::Sqlite(c);
        if let Err(e) = conn.run_pending_migrations(super::super::connection::SQLITE_MIGRATIONS) {
            panic!("migrate: {e}");
        }
        (conn, log)
    }

    fn at(secs: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default()
            + chrono::TimeDelta::seconds(secs)
    }

    fn image(id: &str, secs: i64, tags: &[&str], props: &[(&str, &str)]) -> Image {
        let mut img = Image::new(id.to_owned(), Some("p1".to_owned()), at(secs));
        img.name = Some(format!("name-{id}"));
        img.tags = tags.iter().map(|t| t.to_string()).collect();
        img.properties = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        img
    }

    /// The SQL of the list statement for `raw` (the statement with ORDER BY), and the ids.
    fn run(
        conn: &mut DbConn,
        log: &Log,
        raw: &str,
        marker: Option<&Image>,
    ) -> (String, Vec<String>) {
        let q = match parse(raw, &ListDefaults::default()) {
            Ok(q) => q,
            Err(e) => panic!("{raw}: {e}"),
        };
        run_query(conn, log, &q, marker)
    }

    fn run_query(
        conn: &mut DbConn,
        log: &Log,
        q: &ListQuery,
        marker: Option<&Image>,
    ) -> (String, Vec<String>) {
        let raw = format!(
            "{} tags, {} properties, {} sort keys",
            q.tags.len(),
            q.properties.len(),
            q.sort.len()
        );
        let ctx = RequestContext::new(Some("p1"), &["member"]);
        log.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let ids = match list(conn, &ctx, q, marker) {
            Ok(v) => v.into_iter().map(|i| i.id).collect(),
            Err(e) => panic!("{raw}: {e}"),
        };
        let sql = log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|s| s.contains("ORDER BY"))
            .cloned()
            .unwrap_or_default();
        (sql, ids)
    }

    /// The deepest parenthesis nesting outside string literals.
    fn depth(sql: &str) -> usize {
        let (mut d, mut max, mut quoted) = (0usize, 0, false);
        for c in sql.chars() {
            match c {
                '\'' => quoted = !quoted,
                '(' if !quoted => {
                    d += 1;
                    max = max.max(d);
                }
                ')' if !quoted => d = d.saturating_sub(1),
                _ => {}
            }
        }
        max
    }

    fn repeat(n: usize, f: impl Fn(usize) -> String) -> String {
        (0..n).map(f).collect::<Vec<_>>().join("&")
    }

    // The statement grows linearly with the filters and sort keys asked for, and its nesting
    // does not grow at all: for each kind of input, the SQL for 2n items is at most twice the
    // SQL for n plus a constant, at every n up to the limits, and its depth stays bounded.
    #[test]
    fn list_sql_is_linear_in_the_query() {
        let (mut conn, log) = conn();
        let m = image("m", 5, &[], &[]);
        if let Err(e) = insert(&mut conn, &m) {
            panic!("{e}");
        }
        type Gen = fn(usize) -> String;
        let kinds: [(&str, Gen); 6] = [
            ("tags", |n| repeat(n, |i| format!("tag=t{i}"))),
            ("properties", |n| repeat(n, |i| format!("p{i}=v{i}"))),
            ("tags and properties", |n| {
                repeat(n, |i| {
                    if i % 2 == 0 {
                        format!("tag=t{i}")
                    } else {
                        format!("p{i}=v{i}")
                    }
                })
            }),
            ("in values", |n| {
                format!(
                    "id=in:{}",
                    (0..n)
                        .map(|i| format!("i{i}"))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            }),
            ("sort keys", |n| repeat(n, |_| "sort_key=name".to_owned())),
            ("sort specs", |n| {
                format!("sort={}", vec!["name:asc"; n].join(","))
            }),
        ];
        for (what, gen) in kinds {
            for marker in [None, Some(&m)] {
                let mut prev: Option<usize> = None;
                let mut n = 1;
                while n <= 64 {
                    let (sql, _) = run(&mut conn, &log, &gen(n), marker);
                    assert!(!sql.is_empty(), "{what} x{n}: no list statement seen");
                    assert!(
                        depth(&sql) <= 12,
                        "{what} x{n}: depth {}: {sql}",
                        depth(&sql)
                    );
                    if let Some(p) = prev {
                        assert!(
                            sql.len() <= 2 * p + 200,
                            "{what}: {} bytes at {n}, {p} at {}",
                            sql.len(),
                            n / 2
                        );
                    }
                    prev = Some(sql.len());
                    n *= 2;
                }
            }
        }
        // Beyond the request limits too (the database layer does not rely on them): up to
        // 1,024 tags and properties, and 512 sort keys without the parser's de-duplication
        // (SQLite takes at most 2,000 ORDER BY terms; a nullable key is two).
        let mut prev: Option<usize> = None;
        let mut n = 64;
        while n <= 512 {
            let mut q = match parse("", &ListDefaults::default()) {
                Ok(q) => q,
                Err(e) => panic!("{e}"),
            };
            q.tags = (0..n).map(|i| format!("t{i}")).collect();
            q.properties = (0..n).map(|i| (format!("p{i}"), format!("v{i}"))).collect();
            q.sort = vec![(SortKey::Name, SortDir::Asc); n];
            let (sql, _) = run_query(&mut conn, &log, &q, None);
            assert!(depth(&sql) <= 12, "x{n}: depth {}", depth(&sql));
            if let Some(p) = prev {
                assert!(
                    sql.len() <= 2 * p + 200,
                    "{} bytes at {n}, {p} at {}",
                    sql.len(),
                    n / 2
                );
            }
            prev = Some(sql.len());
            n *= 2;
        }
        // A repeated sort key adds nothing at all.
        let one = run(&mut conn, &log, "sort_key=name", Some(&m)).0;
        let many = run(
            &mut conn,
            &log,
            &repeat(100, |_| "sort_key=name".into()),
            Some(&m),
        )
        .0;
        assert_eq!(one, many);
    }

    // The filters beyond the EXISTS ones (a counting subquery) select exactly as EXISTS do:
    // every tag and every property required, deleted ones not counted.
    #[test]
    fn many_tags_and_properties_select_as_few_do() {
        let (mut conn, log) = conn();
        let tags: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
        let props: Vec<(String, String)> = (0..10)
            .map(|i| (format!("p{i}"), format!("v{i}")))
            .collect();
        let all_tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        let all_props: Vec<(&str, &str)> = props
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let images = [
            image("all", 1, &all_tags, &all_props),
            image("no-t9", 2, &all_tags[..9], &all_props),
            image("no-p9", 3, &all_tags, &all_props[..9]),
            image(
                "p9-differs",
                4,
                &all_tags,
                &[&all_props[..9], &[("p9", "other")]].concat(),
            ),
            image(
                "extra",
                5,
                &[&all_tags[..], &["x"]].concat(),
                &[&all_props[..], &[("q", "r")]].concat(),
            ),
        ];
        for img in &images {
            if let Err(e) = insert(&mut conn, img) {
                panic!("{e}");
            }
        }
        let tq = repeat(10, |i| format!("tag=t{i}"));
        let pq = repeat(10, |i| format!("p{i}=v{i}"));
        let ids = |conn: &mut DbConn, raw: &str| run(conn, &log, raw, None).1;
        assert_eq!(ids(&mut conn, &tq), ["extra", "p9-differs", "no-p9", "all"]);
        assert_eq!(ids(&mut conn, &pq), ["extra", "no-t9", "all"]);
        assert_eq!(ids(&mut conn, &format!("{tq}&{pq}")), ["extra", "all"]);
        // A tag asked for twice is asked for once.
        assert_eq!(ids(&mut conn, &format!("{tq}&{tq}&{pq}")), ["extra", "all"]);
        // A deleted tag no longer counts.
        if let Err(e) = diesel::update(
            image_tags::table
                .filter(image_tags::image_id.eq("extra"))
                .filter(image_tags::value.eq("t8")),
        )
        .set(image_tags::deleted.eq(true))
        .execute(&mut conn)
        {
            panic!("{e}");
        }
        assert_eq!(ids(&mut conn, &format!("{tq}&{pq}")), ["all"]);
    }
}
