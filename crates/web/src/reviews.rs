//! Reviews falling due (SPEC §4: reviews that fall due are put on the agenda
//! automatically): the background job that books a review referral for each
//! active agreement whose review date comes within the scheduled meetings,
//! and the list of reviews due and overdue for the home page.

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

/// Active agreements whose review is due within `days` or overdue, soonest first.
pub fn due_within(
    c: &mut jp_store::db::Conn,
    today: NaiveDate,
    days: i64,
) -> Result<Vec<Due>, crate::error::AppError> {
    let rows = c.query(
        "SELECT a.id FROM agreements a WHERE a.status = 'active'",
        &[],
    )?;
    let mut out = Vec::new();
    for row in &rows {
        let id: i64 = row.get(0)?;
        let Some(a) = jp_store::agreements::get(c, id)? else {
            continue;
        };
        let due = a.current.terms.review_date;
        if (due - today).num_days() > days {
            continue;
        }
        let r =
            jp_store::referrals::get(c, a.referral_id)?.ok_or(crate::error::AppError::NotFound)?;
        let booked = match a.review_referral_id {
            Some(rid) => Some((
                rid,
                jp_store::referrals::get(c, rid)?.and_then(|x| x.meeting_date),
            )),
            None => None,
        };
        out.push(Due {
            agreement_id: a.id,
            referral_id: r.id,
            child_local_id: r.child_local_id,
            panel: r.panel_name,
            panel_id: r.panel_id,
            review_date: due,
            overdue: due < today,
            booked,
        });
    }
    out.sort_by_key(|d| d.review_date);
    Ok(out)
}

/// Gives adult services an action for each child with an active agreement
/// who has reached 17½ (once per referral). Returns how many children.
pub fn flag_transitions(state: &AppState, today: NaiveDate) -> Result<usize, String> {
    let mut c = state.store.conn().map_err(|e| e.to_string())?;
    let cal = jp_store::calendar::for_region(&mut c, jp_domain::Region::EnglandAndWales)
        .map_err(|e| e.to_string())?;
    let mut tx = c.begin().map_err(|e| e.to_string())?;
    let n = jp_store::transitions::flag_due(
        &mut tx,
        &Actor::system("preparing for adulthood"),
        today,
        &|d| cal.after(d, 10),
    )
    .map_err(|e| e.to_string())?;
    tx.commit().map_err(|e| e.to_string())?;
    Ok(n)
}
