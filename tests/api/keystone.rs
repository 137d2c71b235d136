//! Authentication against the real Keystone started by `scripts/keystone.sh start`.
//! Fault cases put a TCP relay between glint and that Keystone and switch it
//! to refuse or hang: Keystone itself stays real.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{json, message, Backend, TestApp};

/// The env file written by `scripts/keystone.sh start`.
pub fn keystone_env() -> Option<HashMap<String, String>> {
    if std::env::var("GLINT_TEST_KEYSTONE").as_deref() == Ok("skip") {
        crate::helpers::skip("Keystone tests (GLINT_TEST_KEYSTONE=skip)");
        return None;
    }
    let path = std::env::var("GLINT_KEYSTONE_ENV")
        .unwrap_or_else(|_| format!("{}/.work/keystone/env", env!("CARGO_MANIFEST_DIR")));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            panic!(
                "Keystone tests need a running Keystone: run `bash scripts/keystone.sh start` \
                 (cannot read {path}: {e}), or set GLINT_TEST_KEYSTONE=skip"
            );
        }
    };
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| {
                (
                    k.trim().to_owned(),
                    v.trim().trim_matches('"').trim_matches('\'').to_owned(),
                )
            })
            .collect(),
    )
}

pub fn var<'a>(env: &'a HashMap<String, String>, key: &str) -> &'a str {
    env.get(key)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("{key} missing from the Keystone env file"))
}

/// A project-scoped (or unscoped, with `project = None`) token for a test user.
pub async fn token(env: &HashMap<String, String>, user: &str, project: Option<&str>) -> String {
    let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "password": format!("pass-{user}"), "domain": {"id": "default"}}}}});
    if let Some(p) = project {
        auth["scope"] = json!({"project": {"name": p, "domain": {"id": "default"}}});
    }
    let r = reqwest::Client::new()
        .post(format!(
            "{}/v3/auth/tokens?nocatalog",
            var(env, "KEYSTONE_URL")
        ))
        .json(&json!({"auth": auth}))
        .send()
        .await
        .expect("keystone reachable");
    assert_eq!(r.status(), 201, "login {user}");
    r.headers()["x-subject-token"].to_str().unwrap().to_owned()
}

