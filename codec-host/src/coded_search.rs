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
//! `x . g_hat = y_q . y_g + c . y_g + |mu|^2 + c . y_q` with `c = T mu`.
//!
//! The gallery arrives in parts ([`CodedSearch::add`]), so `naicfc reid --model` reads, codes
//! and ranks it one batch at a time in bounded memory, like the exact search. A gallery stored
//! as codes (a code array) is decoded to its coefficients only ([`stored_coefficients`],
//! [`CodedSearch::add_coefficients`]), never to vectors; its queries are then coded too, or
//! kept original ([`CodedSearch::original_queries`]: `x . g_hat = mu . x + y_g . (T x)`).

use crate::codec::ModelFile;
use crate::io::codes::CodeArray;
use crate::io::{FeatureSet, InputError, Loaded};
use crate::search::{Metric, Ranking, SearchOptions, StreamingSearch, search};
use anyhow::{Result, anyhow, bail};
use codec_core::Model;
use codec_core::internals::{MAX_COEFFS, ModelInternals, TRANSFORM_BITS};
use faer::Mat;
use rayon::prelude::*;
use std::ops::Range;
use std::path::Path;
use std::time::Instant;

pub mod vectors;

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
pub(crate) fn coefficients(model: &Model<'_>, set: &FeatureSet, budget: usize) -> Result<Vec<f32>> {
    let k = model.coeffs();
    let unit = 2f32.powi(-model.shift());
    let mut out = vec![0f32; set.len() * k];
    out.par_chunks_mut(k)
        .enumerate()
        .try_for_each(|(i, row)| -> Result<()> {
            let mut code = vec![0u8; budget];
            let len = codec_core::encode(model, set.row(i), budget, &mut code)
                .map_err(|e| anyhow!("{}: {e}", set.names[i]))?;
            code_coefficients(model, &code[..len], unit, row)
                .map_err(|e| anyhow!("{}: {e}", set.names[i]))
        })?;
    Ok(out)
}

/// One code's decoded coefficients into `row` (`K` values) in input units (`unit` is
/// `2^-shift`); on an error `row` is left as it was.
fn code_coefficients(
    model: &Model<'_>,
    code: &[u8],
    unit: f32,
    row: &mut [f32],
) -> Result<(), codec_core::Error> {
    let mut y = [0i32; MAX_COEFFS];
    codec_core::internals::decode_coefficients(model, code, &mut y)?;
    for (o, &v) in row.iter_mut().zip(&y) {
        *o = v as f32 * unit;
    }
    Ok(())
}

/// 1 + the last coefficient index that is non-zero in any row.
fn used(coeffs: &[f32], k: usize) -> usize {
    coeffs
        .par_chunks(k.max(1))
        .map(|r| r.iter().rposition(|&v| v != 0.0).map_or(0, |i| i + 1))
        .max()
        .unwrap_or(0)
}

/// The model in input units, as the coefficient domain needs it: the transform as floats
/// (`t`, `K x A`), the mean (`mean`, all dims), the active dims, `c = T mu` (`t_mean`, one
/// per coefficient) and `|mu|^2` (`mean_sq`), which put a reconstruction's norm and its dot
/// product with a vector in terms of its coefficients.
pub(crate) struct Geometry {
    pub t: Mat<f32>,
    pub mean: Vec<f32>,
    pub active: Vec<usize>,
    pub t_mean: Vec<f32>,
    pub mean_sq: f32,
}

impl Geometry {
    pub fn of(model: &Model<'_>) -> Self {
        let a = model.active_count();
        let scale = 1.0 / (1u32 << TRANSFORM_BITS) as f32;
        let t = Mat::from_fn(model.coeffs(), a, |k, j| {
            let row = model.transform_row(k);
            i16::from_le_bytes([row[2 * j], row[2 * j + 1]]) as f32 * scale
        });
        let unit = 2f32.powi(-model.shift());
        let mean: Vec<f32> = (0..model.dim())
            .map(|d| model.mean(d) as f32 * unit)
            .collect();
        let active: Vec<usize> = (0..a).map(|i| model.active_index(i)).collect();
        let t_mean = (0..model.coeffs())
            .map(|r| {
                active
                    .iter()
                    .enumerate()
                    .map(|(j, &d)| t[(r, j)] * mean[d])
                    .sum()
            })
            .collect();
        let mean_sq = mean.iter().map(|v| v * v).sum();
        Geometry {
            t,
            mean,
            active,
            t_mean,
            mean_sq,
        }
    }
}

