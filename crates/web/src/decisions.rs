//! Decisions and funding agreements on the web (SPEC §5, §6): the decision
//! page (Part E) where the administrator or the chair records the decision
//! and the chair signs it off, corrections, the higher authority's agreement,
//! the decision letter (previewed, then sent through the outbox), closure, and
//! the agreement page with its apportionment by financial year and month and
//! its variations. The operations are shared with the API (`api::decisions`).

use crate::auth::Principal;
use crate::error::AppError;
use crate::forms::{Errors, Form, Id, version};
use crate::pages::{Field, FieldKind, PageCtx, date, date_time, render, render_checked};
use crate::referrals::today;
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use jp_domain::apportion;
use jp_domain::costs::{CostLine, option_totals};
use jp_domain::decision::{self, Context, Draft, MAX_EXPECTATIONS, Outcome, Problem};
use jp_domain::lifecycle::{CLOSURE_REASONS, Status};
use jp_domain::referral_form::{MONTHS, NEEDS};
use jp_domain::{Pence, Role};
use jp_store::accounts::User;
use jp_store::agreements::{self, Agreement, Terms};
use jp_store::children::{self, Child};
use jp_store::db::{Conn, Tx};
use jp_store::decisions::{self, Decision, Letter, SignContext};
use jp_store::reference::agencies::{self, Agency};
use jp_store::reference::organisations::{self, Organisation};
use jp_store::reference::panels::{self, Panel};
use jp_store::referrals::{self, OptionRecord, Referral, Sight};
use jp_store::{ChangeError, Store};
use std::collections::BTreeMap;

pub fn routes() -> Routes {
    Routes::default()
        .get("/referrals/{id}/decision", page)
        .post("/referrals/{id}/decision", save_page)
        .post("/referrals/{id}/decision/sign", sign_page)
        .post("/referrals/{id}/decision/correct", correct_page)
        .post("/referrals/{id}/decision/authority", authority_page)
        .get("/referrals/{id}/decision/letter.pdf", letter_preview)
        .post("/referrals/{id}/decision/letter", letter_send_page)
        .get("/decision-letters/{id}", letter_download)
        .get("/referrals/{id}/close", close_form)
        .post("/referrals/{id}/close", close_page)
        .get("/agreements/{id}", agreement_page)
        .get("/agreements/{id}/vary", vary_form)
        .post("/agreements/{id}/vary", vary_page)
        .post("/agreements/{id}/activate", activate_page)
}

// ---------------------------------------------------------------------------
// Access and what a decision page needs

/// What a person may do with a referral's decisions.
#[derive(Debug, Clone, Copy)]
pub struct Rights {
    /// Record and correct drafts: the panel administrator and the panel's chair.
    pub edit: bool,
    /// Sign off: the chair of the referral's panel.
    pub sign: bool,
    /// Send letters, record closure and variations: the panel administrator.
    pub admin: bool,
}

const DECIDED: &[Status] = &[
    Status::Considered,
    Status::Decided,
    Status::AgreementActive,
    Status::UnderReview,
    Status::Closed,
];

/// Who may see a referral's decisions: everyone with full sight of the
/// referral, and every member of its panel once the panel has considered it
/// (SPEC §5: decisions are visible to all panel members, after the papers are
/// collected).
pub fn rights(c: &mut Conn, user: &User, r: &Referral) -> Result<Rights, AppError> {
    let chair = referrals::chairs(c, user.id, r.panel_id)?;
    let sits = user.has_any(&[Role::Member, Role::Chair])
        && referrals::panels_sat_on(c, user.id)?.contains(&r.panel_id);
    let sight = referrals::sight(c, user, r)?;
    if sight != Sight::Full && !(sits && DECIDED.contains(&r.status)) {
        return Err(AppError::Forbidden);
    }
    let admin = user.has(Role::Administrator);
    Ok(Rights {
        edit: admin || chair,
        sign: chair,
        admin,
    })
}

/// A referral with everything its decision page shows.
pub struct Scene {
    pub r: Referral,
    pub child: Child,
    pub panel: Panel,
    pub rights: Rights,
    pub options: Vec<OptionRecord>,
    pub referral_needs: Vec<String>,
    pub agencies: Vec<Agency>,
    pub organisations: Vec<Organisation>,
    pub key_workers: Vec<(i64, String)>,
    pub decisions: Vec<Decision>,
    pub agreement: Option<Agreement>,
    /// For a review referral: the agreement under review.
    pub reviewed: Option<Agreement>,
    pub held: Vec<String>,
    pub letters: BTreeMap<i64, Vec<Letter>>,
}

impl Scene {
    pub fn context(&self) -> Context {
        Context {
            today: today(),
            review_max_months: self.panel.rules.review_max_months,
            option_ids: self.options.iter().map(|o| o.id).collect(),
            recommended_option_id: self.r.recommended_option_id,
            referral_needs: self.referral_needs.clone(),
            agency_ids: self.agencies.iter().map(|a| a.id).collect(),
            organisations: self
                .organisations
                .iter()
                .map(|o| (o.id, o.name.clone()))
                .collect(),
            key_worker_ids: self.key_workers.iter().map(|(id, _)| *id).collect(),
            review: self.is_review(),
        }
    }
    /// The referral is a review of an agreement.
    pub fn is_review(&self) -> bool {
        self.r.request_type.as_deref() == Some("review")
    }
    pub fn draft(&self) -> Option<&Decision> {
        self.decisions.iter().find(|d| !d.signed())
    }
    pub fn in_force(&self) -> Option<&Decision> {
        decisions::in_force_of(&self.decisions)
    }
    fn option(&self, id: Option<i64>) -> Option<&OptionRecord> {
        id.and_then(|id| self.options.iter().find(|o| o.id == id))
    }
    fn agency_name(&self, id: Option<i64>) -> String {
        id.and_then(|id| self.agencies.iter().find(|a| a.id == id))
            .map(|a| a.name.clone())
            .unwrap_or_else(|| "Not recorded".into())
    }
    fn person(&self, id: Option<i64>) -> String {
        id.and_then(|id| self.key_workers.iter().find(|(k, _)| *k == id))
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| "Not recorded".into())
    }
    fn organisation_name(&self, id: i64) -> String {
        self.organisations
            .iter()
            .find(|o| o.id == id)
            .map(|o| o.name.clone())
            .unwrap_or_default()
    }
}

/// People who can be a key worker: active referrers, approvers and members.
fn key_workers(c: &mut Conn) -> Result<Vec<(i64, String)>, AppError> {
    Ok(jp_store::accounts::list(c)?
        .into_iter()
        .filter(|u| u.active && u.has_any(&[Role::Referrer, Role::Approver, Role::Member]))
        .map(|u| {
            let at = u.agency_name.clone().unwrap_or_default();
            (
                u.id,
                if at.is_empty() {
                    u.name
                } else {
                    format!("{} ({at})", u.name)
                },
            )
        })
        .collect())
}

pub fn scene(c: &mut Conn, user: &User, referral_id: i64) -> Result<Scene, AppError> {
    let r = referrals::get(c, referral_id)?.ok_or(AppError::NotFound)?;
    let rights = rights(c, user, &r)?;
    let child = children::get(c, r.child_id)?.ok_or(AppError::NotFound)?;
    let panel = panels::get(c, r.panel_id)?.ok_or(AppError::NotFound)?;
    let referral_needs = referrals::sections(c, r.id)?
        .get("needs")
        .and_then(|s| s.answers.get("needs").cloned())
        .unwrap_or_default();
    let decisions = decisions::of_referral(c, r.id)?;
    let mut letters = BTreeMap::new();
    for d in decisions.iter().filter(|d| d.signed()) {
        letters.insert(d.id, decisions::letters(c, d.id)?);
    }
    Ok(Scene {
        options: referrals::options(c, r.id)?,
        referral_needs,
        agencies: agencies::list(c)?,
        organisations: organisations::list(c)?,
        key_workers: key_workers(c)?,
        agreement: agreements::of_referral(c, r.id)?,
        reviewed: if r.request_type.as_deref() == Some("review") {
            jp_store::reviews::agreement_of_review(c, r.id)?
        } else {
            None
        },
        held: decisions::held_by(c, r.id)?,
        decisions,
        letters,
        r,
        child,
        panel,
        rights,
    })
}

// ---------------------------------------------------------------------------
// The operations (pages and API)

/// Why a change was not made.
pub enum Refusal {
    /// (field, message) for each problem.
    Fields(Vec<(String, String)>),
    /// Someone saved the record first.
    Conflict(String),
    App(AppError),
}

impl Refusal {
    /// The field errors to show on the page again, or the error to raise.
    /// `form_field` is where a refusal of the whole form is shown.
    pub fn into_errors(self, form_field: &str) -> Result<Errors, AppError> {
        match self {
            Refusal::Fields(list) => {
                let mut e = Errors::default();
                for (k, m) in list {
                    e.add(if k == "_form" { form_field } else { &k }, m);
                }
                Ok(e)
            }
            Refusal::Conflict(m) => Err(AppError::Conflict(m)),
            Refusal::App(e) => Err(e),
        }
    }
}

