//! The paper pack (SPEC §4): built in the background once the papers are
//! circulated (by hand, or by the job at the circulation deadline), with its
//! progress on the papers page; one PDF of the agenda, each referral in full
//! and its PDF attachments' pages, other files listed and downloadable
//! separately. Each recipient's copy is stamped with their name, the date and
//! OFFICIAL-SENSITIVE as they open it; every download is audited; a member's
//! access ends when the meeting closes, the chair's and lead members' remain.

use crate::auth::Principal;
use crate::error::AppError;
use crate::pages::{PageCtx, date, file_size, render};
use crate::referrals::{Loaded, option_views, summaries};
use crate::routes::Routes;
use crate::state::AppState;
use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::NaiveDate;
use jp_documents::{Block, Part, Stamp};
use jp_domain::Role;
use jp_domain::meeting_lifecycle::MeetingStatus;
use jp_store::accounts::User;
use jp_store::attachments::{Attachment, Blobs, Limits};
use jp_store::db::Conn;
use jp_store::meetings::{self, Meeting};
use jp_store::packs::{self, Pack};
use jp_store::reference::panels::{self, Panel};
use jp_store::referrals::Sight;
use jp_store::{Actor, meeting_run};

pub fn routes() -> Routes {
    Routes::default()
        .get("/meetings/{id}/papers", papers_page)
        .get("/meetings/{id}/papers/pack.pdf", download)
        .get("/meetings/{id}/papers/attachments/{attachment}", attachment)
}

/// What a person may do with a meeting's papers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A copy to open.
    Open,
    /// The meeting closed and this copy was not kept.
    Ended,
    /// Not a recipient.
    None,
}

fn access(c: &mut Conn, user: &User, m: &Meeting, pack: &Pack) -> Result<Access, AppError> {
    Ok(match packs::copy_of(c, pack.id, user.id)? {
        None => Access::None,
        Some(kept) if m.status() == MeetingStatus::Closed && !kept => Access::Ended,
        Some(_) => Access::Open,
    })
}

const ENDED: &str = "The meeting has closed, so your access to its papers has ended: circulated copies are withdrawn at the close, as paper copies were collected and shredded. The chair's copy and the lead members' copies are kept as the record.";

fn load(
    c: &mut Conn,
    user: &User,
    id: i64,
) -> Result<(Meeting, Panel, Option<Pack>, Access), AppError> {
    let m = meetings::get(c, id)?.ok_or(AppError::NotFound)?;
    let panel = panels::get(c, m.panel_id)?.ok_or(AppError::NotFound)?;
    if !crate::meeting_run::may_read(c, user, m.panel_id)? {
        return Err(AppError::Denied(
            "The papers go to the panel's members and deputies only".into(),
        ));
    }
    let pack = packs::of_meeting(c, id)?;
    let acc = match &pack {
        Some(p) => access(c, user, &m, p)?,
        None => Access::None,
    };
    Ok((m, panel, pack, acc))
}

#[derive(Template)]
#[template(path = "meetings/papers.html")]
struct PapersPage {
    page: PageCtx,
    m: Meeting,
    panel: Panel,
    pack: Option<Pack>,
    access: Access,
    separate: Vec<Attachment>,
    copies: Vec<(i64, String, String, bool)>,
    is_admin: bool,
    percent: i64,
}

/// Attachments of the meeting's referrals that are not PDFs (listed separately).
fn separate_files(c: &mut Conn, meeting_id: i64) -> Result<Vec<Attachment>, AppError> {
    let mut out = Vec::new();
    for it in jp_store::agenda::items(c, meeting_id)? {
        if let Some(rid) = it.referral_id {
            out.extend(
                jp_store::attachments::of_referral(c, rid)?
                    .into_iter()
                    .filter(|a| a.content_type != "application/pdf"),
            );
        }
    }
    Ok(out)
}

async fn papers_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    crate::forms::Id(id): crate::forms::Id,
) -> Result<Response, AppError> {
    let user = p.user.clone();
    let (m, panel, pack, acc, separate, copies) = state
        .db(move |c| {
            let (m, panel, pack, acc) = load(c, &user, id)?;
            let separate = if acc == Access::Open {
                separate_files(c, id)?
            } else {
                Vec::new()
            };
            let copies = match (&pack, user.has(Role::Administrator)) {
                (Some(pk), true) => packs::copies(c, pk.id)?,
                _ => Vec::new(),
            };
            Ok((m, panel, pack, acc, separate, copies))
        })
        .await?;
    let percent = pack.as_ref().map_or(0, |p| {
        if p.total > 0 {
            p.done * 100 / p.total
        } else {
            0
        }
    });
    Ok(render(&PapersPage {
        page: PageCtx::new(
            &p,
            format!("Papers: {} on {}", panel.name, date(m.date)),
            "/meetings",
        ),
        is_admin: p.user.has(Role::Administrator),
        m,
        panel,
        pack,
        access: acc,
        separate,
        copies,
        percent,
    }))
}

