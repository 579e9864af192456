//! The JSON API under /api/v1 (SPEC §10, §11), described by an OpenAPI 3.1
//! document generated from these handlers' annotations (`/api/openapi.json`);
//! a test checks the document and the policy table list the same operations.

pub mod audit;
pub mod calendar;
pub mod decisions;
pub mod outbox;
pub mod people;
pub mod reference;
pub mod referrals;

use crate::error::{ApiError, AppError, FieldProblem, Problem};
use crate::forms::Errors;
use crate::routes::Routes;
use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub fn routes() -> Routes {
    Routes::default()
        .get("/api/openapi.json", openapi_json)
        .merge(people::routes())
        .merge(reference::routes())
        .merge(audit::routes())
        .merge(calendar::routes())
        .merge(outbox::routes())
        .merge(referrals::routes())
        .merge(decisions::routes())
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("jp_…")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Joint Panel API", version = "1", description = "Everything the pages do, for scripts. Authenticate with `Authorization: Bearer TOKEN` (from `jointpanel create-token`) or a signed-in browser session (state-changing calls then need the `X-CSRF-Token` header). Errors are RFC 9457 problem documents."),
    paths(
        people::me, people::list_users, people::create_user, people::get_user,
        reference::list_organisations, reference::create_organisation, reference::get_organisation, reference::update_organisation,
        reference::list_agencies, reference::create_agency, reference::update_agency,
        reference::list_panels, reference::get_panel, reference::panel_members,
        audit::list, audit::verify,
        calendar::shift, calendar::deadlines, calendar::holidays, calendar::load,
        outbox::list, outbox::retry,
        referrals::list_children, referrals::create_child, referrals::get_child,
        referrals::list_referrals, referrals::create_referral, referrals::get_referral, referrals::save_section,
        referrals::add_option, referrals::add_line, referrals::recommend, referrals::upload,
        referrals::send, referrals::approval, referrals::submit,
        decisions::list, decisions::create, decisions::update, decisions::sign, decisions::correct,
        decisions::authority, decisions::letter, decisions::get_agreement, decisions::vary, decisions::activate,
        decisions::close,
        crate::tracker::api,
    ),
    components(schemas(Problem, FieldProblem)),
    modifiers(&Security),
    security(("bearer" = []), ("session" = []))
)]
pub struct ApiDoc;

/// The OpenAPI document as served (3.1).
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.openapi = utoipa::openapi::OpenApiVersion::Version31;
    doc
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

/// A refusal with `status`, naming each (field, message).
pub fn with_fields(status: AppError, problems: Vec<(String, String)>) -> ApiError {
    ApiError(
        status,
        problems
            .into_iter()
            .map(|(field, message)| FieldProblem { field, message })
            .collect(),
    )
}

/// A 422 naming each (field, message); its title is the first message.
pub fn unprocessable(problems: Vec<(String, String)>) -> ApiError {
    let title = problems
        .first()
        .map(|(_, m)| m.clone())
        .unwrap_or_else(|| "The request has invalid fields".into());
    with_fields(AppError::Unprocessable(title), problems)
}

/// A 422 for one field.
pub fn field_problem(field: &str, message: impl Into<String>) -> ApiError {
    unprocessable(vec![(field.to_owned(), message.into())])
}

/// A 422 problem listing each invalid field.
pub fn invalid(errors: &Errors) -> ApiError {
    ApiError(
        AppError::Unprocessable("The request has invalid fields".into()),
        errors.to_problems(),
    )
}

pub type ApiResult<T> = Result<Json<T>, ApiError>;
