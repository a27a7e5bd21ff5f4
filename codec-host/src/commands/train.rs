//! `naicfc train`: learn a codec model from training features.

use crate::commands::{count_in, number_in};
use crate::exit::Outcome;
use crate::io::ReadOptions;
use crate::io::dataset::{Dataset, Split};
use crate::io::outputs::{Place, check_file_outputs, check_outputs};
use crate::train::input::read_training_input;
use crate::train::{Quantiser, TrainConfig, tables::TableParams, train_on_sample};
use anyhow::{Context, Result, bail};
use codec_core::internals::{MAX_BUDGETS, MAX_COEFFS};
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `naicfc train`.
#[derive(clap::Args, Debug)]
// One of the two inputs is required: a usage error names both, not only --data.
#[command(group(clap::ArgGroup::new("input").required(true).args(["data", "features"])))]
#[command(
    after_help = "Examples:\n  naicfc train --data data-a -o model.nfcm\n  naicfc train -i train.npy --labels train_list.txt -o model.nfcm   # list: <name> <identity> [camera]"
)]
pub struct Args {
    /// Dataset root in the standard layout (uses train/train_feature and train/train_list.txt)
    #[arg(long, conflicts_with = "features")]
    pub data: Option<PathBuf>,
    /// Directory of training .dat files, or a .npy file
    #[arg(
        short = 'i',
        long = "in",
        visible_alias = "features",
        value_name = "INPUT"
    )]
    pub features: Option<PathBuf>,
    /// Identity list for --in (`<name> <identity> [camera]`)
    #[arg(long, requires = "features")]
    pub labels: Option<PathBuf>,
    /// Output model file (`-` for standard output)
    #[arg(short, long)]
    pub out: PathBuf,
    /// Budgets (bytes, 1 to 8192 each, in any order) to tune the model for; it works at any
    /// budget
    #[arg(
        short,
        long = "budget",
        visible_alias = "budgets",
        value_delimiter = ',',
        default_value = "16,32,64,128,256",
        value_parser = crate::commands::budget()
    )]
    pub budgets: Vec<usize>,
    /// Most transform coefficients to keep (1 to 1024; fewer make a smaller model, e.g. for
    /// firmware: the model holds coefficients x active dims 16-bit values)
    #[arg(
        long,
        default_value_t = 1024,
        value_parser = crate::commands::count_in(1..=MAX_COEFFS as u64)
    )]
    pub max_coeffs: usize,
    /// With identity labels: how much to favour the coefficients that tell identities apart
    /// over a small reconstruction error (0 = reconstruction error only)
    #[arg(
        long,
        default_value_t = 0.0,
        value_parser = number_in(0.0, f64::INFINITY),
        help_heading = "Advanced"
    )]
    pub reid_weight: f64,
    /// How much coarser the model codes the coefficients that vary less: steps grow as
    /// (spread / largest spread)^-this (0 = the same step for all; 0.1 lowers dr by 1-2% at
    /// 16-128 bytes on kind-A features)
    #[arg(
        long,
        default_value_t = crate::train::weights::DEFAULT_SPREAD_EXPONENT,
        value_parser = number_in(0.0, 1.0),
        help_heading = "Advanced"
    )]
    pub spread_exponent: f64,
    /// Trellis models: how much coarser the model codes the weak coefficients, the ones that
    /// vary less than one quantiser step (0 = not at all; the default lowers dr by 1-2.4% at
    /// 16-128 bytes on kind-A features)
    #[arg(
        long,
        default_value_t = crate::train::weights::DEFAULT_STEP_GROWTH,
        value_parser = number_in(0.0, crate::train::weights::MAX_STEP_GROWTH),
        help_heading = "Advanced"
    )]
    pub step_growth: f64,
    /// Let reconstructed values leave the range seen in training. Keeping them inside (the
    /// default) gives a smaller reconstruction error and keeps non-negative features
    /// non-negative; letting them out gave 0.35-0.7 points more ACC_reid on kind-B features
    /// for 0.9-4.6% more dr
    #[arg(long, help_heading = "Advanced")]
    pub no_clamp: bool,
    /// Where a value is put back inside its quantiser cell: 1 = at the cell's mean (least
    /// reconstruction error), 0 = at its middle (best re-ID ranking), or anything between
    #[arg(
        long,
        default_value_t = crate::train::tables::DEFAULT_CENTROID_WEIGHT,
        value_parser = number_in(0.0, 1.0),
        help_heading = "Advanced"
    )]
    pub centroid_weight: f64,
    /// Quantiser: `trellis` (two interleaved quantisers, Viterbi search), `scalar` (one
    /// dead-zone quantiser), or `auto`: with identity labels, train both and keep the one with
    /// the better re-ID on a validation split of the training set; without labels, the
    /// trellis
    // The values are described above: their own docs are written for rustdoc, not for --help.
    #[arg(long, value_enum, default_value_t = Quantiser::Auto, hide_possible_values = true)]
    pub quantiser: Quantiser,
    /// Trellis models: how much the search gives up in error for fewer bits on the finely
    /// coded coefficients; larger lowers dr at high budgets
    #[arg(
        long,
        default_value_t = crate::train::tables::DEFAULT_TRELLIS_LAMBDA,
        value_parser = number_in(0.0, crate::train::tables::MAX_TRELLIS_LAMBDA),
        help_heading = "Advanced"
    )]
    pub trellis_lambda: f64,
    /// The same for the coefficients coded mostly as zeros (the small budgets); smaller keeps
    /// more of them, raising ACC_reid there at some cost in dr
    #[arg(
        long,
        default_value_t = crate::train::tables::DEFAULT_TRELLIS_LAMBDA_LOW,
        value_parser = number_in(0.0, crate::train::tables::MAX_TRELLIS_LAMBDA),
        help_heading = "Advanced"
    )]
    pub trellis_lambda_low: f64,
    /// How many of the strongest coefficients the decoder shrinks a little towards zero,
    /// by amounts learned from coding training vectors, which lowers the reconstruction
    /// error (0 = none)
    #[arg(
        long,
        default_value_t = crate::train::gains::DEFAULT_COEFFS,
        value_parser = clap::value_parser!(u16).range(0..=MAX_COEFFS as i64),
        help_heading = "Advanced"
    )]
    pub gain_coeffs: u16,
    /// Most training vectors held in memory: a larger set is read once for its mean and range,
    /// and an evenly spaced sample of this many learns the transform and tables
    #[arg(long, default_value_t = 100_000, value_parser = count_in(2..))]
    pub max_rows: usize,
    /// Vectors read at a time
    #[arg(long, default_value_t = 65_536)]
    pub batch_rows: usize,
    /// Values per vector; when omitted, a .npy's row length or, for a directory, the most
    /// common file size (files of another size are then reported and left out)
    #[arg(long)]
    pub dim: Option<usize>,
    /// Stop at the first bad input
    #[arg(long)]
    pub strict: bool,
    /// Print the summary as one JSON object on stdout (vectors, dims, coefficients, model
    /// size, minimum budget, quantiser); not with `-o -`, where stdout is the model
    #[arg(long)]
    pub json: bool,
}

