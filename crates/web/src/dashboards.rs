//! Dashboards (SPEC §7): reviews due and overdue, service levels against the
//! panel's deadlines, spend against budget by organisation and year, and the
//! needs picture for strategic planning. Each chart is SVG drawn here, with
//! its numbers in a table beside it; counts and money only, no names.
//! Administrators and finance see every panel; chairs and members theirs.

use crate::auth::Principal;
use crate::charts;
use crate::error::AppError;
use crate::forms::Errors;
use crate::pages::{Field, FieldKind, PageCtx, render_checked};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::Datelike;
use jp_domain::referral_form::{MONTHS, NEEDS};
use jp_domain::{Pence, Role};
use jp_store::dashboards::{self, Level, MEASURES, Month};
use serde::Deserialize;

pub fn routes() -> Routes {
    Routes::default()
        .get("/dashboards", index)
        .get("/dashboards/reviews", reviews)
        .get("/dashboards/service-levels", service_levels)
        .get("/dashboards/spend", spend)
        .get("/dashboards/needs", needs)
}

/// A table: a header row, then rows led by a row header.
pub struct Table {
    pub caption: String,
    pub head: Vec<String>,
    pub rows: Vec<(String, Vec<String>)>,
}

/// One figure on a dashboard: heading, words, chart, and the table.
pub struct Block {
    pub id: &'static str,
    pub heading: String,
    pub lede: String,
    pub chart: String,
    pub table: Table,
    pub note: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Page {
    page: PageCtx,
    back: Option<(String, String)>,
    lede: String,
    links: Vec<(String, String, String)>,
    action: String,
    fields: Vec<Field>,
    blocks: Vec<Block>,
    errors: Errors,
}

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    #[serde(default)]
    panel: String,
    #[serde(default)]
    years: String,
}

/// The panels a person's dashboards cover: every panel for administrators
/// and finance, the panels they sit on for chairs and members.
fn panels_in_scope(
    c: &mut jp_store::db::Conn,
    p: &Principal,
) -> Result<(Vec<(i64, String)>, bool), AppError> {
    let all = jp_store::reference::panels::list(c)?;
    if p.user.has_any(&[Role::Administrator, Role::Finance]) {
        return Ok((all.into_iter().map(|x| (x.id, x.name)).collect(), true));
    }
    let mine = jp_store::referrals::panels_sat_on(c, p.user.id)?;
    Ok((
        all.into_iter()
            .filter(|x| mine.contains(&x.id))
            .map(|x| (x.id, x.name))
            .collect(),
        false,
    ))
}

/// The chosen panel (or all in scope), with a message when the choice is
/// not one of the person's panels.
struct Chosen {
    panels: Vec<(i64, String)>,
    /// None: every panel (the person sees all of them).
    only: Option<Vec<i64>>,
    value: String,
}

fn choose(panels: Vec<(i64, String)>, all: bool, raw: &str, e: &mut Errors) -> Chosen {
    let raw = raw.trim();
    let scope: Vec<i64> = panels.iter().map(|(id, _)| *id).collect();
    let only = if raw.is_empty() {
        (!all).then_some(scope)
    } else {
        match raw.parse::<i64>().ok().filter(|id| scope.contains(id)) {
            Some(id) => Some(vec![id]),
            None => {
                e.add("panel", "Select one of your panels from the list");
                Some(Vec::new())
            }
        }
    };
    Chosen {
        panels,
        only,
        value: raw.to_owned(),
    }
}

fn panel_field(c: &Chosen, e: &Errors) -> Field {
    let mut options = vec![(String::new(), "All your panels".to_owned())];
    options.extend(c.panels.iter().map(|(id, n)| (id.to_string(), n.clone())));
    let mut f = Field::select("panel", "Panel", c.value.clone(), options);
    f.error = e.get("panel").map(str::to_owned);
    f
}

fn month_label((y, m): Month) -> String {
    format!("{} {y}", MONTHS[(m as usize).saturating_sub(1).min(11)])
}

fn month_short((y, m): Month) -> String {
    let name = MONTHS[(m as usize).saturating_sub(1).min(11)];
    format!("{} {}", &name[..3], y % 100)
}

fn count(n: i64) -> String {
    n.to_string()
}

fn money(p: i64) -> String {
    Pence(p).to_string()
}

