//! The tracker (SPEC §7): every referral at the panel with its child, panel,
//! meeting, status, decision, agreement, annual cost by organisation, review
//! date and key worker — a query over the records, never edited by hand.
//! Pages are found by keyset (the last row's sort key and id), never OFFSET,
//! so the thousandth page costs what the first does.

use crate::db::{self, Conn, DbResult, Value};
use chrono::{NaiveDate, NaiveDateTime};
use jp_domain::lifecycle::Status;
use serde::Serialize;
use std::collections::BTreeMap;

/// The statuses the tracker lists: from submission on.
pub const LISTED: [Status; 7] = [
    Status::Submitted,
    Status::Booked,
    Status::Considered,
    Status::Decided,
    Status::AgreementActive,
    Status::UnderReview,
    Status::Closed,
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Child's name, local ID or NHS number (contains), or a referral number.
    pub q: Option<String>,
    pub panel_id: Option<i64>,
    pub status: Option<Status>,
    /// The referrer's agency.
    pub agency_id: Option<i64>,
    pub need_level: Option<String>,
    pub submitted_from: Option<NaiveDate>,
    pub submitted_to: Option<NaiveDate>,
    /// Agreements whose review is due on or before this day.
    pub review_by: Option<NaiveDate>,
    /// Only these panels (the person's own); None for every panel.
    pub panels: Option<Vec<i64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sort {
    /// Newest referral first.
    #[default]
    Newest,
    Oldest,
    /// Latest submission first.
    Submitted,
    /// Soonest meeting first (unbooked last).
    Meeting,
    /// Soonest review first (none last).
    Review,
}

impl Sort {
    pub const ALL: [Sort; 5] = [
        Sort::Newest,
        Sort::Oldest,
        Sort::Submitted,
        Sort::Meeting,
        Sort::Review,
    ];
    pub fn slug(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::Oldest => "oldest",
            Sort::Submitted => "submitted",
            Sort::Meeting => "meeting",
            Sort::Review => "review",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Sort::Newest => "Newest referral first",
            Sort::Oldest => "Oldest referral first",
            Sort::Submitted => "Latest submitted first",
            Sort::Meeting => "Soonest meeting first",
            Sort::Review => "Soonest review first",
        }
    }
    pub fn parse(s: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|x| x.slug() == s.trim())
    }
    /// (SQL expression of the key, descending?)
    fn key(self) -> (&'static str, bool) {
        match self {
            Sort::Newest => ("r.id", true),
            Sort::Oldest => ("r.id", false),
            Sort::Submitted => ("COALESCE(r.submitted_at, $F)", true),
            Sort::Meeting => ("COALESCE(m.meeting_date, $L)", false),
            Sort::Review => ("COALESCE(v.review_date, $L)", false),
        }
    }
}

