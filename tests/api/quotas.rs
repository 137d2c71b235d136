//! Glance's quotas with Keystone unified limits (`use_keystone_limits`), against the real
//! Keystone of `scripts/keystone.sh start`. Each test registers its own image service, endpoint
//! and limits there (so tests and backends do not share limits) and gives glint's service user
//! the system reader role Glance's `[oslo_limit]` user has in devstack. Callers use noauth
//! headers with the Keystone projects' ids: only the limits come from Keystone.

use std::collections::HashMap;
use std::time::Duration;

use glint::config::oslo_limit::{DomainRef, EndpointLookup, KeystoneLimits, Scope, UserRef};
use serde_json::{json, Value};

use crate::helpers::{json, message, Backend, Caller, TestApp};
use crate::keystone::{keystone_env, var};

const MIB: usize = 1024 * 1024;

/// Keystone's admin API, system-scoped.
struct Admin {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Admin {
    async fn login(env: &HashMap<String, String>) -> Admin {
        let url = format!("{}/v3", var(env, "KEYSTONE_URL"));
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{url}/auth/tokens?nocatalog"))
            .json(&json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": var(env, "KEYSTONE_ADMIN_USER"), "domain": {"id": "default"},
                    "password": var(env, "KEYSTONE_ADMIN_PASSWORD")}}},
                "scope": {"system": {"all": true}}}}))
            .send()
            .await
            .expect("keystone reachable");
        assert_eq!(r.status(), 201, "admin system-scoped login");
        let token = r.headers()["x-subject-token"].to_str().unwrap().to_owned();
        Admin { http, url, token }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut rb = self
            .http
            .request(method.clone(), format!("{}{path}", self.url))
            .header("X-Auth-Token", &self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("keystone reachable");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// An image service of this test's own in Keystone, with an endpoint in RegionOne and the
/// registered limits given; project limits are added with [`Limits::project_limit`].
struct Limits {
    admin: Admin,
    service_name: String,
    service_id: String,
    endpoint_id: String,
    registered: Vec<String>,
    project: Vec<String>,
    glint_password: String,
    auth_url: String,
}

impl Limits {
    async fn register(env: &HashMap<String, String>, defaults: &[(&str, i64)]) -> Limits {
        let admin = Admin::login(env).await;
        // What devstack gives Glance's [oslo_limit] user: reader on the system (idempotent).
        let roles = admin
            .call(reqwest::Method::GET, "/roles?name=reader", None)
            .await;
        let reader = roles["roles"][0]["id"]
            .as_str()
            .expect("reader role")
            .to_owned();
        admin
            .call(
                reqwest::Method::PUT,
                &format!("/system/users/{}/roles/{reader}", var(env, "GLINT_USER_ID")),
                None,
            )
            .await;
        let service_name = format!("glint-quota-{}", uuid::Uuid::new_v4().simple());
        let s = admin
            .call(
                reqwest::Method::POST,
                "/services",
                Some(json!({"service": {"type": "image", "name": service_name}})),
            )
            .await;
        let service_id = s["service"]["id"].as_str().unwrap().to_owned();
        let e = admin
            .call(
                reqwest::Method::POST,
                "/endpoints",
                Some(
                    json!({"endpoint": {"service_id": service_id, "interface": "public",
                    "url": "http://127.0.0.1:9292", "region_id": var(env, "KEYSTONE_REGION")}}),
                ),
            )
            .await;
        let endpoint_id = e["endpoint"]["id"].as_str().unwrap().to_owned();
        let body: Vec<Value> = defaults
            .iter()
            .map(|(name, n)| {
                json!({"service_id": service_id, "region_id": var(env, "KEYSTONE_REGION"),
                    "resource_name": name, "default_limit": n})
            })
            .collect();
        let r = admin
            .call(
                reqwest::Method::POST,
                "/registered_limits",
                Some(json!({ "registered_limits": body })),
            )
            .await;
        let registered = ids(&r["registered_limits"]);
        Limits {
            admin,
            service_name,
            service_id,
            endpoint_id,
            registered,
            project: Vec::new(),
            glint_password: var(env, "GLINT_SERVICE_PASSWORD").to_owned(),
            auth_url: var(env, "KEYSTONE_AUTH_URL").to_owned(),
        }
    }

    async fn project_limit(
        &mut self,
        env: &HashMap<String, String>,
        project: &str,
        name: &str,
        n: i64,
    ) {
        let r = self
            .admin
            .call(
                reqwest::Method::POST,
                "/limits",
                Some(json!({"limits": [{"service_id": self.service_id,
                    "region_id": var(env, "KEYSTONE_REGION"), "project_id": project,
                    "resource_name": name, "resource_limit": n}]})),
            )
            .await;
        self.project.extend(ids(&r["limits"]));
    }

    /// glint's `[oslo_limit]` as devstack writes Glance's: system scope, the endpoint by id
    /// (or, with `by_service`, by service name and type, region and interface); limits are
    /// read on every check.
    fn config(&self, by_service: bool) -> KeystoneLimits {
        KeystoneLimits {
            auth_url: self.auth_url.clone(),
            api_url: self.auth_url.clone(),
            user: UserRef::Name {
                name: "glint".into(),
                domain: DomainRef::Name("Default".into()),
            },
            password: self.glint_password.clone(),
            scope: Scope::System("all".into()),
            endpoint: if by_service {
                EndpointLookup::Service {
                    service_type: Some("image".into()),
                    service_name: Some(self.service_name.clone()),
                    region_name: Some("RegionOne".into()),
                    interface: "public".into(),
                }
            } else {
                EndpointLookup::Id(self.endpoint_id.clone())
            },
            timeout: Duration::from_secs(10),
            cache_time: Duration::ZERO,
        }
    }

    async fn spawn(&self, backend: Backend, by_service: bool) -> TestApp {
        let limits = self.config(by_service);
        TestApp::spawn_with(backend, move |c| c.keystone_limits = Some(limits)).await
    }

    /// Removes what `register` and `project_limit` created (best effort: a leftover service
    /// with a unique name harms no other test).
    async fn remove(self) {
        for id in &self.project {
            let _ = self.delete(&format!("/limits/{id}")).await;
        }
        for id in &self.registered {
            let _ = self.delete(&format!("/registered_limits/{id}")).await;
        }
        let _ = self
            .delete(&format!("/endpoints/{}", self.endpoint_id))
            .await;
        let _ = self.delete(&format!("/services/{}", self.service_id)).await;
    }

    async fn delete(&self, path: &str) -> reqwest::Result<reqwest::Response> {
        self.admin
            .http
            .delete(format!("{}{path}", self.admin.url))
            .header("X-Auth-Token", &self.admin.token)
            .send()
            .await
    }
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["id"].as_str().map(str::to_owned))
        .collect()
}

