//! Decisions (SPEC §5, Part E). A decision is drafted after the panel has
//! considered the referral, signed off by the panel's chair, and from then on
//! never changed: a correction is a new decision linked to the one it corrects,
//! and both stay on the record. Signing moves the referral (decided, deferred
//! to a later meeting, or declined and closed), creates the funding agreement
//! the decision commits, the key worker's actions, and a recommendation to
//! each affected agency nobody represented at the meeting. An agreement above
//! the panel's delegated authority stays pending until the named higher
//! authority's agreement is recorded.

use crate::accounts::User;
use crate::agreements::{self, Terms};
use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::meeting_run::Recommended;
use crate::meetings::Meeting;
use crate::referrals::{self, Referral};
use crate::{Actor, ChangeError, actions, audit, params};
use chrono::{NaiveDate, NaiveDateTime};
use jp_domain::Pence;
use jp_domain::costs::CostLine;
use jp_domain::decision::{self, Draft, Outcome};
use jp_domain::lifecycle::{Action, Status};
use serde::{Deserialize, Serialize};

/// Who spoke for each agency when the panel considered the item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Present {
    pub agency_id: i64,
    pub agency: String,
    pub presence: String,
    pub person: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub id: i64,
    pub referral_id: i64,
    pub meeting_id: Option<i64>,
    pub item_id: Option<i64>,
    pub corrects_id: Option<i64>,
    pub corrected_by_id: Option<i64>,
    /// draft or signed
    pub status: String,
    pub draft: Draft,
    pub present: Vec<Present>,
    pub total: Pence,
    pub delegated_limit: Pence,
    pub authority: String,
    /// not-needed, pending or agreed
    pub authority_status: String,
    pub authority_agreed_by: Option<String>,
    pub authority_agreed_on: Option<NaiveDate>,
    pub letter_due: Option<NaiveDate>,
    pub signed_by: Option<i64>,
    pub signed_by_name: Option<String>,
    pub signed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub version: i64,
}

impl Decision {
    pub fn signed(&self) -> bool {
        self.status == "signed"
    }
    pub fn outcome(&self) -> Option<Outcome> {
        self.draft.outcome
    }
    pub fn outcome_label(&self) -> &'static str {
        self.draft.outcome.map_or("Not yet chosen", Outcome::label)
    }
    pub fn authority_pending(&self) -> bool {
        self.authority_status == "pending"
    }
}

const SELECT: &str = "SELECT d.id, d.referral_id, d.meeting_id, d.item_id, d.corrects_id,
    (SELECT c.id FROM decisions c WHERE c.corrects_id = d.id), d.status, d.draft, d.present, d.total_pence,
    d.delegated_limit_pence, d.authority, d.authority_status, d.authority_agreed_by, d.authority_agreed_on,
    d.letter_due, d.signed_by, u.name, d.signed_at, d.created_at, d.version
    FROM decisions d LEFT JOIN users u ON u.id = d.signed_by";

fn from_row(r: &Row) -> DbResult<Decision> {
    let draft: String = r.get(7)?;
    let present: String = r.get(8)?;
    Ok(Decision {
        id: r.get(0)?,
        referral_id: r.get(1)?,
        meeting_id: r.get(2)?,
        item_id: r.get(3)?,
        corrects_id: r.get(4)?,
        corrected_by_id: r.get(5)?,
        status: r.get(6)?,
        draft: serde_json::from_str(&draft).map_err(|e| db::DbError::Other(e.to_string()))?,
        present: serde_json::from_str(&present).unwrap_or_default(),
        total: Pence(r.get(9)?),
        delegated_limit: Pence(r.get(10)?),
        authority: r.get(11)?,
        authority_status: r.get(12)?,
        authority_agreed_by: r.get(13)?,
        authority_agreed_on: r.get(14)?,
        letter_due: r.get(15)?,
        signed_by: r.get(16)?,
        signed_by_name: r.get(17)?,
        signed_at: r.get(18)?,
        created_at: r.get(19)?,
        version: r.get(20)?,
    })
}

