//! An e-mail address, trimmed and lower-cased; checked for shape only.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailProblem {
    #[error("Enter an email address")]
    Missing,
    #[error("Enter an email address in the correct format, like name@example.org")]
    Format,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Email, EmailProblem> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err(EmailProblem::Missing);
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err(EmailProblem::Format);
        };
        let ok = !local.is_empty()
            && s.len() <= 254
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && !domain.contains('@')
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if ok {
            Ok(Email(s))
        } else {
            Err(EmailProblem::Format)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

impl TryFrom<String> for Email {
    type Error = EmailProblem;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Email::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ann.Other@Example.ORG ").unwrap().as_str(),
            "ann.other@example.org"
        );
        assert_eq!(Email::parse(""), Err(EmailProblem::Missing));
        for bad in [
            "ann",
            "ann@",
            "@example.org",
            "ann@example",
            "a b@example.org",
            "ann@ex..org",
            "a@b@c.org",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailProblem::Format), "{bad}");
        }
    }
}