impl From<AppError> for Refusal {
    fn from(e: AppError) -> Self {
        Refusal::App(e)
    }
}

impl From<jp_store::db::DbError> for Refusal {
    fn from(e: jp_store::db::DbError) -> Self {
        Refusal::App(e.into())
    }
}

impl From<ChangeError> for Refusal {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::Invalid(m) | ChangeError::Duplicate(m) => {
                Refusal::Fields(vec![("_form".into(), m)])
            }
            ChangeError::Conflict { .. } => Refusal::Conflict(
                "Someone else saved this decision after you opened it. Open it again to see what they saved.".into(),
            ),
            other => Refusal::App(other.into()),
        }
    }
}

/// A share given for an organisation the service does not know (API input).
fn unknown_organisations(form: &Form, ctx: &Context) -> Vec<Problem> {
    let mut out = Vec::new();
    for (k, _) in form.pairs() {
        if let Some(id) = k.strip_prefix("share-")
            && !ctx.organisations.iter().any(|(o, _)| o.to_string() == id)
        {
            out.push(Problem {
                key: "shares".into(),
                message: format!("Organisation {id} is not one the service knows: choose from the organisations list"),
            });
        }
    }
    out
}

fn problems(list: Vec<Problem>) -> Refusal {
    Refusal::Fields(list.into_iter().map(|p| (p.key, p.message)).collect())
}

/// Runs `f` in one transaction on a blocking thread; refusals roll it back.
async fn in_tx<T, F>(state: &AppState, f: F) -> Result<T, Refusal>
where
    T: Send + 'static,
    F: FnOnce(&mut Tx<'_>) -> Result<T, Refusal> + Send + 'static,
{
    let store: Store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().map_err(|e| Refusal::App(e.into()))?;
        let mut tx = conn.begin().map_err(|e| Refusal::App(e.into()))?;
        let out = f(&mut tx)?;
        tx.commit().map_err(|e| Refusal::App(e.into()))?;
        Ok(out)
    })
    .await
    .map_err(|e| Refusal::App(AppError::Internal(e.to_string())))?
}

/// Saves the draft from a form's fields: creates it when `decision_id` is
/// None. Every field is checked for consistency; nothing is saved when any is wrong.
pub async fn save_draft(
    state: &AppState,
    p: &Principal,
    referral_id: i64,
    decision_id: Option<i64>,
    version: Option<i64>,
    form: Form,
) -> Result<i64, Refusal> {
    let user = p.user.clone();
    let actor = p.actor();
    in_tx(state, move |tx| {
        let s = scene(tx, &user, referral_id)?;
        if !s.rights.edit {
            return Err(Refusal::App(AppError::Forbidden));
        }
        let ctx = s.context();
        let (mut draft, mut found) = decision::read(&|k| form.all(k).to_vec(), &ctx);
        // The chosen option fills the agreement's provider when left blank.
        if draft.outcome.is_some_and(Outcome::funds)
            && draft.provider.is_empty()
            && let Some(o) = s.option(draft.option_id)
        {
            draft.provider.clone_from(&o.provider);
        }
        found.extend(decision::check(&draft, &ctx, false));
        found.extend(unknown_organisations(&form, &ctx));
        if !found.is_empty() {
            return Err(problems(found));
        }
        match decision_id {
            None => Ok(decisions::start(tx, &actor, referral_id, &draft)?),
            Some(id) => {
                let d = decisions::get(tx, id)?.ok_or(AppError::NotFound)?;
                if d.referral_id != referral_id {
                    return Err(Refusal::App(AppError::NotFound));
                }
                let v = version.ok_or_else(|| {
                    Refusal::App(AppError::BadRequest(
                        "The decision's version is missing".into(),
                    ))
                })?;
                decisions::save(tx, &actor, id, v, &draft)?;
                Ok(id)
            }
        }
    })
    .await
}

/// The agencies with a seat on the panel that a decision affects: the lead
/// agency, the contracting agency, and the agencies of each paying
/// organisation that had nobody at the meeting. (How one organisation's
/// services share its part is not the panel's business, seed 000 §3.3, so an
/// organisation is represented when any of its agencies was.)
fn affected_agencies(c: &mut Conn, s: &Scene, d: &Draft) -> Result<Vec<i64>, AppError> {
    let Some(meeting) = s.r.meeting_id else {
        return Ok(Vec::new());
    };
    let meeting = jp_store::meetings::get(c, meeting)?.ok_or(AppError::NotFound)?;
    let attendance = jp_store::meeting_run::attendance(c, &meeting)?;
    let org_of = |agency: i64| {
        s.agencies
            .iter()
            .find(|a| a.id == agency)
            .map(|a| a.organisation_id)
    };
    let represented = |org: i64| {
        attendance.iter().any(|a| {
            org_of(a.seat.agency_id) == Some(org)
                && a.presence
                    .is_some_and(jp_domain::meeting_lifecycle::Presence::represented)
        })
    };
    let paying: Vec<i64> = d.shares.iter().map(|x| x.organisation_id).collect();
    Ok(attendance
        .iter()
        .map(|a| a.seat.agency_id)
        .filter(|agency| {
            Some(*agency) == d.lead_agency_id
                || Some(*agency) == d.contract_agency_id
                || org_of(*agency).is_some_and(|o| paying.contains(&o) && !represented(o))
        })
        .collect())
}

/// The chair signs the draft off.
pub async fn sign(
    state: &AppState,
    p: &Principal,
    referral_id: i64,
    decision_id: i64,
    version: i64,
) -> Result<decisions::Signed, Refusal> {
    let user = p.user.clone();
    let actor = p.actor();
    let base = state.config.base_url.clone();
    in_tx(state, move |tx| {
        let s = scene(tx, &user, referral_id)?;
        if !s.rights.sign {
            return Err(Refusal::App(AppError::Denied(format!(
                "Only the chair of the {} signs off its decisions",
                s.panel.name
            ))));
        }
        let d = decisions::get(tx, decision_id)?
            .filter(|d| d.referral_id == referral_id)
            .ok_or(AppError::NotFound)?;
        if d.version != version {
            return Err(ChangeError::Conflict { current: d.version }.into());
        }
        if !d.signed() {
            let found = decision::check(&d.draft, &s.context(), true);
            if !found.is_empty() {
                return Err(problems(found));
            }
        }
        let meeting_date = s.r.meeting_date.unwrap_or_else(today);
        let letter_due = jp_store::meeting_run::deadlines(tx, &s.panel, meeting_date)?.letter_due;
        let next = if d.draft.outcome == Some(Outcome::Deferred) && d.corrects_id.is_none() {
            let coming = crate::booking::coming(tx, &actor, &s.panel, today())?;
            crate::booking::next_on_time(&coming, today())
                .filter(|b| Some(b.meeting.id) != s.r.meeting_id)
                .map(|b| b.meeting.clone())
        } else {
            None
        };
        let affected = affected_agencies(tx, &s, &d.draft)?;
        let ctx = SignContext {
            today: today(),
            option_lines: s
                .option(d.draft.option_id)
                .map(|o| o.lines.iter().map(|l| l.line.clone()).collect())
                .unwrap_or_default(),
            delegated_limit: s.panel.rules.delegated_limit,
            authority: s.panel.rules.escalation_authority.clone(),
            letter_due,
            next_meeting: next.as_ref(),
            affected_agencies: affected,
            signer: &user,
        };
        let signed = decisions::sign(tx, &actor, decision_id, version, &ctx)?;
        for sent in &signed.recommended {
            crate::meeting_run::recommendation_sent(tx, &base, sent)?;
        }
        Ok(signed)
    })
    .await
}

pub async fn correct(
    state: &AppState,
    p: &Principal,
    referral_id: i64,
    decision_id: i64,
) -> Result<i64, Refusal> {
    let user = p.user.clone();
    let actor = p.actor();
    in_tx(state, move |tx| {
        let s = scene(tx, &user, referral_id)?;
        if !s.rights.edit {
            return Err(Refusal::App(AppError::Forbidden));
        }
        if !s.decisions.iter().any(|d| d.id == decision_id) {
            return Err(Refusal::App(AppError::NotFound));
        }
        Ok(decisions::start_correction(tx, &actor, decision_id)?)
    })
    .await
}

