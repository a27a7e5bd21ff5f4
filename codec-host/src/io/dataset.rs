//! The on-disk dataset layout shared by users' data and the synthetic generator:
//!
//! ```text
//! DATA/train/train_feature/<name>.dat    DATA/train/train_list.txt   (<name> <id> [camid])
//! DATA/query_feature/<name>.dat          DATA/query_list.txt
//! DATA/gallery_feature/<name>.dat        DATA/gallery_list.txt
//! ```

use super::InputError;
use super::features::read_features;
use super::lists::{match_list, not_listed, read_list};
use super::matrix::{FeatureSet, ReadOptions};
use anyhow::{Context, Result};
use std::path::PathBuf;

/// One of the three parts of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// Labelled vectors for training the codec.
    Train,
    /// Probes of the retrieval evaluation.
    Query,
    /// Candidates the queries are searched against.
    Gallery,
}

impl Split {
    /// All splits, in the order above.
    pub const ALL: [Split; 3] = [Split::Train, Split::Query, Split::Gallery];

    /// Lower-case name, as used in paths and messages (`train`, `query`, `gallery`).
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Query => "query",
            Split::Gallery => "gallery",
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A dataset directory in the layout of the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// The `DATA` directory.
    pub root: PathBuf,
}

/// The features of one split, with labels and cameras when the split has a list.
#[derive(Debug, Default)]
pub struct SplitData {
    /// Rows sorted by name. With a list, only rows the list names (and that read cleanly).
    pub features: FeatureSet,
    /// Identity of each row; `None` when the split has no list file.
    pub labels: Option<Vec<i64>>,
    /// Camera of each row; `None` when there is no list or it has no camera column.
    pub cams: Option<Vec<i64>>,
    /// Everything left out: bad feature files, then list entries without a feature file (path:
    /// the list), then feature files the list does not name (path: the feature file).
    pub failures: Vec<InputError>,
}

