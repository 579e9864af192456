//! The figures behind the dashboards (SPEC §7): reviews due and overdue,
//! service levels against the panel's deadlines, and the needs picture for
//! strategic planning. Counts only — no names leave this module.

use crate::db::{Conn, DbResult};
use crate::params;
use crate::reference::panels;
use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};
use jp_domain::calendar::Deadlines;
use std::collections::BTreeMap;

/// A calendar month, (year, month).
pub type Month = (i32, u32);

fn month_of(d: NaiveDate) -> Month {
    (d.year(), d.month())
}

fn in_scope(panels: Option<&[i64]>, panel_id: i64) -> bool {
    panels.is_none_or(|p| p.contains(&panel_id))
}

/// The `n` months ending with `last`, oldest first.
pub fn months_ending(last: NaiveDate, n: u32) -> Vec<Month> {
    let first = last.with_day(1).unwrap_or(last);
    (0..n)
        .rev()
        .filter_map(|k| first.checked_sub_months(Months::new(k)))
        .map(month_of)
        .collect()
}

// --- Reviews due -------------------------------------------------------------

/// Active agreements' reviews: how many are overdue, and how many fall in
/// each of the coming months (booked onto a meeting or not yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewsDue {
    pub overdue: Counted,
    /// The next twelve months from this one, in order.
    pub months: Vec<(Month, Counted)>,
    /// Due after the last month shown.
    pub later: Counted,
}

/// Booked onto a meeting, or waiting to be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counted {
    pub booked: i64,
    pub unbooked: i64,
}

impl Counted {
    pub fn total(&self) -> i64 {
        self.booked + self.unbooked
    }
    fn add(&mut self, booked: bool) {
        if booked {
            self.booked += 1;
        } else {
            self.unbooked += 1;
        }
    }
}

pub fn reviews_due(
    conn: &mut Conn,
    panels: Option<&[i64]>,
    today: NaiveDate,
) -> DbResult<ReviewsDue> {
    let rows = conn.query(
        "SELECT v.review_date, a.panel_id, a.review_referral_id
         FROM agreements a
         JOIN agreement_versions v ON v.agreement_id = a.id AND v.number = a.current_number
         WHERE a.status = 'active' AND v.review_date IS NOT NULL",
        &[],
    )?;
    let months: Vec<Month> = (0..12)
        .filter_map(|k| {
            today
                .with_day(1)
                .and_then(|d| d.checked_add_months(Months::new(k)))
        })
        .map(month_of)
        .collect();
    let mut out = ReviewsDue {
        months: months.iter().map(|m| (*m, Counted::default())).collect(),
        ..ReviewsDue::default()
    };
    for r in &rows {
        let (date, panel_id): (NaiveDate, i64) = (r.get(0)?, r.get(1)?);
        if !in_scope(panels, panel_id) {
            continue;
        }
        let booked = r.get::<Option<i64>>(2)?.is_some();
        if date < today {
            out.overdue.add(booked);
        } else if let Some(slot) = out.months.iter_mut().find(|(m, _)| *m == month_of(date)) {
            slot.1.add(booked);
        } else {
            out.later.add(booked);
        }
    }
    Ok(out)
}

// --- Service levels ----------------------------------------------------------

/// The five service levels the panel's terms of reference set.
pub const MEASURES: [(&str, &str); 5] = [
    ("referrals", "Referrals submitted by the deadline"),
    ("papers", "Papers circulated on time"),
    ("letters", "Decision letters sent on time"),
    ("minutes", "Minutes issued on time"),
    ("responses", "Absent agencies answered on time"),
];

/// On time against late; what is not yet due is not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Level {
    pub on_time: i64,
    pub late: i64,
}

impl Level {
    pub fn total(&self) -> i64 {
        self.on_time + self.late
    }
    /// Whole per cent on time, rounded down; None when nothing was due.
    pub fn percent(&self) -> Option<i64> {
        (self.total() > 0).then(|| self.on_time * 100 / self.total())
    }
    fn count(&mut self, on_time: Option<bool>) {
        match on_time {
            Some(true) => self.on_time += 1,
            Some(false) => self.late += 1,
            None => {}
        }
    }
}

/// One month of meetings: each measure in `MEASURES` order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthLevels {
    pub month: Month,
    pub levels: [Level; 5],
}

/// Done by the due day: on time; done later, or not done and the day has
/// passed: late; not done and not yet due: not counted.
fn judged(done: Option<NaiveDate>, due: NaiveDate, today: NaiveDate) -> Option<bool> {
    match done {
        Some(d) => Some(d <= due),
        None if due < today => Some(false),
        None => None,
    }
}

