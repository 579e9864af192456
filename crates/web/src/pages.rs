//! What every page shares: the layout's context (title, navigation by role,
//! CSRF token), rendering, and the generic list and form pages that the
//! administration screens are built from.

use crate::auth::Principal;
use crate::forms::Errors;
use askama::Template;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use jp_domain::Role;

pub const SERVICE_NAME: &str = "Joint Panel";

#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The navigation, by role: what each person can open.
pub fn navigation(roles: &[Role], path: &str) -> Vec<NavItem> {
    let mut items: Vec<(&'static str, &'static str)> = vec![("/", "Home")];
    let casework = [
        Role::Referrer,
        Role::Approver,
        Role::Administrator,
        Role::Chair,
        Role::Member,
    ];
    if roles
        .iter()
        .any(|r| casework.contains(r) || *r == Role::Finance)
    {
        items.push(("/referrals", "Referrals"));
    }
    if roles.iter().any(|r| casework.contains(r)) {
        items.push(("/children", "Children"));
        items.push(("/meetings", "Meetings"));
    }
    if roles.iter().any(|r| {
        matches!(
            r,
            Role::Administrator | Role::Chair | Role::Member | Role::Finance
        )
    }) {
        items.push(("/tracker", "Tracker"));
        items.push(("/dashboards", "Dashboards"));
    }
    if roles
        .iter()
        .any(|r| matches!(r, Role::Administrator | Role::Chair | Role::Member))
    {
        items.push(("/emerging-issues", "Emerging issues"));
    }
    if roles
        .iter()
        .any(|r| matches!(r, Role::Finance | Role::Administrator | Role::Chair))
    {
        items.push(("/finance", "Finance"));
    }
    if roles.contains(&Role::SystemAdministrator) {
        items.push(("/admin", "Administration"));
    } else if roles.contains(&Role::Administrator) {
        items.push(("/admin/calendar", "Calendar"));
        items.push(("/admin/outbox", "E-mail"));
    }
    if roles.contains(&Role::Auditor) {
        items.push(("/audit", "Audit log"));
    }
    items.push(("/account", "Your account"));
    items
        .into_iter()
        .map(|(href, label)| NavItem {
            href,
            label,
            current: if href == "/" {
                path == "/"
            } else {
                path == href || path.starts_with(&format!("{href}/"))
            },
        })
        .collect()
}

#[derive(Debug, Clone, Default)]
pub struct PageCtx {
    pub title: String,
    pub user_name: Option<String>,
    pub nav: Vec<NavItem>,
    pub csrf: String,
    /// Prefix the title with "Error: " (GOV.UK pattern when a form has errors).
    pub error_prefix: bool,
    pub flash: Option<String>,
}

impl PageCtx {
    /// A page for someone not signed in (or an error page).
    pub fn bare(title: &str) -> PageCtx {
        PageCtx {
            title: title.to_owned(),
            ..PageCtx::default()
        }
    }

    pub fn new(p: &Principal, title: impl Into<String>, path: &str) -> PageCtx {
        PageCtx {
            title: title.into(),
            user_name: Some(p.user.name.clone()),
            nav: navigation(&p.user.roles, path),
            csrf: p.csrf().to_owned(),
            error_prefix: false,
            flash: None,
        }
    }

    pub fn with_errors(mut self, errors: &Errors) -> PageCtx {
        self.error_prefix = !errors.is_empty();
        self
    }

    pub fn with_flash(mut self, flash: Option<String>) -> PageCtx {
        self.flash = flash;
        self
    }
}

