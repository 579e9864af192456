//! Evidence files attached to a referral (SPEC §3): PDF, DOCX, XLSX, PNG and
//! JPEG only, recognised by their content; the size limit enforced while the
//! upload streams in; office files checked for zip bombs; stored once per
//! content hash under the data directory; every download audited.

use crate::db::{self, Conn, DbResult, Row, Tx};
use crate::{Actor, ChangeError, audit, params};
use chrono::NaiveDateTime;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file accepted, in bytes (default 20 MiB).
    pub max_bytes: u64,
    /// Largest total uncompressed size of a DOCX or XLSX (default 200 MiB).
    pub max_unzipped_bytes: u64,
    /// Most entries a DOCX or XLSX may hold (default 5,000).
    pub max_zip_entries: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: 20 * 1024 * 1024,
            max_unzipped_bytes: 200 * 1024 * 1024,
            max_zip_entries: 5_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FileKind {
    Pdf,
    Docx,
    Xlsx,
    Png,
    Jpeg,
}

impl FileKind {
    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            FileKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileKind::Png => "image/png",
            FileKind::Jpeg => "image/jpeg",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Pdf => "pdf",
            FileKind::Docx => "docx",
            FileKind::Xlsx => "xlsx",
            FileKind::Png => "png",
            FileKind::Jpeg => "jpg",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            FileKind::Pdf => "PDF",
            FileKind::Docx => "Word document",
            FileKind::Xlsx => "Excel spreadsheet",
            FileKind::Png => "PNG image",
            FileKind::Jpeg => "JPEG image",
        }
    }
    pub fn from_content_type(ct: &str) -> Option<FileKind> {
        [
            FileKind::Pdf,
            FileKind::Docx,
            FileKind::Xlsx,
            FileKind::Png,
            FileKind::Jpeg,
        ]
        .into_iter()
        .find(|k| k.content_type() == ct)
    }
}

/// Why a file was refused, worded for the person uploading it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("The file must be smaller than {0}")]
    TooLarge(String),
    #[error("The selected file is empty")]
    Empty,
    #[error(
        "The file must be a PDF, Word document (DOCX), Excel spreadsheet (XLSX), PNG or JPEG; this file's content is not one of them, whatever its name says"
    )]
    NotAllowed,
    #[error(
        "The file looks like a Word or Excel document but could not be read: it may be damaged or password-protected"
    )]
    BadOffice,
    #[error(
        "The document expands to more than {0} when opened, which is not safe to accept; save it again or split it"
    )]
    ZipBomb(String),
    #[error("Uploading the file failed; try again")]
    Io,
}

pub fn human_size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MB", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1} MB", bytes as f64 / MIB as f64)
    } else if bytes >= 1024 {
        format!("{} KB", bytes.div_ceil(1024))
    } else {
        format!("{bytes} bytes")
    }
}

/// Where attachments live: `DIR/ab/abcdef…` by SHA-256 of the content.
#[derive(Debug, Clone)]
pub struct Blobs {
    dir: PathBuf,
}

impl Blobs {
    pub fn new(dir: impl Into<PathBuf>) -> Blobs {
        Blobs { dir: dir.into() }
    }

    fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(self.dir.join(&sha256[..2]).join(sha256))
    }

    /// Starts receiving a file; feed it with [`Upload::write`].
    pub fn upload(&self, limits: Limits) -> Result<Upload, Refusal> {
        let tmp = self.dir.join("incoming");
        std::fs::create_dir_all(&tmp).map_err(|_| Refusal::Io)?;
        let file = tempfile::NamedTempFile::new_in(&tmp).map_err(|_| Refusal::Io)?;
        Ok(Upload {
            file,
            hasher: Sha256::new(),
            size: 0,
            limits,
            head: Vec::with_capacity(16),
        })
    }

    /// Moves a checked upload into place (a no-op when the content is already stored).
    pub fn keep(&self, checked: Checked) -> Result<Stored, Refusal> {
        let path = self.path_of(&checked.sha256).ok_or(Refusal::Io)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|_| Refusal::Io)?;
        }
        if !path.exists() {
            checked.file.persist(&path).map_err(|_| Refusal::Io)?;
        }
        Ok(Stored {
            sha256: checked.sha256,
            size: checked.size,
            kind: checked.kind,
        })
    }

    /// Where a stored file lives (None for something that is not a SHA-256).
    pub fn path(&self, sha256: &str) -> Option<PathBuf> {
        self.path_of(sha256)
    }

    pub fn open(&self, sha256: &str) -> io::Result<std::fs::File> {
        let path = self
            .path_of(sha256)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "bad hash"))?;
        std::fs::File::open(path)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// A file being received: hashed and counted as it arrives.
