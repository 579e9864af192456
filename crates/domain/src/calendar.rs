//! The working-day calendar (SPEC §2): bank holidays of England & Wales,
//! Scotland and Northern Ireland worked out by rule for any year, with the
//! one-off days; official lists loaded by an administrator, which replace the
//! rule for their years; the installation's own closure days; and the panel
//! deadlines counted in working days from a meeting.
//!
//! The rules (Banking and Financial Dealings Act 1971 and the royal
//! proclamations that move or add days):
//! - New Year's Day (1 January); in Scotland also 2 January.
//! - Good Friday; Easter Monday except in Scotland.
//! - Early May bank holiday: the first Monday of May (2020: Friday 8 May).
//! - Spring bank holiday: the last Monday of May (2002 and 2012: 4 June;
//!   2022: Thursday 2 June).
//! - Summer bank holiday: the last Monday of August; in Scotland the first.
//! - Northern Ireland: St Patrick's Day (17 March) and the Battle of the Boyne
//!   (12 July). Scotland: St Andrew's Day (30 November) from 2006.
//! - Christmas Day and Boxing Day.
//! - A fixed-date holiday that falls on a Saturday or Sunday is observed on the
//!   next weekday that is not already a holiday (so Christmas on a Saturday
//!   gives Monday 27 and Boxing Day Tuesday 28 December).
//! - One-off days: 3 June 2002, 29 April 2011, 5 June 2012, 3 June 2022,
//!   19 September 2022 and 8 May 2023 everywhere; 15 June 2026 in Scotland.
//!
//! Only weekdays are listed: a holiday on a weekend changes no working day
//! (its substitute does). The test suite compares every year 2000–2060 with an
//! independent oracle (`tools/bank-holiday-oracle.py`).

use crate::panel_rules::{PanelRules, Region};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One day off: its date and its name ("Christmas Day (substitute day)").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Holiday {
    pub date: NaiveDate,
    pub title: String,
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// Easter Sunday in the Gregorian calendar (the anonymous algorithm of 1876).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    ymd(year, month as u32, day as u32)
}

fn first_monday(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, 1).unwrap_or(NaiveDate::MIN)
}

fn last_monday(year: i32, month: u32) -> NaiveDate {
    let next_month = if month == 12 {
        ymd(year + 1, 1, 1)
    } else {
        ymd(year, month + 1, 1)
    };
    let mut d = next_month - Duration::days(1);
    while d.weekday() != Weekday::Mon {
        d -= Duration::days(1);
    }
    d
}

pub fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A one-off bank holiday: (year, month, day), its title, and its regions
/// (none listed: every region).
type OneOff = ((i32, u32, u32), &'static str, &'static [Region]);

/// The one-off bank holidays since 2000.
const ONE_OFF: &[OneOff] = &[
    ((2002, 6, 3), "Golden Jubilee bank holiday", &[]),
    ((2011, 4, 29), "Royal wedding", &[]),
    ((2012, 6, 5), "Queen’s Diamond Jubilee", &[]),
    ((2022, 6, 3), "Platinum Jubilee bank holiday", &[]),
    (
        (2022, 9, 19),
        "Bank Holiday for the State Funeral of Queen Elizabeth II",
        &[],
    ),
    (
        (2023, 5, 8),
        "Bank holiday for the coronation of King Charles III",
        &[],
    ),
    (
        (2026, 6, 15),
        "Bank holiday for Scotland’s World Cup participation",
        &[Region::Scotland],
    ),
];

