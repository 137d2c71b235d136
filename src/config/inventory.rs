//! Every option of Glance 32's API service (`oslo-config-generator` over the namespaces
//! glance-api registers, plus the keystoneauth password plugin's options) and what glint
//! does with each: honours it, refuses to start when it is set to anything but Glance's
//! default (an option whose silent loss would weaken security or change data), or
//! ignores it as irrelevant to glint. docs/CONFIG-OPTIONS.md is generated from this table.

use super::RawConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Honoured,
    /// Start-up fails when the option is set to anything but Glance's default or `also_accept`.
    Refused,
    /// Listed in one WARN line at start; `check-config --strict` fails.
    Ignored,
}
use Disposition::{Honoured, Ignored, Refused};

#[derive(Debug)]
pub struct Opt {
    pub section: &'static str,
    pub name: &'static str,
    /// Glance's default as the sample config shows it ("" for none).
    pub default: &'static str,
    pub disposition: Disposition,
    pub reason: &'static str,
    /// Values accepted besides the default (a refused option set to one is fine).
    pub also_accept: &'static [&'static str],
}

/// What a configuration holds, option by option, against the inventory.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// One message per refused option: `[section] name ...: why`.
    pub refused: Vec<String>,
    /// `[section] name` of set options glint ignores.
    pub ignored: Vec<String>,
    /// `[section] name` of set options neither Glance nor glint knows.
    pub unknown: Vec<String>,
}

pub fn lookup(section: &str, name: &str) -> Option<&'static Opt> {
    INVENTORY
        .iter()
        .find(|o| o.section == section && o.name == name)
}

/// A value in canonical form: lower case, list items trimmed, sorted, without duplicates.
fn canonical(v: &str) -> String {
    let v = v.trim();
    let v = v
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(v);
    let mut items: Vec<String> = v
        .split(',')
        .map(|i| i.trim().to_ascii_lowercase())
        .filter(|i| !i.is_empty())
        .collect();
    items.sort();
    items.dedup();
    items.join(",")
}

impl Opt {
    fn accepts(&self, value: &str) -> bool {
        let v = canonical(value);
        v == canonical(self.default) || self.also_accept.iter().any(|a| canonical(a) == v)
    }
}

/// Classify every option set in `raw` (empty values count as unset, as glint reads them).
pub fn classify(raw: &RawConfig) -> Report {
    let unread = raw.ignored();
    let mut report = Report::default();
    for (section, name, value) in raw.entries() {
        let label = format!("[{section}] {name}");
        match lookup(section, name) {
            Some(o) if o.disposition == Honoured => {}
            Some(o) if o.disposition == Refused => {
                if !o.accepts(value) {
                    // The value is not repeated: it may be a secret.
                    let default = match o.default {
                        "" => "unset".to_owned(),
                        d => format!("'{d}'"),
                    };
                    report.refused.push(format!(
                        "{label} is not supported by glint: {} (remove it or leave Glance's default, {default})",
                        o.reason
                    ));
                }
            }
            Some(_) => report.ignored.push(label),
            // A glint option or a multi-store backend section glint reads.
            None if !unread.contains(&label) => {}
            None => report.unknown.push(label),
        }
    }
    report
}

/// docs/CONFIG-OPTIONS.md.
pub fn markdown() -> String {
    let count = |d| INVENTORY.iter().filter(|o| o.disposition == d).count();
    let mut s = String::from(
        "# glance-api.conf options\n\n\
         <!-- Generated from src/config/inventory.rs by `GLINT_UPDATE_CONFIG_DOC=1 cargo test --lib \
         config::inventory`; do not edit. -->\n\n\
         Every option of Glance 32's API service (the namespaces glance-api registers, as \
         `oslo-config-generator` lists them, plus the Keystone password plugin's options) and what \
         glint does with it:\n\n\
         - **honoured**: read, with Glance's meaning.\n\
         - **refused**: glint refuses to start (and `check-config` fails) when the option is set to \
         anything but Glance's default (or a listed equivalent), because ignoring it would weaken \
         security or change data.\n\
         - **ignored**: irrelevant to glint (process model, server tuning, drivers glint does not \
         have). Set ones are listed in one WARN line at start; `check-config --strict` fails on them.\n\n\
         Options Glance does not know either get one WARN each. glint's own options (for example \
         `[DEFAULT] upload_stale_timeout`) are described in the README.\n\n",
    );
    s.push_str(&format!(
        "{} options: {} honoured, {} refused, {} ignored.\n\n",
        INVENTORY.len(),
        count(Honoured),
        count(Refused),
        count(Ignored)
    ));
    s.push_str("| section | option | Glance default | glint | why |\n|---|---|---|---|---|\n");
    for o in INVENTORY {
        let disposition = match o.disposition {
            Honoured => "honoured".to_owned(),
            Ignored => "ignored".to_owned(),
            Refused if o.also_accept.is_empty() => "refused".to_owned(),
            Refused => format!("refused (accepted: {})", o.also_accept.join("; ")),
        };
        let cell = |t: &str| t.replace('|', "\\|");
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            o.section,
            o.name,
            cell(o.default),
            disposition,
            cell(o.reason)
        ));
    }
    s
}

