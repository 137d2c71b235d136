//! On SQLite every timestamp glint writes is text in Glance's form, `YYYY-MM-DD HH:MM:SS.ffffff`
//! (src/db/timestamp.rs): SQLite compares them as text, so Glance's list markers only line up with
//! glint's rows when both write the same form. Migration `timestamp_text` rewrites older rows.

use std::time::Duration;

use diesel::RunQueryDsl;
use serde_json::json;

use crate::helpers::{json, Backend, TestApp};

#[derive(diesel::QueryableByName, Debug)]
struct Stamp {
    #[diesel(sql_type = diesel::sql_types::Text)]
    place: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    value: Option<String>,
}

/// Every value of every DATETIME column of every table, as stored.
fn stamps(app: &TestApp) -> Vec<Stamp> {
    #[derive(diesel::QueryableByName)]
    struct Col {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        c: String,
    }
    let mut conn = app.db();
    let cols: Vec<Col> = diesel::sql_query(
        "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND upper(p.type) = 'DATETIME'",
    )
    .load(&mut *conn)
    .unwrap();
    assert!(cols.len() > 30, "{}", cols.len());
    let mut out = Vec::new();
    for Col { t, c } in cols {
        let rows: Vec<Stamp> = diesel::sql_query(format!(
            "SELECT '{t}.{c}' AS place, CAST({c} AS TEXT) AS value FROM {t}"
        ))
        .load(&mut *conn)
        .unwrap();
        out.extend(rows);
    }
    out
}

fn glance_form(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 26
        && b[19] == b'.'
        && chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.6f").is_ok()
}

#[actix_web::test]
async fn sqlite_timestamps_are_written_in_glances_form() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let owner = app.caller("p1", "member");
    let admin = app.caller("admin-p", "admin");
    // Images, properties, tags, data (locations), members, updates, a delete.
    let id = owner
        .create_image(
            json!({"name": "a", "disk_format": "raw", "container_format": "bare",
                             "visibility": "shared", "os_distro": "x", "tags": ["t1", "t2"]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(owner.upload(&id, vec![7; 1000]).await.status(), 204);
    owner.add_member(&id, "p2").await;
    let consumer = app.caller("p2", "member");
    consumer.set_member_status(&id, "p2", "accepted").await;
    owner.add_member(&id, "p3").await;
    owner.remove_member(&id, "p3").await;
    let (s, _) = json(
        owner
            .patch(
                &format!("/v2/images/{id}"),
                &json!([{"op": "add", "path": "/os_version", "value": "1"}]),
            )
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let gone = owner
        .create_image(json!({"name": "gone", "tags": ["x"], "p": "q"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        owner.delete(&format!("/v2/images/{gone}")).await.status(),
        204
    );
    // An import (a task row, expiry included).
    let staged = owner
        .create_image(json!({"name": "s", "disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    owner.stage_and_import(&staged, vec![1u8; 100]).await;
    for _ in 0..200 {
        let (_, img) = json(owner.get(&format!("/v2/images/{staged}")).await).await;
        if img["status"] == "active" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Metadefs: a namespace with objects, properties, tags and a resource type association.
    let (s, v) = json(admin.post("/v2/metadefs/namespaces", &json!({
        "namespace": "OS::Glint::Stamps", "visibility": "public",
        "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "s_"}],
        "properties": {"speed": {"title": "Speed", "type": "string"}},
        "objects": [{"name": "Obj", "properties": {"x": {"title": "X", "type": "integer"}}}],
        "tags": [{"name": "t1"}]
    })).await).await;
    assert_eq!(s, 201, "{v}");
    let (s, _) = json(admin.put("/v2/metadefs/namespaces/OS::Glint::Stamps", &json!({
        "namespace": "OS::Glint::Stamps", "visibility": "public", "description": "changed"
    })).await).await;
    assert_eq!(s, 200);

    let all = stamps(&app);
    let set: Vec<&Stamp> = all.iter().filter(|s| s.value.is_some()).collect();
    for table in [
        "images.",
        "image_properties.",
        "image_tags.",
        "image_members.",
        "image_locations.",
        "tasks.expires_at",
        "metadef_namespaces.updated_at",
        "metadef_objects.",
        "metadef_tags.",
    ] {
        assert!(
            set.iter().any(|s| s.place.starts_with(table)),
            "no timestamp written in {table}: {set:?}"
        );
    }
    let bad: Vec<&&Stamp> = set
        .iter()
        .filter(|s| !glance_form(s.value.as_deref().unwrap()))
        .collect();
    assert!(bad.is_empty(), "not in Glance's form: {bad:?}");
}

#[actix_web::test]
async fn the_migration_rewrites_older_timestamps() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.caller("p1", "member");
    let id = c.create_image(json!({"name": "old", "tags": ["t"]})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut conn = app.db();
    // What glint wrote before: diesel's form, no zero fraction, three digits for milliseconds.
    diesel::sql_query(format!(
        "UPDATE images SET created_at = '2026-01-02 03:04:05', updated_at = '2026-01-02 03:04:05.120', \
         deleted_at = NULL WHERE id = '{id}'"
    ))
    .execute(&mut *conn)
    .unwrap();
    diesel::sql_query("UPDATE image_tags SET created_at = '2026-01-02 03:04:05.123456', updated_at = '2026-01-02 03:04:05.5'")
        .execute(&mut *conn)
        .unwrap();
    diesel::connection::SimpleConnection::batch_execute(
        &mut *conn,
        include_str!("../../migrations/sqlite/2026-12-06-000006_timestamp_text/up.sql"),
    )
    .unwrap();
    let got: Vec<Stamp> = diesel::sql_query(format!(
        "SELECT 'images' AS place, created_at || '|' || updated_at || '|' || coalesce(deleted_at, 'null') AS value \
         FROM images WHERE id = '{id}' UNION ALL \
         SELECT 'image_tags', created_at || '|' || updated_at FROM image_tags"
    ))
    .load(&mut *conn)
    .unwrap();
    assert_eq!(
        got.iter()
            .map(|s| s.value.clone().unwrap())
            .collect::<Vec<_>>(),
        [
            "2026-01-02 03:04:05.000000|2026-01-02 03:04:05.120000|null",
            "2026-01-02 03:04:05.123456|2026-01-02 03:04:05.500000",
        ]
    );
    drop(conn);
    // glint reads the rewritten rows as before.
    let (s, v) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(
        (s, v["created_at"].as_str()),
        (200, Some("2026-01-02T03:04:05Z"))
    );
}
