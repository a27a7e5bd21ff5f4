//! `naicfc info`: what a model file holds, in a few lines or one JSON object.

use crate::codec::ModelFile;
use crate::exit::Outcome;
use anyhow::Result;
use codec_core::Model;
use codec_core::internals::ModelInternals;
use serde::Serialize;
use std::path::PathBuf;

/// Arguments of `naicfc info`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  naicfc info model.nfcm\n  naicfc info model.nfcm --json")]
pub struct Args {
    /// Model file (from `naicfc train`)
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
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
    /// The model's own CRC-32 (its last four bytes, over every byte before them), as 8 hex
    /// digits: two files with the same fingerprint hold the same model.
    pub fingerprint: String,
    /// Size of the model file in bytes.
    pub bytes: usize,
}

impl ModelInfo {
    /// The facts of the parsed model `m` whose file holds `bytes` and whose minimum budget is
    /// `min_budget` ([`ModelFile::min_budget`]).
    pub fn of(m: &Model<'_>, bytes: &[u8], min_budget: usize) -> Self {
        let crc = match bytes.len().checked_sub(4) {
            Some(at) => {
                u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
            }
            None => 0,
        };
        ModelInfo {
            dim: m.dim(),
            active_dims: m.active_count(),
            coefficients: m.coeffs(),
            budgets: (0..m.budget_count()).filter_map(|i| m.budget(i)).collect(),
            min_budget,
            format_version: m.format_version(),
            quantiser: if m.trellis() { "trellis" } else { "scalar" },
            clamps: m.clamps(),
            fingerprint: format!("{crc:08x}"),
            bytes: bytes.len(),
        }
    }
}

/// Run `naicfc info`.
pub fn run(args: &Args) -> Result<Outcome> {
    let file = ModelFile::read(&args.model)?;
    let info = ModelInfo::of(&file.model(), file.bytes(), file.min_budget());
    if args.json {
        println!("{}", serde_json::to_string(&info)?);
        return Ok(Outcome::Success);
    }
    let budgets: Vec<String> = info.budgets.iter().map(usize::to_string).collect();
    println!("model         {}", args.model.display());
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
    println!("fingerprint   {} (the model's CRC-32)", info.fingerprint);
    println!("size          {} bytes", info.bytes);
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::tiny_model;

    #[test]
    fn the_facts_are_the_model_s() {
        let file = tiny_model(12);
        let m = file.model();
        let info = ModelInfo::of(&m, file.bytes(), file.min_budget());
        assert_eq!(info.dim, 12);
        assert_eq!(info.coefficients, 6);
        assert!(info.active_dims >= info.coefficients && info.active_dims <= 12);
        assert_eq!(info.budgets, vec![16, 32, 64, 128, 256]);
        assert_eq!(info.min_budget, codec_core::min_budget(&m).unwrap());
        assert_eq!(info.bytes, file.bytes().len());
        let n = file.bytes().len();
        // CRC-32 (IEEE, reflected), bit by bit: independent of the codec's table-driven one.
        let mut crc = !0u32;
        for &b in &file.bytes()[..n - 4] {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        let crc = !crc;
        assert_eq!(info.fingerprint, format!("{crc:08x}"));
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
        assert_eq!(json["fingerprint"], format!("{crc:08x}"));
    }
}
