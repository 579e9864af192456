//! Meetings (SPEC §4): the panels' coming meetings with their §2 deadlines from
//! the calendar, each meeting's page with what is booked onto it, ad-hoc
//! meetings, details (time, venue, online link) and cancelling.

use crate::admin::{Outcome, chosen_id, respond, save};
use crate::auth::Principal;
use crate::booking;
use crate::error::AppError;
use crate::forms::{Errors, Form, Id, version};
use crate::pages::{Field, FormPage, PageCtx, date, render, render_checked};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use jp_domain::Role;
use jp_domain::meeting_lifecycle::{MeetingAction, MeetingStatus};
use jp_store::meetings::{self, Details, Meeting};
use jp_store::reference::panels::{self, Panel};
use jp_store::referrals::{self, Sight};
use serde::Deserialize;

pub fn routes() -> Routes {
    Routes::default()
        .get("/meetings", list)
        .get("/meetings/new", new_form)
        .post("/meetings/new", create)
        .get("/meetings/{id}", show)
        .get("/meetings/{id}/edit", edit_form)
        .post("/meetings/{id}/edit", update)
        .post("/meetings/{id}/cancel", cancel)
        .get("/meetings/{id}/agenda", agenda_page)
        .post("/meetings/{id}/agenda/move", agenda_move)
        .post("/meetings/{id}/agenda/minutes", agenda_minutes)
        .post("/meetings/{id}/agenda/approve", agenda_approve)
}

/// How far ahead the list shows, and schedules the cadence.
const HORIZON_MONTHS: u32 = 6;

fn today() -> NaiveDate {
    crate::referrals::today()
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    panel: Option<String>,
    saved: Option<String>,
}

pub struct MeetingRow {
    pub id: i64,
    pub date: String,
    pub panel: String,
    pub time: String,
    pub status: MeetingStatus,
    pub ad_hoc: bool,
    pub booked: i64,
    pub deadline: String,
    pub deadline_passed: bool,
    pub papers: String,
}

#[derive(Template)]
#[template(path = "meetings/list.html")]
struct ListPage {
    page: PageCtx,
    rows: Vec<MeetingRow>,
    panels: Vec<(String, String)>,
    panel: String,
    can_add: bool,
}

fn panel_of(panels: &[Panel], id: i64) -> Option<&Panel> {
    panels.iter().find(|p| p.id == id)
}

async fn list(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let chosen = q.panel.as_deref().and_then(chosen_id);
    let actor = p.actor();
    let (all_panels, found, counts, deadlines) = state
        .db(move |c| {
            let all_panels = panels::list(c)?;
            let mut tx = c.begin()?;
            for pl in &all_panels {
                meetings::ensure_scheduled(&mut tx, &actor, pl, today(), HORIZON_MONTHS)?;
            }
            tx.commit()?;
            let found = meetings::list(c, chosen, today(), 200)?;
            let ids: Vec<i64> = found.iter().map(|m| m.id).collect();
            let counts = meetings::booked_counts(c, &ids)?;
            let mut deadlines = Vec::with_capacity(found.len());
            let mut calendars = booking::Calendars::default();
            for m in &found {
                let pl = panel_of(&all_panels, m.panel_id).ok_or(AppError::NotFound)?;
                deadlines.push(calendars.deadlines(c, pl, m.date)?);
            }
            Ok((all_panels, found, counts, deadlines))
        })
        .await?;
    let rows = found
        .iter()
        .zip(deadlines)
        .map(|(m, d)| MeetingRow {
            id: m.id,
            date: date(m.date),
            panel: panel_of(&all_panels, m.panel_id)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            time: m.start_time.clone(),
            status: m.status(),
            ad_hoc: m.kind == "ad-hoc",
            booked: counts
                .iter()
                .find(|(id, _)| *id == m.id)
                .map_or(0, |(_, n)| *n),
            deadline: date(d.submission_deadline),
            deadline_passed: today() > d.submission_deadline,
            papers: date(d.papers_due),
        })
        .collect();
    let mut page = PageCtx::new(&p, "Meetings", "/meetings");
    page.flash = match q.saved.as_deref() {
        Some("created") => Some("Meeting added".into()),
        Some("cancelled") => Some("Meeting cancelled".into()),
        _ => None,
    };
    Ok(render(&ListPage {
        page,
        rows,
        panels: std::iter::once((String::new(), "All panels".to_owned()))
            .chain(
                all_panels
                    .iter()
                    .map(|p| (p.id.to_string(), p.name.clone())),
            )
            .collect(),
        panel: chosen.map(|c| c.to_string()).unwrap_or_default(),
        can_add: p.user.has(Role::Administrator),
    }))
}

