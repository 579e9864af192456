//! Administration of agencies (each in one organisation).

use super::{Saved, chosen_id, id_options, respond, save};
use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::{Errors, Form, Id, version};
use crate::pages::{Cell, Field, FormPage, ListPage, PageCtx, render};
use crate::routes::Routes;
use crate::state::AppState;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use jp_domain::text;
use jp_store::reference::agencies::{self, Agency, Fields};
use jp_store::reference::organisations;

pub fn routes() -> Routes {
    Routes::default()
        .get("/admin/agencies", list)
        .get("/admin/agencies/new", new_form)
        .post("/admin/agencies/new", create)
        .get("/admin/agencies/{id}", edit_form)
        .post("/admin/agencies/{id}", update)
}

async fn list(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(saved): Query<Saved>,
) -> Result<Response, AppError> {
    let all = state.db(|c| Ok(agencies::list(c)?)).await?;
    let rows = all
        .iter()
        .map(|a| {
            vec![
                Cell::link(&a.name, format!("/admin/agencies/{}", a.id)),
                Cell::text(&a.organisation_name),
            ]
        })
        .collect();
    Ok(render(&ListPage {
        page: PageCtx::new(&p, "Agencies", "/admin/agencies").with_flash(saved.banner("Agency")),
        back: Some(("/admin".into(), "Administration".into())),
        intro: "An agency is a service with a seat on a panel. It belongs to one organisation."
            .into(),
        add: Some(("/admin/agencies/new".into(), "Add an agency".into())),
        headings: vec!["Agency".into(), "Organisation".into()],
        rows,
        empty: "There are no agencies yet. Add an organisation first, then its agencies.".into(),
    }))
}

pub fn parse(form: &Form) -> Result<Fields, Errors> {
    let mut e = Errors::default();
    let name = e.take(
        "name",
        text::required(form.get("name"), "the agency's name", 200),
    );
    let organisation_id = chosen_id(form.get("organisation_id"));
    if organisation_id.is_none() {
        e.add(
            "organisation_id",
            "Select the organisation the agency belongs to",
        );
    }
    match (name, organisation_id) {
        (Some(name), Some(organisation_id)) => Ok(Fields {
            organisation_id,
            name,
            adult_services: form.get("adult_services") == "yes",
        }),
        _ => Err(e),
    }
}

#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    p: &Principal,
    title: &str,
    action: String,
    version: Option<i64>,
    name: &str,
    org: &str,
    adult: bool,
    errors: Errors,
) -> Result<FormPage, AppError> {
    let orgs = state.db(|c| Ok(organisations::list(c)?)).await?;
    let fields = vec![
        Field::text("name", "Name", name),
        Field::select(
            "organisation_id",
            "Organisation",
            org,
            id_options(
                "Select an organisation",
                orgs.into_iter().map(|o| (o.id, o.name)),
            ),
        ),
        Field::checkboxes(
            "adult_services",
            "Adult services",
            if adult { vec!["yes".into()] } else { Vec::new() },
            vec![(
                "yes".into(),
                "This agency is adult services: its panel members get an action when a child with an active agreement reaches 17½".into(),
            )],
        ),
    ];
    Ok(FormPage::new(
        PageCtx::new(p, title, "/admin/agencies"),
        ("/admin/agencies".into(), "Agencies".into()),
        action,
        version,
        fields,
        errors,
    ))
}

async fn new_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Response, AppError> {
    Ok(page(
        &state,
        &p,
        "Add an agency",
        "/admin/agencies/new".into(),
        None,
        "",
        "",
        false,
        Errors::default(),
    )
    .await?
    .respond())
}

async fn create(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    form: Form,
) -> Result<Response, AppError> {
    let action = "/admin/agencies/new".to_owned();
    let (name, org) = (form.get("name"), form.get("organisation_id"));
    let adult = form.get("adult_services") == "yes";
    let f = match parse(&form) {
        Ok(f) => f,
        Err(e) => {
            return Ok(page(
                &state,
                &p,
                "Add an agency",
                action,
                None,
                name,
                org,
                adult,
                e,
            )
            .await?
            .respond());
        }
    };
    let pg = page(
        &state,
        &p,
        "Add an agency",
        action,
        None,
        name,
        org,
        adult,
        Errors::default(),
    )
    .await?;
    let actor = p.actor();
    let outcome = save(
        &state,
        move |tx| agencies::create(tx, &actor, &f),
        |_| Ok(None),
    )
    .await?;
    Ok(respond(
        outcome,
        "/admin/agencies?saved=created",
        pg,
        "name",
    ))
}

async fn edit_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    let a = state
        .db(move |c| Ok(agencies::get(c, id)?))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(page(
        &state,
        &p,
        &a.name,
        format!("/admin/agencies/{id}"),
        Some(a.version),
        &a.name,
        &a.organisation_id.to_string(),
        a.adult_services,
        Errors::default(),
    )
    .await?
    .respond())
}

fn summary(a: &Agency) -> Vec<(String, String)> {
    vec![
        ("Name".into(), a.name.clone()),
        ("Organisation".into(), a.organisation_name.clone()),
        (
            "Adult services".into(),
            if a.adult_services { "Yes" } else { "No" }.into(),
        ),
    ]
}

async fn update(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    let action = format!("/admin/agencies/{id}");
    let (name, org) = (form.get("name"), form.get("organisation_id"));
    let adult = form.get("adult_services") == "yes";
    let f = match parse(&form) {
        Ok(f) => f,
        Err(e) => {
            return Ok(page(
                &state,
                &p,
                "Change agency",
                action,
                Some(v),
                name,
                org,
                adult,
                e,
            )
            .await?
            .respond());
        }
    };
    let pg = page(
        &state,
        &p,
        "Change agency",
        action,
        Some(v),
        name,
        org,
        adult,
        Errors::default(),
    )
    .await?;
    let actor = p.actor();
    let outcome = save(
        &state,
        move |tx| agencies::update(tx, &actor, id, v, &f),
        move |c| Ok(agencies::get(c, id)?.map(|a| (a.version, summary(&a)))),
    )
    .await?;
    Ok(respond(
        outcome,
        "/admin/agencies?saved=updated",
        pg,
        "name",
    ))
}