pub struct Upload {
    file: tempfile::NamedTempFile,
    hasher: Sha256,
    size: u64,
    limits: Limits,
    head: Vec<u8>,
}

impl Upload {
    /// Appends a chunk; refuses as soon as the limit is passed.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), Refusal> {
        self.size += chunk.len() as u64;
        if self.size > self.limits.max_bytes {
            return Err(Refusal::TooLarge(human_size(self.limits.max_bytes)));
        }
        if self.head.len() < 16 {
            let take = (16 - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).map_err(|_| Refusal::Io)
    }

    /// Checks the content once everything has arrived.
    pub fn finish(mut self) -> Result<Checked, Refusal> {
        if self.size == 0 {
            return Err(Refusal::Empty);
        }
        self.file.flush().map_err(|_| Refusal::Io)?;
        let kind = match sniff(&self.head) {
            Some(Sniffed::Zip) => office_kind(self.file.as_file_mut(), &self.limits)?,
            Some(Sniffed::Plain(k)) => k,
            None => return Err(Refusal::NotAllowed),
        };
        Ok(Checked {
            file: self.file,
            sha256: hex::encode(self.hasher.finalize()),
            size: self.size,
            kind,
        })
    }
}

/// An upload whose content passed the checks, not yet kept.
pub struct Checked {
    file: tempfile::NamedTempFile,
    pub sha256: String,
    pub size: u64,
    pub kind: FileKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub sha256: String,
    pub size: u64,
    pub kind: FileKind,
}

enum Sniffed {
    Plain(FileKind),
    Zip,
}

fn sniff(head: &[u8]) -> Option<Sniffed> {
    if head.starts_with(b"%PDF-") {
        Some(Sniffed::Plain(FileKind::Pdf))
    } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]) {
        Some(Sniffed::Plain(FileKind::Png))
    } else if head.starts_with(&[0xff, 0xd8, 0xff]) {
        Some(Sniffed::Plain(FileKind::Jpeg))
    } else if head.starts_with(b"PK\x03\x04") {
        Some(Sniffed::Zip)
    } else {
        None
    }
}

/// Opens a zip and decides DOCX or XLSX, decompressing every entry under the
/// limits (the sizes a zip declares can lie, so they are counted, not trusted).
fn office_kind<F: Read + Seek>(file: &mut F, limits: &Limits) -> Result<FileKind, Refusal> {
    file.seek(io::SeekFrom::Start(0)).map_err(|_| Refusal::Io)?;
    let mut zip = zip::ZipArchive::new(file).map_err(|_| Refusal::BadOffice)?;
    if zip.len() > limits.max_zip_entries {
        return Err(Refusal::ZipBomb(format!(
            "{} parts",
            limits.max_zip_entries
        )));
    }
    let names: Vec<String> = zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|_| Refusal::BadOffice)?;
    let kind = if names.iter().any(|n| n == "word/document.xml") {
        FileKind::Docx
    } else if names.iter().any(|n| n == "xl/workbook.xml") {
        FileKind::Xlsx
    } else {
        return Err(Refusal::NotAllowed);
    };
    if !names.iter().any(|n| n == "[Content_Types].xml") {
        return Err(Refusal::BadOffice);
    }
    let limit = human_size(limits.max_unzipped_bytes);
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip.by_index(i).map_err(|_| Refusal::BadOffice)?;
        if entry.encrypted() {
            return Err(Refusal::BadOffice);
        }
        if total.saturating_add(entry.size()) > limits.max_unzipped_bytes {
            return Err(Refusal::ZipBomb(limit));
        }
        let allowance = limits.max_unzipped_bytes - total;
        let n = io::copy(&mut entry.take(allowance + 1), &mut io::sink())
            .map_err(|_| Refusal::BadOffice)?;
        total += n;
        if total > limits.max_unzipped_bytes {
            return Err(Refusal::ZipBomb(limit));
        }
    }
    Ok(kind)
}

