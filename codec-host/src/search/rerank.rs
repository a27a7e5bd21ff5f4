//! k-reciprocal re-ranking (Zhong et al., "Re-ranking Person Re-identification with
//! k-reciprocal Encoding", CVPR 2017), restricted to each query's candidate pool.
//!
//! The paper re-ranks with the distances between all queries and gallery items. Here each query
//! is re-ranked on its own pool: the query and its best `pool` gallery rows from the exact
//! search. Neighbour lists, reciprocal sets and the Jaccard distance are computed among those
//! `pool + 1` items only, so the cost is `(pool + 1)^2` distances per query and the memory the
//! candidate rows, whatever the gallery size. The approximation: a candidate's neighbours
//! outside the query's pool (and the other queries) are ignored; items outside the pool are
//! never promoted into the result.
//!
//! Every query's pool is processed independently with a single-threaded product, so results do
//! not depend on the thread count.

use super::prepare::dims_of;
use super::{Metric, Ranking};
use crate::io::FeatureSet;
use anyhow::{Result, bail};
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;
use std::collections::HashMap;

/// Parameters of the re-ranking; the defaults are the paper's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RerankOptions {
    /// Neighbours in the k-reciprocal sets (`k1`).
    pub k1: usize,
    /// Neighbours averaged in the local query expansion (`k2`; 1 = none).
    pub k2: usize,
    /// Weight of the original distance in the final one (`λ`; 1 = no re-ranking).
    pub lambda: f32,
    /// Gallery candidates per query that are re-ranked (at least the results asked for).
    pub pool: usize,
}

impl Default for RerankOptions {
    fn default() -> Self {
        Self {
            k1: 20,
            k2: 6,
            lambda: 0.3,
            pool: 100,
        }
    }
}

/// Second stage of a re-ranked search: given the first ranking (each query's pool), it keeps
/// the candidate gallery rows as the gallery streams by a second time, then re-ranks.
pub struct Reranker {
    first: Ranking,
    metric: Metric,
    /// Dimensions non-zero in some query or some gallery row: every other one adds nothing
    /// to any norm or product.
    dims: Vec<usize>,
    /// Gallery row -> slot in `rows`, for every row in some query's pool.
    slot: HashMap<u32, usize>,
    /// Candidate rows over `dims` (unit length for cosine), slot after slot.
    rows: Vec<f32>,
    /// Squared norms of the candidate rows (Euclidean).
    norms: Vec<f32>,
    next: u64,
}

impl Reranker {
    /// Get ready to re-rank `first` (the pools, from a search with `metric` for `pool` rows),
    /// where `mask` marks the dimensions non-zero in some query or gallery row.
    pub fn new(first: Ranking, metric: Metric, mask: &[bool]) -> Result<Self> {
        if metric == Metric::InnerProduct {
            bail!("re-ranking needs a distance: use --metric cosine or euclidean");
        }
        let mut slot = HashMap::new();
        for q in 0..first.len() {
            for &r in first.rows(q) {
                let n = slot.len();
                slot.entry(r).or_insert(n);
            }
        }
        let dims = dims_of(mask);
        Ok(Reranker {
            rows: vec![0.0; slot.len() * dims.len()],
            norms: vec![0.0; slot.len()],
            first,
            metric,
            dims,
            slot,
            next: 0,
        })
    }

    /// Gallery rows held for the re-ranking (each query's candidates, shared ones once).
    pub fn candidates(&self) -> usize {
        self.slot.len()
    }

    /// Take the candidates among the next gallery rows (fed in the order of the first search).
    pub fn add(&mut self, part: &FeatureSet) {
        let w = self.dims.len();
        for i in 0..part.len() {
            let Ok(row) = u32::try_from(self.next + i as u64) else {
                break;
            };
            if let Some(&s) = self.slot.get(&row) {
                self.norms[s] = gather(
                    part.row(i),
                    &self.dims,
                    self.metric,
                    &mut self.rows[s * w..(s + 1) * w],
                );
            }
        }
        self.next += part.len() as u64;
    }

