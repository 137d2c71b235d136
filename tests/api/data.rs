//! Upload / download: checksums, chunked bodies, ranges, failures.

use futures_util::stream;
use md5::Digest;
use serde_json::json;

use crate::backend_test;
use crate::helpers::{json, message};
use crate::store_test;

fn md5_hex(b: &[u8]) -> String {
    hex::encode(md5::Md5::digest(b))
}
fn sha512_hex(b: &[u8]) -> String {
    hex::encode(sha2::Sha512::digest(b))
}

store_test!(round_trip, |app| async move {
    let c = app.caller("p1", "member");
    let id = c
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Before any data: 204, empty.
    let r = c.get(&format!("/v2/images/{id}/file")).await;
    assert_eq!(r.status(), 204);
    assert!(r.bytes().await.unwrap().is_empty());
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(c.upload(&id, data.clone()).await.status(), 204);
    let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(img["status"], "active");
    assert_eq!(img["size"], 200_000);
    assert_eq!(img["virtual_size"], 200_000);
    assert_eq!(img["checksum"], md5_hex(&data));
    assert_eq!(img["os_hash_algo"], "sha512");
    assert_eq!(img["os_hash_value"], sha512_hex(&data));
    let r = c.get(&format!("/v2/images/{id}/file")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-md5"], md5_hex(&data).as_str());
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[..]);
    // Second upload: not queued any more.
    let (s, v) = json(c.upload(&id, vec![1]).await).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (
            409,
            "Image status transition from active to saving is not allowed"
        )
    );
    assert_eq!(app.store_files(), vec![id.clone()]);
    // On Swift 200,000 bytes are a large object: a manifest and four 64 KiB segments.
    if let Some(swift) = &app.swift {
        let head = swift.head(&id).expect("manifest");
        assert!(head.contains_key("x-object-manifest"), "{head:?}");
        assert_eq!(swift.names().len(), 5, "{:?}", swift.names());
    }
    // The location row names the data as glance_store would (so Glance reads it too).
    let url = app.location_of(&id);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM image_locations WHERE image_id = '{id}' AND value = '{url}'"
        )),
        1,
        "{url}"
    );
});

store_test!(chunked_upload, |app| async move {
    let c = app.caller("p1", "member");
    let id = c
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..10).map(|i| Ok(vec![i as u8; 1000])).collect();
    let expected: Vec<u8> = (0..10).flat_map(|i| vec![i as u8; 1000]).collect();
    let r = c
        .request(reqwest::Method::PUT, &format!("/v2/images/{id}/file"))
        .header("Content-Type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(img["size"], 10_000);
    assert_eq!(img["checksum"], md5_hex(&expected));
    let got = c
        .get(&format!("/v2/images/{id}/file"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), &expected[..]);
});

store_test!(zero_byte_upload, |app| async move {
    let c = app.caller("p1", "member");
    let id = c
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(c.upload(&id, vec![]).await.status(), 204);
    let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(img["status"], "active");
    assert_eq!(img["size"], 0);
    let r = c.get(&format!("/v2/images/{id}/file")).await;
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().is_empty());
});

store_test!(ranges, |app| async move {
    let c = app.caller("p1", "member");
    let id = c
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let data: Vec<u8> = (0..1024u32).map(|i| (i % 256) as u8).collect();
    c.upload(&id, data.clone()).await;
    let get = |range: &'static str| {
        c.request(reqwest::Method::GET, &format!("/v2/images/{id}/file"))
            .header("Range", range)
            .send()
    };
    let r = get("bytes=10-19").await.unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 10-19/1024");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[10..20]);
    let r = get("bytes=1023-2000").await.unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 1023-1023/1024");
    let r = get("bytes=-4").await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[1020..]);
    assert_eq!(get("bytes=2000-3000").await.unwrap().status(), 416);
    assert_eq!(get("bytes=20-10").await.unwrap().status(), 416);
    assert_eq!(get("items=0-1").await.unwrap().status(), 416);
    assert_eq!(get("bytes=0-1,5-6").await.unwrap().status(), 400);
    let r = get("bytes=2000-3000").await.unwrap();
    assert_eq!(r.headers()["content-range"], "bytes */1024");
    let (_, v) = json(r).await;
    assert_eq!(
        message(&v),
        "Invalid start position in Range header. Start position MUST be in the inclusive range [0, 1023]."
    );
    let r = get("bytes=abc").await.unwrap();
    assert_eq!(r.headers()["content-range"], "bytes */1024");
    assert_eq!(message(&json(r).await.1), "Invalid Range header.");
    // 206 carries the whole image's checksum, as Glance does.
    let r = get("bytes=0-0").await.unwrap();
    assert_eq!(r.headers()["content-md5"], md5_hex(&data).as_str());
    // The range is judged only after the image is found and readable.
    let hidden = "/v2/images/00000000-0000-0000-0000-000000000000/file";
    let r = c
        .request(reqwest::Method::GET, hidden)
        .header("Range", "bytes=abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let other = app.caller("p9", "member");
    let r = other
        .request(reqwest::Method::GET, &format!("/v2/images/{id}/file"))
        .header("Range", "bytes=0-1,2-3")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "shared image: only members, and p9 is not one"
    );
});

