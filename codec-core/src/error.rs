//! The one error type of the codec core.

use core::fmt;

/// Everything that can go wrong in the codec. Each variant says what was wrong precisely
/// enough to act on it; none carries heap data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The model buffer ends before the data its header announces.
    ModelTruncated {
        /// Bytes the header says the model has.
        expected: usize,
        /// Bytes available.
        actual: usize,
    },
    /// The buffer does not start with the model magic `NFCM`.
    NotAModel,
    /// The model was written in a format version this build does not read.
    UnsupportedModelVersion {
        /// Version found in the model.
        found: u16,
        /// The oldest version this build reads.
        oldest: u16,
        /// The newest version this build reads (and the one it writes).
        newest: u16,
    },
    /// The model's checksum does not match its content (corrupted in storage or transit).
    ModelChecksum,
    /// A model field is out of its valid range; the text names the field.
    ModelInvalid(&'static str),
    /// The input vector has the wrong number of values.
    DimensionMismatch {
        /// The model's dimension.
        expected: usize,
        /// Values given.
        actual: usize,
    },
    /// The input vector holds a NaN or an infinity.
    NonFinite {
        /// Position of the first non-finite value.
        index: usize,
    },
    /// Not even the coarsest code fits in the budget.
    BudgetTooSmall {
        /// Budget asked for, in bytes.
        budget: usize,
        /// Smallest budget that always works for this model.
        minimum: usize,
    },
    /// The budget exceeds the largest code length of the stream format.
    BudgetTooLarge {
        /// Budget asked for, in bytes.
        budget: usize,
        /// Largest budget of the stream format.
        maximum: usize,
    },
    /// A step index beyond the model's step grid.
    StepOutOfRange {
        /// Step index asked for.
        step: usize,
        /// Steps in the model (valid indices are below this).
        steps: usize,
    },
    /// An output buffer is too small.
    OutputTooSmall {
        /// Bytes or values needed.
        needed: usize,
        /// Bytes or values available.
        actual: usize,
    },
    /// The compressed stream is empty.
    StreamEmpty,
    /// The compressed stream is longer than any code of the format.
    StreamTooLong {
        /// Length given.
        length: usize,
        /// Longest valid code.
        maximum: usize,
    },
    /// The compressed stream is not a valid code for this model (corrupted or from another model).
    StreamCorrupt(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::ModelTruncated { expected, actual } => {
                write!(
                    f,
                    "model truncated: header announces {expected} bytes, {actual} available"
                )
            }
            Error::NotAModel => f.write_str("not a naicfc model (magic NFCM missing)"),
            Error::UnsupportedModelVersion {
                found,
                oldest,
                newest,
            } => write!(
                f,
                "model format version {found} is not supported (this build reads versions {oldest} to {newest})"
            ),
            Error::ModelChecksum => f.write_str("model checksum mismatch: the file is corrupted"),
            Error::ModelInvalid(what) => write!(f, "invalid model: {what}"),
            Error::DimensionMismatch { expected, actual } => {
                write!(
                    f,
                    "vector has {actual} values, the model expects {expected}"
                )
            }
            Error::NonFinite { index } => {
                write!(f, "value {index} is not finite (NaN or infinity)")
            }
            Error::BudgetTooSmall { budget, minimum } => {
                write!(
                    f,
                    "budget of {budget} bytes is below this model's minimum of {minimum}"
                )
            }
            Error::BudgetTooLarge { budget, maximum } => {
                write!(
                    f,
                    "budget of {budget} bytes exceeds the format's maximum of {maximum}"
                )
            }
            Error::StepOutOfRange { step, steps } => {
                write!(
                    f,
                    "step index {step} is out of range: the model has {steps} steps"
                )
            }
            Error::OutputTooSmall { needed, actual } => {
                write!(
                    f,
                    "output buffer too small: {needed} needed, {actual} given"
                )
            }
            Error::StreamEmpty => f.write_str("compressed stream is empty"),
            Error::StreamTooLong { length, maximum } => {
                write!(
                    f,
                    "compressed stream of {length} bytes is longer than any code ({maximum})"
                )
            }
            Error::StreamCorrupt(what) => write!(f, "corrupt compressed stream: {what}"),
        }
    }
}

impl core::error::Error for Error {}
