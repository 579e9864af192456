//! The committed-cost summary (SPEC §6, §7): each agreement's current version
//! spread over its months and split between its paying organisations
//! (`jp_domain::apportion`, whole pence that add up), one row per agreement ×
//! organisation × month. `refresh` rewrites an agreement's rows in the
//! transaction that changed it; `rebuild` recomputes every agreement and
//! reports where the table differed.

use crate::agreements::{self, Agreement};
use crate::db::{Conn, DbResult, Tx};
use crate::params;
use jp_domain::apportion;
use serde::Serialize;
use std::collections::BTreeMap;

/// (organisation, year, month) → (pence, financial year).
type Rows = BTreeMap<(i64, i64, i64), (i64, i64)>;

fn expected(a: &Agreement) -> Rows {
    let t = &a.current.terms;
    let mut out = Rows::new();
    for ((y, m), parts) in apportion::by_month(&t.lines, &t.basis_points()) {
        let fy = apportion::financial_year_of((y, m));
        for (share, p) in t.shares.iter().zip(parts) {
            out.insert(
                (share.organisation_id, i64::from(y), i64::from(m)),
                (p.0, i64::from(fy)),
            );
        }
    }
    out
}

fn stored(conn: &mut Conn, agreement_id: i64) -> DbResult<Rows> {
    let mut out = Rows::new();
    for r in conn.query(
        "SELECT organisation_id, year, month, pence, financial_year FROM committed_costs WHERE agreement_id = $1",
        &params![agreement_id],
    )? {
        out.insert((r.get(0)?, r.get(1)?, r.get(2)?), (r.get(3)?, r.get(4)?));
    }
    Ok(out)
}

/// Adds (or takes away) an agreement's committed_costs rows
/// in the monthly finance summary.
fn roll(tx: &mut Tx<'_>, agreement_id: i64, add: bool) -> DbResult<()> {
    let sign = if add { "" } else { "-" };
    tx.execute(
        &format!(
            "INSERT INTO finance_months (organisation_id, panel_id, year, month, financial_year, committed, pending, actual)
             SELECT organisation_id, panel_id, year, month, MIN(financial_year),
                    {sign}CAST(SUM(CASE WHEN committed THEN pence ELSE 0 END) AS BIGINT),
                    {sign}CAST(SUM(CASE WHEN committed THEN 0 ELSE pence END) AS BIGINT), 0
             FROM committed_costs WHERE agreement_id = $1 GROUP BY organisation_id, panel_id, year, month
             ON CONFLICT (organisation_id, panel_id, year, month) DO UPDATE
             SET committed = finance_months.committed + excluded.committed,
                 pending = finance_months.pending + excluded.pending"
        ),
        &params![agreement_id],
    )?;
    Ok(())
}

fn write(tx: &mut Tx<'_>, a: &Agreement, rows: &Rows) -> DbResult<()> {
    roll(tx, a.id, false)?;
    tx.execute(
        "DELETE FROM committed_costs WHERE agreement_id = $1",
        &params![a.id],
    )?;
    let committed = a.status != "pending";
    for ((org, y, m), (pence, fy)) in rows {
        tx.execute(
            "INSERT INTO committed_costs (agreement_id, organisation_id, panel_id, year, month, financial_year, pence, committed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &params![a.id, *org, a.panel_id, *y, *m, *fy, *pence, committed],
        )?;
    }
    roll(tx, a.id, true)
}

/// (organisation, panel, year, month) → (committed, pending, actual).
type MonthRows = BTreeMap<(i64, i64, i64, i64), (i64, i64, i64)>;

