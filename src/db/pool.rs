//! The opened database: the connection pool, SQLite's writer thread and the admission gate,
//! opened from the parsed `[database]` settings.

use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2;
use diesel_migrations::MigrationHarness;

use super::connection::{
    mysql_statement_timeout_sql, statement_timeout_sql, Backend, Manager, Pool, PoolSettings,
    PooledConn, MYSQL_MIGRATIONS, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS,
};
use super::error::DbError;
use super::writer::SqliteWriter;
use crate::config::database::DatabaseUrl;

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
    pub writer: Option<Arc<SqliteWriter>>,
    /// `[database] statement_timeout`, which pooled PostgreSQL connections carry.
    pub statement_timeout: Duration,
}

impl Db {
    /// A small pool on the SQLite file `path` (created), not migrated: for unit tests.
    #[cfg(test)]
    pub(crate) fn sqlite_for_test(path: &std::path::Path) -> Db {
        let settings = PoolSettings {
            max_size: 2,
            timeout: Duration::from_secs(5),
            max_retries: 0,
            retry_interval: Duration::from_secs(1),
            statement_timeout: Duration::ZERO,
            list_cache: true,
        };
        let url = format!("sqlite:///{}", path.display());
        Db::open(&url.parse().expect("url"), &settings).expect("open")
    }

    /// Open a pool. For SQLite the parent directory must exist; the file is created.
    pub fn open(url: &DatabaseUrl, settings: &PoolSettings) -> Result<Db, String> {
        let backend = url.backend();
        let manager = Manager::new(
            url.url().clone(),
            settings.statement_timeout,
            settings.list_cache,
        );
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
                    let retry = backend.is_server()
                        && (settings.max_retries < 0 || attempt < settings.max_retries);
                    if !retry {
                        return Err(format!(
                            "cannot connect to database {}: {e}",
                            url.redacted()
                        ));
                    }
                    attempt += 1;
                    tracing::warn!(
                        attempt,
                        max_retries = settings.max_retries,
                        url = %url.redacted(),
                        error = %e,
                        "database not reachable at start-up; retrying"
                    );
                    std::thread::sleep(settings.retry_interval);
                }
            }
        };
        let writer = match backend {
            Backend::Sqlite => Some(Arc::new(SqliteWriter::start(manager)?)),
            Backend::Postgres | Backend::Mysql => None,
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
        let m = &crate::metrics::PROCESS;
        let started = std::time::Instant::now();
        let got = self.pool.get();
        crate::metrics::add_time(&m.pool_wait_us, started.elapsed());
        match got {
            Ok(c) => {
                m.pool_acquired
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(PooledConn(c))
            }
            Err(e) => {
                m.pool_errors
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Err(DbError::Unavailable(e.to_string()))
            }
        }
    }

    /// Apply pending migrations of this backend; returns the versions applied.
    pub fn migrate(&self) -> Result<Vec<String>, String> {
        let mut conn = self.conn().map_err(|e| e.to_string())?;
        let source = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
            Backend::Mysql => MYSQL_MIGRATIONS,
        };
        // A migration over a large table may rightly take longer than any request.
        let (unlimited, restore) = match self.backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres => (
                Some(statement_timeout_sql(Duration::ZERO)),
                Some(statement_timeout_sql(self.statement_timeout)),
            ),
            Backend::Mysql => (
                Some(mysql_statement_timeout_sql(Duration::ZERO)),
                Some(mysql_statement_timeout_sql(self.statement_timeout)),
            ),
        };
        if let Some(sql) = &unlimited {
            conn.batch_execute(sql)
                .map_err(|e| format!("migration failed: {e}"))?;
        }
        let before = match self.backend {
            Backend::Mysql => super::takeover::mysql_additions(&mut conn),
            _ => Vec::new(),
        };
        let applied =
            super::takeover::prepare(&mut conn, self.backend, &source).and_then(|adopted| {
                let mut applied: Vec<String> = conn
                    .run_pending_migrations(source)
                    .map(|v| v.iter().map(|m| m.to_string()).collect())
                    .map_err(|e| {
                        if adopted && self.backend == Backend::Mysql {
                            // MySQL's DDL is not transactional: take back what was added, so a
                            // failed takeover leaves Glance's database as it was found.
                            super::takeover::undo_mysql_adoption(&mut conn, &before);
                        }
                        format!("migration failed: {e}")
                    })?;
                if adopted {
                    applied.insert(
                        0,
                        format!(
                            "adopted Glance 32's schema ({})",
                            super::takeover::GLANCE_HEAD
                        ),
                    );
                }
                Ok(applied)
            });
        if let Some(sql) = &restore {
            // Back to the pool's setting before the connection returns to the pool.
            if let Err(e) = conn.batch_execute(sql) {
                tracing::warn!(error = %e, "could not restore the statement time limit after migrating");
            }
        }
        applied
    }

    /// The newest applied migration version, if any.
    pub fn version(&self) -> Result<Option<String>, String> {
        let mut conn = self.conn().map_err(|e| e.to_string())?;
        // Asking diesel would create its migration table in a database glint has not migrated.
        if !matches!(
            super::takeover::inspect(&mut conn, self.backend)?,
            super::takeover::Found::Glint(_)
        ) {
            return Ok(None);
        }
        let applied = conn
            .applied_migrations()
            .map_err(|e| format!("cannot read migration state: {e}"))?;
        Ok(applied.iter().map(|v| v.to_string()).max())
    }
}
