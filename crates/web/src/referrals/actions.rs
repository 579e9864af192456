//! The lifecycle's moves from the referral page: send for approval, approve
//! or return, submit and book, late items, moving, withdrawing.

use super::{gaps, load, show_page, today};
use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::{Errors, Form, Id, version};
use crate::routes::Routes;
use crate::state::AppState;
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use jp_domain::text;
use jp_store::referrals::{self, Referral, Sight};
use jp_store::{ChangeError, meetings};

pub fn routes() -> Routes {
    Routes::default()
        .post("/referrals/{id}/send", send)
        .post("/referrals/{id}/approval", approval)
        .post("/referrals/{id}/submit", submit)
        .post("/referrals/{id}/late", request_late)
        .post("/referrals/{id}/late/answer", answer_late)
        .post("/referrals/{id}/move", move_to)
        .post("/referrals/{id}/withdraw", withdraw)
}

/// What a move came to: done, or refused with messages for the fields concerned.
pub enum Moved {
    Done(Box<Referral>),
    Refused(Vec<(String, String)>),
}

fn refused(field: &str, m: impl Into<String>) -> Moved {
    Moved::Refused(vec![(field.to_owned(), m.into())])
}

/// Runs a move in one transaction: a refusal comes back as a message for
/// `field`, a stale version as a conflict (409).
async fn apply<F>(state: &AppState, p: &Principal, field: &str, f: F) -> Result<Moved, AppError>
where
    F: FnOnce(&mut jp_store::db::Tx<'_>, &jp_store::Actor) -> Result<Referral, ChangeError>
        + Send
        + 'static,
{
    let actor = p.actor();
    let result = state
        .db(move |c| {
            let mut tx = c.begin()?;
            match f(&mut tx, &actor) {
                Ok(r) => {
                    tx.commit()?;
                    Ok(Ok(r))
                }
                Err(ChangeError::Invalid(m) | ChangeError::Duplicate(m)) => Ok(Err(m)),
                Err(ChangeError::Conflict { .. }) => Err(AppError::Conflict(
                    "Someone else changed this referral after you opened it. Go back to the referral to see where it is now.".into(),
                )),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    Ok(match result {
        Ok(r) => Moved::Done(Box::new(r)),
        Err(m) => refused(field, m),
    })
}

/// The page's answer to a move: back to the referral, or the referral with the refusal.
async fn respond(
    state: &AppState,
    p: &Principal,
    id: i64,
    moved: Moved,
    check: bool,
) -> Result<Response, AppError> {
    match moved {
        Moved::Done(_) => Ok(Redirect::to(&format!("/referrals/{id}")).into_response()),
        Moved::Refused(problems) => {
            let mut e = Errors::default();
            for (field, m) in problems {
                e.add(&field, m);
            }
            show_page(state, p, id, e, check).await
        }
    }
}

async fn run<F>(
    state: &AppState,
    p: &Principal,
    id: i64,
    field: &str,
    f: F,
) -> Result<Response, AppError>
where
    F: FnOnce(&mut jp_store::db::Tx<'_>, &jp_store::Actor) -> Result<Referral, ChangeError>
        + Send
        + 'static,
{
    let moved = apply(state, p, field, f).await?;
    respond(state, p, id, moved, false).await
}

/// Sends a complete referral to the referrer's approvers (only the referrer may).
pub async fn send_move(
    state: &AppState,
    p: &Principal,
    id: i64,
    v: i64,
) -> Result<Moved, AppError> {
    let l = load(state, p, id, Sight::Full).await?;
    if l.r.referrer_id != p.user.id {
        return Err(AppError::Forbidden);
    }
    let missing = gaps(&l);
    if !missing.is_empty() {
        return Ok(Moved::Refused(
            missing
                .into_iter()
                .map(|(_, m)| ("send".to_owned(), m))
                .collect(),
        ));
    }
    let base = state.config.base_url.clone();
    apply(state, p, "send", move |tx, actor| {
        let r = referrals::send_for_approval(tx, actor, id, v)?;
        crate::notify::sent_for_approval(tx, &base, &r)?;
        Ok(r)
    })
    .await
}

async fn send(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    let moved = send_move(&state, &p, id, v).await?;
    let check = matches!(moved, Moved::Refused(_));
    respond(&state, &p, id, moved, check).await
}

/// Approves or returns a referral. Approving one's own referral is refused and audited.
pub async fn approval_move(
    state: &AppState,
    p: &Principal,
    id: i64,
    v: i64,
    decision: &str,
    comments: &str,
) -> Result<Moved, AppError> {
    let approve = match decision {
        "approve" => true,
        "return" => false,
        _ => {
            return Ok(refused(
                "decision",
                "Select whether you approve the referral or return it for changes",
            ));
        }
    };
    let comments = match text::optional(comments, "your comments", 5_000) {
        Ok(c) => c.unwrap_or_default(),
        Err(m) => return Ok(refused("comments", m)),
    };
    let l = load(state, p, id, Sight::Full).await?;
    if l.r.referrer_id == p.user.id {
        // A security event: recorded in its own transaction, the change refused.
        state
            .record_event(
                p.actor(),
                "referral.self-approval-refused",
                "referral",
                id.to_string(),
                serde_json::json!({}),
            )
            .await?;
        return Ok(refused(
            "decision",
            "You cannot approve or return your own referral: a service manager or panel member must do it",
        ));
    }
    let approver = p.user.clone();
    let base = state.config.base_url.clone();
    apply(
        state,
        p,
        if approve { "decision" } else { "comments" },
        move |tx, actor| {
            let r = referrals::decide_approval(tx, actor, &approver, id, v, approve, &comments)?;
            crate::notify::approval_decided(tx, &base, &r, &approver, approve)?;
            Ok(r)
        },
    )
    .await
}

async fn approval(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    let moved = approval_move(
        &state,
        &p,
        id,
        v,
        form.get("decision"),
        form.get("comments"),
    )
    .await?;
    respond(&state, &p, id, moved, false).await
}

/// Submits an approved referral and books it onto the next meeting whose deadline is open.
pub async fn submit_move(
    state: &AppState,
    p: &Principal,
    id: i64,
    v: i64,
) -> Result<Moved, AppError> {
    let l = load(state, p, id, Sight::Full).await?;
    if l.r.referrer_id != p.user.id && !p.user.has(jp_domain::Role::Administrator) {
        return Err(AppError::Forbidden);
    }
    let panel = l.panel.clone();
    let base = state.config.base_url.clone();
    apply(state, p, "submit", move |tx, actor| {
        let coming = crate::booking::coming(tx, actor, &panel, today())?;
        let Some(next) = crate::booking::next_on_time(&coming, today()) else {
            return Err(ChangeError::Invalid("There is no meeting of this panel with an open submission deadline yet; ask the panel administrator".into()));
        };
        let meeting = next.meeting.clone();
        let r = referrals::submit_and_book(tx, actor, id, v, &meeting)?;
        crate::notify::booked(tx, &base, &r, &meeting)?;
        Ok(r)
    })
    .await
}

async fn submit(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    let moved = submit_move(&state, &p, id, v).await?;
    respond(&state, &p, id, moved, false).await
}

/// Finds a meeting chosen on the page, checking it is still to come.
fn chosen_meeting(
    tx: &mut jp_store::db::Tx<'_>,
    raw: &str,
) -> Result<meetings::Meeting, ChangeError> {
    let id = crate::admin::chosen_id(raw)
        .ok_or_else(|| ChangeError::Invalid("Select a meeting".into()))?;
    let m =
        meetings::get(tx, id)?.ok_or_else(|| ChangeError::Invalid("Select a meeting".into()))?;
    if m.date < today() {
        return Err(ChangeError::Invalid(
            "That meeting has already taken place".into(),
        ));
    }
    Ok(m)
}

async fn request_late(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    let l = load(&state, &p, id, Sight::Full).await?;
    if l.r.referrer_id != p.user.id && !p.user.has(jp_domain::Role::Administrator) {
        return Err(AppError::Forbidden);
    }
    let reason = match text::required(
        form.get("late_reason"),
        "why the referral cannot wait for the next meeting",
        2_000,
    ) {
        Ok(r) => r,
        Err(m) => {
            let mut e = Errors::default();
            e.add("late_reason", m);
            return show_page(&state, &p, id, e, false).await;
        }
    };
    let raw = form.get("late_meeting_id").to_owned();
    let panel = l.panel.clone();
    let base = state.config.base_url.clone();
    run(&state, &p, id, "late_meeting_id", move |tx, actor| {
        let m = chosen_meeting(tx, &raw)?;
        let deadline = crate::booking::submission_deadline(tx, &panel, m.date)?;
        if today() <= deadline {
            return Err(ChangeError::Invalid("That meeting's deadline has not passed: ask the administrator to move the referral instead".into()));
        }
        let r = referrals::request_late(tx, actor, id, v, &m, &reason)?;
        crate::notify::late_requested(tx, &base, &r, &m)?;
        Ok(r)
    })
    .await
}

async fn answer_late(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    load(&state, &p, id, Sight::Full).await?;
    let agree = match form.get("answer") {
        "agree" => true,
        "refuse" => false,
        _ => {
            let mut e = Errors::default();
            e.add(
                "answer",
                "Select whether you agree to take the referral as a late item",
            );
            return show_page(&state, &p, id, e, false).await;
        }
    };
    let chair = p.user.clone();
    let base = state.config.base_url.clone();
    run(&state, &p, id, "answer", move |tx, actor| {
        let r = referrals::answer_late(tx, actor, &chair, id, v, agree)?;
        crate::notify::late_answered(tx, &base, &r, agree)?;
        Ok(r)
    })
    .await
}

async fn move_to(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    let l = load(&state, &p, id, Sight::Full).await?;
    let raw = form.get("meeting_id").to_owned();
    let panel = l.panel.clone();
    run(&state, &p, id, "meeting_id", move |tx, actor| {
        let m = chosen_meeting(tx, &raw)?;
        let deadline = crate::booking::submission_deadline(tx, &panel, m.date)?;
        referrals::move_to(tx, actor, id, v, &m, today() > deadline)
    })
    .await
}

async fn withdraw(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    let l = load(&state, &p, id, Sight::Full).await?;
    if l.r.referrer_id != p.user.id && !p.user.has(jp_domain::Role::Administrator) {
        return Err(AppError::Forbidden);
    }
    run(&state, &p, id, "withdraw", move |tx, actor| {
        referrals::withdraw(tx, actor, id, v)
    })
    .await
}
