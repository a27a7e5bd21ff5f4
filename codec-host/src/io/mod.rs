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
pub mod outputs;

pub use atomic::{write_atomic, write_atomic_with, write_blobs, write_rows_dat};
pub use dataset::{Dataset, Split, SplitData};
pub use features::{
    DatDir, FeatureInput, FeatureSet, Loaded, ReadOptions, is_npy, read_features, read_in_batches,
};
pub use lists::{ListEntry, ListMatch, match_list, read_list};
pub use npy::NpyDtype;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

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
        // A control character in a file name (a line break, say) would split or garble the
        // one `path: problem` line a listing promises: it is shown escaped.
        for c in self.path.display().to_string().chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for InputError {}

/// The input a row named `name` of the features `input` came from, for messages: the
/// `<name>.dat` file of a directory, or `input.npy[row <name>]` for a row of an array.
pub fn row_source(input: &Path, name: &str) -> PathBuf {
    if is_npy(input) {
        let mut s = input.as_os_str().to_os_string();
        s.push(format!("[row {name}]"));
        PathBuf::from(s)
    } else {
        input.join(format!("{name}.dat"))
    }
}

/// The row names of the rejected inputs among `failures` of the features `input` (see
/// [`rejected_row_name`]): a list entry of one of them is not also reported as missing.
pub fn rejected_row_names(input: &Path, failures: &[InputError]) -> HashSet<String> {
    failures
        .iter()
        .filter_map(|f| rejected_row_name(input, &f.path))
        .collect()
}

/// The row name behind a rejected input of the features `input`, when `failure` is one of its
/// rows (see [`row_source`]).
pub fn rejected_row_name(input: &Path, failure: &Path) -> Option<String> {
    if is_npy(input) {
        let text = failure.to_str()?;
        let rest = text.strip_prefix(input.to_str()?)?;
        Some(rest.strip_prefix("[row ")?.strip_suffix(']')?.to_string())
    } else {
        let is_dat = failure.extension().is_some_and(|e| e == "dat");
        (failure.parent() == Some(input) && is_dat)
            .then(|| failure.file_stem()?.to_str().map(str::to_string))
            .flatten()
    }
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
    fn rejected_rows_are_named_as_row_source_names_them() {
        for input in [Path::new("feats"), Path::new("q.npy")] {
            let failure = row_source(input, "00012");
            assert_eq!(rejected_row_name(input, &failure).as_deref(), Some("00012"));
        }
        assert_eq!(
            rejected_row_name(Path::new("feats"), Path::new("other/x.dat")),
            None
        );
        assert_eq!(
            rejected_row_name(Path::new("feats"), Path::new("feats/x.txt")),
            None
        );
        assert_eq!(
            rejected_row_name(Path::new("q.npy"), Path::new("q.npy")),
            None
        );
    }

    #[test]
    fn a_listing_line_shows_control_characters_in_a_name_escaped() {
        let e = InputError {
            path: PathBuf::from("in/line\nbreak\t.dat"),
            problem: "file name contains a line break".into(),
        };
        assert_eq!(
            e.to_string(),
            "in/line\\nbreak\\t.dat: file name contains a line break"
        );
    }
}
