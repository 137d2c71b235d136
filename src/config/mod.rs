//! glance-api.conf-style configuration: Glance's section and key names, then
//! `GLINT__<SECTION>__<KEY>` environment overrides, validated once at start-up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::domain::image::{CONTAINER_FORMATS, DISK_FORMATS};

pub mod backends;
pub mod data_rules;
pub mod database;
pub mod healthcheck;
pub mod http_store;
pub mod import;
pub mod ini;
pub mod inventory;
pub mod metrics;
pub mod noauth;
pub mod notifications;
pub mod oslo_limit;
pub mod process;
pub mod sharing;
pub mod stores;
pub mod swift;
pub mod transport;
pub mod ui;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStrategy {
    /// Validate Keystone tokens (the default).
    Keystone,
    /// Take identity from request headers. For development only; loudly logged.
    Noauth,
}

#[derive(Debug, Clone)]
pub struct KeystoneConfig {
    pub www_authenticate_uri: Option<String>,
    pub auth_url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub project_name: Option<String>,
    pub user_domain_name: String,
    pub project_domain_name: String,
    pub token_cache_time: u64,
    pub http_connect_timeout: u64,
    pub http_request_max_retries: u32,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind_host: String,
    pub bind_port: u16,
    pub workers: usize,
    pub image_member_quota: i64,
    pub image_property_quota: i64,
    /// `[DEFAULT] image_location_quota` (negative: unlimited).
    pub image_location_quota: i64,
    pub image_tag_quota: i64,
    pub limit_param_default: i64,
    pub api_limit_max: i64,
    pub image_size_cap: u64,
    /// `[DEFAULT] show_image_direct_url`: images show `direct_url`, their first location,
    /// to callers `get_image_location` allows.
    pub show_image_direct_url: bool,
    /// `[DEFAULT] show_multiple_locations` (deprecated in Glance, a security risk): images show
    /// `locations`, and JSON-patch may add, replace and remove them.
    pub show_multiple_locations: bool,
    /// `[DEFAULT] do_secure_hash` (default true): the `location_import` task reads a new
    /// location's data to compute `checksum` and `os_hash_value`.
    pub do_secure_hash: bool,
    /// `[DEFAULT] http_retries` (default 3): attempts at reading a location's data for that.
    pub http_retries: u32,
    pub public_endpoint: Option<String>,
    /// `[DEFAULT] worker_self_reference_url`: where this server says staged data lives.
    pub worker_self_reference_url: Option<String>,
    pub hashing_algorithm: String,
    pub auth_strategy: AuthStrategy,
    /// `[database] connection`, parsed.
    pub database_connection: database::DatabaseUrl,
    pub database_max_pool_size: u32,
    /// `[database] pool_timeout` (oslo.db's name): seconds a request waits for a
    /// pooled connection (or for the server to come back) before it gets a 503.
    pub database_pool_timeout: u64,
    /// `[database] max_retries` (oslo.db): connection attempts at start-up
    /// after the first; -1 retries for ever.
    pub database_max_retries: i64,
    /// `[database] retry_interval` (oslo.db): seconds between those attempts.
    pub database_retry_interval: u64,
    /// glint's own `[database] statement_timeout`: seconds a PostgreSQL statement may run
    /// before the server cancels it (the request then gets a 500); 0 = no limit.
    pub database_statement_timeout: u64,
    /// glint's own `[database] glint_list_cache` (SQLite only): pooled connections keep the
    /// list pages and images they read until the database changes (`db::list_cache`).
    pub database_list_cache: bool,
    /// The directory new image data is written to: `filesystem_store_datadir`, or the first
    /// directory of the highest priority in `filesystem_store_datadirs`.
    pub filesystem_store_datadir: PathBuf,
    /// `filesystem_store_datadirs` (`<dir>[:<priority>]`, repeatable), highest priority
    /// first; empty when `filesystem_store_datadir` is used. Image data is read from (and
    /// deleted in) any of them.
    pub filesystem_store_datadirs: Vec<PathBuf>,
    pub policy_file: Option<PathBuf>,
    pub enforce_new_defaults: bool,
    /// `[image_format] require_image_format_match`: refuse data that is not its disk_format.
    pub require_image_format_match: bool,
    /// `[image_format] disk_formats` and `container_formats`: the values an image's
    /// `disk_format` and `container_format` may take (the image schema's enums).
    pub disk_formats: Vec<String>,
    pub container_formats: Vec<String>,
    /// glint's own `[DEFAULT] upload_stale_timeout`: seconds without a heartbeat after which an
    /// upload's process is taken as dead and its image returned to `queued`.
    pub upload_stale_timeout: u64,
    pub keystone: KeystoneConfig,
    /// Interoperable image import and tasks.
    pub import: import::ImportConfig,
    /// Multi-store mode (`[DEFAULT] enabled_backends`): the default backend (its kind and
    /// options are in `stores`). `None`: the single-store mode.
    pub backend: Option<Backend>,
    /// Multi-store mode: every enabled backend, in `enabled_backends` order (the default
    /// among them); empty in single-store mode.
    pub backends: Vec<backends::NamedBackend>,
    /// The enabled stores and the one new data goes to (`[glance_store] stores`,
    /// `default_store` and each store's options).
    pub stores: stores::StoresConfig,
    /// `[oslo_middleware] enable_proxy_headers_parsing`: trust `Forwarded`,
    /// `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-Prefix` for the links glint
    /// builds (set it only behind a proxy that sets or strips them). Off by default, as in
    /// Glance: a client cannot choose the host in `Location` and `/versions`.
    pub enable_proxy_headers_parsing: bool,
    /// Client timeouts and the per-project bound on concurrent uploads.
    pub transport: transport::TransportConfig,
    /// oslo.messaging notifications (`[oslo_messaging_notifications]` and friends).
    pub notifications: notifications::NotificationsConfig,
    /// `/healthcheck` as oslo.middleware's (`[healthcheck]`).
    pub healthcheck: healthcheck::HealthcheckConfig,
    /// `/metrics` (`[metrics]`).
    pub metrics: metrics::MetricsConfig,
    /// The sharing extensions (`[glint_sharing]`).
    pub sharing: sharing::SharingConfig,
    /// The sharing web page (`[glint_ui]`).
    pub ui: ui::UiConfig,
    /// `[DEFAULT] debug` and `graceful_shutdown_timeout`.
    pub process: process::ProcessConfig,
    /// Property protections and `user_storage_quota`.
    pub data_rules: data_rules::DataRulesConfig,
    /// `[glint_noauth]`: the identity of a noauth request without identity headers.
    pub noauth_identity: Option<noauth::NoauthIdentity>,
    /// `[DEFAULT] use_keystone_limits` with `[oslo_limit]`: Glance's quotas (None: off).
    pub keystone_limits: oslo_limit::LimitsConfig,
}

