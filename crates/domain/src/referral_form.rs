//! The referral form (SPEC §3) as data: its sections, their questions, and the
//! checks each answer must pass. Pages and the API render and validate from
//! this one description, so a question is added in one place.

use chrono::{Datelike, Months, NaiveDate};
use std::collections::BTreeMap;

/// Answers to one section: each question's key and its values (one value, or
/// several for checkboxes). Dates are stored as `YYYY-MM-DD`.
pub type Answers = BTreeMap<String, Vec<String>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A one-line answer of at most this many characters.
    Text(usize),
    /// A paragraph answer of at most this many characters.
    Area(usize),
    Date,
    Radios(&'static [(&'static str, &'static str)]),
    Checkboxes(&'static [(&'static str, &'static str)]),
}

#[derive(Debug, Clone, Copy)]
pub struct Question {
    pub key: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub kind: Kind,
    pub required: bool,
}

/// How a section is filled in: questions on one page, or a page of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    Questions,
    Options,
    Evidence,
}

#[derive(Debug, Clone, Copy)]
pub struct Section {
    pub key: &'static str,
    pub title: &'static str,
    pub kind: SectionKind,
    pub questions: &'static [Question],
}

const SHORT: usize = 200;
const LONG: usize = 20_000;

const fn q(
    key: &'static str,
    label: &'static str,
    hint: &'static str,
    kind: Kind,
    required: bool,
) -> Question {
    Question {
        key,
        label,
        hint,
        kind,
        required,
    }
}

pub const NEEDS: &[(&str, &str)] = &[
    ("health", "Health"),
    ("education", "Education"),
    ("care", "Care"),
    ("development", "Development"),
    ("cultural-linguistic", "Cultural or linguistic"),
    ("protection", "Protection"),
];

pub const REQUEST_TYPES: &[(&str, &str)] = &[
    ("new", "New request"),
    ("review", "Review of an existing agreement"),
];

pub const YES_NO: &[(&str, &str)] = &[("yes", "Yes"), ("no", "No")];

/// The assessments a referral can rest on: at least one, with its date.
pub const ASSESSMENTS: &[(&str, &str)] = &[
    ("early_help_date", "Early Help assessment"),
    ("csc_date", "Children's social care assessment or CAF"),
    ("sen_date", "SEN assessment or EHCP"),
    ("cin_date", "Child in need assessment"),
];

