//! `naicfc`: the command-line face of the naicfc feature codec.

use clap::{Parser, Subcommand};
use codec_host::commands;
use codec_host::exit;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "naicfc", version, about = "Compact codec for re-identification features", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a realistic synthetic re-ID dataset (train / query / gallery)
    Synth(commands::synth::Args),
    /// Rank the gallery for every query (exact top-k) and write competition JSON
    Reid(commands::reid::Args),
    /// Score a re-ID result file: ACC_reid, AP@1, mAP@100, CMC
    Score(commands::score::Args),
    /// Learn a codec model from training features
    Train(commands::train::Args),
    /// Compress features into codes of at most --budget bytes
    Encode(commands::encode::Args),
    /// Reconstruct features from codes
    Decode(commands::decode::Args),
    /// Check that codes respect a budget (and decode)
    Validate(commands::validate::Args),
    /// Measure error and re-ID accuracy at every budget
    Eval(commands::eval::Args),
    /// Encode/decode throughput of a model, one thread
    Bench(commands::bench::Args),
    /// Describe a feature set (norms, sparsity, PCA spectrum)
    Stats(commands::stats::Args),
    /// Gather features into one .npy array (float32 or float16) with a names file
    Pack(commands::pack::Args),
    /// Run the whole pipeline end to end on built-in defaults
    Demo(commands::demo::Args),
    /// Write a model as a C header (an aligned byte array) to compile into firmware
    ExportC(commands::export_c::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Synth(a) => commands::synth::run(a),
        Command::Reid(a) => commands::reid::run(a),
        Command::Score(a) => commands::score::run(a),
        Command::Train(a) => commands::train::run(a),
        Command::Encode(a) => commands::encode::run(a),
        Command::Decode(a) => commands::decode::run(a),
        Command::Validate(a) => commands::validate::run(a),
        Command::Eval(a) => commands::eval::run(a),
        Command::Bench(a) => commands::bench::run(a),
        Command::Stats(a) => commands::stats::run(a),
        Command::Pack(a) => commands::pack::run(a),
        Command::Demo(a) => commands::demo::run(a),
        Command::ExportC(a) => commands::export_c::run(a),
    };
    match result {
        Ok(outcome) => outcome.into(),
        Err(e) => {
            eprintln!("naicfc: error: {e:#}");
            ExitCode::from(exit::FATAL)
        }
    }
}
