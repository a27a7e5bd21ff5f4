//! `naicfc demo`: the whole pipeline on built-in defaults.
//!
//! Generates the default synthetic kind-A dataset, re-identifies the uncompressed queries
//! against the gallery and scores the result: the baseline every compressed rate is
//! compared with.

use crate::exit::Outcome;
use crate::synth::{Kind, SynthConfig, write_dataset};
use anyhow::Result;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `naicfc demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Working directory for the generated data, results and reports
    #[arg(long, default_value = "naicfc-demo")]
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

    let results = args.dir.join("reid-uncompressed.json");
    let reid = super::reid::Args {
        query: data.join("query_feature"),
        gallery: data.join("gallery_feature"),
        out: results.clone(),
        top: 100,
        metric: crate::search::Metric::Cosine,
        query_list: Some(data.join("query_list.txt")),
        gallery_list: Some(data.join("gallery_list.txt")),
        dim: None,
        strict: true,
    };
    super::reid::run(&reid)?;
    println!("Uncompressed baseline (kind A, 2048-d, 2,000 queries x 20,000 gallery):");
    let score = super::score::Args {
        results: results.clone(),
        query_list: data.join("query_list.txt"),
        gallery_list: data.join("gallery_list.txt"),
        exclude_same_camera: false,
        top: 100,
        json: false,
    };
    super::score::run(&score)?;
    println!();
    println!("dataset:      {}", data.display());
    println!("re-ID result: {}", results.display());
    println!("total time:   {:.1} s", start.elapsed().as_secs_f64());
    Ok(Outcome::Success)
}
