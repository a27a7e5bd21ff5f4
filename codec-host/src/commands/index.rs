//! `naicfc index`: build the int8 search index of a coded gallery (see [`crate::index`]).

use crate::codec::ModelFile;
use crate::exit::Outcome;
use crate::io::codes::read_code_array;
use crate::io::outputs::{Place, check_file_outputs, check_outputs, refuse_stdout};
use anyhow::Result;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `naicfc index`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  naicfc index --gallery gallery.nfcc -m model.nfcm -o gallery.nfci\n  naicfc reid --query q.npy --gallery gallery.nfci -m model.nfcm -o results.json"
)]
pub struct Args {
    /// The coded gallery: a .nfcc code array (or a .npy of uint8) of plain codes
    #[arg(long)]
    pub gallery: PathBuf,
    /// The model the codes were made with
    #[arg(short, long)]
    pub model: PathBuf,
    /// The index file to write (`.nfci`)
    #[arg(short, long)]
    pub out: PathBuf,
    /// Print the summary as one JSON object on stdout (rows, dims, bytes, seconds)
    #[arg(long)]
    pub json: bool,
}

/// Run `naicfc index`.
pub fn run(args: &Args) -> Result<Outcome> {
    let start = Instant::now();
    // The index is written with seeks and later mapped from its file: no stream can hold it.
    refuse_stdout(&args.out, "--out", "an index", "a .nfci file")?;
    let outputs = [Place::new("--out", &args.out)];
    let mut inputs = Place::features("--gallery", &args.gallery);
    inputs.push(Place::new("--model", &args.model));
    check_outputs(&outputs, &inputs)?;
    check_file_outputs(&outputs)?;
    let model = ModelFile::read(&args.model)?;
    let codes = read_code_array(&args.gallery)?;
    if let Some(id) = &codes.identity {
        id.check_model(&args.gallery, &model.fingerprint(), &args.model)?;
    }
    let stats = crate::index::build(&model, &codes, &args.gallery, &args.out)?;
    let secs = start.elapsed().as_secs_f64();
    if args.json {
        let mut v = serde_json::to_value(&stats)?;
        v["seconds"] = secs.into();
        println!("{v}");
    }
    crate::summary!(
        "naicfc index: {} rows of {} int8 values to {} ({} bytes) in {secs:.1} s",
        stats.rows,
        stats.dims,
        args.out.display(),
        stats.bytes
    );
    Ok(Outcome::Success)
}
