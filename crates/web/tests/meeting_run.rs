//! Running a meeting: circulation only after the agenda's approval, attendance
//! with a deputy checked against the agency, minutes and conflicts per item,
//! an absent agency's recommendation with its action and e-mail, closing only
//! when every item is considered, the chair's approval issuing the minutes,
//! the agency's response (and none after the referral's withdrawal), actions
//! on the home page, marked done, and chased once a day.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::http::StatusCode;
use common::flow::*;
use common::*;
use jp_domain::Role;
use jp_store::db::Conn;
use jp_store::meeting_run;

fn conn(app: &TestApp) -> Conn {
    app.db.store.conn().unwrap()
}

fn version_of(app: &TestApp, meeting: i64) -> String {
    blocking(|| {
        jp_store::meetings::get(&mut conn(app), meeting)
            .unwrap()
            .unwrap()
            .version
            .to_string()
    })
}

/// The agency ids of the meeting's panel, by name.
fn agency(app: &TestApp, meeting: i64, name: &str) -> i64 {
    blocking(|| {
        let mut c = conn(app);
        let m = jp_store::meetings::get(&mut c, meeting).unwrap().unwrap();
        meeting_run::seats(&mut c, m.panel_id)
            .unwrap()
            .into_iter()
            .find(|s| s.agency_name.starts_with(name))
            .unwrap()
            .agency_id
    })
}

fn user_id(app: &TestApp, email: &str) -> i64 {
    blocking(|| {
        conn(app)
            .query_one(
                "SELECT id FROM users WHERE email = $1",
                &jp_store::params![email],
            )
            .unwrap()
            .get(0)
            .unwrap()
    })
}

fn outbox_about(app: &TestApp, kind: &str) -> Vec<String> {
    blocking(|| {
        conn(app)
            .query(
                "SELECT to_address FROM outbox WHERE kind = $1 ORDER BY id",
                &jp_store::params![kind],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0).unwrap())
            .collect()
    })
}

async fn expect(res: axum::http::Response<axum::body::Body>, status: StatusCode, says: &str) {
    let got = res.status();
    let body = body_text(res).await;
    assert_eq!(got, status, "{body}");
    assert!(body.contains(says), "expected “{says}” in {body}");
}

