//! Demo data: a fictional county council and NHS board, the two panels of the
//! seeds, their agencies and members, and one user per role. Every name is
//! invented. Loaded into an empty database by `jointpanel demo` and on a first
//! `jointpanel serve --demo`.

use crate::accounts::{self, UserFields};
use crate::db::{Conn, DbResult};
use crate::reference::{agencies, members, organisations, panels};
use crate::{Actor, ChangeError};
use jp_domain::{Email, PanelRules, Password, Role};

/// The password every demo account signs in with (printed at start-up).
pub const DEMO_PASSWORD: &str = "demo-panel-walnut-2026";

/// One demo sign-in per role, in the order the start-up message prints them.
pub const DEMO_USERS: [(Role, &str, &str); 8] = [
    (Role::Referrer, "Priya Hallam", "referrer@northmoor.example"),
    (
        Role::Approver,
        "Dominic Ashby",
        "approver@northmoor.example",
    ),
    (
        Role::Administrator,
        "Tess Marlow",
        "administrator@northmoor.example",
    ),
    (Role::Chair, "Helen Okafor", "chair@northmoor.example"),
    (
        Role::Member,
        "Marcus Fenwick",
        "member@northmoor-dale-icb.example",
    ),
    (Role::Finance, "Yusuf Carrick", "finance@northmoor.example"),
    (Role::Auditor, "Imogen Thorne", "auditor@northmoor.example"),
    (
        Role::SystemAdministrator,
        "Ravi Stanton",
        "sysadmin@northmoor.example",
    ),
];

#[derive(Debug)]
pub enum Outcome {
    Loaded,
    /// The database already has people in it; nothing was changed.
    AlreadyPopulated,
}

/// The demo's generated history: five years of past cases on both panels,
/// so the tracker, finance pages and dashboards have figures to show.
pub const DEMO_HISTORY: crate::history::Plan = crate::history::Plan {
    children: 60,
    referrals: 200,
    years: 5,
    seed: 2026,
};

