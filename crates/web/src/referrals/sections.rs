//! The referral form's sections: each saved on its own, as a draft or as
//! complete; options with cost lines; check your answers.

use super::{Loaded, load, option_views, show_page};
use crate::admin::CONFLICT_MESSAGE;
use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::{Errors, Form, Id};
use crate::pages::{Field, FormPage, PageCtx, render_checked};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use jp_domain::Pence;
use jp_domain::costs::{self, CostLine, Quantity, Unit};
use jp_domain::referral_form::{self, Answers, Kind, Section, SectionKind};
use jp_domain::text;
use jp_store::ChangeError;
use jp_store::referrals::{self, Sight};

pub fn routes() -> Routes {
    Routes::default()
        .get("/referrals/{id}/sections/{section}", section_form)
        .post("/referrals/{id}/sections/{section}", save_section)
        .get("/referrals/{id}/options", options_page)
        .post("/referrals/{id}/options", add_option)
        .post("/referrals/{id}/options/lines", add_line)
        .post("/referrals/{id}/options/lines/remove", remove_line)
        .post("/referrals/{id}/options/remove", remove_option)
        .post("/referrals/{id}/options/recommended", recommend)
        .get("/referrals/{id}/check", check)
}

/// `/referrals/{id}/sections/{section}`: both parts checked.
fn parse_path(raw: &(String, String)) -> Result<(i64, &'static Section), AppError> {
    let id = raw
        .0
        .parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or(AppError::NotFound)?;
    let s = referral_form::section(&raw.1)
        .filter(|s| s.kind == SectionKind::Questions)
        .ok_or(AppError::NotFound)?;
    Ok((id, s))
}

/// The referral, loaded for its referrer while it can still be changed.
pub async fn load_editable(state: &AppState, p: &Principal, id: i64) -> Result<Loaded, AppError> {
    let l = load(state, p, id, Sight::Full).await?;
    if l.r.referrer_id != p.user.id {
        return Err(AppError::Forbidden);
    }
    if !l.r.status.editable() {
        return Err(AppError::Conflict(format!(
            "This referral is “{}”: it can only be changed while it is a draft or returned for changes.",
            l.r.status.label()
        )));
    }
    Ok(l)
}

fn fields_for(s: &Section, answers: &Answers) -> Vec<Field> {
    s.questions
        .iter()
        .map(|q| {
            let vals = answers.get(q.key).cloned().unwrap_or_default();
            let first = vals.first().cloned().unwrap_or_default();
            let f = match q.kind {
                Kind::Text(_) => Field::text(q.key, q.label, first),
                Kind::Area(_) => Field::textarea(q.key, q.label, first),
                Kind::Date => Field::date(q.key, q.label, &first),
                Kind::Radios(choices) => Field::radios(
                    q.key,
                    q.label,
                    first,
                    choices
                        .iter()
                        .map(|(k, l)| ((*k).to_owned(), (*l).to_owned()))
                        .collect(),
                ),
                Kind::Checkboxes(choices) => Field::checkboxes(
                    q.key,
                    q.label,
                    vals,
                    choices
                        .iter()
                        .map(|(k, l)| ((*k).to_owned(), (*l).to_owned()))
                        .collect(),
                ),
            };
            f.hint(q.hint)
        })
        .collect()
}

fn section_page(
    p: &Principal,
    l: &Loaded,
    s: &Section,
    answers: &Answers,
    version: i64,
    errors: Errors,
) -> FormPage {
    let mut f = FormPage::new(
        PageCtx::new(p, s.title, "/referrals"),
        (
            format!("/referrals/{}", l.r.id),
            "Back to the referral".into(),
        ),
        format!("/referrals/{}/sections/{}", l.r.id, s.key),
        Some(version),
        fields_for(s, answers),
        errors,
    );
    f.caption = format!("Referral for {}", l.child.full_name());
    f.intro = "“Save and continue” checks this part is complete. “Save as draft” keeps what you have written so you can come back to it.".into();
    f.submit = "Save and continue".into();
    f.draft = true;
    f
}

async fn section_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(raw): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (id, s) = parse_path(&raw)?;
    let l = load_editable(&state, &p, id).await?;
    let (answers, version) = l
        .sections
        .get(s.key)
        .map_or((Answers::new(), 0), |st| (st.answers.clone(), st.version));
    Ok(section_page(&p, &l, s, &answers, version, Errors::default()).respond())
}

fn errors_from(problems: &[referral_form::Problem]) -> Errors {
    let mut e = Errors::default();
    for pr in problems {
        e.add(&pr.key, &pr.message);
    }
    e
}

