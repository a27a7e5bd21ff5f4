//! Re-identification in the codec's coefficient domain.
//!
//! A reconstructed query is `x = mu + T^T y` (mean, transform, decoded coefficients), so for
//! any gallery vector `g`, `x . g = mu . g + y . (T g)`. Ranking by cosine divides by `|g|`
//! (the query's own norm does not change its ranking), so every gallery row becomes the short
//! vector `[T g / |g|, mu . g / |g|]` and every query `[y, 1]`: an inner product over the
//! coefficients instead of the raw dimensions, with the same ranking as searching with the
//! reconstructed queries (up to the decoder's clamping and the fixed-point transform). Only
//! coefficients that some query actually uses take part, which at low budgets is a small
//! fraction of the dimension. With the gallery coded too, both sides are coefficient vectors:
//! `x . g_hat = (y_q + c) . y_g + |mu|^2 + c . y_q` with `c = T mu`.

use crate::codec::ModelFile;
use crate::io::FeatureSet;
use crate::search::{Metric, Ranking, search};
use anyhow::{Result, anyhow};
use codec_core::Model;
use codec_core::model::{MAX_COEFFS, TRANSFORM_BITS};
use faer::Mat;
use rayon::prelude::*;
use std::time::Instant;

/// Which side is coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CodedSide {
    /// Queries coded, gallery original (the competition's setting).
    Query,
    /// Both coded (a compressed gallery store).
    Both,
}

/// Timings and sizes of a coefficient-domain search.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CodedStats {
    /// Coefficients taking part in the products (plus one for the mean term).
    pub dims: usize,
    /// Seconds spent coding (encode + decode to coefficients).
    pub coding_seconds: f64,
    /// Seconds spent preparing the gallery rows.
    pub gallery_seconds: f64,
    /// Seconds in the search itself.
    pub search_seconds: f64,
}

/// Decoded coefficients of every row at `budget`, in input units (row-major, `K` per row).
fn coefficients(model: &Model<'_>, set: &FeatureSet, budget: usize) -> Result<Vec<f32>> {
    let k = model.coeffs();
    let unit = 2f32.powi(-model.shift());
    let mut out = vec![0f32; set.len() * k];
    out.par_chunks_mut(k)
        .enumerate()
        .try_for_each(|(i, row)| -> Result<()> {
            let mut code = vec![0u8; budget];
            let len = codec_core::encode(model, set.row(i), budget, &mut code)
                .map_err(|e| anyhow!("{}: {e}", set.names[i]))?;
            let mut y = [0i32; MAX_COEFFS];
            codec_core::decode::decode_coefficients(model, &code[..len], &mut y)
                .map_err(|e| anyhow!("{}: {e}", set.names[i]))?;
            for (o, &v) in row.iter_mut().zip(&y) {
                *o = v as f32 * unit;
            }
            Ok(())
        })?;
    Ok(out)
}

/// 1 + the last coefficient index that is non-zero in any row.
fn used(coeffs: &[f32], k: usize) -> usize {
    coeffs
        .par_chunks(k.max(1))
        .map(|r| r.iter().rposition(|&v| v != 0.0).map_or(0, |i| i + 1))
        .max()
        .unwrap_or(0)
}

/// The transform as floats (`K x A`) and the mean (all dims) in input units.
fn transform(model: &Model<'_>) -> (Mat<f32>, Vec<f32>) {
    let a = model.active_count();
    let scale = 1.0 / (1u32 << TRANSFORM_BITS) as f32;
    let t = Mat::from_fn(model.coeffs(), a, |k, j| {
        let row = model.transform_row(k);
        i16::from_le_bytes([row[2 * j], row[2 * j + 1]]) as f32 * scale
    });
    let unit = 2f32.powi(-model.shift());
    let mean = (0..model.dim())
        .map(|d| model.mean(d) as f32 * unit)
        .collect();
    (t, mean)
}

fn rows_to_set(names: &[String], dim: usize, data: Vec<f32>) -> FeatureSet {
    FeatureSet {
        names: names.to_vec(),
        dim,
        data,
    }
}

