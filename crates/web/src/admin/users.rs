//! Administration of people: accounts, roles, agency and team, passwords, unlocking.

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
use jp_domain::{Email, Password, Role, text};
use jp_store::accounts::{self, User, UserFields};
use jp_store::db;
use jp_store::reference::agencies;

pub fn routes() -> Routes {
    Routes::default()
        .get("/admin/users", list)
        .get("/admin/users/new", new_form)
        .post("/admin/users/new", create)
        .get("/admin/users/{id}", edit_form)
        .post("/admin/users/{id}", update)
}

fn roles_text(roles: &[Role]) -> String {
    if roles.is_empty() {
        return "No roles".into();
    }
    roles
        .iter()
        .map(|r| r.label())
        .collect::<Vec<_>>()
        .join(", ")
}

async fn list(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(saved): Query<Saved>,
) -> Result<Response, AppError> {
    let users = state.db(|c| Ok(accounts::list(c)?)).await?;
    let now = db::now();
    let rows = users
        .iter()
        .map(|u| {
            let status = if !u.active {
                Cell::tag("Disabled", "grey")
            } else if u.locked_until.is_some_and(|t| t > now) {
                Cell::tag("Locked", "red")
            } else {
                Cell::tag("Active", "green")
            };
            vec![
                Cell::link(&u.name, format!("/admin/users/{}", u.id)),
                Cell::text(&u.email),
                Cell::text(roles_text(&u.roles)),
                Cell::text(u.agency_name.clone().unwrap_or_default()),
                status,
            ]
        })
        .collect();
    Ok(render(&ListPage {
        page: PageCtx::new(&p, "People and roles", "/admin/users").with_flash(saved.banner("Account")),
        back: Some(("/admin".into(), "Administration".into())),
        intro: "Nobody registers themselves: a system administrator creates each account and grants its roles.".into(),
        add: Some(("/admin/users/new".into(), "Add a person".into())),
        headings: vec!["Name".into(), "Email address".into(), "Roles".into(), "Agency".into(), "Status".into()],
        rows,
        empty: "There are no accounts yet.".into(),
    }))
}

struct Parsed {
    fields: UserFields,
    password: Option<Password>,
    unlock: bool,
}