pub fn keystone_config(
    env: &HashMap<String, String>,
    auth_url: &str,
) -> impl FnOnce(&mut glint::config::Config) {
    let (user, pass, project) = (
        var(env, "GLINT_SERVICE_USER").to_owned(),
        var(env, "GLINT_SERVICE_PASSWORD").to_owned(),
        var(env, "GLINT_SERVICE_PROJECT").to_owned(),
    );
    let url = auth_url.to_owned();
    move |c| {
        c.auth_strategy = glint::config::AuthStrategy::Keystone;
        c.keystone.auth_url = Some(url.clone());
        c.keystone.www_authenticate_uri = Some(url);
        c.keystone.username = Some(user);
        c.keystone.password = Some(pass);
        c.keystone.project_name = Some(project);
        c.keystone.http_connect_timeout = 2;
        c.keystone.http_request_max_retries = 1;
    }
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = app
        .client
        .request(method, app.url(path))
        .header("Accept", "application/json");
    if let Some(t) = token {
        rb = rb.header("X-Auth-Token", t);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    json(rb.send().await.unwrap()).await
}

crate::backend_test!(tokens_decide_identity, |app| async move {
    drop(app);
    let Some(env) = keystone_env() else { return };
    for backend in crate::helpers::backends() {
        let app =
            TestApp::spawn_with(backend, keystone_config(&env, var(&env, "KEYSTONE_URL"))).await;
        let (alpha, beta) = (var(&env, "ALPHA_PROJECT_ID"), var(&env, "BETA_PROJECT_ID"));
        let alice = token(&env, "alice", Some("alpha")).await;
        let bob = token(&env, "bob", Some("beta")).await;
        let get = reqwest::Method::GET;
        let post = reqwest::Method::POST;
        let (s, img) = call(
            &app,
            post.clone(),
            "/v2/images",
            Some(&alice),
            Some(json!({"name": "k"})),
        )
        .await;
        assert_eq!(s, 201, "{img}");
        assert_eq!(img["owner"], alpha);
        let id = img["id"].as_str().unwrap().to_owned();
        // Bob cannot see it, whatever identity headers he sends.
        let r = app
            .client
            .get(app.url(&format!("/v2/images/{id}")))
            .header("X-Auth-Token", &bob)
            .header("X-Project-Id", alpha)
            .header("X-Roles", "admin")
            .header("X-Tenant-Id", alpha)
            .header("X-Identity-Status", "Confirmed")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        // Share, accept, list.
        let (s, m) = call(
            &app,
            post.clone(),
            &format!("/v2/images/{id}/members"),
            Some(&alice),
            Some(json!({"member": beta})),
        )
        .await;
        assert_eq!((s, m["status"].as_str()), (200, Some("pending")));
        let (s, v) = call(
            &app,
            get.clone(),
            "/v2/images?visibility=shared&member_status=pending",
            Some(&bob),
            None,
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(v["images"].as_array().unwrap().len(), 1);
        let (s, _) = call(
            &app,
            reqwest::Method::PUT,
            &format!("/v2/images/{id}/members/{beta}"),
            Some(&bob),
            Some(json!({"status": "accepted"})),
        )
        .await;
        assert_eq!(s, 200);
        let (_, v) = call(&app, get.clone(), "/v2/images", Some(&bob), None).await;
        assert_eq!(v["images"][0]["id"], id.as_str());
        // Bob (member of beta) still cannot delete it.
        let (s, _) = call(
            &app,
            reqwest::Method::DELETE,
            &format!("/v2/images/{id}"),
            Some(&bob),
            None,
        )
        .await;
        assert_eq!(s, 403);
        // Reader: reads but cannot create.
        let rita = token(&env, "rita", Some("alpha")).await;
        assert_eq!(
            call(&app, get.clone(), "/v2/images", Some(&rita), None)
                .await
                .0,
            200
        );
        let (s, v) = call(
            &app,
            post.clone(),
            "/v2/images",
            Some(&rita),
            Some(json!({})),
        )
        .await;
        assert_eq!(
            (s, message(&v).as_str()),
            (403, "You are not authorized to complete add_image action.")
        );
        // Admin sees another project's private image.
        let (_, private) = call(
            &app,
            post.clone(),
            "/v2/images",
            Some(&bob),
            Some(json!({"visibility": "private"})),
        )
        .await;
        let adam = token(&env, "adam", Some("alpha")).await;
        let (s, _) = call(
            &app,
            get.clone(),
            &format!("/v2/images/{}", private["id"].as_str().unwrap()),
            Some(&adam),
            None,
        )
        .await;
        assert_eq!(s, 200);
        // Unscoped token: GET image 404, list 403, create 403 (contract 13.4).
        let unscoped = token(&env, "alice", None).await;
        assert_eq!(
            call(
                &app,
                get.clone(),
                &format!("/v2/images/{id}"),
                Some(&unscoped),
                None
            )
            .await
            .0,
            404
        );
        assert_eq!(
            call(&app, get.clone(), "/v2/images", Some(&unscoped), None)
                .await
                .0,
            403
        );
        assert_eq!(
            call(
                &app,
                post.clone(),
                "/v2/images",
                Some(&unscoped),
                Some(json!({}))
            )
            .await
            .0,
            403
        );
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 2);
    }
});

#[actix_web::test]
async fn missing_and_invalid_tokens_get_401() {
    let Some(env) = keystone_env() else { return };
    let url = var(&env, "KEYSTONE_URL").to_owned();
    let app = TestApp::spawn_with(Backend::Sqlite, keystone_config(&env, &url)).await;
    for token in [
        None,
        Some("not-a-token"),
        Some("gAAAAABnot-a-real-fernet-token"),
    ] {
        let mut rb = app
            .client
            .get(app.url("/v2/images"))
            .header("Accept", "application/json");
        if let Some(t) = token {
            rb = rb.header("X-Auth-Token", t);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), 401, "{token:?}");
        assert_eq!(
            r.headers()["www-authenticate"],
            format!("Keystone uri=\"{url}\"").as_str()
        );
        let (_, v) = json(r).await;
        assert_eq!(v["code"], "401 Unauthorized");
    }
    // X-Storage-Token is accepted like X-Auth-Token.
    let alice = token(&env, "alice", Some("alpha")).await;
    let r = app
        .client
        .get(app.url("/v2/images"))
        .header("X-Storage-Token", &alice)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Unauthenticated paths stay open.
    assert_eq!(
        app.client.get(app.url("/")).send().await.unwrap().status(),
        300
    );
}

