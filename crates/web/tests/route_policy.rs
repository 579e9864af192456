//! Walks every route of the router, for every role and for nobody signed in,
//! and checks the server enforces the policy table. A route missing from the
//! table cannot be registered; a table entry with no route fails here.

#![allow(clippy::unwrap_used)] // tests stop at the first surprise

mod common;

use axum::http::StatusCode;
use common::*;
use jp_domain::Role;
use jp_web::policy::{Access, POLICY, Verb};
use std::collections::BTreeSet;

#[test]
fn every_route_is_in_the_policy_table_and_every_entry_is_routed() {
    let routes = jp_web::all_routes();
    let registered: BTreeSet<(Verb, &str)> = routes.registered().iter().copied().collect();
    let table: BTreeSet<(Verb, &str)> = POLICY.iter().map(|r| (r.verb, r.path)).collect();
    let unrouted: Vec<_> = table.difference(&registered).collect();
    assert!(
        unrouted.is_empty(),
        "in the policy table but not routed: {unrouted:?}"
    );
    assert_eq!(
        registered.len(),
        routes.registered().len(),
        "a route is registered twice"
    );
}

#[test]
fn the_openapi_document_lists_exactly_the_api_routes() {
    let doc = serde_json::to_value(jp_web::api::document()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let api: BTreeSet<(String, String)> = POLICY
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/"))
        .map(|r| (r.verb.as_str().to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(
        documented, api,
        "the OpenAPI document and the API routes differ"
    );
}

fn concrete(path: &str) -> String {
    path.replace("{id}", "1").replace("{file}", "app.css")
}

async fn call(
    app: &TestApp,
    verb: Verb,
    path: &str,
    login: Option<&Login>,
) -> (StatusCode, String) {
    let p = concrete(path);
    let req = match verb {
        Verb::Get => get(&p, login),
        Verb::Post if p.starts_with("/api/") => send_json("POST", &p, login, "{}"),
        Verb::Post => post_form(
            &p,
            login,
            &[("_csrf", login.map_or("", |l| l.csrf.as_str()))],
        ),
        Verb::Put => send_json("PUT", &p, login, "{}"),
        Verb::Delete => send_json("DELETE", &p, login, ""),
    };
    let res = app.send(req).await;
    let status = res.status();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, location)
}

async fn walk(app: &TestApp) {
    let mut checked = 0;
    for rule in POLICY {
        // Nobody signed in.
        let (status, location) = call(app, rule.verb, rule.path, None).await;
        match rule.access {
            Access::Public => assert!(
                status != StatusCode::UNAUTHORIZED && status.as_u16() < 500,
                "{:?} {} anonymous: {status}",
                rule.verb,
                rule.path
            ),
            _ if rule.path.starts_with("/api/") => assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{:?} {} anonymous",
                rule.verb,
                rule.path
            ),
            _ => {
                assert_eq!(
                    status,
                    StatusCode::SEE_OTHER,
                    "{:?} {} anonymous",
                    rule.verb,
                    rule.path
                );
                assert!(
                    location.starts_with("/sign-in"),
                    "{:?} {} anonymous went to {location}",
                    rule.verb,
                    rule.path
                );
            }
        }
        checked += 1;
        for role in Role::ALL {
            let login = app.login(role);
            let (status, _) = call(app, rule.verb, rule.path, Some(&login)).await;
            let allowed = rule.access.allows(&[role]);
            if allowed {
                assert!(
                    status != StatusCode::FORBIDDEN
                        && status != StatusCode::UNAUTHORIZED
                        && status.as_u16() < 500,
                    "{:?} {} as {role}: allowed but answered {status}",
                    rule.verb,
                    rule.path
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{:?} {} as {role}: must be refused",
                    rule.verb,
                    rule.path
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, POLICY.len() * (Role::ALL.len() + 1));
}

#[test]
fn every_route_answers_every_role_as_the_policy_says_on_both_backends() {
    for app in TestApp::each_backend() {
        run_async(walk(&app));
    }
}

#[test]
fn a_form_posted_without_its_security_token_is_refused_and_changes_nothing() {
    let app = TestApp::new(jp_store::testing::sqlite());
    run_async(csrf_refused(&app));
}

async fn csrf_refused(app: &TestApp) {
    let admin = app.login(Role::SystemAdministrator);
    for rule in POLICY
        .iter()
        .filter(|r| r.verb == Verb::Post && !r.path.starts_with("/api/"))
    {
        let res = app
            .send(post_form(
                &concrete(rule.path),
                Some(&admin),
                &[("name", "Forged")],
            ))
            .await;
        assert_eq!(
            res.status(),
            StatusCode::FORBIDDEN,
            "POST {} without a CSRF token",
            rule.path
        );
    }
    let res = app
        .send(send_json(
            "POST",
            "/api/v1/organisations",
            Some(&Login {
                cookie: admin.cookie.clone(),
                csrf: "wrong".into(),
            }),
            r#"{"name":"Forged","kind":"nhs"}"#,
        ))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let names: Vec<String> =
        blocking(|| jp_store::reference::organisations::list(&mut app.db.store.conn().unwrap()))
            .unwrap()
            .into_iter()
            .map(|o| o.name)
            .collect();
    assert!(!names.iter().any(|n| n == "Forged"));
}
