//! An option's cost breakdown (SPEC §3): lines with a unit cost, a unit, a
//! quantity and dates, and the totals the panel reads — weekly, annual and for
//! the whole term — computed in integer pence.
//!
//! Rules, stated on the page too:
//! - "per hour" and "per day" quantities are how many hours or days each week;
//!   "per week", "per month" and "per year" quantities are how many of that item;
//!   a one-off line is paid once.
//! - A year is 52 weeks or 12 months; the term counts calendar days from start
//!   to end inclusive, weekly items as days ÷ 7 weeks and monthly or yearly items
//!   as days ÷ 365 years.
//! - Each line's amounts are rounded to the penny (half up) and the option's
//!   totals are the sums of its lines, so the parts always add up.

use crate::money::Pence;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    OneOff,
    PerHour,
    PerDay,
    PerWeek,
    PerMonth,
    PerYear,
}

impl Unit {
    pub const ALL: [Unit; 6] = [
        Unit::OneOff,
        Unit::PerHour,
        Unit::PerDay,
        Unit::PerWeek,
        Unit::PerMonth,
        Unit::PerYear,
    ];
    pub fn slug(self) -> &'static str {
        match self {
            Unit::OneOff => "one-off",
            Unit::PerHour => "per-hour",
            Unit::PerDay => "per-day",
            Unit::PerWeek => "per-week",
            Unit::PerMonth => "per-month",
            Unit::PerYear => "per-year",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Unit::OneOff => "One-off",
            Unit::PerHour => "Per hour",
            Unit::PerDay => "Per day",
            Unit::PerWeek => "Per week",
            Unit::PerMonth => "Per month",
            Unit::PerYear => "Per year",
        }
    }
    pub fn parse(s: &str) -> Option<Unit> {
        Unit::ALL.into_iter().find(|u| u.slug() == s.trim())
    }
}

/// Largest unit cost accepted: £1,000,000.
pub const MAX_UNIT_COST: Pence = Pence(100_000_000);
/// Largest quantity accepted, in hundredths: 10,000.
pub const MAX_QUANTITY_HUNDREDTHS: i64 = 1_000_000;
/// Longest term accepted for a line: ten years.
pub const MAX_TERM_DAYS: i64 = 3_653;

/// A quantity with up to two decimal places, held in hundredths (7.5 → 750).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quantity(pub i64);

impl Quantity {
    pub fn parse(raw: &str) -> Result<Quantity, String> {
        let s = raw.trim().replace(',', "");
        if s.is_empty() {
            return Err("Enter a quantity".to_owned());
        }
        let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
        let digits_ok = !whole.is_empty()
            && whole.chars().all(|c| c.is_ascii_digit())
            && frac.chars().all(|c| c.is_ascii_digit());
        if !digits_ok {
            return Err("Enter the quantity as a number, like 7.5".to_owned());
        }
        if frac.len() > 2 {
            return Err("Enter the quantity with no more than 2 decimal places".to_owned());
        }
        if whole.len() > 6 {
            return Err("Quantity must be 10,000 or less".to_owned());
        }
        let whole: i64 = whole.parse().map_err(|_| "Enter a quantity".to_owned())?;
        let frac: i64 = format!("{frac:0<2}").parse().unwrap_or(0);
        let q = whole * 100 + frac;
        if q <= 0 {
            return Err("Quantity must be more than 0".to_owned());
        }
        if q > MAX_QUANTITY_HUNDREDTHS {
            return Err("Quantity must be 10,000 or less".to_owned());
        }
        Ok(Quantity(q))
    }

