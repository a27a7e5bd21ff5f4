"""naicfc: compress re-ID feature vectors into a hard byte budget, numpy in, numpy out.

The codes are the bytes of the ``naicfc`` command-line tool and of its C API, for the same
model and inputs. Batches release the GIL and run on all cores (``threads=`` limits them);
Ctrl-C interrupts a long batch. See docs/python.md for the whole API.
"""

# Private names: `naicfc.` completes to the package's own API (`__all__`), not to its imports.
from typing import List as _List
from typing import NamedTuple as _NamedTuple
from typing import Optional as _Optional

import numpy as _np

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
    read_code_array as _read_code_array,
    read_codes as _read_codes,
    read_features as _read_features,
    read_results,
    read_split as _read_split,
    score,
    search,
    search_vectors,
    synth,
    write_code_array as _write_code_array,
    write_codes as _write_codes,
    write_features,
    write_results,
)


class Split(_NamedTuple):
    """One split of a dataset in the competition's layout (see `read_split`)."""

    features: _np.ndarray
    """float32 (N, D), rows sorted by name."""
    names: _List[str]
    """Row names: the feature files' stems."""
    ids: _Optional[_np.ndarray]
    """int64 identity per row, or None when the split has no list."""
    cams: _Optional[_np.ndarray]
    """int64 camera per row, or None when the list has no camera column."""
    problems: _List[str]
    """One line per input left out (only with strict=False)."""


def _check(problems: _List[str], strict: bool, what: str) -> None:
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


class CodeArray(_NamedTuple):
    """A code array read by `read_codes` from a ``.nfcc`` file (or a ``.npy`` of uint8)."""

    names: _List[str]
    """Row names, in row order."""
    codes: _np.ndarray
    """uint8 (N, budget), one code per row, zero-padded (``Model.decode`` takes it)."""
    fingerprint: _Optional[str]
    """The fingerprint of the model that made the codes (``Model.fingerprint``), or None for
    a ``.npy``, which does not record it."""
    budget: int
    """Bytes per row: the budget of plain codes, the whole length of scalable ones."""
    scalable: bool
    """Whether the rows are scalable codes (decode with ``scalable=True``)."""


def _is_array(path) -> bool:
    return str(path).lower().endswith((".nfcc", ".npy"))


def read_codes(path, strict: bool = True):
    """Read codes as ``naicfc encode`` writes them. A directory gives ``(names, codes)``, the
    codes a list of ``bytes`` of their exact lengths (``Model.decode`` takes it); a ``.nfcc``
    code array (or a ``.npy`` of uint8) gives a `CodeArray` ``(names, codes, fingerprint,
    budget, scalable)``, refused whole when damaged (``strict`` only concerns directories)."""
    if _is_array(path):
        return CodeArray(*_read_code_array(path))
    names, codes, problems = _read_codes(path)
    _check(problems, strict, str(path))
    return names, codes


def write_codes(path, names, codes, model=None, scalable: bool = False, append: bool = False):
    """Write codes as ``naicfc encode`` does: to a directory, one ``<name>.dat`` per code
    (``codes`` a list of ``bytes``); or to a ``.nfcc`` code array, which records ``model``'s
    fingerprint (``codes`` uint8 (N, budget), as ``Model.encode`` returns them; ``scalable``
    for scalable codes; ``append`` adds rows to an existing array, made when missing)."""
    if str(path).lower().endswith(".nfcc"):
        if model is None:
            raise TypeError("write_codes to a .nfcc needs model= (its fingerprint is recorded)")
        _write_code_array(path, list(names), codes, model.fingerprint, scalable, append)
        return
    if model is not None or append:
        raise TypeError("model= and append= are for .nfcc code arrays")
    _write_codes(path, names, codes)


__all__ = [
    "CodeArray",
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
