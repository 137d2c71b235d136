//! SQLite: what list pages read, kept on each pooled connection between requests and dropped
//! as soon as the database may have changed.
//!
//! On SQLite most of a list page was reading: the streams' statement (about 1.2 million
//! instructions for a project with 100 shares, whose member rows it reads and sorts), then 25
//! images with their properties and tags (about 55,000 instructions an image in SQLite's
//! B-trees, a fifth as much again to decode them); bench/SCALE.md, issue #20. The images a
//! cloud lists change far less often than they are listed, so each connection keeps the pages'
//! ids by query and the images by id, and before a request uses them it asks SQLite whether
//! anything was committed since the connection last looked: `PRAGMA data_version` changes
//! when any other connection (the writer thread, another process on the same file) commits,
//! and `total_changes()` when this one writes. Either change empties the connection's cache
//! before anything is taken from it, so a page never shows what running its statements again
//! would not. A connection serves one request at a time, so a request's check, hits and fills
//! need no further coordination. Queries that depend on the clock (share expiry, pending
//! offers' time to live) are never kept.
//!
//! Connections are told apart by a SQL function registered on each (`glint_list_cache`),
//! which also keeps what the connection saw last; its cache is dropped with the connection.
//! PostgreSQL and MariaDB give no such signal across API nodes: they run every page.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::BigInt;
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{QueryResult, RunQueryDsl};

use crate::domain::image::Image;

/// Images kept per connection: a pool of 10 holds at most 10 x this many (a few kB each). A
/// full cache is emptied and filled again.
pub const IMAGES: usize = 2048;
/// Page ids kept per connection, over all its kept queries.
pub const PAGE_IDS: usize = 16_384;

#[diesel::declare_sql_function]
extern "SQL" {
    /// This connection's id; empties its cache first if the database changed since the last call.
    fn glint_list_cache(data_version: BigInt, total_changes: BigInt) -> BigInt;
}

/// One connection's pages and images.
#[derive(Default)]
pub struct ConnCache {
    images: HashMap<String, Image>,
    pages: HashMap<String, Vec<String>>,
    page_ids: usize,
}

impl ConnCache {
    pub fn image(&self, id: &str) -> Option<&Image> {
        self.images.get(id)
    }

    pub fn keep_image(&mut self, img: &Image) {
        if self.images.len() >= IMAGES {
            self.images.clear();
        }
        self.images.insert(img.id.clone(), img.clone());
    }

    /// The ids of the page `key` names (a query and who asks it), as its statement chose them.
    pub fn page(&self, key: &str) -> Option<&[String]> {
        self.pages.get(key).map(Vec::as_slice)
    }

    pub fn keep_page(&mut self, key: String, ids: &[String]) {
        if self.page_ids + ids.len() > PAGE_IDS {
            self.pages.clear();
            self.page_ids = 0;
        }
        if ids.len() <= PAGE_IDS {
            self.page_ids += ids.len();
            if let Some(old) = self.pages.insert(key, ids.to_vec()) {
                self.page_ids -= old.len();
            }
        }
    }

    fn clear(&mut self) {
        self.images.clear();
        self.pages.clear();
        self.page_ids = 0;
    }
}

type Caches = Mutex<HashMap<u64, Arc<Mutex<ConnCache>>>>;

fn caches() -> &'static Caches {
    static CACHES: OnceLock<Caches> = OnceLock::new();
    CACHES.get_or_init(Default::default)
}

/// Removes a connection's cache when SQLite drops the function, i.e. when the connection closes.
struct Registration {
    id: u64,
    last: Option<(i64, i64)>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(caches()).remove(&self.id);
    }
}

/// Gives `conn` its cache (`enabled`: `[database] glint_list_cache`; without it the check
/// finds no cache). Called once for each new SQLite connection.
pub fn register(conn: &mut SqliteConnection, enabled: bool) -> QueryResult<()> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let cache: Arc<Mutex<ConnCache>> = Arc::default();
    if enabled {
        lock(caches()).insert(id, cache.clone());
    }
    let reg = Mutex::new(Registration { id, last: None });
    glint_list_cache_utils::register_nondeterministic_impl(
        conn,
        move |data_version: i64, total_changes: i64| {
            let mut reg = lock(&reg);
            let now = Some((data_version, total_changes));
            let changed = reg.last != now;
            reg.last = now;
            // Emptied here, where the change is seen, so no caller can miss it.
            if changed {
                lock(&cache).clear();
            }
            reg.id as i64
        },
    )
}