pub struct BookedRow {
    pub href: String,
    pub who: String,
    pub status: String,
    pub late: bool,
}

#[derive(Template)]
#[template(path = "meetings/show.html")]
struct ShowPage {
    page: PageCtx,
    m: Meeting,
    panel: Panel,
    deadlines: Vec<(&'static str, String, bool)>,
    booked: Vec<BookedRow>,
    can_manage: bool,
    run: crate::meeting_run::RunSummary,
    errors: Errors,
}

pub async fn show_with(
    state: &AppState,
    p: &Principal,
    id: i64,
    errors: Errors,
) -> Result<Response, AppError> {
    let user = p.user.clone();
    let (m, panel, d, booked, run) = state
        .db(move |c| {
            let m = meetings::get(c, id)?.ok_or(AppError::NotFound)?;
            let panel = panels::get(c, m.panel_id)?.ok_or(AppError::NotFound)?;
            let d = booking::deadlines(c, &panel, m.date)?;
            let mut booked = Vec::new();
            for r in referrals::on_meeting(c, id)? {
                // Names only for people who may see the referral; others see that a slot is taken.
                let sight = referrals::sight(c, &user, &r)?;
                booked.push(BookedRow {
                    href: if sight == Sight::None {
                        String::new()
                    } else {
                        format!("/referrals/{}", r.id)
                    },
                    who: if sight == Sight::Full {
                        format!(
                            "{} ({}), presented by {}",
                            r.child_name, r.child_local_id, r.referrer_name
                        )
                    } else {
                        format!("Referral {} ({})", r.id, r.child_local_id)
                    },
                    status: r.status.label().to_owned(),
                    late: r.late,
                });
            }
            let run = crate::meeting_run::run_summary(c, &user, &m)?;
            Ok((m, panel, d, booked, run))
        })
        .await?;
    let t = today();
    let deadlines = vec![
        (
            "Referrals submitted by",
            date(d.submission_deadline),
            t > d.submission_deadline,
        ),
        (
            "Agenda and papers circulated by",
            date(d.papers_due),
            t > d.papers_due,
        ),
        (
            "Decision letters sent by",
            date(d.letter_due),
            t > d.letter_due,
        ),
        ("Minutes issued by", date(d.minutes_due), t > d.minutes_due),
        (
            "Absent agencies respond by",
            date(d.absent_agency_response_due),
            t > d.absent_agency_response_due,
        ),
    ];
    let title = format!("{} meeting, {}", panel.name, date(m.date));
    let view = ShowPage {
        page: PageCtx::new(p, title, "/meetings").with_errors(&errors),
        can_manage: p.user.has(Role::Administrator) && m.status().is_open(),
        m,
        panel,
        deadlines,
        booked,
        run,
        errors,
    };
    Ok(render_checked(&view, &view.errors))
}

async fn show(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    show_with(&state, &p, id, Errors::default()).await
}

fn detail_fields(form: Option<&Form>, m: Option<&Meeting>) -> Vec<Field> {
    let v = |k: &str, saved: Option<&String>| -> String {
        match form {
            Some(f) => f.get(k).to_owned(),
            None => saved.cloned().unwrap_or_default(),
        }
    };
    vec![
        Field::text(
            "start_time",
            "Start time",
            v("start_time", m.map(|m| &m.start_time)),
        )
        .hint("24-hour clock, for example 09:30 or 14:00"),
        Field::text("venue", "Venue (optional)", v("venue", m.map(|m| &m.venue)))
            .hint("For example, Committee Room 2, County Hall"),
        Field::text(
            "online_link",
            "Online meeting link (optional)",
            v("online_link", m.map(|m| &m.online_link)),
        )
        .hint("The https:// address members use to join"),
    ]
}

/// Checks the details as typed.
fn parse_details(form: &Form, e: &mut Errors) -> Option<Details> {
    let raw_time = form.get("start_time").trim();
    let start_time = match chrono::NaiveTime::parse_from_str(raw_time, "%H:%M") {
        Ok(t) => Some(t.format("%H:%M").to_string()),
        Err(_) => {
            e.add("start_time", "Enter the start time like 09:30 or 14:00");
            None
        }
    };
    let venue = e.take(
        "venue",
        jp_domain::text::optional(form.get("venue"), "the venue", 200),
    );
    let link = form.get("online_link").trim().to_owned();
    if !link.is_empty()
        && (!link.starts_with("https://") || link.len() > 500 || link.contains(char::is_whitespace))
    {
        e.add(
            "online_link",
            "Enter the online link as an https:// address, or leave it empty",
        );
    }
    if venue.as_ref().is_some_and(|v| v.is_none()) && link.is_empty() && e.is_empty() {
        e.add("venue", "Enter a venue, an online link, or both");
    }
    match (start_time, venue) {
        (Some(start_time), Some(venue)) if e.is_empty() => Some(Details {
            start_time,
            venue: venue.unwrap_or_default(),
            online_link: link,
        }),
        _ => None,
    }
}

fn form_page(
    p: &Principal,
    title: &str,
    action: String,
    version: Option<i64>,
    fields: Vec<Field>,
    errors: Errors,
    back: (String, String),
) -> FormPage {
    let mut f = FormPage::new(
        PageCtx::new(p, title, "/meetings"),
        back,
        action,
        version,
        fields,
        errors,
    );
    f.caption = "Meetings".into();
    f
}

async fn panel_options(state: &AppState) -> Result<Vec<(String, String)>, AppError> {
    let all = state.db(|c| Ok(panels::list(c)?)).await?;
    Ok(
        std::iter::once((String::new(), "Select a panel".to_owned()))
            .chain(all.into_iter().map(|p| (p.id.to_string(), p.name)))
            .collect(),
    )
}

fn new_fields(form: Option<&Form>, panels: Vec<(String, String)>) -> Vec<Field> {
    let kept = |k: &str| form.map(|f| f.get(k).to_owned()).unwrap_or_default();
    let mut fields =
        vec![
        Field::select("panel_id", "Panel", kept("panel_id"), panels),
        Field::date(
            "meeting_date",
            "Date",
            &form.map(|f| f.date_typed("meeting_date")).unwrap_or_default(),
        )
        .hint(
            "For example, 14 4 2027. Ad-hoc meetings are for urgent cases between the monthly ones",
        ),
    ];
    fields.extend(detail_fields(form, None));
    fields
}

async fn new_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Response, AppError> {
    let mut fields = new_fields(None, panel_options(&state).await?);
    fields[2] = Field::text("start_time", "Start time", "10:00")
        .hint("24-hour clock, for example 09:30 or 14:00");
    Ok(form_page(
        &p,
        "Add an ad-hoc meeting",
        "/meetings/new".into(),
        None,
        fields,
        Errors::default(),
        ("/meetings".into(), "Meetings".into()),
    )
    .respond())
}

async fn create(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    form: Form,
) -> Result<Response, AppError> {
    let mut e = Errors::default();
    let panel_id = chosen_id(form.get("panel_id"));
    if panel_id.is_none() {
        e.add("panel_id", "Select the panel that meets");
    }
    let day = e.take(
        "meeting_date",
        form.date("meeting_date", "the meeting's date"),
    );
    if day.is_some_and(|d| d < today()) {
        e.add("meeting_date", "The meeting's date must be today or later");
    }
    let details = parse_details(&form, &mut e);
    let back = ("/meetings".to_owned(), "Meetings".to_owned());
    let pg = form_page(
        &p,
        "Add an ad-hoc meeting",
        "/meetings/new".into(),
        None,
        new_fields(Some(&form), panel_options(&state).await?),
        e.clone(),
        back,
    );
    let (Some(panel_id), Some(day), Some(details)) = (panel_id, day, details) else {
        return Ok(pg.respond());
    };
    if !e.is_empty() {
        return Ok(pg.respond());
    }
    let actor = p.actor();
    let outcome = save(
        &state,
        move |tx| {
            if panels::get(tx, panel_id)?.is_none() {
                return Err(jp_store::ChangeError::Invalid(
                    "Select the panel that meets".into(),
                ));
            }
            meetings::create_ad_hoc(tx, &actor, panel_id, day, &details)
        },
        |_| Ok(None),
    )
    .await?;
    Ok(match outcome {
        Outcome::Saved(id) => Redirect::to(&format!("/meetings/{id}")).into_response(),
        other => respond(other, "/meetings", pg, "panel_id"),
    })
}

async fn edit_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    let m = state
        .db(move |c| meetings::get(c, id)?.ok_or(AppError::NotFound))
        .await?;
    Ok(form_page(
        &p,
        &format!("Change the meeting on {}", date(m.date)),
        format!("/meetings/{id}/edit"),
        Some(m.version),
        detail_fields(None, Some(&m)),
        Errors::default(),
        (format!("/meetings/{id}"), "The meeting".into()),
    )
    .respond())
}

