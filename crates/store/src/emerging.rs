//! The emerging issues log (seed 002 §3, SPEC §7): what panel members notice
//! across cases — a gap in local provision, a pressure on a service, a
//! pattern of need — raised for a panel, and closed by its chair or the
//! administrator with what was done.

use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::{Actor, ChangeError, audit, params};
use chrono::NaiveDateTime;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    pub id: i64,
    pub panel_id: i64,
    pub panel: String,
    pub title: String,
    pub description: String,
    pub raised_by: String,
    pub raised_at: NaiveDateTime,
    /// open or closed
    pub status: String,
    pub outcome: String,
    pub closed_by: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    pub version: i64,
}

const SELECT: &str = "SELECT e.id, e.panel_id, p.name, e.title, e.description, u.name, e.raised_at, e.status,
    e.outcome, c.name, e.closed_at, e.version FROM emerging_issues e JOIN panels p ON p.id = e.panel_id
    JOIN users u ON u.id = e.raised_by LEFT JOIN users c ON c.id = e.closed_by";

fn from_row(r: &Row) -> DbResult<Issue> {
    Ok(Issue {
        id: r.get(0)?,
        panel_id: r.get(1)?,
        panel: r.get(2)?,
        title: r.get(3)?,
        description: r.get(4)?,
        raised_by: r.get(5)?,
        raised_at: r.get(6)?,
        status: r.get(7)?,
        outcome: r.get(8)?,
        closed_by: r.get(9)?,
        closed_at: r.get(10)?,
        version: r.get(11)?,
    })
}

/// The issues of these panels (None: all), open first, newest first.
pub fn list(conn: &mut Conn, panels: Option<&[i64]>) -> DbResult<Vec<Issue>> {
    let all: Vec<Issue> = conn
        .query(
            &format!("{SELECT} ORDER BY CASE WHEN e.status = 'open' THEN 0 ELSE 1 END, e.raised_at DESC, e.id DESC"),
            &[],
        )?
        .iter()
        .map(from_row)
        .collect::<DbResult<_>>()?;
    Ok(all
        .into_iter()
        .filter(|i| panels.is_none_or(|p| p.contains(&i.panel_id)))
        .collect())
}

pub fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Issue>> {
    conn.query_opt(&format!("{SELECT} WHERE e.id = $1"), &params![id])?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub fn raise(
    tx: &mut Tx<'_>,
    actor: &Actor,
    user_id: i64,
    panel_id: i64,
    title: &str,
    description: &str,
) -> Result<i64, ChangeError> {
    let id: i64 = tx
        .query_one(
            "INSERT INTO emerging_issues (panel_id, title, description, raised_by, raised_at, status)
             VALUES ($1, $2, $3, $4, $5, 'open') RETURNING id",
            &params![panel_id, title, description, user_id, db::now()],
        )?
        .get(0)?;
    audit::record(
        tx,
        actor,
        "emerging-issue.raised",
        "emerging-issue",
        Some(id.to_string()),
        serde_json::json!({"panel_id": panel_id, "title": title}),
    )?;
    Ok(id)
}

pub fn close(
    tx: &mut Tx<'_>,
    actor: &Actor,
    user_id: i64,
    id: i64,
    version: i64,
    outcome: &str,
) -> Result<(), ChangeError> {
    let i = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    if i.version != version {
        return Err(ChangeError::Conflict { current: i.version });
    }
    if i.status != "open" {
        return Err(ChangeError::Invalid("This issue is already closed".into()));
    }
    let n = tx.execute(
        "UPDATE emerging_issues SET status = 'closed', outcome = $1, closed_by = $2, closed_at = $3, version = version + 1
         WHERE id = $4 AND version = $5",
        &params![outcome, user_id, db::now(), id, version],
    )?;
    if n == 0 {
        return Err(ChangeError::Conflict {
            current: version + 1,
        });
    }
    audit::record(
        tx,
        actor,
        "emerging-issue.closed",
        "emerging-issue",
        Some(id.to_string()),
        serde_json::json!({"outcome": outcome}),
    )?;
    Ok(())
}
