//! Running a meeting (SPEC §4): circulating, starting and closing it;
//! attendance per agency (present, a named deputy, apologies, absent); the
//! referrer's attendance, the lead member and declared conflicts per item;
//! minutes per item; the chair's approval of the minutes. A decision on an item
//! that affects an agency nobody spoke for becomes a recommendation to that
//! agency (seed 000 §3.5, [`crate::actions`]).

use crate::accounts::User;
use crate::actions::{self, NewAction};
use crate::agenda;
use crate::db::{self, Conn, DbResult, Tx};
use crate::meetings::{self, Meeting};
use crate::reference::panels::{self, Panel};
use crate::{Actor, ChangeError, audit, params};
use chrono::{NaiveDate, NaiveDateTime};
use jp_domain::calendar::Deadlines;
use jp_domain::meeting_lifecycle::{MeetingAction, MeetingStatus, Presence};

/// Longest minute of one item, in characters.
pub const MINUTE_MAX: usize = 20_000;

/// An agency's seat on a panel: its members and their deputies.
#[derive(Debug, Clone, PartialEq)]
pub struct Seat {
    pub agency_id: i64,
    pub agency_name: String,
    /// (user id, name) of the members sitting for the agency.
    pub members: Vec<(i64, String)>,
    /// (user id, name) of their named deputies.
    pub deputies: Vec<(i64, String)>,
}

/// The agencies with a seat on the panel, by name.
pub fn seats(conn: &mut Conn, panel_id: i64) -> DbResult<Vec<Seat>> {
    let mut out: Vec<Seat> = Vec::new();
    for m in crate::reference::members::of_panel(conn, panel_id)? {
        let at = match out.iter().position(|s| s.agency_id == m.agency_id) {
            Some(at) => at,
            None => {
                out.push(Seat {
                    agency_id: m.agency_id,
                    agency_name: m.agency_name.clone(),
                    members: Vec::new(),
                    deputies: Vec::new(),
                });
                out.len() - 1
            }
        };
        let seat = &mut out[at];
        seat.members.push((m.user_id, m.user_name.clone()));
        for d in m.deputies {
            if !seat.deputies.iter().any(|(id, _)| *id == d.user_id) {
                seat.deputies.push((d.user_id, d.name));
            }
        }
    }
    out.sort_by_key(|s| s.agency_name.to_lowercase());
    Ok(out)
}

/// One agency's line of the attendance record.
#[derive(Debug, Clone, PartialEq)]
pub struct Attendance {
    pub seat: Seat,
    pub presence: Option<Presence>,
    pub attendee_id: Option<i64>,
    pub attendee_name: Option<String>,
}

/// The attendance of every agency with a seat (unrecorded ones with no presence).
pub fn attendance(conn: &mut Conn, meeting: &Meeting) -> DbResult<Vec<Attendance>> {
    let recorded: Vec<(i64, String, Option<i64>, Option<String>)> = conn
        .query(
            "SELECT a.agency_id, a.status, a.attendee_id, u.name FROM attendance a
             LEFT JOIN users u ON u.id = a.attendee_id WHERE a.meeting_id = $1",
            &params![meeting.id],
        )?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .collect::<DbResult<_>>()?;
    Ok(seats(conn, meeting.panel_id)?
        .into_iter()
        .map(|seat| {
            let rec = recorded.iter().find(|r| r.0 == seat.agency_id);
            Attendance {
                presence: rec.and_then(|r| Presence::parse(&r.1)),
                attendee_id: rec.and_then(|r| r.2),
                attendee_name: rec.and_then(|r| r.3.clone()),
                seat,
            }
        })
        .collect())
}

fn meeting_for_update(tx: &mut Tx<'_>, id: i64) -> Result<Meeting, ChangeError> {
    let lock = tx.backend().for_update();
    tx.query_opt(
        &format!("SELECT id FROM meetings WHERE id = $1 {lock}"),
        &params![id],
    )?;
    meetings::get(tx, id)?.ok_or(ChangeError::NotFound)
}

/// When the minutes were approved, if they were.
pub fn minutes_approval(conn: &mut Conn, meeting_id: i64) -> DbResult<Option<MinutesApproval>> {
    conn.query_opt(
        "SELECT u.name, m.minutes_approved_at, m.minutes_due, m.minutes_issued_on FROM meetings m
         JOIN users u ON u.id = m.minutes_approved_by WHERE m.id = $1",
        &params![meeting_id],
    )?
    .map(|r| {
        Ok(MinutesApproval {
            by: r.get(0)?,
            at: r.get(1)?,
            due: r.get(2)?,
            issued_on: r.get(3)?,
        })
    })
    .transpose()
}

