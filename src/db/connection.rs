//! The only file that knows how many database backends exist.
//!
//! One diesel code base serves SQLite and PostgreSQL through `DbConn`, a
//! `MultiConnection`. glint opens connections itself (not diesel's
//! `ConnectionManager`, which would try every backend in turn and happily turn
//! a mistyped PostgreSQL URL into an empty SQLite file).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::error::DbError;

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// Runs `$body` with `$c` bound to the concrete connection of either backend.
///
/// Through `MultiConnection` every query is rendered to SQL on each call to find its cached
/// statement (a measurable share of an image show: bench/RESULTS.md, "Figures behind the
/// code"); on the concrete
/// connection a query of static type is found in diesel's statement cache by its type alone.
/// For the hot read paths.
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::connection::DbConn::Sqlite($c) => $body,
            $crate::db::connection::DbConn::Pg($c) => $body,
        }
    };
}
pub(crate) use on_backend;

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

/// A pooled connection. Derefs to `DbConn`, so `&mut conn` is what queries take.
pub struct PooledConn(r2d2::PooledConnection<Manager>);

impl std::ops::Deref for PooledConn {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.0.conn
    }
}

impl std::ops::DerefMut for PooledConn {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.0.conn
    }
}

/// A connection in the pool, with what decides whether it must be pinged
/// before its next use.
pub struct Slot {
    conn: DbConn,
    returned_at: Instant,
    failures_seen: u64,
}

impl Slot {
    pub(super) fn into_conn(self) -> DbConn {
        self.conn
    }
}

/// A connection unused for longer than this is pinged before it is handed out
/// (the server may have dropped it meanwhile). Under load connections come back
/// within milliseconds and are handed out again without the extra round trip.
const IDLE_PING_AFTER: Duration = Duration::from_secs(2);

/// Count of connection-level failures seen by any query of this process. A
/// change since a connection was last used means it may be dead too: it is
/// pinged on its return to the pool and before its next use.
static CONNECTION_FAILURES: AtomicU64 = AtomicU64::new(0);

/// Called where a query failed because the database went away.
pub fn note_connection_failure() {
    CONNECTION_FAILURES.fetch_add(1, Ordering::Relaxed);
}

pub fn ping(conn: &mut DbConn) -> Result<(), diesel::result::Error> {
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}

#[derive(Debug, Clone)]
pub struct Manager {
    url: DbUrl,
    /// PostgreSQL `statement_timeout` set on each new connection; zero leaves the server's.
    statement_timeout: Duration,
}

/// The session setting that makes PostgreSQL cancel a statement running longer than
/// `timeout` (whole milliseconds; `0` = no limit).
fn statement_timeout_sql(timeout: Duration) -> String {
    format!("SET statement_timeout = {}", timeout.as_millis())
}

impl ManageConnection for Manager {
    type Connection = Slot;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Slot, r2d2::Error> {
        let conn = match self.url.backend {
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
                DbConn::Sqlite(c)
            }
            Backend::Postgres => {
                let mut c = PgConnection::establish(&self.url.target)
                    .map_err(r2d2::Error::ConnectionError)?;
                // No statement outlives its request by long, whatever it was asked to do:
                // the server cancels it ("canceling statement due to statement timeout",
                // a 500) and the connection goes back to the pool.
                if !self.statement_timeout.is_zero() {
                    c.batch_execute(&statement_timeout_sql(self.statement_timeout))
                        .map_err(r2d2::Error::QueryError)?;
                }
                DbConn::Pg(c)
            }
        };
        Ok(Slot {
            conn,
            returned_at: Instant::now(),
            failures_seen: CONNECTION_FAILURES.load(Ordering::Relaxed),
        })
    }

    /// On check-out: a round trip only for a connection that sat idle, or when
    /// some query failed for want of a connection since this one was last used.
    fn is_valid(&self, slot: &mut Slot) -> Result<(), r2d2::Error> {
        let failures = CONNECTION_FAILURES.load(Ordering::Relaxed);
        if slot.failures_seen == failures && slot.returned_at.elapsed() < IDLE_PING_AFTER {
            return Ok(());
        }
        ping(&mut slot.conn).map_err(r2d2::Error::QueryError)?;
        slot.failures_seen = failures;
        Ok(())
    }

    /// On check-in: a connection left in a broken transaction, or found dead
    /// after a connection failure somewhere, is dropped instead of pooled.
    fn has_broken(&self, slot: &mut Slot) -> bool {
        slot.returned_at = Instant::now();
        if std::thread::panicking() || slot.conn.is_broken() {
            return true;
        }
        let failures = CONNECTION_FAILURES.load(Ordering::Relaxed);
        if slot.failures_seen != failures {
            if ping(&mut slot.conn).is_err() {
                return true;
            }
            slot.failures_seen = failures;
        }
        false
    }
}

/// How the pool behaves: `[database] max_pool_size`, `pool_timeout`,
/// `max_retries` and `retry_interval`.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_size: u32,
    /// How long a request waits for a connection before it is told 503.
    pub timeout: Duration,
    /// Start-up connection retries after the first attempt; negative = for ever.
    pub max_retries: i64,
    pub retry_interval: Duration,
    /// `[database] statement_timeout` (PostgreSQL); zero = none.
    pub statement_timeout: Duration,
}