/// The cache of `conn`, emptied first if the database changed since it was last used; `None`
/// when the connection has none (it is not one glint opened) or the check failed.
pub fn checked(conn: &mut SqliteConnection) -> Option<Arc<Mutex<ConnCache>>> {
    let id = Check.get_result::<i64>(conn).ok()?;
    lock(caches()).get(&(id as u64)).cloned()
}

/// A poisoned lock still guards consistent data here: every change under it is one call.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The check, as a statement of fixed text (kept prepared by diesel's cache).
#[derive(Debug, Clone, Copy)]
struct Check;

impl QueryId for Check {
    type QueryId = Check;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for Check {
    type SqlType = BigInt;
}

impl RunQueryDsl<SqliteConnection> for Check {}

impl QueryFragment<Sqlite> for Check {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        pass.push_sql(
            "SELECT glint_list_cache(data_version, total_changes()) FROM pragma_data_version",
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, SqliteConnection};

    use super::{checked, lock, register};
    use crate::domain::image::Image;

    fn open(path: &str, with_cache: bool) -> SqliteConnection {
        let mut c = SqliteConnection::establish(path).expect("open");
        c.batch_execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;")
            .expect("pragmas");
        if with_cache {
            register(&mut c, true).expect("register");
        }
        c
    }

    fn image(id: &str) -> Image {
        Image::new(
            id.to_owned(),
            Some("p".to_owned()),
            chrono::Utc::now().naive_utc(),
        )
    }

    #[test]
    fn any_commit_anywhere_empties_the_cache_and_nothing_else_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.db").display().to_string();
        let mut writer = open(&path, false);
        writer
            .batch_execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
            .expect("setup");
        let mut reader = open(&path, true);
        let mut other = open(&path, true);

        let cache = checked(&mut reader).expect("a cache");
        lock(&cache).keep_image(&image("i1"));
        lock(&cache).keep_page("q".into(), &["i1".to_owned()]);
        // Nothing committed: kept, however often it is asked.
        for _ in 0..3 {
            let cache = checked(&mut reader).expect("a cache");
            assert!(lock(&cache).image("i1").is_some());
            assert_eq!(lock(&cache).page("q"), Some(&["i1".to_owned()][..]));
        }
        // Reads elsewhere change nothing.
        other.batch_execute("SELECT * FROM t;").expect("read");
        assert!(lock(&checked(&mut reader).unwrap()).image("i1").is_some());

        // Another connection (the writer thread, another process) commits.
        writer.batch_execute("UPDATE t SET x = 2;").expect("write");
        let cache = checked(&mut reader).expect("a cache");
        assert!(lock(&cache).image("i1").is_none());
        assert_eq!(lock(&cache).page("q"), None);

        // This connection commits itself.
        lock(&cache).keep_image(&image("i2"));
        reader.batch_execute("UPDATE t SET x = 3;").expect("write");
        assert!(lock(&checked(&mut reader).unwrap()).image("i2").is_none());

        // Each connection has its own cache, emptied by its own check.
        let theirs = checked(&mut other).expect("a cache");
        lock(&theirs).keep_image(&image("i3"));
        assert!(lock(&checked(&mut reader).unwrap()).image("i3").is_none());
        assert!(lock(&checked(&mut other).unwrap()).image("i3").is_some());
    }

    #[test]
    fn a_connection_glint_did_not_open_or_with_the_cache_off_has_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.db").display().to_string();
        assert!(checked(&mut open(&path, false)).is_none());
        let mut off = SqliteConnection::establish(&path).expect("open");
        register(&mut off, false).expect("register");
        assert!(checked(&mut off).is_none());
    }

    #[test]
    fn full_caches_start_again() {
        let mut c = super::ConnCache::default();
        for i in 0..super::IMAGES + 1 {
            c.keep_image(&image(&format!("i{i}")));
        }
        assert_eq!(c.images.len(), 1);
        let ids: Vec<String> = (0..super::PAGE_IDS / 2).map(|i| i.to_string()).collect();
        c.keep_page("a".into(), &ids);
        c.keep_page("a".into(), &ids);
        assert_eq!(c.page_ids, ids.len(), "a page kept again replaces itself");
        c.keep_page("b".into(), &ids);
        c.keep_page("c".into(), &ids);
        assert_eq!((c.pages.len(), c.page_ids), (1, ids.len()));
        let too_many: Vec<String> = (0..super::PAGE_IDS + 1).map(|i| i.to_string()).collect();
        c.keep_page("d".into(), &too_many);
        assert_eq!(c.page("d"), None);
    }
}
