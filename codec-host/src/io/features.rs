//! The one input dispatcher: a path of features, a directory of `.dat` files ([`super::dat`])
//! or a `.npy` file ([`super::npy`]), opened as one [`FeatureInput`] and read whole or in
//! batches into the matrix of [`super::matrix`].

use super::dat::DatDir;
use super::matrix::{Loaded, ReadOptions};
use super::npy::NpyFile;
use anyhow::{Result, bail};
use std::io;
use std::path::Path;

/// Read features from a directory of `.dat` files or from a `.npy` file.
///
/// A directory is read in parallel, one row per regular file whose extension is exactly `dat`
/// (other files, subdirectories and hidden files such as our own temporaries are ignored), rows
/// in the order of its `names.txt` if it has one ([`super::order`]), else sorted by the bytes of
/// the file stem. A `.npy` file must hold a 2-D float32, float16 or float64 array;
/// see [`NpyFile`].
///
/// Errors that concern the whole input (a missing path, a directory without `.dat` files, an
/// unreadable or malformed `.npy`) are returned as `Err` naming the path. A bad individual file
/// (wrong size, unreadable, non-finite value, name that is not UTF-8) becomes an entry of
/// [`Loaded::failures`] and the rest is still read; with `opts.strict` the first of them in row
/// order is returned as `Err` instead.
pub fn read_features(path: &Path, opts: &ReadOptions) -> Result<Loaded> {
    let mut input = FeatureInput::open(path, opts)?;
    let rows = input.rows();
    input.read(0..rows)
}

/// An input of features (a directory of `.dat` files or a `.npy` file), opened and sized but
/// not read: rows are read in ranges, so that batch commands hold one batch at a time.
pub struct FeatureInput {
    source: Source,
    strict: bool,
}

enum Source {
    Dat(DatDir),
    Npy(NpyFile),
}

impl FeatureInput {
    /// Open `path`; errors about the whole input are as in [`read_features`].
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<Self> {
        check_dim_option(path, opts)?;
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                bail!("{}: no such file or directory", path.display())
            }
            Err(e) => bail!("{}: cannot access: {e}", path.display()),
        };
        let source = if meta.is_dir() {
            Source::Dat(DatDir::open(path, opts.dim, opts.prefer_dim)?)
        } else if meta.is_file() && is_npy(path) {
            let npy = NpyFile::open(path, opts)?;
            // As for a directory without .dat files: a command given nothing to work on says
            // so, rather than succeed with "0 codes" and no output.
            if npy.rows() == 0 {
                bail!("{}: the array has no rows: nothing to read", path.display());
            }
            Source::Npy(npy)
        } else {
            bail!(
                "{}: not a directory of .dat files or a .npy file",
                path.display()
            )
        };
        Ok(FeatureInput {
            source,
            strict: opts.strict,
        })
    }

    /// Rows in the input, good or bad.
    pub fn rows(&self) -> usize {
        match &self.source {
            Source::Dat(d) => d.len(),
            Source::Npy(f) => f.rows(),
        }
    }

    /// The rows `range`, with `strict` applied as in [`read_features`].
    pub fn read(&mut self, range: std::ops::Range<usize>) -> Result<Loaded> {
        let loaded = match &mut self.source {
            Source::Dat(d) => d.read(range)?,
            Source::Npy(f) => f.read(range)?,
        };
        loaded.check_strict(self.strict)
    }

    /// Hand the rows to `each` in order, at most `batch_rows` at a time (an empty input as one
    /// empty batch).
    pub fn for_each_batch(
        mut self,
        batch_rows: usize,
        mut each: impl FnMut(Loaded) -> Result<()>,
    ) -> Result<()> {
        let (step, rows) = (batch_rows.max(1), self.rows());
        let mut start = 0;
        loop {
            let end = (start + step).min(rows);
            each(self.read(start..end)?)?;
            if end == rows {
                return Ok(());
            }
            start = end;
        }
    }
}

/// A requested dimension of 0 can match nothing: say so instead of rejecting every file.
fn check_dim_option(path: &Path, opts: &ReadOptions) -> Result<()> {
    if opts.dim == Some(0) {
        bail!(
            "{}: the feature dimension must be at least 1",
            path.display()
        );
    }
    Ok(())
}

