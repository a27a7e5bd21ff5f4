//! `naicfc demo`: the whole pipeline on built-in defaults.
//!
//! Generates the default synthetic kind-A dataset, re-identifies the uncompressed queries,
//! trains a model on the training split and runs the rate sweep over all five budgets: the
//! table a user would want to see first.

use crate::codec::ModelFile;
use crate::eval::{EvalConfig, load, plot, report};
use crate::exit::Outcome;
use crate::io::ReadOptions;
use crate::metrics::ScoreOptions;
use crate::search::Metric;
use crate::synth::{Kind, SynthConfig, write_dataset};
use anyhow::Result;
use std::path::PathBuf;
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
}

/// Run `naicfc demo`.
pub fn run(args: &Args) -> Result<Outcome> {
    let start = Instant::now();
    let data = args.dir.join("data");
    let cfg = SynthConfig::default_sizes(Kind::A, 2048, args.seed);
    eprintln!(
        "naicfc demo: generating the default kind-A dataset in {}",
        data.display()
    );
    write_dataset(&data, &cfg)?;

    // Files an earlier run or the user left in the directory are reported and left out, as
    // every command does, rather than stopping the demo at its last step.
    let mut partial = false;
    let results = args.dir.join("reid-uncompressed.json");
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

    let model_path = args.dir.join("model.nfcm");
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
            dim: Some(2048),
            strict: false,
            prefer_dim: None,
        },
    )?;
    for f in &eval_data.failures {
        eprintln!("{f}");
    }
    partial |= !eval_data.failures.is_empty();
    let report_dir = args.dir.join("report");
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

    println!("naicfc on the default kind-A set (2048-d features, 2,000 queries x 20,000 gallery):");
    print!("{}", report::table(&r));
    println!();
    println!("dataset:        {}", data.display());
    println!("model:          {}", model_path.display());
    println!(
        "re-ID result:   {} (uncompressed queries)",
        results.display()
    );
    println!(
        "report:         {}",
        report_dir.join("report.json").display()
    );
    println!("plot:           {}", report_dir.join("rate.svg").display());
    println!("total time:     {:.1} s", start.elapsed().as_secs_f64());
    Ok(if partial {
        eprintln!(
            "naicfc demo: files in {} that the demo did not write were left out (listed above)",
            data.display()
        );
        Outcome::Partial
    } else {
        Outcome::Success
    })
}
