//! Persistence: diesel over SQLite, PostgreSQL and MariaDB behind one connection type.

mod cached;
mod children;
pub mod connection;
pub mod copies;
pub mod domain_guardrails;
pub mod error;
mod fragment;
pub mod grants;
pub mod images;
pub mod inbox;
mod list;
mod list_cache;
pub mod locations;
pub mod member_ext;
pub mod members;
pub mod metadefs;
pub mod models;
mod pool;
pub mod project_names;
pub mod schema;
pub mod share_events;
pub mod share_policy;
mod statement_shapes;
mod timestamp;

pub use connection::{write_tx, Backend, DbConn};
pub use error::DbError;
pub use pool::Db;
pub mod takeover;
pub mod tasks;
pub mod usage;
pub mod webhooks;
mod writer;