fn parse(form: &Form, new: bool) -> Result<Parsed, Errors> {
    let mut e = Errors::default();
    let email = e.take("email", Email::parse(form.get("email")));
    let name = e.take(
        "name",
        text::required(form.get("name"), "the person's full name", 200),
    );
    let agency_id = chosen_id(form.get("agency_id"));
    if !form.get("agency_id").trim().is_empty() && agency_id.is_none() {
        e.add("agency_id", "Select an agency from the list");
    }
    let team = e
        .take("team", text::optional(form.get("team"), "the team", 200))
        .flatten();
    let roles: Vec<Role> = form
        .all("roles")
        .iter()
        .filter_map(|r| Role::parse(r))
        .collect();
    if roles.is_empty() {
        e.add("roles", "Select at least one role");
    }
    let active = match form.get("active") {
        "yes" => true,
        "no" => false,
        _ => {
            e.add("active", "Select whether the account can sign in");
            true
        }
    };
    let raw = form.get("password");
    let mut password = None;
    if !raw.is_empty() || new {
        let personal: Vec<&str> = [email.as_ref().map(Email::local_part), name.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        password = e.take("password", Password::new(raw, &personal));
        if new && raw.is_empty() {
            password = None;
            e.0.retain(|(f, _)| f != "password");
        }
    }
    match (email, name) {
        (Some(email), Some(name)) if e.is_empty() => Ok(Parsed {
            fields: UserFields {
                email,
                name,
                agency_id,
                team,
                active,
                roles,
            },
            password,
            unlock: form.get("unlock") == "yes",
        }),
        _ => Err(e),
    }
}

struct Values {
    email: String,
    name: String,
    agency: String,
    team: String,
    roles: Vec<String>,
    active: String,
}

impl Values {
    fn from_form(f: &Form) -> Values {
        Values {
            email: f.get("email").into(),
            name: f.get("name").into(),
            agency: f.get("agency_id").into(),
            team: f.get("team").into(),
            roles: f.all("roles").to_vec(),
            active: f.get("active").into(),
        }
    }
    fn from_user(u: &User) -> Values {
        Values {
            email: u.email.clone(),
            name: u.name.clone(),
            agency: u.agency_id.map(|a| a.to_string()).unwrap_or_default(),
            team: u.team.clone().unwrap_or_default(),
            roles: u.roles.iter().map(|r| r.slug().to_owned()).collect(),
            active: if u.active { "yes" } else { "no" }.into(),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    p: &Principal,
    title: &str,
    action: String,
    version: Option<i64>,
    v: Values,
    locked: bool,
    errors: Errors,
) -> Result<FormPage, AppError> {
    let agencies = state.db(|c| Ok(agencies::list(c)?)).await?;
    let new = version.is_none();
    let mut fields = vec![
        Field::text("name", "Full name", v.name).input("text", "off"),
        Field::text("email", "Email address", v.email).input("email", "off"),
        Field::select("agency_id", "Agency", v.agency, id_options("No agency", agencies.into_iter().map(|a| (a.id, format!("{} — {}", a.name, a.organisation_name)))))
            .hint("Members sit for their agency; referrers see their team's referrals."),
        Field::text("team", "Team", v.team).hint("Optional, like Northmoor East Children's Team."),
        Field::checkboxes("roles", "Roles", v.roles, Role::ALL.iter().map(|r| (r.slug().into(), r.label().into())).collect()),
        Field::radios("active", "Can this person sign in?", v.active, vec![("yes".into(), "Yes".into()), ("no".into(), "No, the account is disabled".into())]),
        Field::text("password", if new { "Password" } else { "New password" }, "")
            .input("password", "new-password")
            .hint(if new {
                "At least 12 characters; not a common password. Leave it empty if the person will sign in by single sign-on."
            } else {
                "Leave it empty to keep the current password. Setting one signs the person out everywhere."
            }),
    ];
    if locked {
        fields.push(Field::radios(
            "unlock",
            "The account is locked after failed sign-ins. Unlock it?",
            "no",
            vec![
                ("yes".into(), "Yes, unlock it".into()),
                ("no".into(), "No".into()),
            ],
        ));
    }
    Ok(FormPage::new(
        PageCtx::new(p, title, "/admin/users"),
        ("/admin/users".into(), "People and roles".into()),
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
    let v = Values {
        email: String::new(),
        name: String::new(),
        agency: String::new(),
        team: String::new(),
        roles: vec![],
        active: "yes".into(),
    };
    Ok(page(
        &state,
        &p,
        "Add a person",
        "/admin/users/new".into(),
        None,
        v,
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
    let parsed = parse(&form, true);
    let errors = parsed.as_ref().err().cloned().unwrap_or_default();
    let pg = page(
        &state,
        &p,
        "Add a person",
        "/admin/users/new".into(),
        None,
        Values::from_form(&form),
        false,
        errors,
    )
    .await?;
    let Ok(x) = parsed else {
        return Ok(pg.respond());
    };
    let actor = p.actor();
    let hash = x.password.as_ref().map(accounts::hash_password);
    let outcome = save(
        &state,
        move |tx| accounts::create(tx, &actor, &x.fields, hash),
        |_| Ok(None),
    )
    .await?;
    Ok(respond(outcome, "/admin/users?saved=created", pg, "email"))
}

async fn edit_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    let u = state
        .db(move |c| Ok(accounts::get(c, id)?))
        .await?
        .ok_or(AppError::NotFound)?;
    let locked = u.locked_until.is_some_and(|t| t > db::now());
    Ok(page(
        &state,
        &p,
        &u.name,
        format!("/admin/users/{id}"),
        Some(u.version),
        Values::from_user(&u),
        locked,
        Errors::default(),
    )
    .await?
    .respond())
}

fn summary(u: &User) -> Vec<(String, String)> {
    vec![
        ("Name".into(), u.name.clone()),
        ("Email address".into(), u.email.clone()),
        ("Agency".into(), u.agency_name.clone().unwrap_or_default()),
        ("Team".into(), u.team.clone().unwrap_or_default()),
        ("Roles".into(), roles_text(&u.roles)),
        (
            "Can sign in".into(),
            if u.active { "Yes" } else { "No" }.into(),
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
    let current = state
        .db(move |c| Ok(accounts::get(c, id)?))
        .await?
        .ok_or(AppError::NotFound)?;
    let locked = current.locked_until.is_some_and(|t| t > db::now());
    let parsed = parse(&form, false);
    let errors = parsed.as_ref().err().cloned().unwrap_or_default();
    let mut errors = errors;
    if id == p.user.id
        && parsed
            .as_ref()
            .is_ok_and(|x| !x.fields.roles.contains(&Role::SystemAdministrator) || !x.fields.active)
    {
        errors.add("roles", "You cannot remove your own system administrator role or disable your own account: ask another system administrator");
    }
    let pg = page(
        &state,
        &p,
        &current.name,
        format!("/admin/users/{id}"),
        Some(v),
        Values::from_form(&form),
        locked,
        errors.clone(),
    )
    .await?;
    let Ok(x) = parsed else {
        return Ok(pg.respond());
    };
    if !errors.is_empty() {
        return Ok(pg.respond());
    }
    let actor = p.actor();
    let hash = x.password.as_ref().map(accounts::hash_password);
    let outcome = save(
        &state,
        move |tx| {
            accounts::update(tx, &actor, id, v, &x.fields)?;
            if let Some(h) = hash {
                accounts::set_password(tx, &actor, id, &h)?;
            } else if x.unlock {
                accounts::clear_failures(tx, id)?;
                jp_store::audit::record(
                    tx,
                    &actor,
                    "user.unlocked",
                    "user",
                    Some(id.to_string()),
                    serde_json::json!({}),
                )?;
            }
            Ok(())
        },
        move |c| Ok(accounts::get(c, id)?.map(|u| (u.version, summary(&u)))),
    )
    .await?;
    Ok(respond(outcome, "/admin/users?saved=updated", pg, "email"))
}
