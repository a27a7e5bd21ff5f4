//! The reader of a directory of `.dat` files (one little-endian f32 row per file), listed and
//! sized once and read in ranges of rows.

use super::InputError;
use super::bytes::{as_bytes_mut, le_to_native};
use super::matrix::{FeatureSet, Loaded, check_finite, compact_rows, matrix_len};
use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// A `.dat` file of the directory being read.
pub(crate) struct DatFile {
    pub(crate) file_name: OsString,
    /// The row name, or why the file cannot have one (the file is then reported, not read).
    pub(crate) stem: Result<String, String>,
}

/// The row name of the `.dat` file `file_name`: its stem, if that can be a row name at all.
fn row_name(file_name: &OsStr) -> Result<String, String> {
    let stem = Path::new(file_name)
        .file_stem()
        .and_then(OsStr::to_str)
        .ok_or("file name is not valid UTF-8")?;
    if super::has_line_break(stem) {
        return Err("file name contains a line break, which no names file or list can hold".into());
    }
    Ok(stem.to_owned())
}

impl DatFile {
    /// The raw bytes of the stem: rows are sorted by them, so the order does not depend on
    /// whether names are valid UTF-8.
    fn stem_bytes(&self) -> &[u8] {
        let b = self.file_name.as_encoded_bytes();
        &b[..b.len().saturating_sub(".dat".len())]
    }
}

/// The `.dat` files of `dir`, in the order of its order file ([`super::order`]), else sorted
/// by stem.
pub(crate) fn list_dat_files(dir: &Path) -> Result<Vec<DatFile>> {
    let cannot_list = || format!("{}: cannot list directory", dir.display());
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(cannot_list)? {
        let entry = entry.with_context(cannot_list)?;
        let file_name = entry.file_name();
        let p = Path::new(&file_name);
        if p.extension() != Some(OsStr::new("dat"))
            || file_name.as_encoded_bytes().starts_with(b".")
        {
            continue;
        }
        // `file_type` comes from the directory entry on most file systems, so the common case
        // costs no extra system call; only symlinks are followed to see what they point at.
        match entry.file_type() {
            Ok(t) if t.is_file() => {}
            Ok(t) if t.is_symlink() => match std::fs::metadata(entry.path()) {
                Ok(m) if !m.is_file() => continue,
                // Dangling or unreadable: keep it, so the read reports the OS error.
                _ => {}
            },
            Ok(_) => continue,
            Err(_) => {}
        }
        let stem = row_name(&file_name);
        files.push(DatFile { file_name, stem });
    }
    files.sort_unstable_by(|a, b| a.stem_bytes().cmp(b.stem_bytes()));
    super::order::apply_order(dir, &mut files, |f| f.stem.as_deref().ok())?;
    Ok(files)
}

/// A directory of `.dat` features, listed and sized once, read in batches of rows: what batch
/// commands use to keep memory bounded on directories of any size.
pub struct DatDir {
    dir: PathBuf,
    files: Vec<DatFile>,
    /// One entry per file, in row order; `Some` once the file is known to be bad.
    problems: Vec<Option<String>>,
    dim: usize,
}

impl DatDir {
    /// List `dir` and settle the dimension (`dim`, or `prefer` if some file has that size, or
    /// the most common file size).
    pub fn open(dir: &Path, dim: Option<usize>, prefer: Option<usize>) -> Result<Self> {
        let files = list_dat_files(dir)?;
        if files.is_empty() {
            bail!("no .dat files in {}", dir.display());
        }
        let mut problems: Vec<Option<String>> = files
            .iter()
            .map(|f| f.stem.as_ref().err().cloned())
            .collect();
        let dim = match dim {
            Some(dim) => dim,
            None => infer_dim(dir, &files, &mut problems, prefer)?,
        };
        Ok(DatDir {
            dir: dir.to_path_buf(),
            files,
            problems,
            dim,
        })
    }

    /// Values per vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of `.dat` files, good or bad.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when the directory has no `.dat` file (never, after a successful `open`).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Read the files `range` (in name order): their good rows and their failures.
    pub fn read(&self, range: std::ops::Range<usize>) -> Result<Loaded> {
        let (dir, dim) = (&self.dir, self.dim);
        let files = &self.files[range.clone()];
        let mut problems = self.problems[range].to_vec();
        let to_read: Vec<usize> = (0..files.len())
            .filter(|&i| problems[i].is_none())
            .collect();
        let total = matrix_len(to_read.len(), dim).with_context(|| {
            format!(
                "{}: {} files of {dim} values do not fit in memory",
                dir.display(),
                to_read.len()
            )
        })?;

        let mut data = vec![0f32; total];
        let read_problems: Vec<Option<String>> = if to_read.is_empty() {
            Vec::new()
        } else {
            let progress = crate::progress::bar(to_read.len() as u64, "reading");
            let out = data
                .par_chunks_mut(dim)
                .zip(to_read.par_iter())
                .map(|(slot, &i)| {
                    let r = read_row(&dir.join(&files[i].file_name), slot).err();
                    progress.inc(1);
                    r
                })
                .collect();
            progress.finish_and_clear();
            out
        };

        let mut names = Vec::with_capacity(to_read.len());
        for (&i, problem) in to_read.iter().zip(&read_problems) {
            match problem {
                Some(p) => problems[i] = Some(p.clone()),
                None => names.extend(files[i].stem.clone().ok()),
            }
        }
        // Rows that failed to read are holes in the buffer; close them up.
        compact_rows(&mut data, dim, |k| read_problems[k].is_none());
        let set = FeatureSet { names, dim, data };

        let failures = problems
            .into_iter()
            .zip(files)
            .filter_map(|(problem, f)| {
                problem.map(|problem| InputError {
                    path: dir.join(&f.file_name),
                    row: None,
                    problem,
                })
            })
            .collect();
        Ok(Loaded { set, failures })
    }
}

