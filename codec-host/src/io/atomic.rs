//! Atomic output: write to a temporary file in the destination directory, then rename.
//!
//! A rename within one directory is atomic, so a reader (or a rerun after a crash) sees either
//! the old file or the complete new one under the final name, never a truncated one. Temporary
//! files are named `.<name>.<random>.tmp` by the `tempfile` crate: hidden, so the feature reader
//! skips them, and created exclusively under a random name, so parallel writers never clash.
//!
//! A single output path that is a symbolic link is written through: the temporary goes beside
//! the file the link points at and is renamed onto that file, so the link (and whoever relies
//! on it) keeps pointing at the new content. An output that is neither a regular file nor a
//! directory (a device such as `/dev/stdout`, a FIFO) cannot be replaced by a rename without
//! destroying it, so it is written directly; such a target gets no atomicity to lose.
//!
//! The files of a batch ([`write_rows_dat`], [`write_blobs`]) are different: their names come
//! from the data, and whatever sits under such a name in the output directory is replaced,
//! never written through. A link there may point anywhere, at one of the batch's own inputs
//! for instance, and a batch must not overwrite what it reads.
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
use super::matrix::FeatureSet;
use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use std::borrow::Cow;
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use tempfile::TempPath;

/// Most symbolic links followed to reach an output's target (the Linux kernel's own limit).
const MAX_LINKS: usize = 40;

/// Keeps temporary names well below the usual 255-byte file name limit even for long targets.
const MAX_NAME_IN_TEMP: usize = 128;

/// A builder for the hidden temporary names of the target `name`: `.<name>.<random>.tmp`.
///
/// `tempfile` picks an unused random name (created exclusively, retried on a clash) and removes
/// the file if it is dropped before being persisted. Its files are created 0600; ours get the
/// mode any new file gets (0666 less the umask), because the temporary becomes the user's output.
fn temp_builder(prefix: &str) -> tempfile::Builder<'_, 'static> {
    let mut b = tempfile::Builder::new();
    b.prefix(prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o666));
    }
    b
}

/// The prefix of temporary names for the target `name`: hidden, so the feature reader skips
/// them, and cut to [`MAX_NAME_IN_TEMP`] bytes.
fn temp_prefix(name: &OsStr) -> String {
    let name = name.to_string_lossy();
    let mut end = name.len().min(MAX_NAME_IN_TEMP);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!(".{}.", &name[..end])
}

/// A new temporary file in `dir` for the target `name`, removed when dropped unless persisted.
fn temp_file(dir: &Path, name: &OsStr) -> io::Result<(File, TempPath)> {
    let prefix = temp_prefix(name);
    Ok(temp_builder(&prefix).tempfile_in(dir)?.into_parts())
}

/// Where the bytes of an output go, once symbolic links are followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A regular file, a directory (the rename then fails with the system's own message), or
    /// nothing yet: written through a temporary file beside it, renamed onto it.
    Replace(PathBuf),
    /// An existing device, FIFO or socket: a rename would replace the node itself by a file, so
    /// it is opened and written directly.
    Direct(PathBuf),
}

/// The target of the output `path`. A symbolic link is followed to the file it points at (a
/// dangling one to the file it names, which writing creates, as `echo > link` does); what
/// exists and is not a regular file or a directory is written directly. The kernel resolves
/// existing links, so special ones such as `/dev/stdout` -> `/proc/self/fd/1` -> a pipe come
/// out right.
pub(crate) fn resolve_target(path: &Path) -> io::Result<Target> {
    let own = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Target::Replace(path.into())),
        own => own?,
    };
    let is_link = own.file_type().is_symlink();
    let meta = if is_link {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return dangling_target(path),
            meta => meta?,
        }
    } else {
        own
    };
    if !(meta.is_file() || meta.is_dir()) {
        Ok(Target::Direct(path.into()))
    } else if is_link {
        Ok(Target::Replace(std::fs::canonicalize(path)?))
    } else {
        Ok(Target::Replace(path.into()))
    }
}

