//! The slow fault suites, a test binary of their own so that the everyday `cargo test --test api`
//! stays fast (plain `cargo test`, as scripts/test.sh runs it, runs both):
//! three glint processes on one database and one object store (`cluster`),
//! the real glint binary killed with `kill -9` mid-upload and mid-import (`crash`, `import_crash`),
//! PostgreSQL restarted or down under load on a private server (`db_faults`, `private_pg`), and the
//! image store's filesystem filling up mid-upload (`disk_full`).
#![allow(clippy::unwrap_used)]

// The harness of the HTTP tests, shared; this binary uses only part of it.
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
// Raw-socket HTTP (the web-download source), shared likewise.
#[allow(dead_code)]
#[path = "../api/raw.rs"]
mod raw;

mod cluster;
mod crash;
mod db_faults;
mod disk_full;
mod import_crash;
mod lifecycle;
mod private_pg;
mod process;
