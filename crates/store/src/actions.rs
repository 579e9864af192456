//! Actions (SPEC §1): a task with an owner and a due date, from a minute, a
//! decision or an absent agency's recommendation; listed on the owner's home
//! page and chased by e-mail when overdue. Recommendations to absent agencies
//! (seed 000 §3.5): the agency accepts, or rejects with a reason; the outcome
//! is final only on acceptance.

use crate::accounts::User;
use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::{Actor, ChangeError, audit, params};
use chrono::{NaiveDate, NaiveDateTime};
use jp_domain::Role;
use serde::Serialize;

/// Where an action came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Minute,
    Recommendation,
    Decision,
    Review,
    /// A child with an active agreement nears 18 (SPEC §7).
    Transition,
}

impl Source {
    pub fn slug(self) -> &'static str {
        match self {
            Source::Minute => "minute",
            Source::Recommendation => "recommendation",
            Source::Decision => "decision",
            Source::Review => "review",
            Source::Transition => "transition",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewAction {
    pub title: String,
    pub owner_id: i64,
    pub due: NaiveDate,
    pub source: Source,
    pub meeting_id: Option<i64>,
    pub item_id: Option<i64>,
    pub referral_id: Option<i64>,
    pub recommendation_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Action {
    pub id: i64,
    pub title: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub owner_email: String,
    pub due_date: NaiveDate,
    /// "open", "done" or "cancelled"
    pub status: String,
    pub source: String,
    pub meeting_id: Option<i64>,
    pub item_id: Option<i64>,
    pub referral_id: Option<i64>,
    pub recommendation_id: Option<i64>,
    pub done_at: Option<NaiveDateTime>,
    pub version: i64,
}

impl Action {
    pub fn overdue(&self, today: impl std::borrow::Borrow<NaiveDate>) -> bool {
        self.status == "open" && self.due_date < *today.borrow()
    }
}

const SELECT: &str =
    "SELECT a.id, a.title, a.owner_id, u.name, u.email, a.due_date, a.status, a.source,
    a.meeting_id, a.item_id, a.referral_id, a.recommendation_id, a.done_at, a.version
    FROM actions a JOIN users u ON u.id = a.owner_id";

fn from_row(r: &Row) -> DbResult<Action> {
    Ok(Action {
        id: r.get(0)?,
        title: r.get(1)?,
        owner_id: r.get(2)?,
        owner_name: r.get(3)?,
        owner_email: r.get(4)?,
        due_date: r.get(5)?,
        status: r.get(6)?,
        source: r.get(7)?,
        meeting_id: r.get(8)?,
        item_id: r.get(9)?,
        referral_id: r.get(10)?,
        recommendation_id: r.get(11)?,
        done_at: r.get(12)?,
        version: r.get(13)?,
    })
}

fn select(conn: &mut Conn, filter: &str, p: &[db::Value]) -> DbResult<Vec<Action>> {
    conn.query(&format!("{SELECT} {filter}"), p)?
        .iter()
        .map(from_row)
        .collect()
}

pub fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Action>> {
    Ok(select(conn, "WHERE a.id = $1", &params![id])?.pop())
}

/// Creates an action. Audited.
pub fn create(tx: &mut Tx<'_>, actor: &Actor, a: &NewAction) -> Result<i64, ChangeError> {
    let title = jp_domain::text::required(&a.title, "what is to be done", 300)
        .map_err(ChangeError::Invalid)?;
    let owner = crate::accounts::get(tx, a.owner_id)?
        .filter(|u| u.active)
        .ok_or_else(|| ChangeError::Invalid("Select an active person to own the action".into()))?;
    let id: i64 = tx
        .query_one(
            "INSERT INTO actions (title, owner_id, due_date, status, source, meeting_id, item_id, referral_id, recommendation_id, created_by, created_at)
             VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            &params![&title, owner.id, a.due, a.source.slug(), a.meeting_id, a.item_id, a.referral_id, a.recommendation_id, actor.user_id, db::now()],
        )?
        .get(0)?;
    audit::record(
        tx,
        actor,
        "action.created",
        "action",
        Some(id.to_string()),
        serde_json::json!({"owner_id": owner.id, "due": a.due, "source": a.source.slug(), "meeting_id": a.meeting_id, "referral_id": a.referral_id}),
    )?;
    Ok(id)
}

/// A person's open actions, soonest due first, then their last ten done.
pub fn of_owner(conn: &mut Conn, user_id: i64) -> DbResult<Vec<Action>> {
    select(
        conn,
        "WHERE a.owner_id = $1 AND a.status = 'open' ORDER BY a.due_date, a.id",
        &params![user_id],
    )
}

/// The actions arising from a meeting, in the order they were made.
pub fn of_meeting(conn: &mut Conn, meeting_id: i64) -> DbResult<Vec<Action>> {
    select(
        conn,
        "WHERE a.meeting_id = $1 ORDER BY a.id",
        &params![meeting_id],
    )
}

/// Every open action past its due date, oldest first.
pub fn overdue(conn: &mut Conn, today: NaiveDate) -> DbResult<Vec<Action>> {
    select(
        conn,
        "WHERE a.status = 'open' AND a.due_date < $1 ORDER BY a.due_date, a.id",
        &params![today],
    )
}

/// The owner (or a panel administrator) marks an action done. Actions answering
/// a recommendation are closed by the agency's response instead.
pub fn complete(
    tx: &mut Tx<'_>,
    actor: &Actor,
    user: &User,
    id: i64,
    version: i64,
) -> Result<Action, ChangeError> {
    let a = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    if a.owner_id != user.id && !user.has(Role::Administrator) {
        return Err(ChangeError::Invalid(
            "Only the action's owner or a panel administrator can mark it done".into(),
        ));
    }
    if a.version != version {
        return Err(ChangeError::Conflict { current: a.version });
    }
    if a.status != "open" {
        return Err(ChangeError::Invalid(format!(
            "This action is already {}",
            a.status
        )));
    }
    if a.recommendation_id.is_some() {
        return Err(ChangeError::Invalid(
            "Record the agency's response to the recommendation: that completes this action".into(),
        ));
    }
    finish(tx, actor, id, "done", user.id)?;
    get(tx, id)?.ok_or(ChangeError::NotFound)
}

fn finish(tx: &mut Tx<'_>, actor: &Actor, id: i64, status: &str, by: i64) -> DbResult<()> {
    tx.execute(
        "UPDATE actions SET status = $1, done_by = $2, done_at = $3, version = version + 1 WHERE id = $4 AND status = 'open'",
        &params![status, by, db::now(), id],
    )?;
    audit::record(
        tx,
        actor,
        &format!("action.{status}"),
        "action",
        Some(id.to_string()),
        serde_json::json!({}),
    )?;
    Ok(())
}

/// Claims the open actions due on or before `today` that have not been chased
/// today, marking them chased; each is claimed by one caller only, even with
/// several nodes (the update is conditional).
pub fn claim_for_chasing(tx: &mut Tx<'_>, today: NaiveDate) -> DbResult<Vec<Action>> {
    let due = select(
        tx,
        "WHERE a.status = 'open' AND a.due_date <= $1 AND (a.last_chased_on IS NULL OR a.last_chased_on < $1) ORDER BY a.id",
        &params![today],
    )?;
    let mut claimed = Vec::new();
    for a in due {
        let n = tx.execute(
            "UPDATE actions SET last_chased_on = $1 WHERE id = $2 AND status = 'open' AND (last_chased_on IS NULL OR last_chased_on < $1)",
            &params![today, a.id],
        )?;
        if n == 1 {
            claimed.push(a);
        }
    }
    Ok(claimed)
}

/// A recommendation to an agency that was not represented.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Recommendation {
    pub id: i64,
    pub item_id: i64,
    pub meeting_id: i64,
    pub meeting_date: NaiveDate,
    pub panel_id: i64,
    pub referral_id: Option<i64>,
    pub child_local_id: Option<String>,
    pub agency_id: i64,
    pub agency_name: String,
    pub due_date: NaiveDate,
    /// "awaiting", "accepted", "rejected" or "withdrawn"
    pub status: String,
    pub reason: String,
    pub responded_by: Option<String>,
    pub responded_at: Option<NaiveDateTime>,
    pub version: i64,
}

impl Recommendation {
    pub fn overdue(&self, today: impl std::borrow::Borrow<NaiveDate>) -> bool {
        self.status == "awaiting" && self.due_date < *today.borrow()
    }
    pub fn status_label(&self) -> &'static str {
        match self.status.as_str() {
            "awaiting" => "Awaiting the agency's response",
            "accepted" => "Accepted: the decision is final",
            "rejected" => "Rejected by the agency",
            _ => "Withdrawn with the referral",
        }
    }
}

const REC_SELECT: &str = "SELECT r.id, r.item_id, r.meeting_id, m.meeting_date, m.panel_id, r.referral_id, c.local_id,
    r.agency_id, g.name, r.due_date, r.status, r.reason, u.name, r.responded_at, r.version
    FROM recommendations r JOIN meetings m ON m.id = r.meeting_id JOIN agencies g ON g.id = r.agency_id
    LEFT JOIN referrals f ON f.id = r.referral_id LEFT JOIN children c ON c.id = f.child_id
    LEFT JOIN users u ON u.id = r.responded_by";

fn rec_from_row(r: &Row) -> DbResult<Recommendation> {
    Ok(Recommendation {
        id: r.get(0)?,
        item_id: r.get(1)?,
        meeting_id: r.get(2)?,
        meeting_date: r.get(3)?,
        panel_id: r.get(4)?,
        referral_id: r.get(5)?,
        child_local_id: r.get(6)?,
        agency_id: r.get(7)?,
        agency_name: r.get(8)?,
        due_date: r.get(9)?,
        status: r.get(10)?,
        reason: r.get(11)?,
        responded_by: r.get(12)?,
        responded_at: r.get(13)?,
        version: r.get(14)?,
    })
}

fn recs(conn: &mut Conn, filter: &str, p: &[db::Value]) -> DbResult<Vec<Recommendation>> {
    conn.query(&format!("{REC_SELECT} {filter}"), p)?
        .iter()
        .map(rec_from_row)
        .collect()
}

pub fn recommendation(conn: &mut Conn, id: i64) -> DbResult<Option<Recommendation>> {
    Ok(recs(conn, "WHERE r.id = $1", &params![id])?.pop())
}

pub fn recommendations_of_meeting(
    conn: &mut Conn,
    meeting_id: i64,
) -> DbResult<Vec<Recommendation>> {
    recs(
        conn,
        "WHERE r.meeting_id = $1 ORDER BY r.id",
        &params![meeting_id],
    )
}

pub fn recommendations_of_referral(
    conn: &mut Conn,
    referral_id: i64,
) -> DbResult<Vec<Recommendation>> {
    recs(
        conn,
        "WHERE r.referral_id = $1 ORDER BY r.id",
        &params![referral_id],
    )
}

/// Awaiting responses past their due date (for the administrator's and chair's pages).
pub fn overdue_recommendations(conn: &mut Conn, today: NaiveDate) -> DbResult<Vec<Recommendation>> {
    recs(
        conn,
        "WHERE r.status = 'awaiting' AND r.due_date < $1 ORDER BY r.due_date, r.id",
        &params![today],
    )
}

/// Whether `user` may answer for the agency on the recommendation's panel:
/// one of its members or their named deputies.
pub fn speaks_for(conn: &mut Conn, user_id: i64, panel_id: i64, agency_id: i64) -> DbResult<bool> {
    Ok(crate::meeting_run::seats(conn, panel_id)?
        .iter()
        .filter(|s| s.agency_id == agency_id)
        .any(|s| {
            s.members
                .iter()
                .chain(&s.deputies)
                .any(|(id, _)| *id == user_id)
        }))
}

/// Awaiting recommendations the user may answer for: those to an agency the
/// user sits for, or deputises for, on the meeting's panel (one query: this
/// runs on every home page).
pub fn awaiting_for(conn: &mut Conn, user_id: i64) -> DbResult<Vec<Recommendation>> {
    recs(
        conn,
        "WHERE r.status = 'awaiting' AND EXISTS (
             SELECT 1 FROM panel_members pm LEFT JOIN member_deputies d ON d.member_id = pm.id
             WHERE pm.panel_id = m.panel_id AND pm.agency_id = r.agency_id AND (pm.user_id = $1 OR d.user_id = $1))
         ORDER BY r.due_date, r.id",
        &params![user_id],
    )
}

