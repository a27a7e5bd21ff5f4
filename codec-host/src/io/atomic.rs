//! Atomic output: write to a temporary file in the destination directory, then rename.
//!
//! A rename within one directory is atomic, so a reader (or a rerun after a crash) sees either
//! the old file or the complete new one under the final name, never a truncated one. Temporary
//! files are named `.<name>.tmp-<pid>-<n>`: hidden, so the feature reader skips them, and unique
//! per process and per write, so parallel writers never clash.
//!
//! Durability differs by kind of output:
//! - single files ([`write_atomic`], [`write_atomic_with`], [`AtomicFile`]) are fsynced before
//!   the rename, so after a power loss the final name holds the old or the new content;
//! - batches ([`write_rows_dat`], [`write_blobs`]) are *not* fsynced: syncing 400,000 small files
//!   one by one is far too slow, and since each rename is still atomic a killed process never
//!   leaves a truncated file under a final name. Only a power loss can lose recent files, and
//!   batch outputs can be regenerated.

use super::InputError;
use super::bytes::le_bytes;
use super::features::FeatureSet;
use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use std::borrow::Cow;
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes temporary files of one process; the pid distinguishes processes.
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// Keeps temporary names well below the usual 255-byte file name limit even for long targets.
const MAX_NAME_IN_TEMP: usize = 128;

/// A temporary file that is removed when dropped, unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    /// Create a new, uniquely named temporary file in `dir` for the target `name`.
    fn create(dir: &Path, name: &OsStr) -> io::Result<(File, TempFile)> {
        let name = name.to_string_lossy();
        let mut end = name.len().min(MAX_NAME_IN_TEMP);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let prefix = &name[..end];
        let pid = std::process::id();
        // A stale temporary from an earlier process with the same pid may exist; `create_new`
        // notices and we move on to the next number instead of writing into someone's file.
        let mut attempts = 0;
        loop {
            let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(".{prefix}.tmp-{pid}-{n}"));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(f) => return Ok((f, TempFile { path, armed: true })),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 100 => {
                    attempts += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Rename the temporary file to `target`; from then on it is no longer ours to remove.
    fn persist(mut self, target: &Path) -> io::Result<()> {
        std::fs::rename(&self.path, target)?;
        self.armed = false;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: the original error is what the caller needs to see.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The directory and file name of an output path.
fn split_target(path: &Path) -> Result<(&Path, &OsStr)> {
    let name = path
        .file_name()
        .with_context(|| format!("{}: output path has no file name", path.display()))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok((dir, name))
}

/// Make a completed rename survive a power loss. Best effort: not every platform or file system
/// can sync a directory, and the data itself is already synced.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Write `bytes` to `path` so that `path` either keeps its old content or holds all of `bytes`.
///
/// The data is fsynced before the rename (this is for single outputs: lists, configs, models);
/// for many small files use [`write_blobs`] or [`write_rows_dat`], which skip the fsync.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| Ok(w.write_all(bytes)?))
}

/// Like [`write_atomic`], but the content is produced by `write`, which streams into a buffered
/// writer (for JSON and other outputs too large to build in memory first).
///
/// If `write` fails (or panics), the temporary file is removed and `path` is left untouched.
pub fn write_atomic_with<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> Result<()>,
{
    let mut out = AtomicFile::create(path)?;
    write(out.writer()).with_context(|| format!("{}: cannot write", path.display()))?;
    out.commit()
}

/// A single output written in place of `path` through a temporary file, for writers that need
/// more than a stream (the `.npy` writer seeks back to complete its header). Nothing appears
/// under `path` until [`AtomicFile::commit`]; dropping it before removes the temporary file.
pub struct AtomicFile {
    path: PathBuf,
    out: BufWriter<File>,
    temp: TempFile,
}

impl AtomicFile {
    /// Start writing `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let (dir, name) = split_target(path)?;
        let (file, temp) = TempFile::create(dir, name).with_context(|| {
            format!(
                "{}: cannot create a temporary file in {}",
                path.display(),
                dir.display()
            )
        })?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            temp,
        })
    }

    /// The buffered temporary file; it can seek.
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        &mut self.out
    }

    /// Flush and fsync the content, then rename it into place (see [`write_atomic`]).
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        let file = self
            .out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
            .and_then(|f| f.sync_all().map(|()| f))
            .with_context(|| format!("{}: cannot write", path.display()))?;
        drop(file);
        self.temp
            .persist(&path)
            .with_context(|| format!("{}: cannot rename into place", path.display()))?;
        let (dir, _) = split_target(&path)?;
        sync_dir(dir);
        Ok(())
    }
}

