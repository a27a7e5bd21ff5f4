//! Feature rows restricted to the entries of a list (`<name> <identity> [camera]`), matched by
//! stem: the list decides which rows take part and what they are called in results.

use crate::io::lists::ListEntry;
use crate::io::{FeatureSet, InputError};
use crate::metrics::results::index_list;
use anyhow::Result;
use std::collections::HashSet;
use std::path::Path;

/// The rows of a feature set that a list names.
#[derive(Debug)]
pub struct Listed {
    /// The listed rows that have features, in their original (feature) order.
    pub set: FeatureSet,
    /// For each row of `set`, its entry in the list.
    pub entries: Vec<usize>,
    /// List entries without features, as input errors against the list file. Entries whose
    /// feature file was itself rejected are left out: that file was already reported.
    pub missing: Vec<InputError>,
    /// Feature rows the list does not name; they were dropped.
    pub unlisted: usize,
}

/// Keep the rows of `set` whose name (a file stem) is the stem of an entry of `list`.
///
/// `rejected` are the inputs that failed to load (their stems are not reported again as
/// missing); `list_path` and `features` only serve the messages. Fails when two entries of the
/// list share a stem, as rows could not be told apart.
pub fn restrict_to_list(
    mut set: FeatureSet,
    list: &[ListEntry],
    list_path: &Path,
    features: &Path,
    rejected: &[InputError],
) -> Result<Listed> {
    let index = index_list(list, &list_path.display().to_string())?;
    let mut keep = vec![false; set.len()];
    let mut entries = Vec::with_capacity(list.len().min(set.len()));
    let mut present = vec![false; list.len()];
    for (row, name) in set.names.iter().enumerate() {
        if let Some(&e) = index.get(name.as_str()) {
            keep[row] = true;
            entries.push(e as usize);
            present[e as usize] = true;
        }
    }
    let unlisted = keep.iter().filter(|&&k| !k).count();
    retain_rows(&mut set, &keep);

    let failed: HashSet<String> = rejected
        .iter()
        .filter_map(|f| f.path.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let missing = list
        .iter()
        .zip(&present)
        .filter(|(e, p)| !**p && !failed.contains(&e.stem))
        .map(|(e, _)| InputError {
            path: list_path.to_path_buf(),
            row: None,
            problem: format!("`{}` has no features in {}", e.name, features.display()),
        })
        .collect();
    Ok(Listed {
        set,
        entries,
        missing,
        unlisted,
    })
}

/// Drop the rows whose `keep` is false, in place: the gallery can be most of the memory.
fn retain_rows(set: &mut FeatureSet, keep: &[bool]) {
    let d = set.dim;
    let mut kept = 0;
    for (row, _) in keep.iter().enumerate().filter(|(_, k)| **k) {
        if row != kept {
            set.data.copy_within(row * d..(row + 1) * d, kept * d);
        }
        kept += 1;
    }
    set.data.truncate(kept * d);
    let mut flags = keep.iter();
    set.names.retain(|_| flags.next().copied().unwrap_or(false));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::lists::stem_of;
    use std::path::PathBuf;

    fn entry(name: &str) -> ListEntry {
        ListEntry {
            name: name.into(),
            stem: stem_of(name).into(),
            id: 1,
            cam: None,
            line: 1,
        }
    }

    #[test]
    fn keeps_listed_rows_reports_missing_and_counts_unlisted() {
        let set = FeatureSet {
            names: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            dim: 2,
            data: vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5],
        };
        let list = [
            entry("d.png"),
            entry("x.png"),
            entry("b.png"),
            entry("y.png"),
        ];
        let rejected = [InputError {
            path: PathBuf::from("feats/y.dat"),
            row: None,
            problem: "too short".into(),
        }];
        let l = restrict_to_list(
            set,
            &list,
            Path::new("q.txt"),
            Path::new("feats"),
            &rejected,
        )
        .unwrap();
        assert_eq!(l.set.names, vec!["b", "d"]);
        assert_eq!(l.set.data, vec![1.0, 1.5, 3.0, 3.5]);
        assert_eq!(l.entries, vec![2, 0]);
        assert_eq!(l.unlisted, 2);
        let missing: Vec<String> = l.missing.iter().map(|m| m.to_string()).collect();
        assert_eq!(missing, vec!["q.txt: `x.png` has no features in feats"]);
    }

    #[test]
    fn clashing_stems_in_the_list_are_an_error() {
        let set = FeatureSet::default();
        let list = [entry("a.png"), entry("a.jpg")];
        assert!(restrict_to_list(set, &list, Path::new("q.txt"), Path::new("f"), &[]).is_err());
    }
}
