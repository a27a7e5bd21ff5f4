//! A compressed-domain search index over a coded gallery, built once and memory-mapped.
//!
//! A reconstructed gallery vector is `g_hat = mu + T^T y_g` (see [`crate::coded_search`]), so
//! its cosine with a query ranks as `q' . (y_g / n_g) + b_q / n_g` with `n_g = |g_hat|`, where
//! an original query `x` gives `q' = T x`, `b_q = mu . x`, and a query coded to `y_q` gives
//! `q' = y_q + T mu`, `b_q = |mu|^2 + (T mu) . y_q`. The index stores each `y_g / n_g` as int8
//! with a per-row scale (only the leading coefficients any gallery row uses, padded to a
//! multiple of 32) and `1 / n_g`.
//!
//! A search makes two passes. The first scores every row over its leading [`scan::PREFIX`]
//! values only (PCA order puts most of a score there) against int8 queries, with AVX-512 VNNI
//! where the CPU has it, and keeps the best [`SHORTLIST`] rows of each query; the second scores
//! those rows over all their values against int16 queries and keeps the best `k`. The first
//! pass is most of the work and reads 128 of each row's values.
//!
//! The file format (`docs/container.md`, "Search index") is versioned and checksummed; the
//! search memory-maps it, so the gallery is paged in by the kernel, not read up front.

use crate::codec::ModelFile;
use crate::coded_search::{Geometry, coefficients};
use crate::io::FeatureSet;
use crate::io::atomic::AtomicFile;
use crate::io::codes::{CodeArray, Identity};
use crate::search::Ranking;
use crate::search::topk::TopK;
use anyhow::{Context, Result, bail};
use codec_core::internals::{MAX_COEFFS, ModelInternals};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use rayon::prelude::*;
use scan::{Group, Kernel, Packed, Shortlist};
use std::io::Write;
use std::path::Path;

/// The first bytes of an index file (as the code array's, with its own name).
pub const MAGIC: [u8; 8] = *b"NFCI\r\n\x1a\n";
/// The index format's version; a reader refuses any other.
pub const FORMAT_VERSION: u16 = 1;
const HEADER_LEN: usize = 64;
/// Rows of int8 values are padded to a multiple of this many bytes (one AVX2 register).
const LANES: usize = 32;

/// Where each part of an index file lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    rows: usize,
    dims: usize,
    coeffs: usize,
    names_len: usize,
}

impl Layout {
    fn scales(&self) -> usize {
        HEADER_LEN
    }
    fn inv_norms(&self) -> usize {
        HEADER_LEN + 4 * self.rows
    }
    fn values(&self) -> usize {
        (HEADER_LEN + 8 * self.rows).next_multiple_of(64)
    }
    fn names(&self) -> usize {
        self.values() + self.rows * self.dims
    }
    fn len(&self) -> usize {
        self.names() + self.names_len
    }
}

fn header(layout: &Layout, fingerprint: &[u8; 16], body_crc: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(&MAGIC);
    h[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(layout.dims as u32).to_le_bytes());
    h[16..20].copy_from_slice(&(layout.coeffs as u32).to_le_bytes());
    h[24..32].copy_from_slice(&(layout.rows as u64).to_le_bytes());
    h[32..48].copy_from_slice(fingerprint);
    h[48..56].copy_from_slice(&(layout.names_len as u64).to_le_bytes());
    h[56..60].copy_from_slice(&body_crc.to_le_bytes());
    let crc = crc32fast::hash(&h[..60]);
    h[60..64].copy_from_slice(&crc.to_le_bytes());
    h
}

/// What building an index measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuildStats {
    /// Gallery rows indexed.
    pub rows: usize,
    /// int8 values per row (the coefficients used, padded).
    pub dims: usize,
    /// Bytes of the index file.
    pub bytes: usize,
}

