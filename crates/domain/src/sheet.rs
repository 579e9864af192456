//! How the tracker's spreadsheet writes the values a plain cell cannot hold
//! — a funding agreement's cost lines and who pays what share — and reads
//! them back, with the dates a council's own tracker is likely to hold.
//! Export and import share these, so an export imports as it was.

use crate::Pence;
use crate::apportion;
use crate::costs::{CostLine, Quantity, Unit};
use crate::referral_form::MONTHS;
use chrono::NaiveDate;

/// Reads a date typed in a spreadsheet: 2023-05-09, 09/05/2023 (day first,
/// as in England), 9 May 2023 or 9 May 23.
pub fn date(raw: &str) -> Result<NaiveDate, String> {
    let s = raw.trim();
    let bad = || format!("“{s}” is not a date: write it like 2023-05-09, 09/05/2023 or 9 May 2023");
    if s.is_empty() {
        return Err("Enter a date".into());
    }
    let year = |y: &str| -> Option<i32> {
        let n: i32 = y.parse().ok()?;
        match y.len() {
            4 => Some(n),
            2 => Some(2000 + n),
            _ => None,
        }
    };
    let d = if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Some(d)
    } else if let [d, m, y] = s.split(['/', '.']).collect::<Vec<_>>()[..] {
        year(y).and_then(|y| NaiveDate::from_ymd_opt(y, m.parse().ok()?, d.parse().ok()?))
    } else if let [d, m, y] = s.split_whitespace().collect::<Vec<_>>()[..] {
        let month = MONTHS
            .iter()
            .position(|name| {
                let m = m.trim_end_matches('.').to_ascii_lowercase();
                m.len() >= 3 && name.to_ascii_lowercase().starts_with(&m)
            })
            .and_then(|i| u32::try_from(i + 1).ok());
        match (month, year(y), d.parse::<u32>()) {
            (Some(m), Some(y), Ok(d)) => NaiveDate::from_ymd_opt(y, m, d),
            _ => None,
        }
    } else {
        None
    };
    d.filter(|d| (1900..=2100).contains(&chrono::Datelike::year(d)))
        .ok_or_else(bad)
}

