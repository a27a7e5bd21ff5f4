//! Row names of a `.npy` array, kept beside it in `<stem>.names.txt` (one name per line, row
//! order): an array has no place for them, and without them its rows can only be named by
//! index, which no list file would match.

use super::atomic::AtomicFile;
use super::has_line_break;
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `g.npy` -> `g.names.txt`.
pub fn names_path(npy: &Path) -> PathBuf {
    npy.with_extension("names.txt")
}

/// The names of the `rows` rows of `npy`, or `None` when it has no names file. A names file
/// with another number of lines, an empty name, a name holding a carriage return or a name on
/// two lines is an error naming it: rows must never get each other's names, and every output
/// named after a row must get its own file.
pub fn read_names(npy: &Path, rows: usize) -> Result<Option<Vec<String>>> {
    let path = names_path(npy);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
    };
    // One `\r` of a CRLF ending comes off, no more: any other is part of the name (and
    // refused below), so that no two spellings of a file read as the same names.
    let names: Vec<String> = text
        .split_terminator('\n')
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
    check_names(&path, &names)?;
    Ok(Some(names))
}

/// Every name of a names file must be usable: not empty, without a line break left inside
/// (a stray `\r`), and given once (two rows of one name would write one output file twice).
fn check_names(path: &Path, names: &[String]) -> Result<()> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let line = i + 1;
        if name.is_empty() {
            bail!("{}: line {line} is empty", path.display());
        }
        if has_line_break(name) {
            bail!(
                "{}: line {line}: the name {name:?} contains a carriage return",
                path.display()
            );
        }
        if let Some(first) = seen.insert(name, line) {
            bail!(
                "{}: duplicate name `{name}` on lines {first} and {line}",
                path.display()
            );
        }
    }
    Ok(())
}

/// The names file of the rows of `npy`, written out but not yet in place: the `.npy` writer
/// commits it together with the array ([`super::atomic::commit_pair`]). A name with a line
/// break would shift every later row onto another name when read back, so it is refused (the
/// writer leaves such rows out before they get here).
pub fn names_file(npy: &Path, names: &[String]) -> Result<AtomicFile> {
    let path = names_path(npy);
    if let Some(name) = names.iter().find(|n| has_line_break(n)) {
        bail!(
            "{}: cannot hold the row name {name:?}: it contains a line break",
            path.display()
        );
    }
    let mut out = AtomicFile::create(&path)?;
    let w = out.writer();
    for n in names {
        w.write_all(n.as_bytes())
            .and_then(|()| w.write_all(b"\n"))
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(out)
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
        names_file(&npy, &names).unwrap().commit().unwrap();
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

    #[test]
    fn a_duplicate_name_is_an_error_naming_both_lines() {
        let dir = tempfile::tempdir().unwrap();
        let npy = dir.path().join("g.npy");
        std::fs::write(names_path(&npy), "a\nb\nc\nb\n").unwrap();
        let err = read_names(&npy, 4).unwrap_err().to_string();
        assert!(
            err.contains("g.names.txt: duplicate name `b` on lines 2 and 4"),
            "{err}"
        );
    }

    #[test]
    fn names_with_line_breaks_are_neither_read_nor_written() {
        let dir = tempfile::tempdir().unwrap();
        let npy = dir.path().join("g.npy");
        // A CR inside a name, and one left at the end after the CRLF ending is taken off.
        for text in ["a\nb\rc\n", "a\r\nb\r\r\n"] {
            std::fs::write(names_path(&npy), text).unwrap();
            let err = read_names(&npy, 2).unwrap_err().to_string();
            assert!(
                err.contains("g.names.txt: line 2: the name") && err.contains("carriage return"),
                "{err}"
            );
        }
        std::fs::remove_file(names_path(&npy)).unwrap();
        for bad in ["x\ny", "x\r"] {
            let err = names_file(&npy, &["a".to_string(), bad.to_string()])
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains("contains a line break"), "{err}");
            assert!(!names_path(&npy).exists());
        }
    }
}
