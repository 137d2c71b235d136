//! Single-store mode with several enabled stores (`[glance_store] stores = file,s3`,
//! `default_store = s3`): new data goes to S3, and each location is read and deleted by the
//! store of its scheme, so images written before the default moved stay usable. Needs the
//! object-store server (scripts/swift.sh, `GLINT_SWIFT_ENV`).

use serde_json::json;

use crate::helpers::s3_target::S3Target;
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
