//! `/metrics`: Prometheus' text format, requests by route template, method and status, and the
//! notification counters; off with `[metrics] enabled = false`.

use serde_json::json;

use crate::helpers::{Backend, TestApp};

async fn scrape(app: &TestApp) -> String {
    let r = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    r.text().await.unwrap()
}

#[actix_web::test]
async fn requests_are_counted_by_route_template() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.caller("p1", "member,reader");
    assert_eq!(c.get("/v2/images").await.status(), 200);
    assert_eq!(c.get("/v2/images").await.status(), 200);
    let missing = "/v2/images/8c0a7b1e-1d32-4a6c-9f0e-2b7d3c4e5f60";
    assert_eq!(c.get(missing).await.status(), 404);
    let id = c.create_image(json!({"name": "m"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(c.get("/no/such/path").await.status(), 300);

    let text = scrape(&app).await;
    let line = |prefix: &str| -> Option<String> {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .map(str::to_owned)
    };
    assert_eq!(
        line(r#"glint_http_requests_total{method="GET",route="/v2/images",status="200"}"#)
            .as_deref(),
        Some(r#"glint_http_requests_total{method="GET",route="/v2/images",status="200"} 2"#)
    );
    assert!(
        line(r#"glint_http_requests_total{method="POST",route="/v2/images",status="201"}"#)
            .is_some(),
        "{text}"
    );
    // An id is never a label: the route is the template.
    assert!(!text.contains("8c0a7b1e") && !text.contains(&id), "{text}");
    let template = text
        .lines()
        .find(|l| l.contains(r#"status="404""#) && l.contains(r#"route="/v2/images/{"#));
    assert!(template.is_some(), "{text}");
    assert!(
        text.contains(r#"route="<unmatched>",status="300""#),
        "{text}"
    );
    assert!(
        line(r#"glint_http_request_duration_seconds_count{method="GET",route="/v2/images"}"#)
            .is_some_and(|l| l.ends_with(" 2")),
        "{text}"
    );
    for series in [
        "glint_notifications_queue_depth 0",
        "glint_notifications_dropped_total 0",
        "glint_notifications_published_total 0",
        "glint_notifications_broker_connected 0",
    ] {
        assert!(text.lines().any(|l| l == series), "{series}: {text}");
    }
}

#[actix_web::test]
async fn metrics_can_be_turned_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.metrics.enabled = false).await;
    let r = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

/// A series' value in a scrape (0 when absent from it, which the caller checks apart).
fn value(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[actix_web::test]
async fn data_pool_and_auth_series_move_with_their_actions() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.caller("p1", "member,reader");
    let before = scrape(&app).await;
    for series in [
        "glint_db_pool_acquired_total",
        "glint_db_pool_wait_seconds_total",
        "glint_db_pool_errors_total",
        "glint_token_cache_hits_total",
        "glint_token_cache_misses_total",
        "glint_keystone_calls_total",
        "glint_keystone_call_seconds_total",
        "glint_keystone_failures_total",
        "glint_bytes_uploaded_total",
        "glint_bytes_downloaded_total",
        "glint_uploads_in_progress",
        "glint_imports_in_progress",
    ] {
        let present = before.lines().any(|l| {
            l.strip_prefix(series)
                .is_some_and(|rest| rest.starts_with(' '))
        });
        assert!(present, "{series}: {before}");
    }
    let id = c
        .create_image(json!({"name": "m", "disk_format": "raw", "container_format": "bare"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(c.upload(&id, vec![1; 1000]).await.status(), 204);
    let r = c.get(&format!("/v2/images/{id}/file")).await;
    assert_eq!(r.bytes().await.unwrap().len(), 1000);
    let after = scrape(&app).await;
    // Process-wide counters (other tests run beside this one): at least this test's share.
    let moved = |name: &str| value(&after, name) - value(&before, name);
    assert!(moved("glint_bytes_uploaded_total") >= 1000.0, "{after}");
    assert!(moved("glint_bytes_downloaded_total") >= 1000.0, "{after}");
    assert!(moved("glint_db_pool_acquired_total") >= 1.0, "{after}");
}

/// With Keystone: a new token misses the cache and is sent to Keystone (a call and its time);
/// the same token again is a hit; Keystone unreachable is a failure.
#[actix_web::test]
async fn token_cache_and_keystone_series_move() {
    use crate::keystone::{keystone_config, keystone_env, token, var};
    let Some(env) = keystone_env() else { return };
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        keystone_config(&env, var(&env, "KEYSTONE_URL")),
    )
    .await;
    let alice = token(&env, "alice", Some("alpha")).await;
    let get = |t: &str| {
        app.client
            .get(app.url("/v2/images"))
            .header("X-Auth-Token", t)
            .send()
    };
    let before = scrape(&app).await;
    assert_eq!(get(&alice).await.unwrap().status(), 200);
    let mid = scrape(&app).await;
    assert_eq!(get(&alice).await.unwrap().status(), 200);
    let after = scrape(&app).await;
    let delta = |a: &str, b: &str, name: &str| value(b, name) - value(a, name);
    assert!(
        delta(&before, &mid, "glint_token_cache_misses_total") >= 1.0,
        "{mid}"
    );
    assert!(
        delta(&before, &mid, "glint_keystone_calls_total") >= 1.0,
        "{mid}"
    );
    assert!(
        delta(&before, &mid, "glint_keystone_call_seconds_total") > 0.0,
        "{mid}"
    );
    assert!(
        delta(&mid, &after, "glint_token_cache_hits_total") >= 1.0,
        "{after}"
    );

    // Keystone unreachable: the validation fails and is counted.
    let down = TestApp::spawn_with(
        Backend::Sqlite,
        keystone_config(&env, "http://127.0.0.1:9779/v3"),
    )
    .await;
    let before = scrape(&down).await;
    let r = down
        .client
        .get(down.url("/v2/images"))
        .header("X-Auth-Token", &alice)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let after = scrape(&down).await;
    assert!(
        delta(&before, &after, "glint_keystone_failures_total") >= 1.0,
        "{after}"
    );
}