fn render(
    p: &Principal,
    title: &str,
    path: &str,
    lede: &str,
    fields: Vec<Field>,
    blocks: Vec<Block>,
    errors: Errors,
) -> Response {
    let view = Page {
        page: PageCtx::new(p, title, path).with_errors(&errors),
        back: Some(("/dashboards".into(), "All dashboards".into())),
        lede: lede.to_owned(),
        links: Vec::new(),
        action: path.to_owned(),
        fields,
        blocks,
        errors,
    };
    render_checked(&view, &view.errors)
}

async fn index(Extension(p): Extension<Principal>) -> Result<Response, AppError> {
    let mut links = vec![
        (
            "/dashboards/reviews",
            "Reviews due and overdue",
            "Active funding agreements by the month their review falls due, and whether each is booked onto a meeting.",
        ),
        (
            "/dashboards/service-levels",
            "Service levels",
            "Referrals submitted by the deadline, papers circulated on time, decision letters and minutes within their working days, and absent agencies' answers, month by month.",
        ),
    ];
    if p.user
        .has_any(&[Role::Finance, Role::Administrator, Role::Chair])
    {
        links.push((
            "/dashboards/spend",
            "Spend against budget",
            "Each organisation's budget, committed cost and actual spend, year by year.",
        ));
    }
    links.push((
        "/dashboards/needs",
        "The needs picture",
        "Referrals by need, age band, outcome and agency over the years, for strategic planning.",
    ));
    if p.user
        .has_any(&[Role::Administrator, Role::Chair, Role::Member])
    {
        links.push((
            "/emerging-issues",
            "Emerging issues",
            "Patterns members have seen across cases, for commissioners (members can add to the log).",
        ));
    }
    let view = Page {
        page: PageCtx::new(&p, "Dashboards", "/dashboards"),
        back: None,
        lede: "Figures drawn from the panel's records as they stand, each as a chart with its numbers in a table.".into(),
        links: links
            .into_iter()
            .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()))
            .collect(),
        action: String::new(),
        fields: Vec::new(),
        blocks: Vec::new(),
        errors: Errors::default(),
    };
    Ok(render_checked(&view, &view.errors))
}

async fn reviews(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<Params>,
) -> Result<Response, AppError> {
    let today = crate::referrals::today();
    let principal = p.clone();
    let (chosen, due, errors) = state
        .db(move |c| {
            let mut e = Errors::default();
            let (panels, all) = panels_in_scope(c, &principal)?;
            let chosen = choose(panels, all, &q.panel, &mut e);
            let due = dashboards::reviews_due(c, chosen.only.as_deref(), today)?;
            Ok((chosen, due, e))
        })
        .await?;
    let mut rows: Vec<(String, jp_store::dashboards::Counted)> =
        vec![("Overdue".to_owned(), due.overdue)];
    rows.extend(due.months.iter().map(|(m, n)| (month_label(*m), *n)));
    rows.push(("Later".to_owned(), due.later));
    let chart = charts::bars(
        "reviews",
        "Reviews due by month: booked onto a meeting and not yet booked",
        &["Booked", "Not yet booked"],
        &rows
            .iter()
            .map(|(l, n)| (l.clone(), vec![n.booked, n.unbooked]))
            .collect::<Vec<_>>(),
        &count,
    );
    let total: i64 = rows.iter().map(|(_, n)| n.total()).sum();
    let mut table_rows: Vec<(String, Vec<String>)> = rows
        .iter()
        .map(|(l, n)| {
            (
                l.clone(),
                vec![count(n.booked), count(n.unbooked), count(n.total())],
            )
        })
        .collect();
    table_rows.push((
        "All".into(),
        vec![
            count(rows.iter().map(|(_, n)| n.booked).sum()),
            count(rows.iter().map(|(_, n)| n.unbooked).sum()),
            count(total),
        ],
    ));
    let block = Block {
        id: "due",
        heading: format!(
            "{} overdue, {} due in the next 12 months",
            due.overdue.total(),
            due.months.iter().map(|(_, n)| n.total()).sum::<i64>()
        ),
        lede: "Active funding agreements by the month their review date falls in (today's month first). Reviews are booked onto the last meeting before the review date once the meeting schedule reaches it.".into(),
        chart,
        table: Table {
            caption: "Reviews due, by month".into(),
            head: vec![
                "Month".into(),
                "Booked".into(),
                "Not yet booked".into(),
                "All".into(),
            ],
            rows: table_rows,
        },
        note: "Overdue: the review date has passed and the agreement is still active. The home page lists each one with a link.".into(),
    };
    let fields = vec![panel_field(&chosen, &errors)];
    Ok(render(
        &p,
        "Reviews due and overdue",
        "/dashboards/reviews",
        "When the panel's funding agreements come up for review.",
        fields,
        vec![block],
        errors,
    ))
}

