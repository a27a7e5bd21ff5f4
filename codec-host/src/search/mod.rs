//! Exact nearest-neighbour search for re-identification.
//!
//! Every query is compared with every gallery row (no approximation), as blocked f32 matrix
//! products on faer's GEMM. The gallery is consumed in blocks of [`SearchOptions::gallery_block`]
//! rows, so the working memory beyond the inputs is a few blocks of scores plus `k` entries per
//! query, whatever the gallery size. Dimensions that are zero in every query or in every gallery
//! row are dropped before the products: they add exact zeros, so results are unchanged.
//!
//! Ties are broken by gallery order (lower row first). Each score is a function of its two
//! vectors only, not of block sizes or thread count, so rankings are reproducible bit for bit.

mod exact;
mod prepare;
mod rerank;
pub(crate) mod topk;

pub(crate) use prepare::active_dims;
pub use rerank::{RerankOptions, Reranker};

use crate::io::FeatureSet;
use anyhow::{Result, bail};
use indicatif::ProgressBar;

/// How query and gallery vectors are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Metric {
    /// Cosine similarity, highest first. Rows are L2-normalised first; a zero vector has
    /// similarity 0 to everything.
    #[default]
    Cosine,
    /// Squared Euclidean distance, smallest first.
    Euclidean,
    /// Plain inner product, highest first (for vectors already scaled by the caller).
    #[value(name = "ip")]
    InnerProduct,
}

impl Metric {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::Euclidean => "euclidean",
            Metric::InnerProduct => "ip",
        }
    }
}

/// Tuning knobs of [`search_with`]; the defaults suit both the default and competition sizes.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Gallery rows per matrix product. Bounds the working memory; does not change results.
    pub gallery_block: usize,
    /// Most query rows per matrix product. Does not change results.
    pub query_block: usize,
    /// Advanced by the number of gallery rows searched, when set.
    pub progress: Option<ProgressBar>,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            gallery_block: 8192,
            query_block: 512,
            progress: None,
        }
    }
}

/// For every query, its best `k` gallery rows (best first) and their scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    queries: usize,
    k: usize,
    rows: Vec<u32>,
    scores: Vec<f32>,
    dims_used: usize,
}

impl Ranking {
    /// Results per query: the requested `k`, or the gallery size when that is smaller.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Number of queries.
    pub fn len(&self) -> usize {
        self.queries
    }

    /// True when there are no queries.
    pub fn is_empty(&self) -> bool {
        self.queries == 0
    }

    /// Gallery rows ranked for query `q`, best first.
    pub fn rows(&self, q: usize) -> &[u32] {
        &self.rows[q * self.k..(q + 1) * self.k]
    }

    /// Scores matching [`Ranking::rows`]: cosine similarities (decreasing) or squared
    /// Euclidean distances (increasing). A NaN score, from non-finite features, ranks last and
    /// shows as −∞ (cosine) or +∞ (Euclidean).
    pub fn scores(&self, q: usize) -> &[f32] {
        &self.scores[q * self.k..(q + 1) * self.k]
    }

    /// The ranked gallery rows of every query, in query order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u32]> + '_ {
        (0..self.len()).map(|q| self.rows(q))
    }

    /// How many dimensions took part in the products after dropping all-zero ones.
    pub fn dims_used(&self) -> usize {
        self.dims_used
    }
}

impl Ranking {
    /// The ranking kept in one [`topk::TopK`] per query (each of capacity `k`, fed with
    /// `gallery_rows` rows), for searches other than the exact scan (the int8 index).
    pub(crate) fn from_tops(tops: Vec<topk::TopK>, gallery_rows: usize, dims_used: usize) -> Self {
        let k = tops.first().map_or(0, topk::TopK::capacity);
        let mut rows = Vec::with_capacity(tops.len() * k);
        let mut scores = Vec::with_capacity(tops.len() * k);
        let queries = tops.len();
        for t in tops {
            for (key, row) in t.into_sorted() {
                rows.push(row);
                scores.push(key);
            }
        }
        Ranking {
            queries,
            k: k.min(gallery_rows),
            rows,
            scores,
            dims_used,
        }
    }
}