/// A file name safe to show and to offer for download: no folders, no
/// control or reserved characters, at most 120 characters, and the extension
/// of what the content is.
pub fn sanitise_name(raw: &str, kind: FileKind) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let stem = match base.rsplit_once('.') {
        Some((s, _)) if !s.is_empty() => s,
        _ => base,
    };
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_control() || "<>:\"|?*;\\/%".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    let clean = clean.trim().trim_start_matches('.').trim();
    let clean: String = clean.chars().take(120).collect();
    let clean = if clean.is_empty() {
        "evidence".to_owned()
    } else {
        clean
    };
    format!("{clean}.{}", kind.extension())
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Attachment {
    pub id: i64,
    pub referral_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: i64,
    pub uploaded_by_name: String,
    pub uploaded_at: NaiveDateTime,
}

const SELECT: &str = "SELECT a.id, a.referral_id, a.file_name, a.content_type, a.size_bytes, a.sha256, a.uploaded_by, u.name, a.uploaded_at
    FROM attachments a JOIN users u ON u.id = a.uploaded_by";

fn from_row(r: &Row) -> DbResult<Attachment> {
    Ok(Attachment {
        id: r.get(0)?,
        referral_id: r.get(1)?,
        file_name: r.get(2)?,
        content_type: r.get(3)?,
        size_bytes: r.get(4)?,
        sha256: r.get(5)?,
        uploaded_by: r.get(6)?,
        uploaded_by_name: r.get(7)?,
        uploaded_at: r.get(8)?,
    })
}

pub fn of_referral(conn: &mut Conn, referral_id: i64) -> DbResult<Vec<Attachment>> {
    conn.query(
        &format!("{SELECT} WHERE a.referral_id = $1 AND a.removed_at IS NULL ORDER BY a.id"),
        &params![referral_id],
    )?
    .iter()
    .map(from_row)
    .collect()
}