    /// Re-rank every query's pool and keep the best `top` of each.
    pub fn finish(self, query: &FeatureSet, top: usize, opts: &RerankOptions) -> Ranking {
        let w = self.dims.len();
        let k = top.min(self.first.k());
        let nq = self.first.len();
        let per_query: Vec<(Vec<u32>, Vec<f32>)> = (0..nq)
            .into_par_iter()
            .map(|q| {
                let cands = self.first.rows(q);
                let n = cands.len() + 1;
                // Row 0 is the query, rows 1.. its candidates, in their first-stage order.
                let mut mat = vec![0f32; n * w];
                let mut norms = vec![0f32; n];
                norms[0] = gather(query.row(q), &self.dims, self.metric, &mut mat[..w]);
                for (i, r) in cands.iter().enumerate() {
                    let s = self.slot[r];
                    mat[(i + 1) * w..(i + 2) * w].copy_from_slice(&self.rows[s * w..(s + 1) * w]);
                    norms[i + 1] = self.norms[s];
                }
                let dist = distances(&mat, &norms, n, w);
                let fin = k_reciprocal(&dist, n, opts);
                let mut order: Vec<usize> = (0..n - 1).collect();
                // Stable: equal distances keep the first stage's order.
                order.sort_by(|&a, &b| fin[a].total_cmp(&fin[b]));
                order.truncate(k);
                let rows = order.iter().map(|&i| cands[i]).collect();
                // Scores stay "higher is better", like every other ranking.
                let scores = order.iter().map(|&i| -fin[i]).collect();
                (rows, scores)
            })
            .collect();
        let mut rows = Vec::with_capacity(nq * k);
        let mut scores = Vec::with_capacity(nq * k);
        for (r, s) in per_query {
            rows.extend(r);
            scores.extend(s);
        }
        Ranking {
            queries: nq,
            k,
            rows,
            scores,
            dims_used: self.first.dims_used,
        }
    }
}

/// Copy `row`'s values at `dims` into `out` (scaled to unit length for cosine, computed in
/// f64) and return the squared norm of what was written.
fn gather(row: &[f32], dims: &[usize], metric: Metric, out: &mut [f32]) -> f32 {
    let n2: f64 = dims.iter().map(|&j| f64::from(row[j]).powi(2)).sum();
    let scale = match metric {
        Metric::Cosine if n2 > 0.0 => 1.0 / n2.sqrt(),
        Metric::Cosine => 0.0,
        Metric::Euclidean | Metric::InnerProduct => 1.0,
    };
    for (o, &j) in out.iter_mut().zip(dims) {
        *o = (f64::from(row[j]) * scale) as f32;
    }
    match metric {
        Metric::Cosine if n2 > 0.0 => 1.0,
        Metric::Cosine => 0.0,
        Metric::Euclidean | Metric::InnerProduct => n2 as f32,
    }
}

/// Squared Euclidean distances between the `n` rows of `mat` (`w` wide; for cosine the rows
/// are unit vectors, so this is `2 - 2 cos`), row-major `n x n`, never negative nor NaN.
fn distances(mat: &[f32], norms: &[f32], n: usize, w: usize) -> Vec<f32> {
    let mut gram = vec![0f32; n * n];
    if w > 0 {
        let a = MatRef::from_row_major_slice(mat, n, w);
        let dst = MatMut::from_row_major_slice_mut(&mut gram, n, n);
        matmul(dst, Accum::Replace, a, a.transpose(), 1.0, Par::Seq);
    }
    let mut d = vec![0f32; n * n];
    for i in 0..n {
        for j in 0..n {
            let v = norms[i] + norms[j] - 2.0 * gram[i * n + j];
            // Rounding can make a near-duplicate's distance negative; NaN (from non-finite
            // features) becomes the largest distance.
            d[i * n + j] = if i == j {
                0.0
            } else if v.is_nan() {
                f32::MAX
            } else {
                v.max(0.0)
            };
        }
    }
    d
}