/// Recomputes the monthly finance summary from committed_costs and spend;
/// returns how many of its rows were wrong.
pub fn rebuild_months(tx: &mut Tx<'_>) -> DbResult<u64> {
    let before: MonthRows = month_rows(tx)?;
    tx.execute("DELETE FROM finance_months", &[])?;
    tx.execute(
        "INSERT INTO finance_months (organisation_id, panel_id, year, month, financial_year, committed, pending, actual)
         SELECT organisation_id, panel_id, year, month, MIN(financial_year),
                CAST(SUM(CASE WHEN committed THEN pence ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN committed THEN 0 ELSE pence END) AS BIGINT), 0
         FROM committed_costs GROUP BY organisation_id, panel_id, year, month",
        &[],
    )?;
    tx.execute(
        "INSERT INTO finance_months (organisation_id, panel_id, year, month, financial_year, actual)
         SELECT organisation_id, panel_id, year, month, MIN(financial_year), CAST(SUM(pence) AS BIGINT)
         FROM spend GROUP BY organisation_id, panel_id, year, month
         ON CONFLICT (organisation_id, panel_id, year, month) DO UPDATE SET actual = finance_months.actual + excluded.actual",
        &[],
    )?;
    let after = month_rows(tx)?;
    let nonzero = |m: &MonthRows| {
        m.iter()
            .filter(|(_, v)| **v != (0, 0, 0))
            .map(|(k, v)| (*k, *v))
            .collect::<BTreeMap<_, _>>()
    };
    let (b, a) = (nonzero(&before), nonzero(&after));
    let keys: std::collections::BTreeSet<_> = b.keys().chain(a.keys()).collect();
    Ok(keys.into_iter().filter(|k| b.get(k) != a.get(k)).count() as u64)
}

fn month_rows(tx: &mut Tx<'_>) -> DbResult<MonthRows> {
    tx.query(
        "SELECT organisation_id, panel_id, year, month, committed, pending, actual FROM finance_months",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok((
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?),
            (r.get(4)?, r.get(5)?, r.get(6)?),
        ))
    })
    .collect()
}

/// Rewrites the agreement's rows from its current version and status.
pub fn refresh(tx: &mut Tx<'_>, agreement_id: i64) -> DbResult<()> {
    let Some(a) = agreements::get(tx, agreement_id)? else {
        return Ok(());
    };
    let rows = expected(&a);
    write(tx, &a, &rows)
}

/// Where the stored summary differed from the agreements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub agreement_id: i64,
    pub organisation_id: i64,
    pub year: i64,
    pub month: i64,
    pub stored_pence: Option<i64>,
    pub expected_pence: Option<i64>,
}

/// Recomputes every agreement's rows (one transaction each), returning the
/// differences found (and corrected). `progress(done, total)` after each.
pub fn rebuild(
    conn: &mut Conn,
    progress: &mut dyn FnMut(usize, usize),
) -> DbResult<Vec<Difference>> {
    let ids: Vec<i64> = conn
        .query("SELECT id FROM agreements ORDER BY id", &[])?
        .iter()
        .map(|r| r.get(0))
        .collect::<DbResult<_>>()?;
    let mut out = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let mut tx = conn.begin()?;
        if let Some(a) = agreements::get(&mut tx, *id)? {
            let want = expected(&a);
            let have = stored(&mut tx, a.id)?;
            let committed_now = a.status != "pending";
            let flags_wrong = tx
                .query_opt(
                    "SELECT 1 FROM committed_costs WHERE agreement_id = $1 AND committed <> $2",
                    &params![a.id, committed_now],
                )?
                .is_some();
            let mut keys: Vec<&(i64, i64, i64)> = want.keys().chain(have.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let (w, h) = (want.get(k).map(|x| x.0), have.get(k).map(|x| x.0));
                if w != h {
                    out.push(Difference {
                        agreement_id: a.id,
                        organisation_id: k.0,
                        year: k.1,
                        month: k.2,
                        stored_pence: h,
                        expected_pence: w,
                    });
                }
            }
            if want != have || flags_wrong {
                write(&mut tx, &a, &want)?;
            }
        }
        tx.commit()?;
        progress(n + 1, ids.len());
    }
    // Rows of agreements that no longer exist.
    let orphans = conn.execute(
        "DELETE FROM committed_costs WHERE agreement_id NOT IN (SELECT id FROM agreements)",
        &[],
    )?;
    if orphans > 0 {
        tracing::warn!(
            rows = orphans,
            "committed costs without an agreement removed"
        );
    }
    let mut tx = conn.begin()?;
    let wrong = rebuild_months(&mut tx)?;
    tx.commit()?;
    if wrong > 0 {
        tracing::warn!(
            rows = wrong,
            "monthly finance summary rows were wrong and are recomputed"
        );
    }
    Ok(out)
}

/// Committed pence per organisation and financial year (committed only).
pub fn by_organisation_and_year(conn: &mut Conn) -> DbResult<Vec<(i64, String, i64, i64)>> {
    conn.query(
        "SELECT c.organisation_id, o.name, c.financial_year, CAST(SUM(c.pence) AS BIGINT)
         FROM committed_costs c JOIN organisations o ON o.id = c.organisation_id
         WHERE c.committed GROUP BY c.organisation_id, o.name, c.financial_year
         ORDER BY o.name, c.financial_year",
        &[],
    )?
    .iter()
    .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
    .collect()
}

