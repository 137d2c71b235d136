//! The object stores as where new data goes: single-store mode with several enabled stores
//! (`[glance_store] stores = file,s3`, `default_store = s3`), where each location is read and
//! deleted by the store of its scheme so that images written before the default moved stay
//! usable; and multi-store mode with one S3 or Swift backend. Needs the object-store server
//! (scripts/swift.sh, `GLINT_SWIFT_ENV`).

use serde_json::json;

use crate::helpers::s3_target::S3Target;
use crate::helpers::swift_target::SwiftTarget;
use crate::helpers::{json, skip, TestApp};

async fn s3_app() -> Option<TestApp> {
    match S3Target::from_env() {
        Some(t) => Some(TestApp::spawn_s3(t, |_| {}).await),
        None => {
            skip("no object store: GLINT_SWIFT_ENV unset (scripts/swift.sh start writes it)");
            None
        }
    }
}

#[actix_web::test]
async fn locations_are_read_and_deleted_by_the_store_of_their_scheme() {
    let Some(app) = s3_app().await else { return };
    let c = app.caller("p1", "member");
    let id = c
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(c.upload(&id, b"in s3".to_vec()).await.status(), 204);
    assert_eq!(app.store_files(), vec![id.clone()]);
    // The image as a file-store era glint (or Glance) left it: its location a file.
    let dir = app.state.config.filesystem_store_datadir.clone();
    let file = dir.join(&id);
    std::fs::write(&file, b"ondsk").unwrap();
    let url = format!("file://{}", file.display());
    let n = app.count(&format!(
        "SELECT COUNT(*) AS n FROM image_locations WHERE image_id = '{id}' AND value = '{}'",
        app.location_of(&id)
    ));
    assert_eq!(n, 1);
    {
        use diesel::RunQueryDsl;
        let mut conn = app.db();
        diesel::sql_query(format!(
            "UPDATE image_locations SET value = '{url}' WHERE image_id = '{id}'"
        ))
        .execute(&mut *conn)
        .unwrap();
    }
    let r = c.get(&format!("/v2/images/{id}/file")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"ondsk");
    // A location of a store that is not enabled is unreadable, as in Glance.
    {
        use diesel::RunQueryDsl;
        let mut conn = app.db();
        diesel::sql_query(format!(
            "UPDATE image_locations SET value = 'swift+config://ref1/glance/{id}' WHERE image_id = '{id}'"
        ))
        .execute(&mut *conn)
        .unwrap();
        diesel::sql_query(format!(
            "INSERT INTO image_locations (image_id, value, created_at, deleted, meta_data, status) \
             SELECT image_id, '{url}', created_at, deleted, meta_data, status FROM image_locations \
             WHERE image_id = '{id}'"
        ))
        .execute(&mut *conn)
        .unwrap();
    }
    // The unreadable one is skipped, the file is served.
    let r = c.get(&format!("/v2/images/{id}/file")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"ondsk");
    // Delete: the file goes (through the file store); the S3 object no row names stays.
    assert_eq!(c.delete(&format!("/v2/images/{id}")).await.status(), 204);
    assert!(!file.exists());
    assert_eq!(app.store_files(), vec![id.clone()]);
    let (s, _) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(s, 404);
}

/// Multi-store mode with one object-store backend (`enabled_backends = cheap:s3` or
/// `obj:swift`): discovery names it with its kind's properties, an upload naming it lands in it,
/// and the image and its location row name the store.
async fn named_backend_round_trip(app: &TestApp, id_of_store: &str, kind: &str) {
    let c = app.caller("p1", "member");
    let (s, v) = json(c.get("/v2/info/stores").await).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!({"stores": [{"id": id_of_store, "description": "Object store", "default": "true"}]})
    );
    let admin = app.caller("adm", "admin,member,reader");
    let (s, v) = json(admin.get("/v2/info/stores/detail").await).await;
    assert_eq!(s, 200, "{v}");
    let store = &v["stores"][0];
    assert_eq!(
        (&store["type"], &store["weight"]),
        (&json!(kind), &json!(40))
    );
    let props = &store["properties"];
    match kind {
        "s3" => assert_eq!(props["s3_store_large_object_chunk_size"], 10 * 1024 * 1024),
        _ => assert_eq!(
            props["large_object_chunk_size"],
            crate::helpers::swift_target::CHUNK_SIZE
        ),
    }
    let id = c
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let data: Vec<u8> = (0..150_000u32).map(|i| (i % 253) as u8).collect();
    let r = c
        .request(reqwest::Method::PUT, &format!("/v2/images/{id}/file"))
        .header("Content-Type", "application/octet-stream")
        .header("X-Image-Meta-Store", id_of_store)
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(
        (img["status"].as_str(), img["stores"].as_str()),
        (Some("active"), Some(id_of_store))
    );
    assert_eq!(app.store_files(), vec![id.clone()]);
    let meta = format!("{{\"store\": \"{id_of_store}\"}}");
    let n = app.count(&format!(
        "SELECT COUNT(*) AS n FROM image_locations WHERE image_id = '{id}' AND value = '{}' \
         AND meta_data = '{meta}'",
        app.location_of(&id)
    ));
    assert_eq!(n, 1, "{}", app.location_of(&id));
    let r = c.get(&format!("/v2/images/{id}/file")).await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[..]);
    assert_eq!(c.delete(&format!("/v2/images/{id}")).await.status(), 204);
    assert!(app.store_files().is_empty(), "{:?}", app.store_files());
}

fn named(c: &mut glint::config::Config, id: &str) {
    c.backend = Some(glint::config::Backend {
        id: id.into(),
        description: Some("Object store".into()),
    });
    c.stores.file = false;
    c.stores.weight = 40;
}

#[actix_web::test]
async fn an_s3_backend_of_multi_store_mode() {
    let Some(target) = S3Target::from_env() else {
        skip("no object store: GLINT_SWIFT_ENV unset (scripts/swift.sh start writes it)");
        return;
    };
    let mut app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        target.configure(c);
        named(c, "cheap");
    })
    .await;
    app.s3 = Some(target);
    named_backend_round_trip(&app, "cheap", "s3").await;
}

#[actix_web::test]
async fn a_swift_backend_of_multi_store_mode() {
    let Some(target) = SwiftTarget::from_env() else {
        skip("no Swift with Keystone: GLINT_SWIFT_ENV unset or without SWIFT_KEYSTONE_*");
        return;
    };
    let mut app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        target.configure(c);
        named(c, "obj");
    })
    .await;
    app.swift = Some(target);
    named_backend_round_trip(&app, "obj", "swift").await;
}
