//! Children and referrals over the API (SPEC §3): the same checks, moves and
//! access rules as the pages, for scripts and for integration with case
//! management systems.

use super::{ApiResult, invalid, unprocessable, with_fields};
use crate::auth::Principal;
use crate::error::{ApiError, AppError};
use crate::forms::{ApiJson, Errors, Form, Id};
use crate::referrals::actions::{self, Moved};
use crate::referrals::{Loaded, evidence, gaps, load, sections};
use crate::routes::Routes;
use crate::state::AppState;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{Datelike, NaiveDate};
use jp_domain::Role;
use jp_domain::lifecycle::Status;
use jp_domain::referral_form::{self, Kind, SectionKind};
use jp_store::ChangeError;
use jp_store::children::{self, Child};
use jp_store::referrals::{self, Referral, Sight};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub fn routes() -> Routes {
    Routes::default()
        .get("/api/v1/children", list_children)
        .post("/api/v1/children", create_child)
        .get("/api/v1/children/{id}", get_child)
        .get("/api/v1/referrals", list_referrals)
        .post("/api/v1/referrals", create_referral)
        .get("/api/v1/referrals/{id}", get_referral)
        .put("/api/v1/referrals/{id}/sections/{section}", save_section)
        .post("/api/v1/referrals/{id}/options", add_option)
        .post("/api/v1/referrals/{id}/options/{option_id}/lines", add_line)
        .put("/api/v1/referrals/{id}/recommended", recommend)
        .post_streamed("/api/v1/referrals/{id}/attachments", upload)
        .post("/api/v1/referrals/{id}/send", send)
        .post("/api/v1/referrals/{id}/approval", approval)
        .post("/api/v1/referrals/{id}/submit", submit)
}

#[derive(Serialize, ToSchema)]
pub struct ChildOut {
    pub id: i64,
    pub local_id: String,
    pub nhs_number: Option<String>,
    pub upn: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub parental_responsibility: String,
    pub language_needs: String,
    pub version: i64,
}

impl From<Child> for ChildOut {
    fn from(c: Child) -> Self {
        ChildOut {
            id: c.id,
            local_id: c.local_id,
            nhs_number: c.nhs_number,
            upn: c.upn,
            given_name: c.given_name,
            family_name: c.family_name,
            date_of_birth: c.date_of_birth,
            parental_responsibility: c.parental_responsibility,
            language_needs: c.language_needs,
            version: c.version,
        }
    }
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/children", tag = "children",
    params(("q" = Option<String>, Query, description = "name, local ID, NHS number or UPN")),
    responses((status = 200, description = "Up to 50 matches", body = Vec<ChildOut>)))]
pub async fn list_children(
    State(state): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Vec<ChildOut>> {
    let term = q.q.unwrap_or_default();
    let found = state
        .db(move |c| Ok(children::search(c, &term, 50)?))
        .await?;
    Ok(Json(found.into_iter().map(Into::into).collect()))
}

#[utoipa::path(get, path = "/api/v1/children/{id}", tag = "children", params(("id" = i64, Path)),
    responses((status = 200, body = ChildOut), (status = 404, body = crate::error::Problem)))]
