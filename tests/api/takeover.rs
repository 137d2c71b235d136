//! Taking over a database Glance made, on MySQL/MariaDB, where glint's first migration is
//! Glance 32's schema itself (tests/api/schema.rs checks it against Glance's own db_sync), so a
//! database in Glance's shape can be made here without Glance. The takeover of databases made by
//! real Glance on every backend, and Glance serving glint's, is tests/takeover/ (scripts/test.sh).

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};

use crate::helpers::{
    backends, create_mysql_database, drop_mysql_database, json, mysql_url_for, skip, test_config,
    Backend, TestApp,
};

const GLANCE_SCHEMA: &str =
    include_str!("../../migrations/mysql/2026-11-22-000001_glance_schema/up.sql");

/// A MariaDB database as Glance 32 leaves it, holding what Glance would have written: an active
/// public image with a property and a tag, a shared image with an accepted and a pending member,
/// and a deleted image. `revision` replaces Glance 32's Alembic head.
struct GlanceDb {
    name: String,
}

impl GlanceDb {
    fn new(revision: &str) -> Option<GlanceDb> {
        if !backends().contains(&Backend::Mysql) {
            skip("mysql not in GLINT_TEST_BACKENDS");
            return None;
        }
        let name = create_mysql_database();
        let mut c = diesel::MysqlConnection::establish(&mysql_url_for(&name)).unwrap();
        c.batch_execute(GLANCE_SCHEMA).unwrap();
        c.batch_execute(&format!(
            "UPDATE alembic_version SET version_num = '{revision}';
             INSERT INTO images (id, name, size, status, created_at, updated_at, deleted, disk_format,
               container_format, checksum, owner, min_disk, min_ram, protected, virtual_size,
               visibility, os_hidden, os_hash_algo, os_hash_value) VALUES
             ('11111111-1111-4111-8111-111111111111', 'cirros', 13, 'active', '2026-01-01 10:00:00',
              '2026-01-01 10:00:05', 0, 'qcow2', 'bare', 'aa', 'p1', 1, 64, 0, 42, 'public', 0,
              'sha512', 'bb'),
             ('22222222-2222-4222-8222-222222222222', 'golden', NULL, 'queued', '2026-01-02 10:00:00',
              '2026-01-02 10:00:00', 0, NULL, NULL, NULL, 'p1', 0, 0, 0, NULL, 'shared', 0, NULL, NULL),
             ('33333333-3333-4333-8333-333333333333', 'gone', NULL, 'deleted', '2026-01-03 10:00:00',
              '2026-01-03 11:00:00', 1, NULL, NULL, NULL, 'p1', 0, 0, 0, NULL, 'private', 0, NULL, NULL);
             UPDATE images SET deleted_at = '2026-01-03 11:00:00' WHERE id LIKE '3333%';
             INSERT INTO image_properties (image_id, name, value, created_at, deleted) VALUES
             ('11111111-1111-4111-8111-111111111111', 'os_distro', 'cirros', '2026-01-01 10:00:00', 0);
             INSERT INTO image_tags (image_id, value, created_at, deleted) VALUES
             ('11111111-1111-4111-8111-111111111111', 'base', '2026-01-01 10:00:00', 0);
             INSERT INTO image_members (image_id, member, can_share, status, created_at, updated_at,
               deleted) VALUES
             ('22222222-2222-4222-8222-222222222222', 'p2', 0, 'accepted', '2026-01-02 10:01:00',
              '2026-01-02 10:02:00', 0),
             ('22222222-2222-4222-8222-222222222222', 'p3', 0, 'pending', '2026-01-02 10:01:00',
              '2026-01-02 10:01:00', 0);"
        ))
        .unwrap();
        Some(GlanceDb { name })
    }

    fn conn(&self) -> diesel::MysqlConnection {
        diesel::MysqlConnection::establish(&mysql_url_for(&self.name)).unwrap()
    }

    /// Every table's name and row count, and every index: what "left as found" compares.
    fn snapshot(&self) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Line {
            #[diesel(sql_type = diesel::sql_types::Text)]
            line: String,
        }
        let mut c = self.conn();
        let mut out: Vec<String> = diesel::sql_query(
            "SELECT CONCAT(TABLE_NAME, ' ', INDEX_NAME, ' ', COLUMN_NAME) AS line \
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
             UNION ALL SELECT CONCAT('table ', TABLE_NAME) FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1",
        )
        .load::<Line>(&mut c)
        .unwrap()
        .into_iter()
        .map(|l| l.line)
        .collect();
        for table in [
            "images",
            "image_properties",
            "image_tags",
            "image_members",
            "alembic_version",
        ] {
            let n: Vec<Line> = diesel::sql_query(format!(
                "SELECT CONCAT('{table} rows ', COUNT(*)) AS line FROM {table}"
            ))
            .load(&mut c)
            .unwrap();
            out.push(n[0].line.clone());
        }
        out
    }

    fn start_error(&self) -> String {
        let dir = tempfile::tempdir().unwrap();
        let config = test_config(dir.path(), Backend::Mysql, Some(&self.name));
        match glint::startup::build_state(config) {
            Ok(_) => panic!("glint started on a database it must refuse"),
            Err(e) => e,
        }
    }
}

impl Drop for GlanceDb {
    fn drop(&mut self) {
        drop_mysql_database(&self.name);
    }
}

