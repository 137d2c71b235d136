//! Integration tests: the whole app over HTTP, on SQLite and PostgreSQL. The slow fault suites
//! (crashes, database and disk faults) are the separate binary `tests/faults`.
#![allow(clippy::unwrap_used)]

mod helpers;

mod bad_input;
mod checklist;
mod config;
mod connection_loss;
mod data;
mod default_store;
mod devmode;
mod hardening;
mod healthcheck;
mod image_formats;
mod images;
mod import;
mod isolation;
mod keystone;
mod list;
mod list_cost;
mod list_plans;
mod locations;
mod members;
mod metadefs;
mod metrics;
mod notifications;
mod patch;
mod policy;
mod pool;
mod property_protection;
mod quotas;
mod races;
mod raw;
mod schema;
mod sharing_batch;
mod sharing_copy;
mod sharing_cross_domain;
mod sharing_ext;
mod sharing_history;
mod sharing_member_check;
mod sharing_protection;
mod sharing_reminders;
mod sharing_trust;
mod sharing_webhooks;
mod stalls;
mod storage_quota;
mod stores;
mod takeover;
mod tasks;
mod timestamps;
mod token_logs;
mod transport;
mod ui;
mod ui_browser;
