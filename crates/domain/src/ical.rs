//! iCalendar (RFC 5545) text for the meetings feed: timed events in UK time,
//! all-day deadline events, text escaped and lines folded at 75 octets.

use chrono::{NaiveDate, NaiveDateTime};

/// One entry of a feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Stable across reads, so calendar programs update rather than duplicate.
    pub uid: String,
    pub summary: String,
    pub description: String,
    pub location: String,
    pub url: String,
    pub when: When,
    pub cancelled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    /// Local UK time, start and end.
    Timed(NaiveDateTime, NaiveDateTime),
    AllDay(NaiveDate),
}

/// Europe/London as a VTIMEZONE (GMT, and BST from the last Sunday of March
/// to the last Sunday of October), so the times need no conversion.
const LONDON: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/London\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0100\r\nTZNAME:BST\r\nDTSTART:19700329T010000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000\r\nTZNAME:GMT\r\nDTSTART:19701025T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

/// Escapes TEXT values: backslash, semicolon, comma and newlines.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets (never inside a UTF-8 character).
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
    out
}

/// The whole feed.
pub fn calendar(name: &str, stamp: NaiveDateTime, events: &[Event]) -> String {
    let mut out = String::new();
    for l in [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Joint Panel//Meetings feed//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        format!("X-WR-CALNAME:{}", escape(name)),
    ] {
        out.push_str(&fold(&l));
    }
    out.push_str(LONDON);
    for e in events {
        out.push_str(&fold("BEGIN:VEVENT"));
        out.push_str(&fold(&format!("UID:{}", e.uid)));
        out.push_str(&fold(&format!(
            "DTSTAMP:{}",
            stamp.format("%Y%m%dT%H%M%SZ")
        )));
        match e.when {
            When::Timed(start, end) => {
                out.push_str(&fold(&format!(
                    "DTSTART;TZID=Europe/London:{}",
                    start.format("%Y%m%dT%H%M%S")
                )));
                out.push_str(&fold(&format!(
                    "DTEND;TZID=Europe/London:{}",
                    end.format("%Y%m%dT%H%M%S")
                )));
            }
            When::AllDay(d) => {
                out.push_str(&fold(&format!("DTSTART;VALUE=DATE:{}", d.format("%Y%m%d"))));
                let next = d.succ_opt().unwrap_or(d);
                out.push_str(&fold(&format!(
                    "DTEND;VALUE=DATE:{}",
                    next.format("%Y%m%d")
                )));
                out.push_str(&fold("TRANSP:TRANSPARENT"));
            }
        }
        out.push_str(&fold(&format!("SUMMARY:{}", escape(&e.summary))));
        if !e.description.is_empty() {
            out.push_str(&fold(&format!("DESCRIPTION:{}", escape(&e.description))));
        }
        if !e.location.is_empty() {
            out.push_str(&fold(&format!("LOCATION:{}", escape(&e.location))));
        }
        if !e.url.is_empty() {
            out.push_str(&fold(&format!("URL:{}", e.url)));
        }
        out.push_str(&fold(if e.cancelled {
            "STATUS:CANCELLED"
        } else {
            "STATUS:CONFIRMED"
        }));
        out.push_str(&fold("END:VEVENT"));
    }
    out.push_str(&fold("END:VCALENDAR"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_long_lines_folded() {
        assert_eq!(
            escape("Room 2, County Hall; floor 1\\n\nnext"),
            "Room 2\\, County Hall\\; floor 1\\\\n\\nnext"
        );
        let long = format!("SUMMARY:{}", "é".repeat(60));
        let folded = fold(&long);
        for line in folded.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{} octets", line.len());
        }
        assert_eq!(folded.replace("\r\n ", ""), format!("{long}\r\n"));
    }

    #[test]
    fn a_feed_has_timed_and_all_day_events() {
        let d = NaiveDate::from_ymd_opt(2027, 3, 9).unwrap();
        let start = d.and_hms_opt(10, 0, 0).unwrap();
        let ics = calendar(
            "Joint Panel",
            start,
            &[
                Event {
                    uid: "meeting-1@jointpanel".into(),
                    summary: "Joint Funding Panel".into(),
                    description: String::new(),
                    location: "Room 2, County Hall".into(),
                    url: String::new(),
                    when: When::Timed(start, d.and_hms_opt(12, 0, 0).unwrap()),
                    cancelled: false,
                },
                Event {
                    uid: "deadline-1@jointpanel".into(),
                    summary: "Referrals due".into(),
                    description: String::new(),
                    location: String::new(),
                    url: String::new(),
                    when: When::AllDay(NaiveDate::from_ymd_opt(2027, 2, 26).unwrap()),
                    cancelled: true,
                },
            ],
        );
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
        assert!(ics.contains("DTSTART;TZID=Europe/London:20270309T100000\r\n"));
        assert!(ics.contains("DTSTART;VALUE=DATE:20270226\r\nDTEND;VALUE=DATE:20270227\r\n"));
        assert!(ics.contains("LOCATION:Room 2\\, County Hall\r\n"));
        assert!(ics.contains("STATUS:CANCELLED"));
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), 2);
    }
}
