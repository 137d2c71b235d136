//! Grants (issue 18, `/v2/glint/grants`) against the real Keystone: images granted to a project
//! subtree or a domain reach projects created later (in Keystone, during the test) and images
//! tagged later; consent per project through Glance's member update, or once by an admin of the
//! target domain; revoking removes access everywhere; nothing leaks outside the target; a
//! non-owner cannot see or revoke someone's grant; a grant counts once against
//! `image_member_quota`; a tag grant withdraws an image that loses its tag; a row two grants
//! cover outlives the revoke of one. `World` and the small request helpers below hold the
//! setup every test repeated.

use std::collections::HashMap;
use std::time::Instant;

use reqwest::Method;
use serde_json::{json, Value};

use glint::config::Config;

use crate::helpers::{json, message, TestApp};
use crate::keystone::{keystone_config, keystone_env, token, var};
use crate::notifications::{assert_envelope, Listener, BROKER};

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
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let kc = keystone_config(env, var(env, "KEYSTONE_URL"));
    TestApp::spawn_with(backend, |c| {
        kc(c);
        c.sharing.enabled = true;
        c.image_member_quota = 128;
        tweak(c);
    })
    .await
}

fn live_rows(app: &TestApp, image: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) AS n FROM image_members WHERE deleted = false AND image_id = '{image}'"
    ))
}

/// History events of `action` that grants recorded for `image`.
fn grant_events(app: &TestApp, image: &str, action: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) AS n FROM glint_share_events WHERE image_id = '{image}' \
         AND via = 'grant' AND action = '{action}'"
    ))
}

/// The rows of `image` that name the grant `gid` (`glint_member_ext.grant_id`).
fn rows_of_grant(app: &TestApp, image: &str, gid: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) AS n FROM glint_member_ext WHERE image_id = '{image}' \
         AND grant_id = '{gid}'"
    ))
}

/// One backend's world: the Keystone objects a test makes (a fresh domain `d`), glint with the
/// sharing extensions on against that Keystone, and alice (project alpha, the images' owner).
struct World {
    ks: Ks,
    d: String,
    app: TestApp,
    alice: String,
}

impl World {
    async fn new(env: &HashMap<String, String>, backend: crate::helpers::Backend) -> World {
        World::with(env, backend, |_| ()).await
    }

    async fn with(
        env: &HashMap<String, String>,
        backend: crate::helpers::Backend,
        tweak: impl FnOnce(&mut Config),
    ) -> World {
        let mut ks = Ks::new(env).await;
        let d = ks.domain().await;
        let app = spawn(env, backend, tweak).await;
        let alice = token(env, "alice", Some("alpha")).await;
        World { ks, d, app, alice }
    }

    /// A project of the world's domain (under `parent`) and a member token of it.
    async fn project(&mut self, parent: Option<&str>) -> (String, String) {
        let p = self.ks.project(&self.d, parent).await;
        let t = self.ks.member_token(&p).await;
        (p, t)
    }

    /// Alice grants: 201, and the grant's id and body.
    async fn grant(&self, body: Value) -> (String, Value) {
        let (s, g) = call(
            &self.app,
            &self.alice,
            Method::POST,
            "/v2/glint/grants",
            Some(body),
        )
        .await;
        assert_eq!(s, 201, "{g}");
        (
            g["grant"]["id"].as_str().unwrap().to_owned(),
            g["grant"].clone(),
        )
    }

    async fn finish(self) {
        drop(self.app);
        self.ks.cleanup().await;
    }
}

