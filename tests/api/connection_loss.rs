//! The database server drops glint's connections (a failover, an administrator's KILL, an idle
//! timeout): requests meanwhile get a 503 or succeed on a fresh connection, never a 500, glint
//! recovers by itself within seconds, and nothing it acknowledged is lost. PostgreSQL's restart
//! under load is tests/faults/db_faults.rs; this is the lighter case both servers share.

use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl};
use serde_json::json;

use crate::helpers::{
    backends, json as read_json, mysql_admin_url, pg_admin_url, skip, Backend, TestApp,
};

/// Close every server-side connection of the app's database, from an administrator's session.
fn kill_connections(app: &TestApp) -> usize {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    match app.backend {
        Backend::Postgres => {
            let db = app.pg_db().unwrap();
            let mut c = diesel::PgConnection::establish(&pg_admin_url()).unwrap();
            let ids: Vec<Id> = diesel::sql_query(format!(
                "SELECT pid::bigint AS id FROM pg_stat_activity WHERE datname = '{db}'"
            ))
            .load(&mut c)
            .unwrap();
            for i in &ids {
                let _ = diesel::sql_query(format!("SELECT pg_terminate_backend({})", i.id))
                    .execute(&mut c);
            }
            ids.len()
        }
        Backend::Mysql => {
            let db = app.mysql_db().unwrap();
            let mut c = diesel::MysqlConnection::establish(&mysql_admin_url()).unwrap();
            let ids: Vec<Id> = diesel::sql_query(format!(
                "SELECT CAST(ID AS SIGNED) AS id FROM information_schema.PROCESSLIST WHERE DB = '{db}'"
            ))
            .load(&mut c)
            .unwrap();
            for i in &ids {
                let _ = diesel::sql_query(format!("KILL {}", i.id)).execute(&mut c);
            }
            ids.len()
        }
        Backend::Sqlite => unreachable!("SQLite has no server connections"),
    }
}

async fn killed_connections(backend: Backend) {
    if !backends().contains(&backend) {
        skip(&format!("{backend:?} not in GLINT_TEST_BACKENDS"));
        return;
    }
    let app = TestApp::spawn(backend).await;
    let c = app.caller("p1", "member");
    let mut acked = Vec::new();
    for round in 0..3 {
        let (s, v) = read_json(
            c.post("/v2/images", &json!({"name": format!("r{round}")}))
                .await,
        )
        .await;
        assert_eq!(s, 201, "{v}");
        acked.push(v["id"].as_str().unwrap().to_owned());
        assert!(
            kill_connections(&app) > 0,
            "round {round}: no connection to close"
        );
        // Reads and writes right after: each either succeeds or is told to retry.
        for i in 0..4 {
            let (s, v) = read_json(c.get("/v2/images").await).await;
            assert!(s == 200 || s == 503, "round {round} read {i}: {s} {v}");
            let r = c
                .post("/v2/images", &json!({"name": format!("r{round}-{i}")}))
                .await;
            let (s, v) = read_json(r).await;
            assert!(s == 201 || s == 503, "round {round} write {i}: {s} {v}");
            if s == 201 {
                acked.push(v["id"].as_str().unwrap().to_owned());
            }
        }
        // Recovered by itself.
        let started = Instant::now();
        loop {
            let (s, _) = read_json(c.get("/v2/images").await).await;
            if s == 200 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "round {round}: no recovery in 10 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // Every acknowledged image is there.
    let (_, v) = read_json(c.get("/v2/images?limit=100").await).await;
    let listed: Vec<&str> = v["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    for id in &acked {
        assert!(listed.contains(&id.as_str()), "{id} acknowledged but gone");
    }
}

#[actix_web::test]
async fn killed_connections_postgres() {
    killed_connections(Backend::Postgres).await;
}

#[actix_web::test]
async fn killed_connections_mysql() {
    killed_connections(Backend::Mysql).await;
}