pub fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Decision>> {
    conn.query_opt(&format!("{SELECT} WHERE d.id = $1"), &params![id])?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Every decision on the referral, oldest first (corrections after what they correct).
pub fn of_referral(conn: &mut Conn, referral_id: i64) -> DbResult<Vec<Decision>> {
    conn.query(
        &format!("{SELECT} WHERE d.referral_id = $1 ORDER BY d.id"),
        &params![referral_id],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// The signed decisions about a child's referrals, newest first (the child's record).
pub fn of_child(conn: &mut Conn, child_id: i64) -> DbResult<Vec<Decision>> {
    conn.query(
        &format!(
            "{SELECT} JOIN referrals r ON r.id = d.referral_id WHERE r.child_id = $1 AND d.status = 'signed'
             ORDER BY d.signed_at DESC, d.id DESC"
        ),
        &params![child_id],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// The decision in force: the latest signed one that nothing corrects.
pub fn in_force(conn: &mut Conn, referral_id: i64) -> DbResult<Option<Decision>> {
    Ok(in_force_of(&of_referral(conn, referral_id)?).cloned())
}

/// The decision in force among a referral's decisions (oldest first).
pub fn in_force_of(decisions: &[Decision]) -> Option<&Decision> {
    decisions
        .iter()
        .rev()
        .find(|d| d.signed() && d.corrected_by_id.is_none())
}

fn lock(tx: &mut Tx<'_>, id: i64, version: i64) -> Result<Decision, ChangeError> {
    let lock = tx.backend().for_update();
    tx.query_opt(
        &format!("SELECT id FROM decisions WHERE id = $1 {lock}"),
        &params![id],
    )?;
    let d = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    if d.version != version {
        return Err(ChangeError::Conflict { current: d.version });
    }
    Ok(d)
}

fn signed_already(d: &Decision) -> ChangeError {
    ChangeError::Invalid(format!(
        "This decision was signed off by {} on {} and cannot be changed; record a correction instead",
        d.signed_by_name.as_deref().unwrap_or("the chair"),
        d.signed_at
            .map(|t| jp_domain::referral_form::long_date(t.date()))
            .unwrap_or_default()
    ))
}

fn insert(
    tx: &mut Tx<'_>,
    actor: &Actor,
    r: &Referral,
    corrects: Option<i64>,
    draft: &Draft,
) -> Result<i64, ChangeError> {
    let item: Option<i64> = match r.meeting_id {
        Some(m) => tx
            .query_opt(
                "SELECT id FROM agenda_items WHERE meeting_id = $1 AND referral_id = $2",
                &params![m, r.id],
            )?
            .map(|row| row.get(0))
            .transpose()?,
        None => None,
    };
    let json = serde_json::to_string(draft).map_err(|e| ChangeError::Invalid(e.to_string()))?;
    let now = db::now();
    let id: i64 = tx
        .query_one(
            "INSERT INTO decisions (referral_id, meeting_id, item_id, corrects_id, status, outcome, draft, review_date,
                created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, $9, $9) RETURNING id",
            &params![
                r.id,
                r.meeting_id,
                item,
                corrects,
                draft.outcome.map_or("", Outcome::slug),
                json,
                draft.review_date,
                actor.user_id,
                now
            ],
        )
        .map_err(|e| {
            if e.is_unique_violation() {
                ChangeError::Invalid(
                    "A draft decision (or a correction of this decision) is already being recorded; open it from the referral's decision page".into(),
                )
            } else {
                e.into()
            }
        })?
        .get(0)?;
    audit::record(
        tx,
        actor,
        if corrects.is_some() {
            "decision.correction-started"
        } else {
            "decision.started"
        },
        "decision",
        Some(id.to_string()),
        serde_json::json!({"referral_id": r.id, "corrects": corrects}),
    )?;
    Ok(id)
}

/// Starts the decision on a referral the panel has considered.
pub fn start(
    tx: &mut Tx<'_>,
    actor: &Actor,
    referral_id: i64,
    draft: &Draft,
) -> Result<i64, ChangeError> {
    let r = referrals::get(tx, referral_id)?.ok_or(ChangeError::NotFound)?;
    if r.status != Status::Considered {
        return Err(ChangeError::Invalid(format!(
            "A decision is recorded after the panel has considered the referral at its meeting; this referral is “{}”",
            r.status.label()
        )));
    }
    insert(tx, actor, &r, None, draft)
}

/// Starts a correction of a signed decision, as a copy of it to edit.
pub fn start_correction(
    tx: &mut Tx<'_>,
    actor: &Actor,
    decision_id: i64,
) -> Result<i64, ChangeError> {
    let d = get(tx, decision_id)?.ok_or(ChangeError::NotFound)?;
    if !d.signed() {
        return Err(ChangeError::Invalid(
            "Only a signed decision is corrected; change the draft itself".into(),
        ));
    }
    if let Some(c) = d.corrected_by_id {
        return Err(ChangeError::Invalid(format!(
            "This decision is already corrected by decision {c}; correct that one instead"
        )));
    }
    let r = referrals::get(tx, d.referral_id)?.ok_or(ChangeError::NotFound)?;
    if r.status == Status::Closed {
        return Err(ChangeError::Invalid(
            "The referral is closed; its decisions can no longer be corrected".into(),
        ));
    }
    insert(tx, actor, &r, Some(d.id), &d.draft)
}

/// Saves a draft's fields (already read and checked for consistency).
pub fn save(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
    draft: &Draft,
) -> Result<Decision, ChangeError> {
    let d = lock(tx, id, version)?;
    if d.signed() {
        return Err(signed_already(&d));
    }
    let json = serde_json::to_string(draft).map_err(|e| ChangeError::Invalid(e.to_string()))?;
    tx.execute(
        "UPDATE decisions SET draft = $1, outcome = $2, review_date = $3, updated_at = $4, version = version + 1 WHERE id = $5",
        &params![
            json,
            draft.outcome.map_or("", Outcome::slug),
            draft.review_date,
            db::now(),
            id
        ],
    )?;
    audit::record(
        tx,
        actor,
        "decision.saved",
        "decision",
        Some(id.to_string()),
        serde_json::json!({"outcome": draft.outcome, "option_id": draft.option_id, "shares": draft.shares,
            "start": draft.start, "end": draft.end, "review_date": draft.review_date}),
    )?;
    get(tx, id)?.ok_or(ChangeError::NotFound)
}

/// What signing needs from outside the record: the day, the chosen option's
/// lines, the panel's limit and higher authority, the letter's deadline, the
/// next meeting for a deferral, and the agencies with a seat the decision
/// affects (for recommendations to absent ones).
pub struct SignContext<'a> {
    pub today: NaiveDate,
    pub option_lines: Vec<CostLine>,
    pub delegated_limit: Pence,
    pub authority: String,
    pub letter_due: NaiveDate,
    pub next_meeting: Option<&'a Meeting>,
    pub affected_agencies: Vec<i64>,
    pub signer: &'a User,
}

/// What signing did.
#[derive(Debug, Default)]
pub struct Signed {
    pub referral: Option<Referral>,
    pub agreement_id: Option<i64>,
    pub activated: bool,
    pub recommended: Vec<Recommended>,
}

/// The terms of the agreement a (complete) draft commits.
pub fn terms_of(d: &Draft, option_lines: &[CostLine]) -> Result<Terms, ChangeError> {
    let incomplete = || ChangeError::Invalid("The decision's funding terms are incomplete".into());
    let (start, end) = (
        d.start.ok_or_else(incomplete)?,
        d.end.ok_or_else(incomplete)?,
    );
    let lines = decision::clip(option_lines, start, end);
    if lines.is_empty() {
        return Err(ChangeError::Invalid(
            "None of the chosen option's cost lines falls between the agreement's start and end dates".into(),
        ));
    }
    Ok(Terms {
        provider: d.provider.clone(),
        contract_agency_id: d.contract_agency_id.ok_or_else(incomplete)?,
        direct_payment: d.direct_payment.ok_or_else(incomplete)?,
        start,
        end,
        review_date: d.review_date.ok_or_else(incomplete)?,
        lines,
        shares: d.shares.clone(),
    })
}

/// The chair signs the draft off (the caller has checked it is complete with
/// [`jp_domain::decision::check`] at this `version`).
pub fn sign(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
    ctx: &SignContext<'_>,
) -> Result<Signed, ChangeError> {
    let d = lock(tx, id, version)?;
    if d.signed() {
        return Err(signed_already(&d));
    }
    let r = referrals::get(tx, d.referral_id)?.ok_or(ChangeError::NotFound)?;
    if !referrals::chairs(tx, ctx.signer.id, r.panel_id)? {
        return Err(ChangeError::Invalid(format!(
            "Only the chair of the {} signs off its decisions",
            r.panel_name
        )));
    }
    let outcome = d
        .draft
        .outcome
        .ok_or_else(|| ChangeError::Invalid("Select the panel's decision".into()))?;
    let corrected = match d.corrects_id {
        Some(c) => Some(get(tx, c)?.ok_or(ChangeError::NotFound)?),
        None => None,
    };
    if let Some(c) = &corrected
        && c.draft.outcome.map(Outcome::funds) != Some(outcome.funds())
    {
        return Err(ChangeError::Invalid(
            "A correction keeps whether the decision funds the child; to change that, the panel considers the referral again".into(),
        ));
    }
    let terms = if outcome.funds() {
        Some(terms_of(&d.draft, &ctx.option_lines)?)
    } else {
        None
    };
    let total = terms.as_ref().map_or(Pence(0), Terms::total);
    let escalate = outcome == Outcome::Escalated || total > ctx.delegated_limit;
    // The meeting that considered the referral, and who spoke for each agency.
    let held = match r.meeting_id {
        Some(m) => {
            let meeting = crate::meetings::get(tx, m)?.ok_or(ChangeError::NotFound)?;
            let attendance = crate::meeting_run::attendance(tx, &meeting)?;
            Some((meeting, attendance))
        }
        None => None,
    };
    let present: Vec<Present> = held
        .iter()
        .flat_map(|(_, attendance)| attendance)
        .map(|a| Present {
            agency_id: a.seat.agency_id,
            agency: a.seat.agency_name.clone(),
            presence: a.presence.map_or("not recorded", |p| p.label()).to_owned(),
            person: a.attendee_name.clone(),
        })
        .collect();
    let present_json =
        serde_json::to_string(&present).map_err(|e| ChangeError::Invalid(e.to_string()))?;
    let now = db::now();
    tx.execute(
        "UPDATE decisions SET status = 'signed', present = $1, total_pence = $2, delegated_limit_pence = $3,
            authority = $4, authority_status = $5, letter_due = $6, signed_by = $7, signed_at = $8,
            updated_at = $8, version = version + 1, key_worker_id = $10, lead_agency_id = $11 WHERE id = $9",
        &params![
            present_json,
            total.0,
            ctx.delegated_limit.0,
            if escalate { ctx.authority.clone() } else { String::new() },
            if escalate { "pending" } else { "not-needed" },
            corrected.as_ref().and_then(|c| c.letter_due).unwrap_or(ctx.letter_due),
            ctx.signer.id,
            now,
            id,
            d.draft.key_worker_id,
            d.draft.lead_agency_id
        ],
    )?;
    // The decision in force, for the tracker.
    tx.execute(
        "UPDATE referrals SET decision_id = $1 WHERE id = $2",
        &params![id, r.id],
    )?;
    audit::record(
        tx,
        actor,
        "decision.signed",
        "decision",
        Some(id.to_string()),
        serde_json::json!({"referral_id": r.id, "outcome": outcome.slug(), "total_pence": total.0,
            "escalated": escalate, "corrects": d.corrects_id}),
    )?;
    let mut out = Signed::default();
    if let Some(c) = &corrected {
        // A correction restates the decision; the agreement follows its terms.
        if let (Some(t), Some(a)) = (&terms, agreements::of_referral(tx, r.id)?) {
            agreements::add_version(
                tx,
                actor,
                a.id,
                a.version,
                &format!("Correction: decision {id} corrects decision {}", c.id),
                Some(id),
                t,
            )?;
            out.agreement_id = Some(a.id);
        }
    } else if outcome.is_review() {
        crate::reviews::complete(tx, actor, &r, id, &d.draft)?;
        out.referral = referrals::get(tx, r.id)?;
    } else {
        match outcome {
            Outcome::Deferred => {
                let m = ctx.next_meeting.ok_or_else(|| {
                    ChangeError::Invalid("There is no later meeting of this panel with an open submission deadline to defer the referral to; schedule one first".into())
                })?;
                out.referral = Some(referrals::advance(
                    tx,
                    actor,
                    r.id,
                    Action::Defer,
                    ", meeting_id = $4",
                    &params![m.id],
                    serde_json::json!({"decision_id": id, "meeting_id": m.id, "meeting_date": m.date}),
                )?);
            }
            Outcome::Declined => {
                out.referral = Some(referrals::advance(
                    tx,
                    actor,
                    r.id,
                    Action::Decline,
                    ", closure_reason = 'declined', closed_on = $4",
                    &params![ctx.today],
                    serde_json::json!({"decision_id": id}),
                )?);
            }
            _ => {
                referrals::advance(
                    tx,
                    actor,
                    r.id,
                    Action::Decide,
                    "",
                    &[],
                    serde_json::json!({"decision_id": id}),
                )?;
                if let Some(t) = &terms {
                    out.agreement_id = Some(agreements::create(tx, actor, &r, id, t)?);
                }
            }
        }
    }
    // The key worker's expectations become their actions.
    if let Some(owner) = d.draft.key_worker_id {
        for e in &d.draft.expectations {
            actions::create(
                tx,
                actor,
                &actions::NewAction {
                    title: format!(
                        "{} (panel decision on referral {}, {})",
                        e.what, r.id, r.child_local_id
                    ),
                    owner_id: owner,
                    due: e.due,
                    source: actions::Source::Decision,
                    meeting_id: r.meeting_id,
                    item_id: d.item_id,
                    referral_id: Some(r.id),
                    recommendation_id: None,
                },
            )?;
        }
    }
    // Affected agencies nobody spoke for get a recommendation (seed 000 §3.5).
    if corrected.is_none()
        && outcome != Outcome::Deferred
        && let (Some((meeting, attendance)), Some(item)) = (&held, d.item_id)
    {
        let it = crate::agenda::item(tx, meeting.id, item)?;
        out.recommended = crate::meeting_run::recommend_to_absent(
            tx,
            actor,
            meeting,
            &it,
            attendance,
            &ctx.affected_agencies,
            ctx.today,
        )?;
    }
    out.activated = try_activate(tx, actor, r.id)?;
    if out.referral.is_none() {
        out.referral = referrals::get(tx, r.id)?;
    }
    Ok(out)
}

/// Why the referral's pending agreement cannot be active yet, if anything holds it.
pub fn held_by(conn: &mut Conn, referral_id: i64) -> DbResult<Vec<String>> {
    let mut out = Vec::new();
    if let Some(d) = in_force(conn, referral_id)?
        && d.authority_pending()
    {
        out.push(format!(
            "The commitment of {} is above the panel's delegated authority of {}: the agreement of the {} must be recorded first",
            d.total,
            d.delegated_limit,
            d.authority
        ));
    }
    for rec in actions::recommendations_of_referral(conn, referral_id)? {
        match rec.status.as_str() {
            "awaiting" => out.push(format!(
                "{} was not represented at the meeting and has not yet accepted the panel's recommendation",
                rec.agency_name
            )),
            "rejected" => out.push(format!(
                "{} rejected the panel's recommendation: the panel reconsiders it",
                rec.agency_name
            )),
            _ => {}
        }
    }
    Ok(out)
}

/// Activates the referral's pending agreement when nothing holds it back;
/// returns whether it did. Called after each change that may release it.
pub fn try_activate(tx: &mut Tx<'_>, actor: &Actor, referral_id: i64) -> Result<bool, ChangeError> {
    let Some(a) = agreements::of_referral(tx, referral_id)? else {
        return Ok(false);
    };
    if a.status != "pending" || !held_by(tx, referral_id)?.is_empty() {
        return Ok(false);
    }
    agreements::mark_active(tx, actor, a.id)?;
    let r = referrals::get(tx, referral_id)?.ok_or(ChangeError::NotFound)?;
    if r.status == Status::Decided {
        referrals::advance(
            tx,
            actor,
            referral_id,
            Action::ActivateAgreement,
            "",
            &[],
            serde_json::json!({"agreement_id": a.id}),
        )?;
    }
    Ok(true)
}

/// Activates the agreement on request, refusing with every reason it is held.
pub fn activate(tx: &mut Tx<'_>, actor: &Actor, agreement_id: i64) -> Result<(), ChangeError> {
    let a = agreements::get(tx, agreement_id)?.ok_or(ChangeError::NotFound)?;
    if a.status != "pending" {
        return Err(ChangeError::Invalid(format!(
            "This agreement is already {}",
            a.status_label().to_lowercase()
        )));
    }
    let held = held_by(tx, a.referral_id)?;
    if !held.is_empty() {
        return Err(ChangeError::Invalid(held.join("; ")));
    }
    try_activate(tx, actor, a.referral_id)?;
    Ok(())
}

/// Records that the named higher authority agreed an escalated decision:
/// who (by name and post), on which day. The agreement becomes active when
/// nothing else holds it.
pub fn record_authority(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
    who: &str,
    on: NaiveDate,
    today: NaiveDate,
) -> Result<bool, ChangeError> {
    let d = lock(tx, id, version)?;
    if !d.authority_pending() {
        return Err(ChangeError::Invalid(
            "This decision is not waiting for a higher authority's agreement".into(),
        ));
    }
    if d.corrected_by_id.is_some() {
        return Err(ChangeError::Invalid(
            "This decision has been corrected; record the authority's agreement on the correction"
                .into(),
        ));
    }
    if on > today {
        return Err(ChangeError::Invalid(
            "The date the authority agreed must be today or earlier".into(),
        ));
    }
    if d.signed_at.is_some_and(|s| on < s.date()) {
        return Err(ChangeError::Invalid(
            "The authority agreed after the chair signed the decision off: the date cannot be earlier".into(),
        ));
    }
    let now = db::now();
    tx.execute(
        "UPDATE decisions SET authority_status = 'agreed', authority_agreed_by = $1, authority_agreed_on = $2,
            authority_recorded_by = $3, authority_recorded_at = $4, updated_at = $4, version = version + 1 WHERE id = $5",
        &params![who, on, actor.user_id, now, id],
    )?;
    audit::record(
        tx,
        actor,
        "decision.authority-agreed",
        "decision",
        Some(id.to_string()),
        serde_json::json!({"authority": d.authority, "agreed_by": who, "on": on}),
    )?;
    try_activate(tx, actor, d.referral_id)
}

/// A decision letter sent (or to send): which kind, when, and whether on time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Letter {
    pub id: i64,
    pub decision_id: i64,
    /// final, or provisional (pending an absent agency or a higher authority)
    pub kind: String,
    pub attachment_id: i64,
    pub sent_on: NaiveDate,
    pub due: Option<NaiveDate>,
    pub on_time: bool,
    pub recipients: String,
    pub sent_by_name: Option<String>,
}

pub fn letters(conn: &mut Conn, decision_id: i64) -> DbResult<Vec<Letter>> {
    conn.query(
        "SELECT l.id, l.decision_id, l.kind, l.attachment_id, l.sent_on, l.due, l.on_time, l.recipients, u.name
         FROM decision_letters l LEFT JOIN users u ON u.id = l.sent_by WHERE l.decision_id = $1 ORDER BY l.id",
        &params![decision_id],
    )?
    .iter()
    .map(|r| {
        Ok(Letter {
            id: r.get(0)?,
            decision_id: r.get(1)?,
            kind: r.get(2)?,
            attachment_id: r.get(3)?,
            sent_on: r.get(4)?,
            due: r.get(5)?,
            on_time: r.get(6)?,
            recipients: r.get(7)?,
            sent_by_name: r.get(8)?,
        })
    })
    .collect()
}

/// Sends the decision letter: keeps the PDF, queues one e-mail with it to each
/// recipient, and records the letter against the decision's 3-working-day
/// deadline. A final letter is sent once; a provisional one each time the
/// administrator sends it while the decision is held.
#[allow(clippy::too_many_arguments)]
pub fn send_letter(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    kind: &str,
    pdf: Vec<u8>,
    to: &[User],
    subject: &str,
    body: &str,
    today: NaiveDate,
) -> Result<Letter, ChangeError> {
    let d = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    if !d.signed() {
        return Err(ChangeError::Invalid(
            "The letter is sent after the chair signs the decision off".into(),
        ));
    }
    if d.corrected_by_id.is_some() {
        return Err(ChangeError::Invalid(
            "This decision has been corrected: send the letter of the correction".into(),
        ));
    }
    if kind == "final" && letters(tx, id)?.iter().any(|l| l.kind == "final") {
        return Err(ChangeError::Invalid(
            "The final letter for this decision has already been sent".into(),
        ));
    }
    if to.is_empty() {
        return Err(ChangeError::Invalid(
            "Nobody can receive the letter: the referrer's account is not active".into(),
        ));
    }
    let name = format!("decision-letter-referral-{}-{}.pdf", d.referral_id, d.id);
    let attachment = crate::outbox::add_attachment(tx, &name, "application/pdf", pdf)?;
    for u in to {
        crate::outbox::enqueue(
            tx,
            &crate::outbox::NewMail {
                kind: format!("decision.letter-{kind}"),
                to_address: u.email.clone(),
                to_name: u.name.clone(),
                subject: subject.to_owned(),
                body: format!("Dear {},\n\n{body}", u.name),
                entity: Some("decision".into()),
                entity_id: Some(id.to_string()),
                attachment_id: Some(attachment),
            },
        )?;
    }
    let on_time = d.letter_due.is_none_or(|due| today <= due);
    let recipients = to
        .iter()
        .map(|u| u.name.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let letter_id: i64 = tx
        .query_one(
            "INSERT INTO decision_letters (decision_id, kind, attachment_id, sent_on, due, on_time, recipients, sent_by, sent_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            &params![id, kind, attachment, today, d.letter_due, on_time, &recipients, actor.user_id, db::now()],
        )?
        .get(0)?;
    audit::record(
        tx,
        actor,
        "decision.letter-sent",
        "decision",
        Some(id.to_string()),
        serde_json::json!({"kind": kind, "due": d.letter_due, "sent_on": today, "on_time": on_time,
            "recipients": to.iter().map(|u| u.id).collect::<Vec<_>>()}),
    )?;
    letters(tx, id)?
        .into_iter()
        .find(|l| l.id == letter_id)
        .ok_or(ChangeError::NotFound)
}