/// One organisation's money on one panel in a financial year.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Line {
    pub organisation_id: i64,
    pub organisation: String,
    pub panel_id: i64,
    pub panel: String,
    pub budget: Option<i64>,
    /// Committed by active (and ended) agreements over the whole year.
    pub committed: i64,
    /// Committed in the months still to come (from `from_month` on).
    pub committed_ahead: i64,
    /// Pending agreements (not yet committed).
    pub pending: i64,
    pub actual: i64,
}

impl Line {
    /// Actual spend so far plus what is committed for the months to come.
    pub fn forecast(&self) -> i64 {
        self.actual + self.committed_ahead
    }
    /// The budget left after the forecast (negative: overspend).
    pub fn remaining(&self) -> Option<i64> {
        self.budget.map(|b| b - self.forecast())
    }
}

/// Every organisation × panel with a budget, a commitment or spend in
/// `financial_year`; `from` is today's (year, month): months from it on are
/// "to come" for the forecast.
pub fn year_lines(conn: &mut Conn, financial_year: i32, from: (i32, u32)) -> DbResult<Vec<Line>> {
    let fy = i64::from(financial_year);
    let mut lines: BTreeMap<(i64, i64), Line> = BTreeMap::new();
    let names: BTreeMap<i64, String> = conn
        .query("SELECT id, name FROM organisations", &[])?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect::<DbResult<_>>()?;
    let panels: BTreeMap<i64, String> = conn
        .query("SELECT id, name FROM panels", &[])?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect::<DbResult<_>>()?;
    fn line<'a>(
        lines: &'a mut BTreeMap<(i64, i64), Line>,
        names: &BTreeMap<i64, String>,
        panels: &BTreeMap<i64, String>,
        org: i64,
        panel: i64,
    ) -> &'a mut Line {
        lines.entry((org, panel)).or_insert_with(|| Line {
            organisation_id: org,
            organisation: names.get(&org).cloned().unwrap_or_default(),
            panel_id: panel,
            panel: panels.get(&panel).cloned().unwrap_or_default(),
            ..Line::default()
        })
    }
    let ahead = i64::from(from.0) * 100 + i64::from(from.1);
    for r in conn.query(
        "SELECT organisation_id, panel_id, CAST(SUM(committed) AS BIGINT),
                CAST(SUM(CASE WHEN year * 100 + month >= $2 THEN committed ELSE 0 END) AS BIGINT),
                CAST(SUM(pending) AS BIGINT), CAST(SUM(actual) AS BIGINT)
         FROM finance_months WHERE financial_year = $1 GROUP BY organisation_id, panel_id",
        &params![fy, ahead],
    )? {
        let (org, panel, committed, later, pending, actual): (i64, i64, i64, i64, i64, i64) = (
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        );
        if (committed, pending, actual) == (0, 0, 0) {
            continue;
        }
        let l = line(&mut lines, &names, &panels, org, panel);
        l.committed += committed;
        l.committed_ahead += later;
        l.pending += pending;
        l.actual += actual;
    }
    for r in conn.query(
        "SELECT organisation_id, panel_id, pence FROM budgets WHERE financial_year = $1",
        &params![fy],
    )? {
        let l = line(&mut lines, &names, &panels, r.get(0)?, r.get(1)?);
        l.budget = Some(r.get(2)?);
    }
    let mut out: Vec<Line> = lines.into_values().collect();
    out.sort_by(|a, b| (&a.organisation, &a.panel).cmp(&(&b.organisation, &b.panel)));
    Ok(out)
}

