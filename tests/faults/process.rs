//! The set-up of the `kill -9` suites (`crash`, `import_crash`): the real glint binary on a free
//! port, over a fresh database of one backend, started again on the same config after a crash;
//! plus the noauth request they make, the SQLite/PostgreSQL test pair and a free port (also for
//! `private_pg`).

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{
    backends, create_mysql_database, create_pg_database, drop_mysql_database, drop_pg_database,
    mysql_url_for, pg_url_for, skip, Backend,
};

/// A running glint process, killed when dropped.
pub(crate) struct Glint {
    pub(crate) child: Child,
}

impl Drop for Glint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary deployment: directory (config, data dir, `images/`, `glint.log`), port and
/// database. Declare it before the [`Glint`]s it starts, so that they are stopped before its
/// PostgreSQL database is dropped.
pub(crate) struct Deployment {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) port: u16,
    pub(crate) base: String,
    config: PathBuf,
    /// The server database made for this deployment (dropped with it).
    server_db: Option<(Backend, String)>,
}

impl Deployment {
    /// `default_extra`: more `[DEFAULT]` lines; `sections`: more sections, both ending in `\n`.
    pub(crate) fn new(backend: Backend, default_extra: &str, sections: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let (db_url, server_db) = match backend {
            Backend::Sqlite => (
                format!("sqlite:///{}", dir.path().join("glint.db").display()),
                None,
            ),
            Backend::Postgres => {
                let name = create_pg_database();
                (pg_url_for(&name), Some((backend, name)))
            }
            Backend::Mysql => {
                let name = create_mysql_database();
                (mysql_url_for(&name), Some((backend, name)))
            }
        };
        let config = dir.path().join("glint-api.conf");
        let mut f = std::fs::File::create(&config).unwrap();
        write!(
            f,
            "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\nauth_strategy = noauth\n\
             upload_stale_timeout = 2\nworkers = 2\n{default_extra}\
             [database]\nconnection = {db_url}\n[glance_store]\nfilesystem_store_datadir = {}\n\
             {sections}",
            dir.path().join("images").display()
        )
        .unwrap();
        Deployment {
            base: format!("http://127.0.0.1:{port}"),
            dir,
            port,
            config,
            server_db,
        }
    }

    /// A path in the deployment's directory (`images`, `staging`).
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts glint on this deployment (again, after a crash) and waits until it answers.
    pub(crate) async fn start(&self, client: &reqwest::Client) -> Glint {
        self.start_with_env(client, &[]).await
    }

    /// [`Deployment::start`] with more environment variables (`NOTIFY_SOCKET`).
    pub(crate) async fn start_with_env(
        &self,
        client: &reqwest::Client,
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Glint {
        let glint = spawn(&self.config, self.dir.path(), env);
        wait_up(client, &self.base).await;
        glint
    }

    /// The configuration file glint reads (tests that reload it rewrite it).
    pub(crate) fn config_path(&self) -> &Path {
        &self.config
    }

    /// What glint has logged so far (stderr of every start).
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("glint.log")).unwrap_or_default()
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        match &self.server_db {
            Some((Backend::Postgres, db)) => drop_pg_database(db),
            Some((Backend::Mysql, db)) => drop_mysql_database(db),
            _ => {}
        }
    }
}

pub(crate) fn spawn(config: &Path, dir: &Path, env: &[(&str, &std::ffi::OsStr)]) -> Glint {
    let log = std::fs::File::options()
        .create(true)
        .append(true)
        .open(dir.join("glint.log"))
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_glint"))
        .arg("--config-file")
        .arg(config)
        .arg("--data-dir")
        .arg(dir)
        .arg("serve")
        // The level comes from the file (`debug`); no service manager unless a test is one.
        .env_remove("GLINT_LOG")
        .env_remove("NOTIFY_SOCKET")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start glint");
    Glint { child }
}

pub(crate) async fn wait_up(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if client
            .get(format!("{base}/healthcheck"))
            .send()
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("glint did not start");
}

/// A request as project p1 (member): status and JSON body (`null` when not JSON).
pub(crate) async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Vec<u8>>,
    ctype: &str,
) -> (u16, Value) {
    let mut rb = client
        .request(method, url)
        .header("X-Project-Id", "p1")
        .header("X-Roles", "member")
        .header("Accept", "application/json");
    if let Some(b) = body {
        rb = rb.header("Content-Type", ctype).body(b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A loopback port free now, for a server the test starts itself (a glint process, a private
/// PostgreSQL); another process may take it before that server binds it, which tests accept.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Runs `test` on `backend`, or skips (visibly) when GLINT_TEST_BACKENDS leaves it out.
pub(crate) async fn on_backend<F: Future<Output = ()>>(backend: Backend, test: fn(Backend) -> F) {
    if backends().contains(&backend) {
        test(backend).await;
    } else {
        let name = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        };
        skip(&format!("{name} not in GLINT_TEST_BACKENDS"));
    }
}

/// The three tests of one fault case (`on_each_backend! { tokio::test, case => case_sqlite,
/// case_postgres, case_mysql }`), named as given, each running `$case` (a
/// `fn(Backend) -> impl Future`) on its backend through `on_backend`, under the `$runtime` test
/// attribute.
#[macro_export]
macro_rules! on_each_backend {
    ($runtime:meta, $case:ident => $sqlite:ident, $postgres:ident, $mysql:ident) => {
        #[$runtime]
        async fn $sqlite() {
            $crate::process::on_backend($crate::helpers::Backend::Sqlite, $case).await;
        }
        #[$runtime]
        async fn $postgres() {
            $crate::process::on_backend($crate::helpers::Backend::Postgres, $case).await;
        }
        #[$runtime]
        async fn $mysql() {
            $crate::process::on_backend($crate::helpers::Backend::Mysql, $case).await;
        }
    };
}