/// What the agency answers.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    pub accept: bool,
    /// The reason (required to reject) or a comment.
    pub reason: &'a str,
}

/// The agency's response: accept, or reject with a reason. A member or deputy
/// of the agency, or a panel administrator recording it on the agency's behalf.
pub fn respond(
    tx: &mut Tx<'_>,
    actor: &Actor,
    user: &User,
    id: i64,
    version: i64,
    answer: &Answer<'_>,
    today: NaiveDate,
) -> Result<Recommendation, ChangeError> {
    let (accept, reason) = (answer.accept, answer.reason);
    let lock = tx.backend().for_update();
    tx.query_opt(
        &format!("SELECT id FROM recommendations WHERE id = $1 {lock}"),
        &params![id],
    )?;
    let r = recommendation(tx, id)?.ok_or(ChangeError::NotFound)?;
    if !user.has(Role::Administrator) && !speaks_for(tx, user.id, r.panel_id, r.agency_id)? {
        return Err(ChangeError::Invalid(format!(
            "Only {}'s member or deputies on the panel, or a panel administrator, can record its response",
            r.agency_name
        )));
    }
    if r.version != version {
        return Err(ChangeError::Conflict { current: r.version });
    }
    match r.status.as_str() {
        "awaiting" => {}
        "withdrawn" => {
            return Err(ChangeError::Invalid(
                "The referral was withdrawn, so this recommendation no longer stands: there is nothing to respond to".into(),
            ));
        }
        other => {
            return Err(ChangeError::Invalid(format!(
                "{} has already responded ({other})",
                r.agency_name
            )));
        }
    }
    if let Some(rid) = r.referral_id
        && crate::referrals::get(tx, rid)?
            .is_some_and(|f| f.status == jp_domain::lifecycle::Status::Closed)
    {
        return Err(ChangeError::Invalid(
            "The referral has been withdrawn or closed, so this recommendation no longer stands"
                .into(),
        ));
    }
    let reason = if accept {
        jp_domain::text::optional(reason, "the comment", 2000)
            .map_err(ChangeError::Invalid)?
            .unwrap_or_default()
    } else {
        jp_domain::text::required(reason, "the reason for rejecting", 2000).map_err(|_| {
            ChangeError::Invalid(format!(
                "Give {}'s reason for rejecting the recommendation",
                r.agency_name
            ))
        })?
    };
    let status = if accept { "accepted" } else { "rejected" };
    tx.execute(
        "UPDATE recommendations SET status = $1, reason = $2, responded_by = $3, responded_at = $4, version = version + 1 WHERE id = $5",
        &params![status, &reason, user.id, db::now(), id],
    )?;
    let open: Vec<i64> = tx
        .query(
            "SELECT id FROM actions WHERE recommendation_id = $1 AND status = 'open'",
            &params![id],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect::<DbResult<_>>()?;
    for a in open {
        finish(tx, actor, a, "done", user.id)?;
    }
    audit::record(
        tx,
        actor,
        &format!("recommendation.{status}"),
        "recommendation",
        Some(id.to_string()),
        serde_json::json!({"agency_id": r.agency_id, "referral_id": r.referral_id, "on_time": today <= r.due_date}),
    )?;
    // The last acceptance may release the referral's pending agreement.
    if accept && let Some(rid) = r.referral_id {
        crate::decisions::try_activate(tx, actor, rid)?;
    }
    recommendation(tx, id)?.ok_or(ChangeError::NotFound)
}

/// When a referral is withdrawn its awaiting recommendations lapse and their
/// actions are cancelled.
pub fn withdraw_recommendations(tx: &mut Tx<'_>, actor: &Actor, referral_id: i64) -> DbResult<()> {
    let ids: Vec<i64> = tx
        .query(
            "SELECT id FROM recommendations WHERE referral_id = $1 AND status = 'awaiting'",
            &params![referral_id],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect::<DbResult<_>>()?;
    for id in ids {
        tx.execute(
            "UPDATE recommendations SET status = 'withdrawn', version = version + 1 WHERE id = $1",
            &params![id],
        )?;
        let actions: Vec<i64> = tx
            .query(
                "SELECT id FROM actions WHERE recommendation_id = $1 AND status = 'open'",
                &params![id],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect::<DbResult<_>>()?;
        for a in actions {
            tx.execute(
                "UPDATE actions SET status = 'cancelled', done_at = $1, version = version + 1 WHERE id = $2",
                &params![db::now(), a],
            )?;
        }
        audit::record(
            tx,
            actor,
            "recommendation.withdrawn",
            "recommendation",
            Some(id.to_string()),
            serde_json::json!({"referral_id": referral_id}),
        )?;
    }
    Ok(())
}
