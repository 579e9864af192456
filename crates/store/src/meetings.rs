//! Meetings as dates to book referrals onto (SPEC §4). The scheduled dates
//! come from each panel's cadence; the meetings feature adds the rest.

use crate::ChangeError;
use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::reference::panels::Panel;
use crate::{Actor, audit, params};
use chrono::{Datelike, NaiveDate};
use jp_domain::meeting_lifecycle::{self, MeetingAction, MeetingStatus};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Meeting {
    pub id: i64,
    pub panel_id: i64,
    pub date: NaiveDate,
    /// "scheduled" (from the panel's cadence) or "ad-hoc"
    pub kind: String,
    /// A `MeetingStatus` slug.
    pub status: String,
    /// "10:00"
    pub start_time: String,
    pub venue: String,
    pub online_link: String,
    pub version: i64,
}

impl Meeting {
    pub fn status(&self) -> MeetingStatus {
        MeetingStatus::parse(&self.status).unwrap_or(MeetingStatus::Scheduled)
    }
}

const COLUMNS: &str =
    "id, panel_id, meeting_date, kind, status, start_time, venue, online_link, version";

fn from_row(r: &Row) -> DbResult<Meeting> {
    Ok(Meeting {
        id: r.get(0)?,
        panel_id: r.get(1)?,
        date: r.get(2)?,
        kind: r.get(3)?,
        status: r.get(4)?,
        start_time: r.get(5)?,
        venue: r.get(6)?,
        online_link: r.get(7)?,
        version: r.get(8)?,
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

/// The panel's cadence dates for the months from `from` to `months` ahead
/// that have no scheduled meeting yet (one query; nothing is written).
pub fn unscheduled(
    conn: &mut Conn,
    panel: &Panel,
    from: NaiveDate,
    months: u32,
) -> DbResult<Vec<NaiveDate>> {
    let mut dates = Vec::new();
    let (mut y, mut m) = (from.year(), from.month());
    for _ in 0..=months {
        if let Some(date) = panel.rules.cadence.date_in(y, m)
            && date >= from
        {
            dates.push(date);
        }
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    let (Some(first), Some(last)) = (dates.first().copied(), dates.last().copied()) else {
        return Ok(dates);
    };
    let held: Vec<NaiveDate> = conn
        .query(
            "SELECT meeting_date FROM meetings WHERE panel_id = $1 AND kind = 'scheduled' AND meeting_date >= $2 AND meeting_date <= $3",
            &params![panel.id, first, last],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect::<DbResult<_>>()?;
    dates.retain(|d| !held.contains(d));
    Ok(dates)
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
    for date in unscheduled(tx, panel, from, months)? {
        let now = db::now();
        tx.execute(
            "INSERT INTO meetings (panel_id, meeting_date, kind, status, created_at, updated_at) VALUES ($1, $2, 'scheduled', 'scheduled', $3, $3)",
            &params![panel.id, date, now],
        )?;
        added.push(date.to_string());
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

/// Every meeting in `status`, soonest first.
pub fn with_status(conn: &mut Conn, status: MeetingStatus) -> DbResult<Vec<Meeting>> {
    conn.query(
        &format!("SELECT {COLUMNS} FROM meetings WHERE status = $1 ORDER BY meeting_date, id"),
        &params![status.slug()],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// Meetings from `from` on (all panels, or one), soonest first; at most `limit`.
pub fn list(
    conn: &mut Conn,
    panel_id: Option<i64>,
    from: NaiveDate,
    limit: i64,
) -> DbResult<Vec<Meeting>> {
    conn.query(
        &format!(
            "SELECT {COLUMNS} FROM meetings WHERE ($1 = 0 OR panel_id = $1) AND meeting_date >= $2 ORDER BY meeting_date, id LIMIT $3"
        ),
        &params![panel_id.unwrap_or(0), from, limit],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// How many referrals are booked onto each of `ids` (meeting id → count), in one query.
pub fn booked_counts(conn: &mut Conn, ids: &[i64]) -> DbResult<Vec<(i64, i64)>> {
    let (Some(first), Some(last)) = (ids.iter().min(), ids.iter().max()) else {
        return Ok(Vec::new());
    };
    let counted: Vec<(i64, i64)> = conn
        .query(
            "SELECT meeting_id, COUNT(*) FROM referrals
             WHERE meeting_id BETWEEN $1 AND $2 AND status <> 'closed' GROUP BY meeting_id",
            &params![*first, *last],
        )?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect::<DbResult<_>>()?;
    Ok(ids
        .iter()
        .map(|id| {
            let n = counted.iter().find(|(m, _)| m == id).map_or(0, |(_, n)| *n);
            (*id, n)
        })
        .collect())
}

/// The practical details of a meeting, as entered.
#[derive(Debug, Clone, PartialEq)]
pub struct Details {
    pub start_time: String,
    pub venue: String,
    pub online_link: String,
}

/// Adds an ad-hoc meeting of `panel_id` on `date`. Audited.
pub fn create_ad_hoc(
    tx: &mut Tx<'_>,
    actor: &Actor,
    panel_id: i64,
    date: NaiveDate,
    d: &Details,
) -> Result<i64, ChangeError> {
    let now = db::now();
    let id: i64 = tx
        .query_one(
            "INSERT INTO meetings (panel_id, meeting_date, kind, status, start_time, venue, online_link, created_by, created_at, updated_at)
             VALUES ($1, $2, 'ad-hoc', 'scheduled', $3, $4, $5, $6, $7, $7) RETURNING id",
            &params![panel_id, date, &d.start_time, &d.venue, &d.online_link, actor.user_id, now],
        )?
        .get(0)?;
    audit::record(
        tx,
        actor,
        "meeting.created",
        "meeting",
        Some(id.to_string()),
        serde_json::json!({"panel_id": panel_id, "date": date, "start_time": d.start_time}),
    )?;
    Ok(id)
}

/// Changes the details of a meeting still to be held (optimistic: `version` as read).
pub fn update_details(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
    d: &Details,
) -> Result<Meeting, ChangeError> {
    let m = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    if m.version != version {
        return Err(ChangeError::Conflict { current: m.version });
    }
    if !m.status().is_open() {
        return Err(ChangeError::Invalid(format!(
            "This meeting is “{}”: its details can no longer be changed",
            m.status().label()
        )));
    }
    tx.execute(
        "UPDATE meetings SET start_time = $1, venue = $2, online_link = $3, version = version + 1, updated_at = $4 WHERE id = $5",
        &params![&d.start_time, &d.venue, &d.online_link, db::now(), id],
    )?;
    audit::record(
        tx,
        actor,
        "meeting.updated",
        "meeting",
        Some(id.to_string()),
        serde_json::json!({
            "start_time": [m.start_time, d.start_time],
            "venue": [m.venue, d.venue],
            "online_link": [m.online_link, d.online_link],
        }),
    )?;
    get(tx, id)?.ok_or(ChangeError::NotFound)
}

/// Moves a meeting along its lifecycle. Cancelling is refused while referrals
/// are booked onto it (they are moved first, so nobody is left without a date).
pub fn apply(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
    action: MeetingAction,
) -> Result<Meeting, ChangeError> {
    let m = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    if m.version != version {
        return Err(ChangeError::Conflict { current: m.version });
    }
    let to = meeting_lifecycle::next(m.status(), action)
        .map_err(|e| ChangeError::Invalid(jp_domain::text::capitalise(&e.to_string())))?;
    if action == MeetingAction::Cancel {
        let booked = booked_counts(tx, &[id])?[0].1;
        if booked > 0 {
            return Err(ChangeError::Invalid(format!(
                "{booked} referral(s) are booked onto this meeting: move them to another meeting first"
            )));
        }
    }
    tx.execute(
        "UPDATE meetings SET status = $1, version = version + 1, updated_at = $2 WHERE id = $3",
        &params![to.slug(), db::now(), id],
    )?;
    audit::record(
        tx,
        actor,
        &format!("meeting.{}", to.slug()),
        "meeting",
        Some(id.to_string()),
        serde_json::json!({"from": m.status, "to": to.slug(), "date": m.date}),
    )?;
    get(tx, id)?.ok_or(ChangeError::NotFound)
}