/// A coefficient-domain search fed with the gallery part by part (as read from disk), so the
/// gallery is never in memory at once. Feeding all parts ranks like [`coded_search`] over
/// their concatenation.
pub struct CodedSearch<'m> {
    model: Model<'m>,
    budget: usize,
    side: CodedSide,
    /// Coefficients some query uses (`1 +` the last non-zero index).
    used: usize,
    /// Transform rows `0..used` (`used x A`), for projecting original gallery rows.
    t: Mat<f32>,
    mean: Vec<f32>,
    active: Vec<usize>,
    /// `T mu` over every coefficient and `|mu|^2`, for coded gallery rows.
    t_mean: Vec<f32>,
    mean_sq: f32,
    inner: StreamingSearch,
    width: usize,
    stats: CodedStats,
}

impl<'m> CodedSearch<'m> {
    /// Code the queries at `budget` and get ready to rank gallery parts for the best `k`.
    pub fn new(
        model_file: &'m ModelFile,
        query: &FeatureSet,
        budget: usize,
        side: CodedSide,
        k: usize,
        opts: &SearchOptions,
    ) -> Result<Self> {
        let model = model_file.model();
        if query.dim != model.dim() {
            bail!(
                "query features have {} dimensions but the model codes {}",
                query.dim,
                model.dim()
            );
        }
        model_file.check_budget(budget)?;
        let kc = model.coeffs();
        let t0 = Instant::now();
        let yq = coefficients(&model, query, budget)?;
        let coding_seconds = t0.elapsed().as_secs_f64();
        let used = used(&yq, kc).max(1);
        let Geometry {
            t,
            mean,
            active,
            t_mean,
            mean_sq,
        } = Geometry::of(&model);
        // Query rows: [y, 1] against [T g / |g|, mu . g / |g|] (original gallery), or
        // [y, 1, |mu|^2 + c . y] against [y_g / n, c . y_g / n, 1 / n] (coded gallery), where
        // n = |x_hat_g| and c = T mu; only the query's coefficients need to be in the product.
        let width = used + if side == CodedSide::Both { 2 } else { 1 };
        let mut rows = vec![0f32; query.len() * width];
        for (row, y) in rows.chunks_exact_mut(width).zip(yq.chunks_exact(kc)) {
            row[..used].copy_from_slice(&y[..used]);
            row[used] = 1.0;
            if side == CodedSide::Both {
                row[used + 1] = mean_sq + dot(&t_mean, y);
            }
        }
        let rows = FeatureSet {
            names: query.names.clone(),
            dim: width,
            data: rows,
        };
        let inner = StreamingSearch::new(&rows, k, Metric::InnerProduct, opts)?;
        Ok(CodedSearch {
            t: t.as_ref().subrows(0, used).to_owned(),
            model,
            budget,
            side,
            used,
            mean,
            active,
            t_mean,
            mean_sq,
            inner,
            width,
            stats: CodedStats {
                dims: width,
                coding_seconds,
                ..CodedStats::default()
            },
        })
    }

    /// Get ready to rank a coded gallery ([`CodedSearch::add_coefficients`]) for the best `k`
    /// by cosine with the original queries: each query becomes `[T x, 0, mu . x] / |x|`
    /// against the coded rows' `[y_g, c . y_g, 1] / |x_hat_g|`.
    pub fn original_queries(
        model_file: &'m ModelFile,
        query: &FeatureSet,
        k: usize,
        opts: &SearchOptions,
    ) -> Result<Self> {
        let model = model_file.model();
        if query.dim != model.dim() {
            bail!(
                "query features have {} dimensions but the model codes {}",
                query.dim,
                model.dim()
            );
        }
        let kc = model.coeffs();
        let Geometry {
            t,
            mean,
            active,
            t_mean,
            mean_sq,
        } = Geometry::of(&model);
        let mut search = CodedSearch {
            t,
            model,
            budget: 0,
            side: CodedSide::Both,
            used: kc,
            mean,
            active,
            t_mean,
            mean_sq,
            // Replaced below, once the query rows are projected.
            inner: StreamingSearch::new(&FeatureSet::default(), k, Metric::InnerProduct, opts)?,
            width: kc + 2,
            stats: CodedStats {
                dims: kc + 2,
                ..CodedStats::default()
            },
        };
        let t0 = Instant::now();
        // `projected` gives `[T x, mu . x] / |x|`; the middle (c . y) column is 0 for a query.
        let projected =
            Self::projected(&search.t, &search.mean, &search.active, search.width, query);
        let mut rows = vec![0f32; query.len() * (kc + 2)];
        for (row, p) in rows
            .chunks_exact_mut(kc + 2)
            .zip(projected.chunks_exact(kc + 2))
        {
            row[..kc].copy_from_slice(&p[..kc]);
            row[kc + 1] = p[kc];
        }
        search.stats.coding_seconds = t0.elapsed().as_secs_f64();
        let rows = FeatureSet {
            names: query.names.clone(),
            dim: kc + 2,
            data: rows,
        };
        search.inner = StreamingSearch::new(&rows, k, Metric::InnerProduct, opts)?;
        Ok(search)
    }

