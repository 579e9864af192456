//! The emerging issues log page (seed 002 §3): panel members raise issues
//! for the panels they sit on; the panel's chair or an administrator closes
//! them with what was done.

use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::{Errors, Form, Id, version};
use crate::pages::{Field, FieldKind, PageCtx, render_checked};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use jp_domain::{Role, text};
use jp_store::emerging::{self, Issue};

pub fn routes() -> Routes {
    Routes::default()
        .get("/emerging-issues", page)
        .post("/emerging-issues", raise)
        .post("/emerging-issues/{id}/close", close)
}

/// The panels a person may raise issues for (administrators: every panel).
fn panels_of(c: &mut jp_store::db::Conn, p: &Principal) -> Result<Vec<(i64, String)>, AppError> {
    let all = jp_store::reference::panels::list(c)?;
    if p.user.has(Role::Administrator) {
        return Ok(all.into_iter().map(|x| (x.id, x.name)).collect());
    }
    let mine = jp_store::referrals::panels_sat_on(c, p.user.id)?;
    Ok(all
        .into_iter()
        .filter(|x| mine.contains(&x.id))
        .map(|x| (x.id, x.name))
        .collect())
}

#[derive(Template)]
#[template(path = "emerging.html")]
struct Page {
    page: PageCtx,
    issues: Vec<(Issue, bool)>,
    fields: Vec<Field>,
    can_raise: bool,
    errors: Errors,
}

async fn respond(
    state: &AppState,
    p: &Principal,
    form: Option<Form>,
    errors: Errors,
) -> Result<Response, AppError> {
    let principal = p.clone();
    let (panels, issues) = state
        .db(move |c| {
            let panels = panels_of(c, &principal)?;
            let ids: Vec<i64> = panels.iter().map(|(id, _)| *id).collect();
            let mut out = Vec::new();
            for i in emerging::list(c, Some(&ids))? {
                let can_close = i.status == "open"
                    && (principal.user.has(Role::Administrator)
                        || jp_store::referrals::chairs(c, principal.user.id, i.panel_id)?);
                out.push((i, can_close));
            }
            Ok((panels, out))
        })
        .await?;
    let kept = |k: &str| {
        form.as_ref()
            .map(|f| f.get(k).to_owned())
            .unwrap_or_default()
    };
    let mut options = vec![(String::new(), "Select a panel".to_owned())];
    options.extend(panels.iter().map(|(id, n)| (id.to_string(), n.clone())));
    let fields = crate::pages::with_errors(
        vec![
            Field::select("panel_id", "Panel", kept("panel_id"), options),
            Field::text("title", "The issue, in a line", kept("title")),
            Field::textarea("description", "What you have seen, and across which cases", kept("description"))
                .hint("Do not name children: describe the pattern (for example, three referrals this quarter needed autism-trained respite carers and none were available locally)"),
        ],
        &errors,
    );
    let view = Page {
        page: PageCtx::new(p, "Emerging issues", "/emerging-issues").with_errors(&errors),
        can_raise: !panels.is_empty(),
        issues,
        fields,
        errors,
    };
    Ok(render_checked(&view, &view.errors))
}

async fn page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Response, AppError> {
    respond(&state, &p, None, Errors::default()).await
}

async fn raise(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    form: Form,
) -> Result<Response, AppError> {
    let mut e = Errors::default();
    let panel = crate::admin::chosen_id(form.get("panel_id"));
    if panel.is_none() {
        e.add("panel_id", "Select the panel the issue is for");
    }
    let title = e.take(
        "title",
        text::required(form.get("title"), "the issue in a line", 200),
    );
    let description = e.take(
        "description",
        text::required(form.get("description"), "what you have seen", 5_000),
    );
    let (Some(panel), Some(title), Some(description)) = (panel, title, description) else {
        return respond(&state, &p, Some(form), e).await;
    };
    let principal = p.clone();
    let actor = p.actor();
    let allowed = state
        .db(move |c| Ok(panels_of(c, &principal)?.iter().any(|(id, _)| *id == panel)))
        .await?;
    if !allowed {
        e.add(
            "panel_id",
            "You can raise issues only for the panels you sit on",
        );
        return respond(&state, &p, Some(form), e).await;
    }
    let user = p.user.id;
    crate::admin::save(
        &state,
        move |tx| emerging::raise(tx, &actor, user, panel, &title, &description),
        |_| Ok(None),
    )
    .await?;
    Ok(Redirect::to("/emerging-issues").into_response())
}

async fn close(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    let key = format!("outcome-{id}");
    let outcome = match text::required(form.get(&key), "what was done about the issue", 2_000) {
        Ok(o) => o,
        Err(m) => {
            let mut e = Errors::default();
            e.add(&key, m);
            return respond(&state, &p, Some(form), e).await;
        }
    };
    let principal = p.clone();
    let issue = state
        .db(move |c| {
            let i = emerging::get(c, id)?.ok_or(AppError::NotFound)?;
            if !principal.user.has(Role::Administrator)
                && !jp_store::referrals::chairs(c, principal.user.id, i.panel_id)?
            {
                return Err(AppError::Denied(format!(
                    "Only the chair of the {} or a panel administrator closes its issues",
                    i.panel
                )));
            }
            Ok(i)
        })
        .await?;
    let (actor, user) = (p.actor(), p.user.id);
    let outcome = crate::admin::save(
        &state,
        move |tx| emerging::close(tx, &actor, user, issue.id, v, &outcome),
        move |c| Ok(emerging::get(c, id)?.map(|i| (i.version, Vec::new()))),
    )
    .await?;
    match outcome {
        crate::admin::Outcome::Saved(()) => Ok(Redirect::to("/emerging-issues").into_response()),
        crate::admin::Outcome::Refused(m) => {
            let mut e = Errors::default();
            e.add(&key, m);
            respond(&state, &p, Some(form), e).await
        }
        crate::admin::Outcome::Conflict { .. } => Err(AppError::Conflict(
            "Someone closed or changed this issue after you opened the page".into(),
        )),
    }
}
