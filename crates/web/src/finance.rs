//! Finance monitoring (SPEC §6, §7): for a financial year, each
//! organisation's budget on each panel against what agreements commit, what
//! has actually been paid, and the forecast to the year's end — as a chart
//! (SVG, drawn on the server) with the same numbers in a table beside it.
//! Finance officers and administrators set budgets and record actual spend.

use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::{Errors, Form, Id};
use crate::pages::{Field, FieldKind, PageCtx, render_checked};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Datelike;
use jp_domain::{Pence, Role};
use jp_store::ChangeError;
use jp_store::finance::{self, Line};
use serde::Deserialize;

pub fn routes() -> Routes {
    Routes::default()
        .get("/finance", page)
        .post("/finance/budgets", set_budget)
        .post("/agreements/{id}/spend", record_spend)
}

#[derive(Debug, Default, Deserialize)]
pub struct YearQuery {
    #[serde(default)]
    pub year: String,
}

/// The financial year today falls in.
pub fn this_year() -> i32 {
    jp_domain::apportion::financial_year(crate::referrals::today())
}

/// "2026/27".
pub fn year_label(fy: i32) -> String {
    jp_domain::apportion::financial_year_label(fy)
}

/// One organisation's totals across panels, for the chart.
pub struct Bar {
    pub organisation: String,
    pub budget: i64,
    pub committed: i64,
    pub actual: i64,
    pub forecast: i64,
}

/// The chart as SVG: for each organisation, its budget, committed and actual
/// spend as bars on one scale, the forecast as a tick. Decorative for screen
/// readers: the table beside it holds every number.
pub fn chart(bars: &[Bar]) -> String {
    use std::fmt::Write;
    let max = bars
        .iter()
        .flat_map(|b| [b.budget, b.committed, b.actual, b.forecast])
        .max()
        .unwrap_or(0)
        .max(1);
    let (label_w, bar_w, row_h) = (260.0_f64, 420.0_f64, 78.0_f64);
    // Drawing coordinates only: the numbers shown are the table's.
    #[allow(clippy::cast_precision_loss)]
    let x = |p: i64| label_w + bar_w * (p.max(0) as f64) / (max as f64);
    let height = 30.0 + row_h * bars.len().max(1) as f64;
    let mut s = format!(
        "<svg class=\"jp-chart\" viewBox=\"0 0 760 {height}\" width=\"100%\" role=\"img\" aria-labelledby=\"chart-title\" focusable=\"false\"><title id=\"chart-title\">Budget, committed and actual spend by organisation (the table below has the figures)</title>"
    );
    let series = [
        ("Budget", "#b1b4b6"),
        ("Committed", "#1d70b8"),
        ("Actual", "#00703c"),
    ];
    for (i, (name, colour)) in series.iter().enumerate() {
        let lx = label_w + 140.0 * i as f64;
        let _ = write!(
            s,
            "<rect x=\"{lx}\" y=\"6\" width=\"14\" height=\"14\" fill=\"{colour}\"/><text x=\"{}\" y=\"18\" font-size=\"14\" fill=\"#0b0c0c\">{name}</text>",
            lx + 20.0
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{0}\" y1=\"6\" x2=\"{0}\" y2=\"22\" stroke=\"#d4351c\" stroke-width=\"3\"/><text x=\"{1}\" y=\"18\" font-size=\"14\" fill=\"#0b0c0c\">Forecast</text>",
        label_w + 430.0,
        label_w + 438.0
    );
    for (i, b) in bars.iter().enumerate() {
        let y = 30.0 + row_h * i as f64;
        let name: String = b
            .organisation
            .chars()
            .take(34)
            .collect::<String>()
            .replace('&', "&amp;")
            .replace('<', "&lt;");
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\" font-size=\"14\" fill=\"#0b0c0c\">{name}</text>",
            y + 36.0
        );
        for (j, (value, (_, colour))) in [b.budget, b.committed, b.actual]
            .iter()
            .zip(series.iter())
            .enumerate()
        {
            let _ = write!(
                s,
                "<rect x=\"{label_w}\" y=\"{}\" width=\"{:.1}\" height=\"18\" fill=\"{colour}\"/>",
                y + 6.0 + 22.0 * j as f64,
                x(*value) - label_w
            );
        }
        let fx = x(b.forecast);
        let _ = write!(
            s,
            "<line x1=\"{fx:.1}\" y1=\"{}\" x2=\"{fx:.1}\" y2=\"{}\" stroke=\"#d4351c\" stroke-width=\"3\"/>",
            y + 2.0,
            y + 74.0
        );
    }
    s.push_str("</svg>");
    s
}

