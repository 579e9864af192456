//! Referral pages (SPEC §3): the list, starting a referral, the task list and
//! summary, and the moves of the lifecycle. The form's sections are in
//! `sections`, evidence files in `evidence`.

pub mod actions;
pub mod evidence;
pub mod sections;

use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::{Errors, Form, Id};
use crate::pages::{Field, FormPage, PageCtx, date, date_time, render};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use jp_domain::costs::{LineTotals, option_totals};
use jp_domain::lifecycle::Status;
use jp_domain::referral_form::{self, Context, Kind, SECTIONS, SectionKind};
use jp_domain::{Pence, Role};
use jp_store::attachments::{self, Attachment};
use jp_store::children::{self, Child};
use jp_store::reference::panels::{self, Panel};
use jp_store::referrals::{self, Approval, OptionRecord, Referral, SectionState, Sight};
use serde::Deserialize;
use std::collections::BTreeMap;

pub fn routes() -> Routes {
    Routes::default()
        .get("/referrals", list)
        .get("/referrals/new", new_form)
        .post("/referrals/new", create)
        .get("/referrals/{id}", show)
        .merge(sections::routes())
        .merge(evidence::routes())
        .merge(actions::routes())
}

/// Today, as the service sees it (UTC civil date).
pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Everything a referral page shows, loaded after the access check.
pub struct Loaded {
    pub r: Referral,
    pub sight: Sight,
    pub child: Child,
    pub panel: Panel,
    pub sections: BTreeMap<String, SectionState>,
    pub options: Vec<OptionRecord>,
    pub attachments: Vec<Attachment>,
    pub approvals: Vec<Approval>,
}

impl Loaded {
    pub fn context(&self) -> Context {
        Context {
            today: today(),
            assessment_max_age_months: self.panel.rules.assessment_max_age_months,
            need_levels: self.panel.rules.need_levels.clone(),
        }
    }
    /// The referrer may change the content now.
    pub fn editable_by(&self, p: &Principal) -> bool {
        self.r.status.editable() && self.r.referrer_id == p.user.id
    }
}

/// Loads a referral for `p`: 404 when it does not exist, 403 when `p` may not
/// see it, 403 when `need` is Full and `p` only sees the money. Each load of a
/// full referral is recorded as a view of the child's record.
pub async fn load(
    state: &AppState,
    p: &Principal,
    id: i64,
    need: Sight,
) -> Result<Loaded, AppError> {
    Ok(load_then(state, p, id, need, |_, _| Ok(())).await?.0)
}

/// [`load`], then `then` on the same connection (one trip to the pool).
pub async fn load_then<T: Send + 'static>(
    state: &AppState,
    p: &Principal,
    id: i64,
    need: Sight,
    then: impl FnOnce(&mut jp_store::db::Conn, &Loaded) -> Result<T, AppError> + Send + 'static,
) -> Result<(Loaded, T), AppError> {
    let user = p.user.clone();
    let actor = p.actor();
    state
        .db(move |c| {
            let r = referrals::get(c, id)?.ok_or(AppError::NotFound)?;
            let sight = referrals::sight(c, &user, &r)?;
            if sight < need || sight == Sight::None {
                return Err(AppError::Forbidden);
            }
            if sight == Sight::Full {
                children::record_view(c, &actor, r.child_id, &format!("referral {id}"))?;
            }
            let l = record(c, r, sight)?;
            let more = then(c, &l)?;
            Ok((l, more))
        })
        .await
}

/// The referral's record as `sight` allows (after the caller checked access).
pub fn record(c: &mut jp_store::db::Conn, r: Referral, sight: Sight) -> Result<Loaded, AppError> {
    let id = r.id;
    let child = children::get(c, r.child_id)?.ok_or(AppError::NotFound)?;
    let panel = panels::get(c, r.panel_id)?.ok_or(AppError::NotFound)?;
    let (sections, attachments) = if sight == Sight::Full {
        (
            referrals::sections(c, id)?,
            attachments::of_referral(c, id)?,
        )
    } else {
        (BTreeMap::new(), Vec::new())
    };
    Ok(Loaded {
        options: referrals::options(c, id)?,
        approvals: referrals::approvals(c, id)?,
        r,
        sight,
        child,
        panel,
        sections,
        attachments,
    })
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
}

#[derive(Template)]
#[template(path = "referrals/list.html")]
struct ListPage {
    page: PageCtx,
    rows: Vec<Referral>,
    statuses: Vec<(String, String)>,
    status: String,
    can_start: bool,
}

