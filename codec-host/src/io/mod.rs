//! Reading and writing features, lists and outputs.
//!
//! Features live as one `.dat` file per vector (little-endian f32) in a directory, or as rows of a
//! 2-D `.npy` array. Bad inputs never abort a batch: each is reported as an [`InputError`] naming
//! its path, and the caller decides (via `--strict`) whether the first one stops the run.
//!
//! The files import one way: `matrix` (the in-memory [`FeatureSet`] and a batch's [`Loaded`])
//! is a leaf; `atomic` writes every output (single files atomically, batches of files, the
//! output directory); the readers `dat` (directories, in the order of `order`) and `npy` (with
//! the row names of `npy_names`) sit beside each other; `features` is the one dispatcher from a
//! path to a reader; `outputs` checks where commands write before they start. `codes` reads and
//! writes arrays of codes (the `.nfcc` container, uint8 `.npy`), writing through `atomic`.

pub mod atomic;
pub mod blobs;
mod bytes;
pub mod codes;
pub mod dat;
pub mod dataset;
pub mod features;
pub mod lists;
pub mod matrix;
pub mod npy;
pub mod npy_names;
pub mod order;
pub mod outputs;

pub use atomic::{write_atomic, write_atomic_with, write_blobs, write_rows_dat};
pub use dat::DatDir;
pub use dataset::{Dataset, Split, SplitData};
pub use features::{FeatureInput, is_npy, read_features, read_in_batches};
pub use lists::{ListEntry, ListMatch, match_list, read_list};
pub use matrix::{FeatureSet, Loaded, ReadOptions};
pub use npy::NpyDtype;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

/// One input that could not be used, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    /// The offending file (or directory).
    pub path: PathBuf,
    /// Which row of `path`, when the input is one row of an array: kept apart from the path so
    /// that no caller has to parse it back out of a message.
    pub row: Option<Row>,
    /// What is wrong with it, in words a user can act on.
    pub problem: String,
}

/// One row of an array of features: its position and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Position in the array, from 0.
    pub index: usize,
    /// Its name (from the names file, else its index zero-padded).
    pub name: String,
}

impl InputError {
    /// A problem with a whole file (or directory).
    pub fn new(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        InputError {
            path: path.into(),
            row: None,
            problem: problem.into(),
        }
    }

    /// A problem with the row `index`, named `name`, of the array `path`.
    pub fn row(path: &Path, index: usize, name: &str, problem: impl Into<String>) -> Self {
        InputError {
            path: path.to_path_buf(),
            row: Some(Row {
                index,
                name: name.to_string(),
            }),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A control character in a file name (a line break, say) would split or garble the
        // one `path: problem` line a listing promises: it is shown escaped.
        for c in self.path.display().to_string().chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        if let Some(row) = &self.row {
            // The name only where it says more than the index.
            if row.name.trim_start_matches('0') == row.index.to_string().trim_start_matches('0') {
                write!(f, "[row {}]", row.index)?;
            } else {
                write!(f, "[row {}, {}]", row.index, row.name.escape_default())?;
            }
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for InputError {}

/// The problem `problem` with the row `index`, named `name`, of the features `input`: the
/// `<name>.dat` file of a directory, or that row of an array.
pub fn row_error(input: &Path, index: usize, name: &str, problem: impl Into<String>) -> InputError {
    if is_npy(input) {
        InputError::row(input, index, name, problem)
    } else {
        InputError::new(input.join(format!("{name}.dat")), problem)
    }
}

/// The row names of the rejected inputs among `failures` of the features `input` (see
/// [`rejected_row_name`]): a list entry of one of them is not also reported as missing.
pub fn rejected_row_names(input: &Path, failures: &[InputError]) -> HashSet<String> {
    failures
        .iter()
        .filter_map(|f| rejected_row_name(input, f))
        .collect()
}

/// The row name behind a rejected input of the features `input`, when `failure` is one of its
/// rows: a row of the array, or a `.dat` file of the directory.
pub fn rejected_row_name(input: &Path, failure: &InputError) -> Option<String> {
    if let Some(row) = &failure.row {
        return (failure.path == input).then(|| row.name.clone());
    }
    let path = &failure.path;
    let is_dat = path.extension().is_some_and(|e| e == "dat");
    (!is_npy(input) && path.parent() == Some(input) && is_dat)
        .then(|| path.file_stem()?.to_str().map(str::to_string))
        .flatten()
}

/// "`input`: N usable vectors (K problems listed above)", the context of an error about what
/// was read (the problems part only when there were some).
pub fn input_summary(input: &Path, usable: usize, problems: usize) -> String {
    let listed = if problems > 0 {
        format!(" ({problems} problems listed above)")
    } else {
        String::new()
    };
    format!("{}: {usable} usable vectors{listed}", input.display())
}

/// Whether a row name holds a line break. Names files and lists hold one name per line, so
/// such a name could not be read back (and a trailing `\r` would be taken for a CRLF ending):
/// it is refused wherever a name enters (a directory entry, a names file) or leaves (an output
/// file name, a names file).
pub(crate) fn has_line_break(name: &str) -> bool {
    name.contains(['\n', '\r'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_rows_are_named_as_row_error_names_them() {
        for input in [Path::new("feats"), Path::new("q.npy")] {
            let failure = row_error(input, 12, "alice_12", "bad");
            assert_eq!(
                rejected_row_name(input, &failure).as_deref(),
                Some("alice_12")
            );
        }
        let file = |p: &str| InputError::new(p, "bad");
        assert_eq!(
            rejected_row_name(Path::new("feats"), &file("other/x.dat")),
            None
        );
        assert_eq!(
            rejected_row_name(Path::new("feats"), &file("feats/x.txt")),
            None
        );
        assert_eq!(rejected_row_name(Path::new("q.npy"), &file("q.npy")), None);
        let other = InputError::row(Path::new("p.npy"), 3, "x", "bad");
        assert_eq!(rejected_row_name(Path::new("q.npy"), &other), None);
    }

    #[test]
    fn a_row_shows_its_index_and_a_name_that_says_more() {
        let npy = Path::new("v.npy");
        assert_eq!(
            InputError::row(npy, 12, "012", "value at index 3 is NaN").to_string(),
            "v.npy[row 12]: value at index 3 is NaN"
        );
        assert_eq!(
            InputError::row(npy, 0, "0", "x").to_string(),
            "v.npy[row 0]: x"
        );
        assert_eq!(
            InputError::row(npy, 12, "alice", "x").to_string(),
            "v.npy[row 12, alice]: x"
        );
    }

    #[test]
    fn a_listing_line_shows_control_characters_in_a_name_escaped() {
        let e = InputError::new("in/line\nbreak\t.dat", "file name contains a line break");
        assert_eq!(
            e.to_string(),
            "in/line\\nbreak\\t.dat: file name contains a line break"
        );
    }
}
