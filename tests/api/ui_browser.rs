//! The sharing web page in a real browser: Debian's Chromium driven through its chromedriver
//! (WebDriver, with `fantoccini`), against glint and the real Keystone. Two projects log in,
//! one shares, the other accepts, rejects and bulk-accepts; the owner removes a member; a
//! reader sees no buttons; a grant is made by one project and accepted by another. Every decision
//! is checked through the API afterwards.
//!
//! With `GLINT_UI_SCREENSHOTS=<dir>` each view is saved there at desktop and phone widths
//! (`scripts/ui-screenshots.sh` writes docs/ui/ this way).

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::TestApp;
use crate::keystone::{keystone_env, token, var};
use crate::ui::{api, member_status, offer, shared_image, ui_config};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free loopback port, in a process group of its own, stopped with the
/// browsers it started when dropped (a failing test leaves no Chromium behind).
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// `None` (the test skips) when the Debian packages are not installed.
    async fn start() -> Option<Driver> {
        if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists()
        {
            crate::helpers::skip("browser tests need Debian's chromium and chromium-driver");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(driver)
    }

    /// A headless Chromium session at desktop width.
    async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": CHROMIUM, "args": [
                "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--hide-scrollbars", "--force-device-scale-factor=1",
                "--disable-crash-reporter", "--disable-breakpad",
            ]}),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