/// Rank `gallery` for every query by cosine with the queries reconstructed at `budget`, in the
/// coefficient domain.
pub fn coded_search(
    model_file: &ModelFile,
    query: &FeatureSet,
    gallery: &FeatureSet,
    budget: usize,
    side: CodedSide,
    k: usize,
) -> Result<(Ranking, CodedStats)> {
    let model = model_file.model();
    let kc = model.coeffs();
    let mut stats = CodedStats::default();
    let t0 = Instant::now();
    let yq = coefficients(&model, query, budget)?;
    let yg = match side {
        CodedSide::Both => Some(coefficients(&model, gallery, budget)?),
        CodedSide::Query => None,
    };
    stats.coding_seconds = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let (t, mean) = transform(&model);
    let active: Vec<usize> = (0..model.active_count())
        .map(|i| model.active_index(i))
        .collect();
    let kk = used(&yq, kc)
        .max(yg.as_ref().map_or(0, |y| used(y, kc)))
        .max(1);
    let width = kk + 1;
    let mut g_rows = vec![0f32; gallery.len() * width];
    let mut q_rows = vec![0f32; query.len() * width];
    match &yg {
        None => {
            // [T g / |g|, mu . g / |g|] for every gallery row, one block product at a time.
            let tk = t.as_ref().subrows(0, kk);
            const BLOCK: usize = 4096;
            g_rows
                .par_chunks_mut(BLOCK * width)
                .enumerate()
                .for_each(|(b, out)| {
                    let first = b * BLOCK;
                    let n = out.len() / width;
                    let ga =
                        Mat::from_fn(n, active.len(), |i, j| gallery.row(first + i)[active[j]]);
                    let mut h = Mat::<f32>::zeros(n, kk);
                    faer::linalg::matmul::matmul(
                        h.as_mut(),
                        faer::Accum::Replace,
                        ga.as_ref(),
                        tk.transpose(),
                        1.0,
                        faer::Par::Seq,
                    );
                    for i in 0..n {
                        let g = gallery.row(first + i);
                        let norm = g
                            .iter()
                            .map(|&v| f64::from(v) * f64::from(v))
                            .sum::<f64>()
                            .sqrt();
                        let inv = if norm > 0.0 { (1.0 / norm) as f32 } else { 0.0 };
                        let mg: f64 = g
                            .iter()
                            .zip(&mean)
                            .map(|(&a, &b)| f64::from(a) * f64::from(b))
                            .sum();
                        let row = &mut out[i * width..(i + 1) * width];
                        for c in 0..kk {
                            row[c] = h[(i, c)] * inv;
                        }
                        row[kk] = (mg as f32) * inv;
                    }
                });
            for (row, y) in q_rows.chunks_exact_mut(width).zip(yq.chunks_exact(kc)) {
                row[..kk].copy_from_slice(&y[..kk]);
                row[kk] = 1.0;
            }
        }
        Some(yg) => {
            let c: Vec<f32> = (0..kk)
                .map(|r| {
                    active
                        .iter()
                        .enumerate()
                        .map(|(j, &d)| t[(r, j)] * mean[d])
                        .sum()
                })
                .collect();
            let mm: f32 = mean.iter().map(|v| v * v).sum();
            for (row, y) in g_rows.chunks_exact_mut(width).zip(yg.chunks_exact(kc)) {
                let cy: f32 = c.iter().zip(y).map(|(a, b)| a * b).sum();
                let yy: f32 = y[..kk].iter().map(|v| v * v).sum();
                let n2 = mm + 2.0 * cy + yy;
                let inv = if n2 > 0.0 { 1.0 / n2.sqrt() } else { 0.0 };
                for (o, v) in row[..kk].iter_mut().zip(y) {
                    *o = v * inv;
                }
                row[kk] = inv;
            }
            for (row, y) in q_rows.chunks_exact_mut(width).zip(yq.chunks_exact(kc)) {
                for ((o, v), cc) in row[..kk].iter_mut().zip(y).zip(&c) {
                    *o = v + cc;
                }
                row[kk] = mm + c.iter().zip(y).map(|(a, b)| a * b).sum::<f32>();
            }
        }
    }
    stats.gallery_seconds = t1.elapsed().as_secs_f64();
    stats.dims = width;

    let t2 = Instant::now();
    let qs = rows_to_set(&query.names, width, q_rows);
    let gs = rows_to_set(&gallery.names, width, g_rows);
    let ranking = search(&qs, &gs, k, Metric::InnerProduct)?;
    stats.search_seconds = t2.elapsed().as_secs_f64();
    Ok((ranking, stats))
}

/// Rank with the same inputs the slow way, for tests: reconstruct, then cosine search.
pub fn reconstructed_search(
    model: &ModelFile,
    query: &FeatureSet,
    gallery: &FeatureSet,
    budget: usize,
    side: CodedSide,
    k: usize,
) -> Result<Ranking> {
    let (rq, ..) = crate::eval::round_trip(model, query, budget)?;
    let g = match side {
        CodedSide::Query => gallery.clone(),
        CodedSide::Both => crate::eval::round_trip(model, gallery, budget)?.0,
    };
    search(&rq, &g, k, Metric::Cosine)
}
