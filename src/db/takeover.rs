//! Taking over a database that Glance made.
//!
//! `glance-manage db_sync` leaves its schema version in Alembic's `alembic_version` table; glint's
//! migrations record theirs in diesel's `__diesel_schema_migrations`. Before migrating, glint
//! looks at both: an empty database gets glint's migrations; one glint made is brought up to
//! date; one Glance 32 made (Alembic head [`GLANCE_HEAD`]) is adopted: the migrations whose
//! tables Glance already made are recorded as applied without running them, and what glint
//! needs beyond Glance's schema is added (on SQLite and PostgreSQL `migrations/adopt/*.sql`, in
//! one transaction with the record; on MySQL, whose first migration is Glance's schema itself,
//! the later migrations). Glance's own tables, rows and names are left as they are, so Glance
//! can serve the database again. A database at an older Glance release, or at a revision glint
//! does not know, is refused with what to do, before anything is written.

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

use super::connection::{Backend, DbConn};
use super::error::DbError;

/// The Alembic revision `glance-manage db_sync` of Glance 32 (2026.1) leaves: the schema glint
/// serves. Glance has not changed its schema since 2024.1.
pub const GLANCE_HEAD: &str = "2024_1_contract01";

/// What a database holds before glint migrates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// No image tables: glint's migrations make them.
    Empty,
    /// glint's migrations ran here (`Some(revision)`: Glance's version table is there too, as
    /// on MySQL, where glint's schema is Glance's).
    Glint(Option<String>),
    /// Made by Glance, at this Alembic revision.
    Glance(String),
    /// Image tables that neither glint nor Glance recorded.
    Foreign,
}

/// The last migration of each backend whose effect a Glance 32 database already has, or gets
/// from [`adopt_sql`]: it and every earlier one are recorded as applied. (On SQLite and
/// PostgreSQL, 000005 makes Glance's own cache tables, which a Glance database has.)
fn adopted_through(backend: Backend) -> &'static str {
    match backend {
        Backend::Mysql => "2026-11-22-000001_glance_schema",
        Backend::Sqlite | Backend::Postgres => "2026-12-06-000005_glance_cache_tables",
    }
}

/// What adoption adds to Glance's schema on SQLite and PostgreSQL, in order: what glint's
/// migrations 1-3 make beyond Glance's tables (`migrations/adopt/<backend>.sql`), then the
/// indexes migration 4 creates (taken from that migration, so the two cannot drift; its `DROP`s
/// are left out: on a database glint made they retire glint's older indexes, on Glance's they
/// would drop Glance's own `created_at_image_idx`). MySQL's first migration is Glance's schema
/// itself, so its later migrations run as usual.
fn adopt_sql(backend: Backend) -> Option<[String; 2]> {
    let (additions, list_indexes) = match backend {
        Backend::Sqlite => (
            include_str!("../../migrations/adopt/sqlite.sql"),
            include_str!("../../migrations/sqlite/2026-12-05-000004_list_indexes/up.sql"),
        ),
        Backend::Postgres => (
            include_str!("../../migrations/adopt/postgres.sql"),
            include_str!("../../migrations/postgres/2026-12-05-000004_list_indexes/up.sql"),
        ),
        Backend::Mysql => return None,
    };
    Some([additions.to_owned(), creates_only(list_indexes)])
}

