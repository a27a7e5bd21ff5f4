//! Laying out a whole synthetic dataset on disk in the competition's directory structure.

use super::latent::Image;
use super::{Kind, generator};
use crate::io::FeatureSet;
use crate::io::atomic::write_rows_dat;
use crate::rng::Rng;
use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Most vectors (and identities) in one split: ten times the largest preset's splits and some,
/// far beyond any disk's worth of `.dat` files, but small enough that the per-image records
/// fit in memory instead of aborting the allocation.
pub const MAX_SPLIT: usize = 100_000_000;

/// Most cameras (each has its own latent offset).
pub const MAX_CAMERAS: usize = 10_000;

/// Sizes and shape of a synthetic dataset.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SynthConfig {
    /// Feature family.
    pub kind: Kind,
    /// Values per vector.
    pub dim: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Identities in the training split.
    pub train_identities: usize,
    /// Training vectors (spread evenly over the training identities).
    pub train: usize,
    /// Identities in the query/gallery split (disjoint from the training identities).
    pub test_identities: usize,
    /// Query vectors.
    pub queries: usize,
    /// Gallery vectors.
    pub gallery: usize,
    /// Cameras.
    pub cameras: usize,
}

impl SynthConfig {
    /// Default sizes: about 2,000 identities, 20k train, 2k query, 20k gallery.
    pub fn default_sizes(kind: Kind, dim: usize, seed: u64) -> Self {
        SynthConfig {
            kind,
            dim,
            seed,
            train_identities: 1000,
            train: 20_000,
            test_identities: 1000,
            queries: 2000,
            gallery: 20_000,
            cameras: 6,
        }
    }

    /// The competition's sizes (test A): 259,450 train over ~15,000 identities, 20,000 queries,
    /// 428,794 gallery.
    pub fn competition(kind: Kind, dim: usize, seed: u64) -> Self {
        SynthConfig {
            train_identities: 15_000,
            train: 259_450,
            test_identities: 10_000,
            queries: 20_000,
            gallery: 428_794,
            ..Self::default_sizes(kind, dim, seed)
        }
    }

    fn check(&self) -> Result<()> {
        for (what, n) in [
            ("training vectors", self.train),
            ("queries", self.queries),
            ("gallery vectors", self.gallery),
        ] {
            if n > MAX_SPLIT {
                bail!("{n} {what}: at most {MAX_SPLIT} per split");
            }
        }
        if self.cameras > MAX_CAMERAS {
            bail!("--cameras must be at most {MAX_CAMERAS}");
        }
        if !(1..=codec_core::internals::MAX_DIM).contains(&self.dim) {
            bail!(
                "--dim must be between 1 and {} (the most a model can code)",
                codec_core::internals::MAX_DIM
            );
        }
        if self.cameras == 0 {
            bail!("--cameras must be at least 1");
        }
        if self.train > 0 && self.train_identities == 0 {
            bail!("training vectors need at least one training identity");
        }
        if self.queries.saturating_add(self.gallery) > 0 && self.test_identities == 0 {
            bail!("query/gallery vectors need at least one test identity");
        }
        if self.queries > 0 && self.gallery < self.test_identities.min(self.queries) {
            bail!("the gallery must hold at least one image of every query identity");
        }
        Ok(())
    }
}

/// One split of the dataset: where its features and list go and which images it holds.
struct Split {
    features: PathBuf,
    list: PathBuf,
    images: Vec<Image>,
    names: Vec<String>,
}

/// What `write_dataset` produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    /// Vectors written per split: train, query, gallery.
    pub counts: [usize; 3],
    /// Dataset root.
    pub root: PathBuf,
}

/// Spread `n` images over identities `first..first+ids` as evenly as possible, then shuffle.
fn plan(n: usize, first: u32, ids: usize, cameras: usize, rng: &mut Rng) -> Vec<(u32, u16, u16)> {
    let mut out: Vec<(u32, u16, u16)> = (0..n)
        .map(|i| {
            let id = first + (i % ids.max(1)) as u32;
            let cam = rng.below(cameras as u64) as u16;
            // Any u16: each generator folds it onto its own number of poses.
            let pose = rng.below(1 << 16) as u16;
            (id, cam, pose)
        })
        .collect();
    rng.shuffle(&mut out);
    out
}

