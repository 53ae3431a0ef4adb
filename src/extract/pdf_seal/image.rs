//! One PDF image stream decoded and analysed: JPEG (`DCTDecode`), JPEG 2000 (`JPXDecode`) or
//! raw samples behind lopdf's capped filters (grey, RGB, CMYK, an RGB palette); bitonal and
//! mask pictures cannot show red.

use lopdf::{Dictionary, Document, Object, Stream};

use super::ImageResult;
use crate::extract::raster::{self, RasterError, Samples};
use crate::extract::seal;

/// Decodes and analyses one image stream. `None`: it needs `doc` to resolve its colour space.
pub(super) fn analyse_image(stream: &Stream, doc: Option<&Document>, cap: usize) -> Option<ImageResult> {
    let dict = &stream.dict;
    let (w, h) = (int(dict, b"Width").unwrap_or(0).max(0) as u64, int(dict, b"Height").unwrap_or(0).max(0) as u64);
    // Decoded JPEGs are bounded by the pixel cap; raw samples by the decompression cap (one
    // byte a pixel at least), so either way a 30 000 × 30 000 picture is refused unread.
    if let Err(e) = raster::check_size(w, h, raster::MAX_PIXELS.max(cap as u64)) {
        return Some(Err(e));
    }
    if dict.get(b"ImageMask").and_then(|o| o.as_bool()).unwrap_or(false) {
        return Some(Err(RasterError::Colourless("模板图".into())));
    }
    let filters: Vec<Vec<u8>> = stream.filters().map(|f| f.iter().map(|x| x.to_vec()).collect()).unwrap_or_default();
    match filters.last().map(Vec::as_slice) {
        Some(codec @ (b"DCTDecode" | b"JPXDecode")) => {
            Some(coded(stream, &filters, codec == b"JPXDecode", (w, h), cap))
        }
        Some(b"CCITTFaxDecode") | Some(b"JBIG2Decode") => Some(Err(RasterError::Colourless("黑白".into()))),
        _ => samples(stream, !filters.is_empty(), doc, (w as usize, h as usize), cap),
    }
}

fn int(dict: &Dictionary, key: &[u8]) -> Option<i64> {
    dict.get(key).ok().and_then(|o| o.as_i64().ok())
}

/// A JPEG or JPEG 2000 picture: the transport filters before the codec (if any) undone under
/// the cap, then decoded by the picture decoder under the pixel cap.
fn coded(stream: &Stream, filters: &[Vec<u8>], jpx: bool, (w, h): (u64, u64), cap: usize) -> ImageResult {
    raster::check_size(w, h, raster::MAX_PIXELS)?;
    let keep: Vec<Object> = filters[..filters.len() - 1].iter().map(|f| Object::Name(f.clone())).collect();
    let data = if keep.is_empty() {
        stream.content.clone()
    } else {
        let mut plain = stream.clone();
        plain.dict.set("Filter", Object::Array(keep));
        plain.decompressed_content_with_limit(cap).map_err(|e| decode_error(e, cap))?
    };
    let picture = if jpx { raster::jpx(&data) } else { raster::jpeg(&data, raster::PAGE) };
    picture.map(|r| seal::analyse(&r))
}

/// Raw 8-bit samples (after any capped filters). `None` when the colour space needs `doc`.
fn samples(
    stream: &Stream,
    filtered: bool,
    doc: Option<&Document>,
    (w, h): (usize, usize),
    cap: usize,
) -> Option<ImageResult> {
    let dict = &stream.dict;
    let bpc = int(dict, b"BitsPerComponent").unwrap_or(8);
    if bpc != 8 {
        return Some(Err(RasterError::Colourless(format!("{bpc} 位"))));
    }
    let Some(space) = colour_space(dict.get(b"ColorSpace").ok(), doc) else {
        return if doc.is_none() { None } else { Some(Err(RasterError::Colourless("颜色空间".into()))) };
    };
    let inflated;
    let data: &[u8] = if filtered {
        inflated = match stream.decompressed_content_with_limit(cap) {
            Ok(d) => d,
            Err(e) => return Some(Err(decode_error(e, cap))),
        };
        &inflated
    } else {
        &stream.content
    };
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