/// The `CREATE INDEX` statements of a migration (one per line, as glint writes them).
fn creates_only(sql: &str) -> String {
    sql.lines()
        .filter(|l| l.starts_with("CREATE INDEX "))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// The tables of the connection's database (its current schema on PostgreSQL).
fn tables(conn: &mut DbConn, backend: Backend) -> Result<Vec<String>, String> {
    let sql = match backend {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
        Backend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema()"
        }
        Backend::Mysql => {
            "SELECT TABLE_NAME AS name FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE()"
        }
    };
    let rows: Vec<Name> = diesel::sql_query(sql)
        .load(conn)
        .map_err(|e| format!("cannot read the database's tables: {e}"))?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

/// Look at the database without changing it.
pub fn inspect(conn: &mut DbConn, backend: Backend) -> Result<Found, String> {
    let tables = tables(conn, backend)?;
    let has = |t: &str| tables.iter().any(|x| x == t);
    let revision = if has("alembic_version") {
        let rows: Vec<Name> = diesel::sql_query("SELECT version_num AS name FROM alembic_version")
            .load(conn)
            .map_err(|e| format!("cannot read alembic_version: {e}"))?;
        match rows.as_slice() {
            [one] => Some(one.name.clone()),
            [] => None,
            many => {
                return Err(format!(
                    "alembic_version holds {} revisions ({}); Glance keeps one",
                    many.len(),
                    many.iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
        }
    } else {
        None
    };
    Ok(if has("__diesel_schema_migrations") {
        Found::Glint(revision)
    } else if let Some(rev) = revision {
        Found::Glance(rev)
    } else if has("images") {
        Found::Foreign
    } else {
        Found::Empty
    })
}

/// The OpenStack release whose Glance left the schema at `revision`, for Glance's own
/// revisions (named for the release that added them: `zed_contract01`, `2023_1_expand01`).
pub fn glance_release(revision: &str) -> Option<String> {
    const NAMED: [&str; 13] = [
        "liberty", "mitaka", "newton", "ocata", "pike", "queens", "rocky", "stein", "train",
        "ussuri", "wallaby", "xena", "yoga",
    ];
    if let Some(name) = NAMED.iter().chain(["zed"].iter()).find(|n| {
        revision
            .strip_prefix(**n)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('_') || rest.starts_with('0'))
    }) {
        let mut c = name.chars();
        return c
            .next()
            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str());
    }
    // 2023_1_expand01 -> 2023.1
    let mut parts = revision.splitn(3, '_');
    let (year, n) = (parts.next()?, parts.next()?);
    (year.len() == 4
        && year.chars().all(|c| c.is_ascii_digit())
        && n.chars().all(|c| c.is_ascii_digit()))
    .then(|| format!("{year}.{n}"))
}

/// Why glint will not serve a Glance database at `revision`, and what to do.
pub fn refusal(revision: &str) -> String {
    // Dated releases after 2024.1 are newer than the schema glint serves.
    let newer = |release: &str| {
        release
            .split_once('.')
            .and_then(|(y, n)| Some((y.parse::<u32>().ok()?, n.parse::<u32>().ok()?)))
            .is_some_and(|v| v > (2024, 1))
    };
    match glance_release(revision) {
        Some(release) if newer(&release) => format!(
            "this database is at Alembic revision '{revision}' (the {release} schema), newer \
             than Glance 32's ({GLANCE_HEAD}) that glint serves: glint does not serve it"
        ),
        Some(release) => format!(
            "this database was made by Glance and is at Alembic revision '{revision}' (the \
             {release} schema); glint serves Glance 32's schema ({GLANCE_HEAD}): bring it up to \
             date with Glance's own `glance-manage db_sync` first, then run `glint db sync`"
        ),
        None => format!(
            "this database is at Alembic revision '{revision}', which glint does not know (Glance \
             32's is {GLANCE_HEAD}): a newer Glance may have changed the schema; glint does not \
             serve it"
        ),
    }
}

/// Decide what to do with the database before glint's pending migrations run: `Ok(true)` when
/// it was adopted now, `Err` with the reason when glint must not touch it.
pub fn prepare(
    conn: &mut DbConn,
    backend: Backend,
    source: &EmbeddedMigrations,
) -> Result<bool, String> {
    match inspect(conn, backend)? {
        Found::Empty | Found::Glint(None) => Ok(false),
        Found::Glint(Some(rev)) | Found::Glance(rev) if rev != GLANCE_HEAD => Err(refusal(&rev)),
        Found::Glint(Some(_)) => Ok(false),
        Found::Glance(_) => adopt(conn, backend, source).map(|()| true),
        Found::Foreign => Err(
            "the database holds an `images` table but neither glint's migration records \
             (__diesel_schema_migrations) nor Glance's (alembic_version): glint will not guess \
             what made it; point [database] connection at a Glance or glint database, or an \
             empty one"
                .into(),
        ),
    }
}

/// Record the migrations Glance's schema stands for as applied and add glint's additions.
fn adopt(conn: &mut DbConn, backend: Backend, source: &EmbeddedMigrations) -> Result<(), String> {
    use diesel::migration::MigrationSource;
    let migrations = MigrationSource::<super::connection::MultiBackend>::migrations(source)
        .map_err(|e| format!("cannot list glint's migrations: {e}"))?;
    let through = adopted_through(backend);
    let versions: Vec<String> = migrations
        .iter()
        .map(|m| m.name().to_string())
        .filter(|name| name.as_str() <= through)
        .map(|name| name.split('_').next().unwrap_or_default().replace('-', ""))
        .collect();
    if versions.is_empty() {
        return Err(format!("no migration up to {through} to record"));
    }
    let record = |c: &mut DbConn| -> Result<(), String> {
        // Creates diesel's table.
        c.applied_migrations()
            .map_err(|e| format!("cannot create the migration table: {e}"))?;
        for v in &versions {
            // Digits only (a migration directory's date and number): no quoting needed.
            c.batch_execute(&format!(
                "INSERT INTO __diesel_schema_migrations (version) VALUES ('{v}')"
            ))
            .map_err(|e| format!("cannot record migration {v}: {e}"))?;
        }
        Ok(())
    };
    tracing::warn!(
        revision = GLANCE_HEAD,
        "the database was made by Glance 32: adopting it (Glance's tables and rows are kept)"
    );
    match adopt_sql(backend) {
        // SQLite and PostgreSQL change their schema transactionally: all or nothing.
        Some(sqls) => conn
            .transaction(|c| -> Result<(), DbError> {
                for sql in &sqls {
                    c.batch_execute(sql).map_err(|e| {
                        DbError::Other(format!(
                            "cannot add glint's indexes to Glance's schema: {e}"
                        ))
                    })?;
                }
                record(c).map_err(DbError::Other)
            })
            .map_err(|e| match e {
                DbError::Other(m) => m,
                e => e.to_string(),
            }),
        None => record(conn),
    }
}

/// glint's additions to Glance's MySQL schema that exist now, as `(table, index)`.
pub fn mysql_additions(conn: &mut DbConn) -> Vec<(String, String)> {
    let rows: Vec<Name> = diesel::sql_query(
        "SELECT DISTINCT CONCAT(TABLE_NAME, ' ', INDEX_NAME) AS name \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
         AND (INDEX_NAME LIKE 'ix\\_images\\_list\\_%' OR INDEX_NAME = 'ix_image_members_member')",
    )
    .load(conn)
    .unwrap_or_default();
    rows.into_iter()
        .filter_map(|r| {
            r.name
                .split_once(' ')
                .map(|(t, i)| (t.to_owned(), i.to_owned()))
        })
        .collect()
}

/// Undo an adoption whose later migrations failed on MySQL, where DDL is not transactional:
/// drop the indexes glint added (those not in `before`) and its migration table, leaving
/// Glance's schema as it was found.
pub fn undo_mysql_adoption(conn: &mut DbConn, before: &[(String, String)]) {
    for (table, index) in mysql_additions(conn) {
        if !before.contains(&(table.clone(), index.clone())) {
            let _ = conn.batch_execute(&format!("DROP INDEX \"{index}\" ON \"{table}\""));
        }
    }
    // glint's own tables: a database Glance made has none before adoption.
    let _ = conn.batch_execute("DROP TABLE IF EXISTS glint_member_ext");
    let _ = conn.batch_execute("DROP TABLE IF EXISTS glint_share_policy");
    let _ = conn.batch_execute("DROP TABLE IF EXISTS glint_share_events");
    let _ = conn.batch_execute("DROP TABLE IF EXISTS glint_webhook_deliveries");
    let _ = conn.batch_execute("DROP TABLE IF EXISTS glint_webhooks");
    let _ = conn.batch_execute("DROP TABLE IF EXISTS glint_image_copies");
    let _ = conn.batch_execute("DROP TABLE IF EXISTS glint_domain_guardrails");
    let _ = conn.batch_execute("DROP TABLE IF EXISTS __diesel_schema_migrations");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adoption_adds_the_list_indexes_and_drops_nothing() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let [additions, indexes] = adopt_sql(backend).unwrap();
            assert_eq!(
                indexes.matches("CREATE INDEX ix_images_list_").count(),
                16,
                "{indexes}"
            );
            assert_eq!(indexes.lines().count(), 16);
            for sql in [&additions, &indexes] {
                assert!(!sql.to_uppercase().contains("DROP "), "{sql}");
            }
        }
        assert!(adopt_sql(Backend::Mysql).is_none());
    }

    #[test]
    fn releases_of_glance_revisions() {
        for (rev, release) in [
            ("liberty", "Liberty"),
            ("mitaka02", "Mitaka"),
            ("ocata_contract01", "Ocata"),
            ("rocky_expand02", "Rocky"),
            ("zed_contract01", "Zed"),
            ("2023_1_expand01", "2023.1"),
            ("2024_1_expand01", "2024.1"),
            (GLANCE_HEAD, "2024.1"),
        ] {
            assert_eq!(glance_release(rev).as_deref(), Some(release), "{rev}");
        }
        for rev in ["", "abc123", "2026_x_expand01", "zedd"] {
            assert_eq!(glance_release(rev), None, "{rev}");
        }
    }

    #[test]
    fn refusals_name_the_release_and_the_remedy() {
        let m = refusal("zed_contract01");
        assert!(m.contains("'zed_contract01'") && m.contains("Zed"), "{m}");
        assert!(m.contains("glance-manage db_sync"), "{m}");
        let m = refusal("2026_2_expand01");
        assert!(m.contains("2026.2"), "{m}");
        let m = refusal("f00dcafe");
        assert!(m.contains("does not know"), "{m}");
    }
}
