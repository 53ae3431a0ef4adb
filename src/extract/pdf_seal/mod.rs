//! Seals in PDFs: the pictures on each page (scans: DCT/JPEG, Flate and other capped lopdf
//! filters) and red vector paths in the page's content (electronic seals), reduced per page to
//! seal / blank / red-cannot-be-told, and per file to [`SealFacts`].
//!
//! Pictures are analysed while lopdf loads the file: [`record`] is called from the load filter
//! for every image stream, decodes and analyses it at once, keeps only the small finding (in a
//! per-thread table, since lopdf's filter is a plain `fn`; lopdf is built without `rayon`, so
//! the filter runs on the loading thread) and lets the filter drop the image data. So a 50-page
//! scan is never held decoded, nor twice compressed. The content streams are then read page by
//! page: where each picture is placed (`cm` … `Do`), which paths are painted red and their
//! outline, whether anything is painted at all.

mod content;
mod image;
mod path;

use std::cell::RefCell;
use std::collections::HashMap;

use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

use crate::extract::raster::{self, RasterError};
use crate::extract::seal::{self, PictureFinding, seal_size_ok};
use crate::verdict::{Seal, SealAt};

/// What the seal detector says about one file (PDF or picture).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SealFacts {
    pub seal: Option<Seal>,
    pub blank_pages: u32,
    pub at: Option<SealAt>,
    /// The scan's text (cargo feature `ocr`).
    pub text: Option<String>,
}

/// The finding for one picture, or why there is none.
pub type ImageResult = Result<PictureFinding, RasterError>;

thread_local! {
    static IMAGES: RefCell<Option<HashMap<ObjectId, ImageResult>>> = const { RefCell::new(None) };
}

/// Starts recording pictures for one load on this thread (forgets any earlier ones).
pub fn begin(cap: usize) {
    IMAGES.with(|m| *m.borrow_mut() = Some(HashMap::new()));
    CAP.with(|c| *c.borrow_mut() = cap);
}

thread_local! {
    static CAP: RefCell<usize> = const { RefCell::new(64 * 1024 * 1024) };
}

/// The pictures recorded since [`begin`].
pub fn take() -> HashMap<ObjectId, ImageResult> {
    IMAGES.with(|m| m.borrow_mut().take()).unwrap_or_default()
}

/// Called by the load filter for an image stream: analyses it now. Returns false when the
/// picture needs the loaded document to be read (a palette behind a reference): its data must
/// then be kept for [`page_findings`].
pub fn record(id: ObjectId, stream: &Stream) -> bool {
    let recording = IMAGES.with(|m| m.borrow().is_some());
    if !recording {
        return true;
    }
    let cap = CAP.with(|c| *c.borrow());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| image::analyse_image(stream, None, cap)));
    let result = match result {
        Ok(Some(r)) => r,
        Ok(None) => return false,
        Err(_) => Err(RasterError::Corrupt("解码时出错".into())),
    };
    IMAGES.with(|m| {
        if let Some(map) = m.borrow_mut().as_mut() {
            map.insert(id, result);
        }
    });
    true
}

/// One page's finding.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageFinding {
    pub blank: bool,
    /// Red cannot be told on most of the page.
    pub unverifiable: bool,
    /// The seal's box in fractions of the page, top-left origin.
    pub seal: Option<[f32; 4]>,
}

/// Reads one page: `Err` when a picture on it was refused at a cap.
pub fn page_finding(
    doc: &Document,
    page: ObjectId,
    images: &HashMap<ObjectId, ImageResult>,
    cap: usize,
) -> Result<PageFinding, String> {
    let Ok(page_dict) = doc.get_dictionary(page) else {
        return Ok(PageFinding { blank: true, ..PageFinding::default() });
    };
    let mbox = media_box(doc, page_dict).unwrap_or([0.0, 0.0, 595.0, 842.0]);
    let (pw, ph) = ((mbox[2] - mbox[0]).abs().max(1.0), (mbox[3] - mbox[1]).abs().max(1.0));
    let painted = content::paint_page(doc, page, images, cap)?;
    let short = pw.min(ph);
    let seal = painted.rings.iter().find(|r| seal_size_ok(r.diameter, short)).map(|r| {
        let fx = |x: f32| ((x - mbox[0].min(mbox[2])) / pw).clamp(0.0, 1.0);
        let fy = |y: f32| ((mbox[3].max(mbox[1]) - y) / ph).clamp(0.0, 1.0);
        [fx(r.bbox[0]), fy(r.bbox[3]), fx(r.bbox[2]), fy(r.bbox[1])]
    });
    let blank = !painted.ink && painted.pictures == painted.blank_pictures;
    let unverifiable = seal.is_none() && !blank && painted.colourless_area >= 0.3 * pw * ph;
    Ok(PageFinding { blank, unverifiable, seal })
}

