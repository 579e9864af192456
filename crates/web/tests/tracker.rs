//! The tracker (SPEC §7) on both backends: keyset pages that together list
//! every referral exactly once in each order, filters (search with SQL
//! metacharacters, dates, status), who sees which panels and names, and
//! clear messages for filters that cannot be read.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::http::StatusCode;
use common::*;
use jp_domain::Role;
use jp_store::params;
use serde_json::Value;
use std::collections::HashSet;

async fn json(app: &TestApp, path: &str, who: &Login) -> (StatusCode, Value) {
    let res = app.send(get(path, Some(who))).await;
    let status = res.status();
    let body = body_text(res).await;
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

fn listed(app: &TestApp) -> i64 {
    blocking(|| {
        app.db
            .store
            .conn()
            .unwrap()
            .query_one(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM referrals WHERE status IN ('submitted','booked','considered','decided','agreement-active','under-review','closed')",
                &[],
            )
            .unwrap()
            .get(0)
            .unwrap()
    })
}

/// 130 more submitted referrals, copies of an at-panel one, some booked on meetings.
fn many(app: &TestApp) {
    blocking(|| {
        let mut c = app.db.store.conn().unwrap();
        let r: (i64, i64, i64) = {
            let row = c
                .query_one(
                    "SELECT child_id, panel_id, referrer_id FROM referrals WHERE status <> 'draft' ORDER BY id LIMIT 1",
                    &[],
                )
                .unwrap();
            (
                row.get(0).unwrap(),
                row.get(1).unwrap(),
                row.get(2).unwrap(),
            )
        };
        let meetings: Vec<i64> = c
            .query("SELECT id FROM meetings ORDER BY id LIMIT 3", &[])
            .unwrap()
            .iter()
            .map(|x| x.get(0).unwrap())
            .collect();
        let now = chrono::Utc::now().naive_utc();
        for i in 0..130i64 {
            // Several share a submission time, so the id must break ties.
            let at = now - chrono::Duration::minutes(i / 3);
            let meeting = (i % 4 != 0).then(|| meetings[(i as usize) % meetings.len()]);
            c.execute(
                "INSERT INTO referrals (child_id, panel_id, status, referrer_id, meeting_id, submitted_at, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $6)",
                &params![r.0, r.1, if meeting.is_some() { "booked" } else { "submitted" }, r.2, meeting, at],
            )
            .unwrap();
        }
    });
}

#[test]
fn keyset_pages_list_every_referral_once_in_each_order() {
    for app in TestApp::each_backend() {
        run_async(async {
            many(&app);
            let admin = app.login(Role::Administrator);
            let total = listed(&app);
            assert!(total > 130);
            for sort in ["newest", "oldest", "submitted", "meeting", "review"] {
                let mut seen = Vec::new();
                let mut after = String::new();
                for _ in 0..20 {
                    let (s, v) = json(
                        &app,
                        &format!("/api/v1/tracker?sort={sort}&after={after}"),
                        &admin,
                    )
                    .await;
                    assert_eq!(s, StatusCode::OK, "{v}");
                    let rows = v["rows"].as_array().unwrap();
                    assert!(rows.len() <= 50);
                    seen.extend(rows.iter().map(|r| r["referral_id"].as_i64().unwrap()));
                    match v["next"].as_str() {
                        Some(n) => after = n.to_owned(),
                        None => break,
                    }
                }
                let unique: HashSet<i64> = seen.iter().copied().collect();
                assert_eq!(unique.len(), seen.len(), "{sort}: a referral listed twice");
                assert_eq!(seen.len() as i64, total, "{sort}: every referral listed");
                if sort == "newest" {
                    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first");
                }
            }
            // The page: first page, a next link that keeps the filters.
            let res = app
                .send(get("/tracker?status=booked&sort=meeting", Some(&admin)))
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            let page = body_text(res).await;
            assert!(
                page.contains("Next page")
                    && page.contains("status=booked&#38;sort=meeting&#38;after="),
                "{}",
                "the next page keeps the filters"
            );
        });
    }
}

#[test]
fn filters_search_and_access() {
    for app in TestApp::each_backend() {
        run_async(async {
            let admin = app.login(Role::Administrator);
            // The demo's decided referral, with its decision and cost by organisation.
            let (s, v) = json(&app, "/api/v1/tracker?status=decided", &admin).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            let row = &v["rows"][0];
            assert_eq!(row["outcome"], "agreed-as-recommended", "{v}");
            assert_eq!(row["agreement_status"], "pending");
            assert!(row["child_name"].is_string());
            // SQL metacharacters are only text.
            for q in [
                "%' OR 1=1 --",
                "50%",
                "a_b",
                "\\",
                "Robert'); DROP TABLE referrals;--",
            ] {
                let (s, v) = json(
                    &app,
                    &format!("/api/v1/tracker?q={}", jp_web::forms::url_encode(q)),
                    &admin,
                )
                .await;
                assert_eq!(s, StatusCode::OK, "{q}: {v}");
                assert_eq!(v["rows"].as_array().unwrap().len(), 0, "{q} matched: {v}");
            }
            assert!(listed(&app) > 0, "the referrals are still there");
            // A search by the child's local ID finds it.
            let local = row["child_local_id"].as_str().unwrap().to_owned();
            let (_, v) = json(
                &app,
                &format!("/api/v1/tracker?q={}", local.to_lowercase()),
                &admin,
            )
            .await;
            assert!(
                v["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["child_local_id"] == local.as_str())
            );
            // Filters that cannot be read: a clear message, nothing listed.
            let (s, v) = json(
                &app,
                "/api/v1/tracker?from=31/12/2026&sort=sideways",
                &admin,
            )
            .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                v.to_string().contains("year-month-day")
                    && v.to_string().contains("Choose an order"),
                "{v}"
            );
            let res = app
                .send(get("/tracker?from=2027-02-01&to=2027-01-01", Some(&admin)))
                .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let page = body_text(res).await;
            assert!(page.contains("govuk-error-summary") && page.contains("same as or after"));
            // Finance sees money and ids, not names; a referrer does not see the tracker.
            let finance = app.login(Role::Finance);
            let (s, v) = json(&app, "/api/v1/tracker", &finance).await;
            assert_eq!(s, StatusCode::OK);
            assert!(
                v["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|r| r["child_name"].is_null())
            );
            let referrer = app.login(Role::Referrer);
            let (s, _) = json(&app, "/api/v1/tracker", &referrer).await;
            assert_eq!(s, StatusCode::FORBIDDEN);
            // A member sees the panels they sit on only.
            let member = app.login(Role::Member);
            let (_, v) = json(&app, "/api/v1/tracker", &member).await;
            let panels: HashSet<String> = v["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["panel"].as_str().unwrap().to_owned())
                .collect();
            assert!(
                panels.iter().all(|p| p.starts_with("Joint Funding Panel")),
                "{panels:?}"
            );
        });
    }
}

#[test]
fn exports_stream_every_row_defuse_formulas_and_add_up() {
    for app in TestApp::each_backend() {
        run_async(async {
            many(&app);
            let admin = app.login(Role::Administrator);
            // A child's name that a spreadsheet would run as a formula.
            blocking(|| {
                app.db
                    .store
                    .conn()
                    .unwrap()
                    .execute(
                        "UPDATE children SET given_name = '=HYPERLINK(\"http://evil.example\",\"Open\")' WHERE id = (SELECT MIN(child_id) FROM referrals WHERE status <> 'draft')",
                        &[],
                    )
                    .unwrap();
            });
            let res = app.send(get("/tracker/export.csv", Some(&admin))).await;
            assert_eq!(res.status(), StatusCode::OK);
            assert!(
                res.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/csv")
            );
            let csv = body_text(res).await;
            let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
            assert_eq!(
                lines.len() as i64,
                listed(&app) + 1,
                "a header and every referral"
            );
            assert!(csv.contains("\"'=HYPERLINK("), "the formula is defused");
            assert!(!csv.contains(",=HYPERLINK"));
            // Filtered: the decided referral only, with its decision.
            let res = app
                .send(get("/tracker/export.csv?status=decided", Some(&admin)))
                .await;
            let csv = body_text(res).await;
            assert_eq!(
                csv.split("\r\n").filter(|l| !l.is_empty()).count(),
                2,
                "{csv}"
            );
            assert!(csv.contains("Agreed as recommended"), "{csv}");
            // A filter that cannot be read is refused, not exported.
            let res = app
                .send(get("/tracker/export.csv?from=yesterday", Some(&admin)))
                .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

            // The XLSX reads back with the right totals per organisation.
            let res = app.send(get("/tracker/export.xlsx", Some(&admin))).await;
            assert_eq!(res.status(), StatusCode::OK);
            let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
                .await
                .unwrap();
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("tracker.xlsx");
            std::fs::write(&path, &bytes).unwrap();
            use calamine::{DataType, Reader};
            let mut book: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
            let sheet = book.worksheet_range("Tracker").unwrap();
            let rows: Vec<_> = sheet.rows().collect();
            assert_eq!(rows.len() as i64, listed(&app) + 1);
            let header: Vec<String> = rows[0].iter().map(ToString::to_string).collect();
            let fy = jp_domain::apportion::financial_year(common::flow::today());
            let expected: Vec<(String, i64)> = blocking(|| {
                app.db
                    .store
                    .conn()
                    .unwrap()
                    .query(
                        "SELECT o.name, CAST(SUM(c.pence) AS BIGINT) FROM committed_costs c JOIN organisations o ON o.id = c.organisation_id
                         WHERE c.financial_year = $1 GROUP BY o.name",
                        &params![i64::from(fy)],
                    )
                    .unwrap()
                    .iter()
                    .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
                    .collect()
            });
            assert!(!expected.is_empty());
            for (org, pence) in expected {
                let col = header.iter().position(|h| h.starts_with(&org)).unwrap();
                let total: i64 = rows[1..]
                    .iter()
                    .filter_map(|r| r[col].as_f64())
                    .map(|p| (p * 100.0).round() as i64)
                    .sum();
                assert_eq!(total, pence, "{org}");
            }
            assert_eq!(
                common::flow::audit_count(&app, "tracker.exported"),
                3,
                "each export audited; the refused one made none"
            );
        });
    }
}