#[derive(Template)]
#[template(path = "finance.html")]
struct FinancePage {
    page: PageCtx,
    year: i32,
    year_label: String,
    years: Vec<(String, String)>,
    lines: Vec<Line>,
    totals: Line,
    chart: String,
    can_edit: bool,
    budget_fields: Vec<Field>,
    errors: Errors,
}

impl FinancePage {
    fn money(&self, p: impl std::borrow::Borrow<i64>) -> String {
        Pence(*p.borrow()).to_string()
    }
    fn opt_money(&self, p: impl std::borrow::Borrow<Option<i64>>) -> String {
        p.borrow()
            .map_or_else(|| "Not set".to_owned(), |p| Pence(p).to_string())
    }
    /// The left-over words: "Overspend £x" or the amount, or none.
    fn left(&self, l: &Line) -> (bool, String) {
        match l.remaining() {
            Some(r) if r < 0 => (true, format!("Overspend {}", Pence(-r))),
            Some(r) => (false, Pence(r).to_string()),
            None => (false, "No budget set".to_owned()),
        }
    }
}

async fn respond(
    state: &AppState,
    p: &Principal,
    year: i32,
    form: Option<Form>,
    errors: Errors,
) -> Result<Response, AppError> {
    let today = crate::referrals::today();
    let (lines, organisations, panels) = state
        .db(move |c| {
            Ok((
                finance::year_lines(c, year, (today.year(), today.month()))?,
                jp_store::reference::organisations::list(c)?,
                jp_store::reference::panels::list(c)?,
            ))
        })
        .await?;
    let mut totals = Line::default();
    let mut bars: Vec<Bar> = Vec::new();
    for l in &lines {
        totals.committed += l.committed;
        totals.committed_ahead += l.committed_ahead;
        totals.pending += l.pending;
        totals.actual += l.actual;
        totals.budget = Some(totals.budget.unwrap_or(0) + l.budget.unwrap_or(0));
        match bars.iter_mut().find(|b| b.organisation == l.organisation) {
            Some(b) => {
                b.budget += l.budget.unwrap_or(0);
                b.committed += l.committed;
                b.actual += l.actual;
                b.forecast += l.forecast();
            }
            None => bars.push(Bar {
                organisation: l.organisation.clone(),
                budget: l.budget.unwrap_or(0),
                committed: l.committed,
                actual: l.actual,
                forecast: l.forecast(),
            }),
        }
    }
    let kept = |k: &str| {
        form.as_ref()
            .map(|f| f.get(k).to_owned())
            .unwrap_or_default()
    };
    let budget_fields = crate::pages::with_errors(
        vec![
            Field::select(
                "organisation_id",
                "Organisation",
                kept("organisation_id"),
                std::iter::once((String::new(), "Select an organisation".to_owned()))
                    .chain(
                        organisations
                            .iter()
                            .map(|o| (o.id.to_string(), o.name.clone())),
                    )
                    .collect(),
            ),
            Field::select(
                "panel_id",
                "Panel",
                kept("panel_id"),
                std::iter::once((String::new(), "Select a panel".to_owned()))
                    .chain(panels.iter().map(|x| (x.id.to_string(), x.name.clone())))
                    .collect(),
            ),
            Field::number(
                "amount",
                &format!("Budget for {} (£)", year_label(year)),
                kept("amount"),
            )
            .hint("For example 250000 or 250,000.00; replaces the budget already set"),
        ],
        &errors,
    );
    let fy = this_year();
    let view = FinancePage {
        page: PageCtx::new(p, format!("Finance {}", year_label(year)), "/finance")
            .with_errors(&errors),
        year_label: year_label(year),
        years: (fy - 3..=fy + 3)
            .map(|y| (y.to_string(), year_label(y)))
            .collect(),
        chart: chart(&bars),
        can_edit: p.user.has_any(&[Role::Finance, Role::Administrator]),
        year,
        lines,
        totals,
        budget_fields,
        errors,
    };
    Ok(render_checked(&view, &view.errors))
}

