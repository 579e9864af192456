//! Reading a spreadsheet someone uploads (CSV or XLSX) into rows of text, for
//! the tracker import. Dates stored as Excel serial numbers come back as
//! YYYY-MM-DD; whole numbers without a decimal point; the apostrophe our
//! exports put before a formula-like value is taken off again.

use std::io::Cursor;

/// The largest file accepted, in bytes.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// The most rows read from a file.
pub const MAX_ROWS: usize = 200_000;

/// A sheet: the header row and the rows under it (blank rows dropped), each
/// with its row number in the file (the header is row 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

/// Reads `bytes` as XLSX when it is a zip file (or named .xlsx), else as CSV.
pub fn table(file_name: &str, bytes: &[u8]) -> Result<Table, String> {
    if bytes.len() > MAX_BYTES {
        return Err(format!(
            "The file is larger than {} MB: split it into smaller files",
            MAX_BYTES / 1024 / 1024
        ));
    }
    let lower = file_name.to_ascii_lowercase();
    let grid = if bytes.starts_with(b"PK\x03\x04") || lower.ends_with(".xlsx") {
        xlsx(bytes)?
    } else if lower.ends_with(".xls") || lower.ends_with(".ods") {
        return Err("Save the spreadsheet as .xlsx or .csv and upload that".into());
    } else {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| "The file is not UTF-8 text: save it as “CSV UTF-8” or as .xlsx")?;
        csv(text)?
    };
    let mut it = grid.into_iter().enumerate();
    let headers = loop {
        match it.next() {
            Some((_, row)) if row.iter().all(|c| c.trim().is_empty()) => {}
            Some((_, row)) => break row.into_iter().map(|h| h.trim().to_owned()).collect(),
            None => {
                return Err(
                    "The file is empty: it needs a header row and a row per referral".into(),
                );
            }
        }
    };
    let mut rows = Vec::new();
    for (i, row) in it {
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(format!(
                "The file has more than {MAX_ROWS} rows: split it into smaller files"
            ));
        }
        rows.push((i + 1, row));
    }
    Ok(Table { headers, rows })
}

/// Takes off the apostrophe an export put before a formula-like value.
pub fn undefuse(s: &str) -> String {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest.to_owned(),
        _ => s.to_owned(),
    }
}

/// RFC 4180 CSV: quoted fields with doubled quotes, CRLF or LF, a byte order
/// mark allowed at the start.
pub fn csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut line = 1_usize;
    let mut started_quote = 0_usize;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => {
                quoted = true;
                started_quote = line;
            }
            ',' => row.push(undefuse(&std::mem::take(&mut field))),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                line += 1;
                row.push(undefuse(&std::mem::take(&mut field)));
                rows.push(std::mem::take(&mut row));
            }
            _ => field.push(c),
        }
        if rows.len() > MAX_ROWS + 1 {
            return Err(format!(
                "The file has more than {MAX_ROWS} rows: split it into smaller files"
            ));
        }
    }
    if quoted {
        return Err(format!(
            "A quoted value that starts on line {started_quote} never ends: check the file's quotation marks"
        ));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(undefuse(&field));
        rows.push(row);
    }
    Ok(rows)
}

fn xlsx(bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e| format!("The file could not be read as an .xlsx workbook ({e})"))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or("The workbook has no sheets")?
        .map_err(|e| format!("The first sheet could not be read ({e})"))?;
    Ok(range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Empty | Data::Error(_) => String::new(),
                    Data::String(s) => undefuse(s),
                    Data::Int(i) => i.to_string(),
                    Data::Float(f) => number(*f),
                    Data::Bool(b) => if *b { "Yes" } else { "No" }.to_owned(),
                    Data::DateTime(d) => serial_date(d.as_f64()),
                    Data::DateTimeIso(s) | Data::DurationIso(s) => {
                        s.split('T').next().unwrap_or_default().to_owned()
                    }
                })
                .collect()
        })
        .collect())
}

/// A spreadsheet number as typed: 12 not 12.0; pounds to the penny as
/// 685.5 → "685.5" (the money reader takes it from there).
fn number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        let s = format!("{f:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// An Excel serial day (1900 system) as YYYY-MM-DD.
fn serial_date(serial: f64) -> String {
    // Days since 1970-01-01: Excel's day 25569 is that day.
    #[allow(clippy::cast_possible_truncation)]
    let days = serial.floor() as i64 - 25_569;
    // Civil from days (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_reads_quotes_newlines_and_a_bom() {
        let rows = csv(
            "\u{feff}a,b,c\r\n\"Smith, Jo\",\"said \"\"hi\"\"\",\"two\nlines\"\n'=SUM(A1),x,\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1], ["Smith, Jo", "said \"hi\"", "two\nlines"]);
        assert_eq!(rows[2], ["=SUM(A1)", "x", ""]);
    }

    #[test]
    fn an_unclosed_quote_is_named() {
        let e = csv("a,b\n\"oops,1\n2,3\n").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn excel_serial_days_are_dates() {
        assert_eq!(serial_date(45_055.0), "2023-05-09");
        assert_eq!(serial_date(25_569.0), "1970-01-01");
        assert_eq!(serial_date(36_586.0), "2000-03-01");
        assert_eq!(number(12.0), "12");
        assert_eq!(number(685.5), "685.5");
    }

    #[test]
    fn tables_skip_blank_rows_and_number_rows_as_in_the_file() {
        let t = table("t.csv", b"\nName,Date\n\nJo,2020-01-01\n,\nAl,2021-02-02\n").unwrap();
        assert_eq!(t.headers, ["Name", "Date"]);
        assert_eq!(t.rows[0].0, 4);
        assert_eq!(
            t.rows[1],
            (6, vec!["Al".to_owned(), "2021-02-02".to_owned()])
        );
        assert!(table("t.csv", b"").unwrap_err().contains("empty"));
    }

    #[test]
    fn an_xlsx_written_by_the_exporter_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.xlsx");
        let mut book = crate::Xlsx::new("Tracker", &["Child", "Cost"]).unwrap();
        book.push(&[
            crate::Cell::text("=HYPERLINK(\"x\")"),
            crate::Cell::Pence(68_550),
        ])
        .unwrap();
        book.save(&path).unwrap();
        let t = table("t.xlsx", &std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(t.headers, ["Child", "Cost"]);
        assert_eq!(t.rows[0].1, ["=HYPERLINK(\"x\")", "685.5"]);
    }
}
