//! A panel's decision on a referral (SPEC §5, "Part E — CRAG Funding
//! Agreement") and the terms of the funding agreement it commits (§6), as the
//! chair and the administrator type them: read from a form's fields into a
//! [`Draft`], checked for consistency on every save, and for completeness
//! before the chair signs it off.

use crate::apportion;
use crate::costs::{CostLine, Unit};
use crate::text;
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    AgreedAsRecommended,
    AgreedOtherOption,
    Deferred,
    Declined,
    Escalated,
    // At a review of an agreement (SPEC §5, seed 002 §14).
    Continue,
    Vary,
    End,
}

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Outcome::AgreedAsRecommended,
        Outcome::AgreedOtherOption,
        Outcome::Deferred,
        Outcome::Declined,
        Outcome::Escalated,
        Outcome::Continue,
        Outcome::Vary,
        Outcome::End,
    ];
    /// The outcomes open to a new request.
    pub const NEW: [Outcome; 5] = [
        Outcome::AgreedAsRecommended,
        Outcome::AgreedOtherOption,
        Outcome::Deferred,
        Outcome::Declined,
        Outcome::Escalated,
    ];
    /// The outcomes open at a review.
    pub const REVIEW: [Outcome; 4] = [
        Outcome::Continue,
        Outcome::Vary,
        Outcome::End,
        Outcome::Deferred,
    ];
    pub fn slug(self) -> &'static str {
        match self {
            Outcome::AgreedAsRecommended => "agreed-as-recommended",
            Outcome::AgreedOtherOption => "agreed-other-option",
            Outcome::Deferred => "deferred",
            Outcome::Declined => "declined",
            Outcome::Escalated => "escalated",
            Outcome::Continue => "continue",
            Outcome::Vary => "vary",
            Outcome::End => "end",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Outcome::AgreedAsRecommended => "Agreed as recommended",
            Outcome::AgreedOtherOption => "Agreed with another option",
            Outcome::Deferred => "Deferred for more information",
            Outcome::Declined => "Declined",
            Outcome::Escalated => "Escalated above delegated authority",
            Outcome::Continue => "Continue the agreement",
            Outcome::Vary => "Continue with a variation",
            Outcome::End => "End the agreement",
        }
    }
    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.slug() == s.trim())
    }
    /// An outcome of a review.
    pub fn is_review(self) -> bool {
        matches!(self, Outcome::Continue | Outcome::Vary | Outcome::End)
    }
    /// The outcome commits money: it needs an option and a funding agreement.
    pub fn funds(self) -> bool {
        matches!(
            self,
            Outcome::AgreedAsRecommended | Outcome::AgreedOtherOption | Outcome::Escalated
        )
    }
}

/// Something the key worker is expected to do, by a date (seed 002 §15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expectation {
    pub what: String,
    pub due: NaiveDate,
}

/// One organisation's share, in basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub organisation_id: i64,
    pub basis_points: u32,
}

/// A decision as typed so far. Every field may be missing until sign-off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Draft {
    pub outcome: Option<Outcome>,
    pub option_id: Option<i64>,
    pub rationale: String,
    /// Keys of the referral's identified needs the decision answers.
    pub needs: Vec<String>,
    pub lead_agency_id: Option<i64>,
    pub key_worker_id: Option<i64>,
    pub review_date: Option<NaiveDate>,
    pub expectations: Vec<Expectation>,
    // The funding agreement's terms.
    pub provider: String,
    pub contract_agency_id: Option<i64>,
    pub direct_payment: Option<bool>,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub shares: Vec<Share>,
    // At a review: what was achieved, what the child and family say, and
    // (when the agreement ends) why.
    pub outcomes_achieved: String,
    pub views: String,
    pub closure_reason: Option<String>,
}

/// Why a referral is closed when its agreement ends at a review.
pub const REVIEW_CLOSURE_REASONS: [&str; 2] = ["suitable-programme", "no-longer-in-need"];

