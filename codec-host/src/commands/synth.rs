//! `naicfc synth`: realistic synthetic re-ID features.

use crate::exit::Outcome;
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `naicfc synth`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output dataset directory
    #[arg(long)]
    pub out: PathBuf,
}

/// Run `naicfc synth`.
pub fn run(_args: &Args) -> Result<Outcome> {
    anyhow::bail!("synth is being implemented")
}
