//! A child's identifiers (SPEC §1): the NHS number and the unique pupil number.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An NHS number: ten digits whose last is a modulus-11 check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NhsNumber(String);

impl NhsNumber {
    /// Accepts "943 476 5919", "943-476-5919" or "9434765919".
    pub fn parse(raw: &str) -> Result<NhsNumber, String> {
        let digits: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if digits.len() != 10 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err("Enter an NHS number of 10 digits, like 999 123 4560".to_owned());
        }
        let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
        match nhs_check_digit(&d[..9]) {
            Some(check) if check == d[9] => Ok(NhsNumber(digits)),
            _ => Err("Enter a valid NHS number: the last digit does not match the others (check it against the child's records)".to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// "999 123 4560", as NHS letters print it.
    pub fn spaced(&self) -> String {
        format!("{} {} {}", &self.0[..3], &self.0[3..6], &self.0[6..])
    }
}

/// The check digit of nine digits, or `None` when no tenth digit can make them valid.
pub fn nhs_check_digit(first_nine: &[u32]) -> Option<u32> {
    let sum: u32 = first_nine
        .iter()
        .zip((2..=10).rev())
        .map(|(d, w)| d * w)
        .sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        c => Some(c),
    }
}

impl fmt::Display for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spaced())
    }
}

/// The letters a UPN's check character can take (I, O and S are left out).
const UPN_LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";

/// A unique pupil number: a check letter, then 12 characters (LA code, school,
/// year, serial); a temporary UPN ends in a letter instead of a digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Upn(String);

impl Upn {
    pub fn parse(raw: &str) -> Result<Upn, String> {
        let s: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let shape = s.len() == 13
            && s.is_ascii()
            && UPN_LETTERS.contains(&s.as_bytes()[0])
            && s.as_bytes()[1..12].iter().all(u8::is_ascii_digit)
            && (s.as_bytes()[12].is_ascii_digit() || UPN_LETTERS.contains(&s.as_bytes()[12]));
        if !shape {
            return Err(
                "Enter a UPN of 13 characters: a letter, then 11 digits, then a digit or letter"
                    .to_owned(),
            );
        }
        if upn_check_letter(&s[1..]) != Some(s.as_bytes()[0]) {
            return Err("Enter a valid UPN: the first letter does not match the rest (check it against the school's records)".to_owned());
        }
        Ok(Upn(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The check letter for the 12 characters after it.
pub fn upn_check_letter(rest: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, b) in rest.bytes().enumerate() {
        let value = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            UPN_LETTERS.iter().position(|l| *l == b)? as u32
        };
        sum += value * (i as u32 + 2);
    }
    UPN_LETTERS.get((sum % 23) as usize).copied()
}

impl fmt::Display for Upn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A valid test NHS number from the 999 range for `seed`.
    fn test_nhs(seed: u32) -> Option<String> {
        let mut d = vec![9, 9, 9];
        let mut s = seed;
        for _ in 0..6 {
            d.push(s % 10);
            s /= 10;
        }
        let check = nhs_check_digit(&d)?;
        d.push(check);
        Some(d.iter().map(|x| x.to_string()).collect())
    }

    #[test]
    fn known_nhs_numbers() {
        assert!(NhsNumber::parse("943 476 5919").is_ok());
        assert!(NhsNumber::parse("9434765918").is_err());
        assert!(NhsNumber::parse("94347659").is_err());
        assert!(NhsNumber::parse("94347659x9").is_err());
        assert_eq!(
            NhsNumber::parse("943-476-5919").unwrap().spaced(),
            "943 476 5919"
        );
    }

    #[test]
    fn known_upns() {
        // Check letter computed by hand: 8*2+2*3+3*4+2*5+0*6+0*7+1*8+2*9+0*10+0*11+1*12+5*13.
        let rest = "823200120015";
        let letter = upn_check_letter(rest).unwrap() as char;
        let upn = format!("{letter}{rest}");
        assert!(Upn::parse(&upn).is_ok());
        assert!(Upn::parse(&upn.to_lowercase()).is_ok());
        let wrong = if letter == 'A' { 'B' } else { 'A' };
        assert!(Upn::parse(&format!("{wrong}{rest}")).is_err());
        assert!(Upn::parse("A12345").is_err());
        assert!(Upn::parse("I823200120015").is_err());
        // A temporary UPN ends in a letter.
        let temp = "82320012001A";
        let letter = upn_check_letter(temp).unwrap() as char;
        assert!(Upn::parse(&format!("{letter}{temp}")).is_ok());
    }

    proptest! {
        #[test]
        fn any_generated_nhs_number_is_valid_and_one_digit_off_is_not(seed in 0u32..1_000_000, pos in 0usize..10, delta in 1u32..10) {
            if let Some(n) = test_nhs(seed) {
                prop_assert!(NhsNumber::parse(&n).is_ok());
                let mut digits: Vec<u32> = n.chars().map(|c| c.to_digit(10).unwrap()).collect();
                digits[pos] = (digits[pos] + delta) % 10;
                let changed: String = digits.iter().map(|x| x.to_string()).collect();
                // Modulus 11 with distinct weights catches every single-digit change.
                prop_assert!(NhsNumber::parse(&changed).is_err());
            }
        }

        #[test]
        fn upn_check_letter_round_trips(rest in "[0-9]{12}") {
            let letter = upn_check_letter(&rest).unwrap() as char;
            let upn = format!("{}{}", letter, rest);
            prop_assert!(Upn::parse(&upn).is_ok());
        }
    }
}
