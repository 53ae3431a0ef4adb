//! Page pictures for the seal detector: JPEG, PNG and raw PDF samples decoded under a pixel
//! cap and shrunk at once to a small working size, so the detector never holds more than one
//! full-resolution page and works on at most [`WORK_SIDE`] pixels a side.
//!
//! Decoding is done by maintained libraries (libjpeg-turbo through `turbojpeg`, `png`,
//! `hayro-jpeg2000`; PDF streams by lopdf's capped decoders); only the shrinking (a box
//! filter) and CMYK→RGB are this project's code.

use std::io::Cursor;

/// Most pixels one picture may have to be decoded (about 8 000 × 6 000; an A4 page at
/// 600 dpi is 35 million). Bigger pictures are refused with a reason.
pub const MAX_PIXELS: u64 = 50_000_000;

/// How finely a picture is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detail {
    /// A JPEG is decoded to at least this long a side (the decoder's scaled IDCT gives 1/2,
    /// 1/4 or 1/8 of the picture at once, which skips most of decoding).
    pub decode: usize,
    /// Then box-filtered to at most this long a side.
    pub work: usize,
}

/// A page picture in a PDF fills the page: an A4 page at 150 dpi is decoded at 1/4, at 300 dpi
/// at 1/8 (about 440 pixels high, 37 dpi: a 40 mm seal is 60 pixels across, its 1 mm ring
/// 1.5 pixels).
pub const PAGE: Detail = Detail { decode: 400, work: 700 };
/// A photo may show the page in part of the frame: a 12-megapixel photo is decoded at 1/4, so
/// a page filling half of the frame still shows a 1 mm ring.
pub const PHOTO: Detail = Detail { decode: 600, work: 1000 };

/// Longest side the detector is ever given.
pub const WORK_SIDE: usize = PHOTO.work;

/// A decoded picture: `channels` is 1 (grey) or 3 (RGB), rows top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raster {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub data: Vec<u8>,
}

/// Why a picture gave no raster.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RasterError {
    /// Over the pixel cap: refused, the reason is shown to the school.
    #[error("图片尺寸 {width}×{height} 像素，超过 {} 万像素的上限，未读取", .max / 10_000)]
    TooLarge { width: u64, height: u64, max: u64 },
    /// A compressed picture that expands past the decompression cap: refused.
    #[error("图片数据解压后超过 {} MB 的上限，未读取", .0.div_ceil(1024 * 1024))]
    Bomb(u64),
    /// Colour cannot be told (bitonal, an unknown colour space or filter): not a refusal.
    #[error("无法判断颜色（{0}）")]
    Colourless(String),
    /// The data does not decode.
    #[error("图片无法解码（{0}）")]
    Corrupt(String),
}

impl RasterError {
    /// True when the picture was refused at a cap (the attachment is then unreadable).
    pub fn is_refusal(&self) -> bool {
        matches!(self, RasterError::TooLarge { .. } | RasterError::Bomb(_))
    }
}

/// Refuses a picture of more than `max` pixels (and one of no pixels).
pub fn check_size(width: u64, height: u64, max: u64) -> Result<(), RasterError> {
    if width == 0 || height == 0 {
        return Err(RasterError::Corrupt("尺寸为零".into()));
    }
    if width.saturating_mul(height) > max {
        return Err(RasterError::TooLarge { width, height, max });
    }
    Ok(())
}

/// Most scans a progressive JPEG may have (libjpeg-turbo decodes every scan in turn; a file
/// with thousands of tiny scans would take minutes).
#[cfg(feature = "turbojpeg")]
const MAX_SCANS: u32 = 500;

