//! `naicfc encode`: compress a directory (or `.npy`) of features, one code file per vector, or
//! into one code array (`.nfcc`), new or appended to.

use crate::codec::{CodeKind, ModelFile, code_len, encode_all};
use crate::exit::{Outcome, batch_outcome};
use crate::io::codes::{
    Appender, ContainerWriter, Identity, create_empty, is_container, write_dir_identity,
};
use crate::io::order::write_order;
use crate::io::outputs::{Place, check_outputs, prepare_output_dir};
use crate::io::{FeatureInput, ReadOptions, row_error};
use anyhow::{Context, Result, bail};
use codec_core::scalable_len;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `naicfc encode`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  naicfc encode -m model.nfcm -b 64 -i data-a/query_feature -o codes/64\n  naicfc encode -m model.nfcm -b 64 -i data-a/gallery_feature -o gallery.nfcc\n  naicfc encode -m model.nfcm -b 64 -i new_features -o gallery.nfcc --append\n  naicfc encode -m model.nfcm --scalable -i features.npy -o codes/scalable"
)]
pub struct Args {
    /// Model file from `naicfc train`
    #[arg(short, long)]
    pub model: PathBuf,
    /// Byte budget per vector (every code is at most this long)
    #[arg(
        short,
        long,
        required_unless_present = "scalable",
        conflicts_with = "scalable",
        value_parser = crate::commands::budget()
    )]
    pub budget: Option<usize>,
    /// Write scalable codes instead: one code at the model's largest budget whose prefixes at
    /// each of its budgets are codes too
    #[arg(long)]
    pub scalable: bool,
    /// Directory of .dat features, or a .npy file (rows named by its `.names.txt`, else by index)
    #[arg(short, long = "in")]
    pub input: PathBuf,
    /// Output directory (one `<name>.dat` code per input vector), or a `.nfcc` code array (one
    /// file: the codes, their names and the model's fingerprint)
    #[arg(short, long)]
    pub out: PathBuf,
    /// Add the codes to the `.nfcc` code array at --out (created when missing) instead of
    /// replacing it; each batch is committed as it is written, so a crash keeps the rows
    /// already there
    #[arg(long, conflicts_with = "overwrite")]
    pub append: bool,
    #[command(flatten)]
    pub batch: crate::commands::Batch,
    /// Delete the .dat files (and names.txt, codes.id) already in the output directory first,
    /// instead of refusing a directory that is not empty
    #[arg(long)]
    pub overwrite: bool,
    /// Print the summary as one JSON object on stdout (codes written, rejected, bytes, speed)
    #[arg(long)]
    pub json: bool,
}

/// What `naicfc encode --json` prints.
#[derive(Debug, serde::Serialize)]
struct Summary {
    written: usize,
    rejected: usize,
    unwritten: usize,
    budget: usize,
    bytes_mean: f64,
    bytes_max: usize,
    vectors_per_sec: u64,
    seconds: f64,
}

