//! Checks on where a command is about to write, made before any work is done.
//!
//! The atomic writer ([`super::atomic`]) replaces whatever is at an output path, so an output
//! that is also an input would silently destroy that input (features turned into codes, a model
//! overwritten by its own C header). Every command with an output therefore declares its inputs
//! and outputs and calls [`check_outputs`] first. Paths are compared after resolving symbolic
//! links, `.` and `..`, so `./C/`, `C` and a link to `C` are one place; an output that does not
//! exist yet is resolved through its nearest existing ancestor.
//!
//! A refusal is a "cannot proceed" error (exit status 3, like an unwritable output), not a
//! usage error: whether two paths are one place depends on the file system, not on the
//! command line alone.

use super::atomic::{Target, resolve_target};
use super::is_npy;
use super::npy_names::names_path;
use anyhow::{Context, Result, bail};
use std::path::{Component, Path, PathBuf};

/// A path a command reads or writes, with the flag that named it (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The flag, such as `--in`.
    pub flag: &'static str,
    /// The path as given.
    pub path: PathBuf,
}

impl Place {
    /// `path`, named by `flag`.
    pub fn new(flag: &'static str, path: impl Into<PathBuf>) -> Self {
        Place {
            flag,
            path: path.into(),
        }
    }

    /// Features at `path` (a directory of `.dat` files or a `.npy` file): for a `.npy`, its
    /// names file too, which is read and written along with it.
    pub fn features(flag: &'static str, path: &Path) -> Vec<Place> {
        let mut places = vec![Place::new(flag, path)];
        if is_npy(path) {
            places.push(Place::new(flag, names_path(path)));
        }
        places
    }

    /// Optional inputs, such as `--labels`.
    pub fn optional(flag: &'static str, path: Option<&Path>) -> Vec<Place> {
        path.map(|p| Place::new(flag, p)).into_iter().collect()
    }
}

/// Refuse to start when an output is one of the inputs, or lies inside an input directory
/// (writing there would add to, or replace, the files being read). An output directory may
/// hold inputs further down: outputs are written into it, not into its subdirectories.
///
/// The error names the output, both flags and the input.
pub fn check_outputs(outputs: &[Place], inputs: &[Place]) -> Result<()> {
    let inputs: Vec<(&Place, PathBuf, bool)> = inputs
        .iter()
        .map(|i| (i, resolved(&i.path), i.path.is_dir()))
        .collect();
    for out in outputs {
        let o = output_place(&out.path);
        for (input, i, is_dir) in &inputs {
            let what = if o == *i {
                "is the input"
            } else if *is_dir && o.starts_with(i) {
                "is inside the input directory"
            } else {
                continue;
            };
            bail!(
                "{}: {} {what} {} {}; refusing to overwrite an input, choose another output",
                out.path.display(),
                out.flag,
                input.flag,
                input.path.display()
            );
        }
    }
    Ok(())
}

/// Where the bytes of the output `path` really go: through symbolic links, as the atomic
/// writer does (a dangling link is followed to the file it would create).
fn output_place(path: &Path) -> PathBuf {
    match resolve_target(path) {
        Ok(Target::Replace(p) | Target::Direct(p)) => resolved(&p),
        Err(_) => resolved(path),
    }
}

/// `path` made absolute with its symbolic links resolved as far as it exists; the part that
/// does not exist yet follows with `.` and `..` taken lexically, which is how the directories
/// will be created.
fn resolved(path: &Path) -> PathBuf {
    let Ok(abs) = std::path::absolute(path) else {
        return path.to_path_buf();
    };
    let parts: Vec<Component<'_>> = abs.components().collect();
    for split in (1..=parts.len()).rev() {
        let head: PathBuf = parts[..split].iter().collect();
        if let Ok(mut base) = head.canonicalize() {
            for part in &parts[split..] {
                match part {
                    Component::Normal(name) => base.push(name),
                    Component::ParentDir => {
                        base.pop();
                    }
                    _ => {}
                }
            }
            return base;
        }
    }
    abs
}

/// Refuse, before any work, a file output that is an existing directory (or a link to one):
/// the rename that puts the file in place would fail only once the work is done.
pub fn check_file_outputs(outputs: &[Place]) -> Result<()> {
    for out in outputs {
        if out.path.is_dir() {
            bail!(
                "{}: {} is a directory; give a file name",
                out.path.display(),
                out.flag
            );
        }
    }
    Ok(())
}

/// Refuse an output directory that exists and holds anything: a command that lays out a whole
/// tree (`naicfc synth`) would replace some files and leave others stale beside them.
pub fn require_empty_dir(dir: &Path, flag: &str) -> Result<()> {
    refuse_non_empty(
        dir,
        flag,
        "give a new or empty directory (files already there would be replaced or left stale \
         beside the new ones)",
    )
}

