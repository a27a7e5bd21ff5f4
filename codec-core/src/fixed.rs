//! Exact conversions between `f32` and fixed-point integers, done on the bit pattern.
//!
//! Host and microcontroller must produce the same bytes, so nothing in the codec's bit-exact
//! path uses floating-point arithmetic: a float is decoded into sign, exponent and mantissa and
//! shifted with round-half-to-even; the way back assembles the bits of the nearest `f32`.

/// Magnitude limit of a fixed-point input value. Values beyond it saturate: a vector that large
/// is far outside anything a model was trained on, and the limit keeps every later product and
/// sum inside `i64` (see `transform`).
pub const INPUT_LIMIT: i32 = 1 << 24;

/// `round_half_even(x * 2^shift)` saturated to `[-INPUT_LIMIT, INPUT_LIMIT]`, or `None` for
/// NaN and infinities. Subnormals are exact inputs like any other.
pub fn f32_to_fixed(x: f32, shift: i32) -> Option<i32> {
    let bits = x.to_bits();
    let negative = bits >> 31 != 0;
    let exp = ((bits >> 23) & 0xFF) as i32;
    let frac = bits & 0x007F_FFFF;
    if exp == 0xFF {
        return None;
    }
    // x = m * 2^e exactly.
    let (m, e) = if exp == 0 {
        (frac, -149)
    } else {
        (frac | 0x0080_0000, exp - 150)
    };
    let t = e + shift;
    let magnitude: u32 = if m == 0 {
        0
    } else if t >= 0 {
        // m < 2^24, so any t above 7 already exceeds the limit.
        if t > 7 {
            INPUT_LIMIT as u32
        } else {
            (m << t).min(INPUT_LIMIT as u32)
        }
    } else {
        let n = (-t) as u32;
        if n >= 26 {
            0 // m * 2^-n < 2^24 * 2^-26 = 1/4: rounds to 0
        } else {
            round_shift_right(u64::from(m), n) as u32
        }
    }
    .min(INPUT_LIMIT as u32);
    let v = magnitude as i32;
    Some(if negative { -v } else { v })
}

/// `round_half_even(a / 2^n)` for `n` in `1..=63`.
fn round_shift_right(a: u64, n: u32) -> u64 {
    let q = a >> n;
    let rem = a & ((1u64 << n) - 1);
    let half = 1u64 << (n - 1);
    if rem > half || (rem == half && q & 1 == 1) {
        q + 1
    } else {
        q
    }
}

/// Largest magnitude accepted by [`fixed_to_f32`]; keeps every result a normal float for the
/// shifts a model may use (`MAX_SHIFT`).
pub const OUTPUT_LIMIT: i64 = 1 << 40;

/// Largest `|shift|` a model may use.
pub const MAX_SHIFT: i32 = 64;

/// The `f32` nearest to `v * 2^-shift` (ties to even), for `|v| <= OUTPUT_LIMIT` (saturated)
/// and `|shift| <= MAX_SHIFT` (clamped). Zero maps to `+0.0`.
pub fn fixed_to_f32(v: i64, shift: i32) -> f32 {
    if v == 0 {
        return 0.0;
    }
    let shift = shift.clamp(-MAX_SHIFT, MAX_SHIFT);
    let negative = v < 0;
    let mut a = v.unsigned_abs().min(OUTPUT_LIMIT as u64);
    let mut top = 63 - a.leading_zeros() as i32; // a in [2^top, 2^(top+1))
    if top > 23 {
        a = round_shift_right(a, (top - 23) as u32);
        if a == 1 << 24 {
            a >>= 1;
            top += 1;
        }
    } else {
        a <<= 23 - top;
    }
    // value = 1.f * 2^(top - shift); with top <= 40 and |shift| <= 64 the biased exponent is
    // within 127 - 64 .. 127 + 105: always a normal float.
    let biased = (top - shift + 127) as u32;
    let bits = (u32::from(negative) << 31) | (biased << 23) | (a as u32 & 0x007F_FFFF);
    f32::from_bits(bits)
}

