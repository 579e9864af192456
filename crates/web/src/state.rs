//! What every handler can reach: the store and the web configuration.

use crate::error::AppError;
use jp_domain::session::{LockoutPolicy, SessionLimits};
use jp_store::Store;
use jp_store::db::Conn;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark cookies `Secure` (served over TLS, directly or behind a proxy).
    pub secure_cookies: bool,
    pub lockout: LockoutPolicy,
    pub session: SessionLimits,
    /// Largest form or JSON body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Where files live (attachments under `attachments/`).
    pub data_dir: std::path::PathBuf,
    /// Upload limits for evidence files.
    pub attachments: jp_store::attachments::Limits,
    /// The address people use to reach the service, for links in e-mails.
    pub base_url: String,
    /// Whether an SMTP server is configured (the outbox page says when not).
    pub smtp_configured: bool,
    /// Where attachment files live (the data directory, or an S3-compatible bucket).
    pub files: crate::files::FileStore,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            secure_cookies: false,
            lockout: LockoutPolicy::default(),
            session: SessionLimits::default(),
            max_body_bytes: 1024 * 1024,
            data_dir: std::env::temp_dir().join("jointpanel-data"),
            attachments: jp_store::attachments::Limits::default(),
            base_url: "http://127.0.0.1:8080".to_owned(),
            smtp_configured: false,
            files: crate::files::FileStore::Local,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<WebConfig>,
    /// Long jobs running in this process (imports): id → (done, total). An
    /// import holds its transaction to the end, so its progress cannot be
    /// written to the database as it goes.
    progress: Arc<std::sync::Mutex<std::collections::HashMap<i64, (u64, u64)>>>,
}

impl AppState {
    pub fn new(store: Store, config: WebConfig) -> AppState {
        AppState {
            store,
            config: Arc::new(config),
            progress: Arc::default(),
        }
    }

    pub fn set_progress(&self, id: i64, done: u64, total: u64) {
        if let Ok(mut m) = self.progress.lock() {
            m.insert(id, (done, total));
        }
    }

    pub fn clear_progress(&self, id: i64) {
        if let Ok(mut m) = self.progress.lock() {
            m.remove(&id);
        }
    }

    /// How far a job running in this process has got.
    pub fn progress(&self, id: i64) -> Option<(u64, u64)> {
        self.progress.lock().ok().and_then(|m| m.get(&id).copied())
    }

    /// Runs blocking database work without holding up the async threads.
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, AppError> + Send + 'static,
    {
        let store = self.store.clone();
        let work = move || {
            let mut conn = store.conn()?;
            f(&mut conn)
        };
        // A request's database work is short: on the service's multi-thread
        // runtime it runs on the request's own worker (tokio moves the
        // worker's other tasks elsewhere meanwhile) instead of being handed
        // to the blocking pool and back, two thread switches per call.
        if tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::MultiThread
        {
            // A panic answers 500, as the blocking pool's would.
            return tokio::task::block_in_place(|| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(
                    |_| Err(AppError::Internal("database task failed: it panicked".into())),
                )
            });
        }
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AppError::Internal(format!("database task failed: {e}")))?
    }

    /// Records an event on its own, in its own transaction: a refused upload,
    /// a refused self-approval — security events that change nothing else.
    pub async fn record_event(
        &self,
        actor: jp_store::Actor,
        action: &'static str,
        entity: &'static str,
        entity_id: String,
        details: serde_json::Value,
    ) -> Result<(), AppError> {
        self.db(move |c| {
            let mut tx = c.begin()?;
            jp_store::audit::record(&mut tx, &actor, action, entity, Some(entity_id), details)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }
}