/// Refuse `dir` if it exists and holds anything (or is not a directory), saying `remedy`.
fn refuse_non_empty(dir: &Path, flag: &str, remedy: &str) -> Result<()> {
    let mut entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if dir.exists() && !dir.is_dir() => {
            bail!("{}: {flag} is not a directory ({e})", dir.display())
        }
        Err(e) => bail!("{}: cannot list directory: {e}", dir.display()),
    };
    if entries.next().is_some() {
        bail!("{}: {flag} is not empty; {remedy}", dir.display());
    }
    Ok(())
}

/// Refuse `-` for an output that is more than one stream of bytes (a directory, a file with a
/// names file beside it): `-` means standard output only where one file is written, and a
/// file or directory named `-` would be a surprise nobody asked for. `what` says what the
/// command writes there, `instead` what to give.
pub fn refuse_stdout(path: &Path, flag: &str, what: &str, instead: &str) -> Result<()> {
    if super::atomic::is_stdout(path) {
        bail!("{flag} -: {what} cannot go to standard output; name {instead}");
    }
    Ok(())
}

/// Make ready an output directory of one file per vector (`encode`, `decode`): new or empty,
/// since codes or features of an earlier run left beside the new ones would be read with them
/// as if this run had written them. With `overwrite`, the `.dat` files and the order file
/// ([`super::order`]) already there are deleted first; other files stay (no command reads
/// them as vectors).
pub fn prepare_output_dir(dir: &Path, flag: &str, overwrite: bool) -> Result<()> {
    refuse_stdout(
        dir,
        flag,
        "one file per vector",
        "a directory (or a .npy file where one is accepted)",
    )?;
    let ours = |name: &std::ffi::OsStr| {
        Path::new(name).extension().is_some_and(|e| e == "dat")
            || name == super::order::ORDER_FILE
            || name == super::codes::IDENTITY_FILE
    };
    prepare_dir(
        dir,
        flag,
        overwrite.then_some(&ours as &dyn Fn(&std::ffi::OsStr) -> bool),
        "give a new or empty directory, or add --overwrite to replace the .dat files there \
         (files of an earlier run would be read with the new ones)",
    )
}

/// Make ready a directory that gets the fixed set of `files` (`eval --report`): new or empty,
/// so that a report is never mixed into a directory of other things, nor an old report's
/// files taken for this run's. With `overwrite`, those of `files` already there are deleted
/// first (a run that then fails leaves no earlier report behind) and other files stay.
pub fn prepare_files_dir(dir: &Path, flag: &str, overwrite: bool, files: &[&str]) -> Result<()> {
    refuse_stdout(dir, flag, "a directory of files", "a directory")?;
    let ours = |name: &std::ffi::OsStr| files.iter().any(|f| name == *f);
    prepare_dir(
        dir,
        flag,
        overwrite.then_some(&ours as &dyn Fn(&std::ffi::OsStr) -> bool),
        &format!(
            "give a new or empty directory, or add --overwrite to replace {} there",
            files.join(" and ")
        ),
    )
}