/// What `naicfc train --json` prints.
#[derive(Debug, serde::Serialize)]
struct Summary {
    rows: usize,
    sampled: usize,
    rejected: usize,
    dim: usize,
    active_dims: usize,
    coefficients: usize,
    supported_coefficients: Option<usize>,
    explained_variance: f64,
    shrinkage: f64,
    quantiser: &'static str,
    gain_coeffs: usize,
    format_version: u16,
    model_bytes: usize,
    min_budget: usize,
    seconds: f64,
}

/// Run `naicfc train`.
pub fn run(args: &Args) -> Result<Outcome> {
    let start = Instant::now();
    // Every flag is checked before the training set is read, which can take minutes.
    let cfg = config(args)?;
    if args.json && crate::io::atomic::is_stdout(&args.out) {
        bail!("--json and -o - both write to standard output: name a model file");
    }
    let (features, list) = sources(args)?;
    let (features_flag, labels_flag) = match args.data {
        Some(_) => ("--data", "--data"),
        None => ("--in", "--labels"),
    };
    let mut inputs = Place::features(features_flag, &features);
    inputs.extend(Place::optional(labels_flag, list.as_deref()));
    let outputs = [Place::new("--out", &args.out)];
    check_outputs(&outputs, &inputs)?;
    check_file_outputs(&outputs)?;
    let read = ReadOptions {
        dim: args.dim,
        strict: args.strict,
        prefer_dim: None,
    };
    let input = read_training_input(
        &features,
        list.as_deref(),
        &read,
        args.max_rows,
        args.batch_rows,
    )
    .with_context(|| format!("reading the training set {}", features.display()))?;
    let failures = input.failures;
    for f in &failures {
        eprintln!("{f}");
    }
    if args.strict && !failures.is_empty() {
        bail!("{} inputs rejected", failures.len());
    }
    // Training has no count to show: a status line names each stage as it starts
    // (`progress::stage` in `train`) and how long it has run.
    let status = crate::progress::status("training");
    let trained = train_on_sample(
        &input.sample,
        input.labels.as_deref(),
        input.moments,
        input.rows,
        &cfg,
    )
    .with_context(|| crate::io::input_summary(&features, input.rows, failures.len()))?;
    drop(status);
    crate::io::atomic::write_atomic(&args.out, &trained.model)?;
    let s = &trained.summary;
    if args.json {
        let summary = Summary {
            rows: s.rows,
            sampled: s.sampled,
            rejected: failures.len(),
            dim: s.dim,
            active_dims: s.active_dims,
            coefficients: s.coeffs,
            supported_coefficients: s.supported_coeffs,
            explained_variance: s.explained_variance,
            shrinkage: s.shrinkage,
            quantiser: s.quantiser.name(),
            gain_coeffs: s.gain_coeffs,
            format_version: s.format_version,
            model_bytes: s.model_bytes,
            min_budget: s.min_budget,
            seconds: start.elapsed().as_secs_f64(),
        };
        println!("{}", serde_json::to_string(&summary)?);
    }
    crate::summary!(
        "naicfc train: {} vectors{}, {}-d ({} active) -> {} coefficients spanning {:.2}% of the \
         variance; model {} ({} bytes, minimum budget {} bytes){} in {:.1} s",
        s.rows,
        if s.sampled < s.rows {
            format!(" ({} of them kept as the sample)", s.sampled)
        } else {
            String::new()
        },
        s.dim,
        s.active_dims,
        s.coeffs,
        100.0 * s.explained_variance,
        args.out.display(),
        s.model_bytes,
        s.min_budget,
        if s.discriminative {
            ", identity-aware allocation"
        } else {
            ""
        },
        start.elapsed().as_secs_f64()
    );
    if let Some((n, share)) = s.dropped {
        crate::summary!(
            "note: {n} of the {} varying dims are beyond the {} a model codes and are coded as \
             their mean ({:.2}% of the training variance)",
            s.active_dims + n,
            s.active_dims,
            100.0 * share
        );
    }
    crate::summary!(
        "covariance: {} vectors for {} active dims, correlations shrunk by {:.3} toward the \
         variances (0 = none; more with fewer vectors per dim){}",
        s.sampled.min(s.rows),
        s.active_dims,
        s.shrinkage,
        if s.sampled < s.active_dims {
            "; fewer vectors than dims: the transform's weak directions are guesses"
        } else {
            ""
        }
    );
    if let Some(n) = s.supported_coeffs {
        crate::summary!(
            "coefficients: the expected spectrum gives bits to {n} at the largest trained budget; \
             {} kept",
            s.coeffs
        );
    }
    crate::summary!("{}", quantiser_line(s, args.quantiser));
    crate::summary!(
        "model format {}{}",
        s.format_version,
        match s.gain_coeffs {
            0 => String::new(),
            n => format!(", decoder gains on the leading {n} coefficients"),
        }
    );
    Ok(if failures.is_empty() {
        Outcome::Success
    } else {
        Outcome::Partial
    })
}