/// The bank holidays of `region` in `year` worked out by rule: weekdays only,
/// substitutes included, sorted by date.
pub fn rule_holidays(region: Region, year: i32) -> Vec<Holiday> {
    let mut weekday_days: BTreeMap<NaiveDate, String> = BTreeMap::new();
    // Fixed-date days that move to a substitute when they fall at a weekend.
    let mut fixed: Vec<(NaiveDate, &str)> = vec![(ymd(year, 1, 1), "New Year’s Day")];
    if region == Region::Scotland {
        fixed.push((ymd(year, 1, 2), "2nd January"));
    }
    if region == Region::NorthernIreland {
        fixed.push((ymd(year, 3, 17), "St Patrick’s Day"));
        fixed.push((ymd(year, 7, 12), "Battle of the Boyne (Orangemen’s Day)"));
    }
    if region == Region::Scotland && year >= 2006 {
        fixed.push((ymd(year, 11, 30), "St Andrew’s Day"));
    }
    fixed.push((ymd(year, 12, 25), "Christmas Day"));
    fixed.push((ymd(year, 12, 26), "Boxing Day"));

    let easter = easter_sunday(year);
    weekday_days.insert(easter - Duration::days(2), "Good Friday".into());
    if region != Region::Scotland {
        weekday_days.insert(easter + Duration::days(1), "Easter Monday".into());
    }
    let early_may = if year == 2020 {
        ymd(2020, 5, 8)
    } else {
        first_monday(year, 5)
    };
    weekday_days.insert(early_may, "Early May bank holiday".into());
    let spring = match year {
        2002 | 2012 => ymd(year, 6, 4),
        2022 => ymd(2022, 6, 2),
        _ => last_monday(year, 5),
    };
    weekday_days.insert(spring, "Spring bank holiday".into());
    let summer = if region == Region::Scotland {
        first_monday(year, 8)
    } else {
        last_monday(year, 8)
    };
    weekday_days.insert(summer, "Summer bank holiday".into());
    for ((y, m, d), title, regions) in ONE_OFF {
        if *y == year && (regions.is_empty() || regions.contains(&region)) {
            weekday_days.insert(ymd(*y, *m, *d), (*title).into());
        }
    }
    let mut at_weekend = Vec::new();
    for (d, title) in fixed {
        if is_weekend(d) {
            at_weekend.push((d, title));
        } else {
            weekday_days.insert(d, title.into());
        }
    }
    // Each weekend day is observed on the next weekday not already taken, in date order.
    for (d, title) in at_weekend {
        let mut s = d + Duration::days(1);
        while is_weekend(s) || weekday_days.contains_key(&s) {
            s += Duration::days(1);
        }
        weekday_days.insert(s, format!("{title} (substitute day)"));
    }
    weekday_days
        .into_iter()
        .map(|(date, title)| Holiday { date, title })
        .collect()
}

/// [`rule_holidays`] of a region and year by date, worked out once per
/// process (they depend on nothing else): counting working days asks about
/// every day it passes.
fn rules_of(region: Region, year: i32) -> std::sync::Arc<BTreeMap<NaiveDate, String>> {
    type Memo = BTreeMap<(Region, i32), std::sync::Arc<BTreeMap<NaiveDate, String>>>;
    static MEMO: std::sync::OnceLock<std::sync::Mutex<Memo>> = std::sync::OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    if let Some(found) = memo
        .lock()
        .ok()
        .and_then(|m| m.get(&(region, year)).cloned())
    {
        return found;
    }
    let days: std::sync::Arc<BTreeMap<NaiveDate, String>> = std::sync::Arc::new(
        rule_holidays(region, year)
            .into_iter()
            .map(|h| (h.date, h.title))
            .collect(),
    );
    if let Ok(mut m) = memo.lock() {
        m.insert((region, year), days.clone());
    }
    days
}

/// The working-day calendar of one region for this installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    region: Region,
    /// Years whose days come from a loaded official list instead of the rules.
    official: BTreeMap<i32, BTreeMap<NaiveDate, String>>,
    /// The installation's own closure days (e.g. the days between Christmas and New Year).
    closures: BTreeMap<NaiveDate, String>,
}

/// Why a day is not a working day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayOff {
    Weekend,
    BankHoliday(String),
    Closure(String),
}

impl Calendar {
    /// The rules alone, no loaded lists, no closures.
    pub fn new(region: Region) -> Calendar {
        Calendar {
            region,
            official: BTreeMap::new(),
            closures: BTreeMap::new(),
        }
    }

    pub fn region(&self) -> Region {
        self.region
    }

    /// Replaces the rule-based days of every year the list covers.
    pub fn with_official(mut self, days: &[Holiday]) -> Calendar {
        for h in days {
            self.official
                .entry(h.date.year())
                .or_default()
                .insert(h.date, h.title.clone());
        }
        self
    }

    /// Adds a local closure day.
    pub fn with_closure(mut self, date: NaiveDate, reason: &str) -> Calendar {
        self.closures.insert(date, reason.to_owned());
        self
    }

    /// The years that come from a loaded official list.
    pub fn official_years(&self) -> BTreeSet<i32> {
        self.official.keys().copied().collect()
    }