#[test]
#[allow(clippy::too_many_lines)]
fn a_meeting_is_run_from_circulation_to_the_absent_agencys_response() {
    for app in TestApp::each_backend() {
        run_async(async {
            let ours = booked(&app, "MR-1").await;
            let meeting = referral(&app, ours).meeting_id.unwrap();
            let admin = app.login(Role::Administrator);
            let chair = app.login(Role::Chair);
            let m = format!("/meetings/{meeting}");

            // Circulating before the chair approves the agenda is refused.
            let v = version_of(&app, meeting);
            expect(
                post(
                    &app,
                    &format!("{m}/circulate"),
                    &admin,
                    &kv(&[("version", &v)]),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "before the chair approves the agenda",
            )
            .await;
            // The agenda page places the bookings; the chair approves.
            app.send(get(&format!("{m}/agenda"), Some(&admin))).await;
            let v = version_of(&app, meeting);
            let res = post(
                &app,
                &format!("{m}/agenda/approve"),
                &chair,
                &kv(&[("version", &v)]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            // A member cannot circulate; the administrator can, then start.
            let member = app.login(Role::Member);
            let v = version_of(&app, meeting);
            let res = post(
                &app,
                &format!("{m}/circulate"),
                &member,
                &kv(&[("version", &v)]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN);
            for step in ["circulate", "start"] {
                let v = version_of(&app, meeting);
                let res = post(
                    &app,
                    &format!("{m}/{step}"),
                    &admin,
                    &kv(&[("version", &v)]),
                )
                .await;
                assert_eq!(
                    res.status(),
                    StatusCode::SEE_OTHER,
                    "{step}: {}",
                    body_text(res).await
                );
            }
            assert_eq!(
                audit_count(&app, "meeting.in-progress"),
                2,
                "the demo's past meeting and this one"
            );

            // The pack is built in the background: one PDF, every page stamped for its reader.
            // (The demo's own meetings have packs queued too.)
            let mut built = 0;
            while jp_web::pack::build_next(&app.state).await.unwrap() {
                built += 1;
            }
            assert_eq!(
                built, 3,
                "the demo's two packs and this one, each built once"
            );
            let copies = outbox_about(&app, "pack.circulated");
            assert!(
                copies.contains(&"member@northmoor-dale-icb.example".to_owned()),
                "{copies:?}"
            );
            let page = body_text(app.send(get(&format!("{m}/papers"), Some(&member))).await).await;
            assert!(page.contains("Download your copy"), "{page}");
            let res = app
                .send(get(&format!("{m}/papers/pack.pdf"), Some(&member)))
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            let pdf = axum::body::to_bytes(res.into_body(), usize::MAX)
                .await
                .unwrap();
            let member_name: String = blocking(|| {
                conn(&app)
                    .query_one(
                        "SELECT name FROM users WHERE email = 'member@northmoor-dale-icb.example'",
                        &[],
                    )
                    .unwrap()
                    .get(0)
                    .unwrap()
            });
            let texts = jp_documents::page_texts(&pdf).unwrap();
            assert!(
                texts.len() >= 3,
                "agenda and two referrals: {}",
                texts.len()
            );
            for (n, t) in texts.iter().enumerate() {
                assert!(
                    t.contains(jp_documents::MARKING) && t.contains(&member_name),
                    "page {}: {t}",
                    n + 1
                );
            }
            assert!(texts[0].contains("Agenda"), "{}", texts[0]);
            let referrer = app.login(Role::Referrer);
            let res = app
                .send(get(&format!("{m}/papers/pack.pdf"), Some(&referrer)))
                .await;
            assert_eq!(
                res.status(),
                StatusCode::FORBIDDEN,
                "only the panel's people"
            );
            assert_eq!(audit_count(&app, "pack.downloaded"), 1);

            // Closing with items not minuted is refused.
            let v = version_of(&app, meeting);
            expect(
                post(&app, &format!("{m}/close"), &admin, &kv(&[("version", &v)])).await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Every item must be minuted",
            )
            .await;

            // Attendance: a deputy for an agency they were not named for is refused, nothing saved.
            let csc = agency(&app, meeting, "Children's Social Care");
            let dale = agency(&app, meeting, "ICB — Dale");
            let north = agency(&app, meeting, "ICB — Northmoor");
            let anika = user_id(&app, "anika.sorensen@northmoor-dale-icb.example");
            let (p_csc, a_csc) = (format!("presence-{csc}"), format!("attendee-{csc}"));
            expect(
                post(
                    &app,
                    &format!("{m}/attendance"),
                    &admin,
                    &kv(&[(&p_csc, "deputy"), (&a_csc, &anika.to_string())]),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "is not a named deputy for Children&#39;s Social Care",
            )
            .await;
            let recorded: i64 = blocking(|| {
                conn(&app)
                    .query_one(
                        "SELECT COUNT(*) FROM attendance WHERE meeting_id = $1",
                        &jp_store::params![meeting],
                    )
                    .unwrap()
                    .get(0)
                    .unwrap()
            });
            assert_eq!(recorded, 0, "nothing saved from a refused page");
            // Every agency present, ICB North by its deputy, ICB Dale absent.
            let seats = blocking(|| {
                let mut c = conn(&app);
                let mm = jp_store::meetings::get(&mut c, meeting).unwrap().unwrap();
                meeting_run::seats(&mut c, mm.panel_id).unwrap()
            });
            let mut fields = Vec::new();
            for s in &seats {
                let (presence, who) = if s.agency_id == dale {
                    ("absent", String::new())
                } else if s.agency_id == north {
                    ("deputy", anika.to_string())
                } else {
                    ("present", s.members[0].0.to_string())
                };
                fields.push((format!("presence-{}", s.agency_id), presence.to_owned()));
                fields.push((format!("attendee-{}", s.agency_id), who));
            }
            let res = post(&app, &format!("{m}/attendance"), &admin, &fields).await;
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "{}",
                body_text(res).await
            );
            let page = body_text(
                app.send(get(&format!("{m}/attendance"), Some(&member)))
                    .await,
            )
            .await;
            assert!(page.contains("Anika Sorensen"), "{page}");

            let items = blocking(|| jp_store::agenda::items(&mut conn(&app), meeting).unwrap());
            assert_eq!(items.len(), 2);
            let (first, second) = (items[0].id.to_string(), items[1].id.to_string());
            // Considering before the minute is written is refused.
            let aff = format!("affected-{first}");
            expect(
                post(
                    &app,
                    &format!("{m}/minutes/consider"),
                    &admin,
                    &kv(&[("item_id", &first), (&aff, &csc.to_string())]),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Write the item&#39;s minute",
            )
            .await;
            for it in [&first, &second] {
                let res = post(
                    &app,
                    &format!("{m}/minutes/item"),
                    &admin,
                    &kv(&[
                        ("item_id", it),
                        (
                            &format!("minute-{it}"),
                            "The panel heard the referrer.\nIt agreed the recommended option.",
                        ),
                        (&format!("attended-{it}"), "yes"),
                        (&format!("lead-{it}"), ""),
                    ]),
                )
                .await;
                assert_eq!(
                    res.status(),
                    StatusCode::SEE_OTHER,
                    "{}",
                    body_text(res).await
                );
            }
            // A conflict declared by a member; a stranger cannot declare one.
            let oliver = user_id(&app, "oliver.brennan@northmoor.example");
            let referrer_id = user_id(&app, "referrer@northmoor.example");
            let (cp, ci) = (
                format!("conflict-person-{first}"),
                format!("interest-{first}"),
            );
            expect(
                post(
                    &app,
                    &format!("{m}/minutes/conflict"),
                    &admin,
                    &kv(&[
                        ("item_id", &first),
                        (&cp, &referrer_id.to_string()),
                        (&ci, "Knows the family"),
                    ]),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Only a member or a named deputy",
            )
            .await;
            let res = post(
                &app,
                &format!("{m}/minutes/conflict"),
                &admin,
                &kv(&[
                    ("item_id", &first),
                    (&cp, &oliver.to_string()),
                    (&ci, "Manages the school placement"),
                ]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);

            // Item 1 affects Children's Social Care and ICB Dale (absent): a recommendation to Dale.
            let res = post(
                &app,
                &format!("{m}/minutes/consider"),
                &admin,
                &[
                    ("item_id".to_owned(), first.clone()),
                    (aff.clone(), csc.to_string()),
                    (aff.clone(), dale.to_string()),
                ],
            )
            .await;
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "{}",
                body_text(res).await
            );
            let recs = blocking(|| {
                jp_store::actions::recommendations_of_meeting(&mut conn(&app), meeting).unwrap()
            });
            assert_eq!(recs.len(), 1);
            assert_eq!(
                (recs[0].agency_id, recs[0].status.as_str()),
                (dale, "awaiting")
            );
            assert!(
                recs[0].due_date > recs[0].meeting_date,
                "due working days after the meeting"
            );
            assert_eq!(
                outbox_about(&app, "recommendation.sent"),
                vec!["niamh.corrigan@northmoor-dale-icb.example"]
            );
            // Item 2 affects Dale too; its referral is withdrawn afterwards.
            let aff2 = format!("affected-{second}");
            let res = post(
                &app,
                &format!("{m}/minutes/consider"),
                &admin,
                &kv(&[("item_id", &second), (&aff2, &dale.to_string())]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            expect(
                post(
                    &app,
                    &format!("{m}/minutes/consider"),
                    &admin,
                    &kv(&[("item_id", &second), (&aff2, &dale.to_string())]),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "already been considered",
            )
            .await;
            let withdrawn_ref = items[1].referral_id.unwrap();
            assert_eq!(
                referral(&app, withdrawn_ref).status,
                jp_domain::lifecycle::Status::Considered
            );

            // An action for the ICB North member from the minutes.
            let member_id = user_id(&app, "member@northmoor-dale-icb.example");
            let due = today() + chrono::Duration::days(14);
            let mut f = kv(&[
                ("action-item", &first),
                ("action-title", "Confirm the therapy provider's start date"),
                ("action-owner", &member_id.to_string()),
            ]);
            f.extend(date_fields("action-due", due));
            let res = post(&app, &format!("{m}/actions"), &admin, &f).await;
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "{}",
                body_text(res).await
            );
            let home = body_text(app.send(get("/", Some(&member))).await).await;
            assert!(home.contains("Confirm the therapy provider"), "{home}");

            // Close, then the chair approves the minutes, which issues them.
            let v = version_of(&app, meeting);
            let res = post(&app, &format!("{m}/close"), &admin, &kv(&[("version", &v)])).await;
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "{}",
                body_text(res).await
            );
            // The member's copy ends with the meeting (and the referral's papers with it); the chair's remains.
            expect(
                app.send(get(&format!("{m}/papers/pack.pdf"), Some(&member)))
                    .await,
                StatusCode::GONE,
                "your access to its papers has ended",
            )
            .await;
            let res = app
                .send(get(&format!("/referrals/{ours}"), Some(&member)))
                .await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN);
            let res = app
                .send(get(&format!("{m}/papers/pack.pdf"), Some(&chair)))
                .await;
            assert_eq!(
                res.status(),
                StatusCode::OK,
                "the chair's copy is the record"
            );
            let v = version_of(&app, meeting);
            let res = post(
                &app,
                &format!("{m}/minutes/approve"),
                &admin,
                &kv(&[("version", &v)]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "only a chair");
            let res = post(
                &app,
                &format!("{m}/minutes/approve"),
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
            let approval = blocking(|| {
                meeting_run::minutes_approval(&mut conn(&app), meeting)
                    .unwrap()
                    .unwrap()
            });
            // The minutes as a PDF, stamped for the reader.
            let res = app
                .send(get(&format!("{m}/minutes.pdf"), Some(&member)))
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            let pdf = axum::body::to_bytes(res.into_body(), usize::MAX)
                .await
                .unwrap();
            let text = jp_documents::page_texts(&pdf).unwrap().join("\n");
            assert!(
                text.contains("It agreed the recommended option")
                    && text.contains("Absent")
                    && text.contains(jp_documents::MARKING),
                "{text}"
            );
            assert!(approval.on_time());
            let issued = outbox_about(&app, "meeting.minutes-issued");
            assert!(
                issued.len() >= 9,
                "members, deputies and administrators: {issued:?}"
            );
            let page = body_text(app.send(get(&format!("{m}/minutes"), Some(&member))).await).await;
            assert!(page.contains("Approved by Helen Okafor"), "{page}");
            assert!(page.contains("Manages the school placement"), "{page}");
            // After approval the minutes are fixed.
            expect(
                post(
                    &app,
                    &format!("{m}/minutes/item"),
                    &admin,
                    &kv(&[("item_id", &first), (&format!("minute-{first}"), "Changed")]),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "approved this meeting&#39;s minutes",
            )
            .await;

            // The absent agency responds: not another agency's member; a reason to reject.
            let rec = format!("/recommendations/{}", recs[0].id);
            let rv = recs[0].version.to_string();
            expect(
                post(
                    &app,
                    &rec,
                    &member,
                    &kv(&[("version", &rv), ("response", "accept")]),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "Only ICB — Dale locality",
            )
            .await;
            let niamh = app.login_as("niamh.corrigan@northmoor-dale-icb.example");
            let home = body_text(app.send(get("/", Some(&niamh))).await).await;
            assert!(
                home.contains("Recommendation to ICB — Dale locality"),
                "{home}"
            );
            expect(
                post(
                    &app,
                    &rec,
                    &niamh,
                    &kv(&[("version", &rv), ("response", "reject"), ("reason", "  ")]),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "reason for rejecting",
            )
            .await;
            let res = post(
                &app,
                &rec,
                &niamh,
                &kv(&[
                    ("version", &rv),
                    ("response", "accept"),
                    ("reason", "Agreed by the locality lead"),
                ]),
            )
            .await;
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "{}",
                body_text(res).await
            );
            let r = blocking(|| {
                jp_store::actions::recommendation(&mut conn(&app), recs[0].id)
                    .unwrap()
                    .unwrap()
            });
            assert_eq!(r.status, "accepted");
            let open: i64 = blocking(|| {
                conn(&app)
                    .query_one("SELECT COUNT(*) FROM actions WHERE recommendation_id = $1 AND status = 'open'", &jp_store::params![r.id])
                    .unwrap()
                    .get(0)
                    .unwrap()
            });
            assert_eq!(open, 0, "the response completes the agency's action");

            // The second referral is withdrawn: its recommendation lapses and a response is refused.
            let referrer = app.login(Role::Referrer);
            let v = referral(&app, withdrawn_ref).version.to_string();
            let res = post(
                &app,
                &format!("/referrals/{withdrawn_ref}/withdraw"),
                &referrer,
                &kv(&[("version", &v)]),
            )
            .await;
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "{}",
                body_text(res).await
            );
            let lapsed = blocking(|| {
                jp_store::actions::recommendations_of_referral(&mut conn(&app), withdrawn_ref)
                    .unwrap()
            });
            assert_eq!(lapsed[0].status, "withdrawn");
            let lv = lapsed[0].version.to_string();
            expect(
                post(
                    &app,
                    &format!("/recommendations/{}", lapsed[0].id),
                    &niamh,
                    &kv(&[("version", &lv), ("response", "accept")]),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "withdrawn",
            )
            .await;

            // The member marks their action done; someone else cannot.
            let action =
                blocking(|| jp_store::actions::of_owner(&mut conn(&app), member_id).unwrap())
                    .into_iter()
                    .find(|a| a.title.starts_with("Confirm"))
                    .unwrap();
            let av = action.version.to_string();
            let res = post(
                &app,
                &format!("/actions/{}/done", action.id),
                &niamh,
                &kv(&[("version", &av)]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let res = post(
                &app,
                &format!("/actions/{}/done", action.id),
                &member,
                &kv(&[("version", &av)]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            assert!(audit::verify_intact(&app));
        });
    }
}

#[test]
fn overdue_actions_are_chased_once_a_working_day() {
    for app in TestApp::each_backend() {
        run_async(async {
            let owner = user_id(&app, "member@northmoor-dale-icb.example");
            // A Monday that is not a bank holiday, and the Friday before it.
            let friday = chrono::NaiveDate::from_ymd_opt(2031, 3, 7).unwrap();
            let monday = chrono::NaiveDate::from_ymd_opt(2031, 3, 10).unwrap();
            blocking(|| {
                let mut c = conn(&app);
                // Only this test's action is open (the demo's are settled).
                c.execute("UPDATE actions SET status = 'done'", &[])
                    .unwrap();
                let mut tx = c.begin().unwrap();
                jp_store::actions::create(
                    &mut tx,
                    &jp_store::Actor::system("test"),
                    &jp_store::actions::NewAction {
                        title: "Send the updated care plan".into(),
                        owner_id: owner,
                        due: friday,
                        source: jp_store::actions::Source::Minute,
                        meeting_id: None,
                        item_id: None,
                        referral_id: None,
                        recommendation_id: None,
                    },
                )
                .unwrap();
                tx.commit().unwrap();
            });
            let chase = |day| {
                blocking(|| {
                    jp_web::jobs::chase_actions(&app.db.store, "http://127.0.0.1:8080", day)
                        .unwrap()
                })
            };
            assert_eq!(chase(friday - chrono::Duration::days(1)), 0, "not due yet");
            assert_eq!(chase(friday), 1, "reminded on the day it is due");
            assert_eq!(chase(friday), 0, "once a day, however often the job runs");
            assert_eq!(
                chase(friday + chrono::Duration::days(1)),
                0,
                "not on a Saturday"
            );
            assert_eq!(chase(monday), 1, "overdue: chased again");
            let subjects: Vec<String> = blocking(|| {
                conn(&app)
                    .query(
                        "SELECT subject FROM outbox WHERE kind = 'action.chased' ORDER BY id",
                        &[],
                    )
                    .unwrap()
                    .iter()
                    .map(|r| r.get(0).unwrap())
                    .collect()
            });
            assert_eq!(
                subjects,
                vec![
                    "Reminder: an action is due today".to_owned(),
                    "Overdue action: due 7 March 2031".to_owned()
                ]
            );
        });
    }
}

mod audit {
    use super::*;
    pub fn verify_intact(app: &TestApp) -> bool {
        blocking(|| {
            matches!(
                jp_store::audit::verify(&mut conn(app)).unwrap(),
                jp_store::audit::Verdict::Intact { .. }
            )
        })
    }
}
