//! `naicfc decode`: reconstruct features from a directory or an array of codes.

use crate::codec::{ModelFile, decode_all};
use crate::exit::{Outcome, batch_outcome};
use crate::io::codes::CodesInput;
use crate::io::npy::{NpyDtype, NpyWriter};
use crate::io::order::write_order;
use crate::io::outputs::{Place, check_file_outputs, check_outputs, prepare_output_dir};
use crate::io::{FeatureSet, InputError, is_npy};
use anyhow::{Result, bail};
use codec_core::{MAX_CODE_LEN, Model, decode_scalable};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `naicfc decode`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  naicfc decode -m model.nfcm -i codes/64 -o rec64.npy")]
pub struct Args {
    /// Model file the codes were made with
    #[arg(short, long)]
    pub model: PathBuf,
    /// Directory of codes (`<name>.dat`), a `.nfcc` code array, or a `.npy` of uint8 (one
    /// code per row, zero-padded)
    #[arg(short, long = "in")]
    pub input: PathBuf,
    /// Output: a directory of `<name>.dat` features, or a `.npy` file (rows in the order of
    /// the codes' names.txt as `encode` wrote it, else in name order; the names in
    /// `<stem>.names.txt` beside it)
    #[arg(short, long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub batch: crate::commands::Batch,
    /// The codes are scalable codes (`naicfc encode --scalable`) or prefixes of them (a
    /// `.nfcc` array says so itself)
    #[arg(long)]
    pub scalable: bool,
    /// Delete the .dat files (and names.txt) already in an output directory first, instead of
    /// refusing a directory that is not empty
    #[arg(long)]
    pub overwrite: bool,
    /// Print the summary as one JSON object on stdout (vectors written, rejected, time)
    #[arg(long)]
    pub json: bool,
}

/// What `naicfc decode --json` prints (and `naicfc extract --json`, with its rate).
#[derive(Debug, serde::Serialize)]
pub(crate) struct Summary {
    pub written: usize,
    pub dim: usize,
    pub rejected: usize,
    pub unwritten: usize,
    pub seconds: f64,
}