store_test!(upload_preconditions, |app| async move {
    let c = app.caller("p1", "member");
    let id = c.create_image(json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, v) = json(c.upload(&id, vec![1, 2, 3]).await).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (
            400,
            "Properties disk_format, container_format must be set prior to saving data."
        )
    );
    let id2 = c.create_image(json!({"disk_format": "raw"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, v) = json(c.upload(&id2, vec![1]).await).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (
            400,
            "Property container_format must be set prior to saving data."
        )
    );
    let r = c
        .request(reqwest::Method::PUT, &format!("/v2/images/{id2}/file"))
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // Other projects: 404 (shared image, not a member); readers: 403.
    let img = c
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await;
    let id3 = img["id"].as_str().unwrap();
    assert_eq!(
        app.caller("p2", "member")
            .upload(id3, vec![1])
            .await
            .status(),
        404
    );
    assert_eq!(
        app.caller("p1", "reader")
            .upload(id3, vec![1])
            .await
            .status(),
        403
    );
    assert!(app.store_files().is_empty());
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM images WHERE status <> 'queued'"),
        0
    );
});

store_test!(
    size_cap_leaves_image_queued,
    config = |c| c.image_size_cap = 100,
    |app| async move {
        let c = app.caller("p1", "member");
        let id = c
            .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (s, _) = json(c.upload(&id, vec![0u8; 101]).await).await;
        assert_eq!(s, 413);
        let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(img["status"], "queued");
        assert_eq!(img["size"], serde_json::Value::Null);
        assert!(app.store_files().is_empty(), "{:?}", app.store_files());
        // Exactly at the cap is fine.
        assert_eq!(c.upload(&id, vec![0u8; 100]).await.status(), 204);
    }
);

store_test!(interrupted_upload_leaves_image_queued, |app| async move {
    let c = app.caller("p1", "member");
    let id = c
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A raw socket: promise 1 MB, send 1 KB, hang up.
    use tokio::io::AsyncWriteExt;
    let addr = app.addr.trim_start_matches("http://").to_owned();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PUT /v2/images/{id}/file HTTP/1.1\r\nHost: {addr}\r\nX-Project-Id: p1\r\nX-Roles: member\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(&[1u8; 1024]).await.unwrap();
    sock.flush().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    drop(sock);
    // The server notices the cut and resets the image.
    let mut status = String::new();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
        status = img["status"].as_str().unwrap().to_owned();
        if status == "queued" && app.store_files().is_empty() {
            break;
        }
    }
    assert_eq!(status, "queued");
    assert!(app.store_files().is_empty(), "{:?}", app.store_files());
    // And a new upload then works.
    assert_eq!(c.upload(&id, vec![5u8; 10]).await.status(), 204);
});

