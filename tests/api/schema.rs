//! Schemas endpoints; SQLite and PostgreSQL ending up with one schema, MySQL with Glance's.

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
        Backend::Mysql => unreachable!("MySQL's schema is Glance's (mysql_schema_is_glances)"),
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

/// One column of a glint table as both backends can state it: table, column, type in the
/// migrations' words (`VARCHAR(80)`, `TEXT`, `INTEGER`, `BIGINT`, `BOOLEAN`, `DATETIME`) and
/// nullability.
#[derive(diesel::QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct TypedCol {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_type: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    nullable: bool,
}

/// Every column of every glint table (images, tasks, metadefs; not diesel's bookkeeping).
fn typed_columns(app: &TestApp) -> Vec<TypedCol> {
    let mut conn = app.db();
    let sql = match app.backend {
        Backend::Sqlite => {
            "SELECT m.name AS table_name, p.name AS column_name, upper(p.type) AS column_type, \
             p.\"notnull\" = 0 AND p.pk = 0 AS nullable \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' AND m.name NOT LIKE '\\_\\_%' ESCAPE '\\'"
        }
        Backend::Mysql => unreachable!("MySQL's schema is Glance's (mysql_schema_is_glances)"),
        Backend::Postgres => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name, \
             CASE data_type \
               WHEN 'character varying' THEN 'VARCHAR(' || character_maximum_length || ')' \
               WHEN 'timestamp without time zone' THEN 'DATETIME' \
               ELSE upper(data_type) END AS column_type, \
             is_nullable = 'YES' AS nullable FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE '\\_\\_%' ESCAPE '\\'"
        }
    };
    let mut cols: Vec<TypedCol> = diesel::sql_query(sql).load(&mut *conn).expect("catalog");
    cols.sort();
    cols
}

/// One index: its table, its columns in order, whether it is unique, partial, or the table's
/// primary key. Indexes made by `CREATE INDEX` are compared by name too; those a UNIQUE or
/// PRIMARY KEY constraint makes are named by each backend in its own way, so not by name.
#[derive(diesel::QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Index {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    index_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    columns: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    unique: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    partial: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    primary_key: bool,
}

fn indexes(app: &TestApp) -> Vec<Index> {
    let mut conn = app.db();
    let sql = match app.backend {
        // An INTEGER PRIMARY KEY is the rowid and has no index in SQLite: listed from the table.
        Backend::Sqlite => {
            "SELECT m.name AS table_name, \
               CASE WHEN il.origin = 'c' THEN il.name ELSE '(' || il.origin || ')' END AS index_name, \
               (SELECT group_concat(name, ',') FROM \
                  (SELECT ii.name FROM pragma_index_info(il.name) ii ORDER BY ii.seqno)) AS columns, \
               il.\"unique\" = 1 AS \"unique\", il.partial = 1 AS partial, il.origin = 'pk' AS primary_key \
             FROM sqlite_master m JOIN pragma_index_list(m.name) il \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' AND m.name NOT LIKE '\\_\\_%' ESCAPE '\\' \
             UNION ALL \
             SELECT m.name, '(pk)', p.name, 1 = 1, 1 = 0, 1 = 1 \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' AND m.name NOT LIKE '\\_\\_%' ESCAPE '\\' \
               AND p.pk = 1 AND upper(p.type) = 'INTEGER' \
               AND (SELECT COUNT(*) FROM pragma_table_info(m.name) q WHERE q.pk > 0) = 1"
        }
        Backend::Mysql => unreachable!("MySQL's schema is Glance's (mysql_schema_is_glances)"),
        Backend::Postgres => {
            "SELECT t.relname::text AS table_name, \
               CASE WHEN c.contype IS NULL THEN i.relname::text \
                    ELSE '(' || CASE c.contype WHEN 'p' THEN 'pk' ELSE 'u' END || ')' END AS index_name, \
               (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord) \
                  FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum) AS columns, \
               ix.indisunique AS \"unique\", ix.indpred IS NOT NULL AS partial, ix.indisprimary AS primary_key \
             FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
             JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
             LEFT JOIN pg_constraint c ON c.conindid = ix.indexrelid AND c.conrelid = t.oid \
               AND c.contype IN ('p', 'u') \
             WHERE n.nspname = 'public' AND t.relname NOT LIKE '\\_\\_%' ESCAPE '\\'"
        }
    };
    let mut idx: Vec<Index> = diesel::sql_query(sql).load(&mut *conn).expect("catalog");
    idx.sort();
    idx
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
    // Every table (images, tasks, metadefs): the same columns with the same types and
    // nullability, and the same indexes.
    let (mut a, b) = (typed_columns(&sqlite), typed_columns(&pg));
    // Glance's cache tables (migration glance_cache_tables) have BIGINT keys, INTEGER on SQLite
    // (Glance's `BigInteger().with_variant(Integer, 'sqlite')`: SQLite's rowid alias), and so
    // have the sharing history and the webhook delivery log (keys that only grow: BIGSERIAL on
    // PostgreSQL).
    for c in a.iter_mut() {
        let key = matches!(
            (c.table_name.as_str(), c.column_name.as_str()),
            ("node_reference", "node_reference_id")
                | ("cached_images", "id" | "node_reference_id")
                | ("glint_share_events", "id")
                | ("glint_webhook_deliveries", "id")
        );
        if key {
            assert_eq!(c.column_type, "INTEGER", "{c:?}");
            c.column_type = "BIGINT".into();
        }
    }
    assert!(a.iter().any(|c| c.table_name == "cached_images"), "{a:?}");
    assert!(
        a.iter().any(|c| c.table_name == "metadef_namespaces"),
        "{a:?}"
    );
    assert!(a.iter().any(|c| c.table_name == "tasks"), "{a:?}");
    assert_eq!(a, b);
    let (a, b) = (indexes(&sqlite), indexes(&pg));
    for want in [
        ("metadef_namespaces", "(u)", "namespace", true),
        ("metadef_objects", "ix_metadef_objects_name", "name", false),
        (
            "metadef_namespace_resource_types",
            "(pk)",
            "resource_type_id,namespace_id",
            true,
        ),
        (
            "image_members",
            "ux_image_members_live",
            "image_id,member",
            true,
        ),
    ] {
        assert!(
            a.iter().any(|i| (
                i.table_name.as_str(),
                i.index_name.as_str(),
                i.columns.as_str(),
                i.unique
            ) == want),
            "{want:?} in {a:#?}"
        );
    }
    assert_eq!(a, b);
    assert_eq!(
        sqlite.state.db.version().unwrap(),
        pg.state.db.version().unwrap()
    );
}