fn media_box(doc: &Document, page: &Dictionary) -> Option<[f32; 4]> {
    let mut dict = page;
    for _ in 0..16 {
        if let Ok(b) = dict.get(b"MediaBox") {
            let b = match b {
                Object::Reference(id) => doc.get_object(*id).ok()?,
                b => b,
            };
            let a = b.as_array().ok()?;
            let v: Vec<f32> = a.iter().filter_map(|o| o.as_float().ok()).collect();
            return (v.len() == 4).then(|| [v[0], v[1], v[2], v[3]]);
        }
        dict = doc.get_dictionary(dict.get(b"Parent").ok()?.as_reference().ok()?).ok()?;
    }
    None
}

/// Per file: the first page with a seal; else `unverifiable` when a printed page could not be
/// checked; else `not_found`.
pub fn summarise(pages: &[PageFinding]) -> SealFacts {
    let blank_pages = pages.iter().filter(|p| p.blank).count() as u32;
    if let Some((i, p)) = pages.iter().enumerate().find(|(_, p)| p.seal.is_some()) {
        let b = p.seal.unwrap_or_default();
        return SealFacts { seal: Some(Seal::Found), blank_pages, at: Some(SealAt::new(i as u32 + 1, b)), text: None };
    }
    let seal = if pages.iter().any(|p| p.unverifiable && !p.blank) { Seal::Unverifiable } else { Seal::NotFound };
    SealFacts { seal: Some(seal), blank_pages, at: None, text: None }
}

/// A picture file (JPEG, PNG) as one page.
pub fn picture_file(bytes: &[u8], jpeg: bool) -> Result<SealFacts, String> {
    #[cfg(feature = "ocr")]
    crate::extract::ocr::begin();
    let decoded = if jpeg { raster::jpeg(bytes, raster::PHOTO) } else { raster::png(bytes, raster::PHOTO) };
    #[cfg(feature = "ocr")]
    let text = crate::extract::ocr::take();
    #[cfg(not(feature = "ocr"))]
    let text = None;
    let page = match decoded {
        Err(e) if e.is_refusal() => return Err(e.to_string()),
        Err(_) => PageFinding { blank: false, unverifiable: true, seal: None },
        Ok(r) => {
            let f = seal::analyse(&r);
            let (w, h) = (r.width as f32, r.height as f32);
            let seal = f
                .rings
                .iter()
                .find(|ring| seal_size_ok(ring.diameter, w.min(h)))
                .map(|ring| [ring.bbox[0] / w, ring.bbox[1] / h, ring.bbox[2] / w, ring.bbox[3] / h]);
            PageFinding { blank: f.blank && seal.is_none(), unverifiable: f.grey, seal }
        }
    };
    Ok(SealFacts { text, ..summarise(&[page]) })
}

#[cfg(test)]
mod tests {
    use super::path::{apply, mul, red};
    use super::*;

    #[test]
    fn red_paint_and_the_first_sealed_page() {
        assert!(red([0.85, 0.1, 0.15]) && red([0.9, 0.3, 0.2]));
        assert!(!red([0.1, 0.1, 0.1]) && !red([0.9, 0.6, 0.1]) && !red([0.6, 0.1, 0.8]));
        let page = |blank, unverifiable, seal| PageFinding { blank, unverifiable, seal };
        let facts = summarise(&[page(true, false, None), page(false, false, Some([0.5, 0.5, 0.7, 0.7]))]);
        assert_eq!(facts.seal, Some(Seal::Found));
        assert_eq!((facts.blank_pages, facts.at.map(|a| a.page)), (1, Some(2)));
        assert_eq!(summarise(&[page(false, true, None), page(false, false, None)]).seal, Some(Seal::Unverifiable));
        assert_eq!(summarise(&[page(true, true, None)]).seal, Some(Seal::NotFound));
    }

    #[test]
    fn a_matrix_places_the_unit_square() {
        let m = mul(&[595.0, 0.0, 0.0, 842.0, 0.0, 0.0], &[1.0, 0.0, 0.0, 1.0, 10.0, 20.0]);
        assert_eq!(apply(&m, 1.0, 1.0), (605.0, 862.0));
    }
}
