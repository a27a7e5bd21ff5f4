//! The statistics a transform coder learns: which dims vary, their mean and range, and the
//! principal axes of the rest.

use crate::io::FeatureSet;
use crate::linalg::symmetric_eigen;
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
}

/// Rows processed per covariance block: bounds memory to `BLOCK x active` doubles.
const BLOCK: usize = 4096;

/// Covariance of the active dims over `rows` of `set`, accumulated block by block in
/// parallel.
fn covariance(set: &FeatureSet, m: &Moments, rows: &[usize]) -> Mat<f64> {
    let a = m.active.len();
    let blocks: Vec<&[usize]> = rows.chunks(BLOCK).collect();
    let cov = blocks
        .par_iter()
        .map(|block| {
            let x = centred(set, m, block);
            let mut c = Mat::<f64>::zeros(a, a);
            faer::linalg::matmul::matmul(
                c.as_mut(),
                faer::Accum::Replace,
                x.transpose(),
                x.as_ref(),
                1.0,
                faer::Par::Seq,
            );
            c
        })
        .reduce(|| Mat::<f64>::zeros(a, a), |x, y| x + y);
    let scale = 1.0 / (rows.len() as f64 - 1.0).max(1.0);
    Mat::from_fn(a, a, |i, j| cov[(i, j)] * scale)
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
    let (values, vectors) = symmetric_eigen(covariance(set, m, rows).as_ref())?;
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
    let (_, axes) = symmetric_eigen(covariance(set, m, &fit).as_ref())?;
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

/// Evenly spaced row indices, at most `cap` of them.
pub fn subsample(n: usize, cap: usize) -> Vec<usize> {
    if n <= cap {
        return (0..n).collect();
    }
    (0..cap).map(|i| i * n / cap).collect()
}
