//! The audit log over the API (auditors only).

use super::ApiResult;
use crate::audit_log::{AuditQuery, PAGE_SIZE};
use crate::routes::Routes;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use jp_store::audit::{self, Verdict};
use serde::Serialize;
use utoipa::ToSchema;

pub fn routes() -> Routes {
    Routes::default()
        .get("/api/v1/audit", list)
        .get("/api/v1/audit/verify", verify)
}

#[derive(Serialize, ToSchema)]
pub struct EntryOut {
    pub seq: i64,
    /// UTC
    pub at: String,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(("actor" = Option<String>, Query), ("action" = Option<String>, Query), ("entity" = Option<String>, Query), ("entity_id" = Option<String>, Query),
           ("from" = Option<String>, Query, description = "a date, 2026-11-23"), ("to" = Option<String>, Query), ("before" = Option<i64>, Query, description = "entries before this sequence number")),
    responses((status = 200, description = "Up to 50 entries, newest first", body = Vec<EntryOut>), (status = 422, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Vec<EntryOut>> {
    let f = q
        .filter()
        .map_err(|(field, message)| super::field_problem(&field, message))?;
    let entries = state
        .db(move |c| Ok(audit::list(c, &f, PAGE_SIZE)?))
        .await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| EntryOut {
                seq: e.seq,
                at: e.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                actor_id: e.actor_id,
                actor: e.actor,
                action: e.action,
                entity: e.entity,
                entity_id: e.entity_id,
                details: serde_json::from_str(&e.details)
                    .unwrap_or(serde_json::Value::String(e.details)),
                prev_hash: e.prev_hash,
                hash: e.hash,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct VerifyOut {
    pub intact: bool,
    pub entries: Option<i64>,
    pub broken_at: Option<i64>,
    pub problem: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", responses((status = 200, body = VerifyOut)))]
pub async fn verify(State(state): State<AppState>) -> ApiResult<VerifyOut> {
    let v = state.db(|c| Ok(audit::verify(c)?)).await?;
    Ok(Json(match v {
        Verdict::Intact { entries } => VerifyOut {
            intact: true,
            entries: Some(entries),
            broken_at: None,
            problem: None,
        },
        Verdict::Broken { seq, problem } => VerifyOut {
            intact: false,
            entries: None,
            broken_at: Some(seq),
            problem: Some(problem),
        },
    }))
}
