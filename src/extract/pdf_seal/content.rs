//! A page's content walked as a PDF viewer would paint it: the graphics state (`q`/`Q`,
//! `cm`, colours), paths painted red (an electronic seal's outline), pictures and where they
//! are placed, forms and annotation appearances (where signing software puts its seal).

use std::collections::{HashMap, HashSet};

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

use super::ImageResult;
use super::image::analyse_image;
use super::path::{IDENTITY, Matrix, PathBuilder, State, apply, bounds, mul, red};
use crate::extract::raster::RasterError;
use crate::extract::seal::{self, ring_shape};

/// What painting on a page amounts to, gathered over its content and its forms.
#[derive(Default)]
pub(super) struct Painted {
    pub ink: bool,
    /// Seal outlines in page space: bbox, diameter.
    pub rings: Vec<seal::Ring>,
    /// Area of pictures where red cannot be told.
    pub colourless_area: f32,
    pub pictures: usize,
    pub blank_pictures: usize,
}

/// Walks one page (its content, then its annotations' appearances). `Err`: a picture on it
/// was refused at a cap, with the reason.
pub(super) fn paint_page(
    doc: &Document,
    page: ObjectId,
    images: &HashMap<ObjectId, ImageResult>,
    cap: usize,
) -> Result<Painted, String> {
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
    match walk.refusal {
        Some(reason) => Err(reason),
        None => Ok(painted),
    }
}

struct Walk<'a> {
    doc: &'a Document,
    images: &'a HashMap<ObjectId, ImageResult>,
    cap: usize,
    refusal: Option<String>,
    seen_forms: HashSet<ObjectId>,
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
        let mut state = State::new(base);
        let mut path = PathBuilder::default();
        for op in ops.operations.iter().take(2_000_000) {
            let (name, o) = (op.operator.as_str(), &op.operands[..]);
            if state.apply(name, o) || path.build(name, o, &state.ctm) {
                continue;
            }
            match name {
                "S" | "s" | "f" | "F" | "f*" | "B" | "B*" | "b" | "b*" => {
                    self.paint_path(name, &state, &path.subpaths, painted);
                    path.clear();
                }
                "n" => path.clear(),
                "Tj" | "TJ" | "'" | "\"" | "sh" | "BI" | "EI" => painted.ink = true,
                "Do" => self.draw(o, resources, &state.ctm, depth, painted),
                _ => {}
            }
        }
    }

    /// A path painted (stroked, filled or both): ink unless white, a seal's outline if red.
    fn paint_path(&self, op: &str, state: &State, path: &[Vec<(f32, f32)>], painted: &mut Painted) {
        let strokes = matches!(op, "S" | "s" | "B" | "B*" | "b" | "b*");
        let fills = !matches!(op, "S" | "s");
        let white = |c: [f32; 3]| c.iter().all(|&v| v > 0.95);
        if (strokes && !white(state.stroke)) || (fills && !white(state.fill)) {
            painted.ink = true;
        }
        if (strokes && red(state.stroke)) || (fills && red(state.fill)) {
            self.red_path(path, painted);
        }
    }

    /// `Do`: a picture or a form, by its name in the resources.
    fn draw(&mut self, o: &[Object], resources: &[Dictionary], ctm: &Matrix, depth: usize, painted: &mut Painted) {
        let Some(name) = o.first().and_then(|n| n.as_name().ok()) else { return };
        let doc: &'a Document = self.doc;
        let Some((id, stream)) = xobject(doc, resources, name) else { return };
        match stream.dict.get(b"Subtype").and_then(|s| s.as_name()) {
            Ok(b"Image") => self.picture(id, stream, ctm, painted),
            Ok(b"Form") => self.form(id, stream, *ctm, depth + 1, painted),
            _ => {}
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
