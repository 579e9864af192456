//! The e-mail outbox. A change that must tell someone queues the message in
//! its own transaction (so a rolled-back change sends nothing, and a saved one
//! is never forgotten); a worker claims due messages with a lease, sends them,
//! and records the outcome. A failed attempt is retried with growing gaps;
//! after the last attempt the message is marked failed, audited, and shown to
//! administrators, who can send it again.

use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::{Actor, ChangeError, audit, params};
use chrono::{Duration, NaiveDateTime};
use serde::Serialize;

/// Attempts before a message is given up as failed.
pub const MAX_ATTEMPTS: i64 = 8;

/// The wait before attempt `n + 1` after `n` failed: 1, 2, 4 … minutes, at most an hour.
pub fn backoff(attempts: i64) -> Duration {
    let minutes = 1i64 << attempts.clamp(1, 7).saturating_sub(1);
    Duration::minutes(minutes.min(60))
}

/// A message to send.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMail {
    /// What it is about, e.g. `referral.sent-for-approval`.
    pub kind: String,
    pub to_address: String,
    pub to_name: String,
    pub subject: String,
    pub body: String,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    /// A file sent with the message (a decision letter), from `mail_attachments`.
    pub attachment_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Mail {
    pub id: i64,
    pub kind: String,
    pub to_address: String,
    pub to_name: String,
    pub subject: String,
    pub body: String,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    /// pending, sending, sent or failed
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub attachment_id: Option<i64>,
}

const COLUMNS: &str = "id, kind, to_address, to_name, subject, body, entity, entity_id, status, attempts, next_attempt_at, last_error, created_at, sent_at, attachment_id";

fn from_row(r: &Row) -> DbResult<Mail> {
    Ok(Mail {
        id: r.get(0)?,
        kind: r.get(1)?,
        to_address: r.get(2)?,
        to_name: r.get(3)?,
        subject: r.get(4)?,
        body: r.get(5)?,
        entity: r.get(6)?,
        entity_id: r.get(7)?,
        status: r.get(8)?,
        attempts: r.get(9)?,
        next_attempt_at: r.get(10)?,
        last_error: r.get(11)?,
        created_at: r.get(12)?,
        sent_at: r.get(13)?,
        attachment_id: r.get(14)?,
    })
}

/// Queues a message in the caller's transaction.
pub fn enqueue(tx: &mut Tx<'_>, m: &NewMail) -> DbResult<i64> {
    let now = db::now();
    tx.query_one(
        "INSERT INTO outbox (kind, to_address, to_name, subject, body, entity, entity_id, status, attempts, next_attempt_at, created_at, attachment_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8, $9) RETURNING id",
        &params![
            &m.kind,
            &m.to_address,
            &m.to_name,
            &m.subject,
            &m.body,
            m.entity.clone(),
            m.entity_id.clone(),
            now,
            m.attachment_id
        ],
    )?
    .get(0)
}

/// Claims up to `limit` messages that are due (or whose claim lapsed) for
/// `worker`, for `lease`. Rows another node holds are skipped, so every
/// message goes to one worker at a time.
pub fn claim(conn: &mut Conn, worker: &str, lease: Duration, limit: i64) -> DbResult<Vec<Mail>> {
    let now = db::now();
    let mut tx = conn.begin()?;
    let lock = tx.backend().skip_locked();
    let ids: Vec<i64> = tx
        .query(
            &format!(
                "SELECT id FROM outbox
                 WHERE (status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND lease_until < $1)
                 ORDER BY id LIMIT $2{lock}"
            ),
            &params![now, limit],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect::<DbResult<_>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        tx.execute(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease_until = $2, claimed_by = $3 WHERE id = $1",
            &params![id, now + lease, worker],
        )?;
        if let Some(r) = tx.query_opt(
            &format!("SELECT {COLUMNS} FROM outbox WHERE id = $1"),
            &params![id],
        )? {
            out.push(from_row(&r)?);
        }
    }
    tx.commit()?;
    Ok(out)
}

/// Records a message as sent (only while `worker` still holds it).
pub fn mark_sent(conn: &mut Conn, id: i64, worker: &str) -> DbResult<bool> {
    let n = conn.execute(
        "UPDATE outbox SET status = 'sent', sent_at = $2, lease_until = NULL, last_error = NULL
         WHERE id = $1 AND status = 'sending' AND claimed_by = $3",
        &params![id, db::now(), worker],
    )?;
    Ok(n == 1)
}

