//! Multi-store mode with several stores at once (`enabled_backends = slow:file,fast:file`,
//! plus a Swift store on a closed port that fails every write): discovery, upload to a chosen
//! store, import to several (`stores`, `all_stores`, `all_stores_must_succeed`), `copy-image`,
//! delete from one store, and reads in weight order; each checked in the store directories
//! and the location rows.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_test;
use crate::helpers::{assert_error, json, message, Caller, TestApp};
use glint::config::backends::{BackendOptions, NamedBackend};
use glint::config::stores::StoreKind;
use glint::config::{Backend, Config, RawConfig};

/// `slow` (weight 1, listed first) and `fast` (weight 10, the default); with `broken`, a Swift
/// store whose Keystone is a closed port.
fn several(c: &mut Config, broken: bool) {
    let fast = c.filesystem_store_datadir.clone();
    let slow = fast.with_file_name("images-slow");
    c.backend = Some(Backend {
        id: "fast".into(),
        description: Some("Fast disk".into()),
    });
    c.stores.weight = 10;
    let file = |id: &str, weight, datadir: PathBuf| NamedBackend {
        id: id.into(),
        kind: StoreKind::File,
        description: None,
        weight,
        options: BackendOptions::File {
            datadir,
            datadirs: vec![],
        },
    };
    c.backends = vec![file("slow", 1, slow), file("fast", 10, fast)];
    c.backends[1].description = Some("Fast disk".into());
    if broken {
        let raw = RawConfig::from_text(
            "[broken]\nswift_store_auth_address = http://127.0.0.1:9899/v3\n\
             swift_store_user = p:u\nswift_store_key = k\n",
        )
        .unwrap();
        let swift = glint::config::swift::SwiftConfig::from_raw(&raw, "broken").unwrap();
        c.backends.push(NamedBackend {
            id: "broken".into(),
            kind: StoreKind::Swift,
            description: None,
            weight: 5,
            options: BackendOptions::Swift(swift),
        });
    }
    c.import.enabled_import_methods = vec![
        "glance-direct".into(),
        "web-download".into(),
        "copy-image".into(),
    ];
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn dir_of(app: &TestApp, store: &str) -> PathBuf {
    let fast = app.state.config.filesystem_store_datadir.clone();
    match store {
        "fast" => fast,
        other => fast.with_file_name(format!("images-{other}")),
    }
}

/// The image's live location rows as (store, url), in row order.
fn live_rows(app: &TestApp, id: &str) -> Vec<(String, String)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        meta_data: Option<String>,
    }
    use diesel::RunQueryDsl;
    let mut c = app.db();
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT value, meta_data FROM image_locations WHERE image_id = '{id}' \
         AND deleted = false AND status = 'active' ORDER BY id"
    ))
    .load(&mut *c)
    .unwrap();
    rows.into_iter()
        .map(|r| {
            let meta: Value = serde_json::from_str(r.meta_data.as_deref().unwrap_or("{}")).unwrap();
            (meta["store"].as_str().unwrap_or("").to_owned(), r.value)
        })
        .collect()
}

const DATA: &[u8] = b"several stores hold these bytes";