// Generated from Glance 32's option list (oslo-config-generator); dispositions and reasons
// chosen by hand.
#[rustfmt::skip]
pub const INVENTORY: &[Opt] = &[
    Opt { section: "DEFAULT", name: "allow_anonymous_access", default: "false", disposition: Refused, reason: "anonymous access is not implemented", also_accept: &[] },
    Opt { section: "DEFAULT", name: "api_limit_max", default: "1000", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "backlog", default: "4096", disposition: Ignored, reason: "process model / server tuning", also_accept: &[] },
    Opt { section: "DEFAULT", name: "bind_host", default: "0.0.0.0", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "bind_port", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "client_socket_timeout", default: "900", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "control_exchange", default: "openstack", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "debug", default: "false", disposition: Honoured, reason: "read by glint: DEBUG level instead of INFO, reloaded on SIGHUP (GLINT_LOG overrides)", also_accept: &[] },
    Opt { section: "DEFAULT", name: "default_log_levels", default: "amqp=WARN,boto=WARN,sqlalchemy=WARN,suds=INFO,oslo.messaging=INFO,oslo_messaging=INFO,iso8601=WARN,requests.packages.urllib3.connectionpool=WARN,urllib3.connectionpool=WARN,websocket=WARN,requests.packages.urllib3.util.retry=WARN,urllib3.util.retry=WARN,keystonemiddleware=WARN,routes.middleware=WARN,stevedore=WARN,taskflow=WARN,keystoneauth=WARN,oslo.cache=INFO,oslo_policy=INFO,dogpile.core.dogpile=INFO", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "default_publisher_id", default: "image.localhost", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "delayed_delete", default: "false", disposition: Refused, reason: "delayed delete (scrubber) is not implemented: data would be deleted at once", also_accept: &[] },
    Opt { section: "DEFAULT", name: "digest_algorithm", default: "sha256", disposition: Ignored, reason: "deprecated; unused by the v2 API", also_accept: &[] },
    Opt { section: "DEFAULT", name: "disabled_notifications", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "do_secure_hash", default: "true", disposition: Honoured, reason: "read by glint: the location_import task hashes a new location's data (uploads and imports are always hashed)", also_accept: &[] },
    Opt { section: "DEFAULT", name: "enabled_backends", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "enabled_import_methods", default: "[glance-direct,web-download,copy-image]", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "executor_thread_pool_size", default: "64", disposition: Ignored, reason: "oslo.messaging RPC is not used", also_accept: &[] },
    Opt { section: "DEFAULT", name: "fatal_deprecations", default: "false", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "hashing_algorithm", default: "sha512", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "http_keepalive", default: "true", disposition: Ignored, reason: "process model / server tuning", also_accept: &[] },
    Opt { section: "DEFAULT", name: "http_retries", default: "3", disposition: Honoured, reason: "read by glint: attempts at hashing a new http location's data", also_accept: &[] },
    Opt { section: "DEFAULT", name: "image_cache_dir", default: "", disposition: Ignored, reason: "no image cache", also_accept: &[] },
    Opt { section: "DEFAULT", name: "image_cache_driver", default: "centralized_db", disposition: Ignored, reason: "no image cache", also_accept: &[] },
    Opt { section: "DEFAULT", name: "image_cache_max_size", default: "10737418240", disposition: Ignored, reason: "no image cache", also_accept: &[] },
    Opt { section: "DEFAULT", name: "image_cache_sqlite_db", default: "cache.db", disposition: Ignored, reason: "no image cache", also_accept: &[] },
    Opt { section: "DEFAULT", name: "image_cache_stall_time", default: "86400", disposition: Ignored, reason: "no image cache", also_accept: &[] },
    Opt { section: "DEFAULT", name: "image_location_quota", default: "10", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "image_member_quota", default: "128", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "image_property_quota", default: "128", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "image_size_cap", default: "1099511627776", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "image_tag_quota", default: "128", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "instance_format", default: "\"[instance: %(uuid)s] \"", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "instance_uuid_format", default: "\"[instance: %(uuid)s] \"", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "limit_param_default", default: "25", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "log_color", default: "false", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "log_config_append", default: "", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "log_date_format", default: "%Y-%m-%d %H:%M:%S", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "log_dir", default: "", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "log_file", default: "", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "log_rotate_interval", default: "1", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "log_rotate_interval_type", default: "days", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "log_rotation_type", default: "none", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "logging_context_format_string", default: "%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s [%(global_request_id)s %(request_id)s %(user_identity)s] %(instance)s%(message)s", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "logging_debug_format_suffix", default: "%(funcName)s %(pathname)s:%(lineno)d", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "logging_default_format_string", default: "%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s [-] %(instance)s%(message)s", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "logging_exception_prefix", default: "%(asctime)s.%(msecs)03d %(process)d ERROR %(name)s %(instance)s", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "logging_user_identity_format", default: "%(user)s %(project)s %(domain)s %(system_scope)s %(user_domain)s %(project_domain)s", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "max_header_line", default: "16384", disposition: Ignored, reason: "process model / server tuning", also_accept: &[] },
    Opt { section: "DEFAULT", name: "max_logfile_count", default: "30", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "max_logfile_size_mb", default: "200", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "max_request_id_length", default: "64", disposition: Ignored, reason: "process model / server tuning", also_accept: &[] },
    Opt { section: "DEFAULT", name: "metadata_encryption_key", default: "", disposition: Refused, reason: "location metadata encryption is not implemented", also_accept: &[] },
    Opt { section: "DEFAULT", name: "node_staging_uri", default: "file:///tmp/staging/", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "property_protection_file", default: "", disposition: Honoured, reason: "read at start; a missing or invalid file refuses start", also_accept: &[] },
    Opt { section: "DEFAULT", name: "property_protection_rule_format", default: "roles", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "public_endpoint", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "publish_errors", default: "false", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "pydev_worker_debug_host", default: "localhost", disposition: Ignored, reason: "debugger hooks", also_accept: &[] },
    Opt { section: "DEFAULT", name: "pydev_worker_debug_port", default: "5678", disposition: Ignored, reason: "debugger hooks", also_accept: &[] },
    Opt { section: "DEFAULT", name: "rate_limit_burst", default: "0", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "rate_limit_except_level", default: "CRITICAL", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "rate_limit_interval", default: "0", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "rpc_ping_enabled", default: "false", disposition: Ignored, reason: "oslo.messaging RPC is not used", also_accept: &[] },
    Opt { section: "DEFAULT", name: "rpc_response_timeout", default: "60", disposition: Ignored, reason: "oslo.messaging RPC is not used", also_accept: &[] },
    Opt { section: "DEFAULT", name: "scrub_pool_size", default: "1", disposition: Ignored, reason: "no scrubber", also_accept: &[] },
    Opt { section: "DEFAULT", name: "scrub_time", default: "0", disposition: Ignored, reason: "no scrubber", also_accept: &[] },
    Opt { section: "DEFAULT", name: "show_image_direct_url", default: "false", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "show_multiple_locations", default: "false", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "syslog_log_facility", default: "LOG_USER", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "tcp_keepidle", default: "600", disposition: Ignored, reason: "process model / server tuning", also_accept: &[] },
    Opt { section: "DEFAULT", name: "transport_url", default: "rabbit://", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "use_journal", default: "false", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "use_json", default: "false", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "use_keystone_limits", default: "false", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "DEFAULT", name: "use_stderr", default: "false", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "use_syslog", default: "false", disposition: Ignored, reason: "oslo.log: glint logs to stderr; level from GLINT_LOG", also_accept: &[] },
    Opt { section: "DEFAULT", name: "user_storage_quota", default: "0", disposition: Honoured, reason: "read by glint: checked on upload and import, as Glance's legacy quota", also_accept: &[] },
    Opt { section: "DEFAULT", name: "worker_self_reference_url", default: "", disposition: Honoured, reason: "recorded on staged images as os_glance_stage_host (else public_endpoint); imports and deletes of an image staged on another worker are replayed there, as Glance does", also_accept: &[] },
    Opt { section: "DEFAULT", name: "workers", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "barbican", name: "auth_endpoint", default: "http://localhost/identity/v3", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican", name: "barbican_api_version", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican", name: "barbican_endpoint", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican", name: "barbican_endpoint_type", default: "public", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican", name: "barbican_region_name", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican", name: "cafile", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican", name: "certfile", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican", name: "collect_timing", default: "false", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican", name: "insecure", default: "false", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican", name: "keyfile", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican", name: "number_of_retries", default: "60", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican", name: "retry_delay", default: "1", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican", name: "send_service_user_token", default: "false", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican", name: "split_loggers", default: "false", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican", name: "timeout", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican", name: "verify_ssl", default: "true", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican", name: "verify_ssl_path", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican_service_user", name: "auth_section", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican_service_user", name: "auth_type", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican_service_user", name: "cafile", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican_service_user", name: "certfile", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican_service_user", name: "collect_timing", default: "false", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican_service_user", name: "insecure", default: "false", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican_service_user", name: "keyfile", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican_service_user", name: "split_loggers", default: "false", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "barbican_service_user", name: "timeout", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "cors", name: "allow_credentials", default: "true", disposition: Ignored, reason: "CORS is not implemented (browsers reach Glance through Horizon's server)", also_accept: &[] },
    Opt { section: "cors", name: "allow_headers", default: "", disposition: Ignored, reason: "CORS is not implemented (browsers reach Glance through Horizon's server)", also_accept: &[] },
    Opt { section: "cors", name: "allow_methods", default: "OPTIONS,GET,HEAD,POST,PUT,DELETE,TRACE,PATCH", disposition: Ignored, reason: "CORS is not implemented (browsers reach Glance through Horizon's server)", also_accept: &[] },
    Opt { section: "cors", name: "allowed_origin", default: "", disposition: Ignored, reason: "CORS is not implemented (browsers reach Glance through Horizon's server)", also_accept: &[] },
    Opt { section: "cors", name: "expose_headers", default: "", disposition: Ignored, reason: "CORS is not implemented (browsers reach Glance through Horizon's server)", also_accept: &[] },
    Opt { section: "cors", name: "max_age", default: "3600", disposition: Ignored, reason: "CORS is not implemented (browsers reach Glance through Horizon's server)", also_accept: &[] },
    Opt { section: "database", name: "asyncio_connection", default: "", disposition: Ignored, reason: "SQLAlchemy pool / driver tuning", also_accept: &[] },
    Opt { section: "database", name: "asyncio_slave_connection", default: "", disposition: Ignored, reason: "SQLAlchemy pool / driver tuning", also_accept: &[] },
    Opt { section: "database", name: "backend", default: "sqlalchemy", disposition: Refused, reason: "only the sqlalchemy-style connection URL is read", also_accept: &[] },
    Opt { section: "database", name: "connection", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "database", name: "connection_debug", default: "0", disposition: Ignored, reason: "SQLAlchemy pool / driver tuning", also_accept: &[] },
    Opt { section: "database", name: "connection_parameters", default: "", disposition: Ignored, reason: "SQLAlchemy pool / driver tuning", also_accept: &[] },
    Opt { section: "database", name: "connection_recycle_time", default: "3600", disposition: Ignored, reason: "SQLAlchemy pool / driver tuning", also_accept: &[] },
    Opt { section: "database", name: "connection_trace", default: "false", disposition: Ignored, reason: "SQLAlchemy pool / driver tuning", also_accept: &[] },
    Opt { section: "database", name: "db_inc_retry_interval", default: "true", disposition: Ignored, reason: "SQLAlchemy pool / driver tuning", also_accept: &[] },
    Opt { section: "database", name: "db_max_retries", default: "20", disposition: Ignored, reason: "SQLAlchemy pool / driver tuning", also_accept: &[] },
    Opt { section: "database", name: "db_max_retry_interval", default: "10", disposition: Ignored, reason: "SQLAlchemy pool / driver tuning", also_accept: &[] },
    Opt { section: "database", name: "db_retry_interval", default: "1", disposition: Ignored, reason: "SQLAlchemy pool / driver tuning", also_accept: &[] },
    Opt { section: "database", name: "max_overflow", default: "50", disposition: Ignored, reason: "SQLAlchemy pool / driver tuning", also_accept: &[] },
    Opt { section: "database", name: "max_pool_size", default: "5", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "database", name: "max_retries", default: "10", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "database", name: "mysql_sql_mode", default: "TRADITIONAL", disposition: Ignored, reason: "SQLAlchemy pool / driver tuning", also_accept: &[] },
    Opt { section: "database", name: "mysql_wsrep_sync_wait", default: "", disposition: Ignored, reason: "SQLAlchemy pool / driver tuning", also_accept: &[] },
    Opt { section: "database", name: "pool_timeout", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "database", name: "retry_interval", default: "10", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "database", name: "slave_connection", default: "", disposition: Refused, reason: "no read replica support", also_accept: &[] },
    Opt { section: "database", name: "sqlite_synchronous", default: "true", disposition: Ignored, reason: "SQLAlchemy pool / driver tuning", also_accept: &[] },
    Opt { section: "database", name: "synchronous_reader", default: "true", disposition: Ignored, reason: "SQLAlchemy pool / driver tuning", also_accept: &[] },
    Opt { section: "database", name: "use_db_reconnect", default: "false", disposition: Ignored, reason: "SQLAlchemy pool / driver tuning", also_accept: &[] },
    Opt { section: "glance_download_properties", name: "extra_properties", default: "[hw_,trait:,os_distro,os_secure_boot,os_type]", disposition: Ignored, reason: "glance-download import is not implemented", also_accept: &[] },
    Opt { section: "glance_store", name: "default_backend", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "default_store", default: "file", disposition: Honoured, reason: "read by glint: file, s3 or swift", also_accept: &[] },
    Opt { section: "glance_store", name: "default_swift_reference", default: "ref1", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "filesystem_store_chunk_size", default: "65536", disposition: Ignored, reason: "file store tuning", also_accept: &[] },
    Opt { section: "glance_store", name: "filesystem_store_datadir", default: "/var/lib/glance/images", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "filesystem_store_datadirs", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "filesystem_store_file_perm", default: "0", disposition: Refused, reason: "image file permissions are not changed", also_accept: &[] },
    Opt { section: "glance_store", name: "filesystem_store_metadata_file", default: "", disposition: Ignored, reason: "file store tuning", also_accept: &[] },
    Opt { section: "glance_store", name: "filesystem_store_thread_pool_size", default: "10", disposition: Ignored, reason: "file store tuning", also_accept: &[] },
    Opt { section: "glance_store", name: "filesystem_store_threadpool_threshold", default: "75", disposition: Ignored, reason: "file store tuning", also_accept: &[] },
    Opt { section: "glance_store", name: "filesystem_store_timeout", default: "0", disposition: Ignored, reason: "file store tuning", also_accept: &[] },
    Opt { section: "glance_store", name: "filesystem_thin_provisioning", default: "false", disposition: Ignored, reason: "file store tuning", also_accept: &[] },
    Opt { section: "glance_store", name: "http_proxy_information", default: "", disposition: Honoured, reason: "read by glint: the http store's proxies", also_accept: &[] },
    Opt { section: "glance_store", name: "https_ca_certificates_file", default: "", disposition: Honoured, reason: "read by glint: CAs the http store checks servers with", also_accept: &[] },
    Opt { section: "glance_store", name: "https_insecure", default: "true", disposition: Honoured, reason: "read by glint: the http store checks certificates only when false", also_accept: &[] },
    Opt { section: "glance_store", name: "rados_connect_timeout", default: "-1", disposition: Refused, reason: "store not supported", also_accept: &[] },
    Opt { section: "glance_store", name: "rbd_store_ceph_conf", default: "", disposition: Refused, reason: "store not supported", also_accept: &[] },
    Opt { section: "glance_store", name: "rbd_store_chunk_size", default: "8", disposition: Refused, reason: "store not supported", also_accept: &[] },
    Opt { section: "glance_store", name: "rbd_store_pool", default: "images", disposition: Refused, reason: "store not supported", also_accept: &[] },
    Opt { section: "glance_store", name: "rbd_store_user", default: "", disposition: Refused, reason: "store not supported", also_accept: &[] },
    Opt { section: "glance_store", name: "rbd_thin_provisioning", default: "false", disposition: Refused, reason: "store not supported", also_accept: &[] },
    Opt { section: "glance_store", name: "s3_store_access_key", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "s3_store_bucket", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "s3_store_bucket_url_format", default: "auto", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "s3_store_cacert", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "s3_store_create_bucket_on_put", default: "false", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "s3_store_enable_data_integrity_protection", default: "false", disposition: Refused, reason: "S3's optional request/response checksums are not sent or checked", also_accept: &[] },
    Opt { section: "glance_store", name: "s3_store_host", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "s3_store_large_object_chunk_size", default: "10", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "s3_store_large_object_size", default: "100", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "s3_store_region_name", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "s3_store_request_checksum_calculation", default: "when_required", disposition: Refused, reason: "S3's optional request/response checksums are not sent or checked", also_accept: &[] },
    Opt { section: "glance_store", name: "s3_store_response_checksum_validation", default: "when_required", disposition: Refused, reason: "S3's optional request/response checksums are not sent or checked", also_accept: &[] },
    Opt { section: "glance_store", name: "s3_store_secret_key", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "s3_store_thread_pools", default: "10", disposition: Ignored, reason: "upload tuning: glint sends one part while it receives the next", also_accept: &[] },
    Opt { section: "glance_store", name: "stores", default: "file,http", disposition: Honoured, reason: "read by glint: file, http (read-only), s3 and swift", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_buffer_on_upload", default: "false", disposition: Ignored, reason: "segments are streamed; nothing is buffered on disk", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_admin_tenants", default: "", disposition: Ignored, reason: "multi-tenant store only", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_application_credential_id", default: "", disposition: Refused, reason: "application credentials are not supported: use user and key", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_application_credential_secret", default: "", disposition: Refused, reason: "application credentials are not supported: use user and key", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_auth_address", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_auth_insecure", default: "false", disposition: Refused, reason: "TLS certificates are always verified (use swift_store_cacert)", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_auth_version", default: "3", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_cacert", default: "/etc/ssl/certs/ca-certificates.crt", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_config_file", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_container", default: "glance", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_create_container_on_put", default: "false", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_endpoint", default: "https://swift.openstack.example.org/v1/path_not_including_container_name", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_endpoint_type", default: "publicURL", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_expire_soon_interval", default: "60", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_key", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_large_object_chunk_size", default: "200", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_large_object_size", default: "5120", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_multi_tenant", default: "false", disposition: Refused, reason: "only the single-tenant swift store is supported", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_multiple_containers_seed", default: "0", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_project_id", default: "", disposition: Refused, reason: "application credentials are not supported: use user and key", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_project_name", default: "", disposition: Refused, reason: "application credentials are not supported: use user and key", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_region", default: "RegionTwo", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_retry_get_count", default: "0", disposition: Ignored, reason: "a download cut by Swift is not resumed", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_service_type", default: "object-store", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_ssl_compression", default: "true", disposition: Ignored, reason: "transport tuning", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_use_trusts", default: "true", disposition: Ignored, reason: "multi-tenant store only", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_store_user", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "glance_store", name: "swift_upload_buffer_dir", default: "", disposition: Ignored, reason: "segments are streamed; nothing is buffered on disk", also_accept: &[] },
    Opt { section: "glance_store", name: "vmware_api_retry_count", default: "10", disposition: Refused, reason: "store not supported", also_accept: &[] },
    Opt { section: "glance_store", name: "vmware_ca_file", default: "/etc/ssl/certs/ca-certificates.crt", disposition: Refused, reason: "store not supported", also_accept: &[] },
    Opt { section: "glance_store", name: "vmware_datastores", default: "", disposition: Refused, reason: "store not supported", also_accept: &[] },
    Opt { section: "glance_store", name: "vmware_insecure", default: "false", disposition: Refused, reason: "store not supported", also_accept: &[] },
    Opt { section: "glance_store", name: "vmware_server_host", default: "127.0.0.1", disposition: Refused, reason: "store not supported", also_accept: &[] },
    Opt { section: "glance_store", name: "vmware_server_password", default: "vmware", disposition: Refused, reason: "store not supported", also_accept: &[] },
    Opt { section: "glance_store", name: "vmware_server_username", default: "root", disposition: Refused, reason: "store not supported", also_accept: &[] },
    Opt { section: "glance_store", name: "vmware_store_image_dir", default: "/openstack_glance", disposition: Refused, reason: "store not supported", also_accept: &[] },
    Opt { section: "glance_store", name: "vmware_task_poll_interval", default: "5", disposition: Refused, reason: "store not supported", also_accept: &[] },
    Opt { section: "healthcheck", name: "allowed_source_ranges", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "healthcheck", name: "backends", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "healthcheck", name: "detailed", default: "false", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "healthcheck", name: "disable_by_file_path", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "healthcheck", name: "disable_by_file_paths", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "healthcheck", name: "enable_by_file_paths", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "healthcheck", name: "ignore_proxied_requests", default: "false", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "image_conversion", name: "output_format", default: "raw", disposition: Ignored, reason: "only used by the image_conversion plugin, which is refused", also_accept: &[] },
    Opt { section: "image_format", name: "container_formats", default: "ami,ari,aki,bare,ovf,ova,docker,compressed", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "image_format", name: "disk_formats", default: "ami,ari,aki,vhd,vhdx,vmdk,raw,qcow2,vdi,iso,ploop", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "image_format", name: "gpt_safety_checks_nonfatal", default: "mbr", disposition: Ignored, reason: "format inspection tuning", also_accept: &[] },
    Opt { section: "image_format", name: "require_image_format_match", default: "true", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "image_format", name: "vmdk_allowed_types", default: "streamOptimized,monolithicSparse", disposition: Honoured, reason: "read by glint: uploads and imports of other VMDK create-types are refused (Glance checks it only when converting)", also_accept: &[] },
    Opt { section: "image_import_opts", name: "image_import_plugins", default: "[no_op]", disposition: Refused, reason: "import plugins are not implemented", also_accept: &["[]"] },
    Opt { section: "import_filtering_opts", name: "allowed_hosts", default: "[]", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "import_filtering_opts", name: "allowed_ports", default: "[80,443]", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "import_filtering_opts", name: "allowed_schemes", default: "[http,https]", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "import_filtering_opts", name: "disallowed_hosts", default: "[]", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "import_filtering_opts", name: "disallowed_ports", default: "[]", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "import_filtering_opts", name: "disallowed_schemes", default: "[]", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "inject_metadata_properties", name: "ignore_user_roles", default: "admin", disposition: Ignored, reason: "only used by the inject_image_metadata plugin, which is refused", also_accept: &[] },
    Opt { section: "inject_metadata_properties", name: "inject", default: "", disposition: Ignored, reason: "only used by the inject_image_metadata plugin, which is refused", also_accept: &[] },
    Opt { section: "key_manager", name: "auth_type", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "key_manager", name: "auth_url", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "key_manager", name: "backend", default: "barbican", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "key_manager", name: "domain_id", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "key_manager", name: "domain_name", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "key_manager", name: "password", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "key_manager", name: "project_domain_id", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "key_manager", name: "project_domain_name", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "key_manager", name: "project_id", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "key_manager", name: "project_name", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "key_manager", name: "reauthenticate", default: "true", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "key_manager", name: "token", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "key_manager", name: "trust_id", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "key_manager", name: "user_domain_id", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "key_manager", name: "user_domain_name", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "key_manager", name: "user_id", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "key_manager", name: "username", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "auth_section", default: "", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "auth_type", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "auth_uri", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "auth_url", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "auth_version", default: "", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "cache", default: "", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "cafile", default: "", disposition: Refused, reason: "glint's Keystone client uses the system trust store only", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "certfile", default: "", disposition: Refused, reason: "no client certificate for Keystone", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "delay_auth_decision", default: "false", disposition: Refused, reason: "every /v2 request needs a valid token", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "enforce_token_bind", default: "permissive", disposition: Refused, reason: "token binding is not checked", also_accept: &["disabled"] },
    Opt { section: "keystone_authtoken", name: "http_connect_timeout", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "http_request_max_retries", default: "3", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "include_service_catalog", default: "true", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "insecure", default: "false", disposition: Refused, reason: "glint's Keystone client always verifies TLS", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "interface", default: "internal", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "keyfile", default: "", disposition: Refused, reason: "no client certificate for Keystone", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "memcache_password", default: "", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "memcache_pool_conn_get_timeout", default: "10", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "memcache_pool_dead_retry", default: "300", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "memcache_pool_maxsize", default: "10", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "memcache_pool_socket_timeout", default: "3", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "memcache_pool_unused_timeout", default: "60", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "memcache_sasl_enabled", default: "false", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "memcache_secret_key", default: "", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "memcache_security_strategy", default: "None", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "memcache_tls_allowed_ciphers", default: "", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "memcache_tls_cafile", default: "", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "memcache_tls_certfile", default: "", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "memcache_tls_enabled", default: "false", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "memcache_tls_keyfile", default: "", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "memcache_use_advanced_pool", default: "true", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "memcache_username", default: "", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "memcached_servers", default: "", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "password", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "project_domain_id", default: "", disposition: Refused, reason: "domains are read by name (project_domain_name)", also_accept: &["default"] },
    Opt { section: "keystone_authtoken", name: "project_domain_name", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "project_name", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "region_name", default: "", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "service_token_roles", default: "service", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "service_token_roles_required", default: "false", disposition: Refused, reason: "service tokens are not checked", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "service_type", default: "", disposition: Ignored, reason: "keystonemiddleware tuning (tokens are cached in process)", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "token_cache_time", default: "300", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "user_domain_id", default: "", disposition: Refused, reason: "domains are read by name (user_domain_name)", also_accept: &["default"] },
    Opt { section: "keystone_authtoken", name: "user_domain_name", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "username", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "keystone_authtoken", name: "www_authenticate_uri", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "os_glance_staging_store", name: "filesystem_store_datadir", default: "", disposition: Ignored, reason: "glint stages under node_staging_uri (default: the data dir)", also_accept: &[] },
    Opt { section: "os_glance_tasks_store", name: "filesystem_store_datadir", default: "", disposition: Ignored, reason: "glint's tasks need no work directory", also_accept: &[] },
    Opt { section: "oslo_concurrency", name: "disable_process_locking", default: "false", disposition: Ignored, reason: "glint takes no external locks", also_accept: &[] },
    Opt { section: "oslo_concurrency", name: "lock_path", default: "", disposition: Ignored, reason: "glint takes no external locks", also_accept: &[] },
    Opt { section: "oslo_limit", name: "auth_url", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "cafile", default: "", disposition: Refused, reason: "TLS client settings for the limits Keystone are not supported (use a CA the system trusts)", also_accept: &[] },
    Opt { section: "oslo_limit", name: "certfile", default: "", disposition: Refused, reason: "TLS client settings for the limits Keystone are not supported (use a CA the system trusts)", also_accept: &[] },
    Opt { section: "oslo_limit", name: "collect_timing", default: "false", disposition: Ignored, reason: "keystoneauth logging", also_accept: &[] },
    Opt { section: "oslo_limit", name: "connect_retries", default: "", disposition: Ignored, reason: "retry tuning: a Keystone that does not answer fails the request at once (503)", also_accept: &[] },
    Opt { section: "oslo_limit", name: "connect_retry_delay", default: "", disposition: Ignored, reason: "retry tuning: a Keystone that does not answer fails the request at once (503)", also_accept: &[] },
    Opt { section: "oslo_limit", name: "default_domain_id", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "default_domain_name", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "domain_id", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "domain_name", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "endpoint_id", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "endpoint_interface", default: "public", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "endpoint_override", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "endpoint_region_name", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "endpoint_service_name", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "endpoint_service_type", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "insecure", default: "false", disposition: Refused, reason: "certificate checks of the limits Keystone cannot be turned off", also_accept: &[] },
    Opt { section: "oslo_limit", name: "keyfile", default: "", disposition: Refused, reason: "TLS client settings for the limits Keystone are not supported (use a CA the system trusts)", also_accept: &[] },
    Opt { section: "oslo_limit", name: "max_version", default: "", disposition: Ignored, reason: "glint reads limits from the Identity API at auth_url (or endpoint_override), not through the catalog", also_accept: &[] },
    Opt { section: "oslo_limit", name: "min_version", default: "", disposition: Ignored, reason: "glint reads limits from the Identity API at auth_url (or endpoint_override), not through the catalog", also_accept: &[] },
    Opt { section: "oslo_limit", name: "password", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "project_domain_id", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "project_domain_name", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "project_id", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "project_name", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "region_name", default: "", disposition: Ignored, reason: "glint reads limits from the Identity API at auth_url (or endpoint_override), not through the catalog", also_accept: &[] },
    Opt { section: "oslo_limit", name: "retriable_status_codes", default: "", disposition: Ignored, reason: "retry tuning: a Keystone that does not answer fails the request at once (503)", also_accept: &[] },
    Opt { section: "oslo_limit", name: "service_name", default: "", disposition: Ignored, reason: "glint reads limits from the Identity API at auth_url (or endpoint_override), not through the catalog", also_accept: &[] },
    Opt { section: "oslo_limit", name: "service_type", default: "", disposition: Ignored, reason: "glint reads limits from the Identity API at auth_url (or endpoint_override), not through the catalog", also_accept: &[] },
    Opt { section: "oslo_limit", name: "split_loggers", default: "false", disposition: Ignored, reason: "keystoneauth logging", also_accept: &[] },
    Opt { section: "oslo_limit", name: "status_code_retries", default: "", disposition: Ignored, reason: "retry tuning: a Keystone that does not answer fails the request at once (503)", also_accept: &[] },
    Opt { section: "oslo_limit", name: "status_code_retry_delay", default: "", disposition: Ignored, reason: "retry tuning: a Keystone that does not answer fails the request at once (503)", also_accept: &[] },
    Opt { section: "oslo_limit", name: "system_scope", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "tenant_id", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "tenant_name", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "timeout", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "trust_id", default: "", disposition: Refused, reason: "trust-scoped tokens for reading limits are not supported", also_accept: &[] },
    Opt { section: "oslo_limit", name: "user_domain_id", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "user_domain_name", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "user_id", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "username", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_limit", name: "valid_interfaces", default: "", disposition: Ignored, reason: "glint reads limits from the Identity API at auth_url (or endpoint_override), not through the catalog", also_accept: &[] },
    Opt { section: "oslo_limit", name: "version", default: "", disposition: Ignored, reason: "glint reads limits from the Identity API at auth_url (or endpoint_override), not through the catalog", also_accept: &[] },
    Opt { section: "oslo_messaging_kafka", name: "compression_codec", default: "none", disposition: Ignored, reason: "the Kafka driver is not supported", also_accept: &[] },
    Opt { section: "oslo_messaging_kafka", name: "consumer_group", default: "oslo_messaging_consumer", disposition: Ignored, reason: "the Kafka driver is not supported", also_accept: &[] },
    Opt { section: "oslo_messaging_kafka", name: "enable_auto_commit", default: "false", disposition: Ignored, reason: "the Kafka driver is not supported", also_accept: &[] },
    Opt { section: "oslo_messaging_kafka", name: "kafka_consumer_timeout", default: "1.0", disposition: Ignored, reason: "the Kafka driver is not supported", also_accept: &[] },
    Opt { section: "oslo_messaging_kafka", name: "kafka_max_fetch_bytes", default: "1048576", disposition: Ignored, reason: "the Kafka driver is not supported", also_accept: &[] },
    Opt { section: "oslo_messaging_kafka", name: "max_poll_records", default: "500", disposition: Ignored, reason: "the Kafka driver is not supported", also_accept: &[] },
    Opt { section: "oslo_messaging_kafka", name: "producer_batch_size", default: "16384", disposition: Ignored, reason: "the Kafka driver is not supported", also_accept: &[] },
    Opt { section: "oslo_messaging_kafka", name: "producer_batch_timeout", default: "0.0", disposition: Ignored, reason: "the Kafka driver is not supported", also_accept: &[] },
    Opt { section: "oslo_messaging_kafka", name: "sasl_mechanism", default: "PLAIN", disposition: Ignored, reason: "the Kafka driver is not supported", also_accept: &[] },
    Opt { section: "oslo_messaging_kafka", name: "security_protocol", default: "PLAINTEXT", disposition: Ignored, reason: "the Kafka driver is not supported", also_accept: &[] },
    Opt { section: "oslo_messaging_kafka", name: "ssl_cafile", default: "", disposition: Ignored, reason: "the Kafka driver is not supported", also_accept: &[] },
    Opt { section: "oslo_messaging_kafka", name: "ssl_client_cert_file", default: "", disposition: Ignored, reason: "the Kafka driver is not supported", also_accept: &[] },
    Opt { section: "oslo_messaging_kafka", name: "ssl_client_key_file", default: "", disposition: Ignored, reason: "the Kafka driver is not supported", also_accept: &[] },
    Opt { section: "oslo_messaging_kafka", name: "ssl_client_key_password", default: "", disposition: Ignored, reason: "the Kafka driver is not supported", also_accept: &[] },
    Opt { section: "oslo_messaging_notifications", name: "driver", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_messaging_notifications", name: "retry", default: "-1", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_messaging_notifications", name: "topics", default: "notifications", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_messaging_notifications", name: "transport_url", default: "", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "amqp_auto_delete", default: "false", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "amqp_durable_queues", default: "false", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "conn_pool_min_size", default: "2", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "conn_pool_ttl", default: "1200", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "direct_mandatory_flag", default: "true", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "enable_cancel_on_failover", default: "false", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "heartbeat_in_pthread", default: "false", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "heartbeat_rate", default: "3", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "heartbeat_timeout_threshold", default: "60", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "hostname", default: "node1.example.com", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "kombu_compression", default: "", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "kombu_failover_strategy", default: "round-robin", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "kombu_missing_consumer_retry_timeout", default: "60", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "kombu_reconnect_delay", default: "1.0", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "kombu_reconnect_splay", default: "0.0", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "processname", default: "nova-api", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "rabbit_ha_queues", default: "false", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "rabbit_interval_max", default: "30", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "rabbit_login_method", default: "AMQPLAIN", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "rabbit_qos_prefetch_count", default: "0", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "rabbit_quorum_delivery_limit", default: "0", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "rabbit_quorum_max_memory_bytes", default: "0", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "rabbit_quorum_max_memory_length", default: "0", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "rabbit_quorum_queue", default: "false", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "rabbit_retry_backoff", default: "2", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "rabbit_retry_interval", default: "1", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "rabbit_stream_fanout", default: "false", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "rabbit_transient_queues_ttl", default: "1800", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "rabbit_transient_quorum_queue", default: "false", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "rpc_conn_pool_size", default: "30", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "ssl", default: "false", disposition: Refused, reason: "RabbitMQ TLS is not configured from this section", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "ssl_ca_file", default: "", disposition: Refused, reason: "RabbitMQ TLS is not configured from this section", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "ssl_cert_file", default: "", disposition: Refused, reason: "RabbitMQ TLS is not configured from this section", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "ssl_enforce_fips_mode", default: "false", disposition: Refused, reason: "RabbitMQ TLS is not configured from this section", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "ssl_key_file", default: "", disposition: Refused, reason: "RabbitMQ TLS is not configured from this section", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "ssl_version", default: "", disposition: Refused, reason: "RabbitMQ TLS is not configured from this section", also_accept: &[] },
    Opt { section: "oslo_messaging_rabbit", name: "use_queue_manager", default: "false", disposition: Ignored, reason: "RabbitMQ driver tuning", also_accept: &[] },
    Opt { section: "oslo_middleware", name: "enable_proxy_headers_parsing", default: "false", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_policy", name: "enforce_new_defaults", default: "true", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_policy", name: "enforce_scope", default: "true", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_policy", name: "policy_default_rule", default: "default", disposition: Refused, reason: "the default rule is fixed", also_accept: &[] },
    Opt { section: "oslo_policy", name: "policy_dirs", default: "policy.d", disposition: Refused, reason: "only policy_file is read", also_accept: &[] },
    Opt { section: "oslo_policy", name: "policy_file", default: "policy.yaml", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "oslo_policy", name: "remote_content_type", default: "application/x-www-form-urlencoded", disposition: Ignored, reason: "remote (http:) policy checks are not supported", also_accept: &[] },
    Opt { section: "oslo_policy", name: "remote_ssl_ca_crt_file", default: "", disposition: Ignored, reason: "remote (http:) policy checks are not supported", also_accept: &[] },
    Opt { section: "oslo_policy", name: "remote_ssl_client_crt_file", default: "", disposition: Ignored, reason: "remote (http:) policy checks are not supported", also_accept: &[] },
    Opt { section: "oslo_policy", name: "remote_ssl_client_key_file", default: "", disposition: Ignored, reason: "remote (http:) policy checks are not supported", also_accept: &[] },
    Opt { section: "oslo_policy", name: "remote_ssl_verify_server_crt", default: "false", disposition: Ignored, reason: "remote (http:) policy checks are not supported", also_accept: &[] },
    Opt { section: "oslo_policy", name: "remote_timeout", default: "60", disposition: Ignored, reason: "remote (http:) policy checks are not supported", also_accept: &[] },
    Opt { section: "paste_deploy", name: "config_file", default: "glance-api-paste.ini", disposition: Ignored, reason: "no paste pipeline", also_accept: &[] },
    Opt { section: "paste_deploy", name: "flavor", default: "keystone", disposition: Refused, reason: "only the keystone pipeline exists: glint has no image cache", also_accept: &["keystone"] },
    Opt { section: "profiler", name: "connection_string", default: "messaging://", disposition: Ignored, reason: "osprofiler tracing is not supported", also_accept: &[] },
    Opt { section: "profiler", name: "enabled", default: "false", disposition: Ignored, reason: "osprofiler tracing is not supported", also_accept: &[] },
    Opt { section: "profiler", name: "es_doc_type", default: "notification", disposition: Ignored, reason: "osprofiler tracing is not supported", also_accept: &[] },
    Opt { section: "profiler", name: "es_scroll_size", default: "10000", disposition: Ignored, reason: "osprofiler tracing is not supported", also_accept: &[] },
    Opt { section: "profiler", name: "es_scroll_time", default: "2m", disposition: Ignored, reason: "osprofiler tracing is not supported", also_accept: &[] },
    Opt { section: "profiler", name: "filter_error_trace", default: "false", disposition: Ignored, reason: "osprofiler tracing is not supported", also_accept: &[] },
    Opt { section: "profiler", name: "hmac_keys", default: "SECRET_KEY", disposition: Ignored, reason: "osprofiler tracing is not supported", also_accept: &[] },
    Opt { section: "profiler", name: "sentinel_service_name", default: "mymaster", disposition: Ignored, reason: "osprofiler tracing is not supported", also_accept: &[] },
    Opt { section: "profiler", name: "socket_timeout", default: "0.1", disposition: Ignored, reason: "osprofiler tracing is not supported", also_accept: &[] },
    Opt { section: "profiler", name: "trace_requests", default: "false", disposition: Ignored, reason: "osprofiler tracing is not supported", also_accept: &[] },
    Opt { section: "profiler", name: "trace_sqlalchemy", default: "false", disposition: Ignored, reason: "osprofiler tracing is not supported", also_accept: &[] },
    Opt { section: "task", name: "task_executor", default: "taskflow", disposition: Ignored, reason: "task executor internals", also_accept: &[] },
    Opt { section: "task", name: "task_time_to_live", default: "48", disposition: Honoured, reason: "read by glint", also_accept: &[] },
    Opt { section: "task", name: "work_dir", default: "/work_dir", disposition: Ignored, reason: "task executor internals", also_accept: &[] },
    Opt { section: "taskflow_executor", name: "conversion_format", default: "raw", disposition: Refused, reason: "image conversion is not implemented", also_accept: &[] },
    Opt { section: "taskflow_executor", name: "engine_mode", default: "parallel", disposition: Ignored, reason: "no taskflow executor", also_accept: &[] },
    Opt { section: "taskflow_executor", name: "max_workers", default: "10", disposition: Ignored, reason: "no taskflow executor", also_accept: &[] },
    Opt { section: "vault", name: "approle_role_id", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "vault", name: "approle_secret_id", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "vault", name: "kv_mountpoint", default: "secret", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "vault", name: "kv_path", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "vault", name: "kv_version", default: "2", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "vault", name: "namespace", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "vault", name: "root_token_id", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "vault", name: "ssl_ca_crt_file", default: "", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "vault", name: "timeout", default: "60", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "vault", name: "use_ssl", default: "false", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "vault", name: "vault_url", default: "http://127.0.0.1:8200", disposition: Ignored, reason: "image signature verification is not implemented", also_accept: &[] },
    Opt { section: "wsgi", name: "python_interpreter", default: "", disposition: Ignored, reason: "WSGI server tuning", also_accept: &[] },
    Opt { section: "wsgi", name: "task_pool_threads", default: "16", disposition: Ignored, reason: "WSGI server tuning", also_accept: &[] },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_doc_is_generated_from_the_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/CONFIG-OPTIONS.md");
        let want = markdown();
        if std::env::var_os("GLINT_UPDATE_CONFIG_DOC").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/CONFIG-OPTIONS.md is stale: run GLINT_UPDATE_CONFIG_DOC=1 cargo test --lib config::inventory"
        );
    }

    #[test]
    fn what_glint_reads_is_honoured_and_each_option_listed_once() {
        let reads = super::super::KNOWN
            .iter()
            .chain(super::super::import::KNOWN)
            .chain(super::super::transport::KNOWN)
            .chain(super::super::process::KNOWN)
            .chain(super::super::oslo_limit::KNOWN)
            .chain(super::super::stores::KNOWN)
            .chain(super::super::swift::KNOWN)
            .chain(super::super::http_store::KNOWN)
            .chain(super::super::data_rules::KNOWN)
            .flat_map(|(s, keys)| keys.iter().map(move |k| (*s, *k)));
        for (s, k) in reads {
            // Read to be checked (`flavor`) counts: it is refused unless the default.
            if let Some(o) = lookup(s, k) {
                assert_ne!(o.disposition, Ignored, "[{s}] {k}");
            }
        }
        // Honoured but read elsewhere: notifications and healthcheck (src/config/notifications.rs).
        let elsewhere = |o: &Opt| {
            matches!(o.section, "oslo_messaging_notifications" | "healthcheck")
                || matches!(
                    o.name,
                    "transport_url"
                        | "control_exchange"
                        | "default_publisher_id"
                        | "disabled_notifications"
                )
        };
        for o in INVENTORY.iter().filter(|o| o.disposition == Honoured) {
            let read = super::super::KNOWN
                .iter()
                .chain(super::super::import::KNOWN)
                .chain(super::super::transport::KNOWN)
                .chain(super::super::process::KNOWN)
                .chain(super::super::oslo_limit::KNOWN)
                .chain(super::super::stores::KNOWN)
                .chain(super::super::swift::KNOWN)
                .chain(super::super::http_store::KNOWN)
                .chain(super::super::data_rules::KNOWN)
                .any(|(s, keys)| *s == o.section && keys.contains(&o.name));
            assert!(
                read || elsewhere(o),
                "[{}] {} honoured but not read",
                o.section,
                o.name
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for o in INVENTORY {
            assert!(
                seen.insert((o.section, o.name)),
                "[{}] {} twice",
                o.section,
                o.name
            );
            assert!(!o.reason.is_empty());
        }
    }

    #[test]
    fn an_s3_default_store_is_accepted_whole() {
        let raw = RawConfig::from_text(
            "[glance_store]\nstores = file,http,s3\ndefault_store = s3\n\
             s3_store_host = https://s3.example.com\ns3_store_access_key = ak\n\
             s3_store_secret_key = sk\ns3_store_bucket = images\n\
             s3_store_create_bucket_on_put = true\ns3_store_bucket_url_format = path\n\
             s3_store_large_object_size = 200\ns3_store_large_object_chunk_size = 20\n\
             s3_store_cacert = /etc/ssl/ca.pem\ns3_store_region_name = r1\n",
        )
        .unwrap();
        assert_eq!(classify(&raw), Report::default());
        assert!(raw.ignored().is_empty(), "{:?}", raw.ignored());
    }

    #[test]
    fn classify_refuses_ignores_and_flags_unknown() {
        let raw = RawConfig::from_text(
            "[DEFAULT]\nbind_port = 9292\ndebug = True\nlog_file = /var/log/g.log\nuse_keystone_limits = False\n\
             delayed_delete = true\nno_such_option = 1\n\
             upload_stale_timeout = 60\n\
             [paste_deploy]\nflavor = keystone\n\
             [glance_store]\nstores = http, FILE\nvmware_server_password = s3cr3t\n\
             [keystone_authtoken]\nmemcached_servers = a:11211\ninsecure = false\n\
             user_domain_id = default\n",
        )
        .unwrap();
        let r = classify(&raw);
        assert_eq!(r.refused.len(), 2, "{:?}", r.refused);
        assert!(r.refused[0].starts_with("[DEFAULT] delayed_delete is not supported"));
        assert!(r.refused[1].starts_with("[glance_store] vmware_server_password"));
        assert!(r.refused.iter().all(|m| !m.contains("s3cr3t")));
        assert_eq!(
            r.ignored,
            vec![
                "[DEFAULT] log_file",
                "[keystone_authtoken] memcached_servers"
            ]
        );
        assert_eq!(r.unknown, vec!["[DEFAULT] no_such_option"]);
        for (section, name, value) in [
            ("oslo_limit", "insecure", "true"),
            ("paste_deploy", "flavor", "keystone+cachemanagement"),
            ("keystone_authtoken", "cafile", "/etc/ssl/ca.pem"),
            ("keystone_authtoken", "insecure", "True"),
            (
                "glance_store",
                "s3_store_enable_data_integrity_protection",
                "true",
            ),
        ] {
            let mut raw = RawConfig::default();
            raw.set(section, name, value);
            let r = classify(&raw);
            assert_eq!(r.refused.len(), 1, "[{section}] {name} = {value}");
            assert!(r.refused[0].contains(&format!("[{section}] {name}")));
        }
    }
}
