//! Integration tests: the whole app over HTTP, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

mod helpers;

mod bad_input;
mod checklist;
mod crash;
mod data;
mod images;
mod isolation;
mod keystone;
mod list;
mod members;
mod patch;
mod policy;
mod schema;
mod transport;
