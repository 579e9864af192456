//! The tracker page and its JSON (SPEC §7): every referral at the panel, with
//! search, filters, sorting and keyset pages; the address holds the filters,
//! so a view can be bookmarked and shared.

use crate::auth::Principal;
use crate::error::{ApiError, AppError};
use crate::forms::Errors;
use crate::pages::{PageCtx, date, render_checked};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::{Extension, Json};
use chrono::NaiveDate;
use jp_domain::lifecycle::Status;
use jp_domain::{Pence, Role};
use jp_store::tracker::{self, Cursor, Filter, Row, Sort};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes() -> Routes {
    Routes::default()
        .get("/tracker", page)
        .get("/api/v1/tracker", api)
        .get("/tracker/export.csv", export_csv)
        .get("/tracker/export.xlsx", export_xlsx)
}

/// Rows on a page.
pub const PAGE_SIZE: i64 = 50;

/// What the address asks for: the filter, the order and where the page starts.
type View = (Filter, Sort, Option<Cursor>);

/// The tracker's address: every filter, the sort and where the page starts.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrackerQuery {
    /// Child's name, local ID or NHS number, or a referral number
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub panel: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub agency: String,
    #[serde(default)]
    pub need: String,
    /// Submitted on or after (YYYY-MM-DD)
    #[serde(default)]
    pub from: String,
    /// Submitted on or before (YYYY-MM-DD)
    #[serde(default)]
    pub to: String,
    /// Review due on or before (YYYY-MM-DD)
    #[serde(default)]
    pub review_by: String,
    /// newest, oldest, submitted, meeting or review
    #[serde(default)]
    pub sort: String,
    /// The cursor of the page to show (from the previous page's `next`)
    #[serde(default)]
    pub after: String,
}

impl TrackerQuery {
    /// The filter, sort and cursor, or a message for each field that is wrong.
    fn read(&self) -> Result<View, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let mut f = Filter {
            q: Some(self.q.chars().take(100).collect()).filter(|q: &String| !q.trim().is_empty()),
            ..Filter::default()
        };
        let id = |key: &str, raw: &str, problems: &mut Vec<(String, String)>| {
            if raw.trim().is_empty() {
                return None;
            }
            let v = crate::admin::chosen_id(raw);
            if v.is_none() {
                problems.push((key.to_owned(), format!("Choose a {key} from the list")));
            }
            v
        };
        f.panel_id = id("panel", &self.panel, &mut problems);
        f.agency_id = id("agency", &self.agency, &mut problems);
        if !self.status.trim().is_empty() {
            match Status::parse(self.status.trim()).filter(|s| tracker::LISTED.contains(s)) {
                Some(s) => f.status = Some(s),
                None => problems.push(("status".into(), "Choose a status from the list".into())),
            }
        }
        if !self.need.trim().is_empty() {
            match jp_domain::panel_rules::NEED_LEVELS
                .iter()
                .find(|(k, _)| *k == self.need.trim())
            {
                Some((k, _)) => f.need_level = Some((*k).to_owned()),
                None => {
                    problems.push(("need".into(), "Choose a level of need from the list".into()))
                }
            }
        }
        for (key, raw, slot) in [
            ("from", &self.from, &mut f.submitted_from),
            ("to", &self.to, &mut f.submitted_to),
            ("review_by", &self.review_by, &mut f.review_by),
        ] {
            if raw.trim().is_empty() {
                continue;
            }
            match NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
                Ok(d) => *slot = Some(d),
                Err(_) => problems.push((
                    key.to_owned(),
                    format!(
                        "Enter the date as year-month-day, like 2027-04-01 (not “{}”)",
                        raw.chars().take(30).collect::<String>()
                    ),
                )),
            }
        }
        if let (Some(a), Some(b)) = (f.submitted_from, f.submitted_to)
            && b < a
        {
            problems.push((
                "to".into(),
                "The “to” date must be the same as or after the “from” date".into(),
            ));
        }
        let sort = if self.sort.trim().is_empty() {
            Sort::default()
        } else {
            Sort::parse(&self.sort).unwrap_or_else(|| {
                problems.push(("sort".into(), "Choose an order from the list".into()));
                Sort::default()
            })
        };
        let after = if self.after.trim().is_empty() {
            None
        } else {
            let c = Cursor::parse(&self.after);
            if c.is_none() {
                problems.push((
                    "after".into(),
                    "The page address is not valid: start again from the first page".into(),
                ));
            }
            c
        };
        if problems.is_empty() {
            Ok((f, sort, after))
        } else {
            Err(problems)
        }
    }

    /// The address of this view with `after` as its start.
    fn with_after(&self, after: &str) -> String {
        let pairs = [
            ("q", self.q.as_str()),
            ("panel", &self.panel),
            ("status", &self.status),
            ("agency", &self.agency),
            ("need", &self.need),
            ("from", &self.from),
            ("to", &self.to),
            ("review_by", &self.review_by),
            ("sort", &self.sort),
            ("after", after),
        ];
        let q: Vec<String> = pairs
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", crate::forms::url_encode(v)))
            .collect();
        if q.is_empty() {
            "/tracker".into()
        } else {
            format!("/tracker?{}", q.join("&"))
        }
    }
}

