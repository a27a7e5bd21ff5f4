//! `naicfc pack`: gather features into one `.npy` array (float32 or float16) with its names.

use crate::exit::Outcome;
use crate::io::npy::{NpyDtype, NpyWriter};
use crate::io::npy_names::names_path;
use crate::io::outputs::{Place, check_file_outputs, check_outputs, refuse_stdout};
use crate::io::{FeatureInput, ReadOptions, is_npy, row_error};
use anyhow::{Result, bail};
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `naicfc pack`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  naicfc pack -i data-a/gallery_feature -o gallery.npy --f16")]
pub struct Args {
    /// Directory of .dat features, or a .npy file
    #[arg(short, long = "in")]
    pub input: PathBuf,
    /// Output .npy file; the row names go to `<stem>.names.txt` beside it, so that lists and
    /// result files still refer to the original names
    #[arg(short, long)]
    pub out: PathBuf,
    /// Store float16: half the size, about 3 significant digits (an input holding a value
    /// beyond ±65504 is rejected, like a bad file, and the others are packed)
    #[arg(long)]
    pub f16: bool,
    /// Expected feature dimension (default: the most common file size)
    #[arg(long)]
    pub dim: Option<usize>,
    #[command(flatten)]
    pub batch: crate::commands::Batch,
    /// Print the summary as one JSON object on stdout (vectors written, rejected, dimension)
    #[arg(long)]
    pub json: bool,
}

/// What `naicfc pack --json` prints.
#[derive(Debug, serde::Serialize)]
struct Summary {
    written: usize,
    rejected: usize,
    dim: usize,
    dtype: &'static str,
    seconds: f64,
}

/// Run `naicfc pack`.
pub fn run(args: &Args) -> Result<Outcome> {
    let start = Instant::now();
    // The array's header is completed by seeking back, and its names go to a second file.
    refuse_stdout(
        &args.out,
        "--out",
        "a .npy array and its names file",
        "a .npy file",
    )?;
    if !is_npy(&args.out) {
        bail!("{}: the output must be a .npy file", args.out.display());
    }
    let outputs = Place::features("--out", &args.out);
    check_outputs(&outputs, &Place::features("--in", &args.input))?;
    check_file_outputs(&outputs)?;
    let read = ReadOptions {
        dim: args.dim,
        strict: args.batch.strict,
        prefer_dim: None,
    };
    let dtype = if args.f16 {
        NpyDtype::F16
    } else {
        NpyDtype::F32
    };
    let (mut writer, mut rejected, mut dim) = (None, 0usize, 0usize);
    let mut first = 0usize;
    let input = FeatureInput::open(&args.input, &read)?;
    let job = crate::progress::job(input.rows() as u64, "pack");
    input.for_each_batch(args.batch.batch_rows, |mut loaded| {
        job.advance(loaded.inputs());
        dim = loaded.set.dim;
        let w = match &mut writer {
            Some(w) => w,
            // The row count is only known at the end; the header keeps room for any.
            None => writer.insert(NpyWriter::create(&args.out, dtype, dim, usize::MAX)?),
        };
        let indices = loaded.row_indices(first);
        first += loaded.inputs();
        let unwritable = w.take_unwritable(&mut loaded.set, |i, name, p| {
            row_error(&args.input, indices[i], name, p)
        });
        if let (true, Some(first)) = (args.batch.strict, unwritable.first()) {
            bail!("{first}");
        }
        for f in loaded.failures.iter().chain(&unwritable) {
            eprintln!("{f}");
        }
        rejected += loaded.failures.len() + unwritable.len();
        w.write(&loaded.set)
    })?;
    drop(job);
    let Some(writer) = writer else {
        bail!("{}: nothing to pack", args.input.display());
    };
    let rows = writer.rows();
    if rows == 0 && rejected > 0 {
        // The writer is dropped unfinished: no array, no names file.
        bail!(
            "{}: nothing written, every input was rejected ({rejected} listed above)",
            args.out.display()
        );
    }
    writer.finish()?;
    if args.json {
        let summary = Summary {
            written: rows,
            rejected,
            dim,
            dtype: if args.f16 { "float16" } else { "float32" },
            seconds: start.elapsed().as_secs_f64(),
        };
        println!("{}", serde_json::to_string(&summary)?);
    }
    crate::summary!(
        "naicfc pack: {rows} vectors of {dim} values to {} ({}, names in {}) in {:.1} s",
        args.out.display(),
        if args.f16 { "float16" } else { "float32" },
        names_path(&args.out).display(),
        start.elapsed().as_secs_f64()
    );
    Ok(if rejected == 0 {
        Outcome::Success
    } else {
        eprintln!("naicfc pack: {rejected} inputs rejected (listed above)");
        Outcome::Partial
    })
}
