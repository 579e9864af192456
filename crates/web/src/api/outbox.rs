//! The e-mail outbox over the API (administrators).

use super::ApiResult;
use crate::admin::outbox::{OutboxQuery, PAGE_SIZE};
use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::Id;
use crate::routes::Routes;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::{Extension, Json};
use jp_store::ChangeError;
use jp_store::outbox;
use serde::Serialize;
use utoipa::ToSchema;

pub fn routes() -> Routes {
    Routes::default()
        .get("/api/v1/outbox", list)
        .post("/api/v1/outbox/{id}/retry", retry)
}

#[derive(Serialize, ToSchema)]
pub struct MailOut {
    pub id: i64,
    pub kind: String,
    pub to_address: String,
    pub to_name: String,
    pub subject: String,
    /// pending, sending, sent or failed
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// UTC
    pub created_at: String,
    pub sent_at: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
}

fn out(m: outbox::Mail) -> MailOut {
    let t = |d: chrono::NaiveDateTime| d.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    MailOut {
        id: m.id,
        kind: m.kind,
        to_address: m.to_address,
        to_name: m.to_name,
        subject: m.subject,
        status: m.status,
        attempts: m.attempts,
        last_error: m.last_error,
        created_at: t(m.created_at),
        sent_at: m.sent_at.map(t),
        entity: m.entity,
        entity_id: m.entity_id,
    }
}

#[utoipa::path(get, path = "/api/v1/outbox", tag = "e-mail",
    params(("status" = Option<String>, Query, description = "pending, sending, sent or failed"), ("before" = Option<i64>, Query, description = "messages with a smaller id (the next page)")),
    responses((status = 200, description = "Up to 50 messages, newest first", body = Vec<MailOut>)))]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<OutboxQuery>,
) -> ApiResult<Vec<MailOut>> {
    let (status, before) = q.filter();
    let mails = state
        .db(move |c| Ok(outbox::list(c, status.as_deref(), before, PAGE_SIZE)?))
        .await?;
    Ok(Json(mails.into_iter().map(out).collect()))
}

#[utoipa::path(post, path = "/api/v1/outbox/{id}/retry", tag = "e-mail",
    params(("id" = i64, Path)),
    responses((status = 200, body = MailOut), (status = 404, body = crate::error::Problem), (status = 409, description = "the message has not failed", body = crate::error::Problem)))]
pub async fn retry(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> ApiResult<MailOut> {
    let actor = p.actor();
    let m = state
        .db(move |c| {
            outbox::get(c, id)?.ok_or(AppError::NotFound)?;
            let mut tx = c.begin()?;
            outbox::retry(&mut tx, &actor, id).map_err(|e| match e {
                ChangeError::Invalid(m) => AppError::Conflict(m),
                other => other.into(),
            })?;
            tx.commit()?;
            outbox::get(c, id)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok(Json(out(m)))
}
