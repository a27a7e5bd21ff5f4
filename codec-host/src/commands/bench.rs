//! `naicfc bench`: how fast features are read (all cores) and, given a model, encode and
//! decode throughput per budget: the batch path on one thread and on all cores, and one
//! vector per call.

use crate::batch::{Projection, decode_rows, encode_rows};
use crate::codec::{CodeKind, ModelFile, decode_into, encode_into};
use crate::exit::Outcome;
use crate::io::{ReadOptions, read_features};
use anyhow::{Result, bail};
use codec_core::Model;
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Arguments of `naicfc bench`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  naicfc bench -m model.nfcm -i data-a/query_feature -b 32,64")]
pub struct Args {
    /// Model file (without one, only reading is measured)
    #[arg(short, long)]
    pub model: Option<PathBuf>,
    /// Features to read and code (directory of .dat or .npy)
    #[arg(
        short = 'i',
        long = "in",
        visible_alias = "features",
        value_name = "INPUT"
    )]
    pub features: PathBuf,
    /// Vectors coded per measurement (the first ones read)
    #[arg(long, default_value_t = 2000, value_parser = crate::commands::at_least_one)]
    pub rows: usize,
    #[command(flatten)]
    pub sweep: crate::commands::Budgets,
    /// Least time spent per measurement, in seconds (above 0, at most a day)
    #[arg(long, default_value_t = 1.0, value_parser = seconds)]
    pub seconds: f64,
    /// Print one JSON object instead of a table
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub strict: crate::commands::Strict,
}

/// How fast a directory was read.
#[derive(Debug, Clone, Serialize)]
pub struct ReadThroughput {
    /// Files (vectors) read.
    pub files: usize,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Files per second.
    pub files_per_sec: f64,
    /// Megabytes (10^6) of features per second.
    pub mb_per_sec: f64,
}

/// Everything measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Reading the features.
    pub read: ReadThroughput,
    /// Coding, per budget (empty without a model).
    pub codec: Vec<Throughput>,
}

/// Throughput at one budget.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// Budget in bytes.
    pub budget: usize,
    /// Vectors encoded per second on one thread, all rows in one batch call.
    pub encode_per_sec: f64,
    /// Vectors decoded per second on one thread, all codes in one batch call.
    pub decode_per_sec: f64,
    /// Vectors encoded per second on one thread, one vector per call (`codec_core::encode`).
    pub encode_per_sec_single: f64,
    /// Vectors decoded per second on one thread, one code per call (`codec_core::decode`).
    pub decode_per_sec_single: f64,
    /// Vectors encoded per second on all cores (batches in parallel).
    pub encode_per_sec_all: f64,
    /// Vectors decoded per second on all cores.
    pub decode_per_sec_all: f64,
    /// Threads of the all-core figures.
    pub threads: usize,
    /// Mean code length.
    pub bytes_mean: f64,
}