/// Write one `<name>.dat` per row of `set` into `dir` (created if needed), in parallel: each row
/// as its `dim` little-endian f32 values, each file atomically but without fsync (see the
/// module documentation).
///
/// Returns `Err` only when the directory cannot be created; a file that cannot be written is
/// reported in the returned list and the others are still written.
pub fn write_rows_dat(dir: &Path, set: &FeatureSet) -> Result<Vec<InputError>> {
    if set.data.len() != set.names.len() * set.dim {
        bail!(
            "{}: feature set is inconsistent: {} names x {} values but {} values in total",
            dir.display(),
            set.names.len(),
            set.dim,
            set.data.len()
        );
    }
    write_batch(
        dir,
        "dat",
        set.len(),
        |i| &set.names[i],
        |i| le_bytes(set.row(i)),
    )
}

/// Write `<name>.<ext>` holding `bytes` for every `(name, bytes)` of `items` into `dir` (created
/// if needed), in parallel, each file atomically but without fsync (see the module
/// documentation). With an empty `ext` the file is just `<name>`.
///
/// Returns `Err` only when the directory cannot be created; a file that cannot be written (or a
/// name that is not a plain file name) is reported in the returned list, in the order of `items`,
/// and the others are still written.
pub fn write_blobs<N, B>(dir: &Path, ext: &str, items: &[(N, B)]) -> Result<Vec<InputError>>
where
    N: AsRef<str> + Sync,
    B: AsRef<[u8]> + Sync,
{
    write_batch(
        dir,
        ext,
        items.len(),
        |i| items[i].0.as_ref(),
        |i| Cow::Borrowed(items[i].1.as_ref()),
    )
}

fn write_batch<'a, N, B>(
    dir: &Path,
    ext: &str,
    len: usize,
    name_of: N,
    bytes_of: B,
) -> Result<Vec<InputError>>
where
    N: Fn(usize) -> &'a str + Sync,
    B: Fn(usize) -> Cow<'a, [u8]> + Sync,
{
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create directory", dir.display()))?;
    let progress = crate::progress::bar(len as u64, "writing");
    let failures: Vec<InputError> = (0..len)
        .into_par_iter()
        .filter_map(|i| {
            let result = write_unsynced(dir, name_of(i), ext, &bytes_of(i));
            progress.inc(1);
            result.err()
        })
        .collect();
    progress.finish_and_clear();
    Ok(failures)
}

/// One file of a batch: atomic rename, no fsync.
fn write_unsynced(dir: &Path, name: &str, ext: &str, bytes: &[u8]) -> Result<(), InputError> {
    let file_name = if ext.is_empty() {
        name.to_string()
    } else {
        format!("{name}.{ext}")
    };
    let path = dir.join(&file_name);
    let fail = |problem: String| InputError {
        path: path.clone(),
        problem,
    };
    if let Some(why) = bad_file_name(name) {
        return Err(fail(format!("cannot use {name:?} as a file name: {why}")));
    }
    let (mut file, temp) = TempFile::create(dir, OsStr::new(&file_name))
        .map_err(|e| fail(format!("cannot create a temporary file: {e}")))?;
    file.write_all(bytes)
        .map_err(|e| fail(format!("cannot write: {e}")))?;
    drop(file);
    temp.persist(&path)
        .map_err(|e| fail(format!("cannot rename into place: {e}")))
}