/// The training features and identity list the flags name (the list only if it exists).
fn sources(args: &Args) -> Result<(PathBuf, Option<PathBuf>)> {
    match (&args.data, &args.features) {
        (Some(root), _) => {
            let data = Dataset::new(root);
            Ok((
                data.features_dir(Split::Train),
                data.existing_list(Split::Train)?,
            ))
        }
        (None, Some(path)) => Ok((path.clone(), args.labels.clone())),
        (None, None) => bail!("give --data DATA or --features DIR"),
    }
}

/// The training options the flags describe, checked (the Python package's `Model.train`
/// checks its options here too).
pub fn config(args: &Args) -> Result<TrainConfig> {
    // The model lists its budgets in increasing order, each once.
    let mut budgets = args.budgets.clone();
    budgets.sort_unstable();
    budgets.dedup();
    if budgets.len() > MAX_BUDGETS {
        bail!(
            "--budget: {} budgets, more than the {MAX_BUDGETS} a model can list",
            budgets.len()
        );
    }
    // The number flags are checked by their parsers (usage errors, status 2).
    let cfg = TrainConfig {
        budgets,
        max_coeffs: args.max_coeffs,
        reid_weight: args.reid_weight,
        spread_exponent: args.spread_exponent,
        step_growth: args.step_growth,
        max_rows: args.max_rows,
        quantiser: args.quantiser,
        clamp: !args.no_clamp,
        gain_coeffs: usize::from(args.gain_coeffs),
        tables: TableParams {
            centroid_weight: args.centroid_weight,
            trellis_lambda: args.trellis_lambda,
            trellis_lambda_low: args.trellis_lambda_low,
            ..TableParams::default()
        },
        ..TrainConfig::default()
    };
    Ok(cfg)
}

