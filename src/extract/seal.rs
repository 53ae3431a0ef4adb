//! The seal detector: does a page carry a red ring or oval seal, is it blank, can red be told
//! at all. Pure and deterministic: pixels (a [`Raster`]) or path points in, findings out.
//!
//! A seal is a red ring or oval, usually with a star and curved text inside. Found as:
//! red pixels (hue near red, saturated, after the paper is balanced to white so a warm-lit
//! phone photo's yellow paper is not red) → joined into components (a small dilation bridges
//! patchy ink) → each component's shape in its own principal axes (so a tilted oval is still
//! an oval): not much longer than wide, ink on the outline all round (≥ 70 % of 36 sectors at
//! 0.8–1.06 of the fitted radius), the outline a good share of the ink, not a filled disk.
//! A red letterhead band or text line is far too long for its height, red table lines make a
//! rectangle whose corners leave the fitted ellipse's outline empty, an ink signature covers
//! few sectors. Whether the ring is big enough for a seal is judged against the page by the
//! caller ([`seal_size_ok`]), since a picture may cover only part of a PDF page.

use crate::extract::raster::Raster;

/// Smallest seal diameter as a share of the page's shorter side (a 30 mm seal on A4 is 14 %;
/// a letterhead's emblem is smaller).
pub const MIN_SEAL: f32 = 0.09;
/// Largest seal diameter as a share of the page's shorter side.
pub const MAX_SEAL: f32 = 0.6;

const SECTORS: usize = 36;

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
    let n = r.width * r.height;
    if n == 0 {
        return PictureFinding { width: r.width, height: r.height, grey: true, blank: true, rings: Vec::new() };
    }
    if r.channels == 1 {
        return PictureFinding {
            width: r.width,
            height: r.height,
            grey: true,
            blank: blank_grey(r),
            rings: Vec::new(),
        };
    }
    // The paper's colour: the mean of the brightest tenth of the pixels (one pass: a
    // histogram of brightness with the colour summed per level).
    let mut hist = [0usize; 256];
    let mut sums = vec![[0u64; 3]; 256];
    for p in r.data.chunks_exact(3) {
        let l = ((u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2])) / 3) as usize;
        hist[l] += 1;
        for c in 0..3 {
            sums[l][c] += u64::from(p[c]);
        }
    }
    let bright = level_at(&hist, n, 0.90);
    let count: usize = hist[bright..].iter().sum();
    let paper: [f32; 3] =
        [0, 1, 2].map(|c| (sums[bright..].iter().map(|s| s[c]).sum::<u64>() as f64 / count.max(1) as f64) as f32);
    // Balance the paper to white (a lookup table per channel); a dark picture (little paper)
    // is left alone.
    let gain: [f32; 3] = paper.map(|p| if p > 60.0 { (255.0 / p).clamp(1.0, 2.5) } else { 1.0 });
    let lut: [[u8; 256]; 3] = gain.map(|g| std::array::from_fn(|v| (v as f32 * g).min(255.0) as u8));
    let paper_lum = ((paper[0] * gain[0] + paper[1] * gain[1] + paper[2] * gain[2]) / 3.0).min(255.0);
    let dark = (paper_lum * 0.72 * 3.0) as i32;
    let mut red = vec![false; n];
    let mut coloured = 0usize;
    let mut ink = 0usize;
    let mut reds = 0usize;
    let (mx, my) = (r.width / 25, r.height / 25);
    for (y, (row, red_row)) in r.data.chunks_exact(r.width * 3).zip(red.chunks_exact_mut(r.width)).enumerate() {
        let inner_row = y >= my && y < r.height - my;
        for (x, (p, red_px)) in row.chunks_exact(3).zip(red_row.iter_mut()).enumerate() {
            let (pr, pg, pb) =
                (i32::from(lut[0][p[0] as usize]), i32::from(lut[1][p[1] as usize]), i32::from(lut[2][p[2] as usize]));
            let (hi, lo) = (pr.max(pg).max(pb), pr.min(pg).min(pb));
            if hi - lo > 40 {
                coloured += 1;
            }
            *red_px = is_red(pr, pg, pb);
            reds += usize::from(*red_px);
            if inner_row && x >= mx && x < r.width - mx && (pr + pg + pb < dark || *red_px) {
                ink += 1;
            }
        }
    }
    let inner = (r.width - 2 * mx) * (r.height - 2 * my);
    let blank = (ink as f64) < (inner.max(1) as f64) * 0.0008;
    // Colour samples with no colour anywhere (a grey scan stored as RGB) cannot show red.
    let grey = coloured == 0 && chroma_spread(r) <= 3;
    // Too little red for any ring: skip the components.
    let rings = if grey || reds < 30 { Vec::new() } else { rings(&red, r.width, r.height) };
    PictureFinding { width: r.width, height: r.height, grey, blank, rings }
}