/// Who sees the tracker and which panels: administrators and finance every
/// panel; chairs and members the panels they sit on.
fn scope(c: &mut jp_store::db::Conn, p: &Principal) -> Result<(Option<Vec<i64>>, bool), AppError> {
    let u = &p.user;
    let names =
        !u.has(Role::Finance) || u.has_any(&[Role::Administrator, Role::Chair, Role::Member]);
    if u.has_any(&[Role::Administrator, Role::Finance]) {
        return Ok((None, names));
    }
    Ok((Some(jp_store::referrals::panels_sat_on(c, u.id)?), names))
}

#[derive(Clone)]
pub(crate) struct Loaded {
    rows: Vec<Row>,
    next: Option<Cursor>,
    names: bool,
    organisations: Vec<(i64, String)>,
    panels: Vec<(i64, String)>,
    agencies: Vec<(i64, String)>,
}

async fn load(
    state: &AppState,
    p: &Principal,
    f: Filter,
    sort: Sort,
    after: Option<Cursor>,
) -> Result<Loaded, AppError> {
    let principal = p.clone();
    state
        .db(move |c| {
            let (panels_only, names) = scope(c, &principal)?;
            let mut f = f;
            f.panels = panels_only.clone();
            let page = tracker::page(
                c,
                &f,
                sort,
                after.as_ref(),
                PAGE_SIZE,
                crate::finance::this_year(),
            )?;
            let listed = jp_store::reference::names(c)?;
            let panels = listed
                .panels
                .into_iter()
                .filter(|(id, _)| panels_only.as_ref().is_none_or(|only| only.contains(id)))
                .collect();
            Ok(Loaded {
                rows: page.rows,
                next: page.next,
                names,
                organisations: listed.organisations,
                panels,
                agencies: listed.agencies,
            })
        })
        .await
}

#[derive(Template)]
#[template(path = "tracker.html")]
struct TrackerPage {
    page: PageCtx,
    q: TrackerQuery,
    rows: Vec<Row>,
    names: bool,
    organisations: Vec<(i64, String)>,
    panels: Vec<(String, String)>,
    agencies: Vec<(String, String)>,
    statuses: Vec<(String, String)>,
    needs: Vec<(String, String)>,
    sorts: Vec<(String, String)>,
    next: Option<String>,
    first: Option<String>,
    year: String,
    today: NaiveDate,
    /// Chairs and members open decided referrals at their decision (their
    /// view of the papers ends when the meeting closes).
    decision_links: bool,
    can_import: bool,
    errors: Errors,
}