/// Glance's 413 text for one resource over its limit.
fn over(project: &str, resource: &str, limit: i64, current: i64, delta: i64) -> String {
    format!(
        "The request returned a 413 Request Entity Too Large. This generally means that rate \
         limiting or a quota threshold was breached.\n\nThe response body:\nProject {project} is \
         over a limit for [Resource {resource} is over limit of {limit} due to current usage \
         {current} and delta {delta}]"
    )
}

async fn usage(c: &Caller<'_>) -> Value {
    let (s, v) = json(c.get("/v2/info/usage").await).await;
    assert_eq!(s, 200, "{v}");
    v
}

fn usage_doc(rows: [(i64, i64); 4]) -> Value {
    let names = [
        "image_size_total",
        "image_stage_total",
        "image_count_total",
        "image_count_uploading",
    ];
    let mut m = serde_json::Map::new();
    for (name, (u, l)) in names.iter().zip(rows) {
        m.insert((*name).to_owned(), json!({"usage": u, "limit": l}));
    }
    json!({ "usage": m })
}

async fn status_of(c: &Caller<'_>, id: &str) -> String {
    let (_, v) = json(c.get(&format!("/v2/images/{id}")).await).await;
    v["status"].as_str().unwrap_or_default().to_owned()
}

async fn raw_image(c: &Caller<'_>) -> String {
    let v = c
        .create_image(json!({"disk_format": "raw", "container_format": "bare"}))
        .await;
    v["id"].as_str().unwrap().to_owned()
}

