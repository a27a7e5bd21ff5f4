//! Python exceptions that carry the codec's error kind.
//!
//! The classes live in `naicfc/_errors.py` (so that they can derive from both `naicfc.Error`
//! and the matching built-in, `ValueError` or `TypeError`, which `create_exception!` cannot
//! express); Rust looks them up by name when it raises.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// Which `naicfc` exception a failure becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Unreadable, truncated, corrupted or unsupported model bytes.
    Model,
    /// Rows of the wrong length for the model, or two arrays of different widths.
    Dimension,
    /// A budget below the model's minimum or above the format's maximum.
    Budget,
    /// A NaN or an infinity in an input row.
    NonFinite,
    /// A byte string that is no valid code for the model.
    CorruptCode,
    /// An argument of the wrong type or dtype.
    DType,
    /// Any other bad argument (a shape, an option, an inconsistent list).
    Input,
    /// Training could not produce a model from the data.
    Training,
    /// A file or directory could not be read or written.
    File,
}

impl Kind {
    fn class(self) -> &'static str {
        match self {
            Kind::Model => "ModelError",
            Kind::Dimension => "DimensionError",
            Kind::Budget => "BudgetError",
            Kind::NonFinite => "NonFiniteError",
            Kind::CorruptCode => "CorruptCodeError",
            Kind::DType => "DTypeError",
            Kind::Input => "InputError",
            Kind::Training => "TrainingError",
            Kind::File => "FileError",
        }
    }
}

/// The exception of `kind` with `message`, and `row` (the input row at fault) when known.
pub fn raise(py: Python<'_>, kind: Kind, message: impl Into<String>, row: Option<usize>) -> PyErr {
    let message = message.into();
    let made = (|| -> PyResult<PyErr> {
        let class = py.import("naicfc._errors")?.getattr(kind.class())?;
        let err = class.call1((message.as_str(), row))?;
        Ok(PyErr::from_value(err))
    })();
    // Only a broken installation (no `naicfc._errors`) gets here; the message is kept.
    made.unwrap_or_else(|e| PyRuntimeError::new_err(format!("{message} ({e})")))
}

/// The exception for an error of the codec core, about input row `row` when given.
pub fn core(py: Python<'_>, e: codec_core::Error, row: Option<usize>) -> PyErr {
    use codec_core::Error as E;
    let kind = match e {
        // A model without budgets cannot cut scalable layers: the model is unfit for the call.
        E::Model(_) | E::NoLayers => Kind::Model,
        E::DimensionMismatch { .. } => Kind::Dimension,
        E::NonFinite { .. } => Kind::NonFinite,
        E::BudgetTooSmall { .. } | E::BudgetTooLarge { .. } => Kind::Budget,
        E::StepOutOfRange { .. } | E::Stream(_) => Kind::CorruptCode,
        // `OutputTooSmall` would be a bug of this crate (it sizes every buffer), and the enum
        // is non-exhaustive: neither is the caller's input at fault.
        _ => {
            return PyRuntimeError::new_err(format!("naicfc internal error: {e}"));
        }
    };
    let message = match row {
        Some(r) => format!("row {r}: {e}"),
        None => e.to_string(),
    };
    raise(py, kind, message, row)
}

/// The exception of `kind` for an error of the host library (its whole chain of causes).
pub fn host(py: Python<'_>, kind: Kind, e: &anyhow::Error) -> PyErr {
    raise(py, kind, format!("{e:#}"), None)
}
