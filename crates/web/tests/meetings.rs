//! Meetings through the pages: the list with deadlines from the calendar, an
//! ad-hoc meeting with its details, edits with optimistic locking, cancelling
//! (refused while referrals are booked). Bad input refused with messages.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::http::StatusCode;
use chrono::{Datelike, Duration};
use common::flow::*;
use common::*;
use jp_domain::Role;

#[test]
fn administrators_schedule_change_and_cancel_meetings() {
    for app in TestApp::each_backend() {
        run_async(async {
            let referrer = app.login(Role::Referrer);
            let admin = app.login(Role::Administrator);
            let list = body_text(app.send(get("/meetings", Some(&referrer))).await).await;
            assert!(
                list.contains("Referrals in by") && list.contains("Joint Funding Panel"),
                "{list}"
            );
            assert!(
                !list.contains("Add an ad-hoc meeting"),
                "only administrators add meetings"
            );
            assert_eq!(
                app.send(get("/meetings/new", Some(&referrer)))
                    .await
                    .status(),
                StatusCode::FORBIDDEN
            );

            // The demo's booked referral shows on its meeting, with the deadlines.
            let booked = blocking(|| {
                let mut c = app.db.store.conn().unwrap();
                let me = jp_store::accounts::list(&mut c)
                    .unwrap()
                    .into_iter()
                    .find(|u| u.email == "referrer@northmoor.example")
                    .unwrap();
                let booked = Some(jp_domain::lifecycle::Status::Booked);
                // The demo's referral booked onto the next regular meeting.
                jp_store::referrals::visible(&mut c, &me, booked, 10)
                    .unwrap()
                    .into_iter()
                    .find(|(r, _)| r.child_local_id == "NC-104233")
                    .unwrap()
                    .0
            });
            let page = body_text(
                app.send(get(
                    &format!("/meetings/{}", booked.meeting_id.unwrap()),
                    Some(&referrer),
                ))
                .await,
            )
            .await;
            assert!(
                page.contains(&booked.child_name) && page.contains("Minutes issued by"),
                "{page}"
            );

            // Bad input: each field named, nothing saved.
            let panel_id = blocking(|| {
                jp_store::reference::panels::list(&mut app.db.store.conn().unwrap()).unwrap()[0].id
            })
            .to_string();
            let past = today() - Duration::days(3);
            let mut bad = kv(&[
                ("panel_id", ""),
                ("start_time", "25:00"),
                ("venue", ""),
                ("online_link", "http://insecure.example"),
            ]);
            bad.extend(date_fields("meeting_date", past));
            let res = post(&app, "/meetings/new", &admin, &bad).await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let html = body_text(res).await;
            for m in [
                "Select the panel",
                "today or later",
                "Enter the start time",
                "https:// address",
            ] {
                assert!(html.contains(m), "{m}: {html}");
            }
            let day = today() + Duration::days(20);
            let mut fields = kv(&[
                ("panel_id", &panel_id),
                ("start_time", "14:00"),
                ("venue", ""),
                ("online_link", ""),
            ]);
            fields.extend(date_fields("meeting_date", day));
            let res = post(&app, "/meetings/new", &admin, &fields).await;
            assert_eq!(
                res.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "a venue or a link is needed"
            );
            let mut fields = kv(&[
                ("panel_id", &panel_id),
                ("start_time", "9:30"),
                ("venue", "Committee Room 2, County Hall"),
                ("online_link", ""),
            ]);
            fields.extend(date_fields("meeting_date", day));
            let res = post(&app, "/meetings/new", &admin, &fields).await;
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "{}",
                body_text(res).await
            );
            let id: i64 = location(&res)
                .trim_start_matches("/meetings/")
                .parse()
                .unwrap();
            let page = body_text(
                app.send(get(&format!("/meetings/{id}"), Some(&admin)))
                    .await,
            )
            .await;
            assert!(
                page.contains("09:30")
                    && page.contains("Committee Room 2")
                    && page.contains("Ad hoc"),
                "{page}"
            );
            assert!(page.contains(&format!("{}", day.year())));

            // Two edits from the same version: the second is told, nothing lost.
            let v = blocking(|| {
                jp_store::meetings::get(&mut app.db.store.conn().unwrap(), id)
                    .unwrap()
                    .unwrap()
                    .version
            })
            .to_string();
            let first = kv(&[
                ("version", &v),
                ("start_time", "10:00"),
                ("venue", "Committee Room 2, County Hall"),
                ("online_link", "https://meet.example.org/jfp-extra"),
            ]);
            assert_eq!(
                post(&app, &format!("/meetings/{id}/edit"), &admin, &first)
                    .await
                    .status(),
                StatusCode::SEE_OTHER
            );
            let second = kv(&[
                ("version", &v),
                ("start_time", "11:00"),
                ("venue", "Room 9"),
                ("online_link", ""),
            ]);
            let res = post(&app, &format!("/meetings/{id}/edit"), &admin, &second).await;
            assert_eq!(res.status(), StatusCode::CONFLICT);
            let html = body_text(res).await;
            assert!(
                html.contains("Room 9") && html.contains("https://meet.example.org/jfp-extra"),
                "{html}"
            );

            // Cancelling: refused while a referral is booked, done when empty.
            let v = blocking(|| {
                jp_store::meetings::get(
                    &mut app.db.store.conn().unwrap(),
                    booked.meeting_id.unwrap(),
                )
                .unwrap()
                .unwrap()
                .version
            })
            .to_string();
            let res = post(
                &app,
                &format!("/meetings/{}/cancel", booked.meeting_id.unwrap()),
                &admin,
                &kv(&[("version", &v)]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                body_text(res)
                    .await
                    .contains("move them to another meeting first")
            );
            let v = blocking(|| {
                jp_store::meetings::get(&mut app.db.store.conn().unwrap(), id)
                    .unwrap()
                    .unwrap()
                    .version
            })
            .to_string();
            let res = post(
                &app,
                &format!("/meetings/{id}/cancel"),
                &admin,
                &kv(&[("version", &v)]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            let page = body_text(
                app.send(get(&format!("/meetings/{id}"), Some(&admin)))
                    .await,
            )
            .await;
            assert!(
                page.contains("Cancelled") && !page.contains("Cancel the meeting"),
                "{page}"
            );
            assert!(audit_count(&app, "meeting.cancelled") >= 1);
        });
    }
}