/// Whether `path` names a `.npy` file (by its extension, in any case).
pub fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// Read features in batches of at most `batch_rows` rows and hand each to `each`, so that
/// memory stays bounded whatever the size of the input (a directory of `.dat` files or a `.npy`
/// file). Errors and `strict` behave as in [`read_features`], per batch. See [`FeatureInput`].
pub fn read_in_batches(
    path: &Path,
    opts: &ReadOptions,
    batch_rows: usize,
    each: impl FnMut(Loaded) -> Result<()>,
) -> Result<()> {
    FeatureInput::open(path, opts)?.for_each_batch(batch_rows, each)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{FeatureSet, InputError};
    use std::ffi::OsStr;
    use std::path::PathBuf;

    fn row(dim: usize, seed: f32) -> Vec<f32> {
        (0..dim).map(|j| seed + j as f32 * 0.25).collect()
    }

    fn write_dat(dir: &Path, name: &str, values: &[f32]) {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(dir.join(name), bytes).unwrap();
    }

    fn read(dir: &Path) -> Loaded {
        read_features(dir, &ReadOptions::default()).unwrap()
    }

    fn failure_names(l: &Loaded) -> Vec<String> {
        l.failures
            .iter()
            .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn reads_rows_sorted_by_stem() {
        let dir = tempfile::tempdir().unwrap();
        write_dat(dir.path(), "b.dat", &row(4, 2.0));
        write_dat(dir.path(), "a.dat", &row(4, 1.0));
        // Sorted by stem, `a` < `a.b`, although as file names `a.b.dat` < `a.dat`.
        write_dat(dir.path(), "a.b.dat", &row(4, 3.0));
        let l = read(dir.path());
        assert!(l.failures.is_empty(), "{:?}", l.failures);
        assert_eq!(l.set.names, ["a", "a.b", "b"]);
        assert_eq!(l.set.dim, 4);
        assert_eq!(l.set.row(0), row(4, 1.0));
        assert_eq!(l.set.row(1), row(4, 3.0));
        assert_eq!(l.set.row(2), row(4, 2.0));
    }

    #[test]
    fn wrong_size_file_amid_good_ones() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..5 {
            write_dat(dir.path(), &format!("{i:03}.dat"), &row(2048, i as f32));
        }
        // One value short: 8188 bytes.
        write_dat(dir.path(), "002.dat", &row(2047, 0.0));
        let l = read(dir.path());
        assert_eq!(l.set.names, ["000", "001", "003", "004"]);
        assert_eq!(l.set.row(2), row(2048, 3.0));
        assert_eq!(l.set.data.len(), 4 * 2048);
        assert_eq!(failure_names(&l), ["002.dat"]);
        assert_eq!(
            l.failures[0].problem,
            "8188 bytes, expected 8192 (2048 x f32)"
        );
    }

    #[test]
    fn empty_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        write_dat(dir.path(), "a.dat", &row(8, 0.0));
        std::fs::write(dir.path().join("b.dat"), b"").unwrap();
        write_dat(dir.path(), "c.dat", &row(8, 1.0));
        let l = read(dir.path());
        assert_eq!(l.set.names, ["a", "c"]);
        assert_eq!(failure_names(&l), ["b.dat"]);
        assert_eq!(l.failures[0].problem, "0 bytes, expected 32 (8 x f32)");
    }

    #[test]
    fn non_finite_values_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut nan = row(32, 0.0);
        nan[17] = f32::NAN;
        let mut inf = row(32, 0.0);
        inf[3] = f32::INFINITY;
        inf[30] = f32::NEG_INFINITY;
        let mut ninf = row(32, 0.0);
        ninf[0] = f32::NEG_INFINITY;
        write_dat(dir.path(), "1.dat", &nan);
        write_dat(dir.path(), "2.dat", &inf);
        write_dat(dir.path(), "3.dat", &ninf);
        write_dat(dir.path(), "4.dat", &row(32, 0.0));
        let l = read(dir.path());
        assert_eq!(l.set.names, ["4"]);
        let problems: Vec<&str> = l.failures.iter().map(|f| f.problem.as_str()).collect();
        assert_eq!(
            problems,
            [
                "value at index 17 is NaN",
                "value at index 3 is +inf (and 1 more non-finite value)",
                "value at index 0 is -inf"
            ]
        );
        assert!(
            l.failures[0]
                .to_string()
                .ends_with("1.dat: value at index 17 is NaN")
        );
    }

    #[test]
    fn strict_mode_fails_on_first_bad_file_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..20 {
            write_dat(dir.path(), &format!("{i:02}.dat"), &row(16, 0.0));
        }
        write_dat(dir.path(), "15.dat", &row(15, 0.0));
        let mut nan = row(16, 0.0);
        nan[5] = f32::NAN;
        write_dat(dir.path(), "07.dat", &nan);
        let opts = ReadOptions {
            dim: None,
            strict: true,
            prefer_dim: None,
        };
        for _ in 0..3 {
            let err = read_features(dir.path(), &opts).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("07.dat: value at index 5 is NaN"), "{msg}");
            let input = err.downcast_ref::<InputError>().unwrap();
            assert!(input.path.ends_with("07.dat"));
        }
        // Without strict, both are reported and the batch goes on.
        let l = read(dir.path());
        assert_eq!(l.set.len(), 18);
        assert_eq!(failure_names(&l), ["07.dat", "15.dat"]);
    }

    #[test]
    fn dim_inferred_by_majority_not_first_file() {
        let dir = tempfile::tempdir().unwrap();
        // `000` sorts first and is odd; the majority still decides.
        write_dat(dir.path(), "000.dat", &row(12, 0.0));
        for i in 1..4 {
            write_dat(dir.path(), &format!("{i:03}.dat"), &row(8, i as f32));
        }
        let l = read(dir.path());
        assert_eq!(l.set.dim, 8);
        assert_eq!(l.set.names, ["001", "002", "003"]);
        assert_eq!(failure_names(&l), ["000.dat"]);
        assert_eq!(l.failures[0].problem, "48 bytes, expected 32 (8 x f32)");
    }

    #[test]
    fn explicit_dim_overrides_majority() {
        let dir = tempfile::tempdir().unwrap();
        write_dat(dir.path(), "a.dat", &row(12, 0.0));
        write_dat(dir.path(), "b.dat", &row(8, 0.0));
        write_dat(dir.path(), "c.dat", &row(8, 0.0));
        let opts = ReadOptions {
            dim: Some(12),
            strict: false,
            prefer_dim: None,
        };
        let l = read_features(dir.path(), &opts).unwrap();
        assert_eq!(l.set.names, ["a"]);
        assert_eq!(l.set.dim, 12);
        assert_eq!(failure_names(&l), ["b.dat", "c.dat"]);
        assert_eq!(l.failures[0].problem, "32 bytes, expected 48 (12 x f32)");
    }

    #[test]
    fn a_preferred_dim_wins_when_some_file_has_it() {
        let dir = tempfile::tempdir().unwrap();
        write_dat(dir.path(), "a.dat", &row(12, 0.0));
        write_dat(dir.path(), "b.dat", &row(8, 0.0));
        write_dat(dir.path(), "c.dat", &row(8, 0.0));
        std::fs::write(dir.path().join("d.dat"), b"").unwrap();
        std::fs::write(dir.path().join("e.dat"), b"").unwrap();
        std::fs::write(dir.path().join("f.dat"), b"").unwrap();
        let prefer = |d| ReadOptions {
            prefer_dim: Some(d),
            ..ReadOptions::default()
        };
        // The preferred size is a minority, and the majority is not even whole floats.
        let l = read_features(dir.path(), &prefer(12)).unwrap();
        assert_eq!(
            (l.set.dim, l.set.names.clone()),
            (12, vec!["a".to_string()])
        );
        assert_eq!(
            failure_names(&l),
            ["b.dat", "c.dat", "d.dat", "e.dat", "f.dat"]
        );
        // No file has the preferred size: the most common one decides, as without a preference.
        std::fs::remove_file(dir.path().join("f.dat")).unwrap();
        std::fs::remove_file(dir.path().join("e.dat")).unwrap();
        let l = read_features(dir.path(), &prefer(5)).unwrap();
        assert_eq!(l.set.dim, 8);
        assert_eq!(failure_names(&l), ["a.dat", "d.dat"]);
    }

    #[test]
    fn majority_size_that_is_not_whole_floats_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.dat"), [0u8; 6]).unwrap();
        std::fs::write(dir.path().join("b.dat"), [0u8; 6]).unwrap();
        write_dat(dir.path(), "c.dat", &row(8, 0.0));
        let err = read_features(dir.path(), &ReadOptions::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("6 bytes (2 of 3 files)"), "{msg}");
        assert!(msg.contains(&dir.path().display().to_string()), "{msg}");

        let empty = tempfile::tempdir().unwrap();
        std::fs::write(empty.path().join("a.dat"), b"").unwrap();
        let err = read_features(empty.path(), &ReadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("is 0 bytes"), "{err}");
    }

    #[test]
    fn zero_dim_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        write_dat(dir.path(), "a.dat", &row(8, 0.0));
        let opts = ReadOptions {
            dim: Some(0),
            strict: false,
            prefer_dim: None,
        };
        let err = read_features(dir.path(), &opts).unwrap_err();
        assert!(err.to_string().contains("at least 1"), "{err}");
    }

    #[test]
    fn empty_and_missing_inputs_are_errors_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_features(dir.path(), &ReadOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("no .dat files in {}", dir.path().display())
        );

        let missing = dir.path().join("missing");
        let err = read_features(&missing, &ReadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("missing: no such file"), "{err}");

        let txt = dir.path().join("notes.txt");
        std::fs::write(&txt, b"hi").unwrap();
        let err = read_features(&txt, &ReadOptions::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("notes.txt: not a directory of .dat files or a .npy file"),
            "{err}"
        );
    }

    #[test]
    fn other_files_and_subdirectories_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        write_dat(dir.path(), "a.dat", &row(4, 0.0));
        std::fs::write(dir.path().join(".a.dat.tmp-123"), b"partial").unwrap();
        std::fs::write(dir.path().join("b.dat.tmp"), b"partial").unwrap();
        std::fs::write(dir.path().join(".hidden.dat"), b"junk").unwrap();
        std::fs::write(dir.path().join("c.DAT"), b"junk").unwrap();
        std::fs::write(dir.path().join("c.txt"), b"junk").unwrap();
        std::fs::write(dir.path().join("dat"), b"junk").unwrap();
        std::fs::create_dir(dir.path().join("sub.dat")).unwrap();
        write_dat(&dir.path().join("sub.dat"), "x.dat", &row(4, 0.0));
        let l = read(dir.path());
        assert_eq!(l.set.names, ["a"]);
        assert!(l.failures.is_empty(), "{:?}", l.failures);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_followed_and_dangling_ones_reported() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        write_dat(other.path(), "target.bin", &row(4, 5.0));
        write_dat(dir.path(), "a.dat", &row(4, 0.0));
        std::os::unix::fs::symlink(other.path().join("target.bin"), dir.path().join("b.dat"))
            .unwrap();
        std::os::unix::fs::symlink(other.path().join("gone"), dir.path().join("c.dat")).unwrap();
        std::os::unix::fs::symlink(other.path(), dir.path().join("d.dat")).unwrap();
        let l = read(dir.path());
        assert_eq!(l.set.names, ["a", "b"]);
        assert_eq!(l.set.row(1), row(4, 5.0));
        assert_eq!(failure_names(&l), ["c.dat"]);
        assert!(
            l.failures[0].problem.starts_with("cannot read: "),
            "{}",
            l.failures[0]
        );
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_name_is_reported_and_skipped() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        write_dat(dir.path(), "a.dat", &row(4, 0.0));
        let bad = OsStr::from_bytes(b"b\xff.dat");
        let bytes: Vec<u8> = row(4, 0.0).iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(dir.path().join(bad), bytes).unwrap();
        write_dat(dir.path(), "c.dat", &row(4, 0.0));
        let l = read(dir.path());
        assert_eq!(l.set.names, ["a", "c"]);
        assert_eq!(l.failures.len(), 1);
        assert_eq!(l.failures[0].path, dir.path().join(bad));
        assert_eq!(l.failures[0].problem, "file name is not valid UTF-8");
        let strict = ReadOptions {
            dim: None,
            strict: true,
            prefer_dim: None,
        };
        let err = read_features(dir.path(), &strict).unwrap_err();
        assert!(err.to_string().contains("not valid UTF-8"), "{err}");
    }

    #[test]
    fn all_files_bad_gives_empty_set_not_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut nan = row(4, 0.0);
        nan[0] = f32::NAN;
        write_dat(dir.path(), "a.dat", &nan);
        let l = read(dir.path());
        assert!(l.set.is_empty());
        assert_eq!(l.set.dim, 4);
        assert_eq!(l.failures.len(), 1);
    }

    /// Throughput of the directory reader. Run with
    /// `cargo test -p codec-host --release io::features::tests::read_throughput -- --ignored --nocapture`
    /// (`NAICFC_BENCH_FILES` and `NAICFC_BENCH_DIR` override the count and the location).
    #[test]
    #[ignore = "benchmark: writes 50,000 files"]
    fn read_throughput() {
        let n: usize = std::env::var("NAICFC_BENCH_FILES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(50_000);
        let base = std::env::var_os("NAICFC_BENCH_DIR").map(PathBuf::from);
        let tmp = match &base {
            Some(b) => tempfile::tempdir_in(b).unwrap(),
            None => tempfile::tempdir().unwrap(),
        };
        let dim = 2048;
        let set = FeatureSet {
            names: (0..n).map(|i| format!("{i:06}")).collect(),
            dim,
            data: (0..n * dim).map(|i| (i % 1000) as f32 * 1e-3).collect(),
        };
        let t = std::time::Instant::now();
        let failures = crate::io::atomic::write_rows_dat(tmp.path(), &set).unwrap();
        assert!(failures.is_empty());
        let write_s = t.elapsed().as_secs_f64();
        eprintln!(
            "write: {n} files in {write_s:.2} s = {:.0} files/s",
            n as f64 / write_s
        );
        // The first read warms the page cache (the writes mostly did already).
        for (label, dim) in [
            ("warm-up", None),
            ("inferred dim", None),
            ("given dim", Some(dim)),
        ] {
            let opts = ReadOptions {
                dim,
                strict: true,
                prefer_dim: None,
            };
            let t = std::time::Instant::now();
            let l = read_features(tmp.path(), &opts).unwrap();
            let s = t.elapsed().as_secs_f64();
            assert_eq!(l.set, set);
            eprintln!(
                "read ({label}): {n} files in {s:.3} s = {:.0} files/s",
                n as f64 / s
            );
        }
    }
}
