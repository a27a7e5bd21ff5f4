//! A compressed-domain search index over a coded gallery, built once and memory-mapped.
//!
//! A reconstructed gallery vector is `g_hat = mu + T^T y_g` (see [`crate::coded_search`]), so
//! its cosine with a query ranks as `q' . (y_g / n_g) + b_q / n_g` with `n_g = |g_hat|`, where
//! an original query `x` gives `q' = T x`, `b_q = mu . x`, and a query coded to `y_q` gives
//! `q' = y_q + T mu`, `b_q = |mu|^2 + (T mu) . y_q`. The index stores each `y_g / n_g` as int8
//! with a per-row scale (only the leading coefficients any gallery row uses, padded to a
//! multiple of 32) and `1 / n_g`; the queries are int16 at search time. A product is then a
//! dot product of small integers, which the compiler vectorises (with AVX2 where the CPU has
//! it, chosen at run time), over a few hundred bytes per row instead of 2048 floats.
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
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;

/// The first bytes of an index file (as the code array's, with its own name).
pub const MAGIC: [u8; 8] = *b"NFCI\r\n\x1a\n";
/// The index format's version; a reader refuses any other.
pub const FORMAT_VERSION: u16 = 1;
const HEADER_LEN: usize = 64;
/// Rows of int8 values are padded to a multiple of this many bytes (one AVX2 register).
const LANES: usize = 32;
/// Queries scored together against each gallery row, which is then read once per group.
const QUERY_GROUP: usize = 8;
/// Gallery rows scanned per task: a block stays in cache across the query groups.
const GALLERY_BLOCK: usize = 2048;

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
    pub fn search(
        &self,
        model_file: &ModelFile,
        query: &FeatureSet,
        budget: Option<usize>,
        k: usize,
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
        let (q, bias) = prepare_queries(model_file, query, budget, self.layout.dims)?;
        let scales = self.f32s(self.layout.scales());
        let inv_norms = self.f32s(self.layout.inv_norms());
        let values = self.values();
        let dims = self.layout.dims;
        let rows = self.layout.rows;
        let k = k.min(rows);
        let tops: Vec<TopK> = q
            .par_chunks(QUERY_GROUP * dims)
            .zip(bias.par_chunks(QUERY_GROUP))
            .flat_map_iter(|(group, bias)| {
                let n = bias.len();
                let mut tops: Vec<TopK> = (0..n).map(|_| TopK::new(k)).collect();
                let mut dots = vec![0i32; GALLERY_BLOCK * QUERY_GROUP];
                for first in (0..rows).step_by(GALLERY_BLOCK) {
                    let end = (first + GALLERY_BLOCK).min(rows);
                    dot_block(group, n, &values[first * dims..end * dims], dims, &mut dots);
                    for (j, top) in tops.iter_mut().enumerate() {
                        let keys = (first..end).map(|r| {
                            let d = dots[(r - first) * QUERY_GROUP + j];
                            let key = scales[r] * d as f32 + bias[j] * inv_norms[r];
                            if key.is_nan() { f32::NEG_INFINITY } else { key }
                        });
                        top.offer(first as u32, keys);
                    }
                }
                tops
            })
            .collect();
        Ok(Ranking::from_tops(tops, rows, dims))
    }
}

/// Each query's `q'` as int16 (`dims` per row; the scale divided out) and its bias term
/// `b_q` in the same units (see the module documentation).
fn prepare_queries(
    model_file: &ModelFile,
    query: &FeatureSet,
    budget: Option<usize>,
    dims: usize,
) -> Result<(Vec<i16>, Vec<f32>)> {
    let model = model_file.model();
    let k = model.coeffs();
    let Geometry {
        t,
        mean,
        active,
        t_mean,
        mean_sq,
    } = Geometry::of(&model);
    let coded = match budget {
        Some(b) => {
            model_file.check_budget(b)?;
            Some(coefficients(&model, query, b)?)
        }
        None => None,
    };
    let kd = dims.min(k);
    let prepared: Vec<(Vec<i16>, f32)> = (0..query.len())
        .into_par_iter()
        .map(|i| {
            let x = query.row(i);
            let (qf, b): (Vec<f32>, f32) = match &coded {
                Some(y) => {
                    let y = &y[i * k..(i + 1) * k];
                    let cy: f32 = t_mean.iter().zip(y).map(|(a, b)| a * b).sum();
                    ((0..kd).map(|r| y[r] + t_mean[r]).collect(), mean_sq + cy)
                }
                None => {
                    let tx = (0..kd)
                        .map(|r| {
                            active
                                .iter()
                                .enumerate()
                                .map(|(j, &d)| t[(r, j)] * x[d])
                                .sum()
                        })
                        .collect();
                    (tx, x.iter().zip(&mean).map(|(a, b)| a * b).sum())
                }
            };
            let max = qf.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = if max > 0.0 { max / 32767.0 } else { 1.0 };
            let mut q = vec![0i16; dims];
            for (o, v) in q.iter_mut().zip(&qf) {
                *o = (v / scale).round().clamp(-32767.0, 32767.0) as i16;
            }
            (q, b / scale)
        })
        .collect();
    let mut q = Vec::with_capacity(query.len() * dims);
    let mut bias = Vec::with_capacity(query.len());
    for (row, b) in prepared {
        q.extend(row);
        bias.push(b);
    }
    Ok((q, bias))
}

/// `dots[r * QUERY_GROUP + j] = group[j] . block[r]` for the `n` queries of `group` and every
/// row of `block` (`dims` values each), on the widest integer SIMD the CPU has.
fn dot_block(group: &[i16], n: usize, block: &[i8], dims: usize, dots: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above), the only requirement of the call.
        unsafe { dot_block_avx2(group, n, block, dims, dots) };
        return;
    }
    dot_block_portable(group, n, block, dims, dots);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot_block_avx2(group: &[i16], n: usize, block: &[i8], dims: usize, dots: &mut [i32]) {
    dot_block_portable(group, n, block, dims, dots);
}

/// The loops the compiler vectorises; inlined into each caller so that the AVX2 copy is
/// compiled with AVX2.
#[inline(always)]
fn dot_block_portable(group: &[i16], n: usize, block: &[i8], dims: usize, dots: &mut [i32]) {
    for (row, out) in block
        .chunks_exact(dims)
        .zip(dots.chunks_exact_mut(QUERY_GROUP))
    {
        for (q, o) in group.chunks_exact(dims).take(n).zip(out.iter_mut()) {
            *o = dot(q, row);
        }
    }
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

#[cfg(test)]
mod tests;