/// Red ink: hue within about 25° of red, saturated, not dark (0–255 channels).
fn is_red(r: i32, g: i32, b: i32) -> bool {
    let (hi, lo) = (g.max(b), g.min(b));
    if r < 90 || r - hi < 45 {
        return false;
    }
    let span = r - lo;
    span * 10 >= r * 3 && (hi - lo) * 100 <= 45 * span
}

/// The largest difference between channels over the picture (0 for true grey samples).
fn chroma_spread(r: &Raster) -> u8 {
    r.data.chunks_exact(3).map(|p| p[0].max(p[1]).max(p[2]) - p[0].min(p[1]).min(p[2])).max().unwrap_or(0)
}

fn level_at(hist: &[usize; 256], n: usize, share: f64) -> usize {
    let target = (n as f64 * share) as usize;
    let mut acc = 0;
    for (level, &c) in hist.iter().enumerate() {
        acc += c;
        if acc > target {
            return level;
        }
    }
    255
}

fn blank_grey(r: &Raster) -> bool {
    let mut hist = [0usize; 256];
    for &v in &r.data {
        hist[v as usize] += 1;
    }
    let paper = level_at(&hist, r.data.len(), 0.90) as f32;
    let (mx, my) = (r.width / 25, r.height / 25);
    let mut ink = 0usize;
    for y in my..r.height - my {
        for x in mx..r.width - mx {
            if f32::from(r.data[y * r.width + x]) < paper * 0.72 {
                ink += 1;
            }
        }
    }
    let inner = (r.width - 2 * mx) * (r.height - 2 * my);
    (ink as f64) < (inner.max(1) as f64) * 0.0008
}

/// Ring-shaped components of a red mask.
fn rings(red: &[bool], w: usize, h: usize) -> Vec<Ring> {
    let d = (w.max(h) / 300).max(1);
    let grown = dilate(red, w, h, d);
    let mut label = vec![u32::MAX; w * h];
    let mut comps: Vec<[usize; 4]> = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !grown[start] || label[start] != u32::MAX {
            continue;
        }
        let id = comps.len() as u32;
        let mut bb = [start % w, start / w, start % w, start / w];
        label[start] = id;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            bb = [bb[0].min(x), bb[1].min(y), bb[2].max(x), bb[3].max(y)];
            let mut visit = |j: usize| {
                if grown[j] && label[j] == u32::MAX {
                    label[j] = id;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < w {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - w);
            }
            if y + 1 < h {
                visit(i + w);
            }
        }
        comps.push(bb);
    }
    let min_side = 12;
    let keep: Vec<bool> = comps.iter().map(|b| b[2] - b[0] + 1 >= min_side && b[3] - b[1] + 1 >= min_side).collect();
    let mut points: Vec<Vec<(f32, f32)>> = vec![Vec::new(); comps.len()];
    for (i, _) in red.iter().enumerate().filter(|(_, r)| **r) {
        let l = label[i] as usize;
        if l < comps.len() && keep[l] {
            points[l].push(((i % w) as f32 + 0.5, (i / w) as f32 + 0.5));
        }
    }
    let found: Vec<Ring> = points.iter().filter(|p| p.len() >= 30).filter_map(|p| ring_shape(p, 0.6)).collect();
    // A seal's inner text can make a ring of its own: keep the outermost.
    let inside = |a: &Ring, b: &Ring| {
        a != b && a.bbox[0] >= b.bbox[0] && a.bbox[1] >= b.bbox[1] && a.bbox[2] <= b.bbox[2] && a.bbox[3] <= b.bbox[3]
    };
    found
        .iter()
        .filter(|a| !found.iter().any(|b| inside(a, b)))
        .filter(|a| !letterhead_emblem(a, red, w, h))
        .copied()
        .collect()
}

/// A round emblem printed in a red letterhead: near the top of the page, with as much red
/// again (the school's name, a rule) beside it on the same line. Seals are stamped by the
/// signature, not in the letterhead.
fn letterhead_emblem(ring: &Ring, red: &[bool], w: usize, h: usize) -> bool {
    let [x0, y0, x1, y1] = ring.bbox.map(|v| v.max(0.0) as usize);
    if (y0 + y1) / 2 > h / 5 {
        return false;
    }
    let margin = (ring.diameter * 0.15) as usize;
    let (mut own, mut beside) = (0usize, 0usize);
    for y in y0..=y1.min(h - 1) {
        for x in 0..w {
            if !red[y * w + x] {
                continue;
            }
            if x + margin >= x0 && x <= x1 + margin {
                own += 1;
            } else {
                beside += 1;
            }
        }
    }
    beside * 2 >= own
}