pub fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Attachment>> {
    conn.query_opt(
        &format!("{SELECT} WHERE a.id = $1 AND a.removed_at IS NULL"),
        &params![id],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Records a kept file against the referral (which must be editable).
pub fn add(
    tx: &mut Tx<'_>,
    actor: &Actor,
    referral_id: i64,
    uploader: i64,
    name: &str,
    stored: &Stored,
) -> Result<i64, ChangeError> {
    let r = crate::referrals::get(tx, referral_id)?.ok_or(ChangeError::NotFound)?;
    if !r.status.editable() {
        return Err(ChangeError::Invalid(
            "Files can only be added while the referral is a draft or returned for changes".into(),
        ));
    }
    let count: i64 = tx
        .query_one(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM attachments WHERE referral_id = $1 AND removed_at IS NULL",
            &params![referral_id],
        )?
        .get(0)?;
    if count >= 30 {
        return Err(ChangeError::Invalid(
            "A referral can have at most 30 files; remove one first".into(),
        ));
    }
    let id: i64 = tx
        .query_one(
            "INSERT INTO attachments (referral_id, file_name, content_type, size_bytes, sha256, uploaded_by, uploaded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &params![
                referral_id,
                name,
                stored.kind.content_type(),
                i64::try_from(stored.size).unwrap_or(i64::MAX),
                &stored.sha256,
                uploader,
                db::now()
            ],
        )?
        .get(0)?;
    tx.execute(
        "UPDATE referrals SET updated_at = $1 WHERE id = $2",
        &params![db::now(), referral_id],
    )?;
    audit::record(
        tx,
        actor,
        "attachment.added",
        "referral",
        Some(referral_id.to_string()),
        serde_json::json!({"attachment_id": id, "sha256": stored.sha256, "size": stored.size, "type": stored.kind.content_type()}),
    )?;
    Ok(id)
}

/// Takes a file off the referral (the stored content stays for the record).
pub fn remove(
    tx: &mut Tx<'_>,
    actor: &Actor,
    referral_id: i64,
    id: i64,
) -> Result<(), ChangeError> {
    let r = crate::referrals::get(tx, referral_id)?.ok_or(ChangeError::NotFound)?;
    if !r.status.editable() {
        return Err(ChangeError::Invalid(
            "Files can only be removed while the referral is a draft or returned for changes"
                .into(),
        ));
    }
    let n = tx.execute(
        "UPDATE attachments SET removed_at = $1, removed_by = $2 WHERE id = $3 AND referral_id = $4 AND removed_at IS NULL",
        &params![db::now(), actor.user_id, id, referral_id],
    )?;
    if n == 0 {
        return Err(ChangeError::NotFound);
    }
    audit::record(
        tx,
        actor,
        "attachment.removed",
        "referral",
        Some(referral_id.to_string()),
        serde_json::json!({"attachment_id": id}),
    )?;
    Ok(())
}

/// Records a download, in its own transaction, before the file is sent.
pub fn record_download(conn: &mut Conn, actor: &Actor, a: &Attachment) -> DbResult<()> {
    let mut tx = conn.begin()?;
    audit::record(
        &mut tx,
        actor,
        "attachment.downloaded",
        "referral",
        Some(a.referral_id.to_string()),
        serde_json::json!({"attachment_id": a.id}),
    )?;
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_with(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut buf = io::Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            for (name, data) in entries {
                w.start_file(*name, opts).unwrap();
                w.write_all(data).unwrap();
            }
            w.finish().unwrap();
        }
        buf.into_inner()
    }

    fn check(bytes: &[u8], limits: Limits) -> Result<FileKind, Refusal> {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::new(dir.path());
        let mut up = blobs.upload(limits)?;
        for chunk in bytes.chunks(7_000) {
            up.write(chunk)?;
        }
        up.finish().map(|c| c.kind)
    }

    #[test]
    fn content_decides_not_the_name() {
        let l = Limits::default();
        assert_eq!(check(b"%PDF-1.7\n...", l), Ok(FileKind::Pdf));
        assert_eq!(
            check(b"MZ\x90\x00 this is an exe", l),
            Err(Refusal::NotAllowed)
        );
        assert_eq!(check(b"", l), Err(Refusal::Empty));
        let docx = zip_with(&[
            ("[Content_Types].xml", b"<Types/>".to_vec()),
            ("word/document.xml", b"<w:document/>".to_vec()),
        ]);
        assert_eq!(check(&docx, l), Ok(FileKind::Docx));
        let other_zip = zip_with(&[("readme.txt", b"hello".to_vec())]);
        assert_eq!(check(&other_zip, l), Err(Refusal::NotAllowed));
    }

    #[test]
    fn size_and_zip_bombs_are_refused() {
        let small = Limits {
            max_bytes: 10_000,
            ..Limits::default()
        };
        assert!(matches!(
            check(&vec![b'%'; 20_000], small),
            Err(Refusal::TooLarge(_))
        ));
        // 50 MB of zeros compresses to about 50 KB.
        let bomb = zip_with(&[
            ("[Content_Types].xml", b"<Types/>".to_vec()),
            ("word/document.xml", vec![0u8; 50 * 1024 * 1024]),
        ]);
        assert!(bomb.len() < 200_000);
        let tight = Limits {
            max_unzipped_bytes: 10 * 1024 * 1024,
            ..Limits::default()
        };
        assert!(matches!(check(&bomb, tight), Err(Refusal::ZipBomb(_))));
        let many: Vec<(String, Vec<u8>)> = (0..30).map(|i| (format!("f{i}"), vec![1])).collect();
        let refs: Vec<(&str, Vec<u8>)> =
            many.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
        let few = Limits {
            max_zip_entries: 10,
            ..Limits::default()
        };
        assert!(matches!(
            check(&zip_with(&refs), few),
            Err(Refusal::ZipBomb(_))
        ));
    }

    #[test]
    fn names_are_sanitised() {
        assert_eq!(
            sanitise_name("../../etc/passwd", FileKind::Pdf),
            "passwd.pdf"
        );
        assert_eq!(
            sanitise_name("C:\\Users\\x\\EHCP plan.docx", FileKind::Docx),
            "EHCP plan.docx"
        );
        assert_eq!(sanitise_name("report.exe", FileKind::Pdf), "report.pdf");
        assert_eq!(sanitise_name("", FileKind::Png), "evidence.png");
        assert_eq!(sanitise_name("a\u{0}b<c>.pdf", FileKind::Pdf), "a_b_c_.pdf");
        assert_eq!(human_size(20 * 1024 * 1024), "20 MB");
    }
}
