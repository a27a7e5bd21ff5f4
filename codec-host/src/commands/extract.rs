//! `naicfc extract`: re-ID features from a directory of images with an ONNX model.

use crate::commands::decode::{self, FeaturesOut, check_features_out};
use crate::commands::{at_least_one, number_in};
use crate::exit::{Outcome, batch_outcome};
use crate::io::outputs::Place;
use crate::io::{FeatureSet, InputError};
use anyhow::{Context, Result, bail};
use codec_extract::{Extractor, Filter, Options, is_image_name, read_image};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `naicfc extract`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  naicfc extract -m reid.onnx -i query_images -o query_feature\n  \
    naicfc extract -m fastreid.onnx -i gallery -o gallery.npy --filter bicubic --pixel-max 255 \
    --mean 0,0,0 --std 1,1,1"
)]
pub struct Args {
    /// ONNX re-ID model: one input [batch, 3, H, W] float32, one output [batch, D]
    #[arg(short, long)]
    pub model: PathBuf,
    /// Directory of images (.jpg, .jpeg, .png, .bmp; other files are ignored)
    #[arg(short, long, visible_alias = "in")]
    pub images: PathBuf,
    /// Output: a directory of `<image stem>.dat` features, or a `.npy` file (rows in image
    /// name order, the names in `<stem>.names.txt` beside it)
    #[arg(short, long)]
    pub out: PathBuf,
    /// Model input height in pixels (images are resized to it)
    #[arg(long, default_value_t = 256, value_parser = crate::commands::count_in(1..=codec_extract::MAX_SIDE as u64))]
    pub height: usize,
    /// Model input width in pixels
    #[arg(long, default_value_t = 128, value_parser = crate::commands::count_in(1..=codec_extract::MAX_SIDE as u64))]
    pub width: usize,
    /// Resize filter: bilinear as torchvision (torchreid), bicubic as fast-reid
    #[arg(long, value_enum, default_value_t = FilterArg::Bilinear)]
    pub filter: FilterArg,
    /// What a full-intensity channel becomes before mean and std: 1 as torchvision's ToTensor,
    /// 255 for models that take raw pixels (fast-reid's ONNX exports normalise inside)
    #[arg(long, default_value_t = 1.0, value_parser = number_in(1e-6, 1e6))]
    pub pixel_max: f64,
    /// Per-channel mean, R,G,B, in --pixel-max units
    #[arg(long, value_delimiter = ',', default_value = "0.485,0.456,0.406", allow_hyphen_values = true, value_parser = number_in(-1e6, 1e6))]
    pub mean: Vec<f64>,
    /// Per-channel standard deviation, R,G,B, in --pixel-max units
    #[arg(long, value_delimiter = ',', default_value = "0.229,0.224,0.225", value_parser = number_in(1e-6, 1e6))]
    pub std: Vec<f64>,
    /// Feed the channels as B,G,R (models trained on OpenCV-loaded images); --mean and --std
    /// stay in R,G,B order
    #[arg(long)]
    pub bgr: bool,
    /// Average each image's features with its mirror image's (test-time flip)
    #[arg(long)]
    pub flip: bool,
    /// Scale every feature vector to unit L2 norm
    #[arg(long)]
    pub normalize: bool,
    /// Images per model run (a model that fixes its batch size runs with its own)
    #[arg(long, default_value_t = 16, value_parser = crate::commands::count_in(1..=1024))]
    pub batch: usize,
    /// Images decoded and held in memory at once (bounds memory on large directories)
    #[arg(long, default_value_t = 1024, value_parser = at_least_one)]
    pub chunk: usize,
    /// Stop at the first unreadable image instead of reporting it and going on
    #[arg(long)]
    pub strict: bool,
    /// Delete the .dat files (and names.txt) already in an output directory first, instead of
    /// refusing a directory that is not empty
    #[arg(long)]
    pub overwrite: bool,
    /// Print the summary as one JSON object on stdout (vectors written, rejected, time)
    #[arg(long)]
    pub json: bool,
}

