//! Money is integer pence (SPEC §6). Parsed from what people type, shown as "£12,345.67".

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Pence(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyProblem {
    #[error("Enter an amount")]
    Missing,
    #[error("Enter an amount in pounds and pence, like £1,250.00")]
    Format,
    #[error("The amount is too large")]
    TooLarge,
}

impl Pence {
    /// Parses "£12,345.67", "12345.6", "12345" (pounds). Commas allowed between digit groups.
    pub fn parse_pounds(raw: &str) -> Result<Pence, MoneyProblem> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(MoneyProblem::Missing);
        }
        let (negative, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, s),
        };
        let s = s.strip_prefix('£').unwrap_or(s).replace(',', "");
        let (pounds, pence) = match s.split_once('.') {
            Some((p, d)) => (p, d),
            None => (s.as_str(), ""),
        };
        if pounds.is_empty()
            || !pounds.chars().all(|c| c.is_ascii_digit())
            || pence.len() > 2
            || !pence.chars().all(|c| c.is_ascii_digit())
        {
            return Err(MoneyProblem::Format);
        }
        if pounds.len() > 13 {
            return Err(MoneyProblem::TooLarge);
        }
        let whole: i64 = pounds.parse().map_err(|_| MoneyProblem::Format)?;
        let frac: i64 = match pence.len() {
            0 => 0,
            1 => pence.parse::<i64>().map_err(|_| MoneyProblem::Format)? * 10,
            _ => pence.parse().map_err(|_| MoneyProblem::Format)?,
        };
        let total = whole
            .checked_mul(100)
            .and_then(|p| p.checked_add(frac))
            .ok_or(MoneyProblem::TooLarge)?;
        Ok(Pence(if negative { -total } else { total }))
    }

    /// "12345.67" — for form fields.
    pub fn to_plain(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", a / 100, a % 100)
    }
}

impl fmt::Display for Pence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0.unsigned_abs();
        let pounds = (a / 100).to_string();
        let mut grouped = String::new();
        for (i, c) in pounds.chars().enumerate() {
            if i > 0 && (pounds.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}£{grouped}.{:02}", a % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_display_like_the_tracker() {
        assert_eq!(Pence(1_234_567).to_string(), "£12,345.67");
        assert_eq!(Pence(25_000_000).to_string(), "£250,000.00");
        assert_eq!(Pence(5).to_string(), "£0.05");
        assert_eq!(Pence(-150).to_string(), "-£1.50");
    }

    #[test]
    fn typed_amounts_parse_exactly() {
        assert_eq!(Pence::parse_pounds("£12,345.67"), Ok(Pence(1_234_567)));
        assert_eq!(Pence::parse_pounds("250000"), Ok(Pence(25_000_000)));
        assert_eq!(Pence::parse_pounds("0.5"), Ok(Pence(50)));
        assert_eq!(Pence::parse_pounds(""), Err(MoneyProblem::Missing));
        for bad in ["12.345", "abc", "£", "1.2.3", "1e5", "12 000"] {
            assert_eq!(Pence::parse_pounds(bad), Err(MoneyProblem::Format), "{bad}");
        }
        assert_eq!(
            Pence::parse_pounds("99999999999999999"),
            Err(MoneyProblem::TooLarge)
        );
    }

    proptest! {
        #[test]
        fn display_then_parse_is_the_identity(p in -10_000_000_000i64..10_000_000_000i64) {
            prop_assert_eq!(Pence::parse_pounds(&Pence(p).to_string()), Ok(Pence(p)));
            prop_assert_eq!(Pence::parse_pounds(&Pence(p).to_plain()), Ok(Pence(p)));
        }
    }
}
