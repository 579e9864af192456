//! Joint Panel database-layer spike: measures a 50-row keyset list page on
//! SQLite and PostgreSQL through each candidate layer. See README.md.

mod common;
#[cfg(feature = "diesel")]
mod diesel_impl;
mod portable;
mod raw;

use chrono::NaiveDateTime;
use common::*;
use std::collections::BTreeMap;
use std::error::Error;
use std::hint::black_box;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type R<T> = Result<T, Box<dyn Error + Send + Sync>>;

struct Opts {
    secs: f64,
    warmup: f64,
    runs: usize,
    keep_db: bool,
    sqlx: bool,
    pg_admin: String,
    pg_url: String,
    sqlite_path: std::path::PathBuf,
}

fn opts() -> Opts {
    let args: Vec<String> = std::env::args().collect();
    let val = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1).cloned());
    let db = std::env::var("JP_SPIKE_PG_DB").unwrap_or_else(|_| "jp_spike".into());
    let base = std::env::var("JP_SPIKE_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    Opts {
        secs: val("--secs").map_or(3.0, |v| v.parse().expect("--secs N")),
        warmup: val("--warmup").map_or(0.5, |v| v.parse().expect("--warmup N")),
        runs: val("--runs").map_or(3, |v| v.parse().expect("--runs N")),
        keep_db: args.iter().any(|a| a == "--keep-db"),
        sqlx: !args.iter().any(|a| a == "--no-sqlx"),
        pg_admin: format!("{base}/postgres"),
        pg_url: format!("{base}/{db}"),
        sqlite_path: std::env::temp_dir().join(format!("{db}.sqlite")),
    }
}

/// Warm up, then run pages for a fixed time cycling through the cursors.
fn bench(o: &Opts, cursors: &[(NaiveDateTime, i64)], mut f: impl FnMut(NaiveDateTime, i64) -> usize) -> f64 {
    let mut i = 0usize;
    let mut step = |f: &mut dyn FnMut(NaiveDateTime, i64) -> usize| {
        let (ts, id) = cursors[i % cursors.len()];
        i += 1;
        let n = f(ts, id);
        assert_eq!(n, PAGE, "short page");
    };
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs_f64(o.warmup) {
        step(&mut f);
    }
    let (t, mut pages) = (Instant::now(), 0u64);
    let limit = Duration::from_secs_f64(o.secs);
    loop {
        step(&mut f);
        pages += 1;
        let el = t.elapsed();
        if el >= limit {
            return pages as f64 / el.as_secs_f64();
        }
    }
}

/// Checksum over every cursor's page: proves all candidates return identical rows.
fn verify(name: &str, expect: u64, cursors: &[(NaiveDateTime, i64)], mut f: impl FnMut(NaiveDateTime, i64) -> Vec<ReferralRow>) {
    let all: Vec<ReferralRow> = cursors.iter().flat_map(|&(ts, id)| f(ts, id)).collect();
    assert_eq!(all.len(), cursors.len() * PAGE, "{name}: wrong row count");
    assert_eq!(checksum(&all), expect, "{name}: rows differ from the raw baseline");
}

type Results = BTreeMap<(usize, &'static str, &'static str), Vec<(f64, f64)>>;