pub async fn record_authority(
    state: &AppState,
    p: &Principal,
    referral_id: i64,
    decision_id: i64,
    version: i64,
    who: String,
    on: Result<NaiveDate, String>,
) -> Result<bool, Refusal> {
    let mut found = Vec::new();
    let who = jp_domain::text::required(&who, "who agreed, with their post", 200)
        .map_err(|e| found.push(("authority_by".to_owned(), e)))
        .ok();
    let on = on
        .map_err(|e| found.push(("authority_on".to_owned(), e)))
        .ok();
    let (Some(who), Some(on)) = (who, on) else {
        return Err(Refusal::Fields(found));
    };
    let user = p.user.clone();
    let actor = p.actor();
    in_tx(state, move |tx| {
        let s = scene(tx, &user, referral_id)?;
        if !s.rights.edit {
            return Err(Refusal::App(AppError::Forbidden));
        }
        if !s.decisions.iter().any(|d| d.id == decision_id) {
            return Err(Refusal::App(AppError::NotFound));
        }
        Ok(decisions::record_authority(
            tx,
            &actor,
            decision_id,
            version,
            &who,
            on,
            today(),
        )?)
    })
    .await
}

/// The letter for the decision in force: final when nothing holds the
/// decision, provisional otherwise (which says what it waits for).
fn letter_for(c: &mut Conn, s: &Scene) -> Result<(Decision, &'static str, Vec<u8>), AppError> {
    let d = s
        .in_force()
        .cloned()
        .ok_or_else(|| AppError::Conflict("The chair has not signed a decision off yet".into()))?;
    let kind = if s.held.is_empty() {
        "final"
    } else {
        "provisional"
    };
    let recipients = recipients(c, &s.r)?;
    let blocks = letter_blocks(s, &d, kind, &recipients);
    let composed = jp_documents::compose(&[jp_documents::Part::Text(blocks)], &mut |_, _| {})
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((d, kind, composed.pdf))
}

/// The referrer and their service manager or budget holder (the approvers of
/// the referrer's team, and whoever approved this referral).
fn recipients(c: &mut Conn, r: &Referral) -> Result<Vec<User>, AppError> {
    let mut out: Vec<User> = Vec::new();
    let mut add = |u: User| {
        if u.active && !out.iter().any(|o| o.id == u.id) {
            out.push(u);
        }
    };
    if let Some(u) = jp_store::accounts::get(c, r.referrer_id)? {
        add(u);
    }
    if let Some(a) = r.approved_by
        && let Some(u) = jp_store::accounts::get(c, a)?
    {
        add(u);
    }
    for u in referrals::approvers_of(c, r)? {
        if u.has(Role::Approver) {
            add(u);
        }
    }
    Ok(out)
}

