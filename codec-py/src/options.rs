//! Options given as Python keywords, checked by the command line's own parsers: the same
//! ranges, defaults and messages as `naicfc train` and `naicfc synth`, and no second copy of
//! them here.

use crate::errors::{Kind, raise};
use clap::Parser;
use codec_host::commands::{synth, train};
use codec_host::train::TrainConfig;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict};

/// `naicfc train`'s options that `Model.train` takes as keywords; the others (input and output
/// paths, batch sizes) have no meaning for arrays in memory.
const TRAIN_OPTIONS: [&str; 11] = [
    "max_coeffs",
    "reid_weight",
    "spread_exponent",
    "step_growth",
    "no_clamp",
    "centroid_weight",
    "quantiser",
    "trellis_lambda",
    "trellis_lambda_low",
    "gain_coeffs",
    "max_rows",
];

/// `naicfc synth`'s options that `naicfc.synth` takes as keywords (besides `out`).
const SYNTH_OPTIONS: [&str; 10] = [
    "kind",
    "dim",
    "seed",
    "scale",
    "identities",
    "images_per_identity",
    "test_identities",
    "queries",
    "gallery",
    "cameras",
];

#[derive(Parser)]
struct TrainLine {
    #[command(flatten)]
    args: train::Args,
}

#[derive(Parser)]
struct SynthLine {
    #[command(flatten)]
    args: synth::Args,
}

/// The command-line words for keyword `options`, each one of `known`: `key=True` becomes the
/// flag `--key`, `key=False` nothing, anything else `--key=value`.
fn flags(
    py: Python<'_>,
    options: Option<&Bound<'_, PyDict>>,
    known: &[&str],
) -> PyResult<Vec<String>> {
    let mut out = Vec::new();
    for (key, value) in options.into_iter().flat_map(|d| d.iter()) {
        let key: String = key.extract()?;
        if !known.contains(&key.as_str()) {
            return Err(raise(
                py,
                Kind::Input,
                format!("unknown option `{key}` (known: {})", known.join(", ")),
                None,
            ));
        }
        let flag = format!("--{}", key.replace('_', "-"));
        if value.is_none() {
            continue;
        }
        if let Ok(b) = value.downcast::<PyBool>() {
            if b.is_true() {
                out.push(flag);
            }
            continue;
        }
        out.push(format!("{flag}={}", value.str()?));
    }
    Ok(out)
}

/// A usage error of the command-line parser as a Python exception, its flags named as keywords.
fn usage_error(py: Python<'_>, e: &clap::Error) -> PyErr {
    let text = e.render().to_string();
    let first = text
        .lines()
        .next()
        .unwrap_or("invalid option")
        .trim_start_matches("error: ");
    raise(py, Kind::Input, first.to_string(), None)
}

/// The training configuration of `budgets` and keyword `options`, checked as `naicfc train`
/// checks its flags.
pub fn train_config(
    py: Python<'_>,
    budgets: &[i64],
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<TrainConfig> {
    let budgets: Vec<String> = budgets.iter().map(i64::to_string).collect();
    if budgets.is_empty() {
        return Err(raise(
            py,
            Kind::Input,
            "budgets: give at least one budget",
            None,
        ));
    }
    let mut line: Vec<String> = ["train", "--features", "-", "--out", "-"]
        .map(String::from)
        .to_vec();
    line.push(format!("--budgets={}", budgets.join(",")));
    line.extend(flags(py, options, &TRAIN_OPTIONS)?);
    let parsed = TrainLine::try_parse_from(&line).map_err(|e| usage_error(py, &e))?;
    train::config(&parsed.args).map_err(|e| crate::errors::host(py, Kind::Input, &e))
}

/// The parsed `naicfc synth` arguments for the dataset directory `out` and keyword `options`.
pub fn synth_args(
    py: Python<'_>,
    out: &std::path::Path,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<synth::Args> {
    let mut line = vec![
        "synth".to_string(),
        "--out".to_string(),
        out.display().to_string(),
    ];
    line.extend(flags(py, options, &SYNTH_OPTIONS)?);
    let parsed = SynthLine::try_parse_from(&line).map_err(|e| usage_error(py, &e))?;
    Ok(parsed.args)
}
