//! Thin wrappers over faer for the dense linear algebra that training and synthesis need.

use anyhow::{Context, Result};
use faer::{Mat, MatRef, Par, Side};

/// Eigen-decomposition of a symmetric matrix: eigenvalues in DEcreasing order and the matching
/// eigenvectors as the columns of the returned matrix.
pub fn symmetric_eigen(a: MatRef<'_, f64>) -> Result<(Vec<f64>, Mat<f64>)> {
    let n = a.nrows();
    let evd = a
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| anyhow::anyhow!("{e:?}"))
        .context("symmetric eigen-decomposition did not converge")?;
    let s = evd.S();
    let u = evd.U();
    // faer sorts ascending; flip to the order PCA wants.
    let values: Vec<f64> = (0..n).rev().map(|i| s[i]).collect();
    let vectors = Mat::from_fn(n, n, |r, c| u[(r, n - 1 - c)]);
    Ok((values, vectors))
}

/// `a * b` with all cores.
pub fn matmul(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    let mut out = Mat::zeros(a.nrows(), b.ncols());
    faer::linalg::matmul::matmul(out.as_mut(), faer::Accum::Replace, a, b, 1.0, Par::rayon(0));
    out
}

/// A random orthogonal `n x n` matrix (Haar-distributed: QR of a Gaussian matrix with the signs
/// of R's diagonal folded into Q).
pub fn random_orthogonal(n: usize, rng: &mut crate::rng::Rng) -> Mat<f64> {
    let g = Mat::from_fn(n, n, |_, _| rng.normal());
    let qr = g.qr();
    let q = qr.compute_Q();
    let r = qr.R();
    Mat::from_fn(n, n, |i, j| {
        let sign = if r[(j, j)] < 0.0 { -1.0 } else { 1.0 };
        q[(i, j)] * sign
    })
}

/// Sets with at least this many rows per dim use the sample covariance as it is: its weak
/// directions are then well estimated, and shrinking by the little the estimator asks for
/// (0.009 on the default kind-A set, 43 vectors per dim) cost up to 0.3% dr there, while sets
/// of fewer vectors than dims gain up to 31% (docs/decisions/0020-shrunk-covariance.md).
pub const SHRINK_BELOW_ROWS_PER_DIM: usize = 10;

/// Sums over centred rows from which [`CovarianceSums::shrunk`] estimates a covariance:
/// `sum x x^T` and `sum (x o x)(x o x)^T` (`o` the element-wise product), added block by block.
pub struct CovarianceSums {
    products: Mat<f64>,
    squared_products: Mat<f64>,
    rows: usize,
}

impl CovarianceSums {
    /// The sums of the rows of `x` (already centred), one block.
    pub fn of_block(x: MatRef<'_, f64>) -> Self {
        let d = x.ncols();
        let x2 = Mat::from_fn(x.nrows(), d, |i, j| x[(i, j)] * x[(i, j)]);
        let mut products = Mat::zeros(d, d);
        let mut squared_products = Mat::zeros(d, d);
        for (out, y) in [(&mut products, x), (&mut squared_products, x2.as_ref())] {
            faer::linalg::matmul::matmul(
                out.as_mut(),
                faer::Accum::Replace,
                y.transpose(),
                y,
                1.0,
                Par::Seq,
            );
        }
        CovarianceSums {
            products,
            squared_products,
            rows: x.nrows(),
        }
    }

    /// The sums of two disjoint blocks of rows.
    pub fn merge(self, other: Self) -> Self {
        CovarianceSums {
            products: self.products + other.products,
            squared_products: self.squared_products + other.squared_products,
            rows: self.rows + other.rows,
        }
    }

    /// The covariance training and the bound use: shrunk ([`CovarianceSums::shrunk`]) for
    /// fewer than [`SHRINK_BELOW_ROWS_PER_DIM`] rows per dim, the sample covariance (intensity
    /// 0) from there on.
    pub fn estimate(&self) -> (Mat<f64>, f64) {
        if self.rows < SHRINK_BELOW_ROWS_PER_DIM * self.products.nrows() {
            self.shrunk()
        } else {
            (self.sample(), 0.0)
        }
    }

    /// The sample covariance (divided by rows - 1).
    pub fn sample(&self) -> Mat<f64> {
        let scale = 1.0 / (self.rows as f64 - 1.0).max(1.0);
        Mat::from_fn(self.products.nrows(), self.products.ncols(), |i, j| {
            self.products[(i, j)] * scale
        })
    }