/// Sends the letter of the decision in force; `decision_id`, when given, must
/// be that decision (the API names one), or nothing is sent.
pub async fn send_letter(
    state: &AppState,
    p: &Principal,
    referral_id: i64,
    decision_id: Option<i64>,
) -> Result<Letter, Refusal> {
    let user = p.user.clone();
    let actor = p.actor();
    let base = state.config.base_url.clone();
    in_tx(state, move |tx| {
        let s = scene(tx, &user, referral_id)?;
        if !s.rights.admin {
            return Err(Refusal::App(AppError::Forbidden));
        }
        let (d, kind, pdf) = letter_for(tx, &s)?;
        if let Some(asked) = decision_id.filter(|asked| *asked != d.id) {
            return Err(Refusal::Conflict(format!(
                "Decision {asked} is not the one in force: decision {} is, and its letter is the one to send",
                d.id
            )));
        }
        let to = recipients(tx, &s.r)?;
        let subject = if kind == "final" {
            format!("Panel decision: referral {} ({})", s.r.id, s.r.child_local_id)
        } else {
            format!(
                "Panel recommendation, not yet final: referral {} ({})",
                s.r.id, s.r.child_local_id
            )
        };
        let body = format!(
            "The {}'s {} on referral {} ({}) is attached as a PDF.{}\n\nThe decision is also on the referral: {}/referrals/{}/decision\n\nOFFICIAL-SENSITIVE: keep this letter in the child's file and do not forward it.\n\nJoint Panel\n",
            s.panel.name,
            if kind == "final" {
                "decision"
            } else {
                "recommendation"
            },
            s.r.id,
            s.r.child_local_id,
            if kind == "final" {
                String::new()
            } else {
                format!(
                    " It is not final yet: {}.",
                    s.held
                        .iter()
                        .map(|h| h.trim_end_matches('.').to_owned())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            },
            base.trim_end_matches('/'),
            s.r.id
        );
        Ok(decisions::send_letter(
            tx,
            &actor,
            d.id,
            kind,
            pdf,
            &to,
            &subject,
            &body,
            today(),
        )?)
    })
    .await
}

pub async fn close(
    state: &AppState,
    p: &Principal,
    referral_id: i64,
    version: i64,
    reason: String,
    on: Result<NaiveDate, String>,
) -> Result<Referral, Refusal> {
    let mut found = Vec::new();
    if !matches!(reason.as_str(), "suitable-programme" | "no-longer-in-need") {
        found.push((
            "reason".to_owned(),
            "Select why the referral is being closed".to_owned(),
        ));
    }
    let on = on.map_err(|e| found.push(("closed_on".to_owned(), e))).ok();
    let Some(on) = on.filter(|_| found.is_empty()) else {
        return Err(Refusal::Fields(found));
    };
    if on > today() {
        return Err(Refusal::Fields(vec![(
            "closed_on".into(),
            "The closing date must be today or earlier".into(),
        )]));
    }
    let user = p.user.clone();
    let actor = p.actor();
    in_tx(state, move |tx| {
        let s = scene(tx, &user, referral_id)?;
        if !s.rights.admin {
            return Err(Refusal::App(AppError::Forbidden));
        }
        Ok(referrals::close(
            tx,
            &actor,
            referral_id,
            version,
            &reason,
            on,
        )?)
    })
    .await
}

/// A variation: the reason, and any of a new end date, a new review date, new
/// shares, an added cost line. A variation that would take the commitment
/// above the panel's delegated authority goes back to the panel instead.
pub async fn vary(
    state: &AppState,
    p: &Principal,
    agreement_id: i64,
    version: i64,
    form: Form,
) -> Result<Agreement, Refusal> {
    let user = p.user.clone();
    let actor = p.actor();
    in_tx(state, move |tx| {
        let a = agreements::get(tx, agreement_id)?.ok_or(AppError::NotFound)?;
        let s = scene(tx, &user, a.referral_id)?;
        if !s.rights.admin {
            return Err(Refusal::App(AppError::Forbidden));
        }
        let unknown = unknown_organisations(&form, &s.context());
        if !unknown.is_empty() {
            return Err(problems(unknown));
        }
        let (terms, reason) = varied_terms(&s, &a, &form)?;
        if terms.total() > s.panel.rules.delegated_limit {
            return Err(Refusal::Fields(vec![(
                "_form".into(),
                format!(
                    "This variation takes the commitment to {}, above the panel's delegated authority of {}: take it back to the panel, which escalates it to the {}",
                    terms.total(),
                    s.panel.rules.delegated_limit,
                    s.panel.rules.escalation_authority
                ),
            )]));
        }
        Ok(agreements::add_version(
            tx, &actor, agreement_id, version, &reason, None, &terms,
        )?)
    })
    .await
}

fn varied_terms(s: &Scene, a: &Agreement, form: &Form) -> Result<(Terms, String), Refusal> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut t = a.current.terms.clone();
    let reason =
        jp_domain::text::required(form.get("reason"), "the reason for the variation", 1_000)
            .map_err(|e| found.push(("reason".into(), e)))
            .ok();
    let optional = |key: &str, what: &str| -> Result<Option<NaiveDate>, String> {
        if [
            format!("{key}-day"),
            format!("{key}-month"),
            format!("{key}-year"),
        ]
        .iter()
        .all(|k| form.get(k).trim().is_empty())
        {
            Ok(None)
        } else {
            form.date(key, what).map(Some)
        }
    };
    match optional("end", "the new end date") {
        Ok(Some(end)) => {
            if end < t.start {
                found.push((
                    "end".into(),
                    "The agreement must end on or after the day it starts".into(),
                ));
            } else {
                // Recurring lines that ran to the old end run to the new one.
                let old_end = t.end;
                t.lines = t
                    .lines
                    .iter()
                    .map(|l| {
                        let mut l = l.clone();
                        if l.end == old_end && l.unit != jp_domain::costs::Unit::OneOff {
                            l.end = end;
                        }
                        l
                    })
                    .collect();
                t.lines = decision::clip(&t.lines, t.start, end);
                t.end = end;
            }
        }
        Ok(None) => {}
        Err(e) => found.push(("end".into(), e)),
    }
    match optional("review", "the new review date") {
        Ok(Some(r)) => t.review_date = r,
        Ok(None) => {}
        Err(e) => found.push(("review".into(), e)),
    }
    // New shares: all or none of the organisations' boxes.
    let ctx = s.context();
    let typed: Vec<(i64, String)> = ctx
        .organisations
        .iter()
        .map(|(id, _)| (*id, form.get(&format!("share-{id}")).trim().to_owned()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if !typed.is_empty() {
        let mut shares = Vec::new();
        for (id, v) in typed {
            match apportion::parse_percent(&v) {
                Ok(bp) => shares.push(decision::Share {
                    organisation_id: id,
                    basis_points: bp,
                }),
                Err(e) => found.push((format!("share-{id}"), e)),
            }
        }
        if let Err(e) = apportion::check(
            &shares
                .iter()
                .map(|x| (x.organisation_id, x.basis_points))
                .collect::<Vec<_>>(),
        ) {
            found.push(("shares".into(), e));
        }
        t.shares = shares;
    }
    // An added cost line.
    let item = form.get("line_item").trim();
    if !item.is_empty() {
        let sub = Form::from_pairs(
            form.pairs()
                .into_iter()
                .filter_map(|(k, v)| k.strip_prefix("line_").map(|k| (k.to_owned(), v))),
        );
        match crate::referrals::sections::parse_line(&sub) {
            Ok(line) => {
                if line.start < t.start || line.end > t.end {
                    found.push((
                        "line_start".into(),
                        "The new cost must fall within the agreement's dates".into(),
                    ));
                } else {
                    t.lines.push(line);
                }
            }
            Err(list) => found.extend(list.0.into_iter().map(|(k, m)| (format!("line_{k}"), m))),
        }
    }
    if t.review_date < today() {
        found.push((
            "review".into(),
            "The review date must be today or later".into(),
        ));
    }
    let latest = decision::latest_review(t.start.max(today()), s.panel.rules.review_max_months);
    if t.review_date > latest {
        found.push((
            "review".into(),
            format!(
                "The review date must be no more than {} months ahead ({} at the latest)",
                s.panel.rules.review_max_months,
                date(latest)
            ),
        ));
    }
    if t.lines.is_empty() {
        found.push((
            "end".into(),
            "No cost would remain within the agreement's dates".into(),
        ));
    }
    if t == a.current.terms && found.is_empty() {
        found.push((
            "_form".into(),
            "Nothing has changed: enter a new end date, review date, shares or cost".into(),
        ));
    }
    match reason {
        Some(r) if found.is_empty() => Ok((t, r)),
        _ => Err(Refusal::Fields(found)),
    }
}

pub async fn activate(state: &AppState, p: &Principal, agreement_id: i64) -> Result<(), Refusal> {
    let user = p.user.clone();
    let actor = p.actor();
    in_tx(state, move |tx| {
        let a = agreements::get(tx, agreement_id)?.ok_or(AppError::NotFound)?;
        let s = scene(tx, &user, a.referral_id)?;
        if !s.rights.admin {
            return Err(Refusal::App(AppError::Forbidden));
        }
        Ok(decisions::activate(tx, &actor, agreement_id)?)
    })
    .await
}

// ---------------------------------------------------------------------------
// The decision page

/// The form's values, as typed or as saved.
fn values_of(d: &Draft) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut put = |k: &str, v: String| m.entry(k.to_owned()).or_default().push(v);
    if let Some(o) = d.outcome {
        put("outcome", o.slug().into());
    }
    if let Some(o) = d.option_id {
        put("option", o.to_string());
    }
    put("rationale", d.rationale.clone());
    put("outcomes_achieved", d.outcomes_achieved.clone());
    put("views", d.views.clone());
    if let Some(r) = &d.closure_reason {
        put("closure_reason", r.clone());
    }
    for n in &d.needs {
        put("needs", n.clone());
    }
    for (k, v) in [
        ("lead_agency", d.lead_agency_id),
        ("key_worker", d.key_worker_id),
        ("contract_agency", d.contract_agency_id),
    ] {
        if let Some(v) = v {
            put(k, v.to_string());
        }
    }
    let mut put_date = |k: &str, v: Option<NaiveDate>| {
        use chrono::Datelike;
        if let Some(v) = v {
            m.entry(format!("{k}-day"))
                .or_default()
                .push(v.day().to_string());
            m.entry(format!("{k}-month"))
                .or_default()
                .push(v.month().to_string());
            m.entry(format!("{k}-year"))
                .or_default()
                .push(v.year().to_string());
        }
    };
    put_date("review", d.review_date);
    put_date("start", d.start);
    put_date("end", d.end);
    for (i, e) in d.expectations.iter().enumerate() {
        put_date(&format!("expectation-{}-due", i + 1), Some(e.due));
    }
    for (i, e) in d.expectations.iter().enumerate() {
        m.entry(format!("expectation-{}", i + 1))
            .or_default()
            .push(e.what.clone());
    }
    m.entry("provider".into())
        .or_default()
        .push(d.provider.clone());
    if let Some(dp) = d.direct_payment {
        m.entry("direct_payment".into())
            .or_default()
            .push(if dp { "yes" } else { "no" }.into());
    }
    for s in &d.shares {
        m.entry(format!("share-{}", s.organisation_id))
            .or_default()
            .push(
                apportion::percent(s.basis_points)
                    .trim_end_matches('%')
                    .to_owned(),
            );
    }
    m
}

fn typed_date(v: &dyn Fn(&str) -> String, key: &str) -> String {
    format!(
        "{}-{}-{}",
        v(&format!("{key}-year")),
        v(&format!("{key}-month")),
        v(&format!("{key}-day"))
    )
}

pub struct DraftForm {
    pub decision: Vec<Field>,
    pub forward: Vec<Field>,
    pub expectations: Vec<Field>,
    pub funding: Vec<Field>,
    pub shares: Vec<Field>,
    pub shares_error: Option<String>,
}

fn draft_form(
    s: &Scene,
    v: &dyn Fn(&str) -> String,
    all: &dyn Fn(&str) -> Vec<String>,
    errors: &Errors,
) -> DraftForm {
    let options = s
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let t = option_totals(&o.lines.iter().map(|l| l.line.clone()).collect::<Vec<_>>());
            (
                o.id.to_string(),
                format!(
                    "Option {}: {} — {}, {} in all{}",
                    i + 1,
                    o.provider,
                    o.description.chars().take(80).collect::<String>(),
                    t.term,
                    if Some(o.id) == s.r.recommended_option_id {
                        " (recommended)"
                    } else {
                        ""
                    }
                ),
            )
        })
        .collect();
    let needs: Vec<(String, String)> = NEEDS
        .iter()
        .filter(|(k, _)| s.referral_needs.iter().any(|n| n == k))
        .map(|(k, l)| ((*k).to_owned(), (*l).to_owned()))
        .collect();
    let mut agencies = vec![(String::new(), "Select an agency".to_owned())];
    agencies.extend(s.agencies.iter().map(|a| {
        (
            a.id.to_string(),
            format!("{} ({})", a.name, a.organisation_name),
        )
    }));
    let mut people = vec![(String::new(), "Select a person".to_owned())];
    people.extend(
        s.key_workers
            .iter()
            .map(|(id, n)| (id.to_string(), n.clone())),
    );
    let outcomes: &[Outcome] = if s.is_review() {
        &Outcome::REVIEW
    } else {
        &Outcome::NEW
    };
    let mut decision_fields = vec![
        Field::radios(
            "outcome",
            if s.is_review() {
                "The panel's decision at the review"
            } else {
                "The panel's decision"
            },
            v("outcome"),
            outcomes
                .iter()
                .map(|o| (o.slug().to_owned(), o.label().to_owned()))
                .collect(),
        ),
        Field::radios("option", "The option chosen", v("option"), options)
            .hint("Not needed when the referral is deferred or declined"),
        Field::textarea("rationale", "Rationale", v("rationale")).hint(
            "Why the panel decided this, grounded in the child's assessed needs (seed 002 §15)",
        ),
        Field::checkboxes(
            "needs",
            "The assessed needs the decision answers",
            all("needs"),
            needs,
        )
        .hint("The needs the referral identified"),
    ];
    if s.is_review() {
        // At a review the option is not chosen again: the agreement continues,
        // is varied on its own page, or ends.
        decision_fields.remove(1);
        decision_fields.insert(
            1,
            Field::textarea(
                "outcomes_achieved",
                "Outcomes achieved against those sought",
                v("outcomes_achieved"),
            )
            .hint("The key worker's report: what has changed for the child since the agreement"),
        );
        decision_fields.insert(
            2,
            Field::textarea("views", "Views of the child and family", v("views"))
                .hint("In their words where possible (seed 000 §3.15)"),
        );
    }
    let forward = vec![
        Field::select("lead_agency", "Lead agency", v("lead_agency"), agencies.clone()),
        Field::select("key_worker", "Key worker", v("key_worker"), people),
        Field::date("review", "Review date", &typed_date(v, "review")).hint(&format!(
            "When the key worker reports back to the panel: at most {} months after the agreement starts",
            s.panel.rules.review_max_months
        )),
    ];
    let mut rows = 0;
    while rows < MAX_EXPECTATIONS && !v(&format!("expectation-{}", rows + 1)).is_empty() {
        rows += 1;
    }
    let rows = (rows + 2).min(MAX_EXPECTATIONS);
    let mut expectations = Vec::new();
    for n in 1..=rows {
        expectations.push(Field::text(
            &format!("expectation-{n}"),
            &format!("Expectation {n}: what the key worker will do"),
            v(&format!("expectation-{n}")),
        ));
        expectations.push(Field::date(
            &format!("expectation-{n}-due"),
            &format!("Expectation {n}: by when"),
            &typed_date(v, &format!("expectation-{n}-due")),
        ));
    }
    let funding = if s.is_review() {
        vec![
            Field::date(
                "end",
                "If the agreement ends: its last day",
                &typed_date(v, "end"),
            )
            .hint("The committed cost stops on this day"),
            Field::radios(
                "closure_reason",
                "If the agreement ends: why",
                v("closure_reason"),
                CLOSURE_REASONS
                    .iter()
                    .filter(|(k, _)| decision::REVIEW_CLOSURE_REASONS.contains(k))
                    .map(|(k, l)| ((*k).to_owned(), (*l).to_owned()))
                    .collect(),
            ),
        ]
    } else {
        vec![
        Field::text("provider", "Provider", v("provider"))
            .hint("Filled from the chosen option when left blank"),
        Field::select(
            "contract_agency",
            "Agency that holds the contract",
            v("contract_agency"),
            agencies,
        ),
        Field::radios(
            "direct_payment",
            "Paid to the family as a direct payment?",
            v("direct_payment"),
            vec![("yes".into(), "Yes".into()), ("no".into(), "No".into())],
        ),
        Field::date("start", "The agreement starts", &typed_date(v, "start")),
        Field::date("end", "The agreement ends", &typed_date(v, "end"))
            .hint("Every agreement has a finite end; the option's costs are counted between the two dates"),
        ]
    };
    let shares = s
        .organisations
        .iter()
        .filter(|_| !s.is_review())
        .map(|o| {
            let key = format!("share-{}", o.id);
            Field::number(&key, &format!("{} (%)", o.name), v(&key))
        })
        .collect();
    let attach = |fields: Vec<Field>| crate::pages::with_errors(fields, errors);
    DraftForm {
        decision: attach(decision_fields),
        forward: attach(forward),
        expectations: attach(expectations),
        funding: attach(funding),
        shares: attach(shares),
        shares_error: errors.get("shares").map(str::to_owned),
    }
}

