//! The step grid: a coefficient's effective step and probability class at a step index
//! (with the low-rate step growth), and the step index a code's length predicts.

use super::layout::*;
use crate::fixed::log2_q8;

/// The step grid's arithmetic on a model, for the codec's stages, training and probes: not a
/// stable interface (see [`crate::internals`]).
pub trait StepGrid {
    /// Effective step of coefficient `k` at step index `j`, in input fixed-point units.
    fn step(&self, k: usize, j: usize) -> u64;
    /// [`StepGrid::step`] and [`StepGrid::class_for`] together, computing the growth once
    /// (the coder's inner loops need both for every coefficient).
    fn step_and_class(&self, spread_log: i32, k: usize, j: usize) -> (u64, usize);
    /// Low-rate step growth of coefficient `k` at step index `j`, `log2` Q8, a multiple of 16
    /// in `0..=MAX_GROWTH_LOG` (see [`StepGrowth`]).
    fn growth_log(&self, k: usize, j: usize) -> i32;
    /// Probability class of coefficient `k` at step index `j`: how large the coefficient's
    /// spread is relative to its step, on a log scale.
    fn class_of(&self, k: usize, j: usize) -> usize;
    /// Probability class of a value of coefficient `k` whose spread (over its weight) is
    /// `2^(spread_log / 256)`, at step index `j`: the ratio of that spread to the
    /// coefficient's step, growth included.
    fn class_for(&self, spread_log: i32, k: usize, j: usize) -> usize;
    /// The step index a code of `length` bytes is predicted to have: the trained centres
    /// interpolated (see [`predict_step`]); `None` only for
    /// `ModelInternals::with_plain_step_prior`.
    fn step_prediction(&self, length: usize) -> Option<usize>;
}

impl StepGrid for Model<'_> {
    fn step(&self, k: usize, j: usize) -> u64 {
        grown_step(self, k, j, self.growth_log(k, j))
    }
    #[inline]
    fn step_and_class(&self, spread_log: i32, k: usize, j: usize) -> (u64, usize) {
        let g = self.growth_log(k, j);
        (
            grown_step(self, k, j, g),
            grown_class(self, spread_log, g, j),
        )
    }
    fn growth_log(&self, k: usize, j: usize) -> i32 {
        let slope = i32::from(self.growth.slope);
        if slope == 0 {
            // Models without growth skip its arithmetic on every call.
            return 0;
        }
        let threshold = i32::from(self.growth.threshold);
        // The spread log is an i16 and the step log validated to at most 2^16 in magnitude,
        // the slope to 2^10: the product stays inside i32 after the clamp.
        let d = i32::from(i16_at(self.coef_class_log, k)) - i32_at(self.step_log, j);
        let below = (threshold - d).clamp(0, 1 << 16);
        ((slope * below) >> 8).min(MAX_GROWTH_LOG) & !15
    }
    fn class_of(&self, k: usize, j: usize) -> usize {
        self.class_for(i32::from(i16_at(self.coef_class_log, k)), k, j)
    }
    // The spread log is clamped to 2^24 in magnitude (a scalable layer's comes from a step
    // log), the growth is at most 2^10 and step logs are validated to at most 2^16
    // (STEP_LOG_LIMIT), so the difference stays below 2^24 + 2^17 and its product with at most
    // 64 classes per octave inside `i32`.
    fn class_for(&self, spread_log: i32, k: usize, j: usize) -> usize {
        grown_class(self, spread_log, self.growth_log(k, j), j)
    }
    fn step_prediction(&self, length: usize) -> Option<usize> {
        (self.flags & PLAIN_STEP_PRIOR == 0).then(|| {
            predict_step(
                self.budget_count,
                |i| {
                    (
                        usize::from(u16_at(self.budgets, i)),
                        i32_at(self.step_centre, i),
                    )
                },
                length,
                self.steps,
            )
        })
    }
}

