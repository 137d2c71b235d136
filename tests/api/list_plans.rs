//! The list statements use the list indexes on each backend, checked on their plans (no
//! clock): every stream of `GET /v2/images` walks a `ix_images_list_*` index in sort order
//! under its LIMIT, from the index alone (the streams carry the sort keys and the id), and only the shared-with-me stream (the caller's member rows) and the
//! merge of the streams' pages sort anything. The data is large enough that PostgreSQL,
//! with statistics, would choose a sequential scan or a sort of every visible image if the
//! query shape allowed it.

use diesel::RunQueryDsl;
use glint::domain::context::RequestContext;
use glint::domain::list_query::{parse, ListDefaults, SortKey};

use crate::backend_test;
use crate::helpers::{Backend, TestApp};

const IMAGES: i64 = 20_000;

/// `IMAGES` images of 50 owners in every visibility (some without name, size or
/// updated_at), and an
/// accepted member row of `p2` on every other project's shared image.
fn fixture(app: &TestApp) {
    let mut c = app.db();
    let mysql = app.backend == Backend::Mysql;
    let (series, name, size, ts) = if mysql {
        (
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
                 SELECT i FROM n",
                IMAGES - 1
            ),
            "CONCAT('n', LPAD(i % 300, 3, '0'))",
            "i * 10",
            "TIMESTAMP '2026-01-01 00:00:00' + INTERVAL i SECOND",
        )
    } else if app.pg_db().is_some() {
        (
            format!("SELECT i FROM generate_series(0, {}) AS n(i)", IMAGES - 1),
            "'n' || lpad((i % 300)::text, 3, '0')",
            "i * 10",
            "TIMESTAMP '2026-01-01' + i * INTERVAL '1 second'",
        )
    } else {
        (
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
                 SELECT i FROM n",
                IMAGES - 1
            ),
            "printf('n%03d', i % 300)",
            "i * 10",
            "strftime('%Y-%m-%d %H:%M:%S', '2026-01-01', '+' || i || ' seconds')",
        )
    };
    let cat = |a: &str, b: &str| match mysql {
        true => format!("CONCAT({a}, {b})"),
        false => format!("{a} || {b}"),
    };
    let (id, owner) = (cat("'img-'", "i"), cat("'p'", "(i % 50)"));
    let images = format!(
        "INSERT INTO images (id, name, size, status, created_at, updated_at, deleted, \
         disk_format, container_format, owner, visibility, os_hidden, protected, min_disk, \
         min_ram) \
         SELECT {id}, CASE WHEN i % 7 = 0 THEN NULL ELSE {name} END, \
         CASE WHEN i % 5 = 0 THEN NULL ELSE {size} END, 'active', {ts}, \
         CASE WHEN i % 11 = 0 THEN NULL ELSE {ts} END, FALSE, 'raw', \
         'bare', {owner}, \
         CASE i % 4 WHEN 0 THEN 'public' WHEN 1 THEN 'private' WHEN 2 THEN 'shared' \
         ELSE 'community' END, FALSE, FALSE, 0, 0 FROM ({series}) AS s"
    );
    if mysql {
        diesel::sql_query("SET SESSION max_recursive_iterations = 100000")
            .execute(&mut *c)
            .unwrap();
    }
    diesel::sql_query(images).execute(&mut *c).unwrap();
    diesel::sql_query(
        "INSERT INTO image_members (image_id, member, can_share, status, created_at, deleted) \
         SELECT id, 'p2', FALSE, 'accepted', created_at, FALSE FROM images \
         WHERE visibility = 'shared' AND owner <> 'p2'",
    )
    .execute(&mut *c)
    .unwrap();
    if app.pg_db().is_some() {
        // VACUUM marks the pages all-visible, as autovacuum does for a settled table: what an
        // index-only scan needs to skip the table.
        diesel::sql_query("VACUUM ANALYZE")
            .execute(&mut *c)
            .unwrap();
    }
    if mysql {
        diesel::sql_query("ANALYZE TABLE images, image_members")
            .execute(&mut *c)
            .unwrap();
    }
}

/// A PostgreSQL plan's streams: the subtrees of the innermost `Limit`s.
fn pg_streams(plan: &[String]) -> Vec<String> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let limits: Vec<usize> = plan
        .iter()
        .enumerate()
        .filter(|(i, l)| {
            *i > 0
                && l.trim_start()
                    .trim_start_matches("->  ")
                    .starts_with("Limit")
        })
        .map(|(i, _)| i)
        .collect();
    if limits.is_empty() {
        return vec![plan.join("\n")];
    }
    let streams: Vec<String> = limits
        .iter()
        .map(|&at| {
            let depth = indent(&plan[at]);
            let mut s = vec![plan[at].trim().trim_start_matches("->  ").to_owned()];
            s.extend(
                plan[at + 1..]
                    .iter()
                    .take_while(|l| indent(l) > depth)
                    .map(|l| l.trim().to_owned()),
            );
            s.join("\n")
        })
        .collect();
    // The innermost ones: the merged page's own Limit holds them all.
    streams
        .into_iter()
        .filter(|s| !s.lines().skip(1).any(|l| l.contains("Limit")))
        .collect()
}