/// Decodes a JPEG (baseline or progressive; grey, YCbCr, CMYK) at a reduced scale with
/// libjpeg-turbo (built from source by the `turbojpeg` crate): its scaled IDCT (1/2, 1/4 or
/// 1/8 of each side) skips most of the work, and its entropy decoder is about twice as fast
/// as jpeg-decoder's (BENCHMARKS.md).
#[cfg(feature = "turbojpeg")]
pub fn jpeg(bytes: &[u8], detail: Detail) -> Result<Raster, RasterError> {
    use turbojpeg::{Colorspace, Decompressor, Image, PixelFormat, ScalingFactor};
    let corrupt = |e: turbojpeg::Error| RasterError::Corrupt(e.to_string());
    let mut dec = Decompressor::new().map_err(corrupt)?;
    let header = dec.read_header(bytes).map_err(corrupt)?;
    let (w, h) = (header.width, header.height);
    check_size(w as u64, h as u64, MAX_PIXELS)?;
    #[allow(unused_mut)]
    let mut side = detail.decode;
    // A page to be read by OCR is decoded finely (it is shrunk for the detector afterwards).
    #[cfg(feature = "ocr")]
    if crate::extract::ocr::wanted() {
        side = crate::extract::ocr::OCR_SIDE;
    }
    // The smallest scale whose longer side is still at least `side` (lossless JPEGs do not scale).
    let denom =
        if header.is_lossless { 1 } else { [8, 4, 2].into_iter().find(|d| w.max(h).div_ceil(*d) >= side).unwrap_or(1) };
    let scale = ScalingFactor::new(1, denom);
    dec.set_scaling_factor(scale).map_err(corrupt)?;
    dec.set_scan_limit(MAX_SCANS).map_err(corrupt)?;
    let (model, format) = match header.colorspace {
        Colorspace::Gray => (Samples::Grey, PixelFormat::GRAY),
        Colorspace::CMYK | Colorspace::YCCK => (Samples::Cmyk, PixelFormat::CMYK),
        _ => (Samples::Rgb, PixelFormat::RGB),
    };
    let (sw, sh) = (scale.scale(w), scale.scale(h));
    let pitch = sw * format.size();
    let mut pixels = vec![0u8; pitch * sh];
    dec.decompress(bytes, Image { pixels: &mut pixels[..], width: sw, pitch, height: sh, format }).map_err(corrupt)?;
    if model == Samples::Cmyk {
        // CMYK JPEGs (Adobe's) store their inks inverted.
        pixels.iter_mut().for_each(|v| *v = 255 - *v);
    }
    raw_samples_at(&pixels, sw, sh, model, detail)
}

/// Decodes a JPEG (baseline or progressive; grey, YCbCr, CMYK) at a reduced scale with
/// jpeg-decoder (pure Rust; the default build): its scaled IDCT gives the smallest size whose
/// longer side is still at least the detail's.
#[cfg(not(feature = "turbojpeg"))]
pub fn jpeg(bytes: &[u8], detail: Detail) -> Result<Raster, RasterError> {
    let corrupt = |e: jpeg_decoder::Error| RasterError::Corrupt(e.to_string());
    let mut dec = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    dec.read_info().map_err(corrupt)?;
    let info = dec.info().ok_or_else(|| RasterError::Corrupt("no header".into()))?;
    let (w, h) = (usize::from(info.width), usize::from(info.height));
    check_size(w as u64, h as u64, MAX_PIXELS)?;
    #[allow(unused_mut)]
    let mut side = detail.decode;
    // A page to be read by OCR is decoded finely (it is shrunk for the detector afterwards).
    #[cfg(feature = "ocr")]
    if crate::extract::ocr::wanted() {
        side = crate::extract::ocr::OCR_SIDE;
    }
    let ratio = (side as f64 / w.max(h) as f64).min(1.0);
    let want = |side: usize| ((side as f64 * ratio).ceil() as u16).max(1);
    let (sw, sh) = dec.scale(want(w), want(h)).map_err(corrupt)?;
    dec.set_max_decoding_buffer_size(4 * MAX_PIXELS as usize);
    let pixels = dec.decode().map_err(corrupt)?;
    let (sw, sh) = (usize::from(sw), usize::from(sh));
    let format = dec.info().map(|i| i.pixel_format).unwrap_or(info.pixel_format);
    let (model, data) = match format {
        jpeg_decoder::PixelFormat::L8 => (Samples::Grey, pixels),
        jpeg_decoder::PixelFormat::L16 => (Samples::Grey, pixels.chunks_exact(2).map(|p| p[0]).collect()),
        jpeg_decoder::PixelFormat::RGB24 => (Samples::Rgb, pixels),
        jpeg_decoder::PixelFormat::CMYK32 => (Samples::Cmyk, pixels),
    };
    raw_samples_at(&data, sw, sh, model, detail)
}

