//! System administration: reference data, people and roles (issue 3 §5).

pub mod agencies;
pub mod calendar;
pub mod members;
pub mod organisations;
pub mod outbox;
pub mod panels;
pub mod users;

use crate::auth::Principal;
use crate::error::AppError;
use crate::pages::{PageCtx, render};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

pub fn routes() -> Routes {
    Routes::default()
        .get("/admin", index)
        .merge(organisations::routes())
        .merge(agencies::routes())
        .merge(panels::routes())
        .merge(members::routes())
        .merge(users::routes())
        .merge(calendar::routes())
        .merge(outbox::routes())
}

#[derive(Template)]
#[template(path = "admin/index.html")]
struct IndexPage {
    page: PageCtx,
    counts: [(&'static str, &'static str, i64, &'static str); 6],
}

async fn index(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Response, AppError> {
    let counts = state
        .db(|c| {
            let mut n = |sql: &str| -> Result<i64, AppError> { Ok(c.query_one(sql, &[])?.get(0)?) };
            Ok([
                ("/admin/organisations", "Organisations", n("SELECT COUNT(*) FROM organisations")?, "The bodies that pay: the council, the NHS commissioner, education."),
                ("/admin/agencies", "Agencies", n("SELECT COUNT(*) FROM agencies")?, "Services with a seat on a panel; each belongs to one organisation."),
                ("/admin/panels", "Panels", n("SELECT COUNT(*) FROM panels")?, "Each panel's rules, deadlines, delegated authority, members, deputies and chair."),
                ("/admin/users", "People and roles", n("SELECT COUNT(*) FROM users")?, "Accounts, roles, agencies and teams; unlock accounts and set passwords."),
                ("/admin/calendar", "Working-day calendar", n("SELECT COUNT(*) FROM closure_days")?, "Bank holidays by region, official lists loaded for new years, and the offices' closure days (the count)."),
                ("/admin/outbox", "E-mail outbox", n("SELECT COUNT(*) FROM outbox WHERE status = 'failed'")?, "Every e-mail sent, waiting or failed (the count: failed), with the reason; send failed ones again."),
            ])
        })
        .await?;
    Ok(render(&IndexPage {
        page: PageCtx::new(&p, "Administration", "/admin"),
        counts,
    }))
}

/// `?saved=…` after a successful save: the banner's words.
#[derive(Deserialize, Default)]
pub struct Saved {
    saved: Option<String>,
}

impl Saved {
    /// Whether the redirect said `what` was done.
    pub fn is(&self, what: &str) -> bool {
        self.saved.as_deref() == Some(what)
    }

    pub fn banner(&self, what: &str) -> Option<String> {
        match self.saved.as_deref() {
            Some("created") => Some(format!("{what} added")),
            Some("updated") => Some(format!("{what} saved")),
            Some("removed") => Some(format!("{what} removed")),
            _ => None,
        }
    }
}

/// Options for a select of ids, with a first "Select …" entry.
pub fn id_options(
    prompt: &str,
    items: impl IntoIterator<Item = (i64, String)>,
) -> Vec<(String, String)> {
    std::iter::once((String::new(), prompt.to_owned()))
        .chain(items.into_iter().map(|(id, l)| (id.to_string(), l)))
        .collect()
}

/// Parses a required id chosen from a select.
pub fn chosen_id(raw: &str) -> Option<i64> {
    raw.trim().parse().ok().filter(|i: &i64| *i > 0)
}

/// What became of a save.
pub enum Outcome<T> {
    Saved(T),
    /// Someone else saved first: the record's current version and what it now says.
    Conflict {
        version: i64,
        summary: Vec<(String, String)>,
    },
    /// Refused with a message for the person (a duplicate name, a missing link).
    Refused(String),
}

type Current = Option<(i64, Vec<(String, String)>)>;

/// Runs `change` in one transaction (committed only when it succeeds); on a
/// version conflict reads what is saved now with `current`.
pub async fn save<T, C, R>(state: &AppState, change: C, current: R) -> Result<Outcome<T>, AppError>
where
    T: Send + 'static,
    C: FnOnce(&mut jp_store::db::Tx<'_>) -> Result<T, ChangeError> + Send + 'static,
    R: FnOnce(&mut jp_store::db::Conn) -> Result<Current, jp_store::db::DbError> + Send + 'static,
{
    state
        .db(move |c| {
            let mut tx = c.begin()?;
            match change(&mut tx) {
                Ok(v) => {
                    tx.commit()?;
                    Ok(Outcome::Saved(v))
                }
                Err(ChangeError::Conflict { .. }) => {
                    drop(tx);
                    match current(c)? {
                        Some((version, summary)) => Ok(Outcome::Conflict { version, summary }),
                        None => Err(AppError::NotFound),
                    }
                }
                Err(ChangeError::Duplicate(m) | ChangeError::Invalid(m)) => Ok(Outcome::Refused(m)),
                Err(other) => Err(other.into()),
            }
        })
        .await
}

pub const CONFLICT_MESSAGE: &str = "Someone else saved this record after you opened it. Check what they saved before you save again.";

/// Turns an outcome into the response: a redirect when saved, the form again otherwise.
pub fn respond<T>(
    outcome: Outcome<T>,
    saved_to: &str,
    mut form: crate::pages::FormPage,
    refused_field: &str,
) -> Response {
    use axum::response::IntoResponse;
    match outcome {
        Outcome::Saved(_) => axum::response::Redirect::to(saved_to).into_response(),
        Outcome::Conflict { version, summary } => {
            form.errors.add("_form", CONFLICT_MESSAGE);
            form.version = Some(version);
            form.conflict = summary;
            form.page.error_prefix = true;
            form.respond()
        }
        Outcome::Refused(m) => {
            form.errors.add(refused_field, m);
            form.fields = crate::pages::with_errors(form.fields, &form.errors);
            form.page.error_prefix = true;
            form.respond()
        }
    }
}

use jp_store::ChangeError;
