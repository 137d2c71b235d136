//! Options of interoperable image import and tasks, with Glance's names:
//! `[DEFAULT] enabled_import_methods`, `node_staging_uri`,
//! `[import_filtering_opts] *`, `[task] task_time_to_live`; and glint's own
//! `[DEFAULT] web_download_timeout` and `[import_filtering_opts]
//! allow_internal_addresses`.

use std::path::{Path, PathBuf};

use super::RawConfig;
use crate::domain::uri_filter::ImportFilter;

/// The methods glint implements (a subset of Glance's choices).
pub const SUPPORTED_METHODS: &[&str] = &["glance-direct", "web-download", "copy-image"];

/// The default `enabled_import_methods`: Glance's, in multi-store mode; without named stores
/// `copy-image` has nowhere to copy to and is left out.
fn default_methods(raw: &RawConfig) -> Vec<String> {
    let n = match raw.get("DEFAULT", "enabled_backends") {
        Some(_) => 3,
        None => 2,
    };
    SUPPORTED_METHODS[..n]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

/// Options read here, per section (see `RawConfig::ignored`).
pub(super) const KNOWN: &[(&str, &[&str])] = &[
    (
        "DEFAULT",
        &[
            "enabled_import_methods",
            "node_staging_uri",
            "web_download_timeout",
        ],
    ),
    (
        "import_filtering_opts",
        &[
            "allowed_schemes",
            "disallowed_schemes",
            "allowed_hosts",
            "disallowed_hosts",
            "allowed_ports",
            "disallowed_ports",
            "allow_internal_addresses",
        ],
    ),
    ("task", &["task_time_to_live"]),
];

#[derive(Debug, Clone)]
pub struct ImportConfig {
    /// `enabled_import_methods`, in the configured order (the order clients see).
    pub enabled_import_methods: Vec<String>,
    /// The directory of `node_staging_uri` (`file://<dir>`); default `<data-dir>/staging`.
    pub staging_dir: PathBuf,
    pub filter: ImportFilter,
    /// `[task] task_time_to_live`, hours a finished task is kept (48).
    pub task_time_to_live: i64,
    /// glint's own: seconds a web-download may wait for the next bytes (or the
    /// connection) before it fails (Glance waits forever).
    pub web_download_timeout: u64,
}

/// An oslo.config ListOpt: comma-separated, optionally in brackets, items optionally quoted.
pub(crate) fn list(raw: &RawConfig, section: &str, key: &str) -> Option<Vec<String>> {
    let v = raw.values.get(&(section.to_owned(), key.to_owned()))?;
    let v = v.trim();
    let v = v
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(v);
    Some(
        v.split(',')
            .map(|s| s.trim().trim_matches(['"', '\'']).to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

fn ports(raw: &RawConfig, key: &str, default: &[u16]) -> Result<Vec<u16>, String> {
    match list(raw, "import_filtering_opts", key) {
        None => Ok(default.to_vec()),
        Some(items) => items
            .iter()
            .map(|p| match p.parse::<u16>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(format!(
                    "invalid value '{p}' for [import_filtering_opts] {key} (ports are 1-65535)"
                )),
            })
            .collect(),
    }
}

impl ImportConfig {
    pub fn from_raw(raw: &RawConfig, data_dir: &Path) -> Result<ImportConfig, String> {
        let d = "DEFAULT";
        let methods =
            list(raw, d, "enabled_import_methods").unwrap_or_else(|| default_methods(raw));
        for m in &methods {
            if !SUPPORTED_METHODS.contains(&m.as_str()) {
                return Err(format!(
                    "invalid value '{m}' for [DEFAULT] enabled_import_methods: glint supports {}",
                    SUPPORTED_METHODS.join(", ")
                ));
            }
        }
        let staging_dir = match raw.get(d, "node_staging_uri") {
            None => data_dir.join("staging"),
            Some(uri) => match uri.strip_prefix("file://") {
                Some(p) if p.starts_with('/') => PathBuf::from(p),
                _ => {
                    return Err(format!(
                        "invalid value '{uri}' for [DEFAULT] node_staging_uri: it must be \
                         file://<absolute-path>"
                    ))
                }
            },
        };
        let defaults = ImportFilter::default();
        let f = "import_filtering_opts";
        let filter = ImportFilter {
            allowed_schemes: list(raw, f, "allowed_schemes").unwrap_or(defaults.allowed_schemes),
            disallowed_schemes: list(raw, f, "disallowed_schemes")
                .unwrap_or(defaults.disallowed_schemes),
            allowed_hosts: list(raw, f, "allowed_hosts").unwrap_or(defaults.allowed_hosts),
            disallowed_hosts: list(raw, f, "disallowed_hosts").unwrap_or(defaults.disallowed_hosts),
            allowed_ports: ports(raw, "allowed_ports", &defaults.allowed_ports)?,
            disallowed_ports: ports(raw, "disallowed_ports", &defaults.disallowed_ports)?,
            allow_internal_addresses: raw.parse_bool(
                f,
                "allow_internal_addresses",
                defaults.allow_internal_addresses,
            )?,
        };
        let ttl: i64 = raw.parse("task", "task_time_to_live", 48)?;
        let timeout: u64 = raw.parse(d, "web_download_timeout", 60)?;
        if timeout == 0 {
            return Err("[DEFAULT] web_download_timeout must be at least 1".into());
        }
        Ok(ImportConfig {
            enabled_import_methods: methods,
            staging_dir,
            filter,
            task_time_to_live: ttl,
            web_download_timeout: timeout,
        })
    }

    pub fn method_enabled(&self, name: &str) -> bool {
        self.enabled_import_methods.iter().any(|m| m == name)
    }

    pub fn task_ttl(&self) -> chrono::Duration {
        chrono::Duration::hours(self.task_time_to_live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = ImportConfig::from_raw(&RawConfig::default(), Path::new("/d")).unwrap();
        assert_eq!(c.enabled_import_methods, ["glance-direct", "web-download"]);
        assert_eq!(c.staging_dir, PathBuf::from("/d/staging"));
        assert_eq!(c.filter, ImportFilter::default());
        assert_eq!(c.task_time_to_live, 48);
        let mut raw = RawConfig::default();
        raw.set("DEFAULT", "enabled_backends", "a:file");
        let c = ImportConfig::from_raw(&raw, Path::new("/d")).unwrap();
        assert_eq!(
            c.enabled_import_methods,
            ["glance-direct", "web-download", "copy-image"]
        );
    }

    #[test]
    fn glance_syntax() {
        let mut raw = RawConfig::default();
        raw.set("DEFAULT", "enabled_import_methods", "['web-download']");
        raw.set(
            "DEFAULT",
            "node_staging_uri",
            "file:///var/lib/glance/staging/",
        );
        raw.set("import_filtering_opts", "allowed_ports", "80, 443, 8080");
        raw.set(
            "import_filtering_opts",
            "disallowed_hosts",
            "127.0.0.1,localhost",
        );
        let c = ImportConfig::from_raw(&raw, Path::new("/d")).unwrap();
        assert_eq!(c.enabled_import_methods, ["web-download"]);
        assert_eq!(c.staging_dir, PathBuf::from("/var/lib/glance/staging/"));
        assert_eq!(c.filter.allowed_ports, [80, 443, 8080]);
        assert_eq!(c.filter.disallowed_hosts, ["127.0.0.1", "localhost"]);
        assert!(!c.filter.allow_internal_addresses);
        raw.set("import_filtering_opts", "allow_internal_addresses", "True");
        let c = ImportConfig::from_raw(&raw, Path::new("/d")).unwrap();
        assert!(c.filter.allow_internal_addresses);
        // An empty list is a list (allow nothing / deny nothing), not the default.
        raw.set("import_filtering_opts", "allowed_ports", "");
        let c = ImportConfig::from_raw(&raw, Path::new("/d")).unwrap();
        assert!(c.filter.allowed_ports.is_empty());
    }

    #[test]
    fn refusals() {
        for (s, k, v) in [
            ("DEFAULT", "enabled_import_methods", "glance-download"),
            ("DEFAULT", "node_staging_uri", "/tmp/staging"),
            ("import_filtering_opts", "allowed_ports", "0"),
            ("import_filtering_opts", "disallowed_ports", "http"),
            ("DEFAULT", "web_download_timeout", "0"),
            ("import_filtering_opts", "allow_internal_addresses", "maybe"),
        ] {
            let mut raw = RawConfig::default();
            raw.set(s, k, v);
            let e = ImportConfig::from_raw(&raw, Path::new("/d")).unwrap_err();
            assert!(e.contains(k), "{e}");
        }
    }
}
