//! SQLite's one writer, as one thread.
//!
//! SQLite lets one transaction write at a time. With every pooled connection's thread taking
//! its turn at a lock, each write ended with a hand-over to another parked thread, and on two
//! cores those hand-overs cost more than the writes: member writes served about half as many
//! requests at 16 concurrent clients as at one. Write work is instead queued to this thread,
//! which runs it back to back on its own connection; requests wait as futures. Services reach it
//! only through `AppState::write`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;

use diesel::r2d2::{ManageConnection, R2D2Connection};

use super::connection::{DbConn, Manager};

pub type Job = Box<dyn FnOnce(&mut DbConn) + Send>;

/// The queue to the writer thread. The thread ends when the last handle is dropped.
pub struct SqliteWriter {
    queue: mpsc::Sender<Job>,
}

impl SqliteWriter {
    /// Opens the writer's connection (as the pool opens its own) and starts the thread.
    pub fn start(manager: Manager) -> Result<SqliteWriter, String> {
        let first = open(&manager)?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("glint-sqlite-writer".into())
            .spawn(move || run(manager, first, rx))
            .map_err(|e| format!("cannot start the SQLite writer thread: {e}"))?;
        Ok(SqliteWriter { queue: tx })
    }

    /// Queue `job`; false if the writer thread is gone.
    pub fn submit(&self, job: Job) -> bool {
        self.queue.send(job).is_ok()
    }
}

fn open(manager: &Manager) -> Result<DbConn, String> {
    manager
        .connect()
        .map(|slot| slot.into_conn())
        .map_err(|e| format!("cannot open the SQLite writer connection: {e}"))
}

fn run(manager: Manager, mut conn: DbConn, jobs: mpsc::Receiver<Job>) {
    while let Ok(job) = jobs.recv() {
        // A panicking job has already answered its request (its result channel is dropped);
        // its connection may be left inside a transaction, so it is replaced.
        let panicked = catch_unwind(AssertUnwindSafe(|| job(&mut conn))).is_err();
        if panicked || conn.is_broken() {
            match open(&manager) {
                Ok(fresh) => conn = fresh,
                Err(e) => {
                    tracing::error!(error = %e, "SQLite writer: cannot reopen its connection")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::channel;
    use std::time::Duration;

    use diesel::RunQueryDsl;

    use crate::db::connection::write_tx;
    use crate::db::{Db, DbError};

    fn sqlite_db(dir: &tempfile::TempDir) -> Db {
        let db = Db::sqlite_for_test(&dir.path().join("w.db"));
        db.migrate().expect("migrate");
        db
    }

    #[test]
    fn a_panicking_job_leaves_the_writer_working() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sqlite_db(&dir);
        let writer = db.writer.clone().expect("SQLite has a writer");
        // Panics inside an open write transaction, holding the writers' lock.
        let (dropped_tx, dropped_rx) = channel::<()>();
        assert!(writer.submit(Box::new(move |conn| {
            let _answer = dropped_tx;
            let _ = write_tx(conn, |_| -> Result<(), DbError> { panic!("job bug") });
        })));
        // Its answer channel is dropped, not left waiting.
        assert_eq!(
            dropped_rx.recv_timeout(Duration::from_secs(5)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
        );
        let (tx, rx) = channel();
        assert!(writer.submit(Box::new(move |conn| {
            let wrote = write_tx(conn, |c| -> Result<(), DbError> {
                diesel::sql_query("UPDATE images SET name = name WHERE 1 = 0").execute(c)?;
                Ok(())
            });
            let _ = tx.send(wrote.is_ok());
        })));
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(true));
    }
}