/// A JSON patch of the image as `tok`: the status.
async fn patch(app: &TestApp, tok: &str, image: &str, ops: Value) -> u16 {
    let r = app
        .client
        .patch(app.url(&format!("/v2/images/{image}")))
        .header("X-Auth-Token", tok)
        .header(
            "Content-Type",
            "application/openstack-images-v2.1-json-patch",
        )
        .body(ops.to_string())
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

/// The members named by the next `n` notifications of `event_type` (others are skipped), each
/// checked to be about `image`.
async fn notified(l: &mut Listener, event_type: &str, image: &str, n: usize) -> Vec<String> {
    let mut members = Vec::new();
    while members.len() < n {
        let m = l.message().await;
        if m["event_type"] == event_type {
            assert_envelope(&m, event_type);
            assert_eq!(m["payload"]["image_id"], json!(image), "{m}");
            members.push(m["payload"]["member_id"].as_str().unwrap().to_owned());
        }
    }
    members.sort();
    members
}

/// `DELETE /v2/glint/grants/{id}` as `tok`: the status.
async fn revoke(app: &TestApp, tok: &str, gid: &str) -> u16 {
    let path = format!("/v2/glint/grants/{gid}");
    call(app, tok, Method::DELETE, &path, None).await.0
}

/// `GET /v2/images/{id}` as `tok`: the status.
async fn show(app: &TestApp, tok: &str, image: &str) -> u16 {
    get(app, tok, &format!("/v2/images/{image}")).await.0
}

/// Whether the image is in the list `query` answers `tok`.
async fn sees(app: &TestApp, tok: &str, query: &str, image: &str) -> bool {
    listed(app, tok, query).await.iter().any(|i| i == image)
}

/// The member sets its status on the image (Glance's member update): the answer.
async fn decide_member(
    app: &TestApp,
    tok: &str,
    image: &str,
    member: &str,
    status: &str,
) -> (u16, Value) {
    let path = format!("/v2/images/{image}/members/{member}");
    call(
        app,
        tok,
        Method::PUT,
        &path,
        Some(json!({ "status": status })),
    )
    .await
}

/// `PUT /v2/glint/grants/{id}/decision` as `tok`.
async fn decide_grant(app: &TestApp, tok: &str, gid: &str, status: &str) -> (u16, Value) {
    let path = format!("/v2/glint/grants/{gid}/decision");
    call(
        app,
        tok,
        Method::PUT,
        &path,
        Some(json!({ "status": status })),
    )
    .await
}

/// A project subtree: rows for the projects Keystone lists at creation, and for a project created
/// afterwards on its first request; consent through Glance's member update; nothing for a project
/// of the same domain outside the subtree, or for another owner; revoking removes every row.
#[actix_web::test]
async fn subtree_grant_reaches_later_projects_and_revokes_everywhere() {
    let Some(env) = keystone_env() else { return };
    for backend in crate::helpers::backends() {
        let mut w = World::new(&env, backend).await;
        let (parent, _) = w.project(None).await;
        let (child, child_tok) = w.project(Some(&parent)).await;
        let (_, outsider_tok) = w.project(None).await;
        let bob = token(&env, "bob", Some("beta")).await;
        let (app, alice, d) = (&w.app, &w.alice, &w.d);
        let image = shared_image(app, alice, json!({})).await;

        let started = Instant::now();
        let (gid, g) = w
            .grant(json!({"images": [image], "target": {"project": parent}}))
            .await;
        eprintln!("grant to a subtree of 2 projects: {:?}", started.elapsed());
        assert_eq!(g["members_created"], 2, "{g}");
        assert_eq!(g["projects_reached"], 2);
        assert_eq!(g["target"], json!({"project": parent, "subtree": true}));
        assert_eq!(g["target_domain_id"], json!(d));
        assert_eq!(live_rows(app, &image), 2);

        // A member row as any other, with where it came from.
        let (s, m) = get(app, alice, &format!("/v2/images/{image}/members/{child}")).await;
        assert_eq!(s, 200, "{m}");
        assert_eq!(m["status"], "pending");
        assert_eq!(m["os_glint"]["via"], "grant");
        assert_eq!(m["os_glint"]["grant_id"], json!(gid));
        // Pending: by id and in member_status=pending, not in the default list.
        assert!(sees(app, &child_tok, "?member_status=pending", &image).await);
        assert!(!sees(app, &child_tok, "", &image).await);
        assert_eq!(show(app, &child_tok, &image).await, 200);

        // A project created after the grant, below the child: its first request finds it.
        let (late, late_tok) = w.project(Some(&child)).await;
        let app = &w.app;
        assert!(sees(app, &late_tok, "?member_status=pending", &image).await);
        // Consent as Glance's member update (`image set --accept`, Terraform's accept).
        let (s, v) = decide_member(app, &late_tok, &image, &late, "accepted").await;
        assert_eq!(s, 200, "{v}");
        assert!(sees(app, &late_tok, "", &image).await);
        assert!(sees(app, &late_tok, "?visibility=shared", &image).await);
        assert_eq!(show(app, &late_tok, &image).await, 200);
        assert_eq!(live_rows(app, &image), 3);

        // Outside the subtree (same domain), another project, another owner: nothing.
        for tok in [&outsider_tok, &bob] {
            assert_eq!(show(app, tok, &image).await, 404);
            assert!(!sees(app, tok, "?member_status=all", &image).await);
            assert_eq!(
                get(app, tok, &format!("/v2/glint/grants/{gid}")).await.0,
                404
            );
            let (s, v) = get(app, tok, "/v2/glint/grants").await;
            assert_eq!(
                (s, v["grants"].as_array().map(Vec::len)),
                (200, Some(0)),
                "{v}"
            );
            assert_eq!(revoke(app, tok, &gid).await, 404);
        }
        // A non-owner cannot make a grant of someone else's image.
        let body = json!({"images": [image], "target": {"project": parent}});
        let (s, v) = call(app, &bob, Method::POST, "/v2/glint/grants", Some(body)).await;
        assert_eq!(s, 404, "{v}");
        // A project the grant reached reads it but may not revoke it.
        let (s, _) = get(app, &child_tok, &format!("/v2/glint/grants/{gid}")).await;
        assert_eq!(s, 200);
        assert_eq!(revoke(app, &child_tok, &gid).await, 403);
        // The owner lists it.
        let (s, v) = get(app, &w.alice, "/v2/glint/grants").await;
        assert_eq!(s, 200);
        assert_eq!(v["grants"][0]["id"], json!(gid));
        assert_eq!(v["grants"][0]["projects_reached"], 3);

        // Revoke: every row goes, each with a history event; access ends everywhere.
        assert_eq!(revoke(app, &w.alice, &gid).await, 204);
        assert_eq!(live_rows(app, &image), 0);
        for tok in [&child_tok, &late_tok] {
            assert_eq!(show(app, tok, &image).await, 404);
            assert!(!sees(app, tok, "?member_status=all", &image).await);
        }
        assert_eq!(grant_events(app, &image, "member.delete"), 3);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_grants"), 0);
        assert_eq!(grant_events(app, &image, "member.create"), 3);
        let (s, _) = get(app, &w.alice, &format!("/v2/glint/grants/{gid}")).await;
        assert_eq!(s, 404);
        w.finish().await;
    }
}

/// A domain grant by tag: images tagged later and created with the tag are granted; a project
/// decides for itself; the admin consents once for the whole domain, which new projects and new
/// images inherit.
#[actix_web::test]
async fn domain_grant_by_tag_with_domain_consent() {
    let Some(env) = keystone_env() else { return };
    for backend in crate::helpers::backends() {
        let mut w = World::new(&env, backend).await;
        let (_, a_tok) = w.project(None).await;
        let (_, b_tok) = w.project(None).await;
        let adam = token(&env, "adam", Some("alpha")).await;
        let (app, alice, d) = (&w.app, &w.alice, w.d.clone());
        let first = shared_image(app, alice, json!({"tags": ["golden"]})).await;
        let untagged = shared_image(app, alice, json!({})).await;

        let (gid, g) = w
            .grant(json!({"tag": "golden", "target": {"domain": d}}))
            .await;
        assert_eq!(g["images"], json!([first]));
        assert_eq!(g["members_created"], 2);
        assert!(sees(app, &a_tok, "?member_status=pending", &first).await);
        assert!(!sees(app, &a_tok, "?member_status=all", &untagged).await);

        // Project a decides for itself: its own row only.
        let (s, v) = decide_grant(app, &a_tok, &gid, "rejected").await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["members_changed"], 1);
        assert_eq!(v["grant"]["decision"], Value::Null);
        assert!(sees(app, &a_tok, "?member_status=rejected", &first).await);
        assert!(sees(app, &b_tok, "?member_status=pending", &first).await);
        // Bad decisions are 400s.
        let (s, v) = decide_grant(app, &adam, &gid, "pending").await;
        assert_eq!(s, 400, "{v}");
        assert!(message(&v).contains("accepted"), "{v}");

        // The domain's admin consents once for every project of the target.
        let (s, v) = decide_grant(app, &adam, &gid, "accepted").await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["grant"]["decision"], "accepted");
        // The open offer (b's) is accepted; a's own decision stands.
        assert_eq!(v["members_changed"], 1);
        assert!(sees(app, &a_tok, "?member_status=rejected", &first).await);
        assert!(sees(app, &b_tok, "", &first).await);

        // An image created with the tag, and one tagged later: granted, already consented.
        let born = shared_image(app, alice, json!({"tags": ["golden"]})).await;
        let path = format!("/v2/images/{untagged}/tags/golden");
        assert_eq!(call(app, alice, Method::PUT, &path, None).await.0, 204);
        for tok in [&a_tok, &b_tok] {
            let seen = listed(app, tok, "").await;
            assert!(seen.contains(&born) && seen.contains(&untagged), "{seen:?}");
        }
        // A project created now inherits the domain's consent.
        let (late, late_tok) = w.project(None).await;
        let app = &w.app;
        let seen = listed(app, &late_tok, "").await;
        for i in [&first, &born, &untagged] {
            assert!(seen.contains(i), "{seen:?}");
        }
        let (s, m) = get(app, &late_tok, &format!("/v2/images/{born}/members/{late}")).await;
        assert_eq!(s, 200, "{m}");
        assert_eq!(m["status"], "accepted");
        // A project outside the domain sees none of it.
        let bob = token(&env, "bob", Some("beta")).await;
        let seen = listed(app, &bob, "?member_status=all").await;
        for i in [&first, &born, &untagged] {
            assert!(!seen.contains(i));
        }
        w.finish().await;
    }
}