/// The step of coefficient `k` at step index `j` with growth `g` (from
/// [`StepGrid::growth_log`]).
fn grown_step(m: &Model<'_>, k: usize, j: usize, g: i32) -> u64 {
    let s = u64::from(u32_at(m.step_size, j));
    let w = u64::from(u16_at(m.coef_weight, k));
    // At most 2^31 * 2^16 / 2^12 = 2^35, times 2^16 / 2^15 and 2^4: far inside u64.
    let weighted = (s * w) >> WEIGHT_BITS;
    if g == 0 {
        return weighted.max(1);
    }
    let g = g.unsigned_abs();
    let sixteenth = POW2_SIXTEENTHS_Q15
        .get(((g >> 4) & 15) as usize)
        .copied()
        .unwrap_or(1 << 15);
    (((weighted * sixteenth) >> 15) << (g >> 8)).max(1)
}

/// [`StepGrid::class_for`] with the growth `g` already known.
fn grown_class(m: &Model<'_>, spread_log: i32, g: i32, j: usize) -> usize {
    let spread_log = spread_log.clamp(-(1 << 24), 1 << 24) - g;
    let d = spread_log - i32_at(m.step_log, j);
    let c = m.class_offset + ((d * m.classes_per_octave + 128) >> 8);
    let classes = if m.flags & u32::from(FLAG_TRELLIS) != 0 {
        m.tables / 2
    } else {
        m.tables
    };
    // max/min, not clamp: clamp panics when its bounds cross, which validation rules out
    // but the compiler cannot see.
    c.max(0).min(classes as i32 - 1) as usize
}

/// The step index predicted for a code of `length` bytes from `knots` pairs `(budget,
/// centre)` (`knot(i)`, budgets increasing, centres in Q8 step indices): linear in the
/// logarithm of the length between the two nearest budgets, extended along the first or last
/// pair beyond them, rounded to the nearest index in `0..steps`. With one knot, its centre.
/// Integer arithmetic only (`log2` with a linear mantissa, as the coder's cost estimates use; lengths
/// beyond [`MAX_CODE_LEN`] count as it), so encoder and decoder agree everywhere.
pub fn predict_step(
    knots: usize,
    knot: impl Fn(usize) -> (usize, i32),
    length: usize,
    steps: usize,
) -> usize {
    // 32-bit arithmetic (the Cortex-M4 divides those in one instruction, 64-bit ones in a
    // library routine): lengths are at most MAX_CODE_LEN, so logs are at most 13 * 256, and
    // centres of a valid model at most 256 * MAX_STEPS: products stay below 2^30.
    let lg = |n: usize| log2_q8(n.clamp(1, MAX_CODE_LEN) as u32) as i32;
    let target = lg(length);
    // The pair of knots to interpolate (or extrapolate) between.
    let mut a = 0;
    while a + 2 < knots && lg(knot(a + 1).0) < target {
        a += 1;
    }
    let (b0, c0) = knot(a);
    let centre = if knots < 2 {
        c0
    } else {
        let (b1, c1) = knot(a + 1);
        let (x0, x1) = (lg(b0), lg(b1));
        let slope_num = c1.saturating_sub(c0).saturating_mul(target - x0);
        c0.saturating_add(slope_num.checked_div(x1 - x0).unwrap_or(0))
    };
    let index = centre.saturating_add(128) >> 8;
    index.min(steps as i32 - 1).max(0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicted_step_interpolates_in_log_length_and_extends_the_end_segments() {
        let knots = [(16usize, 100 * 256), (32, 80 * 256), (64, 70 * 256)];
        let at = |length| predict_step(3, |i| knots[i], length, 200);
        assert_eq!((at(16), at(32), at(64)), (100, 80, 70));
        assert!(at(22) < 100 && at(22) > 80, "{}", at(22));
        assert_eq!(at(8), 120);
        assert_eq!(at(128), 60);
        assert_eq!(at(1), 180);
        assert_eq!(at(8192), 0);
        // Clamped to the step grid.
        assert_eq!(predict_step(3, |i| knots[i], 1, 150), 149);
        assert_eq!(predict_step(3, |i| knots[i], 8192, 150), 0);
        let steep = [(16usize, 100 * 256), (32, 40 * 256)];
        assert_eq!(predict_step(2, |i| steep[i], 8192, 150), 0);
        // One knot: its centre everywhere.
        assert_eq!(predict_step(1, |_| (16, 50 * 256), 1000, 200), 50);
        // Two budgets with the same (approximate) logarithm: no division by zero.
        let same = [(512usize, 10 * 256), (513, 9 * 256)];
        assert_eq!(predict_step(2, |i| same[i], 1024, 200), 10);
    }
}
