//! A private PostgreSQL 15 server for fault tests: its own data directory and
//! port, so that stopping it (fast or crash-like) never touches the shared
//! server on 5432 that other tests use.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The PostgreSQL server programs: `GLINT_TEST_PG_BIN`, else Debian's
/// `/usr/lib/postgresql/<version>/bin` (15 preferred, else the newest present).
fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("GLINT_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let root = PathBuf::from("/usr/lib/postgresql");
    let preferred = root.join("15/bin");
    if preferred.join("initdb").exists() {
        return preferred;
    }
    let mut versions: Vec<u32> = std::fs::read_dir(&root)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    versions.sort_unstable();
    match versions.last() {
        Some(v) => root.join(format!("{v}/bin")),
        None => preferred,
    }
}

pub struct PrivatePg {
    dir: tempfile::TempDir,
    pub port: u16,
}

/// How the server is stopped (`pg_ctl stop -m`).
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// Disconnects clients, rolls back open transactions, checkpoints.
    Fast,
    /// Kills every server process without a checkpoint: a crash, recovered from WAL at the next start.
    Immediate,
}

impl PrivatePg {
    /// initdb as the `postgres` OS user (the server refuses to run as root),
    /// trust authentication. `None` (with a SKIPPED line) when this machine
    /// cannot run one; `GLINT_TEST_PRIVATE_PG=skip` skips on purpose.
    pub fn init() -> Option<PrivatePg> {
        if std::env::var("GLINT_TEST_PRIVATE_PG").as_deref() == Ok("skip") {
            crate::helpers::skip("private PostgreSQL tests (GLINT_TEST_PRIVATE_PG=skip)");
            return None;
        }
        if !bin_dir().join("initdb").exists() {
            crate::helpers::skip(&format!(
                "no PostgreSQL server programs in {} (set GLINT_TEST_PG_BIN)",
                bin_dir().display()
            ));
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("glint-pg-")
            .tempdir()
            .expect("tempdir");
        let owned = Command::new("chown")
            .arg("postgres:postgres")
            .arg(dir.path())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !owned {
            crate::helpers::skip("cannot hand a directory to the postgres user (not root?)");
            return None;
        }
        // A free port now; other test processes (other checkouts) may run the same tests.
        let port = crate::process::free_port();
        let pg = PrivatePg { dir, port };
        let ok = pg
            .as_postgres("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(pg.data())
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "initdb failed");
        pg.start();
        Some(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn as_postgres(&self, program: &str) -> Command {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"])
            .arg(bin_dir().join(program));
        c
    }

    /// The libpq URL of the server's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Start and wait until it accepts connections.
    pub fn start(&self) {
        let opts = format!(
            "-p {} -h 127.0.0.1 -k {} -c max_connections=40",
            self.port,
            self.dir.path().display()
        );
        let ok = self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(["-w", "-t", "60", "-o", &opts, "start"])
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "pg_ctl start failed: {}", self.log_tail());
    }

    pub fn stop(&self, how: Stop) {
        let mode = match how {
            Stop::Fast => "fast",
            Stop::Immediate => "immediate",
        };
        let ok = self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-t", "60", "-m", mode, "stop"])
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "pg_ctl stop -m {mode} failed: {}", self.log_tail());
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
