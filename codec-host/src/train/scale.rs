//! The fixed-point scale of a model's inputs: one shift for every dimension, chosen so that
//! the training values keep about 20 bits, and refused where no shift the format allows can.
//!
//! Every input value becomes `round(x * 2^shift)`, saturated to ±2^24 (`codec_core::fixed`).
//! The shift is set by the training magnitudes, but not by a few outliers: a single corrupted
//! value of 1e4 among features of size 1 would otherwise coarsen every other value to a step
//! of 1/16 (measured: dr 1.24 instead of 0.002 at 256 bytes on 128-d features), where with a
//! robust scale the outlier saturates and the rest keep their precision.

use crate::io::FeatureSet;
use anyhow::{Result, bail};

/// The scale the shift is chosen for becomes about 2^INPUT_BITS fixed-point units: a
/// resolution of 2^-20 of it (finer than any budget below kilobytes can use), with 16x headroom
/// below the input limit of 2^24 for test vectors beyond it.
const INPUT_BITS: i32 = 20;

/// The shifts training chooses from (the format allows ±64; ±40 keeps `2^shift` and the
/// reconstructions well inside `f32`).
const MAX_SHIFT: i32 = 40;

/// Fewest bits the largest training magnitudes must keep: below that the features are too
/// small for the format, and the model would decode everything to nearly its mean.
const MIN_BITS: f64 = 12.0;

/// The scale is at most this many times the robust magnitude ([`ROBUST_QUANTILE`] of the
/// pooled non-zero training magnitudes): far beyond the largest value of ordinary features
/// (Gaussian ones have 2.6 standard deviations at that quantile and a largest value of about
/// 5; heavy-tailed kind-B features 3 times the quantile), so only outliers are cut, and the
/// bulk still keeps 12 bits and more.
const HEADROOM: f64 = 64.0;

/// Quantile of the pooled non-zero magnitudes that stands for the bulk of the values: a few
/// outlier values, or whole outlier vectors fewer than 1% of the sample, do not reach it.
const ROBUST_QUANTILE: f64 = 0.99;

/// Rows of the sample pooled for the quantile (with every varying dimension).
const QUANTILE_ROWS: usize = 2000;

/// The input shift for training vectors `set` whose varying dims are `active` and whose
/// largest magnitude (over all vectors, not only the sample) is `max_abs`. Fails, saying why,
/// for features too small or too large for the format's fixed point.
pub fn input_shift(set: &FeatureSet, active: &[usize], max_abs: f64) -> Result<i32> {
    let scale = max_abs.min(HEADROOM * robust_magnitude(set, active));
    if scale <= 0.0 || !scale.is_finite() {
        // Nothing varies or every value is zero: any shift represents it.
        return Ok(INPUT_BITS);
    }
    let ideal = INPUT_BITS - scale.log2().ceil() as i32;
    let shift = ideal.clamp(-MAX_SHIFT, MAX_SHIFT);
    let bits = (scale * 2f64.powi(shift)).log2();
    if bits < MIN_BITS {
        bail!(
            "the training values are too small for the format's fixed point (largest about \
             {scale:.1e}, which keeps {:.0} bits at the finest scale, at least {MIN_BITS} \
             needed); multiply the features by a constant (the same one for every vector) \
             before training and coding",
            bits.max(0.0)
        );
    }
    if ideal < -MAX_SHIFT {
        bail!(
            "the training values are too large for the format's fixed point (largest about \
             {scale:.1e}, at most about {:.1e}); divide the features by a constant (the same \
             one for every vector) before training and coding",
            2f64.powi(INPUT_BITS + MAX_SHIFT)
        );
    }
    Ok(shift)
}

/// `set` with its values saturated where the codec saturates them at `shift` (beyond
/// `2^24 * 2^-shift`), if any value is: training then sees the outliers as the codec will, and
/// they do not pull the mean and the principal axes away from every other vector. `None` when
/// nothing needs it (the common case: no copy).
pub fn saturated(set: &FeatureSet, shift: i32) -> Option<FeatureSet> {
    let limit = (f64::from(codec_core::internals::INPUT_LIMIT) * 2f64.powi(-shift)) as f32;
    if set.data.iter().all(|v| v.abs() <= limit) {
        return None;
    }
    let mut out = set.clone();
    for v in &mut out.data {
        *v = v.clamp(-limit, limit);
    }
    Some(out)
}

