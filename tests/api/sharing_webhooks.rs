//! Webhooks (issue 18): a project subscribes a URL to events about the shares it owns or
//! receives; deliveries are CloudEvents 1.0 JSON signed with HMAC-SHA256, in order, retried with
//! backoff, logged; loopback, link-local and private targets are refused unless the operator
//! allows them; a dead target never slows the API.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::helpers::{json, message, Caller, TestApp};

/// What the receiver got: path, signature header, body.
type Got = Arc<Mutex<Vec<(String, String, Value)>>>;

/// A loopback HTTP receiver answering `statuses` in turn (then 200), or never (`hang`).
async fn receiver(statuses: Vec<u16>, hang: bool) -> (String, Got) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let got: Got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    actix_web::rt::spawn(async move {
        let mut statuses = statuses.into_iter();
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body) = loop {
                let n = s.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break (String::new(), Vec::new());
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..i]).to_string();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    let mut body = buf[i + 4..].to_vec();
                    while body.len() < len {
                        let n = s.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        body.extend_from_slice(&chunk[..n]);
                    }
                    break (head, body);
                }
            };
            if head.is_empty() {
                continue;
            }
            if hang {
                actix_web::rt::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    drop(s);
                });
                continue;
            }
            let path = head.split(' ').nth(1).unwrap_or("").to_owned();
            let sig = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .starts_with("x-glint-signature:")
                        .then(|| l.split_once(':').unwrap().1.trim().to_owned())
                })
                .unwrap_or_default();
            let status = statuses.next().unwrap_or(200);
            g.lock().unwrap().push((
                path,
                sig,
                serde_json::from_slice(&body).unwrap_or(Value::Null),
            ));
            let _ = s
                .write_all(
                    format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .await;
        }
    });
    (url, got)
}

