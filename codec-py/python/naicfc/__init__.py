"""naicfc: compress re-ID feature vectors into a hard byte budget, numpy in, numpy out.

The codes are the bytes of the ``naicfc`` command-line tool and of its C API, for the same
model and inputs. Batches release the GIL and run on all cores (``threads=`` limits them);
Ctrl-C interrupts a long batch. See docs/python.md for the whole API.
"""

from typing import List, NamedTuple, Optional

import numpy as np

from ._errors import (
    BudgetError,
    CorruptCodeError,
    DimensionError,
    DTypeError,
    Error,
    FileError,
    InputError,
    ModelError,
    NonFiniteError,
    TrainingError,
)
from ._native import (
    FORMAT_VERSION,
    MAX_BUDGET,
    Model,
    __version__,
    read_codes as _read_codes,
    read_features as _read_features,
    read_results,
    read_split as _read_split,
    score,
    search,
    search_vectors,
    synth,
    write_codes,
    write_features,
    write_results,
)


class Split(NamedTuple):
    """One split of a dataset in the competition's layout (see `read_split`)."""

    features: np.ndarray
    """float32 (N, D), rows sorted by name."""
    names: List[str]
    """Row names: the feature files' stems."""
    ids: Optional[np.ndarray]
    """int64 identity per row, or None when the split has no list."""
    cams: Optional[np.ndarray]
    """int64 camera per row, or None when the list has no camera column."""
    problems: List[str]
    """One line per input left out (only with strict=False)."""


def _check(problems: List[str], strict: bool, what: str) -> None:
    if strict and problems:
        shown = "\n  ".join(problems[:5])
        more = f"\n  ... and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise InputError(
            f"{what}: {len(problems)} inputs left out (strict=False keeps the rest):\n  {shown}{more}"
        )


def read_split(root, split: str, strict: bool = True) -> Split:
    """Read one split (``"train"``, ``"query"`` or ``"gallery"``) of a dataset laid out as
    the competition's (``naicfc synth`` writes one): its features, names, identities and
    cameras. With ``strict`` (the default) any file left out (unreadable, NaN, not listed,
    listed without a file) raises ``InputError``; with ``strict=False`` the others are
    returned and the problems listed in ``Split.problems``."""
    names, features, ids, cams, problems = _read_split(root, split)
    _check(problems, strict, f"{root}: {split} split")
    return Split(features, names, ids, cams, problems)


def read_features(path, strict: bool = True):
    """Read a directory of ``.dat`` features or a ``.npy`` file: ``(names, features)``, the
    features float32 (N, D). With ``strict`` (the default) an unusable file raises
    ``InputError``; with ``strict=False`` it is left out."""
    names, features, problems = _read_features(path)
    _check(problems, strict, str(path))
    return names, features


def read_codes(path, strict: bool = True):
    """Read a directory of codes as ``naicfc encode`` writes it: ``(names, codes)``, the
    codes a list of ``bytes`` of their exact lengths (``Model.decode`` takes it)."""
    names, codes, problems = _read_codes(path)
    _check(problems, strict, str(path))
    return names, codes


__all__ = [
    "FORMAT_VERSION",
    "MAX_BUDGET",
    "Model",
    "Split",
    "__version__",
    "read_codes",
    "read_features",
    "read_results",
    "read_split",
    "score",
    "search",
    "search_vectors",
    "synth",
    "write_codes",
    "write_features",
    "write_results",
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
