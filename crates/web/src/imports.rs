//! Importing a tracker spreadsheet on the web (SPEC §7), for administrators:
//! upload a CSV or XLSX file, check the column mapping, run the check that
//! lists every row's problems (nothing is written), then import — all rows
//! in one transaction, in the background, with a page showing its progress.

use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::{Errors, Form, Id};
use crate::pages::{Field, FieldKind, PageCtx, date_time, render_checked};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jp_store::import::{self, FIELDS, Mapping, Problem};

pub fn routes() -> Routes {
    Routes::default()
        .get("/tracker/import", start)
        .post_streamed("/tracker/import", upload)
        .get("/tracker/imports/{id}", show)
        .post("/tracker/imports/{id}/check", check)
        .post("/tracker/imports/{id}/run", run)
}

/// Problems shown on the page (the rest are counted).
const SHOWN: usize = 500;

#[derive(Template)]
#[template(path = "imports/start.html")]
struct StartPage {
    page: PageCtx,
    recent: Vec<import::Upload>,
    errors: Errors,
}

impl StartPage {
    fn when(&self, u: &import::Upload) -> String {
        date_time(u.created_at)
    }
}

async fn start_page(
    state: &AppState,
    p: &Principal,
    errors: Errors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let recent = state.db(|c| Ok(import::recent(c, 20)?)).await?;
    let view = StartPage {
        page: PageCtx::new(p, "Import a tracker spreadsheet", "/tracker").with_errors(&errors),
        recent,
        errors,
    };
    let mut res = render_checked(&view, &view.errors);
    if status != StatusCode::OK {
        *res.status_mut() = status;
    }
    Ok(res)
}

