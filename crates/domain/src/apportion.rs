//! Apportioning a funding agreement's cost between organisations (SPEC §6):
//! shares in basis points that sum to exactly 100 %, each line's cost spread
//! over its days, and the result per month and per financial year (1 April to
//! 31 March), all in whole pence that always add up to the whole.
//!
//! Rounding rules, stated once:
//! - **Over time**: a line's term cost is spread evenly over its days. The
//!   amount up to the end of day *k* is ⌊term × k ÷ days⌋; a period's amount is
//!   the difference at its two ends, so the periods of a line add up to its
//!   term exactly. A one-off cost falls on its start date.
//! - **Between organisations**: each organisation's part of an amount is
//!   ⌊amount × share ÷ 10 000⌋; the pence left over go one each to the
//!   organisations with the largest remainders, ties to the one listed first.
//!   The parts add up to the amount and each is within a penny of its exact share.

use crate::Pence;
use crate::costs::{CostLine, Unit};
use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;

/// Basis points in a whole: 10 000 = 100 %.
pub const WHOLE: u32 = 10_000;

/// Reads a percentage as people write it ("60", "33.33", "12.5 %") into basis
/// points. At most two decimal places; more than 0 and at most 100.
pub fn parse_percent(raw: &str) -> Result<u32, String> {
    let t = raw.trim().trim_end_matches('%').trim();
    if t.is_empty() {
        return Err("Enter the organisation's share as a percentage, like 50 or 33.33".into());
    }
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    let frac_ok = frac.is_empty() || digits(frac, 2);
    if !digits(whole, 3) || !frac_ok || t.ends_with('.') {
        return Err(format!(
            "Enter the share as a percentage with at most two decimal places, like 50 or 33.33 (not “{}”)",
            raw.trim()
        ));
    }
    let w: u32 = whole
        .parse()
        .map_err(|_| "The share is too large".to_owned())?;
    let f: u32 = format!("{frac:0<2}").parse().unwrap_or(0);
    let bp = w * 100 + f;
    if bp == 0 || bp > WHOLE {
        return Err("Each share must be more than 0% and at most 100%".into());
    }
    Ok(bp)
}

/// Shows basis points as a percentage ("60%", "33.33%").
pub fn percent(bp: u32) -> String {
    if bp.is_multiple_of(100) {
        format!("{}%", bp / 100)
    } else {
        format!("{}.{:02}%", bp / 100, bp % 100).replace("0%", "%")
    }
}

/// Checks a whole apportionment: at least one organisation, none twice, and
/// shares that sum to exactly 100 %.
pub fn check<K: PartialEq + Copy>(shares: &[(K, u32)]) -> Result<(), String> {
    if shares.is_empty() {
        return Err("Add at least one organisation's share".into());
    }
    for (i, (k, _)) in shares.iter().enumerate() {
        if shares[..i].iter().any(|(o, _)| o == k) {
            return Err("Each organisation can appear only once".into());
        }
    }
    let sum: u32 = shares.iter().map(|(_, s)| *s).sum();
    if sum != WHOLE {
        return Err(format!(
            "The shares add up to {}; they must add up to exactly 100%",
            percent(sum)
        ));
    }
    Ok(())
}

