//! The working-day calendar over the API (SPEC §2, §11): shifting a date by
//! working days, a meeting's deadlines, a year's bank holidays, and loading
//! an official list (administrators).

use super::{ApiResult, field_problem};
use crate::auth::Principal;
use crate::error::{ApiError, AppError};
use crate::routes::Routes;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::{Extension, Json};
use chrono::NaiveDate;
use jp_domain::calendar::{self, Deadlines, Holiday};
use jp_domain::{PanelRules, Region};
use jp_store::calendar as stored;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub fn routes() -> Routes {
    Routes::default()
        .get("/api/v1/calendar/shift", shift)
        .get("/api/v1/calendar/deadlines", deadlines)
        .get("/api/v1/calendar/holidays", holidays)
        .post("/api/v1/calendar/lists", load)
}

fn date_param(field: &str, raw: Option<&str>) -> Result<NaiveDate, ApiError> {
    let raw = raw.unwrap_or("").trim();
    if raw.is_empty() {
        return Err(field_problem(
            field,
            format!("Give {field} as a date like 2027-03-09"),
        ));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| field_problem(field, format!("“{raw}” is not a date like 2027-03-09")))
}

fn region_param(raw: Option<&str>) -> Result<Region, ApiError> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(Region::EnglandAndWales),
        Some(r) => Region::parse(r).ok_or_else(|| {
            field_problem(
                "region",
                "Give region as england-and-wales, scotland or northern-ireland",
            )
        }),
    }
}

#[derive(Deserialize)]
pub struct ShiftQuery {
    date: Option<String>,
    n: Option<String>,
    region: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ShiftOut {
    pub date: NaiveDate,
    pub n: i32,
    pub region: String,
    /// The date `n` working days after `date` (before, when `n` is negative)
    pub result: NaiveDate,
}

#[utoipa::path(get, path = "/api/v1/calendar/shift", tag = "calendar",
    params(("date" = String, Query, description = "2027-03-09"), ("n" = i32, Query, description = "working days; negative moves back"),
           ("region" = Option<String>, Query, description = "england-and-wales (default), scotland or northern-ireland")),
    responses((status = 200, body = ShiftOut), (status = 422, body = crate::error::Problem)))]
pub async fn shift(
    State(state): State<AppState>,
    Query(q): Query<ShiftQuery>,
) -> ApiResult<ShiftOut> {
    let date = date_param("date", q.date.as_deref())?;
    let n: i32 =
        q.n.as_deref()
            .unwrap_or("")
            .trim()
            .parse()
            .ok()
            .filter(|n: &i32| n.unsigned_abs() <= 2_500)
            .ok_or_else(|| {
                field_problem(
                    "n",
                    "Give n as a whole number of working days between -2500 and 2500",
                )
            })?;
    let region = region_param(q.region.as_deref())?;
    let cal = state
        .db(move |c| Ok(stored::for_region(c, region)?))
        .await?;
    Ok(Json(ShiftOut {
        date,
        n,
        region: region.slug().to_owned(),
        result: cal.shift(date, n),
    }))
}

#[derive(Deserialize)]
pub struct DeadlinesQuery {
    meeting: Option<String>,
    panel: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DeadlinesOut {
    pub meeting: NaiveDate,
    pub panel: Option<String>,
    pub region: String,
    pub submission_deadline: NaiveDate,
    pub papers_due: NaiveDate,
    pub letter_due: NaiveDate,
    pub minutes_due: NaiveDate,
    pub absent_agency_response_due: NaiveDate,
}

#[utoipa::path(get, path = "/api/v1/calendar/deadlines", tag = "calendar",
    params(("meeting" = String, Query, description = "the meeting's date, 2027-03-09"), ("panel" = Option<String>, Query, description = "the panel's slug; default: the seed's Joint Funding Panel rules")),
    responses((status = 200, body = DeadlinesOut), (status = 422, body = crate::error::Problem)))]
