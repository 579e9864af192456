//! The working-day calendar page (SPEC §2): each region's bank holidays for a
//! year and where they come from, loading an official list without a release,
//! and the installation's closure days. Every change is audited.

use crate::api::calendar::load_lists;
use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::{Errors, Form};
use crate::pages::{PageCtx, date, render_checked};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use jp_domain::Region;
use jp_domain::calendar::{self, Holiday};
use jp_store::ChangeError;
use jp_store::calendar as stored;
use serde::Deserialize;
use std::collections::BTreeMap;

pub fn routes() -> Routes {
    Routes::default()
        .get("/admin/calendar", page)
        .post("/admin/calendar/lists", upload)
        .post("/admin/calendar/lists/remove", unload)
        .post("/admin/calendar/closures", add_closure)
        .post("/admin/calendar/closures/remove", remove_closure)
}

/// Largest list file accepted: GOV.UK's whole file is about 20 KB.
const MAX_LIST_BYTES: usize = 512 * 1024;

#[derive(Deserialize, Default)]
pub struct View {
    year: Option<String>,
    saved: Option<String>,
}

pub struct YearView {
    pub region: &'static str,
    pub source: &'static str,
    pub days: Vec<(String, String)>,
}

pub struct ListRow {
    pub region: &'static str,
    pub region_slug: &'static str,
    pub year: i32,
    pub days: i64,
    pub source: String,
    pub loaded: String,
}

pub struct ClosureRow {
    pub id: i64,
    pub date: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "admin/calendar.html")]
struct CalendarPage {
    page: PageCtx,
    errors: Errors,
    year: i32,
    years: Vec<i32>,
    regions: Vec<YearView>,
    lists: Vec<ListRow>,
    closures: Vec<ClosureRow>,
    region_options: Vec<(&'static str, &'static str)>,
    closure_form: (String, String, String, String),
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

async fn respond(
    state: &AppState,
    p: &Principal,
    year: i32,
    errors: Errors,
    flash: Option<String>,
    closure_form: (String, String, String, String),
) -> Result<Response, AppError> {
    let (cals, lists, closures) = state
        .db(|c| {
            let mut cals = Vec::new();
            for r in Region::ALL {
                cals.push(stored::for_region(c, r)?);
            }
            Ok((cals, stored::loaded_lists(c)?, stored::closures(c)?))
        })
        .await?;
    let regions = cals
        .iter()
        .map(|cal| YearView {
            region: cal.region().label(),
            source: if cal.official_years().contains(&year) {
                "From the loaded official list"
            } else {
                "Worked out by rule"
            },
            days: cal
                .bank_holidays(year)
                .into_iter()
                .map(|h| (date(h.date), h.title))
                .collect(),
        })
        .collect();
    let mut page = PageCtx::new(p, "Working-day calendar", "/admin/calendar").with_errors(&errors);
    page.flash = flash;
    let this_year = today().year();
    let view = CalendarPage {
        page,
        errors,
        year,
        years: (this_year - 1..=this_year + 3).collect(),
        regions,
        lists: lists
            .into_iter()
            .map(|l| ListRow {
                region: l.region.label(),
                region_slug: l.region.slug(),
                year: l.year,
                days: l.days,
                source: l.source,
                loaded: format!(
                    "{}{}",
                    crate::pages::date_time(l.loaded_at),
                    l.loaded_by.map(|n| format!(" by {n}")).unwrap_or_default()
                ),
            })
            .collect(),
        closures: closures
            .into_iter()
            .map(|c| ClosureRow {
                id: c.id,
                date: date(c.date),
                reason: c.reason,
            })
            .collect(),
        region_options: Region::ALL.iter().map(|r| (r.slug(), r.label())).collect(),
        closure_form,
    };
    Ok(render_checked(&view, &view.errors))
}

fn banner(saved: Option<&str>) -> Option<String> {
    match saved? {
        "loaded" => Some("The official list was loaded: its years now follow it".into()),
        "unloaded" => Some("The loaded list was removed: that year follows the rules again".into()),
        "closure-added" => Some("Closure day added".into()),
        "closure-removed" => Some("Closure day removed".into()),
        _ => None,
    }
}

async fn page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(v): Query<View>,
) -> Result<Response, AppError> {
    let mut errors = Errors::default();
    let year = match v.year.as_deref().map(str::trim).filter(|y| !y.is_empty()) {
        None => today().year(),
        Some(y) => match y.parse::<i32>() {
            Ok(y) if (2000..=2100).contains(&y) => y,
            _ => {
                errors.add("year", "Enter a year from 2000 to 2100");
                today().year()
            }
        },
    };
    respond(
        &state,
        &p,
        year,
        errors,
        banner(v.saved.as_deref()),
        Default::default(),
    )
    .await
}

