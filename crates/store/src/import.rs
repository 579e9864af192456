//! Importing an existing tracker spreadsheet (SPEC §7), for moving a panel
//! onto Joint Panel: the file's columns are mapped to the tracker's fields
//! (found by their names, or chosen), every row is checked against the
//! installation — panels, agencies, organisations, people, children already
//! recorded and the other rows — and only a file with no problems is
//! imported, in one transaction with its audit row. A file exported from the
//! tracker imports as it was.

use crate::db::{self, Conn, DbResult, Tx};
use crate::history::at;
use crate::{Actor, ChangeError, audit, params};
use chrono::{NaiveDate, NaiveDateTime};
use jp_domain::costs::{CostLine, Quantity, Unit};
use jp_domain::decision::{Outcome, Share};
use jp_domain::lifecycle::Status;
use jp_domain::{Pence, sheet};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A field the import fills: its key, the tracker export's header, other
/// headers a council's own tracker may use, and whether every file needs it.
pub struct FieldSpec {
    pub key: &'static str,
    pub header: &'static str,
    pub also: &'static [&'static str],
    pub required: bool,
}

const fn f(
    key: &'static str,
    header: &'static str,
    also: &'static [&'static str],
    required: bool,
) -> FieldSpec {
    FieldSpec {
        key,
        header,
        also,
        required,
    }
}

pub const FIELDS: [FieldSpec; 20] = [
    f(
        "local_id",
        "Child local ID",
        &["local id", "child id", "lcs id", "mosaic id", "case id"],
        true,
    ),
    f(
        "child",
        "Child",
        &["child name", "name", "child's name", "full name"],
        true,
    ),
    f(
        "date_of_birth",
        "Date of birth",
        &["dob", "d.o.b", "birth date", "born"],
        true,
    ),
    f("nhs_number", "NHS number", &["nhs no", "nhs"], false),
    f("panel", "Panel", &["panel name"], true),
    f(
        "meeting",
        "Meeting",
        &["meeting date", "panel date", "date of panel"],
        false,
    ),
    f("status", "Status", &["referral status", "stage"], true),
    f(
        "request",
        "Request",
        &["request type", "type of request"],
        false,
    ),
    f(
        "need_level",
        "Level of need",
        &["need level", "needs level"],
        false,
    ),
    f(
        "agency",
        "Referrer's agency",
        &["agency", "referring agency", "referrer agency"],
        false,
    ),
    f(
        "decision",
        "Decision",
        &["outcome", "panel decision"],
        false,
    ),
    f("agreement_status", "Agreement status", &[], false),
    f(
        "start",
        "Agreement start",
        &["start date", "start", "funding start"],
        false,
    ),
    f(
        "end",
        "Agreement end",
        &["end date", "end", "funding end"],
        false,
    ),
    f(
        "review_date",
        "Review date",
        &["review", "next review"],
        false,
    ),
    f(
        "key_worker",
        "Key worker",
        &["lead professional", "allocated worker"],
        false,
    ),
    f("provider", "Provider", &["service provider"], false),
    f("cost_lines", "Cost lines", &["costs"], false),
    f(
        "weekly_cost",
        "Weekly cost (£)",
        &["weekly cost", "cost per week"],
        false,
    ),
    f(
        "shares",
        "Shares",
        &["funding split", "split", "contributions"],
        false,
    ),
];

/// The file's fingerprint, for the audit row.
pub fn sha256_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Field key → column index in the file.
pub type Mapping = BTreeMap<String, usize>;

/// A header reduced to its letters and digits, lower case, for matching.
pub(crate) fn squash(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Finds each field's column by its header. Returns the mapping, the
/// problems (a required field with no column, two columns for one field) and
/// the headers nothing reads (shown, not refused: an export's annual-cost
/// columns are worked out again from the agreement).
pub fn detect(headers: &[String]) -> (Mapping, Vec<String>, Vec<String>) {
    let mut mapping = Mapping::new();
    let mut problems = Vec::new();
    let mut unused = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let key = squash(h);
        let found = FIELDS
            .iter()
            .find(|f| squash(f.header) == key || f.also.iter().any(|a| squash(a) == key));
        match found {
            Some(f) if mapping.contains_key(f.key) => problems.push(format!(
                "Two columns could be “{}”: “{}” and “{}”; rename one",
                f.header, headers[mapping[f.key]], h
            )),
            Some(f) => {
                mapping.insert(f.key.to_owned(), i);
            }
            None if h.trim().is_empty() => {}
            None => unused.push(h.clone()),
        }
    }
    problems.extend(missing(&mapping));
    (mapping, problems, unused)
}

