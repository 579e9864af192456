//! Running a meeting (SPEC §4): circulating, starting and closing it; the
//! attendance page (per agency: present, a named deputy, apologies, absent);
//! the minutes page (per item: the minute, the referrer's attendance, the lead
//! member, declared conflicts, "considered" with the agencies the outcome
//! affects, actions); the chair's approval that issues the minutes; and the
//! absent agencies' responses to recommendations (seed 000 §3.5).

use crate::admin::{Outcome, chosen_id, save};
use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::{Errors, Form, Id, version};
use crate::pages::{Field, FieldKind, PageCtx, date, date_time, render_checked};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use jp_domain::Role;
use jp_domain::meeting_lifecycle::{MeetingStatus, Presence};
use jp_store::accounts::User;
use jp_store::actions::{self, Action, NewAction, Recommendation, Source};
use jp_store::db::{Conn, Tx};
use jp_store::meeting_run::{self, Attendance, Conflict, MinutesApproval};
use jp_store::meetings::{self, Meeting};
use jp_store::reference::panels::{self, Panel};
use jp_store::referrals::{self, Sight};
use jp_store::{Actor, ChangeError};

pub fn routes() -> Routes {
    Routes::default()
        .post("/meetings/{id}/circulate", circulate)
        .post("/meetings/{id}/start", start)
        .post("/meetings/{id}/close", close)
        .get("/meetings/{id}/attendance", attendance_page)
        .post("/meetings/{id}/attendance", attendance_save)
        .get("/meetings/{id}/minutes", minutes_page)
        .get("/meetings/{id}/minutes.pdf", minutes_pdf)
        .post("/meetings/{id}/minutes/item", minute_save)
        .post("/meetings/{id}/minutes/conflict", conflict_save)
        .post("/meetings/{id}/minutes/consider", consider)
        .post("/meetings/{id}/minutes/approve", approve_minutes)
        .post("/meetings/{id}/actions", action_add)
        .post("/actions/{id}/done", action_done)
        .get("/recommendations/{id}", recommendation_page)
        .post("/recommendations/{id}", recommendation_respond)
}

fn today() -> NaiveDate {
    crate::referrals::today()
}

/// Whether the person may read a meeting's record (attendance, minutes): the
/// panel administrators, and the panel's members and named deputies.
pub(crate) fn may_read(c: &mut Conn, user: &User, panel_id: i64) -> Result<bool, AppError> {
    Ok(user.has(Role::Administrator)
        || meeting_run::invitees(c, panel_id)?
            .iter()
            .any(|(id, _)| *id == user.id))
}

fn load(c: &mut Conn, user: &User, id: i64) -> Result<(Meeting, Panel), AppError> {
    let m = meetings::get(c, id)?.ok_or(AppError::NotFound)?;
    if !may_read(c, user, m.panel_id)? {
        return Err(AppError::Denied(
            "Only the panel's members, their deputies and the panel administrators can read this meeting's record".into(),
        ));
    }
    let panel = panels::get(c, m.panel_id)?.ok_or(AppError::NotFound)?;
    Ok((m, panel))
}

/// Which page a refused change is shown on, with its message.
#[derive(Clone, Copy)]
enum Back {
    Meeting,
    Minutes,
}

impl Back {
    fn path(self, id: i64) -> String {
        match self {
            Back::Meeting => format!("/meetings/{id}"),
            Back::Minutes => format!("/meetings/{id}/minutes"),
        }
    }
}

/// Saves a change to the meeting's record in one transaction (a conflict is
/// reported against the meeting's version).
async fn save_on_meeting<T, F>(
    state: &AppState,
    p: &Principal,
    id: i64,
    f: F,
) -> Result<Outcome<T>, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut Tx<'_>, &Actor) -> Result<T, ChangeError> + Send + 'static,
{
    let actor = p.actor();
    save(
        state,
        move |tx| f(tx, &actor),
        move |c| Ok(meetings::get(c, id)?.map(|m| (m.version, Vec::new()))),
    )
    .await
}

