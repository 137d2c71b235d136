//! glint: an OpenStack Glance v2 compatible image service, built around image sharing.
//!
//! Layers (see docs/ARCHITECTURE.md): `api` (HTTP) -> `service` (use cases and
//! transactions) -> `policy` + `domain` (pure rules) and `db` + `store` (I/O); `ui` is the
//! sharing web page, a second front end on the same services.

pub mod api;
pub mod app;
pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod lifecycle;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod policy;
pub mod server;
pub mod service;
pub mod startup;
pub mod store;
pub mod ui;