/// The file a dangling symbolic link (or chain of them) names.
fn dangling_target(path: &Path) -> io::Result<Target> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&p)?;
                // A relative link is relative to the directory that holds it; an absolute one
                // replaces the whole path in `join`.
                p = match p.parent() {
                    Some(dir) => dir.join(link),
                    None => link,
                };
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Target::Replace(p)),
            // The chain changed under us and now ends somewhere: start over from there.
            Ok(_) => return resolve_target(&p),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "more than {MAX_LINKS} levels of symbolic links"
    )))
}

/// Open an existing non-regular file (see [`Target::Direct`]) for writing.
fn open_direct(target: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).open(target)
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
/// A `path` of `-` is standard output (the convention of command-line tools), not a file.
pub fn write_atomic_with<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> Result<()>,
{
    if is_stdout(path) {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        write(&mut out).context("standard output: cannot write")?;
        return out.flush().context("standard output: cannot write");
    }
    let mut out = AtomicFile::create(path)?;
    write(out.writer()).with_context(|| format!("{}: cannot write", path.display()))?;
    out.commit()
}

/// Whether an output path is `-`, standard output.
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// A single output written in place of `path` through a temporary file, for writers that need
/// more than a stream (the `.npy` writer seeks back to complete its header). Nothing appears
/// under `path` until [`AtomicFile::commit`]; dropping it before removes the temporary file.
/// A symbolic link at `path` is written through, and a device or FIFO written directly (see
/// the module documentation); the latter cannot seek.
pub struct AtomicFile {
    /// The output as the user named it, for messages.
    path: PathBuf,
    out: BufWriter<File>,
    /// The temporary file and the file it replaces; `None` when writing directly.
    pending: Option<(TempPath, PathBuf)>,
}

impl AtomicFile {
    /// Start writing `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let target = resolve_target(path)
            .with_context(|| format!("{}: cannot resolve the output path", path.display()))?;
        let (file, pending) = match target {
            Target::Direct(target) => {
                let file = open_direct(&target)
                    .with_context(|| format!("{}: cannot open for writing", path.display()))?;
                (file, None)
            }
            Target::Replace(target) => {
                let (dir, name) = split_target(&target)?;
                let (file, temp) = temp_file(dir, name).with_context(|| {
                    format!(
                        "{}: cannot create a temporary file in {}",
                        path.display(),
                        dir.display()
                    )
                })?;
                (file, Some((temp, target)))
            }
        };
        Ok(AtomicFile {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            pending,
        })
    }

    /// The buffered temporary file; it can seek (unless the output is a device or FIFO).
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        &mut self.out
    }

    /// Flush and fsync the content, then rename it into place (see [`write_atomic`]). A
    /// direct output is only flushed: devices and FIFOs cannot be synced.
    pub fn commit(self) -> Result<()> {
        self.prepare()?.rename()
    }

    /// Flush and fsync the content: everything of a commit but the rename.
    fn prepare(self) -> Result<Prepared> {
        let path = self.path;
        let file = self
            .out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
            .with_context(|| format!("{}: cannot write", path.display()))?;
        if self.pending.is_some() {
            file.sync_all()
                .with_context(|| format!("{}: cannot write", path.display()))?;
        }
        Ok(Prepared {
            path,
            pending: self.pending,
        })
    }
}

/// An [`AtomicFile`] whose content is complete and synced, waiting for its rename.
struct Prepared {
    path: PathBuf,
    pending: Option<(TempPath, PathBuf)>,
}

impl Prepared {
    fn rename(self) -> Result<()> {
        let Some((temp, target)) = self.pending else {
            return Ok(());
        };
        // Only the io::Error goes on: the error's TempPath is dropped here, removing the
        // temporary at once rather than whenever the caller drops the error.
        temp.persist(&target)
            .map_err(|e| e.error)
            .with_context(|| format!("{}: cannot rename into place", self.path.display()))?;
        let (dir, _) = split_target(&target)?;
        sync_dir(dir);
        Ok(())
    }