/// `--filter`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterArg {
    /// Nearest neighbour
    Nearest,
    /// Bilinear (torchvision's Resize, torchreid)
    Bilinear,
    /// Bicubic (fast-reid)
    Bicubic,
    /// Lanczos, window 3
    Lanczos3,
}

impl Args {
    /// The extraction options these flags describe.
    pub fn options(&self) -> Options {
        let three = |v: &[f64]| std::array::from_fn(|i| v.get(i).copied().unwrap_or(0.0) as f32);
        Options {
            height: self.height,
            width: self.width,
            filter: match self.filter {
                FilterArg::Nearest => Filter::Nearest,
                FilterArg::Bilinear => Filter::Bilinear,
                FilterArg::Bicubic => Filter::Bicubic,
                FilterArg::Lanczos3 => Filter::Lanczos3,
            },
            pixel_max: self.pixel_max as f32,
            mean: three(&self.mean),
            std: three(&self.std),
            bgr: self.bgr,
            flip: self.flip,
            normalize: self.normalize,
            batch: self.batch,
        }
    }
}

/// What `naicfc extract --json` prints.
#[derive(Debug, serde::Serialize)]
struct Summary {
    #[serde(flatten)]
    features: decode::Summary,
    images_per_second: f64,
}

/// Run `naicfc extract`.
pub fn run(args: &Args) -> Result<Outcome> {
    let start = Instant::now();
    let inputs = [
        Place::new("--images", &args.images),
        Place::new("--model", &args.model),
    ];
    for (flag, values) in [("--mean", &args.mean), ("--std", &args.std)] {
        if values.len() != 3 {
            bail!("{flag}: give 3 values, R,G,B (got {})", values.len());
        }
    }
    let (images, mut failures) = list_images(&args.images)?;
    if args.strict {
        if let Some(f) = failures.first() {
            bail!("{f}");
        }
    }
    for f in &failures {
        eprintln!("{f}");
    }
    check_features_out(&args.out, &inputs, args.overwrite)?;
    let extractor = Extractor::load(&args.model, &args.options())?;
    let dim = extractor.dim();
    let mut out = FeaturesOut::create(&args.out, dim, images.len())?;
    let mut write_failures = Vec::new();
    let mut extracted = 0usize;
    let job = crate::progress::job(images.len() as u64, "extract");
    for chunk in images.chunks(args.chunk.max(1)) {
        let (mut set, bad) = extract_chunk(&extractor, chunk)?;
        for f in bad {
            if args.strict {
                bail!("{f}");
            }
            eprintln!("{f}");
            failures.push(f);
        }
        extracted += set.len();
        job.advance(chunk.len());
        let by_name: HashMap<&str, &Path> = chunk
            .iter()
            .map(|(n, p)| (n.as_str(), p.as_path()))
            .collect();
        let source = |_, name: &str, p| {
            InputError::new(
                by_name.get(name).copied().unwrap_or(args.images.as_path()),
                p,
            )
        };
        write_failures.extend(out.write(&mut set, source)?);
    }
    drop(job);
    for f in &write_failures {
        eprintln!("{f}");
    }
    let written = extracted - write_failures.len();
    let seconds = start.elapsed().as_secs_f64();
    crate::summary!(
        "naicfc extract: {written} vectors of {dim} values from {} to {} in {seconds:.1} s \
         ({:.0} images/s)",
        args.images.display(),
        args.out.display(),
        extracted as f64 / seconds.max(1e-9)
    );
    let (rejected, unwritten) = (failures.len(), write_failures.len());
    if args.json {
        let summary = Summary {
            features: decode::Summary {
                written,
                dim,
                rejected,
                unwritten,
                seconds,
            },
            images_per_second: extracted as f64 / seconds.max(1e-9),
        };
        println!("{}", serde_json::to_string(&summary)?);
    }
    if rejected + unwritten > 0 {
        eprintln!(
            "naicfc extract: {rejected} images rejected, {unwritten} outputs not written (listed above)"
        );
    }
    let outcome = batch_outcome(&args.out, rejected, unwritten, written)?;
    // Only now, so that a run that was refused whole leaves no array behind.
    out.finish()?;
    Ok(outcome)
}

