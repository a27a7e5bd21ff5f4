//! Reading and writing features, lists and outputs.
//!
//! Features live as one `.dat` file per vector (little-endian f32) in a directory, or as rows of a
//! 2-D `.npy` array. Bad inputs never abort a batch: each is reported as an [`InputError`] naming
//! its path, and the caller decides (via `--strict`) whether the first one stops the run.

pub mod atomic;
pub mod blobs;
mod bytes;
pub mod dataset;
pub mod features;
pub mod lists;
pub mod npy;
pub mod npy_names;

pub use atomic::{write_atomic, write_atomic_with, write_blobs, write_rows_dat};
pub use dataset::{Dataset, Split, SplitData};
pub use features::{
    DatDir, FeatureInput, FeatureSet, Loaded, ReadOptions, is_npy, read_features, read_in_batches,
};
pub use lists::{ListEntry, ListMatch, match_list, read_list};
pub use npy::NpyDtype;

use std::fmt;
use std::path::PathBuf;

/// One input that could not be used, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    /// The offending file (or directory).
    pub path: PathBuf,
    /// What is wrong with it, in words a user can act on.
    pub problem: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for InputError {}
