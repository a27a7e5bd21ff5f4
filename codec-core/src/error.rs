//! The codec core's errors: one enum for models, one for compressed streams, and one for the
//! calls that code vectors. Every variant names one cause, so callers can match on it; none
//! carries heap data.

use core::fmt;

/// Why a model was rejected by [`crate::Model::parse`] (or refused by the writer training
/// uses). A valid model never yields one of these from encoding or decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelError {
    /// The buffer ends before the data its header announces.
    Truncated {
        /// Bytes the header says the model has.
        expected: usize,
        /// Bytes available.
        actual: usize,
    },
    /// The buffer does not start with the model magic `NFCM`.
    NotAModel,
    /// The model was written in a format version this build does not read.
    UnsupportedVersion {
        /// Version found in the model.
        found: u16,
        /// The one version this build reads and writes.
        supported: u16,
    },
    /// The model's checksum does not match its content (corrupted in storage or transit).
    Checksum,
    /// The header-length field is not 64.
    HeaderLength,
    /// The total-length field disagrees with the sizes the header's counts give.
    LengthField,
    /// Bytes follow the checksum.
    TrailingBytes,
    /// A flag bit this version does not define is set.
    UnknownFlags,
    /// A reserved header byte is not zero.
    ReservedBytes,
    /// The input dimension is 0 or above [`crate::internals::MAX_DIM`].
    Dimension,
    /// The active dimension count is 0 or above the dimension or `MAX_ACTIVE`.
    ActiveCount,
    /// The coefficient count is 0 or above the active count or `MAX_COEFFS`.
    CoefficientCount,
    /// The class count is 0 or above `MAX_CLASSES`.
    ClassCount,
    /// The alphabet is below 2 or above `MAX_ALPHABET` symbols.
    AlphabetSize,
    /// The step count is 0 or above `MAX_STEPS`.
    StepCount,
    /// The budget count is 0 (the budgets are the knots of the length step prior) or above
    /// `MAX_BUDGETS`.
    BudgetCount,
    /// The input shift is beyond ±64.
    InputShift,
    /// Classes per octave are not in `1..=64`.
    ClassesPerOctave,
    /// The class offset is beyond ±2^20.
    ClassOffset,
    /// The step growth slope is above `MAX_GROWTH_SLOPE`.
    GrowthSlope,
    /// The step growth threshold is beyond ±`MAX_GROWTH_THRESHOLD`.
    GrowthThreshold,
    /// The gain coefficient count is above the coefficient count.
    GainCoefficientCount,
    /// A budget is 0 or above `MAX_CODE_LEN`.
    BudgetOutOfRange,
    /// The budgets are not strictly increasing.
    BudgetsNotIncreasing,
    /// An active dimension index is not below the dimension.
    ActiveIndexOutOfRange,
    /// The active dimension indices are not strictly increasing.
    ActiveNotIncreasing,
    /// A clamp range has its lower end above its upper end.
    ClampRangeEmpty,
    /// A clamp bound is beyond the fixed-point input range.
    ClampMagnitude,
    /// A mean is beyond the fixed-point input range.
    MeanMagnitude,
    /// A coefficient weight is 0.
    CoefficientWeight,
    /// A step size is 0 or above 2^31.
    StepSizeOutOfRange,
    /// The step sizes are not strictly increasing.
    StepSizesNotIncreasing,
    /// A step log is beyond ±`STEP_LOG_LIMIT`.
    StepLogOutOfRange,
    /// The coarsest step cannot quantise every coefficient to zero, so no minimum budget
    /// would exist.
    CoarsestStepTooFine,
    /// The step prior is not a valid cumulative frequency table.
    StepPrior,
    /// A predicted step (a knot of the length step prior) is beyond the step grid.
    PredictedStepOutOfRange,
    /// The step residual table is not a valid cumulative frequency table.
    StepResidualTable,
    /// A class's probability table is not a valid cumulative frequency table.
    ClassTable,
    /// A class's rounding offset is above 1/2.
    RoundingAboveHalf,
    /// A class's escape order is above `MAX_ESCAPE_ORDER`.
    EscapeOrder,
    /// A class's raw bits are above `MAX_RAW_BITS`.
    RawBits,
    /// A decoder gain is above 1.
    GainAboveOne,
    /// The code of the coarsest step is longer than `MAX_MIN_BUDGET` bytes (found by
    /// [`crate::min_budget`], not by parsing).
    CoarsestCodeTooLong,
    /// (Writer) a section's length disagrees with the counts of the others.
    SectionLength(Section),
    /// (Writer) a count does not fit its 16-bit header field.
    CountTooLarge,
    /// (Writer) a trellis model needs an even number of class tables.
    TrellisTableCount,
    /// (Writer) the output buffer is too small.
    OutputTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        actual: usize,
    },
}