fn level_cell(l: &Level) -> String {
    match l.percent() {
        Some(pc) => format!("{pc}% ({} of {})", l.on_time, l.total()),
        None => "Nothing due".into(),
    }
}

async fn service_levels(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<Params>,
) -> Result<Response, AppError> {
    let today = crate::referrals::today();
    let months = dashboards::months_ending(today, 12);
    let principal = p.clone();
    let (chosen, levels, errors) = state
        .db(move |c| {
            let mut e = Errors::default();
            let (panels, all) = panels_in_scope(c, &principal)?;
            let chosen = choose(panels, all, &q.panel, &mut e);
            let levels = dashboards::service_levels(c, chosen.only.as_deref(), &months, today)?;
            Ok((chosen, levels, e))
        })
        .await?;
    let mut whole = [Level::default(); 5];
    for m in &levels {
        for (w, l) in whole.iter_mut().zip(m.levels.iter()) {
            w.on_time += l.on_time;
            w.late += l.late;
        }
    }
    let names: Vec<&str> = MEASURES.iter().map(|(_, n)| *n).collect();
    let summary = Block {
        id: "year",
        heading: "The last 12 months".into(),
        lede: "The share done on time for meetings held in the last 12 months (this month included). Something not yet due is not counted; something overdue and not yet done counts as late.".into(),
        chart: charts::bars(
            "levels",
            "Per cent on time, by service level, over the last 12 months",
            &["On time"],
            &whole
                .iter()
                .zip(names.iter())
                .map(|(l, n)| ((*n).to_owned(), vec![l.percent().unwrap_or(0)]))
                .collect::<Vec<_>>(),
            &|v| format!("{v}%"),
        ),
        table: Table {
            caption: "Service levels over the last 12 months".into(),
            head: vec![
                "Service level".into(),
                "On time".into(),
                "Late".into(),
                "Per cent on time".into(),
            ],
            rows: whole
                .iter()
                .zip(names.iter())
                .map(|(l, n)| {
                    (
                        (*n).to_owned(),
                        vec![
                            count(l.on_time),
                            count(l.late),
                            l.percent()
                                .map_or_else(|| "Nothing due".into(), |pc| format!("{pc}%")),
                        ],
                    )
                })
                .collect(),
        },
        note: "Deadlines come from each panel's rules and the working-day calendar: referrals by the submission deadline, papers by the circulation day, letters and minutes within their working days of the meeting, absent agencies by the day their recommendation gave.".into(),
    };
    let by_month = Block {
        id: "months",
        heading: "Month by month".into(),
        lede: "Per cent on time for the meetings held in each month.".into(),
        chart: charts::lines(
            "monthly",
            "Per cent on time by month, one line per service level",
            &levels
                .iter()
                .map(|m| month_short(m.month))
                .collect::<Vec<_>>(),
            &names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    (
                        (*n).to_owned(),
                        levels.iter().map(|m| m.levels[i].percent()).collect(),
                    )
                })
                .collect::<Vec<_>>(),
            &|v| format!("{v}%"),
        ),
        table: Table {
            caption: "Service levels by month of the meeting".into(),
            head: std::iter::once("Month".to_owned())
                .chain(names.iter().map(|n| (*n).to_owned()))
                .collect(),
            rows: levels
                .iter()
                .map(|m| {
                    (
                        month_label(m.month),
                        m.levels.iter().map(level_cell).collect(),
                    )
                })
                .collect(),
        },
        note: "A month with nothing due shows 0 on the chart and “Nothing due” in the table."
            .into(),
    };
    let fields = vec![panel_field(&chosen, &errors)];
    Ok(render(
        &p,
        "Service levels",
        "/dashboards/service-levels",
        "How often the panel's work is done by the deadlines its terms of reference set.",
        fields,
        vec![summary, by_month],
        errors,
    ))
}

/// Reads the number of financial years to show (3, 5 or 10; 5 by default).
fn years_shown(raw: &str, e: &mut Errors) -> u32 {
    match raw.trim() {
        "" => 5,
        "3" => 3,
        "5" => 5,
        "10" => 10,
        _ => {
            e.add("years", "Select 3, 5 or 10 years");
            5
        }
    }
}