/// Runs a change to the meeting's record in one transaction; saved, it goes
/// back to the page (at `anchor`); refused, the page again with the message.
async fn change<F>(
    state: &AppState,
    p: &Principal,
    id: i64,
    back: Back,
    field: &str,
    f: F,
) -> Result<Response, AppError>
where
    F: FnOnce(&mut Tx<'_>, &Actor) -> Result<(), ChangeError> + Send + 'static,
{
    match save_on_meeting(state, p, id, f).await? {
        Outcome::Saved(()) => Ok(Redirect::to(&format!("{}#{field}", back.path(id))).into_response()),
        Outcome::Refused(m) => {
            let mut e = Errors::default();
            e.add(field, m);
            match back {
                Back::Meeting => crate::meetings::show_with(state, p, id, e).await,
                Back::Minutes => minutes_response(state, p, id, None, e).await,
            }
        }
        Outcome::Conflict { .. } => Err(AppError::Conflict(
            "Someone else changed this meeting after you opened it. Go back to the meeting to see where it is now.".into(),
        )),
    }
}

/// The lifecycle buttons of the meeting page: each moves the meeting on, or
/// comes back to the page with the reason it cannot.
async fn lifecycle(
    state: &AppState,
    p: &Principal,
    id: i64,
    form: &Form,
    step: fn(&mut Tx<'_>, &Actor, i64, i64) -> Result<Meeting, ChangeError>,
) -> Result<Response, AppError> {
    let v = version(form)?;
    change(state, p, id, Back::Meeting, "lifecycle", move |tx, a| {
        step(tx, a, id, v).map(|_| ())
    })
    .await
}

async fn circulate(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let res = lifecycle(&state, &p, id, &form, |tx, a, id, v| {
        meeting_run::circulate(tx, a, id, v, today())
    })
    .await?;
    // Circulated: follow the pack's progress on the papers page.
    Ok(if res.status().is_redirection() {
        Redirect::to(&format!("/meetings/{id}/papers")).into_response()
    } else {
        res
    })
}

async fn start(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    lifecycle(&state, &p, id, &form, meeting_run::start).await
}

async fn close(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    lifecycle(&state, &p, id, &form, meeting_run::close).await
}

// ---------------------------------------------------------------- attendance

pub struct SeatRow {
    pub a: Attendance,
    pub fields: Vec<Field>,
}

#[derive(Template)]
#[template(path = "meetings/attendance.html")]
struct AttendancePage {
    page: PageCtx,
    m: Meeting,
    panel: Panel,
    rows: Vec<SeatRow>,
    can_edit: bool,
    errors: Errors,
}

fn presence_options() -> Vec<(String, String)> {
    Presence::ALL
        .iter()
        .map(|p| (p.slug().to_owned(), p.label().to_owned()))
        .collect()
}

fn seat_fields(a: &Attendance, form: Option<&Form>, errors: &Errors) -> Vec<Field> {
    let key = a.seat.agency_id;
    let (presence, who) = match form {
        Some(f) => (
            f.get(&format!("presence-{key}")).to_owned(),
            f.get(&format!("attendee-{key}")).to_owned(),
        ),
        None => (
            a.presence.map(|p| p.slug().to_owned()).unwrap_or_default(),
            a.attendee_id.map(|i| i.to_string()).unwrap_or_default(),
        ),
    };
    let mut people = vec![(String::new(), "Nobody (apologies or absent)".to_owned())];
    for (id, name) in &a.seat.members {
        people.push((id.to_string(), format!("{name} (member)")));
    }
    for (id, name) in &a.seat.deputies {
        people.push((id.to_string(), format!("{name} (deputy)")));
    }
    let mut fields = vec![
        Field::radios(
            &format!("presence-{key}"),
            &format!("How was {} represented?", a.seat.agency_name),
            presence,
            presence_options(),
        ),
        Field::select(
            &format!("attendee-{key}"),
            &format!("Who attended for {}", a.seat.agency_name),
            who,
            people,
        )
        .hint("The member, or the deputy who came in their place"),
    ];
    for f in &mut fields {
        f.error = errors.get(&f.name).map(str::to_owned);
    }
    fields
}

async fn attendance_response(
    state: &AppState,
    p: &Principal,
    id: i64,
    form: Option<Form>,
    errors: Errors,
) -> Result<Response, AppError> {
    let user = p.user.clone();
    let (m, panel, rows, open) = state
        .db(move |c| {
            let (m, panel) = load(c, &user, id)?;
            let rows = meeting_run::attendance(c, &m)?;
            let open = match m.status() {
                MeetingStatus::AgendaApproved
                | MeetingStatus::PapersCirculated
                | MeetingStatus::InProgress => true,
                MeetingStatus::Closed => meeting_run::minutes_approval(c, id)?.is_none(),
                _ => false,
            };
            Ok((m, panel, rows, open))
        })
        .await?;
    let rows = rows
        .into_iter()
        .map(|a| SeatRow {
            fields: seat_fields(&a, form.as_ref(), &errors),
            a,
        })
        .collect();
    let view = AttendancePage {
        page: PageCtx::new(
            p,
            format!("Attendance: {} on {}", panel.name, date(m.date)),
            "/meetings",
        )
        .with_errors(&errors),
        can_edit: open && p.user.has(Role::Administrator),
        m,
        panel,
        rows,
        errors,
    };
    Ok(render_checked(&view, &view.errors))
}

async fn attendance_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    attendance_response(&state, &p, id, None, Errors::default()).await
}

async fn attendance_save(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let user = p.user.clone();
    let seats = state
        .db(move |c| {
            let (m, _) = load(c, &user, id)?;
            Ok(meeting_run::seats(c, m.panel_id)?)
        })
        .await?;
    // Read every agency's line first; one mistake sends the whole page back.
    let mut e = Errors::default();
    let mut lines = Vec::new();
    for s in &seats {
        let key = s.agency_id;
        let raw = form.get(&format!("presence-{key}"));
        if raw.is_empty() {
            continue;
        }
        let Some(presence) = Presence::parse(raw) else {
            e.add(
                &format!("presence-{key}"),
                format!("Select how {} was represented", s.agency_name),
            );
            continue;
        };
        let who = form.get(&format!("attendee-{key}"));
        let attendee = chosen_id(who);
        if !who.is_empty() && attendee.is_none() {
            e.add(
                &format!("attendee-{key}"),
                format!("Select who attended for {}", s.agency_name),
            );
            continue;
        }
        if !presence.represented() && attendee.is_some() {
            e.add(
                &format!("attendee-{key}"),
                format!(
                    "{} sent apologies or was absent: choose “Nobody”, or say a member or deputy was present",
                    s.agency_name
                ),
            );
            continue;
        }
        lines.push((key, presence, attendee));
    }
    if lines.is_empty()
        && e.is_empty()
        && let Some(s) = seats.first()
    {
        e.add(
            &format!("presence-{}", s.agency_id),
            "Select how at least one agency was represented",
        );
    }
    if !e.is_empty() {
        return attendance_response(&state, &p, id, Some(form), e).await;
    }
    // Each line is checked by the store (a deputy must be one the agency's
    // members named); the first refusal names its agency's field.
    let outcome = save_on_meeting(&state, &p, id, move |tx, actor| {
        for (agency, presence, attendee) in lines {
            meeting_run::record_attendance(tx, actor, id, agency, presence, attendee).map_err(
                |err| match err {
                    ChangeError::Invalid(m) => ChangeError::Invalid(format!("{agency}\u{1f}{m}")),
                    other => other,
                },
            )?;
        }
        Ok(())
    })
    .await?;
    match outcome {
        Outcome::Saved(()) => {
            Ok(Redirect::to(&format!("/meetings/{id}/attendance?saved=1")).into_response())
        }
        Outcome::Refused(m) => {
            let mut e = Errors::default();
            match m.split_once('\u{1f}') {
                Some((agency, msg)) => e.add(&format!("attendee-{agency}"), msg),
                None => e.add("attendance", m),
            }
            attendance_response(&state, &p, id, Some(form), e).await
        }
        Outcome::Conflict { .. } => Err(AppError::Conflict(
            "Someone else changed this meeting after you opened it.".into(),
        )),
    }
}

// ------------------------------------------------------------------- minutes

pub struct ItemView {
    pub id: i64,
    pub number: usize,
    pub title: String,
    pub href: String,
    pub kind: &'static str,
    pub late: bool,
    pub minute: String,
    pub referrer: String,
    pub referrer_attended: &'static str,
    pub lead: String,
    pub considered: Option<String>,
    pub conflicts: Vec<Conflict>,
    pub recommendations: Vec<Recommendation>,
    /// The item's forms: minute, conflict, considered.
    pub minute_fields: Vec<Field>,
    pub conflict_fields: Vec<Field>,
    pub consider_fields: Vec<Field>,
}

#[derive(Template)]
#[template(path = "meetings/minutes.html")]
struct MinutesPage {
    page: PageCtx,
    m: Meeting,
    panel: Panel,
    items: Vec<ItemView>,
    attendance: Vec<Attendance>,
    actions: Vec<Action>,
    action_fields: Vec<Field>,
    approval: Option<MinutesApproval>,
    /// Minutes may be written (started, not yet approved) by the administrator.
    can_write: bool,
    /// Items may be marked considered (in progress).
    can_consider: bool,
    can_approve: bool,
    today: NaiveDate,
    errors: Errors,
}

fn kept(form: Option<&Form>, item: Option<i64>, name: &str, saved: String) -> String {
    match form {
        Some(f) if item.is_none() || chosen_id(f.get("item_id")) == item => f.get(name).to_owned(),
        _ => saved,
    }
}

#[allow(clippy::too_many_lines)]
async fn minutes_response(
    state: &AppState,
    p: &Principal,
    id: i64,
    form: Option<Form>,
    errors: Errors,
) -> Result<Response, AppError> {
    let user = p.user.clone();
    let (
        m,
        panel,
        items,
        attendance,
        conflicts,
        recs,
        actions,
        approval,
        invitees,
        members,
        is_chair,
    ) = state
        .db(move |c| {
            let (m, panel) = load(c, &user, id)?;
            let mut items = Vec::new();
            for it in jp_store::agenda::items(c, id)? {
                let sight = match &it.referral {
                    Some(r) => referrals::sight(c, &user, r)?,
                    None => Sight::None,
                };
                items.push((it, sight));
            }
            let attendance = meeting_run::attendance(c, &m)?;
            let conflicts = meeting_run::conflicts(c, id)?;
            let recs = actions::recommendations_of_meeting(c, id)?;
            let acts = actions::of_meeting(c, id)?;
            let approval = meeting_run::minutes_approval(c, id)?;
            let invitees = meeting_run::invitees(c, m.panel_id)?;
            let members = jp_store::reference::members::of_panel(c, m.panel_id)?;
            let is_chair = referrals::chairs(c, user.id, m.panel_id)?;
            Ok((
                m, panel, items, attendance, conflicts, recs, acts, approval, invitees, members,
                is_chair,
            ))
        })
        .await?;
    let is_admin = p.user.has(Role::Administrator);
    let status = m.status();
    let can_write = is_admin
        && approval.is_none()
        && matches!(status, MeetingStatus::InProgress | MeetingStatus::Closed);
    let can_consider = is_admin && status == MeetingStatus::InProgress;
    let f = form.as_ref();
    let people: Vec<(String, String)> = std::iter::once((String::new(), "Select a person".into()))
        .chain(invitees.iter().map(|(i, n)| (i.to_string(), n.clone())))
        .collect();
    let leads: Vec<(String, String)> = std::iter::once((String::new(), "No lead member".into()))
        .chain(members.iter().map(|mm| {
            (
                mm.user_id.to_string(),
                format!("{} ({})", mm.user_name, mm.agency_name),
            )
        }))
        .collect();
    let seats: Vec<(String, String)> = attendance
        .iter()
        .map(|a| {
            (
                a.seat.agency_id.to_string(),
                match a.presence {
                    Some(pr) => format!("{} ({})", a.seat.agency_name, pr.label().to_lowercase()),
                    None => format!("{} (attendance not recorded)", a.seat.agency_name),
                },
            )
        })
        .collect();
    let with_err = |mut fs: Vec<Field>| {
        for x in &mut fs {
            x.error = errors.get(&x.name).map(str::to_owned);
        }
        fs
    };
    let mut views = Vec::new();
    for (n, (it, sight)) in items.iter().enumerate() {
        let iid = Some(it.id);
        let (title, href, late, referrer, default_affected) = match &it.referral {
            Some(r) if *sight == Sight::Full => (
                format!("{} ({})", r.child_name, r.child_local_id),
                format!("/referrals/{}", r.id),
                r.late,
                r.referrer_name.clone(),
                r.agency_id,
            ),
            Some(r) => (
                format!("Referral {} ({})", r.id, r.child_local_id),
                String::new(),
                r.late,
                r.referrer_name.clone(),
                r.agency_id,
            ),
            None => (
                "Other business".into(),
                String::new(),
                false,
                String::new(),
                None,
            ),
        };
        let affected: Vec<String> = match f {
            Some(fm) if chosen_id(fm.get("item_id")) == iid => fm.all("affected").to_vec(),
            _ => default_affected
                .filter(|a| attendance.iter().any(|s| s.seat.agency_id == *a))
                .map(|a| vec![a.to_string()])
                .unwrap_or_default(),
        };
        views.push(ItemView {
            id: it.id,
            number: n + 1,
            title,
            href,
            kind: if it.kind == "review" { "Review" } else { "New request" },
            late,
            minute: it.minute.clone(),
            referrer,
            referrer_attended: match it.referrer_attended.as_str() {
                "yes" => "Attended",
                "no" => "Did not attend",
                _ => "Not recorded",
            },
            lead: it
                .lead_user_id
                .and_then(|l| members.iter().find(|mm| mm.user_id == l))
                .map(|mm| mm.user_name.clone())
                .unwrap_or_else(|| "None named".into()),
            considered: it.considered_at.map(date_time),
            conflicts: conflicts.iter().filter(|c| c.item_id == it.id).cloned().collect(),
            recommendations: recs.iter().filter(|r| r.item_id == it.id).cloned().collect(),
            minute_fields: with_err(vec![
                Field::textarea(
                    &format!("minute-{}", it.id),
                    &format!("Minute of item {}", n + 1),
                    kept(f, iid, &format!("minute-{}", it.id), it.minute.clone()),
                )
                .hint("What was discussed and what the panel resolved. The decision itself is recorded on the referral"),
                Field::radios(
                    &format!("attended-{}", it.id),
                    "Did the referrer attend for this item?",
                    kept(f, iid, &format!("attended-{}", it.id), it.referrer_attended.clone()),
                    vec![("yes".into(), "Yes".into()), ("no".into(), "No".into())],
                ),
                Field::select(
                    &format!("lead-{}", it.id),
                    "Lead member (keeps a copy of the papers)",
                    kept(
                        f,
                        iid,
                        &format!("lead-{}", it.id),
                        it.lead_user_id.map(|l| l.to_string()).unwrap_or_default(),
                    ),
                    leads.clone(),
                ),
            ]),
            conflict_fields: with_err(vec![
                Field::select(
                    &format!("conflict-person-{}", it.id),
                    "Who declares an interest",
                    kept(f, iid, &format!("conflict-person-{}", it.id), String::new()),
                    people.clone(),
                ),
                Field::text(
                    &format!("interest-{}", it.id),
                    "The interest declared",
                    kept(f, iid, &format!("interest-{}", it.id), String::new()),
                )
                .hint("They take no part in this item's decision"),
            ]),
            consider_fields: with_err(vec![
                Field::checkboxes(
                    &format!("affected-{}", it.id),
                    "Which agencies does the outcome affect?",
                    affected,
                    seats.clone(),
                )
                .hint("An affected agency that nobody attended for receives the outcome as a recommendation, to accept or reject"),
            ]),
        });
    }
    let action_fields = with_err(vec![
        Field::select(
            "action-item",
            "Item (optional)",
            kept(f, None, "action-item", String::new()),
            std::iter::once((String::new(), "The meeting as a whole".into()))
                .chain(
                    views
                        .iter()
                        .map(|v| (v.id.to_string(), format!("Item {}: {}", v.number, v.title))),
                )
                .collect(),
        ),
        Field::text(
            "action-title",
            "What is to be done",
            kept(f, None, "action-title", String::new()),
        ),
        Field::select(
            "action-owner",
            "Owner",
            kept(f, None, "action-owner", String::new()),
            people,
        ),
        Field::date(
            "action-due",
            "Due by",
            &f.map(|f| f.date_typed("action-due")).unwrap_or_default(),
        )
        .hint("For example, 27 3 2027"),
    ]);
    let all_minuted = items
        .iter()
        .all(|(i, _)| i.considered_at.is_some() && !i.minute.trim().is_empty());
    let view = MinutesPage {
        page: PageCtx::new(
            p,
            format!("Minutes: {} on {}", panel.name, date(m.date)),
            "/meetings",
        )
        .with_errors(&errors),
        can_approve: is_chair
            && p.user.has(Role::Chair)
            && status == MeetingStatus::Closed
            && approval.is_none()
            && all_minuted,
        can_write,
        can_consider,
        items: views,
        attendance,
        actions,
        action_fields,
        approval,
        today: today(),
        m,
        panel,
        errors,
    };
    Ok(render_checked(&view, &view.errors))
}

async fn minutes_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    minutes_response(&state, &p, id, None, Errors::default()).await
}