/// A problem with one field, worded for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// How many expectation rows a form carries.
pub const MAX_EXPECTATIONS: usize = 10;
pub const MAX_RATIONALE: usize = 10_000;

/// What the checks need to know about the referral and the panel.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub today: NaiveDate,
    pub review_max_months: u32,
    /// The referral's options; the first id listed is not special.
    pub option_ids: Vec<i64>,
    pub recommended_option_id: Option<i64>,
    /// The needs the referral identified (keys of `referral_form::NEEDS`).
    pub referral_needs: Vec<String>,
    pub agency_ids: Vec<i64>,
    /// (id, name) of every organisation that can pay.
    pub organisations: Vec<(i64, String)>,
    pub key_worker_ids: Vec<i64>,
    /// The referral is a review of an agreement.
    pub review: bool,
}

fn chosen_id(raw: &str) -> Option<i64> {
    raw.trim().parse().ok().filter(|n: &i64| *n > 0)
}

fn optional_date(
    get: &dyn Fn(&str) -> Vec<String>,
    key: &str,
    what: &str,
) -> Result<Option<NaiveDate>, String> {
    let part = |p: &str| {
        get(&format!("{key}-{p}"))
            .into_iter()
            .next()
            .unwrap_or_default()
    };
    let (d, m, y) = (part("day"), part("month"), part("year"));
    if d.trim().is_empty() && m.trim().is_empty() && y.trim().is_empty() {
        return Ok(None);
    }
    text::civil_date(&d, &m, &y, what).map(Some)
}

