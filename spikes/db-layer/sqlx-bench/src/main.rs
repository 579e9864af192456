//! Candidate 3: sqlx 0.8, SQLite and PostgreSQL drivers, tokio current-thread
//! runtime, one query text per backend. Started by the parent spike binary,
//! which has already loaded the data; prints `RESULT <backend> <pages/s> <checksum>`.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use sqlx::Connection;
use std::hint::black_box;
use std::time::{Duration, Instant};

#[derive(Debug, sqlx::FromRow)]
struct ReferralRow {
    id: i64,
    child_id: i64,
    panel_id: i64,
    status: String,
    need_level: String,
    kind: String,
    referrer_name: String,
    team: String,
    submitted_on: Option<NaiveDate>,
    review_date: Option<NaiveDate>,
    annual_cost_pence: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i64,
    summary: String,
    local_id: String,
    given_name: String,
    family_name: String,
    date_of_birth: NaiveDate,
}

macro_rules! select { () => { "SELECT r.id, r.child_id, r.panel_id, r.status, r.need_level, r.kind, \
r.referrer_name, r.team, r.submitted_on, r.review_date, r.annual_cost_pence, r.created_at, \
r.updated_at, r.version, r.summary, c.local_id, c.given_name, c.family_name, c.date_of_birth \
FROM referrals r JOIN children c ON c.id = r.child_id " }; }
macro_rules! order { () => { " ORDER BY r.created_at DESC, r.id DESC LIMIT 50" }; }

// One query per backend (placeholders differ).
async fn pg_page(conn: &mut sqlx::PgConnection, ts: NaiveDateTime, id: i64) -> sqlx::Result<Vec<ReferralRow>> {
    const SQL: &str = concat!(select!(), "WHERE (r.created_at, r.id) < ($1, $2)", order!());
    sqlx::query_as::<_, ReferralRow>(SQL).bind(ts).bind(id).fetch_all(conn).await
}

async fn sqlite_page(conn: &mut sqlx::SqliteConnection, ts: NaiveDateTime, id: i64) -> sqlx::Result<Vec<ReferralRow>> {
    const SQL: &str = concat!(select!(), "WHERE (r.created_at, r.id) < (?1, ?2)", order!());
    sqlx::query_as::<_, ReferralRow>(SQL).bind(ts).bind(id).fetch_all(conn).await
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let val = |f: &str| args.iter().position(|a| a == f).and_then(|i| args.get(i + 1).cloned()).unwrap_or_else(|| panic!("{f} missing"));
    let secs: f64 = val("--secs").parse()?;
    let warmup: f64 = val("--warmup").parse()?;
    let cursors: Vec<(NaiveDateTime, i64)> = std::fs::read_to_string(val("--cursors"))?
        .lines()
        .map(|l| {
            let (ts, id) = l.split_once('\t').expect("cursor line");
            (NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S").expect("ts"), id.parse().expect("id"))
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let mut lite = sqlx::SqliteConnection::connect(&format!("sqlite://{}", val("--sqlite"))).await?;
        let mut pg = sqlx::PgConnection::connect(&val("--pg")).await?;

        let mut all = Vec::new();
        for &(ts, id) in &cursors {
            all.extend(sqlite_page(&mut lite, ts, id).await?);
        }
        let lite_sum = checksum(&all);
        let lite_pps = bench(secs, warmup, &cursors, &mut lite, |c, ts, id| Box::pin(sqlite_page(c, ts, id))).await?;
        println!("RESULT sqlite {lite_pps:.1} {lite_sum:016x}");

        let mut all = Vec::new();
        for &(ts, id) in &cursors {
            all.extend(pg_page(&mut pg, ts, id).await?);
        }
        let pg_sum = checksum(&all);
        let pg_pps = bench(secs, warmup, &cursors, &mut pg, |c, ts, id| Box::pin(pg_page(c, ts, id))).await?;
        println!("RESULT pg {pg_pps:.1} {pg_sum:016x}");
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}

type PageFut<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = sqlx::Result<Vec<ReferralRow>>> + 'a>>;

async fn bench<C>(
    secs: f64,
    warmup: f64,
    cursors: &[(NaiveDateTime, i64)],
    conn: &mut C,
    f: impl for<'a> Fn(&'a mut C, NaiveDateTime, i64) -> PageFut<'a>,
) -> sqlx::Result<f64> {
    let mut i = 0usize;
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs_f64(warmup) {
        let (ts, id) = cursors[i % cursors.len()];
        i += 1;
        assert_eq!(black_box(f(conn, ts, id).await?).len(), 50);
    }
    let (t, mut pages) = (Instant::now(), 0u64);
    loop {
        let (ts, id) = cursors[i % cursors.len()];
        i += 1;
        assert_eq!(black_box(f(conn, ts, id).await?).len(), 50);
        pages += 1;
        let el = t.elapsed();
        if el >= Duration::from_secs_f64(secs) {
            return Ok(pages as f64 / el.as_secs_f64());
        }
    }
}

/// Same checksum as ../src/common.rs.
fn checksum(rows: &[ReferralRow]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut mix = |v: u64| h = (h ^ v).wrapping_mul(0x0100_0000_01b3);
    let day = |x: &Option<NaiveDate>| x.map_or(0, |d| d.num_days_from_ce() as u64);
    let s = |x: &str| x.bytes().fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(b as u64));
    for r in rows {
        for v in [
            r.id as u64, r.child_id as u64, r.panel_id as u64, s(&r.status), s(&r.need_level),
            s(&r.kind), s(&r.referrer_name), s(&r.team), day(&r.submitted_on), day(&r.review_date),
            r.annual_cost_pence as u64, r.created_at.and_utc().timestamp() as u64,
            r.updated_at.and_utc().timestamp() as u64, r.version as u64, s(&r.summary),
            s(&r.local_id), s(&r.given_name), s(&r.family_name),
            r.date_of_birth.num_days_from_ce() as u64,
        ] {
            mix(v);
        }
    }
    h
}