impl PoolSettings {
    pub fn from_config(c: &crate::config::Config) -> PoolSettings {
        PoolSettings {
            max_size: c.database_max_pool_size,
            timeout: Duration::from_secs(c.database_pool_timeout),
            max_retries: c.database_max_retries,
            retry_interval: Duration::from_secs(c.database_retry_interval),
            statement_timeout: Duration::from_secs(c.database_statement_timeout),
        }
    }
}

/// Everything the service needs to reach its database.
#[derive(Clone)]
pub struct Db {
    pub pool: Pool,
    pub backend: Backend,
    /// One permit per pooled connection, handed out in arrival order (see `AppState::read`).
    pub gate: Arc<tokio::sync::Semaphore>,
    /// How long a request may queue for a permit: `[database] pool_timeout`, as for the pool.
    pub gate_timeout: Duration,
    /// SQLite only: the thread that runs write work (see `AppState::write`).
    pub writer: Option<Arc<super::writer::SqliteWriter>>,
    /// `[database] statement_timeout`, which pooled PostgreSQL connections carry.
    pub statement_timeout: Duration,
}

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

impl Db {
    /// Open a pool. For SQLite the parent directory must exist; the file is created.
    pub fn open(url: &str, settings: &PoolSettings) -> Result<Db, String> {
        let parsed = DbUrl::parse(url)?;
        let backend = parsed.backend;
        let manager = Manager {
            url: parsed,
            statement_timeout: settings.statement_timeout,
        };
        let builder = || {
            r2d2::Pool::builder()
                .max_size(settings.max_size)
                .min_idle(Some(1))
                .connection_timeout(settings.timeout)
                .test_on_check_out(true)
                // r2d2 logs every failed connection attempt itself; glint reports
                // the failure once, as a 503 or a start-up error.
                .error_handler(Box::new(r2d2::NopErrorHandler))
        };
        // A database server that is still starting (or restarting) is waited
        // for, as oslo.db does; a SQLite file either opens or does not.
        let mut attempt: i64 = 0;
        let pool = loop {
            match builder().build(manager.clone()) {
                Ok(pool) => break pool,
                Err(e) => {
                    let retry = backend == Backend::Postgres
                        && (settings.max_retries < 0 || attempt < settings.max_retries);
                    if !retry {
                        return Err(format!("cannot connect to database {}: {e}", redact(url)));
                    }
                    attempt += 1;
                    tracing::warn!(
                        attempt,
                        max_retries = settings.max_retries,
                        url = %redact(url),
                        error = %e,
                        "database not reachable at start-up; retrying"
                    );
                    std::thread::sleep(settings.retry_interval);
                }
            }
        };
        let writer = match backend {
            Backend::Sqlite => Some(Arc::new(super::writer::SqliteWriter::start(manager)?)),
            Backend::Postgres => None,
        };
        Ok(Db {
            pool,
            backend,
            writer,
            gate: Arc::new(tokio::sync::Semaphore::new(settings.max_size as usize)),
            gate_timeout: settings.timeout,
            statement_timeout: settings.statement_timeout,
        })
    }

    pub fn conn(&self) -> Result<PooledConn, DbError> {
        self.pool
            .get()
            .map(PooledConn)
            .map_err(|e| DbError::Unavailable(e.to_string()))
    }

    /// Apply pending migrations of this backend; returns the versions applied.
    pub fn migrate(&self) -> Result<Vec<String>, String> {
        let mut conn = self.conn().map_err(|e| e.to_string())?;
        let source = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        // A migration over a large table may rightly take longer than any request.
        let pg = self.backend == Backend::Postgres;
        if pg {
            conn.batch_execute("SET statement_timeout = 0")
                .map_err(|e| format!("migration failed: {e}"))?;
        }
        let applied = conn
            .run_pending_migrations(source)
            .map(|v| v.iter().map(|m| m.to_string()).collect())
            .map_err(|e| format!("migration failed: {e}"));
        if pg {
            // Back to the pool's setting before the connection returns to the pool.
            if let Err(e) = conn.batch_execute(&statement_timeout_sql(self.statement_timeout)) {
                tracing::warn!(error = %e, "could not restore statement_timeout after migrating");
            }
        }
        applied
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

/// SQLite allows one writer at a time. Writers of this process queue here, in
/// arrival order, instead of in SQLite's busy handler, which sleeps in growing
/// steps and gave p99 write latencies near a second under concurrency
/// (bench/RESULTS.md, "Figures behind the code"). Other processes on the same file still
/// meet `busy_timeout`.
static SQLITE_WRITER: Mutex<()> = Mutex::new(());

/// Run `f` in a write transaction. On SQLite the first statement takes the
/// write lock, so the transaction never upgrades a stale read snapshot
/// (SQLITE_BUSY) under concurrent writers; PostgreSQL needs nothing special.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    if matches!(conn, DbConn::Sqlite(_)) {
        // A panic while holding the lock leaves nothing to repair: the
        // transaction was rolled back with the connection's guard.
        let _writer = SQLITE_WRITER.lock().unwrap_or_else(|e| e.into_inner());
        conn.transaction(|c| {
            if let DbConn::Sqlite(s) = c {
                super::cached::TakeWriteLock.execute(s)?;
            }
            f(c)
        })
    } else {
        conn.transaction(f)
    }
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