#[actix_web::test]
async fn a_glance_32_database_is_adopted_and_served() {
    let Some(db) = GlanceDb::new("2024_1_contract01") else {
        return;
    };
    let before = db.snapshot();
    let name = db.name.clone();
    let app = TestApp::spawn_with(Backend::Mysql, move |c| {
        c.database_connection = mysql_url_for(&name).parse().unwrap();
    })
    .await;
    // Glance's rows answer as Glance wrote them.
    let p1 = app.caller("p1", "member");
    let (s, v) = json(
        p1.get("/v2/images/11111111-1111-4111-8111-111111111111")
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["name"], "cirros");
    assert_eq!(v["os_distro"], "cirros");
    assert_eq!(v["tags"], serde_json::json!(["base"]));
    assert_eq!(v["min_ram"], 64);
    assert_eq!(v["created_at"], "2026-01-01T10:00:00Z");
    assert_eq!(v["os_hash_algo"], "sha512");
    let (s, _) = json(
        p1.get("/v2/images/33333333-3333-4333-8333-333333333333")
            .await,
    )
    .await;
    assert_eq!(s, 404);
    let (_, v) = json(p1.get("/v2/images").await).await;
    let ids: Vec<&str> = v["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["golden", "cirros"]);
    // The accepted member sees the shared image in its list; the pending one only by asking.
    let p2 = app.caller("p2", "member");
    let (_, v) = json(p2.get("/v2/images?visibility=shared").await).await;
    assert_eq!(v["images"].as_array().unwrap().len(), 1, "{v}");
    let p3 = app.caller("p3", "member");
    let (_, v) = json(p3.get("/v2/images?visibility=shared").await).await;
    assert_eq!(v["images"].as_array().unwrap().len(), 0, "{v}");
    let (_, v) = json(
        p3.get("/v2/images?visibility=shared&member_status=pending")
            .await,
    )
    .await;
    assert_eq!(v["images"].as_array().unwrap().len(), 1, "{v}");
    let (s, v) = json(
        p1.get("/v2/images/22222222-2222-4222-8222-222222222222/members")
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let statuses: Vec<(&str, &str)> = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["member_id"].as_str().unwrap(),
                m["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(statuses, [("p2", "accepted"), ("p3", "pending")]);
    // Writes go to Glance's tables.
    let (s, _) = json(
        p3.put(
            "/v2/images/22222222-2222-4222-8222-222222222222/members/p3",
            &serde_json::json!({"status": "accepted"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM image_members WHERE member = 'p3' AND status = 'accepted' \
             AND NOT deleted"
        ),
        1
    );
    // Glance's schema and rows are all still there: glint added its indexes, its migration
    // table and its own `glint_*` tables, and changed nothing else (the member row above is the
    // one write).
    let after = db.snapshot();
    let added: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
    let removed: Vec<&String> = before.iter().filter(|l| !after.contains(l)).collect();
    assert!(removed.is_empty(), "{removed:#?}");
    assert!(
        added.iter().all(|l| l.starts_with("images ix_images_list_")
            || l.starts_with("image_members ix_image_members_member ")
            || l.starts_with("__diesel_schema_migrations ")
            || *l == "table __diesel_schema_migrations"
            || l.starts_with("glint_")
            || l.starts_with("table glint_")),
        "{added:#?}"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM alembic_version WHERE version_num = '2024_1_contract01'"
        ),
        1
    );
    // Every one of glint's MySQL migrations counts as applied: the next start migrates nothing.
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM __diesel_schema_migrations"),
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/mysql"))
            .unwrap()
            .count() as i64
    );
    let again = app.state.db.migrate().unwrap();
    assert!(again.is_empty(), "{again:?}");
}

#[actix_web::test]
async fn an_older_glance_database_is_refused_untouched() {
    let Some(db) = GlanceDb::new("zed_contract01") else {
        return;
    };
    let before = db.snapshot();
    let e = db.start_error();
    assert!(e.contains("'zed_contract01'") && e.contains("Zed"), "{e}");
    assert!(e.contains("glance-manage db_sync"), "{e}");
    assert_eq!(db.snapshot(), before);
}

#[actix_web::test]
async fn a_newer_glance_database_is_refused_untouched() {
    let Some(db) = GlanceDb::new("2026_2_expand01") else {
        return;
    };
    let before = db.snapshot();
    let e = db.start_error();
    assert!(e.contains("newer"), "{e}");
    assert_eq!(db.snapshot(), before);
}

#[actix_web::test]
async fn tables_nobody_recorded_are_refused() {
    let Some(db) = GlanceDb::new("2024_1_contract01") else {
        return;
    };
    db.conn()
        .batch_execute("DROP TABLE alembic_version")
        .unwrap();
    let before = db.snapshot_without_alembic();
    let e = db.start_error();
    assert!(e.contains("neither glint's migration records"), "{e}");
    assert_eq!(db.snapshot_without_alembic(), before);
}

// MySQL cannot roll DDL back: when adding glint's indexes fails half-way (here an index of the
// same name that an operator made by hand), what glint added is taken back.
#[actix_web::test]
async fn a_failed_takeover_leaves_the_database_as_found() {
    let Some(db) = GlanceDb::new("2024_1_contract01") else {
        return;
    };
    db.conn()
        .batch_execute("CREATE INDEX ix_images_list_own_size ON images (size)")
        .unwrap();
    let before = db.snapshot();
    let e = db.start_error();
    assert!(e.contains("migration failed"), "{e}");
    assert_eq!(db.snapshot(), before);
}

impl GlanceDb {
    fn snapshot_without_alembic(&self) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Line {
            #[diesel(sql_type = diesel::sql_types::Text)]
            line: String,
        }
        diesel::sql_query(
            "SELECT CONCAT(TABLE_NAME, ' ', INDEX_NAME, ' ', COLUMN_NAME) AS line \
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
             UNION ALL SELECT CONCAT('table ', TABLE_NAME) FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1",
        )
        .load::<Line>(&mut self.conn())
        .unwrap()
        .into_iter()
        .map(|l| l.line)
        .collect()
    }
}
