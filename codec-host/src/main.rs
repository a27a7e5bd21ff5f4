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
    /// Worker threads (default: one per core)
    #[arg(short = 'j', long, global = true, value_parser = commands::at_least_one)]
    threads: Option<usize>,
    /// No progress bars and no summary lines: only errors and rejected inputs on stderr
    #[arg(short, long, global = true)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a realistic synthetic re-ID dataset (train / query / gallery)
    Synth(commands::synth::Args),
    /// Features from a directory of images with an ONNX re-ID model
    #[cfg(feature = "extract")]
    Extract(commands::extract::Args),
    /// Rank the gallery for every query (exact top-k) and write competition JSON
    Reid(commands::reid::Args),
    /// Score a re-ID result file: ACC_reid, AP@1, mAP@100, CMC, full mAP and mINP
    Score(commands::score::Args),
    /// Learn a codec model from training features
    Train(commands::train::Args),
    /// Compress features into codes of at most --budget bytes
    Encode(commands::encode::Args),
    /// Reconstruct features from codes
    Decode(commands::decode::Args),
    /// Check that codes respect a budget (and decode)
    Validate(commands::validate::Args),
    /// Build the int8 search index of a coded gallery, for `reid --gallery X.nfci`
    Index(commands::index::Args),
    /// Measure error at every budget (and re-ID accuracy, given identities)
    Eval(commands::eval::Args),
    /// Encode/decode throughput of a model, one thread
    Bench(commands::bench::Args),
    /// Describe a feature set (norms, sparsity, PCA spectrum)
    Stats(commands::stats::Args),
    /// Gather features into one .npy array (float32 or float16) with a names file
    Pack(commands::pack::Args),
    /// Run the whole pipeline end to end on built-in defaults
    Demo(commands::demo::Args),
    /// Describe a model: dimension, coefficients, budgets, format, fingerprint, size
    Info(commands::info::Args),
    /// Write a model as a C header (an aligned byte array) to compile into firmware
    ExportC(commands::export_c::Args),
}

/// A closed pipe on stdout or stderr (`naicfc validate ... | head -1`) ends the process
/// quietly with the usual status (SIGPIPE), as for any Unix tool: Rust ignores the signal by
/// default, and the next `println!` would then panic with a stack trace.
#[cfg(unix)]
fn end_quietly_on_closed_pipe() {
    // SAFETY: restores the default disposition of one signal, before any other thread runs;
    // no handler of ours is involved.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    #[cfg(unix)]
    end_quietly_on_closed_pipe();
    let cli = Cli::parse();
    codec_host::progress::set_quiet(cli.quiet);
    // Ctrl-C clears the progress line and says so (status 130) instead of leaving it mid-line.
    if let Err(e) = ctrlc::set_handler(|| codec_host::progress::on_interrupt()) {
        eprintln!("naicfc: warning: Ctrl-C will not clear the progress line: {e}");
    }
    if let Some(n) = cli.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
        {
            eprintln!("naicfc: error: --threads {n}: {e}");
            return ExitCode::from(exit::FATAL);
        }
    }
    let result = match &cli.command {
        Command::Synth(a) => commands::synth::run(a),
        #[cfg(feature = "extract")]
        Command::Extract(a) => commands::extract::run(a),
        Command::Reid(a) => commands::reid::run(a),
        Command::Score(a) => commands::score::run(a),
        Command::Train(a) => commands::train::run(a),
        Command::Encode(a) => commands::encode::run(a),
        Command::Decode(a) => commands::decode::run(a),
        Command::Validate(a) => commands::validate::run(a),
        Command::Index(a) => commands::index::run(a),
        Command::Eval(a) => commands::eval::run(a),
        Command::Bench(a) => commands::bench::run(a),
        Command::Stats(a) => commands::stats::run(a),
        Command::Pack(a) => commands::pack::run(a),
        Command::Demo(a) => commands::demo::run(a),
        Command::ExportC(a) => commands::export_c::run(a),
        Command::Info(a) => commands::info::run(a),
    };
    match result {
        Ok(outcome) => outcome.into(),
        Err(e) => {
            eprintln!("naicfc: error: {e:#}");
            ExitCode::from(exit::FATAL)
        }
    }
}
