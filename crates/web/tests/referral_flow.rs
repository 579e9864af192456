//! A referral from the child register to a booked meeting, as people use it
//! through the pages, and the bad input each step must refuse without losing
//! anything. Runs on SQLite and, when reachable, PostgreSQL.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::http::StatusCode;
use chrono::{Duration, NaiveDate};
use common::flow::*;
use common::*;
use jp_domain::Role;
use jp_domain::lifecycle::Status;
use jp_store::referrals;

#[test]
fn a_referral_goes_from_the_register_to_a_booked_meeting() {
    for app in TestApp::each_backend() {
        run_async(async {
            let referrer = app.login(Role::Referrer);
            let approver = app.login(Role::Approver);
            let child = add_child(&app, &referrer, "LC-20417", "943 476 5919").await;

            // The same NHS number again is a possible duplicate: warned, not saved.
            let mut again = kv(&[
                ("given_name", "Robyn"),
                ("family_name", "Ashdown"),
                ("local_id", "LC-20418"),
                ("nhs_number", "9434765919"),
                ("parental_responsibility", "Mother"),
                ("language_needs", "None"),
            ]);
            again.extend(date_fields(
                "date_of_birth",
                NaiveDate::from_ymd_opt(2015, 6, 14).unwrap(),
            ));
            let res = post(&app, "/children/new", &referrer, &again).await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                body_text(res)
                    .await
                    .contains("may be a child already on the register")
            );

            let panel_id = blocking(|| {
                jp_store::reference::panels::list(&mut app.db.store.conn().unwrap()).unwrap()[0].id
            });
            let res = post(
                &app,
                "/referrals/new",
                &referrer,
                &kv(&[
                    ("child_id", &child.to_string()),
                    ("panel_id", &panel_id.to_string()),
                ]),
            )
            .await;
            let id: i64 = location(&res)
                .trim_start_matches("/referrals/")
                .parse()
                .unwrap();

            // Sending an incomplete referral lists what is missing and changes nothing.
            let v = referral(&app, id).version.to_string();
            let res = post(
                &app,
                &format!("/referrals/{id}/send"),
                &referrer,
                &kv(&[("version", &v)]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let html = body_text(res).await;
            assert!(html.contains("govuk-error-summary"), "{html}");
            assert!(html.contains("Options and costs: add at least one option"));
            assert_eq!(referral(&app, id).status, Status::Draft);

            complete(&app, &referrer, id).await;
            let check = body_text(
                app.send(get(&format!("/referrals/{id}/check"), Some(&referrer)))
                    .await,
            )
            .await;
            assert!(check.contains("Moorside Therapeutic Care"));
            // £325.50 a day, 2 days a week: £651.00 weekly, £33,852.00 a year.
            assert!(check.contains("£651.00"), "{check}");
            assert!(check.contains("£33,852.00"), "{check}");

            // Submitting before approval is refused.
            let v = referral(&app, id).version.to_string();
            let res = post(
                &app,
                &format!("/referrals/{id}/submit"),
                &referrer,
                &kv(&[("version", &v)]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(referral(&app, id).status, Status::Draft);

            let res = post(
                &app,
                &format!("/referrals/{id}/send"),
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
            assert_eq!(referral(&app, id).status, Status::AwaitingApproval);

            // Even a referrer who is also an approver (a service manager who refers)
            // cannot approve their own referral; the attempt is audited.
            blocking(|| {
                let mut c = app.db.store.conn().unwrap();
                let email = jp_domain::Email::parse("referrer@northmoor.example").unwrap();
                let me = jp_store::accounts::find_by_email(&mut c, &email)
                    .unwrap()
                    .unwrap();
                c.execute(
                    "INSERT INTO user_roles (user_id, role) VALUES ($1, $2)",
                    &jp_store::params![me.id, Role::Approver.slug()],
                )
                .unwrap();
            });
            let v = referral(&app, id).version.to_string();
            let res = post(
                &app,
                &format!("/referrals/{id}/approval"),
                &referrer,
                &kv(&[("version", &v), ("decision", "approve")]),
            )
            .await;
            assert!(
                res.status() == StatusCode::UNPROCESSABLE_ENTITY
                    || res.status() == StatusCode::FORBIDDEN
            );
            assert_eq!(referral(&app, id).status, Status::AwaitingApproval);
            assert_eq!(audit_count(&app, "referral.self-approval-refused"), 1);

            // The approver sees it waiting, returns it with comments, then approves the resubmission.
            let list = body_text(app.send(get("/referrals", Some(&approver))).await).await;
            assert!(list.contains("Ashdown"), "{list}");
            let res = post(
                &app,
                &format!("/referrals/{id}/approval"),
                &approver,
                &kv(&[
                    ("version", &v),
                    ("decision", "return"),
                    ("comments", "Add the school's view"),
                ]),
            )
            .await;
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "{}",
                body_text(res).await
            );
            assert_eq!(referral(&app, id).status, Status::Returned);
            let v = referral(&app, id).version.to_string();
            let res = post(
                &app,
                &format!("/referrals/{id}/send"),
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
            let v = referral(&app, id).version.to_string();
            let res = post(
                &app,
                &format!("/referrals/{id}/approval"),
                &approver,
                &kv(&[("version", &v), ("decision", "approve")]),
            )
            .await;
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "{}",
                body_text(res).await
            );
            let r = referral(&app, id);
            assert_eq!(r.status, Status::Approved);
            assert!(r.approved_at.is_some());

            // A stale version is a conflict: nothing changes.
            let res = post(
                &app,
                &format!("/referrals/{id}/submit"),
                &referrer,
                &kv(&[("version", &v)]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::CONFLICT);

            let v = referral(&app, id).version.to_string();
            let res = post(
                &app,
                &format!("/referrals/{id}/submit"),
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
            let r = referral(&app, id);
            assert_eq!(r.status, Status::Booked);
            let meeting = r.meeting_date.unwrap();
            assert!(meeting > today());

            // The evidence downloads as an attachment, with its download audited.
            let att = blocking(|| {
                jp_store::attachments::of_referral(&mut app.db.store.conn().unwrap(), id).unwrap()
                    [0]
                .clone()
            });
            assert_eq!(att.file_name, "EHCP plan (final).pdf");
            let res = app
                .send(get(&format!("/attachments/{}", att.id), Some(&approver)))
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            let cd = res
                .headers()
                .get("content-disposition")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            assert!(cd.starts_with("attachment"), "{cd}");
            assert_eq!(
                res.headers().get("x-content-type-options").unwrap(),
                "nosniff"
            );
            assert!(audit_count(&app, "attachment.downloaded") >= 1);

            // Finance sees the money, not the narrative; nobody signed in sees nothing.
            let finance = app.login(Role::Finance);
            let res = app
                .send(get(&format!("/attachments/{}", att.id), Some(&finance)))
                .await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN);
            let res = app
                .send(get(&format!("/attachments/{}", att.id), None))
                .await;
            assert!(
                res.status() == StatusCode::SEE_OTHER || res.status() == StatusCode::UNAUTHORIZED
            );
        });
    }
}

#[test]
fn bad_input_on_the_referral_pages_is_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = jp_web::WebConfig {
        data_dir: dir.path().to_owned(),
        attachments: jp_store::attachments::Limits {
            max_bytes: 64 * 1024,
            max_unzipped_bytes: 10 * 1024 * 1024,
            ..Default::default()
        },
        ..Default::default()
    };
    let app = TestApp::with_config(jp_store::testing::sqlite(), config);
    run_async(async {
        let referrer = app.login(Role::Referrer);

        // An NHS number whose check digit is wrong, a UPN with the wrong check letter.
        let mut bad = kv(&[
            ("given_name", "Sam"),
            ("family_name", "Pellow"),
            ("local_id", "LC-1"),
            ("nhs_number", "943 476 5918"),
            ("upn", "A123456789012"),
            ("parental_responsibility", "Mother"),
            ("language_needs", "None"),
        ]);
        bad.extend(date_fields("date_of_birth", today() + Duration::days(3)));
        let res = post(&app, "/children/new", &referrer, &bad).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = body_text(res).await;
        assert!(html.contains("govuk-error-summary"));
        assert!(html.contains("NHS number"), "{html}");
        assert!(
            html.contains("UPN") || html.contains("pupil number"),
            "{html}"
        );
        assert!(html.contains("value=\"Pellow\""), "what was typed is kept");

        let id = new_referral(&app, &referrer, "LC-2").await;

        // A saved section survives a later bad save of the same section.
        let path = format!("/referrals/{id}/sections/family");
        let page = body_text(app.send(get(&path, Some(&referrer))).await).await;
        let mut fields = answers_for("family");
        fields.push(("version".into(), hidden(&page, "version")));
        assert_eq!(
            post(&app, &path, &referrer, &fields).await.status(),
            StatusCode::SEE_OTHER
        );
        let page = body_text(app.send(get(&path, Some(&referrer))).await).await;
        let fields = kv(&[
            ("family_details", ""),
            ("other_agencies", ""),
            ("version", &hidden(&page, "version")),
        ]);
        let res = post(&app, &path, &referrer, &fields).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let saved =
            blocking(|| referrals::sections(&mut app.db.store.conn().unwrap(), id).unwrap());
        let family = format!("{:?}", saved.get("family").unwrap().answers);
        assert!(family.contains("Answer to Family details"), "{family}");

        // An assessment dated in the future.
        let path = format!("/referrals/{id}/sections/assessments");
        let page = body_text(app.send(get(&path, Some(&referrer))).await).await;
        let mut fields = date_fields("csc_date", today() + Duration::days(30));
        fields.push(("version".into(), hidden(&page, "version")));
        let res = post(&app, &path, &referrer, &fields).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // Cost lines: an end before the start, an absurd cost, a quantity that is not a number.
        let res = post(
            &app,
            &format!("/referrals/{id}/options"),
            &referrer,
            &kv(&[
                ("provider", "Brookfield Care"),
                ("description", "Support worker"),
            ]),
        )
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let option_id =
            blocking(|| referrals::options(&mut app.db.store.conn().unwrap(), id).unwrap()[0].id)
                .to_string();
        for (cost, qty, end_offset, expect) in [
            ("20.00", "10", -5, "end"),
            ("99999999999", "1", 30, "cost"),
            ("20.00", "lots", 30, "quantity"),
            ("-4", "1", 30, "cost"),
        ] {
            let start = today() + Duration::days(10);
            let mut line = kv(&[
                ("option_id", &option_id),
                ("item", "Support"),
                ("unit_cost", cost),
                ("unit", "per-hour"),
                ("quantity", qty),
            ]);
            line.extend(date_fields("start", start));
            line.extend(date_fields("end", start + Duration::days(end_offset)));
            let res = post(
                &app,
                &format!("/referrals/{id}/options/lines"),
                &referrer,
                &line,
            )
            .await;
            assert_eq!(
                res.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{cost} {qty} {end_offset}"
            );
            let html = body_text(res).await.to_lowercase();
            assert!(
                html.contains("govuk-error-summary") && html.contains(expect),
                "{expect}: {html}"
            );
        }
        let lines = blocking(|| {
            referrals::options(&mut app.db.store.conn().unwrap(), id).unwrap()[0]
                .lines
                .len()
        });
        assert_eq!(lines, 0);

        // A program renamed .pdf, an oversize file, a DOCX that is a zip bomb.
        let res = app
            .send(post_file(
                &format!("/referrals/{id}/evidence"),
                &referrer,
                "report.pdf",
                b"MZ\x90\x00\x03\x00\x00\x00 this is a program",
            ))
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body_text(res).await.contains("govuk-error-summary"));
        let big = vec![b'%'; 65 * 1024];
        let mut big_pdf = b"%PDF-1.7\n".to_vec();
        big_pdf.extend_from_slice(&big);
        let res = app
            .send(post_file(
                &format!("/referrals/{id}/evidence"),
                &referrer,
                "big.pdf",
                &big_pdf,
            ))
            .await;
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let bomb = {
            use std::io::Write;
            let mut buf = std::io::Cursor::new(Vec::new());
            let mut z = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .large_file(true);
            z.start_file("[Content_Types].xml", opts).unwrap();
            z.write_all(b"<Types/>").unwrap();
            z.start_file("word/document.xml", opts).unwrap();
            let zeros = vec![0u8; 1024 * 1024];
            for _ in 0..20 {
                z.write_all(&zeros).unwrap();
            }
            z.finish().unwrap();
            buf.into_inner()
        };
        assert!(
            bomb.len() < 64 * 1024,
            "the bomb itself is small: {}",
            bomb.len()
        );
        let res = app
            .send(post_file(
                &format!("/referrals/{id}/evidence"),
                &referrer,
                "plan.docx",
                &bomb,
            ))
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let n = blocking(|| {
            jp_store::attachments::of_referral(&mut app.db.store.conn().unwrap(), id)
                .unwrap()
                .len()
        });
        assert_eq!(n, 0);
        assert!(audit_count(&app, "attachment.refused") >= 2);

        // Someone else's referral: another team's referrer cannot open it.
        let member = app.login(Role::Member);
        let res = app
            .send(get(
                &format!("/referrals/{id}/sections/family"),
                Some(&member),
            ))
            .await;
        assert!(res.status() == StatusCode::FORBIDDEN || res.status() == StatusCode::NOT_FOUND);
    });
}
