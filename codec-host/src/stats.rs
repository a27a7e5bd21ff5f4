//! Descriptive statistics of a feature set: the facts task.md lists for real features, so that
//! synthetic data, users' data and the real samples can be compared line by line.

use crate::io::FeatureSet;
use crate::linalg::{matmul, symmetric_eigen};
use anyhow::{Result, bail};
use faer::Mat;
use serde::Serialize;

/// Ranks at which PCA cumulative variance is reported (task.md's checkpoints).
pub const PCA_RANKS: [usize; 8] = [1, 8, 16, 32, 64, 128, 256, 400];

/// Rows used for the PCA (covariance cost grows with rows x active dims^2).
const PCA_MAX_ROWS: usize = 20_000;

/// Statistics of a feature set.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureStats {
    /// Vectors.
    pub count: usize,
    /// Values per vector.
    pub dim: usize,
    /// Dims non-zero in at least one vector.
    pub active_dims: usize,
    /// Dims non-zero in every vector.
    pub always_nonzero_dims: usize,
    /// Active dims whose standard deviation is below 1% of the median active dim's.
    pub near_constant_dims: usize,
    /// L2 norm: mean, standard deviation, min, max.
    pub norm: [f64; 4],
    /// Norm of the mean vector.
    pub mean_vector_norm: f64,
    /// Over active values: fraction negative, fraction exactly zero, fraction with |v| < 0.05.
    pub negative_fraction: f64,
    /// Fraction of exactly-zero values among active dims.
    pub zero_fraction: f64,
    /// Fraction of active values with |v| < 0.05.
    pub small_fraction: f64,
    /// Mean and median of the active values.
    pub mean: f64,
    /// Median of active values.
    pub median: f64,
    /// Quantiles 0.1%, 1%, 99%, 99.9% of active values.
    pub quantiles: [f64; 4],
    /// Min and max value.
    pub range: [f64; 2],
    /// Excess kurtosis of the pooled active values.
    pub excess_kurtosis: f64,
    /// Total variance (sum of PCA eigenvalues).
    pub total_variance: f64,
    /// (rank, eigenvalue, cumulative variance fraction) at [`PCA_RANKS`] within the active dims.
    pub pca: Vec<(usize, f64, f64)>,
}

