//! One module per subcommand: its arguments (clap) and its `run` function.

pub mod demo;
pub mod reid;
pub mod score;
pub mod stats;
pub mod synth;
