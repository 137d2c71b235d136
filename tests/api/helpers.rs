//! Test harness: the whole app on a loopback port, with its own database
//! (a temp SQLite file, or a fresh PostgreSQL or MariaDB database) and its own image store.

use std::net::TcpListener;
use std::path::Path;

use diesel::{Connection, RunQueryDsl};
use glint::app::AppState;
use glint::config::{AuthStrategy, Config};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;

#[path = "s3_target.rs"]
pub mod s3_target;
#[path = "swift_target.rs"]
pub mod swift_target;
use s3_target::S3Target;
use swift_target::SwiftTarget;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// MariaDB (or MySQL).
    Mysql,
}

/// Where tests find PostgreSQL (trust auth on the project's machines).
pub fn pg_admin_url() -> String {
    std::env::var("GLINT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".into())
}

pub fn pg_url_for(db: &str) -> String {
    let admin = pg_admin_url();
    match admin.rfind('/') {
        Some(i) => format!("{}/{db}", &admin[..i]),
        None => admin,
    }
}

/// Where tests find MariaDB (root without a password on the project's machines).
pub fn mysql_admin_url() -> String {
    std::env::var("GLINT_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

pub fn mysql_url_for(db: &str) -> String {
    let admin = mysql_admin_url();
    match admin.rfind('/') {
        Some(i) => format!("{}/{db}", &admin[..i]),
        None => admin,
    }
}

pub fn create_mysql_database() -> String {
    let name = format!("glint_test_{}", uuid::Uuid::new_v4().simple());
    let mut c = diesel::MysqlConnection::establish(&mysql_admin_url()).unwrap_or_else(|e| {
        panic!(
            "MariaDB is required for the mysql variant of this test and is not reachable at {}: {e}. \
             Start it, or leave mysql out of GLINT_TEST_BACKENDS.",
            mysql_admin_url()
        )
    });
    diesel::sql_query(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"))
        .execute(&mut c)
        .expect("create test database");
    name
}

/// Best effort, as for PostgreSQL.
pub fn drop_mysql_database(name: &str) {
    if let Ok(mut c) = diesel::MysqlConnection::establish(&mysql_admin_url()) {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name}")).execute(&mut c);
    }
}

pub struct TestApp {
    pub addr: String,
    pub client: reqwest::Client,
    pub state: AppState,
    _dir: tempfile::TempDir,
    pub backend: Backend,
    pg_db: Option<String>,
    mysql_db: Option<String>,
    /// The S3 store the app writes to (`store_test!`'s `s3` variant).
    pub s3: Option<S3Target>,
    /// The Swift store the app writes to (`store_test!`'s `swift` variant).
    pub swift: Option<SwiftTarget>,
    server: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

pub fn test_config(dir: &Path, backend: Backend, pg_db: Option<&str>) -> Config {
    let mut c = Config::defaults(dir);
    c.auth_strategy = AuthStrategy::Noauth;
    c.database_max_pool_size = 8;
    match backend {
        Backend::Sqlite => {}
        Backend::Postgres => {
            c.database_connection = pg_url_for(pg_db.unwrap_or("test")).parse().unwrap();
        }
        Backend::Mysql => {
            c.database_connection = mysql_url_for(pg_db.unwrap_or("test")).parse().unwrap();
        }
    }
    c
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// On SQLite, writing to a new bucket of `target` (the S3 store as default store).
    pub async fn spawn_s3(target: S3Target, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let mut app = Self::spawn_with(Backend::Sqlite, |c| {
            tweak(c);
            target.configure(c);
        })
        .await;
        app.s3 = Some(target);
        app
    }

    /// On SQLite, writing to a new container of `target` (the Swift store as default store).
    pub async fn spawn_swift(target: SwiftTarget, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let mut app = Self::spawn_with(Backend::Sqlite, |c| {
            tweak(c);
            target.configure(c);
        })
        .await;
        app.swift = Some(target);
        app
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let (pg_db, mysql_db) = match backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres => (Some(create_pg_database()), None),
            Backend::Mysql => (None, Some(create_mysql_database())),
        };
        let server_db = pg_db.as_deref().or(mysql_db.as_deref());
        let mut config = test_config(dir.path(), backend, server_db);
        tweak(&mut config);
        let state = glint::startup::build_state(config).expect("build state");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = format!("http://{}", listener.local_addr().expect("addr"));
        let s = state.clone();
        // The server gets its own thread and actix System, so that dropping the
        // TestApp can stop it and wait for it without blocking the test's runtime.
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                // The production server builder: the same timeouts and limits as `glint serve`.
                let options = glint::server::ServeOptions {
                    workers: 2,
                    handle_signals: false,
                };
                let server =
                    glint::server::serve(s, glint::server::Bind::Listener(listener), options)
                        .expect("listen");
                tx.send(server.handle()).expect("send handle");
                let _ = server.await;
            })
        });
        let handle = rx.recv().expect("server handle");
        TestApp {
            thread: Some(thread),
            addr,
            client: reqwest::Client::new(),
            state,
            _dir: dir,
            backend,
            pg_db,
            mysql_db,
            s3: None,
            swift: None,
            server: handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.addr, path)
    }

    /// A caller in `project` with `roles` (noauth headers), asking for JSON errors.
    pub fn caller(&self, project: &str, roles: &str) -> Caller<'_> {
        Caller {
            app: self,
            project: project.to_owned(),
            roles: roles.to_owned(),
        }
    }

    /// The MariaDB database of this app, if it runs on MariaDB.
    pub fn mysql_db(&self) -> Option<&str> {
        self.mysql_db.as_deref()
    }

    /// The PostgreSQL database of this app, if it runs on PostgreSQL.
    pub fn pg_db(&self) -> Option<&str> {
        self.pg_db.as_deref()
    }

    pub fn db(&self) -> glint::db::connection::PooledConn {
        self.state.db.conn().expect("db connection")
    }

    /// Run raw SQL returning one count.
    pub fn count(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut c = self.db();
        let rows: Vec<N> = diesel::sql_query(sql).load(&mut *c).expect("count query");
        rows[0].n
    }

    /// The location URL of an image's data in the default store, in glance_store's form.
    pub fn location_of(&self, id: &str) -> String {
        if let Some(swift) = &self.swift {
            return swift.location(id);
        }
        match &self.s3 {
            Some(s3) => s3.location(id),
            None => format!(
                "file://{}",
                self.state
                    .config
                    .filesystem_store_datadir
                    .join(id)
                    .display()
            ),
        }
    }

    /// What the default store holds: the file names in the file store's directory, the
    /// S3 bucket's keys and unfinished multipart uploads (see [`S3Target::contents`]), or the
    /// Swift container's objects (see [`SwiftTarget::contents`]).
    pub fn store_files(&self) -> Vec<String> {
        if let Some(s3) = &self.s3 {
            return s3.contents();
        }
        if let Some(swift) = &self.swift {
            return swift.contents();
        }
        let dir = &self.state.config.filesystem_store_datadir;
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let h = self.server.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(h.stop(false));
            }
        })
        .join();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(db) = self.pg_db.take() {
            drop_pg_database(&db);
        }
        if let Some(db) = self.mysql_db.take() {
            drop_mysql_database(&db);
        }
        if let Some(s3) = self.s3.take() {
            s3.remove();
        }
        if let Some(swift) = self.swift.take() {
            swift.remove();
        }
    }
}