/// Refuse `dir` unless it is new or empty, saying `remedy`; with `clear`, delete instead the
/// files (not directories) in it whose names it accepts, and keep the rest.
fn prepare_dir(
    dir: &Path,
    flag: &str,
    clear: Option<&dyn Fn(&std::ffi::OsStr) -> bool>,
    remedy: &str,
) -> Result<()> {
    let Some(ours) = clear else {
        return refuse_non_empty(dir, flag, remedy);
    };
    if !dir.is_dir() {
        // New, or not a directory at all: creating it says which, by name.
        return refuse_non_empty(dir, flag, remedy);
    }
    let cannot = || format!("{}: cannot clear {flag}", dir.display());
    for entry in std::fs::read_dir(dir).with_context(cannot)? {
        let entry = entry.with_context(cannot)?;
        if ours(&entry.file_name()) && !entry.file_type().with_context(cannot)?.is_dir() {
            std::fs::remove_file(entry.path()).with_context(cannot)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(out: &Path, inputs: &[Place]) -> String {
        check_outputs(&[Place::new("--out", out)], inputs)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn an_output_that_is_an_input_is_refused_however_it_is_spelled() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("feat");
        std::fs::create_dir(&d).unwrap();
        let f = d.join("00000000.dat");
        std::fs::write(&f, b"1234").unwrap();
        let inputs = [Place::new("--in", &d)];
        for out in [
            d.clone(),
            d.join(""),
            d.join("."),
            d.join("sub/../"),
            dir.path().join("x/../feat"),
        ] {
            let err = refused(&out, &inputs);
            assert!(err.contains("--out is the input --in"), "{out:?}: {err}");
            assert!(err.contains(&d.display().to_string()), "{err}");
        }
        // Inside the input directory, existing or not.
        for out in [f.clone(), d.join("new.nfcm"), d.join("new/deeper")] {
            let err = refused(&out, &inputs);
            assert!(
                err.contains("is inside the input directory"),
                "{out:?}: {err}"
            );
        }
        // A file input and the same file as output.
        let err = refused(&f, &[Place::new("--model", &f)]);
        assert!(err.contains("--out is the input --model"), "{err}");

        // Beside the input, or above it, is fine.
        for out in [
            dir.path().join("codes"),
            dir.path().join("feat2"),
            dir.path().into(),
        ] {
            check_outputs(&[Place::new("--out", &out)], &inputs).unwrap();
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_are_resolved_on_both_sides() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("ql.txt");
        std::fs::write(&list, "a 1\n").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink("ql.txt", &link).unwrap();
        let err = refused(&link, &[Place::new("--query-list", &list)]);
        assert!(err.contains("is the input --query-list"), "{err}");
        let err = refused(&list, &[Place::new("--query-list", &link)]);
        assert!(err.contains("is the input --query-list"), "{err}");

        // A dangling link is followed to the file it would create.
        let d = dir.path().join("feat");
        std::fs::create_dir(&d).unwrap();
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink("feat/new.dat", &dangling).unwrap();
        let err = refused(&dangling, &[Place::new("--in", &d)]);
        assert!(err.contains("is inside the input directory"), "{err}");
    }

    #[test]
    fn a_npy_brings_its_names_file() {
        let places = Place::features("--in", Path::new("g.npy"));
        assert_eq!(places[1], Place::new("--in", "g.names.txt"));
        assert_eq!(Place::features("--in", Path::new("dir")).len(), 1);
    }

    #[test]
    fn output_directories_must_be_new_or_empty() {
        let dir = tempfile::tempdir().unwrap();
        require_empty_dir(&dir.path().join("new"), "--out").unwrap();
        require_empty_dir(dir.path(), "--out").unwrap();
        std::fs::write(dir.path().join("stale.dat"), b"").unwrap();
        let err = require_empty_dir(dir.path(), "--out")
            .unwrap_err()
            .to_string();
        assert!(err.contains("--out is not empty"), "{err}");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
        let err = require_empty_dir(&dir.path().join("stale.dat"), "--out")
            .unwrap_err()
            .to_string();
        assert!(err.contains("--out is not a directory"), "{err}");
    }

    #[test]
    fn standard_output_is_no_output_directory() {
        for overwrite in [false, true] {
            let err = prepare_output_dir(Path::new("-"), "--out", overwrite).unwrap_err();
            let err = format!("{err:#}");
            assert!(err.contains("cannot go to standard output"), "{err}");
        }
        assert!(!Path::new("-").exists());
    }

    #[test]
    fn a_report_directory_is_refused_unless_empty_or_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let rep = dir.path().join("rep");
        let files = ["report.json", "rate.svg"];
        prepare_files_dir(&rep, "--report", false, &files).unwrap();
        std::fs::create_dir(&rep).unwrap();
        prepare_files_dir(&rep, "--report", false, &files).unwrap();
        for f in ["report.json", "notes.md"] {
            std::fs::write(rep.join(f), b"x").unwrap();
        }
        let err = prepare_files_dir(&rep, "--report", false, &files)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--report is not empty"), "{err}");
        assert!(err.contains("--overwrite"), "{err}");
        assert!(rep.join("report.json").exists());
        prepare_files_dir(&rep, "--report", true, &files).unwrap();
        assert!(!rep.join("report.json").exists());
        assert!(rep.join("notes.md").exists());
        let err = prepare_files_dir(Path::new("-"), "--report", true, &files).unwrap_err();
        assert!(
            err.to_string().contains("cannot go to standard output"),
            "{err}"
        );
    }

    #[test]
    fn an_output_directory_is_refused_unless_empty_or_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("codes");
        prepare_output_dir(&out, "--out", false).unwrap();
        std::fs::create_dir(&out).unwrap();
        prepare_output_dir(&out, "--out", false).unwrap();
        for f in ["old.dat", "names.txt", "notes.md"] {
            std::fs::write(out.join(f), b"x").unwrap();
        }
        let err = prepare_output_dir(&out, "--out", false).unwrap_err();
        assert!(err.to_string().contains("--out is not empty"), "{err}");
        assert!(err.to_string().contains("--overwrite"), "{err}");
        prepare_output_dir(&out, "--out", true).unwrap();
        assert!(!out.join("old.dat").exists());
        assert!(!out.join("names.txt").exists());
        assert!(out.join("notes.md").exists());
    }
}
