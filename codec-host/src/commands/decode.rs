//! `naicfc decode`: reconstruct features from a directory of codes.

use crate::codec::{ModelFile, decode_all};
use crate::exit::{Outcome, batch_outcome};
use crate::io::blobs::read_blobs;
use crate::io::npy::{NpyDtype, NpyWriter};
use crate::io::outputs::{Place, check_file_outputs, check_outputs};
use crate::io::{FeatureSet, InputError, is_npy};
use anyhow::{Result, bail};
use codec_core::internals::MAX_CODE_LEN;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `naicfc decode`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model file the codes were made with
    #[arg(long)]
    pub model: PathBuf,
    /// Directory of codes (`<name>.dat`)
    #[arg(long = "in")]
    pub input: PathBuf,
    /// Output: a directory of `<name>.dat` features, or a `.npy` file (rows in name order, the
    /// names in `<stem>.names.txt` beside it)
    #[arg(long)]
    pub out: PathBuf,
    /// Vectors decoded and written at a time (bounds memory)
    #[arg(long, default_value_t = 65_536)]
    pub batch_rows: usize,
    /// The codes are scalable codes (`naicfc encode --scalable`) or prefixes of them
    #[arg(long)]
    pub scalable: bool,
    /// Stop at the first bad code
    #[arg(long)]
    pub strict: bool,
}

/// Run `naicfc decode`.
pub fn run(args: &Args) -> Result<Outcome> {
    let start = Instant::now();
    let inputs = [
        Place::new("--in", &args.input),
        Place::new("--model", &args.model),
    ];
    let outputs = Place::features("--out", &args.out);
    check_outputs(&outputs, &inputs)?;
    if is_npy(&args.out) {
        check_file_outputs(&outputs)?;
    }
    let model = ModelFile::read(&args.model)?;
    let m = model.model();
    let (blobs, mut failures) = read_blobs(&args.input, MAX_CODE_LEN)?;
    if args.strict {
        if let Some(f) = failures.first() {
            bail!("{f}");
        }
    }
    for f in &failures {
        eprintln!("{f}");
    }
    let dim = m.dim();
    let is_npy = is_npy(&args.out);
    let step = args.batch_rows.max(1);
    let mut npy = if is_npy {
        Some(NpyWriter::create(
            &args.out,
            NpyDtype::F32,
            dim,
            blobs.names.len(),
        )?)
    } else {
        None
    };
    let mut write_failures = Vec::new();
    let mut decoded = 0usize;
    for (names, codes) in blobs.names.chunks(step).zip(blobs.bytes.chunks(step)) {
        let refs: Vec<&[u8]> = codes.iter().map(Vec::as_slice).collect();
        let (data, results) = decode_all(&m, &refs, args.scalable);
        let mut set = FeatureSet {
            names: Vec::with_capacity(names.len()),
            dim,
            data: Vec::with_capacity(data.len()),
        };
        for ((name, r), row) in names
            .iter()
            .zip(&results)
            .zip(data.chunks_exact(dim.max(1)))
        {
            match r {
                Ok(()) => {
                    set.names.push(name.clone());
                    set.data.extend_from_slice(row);
                }
                Err(e) => {
                    let f = InputError {
                        path: args.input.join(format!("{name}.dat")),
                        problem: e.to_string(),
                    };
                    if args.strict {
                        bail!("{f}");
                    }
                    eprintln!("{f}");
                    failures.push(f);
                }
            }
        }
        decoded += set.len();
        match &mut npy {
            Some(npy) => {
                let source = |name: &str| args.input.join(format!("{name}.dat"));
                write_failures.extend(npy.take_unwritable(&mut set, source));
                npy.write(&set)?;
            }
            None if set.is_empty() => {}
            None => write_failures.extend(crate::io::atomic::write_rows_dat(&args.out, &set)?),
        }
    }
    for f in &write_failures {
        eprintln!("{f}");
    }
    eprintln!(
        "naicfc decode: {} vectors of {dim} values to {} in {:.1} s",
        decoded - write_failures.len(),
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    let (rejected, unwritten) = (failures.len(), write_failures.len());
    if rejected + unwritten > 0 {
        eprintln!(
            "naicfc decode: {rejected} codes rejected, {unwritten} outputs not written (listed above)"
        );
    }
    let outcome = batch_outcome(&args.out, rejected, unwritten, decoded - unwritten)?;
    // Only now, so that a batch that was refused whole leaves no array behind.
    if let Some(npy) = npy {
        npy.finish()?;
    }
    Ok(outcome)
}
