//! Joins documents page by page into one: each source's objects are renumbered
//! into the result, its pages keep the attributes they inherited, and one page
//! tree holds them all in order.

use crate::Error;
use lopdf::{Dictionary, Document, Object, ObjectId, dictionary};

/// Attributes a page may inherit from the page tree above it.
const INHERITED: [&[u8]; 4] = [b"Resources", b"MediaBox", b"CropBox", b"Rotate"];

pub struct Builder {
    doc: Document,
    pages: Vec<ObjectId>,
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            doc: Document::with_version("1.7"),
            pages: Vec::new(),
        }
    }

    /// Appends every page of `src`.
    pub fn append(&mut self, mut src: Document) -> Result<(), Error> {
        src.renumber_objects_with(self.doc.max_id + 1);
        let page_ids: Vec<ObjectId> = src.get_pages().into_values().collect();
        for id in &page_ids {
            let inherited = inherited_of(&src, *id);
            if let Ok(Object::Dictionary(page)) = src.get_object_mut(*id) {
                for (key, value) in inherited {
                    if !page.has(&key) {
                        page.set(key, value);
                    }
                }
            }
        }
        // The source's own catalogue and page tree are not carried over.
        let skip: Vec<ObjectId> = src
            .objects
            .iter()
            .filter(|(_, o)| {
                o.as_dict().is_ok_and(|d| {
                    d.get(b"Type")
                        .and_then(Object::as_name)
                        .is_ok_and(|t| t == b"Catalog" || t == b"Pages")
                })
            })
            .map(|(id, _)| *id)
            .collect();
        self.doc.max_id = self.doc.max_id.max(src.max_id);
        for (id, object) in src.objects {
            if !skip.contains(&id) {
                self.doc.objects.insert(id, object);
            }
        }
        self.pages.extend(page_ids);
        Ok(())
    }

    /// Writes the joined document; returns it with its page count.
    pub fn finish(mut self) -> Result<(Vec<u8>, usize), Error> {
        let root = self.doc.new_object_id();
        for id in &self.pages {
            if let Ok(Object::Dictionary(page)) = self.doc.get_object_mut(*id) {
                page.set("Parent", root);
            }
        }
        let kids: Vec<Object> = self.pages.iter().map(|id| Object::Reference(*id)).collect();
        let count = kids.len();
        self.doc.objects.insert(
            root,
            Object::Dictionary(dictionary! {
                "Type" => "Pages",
                "Kids" => kids,
                "Count" => i64::try_from(count).unwrap_or(i64::MAX),
            }),
        );
        let catalog = self
            .doc
            .add_object(dictionary! { "Type" => "Catalog", "Pages" => root });
        self.doc.trailer = Dictionary::new();
        self.doc.trailer.set("Root", catalog);
        self.doc.compress();
        let mut out = Vec::new();
        self.doc
            .save_to(&mut out)
            .map_err(|e| Error::Write(e.to_string()))?;
        Ok((out, count))
    }
}

/// The attributes `page` inherits from its ancestors (nearest first wins).
fn inherited_of(doc: &Document, page: ObjectId) -> Vec<(Vec<u8>, Object)> {
    let mut found: Vec<(Vec<u8>, Object)> = Vec::new();
    let mut parent = doc
        .get_dictionary(page)
        .ok()
        .and_then(|d| d.get(b"Parent").ok())
        .and_then(|p| p.as_reference().ok());
    let mut depth = 0;
    while let Some(pid) = parent {
        let Ok(node) = doc.get_dictionary(pid) else {
            break;
        };
        for key in INHERITED {
            if !found.iter().any(|(k, _)| k == key)
                && let Ok(v) = node.get(key)
            {
                found.push((key.to_vec(), v.clone()));
            }
        }
        parent = node.get(b"Parent").ok().and_then(|p| p.as_reference().ok());
        depth += 1;
        if depth > 64 {
            break; // a malformed tree that loops
        }
    }
    found
}