/// Records a failed attempt: retried later with backoff, or, after the last
/// attempt (or a permanent refusal), failed for good and audited.
pub fn mark_failed(
    conn: &mut Conn,
    id: i64,
    worker: &str,
    error: &str,
    permanent: bool,
) -> DbResult<()> {
    let mut tx = conn.begin()?;
    let lock = tx.backend().for_update();
    let Some(r) = tx.query_opt(
        &format!(
            "SELECT attempts, claimed_by FROM outbox WHERE id = $1 AND status = 'sending'{}",
            lock
        ),
        &params![id],
    )?
    else {
        return Ok(());
    };
    let attempts: i64 = r.get(0)?;
    let holder: Option<String> = r.get(1)?;
    if holder.as_deref() != Some(worker) {
        return Ok(());
    }
    let error: String = error.chars().take(1000).collect();
    if permanent || attempts >= MAX_ATTEMPTS {
        tx.execute(
            "UPDATE outbox SET status = 'failed', lease_until = NULL, last_error = $2 WHERE id = $1",
            &params![id, &error],
        )?;
        audit::record(
            &mut tx,
            &Actor::system("outbox"),
            "mail.failed",
            "mail",
            Some(id.to_string()),
            serde_json::json!({"attempts": attempts, "error": error}),
        )?;
    } else {
        tx.execute(
            "UPDATE outbox SET status = 'pending', lease_until = NULL, last_error = $2, next_attempt_at = $3 WHERE id = $1",
            &params![id, &error, db::now() + backoff(attempts)],
        )?;
    }
    tx.commit()
}

/// Sends a failed message again: attempts start afresh. Audited.
pub fn retry(tx: &mut Tx<'_>, actor: &Actor, id: i64) -> Result<(), ChangeError> {
    let n = tx.execute(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $2, last_error = NULL WHERE id = $1 AND status = 'failed'",
        &params![id, db::now()],
    )?;
    if n == 0 {
        return Err(ChangeError::Invalid(
            "Only a message that failed can be sent again".into(),
        ));
    }
    audit::record(
        tx,
        actor,
        "mail.retried",
        "mail",
        Some(id.to_string()),
        serde_json::json!({}),
    )?;
    Ok(())
}

pub fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Mail>> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM outbox WHERE id = $1"),
        &params![id],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// The newest messages, optionally of one status, before id `before` (keyset pages).
pub fn list(
    conn: &mut Conn,
    status: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> DbResult<Vec<Mail>> {
    conn.query(
        &format!(
            "SELECT {COLUMNS} FROM outbox WHERE ($1 = '' OR status = $1) AND id < $2 ORDER BY id DESC LIMIT $3"
        ),
        &params![status.unwrap_or(""), before.unwrap_or(i64::MAX), limit],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// How many messages are in each status.
pub fn counts(conn: &mut Conn) -> DbResult<Vec<(String, i64)>> {
    conn.query(
        "SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status",
        &[],
    )?
    .iter()
    .map(|r| Ok((r.get(0)?, r.get(1)?)))
    .collect()
}

/// Messages about one record, oldest first (shown on that record's page).
pub fn about(conn: &mut Conn, entity: &str, entity_id: &str) -> DbResult<Vec<Mail>> {
    conn.query(
        &format!("SELECT {COLUMNS} FROM outbox WHERE entity = $1 AND entity_id = $2 ORDER BY id"),
        &params![entity, entity_id],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// A file kept to go with e-mails (a decision letter): (name, content type, bytes).
pub fn add_attachment(
    tx: &mut Tx<'_>,
    name: &str,
    content_type: &str,
    content: Vec<u8>,
) -> DbResult<i64> {
    tx.query_one(
        "INSERT INTO mail_attachments (name, content_type, content, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        &params![name, content_type, content, db::now()],
    )?
    .get(0)
}

/// A kept file: (name, content type, bytes).
pub fn attachment(conn: &mut Conn, id: i64) -> DbResult<Option<(String, String, Vec<u8>)>> {
    conn.query_opt(
        "SELECT name, content_type, content FROM mail_attachments WHERE id = $1",
        &params![id],
    )?
    .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::minutes(1));
        assert_eq!(backoff(2), Duration::minutes(2));
        assert_eq!(backoff(4), Duration::minutes(8));
        assert_eq!(backoff(7), Duration::minutes(60));
        assert_eq!(backoff(30), Duration::minutes(60));
    }
}