impl TrackerPage {
    /// Children aged 14 and over: preparing for adulthood (SPEC §7).
    fn adulthood(&self, r: &Row) -> bool {
        r.age_on(self.today) >= 14
    }
    fn overdue(&self, r: &Row) -> bool {
        r.agreement_status.as_deref() == Some("active")
            && r.review_date.is_some_and(|d| d < self.today)
    }
    /// This view's address as an export.
    fn export(&self, format: &str) -> String {
        self.q
            .with_after("")
            .replacen("/tracker", &format!("/tracker/export.{format}"), 1)
    }
    fn href(&self, r: &Row) -> String {
        if self.decision_links && r.status.considered_or_later() {
            format!("/referrals/{}/decision", r.referral_id)
        } else {
            format!("/referrals/{}", r.referral_id)
        }
    }
    fn cost(&self, r: &Row, org: &i64) -> String {
        r.annual
            .get(org)
            .map(|p| Pence(*p).to_string())
            .unwrap_or_default()
    }
}

fn with_blank(
    first: &str,
    items: impl IntoIterator<Item = (String, String)>,
) -> Vec<(String, String)> {
    let mut v = vec![(String::new(), first.to_owned())];
    v.extend(items);
    v
}

async fn page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<TrackerQuery>,
) -> Result<Response, AppError> {
    render_page(&state, &p, q, None).await
}

/// Rows kept from a first load and rendered again without the database (the
/// benchmark's baseline: the same handler stack, the rows from memory).
pub(crate) type Memory = std::sync::Arc<std::sync::OnceLock<Loaded>>;

pub(crate) async fn render_page(
    state: &AppState,
    p: &Principal,
    q: TrackerQuery,
    memory: Option<Memory>,
) -> Result<Response, AppError> {
    let (state, p) = (state.clone(), p.clone());
    let (read, mut errors) = match q.read() {
        Ok(x) => (x, Errors::default()),
        Err(list) => {
            let mut e = Errors::default();
            for (k, m) in list {
                e.add(&k, m);
            }
            ((Filter::default(), Sort::default(), None), e)
        }
    };
    let (f, sort, after) = read;
    let had_errors = !errors.is_empty();
    let mut l = match memory.as_ref().and_then(|m| m.get()) {
        Some(kept) => kept.clone(),
        None => {
            let l = load(&state, &p, f, sort, after.clone()).await?;
            if let Some(m) = &memory {
                let _ = m.set(l.clone());
            }
            l
        }
    };
    if had_errors {
        // Nothing is listed under a filter that could not be read.
        l.rows.clear();
        l.next = None;
        errors.0.sort_by_key(|(k, _)| k == "after");
    }
    let fy = crate::finance::this_year();
    let view = TrackerPage {
        page: PageCtx::new(&p, "Tracker", "/tracker").with_errors(&errors),
        can_import: p.user.has(Role::Administrator),
        next: l.next.as_ref().map(|c| q.with_after(&c.encode())),
        first: after.is_some().then(|| q.with_after("")),
        rows: l.rows,
        names: l.names,
        organisations: l.organisations,
        panels: with_blank(
            "Every panel",
            l.panels.into_iter().map(|(i, n)| (i.to_string(), n)),
        ),
        agencies: with_blank(
            "Every agency",
            l.agencies.into_iter().map(|(i, n)| (i.to_string(), n)),
        ),
        statuses: with_blank(
            "Every status",
            tracker::LISTED
                .iter()
                .map(|s| (s.slug().to_owned(), s.label().to_owned())),
        ),
        needs: with_blank(
            "Every level",
            jp_domain::panel_rules::NEED_LEVELS
                .iter()
                .map(|(k, l)| ((*k).to_owned(), (*l).to_owned())),
        ),
        sorts: Sort::ALL
            .iter()
            .map(|s| (s.slug().to_owned(), s.label().to_owned()))
            .collect(),
        year: crate::finance::year_label(fy),
        today: crate::referrals::today(),
        decision_links: !p.user.has_any(&[Role::Administrator, Role::Finance]),
        q,
        errors,
    };
    Ok(render_checked(&view, &view.errors))
}

