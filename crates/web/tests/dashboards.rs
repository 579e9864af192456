//! The dashboards on both backends, over the demo with its generated history:
//! each draws its chart and table, the tables' figures agree with the
//! records counted another way, people see only their panels, and bad
//! choices get the GOV.UK error summary.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::http::StatusCode;
use chrono::Datelike;
use common::flow::*;
use common::*;
use jp_domain::Role;

/// The cells of the first row headed `label` after `caption` in a page.
fn row_cells(page: &str, caption: &str, label: &str) -> Vec<String> {
    let from = page
        .find(&format!(">{caption}</caption>"))
        .unwrap_or_else(|| panic!("no table {caption}"));
    let rest = &page[from..];
    let at = rest
        .find(&format!(
            "scope=\"row\" class=\"govuk-table__header\">{label}</th>"
        ))
        .unwrap_or_else(|| panic!("no row {label} in {caption}"));
    let row = &rest[at..rest[at..].find("</tr>").unwrap() + at];
    row.split("<td")
        .skip(1)
        .map(|c| {
            let c = &c[c.find('>').unwrap() + 1..];
            c[..c.find("</td>").unwrap()].trim().to_owned()
        })
        .collect()
}

fn scalar(app: &TestApp, sql: &str, args: &[jp_store::db::Value]) -> i64 {
    blocking(|| {
        app.db
            .store
            .conn()
            .unwrap()
            .query_one(sql, args)
            .unwrap()
            .get::<i64>(0)
            .unwrap()
    })
}

async fn page(app: &TestApp, path: &str, who: &Login) -> (StatusCode, String) {
    let res = app.send(get(path, Some(who))).await;
    let status = res.status();
    (status, body_text(res).await)
}