/// `image_member_quota` counts a grant once, however many projects it reaches.
#[actix_web::test]
async fn a_grant_counts_once_against_the_member_quota() {
    let Some(env) = keystone_env() else { return };
    for backend in crate::helpers::backends() {
        let mut w = World::with(&env, backend, |c| c.image_member_quota = 2).await;
        let parent = w.ks.project(&w.d, None).await;
        for _ in 0..3 {
            w.ks.project(&w.d, Some(&parent)).await;
        }
        let (app, alice) = (&w.app, &w.alice);
        let image = shared_image(app, alice, json!({})).await;
        let (_, g) = w
            .grant(json!({"images": [image], "target": {"project": parent}}))
            .await;
        assert_eq!(g["members_created"], 4);
        // Four rows, one grant: one direct member still fits, a second does not.
        let members = format!("/v2/images/{image}/members");
        for (member, status) in [(var(&env, "BETA_PROJECT_ID"), 200), ("someone-else", 413)] {
            let body = Some(json!({ "member": member }));
            let (s, v) = call(app, alice, Method::POST, &members, body).await;
            assert_eq!(s, status, "{v}");
        }
        // A second grant of the image would be a third member.
        let body = json!({"images": [image], "target": {"domain": w.d}});
        let (s, v) = call(app, alice, Method::POST, "/v2/glint/grants", Some(body)).await;
        assert_eq!(s, 413, "{v}");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_grants"), 1);
        w.finish().await;
    }
}

