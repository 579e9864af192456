//! Each person's meetings as an iCalendar feed (SPEC §4): a secret, revocable
//! address that calendar programs poll, with the meetings the person attends
//! and their deadlines. The address is the only credential, so it is long,
//! stored hashed, and shown once.

use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::Form;
use crate::pages::{PageCtx, date, render};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, NaiveTime};
use jp_domain::Role;
use jp_domain::ical::{self, Event, When};
use jp_store::accounts::User;
use jp_store::db::Conn;
use jp_store::feeds::{self, Lookup};
use jp_store::reference::{members, panels};
use jp_store::{ChangeError, meetings};
use std::collections::BTreeSet;

pub fn routes() -> Routes {
    Routes::default()
        .get("/feeds/{token}", feed)
        .post("/account/calendar-feed", create)
        .post("/account/calendar-feed/revoke", revoke)
}

/// A meeting lasts this long in calendars until agendas give its length.
const DEFAULT_MINUTES: i64 = 120;

#[derive(Template)]
#[template(path = "account/feed.html")]
struct FeedPage {
    page: PageCtx,
    url: String,
}

// Taking the `Form` checks the CSRF token: both change something.
async fn create(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    _checked: Form,
) -> Result<Response, AppError> {
    let actor = p.actor();
    let user_id = p.user.id;
    let token = state
        .db(move |c| {
            let mut tx = c.begin()?;
            let t = feeds::create(&mut tx, &actor, user_id)?;
            tx.commit()?;
            Ok(t)
        })
        .await?;
    let url = format!(
        "{}/feeds/{token}.ics",
        state.config.base_url.trim_end_matches('/')
    );
    Ok(render(&FeedPage {
        page: PageCtx::new(&p, "Your calendar feed", "/account"),
        url,
    }))
}

async fn revoke(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    _checked: Form,
) -> Result<Response, AppError> {
    let actor = p.actor();
    let user_id = p.user.id;
    state
        .db(move |c| {
            let mut tx = c.begin()?;
            feeds::revoke(&mut tx, &actor, user_id).map_err(|e| match e {
                ChangeError::Invalid(m) => AppError::Conflict(m),
                other => other.into(),
            })?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(Redirect::to("/account?saved=feed-revoked").into_response())
}

/// The panels whose meetings the person attends, and the meetings of their own referrals.
fn meetings_for(c: &mut Conn, u: &User) -> Result<Vec<meetings::Meeting>, AppError> {
    let today = crate::referrals::today();
    let from = today - Duration::days(60);
    let mut panel_ids: BTreeSet<i64> = BTreeSet::new();
    if u.has(Role::Administrator) {
        panel_ids.extend(panels::list(c)?.into_iter().map(|p| p.id));
    }
    panel_ids.extend(members::panels_of_user(c, u.id)?.into_iter().map(|m| m.0));
    let mut found = Vec::new();
    for id in &panel_ids {
        found.extend(meetings::list(c, Some(*id), from, 100)?);
    }
    let own: Vec<i64> = jp_store::referrals::visible(c, u, None, 500)?
        .into_iter()
        .filter(|(r, _)| r.referrer_id == u.id)
        .filter_map(|(r, _)| r.meeting_id)
        .collect();
    for id in own {
        if let Some(m) = meetings::get(c, id)?
            && !panel_ids.contains(&m.panel_id)
            && m.date >= from
            && !found.iter().any(|f: &meetings::Meeting| f.id == m.id)
        {
            found.push(m);
        }
    }
    found.sort_by_key(|m| (m.date, m.id));
    Ok(found)
}

async fn feed(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, AppError> {
    let token = raw.strip_suffix(".ics").unwrap_or(&raw).to_owned();
    let base = state.config.base_url.trim_end_matches('/').to_owned();
    let outcome = state
        .db(move |c| {
            let u = match feeds::lookup(c, &token)? {
                Lookup::Active(u) => u,
                Lookup::Revoked => return Ok(Err(StatusCode::GONE)),
                Lookup::Unknown => return Ok(Err(StatusCode::NOT_FOUND)),
            };
            let all_panels = panels::list(c)?;
            let mut events = Vec::new();
            let mut calendars = crate::booking::Calendars::default();
            for m in meetings_for(c, &u)? {
                let Some(panel) = all_panels.iter().find(|p| p.id == m.panel_id) else {
                    continue;
                };
                let d = calendars.deadlines(c, panel, m.date)?;
                let start_time =
                    NaiveTime::parse_from_str(&m.start_time, "%H:%M").unwrap_or(NaiveTime::MIN);
                let start = m.date.and_time(start_time);
                let cancelled = m.status == "cancelled";
                // As long as its agenda, once there is one.
                let planned: i64 = jp_store::agenda::items(c, m.id)?
                    .iter()
                    .map(|i| i.minutes)
                    .sum();
                let length = if planned > 0 {
                    planned
                } else {
                    DEFAULT_MINUTES
                };
                let location = [m.venue.as_str(), m.online_link.as_str()]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(", ");
                events.push(Event {
                    uid: format!("meeting-{}@jointpanel", m.id),
                    summary: format!("{} meeting", panel.name),
                    description: format!(
                        "Joint Panel meeting on {}. Papers by {}.",
                        date(m.date),
                        date(d.papers_due)
                    ),
                    location,
                    url: format!("{base}/meetings/{}", m.id),
                    when: When::Timed(start, start + Duration::minutes(length)),
                    cancelled,
                });
                for (key, what, day) in [
                    ("referrals", "Referrals due", d.submission_deadline),
                    ("papers", "Papers circulated", d.papers_due),
                ] {
                    events.push(Event {
                        uid: format!("meeting-{}-{key}@jointpanel", m.id),
                        summary: format!("{what}: {} on {}", panel.name, date(m.date)),
                        description: String::new(),
                        location: String::new(),
                        url: format!("{base}/meetings/{}", m.id),
                        when: When::AllDay(day),
                        cancelled,
                    });
                }
            }
            Ok(Ok(ical::calendar(
                &format!("Joint Panel: {}", u.name),
                jp_store::db::now(),
                &events,
            )))
        })
        .await?;
    match outcome {
        Ok(body) => {
            let mut res = body.into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            Ok(res)
        }
        Err(StatusCode::GONE) => Ok((
            StatusCode::GONE,
            "This calendar feed was revoked. Sign in to Joint Panel and make a new one on Your account.",
        )
            .into_response()),
        Err(_) => Err(AppError::NotFound),
    }
}
