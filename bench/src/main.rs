//! Joint Panel's benchmark (issue 7): generates a county's ten years of
//! cases (and, on request, a stress set), then measures each figure as a
//! ratio against a baseline measured in the same run on the same machine,
//! so a busy, shared machine moves both sides together.
//!
//!     cargo run --release -p jointpanel-bench -- [county|stress|all] [sqlite|postgres|both]
//!
//! Prints a table and writes it to bench/RESULTS.md with the machine and date.
//! Traffic goes through the application's router in this process only.

#![forbid(unsafe_code)]

use anyhow::{Context, Result, anyhow};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use jp_store::testing::TestDb;
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use tower::ServiceExt;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scale {
    County,
    Stress,
}

impl Scale {
    fn name(self) -> &'static str {
        match self {
            Scale::County => "county (6,000 children, 20,000 referrals)",
            Scale::Stress => "stress (1,000,000 referrals)",
        }
    }
    fn plan(self) -> jp_store::history::Plan {
        match self {
            Scale::County => jp_store::history::Plan {
                children: 6_000,
                referrals: 20_000,
                years: 10,
                seed: 7,
            },
            Scale::Stress => jp_store::history::Plan {
                children: 300_000,
                referrals: 1_000_000,
                years: 10,
                seed: 11,
            },
        }
    }
}

struct Line {
    scale: Scale,
    backend: &'static str,
    what: &'static str,
    measured: String,
    baseline: String,
    ratio: String,
    goal: String,
    met: Option<bool>,
}

struct Bench {
    rt: tokio::runtime::Runtime,
    lines: Vec<Line>,
    /// (scale, backend, what) → page requests a second, for PostgreSQL against SQLite.
    rates: Vec<(Scale, &'static str, &'static str, f64)>,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |s: &str| args.iter().any(|a| a == s);
    let scales = if has("all") {
        vec![Scale::County, Scale::Stress]
    } else if has("stress") {
        vec![Scale::Stress]
    } else {
        vec![Scale::County]
    };
    let backends: Vec<&'static str> = if has("sqlite") {
        vec!["SQLite"]
    } else if has("postgres") {
        vec!["PostgreSQL"]
    } else {
        vec!["SQLite", "PostgreSQL"]
    };
    let mut b = Bench {
        rt: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?,
        lines: Vec::new(),
        rates: Vec::new(),
    };
    for scale in &scales {
        // The stress set is generated on SQLite (in-process, minutes) and
        // copied into PostgreSQL by COPY (generating it there statement by
        // statement would take hours); the county set is generated on each.
        let mut generated: Option<TestDb> = None;
        for backend in &backends {
            let db = match *backend {
                "SQLite" => jp_store::testing::sqlite(),
                _ => jp_store::testing::postgres()
                    .ok_or_else(|| anyhow!("PostgreSQL is not reachable on 127.0.0.1:5432"))?,
            };
            eprintln!("# {} on {backend}", scale.name());
            if *backend == "SQLite" || *scale == Scale::County {
                load(&db, *scale)?;
            } else {
                let source = match generated.take() {
                    Some(g) => g,
                    None => {
                        let g = jp_store::testing::sqlite();
                        load(&g, *scale)?;
                        g
                    }
                };
                copy_into(&source, &db)?;
            }
            b.measure(&db, *scale, backend)?;
            if *backend == "SQLite" && *scale == Scale::Stress {
                generated = Some(db);
            }
        }
        if backends.len() == 2 {
            b.compare_backends(*scale);
        }
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("RESULTS.md");
    // Rows of earlier runs for data and databases not measured now are kept.
    let earlier = std::fs::read_to_string(&path).unwrap_or_default();
    let report = b.report(&earlier);
    println!("{report}");
    std::fs::write(&path, &report).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("# written to {}", path.display());
    Ok(())
}

