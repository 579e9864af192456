//! A generated case history: years of past meetings, children, referrals,
//! signed decisions, letters, funding agreements (with the finance summary
//! kept by `finance::refresh`), budgets and actual spend. The demo loads a
//! small one so the tracker and dashboards have something to show; the
//! benchmark loads a county's ten years. Deterministic for a seed; every name
//! is invented and NHS numbers are from the 999 range.
//!
//! Each child has a chain of requests, one after another: a referral to a
//! meeting, a decision (funded three times in four), and when funded an
//! agreement of six to eighteen months; the next request follows its end.

use crate::db::{self, DbResult, Tx};
use crate::reference::panels::{self, Panel};
use crate::{Actor, ChangeError, audit, params};
use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime};
use jp_domain::Pence;
use jp_domain::calendar::{Calendar, Deadlines};
use jp_domain::costs::{CostLine, Quantity, Unit};
use jp_domain::decision::Share;

/// How much history to make.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub children: u32,
    pub referrals: u32,
    /// How many years back the history starts.
    pub years: u32,
    pub seed: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Made {
    pub meetings: u64,
    pub children: u64,
    pub referrals: u64,
    pub agreements: u64,
}

/// A small deterministic generator (SplitMix64): no dependency, same data
/// for the same seed on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// 0..n
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    /// True `pc` times in a hundred.
    fn chance(&mut self, pc: u64) -> bool {
        self.below(100) < pc
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[usize::try_from(self.below(xs.len() as u64)).unwrap_or(0)]
    }
}

const GIVEN: [&str; 24] = [
    "Alfie", "Bea", "Cai", "Dara", "Esme", "Finlay", "Greer", "Hari", "Isla", "Jonah", "Kit",
    "Lowen", "Mabli", "Nico", "Orla", "Pip", "Quinn", "Rhys", "Sian", "Tomos", "Una", "Wren",
    "Yusuf", "Zara",
];
const FAMILY: [&str; 24] = [
    "Ashdown",
    "Birchall",
    "Carrow",
    "Denholm",
    "Elsworth",
    "Fennick",
    "Garside",
    "Holroyd",
    "Ingleby",
    "Jessop",
    "Kettlewell",
    "Lindley",
    "Moorcroft",
    "Netherwood",
    "Oakhurst",
    "Pennock",
    "Quarmby",
    "Ridsdale",
    "Stainforth",
    "Thwaite",
    "Uttley",
    "Varley",
    "Whitwell",
    "Yeadon",
];
const PROVISION: [(&str, &str, Unit, i64); 6] = [
    (
        "Dale Short Breaks",
        "Residential short breaks",
        Unit::PerWeek,
        68_500,
    ),
    (
        "Northmoor Community Nursing",
        "Overnight nursing support",
        Unit::PerWeek,
        112_000,
    ),
    (
        "Fellside School",
        "Specialist day placement",
        Unit::PerWeek,
        145_000,
    ),
    (
        "Harbour House",
        "Residential placement (52 weeks)",
        Unit::PerWeek,
        420_000,
    ),
    (
        "Brightpath Therapies",
        "Therapy programme",
        Unit::PerMonth,
        180_000,
    ),
    (
        "Family Link",
        "Outreach support worker",
        Unit::PerHour,
        2_850,
    ),
];

struct Setting {
    panel: Panel,
    cal: Calendar,
    chair: i64,
    meetings: Vec<(i64, NaiveDate, i64)>,
}

fn first_user(tx: &mut Tx<'_>, role: &str) -> DbResult<Option<i64>> {
    tx.query_opt(
        "SELECT user_id FROM user_roles WHERE role = $1 ORDER BY user_id LIMIT 1",
        &params![role],
    )?
    .map(|r| r.get(0))
    .transpose()
}

/// The day at an o'clock hour.
pub(crate) fn at(d: NaiveDate, h: u32) -> NaiveDateTime {
    d.and_hms_opt(h, 0, 0).unwrap_or_default()
}