/// Service levels for the meetings held in `months`, by meeting month.
pub fn service_levels(
    conn: &mut Conn,
    panels: Option<&[i64]>,
    months: &[Month],
    today: NaiveDate,
) -> DbResult<Vec<MonthLevels>> {
    let mut out: Vec<MonthLevels> = months
        .iter()
        .map(|m| MonthLevels {
            month: *m,
            levels: [Level::default(); 5],
        })
        .collect();
    let (Some(first), Some(last)) = (months.first(), months.last()) else {
        return Ok(out);
    };
    let from = NaiveDate::from_ymd_opt(first.0, first.1, 1).unwrap_or(today);
    let to = NaiveDate::from_ymd_opt(last.0, last.1, 1)
        .and_then(|d| d.checked_add_months(Months::new(1)))
        .unwrap_or(today);
    let mut slot = |d: NaiveDate, measure: usize, on_time: Option<bool>| {
        if let Some(m) = out.iter_mut().find(|m| m.month == month_of(d)) {
            m.levels[measure].count(on_time);
        }
    };

    // Referrals: booked onto a meeting in the window, submitted by its deadline.
    for r in &conn.query(
        "SELECT m.meeting_date, r.panel_id, r.late FROM referrals r
         JOIN meetings m ON m.id = r.meeting_id
         WHERE m.meeting_date >= $1 AND m.meeting_date < $2 AND r.submitted_at IS NOT NULL",
        &params![from, to],
    )? {
        if in_scope(panels, r.get(1)?) {
            slot(r.get(0)?, 0, Some(!r.get::<bool>(2)?));
        }
    }

    // Papers and minutes: each meeting against its own deadlines (calendar).
    let all_panels = panels::list(conn)?;
    let mut calendars = BTreeMap::new();
    for r in &conn.query(
        "SELECT meeting_date, panel_id, circulated_at, minutes_due, minutes_issued_on FROM meetings
         WHERE meeting_date >= $1 AND meeting_date < $2 AND status <> 'cancelled'",
        &params![from, to],
    )? {
        let (date, panel_id): (NaiveDate, i64) = (r.get(0)?, r.get(1)?);
        let Some(panel) = all_panels.iter().find(|p| p.id == panel_id) else {
            continue;
        };
        if !in_scope(panels, panel_id) {
            continue;
        }
        let region = panel.rules.region;
        if !calendars.contains_key(region.slug()) {
            calendars.insert(region.slug(), crate::calendar::for_region(conn, region)?);
        }
        let d = Deadlines::for_meeting(&calendars[region.slug()], &panel.rules, date);
        let circulated: Option<NaiveDateTime> = r.get(2)?;
        slot(
            date,
            1,
            judged(circulated.map(|t| t.date()), d.papers_due, today),
        );
        let minutes_due: Option<NaiveDate> = r.get(3)?;
        if let Some(due) = minutes_due {
            slot(date, 3, judged(r.get(4)?, due, today));
        }
    }

    // Letters: each signed decision (not a correction) by its letter's due day.
    for r in &conn.query(
        "SELECT m.meeting_date, m.panel_id, d.letter_due,
                (SELECT MIN(l.sent_on) FROM decision_letters l WHERE l.decision_id = d.id)
         FROM decisions d JOIN meetings m ON m.id = d.meeting_id
         WHERE d.status = 'signed' AND d.corrects_id IS NULL AND d.letter_due IS NOT NULL
           AND m.meeting_date >= $1 AND m.meeting_date < $2",
        &params![from, to],
    )? {
        if in_scope(panels, r.get(1)?) {
            slot(r.get(0)?, 2, judged(r.get(3)?, r.get(2)?, today));
        }
    }

    // Recommendations to absent agencies, answered by their due day.
    for r in &conn.query(
        "SELECT m.meeting_date, m.panel_id, rc.due_date, rc.responded_at
         FROM recommendations rc JOIN meetings m ON m.id = rc.meeting_id
         WHERE m.meeting_date >= $1 AND m.meeting_date < $2",
        &params![from, to],
    )? {
        if in_scope(panels, r.get(1)?) {
            let answered: Option<NaiveDateTime> = r.get(3)?;
            slot(
                r.get(0)?,
                4,
                judged(answered.map(|t| t.date()), r.get(2)?, today),
            );
        }
    }
    Ok(out)
}

// --- The needs picture -------------------------------------------------------

/// Age bands at submission, for planning (14 and over: preparing for adulthood).
pub const AGE_BANDS: [&str; 6] = [
    "Under 5",
    "5 to 10",
    "11 to 13",
    "14 to 15",
    "16 to 17",
    "18 and over",
];

pub fn age_band(born: NaiveDate, on: NaiveDate) -> usize {
    let age = on.years_since(born).unwrap_or(0);
    match age {
        0..=4 => 0,
        5..=10 => 1,
        11..=13 => 2,
        14..=15 => 3,
        16..=17 => 4,
        _ => 5,
    }
}

/// Referrals submitted in each financial year, counted by need (a referral
/// with three needs counts once under each), age band, outcome and agency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NeedsPicture {
    /// The financial years shown (2026 = 2026/27), oldest first.
    pub years: Vec<i32>,
    /// Referrals per year.
    pub referrals: Vec<i64>,
    /// Need slug → count per year (in `years` order), every need listed.
    pub by_need: Vec<(String, Vec<i64>)>,
    /// Age band → count per year.
    pub by_age: Vec<(String, Vec<i64>)>,
    /// Outcome of the decision in force ("Not decided yet" when none) → per year.
    pub by_outcome: Vec<(String, Vec<i64>)>,
    /// Referring agency → per year.
    pub by_agency: Vec<(String, Vec<i64>)>,
}

