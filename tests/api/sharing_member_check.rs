//! `[glint_sharing] validate_member` (issue 18) against the real Keystone: `exists` refuses a
//! member id Keystone does not know, `enabled` also a disabled project, with a 400 naming the id,
//! on single and batch creates; Keystone down is a 503 and writes nothing.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::helpers::{message, Backend, TestApp};
use crate::keystone::{keystone_config, keystone_env, relay, token, var, FORWARD, REFUSE};
use crate::keystone_calls::{admin_token, post, shared_image};
use glint::domain::member_check::ValidateMember;

/// A new disabled project in Keystone, its id and name (deleted by `drop_project`).
async fn disabled_project(env: &HashMap<String, String>, admin: &str) -> (String, String) {
    let name = format!("glint-disabled-{}", uuid::Uuid::new_v4().simple());
    let r = reqwest::Client::new()
        .post(format!("{}/v3/projects", var(env, "KEYSTONE_URL")))
        .header("X-Auth-Token", admin)
        .json(&json!({"project": {"name": name, "domain_id": "default", "enabled": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    (v["project"]["id"].as_str().unwrap().to_owned(), name)
}

async fn drop_project(env: &HashMap<String, String>, admin: &str, id: &str) {
    let r = reqwest::Client::new()
        .delete(format!("{}/v3/projects/{id}", var(env, "KEYSTONE_URL")))
        .header("X-Auth-Token", admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

fn rows(app: &TestApp, image: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{image}'"
    ))
}

#[actix_web::test]
async fn member_ids_are_checked_in_keystone() {
    let Some(env) = keystone_env() else { return };
    let admin = admin_token(&env).await;
    let (disabled, disabled_name) = disabled_project(&env, &admin).await;
    let alice = token(&env, "alice", Some("alpha")).await;
    let (beta, service) = (
        var(&env, "BETA_PROJECT_ID"),
        var(&env, "SERVICE_PROJECT_ID"),
    );
    for backend in crate::helpers::backends() {
        for mode in [ValidateMember::Exists, ValidateMember::Enabled] {
            let kc = keystone_config(&env, var(&env, "KEYSTONE_URL"));
            let app = TestApp::spawn_with(backend, |c| {
                kc(c);
                c.sharing.enabled = true;
                c.sharing.validate_member = mode;
            })
            .await;
            let img = shared_image(&app, &alice, "checked").await;
            let members = format!("/v2/images/{img}/members");
            let (s, v) = post(&app, &alice, &members, json!({"member": beta})).await;
            assert_eq!(s, 200, "{mode:?}: {v}");
            let (s, v) = post(&app, &alice, &members, json!({"member": "no-such-project"})).await;
            assert_eq!(s, 400, "{mode:?}: {v}");
            assert_eq!(
                message(&v),
                "Member no-such-project is not a project in Keystone: images are shared with \
                 projects by their id"
            );
            let (s, v) = post(&app, &alice, &members, json!({"member": disabled})).await;
            match mode {
                ValidateMember::Exists => assert_eq!(s, 200, "{v}"),
                _ => {
                    assert_eq!(s, 400, "{v}");
                    assert_eq!(
                        message(&v),
                        format!(
                            "Member {disabled} is a disabled project in Keystone and cannot be \
                             shared with"
                        )
                    );
                }
            }
            let expected = if mode == ValidateMember::Exists { 2 } else { 1 };
            assert_eq!(rows(&app, &img), expected, "{mode:?}");
            // Batch: the same checks, per pair.
            let img2 = shared_image(&app, &alice, "checked").await;
            let (s, v) = post(&app, &alice, "/v2/glint/shares", json!({"images": [img2],
                            "targets": {"projects": [beta, "no-such-project", disabled, service,
                                                     {"name": disabled_name, "domain": "default"}]}}))
            .await;
            assert_eq!(s, 200, "{v}");
            let o: Vec<&str> = v["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["outcome"].as_str().unwrap())
                .collect();
            let disabled_outcome = match mode {
                ValidateMember::Exists => "created",
                _ => "unknown_project",
            };
            // The disabled project by name is the same project as by id: decided once.
            assert_eq!(
                o,
                [
                    "created",
                    "unknown_project",
                    disabled_outcome,
                    "created",
                    disabled_outcome
                ],
                "{mode:?}"
            );
            assert_eq!(rows(&app, &img2), expected + 1, "{mode:?}");
        }
    }
    drop_project(&env, &admin, &disabled).await;
}

#[actix_web::test]
async fn keystone_down_is_503_and_nothing_is_written() {
    let Some(env) = keystone_env() else { return };
    let target = var(&env, "KEYSTONE_URL")
        .trim_start_matches("http://")
        .to_owned();
    let (relay_url, mode) = relay(target).await;
    let kc = keystone_config(&env, &relay_url);
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        kc(c);
        c.sharing.enabled = true;
        c.sharing.validate_member = ValidateMember::Exists;
    })
    .await;
    let alice = token(&env, "alice", Some("alpha")).await;
    let beta = var(&env, "BETA_PROJECT_ID");
    // alice's token is validated (and cached) while Keystone answers.
    let img = shared_image(&app, &alice, "checked").await;
    mode.store(REFUSE, Ordering::SeqCst);
    let members = format!("/v2/images/{img}/members");
    let (s, v) = post(&app, &alice, &members, json!({"member": beta})).await;
    assert_eq!(s, 503, "{v}");
    assert_eq!(v["code"], "503 Service Unavailable");
    // Glance's 503 body (the cause, Keystone unreachable, goes to the log, not to the client).
    assert!(
        message(&v).starts_with("The server is currently unavailable"),
        "{v}"
    );
    let (s, v) = post(
        &app,
        &alice,
        "/v2/glint/shares",
        json!({"images": [img], "targets": {"projects": [beta]}}),
    )
    .await;
    assert_eq!(s, 503, "{v}");
    assert_eq!(rows(&app, &img), 0);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_share_events"), 0);
    mode.store(FORWARD, Ordering::SeqCst);
    let (s, v) = post(&app, &alice, &members, json!({"member": beta})).await;
    assert_eq!(s, 200, "recovers: {v}");
}

/// Checking member ids needs Keystone: glint refuses to start with it and noauth.
#[test]
fn validate_member_needs_keystone() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = crate::helpers::test_config(dir.path(), Backend::Sqlite, None);
    c.sharing.validate_member = ValidateMember::Exists;
    // Off with the extensions: nothing to check.
    assert!(glint::startup::check(&c).is_ok());
    c.sharing.enabled = true;
    let e = glint::startup::check(&c).unwrap_err();
    assert!(
        e.starts_with("[glint_sharing] validate_member = exists checks member ids in Keystone"),
        "{e}"
    );
}