#[derive(Debug, Clone, PartialEq)]
pub struct MinutesApproval {
    pub by: String,
    pub at: NaiveDateTime,
    pub due: NaiveDate,
    pub issued_on: NaiveDate,
}

impl MinutesApproval {
    /// Whether the minutes went out by their deadline (SPEC §2).
    pub fn on_time(&self) -> bool {
        self.issued_on <= self.due
    }
}

/// The record of the meeting may still be written: from the agenda's approval
/// (apologies come in beforehand) until the chair approves the minutes.
fn record_open(tx: &mut Tx<'_>, m: &Meeting, what: &str) -> Result<(), ChangeError> {
    let open = match m.status() {
        MeetingStatus::AgendaApproved
        | MeetingStatus::PapersCirculated
        | MeetingStatus::InProgress => true,
        MeetingStatus::Closed => minutes_approval(tx, m.id)?.is_none(),
        MeetingStatus::Scheduled | MeetingStatus::Cancelled => false,
    };
    if open {
        Ok(())
    } else if m.status() == MeetingStatus::Closed {
        Err(ChangeError::Invalid(format!(
            "The chair has approved this meeting's minutes: {what} can no longer be changed"
        )))
    } else {
        Err(ChangeError::Invalid(format!(
            "The meeting is “{}”: {what} can be recorded once the chair has approved the agenda",
            m.status().label()
        )))
    }
}

/// Records how an agency was represented. A deputy must be one its members
/// named; "present" names one of its members (the only one when there is one).
pub fn record_attendance(
    tx: &mut Tx<'_>,
    actor: &Actor,
    meeting_id: i64,
    agency_id: i64,
    presence: Presence,
    attendee: Option<i64>,
) -> Result<(), ChangeError> {
    let m = meeting_for_update(tx, meeting_id)?;
    record_open(tx, &m, "attendance")?;
    let seat = seats(tx, m.panel_id)?
        .into_iter()
        .find(|s| s.agency_id == agency_id)
        .ok_or_else(|| ChangeError::Invalid("That agency has no seat on this panel".into()))?;
    let attendee = match presence {
        Presence::Present => match attendee {
            Some(id) if seat.members.iter().any(|(m, _)| *m == id) => Some(id),
            Some(_) => {
                return Err(ChangeError::Invalid(format!(
                    "That person does not sit on the panel for {}: record them as a deputy if they were named as one",
                    seat.agency_name
                )));
            }
            None if seat.members.len() == 1 => Some(seat.members[0].0),
            None => {
                return Err(ChangeError::Invalid(format!(
                    "Select which member attended for {}",
                    seat.agency_name
                )));
            }
        },
        Presence::Deputy => match attendee {
            Some(id) if seat.deputies.iter().any(|(d, _)| *d == id) => Some(id),
            Some(_) => {
                return Err(ChangeError::Invalid(format!(
                    "That person is not a named deputy for {}: a deputy must be named by one of the agency's members",
                    seat.agency_name
                )));
            }
            None => {
                return Err(ChangeError::Invalid(format!(
                    "Select the deputy who attended for {}",
                    seat.agency_name
                )));
            }
        },
        Presence::Apologies | Presence::Absent => None,
    };
    let before = tx
        .query_opt(
            "SELECT status FROM attendance WHERE meeting_id = $1 AND agency_id = $2",
            &params![meeting_id, agency_id],
        )?
        .map(|r| r.get::<String>(0))
        .transpose()?;
    tx.execute(
        "DELETE FROM attendance WHERE meeting_id = $1 AND agency_id = $2",
        &params![meeting_id, agency_id],
    )?;
    tx.execute(
        "INSERT INTO attendance (meeting_id, agency_id, status, attendee_id, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &params![meeting_id, agency_id, presence.slug(), attendee, actor.user_id, db::now()],
    )?;
    audit::record(
        tx,
        actor,
        "meeting.attendance",
        "meeting",
        Some(meeting_id.to_string()),
        serde_json::json!({"agency_id": agency_id, "from": before, "to": presence.slug(), "attendee_id": attendee}),
    )?;
    Ok(())
}