    /// Rank the next part of a coded gallery, given as its decoded coefficients (`K` per row,
    /// from [`stored_coefficients`]). Only for a search with the gallery coded.
    pub fn add_coefficients(&mut self, part: &FeatureSet) -> Result<()> {
        if self.side != CodedSide::Both {
            bail!("a coded gallery needs a search with the gallery coded");
        }
        if !part.is_empty() && part.dim != self.model.coeffs() {
            bail!(
                "gallery rows have {} coefficients but the model codes {}",
                part.dim,
                self.model.coeffs()
            );
        }
        let t1 = Instant::now();
        let kc = self.model.coeffs();
        let rows = Self::coded(
            &self.t_mean,
            self.mean_sq,
            kc,
            self.used,
            self.width,
            &part.data,
        );
        self.stats.gallery_seconds += t1.elapsed().as_secs_f64();
        let rows = FeatureSet {
            names: part.names.clone(),
            dim: self.width,
            data: rows,
        };
        let t2 = Instant::now();
        self.inner.add(&rows)?;
        self.stats.search_seconds += t2.elapsed().as_secs_f64();
        Ok(())
    }

    /// Rank the next part of the gallery (rows numbered after those already fed).
    pub fn add(&mut self, part: &FeatureSet) -> Result<()> {
        if !part.is_empty() && part.dim != self.model.dim() {
            bail!(
                "gallery features have {} dimensions but the model codes {}",
                part.dim,
                self.model.dim()
            );
        }
        let rows = match self.side {
            CodedSide::Query => {
                let t1 = Instant::now();
                let rows = Self::projected(&self.t, &self.mean, &self.active, self.width, part);
                self.stats.gallery_seconds += t1.elapsed().as_secs_f64();
                rows
            }
            CodedSide::Both => {
                let t0 = Instant::now();
                let yg = coefficients(&self.model, part, self.budget)?;
                self.stats.coding_seconds += t0.elapsed().as_secs_f64();
                let t1 = Instant::now();
                let kc = self.model.coeffs();
                let rows = Self::coded(&self.t_mean, self.mean_sq, kc, self.used, self.width, &yg);
                self.stats.gallery_seconds += t1.elapsed().as_secs_f64();
                rows
            }
        };
        let rows = FeatureSet {
            names: part.names.clone(),
            dim: self.width,
            data: rows,
        };
        let t2 = Instant::now();
        self.inner.add(&rows)?;
        self.stats.search_seconds += t2.elapsed().as_secs_f64();
        Ok(())
    }

    /// The ranking of every query, and where the time went.
    pub fn finish(self) -> (Ranking, CodedStats) {
        (self.inner.finish(), self.stats)
    }