/// Every table, column (type, nullability, default, collation), index, foreign key and check of
/// a MySQL database, one line each, sorted (Alembic's and diesel's bookkeeping left out).
/// tests/fixtures/glance32-mysql-schema.txt holds these lines for the database Glance 32's
/// `glance-manage db_sync` made on MariaDB 10.11 (`mysql -N <db> < <this query>`).
const MYSQL_SCHEMA_LINES: &str = "SELECT line FROM ( \
 SELECT CONCAT('table ', TABLE_NAME, ' ', ENGINE, ' ', TABLE_COLLATION) AS line FROM information_schema.TABLES \
   WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE '\\_\\_%' AND TABLE_NAME <> 'alembic_version' \
 UNION ALL \
 SELECT CONCAT('column ', TABLE_NAME, '.', COLUMN_NAME, ' ', COLUMN_TYPE, ' ', IS_NULLABLE, ' default=', \
   COALESCE(COLUMN_DEFAULT, '-'), ' ', EXTRA, ' ', COALESCE(COLLATION_NAME, '-')) \
   FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE '\\_\\_%' \
   AND TABLE_NAME <> 'alembic_version' \
 UNION ALL \
 SELECT CONCAT('index ', TABLE_NAME, '.', INDEX_NAME, ' (', GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX SEPARATOR ','), ') ', \
   IF(MAX(NON_UNIQUE) = 0, 'unique', 'non-unique')) \
   FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE '\\_\\_%' \
   AND TABLE_NAME <> 'alembic_version' GROUP BY TABLE_NAME, INDEX_NAME \
 UNION ALL \
 SELECT CONCAT('foreign key ', TABLE_NAME, '.', COLUMN_NAME, ' -> ', REFERENCED_TABLE_NAME, '.', REFERENCED_COLUMN_NAME) \
   FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL \
 UNION ALL \
 SELECT CONCAT('check ', TABLE_NAME, ' ', CHECK_CLAUSE) FROM information_schema.CHECK_CONSTRAINTS \
   WHERE CONSTRAINT_SCHEMA = DATABASE() \
) AS s ORDER BY line";

#[derive(diesel::QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    line: String,
}

// A MySQL database glint made is the one Glance 32 makes (what Glance needs to serve it after
// glint, and what lets glint adopt Glance's without changing it), plus glint's list indexes.
#[actix_web::test]
async fn mysql_schema_is_glances() {
    if !crate::helpers::backends().contains(&Backend::Mysql) {
        crate::helpers::skip("mysql not in GLINT_TEST_BACKENDS");
        return;
    }
    let app = TestApp::spawn(Backend::Mysql).await;
    let mut conn = app.db();
    let lines: Vec<Line> = diesel::sql_query(MYSQL_SCHEMA_LINES)
        .load(&mut *conn)
        .expect("catalog");
    let (extra, ours): (Vec<String>, Vec<String>) = lines
        .into_iter()
        // The server shows a check's identifiers in the session's quoting (ANSI_QUOTES here).
        .map(|l| l.line.replace('"', "`"))
        .partition(|l| {
            l.starts_with("index images.ix_images_list_")
                || l.starts_with("index image_members.ix_image_members_member ")
                || l.split(' ').nth(1).is_some_and(|t| t.starts_with("glint_"))
        });
    let glance: Vec<&str> = include_str!("../fixtures/glance32-mysql-schema.txt")
        .lines()
        .collect();
    assert!(glance.len() > 200, "{}", glance.len());
    assert_eq!(ours, glance);
    // Each list index (a visibility or owner+visibility prefix, then a sort key), and the
    // member index the shared-with-me stream starts from.
    // Tables of glint's own (`glint_*`): the sharing extensions' member data.
    let (tables, extra): (Vec<String>, Vec<String>) = extra
        .into_iter()
        .partition(|l| l.split(' ').nth(1).is_some_and(|t| t.starts_with("glint_")));
    assert!(
        tables.contains(&"table glint_member_ext InnoDB utf8mb3_general_ci".to_owned()),
        "{tables:#?}"
    );
    assert_eq!(extra.len(), 17, "{extra:#?}");
    assert!(extra.contains(&"index images.ix_images_list_own_name (owner,visibility,name,created_at,id,status,os_hidden,deleted) non-unique".to_owned()), "{extra:#?}");
    // The Alembic head Glance reads to know the schema is current.
    #[derive(diesel::QueryableByName)]
    struct V {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version_num: String,
    }
    let v: Vec<V> = diesel::sql_query("SELECT version_num FROM alembic_version")
        .load(&mut *conn)
        .expect("alembic_version");
    assert_eq!(
        v.iter().map(|v| v.version_num.as_str()).collect::<Vec<_>>(),
        ["2024_1_contract01"]
    );
}
