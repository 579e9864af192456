//! A person's own account: details, roles, API tokens (revocable), password change.

use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::{Errors, Form, Id};
use crate::pages::{Field, FormPage, PageCtx, date_time, render};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use jp_domain::{Email, Password};
use jp_store::accounts::{self, TokenInfo};

pub fn routes() -> Routes {
    Routes::default()
        .get("/account", show)
        .get("/account/password", password_form)
        .post("/account/password", change_password)
        .post("/account/tokens/{id}/revoke", revoke)
}

#[derive(Template)]
#[template(path = "account/show.html")]
struct AccountPage {
    page: PageCtx,
    details: Vec<(String, String)>,
    tokens: Vec<(TokenInfo, String, String)>,
    /// The active calendar feed: when made, and when last read.
    feed: Option<(String, String)>,
}

async fn show(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(saved): Query<crate::admin::Saved>,
) -> Result<Response, AppError> {
    let id = p.user.id;
    let (tokens, feed) = state
        .db(move |c| Ok((accounts::tokens_of(c, id)?, jp_store::feeds::active(c, id)?)))
        .await?;
    let feed = feed.map(|(made, used)| {
        (
            date_time(made),
            used.map_or_else(
                || "not read yet".to_owned(),
                |t| format!("last read {}", date_time(t)),
            ),
        )
    });
    let u = &p.user;
    let details = vec![
        ("Name".into(), u.name.clone()),
        ("Email address".into(), u.email.clone()),
        (
            "Roles".into(),
            u.roles
                .iter()
                .map(|r| r.label())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "Agency".into(),
            u.agency_name.clone().unwrap_or_else(|| "None".into()),
        ),
        (
            "Team".into(),
            u.team.clone().unwrap_or_else(|| "None".into()),
        ),
    ];
    let tokens = tokens
        .into_iter()
        .map(|t| {
            let created = date_time(t.created_at);
            let used = t.last_used_at.map_or_else(|| "Never".to_owned(), date_time);
            (t, created, used)
        })
        .collect();
    Ok(render(&AccountPage {
        page: PageCtx::new(&p, "Your account", "/account").with_flash(
            if saved.is("feed-revoked") {
                Some("Calendar feed revoked: its address no longer works".to_owned())
            } else {
                saved.banner("Password")
            },
        ),
        details,
        tokens,
        feed,
    }))
}

fn password_page(p: &Principal, errors: Errors) -> FormPage {
    let fields = vec![
        Field::text("current", "Current password", "").input("password", "current-password"),
        Field::text("new", "New password", "").input("password", "new-password").hint("At least 12 characters. A few unrelated words make a strong password that is easy to remember."),
        Field::text("confirm", "Type the new password again", "").input("password", "new-password"),
    ];
    let back = ("/account".into(), "Your account".into());
    let mut form = FormPage::new(
        PageCtx::new(p, "Change your password", "/account"),
        back,
        "/account/password".into(),
        None,
        fields,
        errors,
    );
    form.caption = String::new();
    form.intro = "Changing your password signs you out on every other device.".into();
    form.submit = "Change password".into();
    form
}

async fn password_form(Extension(p): Extension<Principal>) -> Response {
    password_page(&p, Errors::default()).respond()
}

async fn change_password(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    form: Form,
) -> Result<Response, AppError> {
    let mut e = Errors::default();
    let current = Password::for_sign_in(form.get("current"));
    if current.is_none() {
        e.add("current", "Enter your current password");
    }
    let email = Email::parse(&p.user.email).ok();
    let personal: Vec<&str> = [
        email.as_ref().map(Email::local_part),
        Some(p.user.name.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let new = e.take("new", Password::new(form.get("new"), &personal));
    if new.is_some() && form.get("confirm") != form.get("new") {
        e.add(
            "confirm",
            "The two new passwords are different: type the same password in both boxes",
        );
    }
    let (Some(current), Some(new), true) = (current, new, e.is_empty()) else {
        return Ok(password_page(&p, e).respond());
    };
    let Some(email) = email else {
        return Err(AppError::Internal("stored email does not parse".into()));
    };
    let actor = p.actor();
    let user_id = p.user.id;
    let ok = state
        .db(move |c| {
            let hash = accounts::find_for_sign_in(c, &email)?.and_then(|(_, h, _)| h);
            if !accounts::password_matches(hash.as_deref(), &current) {
                return Ok(false);
            }
            let mut tx = c.begin()?;
            accounts::set_password(&mut tx, &actor, user_id, &accounts::hash_password(&new))?;
            tx.commit()?;
            Ok(true)
        })
        .await?;
    if !ok {
        let mut e = Errors::default();
        e.add("current", "Your current password is not correct");
        return Ok(password_page(&p, e).respond());
    }
    // Setting a password ends every session, this one included: sign in again.
    Ok(Redirect::to("/sign-in").into_response())
}

async fn revoke(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(token_id): Id,
    _form: Form,
) -> Result<Response, AppError> {
    let actor = p.actor();
    let user_id = p.user.id;
    state
        .db(move |c| {
            let mut tx = c.begin()?;
            accounts::revoke_token(&mut tx, &actor, user_id, token_id)?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(Redirect::to("/account").into_response())
}
