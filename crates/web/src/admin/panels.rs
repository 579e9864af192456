//! Administration of panels and their rules (SPEC §2).

use super::{Saved, id_options, respond, save};
use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::{Errors, Form, Id, version};
use crate::pages::{Cell, Field, FormPage, ListPage, PageCtx, render};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use jp_domain::panel_rules::{NEED_LEVELS, weekday_name};
use jp_domain::{Cadence, PanelRules, Pence, Region, text};
use jp_store::reference::members::{self, Member};
use jp_store::reference::panels::{self, Fields, Panel};

pub fn routes() -> Routes {
    Routes::default()
        .get("/admin/panels", list)
        .get("/admin/panels/new", new_form)
        .post("/admin/panels/new", create)
        .get("/admin/panels/{id}", show)
        .get("/admin/panels/{id}/edit", edit_form)
        .post("/admin/panels/{id}/edit", update)
}

async fn list(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(saved): Query<Saved>,
) -> Result<Response, AppError> {
    let all = state.db(|c| Ok(panels::list(c)?)).await?;
    let rows = all
        .iter()
        .map(|x| {
            vec![
                Cell::link(&x.name, format!("/admin/panels/{}", x.id)),
                Cell::text(x.rules.cadence.describe()),
                Cell::text(x.rules.delegated_limit.to_string()),
            ]
        })
        .collect();
    Ok(render(&ListPage {
        page: PageCtx::new(&p, "Panels", "/admin/panels").with_flash(saved.banner("Panel")),
        back: Some(("/admin".into(), "Administration".into())),
        intro: "Each panel has its own rules: when it meets, its deadlines in working days, its delegated financial authority and its scope.".into(),
        add: Some(("/admin/panels/new".into(), "Add a panel".into())),
        headings: vec!["Panel".into(), "Meets".into(), "Delegated authority".into()],
        rows,
        empty: "There are no panels yet.".into(),
    }))
}

#[derive(Template)]
#[template(path = "admin/panel.html")]
struct PanelPage {
    page: PageCtx,
    panel: Panel,
    rules: Vec<(String, String)>,
    members: Vec<Member>,
}

/// The rules as a person reads them.
pub fn describe(r: &PanelRules) -> Vec<(String, String)> {
    let levels: Vec<&str> = NEED_LEVELS
        .iter()
        .filter(|(k, _)| r.need_levels.iter().any(|l| l == k))
        .map(|(_, l)| *l)
        .collect();
    vec![
        ("Meets".into(), r.cadence.describe()),
        ("Bank holidays of".into(), r.region.label().into()),
        (
            "Referrals due".into(),
            format!(
                "{} working days before the meeting",
                r.submission_deadline_days
            ),
        ),
        (
            "Agenda and papers circulated".into(),
            format!("{} working days before the meeting", r.papers_due_days),
        ),
        (
            "Decision letter sent".into(),
            format!(
                "within {} working days after the meeting",
                r.letter_due_days
            ),
        ),
        (
            "Minutes issued".into(),
            format!(
                "within {} working days after the meeting",
                r.minutes_due_days
            ),
        ),
        (
            "Absent agency responds".into(),
            format!("within {} working days", r.absent_agency_response_days),
        ),
        (
            "Funding agreements reviewed".into(),
            format!("at least every {} months", r.review_max_months),
        ),
        (
            "Delegated financial authority".into(),
            format!("{} total commitment", r.delegated_limit),
        ),
        (
            "Above that, escalated to".into(),
            r.escalation_authority.clone(),
        ),
        ("Scope".into(), levels.join(", ")),
        (
            "Time on the agenda".into(),
            format!(
                "{} minutes per new case, {} per review",
                r.minutes_per_new_case, r.minutes_per_review
            ),
        ),
        (
            "Assessments must be no older than".into(),
            format!("{} months", r.assessment_max_age_months),
        ),
    ]
}

async fn show(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    Query(saved): Query<Saved>,
) -> Result<Response, AppError> {
    let (panel, members) = state
        .db(move |c| {
            let panel = panels::get(c, id)?.ok_or(AppError::NotFound)?;
            Ok((panel, members::of_panel(c, id)?))
        })
        .await?;
    let page =
        PageCtx::new(&p, panel.name.clone(), "/admin/panels").with_flash(saved.banner("Panel"));
    Ok(render(&PanelPage {
        page,
        rules: describe(&panel.rules),
        panel,
        members,
    }))
}