/// The default backend of multi-store mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub id: String,
    /// `[<id>] store_description`.
    pub description: Option<String>,
}

/// `[DEFAULT] enabled_backends` and `[glance_store] default_backend`: the default backend
/// (its id and kind), in multi-store mode, and the id of the read-only `<id>:http` entry.
#[allow(clippy::type_complexity)]
fn parse_backend(
    raw: &RawConfig,
) -> Result<Option<(Backend, stores::StoreKind, Option<String>)>, String> {
    let Some((entries, default)) = backends::entries(raw)? else {
        return Ok(None);
    };
    let kind = entries
        .iter()
        .find(|(i, _)| *i == default)
        .map_or(stores::StoreKind::Other, |(_, k)| *k);
    let http = backends::http_entry(raw)?;
    let backend = Backend {
        description: raw.get(&default, "store_description").map(str::to_owned),
        id: default,
    };
    Ok(Some((backend, kind, http)))
}

/// `filesystem_store_datadirs` as glance_store's filesystem driver reads it: each value
/// `<dir>[:<priority>]` (priority an integer, 0 when absent), read from the named backend's
/// section, else `[glance_store]`. The directories, highest priority first, file order among
/// equals; a directory given twice with different priorities is refused.
fn parse_datadirs(raw: &RawConfig, backend: Option<&str>) -> Result<Vec<PathBuf>, String> {
    let key = "filesystem_store_datadirs";
    let values = backend
        .map(|b| raw.get_all(b, key))
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| raw.get_all("glance_store", key));
    let mut dirs: Vec<(i64, PathBuf)> = Vec::new();
    for v in values {
        let (path, priority) = match v.rsplit_once(':') {
            Some((p, n)) if !n.trim().is_empty() => {
                let n = n
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| format!("invalid priority value '{}' in {key} '{v}'", n.trim()))?;
                (p.trim(), n)
            }
            Some((p, _)) => (p.trim(), 0),
            None => (v.trim(), 0),
        };
        if path.is_empty() {
            return Err(format!("invalid directory specified in {key} '{v}'"));
        }
        let path = PathBuf::from(path);
        match dirs.iter().find(|(_, d)| *d == path) {
            Some((p, _)) if *p == priority => continue,
            Some(_) => {
                return Err(format!(
                    "directory {} specified multiple times in {key} with different priorities",
                    path.display()
                ))
            }
            None => dirs.push((priority, path)),
        }
    }
    // A stable sort: file order among equal priorities.
    dirs.sort_by_key(|d| std::cmp::Reverse(d.0));
    Ok(dirs.into_iter().map(|(_, d)| d).collect())
}

