//! How long glint waits for a client, and how many uploads one project may run at once:
//! Glance's `[DEFAULT] client_socket_timeout` and glint's own `[DEFAULT] upload_stall_timeout`
//! and `[DEFAULT] max_concurrent_uploads_per_project`. The defaults live in
//! `crate::domain::limits`.

use std::time::Duration;

use super::{at_least, RawConfig};
use crate::domain::limits;

/// Options read here, per section (see `RawConfig::ignored`).
pub(super) const KNOWN: &[(&str, &[&str])] = &[(
    "DEFAULT",
    &[
        "client_socket_timeout",
        "upload_stall_timeout",
        "max_concurrent_uploads_per_project",
    ],
)];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// `[DEFAULT] client_socket_timeout` (Glance's name; Glance's default is 900 s and 0 waits
    /// for ever, glint's is 60 s and at least 1): the longest silence while a JSON body is read.
    /// Also the most time a client has for its request headers and an idle keep-alive
    /// connection is kept (both shorter by default, see `domain::limits`).
    pub client_socket_timeout: Duration,
    /// glint's `[DEFAULT] upload_stall_timeout`: the longest silence while image data is read
    /// (upload and stage); the upload then fails and the image is `queued` again at once.
    /// Distinct from `upload_stale_timeout`, the recovery sweep for uploads of dead processes.
    pub upload_stall_timeout: Duration,
    /// glint's `[DEFAULT] max_concurrent_uploads_per_project`: data uploads and stages one
    /// project may have in progress in one glint process; one more is refused with 413.
    pub max_concurrent_uploads_per_project: usize,
}

impl TransportConfig {
    pub(super) fn from_raw(raw: &RawConfig) -> Result<Self, String> {
        let d = "DEFAULT";
        let secs = |key: &str, default: u64| -> Result<Duration, String> {
            let v = at_least(d, key, raw.parse(d, key, default as i64)?, 1)?;
            Ok(Duration::from_secs(v as u64))
        };
        Ok(TransportConfig {
            client_socket_timeout: secs(
                "client_socket_timeout",
                limits::DEFAULT_CLIENT_SOCKET_TIMEOUT.as_secs(),
            )?,
            upload_stall_timeout: secs(
                "upload_stall_timeout",
                limits::DEFAULT_UPLOAD_STALL_TIMEOUT.as_secs(),
            )?,
            max_concurrent_uploads_per_project: at_least(
                d,
                "max_concurrent_uploads_per_project",
                raw.parse(
                    d,
                    "max_concurrent_uploads_per_project",
                    limits::DEFAULT_MAX_CONCURRENT_UPLOADS_PER_PROJECT as i64,
                )?,
                1,
            )? as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let c = TransportConfig::from_raw(&RawConfig::default()).expect("defaults");
        assert_eq!(c.client_socket_timeout, Duration::from_secs(60));
        assert_eq!(c.upload_stall_timeout, Duration::from_secs(60));
        assert_eq!(c.max_concurrent_uploads_per_project, 10);
        for key in [
            "client_socket_timeout",
            "upload_stall_timeout",
            "max_concurrent_uploads_per_project",
        ] {
            for bad in ["0", "-1", "soon"] {
                let mut raw = RawConfig::default();
                raw.set("DEFAULT", key, bad);
                let e = TransportConfig::from_raw(&raw).expect_err(bad);
                assert!(e.contains(key), "{e}");
            }
        }
        let mut raw = RawConfig::default();
        raw.set("DEFAULT", "client_socket_timeout", "5");
        raw.set("DEFAULT", "upload_stall_timeout", "7");
        raw.set("DEFAULT", "max_concurrent_uploads_per_project", "2");
        let c = TransportConfig::from_raw(&raw).expect("valid");
        assert_eq!(c.client_socket_timeout, Duration::from_secs(5));
        assert_eq!(c.upload_stall_timeout, Duration::from_secs(7));
        assert_eq!(c.max_concurrent_uploads_per_project, 2);
        assert!(raw.ignored().is_empty(), "{:?}", raw.ignored());
    }
}