async fn stage(c: &Caller<'_>, id: &str, n: usize) -> reqwest::Response {
    c.request(reqwest::Method::PUT, &format!("/v2/images/{id}/stage"))
        .header("Content-Type", "application/octet-stream")
        .body(vec![1u8; n])
        .send()
        .await
        .expect("request")
}

async fn wait_task(c: &Caller<'_>, id: &str) -> Value {
    for _ in 0..200 {
        let (_, v) = json(c.get(&format!("/v2/images/{id}/tasks")).await).await;
        if let Some(t) = v["tasks"].as_array().and_then(|t| t.first()) {
            if t["status"] == "success" || t["status"] == "failure" {
                return t.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import task of {id} did not end");
}

crate::backend_test!(
    image_count_total_project_and_registered_limits,
    |app| async move {
        let backend = app.backend;
        drop(app);
        let Some(env) = keystone_env() else { return };
        let mut limits = Limits::register(
            &env,
            &[
                ("image_size_total", 5),
                ("image_stage_total", 4),
                ("image_count_total", 3),
                ("image_count_uploading", 2),
            ],
        )
        .await;
        let (alpha_id, beta_id) = (var(&env, "ALPHA_PROJECT_ID"), var(&env, "BETA_PROJECT_ID"));
        limits
            .project_limit(&env, alpha_id, "image_count_total", 2)
            .await;
        // The endpoint found by service name and type, region and interface.
        let app = limits.spawn(backend, true).await;
        let alpha = app.caller(alpha_id, "member");
        let beta = app.caller(beta_id, "member");
        assert_eq!(
            usage(&alpha).await,
            usage_doc([(0, 5), (0, 4), (0, 2), (0, 2)])
        );
        // alpha: its own limit of 2.
        let first = raw_image(&alpha).await;
        raw_image(&alpha).await;
        let (s, v) = json(alpha.post("/v2/images", &json!({"name": "third"})).await).await;
        assert_eq!(s, 413, "{v}");
        assert_eq!(message(&v), over(alpha_id, "image_count_total", 2, 2, 1));
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM images WHERE owner = '{alpha_id}'"
            )),
            2
        );
        assert_eq!(
            usage(&alpha).await["usage"]["image_count_total"],
            json!({"usage": 2, "limit": 2})
        );
        // beta: the registered limit of 3.
        for _ in 0..3 {
            raw_image(&beta).await;
        }
        let (s, v) = json(beta.post("/v2/images", &json!({})).await).await;
        assert_eq!(s, 413, "{v}");
        assert_eq!(message(&v), over(beta_id, "image_count_total", 3, 3, 1));
        assert_eq!(
            usage(&beta).await,
            usage_doc([(0, 5), (0, 4), (3, 3), (0, 2)])
        );
        // A deleted image no longer counts.
        assert_eq!(
            alpha.delete(&format!("/v2/images/{first}")).await.status(),
            204
        );
        raw_image(&alpha).await;
        drop(app);
        limits.remove().await;
    }
);

