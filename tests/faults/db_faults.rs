//! PostgreSQL going away under glint: restarted (fast and crash-like) under
//! concurrent load, down for longer than the pool timeout, down at start-up.
//! Requests in flight fail cleanly with 503, glint recovers by itself, and no
//! acknowledged write is lost. Uses a private server (`private_pg`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{json, Backend, TestApp};
use crate::private_pg::{PrivatePg, Stop};

/// glint on the private server. The harness's `Backend` only says how a test
/// database is made; here the connection URL is set directly.
async fn glint_on(pg: &PrivatePg, pool_timeout: u64) -> TestApp {
    let url = pg.url();
    TestApp::spawn_with(Backend::Sqlite, move |c| {
        c.database_connection = url.parse().unwrap();
        c.database_pool_timeout = pool_timeout;
    })
    .await
}

/// Everything the load saw: acknowledged writes, and what should not happen.
#[derive(Default)]
struct Ledger {
    images: Vec<(String, String)>,
    properties: Vec<(String, String, String)>,
    tags: Vec<(String, String)>,
    members: Vec<(String, String)>,
    ok: u64,
    unavailable: u64,
    failures: Vec<String>,
}

/// One request; `Some(body)` on the expected success status, `None` on a clean 503.
/// Anything else (another status, a 503 without WebOb's body, a transport
/// error or a hang past the client timeout) is a failure.
async fn step(
    ledger: &Mutex<Ledger>,
    what: &str,
    expect: u16,
    r: reqwest::Result<reqwest::Response>,
) -> Option<Value> {
    let r = match r {
        Ok(r) => r,
        Err(e) => {
            ledger.lock().unwrap().failures.push(format!("{what}: {e}"));
            return None;
        }
    };
    let (status, body) = json(r).await;
    let mut l = ledger.lock().unwrap();
    if status == expect {
        l.ok += 1;
        Some(body)
    } else if status == 503 && body["code"] == "503 Service Unavailable" {
        l.unavailable += 1;
        None
    } else {
        l.failures.push(format!("{what}: {status} {body}"));
        None
    }
}

/// A worker in `project` writing and reading until `stop`.
async fn worker(app: &TestApp, n: usize, project: &str, stop: &AtomicBool, ledger: &Mutex<Ledger>) {
    let who = app.caller(project, "member");
    let mut mine: Option<String> = None;
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        i += 1;
        let name = format!("w{n}-{i}");
        let r = who
            .request(reqwest::Method::POST, "/v2/images")
            .json(&json!({"name": name, "disk_format": "raw", "container_format": "bare"}))
            .send()
            .await;
        if let Some(img) = step(ledger, "create", 201, r).await {
            let id = img["id"].as_str().unwrap().to_owned();
            ledger.lock().unwrap().images.push((id.clone(), name));
            mine = Some(id);
        }
        let Some(id) = mine.clone() else { continue };
        let (key, value) = (format!("k{i}"), format!("v{n}-{i}"));
        let r = who
            .request(reqwest::Method::PATCH, &format!("/v2/images/{id}"))
            .header(
                "Content-Type",
                "application/openstack-images-v2.1-json-patch",
            )
            .body(json!([{"op": "add", "path": format!("/{key}"), "value": value}]).to_string())
            .send()
            .await;
        if step(ledger, "patch", 200, r).await.is_some() {
            ledger
                .lock()
                .unwrap()
                .properties
                .push((id.clone(), key, value));
        }
        let tag = format!("t{i}");
        let r = who
            .request(reqwest::Method::PUT, &format!("/v2/images/{id}/tags/{tag}"))
            .send()
            .await;
        if step(ledger, "tag", 204, r).await.is_some() {
            ledger.lock().unwrap().tags.push((id.clone(), tag));
        }
        if i % 3 == 0 {
            let member = format!("m{n}-{i}");
            let r = who
                .request(reqwest::Method::POST, &format!("/v2/images/{id}/members"))
                .json(&json!({ "member": member }))
                .send()
                .await;
            if step(ledger, "member", 200, r).await.is_some() {
                ledger.lock().unwrap().members.push((id.clone(), member));
            }
        }
        let r = who
            .request(reqwest::Method::GET, &format!("/v2/images/{id}"))
            .send()
            .await;
        step(ledger, "show", 200, r).await;
        let r = who
            .request(reqwest::Method::GET, "/v2/images?limit=5")
            .send()
            .await;
        step(ledger, "list", 200, r).await;
    }
}

