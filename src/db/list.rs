//! `GET /v2/images` in SQL: visibility, filters, sort and keyset paging.
//!
//! A page is a UNION ALL of streams, one per set of images the caller may list (public,
//! community, the project's own by visibility, every visibility for an admin, the images
//! shared with it). Each stream is `ORDER BY <sort> LIMIT n` over an index that starts with
//! the stream's equality (`visibility`, or `owner, visibility`) and continues with the sort
//! keys (migration `list_indexes`), with the marker as a range on that index; the outer
//! query merges them and keeps `n`. So a page reads at most streams x `n` index entries,
//! whatever the number of images. The shared-with-me stream starts from the caller's member
//! rows instead (its cost follows their number) and is sorted.
//!
//! The streams and the merge carry only the sort keys and the id; the page's `limit` images
//! are then read by primary key in one statement and put back in page order (`page`). When
//! the streams carried whole rows, copying them into the merge's sorter was most of a page.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use super::timestamp::DbTime;
use chrono::NaiveDateTime;
use diesel::dsl::exists;
use diesel::dsl::not;
use diesel::prelude::*;

use super::children::ChildrenJson;
use super::connection::{on_backend, DbConn, MultiBackend};
use super::error::DbError;
use super::fragment::{raw, Bind, Raw};
use super::list_cache::{self, ConnCache};
use super::models::ImageRow;
use super::schema::{image_properties, image_tags, images};
use super::statement_shapes;
use crate::domain::context::RequestContext;
use crate::domain::image::{Image, ImageStatus, Visibility};
use crate::domain::list_query::{
    CmpOp, IntColumn, IntFilter, IntOp, ListQuery, SortDir, SortKey, StrFilter,
};
use crate::domain::member::MemberStatus;
use crate::domain::visibility::{MemberStatusFilter, VisibilityFilter};
use diesel::sql_types::{Bool, Nullable};

/// Above this many images a page's properties and tags are read by one statement for the
/// whole page (`children`) instead of as a JSON column per row (`ChildrenJson`): building and
/// parsing the JSON of each of 1,000 rows made the 1,000-image page slower (bench/SCALE.md,
/// issue #20 third step), while for small pages the second statement costs more than it saves.
const CHILDREN_APART_ABOVE: usize = 64;

/// The page's images, in the order of `ids` (what the merged streams chose), with their
/// properties and tags: one statement by primary key on the concrete connection, where a
/// statement of fixed text is found in diesel's cache without rendering it and rows are read
/// without `MultiConnection`'s row adapter (27 % of a 25-image page on SQLite when the streams
/// carried whole rows). An image deleted since the streams ran is left out. On SQLite the
/// images already read on this connection are taken from its cache while the database is
/// unchanged (`list_cache`).
fn page(
    conn: &mut DbConn,
    ids: &[String],
    cache: Option<&Mutex<ConnCache>>,
) -> Result<Vec<Image>, DbError> {
    let Some(cache) = cache else {
        return page_read(conn, ids);
    };
    let mut found: Vec<Option<Image>> = Vec::with_capacity(ids.len());
    let mut missing: Vec<String> = Vec::new();
    {
        let kept = list_cache::lock(cache);
        for id in ids {
            let hit = kept.image(id).cloned();
            if hit.is_none() {
                missing.push(id.clone());
            }
            found.push(hit);
        }
    }
    if missing.is_empty() {
        return Ok(found.into_iter().flatten().collect());
    }
    let read = page_read(conn, &missing)?;
    let mut kept = list_cache::lock(cache);
    let mut read: HashMap<String, Image> = read
        .into_iter()
        .map(|img| {
            kept.keep_image(&img);
            (img.id.clone(), img)
        })
        .collect();
    Ok(ids
        .iter()
        .zip(found)
        .filter_map(|(id, hit)| hit.or_else(|| read.remove(id)))
        .collect())
}

/// `page` from the database.
fn page_read(conn: &mut DbConn, ids: &[String]) -> Result<Vec<Image>, DbError> {
    let mut images = if ids.len() > CHILDREN_APART_ABOVE {
        let rows = page_rows(conn, ids)?;
        children(conn, rows)?
    } else {
        page_rows_with_children(conn, ids)?
    };
    let at: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    images.sort_by_key(|img| at.get(img.id.as_str()).copied().unwrap_or(usize::MAX));
    Ok(images)
}

/// The rows of `ids` with their children as `ChildrenJson`, in any order.
fn page_rows_with_children(conn: &mut DbConn, ids: &[String]) -> Result<Vec<Image>, DbError> {
    type Row = (ImageRow, Option<String>);
    let rows: Vec<Row> = match ids {
        [] => return Ok(Vec::new()),
        [one] => on_backend!(conn, c => images::table
            .filter(images::id.eq(one))
            .filter(not(images::deleted))
            .select((ImageRow::as_select(), ChildrenJson))
            .load(c))?,
        // PostgreSQL takes the ids as one array (`= ANY($1)`, kept prepared by diesel): a long
        // `IN` list there is planned as a sequential scan (112 ms for a 1,000-image page's
        // children at 100k images).
        many if Dialect::of(conn) == Dialect::Pg => on_backend!(conn, c => images::table
            .filter(images::id.eq_any(many))
            .filter(not(images::deleted))
            .select((ImageRow::as_select(), ChildrenJson))
            .load(c))?,
        many => on_backend!(conn, c => images::table
            .filter(ids_in("images", "id", many))
            .filter(not(images::deleted))
            .select((ImageRow::as_select(), ChildrenJson))
            .load(c))?,
    };
    rows.into_iter()
        .map(|(row, children)| {
            let mut img = row.into_domain()?;
            (img.properties, img.tags) = super::children::parse(&img.id, children.as_deref())?;
            Ok(img)
        })
        .collect()
}

