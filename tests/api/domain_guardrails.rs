//! Per-domain guardrails (issue 18, `/v2/glint/domains/{domain_id}/guardrails`) against the real
//! Keystone, on each backend: set by the domain's manager (or an admin), never by a plain
//! member or another domain's manager; enforced on the domain's projects only (visibility on
//! create, shares outside the domain by member create, batch and grant), on top of the
//! operator's guardrails, which a domain cannot relax; each change in the history, the
//! database and on the bus.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{json, message, TestApp};
use crate::keystone::{keystone_config, keystone_env, token};
use crate::notifications::{Listener, BROKER};
use crate::sharing_grants::Ks;

async fn call(app: &TestApp, tok: &str, method: Method, path: &str, body: Value) -> (u16, Value) {
    let mut rb = app
        .client
        .request(method.clone(), app.url(path))
        .header("X-Auth-Token", tok)
        .header("Accept", "application/json");
    if method != Method::GET {
        rb = rb.json(&body);
    }
    json(rb.send().await.unwrap()).await
}

async fn image(app: &TestApp, tok: &str, visibility: &str) -> (u16, Value) {
    let body = json!({"name": "railed", "visibility": visibility});
    call(app, tok, Method::POST, "/v2/images", body).await
}

/// The next notification of type `event` on the bus (others, from images and shares, pass).
async fn next_event(bus: &mut Listener, event: &str) -> Value {
    for _ in 0..50 {
        let m = bus.message().await;
        if m["event_type"] == event {
            return m;
        }
    }
    panic!("no {event} among the next 50 notifications");
}

fn rails_path(domain: &str) -> String {
    format!("/v2/glint/domains/{domain}/guardrails")
}

#[actix_web::test]
async fn off_the_route_is_an_unknown_path() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let c = app.caller("p1", "admin");
    for r in [
        c.get(&rails_path("d1")).await,
        c.put(&rails_path("d1"), &json!({"guardrails": ["public"]}))
            .await,
    ] {
        assert_eq!(r.status(), 404);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM glint_domain_guardrails"),
        0
    );
}

