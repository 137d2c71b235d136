//! The object stores against a real server: OpenStack Swift with its S3 API and Keystone auth,
//! started by scripts/swift.sh after scripts/keystone.sh (scripts/test.sh does both and exports
//! `GLINT_SWIFT_ENV`, the path of the env file the script writes). Without that variable every
//! test here prints SKIPPED and returns.
//!
//! Each test uses a bucket or container of its own and removes it at the end.
#![allow(clippy::unwrap_used)]

// The shared harness of the HTTP tests, for `skip` and the store targets.
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

mod s3;
mod swift;