/// Whether the referrer attended their item (seed 000 §3.10).
pub fn set_referrer_attended(
    tx: &mut Tx<'_>,
    actor: &Actor,
    meeting_id: i64,
    item_id: i64,
    attended: bool,
) -> Result<(), ChangeError> {
    let m = meeting_for_update(tx, meeting_id)?;
    record_open(tx, &m, "the referrer's attendance")?;
    agenda::item(tx, meeting_id, item_id)?;
    let value = if attended { "yes" } else { "no" };
    tx.execute(
        "UPDATE agenda_items SET referrer_attended = $1 WHERE id = $2",
        &params![value, item_id],
    )?;
    audit::record(
        tx,
        actor,
        "agenda.referrer-attendance",
        "meeting",
        Some(meeting_id.to_string()),
        serde_json::json!({"item": item_id, "attended": attended}),
    )?;
    Ok(())
}

/// Everyone who may sit at the meeting: members and their deputies (user id, name).
pub fn invitees(conn: &mut Conn, panel_id: i64) -> DbResult<Vec<(i64, String)>> {
    let mut out: Vec<(i64, String)> = Vec::new();
    for s in seats(conn, panel_id)? {
        for p in s.members.into_iter().chain(s.deputies) {
            if !out.iter().any(|(id, _)| *id == p.0) {
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// The member leading on an item, who keeps a copy of its papers (seed 000 §3.3).
pub fn set_lead(
    tx: &mut Tx<'_>,
    actor: &Actor,
    meeting_id: i64,
    item_id: i64,
    user_id: Option<i64>,
) -> Result<(), ChangeError> {
    let m = meeting_for_update(tx, meeting_id)?;
    if !m.status().is_open() {
        return Err(ChangeError::Invalid(
            "The meeting is closed: the lead member can no longer be changed".into(),
        ));
    }
    agenda::item(tx, meeting_id, item_id)?;
    if let Some(u) = user_id {
        let members = crate::reference::members::of_panel(tx, m.panel_id)?;
        if !members.iter().any(|x| x.user_id == u) {
            return Err(ChangeError::Invalid(
                "The lead must be a member of the panel".into(),
            ));
        }
    }
    tx.execute(
        "UPDATE agenda_items SET lead_user_id = $1 WHERE id = $2",
        &params![user_id, item_id],
    )?;
    // The lead keeps a copy of the papers as the record (seed 000 §3.3).
    if let Some(pack) = crate::packs::of_meeting(tx, meeting_id)? {
        tx.execute(
            "UPDATE pack_copies SET kept = (user_id IN (SELECT lead_user_id FROM agenda_items WHERE meeting_id = $2 AND lead_user_id IS NOT NULL)
                OR user_id IN (SELECT user_id FROM panel_members WHERE panel_id = $3 AND is_chair)) WHERE pack_id = $1",
            &params![pack.id, meeting_id, m.panel_id],
        )?;
    }
    audit::record(
        tx,
        actor,
        "agenda.lead",
        "meeting",
        Some(meeting_id.to_string()),
        serde_json::json!({"item": item_id, "lead_user_id": user_id}),
    )?;
    Ok(())
}

/// A declared conflict of interest.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub item_id: i64,
    pub user_id: i64,
    pub name: String,
    pub interest: String,
}

pub fn conflicts(conn: &mut Conn, meeting_id: i64) -> DbResult<Vec<Conflict>> {
    conn.query(
        "SELECT c.item_id, c.user_id, u.name, c.interest FROM item_conflicts c
         JOIN agenda_items i ON i.id = c.item_id JOIN users u ON u.id = c.user_id
         WHERE i.meeting_id = $1 ORDER BY i.position, LOWER(u.name)",
        &params![meeting_id],
    )?
    .iter()
    .map(|r| {
        Ok(Conflict {
            item_id: r.get(0)?,
            user_id: r.get(1)?,
            name: r.get(2)?,
            interest: r.get(3)?,
        })
    })
    .collect()
}

/// Records a member's (or deputy's) declared interest in an item: they take no
/// part in its decision.
pub fn declare_conflict(
    tx: &mut Tx<'_>,
    actor: &Actor,
    meeting_id: i64,
    item_id: i64,
    user_id: i64,
    interest: &str,
) -> Result<(), ChangeError> {
    let m = meeting_for_update(tx, meeting_id)?;
    record_open(tx, &m, "conflicts of interest")?;
    let it = agenda::item(tx, meeting_id, item_id)?;
    if it.considered_at.is_some() {
        return Err(ChangeError::Invalid(
            "This item has been considered: a conflict must be declared before it is discussed"
                .into(),
        ));
    }
    if !invitees(tx, m.panel_id)?
        .iter()
        .any(|(id, _)| *id == user_id)
    {
        return Err(ChangeError::Invalid(
            "Only a member or a named deputy of this panel can declare a conflict here".into(),
        ));
    }
    let interest = jp_domain::text::required(interest, "the interest declared", 500)
        .map_err(ChangeError::Invalid)?;
    tx.execute(
        "DELETE FROM item_conflicts WHERE item_id = $1 AND user_id = $2",
        &params![item_id, user_id],
    )?;
    tx.execute(
        "INSERT INTO item_conflicts (item_id, user_id, interest, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5)",
        &params![item_id, user_id, &interest, actor.user_id, db::now()],
    )?;
    audit::record(
        tx,
        actor,
        "agenda.conflict-declared",
        "meeting",
        Some(meeting_id.to_string()),
        serde_json::json!({"item": item_id, "user_id": user_id}),
    )?;
    Ok(())
}

/// Saves an item's minute (during or after the meeting, until the chair approves the minutes).
pub fn save_minute(
    tx: &mut Tx<'_>,
    actor: &Actor,
    meeting_id: i64,
    item_id: i64,
    text: &str,
) -> Result<(), ChangeError> {
    let m = meeting_for_update(tx, meeting_id)?;
    if matches!(
        m.status(),
        MeetingStatus::AgendaApproved | MeetingStatus::PapersCirculated
    ) {
        return Err(ChangeError::Invalid(
            "Minutes are written once the meeting has started".into(),
        ));
    }
    record_open(tx, &m, "the minutes")?;
    let it = agenda::item(tx, meeting_id, item_id)?;
    let text =
        jp_domain::text::required(text, "the minute", MINUTE_MAX).map_err(ChangeError::Invalid)?;
    tx.execute(
        "UPDATE agenda_items SET minute = $1 WHERE id = $2",
        &params![&text, item_id],
    )?;
    audit::record(
        tx,
        actor,
        "agenda.minuted",
        "meeting",
        Some(meeting_id.to_string()),
        serde_json::json!({"item": item_id, "changed": !it.minute.is_empty(), "characters": text.chars().count()}),
    )?;
    Ok(())
}

/// What marking an item considered created.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Considered {
    /// The recommendations made to agencies nobody spoke for.
    pub recommended: Vec<Recommended>,
}

/// A recommendation made when an item was considered, and who must answer it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommended {
    pub recommendation_id: i64,
    pub agency_id: i64,
    /// The agency's members, each given an action to answer it.
    pub owners: Vec<i64>,
}