    /// The bank holidays of a year (weekdays only): the loaded list if there is
    /// one for that year, otherwise the rules.
    pub fn bank_holidays(&self, year: i32) -> Vec<Holiday> {
        match self.official.get(&year) {
            Some(days) => days
                .iter()
                .filter(|(d, _)| !is_weekend(**d))
                .map(|(date, title)| Holiday {
                    date: *date,
                    title: title.clone(),
                })
                .collect(),
            None => rule_holidays(self.region, year),
        }
    }

    /// Why `d` is not a working day, or `None` when it is one.
    pub fn day_off(&self, d: NaiveDate) -> Option<DayOff> {
        if is_weekend(d) {
            return Some(DayOff::Weekend);
        }
        let title = match self.official.get(&d.year()) {
            Some(days) => days.get(&d).cloned(),
            None => rules_of(self.region, d.year()).get(&d).cloned(),
        };
        if let Some(title) = title {
            return Some(DayOff::BankHoliday(title));
        }
        self.closures.get(&d).map(|r| DayOff::Closure(r.clone()))
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        self.day_off(d).is_none()
    }

    /// The date `n` working days after `d` (`n` negative: before). Zero gives `d`.
    pub fn shift(&self, d: NaiveDate, n: i32) -> NaiveDate {
        let step = if n < 0 { -1 } else { 1 };
        let mut left = n.unsigned_abs();
        let mut at = d;
        // A working year has about 250 days; the loop is bounded by the
        // years of holidays any real count could cross.
        while left > 0 {
            let next = at.checked_add_signed(Duration::days(step));
            let Some(next) = next else { return at };
            at = next;
            if self.is_working_day(at) {
                left -= 1;
            }
        }
        at
    }

    /// `d` itself when it is a working day, else the working day before it.
    pub fn on_or_before(&self, d: NaiveDate) -> NaiveDate {
        let mut at = d;
        while !self.is_working_day(at) {
            at -= Duration::days(1);
        }
        at
    }

    /// `d` itself when it is a working day, else the working day after it.
    pub fn on_or_after(&self, d: NaiveDate) -> NaiveDate {
        let mut at = d;
        while !self.is_working_day(at) {
            at += Duration::days(1);
        }
        at
    }

    /// `n` working days before `d`; with `n` zero, the last working day on or before it.
    pub fn before(&self, d: NaiveDate, n: u32) -> NaiveDate {
        if n == 0 {
            self.on_or_before(d)
        } else {
            self.shift(d, -i32::try_from(n).unwrap_or(i32::MAX))
        }
    }

    /// `n` working days after `d`; with `n` zero, the first working day on or after it.
    pub fn after(&self, d: NaiveDate, n: u32) -> NaiveDate {
        if n == 0 {
            self.on_or_after(d)
        } else {
            self.shift(d, i32::try_from(n).unwrap_or(i32::MAX))
        }
    }

    /// Working days from `from` (exclusive) to `to` (inclusive); negative when `to` is earlier.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        let (a, b, sign) = if from <= to {
            (from, to, 1)
        } else {
            (to, from, -1)
        };
        let mut n = 0;
        let mut d = a;
        while d < b {
            d += Duration::days(1);
            if self.is_working_day(d) {
                n += 1;
            }
        }
        n * sign
    }
}

/// A meeting's deadlines (SPEC §2): before the meeting they roll back to a
/// working day, after it forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Deadlines {
    pub meeting: NaiveDate,
    pub submission_deadline: NaiveDate,
    pub papers_due: NaiveDate,
    pub letter_due: NaiveDate,
    pub minutes_due: NaiveDate,
    pub absent_agency_response_due: NaiveDate,
}

impl Deadlines {
    pub fn for_meeting(cal: &Calendar, rules: &PanelRules, meeting: NaiveDate) -> Deadlines {
        Deadlines {
            meeting,
            submission_deadline: cal.before(meeting, rules.submission_deadline_days),
            papers_due: cal.before(meeting, rules.papers_due_days),
            letter_due: cal.after(meeting, rules.letter_due_days),
            minutes_due: cal.after(meeting, rules.minutes_due_days),
            absent_agency_response_due: cal.after(meeting, rules.absent_agency_response_days),
        }
    }
}

/// Most days one region's list may give a year (more is a mistaken file).
const MAX_PER_YEAR: usize = 40;