pub const SECTIONS: &[Section] = &[
    Section {
        key: "referrer",
        title: "Referrer and presenter",
        kind: SectionKind::Questions,
        questions: &[
            q(
                "referrer_position",
                "Your position",
                "For example, Senior Social Worker",
                Kind::Text(SHORT),
                true,
            ),
            q(
                "referrer_contact",
                "Your telephone number or e-mail address",
                "",
                Kind::Text(SHORT),
                true,
            ),
            q(
                "date_completed",
                "Date you completed this form",
                "For example, 27 3 2027",
                Kind::Date,
                true,
            ),
            q(
                "presenter_name",
                "Name of the professional who will present the referral at panel",
                "They must attend the meeting",
                Kind::Text(SHORT),
                true,
            ),
            q(
                "presenter_role",
                "Their position",
                "",
                Kind::Text(SHORT),
                true,
            ),
            q(
                "presenter_contact",
                "Their telephone number or e-mail address",
                "",
                Kind::Text(SHORT),
                true,
            ),
        ],
    },
    Section {
        key: "family",
        title: "Child and family",
        kind: SectionKind::Questions,
        questions: &[
            q(
                "family_details",
                "Family details",
                "Who lives with the child, and other important family members",
                Kind::Area(LONG),
                true,
            ),
            q(
                "other_agencies",
                "Other agencies involved",
                "Name each agency and what it does for the child or family",
                Kind::Area(LONG),
                true,
            ),
        ],
    },
    Section {
        key: "assessments",
        title: "Assessments",
        kind: SectionKind::Questions,
        questions: &[
            q(
                "early_help_date",
                "Early Help assessment: date completed",
                "Leave blank if there is none",
                Kind::Date,
                false,
            ),
            q(
                "csc_date",
                "Children's social care assessment or CAF: date completed",
                "Leave blank if there is none",
                Kind::Date,
                false,
            ),
            q(
                "sen_date",
                "SEN assessment or EHCP: date completed",
                "Leave blank if there is none",
                Kind::Date,
                false,
            ),
            q(
                "cin_date",
                "Child in need assessment: date completed",
                "Leave blank if there is none",
                Kind::Date,
                false,
            ),
            q(
                "assessment_notes",
                "Anything members should know about these assessments",
                "Optional",
                Kind::Area(LONG),
                false,
            ),
        ],
    },
    Section {
        key: "needs",
        title: "Circumstances and needs",
        kind: SectionKind::Questions,
        questions: &[
            q(
                "summary",
                "Summary of the circumstances that warrant this referral",
                "",
                Kind::Area(LONG),
                true,
            ),
            q(
                "needs",
                "Needs identified",
                "Select all that apply",
                Kind::Checkboxes(NEEDS),
                true,
            ),
            q(
                "needs_detail",
                "Describe the needs identified",
                "",
                Kind::Area(LONG),
                true,
            ),
        ],
    },
    Section {
        key: "alternatives",
        title: "Alternatives explored",
        kind: SectionKind::Questions,
        questions: &[
            q(
                "family_support",
                "Family support: what was tried and the outcome",
                "If it was not explored, say why",
                Kind::Area(LONG),
                true,
            ),
            q(
                "family_group_conference",
                "Family group conference: what was tried and the outcome",
                "If it was not explored, say why",
                Kind::Area(LONG),
                true,
            ),
            q(
                "connected_persons",
                "Placement with connected persons: what was tried and the outcome",
                "If it was not explored, say why",
                Kind::Area(LONG),
                true,
            ),
            q(
                "universal_services",
                "Universal and local services: what was tried and the outcome",
                "If it was not explored, say why",
                Kind::Area(LONG),
                true,
            ),
        ],
    },
    Section {
        key: "options",
        title: "Options and costs",
        kind: SectionKind::Options,
        questions: &[],
    },
    Section {
        key: "outcomes",
        title: "Outcomes sought",
        kind: SectionKind::Questions,
        questions: &[q(
            "outcomes_sought",
            "Outcomes sought, with timescales",
            "What should be different for the child, and by when",
            Kind::Area(LONG),
            true,
        )],
    },
    Section {
        key: "views",
        title: "Views of the child and family",
        kind: SectionKind::Questions,
        questions: &[
            q(
                "child_views",
                "The child's views",
                "In their words where possible, and how they were gathered",
                Kind::Area(LONG),
                true,
            ),
            q(
                "parent_views",
                "The views of the parents or carers",
                "",
                Kind::Area(LONG),
                true,
            ),
        ],
    },
    Section {
        key: "request",
        title: "Type of request and need level",
        kind: SectionKind::Questions,
        questions: &[
            q(
                "request_type",
                "Is this a new request or a review?",
                "",
                Kind::Radios(REQUEST_TYPES),
                true,
            ),
            q(
                "review_of",
                "If a review: which agreement is being reviewed?",
                "For example, the date of the panel's decision and what it funds",
                Kind::Text(SHORT),
                false,
            ),
            q(
                "need_level",
                "Level of need",
                "The panel only takes the need levels in its terms of reference",
                Kind::Radios(crate::panel_rules::NEED_LEVELS_SLICE),
                true,
            ),
        ],
    },
    Section {
        key: "context",
        title: "Contextual information",
        kind: SectionKind::Questions,
        questions: &[
            q(
                "court_proceedings",
                "Are there court proceedings about the child?",
                "",
                Kind::Radios(YES_NO),
                true,
            ),
            q(
                "complaints",
                "Are there complaints open about the child's services?",
                "",
                Kind::Radios(YES_NO),
                true,
            ),
            q(
                "context_detail",
                "Anything else members must know",
                "Optional",
                Kind::Area(LONG),
                false,
            ),
        ],
    },
    Section {
        key: "evidence",
        title: "Evidence",
        kind: SectionKind::Evidence,
        questions: &[],
    },
];

pub fn section(key: &str) -> Option<&'static Section> {
    SECTIONS.iter().find(|s| s.key == key)
}

/// What a section's checks depend on beyond its own answers.
#[derive(Debug, Clone)]
pub struct Context {
    pub today: NaiveDate,
    pub assessment_max_age_months: u32,
    /// Need levels the chosen panel takes.
    pub need_levels: Vec<String>,
}

/// A question's problem, for the error summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

fn problem(key: &str, message: impl Into<String>) -> Problem {
    Problem {
        key: key.to_owned(),
        message: message.into(),
    }
}