/// Reads a decision from a form's fields (`get` gives every value of a
/// field). Returns what could be read and a problem for each field that could
/// not: unreadable values are left out of the draft, never guessed.
pub fn read(get: &dyn Fn(&str) -> Vec<String>, ctx: &Context) -> (Draft, Vec<Problem>) {
    let one = |k: &str| get(k).into_iter().next().unwrap_or_default();
    let mut problems = Vec::new();
    let mut d = Draft::default();
    let outcome = one("outcome");
    if !outcome.trim().is_empty() {
        match Outcome::parse(&outcome) {
            Some(o) if o.is_review() == ctx.review || o == Outcome::Deferred => {
                d.outcome = Some(o);
            }
            Some(_) if ctx.review => problems.push(problem(
                "outcome",
                "This is a review: select continue, continue with a variation, end, or defer",
            )),
            Some(_) => problems.push(problem(
                "outcome",
                "Continue, vary and end are outcomes of a review; this is a new request",
            )),
            None => problems.push(problem("outcome", "Select the panel's decision")),
        }
    }
    let option = one("option");
    if !option.trim().is_empty() {
        match chosen_id(&option).filter(|id| ctx.option_ids.contains(id)) {
            Some(id) => d.option_id = Some(id),
            None => problems.push(problem("option", "Select one of the referral's options")),
        }
    }
    match text::optional(&one("rationale"), "the rationale", MAX_RATIONALE) {
        Ok(r) => d.rationale = r.unwrap_or_default(),
        Err(e) => problems.push(problem("rationale", e)),
    }
    for n in get("needs") {
        if !ctx.referral_needs.contains(&n) {
            problems.push(problem(
                "needs",
                "Select only needs the referral identified",
            ));
            break;
        }
        if !d.needs.contains(&n) {
            d.needs.push(n);
        }
    }
    for (key, slot, list, what) in [
        (
            "lead_agency",
            &mut d.lead_agency_id,
            &ctx.agency_ids,
            "Select the lead agency",
        ),
        (
            "key_worker",
            &mut d.key_worker_id,
            &ctx.key_worker_ids,
            "Select the key worker",
        ),
        (
            "contract_agency",
            &mut d.contract_agency_id,
            &ctx.agency_ids,
            "Select the agency that holds the contract",
        ),
    ] {
        let raw = one(key);
        if raw.trim().is_empty() {
            continue;
        }
        match chosen_id(&raw).filter(|id| list.contains(id)) {
            Some(id) => *slot = Some(id),
            None => problems.push(problem(key, what)),
        }
    }
    for (key, what, slot) in [
        ("review", "the review date", &mut d.review_date),
        ("start", "the date the agreement starts", &mut d.start),
        ("end", "the date the agreement ends", &mut d.end),
    ] {
        match optional_date(get, key, what) {
            Ok(v) => *slot = v,
            Err(e) => problems.push(problem(key, e)),
        }
    }
    for (key, what, slot) in [
        (
            "outcomes_achieved",
            "the outcomes achieved",
            &mut d.outcomes_achieved,
        ),
        ("views", "the views of the child and family", &mut d.views),
    ] {
        match text::optional(&one(key), what, MAX_RATIONALE) {
            Ok(v) => *slot = v.unwrap_or_default(),
            Err(e) => problems.push(problem(key, e)),
        }
    }
    match one("closure_reason").trim() {
        "" => {}
        r if REVIEW_CLOSURE_REASONS.contains(&r) => d.closure_reason = Some(r.to_owned()),
        _ => problems.push(problem("closure_reason", "Select why the agreement ends")),
    }
    match text::optional(&one("provider"), "the provider", 200) {
        Ok(p) => d.provider = p.unwrap_or_default(),
        Err(e) => problems.push(problem("provider", e)),
    }
    match one("direct_payment").as_str() {
        "" => {}
        "yes" => d.direct_payment = Some(true),
        "no" => d.direct_payment = Some(false),
        _ => problems.push(problem(
            "direct_payment",
            "Select whether the family receives the funding as a direct payment",
        )),
    }
    for (id, name) in &ctx.organisations {
        let key = format!("share-{id}");
        let values: Vec<String> = get(&key)
            .into_iter()
            .filter(|v| !v.trim().is_empty())
            .collect();
        match values.as_slice() {
            [] => {}
            [v] => match apportion::parse_percent(v) {
                Ok(bp) => d.shares.push(Share {
                    organisation_id: *id,
                    basis_points: bp,
                }),
                Err(e) => problems.push(problem(&key, format!("{name}: {e}"))),
            },
            _ => problems.push(problem(
                &key,
                format!("{name} is listed more than once: give each organisation one share"),
            )),
        }
    }
    for n in 1..=MAX_EXPECTATIONS {
        let key = format!("expectation-{n}");
        let what = one(&key);
        let due = optional_date(get, &format!("{key}-due"), "the date it is due");
        match (what.trim().is_empty(), due) {
            (true, Ok(None)) => {}
            (true, _) => problems.push(problem(
                &key,
                format!("Describe expectation {n} or clear its date"),
            )),
            (false, Ok(None)) => problems.push(problem(
                &format!("{key}-due"),
                format!("Enter the date expectation {n} is due"),
            )),
            (false, Err(e)) => problems.push(problem(&format!("{key}-due"), e)),
            (false, Ok(Some(due))) => match text::required(&what, "the expectation", 500) {
                Ok(what) => d.expectations.push(Expectation { what, due }),
                Err(e) => problems.push(problem(&key, e)),
            },
        }
    }
    (d, problems)
}

/// The latest review date the panel's rules allow for an agreement starting on `start`.
pub fn latest_review(start: NaiveDate, max_months: u32) -> NaiveDate {
    start
        .checked_add_months(Months::new(max_months))
        .unwrap_or(start)
}