fn dilate(mask: &[bool], w: usize, h: usize, d: usize) -> Vec<bool> {
    let mut rows = vec![false; w * h];
    for y in 0..h {
        let line = &mask[y * w..(y + 1) * w];
        let mut last: Option<usize> = None;
        for x in 0..w {
            if line[x] {
                last = Some(x);
            }
            // forward pass marks x if a set pixel lies within d to the left
            if last.is_some_and(|l| x - l <= d) {
                rows[y * w + x] = true;
            }
        }
        let mut next: Option<usize> = None;
        for x in (0..w).rev() {
            if line[x] {
                next = Some(x);
            }
            if next.is_some_and(|nx| nx - x <= d) {
                rows[y * w + x] = true;
            }
        }
    }
    let mut out = vec![false; w * h];
    for x in 0..w {
        let mut last: Option<usize> = None;
        for y in 0..h {
            if rows[y * w + x] {
                last = Some(y);
            }
            if last.is_some_and(|l| y - l <= d) {
                out[y * w + x] = true;
            }
        }
        let mut next: Option<usize> = None;
        for y in (0..h).rev() {
            if rows[y * w + x] {
                next = Some(y);
            }
            if next.is_some_and(|ny| ny - y <= d) {
                out[y * w + x] = true;
            }
        }
    }
    out
}

/// Fits `points` (ink of one component, or the sampled outline of a path) in their principal
/// axes and says whether they make a ring: `max_fill` is the most of the fitted ellipse's
/// area the points may cover (pixels: 0.6; outlines are not areas).
pub fn ring_shape(points: &[(f32, f32)], max_fill: f32) -> Option<Ring> {
    let n = points.len() as f32;
    if points.len() < 12 {
        return None;
    }
    let (mx, my) = points.iter().fold((0.0, 0.0), |(a, b), p| (a + p.0, b + p.1));
    let (mx, my) = (mx / n, my / n);
    let (mut sxx, mut syy, mut sxy) = (0.0f32, 0.0f32, 0.0f32);
    for &(x, y) in points {
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
        sxy += (x - mx) * (y - my);
    }
    let theta = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let (c, s) = (theta.cos(), theta.sin());
    let mut us: Vec<f32> = points.iter().map(|&(x, y)| (x - mx) * c + (y - my) * s).collect();
    let mut vs: Vec<f32> = points.iter().map(|&(x, y)| -(x - mx) * s + (y - my) * c).collect();
    let (u0, u1) = extent(&mut us);
    let (v0, v1) = extent(&mut vs);
    let (cu, cv) = ((u0 + u1) / 2.0, (v0 + v1) / 2.0);
    let (a, b) = ((u1 - u0) / 2.0, (v1 - v0) / 2.0);
    if a.min(b) < 5.0 || a.max(b) / a.min(b) > 1.8 {
        return None;
    }
    let mut ring = [0usize; SECTORS];
    let mut on_ring = 0usize;
    let mut beyond = 0usize;
    for &(x, y) in points {
        let (u, v) = ((x - mx) * c + (y - my) * s - cu, -(x - mx) * s + (y - my) * c - cv);
        let (nu, nv) = (u / a, v / b);
        let rho = (nu * nu + nv * nv).sqrt();
        if rho > 1.12 {
            beyond += 1;
        }
        if (0.8..=1.06).contains(&rho) {
            let angle = nv.atan2(nu) + std::f32::consts::PI;
            let k = ((angle / std::f32::consts::TAU) * SECTORS as f32) as usize;
            ring[k.min(SECTORS - 1)] += 1;
            on_ring += 1;
        }
    }
    let covered = ring.iter().filter(|&&k| k >= 2).count();
    let fill = n / (std::f32::consts::PI * a * b);
    let ring_share = on_ring as f32 / n;
    // An ellipse's outline leaves nothing beyond it; a rectangle's corners stick out.
    let corners = beyond as f32 / n;
    if covered * 10 < SECTORS * 7 || ring_share < 0.2 || fill > max_fill || corners > 0.04 {
        return None;
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for &(x, y) in points {
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    Some(Ring { bbox: [x0, y0, x1, y1], diameter: 2.0 * a.max(b) })
}

/// The 0.5 % and 99.5 % points of `values` (a stray pixel does not stretch the fit).
fn extent(values: &mut [f32]) -> (f32, f32) {
    values.sort_by(f32::total_cmp);
    let k = values.len() / 200;
    (values[k], values[values.len() - 1 - k])
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