/// Every acknowledged write is in the database.
fn check_ledger(app: &TestApp, l: &Ledger) {
    let q = |s: &str| s.replace('\'', "''");
    for (id, name) in &l.images {
        let n = app.count(&format!(
            "SELECT COUNT(*) AS n FROM images WHERE id = '{}' AND name = '{}' AND NOT deleted",
            q(id),
            q(name)
        ));
        assert_eq!(n, 1, "acknowledged image {id} ({name}) lost");
    }
    for (id, key, value) in &l.properties {
        let n = app.count(&format!(
            "SELECT COUNT(*) AS n FROM image_properties WHERE image_id = '{}' AND name = '{}' \
             AND value = '{}' AND NOT deleted",
            q(id),
            q(key),
            q(value)
        ));
        assert_eq!(n, 1, "acknowledged property {key}={value} of {id} lost");
    }
    for (id, tag) in &l.tags {
        let n = app.count(&format!(
            "SELECT COUNT(*) AS n FROM image_tags WHERE image_id = '{}' AND value = '{}' AND NOT deleted",
            q(id),
            q(tag)
        ));
        assert_eq!(n, 1, "acknowledged tag {tag} of {id} lost");
    }
    for (id, member) in &l.members {
        let n = app.count(&format!(
            "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{}' AND member = '{}' AND NOT deleted",
            q(id),
            q(member)
        ));
        assert_eq!(n, 1, "acknowledged member {member} of {id} lost");
    }
}

/// Requests until one succeeds (the server is back), then `n` in a row must.
async fn assert_recovers(app: &TestApp, within: Duration, n: usize) {
    let who = app.caller("p0", "member");
    let deadline = Instant::now() + within;
    loop {
        let (s, v) = json(who.get("/v2/images").await).await;
        if s == 200 {
            break;
        }
        assert_eq!(s, 503, "while recovering: {v}");
        assert!(Instant::now() < deadline, "glint did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for _ in 0..n {
        let (s, v) = json(who.post("/v2/images", &json!({"name": "after"})).await).await;
        assert_eq!(s, 201, "after recovery: {v}");
        let (s, v) = json(who.get("/v2/images").await).await;
        assert_eq!(s, 200, "after recovery: {v}");
    }
}

#[actix_web::test]
async fn postgres_restart_under_load() {
    let Some(pg) = PrivatePg::init() else {
        return;
    };
    let mut app = glint_on(&pg, 5).await;
    // The harness's client has no timeout; a hang must fail the test instead.
    app.client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let pg = Arc::new(pg);
    let control = {
        let (pg, ledger) = (pg.clone(), ledger.clone());
        async move {
            let mut counts = Vec::new();
            for how in [Stop::Fast, Stop::Immediate] {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                let before = ledger.lock().unwrap().ok;
                let p = pg.clone();
                tokio::task::spawn_blocking(move || p.stop(how))
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(1500)).await;
                let p = pg.clone();
                tokio::task::spawn_blocking(move || p.start())
                    .await
                    .unwrap();
                counts.push(before);
            }
            tokio::time::sleep(Duration::from_millis(2000)).await;
            counts
        }
    };
    let workers = (0..6).map(|n| {
        let project = format!("p{}", n % 3);
        let (app, stop, ledger) = (&app, stop.clone(), ledger.clone());
        async move { worker(app, n, &project, &stop, &ledger).await }
    });
    let all = futures_util::future::join_all(workers);
    let (_, counts) = futures_util::future::join(all, async {
        let c = control.await;
        stop.store(true, Ordering::SeqCst);
        c
    })
    .await;
    assert_recovers(&app, Duration::from_secs(15), 5).await;
    let l = ledger.lock().unwrap();
    eprintln!(
        "restart under load: {} ok, {} clean 503, {} acknowledged images, {} properties, {} tags, {} members",
        l.ok,
        l.unavailable,
        l.images.len(),
        l.properties.len(),
        l.tags.len(),
        l.members.len()
    );
    assert!(l.failures.is_empty(), "unclean failures: {:#?}", l.failures);
    assert!(
        counts.iter().all(|&c| c > 0),
        "load was running at each stop"
    );
    assert!(l.ok > counts[1], "writes went on after the restarts");
    check_ledger(&app, &l);
}

