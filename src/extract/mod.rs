//! Attachment content → facts: sniffed type, hashes, pages, image size, forms, text.
//!
//! One file per format (`docx`, `doc`, `sheet`, `pdf`), one for the forms that live in any of
//! them (`form`), and the value normalisers (`birth`). Extraction never panics outward: a
//! failure of any reader is caught and becomes [`Content::Unreadable`] with a reason.

pub mod birth;
pub mod doc;
pub mod docx;
pub mod form;
#[cfg(feature = "ocr")]
pub mod ocr;
pub mod pdf;
pub mod pdf_seal;
pub mod raster;
pub mod seal;
pub mod seal_cache;
pub mod sheet;
pub mod sniff;

use std::panic::{AssertUnwindSafe, catch_unwind};

use sha2::{Digest, Sha256};

use crate::limits::Limits;
use crate::parse::{ArchiveState, Attachment};
use crate::rules::Rules;
use form::{Finding, FormValues};
use sniff::FileType;

/// A text document reduced to what the judge needs: tables as grids, paragraphs as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub tables: Vec<Vec<Vec<String>>>,
    pub paragraphs: Vec<String>,
}

impl Document {
    /// Characters of text, without whitespace.
    pub fn text_chars(&self) -> usize {
        self.paragraphs.iter().map(|p| p.chars().filter(|c| !c.is_whitespace()).count()).sum()
    }
}

/// What an attachment turned out to hold.
#[derive(Debug, Clone)]
pub enum Content {
    /// Filled-in forms of the rules (附件1/附件2).
    Forms(Vec<FormValues>),
    /// A summary table (附件3).
    Summary(Vec<FormValues>),
    /// A text document without a form; `chars` of text.
    Text {
        chars: usize,
        title: String,
    },
    Pdf(pdf::PdfFacts),
    Image {
        width: u32,
        height: u32,
    },
    /// An archive: opened (members follow it) or not.
    Archive(ArchiveState),
    /// A file of a readable type whose content is damaged, encrypted or over a limit.
    Unreadable(String),
    /// Anything else (HTML, text, presentations, unknown bytes).
    Other,
}

/// One attachment after extraction.
#[derive(Debug, Clone)]
pub struct Extracted {
    pub filename: String,
    pub file_type: String,
    /// The type the content was sniffed as, or claimed by the name when unreadable.
    pub sniffed: FileType,
    pub size: u64,
    pub sha256: String,
    pub content: Content,
    pub inline: bool,
    pub has_content_id: bool,
    pub archive: Option<String>,
    /// What the seal detector says (PDFs and pictures; `None` for anything else).
    pub seal: Option<pdf_seal::SealFacts>,
}

/// Reads one attachment.
pub fn extract(att: &Attachment, rules: &Rules, limits: &Limits) -> Extracted {
    let sha256 = hex(&Sha256::digest(&att.bytes));
    let sniffed = sniff::sniff(&att.bytes);
    let claimed = sniff::claimed(&att.filename, &att.declared_type);
    // A file the detector has seen (same bytes, same caps, same detector) is not looked at again.
    let cache_key = seal_cache::Key::new(&sha256, limits);
    let known = seal_cache::get(&cache_key);
    let seen = known.is_some();
    let result = catch_unwind(AssertUnwindSafe(|| content(att, sniffed, claimed, rules, limits, known.is_none())));
    let (file_type, mut content) = match result {
        Ok(pair) => pair,
        Err(_) => (claimed.unwrap_or(sniffed), Content::Unreadable("文件内容异常，读取时出错".into())),
    };
    let seal = match (&mut content, known) {
        (Content::Pdf(pdf), Some(facts)) => {
            pdf.seal = facts.clone();
            Some(facts)
        }
        (Content::Image { .. }, Some(facts)) => Some(facts),
        (Content::Pdf(facts), None) => Some(facts.seal.clone()),
        (Content::Image { .. }, None) => picture_seal(att, file_type, &mut content),
        _ => None,
    };
    if let (false, Some(facts), Content::Pdf(_) | Content::Image { .. }) = (seen, &seal, &content) {
        seal_cache::put(cache_key, facts);
    }
    Extracted {
        filename: att.filename.clone(),
        file_type: file_type.as_str().to_string(),
        sniffed: file_type,
        size: att.bytes.len() as u64,
        sha256,
        content,
        inline: att.inline,
        has_content_id: att.has_content_id,
        archive: att.archive.clone(),
        seal,
    }
}

