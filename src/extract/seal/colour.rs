//! Colour: the paper's colour (balanced to white), which pixels are red ink, whether there is
//! any ink or any colour at all. One pass for the paper, one to mark red and ink.

use crate::extract::raster::Raster;

/// What the marking pass found.
pub(super) struct Marks {
    /// Red ink, one flag a pixel, rows top to bottom.
    pub red: Vec<bool>,
    pub reds: usize,
    /// Pixels with a clear difference between channels.
    pub coloured: usize,
    /// Next to no ink inside the margins.
    pub blank: bool,
    /// The box `[x0, y0, x1, y1]` (inclusive) around the red pixels, if any.
    pub red_box: Option<[usize; 4]>,
}

/// Marks red and ink on an RGB picture (`channels` = 3, at least one pixel).
pub(super) fn mark(r: &Raster) -> Marks {
    let (w, h) = (r.width, r.height);
    let paper = paper_colour(&r.data, w * h);
    // Balance the paper to white (a lookup table per channel); a dark picture (little paper)
    // is left alone.
    let gain: [f32; 3] = paper.map(|p| if p > 60.0 { (255.0 / p).clamp(1.0, 2.5) } else { 1.0 });
    let lut: [[u8; 256]; 3] = gain.map(|g| std::array::from_fn(|v| (v as f32 * g).min(255.0) as u8));
    let paper_lum = ((paper[0] * gain[0] + paper[1] * gain[1] + paper[2] * gain[2]) / 3.0).min(255.0);
    let dark = (paper_lum * 0.72 * 3.0) as i32;
    let mut red = vec![false; w * h];
    let (mut coloured, mut ink, mut reds) = (0usize, 0usize, 0usize);
    let mut red_box: Option<[usize; 4]> = None;
    let (mx, my) = (w / 25, h / 25);
    let mut balanced = Planes::new(w);
    for (y, (row, red_row)) in r.data.chunks_exact(w * 3).zip(red.chunks_exact_mut(w)).enumerate() {
        balanced.fill(row, &lut);
        let inner = if y >= my && y < h - my { mx..w - mx } else { 0..0 };
        let counts = classify(&balanced, red_row, dark, inner);
        coloured += counts.coloured;
        ink += counts.ink;
        reds += counts.reds;
        if counts.reds > 0 {
            let first = red_row.iter().position(|&v| v).unwrap_or(0);
            let last = red_row.iter().rposition(|&v| v).unwrap_or(w - 1);
            let b = red_box.get_or_insert([first, y, last, y]);
            *b = [b[0].min(first), b[1], b[2].max(last), y];
        }
    }
    let inner = (w - 2 * mx) * (h - 2 * my);
    let blank = (ink as f64) < (inner.max(1) as f64) * 0.0008;
    Marks { red, reds, coloured, blank, red_box }
}

/// One row of balanced channels, each in its own array (so that [`classify`] runs on whole
/// vectors of pixels at once).
struct Planes {
    r: Vec<i16>,
    g: Vec<i16>,
    b: Vec<i16>,
}

impl Planes {
    fn new(w: usize) -> Planes {
        Planes { r: vec![0; w], g: vec![0; w], b: vec![0; w] }
    }

    /// Balances one RGB row through the per-channel lookup tables.
    fn fill(&mut self, row: &[u8], lut: &[[u8; 256]; 3]) {
        for (((p, r), g), b) in row.chunks_exact(3).zip(&mut self.r).zip(&mut self.g).zip(&mut self.b) {
            (*r, *g, *b) =
                (i16::from(lut[0][p[0] as usize]), i16::from(lut[1][p[1] as usize]), i16::from(lut[2][p[2] as usize]));
        }
    }
}

/// Counts over one row.
struct RowCounts {
    coloured: usize,
    reds: usize,
    ink: usize,
}

/// Marks the red pixels of one balanced row and counts coloured pixels, red ones and ink
/// (dark or red) within `inner`. Branch-free, so that it runs on vectors.
fn classify(p: &Planes, red_row: &mut [bool], dark: i32, inner: std::ops::Range<usize>) -> RowCounts {
    let dark = dark.clamp(0, 1000) as i16;
    let (mut coloured, mut reds, mut ink) = (0u32, 0u32, 0u32);
    for (x, (((&r, &g), &b), out)) in p.r.iter().zip(&p.g).zip(&p.b).zip(red_row.iter_mut()).enumerate() {
        let (hi, lo) = (r.max(g).max(b), r.min(g).min(b));
        coloured += u32::from(hi - lo > 40);
        let is_red = is_red(r, g, b);
        *out = is_red;
        reds += u32::from(is_red);
        let inside = (x >= inner.start) & (x < inner.end);
        ink += u32::from(inside & ((r + g + b < dark) | is_red));
    }
    RowCounts { coloured: coloured as usize, reds: reds as usize, ink: ink as usize }
}

/// The paper's colour: the mean of the brightest tenth of the pixels (a histogram of
/// brightness, then the colour summed over the pixels at or above its 90 % level).
fn paper_colour(data: &[u8], n: usize) -> [f32; 3] {
    let level = |p: &[u8]| (u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2])) / 3;
    // Four histograms filled in turn: paper pixels fall in the same few levels, and counting
    // them one after another in one table waits on each count.
    let mut parts = [[0u32; 256]; 4];
    let quads = data.chunks_exact(12);
    for p in quads.remainder().chunks_exact(3) {
        parts[0][level(p) as usize] += 1;
    }
    for q in quads {
        for (k, part) in parts.iter_mut().enumerate() {
            part[level(&q[k * 3..]) as usize] += 1;
        }
    }
    let hist: [usize; 256] = std::array::from_fn(|l| parts.iter().map(|p| p[l] as usize).sum());
    let bright = level_at(&hist, n, 0.90);
    let count: usize = hist[bright..].iter().sum();
    let mut sums = [0u64; 3];
    for p in data.chunks_exact(3) {
        let take = u64::from(level(p) as usize >= bright);
        for c in 0..3 {
            sums[c] += u64::from(p[c]) * take;
        }
    }
    sums.map(|s| (s as f64 / count.max(1) as f64) as f32)
}

/// Red ink: hue within about 25° of red, saturated, not dark (0–255 channels; every product
/// stays within `i16`). All conditions evaluated, without branches.
fn is_red(r: i16, g: i16, b: i16) -> bool {
    let (hi, lo) = (g.max(b), g.min(b));
    let span = r - lo;
    (r >= 90) & (r - hi >= 45) & (span * 10 >= r * 3) & ((hi - lo) * 100 <= 45 * span)
}

/// The largest difference between channels over the picture (0 for true grey samples).
pub(super) fn chroma_spread(r: &Raster) -> u8 {
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

/// Whether a one-channel picture shows next to no ink inside its margins.
pub(super) fn blank_grey(r: &Raster) -> bool {
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
