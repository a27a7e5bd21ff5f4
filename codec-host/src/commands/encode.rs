//! `naicfc encode`: compress a directory (or `.npy`) of features, one code file per vector.

use crate::codec::{ModelFile, encode_all};
use crate::exit::Outcome;
use crate::io::{ReadOptions, read_features};
use anyhow::{Result, bail};
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `naicfc encode`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model file from `naicfc train`
    #[arg(long)]
    pub model: PathBuf,
    /// Byte budget per vector (every code is at most this long)
    #[arg(long)]
    pub budget: usize,
    /// Directory of .dat features, or a .npy file (rows are named by index)
    #[arg(long = "in")]
    pub input: PathBuf,
    /// Output directory: one `<name>.dat` code per input vector
    #[arg(long)]
    pub out: PathBuf,
    /// Stop at the first bad input
    #[arg(long)]
    pub strict: bool,
}

/// Run `naicfc encode`.
pub fn run(args: &Args) -> Result<Outcome> {
    let start = Instant::now();
    let model = ModelFile::read(&args.model)?;
    let m = model.model();
    if args.budget < m.min_budget() {
        bail!(
            "budget {} is below this model's minimum of {} bytes",
            args.budget,
            m.min_budget()
        );
    }
    let loaded = read_features(
        &args.input,
        &ReadOptions {
            dim: Some(m.dim()),
            strict: args.strict,
        },
    )?;
    let mut failures = loaded.failures;
    for f in &failures {
        eprintln!("{f}");
    }
    let set = loaded.set;
    let coded = Instant::now();
    let codes = encode_all(&m, &set, args.budget);
    let encode_secs = coded.elapsed().as_secs_f64();
    let mut items = Vec::with_capacity(codes.len());
    for (name, code) in set.names.iter().zip(codes) {
        match code {
            Ok(bytes) => items.push((name.clone(), bytes)),
            Err(e) => {
                let f = crate::io::InputError {
                    path: args.input.join(format!("{name}.dat")),
                    problem: e.to_string(),
                };
                eprintln!("{f}");
                if args.strict {
                    bail!("{f}");
                }
                failures.push(f);
            }
        }
    }
    let write_failures = crate::io::atomic::write_blobs(&args.out, "dat", &items)?;
    for f in &write_failures {
        eprintln!("{f}");
    }
    let written = items.len() - write_failures.len();
    let total: usize = items.iter().map(|(_, b)| b.len()).sum();
    let longest = items.iter().map(|(_, b)| b.len()).max().unwrap_or(0);
    eprintln!(
        "naicfc encode: {written} codes in {} (budget {} bytes, mean {:.1}, longest {longest}); \
         {:.0} vectors/s, {:.1} s in all",
        args.out.display(),
        args.budget,
        total as f64 / items.len().max(1) as f64,
        set.len() as f64 / encode_secs.max(1e-9),
        start.elapsed().as_secs_f64()
    );
    Ok(if failures.is_empty() && write_failures.is_empty() {
        Outcome::Success
    } else {
        eprintln!(
            "naicfc encode: {} inputs rejected, {} outputs not written (listed above)",
            failures.len(),
            write_failures.len()
        );
        Outcome::Partial
    })
}
