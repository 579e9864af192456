//! Preparing for adulthood (SPEC §7): when a child with an active agreement
//! reaches 17½, each member for an adult-services agency on the agreement's
//! panel gets an action to plan the move to adult services, once, linked to
//! the referral's decision (the case summary).

use crate::actions::{self, NewAction, Source};
use crate::db::{DbResult, Tx};
use crate::{Actor, ChangeError, audit, params};
use chrono::{Months, NaiveDate};

/// The day a child born on `born` is 17½.
pub fn seventeen_and_a_half(born: NaiveDate) -> NaiveDate {
    born.checked_add_months(Months::new(17 * 12 + 6))
        .unwrap_or(born)
}

/// One child flagged: the action created for each adult-services member.
#[derive(Debug, Clone)]
pub struct Flagged {
    pub referral_id: i64,
    pub child_local_id: String,
    /// (action id, owner's user id) per action created.
    pub actions: Vec<(i64, i64)>,
    pub title: String,
    pub due: NaiveDate,
}

/// Creates the transition actions that are due on `today` and returns them
/// (the caller tells each owner, in the same transaction).
/// `due(today)` gives the action's due date (working days from the calendar).
pub fn flag_due(
    tx: &mut Tx<'_>,
    actor: &Actor,
    today: NaiveDate,
    due: &dyn Fn(NaiveDate) -> NaiveDate,
) -> Result<Vec<Flagged>, ChangeError> {
    let rows: Vec<(i64, i64, String, NaiveDate, i64)> = tx
        .query(
            "SELECT r.id, r.panel_id, c.local_id, c.date_of_birth, a.id FROM agreements a
             JOIN referrals r ON r.id = a.referral_id JOIN children c ON c.id = r.child_id
             WHERE a.status = 'active'
               AND NOT EXISTS (SELECT 1 FROM actions x WHERE x.referral_id = r.id AND x.source = 'transition')
             ORDER BY r.id",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .collect::<DbResult<_>>()?;
    let mut flagged = Vec::new();
    for (referral_id, panel_id, local_id, born, agreement_id) in rows {
        let on = seventeen_and_a_half(born);
        if on > today {
            continue;
        }
        let adults: Vec<i64> = crate::meeting_run::seats(tx, panel_id)?
            .into_iter()
            .filter(|s| tx_is_adult(s.agency_id, tx).unwrap_or(false))
            .flat_map(|s| s.members.into_iter().map(|(id, _)| id))
            .collect();
        if adults.is_empty() {
            tracing::warn!(
                referral_id,
                "no adult-services member on the panel for a transition"
            );
            continue;
        }
        let title = format!(
            "Plan the move to adult services for child {local_id} (17½ on {}): read the panel's decision on referral {referral_id}",
            jp_domain::referral_form::long_date(on)
        );
        let mut created = Vec::new();
        for owner in adults {
            let action_id = actions::create(
                tx,
                actor,
                &NewAction {
                    title: title.clone(),
                    owner_id: owner,
                    due: due(today),
                    source: Source::Transition,
                    meeting_id: None,
                    item_id: None,
                    referral_id: Some(referral_id),
                    recommendation_id: None,
                },
            )?;
            created.push((action_id, owner));
        }
        audit::record(
            tx,
            actor,
            "transition.flagged",
            "referral",
            Some(referral_id.to_string()),
            serde_json::json!({"agreement_id": agreement_id, "seventeen_and_a_half": on}),
        )?;
        flagged.push(Flagged {
            referral_id,
            child_local_id: local_id,
            actions: created,
            title,
            due: due(today),
        });
    }
    Ok(flagged)
}

fn tx_is_adult(agency_id: i64, tx: &mut Tx<'_>) -> DbResult<bool> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM agencies WHERE id = $1 AND adult_services",
            &params![agency_id],
        )?
        .is_some())
}
