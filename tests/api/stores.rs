//! Multi-store mode with one named file backend (`[DEFAULT] enabled_backends
//! = fast:file`): store discovery, `stores` on images, the import's store
//! list and its per-store bookkeeping, `X-Image-Meta-Store` on upload.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_test;
use crate::helpers::{json, message, Caller};
use glint::config::Backend;

fn one_store(c: &mut glint::config::Config) {
    c.backend = Some(Backend {
        id: "fast".into(),
        description: Some("Fast local disk".into()),
    });
}

async fn new_image(c: &Caller<'_>) -> String {
    c.create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn send_data(c: &Caller<'_>, path: &str, store: Option<&str>) -> reqwest::Response {
    let mut r = c
        .request(Method::PUT, path)
        .header("Content-Type", "application/octet-stream")
        .body(vec![7u8; 1000]);
    if let Some(s) = store {
        r = r.header("X-Image-Meta-Store", s);
    }
    r.send().await.unwrap()
}

async fn wait_unlocked(c: &Caller<'_>, id: &str) -> Value {
    for _ in 0..400 {
        let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
        if img["status"] != "importing" && img.get("os_glance_import_task").is_none() {
            return img;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import of {id} did not end");
}

backend_test!(
    discovery_lists_the_backend,
    config = |c| one_store(c),
    |app| async move {
        let c = app.caller("p1", "member");
        let (s, v) = json(c.get("/v2/info/stores").await).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v,
            json!({"stores": [{"id": "fast", "description": "Fast local disk", "default": "true"}]})
        );
        // Details are for admins.
        let (s, v) = json(c.get("/v2/info/stores/detail").await).await;
        assert_eq!(
            (s, message(&v).as_str()),
            (
                403,
                "You are not authorized to complete stores_info_detail action."
            )
        );
        let admin = app.caller("adm", "admin,member,reader");
        let (s, v) = json(admin.get("/v2/info/stores/detail").await).await;
        assert_eq!(s, 200, "{v}");
        let store = &v["stores"][0];
        assert_eq!(
            (
                &store["id"],
                &store["type"],
                &store["default"],
                &store["weight"]
            ),
            (&json!("fast"), &json!("file"), &json!("true"), &json!(0))
        );
        assert_eq!(
            store["properties"]["data_dir"],
            app.state
                .config
                .filesystem_store_datadir
                .display()
                .to_string()
        );
        let r = c.post("/v2/images", &json!({"name": "x"})).await;
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["openstack-image-store-ids"], "fast");
    }
);

backend_test!(single_store_has_no_stores, |app| async move {
    let c = app.caller("p1", "member");
    let id = new_image(&c).await;
    assert_eq!(
        send_data(&c, &format!("/v2/images/{id}/file"), None)
            .await
            .status(),
        204
    );
    let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(img["status"], "active");
    assert!(img.get("stores").is_none(), "{img}");
    let r = c.post("/v2/images", &json!({})).await;
    assert!(r.headers().get("openstack-image-store-ids").is_none());
});

backend_test!(
    upload_names_the_store,
    config = |c| one_store(c),
    |app| async move {
        let c = app.caller("p1", "member");
        let id = new_image(&c).await;
        let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
        assert!(
            img.get("stores").is_none(),
            "queued images have no store: {img}"
        );
        // An unknown store is refused and nothing is stored.
        let (s, v) =
            json(send_data(&c, &format!("/v2/images/{id}/file"), Some("slow")).await).await;
        assert_eq!(
            (s, message(&v).as_str()),
            (400, "Unknown scheme 'slow' found in URI")
        );
        assert!(app.store_files().is_empty());
        let r = send_data(&c, &format!("/v2/images/{id}/file"), Some("fast")).await;
        assert_eq!(r.status(), 204);
        let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(
            (&img["status"], &img["stores"]),
            (&json!("active"), &json!("fast"))
        );
        let (_, list) = json(c.get("/v2/images").await).await;
        assert_eq!(list["images"][0]["stores"], "fast");
        assert_eq!(app.store_files(), vec![id.clone()]);
    }
);

backend_test!(
    import_to_the_store,
    config = |c| one_store(c),
    |app| async move {
        let c = app.caller("p1", "member");
        let id = new_image(&c).await;
        assert_eq!(
            send_data(&c, &format!("/v2/images/{id}/stage"), None)
                .await
                .status(),
            204
        );
        let import = |body: Value| {
            let c = &c;
            let id = id.clone();
            async move { json(c.post(&format!("/v2/images/{id}/import"), &body).await).await }
        };
        let (s, v) = import(json!({"method": {"name": "glance-direct"}, "stores": ["slow"]})).await;
        assert_eq!(
            (s, message(&v).as_str()),
            (409, "Unknown scheme 'slow' found in URI")
        );
        let (s, v) = import(
            json!({"method": {"name": "glance-direct"}, "stores": ["fast"],
                              "all_stores": true}),
        )
        .await;
        assert_eq!(
        (s, message(&v).as_str()),
        (
            400,
            "All_stores parameter can't be used with x-image-meta-store header or stores parameter"
        )
    );
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM tasks"), 0);
        let (s, v) = import(
            json!({"method": {"name": "glance-direct"}, "stores": ["fast"],
                              "all_stores_must_succeed": false}),
        )
        .await;
        assert_eq!(s, 202, "{v}");
        let img = wait_unlocked(&c, &id).await;
        assert_eq!(img["status"], "active", "{img}");
        assert_eq!(img["stores"], "fast");
        // The store left the importing list and is not among the failed ones.
        assert_eq!(img["os_glance_importing_to_stores"], "");
        assert_eq!(img["os_glance_failed_import"], "");
        let (_, t) = json(c.get(&format!("/v2/images/{id}/tasks")).await).await;
        assert_eq!(t["tasks"][0]["input"]["backend"], json!(["fast"]));
        assert_eq!(app.store_files(), vec![id.clone()]);
    }
);

backend_test!(
    failed_import_is_recorded_per_store,
    config = |c| {
        one_store(c);
        c.import.filter.allowed_ports = vec![];
        c.import.filter.allowed_hosts = vec!["127.0.0.1".into()];
    },
    |app| async move {
        let c = app.caller("p1", "member");
        let id = new_image(&c).await;
        // A port nobody listens on: the download fails in the background.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let body = json!({"method": {"name": "web-download",
                                     "uri": format!("http://127.0.0.1:{port}/x")},
                          "stores": ["fast"]});
        let (s, v) = json(c.post(&format!("/v2/images/{id}/import"), &body).await).await;
        assert_eq!(s, 202, "{v}");
        let img = wait_unlocked(&c, &id).await;
        assert_eq!(img["status"], "queued", "{img}");
        assert!(img.get("stores").is_none(), "{img}");
        assert_eq!(img["os_glance_importing_to_stores"], "");
        assert_eq!(img["os_glance_failed_import"], "fast");
        // A later import to the store takes it off the failed list.
        assert_eq!(
            send_data(&c, &format!("/v2/images/{id}/stage"), None)
                .await
                .status(),
            204
        );
        let r = c
            .request(Method::POST, &format!("/v2/images/{id}/import"))
            .header("X-Image-Meta-Store", "fast")
            .json(&json!({"method": {"name": "glance-direct"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let img = wait_unlocked(&c, &id).await;
        assert_eq!(
            (&img["status"], &img["stores"]),
            (&json!("active"), &json!("fast"))
        );
        assert_eq!(img["os_glance_failed_import"], "");
        assert_eq!(img["os_glance_importing_to_stores"], "");
    }
);
