//! Each person's iCalendar feed: made on Your account, read without signing in
//! by its secret address, replaced and revoked (then 410 with a reason).

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::http::{StatusCode, header};
use common::*;
use jp_domain::Role;

async fn make_feed(app: &TestApp, who: &Login) -> String {
    let res = app
        .send(post_form(
            "/account/calendar-feed",
            Some(who),
            &[("_csrf", &who.csrf)],
        ))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = body_text(res).await;
    let url = html
        .split("<code id=\"feed-url\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let path = url.trim_start_matches("http://127.0.0.1:8080").to_owned();
    assert!(
        path.starts_with("/feeds/jpcal_") && path.ends_with(".ics"),
        "{url}"
    );
    path
}

#[test]
fn a_feed_lists_the_meetings_someone_attends_until_it_is_revoked() {
    for app in TestApp::each_backend() {
        run_async(async {
            let member = app.login(Role::Member);
            let path = make_feed(&app, &member).await;
            let res = app.send(get(&path, None)).await;
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(
                res.headers()[header::CONTENT_TYPE],
                "text/calendar; charset=utf-8"
            );
            let ics = body_text(res).await;
            assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"), "{ics}");
            assert!(
                ics.contains("SUMMARY:Joint Funding Panel (Complex Cases) meeting"),
                "{ics}"
            );
            assert!(ics.contains("SUMMARY:Referrals due: "), "{ics}");
            assert!(ics.matches("BEGIN:VEVENT").count() >= 3);
            let account = body_text(app.send(get("/account", Some(&member))).await).await;
            assert!(account.contains("You have a feed address"), "{account}");

            // A new address replaces the old one, which then says why it stopped.
            let newer = make_feed(&app, &member).await;
            let res = app.send(get(&path, None)).await;
            assert_eq!(res.status(), StatusCode::GONE);
            assert!(body_text(res).await.contains("revoked"));
            assert_eq!(app.send(get(&newer, None)).await.status(), StatusCode::OK);

            // Revoked from the account page; revoking twice is refused; an unknown address is 404.
            let res = app
                .send(post_form(
                    "/account/calendar-feed/revoke",
                    Some(&member),
                    &[("_csrf", &member.csrf)],
                ))
                .await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            assert_eq!(app.send(get(&newer, None)).await.status(), StatusCode::GONE);
            let res = app
                .send(post_form(
                    "/account/calendar-feed/revoke",
                    Some(&member),
                    &[("_csrf", &member.csrf)],
                ))
                .await;
            assert_eq!(res.status(), StatusCode::CONFLICT);
            assert_eq!(
                app.send(get("/feeds/jpcal_0000.ics", None)).await.status(),
                StatusCode::NOT_FOUND
            );
            assert_eq!(common::flow::audit_count(&app, "calendar-feed.revoked"), 1);

            // A referrer's feed has the meeting their referral is booked onto.
            let referrer = app.login(Role::Referrer);
            let path = make_feed(&app, &referrer).await;
            let ics = body_text(app.send(get(&path, None)).await).await;
            let booked = blocking(|| {
                let mut c = app.db.store.conn().unwrap();
                c.query_one(
                    "SELECT meeting_id FROM referrals WHERE status = 'booked' ORDER BY id LIMIT 1",
                    &[],
                )
                .unwrap()
                .get::<i64>(0)
                .unwrap()
            });
            assert!(
                ics.contains(&format!("UID:meeting-{booked}@jointpanel")),
                "{ics}"
            );
        });
    }
}