fn years_field(raw: &str, e: &Errors) -> Field {
    let mut f = Field::select(
        "years",
        "Years",
        if raw.trim().is_empty() {
            "5"
        } else {
            raw.trim()
        },
        vec![
            ("3".into(), "The last 3 financial years".into()),
            ("5".into(), "The last 5 financial years".into()),
            ("10".into(), "The last 10 financial years".into()),
        ],
    );
    f.error = e.get("years").map(str::to_owned);
    f
}

async fn spend(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<Params>,
) -> Result<Response, AppError> {
    let today = crate::referrals::today();
    let this = crate::finance::this_year();
    let principal = p.clone();
    let raw_years = q.years.clone();
    let (chosen, years, lines, errors) = state
        .db(move |c| {
            let mut e = Errors::default();
            let (panels, all) = panels_in_scope(c, &principal)?;
            let chosen = choose(panels, all, &q.panel, &mut e);
            let n = i32::try_from(years_shown(&q.years, &mut e)).unwrap_or(5);
            // The years shown end with next year (agreements commit ahead).
            let years: Vec<i32> = (this + 2 - n..=this + 1).collect();
            let mut lines = Vec::new();
            for y in &years {
                for l in jp_store::finance::year_lines(c, *y, (today.year(), today.month()))? {
                    if chosen.only.as_ref().is_none_or(|o| o.contains(&l.panel_id)) {
                        lines.push((*y, l));
                    }
                }
            }
            Ok((chosen, years, lines, e))
        })
        .await?;
    // Per organisation and year, across the chosen panels.
    let mut orgs: Vec<String> = lines.iter().map(|(_, l)| l.organisation.clone()).collect();
    orgs.sort();
    orgs.dedup();
    let mut rows: Vec<(String, Vec<i64>)> = Vec::new();
    let mut table: Vec<(String, Vec<String>)> = Vec::new();
    for o in &orgs {
        for y in &years {
            let mine = lines
                .iter()
                .filter(|(yy, l)| yy == y && &l.organisation == o);
            let (mut budget, mut committed, mut actual, mut budgeted) = (0, 0, 0, false);
            for (_, l) in mine {
                budget += l.budget.unwrap_or(0);
                budgeted |= l.budget.is_some();
                committed += l.committed;
                actual += l.actual;
            }
            let label = format!("{o}, {}", crate::finance::year_label(*y));
            rows.push((label.clone(), vec![budget, committed, actual]));
            table.push((
                label,
                vec![
                    if budgeted {
                        money(budget)
                    } else {
                        "Not set".into()
                    },
                    money(committed),
                    money(actual),
                    if budgeted {
                        let left = budget - committed;
                        if left < 0 {
                            format!("Over by {}", money(-left))
                        } else {
                            money(left)
                        }
                    } else {
                        String::new()
                    },
                ],
            ));
        }
    }
    let block = Block {
        id: "spend",
        heading: "By organisation and financial year".into(),
        lede: "Each organisation's budget against what its funding agreements commit in the year and what has been paid. Next year shows what is already committed ahead.".into(),
        chart: charts::bars(
            "spend",
            "Budget, committed and paid by organisation and financial year",
            &["Budget", "Committed", "Paid"],
            &rows,
            &money,
        ),
        table: Table {
            caption: "Spend against budget, by organisation and financial year".into(),
            head: vec![
                "Organisation and year".into(),
                "Budget".into(),
                "Committed".into(),
                "Paid".into(),
                "Budget less committed".into(),
            ],
            rows: table,
        },
        note: "The finance page has each year by panel, with pending agreements and the forecast to the year's end.".into(),
    };
    let fields = vec![
        panel_field(&chosen, &errors),
        years_field(&raw_years, &errors),
    ];
    Ok(render(
        &p,
        "Spend against budget",
        "/dashboards/spend",
        "What the council and the NHS have jointly committed, year by year.",
        fields,
        vec![block],
        errors,
    ))
}

fn per_year(rows: &[(String, Vec<i64>)]) -> Vec<(String, Vec<String>)> {
    rows.iter()
        .map(|(l, v)| {
            let mut cells: Vec<String> = v.iter().copied().map(count).collect();
            cells.push(count(v.iter().sum()));
            (l.clone(), cells)
        })
        .collect()
}

