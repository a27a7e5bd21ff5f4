//! Feature matrices: loading a directory of `.dat` files (or a `.npy` file) into one contiguous
//! row-major buffer.

use super::InputError;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

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
}

/// How to read a batch of features.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Expected dimension; when `None` it is inferred from the first good file.
    pub dim: Option<usize>,
    /// Stop at the first bad input instead of reporting it and going on.
    pub strict: bool,
}

/// The good rows of a batch and the inputs that were rejected.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Rows that read cleanly, sorted by name.
    pub set: FeatureSet,
    /// Inputs that were rejected, each with its path and the reason.
    pub failures: Vec<InputError>,
}

/// Read features from a directory of `.dat` files or from a `.npy` file.
///
/// Errors that concern the whole input (a missing directory, an unreadable `.npy`) are returned
/// as `Err`; a bad individual file becomes an entry of [`Loaded::failures`] (or an `Err` when
/// `opts.strict`).
pub fn read_features(path: &Path, opts: &ReadOptions) -> Result<Loaded> {
    if path.is_dir() {
        read_dat_dir(path, opts)
    } else {
        bail!("{}: not a directory of .dat files", path.display())
    }
}

fn read_dat_dir(dir: &Path, opts: &ReadOptions) -> Result<Loaded> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list directory", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "dat"))
        .collect();
    paths.sort();
    let mut loaded = Loaded::default();
    let mut dim = opts.dim;
    for p in paths {
        let bytes = std::fs::read(&p).with_context(|| format!("{}: cannot read", p.display()))?;
        let d = *dim.get_or_insert(bytes.len() / 4);
        if bytes.len() != d * 4 {
            loaded.failures.push(InputError {
                path: p.clone(),
                problem: format!("{} bytes, expected {}", bytes.len(), d * 4),
            });
            continue;
        }
        loaded.set.dim = d;
        loaded.set.names.push(
            p.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        loaded.set.data.extend(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
    }
    Ok(loaded)
}
