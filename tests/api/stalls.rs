//! Clients that stall, cut off or misbehave while sending a body (issue 13, findings 3 and 6):
//! every such request ends within its timeout with an answer, holds no memory after, leaves the
//! image `queued` at once and no temporary file in the store; callers who may not act are
//! refused before their body is read; concurrent uploads per project are bounded.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::backend_test;
use crate::helpers::{json, message, TestApp};
use crate::raw::{answer, closed_within, connect, head};

async fn image_status(app: &TestApp, id: &str) -> String {
    let (s, v) = json(
        app.caller("p1", "admin,member,reader")
            .get(&format!("/v2/images/{id}"))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["status"].as_str().unwrap_or_default().to_owned()
}

async fn new_image(app: &TestApp, project: &str) -> String {
    let v = app
        .caller(project, "member,reader")
        .create_image(json!({"name": "s", "disk_format": "raw", "container_format": "bare"}))
        .await;
    v["id"].as_str().unwrap().to_owned()
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

backend_test!(
    stalled_json_body_ends_at_the_idle_timeout,
    config = |c| c.transport.client_socket_timeout = Duration::from_secs(1),
    |app| async move {
        let id = new_image(&app, "p1").await;
        let mut s = connect(&app).await;
        let h = head(
            "POST",
            "/v2/images",
            "p1",
            "member,reader",
            &[
                ("Content-Type", "application/json"),
                ("Content-Length", "1000"),
            ],
        );
        s.write_all(h.as_bytes()).await.unwrap();
        s.write_all(b"{\"name\": \"half").await.unwrap();
        let started = Instant::now();
        // Meanwhile the service answers others.
        let shown = app
            .caller("p1", "member,reader")
            .get(&format!("/v2/images/{id}"))
            .await;
        assert_eq!(shown.status(), 200);
        let (status, text) = answer(&mut s, Duration::from_secs(15)).await;
        assert_eq!(status, Some(400), "{text}");
        assert!(
            text.contains("stalled") && text.contains("client_socket_timeout"),
            "{text}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert!(closed_within(&mut s, Duration::from_secs(10)).await);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 1);
    }
);

backend_test!(
    hundreds_of_stalled_bodies_are_dropped_and_memory_stays_bounded,
    config = |c| c.transport.client_socket_timeout = Duration::from_secs(2),
    |app| async move {
        let id = new_image(&app, "p1").await;
        let before = rss_kib();
        let chunk = vec![b' '; 32 * 1024];
        let mut clients = Vec::new();
        for i in 0..300 {
            let mut s = connect(&app).await;
            let (method, path, ct) = if i % 2 == 0 {
                ("POST", "/v2/images".to_owned(), "application/json")
            } else {
                (
                    "PATCH",
                    format!("/v2/images/{id}"),
                    "application/openstack-images-v2.1-json-patch",
                )
            };
            let h = head(
                method,
                &path,
                "p1",
                "member,reader",
                &[("Content-Type", ct), ("Content-Length", "1000000")],
            );
            s.write_all(h.as_bytes()).await.unwrap();
            s.write_all(b"[").await.unwrap();
            s.write_all(&chunk).await.unwrap();
            clients.push(s);
        }
        // Everyone else is still served.
        let t = Instant::now();
        let shown = app
            .caller("p1", "member,reader")
            .get(&format!("/v2/images/{id}"))
            .await;
        assert_eq!(shown.status(), 200);
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        let stalled = rss_kib();
        eprintln!("RSS with 300 stalled bodies: {before} KiB before, {stalled} KiB stalled");
        // 300 x 32 KiB were sent; a generous bound on what the server may hold for them.
        assert!(
            stalled.saturating_sub(before) < 256 * 1024,
            "RSS grew from {before} KiB to {stalled} KiB"
        );
        // After the idle timeout every stalled request has ended and its connection is closed.
        let started = Instant::now();
        let mut answered = 0;
        for s in &mut clients {
            let left = Duration::from_secs(20).saturating_sub(started.elapsed());
            if closed_within(s, left.max(Duration::from_millis(100))).await {
                answered += 1;
            }
        }
        assert_eq!(
            answered, 300,
            "connections still open after the idle timeout"
        );
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 1);
        assert_eq!(image_status(&app, &id).await, "queued");
    }
);

backend_test!(
    callers_who_may_not_act_are_refused_before_their_body,
    config = |c| c.transport.client_socket_timeout = Duration::from_secs(30),
    |app| async move {
        let id = new_image(&app, "p1").await;
        let shared = app
            .caller("p1", "member,reader")
            .create_image(json!({"name": "sh", "visibility": "shared"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let patch_ct = "application/openstack-images-v2.1-json-patch";
        let cases: Vec<(&str, String, &str, &str, u16)> = vec![
            (
                "POST",
                "/v2/metadefs/namespaces".into(),
                "p1",
                "application/json",
                403,
            ),
            (
                "PUT",
                "/v2/metadefs/namespaces/none".into(),
                "p1",
                "application/json",
                404,
            ),
            (
                "POST",
                "/v2/metadefs/namespaces/none/objects".into(),
                "p1",
                "application/json",
                404,
            ),
            (
                "POST",
                "/v2/metadefs/namespaces/none/properties".into(),
                "p1",
                "application/json",
                404,
            ),
            ("POST", "/v2/tasks".into(), "p1", "application/json", 403),
            ("POST", "/v2/images".into(), "p1", "application/json", 403),
            ("PATCH", format!("/v2/images/{id}"), "p1", patch_ct, 403),
            ("PATCH", format!("/v2/images/{id}"), "p2", patch_ct, 404),
            (
                "PUT",
                format!("/v2/images/{id}/file"),
                "p1",
                "application/octet-stream",
                403,
            ),
            (
                "PUT",
                format!("/v2/images/{id}/file"),
                "p2",
                "application/octet-stream",
                404,
            ),
            (
                "PUT",
                format!("/v2/images/{id}/stage"),
                "p1",
                "application/octet-stream",
                403,
            ),
            (
                "PUT",
                format!("/v2/images/{id}/stage"),
                "p2",
                "application/octet-stream",
                404,
            ),
            (
                "POST",
                format!("/v2/images/{shared}/members"),
                "p1",
                "application/json",
                403,
            ),
            (
                "PUT",
                format!("/v2/images/{shared}/members/p3"),
                "p1",
                "application/json",
                404,
            ),
            (
                "POST",
                format!("/v2/images/{id}/import"),
                "p2",
                "application/json",
                404,
            ),
        ];
        for (method, path, project, ct, want) in cases {
            let mut s = connect(&app).await;
            let h = head(
                method,
                &path,
                project,
                "reader",
                &[("Content-Type", ct), ("Content-Length", "900000")],
            );
            s.write_all(h.as_bytes()).await.unwrap();
            // No body at all: the answer cannot have waited for it.
            let (status, text) = answer(&mut s, Duration::from_secs(10)).await;
            assert_eq!(status, Some(want), "{method} {path} as {project}: {text}");
        }
        assert_eq!(image_status(&app, &id).await, "queued");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 2);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM image_members"), 0);
        assert!(app.store_files().is_empty(), "{:?}", app.store_files());
    }
);

backend_test!(
    json_body_over_the_limit_is_413_from_content_length,
    config = |c| c.transport.client_socket_timeout = Duration::from_secs(30),
    |app| async move {
        let id = new_image(&app, "p1").await;
        let too_big = (glint::domain::limits::MAX_JSON_BODY + 1).to_string();
        for (method, path, ct) in [
            ("POST", "/v2/images".to_owned(), "application/json"),
            (
                "PATCH",
                format!("/v2/images/{id}"),
                "application/openstack-images-v2.1-json-patch",
            ),
        ] {
            let mut s = connect(&app).await;
            let h = head(
                method,
                &path,
                "p1",
                "member,reader",
                &[("Content-Type", ct), ("Content-Length", &too_big)],
            );
            s.write_all(h.as_bytes()).await.unwrap();
            let (status, text) = answer(&mut s, Duration::from_secs(10)).await;
            assert_eq!(status, Some(413), "{method} {path}: {text}");
            assert!(text.contains("Request is too large."), "{text}");
        }
        // At the limit, a body is still read (and judged on its content).
        let body = format!(
            "{{\"name\": \"{}\"}}",
            "x".repeat(glint::domain::limits::MAX_JSON_BODY - 12)
        );
        let r = app
            .caller("p1", "member,reader")
            .request(reqwest::Method::POST, "/v2/images")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 1);
    }
);

/// Starts an upload of `len` declared bytes to `id` and sends `sent` of them.
async fn partial_upload(
    app: &TestApp,
    id: &str,
    project: &str,
    len: usize,
    sent: usize,
) -> TcpStream {
    let mut s = connect(app).await;
    let h = head(
        "PUT",
        &format!("/v2/images/{id}/file"),
        project,
        "member,reader",
        &[
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", &len.to_string()),
        ],
    );
    s.write_all(h.as_bytes()).await.unwrap();
    s.write_all(&vec![7u8; sent]).await.unwrap();
    s
}

/// Waits (up to `limit`) until the image has `status`.
async fn wait_status(app: &TestApp, id: &str, status: &str, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if image_status(app, id).await == status {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

backend_test!(
    stalled_upload_ends_and_the_image_is_queued_at_once,
    config = |c| c.transport.upload_stall_timeout = Duration::from_secs(1),
    |app| async move {
        let id = new_image(&app, "p1").await;
        let mut s = partial_upload(&app, &id, "p1", 4_000_000, 1_000_000).await;
        assert!(wait_status(&app, &id, "saving", Duration::from_secs(5)).await);
        let started = Instant::now();
        let (status, text) = answer(&mut s, Duration::from_secs(15)).await;
        assert_eq!(status, Some(400), "{text}");
        assert!(text.contains("upload_stall_timeout"), "{text}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        // Queued when the answer came, not later.
        assert_eq!(image_status(&app, &id).await, "queued");
        assert!(app.store_files().is_empty(), "{:?}", app.store_files());
        // And it can be uploaded again.
        let r = app
            .caller("p1", "member,reader")
            .upload(&id, b"data".to_vec())
            .await;
        assert_eq!(r.status(), 204);
        assert_eq!(image_status(&app, &id).await, "active");
    }
);

/// Sends `route` ("file" or "stage") a chunked body whose second chunk has no valid size, and
/// checks the answer: 400, the image `queued` again, nothing kept in `leftovers`.
async fn malformed_chunked(app: &TestApp, route: &str, in_progress: &str) {
    let id = new_image(app, "p1").await;
    let mut s = connect(app).await;
    let h = head(
        "PUT",
        &format!("/v2/images/{id}/{route}"),
        "p1",
        "member,reader",
        &[
            ("Content-Type", "application/octet-stream"),
            ("Transfer-Encoding", "chunked"),
        ],
    );
    s.write_all(h.as_bytes()).await.unwrap();
    s.write_all(b"5\r\nhello\r\n").await.unwrap();
    s.flush().await.unwrap();
    assert!(wait_status(app, &id, in_progress, Duration::from_secs(5)).await);
    s.write_all(b"zz-not-a-size\r\nmore\r\n").await.unwrap();
    let (status, text) = answer(&mut s, Duration::from_secs(10)).await;
    assert_eq!(status, Some(400), "{text}");
    // Either the handler saw the broken body first (the usual answer), or actix dropped the
    // request and the late answer was written on the raw connection.
    assert!(text.contains("Error reading image data"), "{text}");
    assert_eq!(image_status(app, &id).await, "queued");
    assert!(app.store_files().is_empty(), "{:?}", app.store_files());
    let staged: Vec<_> = std::fs::read_dir(&app.state.config.import.staging_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(staged.is_empty(), "{staged:?}");
}

backend_test!(
    malformed_chunked_upload_is_answered_and_queued,
    |app| async move { malformed_chunked(&app, "file", "saving").await }
);

backend_test!(
    malformed_chunked_stage_is_answered_and_queued,
    |app| async move { malformed_chunked(&app, "stage", "uploading").await }
);

backend_test!(
    client_cut_mid_upload_leaves_the_image_queued,
    |app| async move {
        let id = new_image(&app, "p1").await;
        let s = partial_upload(&app, &id, "p1", 8_000_000, 2_000_000).await;
        assert!(wait_status(&app, &id, "saving", Duration::from_secs(5)).await);
        drop(s);
        assert!(
            wait_status(&app, &id, "queued", Duration::from_secs(3)).await,
            "still {}",
            image_status(&app, &id).await
        );
        // The temporary file goes with it.
        let started = Instant::now();
        while !app.store_files().is_empty() && started.elapsed() < Duration::from_secs(3) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(app.store_files().is_empty(), "{:?}", app.store_files());
    }
);

backend_test!(
    concurrent_uploads_are_bounded_per_project,
    config = |c| c.transport.max_concurrent_uploads_per_project = 2,
    |app| async move {
        let a = new_image(&app, "p1").await;
        let b = new_image(&app, "p1").await;
        let c = new_image(&app, "p1").await;
        let other = new_image(&app, "p2").await;
        let s1 = partial_upload(&app, &a, "p1", 1_000_000, 1000).await;
        let s2 = partial_upload(&app, &b, "p1", 1_000_000, 1000).await;
        assert!(wait_status(&app, &a, "saving", Duration::from_secs(5)).await);
        assert!(wait_status(&app, &b, "saving", Duration::from_secs(5)).await);
        let (status, v) = json(
            app.caller("p1", "member,reader")
                .upload(&c, b"x".to_vec())
                .await,
        )
        .await;
        assert_eq!(status, 413, "{v}");
        assert!(
            message(&v).contains("max_concurrent_uploads_per_project is 2"),
            "{v}"
        );
        // Refused before anything changed.
        assert_eq!(image_status(&app, &c).await, "queued");
        // Stages count too.
        let r = app
            .caller("p1", "member,reader")
            .request(reqwest::Method::PUT, &format!("/v2/images/{c}/stage"))
            .header("Content-Type", "application/octet-stream")
            .body(b"x".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        assert_eq!(image_status(&app, &c).await, "queued");
        // Another project is not affected.
        let r = app
            .caller("p2", "member,reader")
            .upload(&other, b"y".to_vec())
            .await;
        assert_eq!(r.status(), 204);
        // A finished (here: abandoned) upload frees its place.
        drop(s1);
        assert!(wait_status(&app, &a, "queued", Duration::from_secs(3)).await);
        let started = Instant::now();
        let mut last: Option<(u16, Value)> = None;
        while started.elapsed() < Duration::from_secs(3) {
            let r = json(
                app.caller("p1", "member,reader")
                    .upload(&c, b"x".to_vec())
                    .await,
            )
            .await;
            if r.0 == 204 {
                last = None;
                break;
            }
            last = Some(r);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(last.is_none(), "{last:?}");
        assert_eq!(image_status(&app, &c).await, "active");
        drop(s2);
    }
);

backend_test!(
    declared_data_over_the_size_cap_is_413_before_reading,
    config = |c| c.image_size_cap = 1000,
    |app| async move {
        let id = new_image(&app, "p1").await;
        for path in [
            format!("/v2/images/{id}/file"),
            format!("/v2/images/{id}/stage"),
        ] {
            let mut s = connect(&app).await;
            let h = head(
                "PUT",
                &path,
                "p1",
                "member,reader",
                &[
                    ("Content-Type", "application/octet-stream"),
                    ("Content-Length", "1001"),
                ],
            );
            s.write_all(h.as_bytes()).await.unwrap();
            let (status, text) = answer(&mut s, Duration::from_secs(10)).await;
            assert_eq!(status, Some(413), "{path}: {text}");
            assert!(text.contains("The incoming image is too large"), "{text}");
            assert_eq!(image_status(&app, &id).await, "queued");
        }
        assert!(app.store_files().is_empty(), "{:?}", app.store_files());
    }
);

backend_test!(
    stalled_request_headers_are_cut_off,
    config = |c| c.transport.client_socket_timeout = Duration::from_secs(1),
    |app| async move {
        let mut s = connect(&app).await;
        s.write_all(b"GET /v2/images HTTP/1.1\r\nHost: localhost\r\nX-Pro")
            .await
            .unwrap();
        let started = Instant::now();
        let (status, text) = answer(&mut s, Duration::from_secs(15)).await;
        assert_eq!(status, Some(408), "{text}");
        assert!(closed_within(&mut s, Duration::from_secs(5)).await);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }
);

backend_test!(
    trickled_json_body_ends_at_its_total_deadline,
    config = |c| c.transport.client_socket_timeout = Duration::from_secs(1),
    |app| async move {
        let mut s = connect(&app).await;
        let h = head(
            "POST",
            "/v2/images",
            "p1",
            "member,reader",
            &[
                ("Content-Type", "application/json"),
                ("Content-Length", "1000"),
            ],
        );
        s.write_all(h.as_bytes()).await.unwrap();
        s.write_all(b"{\"name\": \"").await.unwrap();
        // One byte every 400 ms: never idle for the 1 s timeout, but never done either.
        let started = Instant::now();
        let mut answered = None;
        for _ in 0..25 {
            tokio::time::sleep(Duration::from_millis(400)).await;
            if s.write_all(b"x").await.is_err() {
                break;
            }
            let mut peek = [0u8; 1];
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(1), s.peek(&mut peek)).await
            {
                if n > 0 {
                    answered = Some(started.elapsed());
                    break;
                }
            }
        }
        let (status, text) = answer(&mut s, Duration::from_secs(5)).await;
        assert_eq!(status, Some(400), "{text}");
        assert!(text.contains("must arrive within 2 seconds"), "{text}");
        assert!(started.elapsed() < Duration::from_secs(8), "{answered:?}");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 0);
    }
);

backend_test!(json_bodies_share_a_bounded_budget, |app| async move {
    let total = glint::domain::limits::MAX_JSON_BODIES_BUFFERED_KIB as u32;
    // Other requests' bodies hold all but 8 KiB of the budget.
    let held = app
        .state
        .json_bodies
        .clone()
        .try_acquire_many_owned(total - 8)
        .expect("budget");
    let c = app.caller("p1", "member,reader");
    let tags: Vec<String> = (0..100)
        .map(|i| format!("{i}-{}", "x".repeat(200)))
        .collect();
    let big = json!({"name": "big", "tags": tags});
    let (status, v) = json(c.post("/v2/images", &big).await).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["code"], "503 Service Unavailable", "{v}");
    // A small body still fits.
    c.create_image(json!({"name": "small"})).await;
    // The refused request released what it held; and once the others are done, the big one
    // is accepted too.
    assert_eq!(app.state.json_bodies.available_permits(), 8);
    drop(held);
    c.create_image(big).await;
    assert_eq!(app.state.json_bodies.available_permits(), total as usize);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 2);
});

backend_test!(
    stalled_stage_ends_and_the_image_is_queued_at_once,
    config = |c| c.transport.upload_stall_timeout = Duration::from_secs(1),
    |app| async move {
        let id = new_image(&app, "p1").await;
        let mut s = connect(&app).await;
        let h = head(
            "PUT",
            &format!("/v2/images/{id}/stage"),
            "p1",
            "member,reader",
            &[
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", "4000000"),
            ],
        );
        s.write_all(h.as_bytes()).await.unwrap();
        s.write_all(&vec![7u8; 600_000]).await.unwrap();
        assert!(wait_status(&app, &id, "uploading", Duration::from_secs(5)).await);
        let (status, text) = answer(&mut s, Duration::from_secs(15)).await;
        assert_eq!(status, Some(400), "{text}");
        assert!(text.contains("upload_stall_timeout"), "{text}");
        assert_eq!(image_status(&app, &id).await, "queued");
        let staged: Vec<_> = std::fs::read_dir(&app.state.config.import.staging_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(staged.is_empty(), "{staged:?}");
    }
);
