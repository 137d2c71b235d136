//! `/healthcheck` as oslo.middleware's: the disable file, formats, HEAD, and the database check.

use serde_json::json;

use crate::helpers::{backends, drop_pg_database, skip, Backend, TestApp};

async fn get(app: &TestApp, accept: &str) -> (u16, String, String) {
    let r = app
        .client
        .get(app.url("/healthcheck"))
        .header("Accept", accept)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    (status, ct, r.text().await.unwrap())
}

async fn head(app: &TestApp) -> u16 {
    app.client
        .head(app.url("/healthcheck"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[actix_web::test]
async fn disable_by_file() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("healthcheck_disable");
    let path = flag.clone();
    let app = TestApp::spawn_with(Backend::Sqlite, move |c| {
        c.healthcheck.disable_by_file_path = Some(path);
    })
    .await;
    assert_eq!(
        get(&app, "*/*").await,
        (200, "text/plain; charset=UTF-8".into(), "OK".into())
    );
    assert_eq!(head(&app).await, 204);

    std::fs::write(&flag, b"").unwrap();
    assert_eq!(
        get(&app, "text/plain").await,
        (
            503,
            "text/plain; charset=UTF-8".into(),
            "DISABLED BY FILE".into()
        )
    );
    let (s, ct, body) = get(&app, "application/json").await;
    assert_eq!((s, ct.as_str()), (503, "application/json; charset=UTF-8"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        json!({"detailed": false, "reasons": ["DISABLED BY FILE"]})
    );
    let (s, ct, body) = get(&app, "text/html").await;
    assert_eq!((s, ct.as_str()), (503, "text/html; charset=UTF-8"));
    assert!(body.contains("<TD>DISABLED BY FILE</TD>"), "{body}");
    assert_eq!(head(&app).await, 503);

    std::fs::remove_file(&flag).unwrap();
    assert_eq!(get(&app, "text/plain").await.0, 200);
}

#[actix_web::test]
async fn detailed_json_names_each_check() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.healthcheck.detailed = true).await;
    let (s, _, body) = get(&app, "application/json").await;
    assert_eq!(s, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["detailed"], true);
    assert_eq!(
        v["reasons"],
        json!([{"class": "DisableByFileHealthcheck", "details": "", "reason": "OK"}])
    );
    assert!(v["now"].is_string());
}

#[actix_web::test]
async fn database_down_is_503() {
    if !backends().contains(&Backend::Postgres) {
        skip("postgres not in GLINT_TEST_BACKENDS");
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    assert_eq!(get(&app, "text/plain").await.0, 200);
    // The database vanishes under the running service (its connections are terminated).
    drop_pg_database(app.pg_db().unwrap());
    assert_eq!(
        get(&app, "text/plain").await,
        (
            503,
            "text/plain; charset=UTF-8".into(),
            "OK\nDATABASE UNAVAILABLE".into()
        )
    );
    assert_eq!(head(&app).await, 503);
    // Requests that need the database fail too, and the healthcheck said so.
    let status = app.caller("p1", "member").get("/v2/images").await.status();
    assert!(status.is_server_error(), "{status}");
}
