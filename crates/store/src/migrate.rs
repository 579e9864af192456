//! Migrations: numbered SQL documents per backend, applied once, in order,
//! each in its own transaction. On PostgreSQL an advisory lock makes several
//! nodes starting together apply them once.

use crate::db::{Backend, Conn, DbResult};
use crate::params;

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 4,
        name: "referrals",
        sqlite: include_str!("../migrations/sqlite/0004_referrals.sql"),
        postgres: include_str!("../migrations/postgres/0004_referrals.sql"),
    },
    Migration {
        version: 5,
        name: "calendar",
        sqlite: include_str!("../migrations/sqlite/0005_calendar.sql"),
        postgres: include_str!("../migrations/postgres/0005_calendar.sql"),
    },
    Migration {
        version: 6,
        name: "outbox",
        sqlite: include_str!("../migrations/sqlite/0006_outbox.sql"),
        postgres: include_str!("../migrations/postgres/0006_outbox.sql"),
    },
    Migration {
        version: 7,
        name: "meeting details",
        sqlite: include_str!("../migrations/sqlite/0007_meeting_details.sql"),
        postgres: include_str!("../migrations/postgres/0007_meeting_details.sql"),
    },
    Migration {
        version: 8,
        name: "calendar feeds",
        sqlite: include_str!("../migrations/sqlite/0008_calendar_feeds.sql"),
        postgres: include_str!("../migrations/postgres/0008_calendar_feeds.sql"),
    },
    Migration {
        version: 9,
        name: "agenda",
        sqlite: include_str!("../migrations/sqlite/0009_agenda.sql"),
        postgres: include_str!("../migrations/postgres/0009_agenda.sql"),
    },
    Migration {
        version: 10,
        name: "meeting run",
        sqlite: include_str!("../migrations/sqlite/0010_meeting_run.sql"),
        postgres: include_str!("../migrations/postgres/0010_meeting_run.sql"),
    },
    Migration {
        version: 11,
        name: "paper packs",
        sqlite: include_str!("../migrations/sqlite/0011_packs.sql"),
        postgres: include_str!("../migrations/postgres/0011_packs.sql"),
    },
    Migration {
        version: 12,
        name: "decisions and agreements",
        sqlite: include_str!("../migrations/sqlite/0012_decisions.sql"),
        postgres: include_str!("../migrations/postgres/0012_decisions.sql"),
    },
    Migration {
        version: 13,
        name: "committed costs",
        sqlite: include_str!("../migrations/sqlite/0013_finance.sql"),
        postgres: include_str!("../migrations/postgres/0013_finance.sql"),
    },
    Migration {
        version: 14,
        name: "tracker",
        sqlite: include_str!("../migrations/sqlite/0014_tracker.sql"),
        postgres: include_str!("../migrations/postgres/0014_tracker.sql"),
    },
    Migration {
        version: 15,
        name: "budgets and spend",
        sqlite: include_str!("../migrations/sqlite/0015_budgets.sql"),
        postgres: include_str!("../migrations/postgres/0015_budgets.sql"),
    },
    Migration {
        version: 16,
        name: "adult services",
        sqlite: include_str!("../migrations/sqlite/0016_adult_services.sql"),
        postgres: include_str!("../migrations/postgres/0016_adult_services.sql"),
    },
    Migration {
        version: 17,
        name: "emerging issues",
        sqlite: include_str!("../migrations/sqlite/0017_emerging_issues.sql"),
        postgres: include_str!("../migrations/postgres/0017_emerging_issues.sql"),
    },
    Migration {
        version: 18,
        name: "imports",
        sqlite: include_str!("../migrations/sqlite/0018_imports.sql"),
        postgres: include_str!("../migrations/postgres/0018_imports.sql"),
    },
    Migration {
        version: 19,
        name: "finance months",
        sqlite: include_str!("../migrations/sqlite/0019_finance_months.sql"),
        postgres: include_str!("../migrations/postgres/0019_finance_months.sql"),
    },
    Migration {
        version: 20,
        name: "tracker costs index",
        sqlite: include_str!("../migrations/sqlite/0020_tracker_costs_index.sql"),
        postgres: include_str!("../migrations/postgres/0020_tracker_costs_index.sql"),
    },
];

const PG_LOCK_KEY: i64 = 0x4a50_4d49_4752; // "JPMIGR"

/// Applies what is missing; returns the versions applied now.
pub fn run(conn: &mut Conn) -> DbResult<Vec<i64>> {
    conn.batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )?;
    if conn.backend() == Backend::Postgres {
        conn.execute("SELECT pg_advisory_lock($1)", &params![PG_LOCK_KEY])?;
    }
    let result = apply_missing(conn);
    if conn.backend() == Backend::Postgres {
        conn.execute("SELECT pg_advisory_unlock($1)", &params![PG_LOCK_KEY])?;
    }
    result
}

fn apply_missing(conn: &mut Conn) -> DbResult<Vec<i64>> {
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        let done = conn
            .query_opt(
                "SELECT version FROM schema_migrations WHERE version = $1",
                &params![m.version],
            )?
            .is_some();
        if done {
            continue;
        }
        let sql = match conn.backend() {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        let mut tx = conn.begin()?;
        tx.batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &params![
                m.version,
                m.name,
                crate::db::now().format("%Y-%m-%d %H:%M:%S").to_string()
            ],
        )?;
        tx.commit()?;
        tracing::info!(version = m.version, name = m.name, "migration applied");
        applied.push(m.version);
    }
    Ok(applied)
}

/// The versions present in the database.
pub fn applied(conn: &mut Conn) -> DbResult<Vec<i64>> {
    conn.query(
        "SELECT version FROM schema_migrations ORDER BY version",
        &[],
    )?
    .iter()
    .map(|r| r.get(0))
    .collect()
}

pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}