async fn update(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    let mut e = Errors::default();
    let details = parse_details(&form, &mut e);
    let m = state
        .db(move |c| meetings::get(c, id)?.ok_or(AppError::NotFound))
        .await?;
    let pg = form_page(
        &p,
        &format!("Change the meeting on {}", date(m.date)),
        format!("/meetings/{id}/edit"),
        Some(v),
        detail_fields(Some(&form), None),
        e.clone(),
        (format!("/meetings/{id}"), "The meeting".into()),
    );
    let Some(details) = details else {
        return Ok(pg.respond());
    };
    let actor = p.actor();
    let outcome = save(
        &state,
        move |tx| meetings::update_details(tx, &actor, id, v, &details),
        move |c| {
            Ok(meetings::get(c, id)?.map(|m| {
                (
                    m.version,
                    vec![
                        ("Start time".to_owned(), m.start_time),
                        ("Venue".to_owned(), m.venue),
                        ("Online link".to_owned(), m.online_link),
                    ],
                )
            }))
        },
    )
    .await?;
    Ok(respond(
        outcome,
        &format!("/meetings/{id}"),
        pg,
        "start_time",
    ))
}

async fn cancel(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    let actor = p.actor();
    let outcome = save(
        &state,
        move |tx| meetings::apply(tx, &actor, id, v, MeetingAction::Cancel),
        move |c| Ok(meetings::get(c, id)?.map(|m| (m.version, Vec::new()))),
    )
    .await?;
    match outcome {
        Outcome::Saved(_) => Ok(Redirect::to("/meetings?saved=cancelled").into_response()),
        Outcome::Refused(m) => {
            let mut e = Errors::default();
            e.add("cancel", m);
            show_with(&state, &p, id, e).await
        }
        Outcome::Conflict { .. } => Err(AppError::Conflict(
            "Someone else changed this meeting after you opened it. Go back to the meeting to see where it is now.".into(),
        )),
    }
}

