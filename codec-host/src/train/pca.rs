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
    let dim = set.dim;
    let mut mean = vec![0f64; dim];
    let mut min = vec![f64::INFINITY; dim];
    let mut max = vec![f64::NEG_INFINITY; dim];
    for row in set.rows() {
        for (j, &v) in row.iter().enumerate() {
            let v = f64::from(v);
            mean[j] += v;
            min[j] = min[j].min(v);
            max[j] = max[j].max(v);
        }
    }
    let n = set.len().max(1) as f64;
    mean.iter_mut().for_each(|m| *m /= n);
    let active = (0..dim).filter(|&j| max[j] > min[j]).collect();
    Moments {
        mean,
        min,
        max,
        active,
    }
}

/// Principal axes of the active dims.
pub struct Pca {
    /// Eigenvalues, decreasing.
    pub values: Vec<f64>,
    /// Eigenvectors as columns (`active x active`).
    pub vectors: Mat<f64>,
}

/// Rows processed per covariance block: bounds memory to `BLOCK x active` doubles.
const BLOCK: usize = 4096;

/// Covariance of the active dims over `rows` of `set` (all rows if `rows` is `None`),
/// accumulated block by block in parallel, then its eigen-decomposition.
pub fn pca(set: &FeatureSet, m: &Moments, rows: &[usize]) -> Result<Pca> {
    let a = m.active.len();
    let blocks: Vec<&[usize]> = rows.chunks(BLOCK).collect();
    let cov = blocks
        .par_iter()
        .map(|block| {
            let x = Mat::from_fn(block.len(), a, |i, k| {
                let d = m.active[k];
                f64::from(set.row(block[i])[d]) - m.mean[d]
            });
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
    let cov = Mat::from_fn(a, a, |i, j| cov[(i, j)] * scale);
    let (values, vectors) = symmetric_eigen(cov.as_ref())?;
    Ok(Pca {
        values: values.into_iter().map(|v| v.max(0.0)).collect(),
        vectors,
    })
}

/// Evenly spaced row indices, at most `cap` of them.
pub fn subsample(n: usize, cap: usize) -> Vec<usize> {
    if n <= cap {
        return (0..n).collect();
    }
    (0..cap).map(|i| i * n / cap).collect()
}
