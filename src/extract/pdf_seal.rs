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

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

use crate::extract::raster::{self, RasterError, Samples};
use crate::extract::seal::{self, PictureFinding, ring_shape, seal_size_ok};
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
type ImageResult = Result<PictureFinding, RasterError>;

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
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| analyse_image(stream, None, cap)));
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

/// Decodes and analyses one image stream. `None`: it needs `doc` to resolve its colour space.
fn analyse_image(stream: &Stream, doc: Option<&Document>, cap: usize) -> Option<ImageResult> {
    let dict = &stream.dict;
    let int = |k: &[u8]| dict.get(k).ok().and_then(|o| o.as_i64().ok());
    let (w, h) = (int(b"Width").unwrap_or(0).max(0) as u64, int(b"Height").unwrap_or(0).max(0) as u64);
    // Decoded JPEGs are bounded by the pixel cap; raw samples by the decompression cap (one
    // byte a pixel at least), so either way a 30 000 × 30 000 picture is refused unread.
    if let Err(e) = raster::check_size(w, h, raster::MAX_PIXELS.max(cap as u64)) {
        return Some(Err(e));
    }
    if dict.get(b"ImageMask").and_then(|o| o.as_bool()).unwrap_or(false) {
        return Some(Err(RasterError::Colourless("模板图".into())));
    }
    let filters: Vec<Vec<u8>> = stream.filters().map(|f| f.iter().map(|x| x.to_vec()).collect()).unwrap_or_default();
    let codec = filters.last().map(Vec::as_slice);
    let transport = |s: &Stream| -> Result<Vec<u8>, RasterError> {
        let mut plain = s.clone();
        let keep: Vec<Object> = filters[..filters.len() - 1].iter().map(|f| Object::Name(f.clone())).collect();
        if keep.is_empty() {
            return Ok(s.content.clone());
        }
        plain.dict.set("Filter", Object::Array(keep));
        plain.decompressed_content_with_limit(cap).map_err(|e| decode_error(e, cap))
    };
    match codec {
        Some(b"DCTDecode") => {
            if let Err(e) = raster::check_size(w, h, raster::MAX_PIXELS) {
                return Some(Err(e));
            }
            let data = match transport(stream) {
                Ok(d) => d,
                Err(e) => return Some(Err(e)),
            };
            Some(raster::jpeg(&data, raster::PAGE).map(|r| seal::analyse(&r)))
        }
        Some(b"JPXDecode") => {
            if let Err(e) = raster::check_size(w, h, raster::MAX_PIXELS) {
                return Some(Err(e));
            }
            let data = match transport(stream) {
                Ok(d) => d,
                Err(e) => return Some(Err(e)),
            };
            Some(raster::jpx(&data).map(|r| seal::analyse(&r)))
        }
        Some(b"CCITTFaxDecode") | Some(b"JBIG2Decode") => Some(Err(RasterError::Colourless("黑白".into()))),
        _ => {
            let bpc = int(b"BitsPerComponent").unwrap_or(8);
            if bpc != 8 {
                return Some(Err(RasterError::Colourless(format!("{bpc} 位"))));
            }
            let space = colour_space(dict.get(b"ColorSpace").ok(), doc);
            let Some(space) = space else {
                return if doc.is_none() { None } else { Some(Err(RasterError::Colourless("颜色空间".into()))) };
            };
            let inflated;
            let data: &[u8] = if filters.is_empty() {
                &stream.content
            } else {
                inflated = match stream.decompressed_content_with_limit(cap) {
                    Ok(d) => d,
                    Err(e) => return Some(Err(decode_error(e, cap))),
                };
                &inflated
            };
            let (w, h) = (w as usize, h as usize);
            let model = match space {
                Space::Model(m) => m,
                // ICC profile not at hand: the data says how many components there are.
                Space::Unknown => match data.len() / (w * h).max(1) {
                    1 => Samples::Grey,
                    3 => Samples::Rgb,
                    4 => Samples::Cmyk,
                    _ => return Some(Err(RasterError::Colourless("颜色空间".into()))),
                },
                Space::Indexed(palette) => {
                    let rgb: Vec<u8> = data
                        .iter()
                        .take(w * h)
                        .flat_map(|&i| {
                            let k = i as usize * 3;
                            palette.get(k..k + 3).map(|p| [p[0], p[1], p[2]]).unwrap_or([0, 0, 0])
                        })
                        .collect();
                    return Some(raster::raw_samples(&rgb, w, h, Samples::Rgb).map(|r| seal::analyse(&r)));
                }
            };
            Some(raster::raw_samples(data, w, h, model).map(|r| seal::analyse(&r)))
        }
    }
}

