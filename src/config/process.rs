//! The process's own behaviour: oslo.log's `[DEFAULT] debug` and oslo.service's
//! `[DEFAULT] graceful_shutdown_timeout` (glint reads the latter although Glance 32's API
//! process does not register it: same name, same meaning as in the other OpenStack services).

use std::time::Duration;

use super::RawConfig;

/// Options read here, per section (see `RawConfig::ignored`).
pub(super) const KNOWN: &[(&str, &[&str])] =
    &[("DEFAULT", &["debug", "graceful_shutdown_timeout"])];

/// What SIGTERM waits for when 0 is configured ("wait for ever" in oslo.service): a day.
const FOREVER: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessConfig {
    /// `[DEFAULT] debug`: DEBUG log level instead of INFO (reloaded on SIGHUP).
    pub debug: bool,
    /// `[DEFAULT] graceful_shutdown_timeout` (60 s): how long SIGTERM lets requests in
    /// flight finish before the process exits anyway.
    pub graceful_shutdown_timeout: Duration,
}

impl ProcessConfig {
    pub(super) fn from_raw(raw: &RawConfig) -> Result<Self, String> {
        let secs: u64 = raw.parse("DEFAULT", "graceful_shutdown_timeout", 60)?;
        Ok(ProcessConfig {
            debug: raw.parse_bool("DEFAULT", "debug", false)?,
            graceful_shutdown_timeout: match secs {
                0 => FOREVER,
                s => Duration::from_secs(s),
            },
        })
    }
}
