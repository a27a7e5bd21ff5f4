//! `naicfc synth`: realistic synthetic re-ID features.

use crate::commands::count_in;
use crate::exit::Outcome;
use crate::io::outputs::{refuse_stdout, require_empty_dir};
use crate::synth::dataset::{MAX_CAMERAS, MAX_SPLIT};
use crate::synth::{Kind, SynthConfig, write_dataset};
use anyhow::Result;
use codec_core::internals::MAX_DIM;
use std::path::PathBuf;
use std::time::Instant;

/// Preset sizes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// About 2,000 identities, 20k train, 2k query, 20k gallery: generates in seconds.
    Default,
    /// The competition's test-A sizes: 259,450 train, 20,000 query, 428,794 gallery.
    Competition,
}

/// Arguments of `naicfc synth`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  naicfc synth -o data-a --kind a")]
pub struct Args {
    /// Output dataset directory (train/, query_feature/, gallery_feature/ and the lists). It
    /// must not exist yet or be empty: files of an earlier dataset would be overwritten or left
    /// stale beside the new ones
    #[arg(short, long)]
    pub out: PathBuf,
    /// Feature family to imitate
    #[arg(long, value_enum, default_value_t = Kind::A)]
    pub kind: Kind,
    /// Values per vector (1 to 8192, the most a model can code)
    #[arg(
        long,
        default_value_t = 2048,
        value_parser = crate::commands::count_in(1..=MAX_DIM as u64)
    )]
    pub dim: usize,
    /// Seed: the same seed and flags give the same files
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Preset sizes; the flags below override single sizes
    #[arg(long, value_enum, default_value_t = Scale::Default)]
    pub scale: Scale,
    /// Identities in the training split (default: from --scale)
    #[arg(long, value_parser = count_in(1..=MAX_SPLIT as u64))]
    pub identities: Option<usize>,
    /// Training images per identity (sets the training size to identities x this) (default: from --scale)
    #[arg(long, value_parser = count_in(1..=MAX_SPLIT as u64))]
    pub images_per_identity: Option<usize>,
    /// Identities in the query/gallery split (disjoint from training identities) (default: from --scale)
    #[arg(long, value_parser = count_in(1..=MAX_SPLIT as u64))]
    pub test_identities: Option<usize>,
    /// Number of queries (default: from --scale)
    #[arg(long, value_parser = count_in(0..=MAX_SPLIT as u64))]
    pub queries: Option<usize>,
    /// Gallery size (default: from --scale)
    #[arg(long, value_parser = count_in(0..=MAX_SPLIT as u64))]
    pub gallery: Option<usize>,
    /// Number of cameras (default: from --scale)
    #[arg(long, value_parser = count_in(1..=MAX_CAMERAS as u64))]
    pub cameras: Option<usize>,
    /// Print the summary as one JSON object on stdout (vectors per split, dimension)
    #[arg(long)]
    pub json: bool,
}

/// What `naicfc synth --json` prints.
#[derive(Debug, serde::Serialize)]
struct Summary {
    kind: String,
    dim: usize,
    train: usize,
    query: usize,
    gallery: usize,
    seconds: f64,
}

impl Args {
    /// The dataset configuration these flags describe.
    pub fn config(&self) -> SynthConfig {
        let mut cfg = match self.scale {
            Scale::Default => SynthConfig::default_sizes(self.kind, self.dim, self.seed),
            Scale::Competition => SynthConfig::competition(self.kind, self.dim, self.seed),
        };
        if let Some(v) = self.identities {
            // Keep the images per identity of the preset unless told otherwise.
            let per = cfg.train / cfg.train_identities.max(1);
            cfg.train_identities = v;
            cfg.train = v.saturating_mul(per);
        }
        if let Some(per) = self.images_per_identity {
            cfg.train = cfg.train_identities.saturating_mul(per);
        }
        if let Some(v) = self.test_identities {
            cfg.test_identities = v;
        }
        if let Some(v) = self.queries {
            cfg.queries = v;
        }
        if let Some(v) = self.gallery {
            cfg.gallery = v;
        }
        if let Some(v) = self.cameras {
            cfg.cameras = v;
        }
        cfg
    }
}

/// Run `naicfc synth`.
pub fn run(args: &Args) -> Result<Outcome> {
    let cfg = args.config();
    refuse_stdout(&args.out, "--out", "a dataset directory", "a directory")?;
    require_empty_dir(&args.out, "--out")?;
    let start = Instant::now();
    let summary = write_dataset(&args.out, &cfg)?;
    let [t, q, g] = summary.counts;
    if args.json {
        let summary = Summary {
            kind: format!("{:?}", cfg.kind).to_lowercase(),
            dim: cfg.dim,
            train: t,
            query: q,
            gallery: g,
            seconds: start.elapsed().as_secs_f64(),
        };
        println!("{}", serde_json::to_string(&summary)?);
    }
    crate::summary!(
        "naicfc synth: kind {:?}, {}-d: {t} train, {q} query, {g} gallery vectors in {} ({:.1} s)",
        cfg.kind,
        cfg.dim,
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(Outcome::Success)
}