/// Renders a page that may carry form errors: 422 when it does, 200 when not.
pub fn render_checked<T: Template>(t: &T, errors: &crate::forms::Errors) -> Response {
    let mut res = render(t);
    if !errors.is_empty() && res.status() == axum::http::StatusCode::OK {
        *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    res
}

pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(body) => {
            let mut res = Html(body).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => {
            tracing::error!("template: {e}");
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                Html("<h1>Sorry, there is a problem with the service</h1>"),
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub page: PageCtx,
    pub detail: String,
    pub sign_in: bool,
}

/// A cell of a table: text, optionally a link, optionally a GOV.UK tag.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
    pub tag: Option<&'static str>,
}

impl Cell {
    pub fn text(t: impl Into<String>) -> Cell {
        Cell {
            text: t.into(),
            ..Cell::default()
        }
    }
    pub fn link(t: impl Into<String>, href: impl Into<String>) -> Cell {
        Cell {
            text: t.into(),
            href: Some(href.into()),
            tag: None,
        }
    }
    pub fn tag(t: impl Into<String>, colour: &'static str) -> Cell {
        Cell {
            text: t.into(),
            href: None,
            tag: Some(colour),
        }
    }
}

#[derive(Template)]
#[template(path = "list.html")]
pub struct ListPage {
    pub page: PageCtx,
    pub back: Option<(String, String)>,
    pub intro: String,
    pub add: Option<(String, String)>,
    pub headings: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub empty: String,
}

#[derive(Debug, Clone)]
pub enum FieldKind {
    Text {
        input_type: &'static str,
        autocomplete: &'static str,
        width: &'static str,
    },
    TextArea,
    Select {
        options: Vec<(String, String)>,
    },
    Radios {
        options: Vec<(String, String)>,
    },
    Checkboxes {
        options: Vec<(String, String)>,
        checked: Vec<String>,
    },
    /// A GOV.UK date input: `NAME-day`, `NAME-month`, `NAME-year`.
    Date {
        day: String,
        month: String,
        year: String,
    },
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub label: String,
    pub hint: String,
    pub value: String,
    pub error: Option<String>,
    pub kind: FieldKind,
}

impl Field {
    pub fn text(name: &str, label: &str, value: impl Into<String>) -> Field {
        Field {
            name: name.to_owned(),
            label: label.to_owned(),
            hint: String::new(),
            value: value.into(),
            error: None,
            kind: FieldKind::Text {
                input_type: "text",
                autocomplete: "off",
                width: "govuk-!-width-two-thirds",
            },
        }
    }
    pub fn number(name: &str, label: &str, value: impl ToString) -> Field {
        Field {
            kind: FieldKind::Text {
                input_type: "text",
                autocomplete: "off",
                width: "govuk-input--width-5",
            },
            ..Field::text(name, label, value.to_string())
        }
    }
    pub fn input(mut self, input_type: &'static str, autocomplete: &'static str) -> Field {
        if let FieldKind::Text { width, .. } = self.kind {
            self.kind = FieldKind::Text {
                input_type,
                autocomplete,
                width,
            };
        }
        self
    }
    pub fn select(
        name: &str,
        label: &str,
        value: impl Into<String>,
        options: Vec<(String, String)>,
    ) -> Field {
        Field {
            kind: FieldKind::Select { options },
            ..Field::text(name, label, value)
        }
    }
    pub fn radios(
        name: &str,
        label: &str,
        value: impl Into<String>,
        options: Vec<(String, String)>,
    ) -> Field {
        Field {
            kind: FieldKind::Radios { options },
            ..Field::text(name, label, value)
        }
    }
    pub fn checkboxes(
        name: &str,
        label: &str,
        checked: Vec<String>,
        options: Vec<(String, String)>,
    ) -> Field {
        Field {
            kind: FieldKind::Checkboxes { options, checked },
            ..Field::text(name, label, "")
        }
    }
    /// A date input; `value` is `YYYY-MM-DD` (possibly partial, as entered).
    pub fn date(name: &str, label: &str, value: &str) -> Field {
        let mut parts = value.splitn(3, '-');
        let (year, month, day) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        Field {
            kind: FieldKind::Date { day, month, year },
            ..Field::text(name, label, value)
        }
    }
    pub fn textarea(name: &str, label: &str, value: impl Into<String>) -> Field {
        Field {
            kind: FieldKind::TextArea,
            ..Field::text(name, label, value)
        }
    }
    pub fn hint(mut self, hint: &str) -> Field {
        hint.clone_into(&mut self.hint);
        self
    }
    pub fn is_checked(&self, value: &str) -> bool {
        matches!(&self.kind, FieldKind::Checkboxes { checked, .. } if checked.iter().any(|c| c == value))
    }
    /// The id the error summary links to: the field, or its first option.
    pub fn anchor(&self) -> String {
        match &self.kind {
            FieldKind::Radios { .. } | FieldKind::Checkboxes { .. } => format!("{}-0", self.name),
            FieldKind::Date { .. } => format!("{}-day", self.name),
            _ => self.name.clone(),
        }
    }
}

/// Attaches each error to its field.
pub fn with_errors(mut fields: Vec<Field>, errors: &Errors) -> Vec<Field> {
    for f in &mut fields {
        f.error = errors.get(&f.name).map(str::to_owned);
    }
    fields
}

#[derive(Template)]
#[template(path = "form.html")]
pub struct FormPage {
    pub page: PageCtx,
    pub back: (String, String),
    pub action: String,
    pub caption: String,
    pub intro: String,
    pub version: Option<i64>,
    pub fields: Vec<Field>,
    pub errors: Errors,
    /// Shown when someone else saved the record first: their saved values.
    pub conflict: Vec<(String, String)>,
    /// A second, separate action after the form: (where it posts, its button's words).
    pub remove: Option<(String, String)>,
    pub submit: String,
    /// Offer "Save as draft" beside the main button (posts `draft=yes`).
    pub draft: bool,
}

impl FormPage {
    /// A form page with its fields, errors attached, titled with an "Error:" prefix when there are errors.
    pub fn new(
        page: PageCtx,
        back: (String, String),
        action: String,
        version: Option<i64>,
        fields: Vec<Field>,
        errors: Errors,
    ) -> FormPage {
        FormPage {
            page: page.with_errors(&errors),
            back,
            action,
            caption: "Administration".into(),
            intro: String::new(),
            version,
            fields: with_errors(fields, &errors),
            errors,
            conflict: vec![],
            remove: None,
            submit: "Save".into(),
            draft: false,
        }
    }

    pub fn respond(self) -> Response {
        let status = if !self.conflict.is_empty() {
            axum::http::StatusCode::CONFLICT
        } else if self.errors.is_empty() {
            axum::http::StatusCode::OK
        } else {
            axum::http::StatusCode::UNPROCESSABLE_ENTITY
        };
        let mut res = render(&self);
        *res.status_mut() = status;
        res
    }
}

/// "9 May 2023".
pub fn date(d: impl std::borrow::Borrow<chrono::NaiveDate>) -> String {
    d.borrow().format("%-d %B %Y").to_string()
}

/// A stored file size (bytes, never negative) as "2.5 MB".
pub fn file_size(bytes: impl std::borrow::Borrow<i64>) -> String {
    jp_store::attachments::human_size(u64::try_from(*bytes.borrow()).unwrap_or(0))
}

/// "9 May 2023 at 14:05" (UTC shown as UK time is a later concern; times are stored in UTC).
pub fn date_time(t: impl std::borrow::Borrow<chrono::NaiveDateTime>) -> String {
    t.borrow().format("%-d %B %Y at %H:%M:%S UTC").to_string()
}

/// Marks a response as a file to save: its type, its name, never cached.
pub fn as_download(
    mut res: axum::response::Response,
    content_type: &str,
    file_name: &str,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