    /// What the rename will replace, kept under a hidden name (a hard link: no copy) so that
    /// [`Restore::undo`] can put it back. `None` where that cannot be done: a direct output, or
    /// a file system without hard links (the commit then goes on without a way back).
    fn keep_old(&self) -> Option<Restore> {
        let (_, target) = self.pending.as_ref()?;
        if let Err(e) = std::fs::symlink_metadata(target) {
            return (e.kind() == io::ErrorKind::NotFound).then(|| Restore {
                target: target.clone(),
                old: None,
            });
        }
        let (dir, name) = split_target(target).ok()?;
        // The old file linked under a fresh hidden name; `make_in` retries if the name is taken.
        let kept = temp_builder(&temp_prefix(name))
            .make_in(dir, |kept| std::fs::hard_link(target, kept))
            .ok()?
            .into_temp_path();
        Some(Restore {
            target: target.clone(),
            old: Some(kept),
        })
    }
}

/// How to undo the rename of a [`Prepared`] output: put the old file back, or remove the new
/// one where there was none. Dropped without [`Restore::undo`], the kept link is removed.
struct Restore {
    target: PathBuf,
    old: Option<TempPath>,
}

impl Restore {
    fn undo(self) -> io::Result<()> {
        match self.old {
            Some(kept) => kept.persist(&self.target).map_err(|e| e.error),
            None => std::fs::remove_file(&self.target),
        }
    }
}

/// Commit two outputs that only make sense together (a `.npy` array and its names file) so
/// that a failure replaces neither: the old `first` is kept aside, `first` and then `second`
/// are renamed into place, and if `second`'s rename fails the old `first` is put back (or the
/// new one removed, where there was none). Between the two renames a reader can see the new
/// array with the old names, as with any two files; a failed commit no longer leaves them so.
pub fn commit_pair(first: AtomicFile, second: AtomicFile) -> Result<()> {
    let (first, second) = (first.prepare()?, second.prepare()?);
    let restore = first.keep_old();
    let first_path = first.path.clone();
    first.rename()?;
    let Err(e) = second.rename() else {
        return Ok(());
    };
    let undone = match restore {
        Some(r) => r.undo().map_err(|undo| undo.to_string()),
        None => Err("it could not be kept aside".to_string()),
    };
    Err(match undone {
        Ok(()) => e.context(format!("{} left as it was", first_path.display())),
        Err(why) => e.context(format!(
            "{} was replaced and could not be put back ({why}): it does not match",
            first_path.display()
        )),
    })
}

/// An existing file changed in place, for formats that append and keep their own commit
/// record (the code-array container, [`super::codes`]): data is written past the committed
/// end and synced, and only then is the small record naming the new end rewritten and synced,
/// so a crash at any point leaves the committed content as it was. Nothing else may write in
/// place: every other output replaces its file whole ([`AtomicFile`]).
pub struct InPlaceFile {
    path: PathBuf,
    file: File,
}

impl InPlaceFile {
    /// Open `path`, which must exist, for reading and writing in place.
    pub fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .with_context(|| format!("{}: cannot open for appending", path.display()))?;
        Ok(InPlaceFile {
            path: path.to_path_buf(),
            file,
        })
    }

    /// The file, for reading what is there.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Write `bytes` at `offset` (not synced: see [`InPlaceFile::sync`]).
    pub fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<()> {
        use std::io::Seek;
        self.file
            .seek(io::SeekFrom::Start(offset))
            .and_then(|_| self.file.write_all(bytes))
            .with_context(|| format!("{}: cannot write", self.path.display()))
    }

    /// Cut the file to `len` bytes (an append torn by a crash leaves bytes past the committed
    /// end, which no reader trusts).
    pub fn truncate(&mut self, len: u64) -> Result<()> {
        self.file
            .set_len(len)
            .with_context(|| format!("{}: cannot truncate", self.path.display()))
    }

    /// Make everything written so far durable before the next write (data, then commit).
    pub fn sync(&mut self) -> Result<()> {
        self.file
            .sync_data()
            .with_context(|| format!("{}: cannot write", self.path.display()))
    }
}

/// Create the output directory `dir` (and its parents) before the work starts, so that an
/// unusable one (a regular file, or under one) is reported at once, by name, rather than after
/// a long run.
pub fn create_output_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create directory", dir.display()))
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
    create_output_dir(dir)?;
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