/// The parser of `--seconds`: a duration that `Duration` holds and a run can finish.
fn seconds(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(s),
        Ok(_) => Err("must be above 0 and at most 86400 (a day)".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Repeat `f` over the `n` inputs until at least `min` has passed; calls per second (0 when
/// there is nothing to call).
fn rate(min: Duration, n: usize, mut f: impl FnMut(usize)) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let start = Instant::now();
    let mut calls = 0usize;
    while calls == 0 || start.elapsed() < min {
        for i in 0..n {
            f(i);
        }
        calls += n;
    }
    calls as f64 / start.elapsed().as_secs_f64()
}

/// Repeat `f` (one call codes `n` vectors) until at least `min` has passed; vectors per
/// second (0 when there is nothing to code).
fn batch_rate(min: Duration, n: usize, mut f: impl FnMut()) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let start = Instant::now();
    let mut calls = 0usize;
    while calls == 0 || start.elapsed() < min {
        f();
        calls += 1;
    }
    (calls * n) as f64 / start.elapsed().as_secs_f64()
}

/// Run `naicfc bench`.
pub fn run(args: &Args) -> Result<Outcome> {
    let model_file = args.model.as_deref().map(ModelFile::read).transpose()?;
    let model = model_file.as_ref().map(ModelFile::model);
    if let Some(file) = &model_file {
        for &budget in &args.sweep.budgets {
            file.check_budget(budget)?;
        }
    }
    let started = Instant::now();
    // As in `encode`: files of the model's size are preferred, so a directory of another
    // dimension is one error below rather than every file reported on its own line.
    let loaded = read_features(
        &args.features,
        &ReadOptions {
            dim: None,
            strict: args.strict.strict,
            prefer_dim: model.as_ref().map(Model::dim),
        },
    )?;
    if let (Some(m), Some(path)) = (&model, &args.model) {
        if !loaded.set.is_empty() && loaded.set.dim != m.dim() {
            bail!(
                "{}: the features have {} values, the model {} expects {}",
                args.features.display(),
                loaded.set.dim,
                path.display(),
                m.dim()
            );
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // Skipped files are reported like in every other command, and make the status 1.
    for f in &loaded.failures {
        eprintln!("{f}");
    }
    let mut set = loaded.set;
    if set.is_empty() {
        bail!("{}: no usable vectors", args.features.display());
    }
    let read = ReadThroughput {
        files: set.len(),
        seconds,
        files_per_sec: set.len() as f64 / seconds.max(1e-9),
        mb_per_sec: (set.data.len() * 4) as f64 / 1e6 / seconds.max(1e-9),
    };
    let rows = args.rows.min(set.len());
    set.names.truncate(rows);
    set.data.truncate(rows * set.dim);
    let codec = match &model {
        Some(model) => coding(model, &set, args)?,
        None => Vec::new(),
    };
    let report = BenchReport { read, codec };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let r = &report.read;
        println!(
            "read {} files in {:.2} s: {:.0} files/s, {:.0} MB/s (all cores)",
            r.files, r.seconds, r.files_per_sec, r.mb_per_sec
        );
        if let (Some(m), Some(file)) = (&model, &model_file) {
            let threads = report.codec.first().map_or(1, |r| r.threads);
            println!(
                "{rows} vectors of {} values, model {} bytes; vectors/s encode / decode: one \
                 thread in batches, one thread one vector per call, {threads} threads in batches",
                m.dim(),
                file.bytes().len()
            );
            println!(
                "{:>6} {:>20} {:>20} {:>20} {:>8}",
                "budget", "batch, 1 thread", "per vector", "batch, all cores", "bytes"
            );
            let pair = |e: f64, d: f64| format!("{e:.0} / {d:.0}");
            for r in &report.codec {
                println!(
                    "{:>6} {:>20} {:>20} {:>20} {:>8.1}",
                    r.budget,
                    pair(r.encode_per_sec, r.decode_per_sec),
                    pair(r.encode_per_sec_single, r.decode_per_sec_single),
                    pair(r.encode_per_sec_all, r.decode_per_sec_all),
                    r.bytes_mean
                );
            }
        }
    }
    Ok(if loaded.failures.is_empty() {
        Outcome::Success
    } else {
        eprintln!(
            "naicfc bench: {} inputs skipped (listed above)",
            loaded.failures.len()
        );
        Outcome::Partial
    })
}

/// Encode and decode throughput per budget over the rows of `set`: the batch path on one
/// thread and on all cores, and one vector per call. The batch codes and values are checked
/// against the per-vector ones, so every figure is for the same output.
fn coding(m: &Model<'_>, set: &crate::io::FeatureSet, args: &Args) -> Result<Vec<Throughput>> {
    let min = Duration::from_secs_f64(args.seconds.max(0.01));
    let n = set.len();
    let proj = Projection::new(m);
    let mut results = Vec::new();
    let mut out = vec![0f32; m.dim()];
    for &budget in &args.sweep.budgets {
        let mut codes: Vec<Vec<u8>> = vec![Vec::new(); n];
        let mut buf = vec![0u8; budget];
        let mut failure = None;
        let encode_per_sec_single = rate(min, n, |i| {
            match codec_core::encode(m, set.row(i), budget, &mut buf) {
                Ok(len) => codes[i] = buf[..len].to_vec(),
                Err(e) => failure = Some(e),
            }
        });
        if let Some(e) = failure {
            bail!("encoding at {budget} bytes: {e}");
        }
        let mut singles = vec![0f32; n * m.dim()];
        let decode_per_sec_single = rate(min, n, |i| {
            if let Err(e) = codec_core::decode(m, &codes[i], &mut out) {
                failure = Some(e);
            }
            singles[i * m.dim()..(i + 1) * m.dim()].copy_from_slice(&out);
        });
        if let Some(e) = failure {
            bail!("decoding at {budget} bytes: {e}");
        }

        let mut slots = vec![0u8; n * budget];
        let mut lens = Vec::new();
        let encode_per_sec = batch_rate(min, n, || {
            lens = encode_rows(m, &proj, &set.data, budget, &mut slots);
        });
        for (i, (len, slot)) in lens.iter().zip(slots.chunks(budget)).enumerate() {
            if len.as_ref().ok().map(|&l| &slot[..l]) != Some(&codes[i][..]) {
                bail!("at {budget} bytes the batch code of row {i} differs from its own code");
            }
        }
        let refs: Vec<&[u8]> = codes.iter().map(Vec::as_slice).collect();
        let mut batch = vec![0f32; n * m.dim()];
        let mut decoded = Vec::new();
        let decode_per_sec = batch_rate(min, n, || {
            decoded = decode_rows(m, &proj, &refs, &mut batch);
        });
        let same = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
        if decoded.iter().any(Result::is_err) || !same(&batch, &singles) {
            bail!("at {budget} bytes the batch decode differs from the per-vector one");
        }

        let encode_per_sec_all = batch_rate(min, n, || {
            let _ = encode_into(m, &set.data, CodeKind::Budget(budget), &mut slots);
        });
        let decode_per_sec_all = batch_rate(min, n, || {
            let _ = decode_into(m, &refs, false, &mut batch);
        });
        results.push(Throughput {
            budget,
            encode_per_sec,
            decode_per_sec,
            encode_per_sec_single,
            decode_per_sec_single,
            encode_per_sec_all,
            decode_per_sec_all,
            threads: rayon::current_num_threads(),
            bytes_mean: codes.iter().map(Vec::len).sum::<usize>() as f64 / n as f64,
        });
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{gaussian, parses_in, tiny_model};

    #[test]
    fn features_of_another_dimension_are_one_error_and_the_model_is_parsed_once() {
        let dir = tempfile::tempdir().unwrap();
        let model_path = dir.path().join("m.nfcm");
        std::fs::write(&model_path, tiny_model(12).bytes()).unwrap();
        let features = dir.path().join("f");
        crate::io::write_rows_dat(&features, &gaussian(30, 8, 3)).unwrap();
        let mut args = Args {
            model: Some(model_path),
            features,
            rows: 10,
            sweep: crate::commands::Budgets { budgets: vec![16] },
            seconds: 0.01,
            json: true,
            strict: Default::default(),
        };
        let err = run(&args).unwrap_err().to_string();
        assert!(err.contains("the features have 8 values"), "{err}");
        assert!(err.contains("expects 12"), "{err}");

        crate::io::write_rows_dat(&dir.path().join("g"), &gaussian(30, 12, 3)).unwrap();
        args.features = dir.path().join("g");
        let (outcome, parses) = parses_in(|| run(&args).unwrap());
        assert_eq!(outcome, Outcome::Success);
        assert_eq!(parses, 1);
    }
}
