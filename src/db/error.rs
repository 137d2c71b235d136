//! Database failures, converted to the service's error in one place.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::error::Error;

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
    /// A domain error raised inside a transaction, passed through unchanged.
    #[error("{0}")]
    Domain(Error),
}

impl From<DieselError> for DbError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => DbError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                DbError::Duplicate(info.message().to_owned())
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                DbError::Unavailable(info.message().to_owned())
            }
            DieselError::DatabaseError(_, info) if is_transient(info.message()) => {
                DbError::Unavailable(info.message().to_owned())
            }
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
}

impl From<Error> for DbError {
    fn from(e: Error) -> Self {
        DbError::Domain(e)
    }
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Domain(e) => e,
            DbError::NotFound => Error::internal("unexpected missing row"),
            DbError::Duplicate(m) => Error::internal(format!("unexpected duplicate: {m}")),
            DbError::Unavailable(m) => Error::Unavailable(m),
            DbError::Other(m) => Error::internal(m),
        }
    }
}
