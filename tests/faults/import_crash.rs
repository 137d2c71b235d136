//! `kill -9` of the real glint binary in the middle of a web-download import, then a
//! restart: the image is not left `importing`, its task fails, no staging file remains.

use std::io::Write;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::Backend;
use crate::on_each_backend;
use crate::process::{call, Deployment};
use crate::raw;

/// A source that announces 10 MB, sends 1 MB and then stays silent.
fn stalling_source() -> u16 {
    raw::serve(|_, conn| {
        let _ = conn.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 10000000\r\n\r\n");
        let _ = conn.write_all(&vec![1u8; 1_000_000]);
        std::thread::sleep(Duration::from_secs(60));
    })
}

async fn crash_mid_import(backend: Backend) {
    let deployment = Deployment::new(
        backend,
        "web_download_timeout = 30\n",
        "[import_filtering_opts]\nallowed_ports =\nallowed_hosts = 127.0.0.1\n",
    );
    let base = deployment.base.clone();
    let staging = deployment.path("staging");
    let client = reqwest::Client::new();
    let get = |path: String| call(&client, reqwest::Method::GET, path, None, "");

    let mut glint = deployment.start(&client).await;
    let (s, img) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/v2/images"),
        Some(
            json!({"disk_format": "raw", "container_format": "bare"})
                .to_string()
                .into_bytes(),
        ),
        "application/json",
    )
    .await;
    assert_eq!(s, 201);
    let id = img["id"].as_str().unwrap().to_owned();
    let src = stalling_source();
    let body =
        json!({"method": {"name": "web-download", "uri": format!("http://127.0.0.1:{src}/x")}});
    let (s, _) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/v2/images/{id}/import"),
        Some(body.to_string().into_bytes()),
        "application/json",
    )
    .await;
    assert_eq!(s, 202);
    // Wait until the download is under way (importing, bytes in the staging area)...
    let mut importing = false;
    for _ in 0..100 {
        let (_, img) = get(format!("{base}/v2/images/{id}")).await;
        let staged = std::fs::read_dir(&staging).map(|d| d.count()).unwrap_or(0);
        if img["status"] == "importing" && staged > 0 {
            importing = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(importing, "import never got under way");
    // ...and still so after several heartbeat periods (it is alive, not stale).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, img) = get(format!("{base}/v2/images/{id}")).await;
    assert_eq!(img["status"], "importing");
    glint.child.kill().unwrap(); // SIGKILL
    glint.child.wait().unwrap();

    let _glint = deployment.start(&client).await;
    let mut last = (Value::Null, Value::Null, 1);
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, img) = get(format!("{base}/v2/images/{id}")).await;
        let (_, tasks) = get(format!("{base}/v2/images/{id}/tasks")).await;
        let staged = std::fs::read_dir(&staging).unwrap().count();
        last = (img.clone(), tasks["tasks"][0]["status"].clone(), staged);
        if img["status"] == "queued" && tasks["tasks"][0]["status"] == "failure" && staged == 0 {
            break;
        }
    }
    let (img, task_status, staged) = last;
    assert_eq!(img["status"], "queued", "{img}");
    assert!(img.get("os_glance_import_task").is_none(), "{img}");
    assert_eq!(task_status, "failure");
    assert_eq!(staged, 0, "staging files left behind");
}

on_each_backend! { actix_web::test, crash_mid_import =>
kill_9_mid_import_sqlite, kill_9_mid_import_postgres, kill_9_mid_import_mysql }
