//! Dead-zone scalar quantisation with per-class rounding and reconstruction points.
//!
//! A coefficient `y` with step `s` becomes the magnitude `m = floor(|y| / s + r)` and a sign;
//! `r <= 1/2` is the class's rounding offset (smaller than 1/2 widens the zero bin, which pays
//! off at low rates). The decoder puts it back at `(m - d) * s`, where `d` is the class's
//! offset for `m`, learned in training (between the cell's centroid, best for the error, and
//! its middle, best for ranking).

use crate::model::{COEFF_LIMIT, Class};

/// Magnitude of `|y|` quantised with step `step` and rounding `rounding` (Q16).
#[inline]
pub fn quantise(y: i32, step: u64, rounding: u32) -> u64 {
    // |y| < 2^30 and step < 2^36: the products stay below 2^52.
    ((u64::from(y.unsigned_abs()) << 16) + u64::from(rounding) * step) / (step << 16)
}

/// Largest magnitude a valid code can carry for a step: anything above it cannot come from
/// a coefficient within `COEFF_LIMIT`, so the stream is corrupt.
#[inline]
pub fn max_magnitude(step: u64) -> u64 {
    (2 * COEFF_LIMIT as u64) / step + 1
}

/// Reconstruction of magnitude `m` (at most [`max_magnitude`]) with its sign, clamped to
/// `±2 * COEFF_LIMIT`.
#[inline]
pub fn reconstruct(m: u64, negative: bool, step: u64, class: &Class<'_>) -> i32 {
    if m == 0 {
        return 0;
    }
    let limit = 2 * COEFF_LIMIT as u64;
    // (m * 2^15 - offset) with |offset| < 2^15 and m >= 1 is positive; times the step it
    // stays below 2^53 because m * step <= 2^31 + step.
    let scaled = ((m << 15) as i64 - i64::from(class.recon(m))) as u64;
    let v = (scaled * step + (1 << 14)) >> 15;
    let v = v.min(limit) as i32;
    if negative { -v } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_half_is_nearest() {
        assert_eq!(quantise(149, 100, 1 << 15), 1);
        assert_eq!(quantise(150, 100, 1 << 15), 2);
        assert_eq!(quantise(-250, 100, 1 << 15), 3);
        assert_eq!(quantise(49, 100, 1 << 15), 0);
    }

    #[test]
    fn dead_zone_widens_zero_bin() {
        // rounding 1/4: zero bin is |y| < 0.75 step.
        assert_eq!(quantise(74, 100, 1 << 14), 0);
        assert_eq!(quantise(75, 100, 1 << 14), 1);
    }

    #[test]
    fn extremes_do_not_overflow() {
        assert_eq!(quantise(COEFF_LIMIT, 1, 1 << 15), COEFF_LIMIT as u64);
        assert_eq!(quantise(-COEFF_LIMIT, (1 << 30) + 1, 1 << 15), 0);
        assert_eq!(quantise(i32::MIN + 1, 1 << 35, 1 << 15), 0);
    }
}
