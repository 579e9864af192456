//! One error type for the web layer, turned into a GOV.UK error page for
//! browsers or an RFC 9457 problem document for the API.

use crate::pages::{ErrorPage, render};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jp_store::ChangeError;
use jp_store::db::DbError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("You need to sign in to see this page")]
    Unauthorised,
    #[error("The API token is not valid: it is unknown, revoked, or its account is disabled")]
    InvalidToken,
    #[error("You do not have access to this page")]
    Forbidden,
    /// Refused for a reason the person should read (e.g. a pack after the meeting closed).
    #[error("{0}")]
    Denied(String),
    #[error("The form could not be accepted: {0}. Go back, reload the page and try again.")]
    Csrf(&'static str),
    #[error("Page not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Conflict(String),
    #[error("The request is too large: the limit is {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Gone(String),
    #[error("Sorry, there is a problem with the service")]
    Internal(String),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthorised | AppError::InvalidToken => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Denied(_) | AppError::Csrf(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            AppError::Unauthorised => "You need to sign in",
            AppError::InvalidToken => "The API token is not valid",
            AppError::Forbidden | AppError::Denied(_) => "You do not have access to this page",
            AppError::Csrf(_) => "The form could not be accepted",
            AppError::NotFound => "Page not found",
            AppError::BadRequest(_) => "The request could not be understood",
            AppError::Unprocessable(_) => "There is a problem",
            AppError::Conflict(_) => "Someone else changed this record",
            AppError::TooLarge(_) => "What you sent is too large",
            AppError::Gone(_) => "This is no longer available",
            AppError::Internal(_) => "Sorry, there is a problem with the service",
        }
    }

    /// Turns this error into an API problem document.
    pub fn into_problem(self) -> Response {
        if let AppError::Internal(detail) = &self {
            tracing::error!("{detail}");
        }
        let status = self.status();
        let body = Problem {
            r#type: "about:blank".to_owned(),
            title: self.title().to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            errors: Vec::new(),
        };
        problem_response(status, &body)
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> AppError {
        AppError::Internal(e.to_string())
    }
}

impl From<ChangeError> for AppError {
    fn from(e: ChangeError) -> AppError {
        match e {
            ChangeError::NotFound => AppError::NotFound,
            ChangeError::Conflict { .. } => AppError::Conflict(
                "Someone else saved this record after you opened it. Reload it to see their changes, then make yours again.".to_owned(),
            ),
            ChangeError::Duplicate(m) | ChangeError::Invalid(m) => AppError::Unprocessable(m),
            ChangeError::Db(e) => e.into(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self {
            tracing::error!("{detail}");
        }
        let status = self.status();
        let detail = match &self {
            AppError::Internal(_) => {
                "Try again later. If it keeps happening, contact the service desk.".to_owned()
            }
            other => other.to_string(),
        };
        let mut res = render(&ErrorPage {
            page: crate::pages::PageCtx::bare(self.title()),
            detail,
            sign_in: matches!(self, AppError::Unauthorised),
        });
        *res.status_mut() = status;
        res
    }
}

/// RFC 9457 problem details; `errors` lists each invalid field.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub r#type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

pub fn problem_response(status: StatusCode, body: &Problem) -> Response {
    let json = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        json,
    )
        .into_response()
}

/// An error from an API handler: always a problem document.
#[derive(Debug)]
pub struct ApiError(pub AppError, pub Vec<FieldProblem>);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> ApiError {
        ApiError(e.into(), Vec::new())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.1.is_empty() {
            return self.0.into_problem();
        }
        let status = self.0.status();
        let body = Problem {
            r#type: "about:blank".to_owned(),
            title: "There is a problem".to_owned(),
            status: status.as_u16(),
            detail: self
                .1
                .iter()
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            errors: self.1,
        };
        problem_response(status, &body)
    }
}
