//! Building the application state from configuration, shared by `main` and the tests.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::{KeystoneClient, TokenValidator};

use crate::app::AppState;
use crate::config::backends::BackendOptions;
use crate::config::stores::StoreKind;
use crate::config::{AuthStrategy, Config};
use crate::db::connection::PoolSettings;
use crate::db::Db;
use crate::domain::member_check::ValidateMember;
use crate::domain::property_protection::PropertyRules;
use crate::policy::Enforcer;
use crate::store::inspect::FormatRules;
use crate::store::{EnabledStores, FsStore, HashAlgo, NamedStore, S3Store, Store, SwiftStore};

/// The checks of [`build_state`] that touch nothing (`glint check-config` runs them too):
/// the policy file and legacy policy settings, the Keystone options.
pub fn check(config: &Config) -> Result<(), String> {
    policy_enforcer(config)?;
    ui_requirements(config)?;
    property_rules(config)?;
    sharing_needs(config)?;
    if config.auth_strategy == AuthStrategy::Keystone && config.keystone.auth_url.is_some() {
        KeystoneClient::new(&config.keystone)?;
    }
    if let Some(l) = &config.keystone_limits {
        crate::auth::limits::LimitsClient::new(l)?;
    }
    Ok(())
}

/// What the sharing extensions' options need of the rest: checking member ids needs Keystone.
fn sharing_needs(config: &Config) -> Result<(), String> {
    let s = &config.sharing;
    let keystone =
        config.auth_strategy == AuthStrategy::Keystone && config.keystone.auth_url.is_some();
    if s.enabled && s.validate_member != ValidateMember::Off && !keystone {
        return Err(format!(
            "[glint_sharing] validate_member = {} checks member ids in Keystone: it needs \
             auth_strategy = keystone with [keystone_authtoken] auth_url (or validate_member = off)",
            s.validate_member.as_str()
        ));
    }
    Ok(())
}

/// The policy: defaults with the policy file's overrides, validated (at start and on SIGHUP).
pub fn policy_enforcer(config: &Config) -> Result<Enforcer, String> {
    let mut policy = Enforcer::default();
    if let Some(path) = &config.policy_file {
        let overrides = crate::policy::file::load_policy_file(path)?;
        tracing::info!(path = %path.display(), rules = overrides.len(), "policy overrides loaded");
        policy = policy.with_overrides(overrides);
        policy
            .validate()
            .map_err(|e| format!("policy file {}: {e}", path.display()))?;
    }
    if !config.enforce_new_defaults {
        return Err(
            "[oslo_policy] enforce_new_defaults = False (legacy policy) is not supported".into(),
        );
    }
    Ok(policy)
}

