//! `[glint_sharing] cross_domain_requires_domain` (issue 18) against the real Keystone: a share
//! with a project of another domain must name that domain (`os_glint.domain` on a member create,
//! a `{"name", "domain"}` target in a batch), else 400 (`forbidden` in a batch); shares within
//! the owner's domain are unchanged.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{message, TestApp};
use crate::keystone::{keystone_config, keystone_env, token, var};
use crate::keystone_calls::{admin_token, keystone, post, shared_image};

fn outcomes(v: &Value) -> Vec<String> {
    v["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|r| r["outcome"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn a_share_with_another_domain_names_it() {
    let Some(env) = keystone_env() else { return };
    let admin = admin_token(&env).await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let d = keystone(
        &env,
        &admin,
        Method::POST,
        "/domains",
        Some(json!({"domain": {"name": format!("glint-other-{suffix}")}})),
    )
    .await;
    let domain = d["domain"]["id"].as_str().unwrap().to_owned();
    let name = format!("glint-far-{suffix}");
    let p = keystone(
        &env,
        &admin,
        Method::POST,
        "/projects",
        Some(json!({"project": {"name": name, "domain_id": domain}})),
    )
    .await;
    let far = p["project"]["id"].as_str().unwrap().to_owned();
    let alice = token(&env, "alice", Some("alpha")).await;
    let beta = var(&env, "BETA_PROJECT_ID").to_owned();
    let backend = crate::helpers::backends()[0];
    for mode in ["rule", "off", "rail"] {
        let rule = mode == "rule";
        let kc = keystone_config(&env, var(&env, "KEYSTONE_URL"));
        let app = TestApp::spawn_with(backend, |c| {
            kc(c);
            c.sharing.enabled = true;
            c.sharing.cross_domain_requires_domain = rule;
            c.sharing.guardrails.no_outside_domain = mode == "rail";
        })
        .await;
        let img = shared_image(&app, &alice, "cross").await;
        let members = format!("/v2/images/{img}/members");
        // Within the owner's domain: as before.
        let (s, v) = post(&app, &alice, &members, json!({"member": beta})).await;
        assert_eq!(s, 200, "{v}");
        let (s, v) = post(&app, &alice, &members, json!({"member": far})).await;
        if mode == "off" {
            assert_eq!(s, 200, "{v}");
            continue;
        }
        if mode == "rail" {
            // The guardrail: no share outside the domain, named or not.
            assert_eq!(s, 403, "{v}");
            assert!(message(&v).contains("guardrail 'outside_domain'"), "{v}");
            let body = json!({"member": far, "os_glint": {"domain": domain}});
            let (s, v) = post(&app, &alice, &members, body).await;
            assert_eq!(s, 403, "{v}");
            let (s, v) = post(&app, &alice, "/v2/glint/shares", json!({"images": [img], "targets": {"projects": [{"name": name, "domain": domain}]}})).await;
            assert_eq!(s, 200, "{v}");
            assert_eq!(outcomes(&v), ["forbidden"]);
            continue;
        }
        assert_eq!(s, 400, "{v}");
        assert!(message(&v).contains("another domain"), "{v}");
        let (s, v) = post(
            &app,
            &alice,
            &members,
            json!({"member": far, "os_glint": {"domain": "default"}}),
        )
        .await;
        assert_eq!(s, 400, "{v}");
        assert!(message(&v).contains("'default' is not the domain"), "{v}");
        let (s, v) = post(
            &app,
            &alice,
            &members,
            json!({"member": far, "os_glint": {"domain": domain, "note": "hi"}}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["os_glint"], json!({"note": "hi", "state": "active"}));
        // Batch: by id, refused; by name and domain, shared.
        let img2 = shared_image(&app, &alice, "cross").await;
        let (s, v) = post(
            &app,
            &alice,
            "/v2/glint/shares",
            json!({"images": [img2], "targets": {"projects": [far, beta]}}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(outcomes(&v), ["forbidden", "created"]);
        let (s, v) = post(
            &app,
            &alice,
            "/v2/glint/shares",
            json!({"images": [img2], "targets": {"projects": [{"name": name, "domain": domain}]}}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(outcomes(&v), ["created"]);
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{img2}' AND deleted = false"
            )),
            2
        );
    }
    keystone(
        &env,
        &admin,
        Method::DELETE,
        &format!("/projects/{far}"),
        None,
    )
    .await;
    keystone(
        &env,
        &admin,
        Method::PATCH,
        &format!("/domains/{domain}"),
        Some(json!({"domain": {"enabled": false}})),
    )
    .await;
    keystone(
        &env,
        &admin,
        Method::DELETE,
        &format!("/domains/{domain}"),
        None,
    )
    .await;
}
