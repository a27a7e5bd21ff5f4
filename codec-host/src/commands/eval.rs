//! `naicfc eval`: the rate sweep, as a table, a JSON report and an SVG plot.

use crate::codec::ModelFile;
use crate::eval::{EvalConfig, load, load_unlabelled, plot, report, run as sweep};
use crate::exit::Outcome;
use crate::io::ReadOptions;
use crate::io::atomic::create_output_dir;
use crate::io::dataset::{Dataset, Split};
use crate::io::outputs::{Place, check_outputs, prepare_files_dir, refuse_stdout};
use crate::metrics::ScoreOptions;
use crate::search::Metric;
use anyhow::{Result, bail};
use std::path::PathBuf;

/// Arguments of `naicfc eval`.
#[derive(clap::Args, Debug)]
#[command(after_help = help_epilogue())]
pub struct Args {
    /// Model file
    #[arg(short, long)]
    pub model: PathBuf,
    /// Dataset root (query_feature/, gallery_feature/, lists; train/ for the bound's spectrum):
    /// dr and re-ID
    #[arg(long, required_unless_present = "test", conflicts_with = "test")]
    pub data: Option<PathBuf>,
    /// Features without identities (a directory of .dat files or a .npy): dr, rmse and the
    /// bound, no re-ID
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// With --test: training features whose spectrum gives the bound (default: the test
    /// features' own)
    #[arg(long, requires = "test")]
    pub train: Option<PathBuf>,
    #[command(flatten)]
    pub sweep: crate::commands::Budgets,
    /// Directory for report.json and rate.svg (created, with its parents, before the sweep);
    /// it must be new or empty
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Delete report.json and rate.svg already in --report first, instead of refusing a
    /// directory that is not empty
    #[arg(long, requires = "report")]
    pub overwrite: bool,
    /// Also compress the gallery and score compressed against compressed
    #[arg(long)]
    pub symmetric: bool,
    /// Drop same-identity same-camera gallery items when scoring
    #[arg(long)]
    pub exclude_same_camera: bool,
    /// Similarity for re-ID
    #[arg(long, value_enum, default_value_t = Metric::Cosine)]
    pub metric: Metric,
    /// Also score prefixes of one scalable code per query (cut at the model's budgets)
    #[arg(long)]
    pub scalable: bool,
    /// Print the report as JSON (what --report writes to report.json) instead of the table
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub strict: crate::commands::Strict,
}

/// The `--help` epilogue: examples, then what the table's columns mean.
fn help_epilogue() -> String {
    format!(
        "Examples:\n  naicfc eval -m model.nfcm --data data-a --report report/\n  \
         naicfc eval -m model.nfcm --test features.npy --train train.npy\n\n{}",
        report::COLUMNS
    )
}

/// Run `naicfc eval`.
pub fn run(args: &Args) -> Result<Outcome> {
    let model = ModelFile::read(&args.model)?;
    let m = model.model();
    for &budget in &args.sweep.budgets {
        model.check_budget(budget)?;
    }
    if let Some(dir) = &args.report {
        prepare_report_dir(dir, args)?;
    }
    let read = ReadOptions {
        dim: Some(m.dim()),
        strict: args.strict.strict,
        prefer_dim: None,
    };
    let data = match (&args.data, &args.test) {
        (Some(root), _) => load(root, &read)?,
        (None, Some(test)) => {
            if args.symmetric || args.exclude_same_camera {
                bail!("--symmetric and --exclude-same-camera need identities: use --data");
            }
            load_unlabelled(test, args.train.as_deref(), &read)?
        }
        (None, None) => bail!("give --data or --test"),
    };
    // Loading stops at the first unreadable file when strict; list mismatches come back as
    // failures, and stop the run here.
    if let (true, Some(first)) = (args.strict.strict, data.failures.first()) {
        bail!("{first}");
    }
    for f in &data.failures {
        eprintln!("{f}");
    }
    if let Some(root) = &args.data {
        check_labels(args, root, &data)?;
    }
    if args.scalable {
        note_budgets_without_prefix(args, &m);
    }
    let cfg = EvalConfig {
        budgets: args.sweep.budgets.clone(),
        symmetric: args.symmetric,
        score: ScoreOptions {
            exclude_same_camera: args.exclude_same_camera,
            ..ScoreOptions::default()
        },
        metric: args.metric,
        scalable: args.scalable,
    };
    let r = sweep(&model, &data, &cfg)?;
    if args.json {
        println!("{}", report::json(&r));
    } else {
        print!("{}", report::table(&r));
    }
    if let Some(dir) = &args.report {
        crate::io::atomic::write_atomic(&dir.join(REPORT_JSON), report::json(&r).as_bytes())?;
        crate::io::atomic::write_atomic(&dir.join(RATE_SVG), plot::svg(&r)?.as_bytes())?;
        crate::summary!(
            "naicfc eval: wrote {} and {}",
            dir.join(REPORT_JSON).display(),
            dir.join(RATE_SVG).display()
        );
    }
    Ok(if data.failures.is_empty() {
        Outcome::Success
    } else {
        Outcome::Partial
    })
}

