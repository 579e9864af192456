//! The emerging issues log on both backends: a member raises an issue for a
//! panel they sit on (not for another), bad input refused with the GOV.UK
//! error summary, only the chair or an administrator closes it, with what was done.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::http::StatusCode;
use common::flow::*;
use common::*;
use jp_domain::Role;

fn panel(app: &TestApp, like: &str) -> String {
    blocking(|| {
        app.db
            .store
            .conn()
            .unwrap()
            .query_one(
                "SELECT id FROM panels WHERE name LIKE $1",
                &jp_store::params![like],
            )
            .unwrap()
            .get::<i64>(0)
            .unwrap()
            .to_string()
    })
}

#[test]
fn members_raise_issues_and_the_chair_closes_them() {
    for app in TestApp::each_backend() {
        run_async(async {
            let member = app.login(Role::Member);
            let chair = app.login(Role::Chair);
            let jfp = panel(&app, "Joint Funding%");
            let resource = panel(&app, "Resource%");
            let issue = |panel: &str, title: &str| {
                kv(&[
                    ("panel_id", panel),
                    ("title", title),
                    (
                        "description",
                        "Three referrals this quarter needed autism-trained respite carers; none were available locally.",
                    ),
                ])
            };
            let res = post(&app, "/emerging-issues", &member, &issue(&jfp, "")).await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let page = body_text(res).await;
            assert!(
                page.contains("govuk-error-summary") && page.contains("Enter the issue in a line"),
                "{page}"
            );
            let member_sits_on_resource = blocking(|| {
                let mut c = app.db.store.conn().unwrap();
                let u = c
                    .query_one(
                        "SELECT id FROM users WHERE email = 'member@northmoor-dale-icb.example'",
                        &[],
                    )
                    .unwrap()
                    .get::<i64>(0)
                    .unwrap();
                jp_store::referrals::panels_sat_on(&mut c, u)
                    .unwrap()
                    .contains(&resource.parse().unwrap())
            });
            if !member_sits_on_resource {
                let res = post(
                    &app,
                    "/emerging-issues",
                    &member,
                    &issue(&resource, "Respite gap"),
                )
                .await;
                assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
                assert!(
                    body_text(res)
                        .await
                        .contains("only for the panels you sit on")
                );
            }
            let res = post(
                &app,
                "/emerging-issues",
                &member,
                &issue(&jfp, "No autism-trained respite locally"),
            )
            .await;
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "{}",
                body_text(res).await
            );
            let page = body_text(app.send(get("/emerging-issues", Some(&chair))).await).await;
            assert!(
                page.contains("No autism-trained respite locally")
                    && page.contains("Close the issue")
            );
            let id: i64 = blocking(|| {
                app.db
                    .store
                    .conn()
                    .unwrap()
                    .query_one("SELECT id FROM emerging_issues", &[])
                    .unwrap()
                    .get(0)
                    .unwrap()
            });
            // A member cannot close it; the chair must say what was done.
            let res = post(
                &app,
                &format!("/emerging-issues/{id}/close"),
                &member,
                &kv(&[("version", "1"), (&format!("outcome-{id}"), "Done")]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN);
            let res = post(
                &app,
                &format!("/emerging-issues/{id}/close"),
                &chair,
                &kv(&[("version", "1")]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let res = post(&app, &format!("/emerging-issues/{id}/close"), &chair, &kv(&[("version", "1"), (&format!("outcome-{id}"), "Commissioning asked to tender for a local respite provider; report to the March meeting.")])).await;
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "{}",
                body_text(res).await
            );
            let page = body_text(app.send(get("/emerging-issues", Some(&member))).await).await;
            assert!(
                page.contains("Closed") && page.contains("tender for a local respite provider")
            );
            assert_eq!(audit_count(&app, "emerging-issue.raised"), 1);
            assert_eq!(audit_count(&app, "emerging-issue.closed"), 1);
            // Finance does not see the log.
            let res = app
                .send(get("/emerging-issues", Some(&app.login(Role::Finance))))
                .await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN);
        });
    }
}
