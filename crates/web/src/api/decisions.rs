//! Decisions and funding agreements over the API (SPEC §5, §6): the same
//! operations, checks and access rules as the pages (`crate::decisions`).

use super::{ApiResult, unprocessable};
use crate::auth::Principal;
use crate::decisions::{self as web, Refusal};
use crate::error::{ApiError, AppError};
use crate::forms::{ApiJson, Form, Id};
use crate::routes::Routes;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::NaiveDate;
use jp_domain::apportion;
use jp_store::agreements::{self, Agreement};
use jp_store::decisions::{self, Decision, Letter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Routes {
    Routes::default()
        .get("/api/v1/referrals/{id}/decisions", list)
        .post("/api/v1/referrals/{id}/decisions", create)
        .put("/api/v1/decisions/{id}", update)
        .post("/api/v1/decisions/{id}/sign", sign)
        .post("/api/v1/decisions/{id}/corrections", correct)
        .post("/api/v1/decisions/{id}/authority", authority)
        .post("/api/v1/decisions/{id}/letter", letter)
        .get("/api/v1/agreements/{id}", get_agreement)
        .post("/api/v1/agreements/{id}/variations", vary)
        .post("/api/v1/agreements/{id}/activate", activate)
        .post("/api/v1/referrals/{id}/close", close)
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> ApiError {
        match r {
            Refusal::Fields(list) => unprocessable(list),
            Refusal::Conflict(m) => AppError::Conflict(m).into(),
            Refusal::App(e) => e.into(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareIn {
    pub organisation_id: i64,
    /// A percentage as people write it: "60", "33.33".
    pub percent: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectationIn {
    pub what: String,
    /// YYYY-MM-DD
    pub due: String,
}

/// A decision's fields, all optional until sign-off. Dates are YYYY-MM-DD.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    /// The decision's version (required when updating).
    pub version: Option<i64>,
    /// agreed-as-recommended, agreed-other-option, deferred, declined, escalated
    pub outcome: Option<String>,
    pub option_id: Option<i64>,
    pub rationale: Option<String>,
    #[serde(default)]
    pub needs: Vec<String>,
    pub lead_agency_id: Option<i64>,
    pub key_worker_id: Option<i64>,
    pub review_date: Option<String>,
    #[serde(default)]
    pub expectations: Vec<ExpectationIn>,
    pub provider: Option<String>,
    pub contract_agency_id: Option<i64>,
    pub direct_payment: Option<bool>,
    pub start: Option<String>,
    pub end: Option<String>,
    #[serde(default)]
    pub shares: Vec<ShareIn>,
    /// At a review: the outcomes achieved against those sought.
    pub outcomes_achieved: Option<String>,
    /// At a review: the views of the child and family.
    pub views: Option<String>,
    /// When a review ends the agreement: suitable-programme or no-longer-in-need.
    pub closure_reason: Option<String>,
}

/// A date typed as YYYY-MM-DD into a GOV.UK date input's three fields (so the
/// same reading and messages apply).
fn date_pairs(key: &str, raw: &str, out: &mut Vec<(String, String)>) {
    let mut parts = raw.trim().splitn(3, '-');
    let (y, m, d) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    out.push((format!("{key}-year"), y.to_owned()));
    out.push((format!("{key}-month"), m.to_owned()));
    out.push((format!("{key}-day"), d.to_owned()));
}

fn to_form(i: DecisionIn) -> Form {
    let mut p: Vec<(String, String)> = Vec::new();
    let mut one = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            p.push((k.to_owned(), v));
        }
    };
    one("outcome", i.outcome);
    one("option", i.option_id.map(|x| x.to_string()));
    one("rationale", i.rationale);
    one("lead_agency", i.lead_agency_id.map(|x| x.to_string()));
    one("key_worker", i.key_worker_id.map(|x| x.to_string()));
    one(
        "contract_agency",
        i.contract_agency_id.map(|x| x.to_string()),
    );
    one("provider", i.provider);
    one("outcomes_achieved", i.outcomes_achieved);
    one("views", i.views);
    one("closure_reason", i.closure_reason);
    one(
        "direct_payment",
        i.direct_payment
            .map(|b| if b { "yes" } else { "no" }.to_owned()),
    );
    for n in i.needs {
        p.push(("needs".into(), n));
    }
    for (k, v) in [
        ("review", i.review_date),
        ("start", i.start),
        ("end", i.end),
    ] {
        if let Some(v) = v {
            date_pairs(k, &v, &mut p);
        }
    }
    for (n, e) in i.expectations.into_iter().enumerate() {
        p.push((format!("expectation-{}", n + 1), e.what));
        date_pairs(&format!("expectation-{}-due", n + 1), &e.due, &mut p);
    }
    for s in i.shares {
        p.push((format!("share-{}", s.organisation_id), s.percent));
    }
    Form::from_pairs(p)
}

#[derive(Serialize, ToSchema)]
pub struct ShareOut {
    pub organisation_id: i64,
    pub basis_points: u32,
    pub percent: String,
}

impl From<&jp_domain::decision::Share> for ShareOut {
    fn from(s: &jp_domain::decision::Share) -> Self {
        ShareOut {
            organisation_id: s.organisation_id,
            basis_points: s.basis_points,
            percent: apportion::percent(s.basis_points),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LetterOut {
    pub id: i64,
    pub kind: String,
    pub sent_on: NaiveDate,
    pub due: Option<NaiveDate>,
    pub on_time: bool,
    pub recipients: String,
}

impl From<Letter> for LetterOut {
    fn from(l: Letter) -> Self {
        LetterOut {
            id: l.id,
            kind: l.kind,
            sent_on: l.sent_on,
            due: l.due,
            on_time: l.on_time,
            recipients: l.recipients,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DecisionOut {
    pub id: i64,
    pub referral_id: i64,
    /// draft or signed
    pub status: String,
    pub outcome: Option<String>,
    pub option_id: Option<i64>,
    pub rationale: String,
    pub needs: Vec<String>,
    pub lead_agency_id: Option<i64>,
    pub key_worker_id: Option<i64>,
    pub review_date: Option<NaiveDate>,
    pub provider: String,
    pub contract_agency_id: Option<i64>,
    pub direct_payment: Option<bool>,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub shares: Vec<ShareOut>,
    pub outcomes_achieved: String,
    pub views: String,
    pub closure_reason: Option<String>,
    pub corrects_id: Option<i64>,
    pub corrected_by_id: Option<i64>,
    pub total_pence: i64,
    /// not-needed, pending or agreed
    pub authority_status: String,
    pub authority: String,
    pub authority_agreed_by: Option<String>,
    pub authority_agreed_on: Option<NaiveDate>,
    pub letter_due: Option<NaiveDate>,
    pub signed_by: Option<String>,
    pub signed_at: Option<chrono::NaiveDateTime>,
    pub version: i64,
}

impl From<Decision> for DecisionOut {
    fn from(d: Decision) -> Self {
        let x = d.draft;
        DecisionOut {
            id: d.id,
            referral_id: d.referral_id,
            status: d.status,
            outcome: x.outcome.map(|o| o.slug().to_owned()),
            option_id: x.option_id,
            rationale: x.rationale,
            needs: x.needs,
            lead_agency_id: x.lead_agency_id,
            key_worker_id: x.key_worker_id,
            review_date: x.review_date,
            provider: x.provider,
            contract_agency_id: x.contract_agency_id,
            direct_payment: x.direct_payment,
            start: x.start,
            end: x.end,
            shares: x.shares.iter().map(ShareOut::from).collect(),
            outcomes_achieved: x.outcomes_achieved,
            views: x.views,
            closure_reason: x.closure_reason,
            corrects_id: d.corrects_id,
            corrected_by_id: d.corrected_by_id,
            total_pence: d.total.0,
            authority_status: d.authority_status,
            authority: d.authority,
            authority_agreed_by: d.authority_agreed_by,
            authority_agreed_on: d.authority_agreed_on,
            letter_due: d.letter_due,
            signed_by: d.signed_by_name,
            signed_at: d.signed_at,
            version: d.version,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct YearOut {
    /// The financial year by the year it starts (1 April).
    pub financial_year: i32,
    /// Each organisation's pence, in the order of `shares`.
    pub pence: Vec<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionOut {
    pub number: i64,
    pub reason: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub review_date: NaiveDate,
    pub total_pence: i64,
}

#[derive(Serialize, ToSchema)]
pub struct AgreementOut {
    pub id: i64,
    pub referral_id: i64,
    /// pending, active or ended
    pub status: String,
    pub version: i64,
    pub current_number: i64,
    pub provider: String,
    pub contract_agency_id: i64,
    pub direct_payment: bool,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub review_date: NaiveDate,
    pub total_pence: i64,
    pub shares: Vec<ShareOut>,
    pub by_financial_year: Vec<YearOut>,
    pub held_by: Vec<String>,
    pub versions: Vec<VersionOut>,
}

fn agreement_out(
    a: Agreement,
    held_by: Vec<String>,
    versions: Vec<agreements::Version>,
) -> AgreementOut {
    let t = &a.current.terms;
    let bp = t.basis_points();
    AgreementOut {
        id: a.id,
        referral_id: a.referral_id,
        status: a.status.clone(),
        version: a.version,
        current_number: a.current_number,
        provider: t.provider.clone(),
        contract_agency_id: t.contract_agency_id,
        direct_payment: t.direct_payment,
        start: t.start,
        end: t.end,
        review_date: t.review_date,
        total_pence: a.current.total.0,
        shares: t.shares.iter().map(ShareOut::from).collect(),
        by_financial_year: apportion::by_financial_year(&t.lines, &bp)
            .into_iter()
            .map(|(fy, parts)| YearOut {
                financial_year: fy,
                pence: parts.into_iter().map(|p| p.0).collect(),
            })
            .collect(),
        held_by,
        versions: versions
            .into_iter()
            .map(|v| VersionOut {
                number: v.number,
                reason: v.reason,
                start: v.terms.start,
                end: v.terms.end,
                review_date: v.terms.review_date,
                total_pence: v.total.0,
            })
            .collect(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct DecisionsOut {
    pub decisions: Vec<DecisionOut>,
    pub agreement: Option<AgreementOut>,
    /// Why the decision is not final yet, if anything holds it.
    pub held_by: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/referrals/{id}/decisions", tag = "decisions", params(("id" = i64, Path)),
    responses((status = 200, body = DecisionsOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn list(
    axum::extract::State(state): axum::extract::State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> ApiResult<DecisionsOut> {
    let user = p.user.clone();
    let out = state
        .db(move |c| {
            let s = web::scene(c, &user, id)?;
            let agreement = match s.agreement {
                Some(a) => {
                    let v = agreements::versions(c, a.id)?;
                    Some(agreement_out(a, s.held.clone(), v))
                }
                None => None,
            };
            Ok(DecisionsOut {
                decisions: s.decisions.into_iter().map(Into::into).collect(),
                agreement,
                held_by: s.held,
            })
        })
        .await?;
    Ok(Json(out))
}

async fn decision(state: &AppState, id: i64) -> Result<Decision, ApiError> {
    Ok(state
        .db(move |c| decisions::get(c, id)?.ok_or(AppError::NotFound))
        .await?)
}

/// Reads a decision the person may see (404 before 403 for a missing one).
async fn visible_decision(state: &AppState, p: &Principal, id: i64) -> Result<Decision, ApiError> {
    let d = decision(state, id).await?;
    let user = p.user.clone();
    let rid = d.referral_id;
    state
        .db(move |c| {
            web::scene(c, &user, rid)?;
            Ok(())
        })
        .await?;
    Ok(d)
}

#[utoipa::path(post, path = "/api/v1/referrals/{id}/decisions", tag = "decisions", params(("id" = i64, Path)), request_body = DecisionIn,
    responses((status = 201, body = DecisionOut), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    axum::extract::State(state): axum::extract::State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    ApiJson(i): ApiJson<DecisionIn>,
) -> Result<(StatusCode, Json<DecisionOut>), ApiError> {
    let did = web::save_draft(&state, &p, id, None, None, to_form(i)).await?;
    Ok((
        StatusCode::CREATED,
        Json(decision(&state, did).await?.into()),
    ))
}

#[utoipa::path(put, path = "/api/v1/decisions/{id}", tag = "decisions", params(("id" = i64, Path)), request_body = DecisionIn,
    responses((status = 200, body = DecisionOut), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn update(
    axum::extract::State(state): axum::extract::State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    ApiJson(i): ApiJson<DecisionIn>,
) -> ApiResult<DecisionOut> {
    let d = visible_decision(&state, &p, id).await?;
    let Some(v) = i.version else {
        return Err(unprocessable(vec![(
            "version".into(),
            "Give the decision's version you are changing".into(),
        )]));
    };
    web::save_draft(&state, &p, d.referral_id, Some(id), Some(v), to_form(i)).await?;
    Ok(Json(decision(&state, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionIn {
    pub version: i64,
}

#[utoipa::path(post, path = "/api/v1/decisions/{id}/sign", tag = "decisions", params(("id" = i64, Path)), request_body = VersionIn,
    responses((status = 200, body = DecisionOut), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn sign(
    axum::extract::State(state): axum::extract::State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    ApiJson(i): ApiJson<VersionIn>,
) -> ApiResult<DecisionOut> {
    let d = visible_decision(&state, &p, id).await?;
    web::sign(&state, &p, d.referral_id, id, i.version).await?;
    Ok(Json(decision(&state, id).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/decisions/{id}/corrections", tag = "decisions", params(("id" = i64, Path)),
    responses((status = 201, description = "The correction, a draft copy of the decision to edit", body = DecisionOut), (status = 422, body = crate::error::Problem)))]
pub async fn correct(
    axum::extract::State(state): axum::extract::State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<(StatusCode, Json<DecisionOut>), ApiError> {
    let d = visible_decision(&state, &p, id).await?;
    let new = web::correct(&state, &p, d.referral_id, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(decision(&state, new).await?.into()),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorityIn {
    pub version: i64,
    /// Who agreed, with their post.
    pub agreed_by: String,
    /// YYYY-MM-DD
    pub agreed_on: String,
}

fn iso_date(raw: &str, what: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| format!("Give {what} as a real date, YYYY-MM-DD"))
}

#[utoipa::path(post, path = "/api/v1/decisions/{id}/authority", tag = "decisions", params(("id" = i64, Path)), request_body = AuthorityIn,
    responses((status = 200, body = DecisionOut), (status = 422, body = crate::error::Problem)))]
pub async fn authority(
    axum::extract::State(state): axum::extract::State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    ApiJson(i): ApiJson<AuthorityIn>,
) -> ApiResult<DecisionOut> {
    let d = visible_decision(&state, &p, id).await?;
    let on = iso_date(&i.agreed_on, "the date the authority agreed");
    web::record_authority(&state, &p, d.referral_id, id, i.version, i.agreed_by, on).await?;
    Ok(Json(decision(&state, id).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/decisions/{id}/letter", tag = "decisions", params(("id" = i64, Path)),
    responses((status = 201, description = "The letter, queued to the referrer and their service manager", body = LetterOut), (status = 422, body = crate::error::Problem)))]
pub async fn letter(
    axum::extract::State(state): axum::extract::State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<(StatusCode, Json<LetterOut>), ApiError> {
    let d = visible_decision(&state, &p, id).await?;
    let l = web::send_letter(&state, &p, d.referral_id, Some(id)).await?;
    Ok((StatusCode::CREATED, Json(l.into())))
}

async fn agreement_json(state: &AppState, p: &Principal, id: i64) -> ApiResult<AgreementOut> {
    let user = p.user.clone();
    let out = state
        .db(move |c| {
            let a = agreements::get(c, id)?.ok_or(AppError::NotFound)?;
            let r = jp_store::referrals::get(c, a.referral_id)?.ok_or(AppError::NotFound)?;
            if web::rights(c, &user, &r).is_err()
                && jp_store::referrals::sight(c, &user, &r)? != jp_store::referrals::Sight::Money
            {
                return Err(AppError::Forbidden);
            }
            let held = decisions::held_by(c, r.id)?;
            let v = agreements::versions(c, id)?;
            Ok(agreement_out(a, held, v))
        })
        .await?;
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/v1/agreements/{id}", tag = "decisions", params(("id" = i64, Path)),
    responses((status = 200, body = AgreementOut), (status = 403, body = crate::error::Problem)))]
pub async fn get_agreement(
    axum::extract::State(state): axum::extract::State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> ApiResult<AgreementOut> {
    agreement_json(&state, &p, id).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineIn {
    pub item: String,
    /// Pounds, like "1250.00"
    pub unit_cost: String,
    /// one-off, per-hour, per-day, per-week, per-month, per-year
    pub unit: String,
    pub quantity: String,
    pub start: String,
    pub end: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariationIn {
    pub version: i64,
    pub reason: String,
    pub end: Option<String>,
    pub review_date: Option<String>,
    #[serde(default)]
    pub shares: Vec<ShareIn>,
    pub line: Option<LineIn>,
}

#[utoipa::path(post, path = "/api/v1/agreements/{id}/variations", tag = "decisions", params(("id" = i64, Path)), request_body = VariationIn,
    responses((status = 200, description = "The agreement with its new version", body = AgreementOut), (status = 422, body = crate::error::Problem)))]
pub async fn vary(
    axum::extract::State(state): axum::extract::State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    ApiJson(i): ApiJson<VariationIn>,
) -> ApiResult<AgreementOut> {
    let mut pairs = vec![("reason".to_owned(), i.reason)];
    if let Some(e) = i.end {
        date_pairs("end", &e, &mut pairs);
    }
    if let Some(r) = i.review_date {
        date_pairs("review", &r, &mut pairs);
    }
    for s in i.shares {
        pairs.push((format!("share-{}", s.organisation_id), s.percent));
    }
    if let Some(l) = i.line {
        pairs.push(("line_item".into(), l.item));
        pairs.push(("line_unit_cost".into(), l.unit_cost));
        pairs.push(("line_unit".into(), l.unit));
        pairs.push(("line_quantity".into(), l.quantity));
        date_pairs("line_start", &l.start, &mut pairs);
        date_pairs("line_end", &l.end, &mut pairs);
    }
    web::vary(&state, &p, id, i.version, Form::from_pairs(pairs)).await?;
    agreement_json(&state, &p, id).await
}

#[utoipa::path(post, path = "/api/v1/agreements/{id}/activate", tag = "decisions", params(("id" = i64, Path)),
    responses((status = 200, body = AgreementOut), (status = 422, description = "What holds the agreement (a higher authority, an absent agency)", body = crate::error::Problem)))]
pub async fn activate(
    axum::extract::State(state): axum::extract::State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> ApiResult<AgreementOut> {
    web::activate(&state, &p, id).await?;
    agreement_json(&state, &p, id).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseIn {
    pub version: i64,
    /// suitable-programme or no-longer-in-need
    pub reason: Option<String>,
    /// YYYY-MM-DD; the agreement ends on this day
    pub closed_on: String,
}

#[derive(Serialize, ToSchema)]
pub struct ClosedOut {
    pub referral_id: i64,
    pub status: String,
    pub closure_reason: Option<String>,
    pub version: i64,
}

#[utoipa::path(post, path = "/api/v1/referrals/{id}/close", tag = "decisions", params(("id" = i64, Path)), request_body = CloseIn,
    responses((status = 200, body = ClosedOut), (status = 422, body = crate::error::Problem)))]
pub async fn close(
    axum::extract::State(state): axum::extract::State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    ApiJson(i): ApiJson<CloseIn>,
) -> ApiResult<ClosedOut> {
    let on = iso_date(&i.closed_on, "the closing date");
    let r = web::close(&state, &p, id, i.version, i.reason.unwrap_or_default(), on).await?;
    Ok(Json(ClosedOut {
        referral_id: r.id,
        status: r.status.slug().to_owned(),
        closure_reason: r.closure_reason,
        version: r.version,
    }))
}