fn numbers() -> [(&'static str, &'static str, &'static str, u32, u32); 9] {
    [
        (
            "submission_deadline_days",
            "Referrals due (working days before the meeting)",
            "The seeds say 7.",
            1,
            30,
        ),
        (
            "papers_due_days",
            "Papers circulated (working days before the meeting)",
            "The seeds say 5.",
            1,
            30,
        ),
        (
            "letter_due_days",
            "Decision letter (working days after the meeting)",
            "The seeds say 3.",
            1,
            30,
        ),
        (
            "minutes_due_days",
            "Minutes issued (working days after the meeting)",
            "The seeds say 3.",
            1,
            30,
        ),
        (
            "absent_agency_response_days",
            "Absent agency's response (working days)",
            "The seeds say 3.",
            1,
            30,
        ),
        (
            "review_max_months",
            "Longest time between reviews of a funding agreement (months)",
            "At most 12.",
            1,
            12,
        ),
        (
            "minutes_per_new_case",
            "Minutes on the agenda per new case",
            "",
            5,
            240,
        ),
        (
            "minutes_per_review",
            "Minutes on the agenda per review",
            "",
            5,
            240,
        ),
        (
            "assessment_max_age_months",
            "Oldest assessment accepted (months)",
            "The default is 6.",
            1,
            24,
        ),
    ]
}

pub fn parse(form: &Form) -> Result<Fields, Errors> {
    let mut e = Errors::default();
    let name = e.take(
        "name",
        text::required(form.get("name"), "the panel's name", 200),
    );
    let slug = form.get("slug").trim().to_owned();
    if slug.len() < 2
        || slug.len() > 40
        || !slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || slug.starts_with('-')
    {
        e.add("slug", "Enter a short name of 2 to 40 lower-case letters, digits and hyphens, like joint-funding");
    }
    let region = Region::parse(form.get("region"));
    if region.is_none() {
        e.add(
            "region",
            "Select whose bank holidays the panel's working days follow",
        );
    }
    let cadence = e.take(
        "cadence_week",
        Cadence::parse(form.get("cadence_week"), form.get("cadence_weekday")),
    );
    let mut n = std::collections::HashMap::new();
    for (field, label, _, min, max) in numbers() {
        match form.get(field).trim().parse::<u32>() {
            Ok(v) if (min..=max).contains(&v) => {
                n.insert(field, v);
            }
            _ => e.add(
                field,
                format!("{label}: enter a whole number from {min} to {max}"),
            ),
        }
    }
    if let (Some(s), Some(p)) = (n.get("submission_deadline_days"), n.get("papers_due_days"))
        && p > s
    {
        e.add("papers_due_days", "Papers cannot be circulated before referrals are due: enter a number no larger than the referral deadline");
    }
    let limit = e.take(
        "delegated_limit",
        Pence::parse_pounds(form.get("delegated_limit")),
    );
    if limit.is_some_and(|l| l.0 <= 0) {
        e.add(
            "delegated_limit",
            "Delegated financial authority must be more than £0.00",
        );
    }
    let authority = e.take(
        "escalation_authority",
        text::required(
            form.get("escalation_authority"),
            "who decides above the panel's authority",
            200,
        ),
    );
    let levels: Vec<String> = form
        .all("need_levels")
        .iter()
        .filter(|l| NEED_LEVELS.iter().any(|(k, _)| k == l))
        .cloned()
        .collect();
    if levels.is_empty() {
        e.add(
            "need_levels",
            "Select at least one need level the panel takes",
        );
    }
    let (Some(name), Some(region), Some(cadence), Some(limit), Some(authority)) =
        (name, region, cadence, limit, authority)
    else {
        return Err(e);
    };
    if !e.is_empty() {
        return Err(e);
    }
    let g = |k: &str| n.get(k).copied().unwrap_or_default();
    Ok(Fields {
        slug,
        name,
        rules: PanelRules {
            cadence,
            region,
            submission_deadline_days: g("submission_deadline_days"),
            papers_due_days: g("papers_due_days"),
            letter_due_days: g("letter_due_days"),
            minutes_due_days: g("minutes_due_days"),
            absent_agency_response_days: g("absent_agency_response_days"),
            review_max_months: g("review_max_months"),
            delegated_limit: limit,
            escalation_authority: authority,
            need_levels: levels,
            minutes_per_new_case: g("minutes_per_new_case"),
            minutes_per_review: g("minutes_per_review"),
            assessment_max_age_months: g("assessment_max_age_months"),
        },
    })
}

/// The form's fields, filled from a form (after an error) or from saved rules.
fn fields(form: Option<&Form>, saved: &Fields) -> Vec<Field> {
    let r = &saved.rules;
    let val = |k: &str, v: String| form.map_or(v, |f| f.get(k).to_owned());
    let weeks = [
        ("1", "First"),
        ("2", "Second"),
        ("3", "Third"),
        ("4", "Fourth"),
        ("5", "Last"),
    ];
    let mut out = vec![
        Field::text("name", "Name", val("name", saved.name.clone())),
        Field::text("slug", "Short name", val("slug", saved.slug.clone()))
            .hint("Used in links and on the command line, like joint-funding."),
        Field::radios(
            "region",
            "Working days follow the bank holidays of",
            val("region", r.region.slug().into()),
            Region::ALL
                .iter()
                .map(|x| (x.slug().into(), x.label().into()))
                .collect(),
        ),
        Field::select(
            "cadence_week",
            "Meets on the",
            val("cadence_week", r.cadence.week.to_string()),
            weeks
                .iter()
                .map(|(k, l)| ((*k).into(), (*l).into()))
                .collect(),
        ),
        Field::select(
            "cadence_weekday",
            "Day of the week",
            val(
                "cadence_weekday",
                (r.cadence.weekday.num_days_from_monday() + 1).to_string(),
            ),
            (1..=5)
                .map(|d| {
                    (
                        d.to_string(),
                        jp_domain::panel_rules::weekday_from_number(&d.to_string())
                            .map_or("", weekday_name)
                            .into(),
                    )
                })
                .collect(),
        ),
    ];
    let current = [
        r.submission_deadline_days,
        r.papers_due_days,
        r.letter_due_days,
        r.minutes_due_days,
        r.absent_agency_response_days,
        r.review_max_months,
        r.minutes_per_new_case,
        r.minutes_per_review,
        r.assessment_max_age_months,
    ];
    for ((field, label, hint, _, _), v) in numbers().into_iter().zip(current) {
        out.push(Field::number(field, label, val(field, v.to_string())).hint(hint));
    }
    out.push(
        Field::text(
            "delegated_limit",
            "Delegated financial authority (total commitment, £)",
            val("delegated_limit", r.delegated_limit.to_plain()),
        )
        .hint("Above this, a decision is a recommendation escalated to the authority below."),
    );
    out.push(Field::text(
        "escalation_authority",
        "Escalated to",
        val("escalation_authority", r.escalation_authority.clone()),
    ));
    let checked = form.map_or_else(|| r.need_levels.clone(), |f| f.all("need_levels").to_vec());
    out.push(Field::checkboxes(
        "need_levels",
        "Need levels the panel takes",
        checked,
        NEED_LEVELS
            .iter()
            .map(|(k, l)| ((*k).into(), (*l).into()))
            .collect(),
    ));
    out
}

fn page(
    p: &Principal,
    title: &str,
    action: String,
    version: Option<i64>,
    fields: Vec<Field>,
    errors: Errors,
    back: (String, String),
) -> FormPage {
    FormPage::new(
        PageCtx::new(p, title, "/admin/panels"),
        back,
        action,
        version,
        fields,
        errors,
    )
}

fn blank() -> Fields {
    Fields {
        slug: String::new(),
        name: String::new(),
        rules: PanelRules::joint_funding_default(),
    }
}

fn list_back() -> (String, String) {
    ("/admin/panels".into(), "Panels".into())
}

async fn new_form(Extension(p): Extension<Principal>) -> Response {
    page(
        &p,
        "Add a panel",
        "/admin/panels/new".into(),
        None,
        fields(None, &blank()),
        Errors::default(),
        list_back(),
    )
    .respond()
}

async fn create(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    form: Form,
) -> Result<Response, AppError> {
    let action = "/admin/panels/new".to_owned();
    let pg = |e| {
        page(
            &p,
            "Add a panel",
            action.clone(),
            None,
            fields(Some(&form), &blank()),
            e,
            list_back(),
        )
    };
    let f = match parse(&form) {
        Ok(f) => f,
        Err(e) => return Ok(pg(e).respond()),
    };
    let actor = p.actor();
    let outcome = save(
        &state,
        move |tx| panels::create(tx, &actor, &f),
        |_| Ok(None),
    )
    .await?;
    Ok(respond(
        outcome,
        "/admin/panels?saved=created",
        pg(Errors::default()),
        "name",
    ))
}

async fn edit_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    let x = state
        .db(move |c| Ok(panels::get(c, id)?))
        .await?
        .ok_or(AppError::NotFound)?;
    let saved = Fields {
        slug: x.slug.clone(),
        name: x.name.clone(),
        rules: x.rules.clone(),
    };
    let back = (format!("/admin/panels/{id}"), x.name.clone());
    Ok(page(
        &p,
        &format!("Change {}", x.name),
        format!("/admin/panels/{id}/edit"),
        Some(x.version),
        fields(None, &saved),
        Errors::default(),
        back,
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
    let back = (format!("/admin/panels/{id}"), "Panel".to_owned());
    let pg = |e| {
        page(
            &p,
            "Change panel",
            format!("/admin/panels/{id}/edit"),
            Some(v),
            fields(Some(&form), &blank()),
            e,
            back.clone(),
        )
    };
    let f = match parse(&form) {
        Ok(f) => f,
        Err(e) => return Ok(pg(e).respond()),
    };
    let actor = p.actor();
    let outcome = save(
        &state,
        move |tx| panels::update(tx, &actor, id, v, &f),
        move |c| {
            Ok(panels::get(c, id)?.map(|x| {
                (
                    x.version,
                    [
                        vec![("Name".to_owned(), x.name.clone())],
                        describe(&x.rules),
                    ]
                    .concat(),
                )
            }))
        },
    )
    .await?;
    Ok(respond(
        outcome,
        &format!("/admin/panels/{id}?saved=updated"),
        pg(Errors::default()),
        "name",
    ))
}

pub fn member_options(users: Vec<jp_store::accounts::User>) -> Vec<(String, String)> {
    id_options(
        "Select a person",
        users
            .into_iter()
            .map(|u| (u.id, format!("{} ({})", u.name, u.email))),
    )
}
