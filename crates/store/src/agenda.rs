//! A meeting's agenda (SPEC §4): the referrals booked onto the meeting are
//! placed on it automatically (late items last); the administrator orders the
//! items and sets their minutes; the chair approves it, which moves the meeting
//! on. The meeting's length is the sum of its items.

use crate::accounts::User;
use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::meetings::{self, Meeting};
use crate::reference::panels::Panel;
use crate::referrals::{self, Referral};
use crate::{Actor, ChangeError, audit, params};
use jp_domain::meeting_lifecycle::{MeetingAction, MeetingStatus};

/// Shortest and longest slot an item may have, in minutes.
pub const MINUTES: std::ops::RangeInclusive<i64> = 5..=240;

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: i64,
    pub referral_id: Option<i64>,
    /// "new" or "review"
    pub kind: String,
    pub position: i64,
    pub minutes: i64,
    /// The member leading on the item, who keeps its papers (seed 000 §3.3).
    pub lead_user_id: Option<i64>,
    /// The minute of the discussion ("" until written).
    pub minute: String,
    /// "yes", "no", or "" when not recorded (seed 000 §3.10).
    pub referrer_attended: String,
    pub considered_at: Option<chrono::NaiveDateTime>,
    pub referral: Option<Referral>,
}

const COLUMNS: &str = "id, referral_id, kind, position, minutes, lead_user_id, minute, referrer_attended, considered_at";

fn from_row(r: &Row) -> DbResult<Item> {
    Ok(Item {
        id: r.get(0)?,
        referral_id: r.get(1)?,
        kind: r.get(2)?,
        position: r.get(3)?,
        minutes: r.get(4)?,
        lead_user_id: r.get(5)?,
        minute: r.get(6)?,
        referrer_attended: r.get(7)?,
        considered_at: r.get(8)?,
        referral: None,
    })
}

/// The agenda in order, each item with its referral.
pub fn items(conn: &mut Conn, meeting_id: i64) -> DbResult<Vec<Item>> {
    let mut items: Vec<Item> = conn
        .query(
            &format!(
                "SELECT {COLUMNS} FROM agenda_items WHERE meeting_id = $1 ORDER BY position, id"
            ),
            &params![meeting_id],
        )?
        .iter()
        .map(from_row)
        .collect::<DbResult<_>>()?;
    for it in &mut items {
        if let Some(rid) = it.referral_id {
            it.referral = referrals::get(conn, rid)?;
        }
    }
    Ok(items)
}

/// Brings the agenda in line with the bookings: new bookings are added at the
/// end with the panel's default minutes; referrals moved away or withdrawn are
/// taken off. Only while the agenda is still open.
pub fn sync(tx: &mut Tx<'_>, meeting: &Meeting, panel: &Panel) -> DbResult<()> {
    if meeting.status() != MeetingStatus::Scheduled {
        return Ok(());
    }
    let booked = referrals::on_meeting(tx, meeting.id)?;
    let current = items(tx, meeting.id)?;
    for it in &current {
        if let Some(rid) = it.referral_id
            && !booked.iter().any(|r| r.id == rid)
        {
            tx.execute("DELETE FROM agenda_items WHERE id = $1", &params![it.id])?;
        }
    }
    let mut next: i64 = current.iter().map(|i| i.position).max().unwrap_or(0) + 1;
    for r in booked {
        if current.iter().any(|i| i.referral_id == Some(r.id)) {
            continue;
        }
        let review = r.request_type.as_deref() == Some("review");
        let minutes = i64::from(if review {
            panel.rules.minutes_per_review
        } else {
            panel.rules.minutes_per_new_case
        });
        tx.execute(
            "INSERT INTO agenda_items (meeting_id, referral_id, kind, position, minutes, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &params![meeting.id, r.id, if review { "review" } else { "new" }, next, minutes.clamp(*MINUTES.start(), *MINUTES.end()), db::now()],
        )?;
        next += 1;
    }
    Ok(())
}

fn open_agenda(tx: &mut Tx<'_>, meeting_id: i64) -> Result<Meeting, ChangeError> {
    let m = meetings::get(tx, meeting_id)?.ok_or(ChangeError::NotFound)?;
    if m.status() != MeetingStatus::Scheduled {
        return Err(ChangeError::Invalid(format!(
            "The agenda can no longer be changed: the meeting is “{}”",
            m.status().label()
        )));
    }
    Ok(m)
}

