"""Type stubs of the native module (naicfc._native); the public names are re-exported by
the package `naicfc`, which documents them in docs/python.md."""

import os
import pathlib
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

__version__: str
MAX_BUDGET: int
"""The longest code of the stream format, in bytes (8192)."""
FORMAT_VERSION: int
"""The newest model format this build reads and writes."""

_Path = Union[str, "os.PathLike[str]"]
_Floats = npt.ArrayLike
_Bytes = Union[bytes, bytearray, memoryview]
_Codes = Union[npt.NDArray[np.uint8], bytes, bytearray, Sequence[_Bytes]]

class Model:
    """A trained naicfc model (immutable, picklable, safe to share between threads)."""

    def __init__(self, data: _Bytes) -> None: ...
    @staticmethod
    def from_bytes(data: _Bytes) -> "Model": ...
    @staticmethod
    def load(path: _Path) -> "Model": ...
    @staticmethod
    def train(
        x: _Floats,
        labels: Optional[npt.ArrayLike] = None,
        budgets: Sequence[int] = (16, 32, 64, 128, 256),
        *,
        threads: Optional[int] = None,
        max_coeffs: Optional[int] = None,
        reid_weight: Optional[float] = None,
        spread_exponent: Optional[float] = None,
        step_growth: Optional[float] = None,
        no_clamp: bool = False,
        centroid_weight: Optional[float] = None,
        quantiser: Optional[str] = None,
        trellis_lambda: Optional[float] = None,
        trellis_lambda_low: Optional[float] = None,
        gain_coeffs: Optional[int] = None,
        max_rows: Optional[int] = None,
    ) -> "Model": ...
    def save(self, path: _Path) -> None: ...
    def to_bytes(self) -> bytes: ...
    @property
    def dim(self) -> int: ...
    @property
    def budgets(self) -> Tuple[int, ...]: ...
    @property
    def min_budget(self) -> int: ...
    @property
    def format_version(self) -> int: ...
    @property
    def scalable_length(self) -> int: ...
    @property
    @property
    def fingerprint(self) -> str: ...
    @property
    def size(self) -> int: ...
    def encode(
        self,
        x: _Floats,
        budget: Optional[int] = None,
        scalable: bool = False,
        *,
        threads: Optional[int] = None,
    ) -> npt.NDArray[np.uint8]: ...
    def decode(
        self, codes: _Codes, scalable: bool = False, *, threads: Optional[int] = None
    ) -> npt.NDArray[np.float32]: ...
    def code_bytes(self, codes: npt.NDArray[np.uint8]) -> List[bytes]: ...
    def __reduce__(self) -> Tuple[Any, Tuple[bytes]]: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

def search(
    q: _Floats,
    g: _Floats,
    k: int = 100,
    metric: str = "cosine",
    *,
    threads: Optional[int] = None,
) -> Tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]: ...
def score(
    indices: npt.ArrayLike,
    query_ids: npt.ArrayLike,
    gallery_ids: npt.ArrayLike,
    query_cams: Optional[npt.ArrayLike] = None,
    gallery_cams: Optional[npt.ArrayLike] = None,
    *,
    top: int = 100,
    exclude_same_camera: bool = False,
) -> Dict[str, float]: ...
def search_vectors(
    model: Model,
    x: npt.ArrayLike,
    side: str = "gallery",
    budget: Optional[int] = None,
    *,
    threads: Optional[int] = None,
) -> npt.NDArray[np.float32]: ...
def read_features(path: _Path) -> Tuple[List[str], npt.NDArray[np.float32], List[str]]: ...
def write_features(dir: _Path, names: Sequence[str], x: _Floats) -> None: ...
def read_codes(dir: _Path) -> Tuple[List[str], List[bytes], List[str]]: ...
def write_codes(dir: _Path, names: Sequence[str], codes: Sequence[bytes]) -> None: ...
def read_code_array(
    path: _Path,
) -> Tuple[List[str], np.ndarray, Optional[str], int, bool]: ...
def write_code_array(
    path: _Path,
    names: Sequence[str],
    codes: np.ndarray,
    fingerprint: str,
    scalable: bool = False,
    append: bool = False,
) -> None: ...
def read_split(
    root: _Path, split: str
) -> Tuple[
    List[str],
    npt.NDArray[np.float32],
    Optional[npt.NDArray[np.int64]],
    Optional[npt.NDArray[np.int64]],
    List[str],
]: ...
def write_results(
    path: _Path,
    indices: npt.ArrayLike,
    query_names: Sequence[str],
    gallery_names: Sequence[str],
) -> None: ...
def read_results(
    path: _Path, query_names: Sequence[str], gallery_names: Sequence[str], top: int = 100
) -> npt.NDArray[np.int64]: ...
def synth(
    out: _Path,
    *,
    kind: Optional[str] = None,
    dim: Optional[int] = None,
    seed: Optional[int] = None,
    scale: Optional[str] = None,
    identities: Optional[int] = None,
    images_per_identity: Optional[int] = None,
    test_identities: Optional[int] = None,
    queries: Optional[int] = None,
    gallery: Optional[int] = None,
    cameras: Optional[int] = None,
) -> "pathlib.Path": ...
def is_npy(path: _Path) -> bool: ...
