//! Reviews falling due (SPEC §4: reviews that fall due are put on the agenda
//! automatically): the background job that books a review referral for each
//! active agreement whose review date comes within the scheduled meetings,
//! and the list of reviews due and overdue for the home page.

use crate::pages::date;
use crate::state::AppState;
use chrono::NaiveDate;
use jp_store::Actor;
use jp_store::reference::panels;
use jp_store::reviews;

/// Books the review of every active agreement whose review date the panel's
/// schedule reaches (or that is already due). Returns how many were booked.
pub fn book_due(state: &AppState, today: NaiveDate) -> Result<usize, String> {
    let mut c = state.store.conn().map_err(|e| e.to_string())?;
    let actor = Actor::system("review falling due");
    let mut n = 0;
    for a in reviews::unbooked(&mut c).map_err(|e| e.to_string())? {
        let panel = panels::get(&mut c, a.panel_id)
            .map_err(|e| e.to_string())?
            .ok_or("an agreement without its panel")?;
        let mut tx = c.begin().map_err(|e| e.to_string())?;
        let coming: Vec<jp_store::meetings::Meeting> =
            crate::booking::coming(&mut tx, &actor, &panel, today)
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|b| b.meeting)
                .collect();
        let Some(meeting) =
            reviews::meeting_for(&coming, a.current.terms.review_date, today).cloned()
        else {
            continue;
        };
        match reviews::create_review(&mut tx, &actor, a.id, &meeting) {
            Ok(r) => {
                crate::notify::booked(&mut tx, &state.config.base_url, &r, &meeting)
                    .map_err(|e| e.to_string())?;
                tx.commit().map_err(|e| e.to_string())?;
                n += 1;
            }
            // Another node booked it first.
            Err(jp_store::ChangeError::Invalid(_) | jp_store::ChangeError::Conflict { .. }) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(n)
}

/// A review the home page lists.
pub struct Due {
    pub agreement_id: i64,
    pub referral_id: i64,
    pub child_local_id: String,
    pub panel: String,
    pub panel_id: i64,
    pub review_date: NaiveDate,
    pub overdue: bool,
    /// The review referral and its meeting, once booked.
    pub booked: Option<(i64, Option<NaiveDate>)>,
}

/// Active agreements whose review is due within `days` or overdue, soonest
/// first — one query (it runs on administrators' and chairs' home pages).
pub fn due_within(
    c: &mut jp_store::db::Conn,
    today: NaiveDate,
    days: i64,
) -> Result<Vec<Due>, crate::error::AppError> {
    let until = today + chrono::Duration::days(days);
    let rows = c.query(
        "SELECT a.id, r.id, ch.local_id, p.name, r.panel_id, v.review_date, a.review_referral_id, m.meeting_date
         FROM agreements a
         JOIN agreement_versions v ON v.agreement_id = a.id AND v.number = a.current_number
         JOIN referrals r ON r.id = a.referral_id
         JOIN children ch ON ch.id = r.child_id
         JOIN panels p ON p.id = r.panel_id
         LEFT JOIN referrals rv ON rv.id = a.review_referral_id
         LEFT JOIN meetings m ON m.id = rv.meeting_id
         WHERE a.status = 'active' AND v.review_date <= $1
         ORDER BY v.review_date, a.id",
        &jp_store::params![until],
    )?;
    let mut out = Vec::new();
    for row in &rows {
        let review_date: NaiveDate = row.get(5)?;
        let review_referral: Option<i64> = row.get(6)?;
        out.push(Due {
            agreement_id: row.get(0)?,
            referral_id: row.get(1)?,
            child_local_id: row.get(2)?,
            panel: row.get(3)?,
            panel_id: row.get(4)?,
            review_date,
            overdue: review_date < today,
            booked: review_referral
                .map(|rid| Ok::<_, jp_store::db::DbError>((rid, row.get(7)?)))
                .transpose()?,
        });
    }
    Ok(out)
}

/// Gives adult services an action for each child with an active agreement
/// who has reached 17½ (once per referral). Returns how many children.
pub fn flag_transitions(state: &AppState, today: NaiveDate) -> Result<usize, String> {
    let mut c = state.store.conn().map_err(|e| e.to_string())?;
    let cal = jp_store::calendar::for_region(&mut c, jp_domain::Region::EnglandAndWales)
        .map_err(|e| e.to_string())?;
    let mut tx = c.begin().map_err(|e| e.to_string())?;
    let flagged = jp_store::transitions::flag_due(
        &mut tx,
        &Actor::system("preparing for adulthood"),
        today,
        &|d| cal.after(d, 10),
    )
    .map_err(|e| e.to_string())?;
    let base = state.config.base_url.trim_end_matches('/');
    for f in &flagged {
        for &(action_id, owner_id) in &f.actions {
            let owner = jp_store::accounts::get(&mut tx, owner_id)
                .map_err(|e| e.to_string())?
                .into_iter()
                .collect::<Vec<_>>();
            crate::notify::queue_about(
                &mut tx,
                "transition.flagged",
                &owner,
                ("action", action_id),
                &format!(
                    "Preparing for adulthood: child {} — an action for adult services",
                    f.child_local_id
                ),
                &format!(
                    "A child with an active funding agreement is reaching 17½, so the panel asks adult services to plan the move. You have an action due on {}: “{}”.\n\nThe panel's decision (the case summary): {base}/referrals/{}/decision",
                    date(f.due),
                    f.title,
                    f.referral_id
                ),
            )
            .map_err(|e| e.to_string())?;
        }
    }
    tx.commit().map_err(|e| e.to_string())?;
    Ok(flagged.len())
}