/// Splits `amount` by `shares` (basis points summing to [`WHOLE`]) with the
/// largest-remainder rule above. The parts are in the order of the shares.
pub fn split(amount: Pence, shares: &[u32]) -> Vec<Pence> {
    let total = i128::from(amount.0);
    let sign = if total < 0 { -1 } else { 1 };
    let abs = total.abs();
    let whole = i128::from(WHOLE);
    let mut parts: Vec<i128> = shares
        .iter()
        .map(|s| abs * i128::from(*s) / whole)
        .collect();
    let mut left = abs - parts.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    // Largest remainder first; the stable sort keeps ties in listed order.
    order.sort_by_key(|&i| std::cmp::Reverse(abs * i128::from(shares[i]) % whole));
    for i in order {
        if left <= 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
        .into_iter()
        .map(|p| Pence(i64::try_from(sign * p).unwrap_or(i64::MAX)))
        .collect()
}

/// The financial year a day falls in, named by the year it starts (1 April).
pub fn financial_year(d: NaiveDate) -> i32 {
    financial_year_of((d.year(), d.month()))
}

/// The financial year a calendar month falls in.
pub fn financial_year_of((year, month): Month) -> i32 {
    if month >= 4 { year } else { year - 1 }
}

/// How people write a financial year: "2026/27".
pub fn financial_year_label(fy: i32) -> String {
    format!("{fy}/{:02}", (fy + 1).rem_euclid(100))
}

/// A calendar month: (year, month).
pub type Month = (i32, u32);

/// A line's cost in each month it runs, by the rule above; the months add up
/// to the line's term cost.
pub fn line_by_month(line: &CostLine) -> BTreeMap<Month, Pence> {
    let term = i128::from(line.totals().term.0);
    let mut out = BTreeMap::new();
    if line.unit == Unit::OneOff {
        out.insert(
            (line.start.year(), line.start.month()),
            Pence(i64::try_from(term).unwrap_or(i64::MAX)),
        );
        return out;
    }
    let days = i128::from(line.days());
    if days <= 0 {
        return out;
    }
    let upto = |k: i128| term * k / days; // cost of the first k days
    let mut day = line.start;
    let mut k: i128 = 0;
    while day <= line.end {
        let month = (day.year(), day.month());
        let next_month = if day.month() == 12 {
            NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(day.year(), day.month() + 1, 1)
        };
        let Some(next_month) = next_month else { break };
        let stop = next_month.min(line.end + chrono::Duration::days(1));
        let n = i128::from((stop - day).num_days());
        let amount = upto(k + n) - upto(k);
        out.insert(month, Pence(i64::try_from(amount).unwrap_or(i64::MAX)));
        k += n;
        day = stop;
    }
    out
}

/// An agreement's cost per month and per organisation: each month's total
/// (all lines) split by the shares. `parts[i]` belongs to `shares[i]`.
pub fn by_month(lines: &[CostLine], shares: &[u32]) -> BTreeMap<Month, Vec<Pence>> {
    let mut totals: BTreeMap<Month, i64> = BTreeMap::new();
    for l in lines {
        for (m, p) in line_by_month(l) {
            *totals.entry(m).or_default() += p.0;
        }
    }
    totals
        .into_iter()
        .map(|(m, t)| (m, split(Pence(t), shares)))
        .collect()
}

/// The same per financial year: the sums of each organisation's months.
pub fn by_financial_year(lines: &[CostLine], shares: &[u32]) -> BTreeMap<i32, Vec<Pence>> {
    let mut out: BTreeMap<i32, Vec<Pence>> = BTreeMap::new();
    for ((y, m), parts) in by_month(lines, shares) {
        let fy = financial_year_of((y, m));
        let row = out
            .entry(fy)
            .or_insert_with(|| vec![Pence(0); shares.len()]);
        for (acc, p) in row.iter_mut().zip(parts) {
            acc.0 += p.0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::costs::Quantity;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn percentages_are_read_exactly() {
        assert_eq!(parse_percent("60"), Ok(6_000));
        assert_eq!(parse_percent("33.33"), Ok(3_333));
        assert_eq!(parse_percent(" 12.5 % "), Ok(1_250));
        assert_eq!(parse_percent("100"), Ok(10_000));
        for bad in ["", "0", "100.01", "33.333", "-5", "1e2", "50.", "abc"] {
            assert!(parse_percent(bad).is_err(), "{bad}");
        }
        assert_eq!(percent(6_000), "60%");
        assert_eq!(percent(3_333), "33.33%");
        assert_eq!(percent(1_250), "12.5%");
    }

    #[test]
    fn shares_must_sum_to_exactly_one_hundred_and_not_repeat() {
        assert!(check(&[(1, 6_000), (2, 4_000)]).is_ok());
        let e = check(&[(1, 6_000), (2, 3_999)]).unwrap_err();
        assert!(e.contains("99.99%"), "{e}");
        assert!(
            check(&[(1, 6_000), (2, 4_001)])
                .unwrap_err()
                .contains("100.01%")
        );
        assert!(
            check(&[(1, 5_000), (1, 5_000)])
                .unwrap_err()
                .contains("only once")
        );
        assert!(check::<i64>(&[]).is_err());
    }

    #[test]
    fn a_pound_three_ways() {
        assert_eq!(
            split(Pence(100), &[3_334, 3_333, 3_333]),
            vec![Pence(34), Pence(33), Pence(33)]
        );
        assert_eq!(
            split(Pence(1), &[5_000, 5_000]),
            vec![Pence(1), Pence(0)],
            "ties go to the first listed"
        );
    }

    #[test]
    fn a_year_across_two_financial_years_and_a_leap_day() {
        // £100 a day from 28 February 2028 (a leap year: the 29th counts) to 2 April 2028.
        let l = CostLine {
            item: "Care".into(),
            unit_cost: Pence(10_000),
            unit: Unit::PerDay,
            quantity: Quantity(100),
            start: d(2028, 2, 28),
            end: d(2028, 4, 2),
        };
        let months = line_by_month(&l);
        let total: i64 = months.values().map(|p| p.0).sum();
        assert_eq!(total, l.totals().term.0);
        assert_eq!(months.len(), 3);
        let fy = by_financial_year(std::slice::from_ref(&l), &[6_000, 4_000]);
        assert_eq!(fy.keys().copied().collect::<Vec<_>>(), vec![2027, 2028]);
    }

    fn line_strategy() -> impl Strategy<Value = CostLine> {
        (
            1i64..5_000_000,
            0usize..6,
            1i64..=1_000,
            0i64..2_000,
            0i64..1_500,
        )
            .prop_map(|(cost, u, q, off, len)| {
                let start = d(2026, 1, 1) + chrono::Duration::days(off);
                CostLine {
                    item: "x".into(),
                    unit_cost: Pence(cost),
                    unit: Unit::ALL[u],
                    quantity: Quantity(q * 25),
                    start,
                    end: start + chrono::Duration::days(len),
                }
            })
    }

    fn shares_strategy() -> impl Strategy<Value = Vec<u32>> {
        prop::collection::vec(1u32..10_000, 0..5).prop_map(|cuts| {
            let mut points: Vec<u32> = cuts;
            points.push(0);
            points.push(WHOLE);
            points.sort_unstable();
            points.dedup();
            points.windows(2).map(|w| w[1] - w[0]).collect()
        })
    }

    proptest! {
        #[test]
        fn parts_always_add_up_to_the_whole(amount in -10_000_000_000i64..10_000_000_000, shares in shares_strategy()) {
            let parts = split(Pence(amount), &shares);
            prop_assert_eq!(parts.iter().map(|p| p.0).sum::<i64>(), amount);
            for (p, s) in parts.iter().zip(&shares) {
                let exact = i128::from(amount) * i128::from(*s);
                let diff = (i128::from(p.0) * i128::from(WHOLE) - exact).abs();
                prop_assert!(diff < i128::from(WHOLE), "each part within a penny of its share");
            }
        }

        #[test]
        fn months_and_financial_years_add_up_to_the_agreement(lines in prop::collection::vec(line_strategy(), 1..4), shares in shares_strategy()) {
            let whole: i64 = lines.iter().map(|l| l.totals().term.0).sum();
            let months = by_month(&lines, &shares);
            let by_months: i64 = months.values().flatten().map(|p| p.0).sum();
            prop_assert_eq!(by_months, whole);
            let years = by_financial_year(&lines, &shares);
            let by_years: i64 = years.values().flatten().map(|p| p.0).sum();
            prop_assert_eq!(by_years, whole);
            for org in 0..shares.len() {
                let m: i64 = months.values().map(|v| v[org].0).sum();
                let y: i64 = years.values().map(|v| v[org].0).sum();
                prop_assert_eq!(m, y);
            }
            for l in &lines {
                let per_line: i64 = line_by_month(l).values().map(|p| p.0).sum();
                prop_assert_eq!(per_line, l.totals().term.0);
            }
        }

        #[test]
        fn financial_years_start_on_the_first_of_april(y in 2000i32..2100) {
            prop_assert_eq!(financial_year(d(y, 3, 31)), y - 1);
            prop_assert_eq!(financial_year(d(y, 4, 1)), y);
        }
    }
}
