//! Panels and their rules (SPEC §2).

use super::{check_saved, diff, unique};
use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::{Actor, ChangeError, audit, params};
use chrono::Weekday;
use jp_domain::{Cadence, PanelRules, Pence, Region};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Panel {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub rules: PanelRules,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct Fields {
    pub slug: String,
    pub name: String,
    pub rules: PanelRules,
}

const SELECT: &str = "SELECT id, slug, name, region, cadence_week, cadence_weekday, submission_deadline_days, papers_due_days, \
    letter_due_days, minutes_due_days, absent_agency_response_days, review_max_months, delegated_limit_pence, \
    escalation_authority, need_levels, minutes_per_new_case, minutes_per_review, assessment_max_age_months, version FROM panels";

fn weekday(n: i64) -> Weekday {
    Weekday::try_from(u8::try_from(n.clamp(0, 6)).unwrap_or(0)).unwrap_or(Weekday::Mon)
}

fn from_row(r: &Row) -> DbResult<Panel> {
    let region: String = r.get(3)?;
    let levels: String = r.get(14)?;
    Ok(Panel {
        id: r.get(0)?,
        slug: r.get(1)?,
        name: r.get(2)?,
        rules: PanelRules {
            region: Region::parse(&region).unwrap_or(Region::EnglandAndWales),
            cadence: Cadence {
                week: u8::try_from(r.get::<i64>(4)?).unwrap_or(2),
                weekday: weekday(r.get(5)?),
            },
            submission_deadline_days: r.get(6)?,
            papers_due_days: r.get(7)?,
            letter_due_days: r.get(8)?,
            minutes_due_days: r.get(9)?,
            absent_agency_response_days: r.get(10)?,
            review_max_months: r.get(11)?,
            delegated_limit: Pence(r.get(12)?),
            escalation_authority: r.get(13)?,
            need_levels: levels
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            minutes_per_new_case: r.get(15)?,
            minutes_per_review: r.get(16)?,
            assessment_max_age_months: r.get(17)?,
        },
        version: r.get(18)?,
    })
}

pub fn list(conn: &mut Conn) -> DbResult<Vec<Panel>> {
    conn.query(&format!("{SELECT} ORDER BY LOWER(name), id"), &[])?
        .iter()
        .map(from_row)
        .collect()
}

pub fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Panel>> {
    conn.query_opt(&format!("{SELECT} WHERE id = $1"), &params![id])?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub fn by_slug(conn: &mut Conn, slug: &str) -> DbResult<Option<Panel>> {
    conn.query_opt(&format!("{SELECT} WHERE slug = $1"), &params![slug])?
        .as_ref()
        .map(from_row)
        .transpose()
}

fn rule_values(r: &PanelRules) -> Vec<db::Value> {
    Vec::from(params![
        r.region.slug(),
        i64::from(r.cadence.week),
        i64::from(r.cadence.weekday.num_days_from_monday()),
        r.submission_deadline_days,
        r.papers_due_days,
        r.letter_due_days,
        r.minutes_due_days,
        r.absent_agency_response_days,
        r.review_max_months,
        r.delegated_limit.0,
        &r.escalation_authority,
        r.need_levels.join(","),
        r.minutes_per_new_case,
        r.minutes_per_review,
        r.assessment_max_age_months,
    ])
}

fn taken(f: &Fields) -> String {
    format!(
        "There is already a panel called {} or with the short name {}",
        f.name, f.slug
    )
}

pub fn create(tx: &mut Tx<'_>, actor: &Actor, f: &Fields) -> Result<i64, ChangeError> {
    let mut p = Vec::from(params![&f.slug, &f.name]);
    p.extend(rule_values(&f.rules));
    p.push(db::now().into());
    let id: i64 = tx
        .query_one(
            "INSERT INTO panels (slug, name, region, cadence_week, cadence_weekday, submission_deadline_days, papers_due_days, \
             letter_due_days, minutes_due_days, absent_agency_response_days, review_max_months, delegated_limit_pence, \
             escalation_authority, need_levels, minutes_per_new_case, minutes_per_review, assessment_max_age_months, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18) RETURNING id",
            &p,
        )
        .map_err(|e| unique(e, || taken(f)))?
        .get(0)?;
    let created = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    audit::record(
        tx,
        actor,
        "panel.created",
        "panel",
        Some(id.to_string()),
        serde_json::to_value(&created).unwrap_or_default(),
    )?;
    Ok(id)
}

pub fn update(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
    f: &Fields,
) -> Result<Panel, ChangeError> {
    let before = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    let mut p = Vec::from(params![&f.slug, &f.name]);
    p.extend(rule_values(&f.rules));
    p.extend(params![db::now(), id, version]);
    let n = tx
        .execute(
            "UPDATE panels SET slug = $1, name = $2, region = $3, cadence_week = $4, cadence_weekday = $5, \
             submission_deadline_days = $6, papers_due_days = $7, letter_due_days = $8, minutes_due_days = $9, \
             absent_agency_response_days = $10, review_max_months = $11, delegated_limit_pence = $12, escalation_authority = $13, \
             need_levels = $14, minutes_per_new_case = $15, minutes_per_review = $16, assessment_max_age_months = $17, \
             version = version + 1, updated_at = $18 WHERE id = $19 AND version = $20",
            &p,
        )
        .map_err(|e| unique(e, || taken(f)))?;
    check_saved(tx, "panels", id, n)?;
    let after = get(tx, id)?.ok_or(ChangeError::NotFound)?;
    audit::record(
        tx,
        actor,
        "panel.updated",
        "panel",
        Some(id.to_string()),
        diff(&before, &after),
    )?;
    Ok(after)
}