/// One item of the meeting's agenda, with its referral.
pub fn item(tx: &mut Tx<'_>, meeting_id: i64, item_id: i64) -> Result<Item, ChangeError> {
    let mut it = tx
        .query_opt(
            &format!("SELECT {COLUMNS} FROM agenda_items WHERE id = $1 AND meeting_id = $2"),
            &params![item_id, meeting_id],
        )?
        .as_ref()
        .map(from_row)
        .transpose()?
        .ok_or(ChangeError::NotFound)?;
    if let Some(rid) = it.referral_id {
        it.referral = referrals::get(tx, rid)?;
    }
    Ok(it)
}

/// Moves an item one place up or down. Audited.
pub fn move_item(
    tx: &mut Tx<'_>,
    actor: &Actor,
    meeting_id: i64,
    item_id: i64,
    up: bool,
) -> Result<(), ChangeError> {
    open_agenda(tx, meeting_id)?;
    let it = item(tx, meeting_id, item_id)?;
    let all = items(tx, meeting_id)?;
    let at = all
        .iter()
        .position(|i| i.id == it.id)
        .ok_or(ChangeError::NotFound)?;
    let other = if up {
        at.checked_sub(1)
    } else {
        Some(at + 1).filter(|n| *n < all.len())
    };
    let Some(other) = other.map(|o| &all[o]) else {
        return Err(ChangeError::Invalid(if up {
            "That item is already first".into()
        } else {
            "That item is already last".into()
        }));
    };
    // Positions may tie (equal positions order by id): renumber in the new order.
    let mut order: Vec<i64> = all.iter().map(|i| i.id).collect();
    let o = order
        .iter()
        .position(|id| *id == other.id)
        .ok_or(ChangeError::NotFound)?;
    order.swap(at, o);
    for (n, id) in order.iter().enumerate() {
        tx.execute(
            "UPDATE agenda_items SET position = $1 WHERE id = $2",
            &params![i64::try_from(n).unwrap_or(0) + 1, *id],
        )?;
    }
    audit::record(
        tx,
        actor,
        "agenda.item-moved",
        "meeting",
        Some(meeting_id.to_string()),
        serde_json::json!({"item": item_id, "direction": if up { "up" } else { "down" }}),
    )?;
    Ok(())
}

/// Sets an item's minutes. Audited.
pub fn set_minutes(
    tx: &mut Tx<'_>,
    actor: &Actor,
    meeting_id: i64,
    item_id: i64,
    minutes: i64,
) -> Result<(), ChangeError> {
    open_agenda(tx, meeting_id)?;
    let it = item(tx, meeting_id, item_id)?;
    if !MINUTES.contains(&minutes) {
        return Err(ChangeError::Invalid(format!(
            "Give the item between {} and {} minutes",
            MINUTES.start(),
            MINUTES.end()
        )));
    }
    tx.execute(
        "UPDATE agenda_items SET minutes = $1 WHERE id = $2",
        &params![minutes, item_id],
    )?;
    audit::record(
        tx,
        actor,
        "agenda.item-timed",
        "meeting",
        Some(meeting_id.to_string()),
        serde_json::json!({"item": item_id, "minutes": [it.minutes, minutes]}),
    )?;
    Ok(())
}

/// The chair approves the agenda: the meeting moves to "agenda approved". Only
/// the panel's chair, only with something on the agenda.
pub fn approve(
    tx: &mut Tx<'_>,
    actor: &Actor,
    chair: &User,
    meeting_id: i64,
    version: i64,
) -> Result<Meeting, ChangeError> {
    let m = open_agenda(tx, meeting_id)?;
    if !referrals::chairs(tx, chair.id, m.panel_id)? {
        return Err(ChangeError::Invalid(
            "Only the panel's chair can approve its agenda".into(),
        ));
    }
    if items(tx, meeting_id)?.is_empty() {
        return Err(ChangeError::Invalid(
            "Nothing is on the agenda: cancel the meeting instead, or wait for referrals to be booked".into(),
        ));
    }
    let m = meetings::apply(tx, actor, meeting_id, version, MeetingAction::ApproveAgenda)?;
    tx.execute(
        "UPDATE meetings SET agenda_approved_by = $1, agenda_approved_at = $2 WHERE id = $3",
        &params![chair.id, db::now(), meeting_id],
    )?;
    Ok(m)
}

/// Who approved the agenda, and when.
pub fn approval(
    conn: &mut Conn,
    meeting_id: i64,
) -> DbResult<Option<(String, chrono::NaiveDateTime)>> {
    conn.query_opt(
        "SELECT u.name, m.agenda_approved_at FROM meetings m JOIN users u ON u.id = m.agenda_approved_by WHERE m.id = $1",
        &params![meeting_id],
    )?
    .map(|r| Ok((r.get(0)?, r.get(1)?)))
    .transpose()
}