fn decode_error(e: lopdf::Error, cap: usize) -> RasterError {
    match e {
        lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. }) => RasterError::Bomb(cap as u64),
        e => RasterError::Corrupt(e.to_string()),
    }
}

enum Space {
    Model(Samples),
    Unknown,
    /// An RGB palette.
    Indexed(Vec<u8>),
}

fn colour_space(obj: Option<&Object>, doc: Option<&Document>) -> Option<Space> {
    let deref = |o: &Object| -> Option<Object> {
        match o {
            Object::Reference(id) => doc.and_then(|d| d.get_object(*id).ok()).cloned(),
            o => Some(o.clone()),
        }
    };
    let obj = deref(obj?)?;
    match &obj {
        Object::Name(n) => Some(match n.as_slice() {
            b"DeviceGray" | b"CalGray" | b"G" => Space::Model(Samples::Grey),
            b"DeviceRGB" | b"CalRGB" | b"RGB" => Space::Model(Samples::Rgb),
            b"DeviceCMYK" | b"CMYK" => Space::Model(Samples::Cmyk),
            _ => Space::Unknown,
        }),
        Object::Array(a) => match a.first().and_then(|n| n.as_name().ok()) {
            Some(b"ICCBased") => {
                let n = a
                    .get(1)
                    .and_then(deref)
                    .and_then(|s| s.as_stream().ok().and_then(|s| s.dict.get(b"N").ok()?.as_i64().ok()));
                Some(match n {
                    Some(1) => Space::Model(Samples::Grey),
                    Some(3) => Space::Model(Samples::Rgb),
                    Some(4) => Space::Model(Samples::Cmyk),
                    _ => Space::Unknown,
                })
            }
            Some(b"CalRGB") | Some(b"Lab") => Some(Space::Model(Samples::Rgb)),
            Some(b"CalGray") => Some(Space::Model(Samples::Grey)),
            Some(b"Indexed") | Some(b"I") => {
                let base = a.get(1).and_then(|b| colour_space(Some(b), doc))?;
                if !matches!(base, Space::Model(Samples::Rgb)) {
                    return Some(Space::Unknown);
                }
                let lookup = a.get(3).and_then(deref)?;
                let bytes = match lookup {
                    Object::String(s, _) => s,
                    Object::Stream(s) => s.decompressed_content_with_limit(1 << 16).ok()?,
                    _ => return None,
                };
                Some(Space::Indexed(bytes))
            }
            _ => Some(Space::Unknown),
        },
        _ => Some(Space::Unknown),
    }
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

/// The affine matrix `[a b c d e f]` of PDF.
type Matrix = [f32; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

fn mul(m: &Matrix, n: &Matrix) -> Matrix {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}

fn apply(m: &Matrix, x: f32, y: f32) -> (f32, f32) {
    (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
}

/// What painting on a page amounts to, gathered over its content and its forms.
#[derive(Default)]
struct Painted {
    ink: bool,
    /// Seal outlines in page space: bbox, diameter.
    rings: Vec<seal::Ring>,
    /// Area of pictures where red cannot be told.
    colourless_area: f32,
    pictures: usize,
    blank_pictures: usize,
}

struct Walk<'a> {
    doc: &'a Document,
    images: &'a HashMap<ObjectId, ImageResult>,
    cap: usize,
    refusal: Option<String>,
    seen_forms: HashSet<ObjectId>,
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
    let mut walk = Walk { doc, images, cap, refusal: None, seen_forms: HashSet::new() };
    let mut painted = Painted::default();
    let content = doc.get_page_content_with_limit(page, cap).unwrap_or_default();
    let resources = page_resources(doc, page);
    walk.run(&content, &resources, IDENTITY, 0, &mut painted);
    // Annotation appearances (where signing software puts an electronic seal).
    if let Ok(annots) = doc.get_page_annotations(page) {
        for annot in annots {
            walk.annotation(annot, &mut painted);
        }
    }
    if let Some(reason) = walk.refusal {
        return Err(reason);
    }
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

fn page_resources(doc: &Document, page: ObjectId) -> Vec<Dictionary> {
    let Ok((own, inherited)) = doc.get_page_resources(page) else {
        return Vec::new();
    };
    own.into_iter()
        .cloned()
        .chain(inherited.into_iter().filter_map(|id| doc.get_dictionary(id).ok().cloned()))
        .collect()
}

fn resolve<'d>(doc: &'d Document, o: &'d Object) -> Option<&'d Object> {
    doc.dereference(o).ok().map(|(_, o)| o)
}

/// Red on the page: `rgb` in 0..=1.
fn red(rgb: [f32; 3]) -> bool {
    let [r, g, b] = rgb.map(|v| v.clamp(0.0, 1.0) * 255.0);
    let (hi, lo) = (g.max(b), g.min(b));
    r >= 110.0 && r - hi >= 60.0 && (hi - lo) <= 0.45 * (r - lo)
}

fn colour(operands: &[Object]) -> Option<[f32; 3]> {
    let v: Vec<f32> = operands.iter().filter_map(|o| o.as_float().ok()).collect();
    match v.len() {
        1 => Some([v[0]; 3]),
        3 => Some([v[0], v[1], v[2]]),
        4 => {
            let k = 1.0 - v[3];
            Some([(1.0 - v[0]) * k, (1.0 - v[1]) * k, (1.0 - v[2]) * k])
        }
        _ => None,
    }
}

fn xobject<'d>(doc: &'d Document, resources: &[Dictionary], name: &[u8]) -> Option<(ObjectId, &'d Stream)> {
    for res in resources {
        let Ok(x) = res.get(b"XObject") else { continue };
        let Some(x) = resolve(doc, x).and_then(|x| x.as_dict().ok()) else { continue };
        let Ok(entry) = x.get(name) else { continue };
        let Ok(id) = entry.as_reference() else { continue };
        if let Ok(Object::Stream(s)) = doc.get_object(id) {
            return Some((id, s));
        }
    }
    None
}

impl<'a> Walk<'a> {
    fn annotation(&mut self, annot: &Dictionary, painted: &mut Painted) {
        let rect: Vec<f32> = annot
            .get(b"Rect")
            .ok()
            .and_then(|r| resolve(self.doc, r))
            .and_then(|r| r.as_array().ok())
            .map(|a| a.iter().filter_map(|o| o.as_float().ok()).collect())
            .unwrap_or_default();
        let Some(normal) = annot
            .get(b"AP")
            .ok()
            .and_then(|ap| resolve(self.doc, ap))
            .and_then(|ap| ap.as_dict().ok())
            .and_then(|ap| ap.get(b"N").ok())
            .and_then(|n| n.as_reference().ok())
        else {
            return;
        };
        let Ok(Object::Stream(form)) = self.doc.get_object(normal) else { return };
        if rect.len() != 4 {
            return;
        }
        let bbox: Vec<f32> = form
            .dict
            .get(b"BBox")
            .ok()
            .and_then(|b| resolve(self.doc, b))
            .and_then(|b| b.as_array().ok())
            .map(|a| a.iter().filter_map(|o| o.as_float().ok()).collect())
            .unwrap_or_default();
        if bbox.len() != 4 {
            return;
        }
        // Map the form's box onto the annotation's rectangle.
        let sx = (rect[2] - rect[0]) / (bbox[2] - bbox[0]).abs().max(1e-3);
        let sy = (rect[3] - rect[1]) / (bbox[3] - bbox[1]).abs().max(1e-3);
        let m = [sx, 0.0, 0.0, sy, rect[0] - bbox[0].min(bbox[2]) * sx, rect[1] - bbox[1].min(bbox[3]) * sy];
        self.form(normal, form, m, 1, painted);
    }

    fn form(&mut self, id: ObjectId, form: &Stream, ctm: Matrix, depth: usize, painted: &mut Painted) {
        if depth > 4 || !self.seen_forms.insert(id) {
            return;
        }
        let matrix: Vec<f32> = form
            .dict
            .get(b"Matrix")
            .ok()
            .and_then(|m| m.as_array().ok())
            .map(|a| a.iter().filter_map(|o| o.as_float().ok()).collect())
            .unwrap_or_default();
        let m = if matrix.len() == 6 {
            [matrix[0], matrix[1], matrix[2], matrix[3], matrix[4], matrix[5]]
        } else {
            IDENTITY
        };
        let resources: Vec<Dictionary> = form
            .dict
            .get(b"Resources")
            .ok()
            .and_then(|r| resolve(self.doc, r))
            .and_then(|r| r.as_dict().ok())
            .cloned()
            .into_iter()
            .collect();
        let Ok(content) = form.decompressed_content_with_limit(self.cap).or_else(|_| {
            if form.filters().map(|f| f.is_empty()).unwrap_or(true) { Ok(form.content.clone()) } else { Err(()) }
        }) else {
            return;
        };
        self.run(&content, &resources, mul(&m, &ctm), depth, painted);
        self.seen_forms.remove(&id);
    }

    fn run(&mut self, content: &[u8], resources: &[Dictionary], base: Matrix, depth: usize, painted: &mut Painted) {
        let Ok(ops) = Content::decode(content) else { return };
        let mut ctm = base;
        let mut stack: Vec<(Matrix, [f32; 3], [f32; 3])> = Vec::new();
        let (mut fill, mut stroke) = ([0.0f32; 3], [0.0f32; 3]);
        let mut path: Vec<Vec<(f32, f32)>> = Vec::new();
        let mut cur = (0.0f32, 0.0f32);
        let f = |o: &[Object], i: usize| o.get(i).and_then(|x| x.as_float().ok()).unwrap_or(0.0);
        for op in ops.operations.iter().take(2_000_000) {
            let o = &op.operands[..];
            match op.operator.as_str() {
                "q" => stack.push((ctm, fill, stroke)),
                "Q" => {
                    if let Some((m, fl, st)) = stack.pop() {
                        (ctm, fill, stroke) = (m, fl, st);
                    }
                }
                "cm" => ctm = mul(&[f(o, 0), f(o, 1), f(o, 2), f(o, 3), f(o, 4), f(o, 5)], &ctm),
                "rg" | "g" | "k" | "sc" | "scn" => {
                    if let Some(c) = colour(o) {
                        fill = c;
                    }
                }
                "RG" | "G" | "K" | "SC" | "SCN" => {
                    if let Some(c) = colour(o) {
                        stroke = c;
                    }
                }
                "cs" => fill = [0.0; 3],
                "CS" => stroke = [0.0; 3],
                "m" => {
                    cur = (f(o, 0), f(o, 1));
                    path.push(vec![apply(&ctm, cur.0, cur.1)]);
                }
                "l" => {
                    let to = (f(o, 0), f(o, 1));
                    let sub = current(&mut path, &ctm, cur);
                    for k in 1..=16 {
                        let t = k as f32 / 16.0;
                        sub.push(apply(&ctm, cur.0 + (to.0 - cur.0) * t, cur.1 + (to.1 - cur.1) * t));
                    }
                    cur = to;
                }
                "c" | "v" | "y" => {
                    let (p1, p2, p3) = match op.operator.as_str() {
                        "c" => ((f(o, 0), f(o, 1)), (f(o, 2), f(o, 3)), (f(o, 4), f(o, 5))),
                        "v" => (cur, (f(o, 0), f(o, 1)), (f(o, 2), f(o, 3))),
                        _ => ((f(o, 0), f(o, 1)), (f(o, 2), f(o, 3)), (f(o, 2), f(o, 3))),
                    };
                    let p0 = cur;
                    let sub = current(&mut path, &ctm, cur);
                    for k in 1..=32 {
                        let t = k as f32 / 32.0;
                        let u = 1.0 - t;
                        let x = u * u * u * p0.0 + 3.0 * u * u * t * p1.0 + 3.0 * u * t * t * p2.0 + t * t * t * p3.0;
                        let y = u * u * u * p0.1 + 3.0 * u * u * t * p1.1 + 3.0 * u * t * t * p2.1 + t * t * t * p3.1;
                        sub.push(apply(&ctm, x, y));
                    }
                    cur = p3;
                }
                "re" => {
                    let (x, y, w, h) = (f(o, 0), f(o, 1), f(o, 2), f(o, 3));
                    let mut sub = Vec::new();
                    for (a, b) in [
                        ((x, y), (x + w, y)),
                        ((x + w, y), (x + w, y + h)),
                        ((x + w, y + h), (x, y + h)),
                        ((x, y + h), (x, y)),
                    ] {
                        for k in 0..16 {
                            let t = k as f32 / 16.0;
                            sub.push(apply(&ctm, a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t));
                        }
                    }
                    path.push(sub);
                    cur = (x, y);
                }
                "S" | "s" | "f" | "F" | "f*" | "B" | "B*" | "b" | "b*" => {
                    let strokes = matches!(op.operator.as_str(), "S" | "s" | "B" | "B*" | "b" | "b*");
                    let fills = !matches!(op.operator.as_str(), "S" | "s");
                    let white = |c: [f32; 3]| c.iter().all(|&v| v > 0.95);
                    if (strokes && !white(stroke)) || (fills && !white(fill)) {
                        painted.ink = true;
                    }
                    if (strokes && red(stroke)) || (fills && red(fill)) {
                        self.red_path(&path, painted);
                    }
                    path.clear();
                }
                "n" => path.clear(),
                "Tj" | "TJ" | "'" | "\"" | "sh" | "BI" | "EI" => painted.ink = true,
                "Do" => {
                    let Some(name) = o.first().and_then(|n| n.as_name().ok()) else { continue };
                    let doc: &'a Document = self.doc;
                    let Some((id, stream)) = xobject(doc, resources, name) else { continue };
                    match stream.dict.get(b"Subtype").and_then(|s| s.as_name()) {
                        Ok(b"Image") => self.picture(id, stream, &ctm, painted),
                        Ok(b"Form") => self.form(id, stream, ctm, depth + 1, painted),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    }

    fn red_path(&self, path: &[Vec<(f32, f32)>], painted: &mut Painted) {
        let all: Vec<(f32, f32)> = path.iter().flatten().copied().collect();
        if let Some(r) = ring_shape(&all, f32::MAX) {
            painted.rings.push(r);
            return;
        }
        for sub in path {
            if let Some(r) = ring_shape(sub, f32::MAX) {
                painted.rings.push(r);
                return;
            }
        }
    }

    fn picture(&mut self, id: ObjectId, stream: &Stream, ctm: &Matrix, painted: &mut Painted) {
        let computed;
        let result = match self.images.get(&id) {
            Some(r) => r,
            None => {
                // Not seen by the load filter (an encrypted file, or a palette behind a reference).
                computed = analyse_image(stream, Some(self.doc), self.cap)
                    .unwrap_or_else(|| Err(RasterError::Colourless("颜色空间".into())));
                &computed
            }
        };
        let area = (ctm[0] * ctm[3] - ctm[1] * ctm[2]).abs();
        painted.pictures += 1;
        match result {
            Err(e) if e.is_refusal() => {
                self.refusal.get_or_insert_with(|| format!("PDF 文件中的{e}"));
            }
            Err(_) => painted.colourless_area += area,
            Ok(f) => {
                if f.blank {
                    painted.blank_pictures += 1;
                }
                if f.grey {
                    painted.colourless_area += area;
                }
                let (w, h) = (f.width.max(1) as f32, f.height.max(1) as f32);
                for ring in &f.rings {
                    // picture pixels (top-left origin) → unit square (bottom-left) → page
                    let to_page = |px: f32, py: f32| apply(ctm, px / w, 1.0 - py / h);
                    let pts = [
                        to_page(ring.bbox[0], ring.bbox[1]),
                        to_page(ring.bbox[2], ring.bbox[1]),
                        to_page(ring.bbox[0], ring.bbox[3]),
                        to_page(ring.bbox[2], ring.bbox[3]),
                    ];
                    let bbox = bounds(&pts);
                    let scale = (area / (w * h)).sqrt();
                    painted.rings.push(seal::Ring { bbox, diameter: ring.diameter * scale });
                }
            }
        }
    }
}

fn bounds(pts: &[(f32, f32)]) -> [f32; 4] {
    pts.iter().fold([f32::MAX, f32::MAX, f32::MIN, f32::MIN], |b, &(x, y)| {
        [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)]
    })
}

fn current<'p>(path: &'p mut Vec<Vec<(f32, f32)>>, ctm: &Matrix, cur: (f32, f32)) -> &'p mut Vec<(f32, f32)> {
    if path.is_empty() {
        path.push(vec![apply(ctm, cur.0, cur.1)]);
    }
    let last = path.len() - 1;
    &mut path[last]
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