pub fn needs_picture(
    conn: &mut Conn,
    panels: Option<&[i64]>,
    years: &[i32],
) -> DbResult<NeedsPicture> {
    let (Some(first), Some(last)) = (years.first(), years.last()) else {
        return Ok(NeedsPicture::default());
    };
    let from = NaiveDate::from_ymd_opt(*first, 4, 1).unwrap_or_default();
    let to = NaiveDate::from_ymd_opt(*last + 1, 4, 1).unwrap_or_default();
    let n = years.len();
    let zero = || vec![0_i64; n];
    let mut pic = NeedsPicture {
        years: years.to_vec(),
        referrals: zero(),
        by_need: jp_domain::referral_form::NEEDS
            .iter()
            .map(|(k, _)| ((*k).to_owned(), zero()))
            .collect(),
        by_age: AGE_BANDS
            .iter()
            .map(|b| ((*b).to_owned(), zero()))
            .collect(),
        by_outcome: Vec::new(),
        by_agency: Vec::new(),
    };
    let mut outcomes: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut agencies: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for r in &conn.query(
        "SELECT r.submitted_at, r.panel_id, c.date_of_birth, COALESCE(ag.name, ''), COALESCE(d.outcome, ''), s.answers
         FROM referrals r
         JOIN children c ON c.id = r.child_id
         LEFT JOIN agencies ag ON ag.id = r.agency_id
         LEFT JOIN decisions d ON d.id = r.decision_id
         LEFT JOIN referral_sections s ON s.referral_id = r.id AND s.section = 'needs'
         WHERE r.submitted_at >= $1 AND r.submitted_at < $2",
        &params![
            from.and_hms_opt(0, 0, 0).unwrap_or_default(),
            to.and_hms_opt(0, 0, 0).unwrap_or_default()
        ],
    )? {
        if !in_scope(panels, r.get(1)?) {
            continue;
        }
        let submitted: NaiveDateTime = r.get(0)?;
        let fy = jp_domain::apportion::financial_year(submitted.date());
        let Some(i) = years.iter().position(|y| *y == fy) else {
            continue;
        };
        pic.referrals[i] += 1;
        let born: NaiveDate = r.get(2)?;
        pic.by_age[age_band(born, submitted.date())].1[i] += 1;
        let agency: String = r.get(3)?;
        let agency = if agency.is_empty() {
            "No agency recorded".to_owned()
        } else {
            agency
        };
        agencies.entry(agency).or_insert_with(zero)[i] += 1;
        let outcome: String = r.get(4)?;
        let outcome = jp_domain::decision::Outcome::parse(&outcome)
            .map_or("Not decided yet", |o| o.label())
            .to_owned();
        outcomes.entry(outcome).or_insert_with(zero)[i] += 1;
        let answers: Option<String> = r.get(5)?;
        let needs: BTreeMap<String, Vec<String>> = answers
            .and_then(|a| serde_json::from_str(&a).ok())
            .unwrap_or_default();
        for need in needs.get("needs").into_iter().flatten() {
            if let Some(row) = pic.by_need.iter_mut().find(|(k, _)| k == need) {
                row.1[i] += 1;
            }
        }
    }
    pic.by_outcome = outcomes.into_iter().collect();
    pic.by_agency = agencies.into_iter().collect();
    Ok(pic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn months_ending_runs_oldest_first_across_a_year() {
        assert_eq!(
            months_ending(d(2026, 2, 14), 4),
            vec![(2025, 11), (2025, 12), (2026, 1), (2026, 2)]
        );
    }

    #[test]
    fn judged_counts_only_what_was_due() {
        let due = d(2026, 5, 12);
        assert_eq!(judged(Some(due), due, d(2026, 6, 1)), Some(true));
        assert_eq!(
            judged(Some(d(2026, 5, 13)), due, d(2026, 6, 1)),
            Some(false)
        );
        assert_eq!(judged(None, due, d(2026, 5, 13)), Some(false));
        assert_eq!(judged(None, due, due), None);
    }

    #[test]
    fn age_bands_split_at_birthdays() {
        let born = d(2012, 3, 1);
        assert_eq!(AGE_BANDS[age_band(born, d(2026, 2, 28))], "11 to 13");
        assert_eq!(AGE_BANDS[age_band(born, d(2026, 3, 1))], "14 to 15");
        assert_eq!(AGE_BANDS[age_band(born, d(2012, 3, 1))], "Under 5");
    }

    #[test]
    fn percent_rounds_down_and_is_none_when_nothing_was_due() {
        let l = Level {
            on_time: 2,
            late: 1,
        };
        assert_eq!(l.percent(), Some(66));
        assert_eq!(Level::default().percent(), None);
    }
}
