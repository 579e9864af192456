//! Funding agreements (SPEC §6): what a decision commits, kept as numbered
//! versions. The first comes from the signed decision; a variation (new cost,
//! new end date, ending early), a correction or the referral's closure adds
//! the next one, and the history stays. An agreement is `pending` until
//! nothing holds it back (a higher authority, an absent agency), then
//! `active`, then `ended`.

use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::{Actor, ChangeError, audit, params};
use chrono::{NaiveDate, NaiveDateTime};
use jp_domain::Pence;
use jp_domain::costs::CostLine;
use jp_domain::decision::Share;
use serde::Serialize;

/// The terms of one version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Terms {
    pub provider: String,
    pub contract_agency_id: i64,
    pub direct_payment: bool,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub review_date: NaiveDate,
    pub lines: Vec<CostLine>,
    pub shares: Vec<Share>,
}

impl Terms {
    pub fn total(&self) -> Pence {
        jp_domain::decision::total(&self.lines)
    }
    pub fn basis_points(&self) -> Vec<u32> {
        self.shares.iter().map(|s| s.basis_points).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Version {
    pub id: i64,
    pub number: i64,
    pub reason: String,
    pub decision_id: Option<i64>,
    pub terms: Terms,
    pub contract_agency_name: String,
    /// (organisation id, name) in the order of `terms.shares`.
    pub organisations: Vec<(i64, String)>,
    pub total: Pence,
    pub created_by_name: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    pub id: i64,
    pub referral_id: i64,
    pub child_id: i64,
    pub panel_id: i64,
    /// pending, active or ended
    pub status: String,
    pub current_number: i64,
    pub review_referral_id: Option<i64>,
    pub activated_at: Option<NaiveDateTime>,
    pub ended_on: Option<NaiveDate>,
    pub version: i64,
    pub current: Version,
}

impl Agreement {
    pub fn status_label(&self) -> &'static str {
        match self.status.as_str() {
            "pending" => "Pending",
            "active" => "Active",
            _ => "Ended",
        }
    }
    pub fn tag_class(&self) -> &'static str {
        match self.status.as_str() {
            "pending" => "govuk-tag--yellow",
            "active" => "govuk-tag--green",
            _ => "govuk-tag--grey",
        }
    }
}

const AGREEMENT: &str =
    "SELECT id, referral_id, child_id, panel_id, status, current_number, review_referral_id,
    activated_at, ended_on, version FROM agreements";

fn versions_where(conn: &mut Conn, clause: &str, p: &[db::Value]) -> DbResult<Vec<Version>> {
    let rows = conn.query(
        &format!(
            "SELECT v.id, v.number, v.reason, v.decision_id, v.provider, v.contract_agency_id, a.name, v.direct_payment,
                    v.start_date, v.end_date, v.review_date, v.lines, v.total_pence, u.name, v.created_at
             FROM agreement_versions v JOIN agencies a ON a.id = v.contract_agency_id
             LEFT JOIN users u ON u.id = v.created_by WHERE {clause} ORDER BY v.number"
        ),
        p,
    )?;
    let mut out = Vec::new();
    for r in &rows {
        let mut v = version_from_row(r)?;
        for s in conn.query(
            "SELECT s.organisation_id, o.name, s.basis_points FROM agreement_shares s
             JOIN organisations o ON o.id = s.organisation_id WHERE s.version_id = $1 ORDER BY s.position",
            &params![v.id],
        )? {
            let bp: i64 = s.get(2)?;
            v.terms.shares.push(Share {
                organisation_id: s.get(0)?,
                basis_points: u32::try_from(bp).unwrap_or(0),
            });
            v.organisations.push((s.get(0)?, s.get(1)?));
        }
        out.push(v);
    }
    Ok(out)
}

fn version_from_row(r: &Row) -> DbResult<Version> {
    let lines: String = r.get(11)?;
    Ok(Version {
        id: r.get(0)?,
        number: r.get(1)?,
        reason: r.get(2)?,
        decision_id: r.get(3)?,
        terms: Terms {
            provider: r.get(4)?,
            contract_agency_id: r.get(5)?,
            direct_payment: r.get(7)?,
            start: r.get(8)?,
            end: r.get(9)?,
            review_date: r.get(10)?,
            lines: serde_json::from_str(&lines).unwrap_or_default(),
            shares: Vec::new(),
        },
        contract_agency_name: r.get(6)?,
        organisations: Vec::new(),
        total: Pence(r.get(12)?),
        created_by_name: r.get(13)?,
        created_at: r.get(14)?,
    })
}