    pub fn display(self) -> String {
        if self.0 % 100 == 0 {
            format!("{}", self.0 / 100)
        } else if self.0 % 10 == 0 {
            format!("{}.{}", self.0 / 100, (self.0 % 100) / 10)
        } else {
            format!("{}.{:02}", self.0 / 100, self.0 % 100)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostLine {
    pub item: String,
    pub unit_cost: Pence,
    pub unit: Unit,
    pub quantity: Quantity,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// The problems with a cost line's values, each for the field it concerns.
pub fn check_line(
    unit_cost: Pence,
    quantity: Quantity,
    start: NaiveDate,
    end: NaiveDate,
) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if unit_cost.0 <= 0 {
        problems.push(("unit_cost", "Unit cost must be more than £0".to_owned()));
    } else if unit_cost > MAX_UNIT_COST {
        problems.push((
            "unit_cost",
            "Unit cost must be £1,000,000 or less; split larger costs into lines".to_owned(),
        ));
    }
    if quantity.0 <= 0 || quantity.0 > MAX_QUANTITY_HUNDREDTHS {
        problems.push((
            "quantity",
            "Quantity must be more than 0 and no more than 10,000".to_owned(),
        ));
    }
    if end < start {
        problems.push((
            "end",
            "The end date must be the same as or after the start date".to_owned(),
        ));
    } else if (end - start).num_days() + 1 > MAX_TERM_DAYS {
        problems.push((
            "end",
            "A cost line can run for at most 10 years; agree longer funding at a review".to_owned(),
        ));
    }
    problems
}

/// A line's amounts, each rounded to the penny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LineTotals {
    /// Recurring cost of one week (zero for one-off lines).
    pub weekly: Pence,
    /// Recurring cost of one year (zero for one-off lines).
    pub annual: Pence,
    /// Everything the line costs from its start to its end.
    pub term: Pence,
}

/// Divides, rounding half up (all values here are non-negative).
fn div_round(num: i128, den: i128) -> i64 {
    let q = (num * 2 + den) / (den * 2);
    i64::try_from(q).unwrap_or(i64::MAX)
}

impl CostLine {
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    pub fn totals(&self) -> LineTotals {
        // `raw` is in hundredths of a penny: unit cost × quantity in hundredths.
        let raw = i128::from(self.unit_cost.0) * i128::from(self.quantity.0);
        let days = i128::from(self.days().max(0));
        let (annual_num, term_num, term_den): (i128, i128, i128) = match self.unit {
            Unit::OneOff => (0, raw, 100),
            Unit::PerHour | Unit::PerDay | Unit::PerWeek => (raw * 52, raw * days, 700),
            Unit::PerMonth => (raw * 12, raw * 12 * days, 36_500),
            Unit::PerYear => (raw, raw * days, 36_500),
        };
        LineTotals {
            weekly: Pence(div_round(annual_num, 5_200)),
            annual: Pence(div_round(annual_num, 100)),
            term: Pence(div_round(term_num, term_den)),
        }
    }
}

/// An option's totals: the sums of its lines' rounded amounts.
pub fn option_totals(lines: &[CostLine]) -> LineTotals {
    lines
        .iter()
        .map(CostLine::totals)
        .fold(LineTotals::default(), |acc, t| LineTotals {
            weekly: Pence(acc.weekly.0.saturating_add(t.weekly.0)),
            annual: Pence(acc.annual.0.saturating_add(t.annual.0)),
            term: Pence(acc.term.0.saturating_add(t.term.0)),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn line(cost: i64, unit: Unit, qty: i64, start: NaiveDate, end: NaiveDate) -> CostLine {
        CostLine {
            item: "x".into(),
            unit_cost: Pence(cost),
            unit,
            quantity: Quantity(qty),
            start,
            end,
        }
    }

    #[test]
    fn weekly_placement_for_a_year() {
        // £3,250 a week for 52 weeks (364 days).
        let l = line(325_000, Unit::PerWeek, 100, d(2027, 1, 4), d(2028, 1, 2));
        let t = l.totals();
        assert_eq!(t.weekly, Pence(325_000));
        assert_eq!(t.annual, Pence(16_900_000));
        assert_eq!(t.term, Pence(16_900_000));
    }

    #[test]
    fn hourly_support_and_monthly_and_one_off() {
        // £24.50 an hour, 7.5 hours a week, for 14 days.
        let l = line(2_450, Unit::PerHour, 750, d(2027, 1, 4), d(2027, 1, 17));
        assert_eq!(l.totals().weekly, Pence(18_375));
        assert_eq!(l.totals().term, Pence(36_750));
        // £1,000 a month for 365 days is £12,000.
        let m = line(100_000, Unit::PerMonth, 100, d(2027, 4, 1), d(2028, 3, 30));
        assert_eq!(m.totals().annual, Pence(1_200_000));
        assert_eq!(m.totals().term, Pence(1_200_000));
        assert_eq!(m.totals().weekly, Pence(23_077));
        let o = line(50_000, Unit::OneOff, 200, d(2027, 4, 1), d(2027, 4, 1));
        assert_eq!(
            o.totals(),
            LineTotals {
                weekly: Pence(0),
                annual: Pence(0),
                term: Pence(100_000)
            }
        );
        let all = option_totals(&[l.clone(), m.clone(), o.clone()]);
        assert_eq!(
            all.term.0,
            l.totals().term.0 + m.totals().term.0 + o.totals().term.0
        );
    }

    #[test]
    fn quantities_parse_with_two_places() {
        assert_eq!(Quantity::parse("7.5").unwrap(), Quantity(750));
        assert_eq!(Quantity::parse("1,000").unwrap(), Quantity(100_000));
        assert_eq!(Quantity(750).display(), "7.5");
        assert_eq!(Quantity(125).display(), "1.25");
        assert!(Quantity::parse("-3").is_err());
        assert!(Quantity::parse("0").is_err());
        assert!(Quantity::parse("1.234").is_err());
        assert!(Quantity::parse("99999999999999999999").is_err());
        assert!(Quantity::parse("10000.01").is_err());
        assert!(Quantity::parse("1e3").is_err());
    }

    #[test]
    fn absurd_lines_are_refused() {
        let p = check_line(Pence(-5), Quantity(100), d(2027, 1, 2), d(2027, 1, 1));
        assert_eq!(p.len(), 2);
        let p = check_line(Pence(100), Quantity(100), d(2027, 1, 1), d(2040, 1, 1));
        assert_eq!(p[0].0, "end");
    }

    proptest! {
        #[test]
        fn the_largest_accepted_line_does_not_overflow(
            cost in 1i64..=MAX_UNIT_COST.0,
            qty in 1i64..=MAX_QUANTITY_HUNDREDTHS,
            days in 0i64..MAX_TERM_DAYS,
            u in 0usize..6,
        ) {
            let start = d(2027, 1, 1);
            let end = start + chrono::Days::new(days as u64);
            let l = line(cost, Unit::ALL[u], qty, start, end);
            let t = l.totals();
            prop_assert!(t.term.0 >= 0 && t.term.0 < i64::MAX);
            prop_assert!(t.weekly.0 <= t.annual.0);
        }
    }
}
