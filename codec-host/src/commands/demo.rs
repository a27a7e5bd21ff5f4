//! `naicfc demo`: the whole pipeline on built-in defaults.

use crate::exit::Outcome;
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `naicfc demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Working directory for the generated data and reports
    #[arg(long, default_value = "naicfc-demo")]
    pub dir: PathBuf,
}

/// Run `naicfc demo`.
pub fn run(_args: &Args) -> Result<Outcome> {
    anyhow::bail!("demo is being implemented")
}
