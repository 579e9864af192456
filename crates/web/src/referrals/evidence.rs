//! Evidence files: upload (streamed, limited, checked by content), list,
//! remove, and download (only to people who may see the referral; audited).

use super::sections::load_editable;
use super::{Loaded, load};
use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::{Errors, Form, Id};
use crate::pages::{PageCtx, render};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jp_store::ChangeError;
use jp_store::attachments::{self, Blobs, Refusal, human_size, sanitise_name};
use jp_store::referrals::Sight;

pub fn routes() -> Routes {
    Routes::default()
        .get("/referrals/{id}/evidence", page)
        .post_streamed("/referrals/{id}/evidence", upload)
        .post("/referrals/{id}/evidence/remove", remove)
        .get("/attachments/{id}", download)
}

#[derive(Template)]
#[template(path = "referrals/evidence.html")]
struct EvidencePage {
    page: PageCtx,
    l: Loaded,
    errors: Errors,
    limit: String,
}

async fn respond(
    state: &AppState,
    p: &Principal,
    id: i64,
    errors: Errors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let l = load_editable(state, p, id).await?;
    let mut res = render(&EvidencePage {
        page: PageCtx::new(p, "Evidence", "/referrals").with_errors(&errors),
        l,
        errors,
        limit: human_size(state.config.attachments.max_bytes),
    });
    *res.status_mut() = status;
    Ok(res)
}

async fn page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    respond(&state, &p, id, Errors::default(), StatusCode::OK).await
}

/// A refused file is a security-relevant event: records what was refused and why
/// (in its own transaction: nothing else changes).
async fn record_refusal(
    state: &AppState,
    p: &Principal,
    id: i64,
    r: &Refusal,
    name: &str,
) -> Result<(), AppError> {
    let details = serde_json::json!({"reason": r.to_string(), "file_name": jp_domain::text::printable(name, 200)});
    state
        .record_event(
            p.actor(),
            "attachment.refused",
            "referral",
            id.to_string(),
            details,
        )
        .await
}

fn refused(field: &str, m: impl Into<String>) -> Errors {
    let mut e = Errors::default();
    e.add(field, m);
    e
}

/// Why an upload was refused: the status to answer and a message a person can act on.
pub struct Refused(pub StatusCode, pub String);

/// Streams one file into the blob store, refusing it as soon as it passes the
/// size limit; checks what it is by its content (and DOCX/XLSX for zip
/// bombs); attaches it to the referral. Refusals of the file are audited.
pub async fn accept<S, E>(
    state: &AppState,
    p: &Principal,
    id: i64,
    name: &str,
    body: S,
) -> Result<Result<i64, Refused>, AppError>
where
    S: futures_util::Stream<Item = Result<axum::body::Bytes, E>>,
{
    if name.trim().is_empty() {
        return Ok(Err(Refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Select a file".into(),
        )));
    }
    let blobs = Blobs::new(state.config.data_dir.join("attachments"));
    let mut up = blobs
        .upload(state.config.attachments)
        .map_err(|_| AppError::Internal("cannot create the upload folder".into()))?;
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
        let chunk = chunk
            .map_err(|_| AppError::BadRequest("The upload was interrupted; try again".into()))?;
        if let Err(r) = up.write(&chunk) {
            record_refusal(state, p, id, &r, name).await?;
            let status = if matches!(r, Refusal::TooLarge(_)) {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            return Ok(Err(Refused(status, r.to_string())));
        }
    }
    let blobs2 = blobs.clone();
    let checked = tokio::task::spawn_blocking(move || up.finish().and_then(|c| blobs2.keep(c)))
        .await
        .map_err(|e| AppError::Internal(format!("upload check failed: {e}")))?;
    let stored = match checked {
        Ok(s) => s,
        Err(r) => {
            record_refusal(state, p, id, &r, name).await?;
            return Ok(Err(Refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                r.to_string(),
            )));
        }
    };
    state.config.files.publish(&blobs, &stored.sha256).await?;
    let clean = sanitise_name(name, stored.kind);
    let actor = p.actor();
    let uploader = p.user.id;
    state
        .db(move |c| {
            let mut tx = c.begin()?;
            match attachments::add(&mut tx, &actor, id, uploader, &clean, &stored) {
                Ok(aid) => {
                    tx.commit()?;
                    Ok(Ok(aid))
                }
                Err(ChangeError::Invalid(m)) => {
                    Ok(Err(Refused(StatusCode::UNPROCESSABLE_ENTITY, m)))
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
}

/// Receives `_csrf` then `file` as multipart/form-data. The body limit is
/// lifted for this route and enforced while streaming instead.
async fn upload(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    crate::forms::Upload {
        parts: mut multipart,
        token,
    }: crate::forms::Upload,
) -> Result<Response, AppError> {
    load_editable(&state, &p, id).await?;
    let mut csrf_ok = false;
    let mut outcome = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return Err(AppError::BadRequest(
                    "The upload was interrupted or malformed; try again".into(),
                ));
            }
        };
        match field.name() {
            Some("_csrf") => csrf_ok = crate::forms::Upload::token_part(field, &token).await,
            Some("file") if csrf_ok => {
                let name = field.file_name().unwrap_or("").to_owned();
                outcome = Some(accept(&state, &p, id, &name, field).await?);
                break;
            }
            _ => {}
        }
    }
    if !csrf_ok {
        return Err(AppError::Csrf(
            "the form's security token is missing or wrong",
        ));
    }
    match outcome {
        Some(Ok(_)) => Ok(Redirect::to(&format!("/referrals/{id}/evidence")).into_response()),
        Some(Err(Refused(status, m))) => respond(&state, &p, id, refused("file", m), status).await,
        None => {
            respond(
                &state,
                &p,
                id,
                refused("file", "Select a file"),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

async fn remove(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    load_editable(&state, &p, id).await?;
    let aid = crate::admin::chosen_id(form.get("attachment_id")).ok_or(AppError::NotFound)?;
    let actor = p.actor();
    state
        .db(move |c| {
            let mut tx = c.begin()?;
            attachments::remove(&mut tx, &actor, id, aid)?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(Redirect::to(&format!("/referrals/{id}/evidence")).into_response())
}

async fn download(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    let a = state
        .db(move |c| attachments::get(c, id)?.ok_or(AppError::NotFound))
        .await?;
    // Only people who see the whole referral see its evidence.
    load(&state, &p, a.referral_id, Sight::Full).await?;
    let actor = p.actor();
    let a2 = a.clone();
    state
        .db(move |c| {
            attachments::record_download(c, &actor, &a2)?;
            Ok(())
        })
        .await?;
    let blobs = Blobs::new(state.config.data_dir.join("attachments"));
    let bytes = state.config.files.read(&blobs, &a.sha256).await?;
    Ok(crate::files::download(bytes, &a.file_name, &a.content_type))
}
