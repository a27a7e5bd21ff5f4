//! The learned linear transform in fixed point: centring, projection onto the model's basis,
//! and the way back.
//!
//! Bounds that keep every sum inside `i64`: centred inputs are below 2^25 in magnitude,
//! transform entries at most 2^15, and at most 2^11 terms per sum, so a forward sum stays below
//! 2^51; coefficients on the way back are at most 2^30 and at most 2^10 of them meet one
//! output, so an inverse sum stays below 2^56.

use crate::error::Error;
use crate::fixed::{OUTPUT_LIMIT, f32_to_fixed, fixed_to_f32};
use crate::format::{COEFF_LIMIT, Model, ModelInternals, TRANSFORM_BITS};

/// Convert and centre the active dimensions of `x` into `centred` (`active_count` values).
/// Every value of `x`, active or not, must be finite.
pub fn centre(model: &Model<'_>, x: &[f32], centred: &mut [i32]) -> Result<(), Error> {
    if x.len() != model.dim() {
        return Err(Error::DimensionMismatch {
            expected: model.dim(),
            actual: x.len(),
        });
    }
    if let Some(index) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite { index });
    }
    let shift = model.shift();
    for (i, c) in centred.iter_mut().enumerate().take(model.active_count()) {
        let d = model.active_index(i);
        let v = x.get(d).copied().unwrap_or(0.0);
        // Finite was checked above, so the conversion cannot fail.
        let fixed = f32_to_fixed(v, shift).unwrap_or(0);
        *c = fixed - model.mean(d);
    }
    Ok(())
}

/// `coeffs[k] = round(sum_j T[k][j] * centred[j] / 2^15)`, clamped to `COEFF_LIMIT`.
pub fn forward(model: &Model<'_>, centred: &[i32], coeffs: &mut [i32]) {
    let centred = centred.get(..model.active_count()).unwrap_or(centred);
    for (k, y) in coeffs.iter_mut().enumerate().take(model.coeffs()) {
        *y = coefficient(dot(model.transform_row(k), centred));
    }
}

/// A coefficient from its sum `sum_j T[k][j] * centred[j]`: `round(sum / 2^15)` (halves up),
/// clamped to `COEFF_LIMIT`. Apart so that a host computing the sums of many vectors at once
/// (`codec-host`'s batch encoding) rounds them exactly as [`forward`] does.
#[inline]
pub fn coefficient(sum: i64) -> i32 {
    // `(sum + 2^14) >> 15` without overflowing on any `sum`, as in `finish_inverse`.
    let v = ((sum >> (TRANSFORM_BITS - 1)) + 1) >> 1;
    v.clamp(-i64::from(COEFF_LIMIT), i64::from(COEFF_LIMIT)) as i32
}

/// `sum_j row[j] * centred[j]`, `row` holding as many little-endian i16 as `centred` has values.
/// On 32-bit Arm in blocks of eight terms: the projection is the largest part of an encode,
/// and in the plain loop the compiler's unrolling read the entries byte by byte and spilled
/// registers, twice the instructions per multiply-add on a Cortex-M4
/// (`docs/decisions/0021-encode-cost-on-cortex-m.md`). Elsewhere the plain loop, which the
/// vectorisers of x86-64 and AArch64 handle better than the blocks. Both give the same sum.
#[inline]
fn dot(row: &[u8], centred: &[i32]) -> i64 {
    if cfg!(target_arch = "arm") {
        dot_blocks(row, centred)
    } else {
        dot_plain(row, centred)
    }
}

#[inline]
fn dot_plain(row: &[u8], centred: &[i32]) -> i64 {
    let mut acc: i64 = 0;
    for (t, &c) in row.chunks_exact(2).zip(centred) {
        acc += entry(t, 0) * i64::from(c);
    }
    acc
}

#[inline]
fn dot_blocks(row: &[u8], centred: &[i32]) -> i64 {
    let mut acc: i64 = 0;
    let rows = row.chunks_exact(16);
    let values = centred.chunks_exact(8);
    let (row_tail, values_tail) = (rows.remainder(), values.remainder());
    for (t, c) in rows.zip(values) {
        for (i, &c) in c.iter().enumerate() {
            acc += entry(t, i) * i64::from(c);
        }
    }
    for (t, &c) in row_tail.chunks_exact(2).zip(values_tail) {
        acc += entry(t, 0) * i64::from(c);
    }
    acc
}

/// `acc[j] += row[j] * y`, `row` holding as many little-endian i16 as `acc` has values; in
/// blocks on 32-bit Arm, as [`dot`].
#[inline]
fn axpy(row: &[u8], y: i64, acc: &mut [i64]) {
    if cfg!(target_arch = "arm") {
        axpy_blocks(row, y, acc);
    } else {
        axpy_plain(row, y, acc);
    }
}

#[inline]
fn axpy_plain(row: &[u8], y: i64, acc: &mut [i64]) {
    for (a, t) in acc.iter_mut().zip(row.chunks_exact(2)) {
        *a += entry(t, 0) * y;
    }
}

