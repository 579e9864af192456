//! Candidate 1: raw rusqlite 0.37 and raw sync `postgres` 0.19 (the baselines),
//! plus the data loaders used by every candidate.

use crate::common::*;
use chrono::{NaiveDateTime};
use std::error::Error;

type R<T> = Result<T, Box<dyn Error + Send + Sync>>;

pub fn load_sqlite(conn: &mut rusqlite::Connection, children: &[Child], referrals: &[Referral]) -> R<()> {
    conn.execute_batch(SQLITE_SCHEMA)?;
    let tx = conn.transaction()?;
    {
        let mut c = tx.prepare("INSERT INTO children VALUES (?1,?2,?3,?4,?5,?6)")?;
        for x in children {
            c.execute(rusqlite::params![x.id, x.local_id, x.given_name, x.family_name, x.date_of_birth, x.nhs_number])?;
        }
        let mut r = tx.prepare("INSERT INTO referrals VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)")?;
        for x in referrals {
            r.execute(rusqlite::params![
                x.id, x.child_id, x.panel_id, x.status, x.need_level, x.kind, x.referrer_name, x.team,
                x.submitted_on, x.review_date, x.annual_cost_pence, x.created_at, x.updated_at,
                x.version, x.summary
            ])?;
        }
    }
    tx.commit()?;
    conn.execute_batch("ANALYZE;")?;
    Ok(())
}

pub fn load_pg(client: &mut postgres::Client, children: &[Child], referrals: &[Referral]) -> R<()> {
    client.batch_execute(PG_SCHEMA)?;
    let mut tx = client.transaction()?;
    let c = tx.prepare("INSERT INTO children VALUES ($1,$2,$3,$4,$5,$6)")?;
    for x in children {
        tx.execute(&c, &[&x.id, &x.local_id, &x.given_name, &x.family_name, &x.date_of_birth, &x.nhs_number])?;
    }
    let r = tx.prepare("INSERT INTO referrals VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)")?;
    for x in referrals {
        tx.execute(&r, &[
            &x.id, &x.child_id, &x.panel_id, &x.status, &x.need_level, &x.kind, &x.referrer_name, &x.team,
            &x.submitted_on, &x.review_date, &x.annual_cost_pence, &x.created_at, &x.updated_at,
            &x.version, &x.summary,
        ])?;
    }
    tx.commit()?;
    client.batch_execute("ANALYZE")?;
    Ok(())
}

// ---- the measured query: raw rusqlite -------------------------------------

pub fn sqlite_page(conn: &rusqlite::Connection, sql: &str, ts: NaiveDateTime, id: i64) -> R<Vec<ReferralRow>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(rusqlite::params![ts, id], |r| {
        Ok(ReferralRow {
            id: r.get(0)?,
            child_id: r.get(1)?,
            panel_id: r.get(2)?,
            status: r.get(3)?,
            need_level: r.get(4)?,
            kind: r.get(5)?,
            referrer_name: r.get(6)?,
            team: r.get(7)?,
            submitted_on: r.get(8)?,
            review_date: r.get(9)?,
            annual_cost_pence: r.get(10)?,
            created_at: r.get(11)?,
            updated_at: r.get(12)?,
            version: r.get(13)?,
            summary: r.get(14)?,
            local_id: r.get(15)?,
            given_name: r.get(16)?,
            family_name: r.get(17)?,
            date_of_birth: r.get(18)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

// ---- the measured query: raw sync postgres ----------------------------------

pub fn pg_page(client: &mut postgres::Client, stmt: &postgres::Statement, ts: NaiveDateTime, id: i64) -> R<Vec<ReferralRow>> {
    let rows = client.query(stmt, &[&ts, &id])?;
    Ok(rows
        .iter()
        .map(|r| ReferralRow {
            id: r.get(0),
            child_id: r.get(1),
            panel_id: r.get(2),
            status: r.get(3),
            need_level: r.get(4),
            kind: r.get(5),
            referrer_name: r.get(6),
            team: r.get(7),
            submitted_on: r.get(8),
            review_date: r.get(9),
            annual_cost_pence: r.get(10),
            created_at: r.get(11),
            updated_at: r.get(12),
            version: r.get(13),
            summary: r.get(14),
            local_id: r.get(15),
            given_name: r.get(16),
            family_name: r.get(17),
            date_of_birth: r.get(18),
        })
        .collect())
}
