//! The calendar's stored parts (SPEC §2): official bank holiday lists an
//! administrator loads (each replaces the rules for its years) and the
//! installation's closure days. The rules themselves live in the domain crate.

use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::{Actor, ChangeError, audit, params};
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use jp_domain::Region;
use jp_domain::calendar::{Calendar, Holiday};
use serde::Serialize;
use std::collections::BTreeSet;

/// The calendar of `region`: rules, the loaded lists for that region, and closures.
pub fn for_region(conn: &mut Conn, region: Region) -> DbResult<Calendar> {
    let official: Vec<Holiday> = conn
        .query(
            "SELECT holiday_date, title FROM bank_holidays WHERE region = $1 ORDER BY holiday_date",
            &params![region.slug()],
        )?
        .iter()
        .map(|r| {
            Ok(Holiday {
                date: r.get(0)?,
                title: r.get(1)?,
            })
        })
        .collect::<DbResult<_>>()?;
    // Every loaded year has at least one day: empty lists are refused on loading.
    let mut cal = Calendar::new(region).with_official(&official);
    for c in closures(conn)? {
        cal = cal.with_closure(c.date, &c.reason);
    }
    Ok(cal)
}

/// A loaded official list: one region's year.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LoadedYear {
    pub region: Region,
    pub year: i32,
    pub days: i64,
    pub source: String,
    pub loaded_at: NaiveDateTime,
    pub loaded_by: Option<String>,
}

pub fn loaded_lists(conn: &mut Conn) -> DbResult<Vec<LoadedYear>> {
    conn.query(
        "SELECT l.region, l.year, l.source, l.loaded_at, u.name
         FROM bank_holiday_lists l LEFT JOIN users u ON u.id = l.loaded_by
         ORDER BY l.region, l.year",
        &[],
    )?
    .iter()
    .map(|r| {
        let slug: String = r.get(0)?;
        Ok(LoadedYear {
            region: Region::parse(&slug).unwrap_or(Region::EnglandAndWales),
            year: i32::try_from(r.get::<i64>(1)?).unwrap_or(0),
            days: 0,
            source: r.get(2)?,
            loaded_at: r.get(3)?,
            loaded_by: r.get(4)?,
        })
    })
    .collect::<DbResult<Vec<_>>>()
    .and_then(|mut v| {
        for y in &mut v {
            y.days = count_days(conn, y.region, y.year)?;
        }
        Ok(v)
    })
}

fn count_days(conn: &mut Conn, region: Region, year: i32) -> DbResult<i64> {
    let (from, to) = year_bounds(year);
    conn.query_one(
        "SELECT COUNT(*) FROM bank_holidays WHERE region = $1 AND holiday_date >= $2 AND holiday_date <= $3",
        &params![region.slug(), from, to],
    )?
    .get(0)
}

fn year_bounds(year: i32) -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN),
        NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX),
    )
}

/// Loads one region's official list: every year it covers replaces what was
/// there (rules or an earlier list). Returns the years loaded.
pub fn load_list(
    tx: &mut Tx<'_>,
    actor: &Actor,
    region: Region,
    days: &[Holiday],
    source: &str,
) -> Result<Vec<i32>, ChangeError> {
    let years: BTreeSet<i32> = days.iter().map(|h| h.date.year()).collect();
    if years.is_empty() {
        return Err(ChangeError::Invalid(format!(
            "The list for {} has no days",
            region.label()
        )));
    }
    let now = db::now();
    for year in &years {
        let (from, to) = year_bounds(*year);
        tx.execute(
            "DELETE FROM bank_holidays WHERE region = $1 AND holiday_date >= $2 AND holiday_date <= $3",
            &params![region.slug(), from, to],
        )?;
        tx.execute(
            "INSERT INTO bank_holiday_lists (region, year, source, loaded_by, loaded_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (region, year) DO UPDATE SET source = excluded.source, loaded_by = excluded.loaded_by, loaded_at = excluded.loaded_at",
            &params![region.slug(), i64::from(*year), source, actor.user_id, now],
        )?;
    }
    let mut seen = BTreeSet::new();
    for h in days {
        if !seen.insert(h.date) {
            return Err(ChangeError::Invalid(format!(
                "The list for {} gives {} twice",
                region.label(),
                h.date
            )));
        }
        tx.execute(
            "INSERT INTO bank_holidays (region, holiday_date, title) VALUES ($1, $2, $3)",
            &params![region.slug(), h.date, &h.title],
        )?;
    }
    let years: Vec<i32> = years.into_iter().collect();
    audit::record(
        tx,
        actor,
        "calendar.list-loaded",
        "calendar",
        Some(region.slug().to_owned()),
        serde_json::json!({"years": years, "days": days.len(), "source": source}),
    )?;
    Ok(years)
}