/// An image to extract: its stem (the name of its features) and its path.
type Image = (String, PathBuf);

/// The images of `dir` as (stem, path), in name order. Two images with one stem (`a.png`,
/// `a.jpg`) would write one feature file: the second is reported and skipped, as is a name that
/// is not UTF-8 (it could not name its feature file faithfully).
fn list_images(dir: &Path) -> Result<(Vec<Image>, Vec<InputError>)> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot read the image directory", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("{}: cannot list", dir.display()))?;
        let path = entry.path();
        if is_image_name(&path) && !path.is_dir() {
            paths.push(path);
        }
    }
    paths.sort();
    if paths.is_empty() {
        bail!(
            "{}: no images (.jpg, .jpeg, .png or .bmp files) in this directory",
            dir.display()
        );
    }
    let mut images = Vec::with_capacity(paths.len());
    let mut failures = Vec::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for path in paths {
        let Some(stem) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
        else {
            failures.push(InputError::new(&path, "the file name is not valid UTF-8"));
            continue;
        };
        if let Some(first) = seen.get(&stem) {
            failures.push(InputError::new(
                &path,
                format!(
                    "same stem as {}: both would be written as {stem}.dat; skipped",
                    first.display()
                ),
            ));
            continue;
        }
        seen.insert(stem.clone(), path.clone());
        images.push((stem, path));
    }
    Ok((images, failures))
}

/// Decode, preprocess and run one chunk of images on all threads (one model batch per task);
/// returns the features of the images that could be read, in chunk order, and the others.
fn extract_chunk(
    extractor: &Extractor,
    chunk: &[(String, PathBuf)],
) -> Result<(FeatureSet, Vec<InputError>)> {
    let dim = extractor.dim();
    let parts: Vec<Result<(FeatureSet, Vec<InputError>)>> = chunk
        .par_chunks(extractor.batch())
        .map(|batch| {
            let mut names = Vec::with_capacity(batch.len());
            let mut pictures = Vec::with_capacity(batch.len());
            let mut bad = Vec::new();
            for (name, path) in batch {
                match read_image(path) {
                    Ok(img) => {
                        names.push(name.clone());
                        pictures.push(img);
                    }
                    Err(e) => bad.push(InputError::new(
                        path,
                        format!("cannot read the image: {e:#}"),
                    )),
                }
            }
            let data = extractor.features(&pictures)?;
            Ok((FeatureSet { names, dim, data }, bad))
        })
        .collect();
    let mut set = FeatureSet {
        names: Vec::new(),
        dim,
        data: Vec::new(),
    };
    let mut bad = Vec::new();
    let paths: HashMap<&str, &Path> = chunk
        .iter()
        .map(|(n, p)| (n.as_str(), p.as_path()))
        .collect();
    for part in parts {
        let (part, part_bad) = part?;
        bad.extend(part_bad);
        for (name, row) in part
            .names
            .into_iter()
            .zip(part.data.chunks_exact(dim.max(1)))
        {
            // A NaN or infinity would be written, then rejected by every reader: the image is
            // reported here instead, with its path.
            if row.iter().any(|v| !v.is_finite()) {
                let path = paths
                    .get(name.as_str())
                    .copied()
                    .unwrap_or(Path::new(&name));
                bad.push(InputError::new(path, "the model's features are not finite"));
                continue;
            }
            set.names.push(name);
            set.data.extend_from_slice(row);
        }
    }
    Ok((set, bad))
}
