//! Issue 13 (identity, proxy headers, policy files, small differences from Glance): one
//! test per finding, over HTTP, on every backend.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::backend_test;
use crate::helpers::{json, message, Backend, TestApp};
use crate::keystone::{keystone_env, token, var};
use crate::raw;

fn counts(app: &TestApp) -> (i64, i64, i64) {
    (
        app.count("SELECT COUNT(*) AS n FROM images"),
        app.count("SELECT COUNT(*) AS n FROM image_tags"),
        app.count("SELECT COUNT(*) AS n FROM image_properties"),
    )
}

// --- finding 4: duplicated identity headers ---------------------------------------------

/// Two X-Auth-Token headers reach keystonemiddleware joined into one value Keystone never
/// accepts: Glance's 401, whichever order and even when both are the same valid token.
#[actix_web::test]
async fn duplicated_token_is_401() {
    let Some(env) = keystone_env() else { return };
    for backend in crate::helpers::backends() {
        let app = TestApp::spawn_with(
            backend,
            crate::keystone::keystone_config(&env, var(&env, "KEYSTONE_URL")),
        )
        .await;
        let alice = token(&env, "alice", Some("alpha")).await;
        let send = |tokens: Vec<&str>, header: &'static str| {
            let mut rb = app
                .client
                .post(app.url("/v2/images"))
                .header("Accept", "application/json")
                .json(&json!({"name": "dup"}));
            for t in tokens {
                rb = rb.header(header, t.to_owned());
            }
            rb.send()
        };
        // The reference: one garbage token.
        let (s, invalid) = json(send(vec!["garbage"], "X-Auth-Token").await.unwrap()).await;
        assert_eq!(s, 401);
        for pair in [
            vec![alice.as_str(), "garbage"],
            vec!["garbage", alice.as_str()],
            vec![alice.as_str(), alice.as_str()],
        ] {
            for header in ["X-Auth-Token", "X-Storage-Token"] {
                let r = send(pair.clone(), header).await.unwrap();
                assert!(r.headers().contains_key("www-authenticate"));
                let (s, v) = json(r).await;
                assert_eq!((s, &v), (401, &invalid), "{header} {pair:?}");
            }
        }
        assert_eq!(counts(&app).0, 0, "nothing created");
        // One valid token still works.
        let (s, v) = json(send(vec![alice.as_str()], "X-Auth-Token").await.unwrap()).await;
        assert_eq!(s, 201, "{v}");
        // HEAD with a token and no Accept: 405 with the headers of Glance's HTML body.
        let r = app
            .client
            .head(app.url("/v2/images"))
            .header("X-Auth-Token", &alice)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["content-type"], "text/html; charset=UTF-8");
    }
}

backend_test!(
    duplicated_noauth_identity_headers_are_400,
    |app| async move {
        for (name, values) in [
            ("X-Roles", ["member", "admin"]),
            ("X-Project-Id", ["p1", "p2"]),
            ("X-Tenant-Id", ["p1", "p2"]),
            ("X-User-Id", ["u1", "u2"]),
            ("X-Role", ["member", "admin"]),
        ] {
            let mut rb = app
                .client
                .post(app.url("/v2/images"))
                .header("Accept", "application/json")
                .json(&json!({"name": "dup"}));
            if name != "X-Project-Id" && name != "X-Tenant-Id" {
                rb = rb.header("X-Project-Id", "p1");
            }
            for v in values {
                rb = rb.header(name, v);
            }
            let (s, body) = json(rb.send().await.unwrap()).await;
            assert_eq!(s, 400, "{name}: {body}");
            assert_eq!(
                message(&body),
                format!(
                    "The identity header {} was given more than once.",
                    name.to_ascii_lowercase()
                )
            );
        }
        assert_eq!(counts(&app).0, 0);
        // One of each is fine.
        let c = app.caller("p1", "member");
        c.create_image(json!({"name": "ok"})).await;
    }
);