/// The item a form names, and that it belongs to the meeting.
fn item_of(form: &Form) -> Result<i64, AppError> {
    chosen_id(form.get("item_id")).ok_or_else(|| AppError::BadRequest("Say which item".into()))
}

async fn minute_save(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let item = item_of(&form)?;
    let text = form.get(&format!("minute-{item}")).to_owned();
    let attended = match form.get(&format!("attended-{item}")) {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let lead_raw = form.get(&format!("lead-{item}"));
    let lead = chosen_id(lead_raw);
    let mut e = Errors::default();
    if text.trim().is_empty() {
        e.add(&format!("minute-{item}"), "Enter the minute of the item");
    }
    if !lead_raw.is_empty() && lead.is_none() {
        e.add(
            &format!("lead-{item}"),
            "Select the lead member from the list",
        );
    }
    if !e.is_empty() {
        return minutes_response(&state, &p, id, Some(form), e).await;
    }
    let field = format!("minute-{item}");
    let form_again = form.clone();
    let outcome = save_on_meeting(&state, &p, id, move |tx, actor| {
        meeting_run::save_minute(tx, actor, id, item, &text)?;
        if let Some(a) = attended {
            meeting_run::set_referrer_attended(tx, actor, id, item, a)?;
        }
        meeting_run::set_lead(tx, actor, id, item, lead)
    })
    .await?;
    refused_on_minutes(&state, &p, id, outcome, &field, form_again).await
}

async fn refused_on_minutes(
    state: &AppState,
    p: &Principal,
    id: i64,
    outcome: Outcome<()>,
    field: &str,
    form: Form,
) -> Result<Response, AppError> {
    match outcome {
        Outcome::Saved(()) => {
            let anchor = form.get("item_id");
            Ok(Redirect::to(&format!("/meetings/{id}/minutes#item-{anchor}")).into_response())
        }
        Outcome::Refused(m) => {
            let mut e = Errors::default();
            e.add(field, m);
            minutes_response(state, p, id, Some(form), e).await
        }
        Outcome::Conflict { .. } => Err(AppError::Conflict(
            "Someone else changed this meeting after you opened it.".into(),
        )),
    }
}

async fn conflict_save(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let item = item_of(&form)?;
    let who = chosen_id(form.get(&format!("conflict-person-{item}")));
    let interest = form.get(&format!("interest-{item}")).to_owned();
    let mut e = Errors::default();
    if who.is_none() {
        e.add(
            &format!("conflict-person-{item}"),
            "Select who declares the interest",
        );
    }
    if interest.trim().is_empty() {
        e.add(&format!("interest-{item}"), "Enter the interest declared");
    }
    let Some(who) = who.filter(|_| e.is_empty()) else {
        return minutes_response(&state, &p, id, Some(form), e).await;
    };
    let field = format!("conflict-person-{item}");
    let outcome = save_on_meeting(&state, &p, id, move |tx, actor| {
        meeting_run::declare_conflict(tx, actor, id, item, who, &interest)
    })
    .await?;
    refused_on_minutes(&state, &p, id, outcome, &field, form).await
}

async fn consider(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let item = item_of(&form)?;
    let field = format!("affected-{item}");
    let mut affected = Vec::new();
    for raw in form.all(&field) {
        match chosen_id(raw) {
            Some(a) => affected.push(a),
            None => {
                let mut e = Errors::default();
                e.add(&field, "Select agencies from the list");
                return minutes_response(&state, &p, id, Some(form), e).await;
            }
        }
    }
    let base = state.config.base_url.clone();
    let outcome = save_on_meeting(&state, &p, id, move |tx, actor| {
        let done = meeting_run::consider(tx, actor, id, item, &affected, today())?;
        for sent in &done.recommended {
            recommendation_sent(tx, &base, sent)?;
        }
        Ok(())
    })
    .await?;
    refused_on_minutes(&state, &p, id, outcome, &field, form).await
}

/// The members of an absent agency hear of the recommendation and its deadline.
pub(crate) fn recommendation_sent(
    tx: &mut Tx<'_>,
    base: &str,
    sent: &meeting_run::Recommended,
) -> Result<(), ChangeError> {
    let r = actions::recommendation(tx, sent.recommendation_id)?.ok_or(ChangeError::NotFound)?;
    let mut to = Vec::new();
    for o in &sent.owners {
        if let Some(u) = jp_store::accounts::get(tx, *o)?.filter(|u| u.active) {
            to.push(u);
        }
    }
    crate::notify::queue_about(
        tx,
        "recommendation.sent",
        &to,
        ("recommendation", r.id),
        &format!(
            "Response needed by {}: a panel recommendation affecting {}",
            date(r.due_date),
            r.agency_name
        ),
        &format!(
            "Nobody attended for {} at the panel meeting on {} when it considered {}. The outcome affects your agency, so it is a recommendation to you and is not final until your agency responds.\n\nAccept it, or reject it with your reason, by {}: {}/recommendations/{}",
            r.agency_name,
            date(r.meeting_date),
            r.child_local_id
                .as_deref()
                .map(|c| format!("the referral for child {c}"))
                .unwrap_or_else(|| "an item".into()),
            date(r.due_date),
            base.trim_end_matches('/'),
            r.id
        ),
    )
}

async fn approve_minutes(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    let chair = p.user.clone();
    let base = state.config.base_url.clone();
    change(&state, &p, id, Back::Minutes, "approve", move |tx, a| {
        let approval = meeting_run::approve_minutes(tx, a, &chair, id, v, today())?;
        minutes_issued(tx, &base, id, &approval)
    })
    .await
}

/// The minutes go to the panel's members and deputies and the administrators.
fn minutes_issued(
    tx: &mut Tx<'_>,
    base: &str,
    meeting_id: i64,
    approval: &MinutesApproval,
) -> Result<(), ChangeError> {
    let m = meetings::get(tx, meeting_id)?.ok_or(ChangeError::NotFound)?;
    let panel = panels::get(tx, m.panel_id)?.ok_or(ChangeError::NotFound)?;
    let mut to: Vec<User> = Vec::new();
    let ids: Vec<i64> = meeting_run::invitees(tx, m.panel_id)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for id in ids {
        if let Some(u) = jp_store::accounts::get(tx, id)?.filter(|u| u.active) {
            to.push(u);
        }
    }
    for u in referrals::administrators(tx)? {
        if !to.iter().any(|t| t.id == u.id) {
            to.push(u);
        }
    }
    crate::notify::queue_about(
        tx,
        "meeting.minutes-issued",
        &to,
        ("meeting", meeting_id),
        &format!("Minutes of the {} meeting on {}", panel.name, date(m.date)),
        &format!(
            "{} approved the minutes of the {} meeting on {}. Read them, with the actions that follow from them, at {base}/meetings/{meeting_id}/minutes or as a PDF: {base}/meetings/{meeting_id}/minutes.pdf",
            approval.by,
            panel.name,
            date(m.date),
            base = base.trim_end_matches('/')
        ),
    )
}

async fn action_add(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let mut e = Errors::default();
    let item_raw = form.get("action-item");
    let item = chosen_id(item_raw);
    if !item_raw.is_empty() && item.is_none() {
        e.add("action-item", "Select the item from the list");
    }
    let title = e.take(
        "action-title",
        jp_domain::text::required(form.get("action-title"), "what is to be done", 300),
    );
    let owner = chosen_id(form.get("action-owner"));
    if owner.is_none() {
        e.add("action-owner", "Select who owns the action");
    }
    let due = e.take("action-due", form.date("action-due", "the due date"));
    if due.is_some_and(|d| d < today()) {
        e.add("action-due", "The due date must be today or later");
    }
    let (Some(title), Some(owner), Some(due)) = (title, owner, due) else {
        return minutes_response(&state, &p, id, Some(form), e).await;
    };
    if !e.is_empty() {
        return minutes_response(&state, &p, id, Some(form), e).await;
    }
    let base = state.config.base_url.clone();
    let outcome = save_on_meeting(&state, &p, id, move |tx, actor| {
            let m = meetings::get(tx, id)?.ok_or(ChangeError::NotFound)?;
            if m.status() == MeetingStatus::Scheduled || m.status() == MeetingStatus::Cancelled {
                return Err(ChangeError::Invalid(
                    "Actions are recorded from the meeting once it has started".into(),
                ));
            }
            if !meeting_run::invitees(tx, m.panel_id)?
                .iter()
                .any(|(u, _)| *u == owner)
            {
                return Err(ChangeError::Invalid(
                    "The owner must be one of the panel's members or deputies".into(),
                ));
            }
            let referral_id = match item {
                Some(i) => Some(
                    jp_store::agenda::items(tx, id)?
                        .into_iter()
                        .find(|x| x.id == i)
                        .ok_or_else(|| ChangeError::Invalid("Select the item from the list".into()))?
                        .referral_id,
                )
                .flatten(),
                None => None,
            };
            let aid = actions::create(
                tx,
                actor,
                &NewAction {
                    title: title.clone(),
                    owner_id: owner,
                    due,
                    source: Source::Minute,
                    meeting_id: Some(id),
                    item_id: item,
                    referral_id,
                    recommendation_id: None,
                },
            )?;
            let to: Vec<User> = jp_store::accounts::get(tx, owner)?.into_iter().collect();
            crate::notify::queue_about(
                tx,
                "action.assigned",
                &to,
                ("action", aid),
                &format!("New action for you, due {}", date(due)),
                &format!(
                    "The {} meeting on {} gave you an action: “{title}”, due by {}. Mark it done from your home page: {}/",
                    m.date.format("%B"),
                    date(m.date),
                    date(due),
                    base.trim_end_matches('/')
                ),
            )
        })
    .await?;
    match outcome {
        Outcome::Saved(()) => {
            Ok(Redirect::to(&format!("/meetings/{id}/minutes#actions")).into_response())
        }
        Outcome::Refused(m) => {
            let mut e = Errors::default();
            e.add("action-owner", m);
            minutes_response(&state, &p, id, Some(form), e).await
        }
        Outcome::Conflict { .. } => Err(AppError::Conflict(
            "Someone else changed this meeting.".into(),
        )),
    }
}

async fn action_done(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    let user = p.user.clone();
    let actor = p.actor();
    let outcome = save(
        &state,
        move |tx| actions::complete(tx, &actor, &user, id, v),
        move |c| Ok(actions::get(c, id)?.map(|a| (a.version, Vec::new()))),
    )
    .await?;
    match outcome {
        Outcome::Saved(_) => Ok(Redirect::to("/?saved=action-done#actions").into_response()),
        Outcome::Refused(m) => Err(AppError::Unprocessable(m)),
        Outcome::Conflict { .. } => Err(AppError::Conflict(
            "Someone else changed this action after you opened the page. Go back to your home page to see where it is now.".into(),
        )),
    }
}

// ----------------------------------------------------------- recommendations

#[derive(Template)]
#[template(path = "meetings/recommendation.html")]
struct RecommendationPage {
    page: PageCtx,
    r: Recommendation,
    panel: Panel,
    minute: String,
    can_respond: bool,
    fields: Vec<Field>,
    overdue: bool,
    errors: Errors,
}

async fn recommendation_response(
    state: &AppState,
    p: &Principal,
    id: i64,
    form: Option<Form>,
    errors: Errors,
) -> Result<Response, AppError> {
    let user = p.user.clone();
    let (r, panel, minute, speaks) = state
        .db(move |c| {
            let r = actions::recommendation(c, id)?.ok_or(AppError::NotFound)?;
            let (_, panel) = load(c, &user, r.meeting_id)?;
            let minute = jp_store::agenda::items(c, r.meeting_id)?
                .into_iter()
                .find(|i| i.id == r.item_id)
                .map(|i| i.minute)
                .unwrap_or_default();
            let speaks = actions::speaks_for(c, user.id, r.panel_id, r.agency_id)?;
            Ok((r, panel, minute, speaks))
        })
        .await?;
    let kept = |k: &str| {
        form.as_ref()
            .map(|f| f.get(k).to_owned())
            .unwrap_or_default()
    };
    let mut fields = vec![
        Field::radios(
            "response",
            &format!("Does {} accept the recommendation?", r.agency_name),
            kept("response"),
            vec![
                ("accept".into(), "Accept: the decision becomes final".into()),
                ("reject".into(), "Reject, with the agency's reason".into()),
            ],
        ),
        Field::textarea("reason", "Reason or comment", kept("reason"))
            .hint("Required when rejecting: the panel reconsiders the item with it"),
    ];
    for f in &mut fields {
        f.error = errors.get(&f.name).map(str::to_owned);
    }
    let view = RecommendationPage {
        page: PageCtx::new(
            p,
            format!("Recommendation to {}", r.agency_name),
            "/meetings",
        )
        .with_errors(&errors),
        can_respond: r.status == "awaiting" && (speaks || p.user.has(Role::Administrator)),
        overdue: r.overdue(today()),
        r,
        panel,
        minute,
        fields,
        errors,
    };
    Ok(render_checked(&view, &view.errors))
}

async fn recommendation_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    recommendation_response(&state, &p, id, None, Errors::default()).await
}