/// Sets an organisation's budget on a panel for a financial year (a new row,
/// or the saved one at `version`), audited.
pub fn set_budget(
    tx: &mut Tx<'_>,
    actor: &crate::Actor,
    organisation_id: i64,
    panel_id: i64,
    financial_year: i32,
    pence: i64,
    version: Option<i64>,
) -> Result<(), crate::ChangeError> {
    if pence < 0 {
        return Err(crate::ChangeError::Invalid(
            "A budget cannot be less than £0".into(),
        ));
    }
    let fy = i64::from(financial_year);
    let current: Option<(i64, i64)> = tx
        .query_opt(
            "SELECT pence, version FROM budgets WHERE organisation_id = $1 AND panel_id = $2 AND financial_year = $3",
            &params![organisation_id, panel_id, fy],
        )?
        .map(|r| Ok::<_, crate::db::DbError>((r.get(0)?, r.get(1)?)))
        .transpose()?;
    let now = crate::db::now();
    match (current, version) {
        (None, _) => {
            tx.execute(
                "INSERT INTO budgets (organisation_id, panel_id, financial_year, pence, updated_by, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &params![organisation_id, panel_id, fy, pence, actor.user_id, now],
            )?;
        }
        (Some((_, v)), Some(seen)) if v != seen => {
            return Err(crate::ChangeError::Conflict { current: v });
        }
        (Some(_), _) => {
            tx.execute(
                "UPDATE budgets SET pence = $1, updated_by = $2, updated_at = $3, version = version + 1
                 WHERE organisation_id = $4 AND panel_id = $5 AND financial_year = $6",
                &params![pence, actor.user_id, now, organisation_id, panel_id, fy],
            )?;
        }
    }
    crate::audit::record(
        tx,
        actor,
        "budget.set",
        "budget",
        Some(format!("{organisation_id}/{panel_id}/{financial_year}")),
        serde_json::json!({"pence": pence, "before_pence": current.map(|c| c.0)}),
    )?;
    Ok(())
}

/// Records money actually paid under an agreement, for one of its paying
/// organisations, in a month; audited.
pub fn record_spend(
    tx: &mut Tx<'_>,
    actor: &crate::Actor,
    agreement_id: i64,
    organisation_id: i64,
    month: chrono::NaiveDate,
    pence: i64,
    reference: &str,
) -> Result<i64, crate::ChangeError> {
    use chrono::Datelike;
    let a = agreements::get(tx, agreement_id)?.ok_or(crate::ChangeError::NotFound)?;
    if !a
        .current
        .terms
        .shares
        .iter()
        .any(|s| s.organisation_id == organisation_id)
    {
        return Err(crate::ChangeError::Invalid(
            "That organisation does not pay a share of this agreement".into(),
        ));
    }
    if pence == 0 {
        return Err(crate::ChangeError::Invalid(
            "Enter the amount paid (a refund is a negative amount)".into(),
        ));
    }
    let fy = jp_domain::apportion::financial_year(month);
    let id: i64 = tx
        .query_one(
            "INSERT INTO spend (agreement_id, organisation_id, panel_id, year, month, financial_year, pence, reference, recorded_by, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            &params![
                agreement_id,
                organisation_id,
                a.panel_id,
                i64::from(month.year()),
                i64::from(month.month()),
                i64::from(fy),
                pence,
                reference,
                actor.user_id,
                crate::db::now()
            ],
        )?
        .get(0)?;
    tx.execute(
        "INSERT INTO finance_months (organisation_id, panel_id, year, month, financial_year, actual)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (organisation_id, panel_id, year, month) DO UPDATE SET actual = finance_months.actual + excluded.actual",
        &params![
            organisation_id,
            a.panel_id,
            i64::from(month.year()),
            i64::from(month.month()),
            i64::from(fy),
            pence
        ],
    )?;
    crate::audit::record(
        tx,
        actor,
        "spend.recorded",
        "agreement",
        Some(agreement_id.to_string()),
        serde_json::json!({"organisation_id": organisation_id, "year": month.year(), "month": month.month(), "pence": pence, "reference": reference}),
    )?;
    Ok(id)
}

/// A payment recorded: (organisation, year, month, pence, reference).
pub type Payment = (String, i64, i64, i64, String);

/// The spend recorded against an agreement, by month.
pub fn spend_of(conn: &mut Conn, agreement_id: i64) -> DbResult<Vec<Payment>> {
    conn.query(
        "SELECT o.name, s.year, s.month, s.pence, s.reference FROM spend s JOIN organisations o ON o.id = s.organisation_id
         WHERE s.agreement_id = $1 ORDER BY s.year, s.month, s.id",
        &params![agreement_id],
    )?
    .iter()
    .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
    .collect()
}

/// A payment read from a spend file, ready to record.
#[derive(Debug, Clone)]
pub struct SpendIn {
    pub agreement_id: i64,
    pub organisation_id: i64,
    pub month: chrono::NaiveDate,
    pub pence: i64,
    pub reference: String,
}