/// Best effort: a test database left behind is harmless.
pub fn drop_pg_database(name: &str) {
    if let Ok(mut c) = diesel::PgConnection::establish(&pg_admin_url()) {
        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut c);
    }
}

pub fn create_pg_database() -> String {
    let name = format!("glint_test_{}", uuid::Uuid::new_v4().simple());
    let mut c = diesel::PgConnection::establish(&pg_admin_url()).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is required for the postgres variant of this test and is not reachable at {}: {e}. \
             Start it, or set GLINT_TEST_BACKENDS=sqlite to run SQLite only.",
            pg_admin_url()
        )
    });
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .expect("create test database");
    name
}

pub struct Caller<'a> {
    pub app: &'a TestApp,
    pub project: String,
    pub roles: String,
}

impl Caller<'_> {
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.app
            .client
            .request(method, self.app.url(path))
            .header("X-Project-Id", &self.project)
            .header("X-Roles", &self.roles)
            .header("X-User-Id", format!("user-{}", self.project))
            .header("Accept", "application/json")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path)
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.request(Method::PUT, path)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn patch(&self, path: &str, ops: &Value) -> Response {
        self.request(Method::PATCH, path)
            .header(
                "Content-Type",
                "application/openstack-images-v2.1-json-patch",
            )
            .body(ops.to_string())
            .send()
            .await
            .expect("request")
    }

    pub async fn upload(&self, id: &str, data: Vec<u8>) -> Response {
        self.request(Method::PUT, &format!("/v2/images/{id}/file"))
            .header("Content-Type", "application/octet-stream")
            .body(data)
            .send()
            .await
            .expect("request")
    }

    /// The status of `GET path`, for the many checks that need nothing else.
    pub async fn get_status(&self, path: &str) -> u16 {
        self.get(path).await.status().as_u16()
    }

    /// The status of `DELETE path`.
    pub async fn delete_status(&self, path: &str) -> u16 {
        self.delete(path).await.status().as_u16()
    }

    /// Stage `data` for image `id` and start its glance-direct import (asserting 204, then 202).
    pub async fn stage_and_import(&self, id: &str, data: Vec<u8>) {
        let r = self
            .request(Method::PUT, &format!("/v2/images/{id}/stage"))
            .header("Content-Type", "application/octet-stream")
            .body(data)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 204, "stage {id}");
        let r = self
            .post(
                &format!("/v2/images/{id}/import"),
                &serde_json::json!({"method": {"name": "glance-direct"}}),
            )
            .await;
        assert_eq!(r.status(), 202, "import {id}");
    }

    /// Create an image and return its JSON (asserting 201).
    pub async fn create_image(&self, body: Value) -> Value {
        let r = self.post("/v2/images", &body).await;
        let status = r.status().as_u16();
        let v: Value = r.json().await.expect("json");
        assert_eq!(status, 201, "create failed: {v}");
        v
    }
}