/// One line as "Item: £685.00 per week × 1 from 2026-01-05 to 2026-12-31";
/// lines one per line of the cell.
pub fn write_lines(lines: &[CostLine]) -> String {
    lines
        .iter()
        .map(|l| {
            format!(
                "{}: {} {} × {} from {} to {}",
                l.item,
                l.unit_cost,
                l.unit.label().to_lowercase(),
                l.quantity.display(),
                l.start.format("%Y-%m-%d"),
                l.end.format("%Y-%m-%d")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads what `write_lines` writes.
pub fn read_lines(raw: &str) -> Result<Vec<CostLine>, String> {
    let mut out = Vec::new();
    for (n, line) in raw
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let which = n + 1;
        let shape = || {
            format!(
                "Cost line {which} (“{line}”) should read like “Short breaks: £685.00 per week × 1 from 2026-01-05 to 2026-12-31”"
            )
        };
        let (item, rest) = line.rsplit_once(": £").ok_or_else(shape)?;
        let (cost, rest) = rest.split_once(' ').ok_or_else(shape)?;
        let (unit, rest) = rest.split_once(" × ").ok_or_else(shape)?;
        let (quantity, rest) = rest.split_once(" from ").ok_or_else(shape)?;
        let (start, end) = rest.split_once(" to ").ok_or_else(shape)?;
        let unit_cost = Pence::parse_pounds(cost).map_err(|e| format!("Cost line {which}: {e}"))?;
        let unit = Unit::ALL
            .into_iter()
            .find(|u| u.label().eq_ignore_ascii_case(unit.trim()))
            .ok_or_else(|| {
                format!("Cost line {which}: “{unit}” is not a unit: use one-off, per hour, per day, per week, per month or per year")
            })?;
        let quantity = Quantity::parse(quantity).map_err(|e| format!("Cost line {which}: {e}"))?;
        let (start, end) = (
            date(start).map_err(|e| format!("Cost line {which} start: {e}"))?,
            date(end).map_err(|e| format!("Cost line {which} end: {e}"))?,
        );
        if let Some(problem) = crate::costs::check_line(unit_cost, quantity, start, end)
            .into_iter()
            .next()
        {
            return Err(format!("Cost line {which}: {}", problem.1));
        }
        let item = item.trim();
        if item.is_empty() {
            return Err(format!("Cost line {which} has no item before the colon"));
        }
        out.push(CostLine {
            item: item.to_owned(),
            unit_cost,
            unit,
            quantity,
            start,
            end,
        });
    }
    if out.is_empty() {
        return Err("Enter the agreement's cost lines".into());
    }
    Ok(out)
}

/// Shares as "Northmoor County Council 60%; Northmoor ICB 40%".
pub fn write_shares(shares: &[(String, u32)]) -> String {
    shares
        .iter()
        .map(|(name, bp)| format!("{name} {}", apportion::percent(*bp)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Reads what `write_shares` writes: (organisation name, basis points).
pub fn read_shares(raw: &str) -> Result<Vec<(String, u32)>, String> {
    let mut out = Vec::new();
    for part in raw.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, pct) = part.rsplit_once(' ').ok_or_else(|| {
            format!("“{part}” should be an organisation and its share, like “Northmoor County Council 60%”")
        })?;
        out.push((name.trim().to_owned(), apportion::parse_percent(pct)?));
    }
    if out.is_empty() {
        return Err(
            "Enter who pays what share, like “Northmoor County Council 60%; Northmoor ICB 40%”"
                .into(),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn dates_in_the_forms_a_tracker_holds() {
        for s in [
            "2023-05-09",
            "09/05/2023",
            "9/5/23",
            "9 May 2023",
            "9 may 23",
            "09.05.2023",
            "9 Sept 2023",
        ] {
            let want = if s.contains("Sept") {
                d(2023, 9, 9)
            } else {
                d(2023, 5, 9)
            };
            assert_eq!(date(s), Ok(want), "{s}");
        }
        for s in [
            "31/02/2023",
            "2023-13-01",
            "May 2023",
            "yesterday",
            "9 Mayo 2023 x",
        ] {
            assert!(date(s).is_err(), "{s}");
        }
        assert!(date("31/02/2023").unwrap_err().contains("31/02/2023"));
    }

    #[test]
    fn cost_lines_and_shares_read_back_as_written() {
        let lines = vec![
            CostLine {
                item: "Respite: weekends".into(),
                unit_cost: Pence(68_500),
                unit: Unit::PerWeek,
                quantity: Quantity(150),
                start: d(2026, 1, 5),
                end: d(2026, 12, 31),
            },
            CostLine {
                item: "Equipment".into(),
                unit_cost: Pence(1_250_000),
                unit: Unit::OneOff,
                quantity: Quantity(100),
                start: d(2026, 2, 1),
                end: d(2026, 2, 1),
            },
        ];
        let text = write_lines(&lines);
        assert_eq!(
            text.lines().next().unwrap(),
            "Respite: weekends: £685.00 per week × 1.5 from 2026-01-05 to 2026-12-31"
        );
        assert_eq!(read_lines(&text).unwrap(), lines);
        let shares = vec![("Council".to_owned(), 6_667), ("ICB".to_owned(), 3_333)];
        assert_eq!(read_shares(&write_shares(&shares)).unwrap(), shares);
    }

    #[test]
    fn bad_lines_and_shares_say_what_is_wrong() {
        assert!(
            read_lines("Respite £685 weekly")
                .unwrap_err()
                .contains("should read like")
        );
        assert!(
            read_lines("Respite: £685.00 per fortnight × 1 from 2026-01-05 to 2026-12-31")
                .unwrap_err()
                .contains("not a unit")
        );
        assert!(read_lines("Respite: £685.00 per week × 1 from 2026-12-31 to 2026-01-05").is_err());
        assert!(read_shares("Council sixty").is_err());
        assert!(read_shares("").is_err());
    }
}