async fn subscribe(c: &Caller<'_>, body: Value) -> (u16, Value) {
    json(c.post("/v2/glint/webhooks", &body).await).await
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

crate::backend_test!(
    deliveries_are_signed_ordered_retried_and_logged,
    config = |c| {
        c.sharing.enabled = true;
        c.sharing.webhook_allow_private = true;
        c.sharing.webhook_retry_base = Duration::from_millis(100);
        c.sharing.webhook_max_attempts = 3;
    },
    |app| async move {
        let (url, got) = receiver(vec![500], false).await;
        let owner = app.caller("p1", "member");
        let recipient = app.caller("p2", "member");
        let (s, hook) = subscribe(&owner, json!({"url": format!("{url}/owner")})).await;
        assert_eq!(s, 201, "{hook}");
        let secret = hook["webhook"]["secret"].as_str().unwrap().to_owned();
        assert_eq!(secret.len(), 64);
        assert_eq!(hook["webhook"]["events"].as_array().unwrap().len(), 7);
        let owner_hook = hook["webhook"]["id"].as_str().unwrap().to_owned();
        let (s, v) = subscribe(
            &recipient,
            json!({"url": format!("{url}/p2"), "events": ["share.accepted"]}),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        let p2_secret = v["webhook"]["secret"].as_str().unwrap().to_owned();
        let p2_hook = v["webhook"]["id"].as_str().unwrap().to_owned();
        // Each project lists its own, without secrets.
        let (_, l) = json(owner.get("/v2/glint/webhooks").await).await;
        assert_eq!(l["webhooks"].as_array().unwrap().len(), 1);
        assert_eq!(l["webhooks"][0]["id"], owner_hook.as_str());
        assert!(l["webhooks"][0].get("secret").is_none());

        let id = owner
            .create_image(json!({"name": "golden", "visibility": "shared"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        owner.add_member(&id, "p2").await;
        recipient.set_member_status(&id, "p2", "accepted").await;
        owner.remove_member(&id, "p2").await;
        wait_for("5 deliveries", || got.lock().unwrap().len() >= 5).await;
        let got = got.lock().unwrap().clone();
        let to = |path: &str| -> Vec<(String, Value)> {
            got.iter()
                .filter(|(p, _, _)| p == path)
                .map(|(_, s, b)| (s.clone(), b.clone()))
                .collect()
        };
        let owner_got = to("/owner");
        let types: Vec<&str> = owner_got
            .iter()
            .map(|(_, b)| b["type"].as_str().unwrap())
            .collect();
        // The first attempt answered 500 and was retried with the same event.
        assert_eq!(
            types,
            [
                "org.openstack.glint.share.offered",
                "org.openstack.glint.share.offered",
                "org.openstack.glint.share.accepted",
                "org.openstack.glint.share.revoked"
            ]
        );
        assert_eq!(owner_got[0].1["id"], owner_got[1].1["id"]);
        for (sig, body) in &owner_got {
            let bytes = serde_json::to_vec(body).unwrap();
            assert_eq!(
                sig,
                &format!(
                    "sha256={}",
                    glint::domain::webhook::sign(secret.as_bytes(), &bytes)
                )
            );
            assert_eq!(body["specversion"], "1.0");
            assert_eq!(body["source"], format!("/v2/images/{id}"));
            assert_eq!(body["datacontenttype"], "application/json");
            assert_eq!(body["data"]["member_id"], "p2");
            assert_eq!(body["data"]["owner"], "p1");
        }
        assert_eq!(owner_got[2].1["data"]["status"], "accepted");
        // The recipient got only what it subscribed to, signed with its own secret.
        let p2_got = to("/p2");
        assert_eq!(p2_got.len(), 1);
        assert_eq!(p2_got[0].1["type"], "org.openstack.glint.share.accepted");
        let bytes = serde_json::to_vec(&p2_got[0].1).unwrap();
        assert_eq!(
            p2_got[0].0,
            format!(
                "sha256={}",
                glint::domain::webhook::sign(p2_secret.as_bytes(), &bytes)
            )
        );

        // The delivery log, attempt by attempt.
        let log = format!("/v2/glint/webhooks/{owner_hook}/deliveries");
        wait_for("the log", || {
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM glint_webhook_deliveries WHERE webhook_id = '{owner_hook}'"
            )) >= 4
        })
        .await;
        let (s, v) = json(owner.get(&log).await).await;
        assert_eq!(s, 200, "{v}");
        let summary: Vec<(String, i64, Option<i64>, bool)> = v["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["type"].as_str().unwrap().to_owned(),
                    d["attempt"].as_i64().unwrap(),
                    d["status_code"].as_i64(),
                    d["delivered"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("share.offered".to_owned(), 1, Some(500), false),
                ("share.offered".to_owned(), 2, Some(200), true),
                ("share.accepted".to_owned(), 1, Some(200), true),
                ("share.revoked".to_owned(), 1, Some(200), true),
            ]
        );
        // Another project's webhook is as missing as a missing one, from either side.
        assert_eq!(recipient.get(&log).await.status(), 404);
        assert_eq!(
            recipient
                .delete(&format!("/v2/glint/webhooks/{owner_hook}"))
                .await
                .status(),
            404
        );
        assert_eq!(
            owner
                .get(&format!("/v2/glint/webhooks/{p2_hook}/deliveries"))
                .await
                .status(),
            404
        );
        // A reader reads, but may not subscribe or delete.
        let reader = app.caller("p1", "reader");
        assert_eq!(reader.get(&log).await.status(), 200);
        let (s, _) = subscribe(&reader, json!({"url": format!("{url}/r")})).await;
        assert_eq!(s, 403);
        assert_eq!(
            owner
                .delete(&format!("/v2/glint/webhooks/{owner_hook}"))
                .await
                .status(),
            204
        );
        assert_eq!(owner.get(&log).await.status(), 404);
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM glint_webhook_deliveries WHERE webhook_id = '{owner_hook}'"
            )),
            0
        );
    }
);

