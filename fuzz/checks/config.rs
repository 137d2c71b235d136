//! glance-api.conf: `RawConfig::from_text`, `GLINT__` overrides, `Config::from_raw`.
//!
//! Input: INI text. Its lines of the form `GLINT__<SECTION>__<KEY>=<value>` are
//! also applied as environment overrides (in the file they are just unknown keys).
//!
//! Invariants beyond "no panic":
//! - an accepted configuration keeps the documented lower bounds;
//! - the override of `[DEFAULT] bind_port` wins over the file;
//! - an accepted configuration written back as INI (where its values are plain
//!   enough to be written) loads to the same configuration.

use std::fmt::Write;
use std::path::Path;

use glint::config::{AuthStrategy, Config, RawConfig};

fn env_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.trim().split_once('='))
        .filter(|(k, _)| k.starts_with("GLINT__"))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Values that need no quoting or escaping in an INI file.
fn plain(v: &str) -> bool {
    v.trim() == v
        && !v.is_empty()
        && !v
            .chars()
            .any(|c| c.is_control() || "\\;#\"'=[]:".contains(c) || c.is_whitespace() && c != ' ')
}

/// The configuration as a glance-api.conf, or `None` if a value is not plain.
fn render(c: &Config) -> Option<String> {
    let mut out = String::new();
    let mut section = |name: &str, items: Vec<(&str, Option<String>)>| -> Option<()> {
        let _ = writeln!(out, "[{name}]");
        for (k, v) in items {
            if let Some(v) = v {
                if !plain(&v) {
                    return None;
                }
                let _ = writeln!(out, "{k} = {v}");
            }
        }
        Some(())
    };
    let s = |v: &dyn ToString| Some(v.to_string());
    let path = |p: &Path| p.to_str().map(str::to_owned);
    section(
        "DEFAULT",
        vec![
            ("bind_host", s(&c.bind_host)),
            ("bind_port", s(&c.bind_port)),
            ("workers", s(&c.workers)),
            ("image_member_quota", s(&c.image_member_quota)),
            ("image_property_quota", s(&c.image_property_quota)),
            ("image_tag_quota", s(&c.image_tag_quota)),
            ("limit_param_default", s(&c.limit_param_default)),
            ("api_limit_max", s(&c.api_limit_max)),
            ("image_size_cap", s(&c.image_size_cap)),
            ("public_endpoint", c.public_endpoint.clone()),
            ("hashing_algorithm", s(&c.hashing_algorithm)),
            (
                "auth_strategy",
                s(&match c.auth_strategy {
                    AuthStrategy::Keystone => "keystone",
                    AuthStrategy::Noauth => "noauth",
                }),
            ),
            ("upload_stale_timeout", s(&c.upload_stale_timeout)),
        ],
    )?;
    section(
        "database",
        vec![
            ("connection", s(&c.database_connection.as_str())),
            ("max_pool_size", s(&c.database_max_pool_size)),
        ],
    )?;
    section(
        "glance_store",
        vec![(
            "filesystem_store_datadir",
            Some(path(&c.filesystem_store_datadir)?),
        )],
    )?;
    section(
        "oslo_policy",
        vec![
            (
                "policy_file",
                match &c.policy_file {
                    Some(p) => Some(path(p)?),
                    None => None,
                },
            ),
            ("enforce_new_defaults", s(&c.enforce_new_defaults)),
        ],
    )?;
    section(
        "image_format",
        vec![(
            "require_image_format_match",
            s(&c.require_image_format_match),
        )],
    )?;
    let k = &c.keystone;
    section(
        "keystone_authtoken",
        vec![
            ("www_authenticate_uri", k.www_authenticate_uri.clone()),
            ("auth_url", k.auth_url.clone()),
            ("username", k.username.clone()),
            ("password", k.password.clone()),
            ("project_name", k.project_name.clone()),
            ("user_domain_name", s(&k.user_domain_name)),
            ("project_domain_name", s(&k.project_domain_name)),
            ("token_cache_time", s(&k.token_cache_time)),
            ("http_connect_timeout", s(&k.http_connect_timeout)),
            ("http_request_max_retries", s(&k.http_request_max_retries)),
        ],
    )?;
    Some(out)
}

/// One input: returns normally or panics with what broke.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(mut raw) = RawConfig::from_text(&text) else {
        return;
    };
    let env = env_lines(&text);
    raw.apply_env(env.clone().into_iter());
    let _ = raw.ignored();
    let data_dir = Path::new("/var/lib/glint");
    let Ok(config) = Config::from_raw(&raw, data_dir) else {
        return;
    };
    assert!(config.limit_param_default >= 1);
    assert!(config.api_limit_max >= 1);
    assert!(config.upload_stale_timeout >= 2);
    let port_override = env
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("GLINT__DEFAULT__BIND_PORT"))
        .filter(|(k, _)| k.starts_with("GLINT__"))
        .map(|(_, v)| v.trim())
        .next_back();
    if let Some(v) = port_override.filter(|v| !v.is_empty()) {
        assert_eq!(Ok(config.bind_port), v.parse::<u16>(), "override {v:?}");
    }

    if let Some(ini) = render(&config) {
        let again = RawConfig::from_text(&ini)
            .unwrap_or_else(|e| panic!("written back as\n{ini}\ndoes not load: {e}"));
        match Config::from_raw(&again, data_dir) {
            Ok(c) => assert_eq!(
                format!("{c:?}"),
                format!("{config:?}"),
                "written back as\n{ini}"
            ),
            Err(e) => panic!("written back as\n{ini}\nis refused: {e}"),
        }
    }
}
