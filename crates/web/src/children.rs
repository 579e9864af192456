//! The child register: search, add (with a duplicate warning), view (audited)
//! and edit.

use crate::admin::{Outcome, respond, save};
use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::{Errors, Form, Id, version};
use crate::pages::{Cell, Field, FormPage, PageCtx, date, render};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use jp_domain::identifiers::{NhsNumber, Upn};
use jp_domain::{referral_form, text};
use jp_store::children::{self, Child, Fields};
use jp_store::referrals::{self, Referral, Sight};
use serde::Deserialize;

pub fn routes() -> Routes {
    Routes::default()
        .get("/children", list)
        .get("/children/new", new_form)
        .post("/children/new", create)
        .get("/children/{id}", show)
        .get("/children/{id}/edit", edit_form)
        .post("/children/{id}/edit", update)
}

#[derive(Deserialize, Default)]
pub struct Search {
    #[serde(default)]
    q: String,
}

async fn list(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(s): Query<Search>,
) -> Result<Response, AppError> {
    let q = s.q.trim().chars().take(100).collect::<String>();
    let found = if q.is_empty() {
        Vec::new()
    } else {
        let term = q.clone();
        state
            .db(move |c| Ok(children::search(c, &term, 50)?))
            .await?
    };
    let rows = found
        .iter()
        .map(|c| {
            vec![
                Cell::link(c.full_name(), format!("/children/{}", c.id)),
                Cell::text(date(c.date_of_birth)),
                Cell::text(&c.local_id),
            ]
        })
        .collect();
    let intro = if q.is_empty() {
        "Search by name, local ID, NHS number or UPN before adding a child, so each child has one record.".to_owned()
    } else {
        format!("Results for “{q}”.")
    };
    Ok(render(&SearchPage {
        page: PageCtx::new(&p, "Children", "/children"),
        intro,
        can_add: p
            .user
            .has_any(&[jp_domain::Role::Referrer, jp_domain::Role::Administrator]),
        rows,
        empty: if q.is_empty() {
            String::new()
        } else {
            "No child matches. Check the spelling, or add the child.".into()
        },
        q,
    }))
}

#[derive(Template)]
#[template(path = "children/search.html")]
struct SearchPage {
    page: PageCtx,
    intro: String,
    can_add: bool,
    rows: Vec<Vec<Cell>>,
    empty: String,
    q: String,
}

/// Reads and checks the child's details.
pub fn parse(form: &Form) -> Result<Fields, Errors> {
    let mut e = Errors::default();
    let local_id = e.take(
        "local_id",
        text::required(form.get("local_id"), "the local child ID", 50),
    );
    let given_name = e.take(
        "given_name",
        text::required(form.get("given_name"), "the child's first name", 100),
    );
    let family_name = e.take(
        "family_name",
        text::required(form.get("family_name"), "the child's last name", 100),
    );
    let nhs = form.get("nhs_number").trim();
    let nhs_number = if nhs.is_empty() {
        Some(None)
    } else {
        e.take("nhs_number", NhsNumber::parse(nhs))
            .map(|n| Some(n.as_str().to_owned()))
    };
    let upn_raw = form.get("upn").trim();
    let upn = if upn_raw.is_empty() {
        Some(None)
    } else {
        e.take("upn", Upn::parse(upn_raw))
            .map(|u| Some(u.as_str().to_owned()))
    };
    let dob = parse_dob(form, &mut e);
    let pr = e.take(
        "parental_responsibility",
        text::required(
            form.get("parental_responsibility"),
            "who holds parental responsibility",
            2_000,
        ),
    );
    let lang = e.take(
        "language_needs",
        text::required(
            form.get("language_needs"),
            "the child's language and communication needs (write “None” if there are none)",
            2_000,
        ),
    );
    match (
        local_id,
        given_name,
        family_name,
        nhs_number,
        upn,
        dob,
        pr,
        lang,
    ) {
        (
            Some(local_id),
            Some(given_name),
            Some(family_name),
            Some(nhs_number),
            Some(upn),
            Some(date_of_birth),
            Some(parental_responsibility),
            Some(language_needs),
        ) if e.is_empty() => Ok(Fields {
            local_id,
            nhs_number,
            upn,
            given_name,
            family_name,
            date_of_birth,
            parental_responsibility,
            language_needs,
        }),
        _ => Err(e),
    }
}