/// What the scores need of the lists: with `--exclude-same-camera`, both lists with cameras
/// (an error naming the list otherwise); without lists, a note that only dr is measured.
fn check_labels(args: &Args, root: &std::path::Path, data: &crate::eval::EvalData) -> Result<()> {
    let ds = Dataset::new(root);
    match &data.labels {
        None if args.exclude_same_camera => bail!(
            "{} and {}: --exclude-same-camera needs both lists, with a camera column",
            ds.list_path(Split::Query).display(),
            ds.list_path(Split::Gallery).display()
        ),
        None => crate::summary!(
            "naicfc eval: no query and gallery lists in {}: only dr is measured",
            root.display()
        ),
        Some((q, g)) if args.exclude_same_camera => {
            for (split, labels) in [(Split::Query, q), (Split::Gallery, g)] {
                if labels.iter().any(|l| l.cam.is_none()) {
                    bail!(
                        "{}: no camera column; --exclude-same-camera needs cameras in both lists",
                        ds.list_path(split).display()
                    );
                }
            }
        }
        Some(_) => {}
    }
    Ok(())
}

/// A scalable code has prefixes only at the model's budgets: say which of the budgets asked
/// for get no scalable row.
fn note_budgets_without_prefix(args: &Args, m: &codec_core::Model<'_>) {
    let trained: Vec<String> = (0..m.budget_count())
        .filter_map(|i| m.budget(i))
        .map(|b| b.to_string())
        .collect();
    let other: Vec<String> = args
        .sweep
        .budgets
        .iter()
        .map(ToString::to_string)
        .filter(|b| !trained.contains(b))
        .collect();
    if !other.is_empty() {
        crate::summary!(
            "naicfc eval: --scalable: a scalable code has prefixes only at the model's budgets \
             ({}), not at {}",
            trained.join(", "),
            other.join(", ")
        );
    }
}

/// Make sure the report can be written before the sweep, which can take long: neither the
/// directory nor the two files it gets (which may be links) may be an input or lie inside the
/// dataset, and the directory is created now, so that a path that is a file (or under one)
/// fails at once, by name; one that holds other files is refused unless `--overwrite`.
fn prepare_report_dir(dir: &std::path::Path, args: &Args) -> Result<()> {
    refuse_stdout(dir, "--report", "a directory of files", "a directory")?;
    let mut inputs = vec![Place::new("--model", &args.model)];
    if let Some(root) = &args.data {
        let data = Dataset::new(root);
        inputs.push(Place::new("--data", root));
        for split in Split::ALL {
            inputs.push(Place::new("--data", data.features_dir(split)));
            inputs.push(Place::new("--data", data.list_path(split)));
        }
    }
    for (flag, path) in [("--test", &args.test), ("--train", &args.train)] {
        if let Some(path) = path {
            inputs.extend(Place::features(flag, path));
        }
    }
    let outputs = [
        Place::new("--report", dir),
        Place::new("--report", dir.join(REPORT_JSON)),
        Place::new("--report", dir.join(RATE_SVG)),
    ];
    check_outputs(&outputs, &inputs)?;
    // Created first, so that a path that is a file (or under one) fails as uncreatable.
    create_output_dir(dir)?;
    prepare_files_dir(dir, "--report", args.overwrite, &[REPORT_JSON, RATE_SVG])
}

/// The files `--report` writes.
const REPORT_JSON: &str = "report.json";
const RATE_SVG: &str = "rate.svg";