/// Status and JSON body of a response.
pub async fn json(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, v)
}

/// The image ids of a `GET /v2/images` body, in order.
pub fn image_ids(v: &Value) -> Vec<String> {
    v["images"]
        .as_array()
        .expect("images array")
        .iter()
        .map(|i| i["id"].as_str().expect("image id").to_owned())
        .collect()
}

/// The text of a Glance JSON error body: the detail when Glance gave one, else the explanation.
pub fn message(v: &Value) -> String {
    let m = v["message"].as_str().unwrap_or_default();
    let (explanation, rest) = m.split_once("<br /><br />").unwrap_or((m, ""));
    let detail = rest.trim();
    if detail.is_empty() {
        explanation
    } else {
        detail
    }
    .to_owned()
}

/// Asserts a Glance error answer: its status and the text `message` finds in its body.
#[track_caller]
pub fn assert_error((status, body): (u16, &Value), (want_status, want): (u16, &str)) {
    assert_eq!((status, message(body).as_str()), (want_status, want));
}

pub fn backends() -> Vec<Backend> {
    let wanted =
        std::env::var("GLINT_TEST_BACKENDS").unwrap_or_else(|_| "sqlite,postgres,mysql".into());
    wanted
        .split(',')
        .map(|b| match b.trim() {
            "sqlite" => Backend::Sqlite,
            "postgres" | "postgresql" => Backend::Postgres,
            "mysql" | "mariadb" => Backend::Mysql,
            // A typo must not turn every backend test into a silent pass.
            other => panic!(
                "GLINT_TEST_BACKENDS: unknown backend {other:?} (known: sqlite, postgres, mysql)"
            ),
        })
        .collect()
}

/// Define a test that runs once per backend: `backend_test!(name, |app| async move { ... });`
#[macro_export]
macro_rules! backend_test {
    ($name:ident, |$app:ident| $body:expr) => {
        $crate::backend_test!($name, config = |_c| (), |$app| $body);
    };
    ($name:ident, config = |$c:ident| $tweak:expr, |$app:ident| $body:expr) => {
        $crate::backend_test!(@variants $name, [], config = |$c| $tweak, |$app| $body);
    };
    (@variants $name:ident, [$($more:tt)*], config = |$c:ident| $tweak:expr, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($app: $crate::helpers::TestApp) {
                $body.await
            }
            #[actix_web::test]
            async fn sqlite() {
                if $crate::helpers::backends().contains(&$crate::helpers::Backend::Sqlite) {
                    run($crate::helpers::TestApp::spawn_with(
                        $crate::helpers::Backend::Sqlite,
                        |$c| {
                            $tweak;
                        },
                    )
                    .await)
                    .await;
                } else {
                    $crate::helpers::skip("sqlite not in GLINT_TEST_BACKENDS");
                }
            }
            #[actix_web::test]
            async fn postgres() {
                if $crate::helpers::backends().contains(&$crate::helpers::Backend::Postgres) {
                    run($crate::helpers::TestApp::spawn_with(
                        $crate::helpers::Backend::Postgres,
                        |$c| {
                            $tweak;
                        },
                    )
                    .await)
                    .await;
                } else {
                    $crate::helpers::skip("postgres not in GLINT_TEST_BACKENDS");
                }
            }
            #[actix_web::test]
            async fn mysql() {
                if $crate::helpers::backends().contains(&$crate::helpers::Backend::Mysql) {
                    run($crate::helpers::TestApp::spawn_with(
                        $crate::helpers::Backend::Mysql,
                        |$c| {
                            $tweak;
                        },
                    )
                    .await)
                    .await;
                } else {
                    $crate::helpers::skip("mysql not in GLINT_TEST_BACKENDS");
                }
            }
            $($more)*
        }
    };
}

