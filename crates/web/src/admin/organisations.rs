//! Administration of organisations.

use super::{Saved, respond, save};
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
use jp_store::reference::organisations::{self, Fields, KINDS, Organisation, kind_label};

pub fn routes() -> Routes {
    Routes::default()
        .get("/admin/organisations", list)
        .get("/admin/organisations/new", new_form)
        .post("/admin/organisations/new", create)
        .get("/admin/organisations/{id}", edit_form)
        .post("/admin/organisations/{id}", update)
}

async fn list(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(saved): Query<Saved>,
) -> Result<Response, AppError> {
    let orgs = state.db(|c| Ok(organisations::list(c)?)).await?;
    let rows = orgs
        .iter()
        .map(|o| {
            vec![
                Cell::link(&o.name, format!("/admin/organisations/{}", o.id)),
                Cell::text(kind_label(&o.kind)),
            ]
        })
        .collect();
    Ok(render(&ListPage {
        page: PageCtx::new(&p, "Organisations", "/admin/organisations")
            .with_flash(saved.banner("Organisation")),
        back: Some(("/admin".into(), "Administration".into())),
        intro: "Costs are apportioned between organisations (SPEC §6).".into(),
        add: Some((
            "/admin/organisations/new".into(),
            "Add an organisation".into(),
        )),
        headings: vec!["Name".into(), "Kind".into()],
        rows,
        empty: "There are no organisations yet.".into(),
    }))
}

pub fn parse(form: &Form) -> Result<Fields, Errors> {
    let mut e = Errors::default();
    let name = e.take(
        "name",
        text::required(form.get("name"), "the organisation's name", 200),
    );
    let kind = form.get("kind");
    if !KINDS.iter().any(|(k, _)| *k == kind) {
        e.add("kind", "Select what kind of organisation this is");
    }
    match name {
        Some(name) if e.is_empty() => Ok(Fields {
            name,
            kind: kind.to_owned(),
        }),
        _ => Err(e),
    }
}

fn fields(name: &str, kind: &str) -> Vec<Field> {
    vec![
        Field::text("name", "Name", name),
        Field::radios(
            "kind",
            "Kind of organisation",
            kind,
            KINDS
                .iter()
                .map(|(k, l)| ((*k).into(), (*l).into()))
                .collect(),
        ),
    ]
}

fn page(
    p: &Principal,
    title: &str,
    action: String,
    version: Option<i64>,
    fields: Vec<Field>,
    errors: Errors,
) -> FormPage {
    FormPage::new(
        PageCtx::new(p, title, "/admin/organisations"),
        ("/admin/organisations".into(), "Organisations".into()),
        action,
        version,
        fields,
        errors,
    )
}

async fn new_form(Extension(p): Extension<Principal>) -> Response {
    page(
        &p,
        "Add an organisation",
        "/admin/organisations/new".into(),
        None,
        fields("", ""),
        Errors::default(),
    )
    .respond()
}

async fn create(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    form: Form,
) -> Result<Response, AppError> {
    let action = "/admin/organisations/new".to_owned();
    let f = match parse(&form) {
        Ok(f) => f,
        Err(e) => {
            return Ok(page(
                &p,
                "Add an organisation",
                action,
                None,
                fields(form.get("name"), form.get("kind")),
                e,
            )
            .respond());
        }
    };
    let pg = page(
        &p,
        "Add an organisation",
        action,
        None,
        fields(&f.name, &f.kind),
        Errors::default(),
    );
    let actor = p.actor();
    let outcome = save(
        &state,
        move |tx| organisations::create(tx, &actor, &f),
        |_| Ok(None),
    )
    .await?;
    Ok(respond(
        outcome,
        "/admin/organisations?saved=created",
        pg,
        "name",
    ))
}

async fn edit_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    let o = state
        .db(move |c| Ok(organisations::get(c, id)?))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(page(
        &p,
        &o.name,
        format!("/admin/organisations/{id}"),
        Some(o.version),
        fields(&o.name, &o.kind),
        Errors::default(),
    )
    .respond())
}

fn summary(o: &Organisation) -> Vec<(String, String)> {
    vec![
        ("Name".into(), o.name.clone()),
        ("Kind".into(), kind_label(&o.kind).into()),
    ]
}

async fn update(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    let action = format!("/admin/organisations/{id}");
    let f = match parse(&form) {
        Ok(f) => f,
        Err(e) => {
            return Ok(page(
                &p,
                "Change organisation",
                action,
                Some(v),
                fields(form.get("name"), form.get("kind")),
                e,
            )
            .respond());
        }
    };
    let pg = page(
        &p,
        "Change organisation",
        action,
        Some(v),
        fields(&f.name, &f.kind),
        Errors::default(),
    );
    let actor = p.actor();
    let outcome = save(
        &state,
        move |tx| organisations::update(tx, &actor, id, v, &f),
        move |c| Ok(organisations::get(c, id)?.map(|o| (o.version, summary(&o)))),
    )
    .await?;
    Ok(respond(
        outcome,
        "/admin/organisations?saved=updated",
        pg,
        "name",
    ))
}
