//! The audit log (SPEC §9): every change, written in the transaction of the
//! change, each entry chained to the one before by SHA-256, so that an edited,
//! deleted or reordered entry is found by [`verify`].

use crate::db::{self, Conn, DbResult, Tx};
use crate::{Actor, params};
use chrono::NaiveDateTime;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Entry {
    pub seq: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    /// JSON text: what changed (no passwords, no secrets).
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of an entry: SHA-256 over its fields, each length-prefixed, and the previous hash.
pub fn entry_hash(e: &Entry) -> String {
    let mut h = Sha256::new();
    let at = e.at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    let actor_id = e.actor_id.map(|i| i.to_string()).unwrap_or_default();
    let fields: [&str; 9] = [
        &e.prev_hash,
        &e.seq.to_string(),
        &at,
        &actor_id,
        &e.actor,
        &e.action,
        &e.entity,
        e.entity_id.as_deref().unwrap_or("\u{0}"),
        &e.details,
    ];
    for f in fields {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Appends an entry to the chain, inside the caller's transaction.
pub fn record(
    tx: &mut Tx<'_>,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: Option<String>,
    details: serde_json::Value,
) -> DbResult<i64> {
    let lock = tx.backend().for_update();
    let head = tx.query_one(
        &format!("SELECT seq, hash FROM audit_head WHERE id = 1{lock}"),
        &[],
    )?;
    let mut e = Entry {
        seq: head.get::<i64>(0)? + 1,
        at: db::now(),
        actor_id: actor.user_id,
        actor: actor.label.clone(),
        action: action.to_owned(),
        entity: entity.to_owned(),
        entity_id,
        details: details.to_string(),
        prev_hash: head.get(1)?,
        hash: String::new(),
    };
    e.hash = entry_hash(&e);
    tx.execute(
        "INSERT INTO audit_log (seq, at, actor_id, actor, action, entity, entity_id, details, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &params![e.seq, e.at, e.actor_id, &e.actor, &e.action, &e.entity, e.entity_id.clone(), &e.details, &e.prev_hash, &e.hash],
    )?;
    tx.execute(
        "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
        &params![e.seq, &e.hash],
    )?;
    Ok(e.seq)
}

const COLUMNS: &str =
    "seq, at, actor_id, actor, action, entity, entity_id, details, prev_hash, hash";

fn entry(r: &db::Row) -> DbResult<Entry> {
    Ok(Entry {
        seq: r.get(0)?,
        at: r.get(1)?,
        actor_id: r.get(2)?,
        actor: r.get(3)?,
        action: r.get(4)?,
        entity: r.get(5)?,
        entity_id: r.get(6)?,
        details: r.get(7)?,
        prev_hash: r.get(8)?,
        hash: r.get(9)?,
    })
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Verdict {
    Intact { entries: i64 },
    Broken { seq: i64, problem: String },
}

/// Walks the whole chain in order. Names the first entry that was edited,
/// deleted, inserted or moved.
pub fn verify(conn: &mut Conn) -> DbResult<Verdict> {
    let mut expected_seq = 1_i64;
    let mut prev = GENESIS.to_owned();
    let mut after = 0_i64;
    loop {
        let rows = conn.query(
            &format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 5000"),
            &params![after],
        )?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let e = entry(r)?;
            after = e.seq;
            if e.seq != expected_seq {
                return Ok(Verdict::Broken {
                    seq: expected_seq,
                    problem: format!(
                        "entry {expected_seq} is missing (deleted); the next entry present is {}",
                        e.seq
                    ),
                });
            }
            if e.prev_hash != prev {
                return Ok(Verdict::Broken {
                    seq: e.seq,
                    problem: format!(
                        "entry {} does not follow entry {} (the chain was reordered or rewritten)",
                        e.seq,
                        e.seq - 1
                    ),
                });
            }
            if entry_hash(&e) != e.hash {
                return Ok(Verdict::Broken {
                    seq: e.seq,
                    problem: format!(
                        "entry {} was edited: its contents do not match its hash",
                        e.seq
                    ),
                });
            }
            prev = e.hash;
            expected_seq += 1;
        }
    }
    let head = conn.query_one("SELECT seq, hash FROM audit_head WHERE id = 1", &[])?;
    let (head_seq, head_hash): (i64, String) = (head.get(0)?, head.get(1)?);
    let last = expected_seq - 1;
    if head_seq != last || head_hash != prev {
        return Ok(Verdict::Broken {
            seq: last + 1,
            problem: format!(
                "the log ends at entry {last} but {head_seq} entries were written: entries after {last} were deleted"
            ),
        });
    }
    Ok(Verdict::Intact { entries: last })
}

/// Filters for the auditor's page.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// Keyset: entries before this sequence number (newest first).
    pub before: Option<i64>,
}

/// Newest first, `limit` entries, matching every filter given.
pub fn list(conn: &mut Conn, f: &Filter, limit: i64) -> DbResult<Vec<Entry>> {
    let mut sql = format!("SELECT {COLUMNS} FROM audit_log WHERE 1 = 1");
    let mut p = Vec::new();
    let mut add = |clause: &str, v: db::Value, sql: &mut String| {
        p.push(v);
        sql.push_str(&clause.replace('?', &format!("${}", p.len())));
    };
    if let Some(a) = &f.actor {
        add(
            " AND LOWER(actor) LIKE ?",
            format!("%{}%", a.to_lowercase()).into(),
            &mut sql,
        );
    }
    if let Some(a) = &f.action {
        add(" AND action = ?", a.into(), &mut sql);
    }
    if let Some(a) = &f.entity {
        add(" AND entity = ?", a.into(), &mut sql);
    }
    if let Some(a) = &f.entity_id {
        add(" AND entity_id = ?", a.into(), &mut sql);
    }
    if let Some(t) = f.from {
        add(" AND at >= ?", t.into(), &mut sql);
    }
    if let Some(t) = f.to {
        add(" AND at < ?", t.into(), &mut sql);
    }
    if let Some(b) = f.before {
        add(" AND seq < ?", b.into(), &mut sql);
    }
    add(" ORDER BY seq DESC LIMIT ?", limit.into(), &mut sql);
    conn.query(&sql, &p)?.iter().map(entry).collect()
}

/// The distinct actions and entities present, for the filter's select boxes.
pub fn vocabulary(conn: &mut Conn) -> DbResult<(Vec<String>, Vec<String>)> {
    let actions = conn.query("SELECT DISTINCT action FROM audit_log ORDER BY action", &[])?;
    let entities = conn.query("SELECT DISTINCT entity FROM audit_log ORDER BY entity", &[])?;
    Ok((
        actions.iter().map(|r| r.get(0)).collect::<DbResult<_>>()?,
        entities.iter().map(|r| r.get(0)).collect::<DbResult<_>>()?,
    ))
}
