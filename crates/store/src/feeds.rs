//! Each person's iCalendar feed: one secret address at a time, stored hashed,
//! revocable (a new address revokes the old one). Creating and revoking are audited.

use crate::accounts::{self, User, new_secret, sha256_hex};
use crate::db::{self, Conn, DbResult, Tx};
use crate::{Actor, ChangeError, audit, params};
use chrono::NaiveDateTime;

/// What a feed address finds.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Active(User),
    /// The address existed but was revoked (or its person can no longer sign in).
    Revoked,
    Unknown,
}

/// Issues a new feed address for `user_id`, revoking any earlier one. The token
/// is returned once; only its hash is kept.
pub fn create(tx: &mut Tx<'_>, actor: &Actor, user_id: i64) -> Result<String, ChangeError> {
    let now = db::now();
    let revoked = tx.execute(
        "UPDATE calendar_feeds SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        &params![now, user_id],
    )?;
    let (token, hash) = new_secret("jpcal_");
    tx.execute(
        "INSERT INTO calendar_feeds (user_id, token_hash, created_at) VALUES ($1, $2, $3)",
        &params![user_id, hash, now],
    )?;
    audit::record(
        tx,
        actor,
        "calendar-feed.created",
        "user",
        Some(user_id.to_string()),
        serde_json::json!({"revoked_earlier": revoked}),
    )?;
    Ok(token)
}

/// Revokes the person's feed address.
pub fn revoke(tx: &mut Tx<'_>, actor: &Actor, user_id: i64) -> Result<(), ChangeError> {
    let n = tx.execute(
        "UPDATE calendar_feeds SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        &params![db::now(), user_id],
    )?;
    if n == 0 {
        return Err(ChangeError::Invalid(
            "You have no calendar feed to revoke".into(),
        ));
    }
    audit::record(
        tx,
        actor,
        "calendar-feed.revoked",
        "user",
        Some(user_id.to_string()),
        serde_json::json!({}),
    )?;
    Ok(())
}

/// When the person's active feed was created and last read, if they have one.
pub fn active(
    conn: &mut Conn,
    user_id: i64,
) -> DbResult<Option<(NaiveDateTime, Option<NaiveDateTime>)>> {
    conn.query_opt(
        "SELECT created_at, last_used_at FROM calendar_feeds WHERE user_id = $1 AND revoked_at IS NULL",
        &params![user_id],
    )?
    .map(|r| Ok((r.get(0)?, r.get(1)?)))
    .transpose()
}

/// Finds the person a feed address belongs to, noting the read.
pub fn lookup(conn: &mut Conn, token: &str) -> DbResult<Lookup> {
    let hash = sha256_hex(token);
    let Some(r) = conn.query_opt(
        "SELECT id, user_id, revoked_at FROM calendar_feeds WHERE token_hash = $1",
        &params![hash],
    )?
    else {
        return Ok(Lookup::Unknown);
    };
    let (id, user_id, revoked): (i64, i64, Option<NaiveDateTime>) =
        (r.get(0)?, r.get(1)?, r.get(2)?);
    if revoked.is_some() {
        return Ok(Lookup::Revoked);
    }
    match accounts::get(conn, user_id)? {
        Some(u) if u.active => {
            conn.execute(
                "UPDATE calendar_feeds SET last_used_at = $1 WHERE id = $2",
                &params![db::now(), id],
            )?;
            Ok(Lookup::Active(u))
        }
        _ => Ok(Lookup::Revoked),
    }
}