/// A model section whose length the writer found inconsistent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Section {
    /// The means (one per input dimension).
    Mean,
    /// The clamp ranges (one per active dimension).
    Clamp,
    /// The transform (coefficients x active dimensions).
    Transform,
    /// The per-coefficient spread logs.
    CoefficientLog,
    /// The step logs (one per step).
    StepLog,
    /// The step prior (steps + 1 entries).
    StepPrior,
    /// The step centres (one per budget).
    StepCentres,
    /// The step residual table.
    StepResidual,
    /// A class table (`alphabet + 1` frequencies, `alphabet - 1` offsets; at least two
    /// frequencies).
    ClassTable,
    /// The decoder gains (one per class).
    Gains,
}

/// Why a byte string is not a code of the model it was decoded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamError {
    /// The code is empty.
    Empty,
    /// The code is longer than any code of the format.
    TooLong {
        /// Length given.
        length: usize,
        /// Longest valid code.
        maximum: usize,
    },
    /// The decoded step index is beyond the model's step grid.
    StepOutOfRange,
    /// An escaped magnitude's prefix is longer than any valid one.
    EscapeTooLong,
    /// A magnitude is larger than any coefficient of the model can quantise to.
    CoefficientOutOfRange,
    /// The code does not end inside the range coder's last interval.
    BadEnd,
    /// Non-zero bytes follow the code's symbols (cut short, extended or damaged).
    BytesAfterSymbols,
    /// (Scalable codes) the length is not a layer boundary of the model.
    NotALayerBoundary,
}

/// Why a vector could not be encoded or a code decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The compressed stream is not a valid code for this model.
    Stream(StreamError),
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
        /// Smallest budget that always works for this model ([`crate::min_budget`]).
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
    /// A scalable code needs budgets to cut layers at, and the model lists none.
    NoLayers,
    /// The caller's workspace is smaller than the operation needs for this model
    /// ([`crate::workspace_size`]).
    WorkspaceTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The model's coarsest code is longer than any minimum budget may be
    /// ([`ModelError::CoarsestCodeTooLong`]).
    Model(ModelError),
}

impl From<StreamError> for Error {
    fn from(e: StreamError) -> Self {
        Error::Stream(e)
    }
}

