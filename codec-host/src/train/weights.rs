//! Rate allocation: how a coefficient's step relates to the common step rate control picks.
//!
//! Equal steps for all coefficients are MSE-optimal at high rate only. At the rates of small
//! budgets most coefficients have a spread below the step and are coded mostly as zeros, and
//! a coarser step pays off there: a rare non-zero then carries a larger value for its bits.
//! [`spread_weights`] scales steps by `(spread / largest spread)^-exponent`. The default
//! exponent, 0.1, lowers dr at 16-128 B and costs nothing at 256 B; larger ones gain more at
//! small budgets but lose at 256 B (figures: `docs/decisions/0006-rate-allocation-by-spread.md`).
//!
//! With identity labels, [`fisher_weights`] also spends more bits on the coefficients that
//! separate identities. For each coefficient the Fisher ratio (between-identity over
//! within-identity variance) says how much it helps tell identities apart. A coefficient's
//! step is scaled by `(fisher / geometric mean)^(-alpha / 2)`: with `alpha = 0` nothing
//! changes; larger `alpha` shifts bits to discriminative coefficients.

use codec_core::internals::{MAX_GROWTH_SLOPE, StepGrowth};
use std::collections::HashMap;

/// Clamp of a weight relative to the geometric mean, so no coefficient is starved entirely.
const MAX_RELATIVE: f64 = 4.0;

/// The default exponent of [`spread_weights`].
pub const DEFAULT_SPREAD_EXPONENT: f64 = 0.1;

/// The default slope of [`step_growth`].
pub const DEFAULT_STEP_GROWTH: f64 = 0.5;
/// The largest slope the model format holds.
pub const MAX_STEP_GROWTH: f64 = MAX_GROWTH_SLOPE as f64 / 256.0;

/// The model's low-rate step growth for `slope` octaves of coarser step per octave of spread
/// below the step (clamped to what the format holds).
///
/// [`spread_weights`] fixes each coefficient's step relative to the others once for all
/// budgets, but the best step depends on how the coefficient's spread compares with the step
/// of the moment: at 16 bytes most coefficients sit far below it, at 256 bytes few do. With
/// the growth the step of a coefficient whose spread is below its step grows by `slope`
/// octaves per octave of the gap, at whatever budget (see `codec_core::internals::StepGrowth`).
/// The default slope, 0.5, lowers dr at every budget without costing ACC_reid; steeper slopes
/// cost ACC_reid at 16-64 B. Training gives it to trellis models only, because the
/// one-quantiser model loses ACC_reid with it (figures: `docs/decisions/0014-step-growth.md`).
pub fn step_growth(slope: f64) -> StepGrowth {
    StepGrowth {
        slope: (slope * 256.0)
            .round()
            .clamp(0.0, f64::from(MAX_GROWTH_SLOPE)) as u16,
        threshold: 0,
    }
}

/// Step weights per coefficient from its spread `sigma`: `(sigma / max sigma)^-exponent`,
/// at least 1 (the largest spread) and at most `MAX_RELATIVE^2`.
pub fn spread_weights(sigma: &[f64], exponent: f64) -> Vec<f64> {
    let largest = sigma.iter().copied().fold(0.0, f64::max);
    sigma
        .iter()
        .map(|&s| {
            if exponent == 0.0 || largest <= 0.0 {
                return 1.0;
            }
            (s.max(largest * 1e-30) / largest)
                .powf(-exponent)
                .clamp(1.0, MAX_RELATIVE * MAX_RELATIVE)
        })
        .collect()
}

/// Step weights per coefficient (1.0 = the finest step; at most `MAX_RELATIVE^2`) from
/// projected training coefficients (`rows x k`, row-major) and the identity of each row.
pub fn fisher_weights(coeffs: &[f64], k: usize, labels: &[i64], alpha: f64) -> Vec<f64> {
    if alpha == 0.0 || k == 0 {
        return vec![1.0; k];
    }
    let mut groups: HashMap<i64, Vec<usize>> = HashMap::new();
    for (row, &l) in labels.iter().enumerate() {
        groups.entry(l).or_default().push(row);
    }
    let n = labels.len() as f64;
    let mut fisher = vec![0.0; k];
    for (j, f) in fisher.iter_mut().enumerate() {
        let col = |r: usize| coeffs[r * k + j];
        let mean = (0..labels.len()).map(col).sum::<f64>() / n;
        let total = (0..labels.len())
            .map(|r| (col(r) - mean).powi(2))
            .sum::<f64>()
            / n;
        let mut within = 0.0;
        let mut dof = 0.0;
        for rows in groups.values().filter(|g| g.len() > 1) {
            let m = rows.iter().map(|&r| col(r)).sum::<f64>() / rows.len() as f64;
            within += rows.iter().map(|&r| (col(r) - m).powi(2)).sum::<f64>();
            dof += rows.len() as f64 - 1.0;
        }
        let within = if dof > 0.0 { within / dof } else { total };
        *f = ((total - within).max(0.0) + 1e-12) / (within + 1e-12);
    }
    let geo = (fisher.iter().map(|f| f.ln()).sum::<f64>() / k as f64).exp();
    let relative: Vec<f64> = fisher
        .iter()
        .map(|f| {
            (f / geo)
                .powf(-alpha / 2.0)
                .clamp(1.0 / MAX_RELATIVE, MAX_RELATIVE)
        })
        .collect();
    // Only ratios matter (rate control scales every step together), and no weight may be
    // below 1: the coarsest step of the grid (at most 2^31) must still zero every coefficient.
    let least = relative.iter().copied().fold(f64::INFINITY, f64::min);
    relative.iter().map(|w| w / least).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_growth_is_stored_in_q8_and_clamped_to_the_format() {
        assert_eq!(step_growth(0.0), StepGrowth::default());
        assert_eq!(step_growth(DEFAULT_STEP_GROWTH).slope, 128);
        assert_eq!(step_growth(100.0).slope, MAX_GROWTH_SLOPE);
        assert_eq!(step_growth(MAX_STEP_GROWTH).slope, MAX_GROWTH_SLOPE);
    }

    #[test]
    fn discriminative_coefficient_gets_a_finer_step() {
        // Coefficient 0 separates the two identities; coefficient 1 is noise.
        let labels = [0, 0, 0, 1, 1, 1];
        let coeffs = [
            -1.0, 0.3, -1.1, -0.2, -0.9, 0.1, 1.0, -0.3, 1.1, 0.2, 0.9, -0.1,
        ];
        let w = fisher_weights(&coeffs, 2, &labels, 1.0);
        assert!(w[0] < w[1], "{w:?}");
        assert_eq!(w[0], 1.0, "{w:?}");
        let strong = fisher_weights(&coeffs, 2, &labels, 10.0);
        assert_eq!(strong, vec![1.0, MAX_RELATIVE * MAX_RELATIVE]);
        assert_eq!(fisher_weights(&coeffs, 2, &labels, 0.0), vec![1.0, 1.0]);
    }

    #[test]
    fn smaller_spreads_get_coarser_steps() {
        let w = spread_weights(&[4.0, 1.0, 0.25, 0.0], 0.5);
        assert_eq!(&w[..3], &[1.0, 2.0, 4.0]);
        // A zero spread is clamped, not infinite.
        assert_eq!(w[3], MAX_RELATIVE * MAX_RELATIVE);
        assert_eq!(spread_weights(&[4.0, 1.0], 0.0), vec![1.0, 1.0]);
        assert_eq!(spread_weights(&[0.0, 0.0], 0.1), vec![1.0, 1.0]);
    }
}