pub struct AgendaRow {
    pub id: i64,
    pub slot: String,
    pub title: String,
    pub href: String,
    pub kind: &'static str,
    pub late: bool,
    pub minutes: i64,
    pub first: bool,
    pub last: bool,
}

#[derive(Template)]
#[template(path = "meetings/agenda.html")]
struct AgendaPage {
    page: PageCtx,
    m: Meeting,
    panel: Panel,
    rows: Vec<AgendaRow>,
    total: i64,
    ends: String,
    approved: Option<String>,
    can_edit: bool,
    can_approve: bool,
    errors: Errors,
}

async fn agenda_response(
    state: &AppState,
    p: &Principal,
    id: i64,
    errors: Errors,
) -> Result<Response, AppError> {
    let user = p.user.clone();
    let (m, panel, items, approved, is_chair) = state
        .db(move |c| {
            let m = meetings::get(c, id)?.ok_or(AppError::NotFound)?;
            let panel = panels::get(c, m.panel_id)?.ok_or(AppError::NotFound)?;
            let mut tx = c.begin()?;
            jp_store::agenda::sync(&mut tx, &m, &panel)?;
            tx.commit()?;
            let mut items = Vec::new();
            for it in jp_store::agenda::items(c, id)? {
                let sight = match &it.referral {
                    Some(r) => referrals::sight(c, &user, r)?,
                    None => Sight::None,
                };
                items.push((it, sight));
            }
            let approved = jp_store::agenda::approval(c, id)?;
            let is_chair = referrals::chairs(c, user.id, m.panel_id)?;
            Ok((m, panel, items, approved, is_chair))
        })
        .await?;
    let start =
        chrono::NaiveTime::parse_from_str(&m.start_time, "%H:%M").unwrap_or(chrono::NaiveTime::MIN);
    let mut at = start;
    let n = items.len();
    let rows: Vec<AgendaRow> = items
        .into_iter()
        .enumerate()
        .map(|(i, (it, sight))| {
            let end = at + chrono::Duration::minutes(it.minutes);
            let (title, href, late) = match &it.referral {
                Some(r) if sight == Sight::Full => (
                    format!(
                        "{} ({}), presented by {}",
                        r.child_name, r.child_local_id, r.referrer_name
                    ),
                    format!("/referrals/{}", r.id),
                    r.late,
                ),
                Some(r) => (
                    format!("Referral {} ({})", r.id, r.child_local_id),
                    String::new(),
                    r.late,
                ),
                None => ("Other business".into(), String::new(), false),
            };
            let row = AgendaRow {
                id: it.id,
                slot: format!("{}–{}", at.format("%H:%M"), end.format("%H:%M")),
                title,
                href,
                kind: if it.kind == "review" {
                    "Review"
                } else {
                    "New request"
                },
                late,
                minutes: it.minutes,
                first: i == 0,
                last: i + 1 == n,
            };
            at = end;
            row
        })
        .collect();
    let total = rows.iter().map(|r| r.minutes).sum();
    let open = m.status() == MeetingStatus::Scheduled;
    let view = AgendaPage {
        page: PageCtx::new(
            p,
            format!("Agenda: {} on {}", panel.name, date(m.date)),
            "/meetings",
        )
        .with_errors(&errors),
        can_edit: open && p.user.has(Role::Administrator),
        can_approve: open && p.user.has(Role::Chair) && is_chair && !rows.is_empty(),
        ends: at.format("%H:%M").to_string(),
        approved: approved.map(|(who, when)| format!("{who} on {}", crate::pages::date_time(when))),
        rows,
        total,
        m,
        panel,
        errors,
    };
    Ok(render_checked(&view, &view.errors))
}

