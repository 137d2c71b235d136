//! Grants (issue 18, `/v2/glint/grants`) against the real Keystone: images granted to a project
//! subtree or a domain reach projects created later (in Keystone, during the test) and images
//! tagged later; consent per project through Glance's member update, or once by an admin of the
//! target domain; revoking removes access everywhere; nothing leaks outside the target; a
//! non-owner cannot see or revoke someone's grant; a grant counts once against
//! `image_member_quota`.

use std::collections::HashMap;
use std::time::Instant;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{json, message, TestApp};
use crate::keystone::{keystone_config, keystone_env, token, var};

/// Keystone's admin API, for making the domains, projects and users a test needs.
pub(crate) struct Ks {
    url: String,
    admin: String,
    http: reqwest::Client,
    member_role: String,
    /// Made here, removed by `cleanup` (children before parents).
    projects: Vec<String>,
    domains: Vec<String>,
    users: Vec<String>,
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

impl Ks {
    pub(crate) async fn new(env: &HashMap<String, String>) -> Ks {
        let url = var(env, "KEYSTONE_URL").to_owned();
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": var(env, "KEYSTONE_ADMIN_USER"),
                "password": var(env, "KEYSTONE_ADMIN_PASSWORD"),
                "domain": {"id": "default"}}}},
            "scope": {"project": {"name": var(env, "KEYSTONE_ADMIN_PROJECT"),
                                  "domain": {"id": "default"}}}}});
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{url}/v3/auth/tokens?nocatalog"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let admin = r.headers()["x-subject-token"].to_str().unwrap().to_owned();
        let roles: Value = http
            .get(format!("{url}/v3/roles?name=member"))
            .header("X-Auth-Token", &admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let member_role = roles["roles"][0]["id"].as_str().unwrap().to_owned();
        Ks {
            url,
            admin,
            http,
            member_role,
            projects: Vec::new(),
            domains: Vec::new(),
            users: Vec::new(),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/v3{path}", self.url))
            .header("X-Auth-Token", &self.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{path}");
        r.json().await.unwrap()
    }

    pub(crate) async fn domain(&mut self) -> String {
        let v = self
            .post(
                "/domains",
                json!({"domain": {"name": unique("glint-grant-d")}}),
            )
            .await;
        let id = v["domain"]["id"].as_str().unwrap().to_owned();
        self.domains.push(id.clone());
        id
    }

    /// A project in `domain`, under `parent` (else top level).
    pub(crate) async fn project(&mut self, domain: &str, parent: Option<&str>) -> String {
        let mut p = json!({"name": unique("glint-grant-p"), "domain_id": domain});
        if let Some(parent) = parent {
            p["parent_id"] = json!(parent);
        }
        let v = self.post("/projects", json!({ "project": p })).await;
        let id = v["project"]["id"].as_str().unwrap().to_owned();
        self.projects.push(id.clone());
        id
    }

    /// A token of a new user with the member role on `project` only.
    pub(crate) async fn member_token(&mut self, project: &str) -> String {
        let name = unique("glint-grant-u");
        let v = self
            .post(
                "/users",
                json!({"user": {"name": name, "password": "pw-grants", "domain_id": "default"}}),
            )
            .await;
        let user = v["user"]["id"].as_str().unwrap().to_owned();
        self.users.push(user.clone());
        let r = self
            .http
            .put(format!(
                "{}/v3/projects/{project}/users/{user}/roles/{}",
                self.url, self.member_role
            ))
            .header("X-Auth-Token", &self.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let auth = json!({"auth": {
            "identity": {"methods": ["password"],
                         "password": {"user": {"id": user, "password": "pw-grants"}}},
            "scope": {"project": {"id": project}}}});
        let r = self
            .http
            .post(format!("{}/v3/auth/tokens?nocatalog", self.url))
            .json(&auth)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.headers()["x-subject-token"].to_str().unwrap().to_owned()
    }

    /// A token of a new user with the role named `role` on `project` only (e.g. `manager`).
    pub(crate) async fn role_token(&mut self, project: &str, role: &str) -> String {
        let roles: Value = self
            .http
            .get(format!("{}/v3/roles?name={role}", self.url))
            .header("X-Auth-Token", &self.admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let role_id = roles["roles"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no role {role} in Keystone"))
            .to_owned();
        let name = unique("glint-role-u");
        let v = self
            .post(
                "/users",
                json!({"user": {"name": name, "password": "pw-grants", "domain_id": "default"}}),
            )
            .await;
        let user = v["user"]["id"].as_str().unwrap().to_owned();
        self.users.push(user.clone());
        let r = self
            .http
            .put(format!(
                "{}/v3/projects/{project}/users/{user}/roles/{role_id}",
                self.url
            ))
            .header("X-Auth-Token", &self.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let auth = json!({"auth": {
            "identity": {"methods": ["password"],
                         "password": {"user": {"id": user, "password": "pw-grants"}}},
            "scope": {"project": {"id": project}}}});
        let r = self
            .http
            .post(format!("{}/v3/auth/tokens?nocatalog", self.url))
            .json(&auth)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.headers()["x-subject-token"].to_str().unwrap().to_owned()
    }

    pub(crate) async fn cleanup(self) {
        let del = |path: String| {
            self.http
                .delete(format!("{}/v3{path}", self.url))
                .header("X-Auth-Token", &self.admin)
                .send()
        };
        for u in &self.users {
            let _ = del(format!("/users/{u}")).await;
        }
        for p in self.projects.iter().rev() {
            let _ = del(format!("/projects/{p}")).await;
        }
        for d in &self.domains {
            let _ = self
                .http
                .patch(format!("{}/v3/domains/{d}", self.url))
                .header("X-Auth-Token", &self.admin)
                .json(&json!({"domain": {"enabled": false}}))
                .send()
                .await;
            let _ = del(format!("/domains/{d}")).await;
        }
    }
}

async fn call(
    app: &TestApp,
    tok: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = app
        .client
        .request(method, app.url(path))
        .header("X-Auth-Token", tok)
        .header("Accept", "application/json");
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    json(rb.send().await.unwrap()).await
}

async fn get(app: &TestApp, tok: &str, path: &str) -> (u16, Value) {
    call(app, tok, Method::GET, path, None).await
}

async fn shared_image(app: &TestApp, tok: &str, extra: Value) -> String {
    let mut body = json!({"name": "granted", "visibility": "shared", "disk_format": "raw",
                          "container_format": "bare"});
    if let (Value::Object(b), Value::Object(x)) = (&mut body, extra) {
        b.extend(x);
    }
    let (s, v) = call(app, tok, Method::POST, "/v2/images", Some(body)).await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

/// Image ids of a list answer.
async fn listed(app: &TestApp, tok: &str, query: &str) -> Vec<String> {
    let (s, v) = get(app, tok, &format!("/v2/images{query}")).await;
    assert_eq!(s, 200, "{v}");
    crate::helpers::image_ids(&v)
}

async fn spawn(
    env: &HashMap<String, String>,
    backend: crate::helpers::Backend,
    quota: i64,
) -> TestApp {
    let kc = keystone_config(env, var(env, "KEYSTONE_URL"));
    TestApp::spawn_with(backend, |c| {
        kc(c);
        c.sharing.enabled = true;
        c.image_member_quota = quota;
    })
    .await
}

fn live_rows(app: &TestApp, image: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) AS n FROM image_members WHERE deleted = false AND image_id = '{image}'"
    ))
}

/// A project subtree: rows for the projects Keystone lists at creation, and for a project created
/// afterwards on its first request; consent through Glance's member update; nothing for a project
/// of the same domain outside the subtree, or for another owner; revoking removes every row.
#[actix_web::test]
async fn subtree_grant_reaches_later_projects_and_revokes_everywhere() {
    let Some(env) = keystone_env() else { return };
    for backend in crate::helpers::backends() {
        let mut ks = Ks::new(&env).await;
        let d = ks.domain().await;
        let parent = ks.project(&d, None).await;
        let child = ks.project(&d, Some(&parent)).await;
        let outsider = ks.project(&d, None).await;
        let child_tok = ks.member_token(&child).await;
        let outsider_tok = ks.member_token(&outsider).await;
        let app = spawn(&env, backend, 128).await;
        let alice = token(&env, "alice", Some("alpha")).await;
        let bob = token(&env, "bob", Some("beta")).await;
        let image = shared_image(&app, &alice, json!({})).await;

        let started = Instant::now();
        let (s, g) = call(
            &app,
            &alice,
            Method::POST,
            "/v2/glint/grants",
            Some(json!({"images": [image], "target": {"project": parent}})),
        )
        .await;
        let took = started.elapsed();
        assert_eq!(s, 201, "{g}");
        eprintln!("grant to a subtree of 2 projects: {took:?}");
        let gid = g["grant"]["id"].as_str().unwrap().to_owned();
        assert_eq!(g["grant"]["members_created"], 2, "{g}");
        assert_eq!(g["grant"]["projects_reached"], 2);
        assert_eq!(
            g["grant"]["target"],
            json!({"project": parent, "subtree": true})
        );
        assert_eq!(g["grant"]["target_domain_id"], json!(d));
        assert_eq!(live_rows(&app, &image), 2);

        // A member row as any other, with where it came from.
        let (s, m) = get(&app, &alice, &format!("/v2/images/{image}/members/{child}")).await;
        assert_eq!(s, 200, "{m}");
        assert_eq!(m["status"], "pending");
        assert_eq!(m["os_glint"]["via"], "grant");
        assert_eq!(m["os_glint"]["grant_id"], json!(gid));
        // Pending: by id and in member_status=pending, not in the default list.
        assert!(listed(&app, &child_tok, "?member_status=pending")
            .await
            .contains(&image));
        assert!(!listed(&app, &child_tok, "").await.contains(&image));
        assert_eq!(
            get(&app, &child_tok, &format!("/v2/images/{image}"))
                .await
                .0,
            200
        );

        // A project created after the grant, below the child: its first request finds it.
        let late = ks.project(&d, Some(&child)).await;
        let late_tok = ks.member_token(&late).await;
        assert!(listed(&app, &late_tok, "?member_status=pending")
            .await
            .contains(&image));
        // Consent as Glance's member update (`image set --accept`, Terraform's accept).
        let (s, v) = call(
            &app,
            &late_tok,
            Method::PUT,
            &format!("/v2/images/{image}/members/{late}"),
            Some(json!({"status": "accepted"})),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert!(listed(&app, &late_tok, "").await.contains(&image));
        assert!(listed(&app, &late_tok, "?visibility=shared")
            .await
            .contains(&image));
        let (s, v) = get(&app, &late_tok, &format!("/v2/images/{image}")).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(live_rows(&app, &image), 3);

        // Outside the subtree (same domain), another project, another owner: nothing.
        for tok in [&outsider_tok, &bob] {
            assert_eq!(get(&app, tok, &format!("/v2/images/{image}")).await.0, 404);
            assert!(!listed(&app, tok, "?member_status=all")
                .await
                .contains(&image));
            assert_eq!(
                get(&app, tok, &format!("/v2/glint/grants/{gid}")).await.0,
                404
            );
            let (s, v) = get(&app, tok, "/v2/glint/grants").await;
            assert_eq!(
                (s, v["grants"].as_array().map(Vec::len)),
                (200, Some(0)),
                "{v}"
            );
            let (s, _) = call(
                &app,
                tok,
                Method::DELETE,
                &format!("/v2/glint/grants/{gid}"),
                None,
            )
            .await;
            assert_eq!(s, 404);
        }
        // A non-owner cannot make a grant of someone else's image.
        let (s, v) = call(
            &app,
            &bob,
            Method::POST,
            "/v2/glint/grants",
            Some(json!({"images": [image], "target": {"project": parent}})),
        )
        .await;
        assert_eq!(s, 404, "{v}");
        // A project the grant reached reads it but may not revoke it.
        assert_eq!(
            get(&app, &child_tok, &format!("/v2/glint/grants/{gid}"))
                .await
                .0,
            200
        );
        let (s, _) = call(
            &app,
            &child_tok,
            Method::DELETE,
            &format!("/v2/glint/grants/{gid}"),
            None,
        )
        .await;
        assert_eq!(s, 403);
        // The owner lists it.
        let (s, v) = get(&app, &alice, "/v2/glint/grants").await;
        assert_eq!(s, 200);
        assert_eq!(v["grants"][0]["id"], json!(gid));
        assert_eq!(v["grants"][0]["projects_reached"], 3);

        // Revoke: every row goes, each with a history event; access ends everywhere.
        let (s, v) = call(
            &app,
            &alice,
            Method::DELETE,
            &format!("/v2/glint/grants/{gid}"),
            None,
        )
        .await;
        assert_eq!(s, 204, "{v}");
        assert_eq!(live_rows(&app, &image), 0);
        for tok in [&child_tok, &late_tok] {
            assert_eq!(get(&app, tok, &format!("/v2/images/{image}")).await.0, 404);
            assert!(!listed(&app, tok, "?member_status=all")
                .await
                .contains(&image));
        }
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM glint_share_events WHERE image_id = '{image}' \
                 AND via = 'grant' AND action = 'member.delete'"
            )),
            3
        );
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_grants"), 0);
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM glint_share_events WHERE image_id = '{image}' \
                 AND via = 'grant' AND action = 'member.create'"
            )),
            3
        );
        assert_eq!(
            get(&app, &alice, &format!("/v2/glint/grants/{gid}"))
                .await
                .0,
            404
        );
        drop(app);
        ks.cleanup().await;
    }
}