fn parse_dob(form: &Form, e: &mut Errors) -> Option<NaiveDate> {
    let (d, m, y) = (
        form.get("date_of_birth-day").trim(),
        form.get("date_of_birth-month").trim(),
        form.get("date_of_birth-year").trim(),
    );
    if d.is_empty() && m.is_empty() && y.is_empty() {
        e.add("date_of_birth", "Enter the child's date of birth");
        return None;
    }
    let parsed = match (d.parse::<u32>(), m.parse::<u32>(), y.parse::<i32>()) {
        (Ok(d), Ok(m), Ok(y)) if (1990..=2100).contains(&y) => NaiveDate::from_ymd_opt(y, m, d),
        _ => None,
    };
    match parsed {
        None => {
            e.add(
                "date_of_birth",
                "Date of birth must be a real date, like 27 3 2014",
            );
            None
        }
        Some(dob) if dob > chrono::Utc::now().date_naive() => {
            e.add("date_of_birth", "Date of birth must be in the past");
            None
        }
        Some(dob) => Some(dob),
    }
}

fn fields(form: Option<&Form>, c: Option<&Child>) -> Vec<Field> {
    let v = |k: &str, saved: Option<String>| -> String {
        match form {
            Some(f) => f.get(k).to_owned(),
            None => saved.unwrap_or_default(),
        }
    };
    let dob = match form {
        Some(f) => f.date_typed("date_of_birth"),
        None => c
            .map(|c| c.date_of_birth.format("%Y-%-m-%-d").to_string())
            .unwrap_or_default(),
    };
    let mut out = vec![
        Field::text(
            "given_name",
            "First name",
            v("given_name", c.map(|c| c.given_name.clone())),
        ),
        Field::text(
            "family_name",
            "Last name",
            v("family_name", c.map(|c| c.family_name.clone())),
        ),
        Field::date("date_of_birth", "Date of birth", &dob).hint("For example, 27 3 2014"),
        Field::text(
            "local_id",
            "Local child ID",
            v("local_id", c.map(|c| c.local_id.clone())),
        )
        .hint("The ID in the council's case management system"),
        Field::text(
            "nhs_number",
            "NHS number (optional)",
            v("nhs_number", c.and_then(|c| c.nhs_number.clone())),
        )
        .hint("10 digits, for example 999 123 4560"),
        Field::text(
            "upn",
            "Unique pupil number (UPN) (optional)",
            v("upn", c.and_then(|c| c.upn.clone())),
        )
        .hint("13 characters, starting with a letter"),
        Field::textarea(
            "parental_responsibility",
            "Who holds parental responsibility",
            v(
                "parental_responsibility",
                c.map(|c| c.parental_responsibility.clone()),
            ),
        ),
        Field::textarea(
            "language_needs",
            "Language and communication needs",
            v("language_needs", c.map(|c| c.language_needs.clone())),
        )
        .hint("Include the languages spoken at home and any interpreter needed"),
    ];
    if form.is_some_and(|f| !f.get("confirm_different").is_empty()) {
        out.push(confirm_field(true));
    }
    out
}

fn confirm_field(checked: bool) -> Field {
    Field::checkboxes(
        "confirm_different",
        "Possible duplicate",
        if checked { vec!["yes".into()] } else { vec![] },
        vec![(
            "yes".into(),
            "I have checked: this is a different child".into(),
        )],
    )
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
    let mut f = FormPage::new(
        PageCtx::new(p, title, "/children"),
        back,
        action,
        version,
        fields,
        errors,
    );
    f.caption = "Children".into();
    f
}

async fn new_form(Extension(p): Extension<Principal>) -> Response {
    page(
        &p,
        "Add a child",
        "/children/new".into(),
        None,
        fields(None, None),
        Errors::default(),
        ("/children".into(), "Children".into()),
    )
    .respond()
}

fn duplicate_message(d: &[children::PossibleDuplicate]) -> String {
    let who: Vec<String> = d
        .iter()
        .map(|d| {
            format!(
                "{} (born {}, local ID {}) has {}",
                d.child.full_name(),
                date(d.child.date_of_birth),
                d.child.local_id,
                d.reason
            )
        })
        .collect();
    format!(
        "This may be a child already on the register: {}. Search for them and use their record, or tick “this is a different child”",
        who.join("; ")
    )
}

