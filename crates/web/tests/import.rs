//! Importing a tracker spreadsheet on both backends: the tracker's own CSV
//! export of one installation imports into another and exports again the
//! same (a formula-like name included, defused on the way out and read back
//! as typed); a file with problems lists every row's problems and imports
//! nothing; only administrators reach the import.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::http::StatusCode;
use common::flow::*;
use common::*;
use jp_domain::Role;

/// Each backend twice: a source installation with the demo's generated
/// history, and a fresh one to import into.
fn pairs() -> Vec<(TestApp, TestApp)> {
    let mut v = vec![(
        TestApp::new(jp_store::testing::sqlite()),
        TestApp::new(jp_store::testing::sqlite()),
    )];
    if let (Some(a), Some(b)) = (jp_store::testing::postgres(), jp_store::testing::postgres()) {
        v.push((TestApp::new(a), TestApp::new(b)));
    }
    v
}

fn count(app: &TestApp, sql: &str) -> i64 {
    blocking(|| {
        app.db
            .store
            .conn()
            .unwrap()
            .query_one(sql, &[])
            .unwrap()
            .get(0)
            .unwrap()
    })
}

async fn fetch(app: &TestApp, path: &str, who: &Login) -> (StatusCode, Vec<u8>) {
    let res = app.send(get(path, Some(who))).await;
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, body.to_vec())
}