pub async fn get_child(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> ApiResult<ChildOut> {
    let actor = p.actor();
    let child = state
        .db(move |c| {
            let child = children::get(c, id)?.ok_or(AppError::NotFound)?;
            children::record_view(c, &actor, id, "child record (API)")?;
            Ok(child)
        })
        .await?;
    Ok(Json(child.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChildIn {
    pub local_id: String,
    pub given_name: String,
    pub family_name: String,
    /// 2015-06-14
    pub date_of_birth: String,
    #[serde(default)]
    pub nhs_number: Option<String>,
    #[serde(default)]
    pub upn: Option<String>,
    pub parental_responsibility: String,
    pub language_needs: String,
    /// Set after a 409 naming possible duplicates, once you have checked this is a different child.
    #[serde(default)]
    pub confirm_different: bool,
}

fn date_pairs(key: &str, raw: &str) -> Vec<(String, String)> {
    match NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
        Ok(d) => vec![
            (format!("{key}-day"), d.day().to_string()),
            (format!("{key}-month"), d.month().to_string()),
            (format!("{key}-year"), d.year().to_string()),
        ],
        // Not a date: passed on so the form's checks name the field.
        Err(_) => vec![(format!("{key}-day"), raw.to_owned())],
    }
}

#[utoipa::path(post, path = "/api/v1/children", tag = "children", request_body = ChildIn,
    responses((status = 201, body = ChildOut), (status = 409, description = "possible duplicates, or the local ID is taken", body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create_child(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiJson(i): ApiJson<ChildIn>,
) -> Result<(StatusCode, Json<ChildOut>), ApiError> {
    let mut pairs = vec![
        ("local_id".to_owned(), i.local_id),
        ("given_name".to_owned(), i.given_name),
        ("family_name".to_owned(), i.family_name),
        ("nhs_number".to_owned(), i.nhs_number.unwrap_or_default()),
        ("upn".to_owned(), i.upn.unwrap_or_default()),
        (
            "parental_responsibility".to_owned(),
            i.parental_responsibility,
        ),
        ("language_needs".to_owned(), i.language_needs),
    ];
    pairs.extend(date_pairs("date_of_birth", &i.date_of_birth));
    let f = crate::children::parse(&Form::from_pairs(pairs)).map_err(|e| invalid(&e))?;
    if !i.confirm_different {
        let f2 = f.clone();
        let dups = state
            .db(move |c| Ok(children::possible_duplicates(c, &f2, None)?))
            .await?;
        if !dups.is_empty() {
            let ids: Vec<String> = dups
                .iter()
                .map(|d| format!("child {} ({})", d.child.id, d.reason))
                .collect();
            return Err(with_fields(
                AppError::Conflict(format!(
                    "This may be a child already on the register: {}. Use their record, or send confirm_different: true",
                    ids.join("; ")
                )),
                vec![],
            ));
        }
    }
    let actor = p.actor();
    let child = state
        .db(move |c| {
            let mut tx = c.begin()?;
            let id = children::create(&mut tx, &actor, &f).map_err(|e| match e {
                ChangeError::Duplicate(m) => AppError::Conflict(m),
                other => other.into(),
            })?;
            tx.commit()?;
            children::get(c, id)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(child.into())))
}

#[derive(Serialize, ToSchema)]
pub struct ReferralSummary {
    pub id: i64,
    pub child_id: i64,
    pub child_local_id: String,
    pub panel_id: i64,
    pub panel: String,
    /// draft, awaiting-approval, returned, approved, submitted, booked, …
    pub status: String,
    pub referrer: String,
    pub meeting_date: Option<NaiveDate>,
    pub late: bool,
    pub version: i64,
}

impl From<&Referral> for ReferralSummary {
    fn from(r: &Referral) -> Self {
        ReferralSummary {
            id: r.id,
            child_id: r.child_id,
            child_local_id: r.child_local_id.clone(),
            panel_id: r.panel_id,
            panel: r.panel_name.clone(),
            status: r.status.slug().to_owned(),
            referrer: r.referrer_name.clone(),
            meeting_date: r.meeting_date,
            late: r.late,
            version: r.version,
        }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/referrals", tag = "referrals",
    params(("status" = Option<String>, Query)),
    responses((status = 200, description = "The referrals you may see, newest first (at most 200)", body = Vec<ReferralSummary>), (status = 422, body = crate::error::Problem)))]
pub async fn list_referrals(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Vec<ReferralSummary>> {
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            unprocessable(vec![("status".into(), "Give status as one of draft, awaiting-approval, returned, approved, submitted, booked, considered, decided, agreement-active, under-review, closed".into())])
        })?),
    };
    let user = p.user.clone();
    let rows = state
        .db(move |c| Ok(referrals::visible(c, &user, status, 200)?))
        .await?;
    Ok(Json(rows.iter().map(|(r, _)| r.into()).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralIn {
    pub child_id: i64,
    pub panel_id: i64,
}

#[utoipa::path(post, path = "/api/v1/referrals", tag = "referrals", request_body = ReferralIn,
    responses((status = 201, body = ReferralSummary), (status = 422, body = crate::error::Problem)))]
pub async fn create_referral(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiJson(i): ApiJson<ReferralIn>,
) -> Result<(StatusCode, Json<ReferralSummary>), ApiError> {
    let user = p.user.clone();
    let actor = p.actor();
    let r = state
        .db(move |c| {
            if children::get(c, i.child_id)?.is_none() {
                return Ok(Err((
                    "child_id",
                    "There is no child with that id on the register",
                )));
            }
            if jp_store::reference::panels::get(c, i.panel_id)?.is_none() {
                return Ok(Err((
                    "panel_id",
                    "There is no panel with that id: see /api/v1/panels",
                )));
            }
            let mut tx = c.begin()?;
            let id = referrals::create(&mut tx, &actor, &user, i.child_id, i.panel_id)?;
            tx.commit()?;
            Ok(Ok(referrals::get(c, id)?.ok_or(AppError::NotFound)?))
        })
        .await?
        .map_err(|(f, m)| unprocessable(vec![(f.into(), m.into())]))?;
    Ok((StatusCode::CREATED, Json((&r).into())))
}

#[derive(Serialize, ToSchema)]
pub struct SectionOut {
    pub complete: bool,
    pub version: i64,
    /// question key → answers (dates as 2027-03-09)
    pub answers: BTreeMap<String, Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct LineOut {
    pub id: i64,
    pub item: String,
    pub unit_cost_pence: i64,
    /// one-off, per-hour, per-day, per-week, per-month, per-year
    pub unit: String,
    /// hundredths: 250 is 2.5
    pub quantity_hundredths: i64,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub weekly_pence: i64,
    pub annual_pence: i64,
    pub term_pence: i64,
}

#[derive(Serialize, ToSchema)]
pub struct OptionOut {
    pub id: i64,
    pub provider: String,
    pub description: String,
    pub recommended: bool,
    pub lines: Vec<LineOut>,
    pub weekly_pence: i64,
    pub annual_pence: i64,
    pub term_pence: i64,
}

#[derive(Serialize, ToSchema)]
pub struct AttachmentOut {
    pub id: i64,
    pub file_name: String,
    pub size_bytes: i64,
    /// /attachments/{id}
    pub href: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReferralOut {
    #[serde(flatten)]
    pub summary: ReferralSummary,
    /// Empty for readers who see the money only (finance)
    pub sections: BTreeMap<String, SectionOut>,
    pub options: Vec<OptionOut>,
    pub attachments: Vec<AttachmentOut>,
    /// What must be done before it can be sent for approval
    pub missing: Vec<String>,
}

fn referral_out(l: &Loaded) -> ReferralOut {
    ReferralOut {
        summary: (&l.r).into(),
        sections: l
            .sections
            .iter()
            .map(|(k, s)| {
                (
                    k.clone(),
                    SectionOut {
                        complete: s.complete,
                        version: s.version,
                        answers: s.answers.clone(),
                    },
                )
            })
            .collect(),
        options: l
            .options
            .iter()
            .map(|o| {
                let lines: Vec<_> = o.lines.iter().map(|s| s.line.clone()).collect();
                let t = jp_domain::costs::option_totals(&lines);
                OptionOut {
                    id: o.id,
                    provider: o.provider.clone(),
                    description: o.description.clone(),
                    recommended: l.r.recommended_option_id == Some(o.id),
                    lines: o
                        .lines
                        .iter()
                        .map(|s| {
                            let lt = s.line.totals();
                            LineOut {
                                id: s.id,
                                item: s.line.item.clone(),
                                unit_cost_pence: s.line.unit_cost.0,
                                unit: s.line.unit.slug().to_owned(),
                                quantity_hundredths: s.line.quantity.0,
                                start: s.line.start,
                                end: s.line.end,
                                weekly_pence: lt.weekly.0,
                                annual_pence: lt.annual.0,
                                term_pence: lt.term.0,
                            }
                        })
                        .collect(),
                    weekly_pence: t.weekly.0,
                    annual_pence: t.annual.0,
                    term_pence: t.term.0,
                }
            })
            .collect(),
        attachments: l
            .attachments
            .iter()
            .map(|a| AttachmentOut {
                id: a.id,
                file_name: a.file_name.clone(),
                size_bytes: a.size_bytes,
                href: format!("/attachments/{}", a.id),
            })
            .collect(),
        missing: if l.sight == Sight::Full && l.r.status.editable() {
            gaps(l).into_iter().map(|(_, m)| m).collect()
        } else {
            Vec::new()
        },
    }
}

async fn reply(state: &AppState, p: &Principal, id: i64) -> ApiResult<ReferralOut> {
    let l = load(state, p, id, Sight::Money).await?;
    Ok(Json(referral_out(&l)))
}

#[utoipa::path(get, path = "/api/v1/referrals/{id}", tag = "referrals", params(("id" = i64, Path)),
    responses((status = 200, body = ReferralOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn get_referral(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> ApiResult<ReferralOut> {
    reply(&state, &p, id).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionIn {
    /// The section's version you read (0 for a section never saved)
    pub version: i64,
    /// Save as a draft: missing answers allowed
    #[serde(default)]
    pub draft: bool,
    /// question key → answers; dates as 2027-03-09; checkboxes as several values
    pub answers: BTreeMap<String, Vec<String>>,
}

#[utoipa::path(put, path = "/api/v1/referrals/{id}/sections/{section}", tag = "referrals",
    params(("id" = i64, Path), ("section" = String, Path, description = "referrer, family, assessments, needs, alternatives, outcomes, views, request or context")),
    request_body = SectionIn,
    responses((status = 200, body = ReferralOut), (status = 409, description = "saved by someone else since you read it, or not editable now", body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn save_section(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path((raw_id, key)): Path<(String, String)>,
    ApiJson(i): ApiJson<SectionIn>,
) -> ApiResult<ReferralOut> {
    let id: i64 = raw_id.parse().map_err(|_| AppError::NotFound)?;
    let s = referral_form::section(&key)
        .filter(|s| s.kind == SectionKind::Questions)
        .ok_or(AppError::NotFound)?;
    let l = sections::load_editable(&state, &p, id).await?;
    let mut pairs = Vec::new();
    for (k, values) in &i.answers {
        let Some(q) = s.questions.iter().find(|q| q.key == k) else {
            return Err(unprocessable(vec![(
                k.clone(),
                format!("“{k}” is not a question of the section {}", s.key),
            )]));
        };
        for v in values {
            match q.kind {
                Kind::Date => pairs.extend(date_pairs(k, v)),
                _ => pairs.push((k.clone(), v.clone())),
            }
        }
    }
    let (answers, problems) = referral_form::read(s, &pairs, &l.context(), !i.draft);
    if !problems.is_empty() {
        return Err(unprocessable(
            problems.into_iter().map(|p| (p.key, p.message)).collect(),
        ));
    }
    let actor = p.actor();
    let skey = s.key;
    state
        .db(move |c| {
            let mut tx = c.begin()?;
            referrals::save_section(&mut tx, &actor, id, skey, i.version, &answers, !i.draft).map_err(|e| match e {
                ChangeError::Conflict { current } => AppError::Conflict(format!(
                    "Someone saved this section since you read it: it is now at version {current}. Fetch the referral, merge your answers and save again."
                )),
                other => other.into(),
            })?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    reply(&state, &p, id).await
}

/// Runs a change to the options in one transaction, after checking the referral may be edited.
async fn option_change<T, F>(
    state: &AppState,
    p: &Principal,
    id: i64,
    field: &'static str,
    f: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut jp_store::db::Tx<'_>, &jp_store::Actor) -> Result<T, ChangeError>
        + Send
        + 'static,
{
    sections::load_editable(state, p, id).await?;
    let actor = p.actor();
    state
        .db(move |c| {
            let mut tx = c.begin()?;
            match f(&mut tx, &actor) {
                Ok(v) => {
                    tx.commit()?;
                    Ok(Ok(v))
                }
                Err(ChangeError::Invalid(m) | ChangeError::Duplicate(m)) => Ok(Err(m)),
                Err(ChangeError::NotFound) => Err(AppError::NotFound),
                Err(e) => Err(e.into()),
            }
        })
        .await?
        .map_err(|m| unprocessable(vec![(field.into(), m)]))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionIn {
    pub provider: String,
    pub description: String,
}

#[utoipa::path(post, path = "/api/v1/referrals/{id}/options", tag = "referrals", params(("id" = i64, Path)), request_body = OptionIn,
    responses((status = 200, body = ReferralOut), (status = 422, body = crate::error::Problem)))]
pub async fn add_option(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    ApiJson(i): ApiJson<OptionIn>,
) -> ApiResult<ReferralOut> {
    let mut e = Errors::default();
    let provider = e.take(
        "provider",
        jp_domain::text::required(&i.provider, "the provider", 200),
    );
    let description = e.take(
        "description",
        jp_domain::text::required(&i.description, "what the option delivers", 5_000),
    );
    let (Some(provider), Some(description)) = (provider, description) else {
        return Err(invalid(&e));
    };
    option_change(&state, &p, id, "provider", move |tx, actor| {
        referrals::add_option(tx, actor, id, &provider, &description)
    })
    .await?;
    reply(&state, &p, id).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineIn {
    pub item: String,
    /// In pounds and pence, as typed: "325.50"
    pub unit_cost: String,
    /// one-off, per-hour, per-day, per-week, per-month or per-year
    pub unit: String,
    /// "2", "7.5": for per-hour and per-day, how many each week
    pub quantity: String,
    /// 2027-04-01
    pub start: String,
    pub end: String,
}

#[utoipa::path(post, path = "/api/v1/referrals/{id}/options/{option_id}/lines", tag = "referrals",
    params(("id" = i64, Path), ("option_id" = i64, Path)), request_body = LineIn,
    responses((status = 200, body = ReferralOut), (status = 422, body = crate::error::Problem)))]
pub async fn add_line(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path((raw_id, raw_option)): Path<(String, String)>,
    ApiJson(i): ApiJson<LineIn>,
) -> ApiResult<ReferralOut> {
    let (Ok(id), Ok(option_id)) = (raw_id.parse::<i64>(), raw_option.parse::<i64>()) else {
        return Err(AppError::NotFound.into());
    };
    let mut pairs = vec![
        ("item".to_owned(), i.item),
        ("unit_cost".to_owned(), i.unit_cost),
        ("unit".to_owned(), i.unit),
        ("quantity".to_owned(), i.quantity),
    ];
    pairs.extend(date_pairs("start", &i.start));
    pairs.extend(date_pairs("end", &i.end));
    let line = sections::parse_line(&Form::from_pairs(pairs)).map_err(|e| invalid(&e))?;
    option_change(&state, &p, id, "option_id", move |tx, actor| {
        referrals::add_line(tx, actor, id, option_id, &line)
    })
    .await?;
    reply(&state, &p, id).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendIn {
    pub option_id: i64,
}

#[utoipa::path(put, path = "/api/v1/referrals/{id}/recommended", tag = "referrals", params(("id" = i64, Path)), request_body = RecommendIn,
    responses((status = 200, body = ReferralOut), (status = 422, body = crate::error::Problem)))]
pub async fn recommend(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    ApiJson(i): ApiJson<RecommendIn>,
) -> ApiResult<ReferralOut> {
    option_change(&state, &p, id, "option_id", move |tx, actor| {
        referrals::set_recommended(tx, actor, id, i.option_id)
    })
    .await?;
    reply(&state, &p, id).await
}

#[derive(Deserialize)]
pub struct UploadQuery {
    name: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/referrals/{id}/attachments", tag = "referrals",
    params(("id" = i64, Path), ("name" = String, Query, description = "the file's name, e.g. assessment.pdf")),
    request_body(content = Vec<u8>, description = "The file itself (PDF, DOCX, XLSX, PNG or JPEG), recognised by its content", content_type = "application/octet-stream"),
    responses((status = 200, body = ReferralOut), (status = 413, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn upload(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    Query(q): Query<UploadQuery>,
    req: Request,
) -> ApiResult<ReferralOut> {
    crate::forms::api_csrf(&req)?;
    sections::load_editable(&state, &p, id).await?;
    let name = q.name.unwrap_or_default();
    let body = req.into_body().into_data_stream();
    match evidence::accept(&state, &p, id, &name, body).await? {
        Ok(_) => reply(&state, &p, id).await,
        Err(evidence::Refused(status, m)) => {
            let e = if status == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge(
                    usize::try_from(state.config.attachments.max_bytes).unwrap_or(usize::MAX),
                )
            } else {
                AppError::Unprocessable(m.clone())
            };
            Err(with_fields(e, vec![("file".into(), m)]))
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveIn {
    /// The referral's version you read
    pub version: i64,
    /// For approval: approve or return
    #[serde(default)]
    pub decision: Option<String>,
    /// For approval: the approver's comments (required in practice when returning)
    #[serde(default)]
    pub comments: Option<String>,
}

async fn moved(state: &AppState, p: &Principal, id: i64, m: Moved) -> ApiResult<ReferralOut> {
    match m {
        Moved::Done(_) => reply(state, p, id).await,
        Moved::Refused(problems) => Err(unprocessable(problems)),
    }
}

#[utoipa::path(post, path = "/api/v1/referrals/{id}/send", tag = "referrals", params(("id" = i64, Path)), request_body = MoveIn,
    responses((status = 200, description = "sent to the referrer's approvers, who are e-mailed", body = ReferralOut), (status = 409, body = crate::error::Problem), (status = 422, description = "what is still missing", body = crate::error::Problem)))]
pub async fn send(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    ApiJson(i): ApiJson<MoveIn>,
) -> ApiResult<ReferralOut> {
    let m = actions::send_move(&state, &p, id, i.version).await?;
    moved(&state, &p, id, m).await
}

#[utoipa::path(post, path = "/api/v1/referrals/{id}/approval", tag = "referrals", params(("id" = i64, Path)), request_body = MoveIn,
    responses((status = 200, body = ReferralOut), (status = 409, body = crate::error::Problem), (status = 422, description = "e.g. approving your own referral (audited)", body = crate::error::Problem)))]
pub async fn approval(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    ApiJson(i): ApiJson<MoveIn>,
) -> ApiResult<ReferralOut> {
    let m = actions::approval_move(
        &state,
        &p,
        id,
        i.version,
        i.decision.as_deref().unwrap_or(""),
        i.comments.as_deref().unwrap_or(""),
    )
    .await?;
    moved(&state, &p, id, m).await
}

#[utoipa::path(post, path = "/api/v1/referrals/{id}/submit", tag = "referrals", params(("id" = i64, Path)), request_body = MoveIn,
    responses((status = 200, description = "booked onto the next meeting with an open deadline", body = ReferralOut), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn submit(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    ApiJson(i): ApiJson<MoveIn>,
) -> ApiResult<ReferralOut> {
    if !p.user.has_any(&[Role::Referrer, Role::Administrator]) {
        return Err(AppError::Forbidden.into());
    }
    let m = actions::submit_move(&state, &p, id, i.version).await?;
    moved(&state, &p, id, m).await
}