/// The upload form: a GOV.UK JSON file or a CSV, and the region a plain
/// date,title CSV is for. Read whole (it is small), then checked.
async fn upload(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    crate::forms::Upload {
        parts: mut multipart,
        token,
    }: crate::forms::Upload,
) -> Result<Response, AppError> {
    let mut csrf_ok = false;
    let mut region = Region::EnglandAndWales;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut errors = Errors::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return Err(AppError::BadRequest(
                    "The upload was interrupted or too large; the list must be under 512 KB".into(),
                ));
            }
        };
        match field.name() {
            Some("_csrf") => csrf_ok = crate::forms::Upload::token_part(field, &token).await,
            Some("region") => {
                let raw = field.text().await.unwrap_or_default();
                match Region::parse(&raw) {
                    Some(r) => region = r,
                    None => errors.add("region", "Select the region the list is for"),
                }
            }
            Some("list") => {
                let name = field.file_name().unwrap_or("").to_owned();
                let mut field = field;
                let mut bytes = Vec::new();
                while let Ok(Some(chunk)) = field.chunk().await {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > MAX_LIST_BYTES {
                        errors.add("list", "The file is larger than 512 KB: a bank holiday list is far smaller. Check you chose the right file");
                        bytes.clear();
                        break;
                    }
                }
                if !name.is_empty() {
                    file = Some((name, bytes));
                }
            }
            _ => {}
        }
    }
    if !csrf_ok {
        return Err(AppError::Csrf(
            "the form's security token is missing or wrong",
        ));
    }
    let year = today().year();
    if !errors.is_empty() {
        return respond(&state, &p, year, errors, None, Default::default()).await;
    }
    let Some((name, bytes)) = file else {
        errors.add(
            "list",
            "Select a bank holiday list: GOV.UK’s bank-holidays.json or a CSV",
        );
        return respond(&state, &p, year, errors, None, Default::default()).await;
    };
    let parsed: Result<BTreeMap<Region, Vec<Holiday>>, String> = match String::from_utf8(bytes) {
        Err(_) => Err("The file is not text: choose the JSON or CSV file".into()),
        Ok(text) if text.trim_start().starts_with('{') => calendar::parse_govuk_json(&text),
        Ok(text) => calendar::parse_csv(&text, region),
    };
    let lists = match parsed {
        Ok(l) => l,
        Err(m) => {
            errors.add("list", m);
            return respond(&state, &p, year, errors, None, Default::default()).await;
        }
    };
    let source = jp_domain::text::printable(&name, 200);
    match load_lists(&state, &p, lists, source).await {
        Ok(_) => Ok(Redirect::to("/admin/calendar?saved=loaded").into_response()),
        Err(AppError::Unprocessable(m)) => {
            errors.add("list", m);
            respond(&state, &p, year, errors, None, Default::default()).await
        }
        Err(e) => Err(e),
    }
}

async fn unload(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    form: Form,
) -> Result<Response, AppError> {
    let region = Region::parse(form.get("region")).ok_or(AppError::NotFound)?;
    let year: i32 = form
        .get("year")
        .trim()
        .parse()
        .map_err(|_| AppError::NotFound)?;
    let actor = p.actor();
    state
        .db(move |c| {
            let mut tx = c.begin()?;
            stored::unload_year(&mut tx, &actor, region, year).map_err(|e| match e {
                ChangeError::NotFound => AppError::NotFound,
                other => other.into(),
            })?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(Redirect::to("/admin/calendar?saved=unloaded").into_response())
}

async fn add_closure(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    form: Form,
) -> Result<Response, AppError> {
    let kept = (
        form.get("closure-day").to_owned(),
        form.get("closure-month").to_owned(),
        form.get("closure-year").to_owned(),
        form.get("reason").to_owned(),
    );
    let mut errors = Errors::default();
    let day = errors.take("closure", form.date("closure", "the closure day"));
    let reason = errors.take(
        "reason",
        jp_domain::text::required(&kept.3, "why the offices are closed", 200),
    );
    let (Some(day), Some(reason)) = (day, reason) else {
        return respond(&state, &p, today().year(), errors, None, kept).await;
    };
    let actor = p.actor();
    let outcome = state
        .db(move |c| {
            let mut tx = c.begin()?;
            match stored::add_closure(&mut tx, &actor, day, &reason) {
                Ok(_) => {
                    tx.commit()?;
                    Ok(Ok(()))
                }
                Err(ChangeError::Duplicate(m)) => Ok(Err(m)),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    match outcome {
        Ok(()) => Ok(Redirect::to("/admin/calendar?saved=closure-added").into_response()),
        Err(m) => {
            errors.add("closure", m);
            respond(&state, &p, today().year(), errors, None, kept).await
        }
    }
}

async fn remove_closure(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    form: Form,
) -> Result<Response, AppError> {
    let id = crate::admin::chosen_id(form.get("closure_id")).ok_or(AppError::NotFound)?;
    let actor = p.actor();
    state
        .db(move |c| {
            let mut tx = c.begin()?;
            stored::remove_closure(&mut tx, &actor, id).map_err(|e| match e {
                ChangeError::NotFound => AppError::NotFound,
                other => other.into(),
            })?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(Redirect::to("/admin/calendar?saved=closure-removed").into_response())
}
