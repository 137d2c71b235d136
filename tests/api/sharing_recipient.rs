//! The recipient's side of issue 17, last parts: the owner project's name in inbox items (learnt
//! from tokens glint validated, read a page at a time), `os_glint.last_download_at` (written at
//! most once a minute per share, seen by both sides), and trust-policy changes in the history
//! (read by the project and admins, never by the owners the policy names).

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{json, Caller, TestApp};
use crate::keystone::{keystone_config, keystone_env, token, var};

async fn shared_image(c: &Caller<'_>, name: &str) -> String {
    c.create_image(
        json!({"name": name, "visibility": "shared", "disk_format": "raw",
                          "container_format": "bare"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn get(c: &Caller<'_>, path: &str) -> Value {
    let (s, v) = json(c.get(path).await).await;
    assert_eq!(s, 200, "{path}: {v}");
    v
}

/// Polls `probe` until it answers `Some` (the bookkeeping is written off the request's path).
async fn eventually<T, F, Fut>(what: &str, probe: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..100 {
        if let Some(v) = probe().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: not within 5 s");
}

crate::backend_test!(
    inbox_items_name_the_owner_once_glint_has_seen_it,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let (owner, other, member) = (
            app.caller("p1", "member"),
            app.caller("p3", "member"),
            app.caller("p2", "member"),
        );
        let a = shared_image(&owner, "a").await;
        let b = shared_image(&other, "b").await;
        for (c, id) in [(&owner, &a), (&other, &b)] {
            c.add_member(id, "p2").await;
        }
        // Nothing known yet: the items carry the owner's id alone.
        let v = get(&member, "/v2/glint/inbox").await;
        assert_eq!(v["shares"].as_array().unwrap().len(), 2, "{v}");
        for sh in v["shares"].as_array().unwrap() {
            assert!(sh["image"].get("owner_name").is_none(), "{sh}");
        }
        // glint learns p1's name (as from a token); p3 stays unknown.
        glint::service::project_names::seen(&app.state, "p1", "build", Some("d1"));
        let v = eventually("p1's name in the inbox", || async {
            let v = get(&member, "/v2/glint/inbox").await;
            let named = v["shares"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["image"].get("owner_name").is_some());
            named.then_some(v)
        })
        .await;
        for sh in v["shares"].as_array().unwrap() {
            let img = &sh["image"];
            match img["owner"].as_str().unwrap() {
                "p1" => {
                    assert_eq!(img["owner_name"], "build", "{sh}");
                    assert_eq!(img["owner_domain_id"], "d1", "{sh}");
                }
                _ => assert!(img.get("owner_name").is_none(), "{sh}"),
            }
        }
        // A rename is recorded at once (the hourly throttle is per name), in the one row.
        glint::service::project_names::seen(&app.state, "p1", "build-2", Some("d1"));
        eventually("the new name", || async {
            let v = get(&member, "/v2/glint/inbox?owner=p1").await;
            (v["shares"][0]["image"]["owner_name"] == "build-2").then_some(())
        })
        .await;
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM glint_project_names"),
            1
        );
    }
);

crate::backend_test!(
    names_are_not_recorded_with_the_extensions_off,
    |app| async move {
        glint::service::project_names::seen(&app.state, "p1", "build", None);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM glint_project_names"),
            0
        );
    }
);

/// Against the real Keystone: the owner's name comes from the owner's own token, validated once.
#[actix_web::test]
async fn owner_names_come_from_validated_tokens() {
    let Some(env) = keystone_env() else { return };
    for backend in crate::helpers::backends() {
        let tweak = keystone_config(&env, var(&env, "KEYSTONE_URL"));
        let app = TestApp::spawn_with(backend, |c| {
            tweak(c);
            c.sharing.enabled = true;
        })
        .await;
        let beta = var(&env, "BETA_PROJECT_ID").to_owned();
        let alice = token(&env, "alice", Some("alpha")).await;
        let bob = token(&env, "bob", Some("beta")).await;
        let call = |t: &str, m: Method, path: &str, body: Option<Value>| {
            let mut rb = app
                .client
                .request(m, app.url(path))
                .header("X-Auth-Token", t);
            if let Some(b) = body {
                rb = rb.json(&b);
            }
            async move { json(rb.send().await.unwrap()).await }
        };
        let (s, img) = call(
            &alice,
            Method::POST,
            "/v2/images",
            Some(json!({"name": "k", "visibility": "shared"})),
        )
        .await;
        assert_eq!(s, 201, "{img}");
        let id = img["id"].as_str().unwrap().to_owned();
        let (s, v) = call(
            &alice,
            Method::POST,
            &format!("/v2/images/{id}/members"),
            Some(json!({"member": beta})),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let item = eventually("alpha's name", || async {
            let (s, v) = call(&bob, Method::GET, "/v2/glint/inbox", None).await;
            assert_eq!(s, 200, "{v}");
            let img = v["shares"][0]["image"].clone();
            img.get("owner_name").is_some().then_some(img)
        })
        .await;
        assert_eq!(item["owner"], var(&env, "ALPHA_PROJECT_ID"));
        assert_eq!(item["owner_name"], "alpha");
        assert_eq!(item["owner_domain_id"], "default");
        // Both projects were seen, one row each however many requests their tokens made.
        eventually("beta's name", || async {
            (app.count("SELECT COUNT(*) AS n FROM glint_project_names") == 2).then_some(())
        })
        .await;
    }
}

crate::backend_test!(
    a_members_download_is_noted_at_most_once_a_minute,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let (owner, member) = (app.caller("p1", "member"), app.caller("p2", "member"));
        let id = shared_image(&owner, "d").await;
        assert_eq!(owner.upload(&id, b"data".to_vec()).await.status(), 204);
        owner.add_member(&id, "p2").await;
        let m = get(&member, &format!("/v2/images/{id}/members/p2")).await;
        assert!(m.get("os_glint").is_none(), "never downloaded: {m}");
        // The owner's own downloads are not the member's.
        assert_eq!(
            owner.get(&format!("/v2/images/{id}/file")).await.status(),
            200
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_member_ext"), 0);
        // The member's first download is noted, for both sides.
        let before = chrono::Utc::now().timestamp();
        let r = member.get(&format!("/v2/images/{id}/file")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap().as_ref(), b"data");
        let at = eventually("last_download_at", || async {
            let m = get(&member, &format!("/v2/images/{id}/members/p2")).await;
            m["os_glint"]["last_download_at"]
                .as_str()
                .map(str::to_owned)
        })
        .await;
        let t = chrono::DateTime::parse_from_rfc3339(&at)
            .unwrap()
            .timestamp();
        assert!(t >= before - 1, "{at}");
        let listed = get(&owner, &format!("/v2/images/{id}/members")).await;
        assert_eq!(
            listed["members"][0]["os_glint"]["last_download_at"],
            at.as_str()
        );
        assert_eq!(listed["members"][0]["os_glint"]["state"], "active");
        let inbox = get(&member, "/v2/glint/inbox?status=all").await;
        assert_eq!(
            inbox["shares"][0]["member"]["os_glint"]["last_download_at"],
            at.as_str()
        );
        // Within the minute, further downloads write nothing: the stored time stays.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        for _ in 0..3 {
            assert_eq!(
                member.get(&format!("/v2/images/{id}/file")).await.status(),
                200
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let m = get(&member, &format!("/v2/images/{id}/members/p2")).await;
        assert_eq!(m["os_glint"]["last_download_at"], at.as_str());
        // The owner's later change of the note keeps it.
        let (s, v) = json(
            owner
                .put(
                    &format!("/v2/glint/images/{id}/members/p2"),
                    &json!({"os_glint": {"note": "n"}}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["os_glint"]["last_download_at"], at.as_str());
        assert_eq!(v["os_glint"]["note"], "n");
        // The sharing history does not count downloads.
        let evs = get(&owner, &format!("/v2/glint/share-events?image_id={id}")).await;
        let actions: Vec<&str> = evs["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["member.create", "member.change"]);
    }
);

crate::backend_test!(
    downloads_write_nothing_with_the_extensions_off,
    |app| async move {
        let (owner, member) = (app.caller("p1", "member"), app.caller("p2", "member"));
        let id = shared_image(&owner, "d").await;
        assert_eq!(owner.upload(&id, b"data".to_vec()).await.status(), 204);
        assert_eq!(
            owner
                .post(
                    &format!("/v2/images/{id}/members"),
                    &json!({"member": "p2"})
                )
                .await
                .status(),
            200
        );
        assert_eq!(
            member.get(&format!("/v2/images/{id}/file")).await.status(),
            200
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_member_ext"), 0);
        let m = get(&member, &format!("/v2/images/{id}/members/p2")).await;
        assert!(m.get("os_glint").is_none(), "{m}");
    }
);

async fn set_policy(c: &Caller<'_>, project: &str, body: Value) -> (u16, Value) {
    let r = c
        .request(
            Method::PUT,
            &format!("/v2/glint/projects/{project}/share-policy"),
        )
        .header("X-Project-Domain-Id", "d2")
        .json(&body)
        .send()
        .await
        .unwrap();
    json(r).await
}

fn policy_events(v: &Value) -> Vec<Value> {
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "share_policy.update")
        .cloned()
        .collect()
}

crate::backend_test!(
    trust_policy_changes_are_history_for_the_project_and_admins_only,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let recipient = app.caller("p2", "member");
        let trusted_owner = app.caller("p1", "member");
        let admin = app.caller("adm", "admin");
        let first = json!({"auto_accept": {"owners": ["p1"]}, "untrusted": "hide"});
        let r = recipient
            .request(Method::PUT, "/v2/glint/projects/p2/share-policy")
            .header("X-Openstack-Request-Id", "req-policy-1")
            .json(&first)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // The same policy again is no change; a different one is.
        assert_eq!(set_policy(&recipient, "p2", first.clone()).await.0, 200);
        assert_eq!(
            set_policy(
                &recipient,
                "p2",
                json!({"untrusted": "reject", "mode": "audit"})
            )
            .await
            .0,
            200
        );
        let evs = policy_events(&get(&recipient, "/v2/glint/share-events").await);
        assert_eq!(evs.len(), 2, "{evs:?}");
        let e = &evs[0];
        assert_eq!(e["image_id"], Value::Null);
        assert_eq!(e["owner"], Value::Null);
        assert_eq!(e["member_id"], "p2");
        assert_eq!(e["via"], "direct");
        assert_eq!(e["actor"]["project_id"], "p2");
        assert_eq!(e["request_id"], "req-policy-1");
        assert_eq!(e["from"], Value::Null, "never set before");
        assert_eq!(
            e["to"],
            json!({"auto_accept": {"owners": ["p1"], "domains": [], "same_domain": false},
                   "untrusted": "hide", "mode": "enforce"})
        );
        assert_eq!(evs[1]["from"], e["to"]);
        assert_eq!(evs[1]["to"]["untrusted"], "reject");
        assert_eq!(evs[1]["to"]["mode"], "audit");
        // An admin changing it is recorded as the admin; the filter by member finds them.
        assert_eq!(set_policy(&admin, "p2", json!({})).await.0, 200);
        let evs = policy_events(&get(&admin, "/v2/glint/share-events?member_id=p2").await);
        assert_eq!(evs.len(), 3);
        assert_eq!(evs[2]["actor"]["project_id"], "adm");
        assert_eq!(evs[2]["to"]["untrusted"], "allow");
        // The owner the policy trusted, and a stranger, read none of it, even by naming p2.
        for c in [&trusted_owner, &app.caller("p9", "member")] {
            let v = get(c, "/v2/glint/share-events").await;
            assert!(policy_events(&v).is_empty(), "{v}");
            let v = get(c, "/v2/glint/share-events?member_id=p2").await;
            assert_eq!(v["events"], json!([]), "{v}");
        }
        // The owner may not set the policy (nothing recorded for its attempt), nor may a reader.
        let (s, _) = set_policy(&trusted_owner, "p2", json!({"untrusted": "allow"})).await;
        assert_eq!(s, 403);
        let (s, _) = set_policy(
            &app.caller("p2", "reader"),
            "p2",
            json!({"untrusted": "hide"}),
        )
        .await;
        assert_eq!(s, 403);
        let evs = policy_events(&get(&admin, "/v2/glint/share-events").await);
        assert_eq!(evs.len(), 3);
        // An image filter never matches a policy event.
        let v = get(&recipient, "/v2/glint/share-events?image_id=x").await;
        assert_eq!(v["events"], json!([]));
    }
);
