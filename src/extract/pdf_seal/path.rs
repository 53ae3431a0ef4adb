//! Page geometry and paint: PDF's affine matrices, the graphics state a content stream
//! changes, paths sampled into points in page space, and which colours are red.

use lopdf::Object;

/// The affine matrix `[a b c d e f]` of PDF.
pub(super) type Matrix = [f32; 6];
pub(super) const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

pub(super) fn mul(m: &Matrix, n: &Matrix) -> Matrix {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}

pub(super) fn apply(m: &Matrix, x: f32, y: f32) -> (f32, f32) {
    (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
}

/// The graphics state followed: transformation and colours, saved and restored by `q`/`Q`.
pub(super) struct State {
    pub ctm: Matrix,
    pub fill: [f32; 3],
    pub stroke: [f32; 3],
    saved: Vec<(Matrix, [f32; 3], [f32; 3])>,
}

impl State {
    pub fn new(ctm: Matrix) -> State {
        State { ctm, fill: [0.0; 3], stroke: [0.0; 3], saved: Vec::new() }
    }

    /// Applies a state operator; false when `op` is not one.
    pub fn apply(&mut self, op: &str, o: &[Object]) -> bool {
        match op {
            "q" => self.saved.push((self.ctm, self.fill, self.stroke)),
            "Q" => {
                if let Some((m, fl, st)) = self.saved.pop() {
                    (self.ctm, self.fill, self.stroke) = (m, fl, st);
                }
            }
            "cm" => self.ctm = mul(&[f(o, 0), f(o, 1), f(o, 2), f(o, 3), f(o, 4), f(o, 5)], &self.ctm),
            "rg" | "g" | "k" | "sc" | "scn" => {
                if let Some(c) = colour(o) {
                    self.fill = c;
                }
            }
            "RG" | "G" | "K" | "SC" | "SCN" => {
                if let Some(c) = colour(o) {
                    self.stroke = c;
                }
            }
            "cs" => self.fill = [0.0; 3],
            "CS" => self.stroke = [0.0; 3],
            _ => return false,
        }
        true
    }
}

/// Operand `i` as a number (0 when missing).
fn f(o: &[Object], i: usize) -> f32 {
    o.get(i).and_then(|x| x.as_float().ok()).unwrap_or(0.0)
}

/// The path being built, its sub-paths sampled into points in page space (lines at 16 points,
/// curves at 32), so that its shape can be tested like a component's pixels.
#[derive(Default)]
pub(super) struct PathBuilder {
    pub subpaths: Vec<Vec<(f32, f32)>>,
    cur: (f32, f32),
}

impl PathBuilder {
    /// Applies a path construction operator; false when `op` is not one.
    pub fn build(&mut self, op: &str, o: &[Object], ctm: &Matrix) -> bool {
        match op {
            "m" => {
                self.cur = (f(o, 0), f(o, 1));
                self.subpaths.push(vec![apply(ctm, self.cur.0, self.cur.1)]);
            }
            "l" => {
                let (from, to) = (self.cur, (f(o, 0), f(o, 1)));
                let sub = self.current(ctm);
                for k in 1..=16 {
                    let t = k as f32 / 16.0;
                    sub.push(apply(ctm, from.0 + (to.0 - from.0) * t, from.1 + (to.1 - from.1) * t));
                }
                self.cur = to;
            }
            "c" => self.curve(ctm, (f(o, 0), f(o, 1)), (f(o, 2), f(o, 3)), (f(o, 4), f(o, 5))),
            "v" => self.curve(ctm, self.cur, (f(o, 0), f(o, 1)), (f(o, 2), f(o, 3))),
            "y" => self.curve(ctm, (f(o, 0), f(o, 1)), (f(o, 2), f(o, 3)), (f(o, 2), f(o, 3))),
            "re" => self.rect(ctm, (f(o, 0), f(o, 1)), (f(o, 2), f(o, 3))),
            _ => return false,
        }
        true
    }

    pub fn clear(&mut self) {
        self.subpaths.clear();
    }

    fn current(&mut self, ctm: &Matrix) -> &mut Vec<(f32, f32)> {
        if self.subpaths.is_empty() {
            self.subpaths.push(vec![apply(ctm, self.cur.0, self.cur.1)]);
        }
        let last = self.subpaths.len() - 1;
        &mut self.subpaths[last]
    }

    fn curve(&mut self, ctm: &Matrix, p1: (f32, f32), p2: (f32, f32), p3: (f32, f32)) {
        let p0 = self.cur;
        let sub = self.current(ctm);
        for k in 1..=32 {
            let t = k as f32 / 32.0;
            let u = 1.0 - t;
            let x = u * u * u * p0.0 + 3.0 * u * u * t * p1.0 + 3.0 * u * t * t * p2.0 + t * t * t * p3.0;
            let y = u * u * u * p0.1 + 3.0 * u * u * t * p1.1 + 3.0 * u * t * t * p2.1 + t * t * t * p3.1;
            sub.push(apply(ctm, x, y));
        }
        self.cur = p3;
    }

    fn rect(&mut self, ctm: &Matrix, (x, y): (f32, f32), (w, h): (f32, f32)) {
        let mut sub = Vec::new();
        for (a, b) in
            [((x, y), (x + w, y)), ((x + w, y), (x + w, y + h)), ((x + w, y + h), (x, y + h)), ((x, y + h), (x, y))]
        {
            for k in 0..16 {
                let t = k as f32 / 16.0;
                sub.push(apply(ctm, a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t));
            }
        }
        self.subpaths.push(sub);
        self.cur = (x, y);
    }
}

/// Red on the page: `rgb` in 0..=1.
pub(super) fn red(rgb: [f32; 3]) -> bool {
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

pub(super) fn bounds(pts: &[(f32, f32)]) -> [f32; 4] {
    pts.iter().fold([f32::MAX, f32::MAX, f32::MIN, f32::MIN], |b, &(x, y)| {
        [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)]
    })
}
