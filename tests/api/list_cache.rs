//! A list shows what the database holds now, whoever wrote it: glint's own writes, a write on
//! one of its pooled connections, or another process writing to the same database. On SQLite
//! each pooled connection keeps the pages and images it has read (`db::list_cache`) and must
//! drop them on any of these; on the other backends the same guarantees hold with no cache.

use diesel::{Connection, RunQueryDsl};
use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::backend_test;
use crate::helpers::{image_ids, json, Backend, Caller, TestApp};

/// More lists at once than the pool has connections, so every connection serves (and keeps)
/// some: a connection that kept a stale page would show it in one of them.
const AT_ONCE: usize = 24;

/// The caller's default list, `AT_ONCE` times concurrently; each answer's images by id.
async fn lists(c: &Caller<'_>, query: &str) -> Vec<Vec<Value>> {
    let path = format!("/v2/images{query}");
    join_all((0..AT_ONCE).map(|_| {
        let path = path.clone();
        async move {
            let (s, v) = json(c.get(&path).await).await;
            assert_eq!(s, 200, "{v}");
            v["images"].as_array().cloned().unwrap_or_default()
        }
    }))
    .await
}

fn find<'a>(images: &'a [Value], id: &str) -> Option<&'a Value> {
    images.iter().find(|i| i["id"] == id)
}

/// Every one of `pages` shows image `id` with `name`, property `k` = `value` and `tags`.
fn all_show(pages: &[Vec<Value>], id: &str, name: &str, value: &str, tags: &[&str]) {
    for (n, page) in pages.iter().enumerate() {
        let img = find(page, id).unwrap_or_else(|| panic!("list {n} lacks {id}: {page:?}"));
        assert_eq!(img["name"], name, "list {n}: {img}");
        assert_eq!(img["k"], value, "list {n}: {img}");
        let mut got: Vec<&str> = img["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        got.sort_unstable();
        assert_eq!(got, tags, "list {n}: {img}");
    }
}

/// SQL run by a connection glint does not know, as another process would: a new connection
/// to the same database (on SQLite, the same file).
fn outside(app: &TestApp, sql: &str) {
    let url = app.state.config.database_connection.url().clone();
    match app.backend {
        Backend::Sqlite => {
            let mut c = diesel::SqliteConnection::establish(&url.target).expect("open");
            diesel::sql_query("PRAGMA busy_timeout = 10000")
                .execute(&mut c)
                .expect("busy_timeout");
            diesel::sql_query(sql).execute(&mut c).expect(sql);
        }
        Backend::Postgres => {
            let mut c = diesel::PgConnection::establish(&url.target).expect("open");
            diesel::sql_query(sql).execute(&mut c).expect(sql);
        }
        Backend::Mysql => {
            let mut c = diesel::MysqlConnection::establish(&url.target).expect("open");
            diesel::sql_query(sql).execute(&mut c).expect(sql);
        }
    }
}

/// SQL run on one of glint's own pooled connections.
fn pooled(app: &TestApp, sql: &str) {
    diesel::sql_query(sql).execute(&mut *app.db()).expect(sql);
}

backend_test!(lists_show_every_change_whoever_made_it, |app| async move {
    let c = app.caller("p1", "member");
    let other = app.caller("p2", "member");
    let a = c
        .create_image(json!({"name": "a0", "k": "v0", "tags": ["t0"]}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = c.create_image(json!({"name": "b0"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    all_show(&lists(&c, "").await, &a, "a0", "v0", &["t0"]);

    // Another process changes the row, a property and a tag.
    outside(
        &app,
        &format!("UPDATE images SET name = 'a1' WHERE id = '{a}'"),
    );
    outside(
        &app,
        &format!("UPDATE image_properties SET value = 'v1' WHERE image_id = '{a}' AND name = 'k'"),
    );
    outside(
        &app,
        &format!("UPDATE image_tags SET value = 't1' WHERE image_id = '{a}'"),
    );
    all_show(&lists(&c, "").await, &a, "a1", "v1", &["t1"]);
    // The same query with a filter, and the page's ids themselves: a filtered page kept from
    // before would still name the image by its old name.
    for page in lists(&c, "?name=a0").await {
        assert!(page.is_empty(), "{page:?}");
    }
    for page in lists(&c, "?name=a1").await {
        assert_eq!(image_ids(&json!({ "images": page })), vec![a.clone()]);
    }

    // A write on one of glint's own pooled connections.
    pooled(
        &app,
        &format!("UPDATE images SET name = 'a2' WHERE id = '{a}'"),
    );
    all_show(&lists(&c, "").await, &a, "a2", "v1", &["t1"]);

    // Through the API (on SQLite, the writer thread's connection).
    let (s, v) = json(
        c.patch(
            &format!("/v2/images/{a}"),
            &json!([{"op": "replace", "path": "/name", "value": "a3"},
                    {"op": "replace", "path": "/k", "value": "v3"}]),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let tagged = c
        .request(reqwest::Method::PUT, &format!("/v2/images/{a}/tags/t3"))
        .send()
        .await
        .expect("tag");
    assert_eq!(tagged.status(), 204);
    all_show(&lists(&c, "").await, &a, "a3", "v3", &["t1", "t3"]);

    // Visibility changes the set a page is chosen from, for the owner and for others.
    for page in lists(&other, "").await {
        assert!(find(&page, &b).is_none(), "{page:?}");
    }
    outside(
        &app,
        &format!("UPDATE images SET visibility = 'public' WHERE id = '{b}'"),
    );
    for page in lists(&other, "").await {
        assert!(find(&page, &b).is_some(), "{page:?}");
    }

    // Deleted by another process: gone from every list at once.
    outside(
        &app,
        &format!("UPDATE images SET deleted = true, status = 'deleted' WHERE id = '{b}'"),
    );
    for page in lists(&c, "")
        .await
        .into_iter()
        .chain(lists(&other, "").await)
    {
        assert!(find(&page, &b).is_none(), "{page:?}");
    }
    // And through the API.
    assert_eq!(c.delete_status(&format!("/v2/images/{a}")).await, 204);
    for page in lists(&c, "").await {
        assert!(page.is_empty(), "{page:?}");
    }
});
