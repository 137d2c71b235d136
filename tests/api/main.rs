//! Integration tests: the whole app over HTTP, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

mod helpers;

mod data;
mod images;
mod list;
mod members;
mod patch;
mod schema;
mod transport;
