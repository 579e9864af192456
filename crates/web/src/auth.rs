//! Who is calling: a browser session (cookie) or a script (bearer token).
//! Signing in and out, lockout, and the session cookie.

use crate::error::AppError;
use crate::forms::{Errors, Form};
use crate::pages::{PageCtx, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use jp_domain::{Email, Password};
use jp_store::accounts::{self, User};
use jp_store::sessions::{self, Lookup};
use jp_store::{Actor, audit, db};
use serde::Deserialize;
use serde_json::json;

pub const SESSION_COOKIE: &str = "jp_session";
pub const PRESESSION_COOKIE: &str = "jp_presession";

#[derive(Debug, Clone)]
pub enum Via {
    Session { token: String, csrf_token: String },
    Token,
}

/// The signed-in caller, put into the request by [`authenticate`].
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub via: Via,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor::user(
            self.user.id,
            format!("{} <{}>", self.user.name, self.user.email),
        )
    }
    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf_token, .. } => csrf_token,
            Via::Token => "",
        }
    }
}

/// Marks a request whose session had just timed out.
#[derive(Debug, Clone, Copy)]
pub struct SessionEnded;

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub fn set_cookie(name: &str, value: &str, secure: bool, path: &str, clear: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    if clear {
        c.push_str("; Max-Age=0");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Middleware: resolves the caller from a bearer token or the session cookie.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let mut ended = false;
    if let Some(token) = bearer {
        let found = state
            .db(move |c| Ok(accounts::user_for_token(c, &token)?))
            .await;
        match found {
            Ok(Some(user)) => {
                req.extensions_mut().insert(Principal {
                    user,
                    via: Via::Token,
                });
            }
            Ok(None) => return AppError::InvalidToken.into_problem(),
            Err(e) => return e.into_problem(),
        }
    } else if let Some(token) = cookie(req.headers(), SESSION_COOKIE).map(str::to_owned) {
        // Cross-site state-changing requests never carry a session (defence in depth beside SameSite and CSRF tokens).
        let cross_site = req
            .headers()
            .get("sec-fetch-site")
            .is_some_and(|v| v == "cross-site");
        let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        if !(cross_site && unsafe_method) {
            let limits = state.config.session;
            let t = token.clone();
            match state
                .db(move |c| Ok(sessions::load(c, &t, &limits, db::now())?))
                .await
            {
                Ok(Lookup::Live(s)) => {
                    req.extensions_mut().insert(Principal {
                        user: s.user,
                        via: Via::Session {
                            token,
                            csrf_token: s.csrf_token,
                        },
                    });
                }
                Ok(Lookup::Expired) => {
                    ended = true;
                    req.extensions_mut().insert(SessionEnded);
                }
                Ok(Lookup::Unknown) => {}
                Err(e) => return e.into_response(),
            }
        }
    }
    let mut res = next.run(req).await;
    if ended {
        res.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(SESSION_COOKIE, "", state.config.secure_cookies, "/", true),
        );
    }
    res
}