/// Decodes a PNG (any depth; palettes expanded, alpha composed over white) and shrinks it.
pub fn png(bytes: &[u8], detail: Detail) -> Result<Raster, RasterError> {
    let mut dec = png::Decoder::new_with_limits(Cursor::new(bytes), png::Limits { bytes: 3 * MAX_PIXELS as usize });
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().map_err(|e| RasterError::Corrupt(e.to_string()))?;
    let (w, h) = (reader.info().width as u64, reader.info().height as u64);
    check_size(w, h, MAX_PIXELS)?;
    let size = reader.output_buffer_size().ok_or_else(|| RasterError::Corrupt("尺寸异常".into()))?;
    if size as u64 > 4 * MAX_PIXELS {
        return Err(RasterError::TooLarge { width: w, height: h, max: MAX_PIXELS });
    }
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(|e| RasterError::Corrupt(e.to_string()))?;
    let (w, h) = (info.width as usize, info.height as usize);
    let samples = info.color_type.samples();
    let stride = info.line_size;
    let (channels, alpha) = match info.color_type {
        png::ColorType::Grayscale => (1, false),
        png::ColorType::GrayscaleAlpha => (1, true),
        png::ColorType::Rgb => (3, false),
        png::ColorType::Rgba => (3, true),
        png::ColorType::Indexed => return Err(RasterError::Colourless("未展开的调色板".into())),
    };
    if info.bit_depth != png::BitDepth::Eight {
        // EXPAND makes every depth below 8 into 8 bits; only bitonal sources stay odd.
        return Err(RasterError::Colourless("位深异常".into()));
    }
    let mut packed = Vec::with_capacity(w * h * channels);
    for row in buf.chunks(stride).take(h) {
        for px in row.chunks(samples).take(w) {
            if alpha {
                let a = u16::from(px[samples - 1]);
                for &c in &px[..channels] {
                    packed.push(((u16::from(c) * a + 255 * (255 - a)) / 255) as u8);
                }
            } else {
                packed.extend_from_slice(&px[..channels]);
            }
        }
    }
    if packed.len() < w * h * channels {
        return Err(RasterError::Corrupt("数据不完整".into()));
    }
    Ok(shrink_to(&packed, w, h, channels, detail.work))
}

/// Decodes a JPEG 2000 image (a PDF's `JPXDecode`: JP2 or a raw codestream) at a reduced
/// resolution near the working size, and shrinks it.
pub fn jpx(bytes: &[u8]) -> Result<Raster, RasterError> {
    use hayro_jpeg2000::{DecodeSettings, DecoderContext, Image};
    let corrupt = |e: hayro_jpeg2000::error::DecodeError| RasterError::Corrupt(format!("JPEG 2000: {e:?}"));
    let probe = Image::new(bytes, &DecodeSettings::default()).map_err(corrupt)?;
    let (w, h) = (probe.width() as usize, probe.height() as usize);
    check_size(w as u64, h as u64, MAX_PIXELS)?;
    let side = PAGE.work as u32;
    let settings = DecodeSettings { target_resolution: Some((side, side)), ..DecodeSettings::default() };
    let image = Image::new(bytes, &settings).map_err(corrupt)?;
    let colours = image.color_space().num_channels() as usize;
    let mut ctx = DecoderContext::default();
    let decoded = image.decode(&mut ctx).map_err(corrupt)?;
    let n = decoded.components().len().max(1);
    let data = decoded.data_u8();
    let pixels = data.len() / n;
    // The resolution levels skipped halve each side (rounding up).
    let (dw, dh) = (0..16u32)
        .map(|k| (w.div_ceil(1 << k), h.div_ceil(1 << k)))
        .find(|(a, b)| a * b == pixels)
        .ok_or_else(|| RasterError::Corrupt("JPEG 2000: 尺寸不符".into()))?;
    let take = |c: usize| -> Vec<u8> { data.chunks_exact(n).flat_map(|p| p[..c].to_vec()).collect() };
    match (colours, n) {
        (1, _) => Ok(shrink(&take(1), dw, dh, 1)),
        (3, n) if n >= 3 => Ok(shrink(&take(3), dw, dh, 3)),
        (4, n) if n >= 4 => raw_samples(&take(4), dw, dh, Samples::Cmyk),
        _ => Err(RasterError::Colourless(format!("JPEG 2000 {colours} 通道"))),
    }
}