fn from_row(conn: &mut Conn, r: &Row) -> DbResult<Agreement> {
    let id: i64 = r.get(0)?;
    let number: i64 = r.get(5)?;
    let current = versions_where(
        conn,
        "v.agreement_id = $1 AND v.number = $2",
        &params![id, number],
    )?
    .pop()
    .ok_or_else(|| db::DbError::Other(format!("agreement {id} has no version {number}")))?;
    Ok(Agreement {
        id,
        referral_id: r.get(1)?,
        child_id: r.get(2)?,
        panel_id: r.get(3)?,
        status: r.get(4)?,
        current_number: number,
        review_referral_id: r.get(6)?,
        activated_at: r.get(7)?,
        ended_on: r.get(8)?,
        version: r.get(9)?,
        current,
    })
}

pub fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Agreement>> {
    let Some(row) = conn.query_opt(&format!("{AGREEMENT} WHERE id = $1"), &params![id])? else {
        return Ok(None);
    };
    from_row(conn, &row).map(Some)
}

pub fn of_referral(conn: &mut Conn, referral_id: i64) -> DbResult<Option<Agreement>> {
    let Some(row) = conn.query_opt(
        &format!("{AGREEMENT} WHERE referral_id = $1"),
        &params![referral_id],
    )?
    else {
        return Ok(None);
    };
    from_row(conn, &row).map(Some)
}

/// Every version, first to latest.
pub fn versions(conn: &mut Conn, agreement_id: i64) -> DbResult<Vec<Version>> {
    versions_where(conn, "v.agreement_id = $1", &params![agreement_id])
}

pub(crate) fn insert_version(
    tx: &mut Tx<'_>,
    actor: &Actor,
    agreement_id: i64,
    number: i64,
    reason: &str,
    decision_id: Option<i64>,
    t: &Terms,
) -> Result<i64, ChangeError> {
    let lines = serde_json::to_string(&t.lines).map_err(|e| ChangeError::Invalid(e.to_string()))?;
    let id: i64 = tx
        .query_one(
            "INSERT INTO agreement_versions (agreement_id, number, reason, decision_id, provider, contract_agency_id,
                direct_payment, start_date, end_date, review_date, lines, total_pence, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
            &params![
                agreement_id,
                number,
                reason,
                decision_id,
                &t.provider,
                t.contract_agency_id,
                t.direct_payment,
                t.start,
                t.end,
                t.review_date,
                lines,
                t.total().0,
                actor.user_id,
                db::now()
            ],
        )?
        .get(0)?;
    for (i, s) in t.shares.iter().enumerate() {
        tx.execute(
            "INSERT INTO agreement_shares (version_id, organisation_id, basis_points, position) VALUES ($1, $2, $3, $4)",
            &params![id, s.organisation_id, i64::from(s.basis_points), i as i64],
        )?;
    }
    Ok(id)
}

/// Creates the agreement a signed decision commits, pending until activated.
pub fn create(
    tx: &mut Tx<'_>,
    actor: &Actor,
    referral: &crate::referrals::Referral,
    decision_id: i64,
    t: &Terms,
) -> Result<i64, ChangeError> {
    let now = db::now();
    let id: i64 = tx
        .query_one(
            "INSERT INTO agreements (referral_id, child_id, panel_id, status, current_number, created_at, updated_at)
             VALUES ($1, $2, $3, 'pending', 1, $4, $4) RETURNING id",
            &params![referral.id, referral.child_id, referral.panel_id, now],
        )?
        .get(0)?;
    insert_version(
        tx,
        actor,
        id,
        1,
        "Agreed by the panel",
        Some(decision_id),
        t,
    )?;
    audit::record(
        tx,
        actor,
        "agreement.created",
        "agreement",
        Some(id.to_string()),
        serde_json::json!({"referral_id": referral.id, "decision_id": decision_id, "total_pence": t.total().0,
            "start": t.start, "end": t.end, "shares": t.shares}),
    )?;
    crate::finance::refresh(tx, id)?;
    Ok(id)
}