crate::backend_test!(
    private_targets_are_refused_by_default,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let owner = app.caller("p1", "member");
        for url in [
            "http://127.0.0.1:9/x",
            "http://localhost:8080/x",
            "http://[::1]/x",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.1/",
            "https://192.168.1.20/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            let (s, v) = subscribe(&owner, json!({ "url": url })).await;
            assert_eq!(s, 400, "{url}: {v}");
            assert!(
                message(&v).contains("loopback, link-local, private or otherwise non-public"),
                "{url}: {v}"
            );
        }
        for (body, text) in [
            (json!({"url": "ftp://example.com/"}), "https:// or http://"),
            (
                json!({"url": "https://u:p@example.com/"}),
                "user information",
            ),
            (
                json!({"url": "https://x.example", "events": ["nope"]}),
                "not an event",
            ),
        ] {
            let (s, v) = subscribe(&owner, body).await;
            assert_eq!(s, 400, "{v}");
            assert!(message(&v).contains(text), "{v}");
        }
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_webhooks"), 0);
    }
);

crate::backend_test!(off_webhooks_are_unknown_paths, |app| async move {
    let owner = app.caller("p1", "member");
    let (s, _) = subscribe(&owner, json!({"url": "https://example.com/"})).await;
    assert_eq!(s, 404);
    assert_eq!(owner.get("/v2/glint/webhooks").await.status(), 404);
});

