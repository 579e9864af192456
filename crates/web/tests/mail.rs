//! E-mail through the outbox to a real SMTP conversation: the moves of a
//! referral queue their messages in the same transaction, the worker sends
//! them, a temporary refusal is retried later, a permanent one fails, is
//! audited and can be sent again from the outbox page.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::http::StatusCode;
use common::flow::*;
use common::smtp::{Mode, SmtpSink};
use common::*;
use jp_domain::Role;
use jp_domain::lifecycle::Status;
use jp_store::outbox;

fn mails(app: &TestApp) -> Vec<outbox::Mail> {
    blocking(|| outbox::list(&mut app.db.store.conn().unwrap(), None, None, 1000).unwrap())
}

fn send_due(app: &TestApp, mailer: &jp_web::mail::Mailer) -> usize {
    blocking(|| mailer.send_due(&app.db.store).unwrap())
}

/// Makes every waiting message due now (the backoff has "passed").
fn time_passes(app: &TestApp) {
    blocking(|| {
        app.db
            .store
            .conn()
            .unwrap()
            .execute(
                "UPDATE outbox SET next_attempt_at = $1 WHERE status = 'pending'",
                &jp_store::params![
                    chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
                        .unwrap()
                        .and_hms_opt(0, 0, 0)
                        .unwrap()
                ],
            )
            .unwrap()
    });
}

#[test]
fn referral_moves_send_e_mail_that_survives_refusals() {
    for app in TestApp::each_backend() {
        run_async(async {
            let sink = SmtpSink::start();
            let mailer =
                jp_web::mail::Mailer::new(&sink.url(), "Joint Panel <panel@northmoor.example>")
                    .unwrap();
            let referrer = app.login(Role::Referrer);
            let approver = app.login(Role::Approver);
            let id = new_referral(&app, &referrer, "LC-30001").await;
            complete(&app, &referrer, id).await;
            assert!(mails(&app).is_empty(), "drafting sends nothing");

            // Sent for approval: the approver of the referrer's team is told.
            let v = referral(&app, id).version.to_string();
            let res = post(
                &app,
                &format!("/referrals/{id}/send"),
                &referrer,
                &kv(&[("version", &v)]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            let queued = mails(&app);
            assert_eq!(queued.len(), 1, "{queued:?}");
            assert_eq!(queued[0].to_address, "approver@northmoor.example");
            assert_eq!(send_due(&app, &mailer), 1);
            let got = sink.messages();
            assert_eq!(got.len(), 1);
            assert!(got[0].to[0].contains("approver@northmoor.example"));
            assert!(
                got[0]
                    .data
                    .contains("Subject: Referral LC-30001 is waiting for your approval"),
                "{}",
                got[0].data
            );
            assert!(got[0].data.contains(&format!("/referrals/{id}")));
            assert!(
                !got[0].data.contains("Ashdown"),
                "no child's name in e-mail"
            );
            assert_eq!(mails(&app)[0].status, "sent");

            // Approved while the mail server refuses for now: retried after the backoff.
            sink.set_mode(Mode::TemporaryFailure);
            let v = referral(&app, id).version.to_string();
            let res = post(
                &app,
                &format!("/referrals/{id}/approval"),
                &approver,
                &kv(&[("version", &v), ("decision", "approve")]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            assert_eq!(send_due(&app, &mailer), 0);
            let m = mails(&app)
                .into_iter()
                .find(|m| m.kind == "referral.approval-decided")
                .unwrap();
            assert_eq!((m.status.as_str(), m.attempts), ("pending", 1));
            assert!(
                m.last_error.as_deref().unwrap_or("").contains("451"),
                "{:?}",
                m.last_error
            );
            assert_eq!(
                send_due(&app, &mailer),
                0,
                "not due again before its backoff"
            );
            sink.set_mode(Mode::Accept);
            time_passes(&app);
            assert_eq!(send_due(&app, &mailer), 1);
            assert!(
                sink.messages()
                    .iter()
                    .any(|r| r.data.contains("was approved"))
            );

            // A stale submission is refused and queues nothing.
            let before = mails(&app).len();
            let res = post(
                &app,
                &format!("/referrals/{id}/submit"),
                &referrer,
                &kv(&[("version", "1")]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::CONFLICT);
            assert_eq!(mails(&app).len(), before);

            // Booked: the referrer and the administrators; a permanent refusal fails at once.
            sink.set_mode(Mode::PermanentFailure);
            let v = referral(&app, id).version.to_string();
            let res = post(
                &app,
                &format!("/referrals/{id}/submit"),
                &referrer,
                &kv(&[("version", &v)]),
            )
            .await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            assert_eq!(referral(&app, id).status, Status::Booked);
            let booked: Vec<_> = mails(&app)
                .into_iter()
                .filter(|m| m.kind == "referral.booked")
                .collect();
            assert!(
                booked
                    .iter()
                    .any(|m| m.to_address == "referrer@northmoor.example")
            );
            assert!(
                booked
                    .iter()
                    .any(|m| m.to_address == "administrator@northmoor.example"),
                "{booked:?}"
            );
            send_due(&app, &mailer);
            let failed: Vec<_> = mails(&app)
                .into_iter()
                .filter(|m| m.status == "failed")
                .collect();
            assert_eq!(failed.len(), booked.len());
            assert!(audit_count(&app, "mail.failed") >= 1);

            // The administrator sees the failure and sends it again.
            let admin = app.login(Role::Administrator);
            let page = body_text(
                app.send(get("/admin/outbox?status=failed", Some(&admin)))
                    .await,
            )
            .await;
            assert!(page.contains("Failed") && page.contains("550"), "{page}");
            let res = app
                .send(post_form(
                    "/admin/outbox/retry",
                    Some(&admin),
                    &[
                        ("_csrf", &admin.csrf),
                        ("mail_id", &failed[0].id.to_string()),
                    ],
                ))
                .await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            let res = app
                .send(post_form(
                    "/admin/outbox/retry",
                    Some(&admin),
                    &[
                        ("_csrf", &admin.csrf),
                        ("mail_id", &failed[0].id.to_string()),
                    ],
                ))
                .await;
            assert_eq!(
                res.status(),
                StatusCode::CONFLICT,
                "only a failed message can be sent again"
            );
            sink.set_mode(Mode::Accept);
            assert_eq!(send_due(&app, &mailer), 1);
            assert_eq!(audit_count(&app, "mail.retried"), 1);
            let res = app
                .send(send_json(
                    "POST",
                    &format!("/api/v1/outbox/{}/retry", failed[1].id),
                    Some(&admin),
                    "",
                ))
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            let res = app
                .send(get("/api/v1/outbox?status=sent", Some(&admin)))
                .await;
            let v: serde_json::Value = serde_json::from_str(&body_text(res).await).unwrap();
            assert!(v.as_array().unwrap().len() >= 3);
        });
    }
}
