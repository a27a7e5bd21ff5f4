//! The quantiser's step grid and the prior over step indices.
//!
//! Steps grow geometrically, `STEPS_PER_OCTAVE` per octave, from a small multiple of the
//! fixed-point unit up to a step so coarse that every coefficient quantises to zero (which is
//! what guarantees that some code always fits the budget). Rate control picks one step per
//! vector and the code opens with its index, coded with a prior learned by encoding training
//! vectors at the trained budgets and, with a fifth of the weight, at budgets between and
//! around them ([`fill_budgets`]).

use codec_core::internals::step_residual;
use codec_core::internals::{LengthStepPrior, STEP_RESIDUAL_SYMBOLS, predict_step};

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

/// The step indices rate control chose at one budget, and that budget's weight in the prior.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// Budget in bytes.
    pub budget: usize,
    /// Weight of this budget's codes together (all budgets sum to 1).
    pub weight: f64,
    /// One of the model's budgets (else a [`fill_budgets`] point).
    pub trained: bool,
    /// The step index of each code.
    pub steps: Vec<usize>,
}

/// The prior over step indices: the plain one (scalable layers), and the length step prior.
#[derive(Debug, Clone)]
pub struct StepPrior {
    /// Cumulative frequencies over every step index.
    pub cdf: Vec<u16>,
    /// Predicted step index (Q8) at each budget.
    centres: Vec<i32>,
    /// Cumulative frequencies of the residual from the predicted step, and of the escape.
    residual_cdf: Vec<u16>,
    /// Whether the length step prior was learned from rate control's choices; the uniform
    /// starting prior has a placeholder, and rate control runs on its model with the plain
    /// step prior alone.
    pub learned: bool,
}

impl StepPrior {
    /// Every step index equally likely; a placeholder length step prior for `budgets`
    /// budgets (the format always holds one).
    pub fn uniform(steps: usize, budgets: usize) -> Self {
        StepPrior {
            cdf: prior_from_counts(&vec![1.0; steps]),
            centres: vec![0; budgets],
            residual_cdf: prior_from_counts(&[1.0; STEP_RESIDUAL_SYMBOLS]),
            learned: false,
        }
    }

    /// The prior of the steps rate control `chosen`, and the length step prior: the predicted
    /// step at each budget is the mean of the steps chosen there, and the residual table counts every code's distance from the
    /// prediction for its budget (fill budgets included, so that it knows how far the
    /// interpolation between budgets misses).
    pub fn learn(chosen: &[Chosen], budgets: &[u16], steps: usize) -> Self {
        // `to_cdf`'s pseudo-count is per observation: count in codes.
        let codes: f64 = chosen
            .iter()
            .filter(|c| c.trained)
            .map(|c| c.steps.len() as f64)
            .sum::<f64>()
            .max(1.0);
        let per_code = |c: &Chosen| c.weight * codes / c.steps.len() as f64;
        let mut counts = vec![0f64; steps];
        for c in chosen {
            for &j in &c.steps {
                counts[j] += per_code(c);
            }
        }
        let cdf = prior_from_counts(&counts);
        let coarsest = 256 * (steps as i32 - 1);
        let centres: Vec<i32> = budgets
            .iter()
            .map(|&b| {
                let at = chosen
                    .iter()
                    .find(|c| c.trained && c.budget == usize::from(b) && !c.steps.is_empty());
                at.map_or(coarsest, |c| {
                    let mean = c.steps.iter().sum::<usize>() as f64 / c.steps.len() as f64;
                    ((mean * 256.0).round() as i32).clamp(0, coarsest)
                })
            })
            .collect();
        let mut residual = vec![0f64; STEP_RESIDUAL_SYMBOLS];
        for c in chosen {
            let predicted = predict_step(
                budgets.len(),
                |i| (usize::from(budgets[i]), centres[i]),
                c.budget,
                steps,
            );
            for &j in &c.steps {
                let symbol =
                    step_residual(j, predicted, steps).unwrap_or(STEP_RESIDUAL_SYMBOLS - 1);
                residual[symbol] += per_code(c);
            }
        }
        StepPrior {
            cdf,
            centres,
            residual_cdf: prior_from_counts(&residual),
            learned: true,
        }
    }

    /// The length step prior, for the model writer.
    pub fn length_step_prior(&self) -> LengthStepPrior<'_> {
        LengthStepPrior {
            centres: &self.centres,
            residual_cdf: &self.residual_cdf,
        }
    }
}

/// Share of the step prior given to budgets other than the trained ones. On the default
/// kind-A set (1,000 queries, default budgets) the step index then costs 4.9-5.4 bits at the
/// trained budgets, 7.2-9.5 between them and 8-11 up to two octaves beyond them; with the
/// trained budgets alone it cost 4.6-5.1 bits there but 12-15 elsewhere.
pub const FILL_SHARE: f64 = 0.2;