/// `256 * log2(f)` for `f >= 1`, with the mantissa's logarithm taken as linear (off by at most
/// 0.09 bit, the same on every platform).
#[inline]
pub fn log2_q8(f: u32) -> u64 {
    let n = 31 - f.leading_zeros();
    let frac = if n >= 8 { f >> (n - 8) } else { f << (8 - n) } & 0xFF;
    (u64::from(n) << 8) + u64::from(frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `2^e` built from its bits: exact everywhere (Miri deliberately perturbs `powi`).
    fn pow2(e: i32) -> f64 {
        f64::from_bits(((1023 + e) as u64) << 52)
    }

    /// Reference through f64, whose 53-bit mantissa holds every value exactly.
    fn reference_to_fixed(x: f32, shift: i32) -> i32 {
        let v = (f64::from(x) * pow2(shift)).round_ties_even();
        v.clamp(-f64::from(INPUT_LIMIT), f64::from(INPUT_LIMIT)) as i32
    }

    fn reference_to_f32(v: i64, shift: i32) -> f32 {
        (v as f64 * pow2(-shift)) as f32
    }

    /// Miri runs every test but is ~1000x slower: it gets a sample of the cases.
    const CASES: usize = if cfg!(miri) { 300 } else { 200_000 };

    #[test]
    fn to_fixed_matches_reference() {
        let shifts = [-20, -3, 0, 1, 7, 12, 14, 20, 30];
        let mut s: u32 = 1;
        for _ in 0..CASES {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let x = f32::from_bits(s);
            if !x.is_finite() {
                assert_eq!(f32_to_fixed(x, 0), None);
                continue;
            }
            for &sh in &shifts {
                assert_eq!(
                    f32_to_fixed(x, sh),
                    Some(reference_to_fixed(x, sh)),
                    "x={x:e} shift={sh}"
                );
            }
        }
    }

    #[test]
    fn to_fixed_edge_cases() {
        assert_eq!(f32_to_fixed(0.5, 0), Some(0)); // tie to even
        assert_eq!(f32_to_fixed(1.5, 0), Some(2));
        assert_eq!(f32_to_fixed(2.5, 0), Some(2));
        assert_eq!(f32_to_fixed(-2.5, 0), Some(-2));
        assert_eq!(f32_to_fixed(-0.0, 0), Some(0));
        assert_eq!(
            f32_to_fixed(f32::MIN_POSITIVE / 2.0, 60),
            Some(reference_to_fixed(f32::MIN_POSITIVE / 2.0, 60))
        );
        assert_eq!(f32_to_fixed(f32::MAX, 14), Some(INPUT_LIMIT));
        assert_eq!(f32_to_fixed(f32::MIN, 14), Some(-INPUT_LIMIT));
        assert_eq!(f32_to_fixed(f32::NAN, 14), None);
        assert_eq!(f32_to_fixed(f32::INFINITY, 14), None);
        assert_eq!(f32_to_fixed(f32::NEG_INFINITY, 14), None);
    }

    #[test]
    fn to_f32_matches_reference() {
        let mut s: u64 = 7;
        for _ in 0..CASES {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let bits = (s >> 20) % 41; // magnitudes up to 2^40
            let v = ((s >> 3) & ((1u64 << bits) - 1)) as i64 * if s & 1 == 0 { 1 } else { -1 };
            for sh in [-64, -10, 0, 3, 14, 15, 30, 64] {
                assert_eq!(
                    fixed_to_f32(v, sh).to_bits(),
                    reference_to_f32(v, sh).to_bits(),
                    "v={v} shift={sh}"
                );
            }
        }
    }

    #[test]
    fn round_trip_is_exact_for_representable_values() {
        for v in [-INPUT_LIMIT, -12345, -1, 0, 1, 77, INPUT_LIMIT] {
            for sh in [-8, 0, 14, 20] {
                assert_eq!(f32_to_fixed(fixed_to_f32(i64::from(v), sh), sh), Some(v));
            }
        }
    }

    #[test]
    fn log2_estimate_is_never_above_and_at_most_0_09_bit_below() {
        for f in (1u32..=1 << 15)
            .step_by(7)
            .chain([1, 2, 3, 255, 256, 32767, 32768])
        {
            let estimate = log2_q8(f) as f64 / 256.0;
            let exact = f64::from(f).log2();
            assert!(estimate <= exact + 1e-9, "{f}: {estimate} > {exact}");
            assert!(exact - estimate < 0.09, "{f}: {estimate} vs {exact}");
        }
    }
}
