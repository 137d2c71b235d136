//! The only file that knows how many database backends exist.
//!
//! One diesel code base serves SQLite, PostgreSQL and MySQL/MariaDB through `DbConn`, a
//! `MultiConnection`. glint opens connections itself (not diesel's
//! `ConnectionManager`, which would try every backend in turn and happily turn
//! a mistyped PostgreSQL URL into an empty SQLite file).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::mysql::MysqlConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations};

use super::error::connection_failures;
pub use crate::config::database::Backend;
use crate::config::database::DbUrl;

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
    Mysql(MysqlConnection),
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
            $crate::db::connection::DbConn::Mysql($c) => $body,
        }
    };
}
pub(crate) use on_backend;

pub type Pool = r2d2::Pool<Manager>;

/// A pooled connection. Derefs to `DbConn`, so `&mut conn` is what queries take.
pub struct PooledConn(pub(super) r2d2::PooledConnection<Manager>);

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

/// Each SQLite connection's page cache, KiB (SQLite's default is 2,000). A project's list with
/// 100 shares reads about 600 scattered pages at a million images (member rows, image rows and
/// their index leaves, and the inner pages above them); with 2,000 KiB they did not fit, each
/// request read them again from the kernel, and its page cost 2.8 times what it cost at 10,000
/// images (bench/SCALE.md). The cache grows only as pages are read.
const SQLITE_PAGE_CACHE_KIB: u32 = 16_384;

/// A connection unused for longer than this is pinged before it is handed out
/// (the server may have dropped it meanwhile). Under load connections come back
/// within milliseconds and are handed out again without the extra round trip.
const IDLE_PING_AFTER: Duration = Duration::from_secs(2);

pub fn ping(conn: &mut DbConn) -> Result<(), diesel::result::Error> {
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}

#[derive(Debug, Clone)]
pub struct Manager {
    url: DbUrl,
    /// The statement time limit set on each new server connection (PostgreSQL
    /// `statement_timeout`, MariaDB `max_statement_time`); zero leaves the server's.
    statement_timeout: Duration,
    /// SQLite connections get a list cache (`db::list_cache`).
    list_cache: bool,
}

/// The session setting that makes PostgreSQL cancel a statement running longer than
/// `timeout` (whole milliseconds; `0` = no limit).
pub(super) fn statement_timeout_sql(timeout: Duration) -> String {
    format!("SET statement_timeout = {}", timeout.as_millis())
}

/// The session settings of every MySQL/MariaDB connection:
/// - `sql_mode`: oslo.db's `TRADITIONAL` (a value that does not fit is an error, never silently
///   cut) plus `ANSI_QUOTES`, so the SQL glint writes with double-quoted identifiers means on
///   MySQL what it means on the other backends;
/// - READ COMMITTED, PostgreSQL's level, which glint's row locks were designed for (InnoDB's
///   default REPEATABLE READ adds gap locks, and deadlocks, between unrelated inserts);
/// - `group_concat_max_len` large enough for an image's properties and tags aggregated as JSON
///   (MariaDB's default, 1 MiB, would cut them short);
/// - the statement time limit, MariaDB's `max_statement_time` (seconds).
pub(super) fn mysql_session_sql(timeout: Duration) -> String {
    let mut sql = String::from(
        "SET SESSION sql_mode = 'TRADITIONAL,ANSI_QUOTES'; \
         SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED; \
         SET SESSION group_concat_max_len = 67108864;",
    );
    sql.push_str(&mysql_statement_timeout_sql(timeout));
    sql
}

/// MariaDB's per-statement time limit (`0` = none).
pub(super) fn mysql_statement_timeout_sql(timeout: Duration) -> String {
    format!(
        " SET SESSION max_statement_time = {}.{:03};",
        timeout.as_secs(),
        timeout.subsec_millis()
    )
}

