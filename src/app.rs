//! The one explicit application state, built once and shared by every worker.

use std::sync::Arc;

use crate::auth::TokenValidator;
use crate::config::Config;
use crate::db::{Db, DbConn};
use crate::error::Error;
use crate::policy::Enforcer;
use crate::store::FsStore;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub store: Arc<FsStore>,
    /// The import staging area (`node_staging_uri`): one file per staged image.
    pub staging: Arc<FsStore>,
    pub policy: Arc<Enforcer>,
    /// Present when `auth_strategy = keystone`.
    pub tokens: Option<Arc<TokenValidator>>,
}

impl AppState {
    /// Run one unit of database work (a transaction included) on the blocking
    /// pool, never on an async worker thread.
    pub async fn db<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
    {
        let db = self.db.clone();
        actix_web::web::block(move || {
            let mut conn = db.conn()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| Error::internal(format!("database task failed: {e}")))?
    }
}
