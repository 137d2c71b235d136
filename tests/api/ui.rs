//! The sharing web page (`[glint_ui]`, `src/ui`) over HTTP against the real Keystone: login and
//! its cookie, logout's revocation, the CSRF and origin checks, a reader's limits, escaping,
//! grants made, decided and revoked through the page.
//! The browser flows are in `ui_browser`.

use std::collections::HashMap;

use reqwest::header::{COOKIE, LOCATION, ORIGIN, REFERER, SET_COOKIE};
use serde_json::{json, Value};

use crate::helpers::{json, Backend, TestApp};
use crate::keystone::{keystone_config, keystone_env, token, var};
use crate::sharing_grants::Ks;

/// The Keystone env file when there is one, without the skip bookkeeping of `keystone_env`
/// (a test's config tweak runs before its body, which does that).
fn quiet_env() -> Option<HashMap<String, String>> {
    if std::env::var("GLINT_TEST_KEYSTONE").as_deref() == Ok("skip") {
        return None;
    }
    let path = std::env::var("GLINT_KEYSTONE_ENV")
        .unwrap_or_else(|_| format!("{}/.work/keystone/env", env!("CARGO_MANIFEST_DIR")));
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
            .collect(),
    )
}

/// Keystone, the sharing extensions and the page on (left off without a Keystone: the test
/// body then skips).
pub fn ui_config(c: &mut glint::config::Config) {
    let Some(env) = quiet_env() else { return };
    keystone_config(&env, var(&env, "KEYSTONE_URL"))(c);
    c.sharing.enabled = true;
    c.ui.enabled = true;
}

/// A browser without JavaScript: one session cookie, redirects not followed, and the page's
/// own `Origin` on every POST unless told otherwise.
pub struct Page<'a> {
    pub app: &'a TestApp,
    http: reqwest::Client,
    pub cookie: Option<String>,
}

impl<'a> Page<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Page {
            app,
            http,
            cookie: None,
        }
    }

    /// A browser whose session cookie holds `token` (as the login would set it).
    pub fn with_token(app: &'a TestApp, token: &str) -> Self {
        let mut p = Page::new(app);
        p.cookie = Some(token.to_owned());
        p
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let mut rb = self.http.get(self.app.url(path));
        if let Some(c) = &self.cookie {
            rb = rb.header(COOKIE, format!("glint_ui_session={c}"));
        }
        let r = rb.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// POST a form with `origin` (`Some(None)`: no Origin header at all).
    pub async fn post_from(
        &self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
        referer: Option<&str>,
    ) -> reqwest::Response {
        let mut rb = self.http.post(self.app.url(path)).form(form);
        if let Some(o) = origin {
            rb = rb.header(ORIGIN, o);
        }
        if let Some(r) = referer {
            rb = rb.header(REFERER, r);
        }
        if let Some(c) = &self.cookie {
            rb = rb.header(COOKIE, format!("glint_ui_session={c}"));
        }
        rb.send().await.unwrap()
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.post_from(path, form, Some(&self.app.addr), None).await
    }

    /// POST a form from the page's origin: the status and the page answered.
    pub async fn send(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self.post(path, form).await;
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Log in as `user` (password `pass-<user>`) to `project`; the session cookie is kept.
    pub async fn login(app: &'a TestApp, user: &str, project: &str) -> Page<'a> {
        let mut p = Page::new(app);
        let pw = format!("pass-{user}");
        let r = p
            .post(
                "/glint/ui/login",
                &[
                    ("method", "password"),
                    ("username", user),
                    ("password", &pw),
                    ("project", project),
                ],
            )
            .await;
        assert_eq!(r.status(), 303, "login {user}");
        p.cookie = Some(session_cookie(&r).0);
        p
    }

    /// The page's form token, read from a page it renders.
    pub async fn csrf(&self) -> String {
        let (s, html) = self.get("/glint/ui/inbox").await;
        assert_eq!(s, 200, "{html}");
        csrf_of(&html)
    }
}

pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form token") + 19;
    html[at..at + 64].to_owned()
}

/// The session cookie's value and its attributes (lower-cased) from a response.
pub fn session_cookie(r: &reqwest::Response) -> (String, Vec<String>) {
    let raw = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("glint_ui_session="))
        .expect("a session cookie");
    let mut parts = raw.split(';').map(str::trim);
    let value = parts.next().unwrap()["glint_ui_session=".len()..].to_owned();
    (value, parts.map(str::to_ascii_lowercase).collect())
}

/// An API call with a token.
pub async fn api(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = app
        .client
        .request(method, app.url(path))
        .header("X-Auth-Token", token)
        .header("Accept", "application/json");
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    json(rb.send().await.unwrap()).await
}

/// A new shared image of `owner_token`'s project, with no member yet; returns its id.
pub async fn shared_image(app: &TestApp, owner_token: &str, name: &str) -> String {
    let (s, img) = api(
        app,
        owner_token,
        reqwest::Method::POST,
        "/v2/images",
        Some(json!({"name": name, "visibility": "shared", "disk_format": "qcow2", "container_format": "bare"})),
    )
    .await;
    assert_eq!(s, 201, "{img}");
    img["id"].as_str().unwrap().to_owned()
}