/// The spend file's columns: key, header, other headers accepted.
pub const SPEND_COLUMNS: [(&str, &str, &[&str]); 5] = [
    (
        "agreement",
        "Agreement",
        &["agreement id", "agreement number"],
    ),
    ("organisation", "Organisation", &["paid by", "payer"]),
    ("month", "Month", &["invoice month", "period", "month paid"]),
    ("amount", "Amount (£)", &["amount", "paid", "amount paid"]),
    (
        "reference",
        "Reference",
        &["invoice", "invoice number", "invoice reference"],
    ),
];

/// Reads a spend file's rows: every problem with its row number, or the
/// payments. Months are YYYY-MM or any date in the month.
pub fn read_spend(
    conn: &mut Conn,
    headers: &[String],
    rows: &[(usize, Vec<String>)],
) -> DbResult<Result<Vec<SpendIn>, Vec<crate::import::Problem>>> {
    use crate::import::Problem;
    use crate::import::squash;
    let mut col = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        if let Some((key, _, _)) = SPEND_COLUMNS.iter().find(|(_, head, also)| {
            squash(head) == squash(h) || also.iter().any(|a| squash(a) == squash(h))
        }) {
            col.entry(*key).or_insert(i);
        }
    }
    let missing: Vec<Problem> = SPEND_COLUMNS
        .iter()
        .filter(|(k, _, _)| !col.contains_key(k))
        .map(|(_, head, _)| Problem {
            row: 1,
            column: (*head).to_owned(),
            message: format!("The file has no “{head}” column"),
        })
        .collect();
    if !missing.is_empty() {
        return Ok(Err(missing));
    }
    let orgs: Vec<(i64, String)> = conn
        .query("SELECT id, name FROM organisations", &[])?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect::<DbResult<_>>()?;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (row, cells) in rows {
        let get = |k: &str| {
            col.get(k)
                .and_then(|i| cells.get(*i))
                .map_or("", |s| s.trim())
        };
        let head = |k: &str| {
            SPEND_COLUMNS
                .iter()
                .find(|(key, _, _)| *key == k)
                .map_or(k, |c| c.1)
                .to_owned()
        };
        let mut bad = |k: &str, message: String| {
            problems.push(Problem {
                row: *row,
                column: head(k),
                message,
            });
        };
        let agreement = match get("agreement").trim_start_matches('#').parse::<i64>() {
            Ok(id) => match agreements::get(conn, id)? {
                Some(a) => Some(a),
                None => {
                    bad("agreement", format!("There is no agreement {id}"));
                    None
                }
            },
            Err(_) => {
                bad(
                    "agreement",
                    format!("“{}” is not an agreement number", get("agreement")),
                );
                None
            }
        };
        let org = orgs
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(get("organisation")))
            .map(|o| o.0);
        if org.is_none() {
            bad(
                "organisation",
                format!("No organisation called “{}”", get("organisation")),
            );
        }
        if let (Some(a), Some(o)) = (&agreement, org)
            && !a
                .current
                .terms
                .shares
                .iter()
                .any(|s| s.organisation_id == o)
        {
            bad(
                "organisation",
                format!(
                    "{} does not pay a share of agreement {}",
                    get("organisation"),
                    a.id
                ),
            );
        }
        let raw_month = get("month");
        let month = chrono::NaiveDate::parse_from_str(&format!("{raw_month}-01"), "%Y-%m-%d")
            .ok()
            .or_else(|| jp_domain::sheet::date(raw_month).ok())
            .and_then(|d| chrono::Datelike::with_day(&d, 1));
        if month.is_none() {
            bad(
                "month",
                format!("“{raw_month}” is not a month: write it like 2026-05"),
            );
        }
        let pence = match jp_domain::Pence::parse_pounds(get("amount")) {
            Ok(p) if p.0 != 0 => Some(p.0),
            Ok(_) => {
                bad("amount", "A payment of £0.00 records nothing".into());
                None
            }
            Err(e) => {
                bad("amount", e.to_string());
                None
            }
        };
        let reference = get("reference").to_owned();
        if reference.chars().count() > 100 {
            bad(
                "reference",
                "The reference is longer than 100 characters".into(),
            );
        }
        if let (Some(a), Some(o), Some(m), Some(p)) = (agreement, org, month, pence) {
            out.push(SpendIn {
                agreement_id: a.id,
                organisation_id: o,
                month: m,
                pence: p,
                reference,
            });
        }
    }
    Ok(if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    })
}