/// Makes the history: meetings from `plan.years` back until three months
/// before `today`, then each child's chain of requests. `progress(done,
/// total)` is called as referrals are made.
#[allow(clippy::too_many_lines)]
pub fn generate(
    tx: &mut Tx<'_>,
    actor: &Actor,
    plan: &Plan,
    today: NaiveDate,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Made, ChangeError> {
    let mut rng = Rng(plan.seed);
    let mut made = Made::default();
    // Spend is generated for this run's agreements only.
    let first_new_agreement: i64 = tx
        .query_one("SELECT COALESCE(MAX(id), 0) FROM agreements", &[])?
        .get::<i64>(0)?
        + 1;
    let (Some(referrer), Some(approver), Some(admin)) = (
        first_user(tx, "referrer")?,
        first_user(tx, "approver")?,
        first_user(tx, "administrator")?,
    ) else {
        return Err(ChangeError::Invalid(
            "A history needs a referrer, an approver and an administrator".into(),
        ));
    };
    let agencies: Vec<(i64, String, i64)> = tx
        .query(
            "SELECT a.id, a.name, a.organisation_id FROM agencies a ORDER BY a.id",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .collect::<DbResult<_>>()?;
    let organisations: Vec<(i64, String)> = tx
        .query("SELECT id, kind FROM organisations ORDER BY id", &[])?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect::<DbResult<_>>()?;
    let council = organisations
        .iter()
        .find(|(_, k)| k == "local-authority")
        .map(|o| o.0);
    let nhs = organisations.iter().find(|(_, k)| k == "nhs").map(|o| o.0);
    let (Some(council), Some(nhs)) = (council, nhs) else {
        return Err(ChangeError::Invalid(
            "A history needs a local authority and an NHS organisation".into(),
        ));
    };
    let casework: Vec<i64> = agencies
        .iter()
        .filter(|(_, n, _)| !n.starts_with("Adults") && !n.starts_with("Schools"))
        .map(|a| a.0)
        .collect();
    let absent: Vec<i64> = agencies.iter().map(|a| a.0).collect();
    if casework.is_empty() {
        return Err(ChangeError::Invalid("A history needs agencies".into()));
    }

    // Past meetings, monthly on each panel's cadence, held and minuted.
    let first = today
        .with_day(1)
        .and_then(|d| d.checked_sub_months(Months::new(plan.years * 12)))
        .unwrap_or(today);
    let last = today - Duration::days(75);
    let attachment = crate::outbox::add_attachment(
        tx,
        "letter-before-joint-panel.txt",
        "text/plain",
        b"This decision letter was sent before Joint Panel kept the record; the paper copy is on the case file.".to_vec(),
    )?;
    let mut settings = Vec::new();
    for panel in panels::list(tx)? {
        let Some(chair) = tx
            .query_opt(
                "SELECT user_id FROM panel_members WHERE panel_id = $1 AND is_chair ORDER BY id LIMIT 1",
                &params![panel.id],
            )?
            .map(|r| r.get::<i64>(0))
            .transpose()?
        else {
            continue;
        };
        let cal = crate::calendar::for_region(tx, panel.rules.region)?;
        let mut meetings = Vec::new();
        let mut month = first;
        while month <= last {
            if let Some(date) = panel.rules.cadence.date_in(month.year(), month.month())
                && date <= last
            {
                let d = Deadlines::for_meeting(&cal, &panel.rules, date);
                let circulated = if rng.chance(8) {
                    cal.after(d.papers_due, 1)
                } else {
                    d.papers_due
                };
                let issued = if rng.chance(12) {
                    cal.after(d.minutes_due, 2)
                } else {
                    d.minutes_due
                };
                let id: i64 = tx
                    .query_one(
                        "INSERT INTO meetings (panel_id, meeting_date, kind, status, created_at, updated_at, created_by,
                             circulated_at, started_at, closed_at, minutes_approved_by, minutes_approved_at, minutes_due,
                             minutes_issued_on, agenda_approved_by, agenda_approved_at)
                         VALUES ($1, $2, 'scheduled', 'closed', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $9, $3) RETURNING id",
                        &params![
                            panel.id,
                            date,
                            at(d.papers_due - Duration::days(7), 9),
                            at(issued, 16),
                            admin,
                            at(circulated, 9),
                            at(date, 10),
                            at(date, 13),
                            chair,
                            at(issued, 11),
                            d.minutes_due,
                            issued
                        ],
                    )?
                    .get(0)?;
                meetings.push((id, date, 0));
                made.meetings += 1;
            }
            let Some(next) = month.checked_add_months(Months::new(1)) else {
                break;
            };
            month = next;
        }
        if !meetings.is_empty() {
            settings.push(Setting {
                panel,
                cal,
                chair,
                meetings,
            });
        }
    }
    if settings.is_empty() {
        return Ok(made);
    }

    let total = u64::from(plan.referrals);
    let per_child = (plan.referrals / plan.children.max(1)).max(1);
    let extra = plan.referrals % plan.children.max(1);
    let mut done = 0_u64;
    for c in 0..plan.children {
        if done >= total {
            break;
        }
        let n = settings.len() as u64;
        let s = &mut settings[usize::try_from(rng.below(n)).unwrap_or(0)];
        let chain = per_child + u32::from(c < extra);
        // A request takes about a year, agreement and gap together; chains
        // end anywhere up to a year beyond the last meeting, so some are cut
        // short with their last agreement still running today.
        let span = u64::from(chain) * 12;
        let hi = (s.meetings.len() as u64 + 12).saturating_sub(span).max(1);
        let mut slot = usize::try_from(rng.below(hi)).unwrap_or(0);
        let age_years = 4 + rng.below(13);
        let (_, first_date, _) = s.meetings[slot];
        let born = first_date
            .checked_sub_months(Months::new(
                u32::try_from(age_years * 12 + rng.below(12)).unwrap_or(60),
            ))
            .unwrap_or(first_date);
        let seq = plan.seed.wrapping_mul(1_000_003).wrapping_add(u64::from(c));
        let local_id = format!("NH-{:06}", 100_000 + (seq % 900_000));
        // Seeds ten apart: a seed whose check digit fails moves on to the
        // next, so neighbouring seeds could otherwise share a number.
        let nhs_number =
            crate::demo_casework::test_nhs_number(u32::try_from((seq % 100_000) * 10).unwrap_or(0));
        let Some(child_id) = tx
            .query_opt(
                "INSERT INTO children (local_id, nhs_number, given_name, family_name, date_of_birth, parental_responsibility,
                     language_needs, created_by, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, 'Parents, jointly', 'English; no interpreter needed.', $6, $7, $7)
                 ON CONFLICT (local_id) DO NOTHING RETURNING id",
                &params![&local_id, &nhs_number, *rng.pick(&GIVEN), *rng.pick(&FAMILY), born, referrer, at(first_date, 9)],
            )?
            .map(|r| r.get::<i64>(0))
            .transpose()?
        else {
            continue;
        };
        made.children += 1;
        for _ in 0..chain {
            if slot >= s.meetings.len() || done >= total {
                break;
            }
            let (meeting_id, date, position) = s.meetings[slot];
            s.meetings[slot].2 += 1;
            let d = Deadlines::for_meeting(&s.cal, &s.panel.rules, date);
            let late = rng.chance(7);
            let submitted = if late {
                s.cal.after(d.submission_deadline, 1)
            } else {
                s.cal.before(
                    d.submission_deadline,
                    u32::try_from(rng.below(4)).unwrap_or(0),
                )
            };
            let agency = *rng.pick(&casework);
            let need_level = rng.pick(&s.panel.rules.need_levels).clone();
            let outcome = match rng.below(100) {
                0..=64 => "agreed-as-recommended",
                65..=74 => "agreed-other-option",
                _ => "declined",
            };
            let funded = outcome != "declined";
            let months = 6 + u32::try_from(rng.below(13)).unwrap_or(0);
            let start = s.cal.after(date, 10);
            let end = start
                .checked_add_months(Months::new(months))
                .map_or(start, |e| e - Duration::days(1));
            let review = start
                .checked_add_months(Months::new(months.min(12) - 1))
                .unwrap_or(start);
            let active = funded && end >= today;
            let status = if active { "agreement-active" } else { "closed" };
            let closure = if !funded {
                Some("declined")
            } else if active {
                None
            } else {
                Some("no-longer-in-need")
            };
            let referral_id: i64 = tx
                .query_one(
                    "INSERT INTO referrals (child_id, panel_id, status, referrer_id, agency_id, team, request_type, need_level,
                         meeting_id, late, late_reason, sent_at, approved_by, approved_at, submitted_at, closure_reason, closed_on,
                         created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, 'Children''s Team', 'new', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $10, $10) RETURNING id",
                    &params![
                        child_id,
                        s.panel.id,
                        status,
                        referrer,
                        agency,
                        &need_level,
                        meeting_id,
                        late,
                        if late { Some("Assessment finished after the deadline") } else { None },
                        at(submitted - Duration::days(3), 10),
                        approver,
                        at(submitted, 9),
                        at(submitted, 15),
                        closure,
                        if active { None } else if funded { Some(end) } else { Some(date) }
                    ],
                )?
                .get(0)?;
            let mut needs: Vec<&str> = Vec::new();
            for &(k, _) in jp_domain::referral_form::NEEDS {
                if rng.chance(if needs.is_empty() { 45 } else { 30 }) {
                    needs.push(k);
                }
            }
            if needs.is_empty() {
                needs.push(rng.pick(jp_domain::referral_form::NEEDS).0);
            }
            let answers = serde_json::json!({
                "summary": ["Referred before Joint Panel kept the record: the full form is on the case file."],
                "needs": needs,
                "needs_detail": ["See the case file."],
            });
            tx.execute(
                "INSERT INTO referral_sections (referral_id, section, answers, complete, updated_by, updated_at)
                 VALUES ($1, 'needs', $2, TRUE, $3, $4)",
                &params![referral_id, answers.to_string(), referrer, at(submitted, 9)],
            )?;
            let item_id: i64 = tx
                .query_one(
                    "INSERT INTO agenda_items (meeting_id, referral_id, kind, position, minutes, created_at, minute, referrer_attended,
                         considered_by, considered_at)
                     VALUES ($1, $2, 'new', $3, 20, $4, 'Considered; the decision letter records the outcome.', 'yes', $5, $6) RETURNING id",
                    &params![meeting_id, referral_id, position + 1, at(submitted, 16), admin, at(date, 11)],
                )?
                .get(0)?;
            let option = *rng.pick(&PROVISION);
            let quantity = match option.2 {
                Unit::PerHour => 600 + i64::try_from(rng.below(1_400)).unwrap_or(0) / 100 * 100,
                _ => 100,
            };
            let lines = vec![CostLine {
                item: option.1.to_owned(),
                unit_cost: Pence(option.3 + i64::try_from(rng.below(20)).unwrap_or(0) * 1_000),
                unit: option.2,
                quantity: Quantity(quantity),
                start,
                end,
            }];
            let total_pence = jp_domain::decision::total(&lines).0;
            let letter_due = d.letter_due;
            let sent_on = if rng.chance(10) {
                s.cal.after(letter_due, 2)
            } else {
                letter_due
            };
            let draft = serde_json::json!({
                "outcome": outcome,
                "rationale": "Recorded before Joint Panel kept the record; the minutes and the letter on the case file give the panel's reasons.",
                "needs": needs,
            });
            let decision_id: i64 = tx
                .query_one(
                    "INSERT INTO decisions (referral_id, meeting_id, item_id, status, outcome, draft, review_date, total_pence,
                         delegated_limit_pence, letter_due, signed_by, signed_at, created_by, created_at, updated_at,
                         key_worker_id, lead_agency_id)
                     VALUES ($1, $2, $3, 'signed', $4, $5, $6, $7, $8, $9, $10, $11, $10, $11, $11, $12, $13) RETURNING id",
                    &params![
                        referral_id,
                        meeting_id,
                        item_id,
                        outcome,
                        draft.to_string(),
                        if funded { Some(review) } else { None },
                        if funded { total_pence } else { 0 },
                        s.panel.rules.delegated_limit.0,
                        letter_due,
                        s.chair,
                        at(date, 12),
                        referrer,
                        agency
                    ],
                )?
                .get(0)?;
            tx.execute(
                "UPDATE referrals SET decision_id = $1 WHERE id = $2",
                &params![decision_id, referral_id],
            )?;
            tx.execute(
                "INSERT INTO decision_letters (decision_id, kind, attachment_id, sent_on, due, on_time, recipients, sent_by, sent_at)
                 VALUES ($1, 'final', $2, $3, $4, $5, 'The referrer and their service manager', $6, $7)",
                &params![decision_id, attachment, sent_on, letter_due, sent_on <= letter_due, admin, at(sent_on, 15)],
            )?;
            if rng.chance(30) {
                let due = s.cal.after(date, s.panel.rules.absent_agency_response_days);
                let answered = if rng.chance(20) {
                    s.cal.after(due, 2)
                } else {
                    due
                };
                tx.execute(
                    "INSERT INTO recommendations (item_id, meeting_id, referral_id, agency_id, due_date, status, responded_by,
                         responded_at, created_at)
                     VALUES ($1, $2, $3, $4, $5, 'accepted', $6, $7, $8)
                     ON CONFLICT (item_id, agency_id) DO NOTHING",
                    &params![item_id, meeting_id, referral_id, *rng.pick(&absent), due, approver, at(answered, 14), at(date, 13)],
                )?;
            }
            if funded {
                let shares = match rng.below(4) {
                    0 => vec![(council, 5_000), (nhs, 5_000)],
                    1 => vec![(council, 6_000), (nhs, 4_000)],
                    2 => vec![(council, 7_000), (nhs, 3_000)],
                    _ => vec![(council, 10_000)],
                };
                let terms = crate::agreements::Terms {
                    provider: option.0.to_owned(),
                    contract_agency_id: agency,
                    direct_payment: false,
                    start,
                    end,
                    review_date: review,
                    lines,
                    shares: shares
                        .into_iter()
                        .map(|(organisation_id, basis_points)| Share {
                            organisation_id,
                            basis_points,
                        })
                        .collect(),
                };
                let agreement_id: i64 = tx
                    .query_one(
                        "INSERT INTO agreements (referral_id, child_id, panel_id, status, current_number, activated_by, activated_at,
                             ended_on, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $6, $6) RETURNING id",
                        &params![
                            referral_id,
                            child_id,
                            s.panel.id,
                            if active { "active" } else { "ended" },
                            s.chair,
                            at(date, 12),
                            if active { None } else { Some(end) }
                        ],
                    )?
                    .get(0)?;
                crate::agreements::insert_version(
                    tx,
                    actor,
                    agreement_id,
                    1,
                    "Agreed by the panel",
                    Some(decision_id),
                    &terms,
                )?;
                crate::finance::refresh(tx, agreement_id)?;
                made.agreements += 1;
            }
            made.referrals += 1;
            done += 1;
            progress(done, total);
            // The next request follows the end of this one (or a few months
            // after a refusal), at that month's meeting.
            let gap = if funded { months + 1 } else { 3 };
            slot += usize::try_from(gap + u32::try_from(rng.below(3)).unwrap_or(0)).unwrap_or(1);
        }
    }

    // Actual spend: what was committed in each month before this one, as
    // invoiced (every fifth agreement's provider charged 2% less).
    let this_month = i64::from(today.year()) * 100 + i64::from(today.month());
    tx.execute(
        "INSERT INTO spend (agreement_id, organisation_id, panel_id, year, month, financial_year, pence, reference, recorded_by, recorded_at)
         SELECT agreement_id, organisation_id, panel_id, year, month, financial_year,
                CASE WHEN agreement_id % 5 = 0 THEN pence * 98 / 100 ELSE pence END,
                'Invoice (before Joint Panel)', $1, $2
         FROM committed_costs WHERE committed AND year * 100 + month < $3 AND agreement_id >= $4",
        &params![admin, db::now(), this_month, first_new_agreement],
    )?;
    tx.execute(
        "INSERT INTO finance_months (organisation_id, panel_id, year, month, financial_year, actual)
         SELECT organisation_id, panel_id, year, month, MIN(financial_year),
                CAST(SUM(CASE WHEN agreement_id % 5 = 0 THEN pence * 98 / 100 ELSE pence END) AS BIGINT)
         FROM committed_costs WHERE committed AND year * 100 + month < $1 AND agreement_id >= $2
         GROUP BY organisation_id, panel_id, year, month
         ON CONFLICT (organisation_id, panel_id, year, month) DO UPDATE SET actual = finance_months.actual + excluded.actual",
        &params![this_month, first_new_agreement],
    )?;
    // Budgets: each organisation's committed cost on each panel, rounded up
    // to the thousand pounds, a little tighter or looser year by year.
    let sums: Vec<(i64, i64, i64, i64)> = tx
        .query(
            "SELECT organisation_id, panel_id, financial_year, CAST(SUM(pence) AS BIGINT) FROM committed_costs
             WHERE committed GROUP BY organisation_id, panel_id, financial_year",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .collect::<DbResult<_>>()?;
    for (org, panel, fy, pence) in sums {
        let factor = 92 + i64::try_from(rng.below(20)).unwrap_or(0);
        let budget = (pence * factor / 100).div_euclid(100_000) * 100_000 + 100_000;
        tx.execute(
            "INSERT INTO budgets (organisation_id, panel_id, financial_year, pence, updated_by, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (organisation_id, panel_id, financial_year) DO NOTHING",
            &params![org, panel, fy, budget, admin, db::now()],
        )?;
    }
    audit::record(
        tx,
        actor,
        "history.generated",
        "installation",
        None,
        serde_json::json!({"seed": plan.seed, "years": plan.years, "meetings": made.meetings,
            "children": made.children, "referrals": made.referrals, "agreements": made.agreements}),
    )?;
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn the_generator_repeats_for_a_seed() {
        let (mut a, mut b) = (Rng(7), Rng(7));
        let xs: Vec<u64> = (0..5).map(|_| a.below(1000)).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.below(1000)).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, (0..5).map(|_| Rng(8).below(1000)).collect::<Vec<_>>());
    }
}
