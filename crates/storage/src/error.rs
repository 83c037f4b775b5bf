//! Storage's one error type, sorted by what the caller should do.

use thiserror::Error;

/// What can go wrong in storage, sorted by what the caller should do about it.
#[derive(Debug, Error)]
pub enum StorageError {
    /// PostgreSQL cannot be reached or the pool is exhausted: retry later (503).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A uniqueness rule refused the write; the string names what already exists.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// Work inside the process stopped or failed around the database call (a writer task
    /// ended, a background task panicked, a batch could not be stored): retry later (503).
    #[error("{0}")]
    Interrupted(String),
    /// Anything else: a bug or a schema mismatch.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StorageError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(err),
            other => Self::Database(other),
        }
    }
}

impl StorageError {
    /// PostgreSQL refused the values themselves (too long, out of range, not a valid date, a
    /// missing required field, a broken check): the same write fails every time.
    pub fn is_refused_data(&self) -> bool {
        matches!(self, Self::Database(sqlx::Error::Database(db))
            if db.code().is_some_and(|code| code.starts_with("22") || code == "23502" || code == "23514"))
    }

    /// A deadlock or serialization failure: the same transaction, run again, can succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Database(sqlx::Error::Database(db))
            if matches!(db.code().as_deref(), Some("40P01" | "40001")))
    }
}

/// True when `err` is a unique-constraint violation on `constraint`.
pub(crate) fn is_unique_violation(err: &sqlx::Error, constraint: &str) -> bool {
    matches!(err, sqlx::Error::Database(db)
        if db.code().as_deref() == Some("23505") && db.constraint() == Some(constraint))
}
