//! Interoperable image import: staging, glance-direct, web-download from a
//! local HTTP server this test runs, the failure paths, the import lock and
//! the recovery of imports whose process died.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use glint::domain::id::ImageId;
use md5::Digest;
use serde_json::{json, Value};

use crate::backend_test;
use crate::helpers::{json, message, Caller, TestApp};
use crate::raw;
use crate::store_test;

fn md5_hex(b: &[u8]) -> String {
    hex::encode(md5::Md5::digest(b))
}
fn sha512_hex(b: &[u8]) -> String {
    hex::encode(sha2::Sha512::digest(b))
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

/// A tiny HTTP/1.0 server for web-download sources. Routes:
/// `/image` (the payload), `/redirect` (302 to `/image`), `/away` (302 to
/// `http://127.0.0.2:<port>/image`), `/big` (announces and sends `big` bytes),
/// `/chunky` (`big` bytes, no length), `/short` (announces more than it sends),
/// `/slow` (headers, then silence), anything else 404.
fn source(data: Vec<u8>, big: usize) -> u16 {
    raw::serve(move |path, conn| {
        let ok = |len: Option<usize>| match len {
            Some(l) => format!("HTTP/1.0 200 OK\r\nContent-Length: {l}\r\n\r\n"),
            None => "HTTP/1.0 200 OK\r\n\r\n".to_owned(),
        };
        let _ = match path {
            "/image" => conn
                .write_all(ok(Some(data.len())).as_bytes())
                .and_then(|()| conn.write_all(&data)),
            "/redirect" => conn.write_all(b"HTTP/1.0 302 Found\r\nLocation: /image\r\n\r\n"),
            "/away" => conn.write_all(
                format!(
                    "HTTP/1.0 302 Found\r\nLocation: http://127.0.0.2:{}/image\r\n\r\n",
                    conn.local_addr().unwrap().port()
                )
                .as_bytes(),
            ),
            "/big" => conn
                .write_all(ok(Some(big)).as_bytes())
                .and_then(|()| conn.write_all(&vec![7u8; big])),
            "/chunky" => conn
                .write_all(ok(None).as_bytes())
                .and_then(|()| conn.write_all(&vec![7u8; big])),
            "/short" => conn
                .write_all(ok(Some(data.len() + 1000)).as_bytes())
                .and_then(|()| conn.write_all(&data)),
            "/slow" => {
                let _ = conn.write_all(ok(Some(10)).as_bytes());
                std::thread::sleep(Duration::from_secs(30));
                Ok(())
            }
            _ => conn.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
        };
    })
}

async fn new_image(c: &Caller<'_>, body: Value) -> String {
    c.create_image(body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A new image with `disk_format` raw and `container_format` bare.
async fn raw_image(c: &Caller<'_>) -> String {
    new_image(c, json!({"disk_format": "raw", "container_format": "bare"})).await
}

/// A web-download import of `id` from `uri`.
async fn web_download(c: &Caller<'_>, id: &str, uri: &str) -> reqwest::Response {
    import(
        c,
        id,
        json!({"method": {"name": "web-download", "uri": uri}}),
    )
    .await
}

/// A web-download import from `uri` is refused by the URI filter, with Glance's message.
async fn assert_filtered(c: &Caller<'_>, id: &str, uri: &str) {
    let (s, v) = json(web_download(c, id, uri).await).await;
    assert_eq!(
        (s, message(&v)),
        (
            400,
            format!("URI for web-download does not pass filtering: {uri}")
        )
    );
}

pub(crate) async fn stage(c: &Caller<'_>, id: &str, data: Vec<u8>) -> reqwest::Response {
    c.request(reqwest::Method::PUT, &format!("/v2/images/{id}/stage"))
        .header("Content-Type", "application/octet-stream")
        .body(data)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn import(c: &Caller<'_>, id: &str, body: Value) -> reqwest::Response {
    c.post(&format!("/v2/images/{id}/import"), &body).await
}

/// Polls the image until `done(image)`; panics after 20 s.
async fn wait_image(c: &Caller<'_>, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
        if done(&img) {
            return img;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("image {id} did not reach the expected state");
}

/// The image's tasks once every one of them has ended.
pub(crate) async fn wait_tasks(c: &Caller<'_>, id: &str) -> Vec<Value> {
    for _ in 0..400 {
        let (s, v) = json(c.get(&format!("/v2/images/{id}/tasks")).await).await;
        assert_eq!(s, 200, "{v}");
        let tasks = v["tasks"].as_array().unwrap().clone();
        if !tasks.is_empty()
            && tasks
                .iter()
                .all(|t| t["status"] == "success" || t["status"] == "failure")
        {
            return tasks;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("tasks of {id} did not end");
}

fn staging_files(app: &TestApp) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(&app.state.config.import.staging_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

backend_test!(discovery_and_create_header, |app| async move {
    let c = app.caller("p1", "member");
    let (s, v) = json(c.get("/v2/info/import").await).await;
    assert_eq!(s, 200);
    assert_eq!(
        v,
        json!({"import-methods": {"description": "Import methods available.", "type": "array",
               "value": ["glance-direct", "web-download"]}})
    );
    // A single-store Glance (no enabled_backends) has no stores API.
    for path in ["/v2/info/stores", "/v2/info/stores/detail"] {
        let (s, v) = json(c.get(path).await).await;
        assert_eq!(
            (s, message(&v).as_str()),
            (404, "Multi backend is not supported at this site.")
        );
    }
    let r = c.post("/v2/images", &json!({"name": "x"})).await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["openstack-image-import-methods"],
        "glance-direct,web-download"
    );
});

backend_test!(
    only_configured_methods,
    config = |c| c.import.enabled_import_methods = vec!["web-download".into()],
    |app| async move {
        let c = app.caller("p1", "member");
        let id = raw_image(&c).await;
        let (s, v) = json(stage(&c, &id, vec![1, 2, 3]).await).await;
        assert_eq!(
            (s, message(&v).as_str()),
            (404, "'glance-direct' method is not available at this site.")
        );
        let (s, v) =
            json(import(&c, &id, json!({"method": {"name": "glance-direct"}})).await).await;
        assert_eq!(
            (s, message(&v).as_str()),
            (400, "Unknown import method name 'glance-direct'.")
        );
        let r = c.post("/v2/images", &json!({})).await;
        assert_eq!(
            r.headers()["openstack-image-import-methods"],
            "web-download"
        );
    }
);

store_test!(glance_direct_round_trip, |app| async move {
    let c = app.caller("p1", "member");
    let id = raw_image(&c).await;
    let data = payload(300_000);
    assert_eq!(stage(&c, &id, data.clone()).await.status(), 204);
    let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(
        (img["status"].as_str(), img["size"].as_i64()),
        (Some("uploading"), Some(300_000))
    );
    assert_eq!(img["checksum"], Value::Null);
    assert_eq!(staging_files(&app), vec![id.clone()]);
    assert!(app.store_files().is_empty());
    // Staging twice is a status conflict.
    let (s, v) = json(stage(&c, &id, vec![1]).await).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (
            409,
            "Image status transition from uploading to uploading is not allowed"
        )
    );

    let r = import(&c, &id, json!({"method": {"name": "glance-direct"}})).await;
    assert_eq!(r.status(), 202);
    let rid = r.headers()["x-openstack-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(r.bytes().await.unwrap().is_empty());
    let img = wait_image(&c, &id, |i| i["status"] == "active").await;
    assert_eq!(img["size"], 300_000);
    assert_eq!(img["virtual_size"], 300_000);
    assert_eq!(img["checksum"], md5_hex(&data));
    assert_eq!(img["os_hash_algo"], "sha512");
    assert_eq!(img["os_hash_value"], sha512_hex(&data));
    let r = c.get(&format!("/v2/images/{id}/file")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[..]);

    let tasks = wait_tasks(&c, &id).await;
    assert_eq!(tasks.len(), 1);
    let t = &tasks[0];
    assert_eq!(t["status"], "success");
    assert_eq!(t["type"], "api_image_import");
    assert_eq!(t["request_id"], rid.as_str());
    assert_eq!(t["user_id"], "user-p1");
    assert_eq!(t["owner"], "p1");
    assert_eq!(t["image_id"], id.as_str());
    assert_eq!(t["input"]["import_req"]["method"]["name"], "glance-direct");
    assert_eq!(t["input"]["backend"], json!([null]));
    assert_eq!(t["result"], json!({"image_id": id}));
    assert_eq!(t["message"], "");
    assert_eq!(t["deleted"], false);
    assert!(t["expires_at"].is_string());
    // Single store: the per-store lists exist and are empty; the lock is gone.
    let img = wait_image(&c, &id, |i| i.get("os_glance_import_task").is_none()).await;
    assert_eq!(img["os_glance_importing_to_stores"], "");
    assert_eq!(img["os_glance_failed_import"], "");
    assert!(staging_files(&app).is_empty());
    assert_eq!(app.store_files(), vec![id.clone()]);
    // Active images are no import target.
    let (s, v) = json(import(&c, &id, json!({"method": {"name": "glance-direct"}})).await).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (409, "Image with status active cannot be target for import")
    );
});

backend_test!(wrong_states_and_callers, |app| async move {
    let c = app.caller("p1", "member");
    let id = raw_image(&c).await;
    let direct = json!({"method": {"name": "glance-direct"}});
    let (s, v) = json(import(&c, &id, direct.clone()).await).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (
            409,
            "Image needs to be staged before 'glance-direct' method can be used"
        )
    );
    for (body, msg) in [
        (json!({}), "Import request requires a 'method' field."),
        (
            json!({"method": {}}),
            "Import request requires a 'name' field.",
        ),
        (
            json!({"method": {"name": "copy-image"}}),
            "Unknown import method name 'copy-image'.",
        ),
        (
            json!({"method": {"name": "glance-direct"}, "all_stores": "yes"}),
            "'all_stores' must be boolean value only",
        ),
    ] {
        let (s, v) = json(import(&c, &id, body).await).await;
        assert_eq!((s, message(&v).as_str()), (400, msg));
    }
    let (s, v) = json(
        import(
            &c,
            &id,
            json!({"method": {"name": "web-download", "uri": "http://127.0.0.1/x"},
                   "all_stores_must_succeed": false}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, message(&v).as_str()),
        (
            400,
            "All_stores_must_succeed can only be set with enabled_backends http://127.0.0.1/x"
        )
    );
    // Formats must be set before an import.
    let bare = new_image(&c, json!({"disk_format": "raw"})).await;
    let (s, v) = json(web_download(&c, &bare, "http://127.0.0.1/x").await).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (409, "'container_format' needs to be set before import")
    );
    // Staging needs octet-stream, and the right to modify the image.
    let r = c
        .request(reqwest::Method::PUT, &format!("/v2/images/{id}/stage"))
        .header("Content-Type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(
        stage(&app.caller("p1", "reader"), &id, vec![1])
            .await
            .status(),
        403
    );
    assert_eq!(
        stage(&app.caller("p2", "member"), &id, vec![1])
            .await
            .status(),
        404
    );
    assert_eq!(
        import(&app.caller("p2", "member"), &id, direct.clone())
            .await
            .status(),
        404
    );
    // Staged: web-download needs a queued image; another project's tasks are hidden.
    assert_eq!(stage(&c, &id, vec![1, 2, 3]).await.status(), 204);
    let (s, v) = json(web_download(&c, &id, "http://127.0.0.1/x").await).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (
            409,
            "Image needs to be in 'queued' state to use 'web-download' method"
        )
    );
    assert_eq!(
        import(&app.caller("p1", "reader"), &id, direct)
            .await
            .status(),
        403
    );
    assert_eq!(
        app.caller("p2", "member")
            .get(&format!("/v2/images/{id}/tasks"))
            .await
            .status(),
        404
    );
    // Deleting a staged image removes its staged data.
    assert_eq!(staging_files(&app), vec![id.clone()]);
    assert_eq!(c.delete(&format!("/v2/images/{id}")).await.status(), 204);
    assert!(staging_files(&app).is_empty());
});

backend_test!(
    stage_respects_size_cap,
    config = |c| c.image_size_cap = 1000,
    |app| async move {
        let c = app.caller("p1", "member");
        let id = raw_image(&c).await;
        let (s, v) = json(stage(&c, &id, payload(1001)).await).await;
        assert_eq!(s, 413, "{v}");
        assert!(
            message(&v).starts_with("The incoming image is too large"),
            "{v}"
        );
        let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(
            (img["status"].as_str(), &img["size"]),
            (Some("queued"), &Value::Null)
        );
        assert!(staging_files(&app).is_empty());
        // Exactly the cap is fine.
        assert_eq!(stage(&c, &id, payload(1000)).await.status(), 204);
    }
);

backend_test!(
    web_download_round_trip,
    config = |c| {
        c.import.filter.allowed_ports = vec![];
        // The source is on loopback: the operator names it.
        c.import.filter.allowed_hosts = vec!["127.0.0.1".into()];
    },
    |app| async move {
        let data = payload(123_457);
        let port = source(data.clone(), 0);
        let c = app.caller("p1", "member");
        for path in ["image", "redirect"] {
            let id = raw_image(&c).await;
            let uri = format!("http://127.0.0.1:{port}/{path}");
            let r = web_download(&c, &id, &uri).await;
            assert_eq!(r.status(), 202, "{path}");
            let img = wait_image(&c, &id, |i| i["status"] == "active").await;
            assert_eq!(img["checksum"], md5_hex(&data));
            assert_eq!(img["os_hash_value"], sha512_hex(&data));
            assert_eq!(img["size"], 123_457);
            let tasks = wait_tasks(&c, &id).await;
            assert_eq!(tasks[0]["status"], "success");
            assert_eq!(
                tasks[0]["input"]["import_req"]["method"]["uri"],
                uri.as_str()
            );
            let r = c.get(&format!("/v2/images/{id}/file")).await;
            assert_eq!(r.bytes().await.unwrap().as_ref(), &data[..]);
        }
        assert!(staging_files(&app).is_empty());
    }
);

backend_test!(
    web_download_failures_leave_image_queued,
    config = |c| {
        c.import.filter.allowed_ports = vec![];
        c.import.filter.disallowed_hosts = vec!["127.0.0.2".into()];
        // The source is on loopback (and the deny list must still count).
        c.import.filter.allow_internal_addresses = true;
        c.import.web_download_timeout = 1;
        c.image_size_cap = 200_000;
    },
    |app| async move {
        let port = source(payload(1000), 300_000);
        let c = app.caller("p1", "member");
        for (path, why) in [
            ("http://127.0.0.1:1/x".to_owned(), "Failed to download"),
            (format!("http://127.0.0.1:{port}/missing"), "HTTP Error 404"),
            (
                format!("http://127.0.0.1:{port}/away"),
                "Redirect to disallowed URL",
            ),
            (format!("http://127.0.0.1:{port}/big"), "too large"),
            (format!("http://127.0.0.1:{port}/chunky"), "too large"),
            (format!("http://127.0.0.1:{port}/short"), ""),
            (format!("http://127.0.0.1:{port}/slow"), ""),
        ] {
            let id = raw_image(&c).await;
            let r = web_download(&c, &id, &path).await;
            assert_eq!(r.status(), 202, "{path}");
            let tasks = wait_tasks(&c, &id).await;
            assert_eq!(tasks[0]["status"], "failure", "{path}");
            let msg = tasks[0]["message"].as_str().unwrap();
            assert!(msg.contains(why) && !msg.is_empty(), "{path}: {msg}");
            let img = wait_image(&c, &id, |i| i["status"] == "queued").await;
            assert!(img.get("os_glance_import_task").is_none(), "{path}");
            assert_eq!(img["os_glance_failed_import"], "");
            assert_eq!(
                (&img["checksum"], &img["size"]),
                (&Value::Null, &Value::Null),
                "{path}"
            );
            assert!(staging_files(&app).is_empty(), "{path}");
            assert!(app.store_files().is_empty(), "{path}");
        }
        // Refused before any task exists: scheme, host, local files.
        let id = raw_image(&c).await;
        for uri in [
            format!("ftp://127.0.0.1:{port}/image"),
            format!("http://127.0.0.2:{port}/image"),
            "file:///etc/passwd".to_owned(),
            "http://does-not.exist/no/possible/way".to_owned(),
            "http://2130706433/".to_owned(),
        ] {
            assert_filtered(&c, &id, &uri).await;
        }
        let (s, v) = json(c.get(&format!("/v2/images/{id}/tasks")).await).await;
        assert_eq!((s, v), (200, json!({"tasks": []})));
        // The image can still be imported afterwards.
        let uri = format!("http://127.0.0.1:{port}/image");
        assert_eq!(web_download(&c, &id, &uri).await.status(), 202);
        wait_image(&c, &id, |i| i["status"] == "active").await;
    }
);

/// A source that serves `data` to every request and counts the connections it gets.
fn counting_source(data: &'static [u8]) -> (u16, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let n = hits.clone();
    let port = raw::serve(move |_, conn| {
        n.fetch_add(1, Ordering::SeqCst);
        let head = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", data.len());
        let _ = conn
            .write_all(head.as_bytes())
            .and_then(|()| conn.write_all(data));
    });
    (port, hits)
}

const INTERNAL_SOURCE: &[u8] = b"data from an internal address";

/// The loopback source under two spellings, and the metadata address.
fn internal_uris(port: u16) -> Vec<String> {
    vec![
        format!("http://127.0.0.1:{port}/image"),
        format!("http://[::ffff:127.0.0.1]:{port}/image"),
    ]
}

backend_test!(
    internal_addresses_refused_by_default,
    config = |c| c.import.filter.allowed_ports = vec![],
    |app| async move {
        let (port, hits) = counting_source(INTERNAL_SOURCE);
        let c = app.caller("p1", "member");
        // Who may import comes first (Glance's order): not the 400 of the URI.
        let id = raw_image(&c).await;
        let body = json!({"method": {"name": "web-download",
                                     "uri": format!("http://127.0.0.1:{port}/image")}});
        assert_eq!(
            import(&app.caller("p1", "reader"), &id, body.clone())
                .await
                .status(),
            403
        );
        assert_eq!(
            import(&app.caller("p2", "member"), &id, body)
                .await
                .status(),
            404
        );
        let mut uris = internal_uris(port);
        uris.extend([
            format!("http://[::ffff:7f00:1]:{port}/image"),
            format!("http://[::1]:{port}/image"),
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "http://[::ffff:169.254.169.254]/latest/meta-data/".to_owned(),
            "http://10.0.0.1/x".to_owned(),
            "http://[fd00::1]/x".to_owned(),
            "http://0.0.0.0/x".to_owned(),
            "http://[::]/x".to_owned(),
        ]);
        for uri in uris {
            let id = raw_image(&c).await;
            assert_filtered(&c, &id, &uri).await;
            let (s, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
            assert_eq!(
                (s, &img["status"], &img["size"]),
                (200, &json!("queued"), &Value::Null),
                "{uri}"
            );
            assert!(img.get("os_glance_import_task").is_none(), "{uri}");
            let (s, v) = json(c.get(&format!("/v2/images/{id}/tasks")).await).await;
            assert_eq!((s, v), (200, json!({"tasks": []})), "{uri}");
        }
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM tasks"), 0);
        assert!(app.store_files().is_empty());
        assert!(staging_files(&app).is_empty());
        assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing was fetched");
    }
);

/// The operator's allowance, either way, lets the same imports through.
async fn internal_import_works(app: TestApp) {
    let (port, hits) = counting_source(INTERNAL_SOURCE);
    let c = app.caller("p1", "member");
    for uri in internal_uris(port) {
        let id = raw_image(&c).await;
        let r = web_download(&c, &id, &uri).await;
        assert_eq!(r.status(), 202, "{uri}");
        let img = wait_image(&c, &id, |i| i["status"] == "active").await;
        assert_eq!(img["checksum"], md5_hex(INTERNAL_SOURCE), "{uri}");
        let r = c.get(&format!("/v2/images/{id}/file")).await;
        assert_eq!(r.bytes().await.unwrap().as_ref(), INTERNAL_SOURCE);
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(app.store_files().len(), 2);
}

backend_test!(
    internal_address_named_in_allowed_hosts,
    config = |c| {
        c.import.filter.allowed_ports = vec![];
        // One spelling names the address in all of them.
        c.import.filter.allowed_hosts = vec!["::ffff:7f00:1".into()];
    },
    |app| async move { internal_import_works(app).await }
);

backend_test!(
    internal_addresses_allowed_by_option,
    config = |c| {
        c.import.filter.allowed_ports = vec![];
        c.import.filter.allow_internal_addresses = true;
    },
    |app| async move { internal_import_works(app).await }
);

backend_test!(
    web_download_refused_redirect_to_internal_address,
    config = |c| {
        c.import.filter.allowed_ports = vec![];
        // Only the first host is named: the redirect target (127.0.0.2) is internal and not named.
        c.import.filter.allowed_hosts = vec!["127.0.0.1".into()];
    },
    |app| async move {
        let port = source(payload(10), 0);
        let c = app.caller("p1", "member");
        let id = raw_image(&c).await;
        let uri = format!("http://127.0.0.1:{port}/away");
        assert_eq!(web_download(&c, &id, &uri).await.status(), 202);
        let tasks = wait_tasks(&c, &id).await;
        assert_eq!(tasks[0]["status"], "failure");
        assert_eq!(
            tasks[0]["message"],
            format!("Redirect to disallowed URL: http://127.0.0.2:{port}/image")
        );
        let img = wait_image(&c, &id, |i| i["status"] == "queued").await;
        assert_eq!(img["size"], Value::Null);
        assert!(app.store_files().is_empty());
    }
);

backend_test!(default_ports_are_80_and_443, |app| async move {
    let c = app.caller("p1", "member");
    let id = raw_image(&c).await;
    let (s, v) = json(web_download(&c, &id, "http://127.0.0.1:8080/x").await).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (
            400,
            "URI for web-download does not pass filtering: http://127.0.0.1:8080/x"
        )
    );
});

/// Set an image's status and `updated_at` directly (a process that died mid-work).
fn age_image(app: &TestApp, id: &str, status: &str, minutes: i64) {
    use diesel::prelude::*;
    use glint::db::schema::images;
    let old = (chrono::Utc::now() - chrono::Duration::minutes(minutes)).naive_utc();
    diesel::update(images::table.filter(images::id.eq(id)))
        .set((images::status.eq(status), images::updated_at.eq(old)))
        .execute(&mut *app.db())
        .unwrap();
}

backend_test!(import_lock_and_its_expiry, |app| async move {
    use diesel::prelude::*;
    let c = app.caller("p1", "member");
    let id = raw_image(&c).await;
    assert_eq!(stage(&c, &id, payload(10)).await.status(), 204);
    // Another import holds the lock: a task that is still processing.
    let other = uuid::Uuid::new_v4().to_string();
    let t = glint::domain::task::Task::new(
        other.clone(),
        "api_image_import",
        "p1".into(),
        json!({}),
        Some(id.clone()),
        None,
        None,
        glint::service::images::now(),
    );
    glint::db::tasks::insert(&mut app.db(), &t).unwrap();
    {
        let mut conn = app.db();
        let old = glint::db::images::get(&mut conn, &ImageId::from_stored(id.as_str()))
            .unwrap()
            .unwrap();
        let mut new = old.clone();
        new.properties
            .insert("os_glance_import_task".into(), other.clone());
        glint::db::images::update(&mut conn, &old, &new).unwrap();
    }
    let direct = json!({"method": {"name": "glance-direct"}});
    let (s, v) = json(import(&c, &id, direct.clone()).await).await;
    assert_eq!((s, message(&v).as_str()), (409, "Image has active task"));
    // A pending task's lock lasts two hours, twice a running one's; then a new import takes it over.
    let age = |minutes: i64| {
        let old = (chrono::Utc::now() - chrono::Duration::minutes(minutes)).naive_utc();
        diesel::update(glint::db::tasks::tasks::table.find(&other))
            .set(glint::db::tasks::tasks::updated_at.eq(Some(old)))
            .execute(&mut *app.db())
            .unwrap();
    };
    age(61);
    let (s, v) = json(import(&c, &id, direct.clone()).await).await;
    assert_eq!((s, message(&v).as_str()), (409, "Image has active task"));
    age(121);
    let (s, v) = json(import(&c, &id, direct).await).await;
    assert_eq!(s, 202, "{v}");
    wait_image(&c, &id, |i| i["status"] == "active").await;
    let preempted = glint::db::tasks::get(&mut app.db(), &other, true)
        .unwrap()
        .unwrap();
    assert_eq!(preempted.status, glint::domain::task::TaskStatus::Failure);
    assert_eq!(preempted.message, "Expired lock preempted");
});

backend_test!(interrupted_imports_are_recovered, |app| async move {
    let c = app.caller("p1", "member");
    // 1. An import whose process died: image importing, task processing, lock held,
    //    staged data left behind, no heartbeat for 10 minutes.
    let dead = raw_image(&c).await;
    assert_eq!(stage(&c, &dead, payload(100)).await.status(), 204);
    let task = uuid::Uuid::new_v4().to_string();
    let mut t = glint::domain::task::Task::new(
        task.clone(),
        "api_image_import",
        "p1".into(),
        json!({"image_id": dead}),
        Some(dead.clone()),
        None,
        None,
        (chrono::Utc::now() - chrono::Duration::minutes(10)).naive_utc(),
    );
    t.status = glint::domain::task::TaskStatus::Processing;
    glint::db::tasks::insert(&mut app.db(), &t).unwrap();
    {
        let mut conn = app.db();
        let old = glint::db::images::get(&mut conn, &ImageId::from_stored(dead.as_str()))
            .unwrap()
            .unwrap();
        let mut new = old.clone();
        new.properties
            .insert("os_glance_import_task".into(), task.clone());
        glint::db::images::update(&mut conn, &old, &new).unwrap();
    }
    age_image(&app, &dead, "importing", 10);
    // 2. A stage whose process died before the data was complete (no staged file).
    let half = raw_image(&c).await;
    age_image(&app, &half, "uploading", 10);
    // 3. A staged image waiting for its import for a long time: left alone.
    let waiting = raw_image(&c).await;
    assert_eq!(stage(&c, &waiting, payload(5)).await.status(), 204);
    age_image(&app, &waiting, "uploading", 10);
    // 4. A staged file nobody waits for any more, and a temporary one, both old.
    let dir = app.state.config.import.staging_dir.clone();
    let orphan = raw_image(&c).await;
    for name in [orphan.clone(), format!(".glint-upload.{orphan}.x")] {
        std::fs::write(dir.join(&name), b"old").unwrap();
        let f = std::fs::File::options()
            .write(true)
            .open(dir.join(&name))
            .unwrap();
        f.set_modified(std::time::SystemTime::now() - Duration::from_secs(600))
            .unwrap();
    }
    let f = std::fs::File::options()
        .write(true)
        .open(dir.join(&dead))
        .unwrap();
    f.set_modified(std::time::SystemTime::now() - Duration::from_secs(600))
        .unwrap();

    glint::service::recovery::recover_stale_uploads(&app.state)
        .await
        .unwrap();

    let (_, img) = json(c.get(&format!("/v2/images/{dead}")).await).await;
    assert_eq!(img["status"], "queued");
    assert!(img.get("os_glance_import_task").is_none());
    let t = glint::db::tasks::get(&mut app.db(), &task, true)
        .unwrap()
        .unwrap();
    assert_eq!(t.status, glint::domain::task::TaskStatus::Failure);
    assert!(t.message.contains("interrupted"), "{}", t.message);
    assert!(t.expires_at.is_some());
    let (_, img) = json(c.get(&format!("/v2/images/{half}")).await).await;
    assert_eq!(img["status"], "queued");
    let (_, img) = json(c.get(&format!("/v2/images/{waiting}")).await).await;
    assert_eq!(img["status"], "uploading");
    assert_eq!(staging_files(&app), vec![waiting.clone()]);
    // The recovered images take a new import.
    assert_eq!(stage(&c, &dead, payload(7)).await.status(), 204);
    assert_eq!(
        import(&c, &dead, json!({"method": {"name": "glance-direct"}}))
            .await
            .status(),
        202
    );
    let img = wait_image(&c, &dead, |i| i["status"] == "active").await;
    assert_eq!(img["checksum"], md5_hex(&payload(7)));
});
