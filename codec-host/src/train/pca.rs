//! The statistics a transform coder learns: which dims vary, their mean and range, and the
//! principal axes of the rest.

use crate::io::FeatureSet;
use crate::linalg::{CovarianceSums, symmetric_eigen};
use anyhow::Result;
use faer::Mat;
use rayon::prelude::*;

/// First and second order statistics of a training set.
pub struct Moments {
    /// Per-dimension mean (all dims).
    pub mean: Vec<f64>,
    /// Per-dimension minimum and maximum (all dims).
    pub min: Vec<f64>,
    /// Per-dimension maximum.
    pub max: Vec<f64>,
    /// Dims whose value is not constant over the training set.
    pub active: Vec<usize>,
}

/// Per-dimension mean, range and the dims that vary.
pub fn moments(set: &FeatureSet) -> Moments {
    let mut acc = MomentsAcc::new(set.dim);
    set.rows().for_each(|row| acc.add(row));
    acc.finish()
}

/// [`Moments`] gathered one row at a time, for training sets read in batches.
pub struct MomentsAcc {
    sum: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
    rows: usize,
}

impl MomentsAcc {
    /// Nothing seen yet, rows of `dim` values.
    pub fn new(dim: usize) -> Self {
        MomentsAcc {
            sum: vec![0.0; dim],
            min: vec![f64::INFINITY; dim],
            max: vec![f64::NEG_INFINITY; dim],
            rows: 0,
        }
    }

    /// Count one row (of the dimension given to [`MomentsAcc::new`]).
    pub fn add(&mut self, row: &[f32]) {
        for (j, &v) in row.iter().enumerate().take(self.sum.len()) {
            let v = f64::from(v);
            self.sum[j] += v;
            self.min[j] = self.min[j].min(v);
            self.max[j] = self.max[j].max(v);
        }
        self.rows += 1;
    }

    /// Rows counted.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The moments of every row counted.
    pub fn finish(self) -> Moments {
        let n = self.rows.max(1) as f64;
        let mean = self.sum.iter().map(|s| s / n).collect();
        let active = (0..self.sum.len())
            .filter(|&j| self.max[j] > self.min[j])
            .collect();
        Moments {
            mean,
            min: self.min,
            max: self.max,
            active,
        }
    }
}

impl Moments {
    /// The largest magnitude of any value seen (0 for no rows).
    pub fn max_abs(&self) -> f64 {
        self.min
            .iter()
            .chain(&self.max)
            .filter(|v| v.is_finite())
            .fold(0f64, |acc, v| acc.max(v.abs()))
    }
}

/// Principal axes of the active dims.
pub struct Pca {
    /// Eigenvalues, decreasing.
    pub values: Vec<f64>,
    /// Eigenvectors as columns (`active x active`).
    pub vectors: Mat<f64>,
    /// The variance to expect on NEW vectors at each rank, which the sample eigenvalues
    /// understate in weak directions (and put at zero beyond the number of training vectors):
    /// the larger of the eigenvalue and the variance that held-out vectors show at that rank.
    pub expected: Vec<f64>,
    /// The training set's own variance along each axis (the eigenvalues before shrinkage).
    pub shown: Vec<f64>,
    /// How far the covariance was shrunk toward its diagonal (0 = the sample covariance).
    pub shrinkage: f64,
}

/// Rows processed per covariance block: bounds memory to `BLOCK x active` doubles.
const BLOCK: usize = 4096;

/// Covariance of the active dims over `rows` of `set`, accumulated block by block in parallel
/// and, for small training sets, shrunk toward its diagonal ([`CovarianceSums::estimate`]);
/// the intensity, and the sample covariance itself.
fn shrunk_covariance(set: &FeatureSet, m: &Moments, rows: &[usize]) -> Shrunk {
    let a = m.active.len();
    let sums = rows
        .par_chunks(BLOCK)
        .map(|block| CovarianceSums::of_block(centred(set, m, block).as_ref()))
        .reduce_with(CovarianceSums::merge);
    match sums {
        Some(sums) => {
            let (cov, intensity) = sums.estimate();
            Shrunk {
                cov,
                intensity,
                sample: sums.sample(),
            }
        }
        None => Shrunk {
            cov: Mat::zeros(a, a),
            intensity: 1.0,
            sample: Mat::zeros(a, a),
        },
    }
}

struct Shrunk {
    cov: Mat<f64>,
    intensity: f64,
    sample: Mat<f64>,
}

/// The active dims of `rows`, centred, as a `rows x active` matrix.
fn centred(set: &FeatureSet, m: &Moments, rows: &[usize]) -> Mat<f64> {
    Mat::from_fn(rows.len(), m.active.len(), |i, k| {
        let d = m.active[k];
        f64::from(set.row(rows[i])[d]) - m.mean[d]
    })
}

/// Eigen-decomposition of the covariance over `rows`, with the variance to expect on new
/// vectors at each rank (see [`Pca::expected`]).
pub fn pca(set: &FeatureSet, m: &Moments, rows: &[usize]) -> Result<Pca> {
    let shrunk = shrunk_covariance(set, m, rows);
    let (values, vectors) = symmetric_eigen(shrunk.cov.as_ref())?;
    // u^T S u for every axis u: the eigenvalues themselves when nothing was shrunk.
    let shown = if shrunk.intensity == 0.0 {
        values.iter().map(|v| v.max(0.0)).collect()
    } else {
        let sv = crate::linalg::matmul(shrunk.sample.as_ref(), vectors.as_ref());
        (0..vectors.ncols())
            .map(|c| {
                (0..vectors.nrows())
                    .map(|r| vectors[(r, c)] * sv[(r, c)])
                    .sum::<f64>()
                    .max(0.0)
            })
            .collect()
    };
    let values: Vec<f64> = values.into_iter().map(|v| v.max(0.0)).collect();
    let held_out = held_out_spectrum(set, m, rows)?;
    let expected = values
        .iter()
        .zip(&held_out)
        .map(|(&v, &h)| v.max(h))
        .collect();
    Ok(Pca {
        values,
        vectors,
        expected,
        shown,
        shrinkage: shrunk.intensity,
    })
}

