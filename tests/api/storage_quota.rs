//! `[DEFAULT] user_storage_quota`: Glance's legacy per-project total of stored image data,
//! checked on upload (a declared size at once, an unknown one once read) and import, with
//! Glance's 413 texts; refused data leaves nothing behind in the store or the database.

use futures_util::stream;
use serde_json::{json, Value};

use crate::backend_test;
use crate::helpers::{json, message, Caller, TestApp};
use crate::import::{import, stage, wait_tasks};

async fn new_image(c: &Caller<'_>) -> String {
    c.create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn chunked(c: &Caller<'_>, id: &str, len: usize) -> (u16, Value) {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        vec![Ok(vec![7u8; len / 2]), Ok(vec![8u8; len - len / 2])];
    json(
        c.request(reqwest::Method::PUT, &format!("/v2/images/{id}/file"))
            .header("Content-Type", "application/octet-stream")
            .body(reqwest::Body::wrap_stream(stream::iter(chunks)))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The image is back to `queued` with no data: no location row, no file, and `size` as given
/// (a failed import keeps the staged size, as before this quota).
async fn left_nothing(app: &TestApp, c: &Caller<'_>, id: &str, size: Value) {
    let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(
        (img["status"].clone(), img["size"].clone()),
        (json!("queued"), size),
        "{img}"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM image_locations WHERE image_id = '{id}'"
        )),
        0
    );
    assert!(
        !app.store_files().iter().any(|f| f.contains(id)),
        "{:?}",
        app.store_files()
    );
}

backend_test!(
    upload_within_the_projects_quota,
    config = |c| c.data_rules.user_storage_quota = Some(100),
    |app| async move {
        let c = app.caller("p1", "member");
        let a = new_image(&c).await;
        assert_eq!(c.upload(&a, vec![1; 60]).await.status(), 204);
        // Declared too large: refused before reading, with the numbers.
        let b = new_image(&c).await;
        let (s, v) = json(c.upload(&b, vec![2; 50]).await).await;
        assert_eq!(
            (s, message(&v)),
            (
                413,
                "Image exceeds the storage quota: The size of the data 50 will exceed the limit. \
                 40 bytes remaining."
                    .to_owned()
            )
        );
        left_nothing(&app, &c, &b, Value::Null).await;
        // Exactly what is left fits.
        assert_eq!(c.upload(&b, vec![2; 40]).await.status(), 204);
        // Another project has its own quota.
        let other = app.caller("p2", "member");
        let o = new_image(&other).await;
        assert_eq!(other.upload(&o, vec![3; 100]).await.status(), 204);
        // Nothing left: even data of unknown size is refused at once.
        let d = new_image(&c).await;
        let (s, v) = chunked(&c, &d, 10).await;
        assert_eq!(
            (s, message(&v)),
            (
                413,
                "Image exceeds the storage quota: The size of the data None will exceed the limit. \
                 0 bytes remaining."
                    .to_owned()
            )
        );
        left_nothing(&app, &c, &d, Value::Null).await;
        // Deleting frees the room; a chunked body longer than it is read whole (as Glance
        // does), then refused with its size.
        assert_eq!(c.delete(&format!("/v2/images/{a}")).await.status(), 204);
        let (s, v) = chunked(&c, &d, 70).await;
        assert_eq!(
            (s, message(&v)),
            (
                413,
                "Image exceeds the storage quota: The size of the data 70 will exceed the limit. \
                 60 bytes remaining."
                    .to_owned()
            )
        );
        left_nothing(&app, &c, &d, Value::Null).await;
        let (s, _) = chunked(&c, &d, 60).await;
        assert_eq!(s, 204);
        let (_, img) = json(c.get(&format!("/v2/images/{d}")).await).await;
        assert_eq!(
            (img["status"].clone(), img["size"].clone()),
            (json!("active"), json!(60))
        );
    }
);

backend_test!(
    import_within_the_projects_quota,
    config = |c| c.data_rules.user_storage_quota = Some(100),
    |app| async move {
        let c = app.caller("p1", "member");
        let a = new_image(&c).await;
        assert_eq!(c.upload(&a, vec![1; 60]).await.status(), 204);
        // Staging is not counted (as in Glance); the import is.
        let b = new_image(&c).await;
        assert_eq!(stage(&c, &b, vec![2; 50]).await.status(), 204);
        let r = import(&c, &b, json!({"method": {"name": "glance-direct"}})).await;
        assert_eq!(r.status(), 202);
        let tasks = wait_tasks(&c, &b).await;
        assert_eq!(tasks[0]["status"], "failure", "{tasks:?}");
        let msg = tasks[0]["message"].as_str().unwrap();
        assert!(msg.contains("Image exceeds the storage quota"), "{msg}");
        left_nothing(&app, &c, &b, json!(50)).await;
        // With room for it, the same import succeeds.
        assert_eq!(c.delete(&format!("/v2/images/{a}")).await.status(), 204);
        assert_eq!(stage(&c, &b, vec![2; 50]).await.status(), 204);
        let r = import(&c, &b, json!({"method": {"name": "glance-direct"}})).await;
        assert_eq!(r.status(), 202);
        let tasks = wait_tasks(&c, &b).await;
        assert!(tasks.iter().any(|t| t["status"] == "success"), "{tasks:?}");
        let (_, img) = json(c.get(&format!("/v2/images/{b}")).await).await;
        assert_eq!(
            (img["status"].clone(), img["size"].clone()),
            (json!("active"), json!(50))
        );
    }
);

backend_test!(
    an_upload_that_lost_its_room_meanwhile_is_refused_and_removed,
    config = |c| c.data_rules.user_storage_quota = Some(100),
    |app| async move {
        let c = app.caller("p1", "member");
        let (x, y) = (new_image(&c).await, new_image(&c).await);
        // X starts with the whole quota as room and sends half its body...
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
        let body = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
        let request = c
            .request(reqwest::Method::PUT, &format!("/v2/images/{x}/file"))
            .header("Content-Type", "application/octet-stream")
            .body(reqwest::Body::wrap_stream(body))
            .send();
        let pending = tokio::spawn(request);
        tx.send(Ok(vec![1; 30])).await.unwrap();
        let (_, img) = json(c.get(&format!("/v2/images/{x}")).await).await;
        let mut status = img["status"].clone();
        for _ in 0..100 {
            if status == "saving" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            status = json(c.get(&format!("/v2/images/{x}")).await).await.1["status"].clone();
        }
        assert_eq!(status, "saving");
        // ...while Y takes 60 of it.
        assert_eq!(c.upload(&y, vec![2; 60]).await.status(), 204);
        tx.send(Ok(vec![1; 30])).await.unwrap();
        drop(tx);
        let (s, v) = json(pending.await.unwrap().unwrap()).await;
        assert_eq!(
            (s, message(&v)),
            (
                413,
                "Image exceeds the storage quota: The size of the data 60 will exceed the limit. \
                 40 bytes remaining."
                    .to_owned()
            )
        );
        left_nothing(&app, &c, &x, Value::Null).await;
    }
);
