//! Red components: the red mask dilated a little (patchy ink joined), its connected
//! components, and those shaped like a ring that are not a letterhead's emblem.
//!
//! Only the window around the red pixels is looked at (their box grown by the dilation):
//! nothing outside it can be part of a component, and components are found in the same
//! (row-major) order as over the whole picture, so the result is the same.

use super::{Ring, ring_shape};

/// Ring-shaped components of a red mask (`w`×`h`) whose red pixels lie in `red_box`
/// (`[x0, y0, x1, y1]`, inclusive).
pub(super) fn rings(red: &[bool], w: usize, h: usize, red_box: [usize; 4]) -> Vec<Ring> {
    let d = (w.max(h) / 300).max(1);
    let win = Window::around(red_box, d, w, h);
    let crop: Vec<bool> = (win.y0..win.y0 + win.h).flat_map(|y| &red[y * w + win.x0..][..win.w]).copied().collect();
    let grown = dilate(&crop, win.w, win.h, d);
    let (label, comps) = components(&grown, win.w, win.h);
    let min_side = 12;
    let keep: Vec<bool> = comps.iter().map(|b| b[2] - b[0] + 1 >= min_side && b[3] - b[1] + 1 >= min_side).collect();
    let mut points: Vec<Vec<(f32, f32)>> = vec![Vec::new(); comps.len()];
    for (i, _) in crop.iter().enumerate().filter(|(_, r)| **r) {
        let l = label[i] as usize;
        if l < comps.len() && keep[l] {
            let (x, y) = (win.x0 + i % win.w, win.y0 + i / win.w);
            points[l].push((x as f32 + 0.5, y as f32 + 0.5));
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

/// A part of the picture: its top-left corner and size.
struct Window {
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
}

impl Window {
    /// `bbox` grown by `d` on every side, within the `w`×`h` picture.
    fn around(bbox: [usize; 4], d: usize, w: usize, h: usize) -> Window {
        let (x0, y0) = (bbox[0].saturating_sub(d), bbox[1].saturating_sub(d));
        let (x1, y1) = ((bbox[2] + d).min(w - 1), (bbox[3] + d).min(h - 1));
        Window { x0, y0, w: x1 + 1 - x0, h: y1 + 1 - y0 }
    }
}

/// Connected components (4-neighbours) of `mask`: a label per pixel (`u32::MAX`: none) and
/// each component's box `[x0, y0, x1, y1]`, numbered in row-major order of their first pixel.
fn components(mask: &[bool], w: usize, h: usize) -> (Vec<u32>, Vec<[usize; 4]>) {
    let mut label = vec![u32::MAX; w * h];
    let mut comps: Vec<[usize; 4]> = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !mask[start] || label[start] != u32::MAX {
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
                if mask[j] && label[j] == u32::MAX {
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
    (label, comps)
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

/// Sets every pixel within `d` (horizontally, then vertically: a square) of a set pixel.
fn dilate(mask: &[bool], w: usize, h: usize, d: usize) -> Vec<bool> {
    let mut rows = vec![false; w * h];
    for (line, out) in mask.chunks_exact(w).zip(rows.chunks_exact_mut(w)) {
        for (x, &set) in line.iter().enumerate() {
            if set {
                out[x.saturating_sub(d)..(x + d + 1).min(w)].fill(true);
            }
        }
    }
    let mut out = vec![false; w * h];
    for y in 0..h {
        let target = &mut out[y * w..(y + 1) * w];
        for from in y.saturating_sub(d)..(y + d + 1).min(h) {
            for (t, &s) in target.iter_mut().zip(&rows[from * w..(from + 1) * w]) {
                *t |= s;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dilation_makes_a_square_and_stops_at_the_edges() {
        let (w, h) = (7, 5);
        let mut mask = vec![false; w * h];
        mask[2 * w + 3] = true;
        mask[0] = true;
        let grown = dilate(&mask, w, h, 1);
        let set: Vec<(usize, usize)> = (0..w * h).filter(|&i| grown[i]).map(|i| (i % w, i / w)).collect();
        let mut want = vec![(0, 0), (1, 0), (0, 1), (1, 1)];
        for y in 1..=3 {
            for x in 2..=4 {
                want.push((x, y));
            }
        }
        want.sort_by_key(|&(x, y)| (y, x));
        assert_eq!(set, want);
    }

    #[test]
    fn the_window_covers_the_dilation_within_the_picture() {
        let win = Window::around([0, 3, 9, 9], 2, 10, 10);
        assert_eq!((win.x0, win.y0, win.w, win.h), (0, 1, 10, 9));
    }
}