/// Exact top-`k` search with default [`SearchOptions`]. See [`search_with`].
pub fn search(
    query: &FeatureSet,
    gallery: &FeatureSet,
    k: usize,
    metric: Metric,
) -> Result<Ranking> {
    search_with(query, gallery, k, metric, &SearchOptions::default())
}

/// Rank the whole gallery for every query and keep the best `k` (all of them when the gallery
/// has fewer than `k` rows).
///
/// Fails when the two sets have different dimensions, when a set's data does not match its
/// names and dimension, or when the gallery has more than `u32::MAX` rows.
pub fn search_with(
    query: &FeatureSet,
    gallery: &FeatureSet,
    k: usize,
    metric: Metric,
    opts: &SearchOptions,
) -> Result<Ranking> {
    check_shape("query", query)?;
    check_shape("gallery", gallery)?;
    if !query.is_empty() {
        check_gallery_dim(query.dim, gallery)?;
    }
    if u32::try_from(gallery.len()).is_err() {
        bail!(
            "gallery has {} rows; at most {} are supported",
            gallery.len(),
            u32::MAX
        );
    }
    let searched = exact::run(query, gallery, k.min(gallery.len()), metric, opts);
    Ok(searched)
}

/// Exact search over a gallery that arrives in parts (read from disk block by block), so that
/// memory stays bounded whatever the gallery size. Feeding all parts gives the same ranking as
/// [`search_with`] over their concatenation (row numbers continue across parts).
pub struct StreamingSearch {
    inner: exact::Searcher,
    dim: usize,
    progress: Option<ProgressBar>,
}

impl StreamingSearch {
    /// Start a search for the best `k` gallery rows of every query.
    pub fn new(query: &FeatureSet, k: usize, metric: Metric, opts: &SearchOptions) -> Result<Self> {
        check_shape("query", query)?;
        Ok(StreamingSearch {
            inner: exact::Searcher::new(query, k, metric, opts, None),
            dim: query.dim,
            progress: opts.progress.clone(),
        })
    }

    /// Score the next part of the gallery.
    pub fn add(&mut self, part: &FeatureSet) -> Result<()> {
        check_gallery_dim(self.dim, part)?;
        check_shape("gallery", part)?;
        if self.inner.rows_seen() + part.len() as u64 > u64::from(u32::MAX) {
            bail!("the gallery has more than {} rows", u32::MAX);
        }
        self.inner.add(part, self.progress.as_ref());
        Ok(())
    }

    /// [`StreamingSearch::add`] for `rows` gallery rows held in the caller's buffer (row after
    /// row, the queries' dimension), read in place: a gallery in a memory map or a numpy array
    /// is searched without a copy.
    pub fn add_rows(&mut self, data: &[f32], rows: usize) -> Result<()> {
        if rows.checked_mul(self.dim) != Some(data.len()) {
            bail!(
                "gallery features: {} values for {rows} rows of {} dimensions",
                data.len(),
                self.dim
            );
        }
        if self.inner.rows_seen() + rows as u64 > u64::from(u32::MAX) {
            bail!("the gallery has more than {} rows", u32::MAX);
        }
        let part = prepare::RowsRef {
            data,
            dim: self.dim,
            rows,
        };
        self.inner.add(part, self.progress.as_ref());
        Ok(())
    }

    /// The ranking of every query (at most as many results as gallery rows fed).
    pub fn finish(self) -> Ranking {
        self.inner.finish()
    }
}

/// A set's values must fill exactly its rows.
fn check_shape(what: &str, set: &FeatureSet) -> Result<()> {
    if set.data.len() != set.len() * set.dim {
        bail!(
            "{what} features: {} values for {} rows of {} dimensions",
            set.data.len(),
            set.len(),
            set.dim
        );
    }
    Ok(())
}

/// Gallery rows must have the queries' dimension (an empty gallery part has none to check).
fn check_gallery_dim(query_dim: usize, gallery: &FeatureSet) -> Result<()> {
    if !gallery.is_empty() && gallery.dim != query_dim {
        bail!(
            "query features have {query_dim} dimensions but gallery features have {}",
            gallery.dim
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests;