crate::backend_test!(image_size_stage_and_uploading_limits, |app| async move {
    let backend = app.backend;
    drop(app);
    let Some(env) = keystone_env() else { return };
    let limits = Limits::register(
        &env,
        &[
            ("image_size_total", 2),
            ("image_stage_total", 1),
            ("image_count_total", 100),
            ("image_count_uploading", 1),
        ],
    )
    .await;
    let alpha_id = var(&env, "ALPHA_PROJECT_ID");
    let app = limits.spawn(backend, false).await;
    let alpha = app.caller(alpha_id, "member");

    // image_size_total: the declared size in whole MiB against the data already stored.
    let a = raw_image(&alpha).await;
    assert_eq!(alpha.upload(&a, vec![7; MIB]).await.status(), 204);
    let b = raw_image(&alpha).await;
    let (s, v) = json(alpha.upload(&b, vec![7; 2 * MIB]).await).await;
    assert_eq!(s, 413, "{v}");
    assert_eq!(message(&v), over(alpha_id, "image_size_total", 2, 1, 2));
    assert_eq!(status_of(&alpha, &b).await, "queued");
    // Less than a MiB claims nothing; reaching the limit itself is allowed.
    assert_eq!(alpha.upload(&b, vec![7; MIB + 5]).await.status(), 204);
    let c = raw_image(&alpha).await;
    let (s, v) = json(alpha.upload(&c, vec![7; MIB]).await).await;
    assert_eq!(s, 413, "{v}");
    assert_eq!(message(&v), over(alpha_id, "image_size_total", 2, 2, 1));
    assert_eq!(
        usage(&alpha).await,
        usage_doc([(2, 2), (0, 1), (3, 100), (0, 1)])
    );

    // image_stage_total: staged data counts until it is imported.
    let d = raw_image(&alpha).await;
    assert_eq!(stage(&alpha, &d, MIB).await.status(), 204);
    let e = raw_image(&alpha).await;
    let (s, v) = json(stage(&alpha, &e, MIB).await).await;
    assert_eq!(s, 413, "{v}");
    assert_eq!(message(&v), over(alpha_id, "image_stage_total", 1, 1, 1));
    assert_eq!(status_of(&alpha, &e).await, "queued");
    // d, staged (`uploading`), is one upload in progress.
    assert_eq!(
        usage(&alpha).await,
        usage_doc([(2, 2), (1, 1), (5, 100), (1, 1)])
    );

    // image_count_uploading: checked once the image is saving, so it counts itself; over the
    // limit the image goes back to queued and keeps no data.
    let (s, v) = json(alpha.upload(&c, vec![7; 10]).await).await;
    assert_eq!(s, 413, "{v}");
    assert_eq!(
        message(&v),
        over(alpha_id, "image_count_uploading", 1, 2, 0)
    );
    assert_eq!(status_of(&alpha, &c).await, "queued");
    let (s, v) = json(stage(&alpha, &e, 10).await).await;
    assert_eq!(s, 413, "{v}");
    assert_eq!(
        message(&v),
        over(alpha_id, "image_count_uploading", 1, 2, 0)
    );
    assert_eq!(status_of(&alpha, &e).await, "queued");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM image_locations WHERE image_id IN ('{c}', '{e}')"
        )),
        0
    );

    // glance-direct import: at the request image_size_total with no claim passes (2 <= 2), then
    // the flow claims the staged MiB: the task fails with the 413's text, the image is queued.
    let (s, v) = json(
        alpha
            .post(
                &format!("/v2/images/{d}/import"),
                &json!({"method": {"name": "glance-direct"}}),
            )
            .await,
    )
    .await;
    assert_eq!(s, 202, "{v}");
    let task = wait_task(&alpha, &d).await;
    assert_eq!(task["status"], "failure", "{task}");
    assert_eq!(task["message"], over(alpha_id, "image_size_total", 2, 2, 1));
    assert_eq!(status_of(&alpha, &d).await, "queued");
    assert_eq!(
        usage(&alpha).await,
        usage_doc([(2, 2), (0, 1), (5, 100), (0, 1)])
    );
    drop(app);
    limits.remove().await;
});

crate::backend_test!(usage_without_keystone_limits, |app| async move {
    let c = app.caller("p1", "member");
    raw_image(&c).await;
    assert_eq!(usage(&c).await, json!({"usage": {}}));
    // Glance routes GET only here: other methods are unknown paths.
    let (s, _) = json(c.post("/v2/info/usage", &json!({})).await).await;
    assert_eq!(s, 404);
});

crate::backend_test!(
    keystone_down_is_a_503_that_changes_nothing,
    |app| async move {
        let backend = app.backend;
        drop(app);
        // A port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/v3");
        let limits = KeystoneLimits {
            auth_url: url.clone(),
            api_url: url,
            user: UserRef::Id("u".into()),
            password: "p".into(),
            scope: Scope::System("all".into()),
            endpoint: EndpointLookup::Id("e".into()),
            timeout: Duration::from_secs(2),
            cache_time: Duration::ZERO,
        };
        let app = TestApp::spawn_with(backend, move |c| c.keystone_limits = Some(limits)).await;
        let c = app.caller("p1", "member");
        let (s, _) = json(c.post("/v2/images", &json!({"name": "x"})).await).await;
        assert_eq!(s, 503);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM images"), 0);
        let (s, _) = json(c.get("/v2/info/usage").await).await;
        assert_eq!(s, 503);
    }
);

