//! One module per subcommand: its arguments (clap) and its `run` function.

pub mod bench;
pub mod decode;
pub mod demo;
pub mod encode;
pub mod eval;
pub mod export_c;
pub mod pack;
pub mod reid;
pub mod score;
pub mod stats;
pub mod synth;
pub mod train;
pub mod validate;