async fn new_image(c: &Caller<'_>) -> String {
    c.create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn put(c: &Caller<'_>, path: &str, store: Option<&str>) -> (u16, Value) {
    let mut r = c
        .request(Method::PUT, path)
        .header("Content-Type", "application/octet-stream")
        .body(DATA.to_vec());
    if let Some(s) = store {
        r = r.header("X-Image-Meta-Store", s);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The image once its import task has ended (lock gone, no store still importing).
/// A new image staged and imported to every store (`all_stores`), once its import settled.
async fn imported_everywhere(c: &Caller<'_>) -> (String, Value) {
    let id = new_image(c).await;
    assert_eq!(put(c, &format!("/v2/images/{id}/stage"), None).await.0, 204);
    let body = json!({"method": {"name": "glance-direct"}, "all_stores": true});
    let (s, v) = json(c.post(&format!("/v2/images/{id}/import"), &body).await).await;
    assert_eq!(s, 202, "{v}");
    let img = settled(c, &id).await;
    (id, img)
}

async fn settled(c: &Caller<'_>, id: &str) -> Value {
    for _ in 0..600 {
        let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
        let importing = img
            .get("os_glance_importing_to_stores")
            .and_then(Value::as_str);
        if img.get("os_glance_import_task").is_none() && importing.is_none_or(str::is_empty) {
            return img;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import of {id} did not end");
}

async fn task_statuses(c: &Caller<'_>, id: &str) -> Vec<String> {
    let (_, t) = json(c.get(&format!("/v2/images/{id}/tasks")).await).await;
    let mut s: Vec<String> = t["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap().to_owned())
        .collect();
    s.sort();
    s
}

backend_test!(
    discovery_and_upload_to_a_chosen_store,
    config = |c| several(c, false),
    |app| async move {
        let c = app.caller("p1", "member");
        let (s, v) = json(c.get("/v2/info/stores").await).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v,
            json!({"stores": [{"id": "slow"},
                              {"id": "fast", "description": "Fast disk", "default": "true"}]})
        );
        let admin = app.caller("adm", "admin,member,reader");
        let (_, v) = json(admin.get("/v2/info/stores/detail").await).await;
        let detail: Vec<(Value, Value, Value)> = v["stores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["id"].clone(), s["type"].clone(), s["weight"].clone()))
            .collect();
        assert_eq!(
            detail,
            [
                (json!("slow"), json!("file"), json!(1)),
                (json!("fast"), json!("file"), json!(10))
            ]
        );
        assert_eq!(
            v["stores"][0]["properties"]["data_dir"],
            dir_of(&app, "slow").display().to_string()
        );
        let r = c.post("/v2/images", &json!({})).await;
        assert_eq!(r.headers()["openstack-image-store-ids"], "slow,fast");
        let (_, versions) = json(c.get("/versions").await).await;
        assert_eq!(versions["versions"][1]["id"], "v2.13");

        let id = new_image(&c).await;
        let (s, v) = put(&c, &format!("/v2/images/{id}/file"), Some("nowhere")).await;
        assert_error((s, &v), (400, "Unknown scheme 'nowhere' found in URI"));
        let (s, _) = put(&c, &format!("/v2/images/{id}/file"), Some("slow")).await;
        assert_eq!(s, 204);
        assert_eq!(files(&dir_of(&app, "slow")), vec![id.clone()]);
        assert!(files(&dir_of(&app, "fast")).is_empty());
        let rows = live_rows(&app, &id);
        assert_eq!(
            rows,
            [(
                "slow".to_owned(),
                format!("file://{}", dir_of(&app, "slow").join(&id).display())
            )]
        );
        let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(
            (&img["status"], &img["stores"]),
            (&json!("active"), &json!("slow"))
        );
        let r = c.get(&format!("/v2/images/{id}/file")).await;
        assert_eq!(r.bytes().await.unwrap().as_ref(), DATA);
        // Without the header the default store takes the data.
        let id2 = new_image(&c).await;
        assert_eq!(
            put(&c, &format!("/v2/images/{id2}/file"), None).await.0,
            204
        );
        assert_eq!(files(&dir_of(&app, "fast")), vec![id2.clone()]);
        assert_eq!(live_rows(&app, &id2)[0].0, "fast");
        // Deleting the image removes its data from its store.
        assert_eq!(c.delete_status(&format!("/v2/images/{id}")).await, 204);
        assert!(files(&dir_of(&app, "slow")).is_empty());
    }
);

backend_test!(
    import_to_all_stores_then_delete_from_one,
    config = |c| several(c, false),
    |app| async move {
        let c = app.caller("p1", "member");
        let (id, img) = imported_everywhere(&c).await;
        // Written slow first (enabled_backends order), listed heaviest first.
        assert_eq!(
            (&img["status"], &img["stores"]),
            (&json!("active"), &json!("fast,slow")),
            "{img}"
        );
        assert_eq!(img["os_glance_failed_import"], "");
        assert_eq!(img["size"], DATA.len());
        let stores: Vec<String> = live_rows(&app, &id).into_iter().map(|r| r.0).collect();
        assert_eq!(stores, ["slow", "fast"]);
        for s in ["slow", "fast"] {
            assert_eq!(
                std::fs::read(dir_of(&app, s).join(&id)).unwrap(),
                DATA,
                "{s}"
            );
        }
        assert_eq!(task_statuses(&c, &id).await, ["success"]);
        // Reads come from the heaviest store: with fast's copy gone, slow's is read.
        std::fs::remove_file(dir_of(&app, "fast").join(&id)).unwrap();
        let r = c.get(&format!("/v2/images/{id}/file")).await;
        assert_eq!(r.bytes().await.unwrap().as_ref(), DATA);
        std::fs::write(dir_of(&app, "fast").join(&id), DATA).unwrap();

        // Delete from one store: Glance's rules and answers.
        let admin = app.caller("adm", "admin,member,reader");
        let path = format!("/v2/stores/slow/{id}");
        let (s, _) = json(c.delete(&path).await).await;
        assert_eq!(s, 403, "delete_image_location is for admins");
        let (s, v) = json(admin.delete(&format!("/v2/stores/nowhere/{id}")).await).await;
        assert_error(
            (s, &v),
            (
                409,
                "The selected store nowhere is not available on this node.",
            ),
        );
        let missing = "00000000-0000-4000-8000-000000000000";
        let (s, v) = json(admin.delete(&format!("/v2/stores/slow/{missing}")).await).await;
        assert_eq!(
            (s, message(&v)),
            (404, format!("Failed to find image {missing}"))
        );
        let r = admin.delete(&path).await;
        assert_eq!(r.status(), 204);
        assert!(files(&dir_of(&app, "slow")).is_empty());
        assert_eq!(files(&dir_of(&app, "fast")), vec![id.clone()]);
        let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(img["stores"], "fast");
        assert_eq!(live_rows(&app, &id).len(), 1);
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_locations WHERE image_id = '{id}' AND deleted = true"
            )),
            1
        );
        let (s, v) = json(admin.delete(&path).await).await;
        assert_eq!(s, 403, "the last store: {v}");
        assert_eq!(
            message(&v),
            "Cannot delete image data from the only store containing it. Consider deleting the image instead."
        );
        let queued = new_image(&c).await;
        let (s, _) = json(admin.delete(&format!("/v2/stores/fast/{queued}")).await).await;
        assert_eq!(s, 409);
    }
);

backend_test!(
    copy_image_to_more_stores,
    config = |c| several(c, false),
    |app| async move {
        let c = app.caller("p1", "member");
        let admin = app.caller("p1", "admin,member,reader");
        let id = new_image(&c).await;
        let copy = |body: Value| {
            let (admin, id) = (&admin, id.clone());
            async move { json(admin.post(&format!("/v2/images/{id}/import"), &body).await).await }
        };
        let to_slow = json!({"method": {"name": "copy-image"}, "stores": ["slow"]});
        let (s, v) = copy(to_slow.clone()).await;
        assert_error(
            (s, &v),
            (
                409,
                "Only images with status active can be targeted for copying",
            ),
        );
        assert_eq!(put(&c, &format!("/v2/images/{id}/file"), None).await.0, 204);
        // copy_image is an admin's policy.
        let (s, _) = json(c.post(&format!("/v2/images/{id}/import"), &to_slow).await).await;
        assert_eq!(s, 403);
        let (s, v) = copy(to_slow.clone()).await;
        assert_eq!(s, 202, "{v}");
        let img = settled(&c, &id).await;
        assert_eq!(
            (&img["status"], &img["stores"]),
            (&json!("active"), &json!("fast,slow")),
            "{img}"
        );
        assert_eq!(img["os_glance_failed_import"], "");
        assert_eq!(std::fs::read(dir_of(&app, "slow").join(&id)).unwrap(), DATA);
        assert_eq!(task_statuses(&c, &id).await, ["success"]);
        let stores: Vec<String> = live_rows(&app, &id).into_iter().map(|r| r.0).collect();
        assert_eq!(stores, ["fast", "slow"]);
        // Already there: named, a 400; with all_stores, nothing to do and no task.
        let (s, v) = copy(to_slow).await;
        assert_error((s, &v), (400, "Image is already present at store 'slow'"));
        let (s, _) = copy(json!({"method": {"name": "copy-image"}, "all_stores": true})).await;
        assert_eq!(s, 202);
        assert_eq!(task_statuses(&c, &id).await, ["success"]);
    }
);

backend_test!(
    all_stores_must_succeed_with_a_failing_store,
    config = |c| several(c, true),
    |app| async move {
        let c = app.caller("p1", "member");
        let id = new_image(&c).await;
        assert_eq!(
            put(&c, &format!("/v2/images/{id}/stage"), None).await.0,
            204
        );
        let body = json!({"method": {"name": "glance-direct"}, "stores": ["slow", "broken"]});
        let (s, v) = json(c.post(&format!("/v2/images/{id}/import"), &body).await).await;
        assert_eq!(s, 202, "{v}");
        let img = settled(&c, &id).await;
        // slow was written, then rolled back when broken failed.
        assert_eq!(img["status"], "queued", "{img}");
        assert_eq!(img["os_glance_failed_import"], "broken");
        assert!(img.get("stores").is_none(), "{img}");
        assert!(live_rows(&app, &id).is_empty());
        assert!(files(&dir_of(&app, "slow")).is_empty());
        assert_eq!(task_statuses(&c, &id).await, ["failure"]);

        // Without all_stores_must_succeed the failing store is only recorded.
        assert_eq!(
            put(&c, &format!("/v2/images/{id}/stage"), None).await.0,
            204
        );
        let body = json!({"method": {"name": "glance-direct"}, "all_stores": true,
                          "all_stores_must_succeed": false});
        let (s, v) = json(c.post(&format!("/v2/images/{id}/import"), &body).await).await;
        assert_eq!(s, 202, "{v}");
        let img = settled(&c, &id).await;
        assert_eq!(
            (&img["status"], &img["stores"]),
            (&json!("active"), &json!("fast,slow")),
            "{img}"
        );
        assert_eq!(img["os_glance_failed_import"], "broken");
        assert_eq!(img["os_glance_importing_to_stores"], "");
        let stores: Vec<String> = live_rows(&app, &id).into_iter().map(|r| r.0).collect();
        assert_eq!(stores, ["slow", "fast"]);
        assert_eq!(task_statuses(&c, &id).await, ["failure", "success"]);
        let r = c.get(&format!("/v2/images/{id}/file")).await;
        assert_eq!(r.bytes().await.unwrap().as_ref(), DATA);
    }
);

/// A file store and an S3 store together (the object-store server of scripts/swift.sh, on
/// SQLite): an import to both lands in the directory and in the bucket, and deleting the S3
/// copy empties the bucket.
#[actix_web::test]
async fn a_file_and_an_s3_store_together() {
    use crate::helpers::s3_target::S3Target;
    let Some(target) = S3Target::from_env() else {
        crate::helpers::skip(
            "no object store: GLINT_SWIFT_ENV unset (scripts/swift.sh start writes it)",
        );
        return;
    };
    let mut app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        several(c, false);
        target.configure(c);
        let s3 = c.stores.s3.clone().expect("s3 options");
        c.stores = glint::config::stores::StoresConfig::file_only();
        c.stores.weight = 10;
        c.backends[0] = NamedBackend {
            id: "cheap".into(),
            kind: StoreKind::S3,
            description: None,
            weight: 0,
            options: BackendOptions::S3(s3),
        };
    })
    .await;
    app.s3 = Some(target);
    let c = app.caller("p1", "member");
    let (id, img) = imported_everywhere(&c).await;
    assert_eq!(
        (&img["status"], &img["stores"]),
        (&json!("active"), &json!("fast,cheap")),
        "{img}"
    );
    assert_eq!(app.store_files(), vec![id.clone()], "the bucket");
    assert_eq!(files(&dir_of(&app, "fast")), vec![id.clone()]);
    let rows = live_rows(&app, &id);
    assert_eq!(rows[0], ("cheap".to_owned(), app.location_of(&id)));
    // With the file copy gone, the download comes from S3.
    std::fs::remove_file(dir_of(&app, "fast").join(&id)).unwrap();
    let r = c.get(&format!("/v2/images/{id}/file")).await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), DATA);
    std::fs::write(dir_of(&app, "fast").join(&id), DATA).unwrap();
    let admin = app.caller("adm", "admin,member,reader");
    assert_eq!(
        admin.delete_status(&format!("/v2/stores/cheap/{id}")).await,
        204
    );
    assert!(app.store_files().is_empty(), "{:?}", app.store_files());
    let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(img["stores"], "fast");
    assert_eq!(c.delete_status(&format!("/v2/images/{id}")).await, 204);
    assert!(files(&dir_of(&app, "fast")).is_empty());
}

