//! Integration tests: the whole app over HTTP, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

mod helpers;

mod bad_input;
mod checklist;
mod crash;
mod data;
mod db_faults;
mod disk_full;
mod hardening;
mod images;
mod import;
mod import_crash;
mod isolation;
mod keystone;
mod list;
mod list_cost;
mod members;
mod metadefs;
mod patch;
mod policy;
mod pool;
mod private_pg;
mod races;
mod schema;
mod stalls;
mod stores;
mod tasks;
mod token_logs;
mod transport;