/// A domain grant by tag: images tagged later and created with the tag are granted; a project
/// decides for itself; the admin consents once for the whole domain, which new projects and new
/// images inherit.
#[actix_web::test]
async fn domain_grant_by_tag_with_domain_consent() {
    let Some(env) = keystone_env() else { return };
    for backend in crate::helpers::backends() {
        let mut ks = Ks::new(&env).await;
        let d = ks.domain().await;
        let a = ks.project(&d, None).await;
        let b = ks.project(&d, None).await;
        let a_tok = ks.member_token(&a).await;
        let b_tok = ks.member_token(&b).await;
        let app = spawn(&env, backend, 128).await;
        let alice = token(&env, "alice", Some("alpha")).await;
        let adam = token(&env, "adam", Some("alpha")).await;
        let first = shared_image(&app, &alice, json!({"tags": ["golden"]})).await;
        let untagged = shared_image(&app, &alice, json!({})).await;

        let (s, g) = call(
            &app,
            &alice,
            Method::POST,
            "/v2/glint/grants",
            Some(json!({"tag": "golden", "target": {"domain": d}})),
        )
        .await;
        assert_eq!(s, 201, "{g}");
        let gid = g["grant"]["id"].as_str().unwrap().to_owned();
        assert_eq!(g["grant"]["images"], json!([first]));
        assert_eq!(g["grant"]["members_created"], 2);
        assert!(listed(&app, &a_tok, "?member_status=pending")
            .await
            .contains(&first));
        assert!(!listed(&app, &a_tok, "?member_status=all")
            .await
            .contains(&untagged));

        // Project a decides for itself: its own row only.
        let (s, v) = call(
            &app,
            &a_tok,
            Method::PUT,
            &format!("/v2/glint/grants/{gid}/decision"),
            Some(json!({"status": "rejected"})),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["members_changed"], 1);
        assert_eq!(v["grant"]["decision"], Value::Null);
        assert!(listed(&app, &a_tok, "?member_status=rejected")
            .await
            .contains(&first));
        assert!(listed(&app, &b_tok, "?member_status=pending")
            .await
            .contains(&first));
        // Bad decisions are 400s.
        let (s, v) = call(
            &app,
            &adam,
            Method::PUT,
            &format!("/v2/glint/grants/{gid}/decision"),
            Some(json!({"status": "pending"})),
        )
        .await;
        assert_eq!(s, 400, "{v}");
        assert!(message(&v).contains("accepted"), "{v}");

        // The domain's admin consents once for every project of the target.
        let (s, v) = call(
            &app,
            &adam,
            Method::PUT,
            &format!("/v2/glint/grants/{gid}/decision"),
            Some(json!({"status": "accepted"})),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["grant"]["decision"], "accepted");
        // The open offer (b's) is accepted; a's own decision stands.
        assert_eq!(v["members_changed"], 1);
        assert!(listed(&app, &a_tok, "?member_status=rejected")
            .await
            .contains(&first));
        assert!(listed(&app, &b_tok, "").await.contains(&first));

        // An image created with the tag, and one tagged later: granted, already consented.
        let born = shared_image(&app, &alice, json!({"tags": ["golden"]})).await;
        let (s, _) = call(
            &app,
            &alice,
            Method::PUT,
            &format!("/v2/images/{untagged}/tags/golden"),
            None,
        )
        .await;
        assert_eq!(s, 204);
        for tok in [&a_tok, &b_tok] {
            let seen = listed(&app, tok, "").await;
            assert!(seen.contains(&born) && seen.contains(&untagged), "{seen:?}");
        }
        // A project created now inherits the domain's consent.
        let late = ks.project(&d, None).await;
        let late_tok = ks.member_token(&late).await;
        let seen = listed(&app, &late_tok, "").await;
        for i in [&first, &born, &untagged] {
            assert!(seen.contains(i), "{seen:?}");
        }
        let (s, m) = get(
            &app,
            &late_tok,
            &format!("/v2/images/{born}/members/{late}"),
        )
        .await;
        assert_eq!(s, 200, "{m}");
        assert_eq!(m["status"], "accepted");
        // A project outside the domain sees none of it.
        let bob = token(&env, "bob", Some("beta")).await;
        let seen = listed(&app, &bob, "?member_status=all").await;
        for i in [&first, &born, &untagged] {
            assert!(!seen.contains(i));
        }
        drop(app);
        ks.cleanup().await;
    }
}

