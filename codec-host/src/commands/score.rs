//! `naicfc score`: the competition's re-ID metrics.

use crate::exit::Outcome;
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `naicfc score`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Re-ID result JSON written by `naicfc reid`
    #[arg(long)]
    pub results: PathBuf,
    /// Query list (`<name> <identity> [camera]`)
    #[arg(long)]
    pub query_list: PathBuf,
    /// Gallery list (`<name> <identity> [camera]`)
    #[arg(long)]
    pub gallery_list: PathBuf,
}

/// Run `naicfc score`.
pub fn run(_args: &Args) -> Result<Outcome> {
    anyhow::bail!("score is being implemented")
}