/// Generate the dataset of `cfg` under `root` (train/, query_feature/, gallery_feature/ and the
/// three lists). Existing files of the same names are replaced atomically.
pub fn write_dataset(root: &Path, cfg: &SynthConfig) -> Result<Summary> {
    cfg.check()?;
    let mut rng = Rng::stream(cfg.seed, 0xDA7A);
    let sizes = [cfg.train, cfg.queries, cfg.gallery];
    let total: usize = sizes.iter().sum();
    // Names are a random permutation of 0..total so that name order says nothing of identity.
    let mut serials: Vec<u64> = (0..total as u64).collect();
    rng.shuffle(&mut serials);
    let width = total.to_string().len().max(8);

    let train_ids = cfg.train_identities;
    let test_first = train_ids as u32;
    let plans = [
        plan(cfg.train, 0, train_ids, cfg.cameras, &mut rng),
        plan(
            cfg.queries,
            test_first,
            cfg.test_identities,
            cfg.cameras,
            &mut rng,
        ),
        plan(
            cfg.gallery,
            test_first,
            cfg.test_identities,
            cfg.cameras,
            &mut rng,
        ),
    ];
    let dirs = [
        (
            root.join("train/train_feature"),
            root.join("train/train_list.txt"),
        ),
        (root.join("query_feature"), root.join("query_list.txt")),
        (root.join("gallery_feature"), root.join("gallery_list.txt")),
    ];
    let mut next = 0usize;
    let mut splits = Vec::new();
    for (plan, (features, list)) in plans.into_iter().zip(dirs) {
        let mut images = Vec::with_capacity(plan.len());
        let mut names = Vec::with_capacity(plan.len());
        for (identity, camera, pose) in plan {
            let serial = serials[next];
            next += 1;
            images.push(Image {
                identity,
                camera,
                pose,
                serial,
            });
            names.push(format!("{serial:0width$}"));
        }
        splits.push(Split {
            features,
            list,
            images,
            names,
        });
    }

    let generator = generator(cfg.kind, cfg.dim, cfg.seed, cfg.cameras)?;
    let progress = crate::progress::bar(total as u64, "synth");
    for split in &splits {
        std::fs::create_dir_all(&split.features)
            .with_context(|| format!("{}: cannot create directory", split.features.display()))?;
        write_list(split)?;
        const CHUNK: usize = 512;
        split
            .images
            .par_chunks(CHUNK)
            .zip(split.names.par_chunks(CHUNK))
            .try_for_each(|(images, names)| -> Result<()> {
                let mut chunk = FeatureSet {
                    names: names.to_vec(),
                    dim: cfg.dim,
                    data: vec![0f32; images.len() * cfg.dim],
                };
                generator.generate(images, &mut chunk.data);
                if let Some(e) = write_rows_dat(&split.features, &chunk)?.into_iter().next() {
                    bail!("{e}");
                }
                progress.inc(images.len() as u64);
                Ok(())
            })?;
    }
    progress.finish_and_clear();
    let config = serde_json::to_vec_pretty(cfg)?;
    crate::io::atomic::write_atomic(&root.join("synth.json"), &config)?;
    Ok(Summary {
        counts: sizes,
        root: root.to_path_buf(),
    })
}

fn write_list(split: &Split) -> Result<()> {
    let mut text = String::new();
    for (image, name) in split.images.iter().zip(&split.names) {
        // Lists name images, not features: the competition's lists said `000123.png`.
        let _ = writeln!(text, "{name}.png {} {}", image.identity, image.camera);
    }
    if let Some(parent) = split.list.parent() {
        std::fs::create_dir_all(parent)?;
    }
    crate::io::atomic::write_atomic(&split.list, text.as_bytes())
}