/// `image_member_quota` counts a grant once, however many projects it reaches.
#[actix_web::test]
async fn a_grant_counts_once_against_the_member_quota() {
    let Some(env) = keystone_env() else { return };
    for backend in crate::helpers::backends() {
        let mut ks = Ks::new(&env).await;
        let d = ks.domain().await;
        let parent = ks.project(&d, None).await;
        for _ in 0..3 {
            ks.project(&d, Some(&parent)).await;
        }
        let app = spawn(&env, backend, 2).await;
        let alice = token(&env, "alice", Some("alpha")).await;
        let image = shared_image(&app, &alice, json!({})).await;
        let (s, g) = call(
            &app,
            &alice,
            Method::POST,
            "/v2/glint/grants",
            Some(json!({"images": [image], "target": {"project": parent}})),
        )
        .await;
        assert_eq!(s, 201, "{g}");
        assert_eq!(g["grant"]["members_created"], 4);
        // Four rows, one grant: one direct member still fits, a second does not.
        let beta = var(&env, "BETA_PROJECT_ID");
        let (s, v) = call(
            &app,
            &alice,
            Method::POST,
            &format!("/v2/images/{image}/members"),
            Some(json!({"member": beta})),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let (s, v) = call(
            &app,
            &alice,
            Method::POST,
            &format!("/v2/images/{image}/members"),
            Some(json!({"member": "someone-else"})),
        )
        .await;
        assert_eq!(s, 413, "{v}");
        // A second grant of the image would be a third member.
        let (s, v) = call(
            &app,
            &alice,
            Method::POST,
            "/v2/glint/grants",
            Some(json!({"images": [image], "target": {"domain": d}})),
        )
        .await;
        assert_eq!(s, 413, "{v}");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_grants"), 1);
        drop(app);
        ks.cleanup().await;
    }
}

crate::backend_test!(
    grants_answer_404_with_the_extensions_off_and_400_without_keystone,
    config = |c| c.sharing.enabled = false,
    |app| async move {
        let owner = app.caller("owner", "member");
        let (s, _) = json(owner.get("/v2/glint/grants").await).await;
        assert_eq!(s, 404);
        let (s, _) = json(
            owner
                .post(
                    "/v2/glint/grants",
                    &json!({"tag": "t", "target": {"domain": "d"}}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 404);
    }
);

crate::backend_test!(
    grants_need_keystone_and_a_valid_body,
    config = |c| c.sharing.enabled = true,
    |app| async move {
        let owner = app.caller("owner", "member");
        let (s, v) = json(
            owner
                .post(
                    "/v2/glint/grants",
                    &json!({"tag": "t", "target": {"domain": "d"}}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 400, "{v}");
        assert!(message(&v).contains("Keystone"), "{v}");
        let (s, v) = json(
            owner
                .post(
                    "/v2/glint/grants",
                    &json!({"tag": "t", "images": ["x"], "target": {"domain": "d"}}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 400, "{v}");
        let (s, v) = json(owner.get("/v2/glint/grants/nope").await).await;
        assert_eq!(s, 404, "{v}");
        let (s, v) = json(owner.get("/v2/glint/grants").await).await;
        assert_eq!((s, v), (200, json!({"grants": []})));
    }
);

/// A grant to a domain of many projects (`GLINT_GRANT_PROJECTS`, default 20) and two images:
/// one row per (image, project), each project sees both, revoking removes them all. Prints the
/// time of the create and the revoke (the figures in README).
#[actix_web::test]
async fn grant_to_a_domain_of_many_projects() {
    let Some(env) = keystone_env() else { return };
    let n: usize = std::env::var("GLINT_GRANT_PROJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut ks = Ks::new(&env).await;
    let d = ks.domain().await;
    let mut projects = Vec::new();
    for _ in 0..n {
        projects.push(ks.project(&d, None).await);
    }
    let last_tok = ks.member_token(&projects[n - 1]).await;
    for backend in crate::helpers::backends() {
        let app = spawn(&env, backend, 128).await;
        let alice = token(&env, "alice", Some("alpha")).await;
        let images = [
            shared_image(&app, &alice, json!({})).await,
            shared_image(&app, &alice, json!({})).await,
        ];
        let started = Instant::now();
        let (s, g) = call(
            &app,
            &alice,
            Method::POST,
            "/v2/glint/grants",
            Some(json!({"images": images, "target": {"domain": d}})),
        )
        .await;
        let create = started.elapsed();
        assert_eq!(s, 201, "{g}");
        assert_eq!(g["grant"]["members_created"], json!(2 * n));
        let seen = listed(&app, &last_tok, "?member_status=pending").await;
        assert!(images.iter().all(|i| seen.contains(i)), "{seen:?}");
        let gid = g["grant"]["id"].as_str().unwrap();
        let started = Instant::now();
        let (s, _) = call(
            &app,
            &alice,
            Method::DELETE,
            &format!("/v2/glint/grants/{gid}"),
            None,
        )
        .await;
        let revoke = started.elapsed();
        assert_eq!(s, 204);
        assert_eq!(live_rows(&app, &images[0]) + live_rows(&app, &images[1]), 0);
        eprintln!(
            "{backend:?}: grant of 2 images to a domain of {n} projects: create {create:?}, \
             revoke {revoke:?}"
        );
    }
    ks.cleanup().await;
}

/// A recipient's trust policy applies to grant rows as to any offer: a project that trusts the
/// owner gets the grant `accepted` on arrival; one that rejects untrusted offers gets no row.
#[actix_web::test]
async fn trust_policies_decide_grant_rows_on_arrival() {
    let Some(env) = keystone_env() else { return };
    for backend in crate::helpers::backends() {
        let mut ks = Ks::new(&env).await;
        let d = ks.domain().await;
        let trusting = ks.project(&d, None).await;
        let refusing = ks.project(&d, None).await;
        let plain = ks.project(&d, None).await;
        let trusting_tok = ks.member_token(&trusting).await;
        let refusing_tok = ks.member_token(&refusing).await;
        let app = spawn(&env, backend, 128).await;
        let alpha = var(&env, "ALPHA_PROJECT_ID");
        for (p, tok, policy) in [
            (
                &trusting,
                &trusting_tok,
                json!({"auto_accept": {"owners": [alpha]}}),
            ),
            (&refusing, &refusing_tok, json!({"untrusted": "reject"})),
        ] {
            let (s, v) = call(
                &app,
                tok,
                Method::PUT,
                &format!("/v2/glint/projects/{p}/share-policy"),
                Some(policy),
            )
            .await;
            assert_eq!(s, 200, "{v}");
        }
        let alice = token(&env, "alice", Some("alpha")).await;
        let image = shared_image(&app, &alice, json!({})).await;
        let (s, g) = call(
            &app,
            &alice,
            Method::POST,
            "/v2/glint/grants",
            Some(json!({"images": [image], "target": {"domain": d}})),
        )
        .await;
        assert_eq!(s, 201, "{g}");
        assert_eq!(g["grant"]["members_created"], 2, "{g}");
        let status = |p: &str| {
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_members WHERE deleted = false \
                 AND image_id = '{image}' AND member = '{p}' AND status = 'accepted'"
            ))
        };
        assert_eq!(status(&trusting), 1);
        assert_eq!(status(&plain), 0);
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM image_members WHERE image_id = '{image}' \
                 AND member = '{refusing}'"
            )),
            0
        );
        assert!(listed(&app, &trusting_tok, "").await.contains(&image));
        assert_eq!(
            get(&app, &refusing_tok, &format!("/v2/images/{image}"))
                .await
                .0,
            404
        );
        drop(app);
        ks.cleanup().await;
    }
}
