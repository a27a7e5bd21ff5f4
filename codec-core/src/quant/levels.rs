//! Quantiser levels: dead-zone scalar quantisation with per-class rounding, and where a
//! magnitude on a grid level reconstructs (shared by the scalar quantiser and the trellis).
//!
//! A coefficient `y` with step `s` becomes the magnitude `m = floor(|y| / s + r)` and a sign;
//! `r <= 1/2` is the class's rounding offset (smaller than 1/2 widens the zero bin, which pays
//! off at low rates). The decoder puts it back at `(m - d) * s`, where `d` is the class's
//! offset for `m`, learned in training (between the cell's centroid, best for the error, and
//! its middle, best for ranking). A model with the trellis flag quantises with two interleaved
//! quantisers instead (`trellis.rs`), whose levels reconstruct here too.

use crate::format::{COEFF_LIMIT, Class};

/// Magnitude of `|y|` quantised with step `step` and rounding `rounding` (Q16).
#[inline]
pub fn quantise(y: i32, step: u64, rounding: u32) -> u64 {
    // |y| < 2^30 and step < 2^41 (growth included): the products stay below 2^57. A step is
    // never 0 (`Model::step`); `checked_div` keeps a division panic out of firmware images.
    ((u64::from(y.unsigned_abs()) << 16) + u64::from(rounding) * step)
        .checked_div(step << 16)
        .unwrap_or(0)
}

/// Largest magnitude a valid code can carry for a step: anything above it cannot come from
/// a coefficient within `COEFF_LIMIT`, so the stream is corrupt.
#[inline]
pub fn max_magnitude(step: u64) -> u64 {
    (2 * COEFF_LIMIT as u64).checked_div(step).unwrap_or(0) + 1
}

/// Reconstruction of magnitude `m` (at most [`max_magnitude`]) with its sign, clamped to
/// `±2 * COEFF_LIMIT`, on the one-quantiser grid (level `m`).
#[inline]
pub fn reconstruct(m: u64, negative: bool, step: u64, class: &Class<'_>) -> i32 {
    reconstruct_level(m, m, negative, step, class)
}

/// Reconstruction of magnitude `m` that sits on grid level `level` (in steps: `m` for one
/// quantiser, `2m` or `2m - 1` under the trellis), moved by the class's offset for `m`.
#[inline]
pub fn reconstruct_level(level: u64, m: u64, negative: bool, step: u64, class: &Class<'_>) -> i32 {
    if m == 0 {
        return 0;
    }
    let v = level_magnitude(level, class.recon(m), step) as i32;
    if negative { -v } else { v }
}

/// `(level - offset / 2^15) * step`, rounded, for a grid level `level >= 1` and a class's
/// offset (Q15, `|offset| < 2^15`), clamped to `2 * COEFF_LIMIT`.
#[inline]
pub fn level_magnitude(level: u64, offset: i32, step: u64) -> u32 {
    // (level * 2^15 - offset) is positive. Every caller's level times the step stays below
    // 2^42: a decoded magnitude is at most 2^30 / step + 1 (`max_magnitude`, checked by the
    // decoder), a dead-zone magnitude at most |y| / step + 1, a trellis candidate at most
    // (|y| / step + 3) / 2, with |y| < 2^31 and steps at most 2^40 (growth included). So the
    // product stays below 2^57 and plain arithmetic suffices; the encoder's search calls this for every candidate,
    // where saturating 64-bit products cost a 32-bit core 3-6% of an encode.
    let scaled = ((level << 15) as i64 - i64::from(offset)) as u64;
    ((scaled * step + (1 << 14)) >> 15).min(2 * COEFF_LIMIT as u64) as u32
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
