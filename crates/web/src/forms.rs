//! Reading what people and scripts send: url-encoded forms (CSRF-checked) and
//! JSON bodies, each with a size limit and a clear error.

use crate::auth::{PRESESSION_COOKIE, Principal, Via, cookie};
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// A submitted form. Taking one proves its CSRF token was checked.
#[derive(Debug, Default, Clone)]
pub struct Form {
    fields: HashMap<String, Vec<String>>,
}

impl Form {
    /// A form built from (name, value) pairs: the API's bodies, checked by the
    /// same code as the pages' forms.
    pub(crate) fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Form {
        let mut fields: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            fields.entry(k).or_default().push(v);
        }
        Form { fields }
    }

    /// The first value of a field, or "" when absent.
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .and_then(|v| v.first())
            .map_or("", String::as_str)
    }
    /// Every (name, value) pair, for forms read field by field elsewhere.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.fields
            .iter()
            .flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v.clone())))
            .collect()
    }
    /// Every value of a repeated field (checkboxes).
    pub fn all(&self, name: &str) -> &[String] {
        self.fields.get(name).map_or(&[], Vec::as_slice)
    }
    /// A GOV.UK date input (`KEY-day`, `KEY-month`, `KEY-year`) as a civil date,
    /// with a message naming `what` when it is missing or not a real date.
    pub fn date(&self, key: &str, what: &str) -> Result<chrono::NaiveDate, String> {
        jp_domain::text::civil_date(
            self.get(&format!("{key}-day")),
            self.get(&format!("{key}-month")),
            self.get(&format!("{key}-year")),
            what,
        )
    }
    /// A date input as typed ("YEAR-MONTH-DAY"), to show it again with an error.
    pub fn date_typed(&self, key: &str) -> String {
        format!(
            "{}-{}-{}",
            self.get(&format!("{key}-year")),
            self.get(&format!("{key}-month")),
            self.get(&format!("{key}-day"))
        )
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

async fn body_bytes(req: Request, limit: usize) -> Result<axum::body::Bytes, AppError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(AppError::TooLarge(limit));
    }
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| AppError::TooLarge(limit))
}

fn content_type_is(req: &Request, expected: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(expected))
        })
}

impl FromRequest<AppState> for Form {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let principal = req.extensions().get::<Principal>().cloned();
        let presession = cookie(req.headers(), PRESESSION_COOKIE).map(str::to_owned);
        let has_body = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v != "0");
        if has_body && !content_type_is(&req, "application/x-www-form-urlencoded") {
            return Err(AppError::BadRequest(
                "Send the form as application/x-www-form-urlencoded".to_owned(),
            ));
        }
        let bytes = body_bytes(req, state.config.max_body_bytes).await?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
            AppError::BadRequest("The form could not be read. Go back and try again.".to_owned())
        })?;
        let mut fields: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            fields.entry(k).or_default().push(v);
        }
        let form = Form { fields };
        let sent = form.get("_csrf");
        let ok = match principal.as_ref().map(|p| &p.via) {
            Some(Via::Session { csrf_token, .. }) => {
                !sent.is_empty() && constant_time_eq(sent, csrf_token)
            }
            // A script with a bearer token cannot be made to send a form by another site.
            Some(Via::Token) => true,
            None => presession.is_some_and(|c| !sent.is_empty() && constant_time_eq(sent, &c)),
        };
        if !ok {
            return Err(AppError::Csrf(if sent.is_empty() {
                "it had no security token"
            } else {
                "its security token did not match"
            }));
        }
        Ok(form)
    }
}

/// A multipart upload from a page. Its CSRF token is a field of the body,
/// checked by the handler as it reads the parts. A request that is not
/// multipart is checked as an ordinary form (refused without its token) and
/// then answered 400: it carries no file.
pub struct Upload {
    pub parts: axum::extract::Multipart,
    /// The session's CSRF token, which the `_csrf` part must match.
    pub token: String,
}

/// The file part of an upload, read whole.
pub enum FilePart {
    /// The file's name and bytes.
    File(String, Vec<u8>),
    /// No file was chosen.
    Missing,
    /// Larger than the limit (reading stopped there).
    TooLarge,
}