backend_test!(
    web_download_to_chosen_stores,
    config = |c| {
        several(c, false);
        c.import.filter.allowed_ports = vec![];
        // The source is on loopback: the operator names it.
        c.import.filter.allowed_hosts = vec!["127.0.0.1".into()];
    },
    |app| async move {
        use std::io::Write;
        let port = crate::raw::serve(|_, conn| {
            let head = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", DATA.len());
            let _ = conn
                .write_all(head.as_bytes())
                .and_then(|()| conn.write_all(DATA));
        });
        let c = app.caller("p1", "member");
        let id = new_image(&c).await;
        let r = c
            .request(Method::POST, &format!("/v2/images/{id}/import"))
            .header("X-Image-Meta-Store", "slow")
            .json(&json!({"method": {"name": "web-download",
                                     "uri": format!("http://127.0.0.1:{port}/image")}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let img = settled(&c, &id).await;
        assert_eq!(
            (&img["status"], &img["stores"]),
            (&json!("active"), &json!("slow")),
            "{img}"
        );
        assert_eq!(std::fs::read(dir_of(&app, "slow").join(&id)).unwrap(), DATA);
        assert!(files(&dir_of(&app, "fast")).is_empty());
        let (_, t) = json(c.get(&format!("/v2/images/{id}/tasks")).await).await;
        assert_eq!(t["tasks"][0]["input"]["backend"], json!(["slow"]));
        // The staging area keeps nothing once the import is over.
        assert!(files(&app.state.config.import.staging_dir).is_empty());
    }
);
