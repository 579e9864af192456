#![forbid(unsafe_code)]
//! Joint Panel's documents as PDF (SPEC §4): text laid out on A4 pages in the
//! standard Helvetica faces (nothing to embed, so generation takes
//! milliseconds), PDF attachments merged in page by page, and every page of
//! the result stamped with its recipient, the date and the protective marking.
//!
//! Its own workspace member so the PDF library compiles once, not with every
//! change to the web layer.

mod layout;
mod merge;
mod stamp;
mod winansi;

pub use layout::Block;
pub use stamp::Stamp;

use lopdf::Document;

/// The marking every page of a paper pack carries.
pub const MARKING: &str = "OFFICIAL-SENSITIVE";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the PDF could not be read: {0}")]
    Read(String),
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

/// One part of a composed document.
pub enum Part<'a> {
    /// Pages laid out from blocks of text (the agenda, a referral).
    Text(Vec<Block>),
    /// The pages of a PDF file, as they are (an attachment). A file that
    /// cannot be read is replaced by a page saying so.
    Pdf { title: &'a str, bytes: &'a [u8] },
}

/// A composed document and what went into it.
pub struct Composed {
    pub pdf: Vec<u8>,
    pub pages: usize,
    /// Titles of PDF parts that could not be read (listed on a page instead).
    pub unreadable: Vec<String>,
}

/// Composes the parts in order into one PDF. `progress(done, total)` is called
/// after each part.
pub fn compose(
    parts: &[Part<'_>],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Composed, Error> {
    let mut out = merge::Builder::new();
    let mut unreadable = Vec::new();
    for (n, part) in parts.iter().enumerate() {
        match part {
            Part::Text(blocks) => out.append(layout::typeset(blocks))?,
            Part::Pdf { title, bytes } => match Document::load_mem(bytes) {
                Ok(doc) if !doc.is_encrypted() && !doc.get_pages().is_empty() => out.append(doc)?,
                _ => {
                    unreadable.push((*title).to_owned());
                    out.append(layout::typeset(&[
                        Block::Heading(format!("{title} could not be included")),
                        Block::Para(
                            "This PDF is protected or damaged, so its pages cannot be placed in the pack. Open it from the meeting's papers page instead."
                                .to_owned(),
                        ),
                    ]))?;
                }
            },
        }
        progress(n + 1, parts.len());
    }
    let (pdf, pages) = out.finish()?;
    Ok(Composed {
        pdf,
        pages,
        unreadable,
    })
}

/// Stamps every page of `pdf` with the recipient, the date and the marking.
pub fn stamp(pdf: &[u8], s: &Stamp) -> Result<Vec<u8>, Error> {
    stamp::apply(pdf, s)
}

/// The text of each page (for checks and tests), in page order.
pub fn page_texts(pdf: &[u8]) -> Result<Vec<String>, Error> {
    let doc = Document::load_mem(pdf).map_err(|e| Error::Read(e.to_string()))?;
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    pages
        .iter()
        .map(|n| {
            doc.extract_text(&[*n])
                .map_err(|e| Error::Read(e.to_string()))
        })
        .collect()
}