/// A tag grant lets go of an image that loses the tag (DELETE /tags, or a PATCH of its tags) or
/// stops being `shared`: its projects no longer see it (list and GET 404), the rows are gone with
/// Glance's `image.member.delete` and a history event each, unless another grant still covers
/// the (image, project): then the row stays and names that grant. A direct share is left alone.
#[actix_web::test]
async fn a_removed_tag_withdraws_the_image_from_the_grant() {
    let Some(env) = keystone_env() else { return };
    for backend in crate::helpers::backends() {
        let Some(mut l) = Listener::start().await else {
            return;
        };
        let url = format!("rabbit://guest:guest@{BROKER}/");
        let mut w = World::with(&env, backend, |c| l.configure(c, &url, 1000)).await;
        let (a, a_tok) = w.project(None).await;
        let (b, b_tok) = w.project(None).await;
        let beta = var(&env, "BETA_PROJECT_ID");
        let bob = token(&env, "bob", Some("beta")).await;
        let (app, alice) = (&w.app, &w.alice);
        let golden = json!({"tags": ["golden"]});
        let dropped = shared_image(app, alice, golden.clone()).await;
        let kept = shared_image(app, alice, golden.clone()).await;
        let privatised = shared_image(app, alice, golden).await;
        let members = format!("/v2/images/{dropped}/members");
        let (s, v) = call(
            app,
            alice,
            Method::POST,
            &members,
            Some(json!({"member": beta})),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let (gid, g) = w
            .grant(json!({"tag": "golden", "target": {"domain": w.d}}))
            .await;
        assert_eq!(g["members_created"], 6, "{g}");
        // `kept` is also granted by id to a alone (its subtree).
        let (by_id, g) = w
            .grant(json!({"images": [kept], "target": {"project": a}}))
            .await;
        assert_eq!(g["members_created"], 0, "{g}");
        assert_eq!(
            decide_member(app, &a_tok, &dropped, &a, "accepted").await.0,
            200
        );
        assert!(sees(app, &a_tok, "", &dropped).await);

        // DELETE of the tag: both grant rows of `dropped` go, the direct share stays.
        let path = format!("/v2/images/{dropped}/tags/golden");
        assert_eq!(call(app, alice, Method::DELETE, &path, None).await.0, 204);
        for tok in [&a_tok, &b_tok] {
            assert_eq!(show(app, tok, &dropped).await, 404);
            assert!(!sees(app, tok, "?member_status=all", &dropped).await);
            assert!(sees(app, tok, "?member_status=all", &kept).await);
        }
        assert_eq!(show(app, &bob, &dropped).await, 200);
        assert_eq!(live_rows(app, &dropped), 1);
        assert_eq!(rows_of_grant(app, &dropped, &gid), 0);
        assert_eq!(grant_events(app, &dropped, "member.delete"), 2);
        let mut want = vec![a.clone(), b.clone()];
        want.sort();
        assert_eq!(
            notified(&mut l, "image.member.delete", &dropped, 2).await,
            want
        );
        let (s, v) = get(app, alice, &format!("/v2/glint/grants/{gid}")).await;
        assert_eq!(s, 200, "{v}");
        let mut left = vec![kept.clone(), privatised.clone()];
        left.sort();
        assert_eq!(v["grant"]["images"], json!(left));

        // A PATCH that drops the tag: a's row is handed to the grant by id, b's goes.
        let ops = json!([{"op": "replace", "path": "/tags", "value": ["silver"]}]);
        assert_eq!(patch(app, alice, &kept, ops).await, 200);
        assert!(sees(app, &a_tok, "?member_status=pending", &kept).await);
        assert_eq!(show(app, &a_tok, &kept).await, 200);
        assert_eq!(show(app, &b_tok, &kept).await, 404);
        assert_eq!(live_rows(app, &kept), 1);
        assert_eq!(rows_of_grant(app, &kept, &by_id), 1);
        assert_eq!(rows_of_grant(app, &kept, &gid), 0);
        assert_eq!(grant_events(app, &kept, "member.change"), 1);
        assert_eq!(grant_events(app, &kept, "member.delete"), 1);
        assert_eq!(
            notified(&mut l, "image.member.delete", &kept, 1).await,
            std::slice::from_ref(&b)
        );

        // Made private: the tag grant lets go of it too.
        let ops = json!([{"op": "replace", "path": "/visibility", "value": "private"}]);
        assert_eq!(patch(app, alice, &privatised, ops).await, 200);
        assert_eq!(live_rows(app, &privatised), 0);
        assert_eq!(grant_events(app, &privatised, "member.delete"), 2);
        assert!(!sees(app, &a_tok, "?member_status=all", &privatised).await);
        let (_, v) = get(app, alice, &format!("/v2/glint/grants/{gid}")).await;
        assert_eq!(v["grant"]["images"], json!([]));

        // Revoking the grant by id now removes the row it was handed.
        assert_eq!(revoke(app, alice, &by_id).await, 204);
        assert_eq!(live_rows(app, &kept), 0);
        assert_eq!(show(app, &a_tok, &kept).await, 404);
        l.finish().await;
        w.finish().await;
    }
}

/// Two grants covering the same (image, project) share its one row: revoking the grant the row
/// names hands the row to the other, status kept (still visible, `member.change` recorded);
/// revoking both removes it.
#[actix_web::test]
async fn two_grants_over_one_image_revoke_one_then_both() {
    let Some(env) = keystone_env() else { return };
    for backend in crate::helpers::backends() {
        let mut w = World::new(&env, backend).await;
        let (a, a_tok) = w.project(None).await;
        let (_, c_tok) = w.project(Some(&a)).await;
        let (_, b_tok) = w.project(None).await;
        let (app, alice) = (&w.app, &w.alice);
        let image = shared_image(app, alice, json!({})).await;
        let (first, g) = w
            .grant(json!({"images": [image], "target": {"project": a}}))
            .await;
        assert_eq!(g["members_created"], 2, "{g}");
        let (second, g) = w
            .grant(json!({"images": [image], "target": {"domain": w.d}}))
            .await;
        // a and its child already have their rows: only b's is new.
        assert_eq!(g["members_created"], 1, "{g}");
        assert_eq!(g["projects_reached"], 3, "{g}");
        assert_eq!(rows_of_grant(app, &image, &first), 2);
        assert_eq!(
            decide_member(app, &a_tok, &image, &a, "accepted").await.0,
            200
        );

        assert_eq!(revoke(app, alice, &first).await, 204);
        assert_eq!(live_rows(app, &image), 3);
        assert_eq!(rows_of_grant(app, &image, &second), 3);
        assert_eq!(grant_events(app, &image, "member.change"), 2);
        assert_eq!(grant_events(app, &image, "member.delete"), 0);
        // a's consent stands: the image stays in its default list.
        assert!(sees(app, &a_tok, "", &image).await);
        for tok in [&a_tok, &c_tok, &b_tok] {
            assert_eq!(show(app, tok, &image).await, 200);
        }
        let (s, m) = get(app, alice, &format!("/v2/images/{image}/members/{a}")).await;
        assert_eq!(s, 200, "{m}");
        assert_eq!(m["status"], "accepted");
        assert_eq!(m["os_glint"]["grant_id"], json!(second));

        assert_eq!(revoke(app, alice, &second).await, 204);
        assert_eq!(live_rows(app, &image), 0);
        assert_eq!(grant_events(app, &image, "member.delete"), 3);
        for tok in [&a_tok, &c_tok, &b_tok] {
            assert_eq!(show(app, tok, &image).await, 404);
            assert!(!sees(app, tok, "?member_status=all", &image).await);
        }
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM glint_grants"), 0);
        w.finish().await;
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
        let app = spawn(&env, backend, |_| ()).await;
        let alice = token(&env, "alice", Some("alpha")).await;
        let images = [
            shared_image(&app, &alice, json!({})).await,
            shared_image(&app, &alice, json!({})).await,
        ];
        let started = Instant::now();
        let body = json!({"images": images, "target": {"domain": d}});
        let (s, g) = call(&app, &alice, Method::POST, "/v2/glint/grants", Some(body)).await;
        let create = started.elapsed();
        assert_eq!(s, 201, "{g}");
        assert_eq!(g["grant"]["members_created"], json!(2 * n));
        let seen = listed(&app, &last_tok, "?member_status=pending").await;
        assert!(images.iter().all(|i| seen.contains(i)), "{seen:?}");
        let gid = g["grant"]["id"].as_str().unwrap();
        let started = Instant::now();
        assert_eq!(revoke(&app, &alice, gid).await, 204);
        let revoke = started.elapsed();
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
        let mut w = World::new(&env, backend).await;
        let (trusting, trusting_tok) = w.project(None).await;
        let (refusing, refusing_tok) = w.project(None).await;
        let plain = w.ks.project(&w.d, None).await;
        let (app, alice) = (&w.app, &w.alice);
        let alpha = var(&env, "ALPHA_PROJECT_ID");
        for (p, tok, policy) in [
            (
                &trusting,
                &trusting_tok,
                json!({"auto_accept": {"owners": [alpha]}}),
            ),
            (&refusing, &refusing_tok, json!({"untrusted": "reject"})),
        ] {
            let path = format!("/v2/glint/projects/{p}/share-policy");
            let (s, v) = call(app, tok, Method::PUT, &path, Some(policy)).await;
            assert_eq!(s, 200, "{v}");
        }
        let image = shared_image(app, alice, json!({})).await;
        let (_, g) = w
            .grant(json!({"images": [image], "target": {"domain": w.d}}))
            .await;
        assert_eq!(g["members_created"], 2, "{g}");
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
        assert!(sees(app, &trusting_tok, "", &image).await);
        assert_eq!(show(app, &refusing_tok, &image).await, 404);
        w.finish().await;
    }
}
