//! Exit codes of the `naicfc` command, documented in README.md ("Exit codes").

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything was processed.
    Success,
    /// Some inputs were rejected (each reported with its path); the others were processed.
    Partial,
}

/// Every input processed and every output written.
pub const SUCCESS: u8 = 0;
/// Some inputs were rejected (bad file, over budget, ...); the rest of the batch was processed.
pub const PARTIAL: u8 = 1;
/// The command line was wrong (unknown flag, missing argument). Set by clap.
pub const USAGE: u8 = 2;
/// Nothing could be done: an unusable model, an unreadable input directory, an unwritable output.
pub const FATAL: u8 = 3;

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> Self {
        ExitCode::from(match o {
            Outcome::Success => SUCCESS,
            Outcome::Partial => PARTIAL,
        })
    }
}