/// Removes a loaded year: the rules apply to it again.
pub fn unload_year(
    tx: &mut Tx<'_>,
    actor: &Actor,
    region: Region,
    year: i32,
) -> Result<(), ChangeError> {
    let n = tx.execute(
        "DELETE FROM bank_holiday_lists WHERE region = $1 AND year = $2",
        &params![region.slug(), i64::from(year)],
    )?;
    if n == 0 {
        return Err(ChangeError::NotFound);
    }
    let (from, to) = year_bounds(year);
    tx.execute(
        "DELETE FROM bank_holidays WHERE region = $1 AND holiday_date >= $2 AND holiday_date <= $3",
        &params![region.slug(), from, to],
    )?;
    audit::record(
        tx,
        actor,
        "calendar.list-removed",
        "calendar",
        Some(region.slug().to_owned()),
        serde_json::json!({"year": year}),
    )?;
    Ok(())
}

/// A day the installation's offices are closed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Closure {
    pub id: i64,
    pub date: NaiveDate,
    pub reason: String,
}

fn closure(r: &Row) -> DbResult<Closure> {
    Ok(Closure {
        id: r.get(0)?,
        date: r.get(1)?,
        reason: r.get(2)?,
    })
}

pub fn closures(conn: &mut Conn) -> DbResult<Vec<Closure>> {
    conn.query(
        "SELECT id, closure_date, reason FROM closure_days ORDER BY closure_date",
        &[],
    )?
    .iter()
    .map(closure)
    .collect()
}

pub fn add_closure(
    tx: &mut Tx<'_>,
    actor: &Actor,
    date: NaiveDate,
    reason: &str,
) -> Result<i64, ChangeError> {
    let id: i64 = tx
        .query_one(
            "INSERT INTO closure_days (closure_date, reason, created_by, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            &params![date, reason, actor.user_id, db::now()],
        )
        .map_err(|e| {
            if e.is_unique_violation() {
                ChangeError::Duplicate(format!("{date} is already a closure day"))
            } else {
                e.into()
            }
        })?
        .get(0)?;
    audit::record(
        tx,
        actor,
        "calendar.closure-added",
        "calendar",
        Some(id.to_string()),
        serde_json::json!({"date": date, "reason": reason}),
    )?;
    Ok(id)
}

pub fn remove_closure(tx: &mut Tx<'_>, actor: &Actor, id: i64) -> Result<(), ChangeError> {
    let c = tx
        .query_opt(
            "SELECT id, closure_date, reason FROM closure_days WHERE id = $1",
            &params![id],
        )?
        .as_ref()
        .map(closure)
        .transpose()?
        .ok_or(ChangeError::NotFound)?;
    tx.execute("DELETE FROM closure_days WHERE id = $1", &params![id])?;
    audit::record(
        tx,
        actor,
        "calendar.closure-removed",
        "calendar",
        Some(id.to_string()),
        serde_json::json!({"date": c.date, "reason": c.reason}),
    )?;
    Ok(())
}
