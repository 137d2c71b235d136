//! `kill -9` of the real glint binary in the middle of a web-download import, then a
//! restart: the image is not left `importing`, its task fails, no staging file remains.

use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use serde_json::{json, Value};

use crate::crash::{call, start, wait_up};
use crate::helpers::{backends, create_pg_database, drop_pg_database, pg_url_for, Backend};

/// A source that announces 10 MB, sends 1 MB and then stays silent.
fn stalling_source() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut r = BufReader::new(conn.try_clone().unwrap());
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                let _ = conn.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 10000000\r\n\r\n");
                let _ = conn.write_all(&vec![1u8; 1_000_000]);
                std::thread::sleep(Duration::from_secs(60));
            });
        }
    });
    port
}

async fn crash_mid_import(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let (db_url, pg_db) = match backend {
        Backend::Sqlite => (
            format!("sqlite:///{}", dir.path().join("glint.db").display()),
            None,
        ),
        Backend::Postgres => {
            let name = create_pg_database();
            (pg_url_for(&name), Some(name))
        }
    };
    let config = dir.path().join("glint-api.conf");
    let mut f = std::fs::File::create(&config).unwrap();
    write!(
        f,
        "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\nauth_strategy = noauth\n\
         upload_stale_timeout = 2\nworkers = 2\nweb_download_timeout = 30\n\
         [database]\nconnection = {db_url}\n[import_filtering_opts]\nallowed_ports =\nallowed_hosts = 127.0.0.1\n"
    )
    .unwrap();
    drop(f);
    let staging = dir.path().join("staging");
    let client = reqwest::Client::new();
    let get = |path: String| call(&client, reqwest::Method::GET, path, None, "");

    let mut glint = start(&config, dir.path());
    wait_up(&client, &base).await;
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

    let _glint = start(&config, dir.path());
    wait_up(&client, &base).await;
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
    drop(_glint);
    if let Some(db) = pg_db {
        drop_pg_database(&db);
    }
}

#[actix_web::test]
async fn kill_9_mid_import_sqlite() {
    if backends().contains(&Backend::Sqlite) {
        crash_mid_import(Backend::Sqlite).await;
    } else {
        crate::helpers::skip("sqlite not in GLINT_TEST_BACKENDS");
    }
}

#[actix_web::test]
async fn kill_9_mid_import_postgres() {
    if backends().contains(&Backend::Postgres) {
        crash_mid_import(Backend::Postgres).await;
    } else {
        crate::helpers::skip("postgres not in GLINT_TEST_BACKENDS");
    }
}
