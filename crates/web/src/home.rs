//! Each person's home page: what they have to do, by role, with empty states
//! that say so.

use crate::auth::Principal;
use crate::error::AppError;
use crate::pages::{PageCtx, date, render};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use chrono::Datelike;
use jp_domain::lifecycle::Status;
use jp_domain::{Cadence, Role};
use jp_store::db::{self, Conn};
use jp_store::reference::{members, panels};
use jp_store::{actions, referrals};

pub fn routes() -> Routes {
    Routes::default()
        .get("/", home)
        .get("/accessibility", accessibility)
}

pub struct Item {
    pub text: String,
    pub href: Option<String>,
    /// Shown as a red tag after the text (e.g. "Overdue").
    pub warning: Option<&'static str>,
    /// An action the person can mark done here: (id, version).
    pub done: Option<(i64, i64)>,
}

pub struct Section {
    pub heading: String,
    pub items: Vec<Item>,
    pub empty: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: PageCtx,
    roles: String,
    sections: Vec<Section>,
}

/// The next day a cadence falls on, today or later.
pub fn next_meeting(c: &Cadence, today: chrono::NaiveDate) -> Option<chrono::NaiveDate> {
    let (mut y, mut m) = (today.year(), today.month());
    for _ in 0..3 {
        if let Some(d) = c.date_in(y, m).filter(|d| *d >= today) {
            return Some(d);
        }
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    None
}

fn item(text: impl Into<String>, href: Option<String>) -> Item {
    Item {
        text: text.into(),
        href,
        warning: None,
        done: None,
    }
}

/// The person's open actions: those answering a recommendation link to it,
/// the others can be marked done from here.
fn actions_section(
    c: &mut Conn,
    user_id: i64,
    today: chrono::NaiveDate,
) -> Result<Section, AppError> {
    let items = actions::of_owner(c, user_id)?
        .into_iter()
        .map(|a| Item {
            text: format!("{}: due {}", a.title, date(a.due_date)),
            href: a.recommendation_id.map(|r| format!("/recommendations/{r}")),
            warning: a.overdue(today).then_some("Overdue"),
            done: a.recommendation_id.is_none().then_some((a.id, a.version)),
        })
        .collect();
    Ok(Section {
        heading: "Actions for you".into(),
        items,
        empty: "You have no actions to complete.".into(),
    })
}

/// Responses from absent agencies that are late (seed 000 §3.5), for the
/// administrators (all panels) and chairs (their panels).
fn overdue_responses(
    c: &mut Conn,
    u: &jp_store::accounts::User,
    today: chrono::NaiveDate,
) -> Result<Vec<Item>, AppError> {
    let mut out = Vec::new();
    for r in actions::overdue_recommendations(c, today)? {
        if u.has(Role::Administrator) || referrals::chairs(c, u.id, r.panel_id)? {
            out.push(Item {
                warning: Some("Overdue"),
                ..item(
                    format!(
                        "{}: response to the recommendation from {} was due {}",
                        r.agency_name,
                        date(r.meeting_date),
                        date(r.due_date)
                    ),
                    Some(format!("/recommendations/{}", r.id)),
                )
            });
        }
    }
    Ok(out)
}

fn count(c: &mut Conn, sql: &str) -> Result<i64, AppError> {
    Ok(c.query_one(sql, &[])?.get(0)?)
}

fn sections(c: &mut Conn, p: &Principal) -> Result<Vec<Section>, AppError> {
    let u = &p.user;
    let today = db::now().date();
    let mut out = Vec::new();
    if u.has(Role::Referrer) {
        let items = referrals::visible(c, u, None, 200)?
            .into_iter()
            .filter(|(r, _)| r.referrer_id == u.id && r.status != Status::Closed)
            .take(20)
            .map(|(r, _)| {
                let when = r
                    .meeting_date
                    .map(|d| format!(", meeting {}", date(d)))
                    .unwrap_or_default();
                item(
                    format!(
                        "{} ({}): {}{when}",
                        r.child_name,
                        r.panel_name,
                        r.status.label()
                    ),
                    Some(format!("/referrals/{}", r.id)),
                )
            })
            .collect();
        out.push(Section {
            heading: "Your referrals".into(),
            items,
            empty:
                "You have no referrals in progress. Start one from the child's record in Children."
                    .into(),
        });
    }
    if u.has_any(&[Role::Approver, Role::Member]) {
        let items: Vec<Item> = referrals::awaiting_approval_by(c, u)?
            .into_iter()
            .map(|r| {
                item(
                    format!(
                        "{} ({}), from {}{}",
                        r.child_name,
                        r.panel_name,
                        r.referrer_name,
                        r.sent_at
                            .map(|t| format!(", sent {}", date(t.date())))
                            .unwrap_or_default()
                    ),
                    Some(format!("/referrals/{}", r.id)),
                )
            })
            .collect();
        if u.has(Role::Approver) || !items.is_empty() {
            out.push(Section {
                heading: "Referrals waiting for your approval".into(),
                items,
                empty: "No referrals are waiting for your approval.".into(),
            });
        }
    }
    if u.has(Role::Chair) {
        let items = referrals::late_requests_for_chair(c, u.id)?
            .into_iter()
            .map(|r| {
                item(
                    format!(
                        "{} ({}): {} asks to bring it late{}",
                        r.child_name,
                        r.panel_name,
                        r.referrer_name,
                        r.late_reason
                            .map(|why| format!(": “{why}”"))
                            .unwrap_or_default()
                    ),
                    Some(format!("/referrals/{}", r.id)),
                )
            })
            .collect();
        out.push(Section {
            heading: "Late items asking for your agreement".into(),
            items,
            empty: "No late items are waiting for you.".into(),
        });
    }
    if u.has_any(&[Role::Administrator, Role::Chair]) {
        out.push(Section {
            heading: "Absent agencies' responses overdue".into(),
            items: overdue_responses(c, u, today)?,
            empty: "No absent agency is late with its response to a recommendation.".into(),
        });
    }
    if u.has_any(&[Role::Administrator, Role::Chair]) {
        // Reviews due in the next six weeks, and overdue ones (SPEC §6: every
        // agreement is reviewed at the date the panel set).
        let mut mine = Vec::new();
        for d in crate::reviews::due_within(c, today, 42)? {
            if u.has(Role::Administrator) || referrals::chairs(c, u.id, d.panel_id)? {
                mine.push(d);
            }
        }
        let items = mine
            .into_iter()
            .map(|d| {
                let booked = match d.booked {
                    Some((_, Some(m))) => format!("; review booked for the meeting on {}", date(m)),
                    Some((_, None)) => "; review referral created".into(),
                    None => "; not yet booked".into(),
                };
                Item {
                    warning: d.overdue.then_some("Overdue"),
                    ..item(
                        format!(
                            "Agreement {} for child {} ({}): review due {}{booked}",
                            d.agreement_id,
                            d.child_local_id,
                            d.panel,
                            date(d.review_date)
                        ),
                        Some(match d.booked {
                            Some((rid, _)) => format!("/referrals/{rid}"),
                            None => format!("/agreements/{}", d.agreement_id),
                        }),
                    )
                }
            })
            .collect();
        out.push(Section {
            heading: "Reviews due".into(),
            items,
            empty: "No funding agreement is due for review in the next six weeks.".into(),
        });
    }
    let awaiting: Vec<Item> = actions::awaiting_for(c, u.id)?
        .into_iter()
        .map(|r| Item {
            warning: r.overdue(today).then_some("Overdue"),
            ..item(
                format!(
                    "Recommendation to {} from the meeting on {}: respond by {}",
                    r.agency_name,
                    date(r.meeting_date),
                    date(r.due_date)
                ),
                Some(format!("/recommendations/{}", r.id)),
            )
        })
        .collect();
    if !awaiting.is_empty() {
        out.push(Section {
            heading: "Recommendations waiting for your agency's response".into(),
            items: awaiting,
            empty: String::new(),
        });
    }
    if u.has(Role::Administrator) {
        let booked = count(c, "SELECT COUNT(*) FROM referrals WHERE status = 'booked'")?;
        let failed = count(c, "SELECT COUNT(*) FROM outbox WHERE status = 'failed'")?;
        let late_actions = actions::overdue(c, today)?.len();
        let mut items = vec![item(
            format!("{booked} referral(s) booked onto coming meetings"),
            Some("/referrals?status=booked".into()),
        )];
        if late_actions > 0 {
            items.push(Item {
                warning: Some("Overdue"),
                ..item(
                    format!("{late_actions} action(s) from meetings are past their due date; their owners are chased by e-mail each working day"),
                    None,
                )
            });
        }
        if failed > 0 {
            items.push(item(
                format!("{failed} e-mail(s) could not be delivered"),
                Some("/admin/outbox?status=failed".into()),
            ));
        }
        out.push(Section {
            heading: "Business support".into(),
            items,
            empty: String::new(),
        });
    }
    if u.has_any(&[Role::Administrator, Role::Chair, Role::Member]) {
        let mine = members::panels_of_user(c, u.id)?;
        let all = panels::list(c)?;
        let shown: Vec<_> = if u.has(Role::Administrator) {
            all.iter().collect()
        } else {
            all.iter()
                .filter(|x| mine.iter().any(|m| m.0 == x.id))
                .collect()
        };
        let items = shown
            .iter()
            .map(|x| {
                let how = mine.iter().find(|m| m.0 == x.id).map_or("", |m| {
                    if m.2 {
                        " (you chair it)"
                    } else if m.3 {
                        " (you are a deputy)"
                    } else {
                        " (you are a member)"
                    }
                });
                let next = next_meeting(&x.rules.cadence, today)
                    .map_or_else(|| "no date".to_owned(), date);
                item(
                    format!(
                        "{}{how}: meets on the {}; next by the cadence {next}",
                        x.name,
                        x.rules.cadence.describe().to_lowercase()
                    ),
                    None,
                )
            })
            .collect();
        out.push(Section { heading: "Your panels".into(), items, empty: "You do not sit on any panel. A system administrator can add you as a member or deputy.".into() });
        out.push(actions_section(c, u.id, today)?);
    } else {
        let mine = actions_section(c, u.id, today)?;
        if !mine.items.is_empty() {
            out.push(mine);
        }
    }
    if u.has(Role::Finance) {
        out.push(Section {
            heading: "Funding commitments".into(),
            items: vec![],
            empty: "No funding agreements have been recorded yet.".into(),
        });
    }
    if u.has(Role::Auditor) {
        let n = count(c, "SELECT COUNT(*) FROM audit_log")?;
        let last: Option<chrono::NaiveDateTime> = c
            .query_opt("SELECT at FROM audit_log ORDER BY seq DESC LIMIT 1", &[])?
            .map(|r| r.get(0))
            .transpose()?;
        let mut items = vec![item(
            format!("{n} entries in the audit log"),
            Some("/audit".into()),
        )];
        if let Some(t) = last {
            items.push(item(
                format!("Latest entry {}", crate::pages::date_time(t)),
                None,
            ));
        }
        items.push(item(
            "Check the chain has not been altered",
            Some("/audit?verify=1".into()),
        ));
        out.push(Section {
            heading: "Audit".into(),
            items,
            empty: String::new(),
        });
    }
    if u.has(Role::SystemAdministrator) {
        let mut items = Vec::new();
        let no_chair = count(
            c,
            "SELECT COUNT(*) FROM panels p WHERE NOT EXISTS (SELECT 1 FROM panel_members m WHERE m.panel_id = p.id AND m.is_chair = TRUE)",
        )?;
        if no_chair > 0 {
            items.push(item(
                format!("{no_chair} panel(s) have no chair"),
                Some("/admin/panels".into()),
            ));
        }
        let unseated = count(
            c,
            "SELECT COUNT(*) FROM agencies a WHERE NOT EXISTS (SELECT 1 FROM panel_members m WHERE m.agency_id = a.id)",
        )?;
        if unseated > 0 {
            items.push(item(
                format!("{unseated} agency(ies) have no member on any panel"),
                Some("/admin/agencies".into()),
            ));
        }
        let locked: i64 = c
            .query_one(
                "SELECT COUNT(*) FROM users WHERE locked_until > $1",
                &jp_store::params![db::now()],
            )?
            .get(0)?;
        if locked > 0 {
            items.push(item(
                format!("{locked} account(s) locked after failed sign-ins"),
                Some("/admin/users".into()),
            ));
        }
        let no_roles = count(
            c,
            "SELECT COUNT(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id)",
        )?;
        if no_roles > 0 {
            items.push(item(
                format!("{no_roles} account(s) have no role"),
                Some("/admin/users".into()),
            ));
        }
        out.push(Section {
            heading: "Administration checks".into(),
            items,
            empty: "Every panel has a chair, every agency has a seat and no account is locked."
                .into(),
        });
    }
    if out.is_empty() {
        out.push(Section {
            heading: "Nothing to do".into(),
            items: vec![],
            empty: "Your account has no role yet. Ask a system administrator to grant you one."
                .into(),
        });
    }
    Ok(out)
}

#[derive(serde::Deserialize, Default)]
pub struct HomeQuery {
    saved: Option<String>,
}

async fn home(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    axum::extract::Query(q): axum::extract::Query<HomeQuery>,
) -> Result<Response, AppError> {
    let p2 = p.clone();
    let sections = state.db(move |c| sections(c, &p2)).await?;
    let roles = p
        .user
        .roles
        .iter()
        .map(|r| r.label())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(render(&HomePage {
        page: PageCtx::new(&p, format!("Welcome, {}", p.user.name), "/").with_flash(
            (q.saved.as_deref() == Some("action-done")).then(|| "Action marked done".to_owned()),
        ),
        roles,
        sections,
    }))
}

#[derive(Template)]
#[template(path = "accessibility.html")]
struct AccessibilityPage {
    page: PageCtx,
}

async fn accessibility(req: axum::extract::Request) -> Response {
    let page = match req.extensions().get::<Principal>() {
        Some(p) => PageCtx::new(p, "Accessibility statement", "/accessibility"),
        None => PageCtx::bare("Accessibility statement"),
    };
    render(&AccessibilityPage { page })
}
