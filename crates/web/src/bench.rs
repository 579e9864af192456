//! Baselines for the benchmark in `bench/` (not routed by the application):
//! the same handler stack as the service — routing, the access rule, the
//! session check, security headers — serving what the real page serves, but
//! from memory (the tracker), as the raw summary rows (finance) or as the bare
//! primary-key lookup (a referral), so a page
//! can be measured as a ratio against them in the same run.

use crate::auth::Principal;
use crate::error::AppError;
use crate::routes::Routes;
use crate::state::AppState;
use axum::Extension;
use axum::Router;
use axum::extract::{Query, State};
use axum::middleware;
use axum::response::{IntoResponse, Response};

/// `/tracker` with its rows loaded once, then rendered from memory.
pub fn tracker_from_memory(state: AppState) -> Router {
    let memory: crate::tracker::Memory = std::sync::Arc::default();
    let routes = Routes::default().get(
        "/tracker",
        move |State(s): State<AppState>,
              Extension(p): Extension<Principal>,
              Query(q): Query<crate::tracker::TrackerQuery>| {
            let m = memory.clone();
            async move { crate::tracker::render_page(&s, &p, q, Some(m)).await }
        },
    );
    layered(routes, state)
}

/// `/referrals/{id}` answered with the bare primary-key lookup
/// (`referrals::get`) through the same store, as plain text.
pub fn referral_lookup(state: AppState) -> Router {
    let routes = Routes::default().get("/referrals/{id}", bare_referral);
    layered(routes, state)
}

async fn bare_referral(
    State(state): State<AppState>,
    Extension(_p): Extension<Principal>,
    crate::forms::Id(id): crate::forms::Id,
) -> Result<Response, AppError> {
    let r = state
        .db(move |c| jp_store::referrals::get(c, id)?.ok_or(AppError::NotFound))
        .await?;
    Ok(format!("{} {} {}", r.id, r.child_id, r.status.slug()).into_response())
}

/// `/finance` answered with this year's monthly summary rows, raw.
pub fn finance_raw(state: AppState) -> Router {
    let routes = Routes::default().get("/finance", raw_summary);
    layered(routes, state)
}

async fn raw_summary(
    State(state): State<AppState>,
    Extension(_p): Extension<Principal>,
) -> Result<Response, AppError> {
    let fy = i64::from(crate::finance::this_year());
    let text = state
        .db(move |c| {
            let mut out = String::new();
            for r in c.query(
                "SELECT organisation_id, panel_id, year, month, committed, pending, actual
                 FROM finance_months WHERE financial_year = $1",
                &jp_store::params![fy],
            )? {
                let v: [i64; 7] = [
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ];
                out.push_str(&format!("{v:?}\n"));
            }
            Ok(out)
        })
        .await?;
    Ok(text.into_response())
}

fn layered(routes: Routes, state: AppState) -> Router {
    let max = state.config.max_body_bytes;
    routes
        .into_router()
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::authenticate,
        ))
        .layer(middleware::from_fn(crate::security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(max))
        .with_state(state)
}