/// Checks the draft. On every save (`complete` false) what is there must be
/// consistent: shares adding up to 100 %, an end after the start, a review
/// within the panel's limit. Before sign-off (`complete` true) everything the
/// outcome needs must be there too.
pub fn check(d: &Draft, ctx: &Context, complete: bool) -> Vec<Problem> {
    let mut out = Vec::new();
    let funds = d.outcome.is_some_and(Outcome::funds);
    if !d.shares.is_empty()
        && let Err(e) = apportion::check(
            &d.shares
                .iter()
                .map(|s| (s.organisation_id, s.basis_points))
                .collect::<Vec<_>>(),
        )
    {
        out.push(problem("shares", e));
    }
    if let (Some(s), Some(e)) = (d.start, d.end) {
        if e < s {
            out.push(problem(
                "end",
                "The agreement must end on or after the day it starts",
            ));
        } else if (e - s).num_days() + 1 > crate::costs::MAX_TERM_DAYS {
            out.push(problem(
                "end",
                "An agreement can run for at most 10 years; the panel reviews and renews it",
            ));
        }
    }
    if let Some(r) = d.review_date {
        let from = d.start.unwrap_or(ctx.today);
        let latest = latest_review(from, ctx.review_max_months);
        if r > latest {
            out.push(problem(
                "review",
                format!(
                    "The review date must be no more than {} months after {} ({} at the latest)",
                    ctx.review_max_months,
                    if d.start.is_some() {
                        "the agreement starts"
                    } else {
                        "today"
                    },
                    crate::referral_form::long_date(latest)
                ),
            ));
        } else if r < ctx.today {
            out.push(problem("review", "The review date must be today or later"));
        }
    }
    for (i, e) in d.expectations.iter().enumerate() {
        if e.due < ctx.today {
            out.push(problem(
                &format!("expectation-{}-due", i + 1),
                "An expectation's date must be today or later",
            ));
        }
    }
    if funds && d.option_id.is_some_and(|o| ctx.option_ids.contains(&o)) {
        let recommended = d.option_id == ctx.recommended_option_id;
        match d.outcome {
            Some(Outcome::AgreedAsRecommended) if !recommended => out.push(problem(
                "option",
                "“Agreed as recommended” needs the option the referral recommended; choose “Agreed with another option” for a different one",
            )),
            Some(Outcome::AgreedOtherOption) if recommended => out.push(problem(
                "option",
                "That is the recommended option: choose “Agreed as recommended”, or select the other option agreed",
            )),
            _ => {}
        }
    }
    if !complete {
        return out;
    }
    let Some(outcome) = d.outcome else {
        out.push(problem("outcome", "Select the panel's decision"));
        return out;
    };
    if d.rationale.trim().is_empty() {
        out.push(problem(
            "rationale",
            "Give the rationale for the decision, grounded in the child's assessed needs",
        ));
    }
    if outcome != Outcome::Deferred && d.needs.is_empty() {
        out.push(problem(
            "needs",
            "Select the assessed needs the decision answers",
        ));
    }
    if outcome.is_review() {
        if d.outcomes_achieved.trim().is_empty() {
            out.push(problem(
                "outcomes_achieved",
                "Record the outcomes achieved against those the referral sought",
            ));
        }
        if d.views.trim().is_empty() {
            out.push(problem(
                "views",
                "Record the views of the child and of the parents or carers",
            ));
        }
    }
    if matches!(outcome, Outcome::Deferred | Outcome::Declined) {
        return out;
    }
    if outcome == Outcome::End {
        if d.end.is_none() {
            out.push(problem("end", "Enter the agreement's last day"));
        }
        if d.closure_reason.is_none() {
            out.push(problem(
                "closure_reason",
                "Select why the agreement ends: the family has accessed a suitable programme, or no longer needs the panel",
            ));
        }
        return out;
    }
    if d.lead_agency_id.is_none() {
        out.push(problem("lead_agency", "Select the lead agency"));
    }
    if d.key_worker_id.is_none() {
        out.push(problem("key_worker", "Select the key worker"));
    }
    if d.review_date.is_none() {
        out.push(problem(
            "review",
            format!(
                "Enter the review date: every agreement is reviewed within {} months",
                ctx.review_max_months
            ),
        ));
    }
    if !funds {
        return out;
    }
    if d.option_id.is_none() {
        out.push(problem("option", "Select the option the panel agreed"));
    }
    if d.provider.trim().is_empty() {
        out.push(problem("provider", "Enter the provider"));
    }
    if d.contract_agency_id.is_none() {
        out.push(problem(
            "contract_agency",
            "Select the agency that holds the contract",
        ));
    }
    if d.direct_payment.is_none() {
        out.push(problem(
            "direct_payment",
            "Select whether the family receives the funding as a direct payment",
        ));
    }
    if d.start.is_none() {
        out.push(problem("start", "Enter the date the agreement starts"));
    }
    if d.end.is_none() {
        out.push(problem(
            "end",
            "Enter the date the agreement ends: an agreement cannot be open-ended",
        ));
    }
    if d.shares.is_empty() {
        out.push(problem(
            "shares",
            "Enter each paying organisation's share: the shares must add up to exactly 100%",
        ));
    }
    out
}