/// Build the index of the plain codes `codes` (of the model `model`) into `out`. Every code
/// must decode: the index is of the whole array.
pub fn build(
    model_file: &ModelFile,
    codes: &CodeArray,
    codes_path: &Path,
    out: &Path,
) -> Result<BuildStats> {
    let model = model_file.model();
    if let Some(id) = &codes.identity {
        if id.scalable {
            bail!(
                "{}: scalable codes cannot be indexed; index plain codes",
                codes_path.display()
            );
        }
    }
    let k = model.coeffs();
    let unit = 2f32.powi(-model.shift());
    let Geometry {
        t_mean, mean_sq, ..
    } = Geometry::of(&model);
    // Each row's `y / n` (all K coefficients) and `1 / n`.
    let rows: Vec<(Vec<f32>, f32)> = (0..codes.len())
        .into_par_iter()
        .map(|i| -> Result<(Vec<f32>, f32)> {
            let mut y = [0i32; MAX_COEFFS];
            codec_core::internals::decode_coefficients(&model, codes.row(i), &mut y).map_err(
                |e| {
                    anyhow::anyhow!(
                        "{}[row {i}, {}]: does not decode: {e}",
                        codes_path.display(),
                        codes.names[i]
                    )
                },
            )?;
            let y: Vec<f32> = y[..k].iter().map(|&v| v as f32 * unit).collect();
            let cy: f32 = t_mean.iter().zip(&y).map(|(a, b)| a * b).sum();
            let yy: f32 = y.iter().map(|v| v * v).sum();
            let n2 = mean_sq + 2.0 * cy + yy;
            let inv = if n2 > 0.0 { 1.0 / n2.sqrt() } else { 0.0 };
            Ok((y.iter().map(|v| v * inv).collect(), inv))
        })
        .collect::<Result<_>>()?;
    let used = rows
        .iter()
        .map(|(z, _)| z.iter().rposition(|&v| v != 0.0).map_or(0, |i| i + 1))
        .max()
        .unwrap_or(0)
        .max(1);
    let dims = used.next_multiple_of(LANES);
    let mut names = String::new();
    for n in &codes.names {
        names.push_str(n);
        names.push('\n');
    }
    let layout = Layout {
        rows: codes.len(),
        dims,
        coeffs: k,
        names_len: names.len(),
    };
    let mut body = vec![0u8; layout.len() - HEADER_LEN];
    let at = |offset: usize| offset - HEADER_LEN;
    let quantised: Vec<(f32, Vec<i8>)> = rows
        .par_iter()
        .map(|(z, _)| {
            let max = z[..used].iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
            let mut q = vec![0i8; dims];
            for (o, v) in q.iter_mut().zip(&z[..used]) {
                *o = (v / scale).round().clamp(-127.0, 127.0) as i8;
            }
            (scale, q)
        })
        .collect();
    for (i, ((scale, q), (_, inv))) in quantised.iter().zip(&rows).enumerate() {
        let s = at(layout.scales()) + 4 * i;
        body[s..s + 4].copy_from_slice(&scale.to_le_bytes());
        let s = at(layout.inv_norms()) + 4 * i;
        body[s..s + 4].copy_from_slice(&inv.to_le_bytes());
        let s = at(layout.values()) + dims * i;
        body[s..s + dims].copy_from_slice(bytemuck::cast_slice(q));
    }
    body[at(layout.names())..].copy_from_slice(names.as_bytes());
    let fingerprint = Identity::new(&model_file.fingerprint(), 1, false)?.fingerprint;
    let mut file = AtomicFile::create(out)?;
    let w = file.writer();
    w.write_all(&header(&layout, &fingerprint, crc32fast::hash(&body)))
        .and_then(|_| w.write_all(&body))
        .with_context(|| format!("{}: cannot write", out.display()))?;
    file.commit()?;
    Ok(BuildStats {
        rows: layout.rows,
        dims,
        bytes: layout.len(),
    })
}

/// An index file, memory-mapped and checked.
pub struct Index {
    map: memmap2::Mmap,
    layout: Layout,
    fingerprint: [u8; 16],
    names: Vec<String>,
}