/// The re-ranked distance from item 0 (the query) to items `1..n` of a pool whose pairwise
/// distances are `dist` (`n x n`): `(1 - λ) · Jaccard + λ · original`, both in [0, 1].
pub(crate) fn k_reciprocal(dist: &[f32], n: usize, opts: &RerankOptions) -> Vec<f32> {
    // Each row scaled by its largest value, as in the paper's code: distances of different
    // items become comparable and the original term lies in [0, 1].
    let mut d = dist.to_vec();
    for row in d.chunks_exact_mut(n) {
        let m = row.iter().fold(0f32, |a, &b| a.max(b));
        if m > 0.0 {
            row.iter_mut().for_each(|v| *v /= m);
        }
    }
    let k1 = opts.k1.max(1);
    let half = k1.div_ceil(2);
    let k2 = opts.k2.max(1);
    let keep = (k1 + 1).max(k2).min(n);
    // Each item's nearest `keep` items, itself first, ties by index.
    let near: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            let row = &d[i * n..(i + 1) * n];
            let mut idx: Vec<usize> = (0..n).collect();
            idx.sort_by(|&a, &b| {
                (a != i)
                    .cmp(&(b != i))
                    .then(row[a].total_cmp(&row[b]))
                    .then(a.cmp(&b))
            });
            idx.truncate(keep);
            idx
        })
        .collect();
    // Position of j among i's neighbours (n = not among them), for membership tests.
    let mut pos = vec![usize::MAX; n * n];
    for (i, nb) in near.iter().enumerate() {
        for (p, &j) in nb.iter().enumerate() {
            pos[i * n + j] = p;
        }
    }
    // The k-reciprocal set of i: its k nearest (plus itself) that have i among theirs.
    let reciprocal = |i: usize, k: usize| -> Vec<usize> {
        let k = (k + 1).min(keep);
        near[i][..k]
            .iter()
            .copied()
            .filter(|&j| pos[j * n + i] < k)
            .collect()
    };
    let halves: Vec<Vec<usize>> = (0..n).map(|i| reciprocal(i, half)).collect();
    let mut v = vec![0f32; n * n];
    let mut member = vec![false; n];
    for i in 0..n {
        let r = reciprocal(i, k1);
        member.iter_mut().for_each(|m| *m = false);
        r.iter().for_each(|&j| member[j] = true);
        let mut expanded = member.clone();
        // A candidate's own (k1/2)-reciprocal set joins when most of it (over 2/3) is already
        // in i's set: robust expansion by the items the set has missed.
        for &j in &r {
            let h = &halves[j];
            let shared = h.iter().filter(|&&x| member[x]).count();
            if 3 * shared > 2 * h.len() {
                h.iter().for_each(|&x| expanded[x] = true);
            }
        }
        let row = &mut v[i * n..(i + 1) * n];
        let mut sum = 0f64;
        for j in 0..n {
            if expanded[j] {
                row[j] = (-d[i * n + j]).exp();
                sum += f64::from(row[j]);
            }
        }
        if sum > 0.0 {
            row.iter_mut()
                .for_each(|x| *x = (f64::from(*x) / sum) as f32);
        }
    }
    if k2 > 1 {
        // Local query expansion: each item's encoding becomes the mean of its k2 nearest's.
        let mut qe = vec![0f32; n * n];
        for i in 0..n {
            let nb = &near[i][..k2.min(keep)];
            let out = &mut qe[i * n..(i + 1) * n];
            for &j in nb {
                for (o, &x) in out.iter_mut().zip(&v[j * n..(j + 1) * n]) {
                    *o += x;
                }
            }
            out.iter_mut().for_each(|x| *x /= nb.len() as f32);
        }
        v = qe;
    }
    let lambda = opts.lambda.clamp(0.0, 1.0);
    let q = &v[..n];
    (1..n)
        .map(|j| {
            let g = &v[j * n..(j + 1) * n];
            let (mut lo, mut hi) = (0f64, 0f64);
            for (&a, &b) in q.iter().zip(g) {
                lo += f64::from(a.min(b));
                hi += f64::from(a.max(b));
            }
            let jaccard = if hi > 0.0 { 1.0 - lo / hi } else { 1.0 };
            (1.0 - lambda) * jaccard as f32 + lambda * d[j]
        })
        .collect()
}

#[cfg(test)]
mod tests;