#[derive(Serialize, ToSchema)]
pub struct TrackerRow {
    pub referral_id: i64,
    pub child_id: i64,
    pub child_local_id: String,
    /// Absent for finance officers (money and ids, not names)
    pub child_name: Option<String>,
    pub preparing_for_adulthood: bool,
    pub panel: String,
    pub meeting_date: Option<NaiveDate>,
    pub status: String,
    pub request_type: Option<String>,
    pub need_level: Option<String>,
    pub agency: Option<String>,
    pub decision_id: Option<i64>,
    pub outcome: Option<String>,
    pub key_worker: Option<String>,
    pub agreement_id: Option<i64>,
    pub agreement_status: Option<String>,
    pub review_date: Option<NaiveDate>,
    /// Committed pence this financial year, by organisation id
    pub annual_pence: std::collections::BTreeMap<String, i64>,
}

#[derive(Serialize, ToSchema)]
pub struct TrackerOut {
    /// The financial year of `annual_pence`, by the year it starts
    pub financial_year: i32,
    pub rows: Vec<TrackerRow>,
    /// Pass as `after` for the next page; absent on the last
    pub next: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/tracker", tag = "tracker", params(TrackerQuery),
    responses((status = 200, body = TrackerOut), (status = 422, body = crate::error::Problem)))]
pub async fn api(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<TrackerQuery>,
) -> Result<Json<TrackerOut>, ApiError> {
    let (f, sort, after) = q.read().map_err(crate::api::unprocessable)?;
    let l = load(&state, &p, f, sort, after).await?;
    let today = crate::referrals::today();
    Ok(Json(TrackerOut {
        financial_year: crate::finance::this_year(),
        next: l.next.map(|c| c.encode()),
        rows: l
            .rows
            .into_iter()
            .map(|r| TrackerRow {
                preparing_for_adulthood: r.age_on(today) >= 14,
                referral_id: r.referral_id,
                child_id: r.child_id,
                child_local_id: r.child_local_id,
                child_name: l.names.then_some(r.child_name),
                panel: r.panel,
                meeting_date: r.meeting_date,
                status: r.status.slug().to_owned(),
                request_type: r.request_type,
                need_level: r.need_level,
                agency: r.agency,
                decision_id: r.decision_id,
                outcome: r.outcome,
                key_worker: r.key_worker,
                agreement_id: r.agreement_id,
                agreement_status: r.agreement_status,
                review_date: r.review_date,
                annual_pence: r.annual.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            })
            .collect(),
    }))
}

/// "9 May 2023", or the words for none.
pub fn date_or(d: Option<NaiveDate>, none: &str) -> String {
    d.map(date).unwrap_or_else(|| none.to_owned())
}

/// A decision outcome's words from its slug.
pub fn outcome_label(slug: &str) -> &'static str {
    jp_domain::decision::Outcome::parse(slug).map_or("", jp_domain::decision::Outcome::label)
}

// ---------------------------------------------------------------------------
// Exports: the filtered tracker as CSV (streamed a page at a time) or XLSX
// (rows spilled to a temporary file, then streamed), audited.

/// Rows read from the database per step of an export.
const EXPORT_BATCH: i64 = 1_000;