/// The [`ROBUST_QUANTILE`] of the non-zero magnitudes of the varying dims over up to
/// [`QUANTILE_ROWS`] evenly spaced rows of `set` (0 when there are none). Zeros are left out:
/// in sparse features they can be most values, and the scale is for the others.
fn robust_magnitude(set: &FeatureSet, active: &[usize]) -> f64 {
    let rows = super::pca::subsample(set.len(), QUANTILE_ROWS);
    let mut values: Vec<f64> = rows
        .iter()
        .flat_map(|&r| {
            let row = set.row(r);
            active
                .iter()
                .filter_map(move |&d| row.get(d))
                .map(|&v| f64::from(v).abs())
        })
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    if values.is_empty() {
        return 0.0;
    }
    let k = ((values.len() - 1) as f64 * ROBUST_QUANTILE).round() as usize;
    let (_, q, _) = values.select_nth_unstable_by(k, f64::total_cmp);
    *q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaussian(rows: usize, dim: usize, scale: f64) -> FeatureSet {
        crate::train::gaussian_set(rows, dim, scale, 3)
    }

    fn max_abs(set: &FeatureSet) -> f64 {
        set.data
            .iter()
            .fold(0f64, |m, &v| m.max(f64::from(v).abs()))
    }

    fn shift_of(set: &FeatureSet) -> Result<i32> {
        let active: Vec<usize> = (0..set.dim).collect();
        input_shift(set, &active, max_abs(set))
    }

    #[test]
    fn ordinary_features_get_the_shift_of_their_largest_value() {
        let set = gaussian(300, 64, 1.0);
        let expected = INPUT_BITS - max_abs(&set).log2().ceil() as i32;
        assert_eq!(shift_of(&set).unwrap(), expected);
    }

    #[test]
    fn a_few_outliers_do_not_set_the_scale() {
        let clean = gaussian(300, 128, 1.0);
        let mut dirty = clean.clone();
        dirty.data[0] = 1e6;
        dirty.data[777] = -1e7;
        // Whole outlier vectors too, fewer than 1% of them.
        for row in 10..12 {
            dirty.data[row * 128..(row + 1) * 128].fill(3e4);
        }
        // The headroom costs a few bits of resolution; scaling to 1e7 would cost 21.
        let (clean, dirty) = (shift_of(&clean).unwrap(), shift_of(&dirty).unwrap());
        assert!((1..=6).contains(&(clean - dirty)), "{clean} {dirty}");
    }

    #[test]
    fn only_values_beyond_the_input_limit_are_saturated() {
        let mut set = gaussian(10, 4, 1.0);
        assert!(saturated(&set, 20).is_none());
        set.data[3] = 1e3;
        set.data[5] = -1e3;
        let s = saturated(&set, 20).unwrap();
        assert_eq!((s.data[3], s.data[5]), (16.0, -16.0));
        let others = |x: &FeatureSet| [x.data[0], x.data[4], x.data[39]];
        assert_eq!(others(&s), others(&set));
    }

    #[test]
    fn features_beyond_the_fixed_point_range_are_refused_by_size() {
        let tiny = shift_of(&gaussian(300, 16, 1e-30)).unwrap_err().to_string();
        assert!(
            tiny.contains("too small") && tiny.contains("multiply"),
            "{tiny}"
        );
        let huge = shift_of(&gaussian(300, 16, 1e30)).unwrap_err().to_string();
        assert!(
            huge.contains("too large") && huge.contains("divide"),
            "{huge}"
        );
        // Small and large but representable.
        for scale in [1e-6, 1e6, 1e15] {
            assert!(shift_of(&gaussian(300, 16, scale)).is_ok(), "{scale}");
        }
    }

    #[test]
    fn nothing_varying_takes_the_default() {
        let zeros = FeatureSet {
            names: vec!["a".into(), "b".into()],
            dim: 3,
            data: vec![0.0; 6],
        };
        assert_eq!(shift_of(&zeros).unwrap(), INPUT_BITS);
    }
}