backend_test!(members_and_readers_on_download, |app| async move {
    let owner = app.caller("p1", "member");
    let id = owner
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    owner.upload(&id, b"abc".to_vec()).await;
    // Not yet a member: 404.
    assert_eq!(
        app.caller("p2", "member")
            .get(&format!("/v2/images/{id}/file"))
            .await
            .status(),
        404
    );
    assert_eq!(
        owner
            .post(
                &format!("/v2/images/{id}/members"),
                &json!({"member": "p2"})
            )
            .await
            .status(),
        200
    );
    // A pending member can download by id; a reader cannot.
    let r = app
        .caller("p2", "member")
        .get(&format!("/v2/images/{id}/file"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"abc");
    assert_eq!(
        app.caller("p2", "reader")
            .get(&format!("/v2/images/{id}/file"))
            .await
            .status(),
        403
    );
    assert_eq!(
        app.caller("p1", "reader")
            .get(&format!("/v2/images/{id}/file"))
            .await
            .status(),
        403
    );
});

backend_test!(recovery_resets_only_dead_uploads, |app| async move {
    let c = app.caller("p1", "member");
    let dead = c
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let alive = c
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A process died 10 minutes into `dead`'s upload; `alive` sent a heartbeat just now.
    let old = (chrono::Utc::now() - chrono::Duration::minutes(10)).naive_utc();
    let mut conn = app.db();
    use diesel::prelude::*;
    use glint::db::schema::images;
    diesel::update(images::table.filter(images::id.eq(&dead)))
        .set((images::status.eq("saving"), images::updated_at.eq(old)))
        .execute(&mut *conn)
        .unwrap();
    diesel::update(images::table.filter(images::id.eq(&alive)))
        .set(images::status.eq("saving"))
        .execute(&mut *conn)
        .unwrap();
    drop(conn);
    let root = app.state.config.filesystem_store_datadir.clone();
    let stale_tmp = root.join(format!(".glint-upload.{dead}.leftover"));
    let fresh_tmp = root.join(format!(".glint-upload.{alive}.inflight"));
    std::fs::write(&stale_tmp, b"partial").unwrap();
    std::fs::write(&fresh_tmp, b"partial").unwrap();
    let f = std::fs::File::options()
        .write(true)
        .open(&stale_tmp)
        .unwrap();
    f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(600))
        .unwrap();
    drop(f);
    let reset = glint::service::recovery::recover_stale_uploads(&app.state)
        .await
        .unwrap();
    assert_eq!(reset, vec![dead.clone()]);
    let (_, d) = json(c.get(&format!("/v2/images/{dead}")).await).await;
    let (_, a) = json(c.get(&format!("/v2/images/{alive}")).await).await;
    assert_eq!(
        (d["status"].as_str(), a["status"].as_str()),
        (Some("queued"), Some("saving"))
    );
    assert!(!stale_tmp.exists());
    assert!(fresh_tmp.exists());
    // The recovered image takes a new upload.
    assert_eq!(c.upload(&dead, vec![1, 2, 3]).await.status(), 204);
});

// A live upload longer than `upload_stale_timeout` sends heartbeats, so the recovery sweep (which
// every process runs) leaves it alone while it still resets uploads that really died.
backend_test!(
    slow_upload_outlives_the_stale_timeout,
    config = |c| c.upload_stale_timeout = 2,
    |app| async move {
        let c = app.caller("p1", "member");
        let id = c
            .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // Twelve chunks, 400 ms apart: about 4.8 s, more than twice the stale timeout.
        let chunks = (0..12u8).map(|i| vec![i; 1024]);
        let body = stream::unfold(chunks, |mut it| async move {
            let chunk = it.next()?;
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
            Some((Ok::<_, std::io::Error>(chunk), it))
        });
        let upload = c
            .request(reqwest::Method::PUT, &format!("/v2/images/{id}/file"))
            .header("Content-Type", "application/octet-stream")
            .body(reqwest::Body::wrap_stream(body))
            .send();
        let sweeps = async {
            let mut reset = Vec::new();
            for _ in 0..24 {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                reset.extend(
                    glint::service::recovery::recover_stale_uploads(&app.state)
                        .await
                        .unwrap(),
                );
            }
            reset
        };
        let (r, reset) = tokio::join!(upload, sweeps);
        assert_eq!(r.unwrap().status(), 204);
        assert!(reset.is_empty(), "the sweep reset a live upload: {reset:?}");
        let (_, img) = json(c.get(&format!("/v2/images/{id}")).await).await;
        assert_eq!(img["status"], "active");
        assert_eq!(img["size"], 12 * 1024);
    }
);
