//! Building the application state from configuration, shared by `main` and the tests.

use std::sync::Arc;

use crate::app::AppState;
use crate::config::{AuthStrategy, Config};
use crate::db::{self, Db};
use crate::policy::Enforcer;
use crate::service::images::now;
use crate::store::{FsStore, HashAlgo};

/// Open the database (applying migrations), recover from an earlier crash, open the store.
pub fn build_state(config: Config) -> Result<AppState, String> {
    if config.auth_strategy == AuthStrategy::Noauth {
        tracing::warn!(
            "auth_strategy = noauth: identity is taken from request headers (X-Project-Id, X-Roles). \
             Anyone can act as any project. Never use this outside development."
        );
    }
    if config.policy_file.is_some() {
        return Err("[oslo_policy] policy_file is not supported by this glint version yet".into());
    }
    if !config.enforce_new_defaults {
        return Err(
            "[oslo_policy] enforce_new_defaults = False (legacy policy) is not supported".into(),
        );
    }
    let db = Db::open(&config.database_connection, config.database_max_pool_size)?;
    let applied = db.migrate()?;
    if !applied.is_empty() {
        tracing::info!(?applied, "database migrations applied");
    }
    // An upload cut off by a crash left its image in `saving`: return it to `queued`.
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    let reset = db::images::reset_saving(&mut conn, now()).map_err(|e| e.to_string())?;
    if !reset.is_empty() {
        tracing::warn!(
            ?reset,
            "images left in 'saving' by an interrupted upload were reset to 'queued'"
        );
    }
    drop(conn);
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
        .with_format_match(config.require_image_format_match);
    Ok(AppState {
        config: Arc::new(config),
        db,
        store: Arc::new(store),
        policy: Arc::new(Enforcer::default()),
    })
}
