//! Database failures, converted to the service's error in one place.

use std::sync::atomic::{AtomicU64, Ordering};

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::error::Error;

/// Count of connection-level failures seen by any query of this process. A
/// change since a connection was last used means it may be dead too: the pool
/// pings it on its return and before its next use.
static CONNECTION_FAILURES: AtomicU64 = AtomicU64::new(0);

/// Called where a query failed because the database went away.
pub fn note_connection_failure() {
    CONNECTION_FAILURES.fetch_add(1, Ordering::Relaxed);
}

/// The failures counted so far by [`note_connection_failure`].
pub fn connection_failures() -> u64 {
    CONNECTION_FAILURES.load(Ordering::Relaxed)
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("row not found")]
    NotFound,
    /// A unique constraint refused the write (duplicate id, member, tag...).
    #[error("duplicate: {0}")]
    Duplicate(String),
    /// The database cannot be reached or the pool is exhausted: retryable.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<DieselError> for DbError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => DbError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                DbError::Duplicate(info.message().to_owned())
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                note_connection_failure();
                DbError::Unavailable(info.message().to_owned())
            }
            // `[database] statement_timeout` fired: the server is overloaded or the statement is
            // pathological; the connection is fine, the request is told to retry later.
            DieselError::DatabaseError(_, info)
                if info
                    .message()
                    .contains("canceling statement due to statement timeout")
                    || info.message().contains("max_statement_time exceeded")
                    // InnoDB chose this transaction as a deadlock's victim, or it waited for a
                    // row lock past innodb_lock_wait_timeout: rolled back, safe to retry.
                    || info.message().starts_with("Deadlock found when trying to get lock")
                    || info.message().starts_with("Lock wait timeout exceeded") =>
            {
                DbError::Unavailable(info.message().to_owned())
            }
            DieselError::DatabaseError(_, info) if is_transient(info.message()) => {
                note_connection_failure();
                DbError::Unavailable(info.message().to_owned())
            }
            // The server went away inside a transaction: the rollback failed too,
            // diesel gives up on the connection (the pool then drops it).
            DieselError::BrokenTransactionManager => {
                DbError::Unavailable("connection lost inside a transaction".into())
            }
            // A failed COMMIT: unknown outcome, never acknowledged; the commit
            // error decides whether it is the database going away.
            DieselError::RollbackErrorOnCommit { commit_error, .. } => DbError::from(*commit_error),
            other => DbError::Other(other.to_string()),
        }
    }
}

/// Messages of failures that a retry (or a restarted server) would cure.
fn is_transient(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("database is locked")
        || m.contains("server closed the connection")
        || m.contains("terminating connection")
        || m.contains("connection refused")
        || m.contains("no connection to the server")
        || m.contains("could not receive data from server")
        || m.contains("could not send data to server")
        || m.contains("the database system is")
        || m.contains("ssl syscall error")
        // MySQL client library errors 2013 and 2006 (MariaDB's and MySQL's wordings), and
        // the server's 1927 for a connection an administrator killed.
        || m.contains("lost connection to")
        || m.contains("server has gone away")
        || m.contains("can't connect to mysql server")
        || m.contains("can't connect to server")
        || m.contains("server shutdown in progress")
        || m.contains("connection was killed")
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => Error::internal("unexpected missing row"),
            DbError::Duplicate(m) => Error::internal(format!("unexpected duplicate: {m}")),
            DbError::Unavailable(m) => Error::Unavailable(m),
            DbError::Other(m) => Error::internal(m),
        }
    }
}

/// A diesel failure inside work run by `AppState::read`/`write` (its transaction included)
/// converts through `DbError`, so the same failure always gives the same answer.
impl From<DieselError> for Error {
    fn from(e: DieselError) -> Self {
        DbError::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_connection_is_unavailable_not_internal() {
        assert!(matches!(
            DbError::from(DieselError::BrokenTransactionManager),
            DbError::Unavailable(_)
        ));
        let commit_failed = DieselError::RollbackErrorOnCommit {
            rollback_error: Box::new(DieselError::BrokenTransactionManager),
            commit_error: Box::new(DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection,
                Box::new("server closed the connection unexpectedly".to_owned()),
            )),
        };
        assert!(matches!(
            DbError::from(commit_failed),
            DbError::Unavailable(_)
        ));
        for msg in [
            "terminating connection due to administrator command",
            "FATAL:  the database system is shutting down",
            "could not receive data from server: Connection reset by peer",
            "Lost connection to MySQL server during query",
            "MySQL server has gone away",
            "Deadlock found when trying to get lock; try restarting transaction",
            "Query execution was interrupted (max_statement_time exceeded)",
        ] {
            let e =
                DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(msg.to_owned()));
            assert!(matches!(DbError::from(e), DbError::Unavailable(_)), "{msg}");
        }
        // A genuine bug stays a 500.
        let e = DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("syntax error at or near \"SELEC\"".to_owned()),
        );
        assert!(matches!(DbError::from(e), DbError::Other(_)));
    }
}
