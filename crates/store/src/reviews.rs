//! Reviews of funding agreements (SPEC §4, §5; seed 002 §14: "all funding
//! agreements will have a review timeframe agreed to come back to the
//! panel"). When an active agreement's review date comes within the meetings
//! already scheduled, a review referral is created from the agreement's
//! referral (its answers and options copied, the request type "review") and
//! booked onto the last meeting before the review date — or the next meeting
//! when the review is already due. The agreement's referral is then "under
//! review" until the panel decides to continue, vary or end it.

use crate::agreements::{self, Agreement};
use crate::db::{self, Conn, DbResult, Tx};
use crate::meetings::Meeting;
use crate::referrals::{self, Referral};
use crate::{Actor, ChangeError, audit, params};
use chrono::NaiveDate;
use jp_domain::lifecycle::{Action, Status};
use jp_domain::meeting_lifecycle::MeetingStatus;

/// Active agreements whose next review has no review referral yet, by review date.
pub fn unbooked(conn: &mut Conn) -> DbResult<Vec<Agreement>> {
    let ids: Vec<i64> = conn
        .query(
            "SELECT a.id FROM agreements a JOIN referrals r ON r.id = a.referral_id
             WHERE a.status = 'active' AND a.review_referral_id IS NULL AND r.status = 'agreement-active'
             ORDER BY a.id",
            &[],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect::<DbResult<_>>()?;
    let mut out = Vec::new();
    for id in ids {
        if let Some(a) = agreements::get(conn, id)? {
            out.push(a);
        }
    }
    out.sort_by_key(|a| a.current.terms.review_date);
    Ok(out)
}

/// The meeting a review falling due on `review` goes to, among the panel's
/// coming meetings (date order): the last one before the review date whose
/// agenda is still open, once the schedule reaches the review date; the next
/// open one when the review is already due. None while the review is beyond
/// the meetings scheduled so far.
pub fn meeting_for(coming: &[Meeting], review: NaiveDate, today: NaiveDate) -> Option<&Meeting> {
    let open: Vec<&Meeting> = coming
        .iter()
        .filter(|m| m.date >= today && m.status() == MeetingStatus::Scheduled)
        .collect();
    let reaches = coming.iter().any(|m| m.date >= review);
    if review <= today {
        return open.first().copied();
    }
    if !reaches {
        return None;
    }
    open.iter()
        .rev()
        .find(|m| m.date < review)
        .or_else(|| open.first())
        .copied()
}

/// Creates the review referral for `agreement` and books it on `meeting`.
pub fn create_review(
    tx: &mut Tx<'_>,
    actor: &Actor,
    agreement_id: i64,
    meeting: &Meeting,
) -> Result<Referral, ChangeError> {
    let lock = tx.backend().for_update();
    tx.query_opt(
        &format!("SELECT id FROM agreements WHERE id = $1 {lock}"),
        &params![agreement_id],
    )?;
    let a = agreements::get(tx, agreement_id)?.ok_or(ChangeError::NotFound)?;
    if a.review_referral_id.is_some() || a.status != "active" {
        return Err(ChangeError::Invalid(
            "This agreement's review is already booked, or it is not active".into(),
        ));
    }
    let orig = referrals::get(tx, a.referral_id)?.ok_or(ChangeError::NotFound)?;
    if meeting.panel_id != orig.panel_id {
        return Err(ChangeError::Invalid(
            "That meeting is not of the agreement's panel".into(),
        ));
    }
    let now = db::now();
    let id: i64 = tx
        .query_one(
            "INSERT INTO referrals (child_id, panel_id, status, referrer_id, agency_id, team, request_type, need_level,
                meeting_id, submitted_at, created_at, updated_at)
             VALUES ($1, $2, 'booked', $3, $4, $5, 'review', $6, $7, $8, $8, $8) RETURNING id",
            &params![
                orig.child_id,
                orig.panel_id,
                orig.referrer_id,
                orig.agency_id,
                orig.team.clone(),
                orig.need_level.clone(),
                meeting.id,
                now
            ],
        )?
        .get(0)?;
    // The form's answers, the request now a review of this agreement.
    for (section, mut state) in referrals::sections(tx, orig.id)? {
        if section == "request" {
            state
                .answers
                .insert("request_type".into(), vec!["review".into()]);
            state.answers.insert(
                "review_of".into(),
                vec![format!(
                    "Funding agreement {} ({} to {}, {}), review due {}",
                    a.id,
                    jp_domain::referral_form::long_date(a.current.terms.start),
                    jp_domain::referral_form::long_date(a.current.terms.end),
                    a.current.total,
                    jp_domain::referral_form::long_date(a.current.terms.review_date)
                )],
            );
        }
        let answers = serde_json::to_string(&state.answers)
            .map_err(|e| ChangeError::Invalid(e.to_string()))?;
        tx.execute(
            "INSERT INTO referral_sections (referral_id, section, answers, complete, updated_at) VALUES ($1, $2, $3, $4, $5)",
            &params![id, section, answers, state.complete, now],
        )?;
    }
    // The options, so a variation at the review can choose among them.
    let mut recommended = None;
    for o in referrals::options(tx, orig.id)? {
        let oid: i64 = tx
            .query_one(
                "INSERT INTO referral_options (referral_id, provider, description, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $4) RETURNING id",
                &params![id, &o.provider, &o.description, now],
            )?
            .get(0)?;
        if Some(o.id) == orig.recommended_option_id {
            recommended = Some(oid);
        }
        for l in &o.lines {
            tx.execute(
                "INSERT INTO cost_lines (option_id, item, unit, unit_cost_pence, quantity_hundredths, start_date, end_date, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &params![oid, &l.line.item, l.line.unit.slug(), l.line.unit_cost.0, l.line.quantity.0, l.line.start, l.line.end, now],
            )?;
        }
    }
    tx.execute(
        "UPDATE referrals SET recommended_option_id = $1 WHERE id = $2",
        &params![recommended, id],
    )?;
    tx.execute(
        "UPDATE agreements SET review_referral_id = $1, updated_at = $2, version = version + 1 WHERE id = $3",
        &params![id, now, a.id],
    )?;
    referrals::advance(
        tx,
        actor,
        orig.id,
        Action::StartReview,
        "",
        &[],
        serde_json::json!({"review_referral_id": id}),
    )?;
    audit::record(
        tx,
        actor,
        "referral.review-created",
        "referral",
        Some(id.to_string()),
        serde_json::json!({"agreement_id": a.id, "of_referral": orig.id, "review_date": a.current.terms.review_date,
            "meeting_id": meeting.id, "meeting_date": meeting.date}),
    )?;
    referrals::get(tx, id)?.ok_or(ChangeError::NotFound)
}

