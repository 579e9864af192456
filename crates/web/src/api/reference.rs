//! Reference data over the API: organisations, agencies, panels and members.

use super::{ApiResult, invalid};
use crate::auth::Principal;
use crate::error::{ApiError, AppError};
use crate::forms::{ApiJson, Errors, Id};
use crate::routes::Routes;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use jp_domain::text;
use jp_store::ChangeError;
use jp_store::reference::{agencies, members, organisations, panels};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Routes {
    Routes::default()
        .get("/api/v1/organisations", list_organisations)
        .post("/api/v1/organisations", create_organisation)
        .get("/api/v1/organisations/{id}", get_organisation)
        .put("/api/v1/organisations/{id}", update_organisation)
        .get("/api/v1/agencies", list_agencies)
        .post("/api/v1/agencies", create_agency)
        .put("/api/v1/agencies/{id}", update_agency)
        .get("/api/v1/panels", list_panels)
        .get("/api/v1/panels/{id}", get_panel)
        .get("/api/v1/panels/{id}/members", panel_members)
}

/// Runs a change in one transaction and maps the store's refusals to problems.
async fn change<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut jp_store::db::Tx<'_>) -> Result<T, ChangeError> + Send + 'static,
{
    Ok(state
        .db(move |c| {
            let mut tx = c.begin()?;
            let v = f(&mut tx).map_err(|e| match e {
                ChangeError::Duplicate(m) => AppError::Conflict(m),
                ChangeError::Conflict { current } => AppError::Conflict(format!(
                    "The record was changed by someone else: it is now at version {current}. Fetch it again and re-apply your change."
                )),
                other => other.into(),
            })?;
            tx.commit()?;
            Ok(v)
        })
        .await?)
}

#[derive(Serialize, ToSchema)]
pub struct OrganisationOut {
    pub id: i64,
    pub name: String,
    /// local-authority, nhs, education or other
    pub kind: String,
    pub version: i64,
}

