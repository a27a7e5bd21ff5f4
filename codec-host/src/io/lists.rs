//! List files: `<name> <identity> [camera]` per line, matched to feature files by stem.

use super::InputError;
use super::matrix::FeatureSet;
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::path::Path;

/// One line of a list file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// The name as written in the list (`00012.png`).
    pub name: String,
    /// The name without its extension (`00012`), which matches the feature file `00012.dat`.
    pub stem: String,
    /// Identity label.
    pub id: i64,
    /// Camera, when the list has a third column.
    pub cam: Option<i64>,
    /// Line number in the list file (from 1), for messages.
    pub line: usize,
}

/// The stem of a file name: everything before the last `.` (the whole name if there is none).
pub fn stem_of(name: &str) -> &str {
    match name.rfind('.') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

/// Parse a list file.
///
/// Blank lines are skipped. Every stem must be unique (two entries for one feature file would
/// give it two labels), and either every line has a camera or none does.
pub fn read_list(path: &Path) -> Result<Vec<ListEntry>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let mut out: Vec<ListEntry> = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let mut it = line.split_whitespace();
        let Some(name) = it.next() else { continue };
        let id = match it.next().map(str::parse::<i64>) {
            Some(Ok(v)) => v,
            _ => bail!(
                "{}:{line_no}: expected `<name> <identity> [camera]`, got `{}`",
                path.display(),
                line.trim()
            ),
        };
        let cam = match it.next().map(str::parse::<i64>) {
            None => None,
            Some(Ok(v)) => Some(v),
            Some(Err(_)) => bail!("{}:{line_no}: camera is not an integer", path.display()),
        };
        let stem = stem_of(name);
        if let Some(first) = seen.insert(stem, line_no) {
            bail!(
                "{}:{line_no}: duplicate name `{name}`: `{stem}` is already listed on line {first}",
                path.display()
            );
        }
        // Not a let-chain: the workspace still supports Rust 1.85.
        let first = out.first().filter(|f| f.cam.is_some() != cam.is_some());
        if let Some(first) = first {
            let (with, without) = if cam.is_some() {
                (line_no, first.line)
            } else {
                (first.line, line_no)
            };
            bail!(
                "{}:{line_no}: line {with} has a camera but line {without} does not; give a \
                 camera on every line or on none",
                path.display()
            );
        }
        out.push(ListEntry {
            name: name.to_string(),
            stem: stem.to_string(),
            id,
            cam,
            line: line_no,
        });
    }
    Ok(out)
}

/// How the entries of a list correspond to the rows of a [`FeatureSet`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListMatch {
    /// For each list entry, in list order, the index of its row (`None` when it has none).
    pub rows: Vec<Option<usize>>,
    /// The entries without a row, in list order: the list file, its line and the missing name.
    pub missing: Vec<InputError>,
    /// Rows that no entry names, in row order.
    pub unlisted: Vec<usize>,
}

impl ListMatch {
    /// For each row of the set, the index of the list entry naming it (`None` for unlisted rows).
    pub fn entry_of_rows(&self, rows: usize) -> Vec<Option<usize>> {
        let mut out = vec![None; rows];
        for (entry, row) in self.rows.iter().enumerate() {
            if let Some(slot) = row.and_then(|r| out.get_mut(r)) {
                *slot = Some(entry);
            }
        }
        out
    }
}

/// Match the entries of the list at `list_path` to the rows of `set` by stem (`00012.png` in the
/// list is the row `00012`, read from `00012.dat`).
pub fn match_list(list_path: &Path, entries: &[ListEntry], set: &FeatureSet) -> ListMatch {
    let by_name: HashMap<&str, usize> = set
        .names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut listed = vec![false; set.len()];
    let mut m = ListMatch::default();
    for e in entries {
        let row = by_name.get(e.stem.as_str()).copied();
        match row {
            Some(r) => listed[r] = true,
            None => m.missing.push(no_feature_file(list_path, e)),
        }
        m.rows.push(row);
    }
    m.unlisted = (0..set.len()).filter(|&i| !listed[i]).collect();
    m
}

/// The report for a list entry `e` of `list_path` that no feature file matches.
pub(crate) fn no_feature_file(list_path: &Path, e: &ListEntry) -> InputError {
    InputError {
        path: list_path.to_path_buf(),
        row: None,
        problem: format!(
            "line {}: `{}` has no feature file `{}.dat`",
            e.line, e.name, e.stem
        ),
    }
}

/// The report for the feature `<name>.dat` of `dir` that the list at `list` does not name.
pub(crate) fn not_listed(dir: &Path, list: &Path, name: &str) -> InputError {
    InputError {
        path: dir.join(format!("{name}.dat")),
        row: None,
        problem: format!("not listed in {}", list.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.txt");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn parses_names_ids_and_cameras() {
        let (_d, path) = list("00012.png 7 2\r\n\n  00003.png  9 1\n");
        let entries = read_list(&path).unwrap();
        assert_eq!(
            entries,
            [
                ListEntry {
                    name: "00012.png".into(),
                    stem: "00012".into(),
                    id: 7,
                    cam: Some(2),
                    line: 1
                },
                ListEntry {
                    name: "00003.png".into(),
                    stem: "00003".into(),
                    id: 9,
                    cam: Some(1),
                    line: 3
                },
            ]
        );
    }

    #[test]
    fn stems() {
        assert_eq!(stem_of("00012.png"), "00012");
        assert_eq!(stem_of("a.b.png"), "a.b");
        assert_eq!(stem_of("noext"), "noext");
        assert_eq!(stem_of(".hidden"), ".hidden");
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let (_d, path) = list("a.png 1\nb.png x\n");
        let err = read_list(&path).unwrap_err().to_string();
        assert!(err.contains("list.txt:2: expected"), "{err}");
        assert!(err.contains("got `b.png x`"), "{err}");

        let (_d, path) = list("a.png 1 c3\n");
        let err = read_list(&path).unwrap_err().to_string();
        assert!(
            err.contains("list.txt:1: camera is not an integer"),
            "{err}"
        );

        let (_d, path) = list("a.png 1 1\nb.png 2\n");
        let err = read_list(&path).unwrap_err().to_string();
        assert!(
            err.contains("list.txt:2: line 1 has a camera but line 2"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_stem_is_rejected() {
        let (_d, path) = list("a.png 1\nb.png 2\na.jpg 3\n");
        let err = read_list(&path).unwrap_err().to_string();
        assert!(err.contains("list.txt:3: duplicate name `a.jpg`"), "{err}");
        assert!(err.contains("already listed on line 1"), "{err}");
    }

    #[test]
    fn missing_list_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_list(&dir.path().join("nope.txt")).unwrap_err();
        assert!(err.to_string().contains("nope.txt: cannot read"), "{err}");
    }

    #[test]
    fn matches_entries_to_rows_by_stem() {
        let (_d, path) = list("c.png 3\na.png 1\nzz.png 9\n");
        let entries = read_list(&path).unwrap();
        let set = FeatureSet {
            names: vec!["a".into(), "b".into(), "c".into()],
            dim: 1,
            data: vec![0.0, 1.0, 2.0],
        };
        let m = match_list(&path, &entries, &set);
        assert_eq!(m.rows, [Some(2), Some(0), None]);
        assert_eq!(m.unlisted, [1]);
        assert_eq!(m.missing.len(), 1);
        assert_eq!(m.missing[0].path, path);
        assert_eq!(
            m.missing[0].problem,
            "line 3: `zz.png` has no feature file `zz.dat`"
        );
        assert_eq!(m.entry_of_rows(3), [Some(1), None, Some(0)]);
    }
}