async fn save_section(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(raw): Path<(String, String)>,
    form: Form,
) -> Result<Response, AppError> {
    let (id, s) = parse_path(&raw)?;
    let version = crate::forms::version(&form)?;
    let l = load_editable(&state, &p, id).await?;
    let draft = form.get("draft") == "yes";
    let (answers, problems) = referral_form::read(s, &form.pairs(), &l.context(), !draft);
    if !problems.is_empty() {
        return Ok(section_page(&p, &l, s, &answers, version, errors_from(&problems)).respond());
    }
    let actor = p.actor();
    let key = s.key;
    let a2 = answers.clone();
    let result = state
        .db(move |c| {
            let mut tx = c.begin()?;
            match referrals::save_section(&mut tx, &actor, id, key, version, &a2, !draft) {
                Ok(v) => {
                    tx.commit()?;
                    Ok(Ok(v))
                }
                Err(ChangeError::Conflict { current }) => Ok(Err(current)),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/referrals/{id}")).into_response()),
        Err(current) => {
            // Someone saved this section first: show their answers, keep ours in the form.
            let l = load_editable(&state, &p, id).await?;
            let theirs = l
                .sections
                .get(key)
                .map(|st| st.answers.clone())
                .unwrap_or_default();
            let mut e = Errors::default();
            e.add("_form", CONFLICT_MESSAGE);
            let mut pg = section_page(&p, &l, s, &answers, current, e);
            pg.conflict = s
                .questions
                .iter()
                .map(|q| {
                    (
                        q.label.to_owned(),
                        theirs
                            .get(q.key)
                            .map(|v| v.join(", "))
                            .unwrap_or_else(|| "Not answered".into()),
                    )
                })
                .collect();
            Ok(pg.respond())
        }
    }
}

#[derive(Template)]
#[template(path = "referrals/options.html")]
struct OptionsPage {
    page: PageCtx,
    l: Loaded,
    options: Vec<super::OptionView>,
    errors: Errors,
    form: OptionForm,
    units: Vec<(String, String)>,
}

/// "2026-04-01" (or what was typed, "2026-4-") as its year, month and day parts.
fn date_parts(value: &str) -> [String; 3] {
    let mut parts = value.splitn(3, '-').map(str::to_owned);
    [
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    ]
}

/// What was typed into the option and cost line forms, kept on errors.
#[derive(Default, Clone)]
struct OptionForm {
    provider: String,
    description: String,
    option_id: String,
    item: String,
    unit_cost: String,
    unit: String,
    quantity: String,
    start: String,
    end: String,
}

impl OptionForm {
    /// The cost line's text inputs: name, label, what was typed, width class, hint, decimal keyboard.
    #[allow(clippy::type_complexity)]
    fn text_inputs(
        &self,
    ) -> [(
        &'static str,
        &'static str,
        &str,
        &'static str,
        &'static str,
        bool,
    ); 3] {
        [
            (
                "item",
                "What the cost is for",
                &self.item,
                "govuk-!-width-two-thirds",
                "",
                false,
            ),
            (
                "unit_cost",
                "Unit cost in pounds",
                &self.unit_cost,
                "govuk-input--width-10",
                "",
                true,
            ),
            (
                "quantity",
                "Quantity",
                &self.quantity,
                "govuk-input--width-5",
                "For “per hour” or “per day”: how many each week",
                true,
            ),
        ]
    }

    /// The cost line's date inputs: name, legend, and the year, month and day typed.
    fn date_inputs(&self) -> [(&'static str, &'static str, [String; 3]); 2] {
        [
            ("start", "Start date", date_parts(&self.start)),
            ("end", "End date", date_parts(&self.end)),
        ]
    }
}

async fn options_response(
    state: &AppState,
    p: &Principal,
    id: i64,
    errors: Errors,
    form: OptionForm,
) -> Result<Response, AppError> {
    let l = load_editable(state, p, id).await?;
    let page = OptionsPage {
        page: PageCtx::new(p, "Options and costs", "/referrals").with_errors(&errors),
        options: option_views(&l),
        l,
        errors,
        form,
        units: Unit::ALL
            .iter()
            .map(|u| (u.slug().to_owned(), u.label().to_owned()))
            .collect(),
    };
    Ok(render_checked(&page, &page.errors))
}

async fn options_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    options_response(&state, &p, id, Errors::default(), OptionForm::default()).await
}

/// Runs one change to the referral's options and answers with the options page.
async fn change<F>(
    state: &AppState,
    p: &Principal,
    id: i64,
    field: &str,
    kept: OptionForm,
    f: F,
) -> Result<Response, AppError>
where
    F: FnOnce(&mut jp_store::db::Tx<'_>, &jp_store::Actor) -> Result<(), ChangeError>
        + Send
        + 'static,
{
    load_editable(state, p, id).await?;
    let actor = p.actor();
    let outcome = state
        .db(move |c| {
            let mut tx = c.begin()?;
            match f(&mut tx, &actor) {
                Ok(()) => {
                    tx.commit()?;
                    Ok(None)
                }
                Err(ChangeError::Invalid(m) | ChangeError::Duplicate(m)) => Ok(Some(m)),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    match outcome {
        None => Ok(Redirect::to(&format!("/referrals/{id}/options")).into_response()),
        Some(m) => {
            let mut e = Errors::default();
            e.add(field, m);
            options_response(state, p, id, e, kept).await
        }
    }
}

async fn add_option(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let kept = OptionForm {
        provider: form.get("provider").to_owned(),
        description: form.get("description").to_owned(),
        ..OptionForm::default()
    };
    let mut e = Errors::default();
    let provider = e.take(
        "provider",
        text::required(form.get("provider"), "the provider", 200),
    );
    let description = e.take(
        "description",
        text::required(form.get("description"), "what the option delivers", 5_000),
    );
    let (Some(provider), Some(description)) = (provider, description) else {
        return options_response(&state, &p, id, e, kept).await;
    };
    change(&state, &p, id, "provider", kept, move |tx, actor| {
        referrals::add_option(tx, actor, id, &provider, &description).map(|_| ())
    })
    .await
}

fn parse_date_parts(form: &Form, key: &str) -> Option<NaiveDate> {
    let d = form.get(&format!("{key}-day")).trim().parse().ok()?;
    let m = form.get(&format!("{key}-month")).trim().parse().ok()?;
    let y: i32 = form.get(&format!("{key}-year")).trim().parse().ok()?;
    if !(2000..=2100).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d)
}

/// Reads a cost line; errors are keyed by field.
pub fn parse_line(form: &Form) -> Result<CostLine, Errors> {
    let mut e = Errors::default();
    let item = e.take(
        "item",
        text::required(form.get("item"), "what the cost is for", 200),
    );
    let unit_cost = e.take("unit_cost", Pence::parse_pounds(form.get("unit_cost")));
    let unit = Unit::parse(form.get("unit"));
    if unit.is_none() {
        e.add("unit", "Select how the cost is charged");
    }
    let quantity = e.take("quantity", Quantity::parse(form.get("quantity")));
    let start = parse_date_parts(form, "start");
    if start.is_none() {
        e.add(
            "start",
            "Enter the start date as a real date, like 1 4 2027",
        );
    }
    let end = parse_date_parts(form, "end");
    if end.is_none() {
        e.add("end", "Enter the end date as a real date, like 31 3 2028");
    }
    if let (Some(c), Some(q), Some(s), Some(en)) = (unit_cost, quantity, start, end) {
        for (k, m) in costs::check_line(c, q, s, en) {
            e.add(k, m);
        }
    }
    match (item, unit_cost, unit, quantity, start, end) {
        (Some(item), Some(unit_cost), Some(unit), Some(quantity), Some(start), Some(end))
            if e.is_empty() =>
        {
            Ok(CostLine {
                item,
                unit_cost,
                unit,
                quantity,
                start,
                end,
            })
        }
        _ => Err(e),
    }
}

async fn add_line(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let kept = OptionForm {
        option_id: form.get("option_id").to_owned(),
        item: form.get("item").to_owned(),
        unit_cost: form.get("unit_cost").to_owned(),
        unit: form.get("unit").to_owned(),
        quantity: form.get("quantity").to_owned(),
        start: form.date_typed("start"),
        end: form.date_typed("end"),
        ..OptionForm::default()
    };
    let Some(option_id) = crate::admin::chosen_id(form.get("option_id")) else {
        let mut e = Errors::default();
        e.add("option_id", "Select the option the cost belongs to");
        return options_response(&state, &p, id, e, kept).await;
    };
    let line = match parse_line(&form) {
        Ok(l) => l,
        Err(e) => return options_response(&state, &p, id, e, kept).await,
    };
    change(&state, &p, id, "item", kept, move |tx, actor| {
        referrals::add_line(tx, actor, id, option_id, &line).map(|_| ())
    })
    .await
}

async fn remove_line(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let option_id = crate::admin::chosen_id(form.get("option_id")).ok_or(AppError::NotFound)?;
    let line_id = crate::admin::chosen_id(form.get("line_id")).ok_or(AppError::NotFound)?;
    change(
        &state,
        &p,
        id,
        "item",
        OptionForm::default(),
        move |tx, actor| referrals::remove_line(tx, actor, id, option_id, line_id),
    )
    .await
}

async fn remove_option(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let option_id = crate::admin::chosen_id(form.get("option_id")).ok_or(AppError::NotFound)?;
    change(
        &state,
        &p,
        id,
        "provider",
        OptionForm::default(),
        move |tx, actor| referrals::remove_option(tx, actor, id, option_id),
    )
    .await
}

async fn recommend(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let Some(option_id) = crate::admin::chosen_id(form.get("recommended")) else {
        let mut e = Errors::default();
        e.add("recommended", "Select the option you recommend");
        return options_response(&state, &p, id, e, OptionForm::default()).await;
    };
    change(
        &state,
        &p,
        id,
        "recommended",
        OptionForm::default(),
        move |tx, actor| referrals::set_recommended(tx, actor, id, option_id),
    )
    .await
}

async fn check(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    load_editable(&state, &p, id).await?;
    show_page(&state, &p, id, Errors::default(), true).await
}
