//! Finance monitoring on both backends: budgets set by finance, actual spend
//! recorded against an agreement, and the year's page — chart and table —
//! showing budget, committed, pending, paid and forecast that add up; bad
//! input refused with a message.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::http::StatusCode;
use common::flow::*;
use common::*;
use jp_domain::Role;
use jp_store::params;

fn one(app: &TestApp, sql: &str) -> i64 {
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

/// The demo agreement waits for Adults & Communities; its acceptance commits it.
async fn commit_demo_agreement(app: &TestApp, admin: &Login) {
    let rec = one(
        app,
        "SELECT id FROM recommendations WHERE status = 'awaiting' ORDER BY id LIMIT 1",
    );
    let page = body_text(
        app.send(get(&format!("/recommendations/{rec}"), Some(admin)))
            .await,
    )
    .await;
    let res = post(
        app,
        &format!("/recommendations/{rec}"),
        admin,
        &kv(&[
            ("response", "accept"),
            ("version", &hidden(&page, "version")),
        ]),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[test]
fn budgets_spend_and_the_forecast_add_up() {
    for app in TestApp::each_backend() {
        run_async(async {
            let admin = app.login(Role::Administrator);
            let finance = app.login(Role::Finance);
            commit_demo_agreement(&app, &admin).await;
            let aid = one(&app, "SELECT id FROM agreements WHERE status = 'active'");
            let fy = jp_domain::apportion::financial_year(today());
            let (council, icb, panel) = (
                one(
                    &app,
                    "SELECT id FROM organisations WHERE name LIKE 'Northmoor County%'",
                ),
                one(
                    &app,
                    "SELECT id FROM organisations WHERE name LIKE 'Northmoor and Dale%'",
                ),
                one(&app, "SELECT panel_id FROM agreements ORDER BY id LIMIT 1"),
            );
            // Budgets: refused when unreadable, saved (and replaced) when not.
            let budget = |amount: &str| {
                kv(&[
                    ("year", &fy.to_string()),
                    ("organisation_id", &council.to_string()),
                    ("panel_id", &panel.to_string()),
                    ("amount", amount),
                ])
            };
            let res = post(&app, "/finance/budgets", &finance, &budget("lots")).await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(body_text(res).await.contains("Enter the budget in pounds"));
            for amount in ["500,000.00", "10000"] {
                let res = post(&app, "/finance/budgets", &finance, &budget(amount)).await;
                assert_eq!(
                    res.status(),
                    StatusCode::SEE_OTHER,
                    "{}",
                    body_text(res).await
                );
            }
            assert_eq!(one(&app, "SELECT pence FROM budgets"), 1_000_000);
            // Spend: from a paying organisation only.
            let mut pay = kv(&[
                ("spend_organisation_id", &council.to_string()),
                ("spend_amount", "1,250.50"),
                ("spend_reference", "INV-2026-0412"),
            ]);
            pay.extend(date_fields("spend_month", today()));
            let res = post(&app, &format!("/agreements/{aid}/spend"), &finance, &pay).await;
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "{}",
                body_text(res).await
            );
            let schools = one(
                &app,
                "SELECT id FROM organisations WHERE name LIKE 'Northmoor Schools%'",
            );
            pay[0].1 = schools.to_string();
            let res = post(&app, &format!("/agreements/{aid}/spend"), &finance, &pay).await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(body_text(res).await.contains("does not pay a share"));
            assert_eq!(one(&app, "SELECT CAST(COUNT(*) AS BIGINT) FROM spend"), 1);
            let _ = icb;
            // The year's page: the council's line adds up.
            let res = app
                .send(get(&format!("/finance?year={fy}"), Some(&finance)))
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            let page = body_text(res).await;
            assert!(page.contains("<svg class=\"jp-chart\""));
            let lines = blocking(|| {
                let t = today();
                use chrono::Datelike;
                jp_store::finance::year_lines(
                    &mut app.db.store.conn().unwrap(),
                    fy,
                    (t.year(), t.month()),
                )
                .unwrap()
            });
            let l = lines.iter().find(|l| l.organisation_id == council).unwrap();
            let committed: i64 = blocking(|| {
                app.db.store.conn().unwrap().query_one(
                    "SELECT CAST(SUM(pence) AS BIGINT) FROM committed_costs WHERE organisation_id = $1 AND financial_year = $2 AND committed",
                    &params![council, i64::from(fy)],
                ).unwrap().get(0).unwrap()
            });
            assert_eq!(l.committed, committed);
            assert_eq!(l.actual, 125_050);
            assert_eq!(l.forecast(), 125_050 + l.committed_ahead);
            assert!(l.remaining().unwrap() < 0, "a £10,000 budget is overspent");
            assert!(page.contains(&jp_domain::Pence(l.committed).to_string()));
            assert!(page.contains("Overspend"), "the overspend is shown");
            assert_eq!(audit_count(&app, "budget.set"), 2);
            assert_eq!(audit_count(&app, "spend.recorded"), 1);
            // A chair reads the page; a member does not.
            let res = app
                .send(get("/finance", Some(&app.login(Role::Chair))))
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            let res = app
                .send(get("/finance", Some(&app.login(Role::Member))))
                .await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN);
            let res = app.send(get("/finance?year=20x6", Some(&finance))).await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(
                summary_rows_wrong(&app),
                0,
                "the monthly finance summary kept up with budgets, spend and agreements"
            );
        });
    }
}

#[test]
fn at_seventeen_and_a_half_adult_services_get_an_action_once() {
    for app in TestApp::each_backend() {
        run_async(async {
            let admin = app.login(Role::Administrator);
            commit_demo_agreement(&app, &admin).await;
            let child = one(
                &app,
                "SELECT r.child_id FROM agreements a JOIN referrals r ON r.id = a.referral_id WHERE a.status = 'active'",
            );
            let set_born = |born: chrono::NaiveDate| {
                blocking(|| {
                    app.db
                        .store
                        .conn()
                        .unwrap()
                        .execute(
                            "UPDATE children SET date_of_birth = $1 WHERE id = $2",
                            &params![born, child],
                        )
                        .unwrap();
                });
            };
            use chrono::Months;
            let t = today();
            // A day short of 17½: nothing yet.
            set_born(
                t.checked_sub_months(Months::new(17 * 12 + 6)).unwrap() + chrono::Duration::days(1),
            );
            assert_eq!(
                blocking(|| jp_web::reviews::flag_transitions(&app.state, t)).unwrap(),
                0
            );
            // 17½ today: an action for the adult-services member, once.
            set_born(t.checked_sub_months(Months::new(17 * 12 + 6)).unwrap());
            assert_eq!(
                blocking(|| jp_web::reviews::flag_transitions(&app.state, t)).unwrap(),
                1
            );
            assert_eq!(
                blocking(|| jp_web::reviews::flag_transitions(&app.state, t)).unwrap(),
                0
            );
            let owner: String = blocking(|| {
                app.db.store.conn().unwrap()
                    .query_one("SELECT u.email FROM actions x JOIN users u ON u.id = x.owner_id WHERE x.source = 'transition'", &[])
                    .unwrap().get(0).unwrap()
            });
            let adults_member: String = blocking(|| {
                app.db.store.conn().unwrap()
                    .query_one("SELECT u.email FROM panel_members m JOIN users u ON u.id = m.user_id JOIN agencies a ON a.id = m.agency_id WHERE a.adult_services ORDER BY m.id LIMIT 1", &[])
                    .unwrap().get(0).unwrap()
            });
            assert_eq!(owner, adults_member);
            assert_eq!(audit_count(&app, "transition.flagged"), 1);
            // The owner is told by e-mail, once, with a link to the decision
            // and without the child's name.
            let mails: Vec<(String, String)> = blocking(|| {
                app.db
                    .store
                    .conn()
                    .unwrap()
                    .query(
                        "SELECT to_address, body FROM outbox WHERE kind = 'transition.flagged'",
                        &[],
                    )
                    .unwrap()
                    .iter()
                    .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
                    .collect()
            });
            assert_eq!(mails.len(), 1, "{mails:?}");
            assert_eq!(mails[0].0, adults_member);
            assert!(mails[0].1.contains("/decision"), "{}", mails[0].1);
            assert!(mails[0].1.contains("17½"), "{}", mails[0].1);
        });
    }
}

#[test]
fn the_finance_table_exports_and_spend_is_recorded_from_a_file() {
    for app in TestApp::each_backend() {
        run_async(async {
            let admin = app.login(Role::Administrator);
            let finance = app.login(Role::Finance);
            commit_demo_agreement(&app, &admin).await;
            let aid = one(&app, "SELECT id FROM agreements WHERE status = 'active'");
            let fy = jp_domain::apportion::financial_year(today());
            let month = today().format("%Y-%m").to_string();

            // A file with a problem on every row records nothing.
            let bad = format!(
                "Agreement,Organisation,Month,Amount (£),Reference\n\
                 {aid},Northmoor Schools Partnership,{month},100.00,INV-1\n\
                 99999,Northmoor County Council,{month},100.00,INV-2\n\
                 {aid},Northmoor County Council,May,100.00,INV-3\n\
                 {aid},Northmoor County Council,{month},lots,INV-4\n"
            );
            let res = app
                .send(post_file(
                    "/finance/spend/import",
                    &finance,
                    "spend.csv",
                    bad.as_bytes(),
                ))
                .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let page = body_text(res).await;
            for m in [
                "Northmoor Schools Partnership does not pay a share of agreement",
                "There is no agreement 99999",
                "“May” is not a month",
                "Enter an amount in pounds and pence",
                "nothing was recorded",
            ] {
                assert!(page.contains(m), "{m}: {page}");
            }
            assert_eq!(one(&app, "SELECT COUNT(*) FROM spend"), 0);
            let missing = app
                .send(post_file(
                    "/finance/spend/import",
                    &finance,
                    "spend.csv",
                    b"Agreement,Amount\n1,2\n",
                ))
                .await;
            assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                body_text(missing)
                    .await
                    .contains("The file has no “Organisation” column")
            );

            // A good file: every payment, in one go, with the summary kept.
            let good = format!(
                "Agreement,Organisation,Month,Amount (£),Reference\n\
                 {aid},Northmoor County Council,{month},\"1,250.50\",INV-10\n\
                 {aid},Northmoor and Dale Integrated Care Board,{month},800.00,INV-11\n\
                 {aid},Northmoor County Council,{month},-50.50,Credit note 3\n"
            );
            let res = app
                .send(post_file(
                    "/finance/spend/import",
                    &finance,
                    "spend.csv",
                    good.as_bytes(),
                ))
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            let page = body_text(res).await;
            assert!(
                page.contains("3 payments recorded") && page.contains("£2,000.00 in all"),
                "{page}"
            );
            assert_eq!(one(&app, "SELECT COUNT(*) FROM spend"), 3);
            assert_eq!(audit_count(&app, "spend.recorded"), 3);
            assert_eq!(summary_rows_wrong(&app), 0);

            // The year's table as CSV and XLSX: the same totals as the page.
            let committed = one(
                &app,
                &format!(
                    "SELECT CAST(SUM(committed) AS BIGINT) FROM finance_months WHERE financial_year = {fy}"
                ),
            );
            let res = app
                .send(get(
                    &format!("/finance/export.csv?year={fy}"),
                    Some(&finance),
                ))
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            let csv = body_text(res).await;
            let t = jp_exports::read::table("f.csv", csv.as_bytes()).unwrap();
            assert_eq!(t.headers[3], "Committed (£)");
            let pence = |s: &str| jp_domain::Pence::parse_pounds(s).map_or(0, |p| p.0);
            let sum: i64 = t.rows.iter().map(|(_, r)| pence(&r[3])).sum();
            assert_eq!(sum, committed);
            let paid: i64 = t.rows.iter().map(|(_, r)| pence(&r[5])).sum();
            assert_eq!(paid, 200_000);
            let res = app
                .send(get(
                    &format!("/finance/export.xlsx?year={fy}"),
                    Some(&finance),
                ))
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
                .await
                .unwrap();
            let x = jp_exports::read::table("f.xlsx", &bytes).unwrap();
            let sum: i64 = x.rows.iter().map(|(_, r)| pence(&r[3])).sum();
            assert_eq!(
                sum, committed,
                "the workbook reads back with the same total"
            );
            assert_eq!(audit_count(&app, "finance.exported"), 2);
            // Members do not see finance; chairs read it but do not record spend.
            let member = app.login(Role::Member);
            let res = app.send(get("/finance/export.csv", Some(&member))).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN);
            let chair = app.login(Role::Chair);
            let res = app.send(get("/finance/spend/import", Some(&chair))).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN);
            let res = app
                .send(get("/finance/export.csv?year=abc", Some(&chair)))
                .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        });
    }
}