/// Reads a section's answers from form fields (`key`, and `key-day`,
/// `key-month`, `key-year` for dates). Returns the answers as entered and the
/// problems; `strict` also reports unanswered required questions (a draft save
/// keeps what it can and reports only malformed answers).
pub fn read(
    section: &Section,
    fields: &[(String, String)],
    ctx: &Context,
    strict: bool,
) -> (Answers, Vec<Problem>) {
    let get_all = |k: &str| -> Vec<String> {
        fields
            .iter()
            .filter(|(fk, _)| fk == k)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let mut answers = Answers::new();
    let mut problems = Vec::new();
    for qn in section.questions {
        match qn.kind {
            Kind::Date => {
                let d = get_all(&format!("{}-day", qn.key));
                let m = get_all(&format!("{}-month", qn.key));
                let y = get_all(&format!("{}-year", qn.key));
                let parts = (d.first(), m.first(), y.first());
                match parts {
                    (None, None, None) => {}
                    (Some(d), Some(m), Some(y)) => match parse_date(d, m, y) {
                        Some(date) => {
                            answers.insert(qn.key.to_owned(), vec![date.to_string()]);
                        }
                        None => {
                            answers.insert(qn.key.to_owned(), vec![format!("{y}-{m}-{d}")]);
                            problems.push(problem(
                                qn.key,
                                format!(
                                    "{} must be a real date",
                                    crate::text::capitalise(qn.label)
                                ),
                            ));
                        }
                    },
                    _ => {
                        let partial = format!(
                            "{}-{}-{}",
                            parts.2.map_or("", |s| s),
                            parts.1.map_or("", |s| s),
                            parts.0.map_or("", |s| s)
                        );
                        answers.insert(qn.key.to_owned(), vec![partial]);
                        problems.push(problem(
                            qn.key,
                            format!(
                                "{} must include a day, month and year",
                                crate::text::capitalise(qn.label)
                            ),
                        ));
                    }
                }
            }
            Kind::Text(max) | Kind::Area(max) => {
                if let Some(v) = get_all(qn.key).into_iter().next() {
                    if let Err(e) = crate::text::optional(&v, "your answer", max) {
                        problems.push(problem(qn.key, e));
                        let cut: String = v.chars().take(max).collect();
                        answers.insert(qn.key.to_owned(), vec![cut]);
                    } else {
                        answers.insert(qn.key.to_owned(), vec![v]);
                    }
                }
            }
            Kind::Radios(choices) => {
                if let Some(v) = get_all(qn.key).into_iter().next() {
                    if choices.iter().any(|(k, _)| *k == v) {
                        answers.insert(qn.key.to_owned(), vec![v]);
                    } else {
                        problems.push(problem(qn.key, select_message(qn.label)));
                    }
                }
            }
            Kind::Checkboxes(choices) => {
                let vs: Vec<String> = get_all(qn.key)
                    .into_iter()
                    .filter(|v| choices.iter().any(|(k, _)| k == v))
                    .collect();
                if !vs.is_empty() {
                    answers.insert(qn.key.to_owned(), vs);
                }
            }
        }
    }
    if strict {
        problems.extend(check(section, &answers, ctx));
        dedupe(&mut problems);
    }
    (answers, problems)
}

fn dedupe(problems: &mut Vec<Problem>) {
    let mut seen = std::collections::BTreeSet::new();
    problems.retain(|p| seen.insert(p.key.clone()));
}

/// Checks saved answers completely: what "Completed" means for a section.
pub fn check(section: &Section, answers: &Answers, ctx: &Context) -> Vec<Problem> {
    let mut problems = Vec::new();
    let first = |k: &str| answers.get(k).and_then(|v| v.first()).map(String::as_str);
    for qn in section.questions {
        let value = first(qn.key);
        if qn.required && value.is_none() {
            let msg = match qn.kind {
                Kind::Radios(_) | Kind::Checkboxes(_) => select_message(qn.label),
                _ => format!("Enter {}", lower(qn.label)),
            };
            problems.push(problem(qn.key, msg));
            continue;
        }
        if let (Kind::Date, Some(v)) = (qn.kind, value) {
            match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
                Ok(d) if d > ctx.today => problems.push(problem(
                    qn.key,
                    format!(
                        "{} must be today or in the past",
                        crate::text::capitalise(qn.label)
                    ),
                )),
                Ok(_) => {}
                Err(_) => problems.push(problem(
                    qn.key,
                    format!("{} must be a real date", crate::text::capitalise(qn.label)),
                )),
            }
        }
    }
    match section.key {
        "assessments" => {
            let dates: Vec<NaiveDate> = ASSESSMENTS
                .iter()
                .filter_map(|(k, _)| first(k))
                .filter_map(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
                .collect();
            if dates.is_empty() && problems.is_empty() {
                problems.push(problem(
                    "early_help_date",
                    "Enter the date of at least one assessment",
                ));
            } else if let Some(latest) = dates.iter().max() {
                let oldest_allowed = ctx
                    .today
                    .checked_sub_months(Months::new(ctx.assessment_max_age_months))
                    .unwrap_or(ctx.today);
                if *latest < oldest_allowed {
                    problems.push(problem(
                        "early_help_date",
                        format!(
                            "At least one assessment must be from the last {} months (on or after {}); update the assessment before referring",
                            ctx.assessment_max_age_months,
                            long_date(oldest_allowed)
                        ),
                    ));
                }
            }
        }
        "request" => {
            if first("request_type") == Some("review") && first("review_of").is_none() {
                problems.push(problem(
                    "review_of",
                    "Enter which agreement is being reviewed",
                ));
            }
            if let Some(level) = first("need_level")
                && !ctx.need_levels.iter().any(|l| l == level)
            {
                problems.push(problem(
                    "need_level",
                    "This panel does not take that level of need; choose another panel or need level",
                ));
            }
        }
        _ => {}
    }
    problems
}

fn parse_date(d: &str, m: &str, y: &str) -> Option<NaiveDate> {
    let d: u32 = d.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    let y: i32 = y.parse().ok()?;
    if !(1900..=2100).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d)
}