/// The streams of a MariaDB JSON plan: the query blocks that read `images` itself (one per
/// stream; the whole plan when the statement is one stream).
fn mysql_streams(v: &serde_json::Value) -> Vec<&serde_json::Value> {
    let mut out = Vec::new();
    let reads_images = |b: &serde_json::Value| {
        b["nested_loop"].as_array().is_some_and(|l| {
            l.iter().any(|x| {
                mysql_tables(x, false)
                    .iter()
                    .any(|(t, _)| t["table_name"] == "images" && t.get("materialized").is_none())
                    && !x.to_string().contains("\"<derived")
            })
        })
    };
    fn walk<'a>(
        v: &'a serde_json::Value,
        f: &dyn Fn(&serde_json::Value) -> bool,
        out: &mut Vec<&'a serde_json::Value>,
    ) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(b) = m.get("query_block") {
                    if f(b) {
                        out.push(b);
                        return;
                    }
                }
                m.values().for_each(|x| walk(x, f, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, f, out)),
            _ => {}
        }
    }
    walk(v, &reads_images, &mut out);
    out
}

/// Every table access of a MariaDB JSON plan, with whether a sort (`filesort`) encloses it.
fn mysql_tables(v: &serde_json::Value, sorted: bool) -> Vec<(serde_json::Value, bool)> {
    let mut out = Vec::new();
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                if k == "table" && x.get("table_name").is_some() {
                    out.push((x.clone(), sorted));
                }
                out.extend(mysql_tables(x, sorted || k == "filesort"));
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                out.extend(mysql_tables(x, sorted));
            }
        }
        _ => {}
    }
    out
}

/// A SQLite plan's streams: each `CO-ROUTINE s<i>` subtree, or the whole plan.
fn sqlite_streams(plan: &[String]) -> Vec<String> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut out = Vec::new();
    for (at, l) in plan.iter().enumerate() {
        if l.trim().starts_with("CO-ROUTINE s") {
            let depth = indent(l);
            out.push(
                plan[at + 1..]
                    .iter()
                    .take_while(|l| indent(l) > depth)
                    .map(|l| l.trim().to_owned())
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        }
    }
    if out.is_empty() {
        out.push(plan.join("\n"));
    }
    out
}