/// The panel has considered the item: its minute is written, attendance is
/// recorded for every agency, and each affected agency that was not
/// represented receives a recommendation to accept or reject, due by the
/// panel's response deadline, with an action for its member.
pub fn consider(
    tx: &mut Tx<'_>,
    actor: &Actor,
    meeting_id: i64,
    item_id: i64,
    affected: &[i64],
    today: NaiveDate,
) -> Result<Considered, ChangeError> {
    let m = meeting_for_update(tx, meeting_id)?;
    if m.status() != MeetingStatus::InProgress {
        return Err(ChangeError::Invalid(format!(
            "Items are considered while the meeting is in progress; it is “{}”",
            m.status().label()
        )));
    }
    let it = agenda::item(tx, meeting_id, item_id)?;
    if it.considered_at.is_some() {
        return Err(ChangeError::Invalid(
            "This item has already been considered".into(),
        ));
    }
    if it.minute.trim().is_empty() {
        return Err(ChangeError::Invalid(
            "Write the item's minute before marking it considered".into(),
        ));
    }
    let present = attendance(tx, &m)?;
    let missing: Vec<String> = present
        .iter()
        .filter(|a| a.presence.is_none())
        .map(|a| a.seat.agency_name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(ChangeError::Invalid(format!(
            "Record the attendance of every agency first (not yet recorded: {})",
            missing.join(", ")
        )));
    }
    if affected.is_empty() {
        return Err(ChangeError::Invalid(
            "Select the agencies the outcome affects".into(),
        ));
    }
    for a in affected {
        if !present.iter().any(|p| p.seat.agency_id == *a) {
            return Err(ChangeError::Invalid(
                "Select only agencies with a seat on this panel".into(),
            ));
        }
    }
    let out = Considered {
        recommended: recommend_to_absent(tx, actor, &m, &it, &present, affected, today)?,
    };
    tx.execute(
        "UPDATE agenda_items SET considered_by = $1, considered_at = $2 WHERE id = $3",
        &params![actor.user_id, db::now(), item_id],
    )?;
    if let Some(r) = &it.referral
        && r.status == jp_domain::lifecycle::Status::Booked
    {
        crate::referrals::consider(tx, actor, r.id, r.version)?;
    }
    audit::record(
        tx,
        actor,
        "agenda.considered",
        "meeting",
        Some(meeting_id.to_string()),
        serde_json::json!({
            "item": item_id,
            "referral_id": it.referral_id,
            "affected": affected,
            "recommended_to": out.recommended.iter().map(|r| r.agency_id).collect::<Vec<_>>(),
        }),
    )?;
    Ok(out)
}