impl Upload {
    /// Reads `_csrf` then `file` (at most `max` bytes of it); refuses a
    /// missing or wrong token.
    pub async fn file(mut self, max: usize) -> Result<FilePart, AppError> {
        let mut csrf_ok = false;
        let mut out = FilePart::Missing;
        let broken =
            || AppError::BadRequest("The upload was interrupted or malformed; try again".into());
        while let Some(mut field) = self.parts.next_field().await.map_err(|_| broken())? {
            match field.name() {
                Some("_csrf") => csrf_ok = Upload::token_part(field, &self.token).await,
                Some("file") if csrf_ok => {
                    let name = field.file_name().unwrap_or("").to_owned();
                    let mut bytes = Vec::new();
                    while let Some(chunk) = field.chunk().await.map_err(|_| broken())? {
                        if bytes.len() + chunk.len() > max {
                            return Ok(FilePart::TooLarge);
                        }
                        bytes.extend_from_slice(&chunk);
                    }
                    if !name.is_empty() || !bytes.is_empty() {
                        out = FilePart::File(name, bytes);
                    }
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
        Ok(out)
    }

    /// Reads a `_csrf` part and says whether it carries the session's token.
    pub async fn token_part(field: axum::extract::multipart::Field<'_>, token: &str) -> bool {
        let sent = field.text().await.unwrap_or_default();
        !sent.is_empty() && constant_time_eq(&sent, token)
    }
}

impl FromRequest<AppState> for Upload {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
        if !multipart {
            Form::from_request(req, state).await?;
            return Err(AppError::BadRequest(
                "This form sends a file: choose one and send the form again".into(),
            ));
        }
        let Some(Principal {
            via: Via::Session { csrf_token, .. },
            ..
        }) = req.extensions().get::<Principal>()
        else {
            return Err(AppError::Csrf("uploads need a signed-in browser session"));
        };
        let token = csrf_token.clone();
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(|parts| Upload { parts, token })
            .map_err(|e| AppError::BadRequest(format!("The upload could not be read: {e}")))
    }
}

/// An API call from a signed-in browser session must carry the session's token
/// in `X-CSRF-Token` (a script with a bearer token cannot be made to send one).
pub(crate) fn api_csrf(req: &Request) -> Result<(), AppError> {
    if let Some(Principal {
        via: Via::Session { csrf_token, .. },
        ..
    }) = req.extensions().get::<Principal>()
    {
        let sent = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !constant_time_eq(sent, csrf_token) {
            return Err(AppError::Csrf(
                "a browser session must send its security token in the X-CSRF-Token header",
            ));
        }
    }
    Ok(())
}

/// A JSON request body for the API.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = crate::error::ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        api_csrf(&req)?;
        if !content_type_is(&req, "application/json") {
            return Err(
                AppError::BadRequest("Send the body as application/json".to_owned()).into(),
            );
        }
        let bytes = body_bytes(req, state.config.max_body_bytes).await?;
        match serde_json::from_slice::<T>(&bytes) {
            Ok(v) => Ok(ApiJson(v)),
            Err(e) if e.is_data() => Err(AppError::Unprocessable(format!(
                "The JSON body does not match what this endpoint expects: {e}"
            ))
            .into()),
            Err(e) => Err(AppError::BadRequest(format!("The JSON body is malformed: {e}")).into()),
        }
    }
}

/// Percent-encodes a value for a query string.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Field errors in the order the form shows them (for the GOV.UK error summary).
#[derive(Debug, Default, Clone)]
pub struct Errors(pub Vec<(String, String)>);

impl Errors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field.to_owned(), message.into()));
        }
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Keeps the value when `r` is Ok, records the message under `field` otherwise.
    pub fn take<T, E: ToString>(&mut self, field: &str, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }
    pub fn to_problems(&self) -> Vec<crate::error::FieldProblem> {
        self.0
            .iter()
            .map(|(f, m)| crate::error::FieldProblem {
                field: f.clone(),
                message: m.clone(),
            })
            .collect()
    }
}

/// A numeric id from the path; anything else is "not found", never a 500.
pub struct Id(pub i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Id {
    type Rejection = AppError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| AppError::NotFound)?;
        raw.parse::<i64>()
            .ok()
            .filter(|i| *i > 0)
            .map(Id)
            .ok_or(AppError::NotFound)
    }
}

/// Parses the hidden `version` field of an edit form.
pub fn version(form: &Form) -> Result<i64, AppError> {
    form.get("version").trim().parse().map_err(|_| {
        AppError::BadRequest(
            "The form is missing the record's version. Reload the page and try again.".to_owned(),
        )
    })
}
