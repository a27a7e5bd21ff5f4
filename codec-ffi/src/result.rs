//! Result codes: one number per thing a caller can act on, and a static text for each.

use codec_core::{Error, ModelError, StreamError};
use core::ffi::c_char;

/// Outcome of a naicfc call. `NAICFC_OK` is 0 and every error is non-zero, so
/// `if (naicfc_encode(...) != NAICFC_OK)` is the whole check. The values are part of the ABI:
/// they never change meaning, and new codes are only ever appended.
///
/// In C this is a `uint32_t`, not a C enum, because C enum sizes differ between targets
/// (`arm-none-eabi-gcc` makes them one byte): a fixed width keeps the ABI the same everywhere.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum naicfc_result {
    /// Success. Outputs were written.
    NAICFC_OK = 0,
    /// A required pointer is NULL, or a buffer pointer is NULL while its length is not 0.
    NAICFC_NULL_POINTER = 1,
    /// The vector length differs from the model's dimension, or a buffer length is too large
    /// to address.
    NAICFC_BAD_LENGTH = 2,
    /// The bytes are not a valid naicfc model (wrong magic, or a field out of range).
    NAICFC_BAD_MODEL = 3,
    /// The model was written in a format version this library does not read; see
    /// `naicfc_format_version`.
    NAICFC_MODEL_VERSION = 4,
    /// The model's checksum does not match its content: it was corrupted in storage or
    /// transit.
    NAICFC_MODEL_CHECKSUM = 5,
    /// The model buffer ends before the data its header announces (a partial copy or flash
    /// write).
    NAICFC_MODEL_TRUNCATED = 6,
    /// The budget is below the model's minimum (`naicfc_model_min_budget`).
    NAICFC_BUDGET_TOO_SMALL = 7,
    /// The budget exceeds the longest code of the format (`NAICFC_MAX_BUDGET`).
    NAICFC_BUDGET_TOO_LARGE = 8,
    /// An output buffer is too small: fewer than `budget` bytes for a code, or fewer than the
    /// model's dimension for a decoded vector.
    NAICFC_OUTPUT_TOO_SMALL = 9,
    /// The input vector holds a NaN or an infinity.
    NAICFC_NON_FINITE = 10,
    /// The code is not a valid code of this model: empty, longer than any code, corrupted,
    /// or made with another model.
    NAICFC_CORRUPT_STREAM = 11,
    /// The `naicfc_model` was never set up by a successful `naicfc_model_init` (for example
    /// it is still zero-filled).
    NAICFC_MODEL_UNINITIALIZED = 12,
    /// A pointer is not aligned for its type (a `float *` not on a 4-byte boundary, ...).
    NAICFC_MISALIGNED_POINTER = 13,
    /// An output buffer overlaps an input (the vector, the code, the model or its bytes).
    NAICFC_OVERLAPPING_BUFFERS = 14,
    /// The codec reported an error this version of the C API has no code for. Not expected;
    /// please report it.
    NAICFC_INTERNAL_ERROR = 15,
    /// A bug inside the library panicked; the panic was stopped at the API boundary (hosted
    /// builds only: on bare metal a panic traps, see `docs/c-api.md`). Outputs are unspecified.
    NAICFC_PANIC = 16,
    /// The workspace given to `naicfc_encode_ws` or `naicfc_decode_ws` is smaller than
    /// `naicfc_workspace_size` says the model needs.
    NAICFC_WORKSPACE_TOO_SMALL = 17,
}

use naicfc_result::*;

impl naicfc_result {
    /// Every code, in numeric order (for `naicfc_strerror` and the tests).
    pub(crate) const ALL: [naicfc_result; 18] = [
        NAICFC_OK,
        NAICFC_NULL_POINTER,
        NAICFC_BAD_LENGTH,
        NAICFC_BAD_MODEL,
        NAICFC_MODEL_VERSION,
        NAICFC_MODEL_CHECKSUM,
        NAICFC_MODEL_TRUNCATED,
        NAICFC_BUDGET_TOO_SMALL,
        NAICFC_BUDGET_TOO_LARGE,
        NAICFC_OUTPUT_TOO_SMALL,
        NAICFC_NON_FINITE,
        NAICFC_CORRUPT_STREAM,
        NAICFC_MODEL_UNINITIALIZED,
        NAICFC_MISALIGNED_POINTER,
        NAICFC_OVERLAPPING_BUFFERS,
        NAICFC_INTERNAL_ERROR,
        NAICFC_PANIC,
        NAICFC_WORKSPACE_TOO_SMALL,
    ];