impl From<ModelError> for Error {
    fn from(e: ModelError) -> Self {
        Error::Model(e)
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ModelError as E;
        let what = match *self {
            E::Truncated { expected, actual } => {
                return write!(
                    f,
                    "model truncated: header announces {expected} bytes, {actual} available"
                );
            }
            E::UnsupportedVersion { found, supported } => {
                return write!(
                    f,
                    "model format version {found} is not supported (this build reads version {supported})"
                );
            }
            E::OutputTooSmall { needed, actual } => {
                return write!(
                    f,
                    "model output buffer too small: {needed} bytes needed, {actual} given"
                );
            }
            E::SectionLength(s) => {
                return write!(f, "invalid model: the {s} section has the wrong length");
            }
            E::NotAModel => return f.write_str("not a naicfc model (magic NFCM missing)"),
            E::Checksum => return f.write_str("model checksum mismatch: the file is corrupted"),
            E::HeaderLength => "header length",
            E::LengthField => "length field disagrees with the header's sizes",
            E::TrailingBytes => "trailing bytes after the checksum",
            E::UnknownFlags => "unknown flags",
            E::ReservedBytes => "reserved header bytes",
            E::Dimension => "dimension",
            E::ActiveCount => "active dimension count",
            E::CoefficientCount => "coefficient count",
            E::ClassCount => "class count",
            E::AlphabetSize => "alphabet size",
            E::StepCount => "step count",
            E::BudgetCount => "budget count",
            E::InputShift => "input shift",
            E::ClassesPerOctave => "classes per octave",
            E::ClassOffset => "class offset",
            E::GrowthSlope => "step growth slope",
            E::GrowthThreshold => "step growth threshold",
            E::GainCoefficientCount => "gain coefficient count",
            E::BudgetOutOfRange => "budget out of range",
            E::BudgetsNotIncreasing => "budgets not increasing",
            E::ActiveIndexOutOfRange => "active dimension index out of range",
            E::ActiveNotIncreasing => "active dimensions not increasing",
            E::ClampRangeEmpty => "clamp range empty",
            E::ClampMagnitude => "clamp range magnitude",
            E::MeanMagnitude => "mean magnitude",
            E::CoefficientWeight => "coefficient weight",
            E::StepSizeOutOfRange => "step size out of range",
            E::StepSizesNotIncreasing => "step sizes not increasing",
            E::StepLogOutOfRange => "step log out of range",
            E::CoarsestStepTooFine => "coarsest step cannot zero every coefficient",
            E::StepPrior => "step probability table",
            E::PredictedStepOutOfRange => "predicted step out of range",
            E::StepResidualTable => "step residual table",
            E::ClassTable => "class probability table",
            E::RoundingAboveHalf => "rounding offset above 1/2",
            E::EscapeOrder => "escape order",
            E::RawBits => "raw bits",
            E::GainAboveOne => "gain above 1",
            E::CoarsestCodeTooLong => "the coarsest code is longer than 128 bytes",
            E::CountTooLarge => "count exceeds 16 bits",
            E::TrellisTableCount => "trellis needs two tables per class",
        };
        write!(f, "invalid model: {what}")
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Section::Mean => "mean",
            Section::Clamp => "clamp range",
            Section::Transform => "transform",
            Section::CoefficientLog => "coefficient log",
            Section::StepLog => "step log",
            Section::StepPrior => "step prior",
            Section::StepCentres => "step centre",
            Section::StepResidual => "step residual table",
            Section::ClassTable => "class table",
            Section::Gains => "gains",
        })
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match *self {
            StreamError::Empty => return f.write_str("compressed stream is empty"),
            StreamError::TooLong { length, maximum } => {
                return write!(
                    f,
                    "compressed stream of {length} bytes is longer than any code ({maximum})"
                );
            }
            StreamError::StepOutOfRange => "step index out of range",
            StreamError::EscapeTooLong => "escape code too long",
            StreamError::CoefficientOutOfRange => "coefficient beyond the model's range",
            StreamError::BadEnd => "code does not end inside its last interval",
            StreamError::BytesAfterSymbols => {
                "non-zero bytes after the code's symbols (truncated, extended or damaged?)"
            }
            StreamError::NotALayerBoundary => "length is not a layer boundary of this model",
        };
        write!(f, "corrupt compressed stream: {what}")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Stream(e) => e.fmt(f),
            Error::Model(e) => e.fmt(f),
            Error::DimensionMismatch { expected, actual } => {
                write!(
                    f,
                    "vector has {actual} values, the model expects {expected}"
                )
            }
            Error::NonFinite { index } => {
                write!(f, "value at index {index} is not finite (NaN or infinity)")
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
            Error::NoLayers => {
                f.write_str("the model lists no budgets to cut the layers of a scalable code at")
            }
            Error::WorkspaceTooSmall { needed, actual } => {
                write!(
                    f,
                    "workspace too small: {needed} bytes needed, {actual} given"
                )
            }
        }
    }
}

impl core::error::Error for ModelError {}
impl core::error::Error for StreamError {}
impl core::error::Error for Error {}