/// A data test that runs once per database backend on the file store and, when
/// `GLINT_SWIFT_ENV` names a running object-store server (scripts/swift.sh), once more on
/// SQLite with the S3 store as default store (`s3`) and once with the Swift store on Keystone v3
/// (`swift`): `app.store_files()` then lists the bucket or the container.
#[macro_export]
macro_rules! store_test {
    ($name:ident, |$app:ident| $body:expr) => {
        $crate::store_test!($name, config = |_c| (), |$app| $body);
    };
    ($name:ident, config = |$c:ident| $tweak:expr, |$app:ident| $body:expr) => {
        $crate::backend_test!(@variants $name, [
            #[actix_web::test]
            async fn s3() {
                match $crate::helpers::s3_target::S3Target::from_env() {
                    Some(target) => {
                        run($crate::helpers::TestApp::spawn_s3(target, |$c| {
                            $tweak;
                        })
                        .await)
                        .await
                    }
                    None => $crate::helpers::skip(
                        "no object store: GLINT_SWIFT_ENV unset (scripts/swift.sh start writes it)",
                    ),
                }
            }
            #[actix_web::test]
            async fn swift() {
                match $crate::helpers::swift_target::SwiftTarget::from_env() {
                    Some(target) => {
                        run($crate::helpers::TestApp::spawn_swift(target, |$c| {
                            $tweak;
                        })
                        .await)
                        .await
                    }
                    None => $crate::helpers::skip(
                        "no Swift with Keystone: GLINT_SWIFT_ENV unset or without SWIFT_KEYSTONE_* \
                         (start scripts/keystone.sh before scripts/swift.sh)",
                    ),
                }
            }
        ], config = |$c| $tweak, |$app| $body);
    };
}

/// Mark the running test as skipped, visibly and countably: a `SKIPPED:` line on stderr, a line
/// `<suite>\t<test>\t<reason>` appended to the file named by `GLINT_TEST_SKIP_LOG` (scripts/test.sh
/// sets it and counts the lines per suite in its summary), and, when `GLINT_TEST_REQUIRE=all` says
/// that every suite must run, a failure of the test instead of a silent pass. The caller returns
/// right after.
pub fn skip(reason: &str) {
    let suite = env!("CARGO_CRATE_NAME");
    let test = std::thread::current()
        .name()
        .unwrap_or("unknown test")
        .to_owned();
    eprintln!("SKIPPED: {reason}");
    if let Ok(path) = std::env::var("GLINT_TEST_SKIP_LOG") {
        if !path.is_empty() {
            use std::io::Write;
            let line = format!("{suite}\t{test}\t{}\n", reason.replace(['\t', '\n'], " "));
            // One write of one short line to a file opened for appending: lines from tests
            // running in parallel do not interleave.
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("GLINT_TEST_SKIP_LOG: cannot open {path}: {e}"));
            f.write_all(line.as_bytes())
                .unwrap_or_else(|e| panic!("GLINT_TEST_SKIP_LOG: cannot write {path}: {e}"));
        }
    }
    if skips_forbidden() {
        panic!("GLINT_TEST_REQUIRE=all: {suite}::{test} must run but skipped itself: {reason}");
    }
}

/// `GLINT_TEST_REQUIRE=all`: no test may skip itself (CI sets it). Any other value than `all` or
/// unset/empty is a typo and an error, so that it cannot quietly turn the check off.
pub fn skips_forbidden() -> bool {
    match std::env::var("GLINT_TEST_REQUIRE").as_deref() {
        Err(_) | Ok("") => false,
        Ok("all") => true,
        Ok(other) => panic!("GLINT_TEST_REQUIRE: unknown value {other:?} (known: all)"),
    }
}
