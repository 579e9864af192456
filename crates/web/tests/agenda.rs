//! The agenda: booked referrals placed automatically with the panel's minutes,
//! ordered and timed by the administrator, approved by the chair (which closes
//! it to changes); the empty agenda and bad minutes refused.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::http::StatusCode;
use common::flow::*;
use common::*;
use jp_domain::Role;

#[test]
fn the_agenda_is_built_ordered_timed_and_approved() {
    for app in TestApp::each_backend() {
        run_async(async {
            // A second referral booked onto the same meeting as the demo's.
            let id = booked(&app, "AG-1").await;
            let meeting = referral(&app, id).meeting_id.unwrap();
            let admin = app.login(Role::Administrator);
            let path = format!("/meetings/{meeting}/agenda");
            let page = body_text(app.send(get(&path, Some(&admin))).await).await;
            assert!(page.contains("2 item(s)"), "{page}");
            let items = blocking(|| {
                jp_store::agenda::items(&mut app.db.store.conn().unwrap(), meeting).unwrap()
            });
            assert_eq!(items.len(), 2);
            assert_eq!(
                items[1].referral_id,
                Some(id),
                "the newer booking comes last"
            );

            // Order and time.
            let second = items[1].id.to_string();
            assert_eq!(
                post(
                    &app,
                    &format!("/meetings/{meeting}/agenda/move"),
                    &admin,
                    &kv(&[("item_id", &second), ("direction", "up")])
                )
                .await
                .status(),
                StatusCode::SEE_OTHER
            );
            let res = post(
                &app,
                &format!("/meetings/{meeting}/agenda/move"),
                &admin,
                &kv(&[("item_id", &second), ("direction", "up")]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(body_text(res).await.contains("already first"));
            for bad in ["abc", "500", "0"] {
                let res = post(
                    &app,
                    &format!("/meetings/{meeting}/agenda/minutes"),
                    &admin,
                    &kv(&[("item_id", &second), ("minutes", bad)]),
                )
                .await;
                assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
            }
            assert_eq!(
                post(
                    &app,
                    &format!("/meetings/{meeting}/agenda/minutes"),
                    &admin,
                    &kv(&[("item_id", &second), ("minutes", "45")])
                )
                .await
                .status(),
                StatusCode::SEE_OTHER
            );
            let items = blocking(|| {
                jp_store::agenda::items(&mut app.db.store.conn().unwrap(), meeting).unwrap()
            });
            assert_eq!((items[0].referral_id, items[0].minutes), (Some(id), 45));
            let page = body_text(app.send(get(&path, Some(&admin))).await).await;
            assert!(page.contains("10:00–10:45"), "{page}");

            // Only the chair approves; a member may not reorder.
            let member = app.login(Role::Member);
            assert_eq!(
                post(
                    &app,
                    &format!("/meetings/{meeting}/agenda/move"),
                    &member,
                    &kv(&[("item_id", &second), ("direction", "down")])
                )
                .await
                .status(),
                StatusCode::FORBIDDEN
            );
            let chair = app.login(Role::Chair);
            let v = blocking(|| {
                jp_store::meetings::get(&mut app.db.store.conn().unwrap(), meeting)
                    .unwrap()
                    .unwrap()
                    .version
            })
            .to_string();
            let res = post(
                &app,
                &format!("/meetings/{meeting}/agenda/approve"),
                &chair,
                &kv(&[("version", &v)]),
            )
            .await;
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "{}",
                body_text(res).await
            );
            let m = blocking(|| {
                jp_store::meetings::get(&mut app.db.store.conn().unwrap(), meeting)
                    .unwrap()
                    .unwrap()
            });
            assert_eq!(m.status, "agenda-approved");
            let page = body_text(app.send(get(&path, Some(&admin))).await).await;
            assert!(page.contains("Approved by Helen Okafor"), "{page}");
            let res = post(
                &app,
                &format!("/meetings/{meeting}/agenda/move"),
                &admin,
                &kv(&[("item_id", &second), ("direction", "down")]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(body_text(res).await.contains("can no longer be changed"));

            // An empty agenda is not approved.
            let empty = blocking(|| {
                let mut c = app.db.store.conn().unwrap();
                jp_store::meetings::list(
                    &mut c,
                    Some(m.panel_id),
                    m.date + chrono::Duration::days(1),
                    5,
                )
                .unwrap()[0]
                    .clone()
            });
            let res = post(
                &app,
                &format!("/meetings/{}/agenda/approve", empty.id),
                &chair,
                &kv(&[("version", &empty.version.to_string())]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(body_text(res).await.contains("Nothing is on the agenda"));
        });
    }
}