/// Options glint reads, per section. Anything else is logged as ignored.
const KNOWN: &[(&str, &[&str])] = &[
    (
        "DEFAULT",
        &[
            "bind_host",
            "bind_port",
            "workers",
            "image_member_quota",
            "image_property_quota",
            "image_location_quota",
            "image_tag_quota",
            "limit_param_default",
            "api_limit_max",
            "image_size_cap",
            "public_endpoint",
            "worker_self_reference_url",
            "hashing_algorithm",
            "auth_strategy",
            "upload_stale_timeout",
            "enabled_backends",
            "show_image_direct_url",
            "show_multiple_locations",
            "do_secure_hash",
            "http_retries",
        ],
    ),
    (
        "database",
        &[
            "connection",
            "max_pool_size",
            "pool_timeout",
            "max_retries",
            "retry_interval",
            "statement_timeout",
            "glint_list_cache",
        ],
    ),
    (
        "glance_store",
        &[
            "filesystem_store_datadir",
            "filesystem_store_datadirs",
            "default_backend",
        ],
    ),
    ("paste_deploy", &["flavor"]),
    ("oslo_middleware", &["enable_proxy_headers_parsing"]),
    (
        "image_format",
        &[
            "require_image_format_match",
            "disk_formats",
            "container_formats",
        ],
    ),
    (
        "oslo_policy",
        &["policy_file", "enforce_new_defaults", "enforce_scope"],
    ),
    (
        "keystone_authtoken",
        &[
            "www_authenticate_uri",
            "auth_uri",
            "auth_url",
            "auth_type",
            "username",
            "password",
            "project_name",
            "user_domain_name",
            "project_domain_name",
            "token_cache_time",
            "http_connect_timeout",
            "http_request_max_retries",
        ],
    ),
];

/// Raw `section -> key -> value`, after environment overrides.
#[derive(Debug, Default, Clone)]
pub struct RawConfig {
    values: BTreeMap<(String, String), String>,
    /// Every value of a key given more than once in the file (oslo.config's multi-valued
    /// options, e.g. `[oslo_messaging_notifications] driver`); `values` holds the last.
    all: BTreeMap<(String, String), Vec<String>>,
}