    /// The sample covariance shrunk toward its own diagonal, and the shrinkage intensity in
    /// [0, 1]. The intensity is the one that minimises the expected squared error of the
    /// estimate (Schäfer and Strimmer 2005, target "D": the variances kept, correlations toward
    /// zero), estimated from the rows themselves: with few rows per dimension the sample
    /// covariance is rank-deficient and its weak directions arbitrary, and shrinking damps the
    /// correlations the rows cannot support; with many rows the intensity is close to zero.
    pub fn shrunk(&self) -> (Mat<f64>, f64) {
        let d = self.products.nrows();
        let n = self.rows as f64;
        let cov = self.sample();
        let intensity = if self.rows < 4 {
            1.0
        } else {
            // Var(s_ij) = n / (n-1)^3 * sum_k (w_kij - mean_k w_kij)^2, w_kij = x_ki x_kj.
            let (mut var, mut squares) = (0.0, 0.0);
            for j in 0..d {
                for i in (0..d).filter(|&i| i != j) {
                    let s = self.products[(i, j)];
                    var += (self.squared_products[(i, j)] - s * s / n).max(0.0);
                    squares += cov[(i, j)] * cov[(i, j)];
                }
            }
            let var = var * n / (n - 1.0).powi(3);
            if squares > 0.0 {
                (var / squares).clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        let shrunk = Mat::from_fn(d, d, |i, j| {
            if i == j {
                cov[(i, j)]
            } else {
                (1.0 - intensity) * cov[(i, j)]
            }
        });
        (shrunk, intensity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_of_diagonal_is_sorted_descending() {
        let a = Mat::from_fn(3, 3, |i, j| if i == j { [1.0, 3.0, 2.0][i] } else { 0.0 });
        let (vals, vecs) = symmetric_eigen(a.as_ref()).unwrap();
        assert_eq!(vals.len(), 3);
        assert!((vals[0] - 3.0).abs() < 1e-12 && (vals[2] - 1.0).abs() < 1e-12);
        assert!((vecs[(1, 0)].abs() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn random_orthogonal_is_orthogonal() {
        let mut rng = crate::rng::Rng::new(5);
        let q = random_orthogonal(20, &mut rng);
        let qtq = matmul(q.transpose(), q.as_ref());
        for i in 0..20 {
            for j in 0..20 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((qtq[(i, j)] - want).abs() < 1e-10);
            }
        }
    }
}

#[cfg(test)]
mod covariance_tests {
    use super::*;

    fn sums(rows: &[[f64; 3]]) -> CovarianceSums {
        let n = rows.len();
        let mean: Vec<f64> = (0..3)
            .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n as f64)
            .collect();
        CovarianceSums::of_block(Mat::from_fn(n, 3, |i, j| rows[i][j] - mean[j]).as_ref())
    }

    #[test]
    fn blocks_add_up_to_the_whole() {
        let rows = [
            [1.0, 2.0, 0.5],
            [0.0, -1.0, 2.0],
            [3.0, 1.0, -1.0],
            [2.0, 2.5, 0.0],
            [-1.0, 0.5, 1.5],
        ];
        let whole = sums(&rows).shrunk();
        // Centre once over all rows, then split into blocks.
        let mean: Vec<f64> = (0..3)
            .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / 5.0)
            .collect();
        let x = Mat::from_fn(5, 3, |i, j| rows[i][j] - mean[j]);
        let split = CovarianceSums::of_block(x.as_ref().subrows(0, 2))
            .merge(CovarianceSums::of_block(x.as_ref().subrows(2, 3)))
            .shrunk();
        assert!((whole.1 - split.1).abs() < 1e-12);
        for i in 0..3 {
            for j in 0..3 {
                assert!((whole.0[(i, j)] - split.0[(i, j)]).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn shrinkage_falls_with_more_rows_and_keeps_the_variances() {
        // Two correlated dims and one independent one, from a fixed generator.
        let mut rng = crate::rng::Rng::new(7);
        let mut draw = |n: usize| -> Vec<[f64; 3]> {
            (0..n)
                .map(|_| {
                    let (a, b, c) = (rng.normal(), rng.normal(), rng.normal());
                    [a, 0.8 * a + 0.6 * b, c]
                })
                .collect()
        };
        let (few, many) = (sums(&draw(8)).shrunk(), sums(&draw(20_000)).shrunk());
        assert!(few.1 > many.1, "{} vs {}", few.1, many.1);
        assert!(many.1 < 0.01, "{}", many.1);
        // The diagonal is the sample variance; the true correlation survives with many rows.
        assert!((many.0[(0, 0)] - 1.0).abs() < 0.05);
        assert!((many.0[(1, 0)] - 0.8).abs() < 0.05);
    }

    #[test]
    fn too_few_rows_shrink_to_the_diagonal() {
        let (cov, intensity) = sums(&[[1.0, 2.0, 3.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]).shrunk();
        assert_eq!(intensity, 1.0);
        assert_eq!(cov[(0, 1)], 0.0);
        assert!(cov[(0, 0)] > 0.0);
    }
}