#[derive(Template)]
#[template(path = "auth/sign_in.html")]
pub struct SignInPage {
    pub page: PageCtx,
    pub email: String,
    pub next: String,
    pub errors: Errors,
    pub notice: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only local paths may be redirected to after signing in.
fn safe_next(next: &str) -> String {
    if next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.contains("://")
    {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

fn sign_in_page(
    state: &AppState,
    email: String,
    next: String,
    errors: Errors,
    notice: Option<String>,
) -> Response {
    let (token, _) = accounts::new_secret("");
    let mut page = PageCtx::bare("Sign in");
    page.csrf = token.clone();
    page.error_prefix = !errors.is_empty();
    let mut res = render(&SignInPage {
        page,
        email,
        next,
        errors,
        notice,
    });
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            PRESESSION_COOKIE,
            &token,
            state.config.secure_cookies,
            "/sign-in",
            false,
        ),
    );
    res
}

pub async fn sign_in_form(
    State(state): State<AppState>,
    Query(q): Query<NextQuery>,
    req: Request,
) -> Response {
    if req.extensions().get::<Principal>().is_some() {
        return Redirect::to("/").into_response();
    }
    let notice = req.extensions().get::<SessionEnded>().map(|_| {
        "You were signed out because your session ended. Sign in again to continue.".to_owned()
    });
    sign_in_page(
        &state,
        String::new(),
        safe_next(q.next.as_deref().unwrap_or("/")),
        Errors::default(),
        notice,
    )
}

enum Attempt {
    Ok(String),
    Wrong,
    Locked,
}

pub async fn sign_in(State(state): State<AppState>, form: Form) -> Result<Response, AppError> {
    let email_raw = form.get("email").trim().to_owned();
    let next = safe_next(form.get("next"));
    let mut errors = Errors::default();
    let email = errors.take("email", Email::parse(&email_raw));
    let password = Password::for_sign_in(form.get("password"));
    if password.is_none() {
        errors.add("password", "Enter your password");
    }
    let (Some(email), Some(password)) = (email, password) else {
        let mut res = sign_in_page(&state, email_raw, next, errors, None);
        *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    };
    let policy = state.config.lockout;
    let attempt = state
        .db(move |c| {
            let found = accounts::find_for_sign_in(c, &email)?;
            let now = db::now();
            let Some((user, hash, failures)) = found else {
                accounts::password_matches(None, &password);
                return Ok(Attempt::Wrong);
            };
            if user.locked_until.is_some_and(|t| t > now) {
                let mut tx = c.begin()?;
                audit::record(
                    &mut tx,
                    &Actor::system(format!("sign-in attempt for {}", user.email)),
                    "sign-in.refused-locked",
                    "user",
                    Some(user.id.to_string()),
                    json!({}),
                )?;
                tx.commit()?;
                return Ok(Attempt::Locked);
            }
            if !user.active || !accounts::password_matches(hash.as_deref(), &password) {
                let mut tx = c.begin()?;
                let locked =
                    accounts::record_failed_sign_in(&mut tx, &user, failures, &policy, now)?;
                tx.commit()?;
                return Ok(if locked {
                    Attempt::Locked
                } else {
                    Attempt::Wrong
                });
            }
            let mut tx = c.begin()?;
            accounts::clear_failures(&mut tx, user.id)?;
            let token = sessions::create(&mut tx, user.id)?;
            audit::record(
                &mut tx,
                &Actor::user(user.id, format!("{} <{}>", user.name, user.email)),
                "sign-in",
                "user",
                Some(user.id.to_string()),
                json!({"via": "password"}),
            )?;
            tx.commit()?;
            Ok(Attempt::Ok(token))
        })
        .await?;
    match attempt {
        Attempt::Ok(token) => {
            let mut res = Redirect::to(&next).into_response();
            let h = res.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(
                    SESSION_COOKIE,
                    &token,
                    state.config.secure_cookies,
                    "/",
                    false,
                ),
            );
            h.append(
                header::SET_COOKIE,
                set_cookie(
                    PRESESSION_COOKIE,
                    "",
                    state.config.secure_cookies,
                    "/sign-in",
                    true,
                ),
            );
            Ok(res)
        }
        Attempt::Wrong | Attempt::Locked => {
            let mut errors = Errors::default();
            let message = if matches!(attempt, Attempt::Locked) {
                format!(
                    "This account is locked after {} failed attempts to sign in. Try again in {} minutes, or ask a system administrator to unlock it.",
                    policy.max_failures,
                    policy.lock_for.num_minutes()
                )
            } else {
                "Enter a correct email address and password".to_owned()
            };
            errors.add("email", message);
            let mut res = sign_in_page(&state, email_raw, next, errors, None);
            *res.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
            Ok(res)
        }
    }
}

pub async fn sign_out(
    State(state): State<AppState>,
    principal: axum::Extension<Principal>,
    _form: Form,
) -> Result<Response, AppError> {
    if let Via::Session { token, .. } = principal.via.clone() {
        let actor = principal.actor();
        let user_id = principal.user.id;
        state
            .db(move |c| {
                let mut tx = c.begin()?;
                sessions::end(&mut tx, &token)?;
                audit::record(
                    &mut tx,
                    &actor,
                    "sign-out",
                    "user",
                    Some(user_id.to_string()),
                    json!({}),
                )?;
                tx.commit()?;
                Ok(())
            })
            .await?;
    }
    let mut res = Redirect::to("/sign-in").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", state.config.secure_cookies, "/", true),
    );
    Ok(res)
}