/// A shared image of `owner_token`'s project, offered to `member`; returns its id.
pub async fn offer(
    app: &TestApp,
    owner_token: &str,
    name: &str,
    member: &str,
    note: Option<&str>,
) -> String {
    let id = shared_image(app, owner_token, name).await;
    let mut body = json!({"member": member});
    if let Some(n) = note {
        body["os_glint"] = json!({"note": n});
    }
    let (s, m) = api(
        app,
        owner_token,
        reqwest::Method::POST,
        &format!("/v2/images/{id}/members"),
        Some(body),
    )
    .await;
    assert_eq!(s, 200, "{m}");
    id
}

/// The member's status as the API reports it to the owner.
pub async fn member_status(app: &TestApp, owner_token: &str, image: &str, member: &str) -> String {
    let (s, m) = api(
        app,
        owner_token,
        reqwest::Method::GET,
        &format!("/v2/images/{image}/members/{member}"),
        None,
    )
    .await;
    match s {
        200 => m["status"].as_str().unwrap().to_owned(),
        s => format!("http {s}"),
    }
}

crate::backend_test!(ui_is_off_by_default_and_needs_sharing, |app| async move {
    // Off: the page's paths answer as any unknown path.
    let unknown = app
        .client
        .get(app.url("/glint/nothing"))
        .send()
        .await
        .unwrap();
    let ui = app
        .client
        .get(app.url("/glint/ui/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(ui.status(), unknown.status());
    assert_eq!(ui.text().await.unwrap(), unknown.text().await.unwrap());
    // On without the sharing extensions (or without Keystone): glint refuses to start.
    let dir = tempfile::tempdir().unwrap();
    let mut c = crate::helpers::test_config(dir.path(), Backend::Sqlite, None);
    c.ui.enabled = true;
    let e = glint::startup::build_state(c.clone())
        .err()
        .expect("refused");
    assert!(e.contains("[glint_sharing] enabled = true"), "{e}");
    c.sharing.enabled = true;
    let e = glint::startup::build_state(c).err().expect("refused");
    assert!(e.contains("auth_strategy = keystone"), "{e}");
});

crate::backend_test!(
    login_cookie_and_logout,
    config = |c| {
        ui_config(c);
        c.enable_proxy_headers_parsing = true;
    },
    |app| async move {
        let Some(env) = keystone_env() else { return };
        let page = Page::new(&app);
        // Not logged in: every view sends to the login form.
        for view in [
            "/glint/ui/inbox",
            "/glint/ui/outbox",
            "/glint/ui/policy",
            "/glint/ui/history",
            "/glint/ui/grants",
        ] {
            let r = page.http.get(app.url(view)).send().await.unwrap();
            assert_eq!(r.status(), 303, "{view}");
            assert_eq!(r.headers()[LOCATION], "/glint/ui/login");
        }
        let (s, html) = page.get("/glint/ui/login").await;
        assert_eq!(s, 200);
        assert!(html.contains("<label for=\"password\">Password</label>"));
        // A wrong password: the form again, 401, the password not echoed.
        let r = page
            .post(
                "/glint/ui/login",
                &[
                    ("username", "alice"),
                    ("password", "wrong-Pa55"),
                    ("project", "alpha"),
                ],
            )
            .await;
        assert_eq!(r.status(), 401);
        assert!(r.headers().get(SET_COOKIE).is_none());
        let html = r.text().await.unwrap();
        assert!(html.contains("Keystone did not accept these credentials for this project."));
        assert!(!html.contains("wrong-Pa55"));
        assert!(html.contains("value=\"alice\""));
        // A missing field is named.
        let r = page
            .post(
                "/glint/ui/login",
                &[("username", "alice"), ("password", "x")],
            )
            .await;
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains("Project is required."));

        // The login: a cookie holding a project-scoped token and nothing else.
        let r = page
            .post(
                "/glint/ui/login",
                &[
                    ("username", "alice"),
                    ("password", "pass-alice"),
                    ("project", "alpha"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()[LOCATION], "/glint/ui/inbox");
        let (token, attrs) = session_cookie(&r);
        assert!(attrs.contains(&"httponly".to_owned()), "{attrs:?}");
        assert!(attrs.contains(&"samesite=strict".to_owned()), "{attrs:?}");
        assert!(attrs.contains(&"path=/glint/ui".to_owned()), "{attrs:?}");
        assert!(
            !attrs.iter().any(|a| a == "secure"),
            "plain http: {attrs:?}"
        );
        // It expires with the token.
        let (s, t) = json(
            reqwest::Client::new()
                .get(format!("{}/v3/auth/tokens", var(&env, "KEYSTONE_URL")))
                .header("X-Auth-Token", &token)
                .header("X-Subject-Token", &token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(t["token"]["project"]["id"], var(&env, "ALPHA_PROJECT_ID"));
        let expires = attrs
            .iter()
            .find_map(|a| a.strip_prefix("expires="))
            .expect("Expires");
        let cookie_at =
            chrono::DateTime::parse_from_rfc2822(&expires.replace("gmt", "+0000")).unwrap();
        let token_at =
            chrono::DateTime::parse_from_rfc3339(t["token"]["expires_at"].as_str().unwrap())
                .unwrap();
        assert!(
            (cookie_at.timestamp() - token_at.timestamp()).abs() <= 1,
            "{cookie_at} {token_at}"
        );
        // The token is an ordinary API token of alice's project.
        let (s, _) = api(&app, &token, reqwest::Method::GET, "/v2/images", None).await;
        assert_eq!(s, 200);
        let p = Page::with_token(&app, &token);
        let (s, html) = p.get("/glint/ui/inbox").await;
        assert_eq!(s, 200);
        assert!(html.contains("alpha"), "the project's name is shown");

        // Over TLS (as a trusted proxy says): the cookie is Secure too.
        let r = page
            .http
            .post(app.url("/glint/ui/login"))
            .header("X-Forwarded-Proto", "https")
            .header(ORIGIN, app.addr.replace("http://", "https://"))
            .form(&[
                ("username", "bob"),
                ("password", "pass-bob"),
                ("project", "beta"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert!(session_cookie(&r).1.contains(&"secure".to_owned()));

        // An application credential logs in to the project it was made for.
        let alice = token_of(&env, "alice").await;
        let (s, cred) = json(
        reqwest::Client::new()
            .post(format!("{}/v3/users/{}/application_credentials", var(&env, "KEYSTONE_URL"), var(&env, "ALICE_USER_ID")))
            .header("X-Auth-Token", &alice)
            .json(&json!({"application_credential": {"name": format!("ui-{}", uuid::Uuid::new_v4().simple())}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
        assert_eq!(s, 201, "{cred}");
        let (id, secret) = (
            cred["application_credential"]["id"].as_str().unwrap(),
            cred["application_credential"]["secret"].as_str().unwrap(),
        );
        let r = page
            .post(
                "/glint/ui/login",
                &[
                    ("method", "application_credential"),
                    ("app_cred_id", id),
                    ("app_cred_secret", secret),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        let (cred_token, _) = session_cookie(&r);
        let (s, t) = api(&app, &cred_token, reqwest::Method::GET, "/v2/glint", None).await;
        assert_eq!(s, 200, "{t}");
        // Its logout revokes its token too.
        let cp = Page::with_token(&app, &cred_token);
        let csrf = cp.csrf().await;
        let r = cp.post("/glint/ui/logout", &[("csrf", &csrf)]).await;
        assert_eq!(r.status(), 303);
        let (s, _) = api(&app, &cred_token, reqwest::Method::GET, "/v2/glint", None).await;
        assert_eq!(s, 401);

        // Logout: the token is revoked in Keystone and the cookie removed.
        let csrf = p.csrf().await;
        let r = p.post("/glint/ui/logout", &[("csrf", &csrf)]).await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()[LOCATION], "/glint/ui/login?out=1");
        let (cleared, attrs) = session_cookie(&r);
        assert_eq!(cleared, "");
        assert!(
            attrs
                .iter()
                .any(|a| a.starts_with("max-age=0") || a.starts_with("expires=")),
            "{attrs:?}"
        );
        let (s, _) = api(&app, &token, reqwest::Method::GET, "/v2/images", None).await;
        assert_eq!(s, 401, "a revoked token opens nothing");
        let r = p
            .http
            .get(app.url("/glint/ui/inbox"))
            .header(COOKIE, format!("glint_ui_session={token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
    }
);

crate::backend_test!(
    public_endpoint_is_the_pages_origin,
    config = |c| {
        ui_config(c);
        c.public_endpoint = Some("https://images.example:8443/image".into());
    },
    |app| async move {
        let Some(_env) = keystone_env() else { return };
        let page = Page::new(&app);
        let form = [
            ("username", "bob"),
            ("password", "pass-bob"),
            ("project", "beta"),
        ];
        // The address glint listens on is not where browsers reach it.
        let r = page.post("/glint/ui/login", &form).await;
        assert_eq!(r.status(), 403);
        let r = page
            .post_from(
                "/glint/ui/login",
                &form,
                Some("https://images.example:8443"),
                None,
            )
            .await;
        assert_eq!(r.status(), 303);
        // Its path is where the proxy mounts glint.
        assert_eq!(r.headers()[LOCATION], "/image/glint/ui/inbox");
        let (_, attrs) = session_cookie(&r);
        assert!(
            attrs.contains(&"secure".to_owned()),
            "served over TLS: {attrs:?}"
        );
        assert!(
            attrs.contains(&"path=/image/glint/ui".to_owned()),
            "{attrs:?}"
        );
    }
);

async fn token_of(env: &HashMap<String, String>, user: &str) -> String {
    let project = match user {
        "bob" => "beta",
        _ => "alpha",
    };
    token(env, user, Some(project)).await
}

crate::backend_test!(
    forms_need_the_sessions_token_and_this_origin,
    config = |c| ui_config(c),
    |app| async move {
        let Some(env) = keystone_env() else { return };
        let alice = token_of(&env, "alice").await;
        let beta = var(&env, "BETA_PROJECT_ID");
        let image = offer(&app, &alice, "golden", beta, None).await;
        let one = format!("accepted:{image}");
        let bob = Page::login(&app, "bob", "beta").await;
        let other = Page::login(&app, "bob", "beta").await;
        let (mine, theirs) = (bob.csrf().await, other.csrf().await);
        assert_ne!(mine, theirs, "each session has its own form token");
        let forbidden = |what: &'static str| {
            move |r: (u16, String)| {
                assert_eq!(r.0, 403, "{what}: {}", r.1);
                assert!(r.1.contains("Not done"), "{what}: the error page");
            }
        };
        let send = |form: Vec<(&'static str, String)>,
                    origin: Option<String>,
                    referer: Option<String>| {
            let bob = &bob;
            async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let r = bob
                    .post_from(
                        "/glint/ui/inbox/decide",
                        &form,
                        origin.as_deref(),
                        referer.as_deref(),
                    )
                    .await;
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        let own = Some(app.addr.clone());
        // No form token.
        forbidden("no token")(send(vec![("one", one.clone())], own.clone(), None).await);
        // Another session's token.
        forbidden("another session's token")(
            send(
                vec![("one", one.clone()), ("csrf", theirs.clone())],
                own.clone(),
                None,
            )
            .await,
        );
        // The right token from another origin, or from a page that hides its origin.
        forbidden("foreign origin")(
            send(
                vec![("one", one.clone()), ("csrf", mine.clone())],
                Some("http://evil.example".into()),
                None,
            )
            .await,
        );
        forbidden("null origin")(
            send(
                vec![("one", one.clone()), ("csrf", mine.clone())],
                Some("null".into()),
                None,
            )
            .await,
        );
        forbidden("no origin, foreign referer")(
            send(
                vec![("one", one.clone()), ("csrf", mine.clone())],
                None,
                Some("http://evil.example/x".into()),
            )
            .await,
        );
        forbidden("neither origin nor referer")(
            send(
                vec![("one", one.clone()), ("csrf", mine.clone())],
                None,
                None,
            )
            .await,
        );
        // Login and logout are checked too.
        let r = bob
            .post_from(
                "/glint/ui/logout",
                &[("csrf", &mine)],
                Some("http://evil.example"),
                None,
            )
            .await;
        assert_eq!(r.status(), 403);
        let r = Page::new(&app)
            .post_from(
                "/glint/ui/login",
                &[
                    ("username", "bob"),
                    ("password", "pass-bob"),
                    ("project", "beta"),
                ],
                Some("http://evil.example"),
                None,
            )
            .await;
        assert_eq!(r.status(), 403);
        assert!(r.headers().get(SET_COOKIE).is_none());
        // Nothing changed.
        assert_eq!(member_status(&app, &alice, &image, beta).await, "pending");
        // Without a session a POST goes to the login form, and changes nothing either.
        let r = Page::new(&app)
            .post("/glint/ui/inbox/decide", &[("one", &one), ("csrf", &mine)])
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()[LOCATION], "/glint/ui/login");
        assert_eq!(member_status(&app, &alice, &image, beta).await, "pending");
        // The session's own token from this origin (a same-origin Referer is enough) decides.
        let (s, _) = send(
            vec![("one", one.clone()), ("csrf", mine.clone())],
            None,
            Some(app.url("/glint/ui/inbox")),
        )
        .await;
        assert_eq!(s, 303);
        assert_eq!(member_status(&app, &alice, &image, beta).await, "accepted");
    }
);

crate::backend_test!(
    a_reader_sees_but_cannot_decide,
    config = |c| ui_config(c),
    |app| async move {
        let Some(env) = keystone_env() else { return };
        let bob = token_of(&env, "bob").await;
        let alpha = var(&env, "ALPHA_PROJECT_ID");
        let image = offer(
            &app,
            &bob,
            "offered-to-alpha",
            alpha,
            Some("for the readers"),
        )
        .await;
        let rita = Page::login(&app, "rita", "alpha").await;
        let (s, html) = rita.get("/glint/ui/inbox").await;
        assert_eq!(s, 200);
        assert!(html.contains("offered-to-alpha") && html.contains("for the readers"));
        assert!(
            !html.contains("name=\"one\"") && !html.contains("Accept selected"),
            "no decision buttons for a reader: {html}"
        );
        assert!(!html.contains("name=\"image\""), "no selection either");
        assert!(html.contains("can read its shares but not decide them"));
        // A forged decision with her own valid token is refused by the policy, as in the API.
        let csrf = csrf_of(&html);
        let one = format!("accepted:{image}");
        let r = rita
            .post("/glint/ui/inbox/decide", &[("one", &one), ("csrf", &csrf)])
            .await;
        assert_eq!(r.status(), 403);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("You are not authorized to complete glint:decide_inbox action."));
        let r = rita
            .post(
                "/glint/ui/inbox/decide",
                &[
                    ("status", "accepted"),
                    ("owner", var(&env, "BETA_PROJECT_ID")),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(r.status(), 403);
        assert_eq!(member_status(&app, &bob, &image, alpha).await, "pending");
        // The trust policy: shown, not changeable.
        let (s, html) = rita.get("/glint/ui/policy").await;
        assert_eq!(s, 200);
        assert!(html.contains("can read this policy but not change it"));
        assert!(!html.contains("Save policy"));
        let r = rita
            .post(
                "/glint/ui/policy",
                &[
                    ("owners", "x"),
                    ("untrusted", "allow"),
                    ("mode", "enforce"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(r.status(), 403);
        let (s, p) = api(
            &app,
            &token_of(&env, "alice").await,
            reqwest::Method::GET,
            &format!("/v2/glint/projects/{alpha}/share-policy"),
            None,
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(p["share_policy"]["auto_accept"]["owners"], json!([]));
        // Her own project's images: no forms to share or remove.
        let alice = token_of(&env, "alice").await;
        let own = offer(
            &app,
            &alice,
            "alpha-image",
            var(&env, "BETA_PROJECT_ID"),
            None,
        )
        .await;
        let (s, html) = rita.get("/glint/ui/outbox").await;
        assert_eq!(s, 200);
        assert!(html.contains("alpha-image"));
        assert!(
            // The base path is HTML-escaped in the page (`&#x2f;glint&#x2f;ui`).
            !html.contains("ui/outbox/add\"")
                && !html.contains("ui/outbox/remove\"")
                && !html.contains("ui/outbox/batch\"")
        );
        let r = rita
            .post(
                "/glint/ui/outbox/batch",
                &[
                    ("images", &own),
                    ("projects", var(&env, "SERVICE_PROJECT_ID")),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(r.status(), 403);
        assert_eq!(
            member_status(&app, &alice, &own, var(&env, "SERVICE_PROJECT_ID")).await,
            "http 404"
        );
        let r = rita
            .post(
                "/glint/ui/outbox/remove",
                &[
                    ("image", &own),
                    ("member", var(&env, "BETA_PROJECT_ID")),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(r.status(), 403);
        assert_eq!(
            member_status(&app, &alice, &own, var(&env, "BETA_PROJECT_ID")).await,
            "pending"
        );
    }
);

crate::backend_test!(
    names_and_notes_are_text,
    config = |c| ui_config(c),
    |app| async move {
        let Some(env) = keystone_env() else { return };
        let alice = token_of(&env, "alice").await;
        let beta = var(&env, "BETA_PROJECT_ID");
        let name = "<img src=x onerror=alert(1)>";
        let image = offer(
            &app,
            &alice,
            name,
            beta,
            Some("<script>alert('note')</script>"),
        )
        .await;
        let bob = Page::login(&app, "bob", "beta").await;
        let (s, html) = bob.get("/glint/ui/inbox").await;
        assert_eq!(s, 200);
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        assert!(
            html.contains("&lt;script&gt;alert(&#x27;note&#x27;)&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(!html.contains(name) && !html.contains("<script>"));
        // The owner changes the note from the outbox: stored as typed, shown as text.
        let page = Page::login(&app, "alice", "alpha").await;
        let csrf = page.csrf().await;
        let r = page
            .post(
                "/glint/ui/outbox/change",
                &[
                    ("image", &image),
                    ("member", beta),
                    ("expires", "2037-06-30"),
                    ("note", "<b>bold</b>"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        let (_, m) = api(
            &app,
            &alice,
            reqwest::Method::GET,
            &format!("/v2/images/{image}/members/{beta}"),
            None,
        )
        .await;
        assert_eq!(m["os_glint"]["note"], "<b>bold</b>");
        assert_eq!(m["os_glint"]["expires_at"], "2037-06-30T23:59:59Z");
        let (_, html) = page.get("/glint/ui/outbox").await;
        assert!(html.contains("&lt;b&gt;bold&lt;&#x2f;b&gt;") && !html.contains("<b>bold"));
        // A bad expiry is the API's own 400.
        let r = page
            .post(
                "/glint/ui/outbox/change",
                &[
                    ("image", &image),
                    ("member", beta),
                    ("expires", "2001-01-01"),
                    ("note", ""),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains("is not in the future"));
        // The member asks for a renewal of the share it accepted, from its inbox.
        let bob_token = token_of(&env, "bob").await;
        let (s, _) = api(
            &app,
            &bob_token,
            reqwest::Method::PUT,
            &format!("/v2/images/{image}/members/{beta}"),
            Some(json!({"status": "accepted"})),
        )
        .await;
        assert_eq!(s, 200);
        let (_, html) = bob.get("/glint/ui/inbox?status=accepted").await;
        assert!(html.contains("Ask for renewal"), "{html}");
        let bob_csrf = csrf_of(&html);
        let r = bob
            .post(
                "/glint/ui/inbox/renew",
                &[("renew", &image), ("csrf", &bob_csrf)],
            )
            .await;
        assert_eq!(r.status(), 303);
        let (_, m) = api(
            &app,
            &alice,
            reqwest::Method::GET,
            &format!("/v2/images/{image}/members/{beta}"),
            None,
        )
        .await;
        assert_eq!(m["os_glint"]["renewal_requested"], true);
        let (_, html) = bob.get("/glint/ui/inbox?status=accepted").await;
        assert!(html.contains("renewal asked") && !html.contains("Ask for renewal"));
        let (_, html) = page.get("/glint/ui/outbox").await;
        assert!(html.contains("renewal asked"));
        // The owner is no member of the share: its own request answers 404, as in the API.
        let r = page
            .post(
                "/glint/ui/inbox/renew",
                &[("renew", &image), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(
            r.status(),
            404,
            "alice is no member of her own image's share to beta"
        );
    }
);

crate::backend_test!(
    outbox_pages_and_hidden_offers,
    config = |c| {
        ui_config(c);
        c.limit_param_default = 2;
    },
    |app| async move {
        let Some(env) = keystone_env() else { return };
        let (alice, bob) = (token_of(&env, "alice").await, token_of(&env, "bob").await);
        let beta = var(&env, "BETA_PROJECT_ID");
        // Bob's policy hides offers from owners he does not trust.
        let (s, _) = api(
        &app,
        &bob,
        reqwest::Method::PUT,
        &format!("/v2/glint/projects/{beta}/share-policy"),
        Some(json!({"auto_accept": {"owners": [], "domains": [], "same_domain": false}, "untrusted": "hide", "mode": "enforce"})),
    )
    .await;
        assert_eq!(s, 200);
        for name in ["img-a", "img-b", "img-c"] {
            offer(&app, &alice, name, beta, None).await;
        }
        // The outbox, a page of two images at a time.
        let page = Page::login(&app, "alice", "alpha").await;
        let (s, html) = page.get("/glint/ui/outbox").await;
        assert_eq!(s, 200);
        assert!(html.contains("img-a") && html.contains("img-b") && !html.contains("img-c"));
        let at = html.find("/outbox?marker=").expect("a next page link") + "/outbox?marker=".len();
        let marker = &html[at..at + 36];
        let (s, html) = page.get(&format!("/glint/ui/outbox?marker={marker}")).await;
        assert_eq!(s, 200);
        assert!(html.contains("img-c") && !html.contains("img-a"));
        assert!(!html.contains("/outbox?marker="), "the last page");
        // Bob's inbox: nothing pending, the three offers under "hidden", still decidable.
        let bob_page = Page::login(&app, "bob", "beta").await;
        let (_, html) = bob_page.get("/glint/ui/inbox").await;
        assert!(
            html.contains("Pending <span class=\"count\">0</span>"),
            "{html}"
        );
        assert!(!html.contains("img-a"));
        let (s, html) = bob_page.get("/glint/ui/inbox?status=hidden&limit=5").await;
        assert_eq!(s, 200);
        assert!(html.contains("img-a") && html.contains("img-c") && html.contains("name=\"one\""));
        // The offers name their owner, learnt from alice's token (recorded off the request path).
        let owner = format!(
            "<span class=\"name\">alpha</span><br><code>{}</code>",
            var(&env, "ALPHA_PROJECT_ID")
        );
        let mut named = false;
        for _ in 0..50 {
            let (_, html) = bob_page.get("/glint/ui/inbox?status=hidden&limit=5").await;
            if html.contains(&owner) {
                named = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(named, "the owner's name in bob's inbox");
        // Bob's history has the change of his trust policy, about no image.
        let (s, html) = bob_page.get("/glint/ui/history").await;
        assert_eq!(s, 200);
        assert!(html.contains("share_policy.update"), "{html}");
        // Alice, the owner it concerns, does not read it.
        let (_, html) = page.get("/glint/ui/history").await;
        assert!(!html.contains("share_policy.update"), "{html}");
    }
);

crate::backend_test!(
    batch_share_from_the_outbox,
    config = |c| ui_config(c),
    |app| async move {
        let Some(env) = keystone_env() else { return };
        let alice = token_of(&env, "alice").await;
        let beta = var(&env, "BETA_PROJECT_ID");
        let mut ids = Vec::new();
        for name in ["batch-a", "batch-b"] {
            ids.push(shared_image(&app, &alice, name).await);
        }
        let page = Page::login(&app, "alice", "alpha").await;
        let (s, html) = page.get("/glint/ui/outbox").await;
        assert_eq!(s, 200);
        assert!(html.contains("ui/outbox/batch\""), "{html}");
        let csrf = csrf_of(&html);
        let form = |dry: bool| {
            let mut f = vec![
                ("csrf", csrf.clone()),
                ("images", ids[0].clone()),
                ("images", ids[1].clone()),
                ("projects", format!("{beta},\n{beta}")),
                ("note", "<b>golden</b>".to_owned()),
            ];
            if dry {
                f.push(("dry_run", "1".to_owned()));
            }
            f
        };
        let send = |f: Vec<(&'static str, String)>| {
            let page = &page;
            async move {
                let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let r = page.post("/glint/ui/outbox/batch", &pairs).await;
                let status = r.status().as_u16();
                (status, r.text().await.unwrap())
            }
        };
        // A dry run reports and changes nothing.
        let (s, html) = send(form(true)).await;
        assert_eq!(s, 200, "{html}");
        assert!(
            html.contains("Nothing was changed") && html.contains("created: 2"),
            "{html}"
        );
        for id in &ids {
            assert_eq!(member_status(&app, &alice, id, beta).await, "http 404");
        }
        // The real call creates both members, with the form's note, as pending offers.
        let (s, html) = send(form(false)).await;
        assert_eq!(s, 200, "{html}");
        assert!(
            !html.contains("Nothing was changed") && html.contains("created: 2"),
            "{html}"
        );
        for id in &ids {
            assert_eq!(member_status(&app, &alice, id, beta).await, "pending");
            let (_, m) = api(
                &app,
                &alice,
                reqwest::Method::GET,
                &format!("/v2/images/{id}/members/{beta}"),
                None,
            )
            .await;
            assert_eq!(m["os_glint"]["note"], "<b>golden</b>", "{m}");
            assert_eq!(m["os_glint"]["via"], "batch", "{m}");
        }
        // Again: every pair already exists.
        let (s, html) = send(form(false)).await;
        assert_eq!(s, 200);
        assert!(
            html.contains("exists: 2") && !html.contains("created:"),
            "{html}"
        );
        // Without the form token, nothing happens.
        let r = page
            .post(
                "/glint/ui/outbox/batch",
                &[
                    ("images", ids[0].as_str()),
                    ("projects", var(&env, "SERVICE_PROJECT_ID")),
                ],
            )
            .await;
        assert_eq!(r.status(), 403);
        assert_eq!(
            member_status(&app, &alice, &ids[0], var(&env, "SERVICE_PROJECT_ID")).await,
            "http 404"
        );
    }
);

/// The live member row of `project` on `image`, as the database holds it: its status.
fn row_status(app: &TestApp, image: &str, project: &str) -> Option<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
    }
    use diesel::RunQueryDsl;
    let mut c = app.db();
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT status FROM image_members WHERE deleted = false AND image_id = '{image}' \
         AND member = '{project}'"
    ))
    .load(&mut *c)
    .unwrap();
    rows.into_iter().next().map(|r| r.status)
}

crate::backend_test!(
    grants_made_decided_and_revoked_on_the_page,
    config = |c| ui_config(c),
    |app| async move {
        let Some(env) = keystone_env() else { return };
        // A domain of Keystone's with one project, whose member decides on the page.
        let mut ks = Ks::new(&env).await;
        let d = ks.domain().await;
        let p = ks.project(&d, None).await;
        let recipient = Page::with_token(&app, &ks.member_token(&p).await);
        let alice = token_of(&env, "alice").await;
        let image = shared_image(&app, &alice, "granted <i>base</i>").await;
        let owner = Page::login(&app, "alice", "alpha").await;
        let (s, html) = owner.get("/glint/ui/grants").await;
        assert_eq!(s, 200, "{html}");
        assert!(html.contains(">Grants</a>") && html.contains("ui/grants/create\""));
        assert!(html.contains("No grant has reached this project."));
        let csrf = csrf_of(&html);
        let grants = || app.count("SELECT COUNT(*) AS n FROM glint_grants");
        // The API's refusals, as its messages: an unknown domain, no images.
        let (s, html) = owner
            .send(
                "/glint/ui/grants/create",
                &[
                    ("target_kind", "domain"),
                    ("target_id", "no-such-domain"),
                    ("images", &image),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(s, 400, "{html}");
        assert!(
            html.contains("Domain no-such-domain is not a domain in Keystone"),
            "{html}"
        );
        let (s, html) = owner
            .send(
                "/glint/ui/grants/create",
                &[
                    ("target_kind", "domain"),
                    ("target_id", &d),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(s, 400, "{html}");
        assert!(html.contains("exactly one of them"), "{html}");
        // Without the form token: refused, nothing made.
        let (s, _) = owner
            .send(
                "/glint/ui/grants/create",
                &[
                    ("target_kind", "domain"),
                    ("target_id", &d),
                    ("images", &image),
                ],
            )
            .await;
        assert_eq!(s, 403);
        assert_eq!(grants(), 0);
        // Made: a pending offer to the domain's project, seen through the API.
        let r = owner
            .post(
                "/glint/ui/grants/create",
                &[
                    ("target_kind", "domain"),
                    ("target_id", &d),
                    ("images", &image),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()[LOCATION], "/glint/ui/grants?done=created&n=1");
        assert_eq!(grants(), 1);
        let (s, v) = api(&app, &alice, reqwest::Method::GET, "/v2/glint/grants", None).await;
        assert_eq!(s, 200);
        let g = &v["grants"][0];
        let gid = g["id"].as_str().unwrap().to_owned();
        assert_eq!(
            (
                g["target"]["domain"].as_str(),
                g["projects_reached"].as_i64()
            ),
            (Some(d.as_str()), Some(1)),
            "{v}"
        );
        assert_eq!(row_status(&app, &image, &p).as_deref(), Some("pending"));
        let (_, html) = owner.get("/glint/ui/grants?done=created&n=1").await;
        assert!(
            html.contains("shares offered: 1") && html.contains(&image),
            "{html}"
        );

        // The recipient: the grant, its owner, the image as text, Accept and Reject.
        let (s, html) = recipient.get("/glint/ui/grants").await;
        assert_eq!(s, 200, "{html}");
        assert!(html.contains(var(&env, "ALPHA_PROJECT_ID")) && html.contains(&image));
        assert!(html.contains("granted &lt;i&gt;base&lt;&#x2f;i&gt;") && !html.contains("<i>base"));
        assert!(
            html.contains("name=\"status\" value=\"accepted\""),
            "{html}"
        );
        let rcsrf = csrf_of(&html);
        // Without its form token, or with the owner's: nothing changes.
        for token in ["", csrf.as_str()] {
            let (s, _) = recipient
                .send(
                    "/glint/ui/grants/decide",
                    &[("grant", &gid), ("status", "accepted"), ("csrf", token)],
                )
                .await;
            assert_eq!(s, 403);
        }
        assert_eq!(row_status(&app, &image, &p).as_deref(), Some("pending"));
        // A project the grant did not reach: as for the API, no such grant.
        let bob = Page::login(&app, "bob", "beta").await;
        let (_, html) = bob.get("/glint/ui/grants").await;
        assert!(!html.contains(&gid) && html.contains("No grant has reached this project."));
        let bcsrf = csrf_of(&html);
        let (s, html) = bob
            .send(
                "/glint/ui/grants/decide",
                &[("grant", &gid), ("status", "accepted"), ("csrf", &bcsrf)],
            )
            .await;
        assert_eq!(s, 404, "{html}");
        assert!(html.contains(&format!("Grant {gid} not found.")));
        // Accepted on the page: in the API, the database, and the recipient's image list.
        let r = recipient
            .post(
                "/glint/ui/grants/decide",
                &[("grant", &gid), ("status", "accepted"), ("csrf", &rcsrf)],
            )
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()[LOCATION], "/glint/ui/grants?done=accepted&n=1");
        assert_eq!(member_status(&app, &alice, &image, &p).await, "accepted");
        assert_eq!(row_status(&app, &image, &p).as_deref(), Some("accepted"));
        let (s, v) = api(
            &app,
            recipient.cookie.as_deref().unwrap(),
            reqwest::Method::GET,
            "/v2/images",
            None,
        )
        .await;
        assert_eq!(s, 200);
        assert!(crate::helpers::image_ids(&v).contains(&image), "{v}");
        let (_, html) = recipient.get("/glint/ui/grants").await;
        assert!(
            html.contains("<span class=\"badge accepted\">accepted</span>"),
            "{html}"
        );
        assert!(!html.contains("value=\"accepted\"") && html.contains("value=\"rejected\""));

        // A reader of alpha sees the grant, no form, and a forged create is the policy's 403.
        let rita = Page::login(&app, "rita", "alpha").await;
        let (_, html) = rita.get("/glint/ui/grants").await;
        assert!(
            html.contains(&image)
                && !html.contains("ui/grants/create\"")
                && !html.contains("Revoke")
        );
        assert!(html.contains("can read its grants but not make or revoke them"));
        let (s, html) = rita
            .send(
                "/glint/ui/grants/create",
                &[
                    ("target_kind", "domain"),
                    ("target_id", &d),
                    ("images", &image),
                    ("csrf", &csrf_of(&html)),
                ],
            )
            .await;
        assert_eq!(s, 403, "{html}");
        assert!(html.contains("glint:create_grant"), "{html}");
        assert_eq!(grants(), 1);

        // Revoking asks first, then removes the grant and its shares.
        let (s, html) = owner
            .get(&format!("/glint/ui/grants/revoke?id={gid}"))
            .await;
        assert_eq!(s, 200, "{html}");
        assert!(html.contains("Revoke this grant?") && html.contains("projects it reached (1)"));
        let (s, _) = owner
            .send("/glint/ui/grants/revoke", &[("grant", &gid)])
            .await;
        assert_eq!(s, 403);
        assert_eq!(grants(), 1);
        let r = owner
            .post(
                "/glint/ui/grants/revoke",
                &[("grant", &gid), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(grants(), 0);
        assert_eq!(row_status(&app, &image, &p), None);
        let (s, _) = api(
            &app,
            &alice,
            reqwest::Method::GET,
            &format!("/v2/glint/grants/{gid}"),
            None,
        )
        .await;
        assert_eq!(s, 404);
        let (_, html) = recipient.get("/glint/ui/grants").await;
        assert!(!html.contains(&gid));
        ks.cleanup().await;
    }
);
