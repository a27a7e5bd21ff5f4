//! `naicfc stats`: describe a feature set the way task.md describes real features.

use crate::exit::Outcome;
use crate::io::{ReadOptions, read_features};
use crate::stats::feature_stats;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Arguments of `naicfc stats`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  naicfc stats -i data-a/train/train_feature")]
pub struct Args {
    /// Directory of .dat features or a .npy file
    #[arg(
        short = 'i',
        long = "in",
        visible_alias = "features",
        value_name = "INPUT"
    )]
    pub features: PathBuf,
    /// Expected dimension (inferred when absent)
    #[arg(long)]
    pub dim: Option<usize>,
    /// Print one JSON object instead of a table
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub strict: crate::commands::Strict,
}

/// Run `naicfc stats`.
pub fn run(args: &Args) -> Result<Outcome> {
    let loaded = read_features(
        &args.features,
        &ReadOptions {
            dim: args.dim,
            strict: args.strict.strict,
            prefer_dim: None,
        },
    )?;
    for f in &loaded.failures {
        eprintln!("{f}");
    }
    let stats = feature_stats(&loaded.set).with_context(|| {
        crate::io::input_summary(&args.features, loaded.set.len(), loaded.failures.len())
    })?;
    if args.json {
        println!("{}", serde_json::to_string(&stats)?);
    } else {
        println!("{stats}");
    }
    Ok(if loaded.failures.is_empty() {
        Outcome::Success
    } else {
        Outcome::Partial
    })
}