/// The §2 deadlines of a meeting of `panel` on `date`, from its region's calendar.
pub fn deadlines(conn: &mut Conn, panel: &Panel, date: NaiveDate) -> DbResult<Deadlines> {
    let cal = crate::calendar::for_region(conn, panel.rules.region)?;
    Ok(Deadlines::for_meeting(&cal, &panel.rules, date))
}

/// Circulates the papers: only once the chair has approved the agenda. The
/// pack is queued for the builder, with a copy for each member and deputy;
/// the chair's and the items' lead members' copies are kept as the record.
pub fn circulate(
    tx: &mut Tx<'_>,
    actor: &Actor,
    meeting_id: i64,
    version: i64,
    today: NaiveDate,
) -> Result<Meeting, ChangeError> {
    let m = meeting_for_update(tx, meeting_id)?;
    if m.status() == MeetingStatus::Scheduled {
        return Err(ChangeError::Invalid(
            "The papers cannot be circulated before the chair approves the agenda".into(),
        ));
    }
    let m = meetings::apply(tx, actor, meeting_id, version, MeetingAction::Circulate)?;
    moved_at(tx, meeting_id, "circulated_at")?;
    let leads: Vec<i64> = agenda::items(tx, meeting_id)?
        .iter()
        .filter_map(|i| i.lead_user_id)
        .collect();
    let mut recipients = Vec::new();
    for (user, _) in invitees(tx, m.panel_id)? {
        let kept = leads.contains(&user) || crate::referrals::chairs(tx, user, m.panel_id)?;
        recipients.push((user, kept));
    }
    crate::packs::queue(tx, actor, meeting_id, &recipients, today)?;
    Ok(m)
}

/// Records when the meeting made a move (`column` is one of ours, not input).
fn moved_at(tx: &mut Tx<'_>, meeting_id: i64, column: &'static str) -> DbResult<()> {
    tx.execute(
        &format!("UPDATE meetings SET {column} = $1 WHERE id = $2"),
        &params![db::now(), meeting_id],
    )?;
    Ok(())
}

/// Opens the meeting: minutes and decisions may be recorded.
pub fn start(
    tx: &mut Tx<'_>,
    actor: &Actor,
    meeting_id: i64,
    version: i64,
) -> Result<Meeting, ChangeError> {
    meeting_for_update(tx, meeting_id)?;
    let m = meetings::apply(tx, actor, meeting_id, version, MeetingAction::Start)?;
    moved_at(tx, meeting_id, "started_at")?;
    Ok(m)
}

/// Closes the meeting: every item must be minuted and considered. Members'
/// access to the papers ends here (SPEC §4).
pub fn close(
    tx: &mut Tx<'_>,
    actor: &Actor,
    meeting_id: i64,
    version: i64,
) -> Result<Meeting, ChangeError> {
    meeting_for_update(tx, meeting_id)?;
    let open: Vec<String> = agenda::items(tx, meeting_id)?
        .iter()
        .enumerate()
        .filter(|(_, i)| i.considered_at.is_none() || i.minute.trim().is_empty())
        .map(|(n, i)| match &i.referral {
            Some(r) => format!("item {} ({})", n + 1, r.child_local_id),
            None => format!("item {}", n + 1),
        })
        .collect();
    if !open.is_empty() {
        return Err(ChangeError::Invalid(format!(
            "Every item must be minuted and marked considered before the meeting closes (still open: {})",
            open.join(", ")
        )));
    }
    let m = meetings::apply(tx, actor, meeting_id, version, MeetingAction::Close)?;
    moved_at(tx, meeting_id, "closed_at")?;
    Ok(m)
}