/// Where the next page starts: the last row's sort key and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub key: String,
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}_{}", self.key, self.id)
    }
    pub fn parse(raw: &str) -> Option<Cursor> {
        let (key, id) = raw.trim().rsplit_once('_')?;
        let id: i64 = id.parse().ok()?;
        (key.len() <= 40
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | 'T' | ' ')))
        .then(|| Cursor {
            key: key.to_owned(),
            id,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub referral_id: i64,
    pub child_id: i64,
    pub child_local_id: String,
    pub child_name: String,
    pub date_of_birth: NaiveDate,
    pub nhs_number: Option<String>,
    pub panel_id: i64,
    pub panel: String,
    pub meeting_date: Option<NaiveDate>,
    pub status: Status,
    pub request_type: Option<String>,
    pub need_level: Option<String>,
    pub agency: Option<String>,
    pub submitted_at: Option<NaiveDateTime>,
    pub decision_id: Option<i64>,
    pub outcome: Option<String>,
    pub key_worker: Option<String>,
    pub agreement_id: Option<i64>,
    pub agreement_status: Option<String>,
    pub review_date: Option<NaiveDate>,
    /// Committed pence in the financial year asked for, per organisation id.
    pub annual: BTreeMap<i64, i64>,
}

impl Row {
    /// Age in whole years on `today`.
    pub fn age_on(&self, today: NaiveDate) -> i32 {
        today
            .years_since(self.date_of_birth)
            .map_or(0, |y| y as i32)
    }
}

pub struct Page {
    pub rows: Vec<Row>,
    pub next: Option<Cursor>,
}

/// A tracker row's columns (then the page adds its annual costs) …
pub const ROW_COLUMNS: &str = "r.id, r.child_id, c.local_id, c.given_name || ' ' || c.family_name, c.date_of_birth,
    r.panel_id, p.name, m.meeting_date, r.status, r.request_type, r.need_level, ag.name, r.submitted_at,
    r.decision_id, d.outcome, kw.name, a.id, a.status, v.review_date, c.nhs_number";

/// … and the records they come from.
pub const ROW_FROM: &str = "FROM referrals r
    JOIN children c ON c.id = r.child_id
    JOIN panels p ON p.id = r.panel_id
    LEFT JOIN meetings m ON m.id = r.meeting_id
    LEFT JOIN agencies ag ON ag.id = r.agency_id
    LEFT JOIN decisions d ON d.id = r.decision_id
    LEFT JOIN users kw ON kw.id = d.key_worker_id
    LEFT JOIN agreements a ON a.referral_id = r.id
    LEFT JOIN agreement_versions v ON v.agreement_id = a.id AND v.number = a.current_number";

/// Escapes LIKE's wildcards so a search for "50%" finds "50%".
fn like(q: &str) -> String {
    let mut out = String::from("%");
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// One page of the tracker: `limit` rows after `after`, with the cursor of
/// the next page when there is one. `financial_year` picks the annual cost.
pub fn page(
    conn: &mut Conn,
    f: &Filter,
    sort: Sort,
    after: Option<&Cursor>,
    limit: i64,
    financial_year: i32,
) -> DbResult<Page> {
    let mut p: Vec<Value> = Vec::new();
    let mut arg = |v: Value| {
        p.push(v);
        format!("${}", p.len())
    };
    let far_past = NaiveDate::from_ymd_opt(1900, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(|| db::DbError::Other("far past".into()))?;
    let far_future = NaiveDate::from_ymd_opt(9999, 12, 31)
        .ok_or_else(|| db::DbError::Other("far future".into()))?;
    let (key_sql, desc) = sort.key();
    // (PostgreSQL refuses parameters a statement does not use.)
    let key_sql = if key_sql.contains("$F") {
        key_sql.replace("$F", &arg(Value::Timestamp(far_past)))
    } else if key_sql.contains("$L") {
        key_sql.replace("$L", &arg(Value::Date(far_future)))
    } else {
        key_sql.to_owned()
    };
    let statuses: Vec<String> = LISTED
        .iter()
        .map(|s| arg(Value::Text(s.slug().to_owned())))
        .collect();
    let mut wh = vec![format!("r.status IN ({})", statuses.join(", "))];
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = arg(Value::Text(like(q)));
        let mut alt = vec![
            format!("LOWER(c.given_name || ' ' || c.family_name) LIKE {pattern} ESCAPE '\\'"),
            format!("LOWER(c.local_id) LIKE {pattern} ESCAPE '\\'"),
            format!("COALESCE(c.nhs_number, '') LIKE {pattern} ESCAPE '\\'"),
        ];
        if let Ok(n) = q.trim_start_matches('#').parse::<i64>() {
            alt.push(format!("r.id = {}", arg(Value::Int(n))));
        }
        wh.push(format!("({})", alt.join(" OR ")));
    }
    if let Some(id) = f.panel_id {
        wh.push(format!("r.panel_id = {}", arg(Value::Int(id))));
    }
    if let Some(panels) = &f.panels {
        if panels.is_empty() {
            wh.push("1 = 0".into());
        } else {
            let ids: Vec<String> = panels.iter().map(|id| arg(Value::Int(*id))).collect();
            wh.push(format!("r.panel_id IN ({})", ids.join(", ")));
        }
    }
    if let Some(s) = f.status {
        wh.push(format!("r.status = {}", arg(Value::Text(s.slug().into()))));
    }
    if let Some(a) = f.agency_id {
        wh.push(format!("r.agency_id = {}", arg(Value::Int(a))));
    }
    if let Some(n) = &f.need_level {
        wh.push(format!("r.need_level = {}", arg(Value::Text(n.clone()))));
    }
    if let Some(d) = f.submitted_from {
        let t = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        wh.push(format!("r.submitted_at >= {}", arg(Value::Timestamp(t))));
    }
    if let Some(d) = f.submitted_to.and_then(|d| d.succ_opt()) {
        let t = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        wh.push(format!("r.submitted_at < {}", arg(Value::Timestamp(t))));
    }
    if let Some(d) = f.review_by {
        wh.push(format!(
            "v.review_date <= {} AND a.status = 'active'",
            arg(Value::Date(d))
        ));
    }
    if let Some(c) = after {
        let key = match sort {
            Sort::Newest | Sort::Oldest => Value::Int(c.key.parse().unwrap_or(c.id)),
            Sort::Submitted => Value::Timestamp(
                NaiveDateTime::parse_from_str(&c.key, "%Y-%m-%dT%H:%M:%S%.f").unwrap_or(far_past),
            ),
            Sort::Meeting | Sort::Review => {
                Value::Date(NaiveDate::parse_from_str(&c.key, "%Y-%m-%d").unwrap_or(far_future))
            }
        };
        let op = if desc { "<" } else { ">" };
        wh.push(format!(
            "({key_sql}, r.id) {op} ({}, {})",
            arg(key),
            arg(Value::Int(c.id))
        ));
    }
    // The agreement's cost this financial year by organisation, as
    // "organisation:pence,…" (read from the covering index, in the same
    // round trip as the rows).
    let concat = match conn.backend() {
        db::Backend::Sqlite => "group_concat",
        db::Backend::Postgres => "string_agg",
    };
    let annual = format!(
        "(SELECT {concat}(CAST(t.organisation_id AS TEXT) || ':' || CAST(t.total AS TEXT), ',')
          FROM (SELECT organisation_id, SUM(pence) AS total FROM committed_costs
                WHERE agreement_id = a.id AND financial_year = {financial_year}
                GROUP BY organisation_id) t)"
    );
    let dir = if desc { "DESC" } else { "ASC" };
    // The limit is written into the statement, not bound: PostgreSQL plans a
    // statement once for any parameters (plan_cache_mode), and a generic plan
    // guesses a bound LIMIT at a tenth of the table — hash joins over every
    // referral (10 requests a second at a million referrals).
    let lim = limit.max(0) + 1;
    let sql = format!(
        "SELECT {ROW_COLUMNS}, {annual}
         {ROW_FROM}
         WHERE {}
         ORDER BY {key_sql} {dir}, r.id {dir}
         LIMIT {lim}",
        wh.join(" AND ")
    );
    let rows = conn.query(&sql, &p)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows.iter().take(usize::try_from(limit).unwrap_or(0)) {
        let status: String = r.get(8)?;
        out.push(Row {
            referral_id: r.get(0)?,
            child_id: r.get(1)?,
            child_local_id: r.get(2)?,
            child_name: r.get(3)?,
            date_of_birth: r.get(4)?,
            nhs_number: r.get(19)?,
            panel_id: r.get(5)?,
            panel: r.get(6)?,
            meeting_date: r.get(7)?,
            status: Status::parse(&status).unwrap_or(Status::Submitted),
            request_type: r.get(9)?,
            need_level: r.get(10)?,
            agency: r.get(11)?,
            submitted_at: r.get(12)?,
            decision_id: r.get(13)?,
            outcome: r.get::<Option<String>>(14)?.filter(|o| !o.is_empty()),
            key_worker: r.get(15)?,
            agreement_id: r.get(16)?,
            agreement_status: r.get(17)?,
            review_date: r.get(18)?,
            annual: r
                .get::<Option<String>>(20)?
                .unwrap_or_default()
                .split(',')
                .filter_map(|pair| {
                    let (org, pence) = pair.split_once(':')?;
                    Some((org.parse().ok()?, pence.parse().ok()?))
                })
                .collect(),
        });
    }
    let next = if rows.len() as i64 > limit {
        out.last().map(|last| Cursor {
            key: match sort {
                Sort::Newest | Sort::Oldest => last.referral_id.to_string(),
                Sort::Submitted => last
                    .submitted_at
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
                    .unwrap_or_else(|| "1900-01-01T00:00:00".into()),
                Sort::Meeting => last.meeting_date.unwrap_or(far_future).to_string(),
                Sort::Review => last.review_date.unwrap_or(far_future).to_string(),
            },
            id: last.referral_id,
        })
    } else {
        None
    };
    Ok(Page { rows: out, next })
}

/// An agreement's current terms as the spreadsheet writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetTerms {
    pub provider: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub lines: Vec<jp_domain::costs::CostLine>,
    /// (organisation name, basis points), in the agreed order.
    pub shares: Vec<(String, u32)>,
}

