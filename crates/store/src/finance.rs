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
        let fy = if m >= 4 { y } else { y - 1 };
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

fn write(tx: &mut Tx<'_>, a: &Agreement, rows: &Rows) -> DbResult<()> {
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
    Ok(())
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