/// Which quantiser the model uses and, when training chose it, on what evidence.
fn quantiser_line(s: &crate::train::TrainSummary, asked: Quantiser) -> String {
    let q = s.quantiser.name();
    match &s.validation {
        Some(v) => {
            let (t, d) = v.means();
            format!(
                "quantiser: {q}, chosen by re-ID on a validation split of the training set \
                 ({} queries, {} gallery rows): mean ACC_reid over {} budgets trellis {t:.4}, \
                 scalar {d:.4}",
                v.queries,
                v.gallery,
                v.budgets.len()
            )
        }
        None if asked == Quantiser::Auto => format!(
            "quantiser: {q} (auto: no identity labels, or too few identities seen twice, to \
             measure re-ID)"
        ),
        None => format!("quantiser: {q}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_flag_selects_an_old_format() {
        // There is one model format, so no flag selects another.
        assert!(config_of(&["--plain-step-prior"]).is_err());
        assert_eq!(config_of(&[]).unwrap().gain_coeffs, 24);
    }

    /// The checked options of `naicfc train` with these flags (and `--features`, `--out`).
    fn config_of(flags: &[&str]) -> Result<TrainConfig> {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        let line = ["train", "--features", "f", "--out", "m.nfcm"];
        let cli = <Cli as clap::Parser>::try_parse_from(line.iter().chain(flags))?;
        config(&cli.args)
    }

    #[test]
    fn budgets_are_taken_in_any_order_each_once() {
        let cfg = config_of(&["--budgets", "64,16,256,16"]).unwrap();
        assert_eq!(cfg.budgets, [16, 64, 256]);
    }

    #[test]
    fn number_flags_out_of_range_are_usage_errors() {
        for (flag, value) in [
            ("--reid-weight", "NaN"),
            ("--reid-weight", "inf"),
            ("--reid-weight", "-1"),
            ("--spread-exponent", "5"),
            ("--spread-exponent", "nan"),
            ("--trellis-lambda", "-1"),
            ("--trellis-lambda-low", "1e9"),
            ("--centroid-weight", "2"),
            ("--step-growth", "-0.5"),
            ("--max-rows", "1"),
        ] {
            let err = config_of(&[&format!("{flag}={value}")]).unwrap_err();
            let clap = err.downcast_ref::<clap::Error>().expect("a usage error");
            assert_eq!(
                clap.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{flag} {value}"
            );
            assert!(clap.to_string().contains(flag), "{flag}: {clap}");
        }
        assert_eq!(
            config_of(&["--reid-weight", "1.5"]).unwrap().reid_weight,
            1.5
        );
    }
}
