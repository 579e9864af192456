//! Late items and moves (SPEC §3): a booked referral goes to a meeting whose
//! submission deadline has passed only with the chair's recorded agreement;
//! the administrator cannot move it there alone. Also: a 2 GB upload is
//! refused while it streams, and two people saving one section keep their text.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::flow::*;
use common::*;
use jp_domain::Role;

/// An extra meeting two working days from now: its submission deadline has passed.
fn meeting_past_its_deadline(app: &TestApp, panel_id: i64) -> i64 {
    blocking(|| {
        let mut c = app.db.store.conn().unwrap();
        let cal =
            jp_store::calendar::for_region(&mut c, jp_domain::Region::EnglandAndWales).unwrap();
        let date = cal.shift(today(), 2);
        let now = jp_store::db::now();
        c.query_one(
            "INSERT INTO meetings (panel_id, meeting_date, kind, status, created_at, updated_at) VALUES ($1, $2, 'ad-hoc', 'scheduled', $3, $3) RETURNING id",
            &jp_store::params![panel_id, date, now],
        )
        .unwrap()
        .get(0)
        .unwrap()
    })
}

#[test]
fn a_late_item_needs_the_chair_and_the_administrator_cannot_move_past_a_deadline() {
    for app in TestApp::each_backend() {
        run_async(async {
            let id = booked(&app, "LATE-1").await;
            let r = referral(&app, id);
            let on_time = r.meeting_id.unwrap();
            let late = meeting_past_its_deadline(&app, r.panel_id).to_string();

            // The administrator cannot move it past the deadline alone.
            let admin = app.login(Role::Administrator);
            let v = r.version.to_string();
            let res = post(
                &app,
                &format!("/referrals/{id}/move"),
                &admin,
                &kv(&[("version", &v), ("meeting_id", &late)]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(body_text(res).await.contains("ask the chair"));
            assert_eq!(referral(&app, id).meeting_id, Some(on_time));

            // The referrer asks; a reason is required; the chair is e-mailed.
            let referrer = app.login(Role::Referrer);
            let res = post(
                &app,
                &format!("/referrals/{id}/late"),
                &referrer,
                &kv(&[
                    ("version", &v),
                    ("late_meeting_id", &late),
                    ("late_reason", ""),
                ]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let res = post(
                &app,
                &format!("/referrals/{id}/late"),
                &referrer,
                &kv(&[
                    ("version", &v),
                    ("late_meeting_id", &late),
                    ("late_reason", "The placement ends before the next meeting"),
                ]),
            )
            .await;
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "{}",
                body_text(res).await
            );
            assert_eq!(
                referral(&app, id).meeting_id,
                Some(on_time),
                "not moved before the chair agrees"
            );
            let to_chair = blocking(|| {
                jp_store::outbox::list(&mut app.db.store.conn().unwrap(), None, None, 100).unwrap()
            })
            .into_iter()
            .filter(|m| m.kind == "referral.late-requested")
            .count();
            assert!(to_chair >= 1);

            // A member is not the chair; the chair's home page lists the request; the chair agrees.
            let v = referral(&app, id).version.to_string();
            let member = app.login(Role::Member);
            let res = post(
                &app,
                &format!("/referrals/{id}/late/answer"),
                &member,
                &kv(&[("version", &v), ("answer", "agree")]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN);
            let chair = app.login(Role::Chair);
            let home = body_text(app.send(get("/", Some(&chair))).await).await;
            assert!(home.contains("asks to bring it late"), "{home}");
            let res = post(
                &app,
                &format!("/referrals/{id}/late/answer"),
                &chair,
                &kv(&[("version", &v), ("answer", "agree")]),
            )
            .await;
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "{}",
                body_text(res).await
            );
            let r = referral(&app, id);
            assert_eq!(r.meeting_id, Some(late.parse().unwrap()));
            assert!(r.late && r.late_agreed_by.is_some() && r.late_agreed_at.is_some());
            assert_eq!(audit_count(&app, "referral.late-agreed"), 1);
        });
    }
}

#[test]
fn a_two_gigabyte_upload_is_refused_after_the_limit_not_read_to_the_end() {
    let app = TestApp::new(jp_store::testing::sqlite());
    run_async(async {
        let referrer = app.login(Role::Referrer);
        let id = new_referral(&app, &referrer, "BIG-1").await;
        // 2 GiB of a "PDF", produced lazily: counts how much the server asked for.
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = sent.clone();
        let chunk = axum::body::Bytes::from(vec![b'%'; 1024 * 1024]);
        let stream = futures_util::stream::iter((0..2048u32).map(move |i| {
            counter.fetch_add(1024 * 1024, std::sync::atomic::Ordering::SeqCst);
            let bytes = if i == 0 {
                axum::body::Bytes::from_static(b"%PDF-1.7\n")
            } else {
                chunk.clone()
            };
            Ok::<_, std::io::Error>(bytes)
        }));
        let req = Request::post(format!("/api/v1/referrals/{id}/attachments?name=huge.pdf"))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(header::COOKIE, &referrer.cookie)
            .header("x-csrf-token", &referrer.csrf)
            .body(Body::from_stream(stream))
            .unwrap();
        let res = app.send(req).await;
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let read = sent.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            read < 40 * 1024 * 1024,
            "the server stopped reading near the 20 MiB limit, not at 2 GiB: {read} bytes"
        );
        let n = blocking(|| {
            jp_store::attachments::of_referral(&mut app.db.store.conn().unwrap(), id)
                .unwrap()
                .len()
        });
        assert_eq!(n, 0);
    });
}

#[test]
fn two_people_saving_one_section_the_second_is_told_and_keeps_their_text() {
    let app = TestApp::new(jp_store::testing::sqlite());
    run_async(async {
        let referrer = app.login(Role::Referrer);
        let id = new_referral(&app, &referrer, "TWO-1").await;
        let path = format!("/referrals/{id}/sections/family");
        // Two tabs open the section; the first saves.
        let page = body_text(app.send(get(&path, Some(&referrer))).await).await;
        let v = hidden(&page, "version");
        let first = kv(&[
            ("version", &v),
            ("family_details", "Saved first: lives with mother"),
            ("other_agencies", "School nurse"),
        ]);
        assert_eq!(
            post(&app, &path, &referrer, &first).await.status(),
            StatusCode::SEE_OTHER
        );
        let second = kv(&[
            ("version", &v),
            ("family_details", "Typed second: lives with grandmother"),
            ("other_agencies", "CAMHS"),
        ]);
        let res = post(&app, &path, &referrer, &second).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        let html = body_text(res).await;
        assert!(
            html.contains("Typed second: lives with grandmother"),
            "the second person's text is kept in the form"
        );
        assert!(
            html.contains("Saved first: lives with mother"),
            "and what was saved is shown"
        );
        let saved = blocking(|| {
            jp_store::referrals::sections(&mut app.db.store.conn().unwrap(), id).unwrap()
        });
        assert_eq!(
            saved["family"].answers["family_details"],
            vec!["Saved first: lives with mother".to_owned()]
        );
    });
}