/// Run `naicfc encode`.
pub fn run(args: &Args) -> Result<Outcome> {
    let start = Instant::now();
    let mut inputs = Place::features("--in", &args.input);
    inputs.push(Place::new("--model", &args.model));
    check_outputs(&[Place::new("--out", &args.out)], &inputs)?;
    let array = is_container(&args.out);
    if args.append && !array {
        bail!(
            "--append adds to a .nfcc code array; {} is not one",
            args.out.display()
        );
    }
    if !array {
        prepare_output_dir(&args.out, "--out", args.overwrite)?;
    }
    let model = ModelFile::read(&args.model)?;
    let m = model.model();
    let (kind, budget) = match args.budget {
        Some(b) => (CodeKind::Budget(b), b),
        None => (CodeKind::Scalable, scalable_len(&m)),
    };
    model.check_budget(budget)?;
    let identity = Identity::new(
        &model.fingerprint(),
        code_len(&m, kind),
        kind == CodeKind::Scalable,
    )?;
    let mut sink = if !array {
        Sink::Dir
    } else if args.append {
        Sink::Append(open_for_append(args, identity.clone())?)
    } else {
        Sink::New(ContainerWriter::create(&args.out, identity.clone())?)
    };
    // The dimension comes from the input, preferring the model's: files of another size are
    // then rejected one by one even where they are most of the directory, while a directory
    // of another dimension (no file of the model's size) is one clear error below instead of
    // every file rejected.
    let read = ReadOptions {
        dim: None,
        strict: args.batch.strict,
        prefer_dim: Some(m.dim()),
    };
    let (mut rejected, mut unwritten, mut written) = (0usize, 0usize, 0usize);
    let (mut total_bytes, mut longest) = (0usize, 0usize);
    let mut encode_secs = 0.0;
    // The input order of the codes written, kept beside them: a directory has no order of its
    // own, and `decode` into a `.npy` must give the rows back in this one.
    let mut order = Vec::new();
    let mut first = 0usize;
    let input = FeatureInput::open(&args.input, &read)?;
    let job = crate::progress::job(input.rows() as u64, "encode");
    input.for_each_batch(args.batch.batch_rows, |loaded| {
        job.advance(loaded.inputs());
        if !loaded.set.is_empty() && loaded.set.dim != m.dim() {
            bail!(
                "{}: the features have {} values, the model {} expects {}",
                args.input.display(),
                loaded.set.dim,
                args.model.display(),
                m.dim()
            );
        }
        for f in &loaded.failures {
            eprintln!("{f}");
        }
        rejected += loaded.failures.len();
        let indices = loaded.row_indices(first);
        first += loaded.inputs();
        let set = loaded.set;
        let coded = Instant::now();
        let codes = encode_all(&m, &set, kind);
        encode_secs += coded.elapsed().as_secs_f64();
        let mut items = Vec::with_capacity(codes.len());
        for ((name, code), index) in set.names.iter().zip(codes).zip(indices) {
            match code {
                Ok(bytes) => items.push((name.clone(), bytes)),
                Err(e) => {
                    let f = row_error(&args.input, index, name, e.to_string());
                    eprintln!("{f}");
                    if args.batch.strict {
                        bail!("{f}");
                    }
                    rejected += 1;
                }
            }
        }
        if items.is_empty() {
            // Not even the output directory is made for a batch with nothing to write.
            return Ok(());
        }
        let failures = match &mut sink {
            Sink::Dir => crate::io::atomic::write_blobs(&args.out, "dat", &items)?,
            Sink::New(w) => {
                let (names, rows) = padded(&items, code_len(&m, kind));
                w.add(&names, &rows)?;
                Vec::new()
            }
            Sink::Append(a) => {
                let (names, rows) = padded(&items, code_len(&m, kind));
                a.append(&names, &rows)
                    .with_context(|| format!("{}: cannot append", args.out.display()))?;
                Vec::new()
            }
        };
        for f in &failures {
            eprintln!("{f}");
        }
        unwritten += failures.len();
        written += items.len() - failures.len();
        order.extend(items.iter().map(|(name, _)| name.clone()));
        total_bytes += items.iter().map(|(_, b)| b.len()).sum::<usize>();
        longest = longest.max(items.iter().map(|(_, b)| b.len()).max().unwrap_or(0));
        Ok(())
    })?;
    drop(job);
    match sink {
        // A new array with no row is not made, as no directory is for a batch with nothing.
        Sink::New(w) if written > 0 => w.finish()?,
        Sink::New(_) | Sink::Append(_) => {}
        // Without it the codes are still good, in name order: a reported problem, not a failure.
        Sink::Dir if written > 0 => {
            if let Err(e) = write_order(&args.out, &order) {
                eprintln!("{e:#} (the codes will be read back in name order)");
                unwritten += 1;
            }
            if let Err(e) = write_dir_identity(&args.out, &identity) {
                eprintln!("{e:#} (decode cannot then check the model of these codes)");
                unwritten += 1;
            }
        }
        Sink::Dir => {}
    }
    if args.json {
        let summary = Summary {
            written,
            rejected,
            unwritten,
            budget,
            bytes_mean: total_bytes as f64 / (written + unwritten).max(1) as f64,
            bytes_max: longest,
            vectors_per_sec: ((written + unwritten) as f64 / encode_secs.max(1e-9)) as u64,
            seconds: start.elapsed().as_secs_f64(),
        };
        println!("{}", serde_json::to_string(&summary)?);
    }
    crate::summary!(
        "naicfc encode: {written} codes in {} (budget {} bytes, mean {:.1}, longest {longest}); \
         {:.0} vectors/s, {:.1} s in all",
        args.out.display(),
        budget,
        total_bytes as f64 / (written + unwritten).max(1) as f64,
        (written + unwritten) as f64 / encode_secs.max(1e-9),
        start.elapsed().as_secs_f64()
    );
    if rejected + unwritten > 0 {
        eprintln!(
            "naicfc encode: {rejected} inputs rejected, {unwritten} outputs not written (listed above)"
        );
    }
    batch_outcome(&args.out, rejected, unwritten, written)
}

/// Where the codes go.
enum Sink {
    /// One `<name>.dat` per code in the output directory.
    Dir,
    /// A new code array, put in place when complete.
    New(ContainerWriter),
    /// An existing code array, each batch committed as it is appended.
    Append(Appender),
}

/// The code array at `--out` opened to append codes of `identity`: made empty first when it
/// does not exist; refused when its codes are of another model, budget or kind.
fn open_for_append(args: &Args, identity: Identity) -> Result<Appender> {
    if !args.out.exists() {
        create_empty(&args.out, identity.clone())?;
    }
    let appender = Appender::open(&args.out)?;
    let have = appender.identity();
    have.check_model(&args.out, &identity.fingerprint_hex(), &args.model)?;
    if (have.row_len, have.scalable) != (identity.row_len, identity.scalable) {
        let kind = |i: &Identity| {
            if i.scalable {
                format!("scalable codes of {} bytes", i.row_len)
            } else {
                format!("codes of budget {}", i.row_len)
            }
        };
        bail!(
            "{}: holds {}; these would be {}",
            args.out.display(),
            kind(have),
            kind(&identity)
        );
    }
    Ok(appender)
}

/// Names and rows of a code array: each code zero-padded to `len` bytes (which decodes the
/// same: a decoder reads missing bytes as zero).
fn padded(items: &[(String, Vec<u8>)], len: usize) -> (Vec<String>, Vec<u8>) {
    let mut rows = vec![0u8; items.len() * len];
    for ((_, code), row) in items.iter().zip(rows.chunks_exact_mut(len)) {
        row[..code.len()].copy_from_slice(code);
    }
    (items.iter().map(|(n, _)| n.clone()).collect(), rows)
}