impl From<organisations::Organisation> for OrganisationOut {
    fn from(o: organisations::Organisation) -> Self {
        OrganisationOut {
            id: o.id,
            name: o.name,
            kind: o.kind,
            version: o.version,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationIn {
    pub name: String,
    pub kind: String,
    /// Required when changing: the version you read.
    #[serde(default)]
    pub version: Option<i64>,
}

fn organisation_fields(i: &OrganisationIn) -> Result<organisations::Fields, ApiError> {
    let mut e = Errors::default();
    let name = e.take(
        "name",
        text::required(&i.name, "the organisation's name", 200),
    );
    if !organisations::KINDS.iter().any(|(k, _)| *k == i.kind) {
        e.add(
            "kind",
            "Give kind as one of: local-authority, nhs, education, other",
        );
    }
    match name {
        Some(name) if e.is_empty() => Ok(organisations::Fields {
            name,
            kind: i.kind.clone(),
        }),
        _ => Err(invalid(&e)),
    }
}

fn need_version(v: Option<i64>) -> Result<i64, ApiError> {
    v.ok_or_else(|| invalid(&{
        let mut e = Errors::default();
        e.add("version", "Give the version of the record you read, so a change made since is not overwritten");
        e
    }))
}

#[utoipa::path(get, path = "/api/v1/organisations", tag = "reference data", responses((status = 200, body = Vec<OrganisationOut>)))]
pub async fn list_organisations(State(state): State<AppState>) -> ApiResult<Vec<OrganisationOut>> {
    Ok(Json(
        state
            .db(|c| Ok(organisations::list(c)?))
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "reference data", params(("id" = i64, Path)), responses((status = 200, body = OrganisationOut), (status = 404, body = crate::error::Problem)))]
pub async fn get_organisation(
    State(state): State<AppState>,
    Id(id): Id,
) -> ApiResult<OrganisationOut> {
    Ok(Json(
        state
            .db(move |c| Ok(organisations::get(c, id)?))
            .await?
            .ok_or(AppError::NotFound)?
            .into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/organisations", tag = "reference data", request_body = OrganisationIn,
    responses((status = 201, body = OrganisationOut), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create_organisation(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiJson(i): ApiJson<OrganisationIn>,
) -> Result<(StatusCode, Json<OrganisationOut>), ApiError> {
    let f = organisation_fields(&i)?;
    let actor = p.actor();
    let o = change(&state, move |tx| {
        let id = organisations::create(tx, &actor, &f)?;
        organisations::get(tx, id)?.ok_or(ChangeError::NotFound)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(o.into())))
}

#[utoipa::path(put, path = "/api/v1/organisations/{id}", tag = "reference data", params(("id" = i64, Path)), request_body = OrganisationIn,
    responses((status = 200, body = OrganisationOut), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn update_organisation(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    ApiJson(i): ApiJson<OrganisationIn>,
) -> ApiResult<OrganisationOut> {
    let f = organisation_fields(&i)?;
    let v = need_version(i.version)?;
    let actor = p.actor();
    Ok(Json(
        change(&state, move |tx| {
            organisations::update(tx, &actor, id, v, &f)
        })
        .await?
        .into(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct AgencyOut {
    pub id: i64,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub name: String,
    pub adult_services: bool,
    pub version: i64,
}

impl From<agencies::Agency> for AgencyOut {
    fn from(a: agencies::Agency) -> Self {
        AgencyOut {
            id: a.id,
            organisation_id: a.organisation_id,
            organisation_name: a.organisation_name,
            name: a.name,
            adult_services: a.adult_services,
            version: a.version,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgencyIn {
    pub organisation_id: i64,
    pub name: String,
    /// Adult services: told when a child with an agreement reaches 17½
    #[serde(default)]
    pub adult_services: bool,
    #[serde(default)]
    pub version: Option<i64>,
}

fn agency_fields(i: &AgencyIn) -> Result<agencies::Fields, ApiError> {
    let mut e = Errors::default();
    match e.take("name", text::required(&i.name, "the agency's name", 200)) {
        Some(name) => Ok(agencies::Fields {
            organisation_id: i.organisation_id,
            name,
            adult_services: i.adult_services,
        }),
        None => Err(invalid(&e)),
    }
}

#[utoipa::path(get, path = "/api/v1/agencies", tag = "reference data", responses((status = 200, body = Vec<AgencyOut>)))]
pub async fn list_agencies(State(state): State<AppState>) -> ApiResult<Vec<AgencyOut>> {
    Ok(Json(
        state
            .db(|c| Ok(agencies::list(c)?))
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/agencies", tag = "reference data", request_body = AgencyIn,
    responses((status = 201, body = AgencyOut), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create_agency(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiJson(i): ApiJson<AgencyIn>,
) -> Result<(StatusCode, Json<AgencyOut>), ApiError> {
    let f = agency_fields(&i)?;
    let actor = p.actor();
    let a = change(&state, move |tx| {
        let id = agencies::create(tx, &actor, &f)?;
        agencies::get(tx, id)?.ok_or(ChangeError::NotFound)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

#[utoipa::path(put, path = "/api/v1/agencies/{id}", tag = "reference data", params(("id" = i64, Path)), request_body = AgencyIn,
    responses((status = 200, body = AgencyOut), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn update_agency(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    ApiJson(i): ApiJson<AgencyIn>,
) -> ApiResult<AgencyOut> {
    let f = agency_fields(&i)?;
    let v = need_version(i.version)?;
    let actor = p.actor();
    Ok(Json(
        change(&state, move |tx| agencies::update(tx, &actor, id, v, &f))
            .await?
            .into(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct PanelOut {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// "Second Tuesday of every month"
    pub cadence: String,
    /// england-and-wales, scotland or northern-ireland
    pub region: String,
    pub submission_deadline_days: u32,
    pub papers_due_days: u32,
    pub letter_due_days: u32,
    pub minutes_due_days: u32,
    pub absent_agency_response_days: u32,
    pub review_max_months: u32,
    pub delegated_limit_pence: i64,
    pub escalation_authority: String,
    pub need_levels: Vec<String>,
    pub minutes_per_new_case: u32,
    pub minutes_per_review: u32,
    pub assessment_max_age_months: u32,
    pub version: i64,
}

impl From<panels::Panel> for PanelOut {
    fn from(p: panels::Panel) -> Self {
        let r = p.rules;
        PanelOut {
            id: p.id,
            slug: p.slug,
            name: p.name,
            cadence: r.cadence.describe(),
            region: r.region.slug().into(),
            submission_deadline_days: r.submission_deadline_days,
            papers_due_days: r.papers_due_days,
            letter_due_days: r.letter_due_days,
            minutes_due_days: r.minutes_due_days,
            absent_agency_response_days: r.absent_agency_response_days,
            review_max_months: r.review_max_months,
            delegated_limit_pence: r.delegated_limit.0,
            escalation_authority: r.escalation_authority,
            need_levels: r.need_levels,
            minutes_per_new_case: r.minutes_per_new_case,
            minutes_per_review: r.minutes_per_review,
            assessment_max_age_months: r.assessment_max_age_months,
            version: p.version,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/panels", tag = "reference data", responses((status = 200, body = Vec<PanelOut>)))]
pub async fn list_panels(State(state): State<AppState>) -> ApiResult<Vec<PanelOut>> {
    Ok(Json(
        state
            .db(|c| Ok(panels::list(c)?))
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/panels/{id}", tag = "reference data", params(("id" = i64, Path)), responses((status = 200, body = PanelOut), (status = 404, body = crate::error::Problem)))]
pub async fn get_panel(State(state): State<AppState>, Id(id): Id) -> ApiResult<PanelOut> {
    Ok(Json(
        state
            .db(move |c| Ok(panels::get(c, id)?))
            .await?
            .ok_or(AppError::NotFound)?
            .into(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct MemberOut {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub agency_id: i64,
    pub agency_name: String,
    pub is_chair: bool,
    pub deputies: Vec<DeputyOut>,
    pub version: i64,
}

#[derive(Serialize, ToSchema)]
pub struct DeputyOut {
    pub user_id: i64,
    pub name: String,
}

#[utoipa::path(get, path = "/api/v1/panels/{id}/members", tag = "reference data", params(("id" = i64, Path)), responses((status = 200, body = Vec<MemberOut>), (status = 404, body = crate::error::Problem)))]
pub async fn panel_members(State(state): State<AppState>, Id(id): Id) -> ApiResult<Vec<MemberOut>> {
    let ms = state
        .db(move |c| {
            panels::get(c, id)?.ok_or(AppError::NotFound)?;
            Ok(members::of_panel(c, id)?)
        })
        .await?;
    Ok(Json(
        ms.into_iter()
            .map(|m| MemberOut {
                id: m.id,
                user_id: m.user_id,
                name: m.user_name,
                agency_id: m.agency_id,
                agency_name: m.agency_name,
                is_chair: m.is_chair,
                deputies: m
                    .deputies
                    .into_iter()
                    .map(|d| DeputyOut {
                        user_id: d.user_id,
                        name: d.name,
                    })
                    .collect(),
                version: m.version,
            })
            .collect(),
    ))
}