/// One file of a batch: atomic rename, no fsync. What is at the name already (a file, a
/// symbolic link, a FIFO) is replaced, not written through (see the module documentation).
fn write_unsynced(dir: &Path, name: &str, ext: &str, bytes: &[u8]) -> Result<(), InputError> {
    let file_name = if ext.is_empty() {
        name.to_string()
    } else {
        format!("{name}.{ext}")
    };
    let path = dir.join(&file_name);
    let fail = |problem: String| InputError {
        path: path.clone(),
        row: None,
        problem,
    };
    if let Some(why) = bad_file_name(name) {
        return Err(fail(format!("cannot use {name:?} as a file name: {why}")));
    }
    replace_unsynced(&path, bytes).map_err(fail)
}

/// Write `bytes` to a temporary file beside `target` and rename it onto `target`.
fn replace_unsynced(target: &Path, bytes: &[u8]) -> Result<(), String> {
    let (dir, name) = split_target(target).map_err(|e| e.to_string())?;
    let (mut file, temp) =
        temp_file(dir, name).map_err(|e| format!("cannot create a temporary file: {e}"))?;
    file.write_all(bytes)
        .map_err(|e| format!("cannot write: {e}"))?;
    drop(file);
    temp.persist(target)
        .map_err(|e| format!("cannot rename into place: {e}"))
}