/// A target that never answers holds only the worker, never a request.
#[actix_web::test]
async fn a_dead_target_does_not_slow_the_api() {
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, |c| {
        c.sharing.enabled = true;
        c.sharing.webhook_allow_private = true;
    })
    .await;
    let (url, _) = receiver(vec![], true).await;
    let owner = app.caller("p1", "member");
    let (s, _) = subscribe(&owner, json!({ "url": url })).await;
    assert_eq!(s, 201);
    let id = owner
        .create_image(json!({"name": "x", "visibility": "shared"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for p in ["p2", "p3", "p4", "p5"] {
        let start = Instant::now();
        let (s, _) = json(
            owner
                .post(&format!("/v2/images/{id}/members"), &json!({ "member": p }))
                .await,
        )
        .await;
        assert_eq!(s, 200);
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }
}

crate::backend_test!(
    the_address_is_checked_again_at_each_delivery,
    config = |c| {
        c.sharing.enabled = true;
        c.sharing.webhook_retry_base = Duration::from_millis(50);
        c.sharing.webhook_max_attempts = 2;
    },
    |app| async move {
        // A webhook whose name resolved to a public address when it was made and now points at
        // loopback (as a rebinding name would): stored directly, since the API refuses it.
        let (url, got) = receiver(vec![], false).await;
        let hook = "0c8f3a52-5b55-4c53-9a3e-5e1a2a000001";
        {
            let mut conn = app.db();
            glint::db::webhooks::insert(
                &mut conn,
                &glint::db::webhooks::Webhook {
                    id: hook.into(),
                    project_id: "p1".into(),
                    url: format!("{url}/x"),
                    secret: "s".into(),
                    events: "share.offered".into(),
                    created_at: chrono::Utc::now().naive_utc(),
                },
            )
            .unwrap();
        }
        let owner = app.caller("p1", "member");
        let id = owner
            .create_image(json!({"name": "x", "visibility": "shared"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        owner.add_member(&id, "p2").await;
        wait_for("two refused attempts", || {
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM glint_webhook_deliveries WHERE webhook_id = '{hook}'"
            )) >= 2
        })
        .await;
        let (s, v) = json(
            owner
                .get(&format!("/v2/glint/webhooks/{hook}/deliveries"))
                .await,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        for d in v["deliveries"].as_array().unwrap() {
            assert_eq!(d["delivered"], false, "{d}");
            assert_eq!(d["status_code"], Value::Null, "{d}");
            assert!(
                d["error"].as_str().unwrap().contains("non-public address"),
                "{d}"
            );
        }
        assert!(got.lock().unwrap().is_empty(), "nothing reached the target");
    }
);

crate::backend_test!(
    a_recipient_hears_of_batch_offers_and_deleted_images,
    config = |c| {
        c.sharing.enabled = true;
        c.sharing.webhook_allow_private = true;
    },
    |app| async move {
        let (url, got) = receiver(vec![], false).await;
        let recipient = app.caller("p2", "member");
        let (s, v) = subscribe(
            &recipient,
            json!({"url": format!("{url}/p2"), "events": ["share.offered", "share.image_deleted"]}),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        let owner = app.caller("p1", "member");
        let mut images = Vec::new();
        for name in ["a", "b"] {
            images.push(
                owner
                    .create_image(json!({"name": name, "visibility": "shared"}))
                    .await["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        let (s, v) = json(
            owner
                .post(
                    "/v2/glint/shares",
                    &json!({"images": images, "targets": {"projects": ["p2", "p3"]}}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            owner
                .delete(&format!("/v2/images/{}", images[0]))
                .await
                .status(),
            204
        );
        wait_for("3 deliveries", || got.lock().unwrap().len() >= 3).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let got = got.lock().unwrap().clone();
        // Only p2's events (p3 has no webhook), in the order they happened.
        let seen: Vec<(String, String, String)> = got
            .iter()
            .map(|(p, _, b)| {
                (
                    p.clone(),
                    b["type"].as_str().unwrap().to_owned(),
                    b["data"]["image_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let t = |s: &str| format!("org.openstack.glint.share.{s}");
        assert_eq!(
            seen,
            [
                ("/p2".to_owned(), t("offered"), images[0].clone()),
                ("/p2".to_owned(), t("offered"), images[1].clone()),
                ("/p2".to_owned(), t("image_deleted"), images[0].clone()),
            ]
        );
        assert!(got[2].2["data"]["image_deleted_at"].is_string());
        assert_eq!(got[0].2["data"]["member_id"], "p2");
    }
);

crate::backend_test!(
    the_sweep_trims_the_delivery_log_after_history_retention,
    config = |c| {
        c.sharing.enabled = true;
        c.sharing.history_retention = Some(Duration::from_secs(3600));
    },
    |app| async move {
        let hook = "0c8f3a52-5b55-4c53-9a3e-5e1a2a000002";
        let now = chrono::Utc::now().naive_utc();
        {
            let mut conn = app.db();
            glint::db::webhooks::insert(
                &mut conn,
                &glint::db::webhooks::Webhook {
                    id: hook.into(),
                    project_id: "p1".into(),
                    url: "https://hooks.example.com/x".into(),
                    secret: "s".into(),
                    events: "share.offered".into(),
                    created_at: now,
                },
            )
            .unwrap();
            // Three attempts from two hours ago, two from now.
            for (i, age) in [7200, 7200, 7200, 0, 0].into_iter().enumerate() {
                glint::db::webhooks::record(
                    &mut conn,
                    &glint::db::webhooks::Delivery {
                        id: 0,
                        webhook_id: hook.into(),
                        event_id: format!("e{i}"),
                        event_type: "share.offered".into(),
                        attempt: 1,
                        at: now - chrono::Duration::seconds(age),
                        status_code: Some(204),
                        error: None,
                        delivered: true,
                    },
                )
                .unwrap();
            }
        }
        let count = || {
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM glint_webhook_deliveries WHERE webhook_id = '{hook}'"
            ))
        };
        assert_eq!(count(), 5);
        glint::service::sharing_sweep::purge_expired(&app.state)
            .await
            .unwrap();
        assert_eq!(count(), 2, "the attempts older than history_retention went");
        let owner = app.caller("p1", "member");
        let (s, v) = json(
            owner
                .get(&format!("/v2/glint/webhooks/{hook}/deliveries"))
                .await,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let ids: Vec<&str> = v["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["event_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["e3", "e4"]);
    }
);