impl Index {
    /// Map the index `path` and check it whole (header, checksum of the body, names).
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path)
            .with_context(|| format!("{}: cannot open", path.display()))?;
        // SAFETY: the map is read-only and private to this process; the file is replaced only
        // by rename (`AtomicFile`), which leaves the mapped inode as it was. A process that
        // truncated the file in place would make reads fault, as with any mapped file.
        let map = unsafe { memmap2::Mmap::map(&file) }
            .with_context(|| format!("{}: cannot map", path.display()))?;
        let bad = |p: &str| anyhow::anyhow!("{}: not a usable index: {p}", path.display());
        if map.len() < HEADER_LEN || map[0..8] != MAGIC {
            return Err(bad("no NFCI signature"));
        }
        let h = &map[..HEADER_LEN];
        let version = u16::from_le_bytes([h[8], h[9]]);
        if version != FORMAT_VERSION {
            return Err(bad(&format!(
                "index format version {version}; this naicfc reads version {FORMAT_VERSION}"
            )));
        }
        if u32::from_le_bytes(h[60..64].try_into().expect("4 bytes")) != crc32fast::hash(&h[..60]) {
            return Err(bad("damaged header (checksum mismatch)"));
        }
        let u32_at =
            |i: usize| u32::from_le_bytes(h[i..i + 4].try_into().expect("4 bytes")) as usize;
        let u64_at = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().expect("8 bytes"));
        let layout = Layout {
            rows: usize::try_from(u64_at(24)).map_err(|_| bad("too many rows"))?,
            dims: u32_at(12),
            coeffs: u32_at(16),
            names_len: usize::try_from(u64_at(48)).map_err(|_| bad("names too long"))?,
        };
        if layout.dims == 0
            || layout.dims % LANES != 0
            || layout.rows.checked_mul(layout.dims + 8).is_none()
        {
            return Err(bad("damaged header (impossible sizes)"));
        }
        if layout.len() != map.len() {
            return Err(bad(&format!(
                "the header describes {} bytes but the file has {}",
                layout.len(),
                map.len()
            )));
        }
        let crc = u32::from_le_bytes(h[56..60].try_into().expect("4 bytes"));
        if crc32fast::hash(&map[HEADER_LEN..]) != crc {
            return Err(bad("damaged (checksum mismatch)"));
        }
        let text =
            std::str::from_utf8(&map[layout.names()..]).map_err(|_| bad("names are not UTF-8"))?;
        let names: Vec<String> = text.split_terminator('\n').map(str::to_string).collect();
        if names.len() != layout.rows || !text.ends_with('\n') && layout.rows > 0 {
            return Err(bad("names do not match the rows"));
        }
        let fingerprint = h[32..48].try_into().expect("16 bytes");
        Ok(Index {
            map,
            layout,
            fingerprint,
            names,
        })
    }

    /// Gallery rows.
    pub fn len(&self) -> usize {
        self.layout.rows
    }

    /// True when the index holds no rows.
    pub fn is_empty(&self) -> bool {
        self.layout.rows == 0
    }

    /// int8 values per row.
    pub fn dims(&self) -> usize {
        self.layout.dims
    }

    /// Row names, in row order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The fingerprint of the model the indexed codes were made with, as 32 hex digits.
    pub fn fingerprint_hex(&self) -> String {
        self.fingerprint
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn f32s(&self, offset: usize) -> Vec<f32> {
        self.map[offset..offset + 4 * self.layout.rows]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect()
    }

    fn values(&self) -> &[i8] {
        let start = self.layout.values();
        bytemuck::cast_slice(&self.map[start..start + self.layout.rows * self.layout.dims])
    }

    /// The best `k` rows for every query, by cosine with the reconstructed gallery: the queries
    /// coded at `budget` first, or the original queries when `budget` is `None`.
    ///
    /// Two passes: the leading [`scan::PREFIX`] int8 values of every row against int8 queries
    /// keep a shortlist of [`SHORTLIST`] rows (at least `k`) per query, and those rows are
    /// scored again over all their values against int16 queries.
    pub fn search(
        &self,
        model_file: &ModelFile,
        query: &FeatureSet,
        budget: Option<usize>,
        k: usize,
    ) -> Result<Ranking> {
        self.search_with(
            model_file,
            query,
            budget,
            k,
            SHORTLIST.max(k),
            Kernel::detect(),
        )
    }

    /// [`Index::search`] with a chosen shortlist length and first-pass kernel.
    fn search_with(
        &self,
        model_file: &ModelFile,
        query: &FeatureSet,
        budget: Option<usize>,
        k: usize,
        shortlist: usize,
        kernel: Kernel,
    ) -> Result<Ranking> {
        let model = model_file.model();
        if query.dim != model.dim() {
            bail!(
                "query features have {} dimensions but the model codes {}",
                query.dim,
                model.dim()
            );
        }
        if self.layout.coeffs != model.coeffs() {
            bail!(
                "the index holds {} coefficients per row but the model has {}",
                self.layout.coeffs,
                model.coeffs()
            );
        }
        let dims = self.layout.dims;
        let rows = self.layout.rows;
        let depth = scan::PREFIX.min(dims);
        let queries = prepare_queries(model_file, query, budget, dims, depth)?;
        let scales = self.f32s(self.layout.scales());
        let inv_norms = self.f32s(self.layout.inv_norms());
        let values = self.values();
        let packed = Packed::new(values, dims, depth, &scales, &inv_norms);
        let k = k.min(rows);
        let shortlist = shortlist.max(k).min(rows);
        let tops: Vec<TopK> = queries
            .prefix
            .par_chunks(QUERY_BLOCK * depth)
            .zip(queries.prefix_bias.par_chunks(QUERY_BLOCK))
            .enumerate()
            .flat_map_iter(|(b, (prefix, prefix_bias))| {
                let groups: Vec<Group> = prefix
                    .chunks(scan::GROUP * depth)
                    .zip(prefix_bias.chunks(scan::GROUP))
                    .map(|(q, bias)| Group::new(q, bias, depth))
                    .collect();
                let mut short: Vec<Shortlist> = (0..prefix_bias.len())
                    .map(|_| Shortlist::new(shortlist))
                    .collect();
                scan::scan(kernel, &packed, &groups, &mut short);
                let first = b * QUERY_BLOCK;
                short
                    .into_iter()
                    .enumerate()
                    .map(|(j, short)| {
                        let i = first + j;
                        let mut candidates: Vec<u32> =
                            short.into_sorted().into_iter().map(|(_, r)| r).collect();
                        // `TopK` takes rows in increasing order.
                        candidates.sort_unstable();
                        let q = &queries.full[i * dims..(i + 1) * dims];
                        let bias = queries.full_bias[i];
                        let mut top = TopK::new(k);
                        for r in candidates {
                            let r = r as usize;
                            let d = dot_row(q, &values[r * dims..(r + 1) * dims]);
                            let key = scales[r] * d as f32 + bias * inv_norms[r];
                            let key = if key.is_nan() { f32::NEG_INFINITY } else { key };
                            top.offer(r as u32, std::iter::once(key));
                        }
                        top
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        Ok(Ranking::from_tops(tops, rows, dims))
    }
}

/// Rows kept per query by the first pass for re-scoring (`k` when larger). Measured on kind-A
/// sets (docs/results.md): fewer lose ACC_reid, more only cost time.
pub const SHORTLIST: usize = 400;
/// Queries per parallel task: the gallery prefix is streamed once per block, so a larger
/// block reads less memory but leaves fewer tasks for the threads.
const QUERY_BLOCK: usize = 64;

/// The queries in both forms the passes use (see the module documentation).
struct Queries {
    /// Per query, `dims` int16 values of `q'` (its scale divided out).
    full: Vec<i16>,
    /// Per query, `b_q` in the units of `full`.
    full_bias: Vec<f32>,
    /// Per query, the first `depth` values of `q'` as int8, scaled on their own.
    prefix: Vec<i8>,
    /// Per query, `b_q` in the units of `prefix`.
    prefix_bias: Vec<f32>,
}

/// Round `v / scale` to integers of magnitude at most `max` (a scale fitted to the largest
/// value of `v`), returning the scale.
fn quantise<T: TryFrom<i32> + Default + Copy>(v: &[f32], max: f32, out: &mut [T]) -> f32 {
    let top = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = if top > 0.0 { top / max } else { 1.0 };
    for (o, x) in out.iter_mut().zip(v) {
        *o = T::try_from((x / scale).round().clamp(-max, max) as i32).unwrap_or_default();
    }
    scale
}

/// Each query's `q'` and bias term `b_q` (see the module documentation), in int16 over `dims`
/// values and in int8 over the first `depth`.
fn prepare_queries(
    model_file: &ModelFile,
    query: &FeatureSet,
    budget: Option<usize>,
    dims: usize,
    depth: usize,
) -> Result<Queries> {
    let model = model_file.model();
    let k = model.coeffs();
    let Geometry {
        t,
        mean,
        active,
        t_mean,
        mean_sq,
    } = Geometry::of(&model);
    let kd = dims.min(k);
    let n = query.len();
    // `q'` for every query, `n x kd`, and `b_q`.
    let (qf, bias): (Vec<f32>, Vec<f32>) = match budget {
        Some(b) => {
            model_file.check_budget(b)?;
            let y = coefficients(&model, query, b)?;
            let mut qf = vec![0f32; n * kd];
            let mut bias = vec![0f32; n];
            for ((row, y), b) in qf
                .chunks_exact_mut(kd)
                .zip(y.chunks_exact(k))
                .zip(&mut bias)
            {
                for ((o, y), c) in row.iter_mut().zip(y).zip(&t_mean) {
                    *o = y + c;
                }
                *b = mean_sq + t_mean.iter().zip(y).map(|(a, b)| a * b).sum::<f32>();
            }
            (qf, bias)
        }
        None => {
            // One product `X_active T^T` for all queries (a GEMM, not a loop per query).
            let x = Mat::from_fn(n, active.len(), |i, j| query.row(i)[active[j]]);
            let mut h = Mat::<f32>::zeros(n, kd);
            matmul(
                h.as_mut(),
                Accum::Replace,
                x.as_ref(),
                t.as_ref().subrows(0, kd).transpose(),
                1.0,
                Par::rayon(0),
            );
            let mut qf = vec![0f32; n * kd];
            for (i, row) in qf.chunks_exact_mut(kd).enumerate() {
                for (c, o) in row.iter_mut().enumerate() {
                    *o = h[(i, c)];
                }
            }
            let bias = (0..n)
                .map(|i| query.row(i).iter().zip(&mean).map(|(a, b)| a * b).sum())
                .collect();
            (qf, bias)
        }
    };
    let mut out = Queries {
        full: vec![0; n * dims],
        full_bias: bias.clone(),
        prefix: vec![0; n * depth],
        prefix_bias: bias,
    };
    out.full
        .par_chunks_mut(dims)
        .zip(out.prefix.par_chunks_mut(depth))
        .zip(qf.par_chunks(kd))
        .zip(out.full_bias.par_iter_mut().zip(&mut out.prefix_bias))
        .for_each(|(((full, prefix), qf), (fb, pb))| {
            *fb /= quantise(qf, 32767.0, full);
            *pb /= quantise(&qf[..depth.min(kd)], 127.0, prefix);
        });
    Ok(out)
}

/// `q . row` over int16 and int8 values, on AVX2 where the CPU has it.
fn dot_row(q: &[i16], row: &[i8]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above), the only requirement of the call.
        return unsafe { dot_avx2(q, row) };
    }
    dot(q, row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot_avx2(q: &[i16], row: &[i8]) -> i32 {
    dot(q, row)
}

/// One dot product into 32 independent lanes over fixed-size chunks, summed at the end: a
/// plain `.sum()` of the products is one serial chain, which the compiler keeps scalar, and
/// chunks of a length known only at run time vectorise poorly (6 against 28 GMAC/s here).
/// `dims` is a multiple of 32 ([`LANES`]).
#[inline(always)]
fn dot(q: &[i16], row: &[i8]) -> i32 {
    let mut acc = [0i32; LANES];
    for (qc, rc) in q.chunks_exact(LANES).zip(row.chunks_exact(LANES)) {
        let (Ok(qc), Ok(rc)) = (<&[i16; LANES]>::try_from(qc), <&[i8; LANES]>::try_from(rc)) else {
            continue; // never: `chunks_exact` gives whole chunks
        };
        for ((a, &x), &y) in acc.iter_mut().zip(qc).zip(rc) {
            // At most 32767 * 127 per product and 32 products per lane (K <= 1024): no overflow.
            *a += i32::from(x) * i32::from(y);
        }
    }
    acc.iter().sum()
}

mod scan;
#[cfg(test)]
mod tests;