/// A message for each required field the mapping has no column for.
pub fn missing(mapping: &Mapping) -> Vec<String> {
    FIELDS
        .iter()
        .filter(|f| f.required && !mapping.contains_key(f.key))
        .map(|f| {
            format!(
                "The file has no column for “{}” (looked for {}): add one or choose it",
                f.header,
                std::iter::once(f.header)
                    .chain(f.also.iter().copied())
                    .map(|h| format!("“{h}”"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect()
}

/// A problem with one row: its number in the file, the column, the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub row: usize,
    pub column: String,
    pub message: String,
}

/// A row read and resolved against the installation, ready to import.
#[derive(Debug, Clone)]
pub struct Ready {
    pub row: usize,
    pub child: ChildRef,
    pub panel_id: i64,
    pub meeting: Option<NaiveDate>,
    pub status: Status,
    pub request: String,
    pub need_level: Option<String>,
    pub agency_id: Option<i64>,
    pub outcome: Option<Outcome>,
    pub key_worker_id: Option<i64>,
    pub agreement: Option<AgreementIn>,
}

#[derive(Debug, Clone)]
pub enum ChildRef {
    Existing(i64),
    /// New: local ID, given name, family name, date of birth, NHS number.
    New {
        local_id: String,
        given: String,
        family: String,
        born: NaiveDate,
        nhs: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct AgreementIn {
    pub status: String,
    pub terms: crate::agreements::Terms,
}

/// What a check found: the rows ready, or every problem.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    pub ready: Vec<Ready>,
    pub problems: Vec<Problem>,
    pub new_children: usize,
    pub agreements: usize,
}

struct Lookups {
    panels: Vec<crate::reference::panels::Panel>,
    agencies: Vec<(i64, String)>,
    organisations: Vec<(i64, String)>,
    people: Vec<(i64, String)>,
}

fn lookups(conn: &mut Conn) -> DbResult<Lookups> {
    let pairs = |conn: &mut Conn, sql: &str| -> DbResult<Vec<(i64, String)>> {
        conn.query(sql, &[])?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect()
    };
    Ok(Lookups {
        panels: crate::reference::panels::list(conn)?,
        agencies: pairs(conn, "SELECT id, name FROM agencies")?,
        organisations: pairs(conn, "SELECT id, name FROM organisations")?,
        people: pairs(conn, "SELECT id, name FROM users WHERE active")?,
    })
}

fn by_name(list: &[(i64, String)], name: &str) -> Option<i64> {
    let want = name.trim().to_lowercase();
    list.iter()
        .find(|(_, n)| n.to_lowercase() == want)
        .map(|(id, _)| *id)
}

fn names(list: &[(i64, String)]) -> String {
    list.iter()
        .map(|(_, n)| format!("“{n}”"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "Ellis Brackenridge" → ("Ellis", "Brackenridge"); "Mary Ann Cole" → ("Mary Ann", "Cole").
fn split_name(full: &str) -> Option<(String, String)> {
    let full = full.split_whitespace().collect::<Vec<_>>().join(" ");
    let (given, family) = full.rsplit_once(' ')?;
    Some((given.to_owned(), family.to_owned()))
}

fn status_of(raw: &str) -> Option<Status> {
    let s = raw.trim();
    Status::ALL
        .into_iter()
        .find(|x| x.slug().eq_ignore_ascii_case(s) || x.label().eq_ignore_ascii_case(s))
}

fn outcome_of(raw: &str) -> Option<Outcome> {
    let s = raw.trim();
    Outcome::ALL
        .into_iter()
        .find(|o| o.slug().eq_ignore_ascii_case(s) || o.label().eq_ignore_ascii_case(s))
}

/// Checks every row. `today` bounds dates of birth. Nothing is written.
#[allow(clippy::too_many_lines)]
pub fn check(
    conn: &mut Conn,
    rows: &[(usize, Vec<String>)],
    mapping: &Mapping,
    today: NaiveDate,
    progress: &mut dyn FnMut(u64, u64),
) -> DbResult<Checked> {
    let look = lookups(conn)?;
    let mut out = Checked::default();
    // Children seen in the file: local ID → (row, name, born, nhs).
    let mut seen: BTreeMap<String, (usize, String, NaiveDate, Option<String>)> = BTreeMap::new();
    let mut nhs_seen: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut referral_seen: BTreeMap<(String, i64, Option<NaiveDate>), usize> = BTreeMap::new();
    let total = rows.len() as u64;
    for (done, (row, cells)) in rows.iter().enumerate() {
        progress(done as u64, total);
        let mut problems: Vec<Problem> = Vec::new();
        let header = |key: &str| {
            FIELDS
                .iter()
                .find(|f| f.key == key)
                .map_or(key, |f| f.header)
                .to_owned()
        };
        let mut bad = |key: &str, message: String| {
            problems.push(Problem {
                row: *row,
                column: header(key),
                message,
            });
        };
        let get = |key: &str| -> &str {
            mapping
                .get(key)
                .and_then(|i| cells.get(*i))
                .map_or("", |s| s.trim())
        };
        let date_of = |key: &str, bad: &mut dyn FnMut(&str, String)| -> Option<NaiveDate> {
            let raw = get(key);
            if raw.is_empty() {
                return None;
            }
            sheet::date(raw).map_err(|e| bad(key, e)).ok()
        };

        let local_id = get("local_id").to_owned();
        if local_id.is_empty() {
            bad("local_id", "Enter the child's local ID".into());
        } else if local_id.chars().count() > 40 {
            bad(
                "local_id",
                "The local ID is longer than 40 characters".into(),
            );
        }
        let name = get("child")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let split = split_name(&name);
        if split.is_none() {
            bad("child", "Enter the child's given and family names".into());
        }
        let born = if get("date_of_birth").is_empty() {
            bad("date_of_birth", "Enter the child's date of birth".into());
            None
        } else {
            date_of("date_of_birth", &mut bad)
        };
        if let Some(b) = born
            && (b > today || today.years_since(b).unwrap_or(0) > 25)
        {
            bad(
                "date_of_birth",
                format!(
                    "{} is not a child's date of birth (in the future, or over 25 years ago)",
                    jp_domain::referral_form::long_date(b)
                ),
            );
        }
        let nhs = match get("nhs_number") {
            "" => None,
            raw => match jp_domain::identifiers::NhsNumber::parse(raw) {
                Ok(n) => Some(n.as_str().to_owned()),
                Err(e) => {
                    bad("nhs_number", e);
                    None
                }
            },
        };
        let panel = match get("panel") {
            "" => {
                bad("panel", "Enter the panel".into());
                None
            }
            raw => {
                let want = raw.to_lowercase();
                let p = look
                    .panels
                    .iter()
                    .find(|p| p.name.to_lowercase() == want || p.slug == want);
                if p.is_none() {
                    bad(
                        "panel",
                        format!(
                            "No panel called “{raw}”: use one of {}",
                            look.panels
                                .iter()
                                .map(|p| format!("“{}”", p.name))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
                p
            }
        };
        let status = match get("status") {
            "" => {
                bad("status", "Enter the referral's status".into());
                None
            }
            raw => match status_of(raw) {
                Some(s) if crate::tracker::LISTED.contains(&s) => Some(s),
                Some(s) => {
                    bad(
                        "status",
                        format!(
                            "A referral that is “{}” has not reached the panel: import referrals from submission on",
                            s.label()
                        ),
                    );
                    None
                }
                None => {
                    bad(
                        "status",
                        format!(
                            "“{raw}” is not a status: use one of {}",
                            crate::tracker::LISTED
                                .iter()
                                .map(|s| format!("“{}”", s.label()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                    None
                }
            },
        };
        let meeting = date_of("meeting", &mut bad);
        if meeting.is_none()
            && get("meeting").is_empty()
            && status.is_some_and(|s| s != Status::Submitted)
        {
            bad(
                "meeting",
                "Enter the meeting's date: a referral past submission was booked onto one".into(),
            );
        }
        let request = match get("request").to_lowercase().as_str() {
            "" | "new" | "new request" => "new".to_owned(),
            "review" | "review of an existing agreement" => "review".to_owned(),
            other => {
                bad(
                    "request",
                    format!("“{other}” is not a request type: use “new” or “review”"),
                );
                String::new()
            }
        };
        let need_level = match get("need_level") {
            "" => None,
            raw => {
                let level = jp_domain::panel_rules::NEED_LEVELS
                    .iter()
                    .find(|(slug, label)| {
                        slug.eq_ignore_ascii_case(raw) || label.eq_ignore_ascii_case(raw)
                    })
                    .map(|(slug, _)| (*slug).to_owned());
                match (level, panel) {
                    (Some(l), Some(p)) if !p.rules.need_levels.contains(&l) => {
                        bad(
                            "need_level",
                            format!("The {} does not take “{raw}” needs", p.name),
                        );
                        None
                    }
                    (Some(l), _) => Some(l),
                    (None, _) => {
                        bad(
                            "need_level",
                            format!("“{raw}” is not a level of need: use lower, high or complex"),
                        );
                        None
                    }
                }
            }
        };
        let agency_id = match get("agency") {
            "" => None,
            raw => {
                let a = by_name(&look.agencies, raw);
                if a.is_none() {
                    bad(
                        "agency",
                        format!(
                            "No agency called “{raw}”: add it under Administration first, or use one of {}",
                            names(&look.agencies)
                        ),
                    );
                }
                a
            }
        };
        let outcome = match get("decision") {
            "" => None,
            raw => {
                let o = outcome_of(raw);
                if o.is_none() {
                    bad("decision", format!("“{raw}” is not a panel decision"));
                }
                o
            }
        };
        if outcome.is_none()
            && get("decision").is_empty()
            && status.is_some_and(|s| {
                matches!(
                    s,
                    Status::Decided | Status::AgreementActive | Status::UnderReview
                )
            })
        {
            bad(
                "decision",
                "Enter the panel's decision: the referral's status says it was decided".into(),
            );
        }
        let key_worker_id = match get("key_worker") {
            "" => None,
            raw => {
                let k = by_name(&look.people, raw);
                if k.is_none() {
                    bad(
                        "key_worker",
                        format!(
                            "Nobody with an account is called “{raw}”: create their account first, or leave the key worker blank"
                        ),
                    );
                }
                k
            }
        };

        // The agreement, when any of its columns is filled.
        let agreement_keys = [
            "agreement_status",
            "start",
            "end",
            "review_date",
            "cost_lines",
            "weekly_cost",
            "shares",
        ];
        let mut agreement = None;
        if agreement_keys.iter().any(|k| !get(k).is_empty()) {
            let a_status = match get("agreement_status").to_lowercase().as_str() {
                "" | "active" => "active",
                "ended" => "ended",
                "pending" => "pending",
                other => {
                    bad(
                        "agreement_status",
                        format!(
                            "“{other}” is not an agreement status: use active, pending or ended"
                        ),
                    );
                    "active"
                }
            };
            let need = |key: &str, what: &str, bad: &mut dyn FnMut(&str, String)| {
                if get(key).is_empty() {
                    bad(key, format!("Enter the agreement's {what}"));
                    None
                } else {
                    date_of(key, bad)
                }
            };
            let start = need("start", "start date", &mut bad);
            let end = need("end", "end date", &mut bad);
            let review = need("review_date", "review date", &mut bad);
            let lines: Option<Vec<CostLine>> = match (get("cost_lines"), get("weekly_cost")) {
                ("", "") => {
                    bad(
                        "cost_lines",
                        "Enter the agreement's cost lines, or its weekly cost".into(),
                    );
                    None
                }
                ("", weekly) => match (Pence::parse_pounds(weekly), start, end) {
                    (Ok(p), Some(s), Some(e)) if p.0 > 0 => Some(vec![CostLine {
                        item: "Weekly cost (imported)".into(),
                        unit_cost: p,
                        unit: Unit::PerWeek,
                        quantity: Quantity(100),
                        start: s,
                        end: e,
                    }]),
                    (Err(e), _, _) => {
                        bad("weekly_cost", e.to_string());
                        None
                    }
                    _ => None,
                },
                (raw, _) => sheet::read_lines(raw)
                    .map_err(|e| bad("cost_lines", e))
                    .ok(),
            };
            let shares: Option<Vec<Share>> = match get("shares") {
                "" => {
                    bad(
                        "shares",
                        "Enter who pays what share of the agreement".into(),
                    );
                    None
                }
                raw => match sheet::read_shares(raw) {
                    Err(e) => {
                        bad("shares", e);
                        None
                    }
                    Ok(list) => {
                        let mut out = Vec::new();
                        for (name, bp) in list {
                            match by_name(&look.organisations, &name) {
                                Some(id) => out.push(Share {
                                    organisation_id: id,
                                    basis_points: bp,
                                }),
                                None => bad(
                                    "shares",
                                    format!(
                                        "No organisation called “{name}”: use one of {}",
                                        names(&look.organisations)
                                    ),
                                ),
                            }
                        }
                        let pairs: Vec<(i64, u32)> = out
                            .iter()
                            .map(|s| (s.organisation_id, s.basis_points))
                            .collect();
                        match jp_domain::apportion::check(&pairs) {
                            Ok(()) => Some(out),
                            Err(e) => {
                                bad("shares", e);
                                None
                            }
                        }
                    }
                },
            };
            if let (Some(s), Some(e)) = (start, end)
                && e < s
            {
                bad("end", "The agreement ends before it starts".into());
            }
            if outcome.is_some_and(|o| !o.funds()) {
                bad(
                    "decision",
                    "The row has an agreement but the decision does not fund anything".into(),
                );
            }
            if let (Some(start), Some(end), Some(review_date), Some(lines), Some(shares)) =
                (start, end, review, lines, shares)
            {
                agreement = Some(AgreementIn {
                    status: a_status.to_owned(),
                    terms: crate::agreements::Terms {
                        provider: match get("provider") {
                            "" => "Not recorded".to_owned(),
                            p => p.to_owned(),
                        },
                        contract_agency_id: agency_id.unwrap_or_default(),
                        direct_payment: false,
                        start,
                        end,
                        review_date,
                        lines,
                        shares,
                    },
                });
            }
            if agency_id.is_none() && get("agency").is_empty() {
                bad(
                    "agency",
                    "Enter the referrer's agency: it holds the agreement's contract".into(),
                );
            }
        }

        // The child: the same in every row and as already recorded.
        let mut child = None;
        if let (Some((given, family)), Some(born), false) =
            (split.clone(), born, local_id.is_empty())
        {
            match seen.get(&local_id) {
                Some((first, n, b, _)) if *n != name || *b != born => bad(
                    "local_id",
                    format!(
                        "Child {local_id} is on row {first} with a different name or date of birth"
                    ),
                ),
                _ => {}
            }
            if let Some(n) = &nhs
                && let Some((first, other)) = nhs_seen.get(n)
                && *other != local_id
            {
                bad(
                    "nhs_number",
                    format!("NHS number {n} is also on row {first}, for child {other}"),
                );
            }
            let existing = conn.query_opt(
                "SELECT id, given_name, family_name, date_of_birth FROM children WHERE local_id = $1",
                &params![&local_id],
            )?;
            match existing {
                Some(r) => {
                    let (id, g, fam, b): (i64, String, String, NaiveDate) =
                        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                    if format!("{g} {fam}") != name || b != born {
                        bad(
                            "local_id",
                            format!(
                                "Child {local_id} is already recorded with a different name or date of birth"
                            ),
                        );
                    } else {
                        child = Some(ChildRef::Existing(id));
                    }
                }
                None => {
                    if let Some(n) = &nhs
                        && let Some(r) = conn.query_opt(
                            "SELECT local_id FROM children WHERE nhs_number = $1",
                            &params![n],
                        )?
                    {
                        let other: String = r.get(0)?;
                        bad(
                            "nhs_number",
                            format!("NHS number {n} is already recorded for child {other}"),
                        );
                    }
                    child = Some(ChildRef::New {
                        local_id: local_id.clone(),
                        given,
                        family,
                        born,
                        nhs: nhs.clone(),
                    });
                }
            }
            seen.entry(local_id.clone())
                .or_insert((*row, name.clone(), born, nhs.clone()));
            if let Some(n) = &nhs {
                nhs_seen
                    .entry(n.clone())
                    .or_insert((*row, local_id.clone()));
            }
        }
        // The same referral twice: in the file, or already recorded.
        if let (Some(p), false) = (panel, local_id.is_empty()) {
            let key = (local_id.clone(), p.id, meeting);
            if let Some(first) = referral_seen.get(&key) {
                bad(
                    "local_id",
                    format!("Row {first} is the same referral (child, panel and meeting)"),
                );
            } else {
                referral_seen.insert(key, *row);
            }
            if let Some(m) = meeting
                && let Some(r) = conn.query_opt(
                    "SELECT r.id FROM referrals r JOIN children c ON c.id = r.child_id
                     JOIN meetings m ON m.id = r.meeting_id
                     WHERE c.local_id = $1 AND r.panel_id = $2 AND m.meeting_date = $3",
                    &params![&local_id, p.id, m],
                )?
            {
                let id: i64 = r.get(0)?;
                bad(
                    "local_id",
                    format!("This referral is already recorded (referral {id}): take the row out"),
                );
            }
        }

        if problems.is_empty()
            && let (Some(child), Some(panel), Some(status)) = (child, panel, status)
        {
            if matches!(child, ChildRef::New { .. })
                && !out.ready.iter().any(
                    |r| matches!(&r.child, ChildRef::New { local_id: l, .. } if *l == local_id),
                )
            {
                out.new_children += 1;
            }
            out.agreements += usize::from(agreement.is_some());
            out.ready.push(Ready {
                row: *row,
                child,
                panel_id: panel.id,
                meeting,
                status,
                request,
                need_level,
                agency_id,
                outcome,
                key_worker_id,
                agreement,
            });
        }
        out.problems.extend(problems);
    }
    progress(total, total);
    Ok(out)
}

/// What an import made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imported {
    pub rows: u64,
    pub children: u64,
    pub referrals: u64,
    pub meetings: u64,
    pub agreements: u64,
}

/// Imports checked rows in the caller's transaction, with one audit row
/// naming the file. The caller commits — all of it or none.
#[allow(clippy::too_many_lines)]
pub fn apply(
    tx: &mut Tx<'_>,
    actor: &Actor,
    file: (&str, &str),
    ready: &[Ready],
    today: NaiveDate,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Imported, ChangeError> {
    let by = actor
        .user_id
        .ok_or_else(|| ChangeError::Invalid("An import is made by a person, signed in".into()))?;
    let now = db::now();
    let mut made = Imported::default();
    let mut children: BTreeMap<String, i64> = BTreeMap::new();
    let total = ready.len() as u64;
    for (i, r) in ready.iter().enumerate() {
        let child_id = match &r.child {
            ChildRef::Existing(id) => *id,
            ChildRef::New {
                local_id,
                given,
                family,
                born,
                nhs,
            } => {
                if let Some(id) = children.get(local_id) {
                    *id
                } else {
                    let id: i64 = tx
                        .query_one(
                            "INSERT INTO children (local_id, nhs_number, given_name, family_name, date_of_birth,
                                 parental_responsibility, language_needs, created_by, created_at, updated_at)
                             VALUES ($1, $2, $3, $4, $5, 'Not recorded (imported)', 'Not recorded (imported)', $6, $7, $7)
                             RETURNING id",
                            &params![local_id, nhs.as_deref(), given, family, *born, by, now],
                        )?
                        .get(0)?;
                    children.insert(local_id.clone(), id);
                    made.children += 1;
                    id
                }
            }
        };
        let meeting_id = match r.meeting {
            None => None,
            Some(date) => {
                let found = tx.query_opt(
                    "SELECT id FROM meetings WHERE panel_id = $1 AND meeting_date = $2 AND status <> 'cancelled' ORDER BY id LIMIT 1",
                    &params![r.panel_id, date],
                )?;
                Some(match found {
                    Some(row) => row.get::<i64>(0)?,
                    None => {
                        made.meetings += 1;
                        tx.query_one(
                            "INSERT INTO meetings (panel_id, meeting_date, kind, status, created_at, updated_at, created_by)
                             VALUES ($1, $2, 'scheduled', $3, $4, $4, $5) RETURNING id",
                            &params![
                                r.panel_id,
                                date,
                                if date < today { "closed" } else { "scheduled" },
                                now,
                                by
                            ],
                        )?
                        .get(0)?
                    }
                })
            }
        };
        let submitted = r.meeting.map_or(now, |m| at(m, 9));
        let referral_id: i64 = tx
            .query_one(
                "INSERT INTO referrals (child_id, panel_id, status, referrer_id, agency_id, request_type, need_level,
                     meeting_id, submitted_at, created_at, updated_at, closed_on)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) RETURNING id",
                &params![
                    child_id,
                    r.panel_id,
                    r.status.slug(),
                    by,
                    r.agency_id,
                    &r.request,
                    r.need_level.as_deref(),
                    meeting_id,
                    submitted,
                    now,
                    (r.status == Status::Closed).then_some(today)
                ],
            )?
            .get(0)?;
        made.referrals += 1;
        let mut decision_id = None;
        if let Some(outcome) = r.outcome {
            let draft = serde_json::json!({
                "outcome": outcome.slug(),
                "rationale": "Imported from the panel's tracker spreadsheet; the reasons are in the minutes and letter on the case file.",
            });
            let signed = r.meeting.map_or(now, |m| at(m, 12));
            let id: i64 = tx
                .query_one(
                    "INSERT INTO decisions (referral_id, meeting_id, status, outcome, draft, review_date, total_pence,
                         signed_by, signed_at, created_by, created_at, updated_at, key_worker_id, lead_agency_id)
                     VALUES ($1, $2, 'signed', $3, $4, $5, $6, $7, $8, $7, $9, $9, $10, $11) RETURNING id",
                    &params![
                        referral_id,
                        meeting_id,
                        outcome.slug(),
                        draft.to_string(),
                        r.agreement.as_ref().map(|a| a.terms.review_date),
                        r.agreement.as_ref().map_or(0, |a| a.terms.total().0),
                        by,
                        signed,
                        now,
                        r.key_worker_id,
                        r.agency_id
                    ],
                )?
                .get(0)?;
            tx.execute(
                "UPDATE referrals SET decision_id = $1 WHERE id = $2",
                &params![id, referral_id],
            )?;
            decision_id = Some(id);
        }
        if let Some(a) = &r.agreement {
            let agreement_id: i64 = tx
                .query_one(
                    "INSERT INTO agreements (referral_id, child_id, panel_id, status, current_number, activated_by, activated_at,
                         ended_on, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $6, $6) RETURNING id",
                    &params![
                        referral_id,
                        child_id,
                        r.panel_id,
                        &a.status,
                        (a.status != "pending").then_some(by),
                        now,
                        (a.status == "ended").then_some(a.terms.end)
                    ],
                )?
                .get(0)?;
            crate::agreements::insert_version(
                tx,
                actor,
                agreement_id,
                1,
                "Imported from the tracker spreadsheet",
                decision_id,
                &a.terms,
            )?;
            crate::finance::refresh(tx, agreement_id)?;
            made.agreements += 1;
        }
        made.rows += 1;
        progress(i as u64 + 1, total);
    }
    audit::record(
        tx,
        actor,
        "tracker.imported",
        "installation",
        None,
        serde_json::json!({"file": file.0, "sha256": file.1, "rows": made.rows, "children": made.children,
            "referrals": made.referrals, "meetings": made.meetings, "agreements": made.agreements}),
    )?;
    Ok(made)
}

// --- Uploaded files ------------------------------------------------------------

/// A file uploaded for import, with its mapping and what the check found.
#[derive(Debug, Clone)]
pub struct Upload {
    pub id: i64,
    pub file_name: String,
    pub sha256: String,
    pub rows: i64,
    /// uploaded → checked → running → done, or failed.
    pub status: String,
    pub mapping: Mapping,
    pub problems: Vec<Problem>,
    pub summary: serde_json::Value,
    pub error: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub version: i64,
}

const UPLOAD: &str = "SELECT i.id, i.file_name, i.sha256, i.rows, i.status, i.mapping, i.problems, i.summary, i.error,
        u.name, i.created_at, i.finished_at, i.version FROM imports i JOIN users u ON u.id = i.created_by";

fn upload_of(r: &crate::db::Row) -> DbResult<Upload> {
    let (mapping, problems, summary): (String, String, String) = (r.get(5)?, r.get(6)?, r.get(7)?);
    Ok(Upload {
        id: r.get(0)?,
        file_name: r.get(1)?,
        sha256: r.get(2)?,
        rows: r.get(3)?,
        status: r.get(4)?,
        mapping: serde_json::from_str(&mapping).unwrap_or_default(),
        problems: serde_json::from_str(&problems).unwrap_or_default(),
        summary: serde_json::from_str(&summary).unwrap_or_default(),
        error: r.get(8)?,
        created_by: r.get(9)?,
        created_at: r.get(10)?,
        finished_at: r.get(11)?,
        version: r.get(12)?,
    })
}

/// Keeps an uploaded file with the mapping found from its headers.
pub fn create(
    tx: &mut Tx<'_>,
    actor: &Actor,
    by: i64,
    file_name: &str,
    bytes: &[u8],
    rows: usize,
    mapping: &Mapping,
) -> Result<i64, ChangeError> {
    let name: String = file_name
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let sha = sha256_of(bytes);
    let id: i64 = tx
        .query_one(
            "INSERT INTO imports (file_name, sha256, content, rows, status, mapping, created_by, created_at)
             VALUES ($1, $2, $3, $4, 'uploaded', $5, $6, $7) RETURNING id",
            &params![
                &name,
                &sha,
                bytes.to_vec(),
                i64::try_from(rows).unwrap_or(i64::MAX),
                serde_json::to_string(mapping).unwrap_or_default(),
                by,
                db::now()
            ],
        )?
        .get(0)?;
    audit::record(
        tx,
        actor,
        "import.uploaded",
        "import",
        Some(id.to_string()),
        serde_json::json!({"file": name, "sha256": sha, "rows": rows}),
    )?;
    Ok(id)
}

pub fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Upload>> {
    conn.query_opt(&format!("{UPLOAD} WHERE i.id = $1"), &params![id])?
        .map(|r| upload_of(&r))
        .transpose()
}

pub fn recent(conn: &mut Conn, limit: i64) -> DbResult<Vec<Upload>> {
    conn.query(
        &format!("{UPLOAD} ORDER BY i.id DESC LIMIT $1"),
        &params![limit],
    )?
    .iter()
    .map(upload_of)
    .collect()
}

pub fn content(conn: &mut Conn, id: i64) -> DbResult<Option<Vec<u8>>> {
    conn.query_opt("SELECT content FROM imports WHERE id = $1", &params![id])?
        .map(|r| r.get(0))
        .transpose()
}

fn version_check(tx: &mut Tx<'_>, id: i64, version: i64) -> Result<String, ChangeError> {
    let lock = tx.backend().for_update();
    let r = tx
        .query_opt(
            &format!("SELECT status, version FROM imports WHERE id = $1 {lock}"),
            &params![id],
        )?
        .ok_or(ChangeError::NotFound)?;
    let current: i64 = r.get(1)?;
    if current != version {
        return Err(ChangeError::Conflict { current });
    }
    Ok(r.get(0)?)
}

/// Keeps the mapping and what the check found (status "checked").
pub fn record_check(
    tx: &mut Tx<'_>,
    actor: &Actor,
    id: i64,
    version: i64,
    mapping: &Mapping,
    checked: &Checked,
) -> Result<(), ChangeError> {
    let status = version_check(tx, id, version)?;
    if !matches!(status.as_str(), "uploaded" | "checked") {
        return Err(ChangeError::Invalid(
            "This file has been imported (or is being imported): upload it again to start over"
                .into(),
        ));
    }
    let summary = serde_json::json!({"ready": checked.ready.len(), "children": checked.new_children,
        "agreements": checked.agreements});
    tx.execute(
        "UPDATE imports SET status = 'checked', mapping = $1, problems = $2, summary = $3, checked_at = $4,
             version = version + 1 WHERE id = $5",
        &params![
            serde_json::to_string(mapping).unwrap_or_default(),
            serde_json::to_string(&checked.problems).unwrap_or_default(),
            summary.to_string(),
            db::now(),
            id
        ],
    )?;
    audit::record(
        tx,
        actor,
        "import.checked",
        "import",
        Some(id.to_string()),
        serde_json::json!({"problems": checked.problems.len(), "ready": checked.ready.len()}),
    )?;
    Ok(())
}

/// Marks a checked file with no problems as running (once).
pub fn begin(tx: &mut Tx<'_>, actor: &Actor, id: i64, version: i64) -> Result<(), ChangeError> {
    let status = version_check(tx, id, version)?;
    let problems: String = tx
        .query_one("SELECT problems FROM imports WHERE id = $1", &params![id])?
        .get(0)?;
    let clean = serde_json::from_str::<Vec<Problem>>(&problems).is_ok_and(|p| p.is_empty());
    if status != "checked" || !clean {
        return Err(ChangeError::Invalid(
            "Only a file whose check found no problems can be imported".into(),
        ));
    }
    tx.execute(
        "UPDATE imports SET status = 'running', version = version + 1 WHERE id = $1",
        &params![id],
    )?;
    audit::record(
        tx,
        actor,
        "import.started",
        "import",
        Some(id.to_string()),
        serde_json::json!({}),
    )?;
    Ok(())
}

/// Holds the import's row for the length of the import's transaction, so
/// [`recover_interrupted`] on another node leaves a live import alone
/// (PostgreSQL; SQLite's write transaction already holds the whole file).
pub fn claim(tx: &mut Tx<'_>, id: i64) -> DbResult<()> {
    let lock = tx.backend().for_update();
    tx.query_opt(
        &format!("SELECT id FROM imports WHERE id = $1{lock}"),
        &params![id],
    )?;
    Ok(())
}

/// What an import stopped by a restart says (nothing of it was kept: its
/// rows and its "done" are one transaction).
pub const INTERRUPTED: &str = "The service stopped before this import finished, so nothing was imported. Check the file again, then import it.";

/// Marks imports left "running" by a service that stopped as failed, each
/// with an audit row; an import another node is still running (its row
/// claimed) is skipped. Run at start-up. Returns the imports marked.
pub fn recover_interrupted(conn: &mut Conn) -> DbResult<Vec<i64>> {
    let mut tx = conn.begin()?;
    let skip = match tx.backend() {
        db::Backend::Sqlite => "",
        db::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
    };
    let ids: Vec<i64> = tx
        .query(
            &format!("SELECT id FROM imports WHERE status = 'running' ORDER BY id{skip}"),
            &[],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect::<DbResult<_>>()?;
    for id in &ids {
        finish(&mut tx, *id, Err(&INTERRUPTED.to_owned()))?;
        audit::record(
            &mut tx,
            &Actor::system("start-up"),
            "import.interrupted",
            "import",
            Some(id.to_string()),
            serde_json::json!({}),
        )?;
    }
    tx.commit()?;
    Ok(ids)
}

/// Records how an import ended: in the import's own transaction when it
/// worked, in a new one when it did not (nothing of it was kept).
pub fn finish(tx: &mut Tx<'_>, id: i64, result: Result<&Imported, &String>) -> DbResult<()> {
    let (status, summary, error) = match result {
        Ok(made) => (
            "done",
            serde_json::to_string(made).unwrap_or_default(),
            String::new(),
        ),
        Err(e) => ("failed", "{}".to_owned(), e.clone()),
    };
    tx.execute(
        "UPDATE imports SET status = $1, summary = CASE WHEN $1 = 'done' THEN $2 ELSE summary END, error = $3,
             finished_at = $4, version = version + 1 WHERE id = $5",
        &params![status, summary, error, db::now(), id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exports_headers_and_a_councils_own_are_found() {
        let h: Vec<String> = [
            "Referral",
            "Child local ID",
            "Child",
            "DOB",
            "Panel",
            "Meeting Date",
            "Status",
            "Northmoor County Council 2026/27 (£)",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let (m, problems, unused) = detect(&h);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(m["date_of_birth"], 3);
        assert_eq!(m["meeting"], 5);
        assert_eq!(unused, ["Referral", "Northmoor County Council 2026/27 (£)"]);
    }

    #[test]
    fn missing_and_doubled_columns_are_named() {
        let h: Vec<String> = ["Child", "Name", "Panel"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let (_, problems, _) = detect(&h);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("Two columns could be “Child”")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("no column for “Date of birth”")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("no column for “Status”")),
            "{problems:?}"
        );
    }

    #[test]
    fn names_split_at_the_last_space() {
        assert_eq!(
            split_name(" Mary  Ann Cole "),
            Some(("Mary Ann".into(), "Cole".into()))
        );
        assert_eq!(split_name("Cher"), None);
    }
}
