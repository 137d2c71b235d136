//! The read-only http store against a real HTTP server (tokio, on a loopback port): adding
//! http locations by JSON-patch and by the v2.17 API, the `location_import` task's hashes,
//! downloads through the location, and what deleting the image leaves.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use md5::Digest;
use serde_json::{json, Value};
use sha2::{Sha256, Sha512};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::backend_test;
use crate::helpers::{json, message, Caller, TestApp};
use glint::config::http_store::HttpConfig;

/// The image the server serves at `/img` (and through every redirect).
fn data() -> Vec<u8> {
    (0..70_000u32).map(|i| (i * 7 % 253) as u8).collect()
}

/// A real HTTP/1.1 server on its own thread and runtime. Routes:
/// `/img` (with `Content-Length`, `Range` honoured), `/norange` (the same, `Range` ignored),
/// `/nolen` (no `Content-Length`), `/redirect` (302 to `/img`), `/see-other` (303 to
/// `/img`), `/chain/<n>` (302 to `/chain/<n-1>`, `/chain/0` is `/img`), `/missing` (404),
/// `/error` (500), `/slow` (HEAD gives a size; GET trickles data for a long time),
/// `/stall` (never answers).
struct Server {
    port: u16,
    /// `METHOD path` of every request, in order.
    log: Arc<Mutex<Vec<String>>>,
    /// Set: every connection is closed without an answer (the server is "down").
    down: Arc<AtomicBool>,
    /// Set once a `/slow` GET has lost its client.
    slow_dropped: Arc<AtomicBool>,
}

impl Server {
    fn start() -> Server {
        let log = Arc::new(Mutex::new(Vec::new()));
        let down = Arc::new(AtomicBool::new(false));
        let slow_dropped = Arc::new(AtomicBool::new(false));
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let port = std_listener.local_addr().unwrap().port();
        let (l, d, s) = (log.clone(), down.clone(), slow_dropped.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
                loop {
                    let Ok((conn, _)) = listener.accept().await else {
                        continue;
                    };
                    let (l, d, s) = (l.clone(), d.clone(), s.clone());
                    tokio::spawn(async move {
                        if d.load(Ordering::SeqCst) {
                            return;
                        }
                        let _ = serve(conn, l, s, d).await;
                    });
                }
            });
        });
        Server {
            port,
            log,
            down,
            slow_dropped,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

/// One connection: requests until the client closes it.
async fn serve(
    conn: tokio::net::TcpStream,
    log: Arc<Mutex<Vec<String>>>,
    slow_dropped: Arc<AtomicBool>,
    down: Arc<AtomicBool>,
) -> std::io::Result<()> {
    let (r, mut w) = conn.into_split();
    let mut r = BufReader::new(r);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("/").to_owned();
        let mut range = None;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).await? == 0 || h == "\r\n" {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
                let (a, b) = v.trim().split_once('-').unwrap_or(("0", ""));
                range = Some((a.parse::<usize>().unwrap_or(0), b.parse::<usize>().ok()));
            }
        }
        if down.load(Ordering::SeqCst) {
            return Ok(());
        }
        log.lock().unwrap().push(format!("{method} {path}"));
        let head = method == "HEAD";
        let body = data();
        let redirect = |to: &str, code: &str| {
            format!("HTTP/1.1 {code}\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n")
        };
        match path.as_str() {
            "/img" | "/norange" => {
                let (status, part, extra) = match range {
                    Some((a, b)) if path == "/img" => {
                        let z = b.unwrap_or(body.len() - 1).min(body.len() - 1);
                        let extra = format!("Content-Range: bytes {a}-{z}/{}\r\n", body.len());
                        ("206 Partial Content", body[a..=z].to_vec(), extra)
                    }
                    _ => ("200 OK", body, String::new()),
                };
                let h = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}\r\n",
                    part.len()
                );
                w.write_all(h.as_bytes()).await?;
                if !head {
                    w.write_all(&part).await?;
                }
            }
            "/nolen" => {
                w.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                    .await?;
                if !head {
                    w.write_all(&body).await?;
                }
                return Ok(());
            }
            "/redirect" => {
                w.write_all(redirect("/img", "302 Found").as_bytes())
                    .await?
            }
            "/see-other" => {
                w.write_all(redirect("/img", "303 See Other").as_bytes())
                    .await?
            }
            p if p.starts_with("/chain/") => {
                let n: u32 = p["/chain/".len()..].parse().unwrap_or(0);
                let to = if n == 0 {
                    "/img".to_owned()
                } else {
                    format!("/chain/{}", n - 1)
                };
                w.write_all(redirect(&to, "301 Moved Permanently").as_bytes())
                    .await?;
            }
            "/error" => {
                w.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops")
                    .await?
            }
            "/slow" => {
                if head {
                    w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n")
                        .await?;
                } else {
                    w.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                        .await?;
                    for _ in 0..600 {
                        if w.write_all(&[7u8; 1024]).await.is_err() || w.flush().await.is_err() {
                            slow_dropped.store(true, Ordering::SeqCst);
                            return Ok(());
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    return Ok(());
                }
            }
            "/stall" => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                return Ok(());
            }
            _ => {
                w.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    .await?
            }
        }
    }
}

