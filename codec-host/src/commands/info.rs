//! `naicfc info`: what a model file holds, in a few lines or one JSON object.

use crate::codec::ModelFile;
use crate::exit::Outcome;
use anyhow::{Context, Result};
use codec_core::internals::ModelInternals;
use serde::Serialize;
use std::path::PathBuf;

/// Arguments of `naicfc info`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  naicfc info model.nfcm\n  naicfc info -m model.nfcm --json")]
pub struct Args {
    /// Model file (from `naicfc train`)
    #[arg(
        value_name = "MODEL",
        required_unless_present = "model_flag",
        conflicts_with = "model_flag"
    )]
    pub model: Option<PathBuf>,
    /// Model file, given as the other commands take it (instead of MODEL)
    #[arg(short = 'm', long = "model", value_name = "MODEL")]
    pub model_flag: Option<PathBuf>,
    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

/// The facts `naicfc info` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelInfo {
    /// Values per input vector.
    pub dim: usize,
    /// Input dims the model codes (the others decode to their mean).
    pub active_dims: usize,
    /// Transform coefficients coded.
    pub coefficients: usize,
    /// Budgets (bytes) the model was tuned for; it codes at any budget from its minimum.
    pub budgets: Vec<usize>,
    /// Smallest budget at which every vector can be coded.
    pub min_budget: usize,
    /// Model (and stream) format version (`docs/model-format.md`).
    pub format_version: u16,
    /// `trellis` or `scalar`.
    pub quantiser: &'static str,
    /// Whether reconstructions are clamped to the training range.
    pub clamps: bool,
    /// The model's fingerprint ([`ModelFile::fingerprint`]: the first 128 bits of the SHA-256
    /// of its bytes, 32 hex digits), the same the Python package gives: two files with the same
    /// fingerprint hold the same model.
    pub fingerprint: String,
    /// Size of the model file in bytes.
    pub bytes: usize,
}

impl ModelInfo {
    /// The facts of the model in `file`.
    pub fn of(file: &ModelFile) -> Self {
        let m = file.model();
        let bytes = file.bytes();
        ModelInfo {
            dim: m.dim(),
            active_dims: m.active_count(),
            coefficients: m.coeffs(),
            budgets: (0..m.budget_count()).filter_map(|i| m.budget(i)).collect(),
            min_budget: file.min_budget(),
            format_version: m.format_version(),
            quantiser: if m.trellis() { "trellis" } else { "scalar" },
            clamps: m.clamps(),
            fingerprint: file.fingerprint(),
            bytes: bytes.len(),
        }
    }
}

/// Run `naicfc info`.
pub fn run(args: &Args) -> Result<Outcome> {
    // clap requires one of the two forms; the error is for a caller that builds `Args` itself.
    let path = args
        .model
        .as_deref()
        .or(args.model_flag.as_deref())
        .context("no model file given")?;
    let file = ModelFile::read(path)?;
    let info = ModelInfo::of(&file);
    if args.json {
        println!("{}", serde_json::to_string(&info)?);
        return Ok(Outcome::Success);
    }
    let budgets: Vec<String> = info.budgets.iter().map(usize::to_string).collect();
    println!("model         {}", path.display());
    println!("dimension     {}", info.dim);
    println!("active dims   {}", info.active_dims);
    println!("coefficients  {}", info.coefficients);
    println!(
        "budgets       {} (tuned for; any budget from the minimum works)",
        budgets.join(", ")
    );
    println!("min budget    {} bytes", info.min_budget);
    println!("format        version {}", info.format_version);
    println!("quantiser     {}", info.quantiser);
    println!("clamps        {}", if info.clamps { "yes" } else { "no" });
    println!(
        "fingerprint   {} (SHA-256 of the file, first 128 bits)",
        info.fingerprint
    );
    println!("size          {} bytes", info.bytes);
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::tiny_model;
    use sha2::Digest;

    #[test]
    fn the_facts_are_the_model_s() {
        let file = tiny_model(12);
        let m = file.model();
        let info = ModelInfo::of(&file);
        assert_eq!(info.dim, 12);
        assert_eq!(info.coefficients, 6);
        assert!(info.active_dims >= info.coefficients && info.active_dims <= 12);
        assert_eq!(info.budgets, vec![16, 32, 64, 128, 256]);
        assert_eq!(info.min_budget, codec_core::min_budget(&m).unwrap());
        assert_eq!(info.bytes, file.bytes().len());
        // SHA-256 of the bytes, computed here apart from the codec-host helper.
        let digest = sha2::Sha256::digest(file.bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(info.fingerprint, hex);
        let json: serde_json::Value = serde_json::to_value(&info).unwrap();
        for key in [
            "dim",
            "active_dims",
            "coefficients",
            "budgets",
            "min_budget",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
        assert_eq!(json["fingerprint"], hex);
    }
}
