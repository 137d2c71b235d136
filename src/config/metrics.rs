//! glint's `[metrics] enabled`: Prometheus' text format at `/metrics` on the API port,
//! unauthenticated like `/healthcheck`.

use super::RawConfig;

/// Options read here, per section (see `RawConfig::ignored`).
pub(super) const KNOWN: &[(&str, &[&str])] = &[("metrics", &["enabled"])];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Off: no counting and `/metrics` answers 404.
    pub enabled: bool,
}

impl MetricsConfig {
    pub(super) fn from_raw(raw: &RawConfig) -> Result<Self, String> {
        Ok(MetricsConfig {
            enabled: raw.parse_bool("metrics", "enabled", true)?,
        })
    }
}
