//! `naicfc demo`: the whole pipeline on built-in defaults.
//!
//! Generates the default synthetic kind-A dataset, re-identifies the uncompressed queries,
//! trains a model on the training split and runs the rate sweep over all five budgets: the
//! table a user would want to see first.

use crate::codec::ModelFile;
use crate::eval::{EvalConfig, load, plot, report};
use crate::exit::Outcome;
use crate::io::ReadOptions;
use crate::io::outputs::refuse_stdout;
use crate::metrics::ScoreOptions;
use crate::search::Metric;
use crate::synth::{Kind, SynthConfig, write_dataset};
use anyhow::Result;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `naicfc demo`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  naicfc demo -o /tmp/naicfc-demo")]
pub struct Args {
    /// Working directory for the generated data, model, results and reports
    #[arg(
        short = 'o',
        long = "out",
        visible_alias = "dir",
        default_value = "naicfc-demo"
    )]
    pub dir: PathBuf,
    /// Seed of the synthetic data
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the summary as one JSON object on stdout instead of the table: the sweep (what
    /// report/report.json holds), the files written and the time
    #[arg(long)]
    pub json: bool,
}

/// What the demo made, and what `naicfc demo --json` prints.
#[derive(Debug, serde::Serialize)]
struct Summary {
    /// The sweep, as report/report.json holds it.
    report: crate::eval::Report,
    dataset: PathBuf,
    model: PathBuf,
    reid_result: PathBuf,
    report_json: PathBuf,
    plot: PathBuf,
    seconds: f64,
    /// Whether files the demo did not write were left out (exit status 1).
    partial: bool,
}

/// Run `naicfc demo`.
pub fn run(args: &Args) -> Result<Outcome> {
    refuse_stdout(&args.dir, "--out", "a working directory", "a directory")?;
    let cfg = SynthConfig::default_sizes(Kind::A, 2048, args.seed);
    let summary = pipeline(&args.dir, &cfg)?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print!("{}", table(&summary));
    }
    Ok(if summary.partial {
        eprintln!(
            "naicfc demo: files in {} that the demo did not write were left out (listed above)",
            summary.dataset.display()
        );
        Outcome::Partial
    } else {
        Outcome::Success
    })
}

/// The whole pipeline on the dataset `cfg` describes, in `dir`.
fn pipeline(dir: &Path, cfg: &SynthConfig) -> Result<Summary> {
    let start = Instant::now();
    let data = dir.join("data");
    eprintln!(
        "naicfc demo: generating the default kind-A dataset in {}",
        data.display()
    );
    write_dataset(&data, cfg)?;

    // Files an earlier run or the user left in the directory are reported and left out, as
    // every command does, rather than stopping the demo at its last step.
    let mut partial = false;
    let results = dir.join("reid-uncompressed.json");
    partial |= super::reid::run(&super::reid::Args {
        query: data.join("query_feature"),
        gallery: data.join("gallery_feature"),
        out: results.clone(),
        top: 100,
        metric: Metric::Cosine,
        query_list: Some(data.join("query_list.txt")),
        gallery_list: Some(data.join("gallery_list.txt")),
        dim: None,
        strict: false,
        model: None,
        budget: None,
        coded: crate::coded_search::CodedSide::Query,
        batch_rows: 65_536,
        rerank: Default::default(),
        learn: Default::default(),
    })? == Outcome::Partial;

    let model_path = dir.join("model.nfcm");
    partial |= super::train::run(&super::train::Args {
        data: Some(data.clone()),
        features: None,
        labels: None,
        out: model_path.clone(),
        budgets: vec![16, 32, 64, 128, 256],
        max_coeffs: 1024,
        reid_weight: 0.0,
        spread_exponent: crate::train::weights::DEFAULT_SPREAD_EXPONENT,
        step_growth: crate::train::weights::DEFAULT_STEP_GROWTH,
        centroid_weight: crate::train::tables::DEFAULT_CENTROID_WEIGHT,
        quantiser: crate::train::Quantiser::Auto,
        no_clamp: false,
        trellis_lambda: crate::train::tables::DEFAULT_TRELLIS_LAMBDA,
        trellis_lambda_low: crate::train::tables::DEFAULT_TRELLIS_LAMBDA_LOW,
        gain_coeffs: crate::train::gains::DEFAULT_COEFFS,
        max_rows: 100_000,
        batch_rows: 65_536,
        dim: None,
        strict: false,
        json: false,
    })? == Outcome::Partial;

    let model = ModelFile::read(&model_path)?;
    let eval_data = load(
        &data,
        &ReadOptions {
            dim: Some(cfg.dim),
            strict: false,
            prefer_dim: None,
        },
    )?;
    for f in &eval_data.failures {
        eprintln!("{f}");
    }
    partial |= !eval_data.failures.is_empty();
    let report_dir = dir.join("report");
    let r = crate::eval::run(
        &model,
        &eval_data,
        &EvalConfig {
            budgets: vec![16, 32, 64, 128, 256],
            symmetric: false,
            score: ScoreOptions::default(),
            metric: Metric::Cosine,
            scalable: false,
        },
    )?;
    crate::io::atomic::create_output_dir(&report_dir)?;
    crate::io::atomic::write_atomic(&report_dir.join("report.json"), report::json(&r).as_bytes())?;
    crate::io::atomic::write_atomic(&report_dir.join("rate.svg"), plot::svg(&r)?.as_bytes())?;

    Ok(Summary {
        report: r,
        dataset: data,
        model: model_path,
        reid_result: results,
        report_json: report_dir.join("report.json"),
        plot: report_dir.join("rate.svg"),
        seconds: start.elapsed().as_secs_f64(),
        partial,
    })
}

/// The table and where everything went, for a person reading the terminal.
fn table(s: &Summary) -> String {
    let mut t = format!(
        "naicfc on the default kind-A set (2048-d features, 2,000 queries x 20,000 gallery):\n{}\n",
        report::table(&s.report)
    );
    let _ = writeln!(t, "dataset:        {}", s.dataset.display());
    let _ = writeln!(t, "model:          {}", s.model.display());
    let _ = writeln!(
        t,
        "re-ID result:   {} (uncompressed queries)",
        s.reid_result.display()
    );
    let _ = writeln!(t, "report:         {}", s.report_json.display());
    let _ = writeln!(t, "plot:           {}", s.plot.display());
    let _ = writeln!(t, "total time:     {:.1} s", s.seconds);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_summary_holds_the_sweep_and_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = SynthConfig {
            train_identities: 40,
            train: 400,
            test_identities: 20,
            queries: 40,
            gallery: 200,
            ..SynthConfig::default_sizes(Kind::A, 64, 3)
        };
        let summary = pipeline(dir.path(), &cfg).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&summary).unwrap()).unwrap();
        let rates = v["report"]["rates"].as_array().unwrap();
        assert_eq!(rates.len(), 5);
        assert!(rates[0]["scores"]["acc_reid"].as_f64().unwrap() > 0.0);
        for key in ["dataset", "model", "reid_result", "report_json", "plot"] {
            let path = Path::new(v[key].as_str().unwrap());
            assert!(path.exists(), "{key}: {}", path.display());
        }
        assert_eq!(v["partial"], false);
        // The table says the same.
        assert!(table(&summary).contains("ACC_reid"));
    }
}