async fn list(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let status = Status::parse(q.status.trim());
    let user = p.user.clone();
    let rows = state
        .db(move |c| Ok(referrals::visible(c, &user, status, 200)?))
        .await?
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    Ok(render(&ListPage {
        page: PageCtx::new(&p, "Referrals", "/referrals"),
        rows,
        statuses: std::iter::once((String::new(), "All statuses".to_owned()))
            .chain(
                Status::ALL
                    .iter()
                    .map(|s| (s.slug().to_owned(), s.label().to_owned())),
            )
            .collect(),
        status: status.map_or(String::new(), |s| s.slug().to_owned()),
        can_start: p.user.has(Role::Referrer),
    }))
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    child: String,
}

async fn new_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<NewQuery>,
) -> Result<Response, AppError> {
    let child_id: i64 = q
        .child
        .trim()
        .parse()
        .map_err(|_| AppError::BadRequest("Choose the child from the register first".into()))?;
    let (child, panels) = state
        .db(move |c| {
            Ok((
                children::get(c, child_id)?.ok_or(AppError::NotFound)?,
                panels::list(c)?,
            ))
        })
        .await?;
    Ok(new_page_with_child(
        &p,
        &child,
        &panels,
        "",
        Errors::default(),
    ))
}

fn new_page_with_child(
    p: &Principal,
    child: &Child,
    panels: &[Panel],
    chosen: &str,
    errors: Errors,
) -> Response {
    let mut f = FormPage::new(
        PageCtx::new(p, "Start a referral", "/referrals"),
        (format!("/children/{}", child.id), child.full_name()),
        "/referrals/new".into(),
        None,
        vec![
            Field::select(
                "panel_id",
                "Which panel is the referral for?",
                chosen,
                std::iter::once((String::new(), "Select a panel".to_owned()))
                    .chain(panels.iter().map(|pl| (pl.id.to_string(), pl.name.clone())))
                    .collect(),
            )
            .hint("The Resource Panel takes lower-level needs; the Joint Funding Panel takes high or complex needs"),
            Field::select("child_id", "Child", child.id.to_string(), vec![(child.id.to_string(), child.full_name())]),
        ],
        errors,
    );
    f.caption = child.full_name();
    f.intro = "You can save each part of the form and come back to it later. Nothing is sent until you send it for approval.".into();
    f.submit = "Start the referral".into();
    f.respond()
}

async fn create(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    form: Form,
) -> Result<Response, AppError> {
    let child_id: i64 = form
        .get("child_id")
        .trim()
        .parse()
        .map_err(|_| AppError::BadRequest("Choose the child from the register first".into()))?;
    let panel_id = crate::admin::chosen_id(form.get("panel_id"));
    let user = p.user.clone();
    let actor = p.actor();
    let chosen = form.get("panel_id").to_owned();
    let result = state
        .db(move |c| {
            let child = children::get(c, child_id)?.ok_or(AppError::NotFound)?;
            let panels = panels::list(c)?;
            let Some(panel_id) = panel_id.filter(|id| panels.iter().any(|p| p.id == *id)) else {
                return Ok(Err((child, panels)));
            };
            let mut tx = c.begin()?;
            let id = referrals::create(&mut tx, &actor, &user, child_id, panel_id)?;
            tx.commit()?;
            Ok(Ok(id))
        })
        .await?;
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/referrals/{id}")).into_response()),
        Err((child, panels)) => {
            let mut e = Errors::default();
            e.add("panel_id", "Select the panel the referral is for");
            Ok(new_page_with_child(&p, &child, &panels, &chosen, e))
        }
    }
}

/// One row of the task list.
pub struct Task {
    pub key: &'static str,
    pub title: &'static str,
    pub href: String,
    pub status: &'static str,
}

/// One answered question, for the summary.
pub struct AnswerRow {
    pub label: &'static str,
    pub value: String,
}

pub struct SectionSummary {
    pub key: &'static str,
    pub title: &'static str,
    pub rows: Vec<AnswerRow>,
    pub complete: bool,
}

pub fn money(p: Pence) -> String {
    p.to_string()
}

pub struct OptionView {
    pub o: OptionRecord,
    pub totals: LineTotals,
    pub recommended: bool,
    pub lines: Vec<LineView>,
}

/// One cost line as shown: every figure already formatted.
pub struct LineView {
    pub id: i64,
    pub item: String,
    pub unit: String,
    pub quantity: String,
    pub dates: String,
    pub weekly: String,
    pub annual: String,
    pub term: String,
}

