//! Schemas endpoints, and both database backends ending up with one schema.

use diesel::RunQueryDsl;

use crate::backend_test;
use crate::helpers::{json, Backend, TestApp};

backend_test!(schema_documents, |app| async move {
    let c = app.caller("p1", "reader");
    for name in ["image", "images", "member", "members"] {
        let (s, v) = json(c.get(&format!("/v2/schemas/{name}")).await).await;
        assert_eq!(s, 200);
        assert_eq!(v["name"], name);
    }
    let (_, v) = json(c.get("/v2/schemas/image").await).await;
    assert_eq!(
        v["properties"]["visibility"]["enum"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(v["additionalProperties"]["type"], "string");
    assert_eq!(c.get("/v2/schemas/nothing").await.status(), 404);
    let r = c
        .request(reqwest::Method::POST, "/v2/schemas/image")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
});

#[derive(diesel::QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Col {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    nullable: bool,
}

/// Table, column and nullability of every glint table, from each backend's catalog.
fn columns(app: &TestApp) -> Vec<Col> {
    let mut conn = app.db();
    let sql = match app.backend {
        Backend::Sqlite => {
            "SELECT m.name AS table_name, p.name AS column_name, p.\"notnull\" = 0 AS nullable \
                            FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                            WHERE m.type = 'table' AND m.name LIKE 'image%'"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                              is_nullable = 'YES' AS nullable FROM information_schema.columns \
                              WHERE table_schema = 'public' AND table_name LIKE 'image%'"
        }
    };
    let mut cols: Vec<Col> = diesel::sql_query(sql).load(&mut *conn).expect("catalog");
    // SQLite reports INTEGER PRIMARY KEY columns as nullable; they are not.
    for c in &mut cols {
        if c.column_name == "id" {
            c.nullable = false;
        }
    }
    cols.sort();
    cols
}

#[actix_web::test]
async fn both_backends_have_the_same_schema() {
    let backends = crate::helpers::backends();
    if !(backends.contains(&Backend::Sqlite) && backends.contains(&Backend::Postgres)) {
        crate::helpers::skip("needs both backends in GLINT_TEST_BACKENDS");
        return;
    }
    let sqlite = TestApp::spawn(Backend::Sqlite).await;
    let pg = TestApp::spawn(Backend::Postgres).await;
    let (a, b) = (columns(&sqlite), columns(&pg));
    assert!(a.len() > 40, "{a:?}");
    assert_eq!(a, b);
    assert_eq!(
        sqlite.state.db.version().unwrap(),
        pg.state.db.version().unwrap()
    );
}