/// The current terms of each agreement in `ids`, in two queries (the export
/// asks a batch at a time).
pub fn sheet_terms(conn: &mut Conn, ids: &[i64]) -> DbResult<BTreeMap<i64, SheetTerms>> {
    let mut out = BTreeMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let args: Vec<Value> = ids.iter().map(|id| Value::Int(*id)).collect();
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let mut versions: BTreeMap<i64, i64> = BTreeMap::new();
    for r in &conn.query(
        &format!(
            "SELECT a.id, v.id, v.provider, v.start_date, v.end_date, v.lines FROM agreements a
             JOIN agreement_versions v ON v.agreement_id = a.id AND v.number = a.current_number
             WHERE a.id IN ({})",
            marks.join(", ")
        ),
        &args,
    )? {
        let lines: String = r.get(5)?;
        versions.insert(r.get(1)?, r.get(0)?);
        out.insert(
            r.get(0)?,
            SheetTerms {
                provider: r.get(2)?,
                start: r.get(3)?,
                end: r.get(4)?,
                lines: serde_json::from_str(&lines).unwrap_or_default(),
                shares: Vec::new(),
            },
        );
    }
    let vids: Vec<Value> = versions.keys().map(|id| Value::Int(*id)).collect();
    let marks: Vec<String> = (1..=vids.len()).map(|i| format!("${i}")).collect();
    if !vids.is_empty() {
        for r in &conn.query(
            &format!(
                "SELECT s.version_id, o.name, s.basis_points FROM agreement_shares s
                 JOIN organisations o ON o.id = s.organisation_id
                 WHERE s.version_id IN ({}) ORDER BY s.version_id, s.position",
                marks.join(", ")
            ),
            &vids,
        )? {
            let vid: i64 = r.get(0)?;
            if let Some(t) = versions.get(&vid).and_then(|a| out.get_mut(a)) {
                let bp: i64 = r.get(2)?;
                t.shares.push((r.get(1)?, u32::try_from(bp).unwrap_or(0)));
            }
        }
    }
    Ok(out)
}
