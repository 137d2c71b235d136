//! The connection pool hands out connections without a round trip per request,
//! yet a connection the server has closed is not used twice.

use diesel::{Connection, RunQueryDsl};
use serde_json::json;

use crate::helpers::{backends, pg_admin_url, Backend, TestApp};

#[actix_web::test]
async fn connections_closed_by_the_server_are_replaced() {
    if !backends().contains(&Backend::Postgres) {
        crate::helpers::skip("postgres not in GLINT_TEST_BACKENDS");
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    let c = app.caller("p1", "member");
    let id = c.create_image(json!({"name": "x"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v2/images/{id}");
    for _ in 0..4 {
        assert_eq!(c.get(&path).await.status(), 200);
    }
    // The server ends every session of this database, as a restart would.
    let db = app.pg_db().unwrap().to_owned();
    let mut admin = diesel::PgConnection::establish(&pg_admin_url()).unwrap();
    let killed = diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{db}' AND pid <> pg_backend_pid()"
    ))
    .execute(&mut admin)
    .unwrap();
    assert!(killed >= 1, "glint held no connection to {db}");
    // Right away, before any idle-time ping: at most one request meets a dead
    // connection, and it is a retryable 503, never a 500; the pool then recovers.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(c.get(&path).await.status().as_u16());
    }
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 503).count() <= 1,
        "{statuses:?}"
    );
    assert_eq!(statuses[statuses.len() - 6..], [200; 6], "{statuses:?}");
}