/// Run `naicfc decode`.
pub fn run(args: &Args) -> Result<Outcome> {
    let start = Instant::now();
    let inputs = [
        Place::new("--in", &args.input),
        Place::new("--model", &args.model),
    ];
    check_features_out(&args.out, &inputs, args.overwrite)?;
    let model = ModelFile::read(&args.model)?;
    let m = model.model();
    let mut codes = CodesInput::read(&args.input, MAX_CODE_LEN)?;
    let scalable = match &codes.identity {
        Some(id) => {
            id.check_model(&args.input, &model.fingerprint(), &args.model)?;
            if args.scalable && !id.scalable {
                bail!(
                    "{}: holds plain codes of budget {}, not scalable ones: drop --scalable",
                    args.input.display(),
                    id.row_len
                );
            }
            id.scalable
        }
        None => args.scalable,
    };
    let mut failures = std::mem::take(&mut codes.failures);
    let codes = codes;
    let blobs = &codes.blobs;
    if args.batch.strict {
        if let Some(f) = failures.first() {
            bail!("{f}");
        }
    }
    for f in &failures {
        eprintln!("{f}");
    }
    let dim = m.dim();
    let step = args.batch.batch_rows.max(1);
    let mut out = FeaturesOut::create(&args.out, dim, blobs.names.len())?;
    let mut write_failures = Vec::new();
    let mut decoded = 0usize;
    let mut order = Vec::new();
    let job = crate::progress::job(blobs.names.len() as u64, "decode");
    for (batch, (names, batch_codes)) in blobs
        .names
        .chunks(step)
        .zip(blobs.bytes.chunks(step))
        .enumerate()
    {
        let refs: Vec<&[u8]> = batch_codes.iter().map(Vec::as_slice).collect();
        let (data, results) = decode_all(&m, &refs, scalable);
        if batch == 0 {
            // Before anything is written: codes of another model or kind are one error.
            check_codes_fit(&model, &refs, &results, scalable, &args.model)?;
        }
        // The input position of each row of `set`, to name a row the output cannot take.
        let mut set_index = Vec::with_capacity(names.len());
        let mut set = FeatureSet {
            names: Vec::with_capacity(names.len()),
            dim,
            data: Vec::with_capacity(data.len()),
        };
        for (i, (((name, r), row), code)) in names
            .iter()
            .zip(&results)
            .zip(data.chunks_exact(dim.max(1)))
            .zip(&refs)
            .enumerate()
        {
            match r {
                Ok(()) => {
                    set.names.push(name.clone());
                    set.data.extend_from_slice(row);
                    set_index.push(batch * step + i);
                }
                Err(e) => {
                    let f = codes.problem(
                        &args.input,
                        batch * step + i,
                        name,
                        format!("{e}{}", other_kind_hint(&m, code, scalable)),
                    );
                    if args.batch.strict {
                        bail!("{f}");
                    }
                    eprintln!("{f}");
                    failures.push(f);
                }
            }
        }
        decoded += set.len();
        job.advance(names.len());
        let source = |i: usize, name: &str, p| codes.problem(&args.input, set_index[i], name, p);
        write_failures.extend(out.write(&mut set, source)?);
        if !out.is_npy() {
            order.extend(set.names.iter().cloned());
        }
    }
    drop(job);
    for f in &write_failures {
        eprintln!("{f}");
    }
    crate::summary!(
        "naicfc decode: {} vectors of {dim} values to {} in {:.1} s",
        decoded - write_failures.len(),
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    let mut order_failed = 0;
    if !out.is_npy() && !order.is_empty() {
        // Without it the vectors are still good, in name order: reported, not a failure.
        if let Err(e) = write_order(&args.out, &order) {
            eprintln!("{e:#} (the vectors will be read back in name order)");
            order_failed = 1;
        }
    }
    let (rejected, unwritten) = (failures.len(), write_failures.len() + order_failed);
    if args.json {
        let summary = Summary {
            written: decoded - write_failures.len(),
            dim,
            rejected,
            unwritten,
            seconds: start.elapsed().as_secs_f64(),
        };
        println!("{}", serde_json::to_string(&summary)?);
    }
    if rejected + unwritten > 0 {
        eprintln!(
            "naicfc decode: {rejected} codes rejected, {unwritten} outputs not written (listed above)"
        );
    }
    let outcome = batch_outcome(
        &args.out,
        rejected,
        unwritten,
        decoded - write_failures.len(),
    )?;
    // Only now, so that a batch that was refused whole leaves no array behind.
    out.finish()?;
    Ok(outcome)
}

/// Checks a features `--out` (of `decode` and `extract`) against the inputs and readies it:
/// a `.npy` (with its names file) that may be replaced, or a directory that is empty (emptied
/// of its `.dat` files first with `overwrite`). Done before any work, so a bad output costs
/// nothing.
pub(crate) fn check_features_out(out: &Path, inputs: &[Place], overwrite: bool) -> Result<()> {
    let outputs = Place::features("--out", out);
    check_outputs(&outputs, inputs)?;
    if is_npy(out) {
        check_file_outputs(&outputs)
    } else {
        prepare_output_dir(out, "--out", overwrite)
    }
}

/// Features written batch by batch, as `decode` and `extract` write them: into one `.npy` of
/// `rows` rows (completed by [`FeaturesOut::finish`]) or as `<name>.dat` files in a directory.
pub(crate) struct FeaturesOut<'a> {
    dir: &'a Path,
    npy: Option<NpyWriter>,
}

impl<'a> FeaturesOut<'a> {
    /// The writer for `out` (checked by [`check_features_out`]) of `rows` rows of `dim` values.
    pub(crate) fn create(out: &'a Path, dim: usize, rows: usize) -> Result<Self> {
        let npy = if is_npy(out) {
            Some(NpyWriter::create(out, NpyDtype::F32, dim, rows)?)
        } else {
            None
        };
        Ok(FeaturesOut { dir: out, npy })
    }

    pub(crate) fn is_npy(&self) -> bool {
        self.npy.is_some()
    }

    /// Writes the rows of `set` and returns those that could not be written, each named by
    /// `source(row of set, name, problem)`; an array takes the others, so `set` loses them.
    pub(crate) fn write(
        &mut self,
        set: &mut FeatureSet,
        source: impl Fn(usize, &str, String) -> InputError,
    ) -> Result<Vec<InputError>> {
        match &mut self.npy {
            Some(npy) => {
                let failures = npy.take_unwritable(set, source);
                npy.write(set)?;
                Ok(failures)
            }
            None if set.is_empty() => Ok(Vec::new()),
            None => crate::io::atomic::write_rows_dat(self.dir, set),
        }
    }