/// The months' names, January first.
pub const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "9 May 2023".
pub fn long_date(d: NaiveDate) -> String {
    format!("{} {} {}", d.day(), MONTHS[d.month0() as usize], d.year())
}

fn select_message(label: &str) -> String {
    format!("Select an answer to “{}”", label.trim_end_matches('?'))
}

fn lower(label: &str) -> String {
    let mut c = label.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            today: NaiveDate::from_ymd_opt(2027, 3, 10).unwrap(),
            assessment_max_age_months: 6,
            need_levels: vec!["high".into(), "complex".into()],
        }
    }

    fn f(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn section_keys_are_unique() {
        let mut keys: Vec<_> = SECTIONS.iter().map(|s| s.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), SECTIONS.len());
    }

    #[test]
    fn assessments_need_one_current_date() {
        let s = section("assessments").unwrap();
        let (_, p) = read(s, &f(&[]), &ctx(), true);
        assert_eq!(p[0].message, "Enter the date of at least one assessment");
        let (a, p) = read(
            s,
            &f(&[
                ("sen_date-day", "1"),
                ("sen_date-month", "6"),
                ("sen_date-year", "2026"),
            ]),
            &ctx(),
            true,
        );
        assert_eq!(a["sen_date"], vec!["2026-06-01"]);
        assert!(p[0].message.contains("last 6 months"), "{p:?}");
        let (_, p) = read(
            s,
            &f(&[
                ("sen_date-day", "1"),
                ("sen_date-month", "2"),
                ("sen_date-year", "2027"),
            ]),
            &ctx(),
            true,
        );
        assert!(p.is_empty(), "{p:?}");
        let (_, p) = read(
            s,
            &f(&[
                ("sen_date-day", "31"),
                ("sen_date-month", "2"),
                ("sen_date-year", "2027"),
            ]),
            &ctx(),
            false,
        );
        assert_eq!(
            p[0].message,
            "SEN assessment or EHCP: date completed must be a real date"
        );
    }

    #[test]
    fn drafts_keep_partial_answers_and_strict_reports_gaps() {
        let s = section("views").unwrap();
        let (a, p) = read(
            s,
            &f(&[("child_views", "Wants to stay at school")]),
            &ctx(),
            false,
        );
        assert!(p.is_empty());
        assert_eq!(a.len(), 1);
        let (_, p) = read(s, &f(&[("child_views", "x")]), &ctx(), true);
        assert_eq!(p[0].key, "parent_views");
        assert_eq!(p[0].message, "Enter the views of the parents or carers");
    }

    #[test]
    fn need_level_must_be_in_the_panel_scope() {
        let s = section("request").unwrap();
        let (_, p) = read(
            s,
            &f(&[("request_type", "review"), ("need_level", "lower")]),
            &ctx(),
            true,
        );
        let keys: Vec<_> = p.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["review_of", "need_level"]);
        let (_, p) = read(s, &f(&[("request_type", "bogus")]), &ctx(), false);
        assert_eq!(
            p[0].message,
            "Select an answer to “Is this a new request or a review”"
        );
    }

    #[test]
    fn long_text_is_refused_but_kept() {
        let s = section("outcomes").unwrap();
        let big = "a".repeat(LONG + 5);
        let (a, p) = read(s, &f(&[("outcomes_sought", &big)]), &ctx(), false);
        assert_eq!(p.len(), 1);
        assert_eq!(a["outcomes_sought"][0].len(), LONG);
        assert_eq!(
            long_date(NaiveDate::from_ymd_opt(2023, 5, 9).unwrap()),
            "9 May 2023"
        );
    }
}