pub async fn deadlines(
    State(state): State<AppState>,
    Query(q): Query<DeadlinesQuery>,
) -> ApiResult<DeadlinesOut> {
    let meeting = date_param("meeting", q.meeting.as_deref())?;
    let slug = q.panel.filter(|p| !p.trim().is_empty());
    let slug2 = slug.clone();
    let found = state
        .db(move |c| {
            let rules = match &slug2 {
                Some(s) => match jp_store::reference::panels::by_slug(c, s)? {
                    Some(p) => p.rules,
                    None => return Ok(None),
                },
                None => PanelRules::joint_funding_default(),
            };
            let cal = stored::for_region(c, rules.region)?;
            Ok(Some((
                Deadlines::for_meeting(&cal, &rules, meeting),
                rules.region,
            )))
        })
        .await?;
    let Some((d, region)) = found else {
        return Err(field_problem(
            "panel",
            "There is no panel with that slug: see /api/v1/panels",
        ));
    };
    Ok(Json(DeadlinesOut {
        meeting,
        panel: slug,
        region: region.slug().to_owned(),
        submission_deadline: d.submission_deadline,
        papers_due: d.papers_due,
        letter_due: d.letter_due,
        minutes_due: d.minutes_due,
        absent_agency_response_due: d.absent_agency_response_due,
    }))
}

#[derive(Deserialize)]
pub struct HolidaysQuery {
    year: Option<String>,
    region: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DayOut {
    pub date: NaiveDate,
    pub title: String,
}

#[derive(Serialize, ToSchema)]
pub struct HolidaysOut {
    pub region: String,
    pub year: i32,
    /// "rules" or "official list"
    pub source: String,
    pub bank_holidays: Vec<DayOut>,
    pub closures: Vec<DayOut>,
}

#[utoipa::path(get, path = "/api/v1/calendar/holidays", tag = "calendar",
    params(("year" = i32, Query), ("region" = Option<String>, Query)),
    responses((status = 200, body = HolidaysOut), (status = 422, body = crate::error::Problem)))]
pub async fn holidays(
    State(state): State<AppState>,
    Query(q): Query<HolidaysQuery>,
) -> ApiResult<HolidaysOut> {
    let year: i32 = q
        .year
        .as_deref()
        .unwrap_or("")
        .trim()
        .parse()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .ok_or_else(|| field_problem("year", "Give year as a year from 2000 to 2100"))?;
    let region = region_param(q.region.as_deref())?;
    let (cal, closures) = state
        .db(move |c| Ok((stored::for_region(c, region)?, stored::closures(c)?)))
        .await?;
    Ok(Json(HolidaysOut {
        region: region.slug().to_owned(),
        year,
        source: if cal.official_years().contains(&year) {
            "official list".into()
        } else {
            "rules".into()
        },
        bank_holidays: cal
            .bank_holidays(year)
            .into_iter()
            .map(|h| DayOut {
                date: h.date,
                title: h.title,
            })
            .collect(),
        closures: closures
            .into_iter()
            .filter(|c| chrono::Datelike::year(&c.date) == year)
            .map(|c| DayOut {
                date: c.date,
                title: c.reason,
            })
            .collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct LoadedOut {
    /// Region slug → years loaded
    pub loaded: BTreeMap<String, Vec<i32>>,
}

/// Parses a list and loads each region's days in one transaction.
pub async fn load_lists(
    state: &AppState,
    p: &Principal,
    lists: BTreeMap<Region, Vec<Holiday>>,
    source: String,
) -> Result<BTreeMap<String, Vec<i32>>, AppError> {
    let actor = p.actor();
    state
        .db(move |c| {
            let mut tx = c.begin()?;
            let mut out = BTreeMap::new();
            for (region, days) in &lists {
                match stored::load_list(&mut tx, &actor, *region, days, &source) {
                    Ok(years) => {
                        out.insert(region.slug().to_owned(), years);
                    }
                    Err(jp_store::ChangeError::Invalid(m)) => {
                        return Err(AppError::Unprocessable(m));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            tx.commit()?;
            Ok(out)
        })
        .await
}

#[utoipa::path(post, path = "/api/v1/calendar/lists", tag = "calendar",
    request_body(content = String, description = "The JSON GOV.UK publishes at https://www.gov.uk/bank-holidays.json. Each region's list replaces the rule-based days of every year it covers.", content_type = "application/json"),
    responses((status = 200, body = LoadedOut), (status = 422, body = crate::error::Problem)))]
pub async fn load(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    crate::forms::ApiJson(body): crate::forms::ApiJson<serde_json::Value>,
) -> ApiResult<LoadedOut> {
    let lists =
        calendar::parse_govuk_json(&body.to_string()).map_err(|m| field_problem("body", m))?;
    let loaded = load_lists(&state, &p, lists, "API upload (GOV.UK JSON)".into()).await?;
    Ok(Json(LoadedOut { loaded }))
}
