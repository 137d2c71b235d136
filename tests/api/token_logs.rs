//! Tokens never reach the logs: the real glint binary with debug logging, in
//! front of the real Keystone (through the relay of `keystone.rs`, so that
//! Keystone can be made to refuse or hang), serves good, bad, revoked and
//! unvalidatable tokens; none of them, nor the service password, appears in
//! what it logged.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;

use crate::keystone::{keystone_env, relay, token, var, FORWARD, HANG, REFUSE};

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn status(client: &reqwest::Client, method: reqwest::Method, url: &str, tok: &str) -> u16 {
    let mut rb = client
        .request(method.clone(), url)
        .header("X-Auth-Token", tok)
        .header("Accept", "application/json");
    if method == reqwest::Method::POST {
        rb = rb.json(&json!({"name": "logged"}));
    }
    rb.send().await.unwrap().status().as_u16()
}

#[actix_web::test]
async fn tokens_never_in_debug_logs() {
    let Some(env) = keystone_env() else { return };
    let ks = var(&env, "KEYSTONE_URL").to_owned();
    let (relay_url, mode) = relay(ks.trim_start_matches("http://").to_owned()).await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = dir.path().join("glint-api.conf");
    let mut f = std::fs::File::create(&conf).unwrap();
    write!(
        f,
        "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\nauth_strategy = keystone\nworkers = 1\n\
         [database]\nconnection = sqlite:///{}/glint.db\n\
         [keystone_authtoken]\nwww_authenticate_uri = {ks}\nauth_url = {relay_url}\n\
         username = {}\npassword = {}\nproject_name = {}\nhttp_connect_timeout = 2\n\
         http_request_max_retries = 0\n",
        dir.path().display(),
        var(&env, "GLINT_SERVICE_USER"),
        var(&env, "GLINT_SERVICE_PASSWORD"),
        var(&env, "GLINT_SERVICE_PROJECT"),
    )
    .unwrap();
    drop(f);
    let log_path = dir.path().join("glint.log");
    let child = Command::new(env!("CARGO_BIN_EXE_glint"))
        .arg("--config-file")
        .arg(&conf)
        .arg("--data-dir")
        .arg(dir.path())
        .arg("serve")
        .env("GLINT_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("start glint");
    let glint = Child(child);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if client
            .get(format!("{base}/healthcheck"))
            .send()
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "glint did not start");
    let list = format!("{base}/v2/images");
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;

    // Good tokens: reads and a write.
    let alice = token(&env, "alice", Some("alpha")).await;
    let bob = token(&env, "bob", Some("beta")).await;
    assert_eq!(status(&client, get.clone(), &list, &alice).await, 200);
    assert_eq!(status(&client, post.clone(), &list, &alice).await, 201);
    assert_eq!(status(&client, get.clone(), &list, &bob).await, 200);
    let limited = format!("{list}?limit=3");
    assert_eq!(status(&client, get.clone(), &limited, &bob).await, 200);
    // A reader denied a write (403 is logged with the request).
    let rita = token(&env, "rita", Some("alpha")).await;
    assert_eq!(status(&client, post.clone(), &list, &rita).await, 403);
    // Bad tokens: garbage and a forged Fernet-looking one.
    let forged = format!("gAAAAAB{}", "Zm9yZ2VkLXRva2Vu".repeat(8));
    for bad in ["not-a-token-Qx7vLk2pZr", forged.as_str()] {
        assert_eq!(status(&client, get.clone(), &list, bad).await, 401, "{bad}");
    }
    // A revoked token: Keystone says it is not found.
    let revoked = token(&env, "alice", Some("alpha")).await;
    let r = client
        .delete(format!("{ks}/v3/auth/tokens"))
        .header("X-Auth-Token", &revoked)
        .header("X-Subject-Token", &revoked)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "revoke");
    assert_eq!(status(&client, get.clone(), &list, &revoked).await, 401);
    // Keystone refusing, then hanging: tokens glint has not seen get 503.
    let mut unseen = Vec::new();
    for m in [REFUSE, HANG] {
        let t = token(&env, "bob", Some("beta")).await;
        mode.store(m, Ordering::SeqCst);
        assert_eq!(
            status(&client, get.clone(), &list, &t).await,
            503,
            "mode {m}"
        );
        mode.store(FORWARD, Ordering::SeqCst);
        unseen.push(t);
    }
    drop(glint);

    let log = std::fs::read_to_string(&log_path).unwrap();
    // The log is really at debug level and saw the failures (so the test can fail).
    assert!(log.contains("DEBUG"), "no debug lines:\n{log}");
    assert!(log.lines().count() > 10, "log too short:\n{log}");
    // The access line says who asked: the token's user and project, never the token.
    let alice_line = log
        .lines()
        .find(|l| {
            l.contains("request") && l.contains(&format!("user_id={}", var(&env, "ALICE_USER_ID")))
        })
        .unwrap_or_else(|| panic!("no access line with alice's user id:\n{log}"));
    assert!(
        alice_line.contains(&format!("project_id={}", var(&env, "ALPHA_PROJECT_ID"))),
        "{alice_line}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("?limit=3") && l.contains(var(&env, "BOB_USER_ID"))),
        "no access line with bob's query:\n{log}"
    );
    // A request refused before authentication has no identity.
    assert!(
        log.lines()
            .any(|l| l.contains("status=401") && l.contains("user_id=-")),
        "{log}"
    );
    // Each 503 is logged once (not once per rendering of the error).
    assert_eq!(
        log.matches("service unavailable").count(),
        2,
        "503s logged:\n{log}"
    );
    let mut secrets: Vec<(&str, String)> = vec![
        ("alice", alice),
        ("bob", bob),
        ("rita", rita),
        ("revoked", revoked),
        ("garbage", "not-a-token-Qx7vLk2pZr".into()),
        ("forged", forged),
        (
            "service password",
            var(&env, "GLINT_SERVICE_PASSWORD").to_owned(),
        ),
    ];
    for t in unseen {
        secrets.push(("unvalidated", t));
    }
    for (what, secret) in &secrets {
        assert!(!log.contains(secret.as_str()), "{what} token in the log");
        // Nor a recognisable piece of it (Fernet tokens share their first bytes).
        if secret.len() > 40 {
            let piece = &secret[16..40];
            assert!(!log.contains(piece), "part of the {what} token in the log");
        }
    }
}