/// One organisation's money in an apportionment table.
pub struct MoneyRow {
    pub label: String,
    pub parts: Vec<Pence>,
    pub total: Pence,
}

/// An apportionment shown by financial year and by month.
pub struct MoneyTables {
    pub organisations: Vec<String>,
    pub years: Vec<MoneyRow>,
    pub months: Vec<MoneyRow>,
    pub totals: Vec<Pence>,
    pub total: Pence,
}

pub fn money_tables(lines: &[CostLine], shares: &[(String, u32)]) -> MoneyTables {
    let bp: Vec<u32> = shares.iter().map(|(_, b)| *b).collect();
    let row = |label: String, parts: Vec<Pence>| MoneyRow {
        total: Pence(parts.iter().map(|p| p.0).sum()),
        label,
        parts,
    };
    let years: Vec<MoneyRow> = apportion::by_financial_year(lines, &bp)
        .into_iter()
        .map(|(fy, parts)| row(apportion::financial_year_label(fy), parts))
        .collect();
    let months = apportion::by_month(lines, &bp)
        .into_iter()
        .map(|((y, m), parts)| row(format!("{} {y}", MONTHS[(m - 1) as usize]), parts))
        .collect();
    let mut totals = vec![Pence(0); shares.len()];
    for y in &years {
        for (t, p) in totals.iter_mut().zip(&y.parts) {
            t.0 += p.0;
        }
    }
    MoneyTables {
        organisations: shares
            .iter()
            .map(|(n, b)| format!("{n} ({})", apportion::percent(*b)))
            .collect(),
        total: Pence(totals.iter().map(|p| p.0).sum()),
        years,
        months,
        totals,
    }
}

/// A signed (or draft) decision as the page shows it.
pub struct DecisionView {
    pub d: Decision,
    pub rows: Vec<(String, String)>,
    pub expectations: Vec<(String, String)>,
    pub letters: Vec<Letter>,
}