pub(crate) fn read_year(raw: &str) -> Result<i32, String> {
    if raw.trim().is_empty() {
        return Ok(this_year());
    }
    raw.trim()
        .parse::<i32>()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .ok_or_else(|| "Choose a financial year from the list".to_owned())
}

async fn page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<YearQuery>,
) -> Result<Response, AppError> {
    match read_year(&q.year) {
        Ok(y) => respond(&state, &p, y, None, Errors::default()).await,
        Err(m) => {
            let mut e = Errors::default();
            e.add("year", m);
            respond(&state, &p, this_year(), None, e).await
        }
    }
}

async fn set_budget(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    form: Form,
) -> Result<Response, AppError> {
    if !p.user.has_any(&[Role::Finance, Role::Administrator]) {
        return Err(AppError::Forbidden);
    }
    let mut e = Errors::default();
    let year = e.take("year", read_year(form.get("year")));
    let org = crate::admin::chosen_id(form.get("organisation_id"));
    if org.is_none() {
        e.add("organisation_id", "Select the organisation");
    }
    let panel = crate::admin::chosen_id(form.get("panel_id"));
    if panel.is_none() {
        e.add("panel_id", "Select the panel");
    }
    let amount = e.take(
        "amount",
        Pence::parse_pounds(form.get("amount"))
            .map_err(|_| "Enter the budget in pounds, like 250000 or 250,000.00".to_owned()),
    );
    let (Some(year), Some(org), Some(panel), Some(amount)) = (year, org, panel, amount) else {
        return respond(&state, &p, year.unwrap_or_else(this_year), Some(form), e).await;
    };
    let actor = p.actor();
    let outcome = crate::admin::save(
        &state,
        move |tx| finance::set_budget(tx, &actor, org, panel, year, amount.0, None),
        |_| Ok(None),
    )
    .await?;
    match outcome {
        crate::admin::Outcome::Saved(()) => {
            Ok(Redirect::to(&format!("/finance?year={year}")).into_response())
        }
        crate::admin::Outcome::Refused(m) => {
            e.add("amount", m);
            respond(&state, &p, year, Some(form), e).await
        }
        crate::admin::Outcome::Conflict { .. } => Err(AppError::Conflict(
            "The budget was changed while you were entering it; check it and try again".into(),
        )),
    }
}

/// Actual spend against an agreement (from its page).
async fn record_spend(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    if !p.user.has_any(&[Role::Finance, Role::Administrator]) {
        return Err(AppError::Forbidden);
    }
    let mut problems = Vec::new();
    let org = crate::admin::chosen_id(form.get("spend_organisation_id"));
    if org.is_none() {
        problems.push("Select the organisation that paid");
    }
    let month = form.date("spend_month", "the month paid");
    let amount = Pence::parse_pounds(form.get("spend_amount"));
    let reference = form.get("spend_reference").trim().to_owned();
    let message = match (&month, &amount) {
        (Err(m), _) => Some(m.clone()),
        (_, Err(_)) => Some("Enter the amount paid in pounds, like 1250.00".to_owned()),
        _ if reference.is_empty() || reference.len() > 100 => Some(
            "Enter the payment's reference (an invoice or ledger number, up to 100 characters)"
                .to_owned(),
        ),
        _ => problems.first().map(|m| (*m).to_owned()),
    };
    if let Some(m) = message {
        return Err(AppError::Unprocessable(m));
    }
    let (Some(org), Ok(month), Ok(amount)) = (org, month, amount) else {
        return Err(AppError::Unprocessable(
            "The payment could not be read".into(),
        ));
    };
    let actor = p.actor();
    let outcome = crate::admin::save(
        &state,
        move |tx| {
            finance::record_spend(tx, &actor, id, org, month, amount.0, &reference).map(|_| ())
        },
        |_| Ok(None),
    )
    .await?;
    match outcome {
        crate::admin::Outcome::Saved(()) => {
            Ok(Redirect::to(&format!("/agreements/{id}#spend")).into_response())
        }
        crate::admin::Outcome::Refused(m) => Err(AppError::Unprocessable(m)),
        crate::admin::Outcome::Conflict { .. } => Err(ChangeError::NotFound.into()),
    }
}