#[actix_web::test]
async fn postgres_down_longer_than_pool_timeout() {
    let Some(pg) = PrivatePg::init() else {
        return;
    };
    let app = glint_on(&pg, 2).await;
    let who = app.caller("p1", "member");
    let (s, img) = json(who.post("/v2/images", &json!({"name": "before"})).await).await;
    assert_eq!(s, 201);
    let id = img["id"].as_str().unwrap().to_owned();
    pg.stop(Stop::Fast);
    // Each request waits at most the pool timeout (2 s), then 503 with WebOb's
    // body; nothing is left half-written.
    for (method, path) in [
        (reqwest::Method::GET, format!("/v2/images/{id}")),
        (reqwest::Method::GET, "/v2/images".to_owned()),
        (reqwest::Method::POST, "/v2/images".to_owned()),
        (reqwest::Method::DELETE, format!("/v2/images/{id}")),
    ] {
        let t = Instant::now();
        let mut rb = who.request(method.clone(), &path);
        if method == reqwest::Method::POST {
            rb = rb.json(&json!({"name": "during"}));
        }
        let (s, v) = json(rb.send().await.unwrap()).await;
        let took = t.elapsed();
        assert_eq!(s, 503, "{method} {path}: {v}");
        assert_eq!(v["code"], "503 Service Unavailable");
        assert_eq!(v["title"], "Service Unavailable");
        assert!(
            took < Duration::from_secs(6),
            "{method} {path} took {took:?}"
        );
    }
    // Plain-text clients get WebOb's text body too.
    let r = app
        .client
        .get(app.url("/v2/images"))
        .header("X-Project-Id", "p1")
        .header("X-Roles", "member")
        .header("Accept", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let text = r.text().await.unwrap();
    assert!(text.starts_with("503 Service Unavailable"), "{text}");
    pg.start();
    assert_recovers(&app, Duration::from_secs(15), 3).await;
    // The image survived, and nothing from the outage was written.
    let (s, v) = json(who.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!((s, v["name"].as_str()), (200, Some("before")));
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM images WHERE name = 'during'"),
        0
    );
}

#[actix_web::test]
async fn postgres_down_at_startup() {
    let Some(pg) = PrivatePg::init() else {
        return;
    };
    pg.stop(Stop::Fast);
    let dir = tempfile::tempdir().unwrap();
    let config = |retries: i64| {
        let mut c = crate::helpers::test_config(dir.path(), Backend::Sqlite, None);
        c.database_connection = pg
            .url()
            .replace("postgres@", "postgres:s3cret@")
            .parse()
            .unwrap();
        c.database_pool_timeout = 1;
        c.database_max_retries = retries;
        c.database_retry_interval = 1;
        c
    };
    // No retries: a clear start-up error naming the (redacted) database, quickly.
    let t = Instant::now();
    let err = match glint::startup::build_state(config(0)) {
        Ok(_) => panic!("started without a database"),
        Err(e) => e,
    };
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(err.starts_with("cannot connect to database "), "{err}");
    assert!(err.contains("postgres:***@127.0.0.1"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    // With retries (oslo.db's max_retries), start-up waits for the server.
    let c = config(30);
    let starting = std::thread::spawn(move || glint::startup::build_state(c).map(|_| ()));
    std::thread::sleep(Duration::from_secs(3));
    assert!(!starting.is_finished(), "start-up did not wait");
    pg.start();
    starting
        .join()
        .unwrap()
        .expect("started once the database came up");
}
