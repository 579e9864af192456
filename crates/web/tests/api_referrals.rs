//! The referral flow over the JSON API, on both backends, with the bad input
//! the issue names: every refusal a problem document, nothing half-saved.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Duration;
use common::flow::today;
use common::*;
use jp_domain::Role;
use jp_domain::referral_form::{Kind, SECTIONS, SectionKind};
use serde_json::{Value, json};

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    who: &Login,
    body: Value,
) -> (StatusCode, Value) {
    let res = app
        .send(send_json(method, path, Some(who), &body.to_string()))
        .await;
    let status = res.status();
    if status != StatusCode::OK && status != StatusCode::CREATED {
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "application/problem+json",
            "{method} {path}"
        );
    }
    let text = body_text(res).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn section_answers(key: &str) -> Value {
    let s = SECTIONS.iter().find(|s| s.key == key).unwrap();
    let mut a = serde_json::Map::new();
    for q in s.questions {
        let v: Vec<String> = match q.kind {
            Kind::Text(_) | Kind::Area(_) if q.key != "review_of" => {
                vec![format!("Answer to {}", q.label)]
            }
            Kind::Date => vec![(today() - Duration::days(20)).to_string()],
            Kind::Radios(_) => vec![
                match q.key {
                    "need_level" => "complex",
                    "request_type" => "new",
                    _ => "no",
                }
                .to_owned(),
            ],
            Kind::Checkboxes(opts) => vec![opts[0].0.to_owned()],
            _ => continue,
        };
        a.insert(q.key.to_owned(), json!(v));
    }
    Value::Object(a)
}