impl RawConfig {
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        Self::parse_text(&text, &path.display().to_string())
    }

    /// The same as [`RawConfig::from_file`], from the file's text.
    pub fn from_text(text: &str) -> Result<Self, String> {
        Self::parse_text(text, "<config text>")
    }

    fn parse_text(text: &str, origin: &str) -> Result<Self, String> {
        let mut raw = RawConfig::default();
        for e in ini::parse(text, origin)? {
            // A repeated key keeps every value (multi-valued options such as `driver`); the
            // last one is the value of a single-valued option, as oslo.config reads them.
            let earlier = raw.get_all(&e.section, &e.key);
            raw.set(&e.section, &e.key, &e.value);
            if let Some(all) = raw.all.get_mut(&(e.section.clone(), e.key.clone())) {
                all.splice(0..0, earlier);
            }
        }
        Ok(raw)
    }

    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        let key = (section.to_owned(), key.to_owned());
        self.all.insert(key.clone(), vec![value.trim().to_owned()]);
        self.values.insert(key, value.trim().to_owned());
    }

    /// Every non-empty value of a multi-valued option, in file order.
    fn get_all(&self, section: &str, key: &str) -> Vec<String> {
        self.all
            .get(&(section.to_owned(), key.to_owned()))
            .map(|v| v.iter().filter(|s| !s.is_empty()).cloned().collect())
            .unwrap_or_default()
    }

    /// Apply `GLINT__SECTION__KEY=value` variables (section case as in the file, e.g. `DEFAULT`, `database`).
    pub fn apply_env(&mut self, vars: impl Iterator<Item = (String, String)>) {
        for (name, value) in vars {
            let Some(rest) = name.strip_prefix("GLINT__") else {
                continue;
            };
            if let Some((section, key)) = rest.split_once("__") {
                let section = if section.eq_ignore_ascii_case("default") {
                    "DEFAULT".to_owned()
                } else {
                    section.to_ascii_lowercase()
                };
                self.set(&section, &key.to_ascii_lowercase(), &value);
            }
        }
    }

    fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.values
            .get(&(section.to_owned(), key.to_owned()))
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn parse<T: FromStr>(&self, section: &str, key: &str, default: T) -> Result<T, String> {
        match self.get(section, key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("invalid value '{v}' for [{section}] {key}")),
        }
    }

    fn parse_bool(&self, section: &str, key: &str, default: bool) -> Result<bool, String> {
        match self
            .get(section, key)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => Ok(default),
            Some("true" | "yes" | "on" | "1") => Ok(true),
            Some("false" | "no" | "off" | "0") => Ok(false),
            Some(v) => Err(format!("invalid boolean '{v}' for [{section}] {key}")),
        }
    }

    /// Every option set to a non-empty value, as `(section, key, value)`.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.values
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|((s, k), v)| (s.as_str(), k.as_str(), v.as_str()))
    }

    /// Options present but not read by glint, as `[section] key`.
    pub fn ignored(&self) -> Vec<String> {
        // The named backend's own section (`[<id>] filesystem_store_datadir`, the s3 and swift
        // options, ...).
        let named: Vec<String> = backends::entries(self)
            .ok()
            .flatten()
            .map(|(e, _)| e.into_iter().map(|(id, _)| id).collect())
            .unwrap_or_default();
        let http_backend = backends::http_entry(self).ok().flatten();
        let backend_keys = [
            "filesystem_store_datadir",
            "filesystem_store_datadirs",
            "store_description",
            "weight",
        ];
        let store_keys = stores::KNOWN
            .iter()
            .chain(swift::KNOWN)
            .flat_map(|(_, k)| k.iter());
        let store_keys: Vec<&str> = store_keys.copied().collect();
        self.values
            .keys()
            .filter(|(s, k)| {
                !(named.contains(s)
                    && (backend_keys.contains(&k.as_str()) || store_keys.contains(&k.as_str())))
            })
            .filter(|(s, k)| {
                !(http_backend.as_deref() == Some(s.as_str())
                    && (http_store::BACKEND_KEYS.contains(&k.as_str())
                        || matches!(k.as_str(), "store_description" | "weight")))
            })
            .filter(|(s, k)| {
                !KNOWN
                    .iter()
                    .chain(import::KNOWN)
                    .chain(transport::KNOWN)
                    .chain(notifications::KNOWN)
                    .chain(healthcheck::KNOWN)
                    .chain(metrics::KNOWN)
                    .chain(sharing::KNOWN)
                    .chain(ui::KNOWN)
                    .chain(process::KNOWN)
                    .chain(noauth::KNOWN)
                    .chain(oslo_limit::KNOWN)
                    .chain(stores::KNOWN)
                    .chain(swift::KNOWN)
                    .chain(http_store::KNOWN)
                    .chain(data_rules::KNOWN)
                    .any(|(ks, keys)| ks == s && keys.contains(&k.as_str()))
            })
            .map(|(s, k)| format!("[{s}] {k}"))
            .collect()
    }
}

fn at_least(section: &str, key: &str, v: i64, min: i64) -> Result<i64, String> {
    if v < min {
        Err(format!("[{section}] {key} must be at least {min}, got {v}"))
    } else {
        Ok(v)
    }
}

impl Config {
    /// Multi-store mode's backends: `backends`, or, for a configuration built by hand with only
    /// the default `backend` set, that backend alone (its kind and options from `stores`).
    pub fn named_backends(&self) -> Vec<backends::NamedBackend> {
        let Some(b) = &self.backend else {
            return Vec::new();
        };
        if !self.backends.is_empty() {
            return self.backends.clone();
        }
        let options = match (self.stores.default, &self.stores.s3, &self.stores.swift) {
            (stores::StoreKind::S3, Some(c), _) => backends::BackendOptions::S3(c.clone()),
            (stores::StoreKind::Swift, _, Some(c)) => backends::BackendOptions::Swift(c.clone()),
            _ => backends::BackendOptions::File {
                datadir: self.filesystem_store_datadir.clone(),
                datadirs: self.filesystem_store_datadirs.clone(),
            },
        };
        vec![backends::NamedBackend {
            id: b.id.clone(),
            kind: self.stores.default,
            description: b.description.clone(),
            weight: self.stores.weight,
            options,
        }]
    }

