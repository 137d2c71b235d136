//! The object stores against a real server: OpenStack Swift with its S3 API, started by
//! scripts/swift.sh (scripts/test.sh does it and exports `GLINT_SWIFT_ENV`, the path of the env
//! file the script writes). Without that variable every test here prints SKIPPED and returns.
//!
//! Each test uses a bucket of its own and removes its objects and bucket at the end.
#![allow(clippy::unwrap_used)]

// The shared harness of the HTTP tests, for `skip` only.
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

mod s3;
