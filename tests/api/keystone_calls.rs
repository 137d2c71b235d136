//! The calls tests against the real Keystone make around what they check: Keystone's admin API
//! (the bootstrap admin's token, requests made with it) and glint requests made with a token.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{json, TestApp};
use crate::keystone::var;

/// A token of Keystone's bootstrap admin (for making domains and projects).
pub async fn admin_token(env: &HashMap<String, String>) -> String {
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": var(env, "KEYSTONE_ADMIN_USER"), "password": var(env, "KEYSTONE_ADMIN_PASSWORD"),
            "domain": {"id": "default"}}}},
        "scope": {"project": {"name": var(env, "KEYSTONE_ADMIN_PROJECT"), "domain": {"id": "default"}}}}});
    let r = reqwest::Client::new()
        .post(format!(
            "{}/v3/auth/tokens?nocatalog",
            var(env, "KEYSTONE_URL")
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.headers()["x-subject-token"].to_str().unwrap().to_owned()
}

/// A request to Keystone's `/v3{path}` with the admin token, asserting success; its JSON (null
/// when there is none).
pub async fn keystone(
    env: &HashMap<String, String>,
    admin: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut rb = reqwest::Client::new()
        .request(method, format!("{}/v3{path}", var(env, "KEYSTONE_URL")))
        .header("X-Auth-Token", admin);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

/// A glint request with the Keystone token `tok` (and a JSON body when given).
pub async fn call(
    app: &TestApp,
    tok: &str,
    method: Method,
    path: &str,
    body: impl Into<Option<Value>>,
) -> (u16, Value) {
    let mut rb = app
        .client
        .request(method, app.url(path))
        .header("X-Auth-Token", tok)
        .header("Accept", "application/json");
    if let Some(b) = body.into() {
        rb = rb.json(&b);
    }
    json(rb.send().await.unwrap()).await
}

/// `POST path` with the token `tok`.
pub async fn post(app: &TestApp, tok: &str, path: &str, body: Value) -> (u16, Value) {
    call(app, tok, Method::POST, path, body).await
}

/// A new shared image named `name`, made with the token `tok`.
pub async fn shared_image(app: &TestApp, tok: &str, name: &str) -> String {
    let (s, v) = post(
        app,
        tok,
        "/v2/images",
        json!({"name": name, "visibility": "shared"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().unwrap().to_owned()
}