async fn recommendation_respond(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    let accept = match form.get("response") {
        "accept" => true,
        "reject" => false,
        _ => {
            let mut e = Errors::default();
            e.add(
                "response",
                "Select whether the agency accepts or rejects the recommendation",
            );
            return recommendation_response(&state, &p, id, Some(form), e).await;
        }
    };
    let reason = form.get("reason").to_owned();
    if !accept && reason.trim().is_empty() {
        let mut e = Errors::default();
        e.add(
            "reason",
            "Give the agency's reason for rejecting the recommendation",
        );
        return recommendation_response(&state, &p, id, Some(form), e).await;
    }
    let user = p.user.clone();
    let actor = p.actor();
    let base = state.config.base_url.clone();
    let outcome = save(
        &state,
        move |tx| {
            let r = actions::respond(
                tx,
                &actor,
                &user,
                id,
                v,
                &actions::Answer {
                    accept,
                    reason: &reason,
                },
                today(),
            )?;
            let mut to = referrals::chairs_of(tx, r.panel_id)?;
            for u in referrals::administrators(tx)? {
                if !to.iter().any(|t| t.id == u.id) {
                    to.push(u);
                }
            }
            crate::notify::queue_about(
                tx,
                "recommendation.answered",
                &to,
                ("recommendation", r.id),
                &format!(
                    "{} {} the panel's recommendation",
                    r.agency_name,
                    if accept { "accepted" } else { "rejected" }
                ),
                &format!(
                    "{} {} the recommendation from the meeting on {}{}.\n\n{}/recommendations/{}",
                    r.agency_name,
                    if accept { "accepted" } else { "rejected" },
                    date(r.meeting_date),
                    r.child_local_id
                        .as_deref()
                        .map(|c| format!(" about child {c}"))
                        .unwrap_or_default(),
                    base.trim_end_matches('/'),
                    r.id
                ),
            )?;
            Ok(())
        },
        move |c| Ok(actions::recommendation(c, id)?.map(|r| (r.version, Vec::new()))),
    )
    .await?;
    match outcome {
        Outcome::Saved(()) => Ok(Redirect::to(&format!("/recommendations/{id}")).into_response()),
        Outcome::Refused(m) => {
            let mut e = Errors::default();
            e.add("response", m);
            recommendation_response(&state, &p, id, Some(form), e).await
        }
        Outcome::Conflict { .. } => Err(AppError::Conflict(
            "Someone recorded a response after you opened the page. Open the recommendation again to see it.".into(),
        )),
    }
}

