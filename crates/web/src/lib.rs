#![forbid(unsafe_code)]
//! Joint Panel's web pages and JSON API. [`app`] builds the router from each
//! resource's `routes()`; every route is registered through [`routes::Routes`],
//! which looks it up in the one policy table ([`policy::POLICY`]).

pub mod account;
pub mod admin;
pub mod api;
pub mod audit_log;
pub mod auth;
pub mod bench;
pub mod booking;
pub mod charts;
pub mod children;
pub mod dashboards;
pub mod decisions;
pub mod emerging;
pub mod error;
pub mod feeds;
pub mod files;
pub mod finance;
pub mod finance_files;
pub mod forms;
pub mod home;
pub mod imports;
pub mod jobs;
pub mod mail;
pub mod meeting_run;
pub mod meetings;
pub mod notify;
pub mod pack;
pub mod pages;
pub mod policy;
pub mod referrals;
pub mod reviews;
pub mod routes;
pub mod state;
pub mod tracker;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
pub use state::{AppState, WebConfig};

/// Every route of the application, with the policy attached.
pub fn all_routes() -> routes::Routes {
    routes::Routes::default()
        .get("/healthz", healthz)
        .get("/assets/{file}", asset)
        .get("/assets/images/{file}", image)
        .get("/sign-in", auth::sign_in_form)
        .post("/sign-in", auth::sign_in)
        .post("/sign-out", auth::sign_out)
        .merge(home::routes())
        .merge(account::routes())
        .merge(admin::routes())
        .merge(audit_log::routes())
        .merge(children::routes())
        .merge(referrals::routes())
        .merge(meetings::routes())
        .merge(meeting_run::routes())
        .merge(pack::routes())
        .merge(decisions::routes())
        .merge(tracker::routes())
        .merge(finance::routes())
        .merge(finance_files::routes())
        .merge(emerging::routes())
        .merge(dashboards::routes())
        .merge(imports::routes())
        .merge(feeds::routes())
        .merge(api::routes())
}

pub fn app(state: AppState) -> Router {
    let max = state.config.max_body_bytes;
    all_routes()
        .into_router()
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(middleware::from_fn(security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(max))
        .with_state(state)
}

/// Serves the application on a bound listener until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

pub(crate) async fn security_headers(
    req: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    res
}

async fn not_found(req: axum::extract::Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        error::AppError::NotFound.into_problem()
    } else {
        error::AppError::NotFound.into_response()
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state
        .db(|c| Ok(c.query_one("SELECT 1", &[])?.get::<i64>(0)?))
        .await
    {
        Ok(1) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"status":"ok","database":"ok"}"#,
        )
            .into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"status":"unavailable","database":"not answering"}"#,
        )
            .into_response(),
    }
}

/// The compiled GOV.UK Frontend and our few additions, embedded in the binary.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "govuk-frontend.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/govuk-frontend.min.css"),
    ),
    (
        "govuk-frontend.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/govuk-frontend.min.js"),
    ),
    (
        "init.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/init.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/app.css"),
    ),
    (
        "manifest.json",
        "application/manifest+json",
        include_bytes!("../assets/manifest.json"),
    ),
];

const IMAGES: &[(&str, &str, &[u8])] = &[
    (
        "favicon.ico",
        "image/x-icon",
        include_bytes!("../assets/images/favicon.ico"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../assets/images/favicon.svg"),
    ),
    (
        "govuk-crest.svg",
        "image/svg+xml",
        include_bytes!("../assets/images/govuk-crest.svg"),
    ),
    (
        "govuk-icon-180.png",
        "image/png",
        include_bytes!("../assets/images/govuk-icon-180.png"),
    ),
];

fn serve_embedded(table: &[(&str, &str, &'static [u8])], name: &str) -> Response {
    match table.iter().find(|(n, _, _)| *n == name) {
        Some((_, mime, bytes)) => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => error::AppError::NotFound.into_response(),
    }
}

async fn asset(Path(file): Path<String>) -> Response {
    serve_embedded(ASSETS, &file)
}

async fn image(Path(file): Path<String>) -> Response {
    serve_embedded(IMAGES, &file)
}