/// The http store on, reaching loopback (the test server), with short timeouts.
fn http_on(c: &mut glint::config::Config) {
    c.show_multiple_locations = true;
    c.stores.http = Some(HttpConfig {
        insecure: true,
        ca_file: None,
        proxies: vec![],
        allow_internal_addresses: true,
        timeout: 2,
    });
}

async fn queued(c: &Caller<'_>) -> String {
    c.create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn patch(c: &Caller<'_>, id: &str, ops: Value) -> (u16, Value) {
    json(c.patch(&format!("/v2/images/{id}"), &ops).await).await
}

fn add(url: &str) -> Value {
    json!([{"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}}])
}

async fn show(c: &Caller<'_>, id: &str) -> Value {
    json(c.get(&format!("/v2/images/{id}")).await).await.1
}

async fn download(c: &Caller<'_>, id: &str, range: Option<&str>) -> (u16, Vec<u8>) {
    let mut r = c.request(reqwest::Method::GET, &format!("/v2/images/{id}/file"));
    if let Some(range) = range {
        r = r.header("Range", range);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.bytes().await.unwrap().to_vec())
}

/// Live location rows of `id`: `(url, meta_data)`.
fn live(app: &TestApp, id: &str) -> Vec<(String, Option<String>)> {
    glint::db::locations::live_rows(&mut app.db(), id)
        .unwrap()
        .into_iter()
        .map(|r| (r.value, r.meta_data))
        .collect()
}

/// The image's `location_import` task once it has ended: `(status, message)`.
async fn task_end(c: &Caller<'_>, app: &TestApp, id: &str) -> (String, String) {
    for _ in 0..400 {
        let rows: Vec<(String, String)> = {
            use diesel::prelude::*;
            #[derive(QueryableByName)]
            struct R {
                #[diesel(sql_type = diesel::sql_types::Text)]
                status: String,
                #[diesel(sql_type = diesel::sql_types::Text)]
                message: String,
            }
            diesel::sql_query(format!(
                "SELECT t.status, COALESCE(i.message, '') AS message FROM tasks t \
                 JOIN task_info i ON i.task_id = t.id \
                 WHERE t.image_id = '{id}' AND t.type = 'location_import'"
            ))
            .load::<R>(&mut *app.db())
            .unwrap()
            .into_iter()
            .map(|r| (r.status, r.message))
            .collect()
        };
        if let Some(r) = rows.iter().find(|r| r.0 == "success" || r.0 == "failure") {
            return r.clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let _ = c;
    panic!("the location_import task of {id} did not end");
}

backend_test!(
    patch_adds_http_locations,
    config = |c| http_on(c),
    |app| async move {
        let srv = Server::start();
        let c = app.caller("p1", "member");
        let body = data();

        // A location Glance can size makes a queued image active, with the size from HEAD.
        let id = queued(&c).await;
        let (s, v) = patch(&c, &id, add(&srv.url("/img"))).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "active");
        assert_eq!(v["size"], body.len());
        assert_eq!(
            v["locations"],
            json!([{"url": srv.url("/img"), "metadata": {}}])
        );
        assert_eq!(srv.requests(), vec!["HEAD /img"]);
        assert_eq!(live(&app, &id), vec![(srv.url("/img"), Some("{}".into()))]);

        // Downloads stream from the URL, ranges included (passed on, or cut out here).
        assert_eq!(download(&c, &id, None).await, (200, body.clone()));
        assert_eq!(
            download(&c, &id, Some("bytes=100-199")).await,
            (206, body[100..200].to_vec())
        );
        assert_eq!(srv.requests().last().unwrap(), "GET /img");

        // A 302 is followed; a second location with other metadata is fine, the same one is not.
        let (s, v) = patch(&c, &id, add(&srv.url("/redirect"))).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["locations"].as_array().unwrap().len(), 2);
        let (s, v) = patch(&c, &id, add(&srv.url("/img"))).await;
        assert_eq!(
            (s, message(&v)),
            (
                400,
                format!("The location {} already exists", srv.url("/img"))
            )
        );

        // Four redirects are followed (five requests), five are too many.
        let other = queued(&c).await;
        let (s, v) = patch(&c, &other, add(&srv.url("/chain/3"))).await;
        assert_eq!(s, 200, "{v}");
        let other = queued(&c).await;
        // Unusable URLs are Glance's 400 `Invalid location`, and leave the image as it was.
        for path in [
            "/chain/4",
            "/nolen",
            "/missing",
            "/error",
            "/see-other",
            "/stall",
        ] {
            let started = std::time::Instant::now();
            let (s, v) = patch(&c, &other, add(&srv.url(path))).await;
            assert_eq!(
                (s, message(&v).as_str()),
                (400, "Invalid location"),
                "{path}"
            );
            assert!(started.elapsed() < Duration::from_secs(10), "{path}");
        }
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let (s, _) = patch(&c, &other, add(&format!("http://127.0.0.1:{closed}/x"))).await;
        assert_eq!(s, 400);
        let (s, _) = patch(&c, &other, add("gopher://info.cern.ch")).await;
        assert_eq!(s, 400);
        let img = show(&c, &other).await;
        assert_eq!(
            (img["status"].as_str(), img["size"].as_i64()),
            (Some("queued"), None)
        );
        assert!(live(&app, &other).is_empty());

        // Replace on an image without locations: every URL checked, the first size kept.
        let third = queued(&c).await;
        let both = json!([{"op": "replace", "path": "/locations", "value": [
            {"url": srv.url("/norange"), "metadata": {"k": "v"}},
            {"url": srv.url("/missing"), "metadata": {}}
        ]}]);
        let (s, v) = patch(&c, &third, both).await;
        assert_eq!((s, message(&v).as_str()), (400, "Invalid location"));
        let one = json!([{"op": "replace", "path": "/locations", "value": [
            {"url": srv.url("/norange"), "metadata": {"k": "v"}}
        ]}]);
        let (s, v) = patch(&c, &third, one).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            (v["status"].as_str(), v["size"].as_u64()),
            (Some("active"), Some(body.len() as u64))
        );
        // A server that ignores Range: the range is cut out of the whole.
        assert_eq!(
            download(&c, &third, Some("bytes=-10")).await,
            (206, body[body.len() - 10..].to_vec())
        );

        // The server goes down: Glance's 503.
        srv.down.store(true, Ordering::SeqCst);
        let (s, _) = download(&c, &id, None).await;
        assert_eq!(s, 503);

        // Deleting the image drops its locations; nothing is asked of the server.
        let before = srv.requests().len();
        assert_eq!(c.delete(&format!("/v2/images/{id}")).await.status(), 204);
        assert!(live(&app, &id).is_empty());
        assert_eq!(srv.requests().len(), before);
        assert!(!srv.requests().iter().any(|r| r.starts_with("DELETE")));
    }
);

backend_test!(
    internal_addresses_are_refused_by_default,
    config = |c| {
        http_on(c);
        if let Some(h) = c.stores.http.as_mut() {
            h.allow_internal_addresses = false;
        }
    },
    |app| async move {
        let srv = Server::start();
        let c = app.caller("p1", "member");
        let id = queued(&c).await;
        for url in [
            srv.url("/img"),
            format!("http://localhost:{}/img", srv.port),
            format!("http://[::1]:{}/img", srv.port),
            format!("http://0x7f.1:{}/img", srv.port),
        ] {
            let (s, v) = patch(&c, &id, add(&url)).await;
            assert_eq!(
                (s, message(&v).as_str()),
                (400, "Invalid location"),
                "{url}"
            );
        }
        // And through the v2.17 API: accepted, then the task fails.
        let r = c
            .post(
                &format!("/v2/images/{id}/locations"),
                &json!({"url": srv.url("/img")}),
            )
            .await;
        assert_eq!(r.status(), 202);
        let (status, msg) = task_end(&c, &app, &id).await;
        assert_eq!(
            (status.as_str(), msg.as_str()),
            ("failure", "Task failed due to Internal Error")
        );
        assert!(srv.requests().is_empty(), "{:?}", srv.requests());
        assert_eq!(show(&c, &id).await["status"], "queued");
    }
);

backend_test!(
    location_import_hashes_the_data,
    config = |c| http_on(c),
    |app| async move {
        let srv = Server::start();
        // A member may use the v2.17 API with the http store enabled (Glance's rule).
        let c = app.caller("p1", "member");
        let service = app.caller("p1", "member,service");
        let body = data();
        let md5 = hex::encode(md5::Md5::digest(&body));
        let sha256 = hex::encode(Sha256::digest(&body));
        let sha512 = hex::encode(Sha512::digest(&body));
        let post = |id: String, v: Value| {
            let c = &c;
            async move {
                c.post(&format!("/v2/images/{id}/locations"), &v)
                    .await
                    .status()
                    .as_u16()
            }
        };

        // validation_data that matches: active, with the caller's algorithm.
        let id = queued(&c).await;
        let vd = json!({"url": srv.url("/redirect"), "validation_data": {"os_hash_algo": "sha256", "os_hash_value": sha256}});
        assert_eq!(post(id.clone(), vd).await, 202);
        assert_eq!(task_end(&c, &app, &id).await.0, "success");
        let img = show(&c, &id).await;
        assert_eq!(img["status"], "active");
        assert_eq!(img["checksum"], md5);
        assert_eq!(img["os_hash_algo"], "sha256");
        assert_eq!(img["os_hash_value"], sha256);
        assert_eq!(img["size"], body.len());
        assert!(img.get("os_glance_import_task").is_none(), "{img}");
        assert_eq!(download(&c, &id, None).await, (200, body.clone()));
        let (s, v) = json(service.get(&format!("/v2/images/{id}/locations")).await).await;
        assert_eq!(
            (s, v),
            (200, json!([{"url": srv.url("/redirect"), "metadata": {}}]))
        );

        // A hash that does not match: the task fails, the image goes back to queued without
        // hashes, and keeps its http location (glance_store cannot delete it; Glance bug 2076648).
        let bad = queued(&c).await;
        let vd = json!({"url": srv.url("/img"), "validation_data": {"os_hash_algo": "sha512", "os_hash_value": "beefdead".repeat(16)}});
        assert_eq!(post(bad.clone(), vd).await, 202);
        let (status, msg) = task_end(&c, &app, &bad).await;
        assert_eq!(
            (status.as_str(), msg.as_str()),
            ("failure", "Task failed due to Internal Error")
        );
        let img = show(&c, &bad).await;
        assert_eq!(img["status"], "queued");
        assert_eq!(
            (
                &img["checksum"],
                &img["os_hash_algo"],
                &img["os_hash_value"]
            ),
            (&Value::Null, &Value::Null, &Value::Null)
        );
        assert!(img.get("os_glance_import_task").is_none(), "{img}");
        assert_eq!(live(&app, &bad).len(), 1);

        // No validation_data: active, hashed with hashing_algorithm.
        let plain = queued(&c).await;
        assert_eq!(
            post(plain.clone(), json!({"url": srv.url("/img")})).await,
            202
        );
        assert_eq!(task_end(&c, &app, &plain).await.0, "success");
        let img = show(&c, &plain).await;
        assert_eq!(img["status"], "active");
        assert_eq!(img["checksum"], md5);
        assert_eq!(img["os_hash_algo"], "sha512");
        assert_eq!(img["os_hash_value"], sha512);

        // A URL that cannot be sized: the task fails, the image stays queued without a location.
        for path in ["/missing", "/nolen"] {
            let id = queued(&c).await;
            assert_eq!(post(id.clone(), json!({"url": srv.url(path)})).await, 202);
            assert_eq!(task_end(&c, &app, &id).await.0, "failure", "{path}");
            assert_eq!(show(&c, &id).await["status"], "queued", "{path}");
            assert!(live(&app, &id).is_empty(), "{path}");
        }
    }
);

backend_test!(
    without_do_secure_hash_the_caller_is_trusted,
    config = |c| {
        http_on(c);
        c.do_secure_hash = false;
    },
    |app| async move {
        let srv = Server::start();
        let c = app.caller("p1", "member");
        let id = queued(&c).await;
        let vd = json!({"url": srv.url("/img"), "validation_data": {"os_hash_algo": "sha512", "os_hash_value": "ab".repeat(64)}});
        let r = c.post(&format!("/v2/images/{id}/locations"), &vd).await;
        assert_eq!(r.status(), 202);
        assert_eq!(task_end(&c, &app, &id).await.0, "success");
        let img = show(&c, &id).await;
        assert_eq!(
            (&img["status"], &img["os_hash_value"], &img["checksum"]),
            (&json!("active"), &json!("ab".repeat(64)), &Value::Null)
        );
        // Only the HEAD: the data is not read.
        assert_eq!(srv.requests(), vec!["HEAD /img"]);
    }
);

backend_test!(
    deleting_the_image_stops_hashing,
    config = |c| http_on(c),
    |app| async move {
        let srv = Server::start();
        let c = app.caller("p1", "member");
        let id = queued(&c).await;
        let r = c
            .post(
                &format!("/v2/images/{id}/locations"),
                &json!({"url": srv.url("/slow")}),
            )
            .await;
        assert_eq!(r.status(), 202);
        // Active at once (the hash is computed afterwards), with the algorithm already set.
        let mut img = Value::Null;
        for _ in 0..200 {
            img = show(&c, &id).await;
            if img["status"] == "active" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(
            (&img["status"], &img["os_hash_algo"]),
            (&json!("active"), &json!("sha512"))
        );
        assert_eq!(img["size"], 100_000_000);
        assert_eq!(c.delete(&format!("/v2/images/{id}")).await.status(), 204);
        // The task ends, and the server sees its client go.
        let (status, _) = task_end(&c, &app, &id).await;
        assert_eq!(status, "failure");
        for _ in 0..100 {
            if srv.slow_dropped.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(srv.slow_dropped.load(Ordering::SeqCst));
    }
);

backend_test!(
    an_http_backend_in_multi_store_mode,
    config = |c| {
        http_on(c);
        c.backend = Some(glint::config::Backend {
            id: "local".into(),
            description: None,
        });
        c.stores.http_backend = Some("web".into());
    },
    |app| async move {
        let srv = Server::start();
        let c = app.caller("p1", "member");
        let (s, v) = json(c.get("/v2/info/stores").await).await;
        assert_eq!(
            (s, v),
            (
                200,
                json!({"stores": [{"id": "local", "default": "true"}, {"id": "web", "read-only": "true"}]})
            )
        );
        let id = queued(&c).await;
        let r = c
            .post(
                &format!("/v2/images/{id}/locations"),
                &json!({"url": srv.url("/img")}),
            )
            .await;
        assert_eq!(r.status(), 202);
        assert_eq!(task_end(&c, &app, &id).await.0, "success");
        let img = show(&c, &id).await;
        assert_eq!(
            (&img["status"], &img["stores"]),
            (&json!("active"), &json!("web"))
        );
        assert_eq!(
            live(&app, &id),
            vec![(srv.url("/img"), Some(r#"{"store": "web"}"#.into()))]
        );
        assert_eq!(download(&c, &id, None).await, (200, data()));
        // An uploaded image is in the data backend.
        let up = queued(&c).await;
        assert_eq!(c.upload(&up, b"abc".to_vec()).await.status(), 204);
        assert_eq!(show(&c, &up).await["stores"], "local");
    }
);