/// Compute the statistics (PCA on at most 20,000 evenly spaced rows).
pub fn feature_stats(set: &FeatureSet) -> Result<FeatureStats> {
    let (n, dim) = (set.len(), set.dim);
    anyhow::ensure!(n > 1, "statistics need at least two vectors");
    let mut nonzero_any = vec![false; dim];
    let mut nonzero_all = vec![true; dim];
    let mut norms = Vec::with_capacity(n);
    let mut sum = vec![0f64; dim];
    let mut sum2 = vec![0f64; dim];
    for row in set.rows() {
        let mut sq = 0f64;
        for (j, &v) in row.iter().enumerate() {
            let v = f64::from(v);
            nonzero_any[j] |= v != 0.0;
            nonzero_all[j] &= v != 0.0;
            sum[j] += v;
            sum2[j] += v * v;
            sq += v * v;
        }
        norms.push(sq.sqrt());
    }
    let active: Vec<usize> = (0..dim).filter(|&j| nonzero_any[j]).collect();
    let mut values: Vec<f64> = Vec::with_capacity(n * active.len());
    for row in set.rows() {
        values.extend(active.iter().map(|&j| f64::from(row[j])));
    }
    let count = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / count;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / count;
    let m4 = values.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / count;
    let frac = |f: &dyn Fn(f64) -> bool| values.iter().filter(|&&v| f(v)).count() as f64 / count;
    let negative_fraction = frac(&|v| v < 0.0);
    let zero_fraction = frac(&|v| v == 0.0);
    let small_fraction = frac(&|v| v.abs() < 0.05);
    values.sort_by(f64::total_cmp);
    let q = |p: f64| {
        values
            .get(((values.len() - 1) as f64 * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };

    let nf = n as f64;
    let dim_sd: Vec<f64> = active
        .iter()
        .map(|&j| (sum2[j] / nf - (sum[j] / nf).powi(2)).max(0.0).sqrt())
        .collect();
    let mut sorted_sd = dim_sd.clone();
    sorted_sd.sort_by(f64::total_cmp);
    let median_sd = sorted_sd.get(sorted_sd.len() / 2).copied().unwrap_or(0.0);
    let near_constant_dims = dim_sd.iter().filter(|&&s| s < 0.01 * median_sd).count();
    let mean_vector_norm = sum.iter().map(|s| (s / nf).powi(2)).sum::<f64>().sqrt();
    let norm_mean = norms.iter().sum::<f64>() / nf;
    let norm_sd = (norms.iter().map(|x| (x - norm_mean).powi(2)).sum::<f64>() / nf).sqrt();

    let eig = pca_eigenvalues(set, &active)?;
    let total_variance: f64 = eig.iter().sum();
    let pca = PCA_RANKS
        .iter()
        .filter(|&&r| r <= eig.len())
        .map(|&r| {
            (
                r,
                eig[r - 1],
                eig[..r].iter().sum::<f64>() / total_variance.max(1e-300),
            )
        })
        .collect();

    Ok(FeatureStats {
        count: n,
        dim,
        active_dims: active.len(),
        always_nonzero_dims: nonzero_all.iter().filter(|&&b| b).count(),
        near_constant_dims,
        norm: [
            norm_mean,
            norm_sd,
            norms.iter().copied().fold(f64::INFINITY, f64::min),
            norms.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ],
        mean_vector_norm,
        negative_fraction,
        zero_fraction,
        small_fraction,
        mean,
        median: q(0.5),
        quantiles: [q(0.001), q(0.01), q(0.99), q(0.999)],
        range: [q(0.0), q(1.0)],
        excess_kurtosis: m4 / (var * var).max(1e-300) - 3.0,
        total_variance,
        pca,
    })
}

/// Eigenvalues (descending) of the covariance over the given dims (at most 20,000 evenly
/// spaced rows).
pub fn pca_eigenvalues(set: &FeatureSet, dims: &[usize]) -> Result<Vec<f64>> {
    if set.len() < 2 {
        bail!("a covariance needs at least 2 vectors, got {}", set.len());
    }
    let stride = set.len().div_ceil(PCA_MAX_ROWS);
    let rows: Vec<usize> = (0..set.len()).step_by(stride).collect();
    let m = rows.len();
    let d = dims.len();
    let mut x = Mat::from_fn(m, d, |i, k| f64::from(set.row(rows[i])[dims[k]]));
    for k in 0..d {
        let mean = (0..m).map(|i| x[(i, k)]).sum::<f64>() / m as f64;
        for i in 0..m {
            x[(i, k)] -= mean;
        }
    }
    let mut cov = matmul(x.transpose(), x.as_ref());
    let scale = 1.0 / (m as f64 - 1.0).max(1.0);
    for i in 0..d {
        for j in 0..d {
            cov[(i, j)] *= scale;
        }
    }
    let (vals, _) = symmetric_eigen(cov.as_ref())?;
    Ok(vals.into_iter().map(|v| v.max(0.0)).collect())
}

impl std::fmt::Display for FeatureStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "vectors               {}", self.count)?;
        writeln!(f, "dimension             {}", self.dim)?;
        writeln!(
            f,
            "active dims           {} (non-zero in every vector: {}, near-constant: {})",
            self.active_dims, self.always_nonzero_dims, self.near_constant_dims
        )?;
        let [m, s, lo, hi] = self.norm;
        writeln!(
            f,
            "L2 norm               {m:.3} +- {s:.3} ({lo:.2} to {hi:.2})"
        )?;
        writeln!(f, "mean vector norm      {:.3}", self.mean_vector_norm)?;
        writeln!(
            f,
            "active values         negative {:.1}%, zero {:.1}%, |v|<0.05 {:.1}%",
            100.0 * self.negative_fraction,
            100.0 * self.zero_fraction,
            100.0 * self.small_fraction
        )?;
        writeln!(
            f,
            "mean / median         {:.4} / {:.4}",
            self.mean, self.median
        )?;
        let [q0, q1, q99, q999] = self.quantiles;
        writeln!(
            f,
            "quantiles             0.1% {q0:.3}, 1% {q1:.3}, 99% {q99:.3}, 99.9% {q999:.3}"
        )?;
        writeln!(
            f,
            "range                 [{:.3}, {:.3}]",
            self.range[0], self.range[1]
        )?;
        writeln!(f, "excess kurtosis       {:.2}", self.excess_kurtosis)?;
        writeln!(f, "total variance        {:.2}", self.total_variance)?;
        write!(f, "PCA (rank: eigenvalue, cumulative)")?;
        for (r, v, c) in &self.pca {
            write!(f, "\n  {r:>4}: {v:>8.4}  {:>5.1}%", 100.0 * c)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_a_tiny_set() {
        // Two vectors in 3-d, last dim always zero.
        let set = FeatureSet {
            names: vec!["a".into(), "b".into()],
            dim: 3,
            data: vec![3.0, -4.0, 0.0, 1.0, 0.0, 0.0],
        };
        let s = feature_stats(&set).unwrap();
        assert_eq!(s.active_dims, 2);
        assert_eq!(s.always_nonzero_dims, 1);
        assert!((s.norm[0] - 3.0).abs() < 1e-12); // norms 5 and 1
        assert!((s.negative_fraction - 0.25).abs() < 1e-12);
        assert!((s.zero_fraction - 0.25).abs() < 1e-12);
        // Covariance of (3,-4),(1,0) with n-1: var 2, 8, cov -4 -> eigenvalues 10, 0.
        assert!((s.total_variance - 10.0).abs() < 1e-9);
        assert_eq!(s.pca[0].0, 1);
        assert!((s.pca[0].2 - 1.0).abs() < 1e-9);
    }
}
