//! The quantiser's step grid and the prior over step indices.
//!
//! Steps grow geometrically, `STEPS_PER_OCTAVE` per octave, from a small multiple of the
//! fixed-point unit up to a step so coarse that every coefficient quantises to zero (which is
//! what guarantees that some code always fits the budget). Rate control picks one step per
//! vector and the code opens with its index, coded with a prior learned by encoding training
//! vectors at the trained budgets.

/// Steps per octave: adjacent steps differ by 4.4%, so rate control leaves little of a budget
/// unused (the finer grid costs under a bit of step prior per code).
pub const STEPS_PER_OCTAVE: f64 = 16.0;
/// Finest step in fixed-point units: 2^-16 of the largest training value (scaled to about 2^20
/// units), finer than budgets up to kilobytes need even for 128-d features.
pub const FINEST_STEP: f64 = 16.0;

/// Step sizes and their Q8 log2, from `finest` to a step above `2^30 * 4096 / min_weight`.
/// A trellis model starts at half of [`FINEST_STEP`]: its levels are one step apart but each
/// quantiser's are two, so it needs the finer grid to be as fine at the top end.
pub fn step_grid(finest: f64, min_weight_q12: u16) -> (Vec<u32>, Vec<i32>) {
    let need = (1u64 << 30) * 4096 / u64::from(min_weight_q12.max(1)) + 1;
    let mut sizes = Vec::new();
    let mut logs = Vec::new();
    for j in 0.. {
        let s = (finest * 2f64.powf(j as f64 / STEPS_PER_OCTAVE)).round() as u64;
        let s = s.max(sizes.last().map_or(1, |&p: &u32| u64::from(p) + 1));
        sizes.push(s.min(1 << 31) as u32);
        logs.push(((s as f64).log2() * 256.0).round() as i32);
        if s >= need || s >= 1 << 31 {
            break;
        }
    }
    (sizes, logs)
}

/// A prior (cumulative frequencies) from how often each step was chosen, keeping every step
/// codable.
pub fn prior_from_counts(counts: &[f64]) -> Vec<u16> {
    super::tables::to_cdf(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_increasing_and_reaches_the_zeroing_step() {
        let (s, l) = step_grid(FINEST_STEP, 4096);
        assert!(s.windows(2).all(|w| w[1] > w[0]));
        assert!(u64::from(*s.last().unwrap()) > 1 << 30);
        assert_eq!(s.len(), l.len());
        assert!(s.len() <= codec_core::model::MAX_STEPS);
    }
}
