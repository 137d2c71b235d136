//! oslo.middleware's healthcheck options, read from `[healthcheck]` as oslo.middleware reads
//! them from its config group: `backends`, `disable_by_file_path`, `detailed`; and glint's own
//! `check_database`.

use super::RawConfig;

/// Options read here, per section (see `RawConfig::ignored`).
pub(super) const KNOWN: &[(&str, &[&str])] = &[(
    "healthcheck",
    &[
        "backends",
        "disable_by_file_path",
        "detailed",
        "check_database",
    ],
)];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthBackend {
    /// oslo.middleware's `disable_by_file`: unhealthy while `disable_by_file_path` exists.
    DisableByFile,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthcheckConfig {
    pub backends: Vec<HealthBackend>,
    pub disable_by_file_path: Option<std::path::PathBuf>,
    /// `[healthcheck] detailed`: the JSON answer lists each check with its class and details.
    pub detailed: bool,
    /// glint's `[healthcheck] check_database` (default on): 503 while the database does not
    /// answer. It adds a reason only when it fails, so a healthy answer is Glance's.
    pub check_database: bool,
}

impl HealthcheckConfig {
    pub(super) fn from_raw(raw: &RawConfig) -> Result<Self, String> {
        let s = "healthcheck";
        // Glance's paste pipeline configures `disable_by_file`.
        let list = raw.get(s, "backends").unwrap_or("disable_by_file");
        let mut backends = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            backends.push(match name {
                "disable_by_file" => HealthBackend::DisableByFile,
                other => {
                    return Err(format!(
                        "invalid value '{other}' for [{s}] backends (glint has disable_by_file)"
                    ))
                }
            });
        }
        Ok(HealthcheckConfig {
            backends,
            disable_by_file_path: raw.get(s, "disable_by_file_path").map(Into::into),
            detailed: raw.parse_bool(s, "detailed", false)?,
            check_database: raw.parse_bool(s, "check_database", true)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_refusals() {
        let c = HealthcheckConfig::from_raw(&RawConfig::default()).unwrap();
        assert_eq!(c.backends, vec![HealthBackend::DisableByFile]);
        assert_eq!(c.disable_by_file_path, None);
        assert!(c.check_database);
        let mut raw = RawConfig::default();
        raw.set("healthcheck", "backends", "disable_by_file");
        raw.set("healthcheck", "disable_by_file_path", "/run/x");
        let c = HealthcheckConfig::from_raw(&raw).unwrap();
        assert_eq!(c.backends, vec![HealthBackend::DisableByFile]);
        assert!(raw.ignored().is_empty(), "{:?}", raw.ignored());
        raw.set("healthcheck", "backends", "enable_by_files");
        assert!(HealthcheckConfig::from_raw(&raw).is_err());
    }
}