/// The export's rows without the columns that are each installation's own
/// numbers (referral and agreement ids), sorted.
fn comparable(csv: &[u8]) -> Vec<Vec<String>> {
    let t = jp_exports::read::table("t.csv", csv).unwrap();
    let drop: Vec<usize> = t
        .headers
        .iter()
        .enumerate()
        .filter(|(_, h)| *h == "Referral" || *h == "Agreement")
        .map(|(i, _)| i)
        .collect();
    let mut rows: Vec<Vec<String>> = t
        .rows
        .into_iter()
        .map(|(_, r)| {
            r.into_iter()
                .enumerate()
                .filter(|(i, _)| !drop.contains(i))
                .map(|(_, c)| c)
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

/// Uploads a file and returns the import's page address.
async fn upload(app: &TestApp, admin: &Login, name: &str, bytes: &[u8]) -> String {
    let res = app
        .send(post_file("/tracker/import", admin, name, bytes))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body_text(res).await
    );
    location(&res)
}

/// Sends the check with the mapping found from the headers.
async fn check(app: &TestApp, admin: &Login, page: &str, csv: &[u8]) -> String {
    let t = jp_exports::read::table("t.csv", csv).unwrap();
    let (mapping, _, _) = jp_store::import::detect(&t.headers);
    let fields: Vec<(String, String)> = mapping
        .iter()
        .map(|(k, i)| (format!("map-{k}"), i.to_string()))
        .collect();
    let res = post(app, &format!("{page}/check"), admin, &fields).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body_text(res).await
    );
    body_text(app.send(get(page, Some(admin))).await).await
}

#[test]
fn an_export_imports_into_another_installation_and_exports_the_same() {
    for (source, dest) in pairs() {
        blocking(|| {
            jp_store::demo::load_history(
                &mut source.db.store.conn().unwrap(),
                &jp_store::demo::DEMO_HISTORY,
                &mut |_, _| {},
            )
            .unwrap();
            // A name a spreadsheet would run as a formula.
            source
                .db
                .store
                .conn()
                .unwrap()
                .execute(
                    "UPDATE children SET given_name = '=HYPERLINK(\"http://evil.example\",\"open\")'
                     WHERE id = (SELECT MIN(id) FROM children WHERE local_id LIKE 'NH-%')",
                    &[],
                )
                .unwrap();
        });
        run_async(async {
            let admin_a = source.login(Role::Administrator);
            let (status, csv) = fetch(&source, "/tracker/export.csv?q=NH-", &admin_a).await;
            assert_eq!(status, StatusCode::OK);
            let text = String::from_utf8(csv.clone()).unwrap();
            assert!(
                text.contains("\"'=HYPERLINK("),
                "the export defuses the formula"
            );
            let before = comparable(&csv);
            assert!(before.len() > 100, "{} rows", before.len());

            let admin = dest.login(Role::Administrator);
            let referrals_before = count(&dest, "SELECT COUNT(*) FROM referrals");
            let page = upload(&dest, &admin, "tracker.csv", &csv).await;
            let shown = body_text(dest.send(get(&page, Some(&admin))).await).await;
            assert!(shown.contains("Check every row"), "{shown}");
            let shown = check(&dest, &admin, &page, &csv).await;
            assert!(shown.contains("Ready to import"), "{shown}");
            assert_eq!(
                count(&dest, "SELECT COUNT(*) FROM referrals"),
                referrals_before,
                "the check writes nothing"
            );
            let version = hidden(&shown, "version");
            let res = post(
                &dest,
                &format!("{page}/run"),
                &admin,
                &kv(&[("version", &version)]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            let mut done = String::new();
            for _ in 0..300 {
                done = body_text(dest.send(get(&page, Some(&admin))).await).await;
                if done.contains("Imported") || done.contains("did not finish") {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert!(done.contains("govuk-panel__title\">Imported"), "{done}");
            assert_eq!(
                count(&dest, "SELECT COUNT(*) FROM referrals"),
                referrals_before + i64::try_from(before.len()).unwrap()
            );
            // A second run of the same import is refused.
            let res = post(
                &dest,
                &format!("{page}/run"),
                &admin,
                &kv(&[("version", &version)]),
            )
            .await;
            assert!(res.status().is_client_error(), "{}", res.status());

            let (_, again) = fetch(&dest, "/tracker/export.csv?q=NH-", &admin).await;
            assert_eq!(
                comparable(&again),
                before,
                "the import round-trips the export"
            );
            // The summary the finance pages read was kept with each agreement.
            let sum = |app: &TestApp| {
                count(
                    app,
                    "SELECT CAST(COALESCE(SUM(c.pence), 0) AS BIGINT) FROM committed_costs c
                     JOIN agreements a ON a.id = c.agreement_id JOIN children ch ON ch.id = a.child_id
                     WHERE ch.local_id LIKE 'NH-%'",
                )
            };
            assert_eq!(sum(&dest), sum(&source));
            assert_eq!(summary_rows_wrong(&dest), 0);
            assert_eq!(
                count(
                    &dest,
                    "SELECT COUNT(*) FROM audit_log WHERE action = 'tracker.imported'"
                ),
                1
            );

            // The same file again: every row is already recorded; nothing added.
            let page = upload(&dest, &admin, "tracker.csv", &csv).await;
            let shown = check(&dest, &admin, &page, &csv).await;
            assert!(
                shown.contains("This referral is already recorded"),
                "{shown}"
            );
            assert!(!shown.contains("Ready to import"));
        });
    }
}

#[test]
fn a_file_with_problems_lists_them_all_and_imports_nothing() {
    let app = TestApp::new(jp_store::testing::sqlite());
    run_async(async {
        let admin = app.login(Role::Administrator);
        let referrals = count(&app, "SELECT COUNT(*) FROM referrals");
        let children = count(&app, "SELECT COUNT(*) FROM children");

        // Wrong columns: the required ones are named.
        let wrong = b"Name,Born,Where\nAl Jones,2015-01-01,Somewhere\n";
        let page = upload(&app, &admin, "wrong.csv", wrong).await;
        let res = post(&app, &format!("{page}/check"), &admin, &[]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let shown = body_text(res).await;
        for m in [
            "Choose the column that holds Child local ID",
            "Choose the column that holds Date of birth",
            "Choose the column that holds Panel",
        ] {
            assert!(shown.contains(m), "{m}: {shown}");
        }

        // Rows with problems of every kind.
        let csv = "Child local ID,Child,Date of birth,Panel,Meeting,Status,Referrer's agency,Decision,Agreement start,Agreement end,Review date,Weekly cost (£),Shares\n\
NX-1,Ada Brook,31/02/2015,Joint Funding Panel (Complex Cases),2025-03-12,Closed,Children's Social Care,Declined,,,,,\n\
NX-2,Ben Carr,2014-06-01,Joint Funding Panel (Complex Cases),2025-03-12,Agreement active,Martian Services,Agreed as recommended,2025-04-01,2026-03-31,2026-01-31,£685.00,Northmoor County Council 60%; Northmoor and Dale Integrated Care Board 30%\n\
NX-3,Cy Dale,2013-01-01,Nowhere Panel,2025-03-12,Decided,Children's Social Care,Agreed as recommended,,,,,\n\
NX-3,Cy Dale,2013-01-02,Joint Funding Panel (Complex Cases),2025-04-09,Closed,Children's Social Care,Declined,,,,,\n\
NX-4,=HYPERLINK(\"\"http://evil.example\"\") Evans,2012-02-02,Joint Funding Panel (Complex Cases),2025-03-12,Sunny,Children's Social Care,,,,,,\n";
        let page = upload(&app, &admin, "problems.csv", csv.as_bytes()).await;
        let shown = check(&app, &admin, &page, csv.as_bytes()).await;
        for m in [
            "“31/02/2015” is not a date",
            "No agency called “Martian Services”",
            "The shares add up to",
            "No panel called “Nowhere Panel”",
            "Child NX-3 is on row 4 with a different name or date of birth",
            "“Sunny” is not a status",
        ] {
            assert!(shown.contains(m), "{m}: {shown}");
        }
        assert!(shown.contains("problems on 5 rows"), "{shown}");
        assert!(!shown.contains("Ready to import"));
        // Nothing was written, and the import cannot be run.
        let version = count(&app, "SELECT version FROM imports ORDER BY id DESC LIMIT 1");
        let res = post(
            &app,
            &format!("{page}/run"),
            &admin,
            &kv(&[("version", &version.to_string())]),
        )
        .await;
        assert!(res.status().is_client_error(), "{}", res.status());
        assert_eq!(count(&app, "SELECT COUNT(*) FROM referrals"), referrals);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM children"), children);

        // Not a spreadsheet at all.
        let res = app
            .send(post_file(
                "/tracker/import",
                &admin,
                "x.csv",
                b"\xff\xfe\x00bad",
            ))
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body_text(res).await.contains("not UTF-8"));

        // Only administrators.
        let chair = app.login(Role::Chair);
        let res = app.send(get("/tracker/import", Some(&chair))).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    });
}