/// The rows of `ids` (more than one) without their children, in any order.
fn page_rows(conn: &mut DbConn, ids: &[String]) -> Result<Vec<ImageRow>, DbError> {
    Ok(if Dialect::of(conn) == Dialect::Pg {
        on_backend!(conn, c => images::table
            .filter(images::id.eq_any(ids))
            .filter(not(images::deleted))
            .select(ImageRow::as_select())
            .load(c))?
    } else {
        on_backend!(conn, c => images::table
            .filter(ids_in("images", "id", ids))
            .filter(not(images::deleted))
            .select(ImageRow::as_select())
            .load(c))?
    })
}

/// `rows` with their properties and tags, read by one statement (properties UNION ALL tags)
/// for all of them.
fn children(conn: &mut DbConn, rows: Vec<ImageRow>) -> Result<Vec<Image>, DbError> {
    use diesel::sql_types::Text;
    macro_rules! children {
        ($props:expr, $tags:expr) => {{
            let props = image_properties::table
                .filter($props)
                .filter(not(image_properties::deleted))
                .select((
                    image_properties::image_id,
                    image_properties::name,
                    image_properties::value,
                    false.into_sql::<Bool>(),
                ));
            let tags = image_tags::table
                .filter($tags)
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
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let found: Vec<Child> = if ids.is_empty() {
        Vec::new()
    } else if Dialect::of(conn) == Dialect::Pg {
        // `= ANY($1)` as for the rows: an `IN` list is a sequential scan of the child tables.
        on_backend!(conn, c => children!(
            image_properties::image_id.eq_any(&ids),
            image_tags::image_id.eq_any(&ids)
        )
        .load(c))?
    } else {
        on_backend!(conn, c => children!(
            ids_in("image_properties", "image_id", &ids),
            ids_in("image_tags", "image_id", &ids)
        )
        .load(c))?
    };
    let mut props: HashMap<String, BTreeMap<String, String>> = HashMap::new();
    let mut tags: HashMap<String, BTreeSet<String>> = HashMap::new();
    for (img, name, value, is_tag) in found {
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

/// `table.column IN (?, ...)` with the list padded (by repeating its last id) to a power of
/// two, so the statements of all page sizes are a handful of texts that stay prepared.
fn ids_in(table: &str, column: &str, ids: &[String]) -> Raw<Bool> {
    let mut q = raw(format!("\"{table}\".\"{column}\" IN ("));
    let padded = ids.len().next_power_of_two();
    for i in 0..padded {
        let id = ids.get(i).or(ids.last()).cloned().unwrap_or_default();
        q = if i == 0 { q } else { q.sql(", ") }.bind(Bind::Text(id));
    }
    q.sql(")")
}

/// The SQL dialect a list statement is written for. MySQL orders NULL lowest and takes the
/// unary `+` (which keeps SQLite's planner off an index) as written, so it shares SQLite's
/// forms except where its syntax differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Pg,
    Mysql,
}

impl Dialect {
    fn of(conn: &DbConn) -> Dialect {
        match conn {
            DbConn::Sqlite(_) => Dialect::Sqlite,
            DbConn::Pg(_) => Dialect::Pg,
            DbConn::Mysql(_) => Dialect::Mysql,
        }
    }
}

type BoxedCond = Box<
    dyn BoxableExpression<
        images::table,
        MultiBackend,
        SqlType = diesel::sql_types::Nullable<diesel::sql_types::Bool>,
    >,
>;

type RawCond = Raw<Nullable<Bool>>;

fn always(b: bool) -> BoxedCond {
    Box::new(raw::<Nullable<Bool>>(if b { "1 = 1" } else { "1 = 0" }))
}

/// `$q AND` the member row's share has not expired at `$at` (sharing extensions): no
/// `glint_member_ext` row of the same (image, member) with `expires_at <= $at`.
fn not_expired(q: RawCond, at: NaiveDateTime) -> RawCond {
    q.sql(" AND NOT ")
        .sql(super::member_ext::EXPIRED_AT_OR_BEFORE)
        .bind(Bind::Ts(DbTime(at)))
        .sql(")")
}

/// `images.id` is among the images the project has a live member row on
/// (with `status`, if given). PostgreSQL gets `= ANY(ARRAY(subquery))`: the
/// subquery runs once and the result is an index condition on the primary key,
/// so it can sit inside an OR that PostgreSQL answers with a BitmapOr of index
/// scans (a plain `IN (subquery)` inside an OR becomes a per-row filter, i.e. a
/// scan of every image). SQLite answers `IN (subquery)` inside an OR from the
/// primary key on its own.
fn member_image_ids(
    project: &str,
    status: Option<MemberStatus>,
    expired_at: Option<NaiveDateTime>,
    pg: bool,
) -> BoxedCond {
    let head = if pg {
        "images.id = ANY(ARRAY(SELECT image_members.image_id FROM image_members \
         WHERE image_members.member = "
    } else {
        "images.id IN (SELECT image_members.image_id FROM image_members \
         WHERE image_members.member = "
    };
    let mut q: RawCond = raw(head)
        .bind(Bind::Text(project.to_owned()))
        .sql(" AND NOT image_members.deleted");
    if let Some(s) = status {
        q = q.sql(format!(" AND image_members.status = '{}'", s.as_str()));
    }
    if let Some(at) = expired_at {
        q = not_expired(q, at);
    }
    Box::new(q.sql(if pg { "))" } else { ")" }))
}

/// MySQL's shared-with-me stream reads `image_members` joined to `images` (`MEMBER_JOIN`):
/// the project's live member rows (with `status`, if given). MariaDB plans `images.id IN
/// (subquery)` as a walk of the shared images, each tested against the member rows.
fn joined_member_rows(
    project: &str,
    status: Option<MemberStatus>,
    expired_at: Option<NaiveDateTime>,
) -> BoxedCond {
    let mut q: RawCond = raw("\"image_members\".\"member\" = ")
        .bind(Bind::Text(project.to_owned()))
        .sql(" AND NOT \"image_members\".\"deleted\"");
    if let Some(s) = status {
        q = q.sql(format!(
            " AND \"image_members\".\"status\" = '{}'",
            s.as_str()
        ));
    }
    if let Some(at) = expired_at {
        q = not_expired(q, at);
    }
    Box::new(q)
}

/// With `pending_ttl` (sharing extensions): the project's pending offers made at or before
/// `before` have expired and leave the shared-with-me stream. On MySQL the stream reads the
/// member row itself (`MEMBER_JOIN`); elsewhere the images of such rows are excluded.
fn stale_pending_offers_excluded(
    project: &str,
    before: NaiveDateTime,
    dialect: Dialect,
) -> BoxedCond {
    if dialect == Dialect::Mysql {
        return Box::new(
            raw::<Nullable<Bool>>(
                "NOT (\"image_members\".\"status\" = 'pending' AND \"image_members\".\"created_at\" <= ",
            )
            .bind(Bind::Ts(DbTime(before)))
            .sql(")"),
        );
    }
    Box::new(
        raw::<Nullable<Bool>>(
            "images.id NOT IN (SELECT stale.image_id FROM image_members stale WHERE stale.member = ",
        )
        .bind(Bind::Text(project.to_owned()))
        .sql(" AND NOT stale.deleted AND stale.status = 'pending' AND stale.created_at <= ")
        .bind(Bind::Ts(DbTime(before)))
        .sql(")"),
    )
}

/// The FROM of MySQL's shared-with-me stream: the caller's member rows first (by the member
/// index), then each image they name by primary key. One live row per (image, member) keeps the
/// join free of repeats.
const MEMBER_JOIN: &str = "\"image_members\" FORCE INDEX (\"ix_image_members_member\") \
     STRAIGHT_JOIN \"images\" FORCE INDEX (\"PRIMARY\") \
     ON \"images\".\"id\" = \"image_members\".\"image_id\"";

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
            let at = DbTime(f.at);
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

/// One set of images the caller may list; the sets of one caller never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    /// Every image of this visibility.
    Vis(Visibility),
    /// The caller project's images of this visibility.
    Own(Visibility),
    /// Others' shared images the caller has a member row on (with this status, if given).
    Members(Option<MemberStatus>),
}

/// The SQL twin of `domain::visibility::listed` (candidate set and `visibility=` filter
/// together), as disjoint streams.
fn streams(ctx: &RequestContext, vis: VisibilityFilter, ms: MemberStatusFilter) -> Vec<Stream> {
    use Stream::*;
    use Visibility::{Community, Private, Public, Shared};
    let status = match ms {
        MemberStatusFilter::All => None,
        MemberStatusFilter::Only(s) => Some(s),
    };
    if ctx.is_admin() {
        return match (vis, ctx.project()) {
            (VisibilityFilter::All, _) => {
                vec![Vis(Public), Vis(Community), Vis(Private), Vis(Shared)]
            }
            (VisibilityFilter::Only(x), _) => vec![Vis(x)],
            // Community images are hidden by default unless the admin's project owns them.
            (VisibilityFilter::Default, Some(_)) => {
                vec![Vis(Public), Vis(Private), Vis(Shared), Own(Community)]
            }
            (VisibilityFilter::Default, None) => vec![Vis(Public), Vis(Private), Vis(Shared)],
        };
    }
    if ctx.project().is_none() {
        // No project: only public images are candidates.
        return match vis {
            VisibilityFilter::Only(x) if x != Public => vec![],
            _ => vec![Vis(Public)],
        };
    }
    match vis {
        VisibilityFilter::Default => vec![
            Vis(Public),
            Own(Private),
            Own(Shared),
            Own(Community),
            Members(status),
        ],
        VisibilityFilter::All => vec![
            Vis(Public),
            Vis(Community),
            Own(Private),
            Own(Shared),
            Members(status),
        ],
        VisibilityFilter::Only(x @ (Public | Community)) => vec![Vis(x)],
        VisibilityFilter::Only(Private) => vec![Own(Private)],
        VisibilityFilter::Only(Shared) => vec![Own(Shared), Members(status)],
    }
}

/// The stream's own condition. Visibility values are SQL literals, so each stream's plan is
/// made for its value.
fn stream_condition(
    s: Stream,
    project: Option<&str>,
    shares_expired_at: Option<NaiveDateTime>,
    pending_offered_before: Option<NaiveDateTime>,
    dialect: Dialect,
) -> BoxedCond {
    let pg = dialect == Dialect::Pg;
    let vis = |v: Visibility| -> BoxedCond {
        Box::new(raw::<Nullable<Bool>>(format!(
            "\"images\".\"visibility\" = '{}'",
            v.as_str()
        )))
    };
    let Some(p) = project else {
        return match s {
            Stream::Vis(v) => vis(v),
            _ => always(false),
        };
    };
    match s {
        Stream::Vis(v) => vis(v),
        Stream::Own(v) => Box::new(Flat::all(vec![
            Box::new(images::owner.eq(p.to_owned())),
            vis(v),
        ])),
        // On SQLite the visibility is written so no index serves it: the member rows must
        // drive this stream (through the primary key), not the `shared` images.
        Stream::Members(status) => Box::new(Flat::all(vec![
            if pg {
                vis(Visibility::Shared)
            } else {
                Box::new(raw::<Nullable<Bool>>(
                    "+\"images\".\"visibility\" = 'shared'",
                ))
            },
            Box::new(
                images::owner
                    .ne(p.to_owned())
                    .or(images::owner.is_null().nullable()),
            ),
            if dialect == Dialect::Mysql {
                joined_member_rows(p, status, shares_expired_at)
            } else {
                member_image_ids(p, status, shares_expired_at, pg)
            },
            match pending_offered_before {
                Some(before) => stale_pending_offers_excluded(p, before, dialect),
                None => always(true),
            },
        ])),
    }
}

/// A sort column's SQL, its nullability, and the marker image's value in it.
fn column(key: SortKey) -> (&'static str, bool) {
    match key {
        SortKey::Name => ("\"images\".\"name\"", true),
        SortKey::Status => ("\"images\".\"status\"", false),
        SortKey::ContainerFormat => ("\"images\".\"container_format\"", true),
        SortKey::DiskFormat => ("\"images\".\"disk_format\"", true),
        SortKey::Size => ("\"images\".\"size\"", true),
        SortKey::Id => ("\"images\".\"id\"", false),
        SortKey::CreatedAt => ("\"images\".\"created_at\"", false),
        SortKey::UpdatedAt => ("\"images\".\"updated_at\"", true),
    }
}

/// A marker's value of one sort key, as a bind.
fn key_val(key: SortKey, m: &Image) -> Option<Bind> {
    match key {
        SortKey::Name => m.name.clone().map(Bind::Text),
        SortKey::Status => Some(Bind::Text(m.status.as_str().to_owned())),
        SortKey::ContainerFormat => m.container_format.clone().map(Bind::Text),
        SortKey::DiskFormat => m.disk_format.clone().map(Bind::Text),
        SortKey::Size => m.size.map(Bind::Int),
        SortKey::Id => Some(Bind::Text(m.id.clone())),
        SortKey::CreatedAt => Some(Bind::Ts(DbTime(m.created_at))),
        SortKey::UpdatedAt => Some(Bind::Ts(DbTime(m.updated_at))),
    }
}

/// The SQL for a sort column the planner must not take from an index: the shared-with-me
/// stream sorts the images its member rows name, and an index walk in sort order (testing
/// each shared image against the member rows) would cost every shared image.
fn fenced(key: SortKey, pg: bool) -> String {
    let (col, _) = column(key);
    match (key, pg) {
        (_, false) => format!("+{col}"),
        (SortKey::CreatedAt | SortKey::UpdatedAt, true) => {
            format!("({col} + INTERVAL '0 seconds')")
        }
        (SortKey::Size, true) => format!("({col} + 0)"),
        (_, true) => format!("({col} || '')"),
    }
}

/// `fence`: `Some(pg)` in the shared-with-me stream, whose marker comparisons use the fenced
/// expressions too, or PostgreSQL would AND the member rows with an index range of every
/// image before the marker.
fn key_condition(
    key: SortKey,
    dir: SortDir,
    m: &Image,
    fence: Option<bool>,
) -> (BoxedCond, BoxedCond) {
    use diesel::sql_types::{BigInt, Text, Timestamp};
    if let Some(pg) = fence {
        let e = fenced(key, pg);
        return match key {
            SortKey::Size => key_conditions!(raw::<Nullable<BigInt>>(e.clone()), m.size, dir),
            SortKey::CreatedAt => key_conditions!(
                raw::<Nullable<Timestamp>>(e.clone()),
                Some(DbTime(m.created_at)),
                dir
            ),
            SortKey::UpdatedAt => key_conditions!(
                raw::<Nullable<Timestamp>>(e.clone()),
                Some(DbTime(m.updated_at)),
                dir
            ),
            _ => {
                let v = match key_val(key, m) {
                    Some(Bind::Text(s)) => Some(s),
                    _ => None,
                };
                key_conditions!(raw::<Nullable<Text>>(e.clone()), v, dir)
            }
        };
    }
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
        SortKey::Id => key_conditions!(images::id.nullable(), Some(m.id.clone()), dir),
        SortKey::CreatedAt => {
            key_conditions!(
                images::created_at.nullable(),
                Some(DbTime(m.created_at)),
                dir
            )
        }
        SortKey::UpdatedAt => key_conditions!(images::updated_at, Some(DbTime(m.updated_at)), dir),
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

/// "After the marker" in an index stream, as alternatives that each become one stream (one
/// index range each). The sorts the indexes serve (`K, created_at, id` or `created_at, id`
/// or `id`, one direction) are one row-value comparison, which both planners turn into a
/// range starting at the marker; a nullable first key whose NULLs come after the marker gets
/// a second range for them (NULL sorts lowest). Any other sort: the flat condition.
fn marker_parts(sort: &[(SortKey, SortDir)], m: &Image) -> Vec<BoxedCond> {
    use SortKey::{CreatedAt, Id};
    let Some(&(head, dir)) = sort.first() else {
        return vec![always(true)];
    };
    let keys: Vec<SortKey> = sort.iter().map(|(k, _)| *k).collect();
    let served = sort.iter().all(|(_, d)| *d == dir)
        && matches!(keys.as_slice(), [Id] | [CreatedAt, Id] | [_, CreatedAt, Id]);
    if !served {
        return vec![marker_condition(sort, m, None)];
    }
    let after = |keys: &[SortKey]| -> BoxedCond {
        Box::new(RowCmp {
            cols: keys.iter().map(|k| column(*k).0).collect(),
            vals: keys.iter().filter_map(|k| key_val(*k, m)).collect(),
            op: if dir == SortDir::Asc { ">" } else { "<" },
        })
    };
    let (col, nullable) = column(head);
    if !nullable {
        return vec![after(&keys)];
    }
    let null =
        |not: &str| -> BoxedCond { Box::new(raw::<Nullable<Bool>>(format!("{col} IS {not}NULL"))) };
    match (key_val(head, m).is_some(), dir) {
        (true, SortDir::Asc) => vec![after(&keys)],
        (true, SortDir::Desc) => vec![after(&keys), null("")],
        (false, SortDir::Asc) => vec![
            Box::new(Flat::all(vec![null(""), after(&keys[1..])])),
            null("NOT "),
        ],
        (false, SortDir::Desc) => vec![Box::new(Flat::all(vec![null(""), after(&keys[1..])]))],
    }
}

/// `(c1, c2, ...) > (v1, v2, ...)` (or `<`) on NOT NULL values: one index range.
struct RowCmp {
    cols: Vec<&'static str>,
    vals: Vec<Bind>,
    op: &'static str,
}

impl Expression for RowCmp {
    type SqlType = diesel::sql_types::Nullable<diesel::sql_types::Bool>;
}

impl<T> AppearsOnTable<T> for RowCmp {}

impl<T> SelectableExpression<T> for RowCmp {}

impl diesel::expression::ValidGrouping<()> for RowCmp {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl diesel::query_builder::QueryId for RowCmp {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::QueryFragment<MultiBackend> for RowCmp {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, MultiBackend>,
    ) -> QueryResult<()> {
        out.push_sql("(");
        out.push_sql(&self.cols.join(", "));
        out.push_sql(") ");
        out.push_sql(self.op);
        out.push_sql(" (");
        for (i, v) in self.vals.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            v.walk(&mut out)?;
        }
        out.push_sql(")");
        Ok(())
    }
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
    let dialect = Dialect::of(conn);
    let cache = match conn {
        DbConn::Sqlite(c) => list_cache::checked(c),
        _ => None,
    };
    // What the streams return depends on the caller (`streams`: admin or not, its project) and
    // on the query (its values, the marker's id, the limit) alone, unless the clock is in it.
    let key = match &cache {
        Some(_) if q.shares_expired_at.is_none() && q.pending_offered_before.is_none() => {
            Some(format!("{:?} {:?} {q:?}", ctx.is_admin(), ctx.project()))
        }
        _ => None,
    };
    if let (Some(cache), Some(key)) = (&cache, &key) {
        let ids = list_cache::lock(cache).page(key).map(<[String]>::to_vec);
        if let Some(ids) = ids {
            return page(conn, &ids, Some(cache));
        }
    }
    let Some(mut query) = list_query(ctx, q, marker, dialect) else {
        return Ok(Vec::new());
    };
    query.cached = statement_shapes::admit(&query.shape);
    let ids: Vec<String> = if dialect == Dialect::Pg {
        // PostgreSQL chooses between a prepared statement's custom and generic plans by their
        // estimated costs. For a small page selected by visibility alone the generic plan is the
        // same index walks for any caller, and PostgreSQL's choice planned every page again
        // (1.2-1.4 ms against 0.15 ms of execution for a project's page at 10k images). Any
        // other page is planned for its values, as it was before the statement was cached: a
        // filter's selectivity depends on its value, and a large page's planning time is small
        // beside its execution.
        let mode = if q.selects_by_visibility_only() && q.limit <= GENERIC_PLAN_MAX_LIMIT {
            "SET LOCAL plan_cache_mode = force_generic_plan"
        } else {
            "SET LOCAL plan_cache_mode = force_custom_plan"
        };
        conn.transaction(|c| {
            diesel::sql_query(mode).execute(c)?;
            query.load(c)
        })?
    } else {
        query.load(conn)?
    };
    if let (Some(cache), Some(key)) = (&cache, key) {
        list_cache::lock(cache).keep_page(key, &ids);
    }
    page(conn, &ids, cache.as_deref())
}

/// The largest page run with PostgreSQL's generic plan. Planning costs about a millisecond, which
/// is most of a small page's time but nothing beside a large one's, whose plan is better made for
/// the caller's values (bench/SCALE.md).
const GENERIC_PLAN_MAX_LIMIT: i64 = 100;

/// The plan of the list statement as the backend reports it (`EXPLAIN QUERY PLAN` details
/// on SQLite, `EXPLAIN` lines on PostgreSQL, `EXPLAIN FORMAT=JSON` on MySQL), for the
/// plan tests and the benchmark.
pub fn explain(
    conn: &mut DbConn,
    ctx: &RequestContext,
    q: &ListQuery,
    marker: Option<&Image>,
) -> Result<Vec<String>, DbError> {
    let dialect = Dialect::of(conn);
    let Some(query) = list_query(ctx, q, marker, dialect) else {
        return Ok(Vec::new());
    };
    if dialect == Dialect::Pg {
        Ok(Explain::<diesel::sql_types::Text>::new(query, "EXPLAIN ").load(conn)?)
    } else if dialect == Dialect::Mysql {
        // One JSON document for the statement.
        Ok(Explain::<diesel::sql_types::Text>::new(query, "EXPLAIN FORMAT=JSON ").load(conn)?)
    } else {
        use diesel::sql_types::{Integer, Text};
        let rows: Vec<(i32, i32, i32, String)> =
            Explain::<(Integer, Integer, Integer, Text)>::new(query, "EXPLAIN QUERY PLAN ")
                .load(conn)?;
        // Indented by depth in the plan tree, as the sqlite3 shell shows it.
        let mut depth: HashMap<i32, usize> = HashMap::new();
        Ok(rows
            .into_iter()
            .map(|(id, parent, _, detail)| {
                let d = depth.get(&parent).map_or(0, |d| d + 1);
                depth.insert(id, d);
                format!("{}{detail}", "  ".repeat(d))
            })
            .collect())
    }
}

/// None: the caller may list nothing.
fn list_query(
    ctx: &RequestContext,
    q: &ListQuery,
    marker: Option<&Image>,
    dialect: Dialect,
) -> Option<Streams> {
    let pg = dialect == Dialect::Pg;
    // `id` is unique: keys after it never decide anything.
    let sort = match q.sort.iter().position(|(k, _)| *k == SortKey::Id) {
        Some(i) => &q.sort[..=i],
        None => &q.sort[..],
    };
    let mut arms = Vec::new();
    for s in streams(ctx, q.visibility, q.member_status) {
        let members = matches!(s, Stream::Members(_));
        let parts: Vec<Option<BoxedCond>> = match (marker, members) {
            (None, _) => vec![None],
            (Some(m), true) => vec![Some(marker_condition(sort, m, Some(pg)))],
            (Some(m), false) => marker_parts(sort, m).into_iter().map(Some).collect(),
        };
        let how = if members { Cols::Fenced } else { Cols::Table };
        for part in parts {
            let mut conds = vec![stream_condition(
                s,
                ctx.project(),
                q.shares_expired_at,
                q.pending_offered_before,
                dialect,
            )];
            filters(q, dialect, &mut conds);
            conds.extend(part);
            arms.push(Arm {
                cols: String::new(),
                conds: Flat::all(conds),
                order: format!("{} LIMIT {}", order_terms(sort, pg, how), q.limit),
                from: match (dialect, list_index(s, sort)) {
                    (Dialect::Mysql, Some(index)) => {
                        format!("\"images\" FORCE INDEX (\"{index}\")")
                    }
                    (Dialect::Mysql, None) => MEMBER_JOIN.to_owned(),
                    _ => "\"images\"".to_owned(),
                },
            });
        }
    }
    // A lone stream is the page: it returns the ids alone. Merged streams carry what the merge
    // sorts by, and the id.
    let cols = match arms.as_slice() {
        [_] => column(SortKey::Id).0.to_owned(),
        [] => return None,
        _ => {
            let mut cols: Vec<&str> = sort.iter().map(|(k, _)| column(*k).0).collect();
            if !sort.iter().any(|(k, _)| *k == SortKey::Id) {
                cols.push(column(SortKey::Id).0);
            }
            cols.join(", ")
        }
    };
    for arm in &mut arms {
        arm.cols.clone_from(&cols);
    }
    let shape = format!(
        "{dialect:?} {:?} {sort:?} {} {:?} {}",
        streams(ctx, q.visibility, q.member_status),
        q.limit,
        marker.map(|m| sort
            .iter()
            .map(|(k, _)| key_val(*k, m).is_some())
            .collect::<Vec<_>>()),
        without_values(&format!("{q:?}")),
    );
    Some(Streams {
        arms,
        order: order_terms(sort, pg, Cols::Outer),
        limit: q.limit,
        cached: false,
        shape,
    })
}

/// `debug` (a `{:?}` rendering) with every string literal emptied and every run of digits
/// written `0`: what is left says which filters, operators and lists a query has, not
/// their values, which are binds.
fn without_values(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len());
    let mut chars = debug.chars();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        match (in_str, c) {
            (true, '\\') => {
                chars.next();
            }
            (true, '"') => {
                in_str = false;
                out.push('"');
            }
            (true, _) => {}
            (false, '"') => {
                in_str = true;
                out.push('"');
            }
            (false, d) if d.is_ascii_digit() => {
                if !out.ends_with('0') {
                    out.push('0');
                }
            }
            (false, c) => out.push(c),
        }
    }
    out
}

/// Every condition of the query but visibility and the marker; each stream repeats them.
fn filters(q: &ListQuery, dialect: Dialect, conds: &mut Vec<BoxedCond>) {
    let pg = dialect == Dialect::Pg;
    conds.push(Box::new(not(images::deleted).nullable()));
    // Constants are written as literals, not binds: with only the caller's ids as parameters
    // PostgreSQL soon keeps one generic plan for the prepared statement (the same index walks)
    // instead of planning every page again (0.7-0.9 ms a page at 10k images).
    conds.push(Box::new(raw::<Nullable<Bool>>(format!(
        "\"images\".\"status\" <> '{}'",
        ImageStatus::Killed.as_str()
    ))));
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
    // Never an index's job (nearly every image has the same value); SQLite, without
    // statistics, would otherwise start from `os_hidden_image_idx`.
    conds.push(Box::new(raw::<Nullable<Bool>>(format!(
        "{}\"images\".\"os_hidden\" = {}",
        if pg { "" } else { "+" },
        if q.os_hidden { "TRUE" } else { "FALSE" }
    ))));
    if let Some(p) = q.protected {
        conds.push(Box::new(images::protected.eq(p).nullable()));
    }
    tag_conditions(&q.tags, conds);
    property_conditions(&q.properties, dialect, conds);
}

/// The list index a stream walks (migration `list_indexes`): its prefix (the stream's equality)
/// and its first sort key. None for the shared-with-me stream, which its member rows drive.
fn list_index(s: Stream, sort: &[(SortKey, SortDir)]) -> Option<String> {
    let prefix = match s {
        Stream::Vis(_) => "vis",
        Stream::Own(_) => "own",
        Stream::Members(_) => return None,
    };
    let key = match sort.first().map(|(k, _)| *k) {
        None | Some(SortKey::CreatedAt) => "created",
        Some(SortKey::Id) => "id",
        Some(SortKey::Name) => "name",
        Some(SortKey::Status) => "status",
        Some(SortKey::ContainerFormat) => "container_format",
        Some(SortKey::DiskFormat) => "disk_format",
        Some(SortKey::Size) => "size",
        Some(SortKey::UpdatedAt) => "updated",
    };
    Some(format!("ix_images_list_{prefix}_{key}"))
}

/// One stream: `SELECT <cols> FROM <from> WHERE ... ORDER BY ... LIMIT n`, where `cols` are the
/// sort keys and the id (only the id when the stream is the page): the rows the merge sorts are
/// narrow, and the page's rows are read afterwards by primary key (`page`). MariaDB does
/// not find the list index by itself (with a few thousand images it intersects the one-column
/// indexes and sorts, or walks `created_at_image_idx` testing every image), so on MySQL `from`
/// names the stream's index, or joins the member rows (`MEMBER_JOIN`); the other planners
/// choose well from `images` alone.
struct Arm {
    cols: String,
    conds: Flat<images::table>,
    order: String,
    from: String,
}

impl diesel::query_builder::QueryId for Arm {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::QueryFragment<MultiBackend> for Arm {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, MultiBackend>,
    ) -> QueryResult<()> {
        out.push_sql("SELECT ");
        out.push_sql(&self.cols);
        out.push_sql(" FROM ");
        out.push_sql(&self.from);
        out.push_sql(" WHERE ");
        self.conds.walk_ast(out.reborrow())?;
        out.push_sql(" ORDER BY ");
        out.push_sql(&self.order);
        Ok(())
    }
}

/// How an ORDER BY names the sort columns.
#[derive(Clone, Copy)]
enum Cols {
    /// The columns of `images` (a stream walking its index).
    Table,
    /// Expressions no index provides (`fenced`).
    Fenced,
    /// The merged streams' output columns.
    Outer,
}

/// The ORDER BY list. NULL sorts lowest on both backends: SQLite's own order, PostgreSQL's
/// `NULLS FIRST` ascending (its default is highest), which its indexes declare too.
fn order_terms(sort: &[(SortKey, SortDir)], pg: bool, how: Cols) -> String {
    sort.iter()
        .map(|(key, dir)| {
            let (col, nullable) = column(*key);
            let e = match how {
                Cols::Table => col.to_owned(),
                Cols::Fenced => fenced(*key, pg),
                Cols::Outer => col.trim_start_matches("\"images\".").to_owned(),
            };
            let nulls = match (pg && nullable, dir) {
                (false, _) => "",
                (true, SortDir::Asc) => " NULLS FIRST",
                (true, SortDir::Desc) => " NULLS LAST",
            };
            let dir = match dir {
                SortDir::Asc => "ASC",
                SortDir::Desc => "DESC",
            };
            format!("{e} {dir}{nulls}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The page: each stream `ORDER BY ... LIMIT n` in its own subquery, merged by an outer
/// `ORDER BY ... LIMIT n` (one stream is the page itself).
///
/// `n` is written as a literal (a parsed, bounded integer), not a bind: for `LIMIT $1`
/// PostgreSQL's generic plan assumes a tenth of the rows, so it would rarely replace the custom
/// plan, which is made again on every execution (0.3-1.2 ms for five streams).
struct Streams {
    arms: Vec<Arm>,
    order: String,
    limit: i64,
    /// diesel may keep the statement prepared (`statement_shapes`); only a page that runs asks.
    cached: bool,
    /// What decides the statement's text (`without_values`).
    shape: String,
}

impl diesel::query_builder::QueryId for Streams {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for Streams {
    /// The ids of the page's images, in page order.
    type SqlType = diesel::sql_types::Text;
}

impl<C> RunQueryDsl<C> for Streams {}

impl diesel::query_builder::QueryFragment<MultiBackend> for Streams {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, MultiBackend>,
    ) -> QueryResult<()> {
        if !self.cached {
            out.unsafe_to_cache_prepared();
        }
        if let [one] = self.arms.as_slice() {
            return diesel::query_builder::QueryFragment::<MultiBackend>::walk_ast(one, out);
        }
        out.push_sql("SELECT \"id\" FROM (");
        for (i, arm) in self.arms.iter().enumerate() {
            if i > 0 {
                out.push_sql(" UNION ALL ");
            }
            out.push_sql("SELECT * FROM (");
            diesel::query_builder::QueryFragment::<MultiBackend>::walk_ast(arm, out.reborrow())?;
            out.push_sql(&format!(") AS s{i}"));
        }
        out.push_sql(") AS u ORDER BY ");
        out.push_sql(&self.order);
        out.push_sql(&format!(" LIMIT {}", self.limit));
        Ok(())
    }
}

/// `EXPLAIN` of the list statement; `ST` is the row the backend's EXPLAIN returns.
struct Explain<ST> {
    query: Streams,
    prefix: &'static str,
    row: std::marker::PhantomData<ST>,
}

impl<ST> Explain<ST> {
    fn new(query: Streams, prefix: &'static str) -> Self {
        Explain {
            query,
            prefix,
            row: std::marker::PhantomData,
        }
    }
}

impl<ST> diesel::query_builder::QueryId for Explain<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST: 'static> diesel::query_builder::Query for Explain<ST> {
    type SqlType = ST;
}

impl<ST, C> RunQueryDsl<C> for Explain<ST> {}

impl<ST> diesel::query_builder::QueryFragment<MultiBackend> for Explain<ST> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, MultiBackend>,
    ) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        out.push_sql(self.prefix);
        self.query.walk_ast(out)
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
        SortKey::CreatedAt => bound!(images::created_at, DbTime(m.created_at)),
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
        // The text depends on the value here: never kept prepared (diesel's `sql` says so).
        (IntColumn::MinRam | IntColumn::MinDisk, Err(_)) => {
            let matches = match f.op {
                IntOp::Gte => f.value < 0,
                IntOp::Lte => f.value > 0,
                IntOp::Eq => false,
            };
            Box::new(diesel::dsl::sql::<Nullable<Bool>>(if matches {
                "1 = 1"
            } else {
                "1 = 0"
            }))
        }
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

/// `(name, value) IN (VALUES (k1, v1), (k2, v2), ...)` on `image_properties`: a list, where
/// an OR of pairs would be an expression tree as deep as it is long (SQLite refuses one deeper
/// than 1,000). MySQL writes the list as row constructors, `IN ((k1, v1), ...)`.
struct PropertyPairs(Vec<(String, String)>, Dialect);

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
        out.push_sql("(\"image_properties\".\"name\", \"image_properties\".\"value\") IN (");
        if self.1 != Dialect::Mysql {
            out.push_sql("VALUES ");
        }
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
fn property_conditions(props: &[(String, String)], dialect: Dialect, conds: &mut Vec<BoxedCond>) {
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
            .filter(PropertyPairs(rest.to_vec(), dialect))
            .select(diesel::dsl::count(image_properties::name).aggregate_distinct())
            .single_value()
            .eq(wanted),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::list_query::{parse, ListDefaults};
    use diesel::query_builder::QueryFragment;

    fn cacheable(raw: &str, dialect: Dialect) -> bool {
        let ctx = RequestContext::new(Some("p1"), &["member"]);
        let q = parse(raw, &ListDefaults::default()).unwrap();
        let backend = match dialect {
            Dialect::Sqlite => MultiBackend::Sqlite(diesel::sqlite::Sqlite),
            Dialect::Pg => MultiBackend::Pg(diesel::pg::Pg),
            Dialect::Mysql => MultiBackend::Mysql(diesel::mysql::Mysql),
        };
        // As `list` sets it when the shape is admitted.
        let mut streams = list_query(&ctx, &q, None, dialect).unwrap();
        streams.cached = true;
        streams.is_safe_to_cache_prepared(&backend).unwrap()
    }

    #[test]
    fn list_statements_stay_prepared_unless_their_text_carries_values() {
        for d in [Dialect::Sqlite, Dialect::Pg, Dialect::Mysql] {
            for raw in [
                "",
                "limit=1",
                "sort=name:asc",
                "visibility=shared&member_status=all",
                "status=active&owner=x&size_min=5&created_at=gt:2026-01-01T00:00:00Z",
                "tag=a",
            ] {
                assert!(cacheable(raw, d), "{raw} {d:?}");
            }
            // diesel's own `IN` lists (an array bind on PostgreSQL), and property pairs
            // beyond the EXISTS ones.
            for raw in ["name=in:a,b", "tag=a&tag=b&tag=c"] {
                assert_eq!(cacheable(raw, d), d == Dialect::Pg, "{raw} {d:?}");
            }
            assert!(!cacheable("a=1&b=2&c=3", d), "{d:?}");
        }
    }

    #[test]
    fn shapes_keep_structure_and_drop_values() {
        let a = without_values(
            r#"Q { name: Some(Eq("cirros \"0.6\"")), size_min: Some(1024), tags: ["a", "b"] }"#,
        );
        let b = without_values(
            r#"Q { name: Some(Eq("ubuntu")), size_min: Some(7), tags: ["x", "y"] }"#,
        );
        assert_eq!(a, b);
        assert_eq!(
            a,
            r#"Q { name: Some(Eq("")), size_min: Some(0), tags: ["", ""] }"#
        );
        // The number of values and the operators stay.
        assert_ne!(
            a,
            without_values(r#"Q { name: Some(In(["a"])), size_min: Some(1), tags: ["a"] }"#)
        );
    }
}