fn load(db: &TestDb, scale: Scale) -> Result<()> {
    let mut c = db.store.conn()?;
    jp_store::demo::load(&mut c)?;
    let plan = scale.plan();
    let bar = indicatif::ProgressBar::new(u64::from(plan.referrals));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "generating [{bar:40}] {pos}/{len} referrals ({eta} left)",
        )?
        .progress_chars("=> "),
    );
    let started = Instant::now();
    let made = jp_store::demo::load_history(&mut c, &plan, &mut |d, _| bar.set_position(d))?;
    bar.finish_and_clear();
    let cost_rows: i64 = c
        .query_one("SELECT COUNT(*) FROM committed_costs", &[])?
        .get(0)?;
    eprintln!(
        "# generated {} children, {} referrals, {} agreements, {cost_rows} cost-month rows in {:.0?}",
        made.children,
        made.referrals,
        made.agreements,
        started.elapsed()
    );
    c.batch(if db.url.starts_with("postgres") {
        "ANALYZE"
    } else {
        "ANALYZE; PRAGMA optimize"
    })?;
    Ok(())
}

/// Copies a generated SQLite database into a PostgreSQL one.
fn copy_into(from: &TestDb, to: &TestDb) -> Result<()> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "copying into PostgreSQL [{bar:40}] {pos}/{len} rows ({eta} left)",
        )?
        .progress_chars("=> "),
    );
    let started = Instant::now();
    let copied = jp_store::copy::sqlite_to_postgres(
        &mut from.store.conn()?,
        &mut to.store.conn()?,
        &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
    )?;
    bar.finish_and_clear();
    let rows: u64 = copied.iter().map(|(_, n)| n).sum();
    eprintln!(
        "# copied {rows} rows of {} tables into PostgreSQL in {:.0?}",
        copied.len(),
        started.elapsed()
    );
    Ok(())
}

/// A signed-in administrator's session cookie.
fn session(db: &TestDb) -> Result<String> {
    let mut c = db.store.conn()?;
    let id: i64 = c
        .query_one(
            "SELECT id FROM users WHERE email = 'administrator@northmoor.example'",
            &[],
        )?
        .get(0)?;
    let mut tx = c.begin()?;
    let token = jp_store::sessions::create(&mut tx, id)?;
    tx.commit()?;
    Ok(format!("jp_session={token}"))
}