/// The chair approves the minutes of a closed meeting; they are issued today.
/// Returns the approval with its deadline, so the caller can send them.
pub fn approve_minutes(
    tx: &mut Tx<'_>,
    actor: &Actor,
    chair: &User,
    meeting_id: i64,
    version: i64,
    today: NaiveDate,
) -> Result<MinutesApproval, ChangeError> {
    let m = meeting_for_update(tx, meeting_id)?;
    if m.version != version {
        return Err(ChangeError::Conflict { current: m.version });
    }
    if m.status() != MeetingStatus::Closed {
        return Err(ChangeError::Invalid(
            "Minutes are approved once the meeting has closed".into(),
        ));
    }
    if minutes_approval(tx, meeting_id)?.is_some() {
        return Err(ChangeError::Invalid(
            "The minutes have already been approved".into(),
        ));
    }
    if !crate::referrals::chairs(tx, chair.id, m.panel_id)? {
        return Err(ChangeError::Invalid(
            "Only the panel's chair can approve its minutes".into(),
        ));
    }
    let panel = panels::get(tx, m.panel_id)?.ok_or(ChangeError::NotFound)?;
    let due = deadlines(tx, &panel, m.date)?.minutes_due;
    tx.execute(
        "UPDATE meetings SET minutes_approved_by = $1, minutes_approved_at = $2, minutes_due = $3, minutes_issued_on = $4, version = version + 1, updated_at = $2 WHERE id = $5",
        &params![chair.id, db::now(), due, today, meeting_id],
    )?;
    let a = minutes_approval(tx, meeting_id)?.ok_or(ChangeError::NotFound)?;
    audit::record(
        tx,
        actor,
        "meeting.minutes-approved",
        "meeting",
        Some(meeting_id.to_string()),
        serde_json::json!({"due": due, "issued_on": today, "on_time": a.on_time()}),
    )?;
    Ok(a)
}

/// Makes a recommendation to each of the `affected` agencies that nobody
/// represented at the meeting and that has none for this item yet, with an
/// action for each of its members, due by the panel's response deadline
/// (working days from the meeting, or from today when recorded later).
pub fn recommend_to_absent(
    tx: &mut Tx<'_>,
    actor: &Actor,
    m: &Meeting,
    it: &agenda::Item,
    present: &[Attendance],
    affected: &[i64],
    today: NaiveDate,
) -> Result<Vec<Recommended>, ChangeError> {
    let panel = panels::get(tx, m.panel_id)?.ok_or(ChangeError::NotFound)?;
    let cal = crate::calendar::for_region(tx, panel.rules.region)?;
    let due = cal.after(m.date.max(today), panel.rules.absent_agency_response_days);
    let (meeting_id, item_id) = (m.id, it.id);
    let mut out = Vec::new();
    for a in present.iter().filter(|p| {
        affected.contains(&p.seat.agency_id) && !p.presence.is_some_and(Presence::represented)
    }) {
        let exists = tx
            .query_opt(
                "SELECT id FROM recommendations WHERE item_id = $1 AND agency_id = $2",
                &params![item_id, a.seat.agency_id],
            )?
            .is_some();
        if exists {
            continue;
        }
        let rec_id: i64 = tx
            .query_one(
                "INSERT INTO recommendations (item_id, meeting_id, referral_id, agency_id, due_date, status, created_at)
                 VALUES ($1, $2, $3, $4, $5, 'awaiting', $6) RETURNING id",
                &params![item_id, meeting_id, it.referral_id, a.seat.agency_id, due, db::now()],
            )?
            .get(0)?;
        let who = it
            .referral
            .as_ref()
            .map(|r| format!("referral {} ({})", r.id, r.child_local_id))
            .unwrap_or_else(|| "an item".into());
        for (owner, _) in &a.seat.members {
            actions::create(
                tx,
                actor,
                &NewAction {
                    title: format!(
                        "Accept or reject the panel's recommendation on {who} for {}",
                        a.seat.agency_name
                    ),
                    owner_id: *owner,
                    due,
                    source: actions::Source::Recommendation,
                    meeting_id: Some(meeting_id),
                    item_id: Some(item_id),
                    referral_id: it.referral_id,
                    recommendation_id: Some(rec_id),
                },
            )?;
        }
        out.push(Recommended {
            recommendation_id: rec_id,
            agency_id: a.seat.agency_id,
            owners: a.seat.members.iter().map(|(id, _)| *id).collect(),
        });
    }
    Ok(out)
}