fn upload(id: i64, who: &Login, name: &str, bytes: &[u8]) -> Request<Body> {
    Request::post(format!("/api/v1/referrals/{id}/attachments?name={name}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::COOKIE, &who.cookie)
        .header("x-csrf-token", &who.csrf)
        .body(Body::from(bytes.to_vec()))
        .unwrap()
}

#[test]
fn the_referral_flow_over_the_api_with_its_bad_input() {
    for app in TestApp::each_backend() {
        run_async(async {
            let referrer = app.login(Role::Referrer);
            let approver = app.login(Role::Approver);
            let child = json!({"local_id": "API-1", "given_name": "Noor", "family_name": "Whitcombe", "date_of_birth": "2016-02-29",
                "nhs_number": "999 000 0018", "parental_responsibility": "Mother", "language_needs": "English"});

            // Bad identifiers and dates: each field named, nothing saved.
            let mut bad = child.clone();
            bad["nhs_number"] = json!("999 000 0019");
            bad["upn"] = json!("Z999999999999");
            bad["date_of_birth"] = json!((today() + Duration::days(1)).to_string());
            let (s, v) = call(&app, "POST", "/api/v1/children", &referrer, bad).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
            let fields: Vec<&str> = v["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            for f in ["nhs_number", "upn", "date_of_birth"] {
                assert!(fields.contains(&f), "{f} named: {v}");
            }
            let (s, _) = call(
                &app,
                "POST",
                "/api/v1/children",
                &referrer,
                json!({"local_id": "x", "shoe_size": 4}),
            )
            .await;
            assert_eq!(
                s,
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown fields refused"
            );

            let (s, c) = call(&app, "POST", "/api/v1/children", &referrer, child.clone()).await;
            assert_eq!(s, StatusCode::CREATED, "{c}");
            let mut twin = child.clone();
            twin["local_id"] = json!("API-2");
            let (s, v) = call(&app, "POST", "/api/v1/children", &referrer, twin.clone()).await;
            assert_eq!(s, StatusCode::CONFLICT, "{v}");
            assert!(
                v["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("may be a child already"),
                "{v}"
            );

            let panel_id = blocking(|| {
                jp_store::reference::panels::list(&mut app.db.store.conn().unwrap()).unwrap()[0].id
            });
            let (s, r) = call(
                &app,
                "POST",
                "/api/v1/referrals",
                &referrer,
                json!({"child_id": c["id"], "panel_id": panel_id}),
            )
            .await;
            assert_eq!(s, StatusCode::CREATED, "{r}");
            let id = r["id"].as_i64().unwrap();
            let (s, v) = call(
                &app,
                "POST",
                "/api/v1/referrals",
                &referrer,
                json!({"child_id": 999_999, "panel_id": panel_id}),
            )
            .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

            // Sending an empty referral lists what is missing.
            let (s, v) = call(
                &app,
                "POST",
                &format!("/api/v1/referrals/{id}/send"),
                &referrer,
                json!({"version": r["version"]}),
            )
            .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(v["errors"].as_array().unwrap().len() >= 5, "{v}");

            for sec in SECTIONS.iter().filter(|s| s.kind == SectionKind::Questions) {
                let (s, v) = call(
                    &app,
                    "PUT",
                    &format!("/api/v1/referrals/{id}/sections/{}", sec.key),
                    &referrer,
                    json!({"version": 0, "answers": section_answers(sec.key)}),
                )
                .await;
                assert_eq!(s, StatusCode::OK, "{}: {v}", sec.key);
            }
            // The same section saved again from a stale read: a conflict, the saved answers kept.
            let (s, _) = call(&app, "PUT", &format!("/api/v1/referrals/{id}/sections/family"), &referrer,
                json!({"version": 0, "answers": {"family_details": ["Overwrite"], "other_agencies": ["x"]}})).await;
            assert_eq!(s, StatusCode::CONFLICT);
            let (_, full) = call(
                &app,
                "GET",
                &format!("/api/v1/referrals/{id}"),
                &referrer,
                Value::Null,
            )
            .await;
            assert!(
                full["sections"]["family"]["answers"]["family_details"][0]
                    .as_str()
                    .unwrap()
                    .starts_with("Answer to")
            );
            // An assessment in the future, and a question that does not exist.
            let (s, v) = call(&app, "PUT", &format!("/api/v1/referrals/{id}/sections/assessments"), &referrer,
                json!({"version": 1, "answers": {"csc_date": [(today() + Duration::days(9)).to_string()]}})).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
            let (s, _) = call(
                &app,
                "PUT",
                &format!("/api/v1/referrals/{id}/sections/needs"),
                &referrer,
                json!({"version": 1, "answers": {"favourite_colour": ["blue"]}}),
            )
            .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

            let (s, v) = call(&app, "POST", &format!("/api/v1/referrals/{id}/options"), &referrer,
                json!({"provider": "Brookfield Care", "description": "Support worker three days a week"})).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            let option = v["options"][0]["id"].as_i64().unwrap();
            let start = today() + Duration::days(30);
            let line = |cost: &str, qty: &str, end: chrono::NaiveDate| {
                json!({"item": "Support worker", "unit_cost": cost, "unit": "per-day",
                "quantity": qty, "start": start.to_string(), "end": end.to_string()})
            };
            let lines_path = format!("/api/v1/referrals/{id}/options/{option}/lines");
            for (body, field) in [
                (
                    line("-120.00", "3", start + Duration::days(90)),
                    "unit_cost",
                ),
                (
                    line("120.00", "100000", start + Duration::days(90)),
                    "quantity",
                ),
                (
                    line("92233720368547758.07", "3", start + Duration::days(90)),
                    "unit_cost",
                ),
                (line("120.00", "3", start - Duration::days(1)), "end"),
            ] {
                let (s, v) = call(&app, "POST", &lines_path, &referrer, body).await;
                assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
                assert!(
                    v["errors"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|e| e["field"] == field),
                    "{field}: {v}"
                );
            }
            let (s, v) = call(
                &app,
                "POST",
                &lines_path,
                &referrer,
                line("120.00", "3", start + Duration::days(363)),
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            assert_eq!(v["options"][0]["weekly_pence"], 36_000);
            assert_eq!(v["options"][0]["annual_pence"], 1_872_000);
            let (s, _) = call(
                &app,
                "PUT",
                &format!("/api/v1/referrals/{id}/recommended"),
                &referrer,
                json!({"option_id": option}),
            )
            .await;
            assert_eq!(s, StatusCode::OK);

            // A program named .pdf is refused (and audited); a real PDF is attached.
            let res = app
                .send(upload(id, &referrer, "plan.pdf", b"MZ\x90\x00 not a pdf"))
                .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let res = app
                .send(upload(id, &referrer, "plan.pdf", b"%PDF-1.4\n%%EOF\n"))
                .await;
            assert_eq!(res.status(), StatusCode::OK, "{}", body_text(res).await);

            let version = |v: &Value| v["version"].clone();
            let (_, r) = call(
                &app,
                "GET",
                &format!("/api/v1/referrals/{id}"),
                &referrer,
                Value::Null,
            )
            .await;
            assert_eq!(r["missing"], json!([]), "{r}");
            let (s, _) = call(
                &app,
                "POST",
                &format!("/api/v1/referrals/{id}/submit"),
                &referrer,
                json!({"version": version(&r)}),
            )
            .await;
            assert_eq!(
                s,
                StatusCode::UNPROCESSABLE_ENTITY,
                "no submission without approval"
            );
            let (s, r) = call(
                &app,
                "POST",
                &format!("/api/v1/referrals/{id}/send"),
                &referrer,
                json!({"version": version(&r)}),
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{r}");
            assert_eq!(r["status"], "awaiting-approval");
            let (s, _) = call(
                &app,
                "POST",
                &format!("/api/v1/referrals/{id}/approval"),
                &referrer,
                json!({"version": version(&r), "decision": "approve"}),
            )
            .await;
            assert_eq!(s, StatusCode::FORBIDDEN, "a referrer is not an approver");
            let (s, v) = call(
                &app,
                "POST",
                &format!("/api/v1/referrals/{id}/approval"),
                &approver,
                json!({"version": version(&r), "decision": "maybe"}),
            )
            .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
            let (s, r) = call(&app, "POST", &format!("/api/v1/referrals/{id}/approval"), &approver, json!({"version": version(&r), "decision": "return", "comments": "Add the school's view"})).await;
            assert_eq!(
                (s, r["status"].clone()),
                (StatusCode::OK, json!("returned")),
                "{r}"
            );
            let (_, r) = call(
                &app,
                "POST",
                &format!("/api/v1/referrals/{id}/send"),
                &referrer,
                json!({"version": version(&r)}),
            )
            .await;
            let (_, r) = call(
                &app,
                "POST",
                &format!("/api/v1/referrals/{id}/approval"),
                &approver,
                json!({"version": version(&r), "decision": "approve"}),
            )
            .await;
            assert_eq!(r["status"], "approved", "{r}");
            let (s, r) = call(
                &app,
                "POST",
                &format!("/api/v1/referrals/{id}/submit"),
                &referrer,
                json!({"version": version(&r)}),
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{r}");
            assert_eq!(r["status"], "booked");
            assert!(r["meeting_date"].is_string());

            // Finance sees the money, not the narrative.
            let finance = app.login(Role::Finance);
            let (s, f) = call(
                &app,
                "GET",
                &format!("/api/v1/referrals/{id}"),
                &finance,
                Value::Null,
            )
            .await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(f["sections"], json!({}));
            assert_eq!(f["options"][0]["annual_pence"], 1_872_000);
            let (s, list) = call(
                &app,
                "GET",
                "/api/v1/referrals?status=booked",
                &referrer,
                Value::Null,
            )
            .await;
            assert_eq!(s, StatusCode::OK);
            assert!(list.as_array().unwrap().iter().any(|x| x["id"] == id));
            let (s, _) = call(
                &app,
                "GET",
                "/api/v1/referrals?status=lost",
                &referrer,
                Value::Null,
            )
            .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        });
    }
}
