//! `naicfc reid`: exact batch re-identification.

use crate::exit::Outcome;
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `naicfc reid`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory of query features (.dat) or a .npy file
    #[arg(long)]
    pub query: PathBuf,
    /// Directory of gallery features (.dat) or a .npy file
    #[arg(long)]
    pub gallery: PathBuf,
    /// Output JSON file (query name -> ranked gallery names)
    #[arg(long)]
    pub out: PathBuf,
    /// Results per query
    #[arg(long, default_value_t = 100)]
    pub top: usize,
}

/// Run `naicfc reid`.
pub fn run(_args: &Args) -> Result<Outcome> {
    anyhow::bail!("reid is being implemented")
}
