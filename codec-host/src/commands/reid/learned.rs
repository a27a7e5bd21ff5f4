//! A re-ID metric learned from training features in the model's coefficient space.
//!
//! Each vector becomes its model coefficients `y = T (x - mu)` (or `T x`, uncentred), each
//! coefficient scaled by `(var_k + rho * mean var)^-alpha`, where `var_k` is its variance over
//! the training features; vectors are then compared by cosine. `alpha = 0` uncentred is plain
//! cosine (the transform is a rotation of the active dims); `alpha = 0.5` is whitening with
//! shrinkage. Cosine is dominated by the leading, high-variance coefficients; lowering their
//! weight lets the many smaller, still identity-bearing ones count.
//!
//! With identity labels, `alpha` and the centring are chosen on a held-out split of the
//! training identities: variances from the other identities, ACC_reid on the held-out ones.

use crate::coded_search::Geometry;
use crate::io::{FeatureSet, ReadOptions};
use crate::metrics::{Label, ScoreOptions, evaluate};
use crate::search::Metric;
use crate::train::input::read_training_input;
use anyhow::{Result, bail};
use codec_core::Model;
use faer::Mat;
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;
use std::path::Path;

/// Rows projected per task.
const BLOCK: usize = 256;

/// Shrinkage of each variance toward their mean: keeps near-constant coefficients (noise)
/// from getting huge weights when `alpha` is large.
const RHO: f64 = 0.1;

/// The exponents tried when choosing `alpha`.
const ALPHAS: [f64; 11] = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5];

/// Training vectors read at most (an evenly spaced sample of a larger set).
const MAX_ROWS: usize = 20_000;

/// Every `HELD_OUT`-th identity (by a hash of its id) is held out to choose `alpha`.
const HELD_OUT: u64 = 4;

/// Held-out queries at most (one per held-out identity).
const MAX_QUERIES: usize = 1000;

/// How the exponent was chosen, for the summary line.
#[derive(Debug, Clone)]
pub(crate) struct Fit {
    /// ACC_reid on the held-out split with the chosen settings and with plain cosine.
    pub acc: f64,
    pub acc_cosine: f64,
    pub queries: usize,
    pub gallery: usize,
}

/// The learned metric: a projection onto the model's coefficients and one scale per
/// coefficient.
pub(crate) struct Learned {
    t: Mat<f32>,
    active: Vec<usize>,
    mean: Vec<f32>,
    pub alpha: f64,
    pub centred: bool,
    scale: Vec<f32>,
    /// Training vectors the variances came from.
    pub rows: usize,
    pub fit: Option<Fit>,
}

impl Learned {
    /// Learn the metric from the training features at `train` (with identities from `list`
    /// when given). `alpha` fixes the exponent (uncentred coefficients, so that 0 is plain
    /// cosine); without it the list is needed to choose it.
    pub(crate) fn learn(
        model: &Model<'_>,
        train: &Path,
        list: Option<&Path>,
        alpha: Option<f64>,
        read: &ReadOptions,
        batch_rows: usize,
    ) -> Result<Self> {
        if alpha.is_none() && list.is_none() {
            bail!(
                "--learn needs --learn-list (identities, to choose the exponent on a held-out \
                 split) or a fixed --alpha"
            );
        }
        let read = ReadOptions {
            prefer_dim: Some(model.dim()),
            ..read.clone()
        };
        let input = read_training_input(train, list, &read, MAX_ROWS, batch_rows)?;
        if read.strict {
            if let Some(first) = input.failures.first() {
                bail!("{first}");
            }
        }
        for f in &input.failures {
            eprintln!("{f}");
        }
        Self::from_training(model, &input.sample, input.labels.as_deref(), alpha, train)
    }

    /// [`Learned::learn`] from training features in memory (`labels` one per row).
    fn from_training(
        model: &Model<'_>,
        set: &FeatureSet,
        labels: Option<&[i64]>,
        alpha: Option<f64>,
        train: &Path,
    ) -> Result<Self> {
        if set.len() < 2 {
            bail!("{}: fewer than 2 usable training features", train.display());
        }
        if set.dim != model.dim() {
            bail!(
                "training features have {} dimensions but the model codes {}",
                set.dim,
                model.dim()
            );
        }
        let g = Geometry::of(model);
        let base = Learned {
            t: g.t,
            active: g.active,
            mean: g.mean,
            alpha: alpha.unwrap_or(0.0),
            centred: false,
            scale: Vec::new(),
            rows: set.len(),
            fit: None,
        };
        let (alpha, centred, fit) = match (alpha, labels) {
            (Some(a), _) => (a, false, None),
            (None, Some(labels)) => base.choose(set, labels)?,
            (None, None) => bail!("choosing the exponent needs identity labels"),
        };
        let var = base.variances(set);
        Ok(Learned {
            scale: scales(&var, alpha),
            alpha,
            centred,
            fit,
            ..base
        })
    }