impl Dataset {
    /// The dataset rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Dataset { root: root.into() }
    }

    /// `DATA/train/train_feature`.
    pub fn train_features(&self) -> PathBuf {
        self.root.join("train").join("train_feature")
    }

    /// `DATA/train/train_list.txt`.
    pub fn train_list(&self) -> PathBuf {
        self.root.join("train").join("train_list.txt")
    }

    /// `DATA/query_feature`.
    pub fn query_features(&self) -> PathBuf {
        self.root.join("query_feature")
    }

    /// `DATA/query_list.txt`.
    pub fn query_list(&self) -> PathBuf {
        self.root.join("query_list.txt")
    }

    /// `DATA/gallery_feature`.
    pub fn gallery_features(&self) -> PathBuf {
        self.root.join("gallery_feature")
    }

    /// `DATA/gallery_list.txt`.
    pub fn gallery_list(&self) -> PathBuf {
        self.root.join("gallery_list.txt")
    }

    /// The feature directory of `split`.
    pub fn features_dir(&self, split: Split) -> PathBuf {
        match split {
            Split::Train => self.train_features(),
            Split::Query => self.query_features(),
            Split::Gallery => self.gallery_features(),
        }
    }

    /// The list file of `split`.
    pub fn list_path(&self, split: Split) -> PathBuf {
        match split {
            Split::Train => self.train_list(),
            Split::Query => self.query_list(),
            Split::Gallery => self.gallery_list(),
        }
    }

    /// The list file of `split` if it exists (a dataset may come without lists).
    pub fn existing_list(&self, split: Split) -> Result<Option<PathBuf>> {
        let list = self.list_path(split);
        match std::fs::metadata(&list) {
            Ok(_) => Ok(Some(list)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => anyhow::bail!("{}: cannot access: {e}", list.display()),
        }
    }

    /// Read the features of `split` and, when its list file exists, match the list to them.
    ///
    /// Without a list every row that reads cleanly is kept and `labels`/`cams` are `None`. With
    /// one, a row is kept only if the list names it, and list entries without a feature file
    /// and feature files missing from the list are reported in [`SplitData::failures`] (with
    /// `opts.strict`, the first of them is an `Err`). Errors about the whole split (no feature
    /// directory, an unreadable or malformed list) are `Err` naming the path.
    pub fn load_split(&self, split: Split, opts: &ReadOptions) -> Result<SplitData> {
        let dir = self.features_dir(split);
        let loaded =
            read_features(&dir, opts).with_context(|| format!("loading the {split} split"))?;
        let Some(list) = self.existing_list(split)? else {
            return Ok(SplitData {
                features: loaded.set,
                labels: None,
                cams: None,
                failures: loaded.failures,
            });
        };
        let entries = read_list(&list)?;
        let mut set = loaded.set;
        let m = match_list(&list, &entries, &set);
        let mut failures = loaded.failures;
        let first_list_failure = failures.len();
        // A rejected file is already reported: its list entry is not "missing" as well.
        let rejected = super::rejected_row_names(&dir, &failures);
        let entries_without_row = entries
            .iter()
            .zip(&m.rows)
            .filter(|(_, row)| row.is_none())
            .map(|(e, _)| e);
        failures.extend(
            m.missing
                .iter()
                .zip(entries_without_row)
                .filter(|(_, e)| !rejected.contains(&e.stem))
                .map(|(f, _)| f.clone()),
        );
        failures.extend(
            m.unlisted
                .iter()
                .map(|&r| not_listed(&dir, &list, &set.names[r])),
        );
        if opts.strict {
            if let Some(first) = failures.get(first_list_failure) {
                return Err(first.clone().into());
            }
        }

        let entry_of_row = m.entry_of_rows(set.len());
        let listed: Vec<&super::lists::ListEntry> = entry_of_row
            .iter()
            .filter_map(|e| e.and_then(|e| entries.get(e)))
            .collect();
        let labels = listed.iter().map(|e| e.id).collect();
        // `read_list` guarantees cameras on every line or on none.
        let cams = listed.iter().map(|e| e.cam).collect::<Option<Vec<i64>>>();
        let cams = cams.filter(|_| entries.first().is_some_and(|e| e.cam.is_some()));
        set.retain_rows(|r| entry_of_row[r].is_some());
        Ok(SplitData {
            features: set,
            labels: Some(labels),
            cams,
            failures,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::atomic::write_rows_dat;
    use std::path::Path;

    fn features(names: &[&str], dim: usize) -> FeatureSet {
        FeatureSet {
            names: names.iter().map(|s| s.to_string()).collect(),
            dim,
            data: (0..names.len() * dim).map(|i| i as f32).collect(),
        }
    }

    #[test]
    fn paths_follow_the_layout() {
        let d = Dataset::new("/data");
        assert_eq!(d.train_features(), Path::new("/data/train/train_feature"));
        assert_eq!(d.train_list(), Path::new("/data/train/train_list.txt"));
        assert_eq!(d.query_features(), Path::new("/data/query_feature"));
        assert_eq!(d.query_list(), Path::new("/data/query_list.txt"));
        assert_eq!(d.gallery_features(), Path::new("/data/gallery_feature"));
        assert_eq!(d.gallery_list(), Path::new("/data/gallery_list.txt"));
        for s in Split::ALL {
            assert!(d.features_dir(s).to_string_lossy().contains(s.name()));
            assert!(d.list_path(s).to_string_lossy().contains(s.name()));
        }
    }

    #[test]
    fn split_with_list_gets_labels_and_cameras_per_row() {
        let tmp = tempfile::tempdir().unwrap();
        let d = Dataset::new(tmp.path());
        let set = features(&["00001", "00002", "00003"], 4);
        assert!(
            write_rows_dat(&d.query_features(), &set)
                .unwrap()
                .is_empty()
        );
        // List order differs from row order; 00002 is not listed; 00009 has no features.
        std::fs::write(
            d.query_list(),
            "00003.png 30 3\n00001.png 10 1\n00009.png 90 9\n",
        )
        .unwrap();
        let s = d.load_split(Split::Query, &ReadOptions::default()).unwrap();
        assert_eq!(s.features.names, ["00001", "00003"]);
        assert_eq!(s.features.row(1), set.row(2));
        assert_eq!(s.labels, Some(vec![10, 30]));
        assert_eq!(s.cams, Some(vec![1, 3]));
        let shown: Vec<String> = s.failures.iter().map(|f| f.to_string()).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(
            shown[0].contains("query_list.txt: line 3: `00009.png`"),
            "{shown:?}"
        );
        assert!(shown[1].contains("00002.dat: not listed in"), "{shown:?}");

        let strict = ReadOptions {
            dim: None,
            strict: true,
            prefer_dim: None,
        };
        let err = d.load_split(Split::Query, &strict).unwrap_err().to_string();
        assert!(err.contains("00009.png"), "{err}");
    }

    #[test]
    fn a_rejected_file_is_reported_once_not_also_as_missing_from_the_list() {
        let tmp = tempfile::tempdir().unwrap();
        let d = Dataset::new(tmp.path());
        let mut set = features(&["00001", "00002", "00003"], 4);
        set.data[5] = f32::NAN;
        write_rows_dat(&d.query_features(), &set).unwrap();
        std::fs::write(d.query_list(), "00001.png 1\n00002.png 2\n00003.png 3\n").unwrap();
        let s = d.load_split(Split::Query, &ReadOptions::default()).unwrap();
        assert_eq!(s.features.names, ["00001", "00003"]);
        let shown: Vec<String> = s.failures.iter().map(|f| f.to_string()).collect();
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(
            shown[0].contains("00002.dat: value at index 1 is NaN"),
            "{shown:?}"
        );
    }

    #[test]
    fn split_without_list_or_cameras() {
        let tmp = tempfile::tempdir().unwrap();
        let d = Dataset::new(tmp.path());
        let set = features(&["a", "b"], 2);
        write_rows_dat(&d.train_features(), &set).unwrap();
        let s = d.load_split(Split::Train, &ReadOptions::default()).unwrap();
        assert_eq!(s.features, set);
        assert_eq!(s.labels, None);
        assert_eq!(s.cams, None);

        std::fs::write(d.train_list(), "a.jpg 1\nb.jpg 2\n").unwrap();
        let s = d.load_split(Split::Train, &ReadOptions::default()).unwrap();
        assert_eq!(s.features, set);
        assert_eq!(s.labels, Some(vec![1, 2]));
        assert_eq!(s.cams, None);
        assert!(s.failures.is_empty());
    }

    #[test]
    fn missing_split_names_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let d = Dataset::new(tmp.path());
        let err = d
            .load_split(Split::Gallery, &ReadOptions::default())
            .unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("gallery_feature: no such file"), "{msg}");
        assert!(msg.contains("gallery split"), "{msg}");
    }

    #[test]
    fn duplicate_in_list_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let d = Dataset::new(tmp.path());
        write_rows_dat(&d.gallery_features(), &features(&["a"], 2)).unwrap();
        std::fs::write(d.gallery_list(), "a.png 1\na.jpg 1\n").unwrap();
        let err = d
            .load_split(Split::Gallery, &ReadOptions::default())
            .unwrap_err();
        assert!(err.to_string().contains("duplicate name"), "{err}");
    }
}