impl Manager {
    pub(super) fn new(url: DbUrl, statement_timeout: Duration, list_cache: bool) -> Manager {
        Manager {
            url,
            statement_timeout,
            list_cache,
        }
    }
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
                // SQLITE_PAGE_CACHE: see there.
                c.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                     PRAGMA cache_size = -{SQLITE_PAGE_CACHE_KIB};"
                ))
                .map_err(r2d2::Error::QueryError)?;
                super::list_cache::register(&mut c, self.list_cache)
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
            Backend::Mysql => {
                let mut c = MysqlConnection::establish(&self.url.target)
                    .map_err(r2d2::Error::ConnectionError)?;
                c.batch_execute(&mysql_session_sql(self.statement_timeout))
                    .map_err(r2d2::Error::QueryError)?;
                DbConn::Mysql(c)
            }
        };
        Ok(Slot {
            conn,
            returned_at: Instant::now(),
            failures_seen: connection_failures(),
        })
    }

    /// On check-out: a round trip only for a connection that sat idle, or when
    /// some query failed for want of a connection since this one was last used.
    fn is_valid(&self, slot: &mut Slot) -> Result<(), r2d2::Error> {
        let failures = connection_failures();
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
        let failures = connection_failures();
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
    /// `[database] glint_list_cache` (SQLite).
    pub list_cache: bool,
}

impl PoolSettings {
    pub fn from_config(c: &crate::config::Config) -> PoolSettings {
        PoolSettings {
            max_size: c.database_max_pool_size,
            timeout: Duration::from_secs(c.database_pool_timeout),
            max_retries: c.database_max_retries,
            retry_interval: Duration::from_secs(c.database_retry_interval),
            statement_timeout: Duration::from_secs(c.database_statement_timeout),
            list_cache: c.database_list_cache,
        }
    }
}

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
pub const MYSQL_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/mysql");

/// SQLite allows one writer at a time. Writers of this process queue here, in
/// arrival order, instead of in SQLite's busy handler, which sleeps in growing
/// steps and gave p99 write latencies near a second under concurrency
/// (bench/RESULTS.md, "Figures behind the code"). Other processes on the same file still
/// meet `busy_timeout`.
static SQLITE_WRITER: Mutex<()> = Mutex::new(());

/// Run `f` in a write transaction. On SQLite the first statement takes the
/// write lock, so the transaction never upgrades a stale read snapshot
/// (SQLITE_BUSY) under concurrent writers; the server backends need nothing special.
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
                TakeWriteLock.execute(s)?;
            }
            f(c)
        })
    } else {
        conn.transaction(f)
    }
}

/// The first statement of a SQLite write transaction: it takes the write lock at once, so a
/// transaction never has to upgrade a read snapshot another writer has made stale. Its SQL is
/// fixed, so diesel keeps it prepared (keyed by the type, as the statements of `cached.rs`).
struct TakeWriteLock;

impl diesel::query_builder::QueryId for TakeWriteLock {
    type QueryId = TakeWriteLock;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<C> RunQueryDsl<C> for TakeWriteLock {}

impl<DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB> for TakeWriteLock {
    fn walk_ast<'b>(
        &'b self,
        mut pass: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        pass.push_sql("UPDATE images SET deleted = deleted WHERE 1 = 0");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use diesel::RunQueryDsl;

    use super::SQLITE_PAGE_CACHE_KIB;
    use crate::db::Db;

    #[derive(diesel::QueryableByName)]
    struct CacheSize {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        cache_size: i64,
    }

    #[test]
    fn sqlite_connections_get_their_page_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::sqlite_for_test(&dir.path().join("c.db"));
        let mut conn = db.conn().expect("conn");
        let got: Vec<CacheSize> = diesel::sql_query("PRAGMA cache_size")
            .load(&mut *conn)
            .expect("pragma");
        assert_eq!(got[0].cache_size, -i64::from(SQLITE_PAGE_CACHE_KIB));
    }
}