/// Checks the person may open the papers now; the ready pack.
async fn ready_copy(state: &AppState, p: &Principal, id: i64) -> Result<(Meeting, Pack), AppError> {
    let user = p.user.clone();
    let (m, _, pack, acc) = state.db(move |c| load(c, &user, id)).await?;
    let pack = pack.ok_or_else(|| {
        AppError::Conflict("The papers for this meeting have not been circulated yet".into())
    })?;
    match acc {
        Access::Ended => return Err(AppError::Gone(ENDED.into())),
        Access::None => {
            return Err(AppError::Denied(
                "You were not sent a copy of these papers: they go to the panel's members and deputies".into(),
            ));
        }
        Access::Open => {}
    }
    if pack.status != "ready" {
        return Err(AppError::Conflict(
            "The papers are still being prepared. Follow their progress on the meeting's papers page.".into(),
        ));
    }
    Ok((m, pack))
}

async fn download(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    crate::forms::Id(id): crate::forms::Id,
) -> Result<Response, AppError> {
    let (m, pack) = ready_copy(&state, &p, id).await?;
    let sha = pack.sha256.clone().unwrap_or_default();
    let blobs = Blobs::new(state.config.data_dir.join("attachments"));
    let base = state.config.files.read(&blobs, &sha).await?;
    let stamp = Stamp {
        recipient: p.user.name.clone(),
        date: date(pack.circulated_on),
    };
    let copy = tokio::task::spawn_blocking(move || jp_documents::stamp(&base, &stamp))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(format!("stamping the pack: {e}")))?;
    let actor = p.actor();
    let pages = pack.pages;
    state
        .db(move |c| {
            let mut tx = c.begin()?;
            jp_store::audit::record(
                &mut tx,
                &actor,
                "pack.downloaded",
                "meeting",
                Some(id.to_string()),
                serde_json::json!({"pack": pack.id, "pages": pages}),
            )?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(crate::files::download(
        copy,
        &format!("papers-{}-OFFICIAL-SENSITIVE.pdf", m.date),
        "application/pdf",
    ))
}

async fn attachment(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path((id, attachment_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    ready_copy(&state, &p, id).await?;
    let actor = p.actor();
    let a = state
        .db(move |c| {
            let a = jp_store::attachments::get(c, attachment_id)?.ok_or(AppError::NotFound)?;
            let on_agenda = jp_store::agenda::items(c, id)?
                .iter()
                .any(|i| i.referral_id == Some(a.referral_id));
            if !on_agenda {
                return Err(AppError::NotFound);
            }
            let mut tx = c.begin()?;
            jp_store::audit::record(
                &mut tx,
                &actor,
                "pack.attachment-downloaded",
                "meeting",
                Some(id.to_string()),
                serde_json::json!({"attachment": a.id, "referral_id": a.referral_id}),
            )?;
            tx.commit()?;
            Ok(a)
        })
        .await?;
    let blobs = Blobs::new(state.config.data_dir.join("attachments"));
    let bytes = state.config.files.read(&blobs, &a.sha256).await?;
    Ok(crate::files::download(bytes, &a.file_name, &a.content_type))
}

// ------------------------------------------------------------------ building

/// The agenda as the pack's first pages.
fn agenda_blocks(
    m: &Meeting,
    panel: &Panel,
    records: &[(jp_store::agenda::Item, Loaded)],
) -> Vec<Block> {
    let mut b = vec![
        Block::Title(format!("{}: agenda and papers", panel.name)),
        Block::Field(
            "Meeting".into(),
            format!("{} at {}", date(m.date), m.start_time),
        ),
    ];
    if !m.venue.is_empty() {
        b.push(Block::Field("Venue".into(), m.venue.clone()));
    }
    if !m.online_link.is_empty() {
        b.push(Block::Field("Online".into(), m.online_link.clone()));
    }
    b.push(Block::Note(
        "OFFICIAL-SENSITIVE. These papers are for the members and deputies of the panel only. Do not copy or forward them. Access ends when the meeting closes."
            .into(),
    ));
    b.push(Block::Heading("Agenda".into()));
    let mut at =
        chrono::NaiveTime::parse_from_str(&m.start_time, "%H:%M").unwrap_or(chrono::NaiveTime::MIN);
    for (n, (it, l)) in records.iter().enumerate() {
        let end = at + chrono::Duration::minutes(it.minutes);
        b.push(Block::Field(
            format!("{}. {}–{}", n + 1, at.format("%H:%M"), end.format("%H:%M")),
            format!(
                "{} ({}), {}{}, presented by {}",
                l.child.full_name(),
                l.child.local_id,
                if it.kind == "review" {
                    "review"
                } else {
                    "new request"
                },
                if l.r.late { ", late item" } else { "" },
                l.r.referrer_name
            ),
        ));
        at = end;
    }
    b
}

/// A referral in full: the child, every answered section, the options with
/// their costs, and what is attached.
fn referral_blocks(n: usize, l: &Loaded) -> Vec<Block> {
    let mut b = vec![
        Block::PageBreak,
        Block::Title(format!(
            "Item {n}: {} ({})",
            l.child.full_name(),
            l.child.local_id
        )),
        Block::Field("Date of birth".into(), date(l.child.date_of_birth)),
        Block::Field(
            "Referrer".into(),
            format!(
                "{}{}",
                l.r.referrer_name,
                l.r.team
                    .as_deref()
                    .map(|t| format!(", {t}"))
                    .unwrap_or_default()
            ),
        ),
        Block::Field("Status".into(), l.r.status.label().to_owned()),
    ];
    for s in summaries(l) {
        b.push(Block::Heading(s.title.to_owned()));
        for row in s.rows {
            b.push(Block::Field(row.label.to_owned(), row.value));
        }
    }
    b.push(Block::Heading("Options and costs".into()));
    let options = option_views(l);
    if options.is_empty() {
        b.push(Block::Para("No options were given.".into()));
    }
    for (i, o) in options.iter().enumerate() {
        b.push(Block::Subheading(format!(
            "Option {}: {}{}",
            i + 1,
            o.o.provider,
            if o.recommended { " (recommended)" } else { "" }
        )));
        b.push(Block::Para(o.o.description.clone()));
        for line in &o.lines {
            b.push(Block::Field(
                line.item.clone(),
                format!(
                    "{} × {}, {}; {} a year, {} in all",
                    line.unit, line.quantity, line.dates, line.annual, line.term
                ),
            ));
        }
        b.push(Block::Field(
            "Option total".into(),
            format!(
                "{} a year; {} over the whole period",
                o.totals.annual, o.totals.term
            ),
        ));
    }
    b.push(Block::Heading("Evidence attached".into()));
    if l.attachments.is_empty() {
        b.push(Block::Para("Nothing is attached.".into()));
    }
    for a in &l.attachments {
        b.push(Block::Para(if a.content_type == "application/pdf" {
            format!(
                "{} ({}): its pages follow.",
                a.file_name,
                file_size(a.size_bytes)
            )
        } else {
            format!(
                "{} ({}): not a PDF, so it is not in this pack; open it from the meeting's papers page.",
                a.file_name,
                file_size(a.size_bytes)
            )
        }));
    }
    b
}

/// Builds one queued pack, if there is one. Returns whether one was built.
pub async fn build_next(state: &AppState) -> Result<bool, String> {
    let worker = format!("pack-{}", std::process::id());
    let claimed = state
        .db(move |c| Ok(packs::claim(c, &worker, chrono::Duration::minutes(10))?))
        .await
        .map_err(|e| e.to_string())?;
    let Some(pack) = claimed else {
        return Ok(false);
    };
    match build(state, &pack).await {
        Ok(()) => Ok(true),
        Err(e) => {
            let msg = e.clone();
            let _ = state.db(move |c| Ok(packs::fail(c, pack.id, &msg)?)).await;
            Err(e)
        }
    }
}

async fn build(state: &AppState, pack: &Pack) -> Result<(), String> {
    let meeting_id = pack.meeting_id;
    let (m, panel, records) = state
        .db(move |c| {
            let m = meetings::get(c, meeting_id)?.ok_or(AppError::NotFound)?;
            let panel = panels::get(c, m.panel_id)?.ok_or(AppError::NotFound)?;
            let mut records = Vec::new();
            for it in jp_store::agenda::items(c, meeting_id)? {
                if let Some(r) = it.referral.clone() {
                    let l = crate::referrals::record(c, r, Sight::Full)?;
                    records.push((it, l));
                }
            }
            Ok((m, panel, records))
        })
        .await
        .map_err(|e| e.to_string())?;
    // Every PDF attachment's bytes, in agenda order.
    let blobs = Blobs::new(state.config.data_dir.join("attachments"));
    let mut files: Vec<Vec<(String, Vec<u8>)>> = Vec::with_capacity(records.len());
    for (_, l) in &records {
        let mut mine = Vec::new();
        for a in l
            .attachments
            .iter()
            .filter(|a| a.content_type == "application/pdf")
        {
            let bytes = state
                .config
                .files
                .read(&blobs, &a.sha256)
                .await
                .map_err(|e| format!("{}: {e}", a.file_name))?;
            mine.push((a.file_name.clone(), bytes));
        }
        files.push(mine);
    }
    let store = state.store.clone();
    let dir = blobs.dir().to_path_buf();
    let pack_id = pack.id;
    let (sha, pages) = tokio::task::spawn_blocking(move || -> Result<(String, usize), String> {
        let mut parts = vec![Part::Text(agenda_blocks(&m, &panel, &records))];
        for (n, ((_, l), pdfs)) in records.iter().zip(&files).enumerate() {
            parts.push(Part::Text(referral_blocks(n + 1, l)));
            for (title, bytes) in pdfs {
                parts.push(Part::Pdf { title, bytes });
            }
        }
        let mut conn = store.conn().map_err(|e| e.to_string())?;
        let mut last = std::time::Instant::now();
        let composed = jp_documents::compose(&parts, &mut |done, total| {
            // Progress for the papers page, at most a few writes a second.
            if done == total || last.elapsed() > std::time::Duration::from_millis(250) {
                last = std::time::Instant::now();
                let _ = packs::progress(&mut conn, pack_id, done as i64, total as i64);
            }
        })
        .map_err(|e| e.to_string())?;
        let blobs = Blobs::new(dir);
        let limits = Limits {
            max_bytes: u64::MAX,
            ..Limits::default()
        };
        let mut up = blobs.upload(limits).map_err(|e| format!("{e:?}"))?;
        up.write(&composed.pdf).map_err(|e| format!("{e:?}"))?;
        let kept = blobs
            .keep(up.finish().map_err(|e| format!("{e:?}"))?)
            .map_err(|e| format!("{e:?}"))?;
        Ok((kept.sha256, composed.pages))
    })
    .await
    .map_err(|e| e.to_string())??;
    state
        .config
        .files
        .publish(&blobs, &sha)
        .await
        .map_err(|e| e.to_string())?;
    let base = state.config.base_url.clone();
    state
        .db(move |c| {
            let mut tx = c.begin()?;
            packs::finish(&mut tx, pack_id, meeting_id, &sha, pages as i64)?;
            let m = meetings::get(&mut tx, meeting_id)?.ok_or(AppError::NotFound)?;
            let panel = panels::get(&mut tx, m.panel_id)?.ok_or(AppError::NotFound)?;
            let mut to = Vec::new();
            for (uid, ..) in packs::copies(&mut tx, pack_id)? {
                if let Some(u) = jp_store::accounts::get(&mut tx, uid)?.filter(|u| u.active) {
                    to.push(u);
                }
            }
            crate::notify::queue_about(
                &mut tx,
                "pack.circulated",
                &to,
                ("meeting", meeting_id),
                &format!("Papers for the {} meeting on {}", panel.name, date(m.date)),
                &format!(
                    "The agenda and papers for the {} meeting on {} are ready ({pages} pages). Your copy carries your name and is OFFICIAL-SENSITIVE: do not forward it. Your access ends when the meeting closes.\n\n{}/meetings/{meeting_id}/papers",
                    panel.name,
                    date(m.date),
                    base.trim_end_matches('/')
                ),
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())
}

/// Circulates, as the system, the papers of every meeting whose agenda is
/// approved and whose circulation deadline has come. Returns how many.
pub fn circulate_due(state: &AppState, today: NaiveDate) -> Result<usize, String> {
    let mut c = state.store.conn().map_err(|e| e.to_string())?;
    let mut n = 0;
    let all_panels = panels::list(&mut c).map_err(|e| e.to_string())?;
    let mut calendars = crate::booking::Calendars::default();
    for m in
        meetings::with_status(&mut c, MeetingStatus::AgendaApproved).map_err(|e| e.to_string())?
    {
        let panel = all_panels
            .iter()
            .find(|p| p.id == m.panel_id)
            .ok_or("a meeting without its panel")?;
        let due = calendars
            .deadlines(&mut c, panel, m.date)
            .map_err(|e| e.to_string())?
            .papers_due;
        if today < due {
            continue;
        }
        let mut tx = c.begin().map_err(|e| e.to_string())?;
        match meeting_run::circulate(
            &mut tx,
            &Actor::system("circulation at the deadline"),
            m.id,
            m.version,
            today,
        ) {
            Ok(_) => {
                tx.commit().map_err(|e| e.to_string())?;
                n += 1;
            }
            // Another node circulated it first, or the administrator did.
            Err(jp_store::ChangeError::Conflict { .. } | jp_store::ChangeError::Invalid(_)) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(n)
}
