//! The auditor's page: the audit log, filtered, newest first, with a check of the chain.

use crate::auth::Principal;
use crate::error::AppError;
use crate::pages::{PageCtx, date_time, render};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::NaiveDate;
use jp_store::audit::{self, Entry, Filter, Verdict};
use serde::Deserialize;

pub fn routes() -> Routes {
    Routes::default().get("/audit", page)
}

pub const PAGE_SIZE: i64 = 50;

#[derive(Deserialize, Default, Debug, Clone)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub before: Option<i64>,
    pub verify: Option<String>,
}

/// "23/11/2026", "23 11 2026" or "2026-11-23".
pub fn parse_day(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .or_else(|_| NaiveDate::parse_from_str(s, "%d %m %Y"))
        .ok()
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl AuditQuery {
    /// The store's filter, or the message for a date that cannot be read.
    pub fn filter(&self) -> Result<Filter, (String, String)> {
        let day = |field: &str,
                   v: &Option<String>,
                   end: bool|
         -> Result<Option<chrono::NaiveDateTime>, (String, String)> {
            match nonempty(v) {
                None => Ok(None),
                Some(s) => parse_day(&s)
                    .map(|d| {
                        Some(
                            if end { d.succ_opt().unwrap_or(d) } else { d }
                                .and_hms_opt(0, 0, 0)
                                .unwrap_or_default(),
                        )
                    })
                    .ok_or_else(|| {
                        (
                            field.to_owned(),
                            format!("Enter a real date for {field}, like 23/11/2026"),
                        )
                    }),
            }
        };
        Ok(Filter {
            actor: nonempty(&self.actor),
            action: nonempty(&self.action),
            entity: nonempty(&self.entity),
            entity_id: nonempty(&self.entity_id),
            from: day("from", &self.from, false)?,
            to: day("to", &self.to, true)?,
            before: self.before,
        })
    }
}

pub struct Row {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub details: String,
}

#[derive(Template)]
#[template(path = "audit/list.html")]
struct AuditPage {
    page: PageCtx,
    q: AuditQuery,
    actions: Vec<String>,
    entities: Vec<String>,
    rows: Vec<Row>,
    older: Option<String>,
    error: Option<(String, String)>,
    verdict: Option<Verdict>,
}

fn query_string(q: &AuditQuery, before: i64) -> String {
    let mut parts = vec![format!("before={before}")];
    for (k, v) in [
        ("actor", &q.actor),
        ("action", &q.action),
        ("entity", &q.entity),
        ("entity_id", &q.entity_id),
        ("from", &q.from),
        ("to", &q.to),
    ] {
        if let Some(v) = nonempty(v) {
            parts.push(format!("{k}={}", crate::forms::url_encode(&v)));
        }
    }
    format!("/audit?{}", parts.join("&"))
}

async fn page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let filter = q.filter();
    let verify = q.verify.is_some();
    let f2 = filter.clone().unwrap_or_default();
    let bad = filter.is_err();
    let (entries, (actions, entities), verdict) = state
        .db(move |c| {
            let entries: Vec<Entry> = if bad {
                vec![]
            } else {
                audit::list(c, &f2, PAGE_SIZE + 1)?
            };
            let verdict = if verify {
                Some(audit::verify(c)?)
            } else {
                None
            };
            Ok((entries, audit::vocabulary(c)?, verdict))
        })
        .await?;
    let more = entries.len() as i64 > PAGE_SIZE;
    let rows: Vec<Row> = entries
        .into_iter()
        .take(PAGE_SIZE as usize)
        .map(|e| Row {
            seq: e.seq,
            at: date_time(e.at),
            actor: e.actor,
            action: e.action,
            entity: match e.entity_id {
                Some(id) => format!("{} {id}", e.entity),
                None => e.entity,
            },
            details: e.details,
        })
        .collect();
    let older = if more {
        rows.last().map(|r| query_string(&q, r.seq))
    } else {
        None
    };
    let error = filter.err();
    let mut page = PageCtx::new(&p, "Audit log", "/audit");
    page.error_prefix = error.is_some();
    let mut res = render(&AuditPage {
        page,
        q,
        actions,
        entities,
        rows,
        older,
        error: error.clone(),
        verdict,
    });
    if error.is_some() {
        *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}