fn decision_view(s: &Scene, d: &Decision) -> DecisionView {
    let x = &d.draft;
    let mut rows = vec![("Outcome".to_owned(), d.outcome_label().to_owned())];
    if let Some((i, o)) = s
        .options
        .iter()
        .enumerate()
        .find(|(_, o)| Some(o.id) == x.option_id)
    {
        rows.push((
            "Option chosen".into(),
            format!("Option {}: {} — {}", i + 1, o.provider, o.description),
        ));
    }
    if !x.outcomes_achieved.is_empty() {
        rows.push(("Outcomes achieved".into(), x.outcomes_achieved.clone()));
    }
    if !x.views.is_empty() {
        rows.push(("Views of the child and family".into(), x.views.clone()));
    }
    if x.outcome == Some(Outcome::End) {
        rows.push((
            "Agreement ends".into(),
            format!(
                "{}: {}",
                x.end.map(date).unwrap_or_default(),
                CLOSURE_REASONS
                    .iter()
                    .find(|(k, _)| x.closure_reason.as_deref() == Some(*k))
                    .map_or("", |(_, l)| *l)
            ),
        ));
    }
    rows.push(("Rationale".into(), x.rationale.clone()));
    rows.push((
        "Needs answered".into(),
        NEEDS
            .iter()
            .filter(|(k, _)| x.needs.iter().any(|n| n == k))
            .map(|(_, l)| *l)
            .collect::<Vec<_>>()
            .join(", "),
    ));
    if x.lead_agency_id.is_some() {
        rows.push(("Lead agency".into(), s.agency_name(x.lead_agency_id)));
        rows.push(("Key worker".into(), s.person(x.key_worker_id)));
    }
    if let Some(r) = x.review_date {
        rows.push(("Review date".into(), date(r)));
    }
    if x.outcome.is_some_and(Outcome::funds) {
        rows.push((
            "Funding".into(),
            format!(
                "{} from {} to {}; contract held by {}; {}",
                x.provider,
                x.start.map(date).unwrap_or_default(),
                x.end.map(date).unwrap_or_default(),
                s.agency_name(x.contract_agency_id),
                if x.direct_payment == Some(true) {
                    "paid as a direct payment"
                } else {
                    "not a direct payment"
                }
            ),
        ));
        rows.push((
            "Apportionment".into(),
            x.shares
                .iter()
                .map(|sh| {
                    format!(
                        "{} {}",
                        s.organisation_name(sh.organisation_id),
                        apportion::percent(sh.basis_points)
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    if d.signed() {
        if d.total.0 > 0 {
            rows.push(("Total commitment".into(), d.total.to_string()));
        }
        match d.authority_status.as_str() {
            "pending" => rows.push((
                "Delegated authority".into(),
                format!(
                    "Escalated: the commitment is above the panel's limit of {} and is pending the agreement of the {}",
                    d.delegated_limit, d.authority
                ),
            )),
            "agreed" => rows.push((
                "Delegated authority".into(),
                format!(
                    "Escalated to the {}: agreed by {} on {}",
                    d.authority,
                    d.authority_agreed_by.clone().unwrap_or_default(),
                    d.authority_agreed_on.map(date).unwrap_or_default()
                ),
            )),
            _ => {}
        }
        rows.push((
            "Present".into(),
            d.present
                .iter()
                .map(|p| match &p.person {
                    Some(n) => format!("{}: {} ({n})", p.agency, p.presence),
                    None => format!("{}: {}", p.agency, p.presence),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ));
        rows.push((
            "Signed off".into(),
            format!(
                "by {} on {}",
                d.signed_by_name.clone().unwrap_or_default(),
                d.signed_at.map(date_time).unwrap_or_default()
            ),
        ));
        if let Some(due) = d.letter_due {
            rows.push(("Letter due".into(), date(due)));
        }
    }
    DecisionView {
        expectations: x
            .expectations
            .iter()
            .map(|e| (e.what.clone(), date(e.due)))
            .collect(),
        letters: s.letters.get(&d.id).cloned().unwrap_or_default(),
        rows,
        d: d.clone(),
    }
}

#[derive(Template)]
#[template(path = "decisions/show.html")]
struct DecisionPage {
    page: PageCtx,
    s: Scene,
    signed: Vec<DecisionView>,
    draft: Option<DecisionView>,
    form: Option<DraftForm>,
    draft_id: String,
    draft_version: String,
    preview: Option<MoneyTables>,
    /// The preview shows the values as entered, not yet saved.
    preview_entered: bool,
    can_send: bool,
    letter_kind: &'static str,
    authority_fields: Vec<Field>,
    agreement_total: Option<Pence>,
    /// The page's errors, each linked to its field's first input.
    errors: Errors,
}

async fn render_page(
    state: &AppState,
    p: &Principal,
    referral_id: i64,
    typed: Option<Form>,
    errors: Errors,
) -> Result<Response, AppError> {
    let user = p.user.clone();
    let actor = p.actor();
    let s = state
        .db(move |c| {
            let s = scene(c, &user, referral_id)?;
            children::record_view(
                c,
                &actor,
                s.r.child_id,
                &format!("decision on referral {referral_id}"),
            )?;
            Ok(s)
        })
        .await?;
    let draft = s.draft().cloned();
    let mut saved = draft
        .as_ref()
        .map(|d| values_of(&d.draft))
        .unwrap_or_default();
    // The agreement's dates are offered from the chosen (or recommended)
    // option's cost lines until someone sets them.
    if let Some(o) = s.option(
        draft
            .as_ref()
            .and_then(|d| d.draft.option_id)
            .or(s.r.recommended_option_id),
    ) {
        use chrono::Datelike;
        let first = o.lines.iter().map(|l| l.line.start).min();
        let last = o.lines.iter().map(|l| l.line.end).max();
        for (key, d) in [("start", first), ("end", last)] {
            if let Some(d) = d
                && !saved.contains_key(&format!("{key}-day"))
            {
                saved.insert(format!("{key}-day"), vec![d.day().to_string()]);
                saved.insert(format!("{key}-month"), vec![d.month().to_string()]);
                saved.insert(format!("{key}-year"), vec![d.year().to_string()]);
            }
        }
    }
    // What the form shows: as typed when it is shown again with errors, as saved otherwise.
    let values: BTreeMap<String, Vec<String>> = match &typed {
        Some(f) => {
            let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (k, x) in f.pairs() {
                m.entry(k).or_default().push(x);
            }
            m
        }
        None => saved,
    };
    let v = |k: &str| {
        values
            .get(k)
            .and_then(|x| x.first())
            .cloned()
            .unwrap_or_default()
    };
    let all = |k: &str| values.get(k).cloned().unwrap_or_default();
    let can_start = s.rights.edit && s.r.status == Status::Considered && draft.is_none();
    let form = (s.rights.edit && (draft.is_some() || can_start))
        .then(|| draft_form(&s, &v, &all, &errors));
    // The apportionment of the terms as entered (the preview button) or as
    // saved, so the chair sees each organisation's cost by year and month
    // while editing and before signing.
    let entered: Option<Draft> = match &typed {
        Some(f) if errors.is_empty() => {
            let (d, problems) = decision::read(&|k| f.all(k).to_vec(), &s.context());
            problems.is_empty().then_some(d)
        }
        _ => None,
    };
    let preview_entered = entered.is_some();
    let source = entered.or_else(|| draft.as_ref().map(|d| d.draft.clone()));
    let preview = source.as_ref().and_then(|x| {
        let (start, end) = (x.start?, x.end?);
        if x.shares.is_empty()
            || apportion::check(
                &x.shares
                    .iter()
                    .map(|s| (s.organisation_id, s.basis_points))
                    .collect::<Vec<_>>(),
            )
            .is_err()
        {
            return None;
        }
        let lines: Vec<CostLine> = s
            .option(x.option_id)?
            .lines
            .iter()
            .map(|l| l.line.clone())
            .collect();
        let lines = decision::clip(&lines, start, end);
        let shares: Vec<(String, u32)> = x
            .shares
            .iter()
            .map(|sh| (s.organisation_name(sh.organisation_id), sh.basis_points))
            .collect();
        Some(money_tables(&lines, &shares))
    });
    let signed = s
        .decisions
        .iter()
        .filter(|d| d.signed())
        .map(|d| decision_view(&s, d))
        .collect();
    let draft_view = draft.as_ref().map(|d| decision_view(&s, d));
    let in_force = s.in_force().cloned();
    let can_send = s.rights.admin
        && in_force.as_ref().is_some_and(|d| {
            !s.letters
                .get(&d.id)
                .is_some_and(|l| l.iter().any(|x| x.kind == "final"))
        });
    let letter_kind = if s.held.is_empty() {
        "final"
    } else {
        "provisional"
    };
    let authority_fields = crate::pages::with_errors(
        vec![
            Field::text(
                "authority_by",
                "Who agreed, with their post",
                typed
                    .as_ref()
                    .map(|f| f.get("authority_by").to_owned())
                    .unwrap_or_default(),
            ),
            Field::date(
                "authority_on",
                "The date they agreed",
                &typed
                    .as_ref()
                    .map(|f| f.date_typed("authority_on"))
                    .unwrap_or_default(),
            ),
        ],
        &errors,
    );
    // The error summary links to each field's first input.
    let mut summary = Errors::default();
    for (k, m) in &errors.0 {
        let anchor = match k.as_str() {
            "outcome" | "option" | "needs" | "direct_payment" => format!("{k}-0"),
            "_form" => "decision".to_owned(),
            other => other.to_owned(),
        };
        summary.0.push((anchor, m.clone()));
    }
    let view = DecisionPage {
        preview_entered,
        page: PageCtx::new(p, format!("Decision: referral {}", s.r.id), "/referrals")
            .with_errors(&errors),
        draft_id: draft.as_ref().map(|d| d.id.to_string()).unwrap_or_default(),
        draft_version: draft
            .as_ref()
            .map(|d| d.version.to_string())
            .unwrap_or_default(),
        agreement_total: s.agreement.as_ref().map(|a| a.current.total),
        signed,
        draft: draft_view,
        form,
        preview,
        can_send,
        letter_kind,
        authority_fields,
        errors: summary,
        s,
    };
    Ok(render_checked(&view, &view.errors))
}

async fn page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    render_page(&state, &p, id, None, Errors::default()).await
}

/// A refusal shown on the decision page (or raised as the error it is).
async fn refused(
    state: &AppState,
    p: &Principal,
    referral_id: i64,
    typed: Option<Form>,
    r: Refusal,
) -> Result<Response, AppError> {
    let e = r.into_errors("_form")?;
    render_page(state, p, referral_id, typed, e).await
}

fn optional_id(raw: &str) -> Result<Option<i64>, AppError> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    crate::admin::chosen_id(raw)
        .map(Some)
        .ok_or_else(|| AppError::BadRequest("The decision is not valid".into()))
}

/// The problems with what is entered, as the draft's save would find them.
async fn preview_problems(
    state: &AppState,
    p: &Principal,
    id: i64,
    form: &Form,
) -> Result<Errors, AppError> {
    let user = p.user.clone();
    let s = state.db(move |c| scene(c, &user, id)).await?;
    if !s.rights.edit {
        return Err(AppError::Forbidden);
    }
    let ctx = s.context();
    let (draft, mut found) = decision::read(&|k| form.all(k).to_vec(), &ctx);
    found.extend(decision::check(&draft, &ctx, false));
    let mut e = Errors::default();
    for p in found {
        e.add(&p.key, p.message);
    }
    Ok(e)
}

async fn save_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let decision_id = optional_id(form.get("decision_id"))?;
    let v = if decision_id.is_some() {
        Some(version(&form)?)
    } else {
        None
    };
    if form.get("action") == "preview" {
        // Shows the apportionment of what is entered, saving nothing.
        let errors = preview_problems(&state, &p, id, &form).await?;
        return render_page(&state, &p, id, Some(form), errors).await;
    }
    match save_draft(&state, &p, id, decision_id, v, form.clone()).await {
        Ok(_) => Ok(Redirect::to(&format!("/referrals/{id}/decision#draft")).into_response()),
        Err(r) => refused(&state, &p, id, Some(form), r).await,
    }
}

async fn sign_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let decision_id = optional_id(form.get("decision_id"))?.ok_or(AppError::NotFound)?;
    let v = version(&form)?;
    match sign(&state, &p, id, decision_id, v).await {
        Ok(_) => Ok(Redirect::to(&format!("/referrals/{id}/decision")).into_response()),
        Err(r) => refused(&state, &p, id, None, r).await,
    }
}

async fn correct_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let decision_id = optional_id(form.get("decision_id"))?.ok_or(AppError::NotFound)?;
    match correct(&state, &p, id, decision_id).await {
        Ok(_) => Ok(Redirect::to(&format!("/referrals/{id}/decision#draft")).into_response()),
        Err(r) => refused(&state, &p, id, None, r).await,
    }
}

async fn authority_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let decision_id = optional_id(form.get("decision_id"))?.ok_or(AppError::NotFound)?;
    let v = version(&form)?;
    let on = form.date("authority_on", "the date they agreed");
    match record_authority(
        &state,
        &p,
        id,
        decision_id,
        v,
        form.get("authority_by").to_owned(),
        on,
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/referrals/{id}/decision")).into_response()),
        Err(r) => refused(&state, &p, id, Some(form), r).await,
    }
}

async fn letter_preview(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    let user = p.user.clone();
    let (kind, pdf) = state
        .db(move |c| {
            let s = scene(c, &user, id)?;
            if !s.rights.edit {
                return Err(AppError::Forbidden);
            }
            let (_, kind, pdf) = letter_for(c, &s)?;
            Ok((kind, pdf))
        })
        .await?;
    Ok(crate::files::download(
        pdf,
        &format!("decision-letter-{kind}-referral-{id}-preview.pdf"),
        "application/pdf",
    ))
}

async fn letter_send_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    _form: Form,
) -> Result<Response, AppError> {
    match send_letter(&state, &p, id, None).await {
        Ok(_) => Ok(Redirect::to(&format!("/referrals/{id}/decision#letters")).into_response()),
        Err(r) => refused(&state, &p, id, None, r).await,
    }
}

async fn letter_download(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    let user = p.user.clone();
    let actor = p.actor();
    let (name, ctype, bytes) = state
        .db(move |c| {
            let row = c
                .query_opt(
                    "SELECT d.referral_id, l.attachment_id FROM decision_letters l JOIN decisions d ON d.id = l.decision_id WHERE l.id = $1",
                    &jp_store::params![id],
                )?
                .ok_or(AppError::NotFound)?;
            let (referral_id, attachment): (i64, i64) = (row.get(0)?, row.get(1)?);
            let r = referrals::get(c, referral_id)?.ok_or(AppError::NotFound)?;
            rights(c, &user, &r)?;
            let mut tx = c.begin()?;
            jp_store::audit::record(
                &mut tx,
                &actor,
                "decision.letter-downloaded",
                "decision-letter",
                Some(id.to_string()),
                serde_json::json!({"referral_id": referral_id}),
            )?;
            tx.commit()?;
            jp_store::outbox::attachment(c, attachment)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok(crate::files::download(bytes, &name, &ctype))
}

// ---------------------------------------------------------------------------
// The letter

fn letter_blocks(s: &Scene, d: &Decision, kind: &str, to: &[User]) -> Vec<jp_documents::Block> {
    use jp_documents::Block;
    let x = &d.draft;
    let mut b = vec![
        Block::Title(format!("{}: decision letter", s.panel.name)),
        Block::Field(
            "To".into(),
            to.iter()
                .map(|u| u.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Block::Field(
            "About".into(),
            format!(
                "{} (local ID {}), referral {}",
                s.child.full_name(),
                s.r.child_local_id,
                s.r.id
            ),
        ),
        Block::Field(
            "Meeting".into(),
            s.r.meeting_date
                .map(date)
                .unwrap_or_else(|| "Not recorded".into()),
        ),
        Block::Field("Date of this letter".into(), date(today())),
    ];
    if kind != "final" {
        b.push(Block::Heading(
            "This is a recommendation, not yet a final decision".into(),
        ));
        for h in &s.held {
            b.push(Block::Para(format!("{h}.")));
        }
        b.push(Block::Para(
            "Under the panel's terms of reference a decision that affects an agency that was not represented is a recommendation to that agency, and a commitment above the panel's delegated authority needs the higher authority's agreement. Do not start the arrangement yet: a final letter follows when the decision is final.".into(),
        ));
    }
    b.push(Block::Heading("The panel's decision".into()));
    b.push(Block::Field("Outcome".into(), d.outcome_label().into()));
    if let Some((i, o)) = s
        .options
        .iter()
        .enumerate()
        .find(|(_, o)| Some(o.id) == x.option_id)
    {
        b.push(Block::Field(
            "Option".into(),
            format!("Option {}: {} — {}", i + 1, o.provider, o.description),
        ));
    }
    if !x.outcomes_achieved.is_empty() {
        b.push(Block::Subheading("Outcomes achieved".into()));
        b.push(Block::Para(x.outcomes_achieved.clone()));
    }
    if !x.views.is_empty() {
        b.push(Block::Subheading("Views of the child and family".into()));
        b.push(Block::Para(x.views.clone()));
    }
    if x.outcome == Some(Outcome::End)
        && let Some(e) = x.end
    {
        b.push(Block::Field("The agreement ends on".into(), date(e)));
    }
    b.push(Block::Subheading("Why the panel decided this".into()));
    b.push(Block::Para(x.rationale.clone()));
    b.push(Block::Field(
        "Assessed needs answered".into(),
        NEEDS
            .iter()
            .filter(|(k, _)| x.needs.iter().any(|n| n == k))
            .map(|(_, l)| *l)
            .collect::<Vec<_>>()
            .join(", "),
    ));
    if x.outcome.is_some_and(Outcome::funds)
        && let Some(a) = &s.agreement
    {
        let t = &a.current.terms;
        b.push(Block::Heading("Funding".into()));
        b.push(Block::Field("Provider".into(), t.provider.clone()));
        b.push(Block::Field(
            "Period".into(),
            format!("{} to {}", date(t.start), date(t.end)),
        ));
        b.push(Block::Field(
            "Contract held by".into(),
            a.current.contract_agency_name.clone(),
        ));
        b.push(Block::Field(
            "Direct payment".into(),
            if t.direct_payment { "Yes" } else { "No" }.into(),
        ));
        b.push(Block::Field(
            "Total commitment".into(),
            a.current.total.to_string(),
        ));
        let shares: Vec<(String, u32)> = a
            .current
            .organisations
            .iter()
            .zip(&t.shares)
            .map(|((_, n), sh)| (n.clone(), sh.basis_points))
            .collect();
        let tables = money_tables(&t.lines, &shares);
        b.push(Block::Subheading("Who pays".into()));
        for (name, total) in tables.organisations.iter().zip(&tables.totals) {
            b.push(Block::Field(name.clone(), total.to_string()));
        }
        for y in &tables.years {
            b.push(Block::Field(
                format!("Financial year {}", y.label),
                tables
                    .organisations
                    .iter()
                    .zip(&y.parts)
                    .map(|(n, p)| format!("{n}: {p}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
        }
        match d.authority_status.as_str() {
            "pending" => b.push(Block::Para(format!(
                "The commitment is above the panel's delegated authority of {}. The panel has escalated it to the {}; it is pending until that agreement is recorded.",
                d.delegated_limit, d.authority
            ))),
            "agreed" => b.push(Block::Para(format!(
                "The commitment is above the panel's delegated authority of {}; the {} agreed it ({} on {}).",
                d.delegated_limit,
                d.authority,
                d.authority_agreed_by.clone().unwrap_or_default(),
                d.authority_agreed_on.map(date).unwrap_or_default()
            ))),
            _ => {}
        }
    }
    if x.lead_agency_id.is_some() {
        b.push(Block::Heading("Who takes it forward".into()));
        b.push(Block::Field(
            "Lead agency".into(),
            s.agency_name(x.lead_agency_id),
        ));
        b.push(Block::Field("Key worker".into(), s.person(x.key_worker_id)));
        for e in &x.expectations {
            b.push(Block::Field(format!("By {}", date(e.due)), e.what.clone()));
        }
    }
    if let Some(r) = x.review_date {
        b.push(Block::Field(
            "Review".into(),
            format!(
                "The key worker reports progress to the panel by {}.",
                date(r)
            ),
        ));
    }
    if x.outcome == Some(Outcome::Deferred) {
        b.push(Block::Para(
            "The panel deferred the referral for more information. It is booked on the panel's next meeting; send what the panel asked for by that meeting's submission deadline.".into(),
        ));
    }
    b.push(Block::Heading("Who was present".into()));
    for p in &d.present {
        b.push(Block::Field(
            p.agency.clone(),
            match &p.person {
                Some(n) => format!("{} ({n})", p.presence),
                None => p.presence.clone(),
            },
        ));
    }
    b.push(Block::Heading("If you disagree".into()));
    b.push(Block::Para(format!(
        "Write to the chair of the {} through the panel administrator within 20 working days of this letter, saying why and with any new information. The chair will put the case to the panel again at its next meeting. The family can also use the council's or the NHS's complaints procedure; this letter does not affect that right.",
        s.panel.name
    )));
    b.push(Block::Note(format!(
        "Decision {} signed off by {} on {}{}. Keep this letter in the child's file.",
        d.id,
        d.signed_by_name.clone().unwrap_or_default(),
        d.signed_at.map(|t| date(t.date())).unwrap_or_default(),
        d.corrects_id
            .map(|c| format!("; it corrects decision {c}"))
            .unwrap_or_default()
    )));
    b
}

// ---------------------------------------------------------------------------
// Closure

#[derive(Template)]
#[template(path = "decisions/close.html")]
struct ClosePage {
    page: PageCtx,
    r: Referral,
    agreement: Option<Agreement>,
    fields: Vec<Field>,
    errors: Errors,
}

async fn close_response(
    state: &AppState,
    p: &Principal,
    id: i64,
    form: Option<Form>,
    errors: Errors,
) -> Result<Response, AppError> {
    let user = p.user.clone();
    let s = state.db(move |c| scene(c, &user, id)).await?;
    if !s.rights.admin {
        return Err(AppError::Forbidden);
    }
    let kept = |k: &str| {
        form.as_ref()
            .map(|f| f.get(k).to_owned())
            .unwrap_or_default()
    };
    let fields = crate::pages::with_errors(
        vec![
            Field::radios(
                "reason",
                "Why is the referral being closed?",
                kept("reason"),
                CLOSURE_REASONS
                    .iter()
                    .filter(|(k, _)| matches!(*k, "suitable-programme" | "no-longer-in-need"))
                    .map(|(k, l)| ((*k).to_owned(), (*l).to_owned()))
                    .collect(),
            ),
            Field::date(
                "closed_on",
                "Close on",
                &form
                    .as_ref()
                    .map(|f| f.date_typed("closed_on"))
                    .unwrap_or_default(),
            )
            .hint("The funding agreement ends on this day: committed cost stops there"),
        ],
        &errors,
    );
    let mut summary = Errors::default();
    for (k, m) in &errors.0 {
        summary.add(if k == "reason" { "reason-0" } else { k }, m.clone());
    }
    let view = ClosePage {
        page: PageCtx::new(p, format!("Close referral {id}"), "/referrals").with_errors(&errors),
        r: s.r,
        agreement: s.agreement,
        fields,
        errors: summary,
    };
    Ok(render_checked(&view, &view.errors))
}

async fn close_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    close_response(&state, &p, id, None, Errors::default()).await
}

async fn close_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    let on = form.date("closed_on", "the day the referral closes");
    match close(&state, &p, id, v, form.get("reason").to_owned(), on).await {
        Ok(_) => Ok(Redirect::to(&format!("/referrals/{id}")).into_response()),
        Err(r) => {
            let e = r.into_errors("reason")?;
            close_response(&state, &p, id, Some(form), e).await
        }
    }
}

// ---------------------------------------------------------------------------
// The agreement page

#[derive(Template)]
#[template(path = "decisions/agreement.html")]
struct AgreementPage {
    page: PageCtx,
    a: Agreement,
    r: Referral,
    panel: Panel,
    held: Vec<String>,
    tables: MoneyTables,
    versions: Vec<agreements::Version>,
    can_admin: bool,
    money_only: bool,
    /// Actual spend recorded: (organisation, year, month, pence, reference).
    spend: Vec<jp_store::finance::Payment>,
    can_spend: bool,
    spend_fields: Vec<Field>,
}

impl AgreementPage {
    fn month_name(&self, year: &i64, month: &i64) -> String {
        let m = usize::try_from(*month - 1).unwrap_or(0).min(11);
        format!("{} {year}", MONTHS[m])
    }
    fn money(&self, p: &i64) -> String {
        Pence(*p).to_string()
    }
}

async fn agreement_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    let user = p.user.clone();
    let (a, r, panel, held, versions, can_admin, money_only, spend) = state
        .db(move |c| {
            let a = agreements::get(c, id)?.ok_or(AppError::NotFound)?;
            let r = referrals::get(c, a.referral_id)?.ok_or(AppError::NotFound)?;
            // Finance officers see money and the child's id (SPEC §8).
            let (can_admin, money_only) = match rights(c, &user, &r) {
                Ok(x) => (x.admin, false),
                Err(_) if referrals::sight(c, &user, &r)? == Sight::Money => (false, true),
                Err(e) => return Err(e),
            };
            let panel = panels::get(c, r.panel_id)?.ok_or(AppError::NotFound)?;
            let held = decisions::held_by(c, r.id)?;
            let versions = agreements::versions(c, id)?;
            let spend = jp_store::finance::spend_of(c, id)?;
            Ok((a, r, panel, held, versions, can_admin, money_only, spend))
        })
        .await?;
    let shares: Vec<(String, u32)> = a
        .current
        .organisations
        .iter()
        .zip(&a.current.terms.shares)
        .map(|((_, n), s)| (n.clone(), s.basis_points))
        .collect();
    let tables = money_tables(&a.current.terms.lines, &shares);
    let mut payers = vec![(String::new(), "Select the organisation".to_owned())];
    payers.extend(
        a.current
            .organisations
            .iter()
            .map(|(id, n)| (id.to_string(), n.clone())),
    );
    let spend_fields = vec![
        Field::select("spend_organisation_id", "Paid by", "", payers),
        Field::date("spend_month", "Paid in (any day of the month)", ""),
        Field::number("spend_amount", "Amount (£)", "").hint("A refund is a negative amount"),
        Field::text("spend_reference", "Invoice or ledger reference", ""),
    ];
    let view = AgreementPage {
        can_spend: p.user.has_any(&[Role::Finance, Role::Administrator]),
        spend,
        spend_fields,
        page: PageCtx::new(&p, format!("Funding agreement {id}"), "/referrals"),
        tables,
        a,
        r,
        panel,
        held,
        versions,
        can_admin,
        money_only,
    };
    Ok(render(&view))
}

#[derive(Template)]
#[template(path = "decisions/vary.html")]
struct VaryPage {
    page: PageCtx,
    a: Agreement,
    fields: Vec<Field>,
    share_fields: Vec<Field>,
    line_fields: Vec<Field>,
    errors: Errors,
}

async fn vary_response(
    state: &AppState,
    p: &Principal,
    id: i64,
    form: Option<Form>,
    errors: Errors,
) -> Result<Response, AppError> {
    let user = p.user.clone();
    let (a, s) = state
        .db(move |c| {
            let a = agreements::get(c, id)?.ok_or(AppError::NotFound)?;
            let s = scene(c, &user, a.referral_id)?;
            Ok((a, s))
        })
        .await?;
    if !s.rights.admin {
        return Err(AppError::Forbidden);
    }
    let kept = |k: &str| {
        form.as_ref()
            .map(|f| f.get(k).to_owned())
            .unwrap_or_default()
    };
    let typed = |k: &str| form.as_ref().map(|f| f.date_typed(k)).unwrap_or_default();
    let attach = |fields: Vec<Field>| crate::pages::with_errors(fields, &errors);
    let fields = attach(vec![
        Field::textarea("reason", "Reason for the variation", kept("reason")).hint(
            "For example: the placement ends early; the panel agreed extra sessions at review",
        ),
        Field::date("end", "New end date", &typed("end")).hint(&format!(
            "Now {}. Leave blank to keep it; an earlier date ends the agreement early",
            date(a.current.terms.end)
        )),
        Field::date("review", "New review date", &typed("review")).hint(&format!(
            "Now {}. Leave blank to keep it",
            date(a.current.terms.review_date)
        )),
    ]);
    let share_fields = attach(
        s.organisations
            .iter()
            .map(|o| {
                let key = format!("share-{}", o.id);
                Field::number(&key, &format!("{} (%)", o.name), kept(&key))
            })
            .collect(),
    );
    let line_fields = attach(vec![
        Field::text("line_item", "What the new cost is for", kept("line_item"))
            .hint("Leave blank when the variation adds no cost"),
        Field::number("line_unit_cost", "Unit cost (£)", kept("line_unit_cost")),
        Field::select(
            "line_unit",
            "How the cost is charged",
            kept("line_unit"),
            jp_domain::costs::Unit::ALL
                .iter()
                .map(|u| (u.slug().to_owned(), u.label().to_owned()))
                .collect(),
        ),
        Field::number("line_quantity", "Quantity", kept("line_quantity")),
        Field::date("line_start", "From", &typed("line_start")),
        Field::date("line_end", "To", &typed("line_end")),
    ]);
    let mut summary = Errors::default();
    for (k, m) in &errors.0 {
        summary.add(if k == "_form" { "reason" } else { k }, m.clone());
    }
    let view = VaryPage {
        page: PageCtx::new(p, format!("Vary funding agreement {id}"), "/referrals")
            .with_errors(&errors),
        a,
        fields,
        share_fields,
        line_fields,
        errors: summary,
    };
    Ok(render_checked(&view, &view.errors))
}

async fn vary_form(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
) -> Result<Response, AppError> {
    vary_response(&state, &p, id, None, Errors::default()).await
}

async fn vary_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id,
    form: Form,
) -> Result<Response, AppError> {
    let v = version(&form)?;
    match vary(&state, &p, id, v, form.clone()).await {
        Ok(_) => Ok(Redirect::to(&format!("/agreements/{id}")).into_response()),
        Err(r) => {
            let e = r.into_errors("_form")?;
            vary_response(&state, &p, id, Some(form), e).await
        }
    }
}

async fn activate_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    _form: Form,
) -> Result<Response, AppError> {
    match activate(&state, &p, id).await {
        Ok(()) => Ok(Redirect::to(&format!("/agreements/{id}")).into_response()),
        Err(Refusal::Fields(list)) => Err(AppError::Conflict(
            list.into_iter()
                .map(|(_, m)| m)
                .collect::<Vec<_>>()
                .join("; "),
        )),
        Err(Refusal::Conflict(m)) => Err(AppError::Conflict(m)),
        Err(Refusal::App(e)) => Err(e),
    }
}
