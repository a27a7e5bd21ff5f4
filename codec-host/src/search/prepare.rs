//! Turning feature rows into GEMM operands: dimension compaction, normalisation, norms.

use super::Metric;
use crate::io::FeatureSet;
use rayon::prelude::*;

/// Rows scanned per task when looking for active dimensions; large enough that the per-task
/// mask is noise next to the data it summarises.
const MASK_ROWS_PER_TASK: usize = 1024;

/// Feature rows wherever they are held: a [`FeatureSet`], or a caller's buffer (a numpy array,
/// a memory map) that is read in place rather than copied into one.
#[derive(Clone, Copy)]
pub(crate) struct RowsRef<'a> {
    /// `rows * dim` values, row after row.
    pub(crate) data: &'a [f32],
    pub(crate) dim: usize,
    /// Given, not derived: a set of zero-length rows still has a row count.
    pub(crate) rows: usize,
}

impl RowsRef<'_> {
    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

impl<'a> From<&'a FeatureSet> for RowsRef<'a> {
    fn from(set: &'a FeatureSet) -> Self {
        RowsRef {
            data: &set.data,
            dim: set.dim,
            rows: set.len(),
        }
    }
}

/// For each dimension, whether any row of `set` is non-zero there (NaN counts as non-zero, so it
/// still poisons the scores it touches instead of silently vanishing).
pub(crate) fn active_dims<'a>(set: impl Into<RowsRef<'a>>) -> Vec<bool> {
    let set = set.into();
    let dim = set.dim;
    if dim == 0 {
        return Vec::new();
    }
    set.data
        .par_chunks(dim * MASK_ROWS_PER_TASK)
        .map(|rows| {
            let mut mask = vec![false; dim];
            for row in rows.chunks_exact(dim) {
                for (m, &x) in mask.iter_mut().zip(row) {
                    *m |= x != 0.0;
                }
            }
            mask
        })
        .reduce(
            || vec![false; dim],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x |= y);
                a
            },
        )
}

/// Indices of the dimensions active in both masks: any other dimension is zero on one side of
/// every product, so dropping it leaves every dot product unchanged.
pub(crate) fn shared_dims(a: &[bool], b: &[bool]) -> Vec<usize> {
    let both: Vec<bool> = a.iter().zip(b).map(|(&x, &y)| x && y).collect();
    dims_of(&both)
}

/// Indices of the `true` entries of `mask`.
pub(crate) fn dims_of(mask: &[bool]) -> Vec<usize> {
    mask.iter()
        .enumerate()
        .filter_map(|(i, &on)| on.then_some(i))
        .collect()
}

/// Which columns of a feature set to read, and how to turn them into a GEMM operand.
pub(crate) struct Layout<'a> {
    /// Every dimension where some row of this side is non-zero: the norms need all of them.
    pub(crate) own: &'a [usize],
    /// The dimensions kept for the products (non-zero on both sides).
    pub(crate) shared: &'a [usize],
    /// Row length of the operand: `shared.len()` or more, the rest zero.
    pub(crate) width: usize,
    pub(crate) metric: Metric,
}

/// Copy `out_norms.len()` rows of `set`, starting at `first`, into `out` as a row-major matrix
/// of `layout.width` columns holding the shared columns (zero-padded).
///
/// Cosine rows are scaled to unit length (a zero row stays zero, hence similarity 0 to
/// everything). Euclidean rows are copied as they are and their squared norms written to
/// `out_norms`: a dimension dropped because the other side is zero there still counts in the
/// distance.
pub(crate) fn gather_rows<'a>(
    set: impl Into<RowsRef<'a>>,
    first: usize,
    layout: &Layout<'_>,
    out: &mut [f32],
    out_norms: &mut [f32],
) {
    let set = set.into();
    let width = layout.width;
    debug_assert!(layout.shared.len() <= width && out.len() == out_norms.len() * width);
    out.par_chunks_mut(width.max(1))
        .zip(out_norms.par_iter_mut())
        .enumerate()
        .for_each(|(i, (dst, norm))| {
            let row = set.row(first + i);
            let n2 = squared_norm(row, layout.own);
            *norm = n2 as f32;
            match layout.metric {
                Metric::Cosine => {
                    // Scaling in f64 rounds each value once; a zero row stays zero.
                    let scale = if n2 > 0.0 { 1.0 / n2.sqrt() } else { 0.0 };
                    for (d, &j) in dst.iter_mut().zip(layout.shared) {
                        *d = (f64::from(row[j]) * scale) as f32;
                    }
                }
                Metric::Euclidean | Metric::InnerProduct => {
                    for (d, &j) in dst.iter_mut().zip(layout.shared) {
                        *d = row[j];
                    }
                }
            }
            dst[layout.shared.len()..].fill(0.0);
        });
}

/// `Σ row[j]²` over `dims`, in f64 so that a 2048-term sum does not lose the small terms.
///
/// Summing only the non-zero dimensions makes the result independent of how many all-zero
/// dimensions surround them, and four interleaved partial sums let the loop run at memory
/// speed instead of waiting on each addition; the order is fixed, so the result is too.
fn squared_norm(row: &[f32], dims: &[usize]) -> f64 {
    let mut acc = [0.0f64; 4];
    let chunks = dims.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &j) in acc.iter_mut().zip(c) {
            let x = f64::from(row[j]);
            *a += x * x;
        }
    }
    for (a, &j) in acc.iter_mut().zip(tail) {
        let x = f64::from(row[j]);
        *a += x * x;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rows: &[&[f32]]) -> FeatureSet {
        FeatureSet {
            names: (0..rows.len()).map(|i| i.to_string()).collect(),
            dim: rows[0].len(),
            data: rows.concat(),
        }
    }

    #[test]
    fn active_and_shared_dims() {
        let a = set(&[&[0.0, 1.0, 0.0, -0.0], &[0.0, 0.0, f32::NAN, 0.0]]);
        let b = set(&[&[2.0, 3.0, 4.0, 0.0]]);
        let ma = active_dims(&a);
        assert_eq!(ma, vec![false, true, true, false]);
        assert_eq!(shared_dims(&ma, &active_dims(&b)), vec![1, 2]);
    }

    #[test]
    fn gather_normalises_for_cosine_and_keeps_full_norms_for_euclidean() {
        let s = set(&[&[3.0, 0.0, 4.0], &[0.0, 0.0, 0.0]]);
        let (mut out, mut norms) = (vec![9.0; 2 * 3], vec![0.0; 2]);
        let mut layout = Layout {
            own: &[0, 2],
            shared: &[0],
            width: 3,
            metric: Metric::Cosine,
        };
        gather_rows(&s, 0, &layout, &mut out, &mut norms);
        assert_eq!(out, vec![0.6, 0.0, 0.0, 0.0, 0.0, 0.0]);
        layout.metric = Metric::Euclidean;
        gather_rows(&s, 0, &layout, &mut out, &mut norms);
        assert_eq!(out, vec![3.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(norms, vec![25.0, 0.0]);
    }
}
