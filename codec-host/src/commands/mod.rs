//! One module per subcommand: its arguments (clap) and its `run` function.

pub mod bench;
pub mod decode;
pub mod demo;
pub mod encode;
pub mod eval;
pub mod export_c;
#[cfg(feature = "extract")]
pub mod extract;
pub mod index;
pub mod info;
pub mod pack;
pub mod reid;
pub mod score;
pub mod stats;
pub mod synth;
pub mod train;
pub mod validate;

use clap::builder::RangedU64ValueParser;

/// `-b/--budget` of a command that measures several budgets: a comma-separated list. `-b` means
/// `--budget` in every command, one budget or several, so that a user learns one flag;
/// `--budgets` stays an alias.
#[derive(clap::Args, Debug, Clone)]
pub struct Budgets {
    /// Budgets in bytes, comma-separated (1 to 8192 each)
    #[arg(
        short,
        long = "budget",
        visible_alias = "budgets",
        value_delimiter = ',',
        default_value = "16,32,64,128,256",
        value_parser = budget()
    )]
    pub budgets: Vec<usize>,
}

/// `--batch-rows` and `--strict`, as every command that works through its input in batches
/// takes them.
#[derive(clap::Args, Debug, Clone)]
pub struct Batch {
    /// Vectors held in memory at once (bounds memory on large inputs)
    #[arg(long, default_value_t = 65_536, value_parser = at_least_one)]
    pub batch_rows: usize,
    #[arg(long, help = STRICT_HELP)]
    pub strict: bool,
}

/// `--strict` alone, for the commands that read their input in one go.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Strict {
    #[arg(long, help = STRICT_HELP)]
    pub strict: bool,
}

/// What `--strict` does, the same words on every command.
const STRICT_HELP: &str = "Stop at the first bad input instead of reporting it and going on";
use std::ops::RangeBounds;

/// The parser of a count flag that must lie in `range`: clap then rejects anything else as a
/// usage error (exit status 2) naming the flag and the range, before any work starts, instead
/// of the value being clamped or failing deep inside a command.
pub fn count_in(range: impl RangeBounds<u64>) -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(range)
}

/// The parser of a byte budget: 1 to the stream format's longest code. Whether a model can
/// code at it (its minimum) is checked against the model, as a "cannot proceed" error.
pub fn budget() -> RangedU64ValueParser<usize> {
    count_in(1..=codec_core::internals::MAX_CODE_LEN as u64)
}

/// The parser of a number flag that must lie in `lo..=hi` (`hi` may be infinite): NaN and
/// anything outside are usage errors, as for counts ([`count_in`]).
pub fn number_in(lo: f64, hi: f64) -> impl Fn(&str) -> Result<f64, String> + Clone {
    move |value: &str| match value.parse::<f64>() {
        Ok(v) if (lo..=hi).contains(&v) && v.is_finite() => Ok(v),
        Ok(_) if hi.is_infinite() => Err(format!("must be a number of at least {lo}")),
        Ok(_) => Err(format!("must be between {lo} and {hi}")),
        Err(e) => Err(e.to_string()),
    }
}

/// The parser of a count flag with no upper bound that must be at least 1, as [`count_in`]
/// (whose message would print the largest `u64` as the bound).
pub fn at_least_one(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}