fn headers(names: bool, organisations: &[(i64, String)], year: &str) -> Vec<String> {
    let mut h: Vec<String> = ["Referral", "Child local ID"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    if names {
        h.push("Child".into());
        h.push("Date of birth".into());
        h.push("NHS number".into());
    }
    for s in [
        "Preparing for adulthood",
        "Panel",
        "Meeting",
        "Status",
        "Request",
        "Level of need",
        "Referrer's agency",
        "Decision",
        "Agreement",
        "Agreement status",
        "Review date",
        "Key worker",
        "Provider",
        "Agreement start",
        "Agreement end",
        "Cost lines",
        "Shares",
    ] {
        h.push(s.into());
    }
    for (_, name) in organisations {
        h.push(format!("{name} {year} (£)"));
    }
    h
}

fn cells(
    r: &Row,
    terms: Option<&tracker::SheetTerms>,
    names: bool,
    organisations: &[(i64, String)],
    today: NaiveDate,
) -> Vec<jp_exports::Cell> {
    use jp_exports::Cell;
    let iso = |d: Option<NaiveDate>| Cell::opt(d.map(|d| d.format("%Y-%m-%d").to_string()));
    let mut c = vec![Cell::Int(r.referral_id), Cell::text(&r.child_local_id)];
    if names {
        c.push(Cell::text(&r.child_name));
        c.push(iso(Some(r.date_of_birth)));
        c.push(Cell::opt(r.nhs_number.clone()));
    }
    c.extend([
        Cell::text(if r.age_on(today) >= 14 { "Yes" } else { "No" }),
        Cell::text(&r.panel),
        iso(r.meeting_date),
        Cell::text(r.status.label()),
        Cell::opt(r.request_type.clone()),
        Cell::opt(r.need_level.clone()),
        Cell::opt(r.agency.clone()),
        Cell::opt(r.outcome.as_deref().map(outcome_label)),
        r.agreement_id.map_or(Cell::Empty, Cell::Int),
        Cell::opt(r.agreement_status.clone()),
        iso(r.review_date),
        Cell::opt(r.key_worker.clone()),
    ]);
    match terms {
        Some(t) => c.extend([
            Cell::text(&t.provider),
            iso(Some(t.start)),
            iso(Some(t.end)),
            Cell::text(jp_domain::sheet::write_lines(&t.lines)),
            Cell::text(jp_domain::sheet::write_shares(&t.shares)),
        ]),
        None => c.extend([
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
        ]),
    }
    for (org, _) in organisations {
        c.push(r.annual.get(org).map_or(Cell::Empty, |p| Cell::Pence(*p)));
    }
    c
}

/// Reads the export's filters (as the page does), records the export in the
/// audit log, and returns what the writer needs.
async fn begin_export(
    state: &AppState,
    p: &Principal,
    q: &TrackerQuery,
    format: &str,
) -> Result<(Filter, Sort, bool, Vec<(i64, String)>), AppError> {
    let (mut f, sort, _) = q.read().map_err(|list| {
        AppError::Unprocessable(
            list.into_iter()
                .map(|(_, m)| m)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let principal = p.clone();
    let actor = p.actor();
    let format = format.to_owned();
    let filters = q.with_after("");
    state
        .db(move |c| {
            let (panels, names) = scope(c, &principal)?;
            f.panels = panels;
            let organisations = jp_store::reference::organisations::list(c)?
                .into_iter()
                .map(|o| (o.id, o.name))
                .collect();
            let mut tx = c.begin()?;
            jp_store::audit::record(
                &mut tx,
                &actor,
                "tracker.exported",
                "tracker",
                None,
                serde_json::json!({"format": format, "view": filters}),
            )?;
            tx.commit()?;
            Ok((f, sort, names, organisations))
        })
        .await
}

type Chunk = Result<axum::body::Bytes, std::io::Error>;

fn streamed(
    rx: tokio::sync::mpsc::Receiver<Chunk>,
    content_type: &str,
    file_name: &str,
) -> Response {
    use axum::response::IntoResponse;
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    crate::pages::as_download(
        axum::body::Body::from_stream(stream).into_response(),
        content_type,
        file_name,
    )
}

/// Every row of the view, a batch at a time with its agreements' terms, to `each`.
fn each_row(
    store: &jp_store::Store,
    f: &Filter,
    sort: Sort,
    mut each: impl FnMut(
        &[Row],
        &std::collections::BTreeMap<i64, tracker::SheetTerms>,
    ) -> Result<(), String>,
) -> Result<(), String> {
    let mut conn = store.conn().map_err(|e| e.to_string())?;
    let mut after: Option<Cursor> = None;
    loop {
        let page = tracker::page(
            &mut conn,
            f,
            sort,
            after.as_ref(),
            EXPORT_BATCH,
            crate::finance::this_year(),
        )
        .map_err(|e| e.to_string())?;
        let ids: Vec<i64> = page.rows.iter().filter_map(|r| r.agreement_id).collect();
        let terms = tracker::sheet_terms(&mut conn, &ids).map_err(|e| e.to_string())?;
        each(&page.rows, &terms)?;
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(()),
        }
    }
}

async fn export_csv(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<TrackerQuery>,
) -> Result<Response, AppError> {
    let (f, sort, names, organisations) = begin_export(&state, &p, &q, "csv").await?;
    let fy = crate::finance::this_year();
    let year = crate::finance::year_label(fy);
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(4);
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let today = crate::referrals::today();
        let head: Vec<jp_exports::Cell> = headers(names, &organisations, &year)
            .into_iter()
            .map(jp_exports::Cell::Text)
            .collect();
        // A UTF-8 byte order mark, so spreadsheet programs read £ and names right.
        let first = format!("\u{feff}{}", jp_exports::csv_line(&head));
        if tx.blocking_send(Ok(first.into())).is_err() {
            return;
        }
        let result = each_row(&store, &f, sort, |rows, terms| {
            let mut chunk = String::new();
            for r in rows {
                chunk.push_str(&jp_exports::csv_line(&cells(
                    r,
                    r.agreement_id.and_then(|a| terms.get(&a)),
                    names,
                    &organisations,
                    today,
                )));
            }
            tx.blocking_send(Ok(chunk.into()))
                .map_err(|_| "the client went away".to_owned())
        });
        if let Err(e) = result {
            tracing::warn!(error = %e, "tracker CSV export stopped");
            let _ = tx.blocking_send(Err(std::io::Error::other(e)));
        }
    });
    Ok(streamed(rx, "text/csv; charset=utf-8", "tracker.csv"))
}

async fn export_xlsx(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<TrackerQuery>,
) -> Result<Response, AppError> {
    let (f, sort, names, organisations) = begin_export(&state, &p, &q, "xlsx").await?;
    let fy = crate::finance::this_year();
    let year = crate::finance::year_label(fy);
    let store = state.store.clone();
    // The workbook is written to a temporary file (rows spill to disk as they
    // come), then streamed from it.
    let file = tokio::task::spawn_blocking(move || -> Result<tempfile::NamedTempFile, AppError> {
        let today = crate::referrals::today();
        let head = headers(names, &organisations, &year);
        let head: Vec<&str> = head.iter().map(String::as_str).collect();
        let mut book = jp_exports::Xlsx::new("Tracker", &head)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let mut refused = None;
        each_row(&store, &f, sort, |rows, terms| {
            for r in rows {
                let t = r.agreement_id.and_then(|a| terms.get(&a));
                if let Err(e) = book.push(&cells(r, t, names, &organisations, today)) {
                    refused = Some(e.to_string());
                    return Err("stopped".into());
                }
            }
            Ok(())
        })
        .or_else(|e| if refused.is_some() { Ok(()) } else { Err(e) })
        .map_err(AppError::Internal)?;
        if let Some(m) = refused {
            return Err(AppError::Unprocessable(m));
        }
        let out = tempfile::NamedTempFile::new().map_err(|e| AppError::Internal(e.to_string()))?;
        book.save(out.path())
            .map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(out)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(4);
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut f = match std::fs::File::open(file.path()) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match f.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if tx
                        .blocking_send(Ok(axum::body::Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    Ok(streamed(
        rx,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "tracker.xlsx",
    ))
}
