//! The training input, read once a batch at a time: the statistics that need every vector
//! (mean, range, which dims vary) are accumulated, and an evenly spaced sample of at most
//! `max_rows` vectors is kept for everything else ([`super::train_on_sample`]). Memory is then
//! bounded by `max_rows`, whatever the size of the training set.

use super::pca::{Moments, MomentsAcc};
use crate::io::lists::{no_feature_file, not_listed};
use crate::io::{FeatureInput, FeatureSet, InputError, ListEntry, ReadOptions, read_list};
use anyhow::{Result, bail};
use std::collections::HashMap;
use std::path::Path;

/// What training needs from its input.
pub struct TrainingInput {
    /// The kept vectors, in input order.
    pub sample: FeatureSet,
    /// Their identities, when a list was given.
    pub labels: Option<Vec<i64>>,
    /// Moments of every usable vector (listed, when a list was given).
    pub moments: Moments,
    /// Usable vectors in all.
    pub rows: usize,
    /// Inputs left out, each with its reason: unreadable or non-finite files, files the list
    /// does not name, list entries without a file.
    pub failures: Vec<InputError>,
}

/// Read the training features at `path` (a directory of `.dat` files or a `.npy`), matched to
/// the identity list at `list` when given, keeping at most `max_rows` of them.
///
/// Rows are kept at the evenly spaced positions `i * n / max_rows` among the `n` usable rows
/// expected (the input's rows, or the list's entries if fewer; all of them when `n <=
/// max_rows`); when fewer rows turn out usable, the last positions are never reached. With
/// `opts.strict` the first unreadable input is an `Err`; list mismatches are returned in
/// `failures` for the caller to judge.
pub fn read_training_input(
    path: &Path,
    list: Option<&Path>,
    opts: &ReadOptions,
    max_rows: usize,
    batch_rows: usize,
) -> Result<TrainingInput> {
    if max_rows < 2 {
        bail!("--max-rows must be at least 2");
    }
    let entries: Option<Vec<ListEntry>> = list.map(read_list).transpose()?;
    let by_stem: HashMap<&str, usize> = entries
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, e)| (e.stem.as_str(), i))
        .collect();
    let mut seen = vec![false; entries.as_ref().map_or(0, Vec::len)];

    let input = FeatureInput::open(path, opts)?;
    // Usable rows to expect: a list may name only some of the files.
    let n = match &entries {
        Some(e) => input.rows().min(e.len()),
        None => input.rows(),
    };
    let mut picks = sample_positions(n, max_rows).peekable();
    let mut position = 0usize;
    let mut acc: Option<MomentsAcc> = None;
    let mut sample = FeatureSet::default();
    let mut labels = Vec::new();
    let mut failures = Vec::new();
    let job = crate::progress::job(input.rows() as u64, "reading");
    input.for_each_batch(batch_rows, |loaded| {
        job.advance(loaded.inputs());
        failures.extend(loaded.failures);
        let set = loaded.set;
        sample.dim = set.dim;
        let acc = acc.get_or_insert_with(|| MomentsAcc::new(set.dim));
        for (name, row) in set.names.iter().zip(set.rows()) {
            let label = match (&entries, list) {
                (Some(entries), Some(list)) => match by_stem.get(name.as_str()) {
                    Some(&e) => {
                        seen[e] = true;
                        Some(entries[e].id)
                    }
                    None => {
                        failures.push(not_listed(path, list, name));
                        continue;
                    }
                },
                _ => None,
            };
            acc.add(row);
            if picks.next_if_eq(&position).is_some() {
                sample.names.push(name.clone());
                sample.data.extend_from_slice(row);
                labels.extend(label);
            }
            position += 1;
        }
        Ok(())
    })?;
    drop(job);
    if let (Some(entries), Some(list)) = (&entries, list) {
        // A rejected file is already reported: its list entry is not "missing" as well.
        let rejected = crate::io::rejected_row_names(path, &failures);
        for (e, _) in entries.iter().zip(&seen).filter(|(_, s)| !**s) {
            if !rejected.contains(&e.stem) {
                failures.push(no_feature_file(list, e));
            }
        }
    }
    let acc = acc.unwrap_or_else(|| MomentsAcc::new(sample.dim));
    Ok(TrainingInput {
        rows: acc.rows(),
        moments: acc.finish(),
        labels: entries.map(|_| labels),
        sample,
        failures,
    })
}

