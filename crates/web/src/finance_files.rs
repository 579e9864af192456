//! Finance files (SPEC §6, §7): the finance table of a year as CSV or XLSX
//! (audited), and actual spend recorded from a CSV or XLSX file — every row
//! checked first, then all recorded in one transaction or none.

use crate::auth::Principal;
use crate::error::AppError;
use crate::finance::{read_year, year_label};
use crate::forms::Errors;
use crate::pages::{PageCtx, render_checked};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Datelike;
use jp_domain::Pence;
use jp_exports::Cell;
use jp_store::import::Problem;

pub fn routes() -> Routes {
    Routes::default()
        .get("/finance/export.csv", export_csv)
        .get("/finance/export.xlsx", export_xlsx)
        .get("/finance/spend/import", spend_page)
        .post_streamed("/finance/spend/import", spend_upload)
}

const HEAD: [&str; 8] = [
    "Organisation",
    "Panel",
    "Budget (£)",
    "Committed (£)",
    "Pending (£)",
    "Paid so far (£)",
    "Forecast to year end (£)",
    "Left after forecast (£)",
];

/// The year's table rows, with the export audited.
async fn table(
    state: &AppState,
    p: &Principal,
    q: &crate::finance::YearQuery,
    format: &'static str,
) -> Result<(i32, Vec<Vec<Cell>>), AppError> {
    let year = read_year(&q.year).map_err(AppError::Unprocessable)?;
    let today = crate::referrals::today();
    let actor = p.actor();
    let lines = state
        .db(move |c| {
            let lines = jp_store::finance::year_lines(c, year, (today.year(), today.month()))?;
            let mut tx = c.begin()?;
            jp_store::audit::record(
                &mut tx,
                &actor,
                "finance.exported",
                "finance",
                Some(year.to_string()),
                serde_json::json!({"format": format, "rows": lines.len()}),
            )?;
            tx.commit()?;
            Ok(lines)
        })
        .await?;
    let rows = lines
        .iter()
        .map(|l| {
            vec![
                Cell::text(&l.organisation),
                Cell::text(&l.panel),
                l.budget.map_or(Cell::Empty, Cell::Pence),
                Cell::Pence(l.committed),
                Cell::Pence(l.pending),
                Cell::Pence(l.actual),
                Cell::Pence(l.forecast()),
                l.remaining().map_or(Cell::Empty, Cell::Pence),
            ]
        })
        .collect();
    Ok((year, rows))
}

fn download(bytes: Vec<u8>, content_type: &str, name: &str) -> Response {
    crate::pages::as_download(bytes.into_response(), content_type, name)
}

async fn export_csv(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<crate::finance::YearQuery>,
) -> Result<Response, AppError> {
    let (year, rows) = table(&state, &p, &q, "csv").await?;
    let head: Vec<Cell> = HEAD.iter().map(|h| Cell::text(*h)).collect();
    let mut out = format!("\u{feff}{}", jp_exports::csv_line(&head));
    for r in &rows {
        out.push_str(&jp_exports::csv_line(r));
    }
    Ok(download(
        out.into_bytes(),
        "text/csv; charset=utf-8",
        &format!("finance-{}.csv", year_label(year).replace('/', "-")),
    ))
}

async fn export_xlsx(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<crate::finance::YearQuery>,
) -> Result<Response, AppError> {
    let (year, rows) = table(&state, &p, &q, "xlsx").await?;
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let mut book = jp_exports::Xlsx::new(
            &format!("Finance {}", year_label(year).replace('/', "-")),
            &HEAD,
        )
        .map_err(|e| e.to_string())?;
        for r in &rows {
            book.push(r).map_err(|e| e.to_string())?;
        }
        let file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
        book.save(file.path()).map_err(|e| e.to_string())?;
        std::fs::read(file.path()).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
    .map_err(AppError::Internal)?;
    Ok(download(
        bytes,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("finance-{}.xlsx", year_label(year).replace('/', "-")),
    ))
}

#[derive(Template)]
#[template(path = "finance_spend_import.html")]
struct SpendPage {
    page: PageCtx,
    problems: Vec<Problem>,
    recorded: Option<(usize, String)>,
    errors: Errors,
}

fn spend_view(
    p: &Principal,
    problems: Vec<Problem>,
    recorded: Option<(usize, String)>,
    errors: Errors,
    status: StatusCode,
) -> Response {
    let view = SpendPage {
        page: PageCtx::new(p, "Record spend from a file", "/finance").with_errors(&errors),
        problems,
        recorded,
        errors,
    };
    let mut res = render_checked(&view, &view.errors);
    if status != StatusCode::OK {
        *res.status_mut() = status;
    }
    res
}

async fn spend_page(Extension(p): Extension<Principal>) -> Result<Response, AppError> {
    Ok(spend_view(
        &p,
        Vec::new(),
        None,
        Errors::default(),
        StatusCode::OK,
    ))
}

async fn spend_upload(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    upload: crate::forms::Upload,
) -> Result<Response, AppError> {
    use crate::forms::FilePart;
    let refuse = |m: &str, status| {
        let mut e = Errors::default();
        e.add("file", m);
        Ok(spend_view(&p, Vec::new(), None, e, status))
    };
    let (name, bytes) = match upload.file(jp_exports::read::MAX_BYTES).await? {
        FilePart::File(name, bytes) => (name, bytes),
        FilePart::TooLarge => {
            return refuse(
                "The file is larger than 20 MB: split it into smaller files",
                StatusCode::PAYLOAD_TOO_LARGE,
            );
        }
        FilePart::Missing => {
            return refuse(
                "Select a CSV or XLSX file",
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let t = match jp_exports::read::table(&name, &bytes) {
        Ok(t) if t.rows.is_empty() => {
            return refuse(
                "The file has a header row but no payments under it",
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        Ok(t) => t,
        Err(e) => return refuse(&e, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let actor = p.actor();
    let result = state
        .db(move |c| {
            let read = jp_store::finance::read_spend(c, &t.headers, &t.rows)?;
            let payments = match read {
                Ok(p) => p,
                Err(problems) => return Ok(Err(problems)),
            };
            let mut tx = c.begin()?;
            let mut total = 0_i64;
            for s in &payments {
                jp_store::finance::record_spend(
                    &mut tx,
                    &actor,
                    s.agreement_id,
                    s.organisation_id,
                    s.month,
                    s.pence,
                    &s.reference,
                )?;
                total += s.pence;
            }
            tx.commit()?;
            Ok(Ok((payments.len(), total)))
        })
        .await?;
    Ok(match result {
        Ok((n, total)) => spend_view(
            &p,
            Vec::new(),
            Some((n, Pence(total).to_string())),
            Errors::default(),
            StatusCode::OK,
        ),
        Err(problems) => {
            let mut e = Errors::default();
            e.add(
                "file",
                format!(
                    "The file has {} problems (listed below); nothing was recorded",
                    problems.len()
                ),
            );
            spend_view(&p, problems, None, e, StatusCode::UNPROCESSABLE_ENTITY)
        }
    })
}