    /// `[T g / |g|, mu . g / |g|]` for every original gallery row (`t.nrows()` coefficients
    /// in rows of `width`, the rest zero), one block product at a time.
    fn projected(
        t: &Mat<f32>,
        mean: &[f32],
        active: &[usize],
        width: usize,
        part: &FeatureSet,
    ) -> Vec<f32> {
        const BLOCK: usize = 4096;
        let used = t.nrows();
        let mut out = vec![0f32; part.len() * width];
        out.par_chunks_mut(BLOCK * width)
            .enumerate()
            .for_each(|(b, out)| {
                let first = b * BLOCK;
                let n = out.len() / width;
                let ga = Mat::from_fn(n, active.len(), |i, j| part.row(first + i)[active[j]]);
                let mut h = Mat::<f32>::zeros(n, used);
                faer::linalg::matmul::matmul(
                    h.as_mut(),
                    faer::Accum::Replace,
                    ga.as_ref(),
                    t.as_ref().transpose(),
                    1.0,
                    faer::Par::Seq,
                );
                for (i, row) in out.chunks_exact_mut(width).enumerate() {
                    let g = part.row(first + i);
                    let norm = g
                        .iter()
                        .map(|&v| f64::from(v) * f64::from(v))
                        .sum::<f64>()
                        .sqrt();
                    let inv = if norm > 0.0 { (1.0 / norm) as f32 } else { 0.0 };
                    let mg: f64 = g
                        .iter()
                        .zip(mean)
                        .map(|(&a, &b)| f64::from(a) * f64::from(b))
                        .sum();
                    for (c, o) in row[..used].iter_mut().enumerate() {
                        *o = h[(i, c)] * inv;
                    }
                    row[used] = (mg as f32) * inv;
                }
            });
        out
    }

    /// `[y_g / n, c . y_g / n, 1 / n]` for every coded gallery row (`kc` coefficients each, the
    /// first `used` kept), with `n = |x_hat_g|`, `c = T mu` (`t_mean`), `mean_sq = |mu|^2`.
    fn coded(
        t_mean: &[f32],
        mean_sq: f32,
        kc: usize,
        used: usize,
        width: usize,
        yg: &[f32],
    ) -> Vec<f32> {
        let mut out = vec![0f32; yg.len() / kc.max(1) * width];
        for (row, y) in out.chunks_exact_mut(width).zip(yg.chunks_exact(kc)) {
            let cy = dot(t_mean, y);
            let n2 = mean_sq + 2.0 * cy + dot(y, y);
            let inv = if n2 > 0.0 { 1.0 / n2.sqrt() } else { 0.0 };
            for (o, v) in row[..used].iter_mut().zip(y) {
                *o = v * inv;
            }
            row[used] = cy * inv;
            row[used + 1] = inv;
        }
        out
    }
}

/// The decoded coefficients (`K` per row, input units) of the rows `range` of the plain codes
/// `codes` (read from `path`), as a batch: a row that does not decode is reported by row and
/// left out, like a bad feature file.
pub fn stored_coefficients(
    model: &Model<'_>,
    codes: &CodeArray,
    range: Range<usize>,
    path: &Path,
) -> Loaded {
    let k = model.coeffs();
    let unit = 2f32.powi(-model.shift());
    let decoded: Vec<Result<Vec<f32>, String>> = range
        .clone()
        .into_par_iter()
        .map(|i| {
            let mut y = [0i32; MAX_COEFFS];
            codec_core::internals::decode_coefficients(model, codes.row(i), &mut y)
                .map_err(|e| format!("does not decode: {e}"))?;
            Ok(y[..k].iter().map(|&v| v as f32 * unit).collect())
        })
        .collect();
    let mut set = FeatureSet {
        names: Vec::with_capacity(range.len()),
        dim: k,
        data: Vec::with_capacity(range.len() * k),
    };
    let mut failures = Vec::new();
    for (i, r) in range.zip(decoded) {
        match r {
            Ok(y) => {
                set.names.push(codes.names[i].clone());
                set.data.extend(y);
            }
            Err(problem) => failures.push(InputError::row(path, i, &codes.names[i], problem)),
        }
    }
    Loaded { set, failures }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Rank `gallery` for every query by cosine with the queries reconstructed at `budget`, in the
/// coefficient domain (the whole gallery in one part).
pub fn coded_search(
    model_file: &ModelFile,
    query: &FeatureSet,
    gallery: &FeatureSet,
    budget: usize,
    side: CodedSide,
    k: usize,
) -> Result<(Ranking, CodedStats)> {
    let opts = SearchOptions::default();
    let mut search = CodedSearch::new(model_file, query, budget, side, k, &opts)?;
    search.add(gallery)?;
    Ok(search.finish())
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
    let (rq, ..) = crate::codec::round_trip(model, query, budget)?;
    let g = match side {
        CodedSide::Query => gallery.clone(),
        CodedSide::Both => crate::codec::round_trip(model, gallery, budget)?.0,
    };
    search(&rq, &g, k, Metric::Cosine)
}
