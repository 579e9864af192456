//! Fresh databases for tests: a SQLite file in a temporary folder, or a new
//! PostgreSQL database on `JOINTPANEL_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped afterwards.
//! Under `CI=true` an unreachable PostgreSQL is a failure, never a skip.

use crate::{Store, migrate};
use rand::RngCore;
use std::path::PathBuf;

pub const DEFAULT_PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that exists for one test and is removed when dropped.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    PgDatabase { admin_url: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(d) => {
                let _ = std::fs::remove_dir_all(d);
            }
            Cleanup::PgDatabase { admin_url, name } => {
                if let Ok(mut c) = postgres::Client::connect(admin_url, postgres::NoTls) {
                    let _ =
                        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

fn random_suffix() -> String {
    let mut b = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A migrated SQLite database in its own temporary folder.
pub fn sqlite() -> TestDb {
    let dir = std::env::temp_dir().join(format!("jp-test-{}", random_suffix()));
    std::fs::create_dir_all(&dir).expect("temporary folder");
    let url = format!("sqlite://{}", dir.join("jointpanel.sqlite3").display());
    let store = Store::open(&url).expect("open sqlite");
    migrate::run(&mut store.conn().expect("conn")).expect("migrate sqlite");
    TestDb {
        store,
        url,
        cleanup: Cleanup::Dir(dir),
    }
}

/// A migrated fresh PostgreSQL database, or `None` (with the reason printed)
/// when PostgreSQL cannot be reached outside CI.
pub fn postgres() -> Option<TestDb> {
    let admin_url = std::env::var("JOINTPANEL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| DEFAULT_PG_ADMIN_URL.to_owned());
    let mut admin = match postgres::Client::connect(&admin_url, postgres::NoTls) {
        Ok(c) => c,
        Err(e) => {
            assert!(
                !in_ci(),
                "CI=true but PostgreSQL is unreachable at {}: {e}",
                crate::redact(&admin_url)
            );
            eprintln!(
                "SKIPPED (PostgreSQL unreachable at {}: {e})",
                crate::redact(&admin_url)
            );
            return None;
        }
    };
    let name = format!("jp_test_{}", random_suffix());
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create test database");
    let url = match admin_url.rfind('/') {
        Some(i) if admin_url[..i].contains("://") && i > admin_url.find("://").unwrap_or(0) + 2 => {
            format!("{}/{name}", &admin_url[..i])
        }
        _ => format!("{admin_url}/{name}"),
    };
    let store = Store::open(&url).expect("open postgres");
    migrate::run(&mut store.conn().expect("conn")).expect("migrate postgres");
    Some(TestDb {
        store,
        url,
        cleanup: Cleanup::PgDatabase { admin_url, name },
    })
}

/// Runs a test body once on SQLite and once on PostgreSQL (when reachable).
#[macro_export]
macro_rules! on_both_backends {
    ($(#[$m:meta])* fn $name:ident($db:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            fn body($db: &$crate::testing::TestDb) $body
            #[test]
            fn sqlite() {
                body(&$crate::testing::sqlite());
            }
            #[test]
            fn postgres() {
                if let Some(db) = $crate::testing::postgres() {
                    body(&db);
                }
            }
        }
    };
}
