//! /api/v1/me and /api/v1/users.

use super::{ApiResult, invalid};
use crate::auth::Principal;
use crate::error::{ApiError, AppError};
use crate::forms::{ApiJson, Errors, Id};
use crate::routes::Routes;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use jp_domain::{Email, Password, Role, text};
use jp_store::ChangeError;
use jp_store::accounts::{self, User, UserFields};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Routes {
    Routes::default()
        .get("/api/v1/me", me)
        .get("/api/v1/users", list_users)
        .post("/api/v1/users", create_user)
        .get("/api/v1/users/{id}", get_user)
}

#[derive(Serialize, ToSchema)]
pub struct UserOut {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub agency_id: Option<i64>,
    pub agency_name: Option<String>,
    pub team: Option<String>,
    pub active: bool,
    /// Role slugs: referrer, approver, administrator, chair, member, finance, auditor, system-administrator.
    pub roles: Vec<String>,
    pub version: i64,
}

impl From<User> for UserOut {
    fn from(u: User) -> UserOut {
        UserOut {
            id: u.id,
            email: u.email,
            name: u.name,
            agency_id: u.agency_id,
            agency_name: u.agency_name,
            team: u.team,
            active: u.active,
            roles: u.roles.iter().map(|r| r.slug().to_owned()).collect(),
            version: u.version,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/me", tag = "people", responses((status = 200, description = "The caller", body = UserOut), (status = 401, body = crate::error::Problem)))]
pub async fn me(Extension(p): Extension<Principal>) -> Json<UserOut> {
    Json(p.user.into())
}

#[utoipa::path(get, path = "/api/v1/users", tag = "people", responses((status = 200, body = Vec<UserOut>), (status = 403, body = crate::error::Problem)))]
pub async fn list_users(State(state): State<AppState>) -> ApiResult<Vec<UserOut>> {
    Ok(Json(
        state
            .db(|c| Ok(accounts::list(c)?))
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "people", params(("id" = i64, Path)), responses((status = 200, body = UserOut), (status = 404, body = crate::error::Problem)))]
pub async fn get_user(State(state): State<AppState>, Id(id): Id) -> ApiResult<UserOut> {
    Ok(Json(
        state
            .db(move |c| Ok(accounts::get(c, id)?))
            .await?
            .ok_or(AppError::NotFound)?
            .into(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    pub email: String,
    pub name: String,
    #[serde(default)]
    pub agency_id: Option<i64>,
    #[serde(default)]
    pub team: Option<String>,
    pub roles: Vec<String>,
    #[serde(default = "yes")]
    pub active: bool,
    /// Optional; without it the person cannot sign in with a password.
    #[serde(default)]
    pub password: Option<String>,
}

fn yes() -> bool {
    true
}

#[utoipa::path(post, path = "/api/v1/users", tag = "people", request_body = UserIn,
    responses((status = 201, body = UserOut), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create_user(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiJson(input): ApiJson<UserIn>,
) -> Result<(StatusCode, Json<UserOut>), ApiError> {
    let mut e = Errors::default();
    let email = e.take("email", Email::parse(&input.email));
    let name = e.take(
        "name",
        text::required(&input.name, "the person's full name", 200),
    );
    let team = e
        .take(
            "team",
            text::optional(input.team.as_deref().unwrap_or(""), "the team", 200),
        )
        .flatten();
    let roles: Vec<Role> = input.roles.iter().filter_map(|r| Role::parse(r)).collect();
    if roles.is_empty() || roles.len() != input.roles.len() {
        e.add(
            "roles",
            format!(
                "Give at least one role, each one of: {}",
                Role::ALL.map(Role::slug).join(", ")
            ),
        );
    }
    let password = match (&input.password, &email) {
        (Some(pw), Some(em)) => e.take(
            "password",
            Password::new(pw, &[em.local_part(), &input.name]),
        ),
        _ => None,
    };
    let (Some(email), Some(name), true) = (email, name, e.is_empty()) else {
        return Err(invalid(&e));
    };
    let fields = UserFields {
        email,
        name,
        agency_id: input.agency_id,
        team,
        active: input.active,
        roles,
    };
    let actor = p.actor();
    let hash = password.as_ref().map(accounts::hash_password);
    let user = state
        .db(move |c| {
            let mut tx = c.begin()?;
            let id = match accounts::create(&mut tx, &actor, &fields, hash) {
                Ok(id) => id,
                Err(ChangeError::Duplicate(m)) => return Err(AppError::Conflict(m)),
                Err(other) => return Err(other.into()),
            };
            tx.commit()?;
            accounts::get(c, id)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}
