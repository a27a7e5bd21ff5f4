//! Directories of compressed codes: one `<name>.dat` of arbitrary length per vector.

use super::InputError;
use super::dat::list_dat_files;
use anyhow::{Result, bail};
use rayon::prelude::*;
use std::io::Read;
use std::path::Path;

/// Codes read from a directory, in the directory's order (see [`super::order`]).
#[derive(Debug, Default)]
pub struct Blobs {
    /// File stems.
    pub names: Vec<String>,
    /// File contents.
    pub bytes: Vec<Vec<u8>>,
}

/// Read every `.dat` file of `dir`. A file longer than `max_len` bytes is not read in full: it
/// is reported (it cannot be a valid code), like an unreadable file or a non-UTF-8 name.
pub fn read_blobs(dir: &Path, max_len: usize) -> Result<(Blobs, Vec<InputError>)> {
    if !dir.is_dir() {
        bail!("{}: not a directory", dir.display());
    }
    let files = list_dat_files(dir)?;
    if files.is_empty() {
        bail!("no .dat files in {}", dir.display());
    }
    let progress = crate::progress::bar(files.len() as u64, "reading");
    let read: Vec<Result<(String, Vec<u8>), InputError>> = files
        .par_iter()
        .map(|f| {
            let path = dir.join(&f.file_name);
            let fail = |problem: String| InputError {
                path: path.clone(),
                row: None,
                problem,
            };
            let result = match &f.stem {
                Err(problem) => Err(fail(problem.clone())),
                Ok(stem) => read_capped(&path, max_len)
                    .map(|b| (stem.clone(), b))
                    .map_err(fail),
            };
            progress.inc(1);
            result
        })
        .collect();
    progress.finish_and_clear();
    let mut blobs = Blobs::default();
    let mut failures = Vec::new();
    for r in read {
        match r {
            Ok((name, bytes)) => {
                blobs.names.push(name);
                blobs.bytes.push(bytes);
            }
            Err(e) => failures.push(e),
        }
    }
    Ok((blobs, failures))
}

fn read_capped(path: &Path, max_len: usize) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut bytes = Vec::new();
    file.take(max_len as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() > max_len {
        return Err(format!("longer than {max_len} bytes: not a code"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_codes_and_reports_oversized_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.dat"), [1u8, 2, 3]).unwrap();
        std::fs::write(dir.path().join("a.dat"), [9u8]).unwrap();
        std::fs::write(dir.path().join("big.dat"), vec![7u8; 100]).unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
        let (blobs, failures) = read_blobs(dir.path(), 10).unwrap();
        assert_eq!(blobs.names, vec!["a", "b"]);
        assert_eq!(blobs.bytes, vec![vec![9u8], vec![1, 2, 3]]);
        assert_eq!(failures.len(), 1);
        assert!(failures[0].path.ends_with("big.dat"));
        assert!(failures[0].problem.contains("longer than 10"));
    }

    #[test]
    fn empty_or_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_blobs(dir.path(), 10).is_err());
        assert!(read_blobs(&dir.path().join("nope"), 10).is_err());
    }
}