fn lock(tx: &mut Tx<'_>, id: i64) -> Result<Agreement, ChangeError> {
    let lock = tx.backend().for_update();
    tx.query_opt(
        &format!("SELECT id FROM agreements WHERE id = $1 {lock}"),
        &params![id],
    )?;
    get(tx, id)?.ok_or(ChangeError::NotFound)
}

/// Adds the next version with new terms (a variation, a correction, an early
/// end). `version` is the agreement's version the person saw.
pub fn add_version(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
    reason: &str,
    decision_id: Option<i64>,
    t: &Terms,
) -> Result<Agreement, ChangeError> {
    let a = lock(tx, id)?;
    if a.version != version {
        return Err(ChangeError::Conflict { current: a.version });
    }
    if a.status == "ended" {
        return Err(ChangeError::Invalid(
            "This agreement has ended and cannot be varied".into(),
        ));
    }
    let number = a.current_number + 1;
    insert_version(tx, actor, id, number, reason, decision_id, t)?;
    tx.execute(
        "UPDATE agreements SET current_number = $1, updated_at = $2, version = version + 1 WHERE id = $3",
        &params![number, db::now(), id],
    )?;
    audit::record(
        tx,
        actor,
        "agreement.varied",
        "agreement",
        Some(id.to_string()),
        serde_json::json!({"number": number, "reason": reason, "total_pence": t.total().0,
            "before_total_pence": a.current.total.0, "end": t.end, "before_end": a.current.terms.end,
            "review_date": t.review_date, "shares": t.shares}),
    )?;
    crate::finance::refresh(tx, id)?;
    get(tx, id)?.ok_or(ChangeError::NotFound)
}

/// Marks a pending agreement active (the caller checked nothing holds it back).
pub fn mark_active(tx: &mut Tx<'_>, actor: &Actor, id: i64) -> Result<(), ChangeError> {
    let a = lock(tx, id)?;
    if a.status != "pending" {
        return Err(ChangeError::Invalid(format!(
            "This agreement is {}; only a pending agreement can be activated",
            a.status_label().to_lowercase()
        )));
    }
    let now = db::now();
    tx.execute(
        "UPDATE agreements SET status = 'active', activated_by = $1, activated_at = $2, updated_at = $2, version = version + 1 WHERE id = $3",
        &params![actor.user_id, now, id],
    )?;
    audit::record(
        tx,
        actor,
        "agreement.activated",
        "agreement",
        Some(id.to_string()),
        serde_json::json!({"total_pence": a.current.total.0}),
    )?;
    crate::finance::refresh(tx, id)?;
    Ok(())
}

/// Ends the agreement on `on` (the referral is closed): when that is before
/// its end, a last version cut to `on` records the committed cost stopping
/// there.
pub fn end(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    on: NaiveDate,
    reason: &str,
) -> Result<(), ChangeError> {
    let a = lock(tx, id)?;
    if a.status == "ended" {
        return Ok(());
    }
    if on < a.current.terms.start {
        return Err(ChangeError::Invalid(format!(
            "The agreement starts on {}; choose that day or later for it to end",
            jp_domain::referral_form::long_date(a.current.terms.start)
        )));
    }
    if on < a.current.terms.end {
        let mut t = a.current.terms.clone();
        t.lines = jp_domain::decision::clip(&t.lines, t.start, on);
        t.end = on;
        if t.review_date > on {
            t.review_date = on;
        }
        add_version(tx, actor, id, a.version, reason, None, &t)?;
    }
    tx.execute(
        "UPDATE agreements SET status = 'ended', ended_on = $1, updated_at = $2, version = version + 1 WHERE id = $3",
        &params![on.min(a.current.terms.end), db::now(), id],
    )?;
    audit::record(
        tx,
        actor,
        "agreement.ended",
        "agreement",
        Some(id.to_string()),
        serde_json::json!({"on": on, "reason": reason}),
    )?;
    crate::finance::refresh(tx, id)?;
    Ok(())
}
