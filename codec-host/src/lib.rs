//! naicfc host library: everything the `naicfc` command-line tool does, as functions.
//!
//! The binary (`src/main.rs`) only parses arguments and maps results to exit codes; each
//! subcommand lives in [`commands`], and the work itself in the modules below.

pub mod batch;
pub mod codec;
pub mod coded_search;
pub mod commands;
pub mod eval;
pub mod exit;
pub mod index;
pub mod io;
pub mod linalg;
pub mod listed;
pub mod metrics;
pub mod progress;
pub mod rng;
pub mod search;
pub mod stats;
pub mod synth;
#[cfg(test)]
mod test_support;
pub mod train;