    /// The code with number `n`, if there is one.
    pub fn from_u32(n: u32) -> Option<Self> {
        Self::ALL.get(n as usize).copied()
    }

    /// The enumerator's name, as in the header.
    pub fn name(self) -> &'static str {
        self.texts().0
    }

    /// A one-line description.
    pub fn message(self) -> &'static str {
        self.texts().1.trim_end_matches('\0')
    }

    /// Name and NUL-terminated message; NUL-terminated so `naicfc_strerror` hands them to C
    /// without copying.
    fn texts(self) -> (&'static str, &'static str) {
        match self {
            NAICFC_OK => ("NAICFC_OK", "success\0"),
            NAICFC_NULL_POINTER => ("NAICFC_NULL_POINTER", "a required pointer is NULL\0"),
            NAICFC_BAD_LENGTH => (
                "NAICFC_BAD_LENGTH",
                "vector length differs from the model dimension, or a length too large to address\0",
            ),
            NAICFC_BAD_MODEL => ("NAICFC_BAD_MODEL", "not a valid naicfc model\0"),
            NAICFC_MODEL_VERSION => (
                "NAICFC_MODEL_VERSION",
                "model format version not supported by this library\0",
            ),
            NAICFC_MODEL_CHECKSUM => (
                "NAICFC_MODEL_CHECKSUM",
                "model checksum mismatch: the model is corrupted\0",
            ),
            NAICFC_MODEL_TRUNCATED => (
                "NAICFC_MODEL_TRUNCATED",
                "model is shorter than its header announces\0",
            ),
            NAICFC_BUDGET_TOO_SMALL => (
                "NAICFC_BUDGET_TOO_SMALL",
                "budget below the model's minimum budget\0",
            ),
            NAICFC_BUDGET_TOO_LARGE => (
                "NAICFC_BUDGET_TOO_LARGE",
                "budget above the longest code of the format\0",
            ),
            NAICFC_OUTPUT_TOO_SMALL => ("NAICFC_OUTPUT_TOO_SMALL", "output buffer too small\0"),
            NAICFC_NON_FINITE => (
                "NAICFC_NON_FINITE",
                "input vector holds a NaN or an infinity\0",
            ),
            NAICFC_CORRUPT_STREAM => (
                "NAICFC_CORRUPT_STREAM",
                "code is corrupt or was made with another model\0",
            ),
            NAICFC_MODEL_UNINITIALIZED => (
                "NAICFC_MODEL_UNINITIALIZED",
                "naicfc_model not initialised by naicfc_model_init\0",
            ),
            NAICFC_MISALIGNED_POINTER => (
                "NAICFC_MISALIGNED_POINTER",
                "pointer not aligned for its type\0",
            ),
            NAICFC_OVERLAPPING_BUFFERS => (
                "NAICFC_OVERLAPPING_BUFFERS",
                "output buffer overlaps an input\0",
            ),
            NAICFC_INTERNAL_ERROR => (
                "NAICFC_INTERNAL_ERROR",
                "codec error unknown to this API version\0",
            ),
            NAICFC_PANIC => ("NAICFC_PANIC", "internal error: the library panicked\0"),
            NAICFC_WORKSPACE_TOO_SMALL => (
                "NAICFC_WORKSPACE_TOO_SMALL",
                "workspace smaller than naicfc_workspace_size\0",
            ),
        }
    }

    /// Message for C: a static NUL-terminated string.
    pub(crate) fn c_message(self) -> *const c_char {
        self.texts().1.as_ptr().cast()
    }
}

impl From<ModelError> for naicfc_result {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::Truncated { .. } => NAICFC_MODEL_TRUNCATED,
            ModelError::UnsupportedVersion { .. } => NAICFC_MODEL_VERSION,
            ModelError::Checksum => NAICFC_MODEL_CHECKSUM,
            // Every other cause is a field out of range, or the writer's: a C caller can only
            // replace the model, whichever field it was.
            _ => NAICFC_BAD_MODEL,
        }
    }
}

impl From<StreamError> for naicfc_result {
    /// To the caller an empty or over-long code is as unusable as a corrupted one.
    fn from(_: StreamError) -> Self {
        NAICFC_CORRUPT_STREAM
    }
}