/// Adds a generated history (one transaction, audited) to an installation
/// that has its people, agencies and panels.
pub fn load_history(
    conn: &mut Conn,
    plan: &crate::history::Plan,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<crate::history::Made, ChangeError> {
    let mut tx = conn.begin()?;
    let made = crate::history::generate(
        &mut tx,
        &Actor::system("generated history"),
        plan,
        crate::db::now().date(),
        progress,
    )?;
    tx.commit()?;
    Ok(made)
}

pub fn is_empty(conn: &mut Conn) -> DbResult<bool> {
    Ok(conn
        .query_one("SELECT COUNT(*) FROM users", &[])?
        .get::<i64>(0)?
        == 0)
}

#[allow(clippy::type_complexity)]
pub fn load(conn: &mut Conn) -> Result<Outcome, ChangeError> {
    if !is_empty(conn)? {
        return Ok(Outcome::AlreadyPopulated);
    }
    let actor = Actor::system("demo data");
    let mut tx = conn.begin()?;
    let org = |tx: &mut _, name: &str, kind: &str| {
        organisations::create(
            tx,
            &actor,
            &organisations::Fields {
                name: name.to_owned(),
                kind: kind.to_owned(),
            },
        )
    };
    let council = org(&mut tx, "Northmoor County Council", "local-authority")?;
    let icb = org(&mut tx, "Northmoor and Dale Integrated Care Board", "nhs")?;
    let schools = org(&mut tx, "Northmoor Schools Partnership", "education")?;

    let agency = |tx: &mut _, organisation_id: i64, name: &str| {
        agencies::create(
            tx,
            &actor,
            &agencies::Fields {
                organisation_id,
                name: name.to_owned(),
                adult_services: name.starts_with("Adults"),
            },
        )
    };
    let csc = agency(&mut tx, council, "Children's Social Care")?;
    let send = agency(&mut tx, council, "SEND")?;
    let placements = agency(&mut tx, council, "Commissioning & Placements")?;
    let fostering = agency(&mut tx, council, "Fostering & Adoption")?;
    let adults = agency(&mut tx, council, "Adults & Communities")?;
    let icb_north = agency(&mut tx, icb, "ICB — Northmoor locality")?;
    let icb_dale = agency(&mut tx, icb, "ICB — Dale locality")?;
    let _schools_agency = agency(&mut tx, schools, "Schools Inclusion Service")?;

    let password =
        Password::new(DEMO_PASSWORD, &[]).map_err(|e| ChangeError::Invalid(e.to_string()))?;
    let hash = accounts::hash_password(&password);
    let mut person = |tx: &mut _,
                      name: &str,
                      email: &str,
                      roles: Vec<Role>,
                      agency_id: Option<i64>,
                      team: Option<&str>,
                      signs_in: bool| {
        let email = Email::parse(email).map_err(|e| ChangeError::Invalid(e.to_string()))?;
        let f = UserFields {
            email,
            name: name.to_owned(),
            agency_id,
            team: team.map(str::to_owned),
            active: true,
            roles,
        };
        accounts::create(tx, &actor, &f, signs_in.then(|| hash.clone()))
    };
    let mut ids = Vec::new();
    for (role, name, email) in DEMO_USERS {
        let (agency_id, team) = match role {
            Role::Referrer | Role::Approver => (Some(csc), Some("Northmoor East Children's Team")),
            Role::Administrator => (Some(csc), Some("Social Care Business Support")),
            Role::Chair => (Some(csc), None),
            Role::Member => (Some(icb_north), None),
            Role::Finance => (Some(placements), Some("Children's Finance")),
            _ => (None, None),
        };
        ids.push(person(
            &mut tx,
            name,
            email,
            vec![role],
            agency_id,
            team,
            true,
        )?);
    }
    let chair = ids[3];
    let member = ids[4];
    // Members who do not sign in to the demo, so each agency has a seat.
    let seat = |tx: &mut _,
                person: &mut dyn FnMut(
        &mut _,
        &str,
        &str,
        Vec<Role>,
        Option<i64>,
        Option<&str>,
        bool,
    ) -> Result<i64, ChangeError>,
                name: &str,
                email: &str,
                agency_id: i64| {
        person(
            tx,
            name,
            email,
            vec![Role::Member],
            Some(agency_id),
            None,
            false,
        )
    };
    let send_head = seat(
        &mut tx,
        &mut person,
        "Oliver Brennan",
        "oliver.brennan@northmoor.example",
        send,
    )?;
    let placements_head = seat(
        &mut tx,
        &mut person,
        "Freya Lindqvist",
        "freya.lindqvist@northmoor.example",
        placements,
    )?;
    let fostering_head = seat(
        &mut tx,
        &mut person,
        "Samuel Adeyemi",
        "samuel.adeyemi@northmoor.example",
        fostering,
    )?;
    let adults_head = seat(
        &mut tx,
        &mut person,
        "Gwen Pritchard",
        "gwen.pritchard@northmoor.example",
        adults,
    )?;
    let dale_lead = seat(
        &mut tx,
        &mut person,
        "Niamh Corrigan",
        "niamh.corrigan@northmoor-dale-icb.example",
        icb_dale,
    )?;
    let deputy_csc = seat(
        &mut tx,
        &mut person,
        "Callum Reeve",
        "callum.reeve@northmoor.example",
        csc,
    )?;
    let deputy_icb = seat(
        &mut tx,
        &mut person,
        "Anika Sorensen",
        "anika.sorensen@northmoor-dale-icb.example",
        icb_north,
    )?;
    let cwd_manager = seat(
        &mut tx,
        &mut person,
        "Bethan Lowry",
        "bethan.lowry@northmoor.example",
        csc,
    )?;

    let jfp = panels::create(
        &mut tx,
        &actor,
        &panels::Fields {
            slug: "joint-funding".to_owned(),
            name: "Joint Funding Panel (Complex Cases)".to_owned(),
            rules: PanelRules::joint_funding_default(),
        },
    )?;
    let resource = panels::create(
        &mut tx,
        &actor,
        &panels::Fields {
            slug: "resource".to_owned(),
            name: "Resource Panel".to_owned(),
            rules: PanelRules::resource_panel_default(),
        },
    )?;
    let seat_on = |tx: &mut _,
                   panel: i64,
                   user_id: i64,
                   agency_id: i64,
                   is_chair: bool,
                   deputies: Vec<i64>| {
        members::create(
            tx,
            &actor,
            panel,
            &members::Fields {
                user_id,
                agency_id,
                is_chair,
                deputy_user_ids: deputies,
            },
        )
    };
    seat_on(&mut tx, jfp, chair, csc, true, vec![deputy_csc])?;
    seat_on(&mut tx, jfp, send_head, send, false, vec![])?;
    seat_on(&mut tx, jfp, placements_head, placements, false, vec![])?;
    seat_on(&mut tx, jfp, fostering_head, fostering, false, vec![])?;
    seat_on(&mut tx, jfp, adults_head, adults, false, vec![])?;
    seat_on(&mut tx, jfp, member, icb_north, false, vec![deputy_icb])?;
    seat_on(&mut tx, jfp, dale_lead, icb_dale, false, vec![])?;
    seat_on(&mut tx, resource, cwd_manager, csc, true, vec![deputy_csc])?;
    seat_on(
        &mut tx,
        resource,
        placements_head,
        placements,
        false,
        vec![],
    )?;
    seat_on(&mut tx, resource, member, icb_north, false, vec![])?;
    if let Some(jfp) = panels::get(&mut tx, jfp)? {
        crate::demo_casework::load(&mut tx, &actor, &jfp, crate::db::now().date())?;
    }
    tx.commit()?;
    Ok(Outcome::Loaded)
}
