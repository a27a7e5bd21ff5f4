//! Row names of a `.npy` array, kept beside it in `<stem>.names.txt` (one name per line, row
//! order): an array has no place for them, and without them its rows can only be named by
//! index, which no list file would match.

use super::atomic::write_atomic;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// `g.npy` -> `g.names.txt`.
pub fn names_path(npy: &Path) -> PathBuf {
    npy.with_extension("names.txt")
}

/// The names of the `rows` rows of `npy`, or `None` when it has no names file. A names file
/// with another number of lines, or an empty name, is an error naming it: rows must never get
/// each other's names.
pub fn read_names(npy: &Path, rows: usize) -> Result<Option<Vec<String>>> {
    let path = names_path(npy);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
    };
    let names: Vec<String> = text
        .lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect();
    if names.len() != rows {
        bail!(
            "{}: {} names for the {rows} rows of {}",
            path.display(),
            names.len(),
            npy.display()
        );
    }
    if let Some(line) = names.iter().position(String::is_empty) {
        bail!("{}: line {} is empty", path.display(), line + 1);
    }
    Ok(Some(names))
}

/// Write the names of the rows of `npy`, atomically.
pub fn write_names(npy: &Path, names: &[String]) -> Result<()> {
    let mut text = String::with_capacity(names.iter().map(|n| n.len() + 1).sum());
    for n in names {
        text.push_str(n);
        text.push('\n');
    }
    write_atomic(&names_path(npy), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_mismatches_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let npy = dir.path().join("g.npy");
        assert_eq!(names_path(&npy), dir.path().join("g.names.txt"));
        assert_eq!(read_names(&npy, 2).unwrap(), None);

        let names = vec!["00012".to_string(), "cam 3".to_string()];
        write_names(&npy, &names).unwrap();
        assert_eq!(read_names(&npy, 2).unwrap(), Some(names));
        let err = read_names(&npy, 3).unwrap_err().to_string();
        assert!(
            err.contains("g.names.txt: 2 names for the 3 rows of"),
            "{err}"
        );

        std::fs::write(names_path(&npy), "a\r\n\r\nc\r\n").unwrap();
        let err = read_names(&npy, 3).unwrap_err().to_string();
        assert!(err.contains("g.names.txt: line 2 is empty"), "{err}");
    }
}