impl From<Error> for naicfc_result {
    fn from(e: Error) -> Self {
        match e {
            Error::Model(e) => e.into(),
            Error::Stream(e) => e.into(),
            Error::DimensionMismatch { .. } => NAICFC_BAD_LENGTH,
            Error::NonFinite { .. } => NAICFC_NON_FINITE,
            Error::BudgetTooSmall { .. } => NAICFC_BUDGET_TOO_SMALL,
            Error::BudgetTooLarge { .. } => NAICFC_BUDGET_TOO_LARGE,
            Error::OutputTooSmall { .. } => NAICFC_OUTPUT_TOO_SMALL,
            Error::WorkspaceTooSmall { .. } => NAICFC_WORKSPACE_TOO_SMALL,
            // A scalable code of a model without budgets: the model cannot serve the call.
            Error::NoLayers => NAICFC_BAD_MODEL,
            // `Error` is non-exhaustive, and the C API codes nothing step-wise: a
            // variant without a code still yields an error, never success.
            _ => NAICFC_INTERNAL_ERROR,
        }
    }
}

/// The numeric value of a `naicfc_result`. A plain integer on the Rust side, because C may
/// pass any number and an out-of-range value of a Rust enum would be undefined behaviour;
/// in the header it is spelled `naicfc_result`, which C defines as `uint32_t`.
/// cbindgen:ignore
#[allow(non_camel_case_types)]
pub type naicfc_result_value = u32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_numbered_in_order_and_named_after_themselves() {
        for (i, r) in naicfc_result::ALL.iter().enumerate() {
            assert_eq!(*r as u32, i as u32);
            assert_eq!(naicfc_result::from_u32(i as u32), Some(*r));
            assert_eq!(format!("{r:?}"), r.name());
            let text = r.texts().1;
            assert!(text.ends_with('\0') && !text[..text.len() - 1].contains('\0'));
        }
        assert_eq!(
            naicfc_result::from_u32(naicfc_result::ALL.len() as u32),
            None
        );
    }

    #[test]
    fn every_core_error_maps_to_a_specific_code() {
        let model_cases = [
            (
                ModelError::Truncated {
                    expected: 64,
                    actual: 3,
                },
                NAICFC_MODEL_TRUNCATED,
            ),
            (ModelError::NotAModel, NAICFC_BAD_MODEL),
            (ModelError::ClassTable, NAICFC_BAD_MODEL),
            (ModelError::CoarsestCodeTooLong, NAICFC_BAD_MODEL),
            (
                ModelError::UnsupportedVersion {
                    found: 9,
                    supported: 1,
                },
                NAICFC_MODEL_VERSION,
            ),
            (ModelError::Checksum, NAICFC_MODEL_CHECKSUM),
        ];
        for (e, want) in model_cases {
            assert_eq!(naicfc_result::from(e), want, "{e:?}");
            assert_eq!(naicfc_result::from(Error::Model(e)), want, "{e:?}");
        }
        let cases = [
            (
                Error::DimensionMismatch {
                    expected: 4,
                    actual: 3,
                },
                NAICFC_BAD_LENGTH,
            ),
            (Error::NonFinite { index: 0 }, NAICFC_NON_FINITE),
            (
                Error::BudgetTooSmall {
                    budget: 1,
                    minimum: 2,
                },
                NAICFC_BUDGET_TOO_SMALL,
            ),
            (
                Error::BudgetTooLarge {
                    budget: 9000,
                    maximum: 8192,
                },
                NAICFC_BUDGET_TOO_LARGE,
            ),
            (
                Error::OutputTooSmall {
                    needed: 2,
                    actual: 1,
                },
                NAICFC_OUTPUT_TOO_SMALL,
            ),
            (StreamError::Empty.into(), NAICFC_CORRUPT_STREAM),
            (
                StreamError::TooLong {
                    length: 9000,
                    maximum: 8192,
                }
                .into(),
                NAICFC_CORRUPT_STREAM,
            ),
            (StreamError::BadEnd.into(), NAICFC_CORRUPT_STREAM),
            (StreamError::StepOutOfRange.into(), NAICFC_CORRUPT_STREAM),
            (Error::NoLayers, NAICFC_BAD_MODEL),
            (
                Error::WorkspaceTooSmall {
                    needed: 9,
                    actual: 8,
                },
                NAICFC_WORKSPACE_TOO_SMALL,
            ),
        ];
        for (e, want) in cases {
            assert_eq!(naicfc_result::from(e), want, "{e:?}");
        }
    }
}