async fn needs(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<Params>,
) -> Result<Response, AppError> {
    let this = crate::finance::this_year();
    let principal = p.clone();
    let raw_years = q.years.clone();
    let (chosen, pic, errors) = state
        .db(move |c| {
            let mut e = Errors::default();
            let (panels, all) = panels_in_scope(c, &principal)?;
            let chosen = choose(panels, all, &q.panel, &mut e);
            let n = i32::try_from(years_shown(&q.years, &mut e)).unwrap_or(5);
            let years: Vec<i32> = (this + 1 - n..=this).collect();
            let pic = dashboards::needs_picture(c, chosen.only.as_deref(), &years)?;
            Ok((chosen, pic, e))
        })
        .await?;
    let labels: Vec<String> = pic
        .years
        .iter()
        .map(|y| crate::finance::year_label(*y))
        .collect();
    let head = |first: &str| -> Vec<String> {
        std::iter::once(first.to_owned())
            .chain(labels.iter().cloned())
            .chain(std::iter::once("All years".to_owned()))
            .collect()
    };
    let need_rows: Vec<(String, Vec<i64>)> = pic
        .by_need
        .iter()
        .map(|(k, v)| {
            let label = NEEDS
                .iter()
                .find(|(s, _)| s == k)
                .map_or(k.as_str(), |(_, l)| *l);
            (label.to_owned(), v.clone())
        })
        .collect();
    let totals = |rows: &[(String, Vec<i64>)]| -> Vec<(String, Vec<i64>)> {
        rows.iter()
            .map(|(l, v)| (l.clone(), vec![v.iter().sum()]))
            .collect()
    };
    let mut need_table = per_year(&need_rows);
    need_table.insert(
        0,
        ("Referrals".into(), {
            let mut v: Vec<String> = pic.referrals.iter().copied().map(count).collect();
            v.push(count(pic.referrals.iter().sum()));
            v
        }),
    );
    let span = format!(
        "{} to {}",
        labels.first().cloned().unwrap_or_default(),
        labels.last().cloned().unwrap_or_default()
    );
    let blocks = vec![
        Block {
            id: "needs",
            heading: "Needs identified, over time".into(),
            lede: format!("Referrals submitted each financial year ({span}), counted under each need the referrer identified — a referral with three needs counts under all three."),
            chart: charts::lines(
                "needs-over-time",
                "Referrals by need identified, per financial year",
                &labels,
                &need_rows
                    .iter()
                    .map(|(l, v)| (l.clone(), v.iter().copied().map(Some).collect()))
                    .collect::<Vec<_>>(),
                &count,
            ),
            table: Table {
                caption: "Referrals by need identified, per financial year".into(),
                head: head("Need"),
                rows: need_table,
            },
            note: String::new(),
        },
        Block {
            id: "ages",
            heading: "Age at referral".into(),
            lede: "The child's age on the day the referral was submitted. From 14, the panel plans the move to adult services (preparing for adulthood).".into(),
            chart: charts::bars(
                "ages",
                &format!("Referrals by the child's age band, {span}"),
                &["Referrals"],
                &totals(&pic.by_age),
                &count,
            ),
            table: Table {
                caption: "Referrals by age band, per financial year".into(),
                head: head("Age band"),
                rows: per_year(&pic.by_age),
            },
            note: String::new(),
        },
        Block {
            id: "outcomes",
            heading: "Outcomes".into(),
            lede: "The outcome of the decision in force on each referral.".into(),
            chart: charts::bars(
                "outcomes",
                &format!("Referrals by outcome, {span}"),
                &["Referrals"],
                &totals(&pic.by_outcome),
                &count,
            ),
            table: Table {
                caption: "Referrals by outcome, per financial year".into(),
                head: head("Outcome"),
                rows: per_year(&pic.by_outcome),
            },
            note: String::new(),
        },
        Block {
            id: "agencies",
            heading: "Referring agencies".into(),
            lede: "The agency of the practitioner who made the referral.".into(),
            chart: charts::bars(
                "agencies",
                &format!("Referrals by referring agency, {span}"),
                &["Referrals"],
                &totals(&pic.by_agency),
                &count,
            ),
            table: Table {
                caption: "Referrals by referring agency, per financial year".into(),
                head: head("Agency"),
                rows: per_year(&pic.by_agency),
            },
            note: String::new(),
        },
    ];
    let fields = vec![
        panel_field(&chosen, &errors),
        years_field(&raw_years, &errors),
    ];
    Ok(render(
        &p,
        "The needs picture",
        "/dashboards/needs",
        "Who the panel is asked to help, and with what, for commissioners' strategic planning.",
        fields,
        blocks,
        errors,
    ))
}