/// Colour model of raw PDF samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Samples {
    Grey,
    Rgb,
    Cmyk,
}

impl Samples {
    pub fn components(self) -> usize {
        match self {
            Samples::Grey => 1,
            Samples::Rgb => 3,
            Samples::Cmyk => 4,
        }
    }
}

/// 8-bit samples (grey, RGB or CMYK) to a shrunk raster. (Already in memory, so bounded by
/// the decompression cap rather than the pixel cap.)
pub fn raw_samples(data: &[u8], width: usize, height: usize, model: Samples) -> Result<Raster, RasterError> {
    raw_samples_at(data, width, height, model, PAGE)
}

fn raw_samples_at(
    data: &[u8],
    width: usize,
    height: usize,
    model: Samples,
    detail: Detail,
) -> Result<Raster, RasterError> {
    check_size(width as u64, height as u64, u64::MAX)?;
    let comps = model.components();
    if data.len() < width * height * comps {
        return Err(RasterError::Corrupt("数据不完整".into()));
    }
    match model {
        Samples::Grey => Ok(shrink_to(&data[..width * height], width, height, 1, detail.work)),
        Samples::Rgb => Ok(shrink_to(&data[..width * height * 3], width, height, 3, detail.work)),
        Samples::Cmyk => {
            let rgb: Vec<u8> = data[..width * height * 4]
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = 255 - u16::from(p[3]);
                    [0, 1, 2].map(|i| ((255 - u16::from(p[i])) * k / 255) as u8)
                })
                .collect();
            Ok(shrink_to(&rgb, width, height, 3, detail.work))
        }
    }
}

/// Box-filters `data` down so that its longer side is at most [`PAGE`]`.work`.
pub fn shrink(data: &[u8], width: usize, height: usize, channels: usize) -> Raster {
    shrink_to(data, width, height, channels, PAGE.work)
}

/// Box-filters `data` down so that its longer side is at most `side`.
pub fn shrink_to(data: &[u8], width: usize, height: usize, channels: usize, side: usize) -> Raster {
    // The full-resolution picture passes here once: the place to read its text.
    #[cfg(feature = "ocr")]
    if crate::extract::ocr::wanted() {
        let (grey, w, h) = crate::extract::ocr::grey(data, width, height, channels);
        crate::extract::ocr::read_into(&grey, w, h);
    }
    let f = width.max(height).div_ceil(side.max(1)).max(1);
    if f == 1 {
        return Raster { width, height, channels, data: data[..width * height * channels].to_vec() };
    }
    let (ow, oh) = ((width / f).max(1), (height / f).max(1));
    let mut acc = vec![0u32; ow * channels];
    let mut out = Vec::with_capacity(ow * oh * channels);
    let n = (f * f.min(height)) as u32;
    for oy in 0..oh {
        acc.iter_mut().for_each(|a| *a = 0);
        for y in oy * f..((oy + 1) * f).min(height) {
            let line = &data[y * width * channels..][..ow * f * channels];
            for (a, block) in acc.chunks_exact_mut(channels).zip(line.chunks_exact(f * channels)) {
                for px in block.chunks_exact(channels) {
                    for (sum, &v) in a.iter_mut().zip(px) {
                        *sum += u32::from(v);
                    }
                }
            }
        }
        out.extend(acc.iter().map(|a| (a / n) as u8));
    }
    Raster { width: ow, height: oh, channels, data: out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinks_to_the_working_side() {
        let data = vec![200u8; 3000 * 1500 * 3];
        let r = shrink(&data, 3000, 1500, 3);
        assert_eq!((r.width, r.height, r.channels), (600, 300, 3));
        assert!(r.data.iter().all(|&v| v == 200));
    }

    #[test]
    fn huge_sizes_are_refused_before_decoding() {
        let err = check_size(30_000, 30_000, MAX_PIXELS).unwrap_err();
        assert!(err.is_refusal(), "{err}");
        assert!(err.to_string().contains("30000×30000"), "{err}");
    }
}
