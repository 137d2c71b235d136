//! Image rows, their properties and tags.

use super::timestamp::DbTime;
use chrono::NaiveDateTime;
use diesel::dsl::not;
use diesel::prelude::*;

use super::children::ChildrenJson;
use super::connection::{on_backend, DbConn};
use super::error::DbError;
use super::models::ImageRow;
use super::schema::{image_members, image_properties, image_tags, images};
use crate::domain::id::ImageId;
use crate::domain::image::{Image, ImageStatus};
use crate::domain::member::MemberStatus;

/// The list lives in `db::list`; callers reach it here, beside the other image reads.
pub use super::list::{explain, list};

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
                image_properties::created_at.eq(DbTime(now)),
                image_properties::updated_at.eq(DbTime(now)),
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
                image_tags::created_at.eq(DbTime(now)),
                image_tags::updated_at.eq(DbTime(now)),
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

/// Same as `get`, but takes the row lock first (see `lock`). Use inside `write_tx`.
pub fn get_for_update(conn: &mut DbConn, id: &ImageId) -> Result<Option<Image>, DbError> {
    if !lock(conn, id)? {
        return Ok(None);
    }
    get(conn, id)
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

/// Take the row lock on a live image (`FOR UPDATE` on the server backends; SQLite's write
/// transaction already holds the database lock); false if there is none. On MySQL, which has
/// no partial unique indexes, this lock is also what keeps one live member row per (image,
/// member) and one live tag per (image, tag): every writer of those rows takes it first.
/// The owner of an image, deleted or not (`None` for no such image or an owner-less one).
pub fn owner_of(conn: &mut DbConn, id: &ImageId) -> Result<Option<String>, DbError> {
    Ok(images::table
        .filter(images::id.eq(id.as_str()))
        .select(images::owner)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

pub fn lock(conn: &mut DbConn, id: &ImageId) -> Result<bool, DbError> {
    let id = id.as_str();
    macro_rules! locked {
        ($c:expr) => {
            images::table
                .filter(images::id.eq(id))
                .filter(not(images::deleted))
                .select(images::id)
                .for_update()
                .first::<String>($c)
                .optional()?
                .is_some()
        };
    }
    Ok(match conn {
        DbConn::Sqlite(_) => true,
        DbConn::Pg(c) => locked!(c),
        DbConn::Mysql(c) => locked!(c),
    })
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
                    image_properties::updated_at.eq(DbTime(now)),
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
    .set((
        images::status.eq(to.as_str()),
        images::updated_at.eq(DbTime(now)),
    ))
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
        images::deleted_at.eq(DbTime(now)),
        images::updated_at.eq(DbTime(now)),
        images::status.eq(ImageStatus::Deleted.as_str()),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(false);
    }
    super::member_ext::remove_image(conn, id)?;
    diesel::update(image_properties::table.filter(image_properties::image_id.eq(id)))
        .set((
            image_properties::deleted.eq(true),
            image_properties::deleted_at.eq(DbTime(now)),
        ))
        .execute(conn)?;
    diesel::update(image_tags::table.filter(image_tags::image_id.eq(id)))
        .set((
            image_tags::deleted.eq(true),
            image_tags::deleted_at.eq(DbTime(now)),
        ))
        .execute(conn)?;
    super::members::drop_duplicate_live_rows(conn, id, None, now)?;
    let members_deleted = |conn: &mut DbConn| -> Result<usize, DbError> {
        Ok(diesel::update(
            image_members::table
                .filter(image_members::image_id.eq(id))
                .filter(not(image_members::deleted)),
        )
        .set((
            image_members::deleted.eq(true),
            image_members::deleted_at.eq(DbTime(now)),
        ))
        .execute(conn)?)
    };
    match members_deleted(conn) {
        // As in `members::delete`: a row Glance added meanwhile; clean up again, repeat once.
        Err(DbError::Duplicate(_)) if matches!(conn, DbConn::Mysql(_)) => {
            super::members::drop_duplicate_live_rows(conn, id, None, now)?;
            members_deleted(conn)?;
        }
        r => {
            r?;
        }
    }
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
        .filter(images::updated_at.lt(DbTime(stale_before)));
    let ids: Vec<String> = stale.select(images::id).load(conn)?;
    if !ids.is_empty() {
        // Re-check the status and age in the UPDATE itself: an upload may finish meanwhile.
        diesel::update(stale.filter(images::id.eq_any(&ids)))
            .set((
                images::status.eq(ImageStatus::Queued.as_str()),
                images::updated_at.eq(DbTime(now)),
            ))
            .execute(conn)?;
    }
    Ok(ids)
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
    use crate::domain::context::RequestContext;
    use crate::domain::list_query::{parse, ListDefaults, ListQuery, SortDir, SortKey};

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