async fn agenda_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    agenda_response(&state, &p, id, Errors::default()).await
}

/// Runs an agenda change; a refusal comes back on the agenda page.
async fn agenda_change<F>(
    state: &AppState,
    p: &Principal,
    id: i64,
    field: &str,
    f: F,
) -> Result<Response, AppError>
where
    F: FnOnce(&mut jp_store::db::Tx<'_>, &jp_store::Actor) -> Result<(), jp_store::ChangeError>
        + Send
        + 'static,
{
    let actor = p.actor();
    let outcome = save(
        state,
        move |tx| f(tx, &actor),
        move |c| Ok(meetings::get(c, id)?.map(|m| (m.version, Vec::new()))),
    )
    .await?;
    match outcome {
        Outcome::Saved(()) => Ok(Redirect::to(&format!("/meetings/{id}/agenda")).into_response()),
        Outcome::Refused(m) => {
            let mut e = Errors::default();
            e.add(field, m);
            agenda_response(state, p, id, e).await
        }
        Outcome::Conflict { .. } => Err(AppError::Conflict(
            "Someone else changed this meeting after you opened it. Go back to the agenda to see where it is now.".into(),
        )),
    }
}

async fn agenda_move(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let item = chosen_id(form.get("item_id")).ok_or(AppError::NotFound)?;
    let up = match form.get("direction") {
        "up" => true,
        "down" => false,
        _ => {
            return Err(AppError::BadRequest(
                "Say whether the item moves up or down".into(),
            ));
        }
    };
    agenda_change(&state, &p, id, "agenda", move |tx, actor| {
        jp_store::agenda::move_item(tx, actor, id, item, up)
    })
    .await
}

async fn agenda_minutes(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let item = chosen_id(form.get("item_id")).ok_or(AppError::NotFound)?;
    let Ok(minutes) = form.get("minutes").trim().parse::<i64>() else {
        let mut e = Errors::default();
        e.add(
            "agenda",
            "Enter the item's minutes as a whole number, like 20",
        );
        return agenda_response(&state, &p, id, e).await;
    };
    agenda_change(&state, &p, id, "agenda", move |tx, actor| {
        jp_store::agenda::set_minutes(tx, actor, id, item, minutes)
    })
    .await
}

async fn agenda_approve(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    let chair = p.user.clone();
    agenda_change(&state, &p, id, "approve", move |tx, actor| {
        jp_store::agenda::approve(tx, actor, &chair, id, v).map(|_| ())
    })
    .await
}