#[test]
fn dashboards_show_the_records_figures_to_the_right_people() {
    for app in TestApp::each_backend() {
        blocking(|| {
            jp_store::demo::load_history(
                &mut app.db.store.conn().unwrap(),
                &jp_store::demo::DEMO_HISTORY,
                &mut |_, _| {},
            )
            .unwrap()
        });
        assert_eq!(
            summary_rows_wrong(&app),
            0,
            "the generated history keeps the monthly finance summary"
        );
        run_async(async {
            let admin = app.login(Role::Administrator);
            let t = today();

            let (status, index) = page(&app, "/dashboards", &admin).await;
            assert_eq!(status, StatusCode::OK);
            for href in [
                "/dashboards/reviews",
                "/dashboards/service-levels",
                "/dashboards/spend",
                "/dashboards/needs",
                "/emerging-issues",
            ] {
                assert!(index.contains(&format!("href=\"{href}\"")), "{href}");
            }

            // Reviews: the overdue figure is the active agreements whose
            // current version's review date has passed.
            let overdue = scalar(
                &app,
                "SELECT COUNT(*) FROM agreements a JOIN agreement_versions v
                   ON v.agreement_id = a.id AND v.number = a.current_number
                 WHERE a.status = 'active' AND v.review_date < $1",
                &jp_store::params![t],
            );
            let (status, reviews) = page(&app, "/dashboards/reviews", &admin).await;
            assert_eq!(status, StatusCode::OK);
            assert!(reviews.contains("<svg"), "no chart");
            assert!(reviews.contains(&format!("{overdue} overdue")), "{reviews}");
            let cells = row_cells(&reviews, "Reviews due, by month", "Overdue");
            assert_eq!(cells[2], overdue.to_string());
            let active = scalar(
                &app,
                "SELECT COUNT(*) FROM agreements WHERE status = 'active'",
                &[],
            );
            assert!(active > 0, "the history has running agreements");
            assert_eq!(
                row_cells(&reviews, "Reviews due, by month", "All")[2],
                active.to_string()
            );

            // Service levels: referrals on time and decision letters, counted
            // straight from the rows for the last 12 months' meetings.
            let from = t
                .with_day(1)
                .unwrap()
                .checked_sub_months(chrono::Months::new(11))
                .unwrap();
            let next_month = t
                .with_day(1)
                .unwrap()
                .checked_add_months(chrono::Months::new(1))
                .unwrap();
            let (on_time, late) = (
                scalar(
                    &app,
                    "SELECT COUNT(*) FROM referrals r JOIN meetings m ON m.id = r.meeting_id
                     WHERE m.meeting_date >= $1 AND m.meeting_date < $2 AND r.submitted_at IS NOT NULL AND NOT r.late",
                    &jp_store::params![from, next_month],
                ),
                scalar(
                    &app,
                    "SELECT COUNT(*) FROM referrals r JOIN meetings m ON m.id = r.meeting_id
                     WHERE m.meeting_date >= $1 AND m.meeting_date < $2 AND r.submitted_at IS NOT NULL AND r.late",
                    &jp_store::params![from, next_month],
                ),
            );
            assert!(on_time + late > 0);
            let (status, levels) = page(&app, "/dashboards/service-levels", &admin).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(levels.matches("<svg").count(), 2, "two charts");
            let cells = row_cells(
                &levels,
                "Service levels over the last 12 months",
                "Referrals submitted by the deadline",
            );
            assert_eq!(cells[..2], [on_time.to_string(), late.to_string()]);
            let letters_late = scalar(
                &app,
                "SELECT COUNT(*) FROM decisions d JOIN meetings m ON m.id = d.meeting_id
                 WHERE d.status = 'signed' AND d.corrects_id IS NULL AND m.meeting_date >= $1
                   AND m.meeting_date < $3 AND d.letter_due < $2
                   AND NOT EXISTS (SELECT 1 FROM decision_letters l WHERE l.decision_id = d.id AND l.sent_on <= d.letter_due)",
                &jp_store::params![from, t, next_month],
            );
            let cells = row_cells(
                &levels,
                "Service levels over the last 12 months",
                "Decision letters sent on time",
            );
            assert_eq!(cells[1], letters_late.to_string());

            // Spend: this year's committed cost for the council is the summary's.
            let fy = jp_domain::apportion::financial_year(t);
            let council_committed = scalar(
                &app,
                "SELECT CAST(COALESCE(SUM(c.pence), 0) AS BIGINT) FROM committed_costs c
                 JOIN organisations o ON o.id = c.organisation_id
                 WHERE c.committed AND c.financial_year = $1 AND o.name = 'Northmoor County Council'",
                &jp_store::params![i64::from(fy)],
            );
            assert!(council_committed > 0);
            let (status, spend) = page(&app, "/dashboards/spend", &admin).await;
            assert_eq!(status, StatusCode::OK);
            let cells = row_cells(
                &spend,
                "Spend against budget, by organisation and financial year",
                &format!(
                    "Northmoor County Council, {}",
                    jp_domain::apportion::financial_year_label(fy)
                ),
            );
            assert_eq!(
                cells[1],
                jp_domain::Pence(council_committed).to_string(),
                "{cells:?}"
            );

            // Needs: every referral submitted in the last five financial years.
            let since = chrono::NaiveDate::from_ymd_opt(fy - 4, 4, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap();
            let submitted = scalar(
                &app,
                "SELECT COUNT(*) FROM referrals WHERE submitted_at >= $1",
                &jp_store::params![since],
            );
            let (status, needs) = page(&app, "/dashboards/needs", &admin).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(needs.matches("<svg").count(), 4, "four charts");
            let cells = row_cells(
                &needs,
                "Referrals by need identified, per financial year",
                "Referrals",
            );
            assert_eq!(cells.last().unwrap(), &submitted.to_string());
            let ages: i64 = row_cells(
                &needs,
                "Referrals by age band, per financial year",
                "14 to 15",
            )
            .last()
            .unwrap()
            .parse()
            .unwrap();
            assert!(ages <= submitted);
            assert!(
                !needs.contains("NH-"),
                "no child identifiers on a dashboard"
            );

            // Bad choices: the error summary, nothing drawn.
            let (status, bad) = page(&app, "/dashboards/needs?years=7", &admin).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(bad.contains("govuk-error-summary") && bad.contains("Select 3, 5 or 10 years"));
            assert!(!bad.contains("<svg"));
            let (status, bad) =
                page(&app, "/dashboards/reviews?panel=1%27%20OR%201=1", &admin).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(bad.contains("Select one of your panels from the list"));

            // Scope: the chair sees their panel only; a panel they do not sit
            // on is refused. Members have no spend dashboard; referrers none.
            let chair = app.login(Role::Chair);
            let resource = scalar(
                &app,
                "SELECT id FROM panels WHERE name LIKE 'Resource%'",
                &[],
            );
            let (status, _) = page(&app, "/dashboards/service-levels", &chair).await;
            assert_eq!(status, StatusCode::OK);
            let (status, bad) =
                page(&app, &format!("/dashboards/needs?panel={resource}"), &chair).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
            let member = app.login(Role::Member);
            assert_eq!(
                page(&app, "/dashboards/spend", &member).await.0,
                StatusCode::FORBIDDEN
            );
            assert_eq!(
                page(&app, "/dashboards/needs", &member).await.0,
                StatusCode::OK
            );
            let finance = app.login(Role::Finance);
            assert_eq!(
                page(&app, "/dashboards/spend", &finance).await.0,
                StatusCode::OK
            );
            let referrer = app.login(Role::Referrer);
            assert_eq!(
                page(&app, "/dashboards", &referrer).await.0,
                StatusCode::FORBIDDEN
            );
        });
    }
}
