//! Server-side sessions (issue 3): the browser holds a random token; the
//! database holds its SHA-256, the user, a CSRF token and two times.

use crate::accounts::{self, User, new_secret, sha256_hex};
use crate::db::{self, Conn, DbResult, Tx};
use crate::params;
use chrono::NaiveDateTime;
use jp_domain::session::{SessionLimits, SessionState};

#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub enum Lookup {
    Live(Box<Session>),
    /// The session existed but timed out; it has been removed.
    Expired,
    Unknown,
}

/// Starts a new session (a new id at every sign-in); returns the cookie token.
pub fn create(tx: &mut Tx<'_>, user_id: i64) -> DbResult<String> {
    let (token, hash) = new_secret("");
    let (csrf, _) = new_secret("");
    let now = db::now();
    tx.execute(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $4)",
        &params![hash, user_id, csrf, now],
    )?;
    Ok(token)
}

/// Finds the session for a cookie token, ends it if it timed out, and marks it seen.
pub fn load(
    conn: &mut Conn,
    token: &str,
    limits: &SessionLimits,
    now: NaiveDateTime,
) -> DbResult<Lookup> {
    let hash = sha256_hex(token);
    // The session, its user and their roles in one query (one round trip
    // on every request).
    let cols = accounts::user_and_roles_columns(conn.backend());
    let row = conn.query_opt(
        &format!(
            "SELECT s.csrf_token, s.created_at, s.last_seen_at, {cols} FROM sessions s
             JOIN users u ON u.id = s.user_id LEFT JOIN agencies a ON a.id = u.agency_id
             WHERE s.id_hash = $1 AND u.active = TRUE"
        ),
        &params![&hash],
    )?;
    let Some(row) = row else {
        return Ok(Lookup::Unknown);
    };
    let (csrf_token, created_at, last_seen): (String, NaiveDateTime, NaiveDateTime) =
        (row.get(0)?, row.get(1)?, row.get(2)?);
    let user = accounts::user_and_roles_from(&row, 3)?;
    if limits.state(created_at, last_seen, now) != SessionState::Live {
        conn.execute("DELETE FROM sessions WHERE id_hash = $1", &params![&hash])?;
        return Ok(Lookup::Expired);
    }
    // Writing on every request would serialise readers on SQLite; a minute's precision is enough.
    if now - last_seen > chrono::Duration::seconds(60) {
        conn.execute(
            "UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2",
            &params![now, &hash],
        )?;
    }
    Ok(Lookup::Live(Box::new(Session {
        user,
        csrf_token,
        created_at,
    })))
}

pub fn end(tx: &mut Tx<'_>, token: &str) -> DbResult<()> {
    tx.execute(
        "DELETE FROM sessions WHERE id_hash = $1",
        &params![sha256_hex(token)],
    )?;
    Ok(())
}

/// For tests of the timeouts: moves a session's clock back.
pub fn backdate(
    conn: &mut Conn,
    token: &str,
    created_at: NaiveDateTime,
    last_seen_at: NaiveDateTime,
) -> DbResult<u64> {
    conn.execute(
        "UPDATE sessions SET created_at = $1, last_seen_at = $2 WHERE id_hash = $3",
        &params![created_at, last_seen_at, sha256_hex(token)],
    )
}

/// Removes sessions that can no longer be used.
pub fn sweep(conn: &mut Conn, limits: &SessionLimits, now: NaiveDateTime) -> DbResult<u64> {
    conn.execute(
        "DELETE FROM sessions WHERE created_at < $1 OR last_seen_at < $2",
        &params![now - limits.absolute, now - limits.idle],
    )
}