/// Checks a list before it is loaded: years within reach, titles present, not
/// absurdly many days in a year.
fn check_list(region: Region, days: &[Holiday]) -> Result<(), String> {
    let mut per_year: BTreeMap<i32, usize> = BTreeMap::new();
    for h in days {
        if !(2000..=2100).contains(&h.date.year()) {
            return Err(format!(
                "{}: {} is outside the years the calendar covers (2000 to 2100)",
                region.label(),
                h.date
            ));
        }
        if h.title.trim().is_empty() || h.title.chars().count() > 200 {
            return Err(format!(
                "{}: the holiday on {} needs a name of at most 200 characters",
                region.label(),
                h.date
            ));
        }
        *per_year.entry(h.date.year()).or_default() += 1;
    }
    if let Some((y, n)) = per_year.iter().find(|(_, n)| **n > MAX_PER_YEAR) {
        return Err(format!(
            "{}: the list gives {n} days in {y}; a year has far fewer bank holidays, so the file is probably not a bank holiday list",
            region.label()
        ));
    }
    Ok(())
}

/// Parses the JSON GOV.UK publishes at https://www.gov.uk/bank-holidays.json:
/// `{"england-and-wales": {"division": …, "events": [{"title", "date", …}]}, …}`.
/// Divisions other than the three regions are an error; a missing division is
/// simply not loaded.
pub fn parse_govuk_json(text: &str) -> Result<BTreeMap<Region, Vec<Holiday>>, String> {
    #[derive(serde::Deserialize)]
    struct Division {
        events: Vec<Event>,
    }
    #[derive(serde::Deserialize)]
    struct Event {
        title: String,
        date: String,
    }
    let raw: BTreeMap<String, Division> = serde_json::from_str(text).map_err(|e| {
        format!("The file is not the GOV.UK bank holidays JSON ({e}). Download it again from www.gov.uk/bank-holidays.json")
    })?;
    if raw.is_empty() {
        return Err("The file lists no regions".into());
    }
    let mut out = BTreeMap::new();
    for (division, d) in raw {
        let region = Region::parse(&division).ok_or_else(|| {
            format!("“{division}” is not a region: expected england-and-wales, scotland or northern-ireland")
        })?;
        let mut days = Vec::with_capacity(d.events.len());
        for e in d.events {
            let date = NaiveDate::parse_from_str(e.date.trim(), "%Y-%m-%d").map_err(|_| {
                format!(
                    "{}: “{}” is not a date like 2027-12-27",
                    region.label(),
                    e.date
                )
            })?;
            days.push(Holiday {
                date,
                title: e.title.trim().to_owned(),
            });
        }
        check_list(region, &days)?;
        out.insert(region, days);
    }
    Ok(out)
}

