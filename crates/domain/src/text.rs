//! Short and long free text from forms: trimmed, bounded, never empty when required.

/// Trims `raw`; returns `Err` with a message naming `what` when it is empty or longer than `max` characters.
pub fn required(raw: &str, what: &str, max: usize) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(format!("Enter {what}"));
    }
    bounded(s, what, max).map(str::to_owned)
}

/// Trims `raw`; `None` when empty.
pub fn optional(raw: &str, what: &str, max: usize) -> Result<Option<String>, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    bounded(s, what, max).map(|s| Some(s.to_owned()))
}

fn bounded<'a>(s: &'a str, what: &str, max: usize) -> Result<&'a str, String> {
    let n = s.chars().count();
    if n > max {
        let mut what = what.to_owned();
        if let Some(rest) = what.strip_prefix("a ").or_else(|| what.strip_prefix("an ")) {
            what = rest.to_owned();
        } else if let Some(rest) = what.strip_prefix("the ") {
            what = rest.to_owned();
        }
        let mut cap = what.chars();
        let what = match cap.next() {
            Some(c) => c.to_uppercase().collect::<String>() + cap.as_str(),
            None => what,
        };
        return Err(format!(
            "{what} must be {max} characters or fewer (it has {n})"
        ));
    }
    if s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(format!("Remove control characters from {what}"));
    }
    Ok(s)
}

/// A date typed as day, month and year boxes (GOV.UK date input), with a
/// message naming `what` when it is missing or not a real date.
pub fn civil_date(
    day: &str,
    month: &str,
    year: &str,
    what: &str,
) -> Result<chrono::NaiveDate, String> {
    let (d, m, y) = (day.trim(), month.trim(), year.trim());
    if d.is_empty() && m.is_empty() && y.is_empty() {
        return Err(format!("Enter {what}"));
    }
    let parsed = (|| {
        let y: i32 = y.parse().ok()?;
        if !(1900..=2100).contains(&y) {
            return None;
        }
        chrono::NaiveDate::from_ymd_opt(y, m.parse().ok()?, d.parse().ok()?)
    })();
    parsed.ok_or_else(|| format!("{} must be a real date, like 27 3 2027", capitalise(what)))
}

/// Text someone else chose (a file's name), safe to record: control characters
/// dropped, at most `max` characters.
pub fn printable(raw: &str, max: usize) -> String {
    raw.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// The text with its first letter as a capital ("the date" → "The date").
pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_text_is_trimmed_and_bounded() {
        assert_eq!(required("  Northmoor ", "a name", 10).unwrap(), "Northmoor");
        assert_eq!(required("  ", "a name", 10).unwrap_err(), "Enter a name");
        assert_eq!(
            required("abcdefghijk", "a name", 10).unwrap_err(),
            "Name must be 10 characters or fewer (it has 11)"
        );
        assert_eq!(optional(" ", "a team", 5).unwrap(), None);
        assert!(required("a\u{0}b", "a name", 10).is_err());
    }
}
