//! The e-mail outbox page: what was sent, what waits, what failed and why;
//! a failed message can be sent again (audited).

use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::Form;
use crate::pages::{PageCtx, date_time, render};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use jp_store::ChangeError;
use jp_store::outbox::{self, Mail};
use serde::Deserialize;

pub fn routes() -> Routes {
    Routes::default()
        .get("/admin/outbox", page)
        .post("/admin/outbox/retry", retry)
}

pub const PAGE_SIZE: i64 = 50;
pub const STATUSES: [(&str, &str); 4] = [
    ("pending", "Waiting"),
    ("sending", "Sending"),
    ("sent", "Sent"),
    ("failed", "Failed"),
];

#[derive(Deserialize, Default)]
pub struct OutboxQuery {
    pub status: Option<String>,
    pub before: Option<String>,
    saved: Option<String>,
}

impl OutboxQuery {
    /// The status filter (empty: all) and the keyset position; unknown values are ignored.
    pub fn filter(&self) -> (Option<String>, Option<i64>) {
        let status = self
            .status
            .as_deref()
            .filter(|s| STATUSES.iter().any(|(k, _)| k == s))
            .map(str::to_owned);
        let before = self.before.as_deref().and_then(|b| b.trim().parse().ok());
        (status, before)
    }
}

pub struct Row {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub status: &'static str,
    pub tag: &'static str,
    pub attempts: i64,
    pub when: String,
    pub error: String,
    pub failed: bool,
}

#[derive(Template)]
#[template(path = "admin/outbox.html")]
struct OutboxPage {
    page: PageCtx,
    smtp_configured: bool,
    counts: Vec<(&'static str, &'static str, i64)>,
    status: String,
    rows: Vec<Row>,
    older: Option<String>,
}

fn row(m: Mail) -> Row {
    let (status, tag) = match m.status.as_str() {
        "sent" => ("Sent", "govuk-tag--green"),
        "failed" => ("Failed", "govuk-tag--red"),
        "sending" => ("Sending", "govuk-tag--blue"),
        _ => ("Waiting", "govuk-tag--grey"),
    };
    Row {
        id: m.id,
        to: format!("{} <{}>", m.to_name, m.to_address),
        subject: m.subject,
        status,
        tag,
        attempts: m.attempts,
        when: match m.sent_at {
            Some(t) => format!("Sent {}", date_time(t)),
            None if m.status == "pending" => format!("Next try {}", date_time(m.next_attempt_at)),
            None => format!("Queued {}", date_time(m.created_at)),
        },
        error: m.last_error.unwrap_or_default(),
        failed: m.status == "failed",
    }
}

async fn page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<OutboxQuery>,
) -> Result<Response, AppError> {
    let (status, before) = q.filter();
    let s2 = status.clone();
    let (counts, mails) = state
        .db(move |c| {
            Ok((
                outbox::counts(c)?,
                outbox::list(c, s2.as_deref(), before, PAGE_SIZE + 1)?,
            ))
        })
        .await?;
    let more = mails.len() as i64 > PAGE_SIZE;
    let rows: Vec<Row> = mails
        .into_iter()
        .take(PAGE_SIZE as usize)
        .map(row)
        .collect();
    let older = if more {
        rows.last().map(|r| {
            format!(
                "/admin/outbox?{}before={}",
                status
                    .as_deref()
                    .map(|s| format!("status={s}&"))
                    .unwrap_or_default(),
                r.id
            )
        })
    } else {
        None
    };
    let mut page = PageCtx::new(&p, "E-mail outbox", "/admin/outbox");
    page.flash = (q.saved.as_deref() == Some("retried"))
        .then(|| "The message will be sent again".to_owned());
    Ok(render(&OutboxPage {
        page,
        smtp_configured: state.config.smtp_configured,
        counts: STATUSES
            .iter()
            .map(|(k, label)| {
                (
                    *k,
                    *label,
                    counts
                        .iter()
                        .find(|(s, _)| s == k)
                        .map(|(_, n)| *n)
                        .unwrap_or(0),
                )
            })
            .collect(),
        status: status.unwrap_or_default(),
        rows,
        older,
    }))
}

async fn retry(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    form: Form,
) -> Result<Response, AppError> {
    let id = crate::admin::chosen_id(form.get("mail_id")).ok_or(AppError::NotFound)?;
    let actor = p.actor();
    state
        .db(move |c| {
            let mut tx = c.begin()?;
            outbox::retry(&mut tx, &actor, id).map_err(|e| match e {
                ChangeError::Invalid(m) => AppError::Conflict(m),
                other => other.into(),
            })?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(Redirect::to("/admin/outbox?saved=retried").into_response())
}
