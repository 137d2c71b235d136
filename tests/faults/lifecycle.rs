//! The real glint binary as a service manager runs it: the request log line and request ids on
//! WARN lines, SIGHUP reloading the policy file and the log level, SIGTERM draining an upload in
//! flight and exiting 0, and readiness on `NOTIFY_SOCKET` (a datagram socket the test binds).

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::Backend;
use crate::on_each_backend;
use crate::process::{call, free_port, Deployment, Glint};

fn kill(glint: &Glint, signal: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(glint.child.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal}");
}

/// Waits (bounded) until glint's log holds `needle`, then returns the log.
async fn log_with(d: &Deployment, needle: &str) -> String {
    for _ in 0..400 {
        let log = d.log();
        if log.contains(needle) {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("glint never logged {needle:?}; log:\n{}", d.log());
}

fn lines_with<'a>(log: &'a str, needle: &str) -> Vec<&'a str> {
    log.lines().filter(|l| l.contains(needle)).collect()
}

async fn request_log_line(backend: Backend) {
    let d = Deployment::new(backend, "", "");
    let client = reqwest::Client::new();
    let _glint = d.start(&client).await;
    let r = client
        .get(format!("{}/v2/images?limit=3&sort_key=name", d.base))
        .header("X-Project-Id", "proj-a")
        .header("X-User-Id", "user-a")
        .header("X-Roles", "member")
        .header("X-Openstack-Request-Id", "req-log-line-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let log = log_with(&d, "req-log-line-1").await;
    let line = lines_with(&log, "request_id=req-log-line-1")
        .into_iter()
        .find(|l| l.contains(" INFO ") && l.contains("status=200"))
        .unwrap_or_else(|| panic!("no access line in:\n{log}"));
    for field in [
        "user_id=user-a",
        "project_id=proj-a",
        "method=GET",
        "path=/v2/images?limit=3&sort_key=name",
        "status=200",
        "duration_ms=",
    ] {
        assert!(line.contains(field), "{field} missing from {line}");
    }

    // A WARN from the store's blocking thread, during an upload, carries the upload's id: data
    // that is not the declared disk_format, accepted because the check is off.
    let f = Deployment::new(
        backend,
        "",
        "[image_format]\nrequire_image_format_match = false\n",
    );
    let _glint = f.start(&client).await;
    let id = new_image(
        &client,
        &f.base,
        json!({"disk_format": "qcow2", "container_format": "bare"}),
    )
    .await;
    let r = client
        .put(format!("{}/v2/images/{}/file", f.base, id))
        .header("X-Project-Id", "p1")
        .header("X-Roles", "member")
        .header("Content-Type", "application/octet-stream")
        .header("X-Openstack-Request-Id", "req-store-warn-4")
        .body(vec![7u8; 70_000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let log = log_with(&f, "did not match").await;
    let warn = lines_with(&log, "did not match");
    assert!(
        warn.iter()
            .all(|l| l.contains(" WARN ") && l.contains("request_id=req-store-warn-4")),
        "{log}"
    );

    // A WARN logged while serving a request carries that request's id: a token that cannot be
    // validated because Keystone does not answer (nothing listens on its port).
    let k = Deployment::new(
        backend,
        "auth_strategy = keystone\n",
        &format!(
            "[keystone_authtoken]\nauth_url = http://127.0.0.1:{}/v3\nusername = glint\n\
             password = x\nproject_name = service\nhttp_connect_timeout = 1\n\
             http_request_max_retries = 0\n",
            free_port()
        ),
    );
    let _glint = k.start(&client).await;
    let r = client
        .get(format!("{}/v2/images", k.base))
        .header("X-Auth-Token", "some-token")
        .header("X-Openstack-Request-Id", "req-warned-2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["x-openstack-request-id"], "req-warned-2");
    let log = log_with(&k, "status=503").await;
    let warns: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .filter(|l| !l.contains("configuration") && !l.contains("auth_strategy"))
        .collect();
    assert!(!warns.is_empty(), "no WARN line in:\n{log}");
    for l in &warns {
        assert!(
            l.contains("request_id=req-warned-2"),
            "WARN without request id: {l}"
        );
    }
    assert!(!log.contains("some-token"), "the token reached the log");
}

on_each_backend! { tokio::test, request_log_line =>
request_log_line_sqlite, request_log_line_postgres, request_log_line_mysql }

/// A new image of p1's made with `body`; its id (asserting 201).
async fn new_image(client: &reqwest::Client, base: &str, body: serde_json::Value) -> String {
    let (s, img) = call(
        client,
        reqwest::Method::POST,
        format!("{base}/v2/images"),
        Some(body.to_string().into_bytes()),
        "application/json",
    )
    .await;
    assert_eq!(s, 201, "{img}");
    img["id"].as_str().unwrap().to_owned()
}

/// Waits (at most 400 looks, 25 ms apart) for the image to be `saving`: its upload is served.
async fn until_saving(client: &reqwest::Client, base: &str, id: &str) {
    for _ in 0..400 {
        let (_, v) = call(
            client,
            reqwest::Method::GET,
            format!("{base}/v2/images/{id}"),
            None,
            "",
        )
        .await;
        if v["status"] == "saving" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn list_status(client: &reqwest::Client, base: &str) -> u16 {
    call(
        client,
        reqwest::Method::GET,
        format!("{base}/v2/images"),
        None,
        "",
    )
    .await
    .0
}

async fn sighup_reloads(backend: Backend) {
    let pdir = tempfile::tempdir().unwrap();
    let policy = pdir.path().join("policy.yaml");
    std::fs::write(&policy, "\"get_images\": \"role:member\"\n").unwrap();
    let d = Deployment::new(
        backend,
        "",
        &format!("[oslo_policy]\npolicy_file = {}\n", policy.display()),
    );
    let client = reqwest::Client::new();
    let glint = d.start(&client).await;
    assert_eq!(list_status(&client, &d.base).await, 200);
    assert!(d.log().contains("level=\"info\""), "{}", d.log());

    // A policy that denies listing, and debug logging: in force after SIGHUP, with requests
    // answered all along.
    std::fs::write(&policy, "\"get_images\": \"!\"\n").unwrap();
    let mut conf = std::fs::read_to_string(d.config_path()).unwrap();
    conf = conf.replacen("[DEFAULT]\n", "[DEFAULT]\ndebug = True\n", 1);
    // An option SIGHUP cannot apply: named in a WARN, not applied.
    conf = conf.replacen("workers = 2\n", "workers = 3\n", 1);
    std::fs::write(d.config_path(), conf).unwrap();
    kill(&glint, "HUP");
    let mut statuses = Vec::new();
    for _ in 0..400 {
        let s = list_status(&client, &d.base).await;
        statuses.push(s);
        if s == 403 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(statuses.last(), Some(&403), "the new policy never applied");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 403),
        "{statuses:?}"
    );
    log_with(&d, "level=\"debug\"").await;
    log_with(&d, "policy reloaded").await;
    let log = log_with(&d, "not applied by SIGHUP").await;
    let pending = lines_with(&log, "not applied by SIGHUP");
    assert!(
        pending.len() == 1
            && pending[0].contains(" WARN ")
            && pending[0].contains("[DEFAULT] workers"),
        "{log}"
    );
    assert!(!pending[0].contains("debug"), "{}", pending[0]);
    // 4xx answers are logged at DEBUG: seen now.
    let r = client
        .get(format!("{}/v2/images/no-such-image", d.base))
        .header("X-Project-Id", "p1")
        .header("X-Openstack-Request-Id", "req-debug-3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let log = log_with(&d, "status=404").await;
    assert!(
        lines_with(&log, "req-debug-3")
            .iter()
            .any(|l| l.contains(" DEBUG ")),
        "no DEBUG line for the 404 after the reload:\n{log}"
    );

    // A broken policy file: ERROR, and the policy in force stays.
    std::fs::write(
        &policy,
        "\"get_images\": \"rule:a\"\n\"a\": \"rule:get_images\"\n",
    )
    .unwrap();
    kill(&glint, "HUP");
    let log = log_with(&d, "policy file refused").await;
    assert!(
        lines_with(&log, "policy file refused")
            .iter()
            .all(|l| l.contains(" ERROR ")),
        "{log}"
    );
    assert_eq!(list_status(&client, &d.base).await, 403);
    assert!(glint_alive(&glint));
}

fn glint_alive(glint: &Glint) -> bool {
    Command::new("kill")
        .arg("-0")
        .arg(glint.child.id().to_string())
        .status()
        .unwrap()
        .success()
}

on_each_backend! { tokio::test, sighup_reloads =>
sighup_reloads_sqlite, sighup_reloads_postgres, sighup_reloads_mysql }

/// The next datagram on the notify socket (bounded wait).
fn notified(sock: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).expect("no sd_notify message");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

async fn sigterm_drains(backend: Backend) {
    let d = Deployment::new(backend, "", "");
    let sdir = tempfile::tempdir().unwrap();
    let sock_path = sdir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let client = reqwest::Client::new();
    let mut glint = d
        .start_with_env(&client, &[("NOTIFY_SOCKET", sock_path.as_os_str())])
        .await;
    let ready = notified(&sock);
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready:?}");

    let id = new_image(
        &client,
        &d.base,
        json!({"disk_format": "raw", "container_format": "bare"}),
    )
    .await;
    // An upload in flight: half its body sent when SIGTERM arrives.
    let data: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut sock_up = tokio::net::TcpStream::connect(("127.0.0.1", d.port))
        .await
        .unwrap();
    let head = format!(
        "PUT /v2/images/{id}/file HTTP/1.1\r\nHost: x\r\nX-Project-Id: p1\r\nX-Roles: member\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        data.len()
    );
    sock_up.write_all(head.as_bytes()).await.unwrap();
    sock_up.write_all(&data[..2_000_000]).await.unwrap();
    // The upload has begun (the image is saving) before the signal.
    until_saving(&client, &d.base, &id).await;
    kill(&glint, "TERM");
    let stopping = notified(&sock);
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "{stopping:?}");
    // New connections are refused while the upload finishes.
    let mut refused = false;
    for _ in 0..400 {
        if std::net::TcpStream::connect(("127.0.0.1", d.port)).is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(refused, "glint still accepts connections while draining");
    sock_up.write_all(&data[2_000_000..]).await.unwrap();
    let mut answer = String::new();
    sock_up.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    let status = tokio::task::spawn_blocking(move || glint.child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0), "exit status");
    let log = d.log();
    assert!(log.contains("drained; exiting"), "{log}");

    // The data is all there after a restart.
    let _glint = d.start(&client).await;
    let (s, v) = call(
        &client,
        reqwest::Method::GET,
        format!("{}/v2/images/{id}", d.base),
        None,
        "",
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["status"], "active");
    assert_eq!(v["size"], data.len());
    let got = client
        .get(format!("{}/v2/images/{id}/file", d.base))
        .header("X-Project-Id", "p1")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(got[..] == data[..], "downloaded data differs");
}

on_each_backend! { tokio::test, sigterm_drains =>
sigterm_drains_sqlite, sigterm_drains_postgres, sigterm_drains_mysql }

/// `glint serve` with no configuration file (only the port moved off Glance's): one ERROR
/// line at start says what to do next, and so does the 401.
#[tokio::test]
async fn first_start_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let log_path = dir.path().join("glint.log");
    let child = Command::new(env!("CARGO_BIN_EXE_glint"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("serve")
        .env_remove("GLINT_LOG")
        .env_remove("GLINT_CONFIG_FILE")
        .env("GLINT__DEFAULT__BIND_PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let _glint = Glint { child };
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/v2/images");
    let mut answer = None;
    for _ in 0..400 {
        if let Ok(r) = client.get(&url).send().await {
            answer = Some((r.status().as_u16(), r.text().await.unwrap()));
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let (status, body) = answer.expect("glint did not start");
    assert_eq!(status, 401);
    assert!(body.contains("[keystone_authtoken] auth_url"), "{body}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    let advice = lines_with(&log, "no Keystone configured");
    assert_eq!(advice.len(), 1, "{log}");
    assert!(advice[0].contains(" ERROR "), "{log}");
    assert!(advice[0].contains("auth_strategy = noauth"), "{log}");
}

/// A second SIGTERM during a drain does not wait for the upload still in flight: exit 1 now.
#[tokio::test]
async fn second_sigterm_exits_at_once() {
    let d = Deployment::new(Backend::Sqlite, "", "");
    let client = reqwest::Client::new();
    let mut glint = d.start(&client).await;
    let id = new_image(
        &client,
        &d.base,
        json!({"disk_format": "raw", "container_format": "bare"}),
    )
    .await;
    let mut up = tokio::net::TcpStream::connect(("127.0.0.1", d.port))
        .await
        .unwrap();
    let head = format!(
        "PUT /v2/images/{id}/file HTTP/1.1\r\nHost: x\r\nX-Project-Id: p1\r\nX-Roles: member\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: 10000000\r\n\r\n"
    );
    up.write_all(head.as_bytes()).await.unwrap();
    up.write_all(&[1u8; 100_000]).await.unwrap();
    // The upload is being served (not still waiting in the listen queue) before the signals.
    until_saving(&client, &d.base, &id).await;
    kill(&glint, "TERM");
    log_with(&d, "draining").await;
    kill(&glint, "TERM");
    let status = tokio::task::spawn_blocking(move || glint.child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(d.log().contains("second stop signal"), "{}", d.log());
}
