//! Lays blocks of text out on A4 pages: words wrapped by Helvetica's widths,
//! a new page when one is full.

use crate::winansi;
use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, ObjectId, Stream, StringFormat, dictionary};

pub const A4: (f32, f32) = (595.28, 841.89);
const LEFT: f32 = 56.0;
const RIGHT: f32 = 56.0;
/// Room above and below for the stamp's header and footer.
const TOP: f32 = 70.0;
const BOTTOM: f32 = 64.0;

/// A block of a text document.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// The document's title (large, bold).
    Title(String),
    /// A section heading; starts a new page when little room is left.
    Heading(String),
    Subheading(String),
    /// A paragraph; line breaks in the text are kept.
    Para(String),
    /// A label and its value (the value wrapped under the label).
    Field(String, String),
    /// Smaller grey text (hints, notes).
    Note(String),
    PageBreak,
}

struct Style {
    size: f32,
    bold: bool,
    grey: bool,
    before: f32,
    after: f32,
}

impl Style {
    fn leading(&self) -> f32 {
        self.size * 1.35
    }
}

fn style(b: &Block) -> Style {
    let s = |size, bold, grey, before, after| Style {
        size,
        bold,
        grey,
        before,
        after,
    };
    match b {
        Block::Title(_) => s(20.0, true, false, 0.0, 10.0),
        Block::Heading(_) => s(15.0, true, false, 12.0, 6.0),
        Block::Subheading(_) => s(12.0, true, false, 8.0, 3.0),
        Block::Para(_) | Block::Field(..) => s(10.5, false, false, 0.0, 6.0),
        Block::Note(_) => s(9.0, false, true, 0.0, 6.0),
        Block::PageBreak => s(0.0, false, false, 0.0, 0.0),
    }
}

/// Breaks `text` into lines no wider than `max` points.
pub fn wrap(text: &str, size: f32, bold: bool, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if winansi::width(&candidate, size, bold) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // A word longer than the line is cut where it must be.
            let mut rest = word.to_owned();
            while winansi::width(&rest, size, bold) > max {
                let mut cut = rest.len();
                while cut > 1 && winansi::width(&rest[..cut], size, bold) > max {
                    cut = rest[..cut]
                        .char_indices()
                        .next_back()
                        .map_or(1, |(i, _)| i.max(1));
                }
                lines.push(rest[..cut].to_owned());
                rest = rest[cut..].to_owned();
            }
            line = rest;
        }
        lines.push(line);
    }
    lines
}

struct Page {
    ops: Vec<Operation>,
    y: f32,
}

impl Page {
    fn new() -> Page {
        Page {
            ops: Vec::new(),
            y: A4.1 - TOP,
        }
    }
    fn text(&mut self, x: f32, line: &str, st: &Style) {
        let font = if st.bold { "F2" } else { "F1" };
        let grey = if st.grey { 0.3 } else { 0.0 };
        self.ops.extend([
            Operation::new("BT", vec![]),
            Operation::new("g", vec![grey.into()]),
            Operation::new("Tf", vec![font.into(), st.size.into()]),
            Operation::new("Td", vec![x.into(), self.y.into()]),
            Operation::new(
                "Tj",
                vec![Object::String(winansi::encode(line), StringFormat::Literal)],
            ),
            Operation::new("ET", vec![]),
        ]);
    }
}

struct Pages {
    done: Vec<Page>,
    current: Page,
}

impl Pages {
    fn room(&self) -> f32 {
        self.current.y - BOTTOM
    }
    fn new_page(&mut self) {
        let full = std::mem::replace(&mut self.current, Page::new());
        self.done.push(full);
    }
    /// Writes lines, moving to a new page as each one fills.
    fn lines(&mut self, x: f32, lines: &[String], st: &Style) {
        for l in lines {
            if self.room() < st.leading() {
                self.new_page();
            }
            self.current.y -= st.leading();
            self.current.text(x, l, st);
        }
    }
}

/// Lays the blocks out on as many A4 pages as they need.
pub fn typeset(blocks: &[Block]) -> Document {
    let width = A4.0 - LEFT - RIGHT;
    let mut p = Pages {
        done: Vec::new(),
        current: Page::new(),
    };
    for b in blocks {
        let st = style(b);
        if !p.current.ops.is_empty() {
            p.current.y -= st.before;
        }
        match b {
            Block::PageBreak => {
                if !p.current.ops.is_empty() {
                    p.new_page();
                }
            }
            Block::Title(t) | Block::Heading(t) | Block::Subheading(t) => {
                // Keep a heading with at least three lines of what follows.
                if p.room() < st.leading() * 4.0 && !p.current.ops.is_empty() {
                    p.new_page();
                }
                p.lines(LEFT, &wrap(t, st.size, true, width), &st);
            }
            Block::Para(t) | Block::Note(t) => {
                p.lines(LEFT, &wrap(t, st.size, st.bold, width), &st);
            }
            Block::Field(label, value) => {
                let bold = Style {
                    bold: true,
                    ..style(b)
                };
                if p.room() < st.leading() * 2.0 {
                    p.new_page();
                }
                p.lines(LEFT, &wrap(label, st.size, true, width), &bold);
                let value = if value.trim().is_empty() {
                    "Not given"
                } else {
                    value
                };
                p.lines(LEFT + 12.0, &wrap(value, st.size, false, width - 12.0), &st);
            }
        }
        p.current.y -= st.after;
    }
    if !p.current.ops.is_empty() || p.done.is_empty() {
        p.done.push(p.current);
    }
    build(p.done)
}

fn build(pages: Vec<Page>) -> Document {
    let mut doc = Document::with_version("1.7");
    let pages_id: ObjectId = doc.new_object_id();
    let font = |doc: &mut Document, base: &str| {
        doc.add_object(dictionary! {
            "Type" => "Font",
            "Subtype" => "Type1",
            "BaseFont" => base,
            "Encoding" => "WinAnsiEncoding",
        })
    };
    let regular = font(&mut doc, "Helvetica");
    let bold = font(&mut doc, "Helvetica-Bold");
    let resources = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => regular, "F2" => bold },
    });
    let mut kids = Vec::with_capacity(pages.len());
    for page in pages {
        let content = Content {
            operations: page.ops,
        };
        let bytes = content.encode().unwrap_or_default();
        let stream = doc.add_object(Stream::new(dictionary! {}, bytes));
        let id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => stream,
            "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), A4.0.into(), A4.1.into()],
        });
        kids.push(Object::Reference(id));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fit_the_width_and_keep_every_word() {
        let text = "The family needs a short-break placement two weekends a month and therapeutic support at school. ".repeat(6);
        let lines = wrap(&text, 10.5, false, 200.0);
        assert!(lines.len() > 5);
        assert!(
            lines
                .iter()
                .all(|l| winansi::width(l, 10.5, false) <= 200.0)
        );
        assert_eq!(
            lines.join(" ").split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_long_word_is_cut_not_lost() {
        let word = "x".repeat(200);
        let lines = wrap(&word, 10.0, false, 100.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), word);
    }

    #[test]
    fn long_text_runs_onto_more_pages() {
        let blocks: Vec<Block> = (0..200)
            .map(|n| Block::Para(format!("Paragraph {n} of the assessment.")))
            .collect();
        let doc = typeset(&blocks);
        assert!(doc.get_pages().len() >= 3);
    }
}