/// Budgets between and around the trained ones, with their share of the fill weight (summing
/// to 1; sorted, distinct, from `min_budget` to [`codec_core::internals::MAX_CODE_LEN`], none of
/// them trained). Half the weight goes to the points a quarter, half and three quarters of the
/// way (geometrically) from each trained budget to the next, a quarter to points a quarter
/// octave apart up to two octaves below the smallest, and a quarter to points an eighth of an
/// octave apart up to two octaves above the largest: there the step falls fastest per octave
/// of budget (every coefficient is coded), and each budget's steps span only a few indices.
pub fn fill_budgets(budgets: &[u16], min_budget: usize) -> Vec<(usize, f64)> {
    let b: Vec<f64> = budgets.iter().map(|&b| f64::from(b)).collect();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return Vec::new();
    };
    let between: Vec<f64> = b
        .windows(2)
        .flat_map(|w| [0.25, 0.5, 0.75].map(|t| w[0] * (w[1] / w[0]).powf(t)))
        .collect();
    let below: Vec<f64> = (1..=8)
        .map(|k| first / 2f64.powf(f64::from(k) / 4.0))
        .collect();
    let above: Vec<f64> = (1..=16)
        .map(|k| last * 2f64.powf(f64::from(k) / 8.0))
        .collect();
    let usable = |p: &f64| {
        let p = p.round() as usize;
        (min_budget..=codec_core::internals::MAX_CODE_LEN).contains(&p)
            && !budgets.iter().any(|&b| usize::from(b) == p)
    };
    let groups: Vec<(Vec<usize>, f64)> = [(between, 0.5), (below, 0.25), (above, 0.25)]
        .into_iter()
        .map(|(points, share)| {
            let kept: Vec<usize> = points
                .iter()
                .filter(|p| usable(p))
                .map(|p| p.round() as usize)
                .collect();
            (kept, share)
        })
        .filter(|(kept, _)| !kept.is_empty())
        .collect();
    let total_share: f64 = groups.iter().map(|(_, share)| share).sum();
    let mut fill: Vec<(usize, f64)> = groups
        .iter()
        .flat_map(|(kept, share)| {
            let w = share / total_share / kept.len() as f64;
            kept.iter().map(move |&p| (p, w))
        })
        .collect();
    fill.sort_by_key(|&(p, _)| p);
    // Rounding can land two points on one budget: merge them.
    let mut merged: Vec<(usize, f64)> = Vec::with_capacity(fill.len());
    for (p, w) in fill {
        match merged.last_mut() {
            Some(last) if last.0 == p => last.1 += w,
            _ => merged.push((p, w)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_budgets_lie_between_and_around_the_trained_ones() {
        let trained = [16u16, 32, 64, 128, 256];
        let fill = fill_budgets(&trained, 2);
        assert!(fill.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            fill.iter()
                .all(|&(b, w)| w > 0.0 && !trained.contains(&(b as u16)))
        );
        assert!((fill.iter().map(|f| f.1).sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(fill.first().map(|f| f.0), Some(4));
        assert_eq!(fill.last().map(|f| f.0), Some(1024));
        let between: Vec<usize> = fill
            .iter()
            .map(|f| f.0)
            .filter(|&b| b > 16 && b < 32)
            .collect();
        assert_eq!(between, [19, 23, 27]);
        // The model's minimum and the longest code bound the points.
        let fill = fill_budgets(&[8, 4096], 5);
        assert_eq!(fill.first().map(|f| f.0), Some(5));
        assert_eq!(fill.last().map(|f| f.0), Some(8192));
    }

    #[test]
    fn the_length_conditioned_prior_centres_on_the_chosen_steps() {
        let chosen = |budget, steps: Vec<usize>| Chosen {
            budget,
            weight: 0.5,
            trained: true,
            steps,
        };
        let at_16 = chosen(16, vec![99, 100, 100, 101]);
        // One code took the coarsest step (index 199 of 200): it must be escaped.
        let at_32 = chosen(32, vec![80, 80, 80, 199]);
        let prior = StepPrior::learn(&[at_16, at_32], &[16, 32], 200);
        let context = prior.length_step_prior();
        assert_eq!(context.centres, [100 * 256, (80 * 3 + 199) * 256 / 4]);
        let frequency = |s: usize| context.residual_cdf[s + 1] - context.residual_cdf[s];
        let most = (0..STEP_RESIDUAL_SYMBOLS)
            .max_by_key(|&s| frequency(s))
            .unwrap();
        // At 32 B three codes sit 30 steps below the mean: escaped, like the coarsest one.
        assert_eq!(most, STEP_RESIDUAL_SYMBOLS - 1);
        assert!(frequency(15) > frequency(14) && frequency(14) > frequency(0));
        assert_eq!(prior.cdf.len(), 201);
        let start = StepPrior::uniform(200, 2);
        assert!(!start.learned && prior.learned);
        assert_eq!(start.length_step_prior().centres.len(), 2);
    }

    #[test]
    fn one_budget_is_filled_around_and_none_is_not_filled() {
        let fill = fill_budgets(&[64], 2);
        assert!(fill.iter().any(|f| f.0 < 64) && fill.iter().any(|f| f.0 > 64));
        assert!((fill.iter().map(|f| f.1).sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(fill_budgets(&[], 2).is_empty());
    }

    #[test]
    fn grid_is_increasing_and_reaches_the_zeroing_step() {
        let (s, l) = step_grid(FINEST_STEP, 4096);
        assert!(s.windows(2).all(|w| w[1] > w[0]));
        assert!(u64::from(*s.last().unwrap()) > 1 << 30);
        assert_eq!(s.len(), l.len());
        assert!(s.len() <= codec_core::internals::MAX_STEPS);
    }
}
