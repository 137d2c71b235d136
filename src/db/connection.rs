//! The only file that knows how many database backends exist.
//!
//! One diesel code base serves SQLite and PostgreSQL through `DbConn`, a
//! `MultiConnection`. glint opens connections itself (not diesel's
//! `ConnectionManager`, which would try every backend in turn and happily turn
//! a mistyped PostgreSQL URL into an empty SQLite file).

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::error::DbError;

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A parsed `[database] connection` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbUrl {
    pub backend: Backend,
    /// What the driver is given: a file path for SQLite, a libpq URL for PostgreSQL.
    pub target: String,
}

impl DbUrl {
    /// Accepts SQLAlchemy-style URLs as found in glance-api.conf:
    /// `sqlite:///relative.db`, `sqlite:////abs/path.db`, `postgresql://...`,
    /// `postgresql+psycopg2://...`, `postgres://...`. Anything else is an error.
    pub fn parse(url: &str) -> Result<DbUrl, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("database URL '{}' has no scheme", redact(url)))?;
        let driverless = scheme.split('+').next().unwrap_or(scheme);
        match driverless {
            "sqlite" => {
                // sqlite:///x -> "x"; sqlite:////abs -> "/abs"
                let path = rest.strip_prefix('/').unwrap_or(rest);
                let path = path.split('?').next().unwrap_or(path);
                if path.is_empty() {
                    return Err(
                        "sqlite URL needs a file path, e.g. sqlite:////var/lib/glint/glint.db"
                            .into(),
                    );
                }
                Ok(DbUrl {
                    backend: Backend::Sqlite,
                    target: path.to_owned(),
                })
            }
            "postgresql" | "postgres" => Ok(DbUrl {
                backend: Backend::Postgres,
                target: format!("postgresql://{rest}"),
            }),
            other => Err(format!(
                "unsupported database scheme '{other}' (glint supports sqlite and postgresql)"
            )),
        }
    }
}

/// Hide a password in a URL before it reaches a log or an error message.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

#[derive(Debug, Clone)]
pub struct Manager {
    url: DbUrl,
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match self.url.backend {
            Backend::Sqlite => {
                let mut c = SqliteConnection::establish(&self.url.target)
                    .map_err(r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the writer; busy_timeout makes writers
                // queue instead of failing; SQLite needs foreign keys switched on per connection.
                c.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(c))
            }
            Backend::Postgres => PgConnection::establish(&self.url.target)
                .map(DbConn::Pg)
                .map_err(r2d2::Error::ConnectionError),
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map(|_| ())
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

/// Everything the service needs to reach its database.
#[derive(Clone)]
pub struct Db {
    pub pool: Pool,
    pub backend: Backend,
}

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

impl Db {
    /// Open a pool. For SQLite the parent directory must exist; the file is created.
    pub fn open(url: &str, max_size: u32) -> Result<Db, String> {
        let parsed = DbUrl::parse(url)?;
        let backend = parsed.backend;
        let pool = r2d2::Pool::builder()
            .max_size(max_size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .test_on_check_out(true)
            .build(Manager { url: parsed })
            .map_err(|e| format!("cannot connect to database {}: {e}", redact(url)))?;
        Ok(Db { pool, backend })
    }

    pub fn conn(&self) -> Result<PooledConn, DbError> {
        self.pool
            .get()
            .map_err(|e| DbError::Unavailable(e.to_string()))
    }

    /// Apply pending migrations of this backend; returns the versions applied.
    pub fn migrate(&self) -> Result<Vec<String>, String> {
        let mut conn = self.conn().map_err(|e| e.to_string())?;
        let source = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        conn.run_pending_migrations(source)
            .map(|v| v.iter().map(|m| m.to_string()).collect())
            .map_err(|e| format!("migration failed: {e}"))
    }

    /// The newest applied migration version, if any.
    pub fn version(&self) -> Result<Option<String>, String> {
        let mut conn = self.conn().map_err(|e| e.to_string())?;
        let applied = conn
            .applied_migrations()
            .map_err(|e| format!("cannot read migration state: {e}"))?;
        Ok(applied.iter().map(|v| v.to_string()).max())
    }
}

/// Run `f` in a write transaction. On SQLite the first statement takes the
/// write lock, so the transaction never upgrades a stale read snapshot
/// (SQLITE_BUSY) under concurrent writers; PostgreSQL needs nothing special.
pub fn write_tx<T, F>(conn: &mut DbConn, f: F) -> Result<T, DbError>
where
    F: FnOnce(&mut DbConn) -> Result<T, DbError>,
{
    let sqlite = matches!(conn, DbConn::Sqlite(_));
    conn.transaction(|c| {
        if sqlite {
            diesel::sql_query("UPDATE images SET deleted = deleted WHERE 1 = 0").execute(c)?;
        }
        f(c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes() {
        assert_eq!(
            DbUrl::parse("sqlite:////var/lib/g.db"),
            Ok(DbUrl {
                backend: Backend::Sqlite,
                target: "/var/lib/g.db".into()
            })
        );
        assert_eq!(
            DbUrl::parse("sqlite:///g.db").map(|u| u.target),
            Ok("g.db".into())
        );
        assert_eq!(
            DbUrl::parse("postgresql+psycopg2://u:p@h/db").map(|u| u.target),
            Ok("postgresql://u:p@h/db".into())
        );
        assert!(DbUrl::parse("postgressql://h/db").is_err());
        assert!(DbUrl::parse("mysql+pymysql://h/db").is_err());
        assert!(DbUrl::parse("/tmp/x.db").is_err());
        assert!(DbUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgresql://u:secret@h/db"),
            "postgresql://u:***@h/db"
        );
        assert_eq!(redact("sqlite:////x.db"), "sqlite:////x.db");
    }
}