/// The positions kept as the sample of `n` usable rows: `i * n / max_rows`, evenly spaced
/// (all of them when `n <= max_rows`).
fn sample_positions(n: usize, max_rows: usize) -> impl Iterator<Item = usize> {
    let kept = max_rows.min(n);
    (0..kept).map(move |i| i * n / kept)
}

/// The training input of a set already in memory (the Python package's), kept as
/// [`read_training_input`] keeps a file's: the moments of every row, and the rows at the same
/// evenly spaced positions as the sample, so that both train the same model from the same rows.
pub fn from_memory(
    set: &FeatureSet,
    labels: Option<&[i64]>,
    max_rows: usize,
) -> Result<TrainingInput> {
    if max_rows < 2 {
        bail!("--max-rows must be at least 2");
    }
    if let Some(l) = labels {
        if l.len() != set.len() {
            bail!("{} labels for {} vectors", l.len(), set.len());
        }
    }
    let mut acc = MomentsAcc::new(set.dim);
    for row in set.rows() {
        acc.add(row);
    }
    let mut sample = FeatureSet {
        dim: set.dim,
        ..FeatureSet::default()
    };
    let mut kept_labels = Vec::new();
    for i in sample_positions(set.len(), max_rows) {
        sample.names.push(set.names[i].clone());
        sample.data.extend_from_slice(set.row(i));
        kept_labels.extend(labels.map(|l| l[i]));
    }
    Ok(TrainingInput {
        rows: acc.rows(),
        moments: acc.finish(),
        labels: labels.map(|_| kept_labels),
        sample,
        failures: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::atomic::write_rows_dat;
    use crate::train::pca::moments;

    /// 30 rows of 4 values in `dir/f`, named `r00` .. `r29`, identity `i / 3`.
    fn input(dir: &Path) -> (FeatureSet, std::path::PathBuf) {
        let set = FeatureSet {
            names: (0..30).map(|i| format!("r{i:02}")).collect(),
            dim: 4,
            data: (0..120).map(|v| ((v * 37) % 23) as f32 - 11.0).collect(),
        };
        write_rows_dat(&dir.join("f"), &set).unwrap();
        let list: String = (0..30)
            .map(|i| format!("r{i:02}.png {}\n", i / 3))
            .collect();
        std::fs::write(dir.join("list.txt"), list).unwrap();
        (set, dir.join("f"))
    }

    fn read(path: &Path, list: Option<&Path>, max_rows: usize, batch: usize) -> TrainingInput {
        read_training_input(path, list, &ReadOptions::default(), max_rows, batch).unwrap()
    }

    #[test]
    fn a_rejected_listed_file_is_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let (_, path) = input(dir.path());
        std::fs::write(path.join("r07.dat"), [0u8; 12]).unwrap();
        let got = read(&path, Some(&dir.path().join("list.txt")), 100, 7);
        let shown: Vec<String> = got.failures.iter().map(|f| f.to_string()).collect();
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(shown[0].contains("r07.dat: 12 bytes"), "{shown:?}");
        assert_eq!(got.rows, 29);
    }

    #[test]
    fn a_rejected_row_of_a_named_array_is_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let (mut set, _) = input(dir.path());
        set.data[7 * 4 + 2] = f32::NAN;
        // Names that are not their index: the row's identity must not be read back from text.
        let npy = dir.path().join("v.npy");
        let mut w =
            crate::io::npy::NpyWriter::create(&npy, crate::io::NpyDtype::F32, 4, 30).unwrap();
        w.write(&set).unwrap();
        w.finish().unwrap();
        for batch in [4, 100] {
            let got = read(&npy, Some(&dir.path().join("list.txt")), 100, batch);
            let shown: Vec<String> = got.failures.iter().map(|f| f.to_string()).collect();
            assert_eq!(shown.len(), 1, "{shown:?}");
            assert!(
                shown[0].contains("v.npy[row 7, r07]: value at index 2 is NaN"),
                "{shown:?}"
            );
            let row = got.failures[0].row.as_ref().unwrap();
            assert_eq!((row.index, row.name.as_str()), (7, "r07"));
            assert_eq!(got.rows, 29);
        }
    }

    #[test]
    fn a_small_set_is_kept_whole_whatever_the_batch_size() {
        let dir = tempfile::tempdir().unwrap();
        let (set, path) = input(dir.path());
        let list = dir.path().join("list.txt");
        for batch in [1, 7, 1000] {
            let t = read(&path, Some(&list), 100, batch);
            assert_eq!(t.sample, set);
            assert_eq!(t.rows, 30);
            assert_eq!(t.labels, Some((0..30).map(|i| i / 3).collect()));
            assert_eq!(t.moments.mean, moments(&set).mean);
            assert!(t.failures.is_empty());
        }
    }

    #[test]
    fn a_large_set_keeps_an_even_sample_and_the_moments_of_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let (set, path) = input(dir.path());
        let t = read(&path, None, 8, 4);
        let kept: Vec<usize> = (0..8).map(|i| i * 30 / 8).collect();
        let names: Vec<String> = kept.iter().map(|&i| set.names[i].clone()).collect();
        assert_eq!(t.sample.names, names);
        assert_eq!(t.sample.row(3), set.row(kept[3]));
        assert_eq!(t.rows, 30);
        assert_eq!(t.labels, None);
        let all = moments(&set);
        assert_eq!(t.moments.mean, all.mean);
        assert_eq!((t.moments.min, t.moments.max), (all.min, all.max));
        match read_training_input(&path, None, &ReadOptions::default(), 1, 4) {
            Err(e) => assert!(e.to_string().contains("at least 2"), "{e}"),
            Ok(_) => panic!("a sample of one vector cannot train"),
        }
    }

    #[test]
    fn list_mismatches_are_reported_and_unlisted_rows_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let (set, path) = input(dir.path());
        let list = dir.path().join("list.txt");
        // Drop r05 from the list, name a file that does not exist.
        let text = std::fs::read_to_string(&list).unwrap();
        let text = text.replace("r05.png 1\n", "") + "ghost.png 99\n";
        std::fs::write(&list, text).unwrap();
        let t = read(&path, Some(&list), 100, 4);
        assert_eq!(t.rows, 29);
        assert!(!t.sample.names.contains(&"r05".to_string()));
        assert_eq!(t.labels.as_ref().map(Vec::len), Some(29));
        let shown: Vec<String> = t.failures.iter().map(|f| f.to_string()).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(shown[0].contains("r05.dat: not listed in"), "{shown:?}");
        assert!(
            shown[1].contains("line 30: `ghost.png` has no feature file `ghost.dat`"),
            "{shown:?}"
        );
        let mut listed = set.clone();
        listed.retain_rows(|r| r != 5);
        assert_eq!(t.moments.mean, moments(&listed).mean);
    }

    #[test]
    fn a_set_in_memory_keeps_the_sample_a_file_keeps() {
        let dir = tempfile::tempdir().unwrap();
        let (set, path) = input(dir.path());
        let list = dir.path().join("list.txt");
        let ids: Vec<i64> = (0..30).map(|i| i / 3).collect();
        for max_rows in [8, 100] {
            let file = read(&path, Some(&list), max_rows, 4);
            let memory = from_memory(&set, Some(&ids), max_rows).unwrap();
            assert_eq!(memory.sample, file.sample);
            assert_eq!(memory.labels, file.labels);
            assert_eq!(memory.rows, file.rows);
            assert_eq!(memory.moments.mean, file.moments.mean);
            assert_eq!(memory.moments.active, file.moments.active);
        }
        assert!(from_memory(&set, Some(&ids[..3]), 8).is_err());
        assert!(from_memory(&set, None, 1).is_err());
    }
}
