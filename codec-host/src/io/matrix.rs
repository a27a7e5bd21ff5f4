//! The in-memory feature matrix every reader fills and every command works on, and what a
//! read of a batch returns. A leaf: the readers (`dat`, `npy`), the input dispatcher
//! (`features`) and the writers all import it, it imports none of them.

use super::InputError;
use anyhow::Result;

/// Row-major matrix of features with one name (the file stem) per row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureSet {
    /// Row names: file stems for `.dat` inputs (`00012` for `00012.dat`).
    pub names: Vec<String>,
    /// Values per row.
    pub dim: usize,
    /// `names.len() * dim` values, row after row.
    pub data: Vec<f32>,
}

impl FeatureSet {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// Iterator over rows.
    pub fn rows(&self) -> std::slice::ChunksExact<'_, f32> {
        self.data.chunks_exact(self.dim.max(1))
    }

    /// Keep only the rows `i` for which `keep(i)` is true (indices as before the call), in their
    /// order. Works in place: sets can be gigabytes, so no second copy is made.
    pub fn retain_rows(&mut self, mut keep: impl FnMut(usize) -> bool) {
        let mut mask = Vec::with_capacity(self.names.len());
        let mut i = 0;
        self.names.retain(|_| {
            let k = keep(i);
            mask.push(k);
            i += 1;
            k
        });
        compact_rows(&mut self.data, self.dim, |i| {
            mask.get(i).copied().unwrap_or(false)
        });
    }
}

/// Move the rows `i` of `data` with `keep(i)` to the front, in order, and drop the rest.
pub(crate) fn compact_rows(data: &mut Vec<f32>, dim: usize, keep: impl Fn(usize) -> bool) {
    let rows = data.len().checked_div(dim).unwrap_or(0);
    let mut kept = 0;
    for i in (0..rows).filter(|&i| keep(i)) {
        if kept != i {
            data.copy_within(i * dim..(i + 1) * dim, kept * dim);
        }
        kept += 1;
    }
    data.truncate(kept * dim);
}

/// How to read a batch of features.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Expected dimension; when `None` it is inferred (for `.dat` files: from the most common
    /// file size, so that a few odd files do not decide it).
    pub dim: Option<usize>,
    /// Stop at the first bad input instead of reporting it and going on.
    pub strict: bool,
    /// When the dimension is inferred from a directory of `.dat` files: take this one if any
    /// file has that size (the model's dimension, say), so that files of other sizes are
    /// rejected one by one even when they are the majority; else the most common size decides,
    /// and a directory of another dimension stays one clear error for the caller.
    pub prefer_dim: Option<usize>,
}

/// The good rows of a batch and the inputs that were rejected.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Rows that read cleanly, in input order (see [`crate::io::read_features`]).
    pub set: FeatureSet,
    /// Inputs that were rejected, each with its path and the reason, in row order.
    pub failures: Vec<InputError>,
}

impl Loaded {
    /// The positions in the input of the rows of `set`, for a batch of an array whose first
    /// row is at `first`: every position from there on but those of the rows rejected.
    pub fn row_indices(&self, first: usize) -> Vec<usize> {
        let rejected: std::collections::HashSet<usize> = self
            .failures
            .iter()
            .filter_map(|f| Some(f.row.as_ref()?.index))
            .collect();
        (first..)
            .filter(|i| !rejected.contains(i))
            .take(self.set.len())
            .collect()
    }

    /// Rows and rejected inputs of this batch: where the next batch starts.
    pub fn inputs(&self) -> usize {
        self.set.len() + self.failures.len()
    }

    /// With `strict`, turn the first failure into an error; otherwise pass the batch through.
    ///
    /// The error wraps the [`InputError`], so callers can `downcast_ref` it.
    pub(crate) fn check_strict(self, strict: bool) -> Result<Loaded> {
        match self.failures.first() {
            Some(first) if strict => Err(first.clone().into()),
            _ => Ok(self),
        }
    }
}

/// `rows * dim` values, or `None` when that many bytes could not even be addressed.
pub(crate) fn matrix_len(rows: usize, dim: usize) -> Option<usize> {
    rows.checked_mul(dim).filter(|n| n.checked_mul(4).is_some())
}

/// `Err` describing the first non-finite value of a row.
pub(crate) fn check_finite(values: &[f32]) -> Result<(), String> {
    // The branch-free fold vectorises; rows are almost always clean, so look closer only then.
    if values.iter().fold(true, |ok, v| ok & v.is_finite()) {
        return Ok(());
    }
    let Some(first) = values.iter().position(|v| !v.is_finite()) else {
        return Ok(());
    };
    let v = values[first];
    let what = if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "+inf"
    } else {
        "-inf"
    };
    let more = values[first + 1..]
        .iter()
        .filter(|v| !v.is_finite())
        .count();
    Err(match more {
        0 => format!("value at index {first} is {what}"),
        1 => format!("value at index {first} is {what} (and 1 more non-finite value)"),
        _ => format!("value at index {first} is {what} (and {more} more non-finite values)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retain_rows_compacts_in_place() {
        let mut set = FeatureSet {
            names: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            dim: 2,
            data: vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5],
        };
        set.retain_rows(|i| i % 2 == 1);
        assert_eq!(set.names, ["b", "d"]);
        assert_eq!(set.data, [1.0, 1.5, 3.0, 3.5]);
    }
}
