//! The seal detector: does a page carry a red ring or oval seal, is it blank, can red be told
//! at all. Pure and deterministic: pixels (a [`Raster`]) or path points in, findings out.
//!
//! A seal is a red ring or oval, usually with a star and curved text inside. Found as:
//! red pixels (hue near red, saturated, after the paper is balanced to white so a warm-lit
//! phone photo's yellow paper is not red; [`colour`]) → joined into components (a small
//! dilation bridges patchy ink; [`components`]) → each component's shape in its own principal
//! axes (so a tilted oval is still an oval; [`shape`]): not much longer than wide, ink on the
//! outline all round (≥ 70 % of 36 sectors at 0.8–1.06 of the fitted radius), the outline a
//! good share of the ink, not a filled disk. A red letterhead band or text line is far too
//! long for its height, red table lines make a rectangle whose corners leave the fitted
//! ellipse's outline empty, an ink signature covers few sectors. Whether the ring is big
//! enough for a seal is judged against the page by the caller ([`seal_size_ok`]), since a
//! picture may cover only part of a PDF page.
//!
//! Cost: one pass over the pixels for the paper's colour, one to mark red and ink; the
//! components are looked for only in the box around the red pixels (on most scans, the seal).

mod colour;
mod components;
mod shape;

pub use shape::ring_shape;

use crate::extract::raster::Raster;

/// Smallest seal diameter as a share of the page's shorter side (a 30 mm seal on A4 is 14 %;
/// a letterhead's emblem is smaller).
pub const MIN_SEAL: f32 = 0.09;
/// Largest seal diameter as a share of the page's shorter side.
pub const MAX_SEAL: f32 = 0.6;

/// What one picture shows.
#[derive(Debug, Clone, PartialEq)]
pub struct PictureFinding {
    /// Size of the analysed (shrunk) picture; rings are in its pixels.
    pub width: usize,
    pub height: usize,
    /// Red cannot be told: one channel, or colour samples without any colour in them.
    pub grey: bool,
    /// Nothing on it but paper.
    pub blank: bool,
    /// Ring-shaped red components, in the picture's own coordinates.
    pub rings: Vec<Ring>,
}

/// A ring-shaped outline: its box and its diameter (longer axis), in the units of the points
/// it was fitted to (picture pixels or page points).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ring {
    /// `[x0, y0, x1, y1]`
    pub bbox: [f32; 4],
    pub diameter: f32,
}

/// Whether a ring of `diameter` is a seal's size on a page whose shorter side is `page_short`.
pub fn seal_size_ok(diameter: f32, page_short: f32) -> bool {
    page_short > 0.0 && (MIN_SEAL..=MAX_SEAL).contains(&(diameter / page_short))
}

