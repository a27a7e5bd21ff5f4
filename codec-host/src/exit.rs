//! Exit codes of the `naicfc` command, documented in README.md ("Exit codes").

use anyhow::{Result, bail};
use std::path::Path;
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

/// How a batch that writes one output per accepted input ended: `rejected` inputs, outputs
/// `unwritten` (each already reported) and `written`. When nothing was written although there
/// was something to do, nothing was done: every output failed (the "unwritable output" error)
/// or every input was rejected, both [`FATAL`], not a partial success; otherwise any rejected
/// input or unwritten output makes it [`PARTIAL`].
pub fn batch_outcome(
    out: &Path,
    rejected: usize,
    unwritten: usize,
    written: usize,
) -> Result<Outcome> {
    if written == 0 && unwritten > 0 {
        bail!(
            "{}: no output could be written ({unwritten} failures listed above)",
            out.display()
        );
    }
    if written == 0 && rejected > 0 {
        bail!(
            "{}: nothing written, every input was rejected ({rejected} listed above)",
            out.display()
        );
    }
    Ok(if rejected + unwritten == 0 {
        Outcome::Success
    } else {
        Outcome::Partial
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_that_wrote_nothing_is_fatal_not_partial() {
        let out = Path::new("codes");
        let err = batch_outcome(out, 0, 5, 0).unwrap_err().to_string();
        assert_eq!(
            err,
            "codes: no output could be written (5 failures listed above)"
        );
        assert!(batch_outcome(out, 2, 5, 0).is_err());
        assert_eq!(batch_outcome(out, 0, 1, 4).unwrap(), Outcome::Partial);
        assert_eq!(
            batch_outcome(out, 3, 0, 0).unwrap_err().to_string(),
            "codes: nothing written, every input was rejected (3 listed above)"
        );
        assert_eq!(batch_outcome(out, 3, 0, 1).unwrap(), Outcome::Partial);
        assert_eq!(batch_outcome(out, 0, 0, 0).unwrap(), Outcome::Success);
        assert_eq!(batch_outcome(out, 0, 0, 7).unwrap(), Outcome::Success);
    }
}