/// Ranks averaged on each side when smoothing the held-out variances (each is an average of
/// only as many squares as there are held-out rows).
const SMOOTH_RANKS: usize = 8;

/// Fit the principal axes on every other row and measure, at each rank, the variance of the
/// other rows along that axis: how much energy new vectors carry where the training set saw
/// little or none. Smoothed over neighbouring ranks. All zeros with fewer than 4 rows.
fn held_out_spectrum(set: &FeatureSet, m: &Moments, rows: &[usize]) -> Result<Vec<f64>> {
    let a = m.active.len();
    if rows.len() < 4 {
        return Ok(vec![0.0; a]);
    }
    let fit: Vec<usize> = rows.iter().copied().step_by(2).collect();
    let test: Vec<usize> = rows.iter().copied().skip(1).step_by(2).collect();
    let (_, axes) = symmetric_eigen(shrunk_covariance(set, m, &fit).cov.as_ref())?;
    let test = subsample(test.len(), 20_000)
        .into_iter()
        .map(|i| test[i])
        .collect::<Vec<_>>();
    let y = crate::linalg::matmul(centred(set, m, &test).as_ref(), axes.as_ref());
    let n = test.len() as f64;
    let raw: Vec<f64> = (0..a)
        .map(|k| (0..test.len()).map(|i| y[(i, k)] * y[(i, k)]).sum::<f64>() / n)
        .collect();
    Ok((0..a)
        .map(|k| {
            let (lo, hi) = (
                k.saturating_sub(SMOOTH_RANKS),
                (k + SMOOTH_RANKS + 1).min(a),
            );
            raw[lo..hi].iter().sum::<f64>() / (hi - lo) as f64
        })
        .collect())
}

/// The reverse water-filling level `theta` of a Gaussian source with variances `eigenvalues`
/// coded in `bits` bits: `sum_i max(0, log2(lambda_i / theta) / 2) = bits`. Components below it
/// get no bits; with no bits (or no positive variance) it is the largest variance.
pub fn water_level(eigenvalues: &[f64], bits: f64) -> f64 {
    let positive: Vec<f64> = eigenvalues.iter().copied().filter(|&v| v > 0.0).collect();
    let top = positive.iter().copied().fold(0.0, f64::max);
    if positive.is_empty() || bits <= 0.0 {
        return top;
    }
    let rate = |theta: f64| -> f64 {
        positive
            .iter()
            .filter(|&&l| l > theta)
            .map(|&l| 0.5 * (l / theta).log2())
            .sum()
    };
    // Rate decreases in theta: bisect log(theta).
    let mut hi = top.ln();
    let mut lo = hi - 200.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if rate(mid.exp()) > bits {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi.exp()
}

/// Evenly spaced row indices, at most `cap` of them.
pub fn subsample(n: usize, cap: usize) -> Vec<usize> {
    if n <= cap {
        return (0..n).collect();
    }
    (0..cap).map(|i| i * n / cap).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// `rows` vectors of `dim` values from a fixed spectrum (variance 1/(1+j) along a random
    /// rotation), so the population's eigenvalues are known.
    fn gaussian(rows: usize, dim: usize, seed: u64) -> FeatureSet {
        let mut rng = Rng::new(seed);
        let rot = crate::linalg::random_orthogonal(dim, &mut Rng::new(99));
        let data = (0..rows)
            .flat_map(|_| {
                let z: Vec<f64> = (0..dim)
                    .map(|j| rng.normal() / (1.0 + j as f64).sqrt())
                    .collect();
                (0..dim)
                    .map(|i| (0..dim).map(|j| rot[(i, j)] * z[j]).sum::<f64>() as f32)
                    .collect::<Vec<_>>()
            })
            .collect();
        FeatureSet {
            names: (0..rows).map(|i| i.to_string()).collect(),
            dim,
            data,
        }
    }

    #[test]
    fn few_vectors_shrink_and_leave_no_direction_without_variance() {
        let set = gaussian(20, 48, 1);
        let m = moments(&set);
        let p = pca(&set, &m, &(0..set.len()).collect::<Vec<_>>()).unwrap();
        assert!(p.shrinkage > 0.1, "{}", p.shrinkage);
        // 20 vectors span at most 19 directions: the sample covariance has 29 zero eigenvalues,
        // the estimate none, and it expects more variance along the weak axes than the
        // training set shows there.
        assert!(p.values.iter().all(|&v| v > 1e-3), "{:?}", p.values);
        assert!(
            p.values[40] > 2.0 * p.shown[40],
            "{} vs {}",
            p.values[40],
            p.shown[40]
        );
    }

    #[test]
    fn many_vectors_barely_shrink() {
        let set = gaussian(4000, 24, 2);
        let m = moments(&set);
        let p = pca(&set, &m, &(0..set.len()).collect::<Vec<_>>()).unwrap();
        assert!(p.shrinkage < 0.02, "{}", p.shrinkage);
        for (v, s) in p.values.iter().zip(&p.shown) {
            assert!((v - s).abs() <= 0.05 * s.max(1e-3), "{v} vs {s}");
        }
    }
}
