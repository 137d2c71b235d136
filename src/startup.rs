//! Building the application state from configuration, shared by `main` and the tests.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::{KeystoneClient, TokenValidator};

use crate::app::AppState;
use crate::config::{AuthStrategy, Config};
use crate::db::connection::PoolSettings;
use crate::db::Db;
use crate::policy::Enforcer;
use crate::store::{FsStore, HashAlgo};

/// The checks of [`build_state`] that touch nothing (`glint check-config` runs them too):
/// the policy file and legacy policy settings, the Keystone options.
pub fn check(config: &Config) -> Result<(), String> {
    policy_enforcer(config)?;
    if config.auth_strategy == AuthStrategy::Keystone && config.keystone.auth_url.is_some() {
        KeystoneClient::new(&config.keystone)?;
    }
    if let Some(l) = &config.keystone_limits {
        crate::auth::limits::LimitsClient::new(l)?;
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

/// Open the database (applying migrations), recover from an earlier crash, open the store.
pub fn build_state(config: Config) -> Result<AppState, String> {
    announce_auth(&config);
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
    let store = FsStore::open(config.filesystem_store_datadir.clone(), algo)
        .map_err(|e| {
            format!(
                "cannot open image store {}: {e}",
                config.filesystem_store_datadir.display()
            )
        })?
        .with_format_match(config.require_image_format_match)
        .with_other_dirs(&config.filesystem_store_datadirs)
        .map_err(|e| format!("cannot open image store directories: {e}"))?;
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
    Ok(AppState {
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
    })
}