/// Why `name` cannot be a file name inside the output directory, if it cannot.
///
/// Names come from user data (list files, array rows), so they must not be able to escape the
/// directory; a leading `.` would make a hidden file that the reader then skips, and a line
/// break a name that no names file or list can hold (the reader rejects such files).
fn bad_file_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name.contains(['/', '\\']) {
        Some("it contains a path separator")
    } else if name.contains('\0') {
        Some("it contains a NUL byte")
    } else if super::has_line_break(name) {
        Some("it contains a line break")
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
        let (_a, ta) = temp_file(dir.path(), OsStr::new("x")).unwrap();
        let (_b, tb) = temp_file(dir.path(), OsStr::new("x")).unwrap();
        assert_ne!(ta.to_path_buf(), tb.to_path_buf());
        assert!(ta.file_name().unwrap().to_string_lossy().starts_with(".x."));
        drop((ta, tb));
        assert!(entries(dir.path()).is_empty());
    }

    /// The temporary is renamed into place, so its mode is the output's: the umask's, as for
    /// any file the user creates, not the private 0600 of a temporary file.
    #[cfg(unix)]
    #[test]
    fn outputs_get_the_mode_of_an_ordinary_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let plain = dir.path().join("plain");
        File::create(&plain).unwrap();
        let single = dir.path().join("single.json");
        write_atomic(&single, b"{}").unwrap();
        let failures = write_blobs(dir.path(), "dat", &[("batch", b"x")]).unwrap();
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(mode(&single), mode(&plain));
        assert_eq!(mode(&dir.path().join("batch.dat")), mode(&plain));
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

    #[cfg(unix)]
    #[test]
    fn a_symlinked_output_is_written_through_to_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let target = sub.join("target.json");
        std::fs::write(&target, b"old").unwrap();
        // A relative link, reached through a second (absolute) link.
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("sub/target.json", &link).unwrap();
        let link2 = dir.path().join("link2.json");
        std::os::unix::fs::symlink(&link, &link2).unwrap();
        write_atomic(&link2, b"new").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        for l in [&link, &link2] {
            assert!(
                std::fs::symlink_metadata(l)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
        }
        // The temporary went beside the target, and nothing is left over.
        assert_eq!(entries(&sub), ["target.json"]);
        assert_eq!(entries(dir.path()), ["link.json", "link2.json", "sub"]);

        // A dangling link creates the file it names.
        let dangling = dir.path().join("dangling.json");
        std::os::unix::fs::symlink("sub/created.json", &dangling).unwrap();
        write_atomic(&dangling, b"made").unwrap();
        assert_eq!(std::fs::read(sub.join("created.json")).unwrap(), b"made");
        assert!(
            std::fs::symlink_metadata(&dangling)
                .unwrap()
                .file_type()
                .is_symlink()
        );

        // A batch replaces a link in its output directory instead: the file the link points
        // at may be one of the batch's inputs.
        std::os::unix::fs::symlink(&target, dir.path().join("x.dat")).unwrap();
        let failures = write_blobs(dir.path(), "dat", &[("x", b"blob")]).unwrap();
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        let x = dir.path().join("x.dat");
        assert!(std::fs::symlink_metadata(&x).unwrap().file_type().is_file());
        assert_eq!(std::fs::read(&x).unwrap(), b"blob");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_loop_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let err = format!("{:#}", write_atomic(&a, b"x").unwrap_err());
        assert!(err.contains("symbolic links"), "{err}");
        assert!(err.contains(&a.display().to_string()), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_written_directly_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success());
        if !made {
            eprintln!("skipped: mkfifo is not available");
            return;
        }
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_atomic(&fifo, b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        assert!(
            std::os::unix::fs::FileTypeExt::is_fifo(
                &std::fs::symlink_metadata(&fifo).unwrap().file_type()
            ),
            "the FIFO is still a FIFO"
        );
        assert_eq!(entries(dir.path()), ["pipe"]);
    }

    /// An [`AtomicFile`] for `path` holding `bytes`, not yet committed.
    fn staged(path: &Path, bytes: &[u8]) -> AtomicFile {
        let mut f = AtomicFile::create(path).unwrap();
        f.writer().write_all(bytes).unwrap();
        f
    }

    #[test]
    fn a_pair_is_replaced_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.npy"), dir.path().join("a.names.txt"));
        commit_pair(staged(&a, b"array 1"), staged(&b, b"names 1")).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"array 1");
        assert_eq!(std::fs::read(&b).unwrap(), b"names 1");
        assert_eq!(entries(dir.path()), ["a.names.txt", "a.npy"]);

        // The second rename fails (a directory is in its way): the first is put back.
        std::fs::remove_file(&b).unwrap();
        std::fs::create_dir(&b).unwrap();
        let err = commit_pair(staged(&a, b"array 2"), staged(&b, b"names 2")).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("a.npy left as it was"), "{msg}");
        assert!(
            msg.contains("a.names.txt: cannot rename into place"),
            "{msg}"
        );
        assert_eq!(std::fs::read(&a).unwrap(), b"array 1");
        assert_eq!(entries(dir.path()), ["a.names.txt", "a.npy"]);

        // With no first file before, the new one is taken away again.
        let (c, d) = (dir.path().join("c.npy"), dir.path().join("c.names.txt"));
        std::fs::create_dir(&d).unwrap();
        commit_pair(staged(&c, b"array"), staged(&d, b"names")).unwrap_err();
        assert!(!c.exists());
        assert_eq!(entries(dir.path()), ["a.names.txt", "a.npy", "c.names.txt"]);
    }

    #[test]
    fn names_with_line_breaks_are_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let items = [("a\nb", b"x"), ("c\rd", b"y"), ("ok", b"z")];
        let failures = write_blobs(dir.path(), "dat", &items).unwrap();
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(
            failures[0].problem.contains("line break"),
            "{}",
            failures[0]
        );
        assert_eq!(entries(dir.path()), ["ok.dat"]);
    }

    #[test]
    fn blob_directory_that_cannot_be_created_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let err = write_blobs(&file.join("sub"), "dat", &[("a", b"x")]).unwrap_err();
        assert!(err.to_string().contains("cannot create directory"), "{err}");
    }

    #[test]
    fn an_output_directory_that_cannot_be_made_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("report");
        std::fs::write(&file, b"").unwrap();
        for bad in [file.clone(), file.join("sub")] {
            let err = format!("{:#}", create_output_dir(&bad).unwrap_err());
            assert!(
                err.starts_with(&format!("{}: cannot create directory", bad.display())),
                "{err}"
            );
        }
        create_output_dir(&dir.path().join("a/b")).unwrap();
        assert!(dir.path().join("a/b").is_dir());
    }
}
