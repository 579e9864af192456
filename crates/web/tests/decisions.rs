//! Decisions and funding agreements (issue 6), on both backends: every bad
//! input of the issue refused with its message and nothing saved; a 60/40
//! apportionment signed off by the chair; a provisional letter while an
//! absent agency has not accepted, then the final one; no edit after
//! sign-off; a linked correction; variations; closure with a reason; a
//! commitment above the delegated authority pending until the higher
//! authority's agreement is recorded; a deferral rebooked on the next meeting.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::http::StatusCode;
use chrono::Duration;
use common::flow::*;
use common::*;
use jp_domain::Role;
use jp_domain::lifecycle::Status;
use jp_domain::meeting_lifecycle::Presence;
use jp_store::Actor;
use jp_store::db::Conn;
use jp_store::{agreements, decisions, meeting_run, params};
use serde_json::{Value, json};

fn conn(app: &TestApp) -> Conn {
    app.db.store.conn().unwrap()
}

fn id_of(app: &TestApp, sql: &str, name: &str) -> i64 {
    blocking(|| {
        conn(app)
            .query_one(sql, &params![name])
            .unwrap()
            .get(0)
            .unwrap()
    })
}

fn org(app: &TestApp, name: &str) -> i64 {
    id_of(app, "SELECT id FROM organisations WHERE name LIKE $1", name)
}

fn agency(app: &TestApp, name: &str) -> i64 {
    id_of(app, "SELECT id FROM agencies WHERE name LIKE $1", name)
}

fn user(app: &TestApp, email: &str) -> i64 {
    id_of(app, "SELECT id FROM users WHERE email = $1", email)
}

fn count(app: &TestApp, sql: &str) -> i64 {
    blocking(|| conn(app).query_one(sql, &[]).unwrap().get(0).unwrap())
}

/// Holds the referral's meeting (agenda approved, papers circulated, started),
/// with every agency present except those whose names start with one of
/// `absent`, and marks the item considered.
fn hold_meeting(app: &TestApp, referral_id: i64, absent: &[&str]) {
    blocking(|| {
        let mut c = conn(app);
        let r = jp_store::referrals::get(&mut c, referral_id)
            .unwrap()
            .unwrap();
        let m = jp_store::meetings::get(&mut c, r.meeting_id.unwrap())
            .unwrap()
            .unwrap();
        let panel = jp_store::reference::panels::get(&mut c, m.panel_id)
            .unwrap()
            .unwrap();
        let chair = jp_store::referrals::chairs_of(&mut c, panel.id).unwrap()[0].clone();
        let as_chair = Actor::user(chair.id, "chair");
        let as_admin = Actor::user(user(app, "administrator@northmoor.example"), "admin");
        let mut tx = c.begin().unwrap();
        let v = |tx: &mut jp_store::db::Tx<'_>| {
            jp_store::meetings::get(tx, m.id).unwrap().unwrap().version
        };
        jp_store::agenda::sync(&mut tx, &m, &panel).unwrap();
        let ver = v(&mut tx);
        jp_store::agenda::approve(&mut tx, &as_chair, &chair, m.id, ver).unwrap();
        let ver = v(&mut tx);
        meeting_run::circulate(&mut tx, &as_admin, m.id, ver, today()).unwrap();
        let ver = v(&mut tx);
        meeting_run::start(&mut tx, &as_admin, m.id, ver).unwrap();
        for seat in meeting_run::seats(&mut tx, panel.id).unwrap() {
            let away = absent.iter().any(|a| seat.agency_name.starts_with(a));
            let (presence, who) = if away {
                (Presence::Absent, None)
            } else {
                (Presence::Present, seat.members.first().map(|x| x.0))
            };
            meeting_run::record_attendance(&mut tx, &as_admin, m.id, seat.agency_id, presence, who)
                .unwrap();
        }
        let item = jp_store::agenda::items(&mut tx, m.id)
            .unwrap()
            .into_iter()
            .find(|i| i.referral_id == Some(referral_id))
            .unwrap();
        meeting_run::save_minute(&mut tx, &as_admin, m.id, item.id, "Discussed.").unwrap();
        let csc = meeting_run::seats(&mut tx, panel.id)
            .unwrap()
            .into_iter()
            .find(|s| s.agency_name.starts_with("Children"))
            .unwrap()
            .agency_id;
        meeting_run::consider(&mut tx, &as_admin, m.id, item.id, &[csc], today()).unwrap();
        tx.commit().unwrap();
    });
    assert_eq!(referral(app, referral_id).status, Status::Considered);
}