async fn create(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    form: Form,
) -> Result<Response, AppError> {
    let back = ("/children".to_owned(), "Children".to_owned());
    let f = match parse(&form) {
        Ok(f) => f,
        Err(e) => {
            return Ok(page(
                &p,
                "Add a child",
                "/children/new".into(),
                None,
                fields(Some(&form), None),
                e,
                back,
            )
            .respond());
        }
    };
    let confirmed = !form.get("confirm_different").is_empty();
    if !confirmed {
        let f2 = f.clone();
        let dups = state
            .db(move |c| Ok(children::possible_duplicates(c, &f2, None)?))
            .await?;
        if !dups.is_empty() {
            let mut e = Errors::default();
            e.add("confirm_different", duplicate_message(&dups));
            let mut fl = fields(Some(&form), None);
            fl.push(confirm_field(false));
            return Ok(
                page(&p, "Add a child", "/children/new".into(), None, fl, e, back).respond(),
            );
        }
    }
    let actor = p.actor();
    let pg = page(
        &p,
        "Add a child",
        "/children/new".into(),
        None,
        fields(Some(&form), None),
        Errors::default(),
        back,
    );
    let outcome = save(
        &state,
        move |tx| children::create(tx, &actor, &f),
        |_| Ok(None),
    )
    .await?;
    Ok(match outcome {
        Outcome::Saved(id) => Redirect::to(&format!("/children/{id}")).into_response(),
        other => respond(other, "/children", pg, "local_id"),
    })
}

#[derive(Template)]
#[template(path = "children/show.html")]
struct ShowPage {
    page: PageCtx,
    child: Child,
    nhs: String,
    referrals: Vec<Referral>,
    /// Signed decisions the person may see: (referral id, decision, panel name).
    decisions: Vec<(i64, jp_store::decisions::Decision, String)>,
    can_refer: bool,
    can_edit: bool,
}

async fn show(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    let user = p.user.clone();
    let actor = p.actor();
    let (child, refs, decisions) = state
        .db(move |c| {
            let child = children::get(c, id)?.ok_or(AppError::NotFound)?;
            children::record_view(c, &actor, id, "child record")?;
            let mut visible = Vec::new();
            let mut decided = Vec::new();
            for r in referrals::of_child(c, id)? {
                // Decisions are on the child's record for every panel member (SPEC §5).
                if crate::decisions::rights(c, &user, &r).is_ok() {
                    for d in jp_store::decisions::of_referral(c, r.id)? {
                        if d.signed() {
                            decided.push((r.id, d, r.panel_name.clone()));
                        }
                    }
                }
                if referrals::sight(c, &user, &r)? == Sight::Full {
                    visible.push(r);
                }
            }
            decided.reverse();
            Ok((child, visible, decided))
        })
        .await?;
    let nhs = child
        .nhs_number
        .as_deref()
        .and_then(|n| NhsNumber::parse(n).ok())
        .map(|n| n.spaced())
        .unwrap_or_else(|| "Not recorded".into());
    Ok(render(&ShowPage {
        page: PageCtx::new(&p, child.full_name(), "/children"),
        can_refer: p.user.has(jp_domain::Role::Referrer),
        can_edit: p
            .user
            .has_any(&[jp_domain::Role::Referrer, jp_domain::Role::Administrator]),
        child,
        nhs,
        referrals: refs,
        decisions,
    }))
}

async fn edit_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    let child = state
        .db(move |c| children::get(c, id)?.ok_or(AppError::NotFound))
        .await?;
    Ok(page(
        &p,
        "Change the child's details",
        format!("/children/{id}/edit"),
        Some(child.version),
        fields(None, Some(&child)),
        Errors::default(),
        (format!("/children/{id}"), child.full_name()),
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
    let back = (format!("/children/{id}"), "Back to the child".to_owned());
    let action = format!("/children/{id}/edit");
    let f = match parse(&form) {
        Ok(f) => f,
        Err(e) => {
            return Ok(page(
                &p,
                "Change the child's details",
                action,
                Some(v),
                fields(Some(&form), None),
                e,
                back,
            )
            .respond());
        }
    };
    let actor = p.actor();
    let pg = page(
        &p,
        "Change the child's details",
        action,
        Some(v),
        fields(Some(&form), None),
        Errors::default(),
        back,
    );
    let outcome = save(
        &state,
        move |tx| children::update(tx, &actor, id, v, &f),
        move |c| {
            Ok(children::get(c, id)?.map(|c| {
                (
                    c.version,
                    vec![
                        ("Name".to_owned(), c.full_name()),
                        ("Date of birth".to_owned(), date(c.date_of_birth)),
                        ("Local ID".to_owned(), c.local_id.clone()),
                        (
                            "Parental responsibility".to_owned(),
                            c.parental_responsibility.clone(),
                        ),
                        (
                            "Language and communication".to_owned(),
                            c.language_needs.clone(),
                        ),
                    ],
                )
            }))
        },
    )
    .await?;
    Ok(respond(outcome, &format!("/children/{id}"), pg, "local_id"))
}

/// "9 May 2023" for a stored ISO date answer, or the text as it is.
pub fn answer_date(v: &str) -> String {
    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_or_else(|_| v.to_owned(), referral_form::long_date)
}