fn main() -> R<()> {
    let o = opts();
    let (children, referrals) = generate();
    let cursors = cursors(&referrals);

    // ---- set up both databases -------------------------------------------------
    let mut admin = postgres::Client::connect(&o.pg_admin, postgres::NoTls)?;
    let db_name = o.pg_url.rsplit('/').next().unwrap_or("jp_spike").to_owned();
    if admin.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&db_name])?.is_none() {
        admin.batch_execute(&format!("CREATE DATABASE \"{db_name}\""))?;
    }
    let _ = std::fs::remove_file(&o.sqlite_path);
    let mut lite = rusqlite::Connection::open(&o.sqlite_path)?;
    let mut pg = postgres::Client::connect(&o.pg_url, postgres::NoTls)?;
    let t = Instant::now();
    raw::load_sqlite(&mut lite, &children, &referrals)?;
    raw::load_pg(&mut pg, &children, &referrals)?;
    eprintln!("loaded {CHILDREN} children + {REFERRALS} referrals into both backends in {:.1?}", t.elapsed());
    let sqlite_version: String = lite.query_row("SELECT sqlite_version()", [], |r| r.get(0))?;
    let pg_version: String = pg.query_one("SHOW server_version", &[])?.get(0);
    eprintln!("SQLite {sqlite_version} (rusqlite bundled), PostgreSQL {pg_version}");

    // Query plans, for the record.
    let lite_sql = portable::to_sqlite_placeholders(PAGE_SQL);
    let (cts, cid) = cursors[CURSORS / 2];
    let plan: Vec<String> = lite
        .prepare(&format!("EXPLAIN QUERY PLAN {lite_sql}"))?
        .query_map(rusqlite::params![cts, cid], |r| r.get::<_, String>(3))?
        .collect::<Result<_, _>>()?;
    eprintln!("SQLite plan: {}", plan.join(" | "));
    let plan: Vec<String> = pg
        .query(&format!("EXPLAIN {PAGE_SQL}"), &[&cts, &cid])?
        .iter()
        .map(|r| r.get::<_, String>(0).trim().to_owned())
        .collect();
    eprintln!("PostgreSQL plan: {}", plan.join(" | "));
    #[cfg(feature = "diesel")]
    eprintln!("Diesel SQL:\n{}", diesel_impl::debug_sql());

    // ---- connections for every candidate, and correctness check --------------------
    let pg_stmt = pg.prepare(PAGE_SQL)?;
    let expect = {
        let all: Vec<ReferralRow> =
            cursors.iter().flat_map(|&(ts, id)| raw::sqlite_page(&lite, &lite_sql, ts, id).expect("page")).collect();
        assert_eq!(all.len(), CURSORS * PAGE);
        let sum = checksum(&all);
        verify("raw postgres", sum, &cursors, |ts, id| raw::pg_page(&mut pg, &pg_stmt, ts, id).expect("page"));
        sum
    };

    let mut p_lite = portable::Db::Sqlite(rusqlite::Connection::open(&o.sqlite_path)?);
    let mut p_pg = portable::Db::Pg { client: postgres::Client::connect(&o.pg_url, postgres::NoTls)?, stmts: Default::default() };
    verify("portable sqlite", expect, &cursors, |ts, id| portable::page(&mut p_lite, ts, id).expect("page"));
    verify("portable pg", expect, &cursors, |ts, id| portable::page(&mut p_pg, ts, id).expect("page"));
    let sb_lite = Arc::new(Mutex::new(portable::Db::Sqlite(rusqlite::Connection::open(&o.sqlite_path)?)));
    let sb_pg = Arc::new(Mutex::new(portable::Db::Pg {
        client: postgres::Client::connect(&o.pg_url, postgres::NoTls)?,
        stmts: Default::default(),
    }));
    // The planned production shape: async handler -> spawn_blocking -> sync driver.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let spawn_page = |db: &Arc<Mutex<portable::Db>>, ts: NaiveDateTime, id: i64| -> Vec<ReferralRow> {
        let db = db.clone();
        rt.block_on(async move {
            tokio::task::spawn_blocking(move || portable::page(&mut db.lock().expect("lock"), ts, id).expect("page"))
                .await
                .expect("join")
        })
    };

    #[cfg(feature = "diesel")]
    let mut dz = {
        use diesel::Connection;
        let path = o.sqlite_path.to_str().expect("utf-8 path");
        let mut d_lite = diesel::SqliteConnection::establish(path)?;
        let mut d_pg = diesel::PgConnection::establish(&o.pg_url)?;
        // Constructed explicitly: the derived AnyConnection::establish tries the
        // variants in declaration order (SQLite first would treat a postgres:// URL as a file name).
        let mut m_lite = diesel_impl::AnyConnection::Sqlite(diesel::SqliteConnection::establish(path)?);
        let mut m_pg = diesel_impl::AnyConnection::Pg(diesel::PgConnection::establish(&o.pg_url)?);
        verify("diesel sqlite", expect, &cursors, |ts, id| diesel_impl::sqlite_page(&mut d_lite, ts, id).expect("page"));
        verify("diesel pg", expect, &cursors, |ts, id| diesel_impl::pg_page(&mut d_pg, ts, id).expect("page"));
        verify("diesel multi sqlite", expect, &cursors, |ts, id| diesel_impl::multi_page(&mut m_lite, ts, id).expect("page"));
        verify("diesel multi pg", expect, &cursors, |ts, id| diesel_impl::multi_page(&mut m_pg, ts, id).expect("page"));
        (d_lite, d_pg, m_lite, m_pg)
    };
    verify("portable+spawn_blocking sqlite", expect, &cursors, |ts, id| spawn_page(&sb_lite, ts, id));
    verify("portable+spawn_blocking pg", expect, &cursors, |ts, id| spawn_page(&sb_pg, ts, id));
    eprintln!("all in-process candidates return identical rows (checksum {expect:016x})");

    // ---- sqlx: separate Cargo project (links conflict), run as a child process --------
    let sqlx_bin = if o.sqlx { build_sqlx_bench() } else { None };
    let cursor_file = std::env::temp_dir().join(format!("{db_name}.cursors"));
    std::fs::write(
        &cursor_file,
        cursors.iter().map(|(ts, id)| format!("{}\t{id}\n", ts.format("%Y-%m-%d %H:%M:%S"))).collect::<String>(),
    )?;

    // ---- measurement -------------------------------------------------------------
    let mut res: Results = BTreeMap::new();
    for run in 1..=o.runs {
        eprintln!("--- run {run}/{} ({}s per candidate)", o.runs, o.secs);
        let mut record = |order: usize, cand: &'static str, backend: &'static str, pps: f64, base: f64| {
            eprintln!("  {backend:<10} {cand:<32} {pps:>9.0} pages/s  x{:.2}", pps / base);
            res.entry((order, cand, backend)).or_default().push((pps, pps / base));
        };
        // SQLite
        let base = bench(&o, &cursors, |ts, id| black_box(raw::sqlite_page(&lite, &lite_sql, ts, id).expect("page")).len());
        record(0, "raw driver (rusqlite / postgres)", "SQLite", base, base);
        let lite_base = base;
        let v = bench(&o, &cursors, |ts, id| black_box(portable::page(&mut p_lite, ts, id).expect("page")).len());
        record(1, "portable SQL layer", "SQLite", v, base);
        let v = bench(&o, &cursors, |ts, id| black_box(spawn_page(&sb_lite, ts, id)).len());
        record(2, "portable SQL + spawn_blocking", "SQLite", v, base);
        #[cfg(feature = "diesel")]
        {
            let v = bench(&o, &cursors, |ts, id| black_box(diesel_impl::sqlite_page(&mut dz.0, ts, id).expect("page")).len());
            record(3, "Diesel (backend connection)", "SQLite", v, base);
            let v = bench(&o, &cursors, |ts, id| black_box(diesel_impl::multi_page(&mut dz.2, ts, id).expect("page")).len());
            record(4, "Diesel MultiConnection", "SQLite", v, base);
        }
        // PostgreSQL
        let base = bench(&o, &cursors, |ts, id| black_box(raw::pg_page(&mut pg, &pg_stmt, ts, id).expect("page")).len());
        record(0, "raw driver (rusqlite / postgres)", "PostgreSQL", base, base);
        let pg_base = base;
        let v = bench(&o, &cursors, |ts, id| black_box(portable::page(&mut p_pg, ts, id).expect("page")).len());
        record(1, "portable SQL layer", "PostgreSQL", v, base);
        let v = bench(&o, &cursors, |ts, id| black_box(spawn_page(&sb_pg, ts, id)).len());
        record(2, "portable SQL + spawn_blocking", "PostgreSQL", v, base);
        #[cfg(feature = "diesel")]
        {
            let v = bench(&o, &cursors, |ts, id| black_box(diesel_impl::pg_page(&mut dz.1, ts, id).expect("page")).len());
            record(3, "Diesel (backend connection)", "PostgreSQL", v, base);
            let v = bench(&o, &cursors, |ts, id| black_box(diesel_impl::multi_page(&mut dz.3, ts, id).expect("page")).len());
            record(4, "Diesel MultiConnection", "PostgreSQL", v, base);
        }
        // sqlx (same run, child process)
        if let Some(bin) = &sqlx_bin {
            let out = Command::new(bin)
                .args(["--sqlite", o.sqlite_path.to_str().expect("utf-8"), "--pg", &o.pg_url])
                .args(["--secs", &o.secs.to_string(), "--warmup", &o.warmup.to_string()])
                .args(["--cursors", cursor_file.to_str().expect("utf-8")])
                .output()?;
            if !out.status.success() {
                return Err(format!("sqlx-bench failed: {}", String::from_utf8_lossy(&out.stderr)).into());
            }
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let f: Vec<&str> = line.split_whitespace().collect();
                if let ["RESULT", backend, pps, sum] = f[..] {
                    let sum = u64::from_str_radix(sum, 16)?;
                    assert_eq!(sum, expect, "sqlx {backend}: rows differ from the raw baseline");
                    let pps: f64 = pps.parse()?;
                    match backend {
                        "sqlite" => record(5, "sqlx 0.8 (tokio current-thread)", "SQLite", pps, lite_base),
                        _ => record(5, "sqlx 0.8 (tokio current-thread)", "PostgreSQL", pps, pg_base),
                    }
                }
            }
        }
    }

    // ---- report ------------------------------------------------------------------
    println!("\n| candidate | backend | pages/s (median of {}) | range | ratio to raw (median) | ratio range |", o.runs);
    println!("|---|---|---:|---:|---:|---:|");
    for backend in ["SQLite", "PostgreSQL"] {
        for ((_, cand, b), v) in &res {
            if *b != backend {
                continue;
            }
            let med = |mut xs: Vec<f64>| {
                xs.sort_by(f64::total_cmp);
                (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
            };
            let (p, plo, phi) = med(v.iter().map(|x| x.0).collect());
            let (r, rlo, rhi) = med(v.iter().map(|x| x.1).collect());
            println!("| {cand} | {b} | {p:.0} | {plo:.0}–{phi:.0} | {r:.2} | {rlo:.2}–{rhi:.2} |");
        }
    }

    // ---- clean up ----------------------------------------------------------------
    let _ = std::fs::remove_file(&cursor_file);
    if !o.keep_db {
        drop((p_pg, sb_pg, pg, lite, p_lite, sb_lite));
        #[cfg(feature = "diesel")]
        drop(dz);
        let _ = std::fs::remove_file(&o.sqlite_path);
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{db_name}\" WITH (FORCE)"))?;
        eprintln!("dropped database {db_name} and {}", o.sqlite_path.display());
    }
    Ok(())
}

/// Build ./sqlx-bench (its own Cargo project and lock file) into this
/// project's target directory and return the binary path.
fn build_sqlx_bench() -> Option<std::path::PathBuf> {
    let here = env!("CARGO_MANIFEST_DIR");
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| format!("{here}/target"));
    let target = std::path::Path::new(&target).join("sqlx-bench");
    eprintln!("building sqlx-bench (cargo build --release) into {} ...", target.display());
    let ok = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--quiet", "--manifest-path", &format!("{here}/sqlx-bench/Cargo.toml")])
        .arg("--target-dir")
        .arg(&target)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        Some(target.join("release/sqlx-bench"))
    } else {
        eprintln!("sqlx-bench did not build; skipping sqlx (use --no-sqlx to silence)");
        None
    }
}