pub fn option_views(l: &Loaded) -> Vec<OptionView> {
    l.options
        .iter()
        .map(|o| {
            let lines: Vec<jp_domain::costs::CostLine> =
                o.lines.iter().map(|s| s.line.clone()).collect();
            OptionView {
                totals: option_totals(&lines),
                recommended: l.r.recommended_option_id == Some(o.id),
                lines: o
                    .lines
                    .iter()
                    .map(|s| {
                        let t = s.line.totals();
                        LineView {
                            id: s.id,
                            item: s.line.item.clone(),
                            unit: format!(
                                "{} {}",
                                money(s.line.unit_cost),
                                s.line.unit.label().to_lowercase()
                            ),
                            quantity: s.line.quantity.display(),
                            dates: format!("{} to {}", date(s.line.start), date(s.line.end)),
                            weekly: money(t.weekly),
                            annual: money(t.annual),
                            term: money(t.term),
                        }
                    })
                    .collect(),
                o: o.clone(),
            }
        })
        .collect()
}

/// The summary of every question-section, as answered.
pub fn summaries(l: &Loaded) -> Vec<SectionSummary> {
    SECTIONS
        .iter()
        .filter(|s| s.kind == SectionKind::Questions)
        .map(|s| {
            let state = l.sections.get(s.key);
            let rows = s
                .questions
                .iter()
                .map(|q| {
                    let vals = state
                        .and_then(|st| st.answers.get(q.key))
                        .cloned()
                        .unwrap_or_default();
                    let value = match q.kind {
                        Kind::Date => vals
                            .first()
                            .map(|v| crate::children::answer_date(v))
                            .unwrap_or_default(),
                        Kind::Radios(choices) | Kind::Checkboxes(choices) => vals
                            .iter()
                            .map(|v| {
                                choices
                                    .iter()
                                    .find(|(k, _)| k == v)
                                    .map_or(v.as_str(), |(_, l)| l)
                                    .to_owned()
                            })
                            .collect::<Vec<_>>()
                            .join(", "),
                        _ => vals.join("\n"),
                    };
                    AnswerRow {
                        label: q.label,
                        value: if value.is_empty() {
                            "Not answered".into()
                        } else {
                            value
                        },
                    }
                })
                .collect();
            SectionSummary {
                key: s.key,
                title: s.title,
                rows,
                complete: state.is_some_and(|st| st.complete),
            }
        })
        .collect()
}

/// Each section's state for the task list: completed, in progress, not started.
pub fn tasks(l: &Loaded) -> Vec<Task> {
    SECTIONS
        .iter()
        .map(|s| {
            let status = match s.kind {
                SectionKind::Options => {
                    if l.options.iter().any(|o| !o.lines.is_empty())
                        && l.r.recommended_option_id.is_some()
                    {
                        "Completed"
                    } else if l.options.is_empty() {
                        "Not started"
                    } else {
                        "In progress"
                    }
                }
                SectionKind::Evidence => {
                    if l.attachments.is_empty() {
                        "Not started"
                    } else {
                        "Completed"
                    }
                }
                SectionKind::Questions => match l.sections.get(s.key) {
                    Some(st) if st.complete => "Completed",
                    Some(_) => "In progress",
                    None => "Not started",
                },
            };
            let href = match s.kind {
                SectionKind::Options => format!("/referrals/{}/options", l.r.id),
                SectionKind::Evidence => format!("/referrals/{}/evidence", l.r.id),
                SectionKind::Questions => format!("/referrals/{}/sections/{}", l.r.id, s.key),
            };
            Task {
                key: s.key,
                title: s.title,
                href,
                status,
            }
        })
        .collect()
}

/// What stops the referral being sent for approval, section by section,
/// checked afresh (an assessment can go out of date while a draft waits).
pub fn gaps(l: &Loaded) -> Vec<(String, String)> {
    let ctx = l.context();
    let mut out = Vec::new();
    for s in SECTIONS {
        let href = match s.kind {
            SectionKind::Options => format!("/referrals/{}/options", l.r.id),
            SectionKind::Evidence => format!("/referrals/{}/evidence", l.r.id),
            SectionKind::Questions => format!("/referrals/{}/sections/{}", l.r.id, s.key),
        };
        match s.kind {
            SectionKind::Questions => {
                let answers = l
                    .sections
                    .get(s.key)
                    .map(|st| st.answers.clone())
                    .unwrap_or_default();
                if let Some(p) = referral_form::check(s, &answers, &ctx).first() {
                    out.push((href, format!("{}: {}", s.title, p.message)));
                }
            }
            SectionKind::Options => {
                if l.options.is_empty() {
                    out.push((href, "Options and costs: add at least one option".into()));
                } else if let Some(o) = l.options.iter().find(|o| o.lines.is_empty()) {
                    out.push((
                        href,
                        format!(
                            "Options and costs: add at least one cost line to the option from {}",
                            o.provider
                        ),
                    ));
                } else if l.r.recommended_option_id.is_none() {
                    out.push((
                        href,
                        "Options and costs: choose the option you recommend".into(),
                    ));
                }
            }
            SectionKind::Evidence => {
                if l.attachments.is_empty() {
                    out.push((
                        href,
                        "Evidence: attach at least one file, such as the assessment".into(),
                    ));
                }
            }
        }
    }
    out
}

