//! The one explicit application state, built once and shared by every worker.

use std::sync::Arc;

use crate::auth::TokenValidator;
use crate::config::Config;
use crate::db::{write_tx, Backend, Db, DbConn};
use crate::error::Error;
use crate::policy::Enforcer;
use crate::store::{EnabledStores, FsStore};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    /// The image stores: new data goes to the default one, locations are read by scheme.
    pub store: Arc<EnabledStores>,
    /// The import staging area (`node_staging_uri`): one file per staged image.
    pub staging: Arc<FsStore>,
    pub policy: Arc<Enforcer>,
    /// Present when `auth_strategy = keystone`.
    pub tokens: Option<Arc<TokenValidator>>,
    /// Present when `use_keystone_limits`: reads the quotas' limits from Keystone.
    pub limits: Option<Arc<crate::auth::limits::LimitsClient>>,
    /// Data uploads and stages in progress per project (`max_concurrent_uploads_per_project`).
    pub uploads: Arc<crate::service::upload_slots::UploadSlots>,
    /// KiB of JSON bodies being received, all requests together (`MAX_JSON_BODIES_BUFFERED_KIB`).
    pub json_bodies: Arc<tokio::sync::Semaphore>,
    /// Glance's notifications, sent after a change commits (`crate::notify`).
    pub notifier: crate::notify::Notifier,
    /// Present when `[metrics] enabled` (the default).
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
    /// The image schema with the configured `[image_format]` lists: what create and PATCH
    /// validate against and `GET /v2/schemas/image(s)` publish.
    pub image_schema: crate::domain::image_schema::ImageSchema,
    /// `property_protection_file`, read once at start as Glance reads it (not on SIGHUP).
    pub property_rules: Option<Arc<crate::domain::property_protection::PropertyRules>>,
    /// The sharing extensions' webhook worker's queue (`service::webhooks`).
    pub webhooks: Arc<crate::service::serial_worker::SerialWorker>,
    /// What keeps the sharing extensions' bookkeeping (project names, last downloads) from
    /// writing on every request.
    pub throttles: Arc<crate::service::throttle::Throttles>,
    /// Projects this process checked for grants recently (`service::grants::project_seen`).
    pub grants: Arc<crate::service::grant_seen::Seen>,
    /// Keystone's answers about projects, kept briefly (`service::project_cache`).
    pub projects: Arc<crate::service::project_cache::ProjectCache>,
}

impl AppState {
    /// The store new data goes to: the named backend `store` in multi-store mode (`None`, or
    /// a name no backend has: the default one).
    pub fn target_store(&self, store: Option<&str>) -> &crate::store::Store {
        store
            .and_then(|id| self.store.named(id))
            .unwrap_or_else(|| self.store.default_store())
    }

    /// Run read-only database work on a pooled connection, on the blocking pool (never on an
    /// async worker thread). No transaction is opened: each statement sees committed data.
    ///
    /// Requests queue for a connection here, first come first served, before they take a
    /// blocking thread: at most one blocking thread per pooled connection is busy with database
    /// work, instead of one per concurrent request all contending on r2d2's condition variable,
    /// where a thread that has just returned a connection can take it straight back.
    pub async fn read<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
    {
        self.on_pool(f).await
    }

    /// Run database work that writes, as one write transaction (`db::write_tx`): an `Err`
    /// from `f` rolls everything back and is returned unchanged. Where the work runs is decided
    /// here and nowhere else, per backend: on SQLite it is queued to the writer thread
    /// (`db::writer`), after the writes queued before it; on PostgreSQL it runs on a pooled
    /// connection like `read`. A new backend adds its arm to this `match`.
    pub async fn write<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
    {
        let tx = move |conn: &mut DbConn| write_tx(conn, f);
        match self.db.backend {
            Backend::Sqlite => self.on_writer(tx).await,
            Backend::Postgres | Backend::Mysql => self.on_pool(tx).await,
        }
    }

    /// Whether the database answers a trivial query within `limit` (the healthcheck).
    pub async fn database_answers(&self, limit: std::time::Duration) -> bool {
        let ping = self.read(|c| {
            crate::db::connection::ping(c).map_err(|e| Error::Unavailable(e.to_string()))
        });
        matches!(tokio::time::timeout(limit, ping).await, Ok(Ok(())))
    }

    async fn on_pool<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
    {
        let db = self.db.clone();
        let permit = tokio::time::timeout(db.gate_timeout, db.gate.clone().acquire_owned())
            .await
            // The pool's own words for the same wait (a 503, as for a database that is down).
            .map_err(|_| Error::Unavailable("timed out waiting for connection".into()))?
            .map_err(|e| Error::internal(format!("database gate closed: {e}")))?;
        // The caller's span (the request's, with its id) follows the work to the blocking thread.
        let span = tracing::Span::current();
        actix_web::web::block(move || {
            let _in_span = span.enter();
            let _permit = permit;
            let mut conn = db.conn()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| Error::internal(format!("database task failed: {e}")))?
    }

    async fn on_writer<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
    {
        let Some(writer) = &self.db.writer else {
            return Err(Error::internal("the database writer was not started"));
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        let queued = writer.submit(Box::new(move |conn: &mut DbConn| {
            let _in_span = span.enter();
            let _ = tx.send(f(conn));
        }));
        if !queued {
            return Err(Error::internal("the database writer has stopped"));
        }
        // A dropped sender means the work panicked (already logged by the panic hook).
        rx.await
            .map_err(|_| Error::internal("database write failed"))?
    }
}