// --- finding 5: the owner of a new image --------------------------------------------------

backend_test!(owner_rules_on_create_match_glance, |app| async move {
    let member = app.caller("p1", "member");
    for (owner, shown) in [(Value::Null, "None"), (json!("p2"), "p2"), (json!(""), "")] {
        let r = member
            .post("/v2/images", &json!({"name": "x", "owner": owner}))
            .await;
        let (s, v) = json(r).await;
        assert_eq!(s, 403, "{owner}: {v}");
        assert_eq!(
            message(&v),
            format!("You are not permitted to create images owned by '{shown}'")
        );
    }
    assert_eq!(counts(&app).0, 0, "nothing created");
    // The caller's own project, or no owner key: created, owned by p1.
    let own = member
        .create_image(json!({"name": "mine", "owner": "p1"}))
        .await;
    assert_eq!(own["owner"], "p1");
    assert_eq!(
        member.create_image(json!({"name": "m"})).await["owner"],
        "p1"
    );
    // A schema error still comes first (Glance validates the body before any policy).
    let (s, _) = json(member.post("/v2/images", &json!({"owner": 5})).await).await;
    assert_eq!(s, 400);
    // An admin may create an image with no owner, as in Glance.
    let admin = app.caller("adm", "admin,member");
    let img = admin
        .create_image(json!({"name": "orphan", "owner": null}))
        .await;
    assert_eq!(img["owner"], Value::Null, "{img}");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM images WHERE owner IS NULL"),
        1
    );
    let other = admin
        .create_image(json!({"name": "theirs", "owner": "p9"}))
        .await;
    assert_eq!(other["owner"], "p9");
});

// --- finding 8: proxy headers ---------------------------------------------------------------

async fn links(app: &TestApp, headers: &[(&str, &str)]) -> (String, String) {
    let mut rb = app
        .caller("p1", "member")
        .request(Method::POST, "/v2/images")
        .json(&json!({"name": "links"}));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let r = rb.send().await.unwrap();
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let mut rb = app.client.get(app.url("/versions"));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let (s, v) = json(rb.send().await.unwrap()).await;
    assert_eq!(s, 200);
    let href = v["versions"][0]["links"][0]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    (location, href)
}

const FORWARDED_X: &[(&str, &str)] = &[
    ("X-Forwarded-Host", "evil.example"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Prefix", "/image"),
];
const FORWARDED: &[(&str, &str)] = &[("Forwarded", "for=10.0.0.1;proto=https;host=evil.example")];

backend_test!(proxy_headers_are_ignored_by_default, |app| async move {
    for headers in [FORWARDED_X, FORWARDED, &[]] {
        let (location, href) = links(&app, headers).await;
        assert!(
            location.starts_with(&format!("{}/v2/images/", app.addr)),
            "{headers:?}: {location}"
        );
        assert_eq!(href, format!("{}/v2/", app.addr), "{headers:?}");
    }
});

backend_test!(
    proxy_headers_are_followed_when_enabled,
    config = |c| c.enable_proxy_headers_parsing = true,
    |app| async move {
        let (location, href) = links(&app, FORWARDED_X).await;
        assert!(
            location.starts_with("https://evil.example/v2/images/"),
            "{location}"
        );
        assert_eq!(href, "https://evil.example/image/v2/");
        let (location, href) = links(&app, FORWARDED).await;
        assert!(
            location.starts_with("https://evil.example/v2/images/"),
            "{location}"
        );
        assert_eq!(href, "https://evil.example/v2/");
        // Nothing forwarded: the request's own Host.
        let (location, href) = links(&app, &[]).await;
        assert!(location.starts_with(&format!("{}/v2/images/", app.addr)));
        assert_eq!(href, format!("{}/v2/", app.addr));
    }
);

backend_test!(
    public_endpoint_wins_over_proxy_headers,
    config = |c| {
        c.enable_proxy_headers_parsing = true;
        c.public_endpoint = Some("https://images.example:8443".into());
    },
    |app| async move {
        let (location, href) = links(&app, FORWARDED_X).await;
        assert!(
            location.starts_with("https://images.example:8443/v2/images/"),
            "{location}"
        );
        assert_eq!(href, "https://images.example:8443/v2/");
    }
);

// --- finding 9: policy files ----------------------------------------------------------------

/// About 400 bytes of YAML standing for 9^9 nodes once its aliases are expanded.
fn alias_bomb() -> String {
    let mut y = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2) {
        y.push_str(&format!(
            "{}: &{} [{}]\n",
            w[1],
            w[1],
            vec![format!("*{}", w[0]); 9].join(",")
        ));
    }
    y
}

