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
