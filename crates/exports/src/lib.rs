#![forbid(unsafe_code)]
//! Spreadsheet exports (SPEC §7): a table of cells written as CSV (a line at a
//! time, for streaming) or as XLSX (rows spilled to a temporary file as they
//! come, so memory stays flat however many rows). Text that a spreadsheet
//! would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
//! carriage return) is written with a leading apostrophe, so an exported
//! `=HYPERLINK(...)` is shown, never followed.

use std::path::Path;

/// One cell of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    /// Money in pence; shown as pounds with two decimals.
    Pence(i64),
    Int(i64),
    Empty,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
    pub fn opt(s: Option<impl Into<String>>) -> Cell {
        s.map_or(Cell::Empty, |s| Cell::Text(s.into()))
    }
}

/// The text as a spreadsheet may show it: a leading apostrophe when it would
/// otherwise start a formula (OWASP "CSV injection").
pub fn defuse(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

/// Pence as "1234.56" (exact: integer arithmetic).
pub fn pounds(p: i64) -> String {
    let sign = if p < 0 { "-" } else { "" };
    let a = p.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// One CSV line (RFC 4180, CRLF), cells defused.
pub fn csv_line(cells: &[Cell]) -> String {
    let mut out = cells
        .iter()
        .map(|c| match c {
            Cell::Text(s) => csv_field(&defuse(s)),
            Cell::Pence(p) => pounds(*p),
            Cell::Int(n) => n.to_string(),
            Cell::Empty => String::new(),
        })
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the spreadsheet could not be written: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("an XLSX sheet holds at most {max} rows; export CSV instead, or narrow the filters")]
    TooManyRows { max: u32 },
}

/// Most data rows in one sheet (1,048,576 less the header).
pub const XLSX_MAX_ROWS: u32 = 1_048_575;

/// An XLSX file being written row by row in constant memory.
pub struct Xlsx {
    book: rust_xlsxwriter::Workbook,
    row: u32,
    money: rust_xlsxwriter::Format,
}

impl Xlsx {
    /// A workbook with one sheet named `sheet` and a bold header row.
    pub fn new(sheet: &str, headers: &[&str]) -> Result<Xlsx, Error> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let ws = book.add_worksheet_with_constant_memory()?;
        ws.set_name(sheet)?;
        for (i, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, col(i), *h, &bold)?;
            ws.set_column_width(col(i), 16)?;
        }
        ws.set_freeze_panes(1, 0)?;
        Ok(Xlsx {
            book,
            row: 0,
            money: rust_xlsxwriter::Format::new().set_num_format("£#,##0.00"),
        })
    }

    pub fn push(&mut self, cells: &[Cell]) -> Result<(), Error> {
        if self.row >= XLSX_MAX_ROWS {
            return Err(Error::TooManyRows { max: XLSX_MAX_ROWS });
        }
        self.row += 1;
        let r = self.row;
        let ws = self.book.worksheet_from_index(0)?;
        for (i, c) in cells.iter().enumerate() {
            match c {
                Cell::Text(s) => {
                    ws.write_string(r, col(i), defuse(s))?;
                }
                // A spreadsheet's numbers are binary floating point: the one
                // place money leaves integer pence. Each cell is the double
                // nearest the exact amount, as Excel stores a typed amount.
                #[allow(clippy::cast_precision_loss)]
                Cell::Pence(p) => {
                    ws.write_number_with_format(r, col(i), *p as f64 / 100.0, &self.money)?;
                }
                #[allow(clippy::cast_precision_loss)]
                Cell::Int(n) => {
                    ws.write_number(r, col(i), *n as f64)?;
                }
                Cell::Empty => {}
            }
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u32 {
        self.row
    }

    /// Writes the file.
    pub fn save(mut self, path: &Path) -> Result<(), Error> {
        self.book.save(path)?;
        Ok(())
    }
}

fn col(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

pub mod read;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use calamine::{Reader, Xlsx as Read, open_workbook};

    #[test]
    fn formulas_are_defused_and_fields_quoted() {
        let line = csv_line(&[
            Cell::text("=HYPERLINK(\"http://evil.example\",\"click\")"),
            Cell::text("Smith, Jo"),
            Cell::Pence(123_456),
            Cell::text("-1+2"),
            Cell::Empty,
        ]);
        assert_eq!(
            line,
            "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",\"Smith, Jo\",1234.56,'-1+2,\r\n"
        );
        assert_eq!(pounds(-5), "-0.05");
    }

    #[test]
    fn an_xlsx_reads_back_with_its_totals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.xlsx");
        let mut x = Xlsx::new("Tracker", &["Child", "Cost"]).unwrap();
        let mut total = 0;
        for i in 0..2_000i64 {
            let p = 1_000_001 + i * 37;
            total += p;
            x.push(&[Cell::text(format!("=cmd{i}")), Cell::Pence(p)])
                .unwrap();
        }
        x.save(&path).unwrap();
        let mut book: Read<_> = open_workbook(&path).unwrap();
        let sheet = book.worksheet_range("Tracker").unwrap();
        let rows: Vec<_> = sheet.rows().collect();
        assert_eq!(rows.len(), 2_001);
        assert_eq!(rows[1][0].to_string(), "'=cmd0");
        let read: i64 = rows[1..]
            .iter()
            .map(|r| (calamine::DataType::as_f64(&r[1]).unwrap() * 100.0).round() as i64)
            .sum();
        assert_eq!(read, total);
    }
}