#[test]
fn policy_alias_bomb_fails_start_up_and_check_config_fast() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("policy.yaml");
    std::fs::write(&bomb, alias_bomb()).unwrap();
    let started = Instant::now();
    let mut config = crate::helpers::test_config(dir.path(), Backend::Sqlite, None);
    config.policy_file = Some(bomb.clone());
    let e = glint::startup::build_state(config).map(|_| ()).unwrap_err();
    assert!(e.contains(&bomb.display().to_string()), "{e}");
    assert!(e.contains("expands to more than"), "{e}");
    // `glint check-config` says the same and exits non-zero.
    let conf = dir.path().join("glance-api.conf");
    std::fs::write(
        &conf,
        format!("[oslo_policy]\npolicy_file = {}\n", bomb.display()),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glint"))
        .arg("--config-file")
        .arg(&conf)
        .arg("--data-dir")
        .arg(dir.path())
        .arg("check-config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&bomb.display().to_string()), "{stderr}");
    assert!(stderr.contains("expands to more than"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(30));
    // A good file still passes check-config.
    std::fs::write(&bomb, "base: &b \"role:admin\"\nadd_member: *b\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glint"))
        .arg("--config-file")
        .arg(&conf)
        .arg("--data-dir")
        .arg(dir.path())
        .arg("check-config")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// --- finding 11: small differences -----------------------------------------------------------

backend_test!(body_refused_on_actions_and_tag_put, |app| async move {
    let c = app.caller("p1", "member");
    let admin = app.caller("p1", "admin,member");
    let img = c
        .create_image(json!({"name": "a", "disk_format": "raw", "container_format": "bare"}))
        .await;
    let id = img["id"].as_str().unwrap().to_owned();
    assert_eq!(c.upload(&id, b"data".to_vec()).await.status(), 204);
    let before = counts(&app);
    for (method, path) in [
        (Method::POST, format!("/v2/images/{id}/actions/deactivate")),
        (Method::POST, format!("/v2/images/{id}/actions/reactivate")),
        (Method::PUT, format!("/v2/images/{id}/tags/newtag")),
    ] {
        let r = admin
            .request(method.clone(), &path)
            .json(&json!({"x": 1}))
            .send()
            .await
            .unwrap();
        let (s, v) = json(r).await;
        assert_eq!(s, 400, "{method} {path}: {v}");
        assert_eq!(message(&v), "A body is not expected with this request.");
    }
    assert_eq!(counts(&app), before);
    let (_, v) = json(c.get(&format!("/v2/images/{id}")).await).await;
    assert_eq!(v["status"], "active");
    assert_eq!(v["tags"], json!([]));
    // Without a body they work.
    let r = admin
        .request(Method::POST, &format!("/v2/images/{id}/actions/deactivate"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = admin
        .request(Method::PUT, &format!("/v2/images/{id}/tags/newtag"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
});

backend_test!(double_slashes_route_as_single, |app| async move {
    let c = app.caller("p1", "member");
    let id = c.create_image(json!({"name": "s"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, v) = json(c.get("/v2//images").await).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["images"][0]["id"], id.as_str());
    let (s, v) = json(c.get(&format!("//v2///images//{id}?x=1")).await).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["id"], id.as_str());
    // An empty image id stays a 404, doubled or not.
    assert_eq!(c.get("/v2/images//").await.status(), 404);
});

backend_test!(head_405_has_glances_headers, |app| async move {
    let c = app.caller("p1", "member");
    let id = c.create_image(json!({"name": "h"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in ["/v2/images".to_owned(), format!("/v2/images/{id}")] {
        // No Accept: WebOb's HTML body, whose headers a HEAD answer keeps.
        let r = app
            .client
            .head(app.url(&path))
            .header("X-Project-Id", "p1")
            .header("X-Roles", "member")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{path}");
        assert_eq!(r.headers()["content-type"], "text/html; charset=UTF-8");
        assert!(r.headers()["allow"].to_str().unwrap().contains("GET"));
        let html_len = app
            .client
            .request(Method::from_bytes(b"TRACE").unwrap(), app.url(&path))
            .header("X-Project-Id", "p1")
            .header("X-Roles", "member")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .replace("TRACE", "HEAD")
            .len();
        assert_eq!(
            r.headers()["content-length"].to_str().unwrap(),
            html_len.to_string(),
            "{path}"
        );
        assert_eq!(r.bytes().await.unwrap().len(), 0);
        // Asking for JSON gets JSON headers.
        let r = c.request(Method::HEAD, &path).send().await.unwrap();
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["content-type"], "application/json");
    }
});

// --- issue 22: the request-head limit is exact --------------------------------------------------

/// Sends a `GET /v2/images` head of exactly `len` bytes (padded by an `X-Pad` header) in two
/// writes split at `split` (the server reads the first part alone), and returns the answer's status
/// and text (no status: the connection closed without one).
async fn head_of(app: &TestApp, len: usize, split: usize) -> (Option<u16>, String) {
    let bare = raw::head("GET", "/v2/images", "p1", "member", &[("X-Pad", "")]);
    let padded = raw::head(
        "GET",
        "/v2/images",
        "p1",
        "member",
        &[("X-Pad", &"v".repeat(len - bare.len()))],
    );
    assert_eq!(padded.len(), len);
    let mut stream = raw::connect(app).await;
    let (first, rest) = padded.as_bytes().split_at(split.min(len));
    // The server may close once it has refused the head: a failed write is not the answer.
    if stream.write_all(first).await.is_ok() {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = stream.write_all(rest).await;
    }
    raw::answer(&mut stream, Duration::from_secs(10)).await
}

// Request heads of up to 128 KiB (request line, headers and the blank line) are served; one byte
// more is refused with 431 and no body, however the head is split. Before, actix-http's buffer
// decided alone: a 129 KiB head whose first 131,000 bytes arrived before the rest was served.
backend_test!(request_head_limit_is_exact, |app| async move {
    const MAX: usize = glint::domain::limits::MAX_REQUEST_HEAD;
    assert_eq!(MAX, 128 * 1024);
    for (len, split) in [(127 * 1024, usize::MAX), (MAX, usize::MAX), (MAX, 131_000)] {
        let (status, text) = head_of(&app, len, split).await;
        assert_eq!(status, Some(200), "{len} bytes, split at {split}: {text}");
    }
    for (len, split) in [
        (MAX + 1, usize::MAX),
        (129 * 1024, usize::MAX),
        (129 * 1024, 131_000),
        (MAX + 1, 131_000),
    ] {
        let (status, text) = head_of(&app, len, split).await;
        assert_eq!(status, Some(431), "{len} bytes, split at {split}: {text}");
        let text = text.to_ascii_lowercase();
        assert!(text.contains("\r\ncontent-length: 0\r\n"), "{text}");
        assert!(text.contains("\r\nconnection: close\r\n"), "{text}");
    }
    // The app goes on serving.
    let (s, _) = json(app.caller("p1", "member").get("/v2/images").await).await;
    assert_eq!(s, 200);
});