/// Why `name` cannot be a file name inside the output directory, if it cannot.
///
/// Names come from user data (list files, array rows), so they must not be able to escape the
/// directory; and a leading `.` would make a hidden file that the reader then skips.
fn bad_file_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name.contains(['/', '\\']) {
        Some("it contains a path separator")
    } else if name.contains('\0') {
        Some("it contains a NUL byte")
    } else if name.starts_with('.') {
        Some("it starts with `.`")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_old_content_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, b"old content that is longer").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(entries(dir.path()), ["out.json"]);
    }

    #[test]
    fn streaming_writer_failure_keeps_old_file_and_removes_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, b"old").unwrap();
        let err = write_atomic_with(&path, |w| {
            w.write_all(b"partial")?;
            bail!("serializer gave up")
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("serializer gave up"), "{err:#}");
        assert!(err.to_string().contains("out.json"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(entries(dir.path()), ["out.json"]);
    }

    #[test]
    fn streaming_writer_writes_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write_atomic_with(&path, |w| Ok(serde_json::to_writer(w, &[1, 2, 3])?)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[1,2,3]");
        assert_eq!(entries(dir.path()), ["out.json"]);
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope").join("out.json");
        let err = write_atomic(&path, b"x").unwrap_err();
        assert!(err.to_string().contains("out.json"), "{err}");
    }

    #[test]
    fn temp_names_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let (_a, ta) = TempFile::create(dir.path(), OsStr::new("x")).unwrap();
        let (_b, tb) = TempFile::create(dir.path(), OsStr::new("x")).unwrap();
        assert_ne!(ta.path, tb.path);
        drop((ta, tb));
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn rows_dat_written_one_file_per_row() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("new").join("feat");
        let set = FeatureSet {
            names: vec!["a".into(), "b".into()],
            dim: 2,
            data: vec![1.0, 2.0, 3.0, -4.5],
        };
        let failures = write_rows_dat(&out, &set).unwrap();
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(entries(&out), ["a.dat", "b.dat"]);
        let b = std::fs::read(out.join("b.dat")).unwrap();
        let expected: Vec<u8> = [3.0f32, -4.5]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(b, expected);
    }

    #[test]
    fn blobs_report_bad_names_and_write_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let items = vec![
            ("00001".to_string(), vec![1u8, 2, 3]),
            ("../escape".to_string(), vec![0u8]),
            (".hidden".to_string(), vec![0u8]),
            ("00002".to_string(), vec![]),
        ];
        let failures = write_blobs(dir.path(), "dat", &items).unwrap();
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(failures[0].path.ends_with("../escape.dat"));
        assert!(
            failures[0].problem.contains("path separator"),
            "{}",
            failures[0]
        );
        assert_eq!(entries(dir.path()), ["00001.dat", "00002.dat"]);
        assert_eq!(
            std::fs::read(dir.path().join("00001.dat")).unwrap(),
            [1, 2, 3]
        );
        assert!(!dir.path().parent().unwrap().join("escape.dat").exists());
    }

    #[test]
    fn blobs_replace_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.bin"), b"old old old").unwrap();
        let failures = write_blobs(dir.path(), "bin", &[("x", b"new")]).unwrap();
        assert!(failures.is_empty());
        assert_eq!(std::fs::read(dir.path().join("x.bin")).unwrap(), b"new");
        assert_eq!(entries(dir.path()), ["x.bin"]);
    }

    #[test]
    fn blob_directory_that_cannot_be_created_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let err = write_blobs(&file.join("sub"), "dat", &[("a", b"x")]).unwrap_err();
        assert!(err.to_string().contains("cannot create directory"), "{err}");
    }
}
