#![forbid(unsafe_code)]
//! Joint Panel's database: one query layer over SQLite and PostgreSQL
//! (see `db`), the migrations of both, the audit chain and the records.
//! Every function that changes a record takes a [`db::Tx`] and writes its
//! audit row through [`audit::record`] in that same transaction.

pub mod accounts;
pub mod actions;
pub mod agenda;
pub mod agreements;
pub mod attachments;
pub mod audit;
pub mod calendar;
pub mod children;
pub mod copy;
pub mod dashboards;
pub mod db;
pub mod decisions;
pub mod demo;
pub mod demo_casework;
pub mod emerging;
pub mod feeds;
pub mod finance;
pub mod history;
pub mod import;
pub mod meeting_run;
pub mod meetings;
pub mod migrate;
pub mod outbox;
pub mod packs;
pub mod reference;
pub mod referrals;
pub mod reviews;
pub mod sessions;
pub mod testing;
pub mod tracker;
pub mod transitions;

use db::{Backend, Conn, DbError, DbResult, PgManager, SqliteManager};
use std::path::{Path, PathBuf};

/// Who is making a change: written into every audit row.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub label: String,
}

impl Actor {
    pub fn user(id: i64, label: impl Into<String>) -> Actor {
        Actor {
            user_id: Some(id),
            label: label.into(),
        }
    }
    pub fn system(label: impl Into<String>) -> Actor {
        Actor {
            user_id: None,
            label: label.into(),
        }
    }
}

/// Why a change to an existing record could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("not found")]
    NotFound,
    /// Someone else saved the record since it was read (optimistic locking).
    #[error("the record was changed by someone else (now version {current})")]
    Conflict { current: i64 },
    /// A value that must be unique is taken.
    #[error("{0}")]
    Duplicate(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The database a Joint Panel installation uses.
#[derive(Clone)]
pub enum Pool {
    Sqlite(r2d2::Pool<SqliteManager>),
    Postgres(r2d2::Pool<PgManager>),
}

#[derive(Clone)]
pub struct Store {
    pool: Pool,
    url_for_display: String,
    /// SQLite: kept while any copy of the store lives; the background
    /// checkpoint thread stops when the last copy goes.
    _checkpoints: Option<std::sync::Arc<()>>,
}

impl Store {
    /// Opens `sqlite://PATH` or `postgres://…`. Creates the SQLite file's folder.
    pub fn open(url: &str) -> DbResult<Store> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = PathBuf::from(path);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| DbError::Other(format!("cannot create {}: {e}", dir.display())))?;
            }
            // Switch the file to WAL once, before the pool opens its connections
            // together (switching needs the file to itself; it persists).
            {
                let manager = SqliteManager { path: path.clone() };
                r2d2::ManageConnection::connect(&manager)?;
            }
            // A local file's connection cannot drop: no test query on checkout.
            let pool = r2d2::Pool::builder()
                .max_size(8)
                .test_on_check_out(false)
                .build(SqliteManager { path: path.clone() })?;
            Ok(Store {
                pool: Pool::Sqlite(pool),
                url_for_display: format!("sqlite://{}", path.display()),
                _checkpoints: Some(db::checkpoint_in_background(path)),
            })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let config: postgres::Config = url.parse()?;
            // A broken connection is found by `has_broken` when it is given
            // back; no test query on every checkout (a round trip each time).
            let pool = r2d2::Pool::builder()
                .max_size(10)
                .test_on_check_out(false)
                .connection_timeout(std::time::Duration::from_secs(10))
                .build(PgManager { config })?;
            Ok(Store {
                pool: Pool::Postgres(pool),
                url_for_display: redact(url),
                _checkpoints: None,
            })
        } else {
            Err(DbError::Other(format!(
                "database URL must start with sqlite:// or postgres:// (got {})",
                redact(url)
            )))
        }
    }

    pub fn sqlite_file(path: &Path) -> DbResult<Store> {
        Store::open(&format!("sqlite://{}", path.display()))
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL without any password, for logs and the start-up message.
    pub fn display_url(&self) -> &str {
        &self.url_for_display
    }

    pub fn conn(&self) -> DbResult<Conn> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Conn::Sqlite(p.get()?),
            Pool::Postgres(p) => Conn::Postgres(p.get()?),
        })
    }
}

/// Hides the password in `postgres://user:password@host/db`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_in_urls_are_hidden() {
        assert_eq!(
            super::redact("postgres://jp:s3cret@db/jp"),
            "postgres://jp:***@db/jp"
        );
        assert_eq!(
            super::redact("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
    }
}
