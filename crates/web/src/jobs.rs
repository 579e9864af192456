//! Background jobs of the web server, besides sending e-mail: chasing the
//! owners of actions that are due or overdue, once per working day each.
//! Each action is claimed by a conditional update, so several servers on one
//! database chase it once.

use crate::pages::date;
use chrono::NaiveDate;
use jp_domain::Region;
use jp_store::accounts;
use jp_store::actions;
use jp_store::{Actor, Store};
use std::time::Duration;

/// How often the server looks for actions to chase.
const EVERY: Duration = Duration::from_secs(600);
/// How often the server looks for packs to build.
const PACK_POLL: Duration = Duration::from_secs(2);

/// Chases what is due on `today` (nothing on a non-working day of England and
/// Wales, where every installation so far sits). Returns how many e-mails were queued.
pub fn chase_actions(store: &Store, base: &str, today: NaiveDate) -> Result<usize, String> {
    let mut conn = store.conn().map_err(|e| e.to_string())?;
    let calendar = jp_store::calendar::for_region(&mut conn, Region::EnglandAndWales)
        .map_err(|e| e.to_string())?;
    if !calendar.is_working_day(today) {
        return Ok(0);
    }
    let mut tx = conn.begin().map_err(|e| e.to_string())?;
    let claimed = actions::claim_for_chasing(&mut tx, today).map_err(|e| e.to_string())?;
    let actor = Actor::system("action reminders");
    let mut sent = 0;
    for a in &claimed {
        let Some(owner) = accounts::get(&mut tx, a.owner_id)
            .map_err(|e| e.to_string())?
            .filter(|u| u.active)
        else {
            continue;
        };
        let (subject, lead) = if a.due_date < today {
            (
                format!("Overdue action: due {}", date(a.due_date)),
                format!(
                    "This action was due on {} and is still open",
                    date(a.due_date)
                ),
            )
        } else {
            (
                "Reminder: an action is due today".to_owned(),
                "This action is due today".to_owned(),
            )
        };
        let link = match a.recommendation_id {
            Some(r) => format!("{}/recommendations/{r}", base.trim_end_matches('/')),
            None => format!("{}/#actions", base.trim_end_matches('/')),
        };
        crate::notify::queue_about(
            &mut tx,
            "action.chased",
            std::slice::from_ref(&owner),
            ("action", a.id),
            &subject,
            &format!(
                "{lead}: “{}”.\n\nComplete it, or mark it done: {link}",
                a.title
            ),
        )
        .map_err(|e| e.to_string())?;
        jp_store::audit::record(
            &mut tx,
            &actor,
            "action.chased",
            "action",
            Some(a.id.to_string()),
            serde_json::json!({"due": a.due_date, "on": today}),
        )
        .map_err(|e| e.to_string())?;
        sent += 1;
    }
    tx.commit().map_err(|e| e.to_string())?;
    Ok(sent)
}

/// Runs until the process ends: builds packs as they are queued (every few
/// seconds), circulates papers at their deadline and chases actions (every
/// ten minutes).
pub async fn run(state: crate::AppState) {
    let mut last_sweep: Option<std::time::Instant> = None;
    loop {
        if last_sweep.is_none_or(|t| t.elapsed() >= EVERY) {
            last_sweep = Some(std::time::Instant::now());
            let today = crate::referrals::today();
            let (st, b) = (state.store.clone(), state.config.base_url.clone());
            match tokio::task::spawn_blocking(move || chase_actions(&st, &b, today)).await {
                Ok(Ok(n)) if n > 0 => tracing::info!(chased = n, "actions"),
                Ok(Err(e)) => tracing::error!(error = %e, "action reminders"),
                _ => {}
            }
            let s2 = state.clone();
            match tokio::task::spawn_blocking(move || crate::pack::circulate_due(&s2, today)).await
            {
                Ok(Ok(n)) if n > 0 => tracing::info!(circulated = n, "papers"),
                Ok(Err(e)) => tracing::error!(error = %e, "circulation"),
                _ => {}
            }
            let s3 = state.clone();
            match tokio::task::spawn_blocking(move || crate::reviews::book_due(&s3, today)).await {
                Ok(Ok(n)) if n > 0 => tracing::info!(booked = n, "reviews"),
                Ok(Err(e)) => tracing::error!(error = %e, "reviews"),
                _ => {}
            }
            let s4 = state.clone();
            match tokio::task::spawn_blocking(move || crate::reviews::flag_transitions(&s4, today))
                .await
            {
                Ok(Ok(n)) if n > 0 => tracing::info!(children = n, "transitions to adult services"),
                Ok(Err(e)) => tracing::error!(error = %e, "transitions"),
                _ => {}
            }
        }
        match crate::pack::build_next(&state).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "paper pack"),
        }
        tokio::time::sleep(PACK_POLL).await;
    }
}