/// Fill the login form and submit it.
async fn log_in(b: &Client, app: &TestApp, user: &str, project: &str) {
    b.goto(&app.url("/glint/ui/inbox")).await.unwrap();
    // Not logged in: the view sends to the login form.
    assert!(b
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/glint/ui/login"));
    b.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    b.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(&format!("pass-{user}"))
        .await
        .unwrap();
    b.find(Locator::Id("project"))
        .await
        .unwrap()
        .send_keys(project)
        .await
        .unwrap();
    click(b, "form:has(#username) button[type=submit]").await;
    let url = b.current_url().await.unwrap();
    assert!(
        url.path().ends_with("/glint/ui/inbox"),
        "{user} logged in: {url}"
    );
}

async fn log_out(b: &Client) {
    click(b, "header form button").await;
    let url = b.current_url().await.unwrap();
    assert!(
        url.path().ends_with("/glint/ui/login"),
        "{url}: {}",
        b.source().await.unwrap()
    );
}

/// Click `css` (a submit button or link) and wait until the next page has loaded.
async fn click(b: &Client, css: &str) {
    let el = b
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    // Mark the current document, so the next one is told apart even at the same URL.
    b.execute("document.documentElement.dataset.left = '1'", vec![])
        .await
        .unwrap();
    el.click().await.unwrap();
    let started = Instant::now();
    loop {
        let loaded = b
            .execute(
                "return document.readyState === 'complete' && !document.documentElement.dataset.left",
                vec![],
            )
            .await;
        if matches!(loaded, Ok(serde_json::Value::Bool(true))) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no page after clicking {css}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn text(b: &Client) -> String {
    b.find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Save the current view as `<name>-desktop.png` and `<name>-phone.png`, when asked to.
async fn screenshots(b: &Client, name: &str) {
    let Ok(dir) = std::env::var("GLINT_UI_SCREENSHOTS") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    for (width, height, label) in [(1280, 900, "desktop"), (390, 844, "phone")] {
        b.set_window_size(width, height).await.unwrap();
        b.refresh().await.unwrap();
        let png = b.screenshot().await.unwrap();
        std::fs::write(format!("{dir}/{name}-{label}.png"), png).unwrap();
    }
    b.set_window_size(1280, 900).await.unwrap();
}

crate::backend_test!(
    two_projects_share_and_decide_in_a_browser,
    config = |c| ui_config(c),
    |app| async move {
        let Some(env) = keystone_env() else { return };
        let Some(driver) = Driver::start().await else {
            return;
        };
        let (alpha, beta) = (var(&env, "ALPHA_PROJECT_ID"), var(&env, "BETA_PROJECT_ID"));
        let alice = token(&env, "alice", Some("alpha")).await;
        let bob = token(&env, "bob", Some("beta")).await;
        // Alice's shared images: the first is shared from the page, the others through the API.
        let html_name = "golden <b>2027</b>";
        let (s, img) = api(
        &app,
        &alice,
        reqwest::Method::POST,
        "/v2/images",
        Some(json!({"name": html_name, "visibility": "shared", "disk_format": "qcow2", "container_format": "bare"})),
    )
    .await;
        assert_eq!(s, 201);
        let golden = img["id"].as_str().unwrap().to_owned();
        let old = offer(&app, &alice, "old-base", beta, None).await;
        let c1 = offer(&app, &alice, "tools-a", beta, Some("monthly build")).await;
        let c2 = offer(&app, &alice, "tools-b", beta, None).await;

        let b = driver.browser().await;
        // Alice shares the first image with beta from the outbox, with a note holding HTML.
        log_in(&b, &app, "alice", "alpha").await;
        let cookies = b.get_all_cookies().await.unwrap();
        let session = cookies
            .iter()
            .find(|c| c.name() == "glint_ui_session")
            .expect("session cookie");
        assert_eq!(session.http_only(), Some(true));
        assert_eq!(format!("{:?}", session.same_site()), "Some(Strict)");
        assert_ne!(session.secure(), Some(true), "plain http");
        let alice_browser_token = session.value().to_owned();
        b.goto(&app.url("/glint/ui/outbox")).await.unwrap();
        let form = format!("form.add:has(input[name=image][value=\"{golden}\"])");
        b.find(Locator::Css(&format!("{form} input[name=member]")))
            .await
            .unwrap()
            .send_keys(beta)
            .await
            .unwrap();
        b.find(Locator::Css(&format!("{form} input[name=note]")))
            .await
            .unwrap()
            .send_keys("<i>please test</i>")
            .await
            .unwrap();
        click(&b, &format!("{form} button")).await;
        assert!(text(&b).await.contains("Member added."));
        let (s, m) = api(
            &app,
            &alice,
            reqwest::Method::GET,
            &format!("/v2/images/{golden}/members/{beta}"),
            None,
        )
        .await;
        assert_eq!(s, 200, "{m}");
        assert_eq!(
            (m["status"].as_str(), m["os_glint"]["note"].as_str()),
            (Some("pending"), Some("<i>please test</i>"))
        );
        screenshots(&b, "outbox").await;
        // Logging out revokes the browser's token.
        log_out(&b).await;
        let (s, _) = api(
            &app,
            &alice_browser_token,
            reqwest::Method::GET,
            "/v2/images",
            None,
        )
        .await;
        assert_eq!(s, 401);
        screenshots(&b, "login").await;

        // Bob sees four offers, the HTML in the name and note as text.
        log_in(&b, &app, "bob", "beta").await;
        let page = text(&b).await;
        assert!(page.contains("Pending 4"), "{page}");
        assert!(
            page.contains(html_name) && page.contains("<i>please test</i>"),
            "{page}"
        );
        assert!(
            b.find_all(Locator::Css("main b, main i"))
                .await
                .unwrap()
                .is_empty(),
            "no markup from data"
        );
        screenshots(&b, "inbox").await;
        // A form whose token was tampered with is refused, and changes nothing.
        b.execute(
        "document.querySelectorAll('input[name=csrf]').forEach(i => i.value = '00' + i.value.slice(2))",
        vec![],
    )
    .await
    .unwrap();
        click(
            &b,
            &format!("button[name=one][value=\"accepted:{golden}\"]"),
        )
        .await;
        assert!(text(&b)
            .await
            .contains("403 This form has expired or was not sent by this page"));
        assert_eq!(member_status(&app, &alice, &golden, beta).await, "pending");
        b.goto(&app.url("/glint/ui/inbox")).await.unwrap();
        // Accept one, reject one.
        click(
            &b,
            &format!("button[name=one][value=\"accepted:{golden}\"]"),
        )
        .await;
        assert!(text(&b).await.contains("Accepted: 1 changed"));
        assert_eq!(member_status(&app, &alice, &golden, beta).await, "accepted");
        click(&b, &format!("button[name=one][value=\"rejected:{old}\"]")).await;
        assert_eq!(member_status(&app, &alice, &old, beta).await, "rejected");
        // Select two and accept them together.
        for id in [&c1, &c2] {
            let css = format!("input[name=image][value=\"{id}\"]");
            b.find(Locator::Css(&css))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
        }
        click(&b, "button[name=status][value=accepted]").await;
        assert!(text(&b).await.contains("Accepted: 2 changed"));
        for id in [&c1, &c2] {
            assert_eq!(member_status(&app, &alice, id, beta).await, "accepted");
        }
        let page = text(&b).await;
        assert!(
            page.contains("Pending 0")
                && page.contains("Accepted 3")
                && page.contains("Rejected 1"),
            "{page}"
        );
        // The trust policy: trust alpha from now on.
        b.goto(&app.url("/glint/ui/policy")).await.unwrap();
        b.find(Locator::Id("owners"))
            .await
            .unwrap()
            .send_keys(alpha)
            .await
            .unwrap();
        click(&b, "main form button[type=submit]").await;
        assert!(text(&b).await.contains("Policy saved."));
        let (_, p) = api(
            &app,
            &bob,
            reqwest::Method::GET,
            &format!("/v2/glint/projects/{beta}/share-policy"),
            None,
        )
        .await;
        assert_eq!(p["share_policy"]["auto_accept"]["owners"], json!([alpha]));
        screenshots(&b, "policy").await;
        b.goto(&app.url("/glint/ui/history")).await.unwrap();
        let page = text(&b).await;
        assert!(
            page.contains("update via inbox") && page.contains("status: rejected"),
            "{page}"
        );
        screenshots(&b, "history").await;
        log_out(&b).await;

        // Alice removes beta from the old image.
        log_in(&b, &app, "alice", "alpha").await;
        b.goto(&app.url("/glint/ui/outbox")).await.unwrap();
        click(
        &b,
        &format!("form[action$=\"/outbox/remove\"]:has(input[name=image][value=\"{old}\"]):has(input[name=member][value=\"{beta}\"]) button"),
    )
    .await;
        assert!(text(&b).await.contains("Member removed."));
        assert_eq!(member_status(&app, &alice, &old, beta).await, "http 404");
        log_out(&b).await;

        // Rita, a reader of alpha, sees an offer to alpha but no decision buttons.
        let to_alpha = offer(&app, &bob, "for-alpha", alpha, None).await;
        log_in(&b, &app, "rita", "alpha").await;
        assert!(text(&b).await.contains("for-alpha"));
        assert!(b
            .find_all(Locator::Css(
                "main button[name=one], main button[name=status], input[name=image]"
            ))
            .await
            .unwrap()
            .is_empty());
        assert!(text(&b)
            .await
            .contains("can read its shares but not decide them"));
        assert_eq!(member_status(&app, &bob, &to_alpha, alpha).await, "pending");
        log_out(&b).await;
        b.close().await.unwrap();
    }
);

crate::backend_test!(
    a_grant_made_and_accepted_in_a_browser,
    config = |c| ui_config(c),
    |app| async move {
        let Some(env) = keystone_env() else { return };
        let Some(driver) = Driver::start().await else {
            return;
        };
        let beta = var(&env, "BETA_PROJECT_ID");
        let alice = token(&env, "alice", Some("alpha")).await;
        let bob = token(&env, "bob", Some("beta")).await;
        let image = shared_image(&app, &alice, "granted-base").await;
        let b = driver.browser().await;
        // Alice grants the image to beta's subtree from the page.
        log_in(&b, &app, "alice", "alpha").await;
        click(&b, "header nav a[href$=\"/grants\"]").await;
        assert!(text(&b).await.contains("This project has made no grant."));
        for (id, value) in [("grant-target", beta), ("grant-images", image.as_str())] {
            b.find(Locator::Id(id))
                .await
                .unwrap()
                .send_keys(value)
                .await
                .unwrap();
        }
        click(&b, "form[action$=\"/grants/create\"] button[type=submit]").await;
        let page = text(&b).await;
        assert!(
            page.contains("Grant made; shares offered: 1.") && page.contains(&image),
            "{page}"
        );
        assert_eq!(member_status(&app, &alice, &image, beta).await, "pending");
        screenshots(&b, "grants-owner").await;
        log_out(&b).await;

        // Bob accepts it on the page: the image is then in his project's image list.
        log_in(&b, &app, "bob", "beta").await;
        b.goto(&app.url("/glint/ui/grants")).await.unwrap();
        let page = text(&b).await;
        assert!(
            page.contains("granted-base") && page.contains("pending"),
            "{page}"
        );
        screenshots(&b, "grants-recipient").await;
        click(
            &b,
            "form[action$=\"/grants/decide\"] button[value=accepted]",
        )
        .await;
        assert!(text(&b)
            .await
            .contains("Grant accepted; images changed: 1."));
        let (s, v) = api(&app, &bob, reqwest::Method::GET, "/v2/images", None).await;
        assert_eq!(s, 200);
        assert!(crate::helpers::image_ids(&v).contains(&image), "{v}");
        log_out(&b).await;
        b.close().await.unwrap();
    }
);
