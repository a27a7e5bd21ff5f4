"""The exceptions of naicfc: one base class, one subclass per kind of failure.

Each class also derives from the built-in exception a Python user would expect
(``ValueError`` for bad values, ``TypeError`` for bad types, ``OSError`` for files), so
``except ValueError`` keeps working; ``kind`` names the failure in one word and ``row`` is
the input row at fault (or ``None``).
"""

from typing import Optional


class Error(Exception):
    """Base class of every error naicfc raises."""

    kind = "error"

    def __init__(self, message: str, row: Optional[int] = None) -> None:
        super().__init__(message)
        self.row = row


class ModelError(Error, ValueError):
    """Model bytes that are not a usable model: not a model, truncated, corrupted, or of a
    format version this build does not read."""

    kind = "bad_model"


class DimensionError(Error, ValueError):
    """Rows whose length is not the model's dimension, or arrays of the wrong rank."""

    kind = "dimension"


class BudgetError(Error, ValueError):
    """A budget below the model's minimum or above the format's maximum (MAX_BUDGET)."""

    kind = "budget"


class NonFiniteError(Error, ValueError):
    """A NaN or an infinity in an input row (``row`` says which)."""

    kind = "non_finite"


class CorruptCodeError(Error, ValueError):
    """Bytes that are not a valid code for this model (``row`` says which)."""

    kind = "corrupt_code"


class DTypeError(Error, TypeError):
    """An array of a dtype that cannot be converted without losing values."""

    kind = "dtype"


class InputError(Error, ValueError):
    """Any other bad argument: an option out of range, lengths that disagree, a bad result
    file."""

    kind = "input"


class TrainingError(Error, ValueError):
    """Training could not make a model of the data (too few vectors, all identical...)."""

    kind = "training"


class FileError(Error, OSError):
    """A file or directory that could not be read or written."""

    kind = "file"


__all__ = [
    "Error",
    "ModelError",
    "DimensionError",
    "BudgetError",
    "NonFiniteError",
    "CorruptCodeError",
    "DTypeError",
    "InputError",
    "TrainingError",
    "FileError",
]
