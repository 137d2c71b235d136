//! `kill -9` of the real glint binary in the middle of an upload, then a restart:
//! no image stays `saving`, no partial file remains, acknowledged data reads back intact.

use std::time::Duration;

use md5::Digest;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::helpers::Backend;
use crate::on_each_backend;
use crate::process::{call, Deployment};

async fn crash_mid_upload(backend: Backend) {
    let deployment = Deployment::new(backend, "", "");
    let (port, base) = (deployment.port, deployment.base.clone());
    let images = deployment.path("images");
    let client = reqwest::Client::new();
    let post = |body: Value| {
        call(
            &client,
            reqwest::Method::POST,
            format!("{base}/v2/images"),
            Some(body.to_string().into_bytes()),
            "application/json",
        )
    };

    let mut glint = deployment.start(&client).await;
    // An acknowledged upload...
    let (_, a) = post(json!({"disk_format": "raw", "container_format": "bare"})).await;
    let a = a["id"].as_str().unwrap().to_owned();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let (s, _) = call(
        &client,
        reqwest::Method::PUT,
        format!("{base}/v2/images/{a}/file"),
        Some(data.clone()),
        "application/octet-stream",
    )
    .await;
    assert_eq!(s, 204);
    // ...and one cut off by kill -9 while it streams.
    let (_, b) = post(json!({"disk_format": "raw", "container_format": "bare"})).await;
    let b = b["id"].as_str().unwrap().to_owned();
    let mut sock = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let head = format!(
        "PUT /v2/images/{b}/file HTTP/1.1\r\nHost: x\r\nX-Project-Id: p1\r\nX-Roles: member\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: 50000000\r\n\r\n"
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(&vec![7u8; 2_000_000]).await.unwrap();
    let mut saw_saving = false;
    for _ in 0..100 {
        let (_, img) = call(
            &client,
            reqwest::Method::GET,
            format!("{base}/v2/images/{b}"),
            None,
            "",
        )
        .await;
        if img["status"] == "saving" {
            saw_saving = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(saw_saving, "upload never reached 'saving'");
    glint.child.kill().unwrap(); // SIGKILL
    glint.child.wait().unwrap();
    drop(sock);

    let _glint = deployment.start(&client).await;
    let mut status = Value::Null;
    let mut leftovers = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, img) = call(
            &client,
            reqwest::Method::GET,
            format!("{base}/v2/images/{b}"),
            None,
            "",
        )
        .await;
        status = img["status"].clone();
        leftovers = std::fs::read_dir(&images)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != &a)
            .collect();
        if status == "queued" && leftovers.is_empty() {
            break;
        }
    }
    assert_eq!(status, "queued", "image stayed saving");
    assert!(leftovers.is_empty(), "orphan files: {leftovers:?}");
    // The acknowledged image reads back byte for byte with its checksum.
    let r = client
        .get(format!("{base}/v2/images/{a}/file"))
        .header("X-Project-Id", "p1")
        .header("X-Roles", "member")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let md5 = r.headers()["content-md5"].to_str().unwrap().to_owned();
    let got = r.bytes().await.unwrap();
    assert_eq!(got.as_ref(), &data[..]);
    assert_eq!(md5, hex::encode(md5::Md5::digest(&data)));
    // The interrupted image takes a new upload.
    let (s, _) = call(
        &client,
        reqwest::Method::PUT,
        format!("{base}/v2/images/{b}/file"),
        Some(vec![1, 2, 3]),
        "application/octet-stream",
    )
    .await;
    assert_eq!(s, 204);
}

on_each_backend! { actix_web::test, crash_mid_upload =>
kill_9_mid_upload_sqlite, kill_9_mid_upload_postgres, kill_9_mid_upload_mysql }