    /// Completes an array (a directory is complete file by file). Called last, so that a run
    /// refused whole leaves no array behind.
    pub(crate) fn finish(self) -> Result<()> {
        match self.npy {
            Some(npy) => npy.finish(),
            None => Ok(()),
        }
    }
}

/// Codes made with another model or of the other kind must not pass for this model's codes:
/// checked on the first batch, before anything is written. Where some codes fail and all of a
/// sample decode as the other kind (scalable prefixes decoded as plain codes mostly "succeed"
/// into wrong vectors), or where most fail, that is one error naming what they look like,
/// rather than a partial run that quietly writes whatever did decode.
fn check_codes_fit(
    model: &ModelFile,
    codes: &[&[u8]],
    results: &[Result<(), codec_core::Error>],
    scalable: bool,
    model_path: &Path,
) -> Result<()> {
    let failed = results.iter().filter(|r| r.is_err()).count();
    let sample = &codes[..codes.len().min(64)];
    let m = model.model();
    if failed == 0 {
        return if !scalable && look_scalable(&m, sample) {
            bail!(
                "{}: these look like scalable codes (each also decodes as one, to other \
                 values): pass --scalable",
                model_path.display()
            )
        } else {
            Ok(())
        };
    }
    let budgets: Vec<usize> = (0..m.budget_count()).filter_map(|i| m.budget(i)).collect();
    let (_, other) = decode_all(&m, sample, !scalable);
    let cut = codes
        .iter()
        .zip(results)
        .filter(|(c, r)| r.is_err() && !budgets.contains(&c.len()))
        .count();
    let hint = if scalable && cut * 2 > failed {
        // A scalable code is valid only at a layer boundary: most likely the codes were cut
        // somewhere else, which says more than "another model".
        let shown: Vec<String> = budgets.iter().map(usize::to_string).collect();
        format!(
            "{cut} of them end between layers: a scalable code can be cut only at one of the \
             model's budgets ({} bytes)",
            shown.join(", ")
        )
    } else if other.iter().all(Result::is_ok) {
        if scalable {
            "they decode as plain codes: drop --scalable".to_string()
        } else {
            "they decode as scalable codes or prefixes of them: add --scalable".to_string()
        }
    } else if codes.len() >= 2 && failed * 2 > codes.len() {
        format!(
            "were they made with another model? This one codes vectors of {} values, at {} \
             bytes or more",
            m.dim(),
            model.min_budget()
        )
    } else {
        return Ok(());
    };
    bail!(
        "{}: {failed} of the first {} codes do not decode with this model; {hint}",
        model_path.display(),
        codes.len()
    )
}

/// Whether plain-decoded `sample` codes are really scalable ones: every one is longer than the
/// model's first budget and also decodes as a scalable code, to other values. Past the first
/// layer, a plain code almost never passes the scalable checks (each layer padded with zeros to
/// its budget); at the first budget both kinds are one valid layer, so nothing tells them apart.
fn look_scalable(m: &Model<'_>, sample: &[&[u8]]) -> bool {
    let first = m.budget(0).unwrap_or(usize::MAX);
    if sample.is_empty() || sample.iter().any(|c| c.len() <= first) {
        return false;
    }
    let (plain, _) = decode_all(m, sample, false);
    let (layered, results) = decode_all(m, sample, true);
    results.iter().all(Result::is_ok) && plain != layered
}

/// For a code that failed to decode as one kind, a note when it decodes as the other kind.
fn other_kind_hint(m: &Model<'_>, code: &[u8], scalable: bool) -> &'static str {
    let mut out = vec![0f32; m.dim()];
    let other = if scalable {
        codec_core::decode(m, code, &mut out)
    } else {
        decode_scalable(m, code, &mut out).map(|_| ())
    };
    match (other, scalable) {
        (Err(_), _) => "",
        (Ok(()), true) => " (it decodes as a plain code: without --scalable?)",
        (Ok(()), false) => " (it decodes as a scalable code: add --scalable)",
    }
}