    /// Coefficients of every row of `set` (`rows x K`, row-major).
    fn coefficients(&self, set: &FeatureSet, centred: bool) -> Vec<f32> {
        let (n, a, k) = (set.len(), self.active.len(), self.t.nrows());
        let mut x = vec![0f32; n * a];
        for (i, row) in x.chunks_exact_mut(a.max(1)).enumerate().take(n) {
            let src = set.row(i);
            for (o, &d) in row.iter_mut().zip(&self.active) {
                *o = if centred {
                    src[d] - self.mean[d]
                } else {
                    src[d]
                };
            }
        }
        let mut y = vec![0f32; n * k];
        if n > 0 && a > 0 && k > 0 {
            // Row blocks in parallel, each a single-threaded product: the values do not
            // depend on the thread count.
            y.par_chunks_mut(BLOCK * k)
                .zip(x.par_chunks(BLOCK * a))
                .for_each(|(out, rows)| {
                    let m = rows.len() / a;
                    let lhs = MatRef::from_row_major_slice(rows, m, a);
                    let dst = MatMut::from_row_major_slice_mut(out, m, k);
                    let t = self.t.as_ref().transpose();
                    matmul(dst, Accum::Replace, lhs, t, 1.0, Par::Seq);
                });
        }
        y
    }

    /// Variance of each coefficient over `set`.
    fn variances(&self, set: &FeatureSet) -> Vec<f64> {
        let k = self.t.nrows();
        let y = self.coefficients(set, true);
        let n = set.len().max(1) as f64;
        let mut sum = vec![0f64; k];
        let mut sq = vec![0f64; k];
        for row in y.chunks_exact(k.max(1)) {
            for ((s, q), &v) in sum.iter_mut().zip(&mut sq).zip(row) {
                *s += f64::from(v);
                *q += f64::from(v) * f64::from(v);
            }
        }
        sum.iter()
            .zip(&sq)
            .map(|(&s, &q)| (q / n - (s / n) * (s / n)).max(0.0))
            .collect()
    }

    /// `set` in the metric's space: scaled coefficients, to be compared by cosine.
    pub(crate) fn apply(&self, set: &FeatureSet) -> FeatureSet {
        self.apply_with(set, self.centred, &self.scale)
    }

    fn apply_with(&self, set: &FeatureSet, centred: bool, scale: &[f32]) -> FeatureSet {
        let k = self.t.nrows();
        let data = self.coefficients(set, centred);
        let y = FeatureSet {
            names: set.names.clone(),
            dim: k,
            data,
        };
        if scale.is_empty() {
            y
        } else {
            rescale(&y, scale)
        }
    }

