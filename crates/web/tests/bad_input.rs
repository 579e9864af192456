//! Bad input gets a clear message and the right status, never a 500, and changes nothing.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::http::StatusCode;
use common::*;
use jp_domain::Role;
use jp_store::reference::organisations;

fn org_count(app: &TestApp) -> usize {
    blocking(|| {
        organisations::list(&mut app.db.store.conn().unwrap())
            .unwrap()
            .len()
    })
}

async fn sign_in_page(app: &TestApp) -> (String, String) {
    let res = app.send(get("/sign-in", None)).await;
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = body_text(res).await;
    let csrf = html
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

async fn sign_in(
    app: &TestApp,
    email: &str,
    password: &str,
) -> axum::http::Response<axum::body::Body> {
    let (cookie, csrf) = sign_in_page(app).await;
    let mut req = post_form(
        "/sign-in",
        None,
        &[
            ("_csrf", &csrf),
            ("email", email),
            ("password", password),
            ("next", "/admin"),
        ],
    );
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    app.send(req).await
}

async fn sign_in_and_lockout(app: &TestApp) {
    let ok = sign_in(
        app,
        "sysadmin@northmoor.example",
        jp_store::demo::DEMO_PASSWORD,
    )
    .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(ok.headers().get("location").unwrap(), "/admin");
    let cookie = ok
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("jp_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let wrong = sign_in(app, "chair@northmoor.example", "not the password at all").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        body_text(wrong)
            .await
            .contains("Enter a correct email address and password")
    );
    let unknown = sign_in(app, "nobody@northmoor.example", "not the password at all").await;
    assert_eq!(
        unknown.status(),
        StatusCode::UNAUTHORIZED,
        "an unknown account looks the same as a wrong password"
    );
    for _ in 0..4 {
        sign_in(app, "chair@northmoor.example", "not the password at all").await;
    }
    let locked = sign_in(
        app,
        "chair@northmoor.example",
        jp_store::demo::DEMO_PASSWORD,
    )
    .await;
    assert_eq!(
        locked.status(),
        StatusCode::UNAUTHORIZED,
        "locked even with the right password"
    );
    assert!(body_text(locked).await.contains("This account is locked"));

    let empty = sign_in(app, "", "").await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body_text(empty).await;
    assert!(
        html.contains("govuk-error-summary")
            && html.contains("Enter an email address")
            && html.contains("Enter your password")
    );

    let no_token = app
        .send(post_form(
            "/sign-in",
            None,
            &[("email", "a@b.org"), ("password", "x")],
        ))
        .await;
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
}

#[test]
fn sign_in_answers_wrong_passwords_lockout_empty_forms_and_missing_tokens() {
    for app in TestApp::each_backend() {
        run_async(sign_in_and_lockout(&app));
    }
}

async fn expired(app: &TestApp) {
    let login = app.login(Role::Chair);
    let token = login.cookie.trim_start_matches("jp_session=").to_owned();
    blocking(|| {
        let then = jp_store::db::now() - chrono::Duration::minutes(45);
        jp_store::sessions::backdate(&mut app.db.store.conn().unwrap(), &token, then, then).unwrap()
    });
    let res = app.send(get("/", Some(&login))).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = app.send(get("/sign-in", Some(&login))).await;
    assert!(body_text(res).await.contains("Sign in"));
    let api = app.send(get("/api/v1/me", Some(&login))).await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn an_idle_session_ends_and_asks_to_sign_in_again() {
    let app = TestApp::new(jp_store::testing::sqlite());
    run_async(expired(&app));
}

async fn forms(app: &TestApp) {
    let admin = app.login(Role::SystemAdministrator);
    let before = org_count(app);
    let res = app
        .send(post_form(
            "/admin/organisations/new",
            Some(&admin),
            &[("_csrf", &admin.csrf), ("name", ""), ("kind", "")],
        ))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body_text(res).await;
    assert!(
        html.contains("There is a problem")
            && html.contains("Enter the organisation")
            && html.contains("Select what kind")
    );
    assert!(html.contains("<title>Error: "));

    let huge = "x".repeat(10 * 1024 * 1024);
    let res = app
        .send(post_form(
            "/admin/organisations/new",
            Some(&admin),
            &[("_csrf", &admin.csrf), ("name", &huge), ("kind", "nhs")],
        ))
        .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body_text(res).await.contains("too large"));

    let dup = app
        .send(post_form(
            "/admin/organisations/new",
            Some(&admin),
            &[
                ("_csrf", &admin.csrf),
                ("name", "Northmoor County Council"),
                ("kind", "local-authority"),
            ],
        ))
        .await;
    assert_eq!(dup.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body_text(dup)
            .await
            .contains("already an organisation called Northmoor County Council")
    );
    assert_eq!(org_count(app), before, "nothing was saved");

    for path in [
        "/admin/organisations/999999",
        "/admin/organisations/abc",
        "/admin/panels/0",
        "/no/such/page",
    ] {
        let res = app.send(get(path, Some(&admin))).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(body_text(res).await.contains("Page not found"));
    }
}

#[test]
fn forms_answer_empty_fields_huge_bodies_duplicates_and_unknown_ids() {
    for app in TestApp::each_backend() {
        run_async(forms(&app));
    }
}

async fn two_editors(app: &TestApp) {
    let a = app.login(Role::SystemAdministrator);
    let b = app.login(Role::SystemAdministrator);
    let first = app
        .send(post_form(
            "/admin/organisations/1",
            Some(&a),
            &[
                ("_csrf", &a.csrf),
                ("version", "1"),
                ("name", "Northmoor Council"),
                ("kind", "local-authority"),
            ],
        ))
        .await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let second = app
        .send(post_form(
            "/admin/organisations/1",
            Some(&b),
            &[
                ("_csrf", &b.csrf),
                ("version", "1"),
                ("name", "Northmoor CC"),
                ("kind", "local-authority"),
            ],
        ))
        .await;
    assert_eq!(second.status(), StatusCode::CONFLICT);
    let html = body_text(second).await;
    assert!(
        html.contains("Someone else saved this record"),
        "the second editor is told"
    );
    assert!(
        html.contains("Northmoor Council"),
        "and shown what the first saved"
    );
    assert!(
        html.contains("value=\"Northmoor CC\""),
        "and keeps what they typed"
    );
    assert!(
        html.contains("name=\"version\" value=\"2\""),
        "and can save again deliberately"
    );
    let saved = blocking(|| {
        organisations::get(&mut app.db.store.conn().unwrap(), 1)
            .unwrap()
            .unwrap()
    });
    assert_eq!(
        (saved.name.as_str(), saved.version),
        ("Northmoor Council", 2)
    );
}

#[test]
fn two_people_saving_the_same_record_the_second_is_told_and_nothing_is_lost() {
    for app in TestApp::each_backend() {
        run_async(two_editors(&app));
    }
}

async fn api(app: &TestApp) {
    let admin = app.login(Role::SystemAdministrator);
    let token = blocking(|| {
        let mut c = app.db.store.conn().unwrap();
        let mut tx = c.begin().unwrap();
        let t =
            jp_store::accounts::create_token(&mut tx, &jp_store::Actor::system("test"), 8, "test")
                .unwrap();
        tx.commit().unwrap();
        t
    });
    let bearer = |method: &str, path: &str, body: &str| {
        axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_owned()))
            .unwrap()
    };
    let created = app
        .send(bearer(
            "POST",
            "/api/v1/organisations",
            r#"{"name":"Dale Schools Trust","kind":"education"}"#,
        ))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let dup = app
        .send(bearer(
            "POST",
            "/api/v1/organisations",
            r#"{"name":"Dale Schools Trust","kind":"education"}"#,
        ))
        .await;
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    assert_eq!(
        dup.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    let empty = app
        .send(bearer(
            "POST",
            "/api/v1/organisations",
            r#"{"name":"","kind":"castle"}"#,
        ))
        .await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: serde_json::Value = serde_json::from_str(&body_text(empty).await).unwrap();
    assert_eq!(problem["status"], 422);
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2);
    let malformed = app
        .send(bearer("POST", "/api/v1/organisations", r#"{"name": "#))
        .await;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let stale = app
        .send(bearer(
            "PUT",
            "/api/v1/organisations/1",
            r#"{"name":"X","kind":"nhs","version":99}"#,
        ))
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let missing = app
        .send(bearer("GET", "/api/v1/organisations/424242", ""))
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let bad_token = app
        .send(
            axum::http::Request::get("/api/v1/me")
                .header("authorization", "Bearer jp_nope")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED);
    let referrer = app.login(Role::Referrer);
    let forbidden = app
        .send(send_json(
            "POST",
            "/api/v1/organisations",
            Some(&referrer),
            r#"{"name":"Sneaky","kind":"nhs"}"#,
        ))
        .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let via_cookie = app
        .send(send_json(
            "POST",
            "/api/v1/organisations",
            Some(&admin),
            r#"{"name":"Cookie Org","kind":"nhs"}"#,
        ))
        .await;
    assert_eq!(via_cookie.status(), StatusCode::CREATED);
    let verdict = blocking(|| jp_store::audit::verify(&mut app.db.store.conn().unwrap()).unwrap());
    assert!(matches!(verdict, jp_store::audit::Verdict::Intact { .. }));
}

#[test]
fn the_api_answers_problems_with_the_right_status() {
    for app in TestApp::each_backend() {
        run_async(api(&app));
    }
}