/// The agreement a review referral reviews.
pub fn agreement_reviewed_by(
    conn: &mut Conn,
    review_referral_id: i64,
) -> DbResult<Option<Agreement>> {
    let id: Option<i64> = conn
        .query_opt(
            "SELECT id FROM agreements WHERE review_referral_id = $1",
            &params![review_referral_id],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    match id {
        Some(id) => agreements::get(conn, id),
        None => Ok(None),
    }
}

/// What the panel decided at the review, applied: the review referral is
/// decided and closed as reviewed; the agreement continues with its next
/// review date (a variation is then recorded on the agreement), or ends on
/// the day given, closing its referral with the reason.
pub fn complete(
    tx: &mut Tx<'_>,
    actor: &Actor,
    review_referral: &Referral,
    decision_id: i64,
    draft: &jp_domain::decision::Draft,
) -> Result<(), ChangeError> {
    use jp_domain::decision::Outcome;
    let a = agreement_reviewed_by(tx, review_referral.id)?
        .ok_or_else(|| ChangeError::Invalid("No agreement is waiting for this review".into()))?;
    let outcome = draft
        .outcome
        .ok_or_else(|| ChangeError::Invalid("Select the panel's decision".into()))?;
    referrals::advance(
        tx,
        actor,
        review_referral.id,
        Action::Decide,
        "",
        &[],
        serde_json::json!({"decision_id": decision_id}),
    )?;
    let today = chrono::Utc::now().date_naive();
    referrals::advance(
        tx,
        actor,
        review_referral.id,
        Action::Close,
        ", closure_reason = 'reviewed', closed_on = $4",
        &params![today],
        serde_json::json!({"decision_id": decision_id, "reason": "reviewed"}),
    )?;
    tx.execute(
        "UPDATE agreements SET review_referral_id = NULL, updated_at = $1, version = version + 1 WHERE id = $2",
        &params![db::now(), a.id],
    )?;
    let orig = referrals::get(tx, a.referral_id)?.ok_or(ChangeError::NotFound)?;
    match outcome {
        Outcome::End => {
            let on = draft
                .end
                .ok_or_else(|| ChangeError::Invalid("Enter the agreement's last day".into()))?;
            let reason = draft.closure_reason.clone().unwrap_or_default();
            referrals::close(tx, actor, orig.id, orig.version, &reason, on)?;
        }
        _ => {
            let review = draft
                .review_date
                .ok_or_else(|| ChangeError::Invalid("Enter the next review date".into()))?;
            let a = agreements::get(tx, a.id)?.ok_or(ChangeError::NotFound)?;
            let mut t = a.current.terms.clone();
            t.review_date = review;
            agreements::add_version(
                tx,
                actor,
                a.id,
                a.version,
                &format!(
                    "Reviewed by the panel ({}): next review {}",
                    outcome.label().to_lowercase(),
                    jp_domain::referral_form::long_date(review)
                ),
                Some(decision_id),
                &t,
            )?;
            if orig.status == Status::UnderReview {
                referrals::advance(
                    tx,
                    actor,
                    orig.id,
                    Action::ReviewCompleted,
                    "",
                    &[],
                    serde_json::json!({"decision_id": decision_id}),
                )?;
            }
        }
    }
    Ok(())
}

/// The agreement a review referral reviews or reviewed (its review decision
/// added a version to it).
pub fn agreement_of_review(conn: &mut Conn, referral_id: i64) -> DbResult<Option<Agreement>> {
    if let Some(a) = agreement_reviewed_by(conn, referral_id)? {
        return Ok(Some(a));
    }
    let id: Option<i64> = conn
        .query_opt(
            "SELECT v.agreement_id FROM agreement_versions v JOIN decisions d ON d.id = v.decision_id
             WHERE d.referral_id = $1 ORDER BY v.id DESC LIMIT 1",
            &params![referral_id],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    match id {
        Some(id) => agreements::get(conn, id),
        None => Ok(None),
    }
}
