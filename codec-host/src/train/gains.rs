//! Decoder gains of the leading coefficients (`docs/model-format.md`), fitted on round trips.
//!
//! A quantised coefficient is put back at its level. Where the step is coarse against the
//! coefficient's spread that over-shoots on average (on the default kind-A set at 16 bytes,
//! the leading principal coefficients come back with more energy than they had), and a gain
//! below 1 lowers the reconstruction error. For the leading coefficients it also helps
//! cosine ranking, which they dominate; for the trailing ones, coded mostly as zeros at small
//! budgets, the least-squares gain is far below 1 and shrinking them costs ranking more than
//! it saves error (`bench/README.md`, probe). So only the first `leading` coefficients get
//! gains.
//!
//! The gain depends on the rate: one per spread/step class, fitted on codes of training rows
//! at every trained budget as `sum(y * yhat) / sum(yhat^2)` over the leading coefficients of
//! that class, clamped to `[0, 1]`.

use anyhow::{Result, anyhow};
use codec_core::Model;
use codec_core::internals::{MAX_ACTIVE, MAX_COEFFS, ModelInternals, StepGrid};
use rayon::prelude::*;

use crate::io::FeatureSet;

/// Leading coefficients that get gains by default: cosine ranking is dominated by the leading
/// coefficients, and 24 gave the most ACC_reid at small budgets on both feature kinds (more
/// lower dr a little but cost ranking; figures: `docs/decisions/0018-decoder-gains-and-low-slope.md`).
pub const DEFAULT_COEFFS: u16 = 24;
/// Training rows encoded per budget to fit the gains.
pub const FIT_ROWS: usize = 2000;
/// Least number of non-zero reconstructions a class needs for a gain of its own (else 1):
/// fewer make a noisy ratio.
const MIN_SAMPLES: f64 = 50.0;

/// Per class (of one quantiser): `(sum y * yhat, sum yhat^2, non-zero yhat)`.
type Sums = Vec<(f64, f64, f64)>;

/// The Q15 gain of each class of `model` (which has no gains yet) for its first `leading`
/// coefficients, from codes of `rows` of `set` at each of `budgets`.
pub fn fit(
    model_bytes: &[u8],
    set: &FeatureSet,
    rows: &[usize],
    budgets: &[u16],
    leading: usize,
) -> Result<Vec<u16>> {
    let model = Model::parse(model_bytes).map_err(|e| anyhow!("{e}"))?;
    let classes = model.classes();
    let leading = leading.min(model.coeffs());
    let jobs: Vec<(usize, usize)> = budgets
        .iter()
        .flat_map(|&b| rows.iter().map(move |&r| (usize::from(b), r)))
        .collect();
    let sums = jobs
        .par_iter()
        .fold(
            || vec![(0.0, 0.0, 0.0); classes],
            |mut sums: Sums, &(budget, row)| {
                round_trip(&model, set.row(row), budget, leading, &mut sums);
                sums
            },
        )
        .reduce(
            || vec![(0.0, 0.0, 0.0); classes],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x = (x.0 + y.0, x.1 + y.1, x.2 + y.2);
                }
                a
            },
        );
    Ok(sums.into_iter().map(gain_q15).collect())
}

/// Encode `x` at `budget`, decode it, and add the leading coefficients to their classes' sums.
/// A row that does not encode (it cannot happen for training rows) adds nothing.
fn round_trip(model: &Model<'_>, x: &[f32], budget: usize, leading: usize, sums: &mut Sums) {
    let mut code = vec![0u8; budget];
    let Ok(len) = codec_core::encode(model, x, budget, &mut code) else {
        return;
    };
    let mut decoded = [0i32; MAX_COEFFS];
    let Ok(step) = codec_core::internals::decode_coefficients(model, &code[..len], &mut decoded)
    else {
        return;
    };
    let mut centred = [0i32; MAX_ACTIVE];
    let mut target = [0i32; MAX_COEFFS];
    if codec_core::internals::centre(model, x, &mut centred).is_err() {
        return;
    }
    codec_core::internals::forward(model, &centred, &mut target);
    for k in 0..leading {
        let (y, yhat) = (f64::from(target[k]), f64::from(decoded[k]));
        if yhat != 0.0 {
            let s = &mut sums[model.class_of(k, step)];
            *s = (s.0 + y * yhat, s.1 + yhat * yhat, s.2 + 1.0);
        }
    }
}

/// The least-squares gain of a class's sums, clamped to `[0, 1]`, in Q15; 1 for a class with
/// too few samples.
fn gain_q15((cross, energy, count): (f64, f64, f64)) -> u16 {
    if count < MIN_SAMPLES || energy <= 0.0 {
        return 1 << 15;
    }
    ((cross / energy).clamp(0.0, 1.0) * 32768.0).round() as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gain_is_the_least_squares_ratio_clamped_and_needs_samples() {
        assert_eq!(gain_q15((90.0, 100.0, 60.0)), 29491);
        assert_eq!(gain_q15((150.0, 100.0, 60.0)), 32768);
        assert_eq!(gain_q15((-5.0, 100.0, 60.0)), 0);
        assert_eq!(gain_q15((10.0, 100.0, 49.0)), 32768);
        assert_eq!(gain_q15((0.0, 0.0, 0.0)), 32768);
    }
}
