//! Stamps every page: a pale diagonal marking under the page's own content,
//! and over it a header with the marking and a footer naming the recipient,
//! the date and the page number. The page's own content is wrapped in q/Q so
//! whatever state it leaves cannot move the stamp.

use crate::winansi;
use crate::{Error, MARKING};
use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat, dictionary};

/// What is written on each page.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// The person the copy is for.
    pub recipient: String,
    /// When it was circulated, as people read dates ("9 May 2023").
    pub date: String,
}

fn text(ops: &mut Vec<Operation>, font: &str, size: f32, x: f32, y: f32, s: &str) {
    ops.extend([
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec![font.into(), size.into()]),
        Operation::new("Td", vec![x.into(), y.into()]),
        Operation::new(
            "Tj",
            vec![Object::String(winansi::encode(s), StringFormat::Literal)],
        ),
        Operation::new("ET", vec![]),
    ]);
}

fn stream(doc: &mut Document, ops: Vec<Operation>) -> ObjectId {
    let bytes = Content { operations: ops }.encode().unwrap_or_default();
    doc.add_object(Stream::new(dictionary! {}, bytes))
}

fn number(o: &Object) -> f32 {
    match o {
        Object::Integer(i) => *i as f32,
        Object::Real(r) => *r,
        _ => 0.0,
    }
}

/// The page's visible box: its CropBox, else its MediaBox, else A4.
fn page_box(doc: &Document, page: &Dictionary) -> (f32, f32, f32, f32) {
    let pick = |key: &[u8]| -> Option<(f32, f32, f32, f32)> {
        let o = page.get(key).ok()?;
        let o = match o {
            Object::Reference(id) => doc.get_object(*id).ok()?,
            other => other,
        };
        let a = o.as_array().ok()?;
        (a.len() == 4).then(|| (number(&a[0]), number(&a[1]), number(&a[2]), number(&a[3])))
    };
    pick(b"CropBox").or_else(|| pick(b"MediaBox")).unwrap_or((
        0.0,
        0.0,
        crate::layout::A4.0,
        crate::layout::A4.1,
    ))
}

/// The page's resources as a dictionary of its own, with the stamp's font added.
fn resources_with_font(doc: &Document, page: &Dictionary, font: ObjectId) -> Dictionary {
    let mut res = match page.get(b"Resources") {
        Ok(Object::Reference(id)) => doc.get_dictionary(*id).cloned().unwrap_or_default(),
        Ok(Object::Dictionary(d)) => d.clone(),
        _ => Dictionary::new(),
    };
    let mut fonts = match res.get(b"Font") {
        Ok(Object::Reference(id)) => doc.get_dictionary(*id).cloned().unwrap_or_default(),
        Ok(Object::Dictionary(d)) => d.clone(),
        _ => Dictionary::new(),
    };
    fonts.set("JPStamp", font);
    res.set("Font", fonts);
    res
}

pub fn apply(pdf: &[u8], s: &Stamp) -> Result<Vec<u8>, Error> {
    let mut doc = Document::load_mem(pdf).map_err(|e| Error::Read(e.to_string()))?;
    let font = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica-Bold",
        "Encoding" => "WinAnsiEncoding",
    });
    let pages: Vec<ObjectId> = doc.get_pages().into_values().collect();
    let total = pages.len();
    let open = stream(&mut doc, vec![Operation::new("q", vec![])]);
    for (n, id) in pages.iter().enumerate() {
        let page = doc
            .get_dictionary(*id)
            .map_err(|e| Error::Read(e.to_string()))?
            .clone();
        let (x0, y0, x1, y1) = page_box(&doc, &page);
        let (w, h) = (x1 - x0, y1 - y0);
        // Under the content: the marking across the page, pale.
        let mut under = vec![
            Operation::new("q", vec![]),
            Operation::new("g", vec![0.88.into()]),
            Operation::new(
                "cm",
                vec![
                    std::f32::consts::FRAC_1_SQRT_2.into(),
                    std::f32::consts::FRAC_1_SQRT_2.into(),
                    (-std::f32::consts::FRAC_1_SQRT_2).into(),
                    std::f32::consts::FRAC_1_SQRT_2.into(),
                    (x0 + w / 2.0).into(),
                    (y0 + h / 2.0).into(),
                ],
            ),
        ];
        let big = (w.min(h) / 9.0).clamp(18.0, 60.0);
        let mark_w = winansi::width(MARKING, big, true);
        text(&mut under, "JPStamp", big, -mark_w / 2.0, 0.0, MARKING);
        let name_w = winansi::width(&s.recipient, big / 2.5, true);
        text(
            &mut under,
            "JPStamp",
            big / 2.5,
            -name_w / 2.0,
            -big * 0.8,
            &s.recipient,
        );
        under.push(Operation::new("Q", vec![]));
        // Over the content: header and footer in the margins.
        let mut over = vec![
            Operation::new("Q", vec![]),
            Operation::new("q", vec![]),
            Operation::new("g", vec![0.0.into()]),
        ];
        let head_w = winansi::width(MARKING, 10.0, true);
        text(
            &mut over,
            "JPStamp",
            10.0,
            x0 + (w - head_w) / 2.0,
            y1 - 28.0,
            MARKING,
        );
        let left = format!("Copy for {} · circulated {}", s.recipient, s.date);
        text(&mut over, "JPStamp", 7.5, x0 + 28.0, y0 + 20.0, &left);
        let right = format!("{MARKING} · page {} of {total}", n + 1);
        let right_w = winansi::width(&right, 7.5, true);
        text(
            &mut over,
            "JPStamp",
            7.5,
            x1 - 28.0 - right_w,
            y0 + 20.0,
            &right,
        );
        over.push(Operation::new("Q", vec![]));
        let under = stream(&mut doc, under);
        let over = stream(&mut doc, over);
        let mut contents = vec![Object::Reference(under), Object::Reference(open)];
        match page.get(b"Contents") {
            Ok(Object::Array(a)) => contents.extend(a.iter().cloned()),
            Ok(Object::Reference(r)) => match doc.get_object(*r) {
                Ok(Object::Array(a)) => contents.extend(a.iter().cloned()),
                _ => contents.push(Object::Reference(*r)),
            },
            Ok(other) => contents.push(other.clone()),
            Err(_) => {}
        }
        contents.push(Object::Reference(over));
        let resources = resources_with_font(&doc, &page, font);
        if let Ok(Object::Dictionary(p)) = doc.get_object_mut(*id) {
            p.set("Contents", contents);
            p.set("Resources", resources);
        }
    }
    let mut out = Vec::new();
    doc.save_to(&mut out)
        .map_err(|e| Error::Write(e.to_string()))?;
    Ok(out)
}