async fn start(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Response, AppError> {
    start_page(&state, &p, Errors::default(), StatusCode::OK).await
}

fn refused(message: impl Into<String>) -> Errors {
    let mut e = Errors::default();
    e.add("file", message);
    e
}

/// Receives `_csrf` then `file`; reads at most the importer's limit.
async fn upload(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    upload: crate::forms::Upload,
) -> Result<Response, AppError> {
    use crate::forms::FilePart;
    let (name, bytes) = match upload.file(jp_exports::read::MAX_BYTES).await? {
        FilePart::File(name, bytes) => (name, bytes),
        FilePart::TooLarge => {
            return start_page(
                &state,
                &p,
                refused("The file is larger than 20 MB: split it into smaller files"),
                StatusCode::PAYLOAD_TOO_LARGE,
            )
            .await;
        }
        FilePart::Missing => {
            return start_page(
                &state,
                &p,
                refused("Select a CSV or XLSX file"),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let table = match jp_exports::read::table(&name, &bytes) {
        Ok(t) if t.rows.is_empty() => {
            return start_page(
                &state,
                &p,
                refused("The file has a header row but no rows under it"),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Ok(t) => t,
        Err(e) => {
            return start_page(&state, &p, refused(e), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let (mapping, _, _) = import::detect(&table.headers);
    let actor = p.actor();
    let by = p.user.id;
    let id = state
        .db(move |c| {
            let mut tx = c.begin()?;
            let id = import::create(
                &mut tx,
                &actor,
                by,
                &name,
                &bytes,
                table.rows.len(),
                &mapping,
            )?;
            tx.commit()?;
            Ok(id)
        })
        .await?;
    Ok(Redirect::to(&format!("/tracker/imports/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "imports/show.html")]
struct ShowPage {
    page: PageCtx,
    u: import::Upload,
    fields: Vec<Field>,
    mapping_problems: Vec<String>,
    unused: Vec<String>,
    problems: Vec<Problem>,
    more: usize,
    rows_with_problems: usize,
    progress: Option<(u64, u64)>,
    errors: Errors,
}

impl ShowPage {
    fn percent(&self) -> u64 {
        self.progress
            .and_then(|(d, t)| (d * 100).checked_div(t))
            .unwrap_or(0)
    }
    fn summary(&self, key: &str) -> String {
        self.u
            .summary
            .get(key)
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0)
            .to_string()
    }
    fn ready(&self) -> bool {
        self.u.status == "checked" && self.u.problems.is_empty() && self.mapping_problems.is_empty()
    }
}

/// The file's headers, read again from the stored upload.
fn headers_of(c: &mut jp_store::db::Conn, u: &import::Upload) -> Result<Vec<String>, AppError> {
    let bytes = import::content(c, u.id)?.ok_or(AppError::NotFound)?;
    jp_exports::read::table(&u.file_name, &bytes)
        .map(|t| t.headers)
        .map_err(AppError::Unprocessable)
}

async fn show_page(
    state: &AppState,
    p: &Principal,
    id: i64,
    errors: Errors,
) -> Result<Response, AppError> {
    let (u, headers) = state
        .db(move |c| {
            let u = import::get(c, id)?.ok_or(AppError::NotFound)?;
            let h = headers_of(c, &u)?;
            Ok((u, h))
        })
        .await?;
    let (_, _, unused) = import::detect(&headers);
    let used: Vec<usize> = u.mapping.values().copied().collect();
    let unused: Vec<String> = unused
        .into_iter()
        .filter(|h| {
            headers
                .iter()
                .position(|x| x == h)
                .is_none_or(|i| !used.contains(&i))
        })
        .collect();
    let mut options = vec![(String::new(), "Not in the file".to_owned())];
    options.extend(
        headers
            .iter()
            .enumerate()
            .map(|(i, h)| (i.to_string(), format!("Column {}: {h}", i + 1))),
    );
    let fields = FIELDS
        .iter()
        .map(|f| {
            let mut field = Field::select(
                &format!("map-{}", f.key),
                &if f.required {
                    f.header.to_owned()
                } else {
                    format!("{} (optional)", f.header)
                },
                u.mapping
                    .get(f.key)
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                options.clone(),
            );
            field.error = errors.get(&format!("map-{}", f.key)).map(str::to_owned);
            field
        })
        .collect();
    let rows_with_problems = u
        .problems
        .iter()
        .map(|p| p.row)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let more = u.problems.len().saturating_sub(SHOWN);
    let problems = u.problems.iter().take(SHOWN).cloned().collect();
    let progress = state.progress(id);
    let view = ShowPage {
        page: PageCtx::new(p, format!("Import of {}", u.file_name), "/tracker")
            .with_errors(&errors),
        mapping_problems: import::missing(&u.mapping),
        u,
        fields,
        unused,
        problems,
        more,
        rows_with_problems,
        progress,
        errors,
    };
    Ok(render_checked(&view, &view.errors))
}

async fn show(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    show_page(&state, &p, id, Errors::default()).await
}

/// Reads the mapping form: each field's column number, or nothing.
fn read_mapping(form: &Form, columns: usize, e: &mut Errors) -> Mapping {
    let mut m = Mapping::new();
    let mut taken: Vec<(usize, &str)> = Vec::new();
    for f in &FIELDS {
        let name = format!("map-{}", f.key);
        let raw = form.get(&name).trim();
        if raw.is_empty() {
            continue;
        }
        match raw.parse::<usize>().ok().filter(|i| *i < columns) {
            Some(i) => {
                if let Some((_, other)) = taken.iter().find(|(c, _)| *c == i) {
                    e.add(
                        &name,
                        format!(
                            "{} and {} cannot both be read from one column",
                            other, f.header
                        ),
                    );
                } else {
                    taken.push((i, f.header));
                    m.insert(f.key.to_owned(), i);
                }
            }
            None => e.add(
                &name,
                format!("Choose a column of the file for {}", f.header),
            ),
        }
    }
    for (key, message) in FIELDS
        .iter()
        .filter(|f| f.required && !m.contains_key(f.key))
        .map(|f| {
            (
                format!("map-{}", f.key),
                format!("Choose the column that holds {}", f.header),
            )
        })
    {
        e.add(&key, message);
    }
    m
}

async fn check(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let (u, bytes) = state
        .db(move |c| {
            let u = import::get(c, id)?.ok_or(AppError::NotFound)?;
            let b = import::content(c, id)?.ok_or(AppError::NotFound)?;
            Ok((u, b))
        })
        .await?;
    if !matches!(u.status.as_str(), "uploaded" | "checked") {
        return Err(AppError::Conflict(
            "This file has been imported (or is being imported): upload it again to start over"
                .into(),
        ));
    }
    let table = jp_exports::read::table(&u.file_name, &bytes).map_err(AppError::Unprocessable)?;
    let mut e = Errors::default();
    let mapping = read_mapping(&form, table.headers.len(), &mut e);
    if !e.is_empty() {
        return show_page(&state, &p, id, e).await;
    }
    let actor = p.actor();
    let version = u.version;
    state
        .db(move |c| {
            let today = crate::referrals::today();
            let checked = import::check(c, &table.rows, &mapping, today, &mut |_, _| {})?;
            let mut tx = c.begin()?;
            import::record_check(&mut tx, &actor, id, version, &mapping, &checked)?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(Redirect::to(&format!("/tracker/imports/{id}")).into_response())
}

async fn run(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let version = crate::forms::version(&form)?;
    let actor = p.actor();
    let bytes = state
        .db(move |c| {
            let mut tx = c.begin()?;
            import::begin(&mut tx, &actor, id, version)?;
            tx.commit()?;
            import::content(c, id)?.ok_or(AppError::NotFound)
        })
        .await?;
    let u = state
        .db(move |c| import::get(c, id)?.ok_or(AppError::NotFound))
        .await?;
    state.set_progress(id, 0, u.rows as u64);
    let st = state.clone();
    let actor = p.actor();
    tokio::task::spawn_blocking(move || {
        let result = (|| -> Result<import::Imported, String> {
            let table = jp_exports::read::table(&u.file_name, &bytes)?;
            let mut c = st.store.conn().map_err(|e| e.to_string())?;
            let today = crate::referrals::today();
            // Checked again: the records may have changed since the dry run.
            let checked = import::check(&mut c, &table.rows, &u.mapping, today, &mut |_, _| {})
                .map_err(|e| e.to_string())?;
            if !checked.problems.is_empty() {
                return Err(format!(
                    "{} problem(s) appeared since the check (records changed meanwhile): check the file again",
                    checked.problems.len()
                ));
            }
            let mut tx = c.begin().map_err(|e| e.to_string())?;
            import::claim(&mut tx, id).map_err(|e| e.to_string())?;
            let made = import::apply(
                &mut tx,
                &actor,
                (&u.file_name, &u.sha256),
                &checked.ready,
                today,
                &mut |d, t| st.set_progress(id, d, t),
            )
            .map_err(|e| e.to_string())?;
            import::finish(&mut tx, id, Ok(&made)).map_err(|e| e.to_string())?;
            tx.commit().map_err(|e| e.to_string())?;
            Ok(made)
        })();
        if let Err(e) = &result {
            tracing::warn!(import = id, error = %e, "tracker import failed; nothing was imported");
            if let Ok(mut c) = st.store.conn()
                && let Ok(mut tx) = c.begin()
                && import::finish(&mut tx, id, Err(e)).is_ok()
            {
                let _ = tx.commit();
            }
        }
        st.clear_progress(id);
    });
    Ok(Redirect::to(&format!("/tracker/imports/{id}")).into_response())
}
