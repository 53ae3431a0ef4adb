//! The shape test: whether a set of points (one red component's pixels, or the sampled
//! outline of a vector path) makes a ring or oval, fitted in its own principal axes.

use super::Ring;

const SECTORS: usize = 36;

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
