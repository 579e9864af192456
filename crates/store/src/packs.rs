//! Paper packs (SPEC §4, seed 000 §3.3): queued when the papers are
//! circulated, built by a background worker that records its progress, and
//! copied to each member and deputy invited. A copy is readable until the
//! meeting closes; the chair's and each item's lead member's copies are kept
//! as the record.

use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::{Actor, ChangeError, audit, params};
use chrono::{Duration, NaiveDate, NaiveDateTime};

#[derive(Debug, Clone, PartialEq)]
pub struct Pack {
    pub id: i64,
    pub meeting_id: i64,
    /// "queued", "building", "ready" or "failed"
    pub status: String,
    pub done: i64,
    pub total: i64,
    pub pages: i64,
    pub sha256: Option<String>,
    pub error: String,
    pub circulated_on: NaiveDate,
    pub requested_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

const COLUMNS: &str = "id, meeting_id, status, done, total, pages, sha256, error, circulated_on, requested_at, finished_at";

fn from_row(r: &Row) -> DbResult<Pack> {
    Ok(Pack {
        id: r.get(0)?,
        meeting_id: r.get(1)?,
        status: r.get(2)?,
        done: r.get(3)?,
        total: r.get(4)?,
        pages: r.get(5)?,
        sha256: r.get(6)?,
        error: r.get(7)?,
        circulated_on: r.get(8)?,
        requested_at: r.get(9)?,
        finished_at: r.get(10)?,
    })
}

pub fn of_meeting(conn: &mut Conn, meeting_id: i64) -> DbResult<Option<Pack>> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM packs WHERE meeting_id = $1"),
        &params![meeting_id],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Queues the meeting's pack with a copy for each of `recipients` (user id,
/// kept as the record). Done in the circulation's transaction. A pack that
/// failed is queued again.
pub fn queue(
    tx: &mut Tx<'_>,
    actor: &Actor,
    meeting_id: i64,
    recipients: &[(i64, bool)],
    today: NaiveDate,
) -> Result<i64, ChangeError> {
    let id: i64 = match of_meeting(tx, meeting_id)? {
        Some(p) if p.status == "failed" => {
            tx.execute(
                "UPDATE packs SET status = 'queued', done = 0, error = '', lease_until = NULL, worker = NULL WHERE id = $1",
                &params![p.id],
            )?;
            p.id
        }
        Some(_) => {
            return Err(ChangeError::Invalid(
                "The papers for this meeting have already been circulated".into(),
            ));
        }
        None => tx
            .query_one(
                "INSERT INTO packs (meeting_id, status, circulated_on, requested_by, requested_at) VALUES ($1, 'queued', $2, $3, $4) RETURNING id",
                &params![meeting_id, today, actor.user_id, db::now()],
            )?
            .get(0)?,
    };
    tx.execute("DELETE FROM pack_copies WHERE pack_id = $1", &params![id])?;
    for (user, kept) in recipients {
        tx.execute(
            "INSERT INTO pack_copies (pack_id, user_id, kept) VALUES ($1, $2, $3)",
            &params![id, *user, *kept],
        )?;
    }
    audit::record(
        tx,
        actor,
        "pack.queued",
        "meeting",
        Some(meeting_id.to_string()),
        serde_json::json!({"pack": id, "copies": recipients.len()}),
    )?;
    Ok(id)
}

/// Takes one queued pack (or one whose builder stopped) for `worker`.
pub fn claim(conn: &mut Conn, worker: &str, lease: Duration) -> DbResult<Option<Pack>> {
    let now = db::now();
    let mut tx = conn.begin()?;
    let lock = tx.backend().skip_locked();
    let id: Option<i64> = tx
        .query_opt(
            &format!(
                "SELECT id FROM packs WHERE status = 'queued' OR (status = 'building' AND lease_until < $1)
                 ORDER BY id LIMIT 1{lock}"
            ),
            &params![now],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    let Some(id) = id else {
        return Ok(None);
    };
    tx.execute(
        "UPDATE packs SET status = 'building', worker = $2, lease_until = $3, done = 0 WHERE id = $1",
        &params![id, worker, now + lease],
    )?;
    let p = tx
        .query_opt(
            &format!("SELECT {COLUMNS} FROM packs WHERE id = $1"),
            &params![id],
        )?
        .as_ref()
        .map(from_row)
        .transpose()?;
    tx.commit()?;
    Ok(p)
}

/// Records how far the build has got.
pub fn progress(conn: &mut Conn, id: i64, done: i64, total: i64) -> DbResult<()> {
    conn.execute(
        "UPDATE packs SET done = $2, total = $3 WHERE id = $1",
        &params![id, done, total],
    )?;
    Ok(())
}

/// The pack is built: its file and page count. Audited.
pub fn finish(tx: &mut Tx<'_>, id: i64, meeting_id: i64, sha256: &str, pages: i64) -> DbResult<()> {
    tx.execute(
        "UPDATE packs SET status = 'ready', sha256 = $2, pages = $3, done = total, finished_at = $4, lease_until = NULL WHERE id = $1",
        &params![id, sha256, pages, db::now()],
    )?;
    audit::record(
        tx,
        &Actor::system("paper pack builder"),
        "pack.built",
        "meeting",
        Some(meeting_id.to_string()),
        serde_json::json!({"pack": id, "pages": pages, "sha256": sha256}),
    )?;
    Ok(())
}

/// The build failed; the administrator sees why and can circulate again.
pub fn fail(conn: &mut Conn, id: i64, error: &str) -> DbResult<()> {
    conn.execute(
        "UPDATE packs SET status = 'failed', error = $2, lease_until = NULL WHERE id = $1",
        &params![id, error],
    )?;
    Ok(())
}

/// The recipients of a pack: (user id, name, e-mail, kept).
pub fn copies(conn: &mut Conn, pack_id: i64) -> DbResult<Vec<(i64, String, String, bool)>> {
    conn.query(
        "SELECT c.user_id, u.name, u.email, c.kept FROM pack_copies c JOIN users u ON u.id = c.user_id
         WHERE c.pack_id = $1 ORDER BY LOWER(u.name)",
        &params![pack_id],
    )?
    .iter()
    .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
    .collect()
}

/// Whether `user_id` has a copy of the pack, and whether it is kept.
pub fn copy_of(conn: &mut Conn, pack_id: i64, user_id: i64) -> DbResult<Option<bool>> {
    conn.query_opt(
        "SELECT kept FROM pack_copies WHERE pack_id = $1 AND user_id = $2",
        &params![pack_id, user_id],
    )?
    .map(|r| r.get(0))
    .transpose()
}