#[actix_web::test]
async fn cache_coalesces_and_remembers() {
    let Some(env) = keystone_env() else { return };
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        keystone_config(&env, var(&env, "KEYSTONE_URL")),
    )
    .await;
    let tokens = app.state.tokens.clone().expect("keystone mode");
    let alice = token(&env, "alice", Some("alpha")).await;
    let before = tokens.keystone_calls();
    // 16 concurrent first requests with one token: one Keystone call.
    let reqs = (0..16).map(|_| {
        app.client
            .get(app.url("/v2/images"))
            .header("X-Auth-Token", &alice)
            .send()
    });
    for r in futures_util::future::join_all(reqs).await {
        assert_eq!(r.unwrap().status(), 200);
    }
    assert_eq!(tokens.keystone_calls() - before, 1);
    for _ in 0..5 {
        call(&app, reqwest::Method::GET, "/v2/images", Some(&alice), None).await;
    }
    assert_eq!(tokens.keystone_calls() - before, 1);
    // A bad token is asked about once, then remembered briefly.
    let before = tokens.keystone_calls();
    for _ in 0..3 {
        assert_eq!(
            call(
                &app,
                reqwest::Method::GET,
                "/v2/images",
                Some("bogus-token"),
                None
            )
            .await
            .0,
            401
        );
    }
    assert_eq!(tokens.keystone_calls() - before, 1);
}

/// Relay modes.
pub const FORWARD: u8 = 0;
pub const REFUSE: u8 = 1;
pub const HANG: u8 = 2;

/// A loopback TCP relay to the real Keystone that can be told to refuse or hang.
pub async fn relay(target: String) -> (String, Arc<AtomicU8>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let mode = Arc::new(AtomicU8::new(FORWARD));
    let m = mode.clone();
    actix_web::rt::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            let target = target.clone();
            match m.load(Ordering::SeqCst) {
                REFUSE => {
                    let _ = inbound.shutdown().await;
                }
                HANG => {
                    actix_web::rt::spawn(async move {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        drop(inbound);
                    });
                }
                _ => {
                    actix_web::rt::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(&target).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                }
            }
        }
    });
    (addr, mode)
}

#[actix_web::test]
async fn keystone_trouble_is_503_and_recovers() {
    let Some(env) = keystone_env() else { return };
    let target = var(&env, "KEYSTONE_URL")
        .trim_start_matches("http://")
        .to_owned();
    let (relay_url, mode) = relay(target).await;
    let app = TestApp::spawn_with(Backend::Sqlite, keystone_config(&env, &relay_url)).await;
    let alice = token(&env, "alice", Some("alpha")).await;
    let bob = token(&env, "bob", Some("beta")).await;
    assert_eq!(
        call(&app, reqwest::Method::GET, "/v2/images", Some(&alice), None)
            .await
            .0,
        200
    );
    for m in [REFUSE, HANG] {
        mode.store(m, Ordering::SeqCst);
        // A token glint has not seen: it must not be let through.
        let (s, v) = call(&app, reqwest::Method::GET, "/v2/images", Some(&bob), None).await;
        assert_eq!(s, 503, "mode {m}: {v}");
        assert_eq!(v["code"], "503 Service Unavailable");
        // A token validated before keeps working from the cache.
        assert_eq!(
            call(&app, reqwest::Method::GET, "/v2/images", Some(&alice), None)
                .await
                .0,
            200
        );
    }
    mode.store(FORWARD, Ordering::SeqCst);
    let (s, _) = call(&app, reqwest::Method::GET, "/v2/images", Some(&bob), None).await;
    assert_eq!(s, 200, "recovers once Keystone answers again");
    // Keystone not listening at all.
    let dead =
        TestApp::spawn_with(Backend::Sqlite, keystone_config(&env, "http://127.0.0.1:9")).await;
    assert_eq!(
        call(&dead, reqwest::Method::GET, "/v2/images", Some(&bob), None)
            .await
            .0,
        503
    );
}