backend_test!(list_statements_walk_the_list_indexes, |app| async move {
    fixture(&app);
    let pg = app.pg_db().is_some();
    let mut conn = app.db();
    // Mid-way markers: near either end PostgreSQL may rightly prefer a one-column index
    // (`updated_at_image_idx`) for the few rows left.
    let markers: Vec<_> = ["img-10001", "img-10000"]
        .iter()
        .map(|id| {
            glint::db::images::get(&mut conn, &glint::domain::id::ImageId::from_stored(*id))
                .unwrap()
                .unwrap()
        })
        .collect();
    let callers = [
        RequestContext::new(Some("p2"), &["member"]),
        RequestContext::new(Some("p2"), &["admin"]),
        RequestContext::new(None, &["member"]),
    ];
    let mut queries = vec![String::new(), "limit=1".to_owned()];
    for key in SortKey::ALL.iter().copied() {
        for dir in ["asc", "desc"] {
            queries.push(format!("sort_key={}&sort_dir={dir}", key.as_str()));
        }
    }
    for vis in ["visibility=all", "visibility=shared", "visibility=private"] {
        queries.push(vis.to_owned());
    }
    let mut checked = 0;
    let quoted = regex::Regex::new(r#"\."(\w+)""#).unwrap();
    for raw in &queries {
        let q = parse(raw, &ListDefaults::default()).unwrap();
        for ctx in &callers {
            for m in [None, Some(&markers[0]), Some(&markers[1])] {
                let plan = glint::db::images::explain(&mut conn, ctx, &q, m).unwrap();
                if plan.is_empty() {
                    assert!(ctx.project().is_none(), "{raw}");
                    continue;
                }
                let all = plan.join("\n");
                let what = format!(
                    "{raw:?} admin={} project={:?} marker={}:\n{all}",
                    ctx.is_admin(),
                    ctx.project(),
                    m.is_some()
                );
                if std::env::var("GLINT_PRINT_PLANS").is_ok() {
                    println!("== {what}");
                }
                if app.backend == Backend::Mysql {
                    // MariaDB writes the sort keys' ANSI-quoted identifiers unescaped into
                    // the JSON (`"u."id" desc"`): drop those quotes before parsing.
                    let fixed = quoted.replace_all(&all, ".$1");
                    let doc: serde_json::Value = serde_json::from_str(&fixed).unwrap();
                    for stream in mysql_streams(&doc) {
                        let tables = mysql_tables(stream, false);
                        let images: Vec<_> = tables
                            .iter()
                            .filter(|(t, _)| t["table_name"] == "images")
                            .collect();
                        assert_eq!(images.len(), 1, "{what}");
                        let (table, sorted) = images[0];
                        if tables.iter().any(|(t, _)| {
                            t["table_name"] == "image_members"
                                || t["table_name"]
                                    .as_str()
                                    .is_some_and(|n| n.starts_with("<subquery"))
                        }) {
                            // Bounded by the caller's member rows: images fetched by id.
                            assert_eq!(table["key"], "PRIMARY", "{what}");
                            assert_eq!(table["access_type"], "eq_ref", "{what}");
                            let members: Vec<_> = tables
                                .iter()
                                .filter(|(t, _)| t["table_name"] == "image_members")
                                .collect();
                            assert!(
                                members
                                    .iter()
                                    .all(|(t, _)| t["key"] == "ix_image_members_member"),
                                "{what}"
                            );
                            continue;
                        }
                        // Each stream walks a list index in sort order: no full scan, no sort.
                        assert!(
                            table["key"]
                                .as_str()
                                .is_some_and(|k| k.starts_with("ix_images_list_")),
                            "{what}"
                        );
                        assert_ne!(table["access_type"], "ALL", "{what}");
                        // Index-only: the stream reads no image row.
                        assert_eq!(table["using_index"], true, "{what}");
                        // A known MariaDB limit: the stream of a nullable key's NULLs (after a
                        // marker) is a `ref` on the key's NULL that it sorts rather than reads
                        // in index order; it holds that visibility's NULL-keyed images only.
                        let nulls = table["attached_condition"]
                            .as_str()
                            .is_some_and(|c| c.contains("<=> NULL"));
                        assert!(!*sorted || nulls, "{what}");
                        checked += 1;
                    }
                } else if pg {
                    assert!(!all.contains("Seq Scan on images"), "{what}");
                    assert!(plan[0].starts_with("Limit"), "{what}");
                    for s in pg_streams(&plan) {
                        if s.contains("image_members") {
                            // Bounded by the caller's member rows: images fetched by id.
                            assert!(
                                s.contains("Index Scan") && s.contains("id)::text = ANY ("),
                                "{what}"
                            );
                            continue;
                        }
                        assert!(s.starts_with("Limit"), "{what}");
                        // Index-only: the stream reads no image row.
                        assert!(
                            s.contains("Index Only Scan") && s.contains("using ix_images_list_"),
                            "{what}"
                        );
                        assert!(!s.contains("Sort"), "{what}");
                        checked += 1;
                    }
                } else {
                    assert!(!all.contains("SCAN images"), "{what}");
                    for s in sqlite_streams(&plan) {
                        if s.contains("image_members") {
                            assert!(s.contains("sqlite_autoindex_images_1 (id=?)"), "{what}");
                            continue;
                        }
                        // Index-only: the stream reads no image row.
                        assert!(
                            s.starts_with("SEARCH images USING COVERING INDEX ix_images_list_"),
                            "{what}"
                        );
                        assert!(!s.contains("TEMP B-TREE"), "{what}");
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 500, "{checked} streams checked");
    if pg {
        // The page's statement (its streams merged) stays prepared on its connection
        // (diesel's cache, by its text), so PostgreSQL parses it once, not on every page (a
        // statement diesel does not cache runs unnamed and is not listed in
        // `pg_prepared_statements`), and every page runs its generic plan: no planning.
        let q = parse("", &ListDefaults::default()).unwrap();
        for _ in 0..8 {
            glint::db::images::list(&mut conn, &callers[0], &q, None).unwrap();
        }
        #[derive(diesel::QueryableByName)]
        struct Prepared {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            generic_plans: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            custom_plans: i64,
        }
        let prepared: Vec<Prepared> = diesel::sql_query(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements \
             WHERE statement LIKE 'SELECT \"id\" FROM (SELECT * FROM (SELECT %'",
        )
        .load(&mut *conn)
        .unwrap();
        assert_eq!(prepared.len(), 1);
        assert!(
            prepared[0].generic_plans == 8 && prepared[0].custom_plans == 0,
            "generic {} custom {}",
            prepared[0].generic_plans,
            prepared[0].custom_plans
        );
    }
});