crate::backend_test!(
    web_download_import_claims_an_uploading_place,
    |app| async move {
        use std::io::Write;
        let backend = app.backend;
        drop(app);
        let Some(env) = keystone_env() else { return };
        let limits = Limits::register(
            &env,
            &[
                ("image_size_total", 100),
                ("image_stage_total", 1),
                ("image_count_total", 100),
                ("image_count_uploading", 1),
            ],
        )
        .await;
        let port = crate::raw::serve(|_, conn| {
            let _ = conn.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        });
        let config = limits.config(false);
        let app = TestApp::spawn_with(backend, move |c| {
            c.keystone_limits = Some(config);
            c.import.filter.allowed_ports = vec![];
            c.import.filter.allow_internal_addresses = true;
        })
        .await;
        let alpha_id = var(&env, "ALPHA_PROJECT_ID");
        let alpha = app.caller(alpha_id, "member");
        let staged = raw_image(&alpha).await;
        assert_eq!(stage(&alpha, &staged, MIB).await.status(), 204);
        // The flow's checks: staging 1 <= 1 passes, then the importing image and the staged one
        // are two uploads in progress against a limit of 1.
        let w = raw_image(&alpha).await;
        let import = json!({"method": {"name": "web-download",
        "uri": format!("http://127.0.0.1:{port}/image")}});
        let r = alpha.post(&format!("/v2/images/{w}/import"), &import).await;
        assert_eq!(r.status(), 202);
        let task = wait_task(&alpha, &w).await;
        assert_eq!(task["status"], "failure", "{task}");
        assert_eq!(
            task["message"],
            over(alpha_id, "image_count_uploading", 1, 2, 0)
        );
        assert_eq!(status_of(&alpha, &w).await, "queued");
        assert_eq!(
            usage(&alpha).await["usage"]["image_count_uploading"],
            json!({"usage": 1, "limit": 1})
        );
        // Without the staged image in the way, the same import goes through.
        assert_eq!(
            alpha.delete(&format!("/v2/images/{staged}")).await.status(),
            204
        );
        let r = alpha.post(&format!("/v2/images/{w}/import"), &import).await;
        assert_eq!(r.status(), 202);
        for _ in 0..200 {
            if status_of(&alpha, &w).await == "active" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(status_of(&alpha, &w).await, "active");
        assert_eq!(
            usage(&alpha).await,
            usage_doc([(0, 100), (0, 1), (1, 100), (0, 1)])
        );
        drop(app);
        limits.remove().await;
    }
);

crate::backend_test!(limits_are_reread_after_cache_time, |app| async move {
    let backend = app.backend;
    drop(app);
    let Some(env) = keystone_env() else { return };
    let mut limits = Limits::register(&env, &[("image_count_total", 1)]).await;
    let mut config = limits.config(false);
    config.cache_time = Duration::from_secs(5);
    let app = TestApp::spawn_with(backend, move |c| c.keystone_limits = Some(config)).await;
    let alpha_id = var(&env, "ALPHA_PROJECT_ID");
    let alpha = app.caller(alpha_id, "member");
    raw_image(&alpha).await;
    let (s, v) = json(alpha.post("/v2/images", &json!({})).await).await;
    assert_eq!(s, 413, "{v}");
    // A project limit set now is not seen while the limits read are fresh...
    limits
        .project_limit(&env, alpha_id, "image_count_total", 2)
        .await;
    let (s, v) = json(alpha.post("/v2/images", &json!({})).await).await;
    assert_eq!(s, 413, "{v}");
    assert_eq!(message(&v), over(alpha_id, "image_count_total", 1, 1, 1));
    // ...and is in force once they are older than cache_time.
    tokio::time::sleep(Duration::from_millis(5100)).await;
    raw_image(&alpha).await;
    let (s, v) = json(alpha.post("/v2/images", &json!({})).await).await;
    assert_eq!(s, 413, "{v}");
    assert_eq!(message(&v), over(alpha_id, "image_count_total", 2, 2, 1));
    drop(app);
    limits.remove().await;
});
