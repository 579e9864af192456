//! The calendar page and API: a year's holidays per region, loading an
//! official list, closure days, shift and deadlines; bad input refused.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use jp_domain::Role;

fn upload(login: &Login, file_name: &str, region: &str, bytes: &[u8]) -> Request<Body> {
    let b = "jp-calendar-boundary";
    let mut body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{}\r\n--{b}\r\nContent-Disposition: form-data; name=\"region\"\r\n\r\n{region}\r\n--{b}\r\nContent-Disposition: form-data; name=\"list\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
        login.csrf
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    Request::post("/admin/calendar/lists")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={b}"),
        )
        .header(header::COOKIE, &login.cookie)
        .body(Body::from(body))
        .unwrap()
}

async fn json(app: &TestApp, path: &str, login: &Login) -> (StatusCode, serde_json::Value) {
    let res = app.send(get(path, Some(login))).await;
    let status = res.status();
    let text = body_text(res).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

#[test]
fn administrators_load_lists_and_closures_and_deadlines_follow() {
    for app in TestApp::each_backend() {
        run_async(async {
            let admin = app.login(Role::Administrator);
            let page = body_text(
                app.send(get("/admin/calendar?year=2022", Some(&admin)))
                    .await,
            )
            .await;
            assert!(page.contains("19 September 2022"), "state funeral listed");
            assert!(page.contains("Worked out by rule"));

            // GOV.UK's JSON for a future year, naming a made-up extra day.
            let gov = r#"{"england-and-wales":{"division":"england-and-wales","events":[
                {"title":"New Year’s Day","date":"2031-01-01","notes":"","bunting":true},
                {"title":"A new one-off day","date":"2031-06-13","notes":"","bunting":true}]}}"#;
            let res = app
                .send(upload(
                    &admin,
                    "bank-holidays.json",
                    "england-and-wales",
                    gov.as_bytes(),
                ))
                .await;
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "{}",
                body_text(res).await
            );
            let (s, v) = json(&app, "/api/v1/calendar/shift?date=2031-06-12&n=1", &admin).await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(v["result"], "2031-06-16");
            let (_, v) = json(&app, "/api/v1/calendar/holidays?year=2031", &admin).await;
            assert_eq!(v["source"], "official list");
            assert_eq!(v["bank_holidays"].as_array().unwrap().len(), 2);

            // A broken file: a clear message, nothing changed.
            for (name, body, expect) in [
                ("list.csv", "when,what\n2032-01-01,x\n", "header"),
                (
                    "list.csv",
                    "date,title\n2032-01-01,New Year\n2032-02-30,Nonsense\n",
                    "Line 3",
                ),
                (
                    "bank-holidays.json",
                    "{\"england-and-wales\": [1, 2]",
                    "not the GOV.UK",
                ),
                ("picture.png", "\u{89}PNG binary", "header"),
            ] {
                let res = app
                    .send(upload(&admin, name, "scotland", body.as_bytes()))
                    .await;
                assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name}");
                let html = body_text(res).await;
                assert!(
                    html.contains("govuk-error-summary") && html.contains(expect),
                    "{expect}: {html}"
                );
            }
            let (_, v) = json(
                &app,
                "/api/v1/calendar/holidays?year=2032&region=scotland",
                &admin,
            )
            .await;
            assert_eq!(v["source"], "rules");

            // A closure day moves a deadline; a bad date is refused.
            let (_, before) = json(
                &app,
                "/api/v1/calendar/deadlines?meeting=2027-03-09&panel=joint-funding",
                &admin,
            )
            .await;
            assert_eq!(before["submission_deadline"], "2027-02-26");
            let res = app
                .send(post_form(
                    "/admin/calendar/closures",
                    Some(&admin),
                    &[
                        ("_csrf", &admin.csrf),
                        ("closure-day", "26"),
                        ("closure-month", "2"),
                        ("closure-year", "2027"),
                        ("reason", "Office move"),
                    ],
                ))
                .await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            let (_, after) = json(
                &app,
                "/api/v1/calendar/deadlines?meeting=2027-03-09&panel=joint-funding",
                &admin,
            )
            .await;
            assert_eq!(after["submission_deadline"], "2027-02-25");
            let res = app
                .send(post_form(
                    "/admin/calendar/closures",
                    Some(&admin),
                    &[
                        ("_csrf", &admin.csrf),
                        ("closure-day", "31"),
                        ("closure-month", "2"),
                        ("closure-year", "2027"),
                        ("reason", ""),
                    ],
                ))
                .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            let html = body_text(res).await;
            assert!(
                html.contains("must be a real date")
                    && html.contains("Enter why the offices are closed"),
                "{html}"
            );
            let res = app
                .send(post_form(
                    "/admin/calendar/closures",
                    Some(&admin),
                    &[
                        ("_csrf", &admin.csrf),
                        ("closure-day", "26"),
                        ("closure-month", "2"),
                        ("closure-year", "2027"),
                        ("reason", "Again"),
                    ],
                ))
                .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(body_text(res).await.contains("already a closure day"));

            // The API refuses bad parameters with problem documents.
            for path in [
                "/api/v1/calendar/shift?date=2027-02-30&n=1",
                "/api/v1/calendar/shift?date=2027-02-03&n=many",
                "/api/v1/calendar/shift?date=2027-02-03&n=1&region=wales",
                "/api/v1/calendar/deadlines?meeting=2027-03-09&panel=nope",
                "/api/v1/calendar/holidays?year=1700",
            ] {
                let res = app.send(get(path, Some(&admin))).await;
                assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
                assert_eq!(
                    res.headers()[header::CONTENT_TYPE],
                    "application/problem+json"
                );
            }

            // Loading lists is for administrators: a referrer may read, not load.
            let referrer = app.login(Role::Referrer);
            assert_eq!(
                app.send(get("/admin/calendar", Some(&referrer)))
                    .await
                    .status(),
                StatusCode::FORBIDDEN
            );
            let res = app
                .send(send_json(
                    "POST",
                    "/api/v1/calendar/lists",
                    Some(&referrer),
                    gov,
                ))
                .await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN);
            let res = app
                .send(send_json(
                    "POST",
                    "/api/v1/calendar/lists",
                    Some(&admin),
                    r#"{"mars": {"events": []}}"#,
                ))
                .await;
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        });
    }
}