    /// Choose the exponent and the centring on a held-out split of the training identities.
    fn choose(&self, set: &FeatureSet, labels: &[i64]) -> Result<(f64, bool, Option<Fit>)> {
        let held = |id: i64| (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 60 < 16 / HELD_OUT;
        let (mut fit_rows, mut query, mut gallery) = (Vec::new(), Vec::new(), Vec::new());
        let mut seen = std::collections::HashSet::new();
        for (i, &id) in labels.iter().enumerate() {
            if !held(id) {
                fit_rows.push(i);
            } else if query.len() < MAX_QUERIES && seen.insert(id) {
                query.push(i);
            } else {
                gallery.push(i);
            }
        }
        // A held-out query needs a match in the gallery to say anything.
        let in_gallery: std::collections::HashSet<i64> =
            gallery.iter().map(|&i| labels[i]).collect();
        query.retain(|&i| in_gallery.contains(&labels[i]));
        if fit_rows.len() < 2 || query.is_empty() || gallery.len() < 100 {
            bail!(
                "too few training identities with two or more vectors to choose the exponent \
                 ({} held-out queries, {} gallery rows); give --alpha",
                query.len(),
                gallery.len()
            );
        }
        let pick = |rows: &[usize]| FeatureSet {
            names: rows.iter().map(|&i| set.names[i].clone()).collect(),
            dim: set.dim,
            data: rows
                .iter()
                .flat_map(|&i| set.row(i).iter().copied())
                .collect(),
        };
        let label = |rows: &[usize]| -> Vec<Label> {
            rows.iter()
                .map(|&i| Label {
                    id: labels[i],
                    cam: None,
                })
                .collect()
        };
        let var = self.variances(&pick(&fit_rows));
        let (q, g) = (pick(&query), pick(&gallery));
        let (ql, gl) = (label(&query), label(&gallery));
        let opts = ScoreOptions::default();
        let acc_cosine = evaluate(&q, &g, &ql, &gl, Metric::Cosine, &opts)?.acc_reid;
        let mut best = (f64::NEG_INFINITY, 0.0, false);
        for centred in [false, true] {
            // The coefficients once per centring; each exponent only rescales them.
            let (yq, yg) = (
                self.apply_with(&q, centred, &[]),
                self.apply_with(&g, centred, &[]),
            );
            for alpha in ALPHAS {
                let s = scales(&var, alpha);
                let (qs, gs) = (rescale(&yq, &s), rescale(&yg, &s));
                let acc = evaluate(&qs, &gs, &ql, &gl, Metric::Cosine, &opts)?.acc_reid;
                // Strictly better only: ties keep the smaller exponent, uncentred first.
                if acc > best.0 {
                    best = (acc, alpha, centred);
                }
            }
        }
        Ok((
            best.1,
            best.2,
            Some(Fit {
                acc: best.0,
                acc_cosine,
                queries: q.len(),
                gallery: g.len(),
            }),
        ))
    }
}

/// `set` with each column scaled by its entry of `scale`.
fn rescale(set: &FeatureSet, scale: &[f32]) -> FeatureSet {
    let mut out = set.clone();
    for row in out.data.chunks_exact_mut(set.dim.max(1)) {
        row.iter_mut().zip(scale).for_each(|(v, &s)| *v *= s);
    }
    out
}

/// `(var_k + RHO * mean var)^-alpha` for every coefficient (1 where that is not finite).
fn scales(var: &[f64], alpha: f64) -> Vec<f32> {
    let mean = var.iter().sum::<f64>() / var.len().max(1) as f64;
    var.iter()
        .map(|&v| {
            let s = (v + RHO * mean).powf(-alpha);
            if s.is_finite() { s as f32 } else { 1.0 }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{gaussian, tiny_model};

    fn cosines(set: &FeatureSet) -> Vec<f64> {
        let norm = |r: &[f32]| r.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
        let mut out = Vec::new();
        for i in 0..set.len() {
            for j in 0..set.len() {
                let (a, b) = (set.row(i), set.row(j));
                let dot: f64 = a
                    .iter()
                    .zip(b)
                    .map(|(&x, &y)| f64::from(x) * f64::from(y))
                    .sum();
                out.push(dot / (norm(a) * norm(b)));
            }
        }
        out
    }

    /// With a full set of coefficients the transform is a rotation, so exponent 0 without
    /// centring compares vectors as plain cosine does (up to the transform's Q15 rounding).
    #[test]
    fn exponent_zero_uncentred_is_plain_cosine() {
        let file = tiny_model(6);
        let model = file.model();
        let train = gaussian(50, 6, 1);
        let l = Learned::from_training(&model, &train, None, Some(0.0), Path::new("t")).unwrap();
        assert!(!l.centred);
        let test = gaussian(12, 6, 2);
        let mapped = l.apply(&test);
        assert_eq!(mapped.dim, model.coeffs());
        for (a, b) in cosines(&test).iter().zip(cosines(&mapped)) {
            assert!((a - b).abs() < 1e-3, "{a} {b}");
        }
    }

    /// Labels let the exponent be chosen; none and no exponent is an error, not a default.
    #[test]
    fn choosing_needs_labels() {
        let file = tiny_model(6);
        let train = gaussian(50, 6, 1);
        let err = Learned::from_training(&file.model(), &train, None, None, Path::new("t"));
        assert!(err.is_err());
    }

    #[test]
    fn scales_flatten_the_variances_more_with_a_larger_exponent() {
        let var = [4.0, 1.0, 0.0];
        assert_eq!(scales(&var, 0.0), vec![1.0, 1.0, 1.0]);
        let s = scales(&var, 0.5);
        // Mean 5/3, shrink 1/6: weights (4 + 1/6)^-1/2, (1 + 1/6)^-1/2, (1/6)^-1/2.
        for (got, want) in s.iter().zip([4.0f64 + 1.0 / 6.0, 7.0 / 6.0, 1.0 / 6.0]) {
            assert!((f64::from(*got) - want.powf(-0.5)).abs() < 1e-6);
        }
        assert!(s[0] < s[1] && s[1] < s[2]);
        // No variance at all: every weight 0^-alpha is infinite, so all stay 1.
        assert_eq!(scales(&[0.0, 0.0], 0.3), vec![1.0, 1.0]);
    }
}
