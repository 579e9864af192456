//! Passwords after NCSC guidance: long (at least 12 characters), no composition
//! rules, and not one of the passwords attackers try first.

use std::fmt;

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 256;

/// A password that passed the rules. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(**redacted**)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("Enter a password")]
    Missing,
    #[error("Password must be {MIN_CHARS} characters or more")]
    TooShort,
    #[error("Password must be {MAX_CHARS} characters or fewer")]
    TooLong,
    #[error(
        "Choose a password that is harder to guess: this one is on a list of commonly used passwords"
    )]
    Common,
    #[error("Choose a password that does not contain your email address or name")]
    Personal,
    #[error("Choose a password that is not one character repeated or a simple sequence")]
    Repetitive,
}

impl Password {
    /// Checks a new password. `personal` are words that must not make up the password
    /// (the user's email local part, their name).
    pub fn new(raw: &str, personal: &[&str]) -> Result<Password, PasswordProblem> {
        if raw.is_empty() {
            return Err(PasswordProblem::Missing);
        }
        let n = raw.chars().count();
        if n < MIN_CHARS {
            return Err(PasswordProblem::TooShort);
        }
        if n > MAX_CHARS {
            return Err(PasswordProblem::TooLong);
        }
        let lower = raw.to_lowercase();
        if is_repetitive(&lower) {
            return Err(PasswordProblem::Repetitive);
        }
        // Strip digits and symbols people bolt on to a common word ("Password123!").
        let core: String = lower.chars().filter(|c| c.is_alphabetic()).collect();
        if COMMON.contains(&lower.as_str())
            || (core.len() >= 4 && COMMON.iter().any(|w| core == *w))
        {
            return Err(PasswordProblem::Common);
        }
        for word in personal {
            let w = word.trim().to_lowercase();
            if w.chars().count() >= 4 && lower.contains(&w) && lower.len() < w.len() + 8 {
                return Err(PasswordProblem::Personal);
            }
        }
        Ok(Password(raw.to_owned()))
    }

    /// For sign-in: any non-empty input is compared against the stored hash.
    pub fn for_sign_in(raw: &str) -> Option<Password> {
        (!raw.is_empty() && raw.chars().count() <= MAX_CHARS).then(|| Password(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn is_repetitive(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    if chars.windows(2).all(|w| w[0] == w[1]) {
        return true;
    }
    let ascending = chars.windows(2).all(|w| (w[1] as u32) == (w[0] as u32) + 1);
    let descending = chars.windows(2).all(|w| (w[0] as u32) == (w[1] as u32) + 1);
    if ascending || descending {
        return true;
    }
    // A short unit repeated: "abcabcabcabc", "passpasspass".
    (1..=chars.len() / 2)
        .any(|k| chars.len().is_multiple_of(k) && chars.chunks(k).all(|c| c == &chars[..k]))
}

/// Passwords, and the words under them, that appear at the top of every breach list,
/// plus the words of this service that people reach for.
const COMMON: &[&str] = &[
    "password",
    "passw",
    "passwor",
    "passwords",
    "passphrase",
    "password123456",
    "qwertyuiop",
    "qwerty",
    "qwertyuiopasdfghjkl",
    "asdfghjkl",
    "zxcvbnm",
    "azerty",
    "iloveyou",
    "letmein",
    "welcome",
    "welcometo",
    "admin",
    "administrator",
    "adminadmin",
    "changeme",
    "changeit",
    "default",
    "monkey",
    "dragon",
    "football",
    "baseball",
    "soccer",
    "liverpool",
    "chelsea",
    "arsenal",
    "manchester",
    "manchesterunited",
    "sunshine",
    "princess",
    "superman",
    "batman",
    "starwars",
    "trustno",
    "shadow",
    "master",
    "michael",
    "jennifer",
    "jessica",
    "charlie",
    "hunter",
    "freedom",
    "whatever",
    "mustang",
    "summer",
    "winter",
    "spring",
    "autumn",
    "january",
    "february",
    "september",
    "october",
    "november",
    "december",
    "secret",
    "secretpassword",
    "mypassword",
    "newpassword",
    "oldpassword",
    "temppassword",
    "temporary",
    "pokemon",
    "computer",
    "internet",
    "login",
    "access",
    "blink",
    "lovely",
    "flower",
    "hello",
    "helloworld",
    "goodluck",
    "cheese",
    "chocolate",
    "abcdefghijkl",
    "abcabc",
    "abcdef",
    "letmeinplease",
    "pleaseletmein",
    "opensesame",
    "council",
    "councilpassword",
    "countycouncil",
    "nhspassword",
    "jointpanel",
    "jointpanelpassword",
    "panelpassword",
    "children",
    "socialcare",
    "safeguarding",
    "leicester",
    "leicestershire",
    "england",
    "london",
    "birmingham",
    "correcthorsebatterystaple",
    "thequickbrownfox",
    "iloveyouforever",
    "passwordpassword",
    "password1234",
    "password12345",
    "qwerty123456",
    "qwerty1234567",
    "123456789012",
    "1234567890123",
    "111111111111",
    "000000000000",
    "123123123123",
    "123456123456",
    "987654321098",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "qazwsxedcrfv",
    "zaq12wsxcde3",
    "q1w2e3r4t5y6",
    "a1b2c3d4e5f6",
    "p@ssw0rd1234",
    "p@ssword1234",
    "passw0rd1234",
    "welcome12345",
    "welcome123456",
    "letmein12345",
    "iloveyou1234",
    "football1234",
    "monkey123456",
    "dragon123456",
    "sunshine1234",
    "princess1234",
    "baseball1234",
    "trustno11234",
    "superman1234",
    "starwars1234",
    "administrator1",
    "changeme1234",
    "abc123abc123",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_uncommon_passwords_are_accepted() {
        assert!(Password::new("violet kettle harbour", &["ann.other", "Ann Other"]).is_ok());
        assert!(Password::new("Tr4mline-Orchard", &[]).is_ok());
    }

    #[test]
    fn short_common_repetitive_and_personal_passwords_are_refused() {
        assert_eq!(Password::new("", &[]), Err(PasswordProblem::Missing));
        assert_eq!(
            Password::new("short-pass", &[]),
            Err(PasswordProblem::TooShort)
        );
        assert_eq!(
            Password::new(&"x".repeat(257), &[]),
            Err(PasswordProblem::TooLong)
        );
        assert_eq!(
            Password::new("Password123!", &[]),
            Err(PasswordProblem::Common)
        );
        assert_eq!(
            Password::new("qwertyuiop12", &[]),
            Err(PasswordProblem::Common)
        );
        assert_eq!(
            Password::new("JointPanel2026", &[]),
            Err(PasswordProblem::Common)
        );
        assert_eq!(
            Password::new("aaaaaaaaaaaaa", &[]),
            Err(PasswordProblem::Repetitive)
        );
        assert_eq!(
            Password::new("abcdefghijklm", &[]),
            Err(PasswordProblem::Repetitive)
        );
        assert_eq!(
            Password::new("passpasspass", &[]),
            Err(PasswordProblem::Repetitive)
        );
        assert_eq!(
            Password::new("ann.other2026", &["ann.other"]),
            Err(PasswordProblem::Personal)
        );
    }

    #[test]
    fn passwords_never_print() {
        let p = Password::new("violet kettle harbour", &[]).unwrap();
        assert!(!format!("{p:?}").contains("violet"));
    }
}
