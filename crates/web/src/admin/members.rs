//! Administration of panel members, their deputies and the chair.

use super::{chosen_id, id_options, respond, save};
use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::{Errors, Form, Id, version};
use crate::pages::{Field, FormPage, PageCtx};
use crate::routes::Routes;
use crate::state::AppState;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use jp_store::accounts;
use jp_store::reference::members::{self, Fields, Member};
use jp_store::reference::{agencies, panels};

pub fn routes() -> Routes {
    Routes::default()
        .get("/admin/panels/{id}/members/new", new_form)
        .post("/admin/panels/{id}/members/new", create)
        .get("/admin/members/{id}", edit_form)
        .post("/admin/members/{id}", update)
        .post("/admin/members/{id}/remove", remove)
}

fn parse(form: &Form) -> Result<Fields, Errors> {
    let mut e = Errors::default();
    let user_id = chosen_id(form.get("user_id"));
    if user_id.is_none() {
        e.add("user_id", "Select the person who sits on the panel");
    }
    let agency_id = chosen_id(form.get("agency_id"));
    if agency_id.is_none() {
        e.add("agency_id", "Select the agency the member represents");
    }
    let is_chair = match form.get("is_chair") {
        "yes" => Some(true),
        "no" => Some(false),
        _ => {
            e.add("is_chair", "Select whether this member chairs the panel");
            None
        }
    };
    let deputies: Vec<i64> = form
        .all("deputies")
        .iter()
        .filter_map(|d| chosen_id(d))
        .collect();
    if user_id.is_some_and(|u| deputies.contains(&u)) {
        e.add("deputies", "A member cannot be their own deputy");
    }
    match (user_id, agency_id, is_chair) {
        (Some(user_id), Some(agency_id), Some(is_chair)) if e.is_empty() => Ok(Fields {
            user_id,
            agency_id,
            is_chair,
            deputy_user_ids: deputies,
        }),
        _ => Err(e),
    }
}

struct Values {
    user: String,
    agency: String,
    chair: String,
    deputies: Vec<String>,
}

