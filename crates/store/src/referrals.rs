//! Referrals (SPEC §3): the form's sections saved one at a time, options with
//! cost lines, and the moves of the lifecycle, each checked against the
//! domain's transition table and audited in the same transaction.

use crate::accounts::User;
use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::meetings::Meeting;
use crate::reference::check_saved;
use crate::{Actor, ChangeError, audit, params};
use chrono::{NaiveDate, NaiveDateTime};
use jp_domain::Pence;
use jp_domain::Role;
use jp_domain::costs::{CostLine, Quantity, Unit};
use jp_domain::lifecycle::{self, Action, Status};
use jp_domain::referral_form::Answers;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Referral {
    pub id: i64,
    pub child_id: i64,
    pub child_name: String,
    pub child_local_id: String,
    pub panel_id: i64,
    pub panel_name: String,
    pub status: Status,
    pub referrer_id: i64,
    pub referrer_name: String,
    pub agency_id: Option<i64>,
    pub team: Option<String>,
    pub request_type: Option<String>,
    pub need_level: Option<String>,
    pub recommended_option_id: Option<i64>,
    pub meeting_id: Option<i64>,
    pub meeting_date: Option<NaiveDate>,
    pub late: bool,
    pub late_meeting_id: Option<i64>,
    pub late_reason: Option<String>,
    pub late_agreed_by: Option<i64>,
    pub late_agreed_at: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub approved_by: Option<i64>,
    pub approved_at: Option<NaiveDateTime>,
    pub submitted_at: Option<NaiveDateTime>,
    pub closure_reason: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

const SELECT: &str = "SELECT r.id, r.child_id, c.given_name || ' ' || c.family_name, c.local_id, r.panel_id, p.name, r.status,
    r.referrer_id, u.name, r.agency_id, r.team, r.request_type, r.need_level, r.recommended_option_id, r.meeting_id,
    m.meeting_date, r.late, r.late_meeting_id, r.late_reason, r.late_agreed_by, r.late_agreed_at, r.sent_at, r.approved_by,
    r.approved_at, r.submitted_at, r.closure_reason, r.version, r.created_at, r.updated_at
    FROM referrals r JOIN children c ON c.id = r.child_id JOIN panels p ON p.id = r.panel_id
    JOIN users u ON u.id = r.referrer_id LEFT JOIN meetings m ON m.id = r.meeting_id";

fn from_row(r: &Row) -> DbResult<Referral> {
    let status: String = r.get(6)?;
    Ok(Referral {
        id: r.get(0)?,
        child_id: r.get(1)?,
        child_name: r.get(2)?,
        child_local_id: r.get(3)?,
        panel_id: r.get(4)?,
        panel_name: r.get(5)?,
        status: Status::parse(&status).unwrap_or(Status::Draft),
        referrer_id: r.get(7)?,
        referrer_name: r.get(8)?,
        agency_id: r.get(9)?,
        team: r.get(10)?,
        request_type: r.get(11)?,
        need_level: r.get(12)?,
        recommended_option_id: r.get(13)?,
        meeting_id: r.get(14)?,
        meeting_date: r.get(15)?,
        late: r.get(16)?,
        late_meeting_id: r.get(17)?,
        late_reason: r.get(18)?,
        late_agreed_by: r.get(19)?,
        late_agreed_at: r.get(20)?,
        sent_at: r.get(21)?,
        approved_by: r.get(22)?,
        approved_at: r.get(23)?,
        submitted_at: r.get(24)?,
        closure_reason: r.get(25)?,
        version: r.get(26)?,
        created_at: r.get(27)?,
        updated_at: r.get(28)?,
    })
}

pub fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Referral>> {
    conn.query_opt(&format!("{SELECT} WHERE r.id = $1"), &params![id])?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub fn of_child(conn: &mut Conn, child_id: i64) -> DbResult<Vec<Referral>> {
    conn.query(
        &format!("{SELECT} WHERE r.child_id = $1 ORDER BY r.created_at DESC, r.id DESC"),
        &params![child_id],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// What a person may see of a referral (SPEC §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sight {
    None,
    /// Money and the child's id, no case narrative (finance officers).
    Money,
    Full,
}

/// Statuses from submission on: what the panel's side of the house sees.
const AT_PANEL: &[Status] = &[
    Status::Submitted,
    Status::Booked,
    Status::Considered,
    Status::Decided,
    Status::AgreementActive,
    Status::UnderReview,
    Status::Closed,
];

fn same_team(user: &User, r: &Referral) -> bool {
    user.agency_id.is_some()
        && user.agency_id == r.agency_id
        && user.team.is_some()
        && user.team.as_deref().map(str::to_lowercase) == r.team.as_deref().map(str::to_lowercase)
}

/// The panels `user` sits on as a member, chair or deputy.
pub fn panels_sat_on(conn: &mut Conn, user_id: i64) -> DbResult<Vec<i64>> {
    Ok(crate::reference::members::panels_of_user(conn, user_id)?
        .into_iter()
        .map(|(id, ..)| id)
        .collect())
}

/// Whether `user` chairs the referral's panel.
pub fn chairs(conn: &mut Conn, user_id: i64, panel_id: i64) -> DbResult<bool> {
    Ok(conn
        .query_opt(
            "SELECT 1 FROM panel_members WHERE user_id = $1 AND panel_id = $2 AND is_chair",
            &params![user_id, panel_id],
        )?
        .is_some())
}

pub fn sight(conn: &mut Conn, user: &User, r: &Referral) -> DbResult<Sight> {
    if r.referrer_id == user.id
        || (user.has_any(&[Role::Referrer, Role::Approver]) && same_team(user, r))
        || user.has(Role::Administrator)
    {
        return Ok(Sight::Full);
    }
    if user.has(Role::Member)
        && r.status != Status::Draft
        && user.agency_id.is_some()
        && user.agency_id == r.agency_id
    {
        return Ok(Sight::Full);
    }
    if user.has_any(&[Role::Member, Role::Chair])
        && AT_PANEL.contains(&r.status)
        && panels_sat_on(conn, user.id)?.contains(&r.panel_id)
        && papers_open(conn, user, r)?
    {
        return Ok(Sight::Full);
    }
    if user.has(Role::Finance) && AT_PANEL.contains(&r.status) {
        return Ok(Sight::Money);
    }
    Ok(Sight::None)
}

/// A panel member reads a referral's papers until its meeting closes (SPEC §4:
/// papers are collected at the end of the meeting); the chair and the item's
/// lead member keep them as the record.
fn papers_open(conn: &mut Conn, user: &User, r: &Referral) -> DbResult<bool> {
    let Some(meeting) = r.meeting_id else {
        return Ok(true);
    };
    let row = conn.query_opt(
        "SELECT m.status, i.lead_user_id FROM meetings m
         LEFT JOIN agenda_items i ON i.meeting_id = m.id AND i.referral_id = $2 WHERE m.id = $1",
        &params![meeting, r.id],
    )?;
    let Some(row) = row else {
        return Ok(true);
    };
    let status: String = row.get(0)?;
    let lead: Option<i64> = row.get(1)?;
    Ok(status != "closed" || lead == Some(user.id) || chairs(conn, user.id, r.panel_id)?)
}

/// Whether `user` may approve or return the referral: an approver of the
/// referrer's team or a member for the referrer's agency, never the referrer.
pub fn may_approve(user: &User, r: &Referral) -> bool {
    user.id != r.referrer_id
        && ((user.has(Role::Approver) && same_team(user, r))
            || (user.has(Role::Member)
                && user.agency_id.is_some()
                && user.agency_id == r.agency_id))
}

/// Referrals `user` may see, newest first, optionally of one status; at most `limit`.
pub fn visible(
    conn: &mut Conn,
    user: &User,
    status: Option<Status>,
    limit: i64,
) -> DbResult<Vec<(Referral, Sight)>> {
    // A coarse SQL filter first (own, team, agency, panels, everything for
    // administrators and finance), then the exact rule in `sight`.
    let all = user.has_any(&[
        Role::Administrator,
        Role::Finance,
        Role::Chair,
        Role::Member,
    ]);
    let rows = conn.query(
        &format!(
            "{SELECT} WHERE ($1 OR r.referrer_id = $2 OR (r.agency_id = $3 AND LOWER(COALESCE(r.team, '')) = LOWER($4)))
               AND ($5 = '' OR r.status = $5)
             ORDER BY r.updated_at DESC, r.id DESC LIMIT $6"
        ),
        &params![
            all,
            user.id,
            user.agency_id.unwrap_or(0),
            user.team.clone().unwrap_or_default(),
            status.map_or("", Status::slug),
            limit * 4
        ],
    )?;
    let mut out = Vec::new();
    for row in &rows {
        let r = from_row(row)?;
        let s = sight(conn, user, &r)?;
        if s > Sight::None {
            out.push((r, s));
        }
        if out.len() as i64 >= limit {
            break;
        }
    }
    Ok(out)
}

/// Referrals waiting for `user`'s approval.
pub fn awaiting_approval_by(conn: &mut Conn, user: &User) -> DbResult<Vec<Referral>> {
    if !user.has_any(&[Role::Approver, Role::Member]) {
        return Ok(Vec::new());
    }
    let rows = conn.query(
        &format!("{SELECT} WHERE r.status = 'awaiting-approval' AND r.agency_id = $1 ORDER BY r.sent_at, r.id"),
        &params![user.agency_id.unwrap_or(0)],
    )?;
    let mut out = Vec::new();
    for row in &rows {
        let r = from_row(row)?;
        if may_approve(user, &r) {
            out.push(r);
        }
    }
    Ok(out)
}

/// Referrals asking the chair `user` to agree a late booking.
pub fn late_requests_for_chair(conn: &mut Conn, user_id: i64) -> DbResult<Vec<Referral>> {
    conn.query(
        &format!(
            "{SELECT} WHERE r.late_meeting_id IS NOT NULL AND r.late_agreed_by IS NULL
               AND r.panel_id IN (SELECT panel_id FROM panel_members WHERE user_id = $1 AND is_chair)
             ORDER BY r.submitted_at, r.id"
        ),
        &params![user_id],
    )?
    .iter()
    .map(from_row)
    .collect()
}

pub fn create(
    tx: &mut Tx<'_>,
    actor: &Actor,
    referrer: &User,
    child_id: i64,
    panel_id: i64,
) -> Result<i64, ChangeError> {
    if crate::children::get(tx, child_id)?.is_none() {
        return Err(ChangeError::Invalid(
            "Select the child the referral is for".into(),
        ));
    }
    if crate::reference::panels::get(tx, panel_id)?.is_none() {
        return Err(ChangeError::Invalid(
            "Select the panel the referral is for".into(),
        ));
    }
    let now = db::now();
    let id: i64 = tx
        .query_one(
            "INSERT INTO referrals (child_id, panel_id, status, referrer_id, agency_id, team, created_at, updated_at)
             VALUES ($1, $2, 'draft', $3, $4, $5, $6, $6) RETURNING id",
            &params![child_id, panel_id, referrer.id, referrer.agency_id, referrer.team.clone(), now],
        )?
        .get(0)?;
    audit::record(
        tx,
        actor,
        "referral.created",
        "referral",
        Some(id.to_string()),
        serde_json::json!({"child_id": child_id, "panel_id": panel_id}),
    )?;
    Ok(id)
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SectionState {
    pub answers: Answers,
    pub complete: bool,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

pub fn sections(conn: &mut Conn, referral_id: i64) -> DbResult<BTreeMap<String, SectionState>> {
    let mut out = BTreeMap::new();
    for r in conn.query(
        "SELECT section, answers, complete, version, updated_at FROM referral_sections WHERE referral_id = $1",
        &params![referral_id],
    )? {
        let text: String = r.get(1)?;
        out.insert(
            r.get::<String>(0)?,
            SectionState {
                answers: serde_json::from_str(&text).unwrap_or_default(),
                complete: r.get(2)?,
                version: r.get(3)?,
                updated_at: r.get(4)?,
            },
        );
    }
    Ok(out)
}

/// Locks the referral row and checks its content can still change.
fn editable(tx: &mut Tx<'_>, id: i64) -> Result<Referral, ChangeError> {
    let lock = tx.backend().for_update();
    tx.query_opt(
        &format!("SELECT id FROM referrals WHERE id = $1 {lock}"),
        &params![id],
    )?;
    let r = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    if !r.status.editable() {
        return Err(ChangeError::Invalid(format!(
            "This referral is “{}”: it can only be changed while it is a draft or returned for changes",
            r.status.label()
        )));
    }
    Ok(r)
}

fn touch(tx: &mut Tx<'_>, id: i64) -> DbResult<()> {
    tx.execute(
        "UPDATE referrals SET updated_at = $1 WHERE id = $2",
        &params![db::now(), id],
    )?;
    Ok(())
}

/// Saves one section. `version` is the section's version when it was read
/// (0 for a section not saved before); a newer saved version is a conflict.
pub fn save_section(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    section: &str,
    version: i64,
    answers: &Answers,
    complete: bool,
) -> Result<i64, ChangeError> {
    editable(tx, id)?;
    let json = serde_json::to_string(answers).map_err(|e| ChangeError::Invalid(e.to_string()))?;
    let now = db::now();
    let current: Option<i64> = tx
        .query_opt(
            "SELECT version FROM referral_sections WHERE referral_id = $1 AND section = $2",
            &params![id, section],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    let new_version = match current {
        None if version == 0 => {
            tx.execute(
                "INSERT INTO referral_sections (referral_id, section, answers, complete, version, updated_by, updated_at) VALUES ($1, $2, $3, $4, 1, $5, $6)",
                &params![id, section, json, complete, actor.user_id, now],
            )?;
            1
        }
        Some(v) if v == version => {
            tx.execute(
                "UPDATE referral_sections SET answers = $1, complete = $2, version = version + 1, updated_by = $3, updated_at = $4 WHERE referral_id = $5 AND section = $6",
                &params![json, complete, actor.user_id, now, id, section],
            )?;
            v + 1
        }
        Some(v) => return Err(ChangeError::Conflict { current: v }),
        None => return Err(ChangeError::Conflict { current: 0 }),
    };
    if section == "request" {
        let first = |k: &str| answers.get(k).and_then(|v| v.first()).cloned();
        tx.execute(
            "UPDATE referrals SET request_type = $1, need_level = $2 WHERE id = $3",
            &params![first("request_type"), first("need_level"), id],
        )?;
    }
    touch(tx, id)?;
    // The section's name, not its content: narratives stay out of the log.
    audit::record(
        tx,
        actor,
        "referral.section-saved",
        "referral",
        Some(id.to_string()),
        serde_json::json!({"section": section, "complete": complete, "version": new_version}),
    )?;
    Ok(new_version)
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StoredLine {
    pub id: i64,
    pub line: CostLine,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OptionRecord {
    pub id: i64,
    pub provider: String,
    pub description: String,
    pub lines: Vec<StoredLine>,
    pub version: i64,
}

pub fn options(conn: &mut Conn, referral_id: i64) -> DbResult<Vec<OptionRecord>> {
    let mut out: Vec<OptionRecord> = conn
        .query(
            "SELECT id, provider, description, version FROM referral_options WHERE referral_id = $1 ORDER BY id",
            &params![referral_id],
        )?
        .iter()
        .map(|r| {
            Ok(OptionRecord {
                id: r.get(0)?,
                provider: r.get(1)?,
                description: r.get(2)?,
                lines: Vec::new(),
                version: r.get(3)?,
            })
        })
        .collect::<DbResult<_>>()?;
    let lines = conn.query(
        "SELECT l.id, l.option_id, l.item, l.unit, l.unit_cost_pence, l.quantity_hundredths, l.start_date, l.end_date
         FROM cost_lines l JOIN referral_options o ON o.id = l.option_id WHERE o.referral_id = $1 ORDER BY l.id",
        &params![referral_id],
    )?;
    for r in &lines {
        let option_id: i64 = r.get(1)?;
        let unit: String = r.get(3)?;
        let line = StoredLine {
            id: r.get(0)?,
            line: CostLine {
                item: r.get(2)?,
                unit: Unit::parse(&unit).unwrap_or(Unit::OneOff),
                unit_cost: Pence(r.get(4)?),
                quantity: Quantity(r.get(5)?),
                start: r.get(6)?,
                end: r.get(7)?,
            },
        };
        if let Some(o) = out.iter_mut().find(|o| o.id == option_id) {
            o.lines.push(line);
        }
    }
    Ok(out)
}

/// The option's referral, checking the option belongs to `referral_id`.
fn option_of(tx: &mut Tx<'_>, referral_id: i64, option_id: i64) -> Result<(), ChangeError> {
    tx.query_opt(
        "SELECT id FROM referral_options WHERE id = $1 AND referral_id = $2",
        &params![option_id, referral_id],
    )?
    .map(|_| ())
    .ok_or(ChangeError::NotFound)
}

pub fn add_option(
    tx: &mut Tx<'_>,
    actor: &Actor,
    referral_id: i64,
    provider: &str,
    description: &str,
) -> Result<i64, ChangeError> {
    editable(tx, referral_id)?;
    let count: i64 = tx
        .query_one(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM referral_options WHERE referral_id = $1",
            &params![referral_id],
        )?
        .get(0)?;
    if count >= 10 {
        return Err(ChangeError::Invalid(
            "A referral can have at most 10 options; remove one first".into(),
        ));
    }
    let now = db::now();
    let id: i64 = tx
        .query_one(
            "INSERT INTO referral_options (referral_id, provider, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
            &params![referral_id, provider, description, now],
        )?
        .get(0)?;
    if count == 0 {
        tx.execute(
            "UPDATE referrals SET recommended_option_id = $1 WHERE id = $2",
            &params![id, referral_id],
        )?;
    }
    touch(tx, referral_id)?;
    audit::record(
        tx,
        actor,
        "referral.option-added",
        "referral",
        Some(referral_id.to_string()),
        serde_json::json!({"option_id": id}),
    )?;
    Ok(id)
}

pub fn update_option(
    tx: &mut Tx<'_>,
    actor: &Actor,
    referral_id: i64,
    option_id: i64,
    version: i64,
    provider: &str,
    description: &str,
) -> Result<(), ChangeError> {
    editable(tx, referral_id)?;
    option_of(tx, referral_id, option_id)?;
    let n = tx.execute(
        "UPDATE referral_options SET provider = $1, description = $2, version = version + 1, updated_at = $3 WHERE id = $4 AND version = $5",
        &params![provider, description, db::now(), option_id, version],
    )?;
    check_saved(tx, "referral_options", option_id, n)?;
    touch(tx, referral_id)?;
    audit::record(
        tx,
        actor,
        "referral.option-updated",
        "referral",
        Some(referral_id.to_string()),
        serde_json::json!({"option_id": option_id}),
    )?;
    Ok(())
}

pub fn remove_option(
    tx: &mut Tx<'_>,
    actor: &Actor,
    referral_id: i64,
    option_id: i64,
) -> Result<(), ChangeError> {
    editable(tx, referral_id)?;
    option_of(tx, referral_id, option_id)?;
    tx.execute(
        "DELETE FROM cost_lines WHERE option_id = $1",
        &params![option_id],
    )?;
    tx.execute(
        "DELETE FROM referral_options WHERE id = $1",
        &params![option_id],
    )?;
    tx.execute(
        "UPDATE referrals SET recommended_option_id = (SELECT MIN(id) FROM referral_options WHERE referral_id = $1)
         WHERE id = $1 AND (recommended_option_id = $2 OR recommended_option_id IS NULL)",
        &params![referral_id, option_id],
    )?;
    touch(tx, referral_id)?;
    audit::record(
        tx,
        actor,
        "referral.option-removed",
        "referral",
        Some(referral_id.to_string()),
        serde_json::json!({"option_id": option_id}),
    )?;
    Ok(())
}

pub fn add_line(
    tx: &mut Tx<'_>,
    actor: &Actor,
    referral_id: i64,
    option_id: i64,
    line: &CostLine,
) -> Result<i64, ChangeError> {
    editable(tx, referral_id)?;
    option_of(tx, referral_id, option_id)?;
    let problems =
        jp_domain::costs::check_line(line.unit_cost, line.quantity, line.start, line.end);
    if let Some((_, msg)) = problems.first() {
        return Err(ChangeError::Invalid(msg.clone()));
    }
    let count: i64 = tx
        .query_one(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM cost_lines WHERE option_id = $1",
            &params![option_id],
        )?
        .get(0)?;
    if count >= 50 {
        return Err(ChangeError::Invalid(
            "An option can have at most 50 cost lines".into(),
        ));
    }
    let id: i64 = tx
        .query_one(
            "INSERT INTO cost_lines (option_id, item, unit, unit_cost_pence, quantity_hundredths, start_date, end_date, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &params![
                option_id,
                &line.item,
                line.unit.slug(),
                line.unit_cost.0,
                line.quantity.0,
                line.start,
                line.end,
                db::now()
            ],
        )?
        .get(0)?;
    touch(tx, referral_id)?;
    audit::record(
        tx,
        actor,
        "referral.cost-line-added",
        "referral",
        Some(referral_id.to_string()),
        serde_json::json!({"option_id": option_id, "line_id": id, "unit_cost_pence": line.unit_cost.0,
            "unit": line.unit.slug(), "quantity_hundredths": line.quantity.0}),
    )?;
    Ok(id)
}

pub fn remove_line(
    tx: &mut Tx<'_>,
    actor: &Actor,
    referral_id: i64,
    option_id: i64,
    line_id: i64,
) -> Result<(), ChangeError> {
    editable(tx, referral_id)?;
    option_of(tx, referral_id, option_id)?;
    let n = tx.execute(
        "DELETE FROM cost_lines WHERE id = $1 AND option_id = $2",
        &params![line_id, option_id],
    )?;
    if n == 0 {
        return Err(ChangeError::NotFound);
    }
    touch(tx, referral_id)?;
    audit::record(
        tx,
        actor,
        "referral.cost-line-removed",
        "referral",
        Some(referral_id.to_string()),
        serde_json::json!({"option_id": option_id, "line_id": line_id}),
    )?;
    Ok(())
}

pub fn set_recommended(
    tx: &mut Tx<'_>,
    actor: &Actor,
    referral_id: i64,
    option_id: i64,
) -> Result<(), ChangeError> {
    editable(tx, referral_id)?;
    option_of(tx, referral_id, option_id)?;
    tx.execute(
        "UPDATE referrals SET recommended_option_id = $1, updated_at = $2 WHERE id = $3",
        &params![option_id, db::now(), referral_id],
    )?;
    audit::record(
        tx,
        actor,
        "referral.option-recommended",
        "referral",
        Some(referral_id.to_string()),
        serde_json::json!({"option_id": option_id}),
    )?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Approval {
    pub outcome: String,
    pub by_user: i64,
    pub by_name: String,
    pub comments: String,
    pub at: NaiveDateTime,
}

pub fn approvals(conn: &mut Conn, referral_id: i64) -> DbResult<Vec<Approval>> {
    conn.query(
        "SELECT outcome, by_user, by_name, comments, at FROM referral_approvals WHERE referral_id = $1 ORDER BY at, id",
        &params![referral_id],
    )?
    .iter()
    .map(|r| {
        Ok(Approval {
            outcome: r.get(0)?,
            by_user: r.get(1)?,
            by_name: r.get(2)?,
            comments: r.get(3)?,
            at: r.get(4)?,
        })
    })
    .collect()
}

/// Locks the referral, checks its version and that `action` is legal now.
fn begin_move(
    tx: &mut Tx<'_>,
    id: i64,
    version: i64,
    action: Action,
) -> Result<(Referral, Status), ChangeError> {
    let lock = tx.backend().for_update();
    tx.query_opt(
        &format!("SELECT id FROM referrals WHERE id = $1 {lock}"),
        &params![id],
    )?;
    let r = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    if r.version != version {
        return Err(ChangeError::Conflict { current: r.version });
    }
    let to = lifecycle::next(r.status, action).map_err(|e| ChangeError::Invalid(e.to_string()))?;
    Ok((r, to))
}

fn set_status(
    tx: &mut Tx<'_>,
    id: i64,
    to: Status,
    extra_sql: &str,
    extra: &[db::Value],
) -> DbResult<()> {
    let mut p = Vec::from(params![to.slug(), db::now(), id]);
    p.extend_from_slice(extra);
    tx.execute(
        &format!("UPDATE referrals SET status = $1, updated_at = $2, version = version + 1{extra_sql} WHERE id = $3"),
        &p,
    )?;
    Ok(())
}

fn record_move(
    tx: &mut Tx<'_>,
    actor: &Actor,
    r: &Referral,
    to: Status,
    action: Action,
    details: serde_json::Value,
) -> DbResult<()> {
    let mut d = serde_json::json!({"from": r.status.slug(), "to": to.slug()});
    if let (Some(m), serde_json::Value::Object(extra)) = (d.as_object_mut(), details) {
        m.extend(extra);
    }
    audit::record(
        tx,
        actor,
        &format!("referral.{}", action.slug()),
        "referral",
        Some(r.id.to_string()),
        d,
    )?;
    Ok(())
}

/// Sends the referral to its approvers. The caller has checked every section is complete.
pub fn send_for_approval(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
) -> Result<Referral, ChangeError> {
    let (r, to) = begin_move(tx, id, version, Action::SendForApproval)?;
    if actor.user_id != Some(r.referrer_id) {
        return Err(ChangeError::Invalid(
            "Only the referrer can send their referral for approval".into(),
        ));
    }
    set_status(tx, id, to, ", sent_at = $4", &params![db::now()])?;
    record_move(
        tx,
        actor,
        &r,
        to,
        Action::SendForApproval,
        serde_json::json!({}),
    )?;
    get(tx, id)?.ok_or(ChangeError::NotFound)
}

/// An approver approves the referral or returns it with comments.
pub fn decide_approval(
    tx: &mut Tx<'_>,
    actor: &Actor,
    approver: &User,
    id: i64,
    version: i64,
    approve: bool,
    comments: &str,
) -> Result<Referral, ChangeError> {
    let action = if approve {
        Action::Approve
    } else {
        Action::Return
    };
    let (r, to) = begin_move(tx, id, version, action)?;
    if approver.id == r.referrer_id {
        return Err(ChangeError::Invalid(
            "You cannot approve or return your own referral: a service manager or panel member must do it".into(),
        ));
    }
    if !may_approve(approver, &r) {
        return Err(ChangeError::Invalid(
            "Only an approver for the referrer's team or a panel member for their agency can approve this referral".into(),
        ));
    }
    if !approve && comments.trim().is_empty() {
        return Err(ChangeError::Invalid(
            "Enter what the referrer needs to change".into(),
        ));
    }
    let now = db::now();
    if approve {
        set_status(
            tx,
            id,
            to,
            ", approved_by = $4, approved_at = $5",
            &params![approver.id, now],
        )?;
    } else {
        set_status(tx, id, to, ", approved_by = NULL, approved_at = NULL", &[])?;
    }
    tx.execute(
        "INSERT INTO referral_approvals (referral_id, outcome, by_user, by_name, comments, at) VALUES ($1, $2, $3, $4, $5, $6)",
        &params![id, if approve { "approved" } else { "returned" }, approver.id, &approver.name, comments, now],
    )?;
    record_move(tx, actor, &r, to, action, serde_json::json!({}))?;
    get(tx, id)?.ok_or(ChangeError::NotFound)
}

/// Submits an approved referral and books it on `meeting` (the caller found
/// the next meeting whose submission deadline has not passed).
pub fn submit_and_book(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
    meeting: &Meeting,
) -> Result<Referral, ChangeError> {
    let (r, to) = begin_move(tx, id, version, Action::Submit)?;
    if r.approved_by.is_none() {
        return Err(ChangeError::Invalid(
            "A referral must be approved by a service manager or panel member before it is submitted".into(),
        ));
    }
    if meeting.panel_id != r.panel_id {
        return Err(ChangeError::Invalid(
            "That meeting is not of this referral's panel".into(),
        ));
    }
    let now = db::now();
    set_status(tx, id, to, ", submitted_at = $4", &params![now])?;
    record_move(tx, actor, &r, to, Action::Submit, serde_json::json!({}))?;
    let booked =
        lifecycle::next(to, Action::Book).map_err(|e| ChangeError::Invalid(e.to_string()))?;
    set_status(tx, id, booked, ", meeting_id = $4", &params![meeting.id])?;
    let r2 = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    record_move(
        tx,
        actor,
        &r2,
        booked,
        Action::Book,
        serde_json::json!({"meeting_id": meeting.id, "meeting_date": meeting.date}),
    )?;
    get(tx, id)?.ok_or(ChangeError::NotFound)
}

/// Asks the chair to take the (booked) referral at an earlier meeting whose deadline has passed.
pub fn request_late(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
    meeting: &Meeting,
    reason: &str,
) -> Result<Referral, ChangeError> {
    let r = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    if r.version != version {
        return Err(ChangeError::Conflict { current: r.version });
    }
    if r.status != Status::Booked {
        return Err(ChangeError::Invalid(
            "Only a booked referral can be put forward as a late item".into(),
        ));
    }
    if meeting.panel_id != r.panel_id || Some(meeting.id) == r.meeting_id {
        return Err(ChangeError::Invalid(
            "Choose another meeting of this referral's panel".into(),
        ));
    }
    tx.execute(
        "UPDATE referrals SET late_meeting_id = $1, late_reason = $2, late_agreed_by = NULL, late_agreed_at = NULL, version = version + 1, updated_at = $3 WHERE id = $4",
        &params![meeting.id, reason, db::now(), id],
    )?;
    audit::record(
        tx,
        actor,
        "referral.late-requested",
        "referral",
        Some(id.to_string()),
        serde_json::json!({"meeting_id": meeting.id, "meeting_date": meeting.date}),
    )?;
    get(tx, id)?.ok_or(ChangeError::NotFound)
}

/// The chair agrees (or refuses) the late item; agreeing moves the booking.
pub fn answer_late(
    tx: &mut Tx<'_>,
    actor: &Actor,
    chair: &User,
    id: i64,
    version: i64,
    agree: bool,
) -> Result<Referral, ChangeError> {
    let (r, to) = begin_move(tx, id, version, Action::Move)?;
    let Some(late_meeting) = r.late_meeting_id else {
        return Err(ChangeError::Invalid(
            "No late booking has been asked for".into(),
        ));
    };
    if !chairs(tx, chair.id, r.panel_id)? {
        return Err(ChangeError::Invalid(
            "Only the panel's chair can agree a late item".into(),
        ));
    }
    if agree {
        set_status(
            tx,
            id,
            to,
            ", meeting_id = $4, late = TRUE, late_agreed_by = $5, late_agreed_at = $6, late_meeting_id = NULL",
            &params![late_meeting, chair.id, db::now()],
        )?;
    } else {
        set_status(
            tx,
            id,
            to,
            ", late_meeting_id = NULL, late_reason = NULL",
            &[],
        )?;
    }
    audit::record(
        tx,
        actor,
        if agree {
            "referral.late-agreed"
        } else {
            "referral.late-refused"
        },
        "referral",
        Some(id.to_string()),
        serde_json::json!({"meeting_id": late_meeting}),
    )?;
    get(tx, id)?.ok_or(ChangeError::NotFound)
}

/// The administrator moves a booked referral to another meeting. A meeting
/// whose submission deadline has passed (`late`) needs the chair's agreement,
/// which the chair records through [`answer_late`]; here it is refused.
pub fn move_to(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
    meeting: &Meeting,
    late: bool,
) -> Result<Referral, ChangeError> {
    let (r, to) = begin_move(tx, id, version, Action::Move)?;
    if meeting.panel_id != r.panel_id {
        return Err(ChangeError::Invalid(
            "That meeting is not of this referral's panel".into(),
        ));
    }
    if late {
        return Err(ChangeError::Invalid(
            "The submission deadline for that meeting has passed: ask the chair to agree it as a late item".into(),
        ));
    }
    set_status(
        tx,
        id,
        to,
        ", meeting_id = $4, late = FALSE",
        &params![meeting.id],
    )?;
    record_move(
        tx,
        actor,
        &r,
        to,
        Action::Move,
        serde_json::json!({"meeting_id": meeting.id, "meeting_date": meeting.date}),
    )?;
    get(tx, id)?.ok_or(ChangeError::NotFound)
}

/// The panel has considered the referral at its meeting (the decision follows).
pub fn consider(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
) -> Result<Referral, ChangeError> {
    let (r, to) = begin_move(tx, id, version, Action::Consider)?;
    set_status(tx, id, to, "", &[])?;
    record_move(tx, actor, &r, to, Action::Consider, serde_json::json!({}))?;
    get(tx, id)?.ok_or(ChangeError::NotFound)
}

/// Withdraws the referral before a decision.
pub fn withdraw(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
) -> Result<Referral, ChangeError> {
    let (r, to) = begin_move(tx, id, version, Action::Withdraw)?;
    set_status(tx, id, to, ", closure_reason = 'withdrawn'", &[])?;
    record_move(tx, actor, &r, to, Action::Withdraw, serde_json::json!({}))?;
    crate::actions::withdraw_recommendations(tx, actor, id)?;
    get(tx, id)?.ok_or(ChangeError::NotFound)
}

/// Who is told a referral awaits approval: the approvers of the referrer's
/// team; when the team has none, the panel members of the referrer's agency.
pub fn approvers_of(conn: &mut Conn, r: &Referral) -> DbResult<Vec<User>> {
    let users: Vec<User> = crate::accounts::list(conn)?
        .into_iter()
        .filter(|u| u.active && may_approve(u, r))
        .collect();
    let team: Vec<User> = users
        .iter()
        .filter(|u| u.has(Role::Approver))
        .cloned()
        .collect();
    Ok(if team.is_empty() { users } else { team })
}

/// The active chairs of a panel.
pub fn chairs_of(conn: &mut Conn, panel_id: i64) -> DbResult<Vec<User>> {
    let ids: Vec<i64> = conn
        .query(
            "SELECT user_id FROM panel_members WHERE panel_id = $1 AND is_chair",
            &params![panel_id],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect::<DbResult<_>>()?;
    let mut out = Vec::new();
    for id in ids {
        if let Some(u) = crate::accounts::get(conn, id)?.filter(|u| u.active) {
            out.push(u);
        }
    }
    Ok(out)
}

/// The active panel administrators (business support), who book meetings.
pub fn administrators(conn: &mut Conn) -> DbResult<Vec<User>> {
    Ok(crate::accounts::list(conn)?
        .into_iter()
        .filter(|u| u.active && u.has(Role::Administrator))
        .collect())
}

/// The referrals booked onto a meeting (not withdrawn), late items last.
pub fn on_meeting(conn: &mut Conn, meeting_id: i64) -> DbResult<Vec<Referral>> {
    conn.query(
        &format!("{SELECT} WHERE r.meeting_id = $1 AND r.status <> 'closed' ORDER BY r.late, r.submitted_at, r.id"),
        &params![meeting_id],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// Moves the referral by `action` as part of another change (a decision's
/// sign-off, an agreement's activation) that has already checked its own
/// version: the referral is locked and moved from whatever status it has now,
/// if the lifecycle allows. `extra_sql` sets more columns from `$4` on.
pub(crate) fn advance(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    action: Action,
    extra_sql: &str,
    extra: &[db::Value],
    details: serde_json::Value,
) -> Result<Referral, ChangeError> {
    let current = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    let (r, to) = begin_move(tx, id, current.version, action)?;
    set_status(tx, id, to, extra_sql, extra)?;
    record_move(tx, actor, &r, to, action, details)?;
    get(tx, id)?.ok_or(ChangeError::NotFound)
}

/// Closes a decided referral with one of the seed's reasons (the family has
/// accessed a suitable programme, or no longer needs the panel), ending its
/// agreement on `on`: the committed cost stops there.
pub fn close(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
    reason: &str,
    on: NaiveDate,
) -> Result<Referral, ChangeError> {
    let Some((_, label)) = lifecycle::CLOSURE_REASONS
        .iter()
        .find(|(k, _)| *k == reason && matches!(*k, "suitable-programme" | "no-longer-in-need"))
    else {
        return Err(ChangeError::Invalid(
            "Select why the referral is being closed".into(),
        ));
    };
    let (r, to) = begin_move(tx, id, version, Action::Close)?;
    if let Some(a) = crate::agreements::of_referral(tx, id)? {
        crate::agreements::end(tx, actor, a.id, on, &format!("Closed: {label}"))?;
    }
    set_status(
        tx,
        id,
        to,
        ", closure_reason = $4, closed_on = $5",
        &params![reason, on],
    )?;
    record_move(
        tx,
        actor,
        &r,
        to,
        Action::Close,
        serde_json::json!({"reason": reason, "on": on}),
    )?;
    get(tx, id)?.ok_or(ChangeError::NotFound)
}