#[inline]
fn axpy_blocks(row: &[u8], y: i64, acc: &mut [i64]) {
    let rows = row.chunks_exact(16);
    let row_tail = rows.remainder();
    let mut sums = acc.chunks_exact_mut(8);
    for (t, a) in rows.zip(sums.by_ref()) {
        for (i, a) in a.iter_mut().enumerate() {
            *a += entry(t, i) * y;
        }
    }
    for (t, a) in row_tail.chunks_exact(2).zip(sums.into_remainder()) {
        *a += entry(t, 0) * y;
    }
}

/// Entry `i` of `t`, little-endian i16s.
#[inline]
fn entry(t: &[u8], i: usize) -> i64 {
    i64::from(i16::from_le_bytes([t[2 * i], t[2 * i + 1]]))
}

/// Reconstruct the whole vector from coefficients: `x = mean + T^T coeffs`, clamped to the
/// training range when the model says so, and converted to `f32` exactly.
/// `acc` is scratch of at least `active_count` values.
pub fn inverse(model: &Model<'_>, coeffs: &[i32], acc: &mut [i64], out: &mut [f32]) {
    let active = model.active_count().min(acc.len());
    let acc = &mut acc[..active];
    acc.fill(0);
    for (k, &y) in coeffs.iter().enumerate().take(model.coeffs()) {
        if y == 0 {
            continue;
        }
        axpy(model.transform_row(k), i64::from(y), acc);
    }
    finish_inverse(model, acc, out);
}

/// The end of [`inverse`]: from the sums `acc[i] = sum_k T[k][i] * coeffs[k]` (one per active
/// dimension) to the whole vector. Apart so that a host computing the sums of many vectors at
/// once (`codec-host`'s batch decoding) finishes each exactly as [`inverse`] does.
pub fn finish_inverse(model: &Model<'_>, acc: &[i64], out: &mut [f32]) {
    let shift = model.shift();
    for (d, o) in out.iter_mut().enumerate().take(model.dim()) {
        *o = fixed_to_f32(i64::from(model.mean(d)), shift);
    }
    for (i, &a) in acc.iter().enumerate().take(model.active_count()) {
        let d = model.active_index(i);
        // `(a + 2^14) >> 15`, rounded the same way without overflowing on any `a`: the sums
        // now come from outside too.
        let rounded = ((a >> (TRANSFORM_BITS - 1)) + 1) >> 1;
        let mut v = i64::from(model.mean(d)) + rounded;
        v = if model.clamps() {
            let (lo, hi) = model.clamp_range(i);
            // max/min, not clamp, which panics on crossed bounds (validation rules them out).
            v.max(i64::from(lo)).min(i64::from(hi))
        } else {
            v.clamp(-OUTPUT_LIMIT, OUTPUT_LIMIT)
        };
        if let Some(o) = out.get_mut(d) {
            *o = fixed_to_f32(v, shift);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{axpy, axpy_blocks, axpy_plain, dot, dot_blocks, dot_plain};

    #[test]
    fn the_overflow_free_rounding_of_finish_inverse_is_the_plain_one() {
        let near = |c: i64| (-40_000..40_000).map(move |d| c + d);
        let values = near(0)
            .chain(near(1 << 40))
            .chain(near(-(1 << 40)))
            .chain(near(12_345_678_901));
        for a in values {
            assert_eq!(((a >> 14) + 1) >> 1, (a + (1 << 14)) >> 15, "{a}");
        }
        assert_eq!(((i64::MAX >> 14) + 1) >> 1, 1 << 48);
    }

    #[test]
    fn dot_and_axpy_match_the_plain_sums_at_every_length_and_at_the_extremes() {
        // Lengths around the eight-term blocks, entries and values at their limits.
        for n in 0..40usize {
            let entries: [i16; 40] = core::array::from_fn(|j| match j % 5 {
                0 => i16::MIN,
                1 => i16::MAX,
                _ => (j as i16).wrapping_mul(977) ^ 0x5a5a,
            });
            let values: [i32; 40] = core::array::from_fn(|j| {
                if j % 3 == 0 {
                    -(1 << 25)
                } else {
                    (j as i32) * 40_503 - 700_000
                }
            });
            let mut row = [0u8; 80];
            for (b, e) in row.chunks_exact_mut(2).zip(entries) {
                b.copy_from_slice(&e.to_le_bytes());
            }
            let plain: i64 = (0..n)
                .map(|j| i64::from(entries[j]) * i64::from(values[j]))
                .sum();
            for dot in [dot, dot_plain, dot_blocks] {
                assert_eq!(dot(&row[..2 * n], &values[..n]), plain, "length {n}");
            }
            let y = -(1i64 << 30) + 12_345;
            for axpy in [axpy, axpy_plain, axpy_blocks] {
                let mut acc: [i64; 40] = core::array::from_fn(|j| i64::from(values[j]));
                axpy(&row[..2 * n], y, &mut acc[..n]);
                for j in 0..40 {
                    let moved = if j < n { i64::from(entries[j]) * y } else { 0 };
                    assert_eq!(
                        acc[j],
                        i64::from(values[j]) + moved,
                        "length {n}, entry {j}"
                    );
                }
            }
        }
    }
}