/// Parses a CSV list: a header row, then `date,title` rows (dates as
/// 2027-12-27), or `region,date,title` with the region's slug. Lines are
/// named in errors.
pub fn parse_csv(
    text: &str,
    default_region: Region,
) -> Result<BTreeMap<Region, Vec<Holiday>>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err("The file is empty".into());
    };
    let cols: Vec<String> = header
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(|c| c.trim().to_lowercase())
        .collect();
    let has_region = match cols.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["date", "title"] => false,
        ["region", "date", "title"] => true,
        _ => {
            return Err(
                "The first line must be the header “date,title” or “region,date,title”".into(),
            );
        }
    };
    let mut out: BTreeMap<Region, Vec<Holiday>> = BTreeMap::new();
    for (i, line) in lines {
        let n = i + 1;
        let mut parts = line.splitn(if has_region { 3 } else { 2 }, ',');
        let region = if has_region {
            let r = parts.next().unwrap_or("").trim();
            Region::parse(r).ok_or_else(|| {
                format!("Line {n}: “{r}” is not a region: expected england-and-wales, scotland or northern-ireland")
            })?
        } else {
            default_region
        };
        let raw_date = parts.next().unwrap_or("").trim();
        let date = NaiveDate::parse_from_str(raw_date, "%Y-%m-%d")
            .map_err(|_| format!("Line {n}: “{raw_date}” is not a date like 2027-12-27"))?;
        let title = parts
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"')
            .to_owned();
        if title.is_empty() {
            return Err(format!("Line {n}: give the holiday's name after the date"));
        }
        out.entry(region).or_default().push(Holiday { date, title });
    }
    if out.is_empty() {
        return Err("The file lists no holidays".into());
    }
    for (region, days) in &out {
        check_list(*region, days)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        ymd(y, m, day)
    }

    fn dates(region: Region, year: i32) -> Vec<NaiveDate> {
        rule_holidays(region, year)
            .into_iter()
            .map(|h| h.date)
            .collect()
    }

    #[test]
    fn easter_is_right_for_known_years() {
        assert_eq!(easter_sunday(2000), d(2000, 4, 23));
        assert_eq!(easter_sunday(2008), d(2008, 3, 23));
        assert_eq!(easter_sunday(2011), d(2011, 4, 24));
        assert_eq!(easter_sunday(2024), d(2024, 3, 31));
        assert_eq!(easter_sunday(2038), d(2038, 4, 25));
        assert_eq!(easter_sunday(2057), d(2057, 4, 22));
    }

    #[test]
    fn england_2022_has_the_jubilee_and_the_state_funeral() {
        assert_eq!(
            dates(Region::EnglandAndWales, 2022),
            vec![
                d(2022, 1, 3),
                d(2022, 4, 15),
                d(2022, 4, 18),
                d(2022, 5, 2),
                d(2022, 6, 2),
                d(2022, 6, 3),
                d(2022, 8, 29),
                d(2022, 9, 19),
                d(2022, 12, 26),
                d(2022, 12, 27),
            ]
        );
    }

    #[test]
    fn christmas_on_a_saturday_and_on_a_friday() {
        // 2021: Saturday 25, Sunday 26 → Monday 27 and Tuesday 28.
        let h = dates(Region::EnglandAndWales, 2021);
        assert!(h.contains(&d(2021, 12, 27)) && h.contains(&d(2021, 12, 28)));
        // 2020: Friday 25, Saturday 26 → Monday 28.
        let h = dates(Region::EnglandAndWales, 2020);
        assert!(h.contains(&d(2020, 12, 25)) && h.contains(&d(2020, 12, 28)));
        assert!(h.contains(&d(2020, 5, 8)) && !h.contains(&d(2020, 5, 4)));
    }

    #[test]
    fn scotland_keeps_the_second_of_january_and_the_first_monday_of_august() {
        // 2022: Saturday 1, Sunday 2 January → Monday 3 and Tuesday 4.
        let h = dates(Region::Scotland, 2022);
        assert!(h.contains(&d(2022, 1, 3)) && h.contains(&d(2022, 1, 4)));
        assert!(h.contains(&d(2022, 8, 1)) && !h.contains(&d(2022, 8, 29)));
        assert!(!h.contains(&d(2022, 4, 18)), "no Easter Monday in Scotland");
        // St Andrew's Day 2025 is a Sunday → Monday 1 December.
        assert!(dates(Region::Scotland, 2025).contains(&d(2025, 12, 1)));
    }

    #[test]
    fn northern_ireland_has_st_patrick_and_the_boyne() {
        let h = dates(Region::NorthernIreland, 2023);
        assert!(h.contains(&d(2023, 3, 17)) && h.contains(&d(2023, 7, 12)));
        // 2021: 17 March Wednesday; 2022: 12 July Tuesday; 2020: 12 July Sunday → Monday 13.
        assert!(dates(Region::NorthernIreland, 2020).contains(&d(2020, 7, 13)));
    }

    #[test]
    fn shift_counts_working_days_across_christmas() {
        let c = Calendar::new(Region::EnglandAndWales);
        // Friday 24 December 2021 + 1 working day: Mon 27 and Tue 28 are holidays.
        assert_eq!(c.shift(d(2021, 12, 24), 1), d(2021, 12, 29));
        assert_eq!(c.shift(d(2021, 12, 29), -1), d(2021, 12, 24));
        assert_eq!(c.shift(d(2021, 12, 25), 0), d(2021, 12, 25));
        // A closure day counts as not working.
        let c = c.with_closure(d(2021, 12, 29), "Office closed");
        assert_eq!(c.shift(d(2021, 12, 24), 1), d(2021, 12, 30));
    }

    #[test]
    fn deadlines_for_a_meeting_after_easter() {
        let rules = PanelRules::joint_funding_default();
        let c = Calendar::new(Region::EnglandAndWales);
        // Tuesday 11 April 2023: Good Friday 7 April and Easter Monday 10 April are holidays.
        let dl = Deadlines::for_meeting(&c, &rules, d(2023, 4, 11));
        assert_eq!(dl.submission_deadline, d(2023, 3, 29));
        assert_eq!(dl.papers_due, d(2023, 3, 31));
        assert_eq!(dl.letter_due, d(2023, 4, 14));
        assert_eq!(dl.minutes_due, d(2023, 4, 14));
        assert_eq!(dl.absent_agency_response_due, d(2023, 4, 14));
    }

    #[test]
    fn a_loaded_list_replaces_the_rules_for_its_years_only() {
        let extra = vec![Holiday {
            date: d(2031, 6, 6),
            title: "A new one-off day".into(),
        }];
        let c = Calendar::new(Region::EnglandAndWales).with_official(&extra);
        assert!(!c.is_working_day(d(2031, 6, 6)));
        // 2031's rule days are gone: the list is the whole year.
        assert!(c.is_working_day(d(2031, 12, 25)));
        assert!(!c.is_working_day(d(2030, 12, 25)));
        assert_eq!(
            c.official_years().into_iter().collect::<Vec<_>>(),
            vec![2031]
        );
    }

    #[test]
    fn govuk_json_and_csv_parse_with_clear_errors() {
        let json = r#"{"england-and-wales":{"division":"england-and-wales","events":[{"title":"New Year’s Day","date":"2027-01-01","notes":"","bunting":true}]},
                       "scotland":{"division":"scotland","events":[{"title":"2nd January","date":"2027-01-04","notes":"Substitute day","bunting":true}]}}"#;
        let parsed = parse_govuk_json(json).unwrap();
        assert_eq!(parsed[&Region::Scotland][0].date, d(2027, 1, 4));
        assert!(parse_govuk_json("{}").is_err());
        assert!(
            parse_govuk_json(r#"{"wales":{"events":[]}}"#)
                .unwrap_err()
                .contains("not a region")
        );
        assert!(
            parse_govuk_json(r#"{"scotland":{"events":[{"title":"x","date":"01/01/2027"}]}}"#)
                .unwrap_err()
                .contains("not a date")
        );
        let csv = "date,title\n2027-01-01,New Year's Day\n2027-03-26,Good Friday\n";
        let parsed = parse_csv(csv, Region::NorthernIreland).unwrap();
        assert_eq!(parsed[&Region::NorthernIreland].len(), 2);
        let err = parse_csv(
            "date,title\n2027-01-01,New Year\n2027-13-01,Bad\n",
            Region::Scotland,
        )
        .unwrap_err();
        assert!(err.starts_with("Line 3"), "{err}");
        assert!(parse_csv("when,what\n", Region::Scotland).is_err());
        let many: String = (1..=60)
            .map(|i| format!("2027-01-{:02},Day\n", (i % 28) + 1))
            .collect();
        assert!(parse_csv(&format!("date,title\n{many}"), Region::Scotland).is_err());
    }

    fn region() -> impl Strategy<Value = Region> {
        prop_oneof![
            Just(Region::EnglandAndWales),
            Just(Region::Scotland),
            Just(Region::NorthernIreland)
        ]
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (0i64..(61 * 365)).prop_map(|n| d(2000, 1, 1) + Duration::days(n))
    }

    proptest! {
        #[test]
        fn shifting_forward_then_back_returns_to_a_working_day(r in region(), start in any_date(), n in 1i32..60) {
            let c = Calendar::new(r);
            let start = c.on_or_after(start);
            let there = c.shift(start, n);
            prop_assert!(c.is_working_day(there));
            prop_assert_eq!(c.shift(there, -n), start);
            prop_assert_eq!(c.working_days_between(start, there), i64::from(n));
        }

        #[test]
        fn every_deadline_is_a_working_day(r in region(), meeting in any_date(), a in 0u32..15, b in 0u32..15) {
            let c = Calendar::new(r).with_closure(meeting - Duration::days(2), "Closed");
            let mut rules = PanelRules::joint_funding_default();
            rules.submission_deadline_days = a;
            rules.letter_due_days = b;
            let dl = Deadlines::for_meeting(&c, &rules, meeting);
            for day in [dl.submission_deadline, dl.papers_due, dl.letter_due, dl.minutes_due, dl.absent_agency_response_due] {
                prop_assert!(c.is_working_day(day));
            }
            prop_assert!(dl.submission_deadline <= meeting);
            prop_assert!(dl.letter_due >= meeting);
        }

        #[test]
        fn holidays_are_weekdays_and_eight_to_eleven_a_year(r in region(), year in 2000i32..=2060) {
            let h = rule_holidays(r, year);
            prop_assert!(h.iter().all(|h| !is_weekend(h.date) && h.date.year() == year));
            prop_assert!((8..=12).contains(&h.len()), "{} in {}", h.len(), year);
        }
    }
}