    /// The named backend's id in multi-store mode.
    pub fn backend_id(&self) -> Option<&str> {
        self.backend.as_ref().map(|b| b.id.as_str())
    }

    /// Build and validate. `data_dir` anchors the zero-config defaults.
    pub fn from_raw(raw: &RawConfig, data_dir: &Path) -> Result<Config, String> {
        let d = "DEFAULT";
        let auth_strategy = match (
            raw.get(d, "auth_strategy"),
            raw.get("paste_deploy", "flavor"),
        ) {
            (Some("noauth"), _) => AuthStrategy::Noauth,
            (Some("keystone"), _) | (None, _) => AuthStrategy::Keystone,
            (Some(other), _) => {
                return Err(format!(
                    "invalid value '{other}' for [DEFAULT] auth_strategy (keystone or noauth)"
                ))
            }
        };
        let hashing_algorithm = raw
            .get(d, "hashing_algorithm")
            .unwrap_or("sha512")
            .to_owned();
        if !["sha256", "sha384", "sha512"].contains(&hashing_algorithm.as_str()) {
            return Err(format!(
                "invalid value '{hashing_algorithm}' for [DEFAULT] hashing_algorithm (sha256, sha384 or sha512)"
            ));
        }
        let database_connection = match raw.get("database", "connection") {
            Some(url) => url.to_owned(),
            None => format!("sqlite:///{}", data_dir.join("glint.db").display()),
        };
        let database_connection = database::DatabaseUrl::parse(&database_connection)
            .map_err(|e| format!("invalid [database] connection: {e}"))?;
        let ks = "keystone_authtoken";
        let parsed = parse_backend(raw)?;
        let stores = stores::StoresConfig::from_raw(
            raw,
            parsed.as_ref().map(|(b, kind, _)| (b.id.as_str(), *kind)),
            parsed.as_ref().and_then(|(_, _, h)| h.as_deref()),
        )?;
        let backend = parsed.map(|(b, _, _)| b);
        let datadir = backend
            .as_ref()
            .and_then(|b| raw.get(&b.id, "filesystem_store_datadir"))
            .or_else(|| raw.get("glance_store", "filesystem_store_datadir"));
        let datadirs = parse_datadirs(raw, backend.as_ref().map(|b| b.id.as_str()))?;
        if datadir.is_some() && !datadirs.is_empty() {
            return Err(
                "specify either filesystem_store_datadir or filesystem_store_datadirs, \
                 not both (as glance_store requires)"
                    .to_owned(),
            );
        }
        let filesystem_store_datadir = datadirs
            .first()
            .cloned()
            .or_else(|| datadir.map(PathBuf::from))
            .unwrap_or_else(|| data_dir.join("images"));
        let named = match (backends::entries(raw)?, &backend) {
            (Some((entries, default)), Some(_)) => backends::from_raw(
                raw,
                &entries,
                &default,
                (&filesystem_store_datadir, &datadirs),
                data_dir,
            )?,
            _ => Vec::new(),
        };
        Ok(Config {
            bind_host: raw.get(d, "bind_host").unwrap_or("127.0.0.1").to_owned(),
            bind_port: raw.parse(d, "bind_port", 9292)?,
            workers: raw.parse(d, "workers", 0)?,
            image_member_quota: raw.parse(d, "image_member_quota", 128)?,
            image_property_quota: raw.parse(d, "image_property_quota", 128)?,
            image_location_quota: raw.parse(d, "image_location_quota", 10)?,
            image_tag_quota: raw.parse(d, "image_tag_quota", 128)?,
            limit_param_default: at_least(
                d,
                "limit_param_default",
                raw.parse(d, "limit_param_default", 25)?,
                1,
            )?,
            api_limit_max: at_least(d, "api_limit_max", raw.parse(d, "api_limit_max", 1000)?, 1)?,
            image_size_cap: raw.parse(d, "image_size_cap", 1_099_511_627_776)?,
            show_image_direct_url: raw.parse_bool(d, "show_image_direct_url", false)?,
            show_multiple_locations: raw.parse_bool(d, "show_multiple_locations", false)?,
            do_secure_hash: raw.parse_bool(d, "do_secure_hash", true)?,
            http_retries: raw.parse(d, "http_retries", 3)?,
            public_endpoint: raw
                .get(d, "public_endpoint")
                .map(|s| s.trim_end_matches('/').to_owned()),
            worker_self_reference_url: raw
                .get(d, "worker_self_reference_url")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            hashing_algorithm,
            auth_strategy,
            database_connection,
            database_max_pool_size: raw.parse("database", "max_pool_size", 10)?,
            database_pool_timeout: at_least(
                "database",
                "pool_timeout",
                raw.parse("database", "pool_timeout", 10)?,
                1,
            )? as u64,
            database_max_retries: at_least(
                "database",
                "max_retries",
                raw.parse("database", "max_retries", 10)?,
                -1,
            )?,
            database_retry_interval: raw.parse("database", "retry_interval", 10)?,
            database_statement_timeout: at_least(
                "database",
                "statement_timeout",
                raw.parse("database", "statement_timeout", 60)?,
                0,
            )? as u64,
            database_list_cache: raw.parse_bool("database", "glint_list_cache", true)?,
            filesystem_store_datadir,
            filesystem_store_datadirs: datadirs,
            policy_file: raw.get("oslo_policy", "policy_file").map(PathBuf::from),
            enforce_new_defaults: raw.parse_bool("oslo_policy", "enforce_new_defaults", true)?,
            require_image_format_match: raw.parse_bool(
                "image_format",
                "require_image_format_match",
                true,
            )?,
            disk_formats: import::list(raw, "image_format", "disk_formats")
                .unwrap_or_else(|| DISK_FORMATS.iter().map(|f| (*f).to_owned()).collect()),
            container_formats: import::list(raw, "image_format", "container_formats")
                .unwrap_or_else(|| CONTAINER_FORMATS.iter().map(|f| (*f).to_owned()).collect()),
            upload_stale_timeout: at_least(
                d,
                "upload_stale_timeout",
                raw.parse(d, "upload_stale_timeout", 300)?,
                2,
            )? as u64,
            keystone: KeystoneConfig {
                www_authenticate_uri: raw
                    .get(ks, "www_authenticate_uri")
                    .or_else(|| raw.get(ks, "auth_uri"))
                    .map(str::to_owned),
                auth_url: raw.get(ks, "auth_url").map(str::to_owned),
                username: raw.get(ks, "username").map(str::to_owned),
                password: raw.get(ks, "password").map(str::to_owned),
                project_name: raw.get(ks, "project_name").map(str::to_owned),
                user_domain_name: raw
                    .get(ks, "user_domain_name")
                    .unwrap_or("Default")
                    .to_owned(),
                project_domain_name: raw
                    .get(ks, "project_domain_name")
                    .unwrap_or("Default")
                    .to_owned(),
                token_cache_time: raw.parse(ks, "token_cache_time", 300)?,
                http_connect_timeout: raw.parse(ks, "http_connect_timeout", 10)?,
                http_request_max_retries: raw.parse(ks, "http_request_max_retries", 3)?,
            },
            import: import::ImportConfig::from_raw(raw, data_dir)?,
            stores,
            backend,
            backends: named,
            enable_proxy_headers_parsing: raw.parse_bool(
                "oslo_middleware",
                "enable_proxy_headers_parsing",
                false,
            )?,
            transport: transport::TransportConfig::from_raw(raw)?,
            notifications: notifications::NotificationsConfig::from_raw(raw)?,
            healthcheck: healthcheck::HealthcheckConfig::from_raw(raw)?,
            metrics: metrics::MetricsConfig::from_raw(raw)?,
            sharing: sharing::SharingConfig::from_raw(raw)?,
            ui: ui::UiConfig::from_raw(raw)?,
            process: process::ProcessConfig::from_raw(raw)?,
            data_rules: data_rules::DataRulesConfig::from_raw(raw)?,
            noauth_identity: noauth::from_raw(
                raw,
                auth_strategy == AuthStrategy::Noauth,
                raw.get(ks, "auth_url").is_some(),
            )?,
            keystone_limits: oslo_limit::from_raw(raw)?,
        })
    }