async fn get_ok(router: &Router, path: &str, cookie: &str) -> Result<usize> {
    let req = Request::get(path)
        .header("cookie", cookie)
        .body(Body::empty())?;
    let res = router.clone().oneshot(req).await?;
    let status = res.status();
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .map_err(|e| anyhow!("{e}"))?
        .to_bytes();
    if status != StatusCode::OK {
        return Err(anyhow!(
            "GET {path}: {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ));
    }
    Ok(body.len())
}

/// Reads a response as it streams, keeping only its length (so the client
/// holds no copy and the server's memory is what is measured).
async fn stream_ok(router: &Router, path: &str, cookie: &str) -> Result<usize> {
    let req = Request::get(path)
        .header("cookie", cookie)
        .body(Body::empty())?;
    let res = router.clone().oneshot(req).await?;
    if res.status() != StatusCode::OK {
        return Err(anyhow!("GET {path}: {}", res.status()));
    }
    let mut body = res.into_body();
    let mut n = 0;
    while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
        if let Ok(data) = frame.map_err(|e| anyhow!("{e}"))?.into_data() {
            n += data.len();
        }
    }
    Ok(n)
}

/// Requests a second over `n` sequential requests.
async fn rate(router: &Router, path: &str, cookie: &str, n: u32) -> Result<f64> {
    let t = Instant::now();
    for _ in 0..n {
        get_ok(router, path, cookie).await?;
    }
    Ok(f64::from(n) / t.elapsed().as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

/// What the tracker's export writes, read raw: its rows (the page query's
/// join), this year's cost by agreement and organisation, the agreements'
/// current terms and their shares.
fn raw_export_queries(financial_year: i32) -> [String; 4] {
    let listed: Vec<String> = jp_store::tracker::LISTED
        .iter()
        .map(|s| format!("'{}'", s.slug()))
        .collect();
    [
        format!(
            "SELECT {} {} WHERE r.status IN ({})",
            jp_store::tracker::ROW_COLUMNS,
            jp_store::tracker::ROW_FROM,
            listed.join(", ")
        ),
        format!(
            "SELECT agreement_id, organisation_id, SUM(pence) FROM committed_costs
             WHERE financial_year = {financial_year} GROUP BY agreement_id, organisation_id"
        ),
        "SELECT a.id, v.provider, v.start_date, v.end_date, v.lines FROM agreements a
         JOIN agreement_versions v ON v.agreement_id = a.id AND v.number = a.current_number"
            .to_owned(),
        "SELECT s.version_id, o.name, s.basis_points FROM agreements a
         JOIN agreement_versions v ON v.agreement_id = a.id AND v.number = a.current_number
         JOIN agreement_shares s ON s.version_id = v.id
         JOIN organisations o ON o.id = s.organisation_id"
            .to_owned(),
    ]
}

/// Resident memory of this process, in MiB (Linux).
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

impl Bench {
    #[allow(clippy::too_many_lines)]
    fn measure(&mut self, db: &TestDb, scale: Scale, backend: &'static str) -> Result<()> {
        let state = jp_web::AppState::new(db.store.clone(), jp_web::WebConfig::default());
        let app = jp_web::app(state.clone());
        let memory = jp_web::bench::tracker_from_memory(state.clone());
        let raw = jp_web::bench::finance_raw(state.clone());
        let bare = jp_web::bench::referral_lookup(state.clone());
        let cookie = session(db)?;
        let rounds = 7;
        let n = 150;
        // `JP_PROFILE=/tracker` (any page): request it for 20 s and stop,
        // for `perf record` (README, "Benchmark").
        if let Ok(path) = std::env::var("JP_PROFILE") {
            let t = Instant::now();
            let mut k = 0u32;
            self.rt.block_on(async {
                while t.elapsed() < Duration::from_secs(20) {
                    get_ok(&app, &path, &cookie).await?;
                    k += 1;
                }
                Ok::<_, anyhow::Error>(())
            })?;
            eprintln!("PROFILE {path}: {k} requests in 20 s");
            std::process::exit(0);
        }

        // 1. Tracker first page against the same rows from memory.
        let (page, mem) = self.rt.block_on(async {
            get_ok(&app, "/tracker", &cookie).await?;
            get_ok(&memory, "/tracker", &cookie).await?;
            let (mut p, mut m) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                p.push(rate(&app, "/tracker", &cookie, n).await?);
                m.push(rate(&memory, "/tracker", &cookie, n).await?);
            }
            Ok::<_, anyhow::Error>((median(p), median(m)))
        })?;
        let goal = if scale == Scale::County { 0.5 } else { 0.35 };
        self.push(
            scale,
            backend,
            "Tracker first page (50 rows, HTML)",
            format!("{page:.0} req/s"),
            format!("{mem:.0} req/s from memory"),
            page / mem,
            goal,
            true,
        );
        self.rates.push((scale, backend, "tracker", page));

        // 2. A referral's page against a bare primary-key lookup.
        let id: i64 = db
            .store
            .conn()?
            .query_one(
                "SELECT MAX(r.id) FROM referrals r JOIN agreements a ON a.referral_id = r.id",
                &[],
            )?
            .get(0)?;
        let path = format!("/referrals/{id}");
        let page = self.rt.block_on(async {
            get_ok(&app, &path, &cookie).await?;
            let mut p = Vec::new();
            for _ in 0..rounds {
                p.push(rate(&app, &path, &cookie, n).await?);
            }
            Ok::<_, anyhow::Error>(median(p))
        })?;
        let lookup = self.rt.block_on(async {
            get_ok(&bare, &path, &cookie).await?;
            let mut l = Vec::new();
            for _ in 0..rounds {
                l.push(rate(&bare, &path, &cookie, n).await?);
            }
            Ok::<_, anyhow::Error>(median(l))
        })?;
        // The store call alone, outside the handler stack, for reference.
        let mut c = db.store.conn()?;
        let t = Instant::now();
        for _ in 0..n * 4 {
            jp_store::referrals::get(&mut c, id)?.ok_or_else(|| anyhow!("no referral"))?;
        }
        let alone = f64::from(n * 4) / t.elapsed().as_secs_f64();
        self.push(
            scale,
            backend,
            "A referral's page",
            format!("{page:.0} req/s"),
            format!(
                "{lookup:.0} req/s answering with referrals::get alone (same stack; the call by itself: {alone:.0}/s)"
            ),
            page / lookup,
            0.4,
            true,
        );
        self.rates.push((scale, backend, "referral", page));

        // 3. Finance page (every organisation) against the raw summary rows.
        let (page_t, raw_t, p50) = self.rt.block_on(async {
            get_ok(&app, "/finance", &cookie).await?;
            get_ok(&raw, "/finance", &cookie).await?;
            let (mut p, mut r, mut each) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..rounds {
                let t = Instant::now();
                for _ in 0..20 {
                    let one = Instant::now();
                    get_ok(&app, "/finance", &cookie).await?;
                    each.push(one.elapsed());
                }
                p.push(t.elapsed().as_secs_f64() / 20.0);
                let t = Instant::now();
                for _ in 0..20 {
                    get_ok(&raw, "/finance", &cookie).await?;
                }
                r.push(t.elapsed().as_secs_f64() / 20.0);
            }
            Ok::<_, anyhow::Error>((median(p), median(r), percentile(&mut each, 0.5)))
        })?;
        let cost_rows: i64 = c
            .query_one("SELECT COUNT(*) FROM committed_costs", &[])?
            .get(0)?;
        let ratio = page_t / raw_t;
        self.lines.push(Line {
            scale,
            backend,
            what: "Finance page, all organisations",
            measured: format!(
                "{:.1} ms (p50 {:.1} ms) over {cost_rows} cost-month rows",
                page_t * 1e3,
                p50.as_secs_f64() * 1e3
            ),
            baseline: format!("{:.1} ms reading the summary raw", raw_t * 1e3),
            ratio: format!("{ratio:.2}×"),
            goal: "≤ 2× and < 50 ms".into(),
            met: Some(ratio <= 2.0 && p50 < Duration::from_millis(50)),
        });

        // 4. Saving an agreement (new version, summary update, audit row).
        let ids: Vec<(i64, i64)> = c
            .query(
                "SELECT id, version FROM agreements WHERE status = 'active' ORDER BY id LIMIT 300",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect::<jp_store::db::DbResult<_>>()?;
        let admin: i64 = c
            .query_one(
                "SELECT id FROM users WHERE email = 'administrator@northmoor.example'",
                &[],
            )?
            .get(0)?;
        let actor = jp_store::Actor::user(admin, "benchmark");
        let mut times = Vec::new();
        for (id, version) in &ids {
            let a = jp_store::agreements::get(&mut c, *id)?.ok_or_else(|| anyhow!("gone"))?;
            let mut terms = a.current.terms.clone();
            terms.review_date = terms.review_date.pred_opt().unwrap_or(terms.review_date);
            let t = Instant::now();
            let mut tx = c.begin()?;
            jp_store::agreements::add_version(
                &mut tx,
                &actor,
                *id,
                *version,
                "Review moved a day",
                None,
                &terms,
            )?;
            tx.commit()?;
            times.push(t.elapsed());
        }
        let agreements: i64 = c
            .query_one("SELECT COUNT(*) FROM agreements", &[])?
            .get(0)?;
        if !times.is_empty() {
            let p50 = percentile(&mut times, 0.5);
            let p99 = percentile(&mut times, 0.99);
            self.lines.push(Line {
                scale,
                backend,
                what: "Saving an agreement (version, summary, audit)",
                measured: format!(
                    "p99 {:.1} ms (p50 {:.1} ms), {} saves",
                    p99.as_secs_f64() * 1e3,
                    p50.as_secs_f64() * 1e3,
                    times.len()
                ),
                baseline: format!("{agreements} agreements"),
                ratio: "—".into(),
                goal: "p99 ≤ 20 ms".into(),
                met: Some(p99 <= Duration::from_millis(20)),
            });
        }

        // 5. CSV export of every tracker row against a raw scan of them.
        let rows: i64 = c
            .query_one(
                "SELECT COUNT(*) FROM referrals WHERE submitted_at IS NOT NULL",
                &[],
            )?
            .get(0)?;
        let before = rss_mib();
        let peak = std::sync::Arc::new(std::sync::Mutex::new(before));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = {
            let (peak, stop) = (peak.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let now = rss_mib();
                    if let Ok(mut p) = peak.lock()
                        && now > *p
                    {
                        *p = now;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        let t = Instant::now();
        let bytes = self
            .rt
            .block_on(stream_ok(&app, "/tracker/export.csv", &cookie))?;
        let export_t = t.elapsed().as_secs_f64();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = sampler.join();
        let grew = peak.lock().map_or(0.0, |p| *p - before);
        // The raw scan after the export, so its rows do not pad the heap the
        // export's memory is measured against.
        let t = Instant::now();
        let mut raw = db.store.conn()?;
        let mut scanned = 0;
        for (k, sql) in raw_export_queries(jp_web::finance::this_year())
            .iter()
            .enumerate()
        {
            let n = raw.raw_scan(sql)?;
            if k == 0 {
                scanned = n;
            }
        }
        let scan_t = t.elapsed().as_secs_f64();
        let ratio = export_t / scan_t;
        self.lines.push(Line {
            scale,
            backend,
            what: "CSV export of every tracker row",
            measured: format!(
                "{:.1} s for {rows} rows ({:.0} MiB); memory grew {grew:.0} MiB",
                export_t,
                bytes as f64 / 1048576.0
            ),
            baseline: format!(
                "{scan_t:.1} s raw scan of the same {scanned} rows, their annual costs, terms and shares"
            ),
            ratio: format!("{ratio:.2}×"),
            goal: "≤ 4×, memory flat".into(),
            met: Some(ratio <= 4.0),
        });
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        scale: Scale,
        backend: &'static str,
        what: &'static str,
        measured: String,
        baseline: String,
        ratio: f64,
        goal: f64,
        at_least: bool,
    ) {
        self.lines.push(Line {
            scale,
            backend,
            what,
            measured,
            baseline,
            ratio: format!("{ratio:.2}"),
            goal: format!("{} {goal}", if at_least { "≥" } else { "≤" }),
            met: Some(if at_least {
                ratio >= goal
            } else {
                ratio <= goal
            }),
        });
    }

    fn compare_backends(&mut self, scale: Scale) {
        for (key, what) in [
            ("tracker", "Tracker page, PostgreSQL against SQLite"),
            ("referral", "Referral page, PostgreSQL against SQLite"),
        ] {
            let find = |b: &str| {
                self.rates
                    .iter()
                    .find(|(s, bb, k, _)| *s == scale && *bb == b && *k == key)
                    .map(|x| x.3)
            };
            if let (Some(pg), Some(lite)) = (find("PostgreSQL"), find("SQLite")) {
                self.push(
                    scale,
                    "both",
                    what,
                    format!("{pg:.0} req/s"),
                    format!("{lite:.0} req/s on SQLite"),
                    pg / lite,
                    0.6,
                    true,
                );
            }
        }
    }

    fn report(&self, earlier: &str) -> String {
        let mut s = String::new();
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
        let mem = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .next()
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|k| k.parse::<f64>().ok())
            })
            .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
        let _ = writeln!(s, "# Benchmark results\n");
        let _ = writeln!(
            s,
            "Run on {} with `cargo run --release -p jointpanel-bench`; {cpu}, {cores} cores, {mem:.0} GiB memory. \
             Each figure is a ratio against a baseline measured in the same run (medians of 7 rounds), \
             so the machine's load moves both sides together.\n",
            chrono::Utc::now().format("%-d %B %Y %H:%M UTC")
        );
        let _ = writeln!(
            s,
            "| Data | Database | Measure | Measured | Baseline | Ratio | Goal | Met |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
        let measured: Vec<String> = self
            .lines
            .iter()
            .map(|l| format!("| {} | {} |", l.scale.name(), l.backend))
            .collect();
        let mut kept = 0;
        for row in earlier
            .lines()
            .filter(|r| r.starts_with("| ") && !r.starts_with("| Data "))
        {
            if !measured.iter().any(|m| row.starts_with(m.as_str())) {
                let _ = writeln!(s, "{row}");
                kept += 1;
            }
        }
        for l in &self.lines {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                l.scale.name(),
                l.backend,
                l.what,
                l.measured,
                l.baseline,
                l.ratio,
                l.goal,
                match l.met {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "—",
                }
            );
        }
        if kept > 0 {
            let _ = writeln!(
                s,
                "\n{kept} rows above come from an earlier run (other data or database); the rest were measured at the time given."
            );
        }
        s
    }
}