/// The dimension implied by the most common file size; files of other sizes (and files whose
/// size cannot be read) are marked in `problems` so they are not read at all.
fn infer_dim(
    dir: &Path,
    files: &[DatFile],
    problems: &mut [Option<String>],
    prefer: Option<usize>,
) -> Result<usize> {
    let progress = crate::progress::bar(files.len() as u64, "scanning");
    let sizes: Vec<Option<io::Result<u64>>> = files
        .par_iter()
        .zip(problems.par_iter())
        .map(|(f, problem)| {
            let size = problem
                .is_none()
                .then(|| std::fs::metadata(dir.join(&f.file_name)).map(|m| m.len()));
            progress.inc(1);
            size
        })
        .collect();
    progress.finish_and_clear();

    let mut counts: HashMap<u64, usize> = HashMap::new();
    for size in sizes.iter().flatten().flatten() {
        *counts.entry(*size).or_default() += 1;
    }
    let preferred = prefer
        .map(|d| d as u64 * 4)
        .and_then(|size| counts.get(&size).map(|&count| (size, count)));
    // Ties go to the smaller size so the choice does not depend on hash order.
    let chosen = preferred.or_else(|| {
        counts
            .iter()
            .max_by_key(|&(&size, &count)| (count, std::cmp::Reverse(size)))
            .map(|(&size, &count)| (size, count))
    });
    let dim = match chosen {
        Some((size, count)) if size == 0 || size % 4 != 0 => bail!(
            "{}: the most common .dat file size is {size} bytes ({count} of {} files), which is \
             not a whole number of f32 values; pass the dimension explicitly",
            dir.display(),
            files.len()
        ),
        Some((size, _)) => usize::try_from(size / 4)
            .with_context(|| format!("{}: files of {size} bytes are too large", dir.display()))?,
        // Nothing could be sized: every file is already marked bad below, so the dimension
        // does not matter.
        None => 0,
    };
    for (problem, size) in problems.iter_mut().zip(sizes) {
        match size {
            Some(Err(e)) => *problem = Some(format!("cannot read: {e}")),
            Some(Ok(size)) if size != dim as u64 * 4 => *problem = Some(wrong_size(size, dim)),
            _ => {}
        }
    }
    Ok(dim)
}

fn wrong_size(len: u64, dim: usize) -> String {
    format!("{len} bytes, expected {} ({dim} x f32)", dim as u64 * 4)
}

/// Read one `.dat` file straight into its row of the matrix.
fn read_row(path: &Path, slot: &mut [f32]) -> Result<(), String> {
    let cannot_read = |e: io::Error| format!("cannot read: {e}");
    let mut f = File::open(path).map_err(cannot_read)?;
    // The size from the open file, not from the earlier scan: the file may have been replaced.
    let meta = f.metadata().map_err(cannot_read)?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() != size_of_val(slot) as u64 {
        return Err(wrong_size(meta.len(), slot.len()));
    }
    f.read_exact(as_bytes_mut(slot)).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            "file shrank while it was being read".to_string()
        } else {
            cannot_read(e)
        }
    })?;
    le_to_native(slot);
    check_finite(slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::order::write_order;

    #[test]
    fn a_directory_is_listed_in_its_order_then_by_name() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["a", "b", "c", "d", "e"] {
            std::fs::write(dir.path().join(format!("{n}.dat")), [0u8; 4]).unwrap();
        }
        let stems = |d: &Path| -> Vec<String> {
            list_dat_files(d)
                .unwrap()
                .into_iter()
                .map(|f| f.stem.unwrap())
                .collect()
        };
        assert_eq!(stems(dir.path()), ["a", "b", "c", "d", "e"]);
        let order: Vec<String> = ["d", "gone", "b", "e"].map(String::from).to_vec();
        write_order(dir.path(), &order).unwrap();
        assert_eq!(stems(dir.path()), ["d", "b", "e", "a", "c"]);
        let bad = write_order(dir.path(), &["x\ny".to_string()]).unwrap_err();
        assert!(bad.to_string().contains("line break"), "{bad}");
    }
}