/// The seal detector on a picture file; a picture refused at a cap makes `content` unreadable.
fn picture_seal(att: &Attachment, file_type: FileType, content: &mut Content) -> Option<pdf_seal::SealFacts> {
    let kind = file_type.as_str();
    let picture = catch_unwind(AssertUnwindSafe(|| match kind {
        "jpeg" | "png" => pdf_seal::picture_file(&att.bytes, kind == "jpeg"),
        // Other picture formats are not decoded: red cannot be told.
        _ => Ok(pdf_seal::SealFacts { seal: Some(crate::verdict::Seal::Unverifiable), ..Default::default() }),
    }));
    match picture {
        Ok(Ok(facts)) => Some(facts),
        Ok(Err(reason)) => {
            *content = Content::Unreadable(reason);
            None
        }
        Err(_) => Some(pdf_seal::SealFacts { seal: Some(crate::verdict::Seal::Unverifiable), ..Default::default() }),
    }
}

/// An attachment that was not read (the message's time budget ran out): its size and hash,
/// the type its content or name claims, and `reason` as its problem.
pub fn unread(att: &Attachment, reason: String) -> Extracted {
    let sniffed = sniff::sniff(&att.bytes);
    let file_type = sniff::claimed(&att.filename, &att.declared_type).unwrap_or(sniffed);
    Extracted {
        filename: att.filename.clone(),
        file_type: file_type.as_str().to_string(),
        sniffed: file_type,
        size: att.bytes.len() as u64,
        sha256: hex(&Sha256::digest(&att.bytes)),
        content: Content::Unreadable(reason),
        inline: att.inline,
        has_content_id: att.has_content_id,
        archive: att.archive.clone(),
        seal: None,
    }
}

fn content(
    att: &Attachment,
    sniffed: FileType,
    claimed: Option<FileType>,
    rules: &Rules,
    limits: &Limits,
    seals: bool,
) -> (FileType, Content) {
    if att.archive_state != ArchiveState::NotArchive {
        let t = match sniffed {
            FileType::Rar | FileType::SevenZ | FileType::Zip => sniffed,
            _ => claimed.unwrap_or(FileType::Zip),
        };
        return (t, Content::Archive(att.archive_state.clone()));
    }
    let bytes = &att.bytes[..];
    match sniffed {
        FileType::Docx => (sniffed, document(docx::read(bytes, limits), rules)),
        FileType::Doc => {
            let labels = form::all_labels(rules);
            let is_label = |s: &str| labels.contains(&crate::text::key(s));
            (sniffed, document(doc::read(bytes, limits, &is_label), rules))
        }
        FileType::Xlsx | FileType::Xls => (sniffed, document(sheet::read(bytes, limits), rules)),
        FileType::Pdf => match pdf::read(bytes, limits, seals) {
            Ok(facts) => (sniffed, Content::Pdf(facts)),
            Err(reason) => (sniffed, Content::Unreadable(reason)),
        },
        FileType::Image(_) => match imagesize::blob_size(bytes) {
            Ok(size) => (sniffed, Content::Image { width: size.width as u32, height: size.height as u32 }),
            Err(_) => (sniffed, Content::Unreadable("图片文件已损坏".into())),
        },
        FileType::EncryptedOffice => (
            claimed.filter(|c| c.is_office()).unwrap_or(FileType::Docx),
            Content::Unreadable("文件设有密码，无法打开".into()),
        ),
        FileType::Rar | FileType::SevenZ => {
            (sniffed, Content::Archive(ArchiveState::Unsupported("压缩包无法打开".into())))
        }
        FileType::Zip | FileType::Cfb | FileType::Unknown | FileType::Gzip => match claimed {
            // Named like a document but not readable as one: a damaged document.
            Some(c) if c.is_office() || c == FileType::Pdf || matches!(c, FileType::Image(_)) => {
                (c, Content::Unreadable(format!("文件已损坏，无法作为 {} 打开", c.as_str())))
            }
            _ => (sniffed, Content::Other),
        },
        FileType::Pptx | FileType::Ppt | FileType::Odf | FileType::Ofd | FileType::Html | FileType::Text => {
            match claimed {
                Some(c) if c.is_office() || c == FileType::Pdf => {
                    (c, Content::Unreadable(format!("文件内容与扩展名 .{} 不符，无法打开", c.as_str())))
                }
                _ => (sniffed, Content::Other),
            }
        }
    }
}

fn document(read: Result<Document, String>, rules: &Rules) -> Content {
    match read {
        Err(reason) => Content::Unreadable(reason),
        Ok(doc) => match form::analyse(&doc, rules) {
            Finding::Forms(forms) => Content::Forms(forms),
            Finding::Summary(rows) => Content::Summary(rows),
            Finding::Nothing => Content::Text {
                chars: doc.text_chars(),
                title: doc.paragraphs.first().map(|p| crate::text::clip(p, 100)).unwrap_or_default(),
            },
        },
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