    /// Defaults only (tests and zero-config start).
    pub fn defaults(data_dir: &Path) -> Config {
        match Config::from_raw(&RawConfig::default(), data_dir) {
            Ok(c) => c,
            Err(e) => unreachable!("defaults are valid: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_glance() {
        let c = Config::defaults(Path::new("/tmp/x"));
        assert_eq!(c.bind_port, 9292);
        assert_eq!(c.image_member_quota, 128);
        assert_eq!(c.limit_param_default, 25);
        assert_eq!(c.api_limit_max, 1000);
        assert_eq!(c.image_size_cap, 1_099_511_627_776);
        assert_eq!(c.auth_strategy, AuthStrategy::Keystone);
        assert_eq!(c.database_connection, "sqlite:////tmp/x/glint.db");
    }

    #[test]
    fn image_format_lists_as_oslo_reads_them() {
        let d = Path::new("/tmp/x");
        let c = Config::defaults(d);
        assert_eq!(c.disk_formats, DISK_FORMATS);
        assert_eq!(c.container_formats, CONTAINER_FORMATS);
        let raw = RawConfig::from_text(
            "[image_format]\ndisk_formats = raw, qcow2 ,iso\ncontainer_formats = bare\n",
        )
        .unwrap();
        let c = Config::from_raw(&raw, d).unwrap();
        assert_eq!(c.disk_formats, ["raw", "qcow2", "iso"]);
        assert_eq!(c.container_formats, ["bare"]);
        // An empty list leaves only null, as in Glance.
        let raw = RawConfig::from_text("[image_format]\ndisk_formats =\n").unwrap();
        assert!(Config::from_raw(&raw, d).unwrap().disk_formats.is_empty());
    }

    #[test]
    fn bad_values_name_section_and_key() {
        let mut raw = RawConfig::default();
        raw.set("DEFAULT", "bind_port", "ninety");
        let e = Config::from_raw(&raw, Path::new("/tmp")).unwrap_err();
        assert!(e.contains("[DEFAULT] bind_port"), "{e}");
        let mut raw = RawConfig::default();
        raw.set("database", "connection", "postgressql://x/y");
        assert!(Config::from_raw(&raw, Path::new("/tmp")).is_err());
    }

    #[test]
    fn several_data_dirs_as_glance_store_reads_them() {
        let d = Path::new("/tmp/x");
        let raw = RawConfig::from_text(
            "[glance_store]\nfilesystem_store_datadirs = /low\n\
             filesystem_store_datadirs = /high:200\nfilesystem_store_datadirs = /mid: 100\n\
             filesystem_store_datadirs = /high2:200\nfilesystem_store_datadirs = /low\n",
        )
        .unwrap();
        let c = Config::from_raw(&raw, d).unwrap();
        let dirs: Vec<PathBuf> = ["/high", "/high2", "/mid", "/low"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(c.filesystem_store_datadirs, dirs);
        assert_eq!(c.filesystem_store_datadir, PathBuf::from("/high"));
        assert!(Config::defaults(d).filesystem_store_datadirs.is_empty());
        for bad in [
            "filesystem_store_datadir = /a\nfilesystem_store_datadirs = /b",
            "filesystem_store_datadirs = /a:x",
            "filesystem_store_datadirs = :5",
            "filesystem_store_datadirs = /a:1\nfilesystem_store_datadirs = /a:2",
        ] {
            let raw = RawConfig::from_text(&format!("[glance_store]\n{bad}\n")).unwrap();
            assert!(Config::from_raw(&raw, d).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_named_file_backend() {
        let d = Path::new("/tmp/x");
        assert_eq!(Config::defaults(d).backend, None);
        // Sections may repeat (the stack scripts append them); values merge.
        let raw = RawConfig::from_text(
            "[DEFAULT]\nbind_port = 1\n[glance_store]\nfilesystem_store_datadir = /a\n\
             [DEFAULT]\nenabled_backends = fast:file\n[glance_store]\ndefault_backend = fast\n\
             [fast]\nfilesystem_store_datadir = /b\nstore_description = Fast\nweight = 7\n",
        )
        .unwrap();
        let c = Config::from_raw(&raw, d).unwrap();
        assert_eq!(
            c.backend,
            Some(Backend {
                id: "fast".into(),
                description: Some("Fast".into())
            })
        );
        assert_eq!(c.filesystem_store_datadir, PathBuf::from("/b"));
        assert_eq!(c.stores.weight, 7);
        assert_eq!(c.bind_port, 1);
        assert_eq!(c.backends.len(), 1);
        assert_eq!(
            (c.backends[0].id.as_str(), c.backends[0].weight),
            ("fast", 7)
        );
        assert!(raw.ignored().is_empty(), "{:?}", raw.ignored());
        let raw = RawConfig::from_text(
            "[DEFAULT]\nenabled_backends = cheap:s3\n[glance_store]\ndefault_backend = cheap\n\
             [cheap]\ns3_store_host = h\ns3_store_access_key = a\ns3_store_secret_key = s\n\
             s3_store_bucket = b\nstore_description = Cheap\n",
        )
        .unwrap();
        let c = Config::from_raw(&raw, d).unwrap();
        assert_eq!(c.backend_id(), Some("cheap"));
        assert_eq!(c.stores.default, stores::StoreKind::S3);
        assert!(!c.stores.file);
        assert_eq!(c.stores.s3.as_ref().map(|s| s.bucket.as_str()), Some("b"));
        assert!(raw.ignored().is_empty(), "{:?}", raw.ignored());
        for (backends, default) in [
            ("fast:file,fast:file", "fast"),
            ("fast:rbd", "fast"),
            ("fast", "fast"),
            ("os_glance_staging_store:file", "os_glance_staging_store"),
        ] {
            let mut raw = RawConfig::default();
            raw.set("DEFAULT", "enabled_backends", backends);
            raw.set("glance_store", "default_backend", default);
            let e = Config::from_raw(&raw, d).unwrap_err();
            assert!(e.contains("[DEFAULT] enabled_backends"), "{e}");
        }
        let mut raw = RawConfig::default();
        raw.set("DEFAULT", "enabled_backends", "fast:file");
        assert!(Config::from_raw(&raw, d)
            .unwrap_err()
            .contains("[glance_store] default_backend"));
        raw.set("glance_store", "default_backend", "cheap");
        assert!(Config::from_raw(&raw, d)
            .unwrap_err()
            .contains("[glance_store] default_backend"));

        // One read-only http backend may stand beside it, with its own section.
        let raw = RawConfig::from_text(
            "[DEFAULT]\nenabled_backends = local:file, web:http\n[glance_store]\n\
             default_backend = local\n[web]\nhttps_insecure = false\nstore_description = W\n\
             weight = 5\n",
        )
        .unwrap();
        let c = Config::from_raw(&raw, d).unwrap();
        assert_eq!(c.backend_id(), Some("local"));
        assert_eq!(c.stores.http_backend.as_deref(), Some("web"));
        assert_eq!(c.stores.http_description.as_deref(), Some("W"));
        assert_eq!(c.stores.http_weight, 5);
        assert!(!c.stores.http.as_ref().unwrap().insecure);
        assert!(raw.ignored().is_empty(), "{:?}", raw.ignored());
        for backends in ["web:http", "a:file,b:http,c:http", "web:file,web:http"] {
            let mut raw = RawConfig::default();
            raw.set("DEFAULT", "enabled_backends", backends);
            raw.set("glance_store", "default_backend", "web");
            let e = Config::from_raw(&raw, d).unwrap_err();
            assert!(e.contains("[DEFAULT] enabled_backends"), "{backends}: {e}");
        }
        let mut raw = RawConfig::default();
        raw.set("DEFAULT", "enabled_backends", "local:file,web:http");
        raw.set("glance_store", "default_backend", "web");
        let e = Config::from_raw(&raw, d).unwrap_err();
        assert!(e.contains("the http store is read-only"), "{e}");
    }

    #[test]
    fn env_overrides_and_ignored_options() {
        let mut raw = RawConfig::default();
        raw.set("DEFAULT", "bind_port", "1");
        raw.set("glance_store", "filesystem_store_chunk_size", "1");
        raw.apply_env(
            vec![("GLINT__DEFAULT__BIND_PORT".to_owned(), "9393".to_owned())].into_iter(),
        );
        let c = Config::from_raw(&raw, Path::new("/tmp")).unwrap();
        assert_eq!(c.bind_port, 9393);
        assert_eq!(
            raw.ignored(),
            vec!["[glance_store] filesystem_store_chunk_size".to_owned()]
        );
    }
}