/// `property_protection_file`, parsed: a file that is missing, unreadable or invalid refuses
/// start (Glance's `InvalidPropertyProtectionConfiguration`), naming the file and the fault.
pub fn property_rules(config: &Config) -> Result<Option<Arc<PropertyRules>>, String> {
    let rules = &config.data_rules;
    let Some(path) = &rules.property_protection_file else {
        return Ok(None);
    };
    let fail = |e: String| {
        format!(
            "[DEFAULT] property_protection_file {}: invalid property protection file: {e}",
            path.display()
        )
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let parsed =
        PropertyRules::parse(&text, rules.property_protection_rule_format).map_err(fail)?;
    tracing::info!(
        path = %path.display(),
        format = ?rules.property_protection_rule_format,
        "property protections loaded"
    );
    Ok(Some(Arc::new(parsed)))
}

/// Says once, at start, how requests will be authenticated when that is not Keystone as
/// configured: the zero-config start (everything 401, and what to do next) and noauth.
fn announce_auth(config: &Config) {
    match (config.auth_strategy, &config.noauth_identity) {
        (AuthStrategy::Keystone, _) if config.keystone.auth_url.is_none() => tracing::error!(
            "no Keystone configured: every /v2 request will be answered 401. {}",
            crate::auth::NO_KEYSTONE_HINT
        ),
        (AuthStrategy::Keystone, _) => {}
        (AuthStrategy::Noauth, None) => tracing::warn!(
            "auth_strategy = noauth: identity is taken from request headers (X-Project-Id, \
             X-Roles, X-User-Id). Anyone can act as any project. Never use this outside \
             development."
        ),
        (AuthStrategy::Noauth, Some(id)) => tracing::warn!(
            project_id = %id.project_id,
            user_id = %id.user_id.as_deref().unwrap_or("-"),
            roles = %id.roles.join(","),
            "auth_strategy = noauth with a development identity: a request without identity \
             headers acts as this project with these roles, one with X-Project-Id/X-Roles as \
             what they say. Anyone who reaches this port can do so. Never use this outside \
             development."
        ),
    }
    let loopback = matches!(config.bind_host.as_str(), "127.0.0.1" | "::1" | "localhost");
    if config.auth_strategy == AuthStrategy::Noauth && !loopback {
        tracing::warn!(
            bind_host = %config.bind_host,
            "auth_strategy = noauth on an address other hosts can reach"
        );
    }
}

/// The enabled image stores. The file store's directories are created (as glance_store does)
/// only when it is enabled; the S3 store contacts its server at the first upload.
fn open_stores(config: &Config, algo: HashAlgo) -> Result<EnabledStores, String> {
    let enabled = &config.stores;
    let rules = FormatRules {
        require_match: config.require_image_format_match,
        vmdk_allowed_types: config.data_rules.vmdk_allowed_types.clone().map(Into::into),
    };
    let file = if enabled.file {
        let dir = &config.filesystem_store_datadir;
        let store = FsStore::open(dir.clone(), algo)
            .map_err(|e| format!("cannot open image store {}: {e}", dir.display()))?
            .with_format_rules(rules.clone())
            .with_other_dirs(&config.filesystem_store_datadirs)
            .map_err(|e| format!("cannot open image store directories: {e}"))?;
        Some(store)
    } else {
        None
    };
    let s3 = match &enabled.s3 {
        Some(c) => Some(S3Store::new(c.clone(), algo)?.with_format_rules(rules.clone())),
        None => None,
    };
    let swift = match &enabled.swift {
        Some(c) => Some(SwiftStore::new(c.clone(), algo)?.with_format_rules(rules.clone())),
        None => None,
    };
    let default = match (enabled.default, &file, &s3, &swift) {
        (StoreKind::File, Some(f), _, _) => Store::File(f.clone()),
        (StoreKind::S3, _, Some(s), _) => Store::S3(s.clone()),
        (StoreKind::Swift, _, _, Some(s)) => Store::Swift(s.clone()),
        (kind, _, _, _) => return Err(format!("default_store {} is not enabled", kind.as_str())),
    };
    let http = enabled
        .http
        .as_ref()
        .map(|c| crate::store::HttpStore::new(c.clone()))
        .transpose()?;
    tracing::info!(
        default_store = default.kind(),
        file = file.is_some(),
        s3 = s3.is_some(),
        swift = swift.is_some(),
        http = http.is_some(),
        "image stores enabled"
    );
    let named = named_stores(config, &default, algo, &rules)?;
    Ok(EnabledStores::new(default, file, s3, swift)
        .with_named(named)
        .with_http(http))
}

/// Multi-store mode's backends: the default one is the store opened above, the others are
/// opened here (a file backend's directory is created, as glance_store does).
fn named_stores(
    config: &Config,
    default: &Store,
    algo: HashAlgo,
    rules: &FormatRules,
) -> Result<Vec<NamedStore>, String> {
    let mut named = Vec::new();
    for b in &config.named_backends() {
        let store = if Some(b.id.as_str()) == config.backend_id() {
            default.clone()
        } else {
            match &b.options {
                BackendOptions::File { datadir, datadirs } => Store::File(
                    FsStore::open(datadir.clone(), algo)
                        .map_err(|e| format!("cannot open image store {}: {e}", datadir.display()))?
                        .with_format_rules(rules.clone())
                        .with_other_dirs(datadirs)
                        .map_err(|e| format!("cannot open image store directories: {e}"))?,
                ),
                BackendOptions::S3(c) => {
                    Store::S3(S3Store::new(c.clone(), algo)?.with_format_rules(rules.clone()))
                }
                BackendOptions::Swift(c) => {
                    Store::Swift(SwiftStore::new(c.clone(), algo)?.with_format_rules(rules.clone()))
                }
            }
        };
        tracing::info!(store = %b.id, kind = store.kind(), weight = b.weight, "named store enabled");
        named.push(NamedStore {
            id: b.id.clone(),
            store,
            weight: b.weight,
        });
    }
    Ok(named)
}

/// Open the database (applying migrations), recover from an earlier crash, open the store.
/// `[glint_ui]` on needs the sharing extensions and Keystone.
fn ui_requirements(config: &Config) -> Result<(), String> {
    let keystone =
        config.auth_strategy == AuthStrategy::Keystone && config.keystone.auth_url.is_some();
    crate::config::ui::check(&config.ui, config.sharing.enabled, keystone)
}

pub fn build_state(config: Config) -> Result<AppState, String> {
    announce_auth(&config);
    ui_requirements(&config)?;
    if config.show_multiple_locations {
        // What oslo.config logs for an option Glance deprecated for removal.
        tracing::warn!(
            "Option \"show_multiple_locations\" from group \"DEFAULT\" is deprecated for \
             removal (Use of this option, deprecated since Newton, is a security risk and will \
             be removed once we figure out a way to satisfy those use cases that currently \
             require it.).  Its value may be silently ignored in the future."
        );
    }
    let policy = policy_enforcer(&config)?;
    let property_rules = property_rules(&config)?;
    sharing_needs(&config)?;
    let db = Db::open(
        &config.database_connection,
        &PoolSettings::from_config(&config),
    )?;
    let applied = db.migrate()?;
    if !applied.is_empty() {
        tracing::info!(?applied, "database migrations applied");
    }
    let algo: HashAlgo = config
        .hashing_algorithm
        .parse()
        .map_err(|_| format!("unsupported hashing_algorithm {}", config.hashing_algorithm))?;
    let store = open_stores(&config, algo)?;
    let staging = crate::service::import::open_staging(&config, algo)?;
    let tokens = match config.auth_strategy {
        AuthStrategy::Noauth => None,
        // Zero-config start: run, but let nobody in until Keystone is configured
        // (`announce_auth` has said what to do).
        AuthStrategy::Keystone if config.keystone.auth_url.is_none() => None,
        AuthStrategy::Keystone => {
            let client = KeystoneClient::new(&config.keystone)?;
            let ttl = Duration::from_secs(config.keystone.token_cache_time);
            Some(Arc::new(TokenValidator::new(client, ttl)))
        }
    };
    let limits = match &config.keystone_limits {
        Some(l) => {
            tracing::info!(
                keystone = %l.api_url,
                cache_time_s = l.cache_time.as_secs(),
                "quotas: Keystone unified limits (use_keystone_limits)"
            );
            if config.data_rules.user_storage_quota.is_some() {
                tracing::warn!(
                    "user_storage_quota is not applied: use_keystone_limits takes precedence, as in Glance"
                );
            }
            Some(Arc::new(crate::auth::limits::LimitsClient::new(l)?))
        }
        None => None,
    };
    let uploads = crate::service::upload_slots::UploadSlots::new(
        config.transport.max_concurrent_uploads_per_project,
    );
    let notifier = crate::notify::Notifier::start(&config.notifications)?;
    let metrics = match config.metrics.enabled {
        true => Some(Arc::new(crate::metrics::Metrics::new()?)),
        false => None,
    };
    let image_schema = crate::domain::image_schema::ImageSchema::with_formats(
        &config.disk_formats,
        &config.container_formats,
    );
    let webhooks = crate::service::serial_worker::SerialWorker::start(
        config.sharing.enabled,
        "webhooks",
        crate::service::webhooks::QUEUE,
    )?;
    Ok(AppState {
        webhooks: Arc::new(webhooks),
        grants: Arc::default(),
        projects: Arc::default(),
        image_schema,
        notifier,
        metrics,
        uploads: Arc::new(uploads),
        limits,
        json_bodies: Arc::new(tokio::sync::Semaphore::new(
            crate::domain::limits::MAX_JSON_BODIES_BUFFERED_KIB,
        )),
        tokens,
        config: Arc::new(config),
        db,
        store: Arc::new(store),
        staging: Arc::new(staging),
        policy: Arc::new(policy),
        property_rules,
        throttles: Arc::default(),
    })
}
