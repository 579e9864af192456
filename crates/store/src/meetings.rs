//! Meetings as dates to book referrals onto (SPEC §4). The scheduled dates
//! come from each panel's cadence; the meetings feature adds the rest.

use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::reference::panels::Panel;
use crate::{Actor, audit, params};
use chrono::{Datelike, NaiveDate};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Meeting {
    pub id: i64,
    pub panel_id: i64,
    pub date: NaiveDate,
    pub kind: String,
    pub status: String,
}

const COLUMNS: &str = "id, panel_id, meeting_date, kind, status";

fn from_row(r: &Row) -> DbResult<Meeting> {
    Ok(Meeting {
        id: r.get(0)?,
        panel_id: r.get(1)?,
        date: r.get(2)?,
        kind: r.get(3)?,
        status: r.get(4)?,
    })
}

pub fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Meeting>> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM meetings WHERE id = $1"),
        &params![id],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// The panel's meetings on or after `from` that are still to be held, soonest first.
pub fn upcoming(conn: &mut Conn, panel_id: i64, from: NaiveDate) -> DbResult<Vec<Meeting>> {
    conn.query(
        &format!(
            "SELECT {COLUMNS} FROM meetings WHERE panel_id = $1 AND meeting_date >= $2 AND status = 'scheduled' ORDER BY meeting_date, id"
        ),
        &params![panel_id, from],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// Adds the panel's cadence dates for the months from `from` to `months` ahead
/// that have no meeting yet. Returns how many were added.
pub fn ensure_scheduled(
    tx: &mut Tx<'_>,
    actor: &Actor,
    panel: &Panel,
    from: NaiveDate,
    months: u32,
) -> DbResult<usize> {
    let mut added = Vec::new();
    let (mut y, mut m) = (from.year(), from.month());
    for _ in 0..=months {
        if let Some(date) = panel.rules.cadence.date_in(y, m)
            && date >= from
        {
            let exists = tx
                .query_opt(
                    "SELECT id FROM meetings WHERE panel_id = $1 AND meeting_date = $2 AND kind = 'scheduled'",
                    &params![panel.id, date],
                )?
                .is_some();
            if !exists {
                let now = db::now();
                tx.execute(
                    "INSERT INTO meetings (panel_id, meeting_date, kind, status, created_at, updated_at) VALUES ($1, $2, 'scheduled', 'scheduled', $3, $3)",
                    &params![panel.id, date, now],
                )?;
                added.push(date.to_string());
            }
        }
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    if !added.is_empty() {
        audit::record(
            tx,
            actor,
            "meeting.scheduled",
            "panel",
            Some(panel.id.to_string()),
            serde_json::json!({"dates": added}),
        )?;
    }
    Ok(added.len())
}