impl Values {
    fn from_form(f: &Form) -> Values {
        Values {
            user: f.get("user_id").into(),
            agency: f.get("agency_id").into(),
            chair: f.get("is_chair").into(),
            deputies: f.all("deputies").to_vec(),
        }
    }
    fn from_member(m: &Member) -> Values {
        Values {
            user: m.user_id.to_string(),
            agency: m.agency_id.to_string(),
            chair: if m.is_chair { "yes" } else { "no" }.into(),
            deputies: m.deputies.iter().map(|d| d.user_id.to_string()).collect(),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    p: &Principal,
    panel_id: i64,
    title: &str,
    action: String,
    version: Option<i64>,
    v: Values,
    errors: Errors,
) -> Result<FormPage, AppError> {
    let (panel, users, agencies) = state
        .db(move |c| {
            Ok((
                panels::get(c, panel_id)?.ok_or(AppError::NotFound)?,
                accounts::list(c)?,
                agencies::list(c)?,
            ))
        })
        .await?;
    let people: Vec<(String, String)> = users
        .iter()
        .map(|u| (u.id.to_string(), format!("{} ({})", u.name, u.email)))
        .collect();
    let fields = vec![
        Field::select(
            "user_id",
            "Member",
            v.user,
            super::panels::member_options(users),
        ),
        Field::select(
            "agency_id",
            "Sits for the agency",
            v.agency,
            id_options(
                "Select an agency",
                agencies
                    .into_iter()
                    .map(|a| (a.id, format!("{} — {}", a.name, a.organisation_name))),
            ),
        ),
        Field::radios(
            "is_chair",
            "Chairs the panel?",
            v.chair,
            vec![("yes".into(), "Yes".into()), ("no".into(), "No".into())],
        )
        .hint("A panel has one chair: choosing this member replaces the current chair."),
        Field::checkboxes("deputies", "Deputies", v.deputies, people)
            .hint("People who may attend in this member's place."),
    ];
    let back = (format!("/admin/panels/{panel_id}"), panel.name.clone());
    let mut form = FormPage::new(
        PageCtx::new(p, title, "/admin/panels"),
        back,
        action,
        version,
        fields,
        errors,
    );
    form.caption = panel.name;
    Ok(form)
}

async fn new_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(panel_id): Id,
) -> Result<Response, AppError> {
    let v = Values {
        user: String::new(),
        agency: String::new(),
        chair: "no".into(),
        deputies: vec![],
    };
    Ok(page(
        &state,
        &p,
        panel_id,
        "Add a member",
        format!("/admin/panels/{panel_id}/members/new"),
        None,
        v,
        Errors::default(),
    )
    .await?
    .respond())
}

async fn create(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(panel_id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let action = format!("/admin/panels/{panel_id}/members/new");
    let parsed = parse(&form);
    let errors = parsed.as_ref().err().cloned().unwrap_or_default();
    let pg = page(
        &state,
        &p,
        panel_id,
        "Add a member",
        action,
        None,
        Values::from_form(&form),
        errors,
    )
    .await?;
    let Ok(f) = parsed else {
        return Ok(pg.respond());
    };
    let actor = p.actor();
    let outcome = save(
        &state,
        move |tx| members::create(tx, &actor, panel_id, &f),
        |_| Ok(None),
    )
    .await?;
    Ok(respond(
        outcome,
        &format!("/admin/panels/{panel_id}?saved=updated"),
        pg,
        "user_id",
    ))
}

async fn edit_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    let m = state
        .db(move |c| Ok(members::get(c, id)?))
        .await?
        .ok_or(AppError::NotFound)?;
    let mut pg = page(
        &state,
        &p,
        m.panel_id,
        &m.user_name,
        format!("/admin/members/{id}"),
        Some(m.version),
        Values::from_member(&m),
        Errors::default(),
    )
    .await?;
    pg.remove = Some((
        format!("/admin/members/{id}/remove"),
        format!("Remove {} from the panel", m.user_name),
    ));
    Ok(pg.respond())
}

fn summary(m: &Member) -> Vec<(String, String)> {
    vec![
        ("Member".into(), m.user_name.clone()),
        ("Agency".into(), m.agency_name.clone()),
        ("Chair".into(), if m.is_chair { "Yes" } else { "No" }.into()),
        (
            "Deputies".into(),
            m.deputies
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
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
    let m = state
        .db(move |c| Ok(members::get(c, id)?))
        .await?
        .ok_or(AppError::NotFound)?;
    let parsed = parse(&form);
    let errors = parsed.as_ref().err().cloned().unwrap_or_default();
    let pg = page(
        &state,
        &p,
        m.panel_id,
        &m.user_name,
        format!("/admin/members/{id}"),
        Some(v),
        Values::from_form(&form),
        errors,
    )
    .await?;
    let Ok(f) = parsed else {
        return Ok(pg.respond());
    };
    let actor = p.actor();
    let outcome = save(
        &state,
        move |tx| members::update(tx, &actor, id, v, &f),
        move |c| Ok(members::get(c, id)?.map(|m| (m.version, summary(&m)))),
    )
    .await?;
    Ok(respond(
        outcome,
        &format!("/admin/panels/{}?saved=updated", m.panel_id),
        pg,
        "user_id",
    ))
}

async fn remove(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    let m = state
        .db(move |c| Ok(members::get(c, id)?))
        .await?
        .ok_or(AppError::NotFound)?;
    let actor = p.actor();
    let outcome = save(
        &state,
        move |tx| members::remove(tx, &actor, id, v),
        |_| Ok(None),
    )
    .await;
    match outcome {
        Ok(super::Outcome::Saved(())) => Ok(axum::response::IntoResponse::into_response(
            axum::response::Redirect::to(&format!("/admin/panels/{}?saved=removed", m.panel_id)),
        )),
        Ok(_) | Err(AppError::NotFound) => Err(AppError::Conflict(format!(
            "{} was changed by someone else after you opened the page. Reload it and try again.",
            m.user_name
        ))),
        Err(e) => Err(e),
    }
}