#[actix_web::test]
async fn a_domain_manager_sets_guardrails_its_projects_meet() {
    let Some(env) = keystone_env() else { return };
    let mut ks = Ks::new(&env).await;
    let da = ks.domain().await;
    let db = ks.domain().await;
    let a1 = ks.project(&da, None).await;
    let a2 = ks.project(&da, None).await;
    let b1 = ks.project(&db, None).await;
    let a1_member = ks.member_token(&a1).await;
    let a1_manager = ks.role_token(&a1, "manager").await;
    let a1_admin = ks.role_token(&a1, "admin").await;
    let b1_member = ks.member_token(&b1).await;
    // A cloud admin in a project of the default domain, which sets no guardrails.
    let adam = token(&env, "adam", Some("alpha")).await;
    for backend in crate::helpers::backends() {
        let Some(mut bus) = Listener::start().await else {
            return;
        };
        let kc = keystone_config(&env, crate::keystone::var(&env, "KEYSTONE_URL"));
        let app = TestApp::spawn_with(backend, |c| {
            kc(c);
            c.sharing.enabled = true;
            c.sharing.guardrails.no_community = true;
            bus.configure(c, &format!("rabbit://guest:guest@{BROKER}/"), 100);
        })
        .await;
        let path = rails_path(&da);
        let r = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 401);

        // Read by the domain's projects: nothing set, the operator's shown beside.
        let (s, v) = call(&app, &a1_member, Method::GET, &path, Value::Null).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v,
            json!({"domain_id": da, "guardrails": [], "operator": ["community"],
                   "updated_at": null, "updated_by": null})
        );
        let (s, v) = call(&app, &b1_member, Method::GET, &path, Value::Null).await;
        assert_eq!(s, 403, "{v}");

        // Set neither by a plain member, nor by another domain's manager.
        let body = json!({"guardrails": ["public", "outside_domain"]});
        let (s, v) = call(&app, &a1_member, Method::PUT, &path, body.clone()).await;
        assert_eq!(s, 403, "{v}");
        let (s, v) = call(
            &app,
            &a1_manager,
            Method::PUT,
            &rails_path(&db),
            body.clone(),
        )
        .await;
        assert_eq!(s, 403, "{v}");
        let (s, v) = call(
            &app,
            &adam,
            Method::PUT,
            &path,
            json!({"guardrails": ["x"]}),
        )
        .await;
        assert_eq!(s, 400, "{v}");
        let missing = rails_path("no-such-domain");
        let (s, v) = call(&app, &adam, Method::PUT, &missing, body.clone()).await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(
            app.count("SELECT COUNT(*) AS n FROM glint_domain_guardrails"),
            0
        );

        // The domain's manager sets them.
        let (s, v) = call(&app, &a1_manager, Method::PUT, &path, body.clone()).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["guardrails"], json!(["public", "outside_domain"]));
        assert_eq!(v["operator"], json!(["community"]));
        let setter = v["updated_by"].as_str().unwrap().to_owned();
        assert!(v["updated_at"].is_string(), "{v}");
        let m = next_event(&mut bus, "glint.domain.guardrails.update").await;
        assert_eq!(m["payload"]["domain_id"], json!(da));
        assert_eq!(
            m["payload"]["guardrails"],
            json!(["public", "outside_domain"])
        );
        assert_eq!(m["payload"]["previous"], json!([]));
        assert_eq!(m["payload"]["user_id"], json!(setter));
        // The same set again changes nothing in the history.
        let (s, v) = call(&app, &a1_manager, Method::PUT, &path, body.clone()).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM glint_domain_guardrails WHERE domain_id = '{da}' \
                 AND guardrails = 'public,outside_domain' AND updated_by = '{setter}'"
            )),
            1
        );
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM glint_share_events WHERE action = 'guardrails.update' \
                 AND member = '{da}' AND actor_user = '{setter}' AND image_id = ''"
            )),
            1
        );
        let (s, v) = call(
            &app,
            &adam,
            Method::GET,
            &format!("/v2/glint/share-events?member_id={da}"),
            Value::Null,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let ev = &v["events"][0];
        assert_eq!(ev["action"], "guardrails.update", "{v}");
        assert_eq!(ev["from"], json!({"guardrails": []}));
        assert_eq!(
            ev["to"],
            json!({"guardrails": ["public", "outside_domain"]})
        );

        // `public`: an admin acting in a project of the domain is refused; in another, not.
        let (s, v) = image(&app, &a1_admin, "public").await;
        assert_eq!(s, 403, "{v}");
        assert!(
            message(&v).contains(&format!("guardrail 'public' of domain {da}")),
            "{v}"
        );
        let (s, v) = image(&app, &adam, "public").await;
        assert_eq!(s, 201, "{v}");
        // PATCH to public: the same refusal.
        let (s, v) = image(&app, &a1_admin, "private").await;
        assert_eq!(s, 201, "{v}");
        let id = v["id"].as_str().unwrap().to_owned();
        let r = app
            .client
            .patch(app.url(&format!("/v2/images/{id}")))
            .header("X-Auth-Token", &a1_admin)
            .header("Accept", "application/json")
            .header(
                "Content-Type",
                "application/openstack-images-v2.1-json-patch",
            )
            .body(r#"[{"op": "replace", "path": "/visibility", "value": "public"}]"#)
            .send()
            .await
            .unwrap();
        let (s, v) = json(r).await;
        assert_eq!(s, 403, "{v}");
        assert!(message(&v).contains("of domain"), "{v}");

        // The operator's `community` holds whatever the domain sets: it cannot be relaxed.
        let (s, v) = image(&app, &a1_member, "community").await;
        assert_eq!(s, 403, "{v}");
        assert!(message(&v).contains("[glint_sharing] guardrails"), "{v}");

        // `outside_domain`: a share with another domain's project is refused, within is not.
        let (s, v) = image(&app, &a1_member, "shared").await;
        assert_eq!(s, 201, "{v}");
        let img = v["id"].as_str().unwrap().to_owned();
        let members = format!("/v2/images/{img}/members");
        let (s, v) = call(
            &app,
            &a1_member,
            Method::POST,
            &members,
            json!({"member": a2}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let (s, v) = call(
            &app,
            &a1_member,
            Method::POST,
            &members,
            json!({"member": b1}),
        )
        .await;
        assert_eq!(s, 403, "{v}");
        assert!(
            message(&v).contains(&format!("guardrail 'outside_domain' of domain {da}")),
            "{v}"
        );
        let (s, v) = image(&app, &a1_member, "shared").await;
        assert_eq!(s, 201, "{v}");
        let img2 = v["id"].as_str().unwrap().to_owned();
        let batch = json!({"images": [img2], "targets": {"projects": [b1, a2]}});
        let (s, v) = call(&app, &a1_member, Method::POST, "/v2/glint/shares", batch).await;
        assert_eq!(s, 200, "{v}");
        let outcomes: Vec<&str> = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes, ["forbidden", "created"], "{v}");
        let grant = json!({"images": [img2], "target": {"domain": db}});
        let (s, v) = call(&app, &a1_member, Method::POST, "/v2/glint/grants", grant).await;
        assert_eq!(s, 403, "{v}");
        assert!(message(&v).contains("'outside_domain' of domain"), "{v}");
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_members WHERE deleted = false \
                 AND member = '{b1}'"
            )),
            0
        );
        // Another domain's project is not held by domain A's guardrails.
        let (s, v) = image(&app, &b1_member, "shared").await;
        assert_eq!(s, 201, "{v}");
        let theirs = v["id"].as_str().unwrap().to_owned();
        let (s, v) = call(
            &app,
            &b1_member,
            Method::POST,
            &format!("/v2/images/{theirs}/members"),
            json!({"member": a1}),
        )
        .await;
        assert_eq!(s, 200, "{v}");

        // Cleared by the manager: the domain's guardrails no longer hold, the operator's do.
        let (s, v) = call(
            &app,
            &a1_manager,
            Method::PUT,
            &path,
            json!({"guardrails": []}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["guardrails"], json!([]));
        let m = next_event(&mut bus, "glint.domain.guardrails.update").await;
        assert_eq!(
            m["payload"]["previous"],
            json!(["public", "outside_domain"])
        );
        let (s, v) = call(
            &app,
            &a1_member,
            Method::POST,
            &members,
            json!({"member": b1}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let (s, v) = image(&app, &a1_member, "community").await;
        assert_eq!(s, 403, "{v}");
        bus.finish().await;
    }
    ks.cleanup().await;
}
