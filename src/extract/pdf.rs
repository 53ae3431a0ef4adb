//! PDFs: page count, whether the pages are image-only scans, and their text if any.

use std::collections::HashSet;

use lopdf::{Dictionary, Document, Object};

use crate::limits::Limits;

/// What a PDF holds.
#[derive(Debug, Clone, Default)]
pub struct PdfFacts {
    pub pages: u32,
    pub scanned: bool,
    pub text: String,
    /// Seal, blank pages and where the seal is (`extract::pdf_seal`).
    pub seal: super::pdf_seal::SealFacts,
}

const TEXT_PAGES: usize = 20;
const PASSWORD: &str = "PDF 文件设有密码，无法打开";

const MAX_TEXT_CHARS: usize = 20_000;

fn over_limit(limit: usize) -> String {
    format!("PDF 文件中的数据流解压后超过 {} MB 的上限，未读取", limit.div_ceil(1024 * 1024))
}

/// Reads a PDF; `Err` says in plain words why it cannot be read. `seals`: look for seals and
/// blank pages (false when the caller already knows what the detector says about this file:
/// its pictures are then not decoded).
pub fn read(bytes: &[u8], limits: &Limits, seals: bool) -> Result<PdfFacts, String> {
    // lopdf decodes object and cross-reference streams while loading: bound them by our cap.
    let limit = usize::try_from(limits.max_decompressed_bytes).unwrap_or(usize::MAX);
    let (doc, images) = load(bytes, limit, seals)?;
    // A page tree with cycles (a node among its own kids) lists the same page more than once:
    // each page object counts once (numbered as lopdf numbers them, for text extraction).
    let mut seen_pages = HashSet::new();
    let pages: Vec<(u32, lopdf::ObjectId)> = doc
        .page_iter()
        .enumerate()
        .filter(|(_, id)| seen_pages.insert(*id))
        .map(|(i, id)| (i as u32 + 1, id))
        .collect();
    if pages.is_empty() {
        return Err("PDF 文件没有页面".into());
    }
    let mut facts = PdfFacts { pages: pages.len() as u32, ..PdfFacts::default() };
    let mut pages_with_images = 0usize;
    let mut inspected = 0usize;
    let mut text_chars = 0usize;
    let mut seal_pages = Vec::new();
    for &(number, id) in pages.iter().take(limits.max_pdf_pages) {
        inspected += 1;
        if seals {
            seal_pages.push(super::pdf_seal::page_finding(&doc, id, &images, limit)?);
        }
        if page_has_image(&doc, id) {
            pages_with_images += 1;
        }
        if (number as usize) <= TEXT_PAGES && facts.text.len() < MAX_TEXT_CHARS {
            for chunk in doc.extract_text_chunks_with_limit(&[number], limit) {
                match chunk {
                    Ok(text) => facts.text.push_str(&text),
                    Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { limit })) => {
                        return Err(over_limit(limit));
                    }
                    Err(_) => {}
                }
            }
            facts.text.push('\n');
        }
    }
    text_chars = text_chars.max(facts.text.chars().filter(|c| !c.is_whitespace()).count());
    facts.text = crate::text::clip(facts.text.trim(), MAX_TEXT_CHARS);
    facts.scanned = inspected > 0 && pages_with_images == inspected && text_chars < 20 * inspected;
    if seals {
        facts.seal = super::pdf_seal::summarise(&seal_pages);
    }
    #[cfg(feature = "ocr")]
    {
        facts.seal.text = super::ocr::take();
    }
    Ok(facts)
}

/// Pictures analysed while loading, by object.
type Pictures = std::collections::HashMap<lopdf::ObjectId, super::pdf_seal::ImageResult>;

/// Loads the document (with the empty user password if it is encrypted), analysing its
/// pictures for seals on the way when `seals`.
fn load(bytes: &[u8], limit: usize, seals: bool) -> Result<(Document, Pictures), String> {
    let options = |password: Option<String>| lopdf::LoadOptions {
        password,
        max_decompressed_size: Some(limit),
        filter: Some(stub_image_data),
        ..lopdf::LoadOptions::default()
    };
    // Pictures are analysed for seals as they are loaded (see `pdf_seal`).
    if seals {
        super::pdf_seal::begin(limit);
    }
    #[cfg(feature = "ocr")]
    super::ocr::begin();
    let loaded = Document::load_mem_with_options(bytes, options(None));
    let mut images = super::pdf_seal::take();
    let mut doc = loaded.map_err(|e| match e {
        lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { limit }) => over_limit(limit),
        e => format!("PDF 文件已损坏，无法打开（{e}）"),
    })?;
    // Still encrypted once loaded: try the empty user password (PDFs locked only against
    // editing open with it); a PDF that needs a real password cannot be read.
    if doc.is_encrypted() {
        if seals {
            super::pdf_seal::begin(limit);
        }
        let loaded = Document::load_mem_with_options(bytes, options(Some(String::new())));
        images.extend(super::pdf_seal::take());
        doc = loaded.map_err(|_| PASSWORD.to_string())?;
        if doc.is_encrypted() {
            return Err(PASSWORD.into());
        }
    }
    Ok((doc, images))
}

/// Pictures are analysed for seals as the object is loaded, then their data is replaced by a
/// one-byte stub, so a 50 MB scan is not held a second time inside lopdf. (Not emptied:
/// lopdf reads an empty stream's content again from the file at the end of loading.)
fn stub_image_data(id: lopdf::ObjectId, object: &mut Object) -> Option<(lopdf::ObjectId, Object)> {
    if let Object::Stream(stream) = object
        && stream.dict.get(b"Subtype").and_then(|s| s.as_name()).is_ok_and(|n| n == b"Image")
        && stream.content.len() > 1
        && super::pdf_seal::record(id, stream)
    {
        stream.content = vec![0];
    }
    Some((id, Object::Null))
}

fn page_has_image(doc: &Document, page: lopdf::ObjectId) -> bool {
    let Ok((own, inherited)) = doc.get_page_resources(page) else {
        return false;
    };
    let mut seen = HashSet::new();
    if let Some(res) = own
        && resources_have_image(doc, res, &mut seen, 0)
    {
        return true;
    }
    inherited.into_iter().any(|id| match doc.get_dictionary(id) {
        Ok(res) => resources_have_image(doc, res, &mut seen, 0),
        Err(_) => false,
    })
}

fn resources_have_image(doc: &Document, res: &Dictionary, seen: &mut HashSet<lopdf::ObjectId>, depth: usize) -> bool {
    if depth > 4 {
        return false;
    }
    let Ok(xobjects) = res.get(b"XObject") else {
        return false;
    };
    let Ok((_, xobjects)) = doc.dereference(xobjects) else {
        return false;
    };
    let Ok(xobjects) = xobjects.as_dict() else {
        return false;
    };
    for (_, obj) in xobjects.iter() {
        if let Object::Reference(id) = obj
            && !seen.insert(*id)
        {
            continue;
        }
        let Ok((_, obj)) = doc.dereference(obj) else {
            continue;
        };
        let Ok(stream) = obj.as_stream() else {
            continue;
        };
        match stream.dict.get(b"Subtype").and_then(|s| s.as_name()) {
            Ok(b"Image") => return true,
            Ok(b"Form") => {
                if let Ok(inner) = stream.dict.get(b"Resources")
                    && let Ok((_, inner)) = doc.dereference(inner)
                    && let Ok(inner) = inner.as_dict()
                    && resources_have_image(doc, inner, seen, depth + 1)
                {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}