async fn json_of(res: axum::http::Response<axum::body::Body>) -> (StatusCode, Value) {
    let status = res.status();
    let body = body_text(res).await;
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

async fn api(
    app: &TestApp,
    method: &str,
    path: &str,
    who: &Login,
    body: &Value,
) -> (StatusCode, Value) {
    json_of(
        app.send(send_json(method, path, Some(who), &body.to_string()))
            .await,
    )
    .await
}

fn iso(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A complete decision body: the recommended option, LA 60 / ICB 40.
fn decision_body(app: &TestApp, referral_id: i64) -> Value {
    let r = referral(app, referral_id);
    let start = today() + Duration::days(60);
    json!({
        "outcome": "agreed-as-recommended",
        "option_id": r.recommended_option_id.unwrap(),
        "rationale": "The short breaks meet the child's assessed health and care needs and keep the family together.",
        "needs": ["health", "care"],
        "lead_agency_id": agency(app, "Children%"),
        "key_worker_id": user(app, "referrer@northmoor.example"),
        "review_date": iso(start + Duration::days(180)),
        "expectations": [{"what": "Report the first month's progress to the panel", "due": iso(start + Duration::days(30))}],
        "provider": "Moorside Therapeutic Care",
        "contract_agency_id": agency(app, "Commissioning%"),
        "direct_payment": false,
        "start": iso(start),
        "end": iso(start + Duration::days(364)),
        "shares": [
            {"organisation_id": org(app, "Northmoor County%"), "percent": "60"},
            {"organisation_id": org(app, "Northmoor and Dale%"), "percent": "40"}
        ]
    })
}

fn problem_says(v: &Value, says: &str) -> bool {
    v.to_string().contains(says)
}

#[test]
#[allow(clippy::too_many_lines)]
fn a_decision_is_signed_off_apportioned_lettered_corrected_varied_and_closed() {
    for app in TestApp::each_backend() {
        run_async(async {
            let id = booked(&app, "DEC-1").await;
            // Both ICB localities are absent: the ICB pays 40%, so it is affected.
            hold_meeting(&app, id, &["ICB"]);
            let admin = app.login(Role::Administrator);
            let chair = app.login(Role::Chair);
            let referrer = app.login(Role::Referrer);
            let base = decision_body(&app, id);
            let create = format!("/api/v1/referrals/{id}/decisions");

            // Every bad input is refused with its message, and nothing is saved.
            let bad = |change: Value| {
                let mut b = base.clone();
                for (k, v) in change.as_object().unwrap() {
                    b[k] = v.clone();
                }
                b
            };
            let la = org(&app, "Northmoor County%");
            let icb = org(&app, "Northmoor and Dale%");
            for (body, says) in [
                (
                    bad(
                        json!({"shares": [{"organisation_id": la, "percent": "60"}, {"organisation_id": icb, "percent": "39.99"}]}),
                    ),
                    "The shares add up to 99.99%",
                ),
                (
                    bad(
                        json!({"shares": [{"organisation_id": la, "percent": "60"}, {"organisation_id": icb, "percent": "40.01"}]}),
                    ),
                    "The shares add up to 100.01%",
                ),
                (
                    bad(
                        json!({"shares": [{"organisation_id": la, "percent": "60"}, {"organisation_id": la, "percent": "40"}]}),
                    ),
                    "listed more than once",
                ),
                (
                    bad(json!({"shares": [{"organisation_id": 999_999, "percent": "100"}]})),
                    "not one the service knows",
                ),
                (
                    bad(json!({"end": iso(today() + Duration::days(30))})),
                    "must end on or after the day it starts",
                ),
                (
                    bad(json!({"review_date": iso(today() + Duration::days(60 + 400))})),
                    "no more than 12 months",
                ),
                (
                    bad(json!({"outcome": "approved-ish"})),
                    "Select the panel's decision",
                ),
                (
                    bad(json!({"needs": ["protection"]})),
                    "needs the referral identified",
                ),
            ] {
                let (status, v) = api(&app, "POST", &create, &admin, &body).await;
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
                assert!(problem_says(&v, says), "expected “{says}” in {v}");
            }
            assert_eq!(
                count(
                    &app,
                    &format!(
                        "SELECT CAST(COUNT(*) AS BIGINT) FROM decisions WHERE referral_id = {id}"
                    )
                ),
                0
            );

            // The page refuses 99.99% the same way, with the GOV.UK error summary.
            let mut f = kv(&[("outcome", "agreed-as-recommended")]);
            f.push((format!("share-{la}"), "60".into()));
            f.push((format!("share-{icb}"), "39.99".into()));
            let res = post(&app, &format!("/referrals/{id}/decision"), &admin, &f).await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let page = body_text(res).await;
            assert!(page.contains("govuk-error-summary") && page.contains("add up to 99.99%"));
            // While editing, the page shows each organisation's cost without saving.
            let r = referral(&app, id);
            let mut f = kv(&[
                ("outcome", "agreed-as-recommended"),
                ("action", "preview"),
                ("option", &r.recommended_option_id.unwrap().to_string()),
            ]);
            f.push((format!("share-{la}"), "60".into()));
            f.push((format!("share-{icb}"), "40".into()));
            let start = today() + Duration::days(60);
            f.extend(date_fields("start", start));
            f.extend(date_fields("end", start + Duration::days(364)));
            let res = post(&app, &format!("/referrals/{id}/decision"), &admin, &f).await;
            assert_eq!(res.status(), StatusCode::OK);
            let page = body_text(res).await;
            assert!(
                page.contains("as entered, not saved yet")
                    && page.contains("Northmoor County Council (60%)"),
                "{page}"
            );
            assert_eq!(
                count(
                    &app,
                    &format!(
                        "SELECT CAST(COUNT(*) AS BIGINT) FROM decisions WHERE referral_id = {id}"
                    )
                ),
                0
            );

            // An open-ended draft saves, but cannot be signed off.
            let mut open = base.clone();
            open.as_object_mut().unwrap().remove("end");
            let (status, d) = api(&app, "POST", &create, &admin, &open).await;
            assert_eq!(status, StatusCode::CREATED, "{d}");
            let did = d["id"].as_i64().unwrap();
            let (status, v) = api(
                &app,
                "POST",
                &format!("/api/v1/decisions/{did}/sign"),
                &chair,
                &json!({"version": d["version"]}),
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
            assert!(problem_says(&v, "cannot be open-ended"), "{v}");
            // The administrator completes it; only the chair signs.
            let mut full = base.clone();
            full["version"] = d["version"].clone();
            let (status, d) = api(
                &app,
                "PUT",
                &format!("/api/v1/decisions/{did}"),
                &admin,
                &full,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{d}");
            let (status, _) = api(
                &app,
                "POST",
                &format!("/api/v1/decisions/{did}/sign"),
                &admin,
                &json!({"version": d["version"]}),
            )
            .await;
            assert_eq!(status, StatusCode::FORBIDDEN);
            // The page shows each organisation's cost by financial year before sign-off.
            let page = body_text(
                app.send(get(&format!("/referrals/{id}/decision"), Some(&chair)))
                    .await,
            )
            .await;
            assert!(page.contains("Northmoor County Council (60%)"), "{page}");
            assert!(page.contains("How the pence are rounded"));
            let (status, signed) = api(
                &app,
                "POST",
                &format!("/api/v1/decisions/{did}/sign"),
                &chair,
                &json!({"version": d["version"]}),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{signed}");
            assert_eq!(signed["status"], "signed");
            // £325.50 a day, two days a week, for 365 days.
            assert_eq!(signed["total_pence"], 3_394_500);
            assert_eq!(signed["authority_status"], "not-needed");
            assert_eq!(referral(&app, id).status, Status::Decided);

            // The ICB had nobody there: a recommendation to each locality, so the agreement is pending.
            let recs = blocking(|| {
                jp_store::actions::recommendations_of_referral(&mut conn(&app), id).unwrap()
            });
            assert_eq!(recs.len(), 2, "{recs:?}");
            let (_, all) = api(
                &app,
                "GET",
                &format!("/api/v1/referrals/{id}/decisions"),
                &admin,
                &json!({}),
            )
            .await;
            let agreement = &all["agreement"];
            assert_eq!(agreement["status"], "pending");
            assert!(
                problem_says(&all["held_by"], "has not yet accepted"),
                "{all}"
            );
            let years: i64 = agreement["by_financial_year"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|y| {
                    y["pence"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| p.as_i64().unwrap())
                })
                .sum();
            assert_eq!(years, 3_394_500, "the financial years add up to the whole");
            let aid = agreement["id"].as_i64().unwrap();
            let (status, v) = api(
                &app,
                "POST",
                &format!("/api/v1/agreements/{aid}/activate"),
                &admin,
                &json!({}),
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(problem_says(&v, "has not yet accepted"), "{v}");

            // A signed decision cannot be edited.
            let mut edit = base.clone();
            edit["version"] = signed["version"].clone();
            edit["rationale"] = json!("Changed after the event");
            let (status, v) = api(
                &app,
                "PUT",
                &format!("/api/v1/decisions/{did}"),
                &admin,
                &edit,
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                problem_says(&v, "cannot be changed; record a correction instead"),
                "{v}"
            );

            // The provisional letter goes to the referrer and their approver, with the PDF.
            let preview = app
                .send(get(
                    &format!("/referrals/{id}/decision/letter.pdf"),
                    Some(&admin),
                ))
                .await;
            assert_eq!(preview.status(), StatusCode::OK);
            let (status, l) = api(
                &app,
                "POST",
                &format!("/api/v1/decisions/{did}/letter"),
                &admin,
                &json!({}),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{l}");
            assert_eq!(l["kind"], "provisional");
            assert_eq!(l["on_time"], true);
            let pdf = blocking(|| {
                let mut c = conn(&app);
                let row = c
                    .query_one(
                        "SELECT attachment_id, to_address FROM outbox WHERE kind = 'decision.letter-provisional' ORDER BY id",
                        &[],
                    )
                    .unwrap();
                let to: String = row.get(1).unwrap();
                assert_eq!(to, "referrer@northmoor.example");
                jp_store::outbox::attachment(&mut c, row.get(0).unwrap())
                    .unwrap()
                    .unwrap()
                    .2
            });
            let text = jp_documents::page_texts(&pdf)
                .unwrap()
                .join(" ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            assert!(
                text.contains("recommendation, not yet a final decision"),
                "{text}"
            );
            assert!(text.contains("60%") && text.contains("40%"), "{text}");
            assert!(text.contains("If you disagree"));

            // Both localities accept (one by its member, one recorded by the administrator): active.
            for rec in &recs {
                let page = body_text(
                    app.send(get(&format!("/recommendations/{}", rec.id), Some(&admin)))
                        .await,
                )
                .await;
                let res = post(
                    &app,
                    &format!("/recommendations/{}", rec.id),
                    &admin,
                    &kv(&[
                        ("response", "accept"),
                        ("version", &hidden(&page, "version")),
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
            assert_eq!(referral(&app, id).status, Status::AgreementActive);
            let (status, l) = api(
                &app,
                "POST",
                &format!("/api/v1/decisions/{did}/letter"),
                &admin,
                &json!({}),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{l}");
            assert_eq!(l["kind"], "final");
            let (status, v) = api(
                &app,
                "POST",
                &format!("/api/v1/decisions/{did}/letter"),
                &admin,
                &json!({}),
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(problem_says(&v, "already been sent"));

            // A member of the panel sees the decision on the child's record after the meeting.
            let member = app.login(Role::Member);
            let res = app
                .send(get(&format!("/referrals/{id}/decision"), Some(&member)))
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            // The referrer reads it but cannot record one.
            let res = app
                .send(get(&format!("/referrals/{id}/decision"), Some(&referrer)))
                .await;
            let page = body_text(res).await;
            assert!(page.contains("Agreed as recommended") && !page.contains("Save the draft"));

            // A correction: a new record, linked, both kept; the agreement follows it.
            let (status, c) = api(
                &app,
                "POST",
                &format!("/api/v1/decisions/{did}/corrections"),
                &chair,
                &json!({}),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{c}");
            let cid = c["id"].as_i64().unwrap();
            assert_eq!(c["corrects_id"], did);
            let mut fix = base.clone();
            fix["version"] = c["version"].clone();
            fix["shares"] = json!([{"organisation_id": la, "percent": "50"}, {"organisation_id": icb, "percent": "50"}]);
            let (status, c) = api(
                &app,
                "PUT",
                &format!("/api/v1/decisions/{cid}"),
                &chair,
                &fix,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{c}");
            let (status, c) = api(
                &app,
                "POST",
                &format!("/api/v1/decisions/{cid}/sign"),
                &chair,
                &json!({"version": c["version"]}),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{c}");
            let (_, all) = api(
                &app,
                "GET",
                &format!("/api/v1/referrals/{id}/decisions"),
                &admin,
                &json!({}),
            )
            .await;
            assert_eq!(all["decisions"][0]["corrected_by_id"], cid);
            assert_eq!(all["decisions"][0]["rationale"], base["rationale"]);
            assert_eq!(all["agreement"]["current_number"], 2);
            assert_eq!(all["agreement"]["shares"][0]["basis_points"], 5_000);
            let page = body_text(
                app.send(get(&format!("/referrals/{id}/decision"), Some(&member)))
                    .await,
            )
            .await;
            assert!(page.contains(&format!(
                "This decision corrects <a class=\"govuk-link\" href=\"#decision-{did}\">"
            )));
            // A corrected decision is not corrected twice.
            let (status, v) = api(
                &app,
                "POST",
                &format!("/api/v1/decisions/{did}/corrections"),
                &chair,
                &json!({}),
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(problem_says(&v, "already corrected"));
            // A letter asked for the corrected decision is refused, and nothing is sent.
            let letters = count(
                &app,
                "SELECT CAST(COUNT(*) AS BIGINT) FROM decision_letters",
            );
            let (status, v) = api(
                &app,
                "POST",
                &format!("/api/v1/decisions/{did}/letter"),
                &admin,
                &json!({}),
            )
            .await;
            assert_eq!(status, StatusCode::CONFLICT, "{v}");
            assert!(problem_says(&v, "not the one in force"), "{v}");
            assert_eq!(
                count(
                    &app,
                    "SELECT CAST(COUNT(*) AS BIGINT) FROM decision_letters"
                ),
                letters
            );

            // A variation: bad shares refused; the end brought forward kept as version 3.
            let av = all["agreement"]["version"].clone();
            let (status, v) = api(&app, "POST", &format!("/api/v1/agreements/{aid}/variations"), &admin,
                &json!({"version": av, "reason": "New split", "shares": [{"organisation_id": la, "percent": "70"}, {"organisation_id": icb, "percent": "30.01"}]})).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(problem_says(&v, "100.01%"), "{v}");
            let start = today() + Duration::days(60);
            let (status, a) = api(&app, "POST", &format!("/api/v1/agreements/{aid}/variations"), &admin,
                &json!({"version": av, "reason": "The placement ends early", "end": iso(start + Duration::days(99))})).await;
            assert_eq!(status, StatusCode::OK, "{a}");
            assert_eq!(a["current_number"], 3);
            assert_eq!(
                a["total_pence"], 930_000,
                "100 days, two days a week at £325.50"
            );
            // The committed-cost summary follows every change, in pence that add up.
            let (sum, la_part): (i64, i64) = blocking(|| {
                let mut c = conn(&app);
                let sum = c.query_one(&format!("SELECT CAST(SUM(pence) AS BIGINT) FROM committed_costs WHERE agreement_id = {aid} AND committed"), &[]).unwrap().get(0).unwrap();
                let la_part = c.query_one(&format!("SELECT CAST(SUM(pence) AS BIGINT) FROM committed_costs WHERE agreement_id = {aid} AND organisation_id = {la}"), &[]).unwrap().get(0).unwrap();
                (sum, la_part)
            });
            assert_eq!(sum, 930_000);
            assert_eq!(la_part, 465_000, "half, after the correction to 50/50");
            let differences =
                blocking(|| jp_store::finance::rebuild(&mut conn(&app), &mut |_, _| {}).unwrap());
            assert!(differences.is_empty(), "{differences:?}");
            assert_eq!(a["versions"].as_array().unwrap().len(), 3);

            // Closure needs a reason; with one, the agreement ends there.
            let rv = referral(&app, id).version;
            let (status, v) = api(
                &app,
                "POST",
                &format!("/api/v1/referrals/{id}/close"),
                &admin,
                &json!({"version": rv, "closed_on": iso(today())}),
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(problem_says(&v, "Select why the referral is being closed"));
            assert_eq!(referral(&app, id).status, Status::AgreementActive);
            let (status, v) = api(
                &app,
                "POST",
                &format!("/api/v1/referrals/{id}/close"),
                &admin,
                &json!({"version": rv, "reason": "no-longer-in-need", "closed_on": iso(today())}),
            )
            .await;
            // The agreement has not started yet (it starts in 60 days).
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(problem_says(&v, "choose that day or later"), "{v}");
            let a = blocking(|| agreements::get(&mut conn(&app), aid).unwrap().unwrap());
            assert_eq!(a.status, "active", "nothing saved half-way");
            assert_eq!(
                summary_rows_wrong(&app),
                0,
                "the monthly finance summary kept up with every change"
            );
        });
    }
}

#[test]
fn above_the_delegated_authority_the_commitment_waits_for_the_higher_authority() {
    for app in TestApp::each_backend() {
        run_async(async {
            let id = booked(&app, "DEC-2").await;
            hold_meeting(&app, id, &[]);
            // A second, costly line on the recommended option: £1,000 a day, every day, for a year.
            let option = referral(&app, id).recommended_option_id.unwrap();
            let start = today() + Duration::days(60);
            blocking(|| {
                conn(&app)
                    .execute(
                        "INSERT INTO cost_lines (option_id, item, unit, unit_cost_pence, quantity_hundredths, start_date, end_date, created_at)
                         VALUES ($1, 'Specialist residential care', 'per-day', 100000, 700, $2, $3, $4)",
                        &params![option, start, start + Duration::days(364), chrono::Utc::now().naive_utc()],
                    )
                    .unwrap();
            });
            let admin = app.login(Role::Administrator);
            let chair = app.login(Role::Chair);
            let (status, d) = api(
                &app,
                "POST",
                &format!("/api/v1/referrals/{id}/decisions"),
                &admin,
                &decision_body(&app, id),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{d}");
            let did = d["id"].as_i64().unwrap();
            let (status, s) = api(
                &app,
                "POST",
                &format!("/api/v1/decisions/{did}/sign"),
                &chair,
                &json!({"version": d["version"]}),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{s}");
            assert_eq!(s["authority_status"], "pending");
            assert_eq!(s["authority"], "Director of Children and Family Services");
            let aid = blocking(|| {
                agreements::of_referral(&mut conn(&app), id)
                    .unwrap()
                    .unwrap()
                    .id
            });
            // Activating without the higher authority is refused, saying why.
            let (status, v) = api(
                &app,
                "POST",
                &format!("/api/v1/agreements/{aid}/activate"),
                &admin,
                &json!({}),
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                problem_says(&v, "above the panel's delegated authority of £250,000.00"),
                "{v}"
            );
            assert_eq!(referral(&app, id).status, Status::Decided);
            // The letter says so plainly.
            let pdf = app
                .send(get(
                    &format!("/referrals/{id}/decision/letter.pdf"),
                    Some(&admin),
                ))
                .await;
            let bytes = axum::body::to_bytes(pdf.into_body(), usize::MAX)
                .await
                .unwrap();
            let text = jp_documents::page_texts(&bytes)
                .unwrap()
                .join(" ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            assert!(
                text.contains("escalated it to the Director of Children and Family Services"),
                "{text}"
            );
            // The authority's agreement: who and when, not in the future.
            let v = s["version"].clone();
            for (body, says) in [
                (
                    json!({"version": v, "agreed_by": "", "agreed_on": iso(today())}),
                    "Enter who agreed",
                ),
                (
                    json!({"version": v, "agreed_by": "Director", "agreed_on": iso(today() + Duration::days(1))}),
                    "today or earlier",
                ),
            ] {
                let (status, p) = api(
                    &app,
                    "POST",
                    &format!("/api/v1/decisions/{did}/authority"),
                    &chair,
                    &body,
                )
                .await;
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
                assert!(problem_says(&p, says), "expected “{says}” in {p}");
            }
            let (status, s) = api(&app, "POST", &format!("/api/v1/decisions/{did}/authority"), &admin,
                &json!({"version": v, "agreed_by": "Director of Children and Family Services (acting)", "agreed_on": iso(today())})).await;
            assert_eq!(status, StatusCode::OK, "{s}");
            assert_eq!(s["authority_status"], "agreed");
            assert_eq!(referral(&app, id).status, Status::AgreementActive);
            let a = blocking(|| agreements::get(&mut conn(&app), aid).unwrap().unwrap());
            assert_eq!(a.status, "active");
            assert_eq!(audit_count(&app, "decision.authority-agreed"), 1);
        });
    }
}

fn decide_without_funding(outcome: &'static str, then: Status) {
    for app in TestApp::each_backend() {
        run_async(async {
            let admin = app.login(Role::Administrator);
            let chair = app.login(Role::Chair);
            let id = booked(&app, "DEC-3").await;
            let first_meeting = referral(&app, id).meeting_id;
            hold_meeting(&app, id, &[]);
            let body = json!({"outcome": outcome, "rationale": "The panel needs the updated EHCP before it can decide.", "needs": ["health"]});
            let (s, d) = api(
                &app,
                "POST",
                &format!("/api/v1/referrals/{id}/decisions"),
                &admin,
                &body,
            )
            .await;
            assert_eq!(s, StatusCode::CREATED, "{d}");
            let (s, d) = api(
                &app,
                "POST",
                &format!("/api/v1/decisions/{}/sign", d["id"]),
                &chair,
                &json!({"version": d["version"]}),
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{d}");
            let r = referral(&app, id);
            assert_eq!(r.status, then);
            if outcome == "deferred" {
                assert!(r.meeting_id.is_some());
                assert_ne!(r.meeting_id, first_meeting, "booked on a later meeting");
            } else {
                assert_eq!(r.closure_reason.as_deref(), Some("declined"));
            }
            // Nothing funds: no agreement; the decision is on the record.
            assert_eq!(
                count(
                    &app,
                    &format!(
                        "SELECT CAST(COUNT(*) AS BIGINT) FROM agreements WHERE referral_id = {id}"
                    )
                ),
                0
            );
            assert_eq!(
                blocking(|| decisions::of_referral(&mut conn(&app), id).unwrap()).len(),
                1
            );
        });
    }
}

#[test]
fn a_deferred_referral_is_booked_on_a_later_meeting() {
    decide_without_funding("deferred", Status::Booked);
}

#[test]
fn a_declined_referral_is_closed_as_declined() {
    decide_without_funding("declined", Status::Closed);
}

#[test]
#[allow(clippy::too_many_lines)]
fn an_agreements_review_is_booked_before_its_date_and_the_panel_continues_it() {
    for app in TestApp::each_backend() {
        run_async(async {
            let admin = app.login(Role::Administrator);
            let chair = app.login(Role::Chair);
            let id = booked(&app, "REV-1").await;
            hold_meeting(&app, id, &[]);
            let review_due = today() + Duration::days(90);
            let mut body = decision_body(&app, id);
            body["review_date"] = json!(iso(review_due));
            let (s, d) = api(
                &app,
                "POST",
                &format!("/api/v1/referrals/{id}/decisions"),
                &admin,
                &body,
            )
            .await;
            assert_eq!(s, StatusCode::CREATED, "{d}");
            let (s, d) = api(
                &app,
                "POST",
                &format!("/api/v1/decisions/{}/sign", d["id"]),
                &chair,
                &json!({"version": d["version"]}),
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{d}");
            assert_eq!(referral(&app, id).status, Status::AgreementActive);

            // The job books the review onto the last meeting before its date, once.
            let state = app.state.clone();
            assert_eq!(
                blocking(|| jp_web::reviews::book_due(&state, today())).unwrap(),
                1
            );
            let state = app.state.clone();
            assert_eq!(
                blocking(|| jp_web::reviews::book_due(&state, today())).unwrap(),
                0
            );
            let a = blocking(|| {
                agreements::of_referral(&mut conn(&app), id)
                    .unwrap()
                    .unwrap()
            });
            let rid = a.review_referral_id.expect("a review referral");
            let review = referral(&app, rid);
            assert_eq!(review.status, Status::Booked);
            assert_eq!(review.request_type.as_deref(), Some("review"));
            assert_eq!(review.child_id, referral(&app, id).child_id);
            let on = review.meeting_date.unwrap();
            assert!(
                on < review_due,
                "booked on {on}, before the review date {review_due}"
            );
            let later = blocking(|| {
                conn(&app)
                    .query_one(
                        "SELECT CAST(COUNT(*) AS BIGINT) FROM meetings WHERE panel_id = $1 AND meeting_date > $2 AND meeting_date < $3 AND status <> 'cancelled'",
                        &params![review.panel_id, on, review_due],
                    )
                    .unwrap()
                    .get::<i64>(0)
                    .unwrap()
            });
            assert_eq!(
                later, 0,
                "no meeting between the booking and the review date"
            );
            assert_eq!(referral(&app, id).status, Status::UnderReview);
            assert_eq!(audit_count(&app, "referral.review-created"), 1);
            // The reviews-due list names it with its booking.
            let due =
                blocking(|| jp_web::reviews::due_within(&mut conn(&app), today(), 100).unwrap());
            let d = due
                .iter()
                .find(|d| d.referral_id == id)
                .expect("listed as due");
            assert_eq!(d.review_date, review_due);
            assert_eq!(d.booked, Some((rid, Some(on))));
            assert!(!d.overdue);
            let none =
                blocking(|| jp_web::reviews::due_within(&mut conn(&app), today(), 30).unwrap());
            assert!(
                none.iter().all(|d| d.referral_id != id),
                "not due within 30 days"
            );

            // At the meeting, the review's outcomes are those of a review.
            hold_meeting(&app, rid, &[]);
            let create = format!("/api/v1/referrals/{rid}/decisions");
            let (s, v) = api(
                &app,
                "POST",
                &create,
                &admin,
                &json!({"outcome": "agreed-as-recommended"}),
            )
            .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(problem_says(&v, "This is a review"), "{v}");
            let next = today() + Duration::days(300);
            let (s, d) = api(
                &app,
                "POST",
                &create,
                &admin,
                &json!({
                    "outcome": "continue",
                    "rationale": "The short breaks are working; the family wants them to go on.",
                    "needs": ["health"],
                    "lead_agency_id": agency(&app, "Children%"),
                    "key_worker_id": user(&app, "referrer@northmoor.example"),
                    "review_date": iso(next),
                }),
            )
            .await;
            assert_eq!(s, StatusCode::CREATED, "{d}");
            // Outcomes achieved and the views of the child and family are needed to sign.
            let (s, v) = api(
                &app,
                "POST",
                &format!("/api/v1/decisions/{}/sign", d["id"]),
                &chair,
                &json!({"version": d["version"]}),
            )
            .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(
                problem_says(&v, "outcomes achieved") && problem_says(&v, "views of the child"),
                "{v}"
            );
            let (s, d) = api(&app, "PUT", &format!("/api/v1/decisions/{}", d["id"]), &admin, &json!({
                "version": d["version"],
                "outcome": "continue",
                "rationale": "The short breaks are working; the family wants them to go on.",
                "needs": ["health"],
                "lead_agency_id": agency(&app, "Children%"),
                "key_worker_id": user(&app, "referrer@northmoor.example"),
                "review_date": iso(next),
                "outcomes_achieved": "School attendance is up from 60% to 92%; no overnight hospital stays.",
                "views": "Robin says the weekends are “the best bit”; the parents are sleeping again.",
            })).await;
            assert_eq!(s, StatusCode::OK, "{d}");
            let (s, d) = api(
                &app,
                "POST",
                &format!("/api/v1/decisions/{}/sign", d["id"]),
                &chair,
                &json!({"version": d["version"]}),
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{d}");
            // The agreement continues with its next review; the review referral is closed as reviewed.
            assert_eq!(referral(&app, id).status, Status::AgreementActive);
            let review = referral(&app, rid);
            assert_eq!(review.status, Status::Closed);
            assert_eq!(review.closure_reason.as_deref(), Some("reviewed"));
            let a = blocking(|| {
                agreements::of_referral(&mut conn(&app), id)
                    .unwrap()
                    .unwrap()
            });
            assert_eq!(a.current.terms.review_date, next);
            assert_eq!(a.current_number, 2);
            assert!(a.review_referral_id.is_none());
            assert!(
                a.current.reason.contains("Reviewed by the panel"),
                "{}",
                a.current.reason
            );
            // The review's page names the agreement it reviewed.
            let page = body_text(
                app.send(get(&format!("/referrals/{rid}/decision"), Some(&admin)))
                    .await,
            )
            .await;
            assert!(
                page.contains("Agreement under review") && page.contains("School attendance is up"),
                "{page}"
            );
        });
    }
}