/// Analyses one picture.
pub fn analyse(r: &Raster) -> PictureFinding {
    let (width, height) = (r.width, r.height);
    if width * height == 0 {
        return PictureFinding { width, height, grey: true, blank: true, rings: Vec::new() };
    }
    if r.channels == 1 {
        return PictureFinding { width, height, grey: true, blank: colour::blank_grey(r), rings: Vec::new() };
    }
    let marks = colour::mark(r);
    // Colour samples with no colour anywhere (a grey scan stored as RGB) cannot show red.
    let grey = marks.coloured == 0 && colour::chroma_spread(r) <= 3;
    // Too little red for any ring: skip the components.
    let rings = match marks.red_box {
        Some(bbox) if !grey && marks.reds >= 30 => components::rings(&marks.red, width, height, bbox),
        _ => Vec::new(),
    };
    PictureFinding { width, height, grey, blank: marks.blank, rings }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A white page `w`×`h` in RGB.
    pub fn page(w: usize, h: usize) -> Raster {
        Raster { width: w, height: h, channels: 3, data: vec![250; w * h * 3] }
    }

    pub fn paint(r: &mut Raster, x: usize, y: usize, rgb: [u8; 3]) {
        if x < r.width && y < r.height {
            let i = (y * r.width + x) * 3;
            r.data[i..i + 3].copy_from_slice(&rgb);
        }
    }

    /// A seal: a ring of `radius` (×`squash` vertically, turned by `tilt`), a star and a band of
    /// "text" dots inside.
    pub fn draw_seal(r: &mut Raster, cx: f32, cy: f32, radius: f32, squash: f32, tilt: f32, rgb: [u8; 3]) {
        let (c, s) = (tilt.cos(), tilt.sin());
        let put = |r: &mut Raster, u: f32, v: f32| {
            let (x, y) = (cx + u * c - v * squash * s, cy + u * s + v * squash * c);
            if x >= 0.0 && y >= 0.0 {
                paint(r, x as usize, y as usize, rgb);
            }
        };
        let steps = (radius * 8.0) as usize;
        for k in 0..steps {
            let t = k as f32 / steps as f32 * std::f32::consts::TAU;
            for dr in 0..(radius / 18.0).max(2.0) as usize {
                let rr = radius - dr as f32;
                put(r, rr * t.cos(), rr * t.sin());
            }
            // curved text: dashes on an inner arc, upper 3/4 only
            if t.sin() < 0.4 && (k / 6) % 2 == 0 {
                for dr in 0..(radius / 8.0) as usize {
                    let rr = radius * 0.72 - dr as f32;
                    put(r, rr * t.cos(), rr * t.sin());
                }
            }
        }
        // a filled star (roughly: a small filled disk)
        let sr = radius * 0.22;
        for dy in -(sr as i32)..=sr as i32 {
            for dx in -(sr as i32)..=sr as i32 {
                if ((dx * dx + dy * dy) as f32)
                    < sr * sr * (0.4 + 0.6 * ((dx as f32).atan2(dy as f32) * 5.0).cos().abs())
                {
                    put(r, dx as f32, dy as f32);
                }
            }
        }
    }

    /// Black "text lines" over the page, like a printed form.
    pub fn draw_text(r: &mut Raster) {
        let (w, h) = (r.width, r.height);
        for line in 0..12 {
            let y = h / 10 + line * h / 16;
            for x in w / 10..w * 8 / 10 {
                if (x / 3) % 4 != 0 {
                    for dy in 0..(h / 150).max(2) {
                        paint(r, x, y + dy, [20, 20, 20]);
                    }
                }
            }
        }
    }

    const RED: [u8; 3] = [210, 40, 45];

    #[test]
    fn a_ring_seal_is_found() {
        let mut r = page(700, 990);
        draw_text(&mut r);
        draw_seal(&mut r, 480.0, 760.0, 75.0, 1.0, 0.0, RED);
        let f = analyse(&r);
        assert!(!f.grey && !f.blank);
        assert_eq!(f.rings.len(), 1, "{f:?}");
        let ring = f.rings[0];
        assert!(seal_size_ok(ring.diameter, 700.0), "{ring:?}");
        assert!((ring.bbox[0] - 405.0).abs() < 6.0 && (ring.bbox[3] - 835.0).abs() < 6.0, "{ring:?}");
    }

    #[test]
    fn a_tilted_faint_oval_under_warm_light_is_found() {
        let mut r = page(800, 1000);
        // warm light: paper yellowish
        for p in r.data.chunks_exact_mut(3) {
            p.copy_from_slice(&[235, 215, 170]);
        }
        draw_text(&mut r);
        draw_seal(&mut r, 420.0, 600.0, 90.0, 0.66, 0.5, [225, 120, 95]);
        let f = analyse(&r);
        assert_eq!(f.rings.len(), 1, "{f:?}");
    }

    #[test]
    fn a_letterhead_band_and_red_title_are_not_seals() {
        let mut r = page(700, 990);
        draw_text(&mut r);
        for y in 60..66 {
            for x in 40..660 {
                paint(&mut r, x, y, RED);
            }
        }
        for x in 100..600 {
            if (x / 20) % 2 == 0 {
                for y in 20..50 {
                    paint(&mut r, x, y, RED);
                }
            }
        }
        let f = analyse(&r);
        assert!(!f.grey);
        assert!(f.rings.is_empty(), "{f:?}");
    }

    #[test]
    fn a_round_emblem_in_a_red_letterhead_is_not_a_seal_but_a_seal_below_is() {
        let mut r = page(700, 990);
        draw_text(&mut r);
        draw_seal(&mut r, 110.0, 70.0, 40.0, 1.0, 0.0, RED);
        for x in 170..640 {
            if (x / 14) % 3 != 0 {
                for y in 50..95 {
                    paint(&mut r, x, y, RED);
                }
            }
        }
        assert!(analyse(&r).rings.is_empty(), "{:?}", analyse(&r).rings);
        draw_seal(&mut r, 480.0, 760.0, 75.0, 1.0, 0.0, RED);
        assert_eq!(analyse(&r).rings.len(), 1);
    }

    #[test]
    fn red_table_lines_are_not_a_seal() {
        let mut r = page(700, 990);
        for k in 0..=4 {
            let p = 200 + k * 60;
            for t in 200..=440 {
                paint(&mut r, t, p, RED);
                paint(&mut r, p, t, RED);
            }
        }
        assert!(analyse(&r).rings.is_empty());
    }

    #[test]
    fn a_red_signature_and_a_filled_red_disk_are_not_seals() {
        let mut r = page(700, 990);
        for k in 0..600 {
            let t = k as f32 / 600.0;
            let x = 300.0 + 200.0 * t;
            let y = 800.0 + 25.0 * (t * 25.0).sin() + 10.0 * (t * 7.0).cos();
            for d in 0..3 {
                paint(&mut r, x as usize, y as usize + d, [200, 30, 60]);
            }
        }
        for y in 100..200usize {
            for x in 100..200usize {
                if (x as i32 - 150).pow(2) + (y as i32 - 150).pow(2) < 2500 {
                    paint(&mut r, x, y, RED);
                }
            }
        }
        assert!(analyse(&r).rings.is_empty());
    }

    #[test]
    fn greyscale_cannot_show_red() {
        let r = Raster { width: 100, height: 100, channels: 1, data: vec![255; 10_000] };
        let f = analyse(&r);
        assert!(f.grey && f.blank);
        let mut rgb = page(300, 300);
        draw_text(&mut rgb);
        assert!(analyse(&rgb).grey, "neutral RGB samples are grey");
    }

    #[test]
    fn blank_pages_are_blank_and_printed_ones_are_not() {
        let mut r = page(600, 800);
        // scanner noise and a dark edge
        for y in 0..800 {
            for x in 0..10 {
                paint(&mut r, x, y, [40, 40, 40]);
            }
        }
        paint(&mut r, 300, 300, [90, 90, 95]);
        assert!(analyse(&r).blank);
        draw_text(&mut r);
        assert!(!analyse(&r).blank);
    }

    #[test]
    fn a_circle_outline_of_points_is_a_ring_and_a_square_is_not() {
        let circle: Vec<(f32, f32)> = (0..72)
            .map(|k| {
                let t = k as f32 / 72.0 * std::f32::consts::TAU;
                (100.0 + 50.0 * t.cos(), 100.0 + 50.0 * t.sin())
            })
            .collect();
        assert!(ring_shape(&circle, f32::MAX).is_some());
        let square: Vec<(f32, f32)> = (0..80)
            .map(|k| {
                let t = (k % 20) as f32 * 5.0;
                match k / 20 {
                    0 => (t, 0.0),
                    1 => (100.0, t),
                    2 => (100.0 - t, 100.0),
                    _ => (0.0, 100.0 - t),
                }
            })
            .collect();
        assert!(ring_shape(&square, f32::MAX).is_none());
    }
}
