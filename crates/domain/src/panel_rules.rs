//! A panel's rules (SPEC §2), with the defaults the two seeds give.

use crate::money::Pence;
use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// Whose bank holidays make the working-day calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Region {
    EnglandAndWales,
    Scotland,
    NorthernIreland,
}

impl Region {
    pub const ALL: [Region; 3] = [
        Region::EnglandAndWales,
        Region::Scotland,
        Region::NorthernIreland,
    ];
    pub fn slug(self) -> &'static str {
        match self {
            Region::EnglandAndWales => "england-and-wales",
            Region::Scotland => "scotland",
            Region::NorthernIreland => "northern-ireland",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Region::EnglandAndWales => "England and Wales",
            Region::Scotland => "Scotland",
            Region::NorthernIreland => "Northern Ireland",
        }
    }
    pub fn parse(s: &str) -> Option<Region> {
        Region::ALL.into_iter().find(|r| r.slug() == s.trim())
    }
}

/// "The nth weekday of every month" — `week` 1..=4, or 5 meaning the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cadence {
    pub week: u8,
    pub weekday: Weekday,
}

impl Cadence {
    pub fn parse(week: &str, weekday: &str) -> Result<Cadence, String> {
        let week: u8 = week
            .trim()
            .parse()
            .map_err(|_| "Select which week of the month the panel meets".to_owned())?;
        if !(1..=5).contains(&week) {
            return Err("Select which week of the month the panel meets".to_owned());
        }
        let weekday = weekday_from_number(weekday.trim())
            .ok_or("Select the day of the week the panel meets")?;
        Ok(Cadence { week, weekday })
    }

    /// The meeting day in the given month.
    pub fn date_in(&self, year: i32, month: u32) -> Option<NaiveDate> {
        if self.week == 5 {
            let next = if month == 12 {
                NaiveDate::from_ymd_opt(year + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(year, month + 1, 1)
            }?;
            let last = next.pred_opt()?;
            let back = (7 + last.weekday().num_days_from_monday()
                - self.weekday.num_days_from_monday())
                % 7;
            return last.checked_sub_days(chrono::Days::new(u64::from(back)));
        }
        NaiveDate::from_weekday_of_month_opt(year, month, self.weekday, self.week)
    }

    pub fn describe(&self) -> String {
        let nth = match self.week {
            1 => "First",
            2 => "Second",
            3 => "Third",
            4 => "Fourth",
            _ => "Last",
        };
        format!("{nth} {} of every month", weekday_name(self.weekday))
    }
}

pub fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// 1 = Monday … 5 = Friday (panels meet on working days).
pub fn weekday_from_number(s: &str) -> Option<Weekday> {
    match s {
        "1" => Some(Weekday::Mon),
        "2" => Some(Weekday::Tue),
        "3" => Some(Weekday::Wed),
        "4" => Some(Weekday::Thu),
        "5" => Some(Weekday::Fri),
        _ => None,
    }
}

/// The need levels as a slice, for form questions.
pub const NEED_LEVELS_SLICE: &[(&str, &str)] = &NEED_LEVELS;

/// Need levels a panel takes (its scope).
pub const NEED_LEVELS: [(&str, &str); 3] = [
    ("lower", "Lower-level needs"),
    ("high", "High needs"),
    ("complex", "Complex needs"),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanelRules {
    pub cadence: Cadence,
    pub region: Region,
    /// Working days before the meeting.
    pub submission_deadline_days: u32,
    pub papers_due_days: u32,
    /// Working days after the meeting.
    pub letter_due_days: u32,
    pub minutes_due_days: u32,
    pub absent_agency_response_days: u32,
    pub review_max_months: u32,
    pub delegated_limit: Pence,
    pub escalation_authority: String,
    pub need_levels: Vec<String>,
    pub minutes_per_new_case: u32,
    pub minutes_per_review: u32,
    pub assessment_max_age_months: u32,
}

impl PanelRules {
    /// Seed 000: the Joint Funding Panel (Complex Cases), monthly, 7/5/3/3/3 working days.
    pub fn joint_funding_default() -> PanelRules {
        PanelRules {
            cadence: Cadence {
                week: 2,
                weekday: Weekday::Tue,
            },
            region: Region::EnglandAndWales,
            submission_deadline_days: 7,
            papers_due_days: 5,
            letter_due_days: 3,
            minutes_due_days: 3,
            absent_agency_response_days: 3,
            review_max_months: 12,
            delegated_limit: Pence(25_000_000),
            escalation_authority: "Director of Children and Family Services".to_owned(),
            need_levels: vec!["high".to_owned(), "complex".to_owned()],
            minutes_per_new_case: 30,
            minutes_per_review: 15,
            assessment_max_age_months: 6,
        }
    }

    /// Seed 002: the Resource Panel, lower-level needs, reviews at least annually.
    pub fn resource_panel_default() -> PanelRules {
        PanelRules {
            cadence: Cadence {
                week: 3,
                weekday: Weekday::Wed,
            },
            need_levels: vec!["lower".to_owned()],
            delegated_limit: Pence(5_000_000),
            escalation_authority: "Joint Funding Panel (Complex Cases)".to_owned(),
            minutes_per_new_case: 20,
            minutes_per_review: 10,
            ..PanelRules::joint_funding_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cadence_finds_the_meeting_day() {
        let second_tuesday = Cadence {
            week: 2,
            weekday: Weekday::Tue,
        };
        assert_eq!(
            second_tuesday.date_in(2026, 12),
            NaiveDate::from_ymd_opt(2026, 12, 8)
        );
        let last_friday = Cadence {
            week: 5,
            weekday: Weekday::Fri,
        };
        assert_eq!(
            last_friday.date_in(2026, 12),
            NaiveDate::from_ymd_opt(2026, 12, 25)
        );
        assert_eq!(
            last_friday.date_in(2027, 2),
            NaiveDate::from_ymd_opt(2027, 2, 26)
        );
        assert_eq!(second_tuesday.describe(), "Second Tuesday of every month");
        assert!(Cadence::parse("6", "2").is_err());
        assert!(Cadence::parse("2", "7").is_err());
    }
}