/// The option's cost lines within the agreement's dates: each line cut to the
/// days it shares with [start, end]; a one-off cost kept when it falls inside.
pub fn clip(lines: &[CostLine], start: NaiveDate, end: NaiveDate) -> Vec<CostLine> {
    lines
        .iter()
        .filter_map(|l| {
            if l.unit == Unit::OneOff {
                return (l.start >= start && l.start <= end).then(|| l.clone());
            }
            let (s, e) = (l.start.max(start), l.end.min(end));
            (s <= e).then(|| CostLine {
                start: s,
                end: e,
                ..l.clone()
            })
        })
        .collect()
}

/// Everything the lines cost over their terms.
pub fn total(lines: &[CostLine]) -> crate::Pence {
    crate::Pence(lines.iter().map(|l| l.totals().term.0).sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Pence;
    use crate::costs::Quantity;
    use std::collections::BTreeMap;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn ctx() -> Context {
        Context {
            today: d(2026, 11, 23),
            review_max_months: 12,
            option_ids: vec![11, 12],
            recommended_option_id: Some(11),
            referral_needs: vec!["health".into(), "care".into()],
            agency_ids: vec![1, 2],
            organisations: vec![(7, "Northmoor Council".into()), (8, "ICB".into())],
            key_worker_ids: vec![40],
            review: false,
        }
    }

    fn form(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Vec<String> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in pairs {
            m.entry((*k).to_owned()).or_default().push((*v).to_owned());
        }
        move |k: &str| m.get(k).cloned().unwrap_or_default()
    }

    fn full() -> Vec<(&'static str, &'static str)> {
        vec![
            ("outcome", "agreed-as-recommended"),
            ("option", "11"),
            ("rationale", "Meets the assessed health needs."),
            ("needs", "health"),
            ("lead_agency", "1"),
            ("key_worker", "40"),
            ("review-day", "1"),
            ("review-month", "6"),
            ("review-year", "2027"),
            ("provider", "Oakfield Short Breaks"),
            ("contract_agency", "2"),
            ("direct_payment", "no"),
            ("start-day", "1"),
            ("start-month", "1"),
            ("start-year", "2027"),
            ("end-day", "31"),
            ("end-month", "12"),
            ("end-year", "2027"),
            ("share-7", "60"),
            ("share-8", "40"),
            ("expectation-1", "Report progress to the panel"),
            ("expectation-1-due-day", "1"),
            ("expectation-1-due-month", "3"),
            ("expectation-1-due-year", "2027"),
        ]
    }

    #[test]
    fn a_whole_decision_reads_and_checks_clean() {
        let (draft, problems) = read(&form(&full()), &ctx());
        assert!(problems.is_empty(), "{problems:?}");
        assert!(check(&draft, &ctx(), true).is_empty());
        assert_eq!(draft.shares.len(), 2);
        assert_eq!(draft.shares[0].basis_points, 6_000);
        assert_eq!(draft.expectations[0].due, d(2027, 3, 1));
    }

    fn messages_with(change: &[(&'static str, &'static str)]) -> Vec<String> {
        let mut pairs = full();
        for (k, v) in change {
            pairs.retain(|(pk, _)| pk != k);
            if !v.is_empty() {
                pairs.push((k, v));
            }
        }
        let (draft, mut problems) = read(&form(&pairs), &ctx());
        problems.extend(check(&draft, &ctx(), true));
        problems.into_iter().map(|p| p.message).collect()
    }

    #[test]
    fn the_issues_bad_input_is_refused_with_a_message() {
        let m = messages_with(&[("share-8", "39.99")]);
        assert!(m.iter().any(|m| m.contains("add up to 99.99%")), "{m:?}");
        let m = messages_with(&[("share-8", "40.01")]);
        assert!(m.iter().any(|m| m.contains("add up to 100.01%")), "{m:?}");
        let mut twice = full();
        twice.push(("share-7", "10"));
        let (_, p) = read(&form(&twice), &ctx());
        assert!(p.iter().any(|p| p.message.contains("more than once")));
        let m = messages_with(&[("end-year", "2026")]);
        assert!(m.iter().any(|m| m.contains("end on or after")), "{m:?}");
        let m = messages_with(&[("end-day", ""), ("end-month", ""), ("end-year", "")]);
        assert!(m.iter().any(|m| m.contains("open-ended")), "{m:?}");
        let m = messages_with(&[("review-month", "2"), ("review-year", "2028")]);
        assert!(
            m.iter().any(|m| m.contains("no more than 12 months")),
            "{m:?}"
        );
        let m = messages_with(&[("option", "12")]);
        assert!(m.iter().any(|m| m.contains("recommended")), "{m:?}");
        let m = messages_with(&[("needs", "education")]);
        assert!(
            m.iter()
                .any(|m| m.contains("needs the referral identified"))
        );
        let m = messages_with(&[("rationale", "")]);
        assert!(m.iter().any(|m| m.contains("rationale")));
    }

    #[test]
    fn a_partial_draft_saves_but_cannot_be_signed() {
        let (draft, p) = read(&form(&[("outcome", "declined")]), &ctx());
        assert!(p.is_empty());
        assert!(check(&draft, &ctx(), false).is_empty());
        let m = check(&draft, &ctx(), true);
        assert_eq!(m.len(), 2, "{m:?}");
    }

    #[test]
    fn a_review_needs_its_outcomes_and_views_and_an_end_needs_a_reason() {
        let review = Context {
            review: true,
            ..ctx()
        };
        let (_, p) = read(&form(&[("outcome", "agreed-as-recommended")]), &review);
        assert!(p[0].message.contains("This is a review"));
        let (_, p) = read(&form(&[("outcome", "continue")]), &ctx());
        assert!(p[0].message.contains("outcomes of a review"));
        let (d, p) = read(
            &form(&[("outcome", "end"), ("rationale", "Done"), ("needs", "care")]),
            &review,
        );
        assert!(p.is_empty(), "{p:?}");
        let m: Vec<String> = check(&d, &review, true)
            .into_iter()
            .map(|p| p.message)
            .collect();
        assert_eq!(m.len(), 4, "{m:?}");
        assert!(m.iter().any(|m| m.contains("outcomes achieved")));
        assert!(m.iter().any(|m| m.contains("views of the child")));
        assert!(m.iter().any(|m| m.contains("last day")));
        assert!(m.iter().any(|m| m.contains("why the agreement ends")));
    }

    #[test]
    fn lines_are_cut_to_the_agreement() {
        let weekly = CostLine {
            item: "Short breaks".into(),
            unit_cost: Pence(70_000),
            unit: Unit::PerWeek,
            quantity: Quantity(100),
            start: d(2026, 12, 1),
            end: d(2027, 12, 31),
        };
        let one_off = CostLine {
            unit: Unit::OneOff,
            start: d(2026, 12, 1),
            end: d(2026, 12, 1),
            ..weekly.clone()
        };
        let cut = clip(&[weekly, one_off], d(2027, 1, 1), d(2027, 1, 7));
        assert_eq!(cut.len(), 1);
        assert_eq!(cut[0].start, d(2027, 1, 1));
        assert_eq!(total(&cut), Pence(70_000));
    }
}
