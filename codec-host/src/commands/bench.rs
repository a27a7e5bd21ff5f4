//! `naicfc bench`: how fast features are read (all cores) and, given a model, encode and
//! decode throughput on one thread per budget.

use crate::codec::ModelFile;
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
    /// Vectors encoded per second on one thread.
    pub encode_per_sec: f64,
    /// Vectors decoded per second on one thread.
    pub decode_per_sec: f64,
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
            println!(
                "one thread, {rows} vectors of {} values, model {} bytes",
                m.dim(),
                file.bytes().len()
            );
            println!(
                "{:>6} {:>14} {:>14} {:>8}",
                "budget", "encode vec/s", "decode vec/s", "bytes"
            );
            for r in &report.codec {
                println!(
                    "{:>6} {:>14.0} {:>14.0} {:>8.1}",
                    r.budget, r.encode_per_sec, r.decode_per_sec, r.bytes_mean
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

/// One-thread encode and decode throughput per budget over the rows of `set`.
fn coding(m: &Model<'_>, set: &crate::io::FeatureSet, args: &Args) -> Result<Vec<Throughput>> {
    let min = Duration::from_secs_f64(args.seconds.max(0.01));
    let mut results = Vec::new();
    let mut out = vec![0f32; m.dim()];
    for &budget in &args.sweep.budgets {
        let mut codes: Vec<Vec<u8>> = vec![Vec::new(); set.len()];
        let mut buf = vec![0u8; budget];
        let mut failure = None;
        let encode_per_sec = rate(min, set.len(), |i| {
            match codec_core::encode(m, set.row(i), budget, &mut buf) {
                Ok(len) => codes[i] = buf[..len].to_vec(),
                Err(e) => failure = Some(e),
            }
        });
        if let Some(e) = failure {
            bail!("encoding at {budget} bytes: {e}");
        }
        let decode_per_sec = rate(min, set.len(), |i| {
            if let Err(e) = codec_core::decode(m, &codes[i], &mut out) {
                failure = Some(e);
            }
        });
        if let Some(e) = failure {
            bail!("decoding at {budget} bytes: {e}");
        }
        results.push(Throughput {
            budget,
            encode_per_sec,
            decode_per_sec,
            bytes_mean: codes.iter().map(Vec::len).sum::<usize>() as f64 / set.len() as f64,
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