/// What the meeting page shows of the run: the papers, the record's pages,
/// and the buttons that move the meeting on.
pub struct RunSummary {
    pub circulate: bool,
    pub start: bool,
    pub close: bool,
    pub record: bool,
    pub recommendations: Vec<Recommendation>,
}

pub fn run_summary(c: &mut Conn, user: &User, m: &Meeting) -> Result<RunSummary, AppError> {
    let admin = user.has(Role::Administrator);
    let s = m.status();
    let record = !matches!(s, MeetingStatus::Scheduled | MeetingStatus::Cancelled)
        && may_read(c, user, m.panel_id)?;
    Ok(RunSummary {
        circulate: admin && s == MeetingStatus::AgendaApproved,
        start: admin && s == MeetingStatus::PapersCirculated,
        close: admin && s == MeetingStatus::InProgress,
        record,
        recommendations: if record {
            actions::recommendations_of_meeting(c, m.id)?
        } else {
            Vec::new()
        },
    })
}

/// The approved minutes as a PDF, stamped for the reader like the papers.
async fn minutes_pdf(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    use jp_documents::Block;
    let user = p.user.clone();
    let actor = p.actor();
    let (m, blocks, approval) = state
        .db(move |c| {
            let (m, panel) = load(c, &user, id)?;
            let approval = meeting_run::minutes_approval(c, id)?.ok_or_else(|| {
                AppError::Conflict("The chair has not approved these minutes yet".into())
            })?;
            let mut b = vec![
                Block::Title(format!("Minutes: {}", panel.name)),
                Block::Field(
                    "Meeting".into(),
                    format!("{} at {}", date(m.date), m.start_time),
                ),
                Block::Field(
                    "Approved".into(),
                    format!(
                        "by {} on {}; issued {} ({} the deadline of {})",
                        approval.by,
                        date(approval.at.date()),
                        date(approval.issued_on),
                        if approval.on_time() {
                            "within"
                        } else {
                            "after"
                        },
                        date(approval.due)
                    ),
                ),
                Block::Heading("Attendance".into()),
            ];
            for a in meeting_run::attendance(c, &m)? {
                b.push(Block::Field(
                    a.seat.agency_name.clone(),
                    match (a.presence, a.attendee_name) {
                        (Some(pr), Some(n)) => format!("{}: {n}", pr.label()),
                        (Some(pr), None) => pr.label().to_owned(),
                        (None, _) => "Not recorded".into(),
                    },
                ));
            }
            let conflicts = meeting_run::conflicts(c, id)?;
            let recs = actions::recommendations_of_meeting(c, id)?;
            for (n, it) in jp_store::agenda::items(c, id)?.into_iter().enumerate() {
                let title = it
                    .referral
                    .as_ref()
                    .map(|r| format!("{} ({})", r.child_name, r.child_local_id))
                    .unwrap_or_else(|| "Other business".into());
                b.push(Block::Heading(format!("Item {}: {title}", n + 1)));
                if let Some(r) = &it.referral {
                    b.push(Block::Field(
                        "Referrer".into(),
                        format!(
                            "{}: {}",
                            r.referrer_name,
                            match it.referrer_attended.as_str() {
                                "yes" => "attended",
                                "no" => "did not attend",
                                _ => "attendance not recorded",
                            }
                        ),
                    ));
                }
                for cf in conflicts.iter().filter(|cf| cf.item_id == it.id) {
                    b.push(Block::Field(
                        "Conflict of interest".into(),
                        format!("{}: {} (took no part)", cf.name, cf.interest),
                    ));
                }
                b.push(Block::Para(it.minute.clone()));
                for r in recs.iter().filter(|r| r.item_id == it.id) {
                    b.push(Block::Field(
                        format!("Recommendation to {}", r.agency_name),
                        format!("respond by {}: {}", date(r.due_date), r.status_label()),
                    ));
                }
            }
            b.push(Block::Heading("Actions".into()));
            let acts = actions::of_meeting(c, id)?;
            if acts.is_empty() {
                b.push(Block::Para("No actions.".into()));
            }
            for a in acts {
                b.push(Block::Field(
                    a.title.clone(),
                    format!("{}, due {} ({})", a.owner_name, date(a.due_date), a.status),
                ));
            }
            let mut tx = c.begin()?;
            jp_store::audit::record(
                &mut tx,
                &actor,
                "minutes.downloaded",
                "meeting",
                Some(id.to_string()),
                serde_json::json!({}),
            )?;
            tx.commit()?;
            Ok((m, b, approval))
        })
        .await?;
    let reader = p.user.name.clone();
    let pdf = tokio::task::spawn_blocking(move || {
        let composed = jp_documents::compose(&[jp_documents::Part::Text(blocks)], &mut |_, _| {})?;
        jp_documents::stamp(
            &composed.pdf,
            &jp_documents::Stamp {
                recipient: reader,
                date: date(approval.issued_on),
            },
        )
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
    .map_err(|e| AppError::Internal(format!("the minutes PDF: {e}")))?;
    Ok(crate::files::download(
        pdf,
        &format!("minutes-{}-OFFICIAL-SENSITIVE.pdf", m.date),
        "application/pdf",
    ))
}
