//! Helpers for driving a referral through the pages, shared by the tests.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)]

use super::*;
use axum::http::StatusCode;
use chrono::{Datelike, Duration, NaiveDate};
use jp_domain::Role;
use jp_domain::lifecycle::Status;
use jp_domain::referral_form::{Kind, SECTIONS, SectionKind};
use jp_store::referrals;

/// The value of a hidden input in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    html.split(&marker)
        .nth(1)
        .unwrap_or_else(|| panic!("no hidden {name} in page: {html}"))
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

pub fn location(res: &axum::http::Response<axum::body::Body>) -> String {
    res.headers()
        .get("location")
        .unwrap_or_else(|| panic!("expected a redirect, got {}", res.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

pub fn date_fields(key: &str, d: NaiveDate) -> Vec<(String, String)> {
    vec![
        (format!("{key}-day"), d.day().to_string()),
        (format!("{key}-month"), d.month().to_string()),
        (format!("{key}-year"), d.year().to_string()),
    ]
}

/// Answers every question of a section with something valid.
pub fn answers_for(key: &str) -> Vec<(String, String)> {
    let s = SECTIONS.iter().find(|s| s.key == key).unwrap();
    let mut out = Vec::new();
    for q in s.questions {
        match q.kind {
            Kind::Text(_) | Kind::Area(_) => {
                if q.key != "review_of" {
                    out.push((q.key.to_owned(), format!("Answer to {}", q.label)))
                }
            }
            Kind::Date => out.extend(date_fields(q.key, today() - Duration::days(10))),
            Kind::Radios(options) => {
                let v = match q.key {
                    "need_level" => "complex",
                    "request_type" => "new",
                    _ => options[0].0,
                };
                out.push((q.key.to_owned(), v.to_owned()));
            }
            Kind::Checkboxes(options) => {
                out.push((q.key.to_owned(), options[0].0.to_owned()));
                out.push((q.key.to_owned(), options[2].0.to_owned()));
            }
        }
    }
    out
}

pub fn form(login: &Login, extra: &[(String, String)]) -> Vec<(String, String)> {
    let mut v = vec![("_csrf".to_owned(), login.csrf.clone())];
    v.extend_from_slice(extra);
    v
}

pub async fn post(
    app: &TestApp,
    path: &str,
    login: &Login,
    fields: &[(String, String)],
) -> axum::http::Response<axum::body::Body> {
    let f = form(login, fields);
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.send(post_form(path, Some(login), &refs)).await
}

pub fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub fn referral(app: &TestApp, id: i64) -> referrals::Referral {
    blocking(|| {
        referrals::get(&mut app.db.store.conn().unwrap(), id)
            .unwrap()
            .unwrap()
    })
}

pub fn audit_count(app: &TestApp, action: &str) -> i64 {
    blocking(|| {
        app.db
            .store
            .conn()
            .unwrap()
            .query_one(
                "SELECT COUNT(*) FROM audit_log WHERE action = $1",
                &jp_store::params![action],
            )
            .unwrap()
            .get(0)
            .unwrap()
    })
}

pub async fn add_child(app: &TestApp, who: &Login, local_id: &str, nhs: &str) -> i64 {
    let mut fields = kv(&[
        ("given_name", "Robin"),
        ("family_name", "Ashdown"),
        ("local_id", local_id),
        ("nhs_number", nhs),
        ("upn", ""),
        ("parental_responsibility", "Both parents"),
        ("language_needs", "English at home; no interpreter needed"),
    ]);
    fields.extend(date_fields(
        "date_of_birth",
        NaiveDate::from_ymd_opt(2015, 6, 14).unwrap(),
    ));
    let res = post(app, "/children/new", who, &fields).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body_text(res).await
    );
    location(&res)
        .trim_start_matches("/children/")
        .parse()
        .unwrap()
}

/// Fills in every section, an option with a cost line, and evidence.
pub async fn complete(app: &TestApp, who: &Login, id: i64) {
    for s in SECTIONS.iter().filter(|s| s.kind == SectionKind::Questions) {
        let path = format!("/referrals/{id}/sections/{}", s.key);
        let page = body_text(app.send(get(&path, Some(who))).await).await;
        let mut fields = answers_for(s.key);
        fields.push(("version".into(), hidden(&page, "version")));
        let res = post(app, &path, who, &fields).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "section {}: {}",
            s.key,
            body_text(res).await
        );
    }
    let res = post(
        app,
        &format!("/referrals/{id}/options"),
        who,
        &kv(&[
            ("provider", "Moorside Therapeutic Care"),
            ("description", "Short breaks two weekends a month"),
        ]),
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body_text(res).await
    );
    let option_id =
        blocking(|| referrals::options(&mut app.db.store.conn().unwrap(), id).unwrap()[0].id);
    let start = today() + Duration::days(60);
    let mut line = kv(&[
        ("option_id", &option_id.to_string()),
        ("item", "Residential short break"),
        ("unit_cost", "325.50"),
        ("unit", "per-day"),
        ("quantity", "2"),
    ]);
    line.extend(date_fields("start", start));
    line.extend(date_fields("end", start + Duration::days(364)));
    let res = post(app, &format!("/referrals/{id}/options/lines"), who, &line).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body_text(res).await
    );
    let res = post(
        app,
        &format!("/referrals/{id}/options/recommended"),
        who,
        &kv(&[("recommended", &option_id.to_string())]),
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body_text(res).await
    );
    let res = app
        .send(post_file(
            &format!("/referrals/{id}/evidence"),
            who,
            "EHCP plan (final).pdf",
            b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n",
        ))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body_text(res).await
    );
}

/// A new draft referral to the first panel, for a new child with `local_id`.
pub async fn new_referral(app: &TestApp, who: &Login, local_id: &str) -> i64 {
    let child = add_child(app, who, local_id, "").await;
    let panel_id = blocking(|| {
        jp_store::reference::panels::list(&mut app.db.store.conn().unwrap()).unwrap()[0].id
    });
    let res = post(
        app,
        "/referrals/new",
        who,
        &kv(&[
            ("child_id", &child.to_string()),
            ("panel_id", &panel_id.to_string()),
        ]),
    )
    .await;
    location(&res)
        .trim_start_matches("/referrals/")
        .parse()
        .unwrap()
}

/// A booked referral (complete, sent, approved, submitted) by the demo referrer.
pub async fn booked(app: &TestApp, local_id: &str) -> i64 {
    let referrer = app.login(Role::Referrer);
    let approver = app.login(Role::Approver);
    let id = new_referral(app, &referrer, local_id).await;
    complete(app, &referrer, id).await;
    for (who, path, extra) in [
        (&referrer, "send", vec![]),
        (&approver, "approval", vec![("decision", "approve")]),
        (&referrer, "submit", vec![]),
    ] {
        let v = referral(app, id).version.to_string();
        let mut f = kv(&[("version", &v)]);
        f.extend(kv(&extra));
        let res = post(app, &format!("/referrals/{id}/{path}"), who, &f).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "{path}: {}",
            body_text(res).await
        );
    }
    assert_eq!(referral(app, id).status, Status::Booked);
    id
}

/// How many rows of the monthly finance summary differ from a recount.
pub fn summary_rows_wrong(app: &TestApp) -> u64 {
    blocking(|| {
        let mut c = app.db.store.conn().unwrap();
        let mut tx = c.begin().unwrap();
        let n = jp_store::finance::rebuild_months(&mut tx).unwrap();
        tx.commit().unwrap();
        n
    })
}