#[derive(Template)]
#[template(path = "referrals/show.html")]
pub struct ShowPage {
    pub page: PageCtx,
    pub l: Loaded,
    pub tasks: Vec<Task>,
    pub summaries: Vec<SectionSummary>,
    pub options: Vec<OptionView>,
    pub editable: bool,
    pub can_approve: bool,
    pub can_submit: bool,
    pub can_withdraw: bool,
    pub can_move: bool,
    pub can_answer_late: bool,
    pub can_request_late: bool,
    pub meetings: Vec<(String, String)>,
    pub late_meetings: Vec<(String, String)>,
    pub next_meeting: Option<String>,
    pub late_meeting: Option<String>,
    pub errors: Errors,
    pub check: bool,
    pub gaps: Vec<(String, String)>,
    pub complete_count: usize,
}

pub async fn show_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    errors: Errors,
    check: bool,
) -> Result<Response, AppError> {
    let user = p.user.clone();
    let actor = p.actor();
    let (l, (coming, chairs)) = load_then(state, p, id, Sight::Money, move |c, l| {
        let coming = crate::booking::coming_read(c, &actor, &l.panel, today())?;
        let chairs = referrals::chairs(c, user.id, l.panel.id)?;
        Ok((coming, chairs))
    })
    .await?;
    let booked = l.r.meeting_id;
    let late_id = l.r.late_meeting_id;
    let t = today();
    let label = |b: &crate::booking::Bookable| {
        format!(
            "{} (submission deadline {})",
            date(b.meeting.date),
            date(b.deadline)
        )
    };
    let next_meeting = crate::booking::next_on_time(&coming, t).map(label);
    let meetings = coming
        .iter()
        .filter(|b| !b.late(t) && Some(b.meeting.id) != booked)
        .map(|b| (b.meeting.id.to_string(), label(b)))
        .collect();
    let late_meetings: Vec<(String, String)> = coming
        .iter()
        .filter(|b| b.late(t) && Some(b.meeting.id) != booked)
        .map(|b| {
            (
                b.meeting.id.to_string(),
                format!(
                    "{} (deadline passed {})",
                    date(b.meeting.date),
                    date(b.deadline)
                ),
            )
        })
        .collect();
    let late_meeting = late_id
        .and_then(|id| coming.iter().find(|b| b.meeting.id == id))
        .map(|b| date(b.meeting.date));
    let full = l.sight == Sight::Full;
    let mine = l.r.referrer_id == p.user.id;
    let admin = p.user.has(Role::Administrator);
    let status = l.r.status;
    let tasks = tasks(&l);
    let complete_count = tasks.iter().filter(|t| t.status == "Completed").count();
    let gaps = if check { gaps(&l) } else { Vec::new() };
    let page = ShowPage {
        page: PageCtx::new(
            p,
            format!("Referral for {}", l.child.full_name()),
            "/referrals",
        )
        .with_errors(&errors),
        editable: l.editable_by(p),
        can_approve: full
            && status == Status::AwaitingApproval
            && referrals::may_approve(&p.user, &l.r),
        can_submit: (mine || admin) && status == Status::Approved,
        can_withdraw: (mine || admin)
            && jp_domain::lifecycle::next(status, jp_domain::lifecycle::Action::Withdraw).is_ok(),
        can_move: admin && status == Status::Booked,
        can_answer_late: chairs
            && status == Status::Booked
            && late_id.is_some()
            && l.r.late_agreed_by.is_none(),
        can_request_late: (mine || admin)
            && status == Status::Booked
            && late_id.is_none()
            && !late_meetings.is_empty(),
        summaries: if full { summaries(&l) } else { Vec::new() },
        options: option_views(&l),
        tasks,
        meetings,
        late_meetings,
        next_meeting,
        late_meeting,
        errors,
        check,
        gaps,
        complete_count,
        l,
    };
    let status_code = if page.errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut res = render(&page);
    *res.status_mut() = status_code;
    Ok(res)
}

async fn show(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    show_page(&state, &p, id, Errors::default(), false).await
}

pub fn when(t: Option<chrono::NaiveDateTime>) -> String {
    t.map(date_time).unwrap_or_default()
}
